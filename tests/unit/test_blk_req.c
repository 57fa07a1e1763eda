/*
 * Unit tests for virtio-blk request parsing and execution (virtio/blk_req.c): chains built by
 * hand (no vq_pop), 2 MiB of fake guest RAM and a 1 MiB image file in /tmp filled with a
 * known pattern. Every malformed request must get the right status without touching the file.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "blk_req.h"

#define MiB		(1ULL << 20)
#define DISK_BYTES	MiB
#define DISK_SECTORS	(DISK_BYTES / BLK_SECTOR_SIZE)
#define RAM_BYTES	(2 * MiB)

/* Guest addresses used by the tests. */
#define HDR_GPA		0x1000ULL
#define STATUS_GPA	0x2000ULL
#define SEG_GPA		0x3000ULL
#define DATA_GPA	0x10000ULL
#define DATA2_GPA	0x80000ULL

#define NO_STATUS	0xee		/* what the status byte holds before a request */

static struct guest_mem gm;
static struct blk_backend be;
static struct vq_chain ch;
static struct blk_req req;
static char img_path[] = "/tmp/kvmm-test-blk-XXXXXX";
static uint8_t *orig;			/* the image as the fixture wrote it */

static uint8_t pat(uint64_t off)
{
	return (uint8_t)(off * 31 + (off >> 9) * 7 + 1);
}

static void setup(void)
{
	struct gm_region l[] = { { .gpa = 0, .size = RAM_BYTES } };
	uint64_t i;
	int fd;

	cr_assert_eq(gm_create(&gm, l, 1), 0);
	fd = mkstemp(img_path);
	cr_assert_geq(fd, 0);
	cr_assert_eq(ftruncate(fd, DISK_BYTES), 0);
	orig = malloc(DISK_BYTES);
	cr_assert_not_null(orig);
	for (i = 0; i < DISK_BYTES; i++)
		orig[i] = pat(i);
	cr_assert_eq(pwrite(fd, orig, DISK_BYTES, 0), (ssize_t)DISK_BYTES);
	memset(&be, 0, sizeof(be));
	be.fd = fd;
	be.sectors = DISK_SECTORS;
	be.discard = true;
	be.write_zeroes = true;
	memcpy(be.id, "KVMM-SERIAL-01234567", BLK_ID_BYTES);
	memset(&ch, 0, sizeof(ch));
	memset(&req, 0, sizeof(req));
	cr_assert_eq(gm_write(&gm, STATUS_GPA, &(uint8_t){ NO_STATUS }, 1), 0);
}

static void teardown(void)
{
	if (be.fd >= 0)
		close(be.fd);
	unlink(img_path);
	free(orig);
	gm_destroy(&gm);
}

TestSuite(blk_req, .init = setup, .fini = teardown);

/* Appends a buffer to the chain (readable ones first, as vq_pop() delivers them). */
static void add(uint64_t gpa, uint32_t len, bool write)
{
	unsigned int i = ch.nr_out + ch.nr_in;

	cr_assert(write || ch.nr_in == 0, "readable buffer after a writable one");
	ch.bufs[i] = (struct vq_buf){ .gpa = gpa, .len = len, .write = write };
	if (write) {
		ch.nr_in++;
		ch.in_len += len;
	} else {
		ch.nr_out++;
		ch.out_len += len;
	}
}

static void put_hdr(uint64_t gpa, uint32_t type, uint64_t sector)
{
	uint8_t h[BLK_HDR_BYTES] = { 0 };
	uint32_t t = htole32(type);
	uint64_t s = htole64(sector);

	memcpy(h, &t, 4);
	memcpy(h + 8, &s, 8);
	cr_assert_eq(gm_write(&gm, gpa, h, sizeof(h)), 0);
}

static void put_seg(unsigned int i, uint64_t sector, uint32_t num, uint32_t flags)
{
	uint64_t s = htole64(sector);
	uint32_t n = htole32(num), f = htole32(flags);
	uint64_t gpa = SEG_GPA + i * BLK_SEG_BYTES;

	cr_assert_eq(gm_write(&gm, gpa, &s, 8), 0);
	cr_assert_eq(gm_write(&gm, gpa + 8, &n, 4), 0);
	cr_assert_eq(gm_write(&gm, gpa + 12, &f, 4), 0);
}

static uint8_t *ram(uint64_t gpa, uint64_t len)
{
	uint8_t *p = gm_ptr(&gm, gpa, len);

	cr_assert_not_null(p);
	return p;
}

