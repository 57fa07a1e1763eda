/*
 * The VM configuration: one structure filled by the command line (and later
 * by the API's vm.create), checked by one validator.
 */
#ifndef KVMM_CONFIG_H
#define KVMM_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include "ratelimit.h"

#define KVMM_MAX_VCPUS 64
#define KVMM_MIN_MEM (16ULL << 20)

#define KVMM_MAX_DISKS 8
#define KVMM_SERIAL_MAX 20		/* virtio-blk ID bytes */
#define KVMM_MAX_RL_GROUPS 8
#define KVMM_RL_GROUP_ID_MAX 63		/* bytes of a rate_limit_group id */

/* One --rate-limit-group (VmConfig.rate_limit_groups[]): a limiter disks share by id.
 * Plain arrays, no heap: the config is copied around whole. */
struct rl_group_config {
	char id[KVMM_RL_GROUP_ID_MAX + 1];
	struct rl_config limits;
};

/* One --disk (and later vm.add-disk / VmConfig.disks[]). */
struct disk_config {
	char *path;
	char *id;			/* NULL: "disk<N>" */
	char *serial;			/* NULL: none; at most KVMM_SERIAL_MAX bytes */
	bool readonly;
	bool direct;			/* O_DIRECT */
	unsigned int pci_segment;	/* below pci_segments; ignored on virtio-mmio */
	struct rl_config rate_limit;	/* the disk's own limiter (bw_*, ops_*); all 0: none */
	/* rate_limit_group=: the shared limiter's id ("" none) and its limits, copied from
	 * the group's entry by config_link_rl_groups() */
	char rate_limit_group[KVMM_RL_GROUP_ID_MAX + 1];
	struct rl_config group_limits;
};

#define KVMM_MAX_NETS 8

/* One --net (and later vm.add-net / VmConfig.net[]): a TAP by name or an inherited fd. */
struct net_config {
	char *tap;			/* interface name, or NULL when fd is used */
	int fd;				/* an open TAP fd handed to kvmm, or -1 */
	char *id;			/* NULL: "net<N>" */
	uint8_t mac[6];
	bool has_mac;			/* false: derive a stable locally administered MAC */
	unsigned int pci_segment;	/* below pci_segments; ignored on virtio-mmio */
	/* bw_*, ops_*: one limiter of these limits for each direction (receive and transmit
	 * are throttled independently, as in Cloud Hypervisor); all 0: none */
	struct rl_config rate_limit;
};

/* --vsock (and VmConfig.vsock / vm.add-vsock): virtio-vsock with the hybrid Unix-socket
 * back-end Kata's agent channel uses. */
struct vsock_config {
	uint64_t cid;			/* the guest's CID, >= 3; 0: no vsock device */
	char *socket;			/* host Unix socket path (PATH, PATH_<port>) */
	char *id;			/* NULL: "_vsock<N>" (config_device_id) */
};

#define KVMM_MAX_FS 4
/* Virtio devices of one VM in all (the x86_64 interrupt lines they can have). */
#define KVMM_MAX_VIRTIO 18
#define KVMM_FS_TAG_MAX 36		/* virtio-fs tag bytes (virtio 1.x, 5.11.4) */
#define KVMM_FS_MAX_QUEUES 7		/* request queues: VIRTIO_MAX_QUEUES less the hiprio one */

/* One --fs (and VmConfig.fs[] / vm.add-fs): virtio-fs served by a vhost-user back-end such
 * as virtiofsd listening on SOCKET. */
struct fs_config {
	char *tag;			/* the name the guest mounts, 1..KVMM_FS_TAG_MAX bytes */
	char *socket;			/* the back-end's vhost-user Unix socket */
	char *id;			/* NULL: "_fs<N>" (config_device_id) */
	unsigned int num_queues;	/* request queues, 1..KVMM_FS_MAX_QUEUES (default 1) */
	unsigned int queue_size;	/* entries per queue, a power of two <= 1024 (default 1024) */
	unsigned int pci_segment;	/* below pci_segments; ignored on virtio-mmio */
};

enum serial_mode { SERIAL_TTY, SERIAL_FILE, SERIAL_OFF };
/* --virtio-transport: AUTO is PCI unless the arch says the VM cannot use it well
 * (arch_pci_default()). */
enum virtio_transport_kind { VIRTIO_TRANSPORT_AUTO, VIRTIO_TRANSPORT_MMIO, VIRTIO_TRANSPORT_PCI };

#define KVMM_MAX_PCI_SEGMENTS 16
enum console_mode { CONSOLE_OFF };

