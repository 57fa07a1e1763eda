/*
 * Unit tests for the ACPI CPU hot-plug controller (devices/cpuhp.h): the
 * boot CPUs start present, plugs and eject requests latch until read (both
 * halves of the 64-CPU words), an eject write clears PRESENT at once and
 * reaches the callback, never for CPU 0 or absent CPUs, and accesses of the
 * wrong size or offset do nothing.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "cpuhp.h"

static struct cpuhp *h;
static unsigned int ej_calls;
static uint64_t ej_cpus;

static void on_eject(void *opaque, uint64_t cpus)
{
	cr_assert_eq(opaque, &h);
	ej_calls++;
	ej_cpus = cpus;
}

static void setup(void)
{
	ej_calls = 0;
	h = cpuhp_new(40, 2, on_eject, &h);
	cr_assert_not_null(h);
}

static void teardown(void)
{
	cpuhp_free(h);
}

TestSuite(cpuhp, .init = setup, .fini = teardown);

static uint32_t rd(uint64_t off)
{
	uint8_t b[4] = { 0xcc, 0xcc, 0xcc, 0xcc };
	uint32_t v;

	cpuhp_io(h, off, b, 4, false);
	memcpy(&v, b, 4);
	return v;
}

static void wr(uint64_t off, uint32_t v, uint32_t len)
{
	uint8_t b[4];

	memcpy(b, &v, 4);
	cpuhp_io(h, off, b, len, true);
}

Test(cpuhp, new_rules)
{
	cr_assert_null(cpuhp_new(0, 0, on_eject, NULL));
	cr_assert_null(cpuhp_new(65, 1, on_eject, NULL));
	cr_assert_null(cpuhp_new(4, 5, on_eject, NULL));
	cr_assert_null(cpuhp_new(4, 0, on_eject, NULL));
	cr_assert_null(cpuhp_new(4, 1, NULL, NULL));
}

Test(cpuhp, boot_cpus_present)
{
	cr_assert_eq(rd(CPUHP_REG_PRESENT), 0x3);
	cr_assert_eq(rd(CPUHP_REG_PRESENT + 4), 0);
	cr_assert_eq(rd(CPUHP_REG_INSERT), 0);
	cr_assert_eq(cpuhp_present(h), 0x3);
}

Test(cpuhp, plug_and_unplug_latch)
{
	cr_assert_eq(cpuhp_plug(h, 5), 0);
	cr_assert_eq(cpuhp_plug(h, 33), 0);
	cr_assert_eq(cpuhp_plug(h, 40), -EINVAL, "only 40 CPUs");
	cr_assert_eq(rd(CPUHP_REG_PRESENT), 0x23);
	cr_assert_eq(rd(CPUHP_REG_PRESENT + 4), 0x2);
	cr_assert_eq(rd(CPUHP_REG_INSERT), 1u << 5);
	cr_assert_eq(rd(CPUHP_REG_INSERT), 0, "a read clears its half");
	cr_assert_eq(rd(CPUHP_REG_INSERT + 4), 0x2, "the other half is still latched");
	cr_assert_eq(rd(CPUHP_REG_INSERT + 4), 0);

	cr_assert_eq(cpuhp_unplug(h, 0), -EINVAL, "the boot CPU stays");
	cr_assert_eq(cpuhp_unplug(h, 7), -EINVAL, "not present");
	cr_assert_eq(cpuhp_unplug(h, 5), 0);
	cr_assert_eq(rd(CPUHP_REG_REMOVE), 1u << 5);
	cr_assert_eq(rd(CPUHP_REG_REMOVE), 0);
	cr_assert_eq(rd(CPUHP_REG_PRESENT), 0x23, "present until the guest ejects it");
}

Test(cpuhp, eject_clears_present_and_calls_back)
{
	cr_assert_eq(cpuhp_plug(h, 5), 0);
	cr_assert_eq(cpuhp_plug(h, 33), 0);
	cr_assert_eq(cpuhp_unplug(h, 33), 0);
	/* CPU 0 and absent CPU 6 are ignored; 5 goes. */
	wr(CPUHP_REG_EJECT, (1u << 5) | (1u << 6) | 1u, 4);
	cr_assert_eq(ej_calls, 1);
	cr_assert_eq(ej_cpus, 1ULL << 5);
	cr_assert_eq(rd(CPUHP_REG_PRESENT), 0x3);
	wr(CPUHP_REG_EJECT + 4, 0x2, 4);
	cr_assert_eq(ej_calls, 2);
	cr_assert_eq(ej_cpus, 1ULL << 33);
	cr_assert_eq(rd(CPUHP_REG_REMOVE + 4), 0, "the eject answered the request");
	/* Nothing left to eject: no call. */
	wr(CPUHP_REG_EJECT, 1u << 5, 4);
	cr_assert_eq(ej_calls, 2);
}

Test(cpuhp, bad_accesses_do_nothing)
{
	uint8_t b[4] = { 0xcc, 0xcc, 0xcc, 0xcc };

	cr_assert_eq(cpuhp_plug(h, 3), 0);
	cpuhp_io(h, CPUHP_REG_INSERT, b, 2, false);
	cr_assert_eq(b[0] | b[1], 0);
	cpuhp_io(h, CPUHP_REG_INSERT + 1, b, 4, false);
	cr_assert_eq(b[0] | b[1] | b[2] | b[3], 0);
	cr_assert_eq(rd(CPUHP_LEN), 0);
	wr(CPUHP_REG_EJECT, 1u << 3, 1);
	wr(CPUHP_REG_EJECT + 2, 1u << 3, 4);
	wr(CPUHP_LEN, 1u << 3, 4);
	cr_assert_eq(ej_calls, 0);
	cr_assert_eq(rd(CPUHP_REG_INSERT), 1u << 3);
	cr_assert_eq(rd(CPUHP_REG_PRESENT), 0xb);
}
