/*
 * PCI: segments with one bus each, a host bridge at 00:00.0, and the type-0
 * configuration space every function presents to the guest.
 *
 * A function's configuration space is an image (cfg) with a mask of the bits
 * the guest may write (wmask) and of the bits it clears by writing 1 (w1c);
 * every guest write goes through those masks, so nothing the guest writes
 * can change a read-only field, reach past the image or break the capability
 * list.  BARs are sized the PCI way: a BAR's wmask keeps only the address
 * bits its size allows, so writing all ones and reading back yields
 * ~(size - 1) | flags.
 *
 * A BAR is decoded, i.e. guest accesses reach the function's handler, only
 * while Memory Space is enabled in the Command register and the BAR lies
 * wholly inside its segment's window of the same kind (32-bit BARs in the
 * 32-bit window, 64-bit BARs in either) without overlapping another decoded
 * BAR; elsewhere the guest reads back what it wrote but nothing decodes
 * there.  Each change of a BAR's decoded address is reported to the function
 * (ops->bar_moved) so it can move what KVM decodes for it (ioeventfds).
 *
 * Configuration space is reached through ECAM (one 1 MiB window per segment,
 * bus 0 only) and, on x86_64, through ports 0xcf8/0xcfc for segment 0; both
 * end in pci_cfg_read()/pci_cfg_write().  BAR windows are registered on the
 * VM's MMIO bus once per segment; the segment dispatches inside them.
 *
 * Locking: one mutex per segment serialises configuration accesses and BAR
 * moves; BAR lookups on the access path take the segment's rwlock for
 * reading, moves take it for writing.  A BAR handler runs with the rwlock
 * held for reading (so pci_remove() waits for accesses in flight) and must
 * not take the segment mutex: a configuration write holds the mutex while it
 * waits for the rwlock.
 */
#ifndef KVMM_PCI_H
#define KVMM_PCI_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "bus.h"

#define PCI_CFG_SIZE		256	/* conventional space; ECAM's rest reads 0 */
#define PCI_NR_BARS		6
#define PCI_NR_SLOTS		32
#define PCI_MAX_SEGMENTS	16
#define PCI_ECAM_BUS_SIZE	0x100000ULL	/* 32 devices x 8 functions x 4 KiB */

/* Configuration header offsets and bits (PCI Local Bus 3.0, 6.1). */
#define PCI_VENDOR_ID		0x00
#define PCI_DEVICE_ID		0x02
#define PCI_COMMAND		0x04
#define  PCI_COMMAND_IO		0x1
#define  PCI_COMMAND_MEMORY	0x2
#define  PCI_COMMAND_MASTER	0x4
#define  PCI_COMMAND_INTX_DISABLE 0x400
#define PCI_STATUS		0x06
#define  PCI_STATUS_INTERRUPT	0x08
#define  PCI_STATUS_CAP_LIST	0x10
#define PCI_REVISION_ID		0x08
#define PCI_CLASS_PROG		0x09
#define PCI_HEADER_TYPE		0x0e
#define PCI_BASE_ADDRESS_0	0x10
#define  PCI_BAR_MEM_64		0x4
#define  PCI_BAR_PREFETCH	0x8
#define PCI_SUBSYSTEM_VENDOR_ID	0x2c
#define PCI_SUBSYSTEM_ID	0x2e
#define PCI_CAPABILITY_LIST	0x34
#define PCI_INTERRUPT_LINE	0x3c
#define PCI_INTERRUPT_PIN	0x3d
#define PCI_CAP_ID_VNDR		0x09
#define PCI_CAP_ID_MSIX		0x11

#define PCI_BAR_UNDECODED	UINT64_MAX

/* Configuration mechanism #1 (x86 port I/O): CONFIG_ADDRESS, then CONFIG_DATA at + 4. */
#define PCI_CF8_PORT		0xcf8
#define PCI_CF8_LEN		8

/* The guest-physical windows of one segment (from the arch's memory map). */
struct pci_windows {
	uint64_t ecam_base, ecam_size;		/* bus 0's configuration space */
	uint64_t mem32_base, mem32_size;	/* below 4 GiB */
	uint64_t mem64_base, mem64_size;	/* above RAM */
};