struct vmm_config {
	char *kernel;
	char *initramfs;
	char *cmdline;
	unsigned int boot_vcpus;
	unsigned int max_vcpus;		/* 0: boot_vcpus; more: vCPU hot-plug up to it */
	uint64_t mem_size;		/* bytes */
	uint64_t mem_hotplug_size;	/* bytes of guest-physical space above RAM for memory
					 * hot-plug (vm.resize desired_ram); 0: none */
	bool mem_thp;			/* ask for transparent huge pages (default on) */
	bool mem_shared;		/* memory.shared / --memory shared=on: guest RAM may be
					 * mapped by other processes (vhost-user back-ends);
					 * required by fs[] unless mem_hugepages */
	bool mem_hugepages;		/* guest RAM on hugetlbfs pages */
	uint64_t mem_hugepage_size;	/* their size in bytes; 0: 2 MiB */
	enum serial_mode serial;
	char *serial_path;		/* SERIAL_FILE */
	enum console_mode console;
	bool acpi;			/* describe devices with ACPI (x86) */
	enum virtio_transport_kind transport;
	unsigned int pci_segments;	/* PCI segments (host bridges), 1..KVMM_MAX_PCI_SEGMENTS */
	struct disk_config disks[KVMM_MAX_DISKS];
	unsigned int nr_disks;
	struct net_config nets[KVMM_MAX_NETS];
	unsigned int nr_nets;
	struct fs_config fs[KVMM_MAX_FS];
	unsigned int nr_fs;
	struct rl_group_config rl_groups[KVMM_MAX_RL_GROUPS];
	unsigned int nr_rl_groups;
	struct vsock_config vsock;
	char *rng_src;			/* entropy source for virtio-rng; NULL: no device */
	char *api_socket;		/* --api-socket path, or NULL */
	int api_fd;			/* --api-socket fd=N (listening socket), or -1 */
	char *seccomp;			/* --seccomp true|false|log; NULL: true (seccomp.h) */
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
 * ERR (ERRLEN bytes) and returns -EINVAL, or -EEXIST when two devices share
 * an id (the API answers that with 409). */
int config_validate(const struct vmm_config *cfg, char *err, unsigned long errlen);

/* Device options (config_dev.c). Each parses one option value such as
 * "path=/img,readonly=on"; on error returns -EINVAL with *BAD at the offending item
 * (pointing into ARG, which is modified). */
int config_opt_disk(struct vmm_config *cfg, char *arg, const char **bad);
int config_opt_net(struct vmm_config *cfg, char *arg, const char **bad);
int config_opt_rng(struct vmm_config *cfg, char *arg, const char **bad);
int config_opt_vsock(struct vmm_config *cfg, char *arg, const char **bad);
int config_opt_fs(struct vmm_config *cfg, char *arg, const char **bad);
int config_opt_rl_group(struct vmm_config *cfg, char *arg, const char **bad);

/*
 * Copies each rate_limit_group's limits into the disks that name it (disk_config's
 * group_limits), for the disks' constructor, which sees only its own disk_config. Call after
 * groups or disks change, before config_validate() (which refuses a name no group has).
 */
void config_link_rl_groups(struct vmm_config *cfg);
/*
 * The id device I goes by: I counts disks, then NICs, then virtio-fs devices, then
 * (I == nr_disks + nr_nets + nr_fs) the vsock device, the order in which Cloud Hypervisor
 * names them. Its own id, or Cloud Hypervisor's default: "_disk<N>", "_net<N>", "_fs<N>",
 * "_vsock<N>" with one counter N over the devices named by default, in that order, skipping
 * names that an explicit id took. The entropy device is always "__rng".
 */
void config_device_id(const struct vmm_config *cfg, unsigned int i, char *buf,
		      unsigned long len);

/* Writes every device's config_device_id() into its config entry (disks, NICs, fs, vsock),
 * so ids stay put when a device later leaves the config (hot-unplug).  0 or -ENOMEM
 * (nothing changed). */
int config_resolve_ids(struct vmm_config *cfg);

/* Takes the disk, NIC, fs or vsock device ID out of the config (freed; a NIC's TAP fd closed).
 * 0, or -ENOENT. */
int config_remove_device(struct vmm_config *cfg, const char *id);
#define CONFIG_RNG_ID "__rng"

/* Checks the device part of a config (see config_validate). */
int config_validate_devices(const struct vmm_config *cfg, char *err, unsigned long errlen);
void config_free_devices(struct vmm_config *cfg);
/* "AA:BB:CC:DD:EE:FF" (hex, case-insensitive); 0/-EINVAL. */
int parse_mac(const char *s, uint8_t mac[6]);
/* Boolean option values: on/off, true/false, yes/no, 1/0. 0/-EINVAL. */
int parse_bool(const char *s, bool *out);
/* The --memory hugepages settings (hugepage_size 2M or 1G, size a multiple of it). */
int config_validate_hugepages(const struct vmm_config *cfg, char *err, unsigned long errlen);

/* The huge page size guest RAM asks for with hugepages=on: hugepage_size or 2 MiB. */
static inline uint64_t config_hugepage_size(const struct vmm_config *cfg)
{
	return cfg->mem_hugepage_size ? cfg->mem_hugepage_size : 2ULL << 20;
}

/* "key=value,key=value" into VALUES (by KEYS); each key at most once. */
int parse_kv(char *s, const char *const *keys, char **values, unsigned int nkeys,
	     const char **bad);

/* Parses sizes such as "512M", "2G", "1048576" (bytes); 0/-EINVAL/-ERANGE. */
int parse_size(const char *s, uint64_t *out);

#endif
