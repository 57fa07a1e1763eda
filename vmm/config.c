/*
 * Command-line parsing into struct vmm_config, in Cloud Hypervisor's style
 * (--cpus boot=N, --memory size=512M, --serial tty|file=PATH|off), and the
 * validator that the API's vm.create will share.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "seccomp.h"

#ifndef KVMM_VERSION
#define KVMM_VERSION "0.0.0"
#endif

static const char usage_text[] =
"Usage: kvmm --kernel PATH [options]\n"
"\n"
"Boots a Linux guest on /dev/kvm.\n"
"\n"
"  --kernel PATH          bzImage, or ELF vmlinux with a PVH entry note\n"
"  --initramfs PATH       initramfs (cpio, optionally compressed)\n"
"  --cmdline STR          kernel command line\n"
"  --cpus boot=N          number of vCPUs (1-" "64" ", default 1)\n"
"  --memory size=SIZE[,thp=on|off][,shared=on|off][,hugepages=on[,hugepage_size=2M|1G]]\n"
"                         [,hotplug_size=SIZE] (room for vm.resize desired_ram, x86_64)\n"
"                         guest RAM, e.g. 512M, 2G (default 512M, min 16M); thp: ask\n"
"                         for transparent huge pages (default on); shared: other processes\n"
"                         (vhost-user back-ends) may map it, as --fs needs (default off);\n"
"                         hugepages: on hugetlbfs pages reserved by the host (nr_hugepages)\n"
"  --serial MODE          tty (stdout, default) | file=PATH | off\n"
"  --console off          virtio console (only 'off' for now)\n"
"  --disk path=FILE[,readonly=on][,id=NAME][,serial=STR][,direct=on][,LIMITS]\n"
"       [,rate_limit_group=ID]\n"
"                         a virtio-blk disk on a raw image (repeatable, up to 8)\n"
"  --net tap=NAME|fd=N[,mac=AA:BB:CC:DD:EE:FF][,id=NAME][,LIMITS]\n"
"                         a virtio-net device on a TAP interface, opened by name or\n"
"                         inherited as an open fd (repeatable, up to 8); LIMITS apply to\n"
"                         receive and transmit each\n"
"  --rate-limit-group id=ID,LIMITS\n"
"                         a rate limiter the disks naming ID share (up to 8)\n"
"      LIMITS: bw_size=BYTES,bw_refill_time=MS[,bw_one_time_burst=BYTES]\n"
"              ops_size=N,ops_refill_time=MS[,ops_one_time_burst=N]\n"
"                         token buckets of SIZE refilled in REFILL_TIME ms (from empty)\n"
"                         plus a one-time burst; size 0 or absent: no limit\n"
"  --fs tag=TAG,socket=PATH[,num_queues=N][,queue_size=N][,id=NAME][,pci_segment=N]\n"
"                         virtio-fs served by the vhost-user back-end (e.g. virtiofsd)\n"
"                         listening on PATH; the guest mounts it by TAG (1-36 bytes);\n"
"                         num_queues 1-7 (default 1), queue_size a power of two up to 1024\n"
"                         (default 1024); needs --memory shared=on or hugepages=on\n"
"                         (repeatable, up to 4)\n"
"  --vsock cid=N,socket=PATH\n"
"                         virtio-vsock for guest CID N (>= 3), reached from the host through\n"
"                         the Unix socket PATH (\"CONNECT <port>\"), guest connections to\n"
"                         host port P go to PATH_P\n"
"  --rng src=PATH|off     virtio-rng entropy source (default src=/dev/urandom)\n"
"  --no-acpi              no ACPI tables (kernels with virtio_mmio.device=)\n"
"  --virtio-transport pci|mmio\n"
"                         what carries the virtio devices (default: pci, or mmio\n"
"                         without ACPI on x86_64 / without a GICv3 ITS on aarch64)\n"
"  --pci-segments N       PCI segments, each with its host bridge (1-16, default 1)\n"
"  --api-socket PATH|path=PATH|fd=N\n"
"                         serve Cloud Hypervisor's /api/v1 on a Unix socket (docs/api.md);\n"
"                         --kernel is then optional (vm.create sends the config)\n"
"  --seccomp true|false|log\n"
"                         confine each thread to the syscalls it needs (docs/security.md):\n"
"                         true (default) kills kvmm on any other, log only logs it (the\n"
"                         kernel's audit type=1326 lines), false confines nothing\n"
"  --log-file PATH        write log lines to PATH instead of stderr\n"
"  -v, -vv, -vvv          more logging: info, debug, trace\n"
"  -h, --help             this text\n"
"  -V, --version          version\n"
"\n"
"Exit status: 0 guest powered off or kvmm stopped by SIGTERM/SIGINT,\n"
"3 guest rebooted, 1 error, 2 bad command line.\n"
"SIGUSR2: each vCPU logs its registers, run state and exits so far.\n";

void config_init(struct vmm_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->boot_vcpus = 1;
	cfg->mem_size = 512ULL << 20;
	cfg->mem_thp = true;
	cfg->serial = SERIAL_TTY;
	cfg->console = CONSOLE_OFF;
	cfg->acpi = true;
	cfg->pci_segments = 1;
	cfg->rng_src = strdup("/dev/urandom");
	cfg->api_fd = -1;
}

void config_free(struct vmm_config *cfg)
{
	free(cfg->kernel);
	free(cfg->initramfs);
	free(cfg->cmdline);
	free(cfg->serial_path);
	free(cfg->log_file);
	free(cfg->api_socket);
	free(cfg->seccomp);
	config_free_devices(cfg);
	memset(cfg, 0, sizeof(*cfg));
}

int parse_size(const char *s, uint64_t *out)
{
	unsigned long long v;
	unsigned int shift = 0;
	char *end;

	if (!s || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno)
		return -ERANGE;
	switch (*end) {
	case 'k': case 'K': shift = 10; end++; break;
	case 'm': case 'M': shift = 20; end++; break;
	case 'g': case 'G': shift = 30; end++; break;
	case 't': case 'T': shift = 40; end++; break;
	case '\0': break;
	default: return -EINVAL;
	}
	/* Accept "512MiB" and "512MB" as spelled in some configs. */
	if (shift && (!strcmp(end, "iB") || !strcmp(end, "B")))
		end += strlen(end);
	if (*end)
		return -EINVAL;
	if (shift && v > (UINT64_MAX >> shift))
		return -ERANGE;
	*out = (uint64_t)v << shift;
	return 0;
}

