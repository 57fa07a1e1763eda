#!/bin/sh
# Stages Debian's arm64 qemu-system-aarch64 (package qemu-system-arm) for the aarch64 lab's L1,
# so its boot-time benchmark can compare kvmm with QEMU there as the x86_64 lab does, and
# Debian's arm64 virtiofsd (/usr/lib/qemu/virtiofsd, package qemu-system-common: QEMU's C
# vhost-user-fs back-end) for the virtio-fs scenarios. ldd cannot
# resolve arm64 binaries on an amd64 host, so the libraries are found by reading the ELF
# DT_NEEDED entries (readelf) recursively, and each one is taken out of the Debian package that
# provides it: the package of the object that needs it or its Depends/Pre-Depends (first
# alternative, a provider for a virtual package), breadth first. Nothing is installed and the
# host's dpkg architectures are not touched (scripts/debian-pkgs.sh keeps arm64's apt state in
# CACHE_DIR/apt). Only the two binaries, their libraries and the dynamic loader are staged:
# QEMU needs no data file (qemu-system-data: firmware of other machines, keymaps for VNC) and
# no module (the rest of qemu-system-common: GUI, audio, USB) for -M virt -kernel ...
# -nographic -nodefaults -enable-kvm -cpu host.
# Usage: tests/lab/l1-qemu-arm64.sh STAGE_DIR CACHE_DIR
#   STAGE_DIR gets usr/bin/qemu-system-aarch64, usr/lib/qemu/virtiofsd,
#   lib/ld-linux-aarch64.so.1 and the libraries at their run-time paths. CACHE_DIR keeps the downloaded packages (debs/), the staged tree
#   (stage/, stage.list: file and package) and stage.stamp (this script and the versions of the
#   packages used): when the stamp still matches, the cached tree is copied as it is.
set -eu

