/*
 * x86_64 implementation of arch/arch.h: the in-kernel irqchip and PIT, the
 * RAM layout with its MMIO hole, the fixed legacy devices, loading the guest
 * with its ACPI tables, and per-vCPU CPUID and registers.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "acpi.h"
#include "arch.h"
#include "boot.h"
#include "console.h"
#include "cpu.h"
#include "cpuhp.h"
#include "memhp.h"
#include "devices.h"
#include "file.h"
#include "ged.h"
#include "i8042.h"
#include "layout.h"
#include "log.h"
#include "pci.h"
#include "pcihp.h"
#include "pm.h"
#include "serial.h"
#include "vcpu.h"
#include "vm.h"

_Static_assert(X86_PM_SLP_TYP_S5 == PM_SLP_TYP_S5, "ACPI \\_S5 and PM device disagree");
_Static_assert(X86_PM_RESET_VALUE == PM_RESET_VALUE, "FADT reset value and PM device disagree");
_Static_assert(X86_PM_LEN == PM_NR_REGS, "PM register block size");
_Static_assert(X86_GED_LEN == GED_NR_REGS, "GED register block size");
_Static_assert(X86_CPUHP_LEN == CPUHP_LEN && X86_CPUHP_MAX == CPUHP_MAX_CPUS,
	       "CPU hot-plug register block");
_Static_assert(X86_MEMHP_LEN == MEMHP_LEN && X86_MEMHP_SLOTS == MEMHP_SLOTS,
	       "memory hot-plug register block");
_Static_assert(X86_PCIHP_STRIDE == PCIHP_SEG_STRIDE && X86_PCIHP_LEN == PCIHP_LEN &&
	       PCIHP_MAX_SEGMENTS == PCI_MAX_SEGMENTS, "PCI hot-plug register block");

const char arch_name[] = "x86_64";

int arch_virtio_slot(unsigned int index, uint64_t *base, uint64_t *size, uint32_t *irq)
{
	if (index > X86_VIRTIO_IRQ_MAX - X86_VIRTIO_IRQ_BASE)
		return -ENOSPC;
	*base = X86_VIRTIO_MMIO_GPA + index * X86_VIRTIO_MMIO_SIZE;
	*size = X86_VIRTIO_MMIO_SIZE;
	*irq = X86_VIRTIO_IRQ_BASE + index;
	return 0;
}

/* Where guest-physical RAM ends: at or above 4 GiB (low RAM stops at the MMIO hole). */
static uint64_t ram_end(const struct vmm_config *cfg)
{
	uint64_t low = cfg->mem_size < X86_MMIO_HOLE_GPA ? cfg->mem_size : X86_MMIO_HOLE_GPA;

	return X86_HIGH_RAM_GPA + (cfg->mem_size - low);
}

int arch_ram_hotplug_region(const struct vmm_config *cfg, uint64_t *gpa, uint64_t *size,
			    uint64_t *block, const char **why)
{
	uint64_t unit = X86_MEMHP_BLOCK;

	/* 1 GiB huge pages make the unit 1 GiB: every plugged range is whole pages. */
	if (cfg->mem_hugepages && config_hugepage_size(cfg) > unit)
		unit = config_hugepage_size(cfg);
	*gpa = (ram_end(cfg) + X86_MEMHP_BLOCK - 1) & ~(X86_MEMHP_BLOCK - 1);
	*gpa = (*gpa + unit - 1) & ~(unit - 1);
	*size = cfg->mem_hotplug_size / unit * unit;
	*block = unit;
	if (cfg->mem_hotplug_size && !cfg->acpi) {
		*why = "the guest has no ACPI tables (--no-acpi) to be told of new memory";
		*size = 0;
		return -ENOTSUP;
	}
	return 0;
}

