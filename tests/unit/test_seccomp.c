/*
 * Tests for vmm/seccomp.c and the --seccomp option: in a forked child, each kind of thread's
 * filter lets an allowed syscall through and kills the process with SIGSYS on a forbidden one
 * (execve, ptrace, mount, an ioctl the vCPU threads never issue); with --seccomp log the
 * child lives on; a thread started with kvmm_thread_create_kind() is confined too.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/filter.h>
#include <linux/kvm.h>
#include <linux/seccomp.h>

#include "config.h"
#include "seccomp.h"
#include "thread.h"

enum forbidden { DO_NOTHING, DO_EXECVE, DO_PTRACE, DO_MOUNT, DO_KVM_CREATE_VM };

/*
 * Forks a child that installs KIND's filter in MODE (on top of the VMM filter, as kvmm's
 * threads do), checks that an allowed syscall
 * (getpid, write to a pipe, ioctl KVM_IRQ_LINE and for a vCPU thread KVM_RUN on a bad fd:
 * EBADF) works,
 * then does WHAT. Returns the child's wait status.
 */
static int run_child(enum seccomp_thread kind, enum kvmm_seccomp mode, enum forbidden what)
{
	int fds[2], status;
	pid_t pid;

	cr_assert_eq(pipe(fds), 0);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		char *argv[] = { "/bin/true", NULL };

		close(fds[0]);
		seccomp_mode_set(mode);
		/* As in kvmm: a vCPU or worker thread adds its filter to the VMM one. */
		if ((kind != SECCOMP_VMM && seccomp_filter_install(SECCOMP_VMM, NULL, 0)) ||
		    seccomp_filter_install(kind, NULL, 0))
			_exit(10);
		if (getpid() <= 0 || write(fds[1], "k", 1) != 1)
			_exit(11);
		if (kind == SECCOMP_VCPU && (ioctl(-1, KVM_RUN, 0) != -1 || errno != EBADF))
			_exit(12);
		/* Every kind raises INTx lines: a virtio-pci function without MSI-X interrupts
		 * from its device worker (found by the lab's hostile guest). */
		if (ioctl(-1, KVM_IRQ_LINE, 0) != -1 || errno != EBADF)
			_exit(14);
		/* Opening a file is refused on vCPU and worker threads, not fatal. */
		if (kind != SECCOMP_VMM && mode == KVMM_SECCOMP_KILL &&
		    (open("/dev/null", O_RDONLY) != -1 || errno != EACCES))
			_exit(13);
		switch (what) {
		case DO_NOTHING:
			break;
		case DO_EXECVE:
			execve(argv[0], argv, NULL);
			break;
		case DO_PTRACE:
			ptrace(PTRACE_TRACEME, 0, NULL, NULL);
			break;
		case DO_MOUNT:
			mount("none", "/nonexistent", "tmpfs", 0, NULL);
			break;
		case DO_KVM_CREATE_VM:
			ioctl(-1, KVM_CREATE_VM, 0);
			break;
		}
		_exit(0);
	}
	close(fds[1]);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	close(fds[0]);
	return status;
}

static void assert_killed(int status, const char *what)
{
	cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS,
		  "%s: the child should die of SIGSYS, status 0x%x", what, status);
}

static void assert_survived(int status, const char *what)
{
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		  "%s: the child should exit 0, status 0x%x", what, status);
}

Test(seccomp, every_kind_allows_its_calls_and_kills_on_forbidden_ones)
{
	static const struct { enum forbidden what; const char *name; } bad[] = {
		{ DO_EXECVE, "execve" }, { DO_PTRACE, "ptrace" }, { DO_MOUNT, "mount" },
	};

	for (unsigned int k = 0; k < SECCOMP_NR_THREADS; k++) {
		char what[64];

		snprintf(what, sizeof(what), "%s: allowed calls", seccomp_thread_name(k));
		assert_survived(run_child(k, KVMM_SECCOMP_KILL, DO_NOTHING), what);
		for (unsigned int i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
#if defined(__SANITIZE_ADDRESS__)
			/* A sanitizer build lets the VMM thread ptrace (LeakSanitizer's tracer at
			 * exit, vmm/seccomp.c); a release build never does. */
			if (k == SECCOMP_VMM && bad[i].what == DO_PTRACE)
				continue;
#endif
			snprintf(what, sizeof(what), "%s: %s", seccomp_thread_name(k), bad[i].name);
			assert_killed(run_child(k, KVMM_SECCOMP_KILL, bad[i].what), what);
		}
	}
}

