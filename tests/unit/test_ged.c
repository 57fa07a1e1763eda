/*
 * Unit tests for the ACPI Generic Event Device: the power-button bit is
 * latched until read, the level-triggered line is high exactly while an event
 * is pending (raised once, lowered by the read that empties the register),
 * a failed raise is reported and retried, and the API thread pressing while
 * a vCPU thread reads never leaves the line high with nothing to read.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>

#include "ged.h"

static struct ged *g;
static atomic_int level, raises, lowers, fail_raise;

static int irq(void *opaque, int lvl)
{
	(void)opaque;
	if (lvl && atomic_load(&fail_raise))
		return -EIO;
	atomic_fetch_add(lvl ? &raises : &lowers, 1);
	atomic_store(&level, lvl);
	return 0;
}

static void setup(void)
{
	atomic_store(&level, 0);
	atomic_store(&raises, 0);
	atomic_store(&lowers, 0);
	atomic_store(&fail_raise, 0);
	g = ged_new(irq, NULL);
	cr_assert_not_null(g);
}

static void teardown(void)
{
	ged_free(g);
}

TestSuite(ged, .init = setup, .fini = teardown);

static uint8_t rd(void)
{
	uint8_t v = 0xee;

	ged_io(g, GED_REG_EVENTS, &v, 1, false);
	return v;
}

Test(ged, idle_register_reads_zero_and_leaves_the_line_alone)
{
	cr_assert_eq(rd(), 0);
	cr_assert_eq(rd(), 0);
	cr_assert(atomic_load(&raises) == 0 && atomic_load(&lowers) == 0);
	cr_assert_null(ged_new(NULL, NULL), "an irq callback is required");
}

Test(ged, power_button_latches_until_read)
{
	cr_assert_eq(ged_power_button(g), 0);
	cr_assert(atomic_load(&level) == 1 && atomic_load(&raises) == 1);
	/* A second press before the guest looked: same bit, no second raise. */
	cr_assert_eq(ged_power_button(g), 0);
	cr_assert_eq(atomic_load(&raises), 1);
	cr_assert_eq(rd(), GED_EVT_POWER_BUTTON);
	cr_assert(atomic_load(&level) == 0 && atomic_load(&lowers) == 1,
		  "the read that empties the register lowers the line");
	cr_assert_eq(rd(), 0, "read clears");
	cr_assert_eq(atomic_load(&lowers), 1, "no lowering of a low line");
	/* The next press is a new event. */
	cr_assert_eq(ged_power_button(g), 0);
	cr_assert(atomic_load(&level) == 1 && atomic_load(&raises) == 2);
	cr_assert_eq(rd(), GED_EVT_POWER_BUTTON);
}

Test(ged, writes_are_ignored_and_wide_reads_are_zero_extended)
{
	uint8_t v[4] = { 0xff, 0xff, 0xff, 0xff };

	cr_assert_eq(ged_power_button(g), 0);
	ged_io(g, GED_REG_EVENTS, v, 1, true);
	cr_assert_eq(atomic_load(&level), 1, "a write neither clears nor lowers");
	ged_io(g, GED_REG_EVENTS, v, 4, false);
	cr_assert(v[0] == GED_EVT_POWER_BUTTON && !v[1] && !v[2] && !v[3]);
	cr_assert_eq(atomic_load(&level), 0);
	v[0] = 0xff;
	ged_io(g, GED_NR_REGS, v, 1, false);
	cr_assert_eq(v[0], 0, "beyond the register block");
}

Test(ged, failed_raise_is_reported_and_retried)
{
	atomic_store(&fail_raise, 1);
	cr_assert_eq(ged_power_button(g), -EIO);
	cr_assert_eq(atomic_load(&level), 0);
	atomic_store(&fail_raise, 0);
	cr_assert_eq(ged_power_button(g), 0, "the next press raises the line");
	cr_assert(atomic_load(&level) == 1 && atomic_load(&raises) == 1);
	cr_assert_eq(rd(), GED_EVT_POWER_BUTTON);
	cr_assert_eq(atomic_load(&level), 0);
}

#define PRESSES 20000

static void *presser(void *arg)
{
	(void)arg;
	for (int i = 0; i < PRESSES; i++)
		cr_assert_eq(ged_power_button(g), 0);
	return NULL;
}

Test(ged, presses_racing_reads_leave_no_line_high_with_nothing_pending)
{
	unsigned int seen = 0;
	pthread_t t;

	cr_assert_eq(pthread_create(&t, NULL, presser, NULL), 0);
	for (int i = 0; i < PRESSES; i++)
		seen += rd() == GED_EVT_POWER_BUTTON;
	pthread_join(t, NULL);
	/* Quiescent: the line is high exactly when one read has a bit. */
	if (atomic_load(&level)) {
		cr_assert_eq(rd(), GED_EVT_POWER_BUTTON);
		seen++;
	}
	cr_assert_eq(atomic_load(&level), 0);
	cr_assert_eq(rd(), 0);
	cr_assert(seen >= 1 && seen <= PRESSES);
	cr_assert_eq(atomic_load(&raises), atomic_load(&lowers),
		     "every raise was matched by one lowering");
	cr_assert_eq((unsigned int)atomic_load(&raises), seen,
		     "one raise per event the guest read");
}
