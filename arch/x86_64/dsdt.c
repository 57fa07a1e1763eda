/*
 * The DSDT's AML for x86_64 guests (acpi.c wraps it in the table header):
 * \_S5 for poweroff, and under \_SB the UART, one "LNRO0005" virtio-mmio
 * device per platform device, one PCI host bridge per segment with the
 * motherboard resources that reserve their ECAM and, with hot-plug, its
 * slots and the methods that read the hot-plug controller, and the Generic
 * Event Device with the power button and the hot-plug event it notifies,
 * and with CPU hot-plug the processor objects.  Names and resources follow
 * acpi.h's contract.
 */
#include <stdio.h>

#include "acpi.h"
#include "aml.h"
#include "ged.h"
#include "layout.h"
#include "cpuhp.h"
#include "pcihp.h"

#define ACPI_NOTIFY_BUTTON_PRESSED	0x80	/* ACPI 6.5, 5.6.6 */
#define ACPI_NOTIFY_DEVICE_CHECK	0x01
#define ACPI_NOTIFY_EJECT_REQUEST	0x03

/* PCI Firmware Specification 3.3, 4.5: _OSC for a PCI host bridge. */
#define PCI_OSC_UUID		"33DB4D5B-1FF7-401C-9657-7441C03DD766"
#define PCI_OSC_CDW1_BAD_UUID	(1u << 2)	/* unrecognized UUID */
#define PCI_OSC_CDW1_MASKED	(1u << 4)	/* capabilities masked */
#define PCI_OSC_CTRL_PCIE_HP	(1u << 0)	/* native PCIe hot-plug */
#define PCI_OSC_CTRL_SHPC_HP	(1u << 1)	/* SHPC hot-plug */
#define PCI_OSC_CTRL_KEPT	(PCI_OSC_CTRL_PCIE_HP | PCI_OSC_CTRL_SHPC_HP)

#define PCI_ECAM_BUS_SHIFT	20		/* 1 MiB of ECAM per bus */

static void dsdt_virtio(struct aml *a, unsigned int n,
			const struct acpi_mmio_dev *d)
{
	uint64_t last = d->base + d->size - 1;	/* cannot wrap: checked */
	char name[5];
	size_t dev, crs;

	snprintf(name, sizeof(name), "V%03X", n & 0xfff);
	dev = aml_device_begin(a, name);
	aml_name_string(a, "_HID", "LNRO0005");
	aml_name_integer(a, "_UID", n);
	aml_name(a, "_CRS");
	crs = aml_restemplate_begin(a);
	if (last <= UINT32_MAX && d->size <= UINT32_MAX)
		aml_memory32_fixed(a, true, (uint32_t)d->base,
				   (uint32_t)d->size);
	else
		aml_qword_memory(a, AML_ADDR_RW, d->base, d->size);
	aml_ext_interrupt(a, AML_IRQ_CONSUMER | AML_IRQ_EDGE, d->irq);
	aml_restemplate_end(a, crs);
	aml_pkg_end(a, dev);
}

/*
 * Method (_OSC, 4, Serialized) {
 *     CreateDWordField (Arg3, Zero, CDW1)
 *     If (Arg0 == ToUUID (PCI_OSC_UUID)) {
 *         CreateDWordField (Arg3, 0x04, CDW2)     // what the OS supports
 *         CreateDWordField (Arg3, 0x08, CDW3)     // what it wants to control
 *         If (CDW3 & 0x03) {
 *             CDW3 &= 0xFFFFFFFC
 *             CDW1 |= 0x10
 *         }
 *     } Else {
 *         CDW1 |= 0x04
 *     }
 *     Return (Arg3)
 * }
 *
 * Linux asks with the query flag first, then asks again for exactly what it
 * was offered, so the masked bit is only ever set on a query (it fails a
 * real request with it).  Keeping hot-plug from the OS leaves kvmm free to
 * hot-plug through ACPI; AER, PME, LTR and the rest are the OS's to take.
 */
