/*
 * Tests for the x86_64 ACPI tables: RSDP, XSDT and the table headers and
 * checksums, the FADT/MADT fields Linux needs for poweroff, reboot and IRQ
 * routing, the MCFG of PCI segments, configs that must be refused, and the
 * virtio slots' IRQs.  The DSDT and the iasl round trip are tested in
 * test_acpi_dsdt.c, the AML encoders in test_aml.c.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stddef.h>
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
	cr_assert_null(lookup(r, "MCFG"), "no MCFG without PCI");
	free(d);
}

static void check_mcfg(unsigned int n)
{
	static const char *const sigs[] = { "FACP", "APIC", "MCFG" };
	struct acpi_pci_seg *p = make_pci(n);
	const uint8_t *r, *x, *m, *e;
	unsigned int i;

	with_pci = p;
	nr_with_pci = n;
	r = build(2, NULL, 0);
	x = find(r, "XSDT");
	cr_assert_eq(rd(x + 4, 4), 36 + 3 * 8, "FADT, MADT and MCFG");
	for (i = 0; i < 3; i++)
		cr_assert(!memcmp(gm_ptr(&gm, rd(x + 36 + 8 * i, 8), 4), sigs[i], 4),
			  "XSDT entry %u is the %s", i, sigs[i]);
	/* find() checks the MCFG's header and checksum. */
	m = find(r, "MCFG");
	cr_assert(rd(m + 4, 4) == 44 + 16 * n && m[8] == 1,
		  "length for %u segments, revision 1", n);
	cr_assert_eq(rd(m + 36, 8), 0, "reserved");
	for (i = 0, e = m + 44; i < n; i++, e += 16) {
		cr_assert_eq(rd(e, 8), X86_PCI_ECAM_GPA + ((uint64_t)i << 20),
			     "segment %u: ECAM", i);
		cr_assert(rd(e + 8, 2) == i && e[10] == 0 && e[11] == 0 &&
			  rd(e + 12, 4) == 0, "segment %u: group, buses", i);
	}
	cr_assert_not_null(find(r, "DSDT"));
	with_pci = NULL;
	nr_with_pci = 0;
	free(p);
}

Test(acpi, mcfg_1_2_and_16_segments)
{
	check_mcfg(1);
	check_mcfg(2);
	check_mcfg(X86_PCI_MAX_SEGMENTS);
}

Test(acpi, mcfg_keeps_bus_range_and_ecam_of_bus_0)
{
	struct acpi_pci_seg *p = make_pci(1);
	const uint8_t *m;

	p[0].segment = 7;
	p[0].bus_start = 0x10;
	p[0].bus_end = 0x1f;
	p[0].ecam_base = 0x100000000ULL;
	with_pci = p;
	nr_with_pci = 1;
	m = find(build(1, NULL, 0), "MCFG");
	cr_assert(rd(m + 44, 8) == 0x100000000ULL && rd(m + 52, 2) == 7 &&
		  m[54] == 0x10 && m[55] == 0x1f);
	with_pci = NULL;
	nr_with_pci = 0;
	free(p);
}

/* nr_pci 0 means no PCI whatever pci points to: the tables are byte for
 * byte those of a config without the fields. */
