# Lab benchmarks of hot-plug latency beside QEMU (sourced by scenarios.sh; POSIX sh; uses the
# hp_* helpers of hotplug.sh, api.sh's, virtio-net.sh's net_tap and memory.sh's mem_alive).
# Each times one kind of hot-plug from the request to the guest test's line
# (guest-images/tests/hotplug) saying that what came is usable, LAB_HP_BENCH_RUNS times in one
# boot of each VMM, kvmm (API) beside QEMU -M q35 (QMP on a pipe chardev) in the same L1 boot,
# same kernel, initramfs and command line; medians and their ratio (peer_verdict):
#   hp-latency-net  a NIC on a TAP (kvmmtap2): kvmm vm.add-net with the TAP's fd over
#                   SCM_RIGHTS, QEMU netdev_add tap + device_add virtio-net-pci on a
#                   pcie-root-port of its own per run; to the guest's "KVMM-HP add kind=net"
#                   line, written once it brought the NIC up and pinged the host through it.
#                   Each NIC is removed (and gone in the guest) before the next: the guest
#                   gives every NIC the same address
#   hp-latency-cpu  one vCPU: kvmm vm.resize 1 -> 2, QEMU device_add host-x86_64-cpu; to the
#                   guest's "KVMM-HP cpu-add n=1 online=0" line (added by its ACPI processor
#                   driver and onlined); taken out again before the next run (vm.resize to 1,
#                   device_del), to the guest's "KVMM-HP cpu-gone n=1"
#   hp-latency-fs   a virtio-fs share, each run on a virtiofsd of its own: kvmm vm.add-fs, QEMU
#                   chardev-add + device_add vhost-user-fs-pci on a pcie-root-port (guest RAM
#                   a shared memfd, as vhost-user needs); to the guest's "KVMM-HP add
#                   kind=fs" line, written once it mounted the tag and read a file with the
#                   host's sha256. Removed (and gone in the guest) before the next run
#   hp-latency-mem  128 MiB of RAM each run, kept: kvmm vm.resize desired_ram (the VM has a
#                   hotplug_size for all runs), QEMU object_add memory-backend-ram +
#                   device_add pc-dimm (-m 512M,slots=RUNS,maxmem=...); to the guest's
#                   "KVMM-HP mem-add" line, written once its blocks are added and onlined
#                   (the guest waits 300 ms without a new block before it counts a batch
#                   done, in both)
# (hotplug.sh's hp-latency does the same for a disk.)  A run that fails ends its VMM's series
# and the benchmark FAILs naming it; nothing is repeated.

# hpb_qemu_start TAG ARGS...: QEMU -M q35 with the hot-plug guest (output in HP_O =
# LAB_TMP/TAG.out, pid HP_P) and ARGS, QMP on a pipe (HP_QMP, its answers in HP_QMP.log);
# waits for the guest's KVMM-HP-READY and the answer to qmp_capabilities. HP_BOOT_MS: from
# the start to READY. 1 with HP_WHY otherwise.
hpb_qemu_start() {
	_hq_tag=$1
	shift
	HPB_QD=$LAB_TMP/$_hq_tag-qmp
	rm -rf "$HPB_QD"
	mkdir -p "$HPB_QD"
	HP_QMP=$HPB_QD/qmp
	mkfifo "$HP_QMP.in" "$HP_QMP.out"
	cat "$HP_QMP.out" >"$HP_QMP.log" 2>/dev/null &
	HPB_QCAT=$!
	HP_O=$LAB_TMP/$_hq_tag.out HP_E=
	now_ms
	_hq_t=$NOW_MS
	setsid "$LAB_QEMU" -M q35 ${LAB_BIOS:+-bios "$LAB_BIOS"} -nodefaults -enable-kvm \
		-cpu host -no-reboot -serial stdio -nographic "$@" \
		-chardev "pipe,id=qmp0,path=$HP_QMP" -mon chardev=qmp0,mode=control \
		-kernel "$BOOT_KERNEL" -initrd "$INITRAMFS" \
		-append "$BASE_CMDLINE kvmm.test=hotplug kvmm.hp_hold=$HP_HOLD$HPB_CMDLINE" \
		</dev/null >"$HP_O" 2>&1 &
	HP_P=$!
	HP_WHY=
	if ! hp_wait KVMM-HP-READY 1 $((LAB_TIMEOUT * 2)); then
		HP_WHY="no KVMM-HP-READY from the guest ($HP_WAIT_WHY)$(hpb_qemu_state)"
		return 1
	fi
	HP_BOOT_MS=$((HP_SEEN - _hq_t))
	hp_qmp '{"execute": "qmp_capabilities"}'
	hp_qmp_wait 1 && return 0
	HP_WHY="QMP: no answer to qmp_capabilities: $(head -c 200 "$HP_QMP.log")"
	return 1
}

