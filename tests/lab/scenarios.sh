#!/bin/sh
# The kvmm lab scenarios: full boots of the guest-images guest under kvmm (and QEMU for the
# boot-time comparison) on a real /dev/kvm, with negative cases. Runs inside the lab's L1 (busybox
# ash) or directly on a host with /dev/kvm (dash/bash), so POSIX sh only.
# Each scenario prints one "LAB: PASS <name> <detail>" or "LAB: FAIL <name> <why>" line (plus
# "LAB: INFO ..." measurements); the end is "LAB: DONE passed=N failed=M".
#
# Environment:
#   KVMM        kvmm binary                      LAB_IMAGES  guest-images/build.sh output
#   LAB_ARCH    x86_64 or aarch64                LAB_TMP     scratch directory
#   LAB_QEMU    qemu-system-<arch> (benchmark)   LAB_BIOS    QEMU firmware (x86: bios-256k.bin)
#   LAB_ONLY    optional: run only the scenarios whose names match one of these sh patterns
#   LAB_TIMEOUT seconds allowed per guest run (60)
#   LAB_TINY    optional: directory with the tiny*.elf test guests (guest-images/tiny)
#   LAB_TAP_EXEC optional: tests/lab/tap-exec (hands kvmm an open TAP fd)
#   LAB_KVMM_REMOTE optional: the kvmm-remote API client
#   LAB_VSOCK_CLIENT optional: tests/lab/vsock-client (hybrid vsock host side)
#   LAB_GIC     aarch64: the GIC version of L1 (3, 2), which kvmm must have picked
#   LAB_LIVE    1: copy each guest console line to the output as it comes (debugging hangs)
#
# Adding scenarios: write a function and register it with `scenario NAME ARCHES FUNCTION`
# (ARCHES: "any" or a space-separated list), here or in a file of scenarios.d/*.sh next to this
# one (sourced in name order). A scenario function calls pass/fail exactly once per name it
# reports; returning non-zero without reporting counts as a failure.
set -eu

LAB_DIR=$(cd "$(dirname "$0")" && pwd)
: "${KVMM:?KVMM must name the kvmm binary}"
: "${LAB_IMAGES:?LAB_IMAGES must name the guest images directory}"
LAB_ARCH=${LAB_ARCH:-$(uname -m)}
LAB_TMP=${LAB_TMP:-/tmp/kvmm-lab.$$}
LAB_TIMEOUT=${LAB_TIMEOUT:-60}
LAB_ONLY=${LAB_ONLY:-}
LAB_LIVE=${LAB_LIVE:-0}
LAB_QEMU=${LAB_QEMU:-qemu-system-$LAB_ARCH}
mkdir -p "$LAB_TMP"

case $LAB_ARCH in
x86_64)
	KERNEL=$LAB_IMAGES/vmlinuz # bzImage
	CONSOLE=ttyS0
	;;
aarch64)
	KERNEL=$LAB_IMAGES/Image
	CONSOLE=ttyAMA0
	;;
*) echo "LAB: FAIL lab-arch unknown LAB_ARCH=$LAB_ARCH"; echo "LAB: DONE passed=0 failed=1"; exit 1 ;;
esac
INITRAMFS=$LAB_IMAGES/initramfs.cpio.gz
# kvmm adds nothing to the guest command line. LAB_EXTRA_CMDLINE: e.g. reboot=k, if needed.
CMDLINE="console=$CONSOLE quiet panic=-1${LAB_EXTRA_CMDLINE:+ $LAB_EXTRA_CMDLINE}"
CR=$(printf '\r')

PASSED=0
FAILED=0
pass() { echo "LAB: PASS $1 $2"; PASSED=$((PASSED + 1)); }
fail() { echo "LAB: FAIL $1 $2"; FAILED=$((FAILED + 1)); }
info() { echo "LAB: INFO $*"; }

