/*
 * aarch64 implementation of arch/arch.h: the in-kernel GIC (v3 with an ITS
 * for MSIs where the host offers one, or v2 where the host has no v3), PCI
 * segments' windows, RAM at 1 GiB, the PL011 console UART, the PL061 GPIO
 * whose line 3 is the power button (a gpio-keys KEY_POWER), loading an
 * arm64 Image with its initramfs and device tree, and per-vCPU set-up
 * (preferred target, PSCI 0.2, secondaries off until PSCI CPU_ON; the boot
 * vCPU enters the kernel with X0 = device tree).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>

#include <libfdt.h>

#include "arch.h"
#include "console.h"
#include "a64_fdt.h"
#include "file.h"
#include "image.h"
#include "layout.h"
#include "log.h"
#include "pl011.h"
#include "pci.h"
#include "pl061.h"
#include "vcpu.h"
#include "vm.h"

/* PSTATE at entry: EL1h, debug/SError/IRQ/FIQ masked (booting.rst). */
#define A64_PSTATE_BOOT	(0x3c0ULL | 0x5ULL)

#define CORE_REG(x) (KVM_REG_ARM64 | KVM_REG_SIZE_U64 | KVM_REG_ARM_CORE | \
		     (offsetof(struct kvm_regs, x) / sizeof(uint32_t)))

/* The guest-physical map holds together (layout.h). */
_Static_assert(A64_PCI_MEM32_GPA + A64_PCI_MAX_SEGMENTS * A64_PCI_MEM32_SEG_SIZE <=
	       A64_PCI_ECAM_GPA, "PCI 32-bit windows overlap ECAM");
_Static_assert(A64_PCI_ECAM_GPA + A64_PCI_MAX_SEGMENTS * PCI_ECAM_BUS_SIZE <= A64_RAM_GPA,
	       "PCI ECAM overlaps RAM");
_Static_assert(A64_GIC_ITS_GPA + A64_GIC_ITS_SIZE <= A64_GIC_REDIST_GPA,
	       "ITS overlaps the redistributors");
/* KVM_CREATE_VM's type 0 gives a 40-bit IPA space. */
_Static_assert(A64_RAM_GPA + A64_RAM_MAX + A64_PCI_MEM64_ALIGN +
	       A64_PCI_MAX_SEGMENTS * A64_PCI_MEM64_SEG_SIZE <= 1ULL << 40,
	       "PCI 64-bit windows beyond a 40-bit IPA");
_Static_assert(A64_PCI_MAX_SEGMENTS <= PCI_MAX_SEGMENTS, "more segments than pci.h holds");
_Static_assert(A64_FDT_PCI_SLOTS == PCI_NR_SLOTS, "a64_fdt_pci's slots are pci.h's");

const char arch_name[] = "aarch64";

struct a64_vm {
	int gic_fd;
	int its_fd;			/* -1: no ITS, hence no MSIs */
	unsigned int gic_version;
	struct pl011 *uart;
	struct pl061 *gpio;
	uint64_t entry;			/* kernel entry (load address) */
	uint64_t dtb;
};

static struct a64_vm *a64(struct vm *vm)
{
	return vm->arch;
}

int arch_virtio_slot(unsigned int index, uint64_t *base, uint64_t *size, uint32_t *irq)
{
	if (index > A64_SPI_MAX - A64_VIRTIO_SPI_BASE)
		return -ENOSPC;
	*base = A64_VIRTIO_MMIO_GPA + index * A64_VIRTIO_MMIO_SIZE;
	*size = A64_VIRTIO_MMIO_SIZE;
	*irq = A64_VIRTIO_SPI_BASE + index;
	return 0;
}

uint32_t arch_irq_line_id(uint32_t irq)
{
	/* An SPI: type in bits 24..27, INTID (SPI number + 32) below. */
	return (KVM_ARM_IRQ_TYPE_SPI << KVM_ARM_IRQ_TYPE_SHIFT) | (irq + 32);
}

