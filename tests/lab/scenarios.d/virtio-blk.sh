# Lab scenarios for virtio-blk and virtio-rng (sourced by scenarios.sh; POSIX sh).
# The guest side is guest-images/tests/blk-*: each prints KVMM-BLK... lines that these
# functions compare with what the host (L1) knows about the image files.

# blk_image FILE MIB: an image of MIB MiB of random bytes.
blk_image() {
	head -c $(($2 * 1048576)) /dev/urandom >"$1"
}

blk_sha() { sha256sum "$1" | cut -d' ' -f1; }

# The value of KEY= in the first output line that starts with PREFIX.
blk_field() {
	grep -m 1 "^$1" "$OUT" | tr -d '\r' | tr ' ' '\n' | sed -n "s/^$2=//p" | head -n 1
}

# blk-info: two disks (one read-only, both with serials) and the entropy device in one boot;
# the guest's sha256 of each disk must equal the host's.
sc_blk_info() {
	_a=$LAB_TMP/blk-a.img _b=$LAB_TMP/blk-b.img
	blk_image "$_a" 8
	blk_image "$_b" 3
	kvmm_boot blk-info --kernel "$KERNEL" --initramfs "$INITRAMFS" --memory size=512M \
		--disk "path=$_a,readonly=on,serial=KVMM-SER-A" --disk "path=$_b,serial=kvmm-b" \
		--cmdline "$CMDLINE kvmm.test=blk-info" || true
	if [ "$RC" != 0 ] || ! grep -q '^KVMM-BLK-COUNT' "$OUT"; then
		for _n in blk-sha blk-two-disks blk-serial blk-readonly-flag virtio-rng; do
			fail "$_n" "guest test did not run: $(last_run)"
		done
		dump_last
		rm -f "$_a" "$_b"
		return 0
	fi
	_sa=$(blk_field "KVMM-BLK vda" sha) _sb=$(blk_field "KVMM-BLK vdb" sha)
	if [ "$_sa" = "$(blk_sha "$_a")" ] && [ "$_sb" = "$(blk_sha "$_b")" ]; then
		pass blk-sha "vda and vdb match the host's sha256"
	else
		fail blk-sha "guest vda=$_sa vdb=$_sb host $(blk_sha "$_a") $(blk_sha "$_b")"
	fi
	_na=$(blk_field "KVMM-BLK vda" sectors) _nb=$(blk_field "KVMM-BLK vdb" sectors)
	if grep -q '^KVMM-BLK-COUNT 2' "$OUT" && [ "$_na" = 16384 ] && [ "$_nb" = 6144 ]; then
		pass blk-two-disks "vda sectors=$_na vdb sectors=$_nb"
	else
		fail blk-two-disks "want 16384 and 6144 sectors: vda=$_na vdb=$_nb ($(grep KVMM-BLK-COUNT "$OUT"))"
	fi
	_ra=$(blk_field "KVMM-BLK vda" serial) _rb=$(blk_field "KVMM-BLK vdb" serial)
	if [ "$_ra" = KVMM-SER-A ] && [ "$_rb" = kvmm-b ]; then
		pass blk-serial "vda serial=$_ra vdb serial=$_rb"
	else
		fail blk-serial "want KVMM-SER-A and kvmm-b: vda=$_ra vdb=$_rb"
	fi
	_oa=$(blk_field "KVMM-BLK vda" ro) _ob=$(blk_field "KVMM-BLK vdb" ro)
	if [ "$_oa" = 1 ] && [ "$_ob" = 0 ]; then
		pass blk-readonly-flag "vda ro=1 vdb ro=0"
	else
		fail blk-readonly-flag "want vda ro=1 vdb ro=0: vda ro=$_oa vdb ro=$_ob"
	fi
	_cur=$(blk_field KVMM-RNG current) _bytes=$(blk_field KVMM-RNG bytes)
	_rsha=$(blk_field KVMM-RNG sha)
	_zsha=$(head -c 4096 /dev/zero | sha256sum | cut -d' ' -f1)
	case $_cur in
	virtio_rng*)
		if [ "$_bytes" = 4096 ] && [ "$_rsha" != "$_zsha" ]; then
			pass virtio-rng "rng_current=$_cur read 4096 bytes"
		else
			fail virtio-rng "want 4096 non-zero bytes: bytes=$_bytes sha=$_rsha"
		fi
		;;
	*) fail virtio-rng "rng_current=$_cur, want virtio_rng.*" ;;
	esac
	rm -f "$_a" "$_b"
}

