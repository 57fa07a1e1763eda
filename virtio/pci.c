/*
 * The modern virtio-pci transport (virtio 1.x, 4.1): one PCI function per device, vendor
 * 0x1af4, device 0x1040 + the virtio device ID, revision 1, with its common, notify, ISR and
 * device configuration structures and its MSI-X table and PBA in one 64-bit memory BAR:
 *
 *   BAR0 + 0x0000  common configuration      + 0x3000  notifications, 4 bytes per queue
 *        + 0x1000  ISR status                + 0x4000  MSI-X table
 *        + 0x2000  device configuration      + 0x5000  MSI-X pending bits
 *
 * Queue notifications are KVM ioeventfds on the notify area, moved whenever the guest moves
 * the BAR; interrupts are MSI-X vectors (one per queue plus one for configuration changes)
 * or, while MSI-X is off, INTA on a level-triggered line with the ISR as its status. The
 * status machine, features and queue checks are core.c's, shared with virtio-mmio.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <linux/kvm.h>

#include "irq.h"
#include "log.h"
#include "msix.h"
#include "pci.h"
#include "transport.h"
#include "virtio_pci.h"
#include "vm.h"

struct vpci {
	struct virtio_transport *t;
	struct vm *vm;			/* NULL in tests */
	int vm_fd;			/* -1 in tests */
	struct pci_func f;
	struct msix msix;
	uint16_t config_vector;
	uint16_t queue_vector[VIRTIO_MAX_QUEUES];
	uint64_t notify_gpa;		/* where the ioeventfds are, or PCI_BAR_UNDECODED */
	uint32_t notify_len;		/* their length: 0 (any width) where KVM can */
	pthread_mutex_t intx_lock;	/* the ISR and the line's level change together */
	bool intx_level;
	uint8_t cfg_cap;		/* offset of the VIRTIO_PCI_CAP_PCI_CFG capability */
};

static struct vpci *vpci(struct virtio_transport *t)
{
	return t->priv;
}

/* The class code a guest expects for each device type. */
static uint32_t class_code(uint32_t device_id)
{
	switch (device_id) {
	case VIRTIO_ID_NET: return 0x020000;	/* Ethernet controller */
	case VIRTIO_ID_BLOCK:			/* mass storage, other */
	case VIRTIO_ID_FS: return 0x018000;
	default: return 0xff0000;		/* unassigned class */
	}
}

/* ---- interrupts ---- */

/* The device's name, for logs. */
static const char *vpci_name(const struct vpci *p)
{
	return p->t->d->name;
}

/* Drives INTA, if the function has one (pci_func_set_intx). intx_lock held. */
static void intx_set(struct vpci *p, bool level)
{
	if (p->intx_level == level || !p->f.cfg[PCI_INTERRUPT_PIN])
		return;
	p->intx_level = level;
	if (p->vm && vm_irq_line(p->vm, p->f.intx_irq, level))
		pr_warn("%s: INTx line %u: %m", vpci_name(p), p->f.intx_irq);
}

static void vpci_interrupt(struct virtio_transport *t, uint32_t kind, unsigned int q)
{
	struct vpci *p = vpci(t);

	uint16_t v = kind == VIRTIO_INT_VRING ? p->queue_vector[q] : p->config_vector;

	/* With MSI-X on, the vector (NO_VECTOR, out of the table's range, means no interrupt
	 * of this kind: 4.1.5.1.2); with it off, INTx and the ISR. */
	if (msix_try_signal(&p->msix, v))
		return;
	pthread_mutex_lock(&p->intx_lock);
	atomic_fetch_or(&t->int_status, kind);
	if (!(pci_cfg_get(&p->f, PCI_COMMAND, 2) & PCI_COMMAND_INTX_DISABLE))
		intx_set(p, true);
	pthread_mutex_unlock(&p->intx_lock);
}

