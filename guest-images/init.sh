#!/bin/sh
# /init of the kvmm L2 test guest (busybox ash). Mounts the pseudo file systems, prints one
# marker line "KVMM-GUEST-UP cpus=<online cpus> ram_kb=<System RAM in /sys/firmware/memmap,
# or in /proc/iomem where there is no firmware map (arm64)>"
# (after loading the virtio driver modules listed in /lib/modules/kvmm.order, and writing the
# boot timer's marker),
# then does what the kernel command-line parameter kvmm.test= asks:
#   absent | poweroff  -> poweroff -f
#   reboot             -> reboot -f
#   hang               -> sleep forever
#   NAME               -> run /kvmm/tests/NAME (added from guest-images/tests/), then poweroff -f
# unless the command line names a root device, root=/dev/..., as Kata's guests boot (an image
# with an ext4 root; build.sh's kata-image.raw): then kvmm.test= is ignored; /init loads the
# root's file system modules (/lib/modules/kvmm-root.order), waits up to 10 s for the device,
# mounts it on /newroot (rootfstype=, default ext4; ro unless the last of ro/rw is rw;
# rootflags= as its options), moves /dev, /proc and /sys there, prints
# "KVMM-ROOT dev=<dev> fstype=<type> mode=ro|rw" and switch_root's to init= (default
# /sbin/init); or prints "KVMM-ROOT-FAIL <reason>" and powers off.
# The scenarios of tests/lab/ parse the marker lines; keep their format stable.
# No `set -e`, deliberately: if init exits the kernel panics, so a failed step (a mount, even an
# echo to a broken console) must not end it; each step's result is checked where it matters.
set -u

PATH=/bin:/sbin:/usr/bin:/usr/sbin:/kvmm/bin
export PATH

/bin/busybox mkdir -p /proc /sys /dev /tmp /run || true
/bin/busybox mount -t proc proc /proc || true
/bin/busybox mount -t sysfs sysfs /sys || true
/bin/busybox mount -t devtmpfs devtmpfs /dev 2>/dev/null || true
/bin/busybox mount -t tmpfs tmpfs /tmp || true
/bin/busybox --install -s /bin || true

# Count online CPUs from a list such as "0", "0-3" or "0,2-3".
count_cpus() {
	n=0
	list=$(cat /sys/devices/system/cpu/online 2>/dev/null) || list=0
	old_ifs=$IFS
	IFS=,
	for r in $list; do
		case $r in
		*-*) n=$((n + ${r#*-} - ${r%-*} + 1)) ;;
		'') ;;
		*) n=$((n + 1)) ;;
		esac
	done
	IFS=$old_ifs
	echo "$n"
}

