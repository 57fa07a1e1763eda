/*
 * kvmm entry point: parse the command line, then either run the VM it describes or
 * serve the API socket (--api-socket), and turn how that ended into the documented exit
 * status.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
	for (unsigned int k = 0; mode != KVMM_SECCOMP_OFF && k < SECCOMP_NR_THREADS; k++) {
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
	enum vm_stop stop;
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
