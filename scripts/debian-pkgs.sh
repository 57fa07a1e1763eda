# Sourced by the scripts that take files out of Debian packages without installing them
# (guest-images/build.sh, scripts/cross-sysroot.sh).  For the host's own architecture apt is
# used as it is; for another one (arm64 on an amd64 machine) apt gets its own package lists and
# cache under STATEDIR, so the host's dpkg architectures and lists are never touched.
#
#   deb_init ARCH STATEDIR     ARCH is a Debian architecture (amd64, arm64)
#   deb_apt_get ARGS...        apt-get for that architecture
#   deb_apt_cache ARGS...      apt-cache for that architecture
#   deb_candidate PKG          candidate version of PKG, empty if unknown
#   deb_fetch PKG VER DIR      downloads PKG=VER into DIR (cached by name) and prints its path

deb_init() {
	DEB_ARCH=$1
	DEB_OPTS=
	if [ "$DEB_ARCH" != "$(dpkg --print-architecture)" ]; then
		mkdir -p "$2/lists/partial" "$2/cache/archives/partial"
		DEB_OPTS="-oAPT::Architecture=$DEB_ARCH -oAPT::Architectures=$DEB_ARCH"
		DEB_OPTS="$DEB_OPTS -oDir::State::Lists=$2/lists -oDir::Cache=$2/cache"
		# apt's binary package cache (some images turn it off): every apt-cache call
		# would parse all lists again, ~1 s each.
		DEB_OPTS="$DEB_OPTS -oDir::Cache::pkgcache=pkgcache.bin -oDir::Cache::srcpkgcache=srcpkgcache.bin"
		# A first use (or lists older than a day) fetches the lists of that architecture.
		if [ -z "$(find "$2/lists" -maxdepth 1 -name '*Packages*' -mtime -1 2>/dev/null | head -n 1)" ]; then
			# shellcheck disable=SC2086 # DEB_OPTS is a list of options
			timeout 300 apt-get $DEB_OPTS update -qq >&2 ||
				echo "debian-pkgs: apt-get update for $DEB_ARCH failed" >&2
		fi
	fi
}

# shellcheck disable=SC2086 # DEB_OPTS is a list of options
deb_apt_get() { apt-get $DEB_OPTS "$@"; }
# shellcheck disable=SC2086
deb_apt_cache() { apt-cache $DEB_OPTS "$@"; }

deb_candidate() {
	deb_apt_cache policy "$1" 2>/dev/null | awk '/^ *Candidate:/ { if ($2 != "(none)") print $2; exit }'
}

deb_fetch() {
	# apt-get download encodes the epoch's ':' as %3a in the file name.
	_v=$(echo "$2" | sed 's/:/%3a/')
	_f="$3/${1}_${_v}_$DEB_ARCH.deb"
	if [ ! -s "$_f" ]; then
		rm -f "$3/${1}"_*.deb
		# shellcheck disable=SC2086
		(cd "$3" && timeout 600 apt-get $DEB_OPTS download -q -o APT::Sandbox::User=root "$1=$2" >&2) ||
			{ echo "debian-pkgs: apt-get download $1=$2 ($DEB_ARCH) failed" >&2; return 1; }
	fi
	[ -s "$_f" ] || { echo "debian-pkgs: apt-get download left no $_f" >&2; return 1; }
	echo "$_f"
}