static void dsdt_pci_osc(struct aml *a)
{
	size_t mth, cond, alt, inner;

	mth = aml_method_begin(a, "_OSC", 4, true);
	aml_create_dword_field(a);
	aml_arg(a, 3);
	aml_integer(a, 0);
	aml_namestring(a, "CDW1");

	cond = aml_if_begin(a);
	aml_lequal(a);
	aml_arg(a, 0);
	aml_uuid(a, PCI_OSC_UUID);
	aml_create_dword_field(a);
	aml_arg(a, 3);
	aml_integer(a, 4);
	aml_namestring(a, "CDW2");
	aml_create_dword_field(a);
	aml_arg(a, 3);
	aml_integer(a, 8);
	aml_namestring(a, "CDW3");
	inner = aml_if_begin(a);
	aml_and(a);
	aml_namestring(a, "CDW3");
	aml_integer(a, PCI_OSC_CTRL_KEPT);
	aml_no_target(a);
	aml_and(a);
	aml_namestring(a, "CDW3");
	aml_integer(a, ~PCI_OSC_CTRL_KEPT & 0xffffffffu);
	aml_namestring(a, "CDW3");
	aml_or(a);
	aml_namestring(a, "CDW1");
	aml_integer(a, PCI_OSC_CDW1_MASKED);
	aml_namestring(a, "CDW1");
	aml_pkg_end(a, inner);
	aml_pkg_end(a, cond);

	alt = aml_else_begin(a);
	aml_or(a);
	aml_namestring(a, "CDW1");
	aml_integer(a, PCI_OSC_CDW1_BAD_UUID);
	aml_namestring(a, "CDW1");
	aml_pkg_end(a, alt);

	aml_return(a);
	aml_arg(a, 3);
	aml_pkg_end(a, mth);
}

/* Name (_PRT, Package () { Package () { slot << 16 | 0xFFFF, 0 (INTA),
 * Zero (no link device: the last field is a GSI), GSI }, ... }), for the
 * slots that have an INTx line; nothing if none has. */
static void dsdt_pci_prt(struct aml *a, const struct acpi_pci_seg *s)
{
	const unsigned int nr_slots = sizeof(s->slot_gsi) / sizeof(s->slot_gsi[0]);
	unsigned int slot, n = 0;
	size_t prt, ent;

	for (slot = 0; slot < nr_slots; slot++)
		n += s->slot_gsi[slot] != 0;
	if (!n)
		return;
	aml_name(a, "_PRT");
	prt = aml_package_begin(a, (uint8_t)n);
	for (slot = 0; slot < nr_slots; slot++) {
		if (!s->slot_gsi[slot])
			continue;
		ent = aml_package_begin(a, 4);
		aml_integer(a, (uint64_t)slot << 16 | 0xffff);	/* any function */
		aml_integer(a, 0);		/* pin: INTA */
		aml_integer(a, 0);		/* source: none, a GSI follows */
		aml_integer(a, s->slot_gsi[slot]);
		aml_pkg_end(a, ent);
	}
	aml_pkg_end(a, prt);
}

/*
 * The hot-plug part of host bridge N (see acpi.h and devices/pcihp.h):
 *
 *   OperationRegion (PCST, SystemIO, X86_PCIHP_PORT + N * 16, 12)
 *   Field (PCST, DWordAcc, NoLock, WriteAsZeros) { PCIU, 32, PCID, 32, B0EJ, 32 }
 *   Method (PCNT, 0, Serialized) {
 *       Local0 = PCIU                    // reading clears: latch once
 *       Local1 = PCID
 *       If (Local0 & 0x02) { Notify (S01, 1) }  ... up to S1F
 *       If (Local1 & 0x02) { Notify (S01, 3) }  ...
 *   }
 *   Device (S01) { Name (_ADR, 0x00010000) Name (_SUN, N * 32 + 1)
 *                  Method (_EJ0, 1) { B0EJ = 0x02 } }  ... up to S1F
 *
 * Linux's acpiphp takes every _ADR device with an _EJ0 under a bridge whose
 * hot-plug _OSC kept from it for a slot: Notify 1 makes it scan the slot
 * and bind a driver, Notify 3 makes it unbind and remove the function and
 * then run _EJ0.  Slots without _STA are present when their function's
 * vendor ID reads other than all ones, which is what kvmm's configuration
 * space answers.  _SUN is unique across segments (sysfs slot names).
 */
