/*
 * virtio-vsock connections: the table, the state machine, credit accounting, the rx list
 * and the guest-data ring (contracts in vsock_conn.h). No I/O.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>

#include "vsock_conn.h"

#define conn_of(ptr, member) \
	((struct vsock_conn *)((char *)(ptr) - offsetof(struct vsock_conn, member)))

static void list_init(struct vsock_list *l)
{
	l->prev = l->next = l;
}

static bool list_empty(const struct vsock_list *l)
{
	return l->next == l;
}

static void list_del(struct vsock_list *e)
{
	e->prev->next = e->next;
	e->next->prev = e->prev;
	list_init(e);
}

static void list_add_tail(struct vsock_list *head, struct vsock_list *e)
{
	e->prev = head->prev;
	e->next = head;
	head->prev->next = e;
	head->prev = e;
}

static unsigned int bucket(uint32_t local, uint32_t peer)
{
	return ((local * 0x9e3779b1u) ^ peer) & (VSOCK_HASH - 1);
}

void vsock_table_init(struct vsock_table *t)
{
	for (unsigned int i = 0; i < VSOCK_HASH; i++)
		t->hash[i] = NULL;
	list_init(&t->all);
	list_init(&t->rxq);
	list_init(&t->dead);
	t->nr = 0;
	t->next_port = VSOCK_PORT_FIRST;
}

struct vsock_conn *vsock_conn_new(struct vsock_table *t, int fd)
{
	struct vsock_conn *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->fd = fd;
	c->state = VSOCK_HANDSHAKE;
	list_init(&c->rxl);
	list_add_tail(&t->all, &c->link);
	t->nr++;
	return c;
}

struct vsock_conn *vsock_table_find(const struct vsock_table *t, uint32_t local, uint32_t peer)
{
	struct vsock_conn *c = t->hash[bucket(local, peer)];

	while (c && (c->local_port != local || c->peer_port != peer))
		c = c->hnext;
	return c;
}

int vsock_table_insert(struct vsock_table *t, struct vsock_conn *c, uint32_t local,
		       uint32_t peer)
{
	unsigned int b = bucket(local, peer);

	if (vsock_table_find(t, local, peer))
		return -EEXIST;
	c->local_port = local;
	c->peer_port = peer;
	c->hnext = t->hash[b];
	t->hash[b] = c;
	c->hashed = true;
	return 0;
}

int vsock_table_alloc_port(struct vsock_table *t, uint32_t peer, uint32_t *port)
{
	/* The device keeps far fewer than 4096 connections, so this always finds a free
	 * key; the bound only guards against a broken table. */
	for (unsigned int i = 0; i < 4096; i++) {
		uint32_t p = t->next_port;

		/* UINT32_MAX is VMADDR_PORT_ANY: never hand it out. */
		t->next_port = p + 1 >= UINT32_MAX ? VSOCK_PORT_FIRST : p + 1;
		if (!vsock_table_find(t, p, peer)) {
			*port = p;
			return 0;
		}
	}
	return -EAGAIN;
}

static void unhash(struct vsock_table *t, struct vsock_conn *c)
{
	struct vsock_conn **pp = &t->hash[bucket(c->local_port, c->peer_port)];

	while (*pp && *pp != c)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = c->hnext;
	c->hashed = false;
}

void vsock_conn_kill(struct vsock_table *t, struct vsock_conn *c)
{
	if (c->state == VSOCK_DEAD)
		return;
	if (c->hashed)
		unhash(t, c);
	list_del(&c->rxl);
	list_del(&c->link);
	list_add_tail(&t->dead, &c->link);
	c->state = VSOCK_DEAD;
	c->pending = 0;
	vsock_ring_free(&c->out);
	t->nr--;
}

void vsock_table_reap(struct vsock_table *t)
{
	while (!list_empty(&t->dead)) {
		struct vsock_conn *c = conn_of(t->dead.next, link);

		list_del(&c->link);
		free(c);
	}
}

struct vsock_conn *vsock_table_next(struct vsock_table *t, struct vsock_conn *pos)
{
	struct vsock_list *n = pos ? pos->link.next : t->all.next;

	return n == &t->all ? NULL : conn_of(n, link);
}

uint32_t vsock_conn_credit(const struct vsock_conn *c)
{
	return vsock_credit(c->peer_buf_alloc, c->tx_cnt, c->peer_fwd_cnt);
}

