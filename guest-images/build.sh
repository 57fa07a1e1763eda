#!/bin/sh
# Builds the kvmm L2 test guest from Debian packages, without installing them:
#   OUTDIR/vmlinuz            x86_64: the bzImage of the kernel linux-image-amd64 depends on
#   OUTDIR/vmlinux            x86_64: the ELF vmlinux from the bzImage's payload (PVH boot)
#   OUTDIR/Image              aarch64: the arm64 Image of the kernel linux-image-arm64 depends on
#   OUTDIR/initramfs.cpio.gz  busybox + /init (guest-images/init.sh) + guest-images/tests/*
#   OUTDIR/kata-image.raw     a Kata-like guest image: an MBR-partitioned disk, one partition
#                             (from 1 MiB) with an ext4 root whose /sbin/init is kata-agent
#                             (tools/kata-agent.c); booted with the initramfs and
#                             root=/dev/vda1 rootfstype=ext4 ro ...
#   OUTDIR/kata-volume.img    a small ext4 file system (no partition table) holding /hello.txt
#   OUTDIR/kata-volume.txt    the content of that /hello.txt (names the build's stamp)
#   OUTDIR/bad-kernels/       garbage kernels for negative tests
#   OUTDIR/kernel-release     e.g. 6.1.0-56-amd64
#   OUTDIR/debian/linux/      the extracted kernel package (boot/, lib/modules/; the lab's L1
#                             kernel and KVM modules come from here)
# Cached: rebuilds only when the package versions or the guest-images scripts change.
# Usage: [GUEST_ARCH=aarch64] guest-images/build.sh OUTDIR
#   (needs apt-get, dpkg-deb, cpio, gzip, xz and e2fsprogs' mkfs.ext4, e2fsck, debugfs; no root)
#   GUEST_ARCH  x86_64 (default) or aarch64 (packages of Debian's arm64 port, taken with apt's
#               own lists for that architecture: scripts/debian-pkgs.sh; guest tools built with
#               aarch64-linux-gnu-gcc)
set -eu

die() { echo "build.sh: $*" >&2; exit 1; }
# mkfs.ext4 and friends live in /sbin, which an unprivileged user's PATH may lack.
PATH=$PATH:/usr/sbin:/sbin
export PATH
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
		[ -s "$out/kernel-release" ] && [ -d "$out/bad-kernels" ] &&
		[ -s "$out/kata-image.raw" ] && [ -s "$out/kata-volume.img" ] &&
		[ -s "$out/kata-volume.txt" ]
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
for t in mkfs.ext4 e2fsck debugfs; do
	command -v $t >/dev/null ||
		die "no $t: the Kata-like images need e2fsprogs (apt-get install e2fsprogs)"
done
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
# resolve dependencies). kvmm-root.order: the file system of a root= device (ext4 and what it
# needs; crc32c for metadata_csum, which the kernel would otherwise ask /sbin/modprobe for),
# loaded by /init only when it switches to one.
mods="drivers/virtio/virtio_ring.ko drivers/virtio/virtio.ko drivers/virtio/virtio_mmio.ko
drivers/virtio/virtio_pci_legacy_dev.ko drivers/virtio/virtio_pci_modern_dev.ko
drivers/virtio/virtio_pci.ko
drivers/block/virtio_blk.ko drivers/char/hw_random/virtio-rng.ko net/core/failover.ko
drivers/net/net_failover.ko drivers/net/virtio_net.ko net/vmw_vsock/vsock.ko
net/vmw_vsock/vmw_vsock_virtio_transport_common.ko net/vmw_vsock/vmw_vsock_virtio_transport.ko
fs/fuse/fuse.ko fs/fuse/virtiofs.ko
drivers/input/evdev.ko drivers/input/keyboard/gpio_keys.ko drivers/acpi/button.ko"
rootmods="crypto/crc32c_generic.ko lib/crc16.ko fs/mbcache.ko fs/jbd2/jbd2.ko fs/ext4/ext4.ko"
mkdir -p "$stage/lib/modules"
# add_modules ORDERFILE MODULES: copies them into the initramfs and lists them in ORDERFILE.
add_modules() {
	: >"$stage/lib/modules/$1"
	for m in $2; do
		src="$out/debian/linux/lib/modules/$release/kernel/$m"
		if [ ! -f "$src" ]; then
			# Built into this kernel (arm64 has some of them built in)?
			grep -q "kernel/${m%.ko}.ko" "$out/debian/linux/lib/modules/$release/modules.builtin" 2>/dev/null ||
				die "module $m missing from the kernel package"
			continue
		fi
		cp "$src" "$stage/lib/modules/"
		basename "$m" >>"$stage/lib/modules/$1"
	done
}
add_modules kvmm.order "$mods"
add_modules kvmm-root.order "$rootmods"
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

# The Kata-like guest image: a raw disk with an MBR (written here: no sfdisk needed), one Linux
# partition from 1 MiB to the end, and in it an ext4 root made by mkfs.ext4 -d at that offset
# (no root rights, loop device or mount). /sbin/init is the agent stand-in; busybox is there
# to look around; /dev, /proc, /sys, /run and /tmp are mount points (the root is mounted ro).
kimg="$out/kata-image.raw"
kimg_mib=32
kpart_lba=2048
kpart_sectors=$((kimg_mib * 2048 - kpart_lba))
kroot="$out/.kata-root"
rm -rf "$kroot" "$kimg.tmp"
mkdir -p "$kroot/sbin" "$kroot/bin" "$kroot/etc" "$kroot/proc" "$kroot/sys" "$kroot/dev" \
	"$kroot/run" "$kroot/tmp" "$kroot/mnt"