/* Segment SEG's windows in an arch's layout, where each kind of window is cut into equal
 * per-segment slices from its base: ECAM (bus 0 only), 32-bit and 64-bit BAR windows. */
static inline struct pci_windows pci_segment_windows(unsigned int seg, uint64_t ecam0,
						     uint64_t mem32_0, uint64_t mem32_slice,
						     uint64_t mem64_0, uint64_t mem64_slice)
{
	return (struct pci_windows){
		.ecam_base = ecam0 + seg * PCI_ECAM_BUS_SIZE, .ecam_size = PCI_ECAM_BUS_SIZE,
		.mem32_base = mem32_0 + seg * mem32_slice, .mem32_size = mem32_slice,
		.mem64_base = mem64_0 + seg * mem64_slice, .mem64_size = mem64_slice,
	};
}

struct pci_func;

struct pci_func_ops {
	/* BAR moved from OLD to NEW (either may be PCI_BAR_UNDECODED): KVM's view of it
	 * (ioeventfds) must follow.  Segment lock held. */
	void (*bar_moved)(struct pci_func *f, unsigned int bar, uint64_t old, uint64_t new_);
	/* A guest write changed configuration bytes OFF..OFF+LEN (after masking), for
	 * capabilities with side effects (MSI-X enable, function mask).  May be NULL. */
	void (*cfg_written)(struct pci_func *f, uint32_t off, uint32_t len);
	/* The guest is about to read configuration bytes OFF..OFF+LEN: a chance to refresh
	 * them in the image first (virtio-pci's PCI configuration access window).  Segment
	 * lock held.  May be NULL. */
	void (*cfg_read)(struct pci_func *f, uint32_t off, uint32_t len);
};

struct pci_func {
	uint8_t cfg[PCI_CFG_SIZE];
	uint8_t wmask[PCI_CFG_SIZE];
	uint8_t w1c[PCI_CFG_SIZE];
	uint64_t bar_size[PCI_NR_BARS];		/* 0: no BAR (or the upper half of a 64-bit one) */
	uint64_t bar_decoded[PCI_NR_BARS];	/* where it is decoded, or PCI_BAR_UNDECODED */
	bus_handler_t bar_handler[PCI_NR_BARS];
	void *bar_opaque[PCI_NR_BARS];
	const struct pci_func_ops *ops;
	void *opaque;
	const char *name;
	uint16_t seg;				/* set by pci_add() */
	uint8_t slot;
	uint32_t intx_irq;			/* interrupt line of INTA, if cfg[PCI_INTERRUPT_PIN] */
	uint8_t cap_tail;			/* offset of the last capability, 0: none */
	uint8_t cap_free;			/* first free byte for the next capability,
						 * 0 once a capability ends at PCI_CFG_SIZE */
};

struct pci_segment {
	uint16_t id;
	struct pci_windows w;
	struct pci_func *slots[PCI_NR_SLOTS];	/* slot 0: the host bridge */
	struct pci_func bridge;
	pthread_mutex_t lock;
	pthread_rwlock_t bar_lock;
};

struct pci_host {
	unsigned int nr_segments;
	struct pci_segment seg[PCI_MAX_SEGMENTS];
	uint32_t cf8;				/* CONFIG_ADDRESS (segment 0), under seg[0].lock */
};

/*
 * Fills F as a type-0 function with the given IDs, class code (base << 16 | sub << 8 |
 * prog-if) and revision; no BARs, no capabilities, no interrupt pin.
 */
void pci_func_init(struct pci_func *f, const char *name, uint16_t vendor, uint16_t device,
		   uint32_t class_code, uint8_t revision, uint16_t subsys_vendor,
		   uint16_t subsys_id);

/*
 * Declares memory BAR N of SIZE bytes (a power of two, >= 16; a 64-bit BAR also takes
 * N + 1), whose accesses go to HANDLER(OPAQUE, offset in the BAR, ...).  0 or -EINVAL.
 */
int pci_func_add_bar(struct pci_func *f, unsigned int n, uint64_t size, bool is64,
		     bool prefetch, bus_handler_t handler, void *opaque);