int arch_pci_windows(const struct vmm_config *cfg, unsigned int seg, struct pci_windows *w)
{
	uint64_t hp_gpa, hp_size, block, mem64;
	const char *why;

	/* Above RAM and above the room kept for hot-plugging more of it. */
	mem64 = ram_end(cfg);
	if (!arch_ram_hotplug_region(cfg, &hp_gpa, &hp_size, &block, &why) && hp_size)
		mem64 = hp_gpa + hp_size;
	mem64 = (mem64 + X86_PCI_MEM64_ALIGN - 1) & ~(X86_PCI_MEM64_ALIGN - 1);

	if (seg >= X86_PCI_MAX_SEGMENTS)
		return -ENOSPC;
	*w = pci_segment_windows(seg, X86_PCI_ECAM_GPA, X86_PCI_MEM32_GPA, X86_PCI_MEM32_SEG_SIZE,
				 mem64, X86_PCI_MEM64_SEG_SIZE);
	return 0;
}

_Static_assert(X86_PCI_MAX_SEGMENTS * X86_PCI_MEM32_SEG_SIZE <= X86_VIRTIO_MMIO_GPA -
	       X86_PCI_MEM32_GPA, "PCI 32-bit windows overlap the virtio-mmio windows");
_Static_assert(X86_PCI_ECAM_SIZE == X86_PCI_MAX_SEGMENTS * PCI_ECAM_BUS_SIZE, "ECAM size");

bool arch_pci_default(struct vm *vm, const char **why)
{
	/* Without ACPI there is no MCFG, no _PRT and no second segment: Firecracker-style
	 * kernels find their devices on the command line, which is virtio-mmio's. */
	if (!vm->cfg->acpi) {
		*why = "no ACPI tables (--no-acpi)";
		return false;
	}
	return true;
}

bool arch_msi_capable(struct vm *vm)
{
	(void)vm;
	return true;
}

/* What kvm_setup_default_irq_routing() installs on x86: GSIs 0-15 to both the IOAPIC pin
 * and the PIC line, 16-23 to the IOAPIC. Reproduced so MSI routes can be added beside it. */
unsigned int arch_irqchip_routes(struct vm *vm, struct kvm_irq_routing_entry *e,
				 unsigned int max)
{
	unsigned int n = 0;

	(void)vm;
	for (uint32_t gsi = 0; gsi <= X86_IRQ_MAX && n < max; gsi++) {
		e[n++] = (struct kvm_irq_routing_entry){
			.gsi = gsi, .type = KVM_IRQ_ROUTING_IRQCHIP,
			.u.irqchip = { .irqchip = KVM_IRQCHIP_IOAPIC, .pin = gsi },
		};
		if (gsi < 16 && n < max)
			e[n++] = (struct kvm_irq_routing_entry){
				.gsi = gsi, .type = KVM_IRQ_ROUTING_IRQCHIP,
				.u.irqchip = { .irqchip = gsi < 8 ? KVM_IRQCHIP_PIC_MASTER :
							 KVM_IRQCHIP_PIC_SLAVE,
					       .pin = gsi % 8 },
			};
	}
	return n;
}

void arch_msi_route(struct kvm_irq_routing_entry *e, uint32_t devid)
{
	(void)e;
	(void)devid;
}

struct x86_vm {
	struct x86_boot_out boot;
	struct kvm_cpuid2 *cpuid;	/* KVM_GET_SUPPORTED_CPUID */
	struct i8042 *i8042;
	struct ged *ged;		/* NULL without ACPI */
	struct pcihp *pcihp;		/* NULL without ACPI or PCI */
	struct cpuhp *cpuhp;		/* NULL unless vCPUs can be hot-plugged */
	struct memhp *memhp;		/* NULL unless RAM can be hot-plugged */
};

static struct x86_vm *x86(struct vm *vm)
{
	return vm->arch;
}

