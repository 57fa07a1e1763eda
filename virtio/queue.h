/*
 * Split virtqueues (virtio 1.x, section 2.7), device side: taking descriptor chains from the
 * driver's available ring, publishing used elements, and VIRTIO_F_EVENT_IDX notification
 * suppression.
 *
 * Everything in the rings is written by the guest and is hostile. Ring areas and every
 * buffer are reached only through gm_read()/gm_write()/gm_ptr(); each descriptor is read
 * exactly once into a snapshot (struct vq_chain), and the device works from the snapshot only,
 * so the guest rewriting a descriptor after it was read changes nothing. A chain is walked at
 * most queue-size steps in total (direct plus indirect), which bounds cycles.
 *
 * Threading: one thread at a time per queue (the device's worker); the transport calls
 * vq_reset() only with the worker stopped or holding the device lock.
 */
#ifndef KVMM_VIRTIO_QUEUE_H
#define KVMM_VIRTIO_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "guest_mem.h"

/* The largest queue any kvmm device offers (QueueNumMax); also the longest chain. */
#define VQ_MAX_SIZE 1024

/* Descriptor flags (virtq_desc.flags). */
#define VIRTQ_DESC_F_NEXT	1
#define VIRTQ_DESC_F_WRITE	2
#define VIRTQ_DESC_F_INDIRECT	4
/* virtq_avail.flags / virtq_used.flags */
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1
#define VIRTQ_USED_F_NO_NOTIFY	1

struct vq {
	/* Written by the transport from the driver's queue registers. */
	uint16_t size;			/* entries; a power of two, 1..VQ_MAX_SIZE */
	bool ready;			/* QueueReady */
	uint64_t desc_gpa;		/* descriptor table, 16-byte aligned */
	uint64_t avail_gpa;		/* available ring, 2-byte aligned */
	uint64_t used_gpa;		/* used ring, 4-byte aligned */
	bool event_idx;			/* VIRTIO_F_EVENT_IDX negotiated */

	/* Device-side state, private to queue.c (zeroed by vq_reset()). */
	uint16_t last_avail;		/* next available-ring slot to take */
	uint16_t used_idx;		/* our copy of used->idx */
	uint16_t signalled_used;	/* used_idx at the last vq_should_notify() */
	bool signalled_valid;		/* signalled_used means something */
	uint16_t irq_used;		/* used_idx at the last one that said "notify" */
	uint64_t irqs;			/* times vq_should_notify() said "notify" */
};

/* One buffer of a chain, already checked to lie inside one RAM region. */
struct vq_buf {
	uint64_t gpa;
	uint32_t len;
	bool write;			/* device-writable (VIRTQ_DESC_F_WRITE) */
};

/*
 * A snapshot of one descriptor chain: its device-readable buffers first (bufs[0..nr_out)),
 * then its device-writable ones (bufs[nr_out..nr_out + nr_in)), in chain order. Large
 * (VQ_MAX_SIZE buffers): devices keep one per worker, not on the stack.
 */
struct vq_chain {
	uint16_t head;			/* descriptor index to hand back with vq_push() */
	unsigned int nr_out;		/* device-readable buffers */
	unsigned int nr_in;		/* device-writable buffers */
	uint64_t out_len;		/* total bytes readable */
	uint64_t in_len;		/* total bytes writable */
	struct vq_buf bufs[VQ_MAX_SIZE];
};

/* Back to the state after device reset: everything zeroed, not ready. */
void vq_reset(struct vq *vq);

/*
 * Checks the driver's queue set-up before the queue goes live (QueueReady = 1): size a power
 * of two in 1..MAX, each ring area aligned and wholly inside guest RAM (sizes as in virtio
 * 1.x 2.7, including the event-index words). 0 or -EINVAL.
 */
int vq_validate(const struct vq *vq, const struct guest_mem *gm, uint16_t max);

