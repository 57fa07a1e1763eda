/*
 * Unit tests for virtio-vsock with the hybrid vsock back-end: packet headers and their
 * checks, credit arithmetic (32-bit wrap-around included), the CONNECT line, the connection
 * table and state machine, the guest-data ring; and the whole device end to end without a
 * guest: the test plays the guest driver through the virtio-mmio registers and fake rings in
 * fake guest RAM (the device's worker thread running), and the host side through real Unix
 * sockets in a temporary directory.
 */
#include <criterion/criterion.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "devices.h"
#include "guest_mem.h"
#include "mmio.h"
#include "transport.h"
#include "vsock_conn.h"
#include "vsock_dev.h"
#include "vsock_pkt.h"

#define MiB		(1ULL << 20)
#define GCID		3ULL

static struct guest_mem gm;
#include "fake_ring.h"

/* ---- packets ---- */

static struct vsock_hdr hdr(uint16_t op, uint32_t src_port, uint32_t dst_port, uint32_t len)
{
	return (struct vsock_hdr){
		.src_cid = GCID, .dst_cid = VSOCK_HOST_CID, .src_port = src_port,
		.dst_port = dst_port, .len = len, .type = VSOCK_TYPE_STREAM, .op = op,
		.buf_alloc = 65536,
	};
}

Test(vsock_pkt, layout_round_trip)
{
	struct vsock_hdr h = {
		.src_cid = 0x0102030405060708ULL, .dst_cid = 2, .src_port = 0x11223344,
		.dst_port = 0x55667788, .len = 0x99aabbcc, .type = 1, .op = 5,
		.flags = 0xdeadbeef, .buf_alloc = 0x40000, .fwd_cnt = 0xfffffff0,
	}, back;
	uint8_t raw[VSOCK_HDR_LEN];

	vsock_hdr_encode(&h, raw);
	cr_assert_eq(raw[0], 0x08);
	cr_assert_eq(raw[7], 0x01);
	cr_assert_eq(raw[8], 2);
	cr_assert_eq(raw[16], 0x44);
	cr_assert_eq(raw[20], 0x88);
	cr_assert_eq(raw[24], 0xcc);
	cr_assert_eq(raw[28], 1);
	cr_assert_eq(raw[30], 5);
	cr_assert_eq(raw[32], 0xef);
	cr_assert_eq(raw[38], 0x04);
	cr_assert_eq(raw[40], 0xf0);
	cr_assert_eq(raw[43], 0xff);
	vsock_hdr_decode(raw, &back);
	cr_assert_eq(back.src_cid, h.src_cid);
	cr_assert_eq(back.dst_cid, h.dst_cid);
	cr_assert_eq(back.src_port, h.src_port);
	cr_assert_eq(back.dst_port, h.dst_port);
	cr_assert_eq(back.len, h.len);
	cr_assert_eq(back.type, h.type);
	cr_assert_eq(back.op, h.op);
	cr_assert_eq(back.flags, h.flags);
	cr_assert_eq(back.buf_alloc, h.buf_alloc);
	cr_assert_eq(back.fwd_cnt, h.fwd_cnt);
}

Test(vsock_pkt, checks)
{
	struct vsock_hdr h = hdr(VSOCK_OP_RW, 1, 2, 100);
	const char *why;

	cr_assert_eq(vsock_hdr_check(&h, 100, GCID, &why), VSOCK_PKT_OK);
	cr_assert_null(why);
	cr_assert_eq(vsock_hdr_check(&h, 99, GCID, &why), VSOCK_PKT_DROP);	/* len > data */
	cr_assert_not_null(why);
	cr_assert_eq(vsock_hdr_check(&h, 100, GCID + 1, NULL), VSOCK_PKT_DROP);	/* src_cid */
	h.len = VSOCK_MAX_PAYLOAD + 1;
	cr_assert_eq(vsock_hdr_check(&h, 1ULL << 32, GCID, NULL), VSOCK_PKT_DROP);
	h = hdr(VSOCK_OP_REQUEST, 1, 2, 0);
	h.dst_cid = 1;
	cr_assert_eq(vsock_hdr_check(&h, 0, GCID, NULL), VSOCK_PKT_RST);
	h.dst_cid = GCID;
	cr_assert_eq(vsock_hdr_check(&h, 0, GCID, NULL), VSOCK_PKT_RST);
	h = hdr(VSOCK_OP_REQUEST, 1, 2, 0);
	h.type = 2;					/* SEQPACKET: not offered */
	cr_assert_eq(vsock_hdr_check(&h, 0, GCID, NULL), VSOCK_PKT_RST);
	h = hdr(0, 1, 2, 0);
	cr_assert_eq(vsock_hdr_check(&h, 0, GCID, NULL), VSOCK_PKT_RST);
	h.op = 8;
	cr_assert_eq(vsock_hdr_check(&h, 0, GCID, NULL), VSOCK_PKT_RST);
	h = hdr(VSOCK_OP_RST, 1, 2, 0);
	cr_assert_eq(vsock_hdr_check(&h, 0, GCID, NULL), VSOCK_PKT_OK);
	h.type = 7;					/* a bad RST is never answered */
	cr_assert_eq(vsock_hdr_check(&h, 0, GCID, NULL), VSOCK_PKT_DROP);
	for (uint16_t op = 1; op <= 7; op++) {
		h = hdr(op, 1, 2, 0);
		cr_assert_eq(vsock_hdr_check(&h, 0, GCID, NULL), VSOCK_PKT_OK, "op %u", op);
	}
}

Test(vsock_pkt, credit)
{
	cr_assert_eq(vsock_credit(1000, 0, 0), 1000);
	cr_assert_eq(vsock_credit(1000, 600, 100), 500);
	cr_assert_eq(vsock_credit(1000, 1100, 100), 0);
	cr_assert_eq(vsock_credit(1000, 1200, 100), 0);		/* over-committed */
	cr_assert_eq(vsock_credit(1000, 100, 200), 0);		/* fwd_cnt ahead: nonsense */
	/* tx_cnt wrapped past 2^32, fwd_cnt not yet. */
	cr_assert_eq(vsock_credit(1000, 0x10, 0xfffffff0), 1000 - 0x20);
	cr_assert_eq(vsock_credit(0x40000, 0x3ffff, 0xffffffff), 0);
	cr_assert_eq(vsock_credit(0xffffffff, 5, 5), 0xffffffff);
}

static int parse(const char *s, uint32_t *port)
{
	return vsock_parse_connect(s, strlen(s), port);
}

Test(vsock_pkt, connect_line)
{
	char longl[VSOCK_LINE_MAX + 8];
	uint32_t p = 0;

	cr_assert_eq(parse("CONNECT 1024\n", &p), 0);
	cr_assert_eq(p, 1024);
	cr_assert_eq(parse("connect 1025\n", &p), 0);
	cr_assert_eq(p, 1025);
	cr_assert_eq(parse("CoNnEcT 7\r\n", &p), 0);
	cr_assert_eq(p, 7);
	cr_assert_eq(parse("CONNECT 4294967295\n", &p), 0);
	cr_assert_eq(p, 4294967295u);
	cr_assert_eq(parse("CONNECT 0\n", &p), 0);
	cr_assert_eq(p, 0);
	p = 99;
	cr_assert_eq(parse("CONNECT 4294967296\n", &p), -EINVAL);
	cr_assert_eq(parse("CONNECT 1024", &p), -EINVAL);		/* no newline */
	cr_assert_eq(parse("CONNECT \n", &p), -EINVAL);
	cr_assert_eq(parse("CONNECT -1\n", &p), -EINVAL);
	cr_assert_eq(parse("CONNECT +1\n", &p), -EINVAL);
	cr_assert_eq(parse("CONNECT  1\n", &p), -EINVAL);
	cr_assert_eq(parse("CONNECT 1 \n", &p), -EINVAL);
	cr_assert_eq(parse("CONNECT 12a\n", &p), -EINVAL);
	cr_assert_eq(parse("CONNECT 00000000001\n", &p), -EINVAL);
	cr_assert_eq(parse("CONNEC 1\n", &p), -EINVAL);
	cr_assert_eq(parse("CONNECTX1\n", &p), -EINVAL);
	cr_assert_eq(parse("GET / HTTP/1.1\n", &p), -EINVAL);
	cr_assert_eq(parse("\n", &p), -EINVAL);
	cr_assert_eq(vsock_parse_connect("CONNECT 1\n\0", 11, &p), -EINVAL);
	cr_assert_eq(vsock_parse_connect("CONNECT 1\0\n", 11, &p), -EINVAL);
	memset(longl, '0', sizeof(longl));
	memcpy(longl, "CONNECT ", 8);
	longl[VSOCK_LINE_MAX] = '\n';		/* 65 bytes */
	cr_assert_eq(vsock_parse_connect(longl, VSOCK_LINE_MAX + 1, &p), -EINVAL);
	cr_assert_eq(p, 99);
}

