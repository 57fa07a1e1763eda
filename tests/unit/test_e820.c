/*
 * Unit tests for the e820 map builder: the usual guest sizes, low RAM plus
 * RAM above 4 GiB, RAM too small to reach 1 MiB (no negative sizes), the
 * PCI ECAM window always reserved and never RAM, and a table too small for
 * the map.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdint.h>

#include "boot.h"
#include "guest_mem.h"
#include "layout.h"

#define KiB (1ULL << 10)
#define MiB (1ULL << 20)
#define GiB (1ULL << 30)

static struct guest_mem gm;

static void teardown(void)
{
	gm_destroy(&gm);
}

TestSuite(e820, .fini = teardown);

static void make_gm(const struct gm_region *l, unsigned int nr)
{
	cr_assert_eq(gm_create(&gm, l, nr), 0);
}

static void check(const struct x86_e820 *e, uint64_t addr, uint64_t size,
		  uint32_t type)
{
	cr_expect_eq(e->addr, addr, "addr 0x%llx, want 0x%llx",
		     (unsigned long long)e->addr, (unsigned long long)addr);
	cr_expect_eq(e->size, size, "size 0x%llx, want 0x%llx",
		     (unsigned long long)e->size, (unsigned long long)size);
	cr_expect_eq(e->type, type);
}

/* The three entries every guest has, for low RAM ending at LOW_END. */
static void check_low(const struct x86_e820 *e, uint64_t low_end)
{
	check(&e[0], 0, X86_EBDA_GPA, 1);
	check(&e[1], X86_EBDA_GPA, X86_HIMEM_GPA - X86_EBDA_GPA, 2);
	check(&e[2], X86_HIMEM_GPA, low_end - X86_HIMEM_GPA, 1);
}

/* The PCI ECAM window, reserved for Linux's early MMCONFIG check. */
static void check_ecam(const struct x86_e820 *e)
{
	check(e, X86_PCI_ECAM_GPA, X86_PCI_ECAM_SIZE, 2);
}

Test(e820, sixteen_mib)
{
	struct gm_region l[] = { { .gpa = 0, .size = 16 * MiB } };
	struct x86_e820 e[X86_E820_MAX];

	make_gm(l, 1);
	cr_assert_eq(x86_e820_build(&gm, e, X86_E820_MAX), 4);
	check_low(e, 16 * MiB);
	check_ecam(&e[3]);
}

Test(e820, five_hundred_twelve_mib)
{
	struct gm_region l[] = { { .gpa = 0, .size = 512 * MiB } };
	struct x86_e820 e[X86_E820_MAX];

	make_gm(l, 1);
	cr_assert_eq(x86_e820_build(&gm, e, X86_E820_MAX), 4);
	check_low(e, 512 * MiB);
	cr_expect_eq(e[0].size + e[1].size + e[2].size, 512 * MiB);
	check_ecam(&e[3]);
}

Test(e820, three_gib_low_and_high)
{
	struct gm_region l[] = {
		{ .gpa = 0, .size = 3 * GiB },
		{ .gpa = X86_HIGH_RAM_GPA, .size = 2 * GiB },
	};
	struct x86_e820 e[X86_E820_MAX];

	make_gm(l, 2);
	cr_assert_eq(x86_e820_build(&gm, e, X86_E820_MAX), 5);
	check_low(e, 3 * GiB);
	check_ecam(&e[3]);
	check(&e[4], X86_HIGH_RAM_GPA, 2 * GiB, 1);
}

Test(e820, entries_sorted_and_disjoint)
{
	struct gm_region l[] = {
		{ .gpa = 0, .size = 3 * GiB },
		{ .gpa = X86_HIGH_RAM_GPA, .size = 64 * MiB },
	};
	struct x86_e820 e[X86_E820_MAX];
	int i, n;

	make_gm(l, 2);
	n = x86_e820_build(&gm, e, X86_E820_MAX);
	cr_assert_gt(n, 1);
	for (i = 1; i < n; i++)
		cr_expect_geq(e[i].addr, e[i - 1].addr + e[i - 1].size);
	for (i = 0; i < n; i++)
		cr_expect_gt(e[i].size, 0);
}

