# Lab scenarios for kvmm run as an unprivileged user that may open /dev/kvm, as Kata can start
# it with a configured uid/gid (sourced by scenarios.sh; POSIX sh; uses the helpers of
# virtio-blk.sh, virtio-net.sh, virtio-fs.sh and memory.sh). Root prepares what a launcher
# prepares (the TAP, virtiofsd as root with its socket given to the user's group, a directory
# the user owns for the disk images and for the sockets kvmm creates), then tap-exec
# (LAB_TAP_EXEC) opens the TAP, drops to the user (setgroups to the group of /dev/kvm, setgid,
# setuid) and execs kvmm with --net fd=3. Every boot has all four device families (two disks,
# the TAP, hybrid vsock, virtio-fs on shared memory); each runs one guest test of
# guest-images/tests/:
#   nonroot        reported in parts: nonroot-blk-read (blk-info: both disks read, sha256 equal
#                  to the host's), nonroot-blk-write (blk-write: the patterns the guest wrote
#                  are what the host finds, the read-only disk refused the write),
#                  nonroot-net (net-xfer: ping both ways, NET_MB MiB each way intact),
#                  nonroot-vsock (vsock: guest -> host through the user's echo server and host
#                  -> guest, 1 MiB / 64 KiB echoed), nonroot-creds (kvmm's /proc status: Uid and
#                  Gid the user's in all four fields, the kvm group among its Groups, CapPrm and
#                  CapEff 0, NoNewPrivs 1, Seccomp 2 in every thread), nonroot-api (kvmm
#                  created its API and vsock sockets as the user in the user's directory; vm.info
#                  says Running; vmm.shutdown ends it with exit 0 and the sockets removed),
#                  nonroot-fs (virtiofs, kvmm.fs_mode=kata: the share's tree checked against the
#                  host's manifest and a file written that the host reads back)
#   nonroot-nokvm  a user outside the kvm group: kvmm exits non-zero by itself (no signal, no
#                  hang), with a message naming /dev/kvm and EACCES ("Permission denied")
# The accounts (l1-init.sh): kvmmuser 4242:4242 in group kvm (/dev/kvm root:kvm 0660, as
# Debian's udev rules make it), kvmmnokvm 4243:4243. On a KVM host, run the lab as root.
#   LAB_NONROOT_UID   the user's uid (= gid; 4242)    LAB_NOKVM_UID   the other one's (4243)

NR_UID=${LAB_NONROOT_UID:-4242}
NR_NOKVM_UID=${LAB_NOKVM_UID:-4243}
NR_PARTS="nonroot-blk-read nonroot-blk-write nonroot-net nonroot-vsock nonroot-creds nonroot-api nonroot-fs"

# nr_as UID GROUPS CMD...: CMD as UID (gid UID, supplementary GROUPS, comma-separated or
# empty), no TAP. It replaces the shell it runs in, so call it only in a subshell: in $(...),
# or with & (then $! is CMD itself, which a kill reaches; a function run with & is a subshell
# of its own, which would otherwise be all the kill ends, leaving CMD running).
nr_as() {
	_nu=$1 _ng=$2
	shift 2
	exec "$LAB_TAP_EXEC" -u "$_nu" -g "$_nu" -G "$_ng" - - "$@"
}