static uint8_t status_at(uint64_t gpa)
{
	return *ram(gpa, 1);
}

/* A request with just a header and a status byte at STATUS_GPA. */
static void simple(uint32_t type, uint64_t sector)
{
	put_hdr(HDR_GPA, type, sector);
	add(HDR_GPA, BLK_HDR_BYTES, false);
}

static void read_img(uint64_t off, void *buf, size_t len)
{
	int fd = open(img_path, O_RDONLY);

	cr_assert_geq(fd, 0);
	cr_assert_eq(pread(fd, buf, len, off), (ssize_t)len);
	close(fd);
}

/* The image still matches the fixture's pattern everywhere except [skip, skip + len). */
static void assert_img_except(uint64_t skip, uint64_t len)
{
	uint8_t *now = malloc(DISK_BYTES);
	uint64_t i;

	cr_assert_not_null(now);
	read_img(0, now, DISK_BYTES);
	for (i = 0; i < DISK_BYTES; i++)
		if (i < skip || i >= skip + len)
			cr_assert_eq(now[i], orig[i], "image byte %#llx changed",
				     (unsigned long long)i);
	free(now);
}

static void assert_img_untouched(void)
{
	assert_img_except(0, 0);
}

static void assert_img_zero(uint64_t off, uint64_t len)
{
	uint8_t *now = malloc(len);
	uint64_t i;

	cr_assert_not_null(now);
	read_img(off, now, len);
	for (i = 0; i < len; i++)
		cr_assert_eq(now[i], 0, "byte %#llx not zeroed", (unsigned long long)(off + i));
	free(now);
}

/* Runs the chain through blk_handle(); checks the used length and the status byte. */
static void expect(uint32_t used, uint8_t status)
{
	cr_assert_eq(blk_handle(&gm, &be, &ch, &req), used);
	cr_assert_eq(status_at(STATUS_GPA), status);
}

/* ---- IN / OUT ---- */

Test(blk_req, in_reads_into_split_buffers)
{
	simple(VIRTIO_BLK_T_IN, 3);
	add(DATA_GPA, 100, true);
	add(DATA2_GPA, 924, true);
	add(STATUS_GPA, 1, true);
	expect(1025, VIRTIO_BLK_S_OK);
	cr_assert_arr_eq(ram(DATA_GPA, 100), orig + 3 * 512, 100);
	cr_assert_arr_eq(ram(DATA2_GPA, 924), orig + 3 * 512 + 100, 924);
	cr_assert_eq(*ram(DATA_GPA + 100, 1), 0, "wrote past the first buffer");
}

Test(blk_req, in_many_buffers)
{
	unsigned int i;

	simple(VIRTIO_BLK_T_IN, 100);
	for (i = 0; i < 16; i++)
		add(DATA_GPA + i * 1000, 256, true);
	add(STATUS_GPA, 1, true);
	expect(4097, VIRTIO_BLK_S_OK);
	for (i = 0; i < 16; i++)
		cr_assert_arr_eq(ram(DATA_GPA + i * 1000, 256), orig + 100 * 512 + i * 256, 256);
}

Test(blk_req, in_status_shares_last_buffer)
{
	simple(VIRTIO_BLK_T_IN, 0);
	*ram(DATA_GPA + 512, 1) = NO_STATUS;
	add(DATA_GPA, 513, true);
	cr_assert_eq(blk_handle(&gm, &be, &ch, &req), 513);
	cr_assert_arr_eq(ram(DATA_GPA, 512), orig, 512);
	cr_assert_eq(status_at(DATA_GPA + 512), VIRTIO_BLK_S_OK);
}

Test(blk_req, in_last_sector_ok)
{
	simple(VIRTIO_BLK_T_IN, DISK_SECTORS - 1);
	add(DATA_GPA, 512, true);
	add(STATUS_GPA, 1, true);
	expect(513, VIRTIO_BLK_S_OK);
	cr_assert_arr_eq(ram(DATA_GPA, 512), orig + DISK_BYTES - 512, 512);
}

/* Decision: an IN with no data bytes is a valid no-op (OK, used length 1). */
Test(blk_req, in_status_only_is_ok)
{
	simple(VIRTIO_BLK_T_IN, 5);
	add(STATUS_GPA, 1, true);
	expect(1, VIRTIO_BLK_S_OK);
}

