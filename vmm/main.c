/*
 * kvmm entry point: parse the command line, then either run the VM it describes or
 * serve the API socket (--api-socket), and turn how that ended into the documented exit
 * status.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "config.h"
#include "log.h"
#include "vm.h"

/* Exit statuses; README.md documents them. */
#define KVMM_EXIT_OK		0	/* guest poweroff, or SIGTERM/SIGINT */
#define KVMM_EXIT_ERROR		1
#define KVMM_EXIT_USAGE		2
#define KVMM_EXIT_REBOOT	3

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
