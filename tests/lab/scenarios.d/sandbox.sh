# Lab scenario: a whole Kata sandbox on kvmm (sourced by scenarios.sh; POSIX sh; uses the
# helpers of virtio-fs.sh and memory.sh).
#   kata-sandbox   (test) tests/lab/kata-sandbox drives kvmm exactly as Kata's clh driver does
#                  (launch, vmm.ping every 10 ms, vm.create with the VmConfig of a default
#                  sandbox, vm.info Created, vm.add-net with a TAP fd, vm.boot, vm.info
#                  Running), reaches the guest's agent stand-in (guest-images/tools/
#                  kata-agent.c, the image's /sbin/init) through the hybrid vsock on port 1024,
#                  has it mount the kataShared virtio-fs share (Debian's virtiofsd) and run a
#                  container (busybox, chrooted into a rootfs this scenario put in the share)
#                  whose output comes back over vsock; then, as for a second container with
#                  limits and a volume: vm.resize vCPUs and RAM (the agent onlines them),
#                  vm.add-disk (the agent finds the disk by the PCI path of the answer's bdf,
#                  mounts it in the container, which reads a file of it), vm.remove-device;
#                  finally vmm.shutdown, the process gone within 3 s. On aarch64, where kvmm
#                  documents hot-plug as unsupported (docs/hotplug.md), the resize and add-disk
#                  calls must instead each be a 400 with its reason and the sandbox runs on.
#                  Reports launch -> the agent's first answer and the whole sequence, and
#                  (kata-sandbox-qemu) QEMU booting the same kernel, initramfs and image to the
#                  same agent answer (vhost-vsock-pci, AF_VSOCK) in the same L1 boot.
# The guest boots as Kata's does, from a partitioned image with an ext4 root (kata-image.raw,
# guest-images/build.sh) with Kata's root=/dev/vda1 ... ro command line; one difference:
# Debian's kernel has virtio-pci, virtio-blk and vsock as modules, so the lab's initramfs loads
# them and switches to the root (Kata's guest kernel has them built in and boots with no
# initramfs).
#   LAB_SANDBOX_RUNS   rounds (1), each running kvmm's sandbox and QEMU's boot once
#   LAB_SANDBOX_DEBUG  1: Kata's debug mode (kvmm -v, serial Tty, console=ttyS0/ttyAMA0)

SB_RUNS=${LAB_SANDBOX_RUNS:-1}

# sb_rootfs DIR MSG: a container rootfs (a static busybox, /bin/entry, /etc/kata-msg).
sb_rootfs() {
	_bb=$LAB_IMAGES/debian/busybox/bin/busybox	# on a KVM host; L1's /bin/busybox is it
	[ -x "$_bb" ] || _bb=/bin/busybox
	mkdir -p "$1/bin" "$1/etc" "$1/vol" "$1/proc" "$1/tmp"
	cp "$_bb" "$1/bin/busybox"
	ln -sf busybox "$1/bin/sh"
	echo "$2" >"$1/etc/kata-msg"
	cat >"$1/bin/entry" <<'EOF'
#!/bin/sh
# The lab's container: "msg" prints /etc/kata-msg, "vol" the file of the block volume.
case $1 in
msg) read -r m </etc/kata-msg && echo "container:$m" ;;
vol) read -r l </vol/hello.txt && echo "$l" ;;
*) echo "entry: msg or vol" >&2; exit 2 ;;
esac
EOF
	chmod 0755 "$1/bin/entry"
}

