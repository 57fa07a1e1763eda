/*
 * The front-end of the vhost-user protocol (QEMU's docs/interop/vhost-user.rst): kvmm hands a
 * virtio device's queues to a back-end process (virtiofsd, a vhost-user-blk/net daemon) that
 * maps guest RAM and serves the rings itself. The guest's queue notifications reach the
 * back-end through the KVM ioeventfds, its interrupts reach the guest through irqfds: no
 * request data passes through kvmm.
 *
 * Two halves. vhost_user.c speaks the protocol on one Unix socket (messages, their fds, and
 * the checks on every reply); it knows nothing of virtio devices. vhost_user_dev.c is the
 * half a virtio device needs (negotiation at creation, the rings handed over at DRIVER_OK,
 * taken back at reset, interrupts wired or relayed, the back-end's death noticed), so a
 * vhost-user device (fs.c) is one file with its config space and queue count.
 *
 * The back-end is not trusted: each reply is checked for the version, the reply flag, the
 * request it answers and the exact payload size the request calls for; fds it sends are
 * closed; every wait is bounded. Any failure breaks the connection for good (a stream
 * cannot be resynchronised) and later calls fail fast with -EPIPE.
 */
#ifndef KVMM_VHOST_USER_H
#define KVMM_VHOST_USER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "guest_mem.h"
#include "virtio.h"

/* Requests of the front-end (vhost-user.rst, "Front-end message types"). */
enum {
	VHOST_USER_GET_FEATURES = 1,
	VHOST_USER_SET_FEATURES = 2,
	VHOST_USER_SET_OWNER = 3,
	VHOST_USER_SET_MEM_TABLE = 5,
	VHOST_USER_SET_VRING_NUM = 8,
	VHOST_USER_SET_VRING_ADDR = 9,
	VHOST_USER_SET_VRING_BASE = 10,
	VHOST_USER_GET_VRING_BASE = 11,
	VHOST_USER_SET_VRING_KICK = 12,
	VHOST_USER_SET_VRING_CALL = 13,
	VHOST_USER_GET_PROTOCOL_FEATURES = 15,
	VHOST_USER_SET_PROTOCOL_FEATURES = 16,
	VHOST_USER_GET_QUEUE_NUM = 17,
	VHOST_USER_SET_VRING_ENABLE = 18,
	VHOST_USER_RESET_DEVICE = 34,
};

/* Header flags: the version in bits 0-1, then reply and need-reply. */
#define VHOST_USER_VERSION		0x1
#define VHOST_USER_VERSION_MASK		0x3
#define VHOST_USER_REPLY		(1u << 2)
#define VHOST_USER_NEED_REPLY		(1u << 3)

/* The virtio feature bit through which a back-end says it has protocol features. */
#define VHOST_USER_F_PROTOCOL_FEATURES	30

/* Protocol features kvmm understands. */
#define VHOST_USER_PROTOCOL_F_MQ		0
#define VHOST_USER_PROTOCOL_F_REPLY_ACK		3
#define VHOST_USER_PROTOCOL_F_RESET_DEVICE	13
#define VHOST_USER_PROTOCOL_WANTED						\
	(VIRTIO_BIT(VHOST_USER_PROTOCOL_F_MQ) | VIRTIO_BIT(VHOST_USER_PROTOCOL_F_REPLY_ACK) |	\
	 VIRTIO_BIT(VHOST_USER_PROTOCOL_F_RESET_DEVICE))

/* SET_VRING_KICK/CALL payload: the queue index in bits 0-7, bit 8 says "no fd". */
#define VHOST_USER_VRING_IDX_MASK	0xff
#define VHOST_USER_VRING_NOFD		(1u << 8)

/* Regions a SET_MEM_TABLE carries at most (VHOST_MEMORY_BASELINE_NREGIONS). */
#define VHOST_USER_MAX_REGIONS		8

/* The wait for one reply, unless the caller sets vhost_user.timeout_ms. */
#define VHOST_USER_TIMEOUT_MS		3000

