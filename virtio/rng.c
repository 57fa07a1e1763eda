/*
 * virtio-rng (virtio 1.x, 5.4): one queue whose device-writable buffers the device fills
 * from an entropy source on the host (--rng src=, /dev/urandom by default).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "devices.h"
#include "log.h"

#define RNG_QUEUE_SIZE	64
#define RNG_MAX_REQUEST	(64U << 10)	/* bytes per buffer chain */

struct rng {
	struct virtio_dev vdev;
	int fd;
	uint64_t malformed;
	uint64_t requests, bytes;
	struct iovec iov[VQ_MAX_SIZE];
	struct vq_chain chain;		/* worker scratch */
};

static void rng_config_read(struct virtio_dev *d, uint32_t off, void *data, uint32_t len)
{
	(void)d;
	(void)off;
	memset(data, 0, len);		/* no config space */
}

static int rng_activate(struct virtio_dev *d)
{
	(void)d;
	return 0;
}

/* Fills the chain's writable part (at most RNG_MAX_REQUEST bytes); returns the bytes written. */
static uint32_t rng_chain(struct virtio_dev *d, struct vq_chain *c)
{
	struct rng *rng = d->priv;
	uint64_t len = c->in_len < RNG_MAX_REQUEST ? c->in_len : RNG_MAX_REQUEST;
	int n = vq_iov(d->mem, &c->bufs[c->nr_out], c->nr_in, 0, len, rng->iov, VQ_MAX_SIZE);
	ssize_t got;

	if (n <= 0)
		return 0;
	do {
		got = readv(rng->fd, rng->iov, n);
	} while (got < 0 && errno == EINTR);
	if (got < 0) {
		pr_warn("virtio-rng: reading the entropy source: %s", strerror(errno));
		return 0;
	}
	rng->requests++;
	rng->bytes += got;
	return (uint32_t)got;
}

static void rng_queue_notify(struct virtio_dev *d, unsigned int q)
{
	struct rng *rng = d->priv;

	virtio_process_queue(d, q, &rng->chain, rng_chain, &rng->malformed);
}

static void rng_destroy(struct virtio_dev *d)
{
	struct rng *rng = d->priv;

	close(rng->fd);
	free(rng);
}

static unsigned int rng_counters(struct virtio_dev *d, struct virtio_counter *out)
{
	struct rng *rng = d->priv;

	out[0] = (struct virtio_counter){ "requests", rng->requests };
	out[1] = (struct virtio_counter){ "bytes", rng->bytes };
	out[2] = (struct virtio_counter){ "malformed_chains", rng->malformed };
	return 3;
}

static const struct virtio_dev_ops rng_ops = {
	.config_read = rng_config_read,
	.activate = rng_activate,
	.queue_notify = rng_queue_notify,
	.destroy = rng_destroy,
	.counters = rng_counters,
};

int virtio_rng_new(const char *src, struct virtio_dev **out)
{
	struct rng *rng = calloc(1, sizeof(*rng));

	if (!rng)
		return -ENOMEM;
	rng->fd = open(src, O_RDONLY | O_CLOEXEC);
	if (rng->fd < 0) {
		int err = errno;

		pr_err("virtio-rng: cannot open entropy source %s: %s", src, strerror(err));
		free(rng);
		return -err;
	}
	rng->vdev = (struct virtio_dev){
		.name = "virtio-rng",
		.id = CONFIG_RNG_ID,	/* Cloud Hypervisor's */
		.device_id = VIRTIO_ID_RNG,
		.ops = &rng_ops,
		.priv = rng,
		.features = VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC) | VIRTIO_BIT(VIRTIO_F_EVENT_IDX),
		.config_size = 0,
		.nr_queues = 1,
		.queue_max = RNG_QUEUE_SIZE,
	};
	*out = &rng->vdev;
	return 0;
}
