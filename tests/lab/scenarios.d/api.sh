# Lab scenarios for the API socket (sourced by scenarios.sh; POSIX sh): kvmm driven the way
# Kata's clh driver drives Cloud Hypervisor, through kvmm-remote (LAB_KVMM_REMOTE), including
# a TAP fd handed over with SCM_RIGHTS, and a hostile client.

API_SOCK=$LAB_TMP/api.sock

# api CMD [ARG]: kvmm-remote against API_SOCK; output in $API_OUT, status in $API_RC (and
# returned: api_start's wait for vm.ping needs it).
api() {
	API_RC=0
	API_OUT=$(timeout 30 "$LAB_KVMM_REMOTE" --api-socket "$API_SOCK" "$@" 2>&1) || API_RC=$?
	return "$API_RC"
}

# api_expect NAME WANT_RC CMD [ARG]: one step; records the first failure in API_BAD.
api_expect() {
	_n=$1 _w=$2
	shift 2
	api "$@"
	if [ "$API_RC" != "$_w" ] && [ -z "$API_BAD" ]; then
		API_BAD="$_n: kvmm-remote $* exited $API_RC, want $_w: $(echo "$API_OUT" | head -c 200)"
	fi
}

# api_start OUT [ERR]: starts kvmm --api-socket $API_SOCK in the background (output to OUT,
# its log to ERR or OUT, pid in API_PID) and waits up to 5 s for it to answer vmm.ping.
api_start() {
	rm -f "$API_SOCK"
	# With ERR (a second file) kvmm's log stays out of the guest's console lines, which
	# it would otherwise split: the console writes a line in pieces.
	setsid "$KVMM" --api-socket "$API_SOCK" -v </dev/null >"$1" 2>"${2:-$1}" &
	API_PID=$!
	_i=0
	while ! api ping && [ $_i -lt 50 ]; do sleep 0.1; _i=$((_i + 1)); done
}

api_state() {
	api info
	echo "$API_OUT" | tr ',' '\n' | sed -n 's/.*"state": *"\([A-Za-z]*\)".*/\1/p'
}

