/*
 * Tests for vmm/thread.c: the threads kvmm starts get a KVMM_THREAD_STACK stack, below the
 * 2 MiB a transparent huge page needs, and run their function with its argument.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <pthread.h>

#include "thread.h"

struct probe {
	int arg;
	size_t stack;
	int ret;
};

static void *probe_main(void *opaque)
{
	struct probe *p = opaque;
	pthread_attr_t attr;
	void *addr;

	p->ret = pthread_getattr_np(pthread_self(), &attr);
	if (!p->ret) {
		p->ret = pthread_attr_getstack(&attr, &addr, &p->stack);
		pthread_attr_destroy(&attr);
	}
	p->arg *= 2;
	return p;
}

Test(thread, small_stack_and_argument)
{
	struct probe p = { .arg = 21 };
	pthread_t t;
	void *res;

	cr_assert_eq(kvmm_thread_create(&t, probe_main, &p), 0);
	cr_assert_eq(pthread_join(t, &res), 0);
	cr_assert_eq(res, &p);
	cr_assert_eq(p.ret, 0);
	cr_assert_eq(p.arg, 42);
	cr_assert_geq(p.stack, KVMM_THREAD_STACK);
	cr_assert_lt(p.stack, 2u << 20, "a stack of %zu bytes can hold a 2 MiB huge page", p.stack);
}
