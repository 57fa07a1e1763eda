/*
 * virtio-net (virtio 1.x, 5.1) frame handling, device side: turning a transmit chain into
 * the iovecs of one TAP write, and placing frames read from the TAP into receive chains.
 * Pure logic on guest memory and the queue, so unit tests drive it with fake guest RAM.
 *
 * Both directions use the 12-byte struct virtio_net_hdr_v1 as is: the TAP is set to a vnet
 * header size of 12, so the kernel reads and writes the same header the driver sees.
 *
 * Receive is zero copy. The device keeps receive chains it has taken from the ring (popped)
 * together with their iovecs ("held" chains), reads the next frame from the TAP straight into
 * them with one readv(), and publishes only the chains the frame filled; the rest stay held
 * for the next frame, so chains are never walked twice. A frame is read only when there is
 * room for it: without VIRTIO_NET_F_MRG_RXBUF one held chain; with it, enough held chains
 * for the largest frame the TAP can deliver (net_rx_init()). A frame larger than the room
 * anyway (a chain too small without MRG_RXBUF, the TAP MTU raised later) is detected with a
 * host-side overflow byte after the guest's iovecs, dropped and counted; its chains stay held.
 */
#ifndef KVMM_VIRTIO_NET_IO_H
#define KVMM_VIRTIO_NET_IO_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "guest_mem.h"
#include "queue.h"

/* Feature bits (5.1.3). */
#define VIRTIO_NET_F_CSUM		0
#define VIRTIO_NET_F_GUEST_CSUM		1
#define VIRTIO_NET_F_MTU		3
#define VIRTIO_NET_F_MAC		5
#define VIRTIO_NET_F_GUEST_TSO4		7
#define VIRTIO_NET_F_GUEST_TSO6		8
#define VIRTIO_NET_F_GUEST_ECN		9
#define VIRTIO_NET_F_GUEST_UFO		10
#define VIRTIO_NET_F_HOST_TSO4		11
#define VIRTIO_NET_F_HOST_TSO6		12
#define VIRTIO_NET_F_HOST_ECN		13
#define VIRTIO_NET_F_HOST_UFO		14
#define VIRTIO_NET_F_MRG_RXBUF		15
#define VIRTIO_NET_F_STATUS		16

#define VIRTIO_NET_S_LINK_UP		1

/* struct virtio_net_hdr_v1 (5.1.6), little endian. */
#define VIRTIO_NET_HDR_F_NEEDS_CSUM	1
#define VIRTIO_NET_HDR_F_DATA_VALID	2
#define VIRTIO_NET_HDR_GSO_NONE		0
#define VIRTIO_NET_HDR_GSO_TCPV4	1
#define VIRTIO_NET_HDR_GSO_UDP		3
#define VIRTIO_NET_HDR_GSO_TCPV6	4
#define VIRTIO_NET_HDR_GSO_ECN		0x80

struct virtio_net_hdr_v1 {
	uint8_t flags;
	uint8_t gso_type;
	uint16_t hdr_len;
	uint16_t gso_size;
	uint16_t csum_start;
	uint16_t csum_offset;
	uint16_t num_buffers;
} __attribute__((packed));

#define NET_HDR_LEN	12U
#define NET_ETH_HLEN	14U
#define NET_MAX_FRAME	65550U				/* 64 KiB TSO + Ethernet header */
#define NET_MAX_PACKET	(NET_HDR_LEN + NET_MAX_FRAME)	/* 65562: header and frame */
#define NET_MAX_IOV	1024U				/* IOV_MAX: readv/writev limit */

/* Per-device statistics (frames are counted without their virtio-net header). */
struct net_counters {
	uint64_t rx_packets;
	uint64_t rx_bytes;
	uint64_t rx_drops;		/* frames read but not delivered (larger than the room) */
	uint64_t rx_malformed;		/* receive chains handed back unused (not rx buffers) */
	uint64_t tx_packets;
	uint64_t tx_bytes;
	uint64_t tx_drops;		/* well-formed frames the TAP refused */
	uint64_t tx_malformed;		/* transmit chains rejected by net_tx_build() or vq_pop() */
};

/* One frame to transmit: the checked header copy, then the payload in guest memory. */
struct net_tx {
	struct virtio_net_hdr_v1 hdr;	/* what the TAP gets (the guest cannot change it) */
	uint64_t len;			/* frame bytes after the header */
	unsigned int nr_iov;		/* iov[0] is &hdr */
	struct iovec iov[NET_MAX_IOV];
};

