/*
 * Unit tests for split virtqueues: rings built by hand in fake guest RAM (two regions with a
 * hole), well-formed and hostile descriptor chains, used-ring publication, notification
 * suppression with and without EVENT_IDX, and the buffer iovec/copy helpers.
 */
#include <criterion/criterion.h>
#include <endian.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "guest_mem.h"
#include "queue.h"

#define MiB		(1ULL << 20)
#define RAM1		(2 * MiB)	/* second region; [1 MiB, 2 MiB) is a hole */
#define QSZ		8
#define DESC		0x1000ULL
#define AVAIL		0x2000ULL
#define USED		0x3000ULL
#define ITABLE		0x5000ULL	/* indirect tables */
#define BUF		0x10000ULL	/* buffers */
#define USED_EVENT	(AVAIL + 4 + 2 * QSZ)
#define AVAIL_EVENT	(USED + 4 + 8 * QSZ)

#define F_NEXT		VIRTQ_DESC_F_NEXT
#define F_WRITE		VIRTQ_DESC_F_WRITE
#define F_INDIRECT	VIRTQ_DESC_F_INDIRECT

static struct guest_mem gm;
#include "fake_ring.h"
static struct vq vq;
static struct vq_chain c;
static uint16_t drv_idx;	/* the driver's avail->idx */

static void setup(void)
{
	struct gm_region l[] = {
		{ .gpa = 0, .size = MiB },
		{ .gpa = RAM1, .size = MiB },
	};

	cr_assert_eq(gm_create(&gm, l, 2), 0);
	vq_reset(&vq);
	vq.size = QSZ;
	vq.ready = true;
	vq.desc_gpa = DESC;
	vq.avail_gpa = AVAIL;
	vq.used_gpa = USED;
	drv_idx = 0;
	memset(&c, 0xaa, sizeof(c));
}

static void teardown(void)
{
	gm_destroy(&gm);
}

TestSuite(queue, .init = setup, .fini = teardown);

static void desc(uint16_t i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
	desc_at(DESC, i, addr, len, flags, next);
}

/* The driver makes HEAD available: ring slot first, then the index. */
static void publish(uint16_t head)
{
	wr16(AVAIL + 4 + 2 * (drv_idx % QSZ), head);
	drv_idx++;
	wr16(AVAIL + 2, drv_idx);
}

/* A chain that vq_pop() must reject as malformed, consuming it. */
static void expect_malformed(uint16_t head)
{
	uint16_t before = vq.last_avail;

	publish(head);
	cr_assert_eq(vq_pop(&vq, &gm, &c), -EINVAL);
	cr_assert_eq(c.head, head);
	cr_assert_eq(vq.last_avail, (uint16_t)(before + 1));
}

static void assert_buf(unsigned int i, uint64_t gpa, uint32_t len, bool write)
{
	cr_assert_eq(c.bufs[i].gpa, gpa, "buf %u gpa %#llx", i, (unsigned long long)c.bufs[i].gpa);
	cr_assert_eq(c.bufs[i].len, len, "buf %u len %u", i, c.bufs[i].len);
	cr_assert_eq(c.bufs[i].write, write, "buf %u write", i);
}

/* ---- vq_pop: well-formed chains ---- */

Test(queue, empty_ring)
{
	cr_assert_eq(vq_pop(&vq, &gm, &c), 0);
	cr_assert_eq(vq.last_avail, 0);
}

Test(queue, single_descriptor)
{
	desc(0, BUF, 100, 0, 0);
	publish(0);
	cr_assert_eq(vq_pop(&vq, &gm, &c), 1);
	cr_assert_eq(c.head, 0);
	cr_assert_eq(c.nr_out, 1);
	cr_assert_eq(c.nr_in, 0);
	cr_assert_eq(c.out_len, 100);
	cr_assert_eq(c.in_len, 0);
	assert_buf(0, BUF, 100, false);
	cr_assert_eq(vq.last_avail, 1);
	cr_assert_eq(vq_pop(&vq, &gm, &c), 0);
}

Test(queue, three_descriptor_chain)
{
	/* Header (readable), data (writable), status (writable), scattered over the table. */
	desc(3, BUF, 16, F_NEXT, 5);
	desc(5, BUF + 0x1000, 4096, F_NEXT | F_WRITE, 1);
	desc(1, BUF + 0x3000, 1, F_WRITE, 7);	/* no NEXT: `next` is ignored */
	publish(3);
	cr_assert_eq(vq_pop(&vq, &gm, &c), 1);
	cr_assert_eq(c.head, 3);
	cr_assert_eq(c.nr_out, 1);
	cr_assert_eq(c.nr_in, 2);
	cr_assert_eq(c.out_len, 16);
	cr_assert_eq(c.in_len, 4097);
	assert_buf(0, BUF, 16, false);
	assert_buf(1, BUF + 0x1000, 4096, true);
	assert_buf(2, BUF + 0x3000, 1, true);
}

Test(queue, several_chains_in_order)
{
	desc(2, BUF, 10, 0, 0);
	desc(5, BUF + 0x100, 20, F_WRITE, 0);
	desc(0, BUF + 0x200, 30, F_NEXT, 6);
	desc(6, BUF + 0x300, 40, F_WRITE, 0);
	publish(2);
	publish(5);
	publish(0);

	cr_assert_eq(vq_pop(&vq, &gm, &c), 1);
	cr_assert_eq(c.head, 2);
	cr_assert_eq(c.out_len, 10);
	cr_assert_eq(vq_pop(&vq, &gm, &c), 1);
	cr_assert_eq(c.head, 5);
	cr_assert_eq(c.nr_out, 0);
	cr_assert_eq(c.nr_in, 1);
	cr_assert_eq(c.in_len, 20);
	cr_assert_eq(vq_pop(&vq, &gm, &c), 1);
	cr_assert_eq(c.head, 0);
	cr_assert_eq(c.nr_out, 1);
	cr_assert_eq(c.nr_in, 1);
	assert_buf(1, BUF + 0x300, 40, true);
	cr_assert_eq(vq_pop(&vq, &gm, &c), 0);
	cr_assert_eq(vq.last_avail, 3);
}

