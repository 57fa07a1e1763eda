/*
 * The vhost-user protocol, front-end side (vhost_user.h): building requests, sending them
 * with their fds, and reading replies from a back-end that may lie, stall or vanish.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "vhost_user.h"

int vhost_user_reply_size(uint32_t request)
{
	switch (request) {
	case VHOST_USER_GET_FEATURES:
	case VHOST_USER_GET_PROTOCOL_FEATURES:
	case VHOST_USER_GET_QUEUE_NUM:
		return sizeof(uint64_t);
	case VHOST_USER_GET_VRING_BASE:
		return sizeof(struct vhost_user_vring_state);
	default:
		return -1;
	}
}

int vhost_user_check_reply(const struct vhost_user_hdr *h, uint32_t request, uint32_t size,
			   const char **why)
{
	if ((h->flags & VHOST_USER_VERSION_MASK) != VHOST_USER_VERSION)
		*why = "wrong protocol version";
	else if (!(h->flags & VHOST_USER_REPLY))
		*why = "a request where a reply was due";
	else if (h->request != request)
		*why = "a reply to another request";
	else if (h->size != size)
		*why = "a payload of the wrong size";
	else
		return 0;
	return -EPROTO;
}

static void set_timeouts(struct vhost_user *vu)
{
	int ms = vu->timeout_ms ? vu->timeout_ms : VHOST_USER_TIMEOUT_MS;
	struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 };

	/* A back-end that stops reading cannot block a send for longer than a reply. */
	setsockopt(vu->sock, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

void vhost_user_adopt(struct vhost_user *vu, int fd, const char *name)
{
	vu->sock = fd;
	vu->broken = false;
	vu->error[0] = 0;
	snprintf(vu->name, sizeof(vu->name), "%s", name);
	set_timeouts(vu);
}

int vhost_user_connect(struct vhost_user *vu, const char *path, const char *name)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, err;

	snprintf(vu->name, sizeof(vu->name), "%s", name);
	vu->sock = -1;
	if (strlen(path) >= sizeof(sa.sun_path)) {
		pr_err("%s: vhost-user socket path too long: %s", name, path);
		return -ENAMETOOLONG;
	}
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		err = errno;
		pr_err("%s: cannot connect to the vhost-user back-end at %s: %s", name, path,
		       strerror(err));
		close(fd);
		return -err;
	}
	vhost_user_adopt(vu, fd, name);
	return 0;
}

void vhost_user_close(struct vhost_user *vu)
{
	if (vu->sock >= 0)
		close(vu->sock);
	vu->sock = -1;
	vu->broken = true;
}

/* Breaks the connection for good with ERR, saying WHAT went wrong. Returns ERR. */
static int fail(struct vhost_user *vu, uint32_t request, int err, const char *what)
{
	vu->failures++;
	if (!vu->broken) {
		snprintf(vu->error, sizeof(vu->error), "request %u: %s", request, what);
		pr_err("%s: vhost-user back-end: %s", vu->name, vu->error);
	}
	vu->broken = true;
	return err;
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* Sends M (header and hdr.size bytes of payload) with NFDS fds. 0/-errno. */
static int send_msg(struct vhost_user *vu, const struct vhost_user_msg *m, const int *fds,
		    unsigned int nfds)
{
	union {			/* aligned for struct cmsghdr */
		char buf[CMSG_SPACE(sizeof(int) * VHOST_USER_MAX_REGIONS)];
		struct cmsghdr align;
	} cbuf;
	size_t len = sizeof(m->hdr) + m->hdr.size, done = 0;

	while (done < len) {
		struct iovec iov = { (char *)m + done, len - done };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
		ssize_t n;

		if (nfds && !done) {
			struct cmsghdr *c;

			memset(&cbuf, 0, sizeof(cbuf));
			mh.msg_control = cbuf.buf;
			mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
			c = CMSG_FIRSTHDR(&mh);
			c->cmsg_level = SOL_SOCKET;
			c->cmsg_type = SCM_RIGHTS;
			c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
			memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
		}
		n = sendmsg(vu->sock, &mh, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == EAGAIN ? -ETIMEDOUT : -errno;
		done += (size_t)n;
	}
	return 0;
}

/* Reads LEN bytes into BUF by DEADLINE, closing any fd the back-end sends. 0/-errno. */
static int recv_exact(struct vhost_user *vu, void *buf, size_t len, long deadline)
{
	size_t done = 0;

	while (done < len) {
		union {
			char buf[CMSG_SPACE(sizeof(int) * 8)];
			struct cmsghdr align;
		} cbuf;
		struct iovec iov = { (char *)buf + done, len - done };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf.buf,
				     .msg_controllen = sizeof(cbuf.buf) };
		struct pollfd p = { .fd = vu->sock, .events = POLLIN };
		long left = deadline - now_ms();
		ssize_t n;
		int r;

		/* Past the deadline, what has arrived is still taken: kvmm may not have been
		 * running (descheduled, frozen) while the back-end answered in time. */
		if (left < 0)
			left = 0;
		r = poll(&p, 1, (int)left);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			return -ETIMEDOUT;
		n = recvmsg(vu->sock, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < 0)
			return -errno;
		/* kvmm asks for no fds: close whatever came (even a truncated set). */
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
			if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
				continue;
			for (size_t i = 0; i < (c->cmsg_len - CMSG_LEN(0)) / sizeof(int); i++) {
				int fd;

				memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
				close(fd);
			}
		}
		if (n == 0)
			return -ECONNRESET;
		done += (size_t)n;
	}
	return 0;
}

