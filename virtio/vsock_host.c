/*
 * virtio-vsock, the relay between connections and their Unix sockets (contracts in
 * vsock_dev.h): connects to <path>_<port> for guest-initiated connections, "OK <port>\n"
 * when the guest accepts a host-initiated one, guest data written to the socket (what it
 * refuses waits in the connection's bounded ring until EPOLLOUT), reads into the guest's
 * receive buffers, the socket's end, and the epoll interest each connection needs.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"
#include "vsock_dev.h"

static ssize_t send_iov(int fd, const struct iovec *iov, int n)
{
	struct msghdr m = { .msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)n };
	ssize_t w;

	do {
		w = sendmsg(fd, &m, MSG_NOSIGNAL | MSG_DONTWAIT);
	} while (w < 0 && errno == EINTR);
	return w < 0 ? -errno : w;
}

static void close_fd(struct vsock *v, struct vsock_conn *c)
{
	if (c->fd < 0)
		return;
	if (c->polled)
		epoll_ctl(v->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	c->fd = -1;
	c->polled = false;
	c->events = 0;
	vsock_ring_free(&c->out);
}

void vsock_host_forget(struct vsock *v, struct vsock_conn *c, bool send_rst)
{
	if (c->state == VSOCK_DEAD)
		return;
	if (send_rst && c->hashed)
		vsock_queue_rst(v, VSOCK_HOST_CID, c->local_port, c->peer_port);
	close_fd(v, c);
	vsock_conn_kill(&v->tab, c);
}

void vsock_host_update(struct vsock *v, struct vsock_conn *c)
{
	uint32_t ev = 0;

	if (c->state == VSOCK_DEAD)
		return;
	if (c->state == VSOCK_HANDSHAKE)
		ev = EPOLLIN;
	else if (c->state == VSOCK_ESTABLISHED && !c->readable &&
		 !(c->peer_shut & VSOCK_SHUT_RCV) && vsock_conn_credit(c))
		ev = EPOLLIN;		/* no credit: leave the data in the socket */
	if (c->out.len)
		ev |= EPOLLOUT;
	if (c->polled && ev != c->events) {
		int ret = vsock_ep_ctl(v, EPOLL_CTL_MOD, c->fd, ev, c);

		if (ret)
			pr_warn("%s: epoll: %s", v->vdev.name, strerror(-ret));
		else
			c->events = ev;
	}
	vsock_rxq_update(&v->tab, c);
}

void vsock_host_ended(struct vsock *v, struct vsock_conn *c)
{
	close_fd(v, c);
	c->readable = false;
	c->state = VSOCK_CLOSING;
	c->pending &= ~(VSOCK_P_CREDIT_UPDATE | VSOCK_P_CREDIT_REQUEST);
	c->pending |= VSOCK_P_SHUTDOWN;
	vsock_set_deadline(v, c);
	vsock_host_update(v, c);
}

ssize_t vsock_host_read(struct vsock *v, struct vsock_conn *c, const struct iovec *iov, int n)
{
	struct msghdr m = { .msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)n };
	ssize_t r;

	(void)v;
	/* No control buffer: fds a client sends (SCM_RIGHTS) are dropped by the kernel, never
	 * installed; MSG_CMSG_CLOEXEC all the same, should one ever be given. */
	do {
		r = recvmsg(c->fd, &m, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	} while (r < 0 && errno == EINTR);
	return r < 0 ? -errno : r;
}

void vsock_host_flush(struct vsock *v, struct vsock_conn *c)
{
	struct iovec iov[2];
	ssize_t w;
	int n;

	while (c->fd >= 0 && (n = vsock_ring_iov(&c->out, iov)) > 0) {
		w = send_iov(c->fd, iov, n);
		if (w == -EAGAIN)
			break;
		if (w < 0) {
			vsock_host_forget(v, c, true);	/* the data cannot arrive any more */
			return;
		}
		vsock_conn_forwarded(c, vsock_ring_consume(&c->out, (uint32_t)w));
	}
	if (c->fd >= 0 && !c->out.len) {
		if (c->state == VSOCK_DRAINING) {
			vsock_host_forget(v, c, true);
			return;
		}
		if ((c->peer_shut & VSOCK_SHUT_SEND) && !c->shut_wr) {
			shutdown(c->fd, SHUT_WR);
			c->shut_wr = true;
		}
	}
	vsock_host_update(v, c);
}

