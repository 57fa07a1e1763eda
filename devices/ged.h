/*
 * ACPI Generic Event Device (GED, _HID "ACPI0013"): how the host tells a
 * hardware-reduced ACPI guest that something happened.  The device is one
 * event register plus one interrupt line; the firmware tables (the arch's
 * DSDT) describe the line in the GED's _CRS and give it an _EVT method that
 * reads the register and Notify()s the device each set bit stands for.
 * Events: the power button (Notify (PWRB, 0x80), which Linux's ACPI button
 * driver turns into KEY_POWER) and PCI hot-plug (the _EVT calls each host
 * bridge's PCNT, which reads devices/pcihp.h's registers) and CPU hot-plug
 * (\_SB.CPUS.CSCN, devices/cpuhp.h).
 *
 * Interrupt contract: level-triggered, active high.  The line is raised when
 * an event is latched and lowered by the read that empties the register,
 * which _EVT does first.  Linux runs _EVT from a oneshot threaded handler
 * that keeps the line masked until _EVT returns, so by the time it unmasks,
 * the line is low again (no interrupt storm), and an event latched during
 * _EVT keeps the line high and runs _EVT once more.  Events latched before
 * the guest's GED driver is bound are not lost: the line stays high until
 * the driver unmasks it.
 */
#ifndef KVMM_GED_H
#define KVMM_GED_H

#include <stdbool.h>
#include <stdint.h>

/* Register layout relative to the device's base. */
#define GED_REG_EVENTS		0	/* pending events; a read clears them */
#define GED_NR_REGS		1

/* Bits of GED_REG_EVENTS. */
#define GED_EVT_POWER_BUTTON	(1u << 0)
#define GED_EVT_PCI_HOTPLUG	(1u << 1)
#define GED_EVT_CPU_HOTPLUG	(1u << 2)
#define GED_EVT_MEM_HOTPLUG	(1u << 3)

struct ged;

/* Drives the GED's interrupt line to LEVEL (1 raised, 0 lowered).  0/-errno.
 * Called with the device's lock held: it must not call back into the GED. */
typedef int (*ged_irq_fn)(void *opaque, int level);

/* A GED with no pending events whose line is driven through
 * IRQ(IRQ_OPAQUE, level).  NULL on allocation failure. */
struct ged *ged_new(ged_irq_fn irq, void *irq_opaque);
void ged_free(struct ged *g);

/*
 * Presses the power button: latches GED_EVT_POWER_BUTTON and raises the line
 * if it is not high already.  Safe from any thread (the API thread calls it
 * while vCPU threads read the register).  Returns 0, or the irq callback's
 * -errno if the line could not be raised; the event then stays latched and
 * goes out with the next successful raise.
 */
int ged_power_button(struct ged *g);

/* Latches EVENTS (GED_EVT_* bits) and raises the line as ged_power_button() does. */
int ged_event(struct ged *g, uint8_t events);

/* Bus handler for the GED_NR_REGS registers (port I/O or MMIO); OPAQUE is
 * the struct ged.  Reads of GED_REG_EVENTS return and clear the pending
 * events and lower the line; writes are ignored. */
void ged_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len,
	    bool is_write);

#endif
