/*
 * The virtio-mmio transport: the register file the driver programs (status state machine,
 * feature negotiation, queue set-up, interrupt status, config space with its generation),
 * and the wiring of one device into a VM (MMIO window, platform description, KVM ioeventfds
 * and irqfd, worker thread). Every register value comes from the guest and is checked here;
 * a device only ever sees queues that passed vq_validate() and features it offered.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <linux/kvm.h>

#include "arch.h"
#include "log.h"
#include "transport.h"
#include "vm.h"

static uint32_t rd32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

static void set_hi(uint64_t *v, uint32_t hi) { *v = (*v & 0xffffffffULL) | (uint64_t)hi << 32; }
static void set_lo(uint64_t *v, uint32_t lo) { *v = (*v & ~0xffffffffULL) | lo; }

/* Hands queue Q's notification to the worker (inline without one, as in tests). Lock held. */
static void kick_locked(struct virtio_transport *t, unsigned int q)
{
	uint64_t one = 1;

	if (t->epfd >= 0) {
		if (write(t->queue_fd[q], &one, sizeof(one)) < 0)
			pr_warn("%s: notify: %s", t->d->name, strerror(errno));
	} else if (virtio_live(t) && t->d->vqs[q].ready) {
		t->d->ops->queue_notify(t->d, q);
	}
}

/* Back to the state after creation: the driver wrote 0 to Status. Lock held. */
static void transport_reset(struct virtio_transport *t)
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

static void write_status(struct virtio_transport *t, uint32_t v)
{
	struct virtio_dev *d = t->d;
	uint32_t old = t->status;

	if (v == 0) {
		transport_reset(t);
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
			v &= ~VIRTIO_STATUS_FEATURES_OK;
		} else {
			d->acked = t->drv_features;
		}
	}
	if ((v & VIRTIO_STATUS_DRIVER_OK) && !(old & VIRTIO_STATUS_DRIVER_OK)) {
		if (!(v & VIRTIO_STATUS_FEATURES_OK)) {
			pr_warn("%s: DRIVER_OK without FEATURES_OK", d->name);
			v |= VIRTIO_STATUS_NEEDS_RESET;
		} else if (!(v & VIRTIO_STATUS_NEEDS_RESET)) {
			for (unsigned int q = 0; q < d->nr_queues; q++)
				d->vqs[q].event_idx = virtio_has(d, VIRTIO_F_EVENT_IDX);
			t->status = v;
			if (d->ops->activate(d)) {
				pr_warn("%s: activation failed", d->name);
				v |= VIRTIO_STATUS_NEEDS_RESET;
			}
		}
	}
	t->status = v;
	/* Buffers the driver queued before DRIVER_OK are looked at now, by the worker. */
	if (virtio_live(t) && !(old & VIRTIO_STATUS_DRIVER_OK))
		for (unsigned int q = 0; q < d->nr_queues; q++)
			if (d->vqs[q].ready)
				kick_locked(t, q);
}

static struct vq *sel_queue(struct virtio_transport *t)
{
	return t->queue_sel < t->d->nr_queues ? &t->d->vqs[t->queue_sel] : NULL;
}

static uint32_t read_reg(struct virtio_transport *t, uint64_t off)
{
	struct virtio_dev *d = t->d;
	struct vq *vq = sel_queue(t);
	uint64_t features = d->features | VIRTIO_BIT(VIRTIO_F_VERSION_1);

	switch (off) {
	case VIRTIO_MMIO_MAGIC: return VIRTIO_MMIO_MAGIC_VALUE;
	case VIRTIO_MMIO_VERSION: return 2;
	case VIRTIO_MMIO_DEVICE_ID: return d->device_id;
	case VIRTIO_MMIO_VENDOR_ID: return VIRTIO_MMIO_VENDOR;
	case VIRTIO_MMIO_DEVICE_FEATURES:
		return t->dev_features_sel > 1 ? 0 : (uint32_t)(features >> (32 * t->dev_features_sel));
	case VIRTIO_MMIO_QUEUE_NUM_MAX: return vq ? d->queue_max : 0;
	case VIRTIO_MMIO_QUEUE_READY: return vq ? vq->ready : 0;
	case VIRTIO_MMIO_STATUS: return t->status;
	case VIRTIO_MMIO_SHM_LEN_LOW:
	case VIRTIO_MMIO_SHM_LEN_HIGH: return 0xffffffff;	/* no shared memory regions */
	case VIRTIO_MMIO_CONFIG_GENERATION: return t->config_generation;
	}
	return 0;
}

