#!/usr/bin/env python3
"""Drives `kvmm --api-socket` with well-behaved and hostile clients on the host (no /dev/kvm
needed: the server answers before any VM exists). Checks that every bad input gets the right
HTTP status with a JSON error naming the problem, that the server keeps serving, that file
descriptors sent with a request never leak, and that the socket file is created 0600 and
removed on exit. Usage: api_hostile.py KVMM_BINARY"""

import json
import os
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time

FAILURES = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        FAILURES.append(what)


def start(kvmm, sock, *extra):
    p = subprocess.Popen([kvmm, "--api-socket", sock, *extra], stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    for _ in range(100):
        if os.path.exists(sock) or p.poll() is not None:
            break
        time.sleep(0.02)
    return p


def connect(sock):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(5)
    s.connect(sock)
    return s


def read_responses(s, n):
    """Reads N responses from S; returns [(status, body)], fewer if the server closes the
    connection (or resets it, or S times out) first. tests/api/valgrind-session.sh uses it
    too."""
    buf, out = b"", []
    while len(out) < n:
        while b"\r\n\r\n" not in buf:
            try:
                chunk = s.recv(65536)
            except (ConnectionResetError, socket.timeout):
                chunk = b""
            if not chunk:
                return out
            buf += chunk
        head, buf = buf.split(b"\r\n\r\n", 1)
        lines = head.decode(errors="replace").split("\r\n")
        status = int(lines[0].split()[1])
        length = 0
        for line in lines[1:]:
            k, _, v = line.partition(":")
            if k.strip().lower() == "content-length":
                length = int(v)
        while len(buf) < length:
            chunk = s.recv(65536)
            if not chunk:
                break
            buf += chunk
        out.append((status, buf[:length].decode(errors="replace")))
        buf = buf[length:]
    return out


def request(sock, method, path, body=None, fds=(), close=True):
    data = body.encode() if isinstance(body, str) else (body or b"")
    head = f"{method} /api/v1/{path} HTTP/1.1\r\nHost: localhost\r\n"
    head += f"Content-Length: {len(data)}\r\n" if body is not None else ""
    head += "Connection: close\r\n" if close else ""
    msg = head.encode() + b"\r\n" + data
    s = connect(sock)
    if fds:
        s.sendmsg([msg], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, bytes(
            __import__("array").array("i", fds)))])
    else:
        s.sendall(msg)
    r = read_responses(s, 1)
    s.close()
    return r[0] if r else (None, "")


def error_names(resp, word):
    status, body = resp
    try:
        return word in json.loads(body)["error"]
    except (ValueError, KeyError, TypeError):
        return False


