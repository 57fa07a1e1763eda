#!/usr/bin/env bash
# API readiness: exec -> first vmm.ping answer (what Kata's clh driver waits through before
# vm.create) of kvmm beside the floor, a program that only listens and answers
# (bench/ping-floor.c), each built dynamic (build/) and static (build-static/,
# -Dstatic=true), RUNS runs of each pair interleaved (bench/api-ping.c). Needs no /dev/kvm;
# run it on an idle machine. The log goes to build/bench-api/api-ready.log, the chart to
# docs/api-ready.svg, the table to stdout (bench/api-plot.py).
#
# Usage: bench/api-ready.sh [RUNS]   (default 200)
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
runs=${1:-200}
[ -d build ] || meson setup build >/dev/null
[ -d build-static ] || meson setup build-static -Dstatic=true -Dlab=false >/dev/null
ninja -C build kvmm api-ping ping-floor >/dev/null
ninja -C build-static kvmm ping-floor >/dev/null
out=build/bench-api
mkdir -p "$out"
log=$out/api-ready.log
{
	echo "api-ready: $(date -u +%Y-%m-%dT%H:%MZ) kvmm $(git rev-parse --short HEAD 2>/dev/null || echo '?')" \
		"$(nproc) cpus, load $(cut -d' ' -f1-3 /proc/loadavg)"
	build/api-ping "$runs" build/ping-floor build/kvmm
	build/api-ping "$runs" build-static/ping-floor build-static/kvmm
} | tee "$log" | grep -v '^api-ping-runs'
echo
python3 bench/api-plot.py "$log" docs/api-ready.svg
