/*
 * Unit tests for the x86_64 kernel loaders.  Each test builds a synthetic
 * kernel in memory (a bzImage with a hand-set setup header, or an ELF with
 * PT_LOAD segments and a Xen PVH note), loads it into a 64 MiB guest and
 * checks guest RAM; the malformed variants check the refusal and that
 * nothing was written to the guest.
 */
#define _GNU_SOURCE		/* SEEK_DATA */
#include <asm/bootparam.h>
#include <criterion/criterion.h>
#include <elf.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "boot.h"
#include "guest_mem.h"
#include "layout.h"
#include "log.h"

#define MiB (1ULL << 20)
#define RAM (64 * MiB)

static struct guest_mem gm;
static uint8_t *kbuf;
static size_t klen;
static uint8_t initrd[3 * 4096 + 123];
static struct x86_boot_in in;
static struct x86_boot_out out;

static void setup(void)
{
	struct gm_region l[] = { { .gpa = 0, .size = RAM } };
	size_t i;

	cr_assert_eq(gm_create(&gm, l, 1), 0);
	for (i = 0; i < sizeof(initrd); i++)
		initrd[i] = (uint8_t)(i * 7 + 1);
	memset(&in, 0, sizeof(in));
	in.cmdline = "console=ttyS0 root=/dev/vda";
	in.rsdp_gpa = X86_ACPI_GPA;
}

static void teardown(void)
{
	free(kbuf);
	kbuf = NULL;
	gm_destroy(&gm);
}

static int load(void)
{
	in.kernel = kbuf;
	in.kernel_len = klen;
	return x86_load_kernel(&gm, &in, &out);
}

static void with_initrd(size_t len)
{
	in.initrd = initrd;
	in.initrd_len = len;
}

/*
 * A refused load wrote nothing: no page of the guest's memfd has ever been
 * touched, so it has no data to seek to.  (Quicker and stricter than
 * scanning 64 MiB for non-zero bytes.)
 */
static void expect_ram_untouched(void)
{
	errno = 0;
	cr_expect_eq(lseek(gm.fd, 0, SEEK_DATA), -1,
		     "guest RAM was written to");
	cr_expect_eq(errno, ENXIO);
}

/* Sends log lines to a file and says whether one contains NEEDLE. */
static char log_path[64];

static void capture_log(void)
{
	snprintf(log_path, sizeof(log_path), "/tmp/kvmm-test-boot-%d.log",
		 (int)getpid());
	unlink(log_path);
	cr_assert_eq(log_set_file(log_path), 0);
}

static bool log_has(const char *needle)
{
	char buf[4096];
	size_t n;
	FILE *f = fopen(log_path, "r");

	if (!f)
		return false;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	unlink(log_path);
	return strstr(buf, needle) != NULL;
}

static void check_initrd(uint64_t floor, uint64_t ceiling)
{
	uint8_t *p;

	cr_assert_neq(out.initrd_gpa, 0);
	cr_expect_eq(out.initrd_gpa % 4096, 0);
	cr_expect_geq(out.initrd_gpa, floor);
	cr_expect_leq(out.initrd_gpa + in.initrd_len, ceiling);
	/* Highest fit: one more page up would cross the ceiling. */
	cr_expect_gt(out.initrd_gpa + 4096 + in.initrd_len, ceiling);
	p = gm_ptr(&gm, out.initrd_gpa, in.initrd_len);
	cr_assert_not_null(p);
	cr_expect_eq(memcmp(p, in.initrd, in.initrd_len), 0);
}

static void check_cmdline(void)
{
	const char *p = gm_ptr(&gm, X86_CMDLINE_GPA, strlen(in.cmdline) + 1);

	cr_assert_not_null(p);
	cr_expect_str_eq(p, in.cmdline);
}

/* ---- bzImage ---------------------------------------------------------- */

#define BZ_SETUP_SECTS	3
#define BZ_PM_OFF	((BZ_SETUP_SECTS + 1) * 512)
#define BZ_PM_SIZE	(20 * 1024)
#define BZ_PREF		(16 * MiB)
#define BZ_INIT_SIZE	(8 * MiB)

