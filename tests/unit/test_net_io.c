/*
 * Unit tests for virtio-net frame handling (net_io.c) against fake guest RAM and a ring built
 * by hand: transmit chains checked and mapped, receive chains held and filled (a SEQPACKET
 * socket pair stands in for the TAP: one message per frame, truncated reads like a TAP),
 * the default MAC; and tap.c against a real TAP when this machine lets us create one.
 */
#include <criterion/criterion.h>
#include <endian.h>
#include <errno.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "devices.h"
#include "guest_mem.h"
#include "mmio.h"
#include "net_io.h"
#include "queue.h"
#include "tap.h"
#include "transport.h"

#define MiB		(1ULL << 20)
#define QSZ		16
#define DESC		0x1000ULL
#define AVAIL		0x2000ULL
#define USED		0x3000ULL
#define AVAIL_EVENT	(USED + 4 + 8 * QSZ)
#define BUF		0x10000ULL
#define BIG		0x40000ULL	/* room for a 64 KiB frame */
#define F_NEXT		VIRTQ_DESC_F_NEXT
#define F_WRITE		VIRTQ_DESC_F_WRITE
#define BIT(n)		(1ULL << (n))

static struct guest_mem gm;
#include "fake_ring.h"
static struct vq vq;
static struct vq_chain c;
static struct net_tx tx;
static struct net_rx rx;
static struct net_counters cnt;
static uint16_t drv_idx;
static int sp[2] = { -1, -1 };	/* sp[0] the device's "TAP" end, sp[1] the host's */
static uint8_t frame[NET_MAX_PACKET + 64];

static void setup(void)
{
	struct gm_region l[] = { { .gpa = 0, .size = 2 * MiB } };

	cr_assert_eq(gm_create(&gm, l, 1), 0);
	vq_reset(&vq);
	vq.size = QSZ;
	vq.ready = true;
	vq.desc_gpa = DESC;
	vq.avail_gpa = AVAIL;
	vq.used_gpa = USED;
	drv_idx = 0;
	memset(&cnt, 0, sizeof(cnt));
	memset(gm_ptr(&gm, BUF, MiB), 0xee, MiB);
	cr_assert_eq(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK, 0, sp), 0);
}

static void teardown(void)
{
	close(sp[0]);
	close(sp[1]);
	gm_destroy(&gm);
}

TestSuite(net_io, .init = setup, .fini = teardown);

/* Rings: the descriptor table at RING, the available ring 4 KiB above, the used ring 8 KiB. */
static void publish_in(uint64_t ring, uint16_t *idx, uint16_t head)
{
	wr16(ring + 0x1000 + 4 + 2 * (*idx % QSZ), head);
	(*idx)++;
	wr16(ring + 0x1000 + 2, *idx);
}

static void desc(uint16_t i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
	desc_at(DESC, i, addr, len, flags, next);
}

static void publish(uint16_t head)
{
	publish_in(DESC, &drv_idx, head);
}

static void assert_used(unsigned int i, uint32_t head, uint32_t len)
{
	cr_assert_eq(rd32(USED + 4 + 8 * i), head, "used[%u].id %u", i, rd32(USED + 4 + 8 * i));
	cr_assert_eq(rd32(USED + 8 + 8 * i), len, "used[%u].len %u", i, rd32(USED + 8 + 8 * i));
}

/* A header (flags, gso_type, gso_size) and LEN - 12 payload bytes at GPA. */
static void put_tx(uint64_t gpa, uint32_t len, uint8_t flags, uint8_t gso, uint16_t gso_size)
{
	struct virtio_net_hdr_v1 h = { .flags = flags, .gso_type = gso,
				       .gso_size = htole16(gso_size), .num_buffers = 0x3412 };

	for (uint32_t i = 0; i < len; i++)
		frame[i] = (uint8_t)(i * 7 + 1);
	memcpy(frame, &h, sizeof(h));
	cr_assert_eq(gm_write(&gm, gpa, frame, len), 0);
}

/* Pops the one chain just published and runs net_tx_build() on it. */
static int tx_build(uint64_t features)
{
	cr_assert_eq(vq_pop(&vq, &gm, &c), 1);
	return net_tx_build(&gm, features, &c, &tx);
}

static void assert_iov(unsigned int i, uint64_t gpa, size_t len)
{
	cr_assert_eq(tx.iov[i].iov_base, gm_ptr(&gm, gpa, len), "iov %u base", i);
	cr_assert_eq(tx.iov[i].iov_len, len, "iov %u len %zu", i, tx.iov[i].iov_len);
}

/* ---- transmit ---- */

Test(net_io, tx_single_buffer)
{
	uint8_t out[128];

	put_tx(BUF, 12 + 60, 0, 0, 0);
	desc(0, BUF, 12 + 60, 0, 0);
	publish(0);
	cr_assert_eq(tx_build(0), 0);
	cr_assert_eq(tx.nr_iov, 2);
	cr_assert_eq(tx.len, 60);
	cr_assert_eq(tx.iov[0].iov_base, &tx.hdr);
	cr_assert_eq(tx.iov[0].iov_len, 12);
	assert_iov(1, BUF + 12, 60);
	/* What the TAP gets: the header (num_buffers zeroed), then the frame. */
	cr_assert_eq(writev(sp[1], tx.iov, tx.nr_iov), 72);
	cr_assert_eq(recv(sp[0], out, sizeof(out), 0), 72);
	cr_assert_eq(memcmp(out, frame, 10), 0);
	cr_assert_eq(out[10], 0);
	cr_assert_eq(out[11], 0);
	cr_assert_eq(memcmp(out + 12, frame + 12, 60), 0);
}

