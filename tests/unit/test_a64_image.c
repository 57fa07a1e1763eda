/*
 * Unit tests for the arm64 Image header parser and the RAM placement of
 * kernel, initramfs and device tree: good and old headers, files that are
 * not an Image (with the hint for each), bad header fields, exact
 * placements, a grid of sizes checked against booting.rst's rules, RAM too
 * small, the 32 GiB initramfs window, and RAM at the top of the address
 * space.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "image.h"
#include "layout.h"

#define KiB (1ULL << 10)
#define MiB (1ULL << 20)
#define GiB (1ULL << 30)

static uint8_t file[64 * KiB];

static void put_le(uint8_t *p, uint64_t v, int n)
{
	int i;

	for (i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* A plausible Image header at the start of FILE, the rest zero. */
static void make_image(uint64_t text, uint64_t size, uint64_t flags)
{
	memset(file, 0, sizeof(file));
	put_le(file, 0x91005a4d, 4);		/* "MZ": add x13, x18, #0x16 */
	put_le(file + 4, 0x14000000 | 0x100, 4);	/* b stext */
	put_le(file + 8, text, 8);
	put_le(file + 16, size, 8);
	put_le(file + 24, flags, 8);
	memcpy(file + 56, "ARM\x64", 4);
}

static void expect_refused(size_t len, const char *hint)
{
	struct a64_image img;
	const char *why = NULL;

	cr_expect_eq(a64_image_parse(file, len, &img, &why), -ENOEXEC);
	cr_assert_not_null(why);
	cr_expect(strstr(why, hint) != NULL, "why \"%s\" lacks \"%s\"", why, hint);
}

/* An EFI-stub Image is a PE file too: one section whose raw data ends at
 * END tells how long the file must be; shorter means truncated. */
Test(a64_image, truncated_pe_image)
{
	struct a64_image img;
	const char *why = NULL;
	uint64_t end = 40 * KiB;

	make_image(0, 1 * MiB, 0xa);
	put_le(file + 0x3c, 0x40, 4);			/* PE header offset */
	memcpy(file + 0x40, "PE\0\0", 4);
	put_le(file + 0x40 + 6, 1, 2);			/* NumberOfSections */
	put_le(file + 0x40 + 20, 0, 2);			/* SizeOfOptionalHeader */
	put_le(file + 0x40 + 24 + 16, end - 4 * KiB, 4);	/* SizeOfRawData */
	put_le(file + 0x40 + 24 + 20, 4 * KiB, 4);		/* PointerToRawData */
	cr_expect_eq(a64_image_parse(file, end, &img, &why), 0, "%s", why ? why : "");
	cr_expect_eq(a64_image_parse(file, end + 1, &img, &why), 0);
	expect_refused(end - 1, "truncated");
	expect_refused(4 * KiB, "truncated");
	/* A section table that is itself cut off is no evidence: accepted. */
	put_le(file + 0x40 + 6, 0xffff, 2);
	cr_expect_eq(a64_image_parse(file, end, &img, &why), 0);
}

Test(a64_image, good_header)
{
	struct a64_image img;
	const char *why = "stale";

	make_image(0, 0x2345000, 0xa);
	cr_assert_eq(a64_image_parse(file, sizeof(file), &img, &why), 0);
	cr_expect_null(why);
	cr_expect_eq(img.text_offset, 0);
	cr_expect_eq(img.image_size, 0x2345000);
	cr_expect_eq(img.flags, 0xa);
	cr_expect_eq(img.flags & A64_IMAGE_FLAG_PAGE_MASK, 1 << A64_IMAGE_FLAG_PAGE_SHIFT);
	cr_expect(img.flags & A64_IMAGE_FLAG_ANYWHERE);
}

