/*
 * virtio-blk (virtio 1.x, 5.2) on a raw image file or block device: opening and locking the
 * image, the feature set and config space, the queue handler, and rate limiting. Parsing and
 * executing requests is blk_req.c.
 *
 * Rate limiting (a disk's own limiter, or a rate_limit_group's shared one; the token buckets
 * are vmm/ratelimit.c): each request costs one op and, for reads and writes, its data bytes,
 * taken after the request is parsed and before it runs. When the limiter says wait, the
 * chain goes back to the ring (vq_unpop(): nothing taken is dropped), the queue stops being
 * served (kicks are ignored) and a timerfd on the worker's epoll set wakes it when the
 * tokens are there. Only this disk's worker waits: other disks and devices run on. A reset
 * clears the throttle and disarms the timer.
 */
#define _GNU_SOURCE
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "blk_req.h"
#include "devices.h"
#include "log.h"
#include "ratelimit.h"
#include "transport.h"

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
	uint64_t throttled;		/* times the queue stopped for the rate limiter */
	/* Rate limiting: the disk's own limiter, or its group's (limited says either). */
	bool limited;
	struct ratelimit rl;
	struct rl_group *group;
	int timer_fd;			/* wakes a throttled queue; -1 when not limited */
	bool timer_watched;		/* on the worker's epoll set (from the first activation) */
	bool paused;			/* waiting for tokens: the queue is not served */
	struct vq_chain chain;		/* worker scratch */
	struct blk_req req;
};

static void blk_config_read(struct virtio_dev *d, uint32_t off, void *data, uint32_t len)
{
	struct blk *blk = d->priv;

	memcpy(data, (uint8_t *)&blk->config + off, len);
}

static void blk_timer_event(struct virtio_dev *d, void *opaque, uint32_t events);

static int blk_activate(struct virtio_dev *d)
{
	struct blk *blk = d->priv;
	int ret;

	blk->b.discard = virtio_has(d, VIRTIO_BLK_F_DISCARD);
	blk->b.write_zeroes = virtio_has(d, VIRTIO_BLK_F_WRITE_ZEROES);
	if (blk->limited && !blk->timer_watched) {
		ret = virtio_watch_fd(d, blk->timer_fd, EPOLLIN, blk_timer_event, blk);
		if (ret) {
			pr_err("%s: watching the rate limiter's timer: %s", blk->name,
			       strerror(-ret));
			return ret;
		}
		blk->timer_watched = true;
	}
	return 0;
}

/* Arms (NS > 0) or disarms (0) the throttle timer. */
static void blk_timer_set(struct blk *blk, uint64_t ns)
{
	struct itimerspec its = { .it_value = { .tv_sec = (time_t)(ns / 1000000000U),
						.tv_nsec = (long)(ns % 1000000000U) } };

	if (timerfd_settime(blk->timer_fd, 0, &its, NULL))
		pr_warn("%s: rate limiter timer: %s", blk->name, strerror(errno));
}

/* The tokens request R costs, taken now: 0, or the ns to wait (nothing taken). */
static uint64_t blk_take_tokens(struct blk *blk, const struct blk_req *r)
{
	uint64_t bytes = r->type == VIRTIO_BLK_T_IN || r->type == VIRTIO_BLK_T_OUT ?
			 r->data_len : 0;

	if (blk->group)
		return rl_group_consume(blk->group, rl_now(), bytes, 1);
	return rl_consume(&blk->rl, rl_now(), bytes, 1);
}

/*
 * Completes the chain blk_parse() turned into blk->req with result PARSED: executes it
 * (PARSED 0), writes the status, counts it. Returns the used length (0: no status byte).
 */
