#!/usr/bin/env python3
"""Turns the lab's boot-time lines into an SVG bar chart and a markdown table.

The lab's boot-time scenario launches kvmm and QEMU alternately in the same
L1 boot and prints, per run,
  LAB: INFO boot-time run=N vmm=kvmm|qemu|kvmm-mmio marker_ms=MS exit=RC run_ms=MS
(kvmm: its devices on virtio-pci, the default; kvmm-mmio: on virtio-mmio, with pci=off on
x86_64).
This script reads such a log (the L1 console, or the lab's stdout) and writes
the chart (default docs/boot-time.svg, docs/boot-time-ARCH.svg for another arch): each run as a dot, the medians as bars,
and the kvmm/QEMU ratio of the medians for the same command line.

Usage: bench/boot-plot.py LOG [OUT.svg]
"""
import re
import statistics
import sys

import barplot

LINE = re.compile(r"LAB: INFO boot-time run=(\d+) vmm=([\w-]+) marker_ms=(\d+)")
SPLIT = re.compile(r"LAB: INFO boot-time run=(\d+) vmm=(kvmm[\w-]*) marker_ms=\d+ exit=\d+ "
                   r"run_ms=(\d+) setup_ms=([\d.]+) guest_ms=[\d.]+ exit_ms=([\d.]+) "
                   r"teardown_ms=([\d.]+)")


def share_row(m):
    """(run_ms, setup_ms, exit_ms, teardown_ms, share) of a SPLIT line: the VMM-added share of
    a boot is kvmm's own time (set-up, exit handling, teardown) over the run's wall time,
    launch to process exit."""
    run, setup, exits, down = (float(g) for g in m.groups()[2:])
    return (run, setup, exits, down, (setup + exits + down) / run if run else 0)


def vmm_share(path):
    """{vmm: [share_row, ...]} for the kvmm runs whose line has the whole split."""
    return barplot.runs_by_vmm(path, SPLIT, share_row)


STEPS = re.compile(r"LAB: INFO boot-time run=\d+ vmm=(kvmm[\w-]*) .*teardown_steps=([\d.]+(?:/[\d.]+){4})")
STEP_NAMES = ("stop noticed", "vCPUs", "devices", "VM", "RAM")
SETUP = re.compile(r"LAB: INFO boot-time run=\d+ vmm=(kvmm[\w-]*) .*setup_steps=([\d.]+(?:/[\d.]+){6})")
SETUP_NAMES = ("process", "KVM", "RAM", "vCPUs", "devices", "payload", "start")


def steps_of(path, pattern):
    """{vmm: [(step, ...) in ms, ...]} from PATTERN's "a/b/c" group: where a phase went."""
    return barplot.runs_by_vmm(path, pattern,
                               lambda m: tuple(float(x) for x in m.group(2).split("/")),
                               vmm_group=1)


def teardown_steps(path):
    """{vmm: [(noticed, vcpus, devices, vm, ram) in ms, ...]}: where kvmm's teardown went."""
    return steps_of(path, STEPS)


def print_steps(steps, names, what):
    """A markdown table of each vmm's median step times."""
    print(f"\n{what}\n\n| vmm | runs | " + " | ".join(f"{n} (ms)" for n in names) + " |")
    print("| --- | --- |" + " --- |" * len(names))
    for name in sorted(steps):
        rows = steps[name]
        med = [statistics.median(r[i] for r in rows) for i in range(len(names))]
        print(f"| {name} | {len(rows)} | " + " | ".join(f"{v:.1f}" for v in med) + " |")


def svg(runs, title):
    return barplot.bars(runs, title, "seconds to guest marker", 1000,
                        lambda m: f"{m / 1000:.2f} s")


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    runs, arch = barplot.runs_by_vmm(sys.argv[1], LINE), barplot.lab_arch(sys.argv[1])
    if "kvmm" not in runs or "qemu" not in runs:
        sys.exit("boot-plot: no kvmm and qemu boot-time runs in " + sys.argv[1])
    k, q = statistics.median(runs["kvmm"]), statistics.median(runs["qemu"])
    title = f"{arch}: start to guest marker, nested KVM lab (kvmm/QEMU = {k / q:.2f})"
    barplot.save(svg(runs, title), sys.argv, "boot-time", arch)
    barplot.print_medians(runs)
    shares = vmm_share(sys.argv[1])
    if shares:
        print("\n| vmm | runs | median run (ms) | set-up (ms) | exit handling (ms) "
              "| teardown (ms) | VMM-added share |")
        print("| --- | --- | --- | --- | --- | --- | --- |")
        for name in sorted(shares):
            rows = shares[name]
            med = [statistics.median(r[i] for r in rows) for i in range(5)]
            print(f"| {name} | {len(rows)} | {med[0]:.0f} | {med[1]:.1f} | {med[2]:.1f} "
                  f"| {med[3]:.1f} | {100 * med[4]:.1f}% |")
        setup = steps_of(sys.argv[1], SETUP)
        if setup:
            print_steps(setup, SETUP_NAMES, "Set-up, process start to vcpu0's first KVM_RUN:")
        steps = teardown_steps(sys.argv[1])
        if steps:
            print_steps(steps, STEP_NAMES, "Teardown, stop request to the VM's resources freed:")
        if "kvmm" in shares:
            print(f"\nVMM-added share of a kvmm boot ({arch}, median of {len(shares['kvmm'])}): "
                  f"{100 * statistics.median(r[4] for r in shares['kvmm']):.1f}%")


if __name__ == "__main__":
    main()
