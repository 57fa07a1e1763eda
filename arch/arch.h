/*
 * The architecture boundary.  Common code (vmm/) calls only these functions;
 * arch/x86_64/ and arch/aarch64/ each implement all of them under the same
 * names, and meson compiles exactly one of the two directories.  Nothing in
 * vmm/, devices/ or virtio/ uses #ifdef on the architecture.
 */
#ifndef KVMM_ARCH_H
#define KVMM_ARCH_H

#include <stdbool.h>
#include <stdint.h>
#include <linux/kvm.h>

#include "guest_mem.h"

struct vm;
struct vcpu;

/* Most RAM regions an arch splits guest RAM into. */
#define ARCH_MAX_RAM_REGIONS 2

/*
 * Fills REGIONS with the guest-physical placement of RAM_SIZE bytes of RAM
 * (holes for MMIO left out).  Returns the number of regions or -EINVAL if
 * RAM_SIZE cannot be placed.
 */
int arch_ram_layout(uint64_t ram_size, struct gm_region *regions,
		    unsigned int max);

/* Per-VM set-up after KVM_CREATE_VM and before RAM is registered:
 * interrupt controller, timers, arch-specific VM ioctls.  0/-errno. */
int arch_vm_init(struct vm *vm);

/* Frees what arch_vm_init() and arch_devices_init() allocated; safe after
 * a partial set-up. */
void arch_vm_destroy(struct vm *vm);

/* Registers the arch's fixed devices (UART, reset/poweroff paths) on the
 * VM's buses.  0/-errno. */
int arch_devices_init(struct vm *vm);

/*
 * Loads the kernel, initramfs and command line from vm->cfg into guest RAM
 * and writes the platform description (ACPI tables on x86_64, a device tree
 * on aarch64) covering the vCPUs and every registered platform device.
 * Refuses a missing, truncated or unrecognised kernel with a message before
 * any vCPU exists.  0/-errno.
 */
int arch_load_guest(struct vm *vm);

/*
 * Set-up order (vm.c): arch_vm_init, RAM, then every vCPU with
 * arch_vcpu_init, arch_vm_finalize, arch_devices_init and the virtio
 * devices, arch_load_guest, and arch_vcpu_reset for every vCPU.
 */

/* Configures one vCPU just created: CPUID on x86_64, target and features
 * (PSCI, secondaries powered off) on aarch64.  0/-errno. */
int arch_vcpu_init(struct vm *vm, struct vcpu *vcpu);

/* After every vCPU exists and is configured, before any device takes an
 * interrupt (the aarch64 GIC can only be initialised then).  0/-errno. */
int arch_vm_finalize(struct vm *vm);

/* Sets the boot registers of one vCPU from the loaded guest (entry point,
 * boot parameters).  Runs before the vCPU threads start.  0/-errno. */
int arch_vcpu_reset(struct vm *vm, struct vcpu *vcpu);

/* The value of struct kvm_irq_level.irq (KVM_IRQ_LINE) for interrupt line
 * IRQ, numbered as arch_virtio_slot() numbers them. */
uint32_t arch_irq_line_id(uint32_t irq);

/* The guest program counter of a stopped vCPU, for error reports. */
uint64_t arch_vcpu_pc(struct vcpu *vcpu);

/* Logs (warn) the state of a vCPU out of KVM_RUN, from its own thread: one the guest lost
 * (an x86 triple fault, a failed entry) or one an operator asked about (vcpu_request_dump):
 * x86_64 its registers, segment and control registers and pending events, aarch64 its PC
 * and PSTATE; a line per group, each prefixed "vcpuN:". */
void arch_vcpu_dump(struct vcpu *vcpu);

/*
 * The MMIO window and interrupt line of virtio-mmio slot INDEX (0, 1, ...), from the arch's
 * memory map (layout.h). 0, or -ENOSPC when the arch has no more slots.
 */
int arch_virtio_slot(unsigned int index, uint64_t *base, uint64_t *size, uint32_t *irq);

struct pci_windows;
struct vmm_config;

/*
 * The guest-physical windows of PCI segment SEG (layout.h) for a VM with CFG's RAM: the
 * segment's ECAM window (bus 0 only, PCI_ECAM_BUS_SIZE), its 32-bit BAR window below
 * 4 GiB and its 64-bit BAR window above RAM.  0, or -ENOSPC when the arch has no such
 * segment.
 */
int arch_pci_windows(const struct vmm_config *cfg, unsigned int seg, struct pci_windows *w);

/*
 * Whether virtio devices go on PCI when the user did not choose a transport: true, or
 * false with *WHY saying what is missing (x86_64: no ACPI tables to describe the host
 * bridge; aarch64: no GICv3 ITS to deliver MSIs).  Called after arch_vm_finalize().
 */
bool arch_pci_default(struct vm *vm, const char **why);

/* Whether this VM can deliver MSIs (x86_64: always; aarch64: with a GICv3 ITS). */
bool arch_msi_capable(struct vm *vm);

