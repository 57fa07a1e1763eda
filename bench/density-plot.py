#!/usr/bin/env python3
"""Turns the lab's density lines into two SVG bar charts and a markdown table.

The lab's density benchmark (tests/lab/scenarios.d/density.sh) starts N small VMs at once
(128 MiB, 1 vCPU) under kvmm from its command line, under kvmm through its API as Kata
would (vm.create + vm.boot per VM), and under QEMU, and per series prints
  LAB: INFO density n=N round=R vmm=V up=U all_ms=A first_ms=F median_ms=M spread_ms=S
       pss_kb=P overhead_kb=O guest_pss_kb=G
This script reads such a log and writes: the time until all N guests were up (one bar per
VMM and N at the median of its rounds, each round a dot), and the VMM processes' total memory
outside guest RAM; it prints the table and the kvmm/QEMU ratios.

Usage: bench/density-plot.py LOG [TIME.svg [MEM.svg]]
"""
import re
import statistics
import sys

import barplot

LINE = re.compile(r"LAB: INFO density n=(\d+) round=(\d+) vmm=([\w-]+) up=(\d+) all_ms=(\w+) "
                  r"first_ms=(\w+) median_ms=(\w+) spread_ms=(\w+) pss_kb=(\w+) "
                  r"overhead_kb=(\w+) guest_pss_kb=(\w+)")
FIELDS = ("all_ms", "first_ms", "median_ms", "spread_ms", "pss_kb", "overhead_kb",
          "guest_pss_kb")


def read_series(path):
    """[{n, round, vmm, up, field: int or None}] in log order."""
    out = []
    with open(path, errors="replace") as f:
        for line in f:
            m = LINE.search(line)
            if not m:
                continue
            s = {"n": int(m.group(1)), "round": int(m.group(2)), "vmm": m.group(3),
                 "up": int(m.group(4))}
            for k, v in zip(FIELDS, m.groups()[4:]):
                s[k] = int(v) if v.isdigit() else None
            out.append(s)
    return out


def values(series, field):
    """{"VMM n=N": [value, ...]} of the series where FIELD was measured."""
    vals = {}
    for s in series:
        if s[field] is not None:
            vals.setdefault(f'{s["vmm"]} n={s["n"]}', []).append(s[field])
    return vals


def ratio(vals, a, b):
    if a in vals and b in vals and statistics.median(vals[b]) > 0:
        return f"{statistics.median(vals[a]) / statistics.median(vals[b]):.2f}"
    return "n/a"


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    series, arch = read_series(sys.argv[1]), barplot.lab_arch(sys.argv[1])
    if not series:
        sys.exit("density-plot: no density lines in " + sys.argv[1])
    ns = sorted({s["n"] for s in series})
    top = ns[-1]
    times, over = values(series, "all_ms"), values(series, "overhead_kb")
    suffix = "" if arch == "x86_64" else f"-{arch}"
    tpath = sys.argv[2] if len(sys.argv) > 2 else f"docs/density-time{suffix}.svg"
    mpath = sys.argv[3] if len(sys.argv) > 3 else f"docs/density-mem-{arch}.svg"
    if times:
        title = (f"{arch}: {top} VMs at once, launch to all up "
                 f"(kvmm/QEMU = {ratio(times, f'kvmm n={top}', f'qemu n={top}')})")
        barplot.save(barplot.bars(times, title, "seconds", 1000, lambda m: f"{m / 1000:.1f} s"),
                     ["", "", tpath], "density-time", arch)
    if over:
        title = (f"{arch}: {top} VMs, VMM memory outside guest RAM "
                 f"(kvmm/QEMU = {ratio(over, f'kvmm n={top}', f'qemu n={top}')})")
        barplot.save(barplot.bars(over, title, "MiB, all VMM processes (PSS)", 1024,
                                  lambda m: f"{m / 1024:.1f} MiB"),
                     ["", "", mpath], "density-mem", arch)
    print("| N | round | vmm | up | all up (ms) | first (ms) | median (ms) | spread (ms) "
          "| PSS (KiB) | outside guest RAM (KiB) | guest RAM (KiB) |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for s in series:
        cells = [s["n"], s["round"], s["vmm"], s["up"]] + [
            "-" if s[k] is None else s[k] for k in FIELDS]
        print("| " + " | ".join(map(str, cells)) + " |")
    print()
    pss = values(series, "pss_kb")
    for n in ns:
        k, a, q = f"kvmm n={n}", f"kvmm-api n={n}", f"qemu n={n}"
        print(f"N={n}: all up kvmm/QEMU {ratio(times, k, q)}, through the API {ratio(times, a, q)}; "
              f"outside guest RAM kvmm/QEMU {ratio(over, k, q)}; PSS kvmm/QEMU {ratio(pss, k, q)}")


if __name__ == "__main__":
    main()
