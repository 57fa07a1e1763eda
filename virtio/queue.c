/*
 * Split virtqueues, device side: descriptor-chain snapshots taken from the available ring,
 * used-ring publication and event-index notification suppression (contract in queue.h).
 *
 * Zero-length buffers are checked like any other (address, direction, step count) but are
 * not recorded in the snapshot: they carry no bytes, and leaving them out means a device can
 * rely on every bufs[] entry holding at least one byte. The descriptor that points at an
 * indirect table is not a buffer and does not count toward the chain length; every
 * descriptor inside the table does.
 */
#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "queue.h"

/* struct virtq_desc, little endian, exactly as the guest lays it out. */
struct vq_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};
_Static_assert(sizeof(struct vq_desc) == 16, "virtq_desc is 16 bytes");

/* Byte offsets inside the ring areas (virtio 1.x 2.7.6, 2.7.8). */
#define AVAIL_FLAGS		0
#define AVAIL_IDX		2
#define AVAIL_RING(i)		(4 + 2 * (uint64_t)(i))	/* ring[size] is used_event */
#define USED_FLAGS		0
#define USED_IDX		2
#define USED_RING(i)		(4 + 8 * (uint64_t)(i))	/* ring[size] is avail_event */

/* A chain walk in progress. */
struct vq_walk {
	const struct guest_mem *gm;
	struct vq_chain *c;
	unsigned int steps;		/* buffer descriptors read so far */
	unsigned int limit;		/* the queue size */
};

static bool size_ok(uint16_t size, uint16_t max)
{
	return size >= 1 && size <= max && size <= VQ_MAX_SIZE && !(size & (size - 1));
}

/* The ring areas are wholly inside RAM (sizes include the event-index words). */
static bool vq_desc_ok(const struct vq *vq, const struct guest_mem *gm)
{
	return size_ok(vq->size, VQ_MAX_SIZE) && gm_ptr(gm, vq->desc_gpa, 16 * (uint64_t)vq->size);
}

static bool vq_avail_ok(const struct vq *vq, const struct guest_mem *gm)
{
	return size_ok(vq->size, VQ_MAX_SIZE) &&
	       gm_ptr(gm, vq->avail_gpa, AVAIL_RING(vq->size) + 2);
}

static bool vq_used_ok(const struct vq *vq, const struct guest_mem *gm)
{
	return size_ok(vq->size, VQ_MAX_SIZE) && gm_ptr(gm, vq->used_gpa, USED_RING(vq->size) + 2);
}

/*
 * Loads a 16-bit ring word the guest may be writing concurrently, with a single access.
 * Host mappings are page aligned like their guest-physical addresses, so an even GPA gives
 * an aligned host pointer.
 */
static int load16(const struct guest_mem *gm, uint64_t gpa, uint16_t *val)
{
	const uint16_t *p = gm_ptr(gm, gpa, 2);

	if (!p || (gpa & 1))
		return -EFAULT;
	*val = le16toh(__atomic_load_n(p, __ATOMIC_RELAXED));
	return 0;
}

static int store16(const struct guest_mem *gm, uint64_t gpa, uint16_t val)
{
	uint16_t *p = gm_ptr(gm, gpa, 2);

	if (!p || (gpa & 1))
		return -EFAULT;
	__atomic_store_n(p, htole16(val), __ATOMIC_RELAXED);
	return 0;
}

void vq_reset(struct vq *vq)
{
	memset(vq, 0, sizeof(*vq));
}

int vq_validate(const struct vq *vq, const struct guest_mem *gm, uint16_t max)
{
	if (max > VQ_MAX_SIZE || !size_ok(vq->size, max))
		return -EINVAL;
	if (vq->desc_gpa % 16 || vq->avail_gpa % 2 || vq->used_gpa % 4)
		return -EINVAL;
	if (!vq_desc_ok(vq, gm) || !vq_avail_ok(vq, gm) || !vq_used_ok(vq, gm))
		return -EINVAL;
	return 0;
}

