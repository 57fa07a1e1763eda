# Lab scenarios for virtio-fs (sourced by scenarios.sh; POSIX sh; uses the helpers of api.sh,
# memory.sh, sandbox.sh (kata_vmconfig) and virtio-net.sh). The guest mounts a directory of the
# lab's host that virtiofsd (QEMU's C vhost-user-fs back-end, LAB_VIRTIOFSD) serves on a
# vhost-user socket; the VMM is the vhost-user front-end, with guest RAM shared (kvmm: --memory
# shared=on). The guest side is guest-images/tests/virtiofs (kvmm.test=virtiofs) with the
# fs-mmap tool.
#   fs-basic          (test) kvmm --fs on the command line; reported in parts: fs-basic (mount,
#                     clean unmount and power-off), fs-basic-tree (every file of a tree by
#                     sha256 against the host's manifest, symlink, counts), fs-basic-ops (the
#                     guest's write, mkdir, rename, delete and append as the host sees them),
#                     fs-basic-copy (LAB_FS_MB MiB each way, sha256 on both sides),
#                     fs-basic-mmap (a MAP_SHARED mapping written and msync'd by the guest, as
#                     the host reads it; a host file read through a mapping)
#   fs-kill           (test) virtiofsd SIGKILLed while the guest copies a big file through the
#                     share (during its second copy, the first one having gone through): the
#                     VMM must stay up and keep answering for 8 s (kvmm: vm.info through
#                     --api-socket, state Running), then stop when asked (vmm.shutdown, exit
#                     0); the guest's I/O may fail or hang
#   fs-kata           (test) through the API, the VmConfig Kata's clh driver sends for a default
#                     sandbox (2 GiB shared memory, two PCI segments, fs[] on segment 1, vsock,
#                     rng, serial Tty), adapted to the lab's kernel and initramfs; booted, the
#                     guest mounts kataShared and checks the tree and a write; the fs device
#                     must be on segment 1 (PCI) and in vm.counters
#   fs-add            (test, kvmm only) vm.create without fs[], then vm.add-fs (kvmm-remote
#                     add-fs, id share0) before vm.boot, as Kata's runtime-rs does; the same
#                     guest check as fs-kata; share0 in vm.counters and vm.info
#   fs-missing-socket (test) an fs socket nobody listens on: kvmm refuses to start
#                     (fs-missing-socket, CLI) or vm.boot fails naming the socket and kvmm keeps
#                     answering (fs-missing-socket-api, vm.add-fs before boot); fs-unshared-memory:
#                     --fs without --memory shared=on is refused
#   fs-read           (bench) reading a tree (the guest kernel's kernel/fs and kernel/net module
#                     trees, LAB_FS_TREE) and a LAB_FS_MB MiB file, the guest's page cache dropped
#                     before each read, kvmm beside QEMU's vhost-user-fs-pci with the same
#                     virtiofsd (cache=LAB_FS_CACHE), rounds interleaved; kvmm on virtio-mmio as a
#                     third series
#   fs-mem            (bench) the VMM's memory outside guest RAM (memory.sh's measure) with
#                     virtio-fs attached and used, kvmm beside QEMU
# LAB_FS_VMM=qemu runs the test scenarios against QEMU instead of kvmm (validation of the
# scenarios and of the guest side: vhost-user-fs-pci on -M pc / virt, or vhost-user-fs-device
# on microvm / virt with LAB_TRANSPORT=mmio; memory-backend-memfd share=on), with the same
# virtiofsd, guest and checks; what only kvmm has (its API) is checked only with kvmm, and
# fs-kill asks QEMU's monitor ("info status") instead of vm.info.
#
#   LAB_VIRTIOFSD   the back-end (/usr/lib/qemu/virtiofsd; run as root with -o sandbox=chroot)
#   LAB_FS_VMM      kvmm (default) or qemu
#   LAB_FS_MB       MiB of the big files (64)
#   LAB_FS_CACHE    virtiofsd's -o cache= (auto: the default of virtiofsd and of Kata; the
#                   guest's kernel cannot map a file MAP_SHARED with cache=none)
#   LAB_FS_TIMEOUT  seconds allowed per guest run (2.5 x LAB_TIMEOUT: a test scenario's lines
#                   come out when it ends, and run-lab.sh takes 300 s of silence for a wedged L1)
#   LAB_FS_TREE     fs-read: a directory with the guest kernel's kernel/fs and kernel/net trees
#                   (run-lab.sh: /lab/fs-tree in L1)
#   LAB_FS_ROUNDS   fs-read: rounds (3), each booting every VMM once
#   LAB_FS_RUNS     fs-read: reads of each kind per boot (3)

FS_VFSD=${LAB_VIRTIOFSD:-/usr/lib/qemu/virtiofsd}
FS_VMM=${LAB_FS_VMM:-kvmm}
FS_MB=${LAB_FS_MB:-64}
FS_CACHE=${LAB_FS_CACHE:-auto}
FS_TIMEOUT=${LAB_FS_TIMEOUT:-$((LAB_TIMEOUT * 5 / 2))}
FS_TAG=kataShared

# fs_field PREFIX NAME FILE: the value NAME=V on the first line of FILE with "PREFIX ".
fs_field() {
	grep -m 1 "$1 " "$3" 2>/dev/null | tr -d '\r' | tr ' ' '\n' | sed -n "s/^$2=//p" | head -n 1
}
fs_sha() { sha256sum "$1" 2>/dev/null | cut -d' ' -f1; }
# fs_pattern PREFIX BYTES: fs-mmap's pattern (16-byte records "PREFIX<hex index>\n").
fs_pattern() {
	awk -v p="$1" -v n=$(($2 / 16)) 'BEGIN { f = p "%0" (15 - length(p)) "x\n"
		for (i = 0; i < n; i++) printf f, i }'
}

# fs_make_tree DIR: a tree of files for the guest to check: sizes around page and FUSE request
# boundaries, an empty file and directory, a name with spaces, a long name, a deep path, a
# symlink. fs_manifest DIR OUT: "sha256  ./path" per regular file (sha256sum -c's input).
fs_make_tree() {
	for _fa in a b c; do
		for _fb in 1 2 3 4; do
			mkdir -p "$1/$_fa/$_fb"
			for _fc in 0 1 2 3 4 5; do
				head -c $((_fc * 4093 + _fb * 511)) /dev/urandom >"$1/$_fa/$_fb/f$_fc"
			done
		done
	done
	for _fn in 1 4095 4096 4097 131071 131072 131073 1048577 2097153; do
		head -c "$_fn" /dev/urandom >"$1/size-$_fn"
	done
	: >"$1/empty"
	mkdir -p "$1/empty-dir" "$1/d1/d2/d3/d4/d5/d6/d7/d8/d9/d10"
	echo deep >"$1/d1/d2/d3/d4/d5/d6/d7/d8/d9/d10/deep"
	echo spaces >"$1/name with spaces"
	echo long >"$1/$(printf '%0200d' 0)"
	ln -s a/1/f1 "$1/link"
}
fs_manifest() {
	(cd "$1" && find . -type f | while IFS= read -r _ff; do sha256sum "$_ff"; done) >"$2"
}

