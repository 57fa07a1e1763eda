#!/bin/sh
# Builds the cached base initrd of the lab's L1 machine: busybox, the modules of the
# guest-images kernel it needs (x86_64: kvm-amd; both: tun; with what they depend on, in load
# order), QEMU with its libraries (and on x86_64 its firmware) for the side-by-side
# benchmark, and virtiofsd (QEMU's C vhost-user-fs back-end, /usr/lib/qemu/virtiofsd) with its
# libraries for the virtio-fs scenarios: the host's on x86_64, Debian's arm64 builds for an
# arm64 L1 (l1-qemu-arm64.sh).
# The L1 /init,
# kvmm and the scenarios come in a small archive appended per run (see run-lab.sh).
# Usage: [LAB_ARCH=aarch64] tests/lab/l1-initrd.sh GUEST_IMAGES_DIR OUTPUT.cpio.zst
#   GUEST_IMAGES_DIR is the output of guest-images/build.sh (kernel package extracted there).
# Rebuilds only when the kernel, busybox, QEMU (virtiofsd) or this script change (OUTPUT.stamp).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

[ $# -eq 2 ] || lab_die "usage: l1-initrd.sh GUEST_IMAGES_DIR OUTPUT.cpio.zst"
guest=$(cd "$1" && pwd)
out=$2
mkdir -p "$(dirname "$out")"

release=$(cat "$guest/kernel-release")
moddir="$guest/debian/linux/lib/modules/$release"
busybox="$guest/debian/busybox/bin/busybox"
arch=${LAB_ARCH:-x86_64}
if [ "$arch" = x86_64 ]; then
	qemu=$(command -v qemu-system-x86_64) || lab_die "qemu-system-x86_64 not installed"
	qemu_version=$(dpkg-query -W -f='${Version}' qemu-system-x86 2>/dev/null || "$qemu" --version | head -n 1)
	virtiofsd=/usr/lib/qemu/virtiofsd
	[ -x "$virtiofsd" ] || lab_die "no $virtiofsd (install qemu-system-common)"
	qemu_version="$qemu_version virtiofsd=$(dpkg-query -W -f='${Version}' qemu-system-common 2>/dev/null ||
		lab_hash "$virtiofsd")"
else
	# Debian's arm64 QEMU and virtiofsd with their libraries (tests/lab/l1-qemu-arm64.sh, cached
	# in qemu-arm64/ beside OUTPUT), staged before the stamp: the stamp names its packages'
	# versions.
	qemu=
	qemu_arm64="$out.qemu"
	trap 'rm -rf "$qemu_arm64"' EXIT
	rm -rf "$qemu_arm64"
	"$here/l1-qemu-arm64.sh" "$qemu_arm64" "$(dirname "$out")/qemu-arm64" ||
		lab_die "cannot stage the arm64 QEMU (tests/lab/l1-qemu-arm64.sh)"
	qemu_version=$(cat "$(dirname "$out")/qemu-arm64/stage.stamp")
fi
bios=/usr/share/seabios/bios-256k.bin
# Option ROMs QEMU loads for -kernel (linuxboot_dma; pvh for an ELF kernel) and for KVM's TPR
# patching (kvmvapic).
roms="/usr/share/qemu/linuxboot_dma.bin /usr/share/qemu/linuxboot.bin /usr/share/qemu/kvmvapic.bin
	/usr/share/qemu/pvh.bin /usr/share/qemu/qboot.rom"
[ -d "$moddir" ] || lab_die "no $moddir (run guest-images/build.sh first)"
[ -z "$qemu" ] || [ -f "$bios" ] || lab_die "no $bios (install seabios)"

stamp="arch=$arch guest=$(cat "$guest/.stamp") qemu=$qemu_version script=$(lab_hash "$0" "$here/lib.sh")"
if [ -s "$out" ] && [ -f "$out.stamp" ] && [ "$(cat "$out.stamp")" = "$stamp" ]; then
	echo "l1-initrd: up to date: $out"
	exit 0
fi
echo "l1-initrd: building $out"
rm -f "$out.stamp"

stage="$out.stage"
rm -rf "$stage"
mkdir -p "$stage/bin" "$stage/sbin" "$stage/usr/bin" "$stage/usr/sbin" "$stage/proc" \
	"$stage/sys" "$stage/dev" "$stage/tmp" "$stage/run" "$stage/etc" "$stage/lab/l1/modules"
cp "$busybox" "$stage/bin/busybox"
ln -s busybox "$stage/bin/sh"

# --- Modules: kvm-amd (QEMU -cpu max offers SVM), tun, vhost_vsock, and their dependencies,
# deps first. ---
index="$stage/lab/l1/.index"
find "$moddir/kernel" -name '*.ko' -o -name '*.ko.xz' -o -name '*.ko.zst' >"$index"
# Path of module $1 ("-" and "_" are the same in module names).
modpath() {
	n=$(echo "$1" | tr _ -)
	grep -E "/($(echo "$n" | sed 's/-/[-_]/g'))\.ko(\.xz|\.zst)?$" "$index" | head -n 1
}
moddeps() {
	if command -v modinfo >/dev/null 2>&1; then
		modinfo -F depends "$1"
	else
		case $1 in
		*.xz) xz -dc "$1" ;; *.zst) zstd -dc "$1" ;; *) cat "$1" ;;
		esac | strings | sed -n 's/^depends=//p'
	fi
}
order=
seen=" "
visit() {
	case $seen in *" $1 "*) return ;; esac
	seen="$seen$1 "
	p=$(modpath "$1")
	[ -n "$p" ] || lab_die "module $1 not found under $moddir"
	for d in $(moddeps "$p" | tr , ' '); do visit "$d"; done
	order="$order $1"
}
[ "$arch" != x86_64 ] || visit kvm-amd	# arm64: KVM is built into Debian's kernel
visit tun	# TAPs for the virtio-net scenarios
visit vhost_vsock	# QEMU's vsock (/dev/vhost-vsock) beside kvmm's in the sandbox scenario
i=0
: >"$stage/lab/l1/modules.order"
for m in $order; do
	i=$((i + 1))
	p=$(modpath "$m")
	dst="$stage/lab/l1/modules/$(printf %02d $i)-$m.ko"
	case $p in
	*.xz) xz -dc "$p" >"$dst" ;; *.zst) zstd -q -dc "$p" >"$dst" ;; *) cp "$p" "$dst" ;;
	esac
	echo "/lab/l1/modules/$(basename "$dst")" >>"$stage/lab/l1/modules.order"
done
rm -f "$index"
echo "l1-initrd: modules:$order"

# --- QEMU, for the benchmark against kvmm inside L1, and virtiofsd. ---
if [ -n "$qemu" ]; then
	lab_copy_binary "$qemu" "$stage" /usr/bin/qemu-system-x86_64
	lab_copy_binary "$virtiofsd" "$stage" "$virtiofsd"
	lab_copy_at "$bios" "$stage"
	for r in $roms; do [ -e "$r" ] && lab_copy_at "$r" "$stage"; done
elif [ -d "${qemu_arm64:-}" ]; then
	cp -R "$qemu_arm64/." "$stage/"	# qemu-system-aarch64, virtiofsd, the loader, libraries
fi

lab_pack "$stage" "$out" zstd
rm -rf "$stage"
echo "$stamp" >"$out.stamp"
echo "l1-initrd: done: $out ($(wc -c <"$out") bytes)"