static void dsdt_pci_hotplug(struct aml *a, unsigned int n)
{
	char name[5];
	size_t mth, dev, fld, cond;

	aml_operation_region(a, "PCST", AML_SPACE_SYSTEM_IO,
			     X86_PCIHP_PORT + (uint64_t)n * X86_PCIHP_STRIDE,
			     PCIHP_REG_EJECT + 4);
	fld = aml_field_begin(a, "PCST", AML_FIELD_DWORD_ACC | AML_FIELD_WRITE_ZEROS);
	aml_field_unit(a, "PCIU", 32);
	aml_field_unit(a, "PCID", 32);
	aml_field_unit(a, "B0EJ", 32);
	aml_pkg_end(a, fld);

	mth = aml_method_begin(a, "PCNT", 0, true);
	aml_store(a);
	aml_namestring(a, "PCIU");
	aml_local(a, 0);
	aml_store(a);
	aml_namestring(a, "PCID");
	aml_local(a, 1);
	for (unsigned int ev = 0; ev < 2; ev++) {
		for (unsigned int slot = 1; slot < 32; slot++) {
			snprintf(name, sizeof(name), "S%02X", slot);
			cond = aml_if_begin(a);
			aml_and(a);
			aml_local(a, ev);
			aml_integer(a, 1u << slot);
			aml_no_target(a);
			aml_notify(a, name, ev ? ACPI_NOTIFY_EJECT_REQUEST
					       : ACPI_NOTIFY_DEVICE_CHECK);
			aml_pkg_end(a, cond);
		}
	}
	aml_pkg_end(a, mth);

	for (unsigned int slot = 1; slot < 32; slot++) {
		snprintf(name, sizeof(name), "S%02X", slot);
		dev = aml_device_begin(a, name);
		aml_name_integer(a, "_ADR", (uint64_t)slot << 16);
		aml_name_integer(a, "_SUN", n * 32 + slot);
		mth = aml_method_begin(a, "_EJ0", 1, false);
		aml_store(a);
		aml_integer(a, 1u << slot);
		aml_namestring(a, "B0EJ");
		aml_pkg_end(a, mth);
		aml_pkg_end(a, dev);
	}
}

/* Device (PCIn): a host bridge and the resources it decodes for its bus
 * (the windows cannot wrap and the 32-bit one ends below 4 GiB: checked). */
static void dsdt_pci(struct aml *a, unsigned int n, const struct acpi_pci_seg *s,
		     bool hotplug)
{
	char name[5];
	size_t dev, crs;

	snprintf(name, sizeof(name), "PCI%X", n & 0xf);
	dev = aml_device_begin(a, name);
	aml_name_eisaid(a, "_HID", "PNP0A08");
	aml_name_eisaid(a, "_CID", "PNP0A03");
	aml_name_integer(a, "_SEG", s->segment);
	aml_name_integer(a, "_UID", s->segment);
	aml_name_integer(a, "_BBN", s->bus_start);
	aml_name(a, "_CRS");
	crs = aml_restemplate_begin(a);
	aml_word_bus_number(a, AML_ADDR_PRODUCER, s->bus_start, s->bus_end);
	if (s->cf8)
		aml_io_port(a, X86_PCI_CF8_PORT, X86_PCI_CF8_LEN);
	if (s->mem32_size)
		aml_dword_memory(a, AML_ADDR_PRODUCER | AML_ADDR_RW,
				 (uint32_t)s->mem32_base,
				 (uint32_t)s->mem32_size);
	if (s->mem64_size)
		aml_qword_memory(a, AML_ADDR_PRODUCER | AML_ADDR_RW,
				 s->mem64_base, s->mem64_size);
	aml_restemplate_end(a, crs);
	dsdt_pci_prt(a, s);
	dsdt_pci_osc(a);
	if (hotplug)
		dsdt_pci_hotplug(a, n);
	aml_pkg_end(a, dev);
}

