#!/bin/sh
# /init of the lab's L1 machine (busybox ash, booted by run-lab.sh under QEMU TCG): loads the
# KVM modules listed in /lab/l1/modules.order, checks /dev/kvm, then, by the kernel parameter
# kvmm.lab=, runs the scenarios (/lab/scenarios.sh, the default), one demo boot of the guest
# (demo) or prints its kallsyms (kallsyms, for run-lab.sh's stall report), and powers L1 off. Results go to the console as "LAB: ..." lines that run-lab.sh reads.
# No `set -e`, deliberately: if init exits the kernel panics and the lab's results are lost,
# so a failed step must not end it; the steps that matter are checked one by one.
set -u

PATH=/bin:/sbin:/usr/bin:/usr/sbin
export PATH
/bin/busybox --install -s /bin || true
mkdir -p /proc /sys /dev /tmp /run || true
mount -t proc proc /proc || true
mount -t sysfs sysfs /sys || true
mount -t devtmpfs devtmpfs /dev 2>/dev/null || true
mount -t tmpfs tmpfs /tmp || true
mount -t tmpfs tmpfs /run || true

off() {
	sync || true
	poweroff -f || true
	sleep 5 || true
	echo o >/proc/sysrq-trigger || true
	while :; do sleep 3600 || true; done
}

mode=scenarios
for w in $(cat /proc/cmdline || true); do
	case $w in kvmm.lab=*) mode=${w#kvmm.lab=} ;; esac
done

read -r up _ </proc/uptime
echo "LAB: INFO l1-init uptime_s=$up kernel=$(uname -r) cpus=$(nproc) mode=$mode"

while read -r ko; do
	[ -n "$ko" ] || continue
	if ! out=$(insmod "$ko" 2>&1); then
		echo "LAB: INFO insmod $ko failed: $out"
	fi
done </lab/l1/modules.order

if [ ! -c /dev/kvm ]; then
	echo "LAB: FAIL l1-kvm no /dev/kvm after loading the modules"
	dmesg | grep -i -E 'kvm|svm' | tail -n 20 | sed 's/^/  | /' || true
	echo "LAB: DONE passed=0 failed=1"
	off
fi
# /dev/kvm as Debian's udev rules leave it (KERNEL=="kvm", GROUP="kvm", MODE="0660"; the kvm
# group a system gid), and the accounts of the non-root scenarios (scenarios.d/nonroot.sh):
# kvmmuser (4242) is in group kvm, kvmmnokvm (4243) is not. The scenarios run as root.
mkdir -p /etc
[ -f /etc/passwd ] || printf 'root:x:0:0:root:/root:/bin/sh\n' >/etc/passwd
[ -f /etc/group ] || printf 'root:x:0:\n' >/etc/group
grep -q '^kvmmuser:' /etc/passwd ||
	printf 'kvmmuser:x:4242:4242::/nonexistent:/bin/false\nkvmmnokvm:x:4243:4243::/nonexistent:/bin/false\n' >>/etc/passwd
grep -q '^kvm:' /etc/group || printf 'kvm:x:994:kvmmuser\nkvmmuser:x:4242:\nkvmmnokvm:x:4243:\n' >>/etc/group
chgrp 994 /dev/kvm && chmod 0660 /dev/kvm || echo "LAB: INFO l1-kvm-perms could not set /dev/kvm to root:kvm 0660"
read -r up _ </proc/uptime
# kvm_amd's parameters that change how L1 runs L2 (vgif, npt, avic, ...), for studies of L1.
kvm_params=$(cd /sys/module/kvm_amd/parameters 2>/dev/null && for p in npt vgif vls avic nested lbrv; do
	[ -r "$p" ] && printf '%s=%s ' "$p" "$(cat "$p")"; done || true)
echo "LAB: INFO l1-kvm-ready uptime_s=$up $(stat -c '%A %U:%G' /dev/kvm) $(dmesg | grep -o -E 'Nested (Virtualization|Paging) enabled' | tr '\n' ' ' || true)${kvm_params:+kvm_amd: $kvm_params}"

# Hold one idle VM for the whole run so the test VMs never make L1's KVM patch its own kernel
# text (static keys) or toggle SVM on every CPU: see tests/lab/kvm-hold.c.
if [ -x /lab/kvm-hold ]; then
	/lab/kvm-hold >/tmp/kvm-hold.out 2>&1 &
	i=0
	while ! grep -q ready /tmp/kvm-hold.out 2>/dev/null && [ $i -lt 50 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	echo "LAB: INFO kvm-hold $(cat /tmp/kvm-hold.out 2>/dev/null | tr '\n' ' ')"
fi

# L1 is the VMMs' host: configured as README.md asks of a kvmm host, huge pages for shared
# memory on request (kvmm's guest RAM is a memfd; QEMU's anonymous RAM has them already).
thp=/sys/kernel/mm/transparent_hugepage/shmem_enabled
if [ -w $thp ]; then echo advise >$thp || true; fi
echo "LAB: INFO l1-thp $(cat /sys/kernel/mm/transparent_hugepage/enabled 2>/dev/null) shmem: $(cat $thp 2>/dev/null)"

export LAB_ARCH=x86_64	# /lab/env (below) says otherwise in an aarch64 lab
export LAB_IMAGES=/lab/images
export KVMM=/lab/kvmm
export LAB_BIOS=/usr/share/seabios/bios-256k.bin
export LAB_TMP=/tmp/lab
if [ -d /lab/tiny ]; then export LAB_TINY=/lab/tiny; fi
if [ -x /lab/tap-exec ]; then export LAB_TAP_EXEC=/lab/tap-exec; fi
if [ -x /lab/kvmm-remote ]; then export LAB_KVMM_REMOTE=/lab/kvmm-remote; fi
if [ -x /lab/kvmm-b ]; then export LAB_KVMM_B=/lab/kvmm-b; fi
if [ -x /lab/vsock-client ]; then export LAB_VSOCK_CLIENT=/lab/vsock-client; fi
if [ -x /lab/kata-sandbox ]; then export LAB_KATA_SANDBOX=/lab/kata-sandbox; fi
if [ -x /lab/kvm-cost ]; then export LAB_KVM_COST=/lab/kvm-cost; fi
if [ -d /lab/fs-tree ]; then export LAB_FS_TREE=/lab/fs-tree; fi	# the benchmarks' virtio-fs share
mkdir -p "$LAB_TMP"
if [ -f /lab/env ]; then . /lab/env; fi
# QEMU for the side-by-side benchmark (x86_64 L1s only, see l1-initrd.sh).
if [ -x "/usr/bin/qemu-system-$LAB_ARCH" ]; then export LAB_QEMU=/usr/bin/qemu-system-$LAB_ARCH; fi
case $LAB_ARCH in aarch64) kernel=Image console=ttyAMA0 ;; *) kernel=vmlinuz console=ttyS0 ;; esac

