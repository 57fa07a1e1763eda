/*
 * Shared by test_a64_fdt.c and test_a64_fdt_devices.c: the device-tree buffer,
 * a full config to start from, and libfdt read-back helpers that assert as
 * they go (node by path, cells of a property, reg and interrupt specifiers,
 * strings).
 */
#ifndef KVMM_TEST_A64_FDT_HELPERS_H
#define KVMM_TEST_A64_FDT_HELPERS_H

#include <criterion/criterion.h>
#include <libfdt.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "a64_fdt.h"
#include "layout.h"

#define MiB (1ULL << 20)

static uint64_t blob[A64_DTB_MAX / sizeof(uint64_t)];
static void *fdt = blob;

static const struct a64_fdt_dev devs[] = {
	{ "virtio,mmio", "virtio_mmio", 0x0a000000, 0x1000, 16, true },
	{ "virtio,mmio", "virtio_mmio", 0x0a001000, 0x1000, 17, true },
	{ "vendor,level-dev", "thing", 0x0b000000, 0x200, 20, false },
};

static inline struct a64_fdt_config cfg_for(unsigned int cpus, unsigned int gic)
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

static inline void build_ok(const struct a64_fdt_config *c)
{
	memset(blob, 0xa5, sizeof(blob));
	cr_assert_eq(a64_fdt_build(c, fdt, sizeof(blob)), 0);
	cr_assert_eq(fdt_check_header(fdt), 0);
	cr_assert_eq(fdt_check_full(fdt, sizeof(blob)), 0);
	cr_assert_leq(fdt_totalsize(fdt), A64_DTB_MAX);
}

static inline int node(const char *path)
{
	int off = fdt_path_offset(fdt, path);

	cr_assert_geq(off, 0, "%s: %s", path, fdt_strerror(off));
	return off;
}

/* Property PROP of node OFF as big-endian cells; asserts it has N of them. */
static inline const fdt32_t *cells(int off, const char *prop, int n)
{
	int len;
	const fdt32_t *p = fdt_getprop(fdt, off, prop, &len);

	cr_assert_not_null(p, "no %s", prop);
	cr_assert_eq(len, n * 4, "%s: %d bytes, want %d", prop, len, n * 4);
	return p;
}

static inline uint32_t cell(int off, const char *prop)
{
	return fdt32_to_cpu(cells(off, prop, 1)[0]);
}

static inline uint64_t cell64(const fdt32_t *p)
{
	return (uint64_t)fdt32_to_cpu(p[0]) << 32 | fdt32_to_cpu(p[1]);
}

static inline void check_reg(int off, uint64_t base, uint64_t size)
{
	const fdt32_t *r = cells(off, "reg", 4);

	cr_expect_eq(cell64(r), base);
	cr_expect_eq(cell64(r + 2), size);
}

static inline void check_irq(const fdt32_t *irq, uint32_t type,
			     uint32_t nr, uint32_t flags)
{
	cr_expect_eq(fdt32_to_cpu(irq[0]), type);
	cr_expect_eq(fdt32_to_cpu(irq[1]), nr);
	cr_expect_eq(fdt32_to_cpu(irq[2]), flags, "flags 0x%x, want 0x%x",
		     fdt32_to_cpu(irq[2]), flags);
}

static inline void check_string(int off, const char *prop, const char *want)
{
	const char *s = fdt_getprop(fdt, off, prop, NULL);

	cr_assert_not_null(s, "no %s", prop);
	cr_expect_str_eq(s, want);
}

static inline bool has_prop(int off, const char *prop)
{
	return fdt_getprop(fdt, off, prop, NULL) != NULL;
}

#endif
