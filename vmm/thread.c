/* Starting kvmm's threads with a small stack and their seccomp filter (thread.h says why). */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "log.h"
#include "thread.h"

struct thread_start {
	void *(*fn)(void *);
	void *arg;
	enum seccomp_thread kind;
};

/* The new thread's first steps: its own filter, then its function. */
static void *thread_main(void *opaque)
{
	struct thread_start s = *(struct thread_start *)opaque;
	char why[256];

	free(opaque);
	if (seccomp_filter_install(s.kind, why, sizeof(why))) {
		pr_err("seccomp: %s", why);
		_exit(1);
	}
	return s.fn(s.arg);
}

static int thread_create(pthread_t *thread, void *(*fn)(void *), void *arg)
{
	pthread_attr_t attr;
	int ret;

	ret = pthread_attr_init(&attr);
	if (ret)
		return -ret;
	ret = pthread_attr_setstacksize(&attr, KVMM_THREAD_STACK);
	if (!ret)
		ret = pthread_create(thread, &attr, fn, arg);
	pthread_attr_destroy(&attr);
	return -ret;
}

int kvmm_thread_create(pthread_t *thread, void *(*fn)(void *), void *arg)
{
	return thread_create(thread, fn, arg);
}

int kvmm_thread_create_kind(pthread_t *thread, enum seccomp_thread kind,
			    void *(*fn)(void *), void *arg)
{
	struct thread_start *s;
	int ret;

	if (seccomp_mode_get() == KVMM_SECCOMP_OFF)
		return thread_create(thread, fn, arg);
	s = malloc(sizeof(*s));
	if (!s)
		return -ENOMEM;
	*s = (struct thread_start){ .fn = fn, .arg = arg, .kind = kind };
	ret = thread_create(thread, thread_main, s);
	if (ret)
		free(s);
	return ret;
}
