/*
 * Unit tests for the aarch64 device-tree builder: every tree is read back
 * with libfdt (structure check, paths, properties, phandles), for 1, 2, 8
 * and many vCPUs, GICv2 and GICv3, with and without UART, GPIO power key,
 * initramfs and command line, and for configs and buffers that must be
 * refused.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <libfdt.h>
#include <stdio.h>
#include <string.h>

#include "a64_fdt.h"
#include "layout.h"
#include "log.h"

#define MiB (1ULL << 20)

static uint64_t blob[A64_DTB_MAX / sizeof(uint64_t)];
static void *fdt = blob;

static const struct a64_fdt_dev devs[] = {
	{ "virtio,mmio", "virtio_mmio", 0x0a000000, 0x1000, 16, true },
	{ "virtio,mmio", "virtio_mmio", 0x0a001000, 0x1000, 17, true },
	{ "vendor,level-dev", "thing", 0x0b000000, 0x200, 20, false },
};

static struct a64_fdt_config cfg_for(unsigned int cpus, unsigned int gic)
{
	struct a64_fdt_config c = {
		.nr_cpus = cpus,
		.ram_base = A64_RAM_GPA, .ram_size = 512 * MiB,
		.gic_version = gic,
		.gic_dist_base = A64_GIC_DIST_GPA,
		.gic_dist_size = A64_GIC_DIST_SIZE,
		.gic_redist_base = A64_GIC_REDIST_GPA,
		.gic_redist_size = cpus * A64_GIC_REDIST_SIZE,
		.gic_cpu_base = A64_GIC_CPU_GPA,
		.gic_cpu_size = A64_GIC_CPU_SIZE,
		.cmdline = "console=ttyAMA0 earlycon root=/dev/vda",
		.initrd_start = 0x5f000000, .initrd_size = 0x123456,
		.uart = true,
		.uart_base = A64_UART_GPA, .uart_size = A64_UART_SIZE,
		.uart_spi = A64_UART_SPI,
		.gpio = true,
		.gpio_base = A64_GPIO_GPA, .gpio_size = A64_GPIO_SIZE,
		.gpio_spi = A64_GPIO_SPI, .gpio_power_line = A64_GPIO_POWER_LINE,
		.devs = devs, .nr_devs = 3,
	};
	return c;
}

static void build_ok(const struct a64_fdt_config *c)
{
	memset(blob, 0xa5, sizeof(blob));
	cr_assert_eq(a64_fdt_build(c, fdt, sizeof(blob)), 0);
	cr_assert_eq(fdt_check_header(fdt), 0);
	cr_assert_eq(fdt_check_full(fdt, sizeof(blob)), 0);
	cr_assert_leq(fdt_totalsize(fdt), A64_DTB_MAX);
}

static int node(const char *path)
{
	int off = fdt_path_offset(fdt, path);

	cr_assert_geq(off, 0, "%s: %s", path, fdt_strerror(off));
	return off;
}

/* Property PROP of node OFF as big-endian cells; asserts it has N of them. */
static const fdt32_t *cells(int off, const char *prop, int n)
{
	int len;
	const fdt32_t *p = fdt_getprop(fdt, off, prop, &len);

	cr_assert_not_null(p, "no %s", prop);
	cr_assert_eq(len, n * 4, "%s: %d bytes, want %d", prop, len, n * 4);
	return p;
}

static uint32_t cell(int off, const char *prop)
{
	return fdt32_to_cpu(cells(off, prop, 1)[0]);
}

static uint64_t cell64(const fdt32_t *p)
{
	return (uint64_t)fdt32_to_cpu(p[0]) << 32 | fdt32_to_cpu(p[1]);
}

static void check_reg(int off, uint64_t base, uint64_t size)
{
	const fdt32_t *r = cells(off, "reg", 4);

	cr_expect_eq(cell64(r), base);
	cr_expect_eq(cell64(r + 2), size);
}

static void check_irq(const fdt32_t *irq, uint32_t type, uint32_t nr,
		      uint32_t flags)
{
	cr_expect_eq(fdt32_to_cpu(irq[0]), type);
	cr_expect_eq(fdt32_to_cpu(irq[1]), nr);
	cr_expect_eq(fdt32_to_cpu(irq[2]), flags, "flags 0x%x, want 0x%x",
		     fdt32_to_cpu(irq[2]), flags);
}

