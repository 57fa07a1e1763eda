#!/bin/sh
# The kvmm lab scenarios: full boots of the guest-images guest under kvmm on a real /dev/kvm,
# with negative cases, and (LAB_MODE=bench) the benchmarks that run kvmm beside QEMU. Runs
# inside the lab's L1 (busybox ash) or directly on a host with /dev/kvm (dash/bash), so POSIX
# sh only.
# Each scenario prints one "LAB: PASS <name> <detail>" or "LAB: FAIL <name> <why>" line (plus
# "LAB: INFO ..." measurements); the end is "LAB: DONE passed=N failed=M".
#
# Environment:
#   KVMM        kvmm binary                      LAB_IMAGES  guest-images/build.sh output
#   LAB_ARCH    x86_64 or aarch64                LAB_TMP     scratch directory
#   LAB_MODE    test (default): the tests; bench: the side-by-side benchmarks (bench/run-lab.sh)
#   LAB_QEMU    qemu-system-<arch> (benchmark)   LAB_BIOS    QEMU firmware (x86: bios-256k.bin)
#   LAB_ONLY    optional: run only the scenarios whose names match one of these sh patterns
#   LAB_SKIP    optional: scenario names not to run (those that passed in an L1 boot that then
#               died: scripts/test-all.sh's second try runs only the rest)
#   LAB_REPEAT  run the (selected) scenarios this many times over (1; for hunting rare failures)
#   LAB_TIMEOUT seconds allowed per guest run (60)
#   LAB_TINY    optional: directory with the tiny*.elf test guests (guest-images/tiny)
#   LAB_TAP_EXEC optional: tests/lab/tap-exec (hands kvmm an open TAP fd)
#   LAB_KVMM_REMOTE optional: the kvmm-remote API client
#   LAB_VSOCK_CLIENT optional: tests/lab/vsock-client (hybrid vsock host side)
#   LAB_GIC     aarch64: the GIC version of L1 (3, 2), which kvmm must have picked
#   LAB_LIVE    1: copy each guest console line to the output as it comes (debugging hangs)
#   LAB_TRANSPORT pci (default: kvmm's own default) or mmio: every kvmm this lab runs gets
#               --virtio-transport mmio (through a wrapper that execs kvmm, so PIDs stay kvmm's)
#
# Adding scenarios: write a function and register it with `scenario NAME ARCHES FUNCTION`
# (ARCHES: "any" or a space-separated list), or `bench NAME ARCHES FUNCTION` for a benchmark,
# here or in a file of scenarios.d/*.sh next to this one (sourced in name order). A scenario function calls pass/fail exactly once per name it
# reports; returning non-zero without reporting counts as a failure.
set -eu

LAB_DIR=$(cd "$(dirname "$0")" && pwd)
: "${KVMM:?KVMM must name the kvmm binary}"
: "${LAB_IMAGES:?LAB_IMAGES must name the guest images directory}"
LAB_ARCH=${LAB_ARCH:-$(uname -m)}
LAB_TMP=${LAB_TMP:-/tmp/kvmm-lab.$$}
LAB_TIMEOUT=${LAB_TIMEOUT:-60}
LAB_ONLY=${LAB_ONLY:-}
LAB_SKIP=${LAB_SKIP:-}
LAB_REPEAT=${LAB_REPEAT:-1}
LAB_LIVE=${LAB_LIVE:-0}
LAB_QEMU=${LAB_QEMU:-qemu-system-$LAB_ARCH}
mkdir -p "$LAB_TMP"

