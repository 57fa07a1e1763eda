/*
 * virtio-blk requests (see blk_req.h): turning one hostile descriptor chain into a validated
 * request, and executing it against the image file with preadv/pwritev/fdatasync/fallocate.
 *
 * Decisions the virtio spec leaves open:
 * - IN/OUT move at most UINT32_MAX - 1 bytes per request (IOERR beyond), so the used length
 *   (data plus status byte) always fits virtq_used_elem.len.
 * - DISCARD/WRITE_ZEROES, like OUT, must have exactly the status byte as their writable part;
 *   FLUSH and GET_ID ignore surplus readable bytes, FLUSH also surplus writable ones.
 * - An unnegotiated DISCARD/WRITE_ZEROES is UNSUPP even on a read-only disk.
 * - The segment array is copied out of guest memory once, then every segment is checked,
 *   then executed from that copy: the guest rewriting it meanwhile changes nothing.
 * - With O_DIRECT (b->direct), a request whose iovecs are not all 512-byte aligned in base and
 *   length goes through a 4 KiB-aligned bounce buffer of at most BOUNCE_MAX bytes, one chunk
 *   at a time; the buffer is freed before returning.
 */
#define _GNU_SOURCE
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "blk_req.h"

#define BOUNCE_MAX	(1U << 20)
#define BOUNCE_ALIGN	4096
#define ZERO_CHUNK	(64U << 10)
#define MAX_DATA	(UINT32_MAX - 1ULL)		/* used len = data + status byte */
#define MAX_OFF_SECTORS	((uint64_t)INT64_MAX >> BLK_SECTOR_SHIFT)	/* off_t stays positive */
#define MAX_SEGS	(BLK_MAX_DISCARD_SEG > BLK_MAX_WRITE_ZEROES_SEG ? \
			 BLK_MAX_DISCARD_SEG : BLK_MAX_WRITE_ZEROES_SEG)

/* What WRITE_ZEROES writes when the file system cannot zero a range itself. */
static const uint8_t zeroes[ZERO_CHUNK] __attribute__((aligned(BOUNCE_ALIGN)));

static uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

/* True when [sector, sector + nr) lies on the disk; no expression can wrap. */
static bool range_ok(const struct blk_backend *b, uint64_t sector, uint64_t nr)
{
	uint64_t cap = min_u64(b->sectors, MAX_OFF_SECTORS);

	return sector <= cap && nr <= cap - sector;
}

/* The guest-physical address of byte OFF of BUFS[0..N), or false past their end. */
static bool buf_byte(const struct vq_buf *bufs, unsigned int n, uint64_t off, uint64_t *gpa)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		if (off < bufs[i].len) {
			*gpa = bufs[i].gpa + off;
			return true;
		}
		off -= bufs[i].len;
	}
	return false;
}

/* Maps [OFF, OFF + LEN) of BUFS[0..N) into R->iov; 0 or VIRTIO_BLK_S_IOERR. */
static int map_data(const struct guest_mem *gm, const struct vq_buf *bufs, unsigned int n,
		    uint64_t off, uint64_t len, struct blk_req *r)
{
	int ret = vq_iov(gm, bufs, n, off, len, r->iov, VQ_MAX_SIZE);

	if (ret < 0)
		return VIRTIO_BLK_S_IOERR;
	r->nr_iov = ret;
	r->data_len = len;
	return 0;
}

/* IN and OUT: the data is whole sectors inside the disk. */
static int parse_rw(const struct guest_mem *gm, const struct blk_backend *b,
		    const struct vq_chain *c, struct blk_req *r)
{
	const struct vq_buf *in = c->bufs + c->nr_out;
	uint64_t len;

	if (r->type == VIRTIO_BLK_T_IN) {
		if (c->out_len != BLK_HDR_BYTES)
			return VIRTIO_BLK_S_IOERR;
		len = c->in_len - 1;
	} else {
		if (b->readonly || c->in_len != 1)
			return VIRTIO_BLK_S_IOERR;
		len = c->out_len - BLK_HDR_BYTES;
	}
	if (len % BLK_SECTOR_SIZE || len > MAX_DATA ||
	    !range_ok(b, r->sector, len >> BLK_SECTOR_SHIFT))
		return VIRTIO_BLK_S_IOERR;
	if (r->type == VIRTIO_BLK_T_IN)
		return map_data(gm, in, c->nr_in, 0, len, r);
	return map_data(gm, c->bufs, c->nr_out, BLK_HDR_BYTES, len, r);
}