/*
 * Checks transmit chain C under the negotiated FEATURES and fills TX for one writev() to the
 * TAP. 0, or -EINVAL when the chain must be dropped (the caller counts tx_malformed and
 * hands it back with used length 0): a device-writable buffer; fewer than 12 header bytes;
 * a frame shorter than an Ethernet header or longer than NET_MAX_FRAME; header flags other
 * than NEEDS_CSUM and DATA_VALID, or NEEDS_CSUM without VIRTIO_NET_F_CSUM; a gso_type other
 * than NONE, TCPV4, TCPV6 or UDP (ECN allowed with the three), one whose HOST_* feature was
 * not negotiated, or GSO with gso_size 0. The header is copied once and sent from the copy
 * (num_buffers zeroed), so the guest rewriting it after the check changes nothing.
 */
int net_tx_build(const struct guest_mem *gm, uint64_t features, const struct vq_chain *c,
		 struct net_tx *tx);

/* A receive chain the device holds: its head and how many bytes of it it uses. */
struct net_rx_chain {
	uint16_t head;
	uint32_t room;			/* writable bytes used, at most NET_MAX_PACKET */
	unsigned int nr_iov;		/* its iovecs, consecutive in net_rx.iov */
};

/* Receive state of one device. Large: kept in the device, not on the stack. */
struct net_rx {
	bool mrg;			/* VIRTIO_NET_F_MRG_RXBUF */
	bool guest_csum;		/* VIRTIO_NET_F_GUEST_CSUM: else header flags go out 0 */
	uint32_t need;			/* room wanted before reading (MRG_RXBUF) */
	unsigned int nr;		/* held chains, in ring order */
	unsigned int nr_iov;		/* their iovecs */
	uint64_t room;			/* their bytes */
	unsigned int pushed;		/* used elements published; the caller clears it */
	uint8_t overflow[1];		/* after the iovecs: a frame reaching it did not fit */
	struct net_rx_chain chain[NET_MAX_IOV];
	struct iovec iov[NET_MAX_IOV];	/* the last entry is for the overflow byte */
};

/*
 * Forgets held chains (after a reset the ring they came from is gone) and configures receive
 * for FEATURES. The room wanted with MRG_RXBUF is NET_MAX_PACKET when a GUEST_TSO or
 * GUEST_UFO feature is negotiated (the TAP may hand over 64 KiB frames), else the header
 * plus an Ethernet header with a VLAN tag plus MTU; MTU 0 (unknown) means NET_MAX_PACKET.
 */
void net_rx_init(struct net_rx *rx, uint64_t features, unsigned int mtu);

/*
 * Takes receive chains from VQ until a frame can be read: one chain held without MRG_RXBUF,
 * RX->need bytes held with it (or, as the driver cannot add more, one chain per ring entry;
 * or a full iovec array). Chains that are not receive
 * buffers (vq_pop() -EINVAL, a device-readable buffer, fewer than 12 writable bytes) go
 * back at once with used length 0 and count as rx_malformed. When the ring runs empty it
 * re-enables notifications (vq_enable_notify()) before giving up, so the driver kicks the
 * queue when it adds buffers. C is scratch. Returns 1 when a frame can be read, 0 when the
 * driver must add buffers first (held chains are kept, nothing is lost), -EIO when the ring
 * is broken (the device must be marked NEEDS_RESET).
 */
int net_rx_fill(struct vq *vq, const struct guest_mem *gm, struct vq_chain *c,
		struct net_rx *rx, struct net_counters *cnt);

/*
 * Reads one frame from FD (a TAP) into the held chains, after net_rx_fill() returned 1.
 * Returns the bytes read (header included; more than RX->room when the frame did not fit)
 * or -errno (-EAGAIN: nothing to read). Retries EINTR.
 */
ssize_t net_rx_read(struct net_rx *rx, int fd);

/*
 * Publishes the frame of LEN bytes (net_rx_read()'s result) now in the held chains: sets
 * num_buffers (and clears the header flags without GUEST_CSUM), pushes the chains it
 * filled in order with their lengths, and keeps the rest held. A frame longer than the room
 * or shorter than the header is dropped (rx_drops), its chains stay held. Returns the
 * chains pushed (0 when dropped) or -EIO when the used ring is not writable.
 */
int net_rx_complete(struct vq *vq, const struct guest_mem *gm, struct net_rx *rx,
		    uint64_t len, struct net_counters *cnt);

/*
 * The MAC of a device without one configured: 52:54:00 (locally administered, unicast)
 * followed by the low 24 bits of FNV-1a over KEY (the TAP name, or "fd<N>") and INDEX (four
 * bytes, little endian). Stable across boots, different for different keys or indexes.
 */
void net_default_mac(const char *key, unsigned int index, uint8_t mac[6]);

#endif