/* Reading the ISR acknowledges it and deasserts INTx (4.1.4.5). */
static uint8_t isr_read(struct vpci *p)
{
	uint32_t v;

	pthread_mutex_lock(&p->intx_lock);
	v = atomic_exchange(&p->t->int_status, 0);
	intx_set(p, false);
	pthread_mutex_unlock(&p->intx_lock);
	return (uint8_t)v;
}

/* ---- notifications ---- */

/* Moves the queue ioeventfds to the notify area of a BAR now decoded at BAR_GPA. */
static void move_ioeventfds(struct vpci *p, uint64_t bar_gpa)
{
	struct virtio_transport *t = p->t;
	uint64_t gpa = bar_gpa == PCI_BAR_UNDECODED ? PCI_BAR_UNDECODED :
		       bar_gpa + VPCI_NOTIFY_OFF;

	if (p->vm_fd < 0 || gpa == p->notify_gpa)
		return;
	for (unsigned int q = 0; q < t->d->nr_queues; q++) {
		struct kvm_ioeventfd io = { .len = p->notify_len, .fd = t->queue_fd[q] };

		if (p->notify_gpa != PCI_BAR_UNDECODED) {
			io.addr = p->notify_gpa + q * VPCI_NOTIFY_MULT;
			io.flags = KVM_IOEVENTFD_FLAG_DEASSIGN;
			if (ioctl(p->vm_fd, KVM_IOEVENTFD, &io) < 0)
				pr_warn("%s: removing queue %u's ioeventfd: %m", vpci_name(p), q);
		}
		if (gpa == PCI_BAR_UNDECODED)
			continue;
		io.addr = gpa + q * VPCI_NOTIFY_MULT;
		io.flags = 0;
		/* Without it the write still exits and the notify handler kicks. */
		if (ioctl(p->vm_fd, KVM_IOEVENTFD, &io) < 0)
			pr_warn("%s: queue %u's ioeventfd at 0x%llx: %m", vpci_name(p), q,
				(unsigned long long)io.addr);
	}
	p->notify_gpa = gpa;
}

static void vpci_bar_moved(struct pci_func *f, unsigned int bar, uint64_t old, uint64_t new_)
{
	struct vpci *p = f->opaque;

	(void)old;
	if (bar == VPCI_BAR)
		move_ioeventfds(p, new_);
}

/*
 * The VIRTIO_PCI_CAP_PCI_CFG window (4.1.4.9): the driver puts a BAR, an offset and a length
 * (1, 2 or 4, the offset aligned to it) in the capability, and reading or writing its
 * pci_cfg_data reaches BAR0 there. Anything else, or a window past the BAR, does nothing
 * (reads as zeros): the capability's fields are the guest's.
 */
static bool cfg_window(struct vpci *p, uint32_t *off, uint32_t *len)
{
	uint8_t bar = p->f.cfg[p->cfg_cap + 4];

	*off = pci_cfg_get(&p->f, p->cfg_cap + 8u, 4);
	*len = pci_cfg_get(&p->f, p->cfg_cap + 12u, 4);
	return bar == VPCI_BAR && (*len == 1 || *len == 2 || *len == 4) && !(*off & (*len - 1)) &&
	       *off < VPCI_BAR_SIZE && *len <= VPCI_BAR_SIZE - *off;
}

static bool touches_cfg_data(struct vpci *p, uint32_t off, uint32_t len)
{
	return p->cfg_cap && off < p->cfg_cap + 20u && off + len > p->cfg_cap + 16u;
}

static void vpci_cfg_read(struct pci_func *f, uint32_t off, uint32_t len)
{
	struct vpci *p = f->opaque;
	uint8_t data[4] = { 0 };
	uint32_t boff, blen;

	if (!touches_cfg_data(p, off, len))
		return;
	if (cfg_window(p, &boff, &blen))
		virtio_pci_bar_access(p, boff, data, blen, false);
	memcpy(&f->cfg[p->cfg_cap + 16], data, 4);
}

