/*
 * Unit tests for the guest-memory accessor: the edges of each region, one
 * past them, holes between regions, and ranges whose end wraps; and memory
 * hot-plug: the region's rules, adds that publish new bytes of the one memfd,
 * -EINVAL/-ENOSPC, undo, and gm_destroy() after it all.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "guest_mem.h"

#define MiB (1ULL << 20)

static struct guest_mem gm;

static void two_regions(void)
{
	/* 16 MiB at 0, 4 MiB at 4 GiB: a hole in between, like x86. */
	struct gm_region l[] = {
		{ .gpa = 0, .size = 16 * MiB },
		{ .gpa = 1ULL << 32, .size = 4 * MiB },
	};
	cr_assert_eq(gm_create(&gm, l, 2), 0);
}

static void teardown(void)
{
	gm_destroy(&gm);
}

TestSuite(guest_mem, .init = two_regions, .fini = teardown);

Test(guest_mem, whole_region_and_last_byte)
{
	cr_assert_not_null(gm_ptr(&gm, 0, 16 * MiB));
	cr_assert_not_null(gm_ptr(&gm, 16 * MiB - 1, 1));
	cr_assert_eq((uint8_t *)gm_ptr(&gm, 16 * MiB - 1, 1),
		     (uint8_t *)gm_ptr(&gm, 0, 1) + 16 * MiB - 1);
	cr_assert_not_null(gm_ptr(&gm, (1ULL << 32) + 4 * MiB - 1, 1));
}

Test(guest_mem, one_past_the_end)
{
	cr_assert_null(gm_ptr(&gm, 16 * MiB, 1));
	cr_assert_null(gm_ptr(&gm, 16 * MiB - 1, 2));
	cr_assert_null(gm_ptr(&gm, 0, 16 * MiB + 1));
	cr_assert_null(gm_ptr(&gm, (1ULL << 32) + 4 * MiB, 1));
	/* An empty range at the very end is still "inside". */
	cr_assert_not_null(gm_ptr(&gm, 16 * MiB, 0));
}

Test(guest_mem, hole_and_straddle)
{
	cr_assert_null(gm_ptr(&gm, 0x80000000ULL, 1));
	cr_assert_null(gm_ptr(&gm, (1ULL << 32) - 1, 2));
	/* A range may not run from one region into the next, even though
	 * both ends are RAM. */
	cr_assert_null(gm_ptr(&gm, 0, (1ULL << 32) + 1));
}

Test(guest_mem, wrap_around)
{
	cr_assert_null(gm_ptr(&gm, UINT64_MAX, 1));
	cr_assert_null(gm_ptr(&gm, UINT64_MAX, 2));
	cr_assert_null(gm_ptr(&gm, 1, UINT64_MAX));
	cr_assert_null(gm_ptr(&gm, 16 * MiB - 1, UINT64_MAX));
	cr_assert_null(gm_ptr(&gm, (1ULL << 32) + 1, UINT64_MAX - (1ULL << 32)));
}

Test(guest_mem, read_write_roundtrip)
{
	uint8_t in[8] = { 1, 2, 3, 4, 5, 6, 7, 8 }, out[8] = { 0 };

	cr_assert_eq(gm_write(&gm, 16 * MiB - 8, in, 8), 0);
	cr_assert_eq(gm_read(&gm, 16 * MiB - 8, out, 8), 0);
	cr_assert_arr_eq(in, out, 8);
	cr_assert_eq(gm_write(&gm, 16 * MiB - 7, in, 8), -EFAULT);
	cr_assert_eq(gm_read(&gm, 16 * MiB - 7, out, 8), -EFAULT);
	cr_assert_eq(gm_ram_size(&gm), 20 * MiB);
}