case $mode in
kallsyms)
	# For run-lab.sh's stall report: L1's text symbols (nokaslr: the same every boot).
	echo KALLSYMS-BEGIN
	grep ' [tT] ' /proc/kallsyms | gzip -1 | base64
	echo KALLSYMS-END
	;;
demo)
	echo "LAB: INFO demo: $KVMM --kernel $LAB_IMAGES/$kernel --initramfs $LAB_IMAGES/initramfs.cpio.gz --cpus boot=2 --memory size=512M --cmdline 'console=$console panic=-1'"
	rc=0
	timeout -s KILL 120 "$KVMM" --kernel "$LAB_IMAGES/$kernel" \
		--initramfs "$LAB_IMAGES/initramfs.cpio.gz" --cpus boot=2 --memory size=512M \
		--cmdline "console=$console panic=-1" </dev/null || rc=$?
	echo "LAB: DEMO exit=$rc"
	;;
*)
	sh /lab/scenarios.sh || echo "LAB: INFO scenarios.sh exit $?"
	# How L1 itself fared: a lab whose guests start failing midway is told apart from
	# kvmm's bugs by L1's memory and by what its kernel complained of (warnings and up,
	# which the console's loglevel hides).
	echo "LAB: INFO l1-health $(grep -E '^(MemAvailable|HugePages_Total|HugePages_Free|Shmem):' /proc/meminfo | tr -s ' ' | tr '\n' ' ')"
	dmesg -r 2>/dev/null | grep -E '^<[0-4]>' | tail -n 15 | sed 's/^/LAB: INFO l1-dmesg /' || true
	;;
esac
off