static void vpci_cfg_written(struct pci_func *f, uint32_t off, uint32_t len)
{
	struct vpci *p = f->opaque;
	uint32_t boff, blen;

	if (touches_cfg_data(p, off, len) && cfg_window(p, &boff, &blen))
		virtio_pci_bar_access(p, boff, &f->cfg[p->cfg_cap + 16], blen, true);

	/* Interrupt Disable set: a pending INTx is withdrawn until the guest clears it. */
	if (off <= PCI_COMMAND + 1 && off + len > PCI_COMMAND) {
		pthread_mutex_lock(&p->intx_lock);
		if (pci_cfg_get(f, PCI_COMMAND, 2) & PCI_COMMAND_INTX_DISABLE)
			intx_set(p, false);
		else if (atomic_load(&p->t->int_status))
			intx_set(p, true);
		pthread_mutex_unlock(&p->intx_lock);
	}
	if (off < p->msix.cap + 4u && off + len > p->msix.cap)
		msix_cfg_written(&p->msix);
}

static const struct pci_func_ops vpci_func_ops = {
	.bar_moved = vpci_bar_moved,
	.cfg_written = vpci_cfg_written,
	.cfg_read = vpci_cfg_read,
};

/* ---- the common configuration structure (4.1.4.3) ---- */

static uint64_t common_read(struct vpci *p, uint32_t off)
{
	struct virtio_transport *t = p->t;
	struct virtio_dev *d = t->d;
	struct vq *vq = virtio_sel_queue(t);

	switch (off) {
	case VPCI_DFSELECT: return t->dev_features_sel;
	case VPCI_DF: return virtio_read_features(t);
	case VPCI_GFSELECT: return t->drv_features_sel;
	case VPCI_GF:
		return t->drv_features_sel > 1 ? 0 :
		       (uint32_t)(t->drv_features >> (32 * t->drv_features_sel));
	case VPCI_MSIX_CONFIG: return p->config_vector;
	case VPCI_NUM_QUEUES: return d->nr_queues;
	case VPCI_STATUS: return t->status;
	case VPCI_CFG_GENERATION: return (uint8_t)t->config_generation;
	case VPCI_Q_SELECT: return t->queue_sel;
	case VPCI_Q_SIZE: return vq ? (vq->size ? vq->size : d->queue_max) : 0;
	case VPCI_Q_MSIX: return vq ? p->queue_vector[t->queue_sel] : VIRTIO_MSI_NO_VECTOR;
	case VPCI_Q_ENABLE: return vq ? vq->ready : 0;
	case VPCI_Q_NOFF: return vq ? t->queue_sel : 0;
	case VPCI_Q_DESCLO: return vq ? (uint32_t)vq->desc_gpa : 0;
	case VPCI_Q_DESCHI: return vq ? vq->desc_gpa >> 32 : 0;
	case VPCI_Q_AVAILLO: return vq ? (uint32_t)vq->avail_gpa : 0;
	case VPCI_Q_AVAILHI: return vq ? vq->avail_gpa >> 32 : 0;
	case VPCI_Q_USEDLO: return vq ? (uint32_t)vq->used_gpa : 0;
	case VPCI_Q_USEDHI: return vq ? vq->used_gpa >> 32 : 0;
	}
	return 0;
}

static void set_half(uint64_t *v, bool hi, uint32_t x)
{
	*v = hi ? (*v & 0xffffffffULL) | (uint64_t)x << 32 : (*v & ~0xffffffffULL) | x;
}

static uint16_t checked_vector(struct vpci *p, uint32_t v)
{
	/* A vector the table does not have reads back as NO_VECTOR: how the driver learns
	 * that the mapping failed (4.1.4.3.2). */
	return v < p->msix.nr ? (uint16_t)v : VIRTIO_MSI_NO_VECTOR;
}

