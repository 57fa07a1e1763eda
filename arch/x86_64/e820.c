/*
 * The guest's e820 memory map, shared by the bzImage zero page and the PVH
 * memory map table.  It is derived from the guest RAM regions alone, so the
 * two boot paths and the ACPI tables always agree on what is RAM, plus the
 * PCI ECAM window, always reserved: Linux only uses an MCFG region it finds
 * reserved, and checks the e820 map for that before ACPI is up.
 */
#include <errno.h>
#include <stdbool.h>

#include "boot.h"
#include "layout.h"

#define E820_RAM	1
#define E820_RESERVED	2

struct e820_ctx {
	struct x86_e820 *out;
	unsigned int max;
	unsigned int nr;
};

/* Appends [start, end) if it is not empty; 0 or -ENOSPC. */
static int e820_add(struct e820_ctx *c, uint64_t start, uint64_t end,
		    uint32_t type)
{
	if (end <= start)
		return 0;
	if (c->nr >= c->max)
		return -ENOSPC;
	c->out[c->nr].addr = start;
	c->out[c->nr].size = end - start;
	c->out[c->nr].type = type;
	c->nr++;
	return 0;
}

static uint64_t max_u64(uint64_t a, uint64_t b)
{
	return a > b ? a : b;
}

static uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

/*
 * Splits one RAM region around the legacy hole [X86_EBDA_GPA, X86_HIMEM_GPA):
 * the part below it is RAM, the part inside it reserved (the EBDA, VGA and
 * ROM area and the ACPI tables live there, and Linux must not allocate from
 * it), the part above it RAM.  Regions that do not touch the hole (the one
 * above 4 GiB) come out as a single RAM entry.  Clamping every piece to the
 * region means no piece can have a negative size, however small RAM is.
 */
static int e820_add_region(struct e820_ctx *c, uint64_t start, uint64_t end)
{
	int ret;

	ret = e820_add(c, start, min_u64(end, X86_EBDA_GPA), E820_RAM);
	if (ret)
		return ret;
	ret = e820_add(c, max_u64(start, X86_EBDA_GPA),
		       min_u64(end, X86_HIMEM_GPA), E820_RESERVED);
	if (ret)
		return ret;
	return e820_add(c, max_u64(start, X86_HIMEM_GPA), end, E820_RAM);
}

/*
 * Adds one RAM region, minus whatever of it lies in the ECAM window (which
 * is never RAM: the reserved entry covers it), and the ECAM window itself
 * when the region is the first to reach past it, so the entries come out
 * sorted.  *ECAM_DONE says whether the window is in already.
 */
static int e820_add_ram(struct e820_ctx *c, uint64_t start, uint64_t end,
			bool *ecam_done)
{
	const uint64_t ecam = X86_PCI_ECAM_GPA;
	const uint64_t ecam_end = X86_PCI_ECAM_GPA + X86_PCI_ECAM_SIZE;
	int ret;

	ret = e820_add_region(c, start, min_u64(end, ecam));
	if (ret)
		return ret;
	if (end > ecam && !*ecam_done) {
		ret = e820_add(c, ecam, ecam_end, E820_RESERVED);
		if (ret)
			return ret;
		*ecam_done = true;
	}
	return e820_add_region(c, max_u64(start, ecam_end), end);
}

int x86_e820_build(const struct guest_mem *gm, struct x86_e820 *out,
		   unsigned int max)
{
	struct e820_ctx c = { .out = out, .max = max, .nr = 0 };
	bool ecam_done = false;
	unsigned int i;
	int ret;

	/* gm_create() keeps the regions sorted and disjoint. */
	for (i = 0; i < gm->nr_regions; i++) {
		const struct gm_region *r = &gm->regions[i];

		/* gm_create() refused regions that wrap, so gpa + size is
		 * exact. */
		ret = e820_add_ram(&c, r->gpa, r->gpa + r->size, &ecam_done);
		if (ret)
			return ret;
	}
	if (!ecam_done) {
		ret = e820_add(&c, X86_PCI_ECAM_GPA,
			       X86_PCI_ECAM_GPA + X86_PCI_ECAM_SIZE,
			       E820_RESERVED);
		if (ret)
			return ret;
	}
	return (int)c.nr;
}
