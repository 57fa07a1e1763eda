/*
 * virtio-net (virtio 1.x, 5.1) on a TAP device: one receive and one transmit queue, the
 * feature set and config space (MAC, link status), and the queue and TAP handlers. Frame
 * handling is net_io.c, the TAP itself tap.c.
 *
 * Everything runs on the device worker with the device lock held: queue kicks and the TAP
 * fd callback. The TAP fd stays on the worker's epoll set from the first activation on
 * (a reset only stops asking for events: unwatching from a vCPU could free the watch under
 * an event the worker has already taken). It asks for
 *   EPOLLIN  while the device is live and has (or may get) receive buffers. Out of buffers,
 *            the device stops reading the TAP (frames wait in the TAP's queue, nothing is
 *            dropped) until the driver kicks the receive queue;
 *   EPOLLOUT while a frame waits because the TAP refused it with EAGAIN: that chain goes
 *            back to the ring (vq_unpop()) and transmit resumes when the TAP is writable.
 * Interrupts are raised once per batch (virtio_notify_used() honours EVENT_IDX).
 *
 * Rate limiting (--net bw_* and ops_*, NetConfig.rate_limiter_config; vmm/ratelimit.c): as in
 * Cloud Hypervisor, receive and transmit each get a limiter of the configured limits. A
 * frame costs one op and its bytes (without the virtio-net header). Transmit takes the
 * tokens before writing a frame; without them the chain goes back to the ring and transmit
 * pauses. Receive cannot know a frame's size before reading it: it reads only while the
 * limiter has tokens, then takes the frame's (the limiter may go into debt, paid back before
 * the next read); without tokens it stops asking for EPOLLIN, so frames wait in the TAP's
 * queue. Each direction has a timerfd that resumes it when its tokens are back; the other
 * direction runs on. A reset clears both pauses and disarms the timers.
 */
#define _GNU_SOURCE
#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <sys/uio.h>
#include <unistd.h>

#include "devices.h"
#include "log.h"
#include "net_io.h"
#include "ratelimit.h"
#include "tap.h"

#define NET_QUEUE_SIZE	256
#define NET_RXQ		0		/* receiveq1 */
#define NET_TXQ		1		/* transmitq1 */
#define NET_RX_BUDGET	256		/* frames per TAP wake-up; the TAP stays readable */

/* struct virtio_net_config up to max_virtqueue_pairs (5.1.4), little endian. */
struct net_cfg_space {
	uint8_t mac[6];
	uint16_t status;
	uint16_t max_virtqueue_pairs;
} __attribute__((packed));

_Static_assert(sizeof(struct net_cfg_space) == 10, "virtio_net_config layout");

struct net {
	struct virtio_dev vdev;
	struct tap tap;
	char name[48];
	char id[24];
	struct net_cfg_space config;
	struct net_counters cnt;
	bool active;			/* activate .. reset: the queues may be used */
	bool watched;			/* the TAP fd is on the worker's epoll set */
	bool tap_dead;			/* the TAP failed (interface deleted): no more I/O */
	bool rx_wait;			/* out of receive buffers, waiting for a kick */
	bool tx_wait;			/* a frame waits for the TAP to become writable */
	bool tx_err_logged;
	uint32_t events;		/* what the watch asks for now */
	/* Rate limiting, one limiter per direction ([NET_RXQ], [NET_TXQ]). */
	bool limited;
	bool timers_watched;		/* the timerfds are on the worker's epoll set */
	struct ratelimit rl[2];
	int timer_fd[2];		/* -1 when not limited */
	bool paused[2];			/* waiting for tokens */
	uint64_t throttled[2];		/* times each direction paused */
	struct vq_chain chain;		/* worker scratch */
	struct net_tx tx;
	struct net_rx rx;
};

/* Asks the worker for the TAP events the current state needs. */
static void net_watch(struct net *n)
{
	uint32_t ev = 0;
	int ret;

	if (n->active && !n->tap_dead) {
		if (n->vdev.vqs[NET_RXQ].ready && !n->rx_wait && !n->paused[NET_RXQ])
			ev |= EPOLLIN;
		if (n->tx_wait)
			ev |= EPOLLOUT;
	}
	if (!n->watched || ev == n->events)
		return;
	ret = virtio_watch_mod(&n->vdev, n->tap.fd, ev);
	if (ret)
		pr_warn("%s: TAP %s: epoll: %s", n->name, n->tap.name, strerror(-ret));
	else
		n->events = ev;
}