/*
 * Sends REQUEST with PAYLOAD (SIZE bytes) and NFDS fds, and waits for what it calls for: its
 * own reply into OUT (OUT_SIZE bytes, vhost_user_reply_size()), or the ack when the back-end
 * does REPLY_ACK. 0/-errno; the connection is broken on any failure.
 */
static int exchange(struct vhost_user *vu, uint32_t request, const void *payload, uint32_t size,
		    const int *fds, unsigned int nfds, void *out, uint32_t out_size)
{
	struct vhost_user_msg m = { .hdr = { request, VHOST_USER_VERSION, size } };
	struct vhost_user_hdr h;
	const char *why = NULL;
	bool ack = out_size == 0 && (vu->protocol & VIRTIO_BIT(VHOST_USER_PROTOCOL_F_REPLY_ACK));
	uint64_t ack_val;
	long deadline;
	int ret;

	if (vu->broken || vu->sock < 0)
		return -EPIPE;
	if (size > sizeof(m.u))
		return -EINVAL;
	if (size)
		memcpy(&m.u, payload, size);
	if (ack) {
		m.hdr.flags |= VHOST_USER_NEED_REPLY;
		out = &ack_val;
		out_size = sizeof(ack_val);
	}
	vu->requests++;
	ret = send_msg(vu, &m, fds, nfds);
	if (ret)
		return fail(vu, request, ret, ret == -ETIMEDOUT ? "the back-end stopped reading" :
			    ret == -EPIPE || ret == -ECONNRESET ? "the back-end closed the connection" :
			    "cannot send");
	if (!out_size)
		return 0;
	deadline = now_ms() + (vu->timeout_ms ? vu->timeout_ms : VHOST_USER_TIMEOUT_MS);
	ret = recv_exact(vu, &h, sizeof(h), deadline);
	if (!ret && vhost_user_check_reply(&h, request, out_size, &why))
		return fail(vu, request, -EPROTO, why);
	if (!ret)
		ret = recv_exact(vu, out, out_size, deadline);
	if (ret)
		return fail(vu, request, ret, ret == -ETIMEDOUT ? "no reply in time" :
			    ret == -ECONNRESET ? "the back-end closed the connection" :
			    "cannot read the reply");
	if (ack && ack_val)
		return fail(vu, request, -EIO, "the back-end refused the request");
	return 0;
}

static int get_u64(struct vhost_user *vu, uint32_t request, uint64_t *v)
{
	return exchange(vu, request, NULL, 0, NULL, 0, v, sizeof(*v));
}

static int set_u64(struct vhost_user *vu, uint32_t request, uint64_t v)
{
	return exchange(vu, request, &v, sizeof(v), NULL, 0, NULL, 0);
}

int vhost_user_handshake(struct vhost_user *vu)
{
	uint64_t proto = 0, qnum = 0;
	int ret;

	vu->protocol = 0;
	vu->queue_num = 0;
	ret = get_u64(vu, VHOST_USER_GET_FEATURES, &vu->features);
	if (!ret && (vu->features & VIRTIO_BIT(VHOST_USER_F_PROTOCOL_FEATURES))) {
		ret = get_u64(vu, VHOST_USER_GET_PROTOCOL_FEATURES, &proto);
		proto &= VHOST_USER_PROTOCOL_WANTED;
		if (!ret)
			ret = set_u64(vu, VHOST_USER_SET_PROTOCOL_FEATURES, proto);
		/* From here on, requests without a reply of their own are acked. */
		if (!ret)
			vu->protocol = proto;
		if (!ret && (proto & VIRTIO_BIT(VHOST_USER_PROTOCOL_F_MQ))) {
			ret = get_u64(vu, VHOST_USER_GET_QUEUE_NUM, &qnum);
			if (!ret && (qnum == 0 || qnum > 0xffff))
				return fail(vu, VHOST_USER_GET_QUEUE_NUM, -EPROTO,
					    "a queue count of 0 or beyond 65535");
			vu->queue_num = (unsigned int)qnum;
		}
	}
	if (!ret)
		ret = exchange(vu, VHOST_USER_SET_OWNER, NULL, 0, NULL, 0, NULL, 0);
	return ret;
}

