# Benchmark triple-study (LAB_MODE=bench, x86_64; sourced by scenarios.sh; POSIX sh; uses
# virtio-net.sh's net_tap, net_xfer): whose is the x86_64 lab's rare guest triple fault?
# Like is compared with like, many times, interleaved, in one L1 boot: the same PVH vmlinux,
# initramfs and command line (pci=off, virtio-net over virtio-mmio found through ACPI), the same
# guest->host and host->guest TCP transfer (net-xfer, LAB_STUDY_MB MiB each way), run by
#   kvmm         kvmm, guest RAM a shared memfd with MADV_HUGEPAGE (the default)
#   kvmm-nothp   kvmm --memory thp=off (shared-memory huge pages are the first suspect)
#   qemu         QEMU -M microvm with qboot, virtio-net-device, -no-reboot
# in an order that rotates every round, so that neither the L1's warm-up nor its aging favours
# one of them.
# Per run: "LAB: INFO triple-study round=R vmm=V end=ok|triple|ended|other ms=M" where
#   triple  kvmm logged "guest triple fault" (KVM_EXIT_SHUTDOWN), with the vCPU's registers,
#           which go to the lab log;
#   ended   the VMM ended by itself before the transfer's end with no panic, oops or reboot
#           line on the guest's console: how a triple fault looks under QEMU, which with
#           -no-reboot exits 0 on a KVM_EXIT_SHUTDOWN; kvmm's triple faults also count here;
#   other   any other failure (the reason is printed).
# The scenario ends with one PASS line giving each VMM's counts; it passes when kvmm's silent
# ends are not more than twice QEMU's plus two (a rate, not a proof: see docs/triple-fault.md).
#
#   LAB_STUDY_RUNS  rounds (each: one run of each of the three); the benchmark runs only when
#                   it is set. One round takes about 40 s in the x86_64 lab.
#   LAB_STUDY_MB    MiB each way per run (8)
#   LAB_STUDY_CHURN 1: while the study runs, L1 keeps allocating, touching and freeing half of
#                   the memory it had free at the start (busybox dd with a huge block), so
#                   that L1's page allocator, compaction and khugepaged keep moving memory
#                   under the running L2 guest: the suspect, in L1's nested paging, made busy
#                   for all three VMMs alike

# study_end VMM OUT: how the last net_xfer run ended (see above).
study_end() {
	if [ "$NX_OK" = 1 ]; then
		echo ok
	elif grep -q 'guest triple fault' "$2" 2>/dev/null; then
		echo triple
	elif [ "$NX_ENDED" = 1 ] &&
		! grep -qE 'Kernel panic|Oops|BUG:|reboot: |Restarting system' "$2" 2>/dev/null; then
		echo ended
	else
		echo other
	fi
}

