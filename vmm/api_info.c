/*
 * The bodies of the API's read-only answers: VmInfo (vm.info) and VmmPingResponse (vmm.ping)
 * from struct vmm_config, as api_config.h describes them, and vm.counters from the running
 * VM's virtio devices.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "api_config.h"
#include "api_internal.h"
#include "devices.h"
#include "exit.h"
#include "vcpu.h"
#include "vm.h"

/* Dumps and frees ROOT (NULL-safe): a malloc'd string, or NULL. */
static char *dump(json_t *root)
{
	char *s = root ? json_dumps(root, JSON_COMPACT) : NULL;

	json_decref(root);
	return s;
}

/* A RateLimiterConfig: the buckets that limit (size > 0); {} when none does. */
static json_t *limits_json(const struct rl_config *c)
{
	json_t *o = json_object();
	const struct rl_bucket_config *b[2] = { &c->bw, &c->ops };
	static const char *const name[2] = { "bandwidth", "ops" };

	for (unsigned int i = 0; o && i < 2; i++) {
		if (b[i]->size && json_object_set_new(o, name[i], json_pack("{s:I, s:I, s:I}",
				"size", (json_int_t)b[i]->size,
				"one_time_burst", (json_int_t)b[i]->one_time_burst,
				"refill_time", (json_int_t)b[i]->refill_time))) {
			json_decref(o);
			return NULL;
		}
	}
	return o;
}

/* Adds ITEM's rate_limiter_config (when C limits) and rate_limit_group (GROUP non-empty). */
static int add_limits(json_t *item, const struct rl_config *c, const char *group)
{
	if (!item)
		return -1;
	if (rl_config_enabled(c) &&
	    json_object_set_new(item, "rate_limiter_config", limits_json(c)))
		return -1;
	if (group && *group &&
	    json_object_set_new(item, "rate_limit_group", json_string(group)))
		return -1;
	return 0;
}

