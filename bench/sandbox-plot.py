#!/usr/bin/env python3
"""Turns the lab's Kata sandbox line into an SVG chart and a markdown table.

The lab's kata-sandbox scenario (tests/lab/scenarios.d/sandbox.sh) runs LAB_SANDBOX_RUNS
rounds in one L1 boot, each one sandbox on kvmm driven as Kata's clh driver drives it and one
QEMU boot of the same kernel, initramfs and image, and prints:
  LAB: INFO kata-sandbox kvmm launch_to_agent_ms=[A ...] sequence_ms=[S ...]
            qemu launch_to_agent_ms=[Q ...] runs=N
This script reads such a log and writes docs/kata-sandbox.svg (docs/kata-sandbox-ARCH.svg for
an arch other than x86_64): launch to the agent's first answer per VMM, the median as a bar,
each round as a dot; and prints the table with the kvmm/QEMU ratio of the medians and of each
round.

Usage: bench/sandbox-plot.py LOG [OUT.svg]
"""
import re
import statistics
import sys

import barplot

LINE = re.compile(r"LAB: INFO kata-sandbox kvmm launch_to_agent_ms=\[([\d ]*)\] "
                  r"sequence_ms=\[([\d ]*)\] qemu launch_to_agent_ms=\[([\d ]*)\]")


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    arch, found = barplot.lab_arch(sys.argv[1]), None
    with open(sys.argv[1], errors="replace") as f:
        for line in f:
            m = LINE.search(line)
            if m:
                found = m
    if not found:
        sys.exit("sandbox-plot: no kata-sandbox line in " + sys.argv[1])
    kvmm, seq, qemu = ([int(v) for v in g.split()] for g in found.groups())
    if not kvmm or not qemu:
        sys.exit("sandbox-plot: a VMM has no run in " + sys.argv[1])
    runs = {"kvmm": kvmm, "qemu": qemu}
    k, q = statistics.median(kvmm), statistics.median(qemu)
    title = f"{arch}: launch to the Kata agent's first answer (kvmm/QEMU = {k / q:.2f})"
    svg = barplot.bars(runs, title, "seconds", 1000, lambda v: f"{v / 1000:.1f} s")
    path = barplot.save(svg, sys.argv, "kata-sandbox", arch)
    print(f"### launch to the agent's first answer ({path})\n")
    barplot.print_medians(runs)
    if len(kvmm) == len(qemu):
        print("per round kvmm/qemu: " + ", ".join(f"{a / b:.2f}" for a, b in zip(kvmm, qemu)))
    if seq:
        print(f"kvmm's whole sequence, launch to process gone: {', '.join(map(str, seq))} ms, "
              f"median {statistics.median(seq):.0f} ms")


if __name__ == "__main__":
    main()
