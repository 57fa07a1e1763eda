/*
 * PVH loader for an uncompressed ELF vmlinux: copies the PT_LOAD segments to
 * their physical addresses, finds the 32-bit entry point in the Xen
 * XEN_ELFNOTE_PHYS32_ENTRY note and writes an hvm_start_info (version 1,
 * with a memory map) at X86_ZERO_PAGE_GPA.  The vCPU enters in 32-bit
 * protected mode, paging off, EBX = start info; no decompressor and no real
 * mode, which is what makes PVH the fast path.
 */
#include <elf.h>
#include <errno.h>
#include <string.h>

#include "boot.h"
#include "boot_internal.h"
#include "layout.h"
#include "log.h"

/* Layouts from Xen's public/arch-x86/hvm/start_info.h (all little-endian). */
#define HVM_START_MAGIC		0x336ec578
#define HVM_START_VERSION	1	/* has memmap_paddr/memmap_entries */

struct hvm_start_info {
	uint32_t magic;
	uint32_t version;
	uint32_t flags;
	uint32_t nr_modules;
	uint64_t modlist_paddr;
	uint64_t cmdline_paddr;
	uint64_t rsdp_paddr;
	uint64_t memmap_paddr;		/* version 1 */
	uint32_t memmap_entries;	/* version 1 */
	uint32_t reserved;
};

struct hvm_modlist_entry {
	uint64_t paddr;
	uint64_t size;
	uint64_t cmdline_paddr;
	uint64_t reserved;
};

struct hvm_memmap_table_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;			/* same values as e820 */
	uint32_t reserved;
};

_Static_assert(sizeof(struct hvm_start_info) == 56, "hvm_start_info ABI");
_Static_assert(sizeof(struct hvm_modlist_entry) == 32, "modlist ABI");
_Static_assert(sizeof(struct hvm_memmap_table_entry) == 24, "memmap ABI");

/* The one module entry goes right after the start info. */
#define PVH_MODLIST_GPA	(X86_ZERO_PAGE_GPA + sizeof(struct hvm_start_info))
#define XEN_ELFNOTE_PHYS32_ENTRY 18
#define PVH_NOTE_NAME		"Xen"	/* namesz 4, with the NUL */
#define PVH_4G			0x100000000ULL

struct pvh_image {
	Elf64_Ehdr eh;
	uint64_t start, end;		/* lowest and highest loaded address */
	uint64_t entry;
};

/* Reads program header I; the table was bounds-checked by pvh_check_ehdr. */
static void pvh_phdr(const struct x86_boot_in *in, const struct pvh_image *p,
		     unsigned int i, Elf64_Phdr *ph)
{
	memcpy(ph, in->kernel + p->eh.e_phoff + (uint64_t)i * sizeof(*ph),
	       sizeof(*ph));
}

static int pvh_check_ehdr(const struct x86_boot_in *in, struct pvh_image *p)
{
	Elf64_Ehdr *eh = &p->eh;

	if (in->kernel_len < sizeof(*eh)) {
		pr_err("kernel file truncated: ELF header needs %zu bytes, "
		       "file has %zu", sizeof(*eh), in->kernel_len);
		return -ENOEXEC;
	}
	memcpy(eh, in->kernel, sizeof(*eh));
	if (eh->e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh->e_ident[EI_DATA] != ELFDATA2LSB ||
	    eh->e_machine != EM_X86_64) {
		pr_err("ELF kernel is not little-endian x86-64 ELF64 (class "
		       "%u, data %u, machine %u)", eh->e_ident[EI_CLASS],
		       eh->e_ident[EI_DATA], eh->e_machine);
		return -ENOEXEC;
	}
	if (eh->e_phentsize != sizeof(Elf64_Phdr) || !eh->e_phnum) {
		pr_err("ELF kernel has no usable program headers (entry size "
		       "%u, count %u)", eh->e_phentsize, eh->e_phnum);
		return -ENOEXEC;
	}
	/* e_phnum is 16 bits, so the product cannot overflow. */
	if (!x86_in_file(in->kernel_len, eh->e_phoff,
			 (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr))) {
		pr_err("kernel file truncated: %u program headers at 0x%llx "
		       "run past its %zu bytes", eh->e_phnum,
		       (unsigned long long)eh->e_phoff, in->kernel_len);
		return -ENOEXEC;
	}
	return 0;
}

/*
 * Checks every PT_LOAD before any is copied, so a refused kernel leaves guest
 * RAM untouched.  Segments must lie in RAM at or above 1 MiB: below it are the
 * start info, page tables and command line kvmm writes after loading.
 */
