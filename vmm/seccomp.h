/*
 * kvmm's seccomp confinement (--seccomp, docs/security.md): one syscall allowlist per kind of
 * thread, which each thread installs on itself (no TSYNC) when it starts. The main thread
 * installs the VMM filter before it serves the API socket or builds the VM; every thread it
 * creates inherits that filter, and vCPU and device worker threads then add their own stricter
 * one (kvmm_thread_create_kind()). Filters stack, so a thread can only ever lose syscalls.
 */
#ifndef KVMM_SECCOMP_H
#define KVMM_SECCOMP_H

/* What a syscall outside the allowlist does: --seccomp false | true | log. */
enum kvmm_seccomp {
	KVMM_SECCOMP_OFF,	/* no filter */
	KVMM_SECCOMP_KILL,	/* the default: SIGSYS ends the whole process */
	KVMM_SECCOMP_LOG,	/* the kernel logs it (audit type=1326) and lets it run */
};

/* The kinds of kvmm threads, each with its own allowlist. */
enum seccomp_thread {
	SECCOMP_VMM,		/* main thread, API server, the VM thread (vm.boot) */
	SECCOMP_VCPU,		/* vcpuN: KVM_RUN and the device emulation its exits reach */
	SECCOMP_WORKER,		/* virtio-<id>: a device's queue and host-side I/O */
	SECCOMP_NR_THREADS,
};

/* "true", "false" or "log" (NULL: the default, true); 0 or -EINVAL. */
int seccomp_mode_parse(const char *s, enum kvmm_seccomp *mode);

/* The mode threads install their filters with; set once, before the first filter. */
void seccomp_mode_set(enum kvmm_seccomp mode);
enum kvmm_seccomp seccomp_mode_get(void);

/*
 * Installs KIND's filter on the calling thread, in the mode seccomp_mode_set() chose (nothing
 * when it is off). 0, or -errno with a sentence on why in WHY (WHYLEN bytes; may be NULL).
 */
int seccomp_filter_install(enum seccomp_thread kind, char *why, unsigned long whylen);

/* How many syscalls KIND's allowlist lets through on this architecture (ioctl counted once),
 * and in *IOCTLS how many ioctl requests; for the log and the tests. */
unsigned int seccomp_filter_size(enum seccomp_thread kind, unsigned int *ioctls);

/* The filter of KIND for MODE (KILL or LOG) built with kvmm (tools/seccomp-gen.c), which
 * seccomp_filter_install() loads: *PROG, *LEN instructions. -ENOENT in a cross build, which
 * builds filters when it loads them. */
struct sock_filter;
int seccomp_prebuilt(enum seccomp_thread kind, enum kvmm_seccomp mode,
		     const struct sock_filter **prog, unsigned int *len);

/*
 * The allowlists, and libseccomp building them (vmm/seccomp_rules.c): linked into the
 * generator and the unit test of a native build, into kvmm itself only in a cross build.
 */

/* seccomp_filter_size() counted from the lists, through libseccomp's syscall table. */
unsigned int seccomp_rules_count(enum seccomp_thread kind, unsigned int *ioctls);

/* Exports KIND's filter for MODE (KILL: KILL_PROCESS for what it does not allow; LOG: LOG) as
 * raw BPF to FD, as libseccomp builds it here. 0 or -errno. */
int seccomp_rules_export(enum seccomp_thread kind, enum kvmm_seccomp mode, int fd);

/* Builds KIND's filter for MODE and loads it on the calling thread; 0, or -errno with a
 * sentence on why in WHY (WHYLEN bytes; may be NULL). */
int seccomp_rules_load(enum seccomp_thread kind, enum kvmm_seccomp mode, char *why,
		       unsigned long whylen);

/* "vmm", "vcpu", "worker". */
const char *seccomp_thread_name(enum seccomp_thread kind);

/*
 * This header shares its name with libseccomp's, and vmm/ comes first on the include path:
 * vmm/seccomp_rules.c reaches libseccomp's <seccomp.h> through here.
 */
#ifdef KVMM_SECCOMP_WANT_LIBSECCOMP
#include_next <seccomp.h>
#endif

#endif