# api-lifecycle: ping, vm.create with a Kata-like VmConfig (read-only disk, rng, serial, vsock),
# vm.add-net with a TAP fd,
# vm.boot (the guest's marker shows on kvmm's serial), pause, resume, shutdown, boot again,
# vmm.shutdown (kvmm exits 0 and removes its socket).
sc_api_lifecycle() {
	API_BAD=
	if [ -z "${LAB_KVMM_REMOTE:-}" ] || [ ! -x "$LAB_KVMM_REMOTE" ]; then
		fail api-lifecycle "no kvmm-remote (LAB_KVMM_REMOTE)"
		return 0
	fi
	_img=$LAB_TMP/api-disk.img
	head -c 1048576 /dev/urandom >"$_img"
	cat >"$LAB_TMP/api-vm.json" <<EOF
{"payload": {"kernel": "$KERNEL", "initramfs": "$INITRAMFS",
  "cmdline": "$CMDLINE kvmm.test=hang"},
 "cpus": {"boot_vcpus": 1, "max_vcpus": 2, "topology": {"threads_per_core": 1,
  "cores_per_die": 2, "dies_per_package": 1, "packages": 1}},
 "memory": {"size": 536870912, "shared": false, "hugepages": false,
  "hotplug_size": 1073741824},
 "platform": {"num_pci_segments": 2},
 "rng": {"src": "/dev/urandom"},
 "disks": [{"path": "$_img", "readonly": true, "image_type": "Raw"}],
 "vsock": {"cid": 3, "socket": "$LAB_TMP/api-vsock.sock"},
 "serial": {"mode": "Tty"}, "console": {"mode": "Off"}}
EOF
	_out=$LAB_TMP/api-kvmm.out
	api_start "$_out"
	_p=$API_PID
	api_expect ping 0 ping
	[ "$(stat -c %a "$API_SOCK" 2>/dev/null)" = 600 ] ||
		API_BAD=${API_BAD:-"socket mode $(stat -c %a "$API_SOCK") is not 600"}
	api_expect info-before-create 1 info
	api_expect boot-before-create 1 boot
	api_expect create 0 create "$LAB_TMP/api-vm.json"
	api_expect create-twice 1 create "$LAB_TMP/api-vm.json"
	[ "$(api_state)" = Created ] || API_BAD=${API_BAD:-"state after create: $(api_state)"}
	if net_tap kvmmtap0 100 && [ -n "${LAB_TAP_EXEC:-}" ]; then
		# The TAP opened by a parent and sent with the request (SCM_RIGHTS), as Kata does.
		API_RC=0
		API_OUT=$("$LAB_TAP_EXEC" kvmmtap0 9 "$LAB_KVMM_REMOTE" --api-socket "$API_SOCK" \
			add-net fd=9,mac=52:54:00:00:00:01 2>&1) || API_RC=$?
		[ "$API_RC" = 0 ] || API_BAD=${API_BAD:-"add-net fd: $API_OUT"}
	fi
	api_expect pause-before-boot 1 pause
	api_expect boot 0 boot
	[ "$(api_state)" = Running ] || API_BAD=${API_BAD:-"state after boot: $(api_state)"}
	net_wait "$_out" KVMM-GUEST-UP "$LAB_TIMEOUT" "$_p" || API_BAD=${API_BAD:-"no guest marker"}
	[ -S "$LAB_TMP/api-vsock.sock" ] || API_BAD=${API_BAD:-"no vsock socket after boot"}
	# Kata's GetThreadIDs(): the vCPU threads are the ones named vcpu<N>.
	_c=$(cat /proc/"$_p"/task/*/comm 2>/dev/null | grep -c '^vcpu[0-9][0-9]*$' || true)
	[ "$_c" = 1 ] || API_BAD=${API_BAD:-"$_c threads named vcpu<N>, want 1: $(cat /proc/"$_p"/task/*/comm | tr '\n' ' ')"}
	api_expect counters 0 counters
	# The guest read its read-only rootfs-style disk while probing it.
	echo "$API_OUT" | grep -q '"_disk0":{[^}]*"read_ops":[1-9]' ||
		API_BAD=${API_BAD:-"vm.counters without _disk0 reads: $API_OUT"}
	echo "$API_OUT" | grep -q '"_net1":{' || API_BAD=${API_BAD:-"vm.counters without _net1: $API_OUT"}
	# kvmm's own entry: the boot timer's split (the guest wrote its marker before
	# KVMM-GUEST-UP) and its exits by kind with the time it took to handle them.
	echo "$API_OUT" | grep -q '"vmm":{[^}]*"boot_guest_us":[1-9]' ||
		API_BAD=${API_BAD:-"vm.counters without vmm.boot_guest_us: $API_OUT"}
	echo "$API_OUT" | grep -q '"vmm":{[^}]*"exit_us_' ||
		API_BAD=${API_BAD:-"vm.counters without vmm.exit_us_*: $API_OUT"}
	api_expect boot-twice 1 boot
	# Where kvmm hot-plugs (x86_64 on PCI) a disk added now is taken: scenarios.d/hotplug.sh.
	if [ "$LAB_ARCH" != x86_64 ] || [ "$LAB_TRANSPORT" != pci ]; then
		api_expect add-disk-after-boot 1 add-disk "path=$_img"
	fi
	api_expect pause 0 pause
	[ "$(api_state)" = Paused ] || API_BAD=${API_BAD:-"state after pause: $(api_state)"}
	api_expect pause-twice 1 pause
	# SIGUSR2 while paused: the vCPU logs its state once resumed (boot.sh's vcpu-dump has the
	# command line's path).
	kill -USR2 "$_p"
	sleep 0.3
	! grep -q 'vcpu0: state on request' "$_out" ||
		API_BAD=${API_BAD:-"a paused vCPU answered SIGUSR2 before the resume"}
	api_expect resume 0 resume
	[ "$(api_state)" = Running ] || API_BAD=${API_BAD:-"state after resume: $(api_state)"}
	vcpu_dump_wait "$_out" 1 ||
		API_BAD=${API_BAD:-"no vCPU state in kvmm's log within 5 s of the resume after SIGUSR2 ($VD_N answers)"}
	kill -0 "$_p" 2>/dev/null || API_BAD=${API_BAD:-"kvmm ended after SIGUSR2"}
	api_expect shutdown 0 shutdown
	[ "$(api_state)" = Shutdown ] || API_BAD=${API_BAD:-"state after shutdown: $(api_state)"}
	api_expect boot-again 0 boot
	api_expect vmm-shutdown 0 shutdown-vmm
	_i=0
	while kill -0 "$_p" 2>/dev/null && [ $_i -lt 100 ]; do sleep 0.1; _i=$((_i + 1)); done
	_rc=0
	kill -0 "$_p" 2>/dev/null && { kill -KILL "$_p"; API_BAD=${API_BAD:-"kvmm still running after vmm.shutdown"}; }
	wait "$_p" || _rc=$?
	[ "$_rc" = 0 ] || API_BAD=${API_BAD:-"kvmm exited $_rc after vmm.shutdown"}
	[ ! -e "$API_SOCK" ] || API_BAD=${API_BAD:-"the socket file was left behind"}
	if [ -z "$API_BAD" ]; then
		pass api-lifecycle "create, add-net (fd), boot, counters, pause, SIGUSR2 (vcpu0 at $VD_PC, $VD_MP once resumed), resume, shutdown, boot, vmm.shutdown"
	else
		fail api-lifecycle "$API_BAD"
		tail -n 20 "$_out" | sed 's/^/  | out: /'
	fi
	rm -f "$_img"
}

