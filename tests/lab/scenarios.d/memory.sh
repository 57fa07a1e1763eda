# Lab scenarios on the memory of the VMM process itself, guest RAM left out (sourced by
# scenarios.sh; POSIX sh; docs/memory.md):
#   mem-512m      (test) kvmm boots the guest with 512 MiB and kvmm.test=hang; the guest must
#                 see 512 MiB, some of it mapped with huge pages where the host's
#                 transparent_hugepage/shmem_enabled allows them (L1 sets advise), kvmm's own
#                 memory must stay within LAB_MEM_BUDGET_KB, and SIGTERM must stop it cleanly
#                 (exit 0, nothing of its session left).
#   mem-overhead  (bench) the same measurement for kvmm and for QEMU on the same guest (1 vCPU,
#                 an entropy device), runs alternating as in boot-time.
# One snapshot of /proc/PID/smaps of the VMM process, taken after the marker, gives its PSS and
# RSS and the share of the guest RAM mapping; overhead = PSS - guest RAM's PSS. Per run:
#   LAB: INFO mem-overhead run=N vmm=kvmm|qemu pss_kb=P rss_kb=R guest_pss_kb=G overhead_kb=O threads=T
#   LAB: INFO mem-overhead run=N vmm=kvmm|qemu detail ...   (the other numbers, how it stopped)
# and once per VMM the mappings that weigh most outside guest RAM ("top_pss_kb NAME=KB ...").
# In the benchmark the numbers never fail the scenario; a VMM that cannot be measured (no
# marker, gone before the snapshot, no guest RAM mapping) does. bench/mem-plot.py LOG draws the
# lines.
#
#   LAB_MEM_RUNS       benchmark runs of each VMM (3)
#   LAB_MEM_SETTLE     seconds from the marker to the snapshot (2)
#   LAB_MEM_STOP       seconds a VMM has to exit after SIGTERM before SIGKILL (10; at least 60
#                      where ASAN_OPTIONS is set)
#   LAB_MEM_BUDGET_KB  mem-512m's limit on kvmm's overhead (4096; measured: 1.4 MiB x86_64
#                      dynamically linked, 0.9 MiB aarch64 static)

MEM_RAM_MB=512

# mem_alive PID: the process exists and is not a zombie (kill -0 succeeds on a zombie child
# this shell has not reaped yet).
mem_alive() {
	{ read -r _ma <"/proc/$1/stat"; } 2>/dev/null || return 1
	_ma=${_ma##*") "}
	case $_ma in Z* | X* | x* | '') return 1 ;; esac
}

