/*
 * The aarch64 guest-physical memory map and interrupt numbers.  Every
 * address kvmm places in the guest is defined here and nowhere else.
 * Close to QEMU's "virt" machine below 1 GiB, so a guest kernel configured
 * for it finds nothing surprising.
 *
 *   0x0000_0000  +-------------------------------+
 *                | (unused)                      |
 *   0x0800_0000  | GIC distributor (64 KiB)      |
 *   0x0801_0000  | GICv2 CPU interface (64 KiB)  |
 *   0x0808_0000  | GICv3 ITS (128 KiB)           |
 *   0x080a_0000  | GICv3 redistributors, 128 KiB |
 *                | per vCPU (up to 123)          |
 *   0x0900_0000  | PL011 UART (4 KiB), SPI 1     |
 *   0x0903_0000  | PL061 GPIO (4 KiB), SPI 7:    |
 *                | line 3 is the power key       |
 *   0x0904_0000  | boot timer (4 KiB), in no DT  |
 *   0x0a00_0000  | virtio-mmio windows, 4 KiB    |
 *                | each, SPI 16 upwards          |
 *   0x1000_0000  | PCI 32-bit BAR windows,       |
 *                | 32 MiB per segment            |
 *   0x3000_0000  | PCI ECAM, 1 MiB per segment   |
 *                | (bus 0 only), 16 segments     |
 *   0x4000_0000  +-------------------------------+ RAM
 *                | kernel Image (2 MiB aligned,  |
 *                | + text_offset)                |
 *                |            ...                |
 *                | initramfs                     |
 *                | device tree (top 2 MiB)       |
 *   RAM end      +-------------------------------+ up to 1 GiB
 *                | PCI 64-bit BAR windows, 4 GiB |
 *                | per segment                   |
 *                +-------------------------------+
 *
 * Interrupt numbers below are SPI numbers (GIC INTID - 32): what KVM_IRQFD's
 * gsi and the device tree's GIC_SPI cells take.
 */
#ifndef KVMM_A64_LAYOUT_H
#define KVMM_A64_LAYOUT_H

#define A64_GIC_DIST_GPA	0x08000000ULL
#define A64_GIC_DIST_SIZE	0x10000ULL
#define A64_GIC_CPU_GPA		0x08010000ULL	/* GICv2 only */
#define A64_GIC_CPU_SIZE	0x10000ULL
#define A64_GIC_REDIST_GPA	0x080a0000ULL	/* GICv3 only */
#define A64_GIC_REDIST_SIZE	0x20000ULL	/* per vCPU */
#define A64_GIC_REDIST_END	0x09000000ULL
#define A64_GIC_NR_IRQS		128U		/* SGIs + PPIs + 96 SPIs */

/* The ITS (GICv3 only; MSIs of PCI functions): where QEMU's "virt" has it. */
#define A64_GIC_ITS_GPA		0x08080000ULL
#define A64_GIC_ITS_SIZE	0x20000ULL

#define A64_UART_GPA		0x09000000ULL
#define A64_UART_SIZE		0x1000ULL
#define A64_UART_SPI		1U

/* Where QEMU's "virt" has its PL061; line 3 carries the gpio-keys power key
 * as on QEMU and Cloud Hypervisor. */
#define A64_GPIO_GPA		0x09030000ULL
#define A64_GPIO_SIZE		0x1000ULL
#define A64_GPIO_SPI		7U
#define A64_GPIO_POWER_LINE	3U

/* The boot timer (devices/boot_timer.h): the test guest's init writes it through /dev/mem;
 * no device tree node, so no driver claims it. */
#define A64_BOOT_TIMER_GPA	0x09040000ULL
#define A64_BOOT_TIMER_SIZE	0x1000ULL

#define A64_VIRTIO_MMIO_GPA	0x0a000000ULL
#define A64_VIRTIO_MMIO_SIZE	0x1000ULL
#define A64_VIRTIO_SPI_BASE	16U
#define A64_SPI_MAX		(A64_GIC_NR_IRQS - 32U - 1U)

#define A64_PCI_MEM32_GPA	0x10000000ULL
#define A64_PCI_MEM32_SEG_SIZE	0x2000000ULL	/* 32 MiB per segment */
#define A64_PCI_ECAM_GPA	0x30000000ULL
#define A64_PCI_MAX_SEGMENTS	16U
#define A64_PCI_MEM64_SEG_SIZE	0x100000000ULL	/* 4 GiB per segment */
#define A64_PCI_MEM64_ALIGN	0x40000000ULL

#define A64_RAM_GPA		0x40000000ULL
#define A64_RAM_MAX		(0x8000000000ULL - A64_RAM_GPA)	/* 512 GiB */
#define A64_DTB_MAX		0x200000ULL	/* at the top 2 MiB of RAM */

#define A64_MAX_VCPUS \
	((unsigned int)((A64_GIC_REDIST_END - A64_GIC_REDIST_GPA) / A64_GIC_REDIST_SIZE))

#endif
