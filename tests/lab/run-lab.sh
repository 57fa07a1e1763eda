#!/usr/bin/env bash
# Runs the kvmm lab (x86_64 or aarch64): boots the guest-images guest with kvmm on a real KVM and checks
# the results (tests/lab/scenarios.sh). On a host with a usable /dev/kvm the scenarios run
# directly; otherwise they run inside an "L1" Linux booted under QEMU's software emulation
# (TCG; x86_64: -cpu max offers AMD SVM; aarch64: -M virt,virtualization=on gives EL2), which
# loads KVM and runs kvmm as a nested hypervisor.
#
# Usage: tests/lab/run-lab.sh [--demo] KVMM_BINARY [OUTDIR]
#   OUTDIR     default build/lab; gets lab-ARCH.log (the full L1 console) and the L1 initrd
#   --demo     boot the guest once with kvmm and show its whole console instead of testing
# Environment:
#   LAB_ARCH         x86_64 (default) or aarch64: the architecture of KVMM_BINARY and the lab
#   LAB_GIC          aarch64: the GIC version of the emulated L1 (3, the default, or 2)
#   KVMM_CACHE       cache (default ${XDG_CACHE_HOME:-$HOME/.cache}/kvmm): Debian packages,
#                    guest images, the L1 base initrd; rebuilt only when their inputs change
#   LAB_MODE         test (default) or bench: the side-by-side benchmarks instead of the tests
#                    (bench/run-lab.sh); the log is then bench-ARCH.log
#   LAB_ONLY         run only these scenarios (sh patterns, space-separated)
#   LAB_SKIP         do not run these scenarios (names; test-all.sh's second try after L1 died)
#   LAB_TRANSPORT    pci (default) or mmio: the virtio transport of every kvmm in the lab
#   LAB_REPEAT       run them this many times over in one L1 boot (hunting rare failures)
#   LAB_TIMEOUT, LAB_EXTRA_CMDLINE, LAB_BOOT_RUNS, LAB_DUMP_LINES, LAB_LIVE, LAB_NET_MB,
#   LAB_MEM_RUNS, LAB_MEM_SETTLE, LAB_MEM_BUDGET_KB, LAB_SOAK_RUNS, LAB_FS_VMM, LAB_FS_MB,
#   LAB_FS_CACHE, LAB_FS_TIMEOUT, LAB_FS_ROUNDS, LAB_FS_RUNS, LAB_HP_ROUNDS, LAB_HP_LOOP_SECS,
#   LAB_HP_WAIT, LAB_HP_NET_KB, LAB_HP_BENCH_RUNS, LAB_HP_QEMU_ACPI, LAB_SANDBOX_RUNS,
#   LAB_SANDBOX_DEBUG, LAB_STUDY_RUNS, LAB_STUDY_MB, LAB_STUDY_CHURN, LAB_DENSITY_N,
#   LAB_DENSITY_ROUNDS, LAB_DENSITY_WAIT, LAB_DENSITY_SERIES, LAB_SMOKE, ASAN_OPTIONS,
#   UBSAN_OPTIONS: passed on to
#                    scenarios.sh (see there and scenarios.d/; LAB_FS_VMM=qemu runs the
#                    virtio-fs scenarios against QEMU's vhost-user-fs)
#   LAB_VIRTIOFSD    on a KVM host: the virtio-fs back-end (/usr/lib/qemu/virtiofsd; L1 has
#                    its own copy there)
#   LAB_KVMM_B       a second kvmm binary (another build of the same arch): the boot-time
#                    benchmark boots it too, as series kvmm-b, in turn with the others
#   LAB_L1_TIMEOUT   seconds for the whole L1 boot (2400)
#   LAB_L1_TRACE     1: L1's KVM traces its entries, exits and injected events, and a failed
#                    scenario's last ones go into the log (a study of the guest's rare
#                    faults, scenarios.sh; not for CI runs)
#   LAB_L1_CPU       x86_64: L1's -cpu (max); LAB_L1_APPEND: more of L1's kernel command line;
#                    LAB_L1_QEMU: the program that emulates the x86_64 L1 (qemu-system-x86_64,
#                    the one L1 also gets as its own QEMU: another build or version goes only
#                    here) (all three for studies of L1's own failures: README.md)
#   LAB_L1_MEM       L1's memory (2G; the density benchmark with many VMs wants more)
#   LAB_L1_STALL     seconds of L1 console silence taken as a wedged L1 (300; an L1 soft
#                    lockup report counts at once): its registers
#                    are dumped (symbolized) into the log and L1 is ended
#   LAB_FORCE_L1=1   use L1 even if /dev/kvm is usable here
#   LAB_TINY_DIR     where the tiny*.elf test guests are (default: guest-images/ beside kvmm)
#   LAB_KVM_HOLD     the kvm-hold program (tests/lab/kvm-hold.c; default: tests/kvm-hold beside
#                    kvmm) that L1 runs for the whole lab so its kernel text is never patched
# Prints the LAB: lines, then "N passed, M failed"; exits 0 only when M is 0, N > 0 and the
# scenarios reached their end ("LAB: DONE").
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
. "$here/lib.sh"

