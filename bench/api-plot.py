#!/usr/bin/env python3
"""The API readiness chart and table from bench/api-ready.sh's log: exec -> first vmm.ping
answer of kvmm and of the floor (bench/ping-floor.c), dynamic and static, one bar per program
at its median with every run as a dot.

Usage: api-plot.py LOG [OUT.svg]   (default docs/api-ready.svg)
"""
import re
import statistics
import sys

import barplot

RUNS = re.compile(r"^api-ping-runs (\S+) (.*)$")


def label(path):
    """floor, kvmm, floor-static, kvmm-static from the program's path."""
    name = "floor" if path.endswith("ping-floor") else "kvmm"
    return name + ("-static" if "static" in path.split("/")[-2] else "")


def p99(v):
    s = sorted(v)
    return s[min(len(s) - 1, int(0.99 * len(s)))]


def main(argv):
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    runs = {}
    with open(argv[1], errors="replace") as f:
        for line in f:
            m = RUNS.match(line.strip())
            if m:
                runs.setdefault(label(m.group(1)), []).extend(int(x) for x in m.group(2).split())
    if not runs:
        print(f"api-plot: no api-ping-runs lines in {argv[1]}", file=sys.stderr)
        return 1
    print("| program | runs | median (ms) | p99 (ms) | median / floor | p99 / floor |")
    print("| --- | --- | --- | --- | --- | --- |")
    for name in sorted(runs):
        v = runs[name]
        floor = runs.get("floor" + ("-static" if name.endswith("-static") else ""))
        ratio = (f"{statistics.median(v) / statistics.median(floor):.2f} | "
                 f"{p99(v) / p99(floor):.2f}") if floor else "- | -"
        print(f"| {name} | {len(v)} | {statistics.median(v) / 1000:.2f} | "
              f"{p99(v) / 1000:.2f} | {ratio} |")
    svg = barplot.bars(runs, "exec -> first vmm.ping answer (median bar, every run a dot)",
                       "milliseconds", 1000, lambda m: f"{m / 1000:.2f} ms")
    out = argv[2] if len(argv) > 2 else "docs/api-ready.svg"
    with open(out, "w") as f:
        f.write(svg + "\n")
    print(f"\nchart: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