static void check_string(int off, const char *prop, const char *want)
{
	const char *s = fdt_getprop(fdt, off, prop, NULL);

	cr_assert_not_null(s, "no %s", prop);
	cr_expect_str_eq(s, want);
}

static bool has_prop(int off, const char *prop)
{
	return fdt_getprop(fdt, off, prop, NULL) != NULL;
}

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

Test(a64_fdt, chosen)
{
	struct a64_fdt_config c = cfg_for(1, 3);
	const char *path;
	int ch, uart;

	build_ok(&c);
	ch = node("/chosen");
	check_string(ch, "bootargs", c.cmdline);
	cr_expect_eq(cell64(cells(ch, "linux,initrd-start", 2)), 0x5f000000);
	cr_expect_eq(cell64(cells(ch, "linux,initrd-end", 2)), 0x5f123456);
	path = fdt_getprop(fdt, ch, "stdout-path", NULL);
	cr_assert_not_null(path);
	uart = fdt_path_offset(fdt, path);
	cr_assert_geq(uart, 0, "stdout-path %s does not resolve", path);
	cr_expect_eq(uart, node("/pl011@9000000"));
	cr_expect_eq(fdt_node_check_compatible(fdt, uart, "arm,pl011"), 0);
}

Test(a64_fdt, chosen_bare)
{
	struct a64_fdt_config c = cfg_for(1, 3);
	int ch;

	c.cmdline = NULL;
	c.initrd_size = 0;
	build_ok(&c);
	ch = node("/chosen");
	cr_expect_not(has_prop(ch, "bootargs"));
	cr_expect_not(has_prop(ch, "linux,initrd-start"));
	cr_expect_not(has_prop(ch, "linux,initrd-end"));
	cr_expect(has_prop(ch, "stdout-path"));
}

Test(a64_fdt, pl011_and_clock)
{
	struct a64_fdt_config c = cfg_for(1, 2);
	const fdt32_t *clk;
	int u, i, ck;

	build_ok(&c);
	u = node("/pl011@9000000");
	cr_expect_str_eq(fdt_stringlist_get(fdt, u, "compatible", 0, NULL),
			 "arm,pl011");
	cr_expect_str_eq(fdt_stringlist_get(fdt, u, "compatible", 1, NULL),
			 "arm,primecell");
	check_reg(u, A64_UART_GPA, A64_UART_SIZE);
	check_irq(cells(u, "interrupts", 3), 0, A64_UART_SPI, 4);
	cr_expect_eq(cell(u, "arm,primecell-periphid") & 0x000fffff, 0x00041011);
	cr_expect_eq(fdt_stringlist_count(fdt, u, "clock-names"), 2);
	cr_expect_str_eq(fdt_stringlist_get(fdt, u, "clock-names", 0, NULL),
			 "uartclk");
	cr_expect_str_eq(fdt_stringlist_get(fdt, u, "clock-names", 1, NULL),
			 "apb_pclk");
	clk = cells(u, "clocks", 2);
	for (i = 0; i < 2; i++) {
		ck = fdt_node_offset_by_phandle(fdt, fdt32_to_cpu(clk[i]));
		cr_assert_geq(ck, 0, "clocks[%d] does not resolve", i);
		cr_expect_eq(ck, node("/apb-pclk"));
		cr_expect_eq(fdt_node_check_compatible(fdt, ck, "fixed-clock"), 0);
		cr_expect_eq(cell(ck, "#clock-cells"), 0);
		cr_expect_eq(cell(ck, "clock-frequency"), 24000000);
	}
}

Test(a64_fdt, devices)
{
	struct a64_fdt_config c = cfg_for(2, 3);
	unsigned int i;
	char path[64];
	int off;

	build_ok(&c);
	for (i = 0; i < c.nr_devs; i++) {
		snprintf(path, sizeof(path), "/%s@%llx", devs[i].node,
			 (unsigned long long)devs[i].base);
		off = node(path);
		check_string(off, "compatible", devs[i].compatible);
		check_reg(off, devs[i].base, devs[i].size);
		check_irq(cells(off, "interrupts", 3), 0, devs[i].spi,
			  devs[i].edge ? 1 : 4);
		cr_expect(has_prop(off, "dma-coherent"));
	}
	cr_expect_geq(node("/virtio_mmio@a001000"), 0);
}

