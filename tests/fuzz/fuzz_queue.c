/*
 * libFuzzer target for split virtqueues on their own (virtio/queue.c), beyond what
 * fuzz_virtio_blk reaches with its fixed ring: any queue size and ring placement the driver
 * may choose (checked with vq_validate() first, as the transports do), pops, pushes in any
 * order, vq_unpop(), notification suppression (vq_should_notify(), vq_enable_notify(), with
 * and without EVENT_IDX), vq_describe() into buffers of every size, and vq_iov(),
 * vq_gather() and vq_scatter() at any offset and length; the driver rewrites ring words
 * between the device's steps. Guest RAM is two 64 KiB regions with a hole between them, so
 * buffers and rings straddle into unmapped guest-physical space.
 *
 * The input:
 *	bytes 0-7	the queue: byte 0 % 11 the size's log2 (1..1024), bit 7 of byte 0
 *			EVENT_IDX; le16 at 1, 3, 5 the descriptor table, available and used
 *			ring offsets, each in the second region when bit 0, 1 or 2 of byte 7
 *			is set; byte 7 >> 3 the size of a vq_describe() buffer before the
 *			queue is checked (a queue vq_validate() refuses goes no further);
 *	bytes 8-9	le16 N, the length of the operation list (clipped to what follows);
 *	then N bytes of operations, then guest RAM (the first region, then the second).
 * Each operation is a byte B whose B % 9 says what, its arguments the next bytes:
 *	0 pop; 1 push a popped chain (byte: which, le16: length); 2 unpop (byte: how many);
 *	3 should_notify; 4 enable_notify; 5 describe (byte: buffer size 0..95);
 *	6 vq_iov of the last chain (le16 offset, le16 length, byte max iovecs 0..15);
 *	7 gather (B & 0x80: scatter) of the last chain (le16 offset, le16 length);
 *	8 the driver writes a ring word (le16 offset into the first region, le16 value).
 *
 * Checked (abort on violation): a chain vq_pop() returns has its head below the size, at most
 * size buffers, each non-empty and wholly inside RAM, device-readable ones first, lengths
 * adding up to out_len and in_len; a malformed one still has a head below the size; vq_push()
 * publishes exactly the element and index asked for; vq_describe() writes a NUL-terminated
 * string within its buffer and nothing past it; vq_iov() returns iovecs inside RAM whose
 * lengths add up to the length asked for, no more than MAX, -ERANGE exactly when the range is
 * beyond the buffers; gather and scatter copy min(length, bytes after offset).
 */
#define _GNU_SOURCE
#include <endian.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "guest_mem.h"
#include "log.h"
#include "queue.h"

#define KiB		(1ULL << 10)
#define RAM0_GPA	0x0ULL
#define RAM0_SIZE	(64 * KiB)
#define RAM1_GPA	0x20000ULL	/* after a 64 KiB hole */
#define RAM1_SIZE	(64 * KiB)
#define HDR_LEN		10
#define MAX_OPS		2048
#define CANARY		0xa5

static struct guest_mem gm;
static uint8_t *r0, *r1;
static struct vq_chain chain;		/* large: not on the stack */
static struct iovec iov[16];
static uint8_t bounce[2 * 64 * KiB + 64];
static uint16_t popped[VQ_MAX_SIZE];	/* heads popped, not pushed, in pop order */
static unsigned int nr_popped;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct gm_region l[] = {
		{ .gpa = RAM0_GPA, .size = RAM0_SIZE },
		{ .gpa = RAM1_GPA, .size = RAM1_SIZE },
	};

	(void)argc;
	(void)argv;
	log_threshold = LOG_QUIET;
	if (gm_create(&gm, l, 2))
		return -1;
	r0 = gm_ptr(&gm, RAM0_GPA, RAM0_SIZE);
	r1 = gm_ptr(&gm, RAM1_GPA, RAM1_SIZE);
	return r0 && r1 ? 0 : -1;
}

