# Lab scenario pci-hostile (sourced by scenarios.sh; POSIX sh; uses virtio-blk.sh's blk_image,
# blk_sha and blk_field): a hostile guest that unbinds a virtio device from its driver and
# attacks it must not crash kvmm nor disturb another device, and kvmm must count what it
# refused. The guest side is guest-images/tests/pci-hostile with
# guest-images/tools/pci-hostile.c (what it does, and what it leaves alone on purpose, is
# described there): on PCI (kvmm's default) seeded garbage into the victim function's
# configuration space and BAR0 (common configuration, ISR, device configuration,
# notifications, MSI-X table and PBA) and the host bridge's configuration space; with
# LAB_TRANSPORT=mmio (or where kvmm put the disks on virtio-mmio by itself, an arm64 GICv2
# host) garbage into the victim's virtio-mmio window through /dev/mem (registers, status
# toggling, queue addresses outside RAM, notify storms). Then, on either transport, the
# structured virtqueue attacks: the device set up properly on rings in the guest program's
# own locked pages, then descriptor cycles, chains longer than the queue, indirect tables
# with cycles / nested / huge lengths, buffers outside RAM, on the device's own registers,
# over the rings, lengths of 0xffffffff, requests past the disk's end, the available index
# jumping ahead, ring addresses outside RAM, a notify storm, resets in flight: one
# KVMM-HOSTILE-STEP line each, with ok=1 when kvmm did what it must (refused, counted, or
# served a valid request).
#
# Two disks: vda, the victim, and vdb, 4 MiB of random bytes the guest reads again and again
# during the attack (and writes a console line after each read); two vCPUs, so that the
# reads and the attack really run side by side. kvmm runs with --api-socket; while the guest
# waits after its KVMM-HOSTILE-COUNTERS-NOW line, the scenario fetches vm.counters with
# kvmm-remote (LAB_KVMM_REMOTE). Passes when kvmm exits 0 (the guest powered off normally),
# the guest's KVMM-HOSTILE line says vdb_ok=1 with vdb_reads >= 2 and vdb's sha256 equal to
# the host's, pci-hostile did more than 1000 register accesses, every structured step was
# ok, vm.counters shows the victim (_disk0) with malformed_chains, errors and needs_reset
# above 0 and the bystander (_disk1) with all three 0 and reads, and vda's image is unchanged
# (no garbage reached the disk; the only writes the guest sends lie past the disk's end).
# Whether vda works again after re-binding its driver is an INFO line.
#
# The seed is new each run and printed; kvmm.hostile_seed=N in LAB_EXTRA_CMDLINE (which
# run-lab.sh hands into L1) or LAB_HOSTILE_SEED=N (run-lab.sh hands it into L1 too)
# replays it: the same operations, timing aside. How long the random garbage runs:
# kvmm.hostile_secs=S or LAB_HOSTILE_SECS (15 s), added to LAB_TIMEOUT for this guest. On
# PCI the structured steps run with MSI-X off, the device interrupting through INTx (whose
# KVM_IRQ_LINE from the device's worker the seccomp filter once refused, killing kvmm);
# LAB_EXTRA_CMDLINE=kvmm.hostile_intx=0 runs them with MSI-X on, masked, with no vectors.

# hostile_counter JSON DEV NAME: the value of counter NAME of device DEV in vm.counters' JSON.
hostile_counter() {
	echo "$1" | sed -n "s/.*\"$2\":{\([^}]*\)}.*/\1/p" | tr ',' '\n' |
		sed -n "s/^\"$3\":\([0-9]*\)\$/\1/p"
}