/* VmConfig.rate_limit_groups[]. */
static json_t *rl_groups_json(const struct vmm_config *cfg)
{
	json_t *a = json_array();

	for (unsigned int i = 0; a && i < cfg->nr_rl_groups; i++) {
		const struct rl_group_config *g = &cfg->rl_groups[i];

		if (json_array_append_new(a, json_pack("{s:s, s:o}", "id", g->id,
						       "rate_limiter_config",
						       limits_json(&g->limits)))) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

static json_t *devices_json(const struct vmm_config *cfg, bool nets)
{
	json_t *a = json_array();
	unsigned int i, n = nets ? cfg->nr_nets : cfg->nr_disks;
	char id[64], mac[18];

	for (i = 0; a && i < n; i++) {
		const struct disk_config *d = &cfg->disks[i];
		const struct net_config *t = &cfg->nets[i];
		const uint8_t *m = t->mac;
		json_t *item;

		config_device_id(cfg, nets ? cfg->nr_disks + i : i, id, sizeof(id));
		snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2],
			 m[3], m[4], m[5]);
		item = nets ?
		    json_pack("{s:s*, s:s*, s:s, s:i, s:i}", "tap", t->tap,
			      "mac", t->has_mac ? mac : NULL, "id", id,
			      "num_queues", 2, "pci_segment", (int)t->pci_segment) :
		    json_pack("{s:s?, s:b, s:b, s:s, s:s*, s:s, s:i}", "path", d->path,
			      "readonly", d->readonly, "direct", d->direct,
			      "id", id, "serial", d->serial,
			      "image_type", "Raw", "pci_segment", (int)d->pci_segment);
		if (add_limits(item, nets ? &t->rate_limit : &d->rate_limit,
			       nets ? NULL : d->rate_limit_group)) {
			json_decref(item);
			json_decref(a);
			return NULL;
		}
		if (json_array_append_new(a, item)) {	/* takes ITEM, even on failure */
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

/* VmConfig.fs[]: each virtio-fs device with its id (after the disks' and NICs'). */
static json_t *fs_json(const struct vmm_config *cfg)
{
	json_t *a = json_array();
	char id[64];

	for (unsigned int i = 0; a && i < cfg->nr_fs; i++) {
		const struct fs_config *f = &cfg->fs[i];

		config_device_id(cfg, cfg->nr_disks + cfg->nr_nets + i, id, sizeof(id));
		if (json_array_append_new(a, json_pack("{s:s, s:s, s:i, s:i, s:s, s:i}",
						       "tag", f->tag, "socket", f->socket,
						       "num_queues", (int)f->num_queues,
						       "queue_size", (int)f->queue_size, "id", id,
						       "pci_segment", (int)f->pci_segment))) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

/* VmInfo of CFG in STATE as JSON (NULL: out of memory). */
static json_t *vm_info_json(const struct vmm_config *cfg, const char *state)
{
	static const char *const serial[] = {
		[SERIAL_TTY] = "Tty", [SERIAL_FILE] = "File", [SERIAL_OFF] = "Off" };
	json_t *c = json_pack("{s:{s:s?, s:s*, s:s*}, s:{s:i, s:i}, s:{s:I, s:b, s:b, s:b},"
			      " s:{s:s, s:s*}, s:{s:s}, s:{s:i}}",
			      "payload", "kernel", cfg->kernel, "cmdline", cfg->cmdline,
			      "initramfs", cfg->initramfs,
			      "cpus", "boot_vcpus", (int)cfg->boot_vcpus,
			      "max_vcpus", (int)(cfg->max_vcpus > cfg->boot_vcpus ? cfg->max_vcpus
								     : cfg->boot_vcpus),
			      "memory", "size", (json_int_t)cfg->mem_size, "thp", cfg->mem_thp,
			      "shared", cfg->mem_shared, "hugepages", cfg->mem_hugepages,
			      "serial", "mode", serial[cfg->serial],
			      "file", cfg->serial == SERIAL_FILE ? cfg->serial_path : NULL,
			      "console", "mode", "Off",
			      "platform", "num_pci_segments", (int)cfg->pci_segments);

	if (c && cfg->mem_hugepage_size &&
	    json_object_set_new(json_object_get(c, "memory"), "hugepage_size",
				json_integer((json_int_t)cfg->mem_hugepage_size))) {
		json_decref(c);
		return NULL;
	}
	/* Kata's ResizeMemory caps a resize at what it reads here. */
	if (c && cfg->mem_hotplug_size &&
	    json_object_set_new(json_object_get(c, "memory"), "hotplug_size",
				json_integer((json_int_t)cfg->mem_hotplug_size))) {
		json_decref(c);
		return NULL;
	}
	if (!c || json_object_set_new(c, "disks", devices_json(cfg, false)) ||
	    json_object_set_new(c, "net", devices_json(cfg, true)) ||
	    json_object_set_new(c, "fs", fs_json(cfg)) ||
	    (cfg->nr_rl_groups &&
	     json_object_set_new(c, "rate_limit_groups", rl_groups_json(cfg))) ||
	    (cfg->rng_src && json_object_set_new(c, "rng", json_pack("{s:s}", "src",
								      cfg->rng_src))) ||
	    (cfg->vsock.cid && json_object_set_new(c, "vsock", json_pack("{s:I, s:s, s:s*}", "cid",
				(json_int_t)cfg->vsock.cid, "socket", cfg->vsock.socket,
				"id", cfg->vsock.id)))) {
		json_decref(c);
		return NULL;
	}
	return json_pack("{s:o, s:s, s:I}", "config", c, "state", state,
			      "memory_actual_size", (json_int_t)cfg->mem_size);
}

char *api_vm_info(const struct vmm_config *cfg, const char *state)
{
	return dump(vm_info_json(cfg, state));
}

/* {"<id>": {"id", "resources": [], "children": [], "pci_bdf"}} of the running VM's virtio
 * devices (Cloud Hypervisor's DeviceNode); pci_bdf only on PCI. Lock held. */
static json_t *device_tree(struct vm *vm)
{
	json_t *tree = json_object();
	struct virtio_dev *d;
	char where[32];

	for (unsigned int i = 0; tree && (d = virtio_dev_at(vm, i)); i++) {
		const char *id = d->id ? d->id : d->name;
		json_t *node = json_pack("{s:s, s:[], s:[]}", "id", id, "resources", "children");

		if (node && vm->pci) {
			virtio_dev_where(d, where, sizeof(where));
			json_object_set_new(node, "pci_bdf", json_string(where));
		}
		if (!node || json_object_set_new(tree, id, node)) {
			json_decref(tree);
			return NULL;
		}
	}
	return tree;
}

char *api_vmm_info(struct api_vmm *v)
{
	json_t *root, *tree = NULL;
	bool running;

	/* The lock keeps the VM from being torn down meanwhile (see api_vmm_counters), and
	 * its thread from changing the config (a device the guest ejected leaves it). */
	pthread_mutex_lock(&v->lock);
	root = vm_info_json(&v->cfg, api_state_names[v->state]);
	running = root && v->vm;
	if (running) {
		pthread_mutex_lock(&v->vm->devs_lock);
		tree = device_tree(v->vm);
		pthread_mutex_unlock(&v->vm->devs_lock);
	}
	pthread_mutex_unlock(&v->lock);
	if (running && (!tree || json_object_set_new(root, "device_tree", tree))) {
		json_decref(root);
		return NULL;
	}
	return dump(root);
}

char *api_ping_json(const char *version)
{
	return dump(json_pack("{s:s, s:s, s:I, s:[]}", "build_version", version,
			      "version", version, "pid", (json_int_t)getpid(), "features"));
}

/* vm.counters' "vmm" entry: the boot timer's split (boot_setup_us: process start to the first
 * KVM_RUN; boot_guest_us: to the guest's marker; boot_total_us; only once the guest wrote its
 * marker), the set-up by step once vcpu0 has run (boot_setup_us_process, _kvm, _ram, _vcpus,
 * _devices, _payload, _start: devices/boot_timer.h), and per exit reason the exits of all
 * vCPUs (exits_io, ...) and kvmm's time handling them (exit_us_io, ...). */
static json_t *vmm_counters(struct vm *vm)
{
	uint64_t exits[VCPU_STAT_REASONS] = { 0 }, ns[VCPU_STAT_REASONS] = { 0 };
	uint64_t setup, guest, total, steps[SETUP_STEPS];
	json_t *o = json_object();
	char key[64], name[32];

	if (!o)
		return NULL;
	if (boot_timer_us(&vm->boot_timer, &setup, &guest, &total)) {
		json_object_set_new(o, "boot_setup_us", json_integer((json_int_t)setup));
		json_object_set_new(o, "boot_guest_us", json_integer((json_int_t)guest));
		json_object_set_new(o, "boot_total_us", json_integer((json_int_t)total));
	}
	if (boot_timer_setup_split(&vm->boot_timer, steps, &total)) {
		for (unsigned int i = 0; i < SETUP_STEPS; i++) {
			snprintf(key, sizeof(key), "boot_setup_us_%s", setup_step_name(i));
			json_object_set_new(o, key, json_integer((json_int_t)steps[i]));
		}
	}
	vm_exit_totals(vm, exits, ns);
	for (unsigned int r = 0; r < VCPU_STAT_REASONS; r++) {
		size_t k;

		if (!exits[r])
			continue;
		snprintf(name, sizeof(name), "%s", exit_reason_name(r));
		for (k = 0; name[k]; k++)
			name[k] = (char)tolower((unsigned char)name[k]);
		snprintf(key, sizeof(key), "exits_%s", name);
		json_object_set_new(o, key, json_integer((json_int_t)exits[r]));
		snprintf(key, sizeof(key), "exit_us_%s", name);
		json_object_set_new(o, key, json_integer((json_int_t)(ns[r] / 1000)));
	}
	return o;
}

/* vm.counters: {"<device id>": {"<counter>": value, ...}, ...} of the running VM, and "vmm"
 * (vmm_counters). */
void api_vmm_counters(struct api_vmm *v, struct api_reply *rep)
{
	struct virtio_counter c[VIRTIO_MAX_COUNTERS];
	json_t *all = json_object(), *dev;
	struct virtio_dev *d;

	if (v->state != API_RUNNING && v->state != API_PAUSED) {
		json_decref(all);
		return api_error(rep, v->state == API_NO_VM ? 404 : 405, "vm.counters: the VM is %s, not running",
				 api_state_names[v->state]);
	}
	/* The lock keeps the VM from being torn down meanwhile (api_vm.c's hook_stopping
	 * takes it). */
	pthread_mutex_lock(&v->lock);
	if (v->vm)
		pthread_mutex_lock(&v->vm->devs_lock);
	for (unsigned int i = 0; all && v->vm && (d = virtio_dev_at(v->vm, i)); i++) {
		unsigned int n = d->ops->counters ? d->ops->counters(d, c) : 0;

		dev = json_object();
		for (unsigned int k = 0; dev && k < n; k++)
			json_object_set_new(dev, c[k].name, json_integer((json_int_t)c[k].value));
		/* Every device: what its driver had refused (virtio.h). */
		json_object_set_new(dev, "needs_reset", json_integer((json_int_t)atomic_load_explicit(
			&d->needs_reset, memory_order_relaxed)));
		json_object_set_new(dev, "features_refused", json_integer((json_int_t)
			atomic_load_explicit(&d->features_refused, memory_order_relaxed)));
		json_object_set_new(all, d->id ? d->id : d->name, dev);
	}
	if (v->vm)
		pthread_mutex_unlock(&v->vm->devs_lock);
	/* A device the user named "vmm" keeps its name. */
	if (all && v->vm && !json_object_get(all, "vmm"))
		json_object_set_new(all, "vmm", vmm_counters(v->vm));
	pthread_mutex_unlock(&v->lock);
	rep->body = all ? json_dumps(all, JSON_COMPACT) : NULL;
	json_decref(all);
	if (!rep->body)
		return api_error(rep, 500, "vm.counters: out of memory");
	rep->status = 200;
}