# fs_vfsd_start TAG SOCKET DIR: virtiofsd on SOCKET serving DIR, in a session of its own;
# FS_VPID, its log in FS_VLOG. Returns 1 (FS_WHY) unless it listens within 10 s (it says
# "Waiting for vhost-user socket connection" once it does, after bind and listen).
fs_vfsd_start() {
	FS_VLOG=$LAB_TMP/$1-virtiofsd.log
	rm -f "$2"
	setsid "$FS_VFSD" --socket-path="$2" -o source="$3" -o cache="$FS_CACHE" \
		-o sandbox=chroot </dev/null >"$FS_VLOG" 2>&1 &
	FS_VPID=$!
	_fi=0
	while [ ! -S "$2" ] || ! grep -q 'Waiting for vhost-user socket connection' "$FS_VLOG"; do
		if [ $_fi -ge 100 ] || ! mem_alive "$FS_VPID"; then
			FS_WHY="virtiofsd ($FS_VFSD) did not listen on $2: $(tail -n 3 "$FS_VLOG" | tr '\n' ' ')"
			kill -KILL "$FS_VPID" 2>/dev/null
			wait "$FS_VPID" 2>/dev/null
			FS_VPID=
			return 1
		fi
		sleep 0.1
		_fi=$((_fi + 1))
	done
}

# fs_vfsd_stop: virtiofsd ends by itself when its front-end goes away; waits up to 5 s, then
# kills it. FS_VEND: exited (status) or killed.
fs_vfsd_stop() {
	[ -n "$FS_VPID" ] || return 0
	_fi=0
	while mem_alive "$FS_VPID" && [ $_fi -lt 50 ]; do sleep 0.1; _fi=$((_fi + 1)); done
	FS_VEND=exited
	if mem_alive "$FS_VPID"; then
		FS_VEND=killed
		kill -KILL "$FS_VPID" 2>/dev/null
	fi
	_fr=0
	wait "$FS_VPID" 2>/dev/null || _fr=$?
	[ "$FS_VEND" = killed ] || FS_VEND="exited($_fr)"
	FS_VPID=
}

# The QEMU the scenarios compare with, as a wrapper script that execs it, so that run_guest,
# mem_start and setsid run it like kvmm:
#   $LAB_TMP/fs-qemu SOCKET MEM_MB CPUS CMDLINE [MORE QEMU ARGS]
# vhost-user-fs with queue-size 1024 and tag kataShared on SOCKET, guest RAM a shared memfd,
# an entropy device (kvmm has one by default). On PCI: -M pc (x86_64, SeaBIOS, the bzImage)
# or virt (aarch64) with vhost-user-fs-pci; with LAB_TRANSPORT=mmio: microvm (x86_64, qboot,
# the PVH vmlinux, ACPI) or virt with vhost-user-fs-device on virtio-mmio, made a virtio 1.x
# transport (QEMU's virtio-mmio is legacy by default, and virtiofsd's libvhost-user refuses a
# legacy device: "virtio legacy devices aren't supported").
fs_qemu_wrapper() {
	_fw=$LAB_TMP/fs-qemu
	case $LAB_ARCH/$LAB_TRANSPORT in
	x86_64/mmio)
		_fm="-M microvm,acpi=on,memory-backend=mem -global virtio-mmio.force-legacy=false"
		_fm="$_fm -bios ${LAB_QBOOT:-/usr/share/qemu/qboot.rom}"
		_fk=$KERNEL _fd=vhost-user-fs-device _fr=virtio-rng-device ;;
	x86_64/*)
		_fm="-M pc,memory-backend=mem${LAB_BIOS:+ -bios $LAB_BIOS}"
		_fk=$BOOT_KERNEL _fd=vhost-user-fs-pci,romfile= _fr=virtio-rng-pci,romfile= ;;
	*/mmio)
		_fm="-M virt,gic-version=host,memory-backend=mem -global virtio-mmio.force-legacy=false"
		_fk=$BOOT_KERNEL _fd=vhost-user-fs-device _fr=virtio-rng-device ;;
	*)
		_fm="-M virt,gic-version=host,memory-backend=mem"
		_fk=$BOOT_KERNEL _fd=vhost-user-fs-pci,romfile= _fr=virtio-rng-pci,romfile= ;;
	esac
	cat >"$_fw" <<EOF
#!/bin/sh
# QEMU with virtio-fs for the lab's virtio-fs scenarios (tests/lab/scenarios.d/virtio-fs.sh).
s=\$1 m=\$2 c=\$3 a=\$4
shift 4
exec "$LAB_QEMU" $_fm -nodefaults -enable-kvm -cpu host -smp "\$c" -m "\${m}M" \\
	-object memory-backend-memfd,id=mem,size="\${m}M",share=on \\
	-chardev socket,id=fs0,path="\$s" -device $_fd,queue-size=1024,chardev=fs0,tag=$FS_TAG \\
	-object rng-random,id=rng0,filename=/dev/urandom -device $_fr,rng=rng0 \\
	-no-reboot -serial stdio -nographic -kernel "$_fk" -initrd "$INITRAMFS" -append "\$a" "\$@"
EOF
	chmod 0755 "$_fw"
	echo "$_fw"
}

# fs_ready: the VMM under test can run (FS_WHY otherwise).
fs_ready() {
	if [ "$FS_VMM" = qemu ]; then
		command -v "$LAB_QEMU" >/dev/null 2>&1 || { FS_WHY="no QEMU ($LAB_QEMU)"; return 1; }
	else
		have_kvmm || { FS_WHY="kvmm binary $KVMM missing"; return 1; }
	fi
	[ -x "$FS_VFSD" ] || { FS_WHY="no virtiofsd at $FS_VFSD"; return 1; }
}

# fs_boot TAG SOCKET MEM_MB CMDLINE: one boot of the VMM under test with virtio-fs on SOCKET,
# bounded by FS_TIMEOUT (run_guest: RC, OUT, ERR, MARKER, ...).
fs_boot() {
	if [ "$FS_VMM" = qemu ]; then
		run_guest "$1" "$FS_TIMEOUT" "$(fs_qemu_wrapper)" "$2" "$3" 1 "$4"
	else
		run_guest "$1" "$FS_TIMEOUT" "$KVMM" -v --kernel "$KERNEL" --initramfs "$INITRAMFS" \
			--memory "size=$3M,shared=on" --fs "tag=$FS_TAG,socket=$2" --cmdline "$4"
	fi
}

# fs_dev_ok DEV: the device the guest's virtiofs driver bound sits on the lab's transport
# (a PCI function on PCI, not one on virtio-mmio); FS_WHY otherwise.
fs_dev_ok() {
	case $1 in
	[0-9a-f][0-9a-f][0-9a-f][0-9a-f]:[0-9a-f][0-9a-f]:[0-9a-f][0-9a-f].[0-7]) _fp=pci ;;
	'' | none) FS_WHY="the guest's virtiofs driver bound no device"; return 1 ;;
	*) _fp=mmio ;;
	esac
	[ "$_fp" = "$LAB_TRANSPORT" ] && return 0
	FS_WHY="the virtio-fs device is at '$1' ($_fp) on a $LAB_TRANSPORT lab"
	return 1
}

