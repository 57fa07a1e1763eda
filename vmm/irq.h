/*
 * The VM's interrupt resources, handed out from one place: device interrupt lines (each with
 * the virtio-mmio window the arch pairs with it, arch_virtio_slot()), GSIs for MSI routes,
 * and KVM's GSI routing table. KVM_SET_GSI_ROUTING replaces that table whole, so this file is
 * the only caller: it keeps the in-kernel irqchip's default routes (arch_irqchip_routes())
 * and adds one MSI route per allocated GSI that has a valid message.
 */
#ifndef KVMM_IRQ_H
#define KVMM_IRQ_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <linux/kvm.h>

struct vm;

#define IRQ_MAX_CHIP_ROUTES	256
#define IRQ_MAX_MSI		512

struct irq_msi {
	bool used;			/* allocated (irq_msi_alloc .. irq_msi_free) */
	bool valid;
	uint64_t addr;
	uint32_t data;
	uint32_t devid;
};

struct irq_routes {
	int vm_fd;			/* -1: no KVM (tests); commits only count */
	pthread_mutex_t lock;
	unsigned int nr_chip;
	uint32_t first_msi_gsi;
	unsigned int nr_msi;		/* GSIs handed out: first_msi_gsi + 0 .. nr_msi - 1 */
	unsigned int commits;		/* KVM_SET_GSI_ROUTING calls made (tests, logs) */
	struct kvm_irq_routing_entry chip[IRQ_MAX_CHIP_ROUTES];
	struct irq_msi msi[IRQ_MAX_MSI];
	struct kvm_irq_routing *table;	/* scratch for the ioctl */
};

/*
 * The next free device interrupt line and the virtio-mmio window that goes with it
 * (either may go unused: a PCI function uses only the line). 0, or -ENOSPC when the arch
 * has no more.
 */
int irq_line_alloc(struct vm *vm, uint32_t *irq, uint64_t *mmio_base, uint64_t *mmio_size);

/* A routing table over VM_FD (-1 for none) that starts with the NR_CHIP irqchip routes in
 * CHIP. NULL on bad arguments or no memory. */
struct irq_routes *irq_routes_new(int vm_fd, const struct kvm_irq_routing_entry *chip,
				  unsigned int nr_chip);
void irq_routes_free(struct irq_routes *r);

/* vm->routes from the arch's irqchip routes. 0/-errno. */
int irq_routes_init(struct vm *vm);

/* Hands out an unused GSI for an MSI route (no route yet), one given back first. 0 or
 * -ENOSPC. */
int irq_msi_alloc(struct irq_routes *r, uint32_t *gsi);

/* Gives GSI back (its route removed): a hot-unplugged device's vectors. */
void irq_msi_free(struct irq_routes *r, uint32_t gsi);

/*
 * Sets GSI's MSI route to ADDR/DATA for requester DEVID (arch_msi_route), or removes it when
 * VALID is false, and hands the whole table to KVM if anything changed. Safe from any thread.
 * 0/-errno (-EINVAL for a GSI not handed out).
 */
int irq_msi_set(struct irq_routes *r, uint32_t gsi, bool valid, uint64_t addr, uint32_t data,
		uint32_t devid);

#endif
