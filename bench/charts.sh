# The charts of the lab benchmarks, drawn from one lab log: what bench/run-lab.sh puts in docs/,
# bench/lab-smoke.sh draws from its smoke run and bench/charts-check.sh redraws from the logs
# kept in docs/bench/ (sourced by them; bash).

# bench_charts LOG ARCH DIR: every chart of ARCH's benchmark report, drawn from LOG into DIR
# under the names docs/ gives them (docs/boot-time.svg, docs/boot-time-aarch64.svg, ...), each
# chart script's table on stdout under a heading. A chart script that cannot chart LOG is
# named on stderr, and the function then returns 1 (after trying the others).
bench_charts() {
	local log=$1 arch=$2 dir=$3 suffix rc=0
	local top
	top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
	suffix=$([ "$arch" = x86_64 ] && echo "" || echo "-$arch")
	mkdir -p "$dir"
	# _bench_chart HEADING SCRIPT OUT...: one chart script on LOG.
	_bench_chart() {
		local heading=$1 script=$2
		shift 2
		echo
		echo "## $heading"
		if ! python3 "$top/bench/$script" "$log" "$@"; then
			echo "charts: $script could not chart $log" >&2
			rc=1
		fi
	}
	_bench_chart "boot time, $arch" boot-plot.py "$dir/boot-time$suffix.svg"
	_bench_chart "memory outside guest RAM, $arch" mem-plot.py "$dir/mem-overhead-$arch.svg"
	_bench_chart "TCP through a TAP, $arch (direction | kvmm MB/s | QEMU MB/s | kvmm/QEMU | kvmm-mmio MB/s | kvmm/kvmm-mmio)" \
		net-plot.py "$dir/net-throughput$suffix.svg"
	_bench_chart "virtio-fs, $arch: reads through the same virtiofsd; VMM memory with virtio-fs" \
		fs-plot.py "$dir/fs-read$suffix.svg" "$dir/fs-mem-$arch.svg"
	_bench_chart "$arch: N VMs at once (launch to all up; the VMM processes' memory)" \
		density-plot.py "$dir/density-time$suffix.svg" "$dir/density-mem-$arch.svg"
	# hp-plot.py writes the disk's chart there and the other kinds' beside it.
	if [ "$arch" = x86_64 ]; then
		_bench_chart "hot-plug latency, $arch (request to the guest using the disk, NIC, vCPU, memory)" \
			hp-plot.py "$dir/hotplug-latency$suffix.svg"
	fi
	unset -f _bench_chart
	return $rc
}
