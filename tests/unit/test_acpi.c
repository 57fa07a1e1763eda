/*
 * Tests for the x86_64 ACPI tables: RSDP, XSDT and the table headers and
 * checksums, the FADT/MADT fields Linux needs for poweroff, reboot and IRQ
 * routing, configs that must be refused, and the virtio slots' IRQs.  The
 * DSDT and the iasl round trip are tested in test_acpi_dsdt.c, the AML
 * encoders in test_aml.c.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "acpi.h"
#include "acpi_helpers.h"
#include "arch.h"
#include "layout.h"
#include "vm.h"

TestSuite(acpi, .init = setup, .fini = teardown);

Test(acpi, rsdp_xsdt_and_table_headers)
{
	static const char *const sigs[] = { "XSDT", "FACP", "APIC", "DSDT" };
	struct acpi_mmio_dev *d = make_devs(5);
	const uint8_t *r = build(8, d, 5), *x = find(r, "XSDT");
	unsigned int i;

	cr_assert(!memcmp(r, "RSD PTR ", 8) && !memcmp(r + 9, "KVMM  ", 6));
	cr_assert_eq(sum8(r, 20), 0, "ACPI 1.0 checksum");
	cr_assert_eq(sum8(r, 36), 0, "extended checksum");
	cr_assert(r[15] == 2 && rd(r + 16, 4) == 0 && rd(r + 20, 4) == 36,
		  "revision 2, no RSDT, length 36");
	cr_assert_eq(rd(x + 4, 4), 36 + 2 * 8, "FADT and MADT only");
	/* find() checks signature, length, ids and checksum on its way. */
	for (i = 0; i < 4; i++)
		cr_assert_not_null(find(r, sigs[i]));
	free(d);
}

static void check_gas_io8(const uint8_t *g, uint16_t port)
{
	/* SystemIO, 8 bits at bit 0, byte access. */
	cr_assert(g[0] == 1 && g[1] == 8 && g[2] == 0 && g[3] == 1 &&
		  rd(g + 4, 8) == port, "GAS for port %#x", port);
}

Test(acpi, fadt_fields)
{
	const uint8_t *r = build(2, NULL, 0), *f = find(r, "FACP");

	cr_assert(rd(f + 4, 4) == 276 && f[8] == 6, "length, revision");
	cr_assert_eq(rd(f + 112, 4),
		     (1u << 20) | (1u << 10) | (1u << 5) | (1u << 4), "flags");
	cr_assert_eq(rd(f + 109, 2), (1u << 1) | (1u << 2) | (1u << 5));
	cr_assert(!rd(f + 40, 4) && find(r, "DSDT"), "DSDT via X_DSDT only");
	check_gas_io8(f + 116, X86_PM_RESET);
	cr_assert_eq(f[128], X86_PM_RESET_VALUE);
	check_gas_io8(f + 244, X86_PM_SLEEP_CTL);
	check_gas_io8(f + 256, X86_PM_SLEEP_STS);
	cr_assert_eq(memcmp(f + 268, "KVMM", 4), 0);
}

static void check_madt(unsigned int cpus)
{
	const uint8_t *m = find(build(cpus, NULL, 0), "APIC"), *e;
	uint32_t len = rd(m + 4, 4);
	unsigned int lapics = 0, ioapics = 0;

	cr_assert_eq(rd(m + 36, 4), X86_LAPIC_GPA);
	cr_assert_eq(rd(m + 40, 4), 0, "no PC-AT 8259s");
	for (e = m + 44; e < m + len; e += e[1]) {
		cr_assert(e[1] >= 2 && e + e[1] <= m + len);
		if (e[0] == 0) {
			cr_assert(e[1] == 8 && e[3] == lapics, "ID = index");
			cr_assert_eq(rd(e + 4, 4), 1, "enabled");
			lapics++;
		} else if (e[0] == 1) {
			cr_assert(e[1] == 12 && e[2] == 0 && rd(e + 8, 4) == 0,
				  "IOAPIC id 0, GSI base 0");
			cr_assert_eq(rd(e + 4, 4), X86_IOAPIC_GPA);
			ioapics++;
		}
	}
	cr_assert_eq(e, m + len, "entries fill the table exactly");
	cr_assert(lapics == cpus && ioapics == 1);
}

Test(acpi, madt_1_and_2_cpus) { check_madt(1); check_madt(2); }
Test(acpi, madt_64_and_255_cpus) { check_madt(64); check_madt(255); }

Test(acpi, bad_configs)
{
	struct acpi_mmio_dev *d = make_devs(4000);
	struct guest_mem low;

	cr_assert_eq(try_build(&gm, 0, NULL, 0), -EINVAL);
	cr_assert_eq(try_build(&gm, 256, NULL, 0), -EINVAL);
	cr_assert_eq(try_build(&gm, 1, NULL, 1), -EINVAL, "NULL devs");
	d[1].irq = X86_IRQ_MAX + 1;
	cr_assert_eq(try_build(&gm, 1, d, 2), -EINVAL, "irq beyond the IOAPIC");
	d[1].irq = X86_IRQ_MAX;
	/* 4000 devices need ~240 KiB of DSDT; the area is 128 KiB. */
	cr_assert_eq(try_build(&gm, 1, d, 4000), -E2BIG);
	cr_assert(*(uint8_t *)gm_ptr(&gm, X86_ACPI_GPA, 1) == 0 && !rsdp_gpa,
		  "a failed build wrote to the guest");
	/* No RAM under the ACPI area. */
	cr_assert_eq(gm_create(&low, &(struct gm_region){ .size = 0x80000 }, 1),
		     0);
	cr_assert_eq(try_build(&low, 1, d, 2), -EFAULT);
	gm_destroy(&low);
	free(d);
}

Test(acpi, virtio_slots_leave_the_ged_line_free)
{
	uint64_t base, size;
	unsigned int i;
	uint32_t irq;

	for (i = 0; arch_virtio_slot(i, &base, &size, &irq) == 0; i++)
		cr_assert(irq >= X86_VIRTIO_IRQ_BASE && irq <= X86_VIRTIO_IRQ_MAX &&
			  irq != X86_GED_IRQ, "slot %u: irq %u", i, irq);
	cr_assert_eq(i, X86_VIRTIO_IRQ_MAX - X86_VIRTIO_IRQ_BASE + 1);
	cr_assert_geq(i, VM_MAX_VIRTIO, "a slot for every virtio device a VM may have");
}