/* Checks one buffer descriptor and records it in the snapshot unless it is empty. */
static int vq_add_buf(struct vq_walk *w, const struct vq_desc *d)
{
	struct vq_chain *c = w->c;
	uint64_t addr = le64toh(d->addr);
	uint32_t len = le32toh(d->len);
	bool write = le16toh(d->flags) & VIRTQ_DESC_F_WRITE;

	if (!gm_ptr(w->gm, addr, len))
		return -EINVAL;
	if (!write && c->nr_in)
		return -EINVAL;
	if (len == 0)
		return 0;
	/* At most one entry per step and steps <= size <= VQ_MAX_SIZE: bufs[] cannot overflow. */
	c->bufs[c->nr_out + c->nr_in] = (struct vq_buf){ .gpa = addr, .len = len, .write = write };
	if (write) {
		c->nr_in++;
		c->in_len += len;
	} else {
		c->nr_out++;
		c->out_len += len;
	}
	return 0;
}

static int vq_walk_table(struct vq_walk *w, uint64_t table, uint32_t n, uint16_t i,
			 bool indirect);

/* Follows descriptor D, which has VIRTQ_DESC_F_INDIRECT, into its table. */
static int vq_walk_indirect(struct vq_walk *w, const struct vq_desc *d)
{
	uint64_t table = le64toh(d->addr);
	uint32_t len = le32toh(d->len);

	/* VIRTQ_DESC_F_WRITE on the table descriptor is ignored, as 2.7.5.3.2 requires. */
	if (le16toh(d->flags) & VIRTQ_DESC_F_NEXT)
		return -EINVAL;
	if (len == 0 || len % sizeof(*d) || len / sizeof(*d) > w->limit)
		return -EINVAL;
	if (!gm_ptr(w->gm, table, len))
		return -EINVAL;
	return vq_walk_table(w, table, len / sizeof(*d), 0, true);
}

/*
 * Walks the chain starting at entry I of the N-entry descriptor table at TABLE, reading each
 * descriptor once. The main table was checked to lie in RAM by vq_pop(), an indirect one by
 * vq_walk_indirect(), so the reads cannot fail.
 */
static int vq_walk_table(struct vq_walk *w, uint64_t table, uint32_t n, uint16_t i,
			 bool indirect)
{
	struct vq_desc d;
	uint16_t flags;
	int ret;

	for (;;) {
		if (gm_read(w->gm, table + (uint64_t)i * sizeof(d), &d, sizeof(d)))
			return -EINVAL;
		flags = le16toh(d.flags);
		if (flags & VIRTQ_DESC_F_INDIRECT) {
			if (indirect)
				return -EINVAL;
			return vq_walk_indirect(w, &d);
		}
		if (++w->steps > w->limit)
			return -EINVAL;
		ret = vq_add_buf(w, &d);
		if (ret)
			return ret;
		if (!(flags & VIRTQ_DESC_F_NEXT))
			return 0;
		i = le16toh(d.next);
		if (i >= n)
			return -EINVAL;
	}
}

int vq_pop(struct vq *vq, const struct guest_mem *gm, struct vq_chain *c)
{
	struct vq_walk w = { .gm = gm, .c = c, .limit = vq->size };
	uint16_t avail_idx, pending, head;
	int ret;

	if (!vq_desc_ok(vq, gm) || !vq_avail_ok(vq, gm))
		return -EIO;
	if (load16(gm, vq->avail_gpa + AVAIL_IDX, &avail_idx))
		return -EIO;
	pending = avail_idx - vq->last_avail;
	if (pending == 0)
		return 0;
	if (pending > vq->size)
		return -EIO;
	/* Orders the avail->idx load before the loads of the ring slot and descriptors it
	 * publishes (pairs with the driver's write barrier before its idx store). */
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	if (load16(gm, vq->avail_gpa + AVAIL_RING(vq->last_avail & (vq->size - 1)), &head))
		return -EIO;
	if (head >= vq->size)
		return -EIO;

	c->head = head;
	c->nr_out = c->nr_in = 0;
	c->out_len = c->in_len = 0;
	ret = vq_walk_table(&w, vq->desc_gpa, vq->size, head, false);
	vq->last_avail++;
	return ret ? ret : 1;
}