/* ---- connections ---- */

static struct vsock_table tab;

static void tab_setup(void)
{
	vsock_table_init(&tab);
}

static void tab_teardown(void)
{
	struct vsock_conn *c;

	while ((c = vsock_table_next(&tab, NULL)))
		vsock_conn_kill(&tab, c);
	vsock_table_reap(&tab);
}

TestSuite(vsock_conn, .init = tab_setup, .fini = tab_teardown);

/* A connection as the listener makes it: keyed, REQUEST owed. */
static struct vsock_conn *host_conn(uint32_t guest_port)
{
	struct vsock_conn *c = vsock_conn_new(&tab, 42);
	uint32_t local;

	cr_assert_not_null(c);
	cr_assert_eq(vsock_table_alloc_port(&tab, guest_port, &local), 0);
	cr_assert_eq(vsock_table_insert(&tab, c, local, guest_port), 0);
	c->state = VSOCK_CONNECTING;
	c->pending = VSOCK_P_REQUEST;
	return c;
}

/* C established with the guest's buffer BUF. */
static struct vsock_conn *open_conn(uint32_t guest_port, uint32_t buf)
{
	struct vsock_conn *c = host_conn(guest_port);
	struct vsock_hdr h = hdr(VSOCK_OP_RESPONSE, guest_port, c->local_port, 0);
	uint32_t f;

	cr_assert_eq(vsock_conn_next_ctl(c, &f), VSOCK_OP_REQUEST);
	h.buf_alloc = buf;
	cr_assert_eq(vsock_conn_recv(c, &h), VSOCK_ACT_OPENED);
	return c;
}

Test(vsock_conn, table_and_ports)
{
	struct vsock_conn *a = host_conn(1024), *b = host_conn(1024), *x;
	uint32_t p;

	cr_assert_eq(a->local_port, VSOCK_PORT_FIRST);
	cr_assert_eq(b->local_port, VSOCK_PORT_FIRST + 1);
	cr_assert_eq(vsock_table_find(&tab, a->local_port, 1024), a);
	cr_assert_eq(vsock_table_find(&tab, b->local_port, 1024), b);
	cr_assert_null(vsock_table_find(&tab, a->local_port, 1025));
	x = vsock_conn_new(&tab, 43);
	cr_assert_eq(vsock_table_insert(&tab, x, a->local_port, 1024), -EEXIST);
	cr_assert_eq(vsock_table_insert(&tab, x, 2000, 5000), 0);
	cr_assert_eq(tab.nr, 3);
	/* A port in use for that guest port is skipped. */
	tab.next_port = b->local_port;
	cr_assert_eq(vsock_table_alloc_port(&tab, 1024, &p), 0);
	cr_assert_eq(p, b->local_port + 1);
	/* Near the top it wraps back, never handing out UINT32_MAX (VMADDR_PORT_ANY). */
	tab.next_port = UINT32_MAX - 1;
	cr_assert_eq(vsock_table_alloc_port(&tab, 1024, &p), 0);
	cr_assert_eq(p, UINT32_MAX - 1);
	cr_assert_eq(tab.next_port, VSOCK_PORT_FIRST);
	vsock_conn_kill(&tab, a);
	cr_assert_eq(a->state, VSOCK_DEAD);
	cr_assert_null(vsock_table_find(&tab, VSOCK_PORT_FIRST, 1024));
	cr_assert_eq(tab.nr, 2);
	cr_assert_eq(vsock_table_next(&tab, NULL), b);
	vsock_table_reap(&tab);
}

Test(vsock_conn, host_initiated_lifecycle)
{
	struct vsock_conn *c = host_conn(1024);
	struct vsock_hdr h, out;
	uint32_t f;

	cr_assert_eq(vsock_conn_next_ctl(c, &f), VSOCK_OP_REQUEST);
	vsock_conn_hdr(c, GCID, VSOCK_OP_REQUEST, 0, 0, &out);
	cr_assert_eq(out.src_cid, 2);
	cr_assert_eq(out.dst_cid, GCID);
	cr_assert_eq(out.src_port, c->local_port);
	cr_assert_eq(out.dst_port, 1024);
	cr_assert_eq(out.type, VSOCK_TYPE_STREAM);
	cr_assert_eq(out.buf_alloc, VSOCK_BUF_ALLOC);
	cr_assert_eq(vsock_conn_next_ctl(c, &f), 0);

	h = hdr(VSOCK_OP_RESPONSE, 1024, c->local_port, 0);
	cr_assert_eq(vsock_conn_recv(c, &h), VSOCK_ACT_OPENED);
	cr_assert_eq(c->state, VSOCK_ESTABLISHED);
	cr_assert_eq(vsock_conn_credit(c), 65536);

	h = hdr(VSOCK_OP_RW, 1024, c->local_port, 300);
	cr_assert_eq(vsock_conn_recv(c, &h), VSOCK_ACT_DATA);
	cr_assert_eq(c->rx_cnt, 300);
	h.len = 0;
	cr_assert_eq(vsock_conn_recv(c, &h), VSOCK_ACT_NONE);

	h = hdr(VSOCK_OP_CREDIT_REQUEST, 1024, c->local_port, 0);
	cr_assert_eq(vsock_conn_recv(c, &h), VSOCK_ACT_NONE);
	cr_assert_eq(vsock_conn_next_ctl(c, &f), VSOCK_OP_CREDIT_UPDATE);
	cr_assert_eq(vsock_conn_next_ctl(c, &f), 0);

	h = hdr(VSOCK_OP_SHUTDOWN, 1024, c->local_port, 0);
	h.flags = VSOCK_SHUT_SEND;
	cr_assert_eq(vsock_conn_recv(c, &h), VSOCK_ACT_SHUT_WR);
	h = hdr(VSOCK_OP_RW, 1024, c->local_port, 1);
	cr_assert_eq(vsock_conn_recv(c, &h), VSOCK_ACT_RESET);	/* data after SHUT_SEND */
	h = hdr(VSOCK_OP_SHUTDOWN, 1024, c->local_port, 0);
	h.flags = VSOCK_SHUT_RCV;
	cr_assert_eq(vsock_conn_recv(c, &h), VSOCK_ACT_DRAIN);
	cr_assert_eq(c->state, VSOCK_DRAINING);
	h = hdr(VSOCK_OP_RW, 1024, c->local_port, 0);
	cr_assert_eq(vsock_conn_recv(c, &h), VSOCK_ACT_NONE);
	h = hdr(VSOCK_OP_RST, 1024, c->local_port, 0);
	cr_assert_eq(vsock_conn_recv(c, &h), VSOCK_ACT_DROP);
}