Test(net_io, tx_multi_buffer_split_header)
{
	uint8_t out[128];

	put_tx(BUF + 0x1000, 12 + 60, 0, 0, 0);	/* contiguous copy to compare with */
	/* Header split 5 + 7, the frame over three buffers of 20, 30, 10 bytes. */
	cr_assert_eq(gm_write(&gm, BUF, frame, 5), 0);
	cr_assert_eq(gm_write(&gm, BUF + 0x100, frame + 5, 27), 0);
	cr_assert_eq(gm_write(&gm, BUF + 0x200, frame + 32, 30), 0);
	cr_assert_eq(gm_write(&gm, BUF + 0x300, frame + 62, 10), 0);
	desc(0, BUF, 5, F_NEXT, 1);
	desc(1, BUF + 0x100, 27, F_NEXT, 2);
	desc(2, BUF + 0x200, 30, F_NEXT, 3);
	desc(3, BUF + 0x300, 10, 0, 0);
	publish(0);
	cr_assert_eq(tx_build(0), 0);
	cr_assert_eq(tx.nr_iov, 4);
	cr_assert_eq(tx.len, 60);
	cr_assert_eq(memcmp(&tx.hdr, frame, 10), 0);
	assert_iov(1, BUF + 0x100 + 7, 20);
	assert_iov(2, BUF + 0x200, 30);
	assert_iov(3, BUF + 0x300, 10);
	cr_assert_eq(writev(sp[1], tx.iov, tx.nr_iov), 72);
	cr_assert_eq(recv(sp[0], out, sizeof(out), 0), 72);
	cr_assert_eq(memcmp(out + 12, frame + 12, 60), 0);
}

Test(net_io, tx_writable_descriptor)
{
	put_tx(BUF, 12 + 60, 0, 0, 0);
	desc(0, BUF, 12 + 60, F_NEXT, 1);
	desc(1, BUF + 0x100, 16, F_WRITE, 0);
	publish(0);
	cr_assert_eq(tx_build(0), -EINVAL);
}

Test(net_io, tx_too_short)
{
	put_tx(BUF, 12 + 14, 0, 0, 0);
	desc(0, BUF, 11, 0, 0);			/* not even a header */
	desc(1, BUF, 12 + 13, 0, 0);		/* less than an Ethernet header */
	desc(2, BUF, 12 + 14, 0, 0);
	publish(0);
	publish(1);
	publish(2);
	cr_assert_eq(tx_build(0), -EINVAL);
	cr_assert_eq(tx_build(0), -EINVAL);
	cr_assert_eq(tx_build(0), 0);
	cr_assert_eq(tx.len, 14);
}

Test(net_io, tx_oversize)
{
	put_tx(BIG, 12 + NET_MAX_FRAME + 1, 0, 0, 0);
	desc(0, BIG, 12 + NET_MAX_FRAME + 1, 0, 0);
	desc(1, BIG, 12 + NET_MAX_FRAME, 0, 0);
	/* The limit holds however the frame is split. */
	desc(2, BIG, 12 + 65000, F_NEXT, 3);
	desc(3, BUF, 551, 0, 0);
	publish(0);
	publish(1);
	publish(2);
	cr_assert_eq(tx_build(0), -EINVAL);
	cr_assert_eq(tx_build(0), 0);
	cr_assert_eq(tx.len, NET_MAX_FRAME);
	cr_assert_eq(tx_build(0), -EINVAL);
}

/* Builds one single-buffer chain with the given header. */
static int tx_hdr(uint8_t flags, uint8_t gso, uint16_t gso_size, uint64_t features)
{
	put_tx(BUF, 12 + 100, flags, gso, gso_size);
	desc(0, BUF, 12 + 100, 0, 0);
	publish(0);
	return tx_build(features);
}

Test(net_io, tx_header_flags)
{
	cr_assert_eq(tx_hdr(4, 0, 0, ~0ULL), -EINVAL);		/* RSC_INFO */
	cr_assert_eq(tx_hdr(0x80, 0, 0, ~0ULL), -EINVAL);
	cr_assert_eq(tx_hdr(VIRTIO_NET_HDR_F_NEEDS_CSUM, 0, 0, 0), -EINVAL);
	cr_assert_eq(tx_hdr(VIRTIO_NET_HDR_F_NEEDS_CSUM, 0, 0, BIT(VIRTIO_NET_F_CSUM)), 0);
	cr_assert_eq(tx.hdr.flags, VIRTIO_NET_HDR_F_NEEDS_CSUM);
	cr_assert_eq(tx_hdr(VIRTIO_NET_HDR_F_DATA_VALID, 0, 0, 0), 0);
}

Test(net_io, tx_bad_gso_type)
{
	static const uint8_t bad[] = { 2, 5, 6, 0x7f, 0xff, VIRTIO_NET_HDR_GSO_ECN };

	for (unsigned int i = 0; i < sizeof(bad); i++)
		cr_assert_eq(tx_hdr(0, bad[i], 1448, ~0ULL), -EINVAL, "gso_type 0x%x", bad[i]);
	cr_assert_eq(tx_hdr(0, VIRTIO_NET_HDR_GSO_TCPV4 | VIRTIO_NET_HDR_GSO_ECN, 1448,
			    BIT(VIRTIO_NET_F_HOST_TSO4)), 0);
	cr_assert_eq(tx.hdr.gso_type, 0x81);
	cr_assert_eq(tx_hdr(0, VIRTIO_NET_HDR_GSO_TCPV4, 0, ~0ULL), -EINVAL);	/* gso_size 0 */
}

Test(net_io, tx_gso_not_negotiated)
{
	const uint64_t all = BIT(VIRTIO_NET_F_HOST_TSO4) | BIT(VIRTIO_NET_F_HOST_TSO6) |
			     BIT(VIRTIO_NET_F_HOST_UFO);
	const struct { uint8_t type; unsigned int bit; } t[] = {
		{ VIRTIO_NET_HDR_GSO_TCPV4, VIRTIO_NET_F_HOST_TSO4 },
		{ VIRTIO_NET_HDR_GSO_TCPV6, VIRTIO_NET_F_HOST_TSO6 },
		{ VIRTIO_NET_HDR_GSO_UDP, VIRTIO_NET_F_HOST_UFO },
	};

	for (unsigned int i = 0; i < 3; i++) {
		cr_assert_eq(tx_hdr(0, t[i].type, 1400, all & ~BIT(t[i].bit)), -EINVAL);
		cr_assert_eq(tx_hdr(0, t[i].type, 1400, BIT(t[i].bit)), 0);
		cr_assert_eq(le16toh(tx.hdr.gso_size), 1400);
	}
}

