# The boot-path scenarios (sourced by scenarios.sh, which registers them first; POSIX sh):
# the kernels kvmm boots and how the VM ends. bzimage-1cpu / image-1cpu / pvh-elf with the plain
# command line, smp-2cpu and mem-1g on two vCPUs, reboot-code, the refused kernels and
# arguments, and on x86_64 the tiny guests (one reset path or exit each). Helpers (boot_check,
# expect_refused, kvmm_boot, ...) are in scenarios.sh.

# The boot paths with the plain command line: the bzImage (x86_64) or Image (aarch64) and the
# PVH ELF, 1 vCPU and 512 MiB, ending with the guest's `poweroff -f` (exit 0).
sc_bzimage_1cpu() {
	boot_check bzimage-1cpu 1 512 --kernel "$BOOT_KERNEL" --initramfs "$INITRAMFS" \
		--cpus boot=1 --memory size=512M --cmdline "$BASE_CMDLINE kvmm.test=poweroff"
}

# image-1cpu: the arm64 Image to the marker, and (kvmm -v names it) the GIC kvmm created: the
# v3 when L1 has one, the v2 fallback in an L1 with a GICv2 (LAB_GIC=2).
sc_image_1cpu() {
	_before=$FAILED
	boot_check image-1cpu-boot 1 512 --kernel "$BOOT_KERNEL" --initramfs "$INITRAMFS" \
		--cpus boot=1 --memory size=512M --cmdline "$BASE_CMDLINE kvmm.test=poweroff" -v
	[ "$FAILED" = "$_before" ] || return 0
	_gic=$(grep 'kernel: Image at' "$ERR" | grep -o 'GICv[0-9]' | head -n 1)
	# With a GICv3 kvmm adds its ITS and puts the devices on PCI; with a GICv2 there is no
	# ITS, and it must say that it chose virtio-mmio for that reason.
	if [ "${LAB_GIC:-3}" = 2 ]; then
		grep -q 'virtio devices on virtio-mmio: no GICv3 ITS' "$ERR" && _why=virtio-mmio ||
			_why="no 'virtio devices on virtio-mmio' line"
	else
		grep 'kernel: Image at' "$ERR" | grep -q 'with ITS' && _why="an ITS, virtio-pci" ||
			_why="no ITS"
	fi
	if [ -z "$_gic" ] || [ "$_gic" != "GICv${LAB_GIC:-3}" ]; then
		fail image-1cpu-gic "want GICv${LAB_GIC:-3} in kvmm's log, got '${_gic}'"
	elif [ "${_why#no }" != "$_why" ]; then
		fail image-1cpu-gic "kvmm created a $_gic but: $_why"
	else
		pass image-1cpu-gic "kvmm created a $_gic (L1's GIC is v${LAB_GIC:-3}) with $_why"
	fi
}

sc_pvh_elf() {
	boot_check pvh-elf 1 512 --kernel "$LAB_IMAGES/vmlinux" --initramfs "$INITRAMFS" \
		--cpus boot=1 --memory size=512M --cmdline "$BASE_CMDLINE"
}

# smp-2cpu: the bzImage (Image) on two vCPUs; mem-1g: the PVH vmlinux on x86_64 (the Image
# on aarch64) on two vCPUs and 1 GiB; both with the command line kvmm is meant to be run with.
sc_smp_2cpu() {
	boot_check smp-2cpu 2 512 --kernel "$BOOT_KERNEL" --initramfs "$INITRAMFS" \
		--cpus boot=2 --memory size=512M --cmdline "$CMDLINE"
}
sc_mem_1g() {
	boot_check mem-1g 2 1024 --kernel "$KERNEL" --initramfs "$INITRAMFS" --cpus boot=2 \
		--memory size=1G --cmdline "$CMDLINE"
}