static struct setup_header *hdr(void)
{
	return (struct setup_header *)(kbuf + 0x1f1);
}

static void make_bzimage(void)
{
	struct setup_header *h;
	size_t i;

	free(kbuf);
	klen = BZ_PM_OFF + BZ_PM_SIZE;
	kbuf = calloc(1, klen);
	cr_assert_not_null(kbuf);
	kbuf[0x200] = 0xeb;			/* jmp short over the header */
	kbuf[0x201] = 0x6a;			/* header ends at 0x26c */
	h = hdr();
	h->setup_sects = BZ_SETUP_SECTS;
	h->boot_flag = 0xaa55;
	memcpy(&h->header, "HdrS", 4);
	h->version = 0x020f;
	h->loadflags = LOADED_HIGH;
	h->initrd_addr_max = 0x7fffffff;
	h->kernel_alignment = 2 * MiB;
	h->relocatable_kernel = 1;
	h->xloadflags = XLF_KERNEL_64 | XLF_CAN_BE_LOADED_ABOVE_4G;
	h->cmdline_size = 2047;
	h->pref_address = BZ_PREF;
	h->init_size = BZ_INIT_SIZE;
	h->syssize = BZ_PM_SIZE / 16;
	for (i = BZ_PM_OFF; i < klen; i++)
		kbuf[i] = (uint8_t)(i * 13 + 5);
}

static void read_zero_page(struct boot_params *bp)
{
	cr_assert_eq(gm_read(&gm, X86_ZERO_PAGE_GPA, bp, sizeof(*bp)), 0);
}

TestSuite(bzimage, .init = setup, .fini = teardown);

Test(bzimage, loads_kernel_and_zero_page)
{
	struct boot_params bp;
	uint8_t *k;

	make_bzimage();
	with_initrd(sizeof(initrd));
	cr_assert_eq(load(), 0);
	cr_expect_eq(out.kind, X86_KERNEL_BZIMAGE);
	cr_expect_eq(out.entry, X86_HIMEM_GPA + 0x200);
	cr_expect_eq(out.boot_info_gpa, X86_ZERO_PAGE_GPA);
	cr_expect_eq(out.kernel_start, X86_HIMEM_GPA);
	/* Relocatable: decompresses at pref_address, needs init_size there. */
	cr_expect_eq(out.kernel_end, BZ_PREF + BZ_INIT_SIZE);

	k = gm_ptr(&gm, X86_HIMEM_GPA, BZ_PM_SIZE);
	cr_assert_not_null(k);
	cr_expect_eq(memcmp(k, kbuf + BZ_PM_OFF, BZ_PM_SIZE), 0);

	read_zero_page(&bp);
	cr_expect_eq(memcmp(&bp.hdr.header, "HdrS", 4), 0);
	cr_expect_eq(bp.hdr.version, 0x020f);
	cr_expect_eq(bp.hdr.setup_sects, BZ_SETUP_SECTS);
	cr_expect_eq(bp.hdr.init_size, BZ_INIT_SIZE);
	cr_expect_eq(bp.hdr.type_of_loader, 0xff);
	cr_expect_eq(bp.hdr.loadflags, LOADED_HIGH | CAN_USE_HEAP);
	cr_expect_eq(bp.hdr.heap_end_ptr, 0xfe00);
	cr_expect_eq(bp.hdr.cmd_line_ptr, X86_CMDLINE_GPA);
	cr_expect_eq(bp.ext_cmd_line_ptr, 0);
	cr_expect_eq(bp.hdr.ramdisk_image, out.initrd_gpa);
	cr_expect_eq(bp.hdr.ramdisk_size, sizeof(initrd));
	cr_expect_eq(bp.ext_ramdisk_image, 0);
	cr_expect_eq(bp.ext_ramdisk_size, 0);
	cr_expect_eq(bp.acpi_rsdp_addr, X86_ACPI_GPA);

	/* RAM, the legacy hole, RAM from 1 MiB, and the PCI ECAM window (reserved). */
	cr_assert_eq(bp.e820_entries, 4);
	cr_expect_eq(bp.e820_table[0].addr, 0);
	cr_expect_eq(bp.e820_table[0].size, X86_EBDA_GPA);
	cr_expect_eq(bp.e820_table[0].type, 1);
	cr_expect_eq(bp.e820_table[1].addr, X86_EBDA_GPA);
	cr_expect_eq(bp.e820_table[1].type, 2);
	cr_expect_eq(bp.e820_table[2].addr, X86_HIMEM_GPA);
	cr_expect_eq(bp.e820_table[2].size, RAM - X86_HIMEM_GPA);
	cr_expect_eq(bp.e820_table[2].type, 1);
	cr_expect_eq(bp.e820_table[3].addr, X86_PCI_ECAM_GPA);
	cr_expect_eq(bp.e820_table[3].size, X86_PCI_ECAM_SIZE);
	cr_expect_eq(bp.e820_table[3].type, 2);
	/* Nothing past the stated header end leaks in from the file. */
	cr_expect_eq(bp.sentinel, 0);

	check_cmdline();
	check_initrd(out.kernel_end, RAM);
}

