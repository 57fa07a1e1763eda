/*
 * The DSDT's AML for x86_64 guests (acpi.c wraps it in the table header):
 * \_S5 for poweroff, and under \_SB the UART, one "LNRO0005" virtio-mmio
 * device per platform device, and the Generic Event Device with the power
 * button it notifies.  Names and resources follow acpi.h's contract.
 */
#include <stdio.h>

#include "acpi.h"
#include "aml.h"
#include "ged.h"
#include "layout.h"

#define ACPI_NOTIFY_BUTTON_PRESSED	0x80	/* ACPI 6.5, 5.6.6 */

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
		aml_qword_memory(a, true, d->base, d->size);
	aml_ext_interrupt(a, AML_IRQ_CONSUMER | AML_IRQ_EDGE, d->irq);
	aml_restemplate_end(a, crs);
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
static void dsdt_ged(struct aml *a)
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

	if (!cfg->nr_devs && !cfg->com1 && !cfg->ged)
		return;
	scope = aml_scope_begin(a, "\\_SB_");
	if (cfg->com1)
		dsdt_com1(a);
	for (i = 0; i < cfg->nr_devs; i++)
		dsdt_virtio(a, i, &cfg->devs[i]);
	if (cfg->ged)
		dsdt_ged(a);
	aml_pkg_end(a, scope);
}
