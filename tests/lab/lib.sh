#!/bin/sh
# Helpers shared by the host side of the lab (run-lab.sh, l1-initrd.sh, demo.sh): sourced, not
# run. Copying a binary with its libraries into a staging tree, packing a staging tree into a
# compressed newc cpio, and telling whether this host has a usable /dev/kvm.

lab_die() { echo "lab: $*" >&2; exit 1; }

# The libraries `ldd` names for $1 (absolute paths), one a line; nothing for a static binary.
lab_libs_of() {
	ldd "$1" 2>/dev/null | awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^\//) print $i }' |
		LC_ALL=C sort -u
}

# Copies file $1 to STAGE=$2 at the same absolute path, following links (cp -L).
lab_copy_at() {
	mkdir -p "$2$(dirname "$1")"
	cp -L "$1" "$2$1"
}

# Copies binary $1 to $2/$3 (a path inside the stage) and every library it needs at the
# library's own path.
lab_copy_binary() {
	mkdir -p "$2$(dirname "$3")"
	cp -L "$1" "$2$3"
	chmod 0755 "$2$3"
	for lib in $(lab_libs_of "$1"); do
		lab_copy_at "$lib" "$2"
	done
}

# Packs directory $1 into a cpio (newc, owned by root) compressed with $3 (gzip|zstd) into $2.
lab_pack() {
	case $3 in
	gzip) z="gzip -6" ;;
	zstd) z="zstd -q -3 -T0" ;;
	*) lab_die "lab_pack: unknown compression $3" ;;
	esac
	(cd "$1" && find . | LC_ALL=C sort | timeout 300 cpio -o -H newc -R 0:0 --quiet) |
		timeout 300 $z >"$2.tmp"
	mv "$2.tmp" "$2"
}

# True when /dev/kvm exists and this user can open it read-write.
lab_have_kvm() {
	[ -c /dev/kvm ] || return 1
	(exec 3<>/dev/kvm) 2>/dev/null
}

# True when this host's /dev/kvm can boot the test guest (directory $1) with QEMU, the
# referee: some nested set-ups offer a /dev/kvm on which Linux never gets past its first
# instructions (seen: QEMU's vCPU spinning in the host kernel). Those get the L1 lab.
lab_host_kvm_boots() {
	lab_have_kvm || return 1
	command -v qemu-system-x86_64 >/dev/null 2>&1 || return 1
	timeout -s KILL 30 qemu-system-x86_64 -M pc -nodefaults -enable-kvm -cpu host -m 256M \
		-nographic -serial stdio -no-reboot -kernel "$1/vmlinuz" -initrd "$1/initramfs.cpio.gz" \
		-append "console=ttyS0 quiet panic=-1 kvmm.test=poweroff" </dev/null 2>/dev/null |
		grep -q KVMM-GUEST-UP
}

# Hash (16 hex digits) of the contents of the given files.
lab_hash() { cat "$@" | sha256sum | cut -c1-16; }
