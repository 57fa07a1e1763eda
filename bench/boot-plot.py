#!/usr/bin/env python3
"""Turns the lab's boot-time lines into an SVG bar chart and a markdown table.

The lab's boot-time scenario launches kvmm and QEMU alternately in the same
L1 boot and prints, per run,
  LAB: INFO boot-time run=N vmm=kvmm|qemu marker_ms=MS exit=RC run_ms=MS
This script reads such a log (the L1 console, or the lab's stdout) and writes
docs/boot-time.svg: each run as a dot, the medians as bars, and the ratio.

Usage: bench/boot-plot.py LOG [OUT.svg]
"""
import re
import statistics
import sys

LINE = re.compile(r"LAB: INFO boot-time run=(\d+) vmm=(\w+) marker_ms=(\d+)")
ARCH = re.compile(r"LAB: INFO scenarios arch=(\w+)")


def read_runs(path):
    """The runs per VMM, and the lab's architecture (from its scenarios line)."""
    runs, arch = {}, "x86_64"
    with open(path, errors="replace") as f:
        for line in f:
            m = LINE.search(line)
            if m:
                runs.setdefault(m.group(2), []).append(int(m.group(3)))
            m = ARCH.search(line)
            if m:
                arch = m.group(1)
    return runs, arch


def svg(runs, title):
    names = sorted(runs)
    top = max(max(v) for v in runs.values()) * 1.15
    w, h, left, bottom, bar = 420, 300, 60, 40, 80
    plot_h = h - bottom - 40
    y = lambda ms: h - bottom - plot_h * ms / top
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" '
           'font-family="sans-serif" font-size="12">',
           f'<text x="{w / 2}" y="20" text-anchor="middle">{title}</text>',
           f'<line x1="{left}" y1="{h - bottom}" x2="{w - 10}" y2="{h - bottom}" stroke="black"/>',
           f'<line x1="{left}" y1="30" x2="{left}" y2="{h - bottom}" stroke="black"/>']
    step = 10 ** max(0, len(str(int(top))) - 1)
    for t in range(0, int(top) + 1, step):
        out.append(f'<text x="{left - 5}" y="{y(t) + 4:.1f}" text-anchor="end">{t / 1000:g}</text>')
    out.append(f'<text x="14" y="{h / 2}" transform="rotate(-90 14 {h / 2})" '
               'text-anchor="middle">seconds to guest marker</text>')
    for i, name in enumerate(names):
        x = left + 40 + i * (bar + 60)
        med = statistics.median(runs[name])
        colour = "#3b7dd8" if name == "kvmm" else "#999999"
        out.append(f'<rect x="{x}" y="{y(med):.1f}" width="{bar}" '
                   f'height="{h - bottom - y(med):.1f}" fill="{colour}" opacity="0.7"/>')
        for v in runs[name]:
            out.append(f'<circle cx="{x + bar / 2}" cy="{y(v):.1f}" r="3" fill="black"/>')
        out.append(f'<text x="{x + bar / 2}" y="{h - bottom + 16}" text-anchor="middle">'
                   f'{name} ({med / 1000:.2f} s)</text>')
    out.append("</svg>")
    return "\n".join(out)


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    runs, arch = read_runs(sys.argv[1])
    if "kvmm" not in runs or "qemu" not in runs:
        sys.exit("boot-plot: no kvmm and qemu boot-time runs in " + sys.argv[1])
    k, q = statistics.median(runs["kvmm"]), statistics.median(runs["qemu"])
    title = f"{arch}: start to guest marker, nested KVM lab (kvmm/QEMU = {k / q:.2f})"
    out = sys.argv[2] if len(sys.argv) > 2 else "docs/boot-time.svg"
    with open(out, "w") as f:
        f.write(svg(runs, title) + "\n")
    print("| vmm | runs (ms) | median (ms) |")
    print("| --- | --- | --- |")
    for name in sorted(runs):
        print(f"| {name} | {', '.join(map(str, runs[name]))} | {statistics.median(runs[name]):.0f} |")
    print(f"\nratio kvmm/qemu (medians): {k / q:.2f}")


if __name__ == "__main__":
    main()
