# Lab scenarios for PCI hot-plug through the API (sourced by scenarios.sh; POSIX sh; uses the
# helpers of api.sh, memory.sh's mem_alive, virtio-net.sh's net_tap and virtio-fs.sh's
# fs_vfsd_start/fs_vfsd_stop). kvmm hot-plugs on x86_64 with virtio-pci and ACPI (Cloud
# Hypervisor's semantics): on a Running VM vm.add-disk / add-net / add-fs answer 200 with
# {"id", "bdf"}, the guest learns of the slot through the ACPI GED and its acpiphp scans it;
# vm.remove-device answers 204 (404: unknown id, 409: its removal already pending), the guest
# is asked to eject, and once it did (_EJ0) kvmm lets go of the device. Every VM here is made
# with vm.create and vm.boot and runs the guest test guest-images/tests/hotplug
# (kvmm.test=hotplug), which reports each PCI function that comes and goes ("KVMM-HP add
# bdf=... kind=... sha=...", "KVMM-HP gone bdf=..."; its header documents the lines).
#
# x86_64 on PCI (the lab's default):
#   hp-disk     add-disk of an image of random bytes: the answered bdf is where the guest
#               finds the disk, its sha256 of the whole disk is the host's, vm.info and
#               vm.counters list the disk; remove-device: the guest reports that function
#               gone, and kvmm then drops it from vm.info, closes the image and is back to the
#               fds and threads it had before the add
#   hp-net      add-net with a TAP fd over SCM_RIGHTS (tap-exec, kvmmtap2 169.254.102.1/24):
#               the guest's NIC at the answered bdf pings the host and the host pings it,
#               LAB_HP_NET_KB KiB each way over TCP with matching sha256; removed: gone in the
#               guest, the TAP fd closed, fds and threads as before
#   hp-fs       add-fs on a virtiofsd: the guest mounts the tag, reads a file with the host's
#               sha256, unmounts; removed: gone in the guest, virtiofsd ends by itself (kvmm
#               closed the vhost-user socket), fds and threads as before
#   hp-vsock    add-vsock (cid 3, a hybrid socket): the guest binds its vsock driver at the
#               answered bdf and a CONNECT through the socket to a port nothing listens on is
#               refused by the guest at once; removed: gone in the guest, fds and threads as
#               before, the socket file removed; added again, it works again
#   hp-loop     LAB_HP_ROUNDS (20) rounds of add-disk / guest reads it / remove-device in one
#               boot, each round waiting for the guest and for kvmm's release; kvmm's fds
#               (/proc/PID/fd) and threads (/proc/PID/task) after the last round must equal
#               those before the first; each round's latency from the API call to the guest's
#               line saying it read the disk is an INFO line, with the median in the PASS
#   hp-cpu      vCPU resize (vm.resize desired_vcpus; ACPI processor hot-plug, no PCI needed):
#               a VM of boot_vcpus 1, max_vcpus 4 (vm.info says so; the guest's READY line:
#               possible 0-3, present and online 0; kvmm has one thread vcpu0); resize to 4:
#               the guest reports cpu1-3 added and onlined ("KVMM-HP cpu-add n=N online=0")
#               and online/present 0-3, kvmm has threads vcpu0..vcpu3; resize to 2: the guest
#               reports cpu2, cpu3 gone and online/present 0-1, then kvmm's vcpu2 and vcpu3
#               threads end; resize to 3: cpu2 back, online/present 0-2, thread vcpu2 again.
#               Each step's ms from the request to the guest's line, and to kvmm's threads,
#               is an INFO line (with vm.info's boot_vcpus after it, for the record)
#   hp-cpu-refused  one boot of boot_vcpus 1, max_vcpus 4: hp-cpu-refused-zero
#               (desired_vcpus 0: 400), hp-cpu-refused-max (5, above max_vcpus: 400),
#               hp-cpu-refused-empty ({}: 400), hp-cpu-refused-ram (desired_ram on this VM
#               without memory.hotplug_size: 400); after them the guest saw no CPU come or go
#               and kvmm has vcpu0 alone; hp-cpu-refused-pending (resize to 4, then to 1 and
#               at once to 1 again: 429 while the guest has not ejected the three; 204 when it
#               had already, "not provoked" in the PASS line); hp-cpu-refused: after all that
#               the removal completes (online/present 0, vcpu0 alone) and a resize to 2 works;
#               hp-cpu-refused-noacpi (kvmm --no-acpi --cpus boot=1,max=2 --api-socket, the
#               command line's VM: vm.resize to 2 answers 400 naming hot-plug, no vcpu1)
#   hp-mem      memory hot-plug (vm.resize desired_ram, kvmm-remote resize --memory; ACPI
#               memory devices, no PCI needed): 512 MiB with memory.hotplug_size 1 GiB (the
#               guest's READY line: 128 MiB memory blocks, its MemTotal; vm.info 512 MiB;
#               kvmm's log names the room); +256 MiB then +128 MiB: each time the guest reports
#               the new memory blocks ("KVMM-HP mem-add"), all onlined, MemTotal grown by
#               exactly that, then allocates LAB_HP_MEM_PCT (75) % of all the memory added so
#               far and writes and checks every page, at least half of them in the memory added
#               and some in the range just added ("KVMM-HP mem-touch");
#               vm.info's memory.size is the new size, kvmm's log says "memory: N MiB plugged
#               at ...: M MiB in all", kvmm has the fds and threads it had after boot (so in
#               every hp-mem* step). ms from the request to the guest's line: INFO lines
#   hp-mem-refused  one boot of 512 MiB with hotplug_size 17 x 128 MiB (the guest ticks):
#               vm.resize desired_ram must be 400 with its reason for hp-mem-refused-shrink
#               (256 MiB), -above (above size + hotplug_size), -block (+64 MiB, not whole
#               128 MiB blocks), -zero (0); a resize to the size it has is 204; then the guest
#               ticks on with MemTotal unchanged and no new block, vm.info still 512 MiB, kvmm
#               plugged nothing; hp-mem-refused-slots: 16 resizes of +128 MiB, each followed by
#               the guest (its blocks onlined, MemTotal), then the 17th (which fits the room)
#               is 400 naming the 16 slots; hp-mem-refused: after all that the guest ticks
#               with MemTotal +2 GiB, vm.info says so, Running. Then two command line VMs
#               (kvmm --api-socket, the guest hangs), where a resize to 384 MiB is 400 with
#               the reason and plugs nothing: hp-mem-refused-nohp (--memory size=256M: no
#               hotplug_size), hp-mem-refused-noacpi (hotplug_size=256M with --no-acpi)
#   hp-mem-fs   a virtio-fs share from vm.create (shared memory, a virtiofsd of its own),
#               512 MiB with hotplug_size 512 MiB: vm.counters' mem_table_updates of the fs
#               device is 0; +256 MiB as in hp-mem (onlined, LAB_HP_MEM_FS_PCT touched), then the guest mounts
#               the share, reads a 4 MiB file with the host's sha256 and copies it on the share
#               ("KVMM-HP mem-fs"; the page cache now comes from the new memory, which
#               virtiofsd must reach), the host reads the copy with the same sha256, and
#               mem_table_updates is 1 (kvmm sent SET_MEM_TABLE again)
#   hp-refused  one boot with six disks from vm.create: a seventh hot-plugged (hpr0), then
#               hp-refused-dup (its id again: 409, the other image not kept open),
#               hp-refused-unknown (remove-device of an unknown id: 404), hp-refused-missing
#               (add-disk of a missing image: an error status, nothing listed),
#               hp-refused-full (an eighth disk is taken, a ninth is 400: at most 8),
#               hp-refused-pending (remove-device of the eighth, at once again: 409 while the
#               guest has not ejected it; 404 when it had already, said so in the PASS line);
#               hp-refused: after all that the guest still works: a disk added in the freed
#               place is read with the right sha256, the VM is Running
# aarch64 (PCI or virtio-mmio) and the LAB_TRANSPORT=mmio labs, where kvmm has no hot-plug:
#   hp-unsupported  on a Running VM add-disk, add-net (a TAP by name) and (when virtiofsd is
#               there) add-fs answer 400 with an error that names hot-plug; kvmm opened
#               nothing for them (no image fd, fds and threads as before), lists nothing, the
#               VM is Running, the guest saw no new device and still runs (its once-a-second
#               "KVMM-HP tick" lines go on), and kvmm stops on vmm.shutdown with exit 0.
#               The VM has max_vcpus 2: on aarch64 vm.resize to 2 vCPUs is refused the same
#               way (400 naming hot-plug; no vcpu1 thread, the guest saw no CPU come), and so
#               is desired_ram (+256 MiB; the VM has memory.hotplug_size 256 MiB there) with a
#               reason that names aarch64 (the guest's MemTotal in its ticks unchanged). On
#               x86_64 virtio-mmio vCPU resize works (ACPI, no PCI needed): there, once the
#               adds were refused, hp-cpu-mmio resizes the same VM to 2 (the guest onlines
#               cpu1, kvmm has vcpu1) and back to 1 (cpu1 gone, vcpu1 ended)
#   hp-mem-mmio x86_64 virtio-mmio with ACPI: memory hot-plug needs no PCI: a VM of 512 MiB
#               with hotplug_size 512 MiB takes +128 MiB as in hp-mem (onlined, MemTotal,
#               touched, vm.info 640 MiB)
# Benchmark (LAB_MODE=bench, x86_64):
#   hp-latency  from the hot-plug request to the guest having read the whole new disk (its
#               "KVMM-HP add" line), LAB_HP_BENCH_RUNS (5) disks one after another in one boot:
#               kvmm (vm.add-disk) beside QEMU -M q35 (blockdev-add + device_add
#               virtio-blk-pci on a pcie-root-port of its own per disk, over QMP on a pipe
#               chardev), same kernel, initramfs and command line; medians and their ratio
#
# A scenario stops at its first failed step (nothing is retried) and always ends its kvmm;
# every wait is bounded (LAB_HP_WAIT per guest line), so each ends well within run-lab.sh's
# 300 s of console silence (a scenario's lines come out when it ends).
#   LAB_HP_ROUNDS      hp-loop rounds (20)
#   LAB_HP_LOOP_SECS   hp-loop's time for all its rounds (150); past it, it fails
#   LAB_HP_WAIT        seconds allowed for each guest line after a request (30)
#   LAB_HP_CPU_SECS    hp-cpu, hp-cpu-refused: time for all of a boot's resizes (120); each
#                      wait after a resize is cut to what is left of it
#   LAB_HP_CPU_THREADS seconds allowed, after the guest's line, for kvmm's vCPU threads to
#                      match a resize (20)
#   LAB_HP_NET_KB      hp-net: KiB each way over TCP (2048)
#   LAB_HP_MEM_SECS    hp-mem*: time for all of a boot's resizes (180); each wait after a
#                      resize is cut to what is left of it
#   LAB_HP_MEM_PCT     hp-mem, hp-mem-mmio: % of the memory added so far that the guest
#                      allocates and touches after each resize (75)
#   LAB_HP_MEM_FS_PCT  the same for hp-mem-fs (25)
#   LAB_HP_BENCH_RUNS  hp-latency: disks per VMM (5, at most 8)
#   LAB_HP_QEMU_ACPI   hp-latency: on or off sets QEMU's
#                      ICH9-LPC.acpi-pci-hotplug-with-bridge-support (ACPI hot-plug, as kvmm
#                      does it, or the root ports' native PCIe hot-plug); unset: QEMU's default

HP_ROUNDS=${LAB_HP_ROUNDS:-20}
HP_LOOP_SECS=${LAB_HP_LOOP_SECS:-150}
HP_WAIT=${LAB_HP_WAIT:-30}
HP_CPU_SECS=${LAB_HP_CPU_SECS:-120}
HP_CPU_THREADS=${LAB_HP_CPU_THREADS:-20}
HP_NET_KB=${LAB_HP_NET_KB:-2048}
HP_MEM_SECS=${LAB_HP_MEM_SECS:-180}
HP_MEM_PCT=${LAB_HP_MEM_PCT:-75}
# hp-mem-fs touches less: the first touch of new memory is slow in the lab's nested guest, and
# slower there (192 MiB took 65 s in hp-mem-fs, 25 s in hp-mem, 2026-12-03).
HP_MEM_FS_PCT=${LAB_HP_MEM_FS_PCT:-25}
HP_MEM_TOUCH=0
# The guest test's own end: later than any scenario takes, so the host always ends the VM.
HP_HOLD=290
HP_TAP=kvmmtap2
HP_IP=169.254.102.2
HP_PEER=169.254.102.1
HP_PORT=5002
HP_MAC=52:54:00:00:02:01

# hp_ready NAME...: kvmm and kvmm-remote are there; otherwise every NAME fails (returns 1).
hp_ready() {
	_hp_why=
	have_kvmm || _hp_why="kvmm binary $KVMM missing"
	[ -n "$_hp_why" ] || [ -x "${LAB_KVMM_REMOTE:-}" ] || _hp_why="no kvmm-remote (LAB_KVMM_REMOTE)"
	[ -n "$_hp_why" ] || return 0
	for _hp_x in "$@"; do fail "$_hp_x" "$_hp_why"; done
	return 1
}

# hp_vm_json FILE SHARED CMDLINE_EXTRA [JSON_MEMBERS]: a VmConfig for the hotplug guest, one
# vCPU (max_vcpus HP_MAX_VCPUS, default 1), 512 MiB (memory.shared SHARED, plus the members
# HP_MEM_EXTRA, ", ...", e.g. a hotplug_size), the kernel
# HP_KERNEL (default KERNEL) with HP_CMDLINE (default CMDLINE) plus kvmm.test=hotplug and
# CMDLINE_EXTRA; JSON_MEMBERS (", ...") added.
hp_vm_json() {
	cat >"$1" <<EOF
{"payload": {"kernel": "${HP_KERNEL:-$KERNEL}", "initramfs": "$INITRAMFS",
  "cmdline": "${HP_CMDLINE:-$CMDLINE} kvmm.test=hotplug kvmm.hp_hold=$HP_HOLD$3"},
 "cpus": {"boot_vcpus": 1, "max_vcpus": ${HP_MAX_VCPUS:-1}},
 "memory": {"size": 536870912, "shared": $2${HP_MEM_EXTRA:-}},
 "serial": {"mode": "Tty"}, "console": {"mode": "Off"}${4:-}}
EOF
}

# hp_count TEXT: how many lines of the VM's output (HP_O) hold TEXT.
# hp_report_parts NAME VAR BAD KEY...: one report per KEY, NAME-KEY, from $VAR_KEY ("PASS
# detail" or "FAIL detail"); a KEY whose step was never reached fails with BAD.
hp_report_parts() {
	_hp_n=$1 _hp_var=$2 _hp_bad=$3
	shift 3
	for _hp_k in "$@"; do
		eval "_hp_v=\$${_hp_var}_$_hp_k"
		case $_hp_v in
		"PASS "*) pass "$_hp_n-$_hp_k" "${_hp_v#PASS }" ;;
		"FAIL "*) fail "$_hp_n-$_hp_k" "${_hp_v#FAIL }" ;;
		*) fail "$_hp_n-$_hp_k" "not reached: ${_hp_bad:-?}" ;;
		esac
	done
}