Test(guest_mem_create, rejects_bad_layouts)
{
	struct guest_mem g;
	struct gm_region unaligned[] = { { .gpa = 0, .size = 4097 } };
	struct gm_region overlap[] = { { .gpa = 0, .size = 2 * MiB },
				       { .gpa = MiB, .size = MiB } };
	struct gm_region wraps[] = { { .gpa = UINT64_MAX - 4095, .size = 8192 } };
	struct gm_region empty[] = { { .gpa = 0, .size = 0 } };

	cr_assert_eq(gm_create(&g, unaligned, 1), -EINVAL);
	cr_assert_eq(gm_create(&g, overlap, 2), -EINVAL);
	cr_assert_eq(gm_create(&g, wraps, 1), -EINVAL);
	cr_assert_eq(gm_create(&g, empty, 1), -EINVAL);
	cr_assert_eq(gm_create(&g, empty, 0), -EINVAL);
	gm_destroy(&g);		/* safe on a failed create */
}

Test(guest_mem_create, memfd_backed_and_zeroed)
{
	struct guest_mem g;
	struct gm_region l[] = { { .gpa = 0x1000, .size = MiB } };
	uint8_t *p;

	cr_assert_eq(gm_create(&g, l, 1), 0);
	cr_assert_geq(g.fd, 0);
	cr_assert_null(gm_ptr(&g, 0, 1));
	p = gm_ptr(&g, 0x1000, MiB);
	cr_assert_not_null(p);
	cr_assert_eq(p[0] | p[MiB - 1], 0);
	gm_destroy(&g);
	cr_assert_eq(g.fd, -1);
}

/* MADV_HUGEPAGE on guest RAM is accepted whatever the host's shmem policy; the policy reads
 * back as one of the kernel's words. */
Test(guest_mem, huge_pages_advised)
{
	static const char *const words[] = { "never", "advise", "always", "within_size",
					     "deny", "force" };
	char mode[16];
	unsigned int i;
	int ret;

	ret = gm_host_shmem_thp(mode, sizeof(mode));
	if (ret == -ENOENT)
		cr_skip_test("no transparent_hugepage/shmem_enabled on this host");
	cr_assert_eq(gm_advise_huge(&gm), 0);
	cr_assert_eq(ret, 0);
	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (!strcmp(mode, words[i]))
			break;
	cr_assert_lt(i, sizeof(words) / sizeof(words[0]), "unexpected policy '%s'", mode);
	cr_assert_eq(gm_host_shmem_thp(mode, 3), -EINVAL, "a short buffer is refused");
}

/* Huge-page guest RAM: only 2 MiB and 1 GiB pages, regions in whole pages; with no free
 * huge pages on the host the mapping fails at once (-ENOMEM), never at the guest's first
 * touch. */
Test(guest_mem, hugetlb_rules)
{
	struct guest_mem h;
	struct gm_region two_m = { .gpa = 0, .size = 2 * MiB };
	struct gm_region odd = { .gpa = 0, .size = 3 * MiB };
	struct gm_region shifted = { .gpa = 1 * MiB, .size = 2 * MiB };
	long free_2m = gm_free_huge_pages(GM_HUGE_2M);
	int ret;

	cr_assert_eq(gm_create_huge(&h, &two_m, 1, 4096), -EINVAL);
	cr_assert_eq(h.fd, -1);
	cr_assert_eq(gm_create_huge(&h, &odd, 1, GM_HUGE_2M), -EINVAL);
	cr_assert_eq(gm_create_huge(&h, &shifted, 1, GM_HUGE_2M), -EINVAL);
	ret = gm_create_huge(&h, &two_m, 1, GM_HUGE_2M);
	if (free_2m < 0) {
		cr_assert_neq(ret, 0, "no 2 MiB pool on this host, yet the mapping worked");
	} else if (free_2m < 1) {
		cr_assert_eq(ret, -ENOMEM, "no free 2 MiB pages (%ld), got %d", free_2m, ret);
		cr_assert_null(h.base);
	} else {
		cr_assert_eq(ret, 0);
		cr_assert_not_null(gm_ptr(&h, 2 * MiB - 1, 1));
		gm_destroy(&h);
	}
	cr_assert_eq(gm_create_huge(&h, &two_m, 1, 0), 0, "page size 0: system pages");
	gm_destroy(&h);
}

/*
 * Memory hot-plug (gm_create_ex(), gm_hotplug_add(), gm_hotplug_undo()): boot RAM of
 * 16 MiB at 0 and 4 MiB at 4 GiB, like x86 with RAM above the hole, and room for 8 MiB
 * more at 4 GiB + 128 MiB.
 */