int arch_ram_layout(uint64_t ram_size, struct gm_region *regions,
		    unsigned int max)
{
	uint64_t low = ram_size < X86_MMIO_HOLE_GPA ? ram_size : X86_MMIO_HOLE_GPA;

	if (max < 2 || ram_size < X86_HIMEM_GPA)
		return -EINVAL;
	regions[0] = (struct gm_region){ .gpa = 0, .size = low };
	if (ram_size == low)
		return 1;
	regions[1] = (struct gm_region){ .gpa = X86_HIGH_RAM_GPA,
					 .size = ram_size - low };
	return 2;
}

static int get_supported_cpuid(int kvm_fd, struct kvm_cpuid2 **out)
{
	unsigned int nent = 64;

	for (;;) {
		struct kvm_cpuid2 *c = calloc(1, sizeof(*c) +
					      nent * sizeof(c->entries[0]));

		if (!c)
			return -ENOMEM;
		c->nent = nent;
		if (ioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID, c) == 0) {
			*out = c;
			return 0;
		}
		free(c);
		if (errno != E2BIG || nent >= 4096)
			return -errno;
		nent *= 2;
	}
}

/*
 * Everything kvmm places above 4 GiB (RAM, the memory hot-plug region, the 64-bit PCI
 * windows) must lie below the guest's physical address width (CPUID 0x80000008 EAX[7:0],
 * as KVM passes it on), or the guest cannot reach it: a large memory.hotplug_size on a host
 * with few address bits would put the PCI BARs out of reach.  0, or -EINVAL (logged).
 */
static int check_phys_bits(struct vm *vm)
{
	const struct kvm_cpuid2 *c = x86(vm)->cpuid;
	unsigned int bits = 36;		/* what a CPU without the leaf has */
	uint64_t top, gpa, size, block;
	struct pci_windows w;
	const char *why;

	for (unsigned int i = 0; i < c->nent; i++)
		if (c->entries[i].function == 0x80000008 && (c->entries[i].eax & 0xff))
			bits = c->entries[i].eax & 0xff;
	top = ram_end(vm->cfg);
	if (!arch_ram_hotplug_region(vm->cfg, &gpa, &size, &block, &why) && size)
		top = gpa + size;
	if (vm->cfg->transport != VIRTIO_TRANSPORT_MMIO && vm->cfg->pci_segments &&
	    !arch_pci_windows(vm->cfg, vm->cfg->pci_segments - 1, &w))
		top = w.mem64_base + w.mem64_size;
	if (bits >= 64 || top <= 1ULL << bits)
		return 0;
	pr_err("memory: guest-physical addresses up to 0x%llx (RAM, memory.hotplug_size, the "
	       "64-bit PCI windows) do not fit the CPU's %u address bits: lower "
	       "memory.hotplug_size or memory.size", (unsigned long long)top, bits);
	return -EINVAL;
}

int arch_vm_init(struct vm *vm)
{
	struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };
	uint64_t idmap = X86_IDENTITY_MAP_GPA;
	int ret;

	vm->arch = calloc(1, sizeof(struct x86_vm));
	if (!vm->arch)
		return -ENOMEM;
	if (ioctl(vm->vm_fd, KVM_SET_TSS_ADDR, (unsigned long)X86_TSS_GPA) < 0) {
		pr_err("KVM_SET_TSS_ADDR: %m");
		return -errno;
	}
	if (ioctl(vm->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &idmap) < 0) {
		pr_err("KVM_SET_IDENTITY_MAP_ADDR: %m");
		return -errno;
	}
	if (ioctl(vm->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0) {
		pr_err("KVM_CREATE_IRQCHIP: %m");
		return -errno;
	}
	if (ioctl(vm->vm_fd, KVM_CREATE_PIT2, &pit) < 0) {
		pr_err("KVM_CREATE_PIT2: %m");
		return -errno;
	}
	ret = get_supported_cpuid(vm->kvm_fd, &x86(vm)->cpuid);
	if (ret) {
		pr_err("KVM_GET_SUPPORTED_CPUID: %s", strerror(-ret));
		return ret;
	}
	return check_phys_bits(vm);
}

