/*
 * The transport-independent half of a virtio device as the driver sees it (virtio 1.x, 2 and
 * 3): the device status state machine, feature negotiation, the checks on a queue the driver
 * enables, and reset. virtio-mmio (mmio.c) and virtio-pci (pci.c) decode their own register
 * layouts and call these, so both enforce the same rules: a device only ever sees queues that
 * passed vq_validate() and features it offered.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "log.h"
#include "transport.h"

void virtio_kick_locked(struct virtio_transport *t, unsigned int q)
{
	uint64_t one = 1;

	if (t->epfd >= 0) {
		if (write(t->queue_fd[q], &one, sizeof(one)) < 0)
			pr_warn("%s: notify: %s", t->d->name, strerror(errno));
	} else if (virtio_live(t) && t->d->vqs[q].ready && t->d->ops->queue_notify) {
		t->d->ops->queue_notify(t->d, q);
	}
}

/* Back to the state after creation: the driver wrote 0 to the status. */
static void core_reset(struct virtio_transport *t)
{
	struct virtio_dev *d = t->d;

	if (d->ops->reset)
		d->ops->reset(d);
	for (unsigned int q = 0; q < VIRTIO_MAX_QUEUES; q++)
		vq_reset(&d->vqs[q]);
	d->acked = 0;
	t->status = 0;
	t->dev_features_sel = t->drv_features_sel = t->queue_sel = 0;
	t->drv_features = 0;
	atomic_store(&t->int_status, 0);
}

void virtio_write_status(struct virtio_transport *t, uint32_t v)
{
	struct virtio_dev *d = t->d;
	uint32_t old = t->status;

	if (v == 0) {
		core_reset(t);
		return;
	}
	/* NEEDS_RESET is the device's to set; the driver only ever adds bits (3.1.1). */
	v = (v & ~VIRTIO_STATUS_NEEDS_RESET) | (old & VIRTIO_STATUS_NEEDS_RESET);
	if ((v & old) != old || (v & ~0xffu)) {
		pr_debug("%s: status 0x%x -> 0x%x ignored", d->name, old, v);
		return;
	}
	if ((v & VIRTIO_STATUS_FEATURES_OK) && !(old & VIRTIO_STATUS_FEATURES_OK)) {
		uint64_t offered = d->features | VIRTIO_BIT(VIRTIO_F_VERSION_1);

		/* Refuse features never offered, and legacy drivers: FEATURES_OK then
		 * stays clear, which is how the driver learns it (3.1.1). */
		if ((t->drv_features & ~offered) ||
		    !(t->drv_features & VIRTIO_BIT(VIRTIO_F_VERSION_1))) {
			pr_warn("%s: driver features 0x%llx not acceptable (offered 0x%llx)",
				d->name, (unsigned long long)t->drv_features,
				(unsigned long long)offered);
			atomic_fetch_add_explicit(&d->features_refused, 1, memory_order_relaxed);
			v &= ~VIRTIO_STATUS_FEATURES_OK;
		} else {
			d->acked = t->drv_features;
		}
	}
	if ((v & VIRTIO_STATUS_DRIVER_OK) && !(old & VIRTIO_STATUS_DRIVER_OK)) {
		if (!(v & VIRTIO_STATUS_FEATURES_OK)) {
			pr_warn("%s: DRIVER_OK without FEATURES_OK", d->name);
			atomic_fetch_add_explicit(&d->needs_reset, 1, memory_order_relaxed);
			v |= VIRTIO_STATUS_NEEDS_RESET;
		} else if (!(v & VIRTIO_STATUS_NEEDS_RESET)) {
			for (unsigned int q = 0; q < d->nr_queues; q++)
				d->vqs[q].event_idx = virtio_has(d, VIRTIO_F_EVENT_IDX);
			t->status = v;
			if (d->ops->activate(d)) {
				pr_warn("%s: activation failed", d->name);
				atomic_fetch_add_explicit(&d->needs_reset, 1, memory_order_relaxed);
				v |= VIRTIO_STATUS_NEEDS_RESET;
			}
		}
	}
	t->status = v;
	/* Buffers the driver queued before DRIVER_OK are looked at now, by the worker. */
	if (virtio_live(t) && !(old & VIRTIO_STATUS_DRIVER_OK))
		for (unsigned int q = 0; q < d->nr_queues; q++)
			if (d->vqs[q].ready)
				virtio_kick_locked(t, q);
}

