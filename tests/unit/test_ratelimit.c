/*
 * Tests for vmm/ratelimit.c: token-bucket refill in exact integer arithmetic (no drift, no
 * overflow at the extremes), the one-time burst spent first, oversized requests passing a
 * full bucket and leaving debt, exact wait times, giving tokens back, both buckets of a
 * limiter taken together or not at all, and shared groups across threads. The clock is a
 * number the tests advance by hand.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdint.h>

#include "ratelimit.h"

#define MS	1000000ULL
#define SEC	1000000000ULL

static struct rl_config bw(uint64_t size, uint64_t burst, uint64_t refill_ms)
{
	return (struct rl_config){ .bw = { size, burst, refill_ms } };
}

Test(ratelimit, size_zero_never_limits)
{
	struct ratelimit rl;
	struct rl_config c = { 0 };

	rl_init(&rl, &c, 0);
	cr_assert(!rl_enabled(&rl));
	for (int i = 0; i < 1000; i++)
		cr_assert_eq(rl_consume(&rl, 0, UINT64_MAX, UINT64_MAX), 0);
	/* A bucket with size 0 ignores its refill time, even 0. */
	c.ops.size = 10;
	c.ops.refill_time = 1000;
	rl_init(&rl, &c, 0);
	cr_assert_eq(rl_consume(&rl, 0, UINT64_MAX, 10), 0);
	cr_assert_neq(rl_consume(&rl, 0, 0, 1), 0);
}

Test(ratelimit, starts_full_then_refills_at_the_rate)
{
	struct ratelimit rl;
	struct rl_config c = bw(1000, 0, 1000);	/* 1000 bytes/s */

	rl_init(&rl, &c, 5 * SEC);
	cr_assert_eq(rl_consume(&rl, 5 * SEC, 1000, 0), 0);
	cr_assert_eq(rl_consume(&rl, 5 * SEC, 1, 0), 1 * MS, "one byte takes 1 ms");
	cr_assert_eq(rl_consume(&rl, 5 * SEC + 500 * MS, 500, 0), 0);
	cr_assert_eq(rl_consume(&rl, 5 * SEC + 500 * MS, 1, 0), 1 * MS);
	/* Never more than size, however long the pause. */
	cr_assert_eq(rl_consume(&rl, 500 * SEC, 1000, 0), 0);
	cr_assert_neq(rl_consume(&rl, 500 * SEC, 1, 0), 0);
}

Test(ratelimit, refill_carries_fractions_without_drift)
{
	struct rl_bucket b;
	struct rl_bucket_config c = { .size = 3, .refill_time = 1000 };	/* 1 per 333.3 ms */
	uint64_t now = 0;

	rl_bucket_init(&b, &c, now);
	rl_bucket_take(&b, 3);
	/* A thousand refills 1 ms apart add exactly what one refill after 1 s adds. */
	for (int i = 0; i < 1000; i++) {
		now += MS;
		rl_bucket_refill(&b, now);
		if (i == 332)
			cr_assert_eq(b.budget, 0, "333 ms: not yet a token");
		if (i == 333)
			cr_assert_eq(b.budget, 1, "334 ms: one token");
	}
	cr_assert_eq(b.budget, 3);
	/* And 1 ns steps across a token boundary: 333333334 ns is the first whole token. */
	rl_bucket_take(&b, 3);
	rl_bucket_refill(&b, now + 333333333);
	cr_assert_eq(b.budget, 0);
	rl_bucket_refill(&b, now + 333333334);
	cr_assert_eq(b.budget, 1);
}

Test(ratelimit, wait_is_exact)
{
	struct ratelimit rl;
	struct rl_config c = bw(3, 0, 1000);
	uint64_t w;

	rl_init(&rl, &c, 0);
	cr_assert_eq(rl_consume(&rl, 0, 3, 0), 0);
	w = rl_consume(&rl, 0, 2, 0);
	cr_assert_eq(w, 666666667, "2 tokens at 3/s: ceil(2e9 / 3) ns, got %llu",
		     (unsigned long long)w);
	cr_assert_neq(rl_consume(&rl, w - 1, 2, 0), 0, "one ns early is too early");
	cr_assert_eq(rl_consume(&rl, w, 2, 0), 0);
	/* With a fraction of a token carried over from the last refill, the next token
	 * comes exactly at the wait named too. */
	w = rl_wait(&rl, 666666667 + 1000, 1, 0);
	cr_assert_eq(w, 333333333 - 1000, "got %llu", (unsigned long long)w);
	cr_assert_neq(rl_consume(&rl, 666666667 + 1000 + w - 1, 1, 0), 0);
	cr_assert_eq(rl_consume(&rl, 666666667 + 1000 + w, 1, 0), 0);
}

