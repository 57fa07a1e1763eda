#!/usr/bin/env python3
"""kvmm's fd hygiene (docs/security.md), on the host (no /dev/kvm needed): an fd it inherits
without the command line naming it is closed at start-up, the ones named (--api-socket fd=N,
--net fd=N) are kept, and every fd kvmm holds above stderr is close-on-exec: the named ones,
its listening and accepted sockets, its epoll, signalfd, timerfd and eventfds, and a TAP fd
received with vm.add-net (SCM_RIGHTS). Runs kvmm as Kata does, seccomp filter on.
Usage: api_fds.py KVMM_BINARY"""

import array
import json
import os
import socket
import subprocess
import sys
import tempfile
import time

FAILURES = []
O_CLOEXEC = 0o2000000


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        FAILURES.append(what)


def spawn(argv, fds, log):
    """Runs ARGV with fds {child_fd: our_fd} inherited (and nothing else above stderr)."""
    def place():
        # dup2 clears FD_CLOEXEC on the copy: the way a careless parent leaks an fd.
        for child_fd, ours in fds.items():
            os.dup2(ours, child_fd)
    return subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=log, close_fds=True, pass_fds=tuple(fds), preexec_fn=place)


def request(path, method, ep, body=None, fds=()):
    data = (body or "").encode()
    msg = (f"{method} /api/v1/{ep} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
           f"Content-Length: {len(data)}\r\n\r\n").encode() + data
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(path)
    if fds:
        s.sendmsg([msg], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, bytes(array.array("i", fds)))])
    else:
        s.sendall(msg)
    buf = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        buf += chunk
    s.close()
    return int(buf.split(b" ", 2)[1]) if buf.startswith(b"HTTP/") else None


def fd_table(pid):
    """{fd: (target, flags)} of process PID, flags from /proc/PID/fdinfo (octal)."""
    out = {}
    for name in os.listdir(f"/proc/{pid}/fd"):
        fd = int(name)
        try:
            target = os.readlink(f"/proc/{pid}/fd/{name}")
            with open(f"/proc/{pid}/fdinfo/{name}") as f:
                flags = next(int(line.split()[1], 8) for line in f if line.startswith("flags:"))
        except (FileNotFoundError, StopIteration):
            continue			# closed meanwhile
        out[fd] = (target, flags)
    return out


def all_cloexec(pid, what):
    table = fd_table(pid)
    bad = {fd: t for fd, t in table.items() if fd > 2 and not t[1] & O_CLOEXEC}
    check(not bad, f"{what}: all {len([f for f in table if f > 2])} fds above stderr are "
          f"O_CLOEXEC" + (f"; not: {bad}" if bad else ""))
    return table


def api_case(kvmm, d):
    """--api-socket fd=6 (a listening socket kvmm inherits), fd 5 inherited unnamed."""
    path = os.path.join(d, "api.sock")
    lsock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    lsock.bind(path)
    lsock.listen(8)
    stray_path = os.path.join(d, "stray")
    stray = os.open(stray_path, os.O_RDONLY | os.O_CREAT, 0o600)
    with open(os.path.join(d, "api.log"), "w+") as log:
        p = spawn([kvmm, "--api-socket", "fd=6", "-v"], {5: stray, 6: lsock.fileno()}, log)
        os.close(stray)
        lsock.close()			# kvmm's copy serves
        st = None
        for _ in range(200):
            try:
                st = request(path, "GET", "vmm.ping")
                break
            except (ConnectionRefusedError, FileNotFoundError, socket.timeout):
                if p.poll() is not None:
                    break
                time.sleep(0.02)
        check(st == 200, "vmm.ping on the inherited --api-socket fd=6: 200")
        table = all_cloexec(p.pid, "serving")
        # kvmm may have reused the number since: what counts is the file.
        held = [fd for fd, t in table.items() if t[0] == stray_path]
        check(not held, f"the unnamed inherited fd 5 is closed (held as {held})")
        check(6 in table and table[6][0].startswith("socket:"),
              f"the named fd 6 (the API socket) is kept ({table.get(6)})")

        # A VM config, a keep-alive client, and a TAP-like fd received with vm.add-net.
        body = json.dumps({"payload": {"kernel": "/nonexistent/vmlinux"},
                           "memory": {"size": 268435456}, "rng": {"src": "/dev/urandom"}})
        check(request(path, "PUT", "vm.create", body) == 204, "vm.create: 204")
        rd, wr = os.pipe()
        check(request(path, "PUT", "vm.add-net", '{"mac": "52:54:00:00:00:02"}', fds=[rd]) == 204,
              "vm.add-net with an fd (SCM_RIGHTS): 204")
        pipe_ino = os.readlink(f"/proc/self/fd/{rd}")
        idle = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        idle.connect(path)
        time.sleep(0.2)
        table = all_cloexec(p.pid, "with a VM config, a client and a received fd")
        check(any(t[0] == pipe_ino for t in table.values()),
              "the fd vm.add-net received is held (and close-on-exec)")
        idle.close()
        os.close(rd)
        os.close(wr)
        check(request(path, "PUT", "vmm.shutdown") == 204, "vmm.shutdown: 204")
        check(p.wait(10) == 0, "exit 0")
        log.seek(0)
        text = log.read()
    check("closed 1 inherited fd; kept 1 named" in text,
          "-v says it closed 1 inherited fd and kept 1: " +
          next((line for line in text.splitlines() if "inherited" in line), "(no such line)"))


def net_case(kvmm, d):
    """--net fd=6 (kept: the config check finds it open), fd 5 not named. Without /dev/kvm the
    run ends there; with it, at the TAP set-up (a pipe is not a TAP): either way not at
    'not an open file descriptor'."""
    kernel = os.path.join(d, "vmlinux")
    with open(kernel, "wb") as f:
        f.write(b"\0" * 4096)
    rd, wr = os.pipe()
    stray = os.open("/dev/null", os.O_RDONLY)
    with open(os.path.join(d, "net.log"), "w+") as log:
        p = spawn([kvmm, "-v", "--kernel", kernel, "--net", "fd=6", "--serial", "off"],
                  {5: stray, 6: rd}, log)
        os.close(stray)
        rc = p.wait(20)
        log.seek(0)
        text = log.read()
    os.close(rd)
    os.close(wr)
    check(rc == 1, f"--net fd=6 with no real TAP and kernel: exit 1 ({rc})")
    check("closed 1 inherited fd; kept 1 named" in text, "--net fd=6: closed 1, kept 1")
    check("not an open file descriptor" not in text, "--net fd=6 is still open for the VM")


def main(kvmm):
    d = tempfile.mkdtemp(prefix="kvmm-fds-")
    try:
        api_case(kvmm, d)
        net_case(kvmm, d)
    finally:
        for name in os.listdir(d):
            os.unlink(os.path.join(d, name))
        os.rmdir(d)
    print(f"{len(FAILURES)} failed")
    return 1 if FAILURES else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
