/*
 * Guest RAM allocation (one memfd, one shared mapping, transparent huge pages
 * on request, a hot-plug region that grows in place) and the bounds-checked
 * accessor every other file uses to reach guest memory.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
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

/* The memfd flags for pages of PAGE_SIZE bytes (0: the system's), or -1 for a bad size. */
static int page_flags(uint64_t page_size)
{
	if (page_size == 0)
		return 0;
	if (page_size != GM_HUGE_2M && page_size != GM_HUGE_1G)
		return -1;
	/* The page size goes into the flags as log2 << MFD_HUGE_SHIFT (linux/memfd.h, which
	 * clashes with glibc's sys/mman.h); the shift is MAP_HUGE_SHIFT's, 26. */
	return (int)(MFD_HUGETLB | ((unsigned int)__builtin_ctzll(page_size) << MAP_HUGE_SHIFT));
}

/* Maps LEN bytes of the memfd from OFFSET at AT (MAP_FIXED), or anywhere when AT is NULL. */
static uint8_t *map_ram(struct guest_mem *gm, uint8_t *at, uint64_t offset, uint64_t len)
{
	uint8_t *p = mmap(at, len, PROT_READ | PROT_WRITE, MAP_SHARED | (at ? MAP_FIXED : 0),
			  gm->fd, (off_t)offset);

	if (p == MAP_FAILED)
		return NULL;
	/* Guest RAM is never worth a core dump and must not leak into a fork. */
	madvise(p, len, MADV_DONTDUMP);
	madvise(p, len, MADV_DONTFORK);
	return p;
}

