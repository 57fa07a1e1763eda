#!/usr/bin/env python3
"""Turns the lab's virtio-fs benchmark lines into SVG charts and markdown tables.

The lab's fs-read benchmark (tests/lab/scenarios.d/virtio-fs.sh) boots kvmm and QEMU (and kvmm
on virtio-mmio) in interleaved rounds in one L1 boot, each guest reading the same share served
by the same virtiofsd with its page cache dropped before each read, and prints per read
  LAB: INFO fs-read run=R.I vmm=kvmm|qemu|kvmm-mmio tree_ms=T tree_bytes=B seq_ms=S seq_bytes=N
(tree: tar of the module trees into wc; seq: one big file with dd). Its fs-mem benchmark prints
  LAB: INFO fs-mem run=N vmm=kvmm|qemu pss_kb=P rss_kb=R guest_pss_kb=G overhead_kb=O threads=T
(the VMM's memory outside guest RAM with virtio-fs attached and used; docs/memory.md's method).
This script reads such a log and writes
  - the read chart (default docs/fs-read.svg, docs/fs-read-ARCH.svg for another arch): MB/s
    per VMM for each kind of read, the median as a bar, each read as a dot;
  - the memory chart (default docs/fs-mem-ARCH.svg), when the log has fs-mem lines;
and prints the tables with the kvmm/QEMU ratios.

Usage: bench/fs-plot.py LOG [READ.svg [MEM.svg]]
"""
import re
import statistics
import sys

import barplot

READ = re.compile(r"LAB: INFO fs-read run=([\d.]+) vmm=([\w-]+) tree_ms=(\d+) tree_bytes=(\d+) "
                  r"seq_ms=(\d+) seq_bytes=(\d+)")
MEM = re.compile(r"LAB: INFO fs-mem run=(\d+) vmm=(\w+) pss_kb=(\d+) rss_kb=(\d+) "
                 r"guest_pss_kb=(\d+) overhead_kb=(\d+) threads=(\d+)")
ORDER = ("kvmm", "qemu", "kvmm-mmio")
COLOURS = {"kvmm": "#2a6fb0", "qemu": "#b0602a", "kvmm-mmio": "#7fa7d0"}
KINDS = (("tree", "tree read (tar of the module trees)"), ("seq", "sequential read"))


def read_log(path):
    """({vmm: {"tree": [MB/s], "seq": [MB/s], "tree_ms": [...], "seq_ms": [...]}},
    {vmm: [overhead kB]})."""
    reads, mem = {}, {}
    with open(path, errors="replace") as f:
        for line in f:
            m = READ.search(line)
            if m:
                vmm = m.group(2)
                tms, tb, sms, sb = map(int, m.groups()[2:])
                r = reads.setdefault(vmm, {"tree": [], "seq": [], "tree_ms": [], "seq_ms": []})
                if tms > 0 and sms > 0:
                    r["tree"].append(tb / 1048576 / (tms / 1000))
                    r["seq"].append(sb / 1048576 / (sms / 1000))
                    r["tree_ms"].append(tms)
                    r["seq_ms"].append(sms)
            m = MEM.search(line)
            if m:
                mem.setdefault(m.group(2), []).append(int(m.group(6)))
    return reads, mem


