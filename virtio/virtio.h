/*
 * The boundary between virtio devices and the transports that carry them (virtio-mmio,
 * virtio-pci).
 *
 * The transport (core.c with mmio.c or pci.c) owns everything the driver sees as registers: status state machine,
 * feature negotiation, queue set-up, interrupt status, config generation. A device (blk.c,
 * rng.c, ...) supplies only what differs: its ID, offered features, config space, queue count
 * and size, and callbacks. Adding a device is one new file plus one entry in devices.c.
 *
 * Threads: each device has one worker thread (started by the transport) that waits on the
 * queues' notification eventfds (KVM ioeventfds) and on any extra fds the device adds, and
 * calls the device's callbacks. The callbacks run with the device lock held; the vCPU threads
 * take the same lock for register accesses, except the hot ones (QueueNotify, InterruptStatus,
 * InterruptACK), which are lock-free. So device I/O never runs on a vCPU thread, and a reset
 * never races a request in flight.
 */
#ifndef KVMM_VIRTIO_H
#define KVMM_VIRTIO_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "guest_mem.h"
#include "queue.h"

/* Device IDs (virtio 1.x, 5). */
#define VIRTIO_ID_NET		1
#define VIRTIO_ID_BLOCK		2
#define VIRTIO_ID_RNG		4
#define VIRTIO_ID_VSOCK		19
#define VIRTIO_ID_FS		26

/* Device status bits (2.1). */
#define VIRTIO_STATUS_ACKNOWLEDGE	1
#define VIRTIO_STATUS_DRIVER		2
#define VIRTIO_STATUS_DRIVER_OK		4
#define VIRTIO_STATUS_FEATURES_OK	8
#define VIRTIO_STATUS_NEEDS_RESET	64
#define VIRTIO_STATUS_FAILED		128

/* Transport-level feature bits (6). */
#define VIRTIO_F_INDIRECT_DESC	28
#define VIRTIO_F_EVENT_IDX	29
#define VIRTIO_F_VERSION_1	32

#define VIRTIO_BIT(n)		(1ULL << (n))

#define VIRTIO_MAX_QUEUES	8

struct virtio_dev;

/* One named statistic of a device (vm.counters). */
struct virtio_counter {
	const char *name;
	uint64_t value;
};

#define VIRTIO_MAX_COUNTERS 16

struct virtio_dev_ops {
	/*
	 * Reads or writes LEN (1, 2, 4 or 8) bytes at OFF of the config space; the transport has
	 * checked OFF + LEN <= config_size. config_write may be NULL (writes ignored).
	 */
	void (*config_read)(struct virtio_dev *d, uint32_t off, void *data, uint32_t len);
	void (*config_write)(struct virtio_dev *d, uint32_t off, const void *data, uint32_t len);
	/*
	 * The driver set DRIVER_OK: every ready queue passed vq_validate() and d->acked holds the
	 * negotiated features. 0, or -errno to put the device in DEVICE_NEEDS_RESET.
	 */
	int (*activate)(struct virtio_dev *d);
	/* Queue Q was notified (on the worker thread). Process what is available. NULL for a
	 * device whose queues another process serves (vhost-user): the worker then leaves the
	 * queues' notifiers to KVM and that process (virtio_queue_kick_fd()). */
	void (*queue_notify)(struct virtio_dev *d, unsigned int q);
	/* The driver reset the device: drop in-flight state, back to as created. May be NULL. */
	void (*reset)(struct virtio_dev *d);
	/* Frees the device's private state and closes its files (VM teardown). */
	void (*destroy)(struct virtio_dev *d);
	/*
	 * Fills OUT with up to VIRTIO_MAX_COUNTERS counters and returns how many; may be NULL.
	 * Called from the API thread without the device lock: counters are 64-bit values that
	 * only grow, read whole.
	 */
	unsigned int (*counters)(struct virtio_dev *d, struct virtio_counter *out);
	/*
	 * Guest RAM grew (memory hot-plug), before the guest is told: a device that handed
	 * RAM to another process (vhost-user) gives it the new table. Device lock held (API
	 * thread). 0, or -errno: the guest is then not given the memory. May be NULL.
	 */
	int (*mem_changed)(struct virtio_dev *d);
};

/* Called on the worker thread when an fd a device added with virtio_watch_fd() is ready. */
typedef void (*virtio_fd_cb)(struct virtio_dev *d, void *opaque, uint32_t events);

struct virtio_transport;

