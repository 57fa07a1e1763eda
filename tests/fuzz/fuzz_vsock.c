/*
 * libFuzzer target for virtio-vsock with the hybrid vsock back-end (virtio/vsock.c,
 * vsock_pkt.c, vsock_conn.c, vsock_host.c, vsock_listen.c) as a hostile guest and hostile
 * host clients drive it together: a real device on a virtio-mmio transport made with
 * virtio_mmio_test_new() (no KVM, no worker thread: the harness calls the device's
 * queue_notify and its epoll callback itself, on this thread, so runs are deterministic),
 * over 512 KiB of guest RAM, with its Unix socket in a temporary directory and a listener at
 * <path>_2000 for the guest to connect to. Everything is made and torn down per input.
 *
 * The input is a sequence of operations; the first byte B of each says what, B % 8:
 *   0	the guest sends a packet (transmit queue): byte F of flags, byte op (% 9: 0 and 8
 *	invalid), byte src port (guest port 1024 + % 4), byte dst port selector (% 4: 2000,
 *	the host-side port of the connection with index byte >> 2 % 8, 1024, 0x40000000),
 *	byte shutdown/other flags, le32 buf_alloc, le32 fwd_cnt, le16 payload length (% 4097);
 *	F bit 0: src_cid not the guest's, 1: dst_cid not the host's, 2: type not STREAM,
 *	3: the descriptor one byte short of the header, 4: the packet split over two
 *	descriptors, 5: len claims more than the buffers hold, 6: a device-writable buffer,
 *	7: an indirect descriptor for it;
 *   1	the guest posts receive buffers (byte: how many, % 17; byte: size class, % 4:
 *	44, 45, 300, 4140 bytes) and kicks the receive queue;
 *   2	a host client connects to the device's socket and writes (byte: which line, % 4:
 *	"CONNECT 1024\n", "connect 1025\r\n" plus data, 64 bytes without a newline, the next
 *	byte's length of input bytes);
 *   3	host client (byte % 8) writes (byte: length % 64) input bytes;
 *   4	host client (byte % 8) closes (B & 0x80: shutdown(SHUT_WR) only);
 *   5	the guest-side listener accepts what waits; 6 accepted socket (byte % 8) writes
 *	(byte: length % 64) input bytes (B & 0x80: closes instead);
 *   7	nothing new: the device's epoll callback and the receive queue run again.
 * After every operation the device's epoll callback runs while its epoll set is ready (as the
 * worker would),
 * then the harness takes what the device put in the receive queue.
 *
 * Checked (abort on violation): every packet the device gives the guest has a used length
 * of at least the header and at most the buffer, a header whose len is the payload, dst_cid
 * the guest's, type STREAM, an op in 1..7 and src_cid the host's (or, for an RST, the CID the
 * guest had addressed); the live connections never exceed VSOCK_MAX_CONNS and are on the
 * table by their key once past the handshake; owed RSTs stay within VSOCK_RST_MAX; each
 * connection's buffer of guest data stays within VSOCK_RING_CAP; and no fd is left open once
 * the device is destroyed (sockets, epoll set and timer included).
 */
#define _GNU_SOURCE
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "fuzz_util.h"
#include "devices.h"
#include "guest_mem.h"
#include "log.h"
#include "mmio.h"
#include "transport.h"
#include "vsock_conn.h"
#include "vsock_dev.h"
#include "vsock_pkt.h"

#define KiB		(1ULL << 10)
#define RAM_SIZE	(512 * KiB)
#define GCID		3ULL
#define QSZ		16
#define RXR		0x00000ULL	/* rings: descriptors, +0x1000 avail, +0x2000 used */
#define TXR		0x04000ULL
#define EVR		0x08000ULL
#define RXB		0x10000ULL	/* receive buffers, 0x2000 apart */
#define TXB		0x40000ULL	/* transmit slots, 0x2000 apart (+ an indirect table) */
#define TX_SLOT		0x2000ULL
#define IND		0x70000ULL	/* indirect tables, 0x100 apart */
#define MAX_PAYLOAD	4096
#define NR_SOCKS	8
#define MAX_OPS		256
#define FD_PROBE	64

