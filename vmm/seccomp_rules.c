/*
 * The seccomp allowlists of kvmm's threads, and how libseccomp builds each into a filter
 * (seccomp.h; docs/security.md for what each kind does and why it needs what it has). A native
 * build runs this at build time only (tools/seccomp-gen.c, and the unit test that checks its
 * output), so kvmm itself does not link libseccomp; a cross build, whose build machine would
 * resolve the wrong architecture's syscalls, links it and builds each filter when it loads it.
 *
 * Syscalls are named, not numbered: libseccomp resolves each name for the architecture the
 * filter is built on, and a name that architecture lacks (open, poll, epoll_wait on aarch64)
 * is skipped. The lists name what kvmm's code calls and what glibc makes of it: malloc ->
 * brk/mmap/munmap/mprotect/madvise, stat -> newfstatat, poll -> ppoll on aarch64,
 * pthread_create -> clone3 (clone when clone3 is missing), rseq and set_robust_list in the new
 * thread, pthread_kill and abort -> tgkill, the vDSO's clock_gettime falling back to the
 * syscall. ioctl is allowed by request number; socket only for AF_UNIX; prctl only for what
 * kvmm and libseccomp use.
 */
#define _GNU_SOURCE
#define KVMM_SECCOMP_WANT_LIBSECCOMP
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/filter.h>
#include <linux/fs.h>
#include <linux/seccomp.h>
#include <linux/if_tun.h>
#include <linux/kvm.h>
#include <linux/sockios.h>

/* vmm/seccomp.h, found on the include path so that it can bring in libseccomp's header of the
 * same name after it (#include_next). */
#include <seccomp.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Every thread: memory (malloc), locks, time, signals, its own end, plain fd I/O, logging. */
static const char *const common_calls[] = {
	"brk", "mmap", "munmap", "mprotect", "madvise", "mremap",
	"futex", "set_robust_list", "rseq", "sched_yield", "getrandom",
	"clock_gettime", "gettimeofday", "clock_nanosleep", "nanosleep",
	"rt_sigreturn", "rt_sigprocmask", "sigaltstack", "restart_syscall",
	"getpid", "gettid", "tgkill",
	"exit", "exit_group",
	"read", "readv", "write", "writev", "close", "fcntl", "lseek",
	"fstat", "newfstatat", "statx",
	"epoll_ctl", "epoll_wait", "epoll_pwait", "poll", "ppoll",
	"eventfd2", "timerfd_settime", "timerfd_gettime",
};

/*
 * vcpuN. Besides KVM_RUN, its exits run device emulation: virtio status writes activate a
 * device (vhost-user messages with fds, the vsock listening socket, ioeventfds, irqfds, MSI
 * routes, TAP offloads) or reset it (stopping those again), the serial port writes the
 * console, a stop or eject request wakes the VM's loop through an eventfd.
 */
static const char *const vcpu_calls[] = {
	"socket", "bind", "listen", "connect", "accept4", "shutdown", "setsockopt",
	"getsockopt", "sendmsg", "recvmsg", "sendto", "recvfrom", "unlink", "timerfd_create",
	"stat", "lstat",
};

/* virtio-<id>: the device's queues and its host side (disk image, TAP, vsock's Unix sockets,
 * the vhost-user back-end's socket). */
static const char *const worker_calls[] = {
	"pread64", "pwrite64", "preadv", "pwritev", "preadv2", "pwritev2",
	"fsync", "fdatasync", "fallocate",
	"socket", "connect", "accept", "accept4", "shutdown", "getsockopt", "setsockopt",
	"sendmsg", "recvmsg", "sendto", "recvfrom",
};

/*
 * The main thread, the API server and the VM thread: they build VMs (open files, guest RAM,
 * KVM's VM and vCPUs, devices, threads), hot-plug devices, CPUs and memory, and tear it all
 * down again. libseccomp's own calls (seccomp, prctl) are here: new threads load their
 * filters under this one.
 */