static int parse_uint(const char *s, unsigned int *out)
{
	unsigned long v;
	char *end;

	if (!s || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v > UINT_MAX)
		return -EINVAL;
	*out = (unsigned int)v;
	return 0;
}

/*
 * Walks "key=value,key=value".  Each key must be one of KEYS; VALUES[i]
 * receives a pointer into the (modified) string.  Returns 0, or -EINVAL with
 * *BAD pointing at the offending item.
 */
int parse_kv(char *s, const char *const *keys, char **values, unsigned int nkeys,
	     const char **bad)
{
	char *save = NULL, *item;
	unsigned int i;

	for (item = strtok_r(s, ",", &save); item;
	     item = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(item, '=');

		*bad = item;
		if (!eq)
			return -EINVAL;
		*eq = '\0';
		for (i = 0; i < nkeys; i++)
			if (!strcmp(item, keys[i]))
				break;
		if (i == nkeys || values[i])
			return -EINVAL;
		values[i] = eq + 1;
	}
	return 0;
}

static int replace_str(char **dst, const char *src)
{
	char *s = strdup(src);

	if (!s)
		return -ENOMEM;
	free(*dst);
	*dst = s;
	return 0;
}

static int opt_cpus(struct vmm_config *cfg, char *arg, const char **bad)
{
	static const char *const keys[] = { "boot", "max" };
	char *vals[2] = { 0 };
	unsigned int boot, max;

	if (parse_kv(arg, keys, vals, 2, bad) || !vals[0])
		return -EINVAL;
	*bad = vals[0];
	if (parse_uint(vals[0], &boot))
		return -EINVAL;
	if (vals[1]) {
		*bad = vals[1];
		if (parse_uint(vals[1], &max) || max < boot)
			return -EINVAL;
		cfg->max_vcpus = max;
	}
	cfg->boot_vcpus = boot;
	return 0;
}

