/*
 * virtio-vsock (virtio 1.x, 5.10) with the hybrid vsock back-end, the Kata agent channel:
 * the device description (three queues: rx, tx, event; config space le64 guest_cid), the
 * transmit queue (packets from the guest, checked and handed to the connection state
 * machine) and the receive queue (packets to the guest). The Unix-socket side is
 * vsock_listen.c and vsock_host.c, connections vsock_conn.c, packets vsock_pkt.c.
 *
 * Receive: what the guest is owed (RSTs for forgotten connections, then connections in
 * round-robin order: their control packets and the data their sockets hold, within the
 * guest's credit) goes into its receive buffers, data read from the socket straight into
 * them. Out of buffers, the device stops and waits for the driver's kick on the receive
 * queue: readable sockets are not watched meanwhile, so nothing spins. One interrupt per
 * batch. The event queue's buffers are left with the device: kvmm sends no events.
 */
#define _GNU_SOURCE
#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devices.h"
#include "log.h"
#include "vsock_dev.h"

static void vsock_broken(struct vsock *v, const char *why)
{
	virtio_needs_reset(&v->vdev, why);
	v->active = false;
	vsock_host_stop(v);
	vsock_host_close_conns(v, false);
}

void vsock_queue_rst(struct vsock *v, uint64_t src_cid, uint32_t local, uint32_t peer)
{
	if (v->rst_nr == VSOCK_RST_MAX) {
		v->cnt.rst_dropped++;
		return;
	}
	v->rst[(v->rst_head + v->rst_nr) % VSOCK_RST_MAX] = (struct vsock_rst){
		.src_cid = src_cid, .src_port = local, .dst_port = peer,
	};
	v->rst_nr++;
}

/* Writes H as the header of receive chain CH. */
static void rx_hdr(struct vsock *v, const struct vq_chain *ch, const struct vsock_hdr *h)
{
	uint8_t raw[VSOCK_HDR_LEN];

	vsock_hdr_encode(h, raw);
	vq_scatter(v->vdev.mem, &ch->bufs[ch->nr_out], ch->nr_in, 0, raw, VSOCK_HDR_LEN);
}

/* C's next packet into CH: its length with the header, or 0 when C had nothing after all. */
static uint32_t rx_conn(struct vsock *v, struct vsock_conn *c, const struct vq_chain *ch)
{
	uint64_t room = ch->in_len - VSOCK_HDR_LEN;
	struct vsock_hdr h;
	uint32_t flags;
	uint16_t op;
	ssize_t got;
	int n;

	for (;;) {
		op = vsock_conn_next_ctl(c, &flags);
		if (op) {
			vsock_conn_hdr(c, v->cid, op, flags, 0, &h);
			rx_hdr(v, ch, &h);
			return VSOCK_HDR_LEN;
		}
		if (!vsock_conn_can_send(c) || !room)
			return 0;
		if (room > vsock_conn_credit(c))
			room = vsock_conn_credit(c);
		if (room > VSOCK_MAX_PAYLOAD)
			room = VSOCK_MAX_PAYLOAD;
		n = vq_iov(v->vdev.mem, &ch->bufs[ch->nr_out], ch->nr_in, VSOCK_HDR_LEN, room,
			   v->iov, VQ_MAX_SIZE);
		if (n <= 0)
			return 0;
		got = vsock_host_read(v, c, v->iov, n);
		if (got == -EAGAIN) {
			c->readable = false;	/* watched for EPOLLIN again */
			return 0;
		}
		if (got > 0)
			break;
		vsock_host_ended(v, c);		/* end of stream or error: SHUTDOWN next */
	}
	vsock_conn_hdr(c, v->cid, VSOCK_OP_RW, 0, (uint32_t)got, &h);
	rx_hdr(v, ch, &h);
	v->cnt.rx_bytes += (uint64_t)got;
	return VSOCK_HDR_LEN + (uint32_t)got;
}

/* The next packet owed to the guest into CH; 0 when nothing could be produced. */
static uint32_t rx_one(struct vsock *v, const struct vq_chain *ch)
{
	struct vsock_conn *c;
	uint32_t len;

	if (v->rst_nr) {
		const struct vsock_rst *r = &v->rst[v->rst_head];
		struct vsock_hdr h = {
			.src_cid = r->src_cid, .dst_cid = v->cid,
			.src_port = r->src_port, .dst_port = r->dst_port,
			.type = VSOCK_TYPE_STREAM, .op = VSOCK_OP_RST,
		};

		v->rst_head = (v->rst_head + 1) % VSOCK_RST_MAX;
		v->rst_nr--;
		rx_hdr(v, ch, &h);
		return VSOCK_HDR_LEN;
	}
	/* Each connection at most once (plus one): one that cannot use this chain (no room
	 * for data in it) goes back to the tail without looping. */
	for (unsigned int i = 0, nr = v->tab.nr; i <= nr && (c = vsock_rxq_pop(&v->tab)); i++) {
		len = rx_conn(v, c, ch);
		vsock_host_update(v, c);	/* back on the tail if it owes more */
		if (len)
			return len;
	}
	return 0;
}