Test(queue, index_wrap)
{
	unsigned int i;

	/* Run both 16-bit indices up to 65534 the honest way, then across 65535 -> 0. */
	desc(0, BUF, 8, 0, 0);
	for (i = 0; i < 65534; i++) {
		publish(0);
		cr_assert_eq(vq_pop(&vq, &gm, &c), 1);
		cr_assert_eq(vq_push(&vq, &gm, 0, 0), 0);
	}
	cr_assert_eq(vq.last_avail, 65534);
	cr_assert_eq(rd16(USED + 2), 65534);

	desc(1, BUF + 0x100, 11, 0, 0);
	desc(2, BUF + 0x200, 22, 0, 0);
	desc(3, BUF + 0x300, 33, 0, 0);
	publish(1);
	publish(2);
	publish(3);
	cr_assert_eq(rd16(AVAIL + 2), 1);
	for (i = 1; i <= 3; i++) {
		cr_assert_eq(vq_pop(&vq, &gm, &c), 1);
		cr_assert_eq(c.head, i);
		cr_assert_eq(c.out_len, 11 * i);
		cr_assert_eq(vq_push(&vq, &gm, c.head, 100 + i), 0);
	}
	cr_assert_eq(vq_pop(&vq, &gm, &c), 0);
	cr_assert_eq(vq.last_avail, 1);
	cr_assert_eq(rd16(USED + 2), 1);
	/* 65534 % 8 = 6, then 7, then 0. */
	cr_assert_eq(rd32(USED + 4 + 8 * 6), 1);
	cr_assert_eq(rd32(USED + 4 + 8 * 7), 2);
	cr_assert_eq(rd32(USED + 4 + 8 * 0), 3);
	cr_assert_eq(rd32(USED + 4 + 8 * 0 + 4), 103);
}

Test(queue, indirect_chain)
{
	/* Table entries walked 0 -> 2 -> 1; the WRITE flag on the table descriptor is ignored. */
	desc_at(ITABLE, 0, BUF, 16, F_NEXT, 2);
	desc_at(ITABLE, 2, BUF + 0x100, 512, F_NEXT | F_WRITE, 1);
	desc_at(ITABLE, 1, BUF + 0x400, 1, F_WRITE, 0);
	desc(4, ITABLE, 3 * 16, F_INDIRECT | F_WRITE, 0);
	publish(4);
	cr_assert_eq(vq_pop(&vq, &gm, &c), 1);
	cr_assert_eq(c.head, 4);
	cr_assert_eq(c.nr_out, 1);
	cr_assert_eq(c.nr_in, 2);
	cr_assert_eq(c.out_len, 16);
	cr_assert_eq(c.in_len, 513);
	assert_buf(0, BUF, 16, false);
	assert_buf(1, BUF + 0x100, 512, true);
	assert_buf(2, BUF + 0x400, 1, true);
}

Test(queue, direct_then_indirect)
{
	desc(0, BUF, 16, F_NEXT, 1);
	desc(1, ITABLE, 32, F_INDIRECT, 0);
	desc_at(ITABLE, 0, BUF + 0x100, 64, F_NEXT, 1);
	desc_at(ITABLE, 1, BUF + 0x200, 8, F_WRITE, 0);
	publish(0);
	cr_assert_eq(vq_pop(&vq, &gm, &c), 1);
	cr_assert_eq(c.nr_out, 2);
	cr_assert_eq(c.nr_in, 1);
	cr_assert_eq(c.out_len, 80);
	cr_assert_eq(c.in_len, 8);
	assert_buf(1, BUF + 0x100, 64, false);
}

Test(queue, longest_chains)
{
	unsigned int i;

	/* QSZ direct descriptors, then a QSZ-entry indirect table: both exactly at the limit. */
	for (i = 0; i < QSZ; i++)
		desc(i, BUF + 0x100 * i, i + 1, i + 1 < QSZ ? F_NEXT : 0, i + 1);
	publish(0);
	cr_assert_eq(vq_pop(&vq, &gm, &c), 1);
	cr_assert_eq(c.nr_out, QSZ);
	cr_assert_eq(c.out_len, QSZ * (QSZ + 1) / 2);
	assert_buf(QSZ - 1, BUF + 0x100 * (QSZ - 1), QSZ, false);

	for (i = 0; i < QSZ; i++)
		desc_at(ITABLE, i, BUF + 0x100 * i, 2, (i + 1 < QSZ ? F_NEXT : 0) | F_WRITE, i + 1);
	desc(0, ITABLE, QSZ * 16, F_INDIRECT, 0);
	publish(0);
	cr_assert_eq(vq_pop(&vq, &gm, &c), 1);
	cr_assert_eq(c.nr_in, QSZ);
	cr_assert_eq(c.in_len, 2 * QSZ);
}

