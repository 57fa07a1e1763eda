/*
 * I/O buses: the port-I/O and MMIO address spaces that trap to user space.
 * A device registers a range and one handler; the exit dispatcher looks the
 * access up here.  Registration happens before vCPUs start; lookups are
 * lock-free afterwards (the table never changes while vCPUs run).
 */
#ifndef KVMM_BUS_H
#define KVMM_BUS_H

#include <stdbool.h>
#include <stdint.h>

/*
 * Handles one access at OFFSET from the start of the device's range.
 * DATA holds LEN bytes (1, 2, 4 or 8): filled in by the handler on a read,
 * supplied by the guest on a write.  Handlers must accept any offset and
 * length inside their range, since the guest chooses both.
 */
typedef void (*bus_handler_t)(void *opaque, uint64_t offset, uint8_t *data,
			      uint32_t len, bool is_write);

struct bus_range {
	uint64_t base;
	uint64_t len;
	bus_handler_t handler;
	void *opaque;
	const char *name;
};

#define BUS_MAX_RANGES 64

struct bus {
	unsigned int nr;
	struct bus_range ranges[BUS_MAX_RANGES];	/* sorted by base */
};

/* Adds [base, base + len); -EEXIST on overlap, -ENOSPC when full, -EINVAL
 * for len == 0 or a range that wraps. */
int bus_register(struct bus *bus, uint64_t base, uint64_t len,
		 bus_handler_t handler, void *opaque, const char *name);

/*
 * Dispatches an access of LEN bytes at ADDR.  Returns true if a device
 * claimed it.  An access that is not claimed, or that straddles the end of a
 * range, is not delivered: reads then see all ones, writes are dropped.
 */
bool bus_access(const struct bus *bus, uint64_t addr, uint8_t *data,
		uint32_t len, bool is_write);

#endif
