/*
 * virtio-net frame handling: transmit chains checked and mapped for one TAP write, receive
 * chains held and filled by one TAP read, the default MAC (contracts in net_io.h).
 */
#include <endian.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "net_io.h"

#define NUM_BUFFERS_OFF	10	/* offsetof(struct virtio_net_hdr_v1, num_buffers) */
#define VLAN_HLEN	4

_Static_assert(sizeof(struct virtio_net_hdr_v1) == NET_HDR_LEN, "virtio_net_hdr_v1 layout");

static int tx_reject(const char *why)
{
	pr_debug("virtio-net: dropping a transmit chain: %s", why);
	return -EINVAL;
}

/* The header rules of net_tx_build(); NULL when H is acceptable, else the reason. */
static const char *tx_hdr_bad(const struct virtio_net_hdr_v1 *h, uint64_t features)
{
	uint8_t gso = h->gso_type & ~VIRTIO_NET_HDR_GSO_ECN;
	unsigned int need;

	if (h->flags & ~(VIRTIO_NET_HDR_F_NEEDS_CSUM | VIRTIO_NET_HDR_F_DATA_VALID))
		return "unknown header flags";
	if ((h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) &&
	    !(features & (1ULL << VIRTIO_NET_F_CSUM)))
		return "NEEDS_CSUM without VIRTIO_NET_F_CSUM";
	switch (gso) {
	case VIRTIO_NET_HDR_GSO_NONE:
		if (h->gso_type & VIRTIO_NET_HDR_GSO_ECN)
			return "ECN without a GSO type";
		return NULL;
	case VIRTIO_NET_HDR_GSO_TCPV4:
		need = VIRTIO_NET_F_HOST_TSO4;
		break;
	case VIRTIO_NET_HDR_GSO_TCPV6:
		need = VIRTIO_NET_F_HOST_TSO6;
		break;
	case VIRTIO_NET_HDR_GSO_UDP:
		need = VIRTIO_NET_F_HOST_UFO;
		break;
	default:
		return "unknown gso_type";
	}
	if (!(features & (1ULL << need)))
		return "GSO type not negotiated";
	if (!h->gso_size)
		return "GSO with gso_size 0";
	return NULL;
}

int net_tx_build(const struct guest_mem *gm, uint64_t features, const struct vq_chain *c,
		 struct net_tx *tx)
{
	const char *bad;
	uint64_t frame;
	int n;

	if (c->nr_in)
		return tx_reject("device-writable buffer");
	if (c->out_len < NET_HDR_LEN)
		return tx_reject("shorter than the virtio-net header");
	frame = c->out_len - NET_HDR_LEN;
	if (frame < NET_ETH_HLEN || frame > NET_MAX_FRAME)
		return tx_reject("frame length out of range");
	/* One copy of the header: the checks and the TAP see the same bytes. */
	if (vq_gather(gm, c->bufs, c->nr_out, 0, &tx->hdr, NET_HDR_LEN) != NET_HDR_LEN)
		return tx_reject("header not readable");
	bad = tx_hdr_bad(&tx->hdr, features);
	if (bad)
		return tx_reject(bad);
	tx->hdr.num_buffers = 0;
	tx->iov[0] = (struct iovec){ .iov_base = &tx->hdr, .iov_len = NET_HDR_LEN };
	n = vq_iov(gm, c->bufs, c->nr_out, NET_HDR_LEN, frame, &tx->iov[1], NET_MAX_IOV - 1);
	if (n < 0)
		return tx_reject("too many buffers");
	tx->nr_iov = n + 1;
	tx->len = frame;
	return 0;
}

void net_rx_init(struct net_rx *rx, uint64_t features, unsigned int mtu)
{
	uint64_t gso = (1ULL << VIRTIO_NET_F_GUEST_TSO4) | (1ULL << VIRTIO_NET_F_GUEST_TSO6) |
		       (1ULL << VIRTIO_NET_F_GUEST_UFO);

	rx->mrg = features & (1ULL << VIRTIO_NET_F_MRG_RXBUF);
	rx->guest_csum = features & (1ULL << VIRTIO_NET_F_GUEST_CSUM);
	if ((features & gso) || !mtu || mtu > NET_MAX_FRAME)
		rx->need = NET_MAX_PACKET;
	else
		rx->need = NET_HDR_LEN + NET_ETH_HLEN + VLAN_HLEN + mtu;
	if (rx->need > NET_MAX_PACKET)
		rx->need = NET_MAX_PACKET;
	rx->nr = rx->nr_iov = 0;
	rx->room = 0;
	rx->pushed = 0;
}

/* Hands back a chain that is not a receive buffer. 0 or -EIO. */
static int rx_reject(struct vq *vq, const struct guest_mem *gm, struct net_rx *rx,
		     struct net_counters *cnt, uint16_t head)
{
	cnt->rx_malformed++;
	pr_debug("virtio-net: receive chain %u is not a receive buffer", head);
	if (vq_push(vq, gm, head, 0))
		return -EIO;
	rx->pushed++;
	return 0;
}

/*
 * Enough held to read a frame. Holding one chain per ring entry counts as enough whatever
 * the room: the driver cannot add buffers then (a small ring of small buffers).
 */
static bool rx_ready(const struct net_rx *rx, const struct vq *vq)
{
	return rx->nr && (!rx->mrg || rx->room >= rx->need || rx->nr >= vq->size);
}