void vq_unpop(struct vq *vq, unsigned int n)
{
	vq->last_avail -= (uint16_t)n;
}

int vq_push(struct vq *vq, const struct guest_mem *gm, uint16_t head, uint32_t len)
{
	uint32_t elem[2] = { htole32(head), htole32(len) };	/* struct virtq_used_elem */

	if (!vq_used_ok(vq, gm))
		return -EIO;
	if (gm_write(gm, vq->used_gpa + USED_RING(vq->used_idx & (vq->size - 1)), elem,
		     sizeof(elem)))
		return -EIO;
	/* Orders the used element stores before the used->idx store that publishes them. */
	__atomic_thread_fence(__ATOMIC_RELEASE);
	if (store16(gm, vq->used_gpa + USED_IDX, vq->used_idx + 1))
		return -EIO;
	vq->used_idx++;
	return 0;
}

/* vring_need_event(): did the used index step past EVENT while moving from OLD to NEW? */
static bool vq_need_event(uint16_t event, uint16_t new, uint16_t old)
{
	return (uint16_t)(new - event - 1) < (uint16_t)(new - old);
}

/* vq_should_notify() but for the count: does the driver want an interrupt now? */
static bool vq_notify_wanted(struct vq *vq, const struct guest_mem *gm)
{
	uint16_t old = vq->signalled_used, new = vq->used_idx, val;
	bool valid = vq->signalled_valid;

	/* Every call records the index, so a notification skipped now is judged again, over
	 * the whole range since the last recorded one, on the next call. */
	vq->signalled_used = new;
	vq->signalled_valid = true;

	/* Orders the used->idx store (vq_push()) before the load of the driver's suppression
	 * state; pairs with the driver's barrier between its used_event/flags store and its
	 * used->idx load, so one side always sees the other. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (!vq_avail_ok(vq, gm))
		return true;
	if (!vq->event_idx) {
		if (load16(gm, vq->avail_gpa + AVAIL_FLAGS, &val))
			return true;
		return !(val & VIRTQ_AVAIL_F_NO_INTERRUPT);
	}
	if (!valid || load16(gm, vq->avail_gpa + AVAIL_RING(vq->size), &val))
		return true;
	return vq_need_event(val, new, old);
}

bool vq_should_notify(struct vq *vq, const struct guest_mem *gm)
{
	if (!vq_notify_wanted(vq, gm))
		return false;
	/* Counted for vq_describe(). */
	vq->irqs++;
	vq->irq_used = vq->used_idx;
	return true;
}

bool vq_describe(const struct vq *vq, const struct guest_mem *gm, char *buf, size_t n)
{
	uint16_t aflags, aidx, uevent, uflags, uidx, aevent;
	bool a = vq_avail_ok(vq, gm), u = vq_used_ok(vq, gm);
	char f[6][8];

	a = a && !load16(gm, vq->avail_gpa + AVAIL_FLAGS, &aflags) &&
	    !load16(gm, vq->avail_gpa + AVAIL_IDX, &aidx) &&
	    !load16(gm, vq->avail_gpa + AVAIL_RING(vq->size), &uevent);
	u = u && !load16(gm, vq->used_gpa + USED_FLAGS, &uflags) &&
	    !load16(gm, vq->used_gpa + USED_IDX, &uidx) &&
	    !load16(gm, vq->used_gpa + USED_RING(vq->size), &aevent);
	snprintf(f[0], sizeof(f[0]), a ? "%u" : "?", a ? aidx : 0);
	snprintf(f[1], sizeof(f[1]), a ? "%#x" : "?", a ? aflags : 0);
	snprintf(f[2], sizeof(f[2]), a ? "%u" : "?", a ? uevent : 0);
	snprintf(f[3], sizeof(f[3]), u ? "%u" : "?", u ? uidx : 0);
	snprintf(f[4], sizeof(f[4]), u ? "%#x" : "?", u ? uflags : 0);
	snprintf(f[5], sizeof(f[5]), u ? "%u" : "?", u ? aevent : 0);
	snprintf(buf, n, "size %u event_idx %d; device: last_avail %u used %u signalled %u%s, "
		 "interrupts %llu (the last at used %u); "
		 "avail: idx %s flags %s used_event %s; used: idx %s flags %s avail_event %s",
		 vq->size, vq->event_idx, vq->last_avail, vq->used_idx, vq->signalled_used,
		 vq->signalled_valid ? "" : " (never)", (unsigned long long)vq->irqs, vq->irq_used,
		 f[0], f[1], f[2], f[3], f[4], f[5]);
	return (a && aidx != vq->last_avail) ||
	       (vq->signalled_valid && vq->signalled_used != vq->used_idx);
}