demo=0
if [ "${1:-}" = --demo ]; then
	demo=1
	shift
fi
if [ $# -lt 1 ] || [ $# -gt 2 ]; then
	echo "usage: tests/lab/run-lab.sh [--demo] KVMM_BINARY [OUTDIR]" >&2
	exit 2
fi
kvmm=$1
outdir=${2:-$root/build/lab}
cache=${KVMM_CACHE:-${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/kvmm}
l1_timeout=${LAB_L1_TIMEOUT:-2400}
arch=${LAB_ARCH:-x86_64}
case $arch in
x86_64)
	console=ttyS0
	l1_kernel=vmlinuz
	# LAB_L1_CPU, LAB_L1_QEMU: another -cpu or QEMU for L1 (a study of L1's own failures,
	# tests/lab/README.md).
	l1_qemu=("${LAB_L1_QEMU:-qemu-system-x86_64}" -machine q35 -accel tcg -cpu "${LAB_L1_CPU:-max}" -m "${LAB_L1_MEM:-2G}" -smp 2)
	;;
aarch64)
	console=ttyAMA0
	l1_kernel=Image
	# pauth-impdef: the cheap pointer-authentication algorithm (~3x faster L1, kvm-lab notes).
	l1_qemu=(qemu-system-aarch64 -machine "virt,virtualization=on,gic-version=${LAB_GIC:-3}"
		-accel tcg -cpu max,pauth-impdef=on -m "${LAB_L1_MEM:-2G}" -smp 2)
	;;
*) lab_die "LAB_ARCH must be x86_64 or aarch64, not $arch" ;;
esac
mkdir -p "$outdir" "$cache"
outdir=$(cd "$outdir" && pwd)
if [ -f "$kvmm" ]; then
	kvmm="$(cd "$(dirname "$kvmm")" && pwd)/$(basename "$kvmm")"
else
	echo "run-lab: warning: kvmm binary $kvmm does not exist; its scenarios will fail" >&2