int gm_create_ex(struct guest_mem *gm, const struct gm_region *layout, unsigned int nr,
		 uint64_t page_size, uint64_t hp_gpa, uint64_t hp_max)
{
	int flags = page_flags(page_size);
	uint64_t page = page_size ? page_size : (uint64_t)sysconf(_SC_PAGESIZE);
	uint64_t total = 0, prev_end = 0;
	unsigned int i;
	int ret;

	memset(gm, 0, sizeof(*gm));
	gm->fd = -1;
	if (flags < 0 || nr == 0 || nr > GM_MAX_REGIONS - (hp_max ? 1 : 0))
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
	if (hp_max && (hp_gpa % page || hp_max % page || hp_gpa < prev_end ||
		       hp_gpa + hp_max < hp_gpa || total + hp_max < total))
		return -EINVAL;

	gm->fd = memfd_create("kvmm-ram", MFD_CLOEXEC | (unsigned int)flags);
	if (gm->fd < 0)
		return -errno;
	if (ftruncate(gm->fd, (off_t)total) < 0) {
		ret = -errno;
		goto err_close;
	}
	if (hp_max) {
		/* Address space for boot RAM and all the hot-plug region; nothing backs it
		 * yet.  Aligned to the page size (MAP_FIXED of hugetlbfs pages needs it) and
		 * at least to 2 MiB: a transparent huge page backs a 2 MiB guest page only where
		 * host and guest addresses agree modulo 2 MiB, as the kernel arranges for a
		 * shared mapping it places itself. */
		uint64_t align = page > GM_HUGE_2M ? page : GM_HUGE_2M;

		gm->resv_len = total + hp_max + align;
		gm->resv = mmap(NULL, gm->resv_len, PROT_NONE,
				MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (gm->resv == MAP_FAILED) {
			ret = -errno;
			gm->resv = NULL;
			goto err_close;
		}
		gm->base = (uint8_t *)(((uintptr_t)gm->resv + align - 1) & ~(uintptr_t)(align - 1));
		gm->base = map_ram(gm, gm->base, 0, total);
	} else {
		gm->base = map_ram(gm, NULL, 0, total);
	}
	if (!gm->base) {
		ret = -errno;
		goto err_unmap;
	}

	gm->total = total;
	gm->page = page;
	gm->nr_regions = gm->nr_boot = nr;
	gm->hp_gpa = hp_gpa;
	gm->hp_max = hp_max;
	total = 0;
	for (i = 0; i < nr; i++) {
		gm->regions[i] = layout[i];
		gm->regions[i].host = gm->base + total;
		gm->regions[i].fd_offset = total;
		total += layout[i].size;
	}
	return 0;

err_unmap:
	if (gm->resv)
		munmap(gm->resv, gm->resv_len);
	gm->resv = NULL;
err_close:
	close(gm->fd);
	gm->fd = -1;
	return ret;
}

int gm_create(struct guest_mem *gm, const struct gm_region *layout,
	      unsigned int nr)
{
	return gm_create_ex(gm, layout, nr, 0, 0, 0);
}

int gm_create_huge(struct guest_mem *gm, const struct gm_region *layout,
		   unsigned int nr, uint64_t page_size)
{
	return gm_create_ex(gm, layout, nr, page_size, 0, 0);
}

int gm_hotplug_add(struct guest_mem *gm, uint64_t size, struct gm_region *added)
{
	struct gm_region *r = &gm->regions[gm->nr_boot];
	uint64_t off = gm->total + gm->hp_size, mapped;
	struct stat st;
	int ret;

	if (!gm->hp_max || !size || size % gm->page)
		return -EINVAL;
	if (size > gm->hp_max - gm->hp_size)
		return -ENOSPC;
	/* Growing the file never shrinks it below a range an earlier, undone add mapped. */
	if (fstat(gm->fd, &st) < 0)
		return -errno;
	if ((uint64_t)st.st_size < off + size && ftruncate(gm->fd, (off_t)(off + size)) < 0)
		return -errno;
	if (!map_ram(gm, gm->base + off, off, size)) {
		ret = -errno;
		goto err_truncate;
	}
	if (gm->thp)
		madvise(gm->base + off, size, MADV_HUGEPAGE);
	*added = (struct gm_region){
		.gpa = gm->hp_gpa + gm->hp_size, .size = size, .host = gm->base + off,
		.fd_offset = off,
	};
	if (gm->hp_size == 0) {
		*r = (struct gm_region){ .gpa = gm->hp_gpa, .host = gm->base + gm->total,
					 .fd_offset = gm->total };
		__atomic_store_n(&r->size, size, __ATOMIC_RELEASE);
		__atomic_store_n(&gm->nr_regions, gm->nr_boot + 1, __ATOMIC_RELEASE);
	} else {
		__atomic_store_n(&r->size, gm->hp_size + size, __ATOMIC_RELEASE);
	}
	gm->hp_size += size;
	return 0;

err_truncate:
	/* Back as it was (a failed MAP_FIXED may have unmapped the range): the file again
	 * where an earlier, undone add had mapped it (a thread may still hold a pointer
	 * there), the reservation beyond, and the file's old size. */
	mapped = (uint64_t)st.st_size > off ? (uint64_t)st.st_size - off : 0;
	if (mapped > size)
		mapped = size;
	if (mapped)
		map_ram(gm, gm->base + off, off, mapped);
	if (size > mapped)
		mmap(gm->base + off + mapped, size - mapped, PROT_NONE,
		     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1, 0);
	if ((uint64_t)st.st_size < off + size && ftruncate(gm->fd, st.st_size) < 0)
		pr_warn("memory: shrinking the RAM file back: %s", strerror(errno));
	return ret;
}

void gm_hotplug_undo(struct guest_mem *gm, uint64_t size)
{
	if (!size || size > gm->hp_size)
		return;
	gm->hp_size -= size;
	if (gm->hp_size == 0)
		__atomic_store_n(&gm->nr_regions, gm->nr_boot, __ATOMIC_RELEASE);
	else
		__atomic_store_n(&gm->regions[gm->nr_boot].size, gm->hp_size, __ATOMIC_RELEASE);
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
	if (gm->resv)
		munmap(gm->resv, gm->resv_len);
	else if (gm->base)
		munmap(gm->base, gm->total);
	if (gm->fd >= 0)
		close(gm->fd);
	memset(gm, 0, sizeof(*gm));
	gm->fd = -1;
}

void *gm_ptr(const struct guest_mem *gm, uint64_t gpa, uint64_t len)
{
	unsigned int i, nr = __atomic_load_n(&gm->nr_regions, __ATOMIC_ACQUIRE);

	for (i = 0; i < nr; i++) {
		const struct gm_region *r = &gm->regions[i];
		uint64_t size = __atomic_load_n(&r->size, __ATOMIC_ACQUIRE);

		/* Written so that no expression can wrap: offset < size is
		 * known before size - offset is formed.  A non-empty range that
		 * starts where this region ends belongs to the next one (the
		 * hot-plug region may start right there). */
		if (gpa < r->gpa)
			continue;
		if (gpa - r->gpa > size || (gpa - r->gpa == size && len))
			continue;
		if (len > size - (gpa - r->gpa))
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
	return gm->total + gm->hp_size;
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
	gm->thp = true;
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