static const char *const vmm_calls[] = {
	"open", "openat", "stat", "lstat", "access", "faccessat", "faccessat2", "readlink",
	"readlinkat", "statfs", "fstatfs", "getdents64", "umask", "unlink", "unlinkat",
	"pread64", "pwrite64", "preadv", "pwritev", "fsync", "fdatasync", "fallocate",
	"ftruncate", "memfd_create", "flock", "dup", "dup3", "pipe2", "sendfile",
	"socket", "socketpair", "bind", "listen", "accept", "accept4", "connect", "shutdown",
	"getsockopt", "setsockopt", "getsockname", "getpeername",
	"sendmsg", "recvmsg", "sendto", "recvfrom",
	"epoll_create1", "epoll_pwait2", "signalfd4", "timerfd_create",
	"clone", "clone3", "rt_sigaction", "rt_sigtimedwait", "sched_getaffinity",
	"sysinfo", "uname", "prlimit64", "getuid", "geteuid", "getgid", "getegid",
	"seccomp",
};

/*
 * Only in a sanitizer build (the unit tests' ASan+UBSan run): LeakSanitizer stops the world at
 * exit with a clone()d tracer that ptrace()s every thread and waits for them, after prctl()s
 * that let it. The VMM filter, under which exit() runs, lets it do that there; a release
 * build never allows ptrace.
 */
#if defined(__SANITIZE_ADDRESS__)
#define KVMM_SANITIZER_BUILD 1
static const char *const sanitizer_calls[] = { "ptrace", "wait4", "waitid", "getppid", "kill",
						"getdents" };
#else
#define KVMM_SANITIZER_BUILD 0
static const char *const sanitizer_calls[] = { "ptrace" };	/* unused */
#endif

/* Terminal and fd-flag ioctls glibc issues (isatty, tcgetattr/tcsetattr, FIONBIO). */
static const unsigned long common_ioctls[] = { TCGETS, FIONBIO, FIOCLEX };

static const unsigned long vcpu_ioctls[] = {
	KVM_RUN, KVM_GET_REGS, KVM_GET_SREGS, KVM_CHECK_EXTENSION,
	KVM_IRQ_LINE, KVM_IRQFD, KVM_IOEVENTFD, KVM_SET_GSI_ROUTING, KVM_SIGNAL_MSI,
#ifdef __x86_64__
	KVM_GET_VCPU_EVENTS, KVM_GET_LAPIC,
#endif
	KVM_GET_ONE_REG, KVM_GET_MP_STATE,
	/* virtio-net's activation: offloads and the TAP's MTU (on an AF_UNIX socket). */
	TUNSETOFFLOAD, TUNSETVNETHDRSZ, SIOCGIFMTU,
};

/* A device's interrupt line: a virtio-pci function whose driver left MSI-X off (INTx)
 * interrupts from the device's worker through KVM_IRQ_LINE (vm_irq_line()). */
static const unsigned long worker_ioctls[] = { KVM_IRQ_LINE };

