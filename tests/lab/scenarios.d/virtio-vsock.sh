# Lab scenarios for virtio-vsock with the hybrid Unix-socket back-end (sourced by
# scenarios.sh; POSIX sh). Host side: tests/lab/vsock-client (LAB_VSOCK_CLIENT); guest side:
# guest-images/tests/vsock with the vsock-echo and vsock-send tools.

# vsock_attempt: boots the guest with the vsock test and runs the host-side cases against it.
# Sets VS_RESULTS (lines "PASS name detail" / "FAIL name detail").
vsock_attempt() {
	VS_RESULTS=
	rm -f "$_s" "${_s}_2000"
	"$_c" serve "${_s}_2000" $((LAB_TIMEOUT * 3)) >/dev/null 2>&1 &
	_srv=$!
	: >"$_o"	# now: the background redirection may come after net_wait's first look
	setsid "$KVMM" --kernel "$KERNEL" --initramfs "$INITRAMFS" --memory size=512M -v \
		--vsock "cid=3,socket=$_s" --cmdline "$CMDLINE kvmm.test=vsock" </dev/null >"$_o" 2>&1 &
	_p=$!
	if ! net_wait "$_o" KVMM-VSOCK-READY "$LAB_TIMEOUT" "$_p"; then
		VS_RESULTS="FAIL vsock the guest never got ready"
		tail -n 20 "$_o" | sed 's/^/  | out: /'
		kill -KILL "$_p" "$_srv" 2>/dev/null
		wait "$_p" 2>/dev/null
		return 0
	fi
	if grep -q 'KVMM-VSOCK-GUEST vsock-send: ok 1048576' "$_o"; then
		VS_RESULTS="PASS vsock-guest-initiated guest -> host port 2000 (${_s##*/}_2000): 1 MiB echoed"
	else
		VS_RESULTS="FAIL vsock-guest-initiated $(grep -m 1 KVMM-VSOCK-GUEST "$_o")"
	fi
	_vfail=0
	for _case in "vsock-connect-upper:echo $_s 1024 1 65536" \
		"vsock-connect-lower:echo $_s 1024 1 65536 lower" \
		"vsock-16-connections:echo $_s 1024 16 4194304" \
		"vsock-stalled-reader:echo $_s 1024 4 1048576 stall" \
		"vsock-refused:refused $_s 1099"; do
		_n=${_case%%:*}
		# shellcheck disable=SC2086 # the arguments are meant to split
		_r=$(timeout 120 "$_c" ${_case#*:} 2>&1)
		if [ $? = 0 ]; then
			VS_RESULTS="$VS_RESULTS
PASS $_n $_r"
		else
			VS_RESULTS="$VS_RESULTS
FAIL $_n $_r"
			_vfail=1
		fi
	done
	[ "$_vfail" = 1 ] || info "vsock-latency $(timeout 60 "$_c" latency "$_s" 1024 50 2>&1)"
	kill -TERM "$_p" 2>/dev/null
	_i=0
	while kill -0 "$_p" 2>/dev/null && [ $_i -lt 50 ]; do sleep 0.1; _i=$((_i + 1)); done
	kill -KILL "$_p" "$_srv" 2>/dev/null || true
	wait "$_p" 2>/dev/null || true
	if [ ! -e "$_s" ]; then
		VS_RESULTS="$VS_RESULTS
PASS vsock-cleanup the socket is removed when kvmm stops"
	else
		VS_RESULTS="$VS_RESULTS
FAIL vsock-cleanup $_s left behind"
	fi
	# The guest's console and kvmm's log when something failed (how the VM ended), else
	# kvmm's vsock counters.
	if [ "$_vfail" = 1 ]; then
		tail -n 60 "$_o" | sed 's/^/  | out: /'
	else
		grep 'virtio-vsock' "$_o" | tail -n 3 | sed 's/^/  | out: /'
	fi
}

sc_vsock() {
	_c=${LAB_VSOCK_CLIENT:-}
	_s=$LAB_TMP/vsock.sock
	_o=$LAB_TMP/vsock.out
	if [ -z "$_c" ] || [ ! -x "$_c" ]; then
		fail vsock "no vsock-client helper (LAB_VSOCK_CLIENT)"
		return 0
	fi
	# A guest that triple-faulted (tests/lab/README.md) has the whole scenario run once more
	# by scenarios.sh; nothing is repeated here.
	vsock_attempt
	printf '%s\n' "$VS_RESULTS" >"$LAB_TMP/vsock.results"
	while IFS= read -r _l; do
		_n=${_l#* }
		_d=${_n#* }
		_n=${_n%% *}
		case $_l in
		PASS*) pass "$_n" "$_d" ;;
		FAIL*) fail "$_n" "$_d" ;;
		esac
	done <"$LAB_TMP/vsock.results"

	# A live socket at the path: refused at start-up.
	"$_c" serve "$_s" 10 >/dev/null 2>&1 &
	_srv=$!
	sleep 0.5
	expect_refused vsock-path-in-use 1 --kernel "$KERNEL" --initramfs "$INITRAMFS" \
		--vsock "cid=3,socket=$_s" --cmdline "$CMDLINE"
	kill "$_srv" 2>/dev/null
	wait "$_srv" 2>/dev/null
	expect_refused vsock-bad-cid 2 --kernel "$KERNEL" --vsock "cid=2,socket=$_s"
}

scenario vsock any sc_vsock
