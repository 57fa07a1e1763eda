/*
 * bzImage loader for the Linux/x86 64-bit boot protocol (Documentation/x86/
 * boot.rst): checks the setup header, copies the protected-mode kernel to
 * 1 MiB and fills the zero page.  The vCPU then enters the kernel's 64-bit
 * entry (load address + 0x200) in long mode with RSI = zero page, so the
 * real-mode setup code in the file is never run.
 */
#include <asm/bootparam.h>
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "boot.h"
#include "boot_internal.h"
#include "layout.h"
#include "log.h"

#define BZ_HDR_OFF		0x1f1	/* setup header, file and zero page */
#define BZ_JUMP_OFF		0x201	/* jump displacement = header length */
#define BZ_HDR_BASE		0x202	/* the jump is relative to this */
#define BZ_SECTOR		512
#define BZ_DEFAULT_SETUP_SECTS	4	/* setup_sects 0 means 4 */
#define BZ_ENTRY64_OFF		0x200	/* startup_64 from the load address */
#define BZ_LOADER_UNDEFINED	0xff	/* type_of_loader: no assigned id */
#define BZ_HEAP_END		0xfe00	/* real-mode heap end per boot.rst */

/* Boot protocol versions that introduced the fields we depend on. */
#define BZ_PROTO_MIN		0x0206	/* cmdline_size */
#define BZ_PROTO_PREF		0x020a	/* pref_address, init_size */
#define BZ_PROTO_RSDP		0x020e	/* acpi_rsdp_addr */

_Static_assert(offsetof(struct boot_params, hdr) == BZ_HDR_OFF,
	       "setup header offset in the zero page");
_Static_assert(sizeof(struct boot_params) == 0x1000, "zero page size");

/* What the checks learnt about the image, in host byte order. */
struct bz_image {
	struct setup_header hdr;	/* zero past the file's header end */
	uint64_t hdr_end;		/* file offset just past the header */
	uint64_t pm_off;		/* protected-mode kernel in the file */
	uint64_t pm_size;
	uint64_t run_start;		/* where the kernel decompresses */
	uint64_t end;			/* end of everything it needs */
};

static unsigned int bz_major(uint16_t v)
{
	return v >> 8;
}

static unsigned int bz_minor(uint16_t v)
{
	return v & 0xff;
}

static int bz_parse_header(const struct x86_boot_in *in, struct bz_image *bz)
{
	const uint8_t *k = in->kernel;
	size_t len = in->kernel_len;
	uint64_t copy, sects;

	if (!x86_in_file(len, BZ_JUMP_OFF, 1))
		goto truncated_min;
	bz->hdr_end = BZ_HDR_BASE + (uint64_t)k[BZ_JUMP_OFF];
	if (!x86_in_file(len, 0, bz->hdr_end)) {
		pr_err("kernel file truncated: setup header needs 0x%llx "
		       "bytes, file has 0x%zx", (unsigned long long)bz->hdr_end,
		       len);
		return -ENOEXEC;
	}
	/* Fields past the header's stated end belong to newer protocols;
	 * reading them as zero is what an older kernel means. */
	memset(&bz->hdr, 0, sizeof(bz->hdr));
	copy = bz->hdr_end - BZ_HDR_OFF;
	if (copy > sizeof(bz->hdr))
		copy = sizeof(bz->hdr);
	memcpy(&bz->hdr, k + BZ_HDR_OFF, copy);

	if (bz->hdr.version < BZ_PROTO_MIN) {
		pr_err("bzImage: boot protocol %u.%02u too old (need >= 2.06)",
		       bz_major(bz->hdr.version), bz_minor(bz->hdr.version));
		return -ENOEXEC;
	}
	if (!(bz->hdr.xloadflags & XLF_KERNEL_64)) {
		pr_err("bzImage: not a 64-bit kernel (XLF_KERNEL_64 clear in "
		       "xloadflags 0x%x); kvmm only boots 64-bit kernels",
		       bz->hdr.xloadflags);
		return -ENOEXEC;
	}
	if (!(bz->hdr.loadflags & LOADED_HIGH)) {
		pr_err("bzImage: LOADED_HIGH clear, a zImage cannot be loaded "
		       "at 1 MiB");
		return -ENOEXEC;
	}

	sects = bz->hdr.setup_sects ? bz->hdr.setup_sects :
				      BZ_DEFAULT_SETUP_SECTS;
	bz->pm_off = (sects + 1) * BZ_SECTOR;
	if (bz->pm_off >= len) {
		pr_err("kernel file truncated: %llu setup sectors end at "
		       "0x%llx, file has 0x%zx bytes",
		       (unsigned long long)sects,
		       (unsigned long long)bz->pm_off, len);
		return -ENOEXEC;
	}
	bz->pm_size = len - bz->pm_off;
	/* syssize (16-byte units) is how much protected-mode code the build
	 * produced: less in the file means the file was cut short. */
	if ((uint64_t)bz->hdr.syssize * 16 > bz->pm_size) {
		pr_err("kernel file truncated: setup header says 0x%llx bytes "
		       "of kernel, file has 0x%llx",
		       (unsigned long long)bz->hdr.syssize * 16,
		       (unsigned long long)bz->pm_size);
		return -ENOEXEC;
	}
	return 0;

truncated_min:
	pr_err("kernel file truncated: setup header needs 0x%x bytes, file "
	       "has 0x%zx", BZ_JUMP_OFF + 1, len);
	return -ENOEXEC;
}