# kata_vmconfig FILE CMDLINE SERIAL_MODE VSOCK_SOCKET FS_SOCKET [DISKS]: the VmConfig Kata's
# clh driver sends for a default sandbox (kata-contract.md: 2 GiB of shared memory, room for
# all of the host's RAM, max_vcpus all its CPUs, two PCI segments, kataShared on segment 1,
# vsock, rng, every default field its generated client fills in), with the lab's kernel and
# initramfs; DISKS, when given, is the JSON array of disks[] (the guest image). Also used by
# virtio-fs.sh's fs-kata.
kata_vmconfig() {
	_cpus=$(nproc)
	_hot=$(($(awk '/^MemTotal:/ { print $2 }' /proc/meminfo) / 1024 * 1048576))	# host RAM, MiB
	_disks=
	[ -z "${6:-}" ] || _disks="
 \"disks\": $6,"
	cat >"$1" <<EOF
{"payload": {"kernel": "$KERNEL", "initramfs": "$INITRAMFS", "cmdline": "$2"},
 "platform": {"num_pci_segments": 2, "tdx": false, "sev_snp": false, "iommufd": false,
  "vfio_p2p_dma": true},
 "memory": {"size": 2147483648, "hotplug_size": $_hot, "mergeable": false,
  "hotplug_method": "Acpi", "shared": true, "hugepages": false, "prefault": false,
  "reserve": false, "thp": true},
 "cpus": {"boot_vcpus": 1, "max_vcpus": $_cpus, "kvm_hyperv": false, "nested": true,
  "topology": {"threads_per_core": 1, "cores_per_die": $_cpus, "dies_per_package": 1,
   "packages": 1}},$_disks
 "rng": {"src": "/dev/urandom", "iommu": false},
 "serial": {"mode": "$3", "iommu": false}, "console": {"mode": "Off", "iommu": false},
 "vsock": {"cid": 3, "socket": "$4", "iommu": false},
 "fs": [{"tag": "kataShared", "socket": "$5", "num_queues": 1, "queue_size": 1024,
  "pci_segment": 1}],
 "iommu": false, "watchdog": false, "pvpanic": false, "landlock_enable": false}
EOF
}

# sb_config FILE SHARE_SOCKET VSOCK_SOCKET CMDLINE: kata_vmconfig with the Kata-like image as
# the read-only Raw disk, serial Off (Tty in debug mode).
sb_config() {
	_serial=Off
	[ "${LAB_SANDBOX_DEBUG:-0}" != 1 ] || _serial=Tty
	kata_vmconfig "$1" "$4" "$_serial" "$3" "$2" "[{\"path\": \"$LAB_IMAGES/kata-image.raw\",
  \"readonly\": true, \"image_type\": \"Raw\", \"direct\": false, \"iommu\": false,
  \"num_queues\": 1, \"queue_size\": 128, \"vhost_user\": false}]"
}

# The kernel command line clh.go builds: the image's root parameters, clhKernelParams, quiet
# (or the serial console in debug mode).
sb_cmdline() {
	_c="root=/dev/vda1 rootflags=data=ordered,errors=remount-ro ro rootfstype=ext4"
	_c="$_c panic=1 no_timer_check noreplace-smp"
	if [ "${LAB_SANDBOX_DEBUG:-0}" = 1 ]; then
		_c="$_c console=$CONSOLE,115200n8"
	else
		_c="$_c quiet"
	fi
	echo "$_c systemd.unit=kata-containers.target${LAB_EXTRA_CMDLINE:+ $LAB_EXTRA_CMDLINE}"
}