static int opt_memory(struct vmm_config *cfg, char *arg, const char **bad)
{
	static const char *const keys[] = { "size", "thp", "hugepages", "hugepage_size",
					    "shared", "hotplug_size" };
	char *vals[6] = { 0 };

	if (parse_kv(arg, keys, vals, 6, bad) || !vals[0])
		return -EINVAL;
	*bad = vals[5];
	if (vals[5] && parse_size(vals[5], &cfg->mem_hotplug_size))
		return -EINVAL;
	*bad = vals[1];
	if (vals[1] && parse_bool(vals[1], &cfg->mem_thp))
		return -EINVAL;
	*bad = vals[2];
	if (vals[2] && parse_bool(vals[2], &cfg->mem_hugepages))
		return -EINVAL;
	*bad = vals[3];
	if (vals[3] && parse_size(vals[3], &cfg->mem_hugepage_size))
		return -EINVAL;
	*bad = vals[4];
	if (vals[4] && parse_bool(vals[4], &cfg->mem_shared))
		return -EINVAL;
	*bad = vals[0];
	return parse_size(vals[0], &cfg->mem_size) ? -EINVAL : 0;
}

static int opt_serial(struct vmm_config *cfg, char *arg)
{
	if (!strcmp(arg, "tty"))
		cfg->serial = SERIAL_TTY;
	else if (!strcmp(arg, "off") || !strcmp(arg, "null"))
		cfg->serial = SERIAL_OFF;
	else if (!strncmp(arg, "file=", 5) && arg[5]) {
		cfg->serial = SERIAL_FILE;
		return replace_str(&cfg->serial_path, arg + 5);
	} else
		return -EINVAL;
	return 0;
}

/* --api-socket PATH, path=PATH or fd=N (Cloud Hypervisor's forms). */
static int opt_api_socket(struct vmm_config *cfg, const char *arg)
{
	unsigned int fd;

	if (!strncmp(arg, "fd=", 3)) {
		if (parse_uint(arg + 3, &fd) || fd < 3 || fd > INT_MAX)
			return -EINVAL;
		cfg->api_fd = (int)fd;
		return 0;
	}
	if (!strncmp(arg, "path=", 5))
		arg += 5;
	if (!*arg || strchr(arg, ','))
		return -EINVAL;
	return replace_str(&cfg->api_socket, arg);
}

enum { OPT_KERNEL = 256, OPT_INITRAMFS, OPT_CMDLINE, OPT_CPUS, OPT_MEMORY,
       OPT_SERIAL, OPT_CONSOLE, OPT_NO_ACPI, OPT_LOG_FILE, OPT_DISK, OPT_RNG, OPT_NET,
       OPT_API_SOCKET, OPT_SECCOMP, OPT_VSOCK, OPT_TRANSPORT, OPT_PCI_SEGMENTS, OPT_FS,
       OPT_RL_GROUP };