/* [P, P + N) lies inside one of the RAM mappings. */
static bool in_ram(const void *p, uint64_t n)
{
	const uint8_t *b = p;

	return (b >= r0 && n <= RAM0_SIZE && b - r0 <= (ptrdiff_t)(RAM0_SIZE - n)) ||
	       (b >= r1 && n <= RAM1_SIZE && b - r1 <= (ptrdiff_t)(RAM1_SIZE - n));
}

static void check_chain(const struct vq *vq, const struct vq_chain *c)
{
	uint64_t out = 0, in = 0;

	check(c->head < vq->size);
	check(c->nr_out + c->nr_in <= vq->size);
	for (unsigned int i = 0; i < c->nr_out + c->nr_in; i++) {
		const struct vq_buf *b = &c->bufs[i];

		check(b->len > 0);
		check(gm_ptr(&gm, b->gpa, b->len) != NULL);
		check(b->write == (i >= c->nr_out));
		if (b->write)
			in += b->len;
		else
			out += b->len;
	}
	check(out == c->out_len && in == c->in_len);
}

static uint16_t rd16(uint64_t gpa)
{
	uint16_t v;

	check(!gm_read(&gm, gpa, &v, 2));
	return le16toh(v);
}

static uint32_t rd32(uint64_t gpa)
{
	uint32_t v;

	check(!gm_read(&gm, gpa, &v, 4));
	return le32toh(v);
}

static void push(struct vq *vq, unsigned int which, uint32_t len)
{
	uint16_t head = popped[which], idx = vq->used_idx;
	uint64_t e = vq->used_gpa + 4 + 8ULL * (idx & (vq->size - 1));

	memmove(popped + which, popped + which + 1, (nr_popped - which - 1) * sizeof(popped[0]));
	nr_popped--;
	check(vq_push(vq, &gm, head, len) == 0);	/* the used ring passed vq_validate() */
	check(vq->used_idx == (uint16_t)(idx + 1));
	check(rd16(vq->used_gpa + 2) == vq->used_idx);
	check(rd32(e) == head && rd32(e + 4) == len);
}

static void describe(const struct vq *vq, size_t n)
{
	char buf[96 + 16];

	memset(buf, CANARY, sizeof(buf));
	vq_describe(vq, &gm, buf, n);
	for (size_t i = n; i < sizeof(buf); i++)
		check((uint8_t)buf[i] == CANARY);
	if (n)
		check(memchr(buf, '\0', n) != NULL);
}

static void iov_op(const struct vq_chain *c, uint64_t off, uint64_t len, unsigned int max)
{
	unsigned int n = c->nr_out + c->nr_in;
	uint64_t total = c->out_len + c->in_len, sum = 0;
	int ret;

	memset(iov, 0, sizeof(iov));
	ret = vq_iov(&gm, c->bufs, n, off, len, iov, max);
	if (off > total || len > total - off) {
		check(ret == -ERANGE);
		return;
	}
	check(ret >= 0 || ret == -E2BIG);
	if (ret < 0)
		return;
	check((unsigned int)ret <= max);
	for (int i = 0; i < ret; i++) {
		check(iov[i].iov_len > 0);
		check(in_ram(iov[i].iov_base, iov[i].iov_len));
		sum += iov[i].iov_len;
	}
	check(sum == len);
}

static void copy_op(const struct vq_chain *c, uint64_t off, uint64_t len, bool scatter)
{
	unsigned int n = c->nr_out + c->nr_in;
	uint64_t total = c->out_len + c->in_len, want, got;

	want = off >= total ? 0 : total - off < len ? total - off : len;
	if (scatter) {
		memset(bounce, 0x5a, len);
		got = vq_scatter(&gm, c->bufs, n, off, bounce, len);
	} else {
		got = vq_gather(&gm, c->bufs, n, off, bounce, len);
	}
	check(got == want);
}

