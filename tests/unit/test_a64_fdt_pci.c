/*
 * Unit tests for the aarch64 device tree's GICv3 ITS and PCI host bridges,
 * read back with libfdt: the its@ child of the GIC, one and two (and sixteen)
 * pcie@ segments with their windows, msi-map and interrupt-map resolved the
 * way Linux resolves them (through the phandles and the parents' cell
 * counts), GICv2 without ITS, trees without PCI, and configs to refuse.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <libfdt.h>
#include <stdio.h>
#include <string.h>

#include "a64_fdt.h"
#include "a64_fdt_helpers.h"
#include "layout.h"
#include "log.h"

#define GIB (1ULL << 30)

/* Segment SEG's windows as arch_pci_windows() places them for 512 MiB of
 * RAM; INTA on SPI 40 + slot for each slot in SLOTS (a bit mask). */
static struct a64_fdt_pci seg_for(uint16_t seg, uint32_t slots)
{
	struct a64_fdt_pci p = {
		.segment = seg,
		.ecam_base = A64_PCI_ECAM_GPA + seg * MiB, .ecam_size = MiB,
		.mem32_base = A64_PCI_MEM32_GPA + seg * A64_PCI_MEM32_SEG_SIZE,
		.mem32_size = A64_PCI_MEM32_SEG_SIZE,
		.mem64_base = 2 * GIB + seg * A64_PCI_MEM64_SEG_SIZE,
		.mem64_size = A64_PCI_MEM64_SEG_SIZE,
	};
	unsigned int i;

	for (i = 0; i < A64_FDT_PCI_SLOTS; i++)
		if (slots & (1U << i))
			p.slot_spi[i] = 40 + i;
	return p;
}

static struct a64_fdt_config cfg_pci(unsigned int gic, const struct a64_fdt_pci *p,
				     unsigned int n)
{
	struct a64_fdt_config c = cfg_for(2, gic);

	c.its = gic == 3;
	c.its_base = A64_GIC_ITS_GPA;
	c.its_size = A64_GIC_ITS_SIZE;
	c.pci = p;
	c.nr_pci = n;
	return c;
}

static int pcie_node(uint64_t ecam)
{
	char path[40];

	snprintf(path, sizeof(path), "/pcie@%llx", (unsigned long long)ecam);
	return node(path);
}

static unsigned int count_pcie_nodes(void)
{
	unsigned int n = 0;
	int off;

	fdt_for_each_subnode(off, fdt, node("/"))
		if (!strncmp(fdt_get_name(fdt, off, NULL), "pcie@", 5))
			n++;
	return n;
}

static void check_range(const fdt32_t *r, uint32_t space, uint64_t base, uint64_t size)
{
	cr_expect_eq(fdt32_to_cpu(r[0]), space, "space 0x%x", fdt32_to_cpu(r[0]));
	cr_expect_eq(cell64(r + 1), base, "PCI address");
	cr_expect_eq(cell64(r + 3), base, "CPU address");
	cr_expect_eq(cell64(r + 5), size);
}