static const struct option long_opts[] = {
	{ "kernel", required_argument, NULL, OPT_KERNEL },
	{ "initramfs", required_argument, NULL, OPT_INITRAMFS },
	{ "cmdline", required_argument, NULL, OPT_CMDLINE },
	{ "cpus", required_argument, NULL, OPT_CPUS },
	{ "memory", required_argument, NULL, OPT_MEMORY },
	{ "serial", required_argument, NULL, OPT_SERIAL },
	{ "console", required_argument, NULL, OPT_CONSOLE },
	{ "no-acpi", no_argument, NULL, OPT_NO_ACPI },
	{ "virtio-transport", required_argument, NULL, OPT_TRANSPORT },
	{ "pci-segments", required_argument, NULL, OPT_PCI_SEGMENTS },
	{ "disk", required_argument, NULL, OPT_DISK },
	{ "rng", required_argument, NULL, OPT_RNG },
	{ "net", required_argument, NULL, OPT_NET },
	{ "api-socket", required_argument, NULL, OPT_API_SOCKET },
	{ "seccomp", required_argument, NULL, OPT_SECCOMP },
	{ "vsock", required_argument, NULL, OPT_VSOCK },
	{ "fs", required_argument, NULL, OPT_FS },
	{ "rate-limit-group", required_argument, NULL, OPT_RL_GROUP },
	{ "log-file", required_argument, NULL, OPT_LOG_FILE },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 },
};

/* What a user who got option C's value BAD (in ARG) wrong most likely meant, or "". */
static const char *opt_hint(int c, const char *bad, const char *arg)
{
	if (c == OPT_CPUS && !strchr(arg, '='))
		return " (the form is --cpus boot=N[,max=M], N and M 1-" "64" ")";
	if (c == OPT_VSOCK && bad && bad[0] >= '0' && bad[0] <= '9')
		return " (a guest's CID is 3 or more: 0-2 are the hypervisor's, the local and the "
		       "host's)";
	if (c == OPT_MEMORY && bad && bad[0] >= '0' && bad[0] <= '9')
		return " (sizes take K, M, G: e.g. --memory size=512M)";
	return "";
}

static const char *opt_name(int c)
{
	for (const struct option *o = long_opts; o->name; o++)
		if (o->val == c)
			return o->name;
	return "?";
}

enum cli_result config_parse_args(struct vmm_config *cfg, int argc,
				  char **argv)
{
	char err[256];
	int c, ret;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":vhV", long_opts, NULL)) != -1) {
		const char *bad = optarg;
		char *copy = NULL;

		ret = 0;
		switch (c) {
		case OPT_KERNEL: ret = replace_str(&cfg->kernel, optarg); break;
		case OPT_INITRAMFS: ret = replace_str(&cfg->initramfs, optarg); break;
		case OPT_CMDLINE: ret = replace_str(&cfg->cmdline, optarg); break;
		case OPT_LOG_FILE: ret = replace_str(&cfg->log_file, optarg); break;
		case OPT_CPUS:
		case OPT_MEMORY:
		case OPT_DISK:
		case OPT_RNG:
		case OPT_NET:
		case OPT_VSOCK:
		case OPT_FS:
		case OPT_RL_GROUP:
			/* The parsers cut the string; report from a copy. */
			copy = strdup(optarg);
			if (!copy)
				return CLI_USAGE;
			ret = c == OPT_CPUS ? opt_cpus(cfg, copy, &bad)
			    : c == OPT_MEMORY ? opt_memory(cfg, copy, &bad)
			    : c == OPT_DISK ? config_opt_disk(cfg, copy, &bad)
			    : c == OPT_NET ? config_opt_net(cfg, copy, &bad)
			    : c == OPT_VSOCK ? config_opt_vsock(cfg, copy, &bad)
			    : c == OPT_FS ? config_opt_fs(cfg, copy, &bad)
			    : c == OPT_RL_GROUP ? config_opt_rl_group(cfg, copy, &bad)
			    : config_opt_rng(cfg, copy, &bad);
			if (ret) {
				fprintf(stderr, "kvmm: invalid value '%s' in --%s %s%s\n",
					bad, opt_name(c), optarg, opt_hint(c, bad, optarg));
				free(copy);
				return CLI_USAGE;
			}
			free(copy);
			break;
		case OPT_SERIAL: ret = opt_serial(cfg, optarg); break;
		case OPT_API_SOCKET: ret = opt_api_socket(cfg, optarg); break;
		case OPT_SECCOMP:
			ret = seccomp_mode_parse(optarg, &(enum kvmm_seccomp){ 0 }) ?:
			      replace_str(&cfg->seccomp, optarg);
			break;
		case OPT_CONSOLE:
			ret = strcmp(optarg, "off") ? -EINVAL : 0;
			break;
		case OPT_NO_ACPI: cfg->acpi = false; break;
		case OPT_TRANSPORT:
			ret = 0;
			if (!strcmp(optarg, "pci"))
				cfg->transport = VIRTIO_TRANSPORT_PCI;
			else if (!strcmp(optarg, "mmio"))
				cfg->transport = VIRTIO_TRANSPORT_MMIO;
			else
				ret = -EINVAL;
			break;
		case OPT_PCI_SEGMENTS:
			ret = parse_uint(optarg, &cfg->pci_segments);
			break;
		case 'v': cfg->verbosity++; break;
		case 'h': fputs(usage_text, stdout); return CLI_EXIT_OK;
		case 'V': printf("kvmm %s\n", KVMM_VERSION); return CLI_EXIT_OK;
		case ':':
			fprintf(stderr, "kvmm: option '%s' needs a value\n",
				argv[optind - 1]);
			return CLI_USAGE;
		default:
			fprintf(stderr, "kvmm: unknown option '%s' (see --help)\n",
				argv[optind - 1]);
			return CLI_USAGE;
		}
		if (ret) {
			fprintf(stderr, "kvmm: invalid value '%s' for option '--%s'\n",
				optarg, opt_name(c));
			return CLI_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "kvmm: unexpected argument '%s'\n", argv[optind]);
		return CLI_USAGE;
	}
	config_link_rl_groups(cfg);
	if (config_validate(cfg, err, sizeof(err))) {
		fprintf(stderr, "kvmm: %s\n", err);
		return CLI_USAGE;
	}
	return CLI_RUN;
}

