/*
 * Boot-time vCPU state for the two x86_64 entry paths:
 *  - bzImage 64-bit protocol: long mode, paging on with an identity map of
 *    the first 4 GiB, CS = __BOOT_CS (0x10), DS/ES/SS = __BOOT_DS (0x18),
 *    RSI = zero page;
 *  - PVH: 32-bit protected mode, paging off, flat CS/DS, EBX = start info.
 * Secondary vCPUs get the same state; with the in-kernel LAPIC they wait for
 * INIT/SIPI and never execute it.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#include <sys/ioctl.h>

#include "cpu.h"
#include "layout.h"
#include "log.h"

/* GDT slots; selectors are index * 8. */
enum { GDT_NULL, GDT_CODE32, GDT_CODE64, GDT_DATA, GDT_TSS, GDT_NR = 6 };

#define X86_CR0_PE	(1ULL << 0)
#define X86_CR0_ET	(1ULL << 4)
#define X86_CR0_NE	(1ULL << 5)
#define X86_CR0_PG	(1ULL << 31)
#define X86_CR4_PAE	(1ULL << 5)
#define X86_EFER_LME	(1ULL << 8)
#define X86_EFER_LMA	(1ULL << 10)

#define PTE_P		0x1ULL
#define PTE_RW		0x2ULL
#define PTE_PS		0x80ULL

#define MSR_IA32_TSC		0x10
#define MSR_IA32_SYSENTER_CS	0x174
#define MSR_IA32_SYSENTER_ESP	0x175
#define MSR_IA32_SYSENTER_EIP	0x176
#define MSR_IA32_MISC_ENABLE	0x1a0
#define MSR_MTRR_DEF_TYPE	0x2ff
#define MSR_STAR		0xc0000081
#define MSR_LSTAR		0xc0000082
#define MSR_CSTAR		0xc0000083
#define MSR_SYSCALL_MASK	0xc0000084
#define MSR_KERNEL_GS_BASE	0xc0000102

#define APIC_LVT0		0x350
#define APIC_LVT1		0x360
#define APIC_MODE_NMI		0x4
#define APIC_MODE_EXTINT	0x7
#define APIC_LVT_MASKED		(1u << 16)

uint64_t x86_gdt_entry(uint16_t flags, uint32_t base, uint32_t limit)
{
	return ((uint64_t)(base & 0xff000000) << 32) |
	       ((uint64_t)(flags & 0xf0ff) << 40) |
	       ((uint64_t)(limit & 0x000f0000) << 32) |
	       ((uint64_t)(base & 0x00ffffff) << 16) |
	       (uint64_t)(limit & 0x0000ffff);
}

void x86_gdt_to_kvm_seg(uint64_t e, uint16_t sel, struct kvm_segment *seg)
{
	memset(seg, 0, sizeof(*seg));
	seg->base = ((e >> 16) & 0xffffff) | (((e >> 56) & 0xff) << 24);
	seg->limit = (uint32_t)((e & 0xffff) | (((e >> 48) & 0xf) << 16));
	seg->selector = sel;
	seg->type = (e >> 40) & 0xf;
	seg->s = (e >> 44) & 1;
	seg->dpl = (e >> 45) & 3;
	seg->present = (e >> 47) & 1;
	seg->avl = (e >> 52) & 1;
	seg->l = (e >> 53) & 1;
	seg->db = (e >> 54) & 1;
	seg->g = (e >> 55) & 1;
	seg->unusable = !seg->present;
	/* KVM wants the byte-granular limit. */
	if (seg->g)
		seg->limit = (seg->limit << 12) | 0xfff;
}

static const uint64_t *boot_gdt(void)
{
	static uint64_t gdt[GDT_NR];

	if (!gdt[GDT_CODE32]) {
		gdt[GDT_CODE32] = x86_gdt_entry(0xc09b, 0, 0xfffff);
		gdt[GDT_CODE64] = x86_gdt_entry(0xa09b, 0, 0xfffff);
		gdt[GDT_DATA] = x86_gdt_entry(0xc093, 0, 0xfffff);
		gdt[GDT_TSS] = x86_gdt_entry(0x008b, 0, 0x67);
	}
	return gdt;
}

int x86_write_boot_tables(struct guest_mem *gm)
{
	uint64_t pml4 = X86_PDPT_GPA | PTE_P | PTE_RW;
	uint64_t pdpt[4], pd[512];
	unsigned int i, j;

	if (gm_write(gm, X86_GDT_GPA, boot_gdt(), GDT_NR * sizeof(uint64_t)))
		return -EFAULT;
	if (gm_write(gm, X86_PML4_GPA, &pml4, sizeof(pml4)))
		return -EFAULT;
	for (i = 0; i < 4; i++)
		pdpt[i] = (X86_PD_GPA + i * 0x1000) | PTE_P | PTE_RW;
	if (gm_write(gm, X86_PDPT_GPA, pdpt, sizeof(pdpt)))
		return -EFAULT;
	for (i = 0; i < 4; i++) {
		for (j = 0; j < 512; j++)
			pd[j] = ((uint64_t)i << 30 | (uint64_t)j << 21) |
				PTE_P | PTE_RW | PTE_PS;
		if (gm_write(gm, X86_PD_GPA + i * 0x1000, pd, sizeof(pd)))
			return -EFAULT;
	}
	return 0;
}

