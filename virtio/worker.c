/*
 * The virtio device worker: one thread per device that waits (epoll) on the queues'
 * notification eventfds and on the device's own fds, and runs the device's callbacks with the
 * device lock held; plus the services of virtio.h (interrupts through whichever transport
 * carries the device, NEEDS_RESET, fd watches, the common queue-draining loop). Keeps device
 * I/O off the vCPU threads, on both transports.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "log.h"
#include "thread.h"
#include "transport.h"

bool virtio_live(const struct virtio_transport *t)
{
	return (t->status & VIRTIO_STATUS_DRIVER_OK) &&
	       !(t->status & (VIRTIO_STATUS_NEEDS_RESET | VIRTIO_STATUS_FAILED));
}

void virtio_notify_used(struct virtio_dev *d, unsigned int q)
{
	if (vq_should_notify(&d->vqs[q], d->mem))
		d->t->ops->interrupt(d->t, VIRTIO_INT_VRING, q);
}

void virtio_notify_config(struct virtio_dev *d)
{
	d->t->config_generation++;
	d->t->ops->interrupt(d->t, VIRTIO_INT_CONFIG, 0);
}

void virtio_interrupt_queue(struct virtio_dev *d, unsigned int q)
{
	d->t->ops->interrupt(d->t, VIRTIO_INT_VRING, q);
}

int virtio_queue_kick_fd(struct virtio_dev *d, unsigned int q)
{
	return q < d->nr_queues ? d->t->queue_fd[q] : -1;
}

int virtio_queue_irqfd(struct virtio_dev *d, unsigned int q)
{
	if (q >= d->nr_queues || !d->t->ops->irqfd)
		return -1;
	return d->t->ops->irqfd(d->t, q);
}

void virtio_needs_reset(struct virtio_dev *d, const char *why)
{
	if (d->t->status & VIRTIO_STATUS_NEEDS_RESET)
		return;
	atomic_fetch_add_explicit(&d->needs_reset, 1, memory_order_relaxed);
	pr_warn("%s: device needs reset: %s", d->name, why);
	d->t->status |= VIRTIO_STATUS_NEEDS_RESET;
	if (d->t->status & VIRTIO_STATUS_DRIVER_OK)
		virtio_notify_config(d);
}

void virtio_process_queue(struct virtio_dev *d, unsigned int q, struct vq_chain *c,
			  virtio_chain_fn handle, uint64_t *errors)
{
	struct vq *vq = &d->vqs[q];
	unsigned int pushed = 0;
	int ret;

	for (;;) {
		ret = vq_pop(vq, d->mem, c);
		if (ret == 0) {
			/* Empty: ask for the next kick, unless buffers raced in. */
			if (!vq_enable_notify(vq, d->mem))
				break;
			continue;
		}
		if (ret == -EIO) {
			virtio_needs_reset(d, "broken available ring");
			return;
		}
		uint32_t len = 0;

		if (ret == -EINVAL) {
			if (errors)
				(*errors)++;
			pr_debug("%s: queue %u: malformed chain at head %u", d->name, q, c->head);
		} else {
			len = handle(d, c);
			if (len == VIRTIO_CHAIN_DEFER) {
				vq_unpop(vq, 1);
				break;
			}
		}
		if (vq_push(vq, d->mem, c->head, len)) {
			virtio_needs_reset(d, "used ring not writable");
			return;
		}
		pushed++;
	}
	if (pushed)
		virtio_notify_used(d, q);
}

void virtio_kick_queue(struct virtio_transport *t, unsigned int q)
{
	struct virtio_dev *d = t->d;

	pthread_mutex_lock(&d->lock);
	if (virtio_live(t) && q < d->nr_queues && d->vqs[q].ready && d->ops->queue_notify)
		d->ops->queue_notify(d, q);
	pthread_mutex_unlock(&d->lock);
}

