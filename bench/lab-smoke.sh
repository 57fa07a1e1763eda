#!/usr/bin/env bash
# The smoke run of the lab benchmarks (meson test lab-ARCH-bench-smoke, suite lab-bench: in CI
# for the arm64 lab, not for the x86_64 one, tests/meson.build says why): every
# benchmark of tests/lab/scenarios.d/ once, at its smallest, in one L1 boot (LAB_MODE=bench),
# then every chart script of bench/ that bench/run-lab.sh uses on that log, the charts going
# into OUTDIR/charts, not docs/. So neither a benchmark nor its chart can rot between two
# benchmark reports. It judges no figure: a benchmark fails only where it could not measure (a
# VMM that did not come up, a transfer that did not end), a chart script where it cannot read
# the lines it is for. Here the benchmarks stand in for tests, and like the lab's test scenarios
# one that failed while a guest of kvmm's triple-faulted (the x86_64 lab's rare accident,
# tests/lab/README.md) runs once more, counted and printed (LAB_SMOKE=1, scenarios.sh).
#
# Usage: bench/lab-smoke.sh KVMM OUTDIR   (the environment as for tests/lab/run-lab.sh;
#                                          settings given there win over the smoke's)
set -eu

kvmm=$1 out=$2
top=$(cd "$(dirname "$0")/.." && pwd)
arch=${LAB_ARCH:-$(uname -m)}

# The smallest run of each: one boot of each VMM (boot-time, mem-overhead), 2 MiB each way
# (net-throughput, net-mmio, triple-study), one round of one read (fs-read, fs-mem), one
# hot-plug of each kind (hp-latency*), two VMs at once (density), one boot of each VMM (boot-soak).
export LAB_MODE=bench LAB_SMOKE=1
export LAB_BOOT_RUNS=${LAB_BOOT_RUNS:-1} LAB_MEM_RUNS=${LAB_MEM_RUNS:-1}
export LAB_NET_MB=${LAB_NET_MB:-2}
export LAB_FS_ROUNDS=${LAB_FS_ROUNDS:-1} LAB_FS_RUNS=${LAB_FS_RUNS:-1} LAB_FS_MB=${LAB_FS_MB:-4}
export LAB_HP_BENCH_RUNS=${LAB_HP_BENCH_RUNS:-1}
export LAB_DENSITY_N=${LAB_DENSITY_N:-2} LAB_DENSITY_ROUNDS=${LAB_DENSITY_ROUNDS:-1}
export LAB_SOAK_RUNS=${LAB_SOAK_RUNS:-1}
export LAB_STUDY_RUNS=${LAB_STUDY_RUNS:-1} LAB_STUDY_MB=${LAB_STUDY_MB:-2}

rc=0
log=$out/bench-$arch.log
# A second try after L1 wedged (scripts/test-all.sh sets LAB_SKIP) runs only the benchmarks the
# first did not finish, so the charts are drawn from both tries' lines.
first=
if [ -n "${LAB_SKIP:-}" ] && [ -s "$log" ]; then
	first=$log.first-try
	mv "$log" "$first"
fi
"$top/tests/lab/run-lab.sh" "$kvmm" "$out" || rc=$?
charts=$out/charts
chartlog=$log
if [ -n "$first" ] && [ -s "$log" ]; then
	chartlog=$out/bench-$arch.both-tries.log
	cat "$first" "$log" >"$chartlog"
fi
if [ -s "$log" ]; then
	. "$top/bench/charts.sh"
	if bench_charts "$chartlog" "$arch" "$charts" >"$charts.md"; then
		echo "lab-smoke: $(ls "$charts" | grep -c '\.svg$') charts in $charts, their tables in $charts.md"
	else
		echo "lab-smoke: FAIL a chart script could not chart $chartlog (above); the tables: $charts.md"
		rc=1
	fi
else
	echo "lab-smoke: no bench log $log"
	rc=1
fi
exit $rc
