/*
 * The event loop: one epoll set served by one thread (the main thread).
 * Device back-ends, the console input and signals register file descriptors
 * here; nothing on this loop may block.
 */
#ifndef KVMM_EVLOOP_H
#define KVMM_EVLOOP_H

#include <stdint.h>

/* Called with the epoll events (EPOLLIN, ...) that fired for the source. */
typedef void (*ev_cb_t)(void *opaque, uint32_t events);

struct ev_source {
	int fd;
	ev_cb_t cb;
	void *opaque;
};

struct evloop {
	int epfd;
};

int evloop_init(struct evloop *ev);
void evloop_fini(struct evloop *ev);

/* Starts watching SRC->fd for EVENTS; SRC must outlive the registration.
 * 0/-errno. */
int evloop_add(struct evloop *ev, struct ev_source *src, uint32_t events);

/* Changes the watched events (e.g. re-arms an EPOLLONESHOT source); safe
 * from any thread.  0/-errno. */
int evloop_mod(struct evloop *ev, struct ev_source *src, uint32_t events);

int evloop_del(struct evloop *ev, struct ev_source *src);

/* Waits up to TIMEOUT_MS (-1: forever) and runs the callbacks of the ready
 * sources.  Returns the number handled or -errno (EINTR is not an error). */
int evloop_run_once(struct evloop *ev, int timeout_ms);

#endif