static const uint32_t rx_sizes[4] = { VSOCK_HDR_LEN, VSOCK_HDR_LEN + 1, 300,
				       VSOCK_HDR_LEN + 4096 };

static struct guest_mem gm;
static char dir[64], path[96], path2000[112];

/* One input's world. */
static struct virtio_dev *dev;
static struct vsock *vs;
static struct virtio_transport *t;
static int lsn = -1;				/* the guest-side listener at <path>_2000 */
static int cli[NR_SOCKS], acc[NR_SOCKS];
static unsigned int nr_cli, nr_acc;
static uint16_t rx_avail, rx_seen, tx_avail;
static uint32_t rx_len[QSZ];			/* each receive descriptor's buffer */
static uint8_t pkt[VSOCK_HDR_LEN + MAX_PAYLOAD + 64];

/* The directory is empty between inputs: the device removes its socket, dev_down() ours. */
static void remove_dir(void)
{
	rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct gm_region l[] = { { .gpa = 0, .size = RAM_SIZE } };

	(void)argc;
	(void)argv;
	log_threshold = LOG_QUIET;	/* refused packets and connections are expected */
	if (gm_create(&gm, l, 1))
		return -1;
	snprintf(dir, sizeof(dir), "/tmp/kvmm-fuzz-vsock-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(path, sizeof(path), "%s/v.sock", dir);
	snprintf(path2000, sizeof(path2000), "%s_2000", path);
	atexit(remove_dir);
	return 0;
}

static void wr16(uint64_t gpa, uint16_t v)
{
	v = htole16(v);
	check(!gm_write(&gm, gpa, &v, 2));
}

static uint16_t rd16(uint64_t gpa)
{
	uint16_t v;

	check(!gm_read(&gm, gpa, &v, 2));
	return le16toh(v);
}

static uint32_t rd32(uint64_t gpa)
{
	uint32_t v;

	check(!gm_read(&gm, gpa, &v, 4));
	return le32toh(v);
}

static void desc_at(uint64_t table, uint16_t i, uint64_t addr, uint32_t len, uint16_t flags,
		    uint16_t next)
{
	uint8_t d[16];
	uint64_t a = htole64(addr);
	uint32_t l = htole32(len);
	uint16_t f = htole16(flags), n = htole16(next);

	memcpy(d, &a, 8);
	memcpy(d + 8, &l, 4);
	memcpy(d + 12, &f, 2);
	memcpy(d + 14, &n, 2);
	check(!gm_write(&gm, table + 16ULL * i, d, 16));
}

static void publish(uint64_t ring, uint16_t *idx, uint16_t head)
{
	wr16(ring + 0x1000 + 4 + 2 * (*idx % QSZ), head);
	(*idx)++;
	wr16(ring + 0x1000 + 2, *idx);
}

static void mmio_wr(uint64_t off, uint32_t v)
{
	virtio_mmio_access(t, off, (uint8_t *)&v, 4, true);
}

static void queue_up(unsigned int q, uint64_t ring)
{
	mmio_wr(VIRTIO_MMIO_QUEUE_SEL, q);
	mmio_wr(VIRTIO_MMIO_QUEUE_NUM, QSZ);
	mmio_wr(VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)ring);
	mmio_wr(VIRTIO_MMIO_QUEUE_DRIVER_LOW, (uint32_t)(ring + 0x1000));
	mmio_wr(VIRTIO_MMIO_QUEUE_DEVICE_LOW, (uint32_t)(ring + 0x2000));
	mmio_wr(VIRTIO_MMIO_QUEUE_READY, 1);
}