# Sum the "System RAM" ranges the firmware (the VMM) handed over: exact, unlike MemTotal.
ram_kb() {
	total=0
	for d in /sys/firmware/memmap/*; do
		[ -r "$d/type" ] || continue
		read -r type <"$d/type" || continue
		[ "$type" = "System RAM" ] || continue
		read -r start <"$d/start" || continue
		read -r end <"$d/end" || continue
		total=$((total + end - start + 1))
	done
	# No firmware memory map (arm64: RAM comes from the device tree): the top-level
	# "System RAM" ranges of /proc/iomem.
	if [ "$total" = 0 ]; then
		while IFS= read -r line; do
			case $line in
			" "*) continue ;;
			*": System RAM") ;;
			*) continue ;;
			esac
			range=${line%% :*}
			total=$((total + 0x${range#*-} - 0x${range%-*} + 1))
		done </proc/iomem
	fi
	echo $((total / 1024))
}

# Value of kvmm.test= on the kernel command line (the kernel keeps dotted parameters from init).
test_param() {
	for w in $(cat /proc/cmdline || true); do
		case $w in
		kvmm.test=*) echo "${w#kvmm.test=}"; return ;;
		esac
	done
}

# The virtio drivers (modules in Debian's kernel), in dependency order. A module that does not
# load is reported, not fatal: the scenarios that need it fail on their own checks.
if [ -f /lib/modules/kvmm.order ]; then
	while read -r ko; do
		insmod "/lib/modules/$ko" 2>/dev/null || echo "KVMM-GUEST-INSMOD-FAILED $ko"
	done </lib/modules/kvmm.order
fi

# kvmm.acpid=1: act on the power button (kvmm's vm.power-button: x86_64 ACPI GED -> \_SB.PWRB
# -> button.ko, aarch64 PL061 line -> gpio_keys.ko; both report KEY_POWER on an evdev node).
# busybox acpid's built-in tables map KEY_POWER to PWRF/00000080 and run
# /etc/acpi/PWRF/00000080, which powers off. acpid opens the event nodes once, at start (so
# after the modules), then writes its pid file: waiting for that means a press right after the
# marker line is not missed. -d logs to the console (and keeps it in front).
if grep -q 'kvmm.acpid=1' /proc/cmdline; then
	mkdir -p /etc/acpi/PWRF
	printf '#!/bin/sh\necho KVMM-GUEST-POWER-BUTTON\nexec poweroff -f\n' >/etc/acpi/PWRF/00000080
	chmod 0755 /etc/acpi/PWRF/00000080
	if [ -e /dev/input/event0 ]; then
		acpid -d -c /etc/acpi -p /run/acpid.pid &
		n=0
		while [ ! -e /run/acpid.pid ] && [ $n -lt 50 ]; do sleep 0.1; n=$((n + 1)); done
		[ -e /run/acpid.pid ] || echo "KVMM-GUEST-ACPID-FAILED"
	else
		echo "KVMM-GUEST-ACPID-FAILED no /dev/input/event0 (evdev.ko, button.ko or gpio_keys.ko?)"
	fi
fi

# The boot timer (kvmm's devices/boot_timer.h, as Firecracker's): the magic byte 123 at
# I/O port 0x3f0 on x86_64 (through /dev/port), at 0x09040000 on arm64 (through /dev/mem):
# kvmm then logs how long its set-up and the guest each took to get here. Elsewhere (QEMU)
# the write lands on nothing.
case $(uname -m) in
x86_64) printf '\173' | dd of=/dev/port bs=1 seek=1008 count=1 conv=notrunc 2>/dev/null ;;
aarch64) devmem 0x09040000 8 123 2>/dev/null ;;
esac
echo "KVMM-GUEST-UP cpus=$(count_cpus) ram_kb=$(ram_kb)"

# Boots the root device of root=/dev/... (see the top): switch_root, or KVMM-ROOT-FAIL and a
# poweroff; never returns.
root_fail() {
	echo "KVMM-ROOT-FAIL $*"
	poweroff -f || true
	while :; do sleep 3600; done
}
switch_to_root() {
	root=$1
	fstype=ext4
	flags=
	mode=ro
	rinit=/sbin/init
	for w in $(cat /proc/cmdline || true); do
		case $w in
		rootfstype=*) fstype=${w#rootfstype=} ;;
		rootflags=*) flags=${w#rootflags=} ;;
		ro) mode=ro ;;
		rw) mode=rw ;;
		init=*) rinit=${w#init=} ;;
		esac
	done
	case $root in
	/dev/?*) ;;
	*) root_fail "root=$root: only root=/dev/NAME is supported" ;;
	esac
	if [ -f /lib/modules/kvmm-root.order ]; then
		while read -r ko; do
			insmod "/lib/modules/$ko" 2>/dev/null || echo "KVMM-GUEST-INSMOD-FAILED $ko"
		done </lib/modules/kvmm-root.order
	fi
	n=0
	while [ ! -b "$root" ] && [ $n -lt 200 ]; do
		sleep 0.05
		n=$((n + 1))
	done
	[ -b "$root" ] || root_fail "no block device $root after 10 s"
	mkdir -p /newroot || root_fail "mkdir /newroot"
	err=$(mount -t "$fstype" -o "$mode${flags:+,$flags}" "$root" /newroot 2>&1) ||
		root_fail "mount -t $fstype -o $mode${flags:+,$flags} $root: $err"
	# What it got: busybox mount falls back to ro on a write-protected device.
	got=$(awk '$2 == "/newroot" { split($4, o, ","); m = o[1] } END { print m }' /proc/mounts)
	[ -n "$got" ] && mode=$got
	if [ ! -x "/newroot$rinit" ] && [ ! -L "/newroot$rinit" ]; then
		umount /newroot || true
		root_fail "no $rinit on $root"
	fi
	# The pseudo file systems go along where the new root has the directories; /tmp is
	# dropped with the initramfs.
	for d in dev proc sys; do
		if [ -d "/newroot/$d" ]; then
			mount -o move "/$d" "/newroot/$d" || echo "KVMM-GUEST-MOVE-FAILED /$d"
		fi
	done
	umount /tmp 2>/dev/null || true
	command -v switch_root >/dev/null || root_fail "no switch_root applet"
	echo "KVMM-ROOT dev=$root fstype=$fstype mode=$mode"
	# switch_root needs PID 1 (this shell, not a subshell); if it fails after all, init exits
	# and the kernel panics (panic=1: a reboot, the end of the VM for a VMM that reports it).
	exec switch_root /newroot "$rinit"
}

# root= on the command line (the kernel leaves it there even though it does not use it).
root=
for w in $(cat /proc/cmdline || true); do
	case $w in
	root=*) root=${w#root=} ;;
	esac
done
if [ -n "$root" ]; then
	switch_to_root "$root"
fi

t=$(test_param)
case $t in
'' | poweroff) ;;
reboot) reboot -f || true ;;
hang) while :; do sleep 3600; done ;;
*)
	if [ -x "/kvmm/tests/$t" ]; then
		rc=0
		"/kvmm/tests/$t" || rc=$?
		echo "KVMM-GUEST-TEST $t exit=$rc"
	else
		echo "KVMM-GUEST-TEST $t exit=127 (no such test)"
	fi
	;;
esac
poweroff -f || true
# poweroff -f only returns if the kernel could not power off; do not let init exit (panic).
while :; do sleep 3600; done