# hp_whole: HP_O's whole lines (NULs and CRs out): a last line the guest is still writing
# may end in the middle of a field, so it does not count until its newline is there.
# One read of the file: looking at its last byte and then reading it again raced with the
# guest's next line, so a count could take in a line still being written, which the next
# read then left out (a wait that saw N lines and then found only N - 1).
hp_whole() {
	tr -d '\000\r' <"$HP_O" >"$HP_O.snap" 2>/dev/null
	if [ "$(tail -c 1 "$HP_O.snap" | od -An -c | tr -d ' ')" = '\n' ]; then
		cat "$HP_O.snap"
	else
		sed '$d' "$HP_O.snap"
	fi
}

hp_count() {
	_hp_c=$(hp_whole | grep -c -F -e "$1") || true
	echo "${_hp_c:-0}"
}

# hp_wait TEXT N SECS: waits up to SECS for the N-th line of HP_O holding TEXT (while HP_P
# runs); HP_LINE is that line from "KVMM-HP" on, HP_SEEN the uptime (ms) it was seen at.
# HP_WAIT_WHY says why it returned 1 (for the FAIL line).
hp_wait() {
	now_ms
	_hp_t0=$NOW_MS
	_hp_end=$((NOW_MS + $3 * 1000))
	HP_WAIT_WHY=
	while [ "$(hp_count "$1")" -lt "$2" ]; do
		now_ms
		if [ "$NOW_MS" -ge "$_hp_end" ]; then
			HP_WAIT_WHY="timed out after $((NOW_MS - _hp_t0)) ms with $(hp_count "$1") such lines"
			return 1
		fi
		if ! mem_alive "$HP_P"; then
			HP_WAIT_WHY="kvmm ($HP_P) gone after $((NOW_MS - _hp_t0)) ms"
			return 1
		fi
		sleep 0.05
	done
	now_ms
	HP_SEEN=$NOW_MS
	# (NULs out first: GNU grep would call a console with one "binary" and print no lines.)
	HP_LINE=$(hp_whole | grep -F -e "$1" | sed -n "$2p" | grep -o 'KVMM-HP.*') && return 0
	HP_WAIT_WHY="$(hp_count "$1") lines hold '$1' but line $2 of them is not there: $(hp_whole | grep -F -e "$1" | tail -n 3 | tr '\n' '|' | cut -c1-300)"
	return 1
}

# hp_val NAME: the value NAME=V in HP_LINE.
hp_val() { echo " $HP_LINE " | sed -n "s/.* $1=\\([^ ]*\\) .*/\\1/p"; }
# hp_json NAME: the string NAME in the API's answer (API_OUT).
hp_json() { echo "$API_OUT" | sed -n "s/.*\"$1\" *: *\"\\([^\"]*\\)\".*/\\1/p" | head -n 1; }

# hp_fds PID, hp_threads PID: how many fds, threads PID has.
hp_fds() { set -- "/proc/$1/fd/"*; if [ -L "$1" ]; then echo $#; else echo 0; fi; }
hp_threads() { set -- "/proc/$1/task/"*; if [ -d "$1" ]; then echo $#; else echo 0; fi; }
# hp_holds PID PATH: how many of PID's fds are open on PATH.
hp_holds() {
	# shellcheck disable=SC2010 # fd link targets, which ls -l shows
	_hp_c=$(ls -l "/proc/$1/fd" 2>/dev/null | grep -c -F -e " -> $2") || true
	echo "${_hp_c:-0}"
}

# hp_settle FDS THREADS: within 5 s kvmm (HP_P) has FDS fds and THREADS threads (a request's
# own, such as its connection, may take a moment to go); HP_FT: the last "fds/threads" seen.
hp_settle() {
	_hp_i=0
	while :; do
		HP_FT="$(hp_fds "$HP_P")/$(hp_threads "$HP_P")"
		[ "$HP_FT" != "$1/$2" ] || return 0
		[ $_hp_i -lt 50 ] || return 1
		sleep 0.1
		_hp_i=$((_hp_i + 1))
	done
}

# hp_boot TAG JSON: kvmm --api-socket (the guest's console in HP_O = LAB_TMP/TAG.out, kvmm's
# log in HP_E = LAB_TMP/TAG.err, so that its lines cannot split the guest's; pid HP_P),
# vm.create, vm.boot, and the guest's KVMM-HP-READY within LAB_TIMEOUT. 1 with API_BAD
# otherwise.
hp_boot() {
	HP_O=$LAB_TMP/$1.out HP_E=$LAB_TMP/$1.err
	API_BAD=
	: >"$HP_E"
	api_start "$HP_O" "$HP_E"
	HP_P=$API_PID
	api_expect create 0 create "$2"
	[ -z "$API_BAD" ] || return 1
	now_ms
	_hp_t=$NOW_MS
	api_expect boot 0 boot
	[ -z "$API_BAD" ] || return 1
	if ! hp_wait KVMM-HP-READY 1 "$LAB_TIMEOUT"; then
		# Where the guest is: its console's end, and from kvmm its vCPU exits a second apart
		# and (SIGUSR2) vcpu0's instruction pointer and run state.
		if mem_alive "$HP_P"; then
			_hp_x=$(hp_exits)
			kill -USR2 "$HP_P"
			sleep 1
			_hp_x="kvmm running, vCPU exits $_hp_x then $(hp_exits) a second later"
			vcpu_dump_wait "$HP_E" 1 || true
			_hp_x="$_hp_x, vcpu0 at ${VD_PC:-?} (${VD_MP:-?})"
		else
			_hp_x="kvmm gone"
		fi
		API_BAD="no KVMM-HP-READY from the guest within $LAB_TIMEOUT s (guest: $(guest_state "$HP_O"); $_hp_x)"
		return 1
	fi
	HP_BOOT_MS=$((HP_SEEN - _hp_t))
}

# hp_exits: the running VM's vCPU exits so far, all reasons (vm.counters' "vmm" entry), or "?".
# Two a moment apart tell a guest still at work from one stopped in a halt.
hp_exits() {
	api counters || { echo "?"; return 0; }
	echo "$API_OUT" | grep -o '"exits_[a-z_]*":[0-9]*' |
		awk -F: '{ n += $2 } END { print NR ? n : "?" }'
}

# hp_end: vmm.shutdown; kvmm must exit 0 within 5 s (API_BAD otherwise, unless set already).
hp_end() {
	api shutdown-vmm
	[ "$API_RC" = 0 ] || API_BAD=${API_BAD:-"vmm.shutdown: kvmm-remote exited $API_RC: $(echo "$API_OUT" | head -c 200)"}
	_hp_i=0
	while mem_alive "$HP_P" && [ $_hp_i -lt 50 ]; do sleep 0.1; _hp_i=$((_hp_i + 1)); done
	mem_alive "$HP_P" && { kill -KILL "$HP_P"; API_BAD=${API_BAD:-"kvmm still running 5 s after vmm.shutdown"}; }
	_hp_rc=0
	wait "$HP_P" 2>/dev/null || _hp_rc=$?
	[ "$_hp_rc" = 0 ] || API_BAD=${API_BAD:-"kvmm exited $_hp_rc after vmm.shutdown"}
}

# hp_dump: the guest's KVMM-HP lines and the tails of kvmm's output and log, into the log.
hp_dump() {
	tr -d '\r' <"$HP_O" 2>/dev/null | grep 'KVMM-HP' | tail -n 30 | sed 's/^/  | guest: /'
	# A guest oops whole, from its first line (its kind and address are at the top).
	_hp_k=$(tr -d '\000\r' 2>/dev/null <"$HP_O" | grep -n -m 1 -E \
		'Kernel panic|Oops|BUG:|general protection|unable to handle|soft lockup|rcu.*stall|double fault' |
		cut -d: -f1) || true
	if [ -n "$_hp_k" ]; then
		tr -d '\000\r' 2>/dev/null <"$HP_O" | sed -n "$((_hp_k > 5 ? _hp_k - 5 : 1)),$((_hp_k + 90))p" |
			sed 's/^/  | oops: /'
	fi
	tail -n 25 "$HP_O" 2>/dev/null | sed 's/^/  | out: /'
	[ -z "${HP_E:-}" ] || tail -n 25 "$HP_E" 2>/dev/null | sed 's/^/  | err: /'
}

# hp_add KIND ID ARG: vm.add-KIND (kvmm-remote add-KIND ARG; KIND net-fd: add-net with the
# TAP HP_TAP opened by tap-exec as fd 9 and sent with SCM_RIGHTS); wants exit 0 and an answer
# {"id": ID, "bdf": "0000:00:DD.0"}. HP_BDF, HP_T_API (uptime ms just before the request),
# HP_NADD (the guest's "KVMM-HP add" lines before it). 1 with API_BAD otherwise.
hp_add() {
	HP_NADD=$(hp_count 'KVMM-HP add ')
	HP_BDF=
	now_ms
	HP_T_API=$NOW_MS
	if [ "$1" = net-fd ]; then
		API_RC=0
		API_OUT=$(timeout 30 "$LAB_TAP_EXEC" "$HP_TAP" 9 "$LAB_KVMM_REMOTE" \
			--api-socket "$API_SOCK" add-net "$3" 2>&1) || API_RC=$?
	else
		api "add-$1" "$3"
	fi
	if [ "$API_RC" != 0 ]; then
		API_BAD="add $2 ($1 $3): kvmm-remote exited $API_RC, want 0 (200): $(echo "$API_OUT" | head -c 200)"
		return 1
	fi
	HP_BDF=$(hp_json bdf)
	case "$(hp_json id) $HP_BDF" in
	"$2 0000:00:"[0-9a-f][0-9a-f].0) ;;
	*)
		API_BAD="add $2: the answer is not {\"id\":\"$2\",\"bdf\":\"0000:00:DD.0\"}: $(echo "$API_OUT" | head -c 200)"
		return 1
		;;
	esac
}

# hp_guest_add KIND: the guest's next "KVMM-HP add" line (after HP_NADD) within HP_WAIT is for
# HP_BDF, of KIND, without error; HP_LINE is it, HP_LAT the ms from the request to seeing it,
# HP_GMS the guest's own ms from the function appearing to the line. 1 with API_BAD otherwise.
hp_guest_add() {
	if ! hp_wait 'KVMM-HP add ' $((HP_NADD + 1)) "$HP_WAIT"; then
		API_BAD="the guest reported no new PCI function within $HP_WAIT s of the add ($HP_BDF; $(mem_alive "$HP_P" && echo "kvmm running" || echo "kvmm gone"); $HP_WAIT_WHY)"
		return 1
	fi
	HP_LAT=$((HP_SEEN - HP_T_API))
	_hp_a=$(hp_val ms) _hp_b=$(hp_val seen_ms)
	case "$_hp_a/$_hp_b" in
	[0-9]*/[0-9]*) HP_GMS=$((_hp_a - _hp_b)) ;;
	*) HP_GMS=none ;;
	esac
	if [ -n "$HP_BDF" ] && [ "$(hp_val bdf)" != "$HP_BDF" ]; then
		API_BAD="kvmm answered bdf $HP_BDF, the guest found a function at $(hp_val bdf): $HP_LINE"
	elif [ "$(hp_val kind)" != "$1" ] || [ -n "$(hp_val error)" ]; then
		API_BAD="want a $1 device without error: $HP_LINE"
	else
		return 0
	fi
	return 1
}

# hp_guest_blk SHA: HP_LINE says the guest read the whole disk (rc=0) with sha256 SHA.
hp_guest_blk() {
	[ "$(hp_val rc)" = 0 ] && [ "$(hp_val sha)" = "$1" ] && return 0
	API_BAD="the guest's read of $(hp_val dev) at $(hp_val bdf): rc=$(hp_val rc) sha=$(hp_val sha), the image's sha256 is $1"
	return 1
}

# hp_remove ID: vm.remove-device ID must answer 204 (exit 0); HP_T_RM, HP_NGONE (the guest's
# "KVMM-HP gone" lines before it). 1 with API_BAD otherwise.
hp_remove() {
	HP_NGONE=$(hp_count 'KVMM-HP gone ')
	now_ms
	HP_T_RM=$NOW_MS
	api remove-device "$1"
	[ "$API_RC" = 0 ] && return 0
	API_BAD="remove-device $1: kvmm-remote exited $API_RC, want 0 (204): $(echo "$API_OUT" | head -c 200)"
	return 1
}

# hp_guest_gone BDF: the guest's next "KVMM-HP gone" line (after HP_NGONE) within HP_WAIT is
# for BDF; HP_GONE_MS, the ms from the remove request to seeing it.
hp_guest_gone() {
	if ! hp_wait 'KVMM-HP gone ' $((HP_NGONE + 1)) "$HP_WAIT"; then
		API_BAD="the guest did not report $1 gone within $HP_WAIT s of remove-device ($(mem_alive "$HP_P" && echo "kvmm running" || echo "kvmm gone"))"
		return 1
	fi
	HP_GONE_MS=$((HP_SEEN - HP_T_RM))
	[ "$(hp_val bdf)" = "$1" ] && return 0
	API_BAD="removed $1, but the guest reports another function gone: $HP_LINE"
	return 1
}

# hp_release ID PATH FDS THREADS: after the guest ejected ID, within 10 s kvmm no longer names
# ID in vm.info, holds no fd on PATH (unless empty) and has FDS fds and THREADS threads
# (unless empty); then vm.counters does not name it either. HP_REL_MS: ms from the guest's
# "gone" line to all that. 1 with API_BAD (what was still there) otherwise.
hp_release() {
	now_ms
	_hp_t=$NOW_MS
	_hp_end=$((NOW_MS + 10000))
	while :; do
		_hp_left=
		api info
		[ "$API_RC" = 0 ] || _hp_left="$_hp_left vm.info failed ($API_RC: $(echo "$API_OUT" | head -c 100))"
		echo "$API_OUT" | grep -q "\"$1\"" && _hp_left="$_hp_left $1 still in vm.info"
		if [ -n "$2" ]; then
			_hp_h=$(hp_holds "$HP_P" "$2")
			[ "$_hp_h" = 0 ] || _hp_left="$_hp_left $_hp_h fd(s) still on $2"
		fi
		_hp_f=$(hp_fds "$HP_P") _hp_th=$(hp_threads "$HP_P")
		[ -z "$3" ] || [ "$_hp_f" = "$3" ] || _hp_left="$_hp_left fds $_hp_f (before the add $3)"
		[ -z "$4" ] || [ "$_hp_th" = "$4" ] || _hp_left="$_hp_left threads $_hp_th (before the add $4)"
		now_ms
		[ -n "$_hp_left" ] || break
		if [ "$NOW_MS" -ge "$_hp_end" ]; then
			API_BAD="10 s after the guest ejected $1:$_hp_left"
			return 1
		fi
		sleep 0.1
	done
	HP_REL_MS=$((NOW_MS - _hp_t))
	api counters
	if [ "$API_RC" = 0 ] && echo "$API_OUT" | grep -q "\"$1\""; then
		API_BAD="$1 still in vm.counters after it left vm.info: $(echo "$API_OUT" | head -c 200)"
		return 1
	fi
}

