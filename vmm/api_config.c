/*
 * Cloud Hypervisor's VmConfig, DiskConfig and NetConfig JSON bodies into struct vmm_config,
 * VmInfo and VmmPingResponse out.  Two passes: check_obj() walks the document against the
 * schema tables below (unknown fields, types, ranges, ignored, default-only and refused
 * fields), then the map_*() functions read the mapped fields, whose types are then known.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api_config.h"

enum jtype { T_ANY, T_STR, T_BOOL, T_UINT, T_OBJ, T_ARR };
enum rule {
	R_MAP,		/* read by a map_*() function */
	R_IGNORE,	/* accepted with any value of its type, without effect */
	R_DEFAULT,	/* accepted only with its default value DEF */
	R_EMPTY,	/* an array, accepted only empty */
	R_REFUSE,	/* refused whenever present */
};

struct schema;

struct field {
	const char *name;
	unsigned char type, rule;
	unsigned char item;		/* T_ARR: the items' type */
	const struct schema *sub;	/* T_OBJ, or T_ARR of T_OBJ: the object's fields */
	json_int_t min, max;		/* T_UINT range; max 0: any */
	json_int_t def;			/* R_DEFAULT: the boolean or integer default */
	const char *why;		/* R_DEFAULT, R_EMPTY, R_REFUSE: the refusal */
};

struct schema {
	const struct field *f;
	unsigned int n;
};

#define MAP(n, t)		{ .name = n, .type = t, .rule = R_MAP }
#define IGN(n, t)		{ .name = n, .type = t, .rule = R_IGNORE }
#define NUM(n, r, lo, hi)	{ .name = n, .type = T_UINT, .rule = r, .min = lo, .max = hi }
#define DEF(n, t, d, w)		{ .name = n, .type = t, .rule = R_DEFAULT, .def = d, .why = w }
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
#define NO_VHOST	"vhost-user devices are not supported"
#define NO_CVM		"confidential guests are not supported"
#define NO_HOTPLUG	"memory hot-plug is not supported yet"
#define OFFLOAD		"kvmm always offers this offload"
#define FD_WHY		"TAP fds are passed with vm.add-net as SCM_RIGHTS, not in the body"
#define PCI_IGN		NUM("pci_segment", R_IGNORE, 0, 0), NUM("pci_device_id", R_IGNORE, 0, 0)

SCHEMA(bucket_s, NUM("size", R_IGNORE, 0, 0), NUM("one_time_burst", R_IGNORE, 0, 0),
       NUM("refill_time", R_IGNORE, 0, 0));
SCHEMA(limiter_s, OBJ("bandwidth", R_IGNORE, bucket_s), OBJ("ops", R_IGNORE, bucket_s));
SCHEMA(limit_group_s, IGN("id", T_STR), OBJ("rate_limiter_config", R_IGNORE, limiter_s));
SCHEMA(qaffinity_s, NUM("queue_index", R_IGNORE, 0, 0),
       ARR("host_cpus", R_IGNORE, T_UINT, NULL));
SCHEMA(disk_s, MAP("path", T_STR), MAP("readonly", T_BOOL), MAP("direct", T_BOOL),
       DEF("iommu", T_BOOL, 0, NO_IOMMU), NUM("num_queues", R_IGNORE, 1, 1024),
       NUM("queue_size", R_IGNORE, 1, 32768), DEF("vhost_user", T_BOOL, 0, NO_VHOST),
       NO("vhost_socket", NO_VHOST), OBJ("rate_limiter_config", R_IGNORE, limiter_s), PCI_IGN,
       MAP("id", T_STR), MAP("serial", T_STR), IGN("rate_limit_group", T_STR),
       ARR("queue_affinity", R_IGNORE, T_OBJ, &qaffinity_s), IGN("backing_files", T_BOOL),
       IGN("sparse", T_BOOL), MAP("image_type", T_STR), IGN("lock_granularity", T_STR));
