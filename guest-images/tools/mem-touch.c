/*
 * mem-touch: allocate and use guest RAM, for the guest test hotplug (guest-images/tests/hotplug)
 * after memory was hot-plugged. A static guest test tool (guest-images/tools).
 *
 *   mem-touch MIB [LO HI [LO2]]
 *                maps MIB MiB of anonymous memory, writes a pattern into every 4 KiB page (two
 *                64-bit words, at its start and its end, that depend on the page's index), then
 *                reads every page back and checks it; with LO HI (guest-physical byte
 *                addresses, decimal or 0x hex) it also counts, from /proc/self/pagemap (root:
 *                PFNs are visible), how many of the pages are backed by guest-physical memory
 *                in [LO, HI), and with LO2 how many in [LO2, HI)
 *
 * Two pages that the VMM backed with the same host memory, or memory that does not keep what
 * was written, show as a mismatch. Prints one line, "mem-touch: ok mib=N pages=P in_range=K
 * in_range2=K2 ms=T" (a count "-" without its range) or "mem-touch: FAILED <why>"; exit 0 only
 * on success.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define PAGE 4096UL

static uint64_t pattern(uint64_t i, int end)
{
	return (i * 0x9E3779B97F4A7C15ULL) ^ (end ? 0xA5A5A5A55A5A5A5AULL : 0x0123456789ABCDEFULL);
}

static long now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000L + t.tv_nsec / 1000000L;
}

int main(int argc, char **argv)
{
	uint64_t mib, pages, i, lo = 0, hi = 0, lo2 = 0, in_range = 0, in_range2 = 0;
	volatile uint64_t *w;
	unsigned char *p;
	long t0 = now_ms();
	char *end;

	if (argc < 2 || argc == 3 || argc > 5) {
		fprintf(stderr, "usage: mem-touch MIB [LO HI [LO2]]\n");
		return 2;
	}
	mib = strtoull(argv[1], &end, 10);
	if (*end || !mib) {
		printf("mem-touch: FAILED bad MIB '%s'\n", argv[1]);
		return 2;
	}
	if (argc >= 4) {
		lo = strtoull(argv[2], NULL, 0);
		hi = strtoull(argv[3], NULL, 0);
	}
	lo2 = argc == 5 ? strtoull(argv[4], NULL, 0) : hi;
	pages = mib * (1048576 / PAGE);
	p = mmap(NULL, pages * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		printf("mem-touch: FAILED mmap %" PRIu64 " MiB: %s\n", mib, strerror(errno));
		return 1;
	}
	for (i = 0; i < pages; i++) {
		w = (volatile uint64_t *)(p + i * PAGE);
		w[0] = pattern(i, 0);
		w[PAGE / 8 - 1] = pattern(i, 1);
	}
	for (i = 0; i < pages; i++) {
		w = (volatile uint64_t *)(p + i * PAGE);
		if (w[0] != pattern(i, 0) || w[PAGE / 8 - 1] != pattern(i, 1)) {
			printf("mem-touch: FAILED page %" PRIu64 " of %" PRIu64 " holds %016" PRIx64
			       "/%016" PRIx64 ", want %016" PRIx64 "/%016" PRIx64 "\n", i, pages, w[0],
			       w[PAGE / 8 - 1], pattern(i, 0), pattern(i, 1));
			return 1;
		}
	}
	if (argc >= 4) {
		int fd = open("/proc/self/pagemap", O_RDONLY);
		uint64_t buf[512], n, j, pfn;
		ssize_t r;

		if (fd < 0) {
			printf("mem-touch: FAILED /proc/self/pagemap: %s\n", strerror(errno));
			return 1;
		}
		for (i = 0; i < pages; i += n) {
			n = pages - i < 512 ? pages - i : 512;
			r = pread(fd, buf, n * 8, (off_t)(((uintptr_t)p / PAGE + i) * 8));
			if (r != (ssize_t)(n * 8)) {
				printf("mem-touch: FAILED reading /proc/self/pagemap: %s\n",
				       r < 0 ? strerror(errno) : "short read");
				return 1;
			}
			for (j = 0; j < n; j++) {
				if (!(buf[j] >> 63))
					continue;
				pfn = buf[j] & ((1ULL << 55) - 1);
				if (pfn * PAGE >= lo && pfn * PAGE < hi)
					in_range++;
				if (pfn * PAGE >= lo2 && pfn * PAGE < hi)
					in_range2++;
			}
		}
		close(fd);
		printf("mem-touch: ok mib=%" PRIu64 " pages=%" PRIu64 " in_range=%" PRIu64, mib,
		       pages, in_range);
		if (argc == 5)
			printf(" in_range2=%" PRIu64, in_range2);
		else
			printf(" in_range2=-");
		printf(" ms=%ld\n", now_ms() - t0);
	} else {
		printf("mem-touch: ok mib=%" PRIu64 " pages=%" PRIu64 " in_range=- in_range2=- ms=%ld\n",
		       mib, pages, now_ms() - t0);
	}
	return 0;
}