Test(a64_image, text_offsets)
{
	struct a64_image img;
	const char *why;

	make_image(0x80000, 8 * MiB, 2);
	cr_assert_eq(a64_image_parse(file, sizeof(file), &img, &why), 0);
	cr_expect_eq(img.text_offset, 0x80000);
	make_image(0x1ff000, 8 * MiB, 2);	/* randomized, last valid */
	cr_assert_eq(a64_image_parse(file, sizeof(file), &img, &why), 0);
	cr_expect_eq(img.text_offset, 0x1ff000);
	make_image(0x80001, 8 * MiB, 2);
	expect_refused(sizeof(file), "text_offset");
	make_image(2 * MiB, 8 * MiB, 2);
	expect_refused(sizeof(file), "text_offset");
	make_image(1ULL << 63, 8 * MiB, 2);
	expect_refused(sizeof(file), "text_offset");
}

Test(a64_image, old_kernel)
{
	struct a64_image img;
	const char *why;

	/* Pre-3.17: image_size 0; text_offset (here big-endian 0x80000) and
	 * the then-reserved flags must be ignored. */
	make_image(0x0000080000000000ULL, 0, 1);
	cr_assert_eq(a64_image_parse(file, sizeof(file), &img, &why), 0);
	cr_expect_eq(img.text_offset, A64_IMAGE_OLD_TEXT);
	cr_expect_eq(img.flags, 0);
	cr_expect_eq(img.image_size, 4 * MiB);	/* 64 KiB -> 2 MiB, twice */
	cr_expect_geq(img.image_size, sizeof(file));
}

Test(a64_image, image_size_vs_file)
{
	struct a64_image img;
	const char *why;

	make_image(0, sizeof(file), 0);
	cr_expect_eq(a64_image_parse(file, sizeof(file), &img, &why), 0);
	make_image(0, sizeof(file) - 1, 0);
	expect_refused(sizeof(file), "image_size");
}

Test(a64_image, short_file)
{
	struct a64_image img;
	const char *why;

	make_image(0, 8 * MiB, 0);
	expect_refused(63, "too short");
	expect_refused(0, "too short");
	cr_expect_eq(a64_image_parse(NULL, 0, &img, &why), -ENOEXEC);
	cr_expect_eq(a64_image_parse(file, 64, &img, &why), 0);
}

Test(a64_image, wrong_magic)
{
	make_image(0, 8 * MiB, 0);
	file[59] = 0x65;
	expect_refused(sizeof(file), "magic");
	memset(file, 0, sizeof(file));
	expect_refused(sizeof(file), "magic");
}

Test(a64_image, compressed_and_elf)
{
	memset(file, 0, sizeof(file));
	memcpy(file, "\x1f\x8b\x08\x00", 4);
	expect_refused(sizeof(file), "gzip");
	expect_refused(sizeof(file), "gunzip");
	expect_refused(20, "gzip");		/* short, but still gzip */
	memcpy(file, "\x7f" "ELF\x02\x01\x01", 7);
	expect_refused(sizeof(file), "ELF vmlinux");
	expect_refused(sizeof(file), "use the Image");
	memcpy(file, "\x28\xb5\x2f\xfd", 4);
	expect_refused(sizeof(file), "zstd");
	memcpy(file, "\xfd" "7zXZ\0", 6);
	expect_refused(sizeof(file), "xz");
	memcpy(file, "MZ\0\0zimg", 8);
	expect_refused(sizeof(file), "zboot");
}

Test(a64_image, magic_wins_over_first_bytes)
{
	struct a64_image img;
	const char *why;

	make_image(0, 8 * MiB, 0);
	memcpy(file, "\x1f\x8b", 2);
	cr_expect_eq(a64_image_parse(file, sizeof(file), &img, &why), 0);
}

Test(a64_image, big_endian)
{
	make_image(0, 8 * MiB, 0xb);
	expect_refused(sizeof(file), "big-endian");
}