Test(blk_req, header_split_across_buffers)
{
	uint8_t h[BLK_HDR_BYTES];

	put_hdr(HDR_GPA, VIRTIO_BLK_T_IN, 7);
	memcpy(h, ram(HDR_GPA, BLK_HDR_BYTES), BLK_HDR_BYTES);
	memset(ram(HDR_GPA, BLK_HDR_BYTES), 0xff, BLK_HDR_BYTES);
	memcpy(ram(HDR_GPA, 5), h, 5);
	memcpy(ram(HDR_GPA + 0x100, 11), h + 5, 11);
	add(HDR_GPA, 5, false);
	add(HDR_GPA + 0x100, 11, false);
	add(DATA_GPA, 512, true);
	add(STATUS_GPA, 1, true);
	expect(513, VIRTIO_BLK_S_OK);
	cr_assert_arr_eq(ram(DATA_GPA, 512), orig + 7 * 512, 512);
}

Test(blk_req, out_writes_exact_bytes)
{
	uint8_t got[1024];
	unsigned int i;

	put_hdr(HDR_GPA, VIRTIO_BLK_T_OUT, 10);
	for (i = 0; i < 1024; i++)
		*ram(HDR_GPA + BLK_HDR_BYTES + i, 1) = (uint8_t)(i ^ 0x5a);
	/* Header and the first 300 data bytes in one buffer, the rest in a second. */
	memcpy(ram(DATA_GPA, 724), ram(HDR_GPA + BLK_HDR_BYTES + 300, 724), 724);
	add(HDR_GPA, BLK_HDR_BYTES + 300, false);
	add(DATA_GPA, 724, false);
	add(STATUS_GPA, 1, true);
	expect(1, VIRTIO_BLK_S_OK);
	read_img(10 * 512, got, sizeof(got));
	for (i = 0; i < 1024; i++)
		cr_assert_eq(got[i], (uint8_t)(i ^ 0x5a), "byte %u", i);
	assert_img_except(10 * 512, 1024);
}

Test(blk_req, out_readonly_is_ioerr)
{
	be.readonly = true;
	simple(VIRTIO_BLK_T_OUT, 0);
	memset(ram(DATA_GPA, 512), 0xaa, 512);
	add(DATA_GPA, 512, false);
	add(STATUS_GPA, 1, true);
	expect(1, VIRTIO_BLK_S_IOERR);
	assert_img_untouched();
}

Test(blk_req, out_extra_writable_is_ioerr)
{
	simple(VIRTIO_BLK_T_OUT, 0);
	memset(ram(DATA_GPA, 512), 0xaa, 512);
	add(DATA_GPA, 512, false);
	add(DATA2_GPA, 8, true);
	add(STATUS_GPA, 1, true);
	expect(1, VIRTIO_BLK_S_IOERR);
	assert_img_untouched();
}

Test(blk_req, in_extra_readable_is_ioerr)
{
	simple(VIRTIO_BLK_T_IN, 0);
	add(DATA2_GPA, 512, false);
	add(DATA_GPA, 512, true);
	add(STATUS_GPA, 1, true);
	expect(1, VIRTIO_BLK_S_IOERR);
	cr_assert_eq(*ram(DATA_GPA, 1), 0, "data read despite the error");
}

Test(blk_req, header_too_short_is_ioerr)
{
	put_hdr(HDR_GPA, VIRTIO_BLK_T_IN, 0);
	add(HDR_GPA, 12, false);
	add(DATA_GPA, 512, true);
	add(STATUS_GPA, 1, true);
	expect(1, VIRTIO_BLK_S_IOERR);
	cr_assert_eq(*ram(DATA_GPA, 1), 0);
}

Test(blk_req, no_header_at_all_is_ioerr)
{
	add(STATUS_GPA, 1, true);
	expect(1, VIRTIO_BLK_S_IOERR);
}

Test(blk_req, in_not_sector_multiple_is_ioerr)
{
	simple(VIRTIO_BLK_T_IN, 0);
	add(DATA_GPA, 513, true);
	add(STATUS_GPA, 1, true);
	expect(1, VIRTIO_BLK_S_IOERR);
	cr_assert_eq(*ram(DATA_GPA, 1), 0);
}

Test(blk_req, out_not_sector_multiple_is_ioerr)
{
	simple(VIRTIO_BLK_T_OUT, 0);
	memset(ram(DATA_GPA, 600), 0xaa, 600);
	add(DATA_GPA, 100, false);
	add(STATUS_GPA, 1, true);
	expect(1, VIRTIO_BLK_S_IOERR);
	assert_img_untouched();
}