Test(vsock_conn, connecting_violations)
{
	struct vsock_conn *c = host_conn(1024);
	struct vsock_hdr h = hdr(VSOCK_OP_RESPONSE, 1024, c->local_port, 0);
	uint32_t f;

	/* A RESPONSE before the REQUEST went out cannot be an answer. */
	cr_assert_eq(vsock_conn_recv(c, &h), VSOCK_ACT_RESET);
	cr_assert_eq(vsock_conn_next_ctl(c, &f), VSOCK_OP_REQUEST);
	h.op = VSOCK_OP_RW;
	cr_assert_eq(vsock_conn_recv(c, &h), VSOCK_ACT_RESET);
	h.op = VSOCK_OP_REQUEST;
	cr_assert_eq(vsock_conn_recv(c, &h), VSOCK_ACT_RESET);
	h.op = VSOCK_OP_RST;
	cr_assert_eq(vsock_conn_recv(c, &h), VSOCK_ACT_DROP);	/* nothing listens */
	c = open_conn(1025, 4096);
	h = hdr(VSOCK_OP_REQUEST, 1025, c->local_port, 0);
	cr_assert_eq(vsock_conn_recv(c, &h), VSOCK_ACT_RESET);
	h.op = VSOCK_OP_RESPONSE;
	cr_assert_eq(vsock_conn_recv(c, &h), VSOCK_ACT_RESET);
}

Test(vsock_conn, closing)
{
	struct vsock_conn *c = open_conn(1024, 4096);
	struct vsock_hdr h = hdr(VSOCK_OP_RW, 1024, c->local_port, 10);
	uint32_t f;

	c->state = VSOCK_CLOSING;		/* what vsock_host_ended() leaves */
	c->pending = VSOCK_P_SHUTDOWN;
	cr_assert_eq(vsock_conn_next_ctl(c, &f), VSOCK_OP_SHUTDOWN);
	cr_assert_eq(f, VSOCK_SHUT_BOTH);
	cr_assert_eq(vsock_conn_recv(c, &h), VSOCK_ACT_NONE);	/* in flight: dropped */
	h.op = VSOCK_OP_CREDIT_REQUEST;
	cr_assert_eq(vsock_conn_recv(c, &h), VSOCK_ACT_NONE);
	h.op = VSOCK_OP_SHUTDOWN;
	cr_assert_eq(vsock_conn_recv(c, &h), VSOCK_ACT_RESET);
	h.op = VSOCK_OP_RST;
	cr_assert_eq(vsock_conn_recv(c, &h), VSOCK_ACT_DROP);
}

Test(vsock_conn, credit_to_guest)
{
	struct vsock_conn *c = open_conn(1024, 1000);
	struct vsock_hdr h, out;
	uint32_t f;

	c->readable = true;
	cr_assert(vsock_conn_can_send(c));
	vsock_conn_hdr(c, GCID, VSOCK_OP_RW, 0, 600, &out);
	cr_assert_eq(vsock_conn_credit(c), 400);
	cr_assert_eq(c->pending, 0);
	vsock_conn_hdr(c, GCID, VSOCK_OP_RW, 0, 400, &out);
	cr_assert_eq(vsock_conn_credit(c), 0);
	cr_assert_not(vsock_conn_can_send(c));
	cr_assert_eq(vsock_conn_next_ctl(c, &f), VSOCK_OP_CREDIT_REQUEST);	/* asked once */
	cr_assert_eq(vsock_conn_next_ctl(c, &f), 0);
	/* A credit update that frees nothing does not make it ask again. */
	h = hdr(VSOCK_OP_CREDIT_UPDATE, 1024, c->local_port, 0);
	h.buf_alloc = 1000;
	cr_assert_eq(vsock_conn_recv(c, &h), VSOCK_ACT_NONE);
	cr_assert_not(vsock_conn_can_send(c));
	h.fwd_cnt = 250;
	cr_assert_eq(vsock_conn_recv(c, &h), VSOCK_ACT_NONE);
	cr_assert_eq(vsock_conn_credit(c), 250);
	cr_assert(vsock_conn_can_send(c));
	/* The guest stops receiving: no more data, whatever the credit. */
	h = hdr(VSOCK_OP_SHUTDOWN, 1024, c->local_port, 0);
	h.flags = VSOCK_SHUT_RCV;
	h.buf_alloc = 1000;
	h.fwd_cnt = 250;
	cr_assert_eq(vsock_conn_recv(c, &h), VSOCK_ACT_NONE);
	cr_assert_not(vsock_conn_can_send(c));
}

Test(vsock_conn, credit_wraps)
{
	struct vsock_conn *c = open_conn(1024, 1000);
	struct vsock_hdr h = hdr(VSOCK_OP_CREDIT_UPDATE, 1024, 0, 0), out;

	/* Host to guest: tx_cnt wraps past 2^32. */
	c->tx_cnt = 0xffffff00;
	h.dst_port = c->local_port;
	h.buf_alloc = 1000;
	h.fwd_cnt = 0xffffff00;
	vsock_conn_recv(c, &h);
	cr_assert_eq(vsock_conn_credit(c), 1000);
	vsock_conn_hdr(c, GCID, VSOCK_OP_RW, 0, 600, &out);
	cr_assert_eq(c->tx_cnt, 0x158);
	cr_assert_eq(vsock_conn_credit(c), 400);
	h.fwd_cnt = 0x100;
	vsock_conn_recv(c, &h);
	cr_assert_eq(vsock_conn_credit(c), 1000 - 0x58);
	/* Guest to host: rx_cnt wraps; the buffer check still sees 0 bytes held. */
	c->rx_cnt = c->fwd_cnt = c->fwd_sent = 0xfffffff0;
	h = hdr(VSOCK_OP_RW, 1024, c->local_port, 0x100);
	cr_assert_eq(vsock_conn_recv(c, &h), VSOCK_ACT_DATA);
	cr_assert_eq(c->rx_cnt, 0xf0);
	vsock_conn_forwarded(c, 0x100);
	cr_assert_eq(c->fwd_cnt, 0xf0);
	/* Now VSOCK_BUF_ALLOC in flight across the wrap: one more byte overruns. */
	h.len = VSOCK_BUF_ALLOC;
	cr_assert_eq(vsock_conn_recv(c, &h), VSOCK_ACT_DATA);
	h.len = 1;
	cr_assert_eq(vsock_conn_recv(c, &h), VSOCK_ACT_RESET);
}

Test(vsock_conn, credit_update_when_freed)
{
	struct vsock_conn *c = open_conn(1024, 4096);
	struct vsock_hdr h = hdr(VSOCK_OP_RW, 1024, c->local_port, 65536), out;
	uint32_t f;

	for (int i = 0; i < 3; i++)
		cr_assert_eq(vsock_conn_recv(c, &h), VSOCK_ACT_DATA);
	/* 192 KiB received, the guest last saw fwd_cnt 0 (64 KiB free in its view). */
	vsock_conn_forwarded(c, 1000);
	cr_assert(c->pending & VSOCK_P_CREDIT_UPDATE);
	cr_assert_eq(vsock_conn_next_ctl(c, &f), VSOCK_OP_CREDIT_UPDATE);
	vsock_conn_hdr(c, GCID, VSOCK_OP_CREDIT_UPDATE, 0, 0, &out);
	cr_assert_eq(out.fwd_cnt, 1000);
	cr_assert_eq(c->fwd_sent, 1000);
	/* Plenty free in the guest's view: no update for a small write. */
	c = open_conn(1025, 4096);
	h = hdr(VSOCK_OP_RW, 1025, c->local_port, 1000);
	cr_assert_eq(vsock_conn_recv(c, &h), VSOCK_ACT_DATA);
	vsock_conn_forwarded(c, 1000);
	cr_assert_eq(c->pending, 0);
	/* An RW header carries the credit too: it settles an owed update. */
	c->pending = VSOCK_P_CREDIT_UPDATE;
	vsock_conn_hdr(c, GCID, VSOCK_OP_RW, 0, 10, &out);
	cr_assert_eq(c->pending, 0);
	cr_assert_eq(out.fwd_cnt, 1000);
}