# hpb_qemu_state: where a QEMU guest that stopped answering is, for the failure line (QEMU's
# answer to kvmm's SIGUSR2 dump): its console's last line, then vCPU 0's registers read twice
# over QMP 1 s apart (HMP "info registers"): RIP, CR2, whether RIP moved, and "CR2 == RIP" when
# the guest sits on a fetch fault at its own RIP, the third form of the emulated L1's fault
# (docs/triple-fault.md). Nothing when QEMU is gone.
hpb_qemu_state() {
	mem_alive "$HP_P" || return 0
	_qs_n=$(hp_qmp_returns)
	hp_qmp '{"execute": "qmp_capabilities"}' \
		'{"execute": "human-monitor-command", "arguments": {"command-line": "info registers"}}'
	sleep 1
	hp_qmp '{"execute": "human-monitor-command", "arguments": {"command-line": "info registers"}}'
	hp_qmp_wait $((_qs_n + 3)) || {
		printf '; QEMU alive, QMP did not answer: %s' "$(head -c 160 "$HP_QMP.log")"
		return 0
	}
	# (EIP outside long mode; HLT=1: halted)
	_qs_rip=$(grep -o '[ER]IP=[0-9a-f]*' "$HP_QMP.log" | tail -n 2 | cut -d= -f2 | tr '\n' ' ')
	_qs_cr2=$(grep -o 'CR2=[0-9a-f]*' "$HP_QMP.log" | tail -n 1 | cut -d= -f2)
	_qs_hlt=$(grep -o 'HLT=[01]' "$HP_QMP.log" | tail -n 1 | cut -d= -f2)
	# shellcheck disable=SC2086 # two words, the RIPs
	set -- $_qs_rip
	printf '; console: "%s"; QEMU vCPU 0: RIP %s then %s 1 s later, CR2 %s, HLT %s' \
		"$(tr -d '\000\r' <"$HP_O" | grep -v '^$' | tail -n 1 | cut -c1-120)" \
		"${1:-?}" "${2:-?}" "${_qs_cr2:-?}" "${_qs_hlt:-?}"
	[ -z "${2:-}" ] || [ "$1" != "$2" ] || printf ' (RIP did not move)'
	[ -z "${2:-}" ] || [ "$2" != "$_qs_cr2" ] ||
		printf ' (CR2 == RIP: the emulated L1'"'"'s fetch fault, docs/triple-fault.md)'
}

# hpb_qemu_stop: quit over QMP, then (10 s later) SIGKILL; the QMP reader and files go.
hpb_qemu_stop() {
	hp_qmp '{"execute": "quit"}'
	_hq_i=0
	while mem_alive "$HP_P" && [ $_hq_i -lt 100 ]; do sleep 0.1; _hq_i=$((_hq_i + 1)); done
	kill -KILL "$HP_P" 2>/dev/null
	wait "$HP_P" 2>/dev/null
	kill "$HPB_QCAT" 2>/dev/null
	wait "$HPB_QCAT" 2>/dev/null
	rm -rf "$HPB_QD"
}

# hpb_deleted N: up to 10 s for QEMU's N-th DEVICE_DELETED event (the guest's eject reached
# it and the device's id is free again). 1 otherwise.
hpb_deleted() {
	_hq_i=0
	while [ "$(grep -o '"DEVICE_DELETED"' "$HP_QMP.log" 2>/dev/null | wc -l)" -lt "$1" ]; do
		[ $_hq_i -lt 100 ] && mem_alive "$HP_P" || return 1
		sleep 0.1
		_hq_i=$((_hq_i + 1))
	done
}

# hpb_qmp_error: QMP's first error answer so far, for messages.
hpb_qmp_error() { grep -o '"error".*' "$HP_QMP.log" 2>/dev/null | head -n 1 | head -c 160; }