Test(net_io, tx_header_is_a_snapshot)
{
	uint8_t evil[12];

	cr_assert_eq(tx_hdr(0, VIRTIO_NET_HDR_GSO_NONE, 0, 0), 0);
	/* The guest rewrites the header after the check: the TAP still gets the checked one. */
	memset(evil, 0xff, sizeof(evil));
	cr_assert_eq(gm_write(&gm, BUF, evil, sizeof(evil)), 0);
	cr_assert_eq(tx.hdr.flags, 0);
	cr_assert_eq(tx.hdr.gso_type, 0);
	cr_assert_eq(tx.hdr.num_buffers, 0);
	cr_assert_eq(memcmp(&tx.hdr, frame, 10), 0);
}

/* ---- receive ---- */

/* A frame from the "TAP": header with FLAGS, then a pattern; LEN bytes in all. */
static void tap_send(size_t len, uint8_t flags, uint8_t seed)
{
	for (size_t i = 0; i < len; i++)
		frame[i] = (uint8_t)(seed + i * 13);
	frame[0] = flags;
	frame[1] = 0;
	cr_assert_eq(send(sp[1], frame, len, 0), (ssize_t)len);
}

/*
 * The guest sees bytes [OFF, OFF + LEN) of FRAME at GPA, with the header fixed up: flags
 * FLAGS at frame byte 0 and num_buffers NB at bytes 10-11 (where they fall in the range);
 * the byte after is untouched.
 */
static void assert_frame_at(uint64_t gpa, size_t off, size_t len, uint16_t nb, int flags)
{
	uint8_t got[4096], exp[4096];

	cr_assert_leq(len, sizeof(got));
	memcpy(exp, frame + off, len);
	for (size_t p = 0; p < 12; p++) {
		if (p < off || p >= off + len)
			continue;
		if (p == 0)
			exp[p - off] = flags;
		if (p == 10)
			exp[p - off] = nb & 0xff;
		if (p == 11)
			exp[p - off] = nb >> 8;
	}
	cr_assert_eq(gm_read(&gm, gpa, got, len), 0);
	cr_assert_eq(memcmp(got, exp, len), 0, "frame bytes at 0x%llx", (unsigned long long)gpa);
	cr_assert_eq(gm_read(&gm, gpa + len, got, 1), 0);
	cr_assert_eq(got[0], 0xee, "byte after the frame at 0x%llx touched",
		     (unsigned long long)gpa);
}

/* One writable buffer chain per head: head I at BUF + I * 0x1000, LEN bytes. */
static void rx_chain(uint16_t i, uint32_t len)
{
	desc(i, BUF + i * 0x1000ULL, len, F_WRITE, 0);
	publish(i);
}

static int rx_frame(void)
{
	ssize_t n = net_rx_read(&rx, sp[0]);

	cr_assert_geq(n, 0, "read: %zd", n);
	return net_rx_complete(&vq, &gm, &rx, n, &cnt);
}

Test(net_io, rx_one_chain)
{
	net_rx_init(&rx, BIT(VIRTIO_NET_F_GUEST_CSUM), 1500);
	rx_chain(0, 2000);
	rx_chain(1, 2000);
	tap_send(12 + 100, VIRTIO_NET_HDR_F_DATA_VALID, 1);
	cr_assert_eq(net_rx_fill(&vq, &gm, &c, &rx, &cnt), 1);
	cr_assert_eq(rx.nr, 1);		/* without MRG_RXBUF one chain is enough */
	cr_assert_eq(vq.last_avail, 1);
	cr_assert_eq(net_rx_read(&rx, sp[0]), 112);
	cr_assert_eq(net_rx_complete(&vq, &gm, &rx, 112, &cnt), 1);
	cr_assert_eq(rd16(USED + 2), 1);
	assert_used(0, 0, 112);
	assert_frame_at(BUF, 0, 112, 1, VIRTIO_NET_HDR_F_DATA_VALID);
	cr_assert_eq(rx.nr, 0);
	cr_assert_eq(rx.pushed, 1);
	cr_assert_eq(cnt.rx_packets, 1);
	cr_assert_eq(cnt.rx_bytes, 100);
	cr_assert_eq(cnt.rx_drops, 0);
	/* The TAP is empty now. */
	cr_assert_eq(net_rx_fill(&vq, &gm, &c, &rx, &cnt), 1);
	cr_assert_eq(net_rx_read(&rx, sp[0]), -EAGAIN);
}

Test(net_io, rx_mrg_three_chains)
{
	/* MTU 300: 330 bytes of room wanted before reading. */
	net_rx_init(&rx, BIT(VIRTIO_NET_F_MRG_RXBUF) | BIT(VIRTIO_NET_F_GUEST_CSUM), 300);
	cr_assert_eq(rx.need, 330);
	/* Chain 0 is two buffers (6 + 94: even the header is split). */
	desc(0, BUF, 6, F_WRITE | F_NEXT, 5);
	desc(5, BUF + 0x800, 94, F_WRITE, 0);
	publish(0);
	for (uint16_t i = 1; i <= 4; i++)
		rx_chain(i, 100);
	tap_send(250, 0, 3);
	cr_assert_eq(net_rx_fill(&vq, &gm, &c, &rx, &cnt), 1);
	cr_assert_eq(rx.nr, 4);
	cr_assert_eq(rx.room, 400);
	cr_assert_eq(rx_frame(), 3);
	cr_assert_eq(rd16(USED + 2), 3);
	assert_used(0, 0, 100);
	assert_used(1, 1, 100);
	assert_used(2, 2, 50);
	assert_frame_at(BUF, 0, 6, 3, 0);
	assert_frame_at(BUF + 0x800, 6, 94, 3, 0);
	assert_frame_at(BUF + 0x1000, 100, 100, 0, 0);
	assert_frame_at(BUF + 0x2000, 200, 50, 0, 0);
	cr_assert_eq(rx.nr, 1);		/* chain 3 stays held */
	cr_assert_eq(rx.room, 100);
	cr_assert_eq(rx.chain[0].head, 3);

	/* The next frame starts in the held chain 3, then takes chain 4 and 6. */
	rx_chain(6, 100);
	tap_send(12 + 180, 0, 9);
	cr_assert_eq(net_rx_fill(&vq, &gm, &c, &rx, &cnt), 0);	/* 300 < 330: wait */
	cr_assert_eq(rx.nr, 3);
	rx_chain(7, 100);
	cr_assert_eq(net_rx_fill(&vq, &gm, &c, &rx, &cnt), 1);
	cr_assert_eq(rx_frame(), 2);
	assert_used(3, 3, 100);
	assert_used(4, 4, 92);
	assert_frame_at(BUF + 0x3000, 0, 100, 2, 0);
	assert_frame_at(BUF + 0x4000, 100, 92, 0, 0);
	cr_assert_eq(cnt.rx_packets, 2);
	cr_assert_eq(cnt.rx_bytes, 238 + 180);
}

