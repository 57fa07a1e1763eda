/*
 * Unit tests for the I/O bus: registration rules and dispatch, including
 * accesses that straddle the end of a range.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "bus.h"

struct probe {
	uint64_t offset;
	uint32_t len;
	bool is_write;
	int calls;
};

static void probe_io(void *opaque, uint64_t offset, uint8_t *data,
		     uint32_t len, bool is_write)
{
	struct probe *p = opaque;

	p->offset = offset;
	p->len = len;
	p->is_write = is_write;
	p->calls++;
	if (!is_write)
		memset(data, 0x5a, len);
}

Test(bus, register_rules)
{
	struct bus b = { 0 };
	struct probe p = { 0 };

	cr_assert_eq(bus_register(&b, 0x100, 8, probe_io, &p, "a"), 0);
	cr_assert_eq(bus_register(&b, 0x104, 8, probe_io, &p, "b"), -EEXIST);
	cr_assert_eq(bus_register(&b, 0xfc, 8, probe_io, &p, "c"), -EEXIST);
	cr_assert_eq(bus_register(&b, 0xf0, 0x20, probe_io, &p, "d"), -EEXIST);
	cr_assert_eq(bus_register(&b, 0x108, 8, probe_io, &p, "e"), 0);
	cr_assert_eq(bus_register(&b, 0xf8, 8, probe_io, &p, "f"), 0);
	cr_assert_eq(bus_register(&b, 0x10, 0, probe_io, &p, "g"), -EINVAL);
	cr_assert_eq(bus_register(&b, UINT64_MAX - 1, 4, probe_io, &p, "h"),
		     -EINVAL);
	cr_assert_eq(b.nr, 3);
	cr_assert_eq(b.ranges[0].base, 0xf8);
	cr_assert_eq(b.ranges[1].base, 0x100);
	cr_assert_eq(b.ranges[2].base, 0x108);
}

Test(bus, full_table)
{
	struct bus b = { 0 };
	struct probe p = { 0 };
	unsigned int i;

	for (i = 0; i < BUS_MAX_RANGES; i++)
		cr_assert_eq(bus_register(&b, i * 16, 16, probe_io, &p, "x"), 0);
	cr_assert_eq(bus_register(&b, 0x10000, 16, probe_io, &p, "x"), -ENOSPC);
}

Test(bus, dispatch)
{
	struct bus b = { 0 };
	struct probe p = { 0 }, q = { 0 };
	uint8_t data[8];

	bus_register(&b, 0x3f8, 8, probe_io, &p, "p");
	bus_register(&b, 0x1000, 0x1000, probe_io, &q, "q");

	cr_assert(bus_access(&b, 0x3fd, data, 1, false));
	cr_assert_eq(p.offset, 5);
	cr_assert_eq(data[0], 0x5a);
	cr_assert(bus_access(&b, 0x1ffc, data, 4, true));
	cr_assert_eq(q.offset, 0xffc);
	cr_assert(q.is_write);

	/* Unclaimed: reads float high, writes vanish, handler not called. */
	memset(data, 0, sizeof(data));
	cr_assert_not(bus_access(&b, 0x400, data, 4, false));
	cr_assert_eq(*(uint32_t *)data, 0xffffffff);
	cr_assert_not(bus_access(&b, 0x3f7, data, 1, true));

	/* Straddling the end of a range is not delivered. */
	p.calls = 0;
	cr_assert_not(bus_access(&b, 0x3ff, data, 2, false));
	cr_assert_not(bus_access(&b, 0x1ffe, data, 4, true));
	cr_assert_eq(p.calls, 0);
	cr_assert_not(bus_access(&b, UINT64_MAX, data, 8, false));
}