fi
lab_mode=${LAB_MODE:-test}
case $lab_mode in
test) log=$outdir/lab-$arch.log ;;
bench) log=$outdir/bench-$arch.log ;;
*) lab_die "LAB_MODE must be test or bench, not $lab_mode" ;;
esac
[ $demo = 0 ] || log=$outdir/demo-$arch.log
# --demo: what reaches the terminal (the log keeps everything as it came). Leaves out
# terminal control sequences (the L1 QEMU's firmware, SeaBIOS, resets the terminal and turns
# line wrap off: ESC c, ESC [?7l, ...) and other control characters; marks L1's lines "L1 | "
# and puts banners around the guest's console; notes where the XSAVE warning comes from.
# $1: l1 (the whole L1 console, with l1-init.sh's "LAB: INFO demo:"/"LAB: DEMO exit=" lines
# around the guest's) or guest (kvmm's stdout on a KVM host).
demo_console() {
	perl -e '
	$| = 1;
	my ($where, $tty, $log) = @ARGV;
	my $in = $where eq "guest";
	my $xsave = 0;
	print "run-lab: lines marked \"L1 | \" come from the emulated L1 host (its firmware, kernel",
	    " and init); terminal control codes are left out here, $log has everything\n" unless $in;
	while (my $l = <STDIN>) {
		my $raw = $l;
		$l =~ s/\e\[[0-?]*[ -\/]*[@-~]//g;		# CSI: ESC [?7l, ESC [2J, colours
		$l =~ s/\e\][^\a\e]*(?:\a|\e\\)?//g;	# OSC
		$l =~ s/\e[ -\/]*[0-~]//g;			# ESC c (reset), charsets, ...
		$l =~ s/[\x00-\x08\x0b-\x1f\x7f]//g;	# the rest but tab and newline
		next if $l eq "\n" && $raw ne "\n";	# a line of control codes only
		$l .= "\n" unless $l =~ /\n$/;
		if (!$in && $where eq "l1" && $l =~ /^LAB: INFO demo: (.*)/) {
			print "L1 | runs: $1\n----- kvmm guest console ($tty) begins -----\n";
			$in = 1;
			next;
		}
		if ($in && $where eq "l1" && $l =~ /^LAB: DEMO exit=(\d+)/) {
			print "----- kvmm guest console ($tty) ends: kvmm exit status $1 -----\n";
			$in = 0;
			next;
		}
		# The L1 KVM reports land in the middle of the guest console
		# ("kvm [120]: vcpu0, guest rIP: ... Unhandled WRMSR(0xc0010007)").
		$l = "L1 | $l" if !$in || $l =~ /^\[ *[0-9.]+\] (kvm \[\d+\]|kvm_amd|kvm_intel): /;
		print $l;
		if ($where eq "l1" && $in && !$xsave && $l =~ /XSAVE consistency problem/) {
			$xsave = 1;
			print "----- note: this XSAVE WARNING and its stack trace come from the emulated L1",
			    " (its KVM under QEMU TCG does not recompute the size in CPUID leaf 0xd for the",
			    " XCR0 the guest sets; QEMU with its own guest in the same L1 prints the same),",
			    " not from kvmm; harmless here: the guest falls back to FXSAVE -----\n";
		}
	}' "$1" "$console" "$log"
}
# The tiny test guests meson builds next to kvmm (guest-images/tiny), if any.
tiny=${LAB_TINY_DIR:-$(dirname "$kvmm")/guest-images}
ls "$tiny"/tiny*.elf >/dev/null 2>&1 || tiny=
kvm_hold=${LAB_KVM_HOLD:-$(dirname "$kvmm")/tests/kvm-hold}
t_start=$(date +%s)

# 1. The guest images (cached).
guest=$cache/guest-$arch
GUEST_ARCH=$arch timeout 900 "$root/guest-images/build.sh" "$guest"

# Prints the verdict from the log; returns 0 only for a complete run without failures.
summarize() {
	local passed failed done_line
	passed=$(grep -c 'LAB: PASS ' "$log" || true)
	failed=$(grep -c 'LAB: FAIL ' "$log" || true)
	done_line=$(grep -o 'LAB: DONE .*' "$log" | tail -n 1 || true)
	if [ -z "$done_line" ]; then
		echo "LAB: FAIL lab-done no 'LAB: DONE' line: the lab crashed or timed out ($1)"
		failed=$((failed + 1))
	fi
	echo "LAB: INFO lab total_s=$(($(date +%s) - t_start)) log=$log"
	echo "$passed passed, $failed failed"
	# A second try that skips what passed before (LAB_SKIP) may have nothing left to run.
	[ "$failed" -eq 0 ] && { [ "$passed" -gt 0 ] || [ -n "${LAB_SKIP:-}" ]; }
}