Test(blk_req, in_past_the_end_is_ioerr)
{
	simple(VIRTIO_BLK_T_IN, DISK_SECTORS - 1);
	add(DATA_GPA, 1024, true);
	add(STATUS_GPA, 1, true);
	expect(1, VIRTIO_BLK_S_IOERR);
	cr_assert_eq(*ram(DATA_GPA, 1), 0);
}

Test(blk_req, out_past_the_end_is_ioerr)
{
	simple(VIRTIO_BLK_T_OUT, DISK_SECTORS);
	memset(ram(DATA_GPA, 512), 0xaa, 512);
	add(DATA_GPA, 512, false);
	add(STATUS_GPA, 1, true);
	expect(1, VIRTIO_BLK_S_IOERR);
	assert_img_untouched();
}

Test(blk_req, sector_overflow_is_ioerr)
{
	static const uint64_t bad[] = { UINT64_MAX - 1, UINT64_MAX, 1ULL << 55, DISK_SECTORS + 1 };
	unsigned int i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&ch, 0, sizeof(ch));
		*ram(STATUS_GPA, 1) = NO_STATUS;
		simple(VIRTIO_BLK_T_OUT, bad[i]);
		memset(ram(DATA_GPA, 1024), 0xaa, 1024);
		add(DATA_GPA, 1024, false);
		add(STATUS_GPA, 1, true);
		/* Refused while parsing, not by a failing pwritev(). */
		cr_assert_eq(blk_parse(&gm, &be, &ch, &req), VIRTIO_BLK_S_IOERR, "sector %#llx",
			     (unsigned long long)bad[i]);
		expect(1, VIRTIO_BLK_S_IOERR);
	}
	assert_img_untouched();
}

Test(blk_req, huge_sector_count_on_huge_backend_is_ioerr)
{
	/* A backend claiming more sectors than off_t can address must not wrap either. */
	be.sectors = UINT64_MAX;
	simple(VIRTIO_BLK_T_IN, UINT64_MAX - 1);
	add(DATA_GPA, 512, true);
	add(STATUS_GPA, 1, true);
	cr_assert_eq(blk_parse(&gm, &be, &ch, &req), VIRTIO_BLK_S_IOERR);
	expect(1, VIRTIO_BLK_S_IOERR);
}

/* ---- missing status ---- */

Test(blk_req, no_writable_byte_is_einval)
{
	uint8_t *copy = malloc(RAM_BYTES);

	simple(VIRTIO_BLK_T_IN, 0);
	add(DATA_GPA, 512, false);
	cr_assert_not_null(copy);
	memcpy(copy, ram(0, RAM_BYTES), RAM_BYTES);
	cr_assert_eq(blk_parse(&gm, &be, &ch, &req), -EINVAL);
	cr_assert_eq(blk_handle(&gm, &be, &ch, &req), 0);
	cr_assert_arr_eq(ram(0, RAM_BYTES), copy, RAM_BYTES, "guest memory was written");
	free(copy);
}

Test(blk_req, empty_writable_buffer_is_einval)
{
	simple(VIRTIO_BLK_T_FLUSH, 0);
	add(STATUS_GPA, 0, true);
	cr_assert_eq(blk_handle(&gm, &be, &ch, &req), 0);
	cr_assert_eq(status_at(STATUS_GPA), NO_STATUS);
}

Test(blk_req, status_outside_ram_is_einval)
{
	simple(VIRTIO_BLK_T_FLUSH, 0);
	add(RAM_BYTES, 1, true);
	cr_assert_eq(blk_parse(&gm, &be, &ch, &req), -EINVAL);
	cr_assert_eq(blk_handle(&gm, &be, &ch, &req), 0);
}

Test(blk_req, data_outside_ram_is_ioerr)
{
	simple(VIRTIO_BLK_T_IN, 0);
	add(RAM_BYTES - 256, 512, true);
	add(STATUS_GPA, 1, true);
	expect(1, VIRTIO_BLK_S_IOERR);
}

/* ---- FLUSH, GET_ID, unknown ---- */

Test(blk_req, flush_ok)
{
	simple(VIRTIO_BLK_T_FLUSH, 0);
	add(STATUS_GPA, 1, true);
	expect(1, VIRTIO_BLK_S_OK);
	assert_img_untouched();
}