# nr_setup: the user's directories, images, share and the launcher script NR_WRAP (kvmm as the
# user with every device; further kvmm arguments after it). NR_WHY when something is missing.
nr_setup() {
	NR_WHY=
	[ "$(id -u)" = 0 ] || { NR_WHY="the lab must run as root to prepare and drop privileges"; return 1; }
	[ -x "${LAB_TAP_EXEC:-}" ] || { NR_WHY="no tap-exec helper (LAB_TAP_EXEC)"; return 1; }
	[ -x "${LAB_VSOCK_CLIENT:-}" ] || { NR_WHY="no vsock-client helper (LAB_VSOCK_CLIENT)"; return 1; }
	[ -x "${LAB_KVMM_REMOTE:-}" ] || { NR_WHY="no kvmm-remote (LAB_KVMM_REMOTE)"; return 1; }
	have_kvmm || { NR_WHY="kvmm binary $KVMM missing"; return 1; }
	[ -x "$FS_VFSD" ] || { NR_WHY="no virtiofsd at $FS_VFSD"; return 1; }
	# /dev/kvm as udev leaves it on Debian: a group of its own may read and write it.
	NR_KVM_GID=$(stat -c %g /dev/kvm 2>/dev/null)
	_m=$(stat -c %a /dev/kvm 2>/dev/null)
	if [ -z "$NR_KVM_GID" ] || [ "$NR_KVM_GID" = 0 ] || [ "$_m" != 660 ]; then
		NR_WHY="/dev/kvm is $(stat -c '%a %u:%g' /dev/kvm 2>&1), want 660 with a kvm group (l1-init.sh; udev on a host)"
		return 1
	fi
	net_tap kvmmtap0 100 || { NR_WHY="cannot create TAP kvmmtap0"; return 1; }

	NR_DIR=$LAB_TMP/nonroot
	NR_RUN=$NR_DIR/run	# the user's: images, the API and vsock sockets (0700)
	NR_VFSD=$NR_DIR/vfsd	# virtiofsd's socket, for root and the user's group (0750)
	NR_SHARE=$NR_DIR/share	# what virtiofsd (root) serves; the user never touches it
	rm -rf "$NR_DIR"
	mkdir -p "$NR_RUN" "$NR_VFSD" "$NR_SHARE/tree"
	chmod 0755 "$NR_DIR"
	chown "$NR_UID:$NR_UID" "$NR_RUN" && chmod 0700 "$NR_RUN" &&
		chown "0:$NR_UID" "$NR_VFSD" && chmod 0750 "$NR_VFSD" ||
		{ NR_WHY="cannot chown/chmod the directories under $NR_DIR"; return 1; }
	NR_A=$NR_RUN/disk-a.img NR_B=$NR_RUN/disk-b.img
	blk_image "$NR_A" 8
	blk_image "$NR_B" 1
	chown "$NR_UID:$NR_UID" "$NR_A" "$NR_B" && chmod 0600 "$NR_A" "$NR_B"
	fs_make_tree "$NR_SHARE/tree"
	fs_manifest "$NR_SHARE/tree" "$NR_SHARE/manifest"
	NR_FILES=$(cd "$NR_SHARE/tree" && find . -type f | wc -l)

	# What the user must be able to reach by itself (the kernel, initramfs and kvmm are the
	# lab's, world-readable; /dev/kvm through the group; its directory and images).
	# shellcheck disable=SC2016 # the user's shell expands them
	_k=$(nr_as "$NR_UID" "$NR_KVM_GID" sh -c 'for f in "$@"; do [ -r "$f" ] || echo "cannot read $f"; done
		[ -x "$1" ] || echo "cannot execute $1"
		[ -w /dev/kvm ] || echo "cannot write /dev/kvm"
		[ -w "$0" ] && [ -w "$5" ] || echo "cannot write $0 or $5"' \
		"$NR_RUN" "$KVMM" "$KERNEL" "$INITRAMFS" /dev/kvm "$NR_A" 2>&1)
	[ -z "$_k" ] || { NR_WHY="as uid $NR_UID: $(echo "$_k" | tr '\n' ';')"; return 1; }

	NR_WRAP=$NR_DIR/kvmm-as-user
	cat >"$NR_WRAP" <<EOF
#!/bin/sh
# kvmm as uid/gid $NR_UID with the kvm group ($NR_KVM_GID), handed the TAP kvmmtap0 as fd 3
# (tests/lab/scenarios.d/nonroot.sh); more kvmm arguments follow.
exec "$LAB_TAP_EXEC" -u $NR_UID -g $NR_UID -G $NR_KVM_GID kvmmtap0 3 "$KVMM" -v \\
	--kernel "$KERNEL" --initramfs "$INITRAMFS" --memory size=512M,shared=on \\
	--disk "path=$NR_A" --disk "path=$NR_B,readonly=on" \\
	--net fd=3,mac=52:54:00:00:00:01 --vsock "cid=3,socket=$NR_RUN/vsock.sock" \\
	--fs "tag=$FS_TAG,socket=$NR_VFSD/fs.sock" "\$@"
EOF
	chmod 0755 "$NR_WRAP"
}

# nr_vfsd_up TAG: virtiofsd (root, as Kata runs it) on NR_VFSD/fs.sock serving NR_SHARE, its
# socket (NR_VMODE: as virtiofsd made it) given to the user's group.
nr_vfsd_up() {
	rm -f "$NR_RUN/vsock.sock" "$NR_RUN/api.sock"
	fs_vfsd_start "nonroot-$1" "$NR_VFSD/fs.sock" "$NR_SHARE" || { NR_WHY=$FS_WHY; return 1; }
	NR_VMODE=$(stat -c '%a %u:%g' "$NR_VFSD/fs.sock")
	chgrp "$NR_UID" "$NR_VFSD/fs.sock" && chmod 0660 "$NR_VFSD/fs.sock" ||
		{ NR_WHY="cannot give virtiofsd's socket to group $NR_UID"; fs_vfsd_stop; return 1; }
}

# nr_status PID FIELD: the value(s) of FIELD in /proc/PID/status, tabs made spaces.
nr_status() {
	sed -n "s/^$2:[[:space:]]*//p" "/proc/$1/status" 2>/dev/null | tr -s '\t ' '  ' | sed 's/ *$//'
}

# nr_creds PID: kvmm's credentials and confinement as the kernel sees them; NR_WHY otherwise.
nr_creds() {
	_u="$NR_UID $NR_UID $NR_UID $NR_UID"
	NR_WHY=
	[ "$(cat "/proc/$1/comm" 2>/dev/null)" = kvmm ] || { NR_WHY="pid $1 is '$(cat "/proc/$1/comm" 2>/dev/null)', not kvmm"; return 1; }
	[ "$(nr_status "$1" Uid)" = "$_u" ] || NR_WHY="Uid: $(nr_status "$1" Uid), want $_u"
	[ -n "$NR_WHY" ] || [ "$(nr_status "$1" Gid)" = "$_u" ] || NR_WHY="Gid: $(nr_status "$1" Gid), want $_u"
	[ -n "$NR_WHY" ] || [ "$(nr_status "$1" Groups)" = "$NR_KVM_GID" ] ||
		NR_WHY="Groups: '$(nr_status "$1" Groups)', want the kvm group $NR_KVM_GID only"
	[ -n "$NR_WHY" ] || [ "$(nr_status "$1" CapEff)/$(nr_status "$1" CapPrm)" = 0000000000000000/0000000000000000 ] ||
		NR_WHY="CapEff $(nr_status "$1" CapEff) CapPrm $(nr_status "$1" CapPrm), want 0"
	[ -n "$NR_WHY" ] || [ "$(nr_status "$1" NoNewPrivs)" = 1 ] || NR_WHY="NoNewPrivs: $(nr_status "$1" NoNewPrivs), want 1"
	[ -n "$NR_WHY" ] || [ "$(nr_status "$1" Seccomp)" = 2 ] || NR_WHY="Seccomp: $(nr_status "$1" Seccomp), want 2"
	NR_THREADS=0
	for _t in /proc/"$1"/task/[0-9]*; do
		[ -n "$NR_WHY" ] && break
		NR_THREADS=$((NR_THREADS + 1))
		_ts=$(sed -n 's/^Seccomp:[[:space:]]*//p' "$_t/status" 2>/dev/null)
		_tu=$(sed -n 's/^Uid:[[:space:]]*//p' "$_t/status" 2>/dev/null | tr -s '\t ' '  ')
		[ "$_ts" = 2 ] && [ "$_tu" = "$_u" ] ||
			NR_WHY="thread ${_t##*/} ($(cat "$_t/comm" 2>/dev/null)): Seccomp $_ts Uid $_tu"
	done
	[ -z "$NR_WHY" ]
}

# nr_blk: blk-info then blk-write on the user's images.
nr_blk() {
	_sa=$(blk_sha "$NR_A") _sb=$(blk_sha "$NR_B")
	if nr_vfsd_up blk-read; then
		run_guest nonroot-blk-read "$LAB_TIMEOUT" "$NR_WRAP" --cmdline "$CMDLINE kvmm.test=blk-info"
		fs_vfsd_stop
		_ga=$(blk_field "KVMM-BLK vda" sha) _gb=$(blk_field "KVMM-BLK vdb" sha)
		if [ "$RC" = 0 ] && [ "$_ga" = "$_sa" ] && [ "$_gb" = "$_sb" ]; then
			pass nonroot-blk-read "as uid $NR_UID: vda (rw) and vdb (ro) read by the guest match the host's sha256, exit 0 in $RUN_MS ms"
		else
			fail nonroot-blk-read "guest vda=${_ga:-none} vdb=${_gb:-none}, host $_sa $_sb: $(last_run)"
			dump_last
		fi
	else
		fail nonroot-blk-read "$NR_WHY"
	fi
	_x=$NR_DIR/disk-a.expected
	cp "$NR_A" "$_x"
	if nr_vfsd_up blk-write; then
		run_guest nonroot-blk-write "$LAB_TIMEOUT" "$NR_WRAP" --cmdline "$CMDLINE kvmm.test=blk-write"
		fs_vfsd_stop
		_line=$(grep -m 1 '^KVMM-BLK-WRITTEN' "$OUT" | tr -d '\r')
		for _off in $(echo "$_line" | sed 's/^KVMM-BLK-WRITTEN //; s/ rc=.*//'); do
			printf 'KVMM-PATTERN-%s' "$_off" | dd of="$_x" bs=1 seek="$_off" conv=notrunc 2>/dev/null
		done
		_wrc=$(blk_field KVMM-BLK-RO-WRITE rc)
		if [ "$RC" != 0 ] || [ -z "$_line" ] || [ "${_line##*rc=}" != 0 ]; then
			fail nonroot-blk-write "the guest's writes: ${_line:-none}: $(last_run)"
			dump_last
		elif [ "$(blk_sha "$NR_A")" != "$(blk_sha "$_x")" ]; then
			fail nonroot-blk-write "vda differs from the original plus the patterns: $(cmp "$NR_A" "$_x" 2>&1 | head -n 1)"
		elif [ "$_wrc" = 0 ] || [ -z "$_wrc" ] || [ "$(blk_sha "$NR_B")" != "$_sb" ]; then
			fail nonroot-blk-write "the read-only vdb: guest write rc=${_wrc:-none}, image $( [ "$(blk_sha "$NR_B")" = "$_sb" ] && echo unchanged || echo changed)"
		else
			pass nonroot-blk-write "as uid $NR_UID: the host's sha256 of vda is the original plus the guest's patterns at ${_line#KVMM-BLK-WRITTEN }; the write to read-only vdb refused (rc=$_wrc), unchanged"
		fi
	else
		fail nonroot-blk-write "$NR_WHY"
	fi
	rm -f "$_x"
}

# nr_net: net-xfer through the TAP fd (virtio-net.sh's net_xfer).
nr_net() {
	if ! nr_vfsd_up net; then
		fail nonroot-net "$NR_WHY"
		return 0
	fi
	# -v once more (-vv): kvmm's teardown then describes its rings, which a stalled transfer
	# reports.
	net_xfer kvmm-nonroot "$LAB_TMP/nonroot-net.out" "$NR_WRAP" -v \
		--cmdline "$CMDLINE kvmm.test=net-xfer kvmm.xfer_mb=$NET_MB"
	fs_vfsd_stop
	if [ "$NX_OK" = 1 ]; then
		pass nonroot-net "as uid $NR_UID on the TAP fd (kvmmtap0): ping both ways, $NET_MB MiB each way intact: host->guest $(net_mbps "$NX_H2G_MS") MB/s, guest->host $(net_mbps "$NX_G2H_MS") MB/s"
	else
		fail nonroot-net "$NX_WHY (ping guest->host rc=${NX_PING_G:-none} host->guest rc=${NX_PING_H:-none}, exit $NX_RC)"
		tail -n 30 "$LAB_TMP/nonroot-net.out" | sed 's/^/  | out: /'
	fi
}

# nr_vsock: the vsock guest test with an API socket; meanwhile kvmm's credentials and sockets.
nr_vsock() {
	_o=$LAB_TMP/nonroot-vsock.out _e=$LAB_TMP/nonroot-vsock.err
	_vs=$NR_RUN/vsock.sock _as=$NR_RUN/api.sock
	if ! nr_vfsd_up vsock; then
		for _n in nonroot-vsock nonroot-creds nonroot-api; do fail "$_n" "$NR_WHY"; done
		return 0
	fi
	# The guest's connections to port 2000 go to the user's own echo server.
	rm -f "${_vs}_2000"
	nr_as "$NR_UID" "" "$LAB_VSOCK_CLIENT" serve "${_vs}_2000" $((LAB_TIMEOUT * 3)) \
		>"$LAB_TMP/nonroot-vsock-serve.out" 2>&1 &
	_srv=$!
	# Emptied here: the background job's redirection may come after the first net_wait,
	# which would then read an earlier round's markers (LAB_REPEAT, or a repeat after a
	# guest triple fault).
	: >"$_o"
	setsid "$NR_WRAP" --api-socket "$_as" --cmdline "$CMDLINE kvmm.test=vsock" \
		</dev/null >"$_o" 2>"$_e" &
	_p=$!
	if ! net_wait "$_o" KVMM-VSOCK-READY "$LAB_TIMEOUT" "$_p"; then
		for _n in nonroot-vsock nonroot-creds nonroot-api; do
			fail "$_n" "the guest never got ready ($(mem_alive "$_p" && echo "kvmm running" || echo "kvmm ended"))"
		done
		tail -n 20 "$_o" | sed 's/^/  | out: /'
		tail -n 20 "$_e" | sed 's/^/  | err: /'
		kill -KILL "$_p" "$_srv" 2>/dev/null
		wait "$_p" 2>/dev/null
		wait "$_srv" 2>/dev/null
		fs_vfsd_stop
		return 0
	fi

	# nonroot-vsock: guest -> host (the user's server), host -> guest (root, as Kata's shim).
	_g=$(grep -m 1 'KVMM-VSOCK-GUEST' "$_o" | tr -d '\r')
	_h=$(timeout 120 "$LAB_VSOCK_CLIENT" echo "$_vs" 1024 1 65536 2>&1)
	_hrc=$?
	case $_g in
	*'vsock-send: ok 1048576'*)
		if [ "$_hrc" = 0 ]; then
			pass nonroot-vsock "as uid $NR_UID: guest -> host port 2000 (${_vs##*/}_2000, the user's): 1 MiB echoed; host -> guest port 1024: $_h"
		else
			fail nonroot-vsock "host -> guest port 1024: $_h"
		fi
		;;
	*)
		fail nonroot-vsock "guest -> host port 2000: ${_g:-no KVMM-VSOCK-GUEST line}"
		# What the guest's console held (the line may have come out mangled) and the
		# user's echo server said.
		tr -d '\r' <"$_o" | grep -a -n -e KVMM-VSOCK -e vsock | tail -n 10 | sed 's/^/  | vsock: /'
		tail -n 20 "$_o" | sed 's/^/  | out: /'
		tail -n 10 "$_e" | sed 's/^/  | err: /'
		tail -n 5 "$LAB_TMP/nonroot-vsock-serve.out" 2>/dev/null | sed 's/^/  | serve: /'
		;;
	esac

	# nonroot-creds
	if nr_creds "$_p"; then
		pass nonroot-creds "pid $_p: Uid/Gid $NR_UID x4, Groups $NR_KVM_GID (kvm), CapEff/CapPrm 0, NoNewPrivs 1, Seccomp 2 in all $NR_THREADS threads"
	else
		fail nonroot-creds "$NR_WHY"
		grep -E '^(Name|Uid|Gid|Groups|Cap|NoNewPrivs|Seccomp)' "/proc/$_p/status" 2>/dev/null | sed 's/^/  | status: /'
	fi

	# nonroot-api: the sockets kvmm made are the user's, in the user's directory; the API works
	# (from root, as Kata's shim); vmm.shutdown ends kvmm cleanly and it removes its sockets.
	API_BAD=
	_own="$(stat -c '%u:%g' "$_as" 2>/dev/null) $(stat -c '%u:%g' "$_vs" 2>/dev/null)"
	[ "$_own" = "$NR_UID:$NR_UID $NR_UID:$NR_UID" ] ||
		API_BAD="API and vsock sockets owned by '$_own', want $NR_UID:$NR_UID for both"
	_st=$(timeout 30 "$LAB_KVMM_REMOTE" --api-socket "$_as" info 2>&1 |
		tr ',' '\n' | sed -n 's/.*"state": *"\([A-Za-z]*\)".*/\1/p')
	[ -n "$API_BAD" ] || [ "$_st" = Running ] || API_BAD="vm.info state '$_st', want Running"
	_sr=0
	timeout 30 "$LAB_KVMM_REMOTE" --api-socket "$_as" shutdown-vmm >/dev/null 2>&1 || _sr=$?
	_i=0
	while mem_alive "$_p" && [ $_i -lt 50 ]; do sleep 0.1; _i=$((_i + 1)); done
	mem_alive "$_p" && { kill -KILL "$_p"; API_BAD=${API_BAD:-"kvmm still running 5 s after vmm.shutdown (kvmm-remote rc=$_sr)"}; }
	_rc=0
	wait "$_p" 2>/dev/null || _rc=$?
	[ "$_rc" = 0 ] || API_BAD=${API_BAD:-"kvmm exited $_rc after vmm.shutdown"}
	[ ! -e "$_as" ] && [ ! -e "$_vs" ] || API_BAD=${API_BAD:-"left behind: $(ls "$NR_RUN" | tr '\n' ' ')"}
	if [ -z "$API_BAD" ]; then
		pass nonroot-api "api.sock and vsock.sock made by kvmm as $NR_UID:$NR_UID in the user's directory, vm.info Running, vmm.shutdown: exit 0, both removed"
	else
		fail nonroot-api "$API_BAD"
		tail -n 20 "$_e" | sed 's/^/  | err: /'
	fi
	kill "$_srv" 2>/dev/null
	wait "$_srv" 2>/dev/null
	fs_vfsd_stop
}