uint32_t virtio_read_features(const struct virtio_transport *t)
{
	uint64_t features = t->d->features | VIRTIO_BIT(VIRTIO_F_VERSION_1);

	return t->dev_features_sel > 1 ? 0 : (uint32_t)(features >> (32 * t->dev_features_sel));
}

void virtio_write_features(struct virtio_transport *t, uint32_t v)
{
	/* Only while negotiating: after FEATURES_OK the set is fixed. */
	if (t->drv_features_sel > 1 || !(t->status & VIRTIO_STATUS_DRIVER) ||
	    (t->status & VIRTIO_STATUS_FEATURES_OK))
		return;
	if (t->drv_features_sel)
		t->drv_features = (t->drv_features & 0xffffffffULL) | (uint64_t)v << 32;
	else
		t->drv_features = (t->drv_features & ~0xffffffffULL) | v;
}

struct vq *virtio_sel_queue(struct virtio_transport *t)
{
	return t->queue_sel < t->d->nr_queues ? &t->d->vqs[t->queue_sel] : NULL;
}

void virtio_enable_queue(struct virtio_transport *t)
{
	struct vq *vq = virtio_sel_queue(t);

	if (!vq || vq->ready)
		return;
	if (vq_validate(vq, t->d->mem, t->d->queue_max)) {
		pr_warn("%s: queue %u set-up refused (size %u, rings 0x%llx 0x%llx 0x%llx)",
			t->d->name, t->queue_sel, vq->size, (unsigned long long)vq->desc_gpa,
			(unsigned long long)vq->avail_gpa, (unsigned long long)vq->used_gpa);
		virtio_needs_reset(t->d, "bad queue set-up");
		return;
	}
	vq->ready = true;
}

struct virtio_transport *virtio_transport_new(struct virtio_dev *d, const struct guest_mem *gm,
					      const struct virtio_transport_ops *ops)
{
	struct virtio_transport *t;

	if (d->nr_queues == 0 || d->nr_queues > VIRTIO_MAX_QUEUES || d->queue_max == 0 ||
	    d->queue_max > VQ_MAX_SIZE || (d->queue_max & (d->queue_max - 1)))
		return NULL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->d = d;
	t->ops = ops;
	t->epfd = t->stop_fd = -1;
	for (unsigned int q = 0; q < VIRTIO_MAX_QUEUES; q++)
		t->queue_fd[q] = -1;
	for (unsigned int q = 0; q < d->nr_queues; q++) {
		t->queue_fd[q] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (t->queue_fd[q] < 0)
			goto err;
	}
	d->t = t;
	d->mem = gm;
	pthread_mutex_init(&d->lock, NULL);
	return t;
err:
	for (unsigned int q = 0; q < d->nr_queues; q++)
		if (t->queue_fd[q] >= 0)
			close(t->queue_fd[q]);
	free(t);
	return NULL;
}

void virtio_transport_free(struct virtio_transport *t)
{
	struct virtio_dev *d = t->d;
	char line[320];

	virtio_worker_stop(t);
	/* The rings as the device leaves them (-vv): a chain never taken or a completion never
	 * signalled is what a lost kick or interrupt looks like, except that a receive queue
	 * always holds the driver's empty buffers. Queues a back-end serves are not ours. */
	for (unsigned int q = 0; q < d->nr_queues && d->ops->queue_notify && d->mem; q++) {
		bool work;

		if (!d->vqs[q].ready)
			continue;
		work = vq_describe(&d->vqs[q], d->mem, line, sizeof(line));
		pr_debug("%s: queue %u at teardown%s: %s", d->name, q, work ? ", work left" : "",
			 line);
	}
	if (t->ops && t->ops->destroy)
		t->ops->destroy(t);
	for (unsigned int q = 0; q < VIRTIO_MAX_QUEUES; q++)
		if (t->queue_fd[q] >= 0)
			close(t->queue_fd[q]);
	pthread_mutex_destroy(&d->lock);
	d->t = NULL;
	free(t);
}
