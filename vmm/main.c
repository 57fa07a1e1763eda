/*
 * kvmm entry point: parse the command line, then either run the VM it describes or
 * serve the API socket (--api-socket), and turn how that ended into the documented exit
 * status.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "api.h"
#include "config.h"
#include "log.h"
#include "seccomp.h"
#include "vm.h"

/* Exit statuses; README.md documents them. */
#define KVMM_EXIT_OK		0	/* guest poweroff, or SIGTERM/SIGINT */
#define KVMM_EXIT_ERROR		1
#define KVMM_EXIT_USAGE		2
#define KVMM_EXIT_REBOOT	3

/* The inherited fds the command line names: --api-socket fd=N, --net fd=N. */
#define KEEP_MAX (KVMM_MAX_NETS + 1)

/* KEEP[0..N) sorted, without duplicates, fds < 3 left out. Returns N. */
static unsigned int named_fds(const struct vmm_config *cfg, int keep[KEEP_MAX])
{
	unsigned int n = 0;

	if (cfg->api_fd >= 3)
		keep[n++] = cfg->api_fd;
	for (unsigned int i = 0; i < cfg->nr_nets; i++)
		if (cfg->nets[i].fd >= 3)
			keep[n++] = cfg->nets[i].fd;
	for (unsigned int i = 1; i < n; i++)		/* insertion sort: a handful of fds */
		for (unsigned int j = i; j > 0 && keep[j - 1] >= keep[j]; j--) {
			int t = keep[j - 1];

			keep[j - 1] = keep[j];
			keep[j] = t;
		}
	for (unsigned int i = 1; i < n; i++)		/* one fd named twice: kept once */
		if (keep[i] == keep[i - 1]) {
			memmove(keep + i, keep + i + 1, (n - i - 1) * sizeof(*keep));
			n--;
			i--;
		}
	return n;
}

static bool is_kept(int fd, const int *keep, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		if (keep[i] == fd)
			return true;
	return false;
}

/* close_range(2) (Linux 5.9, glibc 2.34) through syscall(): builds against older headers. */
static int sys_close_range(unsigned int first, unsigned int last)
{
#ifdef SYS_close_range
	return (int)syscall(SYS_close_range, first, last, 0);
#else
	(void)first;
	(void)last;
	errno = ENOSYS;
	return -1;
#endif
}

/*
 * Closes every fd >= 3 kvmm inherited except the N in KEEP (sorted), and marks those
 * close-on-exec (docs/security.md, fd hygiene): each fd /proc/self/fd lists, or without /proc
 * the ranges between the kept ones (close_range(), else one by one up to the fd limit, at
 * most 2^20). Returns how many it closed, -1 when it could not count them (no /proc).
 * Fds at or above the RLIMIT_NOFILE hard limit are left alone: a tool kvmm runs under
 * (valgrind) keeps its own there and lowers the limit for kvmm.
 */
static int close_inherited_fds(const int *keep, unsigned int n)
{
	unsigned int first = 3;
	int closed = -1;
	struct rlimit rl;
	DIR *d;

	if (getrlimit(RLIMIT_NOFILE, &rl) || rl.rlim_max == RLIM_INFINITY || rl.rlim_max > INT_MAX)
		rl.rlim_max = INT_MAX;
	d = opendir("/proc/self/fd");		/* O_CLOEXEC; its own fd is skipped below */
	if (d) {
		struct dirent *e;

		closed = 0;
		while ((e = readdir(d))) {
			char *end;
			long fd = strtol(e->d_name, &end, 10);

			if (e->d_name[0] < '0' || e->d_name[0] > '9' || *end || fd < 3 ||
			    fd >= (long)rl.rlim_max || fd == dirfd(d) || is_kept((int)fd, keep, n))
				continue;
			if (close((int)fd) == 0)
				closed++;
		}
		closedir(d);
	} else {
		for (unsigned int i = 0; i <= n; i++) {
			unsigned int last = i < n ? (unsigned int)keep[i] - 1 :
					    (unsigned int)(rl.rlim_max > (1 << 20) ? (1 << 20) : rl.rlim_max) - 1;

			if (first <= last && sys_close_range(first, last))
				for (unsigned int fd = first; fd <= last; fd++)
					close((int)fd);
			if (i < n)
				first = (unsigned int)keep[i] + 1;
		}
	}
	/* The named fds are kvmm's now: not for a child (there is none; defence in depth). */
	for (unsigned int i = 0; i < n; i++) {
		int fl = fcntl(keep[i], F_GETFD);

		if (fl >= 0 && !(fl & FD_CLOEXEC))
			fcntl(keep[i], F_SETFD, fl | FD_CLOEXEC);
	}
	return closed;
}

