/*
 * The aarch64 guest's flattened device tree: the one description of the
 * machine an arm64 Linux kernel reads at boot (RAM, vCPUs, PSCI, timer, GIC,
 * UART, GPIO power key, virtio-mmio devices, command line and initramfs).
 *
 * Not called fdt.h on purpose: <libfdt.h> includes <fdt.h>, and with
 * arch/aarch64 on the include path a local fdt.h would hide libfdt's own.
 */
#ifndef KVMM_A64_FDT_H
#define KVMM_A64_FDT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "layout.h"

/* Phandles kvmm assigns; fixed so a reader of a dumped tree finds them. */
#define A64_FDT_PHANDLE_GIC	1U
#define A64_FDT_PHANDLE_CLK	2U
#define A64_FDT_PHANDLE_GPIO	3U
#define A64_FDT_PHANDLE_ITS	4U

/*
 * The ITS device ID of a PCI function: its segment above its devfn.  KVM's
 * emulated ITS implements 16 device ID bits (GITS_TYPER.Devbits), so the
 * segment << 16 | requester ID of arch.h does not fit beyond segment 0;
 * with bus 0 only, segment << 8 | devfn does, for up to 256 segments.  The
 * msi-map of segment S's host bridge maps requester IDs 0..0xff onto
 * S << 8 onwards, the same mapping.
 */
#define A64_ITS_DEVID_SEG_SHIFT	8
#define A64_ITS_DEVIDS_PER_SEG	(1U << A64_ITS_DEVID_SEG_SHIFT)

static inline uint32_t a64_its_devid(uint16_t segment, uint8_t devfn)
{
	return (uint32_t)segment << A64_ITS_DEVID_SEG_SHIFT | devfn;
}

/* Linux's input code for the gpio-keys power key (KEY_POWER). */
#define A64_FDT_KEY_POWER	116U

/* One memory-mapped device with one SPI (an arch-neutral platform device). */
struct a64_fdt_dev {
	const char *compatible;	/* e.g. "virtio,mmio" */
	const char *node;	/* node name prefix: "virtio_mmio" -> "virtio_mmio@a000000" */
	uint64_t base, size;
	uint32_t spi;		/* SPI number: GIC INTID - 32 */
	bool edge;		/* edge rising (virtio-mmio via irqfd) vs level high */
};

#define A64_FDT_PCI_SLOTS	32U	/* devices on a bus */

/* One PCI segment: a generic ECAM host bridge with bus 0 only. */
struct a64_fdt_pci {
	uint16_t segment;		/* linux,pci-domain; < A64_PCI_MAX_SEGMENTS */
	uint64_t ecam_base, ecam_size;	/* also the node's unit address */
	uint64_t mem32_base, mem32_size;	/* size 0: no such ranges entry */
	uint64_t mem64_base, mem64_size;
	uint32_t slot_spi[A64_FDT_PCI_SLOTS];	/* each slot's INTA SPI; 0: no INTx */
};

struct a64_fdt_config {
	unsigned int nr_cpus;		/* 1..A64_MAX_VCPUS (1..8 with GICv2) */
	uint64_t ram_base, ram_size;
	unsigned int gic_version;	/* 2 or 3 */
	uint64_t gic_dist_base, gic_dist_size;
	uint64_t gic_redist_base, gic_redist_size;	/* v3: total for all vCPUs */
	uint64_t gic_cpu_base, gic_cpu_size;		/* v2 */
	bool its;			/* GICv3 ITS present (v3 only) */
	uint64_t its_base, its_size;
	const char *cmdline;		/* may be NULL */
	uint64_t initrd_start, initrd_size;	/* size 0: no initrd properties */
	bool uart;			/* PL011 present (and the console) */
	uint64_t uart_base, uart_size;
	uint32_t uart_spi;
	bool gpio;			/* PL061 present, with a power key */
	uint64_t gpio_base, gpio_size;
	uint32_t gpio_spi;
	uint32_t gpio_power_line;	/* 0..7: the key's line */
	const struct a64_fdt_dev *devs;
	unsigned int nr_devs;
	const struct a64_fdt_pci *pci;	/* PCI segments, distinct */
	unsigned int nr_pci;		/* 0..A64_PCI_MAX_SEGMENTS */
};

/* The MPIDR_EL1 affinity KVM gives vCPU I by default (Aff0 = I % 16,
 * Aff1 = I / 16), which is also its /cpus/cpu@N reg. */
static inline uint32_t a64_fdt_mpidr(unsigned int i)
{
	return ((uint32_t)(i >> 4) << 8) | (i & 0xf);
}

/*
 * Builds the device tree into BUF (8-byte aligned, as libfdt's readers
 * demand); only the first min(SIZE, A64_DTB_MAX) bytes are used, so the
 * result always obeys arm64's 2 MiB limit.  The blob's length is then
 * fdt_totalsize(BUF).
 *
 * The tree: / ("linux,dummy-virt", interrupt-parent = GIC), /chosen
 * (bootargs, linux,initrd-start/-end, stdout-path = the PL011), /memory@,
 * /cpus with one "psci" cpu@MPIDR per vCPU, /psci (0.2, hvc), /timer (the four
 * architected timer PPIs), /intc@ (GICv3: distributor + redistributors, or
 * GICv2: distributor + CPU interface), /apb-pclk (24 MHz fixed clock, with
 * the UART or the GPIO), /pl011@, /pl061@ (level-triggered SPI, phandle
 * A64_FDT_PHANDLE_GPIO) with /gpio-keys/poweroff (KEY_POWER on
 * gpio_power_line, active high), one node per DEVS entry, and one
 * /pcie@<ecam_base> ("pci-host-ecam-generic") per PCI entry.  With ITS, the
 * GIC node has an its@ child ("arm,gic-v3-its", phandle A64_FDT_PHANDLE_ITS)
 * and each host bridge an msi-map onto it (a64_its_devid()); the slots with
 * an SPI get an interrupt-map entry for INTA (level high).  Interrupt
 * specifiers are <GIC_SPI|GIC_PPI number flags>.
 *
 * Returns 0, -EINVAL for a config that describes no sane machine (no vCPUs,
 * more vCPUs than the GIC serves, an SPI beyond A64_SPI_MAX, a GPIO line
 * beyond 7, a missing name, an ITS without GICv3, a PCI segment out of range
 * or twice, an empty ECAM window) or -ENOSPC when BUF is too small; either with
 * a pr_err naming the check or the libfdt call that failed and
 * fdt_strerror().
 */
int a64_fdt_build(const struct a64_fdt_config *cfg, void *buf, size_t size);

#endif
