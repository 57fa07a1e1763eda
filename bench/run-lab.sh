#!/usr/bin/env bash
# The side-by-side benchmarks: kvmm beside QEMU in one lab boot per architecture (boot time,
# memory of the VMM process, TCP through a TAP, on x86_64 also TCP beside QEMU's microvm on
# the same virtio-mmio transport, reads through virtio-fs from the same virtiofsd and the VMM's
# memory with virtio-fs, N VMs started at once (density), and on x86_64 hot-plug latency of a
# disk, a NIC, a vCPU and memory; tests/lab/scenarios.d/ with LAB_MODE=bench),
# then the charts into docs/ and the tables on stdout. Not part of the tests: the numbers are
# recorded in docs/boot-time.md, docs/memory.md, docs/net-throughput.md, docs/virtio-fs.md,
# docs/density.md and docs/hotplug.md
# by hand, with the lab they came from.
#
# Usage: bench/run-lab.sh [x86_64|aarch64|all]   (default all; aarch64 kvmm is cross-built
#                                                 unless this is an arm64 machine)
# Environment: LAB_BOOT_RUNS (5), LAB_MEM_RUNS (3), LAB_NET_MB (50), LAB_FS_ROUNDS (3),
# LAB_FS_RUNS (3), LAB_FS_MB (64), LAB_FS_CACHE (auto), LAB_DENSITY_N (10),
# LAB_DENSITY_ROUNDS (1), LAB_DENSITY_SERIES (all three), LAB_SOAK_RUNS (unset: no
# boot-soak; scenarios.d/boot-soak.sh), LAB_ONLY and the other
# LAB_* settings of tests/lab/run-lab.sh. Logs and charts of the run: build/bench-ARCH/.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
which=${1:-all}
case $which in
x86_64 | aarch64 | all) ;;
*) echo "usage: bench/run-lab.sh [x86_64|aarch64|all]" >&2; exit 2 ;;
esac

scripts/install-deps.sh
. scripts/build.sh
. bench/charts.sh

rc=0
# bench_arch ARCH BUILDDIR: one bench lab, then its charts (copied into docs/) and tables.
bench_arch() {
	local arch=$1 dir=$2 out=build/bench-$1 log
	mkdir -p "$out"
	echo "bench: $arch lab (kvmm $dir/kvmm)"
	LAB_MODE=bench LAB_ARCH=$arch LAB_KVM_HOLD=$dir/tests/kvm-hold \
		tests/lab/run-lab.sh "$dir/kvmm" "$out" || rc=1
	log=$out/bench-$arch.log
	bench_charts "$log" "$arch" docs || rc=1
	echo
}

native=$(uname -m)
if [ "$which" = all ] || [ "$which" = "$native" ]; then
	build_native
	bench_arch "$native" build
fi
if [ "$native" = x86_64 ] && { [ "$which" = all ] || [ "$which" = aarch64 ]; }; then
	build_aarch64
	bench_arch aarch64 "$A64"
fi
exit $rc