void arch_vm_destroy(struct vm *vm)
{
	struct x86_vm *a = x86(vm);

	serial_free(vm->serial);
	vm->serial = NULL;
	if (!a)
		return;
	i8042_free(a->i8042);
	ged_free(a->ged);
	pcihp_free(a->pcihp);
	cpuhp_free(a->cpuhp);
	memhp_free(a->memhp);
	free(a->cpuid);
	free(a);
	vm->arch = NULL;
}

static void serial_irq(void *opaque, int level)
{
	struct vm *vm = opaque;

	if (vm_irq_line(vm, X86_SERIAL_IRQ, level))
		pr_warn("serial: KVM_IRQ_LINE: %m");
}

static size_t uart_input(void *dev, const uint8_t *buf, size_t n)
{
	return serial_input(dev, buf, n);
}

static void uart_set_rx_drained_cb(void *dev, void (*cb)(void *), void *opaque)
{
	serial_set_rx_drained_cb(dev, cb, opaque);
}

static void cpuhp_ejected(void *opaque, uint64_t cpus)
{
	vm_vcpus_ejected(opaque, cpus);
}

static int ged_irq(void *opaque, int level)
{
	return vm_irq_line(opaque, X86_GED_IRQ, level);
}

int arch_devices_init(struct vm *vm)
{
	struct x86_vm *a = x86(vm);
	int ret;

	/* With the serial port off there is no UART at all: the guest finds
	 * no ttyS0 and spends no exits on it. */
	if (vm->cfg->serial != SERIAL_OFF) {
		vm->serial = serial_new(console_out_fd(vm), serial_irq, vm);
		if (!vm->serial)
			return -ENOMEM;
		ret = bus_register(&vm->pio, X86_SERIAL_PORT, SERIAL_NR_REGS,
				   serial_io, vm->serial, "serial");
		if (ret)
			goto err;
		console_attach(vm, &(struct console_uart){
			.dev = vm->serial, .input = uart_input,
			.set_rx_drained_cb = uart_set_rx_drained_cb });
	}
	a->i8042 = i8042_new(vm);
	if (!a->i8042)
		return -ENOMEM;
	ret = bus_register(&vm->pio, X86_I8042_DATA_PORT, 1, i8042_data_io,
			   a->i8042, "i8042-data");
	if (ret)
		goto err;
	ret = bus_register(&vm->pio, X86_I8042_CMD_PORT, 1, i8042_cmd_io,
			   a->i8042, "i8042-cmd");
	if (ret)
		goto err;
	ret = bus_register(&vm->pio, X86_PM_PORT, X86_PM_LEN, pm_io, vm,
			   "acpi-pm");
	if (ret)
		goto err;
	ret = bus_register(&vm->pio, X86_BOOT_TIMER_PORT, 1, boot_timer_io, &vm->boot_timer,
			   "boot-timer");
	if (ret)
		goto err;
	/* The GED only exists for a guest the DSDT can tell about it. */
	if (vm->cfg->acpi) {
		a->ged = ged_new(ged_irq, vm);
		if (!a->ged)
			return -ENOMEM;
		ret = bus_register(&vm->pio, X86_GED_PORT, X86_GED_LEN, ged_io,
				   a->ged, "acpi-ged");
		if (ret)
			goto err;
	}
	/* vCPUs beyond the boot ones come through the GED and the processor objects. */
	if (a->ged && vm->max_vcpus > vm->cfg->boot_vcpus) {
		a->cpuhp = cpuhp_new(vm->max_vcpus, vm->cfg->boot_vcpus, cpuhp_ejected, vm);
		ret = a->cpuhp ? 0 : -ENOMEM;
		if (ret)
			goto err;
		ret = bus_register(&vm->pio, X86_CPUHP_PORT, X86_CPUHP_LEN, cpuhp_io, a->cpuhp,
				   "acpi-cpuhp");
		if (ret)
			goto err;
	}
	/* RAM beyond the boot RAM comes through the GED and the memory devices. */
	if (a->ged && vm->mem.hp_max) {
		a->memhp = memhp_new();
		ret = a->memhp ? 0 : -ENOMEM;
		if (ret)
			goto err;
		ret = bus_register(&vm->pio, X86_MEMHP_PORT, X86_MEMHP_LEN, memhp_io, a->memhp,
				   "acpi-memhp");
		if (ret)
			goto err;
	}
	return 0;
err:
	pr_err("registering legacy devices: %s", strerror(-ret));
	return ret;
}

