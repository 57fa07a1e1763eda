#!/usr/bin/env bash
# Contract test of kvmm's /api/v1 against Cloud Hypervisor's OpenAPI spec, with Dredd.
#
#   run-dredd.sh KVMM_BINARY [OUT_DIR]
#
# Starts `kvmm --api-socket`, bridges it to a loopback TCP port with socat (Dredd speaks
# TCP only), and runs Dredd with hooks.js, which skips what kvmm cannot answer (each with
# its reason) and prepares kvmm's state for the rest. Exits 0 when no transaction failed,
# 1 when one did (or the run broke), 77 (meson's skip) when a tool is missing or npm cannot
# reach its registry to install Dredd. OUT_DIR (default: a temporary directory, removed)
# keeps dredd.log, hooks.log and kvmm.log.
#
# Environment:
#   KVMM_API_SPEC       the spec to test against (default: cloud-hypervisor.yaml here)
#   KVMM_CACHE          where Dredd is installed, once per version
#                       (default: ${XDG_CACHE_HOME:-$HOME/.cache}/kvmm)
#   KVMM_CONTRACT_BOOT  0: never boot the tiny guest; 1: boot it (fail if it cannot);
#                       unset: boot it when /dev/kvm is usable on x86_64
#   KVMM_CONTRACT_VIRTIOFSD  the vhost-user back-end for vm.add-fs's hot-plug (default
#                       /usr/lib/qemu/virtiofsd, Debian's; needs root)
# With a guest to boot and as root, the script also makes a TAP interface (ip tuntap, removed
# at exit) and starts a virtiofsd, for the hot-plug transactions of vm.add-net and vm.add-fs.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
kvmm=${1:?usage: run-dredd.sh KVMM_BINARY [OUT_DIR]}
out=${2:-}
spec=${KVMM_API_SPEC:-$here/cloud-hypervisor.yaml}

say() { echo "contract: $*"; }
skip_test() {
	echo "contract: ************************************************************" >&2
	echo "contract: SKIPPED, NOT PASSED: $*" >&2
	echo "contract: ************************************************************" >&2
	exit 77
}
die() { say "ERROR: $*" >&2; exit 1; }

