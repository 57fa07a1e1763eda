#!/usr/bin/env python3
"""kvmm exec -> first successful vmm.ping, the latency Kata's clh driver waits through before
it can send vm.create. Starts `kvmm --api-socket` RUNS times, polls the socket as fast as it
can, and prints the median and spread in milliseconds. No /dev/kvm needed.

Usage: bench/api-ping.py KVMM [RUNS]
"""
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time

PING = b"GET /api/v1/vmm.ping HTTP/1.1\r\nConnection: close\r\n\r\n"


def one(kvmm, sock):
    t0 = time.perf_counter()
    p = subprocess.Popen([kvmm, "--api-socket", sock], stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while True:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.connect(sock)
            s.sendall(PING)
            if s.recv(64).startswith(b"HTTP/1.1 200"):
                ms = (time.perf_counter() - t0) * 1000
                break
        except (FileNotFoundError, ConnectionRefusedError):
            pass
        finally:
            s.close()
        if time.perf_counter() - t0 > 5:
            ms = float("inf")
            break
    p.terminate()
    p.wait()
    return ms


def main():
    kvmm, runs = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 50
    d = tempfile.mkdtemp()
    sock = os.path.join(d, "api.sock")
    times = [one(kvmm, sock) for _ in range(runs)]
    os.rmdir(d)
    q = statistics.quantiles(times, n=10)
    print(f"exec->ping ms: median {statistics.median(times):.2f} p10 {q[0]:.2f} "
          f"p90 {q[-1]:.2f} min {min(times):.2f} max {max(times):.2f} ({runs} runs)")


if __name__ == "__main__":
    main()