/* DISCARD and WRITE_ZEROES: the segment array's shape (its contents: blk_execute()). */
static int parse_segs(const struct guest_mem *gm, const struct blk_backend *b,
		      const struct vq_chain *c, struct blk_req *r)
{
	bool discard = r->type == VIRTIO_BLK_T_DISCARD;
	uint64_t max = discard ? BLK_MAX_DISCARD_SEG : BLK_MAX_WRITE_ZEROES_SEG;
	uint64_t len = c->out_len - BLK_HDR_BYTES;

	if (!(discard ? b->discard : b->write_zeroes))
		return VIRTIO_BLK_S_UNSUPP;
	if (b->readonly || c->in_len != 1 || !len || len % BLK_SEG_BYTES ||
	    len / BLK_SEG_BYTES > max)
		return VIRTIO_BLK_S_IOERR;
	return map_data(gm, c->bufs, c->nr_out, BLK_HDR_BYTES, len, r);
}

int blk_parse(const struct guest_mem *gm, const struct blk_backend *b,
	      const struct vq_chain *c, struct blk_req *r)
{
	uint8_t hdr[BLK_HDR_BYTES];
	uint32_t type;
	uint64_t sector;

	r->type = r->nr_iov = 0;
	r->sector = r->data_len = 0;
	if (c->nr_out > VQ_MAX_SIZE || c->nr_in > VQ_MAX_SIZE - c->nr_out)
		return -EINVAL;
	if (!c->nr_in || !c->in_len ||
	    !buf_byte(c->bufs + c->nr_out, c->nr_in, c->in_len - 1, &r->status_gpa) ||
	    !gm_ptr(gm, r->status_gpa, 1))
		return -EINVAL;

	if (c->out_len < BLK_HDR_BYTES ||
	    vq_gather(gm, c->bufs, c->nr_out, 0, hdr, BLK_HDR_BYTES) != BLK_HDR_BYTES)
		return VIRTIO_BLK_S_IOERR;
	memcpy(&type, hdr, sizeof(type));
	memcpy(&sector, hdr + 8, sizeof(sector));
	r->type = le32toh(type);
	r->sector = le64toh(sector);

	switch (r->type) {
	case VIRTIO_BLK_T_IN:
	case VIRTIO_BLK_T_OUT:
		return parse_rw(gm, b, c, r);
	case VIRTIO_BLK_T_FLUSH:
		return 0;
	case VIRTIO_BLK_T_GET_ID:
		return map_data(gm, c->bufs + c->nr_out, c->nr_in, 0,
				min_u64(BLK_ID_BYTES, c->in_len - 1), r);
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES:
		return parse_segs(gm, b, c, r);
	default:
		return VIRTIO_BLK_S_UNSUPP;
	}
}

/* Copies LEN bytes between BUF and byte POS onwards of IOV[0..N). */
static void iov_copy(const struct iovec *iov, unsigned int n, uint64_t pos, uint8_t *buf,
		     uint64_t len, bool to_iov)
{
	unsigned int i;
	uint64_t k;

	for (i = 0; i < n && len; i++) {
		if (pos >= iov[i].iov_len) {
			pos -= iov[i].iov_len;
			continue;
		}
		k = min_u64(iov[i].iov_len - pos, len);
		if (to_iov)
			memcpy((uint8_t *)iov[i].iov_base + pos, buf, k);
		else
			memcpy(buf, (uint8_t *)iov[i].iov_base + pos, k);
		buf += k;
		len -= k;
		pos = 0;
	}
}