sc_pci_hostile() {
	_hname=pci-hostile
	_ha=$LAB_TMP/hostile-a.img _hb=$LAB_TMP/hostile-b.img
	_hsock=$LAB_TMP/hostile.sock _hcnt=$LAB_TMP/hostile-counters _hstop=$LAB_TMP/hostile.stop
	if [ -z "${LAB_KVMM_REMOTE:-}" ] || [ ! -x "$LAB_KVMM_REMOTE" ]; then
		fail $_hname "no kvmm-remote (LAB_KVMM_REMOTE) to read vm.counters with"
		return 0
	fi
	blk_image "$_ha" 1
	blk_image "$_hb" 4
	_hasha=$(blk_sha "$_ha") _hbsha=$(blk_sha "$_hb")
	_hseed=${LAB_HOSTILE_SEED:-} _hsecs=${LAB_HOSTILE_SECS:-15}
	for _hw in $CMDLINE; do
		case $_hw in
		kvmm.hostile_seed=*) _hseed=${_hw#*=} ;;
		kvmm.hostile_secs=*) _hsecs=${_hw#*=} ;;
		esac
	done
	[ -n "$_hseed" ] || _hseed=$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')
	info "$_hname seed=$_hseed secs=$_hsecs transport=$LAB_TRANSPORT (replay: LAB_EXTRA_CMDLINE=kvmm.hostile_seed=$_hseed)"
	# vm.counters while the guest waits after KVMM-HOSTILE-COUNTERS-NOW (the last answer
	# before that in $_hcnt.last, for a guest that never got there).
	rm -f "$_hsock" "$_hcnt".* "$_hstop" "$LAB_TMP/$_hname.out"
	(
		_hi=0
		while [ ! -f "$_hstop" ] && [ $_hi -lt 4000 ]; do
			_hnow=0
			grep -q '^KVMM-HOSTILE-COUNTERS-NOW' "$LAB_TMP/$_hname.out" 2>/dev/null && _hnow=1
			if [ -S "$_hsock" ] && _hc=$(timeout 10 "$LAB_KVMM_REMOTE" --api-socket "$_hsock" counters 2>/dev/null); then
				echo "$_hc" >"$_hcnt.last"
				[ $_hnow = 0 ] || { echo "$_hc" >"$_hcnt.final"; break; }
			fi
			sleep 0.5
			_hi=$((_hi + 1))
		done
	) </dev/null >/dev/null 2>&1 &
	_hpoll=$!
	# The attack's time (and the structured steps', and the wait for the counters) on top
	# of what any guest run may take.
	_hto=$LAB_TIMEOUT
	LAB_TIMEOUT=$((LAB_TIMEOUT + _hsecs + 30))
	kvmm_boot $_hname -v --api-socket "$_hsock" --kernel "$KERNEL" --initramfs "$INITRAMFS" \
		--cpus boot=2 --memory size=512M --disk "path=$_ha" --disk "path=$_hb" \
		--cmdline "$CMDLINE kvmm.test=pci-hostile kvmm.hostile_seed=$_hseed kvmm.hostile_secs=$_hsecs" ||
		true
	LAB_TIMEOUT=$_hto
	: >"$_hstop"
	wait "$_hpoll" 2>/dev/null || true
	_hline=$(grep -m 1 '^KVMM-HOSTILE ' "$OUT" | tr -d '\r')
	_hops=$(blk_field 'KVMM-HOSTILE ' ops) _hreads=$(blk_field 'KVMM-HOSTILE ' vdb_reads)
	_hok=$(blk_field 'KVMM-HOSTILE ' vdb_ok) _hgsha=$(blk_field 'KVMM-HOSTILE ' vdb_sha)
	_hbus=$(blk_field 'KVMM-HOSTILE ' sigbus) _halive=$(blk_field 'KVMM-HOSTILE ' bar_alive)
	_hsteps=$(blk_field 'KVMM-HOSTILE ' steps) _hsteps_ok=$(blk_field 'KVMM-HOSTILE ' steps_ok)
	_hsfail=$(blk_field 'KVMM-HOSTILE ' steps_failed) _htr=$(blk_field 'KVMM-HOSTILE ' transport)
	_hrebind=$(grep -m 1 '^KVMM-HOSTILE-REBIND ' "$OUT" | tr -d '\r')
	_hdone=$(grep -m 1 '^pci-hostile: done' "$OUT" | tr -d '\r')
	# What kvmm said about it (-v): refusals and resets, and anything worse.
	_hwarn=$(grep -c 'warn' "$ERR" 2>/dev/null || true)
	_hrefused=$(grep -c 'refused' "$ERR" 2>/dev/null || true)
	_hreset=$(grep -c 'needs reset' "$ERR" 2>/dev/null || true)
	_herr=$(grep -c -i 'error' "$ERR" 2>/dev/null || true)
	# MSI-X messages that reached the guest on a vector no driver had (ratelimited by Linux).
	_hspur=$(grep -c 'No irq handler' "$OUT" 2>/dev/null || true)
	info "$_hname transport=${_htr:-none} ops=${_hops:-none} vdb_reads=${_hreads:-none} vdb_ok=${_hok:-none}" \
		"sigbus=${_hbus:-none} bar_alive=${_halive:-none} steps=${_hsteps:-none} steps_ok=${_hsteps_ok:-none}" \
		"kvmm_warnings=$_hwarn queue_refusals=$_hrefused needs_reset=$_hreset errors=$_herr" \
		"guest_unhandled_vector_msgs=$_hspur exit=$RC run_ms=$RUN_MS"
	info "$_hname ${_hdone:-no summary from pci-hostile}"
	info "$_hname after re-binding vda to its driver: ${_hrebind:-no KVMM-HOSTILE-REBIND line}"
	grep '^KVMM-HOSTILE-STEP .*ok=0' "$OUT" | tr -d '\r' | while IFS= read -r _hl; do
		info "$_hname step not ok: ${_hl#KVMM-HOSTILE-STEP }"
	done
	# The kinds of message kvmm logged, most frequent first (numbers as N).
	sed 's/0x[0-9a-f]*/N/g; s/[0-9][0-9]*/N/g' "$ERR" 2>/dev/null | sort | uniq -c |
		sort -rn | head -n 8 | while IFS= read -r _hl; do info "$_hname kvmm: $_hl"; done
	# vm.counters as the guest finished (victim _disk0, bystander _disk1).
	_hc='' _hcwhen=final
	[ -s "$_hcnt.final" ] && _hc=$(cat "$_hcnt.final")
	[ -n "$_hc" ] || { _hcwhen=last; [ -s "$_hcnt.last" ] && _hc=$(cat "$_hcnt.last"); }
	_hvm=$(hostile_counter "$_hc" _disk0 malformed_chains) _hve=$(hostile_counter "$_hc" _disk0 errors)
	_hvr=$(hostile_counter "$_hc" _disk0 read_ops) _hvw=$(hostile_counter "$_hc" _disk0 write_ops)
	_hbm=$(hostile_counter "$_hc" _disk1 malformed_chains) _hbe=$(hostile_counter "$_hc" _disk1 errors)
	_hbr=$(hostile_counter "$_hc" _disk1 read_ops) _hbw=$(hostile_counter "$_hc" _disk1 write_ops)
	_hvn=$(hostile_counter "$_hc" _disk0 needs_reset) _hbn=$(hostile_counter "$_hc" _disk1 needs_reset)
	_hcsum="victim _disk0 malformed_chains=${_hvm:-none} errors=${_hve:-none} needs_reset=${_hvn:-none} read_ops=${_hvr:-none} write_ops=${_hvw:-none};"
	_hcsum="$_hcsum bystander _disk1 malformed_chains=${_hbm:-none} errors=${_hbe:-none} needs_reset=${_hbn:-none} read_ops=${_hbr:-none} write_ops=${_hbw:-none}"
	info "$_hname vm.counters ($_hcwhen): $_hcsum"
	_hwhy=
	[ "$RC" = 0 ] && [ "$TIMED_OUT" = 0 ] ||
		_hwhy="kvmm did not exit 0 after the guest powered off: $(last_run)"
	# 159 = 128 + SIGSYS: a seccomp filter killed kvmm; the last step the guest printed
	# is what did it.
	[ "$RC" != 159 ] ||
		_hwhy="kvmm killed by SIGSYS (seccomp) after guest step '$(grep '^KVMM-HOSTILE-STEP' "$OUT" | tail -n 1 | tr -d '\r' | sed 's/^KVMM-HOSTILE-STEP name=\([^ ]*\).*/\1/')': $(last_run)"
	[ -n "$_hwhy" ] || [ -n "$_hline" ] || _hwhy="no KVMM-HOSTILE line from the guest"
	[ -n "$_hwhy" ] || [ "$_hok" = 1 ] || _hwhy="vdb read back wrong during the attack: $_hline"
	[ -n "$_hwhy" ] || [ "${_hreads:-0}" -ge 2 ] || _hwhy="vdb read only ${_hreads:-0} times: $_hline"
	[ -n "$_hwhy" ] || [ "$_hgsha" = "$_hbsha" ] || _hwhy="vdb's sha256 in the guest $_hgsha, on the host $_hbsha"
	[ -n "$_hwhy" ] || [ "${_hops:-0}" -gt 1000 ] || _hwhy="pci-hostile did only ${_hops:-0} accesses: $_hline"
	[ -n "$_hwhy" ] || { [ "${_hsteps:-0}" -ge 30 ] && [ "$_hsteps" = "$_hsteps_ok" ]; } ||
		_hwhy="structured steps ${_hsteps_ok:-0} of ${_hsteps:-0} ok (not ok: ${_hsfail:-?})"
	[ -n "$_hwhy" ] || [ "$_hcwhen" = final ] || _hwhy="no vm.counters after KVMM-HOSTILE-COUNTERS-NOW (last: ${_hc:-none})"
	[ -n "$_hwhy" ] || { [ "${_hvm:-0}" -gt 0 ] && [ "${_hve:-0}" -gt 0 ] && [ "${_hvn:-0}" -gt 0 ]; } ||
		_hwhy="vm.counters does not show the victim's refusals: $_hcsum"
	[ -n "$_hwhy" ] || { [ "$_hbm" = 0 ] && [ "$_hbe" = 0 ] && [ "$_hbn" = 0 ] && [ "${_hbr:-0}" -gt 0 ]; } ||
		_hwhy="vm.counters: the bystander is not clean: $_hcsum"
	[ -n "$_hwhy" ] || [ "$(blk_sha "$_ha")" = "$_hasha" ] || _hwhy="vda's image changed"
	if [ -z "$_hwhy" ]; then
		pass $_hname "transport=$_htr seed=$_hseed ops=$_hops steps=$_hsteps_ok/$_hsteps ok vdb_reads=$_hreads vdb_ok=1 (sha equal to the host's), $_hcsum, kvmm exit 0, vda image unchanged"
	else
		fail $_hname "transport=${_htr:-$LAB_TRANSPORT} seed=$_hseed: $_hwhy"
		grep -E 'KVMM-HOSTILE|pci-hostile' "$OUT" | grep -v 'KVMM-HOSTILE-CONSOLE' | tr -d '\r' |
			sed 's/^/  | guest: /'
		dump_last
	fi
	rm -f "$_ha" "$_hb" "$_hcnt".* "$_hstop"
}
scenario pci-hostile any sc_pci_hostile
