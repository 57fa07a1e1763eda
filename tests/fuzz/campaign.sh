#!/bin/bash
# A long fuzzing campaign: each libFuzzer target of a -Dfuzz=true build runs until it has
# executed FUZZ_RUNS inputs or FUZZ_SECONDS have passed, FUZZ_JOBS targets at a time, on the
# same corpora as `meson test --suite fuzz` (the build tree's corpus-<target>, which it grows,
# then the seeds in tests/fuzz/corpus/<target>). CI runs each target for 30 s; this is the run
# whose totals docs/fuzzing.md records.
#
#   tests/fuzz/campaign.sh BUILD_DIR OUT_DIR [TARGET...]
#	FUZZ_SECONDS (default 600), FUZZ_RUNS (default 10000000), FUZZ_JOBS (default 2)
#
# OUT_DIR gets each target's log (<target>.log), any crash, leak or timeout input libFuzzer
# saved (<target>-crash-*, -leak-*, -timeout-*), and summary.md: one table row per target
# (executions, executions per second, seconds, corpus size, what it added, peak RSS, the
# result). Exit status 1 when any target failed: every failure is a bug to turn into a unit
# test before its fix.
set -u

if [ $# -lt 2 ]; then
	sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//' >&2
	exit 2
fi
BUILD=$1
OUT=$2
shift 2
SECONDS_EACH=${FUZZ_SECONDS:-600}
RUNS=${FUZZ_RUNS:-10000000}
JOBS=${FUZZ_JOBS:-2}
SRC=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$OUT" || exit 2

if [ $# -gt 0 ]; then
	TARGETS=$*
else
	TARGETS=$(cd "$BUILD/tests/fuzz" && for f in fuzz_*; do
		[ -f "$f" ] && [ -x "$f" ] && echo "${f#fuzz_}"
	done)
fi
[ -n "$TARGETS" ] || { echo "campaign: no fuzz targets in $BUILD/tests/fuzz" >&2; exit 2; }

# run_one TARGET: one target's run; its log ends with libFuzzer's final stats and "rc=N".
run_one() {
	local t=$1 corpus=("$BUILD/tests/fuzz/corpus-$t") start
	mkdir -p "${corpus[0]}"
	[ -d "$SRC/corpus/$t" ] && corpus+=("$SRC/corpus/$t")
	start=$(date +%s)
	"$BUILD/tests/fuzz/fuzz_$t" -max_total_time="$SECONDS_EACH" -runs="$RUNS" \
		-rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$OUT/$t-" \
		"${corpus[@]}" >"$OUT/$t.log" 2>&1
	echo "rc=$? seconds=$(($(date +%s) - start)) corpus=$(find "${corpus[@]}" -type f | wc -l)" \
		>>"$OUT/$t.log"
}

# final_stat LOG NAME: a libFuzzer final statistic ("stat::NAME: V").
final_stat() { sed -n "s/^stat::$2: *//p" "$1" | tail -n 1; }

running=0
for t in $TARGETS; do
	if [ ! -x "$BUILD/tests/fuzz/fuzz_$t" ]; then
		echo "campaign: no target fuzz_$t in $BUILD/tests/fuzz" >&2
		exit 2
	fi
	echo "campaign: $(date -u +%H:%M:%S) fuzz_$t starts" >&2
	run_one "$t" &
	running=$((running + 1))
	if [ "$running" -ge "$JOBS" ]; then
		wait -n
		running=$((running - 1))
	fi
done
wait

bad=0
{
	echo "| target | executions | per second | seconds | corpus files | new | peak RSS MiB | result |"
	echo "| --- | --- | --- | --- | --- | --- | --- | --- |"
	for t in $TARGETS; do
		log=$OUT/$t.log
		tail_line=$(tail -n 1 "$log")
		rc=$(echo "$tail_line" | sed -n 's/^rc=\([0-9]*\).*/\1/p')
		secs=$(echo "$tail_line" | sed -n 's/.* seconds=\([0-9]*\).*/\1/p')
		files=$(echo "$tail_line" | sed -n 's/.* corpus=\([0-9]*\).*/\1/p')
		if [ "$rc" = 0 ]; then
			result="no failure"
		else
			bad=1
			result="FAILED (rc $rc): $(grep -a -m 1 -E '^==[0-9]+==ERROR|runtime error|deadly signal' \
				"$log" | cut -c1-80)"
		fi
		echo "| $t | $(final_stat "$log" number_of_executed_units) | $(final_stat "$log" average_exec_per_sec) |" \
			"$secs | $files | $(final_stat "$log" new_units_added) | $(final_stat "$log" peak_rss_mb) |" \
			"$result |"
	done
} >"$OUT/summary.md"
cat "$OUT/summary.md"
exit $bad
