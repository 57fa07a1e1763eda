# Benchmark density (LAB_MODE=bench; sourced by scenarios.sh; POSIX sh; uses memory.sh's
# mem_alive, mem_leaf and mem_measure): N small VMs started at once in one L1 boot, as a node
# starts N pods. Each guest has 128 MiB and 1 vCPU, the same kernel, initramfs and command line
# (kvmm.test=hang: it prints its marker and stays up), and an entropy device. Three series:
#   kvmm      N kvmm processes launched back to back, each booting its guest from the command
#             line;
#   kvmm-api  N kvmm processes launched with --api-socket only; for each, its own client (in
#             parallel, as each pod's shim is) waits for vmm.ping, sends vm.create with the
#             VmConfig and vm.boot (kvmm-remote), as Kata's clh driver does;
#   qemu      N QEMU processes: -M microvm with qboot on x86_64 (virtio-mmio devices; kvmm
#             then runs --virtio-transport mmio and the guests get pci=off), -M virt on aarch64
#             (virtio-pci; kvmm with its default transport).
# For a series: the time from the first launch until every guest has printed its marker (all_ms),
# when the first did (first_ms), the median guest; then, 2 s after the last marker, one smaps
# snapshot of each VMM process: the sum of their PSS, and of their PSS outside guest RAM (what
# the VMMs themselves cost; the guests' memory is the same under both). Per series:
#   LAB: INFO density n=N round=R vmm=V up=U all_ms=A first_ms=F median_ms=M spread_ms=S
#        pss_kb=P overhead_kb=O guest_pss_kb=G down=triple:T,panic:P,ended:E,hung:H
# (all_ms, spread_ms and the memory figures "none" unless all N came up; down: how the guests
# that did not come up ended, see dens_series). The scenario ends
# with one PASS line giving, per N, the kvmm/QEMU ratios of the medians over the rounds; it
# fails only when a series could not bring all its guests up. bench/density-plot.py draws it.
#
#   LAB_DENSITY_N       how many VMs at once, a list run in turn ("10")
#   LAB_DENSITY_ROUNDS  rounds per N, the series' order rotating each round (1)
#   LAB_DENSITY_WAIT    seconds a series has to bring all its guests up (240)
#   LAB_DENSITY_SERIES  which series run ("kvmm kvmm-api qemu"; "kvmm" alone finds how many
#                       of kvmm's VMs L1 holds, beyond what QEMU's bursts leave it)

DENS_RAM_MB=128

# dens_launch VMM I: starts VM I of series VMM in a session of its own; its pid goes into
# DENS_PIDS. Output in $LAB_TMP/dens-VMM-I.out (the guest's console) and .err.
dens_launch() {
	_dv=$1 _di=$2
	_do=$LAB_TMP/dens-$_dv-$_di.out
	_de=$LAB_TMP/dens-$_dv-$_di.err
	: >"$_do"
	# shellcheck disable=SC2086 # DENS_KVMM_OPT and DENS_QEMU_M: options, one a word
	case $_dv in
	kvmm)
		setsid "$KVMM" $DENS_KVMM_OPT --kernel "$DENS_KERNEL" --initramfs "$INITRAMFS" \
			--cpus boot=1 --memory "size=${DENS_RAM_MB}M" --cmdline "$DENS_CMDLINE" \
			</dev/null >"$_do" 2>"$_de" &
		;;
	kvmm-api)
		rm -f "$LAB_TMP/dens-$_di.sock"
		setsid "$KVMM" $DENS_KVMM_OPT --api-socket "$LAB_TMP/dens-$_di.sock" \
			</dev/null >"$_do" 2>"$_de" &
		;;
	qemu)
		setsid "$LAB_QEMU" $DENS_QEMU_M -nodefaults -enable-kvm -cpu host \
			-m "${DENS_RAM_MB}M" -smp 1 -no-reboot -serial stdio -nographic \
			-kernel "$DENS_KERNEL" -initrd "$INITRAMFS" \
			-object rng-random,id=rng0,filename=/dev/urandom \
			-device "$DENS_QEMU_RNG,rng=rng0" -append "$DENS_CMDLINE" \
			</dev/null >"$_do" 2>"$_de" &
		;;
	esac
	DENS_PIDS="$DENS_PIDS $!"
}