Test(vsock_conn, rx_round_robin)
{
	struct vsock_conn *a = open_conn(1, 4096), *b = open_conn(2, 4096), *c = open_conn(3, 4096);

	a->readable = b->readable = c->readable = true;
	vsock_rxq_update(&tab, a);
	vsock_rxq_update(&tab, b);
	vsock_rxq_update(&tab, c);
	vsock_rxq_update(&tab, a);		/* already queued: stays first */
	cr_assert_eq(vsock_rxq_pop(&tab), a);
	vsock_rxq_update(&tab, a);		/* still owes: to the tail */
	cr_assert_eq(vsock_rxq_pop(&tab), b);
	b->readable = false;
	vsock_rxq_update(&tab, b);		/* owes nothing: stays off */
	cr_assert_eq(vsock_rxq_pop(&tab), c);
	cr_assert_eq(vsock_rxq_pop(&tab), a);
	cr_assert_null(vsock_rxq_pop(&tab));
	vsock_rxq_update(&tab, c);
	vsock_conn_kill(&tab, c);		/* killing takes it off */
	cr_assert(vsock_rxq_empty(&tab));
}

Test(vsock_conn, ring)
{
	struct vsock_ring r = { 0 };
	struct iovec iov[2];
	int n;

	cr_assert_eq(vsock_ring_iov(&r, iov), 0);
	n = vsock_ring_reserve(&r, 3, iov);
	cr_assert_eq(n, 1);
	memcpy(iov[0].iov_base, "OK\n", 3);
	vsock_ring_commit(&r, 3);
	r.skip = 3;
	n = vsock_ring_reserve(&r, VSOCK_RING_CAP - 3, iov);
	cr_assert_eq(n, 1);
	memset(iov[0].iov_base, 'a', iov[0].iov_len);
	vsock_ring_commit(&r, VSOCK_RING_CAP - 3);
	cr_assert_eq(vsock_ring_reserve(&r, 1, iov), -ENOSPC);
	cr_assert_eq(vsock_ring_consume(&r, 2), 0);		/* kvmm's own bytes */
	cr_assert_eq(vsock_ring_consume(&r, 100), 99);
	/* Full up to the end: new bytes go to the start, the held ones are in two pieces. */
	n = vsock_ring_reserve(&r, 50, iov);
	cr_assert_eq(n, 1);
	cr_assert_eq(iov[0].iov_base, r.data);
	memset(iov[0].iov_base, 'b', 50);
	vsock_ring_commit(&r, 50);
	n = vsock_ring_iov(&r, iov);
	cr_assert_eq(n, 2);
	cr_assert_eq(iov[0].iov_len, VSOCK_RING_CAP - 102);
	cr_assert_eq(iov[1].iov_len, 50);
	cr_assert_eq(((uint8_t *)iov[1].iov_base)[0], 'b');
	cr_assert_eq(vsock_ring_consume(&r, VSOCK_RING_CAP - 102 + 40), VSOCK_RING_CAP - 62);
	/* 10 held at 40..50: a reservation of the rest wraps. */
	n = vsock_ring_reserve(&r, VSOCK_RING_CAP - 10, iov);
	cr_assert_eq(n, 2);
	cr_assert_eq(iov[0].iov_len, VSOCK_RING_CAP - 50);
	cr_assert_eq(iov[1].iov_len, 40);
	cr_assert_eq(vsock_ring_reserve(&r, VSOCK_RING_CAP - 9, iov), -ENOSPC);
	vsock_ring_commit(&r, VSOCK_RING_CAP - 10);
	cr_assert_eq(vsock_ring_consume(&r, VSOCK_RING_CAP + 5), VSOCK_RING_CAP);
	cr_assert_null(r.data);				/* freed when empty */
	cr_assert_eq(r.len, 0);
}
/* ---- the device end to end: the test is the guest driver and the host clients ---- */

#define QSZ		16
#define RXR		0x100000ULL	/* rings: descriptors, +0x1000 avail, +0x2000 used */
#define TXR		0x110000ULL
#define EVR		0x120000ULL
#define RXB		0x200000ULL	/* receive buffers, 0x2000 apart */
#define RXB_LEN		(VSOCK_HDR_LEN + 4096)
#define TXB		0x300000ULL	/* transmit slots */
#define TX_SLOT		0x11000ULL

static struct virtio_dev *dev;
static struct vsock *vs;
static struct virtio_transport *t;
static char dir[64], path[96];
static uint16_t rx_avail, rx_seen, tx_avail, ev_avail;
static bool rx_repost;
static uint32_t g_buf, g_fwd;		/* the fake guest's buf_alloc and fwd_cnt */

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

static void publish_in(uint64_t ring, uint16_t *idx, uint16_t head)
{
	wr16(ring + 0x1000 + 4 + 2 * (*idx % QSZ), head);
	(*idx)++;
	wr16(ring + 0x1000 + 2, *idx);
}

static void rx_post(uint16_t id)
{
	desc_at(RXR, id, RXB + 0x2000ULL * id, RXB_LEN, VIRTQ_DESC_F_WRITE, 0);
	publish_in(RXR, &rx_avail, id);
}

static void dev_setup(void)
{
	struct gm_region l[] = { { .gpa = 0, .size = 8 * MiB } };

	cr_assert_eq(gm_create(&gm, l, 1), 0);
	snprintf(dir, sizeof(dir), "/tmp/kvmm-vsock-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/v.sock", dir);
	dev = NULL;
	t = NULL;
	rx_avail = rx_seen = tx_avail = ev_avail = 0;
	rx_repost = true;
	g_buf = 65536;
	g_fwd = 0;
}

static void dev_teardown(void)
{
	char cmd[128];

	if (t) {
		mmio_wr(VIRTIO_MMIO_STATUS, 0);
		virtio_mmio_test_free(t);
	}
	if (dev)
		dev->ops->destroy(dev);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd))
		fprintf(stderr, "cannot remove %s\n", dir);
	gm_destroy(&gm);
}

TestSuite(vsock_dev, .init = dev_setup, .fini = dev_teardown, .timeout = 60);

static void queue_up(unsigned int q, uint64_t ring)
{
	mmio_wr(VIRTIO_MMIO_QUEUE_SEL, q);
	cr_assert_eq(mmio_rd(VIRTIO_MMIO_QUEUE_NUM_MAX), VSOCK_QUEUE_SIZE);
	mmio_wr(VIRTIO_MMIO_QUEUE_NUM, QSZ);
	mmio_wr(VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)ring);
	mmio_wr(VIRTIO_MMIO_QUEUE_DRIVER_LOW, (uint32_t)(ring + 0x1000));
	mmio_wr(VIRTIO_MMIO_QUEUE_DEVICE_LOW, (uint32_t)(ring + 0x2000));
	mmio_wr(VIRTIO_MMIO_QUEUE_READY, 1);
}