static void write_queue_reg(struct virtio_transport *t, uint64_t off, uint32_t v)
{
	struct vq *vq = sel_queue(t);

	/* Queue registers only change while that queue is not live (4.2.3.2). */
	if (!vq || (vq->ready && !(off == VIRTIO_MMIO_QUEUE_READY && v == 0)))
		return;
	switch (off) {
	case VIRTIO_MMIO_QUEUE_NUM: vq->size = v > UINT16_MAX ? 0 : v; break;
	case VIRTIO_MMIO_QUEUE_DESC_LOW: set_lo(&vq->desc_gpa, v); break;
	case VIRTIO_MMIO_QUEUE_DESC_HIGH: set_hi(&vq->desc_gpa, v); break;
	case VIRTIO_MMIO_QUEUE_DRIVER_LOW: set_lo(&vq->avail_gpa, v); break;
	case VIRTIO_MMIO_QUEUE_DRIVER_HIGH: set_hi(&vq->avail_gpa, v); break;
	case VIRTIO_MMIO_QUEUE_DEVICE_LOW: set_lo(&vq->used_gpa, v); break;
	case VIRTIO_MMIO_QUEUE_DEVICE_HIGH: set_hi(&vq->used_gpa, v); break;
	case VIRTIO_MMIO_QUEUE_READY:
		if (v == 0) {
			vq->ready = false;
		} else if (vq_validate(vq, t->d->mem, t->d->queue_max)) {
			pr_warn("%s: queue %u set-up refused (size %u, rings 0x%llx 0x%llx 0x%llx)",
				t->d->name, t->queue_sel, vq->size,
				(unsigned long long)vq->desc_gpa,
				(unsigned long long)vq->avail_gpa,
				(unsigned long long)vq->used_gpa);
			virtio_needs_reset(t->d, "bad queue set-up");
		} else {
			vq->ready = true;
		}
		break;
	}
}

static void write_reg(struct virtio_transport *t, uint64_t off, uint32_t v)
{
	switch (off) {
	case VIRTIO_MMIO_DEVICE_FEATURES_SEL: t->dev_features_sel = v; break;
	case VIRTIO_MMIO_DRIVER_FEATURES_SEL: t->drv_features_sel = v; break;
	case VIRTIO_MMIO_DRIVER_FEATURES:
		/* Only while negotiating: after FEATURES_OK the set is fixed. */
		if (t->drv_features_sel > 1 || !(t->status & VIRTIO_STATUS_DRIVER) ||
		    (t->status & VIRTIO_STATUS_FEATURES_OK))
			break;
		if (t->drv_features_sel)
			set_hi(&t->drv_features, v);
		else
			set_lo(&t->drv_features, v);
		break;
	case VIRTIO_MMIO_QUEUE_SEL: t->queue_sel = v; break;
	case VIRTIO_MMIO_STATUS: write_status(t, v); break;
	default: write_queue_reg(t, off, v); break;
	}
}

static void config_access(struct virtio_transport *t, uint64_t off, uint8_t *data,
			  uint32_t len, bool is_write)
{
	struct virtio_dev *d = t->d;

	if (off > d->config_size || len > d->config_size - off) {
		if (!is_write)
			memset(data, 0, len);
		return;
	}
	if (!is_write)
		d->ops->config_read(d, off, data, len);
	else if (d->ops->config_write)
		d->ops->config_write(d, off, data, len);
}

void virtio_mmio_access(void *opaque, uint64_t offset, uint8_t *data, uint32_t len,
			bool is_write)
{
	struct virtio_transport *t = opaque;
	struct virtio_dev *d = t->d;

	if (offset >= VIRTIO_MMIO_CONFIG) {
		pthread_mutex_lock(&d->lock);
		config_access(t, offset - VIRTIO_MMIO_CONFIG, data, len, is_write);
		pthread_mutex_unlock(&d->lock);
		return;
	}
	/* Registers are 32 bits wide and aligned (4.2.2.2); other accesses are dropped. */
	if (len != 4 || (offset & 3)) {
		if (!is_write)
			memset(data, 0, len);
		return;
	}
	/* The hot registers, without the lock (the worker may hold it for a long I/O). */
	if (offset == VIRTIO_MMIO_INTERRUPT_STATUS && !is_write) {
		uint32_t v = atomic_load(&t->int_status);

		memcpy(data, &v, 4);
		return;
	}
	if (offset == VIRTIO_MMIO_INTERRUPT_ACK && is_write) {
		atomic_fetch_and(&t->int_status, ~rd32(data));
		return;
	}
	if (offset == VIRTIO_MMIO_QUEUE_NOTIFY && is_write) {
		uint32_t q = rd32(data);

		/* Normally KVM's ioeventfd takes this write; without one, do its job. */
		if (q < d->nr_queues) {
			pthread_mutex_lock(&d->lock);
			kick_locked(t, q);
			pthread_mutex_unlock(&d->lock);
		}
		return;
	}
	pthread_mutex_lock(&d->lock);
	if (is_write) {
		write_reg(t, offset, rd32(data));
	} else {
		uint32_t v = read_reg(t, offset);

		memcpy(data, &v, 4);
	}
	pthread_mutex_unlock(&d->lock);
}

