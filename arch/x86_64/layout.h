/*
 * The x86_64 guest-physical memory map and fixed I/O resources.  Every
 * address kvmm places in the guest is defined here and nowhere else.
 *
 *   0x0000_0000  +-------------------------------+
 *                | real-mode IVT / BDA (unused)  |
 *   0x0000_0500  | boot GDT                      |
 *   0x0000_7000  | zero page (bzImage) or        |
 *                | hvm_start_info + modlist (PVH)|
 *   0x0000_8000  | PVH memory map                |
 *   0x0000_9000  | PML4                          |
 *   0x0000_a000  | PDPT                          |
 *   0x0000_b000  | 4 page directories (2 MiB     |
 *                | pages, identity map of 4 GiB) |
 *   0x0002_0000  | kernel command line (64 KiB)  |
 *   0x0009_fc00  +-------------------------------+ e820: reserved
 *                | EBDA, VGA hole, ROM area      |
 *   0x000e_0000  | ACPI tables, RSDP first       |
 *   0x000f_fff0  | reset vector: writes the ACPI |
 *                | reset register (see arch.c)   |
 *   0x0010_0000  +-------------------------------+ e820: RAM
 *                | kernel (loaded at 1 MiB)      |
 *                |            ...                |
 *                | initramfs (top of low RAM)    |
 *   low RAM end  +-------------------------------+ min(RAM, 3 GiB)
 *                         (unused)
 *   0xc000_0000  | PCI 32-bit BAR windows, 16 MiB|
 *                | per segment                   |
 *   0xd000_0000  | virtio-mmio windows, 4 KiB    |
 *                | each, IRQ 5..22               |
 *   0xe000_0000  | PCI ECAM, 1 MiB per segment   |
 *                | (bus 0 only), 16 segments     |
 *   0xfec0_0000  | IOAPIC                        |
 *   0xfee0_0000  | local APICs                   |
 *   0xfffb_c000  | KVM identity map + TSS (4 pg) |
 *   0x1_0000_0000+-------------------------------+ RAM above 4 GiB
 *                | rest of RAM, if any           |
 *                +-------------------------------+ RAM end (>= 4 GiB), up to 128 MiB
 *                | memory hot-plug region        |
 *                | (memory.hotplug_size, rounded |
 *                | down to 128 MiB), if any      |
 *                +-------------------------------+ its end, up to 1 GiB
 *                | PCI 64-bit BAR windows, 4 GiB |
 *                | per segment                   |
 *                +-------------------------------+
 *
 * Port I/O: PCI configuration mechanism #1 at 0xcf8-0xcff (segment 0), 16550 UART 0x3f8-0x3ff (IRQ 4), i8042 0x60/0x64 (IRQ 1),
 * ACPI PM registers at X86_PM_PORT (sleep control, sleep status, reset),
 * the ACPI GED event register at X86_GED_PORT (IRQ 23, level), the ACPI PCI
 * hot-plug controller's registers at X86_PCIHP_PORT (devices/pcihp.h), the
 * CPU hot-plug controller's at X86_CPUHP_PORT (devices/cpuhp.h), the memory
 * hot-plug controller's at X86_MEMHP_PORT (devices/memhp.h), the boot timer at
 * X86_BOOT_TIMER_PORT (devices/boot_timer.h).
 *
 * IOAPIC pins: 0 (PIT, via 2), 1 i8042, 4 UART, 5..22 device lines
 * (virtio-mmio slots, or PCI INTA of a function: one line each, unshared),
 * 23 the GED.  GSIs 24 and up are MSI routes (vmm/irq.c).  The GED takes the top pin because it is level-triggered: a
 * GSI of 16 or more is no ISA IRQ, so Linux takes its trigger and polarity
 * from the DSDT instead of the ISA defaults (edge, active high).
 */
#ifndef KVMM_X86_LAYOUT_H
#define KVMM_X86_LAYOUT_H

#define X86_GDT_GPA		0x500ULL
#define X86_ZERO_PAGE_GPA	0x7000ULL	/* also PVH start info */
#define X86_PVH_MEMMAP_GPA	0x8000ULL
#define X86_PML4_GPA		0x9000ULL
#define X86_PDPT_GPA		0xa000ULL
#define X86_PD_GPA		0xb000ULL	/* 4 pages */
#define X86_CMDLINE_GPA		0x20000ULL
#define X86_CMDLINE_MAX		0x10000ULL
#define X86_EBDA_GPA		0x9fc00ULL
#define X86_ACPI_GPA		0xe0000ULL	/* RSDP here, tables after */
#define X86_ACPI_END		0xffff0ULL
#define X86_RESET_VECTOR_GPA	0xffff0ULL	/* F000:FFF0 */
#define X86_HIMEM_GPA		0x100000ULL	/* kernel load address */