/* The host bridges of vm->pci as the ACPI tables describe them. */
static unsigned int acpi_pci(struct vm *vm, struct acpi_pci_seg *out)
{
	if (!vm->pci)
		return 0;
	for (unsigned int i = 0; i < vm->pci->nr_segments; i++) {
		const struct pci_segment *s = &vm->pci->seg[i];

		out[i] = (struct acpi_pci_seg){
			.segment = s->id,
			.ecam_base = s->w.ecam_base,
			.mem32_base = s->w.mem32_base, .mem32_size = s->w.mem32_size,
			.mem64_base = s->w.mem64_base, .mem64_size = s->w.mem64_size,
			.cf8 = i == 0,
		};
		for (unsigned int slot = 0; slot < PCI_NR_SLOTS; slot++) {
			const struct pci_func *f = s->slots[slot];

			if (f && f->cfg[PCI_INTERRUPT_PIN])
				out[i].slot_gsi[slot] = f->intx_irq;
		}
	}
	return vm->pci->nr_segments;
}

static void pcihp_ejected(void *opaque, unsigned int seg, uint32_t slots)
{
	virtio_devices_ejected(opaque, seg, slots);
}

/* The PCI hot-plug controller, for a guest with PCI whose DSDT has a GED to announce it. */
static int pcihp_init(struct vm *vm)
{
	struct x86_vm *a = x86(vm);
	int ret;

	if (!vm->pci || !a->ged || a->pcihp)
		return 0;
	a->pcihp = pcihp_new(vm->pci->nr_segments, pcihp_ejected, vm);
	if (!a->pcihp)
		return -ENOMEM;
	ret = bus_register(&vm->pio, X86_PCIHP_PORT, X86_PCIHP_LEN, pcihp_io, a->pcihp,
			   "acpi-pcihp");
	if (ret) {
		pr_err("registering the PCI hot-plug controller: %s", strerror(-ret));
		pcihp_free(a->pcihp);
		a->pcihp = NULL;
	}
	return ret;
}

unsigned int arch_max_vcpus(const struct vmm_config *cfg, const char **why)
{
	*why = "the guest has no ACPI tables (--no-acpi) to be told of new vCPUs";
	if (cfg->max_vcpus <= cfg->boot_vcpus)
		return cfg->boot_vcpus;
	return cfg->acpi ? cfg->max_vcpus : cfg->boot_vcpus;
}

int arch_cpu_hotplug_notify(struct vm *vm, unsigned int cpu, bool plug)
{
	struct x86_vm *a = x86(vm);
	int ret;

	if (!a || !a->cpuhp)
		return -ENOTSUP;
	ret = plug ? cpuhp_plug(a->cpuhp, cpu) : cpuhp_unplug(a->cpuhp, cpu);
	return ret ? ret : ged_event(a->ged, GED_EVT_CPU_HOTPLUG);
}

int arch_mem_hotplug_check(struct vm *vm, const char **why)
{
	struct x86_vm *a = x86(vm);

	if (!a || !a->memhp) {
		*why = vm->cfg->acpi ? "the VM has no room for more RAM (memory.hotplug_size is 0)"
				     : "the guest has no ACPI tables (--no-acpi) to be told of new "
				       "memory";
		return -ENOTSUP;
	}
	if (!memhp_free_slots(a->memhp)) {
		*why = "all 16 memory hot-plug slots are in use (one per resize up) until the VM "
		       "reboots";
		return -ENOSPC;
	}
	return 0;
}