# blk-write: patterns at several offsets of a writable disk, synced; every byte of the image
# must then be what the host expects (the original with exactly those patterns). A second,
# read-only disk must refuse the guest's write and stay unchanged.
sc_blk_write() {
	_w=$LAB_TMP/blk-w.img _r=$LAB_TMP/blk-r.img _x=$LAB_TMP/blk-x.img
	blk_image "$_w" 8
	blk_image "$_r" 1
	cp "$_w" "$_x"
	_rsha=$(blk_sha "$_r")
	kvmm_boot blk-write --kernel "$KERNEL" --initramfs "$INITRAMFS" --memory size=512M \
		--disk "path=$_w" --disk "path=$_r,readonly=on" \
		--cmdline "$CMDLINE kvmm.test=blk-write" || true
	_line=$(grep -m 1 '^KVMM-BLK-WRITTEN' "$OUT" | tr -d '\r')
	if [ "$RC" != 0 ] || [ -z "$_line" ]; then
		fail blk-write "guest test did not run: $(last_run)"
		fail blk-readonly "guest test did not run"
		dump_last
		rm -f "$_w" "$_r" "$_x"
		return 0
	fi
	for _off in $(echo "$_line" | sed 's/^KVMM-BLK-WRITTEN //; s/ rc=.*//'); do
		printf 'KVMM-PATTERN-%s' "$_off" | dd of="$_x" bs=1 seek="$_off" conv=notrunc 2>/dev/null
	done
	if [ "$(blk_sha "$_w")" = "$(blk_sha "$_x")" ] && [ "${_line##*rc=}" = 0 ]; then
		pass blk-write "image equals the original plus the patterns at $(echo "$_line" | sed 's/^KVMM-BLK-WRITTEN //')"
	else
		fail blk-write "image differs from the expected one ($_line); first difference: $(cmp "$_w" "$_x" 2>&1 | head -n 1)"
	fi
	_wrc=$(blk_field KVMM-BLK-RO-WRITE rc) _ro=$(blk_field KVMM-BLK-RO-WRITE ro)
	if [ "$_wrc" != 0 ] && [ -n "$_wrc" ] && [ "$_ro" = 1 ] && [ "$(blk_sha "$_r")" = "$_rsha" ]; then
		pass blk-readonly "guest write refused (dd rc=$_wrc), image unchanged"
	else
		fail blk-readonly "want a refused write and an unchanged image: rc=$_wrc ro=$_ro sha_same=$([ "$(blk_sha "$_r")" = "$_rsha" ] && echo yes || echo no)"
	fi
	rm -f "$_w" "$_r" "$_x"
}

# blk-discard: discard frees the image's blocks (a sparser file), write-zeroes reads back zero.
sc_blk_discard() {
	_d=$LAB_TMP/blk-d.img
	blk_image "$_d" 16
	_blocks0=$(stat -c %b "$_d")
	kvmm_boot blk-discard --kernel "$KERNEL" --initramfs "$INITRAMFS" --memory size=512M \
		--disk "path=$_d" --cmdline "$CMDLINE kvmm.test=blk-discard" || true
	_blocks1=$(stat -c %b "$_d")
	_rc=$(blk_field KVMM-BLK-DISCARD rc) _zrc=$(blk_field KVMM-BLK-DISCARD zrc)
	_zsha=$(blk_field KVMM-BLK-DISCARD zsha)
	_want=$(head -c 4194304 /dev/zero | sha256sum | cut -d' ' -f1)
	_host=$(dd if="$_d" bs=1048576 skip=8 count=4 2>/dev/null | sha256sum | cut -d' ' -f1)
	if [ "$RC" = 0 ] && [ "$_rc" = 0 ] && [ "$_blocks1" -lt "$_blocks0" ]; then
		pass blk-discard "blocks $_blocks0 -> $_blocks1"
	else
		fail blk-discard "want rc=0 and fewer blocks: rc=$_rc blocks $_blocks0 -> $_blocks1: $(last_run)"
		dump_last
	fi
	if [ "$RC" = 0 ] && [ "$_zrc" = 0 ] && [ "$_zsha" = "$_want" ] && [ "$_host" = "$_want" ]; then
		pass blk-write-zeroes "4 MiB read back as zeroes by guest and host"
	else
		fail blk-write-zeroes "zrc=$_zrc guest_zero=$([ "$_zsha" = "$_want" ] && echo yes || echo no) host_zero=$([ "$_host" = "$_want" ] && echo yes || echo no)"
	fi
	rm -f "$_d"
}