Test(blk_req, flush_ignores_data)
{
	simple(VIRTIO_BLK_T_FLUSH, 123);
	add(DATA_GPA, 512, false);
	memset(ram(DATA2_GPA, 512), 0x77, 512);
	add(DATA2_GPA, 512, true);
	add(STATUS_GPA, 1, true);
	expect(1, VIRTIO_BLK_S_OK);
	cr_assert_eq(*ram(DATA2_GPA, 1), 0x77);
	assert_img_untouched();
}

Test(blk_req, get_id_full)
{
	simple(VIRTIO_BLK_T_GET_ID, 0);
	memset(ram(DATA_GPA, 32), 0x55, 32);
	add(DATA_GPA, BLK_ID_BYTES, true);
	add(STATUS_GPA, 1, true);
	expect(BLK_ID_BYTES + 1, VIRTIO_BLK_S_OK);
	cr_assert_arr_eq(ram(DATA_GPA, BLK_ID_BYTES), "KVMM-SERIAL-01234567", BLK_ID_BYTES);
	cr_assert_eq(*ram(DATA_GPA + BLK_ID_BYTES, 1), 0x55);
}

Test(blk_req, get_id_short_buffer)
{
	simple(VIRTIO_BLK_T_GET_ID, 0);
	memset(ram(DATA_GPA, 32), 0x55, 32);
	add(DATA_GPA, 8, true);
	add(STATUS_GPA, 1, true);
	expect(9, VIRTIO_BLK_S_OK);
	cr_assert_arr_eq(ram(DATA_GPA, 8), "KVMM-SER", 8);
	cr_assert_eq(*ram(DATA_GPA + 8, 1), 0x55);
}

Test(blk_req, get_id_long_buffer_copies_20)
{
	simple(VIRTIO_BLK_T_GET_ID, 0);
	memset(ram(DATA_GPA, 64), 0x55, 64);
	add(DATA_GPA, 10, true);
	add(DATA_GPA + 10, 50, true);
	add(STATUS_GPA, 1, true);
	expect(BLK_ID_BYTES + 1, VIRTIO_BLK_S_OK);
	cr_assert_arr_eq(ram(DATA_GPA, BLK_ID_BYTES), "KVMM-SERIAL-01234567", BLK_ID_BYTES);
	cr_assert_eq(*ram(DATA_GPA + BLK_ID_BYTES, 1), 0x55);
}

Test(blk_req, unknown_type_is_unsupp)
{
	static const uint32_t types[] = { 2, 3, 5, 12, 14, 0x80000000u, UINT32_MAX };
	unsigned int i;

	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		memset(&ch, 0, sizeof(ch));
		*ram(STATUS_GPA, 1) = NO_STATUS;
		simple(types[i], 0);
		memset(ram(DATA_GPA, 512), 0xaa, 512);
		add(DATA_GPA, 512, false);
		add(STATUS_GPA, 1, true);
		expect(1, VIRTIO_BLK_S_UNSUPP);
	}
	assert_img_untouched();
}

/* ---- DISCARD / WRITE_ZEROES ---- */

static blkcnt_t img_blocks(void)
{
	struct stat st;

	cr_assert_eq(fstat(be.fd, &st), 0);
	return st.st_blocks;
}

/* Header plus NSEG segments (already at SEG_GPA) in the readable part. */
static void seg_req(uint32_t type, unsigned int nseg)
{
	simple(type, 0);
	add(SEG_GPA, nseg * BLK_SEG_BYTES, false);
	add(STATUS_GPA, 1, true);
}

Test(blk_req, discard_punches_hole)
{
	blkcnt_t before = img_blocks();

	put_seg(0, 64, 128, 0);		/* 64 KiB at 32 KiB */
	seg_req(VIRTIO_BLK_T_DISCARD, 1);
	expect(1, VIRTIO_BLK_S_OK);
	assert_img_zero(64 * 512, 128 * 512);
	assert_img_except(64 * 512, 128 * 512);
	cr_assert_lt(img_blocks(), before, "no blocks were freed");
}

Test(blk_req, discard_zero_sectors_is_noop)
{
	put_seg(0, 64, 0, 0);
	seg_req(VIRTIO_BLK_T_DISCARD, 1);
	expect(1, VIRTIO_BLK_S_OK);
	assert_img_untouched();
}