# fs-basic: see the top of this file.
sc_fs_basic() {
	_sh=$LAB_TMP/fs-share
	_s=$LAB_TMP/fs-basic.sock
	_parts="fs-basic fs-basic-tree fs-basic-ops fs-basic-copy fs-basic-mmap"
	FS_WHY=
	if ! fs_ready; then
		for _n in $_parts; do fail "$_n" "$FS_WHY"; done
		return 0
	fi
	rm -rf "$_sh"
	mkdir -p "$_sh/tree" "$_sh/ops"
	fs_make_tree "$_sh/tree"
	fs_manifest "$_sh/tree" "$_sh/manifest"
	_files=$(cd "$_sh/tree" && find . -type f | wc -l)
	_entries=$(cd "$_sh/tree" && find . | wc -l)
	printf 'rename me\n' >"$_sh/ops/to-rename"
	echo delete me >"$_sh/ops/to-delete"
	echo host >"$_sh/ops/host-append"
	head -c $((FS_MB * 1048576)) /dev/urandom >"$_sh/big-in"
	_insha=$(fs_sha "$_sh/big-in")
	fs_pattern HOSTMMAP- 1048624 >"$_sh/mmap-in"
	if ! fs_vfsd_start fs-basic "$_s" "$_sh"; then
		for _n in $_parts; do fail "$_n" "$FS_WHY"; done
		rm -rf "$_sh"
		return 0
	fi
	fs_boot fs-basic "$_s" 512 "$CMDLINE kvmm.test=virtiofs kvmm.fs_mode=full kvmm.fs_mb=$FS_MB"
	fs_vfsd_stop
	_o=$LAB_TMP/fs-basic.lines
	tr -d '\r' <"$OUT" | grep 'KVMM-FS' >"$_o" || true
	_done=$(grep -o 'KVMM-FS-DONE.*' "$_o" | head -n 1)
	_mrc=$(fs_field 'KVMM-FS mount' rc "$_o")
	_dev=$(fs_field 'KVMM-FS mount' dev "$_o")
	info "fs-basic vmm=$FS_VMM transport=$LAB_TRANSPORT $(last_run) guest_dev=${_dev:-none} virtiofsd=$FS_VEND ${_done:-no KVMM-FS-DONE}"
	_bad=
	if [ "$_mrc" != 0 ]; then
		_bad="the guest did not mount $FS_TAG (mount rc=${_mrc:-none}): $(last_run)"
		for _n in $_parts; do fail "$_n" "$_bad"; done
		dump_last
		tail -n 5 "$FS_VLOG" | sed 's/^/  | virtiofsd: /'
		rm -rf "$_sh"
		return 0
	fi

	# fs-basic: mounted on the right transport, unmounted, the guest test done, a clean end.
	FS_WHY=
	if ! fs_dev_ok "$_dev"; then
		_bad=$FS_WHY
	elif [ "$(fs_field 'KVMM-FS umount' rc "$_o")" != 0 ]; then
		_bad="umount rc=$(fs_field 'KVMM-FS umount' rc "$_o")"
	elif [ -z "$_done" ] || [ "$TIMED_OUT" = 1 ] || [ "$RC" != 0 ]; then
		_bad="want KVMM-FS-DONE and exit 0: ${_done:-no KVMM-FS-DONE}, $(last_run)"
	fi
	if [ -z "$_bad" ]; then
		pass fs-basic "mounted $FS_TAG at $_dev, unmounted, $_done, exit 0 in $RUN_MS ms"
	else
		fail fs-basic "$_bad"
		dump_last
		tail -n 5 "$FS_VLOG" | sed 's/^/  | virtiofsd: /'
	fi

	# fs-basic-tree
	_l="files=$(fs_field 'KVMM-FS tree' files "$_o") entries=$(fs_field 'KVMM-FS tree' entries "$_o")"
	_l="$_l ok=$(fs_field 'KVMM-FS tree' ok "$_o") bad=$(fs_field 'KVMM-FS tree' bad "$_o")"
	_l="$_l link=$(fs_field 'KVMM-FS tree' link "$_o")"
	if [ "$_l" = "files=$_files entries=$_entries ok=$_files bad=0 link=a/1/f1" ]; then
		pass fs-basic-tree "$_files files of the host's manifest match by sha256, $_entries entries, symlink read"
	else
		fail fs-basic-tree "guest: $_l; host: files=$_files entries=$_entries link=a/1/f1 $(grep 'tree-bad' "$_o" | head -n 2 | tr '\n' ' ')"
	fi

	# fs-basic-ops: what the guest did, as the host sees it.
	_tok=$(fs_field 'KVMM-FS ops' token "$_o")
	_b=
	[ "$(fs_field 'KVMM-FS ops' rc "$_o")" = 0 ] || _b="the guest's ops failed (rc=$(fs_field 'KVMM-FS ops' rc "$_o"))"
	[ -n "$_b" ] || [ "$(cat "$_sh/ops/new-file" 2>/dev/null)" = "KVMM-FS-WRITTEN $_tok" ] ||
		_b="new-file on the host: '$(head -c 80 "$_sh/ops/new-file" 2>/dev/null)', want 'KVMM-FS-WRITTEN $_tok'"
	[ -n "$_b" ] || [ "$(cat "$_sh/ops/newdir/inner" 2>/dev/null)" = inner ] || _b="no newdir/inner on the host"
	[ -n "$_b" ] || [ "$(cat "$_sh/ops/renamed" 2>/dev/null)" = "rename me" ] || _b="no renamed on the host"
	[ -n "$_b" ] || [ ! -e "$_sh/ops/to-rename" ] || _b="to-rename still on the host"
	[ -n "$_b" ] || [ ! -e "$_sh/ops/to-delete" ] || _b="to-delete still on the host"
	[ -n "$_b" ] || printf 'host\nappended\n' | cmp -s - "$_sh/ops/host-append" ||
		_b="host-append on the host: '$(tr '\n' '|' <"$_sh/ops/host-append")'"
	if [ -z "$_b" ]; then
		pass fs-basic-ops "the host sees the guest's write, mkdir, rename, delete and append"
	else
		fail fs-basic-ops "$_b ($(ls "$_sh/ops" | tr '\n' ' '))"
	fi

	# fs-basic-copy: FS_MB MiB each way.
	_gin=$(fs_field 'KVMM-FS copy-in' sha "$_o")
	_gout=$(fs_field 'KVMM-FS copy-out' sha "$_o")
	_back=$(fs_field 'KVMM-FS copy-out' readback "$_o")
	_hout=$(fs_sha "$_sh/big-out")
	_bytes=$(stat -c %s "$_sh/big-out" 2>/dev/null)
	_ims=$(fs_field 'KVMM-FS copy-in' ms "$_o")
	_oms=$(fs_field 'KVMM-FS copy-out' ms "$_o")
	if [ "$_gin" != "$_insha" ]; then
		fail fs-basic-copy "host->guest: the guest read sha ${_gin:-none}, the host wrote $_insha"
	elif [ -z "$_gout" ] || [ "$_hout" != "$_gout" ] || [ "$_bytes" != $((FS_MB * 1048576)) ]; then
		fail fs-basic-copy "guest->host: the guest wrote sha ${_gout:-none}, the host has ${_hout:-none} ($_bytes bytes; cp rc=$(fs_field 'KVMM-FS copy-out' rc "$_o"))"
	elif [ "$_back" != "$_gout" ]; then
		fail fs-basic-copy "guest->host: the guest read back sha ${_back:-none} after dropping its caches, wrote $_gout"
	else
		pass fs-basic-copy "$FS_MB MiB each way, sha256 equal: host->guest ${_ims} ms (with sha256), guest->host ${_oms} ms"
	fi

	# fs-basic-mmap
	_ml=$(grep -m 1 'KVMM-FS mmap ' "$_o")
	if [ "$(fs_field 'KVMM-FS mmap' write_rc "$_o")/$(fs_field 'KVMM-FS mmap' readback_rc "$_o")/$(fs_field 'KVMM-FS mmap' host_rc "$_o")" != 0/0/0 ]; then
		fail fs-basic-mmap "guest: ${_ml:-no KVMM-FS mmap line}"
	elif ! fs_pattern GUESTMMAP- 1048624 | cmp -s - "$_sh/mmap-out"; then
		fail fs-basic-mmap "the host's mmap-out differs from what the guest wrote through its mapping ($(stat -c %s "$_sh/mmap-out" 2>/dev/null) bytes; $(fs_pattern GUESTMMAP- 1048624 | cmp - "$_sh/mmap-out" 2>&1 | head -n 1))"
	else
		pass fs-basic-mmap "MAP_SHARED write + msync seen by the host; the host's file checked through a mapping"
	fi
	rm -rf "$_sh"
}

