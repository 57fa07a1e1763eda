/*
 * MSI-X for a PCI function (PCI Local Bus 3.0, 6.8.2): the capability, the vector table and
 * the pending-bit array the guest programs through a BAR, and delivery through KVM — one GSI
 * with an MSI route (vmm/irq.c) and one irqfd per vector. A masked vector (its own mask bit
 * or the function mask) sets its pending bit instead of firing, and fires when unmasked.
 * Every table write is the guest's: only the defined fields change, and a route is handed
 * to KVM only for an unmasked vector.
 *
 * A vector's irqfd is attached to KVM only while the vector can be delivered (MSI-X on,
 * neither it nor the function masked). A vhost-user back-end writes the irqfd directly
 * (virtio_queue_irqfd()); while the vector is masked its writes then stay counted in the
 * eventfd, and KVM injects them when the guest unmasks and the irqfd is attached again,
 * instead of dropping them on a GSI without a route.
 *
 * Locking: one mutex per function, taken on the guest's table accesses (vCPU threads), on
 * capability writes (under the PCI segment lock) and by msix_signal() (device workers).
 */
#ifndef KVMM_MSIX_H
#define KVMM_MSIX_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

struct pci_func;
struct irq_routes;

#define MSIX_MAX_VECTORS	64
#define MSIX_ENTRY_SIZE		16
#define MSIX_CTRL_ENABLE	0x8000
#define MSIX_CTRL_FMASK		0x4000
#define MSIX_VECTOR_MASKED	0x1

/* One table entry as the guest sees it: four dwords, reached by name or by index. */
struct msix_entry {
	union {
		struct {
			uint32_t addr_lo, addr_hi, data, ctrl;
		};
		uint32_t dw[4];
	};
};

struct msix {
	struct pci_func *f;
	const char *name;
	uint8_t cap;			/* the capability's offset in configuration space */
	unsigned int nr;		/* vectors */
	struct irq_routes *routes;
	uint32_t devid;			/* requester id for the routes */
	pthread_mutex_t lock;
	bool enabled, fmask;		/* the capability's Message Control, as last written */
	struct msix_entry table[MSIX_MAX_VECTORS];
	uint64_t pba;
	uint64_t fired, pended;		/* counters: messages sent, messages held back */
	uint32_t gsi[MSIX_MAX_VECTORS];
	int fd[MSIX_MAX_VECTORS];	/* irqfds */
	bool attached[MSIX_MAX_VECTORS]; /* fd[v] is attached to KVM (KVM_IRQFD) */
	int vm_fd;			/* from msix_wire(); -1 before (tests) */
};

/*
 * Gives F an MSI-X capability with NR vectors (1..MSIX_MAX_VECTORS) whose table and PBA
 * live in BAR at TABLE_OFF and PBA_OFF (8-byte aligned), allocates a GSI from ROUTES and an
 * eventfd per vector, every vector masked as after reset. 0/-errno.
 */
int msix_init(struct msix *m, struct pci_func *f, const char *name, unsigned int nr,
	      unsigned int bar, uint32_t table_off, uint32_t pba_off, struct irq_routes *routes,
	      uint32_t devid);

/* From now on, connects each vector's eventfd to its GSI in KVM (KVM_IRQFD) while the vector
 * can be delivered. 0/-errno. */
int msix_wire(struct msix *m, int vm_fd);

/* Undoes msix_wire (when VM_FD >= 0), removes the routes, closes the eventfds. */
void msix_fini(struct msix *m, int vm_fd);

/* The guest's accesses to the table and the PBA, OFF from their start (bus handler
 * semantics: any offset and length; what is not a naturally aligned 4- or 8-byte access
 * to a defined field reads zero and writes nothing; the PBA is read-only). */
void msix_table_access(struct msix *m, uint64_t off, uint8_t *data, uint32_t len,
		       bool is_write);
void msix_pba_access(struct msix *m, uint64_t off, uint8_t *data, uint32_t len, bool is_write);

/* The guest wrote configuration space around the capability: picks up Message Control
 * (enable, function mask) and delivers what became unmasked. */
void msix_cfg_written(struct msix *m);

/* Whether the guest enabled MSI-X. */
bool msix_enabled(struct msix *m);

/* Sends vector V, or marks it pending while it or the function is masked or MSI-X is
 * disabled. Out-of-range V (e.g. virtio's NO_VECTOR) is ignored. */
void msix_signal(struct msix *m, unsigned int v);

/* msix_signal() if MSI-X is enabled, returning true; false (nothing done) when it is not,
 * for a caller that then uses INTx. One lock round trip: device workers call it for every
 * interrupt. */
bool msix_try_signal(struct msix *m, unsigned int v);

#endif