/* The device made, its worker started, driven to DRIVER_OK with RX_BUFS receive buffers. */
static void dev_up(unsigned int timeout_ms, unsigned int rx_bufs)
{
	const uint32_t st = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER;
	struct vsock_config vc = { .cid = GCID, .socket = path };
	int irq;

	cr_assert_eq(virtio_vsock_new(&vc, &dev), 0);
	vs = dev->priv;
	vs->timeout_ms = timeout_ms;
	t = virtio_mmio_test_new(dev, &gm, &irq);
	cr_assert_not_null(t);
	for (unsigned int q = 0; q < 3; q++)
		t->queue_fd[q] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	cr_assert_eq(virtio_worker_start(t), 0);
	mmio_wr(VIRTIO_MMIO_STATUS, st);
	mmio_wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	mmio_wr(VIRTIO_MMIO_DRIVER_FEATURES, 1U << VIRTIO_F_EVENT_IDX);
	mmio_wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	mmio_wr(VIRTIO_MMIO_DRIVER_FEATURES, 1);		/* VERSION_1 */
	mmio_wr(VIRTIO_MMIO_STATUS, st | VIRTIO_STATUS_FEATURES_OK);
	queue_up(0, RXR);
	queue_up(1, TXR);
	queue_up(2, EVR);
	for (uint16_t i = 0; i < rx_bufs; i++)
		rx_post(i);
	for (uint16_t i = 0; i < 2; i++) {
		desc_at(EVR, i, RXB + 0x100000 + 0x100ULL * i, 8, VIRTQ_DESC_F_WRITE, 0);
		publish_in(EVR, &ev_avail, i);
	}
	mmio_wr(VIRTIO_MMIO_STATUS, st | VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK);
	cr_assert_eq(mmio_rd(VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET, 0);
}

/* The device's next packet within MS milliseconds (payload into PAYLOAD if not NULL). */
static bool rx_get(struct vsock_hdr *h, void *payload, unsigned int ms)
{
	uint8_t raw[VSOCK_HDR_LEN];
	uint64_t e;
	uint32_t id, len;

	for (unsigned int i = 0; rd16(RXR + 0x2002) == rx_seen; i++) {
		if (i >= ms)
			return false;
		usleep(1000);
	}
	e = RXR + 0x2004 + 8ULL * (rx_seen % QSZ);
	id = rd32(e);
	len = rd32(e + 4);
	cr_assert_lt(id, QSZ);
	cr_assert(len >= VSOCK_HDR_LEN && len <= RXB_LEN, "used length %u", len);
	cr_assert_eq(gm_read(&gm, RXB + 0x2000ULL * id, raw, VSOCK_HDR_LEN), 0);
	vsock_hdr_decode(raw, h);
	cr_assert_eq(h->len, len - VSOCK_HDR_LEN);
	cr_assert_eq(h->dst_cid, GCID);
	cr_assert_eq(h->type, VSOCK_TYPE_STREAM);
	if (payload)
		cr_assert_eq(gm_read(&gm, RXB + 0x2000ULL * id + VSOCK_HDR_LEN, payload, h->len),
			     0);
	rx_seen++;
	if (rx_repost) {
		rx_post((uint16_t)id);
		mmio_wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	}
	return true;
}

/* The next packet, which must be OP from the host (CID 2). */
static struct vsock_hdr rx_op(uint16_t op, void *payload)
{
	struct vsock_hdr h;

	cr_assert(rx_get(&h, payload, 2000), "no packet from the device (waiting for op %u)", op);
	cr_assert_eq(h.op, op, "op %u, expected %u", h.op, op);
	cr_assert_eq(h.src_cid, VSOCK_HOST_CID);
	return h;
}

/* Hands chain HEAD of the transmit ring to the device and waits until it is used. */
static void tx_publish(uint16_t head)
{
	publish_in(TXR, &tx_avail, head);
	mmio_wr(VIRTIO_MMIO_QUEUE_NOTIFY, 1);
	for (int i = 0; rd16(TXR + 0x2002) != tx_avail; i++) {
		cr_assert_lt(i, 2000, "the device did not take the transmit chain");
		usleep(1000);
	}
}

/* DESC_LEN bytes of RAW as one transmit buffer with FLAGS. */
static void tx_raw(const void *raw, uint32_t n, uint32_t desc_len, uint16_t flags)
{
	uint16_t slot = tx_avail % QSZ;
	uint64_t a = TXB + TX_SLOT * slot;

	cr_assert_eq(gm_write(&gm, a, raw, n), 0);
	desc_at(TXR, slot, a, desc_len, flags, 0);
	tx_publish(slot);
}

static struct vsock_hdr gh(uint16_t op, uint32_t src_port, uint32_t dst_port, uint32_t len)
{
	struct vsock_hdr h = hdr(op, src_port, dst_port, len);

	h.buf_alloc = g_buf;
	h.fwd_cnt = g_fwd;
	return h;
}

static void tx_send(struct vsock_hdr h, const void *payload)
{
	static uint8_t pkt[VSOCK_HDR_LEN + 65536];

	cr_assert_leq(h.len, 65536);
	vsock_hdr_encode(&h, pkt);
	if (h.len)
		memcpy(pkt + VSOCK_HDR_LEN, payload, h.len);
	tx_raw(pkt, VSOCK_HDR_LEN + h.len, VSOCK_HDR_LEN + h.len, 0);
}

static int client(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	cr_assert_geq(fd, 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	cr_assert_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0, "connect: %s",
		     strerror(errno));
	return fd;
}

static void send_all(int fd, const void *b, size_t n)
{
	cr_assert_eq(send(fd, b, n, MSG_NOSIGNAL), (ssize_t)n);
}

/* Reads exactly N bytes within MS milliseconds. */
static bool read_n(int fd, void *buf, size_t n, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	size_t got = 0;

	while (got < n) {
		ssize_t r;

		if (poll(&p, 1, ms) != 1)
			return false;
		r = read(fd, (char *)buf + got, n - got);
		if (r <= 0)
			return false;
		got += (size_t)r;
	}
	return true;
}

/* The peer of FD closes it within MS milliseconds (end of stream or reset). */
static bool closed_within(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	char c;

	for (;;) {
		ssize_t r;

		if (poll(&p, 1, ms) != 1)
			return false;
		r = recv(fd, &c, 1, MSG_DONTWAIT);
		if (r == 0 || (r < 0 && errno == ECONNRESET))
			return true;
		if (r < 0 && errno != EAGAIN)
			return false;
	}
}

static void read_line(int fd, char *buf, size_t max)
{
	size_t n = 0;

	while (n + 1 < max) {
		cr_assert(read_n(fd, buf + n, 1, 2000), "no reply line (got %zu bytes)", n);
		if (buf[n++] == '\n')
			break;
	}
	buf[n] = 0;
}

/* A host client that sent LINE, the guest accepting on GUEST_PORT: returns the client. */
static int open_host(const char *line, uint32_t guest_port, uint32_t *local)
{
	char reply[64], want[64];
	struct vsock_hdr h;
	int fd = client();

	send_all(fd, line, strlen(line));
	h = rx_op(VSOCK_OP_REQUEST, NULL);
	cr_assert_eq(h.dst_port, guest_port);
	cr_assert_geq(h.src_port, VSOCK_PORT_FIRST);
	cr_assert_eq(h.buf_alloc, VSOCK_BUF_ALLOC);
	tx_send(gh(VSOCK_OP_RESPONSE, guest_port, h.src_port, 0), NULL);
	read_line(fd, reply, sizeof(reply));
	snprintf(want, sizeof(want), "OK %u\n", h.src_port);
	cr_assert_str_eq(reply, want);
	*local = h.src_port;
	return fd;
}

static struct vsock_conn *find_conn(uint32_t local, uint32_t peer)
{
	struct vsock_conn *c;

	pthread_mutex_lock(&dev->lock);
	c = vsock_table_find(&vs->tab, local, peer);
	pthread_mutex_unlock(&dev->lock);
	return c;
}

Test(vsock_dev, description)
{
	struct vsock_config vc = { .cid = 0x12345678, .socket = path };
	uint32_t lo = 0, hi = 1;
	int irq;

	cr_assert_eq(virtio_vsock_new(&vc, &dev), 0);
	cr_assert_eq(dev->device_id, VIRTIO_ID_VSOCK);
	cr_assert_eq(dev->features, VIRTIO_BIT(VIRTIO_F_EVENT_IDX) |
				    VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC));
	cr_assert_eq(dev->nr_queues, 3);
	cr_assert_eq(dev->config_size, 8);
	t = virtio_mmio_test_new(dev, &gm, &irq);
	virtio_mmio_access(t, VIRTIO_MMIO_CONFIG, (uint8_t *)&lo, 4, false);
	virtio_mmio_access(t, VIRTIO_MMIO_CONFIG + 4, (uint8_t *)&hi, 4, false);
	cr_assert_eq(le32toh(lo), 0x12345678);
	cr_assert_eq(hi, 0);
	cr_assert_eq(mmio_rd(VIRTIO_MMIO_DEVICE_ID), VIRTIO_ID_VSOCK);
}

