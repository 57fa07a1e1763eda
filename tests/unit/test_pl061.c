/*
 * Unit tests for the PL061 GPIO controller: the PrimeCell ID the AMBA bus
 * reads, both-edge press and release as gpio-pl061 + gpio_keys program and
 * service them (GPIOIC clearing, the line dropping on the ack), masked
 * lines, level sense, direction, GPIODATA address masking, odd offsets and
 * lengths, and the API thread pressing while a vCPU thread services the
 * interrupt.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include "pl061.h"

enum {
	DIR = 0x400, IS = 0x404, IBE = 0x408, IEV = 0x40c, IE = 0x410,
	RIS = 0x414, MIS = 0x418, IC = 0x41c, AFSEL = 0x420,
};

#define KEY	3			/* the power key's line */
#define KEY_BIT	(1u << KEY)
#define KEY_DATA (KEY_BIT << 2)		/* GPIODATA masking only KEY */

static struct pl061 *g;
static atomic_int level, raises, lowers, repeats;

static void irq(void *opaque, int lvl)
{
	cr_assert_eq(opaque, &level);
	if (atomic_exchange(&level, lvl) == lvl)
		atomic_fetch_add(&repeats, 1);	/* no change */
	atomic_fetch_add(lvl ? &raises : &lowers, 1);
}

static void setup(void)
{
	atomic_store(&level, 0);
	atomic_store(&raises, 0);
	atomic_store(&lowers, 0);
	atomic_store(&repeats, 0);
	g = pl061_new(irq, &level);
	cr_assert_not_null(g);
}

static void teardown(void)
{
	cr_expect_eq(atomic_load(&repeats), 0, "irq signalled without change");
	pl061_free(g);
}

TestSuite(pl061, .init = setup, .fini = teardown);

static uint32_t rd(uint64_t off)
{
	uint8_t b[4] = { 0xee, 0xee, 0xee, 0xee };

	pl061_mmio(g, off, b, 4, false);
	return b[0] | b[1] << 8 | b[2] << 16 | (uint32_t)b[3] << 24;
}

static void wr(uint64_t off, uint32_t v)
{
	uint8_t b[4] = { v, v >> 8, v >> 16, v >> 24 };

	pl061_mmio(g, off, b, 4, true);
}

/* What gpio-pl061 does for gpio_keys' request_irq(RISING | FALLING). */
static void both_edges(unsigned int line)
{
	wr(IS, rd(IS) & ~(1u << line));
	wr(IBE, rd(IBE) | 1u << line);
	wr(IE, rd(IE) | 1u << line);
}

Test(pl061, primecell_id_as_the_amba_bus_reads_it)
{
	uint32_t pid = 0, cid = 0;
	int i;

	for (i = 0; i < 4; i++) {
		pid |= (rd(0xfe0 + 4 * i) & 0xff) << (8 * i);
		cid |= (rd(0xff0 + 4 * i) & 0xff) << (8 * i);
	}
	cr_expect_eq(pid, 0x00041061, "periphid 0x%08x", pid);
	cr_expect_eq(cid, 0xb105f00d, "cellid 0x%08x", cid);
	cr_expect_eq(rd(0xfe0), 0x61, "zero-extended");
	wr(0xfe0, 0);
	cr_expect_eq(rd(0xfe0), 0x61, "read-only");
}

Test(pl061, reset_state)
{
	static const uint32_t regs[] = {
		DIR, IS, IBE, IEV, IE, RIS, MIS, IC, AFSEL,
	};

	for (unsigned int i = 0; i < sizeof(regs) / sizeof(regs[0]); i++)
		cr_expect_eq(rd(regs[i]), 0, "reg 0x%x", regs[i]);
	cr_expect_eq(rd(0x3fc), 0, "all lines low");
	cr_expect_eq(atomic_load(&raises) + atomic_load(&lowers), 0);
	pl061_free(pl061_new(NULL, NULL));	/* no irq callback is fine */
}