int vsock_host_deliver(struct vsock *v, struct vsock_conn *c, const struct vq_chain *ch,
		       uint64_t off, uint32_t len)
{
	const struct guest_mem *gm = v->vdev.mem;
	struct iovec part[2];
	uint32_t done = 0;
	ssize_t w;
	int n;

	if (c->fd < 0 || c->hup) {
		vsock_conn_forwarded(c, len);	/* nobody left to take it */
		return 0;
	}
	if (!c->out.len) {
		n = vq_iov(gm, ch->bufs, ch->nr_out, off, len, v->iov, VQ_MAX_SIZE);
		if (n < 0)
			return n;
		w = send_iov(c->fd, v->iov, n);
		if (w < 0 && w != -EAGAIN)
			return (int)w;
		if (w > 0) {
			done = (uint32_t)w;
			vsock_conn_forwarded(c, done);
		}
	}
	if (done == len)
		return 0;
	/* Credit bounds what the guest has in flight, so this fits unless it cheated. */
	n = vsock_ring_reserve(&c->out, len - done, part);
	if (n < 0)
		return n;
	for (int i = 0; i < n; i++) {
		vq_gather(gm, ch->bufs, ch->nr_out, off + done, part[i].iov_base,
			  part[i].iov_len);
		done += (uint32_t)part[i].iov_len;
	}
	vsock_ring_commit(&c->out, (uint32_t)(part[0].iov_len + (n > 1 ? part[1].iov_len : 0)));
	return 0;
}

void vsock_host_opened(struct vsock *v, struct vsock_conn *c)
{
	char line[24];
	int len = snprintf(line, sizeof(line), "OK %u\n", c->local_port);
	struct iovec iov = { .iov_base = line, .iov_len = (size_t)len }, part[2];
	ssize_t w = send_iov(c->fd, &iov, 1);
	int n;

	v->cnt.conn_opened++;
	if (w == len) {
		vsock_host_update(v, c);
		return;
	}
	if (w < 0 && w != -EAGAIN) {
		vsock_host_forget(v, c, true);
		return;
	}
	if (w < 0)
		w = 0;
	/* A fresh socket's buffer is empty, so this hardly happens: queue the rest. */
	n = vsock_ring_reserve(&c->out, (uint32_t)(len - w), part);
	if (n != 1) {
		vsock_host_forget(v, c, true);
		return;
	}
	memcpy(part[0].iov_base, line + w, (size_t)(len - w));
	vsock_ring_commit(&c->out, (uint32_t)(len - w));
	c->out.skip = (uint32_t)(len - w);
	vsock_host_update(v, c);
}

void vsock_host_connect(struct vsock *v, const struct vsock_hdr *h)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct vsock_conn *c;
	int fd = -1;

	if (v->tab.nr >= VSOCK_MAX_CONNS)
		goto refuse;
	if (snprintf(sa.sun_path, sizeof(sa.sun_path), "%s_%u", v->path, h->dst_port) >=
	    (int)sizeof(sa.sun_path))
		goto refuse;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	/* A Unix connect completes at once or fails (EAGAIN: the backlog is full). */
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
		goto refuse;
	c = vsock_conn_new(&v->tab, fd);
	if (!c)
		goto refuse;
	vsock_table_insert(&v->tab, c, h->dst_port, h->src_port);	/* the caller found none */
	c->state = VSOCK_ESTABLISHED;
	c->peer_buf_alloc = h->buf_alloc;
	c->peer_fwd_cnt = h->fwd_cnt;
	c->pending = VSOCK_P_RESPONSE;
	if (vsock_ep_ctl(v, EPOLL_CTL_ADD, fd, 0, c)) {
		vsock_host_forget(v, c, true);
		return;
	}
	c->polled = true;
	v->cnt.conn_opened++;
	vsock_host_update(v, c);
	return;
refuse:
	pr_debug("%s: guest connection to host port %u refused: %s", v->vdev.name, h->dst_port,
		 strerror(errno));
	if (fd >= 0)
		close(fd);
	v->cnt.conn_refused++;
	vsock_queue_rst(v, VSOCK_HOST_CID, h->dst_port, h->src_port);
}

void vsock_host_conn_event(struct vsock *v, struct vsock_conn *c, uint32_t events)
{
	if (events & EPOLLOUT)
		vsock_host_flush(v, c);
	if (c->state == VSOCK_DEAD)
		return;
	if (events & (EPOLLHUP | EPOLLERR)) {
		if (c->state != VSOCK_ESTABLISHED) {
			vsock_host_forget(v, c, c->state != VSOCK_CONNECTING ||
					  !(c->pending & VSOCK_P_REQUEST));
			return;
		}
		/* Reported whatever is asked: off the epoll set, read what is left to EOF. */
		epoll_ctl(v->epfd, EPOLL_CTL_DEL, c->fd, NULL);
		c->polled = false;
		c->hup = true;
		c->readable = true;
		vsock_ring_free(&c->out);	/* nobody to write it to */
		if (c->peer_shut & VSOCK_SHUT_RCV) {
			vsock_host_ended(v, c);	/* nobody will read what is left */
			return;
		}
	} else if (events & EPOLLIN) {
		c->readable = true;
	}
	vsock_host_update(v, c);
}