/*
 * Confines the main thread (--seccomp, docs/security.md) as late as it can: after the command
 * line and the log file, before the API socket is served or a VM is built. Every thread it
 * starts inherits this filter. 0, or -errno after saying why.
 */
static int confine(const struct vmm_config *cfg)
{
	enum kvmm_seccomp mode;
	char why[256];
	int ret;

	if (seccomp_mode_parse(cfg->seccomp, &mode))
		return -EINVAL;		/* config_parse_args() let nothing else through */
	seccomp_mode_set(mode);
	ret = seccomp_filter_install(SECCOMP_VMM, why, sizeof(why));
	if (ret) {
		pr_err("cannot install the seccomp filter (--seccomp %s): %s; --seccomp false runs "
		       "kvmm unconfined", cfg->seccomp ? cfg->seccomp : "true", why);
		return ret;
	}
	/* Sizing a list resolves each of its names (libseccomp searches its syscall table):
	 * only when -v will print it. */
	for (unsigned int k = 0; mode != KVMM_SECCOMP_OFF && log_threshold >= LOG_INFO &&
	     k < SECCOMP_NR_THREADS; k++) {
		unsigned int ioctls, calls = seccomp_filter_size(k, &ioctls);

		pr_info("seccomp (%s): %s threads: %u syscalls, %u ioctl requests",
			mode == KVMM_SECCOMP_LOG ? "log" : "kill", seccomp_thread_name(k), calls,
			ioctls);
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct vmm_config cfg;
	int keep[KEEP_MAX], closed;
	enum vm_stop stop;
	unsigned int nkeep;
	int status;

	config_init(&cfg);
	switch (config_parse_args(&cfg, argc, argv)) {
	case CLI_EXIT_OK:
		config_free(&cfg);
		return KVMM_EXIT_OK;
	case CLI_USAGE:
		config_free(&cfg);
		return KVMM_EXIT_USAGE;
	case CLI_RUN:
		break;
	}
	log_threshold = cfg.verbosity >= 3 ? LOG_TRACE :
			(enum log_level)(LOG_WARN + cfg.verbosity);
	/*
	 * Before kvmm opens anything (the command line was only parsed): what a careless parent
	 * left open is not kvmm's to hold, nor to hand on. stdin, stdout, stderr stay.
	 */
	nkeep = named_fds(&cfg, keep);
	closed = close_inherited_fds(keep, nkeep);
	if (closed < 0)
		pr_info("closed the inherited fds (no /proc/self/fd to count them); kept %u named "
			"on the command line", nkeep);
	else
		pr_info("closed %d inherited fd%s; kept %u named on the command line", closed,
			closed == 1 ? "" : "s", nkeep);
	if (cfg.log_file) {
		int ret = log_set_file(cfg.log_file);

		if (ret) {
			fprintf(stderr, "kvmm: cannot open log file %s: %s\n",
				cfg.log_file, strerror(-ret));
			config_free(&cfg);
			return KVMM_EXIT_ERROR;
		}
	}

	if (confine(&cfg)) {
		config_free(&cfg);
		return KVMM_EXIT_ERROR;
	}
	if (cfg.api_socket || cfg.api_fd >= 0) {
		status = api_main(&cfg);
		pr_info("exiting with status %d", status);
		config_free(&cfg);
		return status;
	}
	stop = vm_run(&cfg);
	switch (stop) {
	case VM_STOP_POWEROFF:
	case VM_STOP_HOST:
		status = KVMM_EXIT_OK;
		break;
	case VM_STOP_REBOOT:
		status = KVMM_EXIT_REBOOT;
		break;
	default:
		status = KVMM_EXIT_ERROR;
		break;
	}
	pr_info("exiting with status %d", status);
	config_free(&cfg);
	return status;
}