Test(pl061, press_reports_press_then_release_on_both_edges)
{
	both_edges(KEY);
	cr_assert_eq(pl061_press(g, KEY), 0);
	cr_assert_eq(atomic_load(&level), 1, "rising edge");
	cr_assert_eq(rd(RIS), KEY_BIT);
	cr_assert_eq(rd(MIS), KEY_BIT);
	/* handle_edge_irq acks first: the line drops with the event. */
	wr(IC, KEY_BIT);
	cr_assert_eq(atomic_load(&level), 0);
	cr_assert_eq(rd(RIS), 0);
	/* A second press before the guest read the line is the same press. */
	cr_assert_eq(pl061_press(g, KEY), 0);
	cr_assert_eq(rd(RIS), 0, "no second edge");
	/* gpio_keys' debounce timer reads the line: pressed... */
	cr_assert_eq(rd(KEY_DATA), KEY_BIT);
	/* ...which releases it: a falling edge, a second interrupt. */
	cr_assert_eq(atomic_load(&level), 1);
	cr_assert_eq(rd(MIS), KEY_BIT);
	wr(IC, KEY_BIT);
	cr_assert_eq(atomic_load(&level), 0);
	cr_assert_eq(rd(KEY_DATA), 0, "released");
	cr_assert_eq(rd(RIS), 0, "reading low does not interrupt");
	/* The next press is a new one. */
	cr_assert_eq(pl061_press(g, KEY), 0);
	cr_assert_eq(atomic_load(&level), 1);
	cr_assert_eq(atomic_load(&raises), 3);
	cr_assert_eq(atomic_load(&lowers), 2);
}

Test(pl061, press_is_released_only_by_a_read_that_sees_the_line)
{
	both_edges(KEY);
	cr_assert_eq(pl061_press(g, KEY), 0);
	wr(IC, KEY_BIT);
	cr_assert_eq(rd(0x3fc & ~KEY_DATA), 0, "mask without the key");
	cr_assert_eq(rd(KEY_DATA + 1), 0, "byte 1 of GPIODATA");
	cr_assert_eq(rd(RIS), 0);
	cr_assert_eq(rd(0x3fc), KEY_BIT, "all lines, the key among them");
	cr_assert_eq(rd(RIS), KEY_BIT, "released");
	wr(IC, KEY_BIT);
	/* set_input takes the line over: no release after the read. */
	cr_assert_eq(pl061_press(g, KEY), 0);
	cr_assert_eq(pl061_set_input(g, KEY, 1), 0);
	wr(IC, KEY_BIT);
	cr_assert_eq(rd(KEY_DATA), KEY_BIT);
	cr_assert_eq(rd(KEY_DATA), KEY_BIT, "held high");
	cr_assert_eq(rd(RIS), 0);
}

Test(pl061, single_edge_sense_follows_gpioiev)
{
	wr(IE, 0x03);
	wr(IEV, 0x01);		/* line 0 rising, line 1 falling */
	cr_assert_eq(pl061_set_input(g, 0, 1), 0);
	cr_assert_eq(pl061_set_input(g, 1, 1), 0);
	cr_assert_eq(rd(RIS), 0x01);
	wr(IC, 0xff);
	cr_assert_eq(pl061_set_input(g, 0, 0), 0);
	cr_assert_eq(pl061_set_input(g, 1, 0), 0);
	cr_assert_eq(rd(RIS), 0x02);
	cr_assert_eq(pl061_set_input(g, 1, 0), 0);	/* no change */
	wr(IC, 0x02);
	cr_assert_eq(rd(RIS), 0);
	cr_assert_eq(atomic_load(&level), 0);
	cr_assert_eq(pl061_set_input(g, 8, 1), -EINVAL);
	cr_assert_eq(pl061_press(g, 200), -EINVAL);
}

Test(pl061, masked_lines_latch_without_raising)
{
	wr(IBE, 0xff);
	wr(IE, 0x01);
	cr_assert_eq(pl061_press(g, KEY), 0);
	cr_assert_eq(rd(RIS), KEY_BIT);
	cr_assert_eq(rd(MIS), 0);
	cr_assert_eq(atomic_load(&level), 0);
	wr(IE, 0x01 | KEY_BIT);		/* unmasking a latched event */
	cr_assert_eq(atomic_load(&level), 1);
	wr(IE, 0x01);			/* and masking it again */
	cr_assert_eq(atomic_load(&level), 0);
	cr_assert_eq(rd(RIS), KEY_BIT, "masking does not clear");
	wr(IC, KEY_BIT);
	wr(IE, 0xff);
	cr_assert_eq(atomic_load(&level), 0, "cleared while masked");
}