Test(net_io, rx_frame_too_big_without_mrg)
{
	net_rx_init(&rx, 0, 1500);
	rx_chain(0, 100);
	tap_send(200, 0, 5);
	cr_assert_eq(net_rx_fill(&vq, &gm, &c, &rx, &cnt), 1);
	cr_assert_eq(net_rx_read(&rx, sp[0]), 101);	/* reached the overflow byte */
	cr_assert_eq(net_rx_complete(&vq, &gm, &rx, 101, &cnt), 0);
	cr_assert_eq(cnt.rx_drops, 1);
	cr_assert_eq(cnt.rx_packets, 0);
	cr_assert_eq(rd16(USED + 2), 0);
	cr_assert_eq(rx.nr, 1);
	/* The chain takes the next frame; one that fills it exactly fits. */
	tap_send(100, 0, 6);
	cr_assert_eq(net_rx_fill(&vq, &gm, &c, &rx, &cnt), 1);
	cr_assert_eq(rx_frame(), 1);
	assert_used(0, 0, 100);
	assert_frame_at(BUF, 0, 100, 1, 0);
	cr_assert_eq(cnt.rx_packets, 1);
}

Test(net_io, rx_no_buffers)
{
	uint8_t got[256];

	vq.event_idx = true;
	wr16(AVAIL_EVENT, 0x5555);
	net_rx_init(&rx, BIT(VIRTIO_NET_F_MRG_RXBUF), 300);
	tap_send(120, 0, 7);
	cr_assert_eq(net_rx_fill(&vq, &gm, &c, &rx, &cnt), 0);
	/* The driver is asked to kick on its next buffer. */
	cr_assert_eq(rd16(AVAIL_EVENT), 0);
	/* Some buffers, not enough room: held, nothing read, nothing used. */
	rx_chain(0, 100);
	rx_chain(1, 100);
	cr_assert_eq(net_rx_fill(&vq, &gm, &c, &rx, &cnt), 0);
	cr_assert_eq(rx.nr, 2);
	cr_assert_eq(rd16(AVAIL_EVENT), 2);
	cr_assert_eq(rd16(USED + 2), 0);
	cr_assert_eq(rx.pushed, 0);
	cr_assert_eq(cnt.rx_drops + cnt.rx_malformed, 0);
	/* The frame is still in the TAP, whole. */
	cr_assert_eq(recv(sp[0], got, sizeof(got), 0), 120);
	cr_assert_eq(memcmp(got, frame, 120), 0);
}

Test(net_io, rx_malformed_chains)
{
	net_rx_init(&rx, BIT(VIRTIO_NET_F_MRG_RXBUF), 1500);
	cr_assert_eq(rx.need, 12 + 18 + 1500);
	desc(0, BUF, 2000, 0, 0);			/* device-readable */
	publish(0);
	rx_chain(1, 11);				/* no room for a header */
	desc(2, BUF, 100, F_NEXT, 2);			/* a loop */
	publish(2);
	rx_chain(3, 2000);
	cr_assert_eq(net_rx_fill(&vq, &gm, &c, &rx, &cnt), 1);
	cr_assert_eq(cnt.rx_malformed, 3);
	cr_assert_eq(rx.pushed, 3);
	cr_assert_eq(rd16(USED + 2), 3);
	assert_used(0, 0, 0);
	assert_used(1, 1, 0);
	assert_used(2, 2, 0);
	cr_assert_eq(rx.nr, 1);
	cr_assert_eq(rx.chain[0].head, 3);
}

Test(net_io, rx_flags_without_guest_csum)
{
	net_rx_init(&rx, 0, 1500);
	rx_chain(0, 200);
	tap_send(80, VIRTIO_NET_HDR_F_DATA_VALID, 2);
	cr_assert_eq(net_rx_fill(&vq, &gm, &c, &rx, &cnt), 1);
	cr_assert_eq(rx_frame(), 1);
	assert_frame_at(BUF, 0, 80, 1, 0);		/* flags cleared */
}

Test(net_io, rx_need)
{
	net_rx_init(&rx, BIT(VIRTIO_NET_F_MRG_RXBUF) | BIT(VIRTIO_NET_F_GUEST_TSO4), 1500);
	cr_assert_eq(rx.need, NET_MAX_PACKET);
	net_rx_init(&rx, BIT(VIRTIO_NET_F_GUEST_UFO), 1500);
	cr_assert_eq(rx.need, NET_MAX_PACKET);
	net_rx_init(&rx, BIT(VIRTIO_NET_F_MRG_RXBUF), 9000);
	cr_assert_eq(rx.need, 9030);
	net_rx_init(&rx, BIT(VIRTIO_NET_F_MRG_RXBUF), 0);
	cr_assert_eq(rx.need, NET_MAX_PACKET);
	net_rx_init(&rx, BIT(VIRTIO_NET_F_MRG_RXBUF), 65535);
	cr_assert_eq(rx.need, NET_MAX_PACKET);
	cr_assert(rx.mrg);
	cr_assert_not(rx.guest_csum);
}