/* The device and its transport, driven to DRIVER_OK (EVENT_IDX when EVENT_IDX). */
static int dev_up(bool event_idx)
{
	const uint32_t st = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER;
	struct vsock_config vc = { .cid = GCID, .socket = path };
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int irq;

	check(virtio_vsock_new(&vc, &dev) == 0);
	vs = dev->priv;
	vs->timeout_ms = 600000;	/* no deadline passes within one input */
	t = virtio_mmio_test_new(dev, &gm, &irq);
	check(t);
	/* The device watches its epoll set through the worker's; no worker runs, so the
	 * harness owns that set and calls the callback itself. */
	t->epfd = epoll_create1(EPOLL_CLOEXEC);
	check(t->epfd >= 0);
	mmio_wr(VIRTIO_MMIO_STATUS, st);
	mmio_wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	mmio_wr(VIRTIO_MMIO_DRIVER_FEATURES, (event_idx ? 1U << VIRTIO_F_EVENT_IDX : 0) |
					     1U << VIRTIO_F_INDIRECT_DESC);
	mmio_wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	mmio_wr(VIRTIO_MMIO_DRIVER_FEATURES, 1);		/* VERSION_1 */
	mmio_wr(VIRTIO_MMIO_STATUS, st | VIRTIO_STATUS_FEATURES_OK);
	queue_up(0, RXR);
	queue_up(1, TXR);
	queue_up(2, EVR);
	mmio_wr(VIRTIO_MMIO_STATUS, st | VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK);
	check(t->status & VIRTIO_STATUS_DRIVER_OK);

	lsn = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	check(lsn >= 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path2000);
	unlink(path2000);
	check(!bind(lsn, (struct sockaddr *)&sa, sizeof(sa)));
	check(!listen(lsn, 16));
	return 0;
}

static void dev_down(void)
{
	for (unsigned int i = 0; i < nr_cli; i++)
		if (cli[i] >= 0)
			close(cli[i]);
	for (unsigned int i = 0; i < nr_acc; i++)
		if (acc[i] >= 0)
			close(acc[i]);
	close(lsn);
	unlink(path2000);
	mmio_wr(VIRTIO_MMIO_STATUS, 0);
	virtio_mmio_test_free(t);
	dev->ops->destroy(dev);
	dev = NULL;
	t = NULL;
}

static void check_state(void)
{
	struct vsock_conn *c;
	unsigned int live = 0;

	check(vs->tab.nr <= VSOCK_MAX_CONNS);
	check(vs->rst_nr <= VSOCK_RST_MAX);
	for (c = vsock_table_next(&vs->tab, NULL); c; c = vsock_table_next(&vs->tab, c)) {
		live++;
		check(c->state != VSOCK_DEAD);
		check(c->out.len <= VSOCK_RING_CAP);
		check(c->line_len <= VSOCK_LINE_MAX);
		if (c->state != VSOCK_HANDSHAKE)
			check(c->hashed &&
			      vsock_table_find(&vs->tab, c->local_port, c->peer_port) == c);
	}
	check(live == vs->tab.nr);
}

/* What the device put in the receive queue since last time: every packet well formed. */
static void rx_take(void)
{
	while (rd16(RXR + 0x2002) != rx_seen) {
		uint64_t e = RXR + 0x2004 + 8ULL * (rx_seen % QSZ);
		uint32_t id = rd32(e), len = rd32(e + 4);
		uint8_t raw[VSOCK_HDR_LEN];
		struct vsock_hdr h;

		check(id < QSZ);
		rx_seen++;
		if (rx_len[id] < VSOCK_HDR_LEN) {
			check(len == 0);	/* not a receive buffer: handed back */
			continue;
		}
		check(len >= VSOCK_HDR_LEN && len <= rx_len[id]);
		check(!gm_read(&gm, RXB + 0x2000ULL * id, raw, VSOCK_HDR_LEN));
		vsock_hdr_decode(raw, &h);
		check(h.len == len - VSOCK_HDR_LEN);
		check(h.dst_cid == GCID);
		check(h.type == VSOCK_TYPE_STREAM);
		check(h.op >= VSOCK_OP_REQUEST && h.op <= VSOCK_OP_CREDIT_REQUEST);
		check(h.src_cid == VSOCK_HOST_CID || h.op == VSOCK_OP_RST);
		check(h.op == VSOCK_OP_RW || h.len == 0);
	}
}