#define HP_GPA ((1ULL << 32) + 128 * MiB)
#define HP_MAX (8 * MiB)

static struct guest_mem hp;

static void with_hotplug(void)
{
	struct gm_region l[] = {
		{ .gpa = 0, .size = 16 * MiB },
		{ .gpa = 1ULL << 32, .size = 4 * MiB },
	};
	cr_assert_eq(gm_create_ex(&hp, l, 2, 0, HP_GPA, HP_MAX), 0);
}

static void hotplug_teardown(void)
{
	gm_destroy(&hp);
}

TestSuite(guest_mem_hp, .init = with_hotplug, .fini = hotplug_teardown);

Test(guest_mem_create, hotplug_region_rules)
{
	struct guest_mem g;
	struct gm_region l[] = { { .gpa = 0, .size = 16 * MiB },
				 { .gpa = 1ULL << 32, .size = 4 * MiB } };
	struct gm_region four[] = { { .gpa = 0, .size = MiB }, { .gpa = 2 * MiB, .size = MiB },
				    { .gpa = 4 * MiB, .size = MiB },
				    { .gpa = 6 * MiB, .size = MiB } };
	uint64_t end = (1ULL << 32) + 4 * MiB;

	/* Below, or inside, the last region: refused; right at its end: taken. */
	cr_assert_eq(gm_create_ex(&g, l, 2, 0, 16 * MiB, MiB), -EINVAL, "in the hole");
	cr_assert_eq(g.fd, -1);
	cr_assert_eq(gm_create_ex(&g, l, 2, 0, end - 4096, MiB), -EINVAL, "overlaps RAM");
	cr_assert_eq(gm_create_ex(&g, l, 2, 0, end + 2048, MiB), -EINVAL, "unaligned base");
	cr_assert_eq(gm_create_ex(&g, l, 2, 0, end, MiB + 2048), -EINVAL, "unaligned size");
	cr_assert_eq(gm_create_ex(&g, l, 2, 0, UINT64_MAX - 4095, 8192), -EINVAL, "wraps");
	cr_assert_eq(gm_create_ex(&g, l, 2, 0, end, UINT64_MAX - 4095), -EINVAL,
		     "RAM + region overflows");
	/* Four boot regions leave no region for the hot-plugged one; without it they fit. */
	cr_assert_eq(gm_create_ex(&g, four, 4, 0, 8 * MiB, MiB), -EINVAL, "too many regions");
	cr_assert_eq(gm_create_ex(&g, four, 4, 0, 0, 0), 0);
	gm_destroy(&g);
	cr_assert_eq(gm_create_ex(&g, four, 3, 0, 8 * MiB, MiB), 0);
	gm_destroy(&g);
	cr_assert_eq(gm_create_ex(&g, l, 2, 3 * MiB, end, MiB), -EINVAL, "bad page size");
	cr_assert_eq(gm_create_ex(&g, l, 2, 0, end, MiB), 0, "right after RAM");
	cr_assert_eq(gm_ram_size(&g), 20 * MiB, "nothing plugged yet");
	cr_assert_null(gm_ptr(&g, end, 1));
	gm_destroy(&g);
	cr_assert_eq(g.fd, -1);
}

