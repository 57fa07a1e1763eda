/*
 * libFuzzer target for virtio-net frame handling (virtio/net_io.c) as a hostile driver
 * drives it: the transmit queue's chains are checked by net_tx_build() and written with one
 * writev() to a SOCK_SEQPACKET socket pair standing in for the TAP (one message per frame,
 * truncating reads, as a TAP), and frames the "TAP" delivers are placed into the receive
 * queue's chains with net_rx_fill(), net_rx_read() and net_rx_complete(), with any features
 * and MTU. Guest RAM is two 64 KiB regions with a hole between them.
 *
 * The input:
 *	byte 0		features: bit 0 CSUM, 1 HOST_TSO4, 2 HOST_TSO6, 3 HOST_UFO, 4 MRG_RXBUF,
 *			5 GUEST_CSUM, 6 GUEST_TSO4, 7 EVENT_IDX (both queues);
 *	byte 1		the MTU / 64 (0: unknown);
 *	bytes 2-9	four le16 lengths of frames the TAP delivers, header included (0: none;
 *			0xff00 and above: NET_MAX_PACKET - 128 + the low byte, around the most
 *			a TAP can hand over);
 *	the rest	guest RAM, the first region then the second. The transmit ring (16
 *			entries) has its descriptors at 0x000, available ring at 0x100, used ring
 *			at 0x200; the receive ring the same at 0x400, 0x500, 0x600.
 *
 * Checked (abort on violation): a transmit chain net_tx_build() accepts has the header copy
 * as its first iovec with num_buffers 0, the rest inside guest RAM, 12 + len bytes in all,
 * len within 14..NET_MAX_FRAME, and what the TAP receives is that header and the guest's
 * frame bytes; refused chains are counted. Receive: the held chains' iovecs lie in guest
 * RAM, within NET_MAX_IOV - 1, their room adds up; without MRG_RXBUF at most one chain is
 * held; a frame that fits is published in the chains it reached, in order, with used
 * lengths that add up to it and none beyond a chain's room, and one that does not fit is
 * dropped and counted, its chains kept.
 */
#define _GNU_SOURCE
#include <endian.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fuzz_util.h"
#include "guest_mem.h"
#include "log.h"
#include "net_io.h"
#include "queue.h"

#define KiB		(1ULL << 10)
#define RAM0_GPA	0x0ULL
#define RAM0_SIZE	(64 * KiB)
#define RAM1_GPA	0x20000ULL	/* after a 64 KiB hole */
#define RAM1_SIZE	(64 * KiB)
#define QSIZE		16
#define TX_RING		0x000ULL
#define RX_RING		0x400ULL
#define HDR_BYTES	10
#define NR_FRAMES	4
#define MAX_CHAINS	64
#define SOCK_BUF	(512 * KiB)
#define BIT(n)		(1ULL << (n))

static struct guest_mem gm;
static uint8_t *r0, *r1;
static int sp[2] = { -1, -1 };		/* sp[0] the device's "TAP" end, sp[1] the host's */
static struct vq_chain chain;		/* large: not on the stack */
static struct net_tx tx;
static struct net_rx rx;
static uint8_t frame[NET_MAX_PACKET + 256], got[NET_MAX_PACKET + 256];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct gm_region l[] = {
		{ .gpa = RAM0_GPA, .size = RAM0_SIZE },
		{ .gpa = RAM1_GPA, .size = RAM1_SIZE },
	};
	int buf = SOCK_BUF;

	(void)argc;
	(void)argv;
	log_threshold = LOG_QUIET;	/* malformed chains are expected */
	if (gm_create(&gm, l, 2))
		return -1;
	r0 = gm_ptr(&gm, RAM0_GPA, RAM0_SIZE);
	r1 = gm_ptr(&gm, RAM1_GPA, RAM1_SIZE);
	if (!r0 || !r1)
		return -1;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sp))
		return -1;
	for (int i = 0; i < 2; i++) {
		setsockopt(sp[i], SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf));
		setsockopt(sp[i], SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
	}
	for (size_t i = 0; i < sizeof(frame); i++)
		frame[i] = (uint8_t)(i * 7 + 1);
	return 0;
}