static void common_write(struct vpci *p, uint32_t off, uint32_t v)
{
	struct virtio_transport *t = p->t;
	struct vq *vq = virtio_sel_queue(t);

	switch (off) {
	case VPCI_DFSELECT: t->dev_features_sel = v; return;
	case VPCI_GFSELECT: t->drv_features_sel = v; return;
	case VPCI_GF: virtio_write_features(t, v); return;
	case VPCI_MSIX_CONFIG: p->config_vector = checked_vector(p, v); return;
	case VPCI_STATUS:
		virtio_write_status(t, v & 0xff);
		if (t->status == 0) {
			/* The reset cleared the ISR: INTx must not stay asserted for it. */
			pthread_mutex_lock(&p->intx_lock);
			intx_set(p, false);
			pthread_mutex_unlock(&p->intx_lock);
			p->config_vector = VIRTIO_MSI_NO_VECTOR;
			for (unsigned int q = 0; q < VIRTIO_MAX_QUEUES; q++)
				p->queue_vector[q] = VIRTIO_MSI_NO_VECTOR;
		}
		return;
	case VPCI_Q_SELECT: t->queue_sel = v; return;
	}
	/* Queue fields only change while that queue is not enabled (4.1.4.3.2). */
	if (!vq || vq->ready)
		return;
	switch (off) {
	case VPCI_Q_SIZE: vq->size = (uint16_t)v; break;
	case VPCI_Q_MSIX: p->queue_vector[t->queue_sel] = checked_vector(p, v); break;
	case VPCI_Q_ENABLE:
		if (v == 1) {
			if (!vq->size)
				vq->size = t->d->queue_max;
			virtio_enable_queue(t);
		}
		break;
	case VPCI_Q_DESCLO: case VPCI_Q_DESCHI:
		set_half(&vq->desc_gpa, off == VPCI_Q_DESCHI, v); break;
	case VPCI_Q_AVAILLO: case VPCI_Q_AVAILHI:
		set_half(&vq->avail_gpa, off == VPCI_Q_AVAILHI, v); break;
	case VPCI_Q_USEDLO: case VPCI_Q_USEDHI:
		set_half(&vq->used_gpa, off == VPCI_Q_USEDHI, v); break;
	}
}

/* The width of the common configuration field at OFF, 0 if no field starts there. 64-bit
 * fields are taken as two 32-bit halves. */
static uint32_t common_width(uint32_t off)
{
	switch (off) {
	case VPCI_DFSELECT: case VPCI_DF: case VPCI_GFSELECT: case VPCI_GF:
	case VPCI_Q_DESCLO: case VPCI_Q_DESCHI: case VPCI_Q_AVAILLO: case VPCI_Q_AVAILHI:
	case VPCI_Q_USEDLO: case VPCI_Q_USEDHI:
		return 4;
	case VPCI_MSIX_CONFIG: case VPCI_NUM_QUEUES: case VPCI_Q_SELECT: case VPCI_Q_SIZE:
	case VPCI_Q_MSIX: case VPCI_Q_ENABLE: case VPCI_Q_NOFF:
		return 2;
	case VPCI_STATUS: case VPCI_CFG_GENERATION:
		return 1;
	}
	return 0;
}

static void common_access(struct vpci *p, uint32_t off, uint8_t *data, uint32_t len,
			  bool is_write)
{
	uint32_t w = common_width(off);
	uint64_t v = 0;

	/* A 64-bit access to a 64-bit field is two 32-bit ones (the spec allows both). */
	if (len == 8 && w == 4 && !(off & 7) && common_width(off + 4) == 4 && off >= VPCI_Q_DESCLO) {
		common_access(p, off, data, 4, is_write);
		common_access(p, off + 4, data + 4, 4, is_write);
		return;
	}
	if (w == 0 || len != w) {
		if (!is_write)
			memset(data, 0, len);
		return;
	}
	pthread_mutex_lock(&p->t->d->lock);
	if (is_write) {
		memcpy(&v, data, len);
		common_write(p, off, (uint32_t)v);
	} else {
		v = common_read(p, off);
		memcpy(data, &v, len);
	}
	pthread_mutex_unlock(&p->t->d->lock);
}