Test(guest_mem_hp, add_publishes_the_bytes)
{
	struct gm_region r = { 0 };
	uint8_t *p;

	cr_assert_eq(hp.nr_regions, 2);
	cr_assert_null(gm_ptr(&hp, HP_GPA, 1), "nothing plugged yet");
	cr_assert_eq(gm_hotplug_add(&hp, 2 * MiB, &r), 0);
	cr_assert_eq(r.gpa, HP_GPA);
	cr_assert_eq(r.size, 2 * MiB);
	cr_assert_eq(r.fd_offset, 20 * MiB, "after the boot RAM in the file");
	cr_assert_eq(r.host, hp.base + 20 * MiB, "after the boot RAM in the mapping");
	cr_assert_eq(hp.nr_regions, 3);
	p = gm_ptr(&hp, HP_GPA, 2 * MiB);
	cr_assert_eq(p, r.host);
	cr_assert_eq(p[0] | p[2 * MiB - 1], 0, "new RAM reads 0");
	cr_assert_null(gm_ptr(&hp, HP_GPA + 2 * MiB, 1), "only what was plugged");
	cr_assert_null(gm_ptr(&hp, HP_GPA, 2 * MiB + 1));
	cr_assert_eq(gm_ram_size(&hp), 22 * MiB);

	/* The next add continues where this one ended, in one region. */
	cr_assert_eq(gm_hotplug_add(&hp, 4 * MiB, &r), 0);
	cr_assert(r.gpa == HP_GPA + 2 * MiB && r.size == 4 * MiB &&
		  r.fd_offset == 22 * MiB && r.host == hp.base + 22 * MiB);
	cr_assert_eq(hp.nr_regions, 3);
	cr_assert_eq(gm_ptr(&hp, HP_GPA + 1, 6 * MiB - 1), p + 1, "one range across both adds");
	cr_assert_eq(gm_ram_size(&hp), 26 * MiB);
	/* Boot RAM did not move. */
	cr_assert_eq(gm_ptr(&hp, 0, 1), hp.base);
	cr_assert_eq(gm_ptr(&hp, 1ULL << 32, 1), hp.base + 16 * MiB);
}

Test(guest_mem_hp, bytes_are_in_the_memfd)
{
	struct gm_region r;
	uint8_t in[8] = { 0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4 }, out[8] = { 0 };
	struct stat st;

	cr_assert_eq(gm_hotplug_add(&hp, MiB, &r), 0);
	cr_assert_eq(gm_hotplug_add(&hp, MiB, &r), 0);
	cr_assert_eq(gm_write(&hp, HP_GPA + MiB + 4096 - 4, in, 8), 0);
	cr_assert_eq(pread(hp.fd, out, 8, (off_t)(20 * MiB + MiB + 4096 - 4)), 8);
	cr_assert_arr_eq(in, out, 8);
	/* And the other way: what is in the file is what the guest reads. */
	cr_assert_eq(pwrite(hp.fd, "kvmm", 4, (off_t)(20 * MiB)), 4);
	cr_assert_eq(memcmp(gm_ptr(&hp, HP_GPA, 4), "kvmm", 4), 0);
	cr_assert_eq(fstat(hp.fd, &st), 0);
	cr_assert_eq((uint64_t)st.st_size, 22 * MiB, "the file grew by what was plugged");
}

/* A range may not run from boot RAM into the hot-plug region, even where they touch. */
Test(guest_mem_create, no_range_across_ram_end_and_region)
{
	struct guest_mem g;
	struct gm_region l = { .gpa = 0, .size = 16 * MiB }, r;

	cr_assert_eq(gm_create_ex(&g, &l, 1, 0, 16 * MiB, 4 * MiB), 0);
	cr_assert_eq(gm_hotplug_add(&g, 4 * MiB, &r), 0);
	cr_assert_eq(r.host, g.base + 16 * MiB, "contiguous in the host too");
	cr_assert_null(gm_ptr(&g, 16 * MiB - 4, 8));
	cr_assert_null(gm_ptr(&g, 0, 20 * MiB));
	cr_assert_not_null(gm_ptr(&g, 16 * MiB - 4, 4));
	cr_assert_not_null(gm_ptr(&g, 16 * MiB + 1, 4));
	/* The region's very first byte, right where boot RAM ends. */
	cr_assert_eq(gm_ptr(&g, 16 * MiB, 4), g.base + 16 * MiB);
	cr_assert_eq(gm_ptr(&g, 16 * MiB, 4 * MiB), g.base + 16 * MiB);
	cr_assert_null(gm_ptr(&g, 16 * MiB, 4 * MiB + 1));
	gm_destroy(&g);
}