static void net_broken(struct net *n, const char *why)
{
	virtio_needs_reset(&n->vdev, why);
	n->active = false;
	net_watch(n);
}

static void net_tap_failed(struct net *n, const char *why)
{
	pr_err("%s: TAP %s: %s; the device passes no more traffic", n->name, n->tap.name, why);
	n->tap_dead = true;
	net_watch(n);
}

/* Arms (NS > 0) or disarms (0) direction Q's throttle timer. */
static void net_timer_set(struct net *n, unsigned int q, uint64_t ns)
{
	struct itimerspec its = { .it_value = { .tv_sec = (time_t)(ns / 1000000000U),
						.tv_nsec = (long)(ns % 1000000000U) } };

	if (timerfd_settime(n->timer_fd[q], 0, &its, NULL))
		pr_warn("%s: rate limiter timer: %s", n->name, strerror(errno));
}

/* Direction Q stops for NS ns (its limiter is out of tokens). */
static void net_pause(struct net *n, unsigned int q, uint64_t ns)
{
	n->paused[q] = true;
	n->throttled[q]++;
	net_timer_set(n, q, ns);
	net_watch(n);
}

/* Moves frames from the TAP into the receive queue until either runs dry (or the budget). */
static void net_rx(struct net *n)
{
	struct virtio_dev *d = &n->vdev;
	struct vq *vq = &d->vqs[NET_RXQ];
	uint64_t wait;
	ssize_t len;
	int ret;

	if (!vq->ready || n->paused[NET_RXQ])
		return;
	for (unsigned int i = 0; i < NET_RX_BUDGET; i++) {
		/* Any token at all lets the next frame in; it pays after it is read. */
		if (n->limited && (wait = rl_wait(&n->rl[NET_RXQ], rl_now(), 1, 1))) {
			net_pause(n, NET_RXQ, wait);
			break;
		}
		ret = net_rx_fill(vq, d->mem, &n->chain, &n->rx, &n->cnt);
		if (ret == 0) {
			/* Notifications are on again: the driver kicks when it adds buffers. */
			n->rx_wait = true;
			net_watch(n);
			break;
		}
		if (ret < 0) {
			net_broken(n, "broken receive ring");
			break;
		}
		len = net_rx_read(&n->rx, n->tap.fd);
		if (len == -EAGAIN)
			break;
		if (len < 0) {
			net_tap_failed(n, strerror(-len));
			break;
		}
		if (n->limited)
			rl_force(&n->rl[NET_RXQ], rl_now(),
				 len > NET_HDR_LEN ? (uint64_t)len - NET_HDR_LEN : 0, 1);
		if (net_rx_complete(vq, d->mem, &n->rx, len, &n->cnt) < 0) {
			net_broken(n, "receive used ring not writable");
			break;
		}
	}
	if (n->rx.pushed) {
		n->rx.pushed = 0;
		virtio_notify_used(d, NET_RXQ);
	}
}

/* Writes one prepared frame to the TAP: bytes written or -errno. */
static ssize_t net_tx_write(struct net *n)
{
	ssize_t w;

	do {
		w = writev(n->tap.fd, n->tx.iov, n->tx.nr_iov);
	} while (w < 0 && errno == EINTR);
	return w < 0 ? -errno : w;
}

