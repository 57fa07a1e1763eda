#!/usr/bin/env python3
"""Turns the lab's hot-plug latency benchmark lines into SVG charts and markdown tables.

The lab's hot-plug benchmarks (tests/lab/scenarios.d/hotplug.sh's hp-latency for a disk,
hotplug-bench.sh's hp-latency-net, -fs, -cpu and -mem) boot kvmm and QEMU -M q35 in one L1 boot and
hot-plug into each, timing from just before the request to the guest's line saying that what
came is usable (the disk read whole; the NIC up and pinging; the share mounted and read; the vCPU
onlined; the memory blocks onlined):
  LAB: INFO hp-latency[-KIND] run=N vmm=kvmm|qemu lat_ms=L ...
This script reads such a log and writes one chart per kind it finds: docs/hotplug-latency.svg
for the disk, docs/hotplug-latency-KIND.svg for the others (with -ARCH before .svg for an arch
other than x86_64): ms per VMM, the median as a bar, each hot-plug as a dot; and prints each
kind's table with the kvmm/QEMU ratio.  Given OUT.svg (the disk's chart), it writes there, and
the others beside it.

Usage: bench/hp-plot.py LOG [OUT.svg]
"""
import re
import statistics
import sys

import barplot

KINDS = {
    "": "disk hot-plug, request to guest has read it",
    "-net": "NIC hot-plug, request to guest's NIC up and pinging",
    "-fs": "virtio-fs hot-plug, request to guest has mounted it and read a file",
    "-cpu": "vCPU hot-plug, request to guest has onlined it",
    "-mem": "128 MiB memory hot-plug, request to guest has onlined it",
}


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    arch, found = barplot.lab_arch(sys.argv[1]), 0
    for kind, what in KINDS.items():
        line = re.compile(r"LAB: INFO hp-latency" + re.escape(kind) +
                          r" run=(\d+) vmm=([\w-]+) lat_ms=(\d+)")
        runs = barplot.runs_by_vmm(sys.argv[1], line)
        if "kvmm" not in runs or "qemu" not in runs:
            continue
        found += 1
        k, q = statistics.median(runs["kvmm"]), statistics.median(runs["qemu"])
        title = f"{arch}: {what} (kvmm/QEMU = {k / q:.2f})"
        svg = barplot.bars(runs, title, "seconds", 1000, lambda m: f"{m / 1000:.2f} s")
        argv = sys.argv
        if len(sys.argv) > 2 and kind:
            out = sys.argv[2]
            out = (out.replace("hotplug-latency", "hotplug-latency" + kind)
                   if "hotplug-latency" in out else re.sub(r"(\.svg)?$", kind + ".svg", out, 1))
            argv = sys.argv[:2] + [out]
        path = barplot.save(svg, argv, "hotplug-latency" + kind, arch)
        print(f"### {what} ({path})\n")
        barplot.print_medians(runs)
        print()
    if not found:
        sys.exit("hp-plot: no kvmm and qemu hot-plug runs in " + sys.argv[1])


if __name__ == "__main__":
    main()