/*
 * Works out how much RAM from the load address the kernel needs.  boot.rst's
 * init_size counts from the *runtime* start, not the load address: a
 * relocatable kernel first moves itself up to pref_address (aligned to
 * kernel_alignment) and a non-relocatable one to pref_address, and only then
 * decompresses.  Counting from 1 MiB would let the initramfs sit where the
 * kernel is about to decompress itself.
 */
static int bz_footprint(const struct guest_mem *gm, struct bz_image *bz)
{
	uint64_t init = 0, start = X86_HIMEM_GPA, align;

	if (bz->hdr.version >= BZ_PROTO_PREF) {
		init = bz->hdr.init_size;
		if (bz->hdr.pref_address > start)
			start = bz->hdr.pref_address;
		align = bz->hdr.kernel_alignment;
		/* A bogus alignment only loses the rounding, which the
		 * kernel does itself; it is not worth refusing for. */
		if (bz->hdr.relocatable_kernel && align &&
		    !(align & (align - 1))) {
			if (start > UINT64_MAX - (align - 1))
				goto too_big;
			start = (start + align - 1) & ~(align - 1);
		}
	}
	/* The image itself must fit even if init_size understates it. */
	if (init < bz->pm_size)
		init = bz->pm_size;
	if (start > UINT64_MAX - init)
		goto too_big;
	bz->run_start = start;
	bz->end = start + init;
	if (!gm_ptr(gm, X86_HIMEM_GPA, bz->end - X86_HIMEM_GPA))
		goto too_big;
	return 0;

too_big:
	pr_err("bzImage: kernel needs 0x%llx bytes of RAM from 0x%llx "
	       "(init_size 0x%x), low RAM ends at 0x%llx",
	       (unsigned long long)init, (unsigned long long)start,
	       bz->hdr.init_size, (unsigned long long)x86_low_ram_end(gm));
	return -E2BIG;
}

static int bz_fill_zero_page(const struct guest_mem *gm,
			     const struct x86_boot_in *in,
			     const struct bz_image *bz, uint64_t initrd_gpa,
			     struct boot_params *bp)
{
	struct x86_e820 e820[X86_E820_MAX];
	uint64_t copy_end = bz->hdr_end, initrd_len = 0;
	int i, n;

	/* boot.rst: copy the header from 0x1f1 to its stated end into a
	 * zeroed zero page.  Stop before the fields that follow it there
	 * (EDD, e820) whatever the header claims. */
	memset(bp, 0, sizeof(*bp));
	if (copy_end > offsetof(struct boot_params, edd_mbr_sig_buffer))
		copy_end = offsetof(struct boot_params, edd_mbr_sig_buffer);
	memcpy((uint8_t *)bp + BZ_HDR_OFF, in->kernel + BZ_HDR_OFF,
	       copy_end - BZ_HDR_OFF);