Test(seccomp, vcpu_filter_restricts_ioctl_requests)
{
	assert_killed(run_child(SECCOMP_VCPU, KVMM_SECCOMP_KILL, DO_KVM_CREATE_VM),
		      "vcpu: KVM_CREATE_VM");
	assert_killed(run_child(SECCOMP_WORKER, KVMM_SECCOMP_KILL, DO_KVM_CREATE_VM),
		      "worker: KVM_CREATE_VM");
	/* The VMM thread creates VMs. */
	assert_survived(run_child(SECCOMP_VMM, KVMM_SECCOMP_KILL, DO_KVM_CREATE_VM),
			"vmm: KVM_CREATE_VM");
}

Test(seccomp, log_mode_lets_the_process_live)
{
	for (unsigned int k = 0; k < SECCOMP_NR_THREADS; k++) {
		assert_survived(run_child(k, KVMM_SECCOMP_LOG, DO_PTRACE), "log: ptrace");
		assert_survived(run_child(k, KVMM_SECCOMP_LOG, DO_MOUNT), "log: mount");
	}
	assert_survived(run_child(SECCOMP_VCPU, KVMM_SECCOMP_LOG, DO_KVM_CREATE_VM),
			"log: vcpu KVM_CREATE_VM");
}

Test(seccomp, off_installs_nothing)
{
	assert_survived(run_child(SECCOMP_VCPU, KVMM_SECCOMP_OFF, DO_PTRACE), "off: ptrace");
}

static void *try_mount(void *arg)
{
	(void)arg;
	mount("none", "/nonexistent", "tmpfs", 0, NULL);
	return NULL;
}

static void *say_hello(void *arg)
{
	return write(*(int *)arg, "h", 1) == 1 ? arg : NULL;
}

/* A thread started as a worker under the VMM filter: its own calls work, mount kills the
 * whole process, not just the thread. */
Test(seccomp, threads_install_their_kind_filter)
{
	int fds[2], status;
	pid_t pid;
	char c;

	cr_assert_eq(pipe(fds), 0);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		pthread_t t;
		void *res;

		seccomp_mode_set(KVMM_SECCOMP_KILL);
		if (seccomp_filter_install(SECCOMP_VMM, NULL, 0))
			_exit(10);
		if (kvmm_thread_create_kind(&t, SECCOMP_WORKER, say_hello, &fds[1]) ||
		    pthread_join(t, &res) || res != &fds[1])
			_exit(11);
		if (kvmm_thread_create_kind(&t, SECCOMP_VCPU, try_mount, NULL))
			_exit(12);
		pthread_join(t, NULL);
		_exit(0);
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	assert_killed(status, "a vCPU thread's mount");
	close(fds[1]);
	cr_assert_eq(read(fds[0], &c, 1), 1, "the worker thread could not write");
	close(fds[0]);
}

Test(seccomp, allowlists_are_sized)
{
	unsigned int ioctls[SECCOMP_NR_THREADS], calls[SECCOMP_NR_THREADS];

	for (unsigned int k = 0; k < SECCOMP_NR_THREADS; k++)
		calls[k] = seccomp_filter_size(k, &ioctls[k]);
	/* The VMM threads do everything the others do and more. */
	cr_assert_gt(calls[SECCOMP_VMM], calls[SECCOMP_VCPU]);
	cr_assert_gt(calls[SECCOMP_VMM], calls[SECCOMP_WORKER]);
	cr_assert_gt(ioctls[SECCOMP_VMM], ioctls[SECCOMP_VCPU]);
	cr_assert_gt(ioctls[SECCOMP_VCPU], ioctls[SECCOMP_WORKER]);
	cr_assert_gt(calls[SECCOMP_WORKER], 20);
}

/* The filters built with kvmm (tools/seccomp-gen.c) are, instruction for instruction, what
 * libseccomp builds from the allowlists here and now, in both modes: the lists cannot have
 * changed without the build noticing, nor the generator have written anything else. */
