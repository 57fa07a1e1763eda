/*
 * Unit tests for the ACPI memory hot-plug controller (devices/memhp.h): every
 * slot reads 0 until plugged, plugs fill the slots in order with their base
 * and length as low/high 32-bit words, the INSERT latch clears on read, a
 * 17th plug is -ENOSPC and a zero length -EINVAL, and reads of the wrong
 * size, offset or past the block return 0 (never more than asked for) while
 * writes change nothing.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "memhp.h"

#define GiB (1ULL << 30)
#define MiB (1ULL << 20)

static struct memhp *h;

static void setup(void)
{
	h = memhp_new();
	cr_assert_not_null(h);
}

static void teardown(void)
{
	memhp_free(h);
}

TestSuite(memhp, .init = setup, .fini = teardown);

static uint32_t rd(uint64_t off)
{
	uint8_t b[4] = { 0xcc, 0xcc, 0xcc, 0xcc };
	uint32_t v;

	memhp_io(h, off, b, 4, false);
	memcpy(&v, b, 4);
	return v;
}

static void wr(uint64_t off, uint32_t v, uint32_t len)
{
	uint8_t b[4];

	memcpy(b, &v, 4);
	memhp_io(h, off, b, len, true);
}

/* Slot N's base and length as the DSDT's MBxx/MLxx fields read them: two words each. */
static uint64_t slot_base(unsigned int n)
{
	return rd(MEMHP_REG_SLOT(n)) | (uint64_t)rd(MEMHP_REG_SLOT(n) + 4) << 32;
}

static uint64_t slot_len(unsigned int n)
{
	return rd(MEMHP_REG_SLOT(n) + 8) | (uint64_t)rd(MEMHP_REG_SLOT(n) + 12) << 32;
}

Test(memhp, layout_matches_the_dsdt)
{
	/* INSERT, a reserved word, then 16 slots of two QWords (base, length). */
	cr_assert_eq(MEMHP_REG_INSERT, 0);
	cr_assert_eq(MEMHP_REG_SLOT(0), 8);
	cr_assert_eq(MEMHP_REG_SLOT(15), 8 + 15 * 16);
	cr_assert_eq(MEMHP_LEN, 0x108);
	cr_assert_eq(MEMHP_SLOTS, 16);
}

Test(memhp, empty_slots_read_zero)
{
	uint64_t off;

	cr_assert_eq(memhp_free_slots(h), MEMHP_SLOTS);
	for (off = 0; off < MEMHP_LEN; off += 4)
		cr_assert_eq(rd(off), 0, "offset %#lx", (unsigned long)off);
}

Test(memhp, plug_fills_slots_in_order)
{
	/* A base above 4 GiB and a length of 4 GiB + 128 MiB: both words matter. */
	cr_assert_eq(memhp_plug(h, 0x123456789000ULL, 4 * GiB + 128 * MiB), 0);
	cr_assert_eq(memhp_plug(h, 6 * GiB, 256 * MiB), 1);
	cr_assert_eq(memhp_free_slots(h), MEMHP_SLOTS - 2);

	cr_assert_eq(rd(MEMHP_REG_SLOT(0)), 0x56789000);
	cr_assert_eq(rd(MEMHP_REG_SLOT(0) + 4), 0x1234);
	cr_assert_eq(rd(MEMHP_REG_SLOT(0) + 8), 0x08000000);
	cr_assert_eq(rd(MEMHP_REG_SLOT(0) + 12), 1);
	cr_assert_eq(slot_base(1), 6 * GiB);
	cr_assert_eq(slot_len(1), 256 * MiB);
	cr_assert_eq(slot_base(2), 0);
	cr_assert_eq(slot_len(2), 0);
	cr_assert_eq(rd(4), 0, "the reserved word");
}

Test(memhp, insert_latch_read_clears)
{
	cr_assert_eq(rd(MEMHP_REG_INSERT), 0);
	cr_assert_eq(memhp_plug(h, 4 * GiB, 128 * MiB), 0);
	cr_assert_eq(memhp_plug(h, 4 * GiB + 128 * MiB, 128 * MiB), 1);
	cr_assert_eq(rd(MEMHP_REG_INSERT), 0x3);
	cr_assert_eq(rd(MEMHP_REG_INSERT), 0, "a read clears");
	cr_assert_eq(slot_len(0), 128 * MiB, "the slots stay filled");
	cr_assert_eq(memhp_plug(h, 5 * GiB, 128 * MiB), 2);
	cr_assert_eq(rd(MEMHP_REG_INSERT), 0x4, "only the new slot");
	cr_assert_eq(rd(MEMHP_REG_INSERT), 0);
}