static void run_ops(struct vq *vq, struct input *ops)
{
	bool have_chain = false;
	unsigned int tail = 0;		/* the last TAIL pops are all still unpushed */
	int ret;

	while (ops->n) {
		uint8_t b = u8(ops);

		switch (b % 9) {
		case 0:
			ret = vq_pop(vq, &gm, &chain);
			check(ret == 1 || ret == 0 || ret == -EINVAL || ret == -EIO);
			if (ret == 1)
				check_chain(vq, &chain);
			if (ret == 1 || ret == -EINVAL) {
				check(chain.head < vq->size);
				if (nr_popped == VQ_MAX_SIZE) {
					/* The driver kept publishing: forget the oldest. */
					memmove(popped, popped + 1,
						--nr_popped * sizeof(popped[0]));
					if (tail > nr_popped)
						tail = nr_popped;
				}
				popped[nr_popped++] = chain.head;
				tail++;
			}
			have_chain = ret == 1;
			break;
		case 1: {
			uint8_t which = u8(ops);
			uint16_t len = u16(ops);

			if (nr_popped) {
				push(vq, which % nr_popped, len);
				tail = 0;
			}
			break;
		}
		case 2: {
			unsigned int n = u8(ops) % 4;

			if (n > tail)
				n = tail;
			vq_unpop(vq, n);
			nr_popped -= n;
			tail -= n;
			break;
		}
		case 3:
			vq_should_notify(vq, &gm);
			break;
		case 4:
			vq_enable_notify(vq, &gm);
			break;
		case 5:
			describe(vq, u8(ops) % 96);
			break;
		case 6: {
			uint16_t off = u16(ops), len = u16(ops);
			unsigned int max = u8(ops) % 16;

			if (have_chain)
				iov_op(&chain, off, len, max);
			break;
		}
		case 7: {
			uint16_t off = u16(ops), len = u16(ops);

			if (have_chain)
				copy_op(&chain, off, len, b & 0x80);
			break;
		}
		case 8: {
			uint16_t off = u16(ops) % (RAM0_SIZE - 1), v = htole16(u16(ops));

			memcpy(r0 + off, &v, 2);
			break;
		}
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = { data, size }, ops;
	uint8_t cfg[8];
	uint16_t desc, avail, used;
	size_t nops, n0, n1;
	struct vq vq;

	if (size < HDR_LEN)
		return 0;
	for (int i = 0; i < 8; i++)
		cfg[i] = u8(&in);
	nops = u16(&in);
	if (nops > in.n)
		nops = in.n;
	if (nops > MAX_OPS)
		nops = MAX_OPS;
	ops = (struct input){ in.p, nops };
	in.p += nops;
	in.n -= nops;

	memset(r0, 0, RAM0_SIZE);
	memset(r1, 0, RAM1_SIZE);
	n0 = in.n < RAM0_SIZE ? in.n : RAM0_SIZE;
	n1 = in.n - n0 < RAM1_SIZE ? in.n - n0 : RAM1_SIZE;
	memcpy(r0, in.p, n0);
	memcpy(r1, in.p + n0, n1);

	vq_reset(&vq);
	vq.size = (uint16_t)(1U << (cfg[0] % 11));
	vq.event_idx = cfg[0] & 0x80;
	desc = (uint16_t)(cfg[1] | cfg[2] << 8);
	avail = (uint16_t)(cfg[3] | cfg[4] << 8);
	used = (uint16_t)(cfg[5] | cfg[6] << 8);
	vq.desc_gpa = desc + (cfg[7] & 1 ? RAM1_GPA : RAM0_GPA);
	vq.avail_gpa = avail + (cfg[7] & 2 ? RAM1_GPA : RAM0_GPA);
	vq.used_gpa = used + (cfg[7] & 4 ? RAM1_GPA : RAM0_GPA);
	describe(&vq, cfg[7] >> 3);
	if (vq_validate(&vq, &gm, VQ_MAX_SIZE))
		return 0;
	vq.ready = true;
	nr_popped = 0;
	run_ops(&vq, &ops);
	describe(&vq, 95);
	return 0;
}
