/*
 * Shared by test_acpi.c and test_acpi_dsdt.c: 16 MiB of guest RAM set up and
 * torn down around each test, acpi_build() with the options the tests set,
 * PCI segments laid out as arch.c lays them out, and the walk RSDP -> XSDT
 * -> FADT/MADT/MCFG/DSDT that checks every table's header and checksum on
 * its way.
 */
#ifndef KVMM_TEST_ACPI_HELPERS_H
#define KVMM_TEST_ACPI_HELPERS_H

#include <criterion/criterion.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "acpi.h"
#include "guest_mem.h"
#include "layout.h"

static struct guest_mem gm;	/* 16 MiB of RAM at 0 */
static uint64_t rsdp_gpa;	/* from the last acpi_build() */

static inline void setup(void)
{
	cr_assert_eq(gm_create(&gm, &(struct gm_region){ .size = 16 << 20 }, 1),
		     0);
}

static inline void teardown(void)
{
	gm_destroy(&gm);
}

/* Little-endian field of N bytes. */
static inline uint64_t rd(const uint8_t *p, unsigned int n)
{
	uint64_t v = 0;

	while (n--)
		v = v << 8 | p[n];
	return v;
}

static inline uint8_t sum8(const uint8_t *p, size_t n)
{
	uint8_t s = 0;

	while (n--)
		s += *p++;
	return s;
}

static inline struct acpi_mmio_dev *make_devs(unsigned int n)
{
	struct acpi_mmio_dev *d = calloc(n ? n : 1, sizeof(*d));
	unsigned int i;

	for (i = 0; i < n; i++)
		d[i] = (struct acpi_mmio_dev){ X86_VIRTIO_MMIO_GPA + 0x1000 * i,
			0x1000,
			X86_VIRTIO_IRQ_BASE + i % (X86_VIRTIO_IRQ_MAX - X86_VIRTIO_IRQ_BASE + 1) };
	return d;
}

/*
 * N PCI segments in layout.h's windows: segment I has ECAM I, a 16 MiB
 * 32-bit window and a 4 GiB 64-bit one above 4 GiB; segment 0 decodes 0xcf8.
 * Slot S of segment I has its INTA on GSI 16 + 4 * I + S for S in 1..3
 * (clear of make_devs()' lines for up to 11 devices).
 */
static inline struct acpi_pci_seg *make_pci(unsigned int n)
{
	struct acpi_pci_seg *p = calloc(n ? n : 1, sizeof(*p));
	unsigned int i, s;

	for (i = 0; i < n; i++) {
		p[i] = (struct acpi_pci_seg){
			.segment = (uint16_t)i,
			.ecam_base = X86_PCI_ECAM_GPA + ((uint64_t)i << 20),
			.mem32_base = X86_PCI_MEM32_GPA + i * X86_PCI_MEM32_SEG_SIZE,
			.mem32_size = X86_PCI_MEM32_SEG_SIZE,
			.mem64_base = X86_HIGH_RAM_GPA + i * X86_PCI_MEM64_SEG_SIZE,
			.mem64_size = X86_PCI_MEM64_SEG_SIZE,
			.cf8 = i == 0,
		};
		for (s = 1; s <= 3 && 16 + 4 * i + s <= 22; s++)
			p[i].slot_gsi[s] = 16 + 4 * i + s;
	}
	return p;
}

static bool with_com1, with_ged, with_pcihp, with_memhp;
static unsigned int with_max_cpus;		/* CPU hot-plug up to this many */
static const struct acpi_pci_seg *with_pci;	/* segments for the next builds */
static unsigned int nr_with_pci;

static inline int try_build(struct guest_mem *m, unsigned int cpus,
			    const struct acpi_mmio_dev *d, unsigned int nr)
{
	struct acpi_config cfg = { .nr_cpus = cpus, .devs = d, .nr_devs = nr,
				   .com1 = with_com1, .ged = with_ged,
				   .pci_hotplug = with_pcihp, .mem_hotplug = with_memhp,
				   .max_cpus = with_max_cpus,
				   .pci = with_pci, .nr_pci = nr_with_pci };

	rsdp_gpa = 0;
	return acpi_build(m, &cfg, &rsdp_gpa);
}

static inline const uint8_t *build(unsigned int cpus,
				   const struct acpi_mmio_dev *d,
				   unsigned int nr)
{
	cr_assert_eq(try_build(&gm, cpus, d, nr), 0);
	cr_assert_eq(rsdp_gpa, X86_ACPI_GPA);
	return gm_ptr(&gm, rsdp_gpa, 36);
}

/* The table at GPA, checked for what every table must satisfy. */
static inline const uint8_t *table_at(uint64_t gpa, const char *sig)
{
	const uint8_t *t = gm_ptr(&gm, gpa, 36);
	uint32_t len;

	cr_assert(t && gpa >= X86_ACPI_GPA && gpa % 4 == 0);
	len = rd(t + 4, 4);
	cr_assert(len >= 36 && gpa + len <= X86_ACPI_END, "%.4s length", t);
	cr_assert_eq(memcmp(t, sig, 4), 0, "want %s, got %.4s", sig, t);
	cr_assert_eq(sum8(t, len), 0, "%s checksum", sig);
	cr_assert(!memcmp(t + 10, "KVMM  KVMMVM  ", 14) &&
		  !memcmp(t + 28, "KVMM", 4), "OEM and creator ids");
	return t;
}

/* Follows RSDP -> XSDT -> the table named SIG and FACP -> DSDT; NULL if
 * the XSDT does not list SIG. */
static inline const uint8_t *lookup(const uint8_t *rsdp, const char *sig)
{
	const uint8_t *xsdt = table_at(rd(rsdp + 24, 8), "XSDT"), *t;
	const uint8_t *fadt = table_at(rd(xsdt + 36, 8), "FACP");
	uint32_t off, len = rd(xsdt + 4, 4);

	cr_assert_eq((len - 36) % 8, 0, "XSDT entries");
	if (!strcmp(sig, "XSDT"))
		return xsdt;
	if (!strcmp(sig, "DSDT"))
		return table_at(rd(fadt + 140, 8), "DSDT");
	for (off = 36; off < len; off += 8) {
		t = gm_ptr(&gm, rd(xsdt + off, 8), 4);
		cr_assert_not_null(t, "XSDT entry at %u", off);
		if (!memcmp(t, sig, 4))
			return table_at(rd(xsdt + off, 8), sig);
	}
	return NULL;
}

/* lookup() that fails the test if the table is missing. */
static inline const uint8_t *find(const uint8_t *rsdp, const char *sig)
{
	const uint8_t *t = lookup(rsdp, sig);

	cr_assert_not_null(t, "no %s", sig);
	return t;
}

#endif