Test(ratelimit, one_time_burst_is_spent_first_and_does_not_refill)
{
	struct ratelimit rl;
	struct rl_config c = bw(100, 50, 1000);

	rl_init(&rl, &c, 0);
	cr_assert_eq(rl_consume(&rl, 0, 40, 0), 0);
	cr_assert_eq(rl.bw.burst, 10);
	cr_assert_eq(rl.bw.budget, 100, "the bucket is untouched while the burst lasts");
	/* Time passes during the burst: nothing accrues beyond the full bucket. */
	cr_assert_eq(rl_consume(&rl, 10 * SEC, 30, 0), 0);
	cr_assert_eq(rl.bw.burst, 0);
	cr_assert_eq(rl.bw.budget, 80);
	cr_assert_eq(rl_consume(&rl, 10 * SEC, 80, 0), 0);
	cr_assert_eq(rl_consume(&rl, 10 * SEC, 1, 0), 10 * MS);
	/* The burst never comes back. */
	cr_assert_eq(rl_consume(&rl, 100 * SEC, 100, 0), 0);
	cr_assert_neq(rl_consume(&rl, 100 * SEC, 1, 0), 0);
	/* In all: burst + size at once, then the rate. */
	rl_init(&rl, &c, 0);
	cr_assert_eq(rl_consume(&rl, 0, 150, 0), 0);
	cr_assert_neq(rl_consume(&rl, 0, 1, 0), 0);
}

Test(ratelimit, oversized_request_passes_a_full_bucket_and_leaves_debt)
{
	struct ratelimit rl;
	struct rl_config c = bw(100, 0, 1000);	/* 100/s */

	rl_init(&rl, &c, 0);
	cr_assert_eq(rl_consume(&rl, 0, 250, 0), 0, "a full bucket lets it through");
	cr_assert_eq(rl.bw.budget, -150);
	/* The debt is paid first: the next byte waits 1.51 s. */
	cr_assert_eq(rl_consume(&rl, 0, 1, 0), 1510 * MS);
	/* Not full: an oversized request waits for a full bucket, not for 250 tokens. */
	cr_assert_eq(rl_consume(&rl, 2500 * MS, 250, 0), 0);
	rl_init(&rl, &c, 0);
	cr_assert_eq(rl_consume(&rl, 0, 10, 0), 0);
	cr_assert_eq(rl_consume(&rl, 0, 250, 0), 100 * MS);
	cr_assert_eq(rl_consume(&rl, 100 * MS, 250, 0), 0);
	/* Over time the rate holds: 10 requests of 250 at 100/s take 22.5 s after the first. */
	rl_init(&rl, &c, 0);
	uint64_t now = 0;

	for (int i = 0; i < 10; i++) {
		uint64_t w = rl_consume(&rl, now, 250, 0);

		now += w;
		if (w)
			cr_assert_eq(rl_consume(&rl, now, 250, 0), 0);
	}
	cr_assert_eq(now, 22500 * MS, "got %llu", (unsigned long long)now);
}

Test(ratelimit, give_returns_tokens_up_to_size)
{
	struct rl_bucket b;
	struct rl_bucket_config c = { .size = 100, .refill_time = 1000 };

	rl_bucket_init(&b, &c, 0);
	rl_bucket_take(&b, 100);
	rl_bucket_give(&b, 60);
	cr_assert_eq(b.budget, 60);
	rl_bucket_give(&b, UINT64_MAX);
	cr_assert_eq(b.budget, 100);
	rl_bucket_take(&b, 300);
	cr_assert_eq(b.budget, -200);
	rl_bucket_give(&b, 250);
	cr_assert_eq(b.budget, 50);
}

Test(ratelimit, both_buckets_or_nothing)
{
	struct ratelimit rl;
	struct rl_config c = { .bw = { 1000, 0, 1000 }, .ops = { 2, 0, 1000 } };

	rl_init(&rl, &c, 0);
	cr_assert_eq(rl_consume(&rl, 0, 100, 1), 0);
	cr_assert_eq(rl_consume(&rl, 0, 100, 1), 0);
	/* Out of ops: the bytes stay. */
	cr_assert_eq(rl_consume(&rl, 0, 100, 1), 500 * MS);
	cr_assert_eq(rl.bw.budget, 800);
	/* Out of bytes, ops there: the op stays; the wait is the longer one. */
	cr_assert_eq(rl_consume(&rl, 500 * MS, 900, 1), 0);	/* budget 800+500 -> 1000 */
	cr_assert_eq(rl_consume(&rl, 1000 * MS, 1000, 1), 400 * MS);
	cr_assert_eq(rl.ops.budget, 1);
	/* Force takes regardless, and the wait then covers the debt. */
	rl_force(&rl, 1000 * MS, 600, 3);
	cr_assert_eq(rl.ops.budget, -2);
	cr_assert_eq(rl_wait(&rl, 1000 * MS, 1, 1), 1500 * MS);
	rl_give(&rl, 600, 3);
	cr_assert_eq(rl_wait(&rl, 1000 * MS, 1, 1), 0);
}

Test(ratelimit, zero_token_requests_pass_even_in_debt)
{
	struct ratelimit rl;
	struct rl_config c = bw(100, 0, 1000);

	rl_init(&rl, &c, 0);
	rl_force(&rl, 0, 1000, 0);
	cr_assert_eq(rl_consume(&rl, 0, 0, 1), 0, "a flush carries no bytes");
	cr_assert_neq(rl_consume(&rl, 0, 1, 0), 0);
}