static uint32_t blk_complete(struct blk *blk, int parsed)
{
	const struct guest_mem *gm = blk->vdev.mem;
	uint32_t written = 0;
	uint8_t status;

	if (parsed < 0) {
		blk->errors++;
		return 0;
	}
	status = parsed ? (uint8_t)parsed : blk_execute(gm, &blk->b, &blk->req, &written);
	if (gm_write(gm, blk->req.status_gpa, &status, 1)) {
		blk->errors++;
		return 0;	/* cannot happen: blk_parse() checked the byte */
	}
	if (status != VIRTIO_BLK_S_OK) {
		blk->errors++;
		return written + 1;
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
	return written + 1;
}

/* One chain: parsed, then (with a rate limiter) paid for, then executed. A request without
 * tokens is deferred: it goes back to the ring, the queue pauses and the timer resumes it.
 * Refused requests cost nothing: they do no I/O. */
static uint32_t blk_chain(struct virtio_dev *d, struct vq_chain *c)
{
	struct blk *blk = d->priv;
	uint64_t wait;
	uint32_t len;
	int parsed;

	blk->req.type = UINT32_MAX;	/* stays so when the chain was not a request */
	parsed = blk_parse(d->mem, &blk->b, c, &blk->req);
	if (blk->limited && parsed == 0 && (wait = blk_take_tokens(blk, &blk->req))) {
		blk->paused = true;
		blk->throttled++;
		blk_timer_set(blk, wait);
		return VIRTIO_CHAIN_DEFER;
	}
	len = blk_complete(blk, parsed);
	/* A guest can make a read of 4 GiB - 1 bytes plus the status byte: that is no deferral. */
	return len == VIRTIO_CHAIN_DEFER ? len - 1 : len;
}

/* The throttle timer expired (worker, lock held): serve the queue again. */
static void blk_timer_event(struct virtio_dev *d, void *opaque, uint32_t events)
{
	struct blk *blk = opaque;
	uint64_t ticks;

	(void)events;
	if (read(blk->timer_fd, &ticks, sizeof(ticks)) < 0 && errno != EAGAIN)
		pr_warn("%s: rate limiter timer: %s", blk->name, strerror(errno));
	if (!blk->paused)
		return;		/* disarmed by a reset after it fired */
	blk->paused = false;
	if (virtio_live(d->t) && d->vqs[0].ready)
		virtio_process_queue(d, 0, &blk->chain, blk_chain, &blk->malformed);
}

static unsigned int blk_counters(struct virtio_dev *d, struct virtio_counter *out)
{
	struct blk *blk = d->priv;
	const struct virtio_counter c[] = {
		{ "read_ops", blk->read_ops }, { "read_bytes", blk->read_bytes },
		{ "write_ops", blk->write_ops }, { "write_bytes", blk->write_bytes },
		{ "flush_ops", blk->flush_ops }, { "discard_ops", blk->discard_ops },
		{ "errors", blk->errors }, { "malformed_chains", blk->malformed },
		{ "throttled", blk->throttled },
	};

	memcpy(out, c, sizeof(c));
	return sizeof(c) / sizeof(c[0]);
}

static void blk_queue_notify(struct virtio_dev *d, unsigned int q)
{
	struct blk *blk = d->priv;

	if (!blk->paused)		/* paused: the timer resumes it */
		virtio_process_queue(d, q, &blk->chain, blk_chain, &blk->malformed);
}

static void blk_reset(struct virtio_dev *d)
{
	struct blk *blk = d->priv;

	if (blk->paused) {
		blk->paused = false;
		blk_timer_set(blk, 0);
	}
}

static void blk_destroy(struct virtio_dev *d)
{
	struct blk *blk = d->priv;

	if (blk->malformed)
		pr_info("%s: %llu malformed chains", blk->name,
			(unsigned long long)blk->malformed);
	if (blk->throttled)
		pr_info("%s: the rate limiter paused the queue %llu times", blk->name,
			(unsigned long long)blk->throttled);
	close(blk->b.fd);
	if (blk->timer_fd >= 0)
		close(blk->timer_fd);
	rl_group_put(blk->group);
	free(blk);
}

static const struct virtio_dev_ops blk_ops = {
	.config_read = blk_config_read,
	.activate = blk_activate,
	.queue_notify = blk_queue_notify,
	.reset = blk_reset,
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

/* The disk's limiter, its group's, or none; with one, the throttle timer. 0/-errno. */
static int blk_limiter_new(struct blk *blk, const struct disk_config *dc)
{
	uint64_t now = rl_now();

	if (*dc->rate_limit_group) {
		blk->group = rl_group_get(dc->rate_limit_group, &dc->group_limits, now);
		if (!blk->group)
			return -ENOMEM;
		blk->limited = true;
	} else if (rl_config_enabled(&dc->rate_limit)) {
		rl_init(&blk->rl, &dc->rate_limit, now);
		blk->limited = true;
	}
	if (!blk->limited)
		return 0;
	blk->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (blk->timer_fd < 0) {
		pr_err("%s: rate limiter timer: %s", blk->name, strerror(errno));
		return -errno;
	}
	return 0;
}

static void blk_log_limits(const struct blk *blk, const struct disk_config *dc)
{
	const struct rl_config *c = blk->group ? &dc->group_limits : &dc->rate_limit;

	if (!blk->limited)
		return;
	pr_info("%s: rate limit%s%s: %llu bytes/%llu ms (burst %llu), %llu ops/%llu ms "
		"(burst %llu)", blk->name, blk->group ? " group " : "",
		blk->group ? dc->rate_limit_group : "", (unsigned long long)c->bw.size,
		(unsigned long long)c->bw.refill_time, (unsigned long long)c->bw.one_time_burst,
		(unsigned long long)c->ops.size, (unsigned long long)c->ops.refill_time,
		(unsigned long long)c->ops.one_time_burst);
}

int virtio_blk_new(const struct disk_config *dc, unsigned int index, struct virtio_dev **out)
{
	struct blk *blk = calloc(1, sizeof(*blk));
	int ret;

	if (!blk)
		return -ENOMEM;
	blk->timer_fd = -1;
	if (dc->id)
		snprintf(blk->id, sizeof(blk->id), "%s", dc->id);
	else
		snprintf(blk->id, sizeof(blk->id), "disk%u", index);
	snprintf(blk->name, sizeof(blk->name), "virtio-blk %s", blk->id);
	ret = blk_open(blk, dc);
	if (!ret)
		ret = blk_limiter_new(blk, dc);
	if (ret) {
		if (blk->b.fd >= 0)
			close(blk->b.fd);
		if (blk->timer_fd >= 0)
			close(blk->timer_fd);
		rl_group_put(blk->group);
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
	blk_log_limits(blk, dc);
	*out = &blk->vdev;
	return 0;
}