# fs_mon_start DIR / fs_mon_alive / fs_mon_end: QEMU's human monitor on a pipe chardev (FIFOs
# DIR/mon.in, DIR/mon.out: in a directory of their own, since a FIFO among LAB_TMP's *.out
# files would block whoever greps them), read into DIR/mon.log; fs_mon_alive asks "info
# status" and succeeds when the answer comes within 10 s and says the VM runs (FS_STATE: what
# it said).
fs_mon_start() {
	rm -rf "$1"
	mkdir -p "$1"
	FS_MON=$1/mon
	mkfifo "$FS_MON.in" "$FS_MON.out"
	cat "$FS_MON.out" >"$FS_MON.log" 2>/dev/null &
	FS_MON_CAT=$!
}
fs_mon_end() {
	kill "$FS_MON_CAT" 2>/dev/null
	wait "$FS_MON_CAT" 2>/dev/null
	rm -rf "${FS_MON%/mon}"
}
fs_mon_alive() {
	_fb=$(grep -c 'VM status' "$FS_MON.log" 2>/dev/null)
	echo 'info status' >"$FS_MON.in" &
	_fe=$!
	_fi=0
	while [ "$(grep -c 'VM status' "$FS_MON.log" 2>/dev/null)" = "${_fb:-0}" ] && [ $_fi -lt 100 ]; do
		sleep 0.1
		_fi=$((_fi + 1))
	done
	kill "$_fe" 2>/dev/null
	wait "$_fe" 2>/dev/null
	FS_STATE=$(grep 'VM status' "$FS_MON.log" 2>/dev/null | tail -n 1 | tr -d '\r')
	case $FS_STATE in *running*) return 0 ;; esac
	FS_STATE=${FS_STATE:-no answer in 10 s}
	return 1
}

# fs_alive PID: the VMM runs and answers (kvmm: vm.info says Running; QEMU: its monitor says
# running). FS_STATE says what it answered.
fs_alive() {
	mem_alive "$1" || { FS_STATE="the VMM (pid $1) is gone"; return 1; }
	if [ "$FS_VMM" = qemu ]; then
		fs_mon_alive
	else
		api info
		FS_STATE=$(echo "$API_OUT" | tr ',' '\n' | sed -n 's/.*"state": *"\([A-Za-z]*\)".*/\1/p')
		[ "$API_RC" = 0 ] || FS_STATE="vm.info: kvmm-remote exited $API_RC: $(echo "$API_OUT" | head -c 120)"
		[ "$FS_STATE" = Running ]
	fi
}

# fs-kill: see the top of this file.
sc_fs_kill() {
	_sh=$LAB_TMP/fs-kill-share
	_s=$LAB_TMP/fs-kill.sock
	_o=$LAB_TMP/fs-kill.out
	FS_WHY=
	fs_ready || { fail fs-kill "$FS_WHY"; return 0; }
	if [ "$FS_VMM" = kvmm ] && [ ! -x "${LAB_KVMM_REMOTE:-}" ]; then
		fail fs-kill "no kvmm-remote (LAB_KVMM_REMOTE)"
		return 0
	fi
	rm -rf "$_sh"
	mkdir -p "$_sh"
	head -c $((FS_MB * 1048576)) /dev/urandom >"$_sh/big-in"
	fs_vfsd_start fs-kill "$_s" "$_sh" || { fail fs-kill "$FS_WHY"; rm -rf "$_sh"; return 0; }
	_cmd="$CMDLINE kvmm.test=virtiofs kvmm.fs_mode=kill"
	: >"$_o"	# now: the background redirection may come after net_wait's first look
	if [ "$FS_VMM" = qemu ]; then
		fs_mon_start "$LAB_TMP/fs-kill-mon"
		setsid "$(fs_qemu_wrapper)" "$_s" 512 1 "$_cmd" -chardev "pipe,id=mon0,path=$FS_MON" \
			-mon chardev=mon0,mode=readline </dev/null >"$_o" 2>&1 &
	else
		rm -f "$API_SOCK"
		setsid "$KVMM" -v --api-socket "$API_SOCK" --kernel "$KERNEL" --initramfs "$INITRAMFS" \
			--memory size=512M,shared=on --fs "tag=$FS_TAG,socket=$_s" --cmdline "$_cmd" \
			</dev/null >"$_o" 2>&1 &
	fi
	_p=$!
	if ! net_wait "$_o" KVMM-FS-COPYING "$FS_TIMEOUT" "$_p"; then
		_bad="the guest never started copying ($(mem_alive "$_p" && echo "VMM running" || echo "VMM gone"))"
	elif ! net_wait "$_o" 'KVMM-FS kill-copy i=1 ' 60 "$_p"; then
		_bad="the guest's first copy did not end within 60 s ($(mem_alive "$_p" && echo "VMM running" || echo "VMM gone"))"
	else
		_bad=
		# One copy went through; pull the back-end from under the second.
		sleep 1
		kill -KILL "$FS_VPID" 2>/dev/null
		fs_vfsd_stop
		# The VMM must keep answering, for 8 s after the back-end died.
		_n=0
		while [ $_n -lt 4 ] && [ -z "$_bad" ]; do
			sleep 2
			_n=$((_n + 1))
			fs_alive "$_p" || _bad="after virtiofsd was killed (check $_n, $((_n * 2)) s): $FS_STATE"
		done
		_copies=$(tr -d '\r' <"$_o" | grep -c 'KVMM-FS kill-copy')
		_errs=$(tr -d '\r' <"$_o" | grep 'KVMM-FS kill-copy' | grep -vc 'rc=0$')
		# What the VMM said about it.
		grep -i -E 'virtio-fs|vhost' "$_o" | grep -v 'KVMM-FS' | tail -n 3 | cut -c1-200 |
			while IFS= read -r _x; do info "fs-kill $FS_VMM: $_x"; done
	fi
	# Asked to stop, it must stop.
	now_ms
	_ts=$NOW_MS
	if [ "$FS_VMM" = qemu ]; then
		echo quit >"$FS_MON.in" &
		_fe=$!
	else
		api shutdown-vmm
		[ "$API_RC" = 0 ] || [ -n "$_bad" ] || _bad="vmm.shutdown: kvmm-remote exited $API_RC: $API_OUT"
	fi
	_i=0
	while mem_alive "$_p" && [ $_i -lt 100 ]; do sleep 0.1; _i=$((_i + 1)); done
	now_ms
	_rc=0
	if mem_alive "$_p"; then
		kill -KILL "$_p" 2>/dev/null
		[ -n "$_bad" ] || _bad="the VMM did not stop within 10 s of being asked to"
	fi
	wait "$_p" 2>/dev/null || _rc=$?
	[ "$_rc" = 0 ] || [ -n "$_bad" ] || _bad="the VMM exited $_rc when asked to stop"
	if [ "$FS_VMM" = qemu ]; then
		kill "$_fe" 2>/dev/null
		wait "$_fe" 2>/dev/null
		fs_mon_end
	fi
	fs_vfsd_stop
	if [ -z "$_bad" ]; then
		pass fs-kill "$FS_VMM answered 4 times in 8 s after virtiofsd was SIGKILLed during the guest's second copy ($_copies of its copies ended, $_errs of them with an error), stopped in $((NOW_MS - _ts)) ms, exit 0"
	else
		fail fs-kill "$_bad"
		tail -n 30 "$_o" | sed 's/^/  | out: /'
	fi
	rm -rf "$_sh"
}