Test(blk_req, write_zeroes_without_unmap)
{
	uint8_t *now = malloc(DISK_BYTES);
	uint64_t i;

	put_seg(0, 5, 3, 0);
	put_seg(1, 1000, 17, 0);
	seg_req(VIRTIO_BLK_T_WRITE_ZEROES, 2);
	expect(1, VIRTIO_BLK_S_OK);
	assert_img_zero(5 * 512, 3 * 512);
	assert_img_zero(1000 * 512, 17 * 512);
	cr_assert_not_null(now);
	read_img(0, now, DISK_BYTES);
	for (i = 0; i < DISK_BYTES; i++)
		if ((i < 5 * 512 || i >= 8 * 512) && (i < 1000 * 512 || i >= 1017 * 512))
			cr_assert_eq(now[i], orig[i], "byte %#llx", (unsigned long long)i);
	free(now);
}

Test(blk_req, write_zeroes_with_unmap)
{
	put_seg(0, 64, 128, VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP);
	seg_req(VIRTIO_BLK_T_WRITE_ZEROES, 1);
	expect(1, VIRTIO_BLK_S_OK);
	assert_img_zero(64 * 512, 128 * 512);
	assert_img_except(64 * 512, 128 * 512);
}

Test(blk_req, write_zeroes_unmap_unaligned)
{
	put_seg(0, 3, 2, VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP);
	seg_req(VIRTIO_BLK_T_WRITE_ZEROES, 1);
	expect(1, VIRTIO_BLK_S_OK);
	assert_img_zero(3 * 512, 2 * 512);
	assert_img_except(3 * 512, 2 * 512);
}

Test(blk_req, write_zeroes_whole_disk)
{
	put_seg(0, 0, DISK_SECTORS, 0);
	seg_req(VIRTIO_BLK_T_WRITE_ZEROES, 1);
	expect(1, VIRTIO_BLK_S_OK);
	assert_img_zero(0, DISK_BYTES);
}

Test(blk_req, discard_not_negotiated_is_unsupp)
{
	be.discard = false;
	put_seg(0, 0, 8, 0);
	seg_req(VIRTIO_BLK_T_DISCARD, 1);
	expect(1, VIRTIO_BLK_S_UNSUPP);
	assert_img_untouched();
}

Test(blk_req, write_zeroes_not_negotiated_is_unsupp)
{
	be.write_zeroes = false;
	put_seg(0, 0, 8, 0);
	seg_req(VIRTIO_BLK_T_WRITE_ZEROES, 1);
	expect(1, VIRTIO_BLK_S_UNSUPP);
	assert_img_untouched();
}

Test(blk_req, discard_readonly_is_ioerr)
{
	be.readonly = true;
	put_seg(0, 0, 8, 0);
	seg_req(VIRTIO_BLK_T_DISCARD, 1);
	expect(1, VIRTIO_BLK_S_IOERR);
	assert_img_untouched();
}

Test(blk_req, write_zeroes_readonly_is_ioerr)
{
	be.readonly = true;
	put_seg(0, 0, 8, 0);
	seg_req(VIRTIO_BLK_T_WRITE_ZEROES, 1);
	expect(1, VIRTIO_BLK_S_IOERR);
	assert_img_untouched();
}

Test(blk_req, segment_array_empty_is_ioerr)
{
	seg_req(VIRTIO_BLK_T_DISCARD, 0);
	expect(1, VIRTIO_BLK_S_IOERR);
	assert_img_untouched();
}

Test(blk_req, segment_array_not_multiple_of_16_is_ioerr)
{
	put_seg(0, 0, 8, 0);
	put_seg(1, 16, 8, 0);
	simple(VIRTIO_BLK_T_WRITE_ZEROES, 0);
	add(SEG_GPA, 24, false);
	add(STATUS_GPA, 1, true);
	expect(1, VIRTIO_BLK_S_IOERR);
	assert_img_untouched();
}

Test(blk_req, too_many_segments_is_ioerr)
{
	unsigned int i;

	for (i = 0; i <= BLK_MAX_DISCARD_SEG; i++)
		put_seg(i, i * 8, 8, 0);
	seg_req(VIRTIO_BLK_T_DISCARD, BLK_MAX_DISCARD_SEG + 1);
	cr_assert_eq(blk_parse(&gm, &be, &ch, &req), VIRTIO_BLK_S_IOERR);
	expect(1, VIRTIO_BLK_S_IOERR);
	assert_img_untouched();
}

Test(blk_req, max_segments_ok)
{
	unsigned int i;

	for (i = 0; i < BLK_MAX_WRITE_ZEROES_SEG; i++)
		put_seg(i, i * 16, 1, 0);
	seg_req(VIRTIO_BLK_T_WRITE_ZEROES, BLK_MAX_WRITE_ZEROES_SEG);
	expect(1, VIRTIO_BLK_S_OK);
	for (i = 0; i < BLK_MAX_WRITE_ZEROES_SEG; i++)
		assert_img_zero(i * 16 * 512, 512);
}