/*
 * Device (MRES): motherboard resources holding every segment's ECAM.  Linux
 * uses an MCFG region only if it is reserved, early in the e820 map or late
 * in the _CRS of a PNP0C01/PNP0C02 device (pci_mmcfg_reserved()).
 */
static void dsdt_mres(struct aml *a, const struct acpi_config *cfg)
{
	uint64_t base, size;
	unsigned int i;
	size_t dev, crs;

	dev = aml_device_begin(a, "MRES");
	aml_name_eisaid(a, "_HID", "PNP0C02");
	aml_name_integer(a, "_UID", 0);
	aml_name(a, "_CRS");
	crs = aml_restemplate_begin(a);
	for (i = 0; i < cfg->nr_pci; i++) {
		const struct acpi_pci_seg *s = &cfg->pci[i];

		/* Cannot wrap: checked. */
		base = s->ecam_base + ((uint64_t)s->bus_start << PCI_ECAM_BUS_SHIFT);
		size = (uint64_t)(s->bus_end - s->bus_start + 1) << PCI_ECAM_BUS_SHIFT;
		if (base + size - 1 <= UINT32_MAX)
			aml_memory32_fixed(a, true, (uint32_t)base,
					   (uint32_t)size);
		else
			aml_qword_memory(a, AML_ADDR_RW, base, size);
	}
	aml_restemplate_end(a, crs);
	aml_pkg_end(a, dev);
}

/* If (Local(LOCAL) & BIT) { Notify (NAME, VALUE) }: a scan method's notify for one device. */
static void dsdt_notify_if(struct aml *a, unsigned int local, uint32_t bit, const char *name,
			   uint64_t value)
{
	size_t cond = aml_if_begin(a);

	aml_and(a);
	aml_local(a, local);
	aml_integer(a, bit);
	aml_no_target(a);
	aml_notify(a, name, value);
	aml_pkg_end(a, cond);
}

/* CSCN's notify for CPU N: bit N % 32 of Local(BASE + N / 32). */
static void dsdt_cpu_notify(struct aml *a, unsigned int n, unsigned int base, uint64_t value)
{
	char name[5];

	snprintf(name, sizeof(name), "C%03X", n & 0xfff);
	dsdt_notify_if(a, base + n / 32, 1u << (n % 32), name, value);
}

/*
 * Device (CPUS) {                           // with CPU hot-plug (acpi.h)
 *     Name (_HID, "ACPI0010")  Name (_CID, EisaId ("PNP0A05"))
 *     OperationRegion (CPST, SystemIO, X86_CPUHP_PORT, 0x20)
 *     Field (CPST, DWordAcc, NoLock, WriteAsZeros) {
 *         CPR0, 32, CPR1, 32, CIN0, 32, CIN1, 32, CRM0, 32, CRM1, 32, CEJ0, 32, CEJ1, 32 }
 *     Method (CSCN, 0, Serialized) {
 *         Local0 = CIN0  Local1 = CIN1  Local2 = CRM0  Local3 = CRM1
 *         If (Local0 & 0x02) { Notify (C001, 1) } ...   // inserted: device check
 *         If (Local2 & 0x02) { Notify (C001, 3) } ...   // eject request
 *     }
 *     Device (C001) {
 *         Name (_HID, "ACPI0007")  Name (_UID, 1)
 *         Method (_STA) { If (CPR0 & 0x02) { Return (0x0F) }  Return (Zero) }
 *         Name (_MAT, Buffer () { 0, 8, 1, 1, 1, 0, 0, 0 })  // its local APIC, enabled
 *         Method (_EJ0, 1) { CEJ0 = 0x02 }
 *     } ...
 * }
 *
 * Linux's ACPI processor driver binds every ACPI0007 device whose _STA says
 * present: the boot CPUs at boot (C000 has no _EJ0: the boot CPU stays), a
 * plugged one on its device check, found through _MAT (the MADT's entry is
 * disabled, which Linux does not map).  It adds the CPU offline; onlining
 * it is userspace's (Kata's agent).  On an eject request it offlines the
 * CPU, removes it and runs _EJ0.
 */