Test(queue, zero_length_buffers_skipped)
{
	desc(0, BUF, 16, F_NEXT, 1);
	desc(1, BUF + 0x100, 0, F_NEXT | F_WRITE, 2);
	desc(2, BUF + 0x200, 1, F_WRITE, 0);
	publish(0);
	cr_assert_eq(vq_pop(&vq, &gm, &c), 1);
	cr_assert_eq(c.nr_out, 1);
	cr_assert_eq(c.nr_in, 1);
	cr_assert_eq(c.in_len, 1);
	assert_buf(1, BUF + 0x200, 1, true);

	/* Still checked: an empty readable buffer after a writable one is malformed. */
	desc(0, BUF, 16, F_WRITE | F_NEXT, 1);
	desc(1, BUF + 0x100, 0, 0, 0);
	expect_malformed(0);
}

/* ---- vq_pop: malformed chains (consumed, -EINVAL) ---- */

Test(queue, cycle)
{
	desc(0, BUF, 16, F_NEXT, 1);
	desc(1, BUF + 0x100, 16, F_NEXT, 0);
	expect_malformed(0);
	/* The queue carries on with the next chain. */
	desc(2, BUF, 5, 0, 0);
	publish(2);
	cr_assert_eq(vq_pop(&vq, &gm, &c), 1);
	cr_assert_eq(c.head, 2);
	cr_assert_eq(c.out_len, 5);
}

Test(queue, self_loop)
{
	desc(3, BUF, 16, F_NEXT | F_WRITE, 3);
	expect_malformed(3);
}

Test(queue, next_out_of_range)
{
	desc(0, BUF, 16, F_NEXT, QSZ);
	expect_malformed(0);
	desc(0, BUF, 16, F_NEXT, 0xffff);
	expect_malformed(0);
}

Test(queue, buffer_outside_ram)
{
	desc(0, 1ULL << 40, 16, 0, 0);
	expect_malformed(0);
	desc(0, MiB + 0x1000, 16, 0, 0);		/* in the hole */
	expect_malformed(0);
	desc(0, MiB - 16, 17, 0, 0);			/* one byte past the region */
	expect_malformed(0);
	desc(0, MiB - 16, 16, 0, 0);			/* exactly the last bytes: fine */
	publish(0);
	cr_assert_eq(vq_pop(&vq, &gm, &c), 1);
	desc(0, RAM1 + MiB - 4, 4, 0, 0);		/* end of the second region: fine */
	publish(0);
	cr_assert_eq(vq_pop(&vq, &gm, &c), 1);
	assert_buf(0, RAM1 + MiB - 4, 4, false);
}

Test(queue, buffer_address_wraps)
{
	desc(0, UINT64_MAX - 10, 100, 0, 0);
	expect_malformed(0);
	/* Wraps to 0x1000, which is RAM: still rejected. */
	desc(0, 0xfffffffffffff000ULL, 0x2000, F_WRITE, 0);
	expect_malformed(0);
}

Test(queue, buffer_straddles_hole)
{
	/* Both ends are RAM, the middle is the hole. */
	desc(0, MiB - 8, MiB + 16, 0, 0);
	expect_malformed(0);
	desc(0, BUF, 16, F_NEXT, 1);
	desc(1, RAM1 - 8, 16, F_WRITE, 0);
	expect_malformed(0);
}

Test(queue, readable_after_writable)
{
	desc(0, BUF, 16, F_NEXT, 1);
	desc(1, BUF + 0x100, 16, F_NEXT | F_WRITE, 2);
	desc(2, BUF + 0x200, 16, 0, 0);
	expect_malformed(0);
	/* Same inside an indirect table. */
	desc_at(ITABLE, 0, BUF, 16, F_WRITE | F_NEXT, 1);
	desc_at(ITABLE, 1, BUF, 16, 0, 0);
	desc(0, ITABLE, 32, F_INDIRECT, 0);
	expect_malformed(0);
}

Test(queue, indirect_inside_indirect)
{
	desc_at(ITABLE + 0x100, 0, BUF, 16, 0, 0);
	desc_at(ITABLE, 0, BUF, 16, F_NEXT, 1);
	desc_at(ITABLE, 1, ITABLE + 0x100, 16, F_INDIRECT, 0);
	desc(0, ITABLE, 32, F_INDIRECT, 0);
	expect_malformed(0);
}

Test(queue, indirect_with_next)
{
	desc_at(ITABLE, 0, BUF, 16, 0, 0);
	desc(0, ITABLE, 16, F_INDIRECT | F_NEXT, 1);
	desc(1, BUF, 16, 0, 0);
	expect_malformed(0);
}

Test(queue, indirect_bad_length)
{
	unsigned int i;

	for (i = 0; i <= QSZ; i++)
		desc_at(ITABLE, i, BUF, 1, 0, 0);
	desc(0, ITABLE, 0, F_INDIRECT, 0);
	expect_malformed(0);
	desc(0, ITABLE, 24, F_INDIRECT, 0);
	expect_malformed(0);
	desc(0, ITABLE, 15, F_INDIRECT, 0);
	expect_malformed(0);
	desc(0, ITABLE, (QSZ + 1) * 16, F_INDIRECT, 0);
	expect_malformed(0);
	desc(0, ITABLE, 0xfffffff0, F_INDIRECT, 0);
	expect_malformed(0);
}

Test(queue, indirect_table_outside_ram)
{
	desc(0, MiB + 0x100, 32, F_INDIRECT, 0);		/* in the hole */
	expect_malformed(0);
	desc(0, MiB - 16, 32, F_INDIRECT, 0);		/* second entry past the region */
	expect_malformed(0);
	desc(0, UINT64_MAX - 15, 32, F_INDIRECT, 0);	/* wraps */
	expect_malformed(0);
}