/* ---- the BAR ---- */

void virtio_pci_bar_access(void *opaque, uint64_t off, uint8_t *data, uint32_t len,
			   bool is_write)
{
	struct vpci *p = opaque;
	struct virtio_dev *d = p->t->d;
	uint32_t in = (uint32_t)(off % VPCI_REGION_SIZE);

	if (off + len > VPCI_BAR_SIZE || in + len > VPCI_REGION_SIZE) {
		if (!is_write)
			memset(data, 0xff, len);
		return;
	}
	switch (off - in) {
	case VPCI_COMMON_OFF:
		common_access(p, in, data, len, is_write);
		return;
	case VPCI_ISR_OFF:
		if (!is_write) {
			memset(data, 0, len);
			if (in == 0)
				data[0] = isr_read(p);
		}
		return;
	case VPCI_DEVICE_OFF:
		if (in > d->config_size || len > d->config_size - in) {
			if (!is_write)
				memset(data, 0, len);
			return;
		}
		pthread_mutex_lock(&d->lock);
		if (!is_write)
			d->ops->config_read(d, in, data, len);
		else if (d->ops->config_write)
			d->ops->config_write(d, in, data, len);
		pthread_mutex_unlock(&d->lock);
		return;
	case VPCI_NOTIFY_OFF:
		/* Normally a KVM ioeventfd takes the write; without one (a 4-byte write, no
		 * KVM), do its job. */
		if (is_write && in % VPCI_NOTIFY_MULT == 0 && in / VPCI_NOTIFY_MULT < d->nr_queues) {
			pthread_mutex_lock(&d->lock);
			virtio_kick_locked(p->t, in / VPCI_NOTIFY_MULT);
			pthread_mutex_unlock(&d->lock);
		} else if (!is_write) {
			memset(data, 0, len);
		}
		return;
	case VPCI_MSIX_TABLE_OFF:
		msix_table_access(&p->msix, in, data, len, is_write);
		return;
	case VPCI_MSIX_PBA_OFF:
		msix_pba_access(&p->msix, in, data, len, is_write);
		return;
	}
	if (!is_write)
		memset(data, 0, len);
}

/* ---- construction ---- */

/* A virtio structure capability (4.1.4): type, where in BAR0, and for notifications the
 * offset multiplier. */
static int add_vcap(struct pci_func *f, uint8_t type, uint32_t off, uint32_t len, uint32_t mult)
{
	uint8_t body[18] = { 0 };
	uint8_t caplen = type == VIRTIO_PCI_CAP_NOTIFY_CFG ? 20 : 16;

	body[0] = caplen;		/* cap_len */
	body[1] = type;			/* cfg_type */
	body[2] = VPCI_BAR;		/* bar */
	memcpy(body + 6, &off, 4);
	memcpy(body + 10, &len, 4);
	if (type == VIRTIO_PCI_CAP_NOTIFY_CFG)
		memcpy(body + 14, &mult, 4);
	return pci_func_add_cap(f, PCI_CAP_ID_VNDR, body, caplen, NULL) ? 0 : -ENOSPC;
}

/* VIRTIO_PCI_CAP_PCI_CFG: bar, offset, length and pci_cfg_data are the driver's to write. */
static int add_cfg_cap(struct vpci *p)
{
	uint8_t body[18] = { 20, VIRTIO_PCI_CAP_PCI_CFG };
	uint8_t wmask[20] = { 0 };

	wmask[4] = 0xff;				/* bar */
	memset(wmask + 8, 0xff, 12);			/* offset, length, pci_cfg_data */
	p->cfg_cap = pci_func_add_cap(&p->f, PCI_CAP_ID_VNDR, body, 20, wmask);
	return p->cfg_cap ? 0 : -ENOSPC;
}