# hpb_kvmm_run NAME N KIND USABLE ID ADD_KIND ADD_ARG: run N of a device hot-plugged into kvmm
# and taken out again: vm.add-ADD_KIND ADD_ARG (hp_add), the guest's "KVMM-HP add" line of KIND
# passing the check USABLE ends the run (its ms into HPB_KVMM); then vm.remove-device ID, the
# guest's "gone" and kvmm's release. 1 with API_BAD otherwise.
hpb_kvmm_run() {
	hp_add "$6" "$5" "$7" && hp_guest_add "$3" && "$4" || return 1
	info "$1 run=$2 vmm=kvmm lat_ms=$HP_LAT guest_ms=$HP_GMS bdf=$HP_BDF"
	HPB_KVMM="$HPB_KVMM $HP_LAT"
	hp_remove "$5" && hp_guest_gone "$HP_BDF" && hp_release "$5" "" "" ""
}

# hpb_root_ports N: QEMU's options for N pcie-root-ports, rp1..rpN, one per hot-plugged device.
hpb_root_ports() {
	_hr=
	_hr_i=0
	while [ $_hr_i -lt "$1" ]; do
		_hr_i=$((_hr_i + 1))
		_hr="$_hr -device pcie-root-port,id=rp$_hr_i,chassis=$_hr_i,slot=$_hr_i,io-reserve=0"
	done
	echo "$_hr"
}

# hpb_qemu_run NAME N KIND USABLE DEV ADD_BACKEND ADD_DEVICE DEL_BACKEND: run N of a PCI device
# hot-plugged into QEMU and taken out again: ADD_BACKEND and ADD_DEVICE (QMP commands) sent
# together, the clock started before; the guest's next "KVMM-HP add" line, of KIND and passing
# the check USABLE, ends the run (its ms into HPB_QEMU); then device_del DEV, the guest's
# "gone", QEMU's DEVICE_DELETED, and DEL_BACKEND, answered. HPB_QN counts the answers QMP
# owes (1 after hpb_qemu_start). 1 with HP_WHY otherwise.
hpb_qemu_run() {
	HP_NADD=$(hp_count 'KVMM-HP add ')
	HP_BDF=
	API_BAD=
	now_ms
	HP_T_API=$NOW_MS
	hp_qmp "$6" "$7"
	HPB_QN=$((HPB_QN + 2))
	if ! { hp_guest_add "$3" && "$4"; }; then
		HP_WHY="run $2: $API_BAD; QMP: $(hpb_qmp_error)"
		return 1
	fi
	info "$1 run=$2 vmm=qemu lat_ms=$HP_LAT guest_ms=$HP_GMS bdf=$(hp_val bdf)"
	HPB_QEMU="$HPB_QEMU $HP_LAT"
	_hr_bdf=$(hp_val bdf)
	HP_NGONE=$(hp_count 'KVMM-HP gone ')
	now_ms
	HP_T_RM=$NOW_MS
	hp_qmp "{\"execute\": \"device_del\", \"arguments\": {\"id\": \"$5\"}}"
	HPB_QN=$((HPB_QN + 1))
	if ! hp_guest_gone "$_hr_bdf"; then
		HP_WHY="run $2: $API_BAD; QMP: $(hpb_qmp_error)"
		return 1
	fi
	hpb_deleted "$2" || { HP_WHY="run $2: no DEVICE_DELETED from QEMU: $(hpb_qmp_error)"; return 1; }
	hp_qmp "$8"
	HPB_QN=$((HPB_QN + 1))
	hp_qmp_wait "$HPB_QN" && return 0
	HP_WHY="run $2: QMP: no answer to $8: $(hpb_qmp_error)"
	return 1
}

# hpb_net_usable: HP_LINE (a "KVMM-HP add kind=net" line) says the NIC came up with HP_MAC and
# pinged the host. 1 with API_BAD otherwise.
hpb_net_usable() {
	[ "$(hp_val mac)/$(hp_val up)/$(hp_val ping)" = "$HP_MAC/0/0" ] && return 0
	API_BAD="want mac=$HP_MAC up=0 ping=0: $HP_LINE"
	return 1
}

# --- hp-latency-net ---------------------------------------------------------------------------