# fs_short_check LINES SHARE FILES: the guest's kvmm.fs_mode=kata lines (LINES, a file) say it
# mounted the share on the lab's transport and found FILES files matching the manifest, and
# the host finds in SHARE the kata-written file it wrote; FS_WHY otherwise.
fs_short_check() {
	_fk_t=$(fs_field 'KVMM-FS kata' token "$1")
	if [ "$(fs_field 'KVMM-FS mount' rc "$1")" != 0 ]; then
		FS_WHY="the guest did not mount $FS_TAG (mount rc=$(fs_field 'KVMM-FS mount' rc "$1"))"
	elif ! fs_dev_ok "$(fs_field 'KVMM-FS mount' dev "$1")"; then
		:
	elif [ "$(fs_field 'KVMM-FS tree' ok "$1")/$(fs_field 'KVMM-FS tree' bad "$1")" != "$3/0" ]; then
		FS_WHY="tree: $(grep -m 1 'KVMM-FS tree ' "$1"), want ok=$3 bad=0"
	elif [ "$(fs_field 'KVMM-FS kata' rc "$1")" != 0 ] ||
		[ "$(cat "$2/kata-written" 2>/dev/null)" != "KVMM-FS-WRITTEN $_fk_t" ]; then
		FS_WHY="write: $(grep -m 1 'KVMM-FS kata ' "$1"); the host has '$(head -c 80 "$2/kata-written" 2>/dev/null)'"
	else
		return 0
	fi
	return 1
}

# fs-kata: see the top of this file. Memory, CPUs, topology, rng, serial/console, vsock and fs[]
# as Kata's clh driver fills them for a default sandbox (2 GiB, 1 vCPU of up to every host
# CPU, hotplug up to the host's memory), with the generated client's defaults; the initramfs
# instead of the guest image disk (what Kata sends when an initrd is configured); its debug
# console (serial Tty, console=), quiet kept.
sc_fs_kata() {
	_sh=$LAB_TMP/fs-kata-share
	_s=$LAB_TMP/fs-kata-virtiofsd.sock
	_o=$LAB_TMP/fs-kata.out
	FS_WHY=
	fs_ready || { fail fs-kata "$FS_WHY"; return 0; }
	if [ "$FS_VMM" = kvmm ] && [ ! -x "${LAB_KVMM_REMOTE:-}" ]; then
		fail fs-kata "no kvmm-remote (LAB_KVMM_REMOTE)"
		return 0
	fi
	rm -rf "$_sh"
	mkdir -p "$_sh/tree"
	fs_make_tree "$_sh/tree"
	fs_manifest "$_sh/tree" "$_sh/manifest"
	_files=$(cd "$_sh/tree" && find . -type f | wc -l)
	fs_vfsd_start fs-kata "$_s" "$_sh" || { fail fs-kata "$FS_WHY"; rm -rf "$_sh"; return 0; }
	_cmd="console=$CONSOLE,115200n8 panic=1 no_timer_check noreplace-smp quiet$KVMM_CMDLINE${LAB_EXTRA_CMDLINE:+ $LAB_EXTRA_CMDLINE}"
	_cmd="$_cmd kvmm.test=virtiofs kvmm.fs_mode=kata kvmm.fs_hold=$LAB_TIMEOUT"
	_bad=
	if [ "$FS_VMM" = qemu ]; then
		# The guest side only: QEMU has no such API.
		run_guest fs-kata "$FS_TIMEOUT" "$(fs_qemu_wrapper)" "$_s" 2048 1 \
			"${_cmd%kvmm.fs_hold=*}kvmm.fs_hold=0"
		_o=$OUT
		[ "$RC" = 0 ] && [ "$TIMED_OUT" = 0 ] || _bad="$(last_run)"
	else
		kata_vmconfig "$LAB_TMP/fs-kata.json" "$_cmd" Tty "$LAB_TMP/fs-kata-vsock.sock" "$_s"
		API_BAD=
		api_start "$_o"
		_p=$API_PID
		api_expect create 0 create "$LAB_TMP/fs-kata.json"
		[ "$(api_state)" = Created ] || API_BAD=${API_BAD:-"state after vm.create: $(api_state)"}
		api_expect boot 0 boot
		[ "$(api_state)" = Running ] || API_BAD=${API_BAD:-"state after vm.boot: $(api_state)"}
		net_wait "$_o" KVMM-FS-DONE "$FS_TIMEOUT" "$_p" || API_BAD=${API_BAD:-"no KVMM-FS-DONE from the guest"}
		api_expect counters 0 counters
		echo "$API_OUT" | grep -q '"_fs[0-9]*":{' || API_BAD=${API_BAD:-"vm.counters without _fs<N>: $API_OUT"}
		# The interrupt path: on PCI with MSI-X the back-end writes the vectors' irqfds and
		# kvmm relays nothing; on virtio-mmio kvmm must relay every one.
		_fc=$(echo "$API_OUT" | grep -o '"_fs[0-9]*":{[^}]*}' | head -n 1)
		_irqfd=$(echo "$_fc" | sed -n 's/.*"queues_irqfd":\([0-9]*\).*/\1/p')
		_relayed=$(echo "$_fc" | sed -n 's/.*"irqs_relayed":\([0-9]*\).*/\1/p')
		if [ "$LAB_TRANSPORT" = pci ]; then
			[ "${_irqfd:-0}" -ge 2 ] && [ "${_relayed:-x}" = 0 ] ||
				API_BAD=${API_BAD:-"PCI: interrupts not on irqfds: $_fc"}
		else
			[ "${_relayed:-0}" -gt 0 ] || API_BAD=${API_BAD:-"virtio-mmio: no interrupt relayed: $_fc"}
		fi
		api_expect info 0 info
		_info=$API_OUT
		if [ "$LAB_TRANSPORT" = pci ]; then
			echo "$_info" | grep -q '"id":"_fs[0-9]*","resources":\[\],"children":\[\],"pci_bdf":"0001:00:' ||
				API_BAD=${API_BAD:-"vm.info has no _fs<N> on PCI segment 1: $(echo "$_info" | grep -o '"device_tree".*' | head -c 400)"}
		fi
		api_expect vmm-shutdown 0 shutdown-vmm
		_i=0
		while mem_alive "$_p" && [ $_i -lt 50 ]; do sleep 0.1; _i=$((_i + 1)); done
		mem_alive "$_p" && { kill -KILL "$_p"; API_BAD=${API_BAD:-"kvmm still running 5 s after vmm.shutdown"}; }
		_rc=0
		wait "$_p" 2>/dev/null || _rc=$?
		[ "$_rc" = 0 ] || API_BAD=${API_BAD:-"kvmm exited $_rc after vmm.shutdown"}
		_bad=$API_BAD
	fi
	fs_vfsd_stop
	# The guest's side, as the host sees it.
	tr -d '\r' <"$_o" | grep 'KVMM-FS' >"$LAB_TMP/fs-kata.lines" || true
	_l=$LAB_TMP/fs-kata.lines
	_dev=$(fs_field 'KVMM-FS mount' dev "$_l")
	FS_WHY=
	if [ -z "$_bad" ]; then
		if ! fs_short_check "$_l" "$_sh" "$_files"; then
			_bad=$FS_WHY
		elif [ "$FS_VMM" = kvmm ] && [ "$LAB_TRANSPORT" = pci ] && [ "${_dev%%:*}" != 0001 ]; then
			_bad="the guest found the virtio-fs device at $_dev, not on PCI segment 1"
		fi
	fi
	if [ -z "$_bad" ]; then
		if [ "$FS_VMM" = qemu ]; then
			pass fs-kata "qemu (guest side only): 2 GiB shared, $FS_TAG at $_dev, $_files files checked, a write seen by the host"
		else
			pass fs-kata "Kata's VmConfig: create, boot, $FS_TAG at $_dev, $_files files checked, a write seen by the host, _fs in vm.counters (irqfd queues ${_irqfd:-0}, relayed ${_relayed:-0}), vmm.shutdown"
		fi
	else
		fail fs-kata "$_bad"
		tail -n 30 "$_o" | sed 's/^/  | out: /'
		tail -n 5 "$FS_VLOG" | sed 's/^/  | virtiofsd: /'
	fi
	rm -rf "$_sh"
}

