/*
 * Unit tests for the aarch64 device-tree builder's core nodes, read back with
 * libfdt: root and GIC phandle, CPUs for 1, 2, 8 and many vCPUs, GICv2 and
 * GICv3, the timer, PSCI and memory; and configs and buffers that must be
 * refused.  The chosen node and the devices are in test_a64_fdt_devices.c.
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

Test(a64_fdt, mpidr)
{
	cr_expect_eq(a64_fdt_mpidr(0), 0);
	cr_expect_eq(a64_fdt_mpidr(15), 0xf);
	cr_expect_eq(a64_fdt_mpidr(16), 0x100);
	cr_expect_eq(a64_fdt_mpidr(33), 0x201);
}

Test(a64_fdt, root_and_gic_phandle)
{
	struct a64_fdt_config c = cfg_for(2, 3);
	int root, gic;
	uint32_t parent;

	build_ok(&c);
	root = node("/");
	check_string(root, "compatible", "linux,dummy-virt");
	cr_expect_eq(cell(root, "#address-cells"), 2);
	cr_expect_eq(cell(root, "#size-cells"), 2);
	cr_expect(has_prop(root, "model"));
	gic = node("/intc@8000000");
	parent = cell(root, "interrupt-parent");
	cr_expect_neq(parent, 0);
	cr_expect_eq(parent, fdt_get_phandle(fdt, gic));
	cr_expect_eq(fdt_node_offset_by_phandle(fdt, parent), gic);
}

static void check_cpus(unsigned int n, unsigned int gic)
{
	struct a64_fdt_config c = cfg_for(n, gic);
	char path[32];
	unsigned int i, count = 0;
	int cpus, off;

	build_ok(&c);
	cpus = node("/cpus");
	cr_assert_eq(cell(cpus, "#address-cells"), 1);
	cr_assert_eq(cell(cpus, "#size-cells"), 0);
	fdt_for_each_subnode(off, fdt, cpus)
		count++;
	cr_expect_eq(count, n, "%u cpu nodes, want %u", count, n);
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "/cpus/cpu@%x", a64_fdt_mpidr(i));
		off = node(path);
		cr_expect_eq(cell(off, "reg"), a64_fdt_mpidr(i), "%s", path);
		check_string(off, "device_type", "cpu");
		check_string(off, "compatible", "arm,arm-v8");
		check_string(off, "enable-method", "psci");
	}
}

Test(a64_fdt, one_cpu)		{ check_cpus(1, 3); }
Test(a64_fdt, two_cpus)		{ check_cpus(2, 3); }
Test(a64_fdt, eight_cpus)	{ check_cpus(8, 3); }
Test(a64_fdt, eight_cpus_gicv2)	{ check_cpus(8, 2); }

Test(a64_fdt, max_cpus_second_cluster)
{
	check_cpus(A64_MAX_VCPUS, 3);
	/* vCPU 16 is the first with Aff1 = 1. */
	cr_expect_eq(cell(node("/cpus/cpu@100"), "reg"), 0x100);
}

Test(a64_fdt, gic_v3)
{
	struct a64_fdt_config c = cfg_for(4, 3);
	const fdt32_t *r;
	int gic;

	build_ok(&c);
	gic = node("/intc@8000000");
	check_string(gic, "compatible", "arm,gic-v3");
	r = cells(gic, "reg", 8);
	cr_expect_eq(cell64(r), A64_GIC_DIST_GPA);
	cr_expect_eq(cell64(r + 2), A64_GIC_DIST_SIZE);
	cr_expect_eq(cell64(r + 4), A64_GIC_REDIST_GPA);
	cr_expect_eq(cell64(r + 6), 4 * A64_GIC_REDIST_SIZE);
	cr_expect_eq(cell(gic, "#interrupt-cells"), 3);
	cr_expect(has_prop(gic, "interrupt-controller"));
	cr_expect_eq(cell(gic, "#redistributor-regions"), 1);
}

Test(a64_fdt, gic_v2)
{
	struct a64_fdt_config c = cfg_for(2, 2);
	const fdt32_t *r;
	int gic;

	c.gic_cpu_size = 0x2000;	/* KVM's; distinct from the distributor's */
	build_ok(&c);
	gic = node("/intc@8000000");
	check_string(gic, "compatible", "arm,cortex-a15-gic");
	r = cells(gic, "reg", 8);
	cr_expect_eq(cell64(r), A64_GIC_DIST_GPA);
	cr_expect_eq(cell64(r + 2), A64_GIC_DIST_SIZE);
	cr_expect_eq(cell64(r + 4), A64_GIC_CPU_GPA);
	cr_expect_eq(cell64(r + 6), 0x2000);
	cr_expect_eq(cell(gic, "#interrupt-cells"), 3);
	cr_expect(has_prop(gic, "interrupt-controller"));
	cr_expect_not(has_prop(gic, "#redistributor-regions"));
}