Test(a64_fdt, no_uart)
{
	struct a64_fdt_config c = cfg_for(1, 3);

	c.uart = false;
	c.gpio = false;
	build_ok(&c);
	cr_expect_not(has_prop(node("/chosen"), "stdout-path"));
	cr_expect_eq(fdt_path_offset(fdt, "/pl011@9000000"), -FDT_ERR_NOTFOUND);
	cr_expect_eq(fdt_path_offset(fdt, "/apb-pclk"), -FDT_ERR_NOTFOUND);
	cr_expect_eq(fdt_node_offset_by_compatible(fdt, -1, "arm,pl011"),
		     -FDT_ERR_NOTFOUND);
}

Test(a64_fdt, gpio_power_key)
{
	struct a64_fdt_config c = cfg_for(2, 3);
	const fdt32_t *gpios;
	int g, keys, key, n = 0, off;

	build_ok(&c);
	g = node("/pl061@9030000");
	cr_expect_eq(fdt_stringlist_count(fdt, g, "compatible"), 2);
	cr_expect_str_eq(fdt_stringlist_get(fdt, g, "compatible", 0, NULL),
			 "arm,pl061");
	cr_expect_str_eq(fdt_stringlist_get(fdt, g, "compatible", 1, NULL),
			 "arm,primecell");
	check_reg(g, A64_GPIO_GPA, A64_GPIO_SIZE);
	check_irq(cells(g, "interrupts", 3), 0, A64_GPIO_SPI, 4);
	cr_expect(has_prop(g, "gpio-controller"));
	cr_expect_eq(cell(g, "#gpio-cells"), 2);
	cr_expect_eq(fdt_node_offset_by_phandle(fdt, cell(g, "clocks")),
		     node("/apb-pclk"));
	check_string(g, "clock-names", "apb_pclk");
	cr_expect_eq(fdt_stringlist_count(fdt, g, "clock-names"), 1);
	cr_expect_not(has_prop(g, "arm,primecell-periphid"),
		      "the AMBA bus reads the model's ID registers");
	cr_expect_eq(fdt_get_phandle(fdt, g), A64_FDT_PHANDLE_GPIO);
	cr_expect_neq(A64_FDT_PHANDLE_GPIO, A64_FDT_PHANDLE_GIC);
	cr_expect_neq(A64_FDT_PHANDLE_GPIO, A64_FDT_PHANDLE_CLK);

	keys = node("/gpio-keys");
	check_string(keys, "compatible", "gpio-keys");
	fdt_for_each_subnode(off, fdt, keys)
		n++;
	cr_expect_eq(n, 1, "one key");
	key = node("/gpio-keys/poweroff");
	check_string(key, "label", "GPIO Key Poweroff");
	cr_expect_eq(cell(key, "linux,code"), 116, "KEY_POWER");
	gpios = cells(key, "gpios", 3);
	cr_expect_eq(fdt_node_offset_by_phandle(fdt, fdt32_to_cpu(gpios[0])), g);
	cr_expect_eq(fdt32_to_cpu(gpios[1]), A64_GPIO_POWER_LINE);
	cr_expect_eq(A64_GPIO_POWER_LINE, 3);
	cr_expect_eq(fdt32_to_cpu(gpios[2]), 0, "active high");
}

Test(a64_fdt, gpio_without_uart_keeps_the_clock)
{
	struct a64_fdt_config c = cfg_for(1, 2);
	int g;

	c.uart = false;
	build_ok(&c);
	cr_expect_eq(fdt_path_offset(fdt, "/pl011@9000000"), -FDT_ERR_NOTFOUND);
	g = node("/pl061@9030000");
	cr_expect_eq(fdt_node_offset_by_phandle(fdt, cell(g, "clocks")),
		     node("/apb-pclk"));
	node("/gpio-keys/poweroff");
}

Test(a64_fdt, no_gpio)
{
	struct a64_fdt_config c = cfg_for(1, 3);

	c.gpio = false;
	c.gpio_spi = A64_SPI_MAX + 1;	/* an absent GPIO's SPI does not matter */
	build_ok(&c);
	cr_expect_eq(fdt_path_offset(fdt, "/pl061@9030000"), -FDT_ERR_NOTFOUND);
	cr_expect_eq(fdt_path_offset(fdt, "/gpio-keys"), -FDT_ERR_NOTFOUND);
	cr_expect_eq(fdt_node_offset_by_compatible(fdt, -1, "arm,pl061"),
		     -FDT_ERR_NOTFOUND);
	cr_expect_eq(fdt_node_offset_by_phandle(fdt, A64_FDT_PHANDLE_GPIO),
		     -FDT_ERR_NOTFOUND);
	node("/apb-pclk");	/* still the UART's */
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