Test(net_io, rx_largest_frame_mrg)
{
	net_rx_init(&rx, BIT(VIRTIO_NET_F_MRG_RXBUF) | BIT(VIRTIO_NET_F_GUEST_TSO4), 0);
	/* Fifteen 4 KiB buffers are not room for the largest frame; one more of 8 KiB is. */
	for (uint16_t i = 0; i < 15; i++) {
		desc(i, BIG + i * 4096ULL, 4096, F_WRITE, 0);
		publish(i);
	}
	tap_send(NET_MAX_PACKET, 0, 4);
	cr_assert_eq(net_rx_fill(&vq, &gm, &c, &rx, &cnt), 0);
	cr_assert_eq(rx.nr, 15);
	desc(15, BIG + 15 * 4096ULL, 8192, F_WRITE, 0);
	publish(15);
	cr_assert_eq(net_rx_fill(&vq, &gm, &c, &rx, &cnt), 1);
	cr_assert_eq(rx.nr, 16);
	cr_assert_eq(net_rx_read(&rx, sp[0]), NET_MAX_PACKET);
	cr_assert_eq(net_rx_complete(&vq, &gm, &rx, NET_MAX_PACKET, &cnt), 16);
	cr_assert_eq(rd16(USED + 2), 16);
	for (unsigned int i = 0; i < 15; i++)
		assert_used(i, i, 4096);
	assert_used(15, 15, NET_MAX_PACKET - 15 * 4096);
	cr_assert_eq(rd16(BIG + 10), 16);
	cr_assert_eq(memcmp(gm_ptr(&gm, BIG + 12, NET_MAX_FRAME), frame + 12, NET_MAX_FRAME), 0);
	cr_assert_eq(cnt.rx_bytes, NET_MAX_FRAME);
	cr_assert_eq(rx.nr, 0);
	cr_assert_eq(rx.room, 0);
}

Test(net_io, rx_mrg_full_ring)
{
	/* A ring of sixteen 1 KiB buffers can never hold 64 KiB: read into what there is. */
	net_rx_init(&rx, BIT(VIRTIO_NET_F_MRG_RXBUF) | BIT(VIRTIO_NET_F_GUEST_TSO6), 1500);
	for (uint16_t i = 0; i < 15; i++)
		rx_chain(i, 1024);
	tap_send(3000, 0, 8);
	cr_assert_eq(net_rx_fill(&vq, &gm, &c, &rx, &cnt), 0);
	rx_chain(15, 1024);
	cr_assert_eq(net_rx_fill(&vq, &gm, &c, &rx, &cnt), 1);
	cr_assert_eq(rx.nr, QSZ);
	cr_assert_eq(rx_frame(), 3);
	assert_used(2, 2, 3000 - 2048);
	assert_frame_at(BUF + 0x1000, 1024, 1024, 0, 0);
	cr_assert_eq(rd16(BUF + 10), 3);
}

/* ---- misc ---- */

Test(net_io, default_mac)
{
	uint8_t a[6], b[6];
	uint32_t h = 2166136261u;
	const char *key = "tap0";

	/* FNV-1a over "tap0" and index 2 as four little-endian bytes. */
	for (const char *p = key; *p; p++)
		h = (h ^ (uint8_t)*p) * 16777619u;
	h = (h ^ 2) * 16777619u;
	for (int i = 0; i < 3; i++)
		h = (h ^ 0) * 16777619u;
	net_default_mac("tap0", 2, a);
	cr_assert_eq(a[0], 0x52);
	cr_assert_eq(a[1], 0x54);
	cr_assert_eq(a[2], 0x00);
	cr_assert_eq(a[3], (uint8_t)(h >> 16));
	cr_assert_eq(a[4], (uint8_t)(h >> 8));
	cr_assert_eq(a[5], (uint8_t)h);
	cr_assert_eq(a[0] & 3, 2);	/* locally administered, unicast */
	net_default_mac("tap0", 2, b);
	cr_assert_eq(memcmp(a, b, 6), 0);
	net_default_mac("tap0", 3, b);
	cr_assert_neq(memcmp(a, b, 6), 0);
	net_default_mac("tap1", 2, b);
	cr_assert_neq(memcmp(a, b, 6), 0);
	net_default_mac("fd5", 0, b);
	cr_assert_neq(memcmp(a, b, 6), 0);
}

Test(net_io, tap_offload_flags)
{
	const uint64_t csum = BIT(VIRTIO_NET_F_GUEST_CSUM);

	cr_assert_eq(tap_offload_flags(0), 0);
	/* Segmentation offloads need checksum offload (the kernel refuses them alone). */
	cr_assert_eq(tap_offload_flags(BIT(VIRTIO_NET_F_GUEST_TSO4)), 0);
	cr_assert_eq(tap_offload_flags(csum), TUN_F_CSUM);
	cr_assert_eq(tap_offload_flags(csum | BIT(VIRTIO_NET_F_GUEST_TSO4)),
		     TUN_F_CSUM | TUN_F_TSO4);
	cr_assert_eq(tap_offload_flags(csum | BIT(VIRTIO_NET_F_GUEST_TSO6)),
		     TUN_F_CSUM | TUN_F_TSO6);
	cr_assert_eq(tap_offload_flags(csum | BIT(VIRTIO_NET_F_GUEST_UFO)),
		     TUN_F_CSUM | TUN_F_UFO);
	cr_assert_eq(tap_offload_flags(csum | BIT(VIRTIO_NET_F_GUEST_TSO4) |
				       BIT(VIRTIO_NET_F_GUEST_ECN)),
		     TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO_ECN);
	/* Host-side (transmit) features do not change what the TAP may hand the guest. */
	cr_assert_eq(tap_offload_flags(csum | BIT(VIRTIO_NET_F_HOST_TSO4) |
				       BIT(VIRTIO_NET_F_CSUM) | BIT(VIRTIO_NET_F_MRG_RXBUF)),
		     TUN_F_CSUM);
}

/* ---- tap.c on a real TAP (skipped where one cannot be created) ---- */

static char tapname[IF_NAMESIZE];
static bool have_tap;

static int sh(const char *fmt, const char *arg)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), fmt, arg);
	return system(cmd);
}

static void tap_suite_setup(void)
{
	setup();
	snprintf(tapname, sizeof(tapname), "kvmmt%u", (unsigned int)getpid() % 100000000);
	have_tap = !access("/dev/net/tun", R_OK | W_OK) &&
		   !sh("ip tuntap add dev %s mode tap >/dev/null 2>&1", tapname);
}