static const unsigned long vmm_ioctls[] = {
	KVM_GET_API_VERSION, KVM_CREATE_VM, KVM_CHECK_EXTENSION, KVM_GET_VCPU_MMAP_SIZE,
	KVM_CREATE_VCPU, KVM_SET_USER_MEMORY_REGION, KVM_CREATE_IRQCHIP, KVM_IRQ_LINE,
	KVM_SET_GSI_ROUTING, KVM_IRQFD, KVM_IOEVENTFD, KVM_SIGNAL_MSI,
	KVM_REGISTER_COALESCED_MMIO, KVM_UNREGISTER_COALESCED_MMIO, KVM_ENABLE_CAP,
	KVM_CREATE_DEVICE, KVM_SET_DEVICE_ATTR, KVM_GET_DEVICE_ATTR, KVM_HAS_DEVICE_ATTR,
	KVM_GET_REGS, KVM_SET_REGS, KVM_GET_SREGS, KVM_SET_SREGS, KVM_GET_MP_STATE,
	KVM_SET_MP_STATE, KVM_GET_ONE_REG, KVM_SET_ONE_REG, KVM_GET_REG_LIST,
#ifdef __x86_64__
	KVM_GET_SUPPORTED_CPUID, KVM_SET_CPUID2, KVM_SET_TSS_ADDR, KVM_SET_IDENTITY_MAP_ADDR,
	KVM_CREATE_PIT2, KVM_GET_FPU, KVM_SET_FPU, KVM_GET_MSRS, KVM_SET_MSRS,
	KVM_GET_MSR_INDEX_LIST, KVM_GET_LAPIC, KVM_SET_LAPIC, KVM_GET_VCPU_EVENTS,
	KVM_SET_VCPU_EVENTS, KVM_GET_XCRS, KVM_SET_XCRS,
#endif
#ifdef __aarch64__
	KVM_ARM_PREFERRED_TARGET, KVM_ARM_VCPU_INIT,
#endif
	TUNSETIFF, TUNGETIFF, TUNSETOFFLOAD, TUNSETVNETHDRSZ, TUNGETFEATURES,
	SIOCGIFMTU, SIOCGIFINDEX, BLKGETSIZE64, TCSETS, TCSETSW, TCSETSF,
};

struct allowlist {
	const char *const *calls;
	unsigned int nr_calls;
	const unsigned long *ioctls;
	unsigned int nr_ioctls;
	bool sockets;			/* socket(AF_UNIX, ...) */
	bool seccomp_prctl;		/* prctl for libseccomp (a thread that starts threads) */
};

static const struct allowlist lists[SECCOMP_NR_THREADS] = {
	[SECCOMP_VMM] = { vmm_calls, ARRAY_SIZE(vmm_calls),
			  vmm_ioctls, ARRAY_SIZE(vmm_ioctls), true, true },
	[SECCOMP_VCPU] = { vcpu_calls, ARRAY_SIZE(vcpu_calls),
			   vcpu_ioctls, ARRAY_SIZE(vcpu_ioctls), true, false },
	[SECCOMP_WORKER] = { worker_calls, ARRAY_SIZE(worker_calls),
			     worker_ioctls, ARRAY_SIZE(worker_ioctls), true, false },
};

/* Adds an unconditional allow for NAME unless this architecture has no such syscall.
 * 1 added, 0 skipped, or -errno. */
static int allow_name(scmp_filter_ctx ctx, const char *name)
{
	int nr = seccomp_syscall_resolve_name(name);

	if (nr < 0)
		return 0;	/* __NR_SCMP_ERROR, or a pseudo-syscall this arch lacks */
	return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0) ?: 1;
}

/* The ioctl request is an unsigned int to the kernel: compare the low 32 bits only, as the
 * kernel sees them, so junk in the upper half can neither pass nor fail a rule. */
static int allow_ioctl(scmp_filter_ctx ctx, unsigned long req)
{
	return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
				SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffULL, (uint32_t)req));
}

/* Whether NAME is among the first N of NAMES. */
static bool listed(const char *const *names, unsigned int n, const char *name)
{
	for (unsigned int i = 0; i < n; i++)
		if (!strcmp(names[i], name))
			return true;
	return false;
}

static bool listed_ioctl(const unsigned long *reqs, unsigned int n, unsigned long req)
{
	for (unsigned int i = 0; i < n; i++)
		if (reqs[i] == req)
			return true;
	return false;
}

/*
 * Builds KIND's rules into CTX (or, with CTX NULL, only counts them). A VMM thread's filter
 * also takes in everything the vCPU and worker lists allow: those threads run under it too,
 * their own filter stacked on top, so it must never refuse what theirs allows.
 */