Test(queue, indirect_next_out_of_range)
{
	/* `next` is bounded by the table's own entry count, not the queue size. */
	desc_at(ITABLE, 0, BUF, 16, F_NEXT, 2);
	desc_at(ITABLE, 2, BUF, 16, 0, 0);
	desc(0, ITABLE, 32, F_INDIRECT, 0);
	expect_malformed(0);
}

Test(queue, indirect_cycle)
{
	desc_at(ITABLE, 0, BUF, 16, F_NEXT, 1);
	desc_at(ITABLE, 1, BUF, 16, F_NEXT, 0);
	desc(0, ITABLE, 32, F_INDIRECT, 0);
	expect_malformed(0);
}

Test(queue, chain_longer_than_queue)
{
	unsigned int i;

	/* 4 direct + 5 indirect = 9 buffers > QSZ. */
	for (i = 0; i < 4; i++)
		desc(i, BUF, 4, F_NEXT, i + 1);
	desc(4, ITABLE, 5 * 16, F_INDIRECT, 0);
	for (i = 0; i < 5; i++)
		desc_at(ITABLE, i, BUF, 4, i < 4 ? F_NEXT : 0, i + 1);
	expect_malformed(0);
	/* 3 direct + 5 indirect = 8: fine. */
	desc(3, ITABLE, 5 * 16, F_INDIRECT, 0);
	publish(0);
	cr_assert_eq(vq_pop(&vq, &gm, &c), 1);
	cr_assert_eq(c.nr_out, 8);
	cr_assert_eq(c.out_len, 32);
}

/* ---- vq_pop: broken rings (-EIO, nothing consumed) ---- */

Test(queue, avail_index_jumps)
{
	desc(0, BUF, 16, 0, 0);
	wr16(AVAIL + 2, QSZ + 1);
	cr_assert_eq(vq_pop(&vq, &gm, &c), -EIO);
	cr_assert_eq(vq.last_avail, 0);
	wr16(AVAIL + 2, 0xffff);			/* "behind" is a jump of 65535 */
	cr_assert_eq(vq_pop(&vq, &gm, &c), -EIO);
	cr_assert_eq(vq.last_avail, 0);
	/* Exactly QSZ entries is a full ring, which is fine. */
	wr16(AVAIL + 2, QSZ);
	cr_assert_eq(vq_pop(&vq, &gm, &c), 1);
	cr_assert_eq(c.head, 0);
	cr_assert_eq(vq.last_avail, 1);
}

Test(queue, head_out_of_range)
{
	desc(0, BUF, 16, 0, 0);
	publish(QSZ);
	cr_assert_eq(vq_pop(&vq, &gm, &c), -EIO);
	cr_assert_eq(vq.last_avail, 0);
	/* Repaired by the driver, the same slot is taken. */
	wr16(AVAIL + 4, 0);
	cr_assert_eq(vq_pop(&vq, &gm, &c), 1);
	cr_assert_eq(vq.last_avail, 1);
}

Test(queue, ring_memory_unreadable)
{
	desc(0, BUF, 16, 0, 0);
	publish(0);
	vq.avail_gpa = MiB + 0x2000;
	cr_assert_eq(vq_pop(&vq, &gm, &c), -EIO);
	vq.avail_gpa = AVAIL;
	vq.desc_gpa = MiB - 0x40;			/* table runs into the hole */
	cr_assert_eq(vq_pop(&vq, &gm, &c), -EIO);
	cr_assert_eq(vq.last_avail, 0);
	vq.desc_gpa = DESC;
	cr_assert_eq(vq_pop(&vq, &gm, &c), 1);
}

/* ---- vq_validate ---- */

Test(queue, validate)
{
	cr_assert_eq(vq_validate(&vq, &gm, 256), 0);
	cr_assert_eq(vq_validate(&vq, &gm, QSZ), 0);

	vq.size = 0;
	cr_assert_eq(vq_validate(&vq, &gm, 256), -EINVAL);
	vq.size = 3;
	cr_assert_eq(vq_validate(&vq, &gm, 256), -EINVAL);
	vq.size = 12;
	cr_assert_eq(vq_validate(&vq, &gm, 256), -EINVAL);
	vq.size = 16;
	cr_assert_eq(vq_validate(&vq, &gm, 8), -EINVAL);
	vq.size = 1;
	cr_assert_eq(vq_validate(&vq, &gm, 256), 0);
	vq.size = 2 * VQ_MAX_SIZE;
	cr_assert_eq(vq_validate(&vq, &gm, 2 * VQ_MAX_SIZE), -EINVAL);
	vq.size = QSZ;
	cr_assert_eq(vq_validate(&vq, &gm, 2 * VQ_MAX_SIZE), -EINVAL);
}

Test(queue, validate_alignment)
{
	vq.desc_gpa = DESC + 8;
	cr_assert_eq(vq_validate(&vq, &gm, 256), -EINVAL);
	vq.desc_gpa = DESC;
	vq.avail_gpa = AVAIL + 1;
	cr_assert_eq(vq_validate(&vq, &gm, 256), -EINVAL);
	vq.avail_gpa = AVAIL + 2;
	cr_assert_eq(vq_validate(&vq, &gm, 256), 0);
	vq.used_gpa = USED + 2;
	cr_assert_eq(vq_validate(&vq, &gm, 256), -EINVAL);
	vq.used_gpa = USED + 4;
	cr_assert_eq(vq_validate(&vq, &gm, 256), 0);
}

