/*
 * virtio-vsock stream connections, device side: the connection table (keyed by host-side
 * port and guest port), the per-connection state machine driven by the guest's packets,
 * credit-based flow control both ways, the bounded buffer of guest data the Unix side could
 * not take yet, and the round-robin list of connections that owe the guest a packet.
 * No I/O here: the device (vsock.c, vsock_host.c) does what the functions ask for.
 *
 * Flow control. kvmm advertises VSOCK_BUF_ALLOC bytes per connection and, as fwd_cnt, the
 * bytes it has written to the Unix socket; the guest never has more than that in flight, so
 * guest data that the Unix socket refuses fits in the buffer (a guest that overruns it is
 * reset). Towards the guest, kvmm reads the Unix socket only into the guest's receive
 * buffers and never more than the guest's credit: a slow reader on either side stops the
 * writer instead of making kvmm buffer.
 */
#ifndef KVMM_VIRTIO_VSOCK_CONN_H
#define KVMM_VIRTIO_VSOCK_CONN_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "vsock_pkt.h"

#define VSOCK_BUF_ALLOC		(256U << 10)	/* what kvmm advertises per connection */
#define VSOCK_HASH		64		/* buckets of the table, a power of two */
#define VSOCK_PORT_FIRST	(1U << 30)	/* host-side ports of host-initiated ones */

enum vsock_state {
	VSOCK_HANDSHAKE,	/* a Unix client accepted; reading its CONNECT line (no ports) */
	VSOCK_CONNECTING,	/* REQUEST owed or sent to the guest; waiting for RESPONSE */
	VSOCK_ESTABLISHED,	/* relaying both ways */
	VSOCK_DRAINING,		/* the guest shut both ways: flush its data, then RST */
	VSOCK_CLOSING,		/* the Unix side is gone: SHUTDOWN owed/sent, awaiting RST */
	VSOCK_DEAD,		/* forgotten; freed at the next vsock_table_reap() */
};

/* Control packets a connection owes the guest (vsock_conn.pending), sent in this order. */
#define VSOCK_P_REQUEST		1
#define VSOCK_P_RESPONSE	2
#define VSOCK_P_CREDIT_UPDATE	4
#define VSOCK_P_CREDIT_REQUEST	8
#define VSOCK_P_SHUTDOWN	16	/* with both flags; after every data packet */

struct vsock_list {
	struct vsock_list *prev, *next;
};

/*
 * Guest data waiting for the Unix socket: a ring of VSOCK_RING_CAP bytes, allocated when
 * first needed and freed when empty. The first SKIP bytes are kvmm's own (the "OK <port>"
 * line) and do not count as forwarded.
 */
#define VSOCK_RING_CAP		(VSOCK_BUF_ALLOC + VSOCK_LINE_MAX)
struct vsock_ring {
	uint8_t *data;
	uint32_t head;			/* offset of the first byte held */
	uint32_t len;			/* bytes held */
	uint32_t skip;
};

struct vsock_conn {
	struct vsock_list link;		/* table.all, or table.dead once DEAD */
	struct vsock_list rxl;		/* table.rxq while it owes the guest a packet */
	struct vsock_conn *hnext;	/* hash chain */
	bool hashed;
	enum vsock_state state;
	int fd;				/* the Unix socket; -1 once closed */
	bool polled;			/* fd is on the device's epoll set */
	uint32_t events;		/* what is asked of it now */
	uint32_t local_port;		/* host side */
	uint32_t peer_port;		/* guest side */
	uint64_t deadline;		/* CLOCK_MONOTONIC ms, 0 = none */

	/* Guest to host. */
	uint32_t rx_cnt;		/* payload bytes accepted from the guest */
	uint32_t fwd_cnt;		/* of which written to the Unix socket */
	uint32_t fwd_sent;		/* fwd_cnt in the last header sent to the guest */
	bool shut_wr;			/* shutdown(SHUT_WR) done on fd */
	struct vsock_ring out;

	/* Host to guest. */
	uint32_t tx_cnt;		/* payload bytes sent to the guest */
	uint32_t peer_buf_alloc;
	uint32_t peer_fwd_cnt;
	bool readable;			/* fd has data (seen EPOLLIN, no EAGAIN since) */
	bool hup;			/* the Unix peer hung up; fd no longer polled */
	bool credit_asked;		/* CREDIT_REQUEST sent since credit ran out */
	uint32_t peer_shut;		/* SHUTDOWN flags the guest sent */
	unsigned int pending;		/* VSOCK_P_* */

	char line[VSOCK_LINE_MAX];	/* the handshake line so far */
	uint32_t line_len;
};

struct vsock_table {
	struct vsock_conn *hash[VSOCK_HASH];
	struct vsock_list all;		/* live connections, handshakes included */
	struct vsock_list rxq;		/* connections owing the guest a packet, FIFO */
	struct vsock_list dead;		/* forgotten, not yet freed */
	unsigned int nr;		/* live connections */
	uint32_t next_port;
};

void vsock_table_init(struct vsock_table *t);

/* A new connection in state HANDSHAKE on FD, on the live list, not keyed. NULL: no memory. */
struct vsock_conn *vsock_conn_new(struct vsock_table *t, int fd);

/* Keys C by (LOCAL, PEER). 0, or -EEXIST when a live connection has that key. */
int vsock_table_insert(struct vsock_table *t, struct vsock_conn *c, uint32_t local,
		       uint32_t peer);