# hpb_net_kvmm RUNS: latencies in HPB_KVMM. 1 with HP_WHY when a run could not be measured.
hpb_net_kvmm() {
	hp_vm_json "$LAB_TMP/hpb-net.json" false "$HPB_CMDLINE"
	if hp_boot hpb-net-kvmm "$LAB_TMP/hpb-net.json"; then
		info "hp-latency-net vmm=kvmm boot_to_ready_ms=$HP_BOOT_MS"
		_bi=0
		while [ $_bi -lt "$1" ]; do
			_bi=$((_bi + 1))
			hpb_kvmm_run hp-latency-net "$_bi" net hpb_net_usable "hpbn$_bi" net-fd \
				"fd=9,id=hpbn$_bi,mac=$HP_MAC" || break
		done
	fi
	_bbad=$API_BAD
	hp_end
	HP_WHY=${_bbad:-$API_BAD}
	[ -z "$HP_WHY" ] && return 0
	hp_dump
	return 1
}

# hpb_net_qemu RUNS: latencies in HPB_QEMU. 1 with HP_WHY when a run could not be measured.
hpb_net_qemu() {
	# shellcheck disable=SC2046 # the device options are meant to split
	hpb_qemu_start hpb-net-qemu -smp 1 -m 512M $(hpb_root_ports "$1") &&
		info "hp-latency-net vmm=qemu boot_to_ready_ms=$HP_BOOT_MS"
	_bi=0 HPB_QN=1
	while [ -z "$HP_WHY" ] && [ $_bi -lt "$1" ]; do
		_bi=$((_bi + 1))
		hpb_qemu_run hp-latency-net "$_bi" net hpb_net_usable "nic$_bi" \
			"{\"execute\": \"netdev_add\", \"arguments\": {\"type\": \"tap\", \"id\": \"n$_bi\", \"ifname\": \"$HP_TAP\", \"script\": \"no\", \"downscript\": \"no\"}}" \
			"{\"execute\": \"device_add\", \"arguments\": {\"driver\": \"virtio-net-pci\", \"bus\": \"rp$_bi\", \"netdev\": \"n$_bi\", \"mac\": \"$HP_MAC\", \"romfile\": \"\", \"id\": \"nic$_bi\"}}" \
			"{\"execute\": \"netdev_del\", \"arguments\": {\"id\": \"n$_bi\"}}" || break
	done
	hpb_qemu_stop
	[ -z "$HP_WHY" ] && return 0
	hp_dump
	return 1
}

sc_hp_latency_net() {
	_bruns=${LAB_HP_BENCH_RUNS:-5}
	HPB_KVMM='' HPB_QEMU='' _bmiss=''
	HP_KERNEL=$BOOT_KERNEL HP_CMDLINE=$BASE_CMDLINE
	HPB_CMDLINE=" kvmm.hp_ip=$HP_IP/24 kvmm.hp_peer=$HP_PEER"
	if ! net_tap "$HP_TAP" 102; then
		_bmiss=" tap($HP_TAP)"
	elif ! have_kvmm || [ ! -x "${LAB_KVMM_REMOTE:-}" ] || [ ! -x "${LAB_TAP_EXEC:-}" ]; then
		_bmiss=" kvmm(absent)"
	else
		hpb_net_kvmm "$_bruns" || _bmiss=" kvmm($HP_WHY)"
	fi
	HP_KERNEL='' HP_CMDLINE=''
	if [ "$_bmiss" = " tap($HP_TAP)" ]; then
		:	# neither VMM can have a NIC
	elif ! command -v "$LAB_QEMU" >/dev/null 2>&1; then
		_bmiss="$_bmiss qemu(absent)"
	else
		hpb_net_qemu "$_bruns" || _bmiss="$_bmiss qemu($HP_WHY)"
	fi
	peer_verdict hp-latency-net ms "$HPB_KVMM" "$HPB_QEMU" "$_bmiss"
}

# --- hp-latency-cpu ---------------------------------------------------------------------------

# hpb_cpu_wait WHAT N T0: the guest's N-th line holding WHAT within HP_WAIT; HP_LAT: ms from
# T0 (uptime ms). 1 with API_BAD otherwise.
hpb_cpu_wait() {
	if hp_wait "$1" "$2" "$HP_WAIT"; then
		HP_LAT=$((HP_SEEN - $3))
		return 0
	fi
	API_BAD="no '$1' line number $2 within $HP_WAIT s ($HP_WAIT_WHY)"
	return 1
}