# hp_listed ID BDF: vm.info lists ID in its device_tree at BDF; vm.counters has ID.
hp_listed() {
	api info
	if ! echo "$API_OUT" | grep -o "\"id\":\"$1\"[^}]*" | grep -q "\"pci_bdf\":\"$2\""; then
		API_BAD="vm.info's device_tree has no $1 at $2: $(echo "$API_OUT" | grep -o '"device_tree".*' | head -c 300)"
		return 1
	fi
	api counters
	HP_COUNTERS=$(echo "$API_OUT" | grep -o "\"$1\":{[^}]*}")
	[ -n "$HP_COUNTERS" ] && return 0
	API_BAD="vm.counters without $1: $(echo "$API_OUT" | head -c 300)"
	return 1
}

# --- vCPU resize helpers ----------------------------------------------------------------------

# hp_alive: "kvmm running" or "kvmm gone" (HP_P), for messages.
hp_alive() { if mem_alive "$HP_P"; then echo "kvmm running"; else echo "kvmm gone"; fi; }

# hp_left SECS: SECS, or less: what is left until HP_DEADLINE (uptime ms), at least 1.
hp_left() {
	now_ms
	_hl=$(((HP_DEADLINE - NOW_MS) / 1000))
	[ "$_hl" -ge 1 ] || _hl=1
	[ "$_hl" -le "$1" ] || _hl=$1
	echo "$_hl"
}

# hp_seq A B: "A A+1 ... B-1"; hp_cpulist N: CPUs 0..N-1 as the kernel lists them ("0", "0-3").
hp_seq() {
	_hs=$1 _hq=
	while [ "$_hs" -lt "$2" ]; do _hq="$_hq${_hq:+ }$_hs"; _hs=$((_hs + 1)); done
	echo "$_hq"
}
hp_cpulist() { if [ "$1" = 1 ]; then echo 0; else echo "0-$(($1 - 1))"; fi; }

# hp_resize N: PUT vm.resize {"desired_vcpus": N} (kvmm-remote raw); HP_T_RZ: uptime ms just
# before it; API_RC, API_OUT as api's.
hp_resize() {
	now_ms
	HP_T_RZ=$NOW_MS
	api raw PUT vm.resize "{\"desired_vcpus\": $1}"
}

# hp_vcpus: the numbers of kvmm's (HP_P) threads named vcpu<N>, in order ("0 1 2 3").
hp_vcpus() {
	cat "/proc/$HP_P/task/"*/comm 2>/dev/null | sed -n 's/^vcpu\([0-9][0-9]*\)$/\1/p' |
		sort -n | tr '\n' ' ' | sed 's/ $//'
}

# hp_vcpus_wait WANT SECS: within SECS kvmm's vCPU threads are WANT (as hp_vcpus prints them);
# HP_VC: the last seen; HP_VC_MS: ms from HP_T_RZ to seeing WANT.
hp_vcpus_wait() {
	now_ms
	_hv_end=$((NOW_MS + $2 * 1000))
	while :; do
		HP_VC=$(hp_vcpus)
		now_ms
		[ "$HP_VC" != "$1" ] || break
		[ "$NOW_MS" -lt "$_hv_end" ] && mem_alive "$HP_P" || return 1
		sleep 0.1
	done
	HP_VC_MS=$((NOW_MS - HP_T_RZ))
}

# hp_after TEXT N: the VM's lines holding TEXT after the first N of them (from KVMM-HP on);
# hp_ns TEXT N: their n= values, in order ("2 3").
hp_after() { tr -d '\000\r' <"$HP_O" | grep -F -e "$1" | sed -n "$(($2 + 1)),\$p" | grep -o 'KVMM-HP.*'; }
hp_ns() { hp_after "$1" "$2" | sed -n 's/.* n=\([0-9]*\) .*/\1/p' | sort -n | tr '\n' ' ' | sed 's/ $//'; }

# hp_info_cpus: vm.info's config.cpus boot_vcpus/max_vcpus ("1/4"; "?" for one not found).
hp_info_cpus() {
	api info
	_hi_b=$(echo "$API_OUT" | sed -n 's/.*"boot_vcpus": *\([0-9]*\).*/\1/p' | head -n 1)
	_hi_m=$(echo "$API_OUT" | sed -n 's/.*"max_vcpus": *\([0-9]*\).*/\1/p' | head -n 1)
	echo "${_hi_b:-?}/${_hi_m:-?}"
}

# hp_cpu_mark N: before a resize from HP_NCPU vCPUs to N: what hp_cpu_check counts from.
hp_cpu_mark() {
	_hc_l=$(hp_cpulist "$1")
	_hc_txt="KVMM-HP cpus online=$_hc_l present=$_hc_l "
	_hc_n0=$(hp_count "$_hc_txt")
	_hc_na=$(hp_count 'KVMM-HP cpu-add ')
	_hc_ng=$(hp_count 'KVMM-HP cpu-gone ')
}

# hp_cpu_check N: after hp_cpu_mark N and the resize (HP_T_RZ): within HP_WAIT (cut to
# HP_DEADLINE) the guest's next "KVMM-HP cpus" line with online and present 0..N-1, after it
# reported each CPU added and onlined (cpu-add online=0) or removed (cpu-gone), and no other;
# then, within HP_CPU_THREADS s, kvmm's vCPU threads are vcpu0..vcpuN-1 exactly. HP_CPU_LAT,
# HP_VC_MS: ms from the request to the guest's line, to kvmm's threads; HP_CPU_INFO: vm.info's
# "boot_vcpus/max_vcpus" then; HP_NCPU becomes N. 1 with API_BAD otherwise.
hp_cpu_check() {
	_hc_s=$(hp_left "$HP_WAIT")
	_hc_cut=0
	[ "$_hc_s" -ge "$HP_WAIT" ] || _hc_cut=1
	if ! hp_wait "$_hc_txt" $((_hc_n0 + 1)) "$_hc_s"; then
		_hc_s="$_hc_s s"
		[ "$_hc_cut" = 0 ] || _hc_s="$_hc_s (what was left of LAB_HP_CPU_SECS=$HP_CPU_SECS)"
		_hc_last=$(hp_after 'KVMM-HP cpus ' 0 | tail -n 1)
		_hc_bad=$(hp_after 'KVMM-HP cpu-add ' "$_hc_na" | grep -v ' online=0 ' | head -n 1)
		API_BAD="vm.resize $HP_NCPU -> $1: the guest did not report online=$_hc_l present=$_hc_l within $_hc_s (${_hc_bad:+it could not online a CPU: $_hc_bad; }its last such line: ${_hc_last:-none}; kvmm's vCPU threads: $(hp_vcpus); $(hp_alive))"
		return 1
	fi
	HP_CPU_LAT=$((HP_SEEN - HP_T_RZ))
	# The guest reports each CPU before the lists that show it, but allow it a tick or two.
	if [ "$1" -gt "$HP_NCPU" ]; then
		hp_wait 'KVMM-HP cpu-add ' $((_hc_na + $1 - HP_NCPU)) 2 || true
	elif [ "$1" -lt "$HP_NCPU" ]; then
		hp_wait 'KVMM-HP cpu-gone ' $((_hc_ng + HP_NCPU - $1)) 2 || true
	fi
	if [ "$1" -ge "$HP_NCPU" ]; then
		_hc_want=$(hp_seq "$HP_NCPU" "$1") _hc_got=$(hp_ns 'KVMM-HP cpu-add ' "$_hc_na")
		_hc_bad=$(hp_after 'KVMM-HP cpu-add ' "$_hc_na" | grep -v ' online=0 ' | head -n 1)
		_hc_other=$(hp_after 'KVMM-HP cpu-gone ' "$_hc_ng" | head -n 1)
		_hc_what=added
	else
		_hc_want=$(hp_seq "$1" "$HP_NCPU") _hc_got=$(hp_ns 'KVMM-HP cpu-gone ' "$_hc_ng")
		_hc_bad=
		_hc_other=$(hp_after 'KVMM-HP cpu-add ' "$_hc_na" | head -n 1)
		_hc_what=removed
	fi
	if [ "$_hc_got" != "$_hc_want" ] || [ -n "$_hc_other" ]; then
		API_BAD="vm.resize $HP_NCPU -> $1: the guest reported CPUs ${_hc_what}: '$_hc_got', want '$_hc_want'${_hc_other:+; and: $_hc_other}"
		return 1
	fi
	if [ -n "$_hc_bad" ]; then
		API_BAD="vm.resize $HP_NCPU -> $1: the guest could not online a CPU added: $_hc_bad"
		return 1
	fi
	_hc_vw=$(hp_seq 0 "$1")
	_hc_s=$(hp_left "$HP_CPU_THREADS")
	if ! hp_vcpus_wait "$_hc_vw" "$_hc_s"; then
		API_BAD="vm.resize $HP_NCPU -> $1: $_hc_s s after the guest's line kvmm's threads named vcpu<N> are N='$HP_VC', want '$_hc_vw' ($(hp_alive))"
		return 1
	fi
	HP_CPU_INFO=$(hp_info_cpus)
	HP_NCPU=$1
}

# hp_cpu_step N: resize from HP_NCPU to N vCPUs, which must answer 204 (exit 0), and
# hp_cpu_check N. 1 with API_BAD otherwise.
hp_cpu_step() {
	hp_cpu_mark "$1"
	hp_resize "$1"
	if [ "$API_RC" != 0 ]; then
		API_BAD="vm.resize $HP_NCPU -> $1 vCPUs: kvmm-remote exited $API_RC, want 0 (204): $(echo "$API_OUT" | head -c 200)"
		return 1
	fi
	hp_cpu_check "$1"
}

# hp_cpu_save: HP_CPU_THR, kvmm's thread names now (before hp_end), for hp_cpu_dump to put
# into the log.
hp_cpu_save() { HP_CPU_THR=$(cat "/proc/$HP_P/task/"*/comm 2>/dev/null | tr '\n' ' '); }
hp_cpu_dump() { echo "  | kvmm's threads before vmm.shutdown: ${HP_CPU_THR:-none}"; }

# --- hp-disk ----------------------------------------------------------------------------------

hp_disk_steps() {
	hp_boot hp-disk "$LAB_TMP/hp-disk.json" || return 1
	_df=$(hp_fds "$HP_P") _dt=$(hp_threads "$HP_P")
	hp_add disk hpdisk0 "path=$1,id=hpdisk0" || return 1
	hp_guest_add blk || return 1
	hp_guest_blk "$2" || return 1
	_dlat=$HP_LAT _dgms=$HP_GMS _ddev=$(hp_val dev)
	hp_listed hpdisk0 "$HP_BDF" || return 1
	echo "$HP_COUNTERS" | grep -q '"read_ops":[1-9]' ||
		{ API_BAD="vm.counters shows no reads of hpdisk0: $HP_COUNTERS"; return 1; }
	_dh=$(hp_holds "$HP_P" "$1")
	[ "$_dh" -ge 1 ] || { API_BAD="no fd of kvmm's on $1 while the disk is attached (ls -l /proc/$HP_P/fd)"; return 1; }
	hp_remove hpdisk0 || return 1
	[ "$HP_NGONE" = 0 ] || { API_BAD="the guest reported a function gone before the remove"; return 1; }
	hp_guest_gone "$HP_BDF" || return 1
	hp_release hpdisk0 "$1" "$_df" "$_dt" || return 1
}

sc_hp_disk() {
	hp_ready hp-disk || return 0
	_dimg=$LAB_TMP/hp-disk.img
	head -c 4194304 /dev/urandom >"$_dimg"
	_dsha=$(sha256sum "$_dimg" | cut -d' ' -f1)
	hp_vm_json "$LAB_TMP/hp-disk.json" false ""
	hp_disk_steps "$_dimg" "$_dsha"
	hp_end
	if [ -z "$API_BAD" ]; then
		pass hp-disk "bdf $HP_BDF answered and found by the guest ($_ddev), 4 MiB read with the host's sha256 ${_dlat} ms after add-disk (guest: ${_dgms} ms from seeing it); removed: gone in the guest after ${HP_GONE_MS} ms, then image closed, fds $_df threads $_dt as before, ${HP_REL_MS} ms later"
	else
		fail hp-disk "$API_BAD"
		hp_dump
	fi
	rm -f "$_dimg"
}

# --- hp-net -----------------------------------------------------------------------------------

hp_net_steps() {
	hp_boot hp-net "$LAB_TMP/hp-net.json" || return 1
	# The host's receiver for the guest's transfer, up before the add. busybox nc ends when its
	# peer half-closes: its stdin is a FIFO this shell holds open (fd 8) and never writes.
	rm -f "$LAB_TMP/hp-hold"
	mkfifo "$LAB_TMP/hp-hold"
	exec 8<>"$LAB_TMP/hp-hold"
	nc -l -p "$HP_PORT" <"$LAB_TMP/hp-hold" >"$2" &
	HP_NC=$!
	_nf=$(hp_fds "$HP_P") _nt=$(hp_threads "$HP_P") _ntun=$(hp_holds "$HP_P" /dev/net/tun)
	hp_add net-fd hpnet0 "fd=9,id=hpnet0,mac=$HP_MAC" || return 1
	hp_guest_add net || return 1
	_nlat=$HP_LAT _ndev=$(hp_val dev)
	if [ "$(hp_val mac)/$(hp_val up)/$(hp_val ping)" != "$HP_MAC/0/0" ]; then
		API_BAD="want mac=$HP_MAC up=0 ping=0 (guest->host): $HP_LINE"
		return 1
	fi
	_nping=0
	ping -c 3 -W 5 "$HP_IP" >/dev/null 2>&1 || _nping=$?
	[ "$_nping" = 0 ] || { API_BAD="host->guest ping rc=$_nping"; return 1; }
	[ "$(hp_holds "$HP_P" /dev/net/tun)" -gt "$_ntun" ] ||
		{ API_BAD="kvmm holds no more /dev/net/tun fds than before the add ($_ntun)"; return 1; }
	# guest -> host
	if ! hp_wait 'KVMM-HP net-tx ' 1 $((HP_WAIT * 2)); then
		API_BAD="no KVMM-HP net-tx from the guest"
		return 1
	fi
	_ntx=$HP_LINE
	_i2=0
	while mem_alive "$HP_NC" && [ $_i2 -lt 100 ]; do sleep 0.1; _i2=$((_i2 + 1)); done
	_nsha=$(sha256sum "$2" | cut -d' ' -f1)
	if [ "$(hp_val rc)" != 0 ] || [ "$(hp_val sha)" != "$_nsha" ]; then
		API_BAD="guest->host: $_ntx; the host got $(wc -c <"$2") bytes, sha256 $_nsha"
		return 1
	fi
	# host -> guest
	if ! hp_wait 'KVMM-HP net-listen ' 1 "$HP_WAIT" || [ "$(hp_val listening)" != 1 ]; then
		API_BAD="the guest did not listen for the host's transfer: ${HP_LINE:-no KVMM-HP net-listen}"
		return 1
	fi
	_nrc=0
	timeout 60 nc "$HP_IP" "$(hp_val port)" <"$1" >/dev/null 2>&1 || _nrc=$?
	if ! hp_wait 'KVMM-HP net-rx ' 1 "$HP_WAIT"; then
		API_BAD="no KVMM-HP net-rx from the guest (host nc rc=$_nrc)"
		return 1
	fi
	_nsha=$(sha256sum "$1" | cut -d' ' -f1)
	if [ "$(hp_val rc)" != 0 ] || [ "$(hp_val sha)" != "$_nsha" ]; then
		API_BAD="host->guest (host nc rc=$_nrc): $HP_LINE; the host sent $(wc -c <"$1") bytes, sha256 $_nsha"
		return 1
	fi
	hp_listed hpnet0 "$HP_BDF" || return 1
	_ncount=$HP_COUNTERS
	hp_remove hpnet0 || return 1
	hp_guest_gone "$HP_BDF" || return 1
	hp_release hpnet0 "" "$_nf" "$_nt" || return 1
	_nleft=$(hp_holds "$HP_P" /dev/net/tun)
	[ "$_nleft" = "$_ntun" ] || { API_BAD="kvmm still holds $_nleft /dev/net/tun fds after the eject (before the add: $_ntun)"; return 1; }
}