int vhost_user_set_features(struct vhost_user *vu, uint64_t features)
{
	if (vu->features & VIRTIO_BIT(VHOST_USER_F_PROTOCOL_FEATURES))
		features |= VIRTIO_BIT(VHOST_USER_F_PROTOCOL_FEATURES);
	return set_u64(vu, VHOST_USER_SET_FEATURES, features);
}

int vhost_user_set_mem_table(struct vhost_user *vu, const struct guest_mem *gm)
{
	struct vhost_user_mem mem = { .nregions = gm->nr_regions };
	int fds[VHOST_USER_MAX_REGIONS];

	if (gm->fd < 0 || gm->nr_regions == 0 || gm->nr_regions > VHOST_USER_MAX_REGIONS)
		return -EINVAL;
	for (unsigned int i = 0; i < gm->nr_regions; i++) {
		const struct gm_region *r = &gm->regions[i];

		mem.regions[i] = (struct vhost_user_region){
			.gpa = r->gpa, .size = r->size, .uaddr = (uintptr_t)r->host,
			.mmap_offset = r->fd_offset,
		};
		fds[i] = gm->fd;
	}
	return exchange(vu, VHOST_USER_SET_MEM_TABLE, &mem,
			(uint32_t)(offsetof(struct vhost_user_mem, regions) +
				   gm->nr_regions * sizeof(struct vhost_user_region)),
			fds, gm->nr_regions, NULL, 0);
}

static int set_state(struct vhost_user *vu, uint32_t request, unsigned int q, uint32_t num)
{
	struct vhost_user_vring_state s = { .index = q, .num = num };

	return exchange(vu, request, &s, sizeof(s), NULL, 0, NULL, 0);
}

/* SET_VRING_KICK / SET_VRING_CALL: FD, or "no fd" when it is negative. */
static int set_fd(struct vhost_user *vu, uint32_t request, unsigned int q, int fd)
{
	uint64_t v = q & VHOST_USER_VRING_IDX_MASK;

	if (fd < 0)
		v |= VHOST_USER_VRING_NOFD;
	return exchange(vu, request, &v, sizeof(v), fd < 0 ? NULL : &fd, fd < 0 ? 0 : 1, NULL, 0);
}

int vhost_user_start_vring(struct vhost_user *vu, unsigned int q, const struct vhost_user_vring *r)
{
	struct vhost_user_vring_addr a = {
		.index = q, .desc = r->desc, .used = r->used, .avail = r->avail,
	};
	int ret;

	if (q > VHOST_USER_VRING_IDX_MASK || r->kick < 0)
		return -EINVAL;
	ret = set_state(vu, VHOST_USER_SET_VRING_NUM, q, r->size);
	if (!ret)
		ret = set_state(vu, VHOST_USER_SET_VRING_BASE, q, r->base);
	if (!ret)
		ret = exchange(vu, VHOST_USER_SET_VRING_ADDR, &a, sizeof(a), NULL, 0, NULL, 0);
	/* CALL before KICK: the back-end starts the ring when it gets its kick fd. */
	if (!ret)
		ret = set_fd(vu, VHOST_USER_SET_VRING_CALL, q, r->call);
	if (!ret)
		ret = set_fd(vu, VHOST_USER_SET_VRING_KICK, q, r->kick);
	return ret;
}

int vhost_user_set_vring_call(struct vhost_user *vu, unsigned int q, int fd)
{
	if (q > VHOST_USER_VRING_IDX_MASK)
		return -EINVAL;
	return set_fd(vu, VHOST_USER_SET_VRING_CALL, q, fd);
}

int vhost_user_enable_vring(struct vhost_user *vu, unsigned int q, bool on)
{
	if (!(vu->features & VIRTIO_BIT(VHOST_USER_F_PROTOCOL_FEATURES)))
		return vu->broken ? -EPIPE : 0;
	return set_state(vu, VHOST_USER_SET_VRING_ENABLE, q, on);
}

int vhost_user_stop_vring(struct vhost_user *vu, unsigned int q, uint16_t *base)
{
	struct vhost_user_vring_state s = { .index = q };
	int ret = exchange(vu, VHOST_USER_GET_VRING_BASE, &s, sizeof(s), NULL, 0, &s, sizeof(s));

	if (ret)
		return ret;
	if (s.index != q || s.num > 0xffff)
		return fail(vu, VHOST_USER_GET_VRING_BASE, -EPROTO,
			    "a ring state for another queue or past 65535");
	*base = (uint16_t)s.num;
	return 0;
}

int vhost_user_reset_device(struct vhost_user *vu)
{
	if (!(vu->protocol & VIRTIO_BIT(VHOST_USER_PROTOCOL_F_RESET_DEVICE)))
		return vu->broken ? -EPIPE : 0;
	return exchange(vu, VHOST_USER_RESET_DEVICE, NULL, 0, NULL, 0, NULL, 0);
}