/* booting.rst's rules, checked on offsets from BASE so nothing overflows. */
static void check_layout(uint64_t base, uint64_t size, const struct a64_image *img,
			 uint64_t klen, uint64_t ilen, const struct a64_placement *p)
{
	uint64_t ksize = img->image_size > klen ? img->image_size : klen;
	uint64_t k = p->kernel_gpa - base, d = p->dtb_gpa - base, i;
	uint64_t win;

	cr_expect_geq(p->kernel_gpa, base);
	cr_expect_eq((p->kernel_gpa - img->text_offset) % (2 * MiB), 0);
	cr_expect_lt(k - img->text_offset, 2 * MiB, "kernel not at the lowest 2 MiB boundary");
	cr_expect_geq(p->dtb_gpa, base);
	cr_expect_eq(p->dtb_gpa % (64 * KiB), 0);
	cr_expect_leq(d, size - A64_DTB_MAX, "device tree past the end of RAM");
	cr_expect_geq(d, size - A64_DTB_MAX - 64 * KiB, "device tree not at the top");
	if (!ilen) {
		cr_expect_eq(p->initrd_gpa, 0);
		cr_expect_leq(k + ksize, d);
		return;
	}
	cr_expect_geq(p->initrd_gpa, base);
	i = p->initrd_gpa - base;
	cr_expect_eq(p->initrd_gpa % (64 * KiB), 0);
	cr_expect_leq(k + ksize, i, "kernel runs into the initramfs");
	cr_expect_leq(i + ((ilen + 64 * KiB - 1) & ~(64 * KiB - 1)), d,
		      "initramfs shares a page with the device tree");
	win = p->kernel_gpa & ~(GiB - 1);
	cr_expect_leq(p->initrd_gpa - win + ilen, 32 * GiB, "initramfs outside the 32 GiB window");
}

static int place(uint64_t base, uint64_t size, const struct a64_image *img,
		 uint64_t klen, uint64_t ilen, struct a64_placement *p)
{
	const char *why = NULL;
	int ret = a64_place(base, size, img, klen, ilen, p, &why);

	if (ret)
		cr_expect_not_null(why);
	else
		check_layout(base, size, img, klen, ilen, p);
	return ret;
}

Test(a64_place, exact)
{
	struct a64_image img = { .text_offset = 0, .image_size = 32 * MiB };
	struct a64_placement p;

	cr_assert_eq(place(A64_RAM_GPA, 512 * MiB, &img, 20 * MiB, 10 * MiB + 1, &p), 0);
	cr_expect_eq(p.kernel_gpa, A64_RAM_GPA);
	cr_expect_eq(p.dtb_gpa, A64_RAM_GPA + 510 * MiB);
	cr_expect_eq(p.initrd_gpa, A64_RAM_GPA + 510 * MiB - 10 * MiB - 64 * KiB);
	cr_assert_eq(place(A64_RAM_GPA, 512 * MiB, &img, 20 * MiB, 0, &p), 0);
	cr_expect_eq(p.initrd_gpa, 0);
}

Test(a64_place, text_offset_and_unaligned_base)
{
	struct a64_image img = { .text_offset = 0x80000, .image_size = 16 * MiB };
	struct a64_placement p;

	cr_assert_eq(place(A64_RAM_GPA, 256 * MiB, &img, 8 * MiB, MiB, &p), 0);
	cr_expect_eq(p.kernel_gpa, A64_RAM_GPA + 0x80000);
	cr_assert_eq(place(A64_RAM_GPA + 0x10000, 256 * MiB, &img, 8 * MiB, MiB, &p), 0);
	cr_expect_eq(p.kernel_gpa, A64_RAM_GPA + 2 * MiB + 0x80000);
	/* RAM end not 64 KiB aligned: the device tree still fits below it. */
	cr_assert_eq(place(A64_RAM_GPA, 256 * MiB - 4 * KiB, &img, 8 * MiB, MiB, &p), 0);
	cr_expect_eq(p.dtb_gpa, A64_RAM_GPA + 256 * MiB - 64 * KiB - A64_DTB_MAX);
}