sc_hp_net() {
	hp_ready hp-net || return 0
	[ -x "${LAB_TAP_EXEC:-}" ] || { fail hp-net "no tap-exec helper (LAB_TAP_EXEC)"; return 0; }
	net_tap "$HP_TAP" 102 || { fail hp-net "cannot create TAP $HP_TAP"; return 0; }
	_nh2g=$LAB_TMP/hp-h2g _ng2h=$LAB_TMP/hp-g2h
	head -c $((HP_NET_KB * 1024)) /dev/urandom >"$_nh2g"
	rm -f "$_ng2h"
	HP_NC=
	hp_vm_json "$LAB_TMP/hp-net.json" false \
		" kvmm.hp_ip=$HP_IP/24 kvmm.hp_peer=$HP_PEER kvmm.hp_xfer_kb=$HP_NET_KB kvmm.hp_port=$HP_PORT"
	hp_net_steps "$_nh2g" "$_ng2h"
	hp_end
	if [ -n "$HP_NC" ]; then
		kill "$HP_NC" 2>/dev/null
		wait "$HP_NC" 2>/dev/null
		exec 8>&-
	fi
	if [ -z "$API_BAD" ]; then
		pass hp-net "TAP fd by SCM_RIGHTS: $_ndev at $HP_BDF pinged the host ${_nlat} ms after add-net, the host pinged it, $HP_NET_KB KiB each way over TCP with equal sha256 (counters $(echo "$_ncount" | cut -c1-100)); removed: gone in the guest after ${HP_GONE_MS} ms, TAP fd closed, fds $_nf threads $_nt as before, ${HP_REL_MS} ms later"
	else
		fail hp-net "$API_BAD"
		hp_dump
	fi
	rm -f "$_nh2g" "$_ng2h" "$LAB_TMP/hp-hold"
}

# --- hp-fs ------------------------------------------------------------------------------------

hp_fs_steps() {
	hp_boot hp-fs "$LAB_TMP/hp-fs.json" || return 1
	_ff=$(hp_fds "$HP_P") _ft=$(hp_threads "$HP_P")
	hp_add fs hpfs0 "tag=hpShare,socket=$1,id=hpfs0" || return 1
	hp_guest_add fs || return 1
	_flat=$HP_LAT
	if [ "$(hp_val mount)/$(hp_val sha)/$(hp_val umount)" != "0/$2/0" ]; then
		API_BAD="want mount=0 sha=$2 (the host's) umount=0: $HP_LINE"
		return 1
	fi
	hp_listed hpfs0 "$HP_BDF" || return 1
	mem_alive "$FS_VPID" || { API_BAD="virtiofsd ended while the share was attached"; return 1; }
	hp_remove hpfs0 || return 1
	hp_guest_gone "$HP_BDF" || return 1
	hp_release hpfs0 "" "$_ff" "$_ft" || return 1
	# kvmm closed the vhost-user connection: virtiofsd ends by itself.
	_i2=0
	while mem_alive "$FS_VPID" && [ $_i2 -lt 50 ]; do sleep 0.1; _i2=$((_i2 + 1)); done
	mem_alive "$FS_VPID" && { API_BAD="virtiofsd still running 5 s after kvmm let go of hpfs0"; return 1; }
	return 0
}

sc_hp_fs() {
	hp_ready hp-fs || return 0
	[ -x "$FS_VFSD" ] || { fail hp-fs "no virtiofsd at $FS_VFSD"; return 0; }
	_fsh=$LAB_TMP/hp-fs-share _fs=$LAB_TMP/hp-fs.sock
	rm -rf "$_fsh"
	mkdir -p "$_fsh"
	head -c 1048576 /dev/urandom >"$_fsh/hp-file"
	_fsha=$(sha256sum "$_fsh/hp-file" | cut -d' ' -f1)
	FS_WHY=
	fs_vfsd_start hp-fs "$_fs" "$_fsh" || { fail hp-fs "$FS_WHY"; rm -rf "$_fsh"; return 0; }
	hp_vm_json "$LAB_TMP/hp-fs.json" true " kvmm.fs_tag=hpShare kvmm.hp_fs_file=hp-file"
	hp_fs_steps "$_fs" "$_fsha"
	hp_end
	fs_vfsd_stop
	if [ -z "$API_BAD" ]; then
		pass hp-fs "tag hpShare at $HP_BDF mounted, a file read with the host's sha256, unmounted ${_flat} ms after add-fs; removed: gone in the guest after ${HP_GONE_MS} ms, fds $_ff threads $_ft as before ${HP_REL_MS} ms later, virtiofsd ended by itself"
	else
		fail hp-fs "$API_BAD"
		hp_dump
		tail -n 5 "$FS_VLOG" 2>/dev/null | sed 's/^/  | virtiofsd: /'
	fi
	rm -rf "$_fsh"
}

# --- hp-vsock ---------------------------------------------------------------------------------

# hp_vsock_refused SOCK: a CONNECT to a guest port nothing listens on is refused within 2 s:
# the guest's vsock driver answered with an RST (kvmm alone would wait its 5 s handshake
# timeout). HP_VREF: the client's line. 1 with API_BAD otherwise.
hp_vsock_refused() {
	HP_VREF=$(timeout 20 "$LAB_VSOCK_CLIENT" refused "$1" 1099 2>&1) ||
		{ API_BAD="vsock-client refused $1: $HP_VREF"; return 1; }
	_vms=$(echo "$HP_VREF" | sed -n 's/.*refused in \([0-9]*\) ms.*/\1/p')
	[ -n "$_vms" ] && [ "$_vms" -lt 2000 ] && return 0
	API_BAD="a CONNECT through $1 was not refused by the guest at once: $HP_VREF"
	return 1
}

hp_vsock_steps() {
	hp_boot hp-vsock "$LAB_TMP/hp-vsock.json" || return 1
	_vf=$(hp_fds "$HP_P") _vt=$(hp_threads "$HP_P")
	rm -f "$1"
	hp_add vsock _vsock0 "cid=3,socket=$1" || return 1
	hp_guest_add virtio || return 1
	_vlat=$HP_LAT
	if [ "$(hp_val id)" != 0x0013 ] || [ -z "$(hp_val driver)" ]; then
		API_BAD="want the vsock function (virtio id 0x0013) with its driver bound: $HP_LINE"
		return 1
	fi
	_vdrv=$(hp_val driver)
	[ -S "$1" ] || { API_BAD="no socket at $1 after the add"; return 1; }
	hp_vsock_refused "$1" || return 1
	_vref1=$HP_VREF
	hp_listed _vsock0 "$HP_BDF" || return 1
	hp_remove _vsock0 || return 1
	hp_guest_gone "$HP_BDF" || return 1
	hp_release _vsock0 "" "$_vf" "$_vt" || return 1
	[ ! -e "$1" ] || { API_BAD="the socket $1 is still there after the eject"; return 1; }
	# The id and the CID are free again: the device comes back and works.
	hp_add vsock _vsock0 "cid=3,socket=$1" || return 1
	hp_guest_add virtio || return 1
	hp_vsock_refused "$1" || return 1
}

# hp-vsock: vm.add-vsock on a running VM (200 {"id", "bdf"}), the guest binds its vsock
# driver at that bdf, and the hybrid socket reaches it (a CONNECT to a port nothing listens
# on is refused by the guest at once); vm.remove-device: gone in the guest, kvmm's fds and
# threads as before, the socket file removed; added again, it works again.
sc_hp_vsock() {
	hp_ready hp-vsock || return 0
	[ -x "${LAB_VSOCK_CLIENT:-}" ] || { fail hp-vsock "no vsock-client (LAB_VSOCK_CLIENT)"; return 0; }
	_vs=$LAB_TMP/hp-vsock.sock
	hp_vm_json "$LAB_TMP/hp-vsock.json" false ""
	hp_vsock_steps "$_vs"
	hp_end
	if [ -z "$API_BAD" ]; then
		pass hp-vsock "$_vdrv bound at the answered bdf ${_vlat} ms after add-vsock, a CONNECT to an unused port refused by the guest ($_vref1); removed: gone in the guest after ${HP_GONE_MS} ms, fds $_vf threads $_vt as before, socket file gone; added again: works"
	else
		fail hp-vsock "$API_BAD"
		hp_dump
	fi
	rm -f "$_vs"
}

# --- hp-loop ----------------------------------------------------------------------------------

hp_loop_steps() {
	hp_boot hp-loop "$LAB_TMP/hp-loop.json" || return 1
	_lf=$(hp_fds "$HP_P") _lt=$(hp_threads "$HP_P")
	now_ms
	_lend=$((NOW_MS + HP_LOOP_SECS * 1000))
	_lr=0
	while [ $_lr -lt "$HP_ROUNDS" ]; do
		_lr=$((_lr + 1))
		_limg=$LAB_TMP/hp-loop-$_lr.img
		head -c 1048576 /dev/urandom >"$_limg"
		_lsha=$(sha256sum "$_limg" | cut -d' ' -f1)
		API_BAD=
		hp_add disk "hploop$_lr" "path=$_limg,id=hploop$_lr" &&
			hp_guest_add blk && hp_guest_blk "$_lsha" &&
			hp_remove "hploop$_lr" && hp_guest_gone "$HP_BDF" &&
			hp_release "hploop$_lr" "$_limg" "" ""
		rm -f "$_limg"
		if [ -n "$API_BAD" ]; then
			API_BAD="round $_lr: $API_BAD"
			return 1
		fi
		info "hp-loop round=$_lr bdf=$HP_BDF lat_ms=$HP_LAT guest_ms=$HP_GMS gone_ms=$HP_GONE_MS release_ms=$HP_REL_MS fds=$(hp_fds "$HP_P") threads=$(hp_threads "$HP_P")"
		_llats="$_llats $HP_LAT"
		[ $_lr != 1 ] || _lf1="fds $(hp_fds "$HP_P") threads $(hp_threads "$HP_P") after round 1"
		now_ms
		if [ "$NOW_MS" -ge "$_lend" ] && [ $_lr -lt "$HP_ROUNDS" ]; then
			API_BAD="only $_lr of $HP_ROUNDS rounds in LAB_HP_LOOP_SECS=$HP_LOOP_SECS s"
			return 1
		fi
	done
	# Every round let go of its disk; now the process as a whole.
	now_ms
	_lend=$((NOW_MS + 10000))
	while :; do
		_lf2=$(hp_fds "$HP_P") _lt2=$(hp_threads "$HP_P")
		[ "$_lf2/$_lt2" != "$_lf/$_lt" ] || break
		now_ms
		if [ "$NOW_MS" -ge "$_lend" ]; then
			API_BAD="after $HP_ROUNDS rounds kvmm has $_lf2 fds and $_lt2 threads, before them $_lf and $_lt ($_lf1)"
			# shellcheck disable=SC2012 # the fds' targets, into the log
			ls -l "/proc/$HP_P/fd" 2>/dev/null | sed 's/^/  | fd: /'
			return 1
		fi
		sleep 0.1
	done
}

sc_hp_loop() {
	hp_ready hp-loop || return 0
	_llats='' _lf='' _lt='' _lf1=''
	hp_vm_json "$LAB_TMP/hp-loop.json" false ""
	hp_loop_steps
	hp_end
	if [ -n "$_llats" ]; then
		# shellcheck disable=SC2086 # one number a word
		info "hp-loop lat_ms median=$(median $_llats) min=$(printf '%s\n' $_llats | sort -n | head -n 1) max=$(printf '%s\n' $_llats | sort -n | tail -n 1) rounds=$(echo $_llats | wc -w)"
	fi
	if [ -z "$API_BAD" ]; then
		# shellcheck disable=SC2086
		pass hp-loop "$HP_ROUNDS rounds of add-disk / read / remove-device in one boot: median $(median $_llats) ms from add-disk to the guest's read; fds $_lf threads $_lt before and after"
	else
		fail hp-loop "$API_BAD"
		hp_dump
	fi
}

# --- hp-refused -------------------------------------------------------------------------------

HP_REFUSED="hp-refused-dup hp-refused-unknown hp-refused-missing hp-refused-full hp-refused-pending hp-refused"

# hp_status: the HTTP status in a refused request's kvmm-remote output (API_OUT), or nothing.
hp_status() { echo "$API_OUT" | sed -n 's/^kvmm-remote: [A-Z]* [^ ]*: \([0-9][0-9][0-9]\) .*/\1/p' | head -n 1; }