static void dsdt_cpus(struct aml *a, unsigned int nr)
{
	static const char *const regs[] = {
		"CPR0", "CPR1", "CIN0", "CIN1", "CRM0", "CRM1", "CEJ0", "CEJ1",
	};
	char name[5], reg[5];
	size_t dev, cpu, fld, mth, cond, buf;
	unsigned int n;

	dev = aml_device_begin(a, "CPUS");
	aml_name_string(a, "_HID", "ACPI0010");
	aml_name_eisaid(a, "_CID", "PNP0A05");
	aml_operation_region(a, "CPST", AML_SPACE_SYSTEM_IO, X86_CPUHP_PORT, X86_CPUHP_LEN);
	fld = aml_field_begin(a, "CPST", AML_FIELD_DWORD_ACC | AML_FIELD_WRITE_ZEROS);
	for (n = 0; n < sizeof(regs) / sizeof(regs[0]); n++)
		aml_field_unit(a, regs[n], 32);
	aml_pkg_end(a, fld);

	mth = aml_method_begin(a, "CSCN", 0, true);
	for (n = 0; n < 4; n++) {
		aml_store(a);
		aml_namestring(a, regs[2 + n]);
		aml_local(a, n);
	}
	for (n = 1; n < nr; n++)
		dsdt_cpu_notify(a, n, 0, ACPI_NOTIFY_DEVICE_CHECK);
	for (n = 1; n < nr; n++)
		dsdt_cpu_notify(a, n, 2, ACPI_NOTIFY_EJECT_REQUEST);
	aml_pkg_end(a, mth);

	for (n = 0; n < nr; n++) {
		const uint8_t mat[8] = { 0, 8, (uint8_t)n, (uint8_t)n, 1, 0, 0, 0 };

		snprintf(name, sizeof(name), "C%03X", n & 0xfff);
		cpu = aml_device_begin(a, name);
		aml_name_string(a, "_HID", "ACPI0007");
		aml_name_integer(a, "_UID", n);

		mth = aml_method_begin(a, "_STA", 0, false);
		cond = aml_if_begin(a);
		aml_and(a);
		snprintf(reg, sizeof(reg), "CPR%u", (n / 32) & 1);
		aml_namestring(a, reg);
		aml_integer(a, 1u << (n % 32));
		aml_no_target(a);
		aml_return(a);
		aml_integer(a, 0x0f);
		aml_pkg_end(a, cond);
		aml_return(a);
		aml_integer(a, 0);
		aml_pkg_end(a, mth);

		aml_name(a, "_MAT");
		buf = aml_buffer_begin(a);
		aml_bytes(a, mat, sizeof(mat));
		aml_buffer_end(a, buf);

		if (n) {
			mth = aml_method_begin(a, "_EJ0", 1, false);
			aml_store(a);
			aml_integer(a, 1u << (n % 32));
			snprintf(reg, sizeof(reg), "CEJ%u", (n / 32) & 1);
			aml_namestring(a, reg);
			aml_pkg_end(a, mth);
		}
		aml_pkg_end(a, cpu);
	}
	aml_pkg_end(a, dev);
}

/* Offsets of _MIN, _MAX and _LEN in a QWord address space descriptor (ACPI 6.5, 6.4.3.5.1). */
#define QWORD_MIN_OFF	14
#define QWORD_MAX_OFF	22
#define QWORD_LEN_OFF	38

/* CreateQWordField (MR64, OFF, NAME) */
static void create_qword(struct aml *a, unsigned int off, const char *name)
{
	aml_create_qword_field(a);
	aml_namestring(a, "MR64");
	aml_integer(a, off);
	aml_namestring(a, name);
}

