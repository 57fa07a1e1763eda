# Benchmark boot-time (LAB_MODE=bench; sourced by scenarios.sh; POSIX sh): wall time from
# launching the VMM to the guest's marker line on its stdout, kvmm and QEMU on the same kernel,
# initramfs and command line, runs interleaved (so drift in the machine's speed hits both
# alike), medians compared. Both machines have a virtio-rng device (kvmm's default; Kata always
# asks for one). The peer is QEMU with KVM and the machine type each arch's Kata uses.
# kvmm runs with its default transport (virtio-pci with MSI-X, like QEMU's machine here); a
# third series boots kvmm with --virtio-transport mmio (on x86_64 with pci=off, which the guest
# then needs and QEMU's PCI machine cannot take).
# Per run: "LAB: INFO boot-time run=N vmm=kvmm|qemu|kvmm-mmio marker_ms=M exit=C run_ms=R",
# for kvmm with its boot timer's split (devices/boot_timer.h; the guest's init writes the
# marker just before its marker line): "setup_ms=S guest_ms=G exit_ms=E teardown_ms=T"
# (kvmm's set-up, process start to the first KVM_RUN; the guest's part, to the boot timer's
# marker; kvmm's time handling the exits of the whole run, all vCPUs; kvmm's teardown, the
# guest's power-off to the VM's resources freed, and its steps); the first run of each kvmm
# series also logs its exits by kind ("boot-time kvmm vcpu0: exits: ...", and so for kvmm-b).
# bench/boot-plot.py draws them.
#
#   LAB_BOOT_RUNS   runs of each VMM (5)
#   LAB_KVMM_B      another kvmm build (run-lab.sh): a fourth series, vmm=kvmm-b, booted as
#                   kvmm is, after it in odd runs and before it in even ones

# boot_split ERR: kvmm's boot-timer split, exit-handling and teardown times from its -vv log
# ERR, as "setup_ms=S guest_ms=G exit_ms=E teardown_ms=T teardown_steps=N/C/D/V/R
# setup_steps=P/K/M/C/D/L/S" (none where the log lacks one; the steps of the teardown in ms:
# the stop noticed, the vCPUs, the devices, the VM, its RAM; of the set-up: the process, KVM,
# RAM, vCPUs, devices, payload, start: devices/boot_timer.h).
boot_split() {
	_bl=$(grep -o 'boot-timer: .*' "$1" | head -n 1)
	_bs=$(echo "$_bl" | sed -n 's/.*set-up \([0-9.]*\) ms,.*/\1/p')
	_bg=$(echo "$_bl" | sed -n 's/.*guest \([0-9.]*\) ms$/\1/p')
	_be=$(grep -o 'vcpu[0-9]*: exits:.*' "$1" | sed 's/; ports:.*//' | grep -o '([0-9]* us)' |
		tr -dc '0-9\n' | awk '{ s += $1 } END { if (NR) printf "%.1f", s / 1000 }')
	_bt=$(sed -n 's/.*teardown: .* freed \([0-9.]*\) ms after.*/\1/p' "$1" | head -n 1)
	_bd=$(sed -n 's/.*teardown: .*(noticed \([0-9.]*\), vCPUs \([0-9.]*\), devices \([0-9.]*\), VM \([0-9.]*\), RAM \([0-9.]*\) ms)$/\1\/\2\/\3\/\4\/\5/p' "$1" | head -n 1)
	_bu=$(sed -n 's/.*set-up: .*(process \([0-9.]*\), KVM \([0-9.]*\), RAM \([0-9.]*\), vCPUs \([0-9.]*\), devices \([0-9.]*\), payload \([0-9.]*\), start \([0-9.]*\) ms)$/\1\/\2\/\3\/\4\/\5\/\6\/\7/p' "$1" | head -n 1)
	echo "setup_ms=${_bs:-none} guest_ms=${_bg:-none} exit_ms=${_be:-none} teardown_ms=${_bt:-none} teardown_steps=${_bd:-none} setup_steps=${_bu:-none}"
}

# boot_time_kvmm SERIES BINARY RUN: run RUN of series SERIES (kvmm, or kvmm-b for LAB_KVMM_B)
# with the kvmm build BINARY; logs its line (and, in run 1, vcpu0's exits by kind). Returns 1,
# after dumping the boot's last lines, when the marker did not come.
boot_time_kvmm() {
	_ka=$KVMM
	KVMM=$2
	# -vv: the exit statistics (debug lines at exit, none while the guest runs).
	kvmm_boot "boot-time-$1-$3" --kernel "$BOOT_KERNEL" --initramfs "$INITRAMFS" \
		--cpus boot=1 --memory size=512M --cmdline "$BASE_CMDLINE" -vv || true
	KVMM=$_ka
	info "boot-time run=$3 vmm=$1 marker_ms=${MARK_MS:-none} exit=$RC run_ms=$RUN_MS $(boot_split "$ERR")"
	[ "$3" != 1 ] || info "boot-time $1 $(grep -o 'vcpu0: exits:.*' "$ERR" | head -n 1)"
	[ -n "$MARK_MS" ] && return 0
	dump_last
	return 1
}

# boot_time_b RUN: run RUN of the other kvmm build (LAB_KVMM_B), if there is one and it has
# not missed its marker yet (sc_boot_time's variables).
boot_time_b() {
	[ -n "${LAB_KVMM_B:-}" ] && [ $_kb = 1 ] || return 0
	if boot_time_kvmm kvmm-b "$LAB_KVMM_B" "$1"; then _b="$_b $MARK_MS"; else _miss="$_miss kvmm-b#$1"; _kb=0; fi
}