/*
 * What the worker does while the device's epoll set is ready: its callback, locked (once at
 * least: the callback also fills the receive queue). Bounded: a timer never fires here.
 */
static void run_device(void)
{
	struct pollfd p = { .fd = vs->epfd, .events = POLLIN };
	int rounds = 0;

	do {
		pthread_mutex_lock(&dev->lock);
		vsock_host_event(dev, vs, EPOLLIN);
		pthread_mutex_unlock(&dev->lock);
	} while (++rounds < 16 && poll(&p, 1, 0) == 1);
	check_state();
	rx_take();
}

static uint32_t conn_port(unsigned int k)
{
	struct vsock_conn *c = vsock_table_next(&vs->tab, NULL);

	for (unsigned int i = 0; c && i < k % 8; i++)
		c = vsock_table_next(&vs->tab, c);
	return c ? c->local_port : VSOCK_PORT_FIRST;
}

static void guest_tx(uint8_t b, struct input *in)
{
	uint8_t f = u8(in), op = u8(in) % 9, sp = u8(in), dp = u8(in), fl = u8(in);
	uint32_t buf_alloc = u32(in), fwd = u32(in), plen = u16(in) % (MAX_PAYLOAD + 1);
	static const uint32_t fixed[] = { 2000, 0, 1024, VSOCK_PORT_FIRST };
	uint16_t slot = tx_avail % QSZ;
	uint64_t a = TXB + TX_SLOT * slot, table = TXR, ind = IND + 0x100ULL * slot;
	uint16_t wflag = f & 0x40 ? VIRTQ_DESC_F_WRITE : 0;
	uint32_t total = VSOCK_HDR_LEN + plen, cut;
	struct vsock_hdr h = {
		.src_cid = f & 1 ? GCID + 1 : GCID,
		.dst_cid = f & 2 ? GCID : VSOCK_HOST_CID,
		.src_port = 1024 + sp % 4,
		.dst_port = dp % 4 == 1 ? conn_port(dp >> 2) : fixed[dp % 4],
		.len = f & 0x20 ? plen + 1 : plen,
		.type = f & 4 ? 2 : VSOCK_TYPE_STREAM,
		.op = op,
		.flags = fl,
		.buf_alloc = buf_alloc,
		.fwd_cnt = fwd,
	};

	(void)b;
	vsock_hdr_encode(&h, pkt);
	for (uint32_t i = 0; i < plen; i++)
		pkt[VSOCK_HDR_LEN + i] = u8(in);
	check(!gm_write(&gm, a, pkt, total));
	if (f & 8)
		total = VSOCK_HDR_LEN - 1;
	if (f & 0x80) {
		/* The chain is an indirect table at IND for this slot. */
		table = ind;
		desc_at(TXR, slot, ind, f & 0x10 ? 32 : 16, VIRTQ_DESC_F_INDIRECT, 0);
	}
	if (f & 0x10) {
		cut = total / 2;
		desc_at(table, f & 0x80 ? 0 : slot, a, cut, VIRTQ_DESC_F_NEXT,
			f & 0x80 ? 1 : (uint16_t)((slot + 1) % QSZ));
		desc_at(table, f & 0x80 ? 1 : (slot + 1) % QSZ, a + cut, total - cut, wflag, 0);
	} else {
		desc_at(table, f & 0x80 ? 0 : slot, a, total, wflag, 0);
	}
	publish(TXR, &tx_avail, slot);
	virtio_kick_queue(t, VSOCK_TXQ);	/* as the worker does on a kick */
}

