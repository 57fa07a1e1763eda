# Lab scenarios for PCI (sourced by scenarios.sh; POSIX sh; uses api.sh's and virtio-net.sh's
# helpers): what the guest finds on the PCI bus against what kvmm's API reports.

# pci-slots: a Kata-like VM through the API (two disks, the second on PCI segment 1, a NIC on a
# TAP fd, vsock, rng, two PCI segments); the guest lists its PCI functions (guest-images/tests/pci-info) while vm.info's
# device_tree gives each device's pci_bdf. Every reported BDF must be a virtio function
# (vendor 0x1af4, device 0x1040 + virtio ID) in the guest, bound to virtio-pci and using
# MSI-X (msi_irqs); both segments' host bridges must be there. On virtio-mmio
# (LAB_TRANSPORT=mmio) the guest must find no virtio PCI function and vm.info no pci_bdf.
sc_pci_slots() {
	API_BAD=
	if [ -z "${LAB_KVMM_REMOTE:-}" ] || [ ! -x "$LAB_KVMM_REMOTE" ]; then
		fail pci-slots "no kvmm-remote (LAB_KVMM_REMOTE)"
		return 0
	fi
	_a=$LAB_TMP/pci-a.img _b=$LAB_TMP/pci-b.img
	head -c 1048576 /dev/zero >"$_a"
	head -c 1048576 /dev/zero >"$_b"
	cat >"$LAB_TMP/pci-vm.json" <<EOF2
{"payload": {"kernel": "$KERNEL", "initramfs": "$INITRAMFS",
  "cmdline": "$CMDLINE kvmm.test=pci-info kvmm.pci_hold=60"},
 "cpus": {"boot_vcpus": 1, "max_vcpus": 1},
 "memory": {"size": 536870912},
 "platform": {"num_pci_segments": 2},
 "rng": {"src": "/dev/urandom"},
 "disks": [{"path": "$_a", "readonly": true},
   {"path": "$_b", "id": "scratch", "pci_segment": 1}],
 "vsock": {"cid": 3, "socket": "$LAB_TMP/pci-vsock.sock"},
 "serial": {"mode": "Tty"}, "console": {"mode": "Off"}}
EOF2
	_out=$LAB_TMP/pci-kvmm.out
	api_start "$_out"
	_p=$API_PID
	api_expect create 0 create "$LAB_TMP/pci-vm.json"
	if net_tap kvmmtap0 100 && [ -n "${LAB_TAP_EXEC:-}" ]; then
		API_RC=0
		API_OUT=$("$LAB_TAP_EXEC" kvmmtap0 9 "$LAB_KVMM_REMOTE" --api-socket "$API_SOCK" \
			add-net fd=9,mac=52:54:00:00:00:02 2>&1) || API_RC=$?
		[ "$API_RC" = 0 ] || API_BAD=${API_BAD:-"add-net fd: $API_OUT"}
	fi
	api_expect boot 0 boot
	net_wait "$_out" KVMM-PCI-DONE "$LAB_TIMEOUT" "$_p" || API_BAD=${API_BAD:-"no KVMM-PCI-DONE from the guest"}
	api_expect info 0 info
	_info=$API_OUT
	tr -d '\r' <"$_out" | grep '^KVMM-PCI ' >"$LAB_TMP/pci-guest.txt" || true
	# "id":"_disk0",...,"pci_bdf":"0000:00:01.0" pairs from the device tree.
	echo "$_info" | grep -o '"id":"[^"]*","resources":\[\],"children":\[\],"pci_bdf":"[^"]*"' |
		sed 's/"id":"\([^"]*\)".*"pci_bdf":"\([^"]*\)"/\1 \2/' >"$LAB_TMP/pci-api.txt"
	_pn=0
	if [ "$LAB_TRANSPORT" = mmio ]; then
		grep -q 'vendor=0x1af4' "$LAB_TMP/pci-guest.txt" &&
			API_BAD=${API_BAD:-"virtio PCI functions on virtio-mmio: $(cat "$LAB_TMP/pci-guest.txt")"}
		[ -s "$LAB_TMP/pci-api.txt" ] && API_BAD=${API_BAD:-"pci_bdf in vm.info on virtio-mmio"}
	else
		while read -r _id _bdf; do
			_l=$(grep "^KVMM-PCI $_bdf " "$LAB_TMP/pci-guest.txt")
			case $_l in
			*vendor=0x1af4*device=0x10[4-7][0-9a-f]*driver=virtio-pci*) ;;
			*) API_BAD=${API_BAD:-"$_id at $_bdf: guest sees '${_l:-nothing}'"} ;;
			esac
			_m=$(echo "$_l" | sed -n 's/.* msi=\([0-9]*\).*/\1/p')
			[ "${_m:-0}" -ge 2 ] || API_BAD=${API_BAD:-"$_id at $_bdf uses no MSI-X: '$_l'"}
			_pn=$((_pn + 1))
		done <"$LAB_TMP/pci-api.txt"
		[ "$_pn" = 5 ] || API_BAD=${API_BAD:-"vm.info lists $_pn PCI devices, want 5: $_info"}
		grep -q '^KVMM-PCI 0001:00:00.0 ' "$LAB_TMP/pci-guest.txt" ||
			API_BAD=${API_BAD:-"no host bridge of segment 1 in the guest"}
		grep -q 'scratch 0001:00:01.0' "$LAB_TMP/pci-api.txt" ||
			API_BAD=${API_BAD:-"the disk with pci_segment 1 is not at 0001:00:01.0: $(cat "$LAB_TMP/pci-api.txt")"}
	fi
	api_expect vmm-shutdown 0 shutdown-vmm
	_i=0
	while kill -0 "$_p" 2>/dev/null && [ $_i -lt 50 ]; do sleep 0.1; _i=$((_i + 1)); done
	kill -0 "$_p" 2>/dev/null && { kill -KILL "$_p"; API_BAD=${API_BAD:-"kvmm still running after vmm.shutdown"}; }
	wait "$_p" 2>/dev/null || true
	if [ -z "$API_BAD" ]; then
		if [ "$LAB_TRANSPORT" = mmio ]; then
			pass pci-slots "mmio: no virtio PCI function in the guest, no pci_bdf in vm.info"
		else
			pass pci-slots "pci: $_pn devices where vm.info says, with MSI-X; $(wc -l <"$LAB_TMP/pci-guest.txt") PCI functions in the guest"
		fi
	else
		fail pci-slots "$API_BAD"
		sed 's/^/  | guest: /' "$LAB_TMP/pci-guest.txt"
		tail -n 20 "$_out" | sed 's/^/  | out: /'
	fi
	rm -f "$_a" "$_b"
}
scenario pci-slots any sc_pci_slots