LAB_MODE=${LAB_MODE:-test}
# kvmm adds nothing to the guest command line. LAB_EXTRA_CMDLINE: e.g. reboot=k, if needed.
#   BASE_CMDLINE  the plain one: the boot-path scenarios, and both VMMs in the benchmarks
#   CMDLINE       as kvmm is meant to be run (README): on arm64 the plain one; on x86_64 with
#                 pci=noearly with its devices on PCI, and with pci=off on virtio-mmio
#                 (LAB_TRANSPORT=mmio), since there is then no PCI bus and Debian's kernel would
#                 probe for one through ports 0xcf8/0xcfc. pci=noearly stops the guest's two
#                 early scans of all 256 buses for an AMD GART (arch/x86/kernel/aperture_64.c),
#                 which it makes only because the lab's emulated CPU reports an old AMD family:
#                 ~17,000 port exits per boot, no guest on a Kata host's CPU makes them, and
#                 the emulated L1's fetch fault has caught guests in them more than once
#                 (docs/triple-fault.md). The boot-path scenarios and the benchmarks keep the
#                 plain BASE_CMDLINE, so the scan still runs through kvmm in the PCI labs.
#   KERNEL        the kernel of the device and API scenarios: on x86_64 the ELF vmlinux (PVH
#                 entry), which is how Kata boots its guest; BOOT_KERNEL: the bzImage / Image,
#                 which the benchmarks use for both VMMs
case $LAB_ARCH in
x86_64)
	BOOT_KERNEL=$LAB_IMAGES/vmlinuz # bzImage
	KERNEL=$LAB_IMAGES/vmlinux
	CONSOLE=ttyS0
	KVMM_CMDLINE=" pci=noearly"
	[ "${LAB_TRANSPORT:-pci}" != mmio ] || KVMM_CMDLINE=" pci=off"
	;;
aarch64)
	BOOT_KERNEL=$LAB_IMAGES/Image
	KERNEL=$BOOT_KERNEL
	CONSOLE=ttyAMA0
	KVMM_CMDLINE=
	;;
*) echo "LAB: FAIL lab-arch unknown LAB_ARCH=$LAB_ARCH"; echo "LAB: DONE passed=0 failed=1"; exit 1 ;;
esac
LAB_TRANSPORT=${LAB_TRANSPORT:-pci}
if [ "$LAB_TRANSPORT" = mmio ]; then
	printf '#!/bin/sh\nexec %s --virtio-transport mmio "$@"\n' "$KVMM" >"$LAB_TMP/kvmm-mmio"
	chmod 0755 "$LAB_TMP/kvmm-mmio"
	KVMM=$LAB_TMP/kvmm-mmio
fi
INITRAMFS=$LAB_IMAGES/initramfs.cpio.gz
BASE_CMDLINE="console=$CONSOLE quiet panic=-1${LAB_EXTRA_CMDLINE:+ $LAB_EXTRA_CMDLINE}"
CMDLINE="$BASE_CMDLINE$KVMM_CMDLINE"
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

# marker_field FILE NAME: the number NAME=N on the guest's first marker line in FILE (or nothing).
marker_field() {
	grep -m 1 -o 'KVMM-GUEST-UP.*' "$1" 2>/dev/null | sed -n "s/.* $2=\\([0-9]*\\).*/\\1/p"
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
	# A run about to be killed: where each of its threads is, for dump_last.
	rm -f "$LAB_TMP/$_tag.hang"
	( sleep $((_secs > 4 ? _secs - 2 : _secs)) &&
		LAB_THREADS_PARENT=$_pid lab_threads >"$LAB_TMP/$_tag.hang" ) \
		</dev/null >/dev/null 2>&1 &
	_dog=$!
	RC=0
	wait "$_pid" || RC=$?
	now_ms
	RUN_MS=$((NOW_MS - _t0))
	kill "$_dog" 2>/dev/null || true
	wait "$_dog" 2>/dev/null || true
	kill -KILL "-$_pid" 2>/dev/null || true
	wait "$_watch" || true
	rm -f "$_fifo"
	TIMED_OUT=0
	{ [ "$RUN_MS" -ge $((_secs * 1000)) ] || [ "$RC" = 137 ] || [ "$RC" = 124 ]; } && TIMED_OUT=1
	MARK_MS=
	[ -f "$LAB_TMP/$_tag.mark" ] && MARK_MS=$(($(cat "$LAB_TMP/$_tag.mark") - _t0))
	MARKER=$(grep -m 1 -o 'KVMM-GUEST-UP.*' "$OUT" || true)
	GUEST_CPUS=$(marker_field "$OUT" cpus)
	GUEST_RAM_KB=$(marker_field "$OUT" ram_kb)
}