# sb_kvmm ROUND: one sandbox on kvmm. SB_AGENT, SB_TOTAL (ms) or SB_WHY.
sb_kvmm() {
	_d=$LAB_TMP/sandbox
	rm -rf "$_d"
	mkdir -p "$_d/share"
	_msg="hello-$1-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')"
	sb_rootfs "$_d/share/c1/rootfs" "$_msg"
	SB_WHY=
	FS_WHY=
	fs_vfsd_start kata-sandbox "$_d/virtiofsd.sock" "$_d/share" ||
		{ SB_WHY=$FS_WHY; return 1; }
	sb_config "$_d/vm.json" "$_d/virtiofsd.sock" "$_d/vsock.sock" "$(sb_cmdline)"
	_opts=
	[ "${LAB_SANDBOX_DEBUG:-0}" != 1 ] || _opts=--debug
	if [ "$LAB_ARCH" = aarch64 ]; then
		_opts="$_opts --refused"
	else
		[ "$(nproc)" -lt 2 ] || _opts="$_opts --resize-cpus 2"
		_opts="$_opts --resize-ram $(((2048 + 128) * 1048576))"
	fi
	# shellcheck disable=SC2086 # the options are words
	set -- $_opts
	_rc=0
	timeout -s KILL 240 "$LAB_KATA_SANDBOX" kvmm --vmm "$KVMM" --api-socket "$_d/api.sock" \
		--config "$_d/vm.json" --log "$_d/kvmm.log" --tap katatap0 --vsock "$_d/vsock.sock" \
		--share "$_d/share" --container c1 --volume "$LAB_IMAGES/kata-volume.img" \
		--volume-text "$LAB_IMAGES/kata-volume.txt" "$@" >"$_d/driver.out" 2>&1 || _rc=$?
	fs_vfsd_stop
	sed 's/^/  | /' "$_d/driver.out"
	SB_AGENT=$(sed -n 's/^kata-sandbox: PASS .*agent_ms=\([0-9]*\).*/\1/p' "$_d/driver.out")
	SB_TOTAL=$(sed -n 's/^kata-sandbox: PASS total_ms=\([0-9]*\).*/\1/p' "$_d/driver.out")
	if [ "$_rc" != 0 ] || [ -z "$SB_TOTAL" ]; then
		SB_WHY=$(grep -o 'kata-sandbox: FAIL.*' "$_d/driver.out" | head -n 1)
		SB_WHY=${SB_WHY:-"kata-sandbox exit $_rc"}
		tail -n 25 "$_d/kvmm.log" | sed 's/^/  | kvmm: /'
		tail -n 5 "$FS_VLOG" | sed 's/^/  | virtiofsd: /'
		return 1
	fi
}

# sb_qemu: QEMU boots the same kernel, initramfs and image to the same agent answer, with the
# devices of kvmm's sandbox as Kata's QEMU has them: the read-only image on virtio-blk, a
# virtio-net on a TAP, vhost-vsock-pci CID 3 (the kernel's vsock; QEMU has no hybrid one),
# virtio-rng, virtio-fs on the same virtiofsd, 2 GiB of shared memfd RAM, one vCPU, the same
# command line. SB_QAGENT (ms) or SB_WHY.
sb_qemu() {
	_d=$LAB_TMP/sandbox-qemu
	rm -rf "$_d"
	mkdir -p "$_d/share"
	case $LAB_ARCH in
	x86_64) _m="-M q35,memory-backend=mem${LAB_BIOS:+ -bios $LAB_BIOS}" ;;
	*) _m="-M virt,gic-version=host,memory-backend=mem" ;;
	esac
	SB_WHY=
	[ -c /dev/vhost-vsock ] || { SB_WHY="no /dev/vhost-vsock (module vhost_vsock)"; return 1; }
	FS_WHY=
	fs_vfsd_start kata-sandbox-qemu "$_d/virtiofsd.sock" "$_d/share" ||
		{ SB_WHY=$FS_WHY; return 1; }
	_rc=0
	# shellcheck disable=SC2086 # the machine options are words
	KATA_SANDBOX_QEMU_LOG=$_d/qemu.log timeout -s KILL 240 "$LAB_KATA_SANDBOX" qemu 3 1024 120 -- \
		"$LAB_QEMU" $_m -nodefaults -no-user-config -enable-kvm -cpu host -smp 1 -m 2048M \
		-object memory-backend-memfd,id=mem,size=2048M,share=on \
		-display none -serial "file:$_d/qemu-serial.log" -no-reboot \
		-drive "file=$LAB_IMAGES/kata-image.raw,if=none,id=root,format=raw,readonly=on" \
		-device virtio-blk-pci,drive=root,romfile= \
		-netdev tap,id=n0,ifname=katatap1,script=no,downscript=no \
		-device virtio-net-pci,netdev=n0,mac=52:54:00:4b:41:11,romfile= \
		-device vhost-vsock-pci,guest-cid=3,romfile= \
		-object rng-random,id=rng0,filename=/dev/urandom -device virtio-rng-pci,rng=rng0,romfile= \
		-chardev "socket,id=fs0,path=$_d/virtiofsd.sock" \
		-device vhost-user-fs-pci,chardev=fs0,tag=kataShared,queue-size=1024,romfile= \
		-kernel "$KERNEL" -initrd "$INITRAMFS" -append "$(sb_cmdline)" >"$_d/qemu-driver.out" 2>&1 || _rc=$?
	fs_vfsd_stop
	sed 's/^/  | /' "$_d/qemu-driver.out"
	SB_QAGENT=$(sed -n 's/^kata-sandbox: PASS agent_ms=\([0-9]*\).*/\1/p' "$_d/qemu-driver.out")
	if [ "$_rc" != 0 ] || [ -z "$SB_QAGENT" ]; then
		SB_WHY=$(grep -o 'kata-sandbox: FAIL.*' "$_d/qemu-driver.out" | head -n 1)
		SB_WHY="${SB_WHY:-"exit $_rc"}"
		tail -n 10 "$_d/qemu.log" | sed 's/^/  | qemu: /'
		tail -n 10 "$_d/qemu-serial.log" | sed 's/^/  | qemu serial: /'
		return 1
	fi
}

