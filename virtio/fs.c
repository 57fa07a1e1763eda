/*
 * virtio-fs (virtio 1.x, 5.11): a shared directory the guest mounts by tag (`mount -t
 * virtiofs TAG`), served by a vhost-user back-end such as virtiofsd (vhost_user.h). kvmm
 * only describes the device (tag, number of request queues) and hands the queues over: the
 * FUSE requests go between the guest and the back-end without passing through kvmm.
 *
 * Queues: 0 is the high-priority queue (FUSE_INTERRUPT, FORGET), 1..N the request queues.
 */
#define _GNU_SOURCE
#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devices.h"
#include "log.h"
#include "vhost_user.h"

/* Configuration space (5.11.4); notify_buf_size only with VIRTIO_FS_F_NOTIFICATION, which
 * kvmm does not offer. */
struct virtio_fs_config {
	uint8_t tag[KVMM_FS_TAG_MAX];	/* UTF-8, NUL-padded, not NUL-terminated when full */
	uint32_t num_request_queues;	/* little-endian */
} __attribute__((packed));

/* What kvmm lets through from the back-end to the driver: split rings only (the transports
 * check split-ring layouts), no device-specific feature. */
#define FS_SUPPORTED (VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC) | \
		      VIRTIO_BIT(VIRTIO_F_EVENT_IDX))

struct fs {
	struct virtio_dev vdev;
	struct vhost_user_dev vu;
	struct virtio_fs_config config;
	char id[64];
	char name[80];
};

static void fs_config_read(struct virtio_dev *d, uint32_t off, void *data, uint32_t len)
{
	struct fs *fs = d->priv;

	memcpy(data, (const uint8_t *)&fs->config + off, len);
}

static int fs_activate(struct virtio_dev *d)
{
	struct fs *fs = d->priv;

	return vhost_user_dev_activate(&fs->vu);
}

static void fs_reset(struct virtio_dev *d)
{
	struct fs *fs = d->priv;

	vhost_user_dev_reset(&fs->vu);
}

static void fs_destroy(struct virtio_dev *d)
{
	struct fs *fs = d->priv;

	vhost_user_dev_destroy(&fs->vu);
	free(fs);
}

static unsigned int fs_counters(struct virtio_dev *d, struct virtio_counter *out)
{
	struct fs *fs = d->priv;

	return vhost_user_dev_counters(&fs->vu, out);
}

static int fs_mem_changed(struct virtio_dev *d)
{
	struct fs *fs = d->priv;

	return vhost_user_dev_mem_changed(&fs->vu);
}

static const struct virtio_dev_ops fs_ops = {
	.config_read = fs_config_read,
	.activate = fs_activate,
	.queue_notify = NULL,		/* the back-end serves the queues */
	.reset = fs_reset,
	.destroy = fs_destroy,
	.counters = fs_counters,
	.mem_changed = fs_mem_changed,
};

int virtio_fs_new(const struct fs_config *fc, struct virtio_dev **out)
{
	size_t tag_len = fc->tag ? strlen(fc->tag) : 0;
	uint32_t nrq = fc->num_queues ? fc->num_queues : 1;
	uint32_t qsize = fc->queue_size ? fc->queue_size : VQ_MAX_SIZE;
	struct fs *fs;
	int ret;

	if (tag_len == 0 || tag_len > KVMM_FS_TAG_MAX || !fc->socket || nrq > KVMM_FS_MAX_QUEUES ||
	    nrq + 1 > VIRTIO_MAX_QUEUES || qsize > VQ_MAX_SIZE || (qsize & (qsize - 1)))
		return -EINVAL;
	fs = calloc(1, sizeof(*fs));
	if (!fs)
		return -ENOMEM;
	snprintf(fs->id, sizeof(fs->id), "%s", fc->id ? fc->id : "fs");
	snprintf(fs->name, sizeof(fs->name), "virtio-fs %s", fs->id);
	memcpy(fs->config.tag, fc->tag, tag_len);
	fs->config.num_request_queues = htole32(nrq);
	fs->vdev = (struct virtio_dev){
		.name = fs->name,
		.id = fs->id,
		.device_id = VIRTIO_ID_FS,
		.ops = &fs_ops,
		.priv = fs,
		.config_size = sizeof(fs->config),
		.nr_queues = nrq + 1,
		.queue_max = (uint16_t)qsize,
	};
	ret = vhost_user_dev_init(&fs->vu, &fs->vdev, fc->socket, FS_SUPPORTED);
	if (ret) {
		free(fs);
		return ret;
	}
	pr_info("%s: tag '%s', %u request queue%s of %u, back-end %s", fs->name, fc->tag, nrq,
		nrq == 1 ? "" : "s", qsize, fc->socket);
	*out = &fs->vdev;
	return 0;
}