static void tap_suite_teardown(void)
{
	if (have_tap)
		sh("ip link del %s >/dev/null 2>&1", tapname);
	teardown();
}

TestSuite(tap, .init = tap_suite_setup, .fini = tap_suite_teardown);

/*
 * Skips a test that needs a TAP, with a note on stderr. Not cr_log_warn(): Criterion 2.4
 * exits non-zero after a warning, which would turn the skip into a failure.
 */
static void skip_because(const char *why)
{
	fprintf(stderr, "test_net_io: WARNING: %s: TAP test skipped\n", why);
	cr_skip_test("%s", why);
}

static void need_tap(void)
{
	if (!have_tap)
		skip_because("cannot create a TAP (/dev/net/tun, root and 'ip tuntap add' needed)");
}

static int tun_fd(short flags, const char *name)
{
	struct ifreq ifr = { .ifr_flags = flags };
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);

	cr_assert_geq(fd, 0);
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	cr_assert_eq(ioctl(fd, TUNSETIFF, &ifr), 0, "TUNSETIFF: %s", strerror(errno));
	return fd;
}

static void assert_tap_fd(int fd)
{
	int hdr = 0;

	cr_assert(fcntl(fd, F_GETFL) & O_NONBLOCK);
	cr_assert(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	cr_assert_eq(ioctl(fd, TUNGETVNETHDRSZ, &hdr), 0);
	cr_assert_eq(hdr, 12);
}

Test(tap, missing_interface)
{
	struct tap t;
	char name[IF_NAMESIZE];

	snprintf(name, sizeof(name), "kvmmx%u", (unsigned int)getpid() % 100000000);
	cr_assert_eq(tap_open(&t, name), -ENODEV);
	cr_assert_eq(t.fd, -1);
	cr_assert_eq(if_nametoindex(name), 0);		/* not created either */
	cr_assert_eq(tap_open(&t, "a-name-longer-than-15"), -EINVAL);
	cr_assert_eq(tap_adopt(&t, 1000), -EBADF);		/* not open */
	cr_assert_eq(t.fd, -1);
}

Test(tap, open_by_name)
{
	const uint64_t all = BIT(VIRTIO_NET_F_GUEST_CSUM) | BIT(VIRTIO_NET_F_GUEST_TSO4) |
			     BIT(VIRTIO_NET_F_GUEST_TSO6) | BIT(VIRTIO_NET_F_GUEST_UFO);
	struct tap t, t2;
	unsigned int mtu = 0;

	need_tap();
	cr_assert_eq(tap_open(&t, tapname), 0);
	assert_tap_fd(t.fd);
	cr_assert_str_eq(t.name, tapname);
	cr_assert_eq(tap_mtu(&t, &mtu), 0);
	cr_assert_eq(mtu, 1500);
	cr_assert_eq(tap_set_offload(&t, all), 0);
	cr_assert_eq(tap_set_offload(&t, 0), 0);
	/* A single-queue TAP takes one user at a time. */
	cr_assert_eq(tap_open(&t2, tapname), -EBUSY);
	cr_assert_eq(t2.fd, -1);
	tap_close(&t);
	cr_assert_eq(t.fd, -1);
	tap_close(&t);
}

Test(tap, adopt)
{
	const short base = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	struct tap t;
	int fd, p[2];

	need_tap();
	fd = tun_fd(IFF_TAP | IFF_NO_PI, tapname);		/* no vnet headers */
	cr_assert_eq(tap_adopt(&t, fd), -EINVAL);
	cr_assert_neq(fcntl(fd, F_GETFD), -1);			/* left open */
	close(fd);
	/* With packet information: 'ip tuntap add' makes IFF_NO_PI TAPs, so use a TAP of our
	 * own (it goes away with its fd). */
	{
		struct ifreq ifr = { 0 };
		char pi[IF_NAMESIZE];

		snprintf(pi, sizeof(pi), "kvmmp%u", (unsigned int)getpid() % 100000000);
		fd = tun_fd(IFF_TAP | IFF_VNET_HDR, pi);
		cr_assert_eq(ioctl(fd, TUNGETIFF, &ifr), 0);
		if (ifr.ifr_flags & IFF_NO_PI)
			cr_log_info("this kernel reports IFF_NO_PI unasked: check skipped");
		else
			cr_assert_eq(tap_adopt(&t, fd), -EINVAL);
		close(fd);
	}
	fd = tun_fd(IFF_TUN | IFF_NO_PI | IFF_VNET_HDR, "");	/* a TUN, not a TAP */
	cr_assert_eq(tap_adopt(&t, fd), -EINVAL);
	close(fd);
	fd = open("/dev/net/tun", O_RDWR);			/* attached to nothing */
	cr_assert_eq(tap_adopt(&t, fd), -EBADFD);
	close(fd);
	cr_assert_eq(pipe(p), 0);
	cr_assert_eq(tap_adopt(&t, p[0]), -EINVAL);
	close(p[0]);
	close(p[1]);

	fd = open("/dev/net/tun", O_RDWR);			/* blocking, inheritable */
	cr_assert_geq(fd, 0);
	{
		struct ifreq ifr = { .ifr_flags = base };

		snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", tapname);
		cr_assert_eq(ioctl(fd, TUNSETIFF, &ifr), 0);
	}
	cr_assert_eq(tap_adopt(&t, fd), 0);
	cr_assert_neq(t.fd, fd, "the device works on a duplicate");
	cr_assert_str_eq(t.name, tapname);
	assert_tap_fd(t.fd);
	tap_close(&t);
	cr_assert_eq(t.fd, -1);
	cr_assert_geq(fcntl(fd, F_GETFD), 0, "the caller's fd stays open");
	close(fd);
}

/*
 * Brings the test TAP up (IPv6 off, so the kernel sends nothing of its own) and waits until
 * the kernel sees it up: until then (linkwatch is asynchronous) frames sent to it are
 * dropped. Call with the TAP attached (no carrier without an fd).
 */
static void link_up(void)
{
	char path[96], state[16] = "";
	FILE *f;

	snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/disable_ipv6", tapname);
	f = fopen(path, "w");
	if (f) {
		fputs("1", f);
		fclose(f);
	}
	cr_assert_eq(sh("ip link set %s up", tapname), 0);
	snprintf(path, sizeof(path), "/sys/class/net/%s/operstate", tapname);
	for (int i = 0; i < 300 && strncmp(state, "up", 2); i++) {
		f = fopen(path, "r");
		cr_assert_not_null(f);
		if (!fgets(state, sizeof(state), f))
			state[0] = 0;
		fclose(f);
		usleep(10000);
	}
	cr_assert_str_eq(state, "up\n", "%s never came up", tapname);
	usleep(50000);
}

/* Waits up to a second for FD to be readable; false on timeout. */
static bool readable(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, 1000) == 1;
}

