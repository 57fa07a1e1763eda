/*
 * CPUID fixups applied to KVM_GET_SUPPORTED_CPUID before KVM_SET_CPUID2:
 * what a guest needs to see a hypervisor, its own APIC ID and a coherent
 * topology (NR_CPUS single-threaded cores in one package), and XSAVE leaves
 * that agree with each other.
 */
#include "cpu.h"

#define CPUID_1_ECX_TSC_DEADLINE	(1u << 24)
#define CPUID_1_ECX_HYPERVISOR		(1u << 31)
#define CPUID_1_EDX_HTT			(1u << 28)

/* Smallest N with (1 << N) >= X. */
static unsigned int order_base_2(unsigned int x)
{
	unsigned int n = 0;

	while ((1u << n) < x)
		n++;
	return n;
}

static void fix_leaf1(struct kvm_cpuid_entry2 *e, unsigned int id,
		      unsigned int n)
{
	e->ecx |= CPUID_1_ECX_HYPERVISOR | CPUID_1_ECX_TSC_DEADLINE;
	/* EBX: APIC ID in 31:24, addressable logical CPUs in 23:16, CLFLUSH
	 * line size (8 * 8 bytes) in 15:8. */
	e->ebx = (id << 24) | ((n & 0xff) << 16) | (8u << 8);
	if (n > 1)
		e->edx |= CPUID_1_EDX_HTT;
	else
		e->edx &= ~CPUID_1_EDX_HTT;
}

static void fix_leaf4(struct kvm_cpuid_entry2 *e, unsigned int n)
{
	unsigned int level = (e->eax >> 5) & 0x7;
	unsigned int sharing = level >= 3 ? n - 1 : 0;

	if ((e->eax & 0x1f) == 0)	/* no cache at this subleaf */
		return;
	e->eax &= 0x3ff;
	e->eax |= ((n - 1) & 0x3f) << 26 | (sharing & 0xfff) << 14;
}

/* Leaves 0xb and 0x1f: level 0 SMT (1 thread), level 1 core (N cores). */
static void fix_topology(struct kvm_cpuid_entry2 *e, unsigned int id,
			 unsigned int n)
{
	switch (e->index) {
	case 0:
		e->eax = 0;
		e->ebx = 1;
		e->ecx = 1u << 8;
		break;
	case 1:
		e->eax = order_base_2(n);
		e->ebx = n;
		e->ecx = 2u << 8 | 1;
		break;
	default:
		e->eax = 0;
		e->ebx = 0;
		e->ecx = e->index;
		break;
	}
	e->edx = id;
}

/*
 * Leaf 0xd: keep in subleaf 0's EAX/EDX (the XCR0 bits a guest may set) only
 * components 0/1 and those whose subleaf reports a size, and make ECX (the
 * largest save area any such XCR0 needs) agree with the subleaves.  KVM
 * recomputes EBX from the guest's XCR0 at run time.
 */
static void fix_xsave(struct kvm_cpuid_entry2 *entries, unsigned int nr)
{
	struct kvm_cpuid_entry2 *sub0 = NULL;
	uint64_t mask, keep = 0x3;
	uint32_t size = 512 + 64;	/* legacy area + XSAVE header */
	unsigned int i;

	for (i = 0; i < nr; i++)
		if (entries[i].function == 0xd && entries[i].index == 0)
			sub0 = &entries[i];
	if (!sub0)
		return;
	mask = ((uint64_t)sub0->edx << 32) | sub0->eax;
	for (i = 0; i < nr; i++) {
		struct kvm_cpuid_entry2 *e = &entries[i];

		if (e->function != 0xd || e->index < 2 || e->index > 63)
			continue;
		if (!(mask & (1ULL << e->index)) || e->eax == 0)
			continue;
		keep |= 1ULL << e->index;
		if (e->ebx + e->eax > size)
			size = e->ebx + e->eax;
	}
	mask &= keep;
	sub0->eax = (uint32_t)mask;
	sub0->edx = (uint32_t)(mask >> 32);
	sub0->ecx = size;
}

void x86_cpuid_fixup(struct kvm_cpuid_entry2 *entries, unsigned int nr,
		     unsigned int cpu_id, unsigned int nr_cpus)
{
	unsigned int i;

	if (nr_cpus == 0)
		nr_cpus = 1;
	for (i = 0; i < nr; i++) {
		struct kvm_cpuid_entry2 *e = &entries[i];

		switch (e->function) {
		case 0x1:
			fix_leaf1(e, cpu_id, nr_cpus);
			break;
		case 0x4:
			fix_leaf4(e, nr_cpus);
			break;
		case 0xb:
		case 0x1f:
			fix_topology(e, cpu_id, nr_cpus);
			break;
		case 0x80000008:
			/* AMD: NC (cores - 1) in 7:0, ApicIdSize in 15:12. */
			e->ecx = (e->ecx & ~0xf0ffu) |
				 (order_base_2(nr_cpus) << 12) |
				 ((nr_cpus - 1) & 0xff);
			break;
		case 0x8000001e:
			/* AMD: extended APIC ID; one thread per core. */
			e->eax = cpu_id;
			e->ebx = cpu_id & 0xff;
			e->ecx = 0;
			break;
		default:
			break;
		}
	}
	fix_xsave(entries, nr);
}
