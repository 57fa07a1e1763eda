#!/usr/bin/env python3
"""Turns the lab's net-throughput lines into an SVG bar chart (kvmm beside QEMU).

The lab's net-throughput benchmark moves the same amount of data each way through the same TAP
for kvmm and for QEMU's virtio-net in one L1 boot and prints
  LAB: INFO net-throughput MB/s host->guest kvmm=K qemu=Q guest->host kvmm=K qemu=Q
and, for kvmm with its devices on virtio-mmio,
  LAB: INFO net-throughput-mmio MB/s host->guest kvmm-mmio=M guest->host kvmm-mmio=M
This script reads such a log and writes the chart with the kvmm/QEMU ratio per direction
(kvmm: virtio-pci, its default, beside QEMU's virtio-net-pci; kvmm-mmio beside them).

Usage: bench/net-plot.py LOG [OUT.svg]
"""
import re
import sys

import barplot

LINE = re.compile(r"net-throughput MB/s host->guest kvmm=([\d.]+) qemu=([\d.]+) "
                  r"guest->host kvmm=([\d.]+) qemu=([\d.]+)")
MMIO = re.compile(r"net-throughput-mmio MB/s host->guest kvmm-mmio=([\d.]+) "
                  r"guest->host kvmm-mmio=([\d.]+)")


def read(path):
    """{direction: (kvmm, qemu, kvmm-mmio or None)} from the last round in PATH."""
    data, mmio = None, (None, None)
    with open(path, errors="replace") as f:
        for line in f:
            m = LINE.search(line)
            if m:
                k1, q1, k2, q2 = map(float, m.groups())
                data = (k1, q1, k2, q2)
            m = MMIO.search(line)
            if m:
                mmio = tuple(map(float, m.groups()))
    if not data:
        sys.exit(f"{path}: no net-throughput line")
    k1, q1, k2, q2 = data
    return {"host->guest": (k1, q1, mmio[0]), "guest->host": (k2, q2, mmio[1])}


def svg(data, arch):
    w, h, top, base = 500, 260, 40, 210
    peak = max(max(x for x in v if x is not None) for v in data.values()) * 1.15
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" '
           f'font-family="sans-serif" font-size="12">',
           f'<text x="{w / 2}" y="20" text-anchor="middle" font-size="14">'
           f'{arch}: TCP through a TAP (MB/s, higher is better)</text>']
    colors = {"kvmm": "#2a6fb0", "qemu": "#b0602a", "kvmm-mmio": "#7fa7d0"}
    for g, (direction, vals) in enumerate(data.items()):
        x0 = 40 + g * 220
        for i, (name, v) in enumerate(zip(("kvmm", "qemu", "kvmm-mmio"), vals)):
            if v is None:
                continue
            bh = (base - top) * v / peak
            x = x0 + i * 62
            out.append(f'<rect x="{x}" y="{base - bh:.1f}" width="56" height="{bh:.1f}" '
                       f'fill="{colors[name]}"/>')
            out.append(f'<text x="{x + 28}" y="{base - bh - 4:.1f}" text-anchor="middle">'
                       f'{v:.1f}</text>')
            out.append(f'<text x="{x + 28}" y="{base + 14}" text-anchor="middle" '
                       f'font-size="10">{name}</text>')
        ratio = vals[0] / vals[1] if vals[1] else float("nan")
        out.append(f'<text x="{x0 + 63}" y="{base + 32}" text-anchor="middle">{direction}: '
                   f'kvmm/QEMU {ratio:.2f}</text>')
    out.append(f'<line x1="50" y1="{base}" x2="{w - 20}" y2="{base}" stroke="black"/>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    data = read(sys.argv[1])
    arch = barplot.lab_arch(sys.argv[1])
    barplot.save(svg(data, arch), sys.argv, "net-throughput", arch)
    for d, (k, q, m) in data.items():
        mm = f"{m:.1f} | {k / m:.2f}" if m else "- | -"
        print(f"| {d} | {k:.1f} | {q:.1f} | {k / q:.2f} | {mm} |")


if __name__ == "__main__":
    main()
