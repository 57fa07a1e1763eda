/*
 * The API's configuration endpoints: vm.create (a whole VmConfig), then vm.add-disk,
 * vm.add-net (with the TAP fd Kata sends as SCM_RIGHTS), vm.add-fs and vm.add-vsock, which
 * cold-plug one device each into the Created VM's config, and hot-plug disks, NICs, fs
 * devices and the vsock device into a running one (virtio/devices.c); vm.remove-device.  The bodies are parsed by
 * api_config.c; the config must stay valid (config_validate()) after every request, and a
 * refused request leaves it and the VM as they were.
 *
 * Locking: while a VM runs, its thread changes the config too (a device the guest ejected
 * leaves it, api_vm.c's hook_device_removed), so requests then hold v->lock while they touch
 * the config, which also keeps the VM from being torn down under them.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api_config.h"
#include "api_internal.h"
#include "arch.h"
#include "devices.h"
#include "log.h"

static int hotplug(struct api_vmm *v, const char *ep, struct api_reply *rep);

/* Takes the vsock device out of the config. */
static void vsock_take_back(struct vmm_config *cfg)
{
	free(cfg->vsock.socket);
	free(cfg->vsock.id);
	cfg->vsock.socket = cfg->vsock.id = NULL;
	cfg->vsock.cid = 0;
}

/* vm.add-vsock: the one vsock device goes into the config (cold-plug), and with RUNNING
 * (v->lock held) into the VM. */
static void add_vsock(struct api_vmm *v, const struct http_request *req, struct api_reply *rep,
		      bool running)
{
	char err[256];
	int ret;

	if (v->cfg.vsock.cid)
		return api_error(rep, 400, "vm.add-vsock: the VM already has a vsock device (cid %"
				 PRIu64 "); kvmm has one per VM", (uint64_t)v->cfg.vsock.cid);
	ret = api_vsock_config(req->body, req->body_len, &v->cfg, err, sizeof(err));
	if (!ret)
		ret = config_validate(&v->cfg, err, sizeof(err));
	if (ret) {
		vsock_take_back(&v->cfg);
		/* Cloud Hypervisor's one id namespace: a taken id is a conflict. */
		return api_error(rep, ret == -ENOMEM ? 500 : ret == -EEXIST ? 409 : 400,
				 "vm.add-vsock: %s", ret == -ENOMEM ? "out of memory" : err);
	}
	if (running && hotplug(v, "vm.add-vsock", rep)) {
		vsock_take_back(&v->cfg);
		return;
	}
	if (!running)
		rep->status = 204;
}

/* Takes the device that EP just appended back out of the config (it failed validation). */
static void take_back(struct vmm_config *cfg, const char *ep)
{
	if (!strcmp(ep, "vm.add-disk")) {
		api_disk_config_free(&cfg->disks[--cfg->nr_disks]);
	} else if (!strcmp(ep, "vm.add-fs")) {
		api_fs_config_free(&cfg->fs[--cfg->nr_fs]);
	} else {
		struct net_config *n = &cfg->nets[--cfg->nr_nets];

		if (n->fd >= 0)
			close(n->fd);
		api_net_config_free(n);
	}
}

static void add_device(struct api_vmm *v, const char *ep, struct http_request *req,
		       struct api_reply *rep, bool running);

/* vm.create, vm.add-disk, vm.add-net, vm.add-fs, vm.add-vsock. */
void api_vmm_configure(struct api_vmm *v, const char *ep, struct http_request *req,
		       struct api_reply *rep)
{
	char err[256] = "";

	if (!strcmp(ep, "vm.create")) {
		struct vmm_config cfg;

		if (v->state != API_NO_VM)
			return api_error(rep, 409, "vm.create: a VM already exists (state %s)",
					 api_state_names[v->state]);
		config_init(&cfg);
		if (api_vm_config(req->body, req->body_len, &cfg, err, sizeof(err))) {
			config_free(&cfg);
			return api_error(rep, 400, "vm.create: %s", err);
		}
		cfg.transport = v->transport;
		v->cfg = cfg;
		v->state = API_CREATED;
		rep->status = 204;
		return;
	}
	if (v->state == API_NO_VM)
		return api_error(rep, 404, "%s: no VM (vm.create first)", ep);
	if (v->state == API_RUNNING || v->state == API_PAUSED) {
		pthread_mutex_lock(&v->lock);
		if (v->vm && !strcmp(ep, "vm.add-vsock"))
			add_vsock(v, req, rep, true);
		else if (v->vm)
			add_device(v, ep, req, rep, true);
		else
			api_error(rep, 405, "%s: the VM is shutting down", ep);
		pthread_mutex_unlock(&v->lock);
		return;
	}
	if (v->state != API_CREATED)
		return api_error(rep, 405, "%s: the VM is %s", ep, api_state_names[v->state]);
	if (!strcmp(ep, "vm.add-vsock"))
		return add_vsock(v, req, rep, false);
	add_device(v, ep, req, rep, false);
}