int arch_mem_hotplug_notify(struct vm *vm, uint64_t gpa, uint64_t size)
{
	struct x86_vm *a = x86(vm);
	int ret;

	if (!a || !a->memhp)
		return -ENOTSUP;
	ret = memhp_plug(a->memhp, gpa, size);
	if (ret < 0)
		return ret;
	/* The slot is filled now and stays so: a guest that missed the event finds it at its
	 * next hot-plug event, whose MSCN reads every latched slot. */
	ret = ged_event(a->ged, GED_EVT_MEM_HOTPLUG);
	if (ret)
		pr_warn("memory: raising the hot-plug event: %s", strerror(-ret));
	return 0;
}

bool arch_pci_hotplug(struct vm *vm, const char **why)
{
	struct x86_vm *a = x86(vm);

	if (a && a->pcihp)
		return true;
	*why = !vm->pci ? "the VM's devices are on virtio-mmio, not PCI"
			: "the guest has no ACPI tables (--acpi off) to be told of new devices";
	return false;
}

int arch_pci_hotplug_notify(struct vm *vm, unsigned int seg, unsigned int slot, bool plug)
{
	struct x86_vm *a = x86(vm);
	int ret;

	if (!a || !a->pcihp)
		return -ENOTSUP;
	ret = pcihp_latch(a->pcihp, seg, slot, plug);
	return ret ? ret : ged_event(a->ged, GED_EVT_PCI_HOTPLUG);
}

static int build_acpi(struct vm *vm, uint64_t *rsdp)
{
	struct acpi_pci_seg pci[PCI_MAX_SEGMENTS];
	struct acpi_mmio_dev devs[VM_MAX_PLATFORM_DEVS];
	struct acpi_config cfg = {
		.nr_cpus = vm->cfg->boot_vcpus,
		.max_cpus = x86(vm)->cpuhp ? vm->max_vcpus : 0,
		.com1 = vm->serial != NULL,
		.ged = x86(vm)->ged != NULL,
		.pci_hotplug = x86(vm)->pcihp != NULL,
		.mem_hotplug = x86(vm)->memhp != NULL,
		.devs = devs,
		.nr_devs = vm->nr_platform_devs,
		.pci = pci,
		.nr_pci = acpi_pci(vm, pci),
	};
	unsigned int i;
	int ret;

	for (i = 0; i < vm->nr_platform_devs; i++)
		devs[i] = (struct acpi_mmio_dev){
			.base = vm->platform_devs[i].base,
			.size = vm->platform_devs[i].size,
			.irq = vm->platform_devs[i].irq,
		};
	ret = acpi_build(&vm->mem, &cfg, rsdp);
	if (ret)
		pr_err("building ACPI tables: %s", strerror(-ret));
	return ret;
}

/*
 * Without ACPI, devices are announced on the command line in the
 * virtio_mmio.device=SIZE@BASE:IRQ form (CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES).
 */
static char *build_cmdline(struct vm *vm)
{
	const char *base = vm->cfg->cmdline ? vm->cfg->cmdline : "";
	/* " virtio_mmio.device=" + size + "@0x" + base + ":" + irq, at most
	 * 20 + 20 + 3 + 16 + 1 + 10 characters. */
	size_t len = strlen(base) + 1 + vm->nr_platform_devs * 80;
	char *s = malloc(len);
	size_t off;
	unsigned int i;

	if (!s)
		return NULL;
	off = snprintf(s, len, "%s", base);
	for (i = 0; !vm->cfg->acpi && i < vm->nr_platform_devs && off < len; i++) {
		const struct platform_dev *d = &vm->platform_devs[i];

		off += snprintf(s + off, len - off,
				" virtio_mmio.device=%llu@0x%llx:%u",
				(unsigned long long)d->size,
				(unsigned long long)d->base, d->irq);
	}
	return s;
}