bool vq_enable_notify(struct vq *vq, const struct guest_mem *gm)
{
	uint16_t avail_idx;

	/* An unusable ring is reported as "more work": the caller's next vq_pop() says -EIO. */
	if (!vq_avail_ok(vq, gm) || !vq_used_ok(vq, gm))
		return true;
	/* Without EVENT_IDX notifications are on as long as used->flags lacks
	 * VIRTQ_USED_F_NO_NOTIFY, which kvmm never sets: nothing to write. */
	if (vq->event_idx && store16(gm, vq->used_gpa + USED_RING(vq->size), vq->last_avail))
		return true;
	/* Orders the avail_event store before the avail->idx load; pairs with the driver's
	 * barrier between its avail->idx store and its avail_event load, so a chain added
	 * meanwhile is either seen here or kicked. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (load16(gm, vq->avail_gpa + AVAIL_IDX, &avail_idx))
		return true;
	return avail_idx != vq->last_avail;
}

int vq_iov(const struct guest_mem *gm, const struct vq_buf *bufs, unsigned int n,
	   uint64_t offset, uint64_t len, struct iovec *iov, unsigned int max)
{
	uint64_t total = 0, take;
	unsigned int i, cnt = 0;
	uint8_t *p;

	/* Cannot overflow: fewer than 2^32 buffers of fewer than 2^32 bytes each. */
	for (i = 0; i < n; i++)
		total += bufs[i].len;
	if (offset > total || len > total - offset)
		return -ERANGE;
	for (i = 0; i < n && len; i++) {
		if (offset >= bufs[i].len) {
			offset -= bufs[i].len;
			continue;
		}
		if (cnt == max)
			return -E2BIG;
		p = gm_ptr(gm, bufs[i].gpa, bufs[i].len);
		if (!p)
			return -EFAULT;
		take = bufs[i].len - offset;
		if (take > len)
			take = len;
		iov[cnt++] = (struct iovec){ .iov_base = p + offset, .iov_len = take };
		len -= take;
		offset = 0;
	}
	return cnt;
}

/*
 * Copies between HOST and bytes [OFFSET, OFFSET + LEN) of the buffers (into the guest when
 * TO_GUEST). Stops early at the end of the buffers or at a buffer outside RAM.
 */
static uint64_t vq_copy(const struct guest_mem *gm, const struct vq_buf *bufs, unsigned int n,
			uint64_t offset, uint8_t *host, uint64_t len, bool to_guest)
{
	uint64_t done = 0, take;
	unsigned int i;
	uint8_t *p;

	for (i = 0; i < n && done < len; i++) {
		if (offset >= bufs[i].len) {
			offset -= bufs[i].len;
			continue;
		}
		p = gm_ptr(gm, bufs[i].gpa, bufs[i].len);
		if (!p)
			break;
		take = bufs[i].len - offset;
		if (take > len - done)
			take = len - done;
		if (to_guest)
			memcpy(p + offset, host + done, take);
		else
			memcpy(host + done, p + offset, take);
		done += take;
		offset = 0;
	}
	return done;
}

uint64_t vq_gather(const struct guest_mem *gm, const struct vq_buf *bufs, unsigned int n,
		   uint64_t offset, void *dst, uint64_t len)
{
	return vq_copy(gm, bufs, n, offset, dst, len, false);
}

uint64_t vq_scatter(const struct guest_mem *gm, const struct vq_buf *bufs, unsigned int n,
		    uint64_t offset, const void *src, uint64_t len)
{
	return vq_copy(gm, bufs, n, offset, (uint8_t *)src, len, true);
}
