#!/bin/sh
# valgrind-session.sh KVMM [OUTDIR]: one API session, as Kata's clh driver would have it plus
# hostile clients, against `kvmm --api-socket` running under valgrind's memcheck, on the host
# (no /dev/kvm needed). Passes when kvmm answers every request as it should, then exits 0 after
# vmm.shutdown with no memcheck error, no definite or indirect leak and no fd left open but
# stdin, stdout and stderr (--track-fds). kvmm runs with --seccomp false: valgrind's own
# syscalls would trip the filter. An fd (7) kvmm inherits without being told about it must be
# gone too (fd hygiene, docs/security.md). Skips (77) without valgrind or python3.
# The valgrind log and kvmm's stderr stay in OUTDIR (default: a temporary directory, removed).
set -eu

kvmm=${1:?usage: valgrind-session.sh KVMM [OUTDIR]}
command -v valgrind >/dev/null 2>&1 || { echo "valgrind-session: no valgrind: skipped"; exit 77; }
command -v python3 >/dev/null 2>&1 || { echo "valgrind-session: no python3: skipped"; exit 77; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/kvmm-vg.XXXXXX")
if [ -n "${2:-}" ]; then
	out=$2
	mkdir -p "$out"
else
	out=$tmp
fi
pid=
# shellcheck disable=SC2317 # called by the trap
cleanup() {
	[ -z "$pid" ] || kill -KILL "$pid" 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT
mkdir -p "$tmp/work"
vglog=$out/valgrind.log
klog=$out/kvmm.stderr
rm -f "$vglog" "$klog"

# The files a Kata sandbox's VmConfig names: a "kernel" that is not one (vm.boot must fail
# cleanly, with or without /dev/kvm), the guest image.
head -c 4096 /dev/urandom >"$tmp/work/vmlinux"
head -c 1048576 /dev/zero >"$tmp/work/kata-containers.img"

valgrind --tool=memcheck --leak-check=full --errors-for-leak-kinds=definite,indirect \
	--error-exitcode=99 --track-fds=yes --log-file="$vglog" \
	"$kvmm" --api-socket "$tmp/work/api.sock" --seccomp false -v \
	</dev/null >/dev/null 2>"$klog" 7<"$tmp/work/kata-containers.img" &
pid=$!

rc=0
API_DIR=$(cd "$(dirname "$0")" && pwd) python3 - "$tmp/work" "$pid" <<'EOF' || rc=$?
import array
import json
import os
import socket
import sys
import time

sys.path.insert(0, os.environ["API_DIR"])
from api_hostile import read_responses  # noqa: E402 (the HTTP response reader)

work, pid = sys.argv[1], int(sys.argv[2])
sock = os.path.join(work, "api.sock")
failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        failures.append(what)


def connect():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(30)			# memcheck runs kvmm some 20-50 times slower
    s.connect(sock)
    return s


def raw(method, path, body=None):
    data = body.encode() if isinstance(body, str) else (body or b"")
    head = f"{method} /api/v1/{path} HTTP/1.1\r\nHost: localhost\r\n"
    if body is not None:
        head += f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n"
    return head.encode() + b"\r\n" + data


def request(method, path, body=None, fds=()):
    s = connect()
    msg = raw(method, path, body)
    if fds:
        s.sendmsg([msg], [(socket.SOL_SOCKET, socket.SCM_RIGHTS,
                           bytes(array.array("i", fds)))])
    else:
        s.sendall(msg)
    r = read_responses(s, 1)
    s.close()
    return r[0] if r else (None, "")


def one_shot(data):
    """Sends DATA on a connection of its own; the first answer's status, or None."""
    s = connect()
    try:
        s.sendall(data)
    except (BrokenPipeError, ConnectionResetError):
        pass
    r = read_responses(s, 1)
    s.close()
    return r[0][0] if r else None


def vanish(data):
    s = connect()
    s.sendall(data)
    s.close()


def says(resp, word):
    try:
        return word in json.loads(resp[1])["error"]
    except (ValueError, KeyError, TypeError):
        return False


# What Kata's clh driver sends for a default sandbox (kata-contract.md: 2 GiB of shared memory,
# hot-plug room, max_vcpus, two PCI segments, kataShared on segment 1, vsock, rng, a read-only
# Raw guest image, and every default its generated client fills in).
KATA = {
    "payload": {"kernel": os.path.join(work, "vmlinux"),
                "cmdline": "root=/dev/vda1 rootflags=data=ordered,errors=remount-ro ro "
                           "rootfstype=ext4 panic=1 no_timer_check noreplace-smp quiet "
                           "systemd.unit=kata-containers.target "
                           "systemd.mask=systemd-networkd.service "
                           "systemd.mask=systemd-networkd.socket scsi_mod.scan=none"},
    "platform": {"num_pci_segments": 2, "tdx": False, "sev_snp": False},
    "memory": {"size": 2147483648, "mergeable": False, "hotplug_method": "Acpi",
               "shared": True, "hugepages": False, "prefault": False, "thp": True,
               "hotplug_size": 17179869184},
    "cpus": {"boot_vcpus": 1, "max_vcpus": 8, "kvm_hyperv": False, "nested": True,
             "topology": {"threads_per_core": 1, "cores_per_die": 8, "dies_per_package": 1,
                          "packages": 1}},
    "rng": {"src": "/dev/urandom", "iommu": False},
    "disks": [{"path": os.path.join(work, "kata-containers.img"), "readonly": True,
               "direct": False, "iommu": False, "num_queues": 1, "queue_size": 128,
               "vhost_user": False, "backing_files": False, "sparse": True,
               "image_type": "Raw"}],
    "fs": [{"tag": "kataShared", "socket": os.path.join(work, "vhost-fs.sock"),
            "num_queues": 1, "queue_size": 1024, "pci_segment": 1}],
    "serial": {"mode": "Off", "iommu": False},
    "console": {"mode": "Off", "iommu": False},
    "vsock": {"cid": 3, "socket": os.path.join(work, "clh.sock"), "iommu": False},
    "iommu": False, "watchdog": False, "pvpanic": False, "landlock_enable": False,
}
kata = json.dumps(KATA)

# Kata's waitVMM: vmm.ping until it answers (valgrind takes a while to start kvmm).
deadline, st = time.time() + 120, None
while time.time() < deadline:
    try:
        st, body = request("GET", "vmm.ping")
        if st == 200:
            break
    except (FileNotFoundError, ConnectionRefusedError, socket.timeout):
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        break
    time.sleep(0.1)
check(st == 200, "vmm.ping: 200")

# Bad requests, with no VM yet.
check(request("GET", "vm.info")[0] == 404, "vm.info before vm.create: 404")
r = request("PUT", "vm.create", '{"payload": {"kernel": ')
check(r[0] == 400 and says(r, "JSON"), f"bad JSON: 400 ({r})")
r = request("PUT", "vm.create", '{"payload": {"kernel": "/k"}, "frobnicate": 1}')
check(r[0] == 400 and says(r, "frobnicate"), f"unknown field: 400 naming it ({r})")
r = request("PUT", "vm.create", '{"payload": {"kernel": "/k", "firmware": 7}}')
check(r[0] == 400, f"wrong type in a known field: 400 ({r})")
r = request("PUT", "vm.create", "[1, 2, 3]")
check(r[0] == 400, f"a JSON array for VmConfig: 400 ({r})")
r = request("PUT", "vm.create", '{"payload": {"kernel": "/k\\u0000x"}}')
check(r[0] == 400, f"a NUL in a string: 400 ({r})")
st = one_shot(b"PUT /api/v1/vm.create HTTP/1.1\r\nContent-Length: 2000000\r\n\r\n" +
              b"{" * 200000)
check(st == 413, f"oversized body (2 MB): 413 ({st})")
r = request("GET", "vm.create")
check(r[0] == 405, f"wrong method: 405 ({r})")
r = request("DELETE", "vmm.ping")
check(r[0] == 405, f"DELETE vmm.ping: 405 ({r})")
check(request("GET", "vm.nosuch")[0] == 404, "unknown path: 404")
check(request("GET", "../../etc/passwd")[0] == 404, "path outside /api/v1: 404")
st = one_shot(b"\x00\x01garbage\r\n\r\n")
check(st == 400, f"garbage request line: 400 ({st})")
st = one_shot(b"GET /api/v1/vmm.ping HTTP/1.1\r\n" + b"X-A: b\r\n" * 100 + b"\r\n")
check(st == 431, f"100 header fields: 431 ({st})")
st = one_shot(b"PUT /api/v1/vm.create HTTP/1.1\r\nContent-Length: -5\r\n\r\n")
check(st == 400, f"negative Content-Length: 400 ({st})")
st = one_shot(b"PUT /api/v1/vm.create HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
              b"5\r\n{\"a\":\r\n0\r\n\r\n")
check(st is not None and 400 <= st < 600, f"chunked body: refused ({st})")
# Truncated requests and clients that disconnect mid-request, mid-body, or at once.
vanish(b"GET /api/v1/vmm.pi")
vanish(b"PUT /api/v1/vm.create HTTP/1.1\r\nContent-Le")
vanish(b"PUT /api/v1/vm.create HTTP/1.1\r\nContent-Length: 1000\r\n\r\n" + kata[:100].encode())
vanish(b"")
s = connect()
s.sendall(b"PUT /api/v1/vm.create HTTP/1.1\r\nContent-Length: 400\r\n\r\n{\"pay")
s.shutdown(socket.SHUT_WR)			# half-closed mid-body: no answer due, no hang
s.settimeout(30)
r = read_responses(s, 1)
s.close()
check(not r or r[0][0] >= 400, f"half-closed mid-body: no 2xx ({r})")
check(request("GET", "vmm.ping")[0] == 200, "still serving after the vanished clients")

# The sandbox: create, info, devices (a TAP fd over SCM_RIGHTS), a boot that cannot work.
r = request("PUT", "vm.create", kata)
check(r[0] == 204, f"vm.create with Kata's default VmConfig: 204 ({r})")
check(request("PUT", "vm.create", kata)[0] == 409, "vm.create twice: 409")
r = request("GET", "vm.info")
info = json.loads(r[1]) if r[0] == 200 else {}
check(r[0] == 200 and info.get("state") == "Created", f"vm.info: 200, Created ({r[0]})")
check(len(info.get("config", {}).get("fs", [])) == 1, "vm.info lists kataShared")
rd, wr = os.pipe()
r = request("GET", "vm.info", fds=[rd, wr, rd])
check(r[0] == 200, "vm.info with fds attached: 200 (kvmm closes them)")
s = connect()					# Kata's add-net: one keep-alive connection
for i in range(2):
    body = json.dumps({"mac": f"52:54:00:4b:41:0{i}", "iommu": False, "num_queues": 2,
                       "queue_size": 256, "id": f"vgnet{i}"})
    s.sendmsg([raw("PUT", "vm.add-net", body)],
              [(socket.SOL_SOCKET, socket.SCM_RIGHTS, bytes(array.array("i", [rd])))])
    r = read_responses(s, 1)
    check(r and r[0][0] in (200, 204), f"vm.add-net {i} with a TAP fd: 2xx ({r})")
s.close()
r = request("PUT", "vm.add-net", '{"mac": "52:54:00:00:00:03"}')
check(r[0] == 400, f"vm.add-net with no fd: 400 ({r})")
r = request("PUT", "vm.add-net", '{"mac": "52:54:00:00:00:03", "id": "vgnet2"}', fds=[rd, wr])
check(r[0] is not None and r[0] != 500, f"vm.add-net with two fds: answered ({r[0]})")
r = request("PUT", "vm.remove-device", '{"id": "vgnet1"}')
check(r[0] in (200, 204), f"vm.remove-device vgnet1: 2xx ({r})")
os.close(rd)
os.close(wr)
r = request("PUT", "vm.add-disk", json.dumps({"path": os.path.join(work, "kata-containers.img"),
                                              "readonly": True, "id": "vgdisk"}))
check(r[0] in (200, 204), f"vm.add-disk: 2xx ({r})")
r = request("PUT", "vm.add-disk", '{"path": ')
check(r[0] == 400, f"vm.add-disk, bad JSON: 400 ({r})")
r = request("PUT", "vm.add-disk", '{"path": "/x", "bogus": true}')
check(r[0] == 400, f"vm.add-disk, unknown field: 400 ({r})")
r = request("PUT", "vm.resize", '{"desired_vcpus": 2}')
check(r[0] is not None and r[0] >= 200, f"vm.resize before boot: answered ({r[0]})")
# Pipelined on one connection, answered in order.
s = connect()
s.sendall(raw("GET", "vm.info") + raw("GET", "vmm.ping") + raw("GET", "vm.counters"))
r = read_responses(s, 3)
s.close()
check([x[0] for x in r][:2] == [200, 200] and len(r) == 3,
      f"3 pipelined requests answered ({[x[0] for x in r]})")
r = request("PUT", "vm.boot")
check(r[0] is not None and r[0] >= 400, f"vm.boot of a VM that cannot start: refused ({r})")
r = request("GET", "vm.info")
check(r[0] == 200 and json.loads(r[1]).get("state") == "Created",
      "after the failed boot the VM is still Created")
check(request("PUT", "vm.delete")[0] == 204, "vm.delete: 204")
check(request("GET", "vm.info")[0] == 404, "vm.info after vm.delete: 404")
check(request("PUT", "vm.delete")[0] == 204, "vm.delete with no VM: 204")
# Without virtio-fs a boot gets further (guest RAM, the devices, /dev/kvm or the kernel).
nofs = dict(KATA)
del nofs["fs"]
nofs["memory"] = dict(KATA["memory"], shared=False)
check(request("PUT", "vm.create", json.dumps(nofs))[0] == 204, "vm.create without fs: 204")
r = request("PUT", "vm.boot")
check(r[0] is not None and r[0] >= 400, f"vm.boot without fs: refused ({r})")
check(request("PUT", "vm.delete")[0] == 204, "vm.delete: 204")

# A VM still there at vmm.shutdown, an idle keep-alive client and one stalled mid-body.
r = request("PUT", "vm.create", kata)
check(r[0] == 204, f"vm.create again: 204 ({r})")
idle = connect()
idle.sendall(raw("GET", "vmm.ping"))
check([x[0] for x in read_responses(idle, 1)] == [200], "keep-alive client answered")
stalled = connect()
stalled.sendall(b"PUT /api/v1/vm.add-disk HTTP/1.1\r\nContent-Length: 90\r\n\r\n{\"pa")
time.sleep(0.5)
r = request("PUT", "vmm.shutdown")
check(r[0] in (200, 204), f"vmm.shutdown: 2xx ({r})")
idle.close()
stalled.close()

print(f"{len(failures)} failed", flush=True)
sys.exit(1 if failures else 0)
EOF

# kvmm must end by itself after vmm.shutdown (memcheck's leak search takes a few seconds).
i=0
while kill -0 "$pid" 2>/dev/null && [ $i -lt 600 ]; do
	sleep 0.1
	i=$((i + 1))
done
if kill -0 "$pid" 2>/dev/null; then
	echo "FAIL kvmm did not exit within 60 s of vmm.shutdown"
	rc=1
fi
vrc=0
wait "$pid" || vrc=$?
pid=
echo "--- kvmm's stderr ($klog)"
cat "$klog"
echo "--- valgrind ($vglog)"
cat "$vglog"
echo "---"

fail() { echo "FAIL $*"; rc=1; }
case $vrc in
0) echo "ok   kvmm exited 0 under valgrind" ;;
99) fail "memcheck found errors or definite/indirect leaks (exit 99)" ;;
*) fail "kvmm exited $vrc under valgrind" ;;
esac
grep -q 'ERROR SUMMARY: 0 errors' "$vglog" || fail "memcheck's ERROR SUMMARY is not 0 errors"
grep -Eq 'definitely lost: [1-9]|indirectly lost: [1-9]' "$vglog" &&
	fail "definitely or indirectly lost blocks"
# "FILE DESCRIPTORS: N open (S std) at exit.": nothing but stdin, stdout, stderr; no line at
# all when valgrind is told to be quiet, which this script never does.
fds=$(sed -n 's/.*FILE DESCRIPTORS: \([0-9]*\) open (\([0-9]*\) std) at exit.*/\1 \2/p' "$vglog")
case $fds in
"") fail "no FILE DESCRIPTORS line from --track-fds" ;;
"3 3") echo "ok   no fd left open at exit but the 3 standard ones" ;;
*) fail "fds open at exit (open, std): $fds" ;;
esac
grep -q 'closed [1-9][0-9]* inherited fd' "$klog" ||
	fail "kvmm did not say it closed the fd it inherited unasked (7)"
if [ "$rc" = 0 ]; then
	echo "valgrind-session: passed"
else
	echo "valgrind-session: FAILED (logs in $out)"
	[ "$out" != "$tmp" ] || trap - EXIT	# keep them
fi
exit "$rc"