# 2a. A usable /dev/kvm here: run directly.
if [ "${LAB_FORCE_L1:-0}" != 1 ] && [ "$arch" = "$(uname -m)" ] && lab_host_kvm_boots "$guest"; then
	echo "run-lab: /dev/kvm here boots Linux (QEMU checked): running on the host"
	if [ $demo = 1 ]; then
		echo "run-lab: runs: $kvmm --kernel $guest/$l1_kernel --initramfs $guest/initramfs.cpio.gz" \
			"--cpus boot=2 --memory size=512M --cmdline 'console=$console panic=-1'"
		echo "----- kvmm guest console ($console) begins -----"
		set +e
		timeout 120 "$kvmm" --kernel "$guest/$l1_kernel" --initramfs "$guest/initramfs.cpio.gz" \
			--cpus boot=2 --memory size=512M --cmdline "console=$console panic=-1" </dev/null |
			demo_console guest
		rc=${PIPESTATUS[0]}
		set -e
		echo "----- kvmm guest console ($console) ends: kvmm exit status $rc -----"
		exit $rc
	fi
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	set +e
	KVMM=$kvmm LAB_ARCH=$arch LAB_IMAGES=$guest LAB_TMP=$tmp \
		LAB_QEMU=$(command -v "qemu-system-$arch" || echo "qemu-system-$arch") \
		LAB_BIOS=/usr/share/seabios/bios-256k.bin LAB_TINY=$tiny \
		LAB_TAP_EXEC=$(dirname "$kvm_hold")/tap-exec \
		LAB_KVMM_REMOTE=$(dirname "$kvmm")/kvmm-remote \
		LAB_VSOCK_CLIENT=$(dirname "$kvm_hold")/vsock-client \
		LAB_KATA_SANDBOX=$(dirname "$kvm_hold")/kata-sandbox \
		LAB_KVM_COST=$(dirname "$kvm_hold")/kvm-cost \
		LAB_VIRTIOFSD=${LAB_VIRTIOFSD:-/usr/lib/qemu/virtiofsd} \
		LAB_FS_TREE=$guest/debian/linux/lib/modules/$(cat "$guest/kernel-release")/kernel \
		timeout "$l1_timeout" sh "$here/scenarios.sh" 2>&1 | tee "$log" | grep --line-buffered -o 'LAB: .*'
	rc=${PIPESTATUS[0]}
	set -e
	summarize "scenarios.sh exit $rc"
	exit
fi

# 2b. No /dev/kvm: build the L1 initrd = base (cached) + guest images (cached) + this run.
if lab_have_kvm; then
	echo "run-lab: /dev/kvm here does not boot Linux even with QEMU: running the lab inside an L1 under QEMU TCG"
else
	echo "run-lab: no usable /dev/kvm here: running the lab inside an L1 under QEMU TCG"
fi
l1=$cache/l1-$arch
mkdir -p "$l1"
LAB_ARCH=$arch timeout 900 "$here/l1-initrd.sh" "$guest" "$l1/base.cpio.zst"

images=$l1/images.cpio.zst
if [ ! -s "$images" ] || [ "$(cat "$images.stamp" 2>/dev/null)" != "$(cat "$guest/.stamp")" ]; then
	echo "run-lab: packing the guest images for L1"
	rm -rf "$images.stage"
	mkdir -p "$images.stage/lab/images"
	for f in vmlinuz vmlinux Image initramfs.cpio.gz bad-kernels kernel-release \
		kata-image.raw kata-volume.img kata-volume.txt; do
		[ ! -e "$guest/$f" ] || cp -r "$guest/$f" "$images.stage/lab/images/"
	done
	lab_pack "$images.stage" "$images" zstd
	rm -rf "$images.stage"
	cp "$guest/.stamp" "$images.stamp"
fi

# The benchmarks' virtio-fs share (fs-read): the guest kernel's kernel/fs and kernel/net
# module trees as /lab/fs-tree (cached; appended to the initrd only for the benchmarks).
fs_tree=
if [ "$lab_mode" = bench ]; then
	fs_tree=$l1/fs-tree.cpio.zst
	if [ ! -s "$fs_tree" ] || [ "$(cat "$fs_tree.stamp" 2>/dev/null)" != "$(cat "$guest/.stamp")" ]; then
		echo "run-lab: packing the module trees for the virtio-fs benchmark"
		mods=$guest/debian/linux/lib/modules/$(cat "$guest/kernel-release")/kernel
		rm -rf "$fs_tree.stage"
		mkdir -p "$fs_tree.stage/lab/fs-tree"
		cp -R "$mods/fs" "$mods/net" "$fs_tree.stage/lab/fs-tree/"
		lab_pack "$fs_tree.stage" "$fs_tree" zstd
		rm -rf "$fs_tree.stage"
		cp "$guest/.stamp" "$fs_tree.stamp"
	fi
fi

stage=$outdir/.l1-run
rm -rf "$stage"
mkdir -p "$stage/lab"
cp "$here/l1-init.sh" "$stage/init"
chmod 0755 "$stage/init"
cp "$here/scenarios.sh" "$stage/lab/scenarios.sh"
[ -d "$here/scenarios.d" ] && cp -r "$here/scenarios.d" "$stage/lab/"
if [ -f "$kvmm" ]; then
	lab_copy_binary "$kvmm" "$stage" /lab/kvmm