sb_median() { tr ' ' '\n' | grep . | sort -n | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)]; else print "none" }'; }

sc_kata_sandbox() {
	if [ ! -x "${LAB_KATA_SANDBOX:-}" ]; then
		fail kata-sandbox "no kata-sandbox driver (LAB_KATA_SANDBOX)"
		return 0
	fi
	for _f in kata-image.raw kata-volume.img kata-volume.txt; do
		[ -s "$LAB_IMAGES/$_f" ] || { fail kata-sandbox "no $LAB_IMAGES/$_f (guest-images/build.sh)"; return 0; }
	done
	FS_WHY=
	fs_ready || { fail kata-sandbox "$FS_WHY"; return 0; }
	_agents='' _totals='' _qagents='' _bad='' _qbad=''
	_r=1
	while [ $_r -le "$SB_RUNS" ]; do
		if sb_kvmm "$_r"; then
			_agents="$_agents $SB_AGENT"
			_totals="$_totals $SB_TOTAL"
		else
			_bad=${_bad:-"round $_r: $SB_WHY"}
		fi
		if command -v "$LAB_QEMU" >/dev/null 2>&1; then
			if sb_qemu; then _qagents="$_qagents $SB_QAGENT"; else _qbad=${_qbad:-"round $_r: $SB_WHY"}; fi
		else
			_qbad="no QEMU ($LAB_QEMU)"
		fi
		_r=$((_r + 1))
	done
	_a=$(echo "$_agents" | sb_median)
	_t=$(echo "$_totals" | sb_median)
	_q=$(echo "$_qagents" | sb_median)
	info "kata-sandbox kvmm launch_to_agent_ms=[${_agents# }] sequence_ms=[${_totals# }] qemu launch_to_agent_ms=[${_qagents# }] runs=$SB_RUNS"
	if [ -z "$_bad" ]; then
		if [ "$LAB_ARCH" = aarch64 ]; then
			pass kata-sandbox "clh.go's sequence: create, add-net (TAP fd), boot, agent on vsock 1024, kataShared mounted, container output back; resize and add-disk refused (400, documented on aarch64); vmm.shutdown, gone in 3 s; launch->agent ${_a} ms, whole ${_t} ms"
		else
			pass kata-sandbox "clh.go's sequence: create, add-net (TAP fd), boot, agent on vsock 1024, kataShared mounted, container output back, vCPUs and RAM resized and onlined, a volume hot-plugged, found by its PCI path, read and removed; vmm.shutdown, gone in 3 s; launch->agent ${_a} ms, whole ${_t} ms"
		fi
	else
		fail kata-sandbox "$_bad"
	fi
	if [ -z "$_qbad" ]; then
		_ratio=$(awk -v k="$_a" -v q="$_q" 'BEGIN { if (k + 0 > 0 && q + 0 > 0) printf "%.2f", k / q; else print "none" }')
		pass kata-sandbox-qemu "QEMU, same kernel, initramfs and image, to the same agent answer: ${_q} ms (kvmm ${_a} ms, kvmm/QEMU $_ratio)"
	else
		fail kata-sandbox-qemu "$_qbad"
	fi
	rm -rf "$LAB_TMP/sandbox" "$LAB_TMP/sandbox-qemu"
}

scenario kata-sandbox "x86_64 aarch64" sc_kata_sandbox