Test(vsock_dev, host_connect_relay)
{
	char buf[16];
	struct vsock_hdr h;
	uint32_t local;
	int fd;

	dev_up(VSOCK_TIMEOUT_MS, 8);
	fd = open_host("CONNECT 1024\n", 1024, &local);
	cr_assert_eq(vs->cnt.conn_opened, 1);
	cr_assert(mmio_rd(VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_MMIO_INT_VRING);

	send_all(fd, "hello", 5);
	h = rx_op(VSOCK_OP_RW, buf);
	cr_assert_eq(h.len, 5);
	cr_assert_eq(memcmp(buf, "hello", 5), 0);
	cr_assert_eq(h.src_port, local);
	cr_assert_eq(h.dst_port, 1024);
	tx_send(gh(VSOCK_OP_RW, 1024, local, 5), "world");
	cr_assert(read_n(fd, buf, 5, 2000));
	cr_assert_eq(memcmp(buf, "world", 5), 0);

	/* The client goes away: SHUTDOWN both ways, data in flight dropped, the RST ends it. */
	close(fd);
	h = rx_op(VSOCK_OP_SHUTDOWN, NULL);
	cr_assert_eq(h.flags, VSOCK_SHUT_BOTH);
	tx_send(gh(VSOCK_OP_RW, 1024, local, 3), "late");
	tx_send(gh(VSOCK_OP_RST, 1024, local, 0), NULL);
	cr_assert_null(find_conn(local, 1024));
	cr_assert_not(rx_get(&h, NULL, 100), "unexpected op %u", h.op);
	cr_assert_eq(vs->cnt.malformed, 0);
	cr_assert_eq(vs->cnt.rx_bytes, 5);
	cr_assert_eq(vs->cnt.tx_bytes, 8);
	/* The event queue's buffers stay with the device. */
	mmio_wr(VIRTIO_MMIO_QUEUE_NOTIFY, 2);
	usleep(20000);
	cr_assert_eq(rd16(EVR + 0x2002), 0);
}

Test(vsock_dev, host_connect_lower_case_and_early_data)
{
	char buf[16];
	struct vsock_hdr h;
	uint32_t local;
	int fd = -1;

	dev_up(VSOCK_TIMEOUT_MS, 8);
	fd = client();
	/* The line and data right behind it in one write: the data is not eaten. */
	send_all(fd, "connect 1025\nearly", 18);
	h = rx_op(VSOCK_OP_REQUEST, NULL);
	cr_assert_eq(h.dst_port, 1025);
	local = h.src_port;
	tx_send(gh(VSOCK_OP_RESPONSE, 1025, local, 0), NULL);
	cr_assert(read_n(fd, buf, 3 + 11, 2000));
	cr_assert_eq(memcmp(buf, "OK ", 3), 0);
	h = rx_op(VSOCK_OP_RW, buf);
	cr_assert_eq(h.len, 5);
	cr_assert_eq(memcmp(buf, "early", 5), 0);
	close(fd);
}

Test(vsock_dev, rst_closes_client)
{
	struct vsock_hdr h;
	int fd;

	dev_up(VSOCK_TIMEOUT_MS, 8);
	fd = client();
	send_all(fd, "CONNECT 1024\n", 13);
	h = rx_op(VSOCK_OP_REQUEST, NULL);
	tx_send(gh(VSOCK_OP_RST, 1024, h.src_port, 0), NULL);
	cr_assert(closed_within(fd, 500), "the client was not closed after the guest's RST");
	cr_assert_eq(vs->cnt.conn_refused, 1);
	cr_assert_null(find_conn(h.src_port, 1024));
	close(fd);
}

Test(vsock_dev, guest_connect)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct vsock_hdr h;
	char buf[8];
	int ls, s;

	dev_up(VSOCK_TIMEOUT_MS, 8);
	ls = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s_2000", path);
	cr_assert_eq(bind(ls, (struct sockaddr *)&sa, sizeof(sa)), 0);
	cr_assert_eq(listen(ls, 4), 0);

	tx_send(gh(VSOCK_OP_REQUEST, 5555, 2000, 0), NULL);
	h = rx_op(VSOCK_OP_RESPONSE, NULL);
	cr_assert_eq(h.src_port, 2000);
	cr_assert_eq(h.dst_port, 5555);
	s = accept(ls, NULL, NULL);
	cr_assert_geq(s, 0);
	tx_send(gh(VSOCK_OP_RW, 5555, 2000, 4), "ping");
	cr_assert(read_n(s, buf, 4, 2000));
	cr_assert_eq(memcmp(buf, "ping", 4), 0);
	send_all(s, "pong", 4);
	h = rx_op(VSOCK_OP_RW, buf);
	cr_assert_eq(h.len, 4);
	cr_assert_eq(memcmp(buf, "pong", 4), 0);
	cr_assert_eq(h.src_port, 2000);
	cr_assert_eq(h.dst_port, 5555);

	/* Nothing listens on 2001: RST. */
	tx_send(gh(VSOCK_OP_REQUEST, 5556, 2001, 0), NULL);
	h = rx_op(VSOCK_OP_RST, NULL);
	cr_assert_eq(h.src_port, 2001);
	cr_assert_eq(h.dst_port, 5556);
	cr_assert_eq(vs->cnt.conn_refused, 1);
	cr_assert_eq(vs->cnt.conn_opened, 1);

	/* The host side closes: SHUTDOWN, then the guest's RST. */
	close(s);
	h = rx_op(VSOCK_OP_SHUTDOWN, NULL);
	cr_assert_eq(h.dst_port, 5555);
	tx_send(gh(VSOCK_OP_RST, 5555, 2000, 0), NULL);
	cr_assert_null(find_conn(2000, 5555));
	close(ls);
}

Test(vsock_dev, credit_exhaustion_stops_reading)
{
	static uint8_t data[3000], got[3000];
	struct vsock_conn *c;
	struct vsock_hdr h;
	uint32_t local, n = 0;
	int fd;

	for (unsigned int i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 7 + 1);
	g_buf = 1000;
	dev_up(VSOCK_TIMEOUT_MS, 8);
	fd = open_host("CONNECT 1024\n", 1024, &local);
	send_all(fd, data, sizeof(data));
	while (n < 1000) {
		h = rx_op(VSOCK_OP_RW, got + n);
		n += h.len;
	}
	cr_assert_eq(n, 1000, "the device sent beyond the guest's credit");
	rx_op(VSOCK_OP_CREDIT_REQUEST, NULL);
	cr_assert_not(rx_get(&h, NULL, 200), "op %u sent without credit", h.op);
	pthread_mutex_lock(&dev->lock);
	c = vsock_table_find(&vs->tab, local, 1024);
	cr_assert_not_null(c);
	cr_assert_eq(vsock_conn_credit(c), 0);
	cr_assert_eq(c->events & EPOLLIN, 0, "still reading the client without credit");
	pthread_mutex_unlock(&dev->lock);

	/* The guest's application read it: credit again, the rest flows. */
	for (uint32_t fwd = 1000; fwd < 3000; fwd += 1000) {
		g_fwd = fwd;
		tx_send(gh(VSOCK_OP_CREDIT_UPDATE, 1024, local, 0), NULL);
		while (n < fwd + 1000) {
			h = rx_op(VSOCK_OP_RW, got + n);
			n += h.len;
		}
		cr_assert_eq(n, fwd + 1000);
		rx_op(VSOCK_OP_CREDIT_REQUEST, NULL);
	}
	cr_assert_eq(memcmp(got, data, sizeof(data)), 0);
	close(fd);
}