# fs-missing-socket: see the top of this file.
sc_fs_missing() {
	_ns=$LAB_TMP/fs-nosuch.sock
	rm -f "$_ns"
	FS_WHY=
	if ! fs_ready; then
		fail fs-missing-socket "$FS_WHY"
		return 0
	fi
	# On the command line: refused before the guest runs, with a message naming the socket.
	if [ "$FS_VMM" = qemu ]; then
		run_guest fs-missing-socket 30 "$(fs_qemu_wrapper)" "$_ns" 512 1 "$CMDLINE"
	else
		kvmm_boot fs-missing-socket --kernel "$KERNEL" --initramfs "$INITRAMFS" \
			--memory size=512M,shared=on --fs "tag=$FS_TAG,socket=$_ns" --cmdline "$CMDLINE" || true
	fi
	_want=1
	[ "$FS_VMM" = kvmm ] || _want="non-zero"
	if [ "$TIMED_OUT" = 1 ] || [ -n "$MARKER" ] || [ "$RC" = 0 ] ||
		{ [ "$FS_VMM" = kvmm ] && [ "$RC" != 1 ]; } || ! grep -q "$_ns" "$ERR" "$OUT"; then
		fail fs-missing-socket "want exit $_want, no guest and a message naming $_ns: $(last_run)"
		dump_last
	else
		pass fs-missing-socket "$FS_VMM exit=$RC: $(grep -h "$_ns" "$ERR" "$OUT" | head -n 1 | cut -c1-140)"
	fi
	[ "$FS_VMM" = kvmm ] || return 0

	# Guest RAM that a back-end cannot map: refused.
	kvmm_boot fs-unshared-memory --kernel "$KERNEL" --initramfs "$INITRAMFS" --memory size=512M \
		--fs "tag=$FS_TAG,socket=$_ns" --cmdline "$CMDLINE" || true
	if [ "$TIMED_OUT" = 1 ] || [ -n "$MARKER" ] || { [ "$RC" != 1 ] && [ "$RC" != 2 ]; } || [ ! -s "$ERR" ]; then
		fail fs-unshared-memory "want --fs without shared=on refused (exit 1 or 2, a message): $(last_run)"
		dump_last
	else
		pass fs-unshared-memory "exit=$RC: $(grep -v '^$' "$ERR" | head -n 1 | cut -c1-140)"
	fi

	# Through the API: vm.add-fs before boot is taken, vm.boot fails naming the socket, and
	# kvmm keeps serving.
	API_BAD=
	if [ ! -x "${LAB_KVMM_REMOTE:-}" ]; then
		fail fs-missing-socket-api "no kvmm-remote (LAB_KVMM_REMOTE)"
		return 0
	fi
	cat >"$LAB_TMP/fs-missing.json" <<EOF
{"payload": {"kernel": "$KERNEL", "initramfs": "$INITRAMFS", "cmdline": "$CMDLINE"},
 "cpus": {"boot_vcpus": 1, "max_vcpus": 1},
 "memory": {"size": 536870912, "shared": true},
 "serial": {"mode": "Tty"}, "console": {"mode": "Off"}}
EOF
	_o=$LAB_TMP/fs-missing-api.out
	api_start "$_o"
	_p=$API_PID
	api_expect create 0 create "$LAB_TMP/fs-missing.json"
	api_expect add-fs 0 raw PUT vm.add-fs "{\"tag\": \"$FS_TAG\", \"socket\": \"$_ns\", \"num_queues\": 1, \"queue_size\": 1024}"
	api_expect boot 1 boot
	echo "$API_OUT" | grep -q "$_ns" || API_BAD=${API_BAD:-"vm.boot's error does not name $_ns: $API_OUT"}
	_why=$(echo "$API_OUT" | head -n 1 | cut -c1-140)
	_st=$(api_state)
	[ "$_st" != Running ] || API_BAD=${API_BAD:-"state Running after a failed vm.boot"}
	api_expect ping-after 0 ping
	api_expect info-after 0 info
	api_expect vmm-shutdown 0 shutdown-vmm
	_i=0
	while mem_alive "$_p" && [ $_i -lt 50 ]; do sleep 0.1; _i=$((_i + 1)); done
	mem_alive "$_p" && { kill -KILL "$_p"; API_BAD=${API_BAD:-"kvmm still running 5 s after vmm.shutdown"}; }
	_rc=0
	wait "$_p" 2>/dev/null || _rc=$?
	[ "$_rc" = 0 ] || API_BAD=${API_BAD:-"kvmm exited $_rc after vmm.shutdown"}
	if [ -z "$API_BAD" ]; then
		pass fs-missing-socket-api "vm.add-fs taken, vm.boot refused ($_why), state $_st, kvmm kept serving"
	else
		fail fs-missing-socket-api "$API_BAD"
		tail -n 20 "$_o" | sed 's/^/  | out: /'
	fi
}