# hp_refused_steps: see the top of this file; each sub-result in HP_R_<name> ("PASS detail"
# or "FAIL why"); a failure of what the others need ends it (API_BAD).
hp_refused_steps() {
	hp_boot hp-refused "$LAB_TMP/hp-refused.json" || return 1
	_rimg=$LAB_TMP/hp-refused
	hp_add disk hpr0 "path=$_rimg-a.img,id=hpr0" || return 1
	hp_guest_add blk || return 1
	hp_guest_blk "$(sha256sum "$_rimg-a.img" | cut -d' ' -f1)" || return 1

	_rf=$(hp_fds "$HP_P") _rt=$(hp_threads "$HP_P")
	api add-disk "path=$_rimg-b.img,id=hpr0"
	_rs=$(hp_status)
	if [ "$API_RC" = 1 ] && [ "$_rs" = 409 ] && [ "$(hp_holds "$HP_P" "$_rimg-b.img")" = 0 ]; then
		HP_R_dup="PASS a second hpr0: 409, its image not kept open"
	else
		HP_R_dup="FAIL want 409 for id hpr0 again and no fd on its image: exit $API_RC status ${_rs:-none}, $(hp_holds "$HP_P" "$_rimg-b.img") fd(s): $(echo "$API_OUT" | head -c 160)"
	fi

	api remove-device hpr-nosuch
	_rs=$(hp_status)
	if [ "$API_RC" = 1 ] && [ "$_rs" = 404 ]; then
		HP_R_unknown="PASS remove-device of an unknown id: 404"
	else
		HP_R_unknown="FAIL want 404 for remove-device hpr-nosuch: exit $API_RC status ${_rs:-none}: $(echo "$API_OUT" | head -c 160)"
	fi

	api add-disk "path=$_rimg-nosuch.img,id=hpr-missing"
	_rs=$(hp_status)
	_rout=$API_OUT
	api info
	if [ "$API_RC" = 0 ] && echo "$API_OUT" | grep -q '"hpr-missing"'; then
		HP_R_missing="FAIL vm.info lists hpr-missing after its add-disk answered ${_rs:-?}"
	elif ! hp_settle "$_rf" "$_rt"; then
		HP_R_missing="FAIL kvmm has fds/threads $HP_FT after the refused adds, $_rf/$_rt before"
	else
		case $_rs in
		[45][0-9][0-9]) HP_R_missing="PASS add-disk of a missing image: $_rs ($(echo "$_rout" | sed 's/^kvmm-remote: //' | head -c 120)), nothing listed, no fd kept" ;;
		*) HP_R_missing="FAIL want an error status for a missing image: exit $API_RC: $(echo "$_rout" | head -c 160)" ;;
		esac
	fi

	# Six from vm.create and hpr0: the eighth is taken, a ninth refused.
	hp_add disk hpr1 "path=$_rimg-c.img,id=hpr1" || return 1
	_rbdf=$HP_BDF
	hp_guest_add blk || return 1
	hp_guest_blk "$(sha256sum "$_rimg-c.img" | cut -d' ' -f1)" || return 1
	_rn=$(hp_count 'KVMM-HP add ')
	api add-disk "path=$_rimg-d.img,id=hpr2"
	_rs=$(hp_status)
	if [ "$API_RC" = 1 ] && [ "$_rs" = 400 ]; then
		HP_R_full="PASS 8 disks (6 from vm.create, 2 hot-plugged): the ninth 400 ($(echo "$API_OUT" | sed 's/^kvmm-remote: //' | head -c 120))"
	else
		HP_R_full="FAIL want 400 for a ninth disk: exit $API_RC status ${_rs:-none}: $(echo "$API_OUT" | head -c 160)"
	fi

	# remove-device twice at once: the second while the guest has not ejected yet.
	hp_remove hpr1 || return 1
	api remove-device hpr1
	_rs=$(hp_status)
	case "$API_RC/$_rs" in
	1/409) HP_R_pending="PASS remove-device of hpr1 again before the guest ejected it: 409" ;;
	1/404) HP_R_pending="PASS not provoked: the guest had ejected hpr1 already (404 for the second remove-device)" ;;
	*) HP_R_pending="FAIL want 409 (pending) or 404 (ejected) for a second remove-device hpr1: exit $API_RC status ${_rs:-none}: $(echo "$API_OUT" | head -c 160)" ;;
	esac
	hp_guest_gone "$_rbdf" || return 1
	hp_release hpr1 "$_rimg-c.img" "" "" || return 1
	[ "$(hp_count 'KVMM-HP add ')" = "$_rn" ] ||
		{ API_BAD="the guest found a new PCI function after the refused adds: $(grep -F 'KVMM-HP add ' "$HP_O" | tail -n 1)"; return 1; }

	# The guest and kvmm still work: a disk in the place hpr1 left.
	hp_add disk hpr3 "path=$_rimg-d.img,id=hpr3" || return 1
	hp_guest_add blk || return 1
	hp_guest_blk "$(sha256sum "$_rimg-d.img" | cut -d' ' -f1)" || return 1
	_rlat=$HP_LAT
	[ "$(api_state)" = Running ] || { API_BAD="state $(api_state) after the refused requests"; return 1; }
}

sc_hp_refused() {
	# shellcheck disable=SC2086 # one name a word
	hp_ready $HP_REFUSED || return 0
	_rimg=$LAB_TMP/hp-refused
	_rdisks=
	for _rk in 0 1 2 3 4 5; do
		head -c 65536 /dev/zero >"$_rimg-cold$_rk.img"
		_rdisks="$_rdisks${_rdisks:+, }{\"path\": \"$_rimg-cold$_rk.img\", \"id\": \"cold$_rk\"}"
	done
	for _rk in a b c d; do head -c 1048576 /dev/urandom >"$_rimg-$_rk.img"; done
	rm -f "$_rimg-nosuch.img"
	HP_R_dup='' HP_R_unknown='' HP_R_missing='' HP_R_full='' HP_R_pending=''
	hp_vm_json "$LAB_TMP/hp-refused.json" false "" ",
 \"disks\": [$_rdisks]"
	hp_refused_steps
	hp_end
	_rbad=$API_BAD
	hp_report_parts hp-refused HP_R "$_rbad" dup unknown missing full pending
	if [ -z "$_rbad" ]; then
		pass hp-refused "after the refused requests the guest read a disk added in the freed place ${_rlat} ms after add-disk; VM Running"
	else
		fail hp-refused "$_rbad"
	fi
	case "$HP_R_dup$HP_R_unknown$HP_R_missing$HP_R_full$HP_R_pending" in
	*FAIL*) hp_dump ;;
	*) [ -z "$_rbad" ] || hp_dump ;;
	esac
	rm -f "$_rimg"-*.img
}

# --- hp-cpu -----------------------------------------------------------------------------------

# hp_cpu_start TAG: hp_boot TAG (LAB_TMP/TAG.json); the guest starts with CPUs possible 0-3,
# present and online 0; vm.info says boot_vcpus 1, max_vcpus 4; kvmm has vcpu0 alone.
# HP_NCPU=1, HP_DEADLINE: LAB_HP_CPU_SECS from now. 1 with API_BAD otherwise.
hp_cpu_start() {
	hp_boot "$1" "$LAB_TMP/$1.json" || return 1
	now_ms
	HP_DEADLINE=$((NOW_MS + HP_CPU_SECS * 1000))
	HP_NCPU=1
	if [ "$(hp_val cpus_possible)/$(hp_val cpus_present)/$(hp_val cpus_online)" != 0-3/0/0 ]; then
		API_BAD="boot_vcpus 1, max_vcpus 4: want the guest's CPUs possible 0-3, present 0, online 0: $HP_LINE"
		return 1
	fi
	_cic=$(hp_info_cpus)
	[ "$_cic" = 1/4 ] ||
		{ API_BAD="vm.info's config.cpus boot_vcpus/max_vcpus: $_cic, want 1/4"; return 1; }
	_cvc=$(hp_vcpus)
	[ "$_cvc" = 0 ] ||
		{ API_BAD="kvmm's threads named vcpu<N> after boot: N='$_cvc', want '0'"; return 1; }
}

hp_cpu_steps() {
	hp_cpu_start hp-cpu || return 1
	_cready=$(echo "$HP_LINE" | grep -o 'cpus_online=.*')
	hp_cpu_step 4 || return 1
	info "hp-cpu step=1-to-4 guest_ms=$HP_CPU_LAT threads_ms=$HP_VC_MS info_cpus=$HP_CPU_INFO"
	_c4="$HP_CPU_LAT/$HP_VC_MS" _cinfo=$HP_CPU_INFO
	hp_cpu_step 2 || return 1
	info "hp-cpu step=4-to-2 guest_ms=$HP_CPU_LAT threads_ms=$HP_VC_MS info_cpus=$HP_CPU_INFO"
	_c2="$HP_CPU_LAT/$HP_VC_MS" _cinfo="$_cinfo $HP_CPU_INFO"
	hp_cpu_step 3 || return 1
	info "hp-cpu step=2-to-3 guest_ms=$HP_CPU_LAT threads_ms=$HP_VC_MS info_cpus=$HP_CPU_INFO"
	_c3="$HP_CPU_LAT/$HP_VC_MS" _cinfo="$_cinfo $HP_CPU_INFO"
	[ "$(api_state)" = Running ] || { API_BAD="state $(api_state) after the resizes"; return 1; }
}

sc_hp_cpu() {
	hp_ready hp-cpu || return 0
	_c4='' _c2='' _c3='' _cinfo='' HP_CPU_THR=''
	HP_MAX_VCPUS=4
	hp_vm_json "$LAB_TMP/hp-cpu.json" false ""
	HP_MAX_VCPUS=
	hp_cpu_steps
	hp_cpu_save
	hp_end
	if [ -z "$API_BAD" ]; then
		pass hp-cpu "boot_vcpus 1 max_vcpus 4 (guest: $_cready); ms from vm.resize to the guest's line / to kvmm's vcpu threads: 1->4 (cpu1-3 onlined, vcpu0-3) $_c4, 4->2 (cpu2-3 ejected, vcpu2-3 ended) $_c2, 2->3 (cpu2 back, vcpu2) $_c3; vm.info boot/max after each: $_cinfo"
	else
		fail hp-cpu "$API_BAD"
		hp_dump
		hp_cpu_dump
	fi
}

# --- hp-cpu-refused ---------------------------------------------------------------------------

# hp_cpu_refuse NAME "STATUS..." BODY: PUT vm.resize BODY must be refused with one of the
# STATUSes; HP_C_<NAME>: "PASS detail" or "FAIL why". 1 with API_BAD when kvmm did not answer
# (kvmm-remote's 30 s ran out): the rest would only wait as long again.
hp_cpu_refuse() {
	api raw PUT vm.resize "$3"
	if [ "$API_RC" = 124 ]; then
		API_BAD="no answer to vm.resize $3 within 30 s ($(hp_alive))"
		return 1
	fi
	_crs=$(hp_status)
	_crw=$(echo "$API_OUT" | sed 's/^kvmm-remote: //' | head -c 120)
	_crv="FAIL vm.resize $3: want $(echo "$2" | sed 's/ / or /g'), got exit $API_RC status ${_crs:-none}: $_crw"
	if [ "$API_RC" = 1 ]; then
		for _crk in $2; do
			[ "$_crs" != "$_crk" ] || _crv="PASS vm.resize $3: $_crs ($_crw)"
		done
	fi
	eval "HP_C_$1=\$_crv"
}

hp_cpu_refused_steps() {
	hp_cpu_start hp-cpu-refused || return 1
	_cn=$(hp_count 'KVMM-HP cpu')
	hp_cpu_refuse zero 400 '{"desired_vcpus": 0}' || return 1
	hp_cpu_refuse max 400 '{"desired_vcpus": 5}' || return 1
	hp_cpu_refuse empty 400 '{}' || return 1
	hp_cpu_refuse ram 400 '{"desired_ram": 1073741824}' || return 1
	# Nothing came of them: a second for the guest to notice anything, then no CPU line.
	sleep 1
	_cvc=$(hp_vcpus)
	[ "$_cvc" = 0 ] ||
		{ API_BAD="after the refused resizes kvmm's threads named vcpu<N> are N='$_cvc', want '0'"; return 1; }
	[ "$(hp_count 'KVMM-HP cpu')" = "$_cn" ] ||
		{ API_BAD="the guest saw CPUs change after the refused resizes: $(hp_after 'KVMM-HP cpu' "$_cn" | head -n 1)"; return 1; }

	# Down from 4 to 1, and at once again, before the guest ejected the three.
	hp_cpu_step 4 || return 1
	hp_cpu_mark 1
	hp_resize 1
	[ "$API_RC" = 0 ] ||
		{ API_BAD="vm.resize 4 -> 1: kvmm-remote exited $API_RC, want 0 (204): $(echo "$API_OUT" | head -c 200)"; return 1; }
	_ct=$HP_T_RZ
	hp_resize 1
	_crs=$(hp_status)
	_cafter=$((HP_T_RZ - _ct))
	_cgone=$(($(hp_count 'KVMM-HP cpu-gone ') - _hc_ng)) _cvc=$(hp_vcpus)
	HP_T_RZ=$_ct
	case "$API_RC/$_crs" in
	1/429) HP_C_pending="PASS vm.resize to 1 again ${_cafter} ms after 4 -> 1, before the guest ejected: 429 ($(echo "$API_OUT" | sed 's/^kvmm-remote: //' | head -c 120))" ;;
	0/) HP_C_pending="PASS not provoked: vm.resize to 1 again ${_cafter} ms after 4 -> 1 answered 204 (by then the guest had reported $_cgone of 3 CPUs gone, kvmm's vcpu threads: $_cvc)" ;;
	*) HP_C_pending="FAIL vm.resize to 1 again ${_cafter} ms after 4 -> 1: want 429 (removal pending) or 204 (ejected already): exit $API_RC status ${_crs:-none}: $(echo "$API_OUT" | head -c 160)" ;;
	esac
	# The removal completes all the same; then a resize works.
	hp_cpu_check 1 || return 1
	_cdown=$HP_CPU_LAT/$HP_VC_MS
	hp_cpu_step 2 || return 1
	_cup=$HP_CPU_LAT/$HP_VC_MS
	[ "$(api_state)" = Running ] || { API_BAD="state $(api_state) after the refused resizes"; return 1; }
}

# hp_cpu_noacpi: kvmm --no-acpi --cpus boot=1,max=2 with --api-socket (the command line's VM,
# booted at once): vm.resize to 2 answers 400 naming hot-plug, and there is no vcpu1; then
# vmm.shutdown. HP_C_noacpi: "PASS detail" or "FAIL why".
hp_cpu_noacpi() {
	HP_O=$LAB_TMP/hp-cpu-noacpi.out HP_E=$LAB_TMP/hp-cpu-noacpi.err
	rm -f "$API_SOCK"
	setsid "$KVMM" --api-socket "$API_SOCK" --kernel "$KERNEL" --initramfs "$INITRAMFS" \
		--cmdline "$CMDLINE pci=off kvmm.test=hang" --cpus boot=1,max=2 --memory size=256M \
		--no-acpi -v </dev/null >"$HP_O" 2>"$HP_E" &
	HP_P=$!
	_ci=0
	while ! api ping && mem_alive "$HP_P" && [ $_ci -lt 50 ]; do sleep 0.1; _ci=$((_ci + 1)); done
	if ! mem_alive "$HP_P"; then
		_crc=0
		wait "$HP_P" || _crc=$?
		HP_C_noacpi="FAIL kvmm --no-acpi --cpus boot=1,max=2 --api-socket ... exited $_crc at once: $(cat "$HP_E" "$HP_O" | tr '\n' ' ' | head -c 200)"
		return 0
	fi
	_cst=$(api_state)
	hp_resize 2
	_crs=$(hp_status)
	_crw=$(echo "$API_OUT" | sed 's/^kvmm-remote: //' | head -c 120)
	_cvc=$(hp_vcpus)
	if [ "$_cst" != Running ]; then
		HP_C_noacpi="FAIL kvmm --no-acpi --cpus boot=1,max=2 with --api-socket: state '$_cst', want Running (the command line's VM boots at once)"
	elif [ "$API_RC" != 1 ] || [ "$_crs" != 400 ] || ! echo "$API_OUT" | grep -qiE 'hot-?plug'; then
		HP_C_noacpi="FAIL --no-acpi: vm.resize to 2: want 400 naming hot-plug: exit $API_RC status ${_crs:-none}: $_crw"
	elif [ "$_cvc" != 0 ]; then
		HP_C_noacpi="FAIL --no-acpi: after the refused vm.resize kvmm's threads named vcpu<N> are N='$_cvc', want '0'"
	else
		HP_C_noacpi="PASS kvmm --no-acpi --cpus boot=1,max=2: vm.resize to 2 on the Running VM: 400 ($_crw), vcpu0 alone"
	fi
	API_BAD=
	hp_end
	[ -z "$API_BAD" ] || case $HP_C_noacpi in
		"PASS "*) HP_C_noacpi="FAIL --no-acpi: $API_BAD" ;;
		esac
	API_BAD=
}