Test(memhp, seventeenth_plug_and_zero_length)
{
	unsigned int i;

	cr_assert_eq(memhp_plug(h, 4 * GiB, 0), -EINVAL);
	cr_assert_eq(memhp_free_slots(h), MEMHP_SLOTS, "a refused plug takes no slot");
	cr_assert_eq(rd(MEMHP_REG_INSERT), 0);
	for (i = 0; i < MEMHP_SLOTS; i++)
		cr_assert_eq(memhp_plug(h, 4 * GiB + i * 128 * MiB, 128 * MiB), (int)i);
	cr_assert_eq(memhp_free_slots(h), 0);
	cr_assert_eq(memhp_plug(h, 8 * GiB, 128 * MiB), -ENOSPC);
	cr_assert_eq(memhp_plug(h, 8 * GiB, 0), -EINVAL);
	cr_assert_eq(rd(MEMHP_REG_INSERT), 0xffff);
	for (i = 0; i < MEMHP_SLOTS; i++) {
		cr_assert_eq(slot_base(i), 4 * GiB + i * 128 * MiB, "slot %u", i);
		cr_assert_eq(slot_len(i), 128 * MiB, "slot %u", i);
	}
}

Test(memhp, bad_reads_return_zero)
{
	static const uint64_t offs[] = { 1, 2, 3, MEMHP_REG_SLOT(0) + 1, MEMHP_REG_SLOT(0) + 2,
					 MEMHP_REG_SLOT(15) + 13, MEMHP_LEN, MEMHP_LEN + 4,
					 1ULL << 32, UINT64_MAX - 3 };
	static const uint32_t lens[] = { 0, 1, 2, 3, 4, 8 };
	uint8_t b[16];
	unsigned int i, j, k;

	cr_assert_eq(memhp_plug(h, 0xffffffff000ULL, 0xfffffff000ULL), 0);
	for (i = 0; i < MEMHP_SLOTS - 1; i++)
		cr_assert_eq(memhp_plug(h, UINT64_MAX, UINT64_MAX), (int)i + 1);
	/* Sizes other than 4 read 0 wherever they are, and touch only LEN bytes. */
	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		if (lens[i] == 4)
			continue;
		for (j = 0; j < MEMHP_LEN + 8; j++) {
			memset(b, 0xcc, sizeof(b));
			memhp_io(h, j, b, lens[i], false);
			for (k = 0; k < sizeof(b); k++)
				cr_assert_eq(b[k], k < lens[i] ? 0 : 0xcc,
					     "len %u offset %u byte %u", lens[i], j, k);
		}
	}
	/* Unaligned or out of the block, 4 bytes read 0 too. */
	for (i = 0; i < sizeof(offs) / sizeof(offs[0]); i++)
		cr_assert_eq(rd(offs[i]), 0, "offset %#llx", (unsigned long long)offs[i]);
	/* None of it cleared the latch, which the last slot reached. */
	cr_assert_eq(rd(MEMHP_REG_INSERT), 0xffff);
	cr_assert_eq(rd(MEMHP_REG_SLOT(15) + 12), 0xffffffff, "the last word is in the block");
	cr_assert_eq(slot_base(0), 0xffffffff000ULL);
	cr_assert_eq(slot_len(0), 0xfffffff000ULL);
}

Test(memhp, writes_are_ignored)
{
	uint64_t off;

	cr_assert_eq(memhp_plug(h, 4 * GiB, 128 * MiB), 0);
	for (off = 0; off < MEMHP_LEN + 4; off++) {
		wr(off, 0xffffffff, 4);
		wr(off, 0, 4);
		wr(off, 0x12345678, 1);
		wr(off, 0x12345678, 2);
	}
	wr(MEMHP_REG_INSERT, 0, 0);
	cr_assert_eq(rd(MEMHP_REG_INSERT), 1, "still latched");
	cr_assert_eq(slot_base(0), 4 * GiB);
	cr_assert_eq(slot_len(0), 128 * MiB);
	cr_assert_eq(slot_len(1), 0);
	cr_assert_eq(memhp_free_slots(h), MEMHP_SLOTS - 1);
}
