/*
 * libFuzzer target for the vhost-user front-end (virtio/vhost_user.c) against a hostile
 * back-end. The input is everything the back-end ever says: it is written into the peer end
 * of a socketpair (with two eventfds riding on its first byte, as a back-end could send),
 * whose write side is then shut down, and the front-end runs what a virtio-fs device does
 * over its life:
 *
 *	handshake, set_features, set_mem_table (two regions of a small guest RAM, made once),
 *	for each queue (two when the back-end said it has at least two, else one):
 *	start_vring and enable_vring; set_vring_call without an fd (interrupts moved);
 *	for each queue: enable_vring off and stop_vring; reset_device.
 *
 * The front-end's own requests (a few hundred bytes) go into the peer's receive buffer,
 * sized to hold far more, so its sends never block; nobody reads them.
 *
 * Checked (abort on violation): every call returns 0 or one of the errors a back-end can
 * cause (-EPROTO, -EIO, -ECONNRESET, -EPIPE; never -ETIMEDOUT: the input ends with a hang-up,
 * so no wait may run out, and never -EINVAL: the arguments are valid); a failure leaves the
 * connection broken with the failure counted and a reason recorded, and from then on every
 * call is -EPIPE without sending anything; requests only count what was sent, failures
 * never exceed them; what the handshake recorded is sane (protocol features within those
 * kvmm wants, a queue count in 1..65535 with MQ and 0 without); a ring base fits 16 bits;
 * and no fd is left open afterwards (the back-end's included).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fuzz_util.h"
#include "guest_mem.h"
#include "log.h"
#include "vhost_user.h"
#include "virtio.h"

#define KiB		(1ULL << 10)
#define MAX_INPUT	(16 * KiB)	/* well within the socket buffer below */
#define SOCK_BUF	(256 * KiB)
#define FD_PROBE	256

static struct guest_mem gm;
static int kick[2] = { -1, -1 };

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct gm_region l[] = { { .gpa = 0, .size = 64 * KiB },
				 { .gpa = 1ULL << 20, .size = 64 * KiB } };

	(void)argc;
	(void)argv;
	log_threshold = LOG_QUIET;
	if (gm_create(&gm, l, 2))
		return -1;
	for (int i = 0; i < 2; i++) {
		kick[i] = eventfd(0, EFD_CLOEXEC);
		if (kick[i] < 0)
			return -1;
	}
	return 0;
}

static void fd_snapshot(uint8_t *open_fds)
{
	for (int i = 0; i < FD_PROBE; i++)
		open_fds[i] = fcntl(i, F_GETFD) >= 0;
}

/* What the peer has received from the front-end so far (bytes queued, unread). */
static int queued(int peer)
{
	char buf[1];
	ssize_t n = recv(peer, buf, sizeof(buf), MSG_DONTWAIT | MSG_PEEK | MSG_TRUNC);

	return n > 0;
}

struct run {
	struct vhost_user vu;
	int peer;
	bool dead;			/* a call failed: all later ones must be -EPIPE */
};

/* Checks one call's result RET against the state before it. */
static void after(struct run *r, int ret, uint64_t requests, uint64_t failures)
{
	struct vhost_user *vu = &r->vu;

	check(ret == 0 || ret == -EPROTO || ret == -EIO || ret == -ECONNRESET || ret == -EPIPE);
	check(vu->failures <= vu->requests);
	if (r->dead) {
		check(ret == -EPIPE);
		check(vu->requests == requests && vu->failures == failures);
		return;
	}
	if (ret) {
		check(vu->broken);
		check(vu->failures == failures + 1);
		check(vu->error[0] != 0);
		check(vu->requests >= requests);
		r->dead = true;
		return;
	}
	check(!vu->broken);
	check(vu->failures == failures);
}