# LAB_THREADS_PARENT=PID lab_threads: the processes whose parent is PID (timeout's child, the VMM) with each of
# their threads: name, state, the syscall it is in (number and arguments, or "running") and
# the kernel's stack. A VMM that hangs shows here whether a thread waits on a lock (futex) or
# in KVM; kvmm is also sent SIGUSR2, so that its vCPUs log where the guest is.
lab_threads() {
	for _st in /proc/[0-9]*/stat; do
		read -r _line <"$_st" 2>/dev/null || continue
		_rest=${_line##*) }
		# shellcheck disable=SC2086 # the fields after the name: state, ppid, ...
		set -- $_rest
		[ "${2:-}" = "$LAB_THREADS_PARENT" ] || continue
		_d=${_st%/stat}
		echo "process ${_d#/proc/}: $(tr '\0' ' ' <"$_d/cmdline" 2>/dev/null | cut -c1-120)"
		# kvmm's vCPUs log where the guest is (SIGUSR2), into its stderr before the kill.
		[ "$(cat "$_d/comm" 2>/dev/null)" != kvmm ] || kill -USR2 "${_d#/proc/}" 2>/dev/null || true
		for _t in "$_d"/task/[0-9]*; do
			read -r _tl <"$_t/stat" 2>/dev/null || continue
			_ts=${_tl##*) }
			echo "  thread ${_t##*/} $(cat "$_t/comm" 2>/dev/null) state ${_ts%% *}" \
				"syscall $(cat "$_t/syscall" 2>/dev/null | cut -d' ' -f1-4)" \
				"wchan $(cat "$_t/wchan" 2>/dev/null)"
			sed 's/^/    /' "$_t/stack" 2>/dev/null | head -n 12
		done
	done
}

# One line about the last run, for FAIL messages.
last_run() {
	_e=$(grep -v '^$' "$ERR" 2>/dev/null | head -n 1 | cut -c1-160)
	_w=
	if [ "$TIMED_OUT" = 1 ]; then
		_w="; guest: $(guest_state "$OUT")"
		! vcpu_dump_wait "$ERR" 1 0 || _w="$_w; vcpu0 at $VD_PC ($VD_MP)"
	fi
	echo "rc=$RC timed_out=$TIMED_OUT run_ms=$RUN_MS marker=${MARKER:-none}${_e:+ stderr: $_e}$_w"
}

# The tail of the last run's output, into the log (not a LAB: line), and where the VMM's
# threads were just before a timed-out run was killed.
dump_last() {
	tail -n "${LAB_DUMP_LINES:-40}" "$OUT" 2>/dev/null | sed 's/^/  | out: /'
	tail -n "${LAB_DUMP_LINES:-40}" "$ERR" 2>/dev/null | sed 's/^/  | err: /'
	if [ "$TIMED_OUT" = 1 ] && [ -s "${OUT%.out}.hang" ]; then
		sed 's/^/  | before the kill: /' "${OUT%.out}.hang"
	fi
}

# guest_state FILE: how a guest's console FILE ends, in one short line for a FAIL report (CI
# sees the LAB: lines only, not the dumps after them in the L1 log): the first line of trouble
# (an oops, a panic, a lockup, an RCU stall) if there is one, else the last line, with the
# count of lines.
guest_state() {
	_gs_n=$(tr -d '\000\r' 2>/dev/null <"$1" | grep -c .) || true
	_gs_l=$(tr -d '\000\r' 2>/dev/null <"$1" | grep -m 1 -E \
		'Kernel panic|Oops|BUG:|general protection|unable to handle|soft lockup|hung_task|rcu.*stall|double fault' |
		cut -c1-120) || true
	if [ -n "$_gs_l" ]; then
		echo "${_gs_n:-0} console lines, the first trouble: $_gs_l"
	else
		_gs_l=$(tr -d '\000\r' 2>/dev/null <"$1" | grep . | tail -n 1 | cut -c1-120) || true
		echo "${_gs_n:-0} console lines${_gs_l:+, the last: $_gs_l}"
	fi
}

# vcpu_dump_wait FILE N [TENTHS]: within TENTHS tenths of a second (50), FILE holds N vCPUs'
# answers to SIGUSR2 (each vCPU's "state on request" block ends with its "exits:" line).
# VD_PC: vcpu0's pc/rip, VD_MP: the run states in order, VD_N: the answers seen.
vcpu_dump_wait() {
	_vd_i=0
	while :; do
		VD_N=$(grep -c 'vcpu[0-9]*: state on request:' "$1" 2>/dev/null) || true
		_vd_x=$(grep -c 'vcpu[0-9]*: exits:' "$1" 2>/dev/null) || true
		[ "${VD_N:-0}" -lt "$2" ] || [ "${_vd_x:-0}" -lt "$2" ] || break
		[ $_vd_i -lt "${3:-50}" ] || break
		sleep 0.1
		_vd_i=$((_vd_i + 1))
	done
	VD_PC=$(sed -n 's/.*vcpu0:   \(rip\|pc\) \(0x[0-9a-f]*\).*/\2/p' "$1" | head -n 1)
	VD_MP=$(sed -n 's/.*vcpu[0-9]*:   mp_state [0-9]* (\(.*\))$/\1/p' "$1" | tr '\n' ',' | sed 's/,$//')
	[ "${VD_N:-0}" -ge "$2" ] && [ "${_vd_x:-0}" -ge "$2" ] && [ -n "$VD_PC" ] && [ -n "$VD_MP" ]
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

# --- scenario helpers -----------------------------------------------------------------------

# boot_check NAME CPUS MIB [KVMM ARGS...]: a boot that must show the marker with CPUS cpus, a
# "System RAM" total within [MIB-1 MiB, MIB MiB], and end with exit 0 (the guest powered off).
boot_check() {
	_bn=$1 _bc=$2 _bm=$3
	shift 3
	kvmm_boot "$_bn" "$@" || true
	_lo=$(((_bm - 1) * 1024))
	_hi=$((_bm * 1024))
	if [ -z "$MARKER" ] || [ "$RC" != 0 ] || [ "$TIMED_OUT" = 1 ] ||
		[ "$GUEST_CPUS" != "$_bc" ] || [ -z "$GUEST_RAM_KB" ] ||
		[ "$GUEST_RAM_KB" -lt "$_lo" ] || [ "$GUEST_RAM_KB" -gt "$_hi" ]; then
		fail "$_bn" "want the marker with cpus=$_bc and ram_kb in [$_lo,$_hi], then exit 0 (poweroff): $(last_run)"
		dump_last
		return 0
	fi
	pass "$_bn" "cpus=$GUEST_CPUS ram_kb=$GUEST_RAM_KB exit=$RC (poweroff) marker_ms=$MARK_MS run_ms=$RUN_MS"
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

# Median of the numbers given as arguments.
median() { printf '%s\n' "$@" | sort -n | sed -n "$((($# + 1) / 2))p"; }

# ratio A B: A / B to two places, or none unless both are whole numbers and B is not 0.
ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN { if (a ~ /^[0-9]+$/ && b ~ /^[0-9]+$/ && b > 0)
		printf "%.2f", a / b; else print "none" }'
}

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
	_pr=$(ratio "$_pk" "$_pq")
	info "$1 kvmm_$2=$_pk qemu_$2=$_pq ratio=$_pr"
	if [ -n "$5" ]; then
		fail "$1" "not measured:$5 (kvmm_$2=$_pk qemu_$2=$_pq)"
	else
		pass "$1" "kvmm_$2=$_pk qemu_$2=$_pq ratio=$_pr"
	fi
}

# --- registry -------------------------------------------------------------------------------

SCENARIOS=
# scenario NAME ARCHES FUNCTION: a test (LAB_MODE=test)
scenario() {
	[ "$LAB_MODE" = test ] || return 0
	case " $2 " in
	*" any "* | *" $LAB_ARCH "*) SCENARIOS="$SCENARIOS $1:$3" ;;
	esac
}
# bench NAME ARCHES FUNCTION: a benchmark (LAB_MODE=bench)
bench() {
	[ "$LAB_MODE" = bench ] || return 0
	case " $2 " in
	*" any "* | *" $LAB_ARCH "*) SCENARIOS="$SCENARIOS $1:$3" ;;
	esac
}