static struct virtio_transport *transport_new(struct virtio_dev *d, const struct guest_mem *gm)
{
	struct virtio_transport *t;

	if (d->nr_queues == 0 || d->nr_queues > VIRTIO_MAX_QUEUES || d->queue_max == 0 ||
	    d->queue_max > VQ_MAX_SIZE || (d->queue_max & (d->queue_max - 1)))
		return NULL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->d = d;
	t->irq_fd = t->epfd = t->stop_fd = -1;
	for (unsigned int q = 0; q < VIRTIO_MAX_QUEUES; q++)
		t->queue_fd[q] = -1;
	d->t = t;
	d->mem = gm;
	pthread_mutex_init(&d->lock, NULL);
	return t;
}

static void transport_free(struct virtio_transport *t)
{
	virtio_worker_stop(t);
	for (unsigned int q = 0; q < VIRTIO_MAX_QUEUES; q++)
		if (t->queue_fd[q] >= 0)
			close(t->queue_fd[q]);
	if (t->irq_fd >= 0)
		close(t->irq_fd);
	pthread_mutex_destroy(&t->d->lock);
	t->d->t = NULL;
	free(t);
}

/* ioeventfds on QueueNotify (one per queue, matched on the queue index) and the irqfd. */
static int wire_kvm(struct vm *vm, struct virtio_transport *t)
{
	struct kvm_irqfd irqfd = { .gsi = t->irq };

	t->irq_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (t->irq_fd < 0)
		return -errno;
	irqfd.fd = t->irq_fd;
	if (ioctl(vm->vm_fd, KVM_IRQFD, &irqfd) < 0)
		return -errno;
	for (unsigned int q = 0; q < t->d->nr_queues; q++) {
		struct kvm_ioeventfd io = {
			.datamatch = q,
			.addr = t->base + VIRTIO_MMIO_QUEUE_NOTIFY,
			.len = 4,
			.flags = KVM_IOEVENTFD_FLAG_DATAMATCH,
		};

		t->queue_fd[q] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (t->queue_fd[q] < 0)
			return -errno;
		io.fd = t->queue_fd[q];
		if (ioctl(vm->vm_fd, KVM_IOEVENTFD, &io) < 0)
			return -errno;
	}
	return 0;
}

int virtio_mmio_add(struct vm *vm, struct virtio_dev *d)
{
	struct virtio_transport *t;
	uint64_t size;
	const char *step;
	int ret;

	if (vm->nr_virtio == VM_MAX_VIRTIO)
		return -ENOSPC;
	t = transport_new(d, &vm->mem);
	if (!t) {
		pr_err("%s: bad device description or out of memory", d->name);
		return -EINVAL;
	}
	step = "no free virtio-mmio slot";
	ret = arch_virtio_slot(vm->nr_virtio, &t->base, &size, &t->irq);
	if (!ret) {
		step = "MMIO bus";
		ret = bus_register(&vm->mmio, t->base, size, virtio_mmio_access, t, d->name);
	}
	if (!ret) {
		step = "platform description";
		ret = vm_add_platform_dev(vm, d->name, t->base, size, t->irq);
	}
	if (!ret) {
		step = "KVM ioeventfd/irqfd";
		ret = wire_kvm(vm, t);
	}
	if (!ret) {
		step = "worker thread";
		ret = virtio_worker_start(t);
	}
	if (ret) {
		pr_err("%s: %s: %s", d->name, step, strerror(-ret));
		transport_free(t);
		return ret;
	}
	vm->virtio[vm->nr_virtio++] = t;
	pr_debug("%s: virtio-mmio at 0x%llx irq %u", d->name, (unsigned long long)t->base,
		 t->irq);
	return 0;
}

struct virtio_dev *virtio_mmio_dev(struct vm *vm, unsigned int index)
{
	return index < vm->nr_virtio ? vm->virtio[index]->d : NULL;
}

void virtio_mmio_destroy_all(struct vm *vm)
{
	for (unsigned int i = 0; i < vm->nr_virtio; i++) {
		struct virtio_transport *t = vm->virtio[i];
		struct virtio_dev *d = t->d;

		transport_free(t);
		d->ops->destroy(d);
	}
	vm->nr_virtio = 0;
}

struct virtio_transport *virtio_mmio_test_new(struct virtio_dev *d, const struct guest_mem *gm,
					      int *irq_fd)
{
	struct virtio_transport *t = transport_new(d, gm);

	if (!t)
		return NULL;
	t->irq_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (t->irq_fd < 0) {
		transport_free(t);
		return NULL;
	}
	*irq_fd = t->irq_fd;
	return t;
}

void virtio_mmio_test_free(struct virtio_transport *t)
{
	transport_free(t);
}
