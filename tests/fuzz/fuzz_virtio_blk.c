/*
 * libFuzzer target for the virtio-blk request path: the fuzz input is guest RAM (descriptor
 * table, available ring, headers, segment arrays and data all at once), and a device loop
 * pops chains, runs them through blk_handle() against a small memfd image and pushes them
 * back. Nothing the guest writes may crash kvmm or make it touch memory outside guest RAM
 * (under ASan the RAM mapping is the only guest-visible memory). A hole between the two RAM
 * regions lets buffers straddle into unmapped guest-physical space.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "blk_req.h"
#include "guest_mem.h"
#include "log.h"
#include "queue.h"

#define RAM0_GPA	0x0ULL
#define RAM0_SIZE	0x10000ULL	/* 64 KiB: rings and most buffers */
#define RAM1_GPA	0x20000ULL	/* after a 64 KiB hole */
#define RAM1_SIZE	0x10000ULL
#define QSIZE		16
#define DESC_GPA	0x0000ULL	/* 16 * 16 bytes */
#define AVAIL_GPA	0x0100ULL	/* 4 + 2 * 16 + 2 bytes */
#define USED_GPA	0x0200ULL	/* 4 + 8 * 16 + 2 bytes */
#define DISK_BYTES	0x10000ULL	/* 64 KiB image, 128 sectors */
#define MAX_CHAINS	64		/* device-loop iterations per input */

static struct guest_mem gm;
static struct blk_backend be;
static struct vq_chain chain;		/* large: not on the stack */
static struct blk_req req;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct gm_region l[] = {
		{ .gpa = RAM0_GPA, .size = RAM0_SIZE },
		{ .gpa = RAM1_GPA, .size = RAM1_SIZE },
	};

	(void)argc;
	(void)argv;
	log_threshold = LOG_QUIET;	/* malformed chains are expected */
	if (gm_create(&gm, l, 2))
		return -1;
	be.fd = memfd_create("fuzz-blk-image", MFD_CLOEXEC);
	if (be.fd < 0)
		return -1;
	be.sectors = DISK_BYTES / BLK_SECTOR_SIZE;
	memcpy(be.id, "fuzz-virtio-blk-id-0", BLK_ID_BYTES);
	return 0;
}

/* Fresh image and RAM for every input so runs are reproducible. */
static int load_input(const uint8_t *data, size_t size)
{
	uint8_t *r0 = gm_ptr(&gm, RAM0_GPA, RAM0_SIZE);
	uint8_t *r1 = gm_ptr(&gm, RAM1_GPA, RAM1_SIZE);
	size_t n0 = size < RAM0_SIZE ? size : RAM0_SIZE;
	size_t n1 = size - n0 < RAM1_SIZE ? size - n0 : RAM1_SIZE;

	if (!r0 || !r1 || ftruncate(be.fd, 0) || ftruncate(be.fd, DISK_BYTES))
		return -1;
	memset(r0, 0, RAM0_SIZE);
	memset(r1, 0, RAM1_SIZE);
	memcpy(r0, data, n0);
	memcpy(r1, data + n0, n1);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vq vq;
	uint8_t knobs;
	uint32_t len;
	int i, ret;

	if (size < 1 || load_input(data, size))
		return 0;
	/* Byte 0 (also the low byte of desc[0].addr) picks the backend's features. */
	knobs = data[0];
	be.readonly = knobs & 1;
	be.discard = knobs & 2;
	be.write_zeroes = knobs & 4;
	be.direct = knobs & 8;	/* no O_DIRECT on a memfd: exercises the bounce path */

	vq_reset(&vq);
	vq.size = QSIZE;
	vq.desc_gpa = DESC_GPA;
	vq.avail_gpa = AVAIL_GPA;
	vq.used_gpa = USED_GPA;
	vq.event_idx = knobs & 16;
	if (vq_validate(&vq, &gm, QSIZE))
		__builtin_trap();	/* the fixed layout is valid by construction */
	vq.ready = true;

	for (i = 0; i < MAX_CHAINS; i++) {
		ret = vq_pop(&vq, &gm, &chain);
		if (ret == 1) {
			len = blk_handle(&gm, &be, &chain, &req);
			if (len > chain.in_len)
				__builtin_trap();	/* claimed more than the guest offered */
		} else if (ret == -EINVAL)
			len = 0;
		else
			break;		/* 0: ring empty; -EIO: device needs reset */
		if (vq_push(&vq, &gm, chain.head, len))
			break;
		vq_should_notify(&vq, &gm);
	}
	vq_enable_notify(&vq, &gm);
	return 0;
}