/*
 * What runs at the real-mode reset vector.  There is no firmware: a guest
 * that "reboots" by jumping to F000:FFF0 (Linux does under hardware-reduced
 * ACPI without EFI, unless booted with reboot=k or reboot=a) lands here and
 * writes the FADT reset register, which ends the VM like any other reset.
 */
static int write_reset_vector(struct guest_mem *gm)
{
	static const uint8_t stub[] = {
		0xb0, PM_RESET_VALUE,			/* mov al, value  */
		0xba, X86_PM_RESET & 0xff, X86_PM_RESET >> 8, /* mov dx, port */
		0xee,					/* out dx, al     */
		0xf4,					/* 1: hlt         */
		0xeb, 0xfd,				/* jmp 1b         */
	};

	return gm_write(gm, X86_RESET_VECTOR_GPA, stub, sizeof(stub));
}

int arch_load_guest(struct vm *vm)
{
	struct file_map kernel = { 0 }, initrd = { 0 };
	struct x86_boot_in in = { 0 };
	char *cmdline = NULL;
	int ret;

	ret = file_map(vm->cfg->kernel, "kernel", &kernel);
	if (ret)
		return ret;
	if (vm->cfg->initramfs) {
		ret = file_map(vm->cfg->initramfs, "initramfs", &initrd);
		if (ret)
			goto out;
	}
	if (vm->cfg->acpi && ((ret = pcihp_init(vm)) || (ret = build_acpi(vm, &in.rsdp_gpa))))
		goto out;
	ret = x86_write_boot_tables(&vm->mem);
	if (!ret)
		ret = write_reset_vector(&vm->mem);
	if (ret) {
		pr_err("writing boot page tables and reset vector: %s", strerror(-ret));
		goto out;
	}
	cmdline = build_cmdline(vm);
	if (!cmdline) {
		ret = -ENOMEM;
		goto out;
	}
	in.kernel = kernel.data;
	in.kernel_len = kernel.len;
	in.initrd = initrd.data;
	in.initrd_len = initrd.len;
	in.cmdline = cmdline;
	ret = x86_load_kernel(&vm->mem, &in, &x86(vm)->boot);
	if (ret) {
		pr_err("kernel %s not loaded: %s", vm->cfg->kernel,
		       strerror(-ret));
		goto out;
	}
	pr_info("kernel: %s entry 0x%llx, loaded 0x%llx-0x%llx",
		x86(vm)->boot.kind == X86_KERNEL_PVH ? "PVH ELF" : "bzImage",
		(unsigned long long)x86(vm)->boot.entry,
		(unsigned long long)x86(vm)->boot.kernel_start,
		(unsigned long long)x86(vm)->boot.kernel_end);
out:
	free(cmdline);
	file_unmap(&initrd);
	file_unmap(&kernel);
	return ret;
}

int arch_vcpu_init(struct vm *vm, struct vcpu *vcpu)
{
	struct kvm_cpuid2 *src = x86(vm)->cpuid, *c;
	size_t size = sizeof(*src) + src->nent * sizeof(src->entries[0]);
	int ret = 0;

	c = malloc(size);
	if (!c)
		return -ENOMEM;
	memcpy(c, src, size);
	x86_cpuid_fixup(c->entries, c->nent, vcpu->id, vm->max_vcpus);
	if (ioctl(vcpu->fd, KVM_SET_CPUID2, c) < 0) {
		ret = -errno;
		pr_err("vcpu%u: KVM_SET_CPUID2: %m", vcpu->id);
	}
	free(c);
	return ret;
}

int arch_vcpu_reset(struct vm *vm, struct vcpu *vcpu)
{
	return x86_vcpu_setup_regs(vcpu->fd, vcpu->id, &x86(vm)->boot);
}

int arch_vm_finalize(struct vm *vm)
{
	(void)vm;
	return 0;
}

uint32_t arch_irq_line_id(uint32_t irq)
{
	return irq;	/* IOAPIC pin = GSI */
}