Test(bzimage, initrd_below_initrd_addr_max)
{
	make_bzimage();
	hdr()->initrd_addr_max = 32 * MiB - 1;
	with_initrd(sizeof(initrd));
	cr_assert_eq(load(), 0);
	check_initrd(out.kernel_end, 32 * MiB);
}

Test(bzimage, no_initrd_no_rsdp)
{
	struct boot_params bp;

	make_bzimage();
	in.rsdp_gpa = 0;
	in.cmdline = "";
	cr_assert_eq(load(), 0);
	cr_expect_eq(out.initrd_gpa, 0);
	read_zero_page(&bp);
	cr_expect_eq(bp.hdr.ramdisk_image, 0);
	cr_expect_eq(bp.hdr.ramdisk_size, 0);
	cr_expect_eq(bp.acpi_rsdp_addr, 0);
	check_cmdline();
}

Test(bzimage, protocol_2_12_gets_no_rsdp_field)
{
	struct boot_params bp;

	make_bzimage();
	hdr()->version = 0x020c;
	cr_assert_eq(load(), 0);
	read_zero_page(&bp);
	cr_expect_eq(bp.acpi_rsdp_addr, 0);
}

Test(bzimage, setup_sects_zero_means_four)
{
	make_bzimage();
	hdr()->setup_sects = 0;
	hdr()->syssize = (BZ_PM_SIZE - 512) / 16;
	cr_assert_eq(load(), 0);
	/* The kernel then starts at 5 * 512, inside our fake setup area. */
	cr_expect_eq(memcmp(gm_ptr(&gm, X86_HIMEM_GPA, 16), kbuf + 5 * 512, 16),
		     0);
}

Test(bzimage, non_relocatable_runs_from_load_address)
{
	make_bzimage();
	hdr()->relocatable_kernel = 0;
	hdr()->pref_address = X86_HIMEM_GPA;
	cr_assert_eq(load(), 0);
	cr_expect_eq(out.kernel_end, X86_HIMEM_GPA + BZ_INIT_SIZE);
}

Test(bzimage, empty_file)
{
	make_bzimage();
	klen = 0;
	cr_expect_eq(load(), -ENOEXEC);
}

Test(bzimage, too_short_for_the_header)
{
	make_bzimage();
	klen = 0x240;		/* has "HdrS", not the header's stated end */
	capture_log();
	cr_expect_eq(load(), -ENOEXEC);
	cr_expect(log_has("setup header needs 0x26c bytes"));
	klen = 0x100;		/* not even the magic */
	cr_expect_eq(load(), -ENOEXEC);
}

Test(bzimage, bad_magic)
{
	make_bzimage();
	memcpy(&hdr()->header, "HdrT", 4);
	cr_expect_eq(load(), -ENOEXEC);
	expect_ram_untouched();
}

Test(bzimage, old_protocol)
{
	make_bzimage();
	hdr()->version = 0x0204;
	capture_log();
	cr_expect_eq(load(), -ENOEXEC);
	cr_expect(log_has("boot protocol 2.04 too old (need >= 2.06)"));
}

