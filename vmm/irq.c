/*
 * Interrupt resources of a VM (irq.h): device lines in the order the arch numbers them, and
 * the GSI routing table with its MSI routes, rebuilt and handed to KVM whole on each change.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "arch.h"
#include "irq.h"
#include "log.h"
#include "vm.h"

int irq_line_alloc(struct vm *vm, uint32_t *irq, uint64_t *mmio_base, uint64_t *mmio_size)
{
	int ret = arch_virtio_slot(vm->nr_lines, mmio_base, mmio_size, irq);

	if (!ret)
		vm->nr_lines++;
	return ret;
}

struct irq_routes *irq_routes_new(int vm_fd, const struct kvm_irq_routing_entry *chip,
				  unsigned int nr_chip)
{
	struct irq_routes *r;

	if (nr_chip > IRQ_MAX_CHIP_ROUTES)
		return NULL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->table = calloc(1, sizeof(*r->table) +
			  (IRQ_MAX_CHIP_ROUTES + IRQ_MAX_MSI) * sizeof(r->table->entries[0]));
	if (!r->table) {
		free(r);
		return NULL;
	}
	r->vm_fd = vm_fd;
	r->nr_chip = nr_chip;
	if (nr_chip)		/* CHIP may be NULL then */
		memcpy(r->chip, chip, nr_chip * sizeof(*chip));
	for (unsigned int i = 0; i < nr_chip; i++)
		if (chip[i].gsi + 1 > r->first_msi_gsi)
			r->first_msi_gsi = chip[i].gsi + 1;
	pthread_mutex_init(&r->lock, NULL);
	return r;
}

void irq_routes_free(struct irq_routes *r)
{
	if (!r)
		return;
	pthread_mutex_destroy(&r->lock);
	free(r->table);
	free(r);
}

int irq_routes_init(struct vm *vm)
{
	struct kvm_irq_routing_entry *chip = calloc(IRQ_MAX_CHIP_ROUTES, sizeof(*chip));
	unsigned int n;

	if (!chip)
		return -ENOMEM;
	n = arch_irqchip_routes(vm, chip, IRQ_MAX_CHIP_ROUTES);
	vm->routes = irq_routes_new(vm->vm_fd, chip, n);
	free(chip);
	return vm->routes ? 0 : -ENOMEM;
}

static int commit(struct irq_routes *r);

int irq_msi_alloc(struct irq_routes *r, uint32_t *gsi)
{
	int ret = -ENOSPC;

	pthread_mutex_lock(&r->lock);
	/* A GSI given back (a hot-unplugged device's) first, then a new one. */
	for (unsigned int i = 0; i < r->nr_msi && ret; i++) {
		if (!r->msi[i].used) {
			*gsi = r->first_msi_gsi + i;
			ret = 0;
		}
	}
	if (ret && r->nr_msi < IRQ_MAX_MSI) {
		*gsi = r->first_msi_gsi + r->nr_msi++;
		ret = 0;
	}
	if (!ret)
		r->msi[*gsi - r->first_msi_gsi] = (struct irq_msi){ .used = true };
	pthread_mutex_unlock(&r->lock);
	return ret;
}

void irq_msi_free(struct irq_routes *r, uint32_t gsi)
{
	struct irq_msi *m;

	pthread_mutex_lock(&r->lock);
	if (gsi >= r->first_msi_gsi && gsi - r->first_msi_gsi < r->nr_msi) {
		m = &r->msi[gsi - r->first_msi_gsi];
		if (m->valid) {
			m->valid = false;
			if (commit(r))
				pr_warn("KVM_SET_GSI_ROUTING (freeing GSI %u) failed", gsi);
		}
		m->used = false;
	}
	pthread_mutex_unlock(&r->lock);
}

/* Hands the table to KVM. Lock held. */
static int commit(struct irq_routes *r)
{
	struct kvm_irq_routing *t = r->table;
	unsigned int n = r->nr_chip;

	memcpy(t->entries, r->chip, r->nr_chip * sizeof(r->chip[0]));
	for (unsigned int i = 0; i < r->nr_msi; i++) {
		struct kvm_irq_routing_entry *e = &t->entries[n];
		const struct irq_msi *m = &r->msi[i];

		if (!m->valid)
			continue;
		memset(e, 0, sizeof(*e));
		e->gsi = r->first_msi_gsi + i;
		e->type = KVM_IRQ_ROUTING_MSI;
		e->u.msi.address_lo = (uint32_t)m->addr;
		e->u.msi.address_hi = (uint32_t)(m->addr >> 32);
		e->u.msi.data = m->data;
		arch_msi_route(e, m->devid);
		n++;
	}
	t->nr = n;
	t->flags = 0;
	r->commits++;
	if (r->vm_fd < 0)
		return 0;
	return ioctl(r->vm_fd, KVM_SET_GSI_ROUTING, t) < 0 ? -errno : 0;
}

int irq_msi_set(struct irq_routes *r, uint32_t gsi, bool valid, uint64_t addr, uint32_t data,
		uint32_t devid)
{
	struct irq_msi *m;
	int ret = 0;

	pthread_mutex_lock(&r->lock);
	if (gsi < r->first_msi_gsi || gsi - r->first_msi_gsi >= r->nr_msi) {
		pthread_mutex_unlock(&r->lock);
		return -EINVAL;
	}
	m = &r->msi[gsi - r->first_msi_gsi];
	if (!m->used) {
		pthread_mutex_unlock(&r->lock);
		return -EINVAL;
	}
	if (m->valid != valid ||
	    (valid && (m->addr != addr || m->data != data || m->devid != devid))) {
		*m = (struct irq_msi){ .used = true, .valid = valid, .addr = addr, .data = data,
					.devid = devid };
		ret = commit(r);
		if (ret)
			pr_warn("KVM_SET_GSI_ROUTING (MSI on GSI %u): %s", gsi, strerror(-ret));
	}
	pthread_mutex_unlock(&r->lock);
	return ret;
}