Test(pl061, level_sense)
{
	wr(IS, 0x04 | 0x02);
	wr(IEV, 0x04);		/* line 2 active high, 1 active low */
	cr_assert_eq(rd(RIS), 0x02, "line 1 is low: active");
	wr(IE, 0x04);
	cr_assert_eq(atomic_load(&level), 0);
	cr_assert_eq(pl061_set_input(g, 2, 1), 0);
	cr_assert_eq(atomic_load(&level), 1);
	wr(IC, 0x04);
	cr_assert_eq(rd(MIS), 0x04, "GPIOIC does not clear a level");
	cr_assert_eq(atomic_load(&level), 1);
	cr_assert_eq(pl061_set_input(g, 2, 0), 0);
	cr_assert_eq(rd(RIS), 0x02);
	cr_assert_eq(atomic_load(&level), 0, "the level went away");
	wr(IEV, 0x00);		/* line 2 active low now */
	cr_assert_eq(atomic_load(&level), 1);
	wr(IS, 0x02);		/* line 2 back to edge: nothing latched */
	cr_assert_eq(rd(RIS), 0x02);
	cr_assert_eq(atomic_load(&level), 0);
	/* An edge latched before the line turned level-sensitive is gone. */
	wr(IBE, 0x01);
	cr_assert_eq(pl061_set_input(g, 0, 1), 0);
	cr_assert_eq(rd(RIS), 0x03);
	wr(IS, 0x03);
	wr(IEV, 0x00);
	cr_assert_eq(rd(RIS), 0x02, "line 0 is high, not active-low");
	wr(IS, 0x02);
	cr_assert_eq(rd(RIS), 0x02);
}

Test(pl061, direction_output_lines_ignore_inputs)
{
	wr(DIR, 0x20);
	cr_assert_eq(rd(DIR), 0x20);
	wr(IBE, 0xff);
	wr(IS, 0x20);
	wr(IEV, 0xff);
	wr(IE, 0xff);
	cr_assert_eq(pl061_set_input(g, 5, 1), -EBUSY);
	cr_assert_eq(pl061_press(g, 5), -EBUSY);
	cr_assert_eq(rd(0x3fc), 0);
	cr_assert_eq(rd(RIS), 0, "output lines never interrupt");
	wr(0x3fc, 0xff);	/* only the output line takes the value */
	cr_assert_eq(rd(0x3fc), 0x20);
	cr_assert_eq(rd(RIS), 0);
	cr_assert_eq(atomic_load(&level), 0);
	/* Back to an input: the line reads its external level again. */
	wr(DIR, 0);
	cr_assert_eq(rd(0x3fc), 0);
	cr_assert_eq(pl061_set_input(g, 5, 1), 0);
	cr_assert_eq(rd(0x3fc), 0x20);
	cr_assert_eq(atomic_load(&level), 1, "level high on line 5");
}

Test(pl061, gpiodata_address_bits_mask_the_lines)
{
	wr(DIR, 0xf0);		/* 7..4 outputs, 3..0 inputs */
	wr(0x3fc, 0xff);
	cr_assert_eq(rd(0x3fc), 0xf0);
	wr(0x40 << 2, 0x00);	/* mask 0x40: clears line 6 only */
	cr_assert_eq(rd(0x3fc), 0xb0);
	wr(0x30 << 2, 0xff);	/* mask 0x30: 4 and 5 already set */
	wr(0x0c << 2, 0xff);	/* mask 0x0c: inputs, dropped */
	cr_assert_eq(rd(0x3fc), 0xb0);
	cr_assert_eq(pl061_set_input(g, 1, 1), 0);
	cr_assert_eq(rd(0x3fc), 0xb2);
	cr_assert_eq(rd(0x000), 0, "mask 0 reads nothing");
	cr_assert_eq(rd(0x82 << 2), 0x82);
	cr_assert_eq(rd(0x41 << 2), 0x00);
	for (uint32_t m = 0; m < 256; m++)
		cr_assert_eq(rd(m << 2), 0xb2 & m, "mask 0x%x", m);
}