int arch_ram_layout(uint64_t ram_size, struct gm_region *regions,
		    unsigned int max)
{
	if (max < 1 || ram_size < 2 * A64_DTB_MAX || ram_size > A64_RAM_MAX)
		return -EINVAL;
	regions[0] = (struct gm_region){ .gpa = A64_RAM_GPA, .size = ram_size };
	return 1;
}

static int gic_attr(int fd, uint32_t group, uint64_t attr, const void *val)
{
	struct kvm_device_attr a = {
		.group = group, .attr = attr, .addr = (uint64_t)(uintptr_t)val,
	};

	return ioctl(fd, KVM_SET_DEVICE_ATTR, &a) < 0 ? -errno : 0;
}

/* Creates the VGIC: v3 if the host can, else v2 (at most 8 vCPUs). */
static int gic_create(struct vm *vm)
{
	struct a64_vm *a = a64(vm);
	struct kvm_create_device cd = { .type = KVM_DEV_TYPE_ARM_VGIC_V3 };
	uint64_t dist = A64_GIC_DIST_GPA, other;
	uint32_t nr_irqs = A64_GIC_NR_IRQS;
	int ret;

	a->gic_version = 3;
	if (ioctl(vm->vm_fd, KVM_CREATE_DEVICE, &cd) < 0) {
		if (errno != ENODEV) {
			pr_err("KVM_CREATE_DEVICE (VGICv3): %m");
			return -errno;
		}
		cd = (struct kvm_create_device){ .type = KVM_DEV_TYPE_ARM_VGIC_V2 };
		a->gic_version = 2;
		if (ioctl(vm->vm_fd, KVM_CREATE_DEVICE, &cd) < 0) {
			pr_err("KVM_CREATE_DEVICE: neither VGICv3 nor VGICv2: %m");
			return -errno;
		}
		if (vm->cfg->boot_vcpus > 8) {
			close(cd.fd);
			pr_err("the host's GICv2 takes at most 8 vCPUs, not %u",
			       vm->cfg->boot_vcpus);
			return -EINVAL;
		}
	}
	a->gic_fd = cd.fd;
	if (a->gic_version == 3) {
		other = A64_GIC_REDIST_GPA;
		if (!(ret = gic_attr(a->gic_fd, KVM_DEV_ARM_VGIC_GRP_ADDR,
				     KVM_VGIC_V3_ADDR_TYPE_DIST, &dist)))
			ret = gic_attr(a->gic_fd, KVM_DEV_ARM_VGIC_GRP_ADDR,
				       KVM_VGIC_V3_ADDR_TYPE_REDIST, &other);
	} else {
		other = A64_GIC_CPU_GPA;
		if (!(ret = gic_attr(a->gic_fd, KVM_DEV_ARM_VGIC_GRP_ADDR,
				     KVM_VGIC_V2_ADDR_TYPE_DIST, &dist)))
			ret = gic_attr(a->gic_fd, KVM_DEV_ARM_VGIC_GRP_ADDR,
				       KVM_VGIC_V2_ADDR_TYPE_CPU, &other);
	}
	if (ret) {
		pr_err("VGICv%u: setting the register addresses: %s",
		       a->gic_version, strerror(-ret));
		return ret;
	}
	ret = gic_attr(a->gic_fd, KVM_DEV_ARM_VGIC_GRP_NR_IRQS, 0, &nr_irqs);
	if (ret)
		pr_err("VGICv%u: setting %u interrupts: %s", a->gic_version,
		       nr_irqs, strerror(-ret));
	return ret;
}

/*
 * Adds a GICv3 ITS for the MSIs of PCI functions.  A host that will not
 * emulate one only costs the guest its MSIs (PCI functions keep INTx), so a
 * refusal is not an error; a refused address is (layout.h is wrong).
 */