int arch_power_button(struct vm *vm)
{
	struct x86_vm *a = x86(vm);

	/* Without ACPI tables the guest has no GED to hear the button. */
	if (!a || !a->ged)
		return -ENOTSUP;
	return ged_power_button(a->ged);
}

static void dump_seg(unsigned int id, const char *name, const struct kvm_segment *s)
{
	pr_warn("vcpu%u:   %s sel 0x%04x base 0x%llx limit 0x%x type %u s %u dpl %u p %u l %u "
		"db %u g %u unusable %u", id, name, s->selector, (unsigned long long)s->base,
		s->limit, s->type, s->s, s->dpl, s->present, s->l, s->db, s->g, s->unusable);
}

void arch_vcpu_dump(struct vcpu *vcpu)
{
	struct kvm_regs r;
	struct kvm_sregs s;
	struct kvm_vcpu_events e;
	unsigned int id = vcpu->id;
	bool have_regs = ioctl(vcpu->fd, KVM_GET_REGS, &r) == 0;

	if (have_regs) {
		pr_warn("vcpu%u:   rip 0x%llx rsp 0x%llx rflags 0x%llx rax 0x%llx rbx 0x%llx "
			"rcx 0x%llx rdx 0x%llx", id, r.rip, r.rsp, r.rflags, r.rax, r.rbx, r.rcx,
			r.rdx);
		pr_warn("vcpu%u:   rsi 0x%llx rdi 0x%llx rbp 0x%llx r8 0x%llx r9 0x%llx r10 0x%llx "
			"r11 0x%llx r12 0x%llx r13 0x%llx r14 0x%llx r15 0x%llx", id, r.rsi, r.rdi,
			r.rbp, r.r8, r.r9, r.r10, r.r11, r.r12, r.r13, r.r14, r.r15);
	}
	if (ioctl(vcpu->fd, KVM_GET_SREGS, &s) == 0) {
		/* After a shutdown intercept the VMCB is undefined, so KVM on AMD resets the
		 * vCPU: what is left to read is the reset state and the event it failed on. */
		if (have_regs && r.rip == 0xfff0 && s.cs.selector == 0xf000 &&
		    s.cs.base == 0xffff0000)
			pr_warn("vcpu%u:   (the CPU's reset state: KVM on AMD resets a vCPU after a "
				"shutdown; the event below is the one it could not deliver)", id);
		pr_warn("vcpu%u:   cr0 0x%llx cr2 0x%llx cr3 0x%llx cr4 0x%llx cr8 0x%llx efer 0x%llx "
			"apic_base 0x%llx", id, s.cr0, s.cr2, s.cr3, s.cr4, s.cr8, s.efer,
			s.apic_base);
		pr_warn("vcpu%u:   gdt 0x%llx/0x%x idt 0x%llx/0x%x", id, s.gdt.base, s.gdt.limit,
			s.idt.base, s.idt.limit);
		dump_seg(id, "cs", &s.cs);
		dump_seg(id, "ss", &s.ss);
		dump_seg(id, "ds", &s.ds);
		dump_seg(id, "tr", &s.tr);
	}
	if (ioctl(vcpu->fd, KVM_GET_VCPU_EVENTS, &e) == 0)
		pr_warn("vcpu%u:   events: exception %u nr %u has_error %u error 0x%x pending %u; "
			"interrupt injected %u nr %u soft %u shadow %u; nmi injected %u pending %u "
			"masked %u; sipi 0x%x flags 0x%x", id, e.exception.injected,
			e.exception.nr, e.exception.has_error_code, e.exception.error_code,
			e.exception.pending, e.interrupt.injected, e.interrupt.nr, e.interrupt.soft,
			e.interrupt.shadow, e.nmi.injected, e.nmi.pending, e.nmi.masked,
			e.sipi_vector, e.flags);
}

uint64_t arch_vcpu_pc(struct vcpu *vcpu)
{
	struct kvm_regs regs;

	if (ioctl(vcpu->fd, KVM_GET_REGS, &regs) < 0)
		return ~0ULL;
	return regs.rip;
}