fi
# A second build of kvmm beside the first, for the benchmarks that compare two (LAB_KVMM_B).
if [ -n "${LAB_KVMM_B:-}" ]; then
	[ -f "$LAB_KVMM_B" ] || lab_die "LAB_KVMM_B: no kvmm at $LAB_KVMM_B"
	lab_copy_binary "$LAB_KVMM_B" "$stage" /lab/kvmm-b
fi
# tap-exec (tests/lab/tap-exec.c) hands kvmm an open TAP fd, as Kata does.
if [ -x "$(dirname "$kvm_hold")/tap-exec" ]; then
	lab_copy_binary "$(dirname "$kvm_hold")/tap-exec" "$stage" /lab/tap-exec
fi
# vsock-client (tests/lab/vsock-client.c) talks to kvmm's hybrid vsock socket.
if [ -x "$(dirname "$kvm_hold")/vsock-client" ]; then
	lab_copy_binary "$(dirname "$kvm_hold")/vsock-client" "$stage" /lab/vsock-client
fi
# kata-sandbox (tests/lab/kata-sandbox.c) runs Kata's clh driver sequence.
if [ -x "$(dirname "$kvm_hold")/kata-sandbox" ]; then
	lab_copy_binary "$(dirname "$kvm_hold")/kata-sandbox" "$stage" /lab/kata-sandbox
fi
# kvm-cost (tests/lab/kvm-cost.c) times KVM's own VM creation and destruction.
if [ -x "$(dirname "$kvm_hold")/kvm-cost" ]; then
	lab_copy_binary "$(dirname "$kvm_hold")/kvm-cost" "$stage" /lab/kvm-cost
fi
# kvmm-remote, the API client, is built beside kvmm.
if [ -x "$(dirname "$kvmm")/kvmm-remote" ]; then
	lab_copy_binary "$(dirname "$kvmm")/kvmm-remote" "$stage" /lab/kvmm-remote
fi
if [ -x "$kvm_hold" ]; then
	lab_copy_binary "$kvm_hold" "$stage" /lab/kvm-hold
else
	echo "run-lab: warning: no kvm-hold program at $kvm_hold: L1 may wedge (see kvm-hold.c)" >&2
fi
if [ -n "$tiny" ]; then
	mkdir -p "$stage/lab/tiny"
	cp "$tiny"/tiny*.elf "$stage/lab/tiny/"
fi
# Settings for the scenarios inside L1 (sourced by the L1 init).
{
echo "export LAB_ARCH=$arch"
for v in LAB_MODE LAB_ONLY LAB_SKIP LAB_REPEAT LAB_TIMEOUT LAB_EXTRA_CMDLINE LAB_BOOT_RUNS LAB_DUMP_LINES LAB_LIVE \
	LAB_NET_MB LAB_MEM_RUNS LAB_MEM_SETTLE LAB_MEM_BUDGET_KB LAB_GIC LAB_SOAK_RUNS LAB_TRANSPORT \
	LAB_HOSTILE_SEED LAB_HOSTILE_SECS LAB_FS_VMM LAB_FS_MB LAB_FS_CACHE LAB_FS_TIMEOUT \
	LAB_FS_ROUNDS LAB_FS_RUNS LAB_HP_ROUNDS LAB_HP_LOOP_SECS LAB_HP_WAIT LAB_HP_NET_KB \
	LAB_HP_BENCH_RUNS LAB_HP_QEMU_ACPI LAB_SANDBOX_RUNS LAB_SANDBOX_DEBUG LAB_STUDY_RUNS LAB_STUDY_MB LAB_STUDY_CHURN \
	LAB_DENSITY_N LAB_DENSITY_ROUNDS LAB_DENSITY_WAIT LAB_DENSITY_SERIES LAB_SMOKE LAB_L1_TRACE \
	ASAN_OPTIONS UBSAN_OPTIONS; do
	if [ -n "${!v:-}" ]; then printf 'export %s=%q\n' "$v" "${!v}"; fi
done
} >"$stage/lab/env"
lab_pack "$stage" "$outdir/l1-run.cpio.gz" gzip
rm -rf "$stage"
cat "$l1/base.cpio.zst" "$images" ${fs_tree:+"$fs_tree"} "$outdir/l1-run.cpio.gz" >"$outdir/l1-initrd.img"

