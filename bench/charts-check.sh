#!/usr/bin/env bash
# Redraws every benchmark chart in docs/ from the lab logs kept in docs/bench/ and fails unless
# each comes out byte for byte as committed (meson test bench-charts, suite bench, in CI). So a
# chart script cannot rot between two benchmark reports, and a chart in docs/ is always what its
# kept log says: a chart redrawn from a new run needs that run's log in docs/bench/ beside it.
# The charts are bench/charts.sh's, from the newest docs/bench/DATE-ARCH.log of each
# architecture, and docs/api-ready.svg from the newest DATE-api-ready.log (bench/api-plot.py).
#
# Usage: bench/charts-check.sh [WORKDIR]   (default: a temporary directory, removed)
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/bench/charts.sh"
work=${1:-}
if [ -z "$work" ]; then
	work=$(mktemp -d)
	trap 'rm -rf "$work"' EXIT
fi

rc=0 checked=0
# same DRAWN: DRAWN against the file of the same name in docs/.
same() {
	local name
	name=$(basename "$1")
	checked=$((checked + 1))
	if [ ! -f "$top/docs/$name" ]; then
		echo "charts-check: FAIL $name is drawn from the kept logs but not in docs/"
		rc=1
	elif ! cmp -s "$1" "$top/docs/$name"; then
		echo "charts-check: FAIL docs/$name differs from its redrawing from $2 (redraw it with the chart script, or keep the log it came from in docs/bench/)"
		rc=1
	fi
}

for arch in x86_64 aarch64; do
	log=$(ls "$top"/docs/bench/*-"$arch".log 2>/dev/null | grep -E '/[0-9]{4}-[0-9]{2}-[0-9]{2}-'"$arch"'\.log$' | sort | tail -n 1)
	if [ -z "$log" ]; then
		echo "charts-check: FAIL no docs/bench/DATE-$arch.log"
		rc=1
		continue
	fi
	if ! bench_charts "$log" "$arch" "$work/$arch" >"$work/$arch.md"; then
		echo "charts-check: FAIL a chart script could not chart ${log#"$top"/} (above)"
		rc=1
	fi
	for svg in "$work/$arch"/*.svg; do
		[ -f "$svg" ] && same "$svg" "${log#"$top"/}"
	done
done

log=$(ls "$top"/docs/bench/*-api-ready.log 2>/dev/null | sort | tail -n 1)
if [ -z "$log" ]; then
	echo "charts-check: FAIL no docs/bench/DATE-api-ready.log"
	rc=1
elif python3 "$top/bench/api-plot.py" "$log" "$work/api-ready.svg" >"$work/api-ready.md"; then
	same "$work/api-ready.svg" "${log#"$top"/}"
else
	echo "charts-check: FAIL bench/api-plot.py could not chart ${log#"$top"/}"
	rc=1
fi

echo "charts-check: $checked charts redrawn from docs/bench/, $([ $rc = 0 ] && echo "all as in docs/" || echo "not all as in docs/")"
exit $rc