static void *worker_main(void *arg)
{
	struct virtio_transport *t = arg;
	struct epoll_event ev[1];
	char name[16];

	/* "virtio-_disk0": which device's I/O this thread does (15 bytes at most). */
	snprintf(name, sizeof(name), "virtio-%s", t->d->id ? t->d->id : t->d->name);
	pthread_setname_np(pthread_self(), name);

	for (;;) {
		/* One event per wait: a callback may unwatch (free) another fd's watch, which
		 * must not leave a stale event for it behind in a batch. */
		int n = epoll_wait(t->epfd, ev, 1, -1);

		if (n < 0 && errno != EINTR) {
			pr_err("%s: worker epoll: %s", t->d->name, strerror(errno));
			return NULL;
		}
		for (int i = 0; i < n; i++) {
			struct virtio_watch *w = ev[i].data.ptr;
			uint64_t v;

			if (w == &t->stop_watch)
				return NULL;
			if (w->queue >= 0) {
				/* Drain the counter first: a kick arriving while we process
				 * is then seen on the next round, never lost. */
				if (read(w->fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
					pr_warn("%s: queue notifier: %s", t->d->name,
						strerror(errno));
				virtio_kick_queue(t, w->queue);
				continue;
			}
			pthread_mutex_lock(&t->d->lock);
			w->cb(t->d, w->opaque, ev[i].events);
			pthread_mutex_unlock(&t->d->lock);
		}
	}
}

static int watch_add(struct virtio_transport *t, struct virtio_watch *w, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = w };

	return epoll_ctl(t->epfd, EPOLL_CTL_ADD, w->fd, &ev) ? -errno : 0;
}

int virtio_watch_fd(struct virtio_dev *d, int fd, uint32_t events, virtio_fd_cb cb,
		    void *opaque)
{
	struct virtio_transport *t = d->t;
	struct virtio_watch *w;
	int i, ret;

	if (t->epfd < 0)
		return -ENOTSUP;
	for (i = 0; i < VIRTIO_MAX_WATCHES && t->watches[i]; i++)
		;
	if (i == VIRTIO_MAX_WATCHES)
		return -ENOSPC;
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	*w = (struct virtio_watch){ .t = t, .fd = fd, .queue = -1, .cb = cb, .opaque = opaque };
	ret = watch_add(t, w, events);
	if (ret) {
		free(w);
		return ret;
	}
	t->watches[i] = w;
	return 0;
}

int virtio_unwatch_fd(struct virtio_dev *d, int fd)
{
	struct virtio_transport *t = d->t;

	for (int i = 0; i < VIRTIO_MAX_WATCHES; i++) {
		struct virtio_watch *w = t->watches[i];

		if (w && w->fd == fd) {
			epoll_ctl(t->epfd, EPOLL_CTL_DEL, fd, NULL);
			/* The worker takes one event per epoll_wait(), so none for W is
			 * pending once it is out of the epoll set. */
			free(w);
			t->watches[i] = NULL;
			return 0;
		}
	}
	return -ENOENT;
}

int virtio_watch_mod(struct virtio_dev *d, int fd, uint32_t events)
{
	struct virtio_transport *t = d->t;

	for (int i = 0; i < VIRTIO_MAX_WATCHES; i++) {
		struct virtio_watch *w = t->watches[i];

		if (w && w->fd == fd) {
			struct epoll_event ev = { .events = events, .data.ptr = w };

			return epoll_ctl(t->epfd, EPOLL_CTL_MOD, fd, &ev) ? -errno : 0;
		}
	}
	return -ENOENT;
}

int virtio_worker_start(struct virtio_transport *t)
{
	int ret;

	t->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (t->epfd < 0)
		return -errno;
	t->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (t->stop_fd < 0)
		return -errno;
	t->stop_watch = (struct virtio_watch){ .t = t, .fd = t->stop_fd, .queue = -1 };
	ret = watch_add(t, &t->stop_watch, EPOLLIN);
	/* A device without queue_notify has its queues served elsewhere: the notifiers are
	 * not ours to drain. */
	for (unsigned int q = 0; !ret && t->d->ops->queue_notify && q < t->d->nr_queues; q++) {
		t->qwatch[q] = (struct virtio_watch){ .t = t, .fd = t->queue_fd[q], .queue = q };
		ret = watch_add(t, &t->qwatch[q], EPOLLIN);
	}
	if (ret)
		return ret;
	ret = kvmm_thread_create_kind(&t->thread, SECCOMP_WORKER, worker_main, t);
	if (ret)
		return ret;
	t->running = true;
	return 0;
}

void virtio_worker_stop(struct virtio_transport *t)
{
	uint64_t one = 1;

	if (t->running) {
		if (write(t->stop_fd, &one, sizeof(one)) < 0)
			pr_warn("%s: stopping worker: %s", t->d->name, strerror(errno));
		pthread_join(t->thread, NULL);
		t->running = false;
	}
	for (int i = 0; i < VIRTIO_MAX_WATCHES; i++) {
		free(t->watches[i]);
		t->watches[i] = NULL;
	}
	if (t->stop_fd >= 0)
		close(t->stop_fd);
	if (t->epfd >= 0)
		close(t->epfd);
	t->stop_fd = t->epfd = -1;
}