static int its_create(struct vm *vm)
{
	struct a64_vm *a = a64(vm);
	struct kvm_create_device cd = { .type = KVM_DEV_TYPE_ARM_VGIC_ITS };
	uint64_t base = A64_GIC_ITS_GPA;
	int ret;

	if (a->gic_version != 3)
		return 0;
	if (ioctl(vm->vm_fd, KVM_CREATE_DEVICE, &cd) < 0) {
		pr_info("no GICv3 ITS (KVM_CREATE_DEVICE: %m): PCI functions get no MSIs");
		return 0;
	}
	ret = gic_attr(cd.fd, KVM_DEV_ARM_VGIC_GRP_ADDR, KVM_VGIC_ITS_ADDR_TYPE, &base);
	if (ret) {
		pr_err("GICv3 ITS: setting its address 0x%llx: %s",
		       (unsigned long long)base, strerror(-ret));
		close(cd.fd);
		return ret;
	}
	a->its_fd = cd.fd;
	return 0;
}

int arch_vm_init(struct vm *vm)
{
	int ret;

	if (vm->cfg->boot_vcpus > A64_MAX_VCPUS) {
		pr_err("at most %u vCPUs on aarch64, not %u", A64_MAX_VCPUS,
		       vm->cfg->boot_vcpus);
		return -EINVAL;
	}
	vm->arch = calloc(1, sizeof(struct a64_vm));
	if (!vm->arch)
		return -ENOMEM;
	a64(vm)->gic_fd = -1;
	a64(vm)->its_fd = -1;
	ret = gic_create(vm);
	return ret ? ret : its_create(vm);
}

int arch_vm_finalize(struct vm *vm)
{
	struct a64_vm *a = a64(vm);
	int ret = gic_attr(a->gic_fd, KVM_DEV_ARM_VGIC_GRP_CTRL,
			   KVM_DEV_ARM_VGIC_CTRL_INIT, NULL);

	if (ret) {
		pr_err("VGICv%u: KVM_DEV_ARM_VGIC_CTRL_INIT: %s", a->gic_version,
		       strerror(-ret));
		return ret;
	}
	if (a->its_fd >= 0 &&
	    (ret = gic_attr(a->its_fd, KVM_DEV_ARM_VGIC_GRP_CTRL,
			    KVM_DEV_ARM_VGIC_CTRL_INIT, NULL)))
		pr_err("GICv3 ITS: KVM_DEV_ARM_VGIC_CTRL_INIT: %s", strerror(-ret));
	return ret;
}

void arch_vm_destroy(struct vm *vm)
{
	struct a64_vm *a = a64(vm);

	if (!a)
		return;
	pl011_free(a->uart);
	pl061_free(a->gpio);
	if (a->its_fd >= 0)
		close(a->its_fd);
	if (a->gic_fd >= 0)
		close(a->gic_fd);
	free(a);
	vm->arch = NULL;
}

int arch_pci_windows(const struct vmm_config *cfg, unsigned int seg, struct pci_windows *w)
{
	uint64_t mem64 = (A64_RAM_GPA + cfg->mem_size + A64_PCI_MEM64_ALIGN - 1) &
			 ~(A64_PCI_MEM64_ALIGN - 1);

	if (seg >= A64_PCI_MAX_SEGMENTS)
		return -ENOSPC;
	if (cfg->mem_size > A64_RAM_MAX)	/* arch_ram_layout() refuses it too */
		return -EINVAL;
	*w = pci_segment_windows(seg, A64_PCI_ECAM_GPA, A64_PCI_MEM32_GPA, A64_PCI_MEM32_SEG_SIZE,
				 mem64, A64_PCI_MEM64_SEG_SIZE);
	return 0;
}

bool arch_msi_capable(struct vm *vm)
{
	struct a64_vm *a = a64(vm);

	return a && a->its_fd >= 0;
}

bool arch_pci_default(struct vm *vm, const char **why)
{
	struct a64_vm *a = a64(vm);

	if (arch_msi_capable(vm))
		return true;
	if (why)
		*why = a && a->gic_version == 2 ?
			"no GICv3 ITS to deliver MSIs (the host's GIC is v2)" :
			"no GICv3 ITS to deliver MSIs (the host refused one)";
	return false;
}