# dens_client I: what one pod's shim does with VM I's kvmm: waits up to 10 s for vmm.ping,
# then vm.create and vm.boot. Its failures go to $LAB_TMP/dens-kvmm-api-I.err's neighbour .api.
dens_client() {
	_cs=$LAB_TMP/dens-$1.sock
	_cl=$LAB_TMP/dens-kvmm-api-$1.api
	_cn=0
	until "$LAB_KVMM_REMOTE" --api-socket "$_cs" ping >/dev/null 2>&1; do
		_cn=$((_cn + 1))
		if [ $_cn -ge 500 ]; then
			echo "no vmm.ping answer within 10 s" >"$_cl"
			return 1
		fi
		sleep 0.02
	done
	"$LAB_KVMM_REMOTE" --api-socket "$_cs" create "$DENS_JSON" >"$_cl" 2>&1 &&
		"$LAB_KVMM_REMOTE" --api-socket "$_cs" boot >>"$_cl" 2>&1
}

# dens_stop: SIGTERM to every VMM of the series, SIGKILL to what is left after 10 s, reaped.
dens_stop() {
	# shellcheck disable=SC2086 # one pid a word
	kill -TERM $DENS_PIDS 2>/dev/null || true
	_dsn=0
	while [ $_dsn -lt 100 ]; do
		_dsl=0
		for _dsp in $DENS_PIDS; do
			! mem_alive "$_dsp" || _dsl=1
		done
		[ $_dsl = 1 ] || break
		sleep 0.1
		_dsn=$((_dsn + 1))
	done
	# shellcheck disable=SC2086
	kill -KILL $DENS_PIDS 2>/dev/null || true
	for _dsp in $DENS_PIDS; do
		wait "$_dsp" 2>/dev/null || true
	done
}