/* Sends every available transmit chain; each goes back with used length 0. */
static void net_tx(struct net *n)
{
	struct virtio_dev *d = &n->vdev;
	struct vq *vq = &d->vqs[NET_TXQ];
	unsigned int pushed = 0;
	uint64_t wait;
	ssize_t w;
	int ret;

	if (!vq->ready || n->paused[NET_TXQ])
		return;
	for (;;) {
		ret = vq_pop(vq, d->mem, &n->chain);
		if (ret == 0) {
			if (!vq_enable_notify(vq, d->mem))
				break;
			continue;
		}
		if (ret == -EIO) {
			net_broken(n, "broken transmit ring");
			break;
		}
		if (ret < 0 || net_tx_build(d->mem, d->acked, &n->chain, &n->tx)) {
			n->cnt.tx_malformed++;
		} else if (n->limited &&
			   (wait = rl_consume(&n->rl[NET_TXQ], rl_now(), n->tx.len, 1))) {
			/* Out of tokens: this chain goes again when they are back. */
			vq_unpop(vq, 1);
			net_pause(n, NET_TXQ, wait);
			break;
		} else if ((w = net_tx_write(n)) == -EAGAIN) {
			/* The TAP's queue is full: retry this chain when it is writable. */
			if (n->limited)
				rl_give(&n->rl[NET_TXQ], n->tx.len, 1);
			vq_unpop(vq, 1);
			n->tx_wait = true;
			net_watch(n);
			break;
		} else if (w < 0) {
			n->cnt.tx_drops++;
			if (!n->tx_err_logged)
				pr_warn("%s: TAP %s: transmit: %s (dropping, counted)", n->name,
					n->tap.name, strerror(-w));
			n->tx_err_logged = true;
		} else {
			n->cnt.tx_packets++;
			n->cnt.tx_bytes += n->tx.len;
		}
		if (vq_push(vq, d->mem, n->chain.head, 0)) {
			net_broken(n, "transmit used ring not writable");
			break;
		}
		pushed++;
	}
	if (pushed)
		virtio_notify_used(d, NET_TXQ);
}

/* The TAP fd is ready (worker, lock held). */
static void net_tap_event(struct virtio_dev *d, void *opaque, uint32_t events)
{
	struct net *n = opaque;

	if (events & (EPOLLERR | EPOLLHUP)) {
		/* Reported whatever was asked for: stop watching or the worker spins. Safe
		 * here, in the fd's own callback. */
		net_tap_failed(n, "error on the TAP fd (interface deleted?)");
		virtio_unwatch_fd(d, n->tap.fd);
		n->watched = false;
		return;
	}
	if (!n->active || n->tap_dead)
		return;		/* an event taken before a reset */
	if ((events & EPOLLOUT) && n->tx_wait) {
		n->tx_wait = false;
		net_watch(n);
		net_tx(n);
	}
	if ((events & EPOLLIN) && !n->rx_wait && n->active)
		net_rx(n);
}

static void net_queue_notify(struct virtio_dev *d, unsigned int q)
{
	struct net *n = d->priv;

	if (!n->active)
		return;
	/* With a failed TAP, transmit still runs (and counts drops) so the driver does not
	 * wait forever for its buffers. */
	if (q == NET_RXQ && n->rx_wait && !n->tap_dead) {
		/* New receive buffers: read the TAP again, starting now. */
		n->rx_wait = false;
		net_watch(n);
		net_rx(n);
	} else if (q == NET_TXQ && !n->tx_wait) {
		net_tx(n);	/* nothing while paused: the timer resumes it */
	}
}

/* A throttle timer expired (worker, lock held); OPAQUE is the direction's timer_fd slot. */
static void net_timer_event(struct virtio_dev *d, void *opaque, uint32_t events)
{
	struct net *n = d->priv;
	unsigned int q = (unsigned int)(opaque == &n->timer_fd[NET_TXQ]);
	uint64_t ticks;

	(void)events;
	if (read(n->timer_fd[q], &ticks, sizeof(ticks)) < 0 && errno != EAGAIN)
		pr_warn("%s: rate limiter timer: %s", n->name, strerror(errno));
	if (!n->paused[q])
		return;		/* disarmed by a reset after it fired */
	n->paused[q] = false;
	net_watch(n);
	if (!n->active || n->tap_dead)
		return;
	if (q == NET_RXQ && !n->rx_wait)
		net_rx(n);
	else if (q == NET_TXQ && !n->tx_wait)
		net_tx(n);
}

/* The throttle timers join the worker's epoll set at the first activation. */
static int net_watch_timers(struct net *n)
{
	int ret;

	if (!n->limited || n->timers_watched)
		return 0;
	for (unsigned int q = 0; q < 2; q++) {
		ret = virtio_watch_fd(&n->vdev, n->timer_fd[q], EPOLLIN, net_timer_event,
				      &n->timer_fd[q]);
		if (ret) {
			if (q)
				virtio_unwatch_fd(&n->vdev, n->timer_fd[0]);
			pr_err("%s: watching a rate limiter timer: %s", n->name, strerror(-ret));
			return ret;
		}
	}
	n->timers_watched = true;
	return 0;
}