/* [P, P + N) lies inside one of the RAM mappings. */
static bool in_ram(const void *p, uint64_t n)
{
	const uint8_t *b = p;

	return (b >= r0 && n <= RAM0_SIZE && b - r0 <= (ptrdiff_t)(RAM0_SIZE - n)) ||
	       (b >= r1 && n <= RAM1_SIZE && b - r1 <= (ptrdiff_t)(RAM1_SIZE - n));
}

static uint32_t rd32(uint64_t gpa)
{
	uint32_t v;

	check(!gm_read(&gm, gpa, &v, 4));
	return le32toh(v);
}

static void ring(struct vq *vq, uint64_t base, bool event_idx)
{
	vq_reset(vq);
	vq->size = QSIZE;
	vq->desc_gpa = base;
	vq->avail_gpa = base + 0x100;
	vq->used_gpa = base + 0x200;
	vq->event_idx = event_idx;
	if (vq_validate(vq, &gm, QSIZE))
		__builtin_trap();	/* the fixed layout is valid by construction */
	vq->ready = true;
}

/* Empties the host end of the pair (nothing may be left over for the next input). */
static void drain(int fd)
{
	while (recv(fd, got, sizeof(got), MSG_DONTWAIT | MSG_TRUNC) >= 0)
		;
}

static void transmit(struct vq *vq, uint64_t features, struct net_counters *cnt)
{
	for (int i = 0; i < MAX_CHAINS; i++) {
		uint64_t sum = 0;
		ssize_t n;
		int ret = vq_pop(vq, &gm, &chain);

		if (ret == 0 || ret == -EIO)
			break;
		if (ret == 1 && !net_tx_build(&gm, features, &chain, &tx)) {
			check(tx.len >= NET_ETH_HLEN && tx.len <= NET_MAX_FRAME);
			check(tx.nr_iov >= 2 && tx.nr_iov <= NET_MAX_IOV);
			check(tx.iov[0].iov_base == &tx.hdr && tx.iov[0].iov_len == NET_HDR_LEN);
			check(tx.hdr.num_buffers == 0);
			for (unsigned int k = 1; k < tx.nr_iov; k++) {
				check(tx.iov[k].iov_len > 0);
				check(in_ram(tx.iov[k].iov_base, tx.iov[k].iov_len));
				sum += tx.iov[k].iov_len;
			}
			check(sum == tx.len);
			n = writev(sp[0], tx.iov, (int)tx.nr_iov);
			check(n == (ssize_t)(NET_HDR_LEN + tx.len));
			check(recv(sp[1], got, sizeof(got), MSG_DONTWAIT) == n);
			check(!memcmp(got, &tx.hdr, NET_HDR_LEN));
			check(vq_gather(&gm, chain.bufs, chain.nr_out, NET_HDR_LEN, frame + 128,
					tx.len) == tx.len);
			check(!memcmp(got + NET_HDR_LEN, frame + 128, tx.len));
			/* The gather used the pattern buffer as scratch: restore it. */
			for (uint64_t k = 0; k < tx.len; k++)
				frame[128 + k] = (uint8_t)((128 + k) * 7 + 1);
			cnt->tx_packets++;
		} else {
			cnt->tx_malformed++;
		}
		if (vq_push(vq, &gm, chain.head, 0))
			break;
		vq_should_notify(vq, &gm);
	}
}

static void check_held(const struct vq *vq)
{
	uint64_t room = 0;
	unsigned int iovs = 0;

	check(rx.nr_iov <= NET_MAX_IOV - 1);
	check(rx.mrg || rx.nr <= 1);
	for (unsigned int i = 0; i < rx.nr; i++) {
		check(rx.chain[i].head < vq->size);
		check(rx.chain[i].room >= NET_HDR_LEN && rx.chain[i].room <= NET_MAX_PACKET);
		check(rx.chain[i].nr_iov >= 1);
		room += rx.chain[i].room;
		iovs += rx.chain[i].nr_iov;
	}
	check(room == rx.room && iovs == rx.nr_iov);
	for (unsigned int i = 0; i < rx.nr_iov; i++)
		check(rx.iov[i].iov_len > 0 && in_ram(rx.iov[i].iov_base, rx.iov[i].iov_len));
}

