/*
 * Unit tests for where x86_64 puts guest-physical space above RAM
 * (arch/x86_64/arch.c): the memory hot-plug region (after RAM, on a 128 MiB
 * block, its size rounded down to the block or to a larger huge page; none
 * without ACPI) and the 64-bit PCI windows, which lie above it, 1 GiB
 * aligned, or just above RAM when there is no region; and guest RAM made
 * the way vm_memory.c makes it from these, the region right after high RAM.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdint.h>

#include "arch.h"
#include "config.h"
#include "guest_mem.h"
#include "layout.h"
#include "pci.h"

#define MiB (1ULL << 20)
#define GiB (1ULL << 30)

static struct vmm_config cfg;

static void setup(void)
{
	config_init(&cfg);
}

static void teardown(void)
{
	config_free(&cfg);
}

TestSuite(x86_layout, .init = setup, .fini = teardown);

struct region {
	int ret;
	uint64_t gpa, size, block;
	const char *why;
};

static struct region hotplug_region(void)
{
	struct region r = { .gpa = 1, .size = 1, .block = 1, .why = NULL };

	r.ret = arch_ram_hotplug_region(&cfg, &r.gpa, &r.size, &r.block, &r.why);
	return r;
}

/* Segment SEG's 64-bit window base; the test fails if the segment has none. */
static uint64_t mem64(unsigned int seg)
{
	struct pci_windows w;

	cr_assert_eq(arch_pci_windows(&cfg, seg, &w), 0, "segment %u", seg);
	cr_assert_eq(w.mem64_size, X86_PCI_MEM64_SEG_SIZE);
	return w.mem64_base;
}

Test(x86_layout, no_hotplug_windows_above_ram)
{
	struct region r;

	cfg.mem_size = 512 * MiB;
	r = hotplug_region();
	cr_assert_eq(r.ret, 0);
	cr_assert_eq(r.size, 0, "none asked for");
	cr_assert_eq(r.gpa, 4 * GiB);
	cr_assert_eq(r.block, X86_MEMHP_BLOCK);
	cr_assert_eq(mem64(0), 4 * GiB);
	cr_assert_eq(mem64(1), 8 * GiB);
	/* RAM to 4.5 GiB: windows from the next GiB. */
	cfg.mem_size = 3 * GiB + 512 * MiB;
	cr_assert_eq(mem64(0), 5 * GiB);
}

Test(x86_layout, small_ram_region_at_4g)
{
	struct region r;
	struct pci_windows w;

	cfg.mem_size = 512 * MiB;
	cfg.mem_hotplug_size = GiB;
	r = hotplug_region();
	cr_assert_eq(r.ret, 0);
	cr_assert_eq(r.gpa, 4 * GiB);
	cr_assert_eq(r.size, GiB);
	cr_assert_eq(r.block, 128 * MiB);
	cr_assert_eq(mem64(0), 5 * GiB);
	cr_assert_eq(mem64(1), 9 * GiB, "each segment's 4 GiB after the last");
	cr_assert_eq(arch_pci_windows(&cfg, X86_PCI_MAX_SEGMENTS, &w), -ENOSPC);
}

Test(x86_layout, high_ram_region_rounded_down)
{
	struct region r;
	uint64_t end;

	/* 3 GiB below the hole, 512 MiB from 4 GiB: RAM ends at 4.5 GiB. */
	cfg.mem_size = 3 * GiB + 512 * MiB;
	cfg.mem_hotplug_size = 1000 * MiB;
	r = hotplug_region();
	cr_assert_eq(r.ret, 0);
	cr_assert_eq(r.gpa, 4 * GiB + 512 * MiB);
	cr_assert_eq(r.size, 896 * MiB, "7 whole 128 MiB blocks");
	cr_assert_eq(r.block, 128 * MiB);
	end = r.gpa + r.size;
	cr_assert_eq(mem64(0), (end + GiB - 1) & ~(GiB - 1));
	cr_assert_eq(mem64(0), 6 * GiB);

	/* RAM ending inside a block: the region starts on the next one. */
	cfg.mem_size = 3 * GiB + 100 * MiB;
	cfg.mem_hotplug_size = 128 * MiB;
	r = hotplug_region();
	cr_assert_eq(r.gpa, 4 * GiB + 128 * MiB);
	cr_assert_eq(r.size, 128 * MiB);
	cr_assert_eq(mem64(0), 5 * GiB);

	/* Less than a block: no region at all, the windows stay above RAM. */
	cfg.mem_hotplug_size = 127 * MiB;
	r = hotplug_region();
	cr_assert_eq(r.ret, 0);
	cr_assert_eq(r.size, 0);
	cr_assert_eq(mem64(0), 5 * GiB);
}