static void setup_sregs(struct kvm_sregs *sregs, bool long_mode)
{
	const uint64_t *gdt = boot_gdt();
	struct kvm_segment code, data, tss;
	unsigned int code_idx = long_mode ? GDT_CODE64 : GDT_CODE32;

	x86_gdt_to_kvm_seg(gdt[code_idx], code_idx * 8, &code);
	x86_gdt_to_kvm_seg(gdt[GDT_DATA], GDT_DATA * 8, &data);
	x86_gdt_to_kvm_seg(gdt[GDT_TSS], GDT_TSS * 8, &tss);

	sregs->gdt.base = X86_GDT_GPA;
	sregs->gdt.limit = GDT_NR * 8 - 1;
	sregs->idt.base = 0;
	sregs->idt.limit = 0;
	sregs->cs = code;
	sregs->ds = sregs->es = sregs->fs = sregs->gs = sregs->ss = data;
	sregs->tr = tss;
	sregs->cr0 = X86_CR0_PE | X86_CR0_ET | X86_CR0_NE;
	sregs->cr4 = 0;
	sregs->efer = 0;
	if (long_mode) {
		sregs->cr3 = X86_PML4_GPA;
		sregs->cr4 |= X86_CR4_PAE;
		sregs->cr0 |= X86_CR0_PG;
		sregs->efer |= X86_EFER_LME | X86_EFER_LMA;
	}
}

static int setup_msrs(int fd)
{
	static const uint32_t zeroed[] = {
		MSR_IA32_SYSENTER_CS, MSR_IA32_SYSENTER_ESP,
		MSR_IA32_SYSENTER_EIP, MSR_STAR, MSR_LSTAR, MSR_CSTAR,
		MSR_SYSCALL_MASK, MSR_KERNEL_GS_BASE, MSR_IA32_TSC,
	};
	union {
		struct kvm_msrs hdr;
		uint8_t bytes[sizeof(struct kvm_msrs) +
			      16 * sizeof(struct kvm_msr_entry)];
	} m;
	struct kvm_msr_entry *e = m.hdr.entries;
	unsigned int n = 0, i;
	int ret;

	memset(&m, 0, sizeof(m));
	for (i = 0; i < sizeof(zeroed) / sizeof(zeroed[0]); i++)
		e[n++].index = zeroed[i];
	e[n].index = MSR_IA32_MISC_ENABLE;
	e[n++].data = 1;			/* fast strings */
	/* MTRRs enabled, default type write-back: without this Linux maps
	 * all of RAM uncached and boots many times slower. */
	e[n].index = MSR_MTRR_DEF_TYPE;
	e[n++].data = (1u << 11) | 6;
	m.hdr.nmsrs = n;
	ret = ioctl(fd, KVM_SET_MSRS, &m);
	if (ret < 0)
		return -errno;
	if ((unsigned int)ret != n) {
		pr_err("KVM_SET_MSRS: MSR 0x%x refused", e[ret].index);
		return -EINVAL;
	}
	return 0;
}

static int setup_lapic(int fd)
{
	struct kvm_lapic_state lapic;
	uint32_t *lvt0, *lvt1;

	if (ioctl(fd, KVM_GET_LAPIC, &lapic) < 0)
		return -errno;
	/*
	 * LINT0 ExtINT but masked: there is no 8259 for the guest (the MADT
	 * says so), yet KVM_IRQ_LINE also drives KVM's PIC, and an unmasked
	 * ExtINT LINT0 would make Linux keep virtual-wire mode and take
	 * every ISA edge twice.  LINT1 = NMI, as firmware leaves it.
	 */
	lvt0 = (uint32_t *)(lapic.regs + APIC_LVT0);
	lvt1 = (uint32_t *)(lapic.regs + APIC_LVT1);
	*lvt0 = APIC_LVT_MASKED | (APIC_MODE_EXTINT << 8);
	*lvt1 = (*lvt1 & ~(0x700u | APIC_LVT_MASKED)) | (APIC_MODE_NMI << 8);
	return ioctl(fd, KVM_SET_LAPIC, &lapic) < 0 ? -errno : 0;
}

int x86_vcpu_setup_regs(int fd, unsigned int cpu_id,
			const struct x86_boot_out *boot)
{
	bool long_mode = boot->kind == X86_KERNEL_BZIMAGE;
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	struct kvm_fpu fpu;
	int ret;

	if (ioctl(fd, KVM_GET_SREGS, &sregs) < 0) {
		pr_err("vcpu%u: KVM_GET_SREGS: %m", cpu_id);
		return -errno;
	}
	setup_sregs(&sregs, long_mode);
	if (ioctl(fd, KVM_SET_SREGS, &sregs) < 0) {
		pr_err("vcpu%u: KVM_SET_SREGS: %m", cpu_id);
		return -errno;
	}

	memset(&regs, 0, sizeof(regs));
	regs.rflags = 0x2;
	regs.rip = boot->entry;
	regs.rsp = X86_ZERO_PAGE_GPA - 0x10;
	if (long_mode)
		regs.rsi = boot->boot_info_gpa;
	else
		regs.rbx = boot->boot_info_gpa;
	if (ioctl(fd, KVM_SET_REGS, &regs) < 0) {
		pr_err("vcpu%u: KVM_SET_REGS: %m", cpu_id);
		return -errno;
	}

	memset(&fpu, 0, sizeof(fpu));
	fpu.fcw = 0x37f;
	fpu.mxcsr = 0x1f80;
	if (ioctl(fd, KVM_SET_FPU, &fpu) < 0) {
		pr_err("vcpu%u: KVM_SET_FPU: %m", cpu_id);
		return -errno;
	}
	ret = setup_msrs(fd);
	if (ret) {
		pr_err("vcpu%u: setting MSRs: %s", cpu_id, strerror(-ret));
		return ret;
	}
	ret = setup_lapic(fd);
	if (ret)
		pr_err("vcpu%u: LAPIC LINT set-up: %s", cpu_id, strerror(-ret));
	return ret;
}