struct vhost_user_hdr {
	uint32_t request;
	uint32_t flags;
	uint32_t size;			/* payload bytes after the header */
} __attribute__((packed));

struct vhost_user_vring_state {
	uint32_t index;
	uint32_t num;
} __attribute__((packed));

struct vhost_user_vring_addr {
	uint32_t index;
	uint32_t flags;
	uint64_t desc;			/* front-end virtual addresses of the three parts */
	uint64_t used;
	uint64_t avail;
	uint64_t log;
} __attribute__((packed));

struct vhost_user_region {
	uint64_t gpa;
	uint64_t size;
	uint64_t uaddr;			/* where the front-end maps it */
	uint64_t mmap_offset;		/* its offset in the fd sent beside it */
} __attribute__((packed));

struct vhost_user_mem {
	uint32_t nregions;
	uint32_t padding;
	struct vhost_user_region regions[VHOST_USER_MAX_REGIONS];
} __attribute__((packed));

union vhost_user_payload {
	uint64_t u64;
	struct vhost_user_vring_state state;
	struct vhost_user_vring_addr addr;
	struct vhost_user_mem mem;
};

struct vhost_user_msg {
	struct vhost_user_hdr hdr;
	union vhost_user_payload u;
} __attribute__((packed));

/*
 * The payload size of the reply a request has of its own: 8 (a u64) for GET_FEATURES,
 * GET_PROTOCOL_FEATURES and GET_QUEUE_NUM, 8 (a vring state) for GET_VRING_BASE; -1 for the
 * others, which are answered only when sent with NEED_REPLY (REPLY_ACK), by a u64 ack.
 */
int vhost_user_reply_size(uint32_t request);

/*
 * Checks the header of what the back-end sent when the front-end waits for the reply to
 * REQUEST: version 1, the reply flag, the same request, and SIZE bytes of payload. 0, or
 * -EPROTO (with *WHY set to a fixed string saying what was wrong).
 */
int vhost_user_check_reply(const struct vhost_user_hdr *h, uint32_t request, uint32_t size,
			   const char **why);

/* One connection to a back-end. Zero it, then vhost_user_connect(). */
struct vhost_user {
	int sock;			/* -1 when closed */
	char name[64];			/* for logs: "virtio-fs _fs0" */
	int timeout_ms;			/* 0: VHOST_USER_TIMEOUT_MS */
	bool broken;			/* a failed exchange: every later call is -EPIPE */
	uint64_t features;		/* the back-end's virtio features (GET_FEATURES) */
	uint64_t protocol;		/* protocol features both sides have (0 if none) */
	unsigned int queue_num;		/* GET_QUEUE_NUM, or 0 without the MQ feature */
	uint64_t requests, failures;	/* counters: requests sent, exchanges that failed */
	char error[128];		/* what broke the connection, for the API */
};

/* Connects to the back-end listening on PATH (no retry: the caller started it). 0/-errno,
 * logged with NAME. On failure VU is closed. */
int vhost_user_connect(struct vhost_user *vu, const char *path, const char *name);

/* Adopts an already connected socket FD (tests, fuzzing). */
void vhost_user_adopt(struct vhost_user *vu, int fd, const char *name);

/*
 * The first exchange: GET_FEATURES; with VHOST_USER_F_PROTOCOL_FEATURES,
 * GET_PROTOCOL_FEATURES and SET_PROTOCOL_FEATURES (those of VHOST_USER_PROTOCOL_WANTED
 * the back-end has), GET_QUEUE_NUM with MQ; then SET_OWNER. 0/-errno.
 */
int vhost_user_handshake(struct vhost_user *vu);

/* SET_FEATURES: the virtio features the driver acked (VHOST_USER_F_PROTOCOL_FEATURES is
 * added when the back-end offered it). 0/-errno. */
int vhost_user_set_features(struct vhost_user *vu, uint64_t features);

/* SET_MEM_TABLE: every region of GM, each with GM's memfd. -EINVAL without an fd or with more
 * regions than fit. 0/-errno. */