/* What kvm_vgic_setup_default_irq_routing() installs, GICv2 or v3: GSI i is
 * SPI i, for every SPI the VGIC has. */
unsigned int arch_irqchip_routes(struct vm *vm, struct kvm_irq_routing_entry *e,
				 unsigned int max)
{
	unsigned int i, n = A64_GIC_NR_IRQS - 32;

	(void)vm;
	if (n > max)
		n = max;
	for (i = 0; i < n; i++)
		e[i] = (struct kvm_irq_routing_entry){
			.gsi = i,
			.type = KVM_IRQ_ROUTING_IRQCHIP,
			.u.irqchip = { .irqchip = 0, .pin = i },
		};
	return n;
}

/* The ITS device ID the guest's msi-map gives the function (a64_fdt.h), not
 * DEVID itself: KVM's ITS has 16 device ID bits.  Bus 0 only, so the bus
 * number (bits 8..15) is always 0. */
void arch_msi_route(struct kvm_irq_routing_entry *e, uint32_t devid)
{
	e->flags = KVM_MSI_VALID_DEVID;
	e->u.msi.devid = a64_its_devid((uint16_t)(devid >> 16), (uint8_t)devid);
}

static void uart_irq(void *opaque, int level)
{
	if (vm_irq_line(opaque, A64_UART_SPI, level))
		pr_warn("pl011: KVM_IRQ_LINE: %m");
}

static void gpio_irq(void *opaque, int level)
{
	if (vm_irq_line(opaque, A64_GPIO_SPI, level))
		pr_warn("pl061: KVM_IRQ_LINE: %m");
}

static size_t uart_input(void *dev, const uint8_t *buf, size_t n)
{
	return pl011_input(dev, buf, n);
}

static void uart_set_rx_drained_cb(void *dev, void (*cb)(void *), void *opaque)
{
	pl011_set_rx_drained_cb(dev, cb, opaque);
}

int arch_devices_init(struct vm *vm)
{
	struct a64_vm *a = a64(vm);
	int ret;

	a->gpio = pl061_new(gpio_irq, vm);
	if (!a->gpio)
		return -ENOMEM;
	ret = bus_register(&vm->mmio, A64_GPIO_GPA, A64_GPIO_SIZE, pl061_mmio,
			   a->gpio, "pl061");
	if (ret) {
		pr_err("registering the PL061: %s", strerror(-ret));
		return ret;
	}
	ret = bus_register(&vm->mmio, A64_BOOT_TIMER_GPA, A64_BOOT_TIMER_SIZE, boot_timer_io,
			   &vm->boot_timer, "boot-timer");
	if (ret) {
		pr_err("registering the boot timer: %s", strerror(-ret));
		return ret;
	}
	/* With the serial port off there is no UART at all. */
	if (vm->cfg->serial == SERIAL_OFF)
		return 0;
	a->uart = pl011_new(console_out_fd(vm), uart_irq, vm);
	if (!a->uart)
		return -ENOMEM;
	ret = bus_register(&vm->mmio, A64_UART_GPA, A64_UART_SIZE, pl011_mmio,
			   a->uart, "pl011");
	if (ret) {
		pr_err("registering the PL011: %s", strerror(-ret));
		return ret;
	}
	console_attach(vm, &(struct console_uart){
		.dev = a->uart, .input = uart_input,
		.set_rx_drained_cb = uart_set_rx_drained_cb });
	return 0;
}