# The guest's `reboot -f` ends kvmm with the documented code 3 (no reboot loop). The tiny
# guests (x86_64) check each reset mechanism on its own: the FADT reset register, the i8042,
# a triple fault.
sc_reboot_code() {
	kvmm_boot reboot-code --kernel "$KERNEL" --initramfs "$INITRAMFS" \
		--cmdline "$CMDLINE kvmm.test=reboot" || true
	if [ -z "$MARKER" ] || [ "$RC" != 3 ] || [ "$TIMED_OUT" = 1 ]; then
		fail reboot-code "want the marker, then exit 3: $(last_run)"
		dump_last
	else
		pass reboot-code "exit=$RC run_ms=$RUN_MS"
	fi
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
		# Only the triple fault is logged as one (a warning); orderly resets are not.
		_tf=0
		grep -q 'triple fault' "$ERR" && _tf=1
		if ! grep -q TINY-OK "$OUT" || grep -q TINY-FAIL "$OUT" || [ "$RC" != "$_want" ] ||
			[ "$TIMED_OUT" = 1 ]; then
			fail "$_n" "want TINY-OK and exit $_want: $(last_run) out: $(head -c 80 "$OUT" | tr '\n' ' ')"
			dump_last
		elif [ $_tf != "$([ "$_n" = tiny-triple ] && echo 1 || echo 0)" ]; then
			fail "$_n" "kvmm's log names a triple fault: $_tf (want 1 for tiny-triple only): $(last_run)"
			dump_last
		else
			pass "$_n" "TINY-OK exit=$RC run_ms=$RUN_MS"
		fi
	done
}


# boot-timer: the guest's init writes the boot timer's marker (devices/boot_timer.h) just before
# its KVMM-GUEST-UP line; kvmm -v must log where the time went: its own set-up (process start
# to the first KVM_RUN) and the guest's part (to the marker), both non-zero, adding up to the
# total, which cannot exceed the time until the host read the marker line; its set-up's seven
# steps adding up to the set-up; and at the end its teardown, which fits in the run, with its
# five steps adding up to it.
sc_boot_timer() {
	kvmm_boot boot-timer --kernel "$BOOT_KERNEL" --initramfs "$INITRAMFS" --cpus boot=1 \
		--memory size=512M --cmdline "$BASE_CMDLINE kvmm.test=poweroff" -v || true
	_l=$(grep -o 'boot-timer: .*' "$ERR" | head -n 1)
	_t=$(echo "$_l" | sed -n 's/.*marker \([0-9.]*\) ms after.*/\1/p')
	_s=$(echo "$_l" | sed -n 's/.*set-up \([0-9.]*\) ms,.*/\1/p')
	_g=$(echo "$_l" | sed -n 's/.*guest \([0-9.]*\) ms$/\1/p')
	_d=$(sed -n 's/.*teardown: .* freed \([0-9.]*\) ms after.*/\1/p' "$ERR" | head -n 1)
	_split=$(boot_split "$ERR")
	_steps=$(echo "$_split" | sed -n 's/.*teardown_steps=\([0-9./]*\).*/\1/p')
	_ssteps=$(echo "$_split" | sed -n 's/.*setup_steps=\([0-9./]*\).*/\1/p')
	if [ -z "$MARKER" ] || [ "$RC" != 0 ] || [ -z "$_t" ] || [ -z "$_s" ] || [ -z "$_g" ] ||
		[ -z "$_d" ]; then
		fail boot-timer "want the marker, exit 0, kvmm's boot-timer line with its split and its teardown line, got '$_l', teardown '${_d}': $(last_run)"
		dump_last
		return 0
	fi
	_why=$(awk -v t="$_t" -v s="$_s" -v g="$_g" -v m="$MARK_MS" -v d="$_d" -v r="$RUN_MS" 'BEGIN {
		if (s <= 0 || g <= 0) print "a part is zero"
		else if (s + g - t > 0.0015 || t - s - g > 0.0015) print "the parts do not add up"
		else if (t > m) print "the total is longer than the host waited for the marker line"
		else if (d <= 0 || t + d > r) print "the teardown is zero or does not fit in the run"
	}')
	# The teardown's five steps (devices/boot_timer.h) add up to it.
	if [ -z "$_why" ]; then
		_why=$(echo "$_steps" | awk -F/ -v d="$_d" '{
			if (NF != 5) { print "no split of the teardown into its five steps"; exit }
			s = $1 + $2 + $3 + $4 + $5
			if (s - d > 0.0055 || d - s > 0.0055) print "the teardown steps add up to " s " ms, not " d
		}')
	fi
	# The set-up's seven steps add up to it (each truncated to the microsecond on its own).
	if [ -z "$_why" ]; then
		_why=$(echo "$_ssteps" | awk -F/ -v u="$_s" '{
			if (NF != 7) { print "no split of the set-up into its seven steps"; exit }
			s = $1 + $2 + $3 + $4 + $5 + $6 + $7
			if (s - u > 0.0075 || u - s > 0.0075) print "the set-up steps add up to " s " ms, not " u
		}')
	fi
	if [ -n "$_why" ]; then
		fail boot-timer "$_why: '$_l', marker line at ${MARK_MS} ms"
		return 0
	fi
	pass boot-timer "kvmm set-up ${_s} ms + guest ${_g} ms = ${_t} ms; the host read the marker line at ${MARK_MS} ms; set-up steps (process/KVM/RAM/vCPUs/devices/payload/start) ${_ssteps} ms; teardown ${_d} ms of a ${RUN_MS} ms run (stop noticed/vCPUs/devices/VM/RAM ${_steps} ms)"
}