/* Hot-plugs the device EP just put in the config as its last entry of its kind. v->lock
 * held, the VM running. On failure the caller takes the entry back. */
static int hotplug(struct api_vmm *v, const char *ep, struct api_reply *rep)
{
	struct vmm_config *cfg = &v->cfg;
	enum virtio_kind kind;
	unsigned int index, named;
	char **idp, id[64], bdf[32];
	const char *why = "";
	json_t *body;
	int ret;

	if (!strcmp(ep, "vm.add-disk")) {
		kind = VIRTIO_KIND_DISK;
		index = cfg->nr_disks - 1;
		named = index;
		idp = &cfg->disks[index].id;
	} else if (!strcmp(ep, "vm.add-fs")) {
		kind = VIRTIO_KIND_FS;
		index = cfg->nr_fs - 1;
		named = cfg->nr_disks + cfg->nr_nets + index;
		idp = &cfg->fs[index].id;
	} else if (!strcmp(ep, "vm.add-vsock")) {
		kind = VIRTIO_KIND_VSOCK;
		index = 0;
		named = cfg->nr_disks + cfg->nr_nets + cfg->nr_fs;
		idp = &cfg->vsock.id;
	} else {
		kind = VIRTIO_KIND_NET;
		index = cfg->nr_nets - 1;
		named = cfg->nr_disks + index;
		idp = &cfg->nets[index].id;
	}
	/* The others are named already (config_resolve_ids() at boot): the lowest free
	 * default name. */
	if (!*idp) {
		config_device_id(cfg, named, id, sizeof(id));
		*idp = strdup(id);
		if (!*idp) {
			api_error(rep, 500, "%s: out of memory", ep);
			return -ENOMEM;
		}
	}
	log_clear_error();
	ret = virtio_device_hotplug(v->vm, kind, index, bdf, sizeof(bdf), &why);
	if (ret == -ENOTSUP) {
		api_error(rep, 400, "%s: hot-plug is not available on this %s VM: %s", ep,
			  arch_name, why);
		return ret;
	}
	if (ret == -ENOSPC) {
		api_error(rep, 400, "%s: no free PCI slot or interrupt vectors for %s", ep, *idp);
		return ret;
	}
	if (ret) {
		api_error(rep, 500, "%s: %s", ep, log_first_error()[0] ? log_first_error()
								   : strerror(-ret));
		return ret;
	}
	body = json_pack("{s:s, s:s}", "id", *idp, "bdf", bdf);
	rep->body = body ? json_dumps(body, JSON_COMPACT) : NULL;
	json_decref(body);
	/* The device is in: without a body the answer is still a success. */
	rep->status = rep->body ? 200 : 204;
	return 0;
}

/* vm.add-disk, vm.add-net, vm.add-fs: into the config, and with RUNNING into the VM. */
static void add_device(struct api_vmm *v, const char *ep, struct http_request *req,
		       struct api_reply *rep, bool running)
{
	char err[256] = "";
	int ret;

