/*
 * virtio-blk (virtio 1.x, 5.2) on a raw image file or block device: opening and locking the
 * image, the feature set and config space, and the queue handler. Parsing and executing
 * requests is blk_req.c.
 */
#define _GNU_SOURCE
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "blk_req.h"
#include "devices.h"
#include "log.h"

#define VIRTIO_BLK_F_SIZE_MAX		1
#define VIRTIO_BLK_F_SEG_MAX		2
#define VIRTIO_BLK_F_RO			5
#define VIRTIO_BLK_F_BLK_SIZE		6
#define VIRTIO_BLK_F_FLUSH		9
#define VIRTIO_BLK_F_DISCARD		13
#define VIRTIO_BLK_F_WRITE_ZEROES	14

#define BLK_QUEUE_SIZE	256
#define BLK_SIZE_MAX	(1U << 20)	/* bytes per segment */

/* struct virtio_blk_config, the fields kvmm fills (5.2.4), little endian. */
struct blk_config {
	uint64_t capacity;
	uint32_t size_max;
	uint32_t seg_max;
	uint16_t cylinders;
	uint8_t heads;
	uint8_t sectors;
	uint32_t blk_size;
	uint8_t physical_block_exp;
	uint8_t alignment_offset;
	uint16_t min_io_size;
	uint32_t opt_io_size;
	uint8_t writeback;
	uint8_t unused0;
	uint16_t num_queues;
	uint32_t max_discard_sectors;
	uint32_t max_discard_seg;
	uint32_t discard_sector_alignment;
	uint32_t max_write_zeroes_sectors;
	uint32_t max_write_zeroes_seg;
	uint8_t write_zeroes_may_unmap;
	uint8_t unused1[3];
} __attribute__((packed));

_Static_assert(sizeof(struct blk_config) == 60, "virtio_blk_config layout");

struct blk {
	struct virtio_dev vdev;
	struct blk_backend b;
	struct blk_config config;
	char name[40];
	char id[24];
	uint64_t malformed;		/* chains that were not even requests */
	/* vm.counters, by request type (whatever their status). */
	uint64_t read_ops, read_bytes, write_ops, write_bytes, flush_ops, discard_ops, errors;
	struct vq_chain chain;		/* worker scratch */
	struct blk_req req;
};

static void blk_config_read(struct virtio_dev *d, uint32_t off, void *data, uint32_t len)
{
	struct blk *blk = d->priv;

	memcpy(data, (uint8_t *)&blk->config + off, len);
}

static int blk_activate(struct virtio_dev *d)
{
	struct blk *blk = d->priv;

	blk->b.discard = virtio_has(d, VIRTIO_BLK_F_DISCARD);
	blk->b.write_zeroes = virtio_has(d, VIRTIO_BLK_F_WRITE_ZEROES);
	return 0;
}

static uint32_t blk_chain(struct virtio_dev *d, struct vq_chain *c)
{
	struct blk *blk = d->priv;
	uint32_t used;
	uint8_t status = VIRTIO_BLK_S_IOERR;

	blk->req.type = UINT32_MAX;	/* stays so when the chain was not a request */
	used = blk_handle(d->mem, &blk->b, c, &blk->req);
	if (used && gm_read(d->mem, blk->req.status_gpa, &status, 1))
		status = VIRTIO_BLK_S_IOERR;
	if (status != VIRTIO_BLK_S_OK) {
		blk->errors++;
		return used;
	}
	switch (blk->req.type) {
	case VIRTIO_BLK_T_IN:
		blk->read_ops++;
		blk->read_bytes += blk->req.data_len;
		break;
	case VIRTIO_BLK_T_OUT:
		blk->write_ops++;
		blk->write_bytes += blk->req.data_len;
		break;
	case VIRTIO_BLK_T_FLUSH:
		blk->flush_ops++;
		break;
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES:
		blk->discard_ops++;
		break;
	}
	return used;
}

static unsigned int blk_counters(struct virtio_dev *d, struct virtio_counter *out)
{
	struct blk *blk = d->priv;
	const struct virtio_counter c[] = {
		{ "read_ops", blk->read_ops }, { "read_bytes", blk->read_bytes },
		{ "write_ops", blk->write_ops }, { "write_bytes", blk->write_bytes },
		{ "flush_ops", blk->flush_ops }, { "discard_ops", blk->discard_ops },
		{ "errors", blk->errors }, { "malformed_chains", blk->malformed },
	};

	memcpy(out, c, sizeof(c));
	return sizeof(c) / sizeof(c[0]);
}

static void blk_queue_notify(struct virtio_dev *d, unsigned int q)
{
	struct blk *blk = d->priv;

	virtio_process_queue(d, q, &blk->chain, blk_chain, &blk->malformed);
}

static void blk_destroy(struct virtio_dev *d)
{
	struct blk *blk = d->priv;

	if (blk->malformed)
		pr_info("%s: %llu malformed chains", blk->name,
			(unsigned long long)blk->malformed);
	close(blk->b.fd);
	free(blk);
}

static const struct virtio_dev_ops blk_ops = {
	.config_read = blk_config_read,
	.activate = blk_activate,
	.queue_notify = blk_queue_notify,
	.destroy = blk_destroy,
	.counters = blk_counters,
};