#define CALL(r, expr)							\
	do {								\
		uint64_t rq_ = (r)->vu.requests, fl_ = (r)->vu.failures; \
		int ret_ = (expr);					\
		after((r), ret_, rq_, fl_);				\
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t before[FD_PROBE], after_fds[FD_PROBE];
	int sv[2], buf = SOCK_BUF, fds[2];
	unsigned int nq;
	struct run r;
	char cbuf[CMSG_SPACE(sizeof(fds))] __attribute__((aligned(8)));

	if (size > MAX_INPUT)
		size = MAX_INPUT;
	fd_snapshot(before);
	check(!socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
	setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf));
	setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
	setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf));
	setsockopt(sv[0], SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
	memset(&r, 0, sizeof(r));
	r.vu.timeout_ms = 50;
	vhost_user_adopt(&r.vu, sv[0], "fuzz");
	r.peer = sv[1];

	/* The back-end's whole output, two fds of its own on the first byte, then EOF. */
	if (size) {
		struct iovec iov = { (void *)data, size };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
				     .msg_controllen = sizeof(cbuf) };
		struct cmsghdr *c = CMSG_FIRSTHDR(&mh);

		fds[0] = eventfd(0, EFD_CLOEXEC);
		fds[1] = eventfd(0, EFD_CLOEXEC);
		check(fds[0] >= 0 && fds[1] >= 0);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(fds));
		memcpy(CMSG_DATA(c), fds, sizeof(fds));
		check(sendmsg(r.peer, &mh, MSG_DONTWAIT | MSG_NOSIGNAL) == (ssize_t)size);
		close(fds[0]);
		close(fds[1]);
	}
	check(!shutdown(r.peer, SHUT_WR));

	CALL(&r, vhost_user_handshake(&r.vu));
	if (!r.dead) {
		check((r.vu.protocol & ~VHOST_USER_PROTOCOL_WANTED) == 0);
		if (r.vu.protocol & VIRTIO_BIT(VHOST_USER_PROTOCOL_F_MQ))
			check(r.vu.queue_num >= 1 && r.vu.queue_num <= 0xffff);
		else
			check(r.vu.queue_num == 0);
		if (!(r.vu.features & VIRTIO_BIT(VHOST_USER_F_PROTOCOL_FEATURES)))
			check(r.vu.protocol == 0);
	}
	nq = r.vu.queue_num >= 2 ? 2 : 1;
	CALL(&r, vhost_user_set_features(&r.vu, VIRTIO_BIT(VIRTIO_F_VERSION_1) |
					 VIRTIO_BIT(VIRTIO_F_EVENT_IDX) |
					 VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC)));
	CALL(&r, vhost_user_set_mem_table(&r.vu, &gm));
	for (unsigned int q = 0; q < nq; q++) {
		struct vhost_user_vring v = {
			.size = 64, .desc = (uintptr_t)gm.base + 0x1000 * (q + 1),
			.avail = (uintptr_t)gm.base + 0x1000 * (q + 1) + 0x400,
			.used = (uintptr_t)gm.base + 0x1000 * (q + 1) + 0x800,
			.kick = kick[q], .call = q ? -1 : kick[1 - q],
		};

		CALL(&r, vhost_user_start_vring(&r.vu, q, &v));
		CALL(&r, vhost_user_enable_vring(&r.vu, q, true));
	}
	CALL(&r, vhost_user_set_vring_call(&r.vu, 0, -1));
	for (unsigned int q = 0; q < nq; q++) {
		uint16_t base = 0xabcd;
		uint64_t rq, fl;
		int ret;

		CALL(&r, vhost_user_enable_vring(&r.vu, q, false));
		rq = r.vu.requests;
		fl = r.vu.failures;
		ret = vhost_user_stop_vring(&r.vu, q, &base);
		after(&r, ret, rq, fl);
		if (ret)
			check(base == 0xabcd);
	}
	CALL(&r, vhost_user_reset_device(&r.vu));

	/* Once dead, nothing more was sent: the last bytes in the peer's buffer are from
	 * before. A closed connection is -EPIPE too. */
	if (r.dead) {
		char junk[4096];

		while (recv(r.peer, junk, sizeof(junk), MSG_DONTWAIT) > 0)
			;
		CALL(&r, vhost_user_set_features(&r.vu, 0));
		CALL(&r, vhost_user_enable_vring(&r.vu, 0, true));
		CALL(&r, vhost_user_reset_device(&r.vu));
		check(!queued(r.peer));
	}
	vhost_user_close(&r.vu);
	check(r.vu.sock == -1 && r.vu.broken);
	close(r.peer);

	fd_snapshot(after_fds);
	check(!memcmp(before, after_fds, sizeof(before)));
	return 0;
}
