/*
 * I/O rate limiting with token buckets, as Cloud Hypervisor (after Firecracker) defines it
 * for disks and NICs: RateLimiterConfig {bandwidth, ops}, each a TokenBucket {size,
 * one_time_burst, refill_time}. Pure logic on a clock the caller passes in (nanoseconds, any
 * monotonic origin), so unit tests drive time by hand; the devices (virtio/blk.c,
 * virtio/net.c) pass CLOCK_MONOTONIC and sleep on a timerfd for the time rl_consume()
 * names. Plus shared, locked limiters for Cloud Hypervisor's rate_limit_groups (several
 * disks, each on its own worker thread, drawing from one limiter).
 *
 * A bucket holds up to SIZE tokens (bytes or requests) and starts full. It refills
 * continuously at SIZE tokens per REFILL_TIME ms, computed in exact integer arithmetic
 * (128-bit intermediates, the fraction of a token carried over), so neither a long idle
 * time nor huge values overflow and no rounding error accumulates. ONE_TIME_BURST tokens
 * come on top, once: they are spent first and the bucket does not refill (it is full)
 * until they are gone. A request of N tokens passes when the bucket holds min(N, SIZE):
 * one larger than the bucket passes when the bucket is full, and leaves the bucket in debt
 * (negative) that refill pays back first, so big requests are neither starved nor a way
 * around the rate. SIZE 0 is a bucket that never limits.
 */
#ifndef KVMM_RATELIMIT_H
#define KVMM_RATELIMIT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

/* TokenBucket, as configured. size 0: unlimited (the other two are then ignored). */
struct rl_bucket_config {
	uint64_t size;			/* tokens: bytes or operations */
	uint64_t one_time_burst;	/* extra tokens at start that do not refill */
	uint64_t refill_time;		/* ms to refill SIZE tokens from empty; > 0 if size */
};

/* RateLimiterConfig: both buckets must allow a request. All zero: no limiting. */
struct rl_config {
	struct rl_bucket_config bw;	/* bytes */
	struct rl_bucket_config ops;	/* requests (I/O operations, frames) */
};

static inline bool rl_config_enabled(const struct rl_config *c)
{
	return c->bw.size || c->ops.size;
}

/* One bucket's state. */
struct rl_bucket {
	uint64_t size;			/* 0: unlimited */
	uint64_t period_ns;		/* refill_time in ns (capped at UINT64_MAX) */
	uint64_t burst;			/* one-time burst tokens left */
	int64_t budget;			/* tokens, at most size; below 0 after an oversized
					 * request (debt) */
	uint64_t frac;			/* refill carried over: frac/period_ns of a token */
	uint64_t last;			/* clock of the last refill */
};

/* A limiter: a bandwidth and an operations bucket. */
struct ratelimit {
	struct rl_bucket bw, ops;
};

/* Sets B up from C at clock NOW: full, with its one-time burst. */
void rl_bucket_init(struct rl_bucket *b, const struct rl_bucket_config *c, uint64_t now);
/* Adds the tokens refilled up to NOW (a clock going backwards adds none). */
void rl_bucket_refill(struct rl_bucket *b, uint64_t now);
/* After rl_bucket_refill(): 0 when N tokens may be taken now, else the exact ns until
 * refill makes it so (UINT64_MAX when that is beyond 2^64 ns). */
uint64_t rl_bucket_wait(const struct rl_bucket *b, uint64_t n);
/* Takes N tokens, burst first, whether or not they are there (the budget may go into debt,
 * saturating far below any real debt). */
void rl_bucket_take(struct rl_bucket *b, uint64_t n);
/* Gives N tokens back to the budget (not the burst), up to SIZE: a request that took
 * tokens and then did not happen. */
void rl_bucket_give(struct rl_bucket *b, uint64_t n);

/* Sets RL up from C at clock NOW. */
void rl_init(struct ratelimit *rl, const struct rl_config *c, uint64_t now);
static inline bool rl_enabled(const struct ratelimit *rl)
{
	return rl->bw.size || rl->ops.size;
}
/*
 * A request of BYTES bytes counting OPS operations, at NOW: when both buckets allow it,
 * takes the tokens from both and returns 0; otherwise takes nothing and returns the ns to
 * wait before it would pass (the longer of the two buckets' waits).
 */
uint64_t rl_consume(struct ratelimit *rl, uint64_t now, uint64_t bytes, uint64_t ops);
/* Takes the tokens unconditionally (after the fact: a received frame whose size was not
 * known before it was read). */
void rl_force(struct ratelimit *rl, uint64_t now, uint64_t bytes, uint64_t ops);
/* Gives back what rl_consume() took for a request that then did not happen. */
void rl_give(struct ratelimit *rl, uint64_t bytes, uint64_t ops);
/* 0 when a request of BYTES and OPS would pass at NOW, else the ns to wait; takes nothing. */
uint64_t rl_wait(struct ratelimit *rl, uint64_t now, uint64_t bytes, uint64_t ops);

/*
 * A limiter shared by several devices (a rate_limit_group): the same operations, under a
 * lock, on one limiter found by its id. rl_group_get() returns the live group named ID
 * (another reference; C is then ignored: the group keeps the limits it was created with)
 * or creates it from C at NOW; NULL when out of memory. rl_group_put() drops a reference,
 * the last one frees the group. Thread-safe.
 */
struct rl_group;
struct rl_group *rl_group_get(const char *id, const struct rl_config *c, uint64_t now);
void rl_group_put(struct rl_group *g);
uint64_t rl_group_consume(struct rl_group *g, uint64_t now, uint64_t bytes, uint64_t ops);
uint64_t rl_group_wait(struct rl_group *g, uint64_t now, uint64_t bytes, uint64_t ops);
const char *rl_group_id(const struct rl_group *g);

/* CLOCK_MONOTONIC in ns: the clock the devices use. */
uint64_t rl_now(void);

#endif