SCHEMA(net_s, MAP("tap", T_STR), IGN("ip", T_STR), IGN("mask", T_STR), MAP("mac", T_STR),
       NO("host_mac", NOT_YET), NUM("mtu", R_IGNORE, 1, 65535),
       DEF("iommu", T_BOOL, 0, NO_IOMMU),
       DEF("num_queues", T_UINT, 2, "only one queue pair (num_queues 2) is supported"),
       NUM("queue_size", R_IGNORE, 1, 32768), DEF("vhost_user", T_BOOL, 0, NO_VHOST),
       NO("vhost_socket", NO_VHOST), IGN("vhost_mode", T_STR), MAP("id", T_STR), PCI_IGN,
       OBJ("rate_limiter_config", R_IGNORE, limiter_s), DEF("offload_tso", T_BOOL, 1, OFFLOAD),
       DEF("offload_ufo", T_BOOL, 1, OFFLOAD), DEF("offload_csum", T_BOOL, 1, OFFLOAD),
       NO("fd", FD_WHY), NO("fds", FD_WHY));
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
SCHEMA(memory_s, NUM("size", R_MAP, 0, 0), NUM("hotplug_size", R_IGNORE, 0, 0),
       DEF("hotplugged_size", T_UINT, 0, NO_HOTPLUG), DEF("mergeable", T_BOOL, 0, NOT_YET),
       IGN("hotplug_method", T_STR), IGN("shared", T_BOOL), DEF("hugepages", T_BOOL, 0, NOT_YET),
       NO("hugepage_size", NOT_YET), DEF("prefault", T_BOOL, 0, NOT_YET),
       DEF("reserve", T_BOOL, 0, NOT_YET), IGN("thp", T_BOOL),
       EMPTY("zones", "memory zones " NOT_YET));
SCHEMA(rng_s, MAP("src", T_STR), IGN("id", T_STR), PCI_IGN, DEF("iommu", T_BOOL, 0, NO_IOMMU));
SCHEMA(vsock_s, NUM("cid", R_MAP, 3, 0xfffffffe), MAP("socket", T_STR), IGN("id", T_STR),
       PCI_IGN, DEF("iommu", T_BOOL, 0, NO_IOMMU));
SCHEMA(serial_s, MAP("file", T_STR), IGN("socket", T_STR), MAP("mode", T_STR));
SCHEMA(console_s, IGN("file", T_STR), IGN("socket", T_STR), MAP("mode", T_STR),
       DEF("iommu", T_BOOL, 0, NO_IOMMU), IGN("id", T_STR), PCI_IGN);
SCHEMA(debug_console_s, IGN("file", T_STR), MAP("mode", T_STR), NUM("iobase", R_IGNORE, 0, 0));
SCHEMA(pci_segment_s, NUM("pci_segment", R_IGNORE, 0, 0),
       NUM("mmio32_aperture_weight", R_IGNORE, 0, 0),
       NUM("mmio64_aperture_weight", R_IGNORE, 0, 0));
SCHEMA(platform_s, NUM("num_pci_segments", R_IGNORE, 0, 0), EMPTY("iommu_segments", NO_IOMMU),
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
       ARR("rate_limit_groups", R_IGNORE, T_OBJ, &limit_group_s),
       ARR("disks", R_MAP, T_OBJ, &disk_s), ARR("net", R_MAP, T_OBJ, &net_s),
       OBJ("rng", R_MAP, rng_s), NO("balloon", "virtio-balloon " NOT_YET),
       EMPTY("fs", "virtio-fs " NOT_YET), EMPTY("generic_vhost_user", NO_VHOST),
       EMPTY("pmem", "virtio-pmem " NOT_YET), OBJ("serial", R_MAP, serial_s),
       OBJ("console", R_MAP, console_s), OBJ("debug_console", R_MAP, debug_console_s),
       EMPTY("devices", "VFIO devices " NOT_YET), EMPTY("user_devices", "vfio-user " NOT_YET),
       EMPTY("vdpa", "vDPA devices " NOT_YET), OBJ("vsock", R_MAP, vsock_s),
       EMPTY("numa", "NUMA " NOT_YET), DEF("iommu", T_BOOL, 0, NO_IOMMU),
       DEF("watchdog", T_BOOL, 0, NOT_YET), NO("rtc", NOT_YET), IGN("pvpanic", T_BOOL),
       ARR("pci_segments", R_IGNORE, T_OBJ, &pci_segment_s),
       OBJ("platform", R_IGNORE, platform_s), NO("tpm", NOT_YET),
       DEF("landlock_enable", T_BOOL, 0, NOT_YET), EMPTY("landlock_rules", NOT_YET));