static uint64_t worker_cpu_ns(void)
{
	struct timespec ts;
	clockid_t cid;

	cr_assert_eq(pthread_getcpuclockid(t->thread, &cid), 0);
	cr_assert_eq(clock_gettime(cid, &ts), 0);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

Test(vsock_dev, no_receive_buffers_waits_for_kick)
{
	struct vsock_hdr h;
	uint64_t cpu;
	char buf[8];
	int fd;

	rx_repost = false;
	dev_up(VSOCK_TIMEOUT_MS, 0);
	fd = client();
	send_all(fd, "CONNECT 1024\n", 13);
	cpu = worker_cpu_ns();
	usleep(300000);
	cr_assert_lt(worker_cpu_ns() - cpu, 50000000ULL, "the worker spins without buffers");
	cr_assert_eq(rd16(RXR + 0x2002), 0);
	rx_post(0);
	mmio_wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	h = rx_op(VSOCK_OP_REQUEST, NULL);
	tx_send(gh(VSOCK_OP_RESPONSE, 1024, h.src_port, 0), NULL);
	cr_assert(read_n(fd, buf, 3, 2000));
	/* Data waiting with no buffers: the socket is not polled meanwhile. */
	send_all(fd, "abc", 3);
	cpu = worker_cpu_ns();
	usleep(300000);
	cr_assert_lt(worker_cpu_ns() - cpu, 50000000ULL, "the worker spins on a readable socket");
	rx_post(1);
	mmio_wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	h = rx_op(VSOCK_OP_RW, buf);
	cr_assert_eq(h.len, 3);
	close(fd);
}

Test(vsock_dev, malformed_packets)
{
	uint8_t raw[VSOCK_HDR_LEN + 16] = { 0 };
	struct vsock_hdr h;
	uint32_t local;
	int fd;

	dev_up(VSOCK_TIMEOUT_MS, 8);
	/* Short header. */
	tx_raw(raw, 20, 20, 0);
	cr_assert_eq(vs->cnt.malformed, 1);
	/* len beyond the descriptor's data. */
	h = gh(VSOCK_OP_RW, 1, 2, 100);
	vsock_hdr_encode(&h, raw);
	tx_raw(raw, VSOCK_HDR_LEN + 10, VSOCK_HDR_LEN + 10, 0);
	cr_assert_eq(vs->cnt.malformed, 2);
	/* Wrong src_cid: dropped, no answer to a spoofed sender. */
	h = gh(VSOCK_OP_REQUEST, 1, 2, 0);
	h.src_cid = 99;
	tx_send(h, NULL);
	cr_assert_eq(vs->cnt.malformed, 3);
	/* Device-writable buffer in a transmit chain. */
	h = gh(VSOCK_OP_REQUEST, 1, 2, 0);
	vsock_hdr_encode(&h, raw);
	tx_raw(raw, VSOCK_HDR_LEN, VSOCK_HDR_LEN, VIRTQ_DESC_F_WRITE);
	cr_assert_eq(vs->cnt.malformed, 4);
	cr_assert_not(rx_get(&h, NULL, 100), "answered a dropped packet (op %u)", h.op);

	/* Wrong dst_cid, unknown op, unknown type: RST, from the address used. */
	h = gh(VSOCK_OP_REQUEST, 10, 20, 0);
	h.dst_cid = 7;
	tx_send(h, NULL);
	h = gh(9, 11, 21, 0);
	tx_send(h, NULL);
	h = gh(VSOCK_OP_REQUEST, 12, 22, 0);
	h.type = 2;
	tx_send(h, NULL);
	cr_assert(rx_get(&h, NULL, 2000));
	cr_assert_eq(h.op, VSOCK_OP_RST);
	cr_assert_eq(h.src_cid, 7);
	cr_assert_eq(h.src_port, 20);
	cr_assert_eq(h.dst_port, 10);
	h = rx_op(VSOCK_OP_RST, NULL);
	cr_assert_eq(h.dst_port, 11);
	h = rx_op(VSOCK_OP_RST, NULL);
	cr_assert_eq(h.dst_port, 12);
	cr_assert_eq(vs->cnt.malformed, 7);
	/* RW and SHUTDOWN for no connection: RST; an RST for none: nothing. */
	tx_send(gh(VSOCK_OP_RW, 13, 23, 2), "xx");
	h = rx_op(VSOCK_OP_RST, NULL);
	cr_assert_eq(h.dst_port, 13);
	cr_assert_eq(vs->cnt.malformed, 8);
	tx_send(gh(VSOCK_OP_SHUTDOWN, 14, 24, 0), NULL);
	h = rx_op(VSOCK_OP_RST, NULL);
	cr_assert_eq(h.dst_port, 14);
	tx_send(gh(VSOCK_OP_RST, 15, 25, 0), NULL);
	cr_assert_not(rx_get(&h, NULL, 100), "answered an RST (op %u)", h.op);

	/* A connection reset for breaking the protocol; the device still works. */
	fd = open_host("CONNECT 1024\n", 1024, &local);
	tx_send(gh(VSOCK_OP_RESPONSE, 1024, local, 0), NULL);
	h = rx_op(VSOCK_OP_RST, NULL);
	cr_assert_eq(h.src_port, local);
	cr_assert(closed_within(fd, 500));
	cr_assert_eq(vs->cnt.malformed, 9);
	close(fd);
	fd = open_host("CONNECT 1024\n", 1024, &local);
	close(fd);
}

Test(vsock_dev, bad_handshakes)
{
	char junk[80];
	int a, b, c, d, e;

	dev_up(300, 8);
	a = client();
	send_all(a, "HELLO 1024\n", 11);
	b = client();
	memset(junk, 'A', sizeof(junk));
	send_all(b, junk, sizeof(junk));		/* no newline within 64 bytes */
	c = client();					/* says nothing */
	d = client();
	send_all(d, "CONNECT 1024", 12);		/* no newline, ever */
	e = client();
	send_all(e, "CONNECT 99999999999\n", 20);
	cr_assert(closed_within(a, 500));
	cr_assert(closed_within(b, 500));
	cr_assert(closed_within(e, 500));
	cr_assert_not(closed_within(c, 100), "closed before the timeout");
	cr_assert(closed_within(c, 1000), "a silent client was never closed");
	cr_assert(closed_within(d, 1000));
	cr_assert_eq(vs->cnt.conn_refused, 5);
	cr_assert_eq(rd16(RXR + 0x2002), 0);		/* the guest heard of none */
	close(a);
	close(b);
	close(c);
	close(d);
	close(e);
}

Test(vsock_dev, guest_never_answers)
{
	struct vsock_hdr h, rst;
	int fd;

	dev_up(300, 8);
	fd = client();
	send_all(fd, "CONNECT 1024\n", 13);
	h = rx_op(VSOCK_OP_REQUEST, NULL);
	cr_assert(closed_within(fd, 1000), "the client waits forever for the guest");
	rst = rx_op(VSOCK_OP_RST, NULL);
	cr_assert_eq(rst.src_port, h.src_port);
	cr_assert_eq(rst.dst_port, 1024);
	cr_assert_eq(vs->cnt.conn_refused, 1);
	close(fd);
}

Test(vsock_dev, socket_file_at_start)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct vsock_config vc = { .cid = GCID, .socket = path };
	struct stat st;
	int ls, f;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	ls = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert_eq(bind(ls, (struct sockaddr *)&sa, sizeof(sa)), 0);
	cr_assert_eq(listen(ls, 1), 0);
	cr_assert_eq(virtio_vsock_new(&vc, &dev), -EADDRINUSE);	/* another VMM's */
	dev = NULL;
	close(ls);						/* now stale */
	cr_assert_eq(virtio_vsock_new(&vc, &dev), 0);
	close(client());					/* live again, ours */
	dev->ops->destroy(dev);
	dev = NULL;
	cr_assert_neq(lstat(path, &st), 0, "the socket file was left behind");
	f = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	cr_assert_geq(f, 0);
	close(f);
	cr_assert_eq(virtio_vsock_new(&vc, &dev), -EEXIST);	/* not a socket: kept */
	dev = NULL;
	cr_assert_eq(lstat(path, &st), 0);
}

