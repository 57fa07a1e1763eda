/*
 * epoll-based event loop; see evloop.h.
 */
#include <errno.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "evloop.h"

int evloop_init(struct evloop *ev)
{
	ev->epfd = epoll_create1(EPOLL_CLOEXEC);
	return ev->epfd < 0 ? -errno : 0;
}

void evloop_fini(struct evloop *ev)
{
	if (ev->epfd >= 0)
		close(ev->epfd);
	ev->epfd = -1;
}

static int evloop_ctl(struct evloop *ev, int op, struct ev_source *src,
		      uint32_t events)
{
	struct epoll_event e = { .events = events, .data.ptr = src };

	return epoll_ctl(ev->epfd, op, src->fd, &e) < 0 ? -errno : 0;
}

int evloop_add(struct evloop *ev, struct ev_source *src, uint32_t events)
{
	return evloop_ctl(ev, EPOLL_CTL_ADD, src, events);
}

int evloop_mod(struct evloop *ev, struct ev_source *src, uint32_t events)
{
	return evloop_ctl(ev, EPOLL_CTL_MOD, src, events);
}

int evloop_del(struct evloop *ev, struct ev_source *src)
{
	return evloop_ctl(ev, EPOLL_CTL_DEL, src, 0);
}

int evloop_run_once(struct evloop *ev, int timeout_ms)
{
	struct epoll_event events[16];
	int n, i;

	n = epoll_wait(ev->epfd, events, 16, timeout_ms);
	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	for (i = 0; i < n; i++) {
		struct ev_source *src = events[i].data.ptr;

		src->cb(src->opaque, events[i].events);
	}
	return n;
}