/* The error message and the path of the value being looked at ("disks[1].path"). */
struct ctx {
	char *err;
	size_t errlen;
	size_t len;
	char path[160];
};

static size_t push(struct ctx *x, const char *key, size_t idx)
{
	size_t old = x->len, room = sizeof(x->path) - old;
	int n = key ? snprintf(x->path + old, room, "%s%s", old ? "." : "", key)
		    : snprintf(x->path + old, room, "[%zu]", idx);

	x->len = n < 0 || (size_t)n >= room ? sizeof(x->path) - 1 : old + (size_t)n;
	return old;
}

static void pop(struct ctx *x, size_t old)
{
	x->len = old;
	x->path[old] = '\0';
}

/* Writes "<path>: <message>" and returns -EINVAL. */
static int __attribute__((format(printf, 2, 3))) fail(struct ctx *x, const char *fmt, ...)
{
	int n = snprintf(x->err, x->errlen, "%s: ", x->path);
	va_list ap;

	if (n >= 0 && (size_t)n < x->errlen) {
		va_start(ap, fmt);
		vsnprintf(x->err + n, x->errlen - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

/* As fail() for the member KEY of the object at the current path. */
#define bad(x, key, ...) ({ size_t o_ = push(x, key, 0);				\
			    int r_ = fail(x, __VA_ARGS__); pop(x, o_); r_; })

static int check_obj(json_t *obj, const struct schema *s, struct ctx *x);

static int check_type(json_t *v, unsigned int type, const struct field *f, struct ctx *x)
{
	static const char *const what[] = { "", "a string", "true or false",
		"a non-negative integer", "an object", "an array" };
	bool ok = type == T_ANY || (type == T_STR && json_is_string(v)) ||
		  (type == T_BOOL && json_is_boolean(v)) || (type == T_OBJ && json_is_object(v)) ||
		  (type == T_ARR && json_is_array(v)) ||
		  (type == T_UINT && json_is_integer(v) && json_integer_value(v) >= 0);
	json_int_t i = json_integer_value(v);

	if (!ok)
		return fail(x, "expected %s", what[type]);
	if (type == T_UINT && f && (i < f->min || (f->max && i > f->max)))
		return fail(x, "%" JSON_INTEGER_FORMAT " out of range %" JSON_INTEGER_FORMAT "-%"
			    JSON_INTEGER_FORMAT, i, f->min,
			    f->max ? f->max : (json_int_t)LLONG_MAX);
	return 0;
}

static int check_field(json_t *v, const struct field *f, struct ctx *x)
{
	size_t i, old;
	json_t *item;

	if (json_is_null(v))
		return 0;
	if (f->rule == R_REFUSE)
		return fail(x, "%s", f->why);
	if (check_type(v, f->type, f, x))
		return -EINVAL;
	if (f->rule == R_DEFAULT && (f->type == T_BOOL ? json_is_true(v) != !!f->def
				     : json_integer_value(v) != f->def))
		return fail(x, "%s", f->why);
	if (f->rule == R_EMPTY && json_array_size(v))
		return fail(x, "%s", f->why);
	if (f->type == T_OBJ && f->sub)
		return check_obj(v, f->sub, x);
	json_array_foreach(f->type == T_ARR ? v : NULL, i, item) {
		old = push(x, NULL, i);
		if (check_type(item, f->item, NULL, x) ||
		    (f->sub && check_obj(item, f->sub, x)))
			return -EINVAL;
		pop(x, old);
	}
	return 0;
}

static int check_obj(json_t *obj, const struct schema *s, struct ctx *x)
{
	const char *key;
	unsigned int i;
	json_t *v;

	json_object_foreach(obj, key, v) {
		size_t old = push(x, key, 0);

		for (i = 0; i < s->n && strcmp(s->f[i].name, key); i++)
			;
		if (i == s->n) {
			snprintf(x->err, x->errlen, "unknown field '%s'", x->path);
			return -EINVAL;
		}
		if (check_field(v, &s->f[i], x))
			return -EINVAL;
		pop(x, old);
	}
	return 0;
}

static json_t *parse(const char *json, size_t len, const struct schema *s, struct ctx *x)
{
	json_error_t e;
	json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &e);

	if (!root) {
		snprintf(x->err, x->errlen, "invalid JSON: %s (line %d, column %d)", e.text,
			 e.line, e.column);
		return NULL;
	}
	if (!json_is_object(root)) {
		snprintf(x->err, x->errlen, "invalid JSON: expected an object");
	} else if (!check_obj(root, s, x)) {
		return root;
	}
	json_decref(root);
	return NULL;
}

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