/*
 * Device (MHPC) {                           // with memory hot-plug (acpi.h)
 *     Name (_HID, EisaId ("PNP0A06"))  Name (_UID, "MHPC")
 *     OperationRegion (MHPR, SystemIO, X86_MEMHP_PORT, X86_MEMHP_LEN)
 *     Field (MHPR, DWordAcc, NoLock, WriteAsZeros) {
 *         MINS, 32, MRSV, 32, MB00, 64, ML00, 64, MB01, 64, ML01, 64, ... }
 *     Method (MSCN, 0, Serialized) {
 *         Local0 = MINS
 *         If (Local0 & 0x01) { Notify (M000, 1) } ...    // filled: device check
 *     }
 *     Device (M000) {
 *         Name (_HID, EisaId ("PNP0C80"))  Name (_UID, 0)
 *         Method (_STA) { If (ML00) { Return (0x0F) }  Return (Zero) }
 *         Method (_CRS, 0, Serialized) {
 *             Name (MR64, ResourceTemplate () { QWordMemory (ResourceConsumer, PosDecode,
 *                 MinFixed, MaxFixed, Cacheable, ReadWrite, 0, 0, 0, 0, 1) })
 *             CreateQWordField (MR64, 14, MINL)  CreateQWordField (MR64, 22, MAXL)
 *             CreateQWordField (MR64, 38, LENL)
 *             MINL = MB00  LENL = ML00  MAXL = MINL + LENL  MAXL -= 1
 *             Return (MR64)
 *         }
 *     } ...
 * }
 *
 * Linux's ACPI memory driver binds each PNP0C80 device whose _STA says
 * present, reads the range from its _CRS and adds it as memory blocks, which
 * stay offline until userspace onlines them.  Slots are filled in order and
 * never emptied at run time, so there is no _EJ0.
 */
static void dsdt_memhp(struct aml *a)
{
	char name[5], base[5], len[5];
	size_t dev, mem, fld, mth, cond, tmpl;
	unsigned int n;

	dev = aml_device_begin(a, "MHPC");
	aml_name_eisaid(a, "_HID", "PNP0A06");
	aml_name_string(a, "_UID", "MHPC");
	aml_operation_region(a, "MHPR", AML_SPACE_SYSTEM_IO, X86_MEMHP_PORT, X86_MEMHP_LEN);
	fld = aml_field_begin(a, "MHPR", AML_FIELD_DWORD_ACC | AML_FIELD_WRITE_ZEROS);
	aml_field_unit(a, "MINS", 32);
	aml_field_unit(a, "MRSV", 32);
	for (n = 0; n < X86_MEMHP_SLOTS; n++) {
		snprintf(base, sizeof(base), "MB%02X", n);
		snprintf(len, sizeof(len), "ML%02X", n);
		aml_field_unit(a, base, 64);
		aml_field_unit(a, len, 64);
	}
	aml_pkg_end(a, fld);

	mth = aml_method_begin(a, "MSCN", 0, true);
	aml_store(a);
	aml_namestring(a, "MINS");
	aml_local(a, 0);
	for (n = 0; n < X86_MEMHP_SLOTS; n++) {
		snprintf(name, sizeof(name), "M%03X", n);
		dsdt_notify_if(a, 0, 1u << n, name, ACPI_NOTIFY_DEVICE_CHECK);
	}
	aml_pkg_end(a, mth);

	for (n = 0; n < X86_MEMHP_SLOTS; n++) {
		snprintf(name, sizeof(name), "M%03X", n);
		snprintf(base, sizeof(base), "MB%02X", n);
		snprintf(len, sizeof(len), "ML%02X", n);
		mem = aml_device_begin(a, name);
		aml_name_eisaid(a, "_HID", "PNP0C80");
		aml_name_integer(a, "_UID", n);

		mth = aml_method_begin(a, "_STA", 0, false);
		cond = aml_if_begin(a);
		aml_namestring(a, len);
		aml_return(a);
		aml_integer(a, 0x0f);
		aml_pkg_end(a, cond);
		aml_return(a);
		aml_integer(a, 0);
		aml_pkg_end(a, mth);

		mth = aml_method_begin(a, "_CRS", 0, true);
		aml_name(a, "MR64");
		tmpl = aml_restemplate_begin(a);
		/* Placeholders: the method fills in the slot's range. */
		aml_qword_memory(a, AML_ADDR_RW | AML_ADDR_CACHEABLE, 0, 1);
		aml_restemplate_end_unsummed(a, tmpl);
		create_qword(a, QWORD_MIN_OFF, "MINL");
		create_qword(a, QWORD_MAX_OFF, "MAXL");
		create_qword(a, QWORD_LEN_OFF, "LENL");
		aml_store(a);
		aml_namestring(a, base);
		aml_namestring(a, "MINL");
		aml_store(a);
		aml_namestring(a, len);
		aml_namestring(a, "LENL");
		aml_add(a);
		aml_namestring(a, "MINL");
		aml_namestring(a, "LENL");
		aml_namestring(a, "MAXL");
		aml_subtract(a);
		aml_namestring(a, "MAXL");
		aml_integer(a, 1);
		aml_namestring(a, "MAXL");
		aml_return(a);
		aml_namestring(a, "MR64");
		aml_pkg_end(a, mth);
		aml_pkg_end(a, mem);
	}
	aml_pkg_end(a, dev);
}

