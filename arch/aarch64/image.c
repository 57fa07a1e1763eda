/*
 * arm64 Linux Image header checks and guest RAM placement (image.h), per
 * Documentation/arch/arm64/booting.rst.  The header is read byte by byte as
 * little-endian, so the code is right on any host; the placement works on
 * offsets from the RAM base, which cannot overflow, and forms absolute
 * addresses only once everything fits.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "image.h"
#include "layout.h"

#define KiB			(1ULL << 10)
#define MiB			(1ULL << 20)
#define GiB			(1ULL << 30)

#define HDR_TEXT_OFFSET		8
#define HDR_IMAGE_SIZE		16
#define HDR_FLAGS		24
#define HDR_MAGIC		56

#define KERNEL_ALIGN		(2 * MiB)	/* Image base: 2 MiB + text_offset */
#define TEXT_ALIGN		(4 * KiB)
#define PAGE_MAX		(64 * KiB)	/* largest arm64 page size */
#define INITRD_WIN_ALIGN	GiB		/* initrd and kernel share a 1 GiB */
#define INITRD_WIN_SIZE		(32 * GiB)	/* aligned window of 32 GiB */

/* Kernel files that are not an Image, and what to boot instead. */
static const struct {
	unsigned int len;
	const char *magic;
	const char *why;
} not_image[] = {
	{ 2, "\x1f\x8b", "gzip-compressed Image: decompress it first (gunzip)" },
	{ 4, "\x28\xb5\x2f\xfd", "zstd-compressed Image: decompress it first (unzstd)" },
	{ 6, "\xfd" "7zXZ\0", "xz-compressed Image: decompress it first (unxz)" },
	{ 3, "BZh", "bzip2-compressed Image: decompress it first (bunzip2)" },
	{ 4, "\x02\x21\x4c\x18", "lz4-compressed Image: decompress it first (lz4 -d)" },
	{ 4, "\x7f" "ELF", "ELF vmlinux: use the Image (arch/arm64/boot/Image)" },
};

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static uint64_t le64(const uint8_t *p)
{
	return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

static const char *not_an_image(const uint8_t *p, size_t len)
{
	size_t i;

	for (i = 0; i < sizeof(not_image) / sizeof(not_image[0]); i++)
		if (len >= not_image[i].len &&
		    !memcmp(p, not_image[i].magic, not_image[i].len))
			return not_image[i].why;
	/* CONFIG_EFI_ZBOOT: a PE file ("MZ") carrying a compressed Image. */
	if (len >= 8 && !memcmp(p, "MZ", 2) && !memcmp(p + 4, "zimg", 4))
		return "EFI zboot image (vmlinuz.efi): boot the Image inside it "
		       "(decompress its payload first)";
	return NULL;
}

/*
 * An Image with an EFI stub (Debian's, Kata's) is also a PE/COFF file whose
 * section table says how long the file is: the end of the last section's raw
 * data.  Returns that length, or 0 when there is no readable PE header (an
 * Image without EFI stub: nothing to check against).
 */
static uint64_t pe_file_len(const uint8_t *p, size_t len)
{
	uint64_t pe, sects, end = 0;
	unsigned int n, i;

	if (len < 0x40 || p[0] != 'M' || p[1] != 'Z')
		return 0;
	pe = le32(p + 0x3c);
	if (pe > len || len - pe < 24 || memcmp(p + pe, "PE\0\0", 4))
		return 0;
	n = p[pe + 6] | p[pe + 7] << 8;			/* NumberOfSections */
	sects = pe + 24 + (p[pe + 20] | p[pe + 21] << 8);	/* + SizeOfOptionalHeader */
	if (sects > len || (len - sects) / 40 < n)
		return 0;
	for (i = 0; i < n; i++) {
		const uint8_t *sh = p + sects + 40 * i;
		uint64_t e = (uint64_t)le32(sh + 20) + le32(sh + 16);	/* PointerToRawData + SizeOfRawData */

		if (e > end)
			end = e;
	}
	return end;
}

int a64_image_parse(const void *data, size_t len, struct a64_image *out,
		    const char **why)
{
	const uint8_t *p = data;
	uint64_t size, text, flags;

	*why = NULL;
	/* The magic decides; only without it can the first bytes say what
	 * the file is instead (an Image starts with an instruction). */
	if (len < A64_IMAGE_HDR_LEN || le32(p + HDR_MAGIC) != A64_IMAGE_MAGIC) {
		*why = not_an_image(p, len);
		if (!*why && len < A64_IMAGE_HDR_LEN)
			*why = "file too short for an arm64 Image header (64 bytes)";
		else if (!*why)
			*why = "no \"ARM\\x64\" magic at offset 56: not an arm64 Image";
		return -ENOEXEC;
	}

	size = le64(p + HDR_IMAGE_SIZE);
	if (size == 0) {
		/* Before v3.17: text_offset was in the kernel's endianness
		 * and always 0x80000, flags reserved, the size unknown.  Leave
		 * as much room after the file as seems plausible for bss. */
		out->text_offset = A64_IMAGE_OLD_TEXT;
		out->flags = 0;
		if (len > A64_RAM_MAX)
			out->image_size = UINT64_MAX;
		else
			out->image_size = 2 * ((len + KERNEL_ALIGN - 1) &
					       ~(KERNEL_ALIGN - 1));
		return 0;
	}

	flags = le64(p + HDR_FLAGS);
	if (flags & A64_IMAGE_FLAG_BE) {
		*why = "big-endian kernel: only little-endian kernels are supported";
		return -ENOEXEC;
	}
	/* 0x80000 before v5.8, 0 since; a page multiple below 2 MiB with
	 * CONFIG_ARM64_RANDOMIZE_TEXT_OFFSET.  Anything else is corrupt. */
	text = le64(p + HDR_TEXT_OFFSET);
	if (text >= KERNEL_ALIGN || text % TEXT_ALIGN) {
		*why = "text_offset in the Image header is not a 4 KiB multiple below 2 MiB";
		return -ENOEXEC;
	}
	if (size < len) {
		*why = "image_size in the Image header is smaller than the file";
		return -ENOEXEC;
	}
	if (pe_file_len(p, len) > len) {
		*why = "truncated: the Image's PE/COFF section table reaches past the end of the file";
		return -ENOEXEC;
	}
	out->text_offset = text;
	out->image_size = size;
	out->flags = flags;
	return 0;
}

static uint64_t add_sat(uint64_t a, uint64_t b)
{
	return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

/* Bytes from ADDR up to the next multiple of ALIGN (a power of two);
 * modular arithmetic, so right for any ADDR. */
static uint64_t pad_up(uint64_t addr, uint64_t align)
{
	return (0 - addr) & (align - 1);
}

static _Thread_local char place_why[96];

static int too_small(uint64_t need, const char **why)
{
	snprintf(place_why, sizeof(place_why),
		 "RAM too small for kernel + initramfs + device tree (%llu MiB needed)",
		 (unsigned long long)(need / MiB + (need % MiB != 0)));
	*why = place_why;
	return -ENOSPC;
}

int a64_place(uint64_t ram_base, uint64_t ram_size, const struct a64_image *img,
	      uint64_t kernel_len, uint64_t initrd_len,
	      struct a64_placement *out, const char **why)
{
	uint64_t k_off, k_end, top, dtb_off, i_size = 0, i_off, win_end, need;

	*why = NULL;
	/* RAM is [ram_base, ram_base + ram_size - 1]; the last byte must be
	 * addressable, ram_base + ram_size itself may be 2^64. */
	if (ram_size == 0 || ram_size - 1 > UINT64_MAX - ram_base) {
		*why = "RAM range is empty or wraps around the address space";
		return -EINVAL;
	}
	if (img->text_offset >= KERNEL_ALIGN || img->text_offset % TEXT_ALIGN) {
		*why = "text_offset is not a 4 KiB multiple below 2 MiB";
		return -EINVAL;
	}

	/* All offsets below are from ram_base and at most ram_size once
	 * checked, so ram_base + offset is exact. */
	k_off = pad_up(ram_base, KERNEL_ALIGN) + img->text_offset;
	k_end = add_sat(k_off, img->image_size > kernel_len ? img->image_size
							     : kernel_len);
	if (initrd_len)
		i_size = add_sat(initrd_len, PAGE_MAX - 1) & ~(PAGE_MAX - 1);
	need = add_sat(add_sat(add_sat(k_end, pad_up(ram_base + k_end, PAGE_MAX)),
			       i_size), A64_DTB_MAX);

	/* The end of RAM rounded down to 64 KiB; its low bits are those of
	 * the (possibly wrapped) sum.  RAM inside one 64 KiB page has no
	 * such boundary: the subtraction would wrap. */
	top = (ram_base + ram_size) & (PAGE_MAX - 1);
	if (top > ram_size)
		return too_small(need, why);
	top = ram_size - top;
	if (top < A64_DTB_MAX)
		return too_small(need, why);
	dtb_off = top - A64_DTB_MAX;
	if (dtb_off < i_size || dtb_off - i_size < k_end)
		return too_small(need, why);
	i_off = dtb_off - i_size;

	if (i_size) {
		/* The 1 GiB-aligned, 32 GiB window starting at or below the
		 * kernel must hold the initramfs too: put it at the lower of
		 * the window's end and the device tree. */
		win_end = add_sat(k_off, INITRD_WIN_SIZE -
				  ((ram_base + k_off) & (INITRD_WIN_ALIGN - 1)));
		if (win_end < dtb_off) {
			if (win_end < i_size || win_end - i_size < k_end) {
				*why = "initramfs does not fit between the kernel and the end of "
				       "the 32 GiB window that must hold both";
				return -ENOSPC;
			}
			i_off = win_end - i_size;
		}
	}

	out->kernel_gpa = ram_base + k_off;
	out->initrd_gpa = i_size ? ram_base + i_off : 0;
	out->dtb_gpa = ram_base + dtb_off;
	return 0;
}