# api-hostile: bad JSON, unknown fields, wrong methods, unknown endpoints, a body over 1 MiB:
# each gets its error and the server keeps serving. (tests/api/api_hostile.py goes further,
# on the host: partial requests, vanishing clients, too many connections, stray fds.)
sc_api_hostile() {
	API_BAD=
	[ -x "${LAB_KVMM_REMOTE:-}" ] || { fail api-hostile "no kvmm-remote"; return 0; }
	rm -f "$API_SOCK"
	setsid "$KVMM" --api-socket "$API_SOCK" </dev/null >"$LAB_TMP/api-h.out" 2>&1 &
	_p=$!
	_i=0
	while ! api ping && [ $_i -lt 50 ]; do sleep 0.1; _i=$((_i + 1)); done
	api_expect bad-json 1 raw PUT vm.create '{"payload": '
	echo "$API_OUT" | grep -q 'invalid JSON' || API_BAD=${API_BAD:-"bad JSON answer: $API_OUT"}
	api_expect unknown-field 1 raw PUT vm.create '{"payload": {"kernel": "/k"}, "frobnicate": 1}'
	echo "$API_OUT" | grep -q frobnicate || API_BAD=${API_BAD:-"unknown field not named: $API_OUT"}
	api_expect wrong-method 1 raw GET vm.boot
	echo "$API_OUT" | grep -q 405 || API_BAD=${API_BAD:-"wrong method answer: $API_OUT"}
	api_expect no-endpoint 1 raw GET vm.frobnicate
	head -c 1100000 /dev/zero | tr '\0' ' ' >"$LAB_TMP/api-big.json"
	api_expect too-big 1 raw PUT vm.create - <"$LAB_TMP/api-big.json"
	echo "$API_OUT" | grep -q 413 || API_BAD=${API_BAD:-"1.1 MB body answer: $API_OUT"}
	api_expect still-serving 0 ping
	api_expect vmm-shutdown 0 shutdown-vmm
	wait "$_p" 2>/dev/null || true
	if [ -z "$API_BAD" ]; then
		pass api-hostile "bad JSON, unknown field, 405, 404, 413: kvmm kept serving"
	else
		fail api-hostile "$API_BAD"
		tail -n 10 "$LAB_TMP/api-h.out" | sed 's/^/  | out: /'
	fi
}

