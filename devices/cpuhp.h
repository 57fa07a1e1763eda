/*
 * ACPI CPU hot-plug controller: the registers through which the DSDT's
 * processor objects learn which CPUs are present and which changed, and tell
 * kvmm that the guest ejected one.  The guest is told to look through the GED
 * (GED_EVT_CPU_HOTPLUG), whose _EVT calls \_SB.CPUS.CSCN; CSCN reads the
 * INSERT and REMOVE latches once and Notify()s each CPU named there: 1
 * (device check: Linux's ACPI processor driver adds the CPU, offline) or 3
 * (eject request: Linux offlines and removes it, then runs its _EJ0).  A
 * processor's _STA reads its PRESENT bit.
 *
 * Register block, all 32 bits wide, bit N of the word at +0 standing for CPU
 * N and of the word at +4 for CPU 32 + N:
 *   CPUHP_REG_PRESENT  +0x00/+0x04  read: CPUs present
 *   CPUHP_REG_INSERT   +0x08/+0x0c  read: CPUs plugged since the last read;
 *                                   the read clears
 *   CPUHP_REG_REMOVE   +0x10/+0x14  read: CPUs kvmm asks the guest to eject;
 *                                   the read clears
 *   CPUHP_REG_EJECT    +0x18/+0x1c  write: CPUs the guest ejected: no longer
 *                                   present from this write on (the guest
 *                                   checks _STA right after _EJ0); reads 0
 * Only aligned 4-byte accesses act; anything else reads 0 and writes
 * nothing.  CPUs at or above the controller's count never show up, and CPU
 * 0 (the boot CPU) cannot be ejected.
 *
 * Ejects go to the callback on the vCPU thread that wrote, which must not
 * block (the VM joins the ejected vCPU's thread on its event loop).
 */
#ifndef KVMM_CPUHP_H
#define KVMM_CPUHP_H

#include <stdbool.h>
#include <stdint.h>

#define CPUHP_REG_PRESENT	0x00
#define CPUHP_REG_INSERT	0x08
#define CPUHP_REG_REMOVE	0x10
#define CPUHP_REG_EJECT		0x18
#define CPUHP_LEN		0x20
#define CPUHP_MAX_CPUS		64

struct cpuhp;

/* The guest ejected the CPUs of mask CPUS. */
typedef void (*cpuhp_eject_fn)(void *opaque, uint64_t cpus);

/* A controller for NR_CPUS (1..CPUHP_MAX_CPUS) CPUs with PRESENT set for the first NR_BOOT.
 * NULL for a bad argument or no memory. */
struct cpuhp *cpuhp_new(unsigned int nr_cpus, unsigned int nr_boot, cpuhp_eject_fn eject,
			void *opaque);
void cpuhp_free(struct cpuhp *h);

/* CPU (below the count) is plugged: present, and latched for INSERT.  A pending eject
 * request for it is dropped.  0, or -EINVAL. */
int cpuhp_plug(struct cpuhp *h, unsigned int cpu);

/* Asks the guest to eject CPU (present, not 0): latched for REMOVE.  0, -EINVAL. */
int cpuhp_unplug(struct cpuhp *h, unsigned int cpu);

/* The CPUs present now. */
uint64_t cpuhp_present(struct cpuhp *h);

/* Bus handler for the CPUHP_LEN register bytes; OPAQUE is the struct cpuhp. */
void cpuhp_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write);

#endif