Test(a64_place, grid)
{
	static const uint64_t bases[] = { A64_RAM_GPA, 0, 0x80201000, 7 * GiB + 12345 };
	static const uint64_t sizes[] = { 64 * MiB, 300 * MiB + 4 * KiB, 3 * GiB, 40 * GiB, A64_RAM_MAX };
	static const uint64_t klens[] = { 64, 30 * MiB + 7 };
	static const uint64_t ilens[] = { 0, 1, 5 * MiB + 3, 40 * MiB };
	struct a64_image img = { .text_offset = 0x80000, .image_size = 24 * MiB };
	struct a64_placement p;
	unsigned int a, b, c, d, ok = 0;
	uint64_t need;

	for (a = 0; a < 4; a++)
		for (b = 0; b < 5; b++)
			for (c = 0; c < 2; c++)
				for (d = 0; d < 4; d++) {
					if (!place(bases[a], sizes[b], &img, klens[c], ilens[d], &p)) {
						ok++;
						continue;
					}
					/* Refused only when it cannot fit even unaligned. */
					need = 0x80000 + (klens[c] > img.image_size ? klens[c] :
							  img.image_size) + ilens[d] + A64_DTB_MAX;
					cr_expect_gt(need + 2 * MiB + 128 * KiB, sizes[b],
						     "refused base 0x%llx size 0x%llx klen %llu ilen %llu",
						     (unsigned long long)bases[a],
						     (unsigned long long)sizes[b],
						     (unsigned long long)klens[c],
						     (unsigned long long)ilens[d]);
				}
	cr_expect_geq(ok, 4 * 4 * 2 * 4 + 4 * 2 * 3, "only %u placements succeeded", ok);
}

Test(a64_place, ram_too_small)
{
	struct a64_image img = { .text_offset = 0, .image_size = 32 * MiB };
	struct a64_placement p;
	const char *why = NULL;

	cr_expect_eq(a64_place(A64_RAM_GPA, 16 * MiB, &img, 20 * MiB, 0, &p, &why), -ENOSPC);
	cr_assert_not_null(why);
	cr_expect_str_eq(why, "RAM too small for kernel + initramfs + device tree (34 MiB needed)");
	cr_expect_eq(a64_place(A64_RAM_GPA, MiB, &img, 20 * MiB, 0, &p, &why), -ENOSPC);
	/* Exactly enough, then 64 KiB short. */
	cr_expect_eq(a64_place(A64_RAM_GPA, 44 * MiB, &img, 0, 10 * MiB, &p, &why), 0);
	cr_expect_eq(p.initrd_gpa, A64_RAM_GPA + 32 * MiB);
	cr_expect_eq(a64_place(A64_RAM_GPA, 44 * MiB - 64 * KiB, &img, 0, 10 * MiB, &p, &why),
		     -ENOSPC);
	cr_expect(strstr(why, "(44 MiB needed)") != NULL, "%s", why);
	/* The file, not the header, is the larger. */
	cr_expect_eq(a64_place(A64_RAM_GPA, 44 * MiB, &img, 33 * MiB, 10 * MiB, &p, &why),
		     -ENOSPC);
}

Test(a64_place, huge_sizes)
{
	struct a64_image img = { .text_offset = 0, .image_size = UINT64_MAX };
	struct a64_placement p;
	const char *why;

	cr_expect_eq(a64_place(A64_RAM_GPA, A64_RAM_MAX, &img, 0, 0, &p, &why), -ENOSPC);
	img.image_size = 32 * MiB;
	cr_expect_eq(a64_place(A64_RAM_GPA, A64_RAM_MAX, &img, UINT64_MAX, 0, &p, &why),
		     -ENOSPC);
	cr_expect_eq(a64_place(A64_RAM_GPA, A64_RAM_MAX, &img, 0, UINT64_MAX, &p, &why),
		     -ENOSPC);
	cr_expect_eq(a64_place(A64_RAM_GPA, A64_RAM_MAX, &img, 0, UINT64_MAX - 1000, &p, &why),
		     -ENOSPC);
}