int config_validate(const struct vmm_config *cfg, char *err,
		    unsigned long errlen)
{
	if ((!cfg->kernel || !*cfg->kernel) && !cfg->api_socket && cfg->api_fd < 0) {
		snprintf(err, errlen, "--kernel is required (or --api-socket, then vm.create)");
		return -EINVAL;
	}
	if (cfg->boot_vcpus < 1 || cfg->boot_vcpus > KVMM_MAX_VCPUS) {
		snprintf(err, errlen, "cpus: boot=%u out of range 1-%u",
			 cfg->boot_vcpus, KVMM_MAX_VCPUS);
		return -EINVAL;
	}
	if (cfg->max_vcpus && (cfg->max_vcpus < cfg->boot_vcpus ||
			       cfg->max_vcpus > KVMM_MAX_VCPUS)) {
		snprintf(err, errlen, "cpus: max=%u out of range %u-%u", cfg->max_vcpus,
			 cfg->boot_vcpus, KVMM_MAX_VCPUS);
		return -EINVAL;
	}
	if (cfg->mem_size < KVMM_MIN_MEM || cfg->mem_size % 4096) {
		snprintf(err, errlen,
			 "memory: size=%" PRIu64 " must be at least 16M and a multiple of 4K",
			 cfg->mem_size);
		return -EINVAL;
	}
	if (cfg->mem_size > (1ULL << 40)) {
		snprintf(err, errlen, "memory: size=%" PRIu64 " above 1T",
			 cfg->mem_size);
		return -EINVAL;
	}
	if (cfg->mem_hotplug_size > (1ULL << 40)) {
		snprintf(err, errlen, "memory: hotplug_size=%" PRIu64 " above 1T",
			 cfg->mem_hotplug_size);
		return -EINVAL;
	}
	if (cfg->pci_segments < 1 || cfg->pci_segments > KVMM_MAX_PCI_SEGMENTS) {
		snprintf(err, errlen, "PCI segments: %u out of range 1-%u", cfg->pci_segments,
			 KVMM_MAX_PCI_SEGMENTS);
		return -EINVAL;
	}
	return config_validate_hugepages(cfg, err, errlen) ?:
	       config_validate_devices(cfg, err, errlen);
}
