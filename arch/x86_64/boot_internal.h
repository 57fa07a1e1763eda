/*
 * Helpers shared by the x86_64 kernel loaders (boot.c, bzimage.c, pvh.c) and
 * not part of the interface the rest of kvmm sees (that is boot.h).
 */
#ifndef KVMM_X86_BOOT_INTERNAL_H
#define KVMM_X86_BOOT_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "boot.h"
#include "guest_mem.h"

/* Alignment of the initramfs: the kernel frees it page by page. */
#define X86_INITRD_ALIGN	0x1000ULL

/* Format probes; each only looks at the magic, the loaders check the rest. */
bool x86_is_elf(const uint8_t *k, size_t len);
bool x86_is_bzimage(const uint8_t *k, size_t len);

int x86_load_bzimage(struct guest_mem *gm, const struct x86_boot_in *in,
		     struct x86_boot_out *out);
int x86_load_pvh(struct guest_mem *gm, const struct x86_boot_in *in,
		 struct x86_boot_out *out);

/* True if [off, off + size) lies inside a buffer of LEN bytes; never wraps. */
static inline bool x86_in_file(size_t len, uint64_t off, uint64_t size)
{
	return off <= len && size <= len - off;
}

/* End (exclusive) of the RAM region that starts at guest-physical 0. */
uint64_t x86_low_ram_end(const struct guest_mem *gm);

/*
 * Checks that IN's command line is shorter than LIMIT (the kernel's own
 * limit, without the NUL) and than X86_CMDLINE_MAX; stores its length in LEN.
 * 0 or -E2BIG.
 */
int x86_cmdline_check(const struct x86_boot_in *in, uint64_t limit,
		      size_t *len);

/* Copies the command line and its NUL to X86_CMDLINE_GPA; 0 or -EFAULT. */
int x86_cmdline_write(struct guest_mem *gm, const struct x86_boot_in *in,
		      size_t len);

/*
 * Chooses where the initramfs goes: the highest X86_INITRD_ALIGN-aligned
 * address at or above FLOOR (end of the kernel) whose end is at or below
 * min(CEILING, end of low RAM).  Sets *GPA to 0 when there is no initramfs.
 * 0 or -E2BIG.
 */
int x86_initrd_place(const struct guest_mem *gm, const struct x86_boot_in *in,
		     uint64_t floor, uint64_t ceiling, uint64_t *gpa);

/* Copies the initramfs to GPA (from x86_initrd_place); 0 or -EFAULT. */
int x86_initrd_write(struct guest_mem *gm, const struct x86_boot_in *in,
		     uint64_t gpa);

#endif