static int add_rules(scmp_filter_ctx ctx, enum seccomp_thread kind, unsigned int *nr_calls,
		     unsigned int *nr_ioctls)
{
	const struct allowlist *l = &lists[kind];
	const struct allowlist *parts[SECCOMP_NR_THREADS];
	unsigned int nparts = 0;
	const char *names[256];
	unsigned long reqs[128];
	unsigned int nn = 0, nr = 0;
	int ret;

	parts[nparts++] = l;
	if (kind == SECCOMP_VMM) {
		parts[nparts++] = &lists[SECCOMP_VCPU];
		parts[nparts++] = &lists[SECCOMP_WORKER];
	}
	/* socket has its own rule below (AF_UNIX only). */
	for (unsigned int i = 0; i < ARRAY_SIZE(common_calls); i++)
		names[nn++] = common_calls[i];
	for (unsigned int i = 0; KVMM_SANITIZER_BUILD && kind == SECCOMP_VMM &&
	     i < ARRAY_SIZE(sanitizer_calls); i++)
		names[nn++] = sanitizer_calls[i];
	for (unsigned int p = 0; p < nparts; p++)
		for (unsigned int i = 0; i < parts[p]->nr_calls; i++)
			if (strcmp(parts[p]->calls[i], "socket") &&
			    !listed(names, nn, parts[p]->calls[i]) && nn < ARRAY_SIZE(names))
				names[nn++] = parts[p]->calls[i];
	/* KVM_RUN first: it is the vCPU's syscall on every exit, and a filter compares the
	 * requests in order (both the VMM filter and the vCPU's own run on a vCPU thread). */
	if (kind != SECCOMP_WORKER)
		reqs[nr++] = KVM_RUN;
	for (unsigned int i = 0; i < ARRAY_SIZE(common_ioctls); i++)
		reqs[nr++] = common_ioctls[i];
	for (unsigned int p = 0; p < nparts; p++)
		for (unsigned int i = 0; i < parts[p]->nr_ioctls; i++)
			if (!listed_ioctl(reqs, nr, parts[p]->ioctls[i]) && nr < ARRAY_SIZE(reqs))
				reqs[nr++] = parts[p]->ioctls[i];

	*nr_calls = *nr_ioctls = 0;
	for (unsigned int i = 0; i < nn; i++) {
		if (!ctx) {
			*nr_calls += seccomp_syscall_resolve_name(names[i]) >= 0;
			continue;
		}
		ret = allow_name(ctx, names[i]);
		if (ret < 0)
			return ret;
		*nr_calls += (unsigned int)ret;
	}
	/* glibc opens /proc/sys/vm/overcommit_memory once, on whichever thread first shrinks a
	 * malloc arena, and copes with a refusal: on vCPU and worker threads opening is refused,
	 * not fatal. */
	for (unsigned int i = 0; ctx && kind != SECCOMP_VMM && i < 2; i++) {
		int sys = seccomp_syscall_resolve_name(i ? "open" : "openat");

		if (sys >= 0 && (ret = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), sys, 0)))
			return ret;
	}
	if (l->sockets) {
		(*nr_calls)++;
		if (ctx && (ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1,
						   SCMP_A0(SCMP_CMP_EQ, AF_UNIX))))
			return ret;
	}
	/* pthread_setname_np() on itself; libseccomp's own prctls when it loads a filter. */
	(*nr_calls)++;
	if (ctx && (ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(prctl), 1,
					   SCMP_A0(SCMP_CMP_EQ, PR_SET_NAME))))
		return ret;
	if (ctx && l->seccomp_prctl) {
		static const int ops[] = { PR_GET_NAME, PR_SET_NO_NEW_PRIVS, PR_GET_NO_NEW_PRIVS,
					   PR_SET_SECCOMP, PR_GET_SECCOMP,
					   /* LeakSanitizer's tracer (sanitizer builds only) */
					   PR_SET_PTRACER, PR_SET_DUMPABLE, PR_GET_DUMPABLE,
					   PR_SET_PDEATHSIG };
		unsigned int nops = KVMM_SANITIZER_BUILD ? ARRAY_SIZE(ops) : 5;

		for (unsigned int i = 0; i < nops; i++)
			if ((ret = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(prctl), 1,
						    SCMP_A0(SCMP_CMP_EQ, ops[i]))))
				return ret;
	}
	(*nr_calls)++;		/* ioctl */
	for (unsigned int i = 0; i < nr; i++) {
		if (ctx && (ret = allow_ioctl(ctx, reqs[i])))
			return ret;
		(*nr_ioctls)++;
	}
	return 0;
}