Test(a64_place, top_of_address_space)
{
	struct a64_image img = { .text_offset = 0x80000, .image_size = 32 * MiB };
	struct a64_placement p;
	const char *why;

	/* RAM ends exactly at 2^64: legal, the last byte is addressable. */
	cr_assert_eq(place(0ULL - GiB, GiB, &img, MiB, 8 * MiB, &p), 0);
	cr_expect_eq(p.kernel_gpa, 0ULL - GiB + 0x80000);
	cr_expect_eq(p.dtb_gpa, 0ULL - A64_DTB_MAX);
	cr_expect_eq(p.initrd_gpa, 0ULL - A64_DTB_MAX - 8 * MiB);
	/* Unaligned, a few bytes short of the end. */
	cr_assert_eq(place(UINT64_MAX - GiB, GiB, &img, MiB, 8 * MiB, &p), 0);
	/* Wrapping ranges are refused, not folded. */
	cr_expect_eq(a64_place(UINT64_MAX - 10 * MiB, GiB, &img, MiB, 0, &p, &why), -EINVAL);
	cr_expect_eq(a64_place(0ULL - GiB, GiB + 1, &img, MiB, 0, &p, &why), -EINVAL);
	cr_expect_eq(a64_place(A64_RAM_GPA, 0, &img, MiB, 0, &p, &why), -EINVAL);
	/* Too small there must still be -ENOSPC, not an overflow. */
	cr_expect_eq(a64_place(0ULL - 4 * MiB, 4 * MiB, &img, MiB, 0, &p, &why), -ENOSPC);
}

Test(a64_place, initrd_window)
{
	struct a64_image img = { .text_offset = 0, .image_size = 32 * MiB };
	struct a64_placement p;
	const char *why = NULL;

	/* 64 GiB of RAM from 1 GiB: the window is [1 GiB, 33 GiB). */
	cr_assert_eq(place(A64_RAM_GPA, 64 * GiB, &img, MiB, 100 * MiB, &p), 0);
	cr_expect_eq(p.initrd_gpa + 100 * MiB, 33 * GiB);
	cr_expect_eq(p.dtb_gpa, A64_RAM_GPA + 64 * GiB - A64_DTB_MAX);
	/* Below the window's end the device tree wins. */
	cr_assert_eq(place(A64_RAM_GPA, 16 * GiB, &img, MiB, 100 * MiB, &p), 0);
	cr_expect_eq(p.initrd_gpa + 100 * MiB, p.dtb_gpa);
	cr_expect_eq(a64_place(A64_RAM_GPA, 64 * GiB, &img, MiB, 40 * GiB, &p, &why), -ENOSPC);
	cr_assert_not_null(why);
	cr_expect(strstr(why, "32 GiB") != NULL, "%s", why);
}

Test(a64_place, bad_text_offset)
{
	struct a64_image img = { .text_offset = 2 * MiB, .image_size = 32 * MiB };
	struct a64_placement p;
	const char *why = NULL;

	cr_expect_eq(a64_place(A64_RAM_GPA, GiB, &img, MiB, 0, &p, &why), -EINVAL);
	cr_expect_not_null(why);
	img.text_offset = 0x80800;
	cr_expect_eq(a64_place(A64_RAM_GPA, GiB, &img, MiB, 0, &p, &why), -EINVAL);
}

Test(a64_place, parsed_old_kernel)
{
	struct a64_image img;
	struct a64_placement p;
	const char *why;

	make_image(0, 0, 0);
	cr_assert_eq(a64_image_parse(file, sizeof(file), &img, &why), 0);
	cr_assert_eq(place(A64_RAM_GPA, 128 * MiB, &img, sizeof(file), 3 * MiB, &p), 0);
	cr_expect_eq(p.kernel_gpa, A64_RAM_GPA + 0x80000);
	cr_expect_geq(p.initrd_gpa, p.kernel_gpa + img.image_size);
}

/*
 * Found by fuzz_a64_image: RAM that holds no 64 KiB boundary below its end (a few KiB inside
 * one 64 KiB page) made the rounded-down end of RAM wrap below its base, and the kernel and
 * device tree were "placed" far outside RAM instead of refused.
 */
Test(a64_place, ram_end_below_64k_boundary)
{
	struct a64_image img = { .text_offset = 0, .image_size = 4 * KiB };
	struct a64_placement p;
	const char *why = NULL;

	cr_expect_eq(a64_place(A64_RAM_GPA + 32 * KiB, 4 * KiB, &img, 4 * KiB, 0, &p, &why),
		     -ENOSPC);
	cr_expect_not_null(why);
	cr_expect_eq(a64_place(0x60b000001172ULL, 0x60, &img, 4 * KiB, 0, &p, &why), -ENOSPC);
}