Test(queue, validate_ring_ranges)
{
	/* Each area placed to end exactly at the top of the first region, then one entry's
	 * worth (or the event word) past it. */
	vq.desc_gpa = MiB - 16 * QSZ;
	cr_assert_eq(vq_validate(&vq, &gm, 256), 0);
	vq.desc_gpa = MiB - 16 * QSZ + 16;
	cr_assert_eq(vq_validate(&vq, &gm, 256), -EINVAL);
	vq.desc_gpa = DESC;

	vq.avail_gpa = MiB - (6 + 2 * QSZ);
	cr_assert_eq(vq_validate(&vq, &gm, 256), 0);
	vq.avail_gpa = MiB - (4 + 2 * QSZ);		/* used_event would be in the hole */
	cr_assert_eq(vq_validate(&vq, &gm, 256), -EINVAL);
	vq.avail_gpa = AVAIL;

	vq.used_gpa = MiB - (8 + 8 * QSZ);
	cr_assert_eq(vq_validate(&vq, &gm, 256), 0);
	vq.used_gpa = MiB - (4 + 8 * QSZ);		/* avail_event would be in the hole */
	cr_assert_eq(vq_validate(&vq, &gm, 256), -EINVAL);
	vq.used_gpa = 0xfffffffffffffff0ULL;		/* wraps */
	cr_assert_eq(vq_validate(&vq, &gm, 256), -EINVAL);
	vq.used_gpa = MiB + 0x1000;			/* in the hole */
	cr_assert_eq(vq_validate(&vq, &gm, 256), -EINVAL);
	vq.used_gpa = RAM1;
	cr_assert_eq(vq_validate(&vq, &gm, 256), 0);
}

Test(queue, reset)
{
	vq.last_avail = 7;
	vq.used_idx = 9;
	vq.signalled_valid = true;
	vq.event_idx = true;
	vq_reset(&vq);
	cr_assert_eq(vq.size, 0);
	cr_assert_eq(vq.ready, false);
	cr_assert_eq(vq.desc_gpa, 0);
	cr_assert_eq(vq.last_avail, 0);
	cr_assert_eq(vq.used_idx, 0);
	cr_assert_eq(vq.signalled_valid, false);
	cr_assert_eq(vq.event_idx, false);
	cr_assert_eq(vq_pop(&vq, &gm, &c), -EIO);	/* size 0 is no ring */
}

/* ---- vq_unpop ---- */

Test(queue, unpop)
{
	desc(0, BUF, 10, 0, 0);
	desc(1, BUF + 0x100, 20, 0, 0);
	desc(2, BUF + 0x200, 30, F_WRITE, 0);
	publish(0);
	publish(1);
	publish(2);
	cr_assert_eq(vq_pop(&vq, &gm, &c), 1);
	cr_assert_eq(c.head, 0);
	cr_assert_eq(vq_pop(&vq, &gm, &c), 1);
	cr_assert_eq(c.head, 1);
	/* The last one back: taken again, from a fresh walk. */
	vq_unpop(&vq, 1);
	cr_assert_eq(vq.last_avail, 1);
	memset(&c, 0xaa, sizeof(c));
	cr_assert_eq(vq_pop(&vq, &gm, &c), 1);
	cr_assert_eq(c.head, 1);
	cr_assert_eq(c.nr_out, 1);
	assert_buf(0, BUF + 0x100, 20, false);
	/* Two back, then everything in ring order once more. */
	vq_unpop(&vq, 2);
	cr_assert_eq(vq.last_avail, 0);
	for (uint16_t i = 0; i < 3; i++) {
		cr_assert_eq(vq_pop(&vq, &gm, &c), 1);
		cr_assert_eq(c.head, i);
	}
	cr_assert_eq(vq_pop(&vq, &gm, &c), 0);
	/* Nothing was published as used. */
	cr_assert_eq(rd16(USED + 2), 0);
	cr_assert_eq(vq.used_idx, 0);
}

Test(queue, unpop_malformed_and_wrap)
{
	/* Both indices just below the 16-bit wrap. */
	vq.last_avail = 0xffff;
	drv_idx = 0xffff;
	desc(0, BUF, 10, 0, 0);
	desc(1, BUF, 10, F_NEXT, 9);		/* next out of range: malformed */
	publish(0);
	publish(1);
	cr_assert_eq(rd16(AVAIL + 2), 1);
	cr_assert_eq(vq_pop(&vq, &gm, &c), 1);
	cr_assert_eq(vq_pop(&vq, &gm, &c), -EINVAL);
	cr_assert_eq(vq.last_avail, 1);
	vq_unpop(&vq, 2);
	cr_assert_eq(vq.last_avail, 0xffff);
	cr_assert_eq(vq_pop(&vq, &gm, &c), 1);
	cr_assert_eq(c.head, 0);
	cr_assert_eq(vq_pop(&vq, &gm, &c), -EINVAL);
	cr_assert_eq(c.head, 1);
}

Test(queue, unpop_then_enable_notify)
{
	vq.event_idx = true;
	desc(0, BUF, 16, 0, 0);
	publish(0);
	cr_assert_eq(vq_pop(&vq, &gm, &c), 1);
	cr_assert_not(vq_enable_notify(&vq, &gm));
	vq_unpop(&vq, 1);
	/* The chain given back is pending again: no sleeping on it. */
	cr_assert(vq_enable_notify(&vq, &gm));
	cr_assert_eq(rd16(AVAIL_EVENT), 0);
}

/* ---- vq_push ---- */

