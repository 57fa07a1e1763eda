/*
 * Whole-file read-only mappings (see file.h).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "file.h"
#include "log.h"

int file_map(const char *path, const char *what, struct file_map *fm)
{
	struct stat st;
	void *p;
	int fd, ret = 0;

	fm->data = NULL;
	fm->len = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		pr_err("%s %s: %s", what, path, strerror(errno));
		return ret;
	}
	if (fstat(fd, &st) < 0) {
		ret = -errno;
		pr_err("%s %s: %s", what, path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		pr_err("%s %s: not a regular file", what, path);
		ret = -EINVAL;
		goto out;
	}
	if (st.st_size == 0) {
		pr_err("%s %s: file is empty", what, path);
		ret = -ENOEXEC;
		goto out;
	}
	/* Populated at once: the file is read whole right after (a kernel or initramfs copied
	 * into guest RAM), and one pass through the page cache costs far less than a fault for
	 * every 64 KiB of it (about 600 for a 33 MiB arm64 Image). */
	p = mmap(NULL, st.st_size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
	if (p == MAP_FAILED) {
		ret = -errno;
		pr_err("%s %s: mmap: %s", what, path, strerror(errno));
		goto out;
	}
	fm->data = p;
	fm->len = st.st_size;
out:
	close(fd);
	return ret;
}

void file_unmap(struct file_map *fm)
{
	if (fm->data)
		munmap((void *)fm->data, fm->len);
	fm->data = NULL;
	fm->len = 0;
}