HP_CPU_REFUSED="hp-cpu-refused-zero hp-cpu-refused-max hp-cpu-refused-empty hp-cpu-refused-ram hp-cpu-refused-pending hp-cpu-refused hp-cpu-refused-noacpi"

sc_hp_cpu_refused() {
	# shellcheck disable=SC2086 # one name a word
	hp_ready $HP_CPU_REFUSED || return 0
	HP_C_zero='' HP_C_max='' HP_C_empty='' HP_C_ram='' HP_C_pending='' HP_C_noacpi='' HP_CPU_THR=''
	_cdown='' _cup=''
	HP_MAX_VCPUS=4
	hp_vm_json "$LAB_TMP/hp-cpu-refused.json" false ""
	HP_MAX_VCPUS=
	hp_cpu_refused_steps
	hp_cpu_save
	hp_end
	_cbad=$API_BAD
	hp_report_parts hp-cpu-refused HP_C "$_cbad" zero max empty ram pending
	if [ -z "$_cbad" ]; then
		pass hp-cpu-refused "after the refused resizes the removal of cpu1-3 completed (ms to the guest's line / to kvmm's threads: $_cdown) and a resize to 2 worked ($_cup); VM Running"
	else
		fail hp-cpu-refused "$_cbad"
	fi
	case "$HP_C_zero$HP_C_max$HP_C_empty$HP_C_ram$HP_C_pending" in
	*FAIL*) hp_dump; hp_cpu_dump ;;
	*) [ -z "$_cbad" ] || { hp_dump; hp_cpu_dump; } ;;
	esac
	API_BAD=
	hp_cpu_noacpi
	case $HP_C_noacpi in
	"PASS "*) pass hp-cpu-refused-noacpi "${HP_C_noacpi#PASS }" ;;
	*)
		fail hp-cpu-refused-noacpi "${HP_C_noacpi#FAIL }"
		hp_dump
		;;
	esac
}

# --- hp-unsupported ---------------------------------------------------------------------------

# hp_refused_400 WHAT: the last request was refused with 400 naming hot-plug; API_BAD otherwise.
hp_refused_400() {
	_us=$(hp_status)
	if [ "$API_RC" != 1 ] || [ "$_us" != 400 ] || ! echo "$API_OUT" | grep -qiE 'hot-?plug'; then
		API_BAD=${API_BAD:-"$1 on a Running VM: want 400 naming hot-plug: exit $API_RC status ${_us:-none}: $(echo "$API_OUT" | head -c 200)"}
		return 1
	fi
	_uwhy=$(echo "$API_OUT" | sed 's/^kvmm-remote: //' | head -c 140)
}

hp_unsupported_steps() {
	hp_boot hp-unsupported "$LAB_TMP/hp-unsupported.json" || return 1
	_uready=$HP_LINE
	_uf=$(hp_fds "$HP_P") _ut=$(hp_threads "$HP_P")
	_un=$(hp_count 'KVMM-HP add ')
	api add-disk "path=$1,id=hpu0"
	hp_refused_400 add-disk
	_uwhat="add-disk ($_uwhy)"
	api add-net "tap=$HP_TAP,id=hpu1"
	hp_refused_400 add-net && _uwhat="$_uwhat, add-net"
	if [ -n "$2" ]; then
		api add-fs "tag=hpShare,socket=$2,id=hpu2"
		hp_refused_400 add-fs && _uwhat="$_uwhat, add-fs"
	fi
	# No vCPU hot-plug on aarch64 either (on x86_64 it works on virtio-mmio: hp-cpu-mmio).
	_ucn=$(hp_count 'KVMM-HP cpu')
	if [ "$LAB_ARCH" = aarch64 ]; then
		hp_resize 2
		hp_refused_400 "vm.resize to 2 vCPUs (max_vcpus 2)" && _uwhat="$_uwhat, vm.resize ($_uwhy)"
		# Nor memory hot-plug, though the VM has a hotplug_size: the reason names aarch64.
		api raw PUT vm.resize "{\"desired_ram\": $((768 * 1048576))}"
		info "hp-unsupported desired_ram: exit $API_RC: $(echo "$API_OUT" | sed 's/^kvmm-remote: //' | head -c 300)"
		if hp_refused_400 "vm.resize desired_ram +256 MiB (hotplug_size 256 MiB)"; then
			if echo "$API_OUT" | grep -q aarch64; then
				_uwhat="$_uwhat, desired_ram ($_uwhy)"
			else
				API_BAD="vm.resize desired_ram on aarch64: the 400 does not say why (no 'aarch64' in it): $(echo "$API_OUT" | head -c 200)"
			fi
		fi
	fi
	[ -z "$API_BAD" ] || return 1
	[ "$(hp_holds "$HP_P" "$1")" = 0 ] || { API_BAD="kvmm kept an fd on the refused disk's image"; return 1; }
	hp_settle "$_uf" "$_ut" ||
		{ API_BAD="fds/threads $HP_FT after the refused adds, $_uf/$_ut before"; return 1; }
	api info
	echo "$API_OUT" | grep -q '"hpu[012]"' && { API_BAD="vm.info lists a refused device"; return 1; }
	# The guest still runs: it ticks (once a second) twice more.
	_uticks=$(hp_count 'KVMM-HP tick ')
	hp_wait 'KVMM-HP tick ' $((_uticks + 2)) 10 ||
		{ API_BAD="the guest stopped ticking after the refused adds ($_uticks ticks)"; return 1; }
	[ "$(api_state)" = Running ] || { API_BAD="state $(api_state) after the refused adds"; return 1; }
	[ "$(hp_count 'KVMM-HP add ')" = "$_un" ] || { API_BAD="the guest found a new device: $(grep -F 'KVMM-HP add ' "$HP_O" | tail -n 1)"; return 1; }
	if [ "$LAB_ARCH" = aarch64 ]; then
		_uvc=$(hp_vcpus)
		[ "$_uvc" = 0 ] || { API_BAD="after the refused vm.resize kvmm's threads named vcpu<N> are N='$_uvc', want '0'"; return 1; }
		[ "$(hp_count 'KVMM-HP cpu')" = "$_ucn" ] ||
			{ API_BAD="the guest saw CPUs change after the refused vm.resize: $(hp_after 'KVMM-HP cpu' "$_ucn" | head -n 1)"; return 1; }
		# The last tick (after the refusals) has the MemTotal of the READY line.
		_umt=$(echo " $_uready " | sed -n 's/.* memtotal_kb=\([^ ]*\) .*/\1/p')
		[ "$(hp_val memtotal_kb)" = "$_umt" ] ||
			{ API_BAD="the guest's MemTotal changed after the refused desired_ram: $_umt kB at READY, now $HP_LINE"; return 1; }
		[ "$(hp_count 'KVMM-HP mem-add ')" = 0 ] ||
			{ API_BAD="the guest saw memory come after the refused desired_ram: $(hp_after 'KVMM-HP mem-add ' 0 | head -n 1)"; return 1; }
	fi
	return 0
}

# hp_mmio_cpu: x86_64 virtio-mmio, the VM of hp-unsupported (max_vcpus 2, the guest's READY
# line in _uready): vCPU resize works without PCI: to 2 and back to 1. HP_U_CPU: "PASS detail"
# or "FAIL why".
hp_mmio_cpu() {
	API_BAD=
	now_ms
	HP_DEADLINE=$((NOW_MS + 60000))
	HP_NCPU=1
	HP_LINE=$_uready
	if [ "$(hp_val cpus_possible)/$(hp_val cpus_online)" != 0-1/0 ]; then
		HP_U_CPU="FAIL boot_vcpus 1, max_vcpus 2: want the guest's CPUs possible 0-1, online 0: $_uready"
		return 0
	fi
	if hp_cpu_step 2; then
		_um2=$HP_CPU_LAT/$HP_VC_MS
		if hp_cpu_step 1; then
			HP_U_CPU="PASS $LAB_ARCH transport=$LAB_TRANSPORT: vm.resize 1->2 (cpu1 onlined, vcpu1) and 2->1 (cpu1 ejected, vcpu1 ended), ms to the guest's line / to kvmm's threads: $_um2, $HP_CPU_LAT/$HP_VC_MS"
			return 0
		fi
	fi
	HP_U_CPU="FAIL $API_BAD"
	API_BAD=
}

sc_hp_unsupported() {
	hp_ready hp-unsupported || return 0
	net_tap "$HP_TAP" 102 || { fail hp-unsupported "cannot create TAP $HP_TAP"; return 0; }
	_uimg=$LAB_TMP/hp-unsupported.img
	head -c 1048576 /dev/urandom >"$_uimg"
	_ush='' _us_sock='' FS_VPID=''
	if [ -x "$FS_VFSD" ]; then
		_ush=$LAB_TMP/hp-unsupported-share _us_sock=$LAB_TMP/hp-unsupported.sock
		mkdir -p "$_ush"
		FS_WHY=
		fs_vfsd_start hp-unsupported "$_us_sock" "$_ush" || { fail hp-unsupported "$FS_WHY"; rm -rf "$_ush" "$_uimg"; return 0; }
	fi
	HP_MAX_VCPUS=2
	[ "$LAB_ARCH" != aarch64 ] || HP_MEM_EXTRA=", \"hotplug_size\": 268435456"
	hp_vm_json "$LAB_TMP/hp-unsupported.json" true " kvmm.hp_tick=1"
	HP_MAX_VCPUS='' HP_MEM_EXTRA=''
	HP_U_CPU='' _uready=''
	hp_unsupported_steps "$_uimg" "$_us_sock"
	[ -n "$API_BAD" ] || [ "$LAB_ARCH" != x86_64 ] || hp_mmio_cpu
	hp_end
	# kvmm never connected to virtiofsd: nothing will end it but this.
	[ -z "$FS_VPID" ] || kill -KILL "$FS_VPID" 2>/dev/null
	fs_vfsd_stop
	if [ -z "$API_BAD" ]; then
		pass hp-unsupported "$LAB_ARCH transport=$LAB_TRANSPORT: 400 for $_uwhat on a Running VM; nothing opened or listed, the guest saw no device and kept running, vmm.shutdown"
	else
		fail hp-unsupported "$API_BAD"
		hp_dump
	fi
	if [ "$LAB_ARCH" = x86_64 ]; then
		case $HP_U_CPU in
		"PASS "*) pass hp-cpu-mmio "${HP_U_CPU#PASS }" ;;
		"FAIL "*)
			fail hp-cpu-mmio "${HP_U_CPU#FAIL }"
			hp_dump
			;;
		*) fail hp-cpu-mmio "not reached: ${API_BAD:-?}" ;;
		esac
	fi
	rm -rf "$_uimg" "$_ush"
}

# --- memory hot-plug ----------------------------------------------------------------------------

MIB=1048576

# hp_mem_size: vm.info's config.memory.size in MiB ("?" when not found).
hp_mem_size() {
	api info
	_hz=$(echo "$API_OUT" | tr -d ' \n' | grep -o '"memory":{[^}]*}' | head -n 1 |
		sed -n 's/.*"size":\([0-9]*\).*/\1/p')
	if [ -n "$_hz" ]; then echo $((_hz / MIB)); else echo '?'; fi
}

# hp_log TEXT: how many lines of kvmm's log (HP_E) hold TEXT.
hp_log() {
	_hl_c=$(grep -c -F -e "$1" "$HP_E" 2>/dev/null) || true
	echo "${_hl_c:-0}"
}

# hp_mem_start TAG HOTPLUG_MB: hp_boot TAG (LAB_TMP/TAG.json, 512 MiB with memory.hotplug_size
# HOTPLUG_MB MiB): the guest's READY line says 128 MiB memory blocks and its MemTotal (HP_MT,
# KiB), vm.info says 512 MiB, kvmm's log names the room for hot-plug. HP_RAM_MB=512,
# HP_DEADLINE: LAB_HP_MEM_SECS from now, HP_MEM_FT: kvmm's "fds threads" then. 1 with API_BAD
# otherwise.
hp_mem_start() {
	hp_boot "$1" "$LAB_TMP/$1.json" || return 1
	HP_MEM_FT="$(hp_fds "$HP_P") $(hp_threads "$HP_P")"
	now_ms
	HP_DEADLINE=$((NOW_MS + HP_MEM_SECS * 1000))
	HP_RAM_MB=512
	HP_MT=$(hp_val memtotal_kb)
	HP_MEM_READY=$(echo "$HP_LINE" | grep -o 'mem_blocks=.*')
	case "$(hp_val block_mb)/$HP_MT" in
	128/[0-9]*) ;;
	*) API_BAD="want the guest's memory blocks of 128 MiB and its MemTotal in the READY line: $HP_LINE"; return 1 ;;
	esac
	_hm_s=$(hp_mem_size)
	[ "$_hm_s" = 512 ] || { API_BAD="vm.info's config.memory.size after boot: $_hm_s MiB, want 512"; return 1; }
	[ "$(hp_log "memory: $2 MiB for hot-plug at ")" = 1 ] ||
		{ API_BAD="kvmm's log does not say 'memory: $2 MiB for hot-plug at ...': $(grep -i 'memory' "$HP_E" | head -n 3 | tr '\n' '|')"; return 1; }
}