Test(bzimage, not_64bit)
{
	make_bzimage();
	hdr()->xloadflags = 0;
	cr_expect_eq(load(), -ENOEXEC);
	expect_ram_untouched();
}

Test(bzimage, not_loaded_high)
{
	make_bzimage();
	hdr()->loadflags = 0;
	cr_expect_eq(load(), -ENOEXEC);
}

Test(bzimage, setup_sects_past_the_end)
{
	make_bzimage();
	hdr()->setup_sects = 200;
	cr_expect_eq(load(), -ENOEXEC);
	expect_ram_untouched();
}

Test(bzimage, payload_shorter_than_syssize)
{
	make_bzimage();
	klen -= 16;			/* cut one paragraph off the end */
	cr_expect_eq(load(), -ENOEXEC);
	expect_ram_untouched();
	make_bzimage();
	hdr()->syssize = UINT32_MAX;
	cr_expect_eq(load(), -ENOEXEC);
}

Test(bzimage, init_size_too_big)
{
	make_bzimage();
	hdr()->init_size = (uint32_t)(RAM - BZ_PREF + 4096);
	cr_expect_eq(load(), -E2BIG);
	hdr()->init_size = 0xffffffff;
	cr_expect_eq(load(), -E2BIG);
	/* Where it runs counts too, and must not wrap. */
	hdr()->init_size = BZ_INIT_SIZE;
	hdr()->pref_address = UINT64_MAX - 4096;
	cr_expect_eq(load(), -E2BIG);
	hdr()->relocatable_kernel = 0;
	cr_expect_eq(load(), -E2BIG);
	expect_ram_untouched();
}

Test(bzimage, cmdline_too_long)
{
	static char big[X86_CMDLINE_MAX + 1];

	make_bzimage();
	hdr()->cmdline_size = 16;
	in.cmdline = "0123456789abcdef";		/* 16 bytes */
	cr_expect_eq(load(), -E2BIG);
	expect_ram_untouched();
	in.cmdline = "0123456789abcde";			/* 15 bytes */
	cr_expect_eq(load(), 0);

	/* kvmm's own buffer limit applies whatever the kernel says. */
	hdr()->cmdline_size = 0xffffffff;
	memset(big, 'x', X86_CMDLINE_MAX);
	in.cmdline = big;
	cr_expect_eq(load(), -E2BIG);
}

Test(bzimage, initrd_too_big)
{
	size_t fit = RAM - BZ_PREF - BZ_INIT_SIZE;
	uint8_t *big = calloc(1, fit + 1);

	cr_assert_not_null(big);
	make_bzimage();
	in.initrd = big;
	in.initrd_len = fit + 1;
	cr_expect_eq(load(), -E2BIG);
	expect_ram_untouched();
	in.initrd_len = fit;				/* exactly fits */
	cr_expect_eq(load(), 0);
	cr_expect_eq(out.initrd_gpa, BZ_PREF + BZ_INIT_SIZE);
	free(big);
}

/* ---- PVH ELF ---------------------------------------------------------- */

#define PVH_ENTRY	0x1000100ULL
#define PVH_TEXT_GPA	0x1000000ULL
#define PVH_DATA_GPA	0x1200000ULL
#define PVH_TEXT_OFF	0x1000
#define PVH_TEXT_SIZE	0x1000
#define PVH_DATA_OFF	0x2000
#define PVH_DATA_FILESZ	0x800
#define PVH_DATA_MEMSZ	0x3000
#define PVH_NOTE_OFF	0x3000
#define PVH_NR_PHDRS	3

struct start_info {
	uint32_t magic, version, flags, nr_modules;
	uint64_t modlist_paddr, cmdline_paddr, rsdp_paddr, memmap_paddr;
	uint32_t memmap_entries, reserved;
};

struct modlist {
	uint64_t paddr, size, cmdline_paddr, reserved;
};

struct memmap {
	uint64_t addr, size;
	uint32_t type, reserved;
};

static Elf64_Ehdr *ehdr(void)
{
	return (Elf64_Ehdr *)kbuf;
}

static Elf64_Phdr *phdr(unsigned int i)
{
	return (Elf64_Phdr *)(kbuf + sizeof(Elf64_Ehdr)) + i;
}

