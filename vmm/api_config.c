/*
 * Cloud Hypervisor's VmConfig, DiskConfig, NetConfig, FsConfig and VsockConfig JSON bodies into
 * struct vmm_config.  Two passes: schema_parse() (api_schema.c) walks the document against the
 * schema tables below (unknown fields, types, ranges, ignored, default-only and refused
 * fields), then the map_*() functions read the mapped fields, whose types are then known.
 * VmInfo and VmmPingResponse go out through api_info.c.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "api_config.h"
#include "api_schema.h"

/* Shorthands for the tables' fields (struct field, api_schema.h). */
#define MAP(n, t)		{ .name = n, .type = t, .rule = R_MAP }
#define IGN(n, t)		{ .name = n, .type = t, .rule = R_IGNORE }
#define NUM(n, r, lo, hi)	{ .name = n, .type = T_UINT, .rule = r, .min = lo, .max = hi }
#define DEF(n, t, d, w)		{ .name = n, .type = t, .rule = R_DEFAULT, .def = d, .why = w }
#define DEFS(n, d, w)		{ .name = n, .type = T_STR, .rule = R_DEFAULT, .sdef = d, .why = w }
#define EMPTY(n, w)		{ .name = n, .type = T_ARR, .rule = R_EMPTY, .why = w }
#define NO(n, w)		{ .name = n, .type = T_ANY, .rule = R_REFUSE, .why = w }
#define OBJ(n, r, s)		{ .name = n, .type = T_OBJ, .rule = r, .sub = &s }
#define ARR(n, r, it, s)	{ .name = n, .type = T_ARR, .rule = r, .item = it, .sub = s }
#define SCHEMA(name, ...)							\
	static const struct field name##_fields[] = { __VA_ARGS__ };		\
	static const struct schema name = {					\
		name##_fields, sizeof(name##_fields) / sizeof(name##_fields[0]) }

#define NOT_YET		"not supported yet"
#define NO_IOMMU	"no virtual IOMMU"
#define NO_VHOST	"vhost-user is only supported for virtio-fs (fs[])"
#define NO_CVM		"confidential guests are not supported"
#define NO_VIRTIO_MEM	"virtio-mem is not supported; memory is hot-plugged through ACPI " \
			"(hotplug_method \"Acpi\") with vm.resize desired_ram"
#define OFFLOAD		"kvmm always offers this offload"
#define FD_WHY		"TAP fds are passed with vm.add-net as SCM_RIGHTS, not in the body"
#define PCI_IGN		NUM("pci_segment", R_IGNORE, 0, 0), NUM("pci_device_id", R_IGNORE, 0, 0)
/* Disks and NICs go on the segment they name (checked against num_pci_segments later). */
#define PCI_SEG		NUM("pci_segment", R_MAP, 0, KVMM_MAX_PCI_SEGMENTS - 1), \
			NUM("pci_device_id", R_IGNORE, 0, 0)

/* RateLimiterConfig: token buckets of int64 values (map_limits()). */
SCHEMA(bucket_s, NUM("size", R_MAP, 0, 0), NUM("one_time_burst", R_MAP, 0, 0),
       NUM("refill_time", R_MAP, 0, 0));
SCHEMA(limiter_s, OBJ("bandwidth", R_MAP, bucket_s), OBJ("ops", R_MAP, bucket_s));
SCHEMA(limit_group_s, MAP("id", T_STR), OBJ("rate_limiter_config", R_MAP, limiter_s));
SCHEMA(qaffinity_s, NUM("queue_index", R_IGNORE, 0, 0),
       ARR("host_cpus", R_IGNORE, T_UINT, NULL));
SCHEMA(disk_s, MAP("path", T_STR), MAP("readonly", T_BOOL), MAP("direct", T_BOOL),
       DEF("iommu", T_BOOL, 0, NO_IOMMU), NUM("num_queues", R_IGNORE, 1, 1024),
       NUM("queue_size", R_IGNORE, 1, 32768), DEF("vhost_user", T_BOOL, 0, NO_VHOST),
       NO("vhost_socket", NO_VHOST), OBJ("rate_limiter_config", R_MAP, limiter_s), PCI_SEG,
       MAP("id", T_STR), MAP("serial", T_STR), MAP("rate_limit_group", T_STR),
       ARR("queue_affinity", R_IGNORE, T_OBJ, &qaffinity_s), IGN("backing_files", T_BOOL),
       IGN("sparse", T_BOOL), MAP("image_type", T_STR), IGN("lock_granularity", T_STR));
SCHEMA(net_s, MAP("tap", T_STR), IGN("ip", T_STR), IGN("mask", T_STR), MAP("mac", T_STR),
       NO("host_mac", NOT_YET), NUM("mtu", R_IGNORE, 1, 65535),
       DEF("iommu", T_BOOL, 0, NO_IOMMU),
       DEF("num_queues", T_UINT, 2, "only one queue pair (num_queues 2) is supported"),
       NUM("queue_size", R_IGNORE, 1, 32768), DEF("vhost_user", T_BOOL, 0, NO_VHOST),
       NO("vhost_socket", NO_VHOST), IGN("vhost_mode", T_STR), MAP("id", T_STR), PCI_SEG,
       OBJ("rate_limiter_config", R_MAP, limiter_s), DEF("offload_tso", T_BOOL, 1, OFFLOAD),
       DEF("offload_ufo", T_BOOL, 1, OFFLOAD), DEF("offload_csum", T_BOOL, 1, OFFLOAD),
       NO("fd", FD_WHY), NO("fds", FD_WHY));
/* virtio-fs on a vhost-user back-end. num_queues and queue_size default as in Cloud
 * Hypervisor's serde (the spec marks them required; runtime-rs leaves id null). */
SCHEMA(fs_s, MAP("tag", T_STR), MAP("socket", T_STR),
       NUM("num_queues", R_MAP, 1, KVMM_FS_MAX_QUEUES), NUM("queue_size", R_MAP, 1, 1024),
       MAP("id", T_STR), PCI_SEG);
SCHEMA(payload_s, NO("firmware", "not supported, use payload.kernel"), MAP("kernel", T_STR),
       MAP("cmdline", T_STR), MAP("initramfs", T_STR), NO("igvm", NO_CVM),
       NO("host_data", NO_CVM));
SCHEMA(topology_s, NUM("threads_per_core", R_IGNORE, 0, 0), NUM("cores_per_die", R_IGNORE, 0, 0),
       NUM("dies_per_package", R_IGNORE, 0, 0), NUM("packages", R_IGNORE, 0, 0));
SCHEMA(cpu_features_s, DEF("amx", T_BOOL, 0, NOT_YET));
SCHEMA(cpus_s, NUM("boot_vcpus", R_MAP, 1, KVMM_MAX_VCPUS), NUM("max_vcpus", R_MAP, 1, 0),
       OBJ("topology", R_IGNORE, topology_s), DEF("kvm_hyperv", T_BOOL, 0, NOT_YET),
       NUM("max_phys_bits", R_IGNORE, 0, 0), IGN("nested", T_BOOL),
       EMPTY("affinity", "vCPU pinning " NOT_YET), OBJ("features", R_IGNORE, cpu_features_s),
       IGN("core_scheduling", T_STR));
SCHEMA(memory_s, NUM("size", R_MAP, 0, 0), NUM("hotplug_size", R_MAP, 0, 0),
       DEF("hotplugged_size", T_UINT, 0, NO_VIRTIO_MEM), DEF("mergeable", T_BOOL, 0, NOT_YET),
       DEFS("hotplug_method", "Acpi", NO_VIRTIO_MEM), MAP("shared", T_BOOL), MAP("hugepages", T_BOOL),
       NUM("hugepage_size", R_MAP, 0, 0), DEF("prefault", T_BOOL, 0, NOT_YET),
       DEF("reserve", T_BOOL, 0, NOT_YET), MAP("thp", T_BOOL),
       EMPTY("zones", "memory zones " NOT_YET));
SCHEMA(rng_s, MAP("src", T_STR), IGN("id", T_STR), PCI_IGN, DEF("iommu", T_BOOL, 0, NO_IOMMU));
SCHEMA(vsock_s, NUM("cid", R_MAP, 3, 0xfffffffe), MAP("socket", T_STR), MAP("id", T_STR),
       PCI_IGN, DEF("iommu", T_BOOL, 0, NO_IOMMU));
/* Kata's client builds serial with NewConsoleConfig(), which adds "iommu": false. */
SCHEMA(serial_s, MAP("file", T_STR), IGN("socket", T_STR), MAP("mode", T_STR),
       DEF("iommu", T_BOOL, 0, NO_IOMMU));
SCHEMA(console_s, IGN("file", T_STR), IGN("socket", T_STR), MAP("mode", T_STR),
       DEF("iommu", T_BOOL, 0, NO_IOMMU), IGN("id", T_STR), PCI_IGN);
SCHEMA(debug_console_s, IGN("file", T_STR), MAP("mode", T_STR), NUM("iobase", R_IGNORE, 0, 0));
SCHEMA(pci_segment_s, NUM("pci_segment", R_IGNORE, 0, 0),
       NUM("mmio32_aperture_weight", R_IGNORE, 0, 0),
       NUM("mmio64_aperture_weight", R_IGNORE, 0, 0));
SCHEMA(platform_s, NUM("num_pci_segments", R_MAP, 1, KVMM_MAX_PCI_SEGMENTS), EMPTY("iommu_segments", NO_IOMMU),
       NUM("iommu_address_width_bits", R_IGNORE, 0, 0), IGN("system_serial_number", T_STR),
       IGN("serial_number", T_STR), IGN("system_uuid", T_STR), IGN("uuid", T_STR),
       ARR("oem_strings", R_IGNORE, T_STR, NULL), IGN("system_manufacturer", T_STR),
       IGN("system_product_name", T_STR), IGN("system_version", T_STR),
       IGN("system_family", T_STR), IGN("system_sku_number", T_STR),
       IGN("chassis_asset_tag", T_STR), DEF("tdx", T_BOOL, 0, NO_CVM),
       DEF("sev_snp", T_BOOL, 0, NO_CVM), DEF("iommufd", T_BOOL, 0, "no VFIO"),
       IGN("vfio_p2p_dma", T_BOOL));
SCHEMA(vm_s, OBJ("cpus", R_MAP, cpus_s), OBJ("memory", R_MAP, memory_s),
       OBJ("payload", R_MAP, payload_s),
       ARR("rate_limit_groups", R_MAP, T_OBJ, &limit_group_s),
       ARR("disks", R_MAP, T_OBJ, &disk_s), ARR("net", R_MAP, T_OBJ, &net_s),
       OBJ("rng", R_MAP, rng_s), NO("balloon", "virtio-balloon " NOT_YET),
       ARR("fs", R_MAP, T_OBJ, &fs_s), EMPTY("generic_vhost_user", NO_VHOST),
       EMPTY("pmem", "virtio-pmem " NOT_YET), OBJ("serial", R_MAP, serial_s),
       OBJ("console", R_MAP, console_s), OBJ("debug_console", R_MAP, debug_console_s),
       EMPTY("devices", "VFIO devices " NOT_YET), EMPTY("user_devices", "vfio-user " NOT_YET),
       EMPTY("vdpa", "vDPA devices " NOT_YET), OBJ("vsock", R_MAP, vsock_s),
       EMPTY("numa", "NUMA " NOT_YET), DEF("iommu", T_BOOL, 0, NO_IOMMU),
       DEF("watchdog", T_BOOL, 0, NOT_YET), NO("rtc", NOT_YET), IGN("pvpanic", T_BOOL),
       ARR("pci_segments", R_IGNORE, T_OBJ, &pci_segment_s),
       OBJ("platform", R_MAP, platform_s), NO("tpm", NOT_YET),
       DEF("landlock_enable", T_BOOL, 0, NOT_YET), EMPTY("landlock_rules", NOT_YET));

/* A member that is present and not null, or NULL. */
static json_t *get(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	return json_is_null(v) ? NULL : v;
}

#define STR(o, key) json_string_value(get(o, key))

static int set_str(char **dst, const char *s)
{
	char *d;

	if (!s)
		return 0;
	d = strdup(s);
	if (!d)
		return -ENOMEM;
	free(*dst);
	*dst = d;
	return 0;
}

void api_disk_config_free(struct disk_config *d)
{
	free(d->path);
	free(d->id);
	free(d->serial);
	memset(d, 0, sizeof(*d));
}

void api_net_config_free(struct net_config *n)
{
	free(n->tap);
	free(n->id);
	memset(n, 0, sizeof(*n));
	n->fd = -1;
}

/* A TokenBucket: size and refill_time required (Cloud Hypervisor's), ranges checked by
 * config_validate() with the rest (refill_time 0 with a size). */
static int map_bucket(json_t *o, const char *key, struct rl_bucket_config *b, struct ctx *x)
{
	json_t *t = get(o, key);
	size_t old;
	int ret = 0;

	if (!t)
		return 0;
	old = schema_push(x, key, 0);
	if (!get(t, "size"))
		ret = bad(x, "size", "missing");
	else if (!get(t, "refill_time"))
		ret = bad(x, "refill_time", "missing");
	schema_pop(x, old);
	b->size = (uint64_t)json_integer_value(get(t, "size"));
	b->one_time_burst = (uint64_t)json_integer_value(get(t, "one_time_burst"));
	b->refill_time = (uint64_t)json_integer_value(get(t, "refill_time"));
	return ret;
}

/* O's rate_limiter_config (a RateLimiterConfig) into C; absent: all 0. */
static int map_limits(json_t *o, struct rl_config *c, struct ctx *x)
{
	json_t *l = get(o, "rate_limiter_config");
	size_t old;
	int ret;

	memset(c, 0, sizeof(*c));
	if (!l)
		return 0;
	old = schema_push(x, "rate_limiter_config", 0);
	ret = map_bucket(l, "bandwidth", &c->bw, x) ?: map_bucket(l, "ops", &c->ops, x);
	schema_pop(x, old);
	return ret;
}

static int map_disk(json_t *o, struct disk_config *d, struct ctx *x)
{
	const char *path = STR(o, "path"), *id = STR(o, "id"), *serial = STR(o, "serial");
	const char *type = STR(o, "image_type"), *group = STR(o, "rate_limit_group");

	memset(d, 0, sizeof(*d));
	if (!path || !*path)
		return bad(x, "path", "missing");
	if (type && strcmp(type, "Raw"))
		return bad(x, "image_type", "'%s' not supported, only Raw", type);
	if (id && !*id)
		return bad(x, "id", "empty");
	if (serial && strlen(serial) > KVMM_SERIAL_MAX)
		return bad(x, "serial", "longer than %u bytes", KVMM_SERIAL_MAX);
	if (group && (!*group || strlen(group) > KVMM_RL_GROUP_ID_MAX))
		return bad(x, "rate_limit_group", "'%s' is not a group id (1-%u bytes)", group,
			   KVMM_RL_GROUP_ID_MAX);
	if (map_limits(o, &d->rate_limit, x))
		return -EINVAL;
	if (group)
		strcpy(d->rate_limit_group, group);
	d->readonly = json_is_true(get(o, "readonly"));
	d->direct = json_is_true(get(o, "direct"));
	d->pci_segment = (unsigned int)json_integer_value(get(o, "pci_segment"));
	if (set_str(&d->path, path) || set_str(&d->id, id) || set_str(&d->serial, serial)) {
		api_disk_config_free(d);
		return -ENOMEM;
	}
	return 0;
}

static int map_net(json_t *o, struct net_config *n, bool need_tap, struct ctx *x)
{
	const char *tap = STR(o, "tap"), *mac = STR(o, "mac"), *id = STR(o, "id");

	memset(n, 0, sizeof(*n));
	n->fd = -1;
	if (!tap && need_tap)
		return bad(x, "tap", "missing (TAP fds can only be passed with vm.add-net)");
	if (tap && (!*tap || strlen(tap) > 15))
		return bad(x, "tap", "'%s' is not an interface name (1-15 bytes)", tap);
	if (mac && parse_mac(mac, n->mac))
		return bad(x, "mac", "'%s' is not a MAC address", mac);
	if (mac && (n->mac[0] & 1))
		return bad(x, "mac", "'%s' is a multicast address", mac);
	if (id && !*id)
		return bad(x, "id", "empty");
	if (map_limits(o, &n->rate_limit, x))
		return -EINVAL;
	n->has_mac = mac != NULL;
	n->pci_segment = (unsigned int)json_integer_value(get(o, "pci_segment"));
	if (set_str(&n->tap, tap) || set_str(&n->id, id)) {
		api_net_config_free(n);
		return -ENOMEM;
	}
	return 0;
}

void api_fs_config_free(struct fs_config *f)
{
	free(f->tag);
	free(f->socket);
	free(f->id);
	memset(f, 0, sizeof(*f));
}

/* The ranges of num_queues and queue_size are the schema's; config_validate() checks the
 * rest again for the command line. */
static int map_fs(json_t *o, struct fs_config *f, struct ctx *x)
{
	const char *tag = STR(o, "tag"), *sock = STR(o, "socket"), *id = STR(o, "id");
	json_t *nq = get(o, "num_queues"), *qs = get(o, "queue_size");

	memset(f, 0, sizeof(*f));
	if (!tag || !*tag)
		return bad(x, "tag", "missing (the name the guest mounts)");
	if (strlen(tag) > KVMM_FS_TAG_MAX)
		return bad(x, "tag", "'%s' is %zu bytes, virtio-fs allows 1-%u", tag, strlen(tag),
			   KVMM_FS_TAG_MAX);
	if (!sock || !*sock)
		return bad(x, "socket", "missing (the vhost-user back-end's, e.g. virtiofsd's)");
	if (id && !*id)
		return bad(x, "id", "empty");
	f->num_queues = nq ? (unsigned int)json_integer_value(nq) : 1;
	f->queue_size = qs ? (unsigned int)json_integer_value(qs) : 1024;
	if (f->queue_size & (f->queue_size - 1))
		return bad(x, "queue_size", "%u is not a power of two", f->queue_size);
	f->pci_segment = (unsigned int)json_integer_value(get(o, "pci_segment"));
	if (set_str(&f->tag, tag) || set_str(&f->socket, sock) || set_str(&f->id, id)) {
		api_fs_config_free(f);
		return -ENOMEM;
	}
	return 0;
}

static int map_devices(json_t *vm, struct vmm_config *cfg, struct ctx *x)
{
	json_t *disks = get(vm, "disks"), *nets = get(vm, "net"), *fs = get(vm, "fs"), *item;
	size_t i, old;
	int ret = 0;

	if (json_array_size(disks) > KVMM_MAX_DISKS)
		return bad(x, "disks", "at most %u disks", KVMM_MAX_DISKS);
	if (json_array_size(nets) > KVMM_MAX_NETS)
		return bad(x, "net", "at most %u network devices", KVMM_MAX_NETS);
	if (json_array_size(fs) > KVMM_MAX_FS)
		return bad(x, "fs", "at most %u virtio-fs devices", KVMM_MAX_FS);
	json_array_foreach(disks, i, item) {
		old = schema_push(x, "disks", 0);
		schema_push(x, NULL, i);
		ret = map_disk(item, &cfg->disks[cfg->nr_disks], x);
		schema_pop(x, old);
		if (ret)
			return ret;
		cfg->nr_disks++;
	}
	json_array_foreach(nets, i, item) {
		old = schema_push(x, "net", 0);
		schema_push(x, NULL, i);
		ret = map_net(item, &cfg->nets[cfg->nr_nets], true, x);
		schema_pop(x, old);
		if (ret)
			return ret;
		cfg->nr_nets++;
	}
	json_array_foreach(fs, i, item) {
		old = schema_push(x, "fs", 0);
		schema_push(x, NULL, i);
		ret = map_fs(item, &cfg->fs[cfg->nr_fs], x);
		schema_pop(x, old);
		if (ret)
			return ret;
		cfg->nr_fs++;
	}
	return 0;
}

/* rate_limit_groups[]: {id, rate_limiter_config}; the disks naming one get its limits. */
static int map_rl_groups(json_t *vm, struct vmm_config *cfg, struct ctx *x)
{
	json_t *groups = get(vm, "rate_limit_groups"), *item;
	size_t i, old;
	int ret = 0;

	if (json_array_size(groups) > KVMM_MAX_RL_GROUPS)
		return bad(x, "rate_limit_groups", "at most %u groups", KVMM_MAX_RL_GROUPS);
	json_array_foreach(groups, i, item) {
		struct rl_group_config *g = &cfg->rl_groups[cfg->nr_rl_groups];
		const char *id = STR(item, "id");

		old = schema_push(x, "rate_limit_groups", 0);
		schema_push(x, NULL, i);
		memset(g, 0, sizeof(*g));
		if (!id || !*id || strlen(id) > KVMM_RL_GROUP_ID_MAX)
			ret = bad(x, "id", id ? "'%s' is not a group id (1-%u bytes)" :
				  "missing%s (1-%u bytes)", id ? id : "", KVMM_RL_GROUP_ID_MAX);
		else if (!get(item, "rate_limiter_config"))
			ret = bad(x, "rate_limiter_config", "missing");
		else
			ret = map_limits(item, &g->limits, x);
		schema_pop(x, old);
		if (ret)
			return ret;
		strcpy(g->id, id);
		cfg->nr_rl_groups++;
	}
	config_link_rl_groups(cfg);
	return 0;
}

/* Serial, console, debug console and rng. */
static int map_chardevs(json_t *vm, struct vmm_config *cfg, struct ctx *x)
{
	json_t *s = get(vm, "serial"), *rng = get(vm, "rng");
	const char *mode = STR(s, "mode"), *file = STR(s, "file");

	cfg->serial = SERIAL_OFF;	/* Cloud Hypervisor's default is Null */
	if (s && !mode)
		return bad(x, "serial.mode", "missing");
	if (mode && !strcmp(mode, "Tty")) {
		cfg->serial = SERIAL_TTY;
	} else if (mode && !strcmp(mode, "File")) {
		if (!file || !*file)
			return bad(x, "serial.file", "missing (serial.mode is File)");
		cfg->serial = SERIAL_FILE;
		if (set_str(&cfg->serial_path, file))
			return -ENOMEM;
	} else if (mode && strcmp(mode, "Off") && strcmp(mode, "Null")) {
		return bad(x, "serial.mode", "'%s' not supported (Tty, File, Null or Off)", mode);
	}
	s = get(vm, "console");
	mode = STR(s, "mode");
	if (s && !mode)
		return bad(x, "console.mode", "missing");
	if (mode && strcmp(mode, "Off"))
		return bad(x, "console.mode",
			   "'%s' not supported, only Off (no virtio-console yet)", mode);
	s = get(vm, "debug_console");
	mode = STR(s, "mode");
	if (s && !mode)
		return bad(x, "debug_console.mode", "missing");
	if (mode && strcmp(mode, "Off"))
		return bad(x, "debug_console.mode", "'%s' not supported, only Off", mode);
	if (rng && (!STR(rng, "src") || !*STR(rng, "src")))
		return bad(x, "rng.src", "missing");
	return set_str(&cfg->rng_src, STR(rng, "src"));
}

/* vsock {cid, socket, id}: the hybrid vsock device (the Kata agent channel). */
static int map_vsock(json_t *v, struct vmm_config *cfg, struct ctx *x)
{
	const char *sock = STR(v, "socket"), *id = STR(v, "id");

	if (!v)
		return 0;
	if (!get(v, "cid"))
		return bad(x, "vsock.cid", "missing");
	if (!sock || !*sock)
		return bad(x, "vsock.socket", "missing");
	if (id && !*id)
		return bad(x, "vsock.id", "empty");
	cfg->vsock.cid = (uint64_t)json_integer_value(get(v, "cid"));
	if (id && set_str(&cfg->vsock.id, id))
		return -ENOMEM;
	return set_str(&cfg->vsock.socket, sock);
}

static int map_vm(json_t *vm, struct vmm_config *cfg, struct ctx *x)
{
	json_t *p = get(vm, "payload"), *cpus = get(vm, "cpus"), *mem = get(vm, "memory");
	json_t *boot = get(cpus, "boot_vcpus"), *max = get(cpus, "max_vcpus");
	const char *kernel = STR(p, "kernel"), *initrd = STR(p, "initramfs");

	if (!p)
		return bad(x, "payload", "missing");
	if (!kernel || !*kernel)
		return bad(x, "payload.kernel", "missing");
	if (initrd && !*initrd)
		return bad(x, "payload.initramfs", "empty");
	if (cpus && !boot)
		return bad(x, "cpus.boot_vcpus", "missing");
	/* Kata always sends a max_vcpus: all host CPUs by default, which may be more than
	 * kvmm's KVMM_MAX_VCPUS; vCPU hot-plug then reaches that many (docs/api.md). */
	if (max && boot && json_integer_value(max) < json_integer_value(boot))
		return bad(x, "cpus.max_vcpus", "%" JSON_INTEGER_FORMAT " is below boot_vcpus "
			   "%" JSON_INTEGER_FORMAT, json_integer_value(max),
			   json_integer_value(boot));
	if (boot)
		cfg->boot_vcpus = (unsigned int)json_integer_value(boot);
	if (max)
		cfg->max_vcpus = json_integer_value(max) > KVMM_MAX_VCPUS ? KVMM_MAX_VCPUS
				 : (unsigned int)json_integer_value(max);
	if (mem && !get(mem, "size"))
		return bad(x, "memory.size", "missing");
	if (mem) {
		cfg->mem_size = (uint64_t)json_integer_value(get(mem, "size"));
		cfg->mem_thp = !json_is_false(get(mem, "thp"));
		cfg->mem_shared = json_is_true(get(mem, "shared"));
		cfg->mem_hugepages = json_is_true(get(mem, "hugepages"));
		cfg->mem_hotplug_size = (uint64_t)json_integer_value(get(mem, "hotplug_size"));
		if (get(mem, "hugepage_size"))
			cfg->mem_hugepage_size =
				(uint64_t)json_integer_value(get(mem, "hugepage_size"));
	}
	if (set_str(&cfg->kernel, kernel) || set_str(&cfg->initramfs, initrd) ||
	    set_str(&cfg->cmdline, STR(p, "cmdline")))
		return -ENOMEM;
	/* Kata sends two segments (virtio-fs on the second): each gets a host bridge. */
	if (get(get(vm, "platform"), "num_pci_segments"))
		cfg->pci_segments = (unsigned int)json_integer_value(
			get(get(vm, "platform"), "num_pci_segments"));
	if (map_chardevs(vm, cfg, x) || map_devices(vm, cfg, x) || map_rl_groups(vm, cfg, x))
		return -EINVAL;
	return map_vsock(get(vm, "vsock"), cfg, x);
}

int api_vm_config(const char *json, size_t len, struct vmm_config *cfg, char *err,
		  size_t errlen)
{
	struct ctx x = { .err = err, .errlen = errlen };
	json_t *root = schema_parse(json, len, &vm_s, &x);
	int ret;

	if (!root)
		return -EINVAL;
	ret = map_vm(root, cfg, &x);
	json_decref(root);
	if (!ret && config_validate(cfg, err, errlen))
		ret = -EINVAL;
	return ret;
}

int api_disk_config(const char *json, size_t len, struct disk_config *out, char *err,
		    size_t errlen)
{
	struct ctx x = { .err = err, .errlen = errlen };
	json_t *root = schema_parse(json, len, &disk_s, &x);
	int ret;

	memset(out, 0, sizeof(*out));
	if (!root)
		return -EINVAL;
	ret = map_disk(root, out, &x);
	json_decref(root);
	return ret;
}

int api_net_config(const char *json, size_t len, struct net_config *out, char *err,
		   size_t errlen)
{
	struct ctx x = { .err = err, .errlen = errlen };
	json_t *root = schema_parse(json, len, &net_s, &x);
	int ret;

	memset(out, 0, sizeof(*out));
	out->fd = -1;
	if (!root)
		return -EINVAL;
	ret = map_net(root, out, false, &x);
	json_decref(root);
	return ret;
}

int api_fs_config(const char *json, size_t len, struct fs_config *out, char *err,
		  size_t errlen)
{
	struct ctx x = { .err = err, .errlen = errlen };
	json_t *root = schema_parse(json, len, &fs_s, &x);
	int ret;

	memset(out, 0, sizeof(*out));
	if (!root)
		return -EINVAL;
	ret = map_fs(root, out, &x);
	json_decref(root);
	return ret;
}

int api_vsock_config(const char *json, size_t len, struct vmm_config *cfg, char *err,
		     size_t errlen)
{
	struct ctx x = { .err = err, .errlen = errlen };
	json_t *root = schema_parse(json, len, &vsock_s, &x);
	int ret;

	if (!root)
		return -EINVAL;
	ret = map_vsock(root, cfg, &x);
	json_decref(root);
	return ret;
}