# hp_mem_step ADD_MB: vm.resize (kvmm-remote resize --memory) from HP_RAM_MB to HP_RAM_MB +
# ADD_MB must answer 204 (exit 0); within HP_WAIT (cut to HP_DEADLINE) the guest reports new
# memory blocks ("KVMM-HP mem-add" lines) adding up to ADD_MB / 128, each batch all onlined,
# and MemTotal grown by exactly ADD_MB MiB (HP_MT before); with HP_MEM_TOUCH (the guest's
# kvmm.hp_mem_touch), each batch's "KVMM-HP mem-touch" rc=0 with at least half its pages in the
# memory added since boot and some in the range just added (HP_TOUCH: their
# "pages/in_added/in_new(took_ms)"); vm.info's memory.size is the new size and kvmm's log says
# "memory: ADD_MB MiB plugged at ...: NEW MiB in all"; kvmm has the fds and threads it had
# after boot (HP_MEM_FT). HP_MEM_LAT: ms from the request to the guest's (last) mem-add line;
# HP_RAM_MB, HP_MT follow. 1 with API_BAD.
hp_mem_step() {
	_hs_want=$((HP_RAM_MB + $1))
	_hs_na=$(hp_count 'KVMM-HP mem-add ')
	_hs_nt=$(hp_count 'KVMM-HP mem-touch ')
	_hs_log="memory: $1 MiB plugged at "
	_hs_nl=$(hp_log "$_hs_log")
	_hs_what="vm.resize $HP_RAM_MB -> $_hs_want MiB"
	now_ms
	HP_T_RZ=$NOW_MS
	api resize --memory "${_hs_want}M"
	if [ "$API_RC" != 0 ]; then
		API_BAD="$_hs_what: kvmm-remote resize --memory ${_hs_want}M exited $API_RC, want 0 (204): $(echo "$API_OUT" | head -c 200)"
		return 1
	fi
	_hs_wb=$(($1 / 128)) _hs_b=0 _hs_k=$_hs_na
	while [ "$_hs_b" -lt "$_hs_wb" ]; do
		_hs_k=$((_hs_k + 1))
		_hs_s=$(hp_left "$HP_WAIT")
		if ! hp_wait 'KVMM-HP mem-add ' "$_hs_k" "$_hs_s"; then
			API_BAD="$_hs_what: the guest reported $_hs_b of $_hs_wb new memory blocks within $_hs_s s ($HP_WAIT_WHY; kvmm's log: $(grep -F 'memory:' "$HP_E" | tail -n 2 | tr '\n' '|'))"
			return 1
		fi
		if [ "$(hp_val online)" != "$(hp_val blocks)" ] || { [ "$(hp_val online_rc)" != 0 ] && [ "$(hp_val online_rc)" != - ]; }; then
			API_BAD="$_hs_what: the guest could not online all the new blocks: $HP_LINE"
			return 1
		fi
		_hs_b=$((_hs_b + $(hp_val blocks)))
	done
	HP_MEM_LAT=$((HP_SEEN - HP_T_RZ))
	_hs_mt=$(hp_val memtotal_kb)
	if [ "$_hs_b" != "$_hs_wb" ] || [ "$_hs_mt" != $((HP_MT + $1 * 1024)) ]; then
		API_BAD="$_hs_what: want $_hs_wb new blocks and MemTotal $((HP_MT + $1 * 1024)) kB (before: $HP_MT): the guest saw $_hs_b blocks, MemTotal $_hs_mt: $(hp_after 'KVMM-HP mem-add ' "$_hs_na" | tr '\n' '|')"
		return 1
	fi
	HP_TOUCH=
	if [ "${HP_MEM_TOUCH:-0}" -gt 0 ]; then
		_hs_nb=$((_hs_k - _hs_na))
		_hs_s=$(hp_left 120)
		if ! hp_wait 'KVMM-HP mem-touch ' $((_hs_nt + _hs_nb)) "$_hs_s"; then
			API_BAD="$_hs_what: the guest did not report using the new memory within $_hs_s s ($HP_WAIT_WHY)"
			return 1
		fi
		for _hs_l in $(hp_after 'KVMM-HP mem-touch ' "$_hs_nt" | tr ' ' '#'); do
			HP_LINE=$(echo "$_hs_l" | tr '#' ' ')
			_hs_p=$(hp_val pages) _hs_a=$(hp_val in_added) _hs_i=$(hp_val in_new) _hs_t=$(hp_val took_ms)
			case "$(hp_val rc)/$_hs_p/$_hs_a/$_hs_i" in
			0/[0-9]*/[0-9]*/[0-9]*) ;;
			*) API_BAD="$_hs_what: the guest's use of the new memory failed: $HP_LINE"; return 1 ;;
			esac
			if [ $((_hs_a * 2)) -lt "$_hs_p" ] || [ "$_hs_i" = 0 ]; then
				API_BAD="$_hs_what: want at least half the pages the guest touched in the memory added since boot and some in the range just added: $HP_LINE"
				return 1
			fi
			HP_TOUCH="$HP_TOUCH${HP_TOUCH:+,}$_hs_p/$_hs_a/$_hs_i(${_hs_t}ms)"
		done
	fi
	_hs_sz=$(hp_mem_size)
	[ "$_hs_sz" = "$_hs_want" ] ||
		{ API_BAD="$_hs_what: vm.info's config.memory.size is $_hs_sz MiB, want $_hs_want"; return 1; }
	if [ "$(hp_log "$_hs_log")" != $((_hs_nl + 1)) ] || ! tail -n 20 "$HP_E" | grep -q -F "): $_hs_want MiB in all"; then
		API_BAD="$_hs_what: kvmm's log does not say '$_hs_log...: $_hs_want MiB in all': $(grep -F 'memory:' "$HP_E" | tail -n 2 | tr '\n' '|')"
		return 1
	fi
	# shellcheck disable=SC2086 # "fds threads"
	if ! hp_settle $HP_MEM_FT; then
		API_BAD="$_hs_what: kvmm has fds/threads $HP_FT, after boot $(echo "$HP_MEM_FT" | tr ' ' /)"
		return 1
	fi
	HP_RAM_MB=$_hs_want HP_MT=$_hs_mt
}

# hp_mem_refuse NAME BODY REGEX: PUT vm.resize BODY must be 400 with an error matching REGEX
# (grep -iE); HP_M_<NAME>: "PASS detail" or "FAIL why". 1 with API_BAD when kvmm did not answer.
hp_mem_refuse() {
	api raw PUT vm.resize "$2"
	if [ "$API_RC" = 124 ]; then
		API_BAD="no answer to vm.resize $2 within 30 s ($(hp_alive))"
		return 1
	fi
	_mrs=$(hp_status)
	_mrw=$(echo "$API_OUT" | sed 's/^kvmm-remote: //' | head -c 180)
	if [ "$API_RC" = 1 ] && [ "$_mrs" = 400 ] && echo "$API_OUT" | grep -qiE "$3"; then
		_mrv="PASS vm.resize $2: 400 ($_mrw)"
	else
		_mrv="FAIL vm.resize $2: want 400 with a reason matching '$3', got exit $API_RC status ${_mrs:-none}: $_mrw"
	fi
	eval "HP_M_$1=\$_mrv"
}

# hp_mem_cmdline NAME REGEX KVMM_ARGS...: kvmm --api-socket with a command line VM (booted at
# once; the guest hangs): vm.resize desired_ram 384 MiB must be 400 matching REGEX, and nothing
# plugged (kvmm's log); then vmm.shutdown. HP_M_<NAME>: "PASS detail" or "FAIL why".
hp_mem_cmdline() {
	_mc_n=$1 _mc_re=$2
	shift 2
	HP_O=$LAB_TMP/hp-mem-$_mc_n.out HP_E=$LAB_TMP/hp-mem-$_mc_n.err
	rm -f "$API_SOCK"
	setsid "$KVMM" --api-socket "$API_SOCK" --kernel "$KERNEL" --initramfs "$INITRAMFS" "$@" \
		-v </dev/null >"$HP_O" 2>"$HP_E" &
	HP_P=$!
	_mc_i=0
	while ! api ping && mem_alive "$HP_P" && [ $_mc_i -lt 50 ]; do sleep 0.1; _mc_i=$((_mc_i + 1)); done
	if ! mem_alive "$HP_P"; then
		_mc_rc=0
		wait "$HP_P" || _mc_rc=$?
		HP_M_x="FAIL kvmm $* exited $_mc_rc at once: $(cat "$HP_E" "$HP_O" | tr '\n' ' ' | head -c 200)"
		eval "HP_M_$_mc_n=\$HP_M_x"
		return 0
	fi
	_mc_st=$(api_state)
	API_BAD=
	if [ "$_mc_st" != Running ]; then
		HP_M_x="FAIL kvmm $*: state '$_mc_st', want Running (the command line's VM boots at once)"
	else
		hp_mem_refuse x "{\"desired_ram\": $((384 * MIB))}" "$_mc_re"
		case $HP_M_x in
		"PASS "*)
			_mc_sz=$(hp_mem_size)
			if [ "$(hp_log 'MiB plugged at')" != 0 ] || [ "$_mc_sz" != 256 ]; then
				HP_M_x="FAIL kvmm $*: after the refused resize vm.info says $_mc_sz MiB (want 256) or kvmm's log says it plugged some: $(grep -F 'memory:' "$HP_E" | tr '\n' '|' | head -c 200)"
			else
				HP_M_x="PASS kvmm $*: ${HP_M_x#PASS }"
			fi
			;;
		esac
	fi
	[ -z "$API_BAD" ] || HP_M_x="FAIL $API_BAD"
	API_BAD=
	hp_end
	[ -z "$API_BAD" ] || case $HP_M_x in "PASS "*) HP_M_x="FAIL $API_BAD" ;; esac
	API_BAD=
	eval "HP_M_$_mc_n=\$HP_M_x"
}

# --- hp-mem -----------------------------------------------------------------------------------

hp_mem_steps() {
	hp_mem_start hp-mem 1024 || return 1
	hp_mem_step 256 || return 1
	info "hp-mem step=512-to-768 guest_ms=$HP_MEM_LAT touch_pages/in_added/in_new=$HP_TOUCH memtotal_kb=$HP_MT"
	_m1="+256 MiB: $HP_MEM_LAT ms to the guest's line, touched (pages/in memory added/in the range just added) $HP_TOUCH"
	hp_mem_step 128 || return 1
	info "hp-mem step=768-to-896 guest_ms=$HP_MEM_LAT touch_pages/in_added/in_new=$HP_TOUCH memtotal_kb=$HP_MT"
	_m2="+128 MiB: $HP_MEM_LAT ms, touched $HP_TOUCH"
	[ "$(api_state)" = Running ] || { API_BAD="state $(api_state) after the resizes"; return 1; }
}

sc_hp_mem() {
	hp_ready hp-mem || return 0
	_m1='' _m2='' HP_MEM_READY=''
	HP_MEM_EXTRA=", \"hotplug_size\": $((1024 * MIB))"
	hp_vm_json "$LAB_TMP/hp-mem.json" false " kvmm.hp_mem_touch=$HP_MEM_PCT"
	HP_MEM_EXTRA=
	HP_MEM_TOUCH=$HP_MEM_PCT
	hp_mem_steps
	HP_MEM_TOUCH=0
	hp_end
	if [ -z "$API_BAD" ]; then
		pass hp-mem "512 MiB + hotplug_size 1 GiB (guest: $HP_MEM_READY); $_m1; $_m2; MemTotal +256 then +128 MiB exactly, all blocks onlined, vm.info memory.size 768 then 896 MiB, kvmm's log says each, fds/threads as after boot ($(echo "$HP_MEM_FT" | tr ' ' /))"
	else
		fail hp-mem "$API_BAD"
		hp_dump
	fi
}

# --- hp-mem-mmio ------------------------------------------------------------------------------

sc_hp_mem_mmio() {
	hp_ready hp-mem-mmio || return 0
	HP_MEM_EXTRA=", \"hotplug_size\": $((512 * MIB))"
	hp_vm_json "$LAB_TMP/hp-mem-mmio.json" false " kvmm.hp_mem_touch=$HP_MEM_PCT"
	HP_MEM_EXTRA=
	HP_MEM_TOUCH=$HP_MEM_PCT
	API_BAD=
	hp_mem_start hp-mem-mmio 512 && hp_mem_step 128 &&
		{ [ "$(api_state)" = Running ] || API_BAD="state $(api_state) after the resize"; }
	HP_MEM_TOUCH=0
	hp_end
	if [ -z "$API_BAD" ]; then
		pass hp-mem-mmio "$LAB_ARCH transport=$LAB_TRANSPORT, ACPI: +128 MiB: the guest onlined it $HP_MEM_LAT ms after vm.resize, MemTotal +128 MiB exactly, touched (pages/in memory added/in the range just added) $HP_TOUCH, vm.info 640 MiB"
	else
		fail hp-mem-mmio "$API_BAD"
		hp_dump
	fi
}

# --- hp-mem-refused ---------------------------------------------------------------------------

HP_MEM_REFUSED="hp-mem-refused-shrink hp-mem-refused-above hp-mem-refused-block hp-mem-refused-zero hp-mem-refused-slots hp-mem-refused hp-mem-refused-nohp hp-mem-refused-noacpi"

hp_mem_refused_steps() {
	# 17 blocks of room: 16 resizes of one block fill the slots, the 17th still fits the room.
	hp_mem_start hp-mem-refused $((17 * 128)) || return 1
	_mr_mt=$HP_MT _mr_na=$(hp_count 'KVMM-HP mem-add ')
	hp_mem_refuse shrink "{\"desired_ram\": $((256 * MIB))}" 'shrink' || return 1
	hp_mem_refuse above "{\"desired_ram\": $(((512 + 17 * 128 + 128) * MIB))}" 'above.*hotplug_size' || return 1
	hp_mem_refuse block "{\"desired_ram\": $(((512 + 64) * MIB))}" '128 MiB' || return 1
	hp_mem_refuse zero '{"desired_ram": 0}' 'desired_ram' || return 1
	# The size it has: nothing to do.
	api raw PUT vm.resize "{\"desired_ram\": $((512 * MIB))}"
	[ "$API_RC" = 0 ] ||
		{ API_BAD="vm.resize to the size it has (512 MiB): want 204 (exit 0): exit $API_RC: $(echo "$API_OUT" | head -c 160)"; return 1; }
	# Nothing came of them: the guest ticks twice more with the same MemTotal and no new block.
	_mr_t=$(hp_count 'KVMM-HP tick ')
	hp_wait 'KVMM-HP tick ' $((_mr_t + 2)) 10 ||
		{ API_BAD="the guest stopped ticking after the refused resizes ($HP_WAIT_WHY)"; return 1; }
	[ "$(hp_val memtotal_kb)" = "$_mr_mt" ] ||
		{ API_BAD="the guest's MemTotal changed after the refused resizes: $_mr_mt kB at READY, now $HP_LINE"; return 1; }
	[ "$(hp_count 'KVMM-HP mem-add ')" = "$_mr_na" ] ||
		{ API_BAD="the guest saw memory come after the refused resizes: $(hp_after 'KVMM-HP mem-add ' "$_mr_na" | head -n 1)"; return 1; }
	_mr_sz=$(hp_mem_size)
	[ "$_mr_sz" = 512 ] || { API_BAD="vm.info's memory.size after the refused resizes: $_mr_sz MiB, want 512"; return 1; }
	[ "$(hp_log 'MiB plugged at')" = 0 ] ||
		{ API_BAD="kvmm's log says it plugged memory for a refused resize: $(grep -F 'plugged at' "$HP_E" | head -n 1)"; return 1; }
	_mr_ok="after the refusals and a resize to the size it has (204) the guest ticked on with MemTotal $_mr_mt kB, no new block, vm.info 512 MiB"

	# All 16 slots, one block each; the guest follows each before the next.
	_mr_i=0 _mr_lats=
	while [ $_mr_i -lt 16 ]; do
		_mr_i=$((_mr_i + 1))
		if ! hp_mem_step 128; then
			HP_M_slots="FAIL resize $_mr_i of 16: $API_BAD"
			API_BAD="resize $_mr_i of 16 (+128 MiB each) failed"
			return 1
		fi
		_mr_lats="$_mr_lats $HP_MEM_LAT"
	done
	# shellcheck disable=SC2086 # one number a word
	info "hp-mem-refused slots=16 guest_ms median=$(median $_mr_lats) max=$(printf '%s\n' $_mr_lats | sort -n | tail -n 1)"
	hp_mem_refuse slots "{\"desired_ram\": $(((HP_RAM_MB + 128) * MIB))}" '16' || return 1
	# shellcheck disable=SC2086 # one number a word
	_mr_med=$(median $_mr_lats)
	case $HP_M_slots in
	"PASS "*) HP_M_slots="PASS 16 resizes of +128 MiB each followed by the guest (median $_mr_med ms to its line), then ${HP_M_slots#PASS }" ;;
	esac
	_mr_t=$(hp_count 'KVMM-HP tick ')
	hp_wait 'KVMM-HP tick ' $((_mr_t + 2)) 10 ||
		{ API_BAD="the guest stopped ticking after the 17th resize ($HP_WAIT_WHY)"; return 1; }
	[ "$(hp_val memtotal_kb)" = "$HP_MT" ] ||
		{ API_BAD="the guest's MemTotal after the 17th resize: $HP_LINE, want $HP_MT kB"; return 1; }
	_mr_sz=$(hp_mem_size)
	[ "$_mr_sz" = "$HP_RAM_MB" ] || { API_BAD="vm.info's memory.size after the 17th resize: $_mr_sz MiB, want $HP_RAM_MB"; return 1; }
	[ "$(api_state)" = Running ] || { API_BAD="state $(api_state) after the refused resizes"; return 1; }
}

