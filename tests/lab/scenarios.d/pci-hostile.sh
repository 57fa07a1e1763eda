# Lab scenario pci-hostile (sourced by scenarios.sh; POSIX sh; uses virtio-blk.sh's blk_image,
# blk_sha and blk_field): a guest that unbinds a virtio-pci function from its driver and writes
# seeded garbage into its configuration space and BAR0 — and the host bridge's configuration
# space — must not crash kvmm nor disturb another device. The guest side is
# guest-images/tests/pci-hostile with guest-images/tools/pci-hostile.c (what it writes, and
# what it leaves alone on purpose, is described there).
#
# Two disks: vda, the victim, and vdb, 4 MiB of random bytes the guest reads again and again
# during the attack; two vCPUs, so that the reads and the attack really run side by side.
# Passes when kvmm exits 0 (the guest powered off normally), the guest's KVMM-HOSTILE line
# says vdb_ok=1 with vdb_reads >= 2 and vdb's sha256 equal to the host's, pci-hostile did
# more than 1000 register accesses, and vda's image is unchanged (no garbage reached the
# disk). Whether vda works again after re-binding its driver is an INFO line.
#
# The seed is new each run and printed; kvmm.hostile_seed=N in LAB_EXTRA_CMDLINE (which
# run-lab.sh hands into L1) or LAB_HOSTILE_SEED=N (run-lab.sh hands it into L1 too)
# replays it: the same operations, timing aside. How long the attack runs: kvmm.hostile_secs=S
# or LAB_HOSTILE_SECS (15 s), added to LAB_TIMEOUT for this guest.
# PCI-only: with LAB_TRANSPORT=mmio there is no PCI function to attack and the scenario passes
# at once without booting; where kvmm put the disks on virtio-mmio by itself (an arm64 GICv2
# host) the guest finds vda is no PCI function and the scenario passes with that note.
sc_pci_hostile() {
	if [ "$LAB_TRANSPORT" = mmio ]; then
		pass pci-hostile "skipped: PCI-only, and LAB_TRANSPORT=mmio has no PCI functions"
		return 0
	fi
	_ha=$LAB_TMP/hostile-a.img _hb=$LAB_TMP/hostile-b.img
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
	info "pci-hostile seed=$_hseed secs=$_hsecs (replay: LAB_EXTRA_CMDLINE=kvmm.hostile_seed=$_hseed)"
	# The attack's time on top of what any guest run may take.
	_hto=$LAB_TIMEOUT
	LAB_TIMEOUT=$((LAB_TIMEOUT + _hsecs))
	kvmm_boot pci-hostile -v --kernel "$KERNEL" --initramfs "$INITRAMFS" --cpus boot=2 --memory size=512M \
		--disk "path=$_ha" --disk "path=$_hb" \
		--cmdline "$CMDLINE kvmm.test=pci-hostile kvmm.hostile_seed=$_hseed kvmm.hostile_secs=$_hsecs" ||
		true
	LAB_TIMEOUT=$_hto
	_hline=$(grep -m 1 '^KVMM-HOSTILE ' "$OUT" | tr -d '\r')
	case $_hline in
	*skipped=no-pci*)
		if [ "$RC" = 0 ]; then
			pass pci-hostile "skipped: PCI-only, and the guest's vda is no PCI function (${_hline#KVMM-HOSTILE })"
		else
			fail pci-hostile "vda is no PCI function, and the guest did not power off: $(last_run)"
			dump_last
		fi
		rm -f "$_ha" "$_hb"
		return 0
		;;
	esac
	_hops=$(blk_field 'KVMM-HOSTILE ' ops) _hreads=$(blk_field 'KVMM-HOSTILE ' vdb_reads)
	_hok=$(blk_field 'KVMM-HOSTILE ' vdb_ok) _hgsha=$(blk_field 'KVMM-HOSTILE ' vdb_sha)
	_hbus=$(blk_field 'KVMM-HOSTILE ' sigbus) _halive=$(blk_field 'KVMM-HOSTILE ' bar_alive)
	_hrebind=$(grep -m 1 '^KVMM-HOSTILE-REBIND ' "$OUT" | tr -d '\r')
	_hdone=$(grep -m 1 '^pci-hostile: done' "$OUT" | tr -d '\r')
	# What kvmm said about it (-v): refusals and resets, and anything worse.
	_hwarn=$(grep -c 'warn' "$ERR" 2>/dev/null || true)
	_hrefused=$(grep -c 'refused' "$ERR" 2>/dev/null || true)
	_hreset=$(grep -c 'needs reset' "$ERR" 2>/dev/null || true)
	_herr=$(grep -c -i 'error' "$ERR" 2>/dev/null || true)
	# MSI-X messages that reached the guest on a vector no driver had (ratelimited by Linux).
	_hspur=$(grep -c 'No irq handler' "$OUT" 2>/dev/null || true)
	info "pci-hostile ops=${_hops:-none} vdb_reads=${_hreads:-none} vdb_ok=${_hok:-none}" \
		"sigbus=${_hbus:-none} bar_alive=${_halive:-none} kvmm_warnings=$_hwarn" \
		"queue_refusals=$_hrefused needs_reset=$_hreset errors=$_herr" \
		"guest_unhandled_vector_msgs=$_hspur exit=$RC run_ms=$RUN_MS"
	info "pci-hostile ${_hdone:-no summary from pci-hostile}"
	info "pci-hostile after re-binding vda to virtio-pci: ${_hrebind:-no KVMM-HOSTILE-REBIND line}"
	# The kinds of message kvmm logged, most frequent first (numbers as N).
	sed 's/0x[0-9a-f]*/N/g; s/[0-9][0-9]*/N/g' "$ERR" 2>/dev/null | sort | uniq -c |
		sort -rn | head -n 8 | while IFS= read -r _hl; do info "pci-hostile kvmm: $_hl"; done
	_hwhy=
	[ "$RC" = 0 ] && [ "$TIMED_OUT" = 0 ] ||
		_hwhy="kvmm did not exit 0 after the guest powered off: $(last_run)"
	[ -n "$_hwhy" ] || [ -n "$_hline" ] || _hwhy="no KVMM-HOSTILE line from the guest"
	[ -n "$_hwhy" ] || [ "$_hok" = 1 ] || _hwhy="vdb read back wrong during the attack: $_hline"
	[ -n "$_hwhy" ] || [ "${_hreads:-0}" -ge 2 ] || _hwhy="vdb read only ${_hreads:-0} times: $_hline"
	[ -n "$_hwhy" ] || [ "$_hgsha" = "$_hbsha" ] || _hwhy="vdb's sha256 in the guest $_hgsha, on the host $_hbsha"
	[ -n "$_hwhy" ] || [ "${_hops:-0}" -gt 1000 ] || _hwhy="pci-hostile did only ${_hops:-0} accesses: $_hline"
	[ -n "$_hwhy" ] || [ "$(blk_sha "$_ha")" = "$_hasha" ] || _hwhy="vda's image changed"
	if [ -z "$_hwhy" ]; then
		pass pci-hostile "seed=$_hseed ops=$_hops vdb_reads=$_hreads vdb_ok=1 (sha equal to the host's), kvmm exit 0, vda image unchanged"
	else
		fail pci-hostile "seed=$_hseed: $_hwhy"
		grep -E 'KVMM-HOSTILE|pci-hostile' "$OUT" | tr -d '\r' | sed 's/^/  | guest: /'
		dump_last
	fi
	rm -f "$_ha" "$_hb"
}
scenario pci-hostile any sc_pci_hostile
