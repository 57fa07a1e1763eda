/*
 * ACPI tables for x86_64 guests: RSDP, XSDT, FADT (hardware-reduced, with
 * sleep control/status and reset registers at X86_PM_PORT so poweroff and
 * reboot end the VM), MADT (one local APIC per vCPU, the IOAPIC), a DSDT
 * that declares \_S5, one "LNRO0005" virtio-mmio device per platform
 * device, one PCI host bridge per PCI segment, and optionally the UART and
 * the Generic Event Device with its power button, and with PCI an MCFG.
 * Written into guest RAM at X86_ACPI_GPA..X86_ACPI_END.
 */
#ifndef KVMM_X86_ACPI_H
#define KVMM_X86_ACPI_H

#include <stdbool.h>
#include <stdint.h>

#include "guest_mem.h"

struct acpi_mmio_dev {
	uint64_t base;
	uint64_t size;
	uint32_t irq;		/* IOAPIC pin / GSI, edge-triggered */
};

/* One PCI segment: a host bridge with its ECAM and BAR windows. */
struct acpi_pci_seg {
	uint16_t segment;		/* _SEG, _UID and the MCFG entry's PCI segment group */
	uint64_t ecam_base;		/* ECAM of bus 0 (1 MiB per bus) */
	uint8_t bus_start, bus_end;	/* 0, 0 today */
	uint64_t mem32_base, mem32_size;	/* 32-bit BAR window, below 4 GiB */
	uint64_t mem64_base, mem64_size;	/* 64-bit BAR window */
	bool cf8;			/* this bridge decodes ports 0xcf8-0xcff (segment 0) */
	uint32_t slot_gsi[32];		/* _PRT: INTA of slot N -> GSI; 0: no INTx for that slot */
};

struct acpi_config {
	unsigned int nr_cpus;			/* APIC IDs 0..nr_cpus-1 */
	unsigned int max_cpus;			/* > nr_cpus: CPU hot-plug up to it (needs
						 * ged); 0 or nr_cpus: none */
	bool com1;				/* UART at X86_SERIAL_PORT/IRQ */
	bool ged;				/* GED at X86_GED_PORT/IRQ */
	bool pci_hotplug;			/* slots and controller (needs ged) */
	bool mem_hotplug;			/* memory devices and controller (needs ged) */
	const struct acpi_mmio_dev *devs;
	unsigned int nr_devs;
	const struct acpi_pci_seg *pci;		/* host bridges; nr_pci 0: no PCI */
	unsigned int nr_pci;
};