Test(x86_layout, huge_pages_set_the_unit)
{
	struct region r;

	cfg.mem_size = 3 * GiB + 512 * MiB;
	cfg.mem_hotplug_size = 2 * GiB + 512 * MiB;
	cfg.mem_hugepages = true;
	cfg.mem_hugepage_size = GiB;
	r = hotplug_region();
	cr_assert_eq(r.ret, 0);
	cr_assert_eq(r.block, GiB, "1 GiB pages: 1 GiB units");
	cr_assert_eq(r.gpa, 5 * GiB, "on a 1 GiB page");
	cr_assert_eq(r.size, 2 * GiB);
	cr_assert_eq(mem64(0), 7 * GiB);

	/* 2 MiB pages are smaller than the block: 128 MiB still. */
	cfg.mem_hugepage_size = 2 * MiB;
	r = hotplug_region();
	cr_assert(r.block == 128 * MiB && r.gpa == 4 * GiB + 512 * MiB &&
		  r.size == 2 * GiB + 512 * MiB);
	/* The page size without hugepages=on changes nothing. */
	cfg.mem_hugepages = false;
	cfg.mem_hugepage_size = GiB;
	r = hotplug_region();
	cr_assert(r.block == 128 * MiB && r.gpa == 4 * GiB + 512 * MiB);
}

Test(x86_layout, no_acpi_no_region)
{
	struct region r;

	cfg.mem_size = 512 * MiB;
	cfg.mem_hotplug_size = GiB;
	cfg.acpi = false;
	r = hotplug_region();
	cr_assert_eq(r.ret, -ENOTSUP);
	cr_assert_eq(r.size, 0);
	cr_assert(r.why && *r.why, "a reason");
	cr_assert_eq(mem64(0), 4 * GiB, "the windows just above RAM");
	/* Without ACPI and without hot-plug asked for: nothing to refuse. */
	cfg.mem_hotplug_size = 0;
	r = hotplug_region();
	cr_assert_eq(r.ret, 0);
	cr_assert_eq(r.size, 0);
}

/* RAM to 4.5 GiB and the region right after it, as vm_ram_init() creates them: guest_mem
 * takes the region, and plugged RAM is reachable from its very first byte. */
Test(x86_layout, guest_ram_with_the_region)
{
	struct gm_region layout[ARCH_MAX_RAM_REGIONS], added;
	struct guest_mem gm;
	struct region r;
	int n;

	cfg.mem_size = 3 * GiB + 512 * MiB;
	cfg.mem_hotplug_size = GiB;
	r = hotplug_region();
	cr_assert_eq(r.ret, 0);
	n = arch_ram_layout(cfg.mem_size, layout, ARCH_MAX_RAM_REGIONS);
	cr_assert_eq(n, 2);
	cr_assert_eq(layout[1].gpa + layout[1].size, r.gpa, "the region touches high RAM");
	cr_assert_eq(gm_create_ex(&gm, layout, (unsigned int)n, 0, r.gpa, r.size), 0);
	cr_assert_null(gm_ptr(&gm, r.gpa, 1));
	cr_assert_eq(gm_hotplug_add(&gm, r.block, &added), 0);
	cr_assert_eq(added.gpa, r.gpa);
	cr_assert_eq(gm_ptr(&gm, r.gpa, 8), added.host, "the region's first byte");
	cr_assert_null(gm_ptr(&gm, r.gpa - 4, 8), "no range across RAM end and region");
	cr_assert_eq(gm_ram_size(&gm), cfg.mem_size + r.block);
	gm_destroy(&gm);
}
