/*
 * Unit tests for the ACPI PCI hot-plug controller (devices/pcihp.h): device
 * checks and eject requests latch per segment and slot until read, a read
 * clears only what it returned, the latest word on a slot wins, ejects reach
 * the callback with the right segment and slot mask (never slot 0), and
 * accesses of the wrong size, offset or segment do nothing.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "pcihp.h"

static struct pcihp *h;
static unsigned int ej_calls, ej_seg;
static uint32_t ej_slots;

static void on_eject(void *opaque, unsigned int seg, uint32_t slots)
{
	cr_assert_eq(opaque, &h);
	ej_calls++;
	ej_seg = seg;
	ej_slots = slots;
}

static void setup(void)
{
	ej_calls = 0;
	h = pcihp_new(2, on_eject, &h);
	cr_assert_not_null(h);
}

static void teardown(void)
{
	pcihp_free(h);
}

TestSuite(pcihp, .init = setup, .fini = teardown);

static uint32_t rd(unsigned int seg, unsigned int reg)
{
	uint8_t b[4];
	uint32_t v;

	memset(b, 0xcc, sizeof(b));
	pcihp_io(h, seg * PCIHP_SEG_STRIDE + reg, b, 4, false);
	memcpy(&v, b, 4);
	return v;
}

static void wr(uint64_t off, uint32_t v, uint32_t len)
{
	uint8_t b[4];

	memcpy(b, &v, 4);
	pcihp_io(h, off, b, len, true);
}

Test(pcihp, new_rules)
{
	cr_assert_null(pcihp_new(0, on_eject, NULL));
	cr_assert_null(pcihp_new(PCIHP_MAX_SEGMENTS + 1, on_eject, NULL));
	cr_assert_null(pcihp_new(1, NULL, NULL));
}

Test(pcihp, latch_and_read_clears)
{
	cr_assert_eq(rd(0, PCIHP_REG_UP), 0);
	cr_assert_eq(pcihp_latch(h, 0, 3, true), 0);
	cr_assert_eq(pcihp_latch(h, 0, 31, true), 0);
	cr_assert_eq(pcihp_latch(h, 1, 5, false), 0);
	cr_assert_eq(rd(1, PCIHP_REG_UP), 0, "segments apart");
	cr_assert_eq(rd(0, PCIHP_REG_DOWN), 0);
	cr_assert_eq(rd(0, PCIHP_REG_UP), (1u << 3) | (1u << 31));
	cr_assert_eq(rd(0, PCIHP_REG_UP), 0, "a read clears");
	cr_assert_eq(rd(1, PCIHP_REG_DOWN), 1u << 5);
	cr_assert_eq(rd(1, PCIHP_REG_DOWN), 0);
	cr_assert_eq(rd(0, PCIHP_REG_EJECT), 0, "EJECT reads 0");
}

Test(pcihp, latest_word_wins)
{
	cr_assert_eq(pcihp_latch(h, 0, 4, true), 0);
	cr_assert_eq(pcihp_latch(h, 0, 4, false), 0);
	cr_assert_eq(rd(0, PCIHP_REG_UP), 0);
	cr_assert_eq(rd(0, PCIHP_REG_DOWN), 1u << 4);
	cr_assert_eq(pcihp_latch(h, 0, 4, false), 0);
	cr_assert_eq(pcihp_latch(h, 0, 4, true), 0);
	cr_assert_eq(rd(0, PCIHP_REG_DOWN), 0);
	cr_assert_eq(rd(0, PCIHP_REG_UP), 1u << 4);
}

Test(pcihp, latch_rules)
{
	cr_assert_eq(pcihp_latch(h, 0, 0, true), -EINVAL, "slot 0 is the host bridge");
	cr_assert_eq(pcihp_latch(h, 0, 32, true), -EINVAL);
	cr_assert_eq(pcihp_latch(h, 2, 1, true), -EINVAL, "only 2 segments");
}

Test(pcihp, eject_reaches_callback)
{
	wr(1 * PCIHP_SEG_STRIDE + PCIHP_REG_EJECT, (1u << 7) | 1u, 4);
	cr_assert_eq(ej_calls, 1);
	cr_assert_eq(ej_seg, 1);
	cr_assert_eq(ej_slots, 1u << 7, "slot 0 never");
	wr(PCIHP_REG_EJECT, 1u, 4);
	cr_assert_eq(ej_calls, 1, "nothing left to eject: no call");
}

Test(pcihp, bad_accesses_do_nothing)
{
	uint8_t b[4] = { 0xcc, 0xcc, 0xcc, 0xcc };

	cr_assert_eq(pcihp_latch(h, 0, 2, true), 0);
	/* A narrow read would clear bits it did not return: refused, reads 0. */
	pcihp_io(h, PCIHP_REG_UP, b, 1, false);
	cr_assert_eq(b[0], 0);
	pcihp_io(h, PCIHP_REG_UP + 2, b, 2, false);
	cr_assert_eq(b[0] | b[1], 0);
	/* Unaligned, past the registers, past the segments. */
	pcihp_io(h, PCIHP_REG_UP + 1, b, 4, false);
	cr_assert_eq(b[0] | b[1] | b[2] | b[3], 0);
	cr_assert_eq(rd(0, 12), 0);
	cr_assert_eq(rd(5, PCIHP_REG_UP), 0);
	wr(PCIHP_REG_EJECT, 1u << 9, 2);
	wr(5 * PCIHP_SEG_STRIDE + PCIHP_REG_EJECT, 1u << 9, 4);
	wr(PCIHP_REG_EJECT + 1, 1u << 9, 4);
	cr_assert_eq(ej_calls, 0);
	/* The latched bit survived all of it. */
	cr_assert_eq(rd(0, PCIHP_REG_UP), 1u << 2);
}