static void check_timer(unsigned int n, unsigned int gic, uint32_t flags)
{
	static const uint32_t ppi[4] = { 13, 14, 11, 10 };
	struct a64_fdt_config c = cfg_for(n, gic);
	const fdt32_t *irq;
	int t, i;

	build_ok(&c);
	t = node("/timer");
	check_string(t, "compatible", "arm,armv8-timer");
	cr_expect(has_prop(t, "always-on"));
	irq = cells(t, "interrupts", 12);
	for (i = 0; i < 4; i++)
		check_irq(irq + 3 * i, 1, ppi[i], flags);
}

Test(a64_fdt, timer_v3)		{ check_timer(8, 3, 4); }
Test(a64_fdt, timer_v2_one)	{ check_timer(1, 2, 0x104); }
Test(a64_fdt, timer_v2_two)	{ check_timer(2, 2, 0x304); }
Test(a64_fdt, timer_v2_eight)	{ check_timer(8, 2, 0xff04); }

Test(a64_fdt, psci_memory)
{
	struct a64_fdt_config c = cfg_for(1, 3);
	int p, m;

	build_ok(&c);
	p = node("/psci");
	cr_expect_str_eq(fdt_stringlist_get(fdt, p, "compatible", 0, NULL),
			 "arm,psci-0.2");
	cr_expect_eq(fdt_node_check_compatible(fdt, p, "arm,psci"), 0);
	check_string(p, "method", "hvc");
	cr_expect_eq(cell(p, "cpu_on"), 0xc4000003);
	m = node("/memory@40000000");
	check_string(m, "device_type", "memory");
	check_reg(m, A64_RAM_GPA, 512 * MiB);
}

Test(a64_fdt, buffer_too_small)
{
	struct a64_fdt_config c = cfg_for(8, 3);
	static uint64_t small[A64_DTB_MAX / sizeof(uint64_t)];
	size_t need;

	build_ok(&c);
	need = fdt_totalsize(fdt);
	cr_expect_eq(a64_fdt_build(&c, small, need), 0);
	cr_expect_eq(memcmp(small, blob, need), 0, "same config, same blob");
	log_clear_error();
	cr_expect_eq(a64_fdt_build(&c, small, need - 8), -ENOSPC);
	cr_expect(strstr(log_first_error(), "fdt_") != NULL, "%s",
		  log_first_error());
	cr_expect(strstr(log_first_error(), "FDT_ERR_NOSPACE") != NULL, "%s",
		  log_first_error());
	cr_expect_eq(a64_fdt_build(&c, small, 512), -ENOSPC);
	cr_expect_eq(a64_fdt_build(&c, small, 16), -ENOSPC);
	cr_expect_eq(a64_fdt_build(&c, small, 0), -ENOSPC);
}

Test(a64_fdt, bad_configs)
{
	struct a64_fdt_config c;
	struct a64_fdt_dev bad = devs[0];

	c = cfg_for(0, 3);
	cr_expect_eq(a64_fdt_build(&c, fdt, sizeof(blob)), -EINVAL);
	c = cfg_for(A64_MAX_VCPUS + 1, 3);
	cr_expect_eq(a64_fdt_build(&c, fdt, sizeof(blob)), -EINVAL);
	c = cfg_for(9, 2);
	cr_expect_eq(a64_fdt_build(&c, fdt, sizeof(blob)), -EINVAL);
	c = cfg_for(2, 4);
	cr_expect_eq(a64_fdt_build(&c, fdt, sizeof(blob)), -EINVAL);
	c = cfg_for(4, 3);
	c.gic_redist_size = 3 * A64_GIC_REDIST_SIZE;
	cr_expect_eq(a64_fdt_build(&c, fdt, sizeof(blob)), -EINVAL);
	c = cfg_for(1, 3);
	c.uart_spi = A64_SPI_MAX + 1;
	cr_expect_eq(a64_fdt_build(&c, fdt, sizeof(blob)), -EINVAL);
	c.uart = false;		/* the SPI of an absent UART does not matter */
	cr_expect_eq(a64_fdt_build(&c, fdt, sizeof(blob)), 0);
	bad.spi = A64_SPI_MAX + 1;
	c.devs = &bad;
	c.nr_devs = 1;
	cr_expect_eq(a64_fdt_build(&c, fdt, sizeof(blob)), -EINVAL);
	bad = devs[0];
	bad.compatible = NULL;
	cr_expect_eq(a64_fdt_build(&c, fdt, sizeof(blob)), -EINVAL);
	c.devs = NULL;
	cr_expect_eq(a64_fdt_build(&c, fdt, sizeof(blob)), -EINVAL);
	c = cfg_for(1, 3);
	c.initrd_start = UINT64_MAX - 10;
	cr_expect_eq(a64_fdt_build(&c, fdt, sizeof(blob)), -EINVAL);
	c = cfg_for(1, 3);
	c.gpio_spi = A64_SPI_MAX + 1;
	cr_expect_eq(a64_fdt_build(&c, fdt, sizeof(blob)), -EINVAL);
	c = cfg_for(1, 3);
	c.gpio_power_line = 8;
	log_clear_error();
	cr_expect_eq(a64_fdt_build(&c, fdt, sizeof(blob)), -EINVAL);
	cr_expect(strstr(log_first_error(), "line 8") != NULL, "%s",
		  log_first_error());
	c.gpio = false;
	cr_expect_eq(a64_fdt_build(&c, fdt, sizeof(blob)), 0);
}