sc_boot_time() {
	_runs=${LAB_BOOT_RUNS:-5}
	_k=
	_q=
	_o=
	_miss=
	_qemu=0
	if command -v "$LAB_QEMU" >/dev/null 2>&1; then
		_qemu=1
	else
		_miss=" qemu(absent)"
	fi
	case $LAB_ARCH in
	x86_64) set -- -M pc ${LAB_BIOS:+-bios "$LAB_BIOS"} ;;
	*) set -- -M virt,gic-version=host ;;
	esac
	_kvmm=1
	_kopt=1
	_kb=1
	_b=
	_mcmd=$BASE_CMDLINE
	[ "$LAB_ARCH" != x86_64 ] || _mcmd="$BASE_CMDLINE pci=off"
	for _i in $(seq 1 "$_runs"); do
		# A VMM that missed the marker once is not run again: it would only burn the timeout.
		# The other build (LAB_KVMM_B) boots after kvmm in odd runs and before it in even
		# ones, so that what a boot leaves behind in L1 for the next falls on both alike.
		[ $((_i % 2)) = 1 ] || boot_time_b "$_i"
		if [ $_kvmm = 1 ]; then
			if boot_time_kvmm kvmm "$KVMM" "$_i"; then _k="$_k $MARK_MS"; else _miss="$_miss kvmm#$_i"; _kvmm=0; fi
		fi
		[ $((_i % 2)) = 0 ] || boot_time_b "$_i"
		if [ $_qemu = 1 ]; then
			run_guest "boot-time-qemu-$_i" "$LAB_TIMEOUT" "$LAB_QEMU" "$@" -nodefaults \
				-enable-kvm -cpu host -m 512M -no-reboot \
				-serial stdio -nographic -kernel "$BOOT_KERNEL" -initrd "$INITRAMFS" \
				-object rng-random,id=rng0,filename=/dev/urandom \
				-device virtio-rng-pci,rng=rng0,romfile= \
				-append "$BASE_CMDLINE"
			info "boot-time run=$_i vmm=qemu marker_ms=${MARK_MS:-none} exit=$RC run_ms=$RUN_MS"
			if [ -n "$MARK_MS" ]; then _q="$_q $MARK_MS"; else _miss="$_miss qemu#$_i"; _qemu=0; dump_last; fi
		fi
		if [ $_kopt = 1 ]; then
			kvmm_boot "boot-time-kvmm-mmio-$_i" --kernel "$BOOT_KERNEL" \
				--initramfs "$INITRAMFS" --cpus boot=1 --memory size=512M \
				--virtio-transport mmio --cmdline "$_mcmd" -vv || true
			info "boot-time run=$_i vmm=kvmm-mmio marker_ms=${MARK_MS:-none} exit=$RC run_ms=$RUN_MS $(boot_split "$ERR")"
			[ "$_i" != 1 ] || info "boot-time kvmm-mmio $(grep -o 'vcpu0: exits:.*' "$ERR" | head -n 1)"
			if [ -n "$MARK_MS" ]; then _o="$_o $MARK_MS"; else _kopt=0; dump_last; fi
		fi
	done
	if [ -n "$_o" ]; then
		# shellcheck disable=SC2086 # one number a word
		info "boot-time kvmm_mmio_ms=$(median $_o) (virtio-mmio, cmdline '$_mcmd')"
	fi
	if [ -n "$_b" ]; then
		# shellcheck disable=SC2086 # one number a word
		info "boot-time kvmm_b_ms=$(median $_b) (LAB_KVMM_B, against kvmm's $(median ${_k:-0}))"
	fi
	peer_verdict boot-time ms "$_k" "$_q" "$_miss"
}

bench boot-time any sc_boot_time

# Benchmark kvm-cost: KVM's own price for a VM made as kvmm's set-up makes one (vm_open() and
# arch_vm_init(): its "KVM" step) and destroyed as its teardown does (the close of the VM fd:
# its "VM" step), with no guest RAM, vCPU or device: tests/lab/kvm-cost.c. Per run
# "LAB: INFO kvm-cost run=N open=.. create_vm=.. <arch steps> destroy=.. total=.." (us), then
# the medians. What it shows is the kernel's (L1's, here) cost, which QEMU pays as well.
#   LAB_KVM_COST_RUNS   runs (12)
sc_kvm_cost() {
	if [ ! -x "${LAB_KVM_COST:-}" ]; then
		fail kvm-cost "no kvm-cost helper (LAB_KVM_COST)"
		return 0
	fi
	_n=${LAB_KVM_COST_RUNS:-12}
	_o=$LAB_TMP/kvm-cost.out
	_rc=0
	"$LAB_KVM_COST" "$_n" >"$_o" 2>&1 || _rc=$?
	grep '^kvm-cost run=' "$_o" | while IFS= read -r _x; do info "$_x"; done
	# The median of each field over the runs (scenarios.sh's median: the lower middle one
	# for an even count), the fields named as the first run names them.
	_med=
	for _f in $(grep -m 1 '^kvm-cost run=' "$_o" | tr ' ' '\n' | sed -n 's/=.*//p'); do
		[ "$_f" != run ] || continue
		# shellcheck disable=SC2046 # one value per word
		_med="$_med${_med:+ }$_f=$(median $(grep '^kvm-cost run=' "$_o" | tr ' ' '\n' |
			sed -n "s/^$_f=//p"))"
	done
	_got=$(grep -c '^kvm-cost run=' "$_o")
	if [ "$_rc" = 0 ] && [ "$_got" = "$_n" ]; then
		info "kvm-cost medians_us $_med"
		pass kvm-cost "$_n VMs made and destroyed; medians (us): $_med"
	else
		fail kvm-cost "exit $_rc after $_got of $_n runs: $(grep -v '^kvm-cost run=' "$_o" | head -n 3 | tr '\n' ' ')"
	fi
}
bench kvm-cost any sc_kvm_cost