Test(guest_mem_hp, bad_sizes)
{
	struct gm_region r = { .gpa = 1 };
	struct guest_mem g;
	struct gm_region l = { .gpa = 0, .size = MiB };

	cr_assert_eq(gm_hotplug_add(&hp, 0, &r), -EINVAL);
	cr_assert_eq(gm_hotplug_add(&hp, 4096 + 512, &r), -EINVAL, "not whole pages");
	cr_assert_eq(gm_hotplug_add(&hp, HP_MAX + 4096, &r), -ENOSPC);
	cr_assert_eq(gm_hotplug_add(&hp, UINT64_MAX - 4095, &r), -ENOSPC);
	cr_assert_eq(r.gpa, 1, "*added untouched on failure");
	cr_assert_eq(hp.nr_regions, 2);
	cr_assert_eq(gm_ram_size(&hp), 20 * MiB);
	cr_assert_eq(gm_hotplug_add(&hp, HP_MAX - 4096, &r), 0);
	cr_assert_eq(gm_hotplug_add(&hp, 8192, &r), -ENOSPC, "one page left");
	cr_assert_eq(gm_hotplug_add(&hp, 4096, &r), 0, "the last page");
	cr_assert_eq(gm_hotplug_add(&hp, 4096, &r), -ENOSPC, "full");
	cr_assert_eq(gm_ram_size(&hp), 20 * MiB + HP_MAX);
	cr_assert_not_null(gm_ptr(&hp, HP_GPA, HP_MAX));

	/* Without a region, nothing can be added. */
	cr_assert_eq(gm_create(&g, &l, 1), 0);
	cr_assert_eq(gm_hotplug_add(&g, 4096, &r), -EINVAL);
	cr_assert_eq(gm_ram_size(&g), MiB);
	gm_destroy(&g);
}

Test(guest_mem_hp, undo_hides_and_add_maps_again)
{
	struct gm_region r;
	uint8_t *p;

	cr_assert_eq(gm_hotplug_add(&hp, 2 * MiB, &r), 0);
	cr_assert_eq(gm_hotplug_add(&hp, 2 * MiB, &r), 0);
	p = gm_ptr(&hp, HP_GPA + 2 * MiB, 2 * MiB);
	cr_assert_not_null(p);
	p[0] = 0x5a;
	gm_hotplug_undo(&hp, 2 * MiB);
	cr_assert_null(gm_ptr(&hp, HP_GPA + 2 * MiB, 1), "the undone add is hidden");
	cr_assert_not_null(gm_ptr(&hp, HP_GPA, 2 * MiB), "the first add stays");
	cr_assert_eq(gm_ram_size(&hp), 22 * MiB);
	cr_assert_eq(p[0], 0x5a, "the mapping stays for a thread that holds a pointer");
	/* Undoing more than was added, or nothing, changes nothing. */
	gm_hotplug_undo(&hp, 4 * MiB);
	gm_hotplug_undo(&hp, 0);
	cr_assert_eq(gm_ram_size(&hp), 22 * MiB);
	cr_assert_eq(hp.nr_regions, 3);

	/* The same range again, at the same place. */
	cr_assert_eq(gm_hotplug_add(&hp, 2 * MiB, &r), 0);
	cr_assert(r.gpa == HP_GPA + 2 * MiB && r.host == p && r.fd_offset == 22 * MiB);
	cr_assert_eq(gm_ptr(&hp, HP_GPA + 2 * MiB, 2 * MiB), p);

	/* Undo down to nothing: the region is gone, and comes back with the next add. */
	gm_hotplug_undo(&hp, 2 * MiB);
	gm_hotplug_undo(&hp, 2 * MiB);
	cr_assert_eq(hp.nr_regions, 2);
	cr_assert_eq(gm_ram_size(&hp), 20 * MiB);
	cr_assert_null(gm_ptr(&hp, HP_GPA, 1));
	cr_assert_not_null(gm_ptr(&hp, (1ULL << 32) + 4 * MiB - 1, 1), "boot RAM stays");
	cr_assert_eq(gm_hotplug_add(&hp, 4 * MiB, &r), 0);
	cr_assert_eq(hp.nr_regions, 3);
	cr_assert(r.gpa == HP_GPA && r.fd_offset == 20 * MiB);
	cr_assert_not_null(gm_ptr(&hp, HP_GPA, 4 * MiB));
	cr_assert_null(gm_ptr(&hp, HP_GPA + 4 * MiB, 1));
	cr_assert_eq(gm_ram_size(&hp), 24 * MiB);
}

