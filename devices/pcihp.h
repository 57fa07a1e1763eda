/*
 * ACPI PCI hot-plug controller: the registers through which the DSDT's AML
 * learns which slots of a PCI segment changed and tells kvmm that the guest
 * let go of a device.  The guest is told to look through the GED
 * (GED_EVT_PCI_HOTPLUG), whose _EVT calls each segment's PCNT method; PCNT
 * reads the segment's two event registers and Notify()s each slot device
 * named there: 1 (device check: scan this slot) for UP, 3 (eject request)
 * for DOWN.  A slot's _EJ0, which the guest runs once it has removed the
 * device's driver and its PCI device, writes the slot's bit to EJECT.
 *
 * Register block: PCIHP_SEG_STRIDE bytes per segment, segment N at
 * N * PCIHP_SEG_STRIDE, each register 32 bits wide, bit S standing for slot S:
 *   PCIHP_REG_UP     read: slots filled since the last read; the read clears
 *   PCIHP_REG_DOWN   read: slots whose device kvmm asks the guest to eject;
 *                    the read clears
 *   PCIHP_REG_EJECT  write: slots the guest ejected (reads 0)
 * Only aligned 4-byte accesses act: the AML's fields are DWordAcc, and a
 * narrower read must not clear bits it did not return.  Anything else reads
 * as 0 and writes nothing.  Slot 0 (the host bridge) never shows up.
 *
 * The controller only latches; it knows nothing of devices.  Ejects go to
 * the callback, which runs on the vCPU thread that made the write and so
 * must not block (the VM defers the release to its event loop).
 */
#ifndef KVMM_PCIHP_H
#define KVMM_PCIHP_H

#include <stdbool.h>
#include <stdint.h>

#define PCIHP_REG_UP		0
#define PCIHP_REG_DOWN		4
#define PCIHP_REG_EJECT		8
#define PCIHP_SEG_STRIDE	16
#define PCIHP_MAX_SEGMENTS	16
#define PCIHP_LEN		(PCIHP_SEG_STRIDE * PCIHP_MAX_SEGMENTS)
#define PCIHP_SLOT_MASK		0xfffffffeu	/* slots 1..31 */

struct pcihp;

/* The guest ejected SLOTS (a bit mask, slot 0 never set) of segment SEG. */
typedef void (*pcihp_eject_fn)(void *opaque, unsigned int seg, uint32_t slots);

/* A controller for NR_SEGMENTS (1..PCIHP_MAX_SEGMENTS) segments, nothing latched.
 * NULL for a bad argument or no memory. */
struct pcihp *pcihp_new(unsigned int nr_segments, pcihp_eject_fn eject, void *opaque);
void pcihp_free(struct pcihp *h);

/* Latches a device check (PLUG) or an eject request (!PLUG) for SLOT (1..31) of SEG; the
 * caller then raises the GED event.  A device check clears a pending eject request of the
 * slot and the other way round (the guest only needs the latest word).  0, or -EINVAL. */
int pcihp_latch(struct pcihp *h, unsigned int seg, unsigned int slot, bool plug);

/* Bus handler for the PCIHP_LEN register bytes (port I/O); OPAQUE is the struct pcihp. */
void pcihp_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write);

#endif