# api-power-button: vm.power-button is refused before boot (404, 405) and while paused (405); on
# the running guest (kvmm.test=hang, kvmm.acpid=1) it presses the ACPI power button, the guest's
# acpid runs poweroff -f, and kvmm exits 0 on its own, as Cloud Hypervisor does.
sc_api_power_button() {
	API_BAD=
	[ -x "${LAB_KVMM_REMOTE:-}" ] || { fail api-power-button "no kvmm-remote"; return 0; }
	cat >"$LAB_TMP/api-pb.json" <<EOF
{"payload": {"kernel": "$KERNEL", "initramfs": "$INITRAMFS",
  "cmdline": "$CMDLINE kvmm.test=hang kvmm.acpid=1"},
 "cpus": {"boot_vcpus": 1, "max_vcpus": 1},
 "memory": {"size": 268435456},
 "serial": {"mode": "Tty"}, "console": {"mode": "Off"}}
EOF
	_out=$LAB_TMP/api-pb.out
	# kvmm's log apart: its "guest entered S5" line would split the guest's last one.
	api_start "$_out" "$LAB_TMP/api-pb.err"
	_p=$API_PID
	api_expect press-no-vm 1 power-button
	echo "$API_OUT" | grep -q 404 || API_BAD=${API_BAD:-"press without a VM: $API_OUT"}
	api_expect create 0 create "$LAB_TMP/api-pb.json"
	api_expect press-created 1 power-button
	echo "$API_OUT" | grep -q 405 || API_BAD=${API_BAD:-"press before boot: $API_OUT"}
	api_expect boot 0 boot
	net_wait "$_out" KVMM-GUEST-UP "$LAB_TIMEOUT" "$_p" || API_BAD=${API_BAD:-"no guest marker"}
	grep -q KVMM-GUEST-ACPID-FAILED "$_out" && API_BAD=${API_BAD:-"the guest's acpid did not start"}
	api_expect pause 0 pause
	api_expect press-paused 1 power-button
	echo "$API_OUT" | grep -q 405 || API_BAD=${API_BAD:-"press while paused: $API_OUT"}
	api_expect resume 0 resume
	now_ms
	_t0=$NOW_MS
	api_expect press 0 power-button
	# No vmm.shutdown: the guest's poweroff alone must end kvmm, with status 0.
	_i=0
	while kill -0 "$_p" 2>/dev/null && [ $_i -lt $((LAB_TIMEOUT * 10)) ]; do
		sleep 0.1
		_i=$((_i + 1))
	done
	now_ms
	_rc=0
	if kill -0 "$_p" 2>/dev/null; then
		API_BAD=${API_BAD:-"kvmm still running ${LAB_TIMEOUT} s after vm.power-button"}
		kill -KILL "$_p"
	fi
	wait "$_p" || _rc=$?
	[ "$_rc" = 0 ] || API_BAD=${API_BAD:-"kvmm exited $_rc after vm.power-button, want 0"}
	grep -q KVMM-GUEST-POWER-BUTTON "$_out" ||
		API_BAD=${API_BAD:-"the guest's acpid never ran its power-button action"}
	if [ -z "$API_BAD" ]; then
		pass api-power-button "404/405 before boot and while paused; pressed: guest off, kvmm exit 0 after $((NOW_MS - _t0)) ms"
	else
		fail api-power-button "$API_BAD"
		tail -n 20 "$_out" | sed 's/^/  | out: /'
		tail -n 10 "$LAB_TMP/api-pb.err" | sed 's/^/  | err: /'
	fi
}

scenario api-lifecycle any sc_api_lifecycle
scenario api-hostile any sc_api_hostile
scenario api-power-button any sc_api_power_button