/*
 * Writes all tables, RSDP first at X86_ACPI_GPA, checksums filled in, and
 * zeroes the rest of X86_ACPI_GPA..X86_ACPI_END.  The tables are built in a
 * host buffer first: on failure guest memory and *RSDP_GPA are untouched.
 * The e820 map keeps this range reserved, which is also where Linux scans
 * for the RSDP when the boot protocol does not pass its address.
 *
 * With COM1 set the DSDT declares \\_SB.COM1 (PNP0501, its ports and IRQ):
 * under hardware-reduced ACPI Linux has no legacy PIC and maps no ISA IRQ
 * that no device names, so without it ttyS0 would have no interrupt.
 *
 * DSDT devices are \_SB.Vnnn (nnn = index in CFG->devs, in hex; _UID is the
 * index), with Memory32Fixed below 4 GiB and QWordMemory above.
 *
 * With GED set the DSDT declares \_SB.GED_ ("ACPI0013": a level-triggered,
 * active-high interrupt on X86_GED_IRQ and an _EVT method that reads the
 * devices/ged.h event register at X86_GED_PORT) and \_SB.PWRB (PNP0C0C),
 * which _EVT notifies (0x80) when GED_EVT_POWER_BUTTON is set.
 *
 * With NR_PCI > 0 the XSDT also lists an MCFG with one allocation per
 * segment (its ECAM, buses bus_start..bus_end), and the DSDT declares:
 *   \_SB.PCIn (n = index in CFG->pci, in hex), a PCI Express host bridge
 *     (PNP0A08, compatible PNP0A03) with _SEG and _UID = segment, _BBN =
 *     bus_start; _CRS: its buses, ports 0xcf8-0xcff if cf8, the 32-bit
 *     window (DWordMemory) and the 64-bit one (QWordMemory), both producers,
 *     non-cacheable, read-write, each left out when its size is 0; _PRT:
 *     INTA of every slot with a slot_gsi, wired straight to that GSI (Linux
 *     makes it level-triggered, active-low); _OSC: grants the OS every PCI
 *     control it asks for but native PCIe and SHPC hot-plug, which stay
 *     with the platform (ACPI hot-plug);
 *     With PCI_HOTPLUG (which needs GED) each host bridge also holds the
 *     hot-plug controller's registers (OperationRegion PCST at
 *     X86_PCIHP_PORT + index * X86_PCIHP_STRIDE: PCIU, PCID, B0EJ, see
 *     devices/pcihp.h), a method PCNT that Notify()s slot Sxx (xx = slot,
 *     hex) with 1 for each PCIU bit and 3 for each PCID bit, and slots
 *     S01..S1F (_ADR slot << 16, _SUN index * 32 + slot, _EJ0 writing the
 *     slot's bit to B0EJ); the GED's _EVT calls every PCNT when
 *     GED_EVT_PCI_HOTPLUG is set;
 *   with MAX_CPUS above NR_CPUS (which needs GED), the MADT lists MAX_CPUS
 *     local APICs, those past NR_CPUS online-capable but not enabled, and the
 *     DSDT a processor container \_SB.CPUS ("ACPI0010") holding the CPU
 *     hot-plug controller's registers (OperationRegion CPST at
 *     X86_CPUHP_PORT, devices/cpuhp.h), a method CSCN that Notify()s
 *     processor Cnnn with 1 for each INSERT bit and 3 for each REMOVE bit,
 *     and processors C000.. ("ACPI0007", _UID n, _STA from PRESENT, _MAT the
 *     enabled local APIC entry, _EJ0 writing EJECT but on C000); the GED's
 *     _EVT calls CSCN when GED_EVT_CPU_HOTPLUG is set;
 *   \_SB.MRES, motherboard resources (PNP0C02) listing every segment's ECAM
 *     for buses bus_start..bus_end, which Linux wants reserved before it
 *     uses the MCFG (x86_e820_build() reserves it in the e820 map too).
 *
 * Returns 0 and the RSDP address in *RSDP_GPA;
 *   -EINVAL  0 or more than 255 CPUs, devs NULL with nr_devs > 0, a device
 *            of size 0, wrapping, with an irq above X86_IRQ_MAX, or on
 *            X86_GED_IRQ while GED is set;
 *            pci NULL with nr_pci > 0, more than X86_PCI_MAX_SEGMENTS
 *            segments, two with the same segment number or with cf8 set,
 *            bus_end < bus_start, an ECAM or a window that wraps, a 32-bit
 *            window reaching above 4 GiB, a slot_gsi above X86_IRQ_MAX or on
 *            X86_GED_IRQ, or on the (edge-triggered) line of a device or of
 *            the UART;
 *   -E2BIG   the tables do not fit below X86_ACPI_END, or > 4096 devices;
 *   -ENOMEM  no host staging buffer;
 *   -EFAULT  the area is not guest RAM.
 */
int acpi_build(struct guest_mem *gm, const struct acpi_config *cfg,
	       uint64_t *rsdp_gpa);

struct aml;

/* For acpi.c (defined in dsdt.c): appends the DSDT's AML, everything after
 * the table header, for a CFG that acpi_build() has checked. */
void acpi_dsdt_aml(struct aml *a, const struct acpi_config *cfg);

/* The CPUs the tables describe: max_cpus when it is above nr_cpus. */
static inline unsigned int acpi_max_cpus(const struct acpi_config *cfg)
{
	return cfg->max_cpus > cfg->nr_cpus ? cfg->max_cpus : cfg->nr_cpus;
}

#endif
