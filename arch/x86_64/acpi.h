/*
 * ACPI tables for x86_64 guests: RSDP, XSDT, FADT (hardware-reduced, with
 * sleep control/status and reset registers at X86_PM_PORT so poweroff and
 * reboot end the VM), MADT (one local APIC per vCPU, the IOAPIC), and a DSDT
 * that declares \_S5 and one "LNRO0005" virtio-mmio device per platform
 * device.  Written into guest RAM at X86_ACPI_GPA..X86_ACPI_END.
 */
#ifndef KVMM_X86_ACPI_H
#define KVMM_X86_ACPI_H

#include <stdint.h>

#include "guest_mem.h"

struct acpi_mmio_dev {
	uint64_t base;
	uint64_t size;
	uint32_t irq;		/* IOAPIC pin / GSI, edge-triggered */
};

struct acpi_config {
	unsigned int nr_cpus;			/* APIC IDs 0..nr_cpus-1 */
	const struct acpi_mmio_dev *devs;
	unsigned int nr_devs;
};

/*
 * Writes all tables, RSDP first at X86_ACPI_GPA, checksums filled in.
 * Returns 0 and the RSDP address in *RSDP_GPA, -E2BIG if the tables do not
 * fit below X86_ACPI_END, -EINVAL for a bad config (0 CPUs, more than 255),
 * -EFAULT if the area is not guest RAM.
 */
int acpi_build(struct guest_mem *gm, const struct acpi_config *cfg,
	       uint64_t *rsdp_gpa);

#endif
