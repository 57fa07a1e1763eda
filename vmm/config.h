/*
 * The VM configuration: one structure filled by the command line (and later
 * by the API's vm.create), checked by one validator.
 */
#ifndef KVMM_CONFIG_H
#define KVMM_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#define KVMM_MAX_VCPUS 64
#define KVMM_MIN_MEM (16ULL << 20)

enum serial_mode { SERIAL_TTY, SERIAL_FILE, SERIAL_OFF };
enum console_mode { CONSOLE_OFF };

struct vmm_config {
	char *kernel;
	char *initramfs;
	char *cmdline;
	unsigned int boot_vcpus;
	uint64_t mem_size;		/* bytes */
	enum serial_mode serial;
	char *serial_path;		/* SERIAL_FILE */
	enum console_mode console;
	bool acpi;			/* describe devices with ACPI (x86) */
	unsigned int verbosity;		/* 0 = warnings, 1 info, 2 debug, 3 trace */
	char *log_file;
};

/* Outcome of parsing argv. */
enum cli_result { CLI_RUN, CLI_EXIT_OK, CLI_USAGE };

/* Sets the defaults: 1 vCPU, 512 MiB, serial on the tty, ACPI on. */
void config_init(struct vmm_config *cfg);
void config_free(struct vmm_config *cfg);

/*
 * Parses argv into CFG.  --help and --version print and return CLI_EXIT_OK;
 * a bad argument prints a message naming it to stderr and returns CLI_USAGE
 * (the caller exits 2).
 */
enum cli_result config_parse_args(struct vmm_config *cfg, int argc,
				  char **argv);

/* Checks a filled config; on error writes a message naming the field into
 * ERR (ERRLEN bytes) and returns -EINVAL. */
int config_validate(const struct vmm_config *cfg, char *err, unsigned long errlen);

/* Parses sizes such as "512M", "2G", "1048576" (bytes); 0/-EINVAL/-ERANGE. */
int parse_size(const char *s, uint64_t *out);

#endif