static void receive(struct vq *vq, size_t len, struct net_counters *cnt)
{
	uint16_t used0;
	struct net_rx_chain first[NET_MAX_IOV];
	uint64_t drops = cnt->rx_drops, sum = 0, room;
	unsigned int nr;
	ssize_t n;
	int ret, k;

	check(send(sp[1], frame, len, MSG_DONTWAIT) == (ssize_t)len);
	ret = net_rx_fill(vq, &gm, &chain, &rx, cnt);
	check(ret == 0 || ret == 1 || ret == -EIO);
	check_held(vq);
	if (ret != 1) {
		drain(sp[0]);
		return;
	}
	n = net_rx_read(&rx, sp[0]);
	check(n == (ssize_t)(len <= rx.room ? len : rx.room + 1));
	nr = rx.nr;
	room = rx.room;
	memcpy(first, rx.chain, nr * sizeof(first[0]));
	used0 = vq->used_idx;
	k = net_rx_complete(vq, &gm, &rx, (uint64_t)n, cnt);
	check(k >= 0);		/* the used ring passed vq_validate() */
	if ((uint64_t)n > room || n < NET_HDR_LEN) {
		check(k == 0 && cnt->rx_drops == drops + 1);
		check(rx.nr == nr && rx.room == room);
		return;
	}
	check(k > 0);
	check((unsigned int)k <= nr && rx.nr == nr - (unsigned int)k);
	check(rx.mrg || k == 1);
	check((uint16_t)(vq->used_idx - used0) == (uint16_t)k);
	for (int i = 0; i < k; i++) {
		uint64_t e = vq->used_gpa + 4 + 8ULL * ((used0 + i) & (vq->size - 1));
		uint32_t ulen = rd32(e + 4);

		check(rd32(e) == first[i].head);
		check(ulen <= first[i].room && ulen > 0);
		sum += ulen;
	}
	check(sum == (uint64_t)n);
	check_held(vq);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct net_counters cnt = { 0 };
	struct vq txq, rxq;
	uint64_t features = 0;
	size_t n0, n1, rest;
	unsigned int mtu;
	uint8_t knobs;

	if (size < HDR_BYTES)
		return 0;
	knobs = data[0];
	if (knobs & 1)
		features |= BIT(VIRTIO_NET_F_CSUM);
	if (knobs & 2)
		features |= BIT(VIRTIO_NET_F_HOST_TSO4);
	if (knobs & 4)
		features |= BIT(VIRTIO_NET_F_HOST_TSO6);
	if (knobs & 8)
		features |= BIT(VIRTIO_NET_F_HOST_UFO);
	if (knobs & 16)
		features |= BIT(VIRTIO_NET_F_MRG_RXBUF);
	if (knobs & 32)
		features |= BIT(VIRTIO_NET_F_GUEST_CSUM);
	if (knobs & 64)
		features |= BIT(VIRTIO_NET_F_GUEST_TSO4);
	mtu = data[1] * 64U;

	rest = size - HDR_BYTES;
	memset(r0, 0, RAM0_SIZE);
	memset(r1, 0, RAM1_SIZE);
	n0 = rest < RAM0_SIZE ? rest : RAM0_SIZE;
	n1 = rest - n0 < RAM1_SIZE ? rest - n0 : RAM1_SIZE;
	memcpy(r0, data + HDR_BYTES, n0);
	memcpy(r1, data + HDR_BYTES + n0, n1);

	ring(&txq, TX_RING, knobs & 128);
	ring(&rxq, RX_RING, knobs & 128);
	transmit(&txq, features, &cnt);
	vq_enable_notify(&txq, &gm);

	net_rx_init(&rx, features, mtu);
	for (int i = 0; i < NR_FRAMES; i++) {
		size_t len = data[2 + 2 * i] | (size_t)data[3 + 2 * i] << 8;

		if (len >= 0xff00)
			len = NET_MAX_PACKET - 128 + (len & 0xff);
		if (len)
			receive(&rxq, len, &cnt);
	}
	drain(sp[0]);
	drain(sp[1]);
	return 0;
}