	bp->hdr.type_of_loader = BZ_LOADER_UNDEFINED;
	bp->hdr.loadflags |= CAN_USE_HEAP;
	bp->hdr.heap_end_ptr = BZ_HEAP_END;
	bp->hdr.cmd_line_ptr = (uint32_t)X86_CMDLINE_GPA;
	bp->ext_cmd_line_ptr = (uint32_t)(X86_CMDLINE_GPA >> 32);
	if (initrd_gpa)
		initrd_len = in->initrd_len;
	bp->hdr.ramdisk_image = (uint32_t)initrd_gpa;
	bp->ext_ramdisk_image = (uint32_t)(initrd_gpa >> 32);
	bp->hdr.ramdisk_size = (uint32_t)initrd_len;
	bp->ext_ramdisk_size = (uint32_t)(initrd_len >> 32);

	if (in->rsdp_gpa) {
		if (bz->hdr.version >= BZ_PROTO_RSDP)
			bp->acpi_rsdp_addr = in->rsdp_gpa;
		else
			pr_debug("bzImage: protocol %u.%02u has no "
				 "acpi_rsdp_addr, kernel will scan for RSDP",
				 bz_major(bz->hdr.version),
				 bz_minor(bz->hdr.version));
	}

	n = x86_e820_build(gm, e820, X86_E820_MAX);
	if (n < 0) {
		pr_err("bzImage: building the e820 map: %s", strerror(-n));
		return n;
	}
	for (i = 0; i < n; i++) {
		bp->e820_table[i].addr = e820[i].addr;
		bp->e820_table[i].size = e820[i].size;
		bp->e820_table[i].type = e820[i].type;
	}
	bp->e820_entries = (uint8_t)n;
	return 0;
}

int x86_load_bzimage(struct guest_mem *gm, const struct x86_boot_in *in,
		     struct x86_boot_out *out)
{
	struct boot_params bp;
	struct bz_image bz;
	uint64_t initrd_gpa;
	size_t cmdline_len;
	int ret;

	/* Every check comes before the first write to guest RAM, so a refused
	 * kernel leaves RAM as it was. */
	ret = bz_parse_header(in, &bz);
	if (ret)
		return ret;
	ret = bz_footprint(gm, &bz);
	if (ret)
		return ret;
	ret = x86_cmdline_check(in, bz.hdr.cmdline_size, &cmdline_len);
	if (ret)
		return ret;
	ret = x86_initrd_place(gm, in, bz.end,
			       (uint64_t)bz.hdr.initrd_addr_max + 1,
			       &initrd_gpa);
	if (ret)
		return ret;
	ret = bz_fill_zero_page(gm, in, &bz, initrd_gpa, &bp);
	if (ret)
		return ret;

	if (gm_write(gm, X86_HIMEM_GPA, in->kernel + bz.pm_off, bz.pm_size) ||
	    gm_write(gm, X86_ZERO_PAGE_GPA, &bp, sizeof(bp))) {
		pr_err("bzImage: kernel or zero page outside guest RAM");
		return -EFAULT;
	}
	ret = x86_cmdline_write(gm, in, cmdline_len);
	if (ret)
		return ret;
	ret = x86_initrd_write(gm, in, initrd_gpa);
	if (ret)
		return ret;

	out->kind = X86_KERNEL_BZIMAGE;
	out->entry = X86_HIMEM_GPA + BZ_ENTRY64_OFF;
	out->boot_info_gpa = X86_ZERO_PAGE_GPA;
	out->kernel_start = X86_HIMEM_GPA;
	out->kernel_end = bz.end;
	out->initrd_gpa = initrd_gpa;
	pr_debug("bzImage: protocol %u.%02u, %llu bytes at 0x%llx, runs at "
		 "0x%llx, needs RAM to 0x%llx",
		 bz_major(bz.hdr.version), bz_minor(bz.hdr.version),
		 (unsigned long long)bz.pm_size,
		 (unsigned long long)X86_HIMEM_GPA,
		 (unsigned long long)bz.run_start, (unsigned long long)bz.end);
	return 0;
}
