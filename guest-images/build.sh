#!/bin/sh
# Builds the kvmm L2 test guest from Debian packages, without installing them:
#   OUTDIR/vmlinuz            x86_64: the bzImage of the kernel linux-image-amd64 depends on
#   OUTDIR/vmlinux            x86_64: the ELF vmlinux from the bzImage's payload (PVH boot)
#   OUTDIR/Image              aarch64: the arm64 Image of the kernel linux-image-arm64 depends on
#   OUTDIR/initramfs.cpio.gz  busybox + /init (guest-images/init.sh) + guest-images/tests/*
#   OUTDIR/bad-kernels/       garbage kernels for negative tests
#   OUTDIR/kernel-release     e.g. 6.1.0-56-amd64
#   OUTDIR/debian/linux/      the extracted kernel package (boot/, lib/modules/; the lab's L1
#                             kernel and KVM modules come from here)
# Cached: rebuilds only when the package versions or the guest-images scripts change.
# Usage: [GUEST_ARCH=aarch64] guest-images/build.sh OUTDIR   (needs apt-get, dpkg-deb, cpio, gzip, xz)
#   GUEST_ARCH  x86_64 (default) or aarch64 (packages of Debian's arm64 port, taken with apt's
#               own lists for that architecture: scripts/debian-pkgs.sh; guest tools built with
#               aarch64-linux-gnu-gcc)
set -eu

die() { echo "build.sh: $*" >&2; exit 1; }
[ $# -eq 1 ] || die "usage: guest-images/build.sh OUTDIR"
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$1"
out=$(cd "$1" && pwd)

arch=${GUEST_ARCH:-x86_64}
. "$here/../scripts/debian-pkgs.sh"
case $arch in
x86_64) deb_init amd64 "$out/debian/apt"; kernel=vmlinuz; cc=${GUEST_CC:-cc} ;;
aarch64) deb_init arm64 "$out/debian/apt"; kernel=Image; cc=${GUEST_CC:-aarch64-linux-gnu-gcc} ;;
*) die "GUEST_ARCH must be x86_64 or aarch64, not $arch" ;;
esac
meta=linux-image-$DEB_ARCH

kernel_pkg() {
	deb_apt_cache depends "$meta" 2>/dev/null |
		sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*\)$/\1/p' | head -n 1
}
# "kver bver": candidate versions of the kernel package and busybox-static (one apt-cache call).
candidates() {
	deb_apt_cache policy "$1" busybox-static 2>/dev/null | awk -v k="$1" '
		/^[^ ]/ { pkg = $1; sub(/:$/, "", pkg) }
		/^ *Candidate:/ { v[pkg] = $2 }
		END { print (v[k] == "" ? "-" : v[k]), (v["busybox-static"] == "" ? "-" : v["busybox-static"]) }'
}

kpkg=$(kernel_pkg)
if [ -z "$kpkg" ]; then
	echo "build.sh: package lists lack $meta; running apt-get update" >&2
	# shellcheck disable=SC2086
	timeout 300 apt-get $DEB_OPTS update -qq >&2 || echo "build.sh: apt-get update failed" >&2
	kpkg=$(kernel_pkg)
fi
kver=
bver=
if [ -n "$kpkg" ]; then
	set -- $(candidates "$kpkg")
	kver=$1
	bver=$2
	case "$kver $bver" in *-\ * | *\ - | *"(none)"*) kver= ;; esac
fi

# Hash of everything of ours that goes into the images (this script, init, extractor, tests).
scripts_hash=$(cd "$here" && { ls build.sh init.sh extract-vmlinux.sh; find tests tools -type f 2>/dev/null; } |
	LC_ALL=C sort | xargs cat | sha256sum | cut -c1-16)
scripts_hash=$(cat "$here/../scripts/debian-pkgs.sh" | sha256sum | cut -c1-8)$scripts_hash
stamp="arch=$arch kernel=$kpkg $kver busybox-static=$bver scripts=$scripts_hash"

outputs_ok() {
	[ -s "$out/$kernel" ] && { [ "$arch" != x86_64 ] || [ -s "$out/vmlinux" ]; } &&
		[ -s "$out/initramfs.cpio.gz" ] &&
		[ -s "$out/kernel-release" ] && [ -d "$out/bad-kernels" ]
}

if [ -z "$kpkg" ] || [ -z "$kver" ]; then
	# No apt metadata (offline?): an earlier build is still good enough.
	if outputs_ok && [ -f "$out/.stamp" ]; then
		echo "build.sh: cannot resolve $meta; reusing cached images ($(cat "$out/.stamp"))" >&2
		exit 0
	fi
	die "cannot resolve the kernel package of $meta (apt-get update?)"
fi

if outputs_ok && [ -f "$out/.stamp" ] && [ "$(cat "$out/.stamp")" = "$stamp" ]; then
	echo "build.sh: guest images up to date in $out"
	exit 0
fi

echo "build.sh: building guest images in $out ($stamp)"
rm -f "$out/.stamp"
debs="$out/debian/debs"
mkdir -p "$debs"