# nr_fs: the virtiofs guest test, kvmm.fs_mode=kata (virtio-fs.sh's fs_short_check).
nr_fs() {
	if ! nr_vfsd_up fs; then
		fail nonroot-fs "$NR_WHY"
		return 0
	fi
	run_guest nonroot-fs "$FS_TIMEOUT" "$NR_WRAP" \
		--cmdline "$CMDLINE kvmm.test=virtiofs kvmm.fs_mode=kata"
	fs_vfsd_stop
	tr -d '\r' <"$OUT" | grep 'KVMM-FS' >"$LAB_TMP/nonroot-fs.lines" || true
	FS_WHY=
	if [ "$RC" = 0 ] && fs_short_check "$LAB_TMP/nonroot-fs.lines" "$NR_SHARE" "$NR_FILES"; then
		pass nonroot-fs "as uid $NR_UID through virtiofsd's socket (made $NR_VMODE by virtiofsd, then group $NR_UID 0660): $FS_TAG at $(fs_field 'KVMM-FS mount' dev "$LAB_TMP/nonroot-fs.lines"), $NR_FILES files checked by sha256, a write read back by the host"
	else
		fail nonroot-fs "${FS_WHY:-exit $RC}: $(last_run)"
		dump_last
		tail -n 5 "$FS_VLOG" | sed 's/^/  | virtiofsd: /'
	fi
}