static int pvh_check_loads(const struct x86_boot_in *in,
			   const struct guest_mem *gm, struct pvh_image *p)
{
	unsigned int i, nr = 0;
	Elf64_Phdr ph;

	p->start = UINT64_MAX;
	p->end = 0;
	for (i = 0; i < p->eh.e_phnum; i++) {
		pvh_phdr(in, p, i, &ph);
		if (ph.p_type != PT_LOAD)
			continue;
		if (ph.p_filesz > ph.p_memsz) {
			pr_err("ELF segment %u: filesz 0x%llx > memsz 0x%llx",
			       i, (unsigned long long)ph.p_filesz,
			       (unsigned long long)ph.p_memsz);
			return -ENOEXEC;
		}
		if (!x86_in_file(in->kernel_len, ph.p_offset, ph.p_filesz)) {
			pr_err("kernel file truncated: ELF segment %u at "
			       "0x%llx+0x%llx, file has %zu bytes", i,
			       (unsigned long long)ph.p_offset,
			       (unsigned long long)ph.p_filesz, in->kernel_len);
			return -ENOEXEC;
		}
		if (ph.p_paddr < X86_HIMEM_GPA ||
		    !gm_ptr(gm, ph.p_paddr, ph.p_memsz)) {
			pr_err("ELF segment %u at 0x%llx+0x%llx is outside "
			       "guest RAM above 1 MiB", i,
			       (unsigned long long)ph.p_paddr,
			       (unsigned long long)ph.p_memsz);
			return -EFAULT;
		}
		/* gm_ptr() succeeded, so paddr + memsz does not wrap. */
		if (ph.p_paddr < p->start)
			p->start = ph.p_paddr;
		if (ph.p_paddr + ph.p_memsz > p->end)
			p->end = ph.p_paddr + ph.p_memsz;
		nr++;
	}
	if (!nr) {
		pr_err("ELF kernel has no PT_LOAD segment");
		return -ENOEXEC;
	}
	return 0;
}

static uint64_t pvh_align4(uint64_t n)
{
	return (n + 3) & ~3ULL;
}

/*
 * Walks the notes in [off, off + size) of the file (already inside it).
 * Returns 1 and sets *ENTRY when the PVH note is found, 0 if not, -ENOEXEC
 * for a note that runs past its segment.  Sizes are 32-bit and the segment
 * is inside a size_t buffer, so none of the 64-bit sums below can wrap.
 */
static int pvh_scan_notes(const uint8_t *k, uint64_t off, uint64_t size,
			  uint64_t *entry)
{
	uint64_t pos = 0, name_len, desc_len;
	Elf64_Nhdr nh;
	uint32_t e32;

	while (size - pos >= sizeof(nh)) {
		memcpy(&nh, k + off + pos, sizeof(nh));
		pos += sizeof(nh);
		name_len = pvh_align4(nh.n_namesz);
		desc_len = pvh_align4(nh.n_descsz);
		if (name_len > size - pos || desc_len > size - pos - name_len) {
			pr_err("ELF note at 0x%llx: name (%u bytes) or desc "
			       "(%u bytes) runs past its segment",
			       (unsigned long long)(off + pos - sizeof(nh)),
			       nh.n_namesz, nh.n_descsz);
			return -ENOEXEC;
		}
		if (nh.n_type == XEN_ELFNOTE_PHYS32_ENTRY &&
		    nh.n_namesz == sizeof(PVH_NOTE_NAME) &&
		    !memcmp(k + off + pos, PVH_NOTE_NAME,
			    sizeof(PVH_NOTE_NAME))) {
			const uint8_t *desc = k + off + pos + name_len;

			if (nh.n_descsz == 4) {
				memcpy(&e32, desc, 4);
				*entry = e32;
			} else if (nh.n_descsz == 8) {
				memcpy(entry, desc, 8);
			} else {
				pr_err("PVH entry note has a %u-byte "
				       "descriptor (need 4 or 8)", nh.n_descsz);
				return -ENOEXEC;
			}
			return 1;
		}
		pos += name_len + desc_len;
	}
	return 0;
}

static int pvh_find_entry(const struct x86_boot_in *in, struct pvh_image *p)
{
	unsigned int i;
	Elf64_Phdr ph;
	int ret;

	for (i = 0; i < p->eh.e_phnum; i++) {
		pvh_phdr(in, p, i, &ph);
		if (ph.p_type != PT_NOTE)
			continue;
		if (!x86_in_file(in->kernel_len, ph.p_offset, ph.p_filesz)) {
			pr_err("ELF note segment %u (0x%llx+0x%llx) runs past "
			       "the %zu-byte file", i,
			       (unsigned long long)ph.p_offset,
			       (unsigned long long)ph.p_filesz, in->kernel_len);
			return -ENOEXEC;
		}
		ret = pvh_scan_notes(in->kernel, ph.p_offset, ph.p_filesz,
				     &p->entry);
		if (ret < 0)
			return ret;
		if (ret)
			goto found;
	}
	pr_err("ELF kernel has no PVH entry note (XEN_ELFNOTE_PHYS32_ENTRY)");
	return -ENOEXEC;

found:
	/* The entry runs in 32-bit mode with paging off. */
	if (p->entry >= PVH_4G || p->entry < p->start || p->entry >= p->end) {
		pr_err("PVH entry 0x%llx is not inside the loaded kernel "
		       "(0x%llx-0x%llx) below 4 GiB",
		       (unsigned long long)p->entry,
		       (unsigned long long)p->start,
		       (unsigned long long)p->end);
		return -ENOEXEC;
	}
	return 0;
}