# fs-add (kvmm; runtime-rs's way, vm.add-fs): vm.create without fs[], the share added with
# kvmm-remote add-fs (an id of its own) before vm.boot; the guest mounts it and does fs-kata's
# short check; vm.counters and vm.info name the device by that id.
sc_fs_add() {
	_sh=$LAB_TMP/fs-add-share
	_s=$LAB_TMP/fs-add.sock
	_o=$LAB_TMP/fs-add.out
	FS_WHY=
	fs_ready || { fail fs-add "$FS_WHY"; return 0; }
	[ -x "${LAB_KVMM_REMOTE:-}" ] || { fail fs-add "no kvmm-remote (LAB_KVMM_REMOTE)"; return 0; }
	rm -rf "$_sh"
	mkdir -p "$_sh/tree"
	fs_make_tree "$_sh/tree"
	fs_manifest "$_sh/tree" "$_sh/manifest"
	_files=$(cd "$_sh/tree" && find . -type f | wc -l)
	fs_vfsd_start fs-add "$_s" "$_sh" || { fail fs-add "$FS_WHY"; rm -rf "$_sh"; return 0; }
	cat >"$LAB_TMP/fs-add.json" <<EOF
{"payload": {"kernel": "$KERNEL", "initramfs": "$INITRAMFS",
  "cmdline": "$CMDLINE kvmm.test=virtiofs kvmm.fs_mode=kata kvmm.fs_hold=$LAB_TIMEOUT"},
 "cpus": {"boot_vcpus": 1, "max_vcpus": 1},
 "memory": {"size": 536870912, "shared": true},
 "serial": {"mode": "Tty"}, "console": {"mode": "Off"}}
EOF
	API_BAD=
	api_start "$_o"
	_p=$API_PID
	api_expect create 0 create "$LAB_TMP/fs-add.json"
	api_expect add-fs 0 add-fs "tag=$FS_TAG,socket=$_s,id=share0"
	api_expect boot 0 boot
	net_wait "$_o" KVMM-FS-DONE "$FS_TIMEOUT" "$_p" || API_BAD=${API_BAD:-"no KVMM-FS-DONE from the guest"}
	api_expect counters 0 counters
	echo "$API_OUT" | grep -q '"share0":{' || API_BAD=${API_BAD:-"vm.counters without share0: $API_OUT"}
	api_expect info 0 info
	echo "$API_OUT" | grep -q '"id":"share0"' || API_BAD=${API_BAD:-"vm.info's device_tree without share0"}
	api_expect vmm-shutdown 0 shutdown-vmm
	_i=0
	while mem_alive "$_p" && [ $_i -lt 50 ]; do sleep 0.1; _i=$((_i + 1)); done
	mem_alive "$_p" && { kill -KILL "$_p"; API_BAD=${API_BAD:-"kvmm still running 5 s after vmm.shutdown"}; }
	_rc=0
	wait "$_p" 2>/dev/null || _rc=$?
	[ "$_rc" = 0 ] || API_BAD=${API_BAD:-"kvmm exited $_rc after vmm.shutdown"}
	fs_vfsd_stop
	tr -d '\r' <"$_o" | grep 'KVMM-FS' >"$LAB_TMP/fs-add.lines" || true
	FS_WHY=
	[ -n "$API_BAD" ] || fs_short_check "$LAB_TMP/fs-add.lines" "$_sh" "$_files" || API_BAD=$FS_WHY
	if [ -z "$API_BAD" ]; then
		pass fs-add "create, add-fs (id share0), boot: $FS_TAG at $(fs_field 'KVMM-FS mount' dev "$LAB_TMP/fs-add.lines"), $_files files checked, a write seen by the host; share0 in vm.counters and vm.info"
	else
		fail fs-add "$API_BAD"
		tail -n 30 "$_o" | sed 's/^/  | out: /'
		tail -n 5 "$FS_VLOG" | sed 's/^/  | virtiofsd: /'
	fi
	rm -rf "$_sh"
}

# --- benchmarks ------------------------------------------------------------------------------

# fs_bench_share DIR: the benchmarks' share: the module trees as tree/, FS_MB MiB as big-in.
fs_bench_share() {
	rm -rf "$1"
	mkdir -p "$1/tree"
	if [ ! -d "${LAB_FS_TREE:-}/fs" ] || [ ! -d "$LAB_FS_TREE/net" ]; then
		FS_WHY="no module trees in LAB_FS_TREE='${LAB_FS_TREE:-}' (fs/, net/)"
		return 1
	fi
	cp -R "$LAB_FS_TREE/fs" "$LAB_FS_TREE/net" "$1/tree/" || { FS_WHY="cannot copy $LAB_FS_TREE"; return 1; }
	head -c $((FS_MB * 1048576)) /dev/urandom >"$1/big-in"
	info "fs share $(find "$1/tree" -type f | wc -l) files, $(find "$1/tree" -type d | wc -l) directories, $(du -sk "$1/tree" | cut -f1) kB in tree/; big-in $FS_MB MiB; virtiofsd -o cache=$FS_CACHE"
}

# fs_read_one VMM ROUND SOCK SHARE CMD...: one boot for fs-read (virtiofsd started for it);
# prints one INFO line per read and appends the times to FS_TREE_<vmm> / FS_SEQ_<vmm>
# (global lists, "-" in the name made "_"). Returns 1 (FS_WHY) when nothing was measured.
# (Its variables are prefixed: sh has no locals, and the fs_vfsd_* helpers use short names.)
fs_read_one() {
	_rd_v=$1 _rd_r=$2 _rd_s=$3 _rd_sh=$4
	shift 4
	fs_vfsd_start "fs-read-$_rd_v-$_rd_r" "$_rd_s" "$_rd_sh" || return 1
	run_guest "fs-read-$_rd_v-$_rd_r" "$FS_TIMEOUT" "$@"
	fs_vfsd_stop
	tr -d '\r' <"$OUT" | grep 'KVMM-FS-BENCH ' >"$LAB_TMP/fs-read.lines" || true
	_rd_var=$(echo "$_rd_v" | tr - _)
	_rd_n=0
	while IFS= read -r _rd_l; do
		_rd_i=$(echo "$_rd_l" | sed -n 's/.* run=\([0-9]*\).*/\1/p')
		_rd_t=$(echo "$_rd_l" | sed -n 's/.* tree_ms=\([0-9]*\).*/\1/p')
		_rd_q=$(echo "$_rd_l" | sed -n 's/.* seq_ms=\([0-9]*\).*/\1/p')
		info "fs-read run=$_rd_r.$_rd_i vmm=$_rd_v ${_rd_l#*run=* }"
		eval "FS_TREE_$_rd_var=\"\$FS_TREE_$_rd_var $_rd_t\" FS_SEQ_$_rd_var=\"\$FS_SEQ_$_rd_var $_rd_q\""
		_rd_n=$((_rd_n + 1))
	done <"$LAB_TMP/fs-read.lines"
	if [ "$_rd_n" = 0 ] || ! grep -q 'KVMM-FS-DONE fail=none' "$OUT"; then
		FS_WHY="$_rd_v round $_rd_r: $_rd_n reads, $(grep -o 'KVMM-FS-DONE.*' "$OUT" | head -n 1 | tr -d '\r'), $(last_run)"
		dump_last
		return 1
	fi
}

# MB/s of BYTES in MS ms.
fs_mbps() { awk -v b="$1" -v ms="$2" 'BEGIN { if (ms > 0) printf "%.1f", b / 1048576 / (ms / 1000); else print "none" }'; }