# blk-crash: kvmm is SIGKILLed right after the guest's fsync returned; the data must be in the
# image (a flush completes only after fdatasync on the host).
sc_blk_crash() {
	_c=$LAB_TMP/blk-c.img
	blk_image "$_c" 1
	_out=$LAB_TMP/blk-crash.out
	: >"$_out"	# now: the background redirection may come after the first grep below
	setsid "$KVMM" --kernel "$KERNEL" --initramfs "$INITRAMFS" --memory size=512M \
		--disk "path=$_c" --cmdline "$CMDLINE kvmm.test=blk-crash" </dev/null >"$_out" 2>&1 &
	_pid=$!
	_i=0
	while ! grep -q KVMM-BLK-SYNCED "$_out" 2>/dev/null && [ $_i -lt $((LAB_TIMEOUT * 5)) ]; do
		sleep 0.2
		_i=$((_i + 1))
	done
	kill -KILL "$_pid" 2>/dev/null || true
	wait "$_pid" 2>/dev/null || true
	_got=$(dd if="$_c" bs=1 skip=65536 count=15 2>/dev/null)
	if grep -q 'KVMM-BLK-SYNCED rc=0' "$_out" && [ "$_got" = KVMM-CRASH-SAFE ]; then
		pass blk-crash "data synced by the guest survived SIGKILL of kvmm"
	else
		fail blk-crash "want the synced pattern in the image: got '$_got' ($(grep -m 1 KVMM-BLK-SYNCED "$_out"))"
		tail -n 20 "$_out" | sed 's/^/  | out: /'
	fi
	rm -f "$_c"
}

# blk-refused: a missing image, an image another kvmm holds, a bad --disk option.
sc_blk_refused() {
	expect_refused blk-missing-image 1 --kernel "$KERNEL" --initramfs "$INITRAMFS" \
		--disk "path=$LAB_TMP/no-such.img" --cmdline "$CMDLINE"
	expect_refused blk-bad-option 2 --kernel "$KERNEL" --initramfs "$INITRAMFS" \
		--disk "path=$LAB_TMP/x.img,cache=none" --cmdline "$CMDLINE"
	_l=$LAB_TMP/blk-l.img
	blk_image "$_l" 1
	setsid "$KVMM" --kernel "$KERNEL" --initramfs "$INITRAMFS" --memory size=128M \
		--disk "path=$_l" --serial off --cmdline "$CMDLINE kvmm.test=hang" </dev/null \
		>/dev/null 2>&1 &
	_pid=$!
	sleep 2
	expect_refused blk-image-locked 1 --kernel "$KERNEL" --initramfs "$INITRAMFS" \
		--disk "path=$_l" --cmdline "$CMDLINE"
	kill -KILL "$_pid" 2>/dev/null || true
	wait "$_pid" 2>/dev/null || true
	rm -f "$_l"
}

# within_pct GOT WANT PCT: GOT is within PCT percent of WANT.
within_pct() {
	[ -n "$1" ] && [ "$1" -ge $(($2 * (100 - $3) / 100)) ] && [ "$1" -le $(($2 * (100 + $3) / 100)) ]
}