Test(blk_req, segment_past_end_executes_nothing)
{
	put_seg(0, 0, 8, 0);			/* valid, must not run */
	put_seg(1, DISK_SECTORS - 4, 8, 0);	/* runs past the end */
	seg_req(VIRTIO_BLK_T_WRITE_ZEROES, 2);
	expect(1, VIRTIO_BLK_S_IOERR);
	assert_img_untouched();
}

Test(blk_req, segment_overflow_is_ioerr)
{
	put_seg(0, 0, 8, 0);
	put_seg(1, UINT64_MAX - 1, 4, 0);
	seg_req(VIRTIO_BLK_T_DISCARD, 2);
	expect(1, VIRTIO_BLK_S_IOERR);
	assert_img_untouched();
}

Test(blk_req, segment_too_many_sectors_is_ioerr)
{
	/* Even on a disk large enough, more than the advertised maximum is refused. */
	be.sectors = 1ULL << 40;
	put_seg(0, 0, BLK_MAX_WRITE_ZEROES_SECTORS + 1, 0);
	seg_req(VIRTIO_BLK_T_WRITE_ZEROES, 1);
	expect(1, VIRTIO_BLK_S_IOERR);
	assert_img_untouched();
}

Test(blk_req, discard_with_flags_is_unsupp)
{
	put_seg(0, 0, 8, 0);
	put_seg(1, 16, 8, VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP);
	seg_req(VIRTIO_BLK_T_DISCARD, 2);
	expect(1, VIRTIO_BLK_S_UNSUPP);
	assert_img_untouched();
}

Test(blk_req, write_zeroes_unknown_flag_is_unsupp)
{
	put_seg(0, 0, 8, VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP);
	put_seg(1, 16, 8, 2);
	seg_req(VIRTIO_BLK_T_WRITE_ZEROES, 2);
	expect(1, VIRTIO_BLK_S_UNSUPP);
	assert_img_untouched();
}

Test(blk_req, segments_with_extra_writable_is_ioerr)
{
	put_seg(0, 0, 8, 0);
	simple(VIRTIO_BLK_T_DISCARD, 0);
	add(SEG_GPA, BLK_SEG_BYTES, false);
	add(DATA_GPA, 4, true);
	add(STATUS_GPA, 1, true);
	expect(1, VIRTIO_BLK_S_IOERR);
	assert_img_untouched();
}

Test(blk_req, segment_rewritten_after_parse_is_still_checked)
{
	/* Segment contents are checked by blk_execute(), on the copy it then executes. */
	uint32_t written = 99;

	put_seg(0, 0, 8, 0);
	seg_req(VIRTIO_BLK_T_WRITE_ZEROES, 1);
	cr_assert_eq(blk_parse(&gm, &be, &ch, &req), 0);
	put_seg(0, DISK_SECTORS - 1, 8, 0);
	cr_assert_eq(blk_execute(&gm, &be, &req, &written), VIRTIO_BLK_S_IOERR);
	cr_assert_eq(written, 0);
	assert_img_untouched();
}

/* ---- host errors and O_DIRECT bounce ---- */

Test(blk_req, write_to_rdonly_fd_is_ioerr)
{
	close(be.fd);
	be.fd = open(img_path, O_RDONLY);
	cr_assert_geq(be.fd, 0);
	simple(VIRTIO_BLK_T_OUT, 0);
	memset(ram(DATA_GPA, 512), 0xaa, 512);
	add(DATA_GPA, 512, false);
	add(STATUS_GPA, 1, true);
	expect(1, VIRTIO_BLK_S_IOERR);
	assert_img_untouched();
}

Test(blk_req, discard_on_rdonly_fd_is_ioerr)
{
	close(be.fd);
	be.fd = open(img_path, O_RDONLY);
	cr_assert_geq(be.fd, 0);
	put_seg(0, 0, 8, 0);
	seg_req(VIRTIO_BLK_T_DISCARD, 1);
	expect(1, VIRTIO_BLK_S_IOERR);
	assert_img_untouched();
}

Test(blk_req, read_from_closed_fd_is_ioerr)
{
	close(be.fd);
	be.fd = -1;
	simple(VIRTIO_BLK_T_IN, 0);
	add(DATA_GPA, 512, true);
	add(STATUS_GPA, 1, true);
	expect(1, VIRTIO_BLK_S_IOERR);
}