static void guest_rx_post(struct input *in)
{
	unsigned int n = u8(in) % (QSZ + 1);
	uint32_t len = rx_sizes[u8(in) % 4];

	/* The receive ring holds QSZ chains: post only what the device gave back. */
	for (unsigned int i = 0; i < n && (uint16_t)(rx_avail - rx_seen) < QSZ; i++) {
		uint16_t id = rx_avail % QSZ;

		rx_len[id] = len;
		desc_at(RXR, id, RXB + 0x2000ULL * id, len, VIRTQ_DESC_F_WRITE, 0);
		publish(RXR, &rx_avail, id);
	}
	virtio_kick_queue(t, VSOCK_RXQ);
}

static void send_some(int fd, struct input *in, size_t n)
{
	uint8_t buf[256];

	if (n > in->n)
		n = in->n;
	if (n > sizeof(buf))
		n = sizeof(buf);
	memcpy(buf, in->p, n);
	in->p += n;
	in->n -= n;
	if (fd >= 0 && n)
		(void)send(fd, buf, n, MSG_DONTWAIT | MSG_NOSIGNAL);
}

static void host_connect(struct input *in)
{
	static const char *const lines[] = { "CONNECT 1024\n", "connect 1025\r\nearly" };
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	uint8_t which = u8(in) % 4;
	char junk[64];
	int fd;

	if (nr_cli == NR_SOCKS)
		return;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	check(fd >= 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		close(fd);
		return;
	}
	cli[nr_cli++] = fd;
	if (which < 2) {
		(void)send(fd, lines[which], strlen(lines[which]), MSG_DONTWAIT | MSG_NOSIGNAL);
	} else if (which == 2) {
		memset(junk, 'A', sizeof(junk));
		(void)send(fd, junk, sizeof(junk), MSG_DONTWAIT | MSG_NOSIGNAL);
	} else {
		send_some(fd, in, u8(in) % 80);
	}
}

static void accept_all(void)
{
	int fd;

	while (nr_acc < NR_SOCKS && (fd = accept4(lsn, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0)
		acc[nr_acc++] = fd;
}

static void fd_snapshot(uint8_t *open_fds)
{
	for (int i = 0; i < FD_PROBE; i++)
		open_fds[i] = fcntl(i, F_GETFD) >= 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t before[FD_PROBE], after[FD_PROBE];
	struct input in = { data, size };
	int ops = 0;

	if (size < 1)
		return 0;
	fd_snapshot(before);
	memset(gm_ptr(&gm, 0, RAM_SIZE), 0, RAM_SIZE);
	nr_cli = nr_acc = 0;
	rx_avail = rx_seen = tx_avail = 0;
	memset(rx_len, 0, sizeof(rx_len));
	dev_up(u8(&in) & 1);

	while (in.n && ops++ < MAX_OPS) {
		uint8_t b = u8(&in);
		unsigned int k;

		switch (b % 8) {
		case 0:
			guest_tx(b, &in);
			break;
		case 1:
			guest_rx_post(&in);
			break;
		case 2:
			host_connect(&in);
			break;
		case 3:
			k = u8(&in) % NR_SOCKS;
			send_some(k < nr_cli ? cli[k] : -1, &in, u8(&in) % 64);
			break;
		case 4:
			k = u8(&in) % NR_SOCKS;
			if (k < nr_cli && cli[k] >= 0) {
				if (b & 0x80) {
					shutdown(cli[k], SHUT_WR);
				} else {
					close(cli[k]);
					cli[k] = -1;
				}
			}
			break;
		case 5:
			accept_all();
			break;
		case 6:
			k = u8(&in) % NR_SOCKS;
			if (k < nr_acc && acc[k] >= 0 && (b & 0x80)) {
				close(acc[k]);
				acc[k] = -1;
			} else {
				send_some(k < nr_acc ? acc[k] : -1, &in, u8(&in) % 64);
			}
			break;
		case 7:
			virtio_kick_queue(t, VSOCK_RXQ);
			break;
		}
		run_device();
	}
	dev_down();
	fd_snapshot(after);
	check(!memcmp(before, after, sizeof(before)));
	return 0;
}