/* Appends one note at *OFF; returns the offset of its descriptor. */
static size_t add_note(size_t *off, const char *name, uint32_t type,
		       const void *desc, uint32_t descsz)
{
	Elf64_Nhdr nh = {
		.n_namesz = (uint32_t)strlen(name) + 1,
		.n_descsz = descsz,
		.n_type = type,
	};
	size_t d;

	memcpy(kbuf + *off, &nh, sizeof(nh));
	*off += sizeof(nh);
	memcpy(kbuf + *off, name, nh.n_namesz);
	*off += (nh.n_namesz + 3) & ~3u;
	d = *off;
	memcpy(kbuf + *off, desc, descsz);
	*off += (descsz + 3) & ~3u;
	return d;
}

/* An ELF vmlinux: text, data + bss, and notes with the PVH one last. */
static void make_elf(uint32_t entry_descsz)
{
	static const uint8_t build_id[20] = { 1, 2, 3 };
	uint64_t entry = PVH_ENTRY;
	uint32_t dummy = 0x8801;
	size_t off = PVH_NOTE_OFF, i;
	Elf64_Ehdr *eh;

	free(kbuf);
	klen = 0x3100;
	kbuf = calloc(1, klen);
	cr_assert_not_null(kbuf);
	eh = ehdr();
	memcpy(eh->e_ident, ELFMAG, SELFMAG);
	eh->e_ident[EI_CLASS] = ELFCLASS64;
	eh->e_ident[EI_DATA] = ELFDATA2LSB;
	eh->e_ident[EI_VERSION] = EV_CURRENT;
	eh->e_type = ET_EXEC;
	eh->e_machine = EM_X86_64;
	eh->e_version = EV_CURRENT;
	eh->e_entry = PVH_TEXT_GPA;
	eh->e_phoff = sizeof(Elf64_Ehdr);
	eh->e_ehsize = sizeof(Elf64_Ehdr);
	eh->e_phentsize = sizeof(Elf64_Phdr);
	eh->e_phnum = PVH_NR_PHDRS;

	*phdr(0) = (Elf64_Phdr){ .p_type = PT_LOAD, .p_offset = PVH_TEXT_OFF,
		.p_vaddr = 0xffffffff81000000ULL, .p_paddr = PVH_TEXT_GPA,
		.p_filesz = PVH_TEXT_SIZE, .p_memsz = PVH_TEXT_SIZE };
	*phdr(1) = (Elf64_Phdr){ .p_type = PT_LOAD, .p_offset = PVH_DATA_OFF,
		.p_vaddr = 0xffffffff81200000ULL, .p_paddr = PVH_DATA_GPA,
		.p_filesz = PVH_DATA_FILESZ, .p_memsz = PVH_DATA_MEMSZ };
	for (i = PVH_TEXT_OFF; i < PVH_DATA_OFF + PVH_DATA_FILESZ; i++)
		kbuf[i] = (uint8_t)(i * 11 + 3);

	add_note(&off, "GNU", NT_GNU_BUILD_ID, build_id, sizeof(build_id));
	add_note(&off, "Xen", 17, &dummy, 4);
	add_note(&off, "Xen", 18, &entry, entry_descsz);
	*phdr(2) = (Elf64_Phdr){ .p_type = PT_NOTE, .p_offset = PVH_NOTE_OFF,
		.p_filesz = off - PVH_NOTE_OFF, .p_align = 4 };
	cr_assert_leq(off, klen);
}

TestSuite(pvh, .init = setup, .fini = teardown);