static void dsdt_com1(struct aml *a)
{
	size_t dev, crs;

	dev = aml_device_begin(a, "COM1");
	aml_name_eisaid(a, "_HID", "PNP0501");
	aml_name_integer(a, "_UID", 1);
	aml_name(a, "_CRS");
	crs = aml_restemplate_begin(a);
	aml_io_port(a, X86_SERIAL_PORT, 8);
	aml_ext_interrupt(a, AML_IRQ_CONSUMER | AML_IRQ_EDGE, X86_SERIAL_IRQ);
	aml_restemplate_end(a, crs);
	aml_pkg_end(a, dev);
}

/*
 * Device (GED_) {
 *     Name (_HID, "ACPI0013")
 *     Name (_UID, Zero)
 *     Name (_CRS, ResourceTemplate () {
 *         Interrupt (ResourceConsumer, Level, ActiveHigh, Exclusive) { 23 } })
 *     OperationRegion (GREG, SystemIO, X86_GED_PORT, X86_GED_LEN)
 *     Field (GREG, ByteAcc, NoLock, WriteAsZeros) { GEVT, 8 }
 *     Method (_EVT, 1, Serialized) {
 *         Local0 = GEVT
 *         If (Local0 & GED_EVT_POWER_BUTTON) { Notify (\_SB.PWRB, 0x80) }
 *         If (Local0 & GED_EVT_CPU_HOTPLUG) { \_SB.CPUS.CSCN () }       // with CPU hot-plug
 *         If (Local0 & GED_EVT_PCI_HOTPLUG) { \_SB.PCI0.PCNT () ... }  // with PCI hot-plug
 *         If (Local0 & GED_EVT_MEM_HOTPLUG) { \_SB.MHPC.MSCN () }  // with memory hot-plug
 *     }
 * }
 * Device (PWRB) { Name (_HID, EisaId ("PNP0C0C")) Name (_UID, Zero) }
 *
 * Linux's evged maps the _CRS interrupts and runs _EVT (there is no _L17)
 * with the GSI as Arg0, which one interrupt makes redundant.  The _CRS must
 * hold interrupts only: evged refuses a GED whose _CRS has anything else,
 * which is why the register's port is not listed there.  PWRB is a
 * control-method power button: the FADT declares no fixed one.
 */
