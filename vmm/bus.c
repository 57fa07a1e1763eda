/*
 * Port-I/O and MMIO range tables: registration before the vCPUs start, and
 * the lookup the exit dispatcher runs on every trapped access.
 */
#include <errno.h>
#include <string.h>

#include "bus.h"

int bus_register(struct bus *bus, uint64_t base, uint64_t len,
		 bus_handler_t handler, void *opaque, const char *name)
{
	unsigned int i, pos;

	if (len == 0 || base + len < base || !handler)
		return -EINVAL;
	if (bus->nr == BUS_MAX_RANGES)
		return -ENOSPC;
	for (pos = 0; pos < bus->nr; pos++) {
		const struct bus_range *r = &bus->ranges[pos];

		if (base < r->base + r->len && r->base < base + len)
			return -EEXIST;
		if (r->base > base)
			break;
	}
	for (i = pos; i < bus->nr; i++)
		if (bus->ranges[i].base < base + len)
			return -EEXIST;
	memmove(&bus->ranges[pos + 1], &bus->ranges[pos],
		(bus->nr - pos) * sizeof(bus->ranges[0]));
	bus->ranges[pos] = (struct bus_range){
		.base = base, .len = len, .handler = handler,
		.opaque = opaque, .name = name,
	};
	bus->nr++;
	return 0;
}

static const struct bus_range *bus_find(const struct bus *bus, uint64_t addr)
{
	unsigned int lo = 0, hi = bus->nr;

	while (lo < hi) {
		unsigned int mid = lo + (hi - lo) / 2;
		const struct bus_range *r = &bus->ranges[mid];

		if (addr < r->base)
			hi = mid;
		else if (addr - r->base >= r->len)
			lo = mid + 1;
		else
			return r;
	}
	return NULL;
}

bool bus_access(const struct bus *bus, uint64_t addr, uint8_t *data,
		uint32_t len, bool is_write)
{
	const struct bus_range *r = bus_find(bus, addr);

	/* The whole access must fit the range: addr - base < len already. */
	if (!r || len > r->len - (addr - r->base)) {
		if (!is_write)
			memset(data, 0xff, len);
		return false;
	}
	r->handler(r->opaque, addr - r->base, data, len, is_write);
	return true;
}