fetch() { deb_fetch "$1" "$2" "$debs" || die "cannot download $1=$2"; }
kdeb=$(fetch "$kpkg" "$kver")
bdeb=$(fetch busybox-static "$bver")

rm -rf "$out/debian/linux" "$out/debian/busybox"
timeout 300 dpkg-deb -x "$kdeb" "$out/debian/linux"
timeout 120 dpkg-deb -x "$bdeb" "$out/debian/busybox"

release=${kpkg#linux-image-}
[ -f "$out/debian/linux/boot/vmlinuz-$release" ] || die "no boot/vmlinuz-$release in $kdeb"
[ -d "$out/debian/linux/lib/modules/$release" ] || die "no lib/modules/$release in $kdeb"
busybox="$out/debian/busybox/bin/busybox"
[ -x "$busybox" ] || die "no bin/busybox in $bdeb"

cp "$out/debian/linux/boot/vmlinuz-$release" "$out/$kernel"
if [ "$arch" = x86_64 ]; then
	timeout 120 "$here/extract-vmlinux.sh" "$out/vmlinuz" "$out/vmlinux"
fi

# The initramfs: busybox (applet links made by /init) + /init + optional guest test programs.
stage="$out/.initramfs"
rm -rf "$stage"
mkdir -p "$stage/bin" "$stage/sbin" "$stage/usr/bin" "$stage/usr/sbin" "$stage/proc" \
	"$stage/sys" "$stage/dev" "$stage/tmp" "$stage/run" "$stage/etc" "$stage/kvmm/tests"
cp "$busybox" "$stage/bin/busybox"
ln -s busybox "$stage/bin/sh"
cp "$here/init.sh" "$stage/init"
chmod 0755 "$stage/init"
# The virtio drivers, virtio-fs (fuse, then virtiofs) and the power button's (evdev; ACPI
# button on x86_64, gpio-keys on aarch64), which Debian builds as modules, in load
# (dependency) order; /init loads them from /lib/modules/kvmm.order (busybox insmod does not
# resolve dependencies).
mods="drivers/virtio/virtio_ring.ko drivers/virtio/virtio.ko drivers/virtio/virtio_mmio.ko
drivers/virtio/virtio_pci_legacy_dev.ko drivers/virtio/virtio_pci_modern_dev.ko
drivers/virtio/virtio_pci.ko
drivers/block/virtio_blk.ko drivers/char/hw_random/virtio-rng.ko net/core/failover.ko
drivers/net/net_failover.ko drivers/net/virtio_net.ko net/vmw_vsock/vsock.ko
net/vmw_vsock/vmw_vsock_virtio_transport_common.ko net/vmw_vsock/vmw_vsock_virtio_transport.ko
fs/fuse/fuse.ko fs/fuse/virtiofs.ko
drivers/input/evdev.ko drivers/input/keyboard/gpio_keys.ko drivers/acpi/button.ko"
mkdir -p "$stage/lib/modules"
: >"$stage/lib/modules/kvmm.order"
for m in $mods; do
	src="$out/debian/linux/lib/modules/$release/kernel/$m"
	if [ ! -f "$src" ]; then
		# Built into this kernel (arm64 has some of them built in)?
		grep -q "kernel/${m%.ko}.ko" "$out/debian/linux/lib/modules/$release/modules.builtin" 2>/dev/null ||
			die "module $m missing from the kernel package"
		continue
	fi
	cp "$src" "$stage/lib/modules/"
	basename "$m" >>"$stage/lib/modules/kvmm.order"
done
# Static test tools (guest-images/tools/*.c) for what busybox lacks, in /kvmm/bin.
mkdir -p "$stage/kvmm/bin"
for c in "$here"/tools/*.c; do
	[ -f "$c" ] || continue
	$cc -static -Os -Wall -Werror -o "$stage/kvmm/bin/$(basename "$c" .c)" "$c" ||
		die "cannot build guest tool $c"
done
if [ -d "$here/tests" ]; then
	for t in "$here"/tests/*; do
		[ -f "$t" ] && [ -x "$t" ] || continue
		cp "$t" "$stage/kvmm/tests/"
	done
fi
(cd "$stage" && find . | LC_ALL=C sort | timeout 120 cpio -o -H newc -R 0:0 --quiet) |
	gzip -9 >"$out/initramfs.cpio.gz.tmp"
mv "$out/initramfs.cpio.gz.tmp" "$out/initramfs.cpio.gz"
rm -rf "$stage"

# Garbage kernels: each must be refused before the guest runs.
bad="$out/bad-kernels"
rm -rf "$bad"
mkdir -p "$bad"
: >"$bad/empty"
head -c 100 /dev/urandom >"$bad/random-100"
head -c 4096 "$out/$kernel" >"$bad/truncated-4k"
head -c $(($(wc -c <"$out/$kernel") / 2)) "$out/$kernel" >"$bad/truncated-half"

echo "$release" >"$out/kernel-release"
echo "$stamp" >"$out/.stamp"
echo "build.sh: done ($arch): $kernel $(wc -c <"$out/$kernel") B," \
	"initramfs.cpio.gz $(wc -c <"$out/initramfs.cpio.gz") B"
