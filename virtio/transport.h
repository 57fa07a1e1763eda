/*
 * Private to the virtio transports: the state every transport keeps for a device (core.c:
 * status state machine, feature negotiation, queue set-up; worker.c: the device worker and
 * the services virtio.h offers devices) and the small table through which that common code
 * reaches whichever transport carries the device (mmio.c: virtio-mmio; pci.c: virtio-pci).
 * Devices never include this.
 */
#ifndef KVMM_VIRTIO_TRANSPORT_H
#define KVMM_VIRTIO_TRANSPORT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "virtio.h"

#define VIRTIO_MAX_WATCHES 64

/* What an interrupt is for; also the bits of virtio-mmio's InterruptStatus and of
 * virtio-pci's ISR. */
#define VIRTIO_INT_VRING	1
#define VIRTIO_INT_CONFIG	2

struct virtio_transport;
struct vm;

/* One fd on the worker's epoll set: a queue notifier, the stop eventfd or a device fd. */
struct virtio_watch {
	struct virtio_transport *t;
	int fd;
	int queue;			/* >= 0: the notifier of this queue */
	virtio_fd_cb cb;		/* device fds */
	void *opaque;
};

struct virtio_transport_ops {
	/* Tells the driver that queue Q has used buffers (KIND VIRTIO_INT_VRING) or that the
	 * configuration changed (VIRTIO_INT_CONFIG, Q unused). Device lock held. */
	void (*interrupt)(struct virtio_transport *t, uint32_t kind, unsigned int q);
	/* Undoes what the transport wired into the VM (bus ranges stay: the VM is going away
	 * or the slot is reused), closes its fds and frees its private state. */
	void (*destroy)(struct virtio_transport *t);
	/* Where the device sits, for logs and vm.info ("0000:00:02.0", "mmio@0xd0000000"). */
	void (*describe)(struct virtio_transport *t, char *buf, unsigned long len);
	/* An eventfd that interrupts the driver for queue Q with no help from kvmm, or -1.
	 * May be NULL (no such fd ever). Lock held. */
	int (*irqfd)(struct virtio_transport *t, unsigned int q);
	/* The PCI segment and slot the device sits in: 0, or -ENODEV off PCI. May be NULL
	 * (never on PCI). */
	int (*pci_slot)(struct virtio_transport *t, unsigned int *seg, unsigned int *slot);
};

struct virtio_transport {
	struct virtio_dev *d;
	const struct virtio_transport_ops *ops;
	void *priv;			/* the transport's own state */

	/* Driver-visible state common to both transports; changed under d->lock. */
	uint32_t status;
	uint32_t dev_features_sel;
	uint32_t drv_features_sel;
	uint64_t drv_features;
	uint32_t queue_sel;
	uint32_t config_generation;
	/* InterruptStatus / ISR: set by the worker, cleared by the vCPU that reads or acks it. */
	_Atomic uint32_t int_status;

	int queue_fd[VIRTIO_MAX_QUEUES]; /* KVM ioeventfds (plain eventfds without KVM) */

	/* devices.c: the guest was asked to eject the device (under vm->devs_lock). */
	bool unplug_pending;

	/* The worker. Without one (tests), notifications run inline. */
	int epfd;
	int stop_fd;
	pthread_t thread;
	bool running;
	struct virtio_watch qwatch[VIRTIO_MAX_QUEUES];
	struct virtio_watch stop_watch;
	struct virtio_watch *watches[VIRTIO_MAX_WATCHES];
};

/* core.c */

/* A transport for D over guest memory GM, with queue notifier eventfds made (not yet known
 * to KVM), or NULL for a device description the transports cannot carry or no memory. */
struct virtio_transport *virtio_transport_new(struct virtio_dev *d, const struct guest_mem *gm,
					      const struct virtio_transport_ops *ops);
/* Stops the worker, runs ops->destroy if set, closes the notifiers, frees T (not D). */
void virtio_transport_free(struct virtio_transport *t);
/* The driver wrote V to the device status (0: reset). Lock held. */
void virtio_write_status(struct virtio_transport *t, uint32_t v);
/* The 32 feature bits the device offers at dev_features_sel (VERSION_1 included). */
uint32_t virtio_read_features(const struct virtio_transport *t);
/* The driver's 32 feature bits at drv_features_sel; ignored outside negotiation. */
void virtio_write_features(struct virtio_transport *t, uint32_t v);
/* The selected queue, or NULL past the device's last one. */
struct vq *virtio_sel_queue(struct virtio_transport *t);
/* The driver enabled the selected queue: checks its set-up against guest memory, else
 * marks the device NEEDS_RESET. Lock held. */
void virtio_enable_queue(struct virtio_transport *t);
/* Hands queue Q's notification to the worker (inline without one). Lock held. */
void virtio_kick_locked(struct virtio_transport *t, unsigned int q);

/* worker.c */
int virtio_worker_start(struct virtio_transport *t);
void virtio_worker_stop(struct virtio_transport *t);
/* True when the device may process its queues (DRIVER_OK, not NEEDS_RESET or FAILED). */
bool virtio_live(const struct virtio_transport *t);
/* Runs queue Q's notification as the worker would (lock taken here). */
void virtio_kick_queue(struct virtio_transport *t, unsigned int q);

/* The transports' constructors (mmio.c, pci.c): put D on VM. On success the VM owns D
 * (ops->destroy at teardown, through virtio_transport_free and D's own destroy); on failure
 * the caller still does. 0/-errno with a message naming the step. */
int virtio_mmio_add(struct vm *vm, struct virtio_dev *d);
/* INTX: give the function INTA when a line is free (cold-plug: the DSDT's _PRT is written
 * at boot, so a hot-plugged function goes without and uses MSI-X). */
int virtio_pci_add(struct vm *vm, struct virtio_dev *d, unsigned int segment, bool intx);

/* devices.c: the last step of both: starts T's worker and makes T one of the VM's devices
 * (vm.counters, teardown; under vm->devs_lock). 0, or -ENOSPC / the worker's -errno (T is
 * then still the caller's). */
int virtio_attach(struct vm *vm, struct virtio_transport *t);

#endif
