#!/usr/bin/env python3
"""Turns the lab's net-throughput lines into an SVG bar chart (kvmm beside QEMU).

The lab's net-throughput benchmark moves the same amount of data each way through the same TAP
for kvmm and for QEMU's virtio-net in one L1 boot and prints
  LAB: INFO net-throughput MB/s host->guest kvmm=K qemu=Q guest->host kvmm=K qemu=Q
This script reads such a log and writes the chart with the kvmm/QEMU ratio per direction.

Usage: bench/net-plot.py LOG [OUT.svg]
"""
import re
import sys

import barplot

LINE = re.compile(r"net-throughput MB/s host->guest kvmm=([\d.]+) qemu=([\d.]+) "
                  r"guest->host kvmm=([\d.]+) qemu=([\d.]+)")


def read(path):
    with open(path, errors="replace") as f:
        for line in f:
            m = LINE.search(line)
            if m:
                k1, q1, k2, q2 = map(float, m.groups())
                return {"host->guest": (k1, q1), "guest->host": (k2, q2)}
    sys.exit(f"{path}: no net-throughput line")


def svg(data, arch):
    w, h, top, base = 480, 260, 40, 210
    peak = max(max(v) for v in data.values()) * 1.15
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" '
           f'font-family="sans-serif" font-size="12">',
           f'<text x="{w / 2}" y="20" text-anchor="middle" font-size="14">'
           f'{arch}: TCP through a TAP (MB/s, higher is better)</text>']
    colors = {"kvmm": "#2a6fb0", "qemu": "#b0602a"}
    for g, (direction, vals) in enumerate(data.items()):
        x0 = 60 + g * 210
        for i, (name, v) in enumerate(zip(("kvmm", "qemu"), vals)):
            bh = (base - top) * v / peak
            x = x0 + i * 70
            out.append(f'<rect x="{x}" y="{base - bh:.1f}" width="56" height="{bh:.1f}" '
                       f'fill="{colors[name]}"/>')
            out.append(f'<text x="{x + 28}" y="{base - bh - 4:.1f}" text-anchor="middle">'
                       f'{v:.1f}</text>')
            out.append(f'<text x="{x + 28}" y="{base + 14}" text-anchor="middle">{name}</text>')
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
    for d, (k, q) in data.items():
        print(f"| {d} | {k:.1f} | {q:.1f} | {k / q:.2f} |")


if __name__ == "__main__":
    main()
