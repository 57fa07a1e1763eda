/*
 * Token buckets for disk and NIC rate limiting (ratelimit.h has the rules): the refill
 * arithmetic, the wait computation, and the registry of shared limiters
 * (rate_limit_groups).
 *
 * Arithmetic: refill adds floor((elapsed * size + frac) / period) tokens and keeps the
 * remainder in frac; with size <= INT64_MAX, elapsed < 2^64 and period <= 2^62 every
 * product fits in 128 bits. The budget never goes below -INT64_MAX, so size - budget fits
 * in 65 bits and (size - budget) * period in 127.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ratelimit.h"

typedef unsigned __int128 u128;

#define PERIOD_MAX	(1ULL << 62)	/* ns, ~146 years: longer refill times are capped */
#define BUDGET_MIN	(-INT64_MAX)	/* debt saturates here */

uint64_t rl_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

void rl_bucket_init(struct rl_bucket *b, const struct rl_bucket_config *c, uint64_t now)
{
	u128 period = (u128)c->refill_time * 1000000U;

	memset(b, 0, sizeof(*b));
	if (!c->size)
		return;
	b->size = c->size > INT64_MAX ? INT64_MAX : c->size;
	/* refill_time 0 with a size is refused by the config; here it refills at once. */
	b->period_ns = period > PERIOD_MAX ? PERIOD_MAX : period ? (uint64_t)period : 1;
	b->burst = c->one_time_burst;
	b->budget = (int64_t)b->size;
	b->last = now;
}

void rl_bucket_refill(struct rl_bucket *b, uint64_t now)
{
	u128 num, add, room;

	if (!b->size || now <= b->last)
		return;
	/* Full, or still spending the one-time burst (the bucket is full then): nothing to
	 * add, and refill starts counting from now. */
	if (b->burst || b->budget >= (int64_t)b->size) {
		b->last = now;
		b->frac = 0;
		return;
	}
	num = (u128)(now - b->last) * b->size + b->frac;
	add = num / b->period_ns;
	room = (u128)((__int128)b->size - b->budget);
	if (add >= room) {
		b->budget = (int64_t)b->size;
		b->frac = 0;
	} else {
		b->budget = (int64_t)((__int128)b->budget + (__int128)add);	/* < size */
		b->frac = (uint64_t)(num % b->period_ns);
	}
	b->last = now;
}

uint64_t rl_bucket_wait(const struct rl_bucket *b, uint64_t n)
{
	uint64_t need;
	u128 deficit, ns;

	if (!b->size || !n || b->burst >= n)
		return 0;
	need = n - b->burst;
	if (need > b->size)
		need = b->size;		/* an oversized request waits for a full bucket */
	if (b->budget >= (int64_t)need)
		return 0;
	deficit = (u128)((__int128)need - b->budget);
	/* The first t with floor((t * size + frac) / period) >= deficit. */
	ns = deficit * b->period_ns - b->frac;	/* frac < period <= deficit * period */
	ns = (ns + b->size - 1) / b->size;
	return ns > UINT64_MAX ? UINT64_MAX : (uint64_t)ns;
}

void rl_bucket_take(struct rl_bucket *b, uint64_t n)
{
	if (!b->size)
		return;
	if (b->burst >= n) {
		b->burst -= n;
		return;
	}
	n -= b->burst;
	b->burst = 0;
	if ((__int128)b->budget - n < BUDGET_MIN)
		b->budget = BUDGET_MIN;
	else
		b->budget = (int64_t)((__int128)b->budget - n);
}

void rl_bucket_give(struct rl_bucket *b, uint64_t n)
{
	if (!b->size)
		return;
	if ((u128)n >= (u128)((__int128)b->size - b->budget))
		b->budget = (int64_t)b->size;
	else
		b->budget = (int64_t)((__int128)b->budget + n);	/* < size */
}

void rl_init(struct ratelimit *rl, const struct rl_config *c, uint64_t now)
{
	rl_bucket_init(&rl->bw, &c->bw, now);
	rl_bucket_init(&rl->ops, &c->ops, now);
}

uint64_t rl_wait(struct ratelimit *rl, uint64_t now, uint64_t bytes, uint64_t ops)
{
	uint64_t a, b;

	rl_bucket_refill(&rl->bw, now);
	rl_bucket_refill(&rl->ops, now);
	a = rl_bucket_wait(&rl->bw, bytes);
	b = rl_bucket_wait(&rl->ops, ops);
	return a > b ? a : b;
}

uint64_t rl_consume(struct ratelimit *rl, uint64_t now, uint64_t bytes, uint64_t ops)
{
	uint64_t wait = rl_wait(rl, now, bytes, ops);

	if (wait)
		return wait;
	rl_bucket_take(&rl->bw, bytes);
	rl_bucket_take(&rl->ops, ops);
	return 0;
}

void rl_force(struct ratelimit *rl, uint64_t now, uint64_t bytes, uint64_t ops)
{
	rl_bucket_refill(&rl->bw, now);
	rl_bucket_refill(&rl->ops, now);
	rl_bucket_take(&rl->bw, bytes);
	rl_bucket_take(&rl->ops, ops);
}

void rl_give(struct ratelimit *rl, uint64_t bytes, uint64_t ops)
{
	rl_bucket_give(&rl->bw, bytes);
	rl_bucket_give(&rl->ops, ops);
}

/* Shared limiters, found by id while any device holds them. */
struct rl_group {
	struct rl_group *next;
	unsigned int refs;		/* under groups_lock */
	pthread_mutex_t lock;		/* the limiter */
	struct ratelimit rl;
	char id[];
};

static pthread_mutex_t groups_lock = PTHREAD_MUTEX_INITIALIZER;
static struct rl_group *groups;

struct rl_group *rl_group_get(const char *id, const struct rl_config *c, uint64_t now)
{
	struct rl_group *g;

	pthread_mutex_lock(&groups_lock);
	for (g = groups; g && strcmp(g->id, id); g = g->next)
		;
	if (g) {
		g->refs++;
	} else {
		g = calloc(1, sizeof(*g) + strlen(id) + 1);
		if (g) {
			strcpy(g->id, id);
			g->refs = 1;
			pthread_mutex_init(&g->lock, NULL);
			rl_init(&g->rl, c, now);
			g->next = groups;
			groups = g;
		}
	}
	pthread_mutex_unlock(&groups_lock);
	return g;
}

void rl_group_put(struct rl_group *g)
{
	struct rl_group **p;

	if (!g)
		return;
	pthread_mutex_lock(&groups_lock);
	if (--g->refs) {
		pthread_mutex_unlock(&groups_lock);
		return;
	}
	for (p = &groups; *p != g; p = &(*p)->next)
		;
	*p = g->next;
	pthread_mutex_unlock(&groups_lock);
	pthread_mutex_destroy(&g->lock);
	free(g);
}

uint64_t rl_group_consume(struct rl_group *g, uint64_t now, uint64_t bytes, uint64_t ops)
{
	uint64_t wait;

	pthread_mutex_lock(&g->lock);
	wait = rl_consume(&g->rl, now, bytes, ops);
	pthread_mutex_unlock(&g->lock);
	return wait;
}

uint64_t rl_group_wait(struct rl_group *g, uint64_t now, uint64_t bytes, uint64_t ops)
{
	uint64_t wait;

	pthread_mutex_lock(&g->lock);
	wait = rl_wait(&g->rl, now, bytes, ops);
	pthread_mutex_unlock(&g->lock);
	return wait;
}

const char *rl_group_id(const struct rl_group *g)
{
	return g->id;
}
