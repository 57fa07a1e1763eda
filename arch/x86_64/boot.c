/*
 * x86_64 kernel loading entry point: tells a bzImage from an ELF vmlinux,
 * hands it to the matching loader, and holds what both loaders share: the
 * command line (always at X86_CMDLINE_GPA) and the initramfs placement (as
 * high in low RAM as the kernel allows, so it stays clear of the kernel's
 * decompression and early allocations).
 */
#include <elf.h>
#include <errno.h>
#include <string.h>

#include "boot.h"
#include "boot_internal.h"
#include "layout.h"
#include "log.h"

/* "HdrS" at 0x202 marks a setup header (boot protocol 2.00 and later). */
#define BZ_MAGIC_OFF	0x202
#define BZ_MAGIC	"HdrS"

bool x86_is_elf(const uint8_t *k, size_t len)
{
	return len >= SELFMAG && memcmp(k, ELFMAG, SELFMAG) == 0;
}

bool x86_is_bzimage(const uint8_t *k, size_t len)
{
	return x86_in_file(len, BZ_MAGIC_OFF, 4) &&
	       memcmp(k + BZ_MAGIC_OFF, BZ_MAGIC, 4) == 0;
}

uint64_t x86_low_ram_end(const struct guest_mem *gm)
{
	unsigned int i;

	for (i = 0; i < gm->nr_regions; i++)
		if (gm->regions[i].gpa == 0)
			return gm->regions[i].size;
	return 0;
}

int x86_cmdline_check(const struct x86_boot_in *in, uint64_t limit,
		      size_t *len)
{
	const char *cmdline = in->cmdline ? in->cmdline : "";
	size_t n = strlen(cmdline);

	if (limit > X86_CMDLINE_MAX)
		limit = X86_CMDLINE_MAX;
	if (n >= limit) {
		pr_err("kernel command line is %zu bytes, limit is %llu", n,
		       (unsigned long long)(limit ? limit - 1 : 0));
		return -E2BIG;
	}
	*len = n;
	return 0;
}

int x86_cmdline_write(struct guest_mem *gm, const struct x86_boot_in *in,
		      size_t len)
{
	const char *cmdline = in->cmdline ? in->cmdline : "";

	/* len + 1 copies the NUL the kernel looks for. */
	if (gm_write(gm, X86_CMDLINE_GPA, cmdline, (uint64_t)len + 1)) {
		pr_err("kernel command line at 0x%llx is outside guest RAM",
		       (unsigned long long)X86_CMDLINE_GPA);
		return -EFAULT;
	}
	return 0;
}

int x86_initrd_place(const struct guest_mem *gm, const struct x86_boot_in *in,
		     uint64_t floor, uint64_t ceiling, uint64_t *gpa)
{
	uint64_t low_end = x86_low_ram_end(gm);
	uint64_t len = in->initrd_len, top;

	*gpa = 0;
	if (!in->initrd || !len)
		return 0;
	if (ceiling > low_end)
		ceiling = low_end;
	if (len > ceiling)
		goto too_big;
	top = (ceiling - len) & ~(X86_INITRD_ALIGN - 1);
	if (top < floor)
		goto too_big;
	*gpa = top;
	return 0;

too_big:
	pr_err("initramfs of %llu bytes does not fit between the kernel's end "
	       "0x%llx and 0x%llx", (unsigned long long)len,
	       (unsigned long long)floor, (unsigned long long)ceiling);
	return -E2BIG;
}

int x86_initrd_write(struct guest_mem *gm, const struct x86_boot_in *in,
		     uint64_t gpa)
{
	if (!gpa)
		return 0;
	if (gm_write(gm, gpa, in->initrd, in->initrd_len)) {
		pr_err("initramfs at 0x%llx is outside guest RAM",
		       (unsigned long long)gpa);
		return -EFAULT;
	}
	return 0;
}

int x86_load_kernel(struct guest_mem *gm, const struct x86_boot_in *in,
		    struct x86_boot_out *out)
{
	memset(out, 0, sizeof(*out));
	if (!in->kernel || !in->kernel_len) {
		pr_err("kernel file is empty");
		return -ENOEXEC;
	}
	/* ELF first: an ELF file has no reason to carry "HdrS" at 0x202, but
	 * if one did, its ELF header is what a PVH kernel is made of. */
	if (x86_is_elf(in->kernel, in->kernel_len))
		return x86_load_pvh(gm, in, out);
	if (x86_is_bzimage(in->kernel, in->kernel_len))
		return x86_load_bzimage(gm, in, out);
	pr_err("kernel is neither a bzImage (no \"HdrS\" at 0x%x) nor an ELF "
	       "vmlinux (%zu bytes)", BZ_MAGIC_OFF, in->kernel_len);
	return -ENOEXEC;
}