# mem_children PID: the pids of PID's children, from /proc/PID/task/*/children
# (CONFIG_PROC_CHILDREN), else from every process's parent in /proc/*/stat.
mem_children() {
	if [ -r "/proc/$1/task/$1/children" ]; then
		cat "/proc/$1"/task/*/children 2>/dev/null || true
		return 0
	fi
	_mcp=$1
	for _mcf in /proc/[0-9]*/stat; do
		{ read -r _mcs <"$_mcf"; } 2>/dev/null || continue
		_mcs=${_mcs##*") "}
		# shellcheck disable=SC2086 # the fields after the command name, one a word
		set -- $_mcs
		[ "${2:-}" != "$_mcp" ] || { _mcf=${_mcf#/proc/}; echo "${_mcf%/stat}"; }
	done
}

# mem_leaf PID: PID, or while a process has exactly one child, that child. The VMM is PID when
# setsid execs it (a shell without job control); a wrapper that forks it (a script that does not
# exec) puts it one level down. Neither VMM forks children of its own (threads only).
mem_leaf() {
	_ml=$1
	_mln=0
	while [ $_mln -lt 4 ]; do
		# shellcheck disable=SC2046 # one pid a word
		set -- $(mem_children "$_ml")
		[ $# = 1 ] || break
		_ml=$1
		_mln=$((_mln + 1))
	done
	echo "$_ml"
}

# mem_session SID: the live (not zombie) processes of session SID, one pid a line.
mem_session() {
	_mss=$1
	for _msf in /proc/[0-9]*/stat; do
		{ read -r _msl <"$_msf"; } 2>/dev/null || continue
		_msl=${_msl##*") "}
		# shellcheck disable=SC2086 # state ppid pgrp session ...
		set -- $_msl
		[ "${4:-}" = "$_mss" ] || continue
		case $1 in Z | X | x) continue ;; esac
		_msf=${_msf#/proc/}
		echo "${_msf%/stat}"
	done
}

# mem_start TAG CMD...: starts CMD in a session of its own, stdin /dev/null, stdout to OUT and
# stderr to ERR ($LAB_TMP/TAG.out, .err, for dump_last); MEM_P is its pid (the session).
# A watchdog in a session of its own (MEM_WD) SIGKILLs the session after 3 x LAB_TIMEOUT + 60 s
# in case this shell never stops it (killed, interrupted on a KVM host); mem_stop ends the
# watchdog with its sleep. Not timeout(1): busybox's leaves a daemon of its own behind.
mem_start() {
	OUT=$LAB_TMP/$1.out
	ERR=$LAB_TMP/$1.err
	shift
	rm -f "$OUT" "$ERR"
	: >"$OUT"
	now_ms
	MEM_T0=$NOW_MS
	setsid "$@" </dev/null >"$OUT" 2>"$ERR" &
	MEM_P=$!
	# shellcheck disable=SC2016 # expanded by the watchdog's shell
	setsid sh -c 'sleep "$0"; kill -KILL "-$1"' $((LAB_TIMEOUT * 3 + 60)) "$MEM_P" \
		</dev/null >/dev/null 2>&1 &
	MEM_WD=$!
}

# mem_wait SECS: waits up to SECS for the guest's marker in OUT while MEM_P runs; sets MEM_MARK_MS
# (from launch, 200 ms steps).
mem_wait() {
	_mw=0
	while ! grep -q KVMM-GUEST-UP "$OUT" 2>/dev/null; do
		[ $_mw -lt $(($1 * 5)) ] && mem_alive "$MEM_P" || return 1
		sleep 0.2
		_mw=$((_mw + 1))
	done
	now_ms
	MEM_MARK_MS=$((NOW_MS - MEM_T0))
}

# mem_parse KIND SMAPS TOPFILE: reads a copy of /proc/PID/smaps and prints, in kB,
#   pss rss guest_pss guest_rss guest_size guest_maps private anon largest_anon
# where guest RAM is, for KIND kvmm, every mapping of the memfd "kvmm-ram" (guest_maps: how
# many), and for KIND qemu the anonymous writable mapping of exactly the guest's RAM size, or
# the writable mapping of a memfd of that size (memory-backend-memfd, shared with a vhost-user
# back-end: virtio-fs.sh) (guest_maps: how many such mappings; the one with the largest PSS
# counts); private
# (Private_Clean + Private_Dirty) and anon (Anonymous) are outside guest RAM; largest_anon is
# the size of the largest anonymous writable mapping (for the message when none matched);
# guest_huge: kB of guest RAM mapped with huge pages (ShmemPmdMapped, AnonHugePages).
# TOPFILE gets "KB NAME" lines: PSS outside guest RAM by mapping name (basename, "[anon]").
mem_parse() {
	awk -v kind="$1" -v ram=$((MEM_RAM_MB * 1024)) -v topf="$3" '
	function flush(   key) {
		if (!have)
			return
		tp += pss; tr += rss; tv += priv; ta += anon
		if (kind == "kvmm" && name ~ /\/memfd:kvmm-ram( \(deleted\))?$/) {
			gp += pss; gr += rss; gs += size; gv += priv; ga += anon; gh += huge; gm++
			return
		}
		if (name == "")
			key = "[anon]"
		else {
			key = name
			sub(/ \(deleted\)$/, "", key)
			if (key ~ /^\//)
				sub(/.*\//, "", key)
			gsub(/[ \t]/, "_", key)
		}
		if (perms ~ /^rw/ && (name == "" || (kind == "qemu" && name ~ /^\/memfd:/))) {
			if (name == "" && size > la)
				la = size
			if (kind == "qemu" && size == ram + 0) {
				gm++
				if (gm == 1 || pss > gp) {
					gp = pss; gr = rss; gs = size; gv = priv; ga = anon; gh = huge
					gkey = key
				}
			}
		}
		top[key] += pss
	}
	/^[0-9a-f]+-[0-9a-f]+ / {
		flush()
		have = 1
		perms = $2
		name = $0
		sub(/^[^ ]+ +[^ ]+ +[^ ]+ +[^ ]+ +[^ ]+ */, "", name)
		size = 0; rss = 0; pss = 0; priv = 0; anon = 0; huge = 0
		next
	}
	$1 == "Size:" { size = $2 + 0 }
	$1 == "Rss:" { rss = $2 + 0 }
	$1 == "Pss:" { pss = $2 + 0 }
	$1 == "Private_Clean:" || $1 == "Private_Dirty:" { priv += $2 }
	$1 == "Anonymous:" { anon = $2 + 0 }
	$1 == "AnonHugePages:" || $1 == "ShmemPmdMapped:" || $1 == "FilePmdMapped:" { huge += $2 }
	END {
		flush()
		if (kind == "qemu" && gm)
			top[gkey] -= gp
		printf "%d %d %d %d %d %d %d %d %d %d\n", tp, tr, gp, gr, gs, gm, tv - gv, ta - ga, la, gh
		for (k in top)
			if (top[k] > 0)
				print top[k], k > topf
		close(topf)
	}' "$2"
}

# mem_measure KIND PID: one snapshot of PID's smaps and status. Sets MEM_PSS, MEM_RSS,
# MEM_GPSS, MEM_GRSS, MEM_GSIZE, MEM_GMAPS, MEM_PRIV, MEM_ANON, MEM_GHUGE, MEM_THREADS, MEM_PTE (kB) and
# MEM_TOP (the top file); returns 1 with MEM_WHY when PID could not be measured.
mem_measure() {
	_mk=$1 _mp=$2
	_msm=$LAB_TMP/mem-$_mk.smaps
	_mst=$LAB_TMP/mem-$_mk.status
	MEM_TOP=$LAB_TMP/mem-$_mk.top
	rm -f "$_msm" "$_mst" "$MEM_TOP"
	# Alive after the copies too: a process that ended while its files were read left them
	# short or empty.
	if ! mem_alive "$_mp" || ! cat "/proc/$_mp/smaps" >"$_msm" 2>/dev/null ||
		! cat "/proc/$_mp/status" >"$_mst" 2>/dev/null || ! mem_alive "$_mp" ||
		[ ! -s "$_msm" ]; then
		MEM_WHY="pid $_mp gone before its smaps were read"
		return 1
	fi
	# shellcheck disable=SC2046 # ten numbers
	set -- $(mem_parse "$_mk" "$_msm" "$MEM_TOP")
	if [ $# != 10 ]; then
		MEM_WHY="could not parse /proc/$_mp/smaps ($(wc -l <"$_msm") lines)"
		return 1
	fi
	MEM_PSS=$1 MEM_RSS=$2 MEM_GPSS=$3 MEM_GRSS=$4 MEM_GSIZE=$5 MEM_GMAPS=$6
	MEM_PRIV=$7 MEM_ANON=$8 _mlargest=$9
	shift 9
	MEM_GHUGE=$1
	# shellcheck disable=SC2046 # two numbers
	set -- $(awk '$1 == "Threads:" { t = $2 } $1 == "VmPTE:" { p = $2 }
		END { printf "%d %d\n", t, p }' "$_mst")
	MEM_THREADS=$1 MEM_PTE=$2
	if [ "$MEM_GMAPS" = 0 ]; then
		_mcomm=$(cat "/proc/$_mp/comm" 2>/dev/null || echo "?")
		case $_mk in
		kvmm) MEM_WHY="no mapping of /memfd:kvmm-ram in pid $_mp ($_mcomm)" ;;
		*) MEM_WHY="no anonymous writable mapping of $((MEM_RAM_MB * 1024)) kB in pid $_mp ($_mcomm; the largest: $_mlargest kB)" ;;
		esac
		# The mappings of 64 MiB or more, into the log (not a LAB: line).
		awk '/^[0-9a-f]+-[0-9a-f]+ / { h = $0 } $1 == "Size:" && $2 >= 65536 {
			printf "  | big mapping: %s size=%d kB\n", h, $2 }' "$_msm"
		return 1
	fi
}

# mem_stop PID: SIGTERM to the VMM (PID), SIGKILL after LAB_MEM_STOP s, then SIGKILL to what is
# left of its session and to the watchdog's; reaps it. Sets MEM_STOP (term, kill, or gone when
# it had ended already), MEM_RC (exit status of MEM_P) and MEM_LEFT (processes of either
# session still there 2 s later, each SIGKILLed again; 0 expected).
mem_stop() {
	MEM_STOP=term
	if ! mem_alive "$1"; then
		MEM_STOP=gone
	else
		kill -TERM "$1" 2>/dev/null || true
		# An ASan VMM (the sanitizer labs set ASAN_OPTIONS) takes seconds more to exit after
		# its teardown, LeakSanitizer's scan: 13-16 s for kvmm on the emulated arm64 L1.
		_ms_s=${LAB_MEM_STOP:-10}
		[ -z "${ASAN_OPTIONS:-}" ] || [ "$_ms_s" -ge 60 ] || _ms_s=60
		_mw=0
		while mem_alive "$1" && [ $_mw -lt $((_ms_s * 10)) ]; do
			sleep 0.1
			_mw=$((_mw + 1))
		done
		if mem_alive "$1"; then
			MEM_STOP="kill"
			kill -KILL "$1" 2>/dev/null || true
		fi
	fi
	# A wrapper that forked the VMM gets a moment to end on its own.
	_mw=0
	while [ "$1" != "$MEM_P" ] && mem_alive "$MEM_P" && [ $_mw -lt 20 ]; do
		sleep 0.1
		_mw=$((_mw + 1))
	done
	kill -KILL "-$MEM_P" "-$MEM_WD" 2>/dev/null || true
	MEM_RC=0
	wait "$MEM_P" 2>/dev/null || MEM_RC=$?
	wait "$MEM_WD" 2>/dev/null || true
	_mw=0
	while [ -n "$(mem_session "$MEM_P")$(mem_session "$MEM_WD")" ] && [ $_mw -lt 20 ]; do
		sleep 0.1
		_mw=$((_mw + 1))
	done
	_mleft=$(mem_session "$MEM_P")
	_mleft="$_mleft $(mem_session "$MEM_WD")"
	MEM_LEFT=0
	for _mlp in $_mleft; do
		kill -KILL "$_mlp" 2>/dev/null || true
		MEM_LEFT=$((MEM_LEFT + 1))
	done
}

# mem_run KIND RUN: after mem_start: waits for the marker, lets the VMM settle, measures it,
# stops it and prints the run's lines. Returns 1 with MEM_WHY when it could not be measured
# (and dumps the end of its output); MEM_OVER is the overhead otherwise.
mem_run() {
	_rk=$1 _ri=$2
	MEM_WHY=''
	MEM_MARK_MS=none
	_rp=$MEM_P
	if ! mem_wait "$LAB_TIMEOUT"; then
		if mem_alive "$MEM_P"; then
			MEM_WHY="no marker within ${LAB_TIMEOUT} s"
		else
			MEM_WHY="ended before the marker"
		fi
	else
		sleep "${LAB_MEM_SETTLE:-2}"
		_rp=$(mem_leaf "$MEM_P")
		mem_measure "$_rk" "$_rp" || true
	fi
	mem_stop "$_rp"
	_rs="stop=$MEM_STOP exit=$MEM_RC left=$MEM_LEFT"
	if [ -n "$MEM_WHY" ]; then
		info "mem-overhead run=$_ri vmm=$_rk not measured: $MEM_WHY ($_rs)"
		dump_last
		return 1
	fi
	MEM_OVER=$((MEM_PSS - MEM_GPSS))
	info "mem-overhead run=$_ri vmm=$_rk pss_kb=$MEM_PSS rss_kb=$MEM_RSS guest_pss_kb=$MEM_GPSS overhead_kb=$MEM_OVER threads=$MEM_THREADS"
	info "mem-overhead run=$_ri vmm=$_rk detail guest_rss_kb=$MEM_GRSS guest_huge_kb=$MEM_GHUGE guest_size_kb=$MEM_GSIZE guest_maps=$MEM_GMAPS private_kb=$MEM_PRIV anon_kb=$MEM_ANON pte_kb=$MEM_PTE pid=$_rp marker_ms=$MEM_MARK_MS $_rs"
	if [ "$_ri" = 1 ]; then
		info "mem-overhead vmm=$_rk top_pss_kb $(sort -rn "$MEM_TOP" | head -n 8 |
			awk '{ printf "%s%s=%s", (NR > 1 ? " " : ""), $2, $1 }')"
	fi
}

# mem_qemu TAG: mem_start with QEMU as boot-time runs it (the machine type each arch's Kata
# uses, the same kernel, initramfs, an entropy device), the same command line as kvmm's.
mem_qemu() {
	_qt=$1
	case $LAB_ARCH in
	x86_64) set -- -M pc ${LAB_BIOS:+-bios "$LAB_BIOS"} ;;
	*) set -- -M virt,gic-version=host ;;
	esac
	mem_start "$_qt" "$LAB_QEMU" "$@" -nodefaults -enable-kvm -cpu host -m "${MEM_RAM_MB}M" \
		-no-reboot -serial stdio -nographic -kernel "$BOOT_KERNEL" -initrd "$INITRAMFS" \
		-object rng-random,id=rng0,filename=/dev/urandom \
		-device virtio-rng-pci,rng=rng0,romfile= \
		-append "$BASE_CMDLINE kvmm.test=hang"
}

sc_mem_overhead() {
	_runs=${LAB_MEM_RUNS:-3}
	_k=
	_q=
	_miss=
	_kvmm=1
	_qemu=1
	have_kvmm || { _kvmm=0; _miss=" kvmm(absent)"; }
	command -v "$LAB_QEMU" >/dev/null 2>&1 || { _qemu=0; _miss="$_miss qemu(absent)"; }
	for _i in $(seq 1 "$_runs"); do
		# A VMM that could not be measured once is not run again.
		if [ $_kvmm = 1 ]; then
			mem_start "mem-overhead-kvmm-$_i" "$KVMM" --kernel "$BOOT_KERNEL" \
				--initramfs "$INITRAMFS" --cpus boot=1 --memory "size=${MEM_RAM_MB}M" \
				--cmdline "$BASE_CMDLINE kvmm.test=hang"
			if mem_run kvmm "$_i"; then
				_k="$_k $MEM_OVER"
			else
				_miss="$_miss kvmm#$_i($MEM_WHY)"
				_kvmm=0
			fi
		fi
		if [ $_qemu = 1 ]; then
			mem_qemu "mem-overhead-qemu-$_i"
			if mem_run qemu "$_i"; then
				_q="$_q $MEM_OVER"
			else
				_miss="$_miss qemu#$_i($MEM_WHY)"
				_qemu=0
			fi
		fi
	done
	peer_verdict mem-overhead kb "$_k" "$_q" "$_miss"
}

# mem-512m: the guest sees its 512 MiB, which is on huge pages where the host allows them,
# kvmm's own memory stays within budget, SIGTERM stops kvmm cleanly.
sc_mem_512m() {
	_budget=${LAB_MEM_BUDGET_KB:-4096}
	# Where the host allows huge pages for shared memory, kvmm's guest RAM must get them.
	_shmem=$(cat /sys/kernel/mm/transparent_hugepage/shmem_enabled 2>/dev/null || echo none)
	case $_shmem in *"[advise]"* | *"[always]"* | *"[within_size]"* | *"[force]"*) _huge=1 ;; *) _huge=0 ;; esac
	if ! have_kvmm; then
		fail mem-512m "kvmm binary $KVMM missing"
		return 0
	fi
	mem_start mem-512m "$KVMM" --kernel "$KERNEL" --initramfs "$INITRAMFS" --cpus boot=1 \
		--memory "size=${MEM_RAM_MB}M" --cmdline "$CMDLINE kvmm.test=hang"
	if ! mem_run kvmm 1; then
		fail mem-512m "not measured: $MEM_WHY"
		return 0
	fi
	_ram=$(marker_field "$OUT" ram_kb)
	_lo=$(((MEM_RAM_MB - 1) * 1024))
	_hi=$((MEM_RAM_MB * 1024))
	if [ -z "$_ram" ] || [ "$_ram" -lt "$_lo" ] || [ "$_ram" -gt "$_hi" ]; then
		fail mem-512m "want the guest's ram_kb in [$_lo,$_hi], got '${_ram}'"
	elif [ "$_huge" = 1 ] && [ "$MEM_GHUGE" = 0 ]; then
		fail mem-512m "no guest RAM on huge pages although the host allows them for shared memory (shmem_enabled: $_shmem)"
	elif [ "$MEM_OVER" -gt "$_budget" ]; then
		fail mem-512m "kvmm's own memory is ${MEM_OVER} kB, over the budget of $_budget kB (top: $(sort -rn "$MEM_TOP" | head -n 3 | tr '\n' ' '))"
	elif [ "$MEM_STOP" != term ] || [ "$MEM_RC" != 0 ] || [ "$MEM_LEFT" != 0 ]; then
		fail mem-512m "want SIGTERM to end kvmm with exit 0 and nothing left: stop=$MEM_STOP exit=$MEM_RC left=$MEM_LEFT"
		dump_last
	else
		pass mem-512m "ram_kb=$_ram, $MEM_GHUGE kB of it on huge pages; kvmm's own memory ${MEM_OVER} kB (budget $_budget); SIGTERM: exit 0"
	fi
}

scenario mem-512m any sc_mem_512m
bench mem-overhead any sc_mem_overhead
