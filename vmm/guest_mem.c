/*
 * Guest RAM allocation (one memfd, one shared mapping, transparent huge pages
 * on request) and the bounds-checked accessor every other file uses to reach
 * guest memory.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "guest_mem.h"
#include "log.h"

/* The first line of a sysfs file into line; 0 or -errno. */
static int read_sysfs_line(const char *path, char *line, int len)
{
	FILE *f = fopen(path, "re");
	int ret = 0;

	if (!f)
		return -errno;
	if (!fgets(line, len, f))
		ret = -EIO;
	fclose(f);
	return ret;
}

/* gm_create() with pages of PAGE bytes: the system's, or hugetlbfs pages (flags MFD_HUGETLB). */
static int gm_create_pages(struct guest_mem *gm, const struct gm_region *layout,
			   unsigned int nr, uint64_t page, unsigned int flags)
{
	uint64_t total = 0, prev_end = 0;
	unsigned int i;
	int ret;

	memset(gm, 0, sizeof(*gm));
	gm->fd = -1;
	if (nr == 0 || nr > GM_MAX_REGIONS)
		return -EINVAL;
	for (i = 0; i < nr; i++) {
		const struct gm_region *r = &layout[i];

		if (r->size == 0 || r->size % page || r->gpa % page)
			return -EINVAL;
		if (r->gpa + r->size < r->gpa || (i && r->gpa < prev_end))
			return -EINVAL;
		if (total + r->size < total)
			return -EINVAL;
		prev_end = r->gpa + r->size;
		total += r->size;
	}

	gm->fd = memfd_create("kvmm-ram", MFD_CLOEXEC | flags);
	if (gm->fd < 0)
		return -errno;
	if (ftruncate(gm->fd, (off_t)total) < 0) {
		ret = -errno;
		goto err_close;
	}
	gm->base = mmap(NULL, total, PROT_READ | PROT_WRITE, MAP_SHARED,
			gm->fd, 0);
	if (gm->base == MAP_FAILED) {
		ret = -errno;
		gm->base = NULL;
		goto err_close;
	}
	/* Guest RAM is never worth a core dump and must not leak into a fork. */
	madvise(gm->base, total, MADV_DONTDUMP);
	madvise(gm->base, total, MADV_DONTFORK);

	gm->total = total;
	gm->nr_regions = nr;
	total = 0;
	for (i = 0; i < nr; i++) {
		gm->regions[i] = layout[i];
		gm->regions[i].host = gm->base + total;
		gm->regions[i].fd_offset = total;
		total += layout[i].size;
	}
	return 0;

err_close:
	close(gm->fd);
	gm->fd = -1;
	return ret;
}

int gm_create(struct guest_mem *gm, const struct gm_region *layout,
	      unsigned int nr)
{
	return gm_create_pages(gm, layout, nr, (uint64_t)sysconf(_SC_PAGESIZE), 0);
}

int gm_create_huge(struct guest_mem *gm, const struct gm_region *layout,
		   unsigned int nr, uint64_t page_size)
{
	unsigned int shift;

	if (page_size == 0)
		return gm_create(gm, layout, nr);
	if (page_size != GM_HUGE_2M && page_size != GM_HUGE_1G) {
		memset(gm, 0, sizeof(*gm));
		gm->fd = -1;
		return -EINVAL;
	}
	/* The page size goes into the flags as log2 << MFD_HUGE_SHIFT (linux/memfd.h, which
	 * clashes with glibc's sys/mman.h); the shift is MAP_HUGE_SHIFT's, 26. */
	shift = (unsigned int)__builtin_ctzll(page_size);
	return gm_create_pages(gm, layout, nr, page_size,
			       MFD_HUGETLB | (shift << MAP_HUGE_SHIFT));
}

long gm_free_huge_pages(uint64_t page_size)
{
	char path[96], line[32], *end;
	long n;

	snprintf(path, sizeof(path), "/sys/kernel/mm/hugepages/hugepages-%llukB/free_hugepages",
		 (unsigned long long)(page_size >> 10));
	if (read_sysfs_line(path, line, sizeof(line)))
		return -1;
	n = strtol(line, &end, 10);
	return end == line || n < 0 ? -1 : n;
}

void gm_destroy(struct guest_mem *gm)
{
	if (gm->base)
		munmap(gm->base, gm->total);
	if (gm->fd >= 0)
		close(gm->fd);
	memset(gm, 0, sizeof(*gm));
	gm->fd = -1;
}

void *gm_ptr(const struct guest_mem *gm, uint64_t gpa, uint64_t len)
{
	unsigned int i;

	for (i = 0; i < gm->nr_regions; i++) {
		const struct gm_region *r = &gm->regions[i];

		/* Written so that no expression can wrap: offset < size is
		 * known before size - offset is formed. */
		if (gpa < r->gpa)
			continue;
		if (gpa - r->gpa > r->size)
			continue;
		if (len > r->size - (gpa - r->gpa))
			return NULL;
		return r->host + (gpa - r->gpa);
	}
	return NULL;
}

int gm_read(const struct guest_mem *gm, uint64_t gpa, void *dst, uint64_t len)
{
	const void *src = gm_ptr(gm, gpa, len);

	if (!src)
		return -EFAULT;
	memcpy(dst, src, len);
	return 0;
}

int gm_write(const struct guest_mem *gm, uint64_t gpa, const void *src,
	     uint64_t len)
{
	void *dst = gm_ptr(gm, gpa, len);

	if (!dst)
		return -EFAULT;
	memcpy(dst, src, len);
	return 0;
}

uint64_t gm_ram_size(const struct guest_mem *gm)
{
	return gm->total;
}

int gm_advise_huge(struct guest_mem *gm)
{
	char mode[16];
	int ret;

	if (!gm->base || !gm->total)
		return -EINVAL;
	if (madvise(gm->base, gm->total, MADV_HUGEPAGE) < 0) {
		ret = -errno;
		pr_info("memory: no transparent huge pages for guest RAM (madvise: %s)",
			strerror(-ret));
		return ret;
	}
	if (gm_host_shmem_thp(mode, sizeof(mode)) == 0 &&
	    (!strcmp(mode, "never") || !strcmp(mode, "deny")))
		pr_info("memory: guest RAM on 4 KiB pages: the host's transparent_hugepage/"
			"shmem_enabled is '%s' ('advise' lets kvmm use 2 MiB pages)", mode);
	return 0;
}

int gm_host_shmem_thp(char *buf, size_t len)
{
	char line[128], *open_b, *close_b;
	int ret;

	if (!len)
		return -EINVAL;
	ret = read_sysfs_line("/sys/kernel/mm/transparent_hugepage/shmem_enabled", line,
			      sizeof(line));
	if (ret)
		return ret;
	open_b = strchr(line, '[');
	close_b = open_b ? strchr(open_b, ']') : NULL;
	if (!close_b || (size_t)(close_b - open_b - 1) >= len)
		return -EINVAL;
	memcpy(buf, open_b + 1, (size_t)(close_b - open_b - 1));
	buf[close_b - open_b - 1] = '\0';
	return 0;
}
