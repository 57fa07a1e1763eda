/*
 * ACPI memory hot-plug controller: the registers through which the DSDT's
 * memory devices (PNP0C80, one per slot) learn where the RAM plugged into
 * them lies, and which slots changed.  The guest is told to look through the
 * GED (GED_EVT_MEM_HOTPLUG), whose _EVT calls \_SB.MHPC.MSCN; MSCN reads the
 * INSERT latch once and Notify()s each memory device named there with 1
 * (device check): Linux's ACPI memory driver reads its _STA and _CRS and adds
 * the range as memory blocks, offline (onlining them is userspace's: Kata's
 * agent).  A slot, once filled, stays filled until the VM is rebooted:
 * memory is never taken back at run time.
 *
 * Register block, all 32 bits wide:
 *   MEMHP_REG_INSERT  +0x00         read: slots filled since the last read
 *                                   (bit N: slot N); the read clears
 *   MEMHP_REG_SLOT(N) +0x08 + 16*N  read: slot N's guest-physical base (low
 *                                   word, then high word at +4) and its
 *                                   length (+8, +12); 0 while it is empty
 * Only aligned 4-byte reads return data; anything else reads 0, and writes
 * do nothing.
 */
#ifndef KVMM_MEMHP_H
#define KVMM_MEMHP_H

#include <stdbool.h>
#include <stdint.h>

#define MEMHP_SLOTS		16
#define MEMHP_REG_INSERT	0x00
#define MEMHP_REG_SLOT(n)	(0x08 + 16 * (n))
#define MEMHP_LEN		MEMHP_REG_SLOT(MEMHP_SLOTS)

struct memhp;

/* A controller with every slot empty; NULL without memory. */
struct memhp *memhp_new(void);
void memhp_free(struct memhp *h);

/* Fills the first empty slot with LEN (> 0) bytes from BASE and latches it for INSERT.
 * Returns the slot, -ENOSPC when all are filled, -EINVAL for LEN 0. */
int memhp_plug(struct memhp *h, uint64_t base, uint64_t len);

/* Slots still empty. */
unsigned int memhp_free_slots(struct memhp *h);

/* Bus handler for the MEMHP_LEN register bytes; OPAQUE is the struct memhp. */
void memhp_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write);

#endif
