/*
 * For unit tests that play a virtio driver: little-endian ring words and descriptors written
 * into fake guest RAM. Included by a test file after it declares `static struct guest_mem gm`,
 * which these helpers use.
 */
#ifndef KVMM_TEST_FAKE_RING_H
#define KVMM_TEST_FAKE_RING_H

#include <criterion/criterion.h>
#include <endian.h>
#include <stdint.h>
#include <string.h>

#include "guest_mem.h"

static void wr16(uint64_t gpa, uint16_t v)
{
	v = htole16(v);
	cr_assert_eq(gm_write(&gm, gpa, &v, 2), 0);
}

static uint16_t rd16(uint64_t gpa)
{
	uint16_t v;

	cr_assert_eq(gm_read(&gm, gpa, &v, 2), 0);
	return le16toh(v);
}

static uint32_t rd32(uint64_t gpa)
{
	uint32_t v;

	cr_assert_eq(gm_read(&gm, gpa, &v, 4), 0);
	return le32toh(v);
}

/* Descriptor I of the table at TABLE. */
static void desc_at(uint64_t table, uint16_t i, uint64_t addr, uint32_t len, uint16_t flags,
		    uint16_t next)
{
	uint8_t d[16];
	uint64_t a = htole64(addr);
	uint32_t l = htole32(len);
	uint16_t f = htole16(flags), n = htole16(next);

	memcpy(d, &a, 8);
	memcpy(d + 8, &l, 4);
	memcpy(d + 12, &f, 2);
	memcpy(d + 14, &n, 2);
	cr_assert_eq(gm_write(&gm, table + 16ULL * i, d, 16), 0);
}

#endif