struct virtio_dev {
	/* Filled by the device before a transport takes it (transport.h). */
	const char *name;		/* e.g. "virtio-blk disk0", for logs and the platform table */
	const char *id;			/* the device's id in the config and vm.counters ("disk0") */
	uint32_t device_id;		/* VIRTIO_ID_* */
	const struct virtio_dev_ops *ops;
	void *priv;			/* the device's own state */
	uint64_t features;		/* offered; the transport adds VERSION_1 */
	uint32_t config_size;		/* bytes of config space */
	unsigned int nr_queues;		/* 1..VIRTIO_MAX_QUEUES */
	uint16_t queue_max;		/* QueueNumMax, a power of two <= VQ_MAX_SIZE */

	/* Maintained by the transport. */
	uint64_t acked;			/* features the driver accepted (valid from activate on) */
	struct vq vqs[VIRTIO_MAX_QUEUES];
	const struct guest_mem *mem;
	pthread_mutex_t lock;		/* see the comment at the top */
	struct virtio_transport *t;
	/* What the driver had refused, for vm.counters (read from any thread): the times the
	 * device went into DEVICE_NEEDS_RESET (a broken ring, a queue set-up or DRIVER_OK it
	 * could not take, a failed activation) and feature sets refused at FEATURES_OK. */
	_Atomic uint64_t needs_reset;
	_Atomic uint64_t features_refused;
};

static inline bool virtio_has(const struct virtio_dev *d, unsigned int bit)
{
	return d->acked & VIRTIO_BIT(bit);
}

/*
 * Services of the transport for devices; called from the device's callbacks (lock held).
 * virtio_notify_used: raises the used-buffer interrupt if vq_should_notify() says the driver
 * wants one. virtio_notify_config: config space changed (generation bumped, interrupt).
 * virtio_needs_reset: the driver broke the device's rules beyond one request (a broken ring):
 * sets DEVICE_NEEDS_RESET, raises a config interrupt and ignores the device's queues until
 * the driver resets it.
 */
void virtio_notify_used(struct virtio_dev *d, unsigned int q);
void virtio_notify_config(struct virtio_dev *d);
void virtio_needs_reset(struct virtio_dev *d, const char *why);

/*
 * For devices whose queues another process serves (queue_notify NULL). The eventfd the
 * driver's notifications of queue Q land on (KVM's ioeventfd); the eventfd that interrupts
 * the driver for queue Q without kvmm (an MSI-X vector's irqfd), or -1 when the transport
 * must do it itself (virtio-mmio, INTx, no vector mapped); and that: raise queue Q's used
 * buffer interrupt now (the back-end has applied the driver's suppression already).
 * Lock held.
 */
int virtio_queue_kick_fd(struct virtio_dev *d, unsigned int q);
int virtio_queue_irqfd(struct virtio_dev *d, unsigned int q);
void virtio_interrupt_queue(struct virtio_dev *d, unsigned int q);

/*
 * Watches FD for EVENTS on the device's worker thread; CB runs with the device lock held.
 * For back-ends with their own fds (TAP, sockets). 0/-errno. virtio_unwatch_fd stops it.
 */
int virtio_watch_fd(struct virtio_dev *d, int fd, uint32_t events, virtio_fd_cb cb,
		    void *opaque);
int virtio_unwatch_fd(struct virtio_dev *d, int fd);
/* Changes the events watched on FD (e.g. 0 to stop reading a back-end until the driver
 * adds buffers, EPOLLIN again afterwards). 0/-errno. */
int virtio_watch_mod(struct virtio_dev *d, int fd, uint32_t events);

/*
 * The per-queue loop every device uses from queue_notify: pops chains until the ring is
 * empty (re-enabling notifications before giving up), calling HANDLE for each well-formed
 * chain; HANDLE returns the used length, or VIRTIO_CHAIN_DEFER to put the chain back on
 * the ring untouched and stop (a device out of rate-limit tokens; it calls again later).
 * Malformed chains go back with length 0 and are counted in *ERRORS (may be NULL); a
 * broken ring marks the device NEEDS_RESET. Interrupts are raised once per batch as the
 * driver asked. C is the caller's chain buffer.
 */
#define VIRTIO_CHAIN_DEFER	UINT32_MAX
typedef uint32_t (*virtio_chain_fn)(struct virtio_dev *d, struct vq_chain *c);
void virtio_process_queue(struct virtio_dev *d, unsigned int q, struct vq_chain *c,
			  virtio_chain_fn handle, uint64_t *errors);

#endif
