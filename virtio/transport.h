/*
 * Private to the virtio-mmio transport (mmio.c: registers and wiring; worker.c: the device
 * worker thread and the services virtio.h offers devices). Devices never include this.
 */
#ifndef KVMM_VIRTIO_TRANSPORT_H
#define KVMM_VIRTIO_TRANSPORT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "mmio.h"
#include "virtio.h"

#define VIRTIO_MAX_WATCHES 64

/* One fd on the worker's epoll set: a queue notifier, the stop eventfd or a device fd. */
struct virtio_watch {
	struct virtio_transport *t;
	int fd;
	int queue;			/* >= 0: the notifier of this queue */
	virtio_fd_cb cb;		/* device fds */
	void *opaque;
};

struct virtio_transport {
	struct virtio_dev *d;
	uint64_t base;			/* guest-physical register window */
	uint32_t irq;

	/* Driver-visible register state; changed under d->lock. */
	uint32_t status;
	uint32_t dev_features_sel;
	uint32_t drv_features_sel;
	uint64_t drv_features;
	uint32_t queue_sel;
	uint32_t config_generation;
	/* Lock-free: set by the worker, cleared by the vCPU handling InterruptACK. */
	_Atomic uint32_t int_status;

	int irq_fd;			/* KVM irqfd (a plain eventfd in tests) */
	int queue_fd[VIRTIO_MAX_QUEUES]; /* KVM ioeventfds on QueueNotify */

	/* The worker. Without one (tests), notifications run inline. */
	int epfd;
	int stop_fd;
	pthread_t thread;
	bool running;
	struct virtio_watch qwatch[VIRTIO_MAX_QUEUES];
	struct virtio_watch stop_watch;
	struct virtio_watch *watches[VIRTIO_MAX_WATCHES];
};

/* worker.c */
int virtio_worker_start(struct virtio_transport *t);
void virtio_worker_stop(struct virtio_transport *t);
/* Sets BITS in InterruptStatus and signals the irqfd. */
void virtio_raise(struct virtio_transport *t, uint32_t bits);
/* True when the device may process its queues (DRIVER_OK, not NEEDS_RESET or FAILED). */
bool virtio_live(const struct virtio_transport *t);
/* Runs queue Q's notification as the worker would (lock taken here). */
void virtio_kick_queue(struct virtio_transport *t, unsigned int q);

#endif