/* Opens and locks the image; fills the backend's fd and size. 0/-errno, message printed. */
static int blk_open(struct blk *blk, const struct disk_config *dc)
{
	int flags = (dc->readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC | (dc->direct ? O_DIRECT : 0);
	struct stat st;
	uint64_t size;

	blk->b.fd = open(dc->path, flags);
	if (blk->b.fd < 0) {
		pr_err("%s: cannot open %s%s: %s", blk->name, dc->path,
		       dc->readonly ? " read-only" : "", strerror(errno));
		return -errno;
	}
	/* Many readers or one writer per image, across kvmm processes. */
	if (flock(blk->b.fd, (dc->readonly ? LOCK_SH : LOCK_EX) | LOCK_NB)) {
		pr_err("%s: %s is in use by another process (flock: %s)", blk->name, dc->path,
		       strerror(errno));
		return -EBUSY;
	}
	if (fstat(blk->b.fd, &st)) {
		pr_err("%s: stat %s: %s", blk->name, dc->path, strerror(errno));
		return -errno;
	}
	if (S_ISBLK(st.st_mode)) {
		if (ioctl(blk->b.fd, BLKGETSIZE64, &size)) {
			pr_err("%s: size of %s: %s", blk->name, dc->path, strerror(errno));
			return -errno;
		}
	} else if (S_ISREG(st.st_mode)) {
		size = st.st_size;
	} else {
		pr_err("%s: %s is neither a regular file nor a block device", blk->name, dc->path);
		return -EINVAL;
	}
	if (size % BLK_SECTOR_SIZE)
		pr_warn("%s: %s: the last %llu bytes (not a whole sector) are not visible",
			blk->name, dc->path, (unsigned long long)(size % BLK_SECTOR_SIZE));
	blk->b.sectors = size / BLK_SECTOR_SIZE;
	return 0;
}

static void blk_fill_config(struct blk *blk)
{
	struct blk_config *c = &blk->config;

	c->capacity = htole64(blk->b.sectors);
	c->size_max = htole32(BLK_SIZE_MAX);
	c->seg_max = htole32(BLK_QUEUE_SIZE - 2);	/* header and status take two */
	c->blk_size = htole32(BLK_SECTOR_SIZE);
	c->num_queues = htole16(1);
	c->max_discard_sectors = htole32(BLK_MAX_DISCARD_SECTORS);
	c->max_discard_seg = htole32(BLK_MAX_DISCARD_SEG);
	c->discard_sector_alignment = htole32(1);
	c->max_write_zeroes_sectors = htole32(BLK_MAX_WRITE_ZEROES_SECTORS);
	c->max_write_zeroes_seg = htole32(BLK_MAX_WRITE_ZEROES_SEG);
	c->write_zeroes_may_unmap = 1;
}

int virtio_blk_new(const struct disk_config *dc, unsigned int index, struct virtio_dev **out)
{
	struct blk *blk = calloc(1, sizeof(*blk));
	int ret;

	if (!blk)
		return -ENOMEM;
	if (dc->id)
		snprintf(blk->id, sizeof(blk->id), "%s", dc->id);
	else
		snprintf(blk->id, sizeof(blk->id), "disk%u", index);
	snprintf(blk->name, sizeof(blk->name), "virtio-blk %s", blk->id);
	ret = blk_open(blk, dc);
	if (ret) {
		if (blk->b.fd >= 0)
			close(blk->b.fd);
		free(blk);
		return ret;
	}
	blk->b.readonly = dc->readonly;
	blk->b.direct = dc->direct;
	if (dc->serial)
		memcpy(blk->b.id, dc->serial, strnlen(dc->serial, BLK_ID_BYTES));
	blk_fill_config(blk);

	blk->vdev = (struct virtio_dev){
		.name = blk->name,
		.id = blk->id,
		.device_id = VIRTIO_ID_BLOCK,
		.ops = &blk_ops,
		.priv = blk,
		.features = VIRTIO_BIT(VIRTIO_BLK_F_SIZE_MAX) | VIRTIO_BIT(VIRTIO_BLK_F_SEG_MAX) |
			    VIRTIO_BIT(VIRTIO_BLK_F_BLK_SIZE) | VIRTIO_BIT(VIRTIO_BLK_F_FLUSH) |
			    VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC) | VIRTIO_BIT(VIRTIO_F_EVENT_IDX),
		.config_size = sizeof(struct blk_config),
		.nr_queues = 1,
		.queue_max = BLK_QUEUE_SIZE,
	};
	if (dc->readonly)
		blk->vdev.features |= VIRTIO_BIT(VIRTIO_BLK_F_RO);
	else
		blk->vdev.features |= VIRTIO_BIT(VIRTIO_BLK_F_DISCARD) |
				      VIRTIO_BIT(VIRTIO_BLK_F_WRITE_ZEROES);
	pr_info("%s: %s, %llu sectors%s%s", blk->name, dc->path,
		(unsigned long long)blk->b.sectors, dc->readonly ? ", read-only" : "",
		dc->direct ? ", O_DIRECT" : "");
	*out = &blk->vdev;
	return 0;
}