if [ $demo = 1 ]; then mode=demo; else mode=scenarios; fi
echo "run-lab: booting L1 (timeout ${l1_timeout}s, mode $mode, $lab_mode); console in $log"
mon=$outdir/l1-monitor.sock
stall_file=$outdir/l1-stall.txt
reset_file=$outdir/l1-reset.txt
qemu_log=$outdir/l1-qemu.log
rm -f "$mon" "$stall_file" "$reset_file" "$qemu_log"
: >"$log"
# A watchdog over the L1 QEMU's monitor, polled every 2 s:
# - L1 runs with -action shutdown=pause (and -no-reboot), so its power-off and any reset it
#   did not ask for (a triple fault) pause it instead of ending QEMU. Paused after its init's
#   last lines, L1 ended normally and QEMU is told to quit; paused before them, L1 reset
#   itself mid-run: its registers at that moment (the faulting state, symbolized below) are
#   kept in l1-reset.txt first. Without this such an L1 just vanished ("QEMU exit 0").
# - When the L1 console stays silent for LAB_L1_STALL seconds (L1 wedged: seen a few times
#   with both L1 vCPUs spinning), it dumps L1's registers the same way and ends QEMU instead
#   of waiting out the timeout.
l1_ended_normally() {
	grep -q -E 'LAB: (DONE|DEMO exit=)|LAB: INFO (l1-health|scenarios.sh exit)' "$log"
}
l1_watchdog() {
	local stall=${LAB_L1_STALL:-300} last=-1 since size st
	since=$(date +%s)
	while sleep 2; do
		[ -S "$mon" ] || continue
		st=$(timeout 10 python3 "$here/l1-monitor.py" status "$mon" 2>/dev/null || true)
		case $st in
		*"paused (shutdown)"*)
			sleep 1	# the console's last bytes, still in the pipe
			if ! l1_ended_normally; then
				timeout 30 python3 "$here/l1-monitor.py" dump "$mon" >"$reset_file" 2>&1 || true
			fi
			timeout 10 python3 "$here/l1-monitor.py" quit "$mon" >/dev/null 2>&1 || true
			return
			;;
		esac
		size=$(wc -c <"$log")
		if [ "$size" != "$last" ]; then
			last=$size
			since=$(date +%s)
		fi
		# L1's own lockup detector firing is a wedge too, though it
		# keeps the console busy.
		if grep -q 'watchdog: BUG: soft lockup' "$log"; then
			since=0
		fi
		if [ $(($(date +%s) - since)) -ge "$stall" ]; then
			timeout 30 python3 "$here/l1-monitor.py" dump "$mon" >"$stall_file" 2>&1 || true
			echo "(console silent for ${stall}s, or L1 reported a soft lockup)" >>"$stall_file"
			timeout 10 python3 "$here/l1-monitor.py" quit "$mon" >/dev/null 2>&1 || true
			return
		fi
	done
}
l1_watchdog &
watchdog=$!
set +e
timeout "$l1_timeout" "${l1_qemu[@]}" \
	-nographic -no-reboot -action shutdown=pause -d cpu_reset -D "$qemu_log" \
	-nodefaults -serial stdio -nic none -monitor "unix:$mon,server=on,wait=off" \
	-kernel "$guest/$l1_kernel" -initrd "$outdir/l1-initrd.img" \
	-append "console=$console panic=-1 quiet nokaslr kvmm.lab=$mode${LAB_L1_APPEND:+ $LAB_L1_APPEND}" </dev/null 2>&1 |
	sed -u 's/\r//g' | tee "$log" |
	if [ $demo = 1 ]; then demo_console l1; else grep --line-buffered -o 'LAB: .*'; fi