#define X86_MMIO_HOLE_GPA	0xc0000000ULL	/* low RAM ends here at most */
#define X86_HIGH_RAM_GPA	0x100000000ULL

#define X86_PCI_MEM32_GPA	0xc0000000ULL
#define X86_PCI_MEM32_SEG_SIZE	0x1000000ULL	/* 16 MiB per segment */
#define X86_PCI_ECAM_GPA	0xe0000000ULL
#define X86_PCI_MAX_SEGMENTS	16U
#define X86_PCI_ECAM_SIZE	(X86_PCI_MAX_SEGMENTS * 0x100000ULL)	/* e820: reserved */
#define X86_PCI_MEM64_SEG_SIZE	0x100000000ULL	/* 4 GiB per segment */
#define X86_PCI_MEM64_ALIGN	0x40000000ULL
#define X86_PCI_CF8_PORT	0xcf8		/* CONFIG_ADDRESS, CONFIG_DATA at 0xcfc */
#define X86_PCI_CF8_LEN		8

#define X86_VIRTIO_MMIO_GPA	0xd0000000ULL
#define X86_VIRTIO_MMIO_SIZE	0x1000ULL
#define X86_VIRTIO_IRQ_BASE	5U
#define X86_VIRTIO_IRQ_MAX	22U		/* 18 slots; 23 is the GED's */
#define X86_IRQ_MAX		23U		/* IOAPIC pins 0..23 */

#define X86_IOAPIC_GPA		0xfec00000ULL
#define X86_LAPIC_GPA		0xfee00000ULL
#define X86_IDENTITY_MAP_GPA	0xfffbc000ULL	/* KVM_SET_IDENTITY_MAP_ADDR */
#define X86_TSS_GPA		0xfffbd000ULL	/* KVM_SET_TSS_ADDR, 3 pages */

#define X86_SERIAL_PORT		0x3f8
#define X86_SERIAL_IRQ		4U
#define X86_I8042_DATA_PORT	0x60
#define X86_I8042_CMD_PORT	0x64
#define X86_I8042_IRQ		1U

/* The boot timer (devices/boot_timer.h): Firecracker's port, where a PC's floppy controller
 * was, which no kvmm guest probes. */
#define X86_BOOT_TIMER_PORT	0x3f0

/* ACPI hardware-reduced sleep and reset registers (one byte each). */
#define X86_PM_PORT		0x600
#define X86_PM_SLEEP_CTL	(X86_PM_PORT + 0)
#define X86_PM_SLEEP_STS	(X86_PM_PORT + 1)
#define X86_PM_RESET		(X86_PM_PORT + 2)
#define X86_PM_LEN		3
#define X86_PM_RESET_VALUE	0x1
#define X86_PM_SLP_TYP_S5	5	/* \_S5 package value */
#define X86_PM_SLP_EN		(1u << 5)

/* ACPI Generic Event Device (devices/ged.h): its event register, read by
 * the DSDT's \_SB.GED._EVT, and its level-triggered, active-high line. */
#define X86_GED_PORT		0x610
#define X86_GED_LEN		1
#define X86_GED_IRQ		23U

/* ACPI PCI hot-plug controller (devices/pcihp.h): 16 bytes per PCI segment,
 * read and written by the DSDT's \_SB.PCIn.PCNT and slot _EJ0 methods. */
#define X86_PCIHP_PORT		0x640
#define X86_PCIHP_STRIDE	16
#define X86_PCIHP_LEN		(X86_PCIHP_STRIDE * 16)

/* ACPI CPU hot-plug controller (devices/cpuhp.h), read and written by the
 * DSDT's \_SB.CPUS methods. */
#define X86_CPUHP_PORT		0x740
#define X86_CPUHP_LEN		0x20
#define X86_CPUHP_MAX		64

/* ACPI memory hot-plug controller (devices/memhp.h), read by the DSDT's
 * \_SB.MHPC methods, and the unit of hot-plugged RAM: Linux's x86_64 memory
 * block (and sparsemem section) is 128 MiB, the granule in which it adds
 * memory; the region starts on one. */
#define X86_MEMHP_PORT		0x760
#define X86_MEMHP_LEN		0x108
#define X86_MEMHP_SLOTS		16
#define X86_MEMHP_BLOCK		0x8000000ULL

#endif
