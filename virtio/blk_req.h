/*
 * virtio-blk requests (virtio 1.x, 5.2.6): parsing one descriptor chain into a request and
 * executing it against an image file. Separate from the device (blk.c) so the whole hostile-
 * input surface is pure logic that unit tests and the fuzzer drive with fake guest memory and
 * a temporary file.
 *
 * A request is parsed completely (header, data direction and size, sector range with overflow
 * checks, a writable status byte) before any I/O happens. Nothing a guest sends aborts kvmm:
 * malformed requests complete with VIRTIO_BLK_S_IOERR or VIRTIO_BLK_S_UNSUPP.
 */
#ifndef KVMM_VIRTIO_BLK_REQ_H
#define KVMM_VIRTIO_BLK_REQ_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "guest_mem.h"
#include "queue.h"

#define VIRTIO_BLK_T_IN			0
#define VIRTIO_BLK_T_OUT		1
#define VIRTIO_BLK_T_FLUSH		4
#define VIRTIO_BLK_T_GET_ID		8
#define VIRTIO_BLK_T_DISCARD		11
#define VIRTIO_BLK_T_WRITE_ZEROES	13

#define VIRTIO_BLK_S_OK		0
#define VIRTIO_BLK_S_IOERR	1
#define VIRTIO_BLK_S_UNSUPP	2

#define VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP 1

#define BLK_SECTOR_SHIFT	9
#define BLK_SECTOR_SIZE		512
#define BLK_ID_BYTES		20	/* VIRTIO_BLK_ID_BYTES */
#define BLK_HDR_BYTES		16	/* struct virtio_blk_outhdr */
#define BLK_SEG_BYTES		16	/* struct virtio_blk_discard_write_zeroes */

/* Limits kvmm advertises in the config space (and enforces here). */
#define BLK_MAX_DISCARD_SEG		32
#define BLK_MAX_DISCARD_SECTORS		(UINT32_MAX >> BLK_SECTOR_SHIFT)
#define BLK_MAX_WRITE_ZEROES_SEG	32
#define BLK_MAX_WRITE_ZEROES_SECTORS	(UINT32_MAX >> BLK_SECTOR_SHIFT)

/* What executing requests needs to know about one open disk. */
struct blk_backend {
	int fd;				/* the image, opened O_RDONLY or O_RDWR */
	uint64_t sectors;		/* capacity in 512-byte sectors (file size / 512) */
	bool readonly;			/* writes, discards, write-zeroes -> IOERR */
	bool direct;			/* fd has O_DIRECT: unaligned iovecs go through a bounce */
	bool discard;			/* VIRTIO_BLK_F_DISCARD negotiated */
	bool write_zeroes;		/* VIRTIO_BLK_F_WRITE_ZEROES negotiated */
	char id[BLK_ID_BYTES];		/* GET_ID answer (the serial), NUL-padded */
};

/* One parsed request. Large (VQ_MAX_SIZE iovecs): one per worker, not on the stack. */
struct blk_req {
	uint32_t type;
	uint64_t sector;
	uint64_t status_gpa;		/* where the one-byte status goes */
	uint64_t data_len;		/* bytes in iov */
	unsigned int nr_iov;
	/*
	 * IN: the device-writable bytes before the status byte; OUT: the device-readable bytes
	 * after the header; GET_ID: the writable bytes before the status byte (up to 20 used);
	 * DISCARD/WRITE_ZEROES: the readable segment array after the header; FLUSH: empty.
	 */
	struct iovec iov[VQ_MAX_SIZE];
};

/*
 * Parses chain C of a disk described by B into R. Expects the layout virtio requires:
 * a 16-byte header in the device-readable part, a status byte as the last device-writable
 * byte; the header and data may be split across buffers in any way.
 * Returns:
 *   0                    R is ready for blk_execute();
 *   VIRTIO_BLK_S_IOERR   malformed (header short, data in the wrong direction or not a
 *                        multiple of 512 bytes for IN/OUT, sector range beyond the disk or
 *                        overflowing, a write to a read-only disk, a segment array that is
 *                        empty, not a multiple of 16 or longer than the advertised maximum);
 *   VIRTIO_BLK_S_UNSUPP  unknown type, or DISCARD/WRITE_ZEROES not negotiated;
 *   -EINVAL              there is no device-writable byte to put a status in: the chain goes
 *                        back with used length 0 and no status.
 * For statuses > 0, R->status_gpa is valid.
 */
int blk_parse(const struct guest_mem *gm, const struct blk_backend *b,
	      const struct vq_chain *c, struct blk_req *r);

/*
 * Executes a request blk_parse() accepted: preadv/pwritev loops until complete (short
 * transfers continue, EINTR retried), FLUSH calls fdatasync() and reports OK only if it
 * succeeded, GET_ID copies B->id, DISCARD punches a hole (a file system without hole
 * punching makes it a successful no-op: discard is a hint), WRITE_ZEROES zeroes the range
 * (FALLOC_FL_ZERO_RANGE, or a punched hole with the UNMAP flag, else writes zeroes);
 * a segment whose range leaves the disk or has unknown flags (or UNMAP on a DISCARD) gives
 * IOERR / UNSUPP before any segment is executed. Host errors give VIRTIO_BLK_S_IOERR.
 * Returns the status; *DATA_WRITTEN is the bytes written into the guest's data buffers
 * (IN: the bytes read, GET_ID: the id bytes copied; else 0).
 */
uint8_t blk_execute(const struct guest_mem *gm, const struct blk_backend *b,
		    struct blk_req *r, uint32_t *data_written);

/*
 * Parses and executes one chain and writes its status byte. Returns the used length to hand
 * back with vq_push() (data bytes written plus the status byte), or 0 when the chain had no
 * room for a status (blk_parse() returned -EINVAL).
 */
uint32_t blk_handle(const struct guest_mem *gm, const struct blk_backend *b,
		    const struct vq_chain *c, struct blk_req *r);

#endif