void vsock_rx(struct vsock *v)
{
	struct vq *vq = &v->vdev.vqs[VSOCK_RXQ];
	struct vq_chain *ch = &v->chain;
	unsigned int pushed = 0;
	uint32_t len;
	int ret;

	if (!v->active || !vq->ready)
		return;
	while (v->rst_nr || !vsock_rxq_empty(&v->tab)) {
		ret = vq_pop(vq, v->vdev.mem, ch);
		if (ret == 0) {
			if (vq_enable_notify(vq, v->vdev.mem))
				continue;
			break;		/* the driver kicks the queue when it adds buffers */
		}
		if (ret == -EIO) {
			vsock_broken(v, "broken receive ring");
			break;
		}
		len = 0;
		if (ret < 0 || ch->nr_out || ch->in_len < VSOCK_HDR_LEN) {
			v->cnt.malformed++;
		} else {
			len = rx_one(v, ch);
			if (!len) {
				vq_unpop(vq, 1);
				break;
			}
			v->cnt.rx_packets++;
		}
		if (vq_push(vq, v->vdev.mem, ch->head, len)) {
			vsock_broken(v, "receive used ring not writable");
			break;
		}
		pushed++;
	}
	if (pushed)
		virtio_notify_used(&v->vdev, VSOCK_RXQ);
}

/* Does what the state machine asked after a packet from the guest on C. */
static void tx_act(struct vsock *v, struct vsock_conn *c, enum vsock_act act,
		   const struct vq_chain *ch, uint32_t len)
{
	switch (act) {
	case VSOCK_ACT_OPENED:
		vsock_host_opened(v, c);
		break;
	case VSOCK_ACT_DATA:
		if (vsock_host_deliver(v, c, ch, VSOCK_HDR_LEN, len))
			vsock_host_forget(v, c, true);
		break;
	case VSOCK_ACT_DRAIN:
		vsock_set_deadline(v, c);
		vsock_host_flush(v, c);		/* ends the drain when nothing waits */
		break;
	case VSOCK_ACT_SHUT_WR:
		vsock_host_flush(v, c);
		break;
	case VSOCK_ACT_DROP:
		if (c->state == VSOCK_CONNECTING)
			v->cnt.conn_refused++;		/* nothing listens on that port */
		vsock_host_forget(v, c, false);
		break;
	case VSOCK_ACT_RESET:
		v->cnt.malformed++;
		vsock_host_forget(v, c, true);
		break;
	case VSOCK_ACT_NONE:
		break;
	}
	vsock_host_update(v, c);	/* credit may have changed what C may do */
}

/* One packet from the guest. Every field is the guest's: checked before use. */
static void tx_packet(struct vsock *v, const struct vq_chain *ch)
{
	uint8_t raw[VSOCK_HDR_LEN];
	struct vsock_conn *c;
	enum vsock_verdict vd;
	struct vsock_hdr h;
	const char *why;

	if (ch->nr_in || ch->out_len < VSOCK_HDR_LEN ||
	    vq_gather(v->vdev.mem, ch->bufs, ch->nr_out, 0, raw, VSOCK_HDR_LEN) != VSOCK_HDR_LEN) {
		v->cnt.malformed++;
		pr_debug("%s: dropping a transmit chain: no header", v->vdev.name);
		return;
	}
	vsock_hdr_decode(raw, &h);
	vd = vsock_hdr_check(&h, ch->out_len - VSOCK_HDR_LEN, v->cid, &why);
	if (vd != VSOCK_PKT_OK) {
		v->cnt.malformed++;
		pr_debug("%s: %s a packet: %s", v->vdev.name,
			 vd == VSOCK_PKT_RST ? "resetting" : "dropping", why);
		if (vd == VSOCK_PKT_RST)
			vsock_queue_rst(v, h.dst_cid, h.dst_port, h.src_port);
		return;
	}
	v->cnt.tx_packets++;
	if (h.op == VSOCK_OP_RW)
		v->cnt.tx_bytes += h.len;
	c = vsock_table_find(&v->tab, h.dst_port, h.src_port);
	if (c) {
		tx_act(v, c, vsock_conn_recv(c, &h), ch, h.len);
	} else if (h.op == VSOCK_OP_REQUEST) {
		vsock_host_connect(v, &h);
	} else if (h.op != VSOCK_OP_RST) {
		if (h.op == VSOCK_OP_RW)
			v->cnt.malformed++;
		vsock_queue_rst(v, VSOCK_HOST_CID, h.dst_port, h.src_port);
	}
}

static void vsock_tx(struct vsock *v)
{
	struct vq *vq = &v->vdev.vqs[VSOCK_TXQ];
	struct vq_chain *ch = &v->chain;
	unsigned int pushed = 0;
	int ret;

	for (;;) {
		ret = vq_pop(vq, v->vdev.mem, ch);
		if (ret == 0) {
			if (!vq_enable_notify(vq, v->vdev.mem))
				break;
			continue;
		}
		if (ret == -EIO) {
			vsock_broken(v, "broken transmit ring");
			break;
		}
		if (ret < 0)
			v->cnt.malformed++;
		else
			tx_packet(v, ch);
		if (vq_push(vq, v->vdev.mem, ch->head, 0)) {
			vsock_broken(v, "transmit used ring not writable");
			break;
		}
		pushed++;
	}
	if (pushed)
		virtio_notify_used(&v->vdev, VSOCK_TXQ);
}