static int map_disk(json_t *o, struct disk_config *d, struct ctx *x)
{
	const char *path = STR(o, "path"), *id = STR(o, "id"), *serial = STR(o, "serial");
	const char *type = STR(o, "image_type");

	memset(d, 0, sizeof(*d));
	if (!path || !*path)
		return bad(x, "path", "missing");
	if (type && strcmp(type, "Raw"))
		return bad(x, "image_type", "'%s' not supported, only Raw", type);
	if (id && !*id)
		return bad(x, "id", "empty");
	if (serial && strlen(serial) > KVMM_SERIAL_MAX)
		return bad(x, "serial", "longer than %u bytes", KVMM_SERIAL_MAX);
	d->readonly = json_is_true(get(o, "readonly"));
	d->direct = json_is_true(get(o, "direct"));
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
	n->has_mac = mac != NULL;
	if (set_str(&n->tap, tap) || set_str(&n->id, id)) {
		api_net_config_free(n);
		return -ENOMEM;
	}
	return 0;
}

static int map_devices(json_t *vm, struct vmm_config *cfg, struct ctx *x)
{
	json_t *disks = get(vm, "disks"), *nets = get(vm, "net"), *item;
	size_t i, old;
	int ret = 0;

	if (json_array_size(disks) > KVMM_MAX_DISKS)
		return bad(x, "disks", "at most %u disks", KVMM_MAX_DISKS);
	if (json_array_size(nets) > KVMM_MAX_NETS)
		return bad(x, "net", "at most %u network devices", KVMM_MAX_NETS);
	json_array_foreach(disks, i, item) {
		old = push(x, "disks", 0);
		push(x, NULL, i);
		ret = map_disk(item, &cfg->disks[cfg->nr_disks], x);
		pop(x, old);
		if (ret)
			return ret;
		cfg->nr_disks++;
	}
	json_array_foreach(nets, i, item) {
		old = push(x, "net", 0);
		push(x, NULL, i);
		ret = map_net(item, &cfg->nets[cfg->nr_nets], true, x);
		pop(x, old);
		if (ret)
			return ret;
		cfg->nr_nets++;
	}
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

/* vsock {cid, socket}: the hybrid vsock device (the Kata agent channel). */
static int map_vsock(json_t *v, struct vmm_config *cfg, struct ctx *x)
{
	const char *sock = STR(v, "socket");

	if (!v)
		return 0;
	if (!get(v, "cid"))
		return bad(x, "vsock.cid", "missing");
	if (!sock || !*sock)
		return bad(x, "vsock.socket", "missing");
	cfg->vsock.cid = (uint64_t)json_integer_value(get(v, "cid"));
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
	/* Kata always sends a max_vcpus (all host CPUs by default) and a memory.hotplug_size:
	 * both are accepted and ignored (no hot-plug yet: vm.resize answers 501), as long as
	 * they are consistent. */
	if (max && boot && json_integer_value(max) < json_integer_value(boot))
		return bad(x, "cpus.max_vcpus", "%" JSON_INTEGER_FORMAT " is below boot_vcpus "
			   "%" JSON_INTEGER_FORMAT, json_integer_value(max),
			   json_integer_value(boot));
	if (boot)
		cfg->boot_vcpus = (unsigned int)json_integer_value(boot);
	if (mem && !get(mem, "size"))
		return bad(x, "memory.size", "missing");
	if (mem)
		cfg->mem_size = (uint64_t)json_integer_value(get(mem, "size"));
	if (set_str(&cfg->kernel, kernel) || set_str(&cfg->initramfs, initrd) ||
	    set_str(&cfg->cmdline, STR(p, "cmdline")))
		return -ENOMEM;
	if (map_chardevs(vm, cfg, x) || map_devices(vm, cfg, x))
		return -EINVAL;
	return map_vsock(get(vm, "vsock"), cfg, x);
}

int api_vm_config(const char *json, size_t len, struct vmm_config *cfg, char *err,
		  size_t errlen)
{
	struct ctx x = { .err = err, .errlen = errlen };
	json_t *root = parse(json, len, &vm_s, &x);
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
	json_t *root = parse(json, len, &disk_s, &x);
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
	json_t *root = parse(json, len, &net_s, &x);
	int ret;

	memset(out, 0, sizeof(*out));
	out->fd = -1;
	if (!root)
		return -EINVAL;
	ret = map_net(root, out, false, &x);
	json_decref(root);
	return ret;
}

int api_vsock_config(const char *json, size_t len, struct vmm_config *cfg, char *err,
		     size_t errlen)
{
	struct ctx x = { .err = err, .errlen = errlen };
	json_t *root = parse(json, len, &vsock_s, &x);
	int ret;

	if (!root)
		return -EINVAL;
	ret = map_vsock(root, cfg, &x);
	json_decref(root);
	return ret;
}

/* Dumps and frees ROOT (NULL-safe): a malloc'd string, or NULL. */
static char *dump(json_t *root)
{
	char *s = root ? json_dumps(root, JSON_COMPACT) : NULL;

	json_decref(root);
	return s;
}

static json_t *devices_json(const struct vmm_config *cfg, bool nets)
{
	json_t *a = json_array();
	unsigned int i, n = nets ? cfg->nr_nets : cfg->nr_disks;
	char id[16], mac[18];

	for (i = 0; a && i < n; i++) {
		const struct disk_config *d = &cfg->disks[i];
		const struct net_config *t = &cfg->nets[i];
		const uint8_t *m = t->mac;

		snprintf(id, sizeof(id), "%s%u", nets ? "net" : "disk", i);
		snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2],
			 m[3], m[4], m[5]);
		if (json_array_append_new(a, nets ?
		    json_pack("{s:s*, s:s*, s:s, s:i}", "tap", t->tap,
			      "mac", t->has_mac ? mac : NULL, "id", t->id ? t->id : id,
			      "num_queues", 2) :
		    json_pack("{s:s?, s:b, s:b, s:s, s:s*, s:s}", "path", d->path,
			      "readonly", d->readonly, "direct", d->direct,
			      "id", d->id ? d->id : id, "serial", d->serial,
			      "image_type", "Raw"))) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

char *api_vm_info(const struct vmm_config *cfg, const char *state)
{
	static const char *const serial[] = {
		[SERIAL_TTY] = "Tty", [SERIAL_FILE] = "File", [SERIAL_OFF] = "Off" };
	json_t *c = json_pack("{s:{s:s?, s:s*, s:s*}, s:{s:i, s:i}, s:{s:I}, s:{s:s, s:s*},"
			      " s:{s:s}}",
			      "payload", "kernel", cfg->kernel, "cmdline", cfg->cmdline,
			      "initramfs", cfg->initramfs,
			      "cpus", "boot_vcpus", (int)cfg->boot_vcpus,
			      "max_vcpus", (int)cfg->boot_vcpus,
			      "memory", "size", (json_int_t)cfg->mem_size,
			      "serial", "mode", serial[cfg->serial],
			      "file", cfg->serial == SERIAL_FILE ? cfg->serial_path : NULL,
			      "console", "mode", "Off");

	if (!c || json_object_set_new(c, "disks", devices_json(cfg, false)) ||
	    json_object_set_new(c, "net", devices_json(cfg, true)) ||
	    (cfg->rng_src && json_object_set_new(c, "rng", json_pack("{s:s}", "src",
								      cfg->rng_src))) ||
	    (cfg->vsock.cid && json_object_set_new(c, "vsock", json_pack("{s:I, s:s}", "cid",
				(json_int_t)cfg->vsock.cid, "socket", cfg->vsock.socket)))) {
		json_decref(c);
		return NULL;
	}
	return dump(json_pack("{s:o, s:s, s:I}", "config", c, "state", state,
			      "memory_actual_size", (json_int_t)cfg->mem_size));
}

char *api_ping_json(const char *version)
{
	return dump(json_pack("{s:s, s:s, s:I, s:[]}", "build_version", version,
			      "version", version, "pid", (json_int_t)getpid(), "features"));
}