Test(vsock_dev, guest_shutdown)
{
	struct vsock_hdr h;
	char buf[8];
	uint32_t local;
	int fd;

	dev_up(VSOCK_TIMEOUT_MS, 8);
	fd = open_host("CONNECT 1024\n", 1024, &local);
	h = gh(VSOCK_OP_SHUTDOWN, 1024, local, 0);
	h.flags = VSOCK_SHUT_SEND;
	tx_send(h, NULL);
	cr_assert(closed_within(fd, 500), "no end of stream after SHUTDOWN SEND");
	send_all(fd, "late", 4);				/* half closed: still writable */
	h = rx_op(VSOCK_OP_RW, buf);
	cr_assert_eq(memcmp(buf, "late", 4), 0);
	h = gh(VSOCK_OP_SHUTDOWN, 1024, local, 0);
	h.flags = VSOCK_SHUT_RCV;
	tx_send(h, NULL);
	h = rx_op(VSOCK_OP_RST, NULL);
	cr_assert_eq(h.src_port, local);
	cr_assert_null(find_conn(local, 1024));
	cr_assert_eq(recv(fd, buf, 1, MSG_DONTWAIT), 0);
	close(fd);
}

Test(vsock_dev, reset_closes_clients)
{
	uint32_t local;
	int fd;

	dev_up(VSOCK_TIMEOUT_MS, 8);
	fd = open_host("CONNECT 1024\n", 1024, &local);
	mmio_wr(VIRTIO_MMIO_STATUS, 0);
	cr_assert(closed_within(fd, 500));
	cr_assert_eq(vs->tab.nr, 0);
	close(fd);
}

Test(vsock_dev, many_connections_and_a_stuck_reader)
{
	static uint8_t blob[65536], sink[65536];
	uint32_t local[8], fwd = 0;
	struct vsock_hdr h;
	char msg[8];
	int fd[8];
	size_t left;

	dev_up(VSOCK_TIMEOUT_MS, QSZ);
	for (int i = 0; i < 8; i++)
		fd[i] = open_host("CONNECT 1024\n", 1024, &local[i]);
	for (int i = 1; i < 8; i++)
		cr_assert_neq(local[i], local[i - 1]);
	/* Client 0 reads nothing while the guest sends it its whole credit. */
	memset(blob, 0x5a, sizeof(blob));
	for (int k = 0; k < 4; k++)
		tx_send(gh(VSOCK_OP_RW, 1024, local[0], sizeof(blob)), blob);
	/* The others are not held up. */
	for (int i = 1; i < 8; i++) {
		snprintf(msg, sizeof(msg), "to %d", i);
		tx_send(gh(VSOCK_OP_RW, 1024, local[i], 4), msg);
		cr_assert(read_n(fd[i], sink, 4, 2000), "connection %d stuck", i);
		cr_assert_eq(memcmp(sink, msg, 4), 0);
		snprintf(msg, sizeof(msg), "fr %d", i);
		send_all(fd[i], msg, 4);
	}
	for (int n = 1; n < 8;) {
		cr_assert(rx_get(&h, sink, 2000), "only %d replies reached the guest", n - 1);
		if (h.op == VSOCK_OP_CREDIT_UPDATE && h.src_port == local[0])
			continue;	/* for the stuck one, as its socket took some */
		cr_assert_eq(h.op, VSOCK_OP_RW);
		for (int i = 1; i < 8; i++) {
			if (h.src_port != local[i])
				continue;
			snprintf(msg, sizeof(msg), "fr %d", i);
			cr_assert_eq(memcmp(sink, msg, 4), 0);
			n++;
		}
	}
	/* Client 0 finally reads it all; asked, kvmm reports it forwarded. */
	for (left = 4 * sizeof(blob); left; left -= sizeof(sink) / 4)
		cr_assert(read_n(fd[0], sink, sizeof(sink) / 4, 2000));
	while (rx_get(&h, NULL, 100))
		cr_assert_eq(h.op, VSOCK_OP_CREDIT_UPDATE);	/* maybe a few on the way */
	tx_send(gh(VSOCK_OP_CREDIT_REQUEST, 1024, local[0], 0), NULL);
	h = rx_op(VSOCK_OP_CREDIT_UPDATE, NULL);
	fwd = h.fwd_cnt;
	cr_assert_eq(fwd, 4 * sizeof(blob));
	cr_assert_eq(h.buf_alloc, VSOCK_BUF_ALLOC);
	cr_assert_eq(vs->cnt.conn_opened, 8);
	cr_assert_eq(vs->cnt.malformed, 0);
	for (int i = 0; i < 8; i++)
		close(fd[i]);
}

Test(vsock_dev, client_gone_while_connecting)
{
	struct vsock_hdr h, rst;
	uint64_t cpu;
	int fd;

	dev_up(VSOCK_TIMEOUT_MS, 8);
	fd = client();
	send_all(fd, "CONNECT 1024\n", 13);
	h = rx_op(VSOCK_OP_REQUEST, NULL);
	cpu = worker_cpu_ns();
	close(fd);
	/* Long before the 5 s timeout: the guest may hold it half open, so an RST. */
	rst = rx_op(VSOCK_OP_RST, NULL);
	cr_assert_eq(rst.src_port, h.src_port);
	usleep(200000);
	cr_assert_lt(worker_cpu_ns() - cpu, 50000000ULL, "the worker spins on a hung-up socket");
	cr_assert_null(find_conn(h.src_port, 1024));
	/* Its RESPONSE, late, is answered with RST too. */
	tx_send(gh(VSOCK_OP_RESPONSE, 1024, h.src_port, 0), NULL);
	rx_op(VSOCK_OP_RST, NULL);
}

Test(vsock_dev, client_gone_with_data_left)
{
	static uint8_t data[100], got[100];
	struct vsock_hdr h;
	uint32_t local, n = 0;
	uint64_t cpu;
	int fd;

	for (unsigned int i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i + 1);
	g_buf = 10;
	dev_up(VSOCK_TIMEOUT_MS, 8);
	fd = open_host("CONNECT 1024\n", 1024, &local);
	send_all(fd, data, sizeof(data));
	h = rx_op(VSOCK_OP_RW, got);
	cr_assert_eq(h.len, 10);
	n = 10;
	rx_op(VSOCK_OP_CREDIT_REQUEST, NULL);
	cpu = worker_cpu_ns();
	close(fd);		/* hung up with 90 bytes unread, and no credit to read them */
	usleep(200000);
	cr_assert_lt(worker_cpu_ns() - cpu, 50000000ULL, "the worker spins on a hung-up socket");
	/* What the client sent before leaving still arrives, then SHUTDOWN. */
	g_buf = 1000;
	tx_send(gh(VSOCK_OP_CREDIT_UPDATE, 1024, local, 0), NULL);
	while (n < sizeof(data)) {
		h = rx_op(VSOCK_OP_RW, got + n);
		n += h.len;
	}
	cr_assert_eq(memcmp(got, data, sizeof(data)), 0);
	h = rx_op(VSOCK_OP_SHUTDOWN, NULL);
	cr_assert_eq(h.flags, VSOCK_SHUT_BOTH);
	tx_send(gh(VSOCK_OP_RST, 1024, local, 0), NULL);
	cr_assert_null(find_conn(local, 1024));
}

Test(vsock_dev, counters)
{
	struct virtio_counter c[VIRTIO_MAX_COUNTERS];
	unsigned int n;
	uint32_t local;
	int fd;

	dev_up(VSOCK_TIMEOUT_MS, 8);
	fd = open_host("CONNECT 1024\n", 1024, &local);
	tx_send(gh(VSOCK_OP_RW, 1024, local, 3), "abc");
	tx_raw("x", 1, 1, 0);
	cr_assert_str_eq(dev->id, "_vsock0");	/* Cloud Hypervisor's default id */
	n = dev->ops->counters(dev, c);
	cr_assert_leq(n, VIRTIO_MAX_COUNTERS);
	for (unsigned int i = 0; i < n; i++) {
		uint64_t want = !strcmp(c[i].name, "conn_opened") ? 1 :
				!strcmp(c[i].name, "tx_bytes") ? 3 :
				!strcmp(c[i].name, "tx_packets") ? 2 :
				!strcmp(c[i].name, "rx_packets") ? 1 :
				!strcmp(c[i].name, "malformed") ? 1 : 0;

		cr_assert_eq(c[i].value, want, "%s = %llu", c[i].name,
			     (unsigned long long)c[i].value);
	}
	cr_assert_eq(n, 8);
	close(fd);
}