Test(tap, frames_both_ways)
{
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL) };
	uint8_t eth[114], got[256];
	struct tap t;
	bool found = false;
	int ps;

	need_tap();
	cr_assert_eq(tap_open(&t, tapname), 0);
	link_up();
	ps = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));
	if (ps < 0) {
		tap_close(&t);
		skip_because("no AF_PACKET socket");
	}
	sll.sll_ifindex = if_nametoindex(tapname);
	cr_assert_eq(bind(ps, (struct sockaddr *)&sll, sizeof(sll)), 0);

	/* Host -> guest: a frame sent out of the interface lands in a receive chain. */
	memset(eth, 0xff, 6);
	memcpy(eth + 6, "\x02\x00\x00\x00\x00\x01\x88\xb5", 8);
	for (unsigned int i = 14; i < sizeof(eth); i++)
		eth[i] = (uint8_t)i;
	cr_assert_eq(send(ps, eth, sizeof(eth), 0), (ssize_t)sizeof(eth));
	net_rx_init(&rx, 0, 1500);
	for (uint16_t i = 0; i < 8; i++)
		rx_chain(i, 2048);
	for (unsigned int i = 0; i < 8 && !found; i++) {
		uint16_t head;
		uint64_t gpa;
		ssize_t n;

		cr_assert_eq(net_rx_fill(&vq, &gm, &c, &rx, &cnt), 1);
		head = rx.chain[0].head;
		cr_assert_eq(head, i);
		gpa = BUF + head * 0x1000ULL;
		cr_assert(readable(t.fd), "nothing arrived on the TAP");
		n = net_rx_read(&rx, t.fd);
		cr_assert_gt(n, 12, "read: %zd", n);
		cr_assert_eq(net_rx_complete(&vq, &gm, &rx, n, &cnt), 1);
		cr_assert_eq(gm_read(&gm, gpa, got, n), 0);
		if (n != 12 + sizeof(eth) || memcmp(got + 12, eth, sizeof(eth)))
			continue;	/* someone else's frame */
		found = true;
		assert_used(i, head, n);
		cr_assert_eq(got[1], VIRTIO_NET_HDR_GSO_NONE);
		cr_assert_eq(got[10] | got[11] << 8, 1);	/* num_buffers */
	}
	cr_assert(found, "our frame never came out of the TAP");

	/* Guest -> host: a transmit chain written to the TAP arrives on the interface. */
	memset(frame, 0, 12);
	memcpy(frame + 12, eth, sizeof(eth));
	frame[12 + 13] = 0xb6;
	cr_assert_eq(gm_write(&gm, BIG, frame, 12 + sizeof(eth)), 0);
	memset(&c, 0, sizeof(c));
	c.nr_out = 1;
	c.out_len = 12 + sizeof(eth);
	c.bufs[0] = (struct vq_buf){ .gpa = BIG, .len = 12 + sizeof(eth) };
	cr_assert_eq(net_tx_build(&gm, 0, &c, &tx), 0);
	cr_assert_eq(writev(t.fd, tx.iov, tx.nr_iov), (ssize_t)(12 + sizeof(eth)));
	found = false;
	while (!found && readable(ps)) {
		ssize_t n = recv(ps, got, sizeof(got), 0);

		found = n == sizeof(eth) && !memcmp(got, frame + 12, sizeof(eth));
	}
	cr_assert(found, "the transmitted frame never reached the interface");
	close(ps);
	tap_close(&t);
}

/* ---- the device (net.c) through the virtio-mmio registers, with its worker ---- */

#define RXQ		0x180000ULL	/* rings of the receive queue */
#define TXQ		0x190000ULL	/* and of the transmit queue */

static struct virtio_transport *t;

static uint32_t mmio_rd(uint64_t off)
{
	uint32_t v = 0;

	virtio_mmio_access(t, off, (uint8_t *)&v, 4, false);
	return v;
}

static void mmio_wr(uint64_t off, uint32_t v)
{
	virtio_mmio_access(t, off, (uint8_t *)&v, 4, true);
}

static uint32_t cfg_rd(uint32_t off, uint32_t len)
{
	uint32_t v = 0;

	virtio_mmio_access(t, VIRTIO_MMIO_CONFIG + off, (uint8_t *)&v, len, false);
	return v;
}

static void dev_queue(unsigned int q, uint64_t ring)
{
	mmio_wr(VIRTIO_MMIO_QUEUE_SEL, q);
	cr_assert_eq(mmio_rd(VIRTIO_MMIO_QUEUE_NUM_MAX), 256);
	mmio_wr(VIRTIO_MMIO_QUEUE_NUM, QSZ);
	mmio_wr(VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)ring);
	mmio_wr(VIRTIO_MMIO_QUEUE_DRIVER_LOW, (uint32_t)(ring + 0x1000));
	mmio_wr(VIRTIO_MMIO_QUEUE_DEVICE_LOW, (uint32_t)(ring + 0x2000));
	mmio_wr(VIRTIO_MMIO_QUEUE_READY, 1);
}

/* Waits up to two seconds for the used index of RING to reach WANT. */
static bool used_reaches(uint64_t ring, uint16_t want)
{
	for (int i = 0; i < 200; i++) {
		if (rd16(ring + 0x2000 + 2) == want)
			return true;
		usleep(10000);
	}
	return false;
}

