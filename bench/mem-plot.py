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

LINE = re.compile(r"LAB: INFO mem-overhead run=(\d+) vmm=(\w+) pss_kb=(\d+) rss_kb=(\d+) "
                  r"guest_pss_kb=(\d+) overhead_kb=(\d+) threads=(\d+)")
ARCH = re.compile(r"LAB: INFO scenarios arch=(\w+)")
FIELDS = ("pss", "rss", "guest_pss", "overhead", "threads")


def read_runs(path):
    """{vmm: [{field: value}, ...]} in log order, and the lab's architecture."""
    runs, arch = {}, "x86_64"
    with open(path, errors="replace") as f:
        for line in f:
            m = LINE.search(line)
            if m:
                run = dict(zip(FIELDS, map(int, m.groups()[2:])))
                run["run"] = int(m.group(1))
                runs.setdefault(m.group(2), []).append(run)
            m = ARCH.search(line)
            if m:
                arch = m.group(1)
    return runs, arch


def med(runs, field):
    return statistics.median(r[field] for r in runs)


def tick_step(top_mib):
    """The first of 0.1, 0.2, 0.5, 1, 2, 5, 10, ... MiB giving at most 8 ticks up to top_mib."""
    exp = -1
    while True:
        for m in (1, 2, 5):
            step = m * 10.0 ** exp
            if top_mib / step <= 8:
                return step
        exp += 1


def svg(runs, title):
    names = sorted(runs)
    top = max(r["overhead"] for v in runs.values() for r in v) * 1.15 or 1024
    w, h, left, bottom, bar = 500, 300, 60, 40, 80
    plot_h = h - bottom - 40
    y = lambda kb: h - bottom - plot_h * kb / top
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" '
           'font-family="sans-serif" font-size="12">',
           f'<text x="{w / 2}" y="20" text-anchor="middle">{title}</text>',
           f'<line x1="{left}" y1="{h - bottom}" x2="{w - 10}" y2="{h - bottom}" stroke="black"/>',
           f'<line x1="{left}" y1="30" x2="{left}" y2="{h - bottom}" stroke="black"/>']
    step = tick_step(top / 1024)
    for i in range(int(top / 1024 / step) + 1):
        t = round(i * step, 6)
        out.append(f'<text x="{left - 5}" y="{y(t * 1024) + 4:.1f}" text-anchor="end">'
                   f'{t:g}</text>')
    out.append(f'<text x="14" y="{h / 2}" transform="rotate(-90 14 {h / 2})" '
               'text-anchor="middle">MiB outside guest RAM (PSS)</text>')
    x0 = left + (w - 10 - left - len(names) * bar - (len(names) - 1) * 60) / 2
    for i, name in enumerate(names):
        x = x0 + i * (bar + 60)
        m = med(runs[name], "overhead")
        colour = "#3b7dd8" if name == "kvmm" else "#999999"
        out.append(f'<rect x="{x}" y="{y(m):.1f}" width="{bar}" '
                   f'height="{h - bottom - y(m):.1f}" fill="{colour}" opacity="0.7"/>')
        for r in runs[name]:
            out.append(f'<circle cx="{x + bar / 2}" cy="{y(r["overhead"]):.1f}" r="3" '
                       'fill="black"/>')
        out.append(f'<text x="{x + bar / 2}" y="{h - bottom + 16}" text-anchor="middle">'
                   f'{name} ({m / 1024:.1f} MiB)</text>')
    out.append("</svg>")
    return "\n".join(out)


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    runs, arch = read_runs(sys.argv[1])
    if not runs:
        sys.exit("mem-plot: no mem-overhead runs in " + sys.argv[1])
    ratio = "n/a"
    if "kvmm" in runs and "qemu" in runs and med(runs["qemu"], "overhead") > 0:
        ratio = f'{med(runs["kvmm"], "overhead") / med(runs["qemu"], "overhead"):.2f}'
    title = f"{arch}: VMM memory outside guest RAM, 512 MiB guest (kvmm/QEMU = {ratio})"
    out = sys.argv[2] if len(sys.argv) > 2 else "docs/mem-overhead.svg"
    with open(out, "w") as f:
        f.write(svg(runs, title) + "\n")
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