static void dsdt_ged(struct aml *a, const struct acpi_config *cfg)
{
	size_t dev, crs, fld, mth, cond;

	dev = aml_device_begin(a, "GED_");
	aml_name_string(a, "_HID", "ACPI0013");
	aml_name_integer(a, "_UID", 0);
	aml_name(a, "_CRS");
	crs = aml_restemplate_begin(a);
	aml_ext_interrupt(a, AML_IRQ_CONSUMER, X86_GED_IRQ);	/* level, high */
	aml_restemplate_end(a, crs);
	aml_operation_region(a, "GREG", AML_SPACE_SYSTEM_IO, X86_GED_PORT,
			     X86_GED_LEN);
	fld = aml_field_begin(a, "GREG", AML_FIELD_BYTE_ACC |
			      AML_FIELD_WRITE_ZEROS);
	aml_field_unit(a, "GEVT", 8);
	aml_pkg_end(a, fld);

	mth = aml_method_begin(a, "_EVT", 1, true);
	/* One read takes every pending event (and lowers the line). */
	aml_store(a);
	aml_namestring(a, "GEVT");
	aml_local(a, 0);
	cond = aml_if_begin(a);
	aml_and(a);
	aml_local(a, 0);
	aml_integer(a, GED_EVT_POWER_BUTTON);
	aml_no_target(a);
	aml_notify(a, "\\_SB_.PWRB", ACPI_NOTIFY_BUTTON_PRESSED);
	aml_pkg_end(a, cond);
	if (acpi_max_cpus(cfg) > cfg->nr_cpus) {
		cond = aml_if_begin(a);
		aml_and(a);
		aml_local(a, 0);
		aml_integer(a, GED_EVT_CPU_HOTPLUG);
		aml_no_target(a);
		aml_namestring(a, "\\_SB_.CPUS.CSCN");
		aml_pkg_end(a, cond);
	}
	if (cfg->pci_hotplug) {
		char path[16];

		cond = aml_if_begin(a);
		aml_and(a);
		aml_local(a, 0);
		aml_integer(a, GED_EVT_PCI_HOTPLUG);
		aml_no_target(a);
		for (unsigned int i = 0; i < cfg->nr_pci; i++) {
			snprintf(path, sizeof(path), "\\_SB_.PCI%X.PCNT", i & 0xf);
			aml_namestring(a, path);	/* a call: PCNT takes no argument */
		}
		aml_pkg_end(a, cond);
	}
	if (cfg->mem_hotplug) {
		cond = aml_if_begin(a);
		aml_and(a);
		aml_local(a, 0);
		aml_integer(a, GED_EVT_MEM_HOTPLUG);
		aml_no_target(a);
		aml_namestring(a, "\\_SB_.MHPC.MSCN");
		aml_pkg_end(a, cond);
	}
	aml_pkg_end(a, mth);
	aml_pkg_end(a, dev);

	dev = aml_device_begin(a, "PWRB");
	aml_name_eisaid(a, "_HID", "PNP0C0C");
	aml_name_integer(a, "_UID", 0);
	aml_pkg_end(a, dev);
}

void acpi_dsdt_aml(struct aml *a, const struct acpi_config *cfg)
{
	unsigned int i;
	size_t pkg, scope;

	/* Only element 0 (SLP_TYPa) matters without PM1 blocks; the rest
	 * keeps ACPICA from reading SLP_TYPb out of a packed integer. */
	aml_name(a, "\\_S5_");
	pkg = aml_package_begin(a, 4);
	aml_integer(a, X86_PM_SLP_TYP_S5);
	aml_integer(a, 0);
	aml_integer(a, 0);
	aml_integer(a, 0);
	aml_pkg_end(a, pkg);

	if (!cfg->nr_devs && !cfg->com1 && !cfg->ged && !cfg->nr_pci)
		return;
	scope = aml_scope_begin(a, "\\_SB_");
	if (cfg->com1)
		dsdt_com1(a);
	for (i = 0; i < cfg->nr_devs; i++)
		dsdt_virtio(a, i, &cfg->devs[i]);
	for (i = 0; i < cfg->nr_pci; i++)
		dsdt_pci(a, i, &cfg->pci[i], cfg->pci_hotplug);
	if (cfg->nr_pci)
		dsdt_mres(a, cfg);
	if (cfg->ged)
		dsdt_ged(a, cfg);
	if (acpi_max_cpus(cfg) > cfg->nr_cpus)
		dsdt_cpus(a, acpi_max_cpus(cfg));
	if (cfg->mem_hotplug)
		dsdt_memhp(a);
	aml_pkg_end(a, scope);
}