/* preadv/pwritev until IOV[0..N) is done, advancing IOV in place; 0 or -errno. */
static int rw_full(int fd, struct iovec *iov, unsigned int n, off_t off, bool write)
{
	ssize_t ret;

	while (n) {
		if (!iov->iov_len) {
			iov++;
			n--;
			continue;
		}
		ret = write ? pwritev(fd, iov, n < IOV_MAX ? n : IOV_MAX, off) :
			      preadv(fd, iov, n < IOV_MAX ? n : IOV_MAX, off);
		if (ret < 0 && errno == EINTR)
			continue;
		if (ret < 0)
			return -errno;
		if (ret == 0)
			return -EIO;	/* EOF: the image shrank under us */
		off += ret;
		while (ret > 0 && n) {
			if ((size_t)ret < iov->iov_len) {
				iov->iov_base = (uint8_t *)iov->iov_base + ret;
				iov->iov_len -= ret;
				break;
			}
			ret -= iov->iov_len;
			iov++;
			n--;
		}
	}
	return 0;
}

/* O_DIRECT with unaligned guest buffers: through an aligned bounce, chunk by chunk. */
static int rw_bounce(int fd, const struct iovec *iov, unsigned int n, uint64_t len, off_t off,
		     bool write)
{
	size_t size = min_u64(len, BOUNCE_MAX), k;
	struct iovec v;
	uint64_t done;
	void *buf;
	int ret = 0;

	if (posix_memalign(&buf, BOUNCE_ALIGN, size))
		return -ENOMEM;
	for (done = 0; done < len && !ret; done += k) {
		k = min_u64(len - done, size);
		v.iov_base = buf;
		v.iov_len = k;
		if (write)
			iov_copy(iov, n, done, buf, k, false);
		ret = rw_full(fd, &v, 1, off + done, write);
		if (!ret && !write)
			iov_copy(iov, n, done, buf, k, true);
	}
	free(buf);
	return ret;
}

static bool iov_aligned(const struct iovec *iov, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		if (((uintptr_t)iov[i].iov_base | iov[i].iov_len) & (BLK_SECTOR_SIZE - 1))
			return false;
	return true;
}

static int exec_rw(const struct blk_backend *b, struct blk_req *r, bool write)
{
	off_t off = r->sector << BLK_SECTOR_SHIFT;

	if (!r->data_len)
		return 0;
	if (b->direct && !iov_aligned(r->iov, r->nr_iov))
		return rw_bounce(b->fd, r->iov, r->nr_iov, r->data_len, off, write);
	return rw_full(b->fd, r->iov, r->nr_iov, off, write);
}

/* fallocate() retried on EINTR; an empty range (num_sectors 0) is a no-op. */
static int falloc(int fd, int mode, off_t off, off_t len)
{
	int ret = 0;

	while (len) {
		ret = fallocate(fd, mode, off, len);
		if (ret == 0 || errno != EINTR)
			break;
	}
	return ret < 0 ? -errno : 0;
}

/* Zeroes [off, off + len) of the image however the file system allows; 0 or -errno. */
static int zero_range(int fd, off_t off, off_t len, bool unmap)
{
	struct iovec v;
	off_t k;
	int ret;

	if (unmap) {
		ret = falloc(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, off, len);
		if (ret != -EOPNOTSUPP)
			return ret;
	}
	ret = falloc(fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, off, len);
	if (ret != -EOPNOTSUPP)
		return ret;
	for (ret = 0; len && !ret; off += k, len -= k) {
		k = min_u64(len, ZERO_CHUNK);
		v.iov_base = (void *)zeroes;
		v.iov_len = k;
		ret = rw_full(fd, &v, 1, off, true);
	}
	return ret;
}

/* struct virtio_blk_discard_write_zeroes, converted to host order after the copy. */
struct seg {
	uint64_t sector;
	uint32_t num;
	uint32_t flags;
};
_Static_assert(sizeof(struct seg) == BLK_SEG_BYTES, "segment layout");