die() { echo "l1-qemu-arm64: $*" >&2; exit 1; }
[ $# -eq 2 ] || die "usage: tests/lab/l1-qemu-arm64.sh STAGE_DIR CACHE_DIR"
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
mkdir -p "$1" "$2"
dst=$(cd "$1" && pwd)
cache=$(cd "$2" && pwd)
top=qemu-system-arm
bin=/usr/bin/qemu-system-aarch64
# virtiofsd's package is a dependency of $top, so it is in the graph read below.
vfsd_pkg=qemu-system-common
vfsd=/usr/lib/qemu/virtiofsd

# GNU readelf reads the ELF of any architecture; the cross one is preferred all the same.
if command -v aarch64-linux-gnu-readelf >/dev/null 2>&1; then
	readelf=aarch64-linux-gnu-readelf
elif command -v readelf >/dev/null 2>&1; then
	readelf=readelf
else
	die "no readelf (install binutils-aarch64-linux-gnu)"
fi
command -v dpkg-deb >/dev/null 2>&1 || die "no dpkg-deb"

. "$root/scripts/debian-pkgs.sh"
deb_init arm64 "$cache/apt"

script_hash=$(cat "$0" "$root/scripts/debian-pkgs.sh" | sha256sum | cut -c1-16)

# "PKG=candidate" for each package named, in the order given (nothing for an unknown one).
candidates() {
	deb_apt_cache policy "$@" 2>/dev/null | awk '
		/^[^ ].*:$/ { p = substr($0, 1, length($0) - 1); sub(/:arm64$/, "", p) }
		/^  Candidate:/ { print p "=" $2 }'
}

# Copies the cached tree into STAGE_DIR and reports what it holds.
install_stage() {
	timeout 300 cp -R "$cache/stage/." "$dst/"
	n=$(find "$cache/stage" -type f | wc -l)
	bytes=$(find "$cache/stage" -type f -exec cat {} + | wc -c)
	echo "l1-qemu-arm64: staged $top=$(sed -n "s/^$top=//p" "$cache/stage.pkgs") into $dst:" \
		"$n files, $bytes bytes ($((bytes / 1024 / 1024)) MiB)"
}

# --- Warm: the stamp names the packages used last time; same versions, same tree. ---
if [ -f "$cache/stage.stamp" ] && [ -f "$cache/stage.pkgs" ] && [ -x "$cache/stage$bin" ] &&
	[ -x "$cache/stage$vfsd" ]; then
	# shellcheck disable=SC2046 # one package name a word
	now="script=$script_hash $(candidates $(sed 's/=.*//' "$cache/stage.pkgs") | LC_ALL=C sort | tr '\n' ' ')"
	if [ "$(cat "$cache/stage.stamp")" = "$now" ]; then
		install_stage
		exit 0
	fi
fi

# --- Cold: resolve, extract and copy. ---
echo "l1-qemu-arm64: building the arm64 QEMU stage in $cache/stage"
rm -f "$cache/stage.stamp"
work="$cache/work"
new="$cache/stage.new"
rm -rf "$work" "$new"
mkdir -p "$cache/debs" "$work/x" "$work/deps" "$new"
: >"$work/owners"	# "PKG=VERSION" of each package a staged file came from
: >"$work/list"		# "PATH PKG" of each staged file
: >"$work/sonames"	# the sonames staged so far
: >"$work/queue"	# "PATH PKG" of each staged ELF file, in order; DT_NEEDED read in turn

# The dependency graph of qemu-system-arm, read once: $work/pkgs has "PKG ARCH VERSION" (the
# candidate) for each package of its closure, $work/deps/PKG the direct Depends and
# Pre-Depends of PKG (first alternative; for a virtual package its first provider), without
# the Architecture: all ones (no arm64 library in them), one a line.
# shellcheck disable=SC2086 # DEB_OPTS is a list of options (deb_apt_cache cannot be timed out)
timeout 120 apt-cache $DEB_OPTS depends --recurse --no-recommends --no-suggests --no-conflicts \
	--no-breaks --no-replaces --no-enhances "$top" >"$work/graph" 2>/dev/null ||
	die "apt-cache depends $top failed"
# shellcheck disable=SC2046,SC2086
timeout 120 apt-cache $DEB_OPTS show --no-all-versions $(awk '/^[^ <]/ { print $1 }' "$work/graph") \
	2>/dev/null | awk '
	/^Package:/ { p = $2 } /^Version:/ { v = $2 } /^Architecture:/ { a = $2 }
	/^$/ { if (p != "") print p, a, v; p = "" }
	END { if (p != "") print p, a, v }' >"$work/pkgs"
grep -q "^$top " "$work/pkgs" || die "no arm64 $top in the package lists"
awk -v dir="$work/deps" '
	NR == FNR { if ($2 == "all") skip[$1] = 1; next }
	function out(n) { if (file != "" && !skip[n] && !(n in seen)) { seen[n] = 1; print n >file } }
	/^[^ ]/ {
		if (file != "") close(file)
		file = ($1 ~ /^</) ? "" : dir "/" $1
		if (file != "") printf "" >file
		ingroup = 0; pending = 0; split("", seen)
		next
	}
	/^ *\|?(Pre)?Depends:/ {
		if (!ingroup || pending) {
			pending = 0
			if ($2 ~ /^</) pending = 1; else out($2)
		}
		ingroup = ($1 ~ /^\|/)
		next
	}
	/^    [^ ]/ { if (pending) { out($1); pending = 0 } }' "$work/pkgs" "$work/graph"
deps() { [ ! -f "$work/deps/$1" ] || cat "$work/deps/$1"; }

# Downloads (cached in CACHE_DIR/debs) and extracts PKG's candidate under $work/x/PKG.
fetch() {
	[ ! -f "$work/x/$1.ver" ] || return 0
	_v=$(awk -v p="$1" '$1 == p { print $3 }' "$work/pkgs")
	[ -n "$_v" ] || { echo "l1-qemu-arm64: no arm64 candidate for $1" >&2; return 1; }
	_deb=$(deb_fetch "$1" "$_v" "$cache/debs") || return 1
	mkdir -p "$work/x/$1"
	timeout 120 dpkg-deb -x "$_deb" "$work/x/$1" || die "cannot extract $_deb"
	echo "$_v" >"$work/x/$1.ver"
}

# Follows the symbolic links of path $2 inside the tree $1 (absolute links too); prints the
# path of the file it ends at, inside the tree; fails when that is not a regular file.
resolve() {
	_p=$2
	_n=0
	while [ -L "$1$_p" ]; do
		_t=$(readlink "$1$_p")
		case $_t in /*) _p=$_t ;; *) _p=$(dirname "$_p")/$_t ;; esac
		_n=$((_n + 1))
		[ $_n -lt 20 ] || return 1
	done
	[ -f "$1$_p" ] || return 1
	echo "$_p"
}

# Where package $1 (extracted) has $2: an absolute path as it is, a soname in the directories
# the loader searches. Prints "RUNTIME_PATH REAL_PATH".
find_in() {
	case $2 in
	/*) _c=$2 ;;
	*) _c="/lib/aarch64-linux-gnu/$2 /usr/lib/aarch64-linux-gnu/$2 /lib/$2 /usr/lib/$2" ;;
	esac
	for _f in $_c; do
		if [ -e "$work/x/$1$_f" ] || [ -L "$work/x/$1$_f" ]; then
			_r=$(resolve "$work/x/$1" "$_f") && { echo "$_f $_r"; return 0; }
		fi
	done
	return 1
}

# Finds $1 (soname or path) needed by a file of package $2: in $2, then its dependencies,
# breadth first. With $3 = 0 only packages already extracted are looked at (and only their
# dependencies followed); with 1 the others are downloaded as they come. Sets FOUND_PKG and
# FOUND (from find_in).
locate() {
	_want=$1
	_mode=$3
	_queue=$2
	_seen=" "
	while :; do
		# shellcheck disable=SC2086 # one package name a word
		set -- $_queue
		[ $# -gt 0 ] || return 1
		_p=$1
		shift
		_queue=$*
		case $_seen in *" $_p "*) continue ;; esac
		_seen="$_seen$_p "
		[ "$_mode" = 1 ] || [ -f "$work/x/$_p.ver" ] || continue
		if fetch "$_p" && FOUND=$(find_in "$_p" "$_want"); then
			FOUND_PKG=$_p
			return 0
		fi
		_queue="$_queue $(deps "$_p" | tr '\n' ' ')"
	done
}

# Copies what locate found to the new tree at its run-time path.
take() {
	_at=${FOUND% *}
	_real=${FOUND#* }
	mkdir -p "$new$(dirname "$_at")"
	cp "$work/x/$FOUND_PKG$_real" "$new$_at"
	echo "$_at $FOUND_PKG" >>"$work/list"
	grep -qx "$FOUND_PKG=.*" "$work/owners" ||
		echo "$FOUND_PKG=$(cat "$work/x/$FOUND_PKG.ver")" >>"$work/owners"
}

# The binary and its program interpreter.
fetch "$top" || die "cannot get $top"
FOUND=$(find_in "$top" "$bin") || die "$top has no $bin"
FOUND_PKG=$top
take
chmod 0755 "$new$bin"
$readelf -h "$new$bin" | grep -q 'Machine:.*AArch64' || die "$bin is not an AArch64 ELF"
echo "$bin $top" >>"$work/queue"
interp=$($readelf -l "$new$bin" | sed -n 's/.*Requesting program interpreter: \(.*\)]$/\1/p')
[ -n "$interp" ] || die "$bin names no program interpreter"
locate "$interp" "$top" 0 || locate "$interp" "$top" 1 || die "no package has $interp"
take
chmod 0755 "$new$interp"
# The loader answers to its own soname: a DT_NEEDED of it needs no second copy.
basename "$interp" >>"$work/sonames"

# virtiofsd, from its own package (same loader).
grep -q "^$vfsd_pkg " "$work/pkgs" || die "$vfsd_pkg is not in the dependencies of $top"
fetch "$vfsd_pkg" || die "cannot get $vfsd_pkg"
FOUND=$(find_in "$vfsd_pkg" "$vfsd") || die "$vfsd_pkg has no $vfsd"
FOUND_PKG=$vfsd_pkg
take
chmod 0755 "$new$vfsd"
$readelf -h "$new$vfsd" | grep -q 'Machine:.*AArch64' || die "$vfsd is not an AArch64 ELF"
[ "$($readelf -l "$new$vfsd" | sed -n 's/.*Requesting program interpreter: \(.*\)]$/\1/p')" = "$interp" ] ||
	die "$vfsd wants another program interpreter than $bin"
echo "$vfsd $vfsd_pkg" >>"$work/queue"

# DT_NEEDED, recursively.
i=1
while line=$(sed -n "${i}p" "$work/queue") && [ -n "$line" ]; do
	i=$((i + 1))
	f=${line% *}
	owner=${line#* }
	dyn=$($readelf -d "$new$f")
	case $dyn in *"(RPATH)"* | *"(RUNPATH)"*)
		echo "l1-qemu-arm64: warning: $f has an RPATH/RUNPATH; only the default paths are searched" >&2 ;;
	esac
	for so in $(echo "$dyn" | sed -n 's/.*(NEEDED).*\[\(.*\)\]$/\1/p'); do
		! grep -qxF "$so" "$work/sonames" || continue
		locate "$so" "$owner" 0 || locate "$so" "$owner" 1 ||
			die "$so (needed by $f from $owner) is in no package of its dependencies"
		take
		echo "$so" >>"$work/sonames"
		echo "${FOUND% *} $FOUND_PKG" >>"$work/queue"
	done
done

# Everything needed is there: the new tree replaces the old one, the stamp comes last.
rm -rf "$cache/stage"
mv "$new" "$cache/stage"
LC_ALL=C sort "$work/owners" >"$cache/stage.pkgs"
LC_ALL=C sort "$work/list" >"$cache/stage.list"
rm -rf "$work"
echo "script=$script_hash $(tr '\n' ' ' <"$cache/stage.pkgs")" >"$cache/stage.stamp"
sed 's/^/l1-qemu-arm64:   /' "$cache/stage.list"
install_stage
