#!/usr/bin/env python3
"""Digest of the failed tests in meson test logs (testlog.json files).

CI keeps only the tail of a run's output, and a failure deep in a long
lab log is lost there.  test-all.sh calls this after every meson test
run and prints everything it collected once more at the end: per failed
test its name, verdict and time, the lines that say why (lab FAIL lines,
L1 trouble, Criterion assertions, sanitizer reports) or, when none match,
the last lines of its output.

Usage: test-digest.py TESTLOG.json...   (prints nothing when all passed)
"""
import json
import re
import sys

BAD = ("FAIL", "TIMEOUT", "ERROR", "UNEXPECTEDPASS")
WHY = re.compile(r"LAB: FAIL|L1 (stalled|timed out|kernel crashed|triple-faulted|reset itself)|"
                 r"l1-(health|dmesg|crash|reset|console)|"
                 r"Kernel panic|BUG:|Oops|"
                 r"\[----\]|Assertion|ERROR: AddressSanitizer|runtime error|"
                 r"==ERROR|deadly signal|error:|timed out")
KEEP = 60      # lines per failed test at most: the first FIRST of them
FIRST = 24     # (where trouble began) and the last KEEP - FIRST
CONTEXT = 6    # lines kept before each line that says why


def digest(path):
    out = []
    try:
        lines = open(path, encoding="utf-8", errors="replace").readlines()
    except OSError as e:
        return [f"{path}: {e.strerror}"]
    for line in lines:
        try:
            t = json.loads(line)
        except ValueError:
            continue
        if t.get("result") not in BAD:
            continue
        out.append(f"== {t['name']}: {t['result']} after "
                   f"{t.get('duration', 0):.0f} s (exit {t.get('returncode')}) "
                   f"[{path}]")
        text = (t.get("stdout") or "") + (t.get("stderr") or "")
        lines_ = text.splitlines()
        # Each matching line with the few before it (what kvmm and the
        # guest said just before a lab scenario failed).
        keep = set()
        for i, l in enumerate(lines_):
            if WHY.search(l):
                keep.update(range(max(0, i - CONTEXT), i + 1))
        why = [lines_[i] for i in sorted(keep)]
        if len(why) > KEEP:
            cut = len(why) - KEEP
            why = (why[:FIRST] + [f"[{cut} lines left out]"] +
                   why[-(KEEP - FIRST):])
        out += ["   " + l for l in (why or lines_[-KEEP:])]
    return out


def main():
    for p in sys.argv[1:]:
        for line in digest(p):
            print(line)


if __name__ == "__main__":
    main()