# hpb_cpu_added: HP_LINE is "cpu-add n=1" with the CPU onlined. 1 with API_BAD otherwise.
hpb_cpu_added() {
	[ "$(hp_val n)/$(hp_val online)" = 1/0 ] && return 0
	API_BAD="want cpu 1 added and onlined (n=1 online=0): $HP_LINE"
	return 1
}

# hpb_cpu_kvmm RUNS: latencies in HPB_KVMM. 1 with HP_WHY when a run could not be measured.
hpb_cpu_kvmm() {
	HP_MAX_VCPUS=2
	hp_vm_json "$LAB_TMP/hpb-cpu.json" false ""
	HP_MAX_VCPUS=
	if hp_boot hpb-cpu-kvmm "$LAB_TMP/hpb-cpu.json"; then
		info "hp-latency-cpu vmm=kvmm boot_to_ready_ms=$HP_BOOT_MS"
		_bi=0
		while [ $_bi -lt "$1" ]; do
			_bi=$((_bi + 1))
			_bna=$(hp_count 'KVMM-HP cpu-add ') _bng=$(hp_count 'KVMM-HP cpu-gone ')
			hp_resize 2
			[ "$API_RC" = 0 ] || { API_BAD="run $_bi: vm.resize to 2: $API_OUT"; break; }
			hpb_cpu_wait 'KVMM-HP cpu-add ' $((_bna + 1)) "$HP_T_RZ" && hpb_cpu_added || break
			info "hp-latency-cpu run=$_bi vmm=kvmm lat_ms=$HP_LAT"
			HPB_KVMM="$HPB_KVMM $HP_LAT"
			hp_resize 1
			[ "$API_RC" = 0 ] || { API_BAD="run $_bi: vm.resize to 1: $API_OUT"; break; }
			hpb_cpu_wait 'KVMM-HP cpu-gone ' $((_bng + 1)) "$HP_T_RZ" || break
			# The eject is done when kvmm's thread vcpu1 has ended (a resize before is 429).
			hp_vcpus_wait 0 "$HP_WAIT" || { API_BAD="run $_bi: vcpu threads '$HP_VC' after the eject"; break; }
		done
	fi
	_bbad=$API_BAD
	hp_end
	HP_WHY=${_bbad:-$API_BAD}
	[ -z "$HP_WHY" ] && return 0
	hp_dump
	return 1
}

# hpb_cpu_qemu RUNS: latencies in HPB_QEMU. 1 with HP_WHY when a run could not be measured.
hpb_cpu_qemu() {
	hpb_qemu_start hpb-cpu-qemu -smp 1,sockets=2,cores=1,threads=1,maxcpus=2 -m 512M &&
		info "hp-latency-cpu vmm=qemu boot_to_ready_ms=$HP_BOOT_MS"
	_bi=0
	while [ -z "$HP_WHY" ] && [ $_bi -lt "$1" ]; do
		_bi=$((_bi + 1))
		API_BAD=
		_bna=$(hp_count 'KVMM-HP cpu-add ') _bng=$(hp_count 'KVMM-HP cpu-gone ')
		now_ms
		_bt=$NOW_MS
		hp_qmp "{\"execute\": \"device_add\", \"arguments\": {\"driver\": \"host-x86_64-cpu\", \"id\": \"cpu1\", \"socket-id\": 1, \"core-id\": 0, \"thread-id\": 0}}"
		if ! { hpb_cpu_wait 'KVMM-HP cpu-add ' $((_bna + 1)) "$_bt" && hpb_cpu_added; }; then
			HP_WHY="run $_bi: $API_BAD; QMP: $(hpb_qmp_error)"
			break
		fi
		info "hp-latency-cpu run=$_bi vmm=qemu lat_ms=$HP_LAT"
		HPB_QEMU="$HPB_QEMU $HP_LAT"
		now_ms
		_bt=$NOW_MS
		hp_qmp '{"execute": "device_del", "arguments": {"id": "cpu1"}}'
		if ! hpb_cpu_wait 'KVMM-HP cpu-gone ' $((_bng + 1)) "$_bt"; then
			HP_WHY="run $_bi: $API_BAD; QMP: $(hpb_qmp_error)"
			break
		fi
		hpb_deleted "$_bi" || { HP_WHY="run $_bi: no DEVICE_DELETED from QEMU: $(hpb_qmp_error)"; break; }
	done
	hpb_qemu_stop
	[ -z "$HP_WHY" ] && return 0
	hp_dump
	return 1
}