bool vsock_conn_can_send(const struct vsock_conn *c)
{
	return c->state == VSOCK_ESTABLISHED && c->fd >= 0 && c->readable &&
	       !(c->peer_shut & VSOCK_SHUT_RCV) && vsock_conn_credit(c) > 0;
}

static enum vsock_act established(struct vsock_conn *c, const struct vsock_hdr *h)
{
	switch (h->op) {
	case VSOCK_OP_RW:
		if (c->peer_shut & VSOCK_SHUT_SEND)
			return VSOCK_ACT_RESET;
		if ((uint64_t)(uint32_t)(c->rx_cnt - c->fwd_cnt) + h->len > VSOCK_BUF_ALLOC)
			return VSOCK_ACT_RESET;		/* overran the credit it was given */
		c->rx_cnt += h->len;
		return h->len ? VSOCK_ACT_DATA : VSOCK_ACT_NONE;
	case VSOCK_OP_CREDIT_UPDATE:
		return VSOCK_ACT_NONE;
	case VSOCK_OP_CREDIT_REQUEST:
		c->pending |= VSOCK_P_CREDIT_UPDATE;
		return VSOCK_ACT_NONE;
	case VSOCK_OP_SHUTDOWN:
		c->peer_shut |= h->flags & VSOCK_SHUT_BOTH;
		if (c->peer_shut == VSOCK_SHUT_BOTH) {
			c->state = VSOCK_DRAINING;
			c->pending = 0;
			return VSOCK_ACT_DRAIN;
		}
		return (h->flags & VSOCK_SHUT_SEND) ? VSOCK_ACT_SHUT_WR : VSOCK_ACT_NONE;
	case VSOCK_OP_RST:
		return VSOCK_ACT_DROP;
	default:
		return VSOCK_ACT_RESET;		/* REQUEST or RESPONSE when connected */
	}
}

enum vsock_act vsock_conn_recv(struct vsock_conn *c, const struct vsock_hdr *h)
{
	c->peer_buf_alloc = h->buf_alloc;
	c->peer_fwd_cnt = h->fwd_cnt;
	if (vsock_conn_credit(c))
		c->credit_asked = false;

	switch (c->state) {
	case VSOCK_CONNECTING:
		if (h->op == VSOCK_OP_RESPONSE && !(c->pending & VSOCK_P_REQUEST)) {
			c->state = VSOCK_ESTABLISHED;
			c->deadline = 0;
			return VSOCK_ACT_OPENED;
		}
		return h->op == VSOCK_OP_RST ? VSOCK_ACT_DROP : VSOCK_ACT_RESET;
	case VSOCK_ESTABLISHED:
		return established(c, h);
	case VSOCK_DRAINING:
		return h->op == VSOCK_OP_RST ? VSOCK_ACT_DROP : VSOCK_ACT_NONE;
	case VSOCK_CLOSING:
		if (h->op == VSOCK_OP_RST)
			return VSOCK_ACT_DROP;
		return h->op == VSOCK_OP_SHUTDOWN ? VSOCK_ACT_RESET : VSOCK_ACT_NONE;
	default:
		return VSOCK_ACT_RESET;		/* never keyed in these states */
	}
}

static uint16_t take(struct vsock_conn *c, unsigned int bit, uint16_t op)
{
	c->pending &= ~bit;
	return op;
}

uint16_t vsock_conn_next_ctl(struct vsock_conn *c, uint32_t *flags)
{
	*flags = 0;
	if (c->pending & VSOCK_P_REQUEST)
		return take(c, VSOCK_P_REQUEST, VSOCK_OP_REQUEST);
	if (c->pending & VSOCK_P_RESPONSE)
		return take(c, VSOCK_P_RESPONSE, VSOCK_OP_RESPONSE);
	if (c->pending & VSOCK_P_CREDIT_REQUEST)
		return take(c, VSOCK_P_CREDIT_REQUEST, VSOCK_OP_CREDIT_REQUEST);
	if (vsock_conn_can_send(c))
		return 0;		/* data next; its header carries the credit */
	if (c->pending & VSOCK_P_CREDIT_UPDATE)
		return take(c, VSOCK_P_CREDIT_UPDATE, VSOCK_OP_CREDIT_UPDATE);
	if (c->pending & VSOCK_P_SHUTDOWN) {
		*flags = VSOCK_SHUT_BOTH;
		return take(c, VSOCK_P_SHUTDOWN, VSOCK_OP_SHUTDOWN);
	}
	return 0;
}

