/*
 * x86_64 Linux loaders: the bzImage 64-bit boot protocol (setup header, zero
 * page) and the PVH entry of an ELF vmlinux (XEN_ELFNOTE_PHYS32_ENTRY,
 * hvm_start_info).  Both take the kernel as an untrusted byte buffer, check
 * every offset and size in it before use, and write to guest RAM only through
 * the guest_mem accessor.
 */
#ifndef KVMM_X86_BOOT_H
#define KVMM_X86_BOOT_H

#include <stddef.h>
#include <stdint.h>

#include "guest_mem.h"

enum x86_kernel_kind { X86_KERNEL_BZIMAGE, X86_KERNEL_PVH };

struct x86_boot_in {
	const uint8_t *kernel;		/* whole kernel file */
	size_t kernel_len;
	const uint8_t *initrd;		/* NULL if none */
	size_t initrd_len;
	const char *cmdline;		/* NUL-terminated, may be "" */
	uint64_t rsdp_gpa;		/* 0 if no ACPI */
};

struct x86_boot_out {
	enum x86_kernel_kind kind;
	uint64_t entry;			/* guest-physical entry point */
	uint64_t boot_info_gpa;		/* zero page (RSI) or start info (EBX) */
	uint64_t kernel_start;		/* loaded range, for logs and tests */
	uint64_t kernel_end;
	uint64_t initrd_gpa;		/* 0 if none */
};

/* Most e820 entries kvmm ever produces. */
#define X86_E820_MAX 8

struct x86_e820 {
	uint64_t addr;
	uint64_t size;
	uint32_t type;			/* 1 RAM, 2 reserved (E820_TYPE_*) */
};

/*
 * Builds the guest's e820 map from guest RAM: low RAM below the EBDA, the
 * reserved legacy area (EBDA, VGA, ROM, ACPI tables), RAM from 1 MiB to the
 * end of low RAM, and RAM above 4 GiB if any.  Returns the number of entries
 * written to OUT (at most MAX) or -ENOSPC.
 */
int x86_e820_build(const struct guest_mem *gm, struct x86_e820 *out,
		   unsigned int max);

/*
 * Recognises the kernel format (bzImage by its "HdrS" setup header, ELF by
 * its magic and a PVH entry note), loads it, the initramfs and the command
 * line into guest RAM, and writes the zero page or hvm_start_info (with the
 * e820 map and RSDP address) at X86_ZERO_PAGE_GPA.
 *
 * Errors (with a message saying which check failed):
 *   -ENOEXEC  not a bzImage or ELF, a 32-bit-only bzImage, an ELF without a
 *             PVH note, a truncated file, headers pointing outside the file;
 *   -E2BIG    kernel, initramfs or command line do not fit the guest's RAM or
 *             the kernel's stated limits;
 *   -EFAULT   a segment lands outside guest RAM.
 */
int x86_load_kernel(struct guest_mem *gm, const struct x86_boot_in *in,
		    struct x86_boot_out *out);

#endif
