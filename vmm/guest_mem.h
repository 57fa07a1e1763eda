/*
 * Guest RAM: one memfd-backed mapping split into guest-physical regions,
 * and the only accessor through which kvmm code may touch guest memory.
 *
 * Memory hot-plug: a guest_mem may reserve host address space right after
 * boot RAM for a hot-plug region of up to hp_max bytes at guest-physical
 * hp_gpa.  gm_hotplug_add() grows the memfd and maps the new bytes there,
 * so host pointers never move and the memfd stays the one file a vhost-user
 * back-end maps.  The region is regions[nr_boot] once something is plugged;
 * it only grows (a guest gives memory back only by rebooting).  Readers on
 * other threads (device workers) see nr_regions and the region's size
 * through acquire loads, published with release stores after the mapping.
 *
 * Every guest-physical address that comes from the guest (or from a file
 * we load) is hostile.  gm_ptr() checks the start *and* the end of a range
 * with overflow-safe arithmetic and returns NULL unless the whole range lies
 * inside a single RAM region.  Nothing else in kvmm computes host pointers
 * into guest RAM.
 */
#ifndef KVMM_GUEST_MEM_H
#define KVMM_GUEST_MEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GM_MAX_REGIONS 4

struct gm_region {
	uint64_t gpa;		/* guest-physical start */
	uint64_t size;		/* bytes */
	uint8_t *host;		/* host mapping of gpa */
	uint64_t fd_offset;	/* offset of this region inside the memfd */
};

struct guest_mem {
	int fd;			/* memfd backing all regions, -1 if none */
	uint8_t *base;		/* start of the single host mapping */
	uint64_t total;		/* bytes of boot RAM mapped from base */
	uint64_t page;		/* the memfd's page size */
	unsigned int nr_regions;	/* atomic: boot regions, + 1 once RAM is hot-plugged */
	unsigned int nr_boot;		/* boot regions */
	struct gm_region regions[GM_MAX_REGIONS];
	/* Memory hot-plug (hp_max 0: none): guest-physical [hp_gpa, hp_gpa + hp_max), its
	 * first hp_size bytes plugged, mapped at base + total on. */
	uint64_t hp_gpa, hp_max, hp_size;
	uint8_t *resv;		/* the address-space reservation holding it all, or NULL */
	bool thp;		/* gm_advise_huge() applied: hot-plugged RAM gets it too */
	uint64_t resv_len;
};

/*
 * Creates guest RAM from a region table (gpa, size pairs; sizes multiples of
 * the page size, regions sorted and non-overlapping).  One memfd holds all
 * regions back to back; it is mapped MAP_SHARED so it can later be shared
 * with vhost-user back-ends.  Returns 0 or -errno.
 */
int gm_create(struct guest_mem *gm, const struct gm_region *layout,
	      unsigned int nr);

#define GM_HUGE_2M (2ULL << 20)
#define GM_HUGE_1G (1ULL << 30)

/*
 * gm_create() on hugetlbfs pages of page_size bytes (GM_HUGE_2M or
 * GM_HUGE_1G; 0 is gm_create()): every region's gpa and size must be multiples
 * of it.  Mapping the memfd reserves the pages, so a host without enough free
 * huge pages of that size (/proc/sys/vm/nr_hugepages, or
 * /sys/kernel/mm/hugepages/) fails here with -ENOMEM, never later inside the
 * guest.  0 or -errno.
 */
int gm_create_huge(struct guest_mem *gm, const struct gm_region *layout,
		   unsigned int nr, uint64_t page_size);

/*
 * gm_create_huge() (PAGE_SIZE 0: the system's pages) with room for memory
 * hot-plug: HP_MAX bytes (a multiple of the page size; 0 for none) of
 * guest-physical space from HP_GPA (page-aligned, at or above the end of the
 * last region), reserved in the host's address space but backed by nothing
 * until gm_hotplug_add().  0 or -errno.
 */
int gm_create_ex(struct guest_mem *gm, const struct gm_region *layout, unsigned int nr,
		 uint64_t page_size, uint64_t hp_gpa, uint64_t hp_max);

/*
 * Plugs SIZE more bytes (a positive multiple of the page size, within
 * hp_max) at the end of the hot-plug region: grows the memfd, maps the bytes
 * and publishes them to gm_ptr().  *ADDED gets the new range alone (gpa,
 * size, host, fd_offset), for a KVM memory slot.  On hugetlbfs the pages are
 * reserved here: too few free ones fail with -ENOMEM.  0 or -errno (-EINVAL
 * for a bad size, -ENOSPC beyond hp_max); nothing changes on failure.  Not
 * safe against itself: one caller at a time.
 */
int gm_hotplug_add(struct guest_mem *gm, uint64_t size, struct gm_region *added);

/*
 * Takes back the last gm_hotplug_add() of SIZE bytes before anyone was told
 * of it (its KVM slot or a back-end failed): gm_ptr() no longer reaches
 * them.  The mapping stays, so a thread that got a pointer into it in the
 * meantime still touches valid memory; the next gm_hotplug_add() maps the
 * same file range over it again.
 */
void gm_hotplug_undo(struct guest_mem *gm, uint64_t size);

/* Free huge pages of page_size on the host, or -1 when the kernel has no such pool. */
long gm_free_huge_pages(uint64_t page_size);

/* Unmaps and closes; safe on a zeroed or already destroyed guest_mem. */
void gm_destroy(struct guest_mem *gm);

/*
 * Returns a host pointer to guest-physical [gpa, gpa + len) if that range lies
 * entirely inside one RAM region, else NULL.  len == 0 is valid (an empty range
 * at any address inside a region or at its end).
 */
void *gm_ptr(const struct guest_mem *gm, uint64_t gpa, uint64_t len);

/* Copy to/from guest RAM through gm_ptr(); 0 or -EFAULT. */
int gm_read(const struct guest_mem *gm, uint64_t gpa, void *dst, uint64_t len);
int gm_write(const struct guest_mem *gm, uint64_t gpa, const void *src,
	     uint64_t len);

/* Total RAM bytes in all regions, hot-plugged ones included. */
uint64_t gm_ram_size(const struct guest_mem *gm);

/*
 * Asks for transparent huge pages on all of guest RAM (MADV_HUGEPAGE): 2 MiB
 * host pages, which KVM maps as 2 MiB in the nested page tables, so a guest
 * TLB miss walks fewer levels.  Guest RAM is a memfd (shared memory), for
 * which Linux hands out huge pages only when the host's shmem policy allows
 * (gm_host_shmem_thp(): advise, always, within_size; Debian's default is
 * never); logs (info) when it cannot apply.  0 or -errno.
 */
int gm_advise_huge(struct guest_mem *gm);

/*
 * The host's policy for huge pages in shared memory: the selected word of
 * /sys/kernel/mm/transparent_hugepage/shmem_enabled ("never", "advise",
 * "always", "within_size", "deny", "force") into buf; 0, or -errno when it
 * cannot be read (a kernel without THP).
 */
int gm_host_shmem_thp(char *buf, size_t len);

#endif
