/*
 * The arm64 Linux Image (Documentation/arch/arm64/booting.rst): parsing its
 * 64-byte header and choosing where in guest RAM the kernel, the initramfs
 * and the device tree go.  Pure functions over untrusted bytes: nothing here
 * touches guest memory or KVM.
 */
#ifndef KVMM_A64_IMAGE_H
#define KVMM_A64_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#define A64_IMAGE_HDR_LEN	64
#define A64_IMAGE_MAGIC		0x644d5241U	/* "ARM\x64", le32 at 56 */
#define A64_IMAGE_OLD_TEXT	0x80000ULL	/* text_offset before v3.17 */

#define A64_IMAGE_FLAG_BE		(1ULL << 0)
#define A64_IMAGE_FLAG_PAGE_SHIFT	1	/* 0 unknown, 1 4K, 2 16K, 3 64K */
#define A64_IMAGE_FLAG_PAGE_MASK	(3ULL << A64_IMAGE_FLAG_PAGE_SHIFT)
#define A64_IMAGE_FLAG_ANYWHERE		(1ULL << 3)	/* phys placement */

struct a64_image {
	uint64_t text_offset;	/* below 2 MiB, 4 KiB aligned */
	uint64_t image_size;	/* kernel's footprint incl. bss; for an old
				 * kernel (header says 0) an estimate: twice
				 * the file rounded up to 2 MiB */
	uint64_t flags;		/* A64_IMAGE_FLAG_*; 0 for an old kernel */
};

/*
 * Parses the header of the Image file DATA/LEN.  Returns 0, or -ENOEXEC with
 * *WHY (a static string) naming the problem: a gzip-compressed Image, an
 * EFI zboot image or an ELF vmlinux (each with what to use instead), a file
 * shorter than the header, no "ARM\x64" magic, a big-endian kernel, a
 * text_offset that is not a 4 KiB multiple below 2 MiB, or an image_size
 * smaller than the file.
 */
int a64_image_parse(const void *data, size_t len, struct a64_image *out,
		    const char **why);

struct a64_placement {
	uint64_t kernel_gpa;	/* 2 MiB aligned RAM base + text_offset */
	uint64_t initrd_gpa;	/* 0 if no initrd; 64 KiB aligned */
	uint64_t dtb_gpa;	/* 64 KiB aligned; A64_DTB_MAX bytes below the
				 * end of RAM rounded down to 64 KiB */
};

/*
 * Places the kernel (max(IMG->image_size, KERNEL_LEN) bytes from the first
 * 2 MiB boundary in RAM + text_offset), an A64_DTB_MAX device tree window at
 * the top of RAM [RAM_BASE, RAM_BASE + RAM_SIZE) and the initramfs
 * (INITRD_LEN bytes, may be 0) just below it, so the kernel's bss and early
 * allocations grow into free memory.  The three never overlap, and none
 * shares a 64 KiB page (the largest arm64 page) with another: Linux frees the
 * initramfs's pages after unpacking it.  The initramfs also stays inside the
 * 1 GiB-aligned 32 GiB window that holds the kernel, as booting.rst demands.
 *
 * Returns 0; -EINVAL if RAM wraps around the address space or IMG's
 * text_offset is not one a64_image_parse() accepts; -ENOSPC with *WHY ("RAM
 * too small for kernel + initramfs + device tree (N MiB needed)"; the
 * string lives until this thread's next call) when they do not fit.
 */
int a64_place(uint64_t ram_base, uint64_t ram_size, const struct a64_image *img,
	      uint64_t kernel_len, uint64_t initrd_len,
	      struct a64_placement *out, const char **why);

#endif
