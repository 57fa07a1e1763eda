/*
 * The architecture boundary.  Common code (vmm/) calls only these functions;
 * arch/x86_64/ and arch/aarch64/ each implement all of them under the same
 * names, and meson compiles exactly one of the two directories.  Nothing in
 * vmm/, devices/ or virtio/ uses #ifdef on the architecture.
 */
#ifndef KVMM_ARCH_H
#define KVMM_ARCH_H

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

/* Configures one vCPU (CPUID/MSRs or target/features, boot registers).  Runs
 * on the creating thread before the vCPU threads start.  0/-errno. */
int arch_vcpu_init(struct vm *vm, struct vcpu *vcpu);

/* The guest program counter of a stopped vCPU, for error reports. */
uint64_t arch_vcpu_pc(struct vcpu *vcpu);

/*
 * The MMIO window and interrupt line of virtio-mmio slot INDEX (0, 1, ...), from the arch's
 * memory map (layout.h). 0, or -ENOSPC when the arch has no more slots.
 */
int arch_virtio_slot(unsigned int index, uint64_t *base, uint64_t *size, uint32_t *irq);

/* Short name of the architecture ("x86_64", "aarch64"). */
extern const char arch_name[];

#endif