/* The bridge's own properties, its windows and (with an ITS) its msi-map. */
static void check_bridge(const struct a64_fdt_pci *p, bool its)
{
	const fdt32_t *r, *m;
	int off = pcie_node(p->ecam_base), target;

	check_string(off, "compatible", "pci-host-ecam-generic");
	check_string(off, "device_type", "pci");
	cr_expect_eq(cell(off, "#address-cells"), 3);
	cr_expect_eq(cell(off, "#size-cells"), 2);
	cr_expect_eq(cell(off, "#interrupt-cells"), 1);
	r = cells(off, "bus-range", 2);
	cr_expect_eq(fdt32_to_cpu(r[0]), 0);
	cr_expect_eq(fdt32_to_cpu(r[1]), 0);
	cr_expect_eq(cell(off, "linux,pci-domain"), p->segment);
	check_reg(off, p->ecam_base, p->ecam_size);
	r = cells(off, "ranges", 14);
	check_range(r, 0x02000000, p->mem32_base, p->mem32_size);
	check_range(r + 7, 0x03000000, p->mem64_base, p->mem64_size);
	cr_expect(has_prop(off, "dma-coherent"));
	if (!its) {
		cr_expect_not(has_prop(off, "msi-map"));
		cr_expect_not(has_prop(off, "msi-parent"));
		return;
	}
	/* <rid-base msi-controller msi-base length> */
	m = cells(off, "msi-map", 4);
	cr_expect_eq(fdt32_to_cpu(m[0]), 0);
	target = fdt_node_offset_by_phandle(fdt, fdt32_to_cpu(m[1]));
	cr_assert_geq(target, 0, "msi-map's phandle does not resolve");
	cr_expect_eq(target, node("/intc@8000000/its@8080000"));
	cr_expect(has_prop(target, "msi-controller"));
	cr_expect_eq(cell(target, "#msi-cells"), 1, "one msi-specifier cell per map entry");
	cr_expect_eq(fdt32_to_cpu(m[2]), (uint32_t)p->segment << 8);
	cr_expect_eq(fdt32_to_cpu(m[3]), 0x100);
	cr_expect_eq(fdt32_to_cpu(m[2]), a64_its_devid(p->segment, 0));
}

/* The ITS device ID the bridge's msi-map gives requester ID RID (Linux's
 * of_msi_map_id()), or UINT32_MAX when RID is outside the map. */
static uint32_t msi_map_id(int bridge, uint32_t rid)
{
	const fdt32_t *m = cells(bridge, "msi-map", 4);
	uint32_t base = fdt32_to_cpu(m[0]), len = fdt32_to_cpu(m[3]);

	if (rid < base || rid - base >= len)
		return UINT32_MAX;
	return fdt32_to_cpu(m[2]) + rid - base;
}

/*
 * Resolves INTA of device SLOT through the bridge's interrupt-map as
 * of_irq_parse_raw() does: the child unit address and pin under the mask,
 * then per entry the parent's phandle, its #address-cells unit address and
 * its #interrupt-cells specifier, both counts read from the parent node.
 * Returns the SPI (and asserts on the specifier), or -1 when nothing maps.
 */
static int intx_spi(int bridge, unsigned int slot)
{
	const fdt32_t *mask = cells(bridge, "interrupt-map-mask", 4);
	uint32_t key[4] = { slot << 11, 0, 0, 1 };
	const fdt32_t *e, *end;
	int len, i;

	e = fdt_getprop(fdt, bridge, "interrupt-map", &len);
	if (!e)
		return -1;
	end = e + len / 4;
	while (e < end) {
		bool match = true;
		int parent, acells, icells;

		for (i = 0; i < 4; i++)
			if ((fdt32_to_cpu(e[i]) & fdt32_to_cpu(mask[i])) !=
			    (key[i] & fdt32_to_cpu(mask[i])))
				match = false;
		parent = fdt_node_offset_by_phandle(fdt, fdt32_to_cpu(e[4]));
		cr_assert_geq(parent, 0, "interrupt-map phandle 0x%x", fdt32_to_cpu(e[4]));
		cr_assert(has_prop(parent, "interrupt-controller"));
		acells = (int)cell(parent, "#address-cells");
		icells = (int)cell(parent, "#interrupt-cells");
		cr_assert_eq(icells, 3);
		cr_assert_leq(e + 5 + acells + icells, end, "truncated interrupt-map entry");
		for (i = 0; i < acells; i++)
			cr_expect_eq(fdt32_to_cpu(e[5 + i]), 0, "parent unit address");
		if (match) {
			check_irq(e + 5 + acells, 0, fdt32_to_cpu(e[5 + acells + 1]), 4);
			return (int)fdt32_to_cpu(e[5 + acells + 1]);
		}
		e += 5 + acells + icells;
	}
	return -1;
}

