/*
 * The virtio-mmio transport: the register file the driver programs (decoded here, with the
 * status machine, features and queue checks of core.c behind it; interrupt status; config
 * space with its generation), and the wiring of one device into a VM (an MMIO window and an
 * interrupt line from vmm/irq.c, the platform description, KVM ioeventfds and irqfd, the
 * worker thread). Every register value comes from the guest and is checked.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <linux/kvm.h>

#include "irq.h"
#include "log.h"
#include "mmio.h"
#include "transport.h"
#include "vm.h"

/* What virtio-mmio keeps beside the common transport state. */
struct mmio_state {
	uint64_t base;			/* guest-physical register window */
	uint32_t irq;
	int irq_fd;			/* KVM irqfd (a plain eventfd in tests) */
};

static struct mmio_state *mmio(struct virtio_transport *t)
{
	return t->priv;
}

static uint32_t rd32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

static void set_hi(uint64_t *v, uint32_t hi) { *v = (*v & 0xffffffffULL) | (uint64_t)hi << 32; }
static void set_lo(uint64_t *v, uint32_t lo) { *v = (*v & ~0xffffffffULL) | lo; }

static uint32_t read_reg(struct virtio_transport *t, uint64_t off)
{
	struct virtio_dev *d = t->d;
	struct vq *vq = virtio_sel_queue(t);

	switch (off) {
	case VIRTIO_MMIO_MAGIC: return VIRTIO_MMIO_MAGIC_VALUE;
	case VIRTIO_MMIO_VERSION: return 2;
	case VIRTIO_MMIO_DEVICE_ID: return d->device_id;
	case VIRTIO_MMIO_VENDOR_ID: return VIRTIO_MMIO_VENDOR;
	case VIRTIO_MMIO_DEVICE_FEATURES:
		return virtio_read_features(t);
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
	struct vq *vq = virtio_sel_queue(t);

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
		if (v == 0)
			vq->ready = false;
		else
			virtio_enable_queue(t);
		break;
	}
}

static void write_reg(struct virtio_transport *t, uint64_t off, uint32_t v)
{
	switch (off) {
	case VIRTIO_MMIO_DEVICE_FEATURES_SEL: t->dev_features_sel = v; break;
	case VIRTIO_MMIO_DRIVER_FEATURES_SEL: t->drv_features_sel = v; break;
	case VIRTIO_MMIO_DRIVER_FEATURES: virtio_write_features(t, v); break;
	case VIRTIO_MMIO_QUEUE_SEL: t->queue_sel = v; break;
	case VIRTIO_MMIO_STATUS: virtio_write_status(t, v); break;
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
			virtio_kick_locked(t, q);
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

static void mmio_interrupt(struct virtio_transport *t, uint32_t kind, unsigned int q)
{
	struct mmio_state *m = mmio(t);
	uint64_t one = 1;

	(void)q;
	atomic_fetch_or(&t->int_status, kind);
	/* The eventfd write is the interrupt edge (KVM irqfd); EAGAIN means the counter is
	 * saturated, i.e. an interrupt is pending anyway. */
	if (write(m->irq_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		pr_warn("%s: raising irq %u: %s", t->d->name, m->irq, strerror(errno));
}

static void mmio_destroy(struct virtio_transport *t)
{
	struct mmio_state *m = mmio(t);

	if (!m)
		return;
	if (m->irq_fd >= 0)
		close(m->irq_fd);
	free(m);
	t->priv = NULL;
}

static void mmio_describe(struct virtio_transport *t, char *buf, unsigned long len)
{
	snprintf(buf, len, "mmio@0x%llx", (unsigned long long)mmio(t)->base);
}

static const struct virtio_transport_ops mmio_ops = {
	.interrupt = mmio_interrupt,
	.destroy = mmio_destroy,
	.describe = mmio_describe,
};

static struct virtio_transport *mmio_new(struct virtio_dev *d, const struct guest_mem *gm)
{
	struct virtio_transport *t = virtio_transport_new(d, gm, &mmio_ops);
	struct mmio_state *m;

	if (!t)
		return NULL;
	m = calloc(1, sizeof(*m));
	if (!m) {
		virtio_transport_free(t);
		return NULL;
	}
	m->irq_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	t->priv = m;
	if (m->irq_fd < 0) {
		virtio_transport_free(t);
		return NULL;
	}
	return t;
}

/* ioeventfds on QueueNotify (one per queue, matched on the queue index) and the irqfd. */
static int wire_kvm(struct vm *vm, struct virtio_transport *t)
{
	struct mmio_state *m = mmio(t);
	struct kvm_irqfd irqfd = { .fd = m->irq_fd, .gsi = m->irq };

	if (ioctl(vm->vm_fd, KVM_IRQFD, &irqfd) < 0)
		return -errno;
	for (unsigned int q = 0; q < t->d->nr_queues; q++) {
		struct kvm_ioeventfd io = {
			.datamatch = q,
			.addr = m->base + VIRTIO_MMIO_QUEUE_NOTIFY,
			.len = 4,
			.fd = t->queue_fd[q],
			.flags = KVM_IOEVENTFD_FLAG_DATAMATCH,
		};

		if (ioctl(vm->vm_fd, KVM_IOEVENTFD, &io) < 0)
			return -errno;
	}
	return 0;
}

int virtio_mmio_add(struct vm *vm, struct virtio_dev *d)
{
	struct virtio_transport *t;
	struct mmio_state *m;
	uint64_t size;
	const char *step;
	int ret;

	if (vm->nr_virtio == VM_MAX_VIRTIO)	/* before anything refers to the device */
		return -ENOSPC;
	t = mmio_new(d, &vm->mem);
	if (!t) {
		pr_err("%s: bad device description or out of memory", d->name);
		return -EINVAL;
	}
	m = mmio(t);
	step = "no free virtio-mmio slot";
	ret = irq_line_alloc(vm, &m->irq, &m->base, &size);
	if (!ret) {
		step = "MMIO bus";
		ret = bus_register(&vm->mmio, m->base, size, virtio_mmio_access, t, d->name);
	}
	if (!ret) {
		step = "platform description";
		ret = vm_add_platform_dev(vm, d->name, m->base, size, m->irq);
	}
	if (!ret) {
		step = "KVM ioeventfd/irqfd";
		ret = wire_kvm(vm, t);
	}
	if (!ret) {
		step = "worker thread";
		ret = virtio_attach(vm, t);
	}
	if (ret) {
		pr_err("%s: %s: %s", d->name, step, strerror(-ret));
		virtio_transport_free(t);
		return ret;
	}
	pr_debug("%s: virtio-mmio at 0x%llx irq %u", d->name, (unsigned long long)m->base,
		 m->irq);
	return 0;
}

struct virtio_transport *virtio_mmio_test_new(struct virtio_dev *d, const struct guest_mem *gm,
					      int *irq_fd)
{
	struct virtio_transport *t = mmio_new(d, gm);

	if (t)
		*irq_fd = mmio(t)->irq_fd;
	return t;
}

void virtio_mmio_test_free(struct virtio_transport *t)
{
	virtio_transport_free(t);
}