static void vsock_queue_notify(struct virtio_dev *d, unsigned int q)
{
	struct vsock *v = d->priv;

	if (!v->active)
		return;
	if (q == VSOCK_TXQ)
		vsock_tx(v);
	/* After transmit: answers it queued. After a receive kick: the buffers wanted. The
	 * event queue's buffers stay where they are. */
	if (q != VSOCK_EVQ)
		vsock_rx(v);
	vsock_table_reap(&v->tab);
}

static int vsock_activate(struct virtio_dev *d)
{
	struct vsock *v = d->priv;
	int ret = vsock_host_start(v);

	if (ret)
		return ret;
	v->active = true;
	pr_info("%s: guest cid %llu, features 0x%llx", v->vdev.name,
		(unsigned long long)v->cid, (unsigned long long)d->acked);
	return 0;
}

static void vsock_reset(struct virtio_dev *d)
{
	struct vsock *v = d->priv;

	v->active = false;
	vsock_host_stop(v);
	vsock_host_close_conns(v, false);	/* the guest's sockets are gone with its driver */
	v->rst_head = v->rst_nr = 0;
	vsock_table_reap(&v->tab);
}

static void vsock_config_read(struct virtio_dev *d, uint32_t off, void *data, uint32_t len)
{
	struct vsock *v = d->priv;

	memcpy(data, v->config + off, len);
}

static void vsock_destroy(struct virtio_dev *d)
{
	struct vsock *v = d->priv;
	const struct vsock_counters *c = &v->cnt;

	pr_info("%s: rx %llu packets %llu bytes; tx %llu packets %llu bytes; %llu malformed; "
		"connections %llu opened %llu refused", v->vdev.name,
		(unsigned long long)c->rx_packets, (unsigned long long)c->rx_bytes,
		(unsigned long long)c->tx_packets, (unsigned long long)c->tx_bytes,
		(unsigned long long)c->malformed, (unsigned long long)c->conn_opened,
		(unsigned long long)c->conn_refused);
	vsock_host_close(v);
	free(v->path);
	free(v);
}

/* For vm.counters (API thread, no lock: each value a whole 64-bit word that only grows). */
static unsigned int vsock_counters(struct virtio_dev *d, struct virtio_counter *out)
{
	const struct vsock_counters *c = &((struct vsock *)d->priv)->cnt;
	const struct virtio_counter v[] = {
		{ "rx_packets", c->rx_packets }, { "rx_bytes", c->rx_bytes },
		{ "tx_packets", c->tx_packets }, { "tx_bytes", c->tx_bytes },
		{ "malformed", c->malformed }, { "rst_dropped", c->rst_dropped },
		{ "conn_opened", c->conn_opened }, { "conn_refused", c->conn_refused },
	};

	memcpy(out, v, sizeof(v));
	return sizeof(v) / sizeof(v[0]);
}

static const struct virtio_dev_ops vsock_ops = {
	.config_read = vsock_config_read,
	.activate = vsock_activate,
	.queue_notify = vsock_queue_notify,
	.reset = vsock_reset,
	.destroy = vsock_destroy,
	.counters = vsock_counters,
};

int virtio_vsock_new(const struct vsock_config *vc, struct virtio_dev **out)
{
	struct vsock *v = calloc(1, sizeof(*v));
	uint64_t cid = htole64(vc->cid);
	int ret;

	if (!v)
		return -ENOMEM;
	v->path = strdup(vc->socket ? vc->socket : "");
	if (!v->path) {
		free(v);
		return -ENOMEM;
	}
	v->cid = vc->cid;
	snprintf(v->id, sizeof(v->id), "%s", vc->id ? vc->id : "_vsock0");
	memcpy(v->config, &cid, sizeof(cid));
	v->listen_fd = v->epfd = v->timer_fd = -1;
	v->timeout_ms = VSOCK_TIMEOUT_MS;
	vsock_table_init(&v->tab);
	v->vdev = (struct virtio_dev){
		.name = "virtio-vsock",
		.id = v->id,
		.device_id = VIRTIO_ID_VSOCK,
		.ops = &vsock_ops,
		.priv = v,
		.features = VIRTIO_BIT(VIRTIO_F_EVENT_IDX) | VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC),
		.config_size = sizeof(v->config),
		.nr_queues = 3,
		.queue_max = VSOCK_QUEUE_SIZE,
	};
	ret = vsock_host_open(v);
	if (ret) {
		free(v->path);
		free(v);
		return ret;
	}
	pr_info("%s: guest cid %llu, hybrid vsock socket %s", v->vdev.name,
		(unsigned long long)v->cid, v->path);
	*out = &v->vdev;
	return 0;
}