struct vsock_conn *vsock_table_find(const struct vsock_table *t, uint32_t local, uint32_t peer);

/*
 * A host-side port for a new connection to guest port PEER: the next one from
 * VSOCK_PORT_FIRST upwards (wrapping back there) whose key is free. 0 with *PORT or -EAGAIN.
 */
int vsock_table_alloc_port(struct vsock_table *t, uint32_t peer, uint32_t *port);

/*
 * Forgets C: off the table and the rx list, state DEAD, on the dead list. The caller has
 * closed (or taken) its fd. C stays readable until vsock_table_reap(), so an event already
 * fetched for it can still be looked at (and skipped).
 */
void vsock_conn_kill(struct vsock_table *t, struct vsock_conn *c);
void vsock_table_reap(struct vsock_table *t);
/* The first live connection after POS on the live list (POS NULL: the first); or NULL. */
struct vsock_conn *vsock_table_next(struct vsock_table *t, struct vsock_conn *pos);

/* What the device must do after vsock_conn_recv(). */
enum vsock_act {
	VSOCK_ACT_NONE,		/* state updated; nothing for the Unix side */
	VSOCK_ACT_OPENED,	/* RESPONSE to kvmm's REQUEST: write "OK <port>\n", relay */
	VSOCK_ACT_DATA,		/* RW: deliver its len payload bytes to the Unix side */
	VSOCK_ACT_SHUT_WR,	/* the guest sends no more: shutdown(SHUT_WR) once flushed */
	VSOCK_ACT_DRAIN,	/* shut both ways: flush, then close the Unix side and RST */
	VSOCK_ACT_DROP,		/* the guest reset it: close the Unix side, forget, no RST */
	VSOCK_ACT_RESET,	/* protocol violation: RST to the guest, close, forget */
};

/*
 * The guest sent H (checked by vsock_hdr_check()) on keyed connection C: updates the peer's
 * credit, the counters and the state. An RW that would overrun the advertised buffer, an
 * RW after the guest's SHUTDOWN SEND, a REQUEST, or anything but RESPONSE or RST while
 * CONNECTING is a violation (RESET). While CLOSING, an RST ends the connection (DROP), a
 * SHUTDOWN asks for an RST (RESET), anything else is ignored.
 */
enum vsock_act vsock_conn_recv(struct vsock_conn *c, const struct vsock_hdr *h);

/* The guest's credit for C: bytes kvmm may send it now. */
uint32_t vsock_conn_credit(const struct vsock_conn *c);

/* C may read its Unix socket into a guest packet now (established, readable, credit). */
bool vsock_conn_can_send(const struct vsock_conn *c);

/*
 * The next control packet C owes (clearing it), 0 when none: the op, and SHUTDOWN's flags in
 * *FLAGS. A CREDIT_UPDATE goes only while nothing else is sent (every header carries the
 * credit). Data goes between the credit ops and SHUTDOWN: call vsock_conn_can_send() when
 * this returns 0 and C is not owing SHUTDOWN.
 */
uint16_t vsock_conn_next_ctl(struct vsock_conn *c, uint32_t *flags);

/*
 * Fills H for a packet of OP (FLAGS, LEN payload bytes) from C to the guest GUEST_CID,
 * with kvmm's credit, and records it: fwd_sent = fwd_cnt (any header settles an owed
 * CREDIT_UPDATE), tx_cnt += LEN; when an RW exhausts the guest's credit, a CREDIT_REQUEST
 * is owed (once, until a packet from the guest shows credit again).
 */
void vsock_conn_hdr(struct vsock_conn *c, uint64_t guest_cid, uint16_t op, uint32_t flags,
		    uint32_t len, struct vsock_hdr *h);

/* N more payload bytes reached the Unix socket; owes a CREDIT_UPDATE when the guest's view
 * of kvmm's free space fell below half the buffer. */
void vsock_conn_forwarded(struct vsock_conn *c, uint32_t n);

/* Puts C at the tail of the rx list when it owes the guest something, takes it off if not. */
void vsock_rxq_update(struct vsock_table *t, struct vsock_conn *c);
static inline bool vsock_rxq_empty(const struct vsock_table *t)
{
	return t->rxq.next == &t->rxq;
}

/* The head of the rx list, taken off it; NULL when empty. */
struct vsock_conn *vsock_rxq_pop(struct vsock_table *t);

/*
 * The ring: vsock_ring_reserve() maps N free bytes (allocating the ring the first time) as
 * one or two iovecs in IOV, returning their number, -ENOSPC (would exceed VSOCK_RING_CAP)
 * or -ENOMEM; vsock_ring_commit() then adds them. vsock_ring_iov() maps the bytes held
 * (0..2 iovecs); vsock_ring_consume() drops N of them and returns how many were counted
 * (not SKIP), freeing the ring when it empties. vsock_ring_free() discards everything.
 */
int vsock_ring_reserve(struct vsock_ring *r, uint32_t n, struct iovec iov[2]);
void vsock_ring_commit(struct vsock_ring *r, uint32_t n);
int vsock_ring_iov(const struct vsock_ring *r, struct iovec iov[2]);
uint32_t vsock_ring_consume(struct vsock_ring *r, uint32_t n);
void vsock_ring_free(struct vsock_ring *r);

#endif