/* DISCARD and WRITE_ZEROES: copy the segments once, check them all, then execute. */
static uint8_t exec_segs(const struct blk_backend *b, struct blk_req *r)
{
	bool discard = r->type == VIRTIO_BLK_T_DISCARD;
	uint32_t bad_flags = discard ? ~0U : ~(uint32_t)VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP;
	uint64_t max = discard ? BLK_MAX_DISCARD_SECTORS : BLK_MAX_WRITE_ZEROES_SECTORS;
	unsigned int i, n = r->data_len / BLK_SEG_BYTES;
	struct seg s[MAX_SEGS];
	off_t off, len;
	int ret;

	if (r->data_len > sizeof(s))
		return VIRTIO_BLK_S_IOERR;
	iov_copy(r->iov, r->nr_iov, 0, (uint8_t *)s, r->data_len, false);
	for (i = 0; i < n; i++) {
		s[i].sector = le64toh(s[i].sector);
		s[i].num = le32toh(s[i].num);
		s[i].flags = le32toh(s[i].flags);
		if (s[i].num > max || !range_ok(b, s[i].sector, s[i].num))
			return VIRTIO_BLK_S_IOERR;
		if (s[i].flags & bad_flags)
			return VIRTIO_BLK_S_UNSUPP;
	}
	for (i = 0; i < n; i++) {
		off = s[i].sector << BLK_SECTOR_SHIFT;
		len = (off_t)s[i].num << BLK_SECTOR_SHIFT;
		if (discard) {
			ret = falloc(b->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, off, len);
			if (ret == -EOPNOTSUPP)
				ret = 0;	/* discard is a hint */
		} else {
			ret = zero_range(b->fd, off, len,
					 s[i].flags & VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP);
		}
		if (ret)
			return VIRTIO_BLK_S_IOERR;
	}
	return VIRTIO_BLK_S_OK;
}

uint8_t blk_execute(const struct guest_mem *gm, const struct blk_backend *b,
		    struct blk_req *r, uint32_t *data_written)
{
	char id[BLK_ID_BYTES];
	int ret;

	(void)gm;	/* r->iov already points into guest RAM */
	*data_written = 0;
	switch (r->type) {
	case VIRTIO_BLK_T_IN:
	case VIRTIO_BLK_T_OUT:
		if (exec_rw(b, r, r->type == VIRTIO_BLK_T_OUT))
			return VIRTIO_BLK_S_IOERR;
		if (r->type == VIRTIO_BLK_T_IN)
			*data_written = r->data_len;
		return VIRTIO_BLK_S_OK;
	case VIRTIO_BLK_T_FLUSH:
		do
			ret = fdatasync(b->fd);
		while (ret < 0 && errno == EINTR);
		return ret ? VIRTIO_BLK_S_IOERR : VIRTIO_BLK_S_OK;
	case VIRTIO_BLK_T_GET_ID:
		memcpy(id, b->id, sizeof(id));
		iov_copy(r->iov, r->nr_iov, 0, (uint8_t *)id, min_u64(r->data_len, sizeof(id)),
			 true);
		*data_written = min_u64(r->data_len, sizeof(id));
		return VIRTIO_BLK_S_OK;
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES:
		return exec_segs(b, r);
	default:
		return VIRTIO_BLK_S_UNSUPP;
	}
}

uint32_t blk_handle(const struct guest_mem *gm, const struct blk_backend *b,
		    const struct vq_chain *c, struct blk_req *r)
{
	uint32_t written = 0;
	uint8_t status;
	int ret;

	ret = blk_parse(gm, b, c, r);
	if (ret < 0)
		return 0;
	status = ret ? ret : blk_execute(gm, b, r, &written);
	if (gm_write(gm, r->status_gpa, &status, 1))
		return 0;	/* cannot happen: blk_parse() checked the byte */
	return written + 1;
}