def read_svg(reads, arch):
    names = [n for n in ORDER if n in reads] + sorted(n for n in reads if n not in ORDER)
    w, h, top, base, bar, gap = 560, 280, 40, 220, 56, 6
    peak = max(v for r in reads.values() for k, _ in KINDS for v in r[k]) * 1.15
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" '
           f'font-family="sans-serif" font-size="12">',
           f'<text x="{w / 2}" y="20" text-anchor="middle" font-size="14">'
           f'{arch}: reading through virtio-fs (MB/s, higher is better)</text>']
    for g, (kind, label) in enumerate(KINDS):
        x0 = 40 + g * (w - 40) / 2
        for i, name in enumerate(names):
            vals = reads[name][kind]
            if not vals:
                continue
            med = statistics.median(vals)
            bh = (base - top) * med / peak
            x = x0 + i * (bar + gap)
            out.append(f'<rect x="{x}" y="{base - bh:.1f}" width="{bar}" height="{bh:.1f}" '
                       f'fill="{COLOURS.get(name, "#999999")}"/>')
            for v in vals:
                out.append(f'<circle cx="{x + bar / 2}" cy="{base - (base - top) * v / peak:.1f}" '
                           f'r="2.5" fill="black"/>')
            out.append(f'<text x="{x + bar / 2}" y="{base - bh - 4:.1f}" text-anchor="middle">'
                       f'{med:.1f}</text>')
            out.append(f'<text x="{x + bar / 2}" y="{base + 14}" text-anchor="middle" '
                       f'font-size="10">{name}</text>')
        ratio = ""
        if reads.get("kvmm", {}).get(kind) and reads.get("qemu", {}).get(kind):
            ratio = f": kvmm/QEMU {med_ratio(reads, kind):.2f}"
        out.append(f'<text x="{x0 + len(names) * (bar + gap) / 2}" y="{base + 34}" '
                   f'text-anchor="middle">{label.split(" (")[0]}{ratio}</text>')
    out.append(f'<line x1="30" y1="{base}" x2="{w - 10}" y2="{base}" stroke="black"/>')
    out.append("</svg>")
    return "\n".join(out)


def med_ratio(reads, kind):
    """kvmm's median MB/s over QEMU's."""
    return statistics.median(reads["kvmm"][kind]) / statistics.median(reads["qemu"][kind])


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    reads, mem = read_log(sys.argv[1])
    arch = barplot.lab_arch(sys.argv[1])
    reads = {k: v for k, v in reads.items() if v["tree"]}
    if not reads and not mem:
        sys.exit("fs-plot: no fs-read or fs-mem lines in " + sys.argv[1])
    if reads:
        barplot.save(read_svg(reads, arch), sys.argv[:3], "fs-read", arch)
        print("| vmm | kind | reads | median ms | median MB/s | kvmm/QEMU (MB/s) |")
        print("| --- | --- | --- | --- | --- | --- |")
        for name in [n for n in ORDER if n in reads] + sorted(n for n in reads if n not in ORDER):
            for kind, label in KINDS:
                r = reads[name]
                ratio = "-"
                if name == "kvmm" and "qemu" in reads:
                    ratio = f"{med_ratio(reads, kind):.2f}"
                print(f"| {name} | {label} | {len(r[kind])} | "
                      f"{statistics.median(r[kind + '_ms']):.0f} | "
                      f"{statistics.median(r[kind]):.1f} | {ratio} |")
    if mem:
        ratio = "n/a"
        if "kvmm" in mem and "qemu" in mem and statistics.median(mem["qemu"]) > 0:
            ratio = f'{statistics.median(mem["kvmm"]) / statistics.median(mem["qemu"]):.2f}'
        title = f"{arch}: VMM memory outside guest RAM with virtio-fs (kvmm/QEMU = {ratio})"
        svg = barplot.bars(mem, title, "MiB outside guest RAM (PSS)", 1024,
                           lambda m: f"{m / 1024:.1f} MiB")
        argv = [sys.argv[0], sys.argv[1], sys.argv[3]] if len(sys.argv) > 3 else sys.argv[:2]
        barplot.save(svg, argv, "fs-mem", arch, always_suffix=True)
        print()
        print("| vmm | overhead per run (KiB) | median (KiB) |")
        print("| --- | --- | --- |")
        for name in sorted(mem):
            print(f"| {name} | {', '.join(map(str, mem[name]))} | "
                  f"{statistics.median(mem[name]):.0f} |")
        print(f"\nratio kvmm/qemu (median overheads): {ratio}")


if __name__ == "__main__":
    main()