/*
 * Appends a capability: ID, then LEN - 2 bytes of BODY (what follows the ID and next
 * pointer; LEN includes them), with WMASK (LEN bytes, or NULL: read-only) saying which
 * bits the guest may write.  Returns its offset in configuration space, or 0 when it does
 * not fit.
 */
uint8_t pci_func_add_cap(struct pci_func *f, uint8_t id, const void *body, uint8_t len,
			 const uint8_t *wmask);

/* Gives F INTA on interrupt line IRQ (the Interrupt Pin register then reads 1). */
void pci_func_set_intx(struct pci_func *f, uint32_t irq);

/*
 * Configuration accesses of LEN (1, 2 or 4) bytes at OFF, as the guest makes them through
 * ECAM or 0xcfc: anything past PCI_CFG_SIZE, or not naturally aligned, reads as zeros /
 * all ones respectively and writes nothing.  The caller holds the segment lock.
 */
void pci_cfg_read(struct pci_func *f, uint32_t off, uint8_t *data, uint32_t len);
void pci_cfg_write(struct pci_segment *s, struct pci_func *f, uint32_t off,
		   const uint8_t *data, uint32_t len);

/* Little-endian helpers for configuration images. */
uint32_t pci_cfg_get(const struct pci_func *f, uint32_t off, uint32_t len);
void pci_cfg_set(struct pci_func *f, uint32_t off, uint32_t len, uint32_t v);

/* The BAR's current address as the guest programmed it (bits above the flags). */
uint64_t pci_bar_addr(const struct pci_func *f, unsigned int n);

/*
 * Sets up NR segments with the windows W[0..NR) and a host bridge in slot 0 of each.
 * 0, or -EINVAL (NR out of range, a window that wraps, a 32-bit window reaching past
 * 4 GiB).  A window of size 0 is allowed and not registered.  pci_host_fini() undoes it.
 */
int pci_host_init(struct pci_host *h, unsigned int nr, const struct pci_windows *w);
void pci_host_fini(struct pci_host *h);

/*
 * Puts F in segment SEG: in SLOT, or in the lowest free slot when SLOT < 0.  Assigns its
 * BARs addresses in the segment's windows (64-bit BARs in the 64-bit window, or the 32-bit
 * one when that is full; all naturally aligned; what firmware would do) and enables Memory
 * Space, so a guest that does not reassign finds them decoded.  0, -ENOSPC (no free slot /
 * window space), -EEXIST (slot taken, or slot 0), -EINVAL.
 */
int pci_add(struct pci_host *h, struct pci_func *f, unsigned int seg, int slot);

/* Takes F out of its segment (hot-unplug, teardown): its BARs stop decoding. */
void pci_remove(struct pci_host *h, struct pci_func *f);

/*
 * Registers segment windows on MMIO (each segment's ECAM window and BAR windows) and, when
 * PIO is not NULL, ports 0xcf8-0xcff for segment 0.  0/-errno.
 */
int pci_host_attach(struct pci_host *h, struct bus *mmio, struct bus *pio);

/* Bus handlers (exposed for unit tests and fuzzing). OPAQUE is the pci_segment for ECAM
 * and windows, the pci_host for the 0xcf8 ports (offset 0 = 0xcf8). */
void pci_ecam_access(void *opaque, uint64_t off, uint8_t *data, uint32_t len, bool is_write);
void pci_window_access(void *opaque, uint64_t off, uint8_t *data, uint32_t len,
		       bool is_write);
void pci_cf8_access(void *opaque, uint64_t off, uint8_t *data, uint32_t len, bool is_write);
/* The windows' bus ranges start at mem32_base / mem64_base: pci_window_access needs to
 * know which one an access came through. */
void pci_window64_access(void *opaque, uint64_t off, uint8_t *data, uint32_t len,
			 bool is_write);

/* "SSSS:BB:DD.F" of F into BUF (at least 13 bytes). */
void pci_bdf_string(const struct pci_func *f, char *buf, unsigned long len);

/* The requester ID of F (bus << 8 | devfn; bus 0), as an MSI's device id. */
static inline uint32_t pci_rid(const struct pci_func *f)
{
	return (uint32_t)f->slot << 3;
}

#endif
