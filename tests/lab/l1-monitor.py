#!/usr/bin/env python3
"""Talks to the lab L1 QEMU's human monitor (a unix socket) for run-lab.sh's watchdog.

Usage: l1-monitor.py status SOCKET         prints `info status` ("VM status: running", ...)
       l1-monitor.py dump SOCKET           prints `info registers -a` of every vCPU
       l1-monitor.py quit SOCKET           ends QEMU
       l1-monitor.py symbolize DUMP MAP    one line per vCPU: RIP and the nearest text symbol
                                           of MAP (System.map or kallsyms format; L1 runs
                                           nokaslr, so a kallsyms taken from another boot fits)
"""
import bisect
import re
import socket
import sys
import time


def command(path, line, wait=2.0, until=None):
    """Sends one monitor command; returns what came back within WAIT s (or up to UNTIL)."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(wait)
    s.connect(path)
    out = b""
    try:
        out += s.recv(65536)  # banner and prompt
    except socket.timeout:
        pass
    s.sendall(line.encode() + b"\n")
    deadline = time.time() + wait
    while time.time() < deadline:
        try:
            chunk = s.recv(65536)
        except socket.timeout:
            break
        if not chunk:
            break
        out += chunk
        if until is not None and re.search(until, out):
            break
    s.close()
    return out.decode(errors="replace").replace("\r", "")


def load_map(path):
    addrs, names = [], []
    with open(path) as f:
        for ln in f:
            parts = ln.split()
            if len(parts) >= 3 and parts[1] in ("t", "T", "w", "W"):
                addrs.append(int(parts[0], 16))
                names.append(parts[2])
    order = sorted(range(len(addrs)), key=addrs.__getitem__)
    return [addrs[i] for i in order], [names[i] for i in order]


def symbolize(dump_path, map_path):
    """Prints a compact line per vCPU: its RIP, HLT state and nearest symbol."""
    try:
        addrs, names = load_map(map_path)
    except OSError:
        addrs, names = [], []
    cpu = "?"
    with open(dump_path) as f:
        for ln in f:
            m = re.match(r"CPU#(\d+)", ln)
            if m:
                cpu = m.group(1)
            m = re.match(r"RIP=([0-9a-f]+).*?(HLT=\d)?$", ln.strip())
            if m:
                rip = int(m.group(1), 16)
                sym = "?"
                i = bisect.bisect_right(addrs, rip) - 1
                if i >= 0 and rip - addrs[i] < 0x100000:
                    sym = f"{names[i]}+{rip - addrs[i]:#x}"
                print(f"cpu{cpu} RIP={rip:#x} {m.group(2) or ''} {sym}")


def main():
    if len(sys.argv) != 3 and not (len(sys.argv) == 4 and sys.argv[1] == "symbolize"):
        sys.exit(__doc__)
    if sys.argv[1] == "quit":
        command(sys.argv[2], "quit", wait=1.0)
    elif sys.argv[1] == "status":
        for ln in command(sys.argv[2], "info status", wait=2.0, until=rb"VM status[^\n]*\n").splitlines():
            if ln.startswith("VM status"):
                print(ln)
    elif sys.argv[1] == "dump":
        for ln in command(sys.argv[2], "info registers -a", wait=3.0).splitlines():
            if not (ln.startswith("QEMU ") or ln.startswith("(qemu)")):
                print(ln)
    elif sys.argv[1] == "symbolize":
        symbolize(sys.argv[2], sys.argv[3])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