	if (!strcmp(ep, "vm.add-disk")) {
		struct disk_config d = { 0 };

		if (v->cfg.nr_disks == KVMM_MAX_DISKS)
			return api_error(rep, 400, "vm.add-disk: at most %d disks", KVMM_MAX_DISKS);
		ret = api_disk_config(req->body, req->body_len, &d, err, sizeof(err));
		if (ret)
			return api_error(rep, 400, "vm.add-disk: %s", err);
		v->cfg.disks[v->cfg.nr_disks++] = d;
		config_link_rl_groups(&v->cfg);	/* its rate_limit_group's limits */
	} else if (!strcmp(ep, "vm.add-fs")) {
		struct fs_config f;

		if (v->cfg.nr_fs == KVMM_MAX_FS)
			return api_error(rep, 400, "vm.add-fs: at most %d virtio-fs devices",
					 KVMM_MAX_FS);
		ret = api_fs_config(req->body, req->body_len, &f, err, sizeof(err));
		if (ret)
			return api_error(rep, ret == -ENOMEM ? 500 : 400, "vm.add-fs: %s",
					 ret == -ENOMEM ? "out of memory" : err);
		v->cfg.fs[v->cfg.nr_fs++] = f;
	} else {
		struct net_config n = { .fd = -1 };

		if (v->cfg.nr_nets == KVMM_MAX_NETS)
			return api_error(rep, 400, "vm.add-net: at most %d NICs", KVMM_MAX_NETS);
		ret = api_net_config(req->body, req->body_len, &n, err, sizeof(err));
		if (ret)
			return api_error(rep, 400, "vm.add-net: %s", err);
		/* Kata sends the TAP (one fd per queue pair) with the request. */
		if (req->nr_fds)
			n.fd = http_request_take_fd(req, 0);
		if (!n.tap && n.fd < 0) {
			free(n.id);
			return api_error(rep, 400, "vm.add-net: neither a tap name nor a TAP fd "
					 "(SCM_RIGHTS) was given");
		}
		v->cfg.nets[v->cfg.nr_nets++] = n;
	}
	ret = config_validate(&v->cfg, err, sizeof(err));
	if (ret) {
		/* The VM's config stays valid. */
		take_back(&v->cfg, ep);
		/* Cloud Hypervisor's one id namespace: a taken id is a conflict. */
		return api_error(rep, ret == -EEXIST ? 409 : 400, "%s: %s", ep, err);
	}
	if (running && hotplug(v, ep, rep)) {
		take_back(&v->cfg, ep);
		return;
	}
	if (!running)
		rep->status = 204;
}

void api_vmm_remove_device(struct api_vmm *v, struct http_request *req, struct api_reply *rep)
{
	json_error_t jerr;
	json_t *root = json_loadb(req->body, req->body_len, 0, &jerr);
	const char *id = NULL;
	char *name;
	int ret;

	if (!root || json_unpack(root, "{s:s}", "id", &id) || !*id) {
		json_decref(root);
		return api_error(rep, 400, "vm.remove-device: the body must be {\"id\": "
				 "\"<device id>\"}");
	}
	name = strdup(id);
	json_decref(root);
	if (!name)
		return api_error(rep, 500, "vm.remove-device: out of memory");
	if (v->state == API_NO_VM) {
		api_error(rep, 404, "vm.remove-device: no VM (vm.create first)");
	} else if (v->state == API_CREATED) {
		if (config_remove_device(&v->cfg, name))
			api_error(rep, 404, "vm.remove-device: no disk, NIC, fs or vsock device '%s'",
				  name);
		else
			rep->status = 204;
	} else if (v->state != API_RUNNING && v->state != API_PAUSED) {
		api_error(rep, 405, "vm.remove-device: the VM is %s", api_state_names[v->state]);
	} else {
		pthread_mutex_lock(&v->lock);
		ret = v->vm ? virtio_device_unplug(v->vm, name) : -ESRCH;
		pthread_mutex_unlock(&v->lock);
		switch (ret) {
		case 0:
			rep->status = 204;
			break;
		case -ENOENT:
			api_error(rep, 404, "vm.remove-device: no device '%s'", name);
			break;
		case -EALREADY:
			api_error(rep, 409, "vm.remove-device: '%s' is being removed already (the "
				  "guest has not ejected it yet)", name);
			break;
		case -EPERM:
			api_error(rep, 400, "vm.remove-device: '%s' is not a disk, NIC, fs or vsock "
				  "device; kvmm removes only those", name);
			break;
		case -ENOTSUP:
			api_error(rep, 400, "vm.remove-device: hot-plug is not available on this %s "
				  "VM (see vm.add-disk's answer for why)", arch_name);
			break;
		case -ESRCH:
			api_error(rep, 405, "vm.remove-device: the VM is shutting down");
			break;
		default:
			api_error(rep, 500, "vm.remove-device: telling the guest: %s",
				  strerror(-ret));
		}
	}
	free(name);
}