/*
 * Fills E (room for MAX) with the routes the in-kernel interrupt controller has before any
 * KVM_SET_GSI_ROUTING (which replaces the whole table): x86_64 IOAPIC pins and PIC lines,
 * aarch64 SPIs.  Returns how many entries it wrote; GSIs above the highest one among them
 * are free for MSI routes.
 */
unsigned int arch_irqchip_routes(struct vm *vm, struct kvm_irq_routing_entry *e,
				 unsigned int max);

/* Completes an MSI route for the function whose requester ID (segment << 16 | bus << 8 |
 * devfn) is DEVID: aarch64's ITS needs it (KVM_MSI_VALID_DEVID); x86_64 ignores it. */
void arch_msi_route(struct kvm_irq_routing_entry *e, uint32_t devid);

/*
 * Presses the guest's power button (the API's vm.power-button): tells a
 * running guest, through the platform's own mechanism (x86_64: an ACPI GED
 * notifying a PNP0C0C button; aarch64: a PL061 GPIO line described as a
 * gpio-keys KEY_POWER), that the user asks it to shut down; what the guest
 * does about it is up to the guest (Linux reports KEY_POWER and its
 * userspace decides).  Returns as soon as the event is signalled, without
 * waiting for the guest.  0; -ENOTSUP when this VM has no power button
 * (x86_64 without ACPI tables); -EBUSY when the guest made the aarch64 key
 * line an output; another -errno if the event could not be signalled.  Called from the API thread while the vCPUs run, with VM kept
 * alive by the caller.
 */
int arch_power_button(struct vm *vm);

/*
 * PCI hot-plug, as far as the platform can tell the guest of it.
 *
 * arch_pci_hotplug(): whether devices may be added to and removed from vm->pci's slots
 * while the guest runs: true, or false with *WHY saying why not (x86_64: no ACPI tables or
 * no PCI; aarch64: kvmm boots guests without firmware, so there is no ACPI to notify them,
 * and its host bridges have no PCIe root ports for native hot-plug).
 *
 * arch_pci_hotplug_notify(): tells the guest that SLOT of segment SEG now holds a device
 * (PLUG), or asks it to eject the device there (!PLUG).  When the guest has let go of
 * ejected devices the platform calls virtio_devices_ejected() (virtio/devices.h), from a
 * vCPU thread.  0, -ENOTSUP (no hot-plug), or the -errno of raising the event.  Called from
 * the API thread while the vCPUs run.
 */
/*
 * vCPU hot-plug.  arch_max_vcpus(): how many vCPUs a VM of CFG can have: cfg->max_vcpus
 * where the platform can add vCPUs at run time (x86_64 with ACPI), else boot_vcpus, with
 * *WHY saying why not (aarch64: the GIC is set up once every vCPU exists; x86_64: no ACPI
 * tables).  arch_cpu_hotplug_notify(): tells the guest vCPU CPU was added (PLUG), or asks
 * it to eject it; once the guest has, the platform calls vm_vcpus_ejected() (vm.h) from a
 * vCPU thread.  0, -ENOTSUP, or the -errno of raising the event.
 */
unsigned int arch_max_vcpus(const struct vmm_config *cfg, const char **why);
int arch_cpu_hotplug_notify(struct vm *vm, unsigned int cpu, bool plug);

/*
 * Memory hot-plug.  arch_ram_hotplug_region(): where RAM hot-plugged into a VM of CFG goes:
 * guest-physical *GPA on, *SIZE bytes (cfg->mem_hotplug_size rounded down to *BLOCK, the
 * unit in which RAM is plugged: x86_64's 128 MiB memory block, or the huge page when
 * larger); the 64-bit PCI windows lie above it.  0 (*SIZE 0 when CFG asks for none), or
 * -ENOTSUP with *WHY saying why the platform cannot (aarch64: no firmware to tell a
 * device-tree guest; x86_64: no ACPI tables).
 * arch_mem_hotplug_check(): whether one more range can be plugged into VM now: 0, or
 * -ENOTSUP / -ENOSPC (all slots used) with *WHY.
 * arch_mem_hotplug_notify(): tells the guest that [GPA, GPA + SIZE), already guest RAM
 * (a KVM slot, and known to vhost-user back-ends), is there for it to add.  0 once the
 * range is the guest's (also when the event could not be raised: logged, and the guest
 * finds it at the next one), or -ENOSPC / -ENOTSUP with nothing changed.  Called from the
 * API thread.
 */
int arch_ram_hotplug_region(const struct vmm_config *cfg, uint64_t *gpa, uint64_t *size,
			    uint64_t *block, const char **why);
int arch_mem_hotplug_check(struct vm *vm, const char **why);
int arch_mem_hotplug_notify(struct vm *vm, uint64_t gpa, uint64_t size);

bool arch_pci_hotplug(struct vm *vm, const char **why);
int arch_pci_hotplug_notify(struct vm *vm, unsigned int seg, unsigned int slot, bool plug);

/* Short name of the architecture ("x86_64", "aarch64"). */
extern const char arch_name[];

#endif