static int net_activate(struct virtio_dev *d)
{
	struct net *n = d->priv;
	unsigned int mtu = 0;
	int ret;

	/* First: with a failed TAP, transmit still runs (and may wait for tokens). */
	ret = net_watch_timers(n);
	if (ret)
		return ret;
	if (n->tap_dead) {
		pr_warn("%s: TAP %s failed earlier; the device passes no traffic", n->name,
			n->tap.name);
		n->active = true;	/* transmit chains still complete, as drops */
		return 0;
	}
	ret = tap_set_offload(&n->tap, d->acked);
	if (ret)
		return ret;
	if (tap_mtu(&n->tap, &mtu))
		mtu = 0;	/* unknown: receive waits for room for the largest frame */
	net_rx_init(&n->rx, d->acked, mtu);
	n->rx_wait = n->tx_wait = false;
	if (!n->watched) {
		ret = virtio_watch_fd(d, n->tap.fd, 0, net_tap_event, n);
		if (ret) {
			pr_err("%s: watching TAP %s: %s", n->name, n->tap.name, strerror(-ret));
			return ret;
		}
		n->watched = true;
		n->events = 0;
	}
	n->active = true;
	net_watch(n);
	pr_info("%s: features 0x%llx, mtu %u", n->name, (unsigned long long)d->acked, mtu);
	return 0;
}

static void net_reset(struct virtio_dev *d)
{
	struct net *n = d->priv;

	n->active = false;
	n->rx_wait = n->tx_wait = false;
	for (unsigned int q = 0; q < 2; q++) {
		if (n->paused[q])
			net_timer_set(n, q, 0);
		n->paused[q] = false;
	}
	net_watch(n);
	net_rx_init(&n->rx, 0, 0);	/* held chains belonged to the old ring */
}

static void net_config_read(struct virtio_dev *d, uint32_t off, void *data, uint32_t len)
{
	struct net *n = d->priv;

	memcpy(data, (uint8_t *)&n->config + off, len);
}

static void net_destroy(struct virtio_dev *d)
{
	struct net *n = d->priv;
	const struct net_counters *c = &n->cnt;

	pr_info("%s: rx %llu packets %llu bytes %llu drops %llu bad chains; "
		"tx %llu packets %llu bytes %llu drops %llu malformed", n->name,
		(unsigned long long)c->rx_packets, (unsigned long long)c->rx_bytes,
		(unsigned long long)c->rx_drops, (unsigned long long)c->rx_malformed,
		(unsigned long long)c->tx_packets, (unsigned long long)c->tx_bytes,
		(unsigned long long)c->tx_drops, (unsigned long long)c->tx_malformed);
	if (n->throttled[NET_RXQ] || n->throttled[NET_TXQ])
		pr_info("%s: the rate limiters paused receive %llu times, transmit %llu times",
			n->name, (unsigned long long)n->throttled[NET_RXQ],
			(unsigned long long)n->throttled[NET_TXQ]);
	tap_close(&n->tap);
	for (unsigned int q = 0; q < 2; q++)
		if (n->timer_fd[q] >= 0)
			close(n->timer_fd[q]);
	free(n);
}

static unsigned int net_counters(struct virtio_dev *d, struct virtio_counter *out)
{
	const struct net *n = d->priv;
	const struct net_counters *c = &n->cnt;
	const struct virtio_counter v[] = {
		{ "rx_packets", c->rx_packets }, { "rx_bytes", c->rx_bytes },
		{ "rx_drops", c->rx_drops }, { "rx_malformed", c->rx_malformed },
		{ "tx_packets", c->tx_packets }, { "tx_bytes", c->tx_bytes },
		{ "tx_drops", c->tx_drops }, { "tx_malformed", c->tx_malformed },
		{ "rx_throttled", n->throttled[NET_RXQ] },
		{ "tx_throttled", n->throttled[NET_TXQ] },
	};

	memcpy(out, v, sizeof(v));
	return sizeof(v) / sizeof(v[0]);
}

static const struct virtio_dev_ops net_ops = {
	.config_read = net_config_read,
	.activate = net_activate,
	.queue_notify = net_queue_notify,
	.reset = net_reset,
	.destroy = net_destroy,
	.counters = net_counters,
};