Test(pl061, odd_offsets_and_lengths)
{
	uint8_t b[8];

	wr(DIR, 0x5a);
	wr(IE, 0x01);
	memset(b, 0xee, sizeof(b));
	pl061_mmio(g, DIR, b, 8, false);
	cr_assert(b[0] == 0x5a && !b[1] && !b[2] && !b[3] && !b[4] && !b[7]);
	memset(b, 0xee, sizeof(b));
	pl061_mmio(g, DIR + 1, b, 2, false);
	cr_assert(b[0] == 0 && b[1] == 0 && b[2] == 0xee, "lane 1, 2 bytes");
	memset(b, 0xee, sizeof(b));
	pl061_mmio(g, DIR, b, 1, false);
	cr_assert(b[0] == 0x5a && b[1] == 0xee, "one byte");
	pl061_mmio(g, DIR, b, 0, false);
	cr_assert_eq(b[0], 0x5a, "len 0 touches nothing");
	b[0] = 0xff;
	pl061_mmio(g, DIR + 1, b, 1, true);
	pl061_mmio(g, DIR + 3, b, 1, true);
	cr_assert_eq(rd(DIR), 0x5a, "bytes 1-3 are not implemented");
	memset(b, 0, sizeof(b));
	pl061_mmio(g, DIR, b, 8, true);
	cr_assert_eq(rd(DIR), 0, "8-byte write sets byte 0 only");
	cr_assert_eq(rd(IE), 0x01, "and not the next register");
	wr(RIS, 0xff);
	wr(MIS, 0xff);
	cr_assert_eq(rd(RIS), 0, "read-only");
	static const uint64_t empty[] = {
		IC, 0x424, 0x800, 0xfdc, 0x1000, 0x1004, 0xfffffffffffffffcULL,
	};
	for (unsigned int i = 0; i < sizeof(empty) / sizeof(empty[0]); i++) {
		wr(empty[i], 0xffffffff);
		cr_assert_eq(rd(empty[i]), 0, "0x%llx",
			     (unsigned long long)empty[i]);
	}
	cr_assert_eq(rd(DIR), 0);
	cr_assert_eq(rd(IE), 0x01);
	cr_assert_eq(atomic_load(&level), 0);
}

#define PRESSES 20000

static atomic_int done;

static void *presser(void *arg)
{
	(void)arg;
	for (int i = 0; i < PRESSES; i++)
		cr_assert_eq(pl061_press(g, KEY), 0);
	atomic_store(&done, 1);
	return NULL;
}

/* The guest's side: gpio-pl061's handler acks, gpio_keys reads the line. */
static unsigned int service(void)
{
	if (rd(MIS) & KEY_BIT)
		wr(IC, KEY_BIT);
	return rd(KEY_DATA) == KEY_BIT;
}

Test(pl061, presses_racing_the_guest_leave_the_line_consistent)
{
	unsigned int seen = 0;
	pthread_t t;

	both_edges(KEY);
	atomic_store(&done, 0);
	cr_assert_eq(pthread_create(&t, NULL, presser, NULL), 0);
	while (!atomic_load(&done))
		seen += service();
	pthread_join(t, NULL);
	seen += service();	/* the last press, if nobody saw it yet */
	service();		/* its release */
	cr_assert_eq(rd(KEY_DATA), 0, "every press was released");
	cr_assert_eq(rd(RIS), 0);
	cr_assert_eq(atomic_load(&level), 0);
	cr_assert_eq(atomic_load(&raises), atomic_load(&lowers));
	cr_log_info("%u of %d presses seen, %d raises", seen, PRESSES,
		    atomic_load(&raises));
	cr_assert(seen >= 1 && seen <= PRESSES, "%u presses seen", seen);
	/* Each press seen was two edges, each raising the line at most once. */
	cr_assert_leq((unsigned int)atomic_load(&raises), 2 * seen);
	cr_assert_geq((unsigned int)atomic_load(&raises), seen);
}
