/*
 * x86_64 vCPU state set-up: CPUID fixups (pure, unit-tested), and the
 * boot-time registers, segments, page tables, MSRs and LAPIC for each entry
 * path.
 */
#ifndef KVMM_X86_CPU_H
#define KVMM_X86_CPU_H

#include <stdint.h>
#include <linux/kvm.h>

#include "boot.h"
#include "guest_mem.h"

/*
 * Adjusts the CPUID table KVM_GET_SUPPORTED_CPUID returned for vCPU CPU_ID of
 * NR_CPUS: hypervisor and TSC-deadline bits, APIC IDs and topology in leaves
 * 1, 4, 0xb, 0x1f, 0x80000008 and 0x8000001e, and XSAVE leaf 0xd trimmed to
 * the state components that have a size.  Pure: touches only ENTRIES.
 */
void x86_cpuid_fixup(struct kvm_cpuid_entry2 *entries, unsigned int nr,
		     unsigned int cpu_id, unsigned int nr_cpus);

/* Writes the boot GDT and the 4 GiB identity-mapping page tables into guest
 * RAM (see layout.h).  0/-EFAULT. */
int x86_write_boot_tables(struct guest_mem *gm);

/* A GDT descriptor for FLAGS/BASE/LIMIT (as in the kernel's GDT_ENTRY). */
uint64_t x86_gdt_entry(uint16_t flags, uint32_t base, uint32_t limit);

/* Decodes a GDT descriptor into a KVM segment with selector SEL. */
void x86_gdt_to_kvm_seg(uint64_t entry, uint16_t sel, struct kvm_segment *seg);

/* Sets registers, segments, control registers, MSRs, FPU and LAPIC LINT
 * pins of VCPU_FD for BOOT's entry path.  0/-errno with a message. */
int x86_vcpu_setup_regs(int vcpu_fd, unsigned int cpu_id,
			const struct x86_boot_out *boot);

#endif