# dens_series VMM N ROUND: one series; appends its figures to the _d_* lists of sc_density.
dens_series() {
	_sv=$1 _sn=$2 _sr=$3
	DENS_PIDS=
	_cpids=
	now_ms
	_t0=$NOW_MS
	_i=1
	while [ $_i -le "$_sn" ]; do
		dens_launch "$_sv" $_i
		_i=$((_i + 1))
	done
	if [ "$_sv" = kvmm-api ]; then
		_i=1
		while [ $_i -le "$_sn" ]; do
			dens_client $_i &
			_cpids="$_cpids $!"
			_i=$((_i + 1))
		done
	fi
	# Every 100 ms, one grep over the consoles not yet up: the marker's time for each new
	# one. A VMM that ended before its marker is counted as down, not waited for.
	_nup=0
	_d_triple=0 _d_panic=0 _d_ended=0 _d_hung=0
	_ms=
	_left=$(seq 1 "$_sn")
	while [ -n "$_left" ]; do
		now_ms
		_el=$((NOW_MS - _t0))
		_files=
		for _i in $_left; do _files="$_files $LAB_TMP/dens-$_sv-$_i.out"; done
		# shellcheck disable=SC2086 # one file a word
		_hit=$(grep -l KVMM-GUEST-UP $_files 2>/dev/null || true)
		_next=
		for _i in $_left; do
			case "
$_hit
" in
			*"
$LAB_TMP/dens-$_sv-$_i.out
"*)
				_nup=$((_nup + 1))
				_ms="$_ms $_el"
				continue
				;;
			esac
			# VM I's pid, without a fork (the loop shares L1's CPUs with the guests).
			# shellcheck disable=SC2086 # one pid a word
			set -- $DENS_PIDS
			eval "_p=\${$_i}"
			mem_alive "$_p" && _next="$_next $_i"
		done
		_left=$_next
		[ -n "$_left" ] || break
		if [ "$_el" -ge $((${LAB_DENSITY_WAIT:-240} * 1000)) ]; then
			break
		fi
		sleep 0.1
	done
	for _cp in $_cpids; do wait "$_cp" 2>/dev/null || true; done
	_all=none _spread=none _pss=none _over=none _gpss=none _first=none _med=none
	if [ -n "$_ms" ]; then
		# shellcheck disable=SC2086 # one number a word
		_first=$(printf '%s\n' $_ms | sort -n | head -n 1)
		# shellcheck disable=SC2086
		_med=$(median $_ms)
	fi
	if [ "$_nup" = "$_sn" ]; then
		# shellcheck disable=SC2086
		_all=$(printf '%s\n' $_ms | sort -n | tail -n 1)
		_spread=$((_all - _first))
		sleep 2
		_pss=0 _over=0 _gpss=0
		_kind=kvmm
		[ "$_sv" != qemu ] || _kind=qemu
		_saved_ram=$MEM_RAM_MB
		MEM_RAM_MB=$DENS_RAM_MB
		for _p in $DENS_PIDS; do
			if ! mem_measure "$_kind" "$(mem_leaf "$_p")"; then
				info "density n=$_sn vmm=$_sv pid $_p not measured: $MEM_WHY"
				_pss=none
				break
			fi
			_pss=$((_pss + MEM_PSS))
			_gpss=$((_gpss + MEM_GPSS))
			_over=$((_over + MEM_PSS - MEM_GPSS))
		done
		MEM_RAM_MB=$_saved_ram
		[ "$_pss" != none ] || { _over=none; _gpss=none; }
	else
		# How each guest that did not come up ended: triple (kvmm logged a guest triple fault),
		# panic (an oops or panic on its console), ended (its VMM ended with neither: how a
		# triple fault looks under QEMU, which -no-reboot ends with exit 0), hung (its VMM
		# still runs). The first one's console and log go to the lab log, with the client's.
		_shown=0
		_i=1
		# shellcheck disable=SC2086 # one pid a word
		set -- $DENS_PIDS
		for _p in "$@"; do
			_o=$LAB_TMP/dens-$_sv-$_i.out
			_e=$LAB_TMP/dens-$_sv-$_i.err
			if ! grep -q KVMM-GUEST-UP "$_o" 2>/dev/null; then
				if mem_alive "$_p"; then
					_d_hung=$((_d_hung + 1))
				elif grep -q 'guest triple fault' "$_e" 2>/dev/null; then
					_d_triple=$((_d_triple + 1))
				elif grep -qE 'Kernel panic|Oops|BUG:' "$_o" 2>/dev/null; then
					_d_panic=$((_d_panic + 1))
				else
					_d_ended=$((_d_ended + 1))
				fi
				if [ $_shown = 0 ]; then
					_shown=1
					tail -n 15 "$_o" | tr -d '\r' | sed "s/^/  | $_sv-$_i out: /"
					tail -n 15 "$_e" | sed "s/^/  | $_sv-$_i err: /"
					sed "s/^/  | $_sv-$_i api: /" "$LAB_TMP/dens-kvmm-api-$_i.api" 2>/dev/null
				fi
			fi
			_i=$((_i + 1))
		done
	fi
	dens_stop
	info "density n=$_sn round=$_sr vmm=$_sv up=$_nup all_ms=$_all first_ms=$_first" \
		"median_ms=$_med spread_ms=$_spread pss_kb=$_pss overhead_kb=$_over guest_pss_kb=$_gpss" \
		"down=triple:$_d_triple,panic:$_d_panic,ended:$_d_ended,hung:$_d_hung"
	if [ "$_nup" != "$_sn" ]; then
		_d_bad="$_d_bad n=$_sn/$_sv#$_sr:$_nup-up"
		return 0
	fi
	_tag=$(echo "$_sv" | tr -d -)
	eval "_d_all_${_tag}_$_sn=\"\${_d_all_${_tag}_$_sn:-} $_all\""
	[ "$_pss" = none ] ||
		eval "_d_over_${_tag}_$_sn=\"\${_d_over_${_tag}_$_sn:-} $_over\";" \
			"_d_pss_${_tag}_$_sn=\"\${_d_pss_${_tag}_$_sn:-} $_pss\""
}

# dens_med LIST: the median of LIST's numbers, or none.
dens_med() {
	case $1 in
	*[0-9]*)
		# shellcheck disable=SC2086 # one number a word
		median $1
		;;
	*) echo none ;;
	esac
}