Test(ratelimit, clock_going_backwards_adds_nothing)
{
	struct ratelimit rl;
	struct rl_config c = bw(100, 0, 1000);

	rl_init(&rl, &c, 10 * SEC);
	cr_assert_eq(rl_consume(&rl, 10 * SEC, 100, 0), 0);
	cr_assert_neq(rl_consume(&rl, 1 * SEC, 1, 0), 0);
	cr_assert_eq(rl.bw.budget, 0);
	cr_assert_eq(rl_consume(&rl, 10 * SEC + 10 * MS, 1, 0), 0);
}

Test(ratelimit, extremes_do_not_overflow)
{
	struct ratelimit rl;
	struct rl_config c = { .bw = { INT64_MAX, INT64_MAX, INT64_MAX },
			       .ops = { 1, 0, 1 } };
	uint64_t w;

	/* The biggest bucket and the slowest refill. */
	rl_init(&rl, &c, 0);
	cr_assert_eq(rl_consume(&rl, 0, UINT64_MAX, 1), 0);
	cr_assert_eq(rl.bw.burst, 0);
	w = rl_wait(&rl, 0, UINT64_MAX, 0);
	cr_assert_gt(w, 0);
	/* The longest time step: the bucket is full, not wrapped. */
	cr_assert_eq(rl_consume(&rl, UINT64_MAX, INT64_MAX, 1), 0);
	/* Debt saturates instead of wrapping. */
	for (int i = 0; i < 4; i++)
		rl_force(&rl, UINT64_MAX, UINT64_MAX, UINT64_MAX);
	cr_assert_eq(rl.bw.budget, -INT64_MAX);
	cr_assert_eq(rl.ops.budget, -INT64_MAX);
	w = rl_wait(&rl, UINT64_MAX, 1, 0);
	cr_assert_geq(w, 1ULL << 62, "2^63 tokens of debt at 2^63 per 2^62 ns");
	/* A wait beyond 2^64 ns is capped: one token per 146 years, deep in debt. */
	c = (struct rl_config){ .bw = { 1, 0, UINT64_MAX } };
	rl_init(&rl, &c, 0);
	rl_force(&rl, 0, UINT64_MAX, 0);
	cr_assert_eq(rl_wait(&rl, 0, 1, 0), UINT64_MAX);
	/* The fastest refill: 1 token per ms, a 2^64 ns jump fills it exactly. */
	c = (struct rl_config){ .bw = { 1, 0, 1 } };
	rl_init(&rl, &c, 0);
	rl_force(&rl, 0, INT64_MAX, 0);
	rl_bucket_refill(&rl.bw, UINT64_MAX);
	cr_assert_eq(rl.bw.budget, 1 - INT64_MAX + (int64_t)(UINT64_MAX / MS));
	/* A refill time that does not fit in ns is capped, not wrapped. */
	c = (struct rl_config){ .bw = { 10, 0, UINT64_MAX } };
	rl_init(&rl, &c, 0);
	cr_assert_eq(rl.bw.period_ns, 1ULL << 62);
}

/* A group: one limiter under one id, shared by threads that all take single tokens from it
 * at a clock that stands still: exactly size tokens pass in all. */
struct taker {
	struct rl_group *g;
	unsigned int taken;
};

static void *take_all(void *opaque)
{
	struct taker *t = opaque;

	for (int i = 0; i < 100000; i++)
		if (!rl_group_consume(t->g, 1, 1, 1))
			t->taken++;
	return NULL;
}

Test(ratelimit, groups_are_shared_by_id_and_thread_safe)
{
	struct rl_config c = { .bw = { 50000, 0, 1000 }, .ops = { 1000000, 0, 1000 } };
	struct rl_config other = bw(1, 0, 1);
	struct rl_group *a = rl_group_get("g0", &c, 1), *b = rl_group_get("g0", &other, 1);
	struct rl_group *x = rl_group_get("g1", &other, 1);
	struct taker t[4];
	pthread_t th[4];
	unsigned int sum = 0;

	cr_assert_not_null(a);
	cr_assert_eq(a, b, "the same id is the same limiter");
	cr_assert_neq(a, x);
	cr_assert_str_eq(rl_group_id(a), "g0");
	for (int i = 0; i < 4; i++) {
		t[i] = (struct taker){ .g = a };
		cr_assert_eq(pthread_create(&th[i], NULL, take_all, &t[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		sum += t[i].taken;
	}
	cr_assert_eq(sum, 50000, "got %u", sum);
	cr_assert_eq(rl_group_wait(a, 1 + SEC, 50000, 0), 0, "refilled after 1 s");
	rl_group_put(b);
	rl_group_put(a);
	/* The last reference gone, the id starts afresh with the limits given now. */
	a = rl_group_get("g0", &other, 1);
	cr_assert_eq(rl_group_consume(a, 1, 1, 0), 0);
	cr_assert_neq(rl_group_consume(a, 1, 1, 0), 0, "size 1 now, not 50000");
	rl_group_put(a);
	rl_group_put(x);
}