static void vpci_destroy(struct virtio_transport *t)
{
	struct vpci *p = vpci(t);

	if (!p)
		return;
	/* Out of its slot first: no vCPU is in its BAR handler afterwards. */
	if (p->vm && p->vm->pci && p->f.slot)
		pci_remove(p->vm->pci, &p->f);
	move_ioeventfds(p, PCI_BAR_UNDECODED);
	if (p->msix.nr)
		msix_fini(&p->msix, p->vm_fd);
	pthread_mutex_destroy(&p->intx_lock);
	free(p);
	t->priv = NULL;
}

static void vpci_describe(struct virtio_transport *t, char *buf, unsigned long len)
{
	pci_bdf_string(&vpci(t)->f, buf, len);
}

/* Queue Q's MSI-X vector's irqfd, when MSI-X is on and Q has a vector. */
static int vpci_irqfd(struct virtio_transport *t, unsigned int q)
{
	struct vpci *p = vpci(t);
	uint16_t v = p->queue_vector[q];

	if (p->vm_fd < 0 || !p->msix.nr || v >= p->msix.nr || !msix_enabled(&p->msix))
		return -1;
	return p->msix.fd[v];
}

static int vpci_pci_slot(struct virtio_transport *t, unsigned int *seg, unsigned int *slot)
{
	struct vpci *p = vpci(t);

	if (!p || !p->f.slot)
		return -ENODEV;
	*seg = p->f.seg;
	*slot = p->f.slot;
	return 0;
}

static const struct virtio_transport_ops vpci_ops = {
	.interrupt = vpci_interrupt,
	.destroy = vpci_destroy,
	.describe = vpci_describe,
	.irqfd = vpci_irqfd,
	.pci_slot = vpci_pci_slot,
};

/* Builds the function: IDs, BAR0, the capabilities and MSI-X. */
static int vpci_build(struct vpci *p)
{
	struct virtio_dev *d = p->t->d;
	int ret;

	pci_func_init(&p->f, d->name, VIRTIO_PCI_VENDOR, (uint16_t)(VIRTIO_PCI_DEVICE_BASE + d->device_id),
		      class_code(d->device_id), 1, VIRTIO_PCI_VENDOR, (uint16_t)d->device_id);
	p->f.ops = &vpci_func_ops;
	p->f.opaque = p;
	ret = pci_func_add_bar(&p->f, VPCI_BAR, VPCI_BAR_SIZE, true, false,
			       virtio_pci_bar_access, p);
	if (!ret)
		ret = add_vcap(&p->f, VIRTIO_PCI_CAP_COMMON_CFG, VPCI_COMMON_OFF, VPCI_COMMON_LEN, 0);
	if (!ret)
		ret = add_vcap(&p->f, VIRTIO_PCI_CAP_NOTIFY_CFG, VPCI_NOTIFY_OFF,
			       d->nr_queues * VPCI_NOTIFY_MULT, VPCI_NOTIFY_MULT);
	if (!ret)
		ret = add_vcap(&p->f, VIRTIO_PCI_CAP_ISR_CFG, VPCI_ISR_OFF, 1, 0);
	if (!ret && d->config_size)
		ret = add_vcap(&p->f, VIRTIO_PCI_CAP_DEVICE_CFG, VPCI_DEVICE_OFF, d->config_size, 0);
	if (!ret)
		ret = add_cfg_cap(p);
	return ret;
}

static struct vpci *vpci_new(struct virtio_transport *t, struct vm *vm, int vm_fd)
{
	struct vpci *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->t = t;
	p->vm = vm;
	p->vm_fd = vm_fd;
	p->notify_gpa = PCI_BAR_UNDECODED;
	/* Length 0 matches a write of any width and lets x86 KVM take it on its fast MMIO
	 * path, without decoding the instruction (each queue has an address of its own, so no
	 * data match is needed); otherwise the 2-byte write Linux's driver makes. */
	p->notify_len = vm && ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION,
				    KVM_CAP_IOEVENTFD_ANY_LENGTH) > 0 ? 0 : 2;
	p->config_vector = VIRTIO_MSI_NO_VECTOR;
	for (unsigned int q = 0; q < VIRTIO_MAX_QUEUES; q++)
		p->queue_vector[q] = VIRTIO_MSI_NO_VECTOR;
	pthread_mutex_init(&p->intx_lock, NULL);
	t->priv = p;
	return p;
}