/*
 * Takes the next available chain into C.
 * Returns 1 with C filled; 0 when the ring holds nothing new;
 * -EINVAL when the chain is malformed: C->head is then valid and consumed, and the device
 *   should hand it back with vq_push(vq, gm, C->head, 0) (and count the error) so the driver
 *   is not left waiting. Malformed means: `next` out of range, a chain longer than the queue
 *   size (this catches cycles), a buffer not wholly inside one RAM region or whose address
 *   plus length wraps, a device-readable buffer after a device-writable one, an indirect
 *   descriptor inside an indirect table, an indirect table with NEXT also set, or whose
 *   length is 0, not a multiple of 16, or holds more than the queue size entries;
 * -EIO when the ring itself is broken (the available index moved by more than the queue
 *   size, a head index >= size, ring memory not readable): the device must be marked
 *   DEVICE_NEEDS_RESET; nothing was consumed.
 * Memory ordering: the available index is read before the ring slot it publishes (acquire).
 */
int vq_pop(struct vq *vq, const struct guest_mem *gm, struct vq_chain *c);

/*
 * Gives back the last N chains vq_pop() took (1 each, -EINVAL ones included) so the next
 * vq_pop() takes them again, e.g. a frame the back-end could not take yet. Only for the N
 * chains popped last, none of them pushed: moves the next available slot back by N.
 */
void vq_unpop(struct vq *vq, unsigned int n);

/*
 * Publishes HEAD as used with LEN bytes written by the device. The element is written
 * before used->idx is updated (release). 0, or -EIO if the used ring is not writable.
 */
int vq_push(struct vq *vq, const struct guest_mem *gm, uint16_t head, uint32_t len);

/*
 * After one or more vq_push(): true when the driver wants an interrupt now. With EVENT_IDX,
 * compares used_event with the used index range since the last notification (2.7.7.2);
 * without it, looks at VIRTQ_AVAIL_F_NO_INTERRUPT. A full barrier orders the used-index
 * store before the read of the driver's suppression state. Records the notification.
 */
bool vq_should_notify(struct vq *vq, const struct guest_mem *gm);

/*
 * Before a worker goes back to sleep: with EVENT_IDX, writes avail_event = last_avail so the
 * driver kicks on the next buffer, then (full barrier) rechecks the available index. Returns
 * true when new chains arrived meanwhile (the caller must poll again instead of sleeping).
 */
bool vq_enable_notify(struct vq *vq, const struct guest_mem *gm);

/*
 * Maps the byte range [OFFSET, OFFSET + LEN) of the concatenation of BUFS[0..N) to at most
 * MAX host iovecs (through gm_ptr()), skipping empty pieces. Returns the number of iovecs,
 * -ERANGE if the buffers hold fewer than OFFSET + LEN bytes, -E2BIG if MAX is too small,
 * -EFAULT if a buffer is not inside RAM (cannot happen for buffers vq_pop() returned).
 */
/*
 * One line of the queue's state for a log: our indices, the interrupts vq_should_notify()
 * asked for (how many, and the used index at the last), the driver's avail and used indices
 * and suppression fields (flags, used_event, avail_event) as guest memory holds them now,
 * "?" where the ring is out of RAM. Returns true when the queue was left with work: chains
 * the device has not taken, or used entries the driver was never told of.
 */
bool vq_describe(const struct vq *vq, const struct guest_mem *gm, char *buf, size_t n);

int vq_iov(const struct guest_mem *gm, const struct vq_buf *bufs, unsigned int n,
	   uint64_t offset, uint64_t len, struct iovec *iov, unsigned int max);

/*
 * Copies up to LEN bytes starting at byte OFFSET of the concatenation of BUFS[0..N) into DST
 * (vq_gather) or from SRC into them (vq_scatter). Returns the bytes copied (less than LEN
 * when the buffers end first).
 */
uint64_t vq_gather(const struct guest_mem *gm, const struct vq_buf *bufs, unsigned int n,
		   uint64_t offset, void *dst, uint64_t len);
uint64_t vq_scatter(const struct guest_mem *gm, const struct vq_buf *bufs, unsigned int n,
		    uint64_t offset, const void *src, uint64_t len);

#endif
