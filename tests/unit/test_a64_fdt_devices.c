/*
 * Unit tests for the aarch64 device-tree builder's chosen node and devices,
 * read back with libfdt: command line, initramfs and stdout-path, the PL011
 * and its clock, virtio-mmio and other devices, the PL061 GPIO with its power
 * key, and trees without UART or GPIO.
 */
#include <criterion/criterion.h>
#include <libfdt.h>
#include <stdio.h>
#include <string.h>

#include "a64_fdt.h"
#include "a64_fdt_helpers.h"
#include "layout.h"

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
