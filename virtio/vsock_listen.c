/*
 * virtio-vsock, the host-initiated half of hybrid vsock and the device's event loop
 * (contracts in vsock_dev.h): the listener at <path> (a live socket there is refused, a
 * stale one replaced, ours removed at the end), the "CONNECT <port>\n" line read without
 * taking a byte beyond it, the deadlines (CONNECT line, the guest's RESPONSE, its RST after
 * a SHUTDOWN, a drain) swept by a periodic timerfd that runs only while a deadline is set,
 * and the dispatch of the device's epoll set on the worker.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "vsock_dev.h"

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int vsock_ep_ctl(struct vsock *v, int op, int fd, uint32_t events, void *ptr)
{
	struct epoll_event ev = { .events = events, .data.ptr = ptr };

	return epoll_ctl(v->epfd, op, fd, &ev) ? -errno : 0;
}

/* The sweep runs every timeout/5 while armed, so a deadline fires at most 20% late. */
static void timer_set(struct vsock *v, bool on)
{
	unsigned int period = v->timeout_ms / 5 ? v->timeout_ms / 5 : 1;
	struct itimerspec its = { 0 };

	if (on == v->timer_armed)
		return;
	if (on) {
		its.it_value.tv_sec = period / 1000;
		its.it_value.tv_nsec = (long)(period % 1000) * 1000000L;
		its.it_interval = its.it_value;
	}
	if (!timerfd_settime(v->timer_fd, 0, &its, NULL))
		v->timer_armed = on;
}

void vsock_set_deadline(struct vsock *v, struct vsock_conn *c)
{
	c->deadline = now_ms() + v->timeout_ms;
	timer_set(v, true);
}

static void refuse(struct vsock *v, struct vsock_conn *c, bool send_rst, const char *why)
{
	pr_debug("%s: host connection refused: %s", v->vdev.name, why);
	v->cnt.conn_refused++;
	vsock_host_forget(v, c, send_rst);
}

/* Reads the CONNECT line without taking a byte beyond it (peek, then take up to '\n'). */
static void handshake(struct vsock *v, struct vsock_conn *c)
{
	char *p = c->line + c->line_len, *nl;
	uint32_t take, port, local;
	ssize_t n;

	n = recv(c->fd, p, VSOCK_LINE_MAX - c->line_len, MSG_PEEK | MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		refuse(v, c, false, "closed before the CONNECT line");
		return;
	}
	nl = memchr(p, '\n', (size_t)n);
	take = nl ? (uint32_t)(nl - p) + 1 : (uint32_t)n;
	if (recv(c->fd, p, take, MSG_DONTWAIT) != (ssize_t)take) {
		refuse(v, c, false, "socket error");
		return;
	}
	c->line_len += take;
	if (!nl) {
		if (c->line_len == VSOCK_LINE_MAX)
			refuse(v, c, false, "CONNECT line too long");
		return;
	}
	if (vsock_parse_connect(c->line, c->line_len, &port)) {
		refuse(v, c, false, "not a CONNECT line");
		return;
	}
	if (vsock_table_alloc_port(&v->tab, port, &local) ||
	    vsock_table_insert(&v->tab, c, local, port)) {
		refuse(v, c, false, "no free host-side port");
		return;
	}
	c->state = VSOCK_CONNECTING;
	c->pending = VSOCK_P_REQUEST;
	vsock_set_deadline(v, c);
	vsock_host_update(v, c);
}