Test(a64_fdt_pci, its_node)
{
	struct a64_fdt_config c = cfg_pci(3, NULL, 0);
	int gic, its;

	build_ok(&c);
	gic = node("/intc@8000000");
	cr_expect_eq(cell(gic, "#address-cells"), 2);
	cr_expect_eq(cell(gic, "#size-cells"), 2);
	cells(gic, "ranges", 0);
	its = node("/intc@8000000/its@8080000");
	check_string(its, "compatible", "arm,gic-v3-its");
	cr_expect(has_prop(its, "msi-controller"));
	cr_expect_eq(cell(its, "#msi-cells"), 1);
	check_reg(its, A64_GIC_ITS_GPA, A64_GIC_ITS_SIZE);
	cr_expect_eq(fdt_get_phandle(fdt, its), A64_FDT_PHANDLE_ITS);
	cr_expect_eq(fdt_node_offset_by_phandle(fdt, A64_FDT_PHANDLE_ITS), its);
	/* Still the root's interrupt parent, and distinct from the ITS. */
	cr_expect_eq(cell(node("/"), "interrupt-parent"), fdt_get_phandle(fdt, gic));
	cr_expect_neq(fdt_get_phandle(fdt, gic), A64_FDT_PHANDLE_ITS);
	cr_expect_eq(count_pcie_nodes(), 0);
}

Test(a64_fdt_pci, gicv3_without_its)
{
	struct a64_fdt_config c = cfg_pci(3, NULL, 0);

	c.its = false;
	build_ok(&c);
	cr_expect_eq(fdt_subnode_offset(fdt, node("/intc@8000000"), "its@8080000"),
		     -FDT_ERR_NOTFOUND);
	cr_expect_eq(fdt_node_offset_by_phandle(fdt, A64_FDT_PHANDLE_ITS),
		     -FDT_ERR_NOTFOUND);
}

Test(a64_fdt_pci, one_segment)
{
	struct a64_fdt_pci p = seg_for(0, 1U << 1 | 1U << 3 | 1U << 31);
	struct a64_fdt_config c = cfg_pci(3, &p, 1);
	const fdt32_t *mask;
	int b, len;

	build_ok(&c);
	cr_expect_eq(count_pcie_nodes(), 1);
	check_bridge(&p, true);
	b = pcie_node(A64_PCI_ECAM_GPA);
	mask = cells(b, "interrupt-map-mask", 4);
	cr_expect_eq(fdt32_to_cpu(mask[0]), 0xf800);
	cr_expect_eq(fdt32_to_cpu(mask[1]), 0);
	cr_expect_eq(fdt32_to_cpu(mask[2]), 0);
	cr_expect_eq(fdt32_to_cpu(mask[3]), 7);
	/* 3 entries of 3 + 1 + phandle + 2 (GIC #address-cells) + 3 cells. */
	cr_assert_not_null(fdt_getprop(fdt, b, "interrupt-map", &len));
	cr_expect_eq(len, 3 * 10 * 4);
	cr_expect_eq(intx_spi(b, 1), 41);
	cr_expect_eq(intx_spi(b, 3), 43);
	cr_expect_eq(intx_spi(b, 31), 71);
	cr_expect_eq(intx_spi(b, 0), -1, "the host bridge has no INTx");
	cr_expect_eq(intx_spi(b, 2), -1);
	/* 00:03.0's MSIs: requester ID 0x18, ITS device ID 0x18. */
	cr_expect_eq(msi_map_id(b, 0x18), 0x18);
	cr_expect_eq(msi_map_id(b, 0xff), 0xff);
	cr_expect_eq(msi_map_id(b, 0x100), UINT32_MAX, "bus 0 only");
}