sc_hp_latency_cpu() {
	_bruns=${LAB_HP_BENCH_RUNS:-5}
	HPB_KVMM='' HPB_QEMU='' _bmiss='' HPB_CMDLINE=''
	HP_KERNEL=$BOOT_KERNEL HP_CMDLINE=$BASE_CMDLINE
	if ! have_kvmm || [ ! -x "${LAB_KVMM_REMOTE:-}" ]; then
		_bmiss=" kvmm(absent)"
	else
		hpb_cpu_kvmm "$_bruns" || _bmiss=" kvmm($HP_WHY)"
	fi
	HP_KERNEL='' HP_CMDLINE=''
	if ! command -v "$LAB_QEMU" >/dev/null 2>&1; then
		_bmiss="$_bmiss qemu(absent)"
	else
		hpb_cpu_qemu "$_bruns" || _bmiss="$_bmiss qemu($HP_WHY)"
	fi
	peer_verdict hp-latency-cpu ms "$HPB_KVMM" "$HPB_QEMU" "$_bmiss"
}

# --- hp-latency-fs ----------------------------------------------------------------------------

HPB_FS_TAG=hpShare

# hpb_fs_usable: HP_LINE says the guest mounted the tag, read the file with HPB_FS_SHA and
# unmounted it. 1 with API_BAD otherwise.
hpb_fs_usable() {
	[ "$(hp_val mount)/$(hp_val sha)/$(hp_val umount)" = "0/$HPB_FS_SHA/0" ] && return 0
	API_BAD="want mount=0 sha=$HPB_FS_SHA umount=0: $HP_LINE"
	return 1
}

# hpb_fs_kvmm RUNS: latencies in HPB_KVMM. 1 with HP_WHY when a run could not be measured.
hpb_fs_kvmm() {
	hp_vm_json "$LAB_TMP/hpb-fs.json" true "$HPB_CMDLINE"
	if hp_boot hpb-fs-kvmm "$LAB_TMP/hpb-fs.json"; then
		info "hp-latency-fs vmm=kvmm boot_to_ready_ms=$HP_BOOT_MS"
		_bi=0
		while [ $_bi -lt "$1" ]; do
			_bi=$((_bi + 1))
			fs_vfsd_start "hpb-fs-$_bi" "$HPB_FS_SOCK" "$HPB_FS_DIR" ||
				{ API_BAD="run $_bi: $FS_WHY"; break; }
			hpb_kvmm_run hp-latency-fs "$_bi" fs hpb_fs_usable "hpbf$_bi" fs \
				"tag=$HPB_FS_TAG,socket=$HPB_FS_SOCK,id=hpbf$_bi" || break
			fs_vfsd_stop
		done
	fi
	_bbad=$API_BAD
	hp_end
	fs_vfsd_stop
	HP_WHY=${_bbad:-$API_BAD}
	[ -z "$HP_WHY" ] && return 0
	hp_dump
	return 1
}

