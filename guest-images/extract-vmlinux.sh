#!/bin/sh
# Extracts the ELF vmlinux from an x86 bzImage: reads payload_offset/payload_length from the
# boot protocol setup header (>= 2.08), detects the compression by its magic, decompresses and
# checks that the result is an x86-64 ELF. Used by build.sh to make the PVH-bootable vmlinux.
# Usage: extract-vmlinux.sh BZIMAGE OUTPUT
set -eu

die() { echo "extract-vmlinux: $*" >&2; exit 1; }

[ $# -eq 2 ] || die "usage: extract-vmlinux.sh BZIMAGE OUTPUT"
in=$1
out=$2
[ -f "$in" ] || die "$in: no such file"

# Unsigned little-endian integer of $2 bytes at offset $1 of $in.
le() { od -An -t "u$2" -j "$1" -N "$2" "$in" | tr -d ' \n'; }
# Hex bytes at offset $1, count $2, of file $3, as one string.
hexat() { od -An -tx1 -j "$1" -N "$2" "$3" | tr -d ' \n'; }

[ "$(hexat 0x202 4 "$in")" = 48647253 ] || die "$in: no bzImage setup header (HdrS)"
version=$(le 0x206 2)
[ "$version" -ge $((0x208)) ] || die "$in: boot protocol $version too old for payload fields"
setup_sects=$(le 0x1f1 1)
[ "$setup_sects" -ne 0 ] || setup_sects=4
payload_offset=$(le 0x248 4)
payload_length=$(le 0x24c 4)
start=$(((setup_sects + 1) * 512 + payload_offset))
size=$(wc -c <"$in")
[ $((start + payload_length)) -le "$size" ] || die "$in: payload runs past the end of the file"

magic=$(hexat "$start" 6 "$in")
# The kernel build appends the decompressed size (4 bytes) to every format but gzip, whose
# trailer already ends with it; strip it so the decompressors see exactly one stream.
strip=4
case $magic in
1f8b*) fmt=gzip; strip=0; cmd="gzip -dc" ;;
fd377a585a00) fmt=xz; cmd="xz -dc" ;;
5d0000*) fmt=lzma; cmd="xz --format=lzma -dc" ;;
425a68*) fmt=bzip2; cmd="bzip2 -dc" ;;
02214c18*) fmt=lz4; cmd="lz4 -dc" ;;
28b52ffd*) fmt=zstd; cmd="zstd -dc" ;;
894c5a4f*) fmt=lzo; cmd="lzop -dc" ;;
7f454c46*) fmt=none; strip=0; cmd="cat" ;;
*) die "$in: unknown payload compression (magic $magic)" ;;
esac
tool=${cmd%% *}
command -v "$tool" >/dev/null 2>&1 || die "$fmt payload needs $tool (not installed)"

tmp="$out.tmp.$$"
trap 'rm -f "$tmp"' EXIT
# gzip exits 2 on a mere warning (trailing bytes); the ELF check below is the real test.
rc=0
tail -c +$((start + 1)) "$in" | head -c $((payload_length - strip)) | $cmd >"$tmp" || rc=$?
[ "$rc" -eq 0 ] || { [ "$fmt" = gzip ] && [ "$rc" -eq 2 ]; } || die "$fmt decompression failed ($rc)"

# ELF, 64-bit, little-endian, e_machine x86-64 (0x3e).
[ "$(hexat 0 6 "$tmp")" = 7f454c460201 ] || die "$in: payload ($fmt) is not a 64-bit LE ELF"
[ "$(hexat 18 2 "$tmp")" = 3e00 ] || die "$in: payload ELF is not x86-64"
mv "$tmp" "$out"
trap - EXIT
echo "extract-vmlinux: $fmt payload -> $out ($(wc -c <"$out") bytes)"