Test(queue, push)
{
	cr_assert_eq(vq_push(&vq, &gm, 5, 77), 0);
	cr_assert_eq(rd32(USED + 4), 5);
	cr_assert_eq(rd32(USED + 8), 77);
	cr_assert_eq(rd16(USED + 2), 1);
	cr_assert_eq(vq.used_idx, 1);
	cr_assert_eq(vq_push(&vq, &gm, 2, 0xdeadbeef), 0);
	cr_assert_eq(rd32(USED + 12), 2);
	cr_assert_eq(rd32(USED + 16), 0xdeadbeef);
	cr_assert_eq(rd16(USED + 2), 2);
	cr_assert_eq(rd16(USED), 0);			/* flags untouched */
}

Test(queue, push_used_ring_unwritable)
{
	vq.used_gpa = MiB - 16;
	cr_assert_eq(vq_push(&vq, &gm, 1, 1), -EIO);
	cr_assert_eq(vq.used_idx, 0);
}

/* ---- notification suppression ---- */

Test(queue, notify_without_event_idx)
{
	cr_assert_eq(vq_push(&vq, &gm, 0, 0), 0);
	cr_assert(vq_should_notify(&vq, &gm));
	wr16(AVAIL, VIRTQ_AVAIL_F_NO_INTERRUPT);
	cr_assert_eq(vq_push(&vq, &gm, 0, 0), 0);
	cr_assert_not(vq_should_notify(&vq, &gm));
	wr16(AVAIL, 0);
	cr_assert(vq_should_notify(&vq, &gm));
	/* used_event means nothing without EVENT_IDX. */
	wr16(USED_EVENT, 100);
	cr_assert(vq_should_notify(&vq, &gm));
}

Test(queue, notify_event_idx)
{
	vq.event_idx = true;
	/* The first notification is always sent, even with used_event far ahead. */
	wr16(USED_EVENT, 100);
	cr_assert_eq(vq_push(&vq, &gm, 0, 0), 0);
	cr_assert(vq_should_notify(&vq, &gm));
	cr_assert_eq(vq.signalled_used, 1);
	cr_assert(vq.signalled_valid);

	/* used_event equal to the previous index: the index just stepped past it. */
	cr_assert_eq(vq_push(&vq, &gm, 0, 0), 0);
	wr16(USED_EVENT, 1);
	cr_assert(vq_should_notify(&vq, &gm));

	/* No push since: nothing to say. */
	cr_assert_not(vq_should_notify(&vq, &gm));

	/* used_event behind the range (already signalled) and ahead of it: no interrupt. */
	cr_assert_eq(vq_push(&vq, &gm, 0, 0), 0);	/* used 3 */
	wr16(USED_EVENT, 1);
	cr_assert_not(vq_should_notify(&vq, &gm));
	cr_assert_eq(vq_push(&vq, &gm, 0, 0), 0);	/* used 4 */
	wr16(USED_EVENT, 4);
	cr_assert_not(vq_should_notify(&vq, &gm));
	cr_assert_eq(vq.signalled_used, 4);

	/* Several pushes with used_event inside the range. */
	cr_assert_eq(vq_push(&vq, &gm, 0, 0), 0);
	cr_assert_eq(vq_push(&vq, &gm, 0, 0), 0);
	cr_assert_eq(vq_push(&vq, &gm, 0, 0), 0);	/* used 7, range [4, 7) */
	wr16(USED_EVENT, 5);
	cr_assert(vq_should_notify(&vq, &gm));
}

Test(queue, notify_event_idx_records_every_call)
{
	vq.event_idx = true;
	cr_assert_eq(vq_push(&vq, &gm, 0, 0), 0);
	cr_assert(vq_should_notify(&vq, &gm));		/* signalled at 1 */

	/* A skipped notification still moves the window: entry 1 was judged at the call that
	 * saw used 2, so it must not trigger again at used 3. */
	wr16(USED_EVENT, 5);
	cr_assert_eq(vq_push(&vq, &gm, 0, 0), 0);	/* used 2 */
	cr_assert_not(vq_should_notify(&vq, &gm));
	cr_assert_eq(vq.signalled_used, 2);
	wr16(USED_EVENT, 1);
	cr_assert_eq(vq_push(&vq, &gm, 0, 0), 0);	/* used 3, window [2, 3) */
	cr_assert_not(vq_should_notify(&vq, &gm));
	cr_assert_eq(vq.signalled_used, 3);

	/* The driver asks after entry 3; two pushes later it is crossed and reported. */
	wr16(USED_EVENT, 3);
	cr_assert_eq(vq_push(&vq, &gm, 0, 0), 0);	/* used 4 */
	cr_assert_eq(vq_push(&vq, &gm, 0, 0), 0);	/* used 5 */
	cr_assert(vq_should_notify(&vq, &gm));
	cr_assert_eq(vq.signalled_used, 5);

	/* Only the calls that said "notify" count as interrupts, for vq_describe(). */
	cr_assert_eq(vq.irqs, 2);
	cr_assert_eq(vq.irq_used, 5);
}

Test(queue, notify_event_idx_wrap)
{
	unsigned int i;

	vq.event_idx = true;
	vq.used_idx = 65533;
	wr16(USED + 2, 65533);
	cr_assert(vq_should_notify(&vq, &gm));		/* first: always; signalled at 65533 */
	for (i = 0; i < 4; i++)
		cr_assert_eq(vq_push(&vq, &gm, 0, 0), 0);
	cr_assert_eq(vq.used_idx, 1);
	wr16(USED_EVENT, 65535);			/* inside [65533, 1) across the wrap */
	cr_assert(vq_should_notify(&vq, &gm));
	cr_assert_eq(vq_push(&vq, &gm, 0, 0), 0);
	wr16(USED_EVENT, 65535);			/* behind [1, 2) */
	cr_assert_not(vq_should_notify(&vq, &gm));
}