sc_nonroot() {
	if ! nr_setup; then
		for _n in $NR_PARTS; do fail "$_n" "$NR_WHY"; done
		return 0
	fi
	info "nonroot uid=$NR_UID kvm_gid=$NR_KVM_GID /dev/kvm $(stat -c '%a %u:%g' /dev/kvm) transport=$LAB_TRANSPORT"
	nr_blk
	nr_net
	nr_vsock
	nr_fs
	rm -rf "$NR_DIR"
}

# nonroot-nokvm: a user outside /dev/kvm's group.
sc_nonroot_nokvm() {
	if [ "$(id -u)" != 0 ] || [ ! -x "${LAB_TAP_EXEC:-}" ] || ! have_kvmm; then
		fail nonroot-nokvm "needs root, tap-exec (LAB_TAP_EXEC) and kvmm"
		return 0
	fi
	run_guest nonroot-nokvm 30 "$LAB_TAP_EXEC" -u "$NR_NOKVM_UID" -g "$NR_NOKVM_UID" -G "" - - \
		"$KVMM" --kernel "$KERNEL" --initramfs "$INITRAMFS" --memory size=512M --cmdline "$CMDLINE"
	_l=$(cat "$ERR" "$OUT" 2>/dev/null | grep '/dev/kvm' | grep -m 1 'Permission denied')
	if [ "$RC" != 0 ] && [ "$RC" -lt 128 ] && [ "$TIMED_OUT" = 0 ] && [ -z "$MARKER" ] && [ -n "$_l" ]; then
		pass nonroot-nokvm "uid $NR_NOKVM_UID without the kvm group: exit $RC in $RUN_MS ms: $(echo "$_l" | cut -c1-120)"
	else
		fail nonroot-nokvm "want a non-zero exit (no signal) with a line naming /dev/kvm and 'Permission denied': $(last_run)"
		dump_last
	fi
}

scenario nonroot any sc_nonroot
scenario nonroot-nokvm any sc_nonroot_nokvm