rc=${PIPESTATUS[0]}
set -e
kill "$watchdog" 2>/dev/null || true
wait "$watchdog" 2>/dev/null || true
rm -f "$mon"
# L1's text symbols, to name the functions its vCPUs were in when it wedged or reset: taken
# once per kernel from an L1 boot in kallsyms mode (the same with nokaslr) and cached. Prints
# the file's path.
l1_kallsyms() {
	local syms
	syms=$l1/kallsyms-$(cat "$guest/kernel-release")
	if [ ! -s "$syms" ]; then
		echo "run-lab: booting L1 once more to read its kallsyms" >&2
		timeout 180 "${l1_qemu[@]}" \
			-nographic -no-reboot -nodefaults -serial stdio -nic none \
			-kernel "$guest/$l1_kernel" -initrd "$outdir/l1-initrd.img" \
			-append "console=$console panic=-1 quiet nokaslr kvmm.lab=kallsyms" </dev/null 2>/dev/null |
			sed -n '/^KALLSYMS-BEGIN/,/^KALLSYMS-END/p' | sed '1d;$d' | tr -d '\r' |
			base64 -d 2>/dev/null | gzip -dc >"$syms.tmp" 2>/dev/null || true
		if [ -s "$syms.tmp" ]; then mv "$syms.tmp" "$syms"; else rm -f "$syms.tmp"; fi
	fi
	echo "$syms"
}
if [ "$rc" = 124 ]; then why="L1 timed out after ${l1_timeout}s"; else why="L1 QEMU exit $rc"; fi
# L1's own kernel failing (seen once: "BUG: scheduling while atomic" in NMI context on a vCPU
# thread, under QEMU's emulation of SVM) ends L1 through panic=-1 before the scenarios do.
crash=$(grep -a -m 1 -E '^\[ *[0-9]+\.[0-9]+\] (BUG:|Oops|Kernel panic|general protection fault)' "$log" || true)
if [ -n "$crash" ] && ! grep -q 'LAB: DONE' "$log"; then
	why="L1 kernel crashed: $crash"
	echo "LAB: INFO l1-crash $crash"
	# The form the traces show when they keep their first frame (x86_64): an interrupt taken in
	# kvm_amd's __svm_vcpu_run, which runs with GIF=0, right after VMRUN returned while GS
	# still has the guest's base; the entry's per-CPU read faults, and so does the fault's,
	# until the stack runs out (README.md).
	svm=$(grep -a -m 1 -o '__svm_vcpu_run+0x[0-9a-f]*' "$log" || true)
	if [ -n "$svm" ] && grep -aq 'stack guard page was hit' "$log"; then
		echo "LAB: INFO l1-crash stack overrun with $svm (kvm_amd) in the trace: an interrupt taken where GIF=0 must hold it, the emulated CPU's fault (tests/lab/README.md)"
	fi
elif [ -s "$reset_file" ]; then
	# L1 reset itself before its init was done: x86_64 QEMU logs the triple fault.
	if grep -q 'Triple fault' "$qemu_log" 2>/dev/null; then
		why="L1 triple-faulted (QEMU logged it; no panic or oops on L1's console first)"
	else
		why="L1 reset itself mid-run (no panic or oops on L1's console first)"
	fi
	echo "LAB: INFO l1-crash $why; its registers then are in $reset_file"
	python3 "$here/l1-monitor.py" symbolize "$reset_file" "$(l1_kallsyms)" 2>&1 |
		sed 's/^/LAB: INFO l1-reset /' | tee -a "$log"
fi
if ! l1_ended_normally; then
	# What L1's kernel said last (errors and up: it runs with quiet), the scenarios' lines aside.
	grep -a -v 'LAB: ' "$log" | grep -a -E '^\[ *[0-9]+\.[0-9]+\]' | tail -n 20 | sed 's/^/LAB: INFO l1-console /'
fi
if [ -s "$stall_file" ]; then
	why="L1 stalled: no console output for ${LAB_L1_STALL:-300}s"
	sed 's/^/  | l1: /' "$stall_file" >>"$log"
	python3 "$here/l1-monitor.py" symbolize "$stall_file" "$(l1_kallsyms)" 2>&1 |
		sed 's/^/LAB: INFO l1-stall /' | tee -a "$log"
fi

if [ $demo = 1 ]; then
	d=$(grep -o 'LAB: DEMO exit=[0-9]*' "$log" | tail -n 1 || true)
	echo "run-lab: ${d:-no demo result: $why}"
	if grep -q 'KVMM-GUEST-UP' "$log"; then
		echo "run-lab: the guest's init reported: $(grep -o 'KVMM-GUEST-UP.*' "$log" | head -n 1)"
	else
		echo "run-lab: warning: no KVMM-GUEST-UP line from the guest's init on the console"
	fi
	[ "${d#LAB: DEMO exit=}" = 0 ]
	exit
fi
summarize "$why"