Test(blk_req, flush_on_closed_fd_is_ioerr)
{
	close(be.fd);
	be.fd = -1;
	simple(VIRTIO_BLK_T_FLUSH, 0);
	add(STATUS_GPA, 1, true);
	expect(1, VIRTIO_BLK_S_IOERR);
}

Test(blk_req, read_past_eof_is_ioerr)
{
	/* The image shrank under us: the backend still claims 1 MiB. */
	cr_assert_eq(ftruncate(be.fd, DISK_BYTES / 2), 0);
	simple(VIRTIO_BLK_T_IN, DISK_SECTORS / 2 - 1);
	add(DATA_GPA, 1024, true);
	add(STATUS_GPA, 1, true);
	expect(1, VIRTIO_BLK_S_IOERR);
}

Test(blk_req, direct_bounce_read_unaligned)
{
	/* b->direct on an ordinary fd takes the bounce path without needing O_DIRECT support. */
	be.direct = true;
	simple(VIRTIO_BLK_T_IN, 20);
	add(DATA_GPA + 3, 700, true);
	add(DATA2_GPA, 324, true);
	add(STATUS_GPA, 1, true);
	expect(1025, VIRTIO_BLK_S_OK);
	cr_assert_arr_eq(ram(DATA_GPA + 3, 700), orig + 20 * 512, 700);
	cr_assert_arr_eq(ram(DATA2_GPA, 324), orig + 20 * 512 + 700, 324);
}

/* A chain of 3333-byte readable or writable buffers covering [gpa, gpa + len). */
static void odd_bufs(uint64_t gpa, uint64_t len, bool write)
{
	while (len) {
		uint32_t k = len > 3333 ? 3333 : len;

		add(gpa, k, write);
		gpa += k;
		len -= k;
	}
}

Test(blk_req, direct_bounce_multi_chunk_round_trip)
{
	/* 1.5 MiB through odd-sized, odd-addressed buffers: more than one 1 MiB bounce chunk. */
	const uint64_t len = 3 * MiB / 2, gpa = DATA_GPA + 1;
	uint8_t *now = malloc(len);
	uint64_t i;

	cr_assert_not_null(now);
	cr_assert_eq(ftruncate(be.fd, 2 * MiB), 0);
	be.sectors = 2 * MiB / BLK_SECTOR_SIZE;
	be.direct = true;
	for (i = 0; i < len; i++)
		*ram(gpa + i, 1) = (uint8_t)~pat(i);
	simple(VIRTIO_BLK_T_OUT, 1);
	odd_bufs(gpa, len, false);
	add(STATUS_GPA, 1, true);
	cr_assert_gt(ch.nr_out, 400);
	expect(1, VIRTIO_BLK_S_OK);
	read_img(512, now, len);
	for (i = 0; i < len; i++)
		cr_assert_eq(now[i], (uint8_t)~pat(i), "byte %#llx", (unsigned long long)i);

	memset(ram(gpa, len), 0, len);
	memset(&ch, 0, sizeof(ch));
	simple(VIRTIO_BLK_T_IN, 1);
	odd_bufs(gpa, len, true);
	add(STATUS_GPA, 1, true);
	expect(len + 1, VIRTIO_BLK_S_OK);
	cr_assert_arr_eq(ram(gpa, len), now, len);
	free(now);
}

/* Some kernels/file systems do not enforce O_DIRECT alignment; this must pass either way. */
Test(blk_req, real_o_direct_if_supported)
{
	int fd = open(img_path, O_RDWR | O_DIRECT);

	if (fd < 0)
		cr_skip_test("O_DIRECT not supported on %s: %s", img_path, strerror(errno));
	close(be.fd);
	be.fd = fd;
	be.direct = true;
	simple(VIRTIO_BLK_T_IN, 9);
	add(DATA_GPA + 5, 512, true);		/* unaligned: bounce */
	add(STATUS_GPA, 1, true);
	expect(513, VIRTIO_BLK_S_OK);
	cr_assert_arr_eq(ram(DATA_GPA + 5, 512), orig + 9 * 512, 512);

	memset(&ch, 0, sizeof(ch));
	simple(VIRTIO_BLK_T_IN, 11);
	add(DATA2_GPA, 4096, true);		/* aligned: straight through */
	add(STATUS_GPA, 1, true);
	expect(4097, VIRTIO_BLK_S_OK);
	cr_assert_arr_eq(ram(DATA2_GPA, 4096), orig + 11 * 512, 4096);
}
