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
	lab_copy_foreign_libs "$1" "$2"
}

# The directories that hold an arm64 binary's libraries on a host of another architecture, in
# the order searched: Debian's arm64 libraries staged for the arm64 L1's QEMU (so that what is
# already in L1 is copied again unchanged), the cross sysroot (scripts/cross-sysroot.sh: libfdt,
# jansson, libseccomp) and the cross compiler's own (libasan, libubsan).
lab_foreign_libdirs() {
	_c=${KVMM_CACHE:-${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/kvmm}
	echo "$_c/l1-aarch64/qemu-arm64/stage/lib/aarch64-linux-gnu" \
		"$_c/l1-aarch64/qemu-arm64/stage/usr/lib/aarch64-linux-gnu" \
		"$_c/l1-aarch64/qemu-arm64/stage/lib" \
		"$_c/cross-aarch64/sysroot/usr/lib/aarch64-linux-gnu" /usr/aarch64-linux-gnu/lib
}

# For a dynamic arm64 binary on another host (ldd cannot read it: a cross-built kvmm with
# sanitizers), copies into STAGE=$2 the libraries it needs (DT_NEEDED, read with readelf,
# recursively) at /lib/aarch64-linux-gnu/ and its program interpreter at its own path. Does
# nothing for a static binary or one of this host's architecture.
lab_copy_foreign_libs() {
	[ "$(uname -m)" != aarch64 ] || return 0
	readelf -h "$1" 2>/dev/null | grep -q 'Machine:.*AArch64' || return 0
	_interp=$(readelf -l "$1" | sed -n 's/.*Requesting program interpreter: \(.*\)]$/\1/p')
	[ -n "$_interp" ] || return 0
	_todo="$1 $(lab_foreign_find "$(basename "$_interp")")" || return 1
	mkdir -p "$2$(dirname "$_interp")" "$2/lib/aarch64-linux-gnu"
	cp -L "${_todo#* }" "$2$_interp"
	_done=" $(basename "$_interp") "
	_todo=${_todo%% *}
	while [ -n "$_todo" ]; do
		_f=${_todo%%
*}
		[ "$_f" = "$_todo" ] && _todo= || _todo=${_todo#*
}
		for _so in $(readelf -d "$_f" | sed -n 's/.*(NEEDED).*\[\(.*\)\]$/\1/p'); do
			case $_done in *" $_so "*) continue ;; esac
			_p=$(lab_foreign_find "$_so") || return 1
			cp -L "$_p" "$2/lib/aarch64-linux-gnu/$_so"
			_done="$_done$_so "
			_todo="${_todo:+$_todo
}$_p"
		done
	done
}

# The path of arm64 library $1 in lab_foreign_libdirs, or a complaint and failure.
lab_foreign_find() {
	for _d in $(lab_foreign_libdirs); do
		if [ -e "$_d/$1" ]; then
			echo "$_d/$1"
			return 0
		fi
	done
	echo "lab: no arm64 $1 in: $(lab_foreign_libdirs)" >&2
	return 1
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
