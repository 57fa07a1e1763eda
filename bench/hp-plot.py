#!/usr/bin/env python3
"""Turns the lab's hot-plug latency benchmark lines into an SVG chart and a markdown table.

The lab's hp-latency benchmark (tests/lab/scenarios.d/hotplug.sh) boots kvmm and QEMU -M q35 in
one L1 boot and hot-plugs disks one after another into each (kvmm: vm.add-disk; QEMU:
blockdev-add and device_add into a pcie-root-port over QMP), timing from just before the
request to the guest's line saying it found the disk and read all of it:
  LAB: INFO hp-latency run=N vmm=kvmm|qemu lat_ms=L guest_ms=G bdf=B
This script reads such a log and writes the chart (default docs/hotplug-latency.svg,
docs/hotplug-latency-ARCH.svg for another arch): ms per VMM, the median as a bar, each
hot-plug as a dot; and prints the table with the kvmm/QEMU ratio.

Usage: bench/hp-plot.py LOG [OUT.svg]
"""
import re
import statistics
import sys

import barplot

LINE = re.compile(r"LAB: INFO hp-latency run=(\d+) vmm=([\w-]+) lat_ms=(\d+)")


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    runs, arch = barplot.runs_by_vmm(sys.argv[1], LINE), barplot.lab_arch(sys.argv[1])
    if "kvmm" not in runs or "qemu" not in runs:
        sys.exit("hp-plot: no kvmm and qemu hot-plug runs in " + sys.argv[1])
    k, q = statistics.median(runs["kvmm"]), statistics.median(runs["qemu"])
    title = f"{arch}: disk hot-plug, request to guest has read it (kvmm/QEMU = {k / q:.2f})"
    svg = barplot.bars(runs, title, "seconds", 1000, lambda m: f"{m / 1000:.2f} s")
    barplot.save(svg, sys.argv, "hotplug-latency", arch)
    barplot.print_medians(runs)


if __name__ == "__main__":
    main()