Test(a64_fdt_pci, two_segments)
{
	struct a64_fdt_pci p[2] = { seg_for(0, 1U << 1), seg_for(1, 1U << 1 | 1U << 2) };
	struct a64_fdt_config c = cfg_pci(3, p, 2);
	int b0, b1;

	p[1].slot_spi[1] = 60;
	build_ok(&c);
	cr_expect_eq(count_pcie_nodes(), 2);
	check_bridge(&p[0], true);
	check_bridge(&p[1], true);
	b0 = pcie_node(A64_PCI_ECAM_GPA);
	b1 = pcie_node(A64_PCI_ECAM_GPA + MiB);
	cr_expect_eq(intx_spi(b0, 1), 41);
	cr_expect_eq(intx_spi(b0, 2), -1);
	cr_expect_eq(intx_spi(b1, 1), 60);
	cr_expect_eq(intx_spi(b1, 2), 42);
	/* The same requester ID in two segments: two ITS devices, each what
	 * arch_msi_route() gives KVM (a64_its_devid()). */
	cr_expect_eq(msi_map_id(b0, 0x08), 0x008);
	cr_expect_eq(msi_map_id(b1, 0x08), 0x108);
	cr_expect_eq(msi_map_id(b1, 0x08), a64_its_devid(1, 0x08));
	cr_expect_neq(msi_map_id(b0, 0x08), msi_map_id(b1, 0x08));
}

/* Every segment kvmm can have: the msi-map ranges are disjoint and within
 * the 16 device ID bits of KVM's ITS; the tree fits easily. */
Test(a64_fdt_pci, all_segments)
{
	static struct a64_fdt_pci p[A64_PCI_MAX_SEGMENTS];
	struct a64_fdt_config c = cfg_pci(3, p, A64_PCI_MAX_SEGMENTS);
	uint32_t lo, hi, prev_hi = 0;
	unsigned int i;
	int b;

	for (i = 0; i < A64_PCI_MAX_SEGMENTS; i++)
		p[i] = seg_for((uint16_t)i, 0xfffffffeU);
	build_ok(&c);
	cr_expect_eq(count_pcie_nodes(), A64_PCI_MAX_SEGMENTS);
	cr_expect_lt(fdt_totalsize(fdt), 64 * 1024);
	for (i = 0; i < A64_PCI_MAX_SEGMENTS; i++) {
		check_bridge(&p[i], true);
		b = pcie_node(p[i].ecam_base);
		cr_expect_eq(intx_spi(b, 31), 71);
		lo = msi_map_id(b, 0);
		hi = msi_map_id(b, 0xff);
		cr_expect_lt(hi, 1U << 16, "segment %u: device ID 0x%x", i, hi);
		cr_expect(i == 0 || lo > prev_hi, "segment %u overlaps", i);
		prev_hi = hi;
	}
}

Test(a64_fdt_pci, gicv2_no_its)
{
	struct a64_fdt_pci p = seg_for(0, 1U << 1);
	struct a64_fdt_config c = cfg_pci(2, &p, 1);
	int b;

	c.its = false;
	build_ok(&c);
	cr_expect_eq(fdt_subnode_offset(fdt, node("/intc@8000000"), "its@8080000"),
		     -FDT_ERR_NOTFOUND);
	check_bridge(&p, false);
	/* INTx works the same on GICv2: its node has #address-cells too. */
	b = pcie_node(A64_PCI_ECAM_GPA);
	cr_expect_eq(intx_spi(b, 1), 41);
}

Test(a64_fdt_pci, no_intx)
{
	struct a64_fdt_pci p = seg_for(0, 0);
	struct a64_fdt_config c = cfg_pci(3, &p, 1);
	int b;

	build_ok(&c);
	b = pcie_node(A64_PCI_ECAM_GPA);
	cr_expect_eq(cell(b, "#interrupt-cells"), 1);
	cr_expect_not(has_prop(b, "interrupt-map"));
	cr_expect(has_prop(b, "msi-map"));
}

/* Without PCI or ITS the tree is the one kvmm built before either existed:
 * what the other fields hold then does not matter. */