sc_triple_study() {
	if ! net_tap kvmmtap0 100; then
		fail triple-study "cannot create TAP kvmmtap0"
		return 0
	fi
	_ts_mb_saved=$NET_MB
	NET_MB=${LAB_STUDY_MB:-8}
	_args="$BASE_CMDLINE pci=off kvmm.test=net-xfer kvmm.xfer_mb=$NET_MB"
	_qemu=0
	command -v "$LAB_QEMU" >/dev/null 2>&1 && _qemu=1
	info "triple-study rounds=$LAB_STUDY_RUNS mb=$NET_MB qemu=$_qemu churn=${LAB_STUDY_CHURN:-0}" \
		"thp=$(cat /sys/kernel/mm/transparent_hugepage/enabled 2>/dev/null)" \
		"shmem_thp=$(cat /sys/kernel/mm/transparent_hugepage/shmem_enabled 2>/dev/null)"
	_churn_pid=
	if [ "${LAB_STUDY_CHURN:-0}" = 1 ]; then
		_avail=$(awk '/^MemAvailable:/ { print int($2 / 1024) }' /proc/meminfo)
		_churn_mb=$((_avail / 2 / 4))
		info "triple-study churn: 4 x ${_churn_mb} MiB blocks, again and again (MemAvailable ${_avail} MiB)"
		(while :; do dd if=/dev/zero of=/dev/null bs=${_churn_mb}M count=4 2>/dev/null; done) &
		_churn_pid=$!
	fi
	# Per VMM: runs, ok, triple, ended (silent ends, triples included), other.
	for _v in kvmm kvmm_nothp qemu; do
		eval "_n_$_v=0 _ok_$_v=0 _tr_$_v=0 _en_$_v=0 _ot_$_v=0"
	done
	_r=0
	while [ $_r -lt "$LAB_STUDY_RUNS" ]; do
		_r=$((_r + 1))
		case $((_r % 3)) in
		0) _order="kvmm kvmm_nothp qemu" ;;
		1) _order="kvmm_nothp qemu kvmm" ;;
		*) _order="qemu kvmm kvmm_nothp" ;;
		esac
		for _v in $_order; do
			_o=$LAB_TMP/triple-study-$_v.out
			now_ms
			_t0=$NOW_MS
			case $_v in
			kvmm | kvmm_nothp)
				_mem=size=512M
				[ $_v = kvmm ] || _mem=size=512M,thp=off
				net_xfer "$_v" "$_o" "$KVMM" -v --virtio-transport mmio \
					--kernel "$KERNEL" --initramfs "$INITRAMFS" --memory "$_mem" \
					--net tap=kvmmtap0,mac=52:54:00:00:00:01 --cmdline "$_args"
				;;
			qemu)
				[ $_qemu = 1 ] || continue
				net_xfer qemu "$_o" "$LAB_QEMU" -M microvm,acpi=on \
					-bios "${LAB_QBOOT:-/usr/share/qemu/qboot.rom}" -nodefaults \
					-enable-kvm -cpu host -m 512M -no-reboot -serial stdio -nographic \
					-netdev tap,id=n0,ifname=kvmmtap0,script=no,downscript=no \
					-device virtio-net-device,netdev=n0,mac=52:54:00:00:00:01 \
					-kernel "$KERNEL" -initrd "$INITRAMFS" -append "$_args"
				;;
			esac
			now_ms
			_e=$(study_end "$_v" "$_o")
			eval "_n_$_v=\$((_n_$_v + 1))"
			case $_e in
			ok) eval "_ok_$_v=\$((_ok_$_v + 1))" ;;
			triple) eval "_tr_$_v=\$((_tr_$_v + 1)) _en_$_v=\$((_en_$_v + 1))" ;;
			ended) eval "_en_$_v=\$((_en_$_v + 1))" ;;
			*) eval "_ot_$_v=\$((_ot_$_v + 1))" ;;
			esac
			info "triple-study round=$_r vmm=$_v end=$_e rc=$NX_RC ms=$((NOW_MS - _t0))" \
				"h2g_ms=${NX_H2G_MS:-none} g2h_ms=${NX_G2H_MS:-none}${NX_WHY:+ why='$NX_WHY'}"
			if [ "$_e" != ok ]; then
				# The evidence: the console's last lines and, for kvmm, the vCPU state
				# it logged at the fault.
				tail -n 40 "$_o" | tr -d '\r' | sed "s/^/  | $_v: /"
				cp "$_o" "$LAB_TMP/triple-study-$_r-$_v.keep" 2>/dev/null || true
			fi
		done
	done
	if [ -n "$_churn_pid" ]; then
		# The loop, then the dd it is running.
		kill "$_churn_pid" 2>/dev/null
		pkill -f "bs=${_churn_mb}M" 2>/dev/null
		wait "$_churn_pid" 2>/dev/null
	fi
	NET_MB=$_ts_mb_saved
	_sum=
	for _v in kvmm kvmm_nothp qemu; do
		eval "_c=\"runs=\$_n_$_v ok=\$_ok_$_v ended=\$_en_$_v triple=\$_tr_$_v other=\$_ot_$_v\""
		_sum="$_sum $_v: $_c;"
	done
	info "triple-study totals$_sum"
	if [ "$_en_kvmm" -gt $((2 * _en_qemu + 2)) ] || [ "$_en_kvmm_nothp" -gt $((2 * _en_qemu + 2)) ]; then
		fail triple-study "kvmm's guests ended silently more often than QEMU's:$_sum"
	else
		pass triple-study "$_sum"
	fi
}

[ -z "${LAB_STUDY_RUNS:-}" ] || bench triple-study x86_64 sc_triple_study