int virtio_pci_add(struct vm *vm, struct virtio_dev *d, unsigned int segment, bool intx)
{
	struct virtio_transport *t;
	struct vpci *p;
	uint64_t mmio_base, mmio_size;
	uint32_t line;
	const char *step;
	char bdf[16];
	int ret;

	if (vm->nr_virtio == VM_MAX_VIRTIO)	/* before anything refers to the device */
		return -ENOSPC;
	if (!vm->pci || segment >= vm->pci->nr_segments) {
		pr_err("%s: no PCI segment %u", d->name, segment);
		return -EINVAL;
	}
	t = virtio_transport_new(d, &vm->mem, &vpci_ops);
	if (!t || !(p = vpci_new(t, vm, vm->vm_fd))) {
		if (t)
			virtio_transport_free(t);
		pr_err("%s: bad device description or out of memory", d->name);
		return -EINVAL;
	}
	step = "PCI function";
	ret = vpci_build(p);
	/* INTA where a line is free; MSI-X carries the device either way. */
	if (!ret && intx && !irq_line_alloc(vm, &line, &mmio_base, &mmio_size))
		pci_func_set_intx(&p->f, line);
	if (!ret) {
		step = "MSI-X";
		/* The requester id (aarch64's ITS device id) is set once the slot is known;
		 * no route exists before the guest unmasks a vector. */
		ret = msix_init(&p->msix, &p->f, d->name, d->nr_queues + 1, VPCI_BAR,
				VPCI_MSIX_TABLE_OFF, VPCI_MSIX_PBA_OFF, vm->routes, 0);
	}
	if (!ret) {
		step = "PCI slot";
		ret = pci_add(vm->pci, &p->f, segment, -1);
		p->msix.devid = (uint32_t)segment << 16 | pci_rid(&p->f);
	}
	if (!ret) {
		step = "KVM irqfds";
		ret = msix_wire(&p->msix, vm->vm_fd);
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
	pci_bdf_string(&p->f, bdf, sizeof(bdf));
	pr_debug("%s: virtio-pci at %s, BAR0 0x%llx, %u MSI-X vectors, INTx %s%u", d->name, bdf,
		 (unsigned long long)pci_bar_addr(&p->f, VPCI_BAR), p->msix.nr,
		 p->f.cfg[PCI_INTERRUPT_PIN] ? "line " : "none",
		 p->f.cfg[PCI_INTERRUPT_PIN] ? p->f.intx_irq : 0);
	return 0;
}

/* ---- for unit tests ---- */

struct virtio_transport *virtio_pci_test_new(struct virtio_dev *d, const struct guest_mem *gm,
					     struct irq_routes *routes, struct pci_func **f)
{
	struct virtio_transport *t = virtio_transport_new(d, gm, &vpci_ops);
	struct vpci *p;

	if (!t)
		return NULL;
	p = vpci_new(t, NULL, -1);
	if (!p || vpci_build(p) ||
	    msix_init(&p->msix, &p->f, d->name, d->nr_queues + 1, VPCI_BAR, VPCI_MSIX_TABLE_OFF,
		      VPCI_MSIX_PBA_OFF, routes, 0)) {
		virtio_transport_free(t);
		return NULL;
	}
	*f = &p->f;
	return t;
}

struct msix *virtio_pci_test_msix(struct virtio_transport *t)
{
	return &vpci(t)->msix;
}

void virtio_pci_test_free(struct virtio_transport *t)
{
	virtio_transport_free(t);
}