static void check_pvh_load(void)
{
	struct start_info si;
	struct modlist mod;
	struct memmap mm[3];
	uint8_t *p;
	uint64_t i;

	cr_expect_eq(out.kind, X86_KERNEL_PVH);
	cr_expect_eq(out.entry, PVH_ENTRY);
	cr_expect_eq(out.boot_info_gpa, X86_ZERO_PAGE_GPA);
	cr_expect_eq(out.kernel_start, PVH_TEXT_GPA);
	cr_expect_eq(out.kernel_end, PVH_DATA_GPA + PVH_DATA_MEMSZ);

	p = gm_ptr(&gm, PVH_TEXT_GPA, PVH_TEXT_SIZE);
	cr_expect_eq(memcmp(p, kbuf + PVH_TEXT_OFF, PVH_TEXT_SIZE), 0);
	p = gm_ptr(&gm, PVH_DATA_GPA, PVH_DATA_MEMSZ);
	cr_expect_eq(memcmp(p, kbuf + PVH_DATA_OFF, PVH_DATA_FILESZ), 0);
	for (i = PVH_DATA_FILESZ; i < PVH_DATA_MEMSZ; i++)
		if (p[i])
			break;
	cr_expect_eq(i, PVH_DATA_MEMSZ, "bss not zeroed at +0x%llx",
		     (unsigned long long)i);

	cr_assert_eq(gm_read(&gm, X86_ZERO_PAGE_GPA, &si, sizeof(si)), 0);
	cr_expect_eq(si.magic, 0x336ec578);
	cr_expect_eq(si.version, 1);
	cr_expect_eq(si.flags, 0);
	cr_expect_eq(si.cmdline_paddr, X86_CMDLINE_GPA);
	cr_expect_eq(si.rsdp_paddr, X86_ACPI_GPA);
	cr_expect_eq(si.memmap_paddr, X86_PVH_MEMMAP_GPA);
	cr_assert_eq(si.memmap_entries, 4);
	cr_assert_eq(gm_read(&gm, X86_PVH_MEMMAP_GPA, mm, sizeof(mm)), 0);
	cr_expect_eq(mm[0].addr, 0);
	cr_expect_eq(mm[0].size, X86_EBDA_GPA);
	cr_expect_eq(mm[0].type, 1);
	cr_expect_eq(mm[1].addr, X86_EBDA_GPA);
	cr_expect_eq(mm[1].type, 2);
	cr_expect_eq(mm[2].addr, X86_HIMEM_GPA);
	cr_expect_eq(mm[2].size, RAM - X86_HIMEM_GPA);
	cr_expect_eq(mm[2].type, 1);
	cr_expect_eq(mm[2].reserved, 0);

	if (in.initrd) {
		cr_expect_eq(si.nr_modules, 1);
		cr_expect_eq(si.modlist_paddr, X86_ZERO_PAGE_GPA + sizeof(si));
		cr_assert_eq(gm_read(&gm, si.modlist_paddr, &mod, sizeof(mod)),
			     0);
		cr_expect_eq(mod.paddr, out.initrd_gpa);
		cr_expect_eq(mod.size, in.initrd_len);
		check_initrd(out.kernel_end, RAM);
	} else {
		cr_expect_eq(si.nr_modules, 0);
		cr_expect_eq(si.modlist_paddr, 0);
		cr_expect_eq(out.initrd_gpa, 0);
	}
	check_cmdline();
}

Test(pvh, four_byte_entry_note)
{
	make_elf(4);
	with_initrd(sizeof(initrd));
	/* Stale bytes where the bss goes, as after a reboot. */
	memset(gm_ptr(&gm, PVH_DATA_GPA, PVH_DATA_MEMSZ), 0xaa, PVH_DATA_MEMSZ);
	cr_assert_eq(load(), 0);
	check_pvh_load();
}

Test(pvh, eight_byte_entry_note_no_initrd)
{
	make_elf(8);
	cr_assert_eq(load(), 0);
	check_pvh_load();
}

Test(pvh, bad_class)
{
	make_elf(4);
	ehdr()->e_ident[EI_CLASS] = ELFCLASS32;
	cr_expect_eq(load(), -ENOEXEC);
	make_elf(4);
	ehdr()->e_ident[EI_DATA] = ELFDATA2MSB;
	cr_expect_eq(load(), -ENOEXEC);
	ehdr()->e_ident[EI_DATA] = ELFDATA2LSB;
	ehdr()->e_machine = EM_386;
	cr_expect_eq(load(), -ENOEXEC);
	expect_ram_untouched();
}

Test(pvh, truncated_elf_header)
{
	make_elf(4);
	klen = sizeof(Elf64_Ehdr) - 1;
	cr_expect_eq(load(), -ENOEXEC);
}