Test(queue, notify_ring_unreadable)
{
	vq.avail_gpa = MiB + 0x100;
	wr16(AVAIL, VIRTQ_AVAIL_F_NO_INTERRUPT);
	cr_assert(vq_should_notify(&vq, &gm));
	vq.event_idx = true;
	vq.signalled_valid = true;
	cr_assert(vq_should_notify(&vq, &gm));
}

Test(queue, enable_notify_event_idx)
{
	vq.event_idx = true;
	wr16(AVAIL_EVENT, 0xabcd);
	desc(0, BUF, 16, 0, 0);
	publish(0);
	publish(0);
	publish(0);
	cr_assert_eq(vq_pop(&vq, &gm, &c), 1);
	cr_assert_eq(vq_pop(&vq, &gm, &c), 1);
	/* One still pending. */
	cr_assert(vq_enable_notify(&vq, &gm));
	cr_assert_eq(rd16(AVAIL_EVENT), 2);
	cr_assert_eq(vq_pop(&vq, &gm, &c), 1);
	cr_assert_not(vq_enable_notify(&vq, &gm));
	cr_assert_eq(rd16(AVAIL_EVENT), 3);
	/* A chain that arrives after the worker decided to sleep is reported. */
	publish(0);
	cr_assert(vq_enable_notify(&vq, &gm));
	cr_assert_eq(rd16(AVAIL_EVENT), 3);
	cr_assert_eq(rd16(USED), 0);
}

Test(queue, enable_notify_without_event_idx)
{
	wr16(AVAIL_EVENT, 0xabcd);
	cr_assert_not(vq_enable_notify(&vq, &gm));
	desc(0, BUF, 16, 0, 0);
	publish(0);
	cr_assert(vq_enable_notify(&vq, &gm));
	cr_assert_eq(rd16(AVAIL_EVENT), 0xabcd);	/* not written without EVENT_IDX */
	cr_assert_eq(rd16(USED), 0);
	cr_assert_eq(vq_pop(&vq, &gm, &c), 1);
	cr_assert_not(vq_enable_notify(&vq, &gm));
}

/* ---- vq_iov, vq_gather, vq_scatter ---- */

static const struct vq_buf iobufs[] = {
	{ .gpa = BUF, .len = 10 },
	{ .gpa = BUF + 0x100, .len = 0 },
	{ .gpa = BUF + 0x200, .len = 20 },
	{ .gpa = RAM1 + 0x300, .len = 5 },
};
#define NIOB (sizeof(iobufs) / sizeof(iobufs[0]))

static uint8_t *host(uint64_t gpa)
{
	return gm_ptr(&gm, gpa, 1);
}

Test(queue, iov_offsets)
{
	struct iovec iov[4];

	/* Starts 8 bytes into the first buffer, skips the empty one, ends inside the third. */
	cr_assert_eq(vq_iov(&gm, iobufs, NIOB, 8, 20, iov, 4), 2);
	cr_assert_eq(iov[0].iov_base, host(BUF + 8));
	cr_assert_eq(iov[0].iov_len, 2);
	cr_assert_eq(iov[1].iov_base, host(BUF + 0x200));
	cr_assert_eq(iov[1].iov_len, 18);

	cr_assert_eq(vq_iov(&gm, iobufs, NIOB, 0, 35, iov, 4), 3);
	cr_assert_eq(iov[2].iov_base, host(RAM1 + 0x300));
	cr_assert_eq(iov[2].iov_len, 5);

	cr_assert_eq(vq_iov(&gm, iobufs, NIOB, 31, 3, iov, 1), 1);
	cr_assert_eq(iov[0].iov_base, host(RAM1 + 0x301));
	cr_assert_eq(iov[0].iov_len, 3);

	/* Starting exactly at a buffer boundary. */
	cr_assert_eq(vq_iov(&gm, iobufs, NIOB, 10, 1, iov, 1), 1);
	cr_assert_eq(iov[0].iov_base, host(BUF + 0x200));
	cr_assert_eq(iov[0].iov_len, 1);

	cr_assert_eq(vq_iov(&gm, iobufs, NIOB, 35, 0, iov, 0), 0);
}

Test(queue, iov_errors)
{
	struct iovec iov[4];
	struct vq_buf bad[] = { { .gpa = BUF, .len = 4 }, { .gpa = MiB + 8, .len = 4 } };

	cr_assert_eq(vq_iov(&gm, iobufs, NIOB, 30, 6, iov, 4), -ERANGE);
	cr_assert_eq(vq_iov(&gm, iobufs, NIOB, 36, 0, iov, 4), -ERANGE);
	cr_assert_eq(vq_iov(&gm, iobufs, NIOB, UINT64_MAX, 2, iov, 4), -ERANGE);
	cr_assert_eq(vq_iov(&gm, iobufs, NIOB, 1, UINT64_MAX, iov, 4), -ERANGE);
	cr_assert_eq(vq_iov(&gm, iobufs, NIOB, 0, 35, iov, 2), -E2BIG);
	cr_assert_eq(vq_iov(&gm, iobufs, NIOB, 5, 6, iov, 1), -E2BIG);
	cr_assert_eq(vq_iov(&gm, bad, 2, 0, 8, iov, 4), -EFAULT);
	cr_assert_eq(vq_iov(&gm, bad, 2, 0, 4, iov, 4), 1);
}

