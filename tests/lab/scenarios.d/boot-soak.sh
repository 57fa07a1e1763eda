# Benchmark boot-soak (LAB_MODE=bench; sourced by scenarios.sh; POSIX sh): the same boot many
# times, kvmm and QEMU interleaved in one L1 boot, counting how each run ended. It exists to
# tell a VMM's rare failure from the lab's: the x86_64 lab has seen a guest triple-fault early
# in boot now and then (kvmm ends such a VM as a reset, exit 3), and the question is whether
# QEMU's guest in the same L1 does the same.
# kvmm: the bzImage (Image) on 2 vCPUs, 512 MiB, the plain command line, kvmm.test=poweroff.
# QEMU: the same kernel, initramfs and command line, -no-reboot (a triple fault ends it too).
# Per run: "LAB: INFO boot-soak run=N vmm=kvmm|qemu end=ok|triple|reset|timeout|other rc=C
# marker_ms=M" (QEMU's "reset" is any end without the marker: with -no-reboot it exits 0 on
# a reset as on a poweroff); the console's tail of every run that did not end ok goes to the log.
# The scenario passes when kvmm's failures are not more than QEMU's (both counted).
#
#   LAB_SOAK_RUNS   runs of each VMM; the benchmark runs only when it is set (20 runs of
#                   each take about 12 minutes in the x86_64 lab)

# soak_end RC: how the last run ended, from the marker, RC and TIMED_OUT.
soak_end() {
	if [ "$TIMED_OUT" = 1 ]; then
		echo timeout
	elif [ -n "$MARKER" ] && [ "$1" = 0 ]; then
		echo ok
	elif grep -q 'triple fault' "$ERR" 2>/dev/null; then
		echo triple
	elif [ "$1" = 3 ]; then
		echo reset
	else
		echo other
	fi
}

sc_boot_soak() {
	_runs=$LAB_SOAK_RUNS
	_kbad=0
	_qbad=0
	_qemu=0
	command -v "$LAB_QEMU" >/dev/null 2>&1 && _qemu=1
	case $LAB_ARCH in
	x86_64) set -- -M pc ${LAB_BIOS:+-bios "$LAB_BIOS"} ;;
	*) set -- -M virt,gic-version=host ;;
	esac
	for _i in $(seq 1 "$_runs"); do
		kvmm_boot "boot-soak-kvmm" --kernel "$BOOT_KERNEL" --initramfs "$INITRAMFS" \
			--cpus boot=2 --memory size=512M -v \
			--cmdline "$BASE_CMDLINE kvmm.test=poweroff" || true
		_e=$(soak_end "$RC")
		info "boot-soak run=$_i vmm=kvmm end=$_e rc=$RC marker_ms=${MARK_MS:-none}"
		if [ "$_e" != ok ]; then
			_kbad=$((_kbad + 1))
			LAB_DUMP_LINES=25 dump_last
		fi
		[ $_qemu = 1 ] || continue
		run_guest "boot-soak-qemu" "$LAB_TIMEOUT" "$LAB_QEMU" "$@" -nodefaults \
			-enable-kvm -cpu host -smp 2 -m 512M -no-reboot -serial stdio -nographic \
			-kernel "$BOOT_KERNEL" -initrd "$INITRAMFS" \
			-append "$BASE_CMDLINE kvmm.test=poweroff"
		# QEMU exits 0 both on poweroff and, with -no-reboot, on a reset.
		_e=ok
		[ "$TIMED_OUT" = 1 ] && _e=timeout
		[ "$_e" = ok ] && [ -z "$MARKER" ] && _e=reset
		[ "$_e" = ok ] && [ "$RC" != 0 ] && _e=other
		info "boot-soak run=$_i vmm=qemu end=$_e rc=$RC marker_ms=${MARK_MS:-none}"
		if [ "$_e" != ok ]; then
			_qbad=$((_qbad + 1))
			LAB_DUMP_LINES=25 dump_last
		fi
	done
	_q="qemu $_qbad of $_runs"
	[ $_qemu = 1 ] || _q="qemu absent"
	if [ $_qemu = 1 ] && [ "$_kbad" -gt "$_qbad" ]; then
		fail boot-soak "runs that did not end ok: kvmm $_kbad of $_runs, $_q"
	else
		pass boot-soak "runs that did not end ok: kvmm $_kbad of $_runs, $_q"
	fi
}

[ -z "${LAB_SOAK_RUNS:-}" ] || bench boot-soak any sc_boot_soak
