/*
 * The virtio-device half of a vhost-user front-end (vhost_user.h): what every device whose
 * queues a back-end process serves does the same way. At creation it negotiates; at
 * DRIVER_OK it hands the back-end guest RAM and each ready queue (its rings' addresses, the
 * KVM ioeventfd the guest's notifications land on, and where interrupts go); at reset it
 * takes the rings back; when the back-end dies it puts the device in DEVICE_NEEDS_RESET and
 * kvmm carries on.
 *
 * Interrupts: where the transport has an irqfd for the queue (virtio-pci with MSI-X on and a
 * vector mapped), the back-end writes it and KVM injects; kvmm is not involved. Otherwise
 * (virtio-mmio, INTx) kvmm must set the interrupt status before raising the line, so the
 * back-end gets an eventfd of kvmm's and the device worker relays it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "log.h"
#include "vhost_user.h"

int vhost_user_dev_init(struct vhost_user_dev *v, struct virtio_dev *d, const char *socket,
			uint64_t supported)
{
	int ret;

	v->d = d;
	v->supported = supported;
	for (unsigned int q = 0; q < VIRTIO_MAX_QUEUES; q++)
		v->relay_fd[q] = -1;
	ret = vhost_user_connect(&v->vu, socket, d->name);
	if (ret)
		return ret;
	ret = vhost_user_handshake(&v->vu);
	if (ret) {
		pr_err("%s: vhost-user negotiation with %s failed: %s", d->name, socket,
		       v->vu.error[0] ? v->vu.error : strerror(-ret));
		goto err;
	}
	if (!(v->vu.features & VIRTIO_BIT(VIRTIO_F_VERSION_1))) {
		pr_err("%s: the vhost-user back-end at %s does not offer VIRTIO_F_VERSION_1",
		       d->name, socket);
		ret = -EPROTO;
		goto err;
	}
	if (v->vu.queue_num && d->nr_queues > v->vu.queue_num) {
		pr_err("%s: %u queues asked for, the back-end at %s has %u", d->name,
		       d->nr_queues, socket, v->vu.queue_num);
		ret = -EINVAL;
		goto err;
	}
	/* The transport adds VERSION_1 itself; nothing it does not know reaches the driver. */
	d->features = v->vu.features & supported & ~VIRTIO_BIT(VIRTIO_F_VERSION_1);
	pr_info("%s: vhost-user back-end at %s: features 0x%llx, protocol 0x%llx, %u queues",
		d->name, socket, (unsigned long long)v->vu.features,
		(unsigned long long)v->vu.protocol, v->vu.queue_num);
	return 0;
err:
	vhost_user_close(&v->vu);
	return ret;
}

/* The back-end hung up: nothing it was doing can go on. Device lock held (worker). */
static void backend_gone(struct virtio_dev *d, void *opaque, uint32_t events)
{
	struct vhost_user_dev *v = opaque;

	(void)events;
	virtio_unwatch_fd(d, v->vu.sock);
	v->watching = false;
	v->backend_lost++;
	if (!v->vu.broken)
		snprintf(v->vu.error, sizeof(v->vu.error), "the back-end closed the connection");
	pr_err("%s: vhost-user back-end closed the connection", d->name);
	vhost_user_close(&v->vu);
	memset(v->started, 0, sizeof(v->started));
	virtio_needs_reset(d, "vhost-user back-end gone");
}

/* The back-end signalled a queue's eventfd of kvmm's: raise the interrupt. Lock held. */
static void relay(struct virtio_dev *d, void *opaque, uint32_t events)
{
	struct vhost_user_relay *r = opaque;
	uint64_t n;

	(void)events;
	if (read(r->v->relay_fd[r->q], &n, sizeof(n)) < 0)
		return;		/* EAGAIN: already taken by an earlier wake-up */
	r->v->relayed++;
	virtio_interrupt_queue(d, r->q);
}

/* Wires queue Q's interrupt: the transport's irqfd, or an eventfd kvmm relays. The fd, or
 * -errno. */
static int call_fd(struct vhost_user_dev *v, unsigned int q)
{
	int fd = virtio_queue_irqfd(v->d, q), ret;

	if (fd >= 0) {
		v->direct++;
		return fd;
	}
	if (v->relay_fd[q] < 0) {
		v->relay_fd[q] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (v->relay_fd[q] < 0)
			return -errno;
	}
	v->relays[q] = (struct vhost_user_relay){ v, q };
	ret = virtio_watch_fd(v->d, v->relay_fd[q], EPOLLIN, relay, &v->relays[q]);
	/* Without a worker (tests) nobody relays; the back-end still gets a valid fd. */
	if (ret && ret != -ENOTSUP && ret != -EEXIST)
		return ret;
	return v->relay_fd[q];
}