static int pvh_copy_loads(const struct x86_boot_in *in, struct guest_mem *gm,
			  const struct pvh_image *p)
{
	unsigned int i;
	Elf64_Phdr ph;
	uint8_t *dst;

	for (i = 0; i < p->eh.e_phnum; i++) {
		pvh_phdr(in, p, i, &ph);
		if (ph.p_type != PT_LOAD)
			continue;
		dst = gm_ptr(gm, ph.p_paddr, ph.p_memsz);
		if (!dst)
			return -EFAULT;
		memcpy(dst, in->kernel + ph.p_offset, ph.p_filesz);
		/* The bss: guest RAM may hold a previous boot's bytes. */
		memset(dst + ph.p_filesz, 0, ph.p_memsz - ph.p_filesz);
	}
	return 0;
}

static int pvh_write_start_info(struct guest_mem *gm,
				const struct x86_boot_in *in,
				uint64_t initrd_gpa)
{
	struct hvm_memmap_table_entry mm[X86_E820_MAX];
	struct hvm_start_info si = {
		.magic = HVM_START_MAGIC,
		.version = HVM_START_VERSION,
		.cmdline_paddr = X86_CMDLINE_GPA,
		.rsdp_paddr = in->rsdp_gpa,
		.memmap_paddr = X86_PVH_MEMMAP_GPA,
	};
	struct hvm_modlist_entry mod = { 0 };
	struct x86_e820 e820[X86_E820_MAX];
	int i, n;

	n = x86_e820_build(gm, e820, X86_E820_MAX);
	if (n < 0) {
		pr_err("PVH: building the memory map: %s", strerror(-n));
		return n;
	}
	memset(mm, 0, sizeof(mm));
	for (i = 0; i < n; i++) {
		mm[i].addr = e820[i].addr;
		mm[i].size = e820[i].size;
		mm[i].type = e820[i].type;
	}
	si.memmap_entries = (uint32_t)n;
	if (initrd_gpa) {
		si.nr_modules = 1;
		si.modlist_paddr = PVH_MODLIST_GPA;
		mod.paddr = initrd_gpa;
		mod.size = in->initrd_len;
	}

	if (gm_write(gm, X86_ZERO_PAGE_GPA, &si, sizeof(si)) ||
	    (initrd_gpa && gm_write(gm, PVH_MODLIST_GPA, &mod, sizeof(mod))) ||
	    gm_write(gm, X86_PVH_MEMMAP_GPA, mm, (uint64_t)n * sizeof(mm[0]))) {
		pr_err("PVH: start info or memory map outside guest RAM");
		return -EFAULT;
	}
	return 0;
}

int x86_load_pvh(struct guest_mem *gm, const struct x86_boot_in *in,
		 struct x86_boot_out *out)
{
	struct pvh_image p;
	uint64_t initrd_gpa;
	size_t cmdline_len;
	int ret;

	ret = pvh_check_ehdr(in, &p);
	if (ret)
		return ret;
	ret = pvh_check_loads(in, gm, &p);
	if (ret)
		return ret;
	ret = pvh_find_entry(in, &p);
	if (ret)
		return ret;
	/* PVH has no cmdline_size; X86_CMDLINE_MAX is the only limit. */
	ret = x86_cmdline_check(in, X86_CMDLINE_MAX, &cmdline_len);
	if (ret)
		return ret;
	ret = x86_initrd_place(gm, in, p.end, PVH_4G, &initrd_gpa);
	if (ret)
		return ret;

	ret = pvh_copy_loads(in, gm, &p);
	if (ret)
		return ret;
	ret = pvh_write_start_info(gm, in, initrd_gpa);
	if (ret)
		return ret;
	ret = x86_cmdline_write(gm, in, cmdline_len);
	if (ret)
		return ret;
	ret = x86_initrd_write(gm, in, initrd_gpa);
	if (ret)
		return ret;

	out->kind = X86_KERNEL_PVH;
	out->entry = p.entry;
	out->boot_info_gpa = X86_ZERO_PAGE_GPA;
	out->kernel_start = p.start;
	out->kernel_end = p.end;
	out->initrd_gpa = initrd_gpa;
	pr_debug("PVH: ELF loaded 0x%llx-0x%llx, entry 0x%llx",
		 (unsigned long long)p.start, (unsigned long long)p.end,
		 (unsigned long long)p.entry);
	return 0;
}