/* The device tree's view of vm->pci: windows and the slots with INTA. */
static int fdt_pci(struct vm *vm, struct a64_fdt_pci *out, unsigned int *nr)
{
	const struct pci_host *h = vm->pci;
	unsigned int i, j;

	*nr = 0;
	if (!h)
		return 0;
	if (h->nr_segments > A64_PCI_MAX_SEGMENTS) {
		pr_err("%u PCI segments, at most %u on aarch64", h->nr_segments,
		       A64_PCI_MAX_SEGMENTS);
		return -EINVAL;
	}
	for (i = 0; i < h->nr_segments; i++) {
		const struct pci_segment *s = &h->seg[i];
		struct a64_fdt_pci *p = &out[i];

		*p = (struct a64_fdt_pci){
			.segment = s->id,
			.ecam_base = s->w.ecam_base, .ecam_size = s->w.ecam_size,
			.mem32_base = s->w.mem32_base, .mem32_size = s->w.mem32_size,
			.mem64_base = s->w.mem64_base, .mem64_size = s->w.mem64_size,
		};
		for (j = 0; j < PCI_NR_SLOTS; j++) {
			const struct pci_func *f = s->slots[j];

			if (!f || !f->cfg[PCI_INTERRUPT_PIN])
				continue;
			/* slot_spi 0 means "no INTx"; kvmm never hands out SPI 0. */
			if (!f->intx_irq) {
				pr_err("PCI %s: INTx on SPI 0 cannot be described", f->name);
				return -EINVAL;
			}
			p->slot_spi[j] = f->intx_irq;
		}
	}
	*nr = h->nr_segments;
	return 0;
}

static int write_fdt(struct vm *vm, const struct a64_placement *at,
		     uint64_t initrd_len)
{
	struct a64_fdt_dev devs[VM_MAX_PLATFORM_DEVS];
	struct a64_fdt_pci pci[A64_PCI_MAX_SEGMENTS];
	struct a64_vm *a = a64(vm);
	struct a64_fdt_config cfg = {
		.nr_cpus = vm->cfg->boot_vcpus,
		.ram_base = A64_RAM_GPA,
		.ram_size = vm->cfg->mem_size,
		.gic_version = a->gic_version,
		.gic_dist_base = A64_GIC_DIST_GPA,
		.gic_dist_size = A64_GIC_DIST_SIZE,
		.gic_redist_base = A64_GIC_REDIST_GPA,
		.gic_redist_size = A64_GIC_REDIST_SIZE * vm->cfg->boot_vcpus,
		.gic_cpu_base = A64_GIC_CPU_GPA,
		.gic_cpu_size = A64_GIC_CPU_SIZE,
		.its = a->its_fd >= 0,
		.its_base = A64_GIC_ITS_GPA,
		.its_size = A64_GIC_ITS_SIZE,
		.cmdline = vm->cfg->cmdline,
		.initrd_start = at->initrd_gpa,
		.initrd_size = initrd_len,
		.uart = a->uart != NULL,
		.uart_base = A64_UART_GPA,
		.uart_size = A64_UART_SIZE,
		.uart_spi = A64_UART_SPI,
		.gpio = a->gpio != NULL,
		.gpio_base = A64_GPIO_GPA,
		.gpio_size = A64_GPIO_SIZE,
		.gpio_spi = A64_GPIO_SPI,
		.gpio_power_line = A64_GPIO_POWER_LINE,
		.devs = devs,
		.nr_devs = vm->nr_platform_devs,
		.pci = pci,
	};
	unsigned int i;
	void *blob;
	int ret;

	for (i = 0; i < vm->nr_platform_devs; i++)
		devs[i] = (struct a64_fdt_dev){
			.compatible = "virtio,mmio",
			.node = "virtio_mmio",
			.base = vm->platform_devs[i].base,
			.size = vm->platform_devs[i].size,
			.spi = vm->platform_devs[i].irq,
			.edge = true,
		};
	ret = fdt_pci(vm, pci, &cfg.nr_pci);
	if (ret)
		return ret;
	blob = calloc(1, A64_DTB_MAX);
	if (!blob)
		return -ENOMEM;
	ret = a64_fdt_build(&cfg, blob, A64_DTB_MAX);
	/* The blob alone, not the 2 MiB it may grow to: each page written is one more the
	 * host allocates and zeroes before the guest runs. */
	if (!ret && (ret = gm_write(&vm->mem, at->dtb_gpa, blob, fdt_totalsize(blob))))
		pr_err("writing the device tree at 0x%llx: %s",
		       (unsigned long long)at->dtb_gpa, strerror(-ret));
	free(blob);
	return ret;
}

