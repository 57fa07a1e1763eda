#!/usr/bin/env python3
"""Which lab tests of a meson test log to run once more because their L1 wedged.

Each lab test (tests/meson.build) is one boot of the emulated L1 host.  That
L1 (QEMU's TCG emulating AMD SVM or arm64 EL2, with KVM inside) now and then
dies under the scenarios: its kernel oopses on a vCPU thread, it triple-faults,
it stalls.  run-lab.sh names that in the test's output ("L1 kernel crashed",
"L1 triple-faulted", "L1 stalled", ...).  Such a test may be run once more,
and only it, not the other L1 boots of the same suite: a second try of a boot
that passed is a second chance for L1 to die.

A test is picked only when the L1 wedge is all that failed: its output has no
"LAB: FAIL" line but run-lab.sh's closing "lab-done" one.  A scenario that
failed before L1 went stands as a failure, and the test is not repeated.

The second try runs only the scenarios the first did not finish: each that
ended in the first try ("LAB: INFO scenario NAME took_ms=...") passed there,
since nothing failed, and is passed to run-lab.sh in LAB_SKIP.

Usage: lab-wedged.py TESTLOG.json KEPT.json WEDGED.json
Prints a line per test to run again: its name, a tab, and the scenarios to
skip (space-separated); writes their lines of TESTLOG.json to WEDGED.json
(their first try) and every other test's line to KEPT.json (whose results then
count as they are).
"""
import json
import re
import sys

BAD = ("FAIL", "TIMEOUT", "ERROR")
WEDGE = re.compile(r"L1 (stalled|timed out|kernel crashed|triple-faulted|reset itself)")
SCENARIO_FAIL = re.compile(r"^\s*LAB: FAIL (?!lab-done )", re.M)
SCENARIO_DONE = re.compile(r"^\s*LAB: INFO scenario (\S+) took_ms=", re.M)


def wedged_only(t, text):
    """True when test record t (its output TEXT) failed and an L1 wedge is all that failed."""
    return (t.get("result") in BAD and bool(WEDGE.search(text)) and
            not SCENARIO_FAIL.search(text))


def main(argv):
    if len(argv) != 4:
        print("usage: lab-wedged.py TESTLOG.json KEPT.json WEDGED.json", file=sys.stderr)
        return 2
    again = []
    with open(argv[1], encoding="utf-8", errors="replace") as src, \
            open(argv[2], "w", encoding="utf-8") as kept, \
            open(argv[3], "w", encoding="utf-8") as wedged:
        for line in src:
            try:
                t = json.loads(line)
            except ValueError:
                continue
            line = line if line.endswith("\n") else line + "\n"
            text = (t.get("stdout") or "") + (t.get("stderr") or "")
            if wedged_only(t, text):
                done = sorted(set(SCENARIO_DONE.findall(text)))
                # meson logs "project:suite / name"; meson test takes the name.
                again.append(t["name"].split(" / ", 1)[-1] + "\t" + " ".join(done))
                wedged.write(line)
            else:
                kept.write(line)
    for name in again:
        print(name)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