Test(pvh, phoff_past_end)
{
	make_elf(4);
	ehdr()->e_phoff = klen;
	cr_expect_eq(load(), -ENOEXEC);
	ehdr()->e_phoff = UINT64_MAX - 8;	/* phoff + size wraps */
	cr_expect_eq(load(), -ENOEXEC);
	expect_ram_untouched();
}

Test(pvh, phnum_overflowing)
{
	make_elf(4);
	ehdr()->e_phnum = 0xffff;
	cr_expect_eq(load(), -ENOEXEC);
	ehdr()->e_phnum = PVH_NR_PHDRS;
	ehdr()->e_phentsize = 0xffff;
	cr_expect_eq(load(), -ENOEXEC);
	expect_ram_untouched();
}

Test(pvh, segment_outside_ram)
{
	make_elf(4);
	phdr(1)->p_paddr = RAM - 0x1000;	/* bss runs past the end */
	cr_expect_eq(load(), -EFAULT);
	phdr(1)->p_paddr = UINT64_MAX - 0x100;
	cr_expect_eq(load(), -EFAULT);
	phdr(1)->p_paddr = X86_ZERO_PAGE_GPA;	/* over the boot structures */
	cr_expect_eq(load(), -EFAULT);
	expect_ram_untouched();
}

Test(pvh, filesz_bigger_than_memsz)
{
	make_elf(4);
	phdr(1)->p_memsz = PVH_DATA_FILESZ - 1;
	cr_expect_eq(load(), -ENOEXEC);
	make_elf(4);
	phdr(0)->p_offset = klen - 0x10;	/* file range past the end */
	cr_expect_eq(load(), -ENOEXEC);
	phdr(0)->p_offset = UINT64_MAX;
	cr_expect_eq(load(), -ENOEXEC);
	expect_ram_untouched();
}

Test(pvh, note_name_past_its_segment)
{
	Elf64_Nhdr *nh;

	make_elf(4);
	nh = (Elf64_Nhdr *)(kbuf + PVH_NOTE_OFF);
	nh->n_namesz = 0xfffffffd;
	cr_expect_eq(load(), -ENOEXEC);
	nh->n_namesz = 4;
	nh->n_descsz = (uint32_t)phdr(2)->p_filesz;
	cr_expect_eq(load(), -ENOEXEC);
	make_elf(4);
	phdr(2)->p_filesz = klen;		/* note segment past the file */
	cr_expect_eq(load(), -ENOEXEC);
	expect_ram_untouched();
}

Test(pvh, missing_note)
{
	make_elf(4);
	phdr(2)->p_filesz -= 20;		/* cut off the PVH note */
	capture_log();
	cr_expect_eq(load(), -ENOEXEC);
	cr_expect(log_has("ELF kernel has no PVH entry note "
			  "(XEN_ELFNOTE_PHYS32_ENTRY)"));
	phdr(2)->p_type = PT_NULL;		/* no note segment at all */
	cr_expect_eq(load(), -ENOEXEC);
	expect_ram_untouched();
}

Test(pvh, bad_entry)
{
	uint32_t bad = 0x800000;
	size_t off;

	make_elf(4);
	/* The 4-byte note is last: its desc ends the segment. */
	off = PVH_NOTE_OFF + phdr(2)->p_filesz - 4;
	memcpy(kbuf + off, &bad, 4);
	cr_expect_eq(load(), -ENOEXEC);
	make_elf(2);				/* neither 4 nor 8 bytes */
	cr_expect_eq(load(), -ENOEXEC);
	expect_ram_untouched();
}

Test(pvh, initrd_too_big)
{
	make_elf(8);
	/* Refused before it is read, so any buffer will do. */
	in.initrd = initrd;
	in.initrd_len = RAM - PVH_DATA_GPA - PVH_DATA_MEMSZ + 1;
	cr_expect_eq(load(), -E2BIG);
	expect_ram_untouched();
}

Test(pvh, not_a_kernel)
{
	klen = 64;
	kbuf = calloc(1, klen);
	cr_assert_not_null(kbuf);
	memcpy(kbuf, "\177ELG", 4);
	cr_expect_eq(load(), -ENOEXEC);
}