sc_hp_mem_refused() {
	# shellcheck disable=SC2086 # one name a word
	hp_ready $HP_MEM_REFUSED || return 0
	# shellcheck disable=SC2034 # set through eval, read by hp_report_parts
	HP_M_shrink='' HP_M_above='' HP_M_block='' HP_M_zero='' HP_M_slots='' HP_M_nohp='' HP_M_noacpi=''
	_mr_ok=''
	HP_MEM_EXTRA=", \"hotplug_size\": $((17 * 128 * MIB))"
	hp_vm_json "$LAB_TMP/hp-mem-refused.json" false " kvmm.hp_tick=1"
	HP_MEM_EXTRA=
	HP_MEM_TOUCH=0
	hp_mem_refused_steps
	hp_end
	_mrbad=$API_BAD
	hp_report_parts hp-mem-refused HP_M "$_mrbad" shrink above block zero slots
	if [ -z "$_mrbad" ]; then
		pass hp-mem-refused "$_mr_ok; after the 17th: MemTotal $HP_MT kB, vm.info $HP_RAM_MB MiB, ticking, Running"
	else
		fail hp-mem-refused "$_mrbad"
	fi
	case "$HP_M_shrink$HP_M_above$HP_M_block$HP_M_zero$HP_M_slots" in
	*FAIL*) hp_dump ;;
	*) [ -z "$_mrbad" ] || hp_dump ;;
	esac
	API_BAD=
	hp_mem_cmdline nohp 'hotplug_size' --cmdline "$CMDLINE kvmm.test=hang" --memory size=256M
	hp_mem_cmdline noacpi 'ACPI' --cmdline "$CMDLINE pci=off kvmm.test=hang" \
		--memory size=256M,hotplug_size=256M --no-acpi
	hp_report_parts hp-mem-refused HP_M "" nohp noacpi
}

# --- hp-mem-fs --------------------------------------------------------------------------------

hp_mem_fs_steps() {
	hp_mem_start hp-mem-fs 512 || return 1
	api counters
	_mf_c=$(echo "$API_OUT" | grep -o '"_fs[0-9]*":{[^}]*}' | head -n 1)
	[ "$(echo "$_mf_c" | sed -n 's/.*"mem_table_updates":\([0-9]*\).*/\1/p')" = 0 ] ||
		{ API_BAD="vm.counters before the resize: want the fs device with mem_table_updates 0: $(echo "$API_OUT" | head -c 300)"; return 1; }
	_mf_nf=$(hp_count 'KVMM-HP mem-fs ')
	hp_mem_step 256 || return 1
	if ! hp_wait 'KVMM-HP mem-fs ' $((_mf_nf + 1)) "$(hp_left "$HP_WAIT")"; then
		API_BAD="the guest did not report its use of the share after the resize ($HP_WAIT_WHY)"
		return 1
	fi
	if [ "$(hp_val mount)/$(hp_val sha)/$(hp_val copy)/$(hp_val umount)" != "0/$2/0/0" ]; then
		API_BAD="after the resize want mount=0 sha=$2 (the host's) copy=0 umount=0: $HP_LINE"
		return 1
	fi
	_mf_cs=$(sha256sum "$1/mem-file.copy-$(hp_val n)" 2>/dev/null | cut -d' ' -f1)
	[ "$_mf_cs" = "$2" ] ||
		{ API_BAD="the guest's copy on the share, as the host reads it: sha256 ${_mf_cs:-none}, want $2"; return 1; }
	api counters
	_mf_c=$(echo "$API_OUT" | grep -o '"_fs[0-9]*":{[^}]*}' | head -n 1)
	[ "$(echo "$_mf_c" | sed -n 's/.*"mem_table_updates":\([0-9]*\).*/\1/p')" = 1 ] ||
		{ API_BAD="vm.counters after the resize: want the fs device with mem_table_updates 1: ${_mf_c:-$(echo "$API_OUT" | head -c 300)}"; return 1; }
	mem_alive "$FS_VPID" || { API_BAD="virtiofsd ended"; return 1; }
	[ "$(api_state)" = Running ] || { API_BAD="state $(api_state) after the resize"; return 1; }
}

sc_hp_mem_fs() {
	hp_ready hp-mem-fs || return 0
	[ -x "$FS_VFSD" ] || { fail hp-mem-fs "no virtiofsd at $FS_VFSD"; return 0; }
	_mfsh=$LAB_TMP/hp-mem-fs-share _mfs=$LAB_TMP/hp-mem-fs.sock
	rm -rf "$_mfsh"
	mkdir -p "$_mfsh"
	head -c 4194304 /dev/urandom >"$_mfsh/mem-file"
	_mfsha=$(sha256sum "$_mfsh/mem-file" | cut -d' ' -f1)
	FS_WHY=
	fs_vfsd_start hp-mem-fs "$_mfs" "$_mfsh" || { fail hp-mem-fs "$FS_WHY"; rm -rf "$_mfsh"; return 0; }
	HP_MEM_EXTRA=", \"hotplug_size\": $((512 * MIB))"
	hp_vm_json "$LAB_TMP/hp-mem-fs.json" true \
		" kvmm.hp_mem_touch=$HP_MEM_FS_PCT kvmm.hp_mem_fs=1 kvmm.fs_tag=memShare kvmm.hp_fs_file=mem-file" ",
 \"fs\": [{\"tag\": \"memShare\", \"socket\": \"$_mfs\", \"num_queues\": 1, \"queue_size\": 1024}]"
	HP_MEM_EXTRA=
	HP_MEM_TOUCH=$HP_MEM_FS_PCT
	_mf_c=''
	hp_mem_fs_steps "$_mfsh" "$_mfsha"
	HP_MEM_TOUCH=0
	hp_end
	fs_vfsd_stop
	if [ -z "$API_BAD" ]; then
		pass hp-mem-fs "virtio-fs share (shared memory) and +256 MiB: the guest onlined it $HP_MEM_LAT ms after vm.resize and touched it ($HP_TOUCH), then mounted the share, read a 4 MiB file with the host's sha256 and copied it (the host reads the copy with the same sha256); vm.counters: $(echo "$_mf_c" | grep -o '"mem_table_updates":[0-9]*'); virtiofsd $FS_VEND after vmm.shutdown"
	else
		fail hp-mem-fs "$API_BAD"
		hp_dump
		tail -n 5 "$FS_VLOG" 2>/dev/null | sed 's/^/  | virtiofsd: /'
	fi
	rm -rf "$_mfsh"
}

# --- hp-latency (benchmark) -------------------------------------------------------------------

# hp_bench_kvmm RUNS: RUNS disks hot-plugged into one kvmm boot; their latencies in
# HP_LAT_KVMM. 1 with HP_WHY when a run could not be measured.
hp_bench_kvmm() {
	hp_vm_json "$LAB_TMP/hp-bench.json" false ""
	if hp_boot hp-bench-kvmm "$LAB_TMP/hp-bench.json"; then
		info "hp-latency vmm=kvmm boot_to_ready_ms=$HP_BOOT_MS"
		_bi=0
		while [ $_bi -lt "$1" ]; do
			_bi=$((_bi + 1))
			_bimg=$LAB_TMP/hp-bench-$_bi.img
			head -c 1048576 /dev/urandom >"$_bimg"
			if ! { hp_add disk "hpb$_bi" "path=$_bimg,id=hpb$_bi" && hp_guest_add blk &&
				hp_guest_blk "$(sha256sum "$_bimg" | cut -d' ' -f1)"; }; then
				break
			fi
			info "hp-latency run=$_bi vmm=kvmm lat_ms=$HP_LAT guest_ms=$HP_GMS bdf=$HP_BDF"
			HP_LAT_KVMM="$HP_LAT_KVMM $HP_LAT"
		done
	fi
	_bbad=$API_BAD
	hp_end
	rm -f "$LAB_TMP"/hp-bench-*.img
	HP_WHY=${_bbad:-$API_BAD}
	[ -z "$HP_WHY" ] && return 0
	hp_dump
	return 1
}

# hp_qmp JSON...: writes each JSON line to QEMU's QMP pipe (HP_QMP.in); the write is bounded
# (a FIFO nobody reads would block it). hp_qmp_returns: the "return"s in its answers so far.
hp_qmp() {
	printf '%s\n' "$@" >"$HP_QMP.in" &
	_hq_w=$!
	_hq_i=0
	while mem_alive "$_hq_w" && [ $_hq_i -lt 50 ]; do sleep 0.1; _hq_i=$((_hq_i + 1)); done
	kill "$_hq_w" 2>/dev/null
	wait "$_hq_w" 2>/dev/null
}
hp_qmp_returns() {
	_hq_c=$(grep -o '"return"' "$HP_QMP.log" 2>/dev/null | wc -l)
	echo "${_hq_c:-0}"
}
# hp_qmp_wait N: up to 10 s for the N-th "return" (1 otherwise).
hp_qmp_wait() {
	_hq_i=0
	while [ "$(hp_qmp_returns)" -lt "$1" ]; do
		[ $_hq_i -lt 100 ] && mem_alive "$HP_P" || return 1
		sleep 0.1
		_hq_i=$((_hq_i + 1))
	done
}

# hp_bench_qemu RUNS: QEMU -M q35 (hotplug-bench.sh's hpb_qemu_start) with RUNS
# pcie-root-ports, one disk hot-plugged into each in turn over QMP (blockdev-add, device_add:
# sent together, the clock started before); latencies in HP_LAT_QEMU. 1 with HP_WHY when a run
# could not be measured.
hp_bench_qemu() {
	_qacpi=
	[ -z "${LAB_HP_QEMU_ACPI:-}" ] ||
		_qacpi="-global ICH9-LPC.acpi-pci-hotplug-with-bridge-support=$LAB_HP_QEMU_ACPI"
	HPB_CMDLINE=
	# shellcheck disable=SC2046,SC2086 # the options are meant to split
	hpb_qemu_start hp-bench-qemu -smp 1 -m 512M $_qacpi $(hpb_root_ports "$1") &&
		info "hp-latency vmm=qemu boot_to_ready_ms=$HP_BOOT_MS qemu_acpi_hotplug=${LAB_HP_QEMU_ACPI:-default}"
	_bi=0
	while [ -z "$HP_WHY" ] && [ $_bi -lt "$1" ]; do
		_bi=$((_bi + 1))
		_bimg=$LAB_TMP/hp-bench-$_bi.img
		head -c 1048576 /dev/urandom >"$_bimg"
		HP_NADD=$(hp_count 'KVMM-HP add ')
		HP_BDF=
		now_ms
		HP_T_API=$NOW_MS
		hp_qmp "{\"execute\": \"blockdev-add\", \"arguments\": {\"driver\": \"raw\", \"node-name\": \"hpd$_bi\", \"file\": {\"driver\": \"file\", \"filename\": \"$_bimg\"}}}" \
			"{\"execute\": \"device_add\", \"arguments\": {\"driver\": \"virtio-blk-pci\", \"bus\": \"rp$_bi\", \"drive\": \"hpd$_bi\", \"id\": \"hpb$_bi\"}}"
		API_BAD=
		if hp_guest_add blk && hp_guest_blk "$(sha256sum "$_bimg" | cut -d' ' -f1)"; then
			info "hp-latency run=$_bi vmm=qemu lat_ms=$HP_LAT guest_ms=$HP_GMS bdf=$(hp_val bdf)"
			HP_LAT_QEMU="$HP_LAT_QEMU $HP_LAT"
		else
			HP_WHY="run $_bi: $API_BAD; QMP: $(hpb_qmp_error)"
		fi
	done
	hpb_qemu_stop
	rm -f "$LAB_TMP"/hp-bench-*.img
	[ -z "$HP_WHY" ] && return 0
	hp_dump
	return 1
}

sc_hp_latency() {
	_bruns=${LAB_HP_BENCH_RUNS:-5}
	[ "$_bruns" -le 8 ] || _bruns=8	# kvmm: at most 8 disks
	HP_LAT_KVMM='' HP_LAT_QEMU=''
	_bmiss=
	# Both VMMs boot the benchmarks' kernel and command line.
	HP_KERNEL=$BOOT_KERNEL HP_CMDLINE=$BASE_CMDLINE
	if ! have_kvmm || [ ! -x "${LAB_KVMM_REMOTE:-}" ]; then
		_bmiss=" kvmm(absent)"
	else
		hp_bench_kvmm "$_bruns" || _bmiss=" kvmm($HP_WHY)"
	fi
	HP_KERNEL='' HP_CMDLINE=''
	if ! command -v "$LAB_QEMU" >/dev/null 2>&1; then
		_bmiss="$_bmiss qemu(absent)"
	else
		hp_bench_qemu "$_bruns" || _bmiss="$_bmiss qemu($HP_WHY)"
	fi
	peer_verdict hp-latency ms "$HP_LAT_KVMM" "$HP_LAT_QEMU" "$_bmiss"
}

# kvmm hot-plugs devices on x86_64 with virtio-pci; elsewhere (aarch64, virtio-mmio) it
# refuses. vCPU resize needs ACPI, not PCI: on x86_64 virtio-mmio hp-unsupported checks it too.
if [ "$LAB_ARCH" = x86_64 ] && [ "$LAB_TRANSPORT" = pci ]; then
	scenario hp-disk x86_64 sc_hp_disk
	scenario hp-net x86_64 sc_hp_net
	scenario hp-fs x86_64 sc_hp_fs
	scenario hp-vsock x86_64 sc_hp_vsock
	scenario hp-loop x86_64 sc_hp_loop
	scenario hp-refused x86_64 sc_hp_refused
	scenario hp-cpu x86_64 sc_hp_cpu
	scenario hp-cpu-refused x86_64 sc_hp_cpu_refused
	scenario hp-mem x86_64 sc_hp_mem
	scenario hp-mem-refused x86_64 sc_hp_mem_refused
	scenario hp-mem-fs x86_64 sc_hp_mem_fs
	bench hp-latency x86_64 sc_hp_latency
else
	scenario hp-unsupported any sc_hp_unsupported
	scenario hp-mem-mmio x86_64 sc_hp_mem_mmio
fi