work= install_tmp= kvmm_pid= socat_pid= dredd_pid= vfsd_pid= tap=
cleanup() {
	local pid
	# kvmm before socat: its end closes the bridge's per-connection children too.
	for pid in $dredd_pid $kvmm_pid $socat_pid $vfsd_pid; do
		kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	done
	[ -z "$tap" ] || ip link delete "$tap" 2>/dev/null
	rm -rf "$work" "$install_tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

[ -x "$kvmm" ] || die "no kvmm binary at $kvmm"
[ -r "$spec" ] || die "no spec at $spec"
spec=$(realpath "$spec")
for tool in node:nodejs npm:npm socat:socat; do
	command -v "${tool%%:*}" >/dev/null ||
		skip_test "'${tool%%:*}' is not installed (Debian package ${tool#*:})"
done

# --- Dredd, installed once per version from package.json + package-lock.json ---------------
version=$(node -p "require('$here/package.json').dependencies.dredd") ||
	die "cannot read the Dredd version from $here/package.json"
cache=${KVMM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kvmm}
dredd_dir=$cache/dredd-$version
dredd=$dredd_dir/node_modules/.bin/dredd

install_dredd() {
	local tmp log
	mkdir -p "$cache" || die "cannot create $cache"
	tmp=$(mktemp -d "$dredd_dir.tmp.XXXXXX") || die "cannot create a directory in $cache"
	install_tmp=$tmp
	log=$tmp/npm.log
	cp "$here/package.json" "$here/package-lock.json" "$tmp/"
	say "installing dredd $version into $dredd_dir (npm ci, registry $(npm config get registry))"
	if ! (cd "$tmp" && timeout 300 npm ci --prefer-offline --fetch-retry-maxtimeout=15000 --no-audit --no-fund \
		--loglevel=error) >"$log" 2>&1; then
		cat "$log" >&2
		# Tell "the registry is out of reach" (skip) from "the install is broken" (fail).
		if grep -qE 'E(NOTFOUND|AI_AGAIN|CONNREFUSED|CONNRESET|TIMEDOUT|NETUNREACH|HOSTUNREACH)|network|socket hang up|proxy' "$log" ||
		   ! timeout 30 npm ping >/dev/null 2>&1; then
			skip_test "npm cannot reach its registry ($(npm config get registry)) to install" \
				"dredd $version; set KVMM_CACHE to a directory that already holds" \
				"dredd-$version, or give this machine registry access"
		fi
		die "npm ci of dredd $version failed (see above)"
	fi
	cp "$here/package-lock.json" "$tmp/package-lock.kvmm"
	# Replace a stale install (made from another lock file).
	rm -rf "$dredd_dir.old"
	[ -e "$dredd_dir" ] && mv "$dredd_dir" "$dredd_dir.old"
	mv "$tmp" "$dredd_dir" || die "cannot move the install into $dredd_dir"
	install_tmp=
	rm -rf "$dredd_dir.old"
}

# Reuse the install only when it was made from this very lock file.
if ! [ -x "$dredd" ] || ! cmp -s "$here/package-lock.json" "$dredd_dir/package-lock.kvmm"; then
	if command -v flock >/dev/null; then
		mkdir -p "$cache" || die "cannot create $cache"
		exec 9>"$cache/dredd.lock"
		flock 9
	fi
	if ! [ -x "$dredd" ] || ! cmp -s "$here/package-lock.json" "$dredd_dir/package-lock.kvmm"; then
		install_dredd
	fi
	exec 9>&-
fi
"$dredd" --version >/dev/null 2>&1 || die "$dredd does not run"

# --- kvmm, bridged to TCP -----------------------------------------------------------------
work=$(mktemp -d "${TMPDIR:-/tmp}/kvmm-contract.XXXXXX") || die "mktemp failed"
[ -n "$out" ] || out=$work/out
mkdir -p "$out" || die "cannot create $out"

sock=$work/api.sock
"$kvmm" --api-socket "$sock" </dev/null >"$out/kvmm.log" 2>&1 &
kvmm_pid=$!
for _ in $(seq 100); do
	[ -S "$sock" ] && break
	kill -0 "$kvmm_pid" 2>/dev/null || { cat "$out/kvmm.log" >&2; die "kvmm exited at start"; }
	sleep 0.05
done
[ -S "$sock" ] || die "kvmm did not create $sock within 5 s"

# The OS picks a free port; socat binds it a moment later, so retry if someone took it.
port=
for _ in 1 2 3 4 5; do
	try=$(node -e "const s = require('net').createServer();
		s.listen(0, '127.0.0.1', () => { console.log(s.address().port); s.close(); })") ||
		die "cannot pick a free port"
	socat TCP-LISTEN:"$try",bind=127.0.0.1,reuseaddr,fork UNIX-CONNECT:"$sock" 2>>"$out/socat.log" &
	socat_pid=$!
	for _ in $(seq 50); do
		kill -0 "$socat_pid" 2>/dev/null || break
		if (exec 3<>"/dev/tcp/127.0.0.1/$try") 2>/dev/null; then
			port=$try
			break 2
		fi
		sleep 0.05
	done
	kill "$socat_pid" 2>/dev/null; wait "$socat_pid" 2>/dev/null
	socat_pid=
done
[ -n "$port" ] || { cat "$out/socat.log" >&2; die "socat could not listen on a loopback port"; }

# The tiny guest (hooks.js) is an x86-64 PVH ELF and needs a KVM it can open.
boot=${KVMM_CONTRACT_BOOT:-}
why=
if [ -z "$boot" ]; then
	boot=1
	if [ "$(uname -m)" != x86_64 ]; then
		boot=0 why="the tiny guest is x86-64 and this host is $(uname -m)"
	elif ! [ -r /dev/kvm ] || ! [ -w /dev/kvm ]; then
		boot=0 why="/dev/kvm is missing or not read-writable by $(id -un)"
	fi
elif [ "$boot" = 0 ]; then
	why="KVMM_CONTRACT_BOOT=0"
fi

# Hot-plug into the booted guest: vm.add-net needs a TAP that exists (kvmm opens it by name and
# creates none), vm.add-fs a vhost-user back-end listening. Both need root.
tap_why= vfsd_why= vfsd_sock=
if [ "$boot" != 1 ]; then
	tap_why="no booted guest" vfsd_why="no booted guest"
elif [ "$(id -u)" != 0 ]; then
	tap_why="making a TAP interface needs root, and this runs as $(id -un)"
	vfsd_why="virtiofsd needs root, and this runs as $(id -un)"
else
	name=kvmmct$$
	name=${name:0:15}
	if ! command -v ip >/dev/null; then
		tap_why="no ip(8) to make one (Debian package iproute2)"
	elif ! out_ip=$(ip tuntap add dev "$name" mode tap 2>&1); then
		tap_why="ip tuntap add dev $name mode tap failed: $out_ip"
	else
		tap=$name
	fi
	vfsd=${KVMM_CONTRACT_VIRTIOFSD:-/usr/lib/qemu/virtiofsd}
	if ! [ -x "$vfsd" ]; then
		vfsd_why="no virtiofsd at $vfsd (Debian package qemu-system-common; or set KVMM_CONTRACT_VIRTIOFSD)"
	else
		mkdir -p "$work/share" && echo kvmm >"$work/share/file"
		vfsd_sock=$work/vfsd.sock
		# One connection: it exits when kvmm lets go of it (the next state's vm.delete).
		"$vfsd" --socket-path="$vfsd_sock" -o source="$work/share" -o sandbox=chroot \
			</dev/null >"$out/virtiofsd.log" 2>&1 &
		vfsd_pid=$!
		for _ in $(seq 100); do
			[ -S "$vfsd_sock" ] && break
			kill -0 "$vfsd_pid" 2>/dev/null || break
			sleep 0.05
		done
		if ! [ -S "$vfsd_sock" ]; then
			vfsd_why="$vfsd did not listen on $vfsd_sock within 5 s: $(tail -n 2 "$out/virtiofsd.log" | tr '\n' ' ')"
			vfsd_sock=
		fi
	fi
fi

say "kvmm $kvmm on $sock, bridged to http://127.0.0.1:$port/api/v1; dredd $version; spec $spec"
start=$(date +%s)
# The spec's servers entry (http://localhost/api/v1) is not used: Dredd takes the paths
# (/vm.info, ...) and prefixes them with the endpoint given here.
NODE_PATH=$dredd_dir/node_modules KVMM_API_SPEC=$spec \
KVMM_API_SOCKET=$sock KVMM_CONTRACT_WORKDIR=$work KVMM_CONTRACT_HOOKS_LOG=$out/hooks.log \
KVMM_CONTRACT_BOOT=$boot KVMM_CONTRACT_NO_BOOT_WHY=$why \
KVMM_CONTRACT_TAP=$tap KVMM_CONTRACT_NO_TAP_WHY=$tap_why \
KVMM_CONTRACT_VIRTIOFSD_SOCKET=$vfsd_sock KVMM_CONTRACT_NO_VIRTIOFSD_WHY=$vfsd_why \
	"$dredd" "$spec" "http://127.0.0.1:$port/api/v1" --hookfiles="$here/hooks.js" \
	--language=nodejs --color=false --loglevel=warning >"$out/dredd.log" 2>&1 &
dredd_pid=$!
# In the background so that a signal (meson's timeout) reaches the trap at once.
wait "$dredd_pid"
dredd_rc=$?
dredd_pid=
# Dredd's log, less the parser's complaints about the spec's style (unquoted status codes,
# 'format' and the like); the "hook:" lines are hooks.js's, also in hooks.log.
grep -vE "^warn: API description parser warning|padLevels|--trace-warnings" "$out/dredd.log"

failed=0
# "complete: 20 passing, 1 failing, 0 errors, 81 skipped, 102 total"
summary=$(grep -E '^complete: [0-9]+ passing' "$out/dredd.log" | tail -n 1)
if [ -z "$summary" ]; then
	say "ERROR: dredd (status $dredd_rc) printed no summary"
	failed=1
fi
count() { sed -nE "s/.* ([0-9]+) $1.*/\1/p" <<<"$summary"; }
passing=$(count passing) failing=$(count failing) errors=$(count errors) skipped=$(count skipped)
failed=$((failed + ${failing:-0} + ${errors:-0}))
if [ "$dredd_rc" != 0 ] && [ "$failed" = 0 ]; then
	say "ERROR: dredd exited with status $dredd_rc"
	failed=1
fi

# vmm.shutdown (when it ran) must end kvmm with status 0.
if grep -q '^pass: PUT (204) /vmm.shutdown' "$out/dredd.log"; then
	for _ in $(seq 100); do
		kill -0 "$kvmm_pid" 2>/dev/null || break
		sleep 0.05
	done
	if kill -0 "$kvmm_pid" 2>/dev/null; then
		say "FAIL: kvmm still runs 5 s after vmm.shutdown answered 204"
		failed=$((failed + 1))
	else
		wait "$kvmm_pid"
		rc=$?
		kvmm_pid=
		if [ "$rc" != 0 ]; then
			say "FAIL: kvmm exited with status $rc after vmm.shutdown, not 0"
			failed=$((failed + 1))
		fi
	fi
fi

# The skips by reason (each transaction's own line is above, "hook: skip ...").
if [ -s "$out/hooks.log" ]; then
	sed -nE 's/^skip [A-Z]+ \([0-9]+\) [^:]+: //p' "$out/hooks.log" |
		sed -E 's/^(kvmm answers 501|kvmm does not serve this endpoint).*/\1 (an endpoint kvmm does not implement)/' |
		sort | uniq -c | sort -rn | sed -E 's/^ *([0-9]+) /contract: skipped \1: /'
fi
where="logs in $out"
[ "$out" != "$work/out" ] || where="logs removed: give an OUT_DIR to keep them"
say "${passing:-0} passed, ${skipped:-0} skipped, $failed failed ($(( $(date +%s) - start )) s; $where)"
[ "$failed" = 0 ]