/* With the worst layout gm_create() allows, RAM right across the window:
 * the RAM under it is left out (KVM would not let the guest reach it
 * anyway), and the entries stay sorted and disjoint. */
Test(e820, ram_across_the_ecam_is_left_out)
{
	struct gm_region l[] = { { .gpa = 0, .size = 4 * GiB } };
	struct gm_region l2[] = {
		{ .gpa = 0, .size = 16 * MiB },
		{ .gpa = X86_PCI_ECAM_GPA + 2 * MiB, .size = 32 * MiB },
	};
	struct x86_e820 e[X86_E820_MAX];
	uint64_t ecam_end = X86_PCI_ECAM_GPA + X86_PCI_ECAM_SIZE;

	make_gm(l, 1);
	cr_assert_eq(x86_e820_build(&gm, e, X86_E820_MAX), 5);
	check_low(e, X86_PCI_ECAM_GPA);
	check_ecam(&e[3]);
	check(&e[4], ecam_end, 4 * GiB - ecam_end, 1);
	gm_destroy(&gm);

	/* A region that starts inside the window. */
	make_gm(l2, 2);
	cr_assert_eq(x86_e820_build(&gm, e, X86_E820_MAX), 5);
	check_low(e, 16 * MiB);
	check_ecam(&e[3]);
	check(&e[4], ecam_end, X86_PCI_ECAM_GPA + 34 * MiB - ecam_end, 1);
}

/* Config forbids such guests, but the builder must still not underflow. */
Test(e820, ram_below_the_ebda)
{
	struct gm_region l[] = { { .gpa = 0, .size = 512 * KiB } };
	struct x86_e820 e[X86_E820_MAX];

	make_gm(l, 1);
	cr_assert_eq(x86_e820_build(&gm, e, X86_E820_MAX), 2);
	check(&e[0], 0, 512 * KiB, 1);
	check_ecam(&e[1]);
}

Test(e820, ram_ending_inside_the_legacy_hole)
{
	struct gm_region l[] = { { .gpa = 0, .size = 0xc0000 } };
	struct x86_e820 e[X86_E820_MAX];

	make_gm(l, 1);
	cr_assert_eq(x86_e820_build(&gm, e, X86_E820_MAX), 3);
	check(&e[0], 0, X86_EBDA_GPA, 1);
	check(&e[1], X86_EBDA_GPA, 0xc0000 - X86_EBDA_GPA, 2);
	check_ecam(&e[2]);
}

Test(e820, ram_ending_at_one_mib)
{
	struct gm_region l[] = { { .gpa = 0, .size = X86_HIMEM_GPA } };
	struct x86_e820 e[X86_E820_MAX];

	make_gm(l, 1);
	cr_assert_eq(x86_e820_build(&gm, e, X86_E820_MAX), 3);
	check(&e[1], X86_EBDA_GPA, X86_HIMEM_GPA - X86_EBDA_GPA, 2);
	check_ecam(&e[2]);
}

Test(e820, table_too_small)
{
	struct gm_region l[] = {
		{ .gpa = 0, .size = 16 * MiB },
		{ .gpa = X86_HIGH_RAM_GPA, .size = 16 * MiB },
	};
	struct x86_e820 e[5];

	make_gm(l, 2);
	cr_expect_eq(x86_e820_build(&gm, e, 3), -ENOSPC);
	cr_expect_eq(x86_e820_build(&gm, e, 4), -ENOSPC, "no room for the ECAM");
	cr_expect_eq(x86_e820_build(&gm, e, 0), -ENOSPC);
	cr_expect_eq(x86_e820_build(&gm, e, 5), 5);
}

/* The largest map kvmm makes (low RAM, the ECAM, high RAM) fits the
 * boot protocols' table. */
Test(e820, most_entries_fit_x86_e820_max)
{
	struct gm_region l[] = {
		{ .gpa = 0, .size = 3 * GiB },
		{ .gpa = X86_HIGH_RAM_GPA, .size = 16 * MiB },
	};
	struct x86_e820 e[X86_E820_MAX];

	make_gm(l, 2);
	cr_assert_leq(x86_e820_build(&gm, e, X86_E820_MAX), X86_E820_MAX);
	cr_assert_eq(x86_e820_build(&gm, e, 5), 5);
}