Test(queue, gather_across_buffers)
{
	uint8_t pat[64], out[40];
	unsigned int i;

	for (i = 0; i < sizeof(pat); i++)
		pat[i] = i + 1;
	cr_assert_eq(gm_write(&gm, BUF, pat, 10), 0);
	cr_assert_eq(gm_write(&gm, BUF + 0x200, pat + 10, 20), 0);
	cr_assert_eq(gm_write(&gm, RAM1 + 0x300, pat + 30, 5), 0);

	memset(out, 0, sizeof(out));
	cr_assert_eq(vq_gather(&gm, iobufs, NIOB, 7, out, 25), 25);
	cr_assert_arr_eq(out, pat + 7, 25);
	cr_assert_eq(out[25], 0);

	/* Runs off the end: short count. */
	memset(out, 0, sizeof(out));
	cr_assert_eq(vq_gather(&gm, iobufs, NIOB, 28, out, 40), 7);
	cr_assert_arr_eq(out, pat + 28, 7);
	cr_assert_eq(out[7], 0);
	cr_assert_eq(vq_gather(&gm, iobufs, NIOB, 35, out, 1), 0);
	cr_assert_eq(vq_gather(&gm, iobufs, NIOB, 1000, out, 1), 0);
}

Test(queue, copy_stops_at_buffer_outside_ram)
{
	struct vq_buf bad[] = {
		{ .gpa = BUF, .len = 4 },
		{ .gpa = MiB - 2, .len = 4 },		/* runs into the hole */
		{ .gpa = BUF + 0x100, .len = 4 },
	};
	uint8_t src[12] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12 }, out[12] = { 0 };

	memset(host(BUF), 0xee, 0x200);
	cr_assert_eq(vq_scatter(&gm, bad, 3, 0, src, 12), 4);
	cr_assert_arr_eq(host(BUF), src, 4);
	cr_assert_eq(host(BUF + 0x100)[0], 0xee);	/* nothing past the bad buffer */
	cr_assert_eq(vq_gather(&gm, bad, 3, 2, out, 10), 2);
	cr_assert_eq(out[0], 3);
	cr_assert_eq(out[2], 0);
}

Test(queue, scatter_across_buffers)
{
	uint8_t src[40], got[32];
	unsigned int i;

	for (i = 0; i < sizeof(src); i++)
		src[i] = 0xa0 + i;
	memset(host(BUF), 0xee, 0x400);
	memset(host(RAM1 + 0x2f0), 0xee, 0x20);

	cr_assert_eq(vq_scatter(&gm, iobufs, NIOB, 9, src, 40), 26);
	cr_assert_eq(host(BUF)[8], 0xee);		/* before the offset */
	cr_assert_eq(host(BUF)[9], 0xa0);
	cr_assert_eq(host(BUF)[10], 0xee);		/* past the first buffer */
	cr_assert_eq(host(BUF + 0x100)[0], 0xee);	/* the empty buffer */
	cr_assert_eq(host(BUF + 0x1ff)[0], 0xee);
	cr_assert_arr_eq(host(BUF + 0x200), src + 1, 20);
	cr_assert_eq(host(BUF + 0x214)[0], 0xee);
	cr_assert_arr_eq(host(RAM1 + 0x300), src + 21, 5);
	cr_assert_eq(host(RAM1 + 0x305)[0], 0xee);
	cr_assert_eq(host(RAM1 + 0x2ff)[0], 0xee);

	/* Round trip through gather. */
	memset(got, 0, sizeof(got));
	cr_assert_eq(vq_gather(&gm, iobufs, NIOB, 9, got, 26), 26);
	cr_assert_arr_eq(got, src, 26);
}

/* ---- vq_describe: the teardown report ---- */

Test(queue, describe_idle_then_work_left)
{
	char line[320];

	/* Nothing published, nothing used: no work. */
	cr_assert_not(vq_describe(&vq, &gm, line, sizeof(line)));
	cr_assert(strstr(line, "last_avail 0 used 0 signalled 0 (never)"), "%s", line);

	/* A chain the device never took. */
	desc(0, BUF, 100, 0, 0);
	publish(0);
	cr_assert(vq_describe(&vq, &gm, line, sizeof(line)));
	cr_assert(strstr(line, "avail: idx 1 "), "%s", line);

	/* Taken and used, the driver told: no work. */
	cr_assert(strstr(line, "interrupts 0 (the last at used 0)"), "%s", line);
	cr_assert_eq(vq_pop(&vq, &gm, &c), 1);
	cr_assert_eq(vq_push(&vq, &gm, c.head, 0), 0);
	cr_assert(vq_should_notify(&vq, &gm));
	cr_assert_not(vq_describe(&vq, &gm, line, sizeof(line)), "%s", line);
	cr_assert(strstr(line, "used: idx 1 "), "%s", line);
	cr_assert(strstr(line, "interrupts 1 (the last at used 1)"), "%s", line);

	/* Used again but never signalled: work left. */
	publish(0);
	cr_assert_eq(vq_pop(&vq, &gm, &c), 1);
	cr_assert_eq(vq_push(&vq, &gm, c.head, 0), 0);
	cr_assert(vq_describe(&vq, &gm, line, sizeof(line)), "%s", line);
}

Test(queue, describe_ring_outside_ram)
{
	char line[320];

	vq.avail_gpa = MiB + 0x100;	/* in the hole */
	cr_assert_not(vq_describe(&vq, &gm, line, sizeof(line)));
	cr_assert(strstr(line, "avail: idx ? flags ? used_event ?"), "%s", line);
}