Test(seccomp, prebuilt_filters_are_what_libseccomp_builds)
{
	static const enum kvmm_seccomp modes[] = { KVMM_SECCOMP_KILL, KVMM_SECCOMP_LOG };

	for (unsigned int m = 0; m < 2; m++)
		for (unsigned int k = 0; k < SECCOMP_NR_THREADS; k++) {
			const struct sock_filter *prog;
			unsigned int len;
			FILE *tmp = tmpfile();
			long size;
			char *bpf;

			if (seccomp_prebuilt(k, modes[m], &prog, &len) == -ENOENT)
				cr_skip_test("a cross build: no filters built with kvmm");
			cr_assert_not_null(tmp);
			cr_assert_eq(seccomp_rules_export(k, modes[m], fileno(tmp)), 0);
			size = ftell(tmp);
			cr_assert_eq(fseek(tmp, 0, SEEK_SET), 0);
			cr_assert_eq(size, (long)(len * sizeof(*prog)), "%s, mode %u: %ld bytes "
				     "built now, %zu built with kvmm", seccomp_thread_name(k),
				     modes[m], size, len * sizeof(*prog));
			bpf = malloc(size);
			cr_assert_not_null(bpf);
			cr_assert_eq(fread(bpf, 1, size, tmp), (size_t)size);
			cr_assert(!memcmp(bpf, prog, size), "%s, mode %u: the filter built with "
				  "kvmm differs", seccomp_thread_name(k), modes[m]);
			free(bpf);
			fclose(tmp);
		}
}

/* The sizes kvmm logs (generated with the filters) are what the lists count now; and the
 * LOG filter differs from the KILL one in its actions only. */
Test(seccomp, prebuilt_sizes_and_log_actions)
{
	for (unsigned int k = 0; k < SECCOMP_NR_THREADS; k++) {
		const struct sock_filter *kill, *log;
		unsigned int nk, nl, ioctls, rules_ioctls;
		unsigned int calls = seccomp_filter_size(k, &ioctls);
		unsigned int rets = 0;

		cr_assert_eq(calls, seccomp_rules_count(k, &rules_ioctls));
		cr_assert_eq(ioctls, rules_ioctls);
		cr_assert_eq(seccomp_prebuilt(k, KVMM_SECCOMP_KILL, &kill, &nk), 0);
		cr_assert_eq(seccomp_prebuilt(k, KVMM_SECCOMP_LOG, &log, &nl), 0);
		cr_assert_eq(nk, nl);
		for (unsigned int i = 0; i < nk; i++) {
			if (!memcmp(&kill[i], &log[i], sizeof(kill[i])))
				continue;
			cr_assert_eq(kill[i].code, BPF_RET | BPF_K, "%s: insn %u differs",
				     seccomp_thread_name(k), i);
			cr_assert_eq(kill[i].k, SECCOMP_RET_KILL_PROCESS);
			cr_assert_eq(log[i].k, SECCOMP_RET_LOG);
			rets++;
		}
		cr_assert_gt(rets, 0, "%s: no action differs", seccomp_thread_name(k));
	}
	cr_assert_eq(seccomp_prebuilt(SECCOMP_NR_THREADS, KVMM_SECCOMP_KILL, &(const struct
		     sock_filter *){ NULL }, &(unsigned int){ 0 }), -EINVAL);
}

#define ARGV(...) ((char *[]){ "kvmm", __VA_ARGS__, NULL })

static enum cli_result parse(struct vmm_config *c, char **argv)
{
	int argc = 0;

	while (argv[argc])
		argc++;
	config_init(c);
	return config_parse_args(c, argc, argv);
}

Test(seccomp, option_values)
{
	static const struct { const char *arg; enum kvmm_seccomp mode; } ok[] = {
		{ "true", KVMM_SECCOMP_KILL }, { "false", KVMM_SECCOMP_OFF },
		{ "log", KVMM_SECCOMP_LOG },
	};
	struct vmm_config c;
	enum kvmm_seccomp mode;

	for (unsigned int i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		cr_assert_eq(parse(&c, ARGV("--kernel", "/k", "--seccomp", (char *)ok[i].arg)),
			     CLI_RUN);
		cr_assert_str_eq(c.seccomp, ok[i].arg);
		cr_assert_eq(seccomp_mode_parse(c.seccomp, &mode), 0);
		cr_assert_eq(mode, ok[i].mode);
		config_free(&c);
	}
	/* The default, when Kata passes nothing, is on. */
	cr_assert_eq(parse(&c, ARGV("--kernel", "/k")), CLI_RUN);
	cr_assert_null(c.seccomp);
	cr_assert_eq(seccomp_mode_parse(c.seccomp, &mode), 0);
	cr_assert_eq(mode, KVMM_SECCOMP_KILL);
	config_free(&c);
}

Test(seccomp, option_refuses_other_spellings)
{
	static const char *const bad[] = { "on", "off", "TRUE", "1", "", "log,true" };
	struct vmm_config c;
	enum kvmm_seccomp mode;

	for (unsigned int i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_eq(parse(&c, ARGV("--kernel", "/k", "--seccomp", (char *)bad[i])),
			     CLI_USAGE, "--seccomp '%s' was accepted", bad[i]);
		config_free(&c);
		cr_assert_eq(seccomp_mode_parse(bad[i], &mode), -EINVAL);
	}
}