unsigned int seccomp_rules_count(enum seccomp_thread kind, unsigned int *ioctls)
{
	unsigned int calls = 0, req = 0;

	if (kind < SECCOMP_NR_THREADS)
		add_rules(NULL, kind, &calls, &req);
	if (ioctls)
		*ioctls = req;
	return calls;
}

/*
 * KIND's filter with action ACT for what it does not allow, into *CTX; 0, or -errno with the
 * step that failed in *STEP. The caller releases *CTX either way.
 */
static int filter_build(enum seccomp_thread kind, uint32_t act, scmp_filter_ctx *ctx,
			const char **step)
{
	unsigned int calls, ioctls;
	int ret;

	*step = "seccomp_init";
	*ctx = seccomp_init(act);
	if (!*ctx)
		return -ENOMEM;
	*step = "setting the filter's attributes";
	/* A binary tree of syscall numbers rather than a chain (libseccomp then ignores syscall
	 * priorities): any syscall is found in about eight comparisons, KVM_RUN's ioctl a few
	 * more than when it led the chain, and the kernel, which runs a new filter for every
	 * syscall number when it loads it (its cache of always-allowed calls), loads it in
	 * about 0.17 ms instead of 0.25. */
	ret = seccomp_attr_set(*ctx, SCMP_FLTATR_ACT_BADARCH, act) ?:
	      seccomp_attr_set(*ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
	if (!ret) {
		*step = "adding the allowlist's rules";
		ret = add_rules(*ctx, kind, &calls, &ioctls);
	}
	return ret;
}

/* What a syscall outside KIND's allowlist meets in MODE. */
static uint32_t mode_action(enum kvmm_seccomp mode)
{
	return mode == KVMM_SECCOMP_LOG ? SCMP_ACT_LOG : SCMP_ACT_KILL_PROCESS;
}

int seccomp_rules_export(enum seccomp_thread kind, enum kvmm_seccomp mode, int fd)
{
	scmp_filter_ctx ctx = NULL;
	const char *step;
	int ret;

	if (kind >= SECCOMP_NR_THREADS || mode == KVMM_SECCOMP_OFF)
		return -EINVAL;
	ret = filter_build(kind, mode_action(mode), &ctx, &step);
	if (!ret)
		ret = seccomp_export_bpf(ctx, fd);
	if (ctx)
		seccomp_release(ctx);
	return ret;
}

int seccomp_rules_load(enum seccomp_thread kind, enum kvmm_seccomp mode, char *why,
		       unsigned long whylen)
{
	scmp_filter_ctx ctx = NULL;
	const char *step;
	int ret;

	if (kind >= SECCOMP_NR_THREADS || mode == KVMM_SECCOMP_OFF)
		return -EINVAL;
	/* KILL_PROCESS and LOG need libseccomp API level 3 (kernel 4.14). */
	if (seccomp_api_get() < 3) {
		if (why)
			snprintf(why, whylen, "the kernel (or libseccomp) lacks SECCOMP_RET_%s, "
				 "which needs Linux 4.14 (libseccomp API level %u, need 3)",
				 mode == KVMM_SECCOMP_LOG ? "LOG" : "KILL_PROCESS",
				 seccomp_api_get());
		return -ENOTSUP;
	}
	ret = filter_build(kind, mode_action(mode), &ctx, &step);
	if (!ret) {
		step = "loading the filter";
		ret = seccomp_load(ctx);
	}
	if (ctx)
		seccomp_release(ctx);
	if (ret && why)
		snprintf(why, whylen, "%s thread filter: %s: %s", seccomp_thread_name(kind), step,
			 strerror(-ret));
	return ret;
}
