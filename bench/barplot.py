"""Shared by the bench/*-plot.py scripts: an SVG chart of kvmm beside QEMU, one bar per VMM
at the median of its runs with each run as a dot, and the lab's architecture from its log.
"""
import re
import statistics

ARCH = re.compile(r"LAB: INFO scenarios (?:mode=\w+ )?arch=(\w+)")


def lab_arch(path):
    """The architecture a lab log says it ran on (x86_64 when it does not say)."""
    with open(path, errors="replace") as f:
        for line in f:
            m = ARCH.search(line)
            if m:
                return m.group(1)
    return "x86_64"


def runs_by_vmm(path, line_re, value=lambda m: int(m.group(3)), vmm_group=2):
    """{vmm: [value, ...]} in log order, from the lines of PATH LINE_RE matches: group
    VMM_GROUP names the VMM, VALUE(match) is what is kept (group 3 as an integer unless
    told)."""
    runs = {}
    with open(path, errors="replace") as f:
        for line in f:
            m = line_re.search(line)
            if m:
                runs.setdefault(m.group(vmm_group), []).append(value(m))
    return runs


def print_medians(runs, unit="ms"):
    """The markdown table of each VMM's runs and median, and the kvmm/qemu ratio of the
    medians; returns that ratio."""
    print(f"| vmm | runs ({unit}) | median ({unit}) |")
    print("| --- | --- | --- |")
    for name in sorted(runs):
        print(f"| {name} | {', '.join(map(str, runs[name]))} | {statistics.median(runs[name]):.0f} |")
    ratio = statistics.median(runs["kvmm"]) / statistics.median(runs["qemu"])
    print(f"\nratio kvmm/qemu (medians): {ratio:.2f}")
    return ratio


def save(svg_text, argv, stem, arch, always_suffix=False):
    """Writes SVG_TEXT to argv[2] when given, else to docs/STEM-ARCH.svg, or docs/STEM.svg
    for x86_64 unless ALWAYS_SUFFIX (the names docs/*.md link to); returns the path."""
    suffix = "" if arch == "x86_64" and not always_suffix else f"-{arch}"
    default = f"docs/{stem}{suffix}.svg"
    out = argv[2] if len(argv) > 2 else default
    with open(out, "w") as f:
        f.write(svg_text.rstrip("\n") + "\n")
    return out


def tick_step(top):
    """The first of 0.1, 0.2, 0.5, 1, 2, 5, 10, ... giving at most 8 ticks up to top."""
    exp = -1
    while True:
        for m in (1, 2, 5):
            step = m * 10.0 ** exp
            if top / step <= 8:
                return step
        exp += 1


def bars(values, title, ylabel, scale, label):
    """SVG text. VALUES: {vmm: [numbers]}; the axis shows number / SCALE; LABEL(median)
    is the text under each bar."""
    names = sorted(values)
    top = max(v for runs in values.values() for v in runs) * 1.15 or scale
    w, h, left, bottom, bar = 500, 300, 60, 40, 80
    w = max(w, left + 10 + len(names) * (bar + 60))
    plot_h = h - bottom - 40
    y = lambda v: h - bottom - plot_h * v / top
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" '
           'font-family="sans-serif" font-size="12">',
           f'<text x="{w / 2}" y="20" text-anchor="middle">{title}</text>',
           f'<line x1="{left}" y1="{h - bottom}" x2="{w - 10}" y2="{h - bottom}" stroke="black"/>',
           f'<line x1="{left}" y1="30" x2="{left}" y2="{h - bottom}" stroke="black"/>']
    step = tick_step(top / scale)
    for i in range(int(top / scale / step) + 1):
        t = round(i * step, 6)
        out.append(f'<text x="{left - 5}" y="{y(t * scale) + 4:.1f}" text-anchor="end">'
                   f'{t:g}</text>')
    out.append(f'<text x="14" y="{h / 2}" transform="rotate(-90 14 {h / 2})" '
               f'text-anchor="middle">{ylabel}</text>')
    x0 = left + (w - 10 - left - len(names) * bar - (len(names) - 1) * 60) / 2
    for i, name in enumerate(names):
        x = x0 + i * (bar + 60)
        m = statistics.median(values[name])
        colour = "#3b7dd8" if name.startswith("kvmm") else "#999999"
        out.append(f'<rect x="{x}" y="{y(m):.1f}" width="{bar}" '
                   f'height="{h - bottom - y(m):.1f}" fill="{colour}" opacity="0.7"/>')
        for v in values[name]:
            out.append(f'<circle cx="{x + bar / 2}" cy="{y(v):.1f}" r="3" fill="black"/>')
        out.append(f'<text x="{x + bar / 2}" y="{h - bottom + 16}" text-anchor="middle">'
                   f'{name} ({label(m)})</text>')
    out.append("</svg>")
    return "\n".join(out)
