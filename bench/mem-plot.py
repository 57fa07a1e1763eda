#!/usr/bin/env python3
"""Turns the lab's mem-overhead lines into an SVG bar chart and a markdown table.

The lab's mem-overhead scenario boots the same guest (512 MiB, 1 vCPU) under kvmm
and under QEMU, alternately in one L1 boot, and once the guest is up reads the VMM
process's /proc/PID/smaps. Per run it prints
  LAB: INFO mem-overhead run=N vmm=kvmm|qemu pss_kb=P rss_kb=R guest_pss_kb=G overhead_kb=O threads=T
(overhead = PSS - guest RAM's PSS; docs/memory.md). This script reads such a log
(the L1 console, or the lab's stdout) and writes an SVG: each run's overhead as a
dot, the medians as bars, the kvmm/QEMU ratio in the title; and prints a table.

Usage: bench/mem-plot.py LOG [OUT.svg]
"""
import re
import statistics
import sys

import barplot

LINE = re.compile(r"LAB: INFO mem-overhead run=(\d+) vmm=(\w+) pss_kb=(\d+) rss_kb=(\d+) "
                  r"guest_pss_kb=(\d+) overhead_kb=(\d+) threads=(\d+)")
FIELDS = ("pss", "rss", "guest_pss", "overhead", "threads")


def read_runs(path):
    """{vmm: [{field: value}, ...]} in log order."""
    return barplot.runs_by_vmm(
        path, LINE, lambda m: dict(zip(FIELDS, map(int, m.groups()[2:])), run=int(m.group(1))))


def med(runs, field):
    return statistics.median(r[field] for r in runs)


def svg(runs, title):
    values = {name: [r["overhead"] for r in v] for name, v in runs.items()}
    return barplot.bars(values, title, "MiB outside guest RAM (PSS)", 1024,
                        lambda m: f"{m / 1024:.1f} MiB")


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    runs, arch = read_runs(sys.argv[1]), barplot.lab_arch(sys.argv[1])
    if not runs:
        sys.exit("mem-plot: no mem-overhead runs in " + sys.argv[1])
    ratio = "n/a"
    if "kvmm" in runs and "qemu" in runs and med(runs["qemu"], "overhead") > 0:
        ratio = f'{med(runs["kvmm"], "overhead") / med(runs["qemu"], "overhead"):.2f}'
    title = f"{arch}: VMM memory outside guest RAM, 512 MiB guest (kvmm/QEMU = {ratio})"
    barplot.save(svg(runs, title), sys.argv, "mem-overhead", arch, always_suffix=True)
    print("| vmm | overhead per run (KiB) | median overhead (KiB) | median PSS (KiB) "
          "| median guest RAM PSS (KiB) | median RSS (KiB) | threads |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for name in sorted(runs):
        r = runs[name]
        threads = sorted({x["threads"] for x in r})
        print(f"| {name} | {', '.join(str(x['overhead']) for x in r)} "
              f"| {med(r, 'overhead'):.0f} | {med(r, 'pss'):.0f} | {med(r, 'guest_pss'):.0f} "
              f"| {med(r, 'rss'):.0f} | {', '.join(map(str, threads))} |")
    print(f"\nratio kvmm/qemu (median overheads): {ratio}")


if __name__ == "__main__":
    main()