int arch_load_guest(struct vm *vm)
{
	struct file_map kernel = { 0 }, initrd = { 0 };
	struct a64_placement at;
	struct a64_image img;
	const char *why = NULL;
	int ret;

	ret = file_map(vm->cfg->kernel, "kernel", &kernel);
	if (ret)
		return ret;
	if (vm->cfg->initramfs &&
	    (ret = file_map(vm->cfg->initramfs, "initramfs", &initrd)))
		goto out;
	ret = a64_image_parse(kernel.data, kernel.len, &img, &why);
	if (ret) {
		pr_err("kernel %s not loaded: %s", vm->cfg->kernel,
		       why ? why : strerror(-ret));
		goto out;
	}
	ret = a64_place(A64_RAM_GPA, vm->cfg->mem_size, &img, kernel.len,
			initrd.len, &at, &why);
	if (ret) {
		pr_err("kernel %s not loaded: %s", vm->cfg->kernel,
		       why ? why : strerror(-ret));
		goto out;
	}
	if ((ret = gm_write(&vm->mem, at.kernel_gpa, kernel.data, kernel.len)) ||
	    (initrd.len &&
	     (ret = gm_write(&vm->mem, at.initrd_gpa, initrd.data, initrd.len)))) {
		pr_err("copying the kernel and initramfs into RAM: %s",
		       strerror(-ret));
		goto out;
	}
	ret = write_fdt(vm, &at, initrd.len);
	if (ret)
		goto out;
	a64(vm)->entry = at.kernel_gpa;
	a64(vm)->dtb = at.dtb_gpa;
	pr_info("kernel: Image at 0x%llx (%zu bytes), device tree at 0x%llx, GICv%u%s",
		(unsigned long long)at.kernel_gpa, kernel.len,
		(unsigned long long)at.dtb_gpa, a64(vm)->gic_version,
		a64(vm)->its_fd >= 0 ? " with ITS" : "");
out:
	file_unmap(&initrd);
	file_unmap(&kernel);
	return ret;
}

static int set_reg(int fd, uint64_t id, uint64_t val)
{
	struct kvm_one_reg r = { .id = id, .addr = (uint64_t)(uintptr_t)&val };

	return ioctl(fd, KVM_SET_ONE_REG, &r) < 0 ? -errno : 0;
}

int arch_vcpu_init(struct vm *vm, struct vcpu *vcpu)
{
	struct kvm_vcpu_init init = { 0 };

	if (ioctl(vm->vm_fd, KVM_ARM_PREFERRED_TARGET, &init) < 0) {
		pr_err("KVM_ARM_PREFERRED_TARGET: %m");
		return -errno;
	}
	init.features[0] |= 1U << KVM_ARM_VCPU_PSCI_0_2;
	/* Secondaries wait, powered off, for the guest's PSCI CPU_ON. */
	if (vcpu->id > 0)
		init.features[0] |= 1U << KVM_ARM_VCPU_POWER_OFF;
	if (ioctl(vcpu->fd, KVM_ARM_VCPU_INIT, &init) < 0) {
		pr_err("vcpu%u: KVM_ARM_VCPU_INIT: %m", vcpu->id);
		return -errno;
	}
	return 0;
}