Test(a64_fdt_pci, no_pci_tree_unchanged)
{
	static uint64_t before[A64_DTB_MAX / sizeof(uint64_t)];
	struct a64_fdt_pci p = seg_for(0, 1U << 1);
	struct a64_fdt_config c = cfg_for(2, 3);

	build_ok(&c);
	memcpy(before, blob, fdt_totalsize(fdt));
	cr_expect_eq(count_pcie_nodes(), 0);
	cr_expect_eq(fdt_node_offset_by_phandle(fdt, A64_FDT_PHANDLE_ITS),
		     -FDT_ERR_NOTFOUND);
	c.its_base = A64_GIC_ITS_GPA;
	c.its_size = A64_GIC_ITS_SIZE;
	c.pci = &p;
	build_ok(&c);
	cr_expect_eq(memcmp(before, blob, fdt_totalsize(fdt)), 0);
}

Test(a64_fdt_pci, bad_configs)
{
	struct a64_fdt_pci p[2] = { seg_for(0, 1U << 1), seg_for(1, 1U << 1) };
	struct a64_fdt_config c;

	c = cfg_pci(2, NULL, 0);
	c.its = true;
	log_clear_error();
	cr_expect_eq(a64_fdt_build(&c, fdt, sizeof(blob)), -EINVAL);
	cr_expect(strstr(log_first_error(), "ITS") != NULL, "%s", log_first_error());
	c = cfg_pci(3, NULL, 1);
	cr_expect_eq(a64_fdt_build(&c, fdt, sizeof(blob)), -EINVAL);
	c = cfg_pci(3, p, 2);
	c.nr_pci = A64_PCI_MAX_SEGMENTS + 1;
	cr_expect_eq(a64_fdt_build(&c, fdt, sizeof(blob)), -EINVAL);
	c.nr_pci = 2;
	cr_expect_eq(a64_fdt_build(&c, fdt, sizeof(blob)), 0);
	p[1].segment = 0;
	log_clear_error();
	cr_expect_eq(a64_fdt_build(&c, fdt, sizeof(blob)), -EINVAL);
	cr_expect(strstr(log_first_error(), "twice") != NULL, "%s", log_first_error());
	p[1].segment = A64_PCI_MAX_SEGMENTS;
	cr_expect_eq(a64_fdt_build(&c, fdt, sizeof(blob)), -EINVAL);
	p[1] = seg_for(1, 0);
	p[1].ecam_size = 0;
	cr_expect_eq(a64_fdt_build(&c, fdt, sizeof(blob)), -EINVAL);
	p[1] = seg_for(1, 0);
	p[1].slot_spi[5] = A64_SPI_MAX + 1;
	log_clear_error();
	cr_expect_eq(a64_fdt_build(&c, fdt, sizeof(blob)), -EINVAL);
	cr_expect(strstr(log_first_error(), "0001:00:05") != NULL, "%s",
		  log_first_error());
	p[1].slot_spi[5] = A64_SPI_MAX;
	cr_expect_eq(a64_fdt_build(&c, fdt, sizeof(blob)), 0);
}

/* A window of size 0 gets no ranges entry. */
Test(a64_fdt_pci, no_mem64_window)
{
	struct a64_fdt_pci p = seg_for(0, 0);
	struct a64_fdt_config c = cfg_pci(3, &p, 1);
	const fdt32_t *r;

	p.mem64_size = 0;
	build_ok(&c);
	r = cells(pcie_node(A64_PCI_ECAM_GPA), "ranges", 7);
	check_range(r, 0x02000000, p.mem32_base, p.mem32_size);
}

Test(a64_fdt_pci, its_devid)
{
	cr_expect_eq(a64_its_devid(0, 0), 0);
	cr_expect_eq(a64_its_devid(0, 0xff), 0xff);
	cr_expect_eq(a64_its_devid(1, 0x18), 0x118);
	cr_expect_eq(a64_its_devid(A64_PCI_MAX_SEGMENTS - 1, 0xff), 0xfff);
}