#define NET_FEATURES								\
	(VIRTIO_BIT(VIRTIO_NET_F_CSUM) | VIRTIO_BIT(VIRTIO_NET_F_GUEST_CSUM) |	\
	 VIRTIO_BIT(VIRTIO_NET_F_MAC) | VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO4) |	\
	 VIRTIO_BIT(VIRTIO_NET_F_GUEST_TSO6) | VIRTIO_BIT(VIRTIO_NET_F_GUEST_UFO) |	\
	 VIRTIO_BIT(VIRTIO_NET_F_HOST_TSO4) | VIRTIO_BIT(VIRTIO_NET_F_HOST_TSO6) |	\
	 VIRTIO_BIT(VIRTIO_NET_F_HOST_UFO) | VIRTIO_BIT(VIRTIO_NET_F_MRG_RXBUF) |	\
	 VIRTIO_BIT(VIRTIO_NET_F_STATUS) | VIRTIO_BIT(VIRTIO_F_EVENT_IDX) |		\
	 VIRTIO_BIT(VIRTIO_F_INDIRECT_DESC))

/* On failure an inherited fd (NC->fd) is left open; on success the device owns it. */
int virtio_net_new(const struct net_config *nc, unsigned int index, struct virtio_dev **out)
{
	struct net *n = calloc(1, sizeof(*n));
	char key[24];
	uint8_t *mac;
	int ret;

	if (!n)
		return -ENOMEM;
	n->timer_fd[0] = n->timer_fd[1] = -1;
	if (nc->id)
		snprintf(n->id, sizeof(n->id), "%s", nc->id);
	else
		snprintf(n->id, sizeof(n->id), "net%u", index);
	snprintf(n->name, sizeof(n->name), "virtio-net %s", n->id);
	if (rl_config_enabled(&nc->rate_limit)) {
		n->limited = true;
		for (unsigned int q = 0; q < 2; q++) {
			rl_init(&n->rl[q], &nc->rate_limit, rl_now());
			n->timer_fd[q] = timerfd_create(CLOCK_MONOTONIC,
							TFD_NONBLOCK | TFD_CLOEXEC);
			if (n->timer_fd[q] < 0) {
				ret = -errno;
				pr_err("%s: rate limiter timer: %s", n->name, strerror(errno));
				goto err_timers;
			}
		}
	}
	ret = nc->tap ? tap_open(&n->tap, nc->tap) : tap_adopt(&n->tap, nc->fd);
	if (ret)
		goto err_timers;
	mac = n->config.mac;
	if (nc->has_mac) {
		memcpy(mac, nc->mac, 6);
	} else {
		if (nc->tap)
			snprintf(key, sizeof(key), "%s", nc->tap);
		else
			snprintf(key, sizeof(key), "fd%d", nc->fd);
		net_default_mac(key, index, mac);
	}
	n->config.status = htole16(VIRTIO_NET_S_LINK_UP);
	n->config.max_virtqueue_pairs = htole16(1);
	net_rx_init(&n->rx, 0, 0);

	n->vdev = (struct virtio_dev){
		.name = n->name,
		.id = n->id,
		.device_id = VIRTIO_ID_NET,
		.ops = &net_ops,
		.priv = n,
		.features = NET_FEATURES,
		.config_size = sizeof(struct net_cfg_space),
		.nr_queues = 2,
		.queue_max = NET_QUEUE_SIZE,
	};
	pr_info("%s: TAP %s, MAC %02x:%02x:%02x:%02x:%02x:%02x%s", n->name, n->tap.name,
		mac[0], mac[1], mac[2], mac[3], mac[4], mac[5], nc->has_mac ? "" : " (derived)");
	if (n->limited)
		pr_info("%s: rate limit each way: %llu bytes/%llu ms (burst %llu), %llu "
			"frames/%llu ms (burst %llu)", n->name,
			(unsigned long long)nc->rate_limit.bw.size,
			(unsigned long long)nc->rate_limit.bw.refill_time,
			(unsigned long long)nc->rate_limit.bw.one_time_burst,
			(unsigned long long)nc->rate_limit.ops.size,
			(unsigned long long)nc->rate_limit.ops.refill_time,
			(unsigned long long)nc->rate_limit.ops.one_time_burst);
	*out = &n->vdev;
	return 0;

err_timers:
	for (unsigned int q = 0; q < 2; q++)
		if (n->timer_fd[q] >= 0)
			close(n->timer_fd[q]);
	free(n);
	return ret;
}