int arch_vcpu_reset(struct vm *vm, struct vcpu *vcpu)
{
	int ret;

	/* Secondaries get their entry point from the guest's PSCI CPU_ON. */
	if (vcpu->id > 0)
		return 0;
	if ((ret = set_reg(vcpu->fd, CORE_REG(regs.pstate), A64_PSTATE_BOOT)) ||
	    (ret = set_reg(vcpu->fd, CORE_REG(regs.regs[0]), a64(vm)->dtb)) ||
	    (ret = set_reg(vcpu->fd, CORE_REG(regs.regs[1]), 0)) ||
	    (ret = set_reg(vcpu->fd, CORE_REG(regs.regs[2]), 0)) ||
	    (ret = set_reg(vcpu->fd, CORE_REG(regs.regs[3]), 0)) ||
	    (ret = set_reg(vcpu->fd, CORE_REG(regs.pc), a64(vm)->entry)))
		pr_err("vcpu%u: KVM_SET_ONE_REG: %s", vcpu->id, strerror(-ret));
	return ret;
}

void arch_vcpu_dump(struct vcpu *vcpu)
{
	uint64_t pstate = ~0ULL;
	struct kvm_one_reg r = { .id = CORE_REG(regs.pstate),
				 .addr = (uint64_t)(uintptr_t)&pstate };

	if (ioctl(vcpu->fd, KVM_GET_ONE_REG, &r) < 0)
		pstate = ~0ULL;
	pr_warn("vcpu%u:   pc 0x%llx pstate 0x%llx", vcpu->id,
		(unsigned long long)arch_vcpu_pc(vcpu), (unsigned long long)pstate);
}

uint64_t arch_vcpu_pc(struct vcpu *vcpu)
{
	uint64_t pc = ~0ULL;
	struct kvm_one_reg r = { .id = CORE_REG(regs.pc),
				 .addr = (uint64_t)(uintptr_t)&pc };

	if (ioctl(vcpu->fd, KVM_GET_ONE_REG, &r) < 0)
		return ~0ULL;
	return pc;
}

int arch_ram_hotplug_region(const struct vmm_config *cfg, uint64_t *gpa, uint64_t *size,
			    uint64_t *block, const char **why)
{
	*gpa = *size = 0;
	*block = 1;
	if (!cfg->mem_hotplug_size)
		return 0;
	*why = "the guest boots from a device tree without firmware, so nothing can tell it of "
	       "new memory at run time (no ACPI memory devices, no virtio-mem yet)";
	return -ENOTSUP;
}

int arch_mem_hotplug_check(struct vm *vm, const char **why)
{
	uint64_t gpa, size, block;

	if (arch_ram_hotplug_region(vm->cfg, &gpa, &size, &block, why) == 0)
		*why = "the VM has no room for more RAM (memory.hotplug_size is 0)";
	return -ENOTSUP;
}

int arch_mem_hotplug_notify(struct vm *vm, uint64_t gpa, uint64_t size)
{
	(void)vm;
	(void)gpa;
	(void)size;
	return -ENOTSUP;
}

unsigned int arch_max_vcpus(const struct vmm_config *cfg, const char **why)
{
	*why = "KVM's arm64 GIC is set up once every vCPU exists, so kvmm creates them all at "
	       "boot and cannot add one later";
	return cfg->boot_vcpus;
}

int arch_cpu_hotplug_notify(struct vm *vm, unsigned int cpu, bool plug)
{
	(void)vm;
	(void)cpu;
	(void)plug;
	return -ENOTSUP;
}

bool arch_pci_hotplug(struct vm *vm, const char **why)
{
	(void)vm;
	*why = "kvmm boots aarch64 guests from a device tree, without firmware or ACPI to tell "
	       "them of a new device, and its host bridges have no PCIe root ports for native "
	       "hot-plug";
	return false;
}

int arch_pci_hotplug_notify(struct vm *vm, unsigned int seg, unsigned int slot, bool plug)
{
	(void)vm;
	(void)seg;
	(void)slot;
	(void)plug;
	return -ENOTSUP;
}

/* Held high until the guest's gpio_keys reads it, then released (pl061.h);
 * -EBUSY if the guest made the line an output. */
int arch_power_button(struct vm *vm)
{
	struct a64_vm *a = a64(vm);

	if (!a || !a->gpio)
		return -ENOTSUP;
	return pl061_press(a->gpio, A64_GPIO_POWER_LINE);
}