def nfds(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def settled_fds(pid, want=None):
    """The fd count once it stops changing (or reaches WANT): connections closed by earlier
    checks, e.g. after an error answer, may still be draining for a moment."""
    last, n = -1, nfds(pid)
    for _ in range(50):
        if n == want or (want is None and n == last):
            break
        time.sleep(0.05)
        last, n = n, nfds(pid)
    return n


def main(kvmm):
    d = tempfile.mkdtemp(prefix="kvmm-api-")
    sock = os.path.join(d, "api.sock")
    p = start(kvmm, sock)
    check(p.poll() is None and os.path.exists(sock), "kvmm serves the socket")
    check(stat.S_IMODE(os.stat(sock).st_mode) == 0o600, "socket mode 0600")

    st, body = request(sock, "GET", "vmm.ping")
    check(st == 200 and "version" in json.loads(body), "vmm.ping answers 200 with a version")
    check(request(sock, "GET", "vm.info")[0] == 404, "vm.info before vm.create: 404")
    check(request(sock, "PUT", "vm.boot")[0] == 404, "vm.boot before vm.create: 404")
    check(request(sock, "PUT", "vm.shutdown")[0] == 404, "vm.shutdown before vm.create: 404")
    r = request(sock, "GET", "vm.create")
    check(r[0] == 405 and error_names(r, "PUT"), "wrong method: 405 naming the right one")
    check(request(sock, "GET", "vm.nosuch")[0] == 404, "unknown endpoint: 404")
    r = request(sock, "PUT", "vm.create", '{"payload": ')
    check(r[0] == 400 and error_names(r, "JSON"), "bad JSON: 400 saying so")
    r = request(sock, "PUT", "vm.create", '{"payload": {"kernel": "/k"}, "frobnicate": 1}')
    check(r[0] == 400 and error_names(r, "frobnicate"), "unknown field: 400 naming it")
    r = request(sock, "PUT", "vm.create", '{"payload": {"kernel": "/k"}, "fs": [{"tag": "t",'
                ' "socket": "/s"}]}')
    check(r[0] == 400 and error_names(r, "memory.shared"),
          "virtio-fs without shared guest RAM: 400 naming memory.shared")

    # A body over 1 MiB is refused from its Content-Length, before it is sent.
    s = connect(sock)
    s.sendall(b"PUT /api/v1/vm.create HTTP/1.1\r\nContent-Length: 2000000\r\n\r\n")
    r = read_responses(s, 1)
    check(r and r[0][0] == 413, "2 MB body: 413")
    s.close()
    s = connect(sock)
    s.sendall(b"GET /api/v1/vmm.ping HTTP/1.1\r\n" + b"X-A: b\r\n" * 100 + b"\r\n")
    r = read_responses(s, 1)
    check(r and r[0][0] == 431, "100 header fields: 431")
    s.close()
    s = connect(sock)
    s.sendall(b"\x00\x01garbage\r\n\r\n")
    r = read_responses(s, 1)
    check(r and r[0][0] == 400, "garbage request line: 400")
    s.close()

    # Clients that vanish mid-request or right after connecting.
    for partial in (b"PUT /api/v1/vm.create HTTP/1.1\r\nContent-Length: 100\r\n\r\n{\"pa",
                    b"GET /api/v1/vmm.pi", b""):
        s = connect(sock)
        s.sendall(partial)
        s.close()
    check(request(sock, "GET", "vmm.ping")[0] == 200, "still serving after vanished clients")

    # Keep-alive: several requests on one connection, answered in order.
    good = ('{"payload": {"kernel": "/nonexistent/vmlinuz"}, "memory": {"size": 268435456},'
            ' "rng": {"src": "/dev/urandom"}}')
    s = connect(sock)
    reqs = [("PUT", "vm.create", good), ("GET", "vm.info", None),
            ("PUT", "vm.add-disk", '{"path": "/nonexistent.img", "readonly": true}'),
            ("GET", "vm.info", None)]
    for m, path, body in reqs:
        data = (body or "").encode()
        s.sendall(f"{m} /api/v1/{path} HTTP/1.1\r\nContent-Length: {len(data)}\r\n\r\n".encode()
                  + data)
    r = read_responses(s, 4)
    s.close()
    check([x[0] for x in r] == [204, 200, 204, 200], f"4 pipelined requests: {[x[0] for x in r]}")
    info = json.loads(r[3][1]) if len(r) == 4 else {}
    check(info.get("state") == "Created" and len(info.get("config", {}).get("disks", [])) == 1,
          "vm.info: Created, with the added disk")
    check(request(sock, "PUT", "vm.create", good)[0] == 409, "vm.create twice: 409")
    check(request(sock, "PUT", "vm.pause")[0] == 405, "vm.pause before boot: 405")
    check(request(sock, "PUT", "vm.counters")[0] == 405, "vm.counters takes GET: 405")

    # File descriptors sent with a request: those it does not use are closed; a TAP fd given
    # with vm.add-net belongs to the VM config until vm.delete.
    time.sleep(0.2)
    base = settled_fds(p.pid)
    rd, wr = os.pipe()
    request(sock, "GET", "vm.info", fds=[rd, wr, rd])
    n = settled_fds(p.pid, base)
    check(n == base, f"fds sent with vm.info are closed ({n} vs {base})")
    st, _ = request(sock, "PUT", "vm.add-net", '{"mac": "52:54:00:00:00:02"}', fds=[rd])
    check(st == 204 and settled_fds(p.pid, base + 1) == base + 1,
          "vm.add-net keeps the one fd it was sent")
    check(request(sock, "PUT", "vm.add-net", '{"mac": "52:54:00:00:00:03"}')[0] == 400,
          "vm.add-net with neither tap nor fd: 400")
    check(request(sock, "PUT", "vm.delete")[0] == 204, "vm.delete: 204")
    check(settled_fds(p.pid, base) == base, "vm.delete closes the VM's TAP fd")
    os.close(rd)
    os.close(wr)

    # vm.boot of a VM that cannot start (no such kernel, or no /dev/kvm): 500 saying why.
    request(sock, "PUT", "vm.create", good)
    r = request(sock, "PUT", "vm.boot")
    check(r[0] == 500 and error_names(r, "vm.boot"), f"failed vm.boot: 500 with the reason ({r[1][:80]})")
    check(json.loads(request(sock, "GET", "vm.info")[1]).get("state") == "Created",
          "after a failed boot the VM is still Created")

    # 100 clients at once, each on its own keep-alive connection: all answered.
    conns = [connect(sock) for _ in range(100)]
    for c in conns:
        c.sendall(b"GET /api/v1/vmm.ping HTTP/1.1\r\n\r\n")
    answers = [read_responses(c, 1) for c in conns]
    check(all(a and a[0][0] == 200 for a in answers), "100 concurrent connections all served")
    # Up to the limit (128) they are kept; one more is turned away; the server survives.
    conns += [connect(sock) for _ in range(28)]
    time.sleep(0.2)
    extra = connect(sock)
    r = read_responses(extra, 1)
    check(r and r[0][0] == 503, "129th concurrent connection: 503")
    extra.close()
    for c in conns:
        c.close()
    time.sleep(0.2)
    check(request(sock, "GET", "vmm.ping")[0] == 200, "serving again after the crowd left")

    # A client that sends half a request and stalls is closed after 10 s; others are served
    # meanwhile.
    stalled = connect(sock)
    stalled.sendall(b"PUT /api/v1/vm.create HTTP/1.1\r\nContent-Length: 50\r\n\r\n{\"pay")
    t0 = time.time()
    check(request(sock, "GET", "vmm.ping")[0] == 200, "served while another client stalls")
    stalled.settimeout(20)
    try:
        gone = stalled.recv(1) == b""
    except (ConnectionResetError, socket.timeout):
        gone = False
    check(gone and 8 <= time.time() - t0 <= 15,
          f"the stalled client is closed after ~10 s ({time.time() - t0:.1f} s)")
    stalled.close()

    # A second kvmm on the same live socket refuses to start; SIGTERM ends the first cleanly.
    q = start(kvmm, sock)
    check(q.wait(5) == 1, "a second kvmm on a live socket exits 1")
    check(request(sock, "GET", "vmm.ping")[0] == 200, "the first one still serves")
    p.send_signal(signal.SIGTERM)
    check(p.wait(5) == 0 and not os.path.exists(sock), "SIGTERM: exit 0, socket removed")

    # A stale socket file (its server died) is replaced.
    p = start(kvmm, sock)
    p.kill()
    p.wait()
    p = start(kvmm, sock)
    for _ in range(100):			# the stale file exists before kvmm replaces it
        try:
            ok = request(sock, "GET", "vmm.ping")[0] == 200
            break
        except ConnectionRefusedError:
            ok = False
            time.sleep(0.02)
    check(ok, "a stale socket file is replaced")
    check(request(sock, "PUT", "vmm.shutdown")[0] == 204, "vmm.shutdown: 204")
    check(p.wait(5) == 0 and not os.path.exists(sock), "vmm.shutdown: exit 0, socket removed")
    os.rmdir(d)

    print(f"{len(FAILURES)} failed")
    return 1 if FAILURES else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