/* Sends an Ethernet frame with ETHERTYPE 0x88b5 and 100 payload bytes from the host side. */
static void host_send(int ps, uint8_t *eth)
{
	memset(eth, 0xff, 6);
	memcpy(eth + 6, "\x02\x00\x00\x00\x00\x01\x88\xb5", 8);
	for (unsigned int i = 14; i < 114; i++)
		eth[i] = (uint8_t)(i * 3);
	cr_assert_eq(send(ps, eth, 114, 0), 114, "send: %s", strerror(errno));
}

Test(tap, device)
{
	const uint64_t feat = VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_F_EVENT_IDX) |
			      BIT(VIRTIO_NET_F_MRG_RXBUF) | BIT(VIRTIO_NET_F_MAC) |
			      BIT(VIRTIO_NET_F_CSUM) | BIT(VIRTIO_NET_F_GUEST_CSUM);
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL) };
	struct net_config nc = { .tap = tapname, .fd = -1 };
	uint16_t rx_idx = 0, tx_idx = 0;
	uint8_t eth[114], got[256], mac[6];
	struct virtio_dev *d;
	bool found = false;
	int irq, ps;

	need_tap();
	cr_assert_eq(virtio_net_new(&nc, 3, &d), 0);
	link_up();
	ps = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));
	if (ps < 0)
		skip_because("no AF_PACKET socket");
	sll.sll_ifindex = if_nametoindex(tapname);
	cr_assert_eq(bind(ps, (struct sockaddr *)&sll, sizeof(sll)), 0);
	cr_assert_eq(d->device_id, VIRTIO_ID_NET);
	cr_assert_eq(d->features, 0x3001dda3ULL);
	cr_assert_eq(d->nr_queues, 2);
	t = virtio_mmio_test_new(d, &gm, &irq);
	cr_assert_not_null(t);
	for (unsigned int q = 0; q < 2; q++)
		t->queue_fd[q] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	cr_assert_eq(virtio_worker_start(t), 0);

	/* Config space: the derived MAC, link up, one queue pair. */
	net_default_mac(tapname, 3, mac);
	for (unsigned int i = 0; i < 6; i++)
		cr_assert_eq(cfg_rd(i, 1), mac[i]);
	cr_assert_eq(cfg_rd(6, 2), VIRTIO_NET_S_LINK_UP);
	cr_assert_eq(cfg_rd(8, 2), 1);
	cr_assert_eq(cfg_rd(8, 4), 0);		/* beyond the 10 bytes: refused */

	mmio_wr(VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	mmio_wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	mmio_wr(VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)feat);
	mmio_wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	mmio_wr(VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(feat >> 32));
	mmio_wr(VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
				    VIRTIO_STATUS_FEATURES_OK);
	dev_queue(0, RXQ);
	dev_queue(1, TXQ);
	mmio_wr(VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
				    VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK);
	cr_assert_eq(mmio_rd(VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET, 0);

	/* A frame while the driver has no receive buffers waits in the TAP... */
	host_send(ps, eth);
	usleep(100000);
	cr_assert_eq(rd16(RXQ + 0x2002), 0);
	/* ...and arrives once buffers come with a kick (1530 bytes of room wanted). */
	desc_at(RXQ, 0, BUF, 1024, F_WRITE, 0);
	desc_at(RXQ, 1, BUF + 0x1000, 1024, F_WRITE, 0);
	publish_in(RXQ, &rx_idx, 0);
	publish_in(RXQ, &rx_idx, 1);
	mmio_wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	cr_assert(used_reaches(RXQ, 1), "the waiting frame was not delivered");
	cr_assert_eq(rd32(RXQ + 0x2004), 0);
	cr_assert_eq(rd32(RXQ + 0x2008), 12 + 114);
	cr_assert_eq(gm_read(&gm, BUF, got, 12 + 114), 0);
	cr_assert_eq(memcmp(got + 12, eth, 114), 0);
	cr_assert_eq(got[10] | got[11] << 8, 1);
	cr_assert(mmio_rd(VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_MMIO_INT_VRING);

	/* Transmit: header and frame in two buffers; the frame shows up on the interface. */
	memset(frame, 0, 12);
	memcpy(frame + 12, eth, 114);
	frame[12 + 13] = 0xb6;
	cr_assert_eq(gm_write(&gm, BIG, frame, 12 + 114), 0);
	desc_at(TXQ, 0, BIG, 12, F_NEXT, 1);
	desc_at(TXQ, 1, BIG + 12, 114, 0, 0);
	publish_in(TXQ, &tx_idx, 0);
	mmio_wr(VIRTIO_MMIO_QUEUE_NOTIFY, 1);
	cr_assert(used_reaches(TXQ, 1), "the transmit chain was not completed");
	cr_assert_eq(rd32(TXQ + 0x2008), 0);
	while (!found && readable(ps)) {
		ssize_t n = recv(ps, got, sizeof(got), 0);

		found = n == 114 && !memcmp(got, frame + 12, 114);
	}
	cr_assert(found, "the transmitted frame never reached the interface");

	/* A malformed transmit chain (writable buffer) completes too, as a drop. */
	desc_at(TXQ, 2, BIG, 12 + 114, F_NEXT, 3);
	desc_at(TXQ, 3, BUF + 0x8000, 64, F_WRITE, 0);
	publish_in(TXQ, &tx_idx, 2);
	mmio_wr(VIRTIO_MMIO_QUEUE_NOTIFY, 1);
	cr_assert(used_reaches(TXQ, 2));
	cr_assert_eq(rd32(TXQ + 0x200c), 2);

	/* Interface deleted under the device: no spinning, transmit still completes. */
	cr_assert_eq(sh("ip link del %s", tapname), 0);
	have_tap = false;
	usleep(100000);
	publish_in(TXQ, &tx_idx, 0);
	mmio_wr(VIRTIO_MMIO_QUEUE_NOTIFY, 1);
	cr_assert(used_reaches(TXQ, 3), "transmit stalled after the TAP went away");

	/* Reset, then teardown as at VM exit. */
	mmio_wr(VIRTIO_MMIO_STATUS, 0);
	cr_assert_eq(mmio_rd(VIRTIO_MMIO_STATUS), 0);
	virtio_mmio_test_free(t);
	d->ops->destroy(d);
	close(ps);
}