static void unwatch_relays(struct vhost_user_dev *v)
{
	for (unsigned int q = 0; q < VIRTIO_MAX_QUEUES; q++)
		if (v->relay_fd[q] >= 0)
			virtio_unwatch_fd(v->d, v->relay_fd[q]);
}

int vhost_user_dev_activate(struct vhost_user_dev *v)
{
	struct virtio_dev *d = v->d;
	struct vhost_user *vu = &v->vu;
	int ret;

	if (vu->broken)
		return -EPIPE;
	if (!v->watching) {
		/* EPOLLRDHUP only: replies are read by whoever sent the request. */
		ret = virtio_watch_fd(d, vu->sock, EPOLLRDHUP, backend_gone, v);
		if (ret && ret != -ENOTSUP)
			return ret;
		v->watching = !ret;
	}
	v->activations++;
	ret = vhost_user_set_features(vu, d->acked & v->supported);
	if (!ret)
		ret = vhost_user_set_mem_table(vu, d->mem);
	for (unsigned int q = 0; !ret && q < d->nr_queues; q++) {
		const struct vq *vq = &d->vqs[q];
		struct vhost_user_vring r = { .size = vq->size };
		void *desc, *avail, *used;

		if (!vq->ready)
			continue;
		/* vq_validate() checked these when the driver enabled the queue. */
		desc = gm_ptr(d->mem, vq->desc_gpa, 16ULL * vq->size);
		avail = gm_ptr(d->mem, vq->avail_gpa, 6 + 2ULL * vq->size);
		used = gm_ptr(d->mem, vq->used_gpa, 6 + 8ULL * vq->size);
		if (!desc || !avail || !used) {
			ret = -EFAULT;
			break;
		}
		r.desc = (uintptr_t)desc;
		r.avail = (uintptr_t)avail;
		r.used = (uintptr_t)used;
		r.kick = virtio_queue_kick_fd(d, q);
		r.call = call_fd(v, q);
		if (r.call < 0) {
			ret = r.call;
			break;
		}
		ret = vhost_user_start_vring(vu, q, &r);
		if (!ret)
			v->started[q] = true;
		if (!ret)
			ret = vhost_user_enable_vring(vu, q, true);
	}
	if (ret)
		pr_err("%s: handing the queues to the vhost-user back-end: %s", d->name,
		       vu->error[0] ? vu->error : strerror(-ret));
	return ret;
}

int vhost_user_dev_mem_changed(struct vhost_user_dev *v)
{
	bool started = false;
	int ret;

	for (unsigned int q = 0; q < v->d->nr_queues; q++)
		started |= v->started[q];
	if (!started || v->vu.broken)
		return 0;
	ret = vhost_user_set_mem_table(&v->vu, v->d->mem);
	if (ret)
		pr_err("%s: giving the vhost-user back-end the grown guest RAM: %s", v->d->name,
		       v->vu.error[0] ? v->vu.error : strerror(-ret));
	v->mem_updates++;
	return ret;
}

void vhost_user_dev_reset(struct vhost_user_dev *v)
{
	struct virtio_dev *d = v->d;

	unwatch_relays(v);
	for (unsigned int q = 0; q < d->nr_queues; q++) {
		uint16_t base;

		if (!v->started[q])
			continue;
		v->started[q] = false;
		/* Disabled, then stopped: after GET_VRING_BASE the back-end no longer touches
		 * the rings, which the driver may now reuse. */
		vhost_user_enable_vring(&v->vu, q, false);
		vhost_user_stop_vring(&v->vu, q, &base);
	}
	v->resets++;
}

void vhost_user_dev_destroy(struct vhost_user_dev *v)
{
	for (unsigned int q = 0; q < VIRTIO_MAX_QUEUES; q++) {
		if (v->relay_fd[q] >= 0)
			close(v->relay_fd[q]);
		v->relay_fd[q] = -1;
	}
	vhost_user_close(&v->vu);
}

unsigned int vhost_user_dev_counters(struct vhost_user_dev *v, struct virtio_counter *out)
{
	out[0] = (struct virtio_counter){ "backend_requests", v->vu.requests };
	out[1] = (struct virtio_counter){ "backend_failures", v->vu.failures };
	out[2] = (struct virtio_counter){ "backend_lost", v->backend_lost };
	out[3] = (struct virtio_counter){ "activations", v->activations };
	out[4] = (struct virtio_counter){ "irqs_relayed", v->relayed };
	out[5] = (struct virtio_counter){ "queues_irqfd", v->direct };
	out[6] = (struct virtio_counter){ "mem_table_updates", v->mem_updates };
	return 7;
}