void vsock_conn_hdr(struct vsock_conn *c, uint64_t guest_cid, uint16_t op, uint32_t flags,
		    uint32_t len, struct vsock_hdr *h)
{
	*h = (struct vsock_hdr){
		.src_cid = VSOCK_HOST_CID,
		.dst_cid = guest_cid,
		.src_port = c->local_port,
		.dst_port = c->peer_port,
		.len = len,
		.type = VSOCK_TYPE_STREAM,
		.op = op,
		.flags = flags,
		.buf_alloc = VSOCK_BUF_ALLOC,
		.fwd_cnt = c->fwd_cnt,
	};
	c->fwd_sent = c->fwd_cnt;
	c->pending &= ~VSOCK_P_CREDIT_UPDATE;
	if (op != VSOCK_OP_RW)
		return;
	c->tx_cnt += len;
	if (!vsock_conn_credit(c) && !c->credit_asked) {
		c->pending |= VSOCK_P_CREDIT_REQUEST;
		c->credit_asked = true;
	}
}

void vsock_conn_forwarded(struct vsock_conn *c, uint32_t n)
{
	c->fwd_cnt += n;
	if (c->state != VSOCK_ESTABLISHED || c->fwd_cnt == c->fwd_sent)
		return;
	/* What the guest believes is free here, from the last fwd_cnt it saw. */
	if (vsock_credit(VSOCK_BUF_ALLOC, c->rx_cnt, c->fwd_sent) < VSOCK_BUF_ALLOC / 2)
		c->pending |= VSOCK_P_CREDIT_UPDATE;
}

void vsock_rxq_update(struct vsock_table *t, struct vsock_conn *c)
{
	bool owes = c->state != VSOCK_DEAD && (c->pending || vsock_conn_can_send(c));

	if (owes && list_empty(&c->rxl))
		list_add_tail(&t->rxq, &c->rxl);
	else if (!owes && !list_empty(&c->rxl))
		list_del(&c->rxl);
}

struct vsock_conn *vsock_rxq_pop(struct vsock_table *t)
{
	struct vsock_conn *c;

	if (list_empty(&t->rxq))
		return NULL;
	c = conn_of(t->rxq.next, rxl);
	list_del(&c->rxl);
	return c;
}

int vsock_ring_reserve(struct vsock_ring *r, uint32_t n, struct iovec iov[2])
{
	uint32_t tail, first;

	if (n > VSOCK_RING_CAP - r->len)
		return -ENOSPC;
	if (!r->data) {
		r->data = malloc(VSOCK_RING_CAP);
		if (!r->data)
			return -ENOMEM;
		r->head = 0;
	}
	tail = (r->head + r->len) % VSOCK_RING_CAP;
	first = n < VSOCK_RING_CAP - tail ? n : VSOCK_RING_CAP - tail;
	iov[0] = (struct iovec){ .iov_base = r->data + tail, .iov_len = first };
	if (first == n)
		return 1;
	iov[1] = (struct iovec){ .iov_base = r->data, .iov_len = n - first };
	return 2;
}

void vsock_ring_commit(struct vsock_ring *r, uint32_t n)
{
	r->len += n;
}

int vsock_ring_iov(const struct vsock_ring *r, struct iovec iov[2])
{
	uint32_t first;

	if (!r->len)
		return 0;
	first = r->len < VSOCK_RING_CAP - r->head ? r->len : VSOCK_RING_CAP - r->head;
	iov[0] = (struct iovec){ .iov_base = r->data + r->head, .iov_len = first };
	if (first == r->len)
		return 1;
	iov[1] = (struct iovec){ .iov_base = r->data, .iov_len = r->len - first };
	return 2;
}

uint32_t vsock_ring_consume(struct vsock_ring *r, uint32_t n)
{
	uint32_t skipped;

	if (n > r->len)
		n = r->len;
	skipped = n < r->skip ? n : r->skip;
	r->skip -= skipped;
	r->head = (r->head + n) % VSOCK_RING_CAP;
	r->len -= n;
	if (!r->len)
		vsock_ring_free(r);
	return n - skipped;
}

void vsock_ring_free(struct vsock_ring *r)
{
	free(r->data);
	*r = (struct vsock_ring){ 0 };
}