/* An add smaller than an undone one must not shrink the file under the undone bytes'
 * mapping, which gm_hotplug_undo() keeps valid for threads still holding a pointer. */
Test(guest_mem_hp, smaller_add_after_undo_keeps_the_mapping)
{
	struct gm_region r;
	struct stat st;
	volatile uint8_t *p;

	cr_assert_eq(gm_hotplug_add(&hp, 4 * MiB, &r), 0);
	p = gm_ptr(&hp, HP_GPA + 4 * MiB - 1, 1);
	cr_assert_not_null(p);
	gm_hotplug_undo(&hp, 4 * MiB);
	cr_assert_eq(gm_hotplug_add(&hp, MiB, &r), 0);
	cr_assert_eq(fstat(hp.fd, &st), 0);
	cr_assert_geq((uint64_t)st.st_size, 24 * MiB, "file %lld bytes", (long long)st.st_size);
	*p = 1;		/* SIGBUS if the file no longer backs it */
	cr_assert_eq(*p, 1);
}

/* gm_destroy() after plugging frees the whole reservation (ASan and the fd count tell). */
Test(guest_mem_create, destroy_after_hotplug)
{
	struct guest_mem g;
	struct gm_region l = { .gpa = 0, .size = MiB }, r;
	unsigned int i;
	int fd = -1;

	for (i = 0; i < 3; i++) {
		cr_assert_eq(gm_create_ex(&g, &l, 1, 0, 1ULL << 32, 64 * MiB), 0);
		cr_assert(fd < 0 || g.fd == fd, "the last destroy closed fd %d", fd);
		fd = g.fd;
		cr_assert_eq(gm_hotplug_add(&g, 2 * MiB, &r), 0);
		if (i == 1)
			gm_hotplug_undo(&g, 2 * MiB);
		gm_destroy(&g);
		cr_assert_eq(g.fd, -1);
		cr_assert_null(g.base);
		cr_assert_null(g.resv);
		cr_assert_eq(gm_ram_size(&g), 0);
	}
	cr_assert_eq(fcntl(fd, F_GETFD), -1, "no fd left open");
}

/* With 2 MiB hugetlbfs pages: the region in whole huge pages, the pages taken at the add.
 * Runs only where the host has free 2 MiB pages. */
Test(guest_mem_create, hotplug_on_2m_huge_pages)
{
	struct guest_mem g;
	struct gm_region l = { .gpa = 0, .size = 2 * MiB }, r;
	long free_2m = gm_free_huge_pages(GM_HUGE_2M);
	uint8_t *p;

	cr_assert_eq(gm_create_ex(&g, &l, 1, GM_HUGE_2M, 1ULL << 32, 3 * MiB), -EINVAL,
		     "the region in whole huge pages");
	cr_assert_eq(gm_create_ex(&g, &l, 1, GM_HUGE_2M, (1ULL << 32) + MiB, 2 * MiB),
		     -EINVAL, "its base on a huge page");
	if (free_2m < 2) {
		fprintf(stderr, "guest_mem_create::hotplug_on_2m_huge_pages: skipped, %ld free "
			"2 MiB huge pages on this host (2 needed)\n", free_2m);
		cr_skip_test("%ld free 2 MiB huge pages (2 needed)", free_2m);
	}
	cr_assert_eq(gm_create_ex(&g, &l, 1, GM_HUGE_2M, 1ULL << 32, 8 * MiB), 0);
	cr_assert_eq((uintptr_t)g.base % GM_HUGE_2M, 0, "the mapping on a huge page");
	cr_assert_eq(gm_hotplug_add(&g, 4096, &r), -EINVAL, "not a whole huge page");
	cr_assert_eq(gm_hotplug_add(&g, 2 * MiB, &r), 0);
	cr_assert(r.gpa == 1ULL << 32 && r.fd_offset == 2 * MiB && r.host == g.base + 2 * MiB);
	p = gm_ptr(&g, 1ULL << 32, 2 * MiB);
	cr_assert_eq(p, r.host);
	p[2 * MiB - 1] = 7;
	cr_assert_eq(gm_ram_size(&g), 4 * MiB);
	gm_destroy(&g);
}
