/*
 * Unit tests for the guest-memory accessor: the edges of each region, one
 * past them, holes between regions, and ranges whose end wraps.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>

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