# blk-rate: rate limiters (guest-images/tests/blk-rate reads all four disks at once).
# vda: 4 MiB/s (bw_size 1 MiB refilled in 250 ms) with a one-time burst of 1 MiB: 16 MiB take
#      (16 - 1 full bucket - 1 burst) / 4 = 3.5 s.
# vdb: no limit: not slowed by its throttled neighbours (well under half of that).
# vdc, vdd: one rate_limit_group of 4 MiB/s, 8 MiB each: together 16 MiB, so the later one
#      ends at (16 - 1) / 4 = 3.75 s (each alone would take 1.75 s: the group is shared).
# Then a limiter without a refill time is refused, naming the field.
sc_blk_rate() {
	_a=$LAB_TMP/rate-a.img _b=$LAB_TMP/rate-b.img _c=$LAB_TMP/rate-c.img _d=$LAB_TMP/rate-d.img
	blk_image "$_a" 16
	blk_image "$_b" 16
	blk_image "$_c" 8
	blk_image "$_d" 8
	kvmm_boot blk-rate --kernel "$KERNEL" --initramfs "$INITRAMFS" --memory size=512M -v \
		--disk "path=$_a,readonly=on,bw_size=1048576,bw_refill_time=250,bw_one_time_burst=1048576" \
		--disk "path=$_b,readonly=on" \
		--disk "path=$_c,readonly=on,rate_limit_group=g0" \
		--disk "path=$_d,readonly=on,rate_limit_group=g0" \
		--rate-limit-group "id=g0,bw_size=1048576,bw_refill_time=250" \
		--cmdline "$CMDLINE kvmm.test=blk-rate" || true
	if [ "$RC" != 0 ] || ! grep -q '^KVMM-BLK-RATE-DONE' "$OUT"; then
		for _n in blk-rate blk-rate-unlimited blk-rate-group; do
			fail "$_n" "guest test did not run: $(last_run)"
		done
		dump_last
	else
		_ta=$(blk_field "KVMM-BLK-RATE dev=vda" ms) _tb=$(blk_field "KVMM-BLK-RATE dev=vdb" ms)
		_tc=$(blk_field "KVMM-BLK-RATE dev=vdc" ms) _td=$(blk_field "KVMM-BLK-RATE dev=vdd" ms)
		_rcs=$(grep '^KVMM-BLK-RATE dev' "$OUT" | tr -d '\r' | sed -n 's/.* rc=//p' | sort -u | tr '\n' ' ')
		_paused=$(sed -n 's/.*virtio-blk \([^:]*\): the rate limiter paused the queue \([0-9]*\) times.*/\1=\2/p' "$ERR" | tr '\n' ' ')
		_how="($(grep -m 1 '^KVMM-BLK-RATE-DONE' "$OUT" | tr -d '\r' | sed 's/.*DONE //'); paused: $_paused)"
		if [ "$_rcs" = "0 " ] && within_pct "$_ta" 3500 15; then
			pass blk-rate "16 MiB at 4 MiB/s + 2 MiB burst: ${_ta} ms, want 3500 +-15% $_how"
		else
			fail blk-rate "16 MiB at 4 MiB/s + 2 MiB burst: ${_ta} ms, want 3500 +-15%; dd rc $_rcs $_how"
		fi
		if [ -n "$_tb" ] && [ "$_tb" -lt 1750 ]; then
			pass blk-rate-unlimited "16 MiB from the unlimited disk alongside: ${_tb} ms"
		else
			fail blk-rate-unlimited "16 MiB from the unlimited disk alongside: ${_tb} ms, want < 1750"
		fi
		_tmax=$_tc
		[ -n "$_td" ] && [ -n "$_tc" ] && [ "$_td" -gt "$_tc" ] && _tmax=$_td
		if [ -n "$_tmax" ] && within_pct "$_tmax" 3750 15; then
			pass blk-rate-group "2 x 8 MiB through one 4 MiB/s group: ${_tc} and ${_td} ms, want the later at 3750 +-15%"
		else
			fail blk-rate-group "2 x 8 MiB through one 4 MiB/s group: ${_tc} and ${_td} ms, want the later at 3750 +-15%"
		fi
	fi
	rm -f "$_a" "$_b" "$_c" "$_d"
	if kvmm_boot blk-rate-refused --kernel "$KERNEL" --initramfs "$INITRAMFS" \
		--disk "path=$LAB_TMP/x.img,bw_size=1048576" --cmdline "$CMDLINE" &&
		[ "$RC" = 2 ] && grep -q 'bw_refill_time' "$ERR"; then
		pass blk-rate-refused "exit=$RC: $(grep -v '^$' "$ERR" | head -n 1 | cut -c1-140)"
	else
		fail blk-rate-refused "want exit 2 naming bw_refill_time: $(last_run)"
	fi
}

scenario blk-info any sc_blk_info
scenario blk-write any sc_blk_write
scenario blk-discard any sc_blk_discard
scenario blk-crash any sc_blk_crash
scenario blk-refused any sc_blk_refused
scenario blk-rate any sc_blk_rate