sc_density() {
	if [ -z "${LAB_KVMM_REMOTE:-}" ] || [ ! -x "$LAB_KVMM_REMOTE" ]; then
		fail density "no kvmm-remote (LAB_KVMM_REMOTE)"
		return 0
	fi
	if ! command -v "$LAB_QEMU" >/dev/null 2>&1; then
		fail density "no QEMU ($LAB_QEMU)"
		return 0
	fi
	case $LAB_ARCH in
	x86_64)
		DENS_KERNEL=$KERNEL
		DENS_CMDLINE="$BASE_CMDLINE pci=off kvmm.test=hang"
		DENS_KVMM_OPT="--virtio-transport mmio"
		DENS_QEMU_M="-M microvm,acpi=on -bios ${LAB_QBOOT:-/usr/share/qemu/qboot.rom}"
		DENS_QEMU_RNG=virtio-rng-device
		;;
	*)
		DENS_KERNEL=$BOOT_KERNEL
		DENS_CMDLINE="$BASE_CMDLINE kvmm.test=hang"
		DENS_KVMM_OPT=
		DENS_QEMU_M="-M virt,gic-version=host"
		DENS_QEMU_RNG="virtio-rng-pci,romfile="
		;;
	esac
	DENS_JSON=$LAB_TMP/dens-vm.json
	cat >"$DENS_JSON" <<EOF
{"payload": {"kernel": "$DENS_KERNEL", "initramfs": "$INITRAMFS",
  "cmdline": "$DENS_CMDLINE"},
 "cpus": {"boot_vcpus": 1, "max_vcpus": 1},
 "memory": {"size": $((DENS_RAM_MB * 1048576)), "shared": false, "hugepages": false},
 "rng": {"src": "/dev/urandom"},
 "serial": {"mode": "Tty"}, "console": {"mode": "Off"}}
EOF
	info "density ns='${LAB_DENSITY_N:-10}' rounds=${LAB_DENSITY_ROUNDS:-1} ram_mb=$DENS_RAM_MB" \
		"series='${LAB_DENSITY_SERIES:-kvmm kvmm-api qemu}'" \
		"kvmm_opt='$DENS_KVMM_OPT' qemu='$DENS_QEMU_M' cmdline='$DENS_CMDLINE'" \
		"l1_mem_available_kb=$(awk '/^MemAvailable:/ { print $2 }' /proc/meminfo)"
	for _v in ${LAB_DENSITY_SERIES:-kvmm kvmm-api qemu}; do
		case $_v in
		kvmm | kvmm-api | qemu) ;;
		*)
			fail density "LAB_DENSITY_SERIES names '$_v': the series are kvmm, kvmm-api, qemu"
			return 0
			;;
		esac
	done
	_d_bad=
	_sum=
	_ka='' _aa='' _qa='' _ko='' _qo='' _kp='' _qp=''
	for _n in ${LAB_DENSITY_N:-10}; do
		for _tag in kvmm kvmmapi qemu; do
			eval "_d_all_${_tag}_$_n='' _d_over_${_tag}_$_n='' _d_pss_${_tag}_$_n=''"
		done
		_r=0
		while [ $_r -lt "${LAB_DENSITY_ROUNDS:-1}" ]; do
			_r=$((_r + 1))
			case $((_r % 3)) in
			1) _order="kvmm qemu kvmm-api" ;;
			2) _order="qemu kvmm-api kvmm" ;;
			*) _order="kvmm-api kvmm qemu" ;;
			esac
			for _v in $_order; do
				case " ${LAB_DENSITY_SERIES:-kvmm kvmm-api qemu} " in
				*" $_v "*) dens_series "$_v" "$_n" "$_r" ;;
				esac
			done
		done
		eval "_ka=\$(dens_med \"\${_d_all_kvmm_$_n:-}\") _aa=\$(dens_med \"\${_d_all_kvmmapi_$_n:-}\")" \
			"_qa=\$(dens_med \"\${_d_all_qemu_$_n:-}\")"
		eval "_ko=\$(dens_med \"\${_d_over_kvmm_$_n:-}\") _qo=\$(dens_med \"\${_d_over_qemu_$_n:-}\")"
		eval "_kp=\$(dens_med \"\${_d_pss_kvmm_$_n:-}\") _qp=\$(dens_med \"\${_d_pss_qemu_$_n:-}\")"
		_line="n=$_n all_ms kvmm=$_ka kvmm_api=$_aa qemu=$_qa"
		_line="$_line ratio=$(ratio "$_ka" "$_qa") api_ratio=$(ratio "$_aa" "$_qa");"
		_line="$_line overhead_kb kvmm=$_ko qemu=$_qo ratio=$(ratio "$_ko" "$_qo");"
		_line="$_line pss_kb kvmm=$_kp qemu=$_qp ratio=$(ratio "$_kp" "$_qp")"
		info "density $_line"
		_sum="$_sum $_line."
	done
	if [ -n "$_d_bad" ]; then
		fail density "not all guests came up:$_d_bad;$_sum"
	else
		pass density "$_sum"
	fi
}

bench density any sc_density