# NOW_MS: milliseconds of uptime (10 ms resolution; no fork, so it is cheap inside L1).
now_ms() {
	read -r _up _ </proc/uptime
	NOW_MS=$((${_up%.*} * 1000 + (1${_up#*.} - 100) * 10))
}

# Copies stdin to file $1 and writes the uptime (ms) at which the marker line appeared to $2.
# With LAB_LIVE=1 each line also goes to the lab's output at once ("  | live: "), which shows
# where a run that hangs the whole machine got to.
exec 3>&1
watch_marker() {
	while IFS= read -r _line || [ -n "$_line" ]; do
		_line=${_line%"$CR"}
		case $_line in
		*KVMM-GUEST-UP*) [ -f "$2" ] || { now_ms; echo "$NOW_MS" >"$2"; } ;;
		esac
		printf '%s\n' "$_line"
		[ "$LAB_LIVE" != 1 ] || printf '  | live: %s\n' "$_line" >&3
	done >"$1"
}

# run_guest TAG SECS CMD [ARGS...]: runs CMD in a session of its own with a SECS watchdog
# (SIGKILL), stdin from /dev/null, stdout watched for the marker; afterwards kills whatever
# is left of its process group, so a stray child holding stdout cannot hang the lab. Sets RC,
# OUT, ERR (files), TIMED_OUT (0|1), MARKER (the marker line, from "KVMM-GUEST-UP" on, or
# empty), MARK_MS (ms from launch to the marker, or empty), RUN_MS, and from the marker
# GUEST_CPUS and GUEST_RAM_KB.
run_guest() {
	_tag=$1
	_secs=$2
	shift 2
	OUT=$LAB_TMP/$_tag.out
	ERR=$LAB_TMP/$_tag.err
	_fifo=$LAB_TMP/$_tag.fifo
	rm -f "$LAB_TMP/$_tag.mark" "$OUT" "$ERR" "$_fifo"
	mkfifo "$_fifo"
	watch_marker "$OUT" "$LAB_TMP/$_tag.mark" <"$_fifo" &
	_watch=$!
	now_ms
	_t0=$NOW_MS
	setsid timeout -s KILL "$_secs" "$@" <"/dev/null" >"$_fifo" 2>"$ERR" &
	_pid=$!
	RC=0
	wait "$_pid" || RC=$?
	now_ms
	RUN_MS=$((NOW_MS - _t0))
	kill -KILL "-$_pid" 2>/dev/null || true
	wait "$_watch" || true
	rm -f "$_fifo"
	TIMED_OUT=0
	{ [ "$RUN_MS" -ge $((_secs * 1000)) ] || [ "$RC" = 137 ] || [ "$RC" = 124 ]; } && TIMED_OUT=1
	MARK_MS=
	[ -f "$LAB_TMP/$_tag.mark" ] && MARK_MS=$(($(cat "$LAB_TMP/$_tag.mark") - _t0))
	MARKER=$(grep -m 1 -o 'KVMM-GUEST-UP.*' "$OUT" || true)
	GUEST_CPUS=$(echo "$MARKER" | sed -n 's/.* cpus=\([0-9]*\).*/\1/p')
	GUEST_RAM_KB=$(echo "$MARKER" | sed -n 's/.* ram_kb=\([0-9]*\).*/\1/p')
}

# One line about the last run, for FAIL messages.
last_run() {
	_e=$(grep -v '^$' "$ERR" 2>/dev/null | head -n 1 | cut -c1-160)
	echo "rc=$RC timed_out=$TIMED_OUT run_ms=$RUN_MS marker=${MARKER:-none}${_e:+ stderr: $_e}"
}

# The tail of the last run's output, into the log (not a LAB: line).
dump_last() {
	tail -n "${LAB_DUMP_LINES:-40}" "$OUT" 2>/dev/null | sed 's/^/  | out: /'
	tail -n "${LAB_DUMP_LINES:-40}" "$ERR" 2>/dev/null | sed 's/^/  | err: /'
}

have_kvmm() { [ -f "$KVMM" ] && [ -x "$KVMM" ]; }

# kvmm_boot TAG [KVMM ARGS...]: boots with kvmm; fails (returns 1, no report) without kvmm.
kvmm_boot() {
	_t=$1
	shift
	if ! have_kvmm; then
		RC=255 TIMED_OUT=0 RUN_MS=0 MARKER= MARK_MS= GUEST_CPUS= GUEST_RAM_KB=
		: >"$LAB_TMP/$_t.out"
		echo "kvmm binary $KVMM missing or not executable" >"$LAB_TMP/$_t.err"
		OUT=$LAB_TMP/$_t.out ERR=$LAB_TMP/$_t.err
		return 1
	fi
	run_guest "$_t" "$LAB_TIMEOUT" "$KVMM" "$@"
}

# expect_boot NAME CPUS RC [KVMM ARGS...]: a boot that must show the marker with CPUS cpus
# (or any if CPUS is -) and end with exit code RC.
expect_boot() {
	_n=$1 _c=$2 _r=$3
	shift 3
	kvmm_boot "$_n" "$@" || true
	if [ -z "$MARKER" ] || [ "$RC" != "$_r" ] || [ "$TIMED_OUT" = 1 ] ||
		{ [ "$_c" != - ] && [ "$GUEST_CPUS" != "$_c" ]; }; then
		_want="the marker"
		[ "$_c" = - ] || _want="the marker with cpus=$_c"
		fail "$_n" "want $_want and exit $_r: $(last_run)"
		dump_last
		return 0
	fi
	pass "$_n" "cpus=$GUEST_CPUS ram_kb=$GUEST_RAM_KB exit=$RC marker_ms=$MARK_MS run_ms=$RUN_MS"
}

# --- scenarios ------------------------------------------------------------------------------

sc_bzimage_1cpu() {
	expect_boot bzimage-1cpu 1 0 --kernel "$KERNEL" --initramfs "$INITRAMFS" \
		--cpus boot=1 --memory size=512M --cmdline "$CMDLINE"
}

# image-1cpu: the arm64 Image to the marker, and (kvmm -v names it) the GIC kvmm created: the
# v3 when L1 has one, the v2 fallback in an L1 with a GICv2 (LAB_GIC=2).
sc_image_1cpu() {
	_before=$FAILED
	expect_boot image-1cpu-boot 1 0 --kernel "$KERNEL" --initramfs "$INITRAMFS" \
		--cpus boot=1 --memory size=512M --cmdline "$CMDLINE" -v
	[ "$FAILED" = "$_before" ] || return 0
	_gic=$(grep -o 'GICv[0-9]' "$ERR" | head -n 1)
	if [ -z "$_gic" ] || [ "$_gic" != "GICv${LAB_GIC:-3}" ]; then
		fail image-1cpu-gic "want GICv${LAB_GIC:-3} in kvmm's log, got '${_gic}'"
	else
		pass image-1cpu-gic "kvmm created a $_gic (L1's GIC is v${LAB_GIC:-3})"
	fi
}

sc_pvh_elf() {
	expect_boot pvh-elf - 0 --kernel "$LAB_IMAGES/vmlinux" --initramfs "$INITRAMFS" \
		--cpus boot=1 --memory size=512M --cmdline "$CMDLINE"
}

sc_smp_2cpu() {
	expect_boot smp-2cpu 2 0 --kernel "$KERNEL" --initramfs "$INITRAMFS" \
		--cpus boot=2 --memory size=512M --cmdline "$CMDLINE"
}

# mem_check NAME SIZE MIB: the guest's "System RAM" total must be within [MIB-1 MiB, MIB] MiB.
mem_check() {
	kvmm_boot "$1" --kernel "$KERNEL" --initramfs "$INITRAMFS" --cpus boot=1 \
		--memory "size=$2" --cmdline "$CMDLINE" || true
	_lo=$((($3 - 1) * 1024))
	_hi=$(($3 * 1024))
	if [ -z "$GUEST_RAM_KB" ] || [ "$RC" != 0 ] || [ "$TIMED_OUT" = 1 ] ||
		[ "$GUEST_RAM_KB" -lt "$_lo" ] || [ "$GUEST_RAM_KB" -gt "$_hi" ]; then
		fail "$1" "want ram_kb in [$_lo,$_hi] and exit 0: $(last_run)"
		dump_last
		return 0
	fi
	pass "$1" "ram_kb=$GUEST_RAM_KB in [$_lo,$_hi] exit=$RC"
}
sc_mem_512m() { mem_check mem-512m 512M 512; }
sc_mem_1g() { mem_check mem-1g 1G 1024; }

sc_poweroff_code() {
	expect_boot poweroff-code - 0 --kernel "$KERNEL" --initramfs "$INITRAMFS" \
		--cmdline "$CMDLINE kvmm.test=poweroff"
}

sc_reboot_code() {
	_codes=
	_bad=0
	for _i in 1 2 3; do
		kvmm_boot "reboot-code-$_i" --kernel "$KERNEL" --initramfs "$INITRAMFS" \
			--cmdline "$CMDLINE kvmm.test=reboot" || true
		_codes="$_codes${_codes:+,}$RC"
		if [ -z "$MARKER" ] || [ "$RC" != 3 ] || [ "$TIMED_OUT" = 1 ]; then
			_bad=1
			_why="run $_i: $(last_run)"
			dump_last
			break
		fi
	done
	if [ $_bad = 1 ]; then
		fail reboot-code "want exit 3 three times (got $_codes): $_why"
	else
		pass reboot-code "exit codes $_codes"
	fi
}

# expect_refused NAME WANT_RC [KVMM ARGS...]: kvmm must exit WANT_RC quickly with a message on
# stderr and without booting anything.
expect_refused() {
	_n=$1 _r=$2
	shift 2
	if ! kvmm_boot "$_n" "$@"; then
		fail "$_n" "$(last_run)"
		return 0
	fi
	if [ "$RC" != "$_r" ] || [ "$TIMED_OUT" = 1 ] || [ -n "$MARKER" ] || [ ! -s "$ERR" ]; then
		fail "$_n" "want exit $_r, a message on stderr and no marker: $(last_run)"
		dump_last
		return 0
	fi
	pass "$_n" "exit=$RC: $(grep -v '^$' "$ERR" | head -n 1 | cut -c1-120)"
}

sc_bad_kernels() {
	for _k in "$LAB_IMAGES"/bad-kernels/*; do
		[ -f "$_k" ] || continue
		expect_refused "bad-kernel-$(basename "$_k")" 1 --kernel "$_k" \
			--initramfs "$INITRAMFS" --cmdline "$CMDLINE"
	done
	expect_refused bad-kernel-missing 1 --kernel "$LAB_TMP/no-such-kernel" \
		--initramfs "$INITRAMFS" --cmdline "$CMDLINE"
}

sc_bad_arg() {
	expect_refused bad-arg 2 --kernel "$KERNEL" --initramfs "$INITRAMFS" --cpus boot=abc
}

# tiny: the tiny PVH guests of guest-images/tiny (built by meson next to kvmm, passed in
# LAB_TINY). Each prints TINY-OK; tiny-reset, tiny-i8042 and tiny-triple then reset the machine
# (exit 3), the others power off (exit 0).
sc_tiny() {
	for _g in "$LAB_TINY"/tiny*.elf; do
		_n=$(basename "$_g" .elf)
		case $_n in
		tiny-reset | tiny-i8042 | tiny-triple) _want=3 ;;
		*) _want=0 ;;
		esac
		kvmm_boot "$_n" --kernel "$_g" --memory size=64M || true
		if ! grep -q TINY-OK "$OUT" || grep -q TINY-FAIL "$OUT" || [ "$RC" != "$_want" ] ||
			[ "$TIMED_OUT" = 1 ]; then
			fail "$_n" "want TINY-OK and exit $_want: $(last_run) out: $(head -c 80 "$OUT" | tr '\n' ' ')"
			dump_last
		else
			pass "$_n" "TINY-OK exit=$RC run_ms=$RUN_MS"
		fi
	done
}

# Median of the numbers given as arguments.
median() { printf '%s\n' "$@" | sort -n | sed -n "$((($# + 1) / 2))p"; }

# peer_verdict NAME UNIT "KVMM VALUES" "QEMU VALUES" "MISSING": the end of a side-by-side with
# QEMU: medians of each, their ratio (kvmm/QEMU), an INFO line, and PASS, or FAIL when runs
# are MISSING (a non-empty list of what could not be measured).
peer_verdict() {
	_pk=none
	_pq=none
	# shellcheck disable=SC2086 # one number a word
	[ -z "$3" ] || _pk=$(median $3)
	# shellcheck disable=SC2086
	[ -z "$4" ] || _pq=$(median $4)
	_pr=$(awk -v k="$_pk" -v q="$_pq" 'BEGIN { if (k ~ /^[0-9]+$/ && q ~ /^[0-9]+$/ && q > 0) printf "%.2f", k / q; else print "none" }')
	info "$1 kvmm_$2=$_pk qemu_$2=$_pq ratio=$_pr"
	if [ -n "$5" ]; then
		fail "$1" "not measured:$5 (kvmm_$2=$_pk qemu_$2=$_pq)"
	else
		pass "$1" "kvmm_$2=$_pk qemu_$2=$_pq ratio=$_pr"
	fi
}

# boot-time: wall time from launching the VMM to the marker on its stdout, kvmm and QEMU runs
# interleaved (so drift in the machine's speed hits both alike), medians compared. Both
# machines have a virtio-rng device (kvmm's default; Kata always asks for one).
sc_boot_time() {
	_runs=${LAB_BOOT_RUNS:-3}
	_k=
	_q=
	_miss=
	_qemu=0
	if command -v "$LAB_QEMU" >/dev/null 2>&1; then
		_qemu=1
	else
		_miss=" qemu(absent)"
	fi
	# The peer: QEMU with KVM, the machine type each arch's Kata uses, the same kernel,
	# initramfs, command line and an entropy device.
	case $LAB_ARCH in
	x86_64) set -- -M pc ${LAB_BIOS:+-bios "$LAB_BIOS"} ;;
	*) set -- -M virt,gic-version=host ;;
	esac
	_kvmm=1
	for _i in $(seq 1 "$_runs"); do
		# A VMM that missed the marker once is not run again: it would only burn the timeout.
		if [ $_kvmm = 1 ]; then
			# -vv: the exit statistics (debug lines at exit, none while the guest runs).
			kvmm_boot "boot-time-kvmm-$_i" --kernel "$KERNEL" --initramfs "$INITRAMFS" \
				--cpus boot=1 --memory size=512M --cmdline "$CMDLINE" -vv || true
			info "boot-time run=$_i vmm=kvmm marker_ms=${MARK_MS:-none} exit=$RC run_ms=$RUN_MS"
			[ "$_i" != 1 ] || info "boot-time kvmm $(grep -o 'vcpu0: exits:.*' "$ERR" | head -n 1)"
			if [ -n "$MARK_MS" ]; then _k="$_k $MARK_MS"; else _miss="$_miss kvmm#$_i"; _kvmm=0; fi
		fi
		[ $_qemu = 1 ] || continue
		run_guest "boot-time-qemu-$_i" "$LAB_TIMEOUT" "$LAB_QEMU" "$@" -nodefaults \
			-enable-kvm -cpu host -m 512M -no-reboot \
			-serial stdio -nographic -kernel "$KERNEL" -initrd "$INITRAMFS" \
			-object rng-random,id=rng0,filename=/dev/urandom \
			-device virtio-rng-pci,rng=rng0,romfile= \
			-append "console=$CONSOLE quiet panic=-1"
		info "boot-time run=$_i vmm=qemu marker_ms=${MARK_MS:-none} exit=$RC run_ms=$RUN_MS"
		if [ -n "$MARK_MS" ]; then _q="$_q $MARK_MS"; else _miss="$_miss qemu#$_i"; _qemu=0; dump_last; fi
	done
	peer_verdict boot-time ms "$_k" "$_q" "$_miss"
}

# --- registry -------------------------------------------------------------------------------

SCENARIOS=
# scenario NAME ARCHES FUNCTION
scenario() {
	case " $2 " in
	*" any "* | *" $LAB_ARCH "*) SCENARIOS="$SCENARIOS $1:$3" ;;
	esac
}

scenario bzimage-1cpu x86_64 sc_bzimage_1cpu
scenario image-1cpu aarch64 sc_image_1cpu
scenario pvh-elf x86_64 sc_pvh_elf
scenario smp-2cpu any sc_smp_2cpu
scenario mem-512m any sc_mem_512m
scenario mem-1g any sc_mem_1g
scenario poweroff-code any sc_poweroff_code
scenario reboot-code any sc_reboot_code
scenario bad-kernel any sc_bad_kernels
scenario bad-arg any sc_bad_arg
scenario boot-time any sc_boot_time
if [ -n "${LAB_TINY:-}" ] && ls "$LAB_TINY"/tiny*.elf >/dev/null 2>&1; then
	scenario tiny x86_64 sc_tiny
fi

if [ -d "$LAB_DIR/scenarios.d" ]; then
	for _f in "$LAB_DIR"/scenarios.d/*.sh; do
		[ -f "$_f" ] && . "$_f"
	done
fi

selected() {
	[ -z "$LAB_ONLY" ] && return 0
	for _p in $LAB_ONLY; do
		# shellcheck disable=SC2254 # the pattern is meant to match
		case $1 in $_p) return 0 ;; esac
	done
	return 1
}

info "scenarios arch=$LAB_ARCH kvmm=$KVMM images=$LAB_IMAGES cmdline='$CMDLINE'"
have_kvmm || info "kvmm binary $KVMM is missing: every kvmm scenario will fail"
for _s in $SCENARIOS; do
	_name=${_s%%:*}
	_fn=${_s#*:}
	selected "$_name" || continue
	_before=$((PASSED + FAILED))
	now_ms
	_start=$NOW_MS
	# Run in an if-condition so that `set -e` does not end the whole lab on one scenario.
	if ! "$_fn"; then
		[ $((PASSED + FAILED)) -gt "$_before" ] || fail "$_name" "scenario function failed"
	fi
	[ $((PASSED + FAILED)) -gt "$_before" ] || fail "$_name" "scenario reported nothing"
	now_ms
	info "scenario $_name took_ms=$((NOW_MS - _start))"
done
echo "LAB: DONE passed=$PASSED failed=$FAILED"
