/*
 * virtio-vsock device state shared by the device proper (vsock.c: queues, packets to and
 * from the guest) and its Unix-socket side (vsock_listen.c: the listener, the CONNECT
 * handshake, deadlines, the event loop; vsock_host.c: connections to <path>_<port>, the
 * relay). Private to those files (and the unit tests).
 *
 * Threads: everything runs with the device lock held, on the device worker (queue kicks,
 * the fd callback) or on a vCPU thread (activate, reset). The device's sockets and a timerfd
 * live on the device's own epoll set, which sits on the worker as one watched fd: events are
 * fetched inside the callback, so closing a connection while handling another never leaves
 * a stale event behind, and the number of connections is not limited by the worker's table.
 */
#ifndef KVMM_VIRTIO_VSOCK_DEV_H
#define KVMM_VIRTIO_VSOCK_DEV_H

#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "virtio.h"
#include "vsock_conn.h"

#define VSOCK_RXQ		0
#define VSOCK_TXQ		1
#define VSOCK_EVQ		2
#define VSOCK_QUEUE_SIZE	256
#define VSOCK_MAX_CONNS		128	/* live connections, handshakes included */
#define VSOCK_RST_MAX		64	/* RSTs owed for connections kvmm no longer has */
#define VSOCK_TIMEOUT_MS	5000	/* CONNECT line, guest RESPONSE, guest RST, drain */

struct vsock_counters {
	uint64_t rx_packets;		/* packets to the guest */
	uint64_t rx_bytes;		/* payload bytes to the guest */
	uint64_t tx_packets;		/* well-formed packets from the guest */
	uint64_t tx_bytes;		/* payload bytes from the guest */
	uint64_t malformed;		/* packets dropped or answered RST as broken */
	uint64_t rst_dropped;		/* RSTs not sent: the owed list was full */
	uint64_t conn_opened;		/* connections established (both directions) */
	uint64_t conn_refused;		/* nothing listening, bad handshake, timeout */
};

/* An RST owed to the guest for a connection kvmm has forgotten. */
struct vsock_rst {
	uint64_t src_cid;		/* normally 2; the CID the guest addressed */
	uint32_t src_port;
	uint32_t dst_port;
};

struct vsock {
	struct virtio_dev vdev;
	char id[24];			/* vm.counters / vm.info name ("_vsock2") */
	char *path;			/* the hybrid vsock Unix socket */
	uint64_t cid;			/* the guest's */
	uint8_t config[8];		/* le64 guest_cid */
	dev_t sock_dev;			/* the socket file we created, to remove only ours */
	ino_t sock_ino;
	int listen_fd;
	int epfd;			/* the device's own epoll set */
	int timer_fd;			/* periodic deadline sweep while a deadline is set */
	bool active;			/* activate .. reset */
	bool watched;			/* epfd is on the worker */
	bool timer_armed;
	bool listen_paused;		/* accept() failed (out of fds): retried at the sweep */
	unsigned int timeout_ms;	/* VSOCK_TIMEOUT_MS; tests shorten it */
	struct vsock_table tab;
	struct vsock_rst rst[VSOCK_RST_MAX];
	unsigned int rst_head, rst_nr;
	struct vsock_counters cnt;
	char tag_listen, tag_timer;	/* epoll data for the listener and the timer */
	struct iovec iov[VQ_MAX_SIZE];	/* worker scratch */
	struct vq_chain chain;
};

/* vsock.c */
/* Moves what is owed to the guest into its receive queue (one interrupt per batch). */
void vsock_rx(struct vsock *v);
/* Owes the guest an RST from SRC_CID:LOCAL to PEER (dropped and counted when full). */
void vsock_queue_rst(struct vsock *v, uint64_t src_cid, uint32_t local, uint32_t peer);

/* vsock_listen.c */
/* Replaces a stale socket at V->path (refusing a live one or a non-socket) and listens. */
int vsock_host_open(struct vsock *v);
/* Closes every connection (RST to the guest when SEND_RST); vsock_host_close() also the
 * listener, the epoll set and the timer, and removes the socket file. */
void vsock_host_close_conns(struct vsock *v, bool send_rst);
void vsock_host_close(struct vsock *v);
/* Device live or not: the listener is read only while it is. 0/-errno. */
int vsock_host_start(struct vsock *v);
void vsock_host_stop(struct vsock *v);
/* epoll_ctl() on the device's set, 0/-errno. */
int vsock_ep_ctl(struct vsock *v, int op, int fd, uint32_t events, void *ptr);
/* C must progress within the timeout (arms the sweep). */
void vsock_set_deadline(struct vsock *v, struct vsock_conn *c);
/* The worker callback for the device's epoll set. */
void vsock_host_event(struct virtio_dev *d, void *opaque, uint32_t events);

/* vsock_host.c */
/* An event on C's Unix socket. */
void vsock_host_conn_event(struct vsock *v, struct vsock_conn *c, uint32_t events);
/* Re-asks epoll for what C needs now and updates its place on the rx list. */
void vsock_host_update(struct vsock *v, struct vsock_conn *c);
/* Forgets C: closes its Unix side, RST to the guest when SEND_RST. */
void vsock_host_forget(struct vsock *v, struct vsock_conn *c, bool send_rst);
/* The guest asked (H, a REQUEST) for host port H->dst_port: connects <path>_<port>. */
void vsock_host_connect(struct vsock *v, const struct vsock_hdr *h);
/* The guest accepted kvmm's REQUEST on C: "OK <port>\n" to the Unix client. */
void vsock_host_opened(struct vsock *v, struct vsock_conn *c);
/* Writes LEN payload bytes at OFF of the readable part of CH to C's Unix side, buffering
 * what it refuses. 0, or -errno when C must be reset. */
int vsock_host_deliver(struct vsock *v, struct vsock_conn *c, const struct vq_chain *ch,
		       uint64_t off, uint32_t len);
/* Writes C's buffer out and does what waited for it (half close, drain end). */
void vsock_host_flush(struct vsock *v, struct vsock_conn *c);
/* Reads from C's Unix side into IOV[0..N): bytes, 0 at end of stream, or -errno. */
ssize_t vsock_host_read(struct vsock *v, struct vsock_conn *c, const struct iovec *iov, int n);
/* C's Unix side ended (end of stream or error): SHUTDOWN to the guest, wait for its RST. */
void vsock_host_ended(struct vsock *v, struct vsock_conn *c);

#endif
