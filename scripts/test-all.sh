#!/usr/bin/env bash
# Installs what kvmm needs, builds it, and runs every test: the Criterion
# unit suite (plain and under ASan+UBSan), the libFuzzer targets for a
# bounded time, the API contract test, an API session under valgrind
# (tests/api/valgrind-session.sh), the smoke run of bench/api-ping, and the KVM labs of both
# architectures, which boot real guests with kvmm (inside a nested-KVM L1
# under QEMU when this machine has no /dev/kvm; kvmm for aarch64 is
# cross-built), each also with an ASan+UBSan kvmm, and the lab benchmarks' smoke run
# (bench/lab-smoke.sh, meson suite lab-bench) in the arm64 lab: the x86_64 one is not run
# here (tests/meson.build says why).  Prints what failed
# (scripts/test-digest.py) and one closing line "N passed, M failed".
#
# Usage: scripts/test-all.sh [--no-lab]
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

lab=true
[ "${1:-}" = "--no-lab" ] && lab=false

"$top/scripts/install-deps.sh"

passed=0
failed=0
lab_repeats=0
digest=$(mktemp)
trap 'rm -f "$digest"' EXIT

# Adds the counts from a meson test log to the totals.
count() {
	local json=$1 p f
	p=$(grep -c '"result": "OK"' "$json" || true)
	f=$(grep -c '"result": "\(FAIL\|TIMEOUT\|ERROR\|UNEXPECTEDPASS\)"' "$json" || true)
	passed=$((passed + p))
	failed=$((failed + f))
	python3 "$top/scripts/test-digest.py" "$json" >>"$digest" || true
}

run_suite() {
	local dir=$1 suite=$2
	meson test -C "$dir" --suite "$suite" --print-errorlogs --num-processes 2 ||
		true
	count "$dir/meson-logs/testlog.json"
}

. "$top/scripts/build.sh"
build_native
run_suite build unit

[ -d build-asan ] || meson setup build-asan -Db_sanitize=address,undefined \
	-Db_lundef=false -Dbuildtype=debug
ninja -C build-asan
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	run_suite build-asan unit

# libFuzzer over the parsers, a bounded time per target.
[ -d build-fuzz ] || CC=clang meson setup build-fuzz -Dfuzz=true \
	-Db_sanitize=address,undefined -Db_lundef=false -Dlab=false \
	-Dbuildtype=debugoptimized
ninja -C build-fuzz
run_suite build-fuzz fuzz

# The KVM lab of build directory $1, meson suite $2 (lab, or lab-sanitizers in a sanitizer
# build): one L1 boot per lab test (tests/meson.build).
run_lab() {
	local dir=$1 suite=${2:-lab} labjson=$1/meson-logs/testlog.json again kept wedged names name skip
	meson test -C "$dir" --suite "$suite" --print-errorlogs || true
	# A wedged L1 (the TCG-emulated host of the nested KVM) is an accident of the lab, not a
	# verdict on kvmm: run-lab.sh says "L1 stalled" or "L1 timed out" for it, "L1 kernel
	# crashed" when L1's own kernel oopses, "L1 triple-faulted" or "L1 reset itself" when L1
	# reset without a word first.  The L1 boot (lab test) that wedged, and only it, runs
	# once more, in the open, with only the scenarios that had not finished (LAB_SKIP), its
	# first try's lab logs kept beside; one in which a scenario failed before L1 went is not
	# repeated, and that failure stands (scripts/lab-wedged.py).
	kept=$(mktemp) wedged=$(mktemp)
	again=$(python3 "$top/scripts/lab-wedged.py" "$labjson" "$kept" "$wedged") || again=
	if [ -z "$again" ]; then
		rm -f "$kept" "$wedged"
		count "$labjson"
		return 0
	fi
	names=$(echo "$again" | cut -f1 | tr '\n' ' ')
	names=${names% }
	echo "test-all: L1 wedged in $names ($dir); running the rest of that L1 boot once more"
	lab_repeats=$((lab_repeats + $(echo "$again" | wc -l)))
	rm -rf "$dir/tests/first-try"
	mkdir -p "$dir/tests/first-try"
	cp -r "$dir"/tests/lab-out* "$labjson" "$dir/tests/first-try/" 2>/dev/null || true
	mv "$wedged" "$dir/tests/first-try/wedged.json"
	wedged=$dir/tests/first-try/wedged.json
	echo "test-all: the first try's lab logs are in $dir/tests/first-try"
	{ echo "(the first try of $names in $dir, repeated since L1 wedged:)"
	  python3 "$top/scripts/test-digest.py" "$wedged"; } >>"$digest" || true
	count "$kept"
	rm -f "$kept"
	while IFS=$'\t' read -r name skip; do
		echo "test-all: $name: not run again (passed before L1 went): ${skip:-none}"
		LAB_SKIP=$skip meson test -C "$dir" --print-errorlogs "$name" </dev/null || true
		count "$labjson"
	done <<<"$again"
}

# The API against the Cloud Hypervisor OpenAPI document, with Dredd (tests/api/contract).
run_suite build contract

# An API session with kvmm under valgrind's memcheck (tests/api/valgrind-session.sh).
run_suite build valgrind

# The smoke runs of the benchmarks that need no VM (bench/api-ping: exec -> vmm.ping), and
# every chart in docs/ redrawn from the logs kept in docs/bench/ (bench/charts-check.sh).
run_suite build bench

if $lab; then
	run_lab build
	# The ASan+UBSan kvmm through every device in a lab of its own (tests/meson.build).
	run_lab build-asan lab-sanitizers
	# kvmm for aarch64 (cross-built unless this is an arm64 machine) in an arm64 lab, then
	# its ASan+UBSan build (dynamic) in a sanitizer lab.
	if [ "$(uname -m)" != aarch64 ]; then
		build_aarch64
		run_lab "$A64"
		# Every lab benchmark once at its smallest and its chart, so none rots
		# (~5 minutes).
		run_lab "$A64" lab-bench
		build_aarch64_asan
		run_lab "$A64_ASAN" lab-sanitizers
	else
		run_lab build lab-bench
	fi
fi

# What failed, again at the end: CI shows only the tail of a long run.
if [ -s "$digest" ]; then
	echo "test-all: what failed:"
	cat "$digest"
fi
if [ "$lab_repeats" -gt 0 ]; then
	echo "test-all: $lab_repeats L1 boot(s) of the labs repeated because L1 wedged (see above)"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