int vhost_user_set_mem_table(struct vhost_user *vu, const struct guest_mem *gm);

/* One queue as the back-end gets it: size, the rings' front-end addresses, the index it
 * starts at, and the eventfds for notifications (KICK) and interrupts (CALL). */
struct vhost_user_vring {
	uint16_t size;
	uint64_t desc, avail, used;
	uint16_t base;
	int kick, call;
};

/* SET_VRING_NUM, SET_VRING_BASE, SET_VRING_ADDR, SET_VRING_KICK, SET_VRING_CALL for queue Q:
 * the back-end starts serving it (once enabled). 0/-errno. */
int vhost_user_start_vring(struct vhost_user *vu, unsigned int q, const struct vhost_user_vring *r);

/* SET_VRING_CALL alone: where queue Q's interrupts go from now on. 0/-errno. */
int vhost_user_set_vring_call(struct vhost_user *vu, unsigned int q, int fd);

/* SET_VRING_ENABLE (with protocol features; a no-op without, where rings start enabled). */
int vhost_user_enable_vring(struct vhost_user *vu, unsigned int q, bool on);

/* GET_VRING_BASE: stops queue Q and returns where the back-end was in it. 0/-errno. */
int vhost_user_stop_vring(struct vhost_user *vu, unsigned int q, uint16_t *base);

/* RESET_DEVICE where the back-end has it, else 0 (stopping each ring is the reset). */
int vhost_user_reset_device(struct vhost_user *vu);

/* Closes the socket (the back-end sees a hang-up). Safe twice. */
void vhost_user_close(struct vhost_user *vu);

/*
 * The virtio-device half (vhost_user_dev.c). A device embeds one, fills in D and SOCKET,
 * and calls these from its own virtio_dev_ops.
 */
struct vhost_user_dev;

/* The opaque of a relay watch: which device and queue. */
struct vhost_user_relay {
	struct vhost_user_dev *v;
	unsigned int q;
};

struct vhost_user_dev {
	struct vhost_user vu;
	struct virtio_dev *d;
	uint64_t supported;		/* the virtio features kvmm lets through to the driver */
	int relay_fd[VIRTIO_MAX_QUEUES]; /* kvmm's call eventfds, where no irqfd can be used */
	struct vhost_user_relay relays[VIRTIO_MAX_QUEUES];
	bool started[VIRTIO_MAX_QUEUES];
	bool watching;			/* hang-up and relay watches are on the worker */
	uint64_t relayed;		/* interrupts kvmm relayed (INTx, virtio-mmio) */
	uint64_t direct;		/* queues whose interrupts went straight to KVM */
	uint64_t activations, resets, backend_lost, mem_updates;
};

/*
 * Connects to SOCKET and negotiates; then D->features is what the back-end offers within
 * SUPPORTED. NR_QUEUES must not exceed what the back-end says it has (GET_QUEUE_NUM).
 * 0/-errno with a message naming the socket and the step.
 */
int vhost_user_dev_init(struct vhost_user_dev *v, struct virtio_dev *d, const char *socket,
			uint64_t supported);

/* For virtio_dev_ops.activate: memory table, features, every ready queue handed over and
 * enabled, interrupts wired. 0, or -errno (the device then needs a reset). */
int vhost_user_dev_activate(struct vhost_user_dev *v);

/* For virtio_dev_ops.mem_changed: a back-end that holds the rings (activated, not
 * broken) gets the memory table again; one that does not gets it at its next activation.
 * 0 or -errno. */
int vhost_user_dev_mem_changed(struct vhost_user_dev *v);

/* For virtio_dev_ops.reset: takes the rings back (the back-end stops touching them). */
void vhost_user_dev_reset(struct vhost_user_dev *v);

/* For virtio_dev_ops.destroy: closes the connection and the relay fds (not V itself). */
void vhost_user_dev_destroy(struct vhost_user_dev *v);

/* Its counters (vm.counters): adds at most 6 to OUT and returns how many. */
unsigned int vhost_user_dev_counters(struct vhost_user_dev *v, struct virtio_counter *out);

#endif
