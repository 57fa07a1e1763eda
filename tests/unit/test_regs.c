/*
 * Unit tests for the x86_64 boot GDT and identity page tables.
 */
#include <criterion/criterion.h>
#include <errno.h>

#include "cpu.h"
#include "layout.h"

Test(regs, gdt_entry_roundtrip)
{
	struct kvm_segment s;
	uint64_t code64 = x86_gdt_entry(0xa09b, 0, 0xfffff);

	cr_assert_eq(code64, 0x00af9b000000ffffULL);
	x86_gdt_to_kvm_seg(code64, 0x10, &s);
	cr_assert_eq(s.selector, 0x10);
	cr_assert_eq(s.l, 1);
	cr_assert_eq(s.db, 0);
	cr_assert_eq(s.g, 1);
	cr_assert_eq(s.type, 0xb);
	cr_assert_eq(s.present, 1);
	cr_assert_eq(s.s, 1);
	cr_assert_eq(s.limit, 0xffffffff);
	cr_assert_eq(s.unusable, 0);

	x86_gdt_to_kvm_seg(x86_gdt_entry(0xc093, 0x12345678, 0xfffff), 0x18, &s);
	cr_assert_eq(s.base, 0x12345678);
	cr_assert_eq(s.db, 1);
	cr_assert_eq(s.type, 3);

	x86_gdt_to_kvm_seg(x86_gdt_entry(0x008b, 0, 0x67), 0x20, &s);
	cr_assert_eq(s.limit, 0x67);
	cr_assert_eq(s.s, 0);
	cr_assert_eq(s.g, 0);
}

Test(regs, identity_map_covers_4g)
{
	struct gm_region l[] = { { .gpa = 0, .size = 16 << 20 } };
	struct guest_mem gm;
	uint64_t e, gdt[6];

	cr_assert_eq(gm_create(&gm, l, 1), 0);
	cr_assert_eq(x86_write_boot_tables(&gm), 0);
	cr_assert_eq(gm_read(&gm, X86_PML4_GPA, &e, 8), 0);
	cr_assert_eq(e, X86_PDPT_GPA | 3);
	cr_assert_eq(gm_read(&gm, X86_PDPT_GPA + 3 * 8, &e, 8), 0);
	cr_assert_eq(e, (X86_PD_GPA + 0x3000) | 3);
	/* Last 2 MiB page of the 4th GiB. */
	cr_assert_eq(gm_read(&gm, X86_PD_GPA + 0x3000 + 511 * 8, &e, 8), 0);
	cr_assert_eq(e, 0xffe00000ULL | 0x83);
	cr_assert_eq(gm_read(&gm, X86_GDT_GPA, gdt, sizeof(gdt)), 0);
	cr_assert_eq(gdt[0], 0);
	cr_assert_eq(gdt[2], 0x00af9b000000ffffULL);	/* __BOOT_CS 0x10 */
	cr_assert_eq(gdt[3], 0x00cf93000000ffffULL);	/* __BOOT_DS 0x18 */
	gm_destroy(&gm);
}

Test(regs, tables_need_ram)
{
	struct gm_region l[] = { { .gpa = 0x100000, .size = 1 << 20 } };
	struct guest_mem gm;

	cr_assert_eq(gm_create(&gm, l, 1), 0);
	cr_assert_eq(x86_write_boot_tables(&gm), -EFAULT);
	gm_destroy(&gm);
}