# vcpu-dump: SIGUSR2 to a running kvmm (2 vCPUs, the guest idle in kvmm.test=hang) makes each
# vCPU log its registers, run state and exits so far, and nothing else: the guest keeps
# running, and SIGTERM then ends kvmm with exit 0. (The API server's path, with the VM
# paused: api-lifecycle.)
sc_vcpu_dump() {
	mem_start vcpu-dump "$KVMM" --kernel "$KERNEL" --initramfs "$INITRAMFS" --cpus boot=2 \
		--memory size=256M --cmdline "$CMDLINE kvmm.test=hang"
	if ! mem_wait "$LAB_TIMEOUT"; then
		mem_stop "$MEM_P"
		fail vcpu-dump "no marker from the guest (stop=$MEM_STOP exit=$MEM_RC)"
		dump_last
		return 0
	fi
	kill -USR2 "$MEM_P"
	_vd_ok=0
	vcpu_dump_wait "$ERR" 2 || _vd_ok=$?
	sleep 1
	_vd_alive=0
	mem_alive "$MEM_P" && _vd_alive=1
	# (mem_stop gives an ASan kvmm 60 s to exit: its LeakSanitizer scan.)
	now_ms
	_vd_t=$NOW_MS
	mem_stop "$MEM_P"
	now_ms
	_vd_t=$((NOW_MS - _vd_t))
	if [ "$_vd_ok" != 0 ] || [ "$VD_N" != 2 ]; then
		fail vcpu-dump "want both vCPUs' state (a pc and a run state each) within 5 s of SIGUSR2: $VD_N answers, pc '${VD_PC}', states '${VD_MP}'"
		dump_last
	elif [ "$_vd_alive" != 1 ] || [ "$MEM_STOP" != term ] || [ "$MEM_RC" != 0 ]; then
		fail vcpu-dump "want kvmm running after SIGUSR2 and exit 0 on SIGTERM: running=$_vd_alive stop=$MEM_STOP exit=$MEM_RC after ${_vd_t} ms"
		dump_last
	else
		pass vcpu-dump "SIGUSR2: both vCPUs logged their state (vcpu0 at $VD_PC; run states $VD_MP) and the guest ran on; SIGTERM: exit 0 after ${_vd_t} ms"
	fi
}
