/*
 * libFuzzer target for the arm64 Image loader's pure half (arch/aarch64/image.c), built on
 * any host: a64_image_parse() on arbitrary bytes as the kernel file, then, for a header it
 * accepts, a64_place() into a RAM range and with an initramfs size the input chooses.
 *
 * The input: bytes 0-7 the RAM base, 8-15 the RAM size, 16-23 the initramfs length (each
 * le64; the size and length as they are or, when bit 7 of byte 15 / 23 is clear, cut to
 * 40 / 36 bits so that plausible layouts come up often), then the Image file.
 *
 * Checked (abort on violation): a parsed header has a 4 KiB-aligned text_offset below 2 MiB
 * and an image_size at least the file's; a refusal says why. A placement keeps booting.rst's
 * rules as image.h promises: the kernel at a 2 MiB boundary + text_offset, its footprint
 * (max(image_size, file)), the initramfs and the 2 MiB device-tree window wholly inside RAM,
 * none overlapping or sharing a 64 KiB page with another, the initramfs and device tree
 * 64 KiB aligned, and the initramfs inside the 1 GiB-aligned 32 GiB window that holds the
 * kernel; a refusal says why. Arithmetic is checked in 128 bits.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "image.h"
#include "layout.h"

#define KiB		(1ULL << 10)
#define MiB		(1ULL << 20)
#define GiB		(1ULL << 30)
#define HDR_BYTES	24

typedef unsigned __int128 u128;

static uint64_t le64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

/* [A, A + AN) and [B, B + BN) are disjoint, with a 64 KiB boundary between them. */
static bool apart(u128 a, u128 an, u128 b, u128 bn)
{
	u128 page = 64 * KiB;

	if (a > b)
		return apart(b, bn, a, an);
	return (a + an + page - 1) / page * page <= b;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct a64_placement pl;
	struct a64_image img;
	uint64_t base, ram, initrd, klen;
	const char *why = NULL;
	u128 end, kfoot;
	int ret;

	if (size < HDR_BYTES)
		return 0;
	base = le64(data);
	ram = le64(data + 8);
	initrd = le64(data + 16);
	if (!(data[15] & 0x80))
		ram &= (1ULL << 40) - 1;
	if (!(data[23] & 0x80))
		initrd &= (1ULL << 36) - 1;
	klen = size - HDR_BYTES;

	memset(&img, 0xa5, sizeof(img));
	ret = a64_image_parse(data + HDR_BYTES, klen, &img, &why);
	if (ret) {
		check(ret == -ENOEXEC && why && *why);
		return 0;
	}
	check(img.text_offset < 2 * MiB && img.text_offset % (4 * KiB) == 0);
	check(img.image_size >= klen);

	memset(&pl, 0xa5, sizeof(pl));
	why = NULL;
	ret = a64_place(base, ram, &img, klen, initrd, &pl, &why);
	if (ret) {
		check((ret == -EINVAL || ret == -ENOSPC) && why && *why);
		return 0;
	}
	end = (u128)base + ram;
	kfoot = img.image_size > klen ? img.image_size : klen;
	check(pl.kernel_gpa >= base && (pl.kernel_gpa - img.text_offset) % (2 * MiB) == 0);
	check((u128)pl.kernel_gpa + kfoot <= end);
	check(pl.dtb_gpa >= base && pl.dtb_gpa % (64 * KiB) == 0);
	check((u128)pl.dtb_gpa + A64_DTB_MAX <= end);
	check(apart(pl.kernel_gpa, kfoot, pl.dtb_gpa, A64_DTB_MAX));
	if (!initrd) {
		check(pl.initrd_gpa == 0);
		return 0;
	}
	check(pl.initrd_gpa >= base && pl.initrd_gpa % (64 * KiB) == 0);
	check((u128)pl.initrd_gpa + initrd <= end);
	check(apart(pl.kernel_gpa, kfoot, pl.initrd_gpa, initrd));
	check(apart(pl.initrd_gpa, initrd, pl.dtb_gpa, A64_DTB_MAX));
	check((u128)pl.initrd_gpa + initrd <=
	      (u128)(pl.kernel_gpa & ~(GiB - 1)) + 32 * GiB);
	return 0;
}