int net_rx_fill(struct vq *vq, const struct guest_mem *gm, struct vq_chain *c,
		struct net_rx *rx, struct net_counters *cnt)
{
	uint32_t room;
	int ret, n;

	/* The last iovec is kept for the overflow byte. */
	while (!rx_ready(rx, vq) && rx->nr_iov < NET_MAX_IOV - 1) {
		ret = vq_pop(vq, gm, c);
		if (ret == 0) {
			if (vq_enable_notify(vq, gm))
				continue;	/* buffers raced in */
			return 0;
		}
		if (ret == -EIO)
			return -EIO;
		if (ret < 0 || c->nr_out || c->in_len < NET_HDR_LEN) {
			if (rx_reject(vq, gm, rx, cnt, c->head))
				return -EIO;
			continue;
		}
		room = c->in_len < NET_MAX_PACKET ? c->in_len : NET_MAX_PACKET;
		n = vq_iov(gm, &c->bufs[c->nr_out], c->nr_in, 0, room, &rx->iov[rx->nr_iov],
			   NET_MAX_IOV - 1 - rx->nr_iov);
		if (n == -E2BIG && rx->nr) {
			/* No iovecs left for it: the next fill takes it again. It is the last
			 * chain popped and nothing was pushed after it, so it can go back. */
			vq_unpop(vq, 1);
			break;
		}
		if (n <= 0) {
			if (rx_reject(vq, gm, rx, cnt, c->head))
				return -EIO;
			continue;
		}
		rx->chain[rx->nr++] = (struct net_rx_chain){
			.head = c->head, .room = room, .nr_iov = n,
		};
		rx->nr_iov += n;
		rx->room += room;
	}
	/* A full iovec array with less room than wanted (tiny buffers): read anyway; a frame
	 * that does not fit is dropped by net_rx_complete(). */
	return rx->nr ? 1 : 0;
}

ssize_t net_rx_read(struct net_rx *rx, int fd)
{
	ssize_t n;

	rx->iov[rx->nr_iov] = (struct iovec){
		.iov_base = rx->overflow, .iov_len = sizeof(rx->overflow),
	};
	do {
		n = readv(fd, rx->iov, rx->nr_iov + 1);
	} while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : n;
}

/* Writes LEN bytes at byte OFF of the first N iovecs (host mappings from vq_iov()). */
static void iov_write(const struct iovec *iov, unsigned int n, uint64_t off, const void *src,
		      uint64_t len)
{
	const uint8_t *s = src;

	for (unsigned int i = 0; i < n && len; i++) {
		uint64_t take;

		if (off >= iov[i].iov_len) {
			off -= iov[i].iov_len;
			continue;
		}
		take = iov[i].iov_len - off;
		if (take > len)
			take = len;
		memcpy((uint8_t *)iov[i].iov_base + off, s, take);
		s += take;
		len -= take;
		off = 0;
	}
}

int net_rx_complete(struct vq *vq, const struct guest_mem *gm, struct net_rx *rx,
		    uint64_t len, struct net_counters *cnt)
{
	unsigned int k = 0, iovs = 0;
	uint64_t off = 0;
	uint16_t nb;
	uint8_t zero = 0;

	if (len > rx->room || len < NET_HDR_LEN) {
		cnt->rx_drops++;
		pr_debug("virtio-net: dropping a %llu-byte frame (room %llu)",
			 (unsigned long long)len, (unsigned long long)rx->room);
		return 0;
	}
	/* The chains the frame reached; the header lies in the first ones' iovecs. */
	while (off < len) {
		off += rx->chain[k].room;
		iovs += rx->chain[k++].nr_iov;
	}
	nb = htole16(k);
	iov_write(rx->iov, iovs, NUM_BUFFERS_OFF, &nb, sizeof(nb));
	if (!rx->guest_csum)
		iov_write(rx->iov, iovs, 0, &zero, 1);
	off = 0;
	for (unsigned int i = 0; i < k; i++) {
		uint64_t used = len - off < rx->chain[i].room ? len - off : rx->chain[i].room;

		if (vq_push(vq, gm, rx->chain[i].head, (uint32_t)used))
			return -EIO;
		rx->pushed++;
		off += used;
		rx->room -= rx->chain[i].room;
	}
	memmove(rx->chain, rx->chain + k, (rx->nr - k) * sizeof(rx->chain[0]));
	memmove(rx->iov, rx->iov + iovs, (rx->nr_iov - iovs) * sizeof(rx->iov[0]));
	rx->nr -= k;
	rx->nr_iov -= iovs;
	cnt->rx_packets++;
	cnt->rx_bytes += len - NET_HDR_LEN;
	return k;
}

void net_default_mac(const char *key, unsigned int index, uint8_t mac[6])
{
	uint32_t h = 2166136261u;	/* FNV-1a, 32 bits */

	for (const char *p = key; *p; p++)
		h = (h ^ (uint8_t)*p) * 16777619u;
	for (int i = 0; i < 4; i++)
		h = (h ^ ((index >> (8 * i)) & 0xff)) * 16777619u;
	mac[0] = 0x52;
	mac[1] = 0x54;
	mac[2] = 0x00;
	mac[3] = h >> 16;
	mac[4] = h >> 8;
	mac[5] = h;
}
