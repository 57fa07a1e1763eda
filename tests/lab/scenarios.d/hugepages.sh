# Lab scenario mem-hugetlb (sourced by scenarios.sh; POSIX sh; uses memory.sh's mem_start,
# mem_wait and mem_stop): guest RAM on hugetlbfs pages (--memory hugepages=on, Kata's
# enable_hugepages). The scenario reserves 2 MiB pages in the host's pool for itself and gives
# them back at the end:
#   - a 256 MiB guest boots on them: the pool's committed pages (total - free + reserved)
#     grow by exactly 128 while kvmm runs, the guest sees its 256 MiB, SIGTERM ends kvmm with
#     exit 0 and the pages return to the pool;
#   - a guest larger than what is left is refused before it runs (exit 1, a message naming the
#     huge pages), not killed by SIGBUS later.

HUGE_POOL=/proc/sys/vm/nr_hugepages

# huge_committed: 2 MiB pages of the pool in use or promised (HugePages_Total - Free + Rsvd).
huge_committed() {
	awk '$1 == "HugePages_Total:" { t = $2 } $1 == "HugePages_Free:" { f = $2 }
	     $1 == "HugePages_Rsvd:" { r = $2 } END { print t - f + r }' /proc/meminfo
}

huge_total() { awk '$1 == "HugePages_Total:" { print $2 }' /proc/meminfo; }

sc_mem_hugetlb() {
	if [ ! -w "$HUGE_POOL" ] || ! have_kvmm; then
		fail mem-hugetlb "no writable $HUGE_POOL (or no kvmm)"
		return 0
	fi
	_hold=$(cat "$HUGE_POOL")
	_want=$((_hold + 136))	# 128 for the guest, 8 to spare
	echo "$_want" >"$HUGE_POOL" 2>/dev/null || true
	if [ "$(huge_total)" -lt "$_want" ]; then
		fail mem-hugetlb "the host could reserve only $(huge_total) of $_want 2 MiB pages"
		echo "$_hold" >"$HUGE_POOL"
		return 0
	fi
	_before=$(huge_committed)
	mem_start mem-hugetlb "$KVMM" --kernel "$KERNEL" --initramfs "$INITRAMFS" --cpus boot=1 \
		--memory size=256M,hugepages=on --cmdline "$CMDLINE kvmm.test=hang"
	_used=none
	if mem_wait "$LAB_TIMEOUT"; then
		_used=$(($(huge_committed) - _before))
	fi
	_ram=$(marker_field "$OUT" ram_kb)
	mem_stop "$MEM_P"
	_after=$(($(huge_committed) - _before))
	if [ "$_used" = none ] || [ -z "$_ram" ]; then
		fail mem-hugetlb "no marker from a 256 MiB guest on huge pages (stop=$MEM_STOP exit=$MEM_RC)"
		dump_last
	elif [ "$_used" != 128 ] || [ "$_ram" -lt $((255 * 1024)) ] || [ "$_ram" -gt $((256 * 1024)) ]; then
		fail mem-hugetlb "want 128 pages committed and ram_kb in [261120,262144]: $_used pages, ram_kb=$_ram"
	elif [ "$MEM_STOP" != term ] || [ "$MEM_RC" != 0 ] || [ "$_after" != 0 ]; then
		fail mem-hugetlb "want SIGTERM to end kvmm (exit 0) and the pages back: stop=$MEM_STOP exit=$MEM_RC pages still held=$_after"
	else
		pass mem-hugetlb "256 MiB guest on 128 x 2 MiB pages (ram_kb=$_ram), returned at exit"
	fi
	# 136 pages are in the pool: a 512 MiB guest (256 pages) does not fit.
	kvmm_boot mem-hugetlb-short --kernel "$KERNEL" --initramfs "$INITRAMFS" \
		--memory size=512M,hugepages=on --cmdline "$CMDLINE" || true
	if [ "$RC" = 1 ] && [ -z "$MARKER" ] && grep -q 'huge pages' "$ERR"; then
		pass mem-hugetlb-short "exit=1: $(grep -m 1 'huge pages' "$ERR" | cut -c1-140)"
	else
		fail mem-hugetlb-short "want exit 1 and a message on huge pages: $(last_run)"
		dump_last
	fi
	echo "$_hold" >"$HUGE_POOL" 2>/dev/null || true
}

scenario mem-hugetlb any sc_mem_hugetlb
