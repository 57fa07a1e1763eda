/*
 * Installing kvmm's seccomp filters (seccomp.h; docs/security.md). A native build loads the
 * filters tools/seccomp-gen.c built from vmm/seccomp_rules.c's allowlists when kvmm was built,
 * one per kind of thread and mode, straight into the kernel: no libseccomp at run time, and no
 * millisecond of building per thread. A cross build builds each filter when it loads it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/filter.h>
#include <linux/seccomp.h>

#include "seccomp.h"

static const char *const thread_names[SECCOMP_NR_THREADS] = {
	[SECCOMP_VMM] = "vmm",
	[SECCOMP_VCPU] = "vcpu",
	[SECCOMP_WORKER] = "worker",
};

static enum kvmm_seccomp seccomp_mode = KVMM_SECCOMP_OFF;

int seccomp_mode_parse(const char *s, enum kvmm_seccomp *mode)
{
	if (!s || !strcmp(s, "true"))
		*mode = KVMM_SECCOMP_KILL;
	else if (!strcmp(s, "false"))
		*mode = KVMM_SECCOMP_OFF;
	else if (!strcmp(s, "log"))
		*mode = KVMM_SECCOMP_LOG;
	else
		return -EINVAL;
	return 0;
}

void seccomp_mode_set(enum kvmm_seccomp mode)
{
	__atomic_store_n(&seccomp_mode, mode, __ATOMIC_RELEASE);
}

enum kvmm_seccomp seccomp_mode_get(void)
{
	return __atomic_load_n(&seccomp_mode, __ATOMIC_ACQUIRE);
}

const char *seccomp_thread_name(enum seccomp_thread kind)
{
	return kind < SECCOMP_NR_THREADS ? thread_names[kind] : "?";
}

#ifdef KVMM_SECCOMP_PREBUILT
/* seccomp_bpf_kill[KIND], seccomp_bpf_log[KIND] and seccomp_bpf_size[KIND]: what
 * tools/seccomp-gen.c had libseccomp build from the allowlists. */
#include "seccomp_bpf.h"

int seccomp_prebuilt(enum seccomp_thread kind, enum kvmm_seccomp mode,
		     const struct sock_filter **prog, unsigned int *len)
{
	if (kind >= SECCOMP_NR_THREADS || mode == KVMM_SECCOMP_OFF)
		return -EINVAL;
	*prog = mode == KVMM_SECCOMP_LOG ? seccomp_bpf_log[kind].prog : seccomp_bpf_kill[kind].prog;
	*len = mode == KVMM_SECCOMP_LOG ? seccomp_bpf_log[kind].len : seccomp_bpf_kill[kind].len;
	return 0;
}

unsigned int seccomp_filter_size(enum seccomp_thread kind, unsigned int *ioctls)
{
	if (kind >= SECCOMP_NR_THREADS) {
		if (ioctls)
			*ioctls = 0;
		return 0;
	}
	if (ioctls)
		*ioctls = seccomp_bpf_size[kind].ioctls;
	return seccomp_bpf_size[kind].calls;
}
#else
int seccomp_prebuilt(enum seccomp_thread kind, enum kvmm_seccomp mode,
		     const struct sock_filter **prog, unsigned int *len)
{
	(void)kind;
	(void)mode;
	*prog = NULL;
	*len = 0;
	return -ENOENT;		/* a cross build (or the generator): built when loaded */
}

unsigned int seccomp_filter_size(enum seccomp_thread kind, unsigned int *ioctls)
{
	return seccomp_rules_count(kind, ioctls);
}
#endif

#ifdef KVMM_SECCOMP_PREBUILT
/* Loads PROG (LEN instructions) on the calling thread as libseccomp's seccomp_load() would
 * with kvmm's attributes: no_new_privs, then the filter, no flags. 0 or -errno. */
static int load_prebuilt(const struct sock_filter *prog, unsigned int len)
{
	struct sock_fprog fprog = { .len = (unsigned short)len,
				    .filter = (struct sock_filter *)prog };

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		return -errno;
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &fprog))
		return -errno;
	return 0;
}

/* Loads KIND's filter for MODE as it was built with kvmm. */
static int install_prebuilt(enum seccomp_thread kind, enum kvmm_seccomp mode, char *why,
			    unsigned long whylen)
{
	uint32_t act = mode == KVMM_SECCOMP_LOG ? SECCOMP_RET_LOG : SECCOMP_RET_KILL_PROCESS;
	const struct sock_filter *prog;
	unsigned int len;
	int ret;

	ret = seccomp_prebuilt(kind, mode, &prog, &len);
	if (ret)
		return ret;
	/* One question to the kernel instead of libseccomp's probing: has it the action? */
	if (syscall(SYS_seccomp, SECCOMP_GET_ACTION_AVAIL, 0, &act)) {
		if (why)
			snprintf(why, whylen, "the kernel lacks SECCOMP_RET_%s, which needs Linux "
				 "4.14 (%s)", mode == KVMM_SECCOMP_LOG ? "LOG" : "KILL_PROCESS",
				 strerror(errno));
		return -ENOTSUP;
	}
	ret = load_prebuilt(prog, len);
	if (ret && why)
		snprintf(why, whylen, "%s thread filter: loading the filter built with kvmm: %s",
			 seccomp_thread_name(kind), strerror(-ret));
	return ret;
}
#endif

int seccomp_filter_install(enum seccomp_thread kind, char *why, unsigned long whylen)
{
	enum kvmm_seccomp mode = seccomp_mode_get();

	if (mode == KVMM_SECCOMP_OFF)
		return 0;
	if (kind >= SECCOMP_NR_THREADS)
		return -EINVAL;
#ifdef KVMM_SECCOMP_PREBUILT
	return install_prebuilt(kind, mode, why, whylen);
#else
	return seccomp_rules_load(kind, mode, why, whylen);	/* a cross build */
#endif
}