# The boot paths first (their functions: scenarios.d/boot.sh), then scenarios.d/ in name order.
scenario bzimage-1cpu x86_64 sc_bzimage_1cpu
scenario image-1cpu aarch64 sc_image_1cpu
scenario pvh-elf x86_64 sc_pvh_elf
scenario smp-2cpu any sc_smp_2cpu
scenario mem-1g any sc_mem_1g
scenario reboot-code any sc_reboot_code
scenario boot-timer any sc_boot_timer
scenario vcpu-dump any sc_vcpu_dump
scenario bad-kernel any sc_bad_kernels
scenario bad-arg any sc_bad_arg
if [ -n "${LAB_TINY:-}" ] && ls "$LAB_TINY"/tiny*.elf >/dev/null 2>&1; then
	scenario tiny x86_64 sc_tiny
fi

if [ -d "$LAB_DIR/scenarios.d" ]; then
	for _f in "$LAB_DIR"/scenarios.d/*.sh; do
		[ -f "$_f" ] && . "$_f"
	done
fi

selected() {
	case " $LAB_SKIP " in *" $1 "*) return 1 ;; esac
	[ -z "$LAB_ONLY" ] && return 0
	for _p in $LAB_ONLY; do
		# shellcheck disable=SC2254 # the pattern is meant to match
		case $1 in $_p) return 0 ;; esac
	done
	return 1
}

case $LAB_MODE in
test | bench) ;;
*) fail lab-mode "LAB_MODE must be test or bench, not '$LAB_MODE'" ;;
esac
info "scenarios mode=$LAB_MODE arch=$LAB_ARCH kvmm=$KVMM images=$LAB_IMAGES cmdline='$CMDLINE'"
have_kvmm || info "kvmm binary $KVMM is missing: every kvmm scenario will fail"
# sanitizer_logs: the logs in LAB_TMP (small files only; disk images are large) holding an
# AddressSanitizer, LeakSanitizer or UndefinedBehaviorSanitizer report: a kvmm built with
# -Db_sanitize=address,undefined (the sanitizer labs, scripts/test-all.sh) writes them to its
# stderr, which every scenario keeps in LAB_TMP.
SANITIZER_RE='==[0-9]+==ERROR: (Address|Leak)Sanitizer|\.[ch]:[0-9]+:[0-9]+: runtime error: '
sanitizer_logs() {
	find "$LAB_TMP" -type f -size -16384k 2>/dev/null |
		xargs -r grep -l -a -E "$SANITIZER_RE" 2>/dev/null
}

# run_scenario_once NAME FUNCTION: one scenario, which must report something. (Its variables
# are prefixed: sh has no locals, and scenario functions use the short names.) A sanitizer
# report in any log it left fails it, whatever it said; the log is then renamed *.reported so
# that the next scenario does not count it again.
run_scenario_once() {
	_rs_before=$((PASSED + FAILED))
	now_ms
	_rs_start=$NOW_MS
	# Run in an if-condition so that `set -e` does not end the whole lab on one scenario.
	if ! "$2"; then
		[ $((PASSED + FAILED)) -gt "$_rs_before" ] || fail "$1" "scenario function failed"
	fi
	[ $((PASSED + FAILED)) -gt "$_rs_before" ] || fail "$1" "scenario reported nothing"
	for _rs_log in $(sanitizer_logs); do
		fail "$1" "a sanitizer report in ${_rs_log#"$LAB_TMP"/}"
		grep -a -E -A 30 "$SANITIZER_RE" "$_rs_log" | head -n 60 | sed 's/^/  | /'
		mv "$_rs_log" "$_rs_log.reported"
	done
	now_ms
	info "scenario $1 took_ms=$((NOW_MS - _rs_start))"
}

# LAB_L1_TRACE=1 (run-lab.sh; a study of the guest's rare faults, not for CI): L1's KVM traces
# its guests' entries and exits (with the guest's rip) and the interrupts and exceptions it
# injects, into an 8 MiB ring per CPU; l1_trace_dump puts events into the log ("  | l1-trace:
# ") after a failed scenario and starts the ring again. What it is for: to see
# what L1 injected into a guest just before the guest faulted where it cannot (docs/triple-fault.md).
L1_TRACE=/sys/kernel/tracing
l1_trace_start() {
	[ "${LAB_L1_TRACE:-0}" = 1 ] || return 0
	[ -e "$L1_TRACE/set_event" ] || mount -t tracefs tracefs "$L1_TRACE" 2>/dev/null || true
	if [ ! -e "$L1_TRACE/set_event" ]; then
		info "l1-trace: no tracefs in L1"
		LAB_L1_TRACE=0
		return 0
	fi
	echo 0 >"$L1_TRACE/tracing_on"
	echo 8192 >"$L1_TRACE/buffer_size_kb"
	: >"$L1_TRACE/trace"
	printf '%s\n' kvm:kvm_entry kvm:kvm_exit kvm:kvm_inj_virq kvm:kvm_inj_exception \
		kvm:kvm_apic_accept_irq kvm:kvm_msi_set_irq kvm:kvm_set_irq >"$L1_TRACE/set_event" ||
		{ info "l1-trace: cannot enable the kvm events"; LAB_L1_TRACE=0; return 0; }
	echo 1 >"$L1_TRACE/tracing_on"
	info "l1-trace: on ($(wc -l <"$L1_TRACE/set_event") events)"
}

# l1_trace_dump: the events around the last injected event (an oopsing or panicking guest
# runs with interrupts off, so that is about where it went wrong) and the last few.
l1_trace_dump() {
	[ "${LAB_L1_TRACE:-0}" = 1 ] || return 0
	echo 0 >"$L1_TRACE/tracing_on"
	grep -v '^#' "$L1_TRACE/trace" >"$LAB_TMP/l1-trace.txt"
	_lt_n=$(grep -n -E 'kvm_inj_virq|kvm_inj_exception' "$LAB_TMP/l1-trace.txt" | tail -n 1 |
		cut -d: -f1)
	if [ -n "$_lt_n" ]; then
		sed -n "$((_lt_n > 300 ? _lt_n - 300 : 1)),$((_lt_n + 100))p" "$LAB_TMP/l1-trace.txt" |
			sed 's/^/  | l1-trace: /'
		echo "  | l1-trace: ..."
	fi
	tail -n 20 "$LAB_TMP/l1-trace.txt" | sed 's/^/  | l1-trace: /'
	rm -f "$LAB_TMP/l1-trace.txt"
	: >"$L1_TRACE/trace"
	echo 1 >"$L1_TRACE/tracing_on"
}

# stuck_pf_logs: the kvmm logs (LAB_TMP/*.err; *.out too, where a scenario keeps kvmm's stderr
# with the console, as net_xfer does) whose on-request vCPU dump (SIGUSR2, which the lab sends
# to a guest that stopped answering) shows a vCPU stuck on a page fault at its own
# RIP: a page fault (vector 14) injected or pending, and CR2 equal to RIP.
stuck_pf_logs() {
	for _sp_f in "$LAB_TMP"/*.err "$LAB_TMP"/*.out; do
		[ -f "$_sp_f" ] || continue
		awk '/state on request/ { d = 1 }
			d && / rip 0x/ { for (i = 1; i < NF; i++) if ($i == "rip") rip = $(i + 1) }
			d && / cr2 0x/ { for (i = 1; i < NF; i++) if ($i == "cr2") cr2 = $(i + 1) }
			d && /events: exception / {
				if (rip != "" && rip == cr2 &&
				    ($0 ~ /exception 1 nr 14 / || $0 ~ /exception 0 nr 14 .* pending 1;/))
					found = 1
				rip = ""; cr2 = ""
			}
			END { exit !found }' "$_sp_f" && echo "$_sp_f"
	done
}

# pf_triple_logs: the logs (LAB_TMP/*.out, *.err) in which kvmm reports a guest triple fault
# whose undelivered event (the dump's "events:" line) is a page fault, vector 14: the form the
# emulated L1's fetch fault takes. A triple fault on any other event is not the lab's.
pf_triple_logs() {
	for _pt_f in "$LAB_TMP"/*.out "$LAB_TMP"/*.err; do
		[ -f "$_pt_f" ] || continue
		awk '/guest triple fault/ { t = 1 }
			t && /events: exception / { if ($0 ~ / nr 14 /) found = 1; t = 0 }
			END { exit !found }' "$_pt_f" && echo "$_pt_f"
	done
}

# The guest logs (LAB_TMP/*.out, *.err) that show one of the three ends of the emulated L1's
# transient fetch fault (docs/triple-fault.md): a triple fault on a page fault (kvmm's log,
# pf_triple_logs), a double fault (the guest kernel's "PANIC: double fault"), or a vCPU stuck
# on a page fault at its own RIP (stuck_pf_logs). clear_triple_logs removes them.
triple_logs() {
	{
		grep -a -l 'PANIC: double fault' "$LAB_TMP"/*.out "$LAB_TMP"/*.err 2>/dev/null
		pf_triple_logs
		stuck_pf_logs
	} | sort -u
}
clear_triple_logs() { triple_logs | while IFS= read -r _rs_x; do rm -f "$_rs_x"; done; }

TRIPLE_RETRIES=0
# run_scenario NAME FUNCTION: a test scenario that failed while one of its guests died of the
# emulated L1's fetch fault (triple_logs; the x86_64 lab's rare accident, tests/lab/README.md)
# runs once more, in the open: an INFO line says so and its first report stays in the log with "LAB: " turned into
# "(first try) " (the host counts LAB: lines); a count is printed before LAB: DONE. A second
# failure stands.
# tiny (whose tiny-triple guest triple-faults on purpose) and the benchmarks are not repeated,
# except in the benchmarks' smoke run (LAB_SMOKE=1, bench/lab-smoke.sh), where they stand in
# for tests and are treated as tests.
# A test scenario's lines come out when it ends (the longest takes about a minute; run-lab.sh
# takes 300 s of silence for a wedged L1).
run_scenario() {
	if { [ "$LAB_MODE" != test ] && [ "${LAB_SMOKE:-0}" != 1 ]; } || [ "$1" = tiny ]; then
		run_scenario_once "$1" "$2"	# unbuffered: a benchmark may run for many minutes
		return 0
	fi
	_rs_p=$PASSED _rs_f=$FAILED
	# Logs naming a triple fault are from earlier scenarios, whose reports are out already.
	clear_triple_logs
	run_scenario_once "$1" "$2" >"$LAB_TMP/scenario.log"
	[ "$FAILED" = "$_rs_f" ] || l1_trace_dump >>"$LAB_TMP/scenario.log"
	if [ "$FAILED" != "$_rs_f" ] && [ -n "$(triple_logs)" ]; then
		sed 's/LAB: /(first try) /' "$LAB_TMP/scenario.log"
		info "scenario $1 failed while a guest of its died of L1's fetch fault ($(triple_logs |
			tr '\n' ' ')): running it once more"
		TRIPLE_RETRIES=$((TRIPLE_RETRIES + 1))
		PASSED=$_rs_p FAILED=$_rs_f
		clear_triple_logs
		run_scenario_once "$1" "$2"
	else
		cat "$LAB_TMP/scenario.log"
	fi
}

[ -z "$LAB_SKIP" ] || info "not run again (passed in the L1 boot before this one): $LAB_SKIP"
l1_trace_start
_round=0
while [ $_round -lt "$LAB_REPEAT" ]; do
	_round=$((_round + 1))
	[ "$LAB_REPEAT" = 1 ] || info "round $_round of $LAB_REPEAT"
	for _s in $SCENARIOS; do
		if selected "${_s%%:*}"; then
			run_scenario "${_s%%:*}" "${_s#*:}"
		fi
	done
done
[ "$TRIPLE_RETRIES" = 0 ] ||
	info "runs repeated after a guest's triple fault, double fault or page-fault hang:" \
		"$TRIPLE_RETRIES"
echo "LAB: DONE passed=$PASSED failed=$FAILED"