Test(acpi, no_pci_tables_unchanged)
{
	static uint8_t want[X86_ACPI_END - X86_ACPI_GPA];
	struct acpi_mmio_dev *d = make_devs(3);
	struct acpi_pci_seg *p = make_pci(2);

	with_com1 = with_ged = true;
	build(2, d, 3);
	memcpy(want, gm_ptr(&gm, X86_ACPI_GPA, sizeof(want)), sizeof(want));
	with_pci = p;
	build(2, d, 3);
	cr_assert(!memcmp(want, gm_ptr(&gm, X86_ACPI_GPA, sizeof(want)),
			  sizeof(want)));
	with_com1 = with_ged = false;
	with_pci = NULL;
	free(p);
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

/* Builds with P[0..N) and the virtio devices D[0..ND); the result. */
static int try_pci(const struct acpi_pci_seg *p, unsigned int n,
		   const struct acpi_mmio_dev *d, unsigned int nd)
{
	int ret;

	with_pci = p;
	nr_with_pci = n;
	ret = try_build(&gm, 1, d, nd);
	with_pci = NULL;
	nr_with_pci = 0;
	return ret;
}

Test(acpi, bad_pci_configs)
{
	struct acpi_pci_seg *p = make_pci(X86_PCI_MAX_SEGMENTS + 1), *q;
	struct acpi_mmio_dev *d = make_devs(2);	/* lines 5 and 6 */
	const struct {
		const char *what;
		size_t off, size;	/* field of segment 1 */
		uint64_t val;
	} bad[] = {
#define F(f) offsetof(struct acpi_pci_seg, f), sizeof(((struct acpi_pci_seg *)0)->f)
		{ "bus_end below bus_start", F(bus_start), 1 },
		{ "ECAM wraps", F(ecam_base), UINT64_MAX - 0x7ffff },
		{ "32-bit window above 4 GiB", F(mem32_base), 0xfff00000 },
		{ "32-bit window of 4 GiB", F(mem32_size), 1ULL << 32 },
		{ "64-bit window wraps", F(mem64_base), UINT64_MAX - 0xfff },
		{ "two decode 0xcf8", F(cf8), 1 },
		{ "same segment twice", F(segment), 0 },
		{ "INTx on the GED's line", F(slot_gsi[4]), X86_GED_IRQ },
		{ "INTx beyond the IOAPIC", F(slot_gsi[31]), X86_IRQ_MAX + 1 },
		{ "INTx on a virtio-mmio line", F(slot_gsi[0]), 6 },
#undef F
	};
	uint64_t v;
	unsigned int i;

	cr_assert_eq(try_pci(p, 2, d, 2), 0, "the good config");
	cr_assert_eq(try_pci(p, X86_PCI_MAX_SEGMENTS, d, 2), 0);
	cr_assert_eq(try_pci(NULL, 1, d, 2), -EINVAL, "NULL pci");
	for (i = 0; i <= X86_PCI_MAX_SEGMENTS; i++)
		p[i].segment = (uint16_t)i;
	cr_assert_eq(try_pci(p, X86_PCI_MAX_SEGMENTS + 1, d, 2), -EINVAL,
		     "more than 16 segments");
	q = make_pci(2);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memcpy(p, q, 2 * sizeof(*q));
		v = bad[i].val;
		memcpy((uint8_t *)&p[1] + bad[i].off, &v, bad[i].size);
		cr_assert_eq(try_pci(p, 2, d, 2), -EINVAL, "%s", bad[i].what);
	}
	/* The UART's line only while there is a UART. */
	memcpy(p, q, 2 * sizeof(*q));
	p[1].slot_gsi[9] = X86_SERIAL_IRQ;
	cr_assert_eq(try_pci(p, 2, d, 2), 0);
	memset(gm_ptr(&gm, X86_ACPI_GPA, 36), 0, 36);
	with_com1 = true;
	cr_assert_eq(try_pci(p, 2, d, 2), -EINVAL, "INTx on the UART's line");
	with_com1 = false;
	cr_assert(*(uint8_t *)gm_ptr(&gm, X86_ACPI_GPA, 1) == 0 && !rsdp_gpa,
		  "a failed build wrote to the guest");
	/* Windows that end right at their limits, and none at all. */
	memcpy(p, q, 2 * sizeof(*q));
	p[1].mem32_base = 0xff000000;
	p[1].mem32_size = 0x1000000;
	p[1].mem64_base = UINT64_MAX - 0xffffffffULL;
	p[1].bus_end = 0xff;
	p[0].mem32_size = p[0].mem64_size = 0;
	cr_assert_eq(try_pci(p, 2, d, 2), 0);
	free(q);
	free(d);
	free(p);
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