# fs-read: see the top of this file.
sc_fs_read() {
	_sh=$LAB_TMP/fs-bench-share
	_s=$LAB_TMP/fs-read.sock
	_rounds=${LAB_FS_ROUNDS:-3}
	_runs=${LAB_FS_RUNS:-3}
	FS_TREE_kvmm='' FS_SEQ_kvmm='' FS_TREE_qemu='' FS_SEQ_qemu='' FS_TREE_kvmm_mmio='' FS_SEQ_kvmm_mmio=''
	FS_WHY=
	[ -x "$FS_VFSD" ] || { fail fs-read "no virtiofsd at $FS_VFSD"; return 0; }
	fs_bench_share "$_sh" || { fail fs-read "$FS_WHY"; return 0; }
	_miss=
	_kvmm=1 _qemu=1 _mmio=1
	have_kvmm || { _kvmm=0 _mmio=0 _miss=" kvmm(absent)"; }
	command -v "$LAB_QEMU" >/dev/null 2>&1 || { _qemu=0 _miss="$_miss qemu(absent)"; }
	_cmd="$BASE_CMDLINE kvmm.test=virtiofs kvmm.fs_mode=bench kvmm.fs_runs=$_runs"
	_mcmd=$_cmd
	[ "$LAB_ARCH" != x86_64 ] || _mcmd="$BASE_CMDLINE pci=off kvmm.test=virtiofs kvmm.fs_mode=bench kvmm.fs_runs=$_runs"
	_qw=$(LAB_TRANSPORT=pci fs_qemu_wrapper)
	_r=0
	while [ $_r -lt "$_rounds" ]; do
		_r=$((_r + 1))
		# A VMM that could not be measured once is not run again.
		if [ $_kvmm = 1 ]; then
			fs_read_one kvmm "$_r" "$_s" "$_sh" "$KVMM" --kernel "$BOOT_KERNEL" \
				--initramfs "$INITRAMFS" --cpus boot=1 --memory size=512M,shared=on \
				--fs "tag=$FS_TAG,socket=$_s" --cmdline "$_cmd" ||
				{ _kvmm=0; _miss="$_miss kvmm($FS_WHY)"; }
		fi
		if [ $_qemu = 1 ]; then
			fs_read_one qemu "$_r" "$_s" "$_sh" "$_qw" "$_s" 512 1 "$_cmd" ||
				{ _qemu=0; _miss="$_miss qemu($FS_WHY)"; }
		fi
		if [ $_mmio = 1 ]; then
			fs_read_one kvmm-mmio "$_r" "$_s" "$_sh" "$KVMM" --virtio-transport mmio \
				--kernel "$BOOT_KERNEL" --initramfs "$INITRAMFS" --cpus boot=1 \
				--memory size=512M,shared=on --fs "tag=$FS_TAG,socket=$_s" --cmdline "$_mcmd" ||
				{ _mmio=0; info "fs-read kvmm-mmio not measured: $FS_WHY"; }
		fi
	done
	# Throughput from the medians: the bytes of one read of each kind.
	_tb=$(grep -h -o 'tree_bytes=[0-9]*' "$LAB_TMP"/fs-read-*.out 2>/dev/null | head -n 1 | cut -d= -f2)
	_sb=$((FS_MB * 1048576))
	for _fv in kvmm qemu kvmm-mmio; do
		eval "_t=\$FS_TREE_$(echo "$_fv" | tr - _) _q=\$FS_SEQ_$(echo "$_fv" | tr - _)"
		[ -n "$_t" ] || continue
		# shellcheck disable=SC2086 # one number a word
		info "fs-read MB/s vmm=$_fv tree=$(fs_mbps "${_tb:-0}" "$(median $_t)") seq=$(fs_mbps "$_sb" "$(median $_q)") tree_ms=$(median $_t) seq_ms=$(median $_q)"
	done
	peer_verdict fs-read-tree ms "$FS_TREE_kvmm" "$FS_TREE_qemu" "$_miss"
	peer_verdict fs-read-seq ms "$FS_SEQ_kvmm" "$FS_SEQ_qemu" "$_miss"
	rm -rf "$_sh"
}

# fs_mem_run KIND RUN SOCK SHARE CMD...: mem_start (memory.sh) with virtiofsd started, waits
# for the guest to have used the share ("KVMM-FS-IDLE"), lets it settle, measures the VMM and
# virtiofsd, stops both. Prints the run's line; MEM_OVER, or 1 with MEM_WHY. (Its variables
# are prefixed: memory.sh's helpers use the short names.)
fs_mem_run() {
	_fm_k=$1 _fm_i=$2 _fm_s=$3 _fm_sh=$4
	shift 4
	MEM_WHY=
	fs_vfsd_start "fs-mem-$_fm_k-$_fm_i" "$_fm_s" "$_fm_sh" || { MEM_WHY=$FS_WHY; return 1; }
	mem_start "fs-mem-$_fm_k-$_fm_i" "$@"
	_fm_w=0
	while ! grep -q KVMM-FS-IDLE "$OUT" 2>/dev/null; do
		if [ $_fm_w -ge $((FS_TIMEOUT * 5)) ] || ! mem_alive "$MEM_P"; then
			MEM_WHY="no KVMM-FS-IDLE from the guest ($(grep -o 'KVMM-FS-DONE.*' "$OUT" | head -n 1 | tr -d '\r'))"
			break
		fi
		sleep 0.2
		_fm_w=$((_fm_w + 1))
	done
	_fm_p=$MEM_P
	if [ -z "$MEM_WHY" ]; then
		sleep "${LAB_MEM_SETTLE:-2}"
		_fm_p=$(mem_leaf "$MEM_P")
		mem_measure "$_fm_k" "$_fm_p" || true
		_fm_v=$(awk '/^Pss:/ { print $2 }' "/proc/$FS_VPID/smaps_rollup" 2>/dev/null)
	fi
	mem_stop "$_fm_p"
	fs_vfsd_stop
	if [ -n "$MEM_WHY" ]; then
		info "fs-mem run=$_fm_i vmm=$_fm_k not measured: $MEM_WHY (stop=$MEM_STOP exit=$MEM_RC)"
		dump_last
		return 1
	fi
	MEM_OVER=$((MEM_PSS - MEM_GPSS))
	info "fs-mem run=$_fm_i vmm=$_fm_k pss_kb=$MEM_PSS rss_kb=$MEM_RSS guest_pss_kb=$MEM_GPSS overhead_kb=$MEM_OVER threads=$MEM_THREADS"
	info "fs-mem run=$_fm_i vmm=$_fm_k detail private_kb=$MEM_PRIV anon_kb=$MEM_ANON guest_maps=$MEM_GMAPS virtiofsd_pss_kb=${_fm_v:-none} stop=$MEM_STOP exit=$MEM_RC left=$MEM_LEFT"
	[ "$_fm_i" != 1 ] || info "fs-mem vmm=$_fm_k top_pss_kb $(sort -rn "$MEM_TOP" | head -n 8 |
		awk '{ printf "%s%s=%s", (NR > 1 ? " " : ""), $2, $1 }')"
}

# fs-mem: see the top of this file.
sc_fs_mem() {
	_sh=$LAB_TMP/fs-bench-share
	_s=$LAB_TMP/fs-mem.sock
	_runs=${LAB_MEM_RUNS:-3}
	FS_WHY=
	[ -x "$FS_VFSD" ] || { fail fs-mem "no virtiofsd at $FS_VFSD"; return 0; }
	fs_bench_share "$_sh" || { fail fs-mem "$FS_WHY"; return 0; }
	_k='' _q='' _miss=''
	_kvmm=1 _qemu=1
	have_kvmm || { _kvmm=0; _miss=" kvmm(absent)"; }
	command -v "$LAB_QEMU" >/dev/null 2>&1 || { _qemu=0; _miss="$_miss qemu(absent)"; }
	_cmd="$BASE_CMDLINE kvmm.test=virtiofs kvmm.fs_mode=idle"
	_qw=$(LAB_TRANSPORT=pci fs_qemu_wrapper)
	for _i in $(seq 1 "$_runs"); do
		if [ $_kvmm = 1 ]; then
			if fs_mem_run kvmm "$_i" "$_s" "$_sh" "$KVMM" --kernel "$BOOT_KERNEL" \
				--initramfs "$INITRAMFS" --cpus boot=1 --memory "size=${MEM_RAM_MB}M,shared=on" \
				--fs "tag=$FS_TAG,socket=$_s" --cmdline "$_cmd"; then
				_k="$_k $MEM_OVER"
			else
				_kvmm=0 _miss="$_miss kvmm#$_i($MEM_WHY)"
			fi
		fi
		if [ $_qemu = 1 ]; then
			if fs_mem_run qemu "$_i" "$_s" "$_sh" "$_qw" "$_s" "$MEM_RAM_MB" 1 "$_cmd"; then
				_q="$_q $MEM_OVER"
			else
				_qemu=0 _miss="$_miss qemu#$_i($MEM_WHY)"
			fi
		fi
	done
	peer_verdict fs-mem kb "$_k" "$_q" "$_miss"
	rm -rf "$_sh"
}

scenario fs-basic any sc_fs_basic
scenario fs-kill any sc_fs_kill
scenario fs-kata any sc_fs_kata
scenario fs-missing-socket any sc_fs_missing
# Through kvmm's API alone: nothing to compare with QEMU.
[ "$FS_VMM" = qemu ] || scenario fs-add any sc_fs_add
bench fs-read any sc_fs_read
bench fs-mem any sc_fs_mem
