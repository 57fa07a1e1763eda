/*
 * Unit tests for the CPUID fixups applied to KVM's supported CPUID.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "cpu.h"

static struct kvm_cpuid_entry2 tab[16];
static unsigned int n;

static struct kvm_cpuid_entry2 *add(uint32_t fn, uint32_t idx, uint32_t a,
				    uint32_t b, uint32_t c, uint32_t d)
{
	struct kvm_cpuid_entry2 *e = &tab[n++];

	memset(e, 0, sizeof(*e));
	e->function = fn;
	e->index = idx;
	e->eax = a;
	e->ebx = b;
	e->ecx = c;
	e->edx = d;
	return e;
}

static struct kvm_cpuid_entry2 *find(uint32_t fn, uint32_t idx)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		if (tab[i].function == fn && tab[i].index == idx)
			return &tab[i];
	return NULL;
}

static void fill(void)
{
	n = 0;
	add(0x1, 0, 0x800f12, 0xff000800, 0x0, 1u << 28);
	add(0x4, 0, 0x121, 0, 0, 0);			/* L1d */
	add(0x4, 3, 0x163, 0, 0, 0);			/* L3 */
	add(0x4, 4, 0x0, 0, 0, 0);			/* end */
	add(0xb, 0, 0, 0, 0, 0);
	add(0xb, 1, 0, 0, 0, 0);
	add(0xb, 2, 0, 0, 0, 0);
	/* XSAVE: x87|SSE|AVX|bit 9 (PKRU) with a zero-sized subleaf 9. */
	add(0xd, 0, 0x207, 0x340, 0x988, 0);
	add(0xd, 2, 0x100, 0x240, 0, 0);
	add(0xd, 9, 0, 0, 0, 0);
	add(0x80000008, 0, 0x3030, 0, 0x0000f0ff, 0);
	add(0x8000001e, 0, 7, 0x0105, 3, 0);
}

Test(cpuid, leaf1_identity_and_hypervisor)
{
	fill();
	x86_cpuid_fixup(tab, n, 3, 4);
	cr_assert_eq(find(1, 0)->ebx >> 24, 3);
	cr_assert_eq((find(1, 0)->ebx >> 16) & 0xff, 4);
	cr_assert(find(1, 0)->ecx & (1u << 31));
	cr_assert(find(1, 0)->ecx & (1u << 24));
	cr_assert(find(1, 0)->edx & (1u << 28));

	fill();
	x86_cpuid_fixup(tab, n, 0, 1);
	cr_assert_eq(find(1, 0)->ebx >> 24, 0);
	cr_assert_not(find(1, 0)->edx & (1u << 28));
}

Test(cpuid, topology_leaves)
{
	fill();
	x86_cpuid_fixup(tab, n, 5, 6);
	cr_assert_eq(find(0xb, 0)->ebx, 1);
	cr_assert_eq(find(0xb, 0)->ecx, 1u << 8);
	cr_assert_eq(find(0xb, 0)->edx, 5);
	cr_assert_eq(find(0xb, 1)->eax, 3);		/* 6 cpus -> 3 bits */
	cr_assert_eq(find(0xb, 1)->ebx, 6);
	cr_assert_eq(find(0xb, 1)->ecx, (2u << 8) | 1);
	cr_assert_eq(find(0xb, 1)->edx, 5);
	cr_assert_eq(find(0xb, 2)->ecx, 2);
	cr_assert_eq(find(0xb, 2)->ebx, 0);
	cr_assert_eq(find(4, 0)->eax >> 26, 5);
	cr_assert_eq((find(4, 0)->eax >> 14) & 0xfff, 0);
	cr_assert_eq((find(4, 3)->eax >> 14) & 0xfff, 5);
	cr_assert_eq(find(4, 4)->eax, 0);
	cr_assert_eq(find(0x80000008, 0)->ecx & 0xff, 5);
	cr_assert_eq((find(0x80000008, 0)->ecx >> 12) & 0xf, 3);
	cr_assert_eq(find(0x8000001e, 0)->eax, 5);
}

Test(cpuid, xsave_drops_sizeless_components)
{
	fill();
	x86_cpuid_fixup(tab, n, 0, 1);
	cr_assert_eq(find(0xd, 0)->eax, 0x7);		/* PKRU bit gone */
	cr_assert_eq(find(0xd, 0)->ecx, 0x240 + 0x100);
}

Test(cpuid, zero_cpus_treated_as_one)
{
	fill();
	x86_cpuid_fixup(tab, n, 0, 0);
	cr_assert_eq((find(1, 0)->ebx >> 16) & 0xff, 1);
}