chmod 1777 "$kroot/tmp"
cp "$stage/kvmm/bin/kata-agent" "$kroot/sbin/init"
cp "$busybox" "$kroot/bin/busybox"
ln -s busybox "$kroot/bin/sh"
{
	echo 'NAME="kvmm Kata-like guest image"'
	echo "PRETTY_NAME=\"kvmm Kata-like guest image ($arch)\""
	echo 'ID=kvmm-kata'
	echo "VERSION_ID=$(echo "$stamp" | sha256sum | cut -c1-16)"
} >"$kroot/etc/os-release"
rm -rf "$stage"

# le32 N: N as four little-endian byte values; chs LBA: the three CHS bytes of an MBR entry
# (255 heads, 63 sectors; 254 255 255 from cylinder 1024 on, as fdisk writes them).
le32() { echo $(($1 & 255)) $(($1 >> 8 & 255)) $(($1 >> 16 & 255)) $(($1 >> 24 & 255)); }
chs() {
	if [ "$1" -ge $((1024 * 255 * 63)) ]; then
		echo 254 255 255
	else
		echo $(($1 / 63 % 255)) $(($1 % 63 + 1 | ($1 / (255 * 63) >> 2 & 192))) \
			$(($1 / (255 * 63) & 255))
	fi
}
# The partition entry: not active, type 0x83 (Linux), first and last sector, LBA and size.
kentry="0 $(chs $kpart_lba) 131 $(chs $((kpart_lba + kpart_sectors - 1)))"
kentry="$kentry $(le32 $kpart_lba) $(le32 $kpart_sectors)"
dd if=/dev/zero of="$kimg.tmp" bs=1048576 count=0 seek="$kimg_mib" status=none ||
	die "cannot create $kimg.tmp"
kagent_size=$(wc -c <"$kroot/sbin/init")
mkfs.ext4 -q -F -L kata-root -b 4096 -E offset=$((kpart_lba * 512)) -d "$kroot" "$kimg.tmp" \
	$((kpart_sectors / 8)) || die "mkfs.ext4 of the Kata-like root failed"
rm -rf "$kroot"
# From byte 440: disk signature "kvmm", 2 zero bytes, the entry, three empty ones, 0x55 0xaa.
# shellcheck disable=SC2059 # the format is the byte, as an octal escape
for b in 107 118 109 109 0 0 $kentry; do printf "\\$(printf %03o "$b")"; done >"$out/.mbr"
head -c 48 /dev/zero >>"$out/.mbr"
printf '\125\252' >>"$out/.mbr"
[ "$(wc -c <"$out/.mbr")" -eq 72 ] || die "MBR tail is $(wc -c <"$out/.mbr") bytes, not 72"
dd if="$out/.mbr" of="$kimg.tmp" bs=1 seek=440 conv=notrunc status=none || die "cannot write the MBR"
rm -f "$out/.mbr"

# The volume Kata's runtime hot-plugs: an ext4 file system on the whole (virtual) disk.
kvol="$out/kata-volume.img"
vstage="$out/.kata-volume"
rm -rf "$vstage" "$kvol.tmp"
mkdir -p "$vstage"
echo "kvmm kata-volume stamp=$(echo "$stamp" | sha256sum | cut -c1-16)" >"$out/kata-volume.txt.tmp"
cp "$out/kata-volume.txt.tmp" "$vstage/hello.txt"
dd if=/dev/zero of="$kvol.tmp" bs=1048576 count=0 seek=8 status=none || die "cannot create $kvol.tmp"
mkfs.ext4 -q -F -L kata-volume -b 4096 -d "$vstage" "$kvol.tmp" ||
	die "mkfs.ext4 of the Kata volume failed"
rm -rf "$vstage"

# Check both: the partition table as read back (and as sfdisk sees it, where there is one),
# the file systems (e2fsprogs take "FILE?offset=N"), the files.
if [ "$(od -An -tu1 -j446 -N16 "$kimg.tmp" | xargs)" != "$kentry" ] ||
	[ "$(od -An -tx1 -j510 -N2 "$kimg.tmp" | xargs)" != "55 aa" ]; then
	die "kata-image.raw: the MBR does not read back"
fi
if command -v sfdisk >/dev/null; then
	sfdisk -d "$kimg.tmp" 2>/dev/null | grep -q "start= *$kpart_lba, size= *$kpart_sectors, type=83" ||
		die "kata-image.raw: sfdisk does not see the partition"
fi
kfs="$kimg.tmp?offset=$((kpart_lba * 512))"
e2fsck -fn "$kfs" >/dev/null 2>&1 || die "kata-image.raw: e2fsck -fn of the root fails"
if [ "$(debugfs -R 'cat /sbin/init' "$kfs" 2>/dev/null | wc -c)" -ne "$kagent_size" ] ||
	! debugfs -R 'cat /etc/os-release' "$kfs" 2>/dev/null | grep -q 'kvmm Kata-like guest image'; then
	die "kata-image.raw: /sbin/init or /etc/os-release does not read back"
fi
e2fsck -fn "$kvol.tmp" >/dev/null 2>&1 || die "kata-volume.img: e2fsck -fn fails"
[ "$(debugfs -R 'cat /hello.txt' "$kvol.tmp" 2>/dev/null)" = "$(cat "$out/kata-volume.txt.tmp")" ] ||
	die "kata-volume.img: /hello.txt does not read back"
mv "$kimg.tmp" "$kimg"
mv "$kvol.tmp" "$kvol"
mv "$out/kata-volume.txt.tmp" "$out/kata-volume.txt"

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