static void accept_clients(struct vsock *v)
{
	for (int i = 0; i < 16; i++) {
		int fd = accept4(v->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct vsock_conn *c;

		if (fd < 0) {
			if (errno == EAGAIN || errno == EINTR || errno == ECONNABORTED)
				return;
			/* Out of fds, say: stop listening until the next sweep, not spin. */
			pr_warn("%s: accept on %s: %s", v->vdev.name, v->path, strerror(errno));
			vsock_ep_ctl(v, EPOLL_CTL_MOD, v->listen_fd, 0, &v->tag_listen);
			v->listen_paused = true;
			timer_set(v, true);
			return;
		}
		c = v->active && v->tab.nr < VSOCK_MAX_CONNS ? vsock_conn_new(&v->tab, fd) : NULL;
		if (!c) {
			v->cnt.conn_refused++;
			close(fd);
			continue;
		}
		if (vsock_ep_ctl(v, EPOLL_CTL_ADD, fd, EPOLLIN, c)) {
			refuse(v, c, false, "epoll");
			continue;
		}
		c->polled = true;
		c->events = EPOLLIN;
		vsock_set_deadline(v, c);
	}
}

static void conn_event(struct vsock *v, struct vsock_conn *c, uint32_t events)
{
	if (c->state == VSOCK_DEAD || c->fd < 0)
		return;		/* forgotten earlier in this round */
	if (c->state == VSOCK_HANDSHAKE)
		handshake(v, c);
	else
		vsock_host_conn_event(v, c, events);
}

static void timed_out(struct vsock *v, struct vsock_conn *c)
{
	if (c->state == VSOCK_HANDSHAKE)
		refuse(v, c, false, "no CONNECT line in time");
	else if (c->state == VSOCK_CONNECTING)
		/* An RST only if the REQUEST went out: the guest may have it half open. */
		refuse(v, c, !(c->pending & VSOCK_P_REQUEST), "no answer from the guest");
	else
		vsock_host_forget(v, c, true);	/* no RST after our SHUTDOWN, or no drain */
}

static void sweep(struct vsock *v)
{
	struct vsock_conn *c, *next;
	uint64_t now = now_ms(), ticks;
	bool any = false;

	if (read(v->timer_fd, &ticks, sizeof(ticks)) < 0 && errno != EAGAIN)
		pr_warn("%s: timerfd: %s", v->vdev.name, strerror(errno));
	for (c = vsock_table_next(&v->tab, NULL); c; c = next) {
		next = vsock_table_next(&v->tab, c);
		if (!c->deadline)
			continue;
		if (now >= c->deadline)
			timed_out(v, c);
		else
			any = true;
	}
	if (v->listen_paused && v->active &&
	    !vsock_ep_ctl(v, EPOLL_CTL_MOD, v->listen_fd, EPOLLIN, &v->tag_listen))
		v->listen_paused = false;
	timer_set(v, any || v->listen_paused);
}

void vsock_host_event(struct virtio_dev *d, void *opaque, uint32_t events)
{
	struct vsock *v = opaque;
	struct epoll_event ev[32];
	int n;

	(void)d;
	(void)events;
	/* At most 32 per round; more left makes the epoll fd ready again for the worker. */
	n = epoll_wait(v->epfd, ev, 32, 0);
	for (int i = 0; i < n; i++) {
		void *p = ev[i].data.ptr;

		if (p == &v->tag_listen)
			accept_clients(v);
		else if (p == &v->tag_timer)
			sweep(v);
		else
			conn_event(v, p, ev[i].events);
	}
	vsock_rx(v);
	vsock_table_reap(&v->tab);
}

/* A socket file at SA: none, or a stale one (removed). A live one or a non-socket: error. */
static int check_stale(const struct vsock *v, const struct sockaddr_un *sa)
{
	struct stat st;
	int fd, ret;

	if (lstat(v->path, &st))
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode)) {
		pr_err("%s: %s exists and is not a socket", v->vdev.name, v->path);
		return -EEXIST;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	ret = connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) ? -errno : 0;
	close(fd);
	if (ret == 0 || ret == -EAGAIN) {
		pr_err("%s: %s is a live socket (another VMM using it?)", v->vdev.name, v->path);
		return -EADDRINUSE;
	}
	if (ret != -ECONNREFUSED) {
		pr_err("%s: probing %s: %s", v->vdev.name, v->path, strerror(-ret));
		return ret;
	}
	if (unlink(v->path) && errno != ENOENT)
		return -errno;
	pr_info("%s: replaced the stale socket %s", v->vdev.name, v->path);
	return 0;
}

int vsock_host_open(struct vsock *v)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	const char *step = "socket path too long";
	struct stat st;
	int ret = -ENAMETOOLONG;

	if (snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", v->path) >= (int)sizeof(sa.sun_path))
		goto fail;
	ret = check_stale(v, &sa);
	if (ret)
		goto fail_quiet;
	step = "socket";
	v->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (v->listen_fd < 0)
		goto fail_errno;
	step = "bind";
	if (bind(v->listen_fd, (struct sockaddr *)&sa, sizeof(sa)))
		goto fail_errno;
	if (!stat(v->path, &st)) {
		v->sock_dev = st.st_dev;
		v->sock_ino = st.st_ino;
	}
	step = "listen";
	if (listen(v->listen_fd, 128))
		goto fail_errno;
	step = "epoll";
	v->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (v->epfd < 0)
		goto fail_errno;
	step = "timerfd";
	v->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (v->timer_fd < 0)
		goto fail_errno;
	step = "epoll";
	ret = vsock_ep_ctl(v, EPOLL_CTL_ADD, v->listen_fd, 0, &v->tag_listen);
	if (!ret)
		ret = vsock_ep_ctl(v, EPOLL_CTL_ADD, v->timer_fd, EPOLLIN, &v->tag_timer);
	if (ret)
		goto fail;
	return 0;
fail_errno:
	ret = -errno;
fail:
	pr_err("%s: %s: %s: %s", v->vdev.name, v->path, step, strerror(-ret));
fail_quiet:
	vsock_host_close(v);
	return ret;
}

void vsock_host_close_conns(struct vsock *v, bool send_rst)
{
	struct vsock_conn *c;

	while ((c = vsock_table_next(&v->tab, NULL)))
		vsock_host_forget(v, c, send_rst);
	timer_set(v, v->listen_paused);
}

void vsock_host_close(struct vsock *v)
{
	struct stat st;

	vsock_host_close_conns(v, false);
	vsock_table_reap(&v->tab);
	if (v->listen_fd >= 0) {
		close(v->listen_fd);
		/* Remove the socket only if it is still ours (not replaced meanwhile). */
		if (v->sock_ino && !stat(v->path, &st) && st.st_dev == v->sock_dev &&
		    st.st_ino == v->sock_ino)
			unlink(v->path);
	}
	if (v->timer_fd >= 0)
		close(v->timer_fd);
	if (v->epfd >= 0)
		close(v->epfd);
	v->listen_fd = v->timer_fd = v->epfd = -1;
}

int vsock_host_start(struct vsock *v)
{
	int ret;

	if (!v->watched) {
		ret = virtio_watch_fd(&v->vdev, v->epfd, EPOLLIN, vsock_host_event, v);
		if (ret) {
			pr_err("%s: watching its sockets: %s", v->vdev.name, strerror(-ret));
			return ret;
		}
		v->watched = true;
	}
	v->listen_paused = false;
	return vsock_ep_ctl(v, EPOLL_CTL_MOD, v->listen_fd, EPOLLIN, &v->tag_listen);
}

void vsock_host_stop(struct vsock *v)
{
	/* Clients wait in the backlog until the driver is back (as before the first boot). */
	vsock_ep_ctl(v, EPOLL_CTL_MOD, v->listen_fd, 0, &v->tag_listen);
	v->listen_paused = false;
}