# hpb_fs_qemu RUNS: latencies in HPB_QEMU. 1 with HP_WHY when a run could not be measured.
hpb_fs_qemu() {
	# shellcheck disable=SC2046 # the device options are meant to split
	hpb_qemu_start hpb-fs-qemu -smp 1 -m 512M \
		-object memory-backend-memfd,id=mem,size=512M,share=on -numa node,memdev=mem \
		$(hpb_root_ports "$1") && info "hp-latency-fs vmm=qemu boot_to_ready_ms=$HP_BOOT_MS"
	_bi=0 HPB_QN=1
	while [ -z "$HP_WHY" ] && [ $_bi -lt "$1" ]; do
		_bi=$((_bi + 1))
		fs_vfsd_start "hpb-fsq-$_bi" "$HPB_FS_SOCK" "$HPB_FS_DIR" ||
			{ HP_WHY="run $_bi: $FS_WHY"; break; }
		hpb_qemu_run hp-latency-fs "$_bi" fs hpb_fs_usable "fs$_bi" \
			"{\"execute\": \"chardev-add\", \"arguments\": {\"id\": \"vfs$_bi\", \"backend\": {\"type\": \"socket\", \"data\": {\"addr\": {\"type\": \"unix\", \"data\": {\"path\": \"$HPB_FS_SOCK\"}}, \"server\": false}}}}" \
			"{\"execute\": \"device_add\", \"arguments\": {\"driver\": \"vhost-user-fs-pci\", \"bus\": \"rp$_bi\", \"chardev\": \"vfs$_bi\", \"tag\": \"$HPB_FS_TAG\", \"queue-size\": 1024, \"romfile\": \"\", \"id\": \"fs$_bi\"}}" \
			"{\"execute\": \"chardev-remove\", \"arguments\": {\"id\": \"vfs$_bi\"}}" || break
		fs_vfsd_stop
	done
	hpb_qemu_stop
	fs_vfsd_stop
	[ -z "$HP_WHY" ] && return 0
	hp_dump
	return 1
}

sc_hp_latency_fs() {
	_bruns=${LAB_HP_BENCH_RUNS:-5}
	HPB_KVMM='' HPB_QEMU='' _bmiss='' HPB_CMDLINE=" kvmm.fs_tag=$HPB_FS_TAG kvmm.hp_fs_file=hp-file"
	HPB_FS_DIR=$LAB_TMP/hpb-fs-share HPB_FS_SOCK=$LAB_TMP/hpb-fs.sock
	rm -rf "$HPB_FS_DIR"
	mkdir -p "$HPB_FS_DIR"
	head -c 1048576 /dev/urandom >"$HPB_FS_DIR/hp-file"
	HPB_FS_SHA=$(sha256sum "$HPB_FS_DIR/hp-file" | cut -d' ' -f1)
	HP_KERNEL=$BOOT_KERNEL HP_CMDLINE=$BASE_CMDLINE
	if [ ! -x "$FS_VFSD" ]; then
		_bmiss=" virtiofsd(absent)"
	elif ! have_kvmm || [ ! -x "${LAB_KVMM_REMOTE:-}" ]; then
		_bmiss=" kvmm(absent)"
	else
		hpb_fs_kvmm "$_bruns" || _bmiss=" kvmm($HP_WHY)"
	fi
	HP_KERNEL='' HP_CMDLINE=''
	if [ "$_bmiss" = " virtiofsd(absent)" ]; then
		:	# neither VMM can have a share
	elif ! command -v "$LAB_QEMU" >/dev/null 2>&1; then
		_bmiss="$_bmiss qemu(absent)"
	else
		hpb_fs_qemu "$_bruns" || _bmiss="$_bmiss qemu($HP_WHY)"
	fi
	peer_verdict hp-latency-fs ms "$HPB_KVMM" "$HPB_QEMU" "$_bmiss"
	rm -rf "$HPB_FS_DIR"
}

# --- hp-latency-mem ---------------------------------------------------------------------------

HPB_MEM_MIB=128

# hpb_mem_added N: the guest's N-th "KVMM-HP mem-add" line within HP_WAIT, its blocks all
# onlined; HP_LAT from HP_T_API. 1 with API_BAD otherwise.
hpb_mem_added() {
	if ! hp_wait 'KVMM-HP mem-add ' "$1" "$HP_WAIT"; then
		API_BAD="no 'KVMM-HP mem-add' line number $1 within $HP_WAIT s ($HP_WAIT_WHY)"
		return 1
	fi
	HP_LAT=$((HP_SEEN - HP_T_API))
	_hm_b=$(hp_val blocks)
	if [ "$(hp_val online_rc)" != 0 ] || [ "$(hp_val online)" != "$_hm_b" ] ||
		[ "${_hm_b:-0}" -lt 1 ]; then
		API_BAD="want the new blocks all onlined: $HP_LINE"
		return 1
	fi
}

