/*
 * fs-mmap: shared file mappings on a virtio-fs mount, for the guest test virtiofs
 * (guest-images/tests/virtiofs). A static guest test tool (guest-images/tools).
 *
 *   fs-mmap write FILE BYTES PREFIX   creates FILE with BYTES bytes (a multiple of 16), maps it
 *                                     MAP_SHARED, writes the pattern through the mapping,
 *                                     msync(MS_SYNC)s it, reads it back through the mapping,
 *                                     unmaps it, then reads it back with read()
 *   fs-mmap check FILE PREFIX mmap|read
 *                                     checks that FILE (written by someone else, e.g. the
 *                                     host) holds the pattern, through a MAP_SHARED read-only
 *                                     mapping or with read()
 *
 * The pattern is a run of 16-byte records: PREFIX, the record's index in lower-case hex,
 * zero-padded to fill the record, and a newline ("GUESTMMAP-0001f\n"), so that a shell on the
 * host can write or check the same bytes with awk. Prints one line, "fs-mmap: <verb> ok
 * bytes=N ..." or "fs-mmap: <verb> FAILED <why>"; exit 0 only on success.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define REC 16

static const char *verb = "?";

static int failed(const char *fmt, const char *a, long long b)
{
	printf("fs-mmap: %s FAILED ", verb);
	printf(fmt, a, b);
	printf("\n");
	return 1;
}

/* Record I of the pattern with PREFIX into OUT (REC bytes, no terminator). */
static int record(char *out, const char *prefix, unsigned long long i)
{
	char tmp[REC + 1];
	int width = REC - 1 - (int)strlen(prefix);

	if (width < 1 || snprintf(tmp, sizeof(tmp), "%s%0*llx\n", prefix, width, i) != REC)
		return -1;
	memcpy(out, tmp, REC);
	return 0;
}

/* Compares BYTES bytes at P with the pattern; returns the offset of the first bad record or -1. */
static long long mismatch(const char *p, size_t bytes, const char *prefix)
{
	char want[REC];

	for (size_t off = 0; off < bytes; off += REC) {
		if (record(want, prefix, off / REC) || memcmp(p + off, want, REC))
			return (long long)off;
	}
	return -1;
}

/* Reads all of FD (BYTES bytes) into a new buffer; NULL on error. */
static char *read_all(int fd, size_t bytes)
{
	char *buf = malloc(bytes ? bytes : 1);
	size_t got = 0;

	if (!buf)
		return NULL;
	while (got < bytes) {
		ssize_t n = pread(fd, buf + got, bytes - got, (off_t)got);

		if (n <= 0) {
			free(buf);
			return NULL;
		}
		got += (size_t)n;
	}
	return buf;
}

static int do_write(const char *path, size_t bytes, const char *prefix)
{
	long long bad;
	char *map, *buf;
	int fd;

	if (bytes == 0 || bytes % REC)
		return failed("%s: size %lld is not a positive multiple of 16", path, (long long)bytes);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		return failed("open %s: errno %lld", path, errno);
	if (ftruncate(fd, (off_t)bytes))
		return failed("ftruncate %s: errno %lld", path, errno);
	map = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED)
		return failed("mmap MAP_SHARED %s: errno %lld", path, errno);
	for (size_t off = 0; off < bytes; off += REC) {
		if (record(map + off, prefix, off / REC))
			return failed("prefix '%s' too long (%lld)", prefix, (long long)strlen(prefix));
	}
	if (msync(map, bytes, MS_SYNC))
		return failed("msync %s: errno %lld", path, errno);
	bad = mismatch(map, bytes, prefix);
	if (bad >= 0)
		return failed("%s: the mapping reads back wrong at %lld", path, bad);
	if (munmap(map, bytes))
		return failed("munmap %s: errno %lld", path, errno);
	buf = read_all(fd, bytes);
	if (!buf)
		return failed("read back %s: errno %lld", path, errno);
	bad = mismatch(buf, bytes, prefix);
	free(buf);
	if (bad >= 0)
		return failed("%s: read() after munmap differs at %lld", path, bad);
	if (fsync(fd) || close(fd))
		return failed("fsync/close %s: errno %lld", path, errno);
	printf("fs-mmap: write ok bytes=%zu\n", bytes);
	return 0;
}

static int do_check(const char *path, const char *prefix, int use_mmap)
{
	struct stat st;
	long long bad;
	size_t bytes;
	char *p;
	int fd;

	fd = open(path, O_RDONLY);
	if (fd < 0)
		return failed("open %s: errno %lld", path, errno);
	if (fstat(fd, &st))
		return failed("fstat %s: errno %lld", path, errno);
	bytes = (size_t)st.st_size;
	if (bytes == 0 || bytes % REC)
		return failed("%s: size %lld is not a positive multiple of 16", path, (long long)bytes);
	if (use_mmap) {
		p = mmap(NULL, bytes, PROT_READ, MAP_SHARED, fd, 0);
		if (p == MAP_FAILED)
			return failed("mmap MAP_SHARED %s: errno %lld", path, errno);
	} else {
		p = read_all(fd, bytes);
		if (!p)
			return failed("read %s: errno %lld", path, errno);
	}
	bad = mismatch(p, bytes, prefix);
	if (use_mmap)
		munmap(p, bytes);
	else
		free(p);
	close(fd);
	if (bad >= 0)
		return failed("%s differs from the pattern at %lld", path, bad);
	printf("fs-mmap: check ok bytes=%zu via=%s\n", bytes, use_mmap ? "mmap" : "read");
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 5 && !strcmp(argv[1], "write")) {
		verb = "write";
		return do_write(argv[2], strtoull(argv[3], NULL, 0), argv[4]);
	}
	if (argc == 5 && !strcmp(argv[1], "check") &&
	    (!strcmp(argv[4], "mmap") || !strcmp(argv[4], "read"))) {
		verb = "check";
		return do_check(argv[2], argv[3], !strcmp(argv[4], "mmap"));
	}
	fprintf(stderr, "usage: fs-mmap write FILE BYTES PREFIX | check FILE PREFIX mmap|read\n");
	return 2;
}
