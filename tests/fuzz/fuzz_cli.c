/*
 * libFuzzer target for the command-line parser (vmm/config.c config_parse_args() with the
 * device options of vmm/config_dev.c and config_validate()): the input, split on NUL bytes,
 * is argv after "kvmm" (at most 64 arguments). The parser must never exit() nor crash;
 * what it prints (usage, errors) goes to a sink, not the terminal.
 *
 * Checked (abort on violation): the result is CLI_RUN, CLI_EXIT_OK or CLI_USAGE; a config it
 * accepts (CLI_RUN) passes config_validate() again and survives config_free(). An inherited
 * TAP fd (--net fd=N) is not the harness's to close: it is taken out of the config first.
 * Each argument is its own heap copy, so a value read past its end is caught by ASan, as is
 * a config that kept a pointer into the copies the option parsers cut up and free (when
 * config_validate() reads it again).
 */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "config.h"
#include "log.h"

#define MAX_ARGS	64

static FILE *sink;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_threshold = LOG_QUIET;
	sink = fopen("/dev/null", "w");
	return sink ? 0 : -1;
}

/*
 * getopt keeps a pointer into the previous argv between calls unless optind is 0; kvmm
 * parses once, the fuzzer many times, so start each run from a clean getopt.
 */
static void getopt_reset(void)
{
	static char *none[] = { "kvmm", NULL };
	static const struct option no_opts[] = { { NULL, 0, NULL, 0 } };

	optind = 0;
	opterr = 0;
	while (getopt_long(1, none, "", no_opts, NULL) != -1)
		;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *argv[MAX_ARGS + 2], err[256];
	struct vmm_config cfg;
	FILE *out = stdout, *errf = stderr;
	enum cli_result r;
	size_t i = 0;
	int argc = 1;

	argv[0] = strdup("kvmm");
	check(argv[0]);
	while (i < size && argc <= MAX_ARGS) {
		const uint8_t *nul = memchr(data + i, 0, size - i);
		size_t n = nul ? (size_t)(nul - (data + i)) : size - i;

		argv[argc] = strndup((const char *)data + i, n);
		check(argv[argc]);
		argc++;
		i += n + 1;
	}
	argv[argc] = NULL;

	getopt_reset();
	config_init(&cfg);
	stdout = stderr = sink;
	r = config_parse_args(&cfg, argc, argv);
	stdout = out;
	stderr = errf;
	check(r == CLI_RUN || r == CLI_EXIT_OK || r == CLI_USAGE);
	if (r == CLI_RUN)
		check(config_validate(&cfg, err, sizeof(err)) == 0);
	for (unsigned int k = 0; k < cfg.nr_nets; k++)
		cfg.nets[k].fd = -1;
	config_free(&cfg);
	for (int k = 0; k < argc; k++)
		free(argv[k]);
	return 0;
}