# hpb_mem_kvmm RUNS: latencies in HPB_KVMM. 1 with HP_WHY when a run could not be measured.
hpb_mem_kvmm() {
	HP_MEM_EXTRA=", \"hotplug_size\": $(($1 * HPB_MEM_MIB * 1048576))"
	hp_vm_json "$LAB_TMP/hpb-mem.json" false ""
	HP_MEM_EXTRA=
	if hp_boot hpb-mem-kvmm "$LAB_TMP/hpb-mem.json"; then
		info "hp-latency-mem vmm=kvmm boot_to_ready_ms=$HP_BOOT_MS"
		_bi=0
		while [ $_bi -lt "$1" ]; do
			_bi=$((_bi + 1))
			now_ms
			HP_T_API=$NOW_MS
			api raw PUT vm.resize "{\"desired_ram\": $(((512 + _bi * HPB_MEM_MIB) * 1048576))}"
			[ "$API_RC" = 0 ] || { API_BAD="run $_bi: vm.resize desired_ram: $API_OUT"; break; }
			hpb_mem_added "$_bi" || break
			info "hp-latency-mem run=$_bi vmm=kvmm lat_ms=$HP_LAT memtotal_kb=$(hp_val memtotal_kb)"
			HPB_KVMM="$HPB_KVMM $HP_LAT"
		done
	fi
	_bbad=$API_BAD
	hp_end
	HP_WHY=${_bbad:-$API_BAD}
	[ -z "$HP_WHY" ] && return 0
	hp_dump
	return 1
}

# hpb_mem_qemu RUNS: latencies in HPB_QEMU. 1 with HP_WHY when a run could not be measured.
hpb_mem_qemu() {
	hpb_qemu_start hpb-mem-qemu -smp 1 \
		-m "512M,slots=$1,maxmem=$((512 + $1 * HPB_MEM_MIB))M" &&
		info "hp-latency-mem vmm=qemu boot_to_ready_ms=$HP_BOOT_MS"
	_bi=0
	while [ -z "$HP_WHY" ] && [ $_bi -lt "$1" ]; do
		_bi=$((_bi + 1))
		API_BAD=
		now_ms
		HP_T_API=$NOW_MS
		hp_qmp "{\"execute\": \"object-add\", \"arguments\": {\"qom-type\": \"memory-backend-ram\", \"id\": \"mem$_bi\", \"size\": $((HPB_MEM_MIB * 1048576))}}" \
			"{\"execute\": \"device_add\", \"arguments\": {\"driver\": \"pc-dimm\", \"id\": \"dimm$_bi\", \"memdev\": \"mem$_bi\"}}"
		if ! hpb_mem_added "$_bi"; then
			HP_WHY="run $_bi: $API_BAD; QMP: $(hpb_qmp_error)"
			break
		fi
		info "hp-latency-mem run=$_bi vmm=qemu lat_ms=$HP_LAT memtotal_kb=$(hp_val memtotal_kb)"
		HPB_QEMU="$HPB_QEMU $HP_LAT"
	done
	hpb_qemu_stop
	[ -z "$HP_WHY" ] && return 0
	hp_dump
	return 1
}

sc_hp_latency_mem() {
	_bruns=${LAB_HP_BENCH_RUNS:-5}
	[ "$_bruns" -le 16 ] || _bruns=16	# kvmm: 16 memory slots
	HPB_KVMM='' HPB_QEMU='' _bmiss='' HPB_CMDLINE=''
	HP_KERNEL=$BOOT_KERNEL HP_CMDLINE=$BASE_CMDLINE
	if ! have_kvmm || [ ! -x "${LAB_KVMM_REMOTE:-}" ]; then
		_bmiss=" kvmm(absent)"
	else
		hpb_mem_kvmm "$_bruns" || _bmiss=" kvmm($HP_WHY)"
	fi
	HP_KERNEL='' HP_CMDLINE=''
	if ! command -v "$LAB_QEMU" >/dev/null 2>&1; then
		_bmiss="$_bmiss qemu(absent)"
	else
		hpb_mem_qemu "$_bruns" || _bmiss="$_bmiss qemu($HP_WHY)"
	fi
	peer_verdict hp-latency-mem ms "$HPB_KVMM" "$HPB_QEMU" "$_bmiss"
}

if [ "$LAB_ARCH" = x86_64 ] && [ "$LAB_TRANSPORT" = pci ]; then
	bench hp-latency-net x86_64 sc_hp_latency_net
	bench hp-latency-cpu x86_64 sc_hp_latency_cpu
	bench hp-latency-fs x86_64 sc_hp_latency_fs
	bench hp-latency-mem x86_64 sc_hp_latency_mem
fi
