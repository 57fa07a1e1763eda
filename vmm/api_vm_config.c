/*
 * The API's configuration endpoints, before boot: vm.create (a whole VmConfig), then
 * vm.add-disk, vm.add-net (with the TAP fd Kata sends as SCM_RIGHTS), vm.add-fs and
 * vm.add-vsock, which cold-plug one device each into the Created VM's config.  The bodies are
 * parsed by api_config.c; the config must stay valid (config_validate()) after every request.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api_config.h"
#include "api_internal.h"

/* vm.add-vsock before boot: the one vsock device goes into the config (cold-plug). */
static void add_vsock(struct api_vmm *v, const struct http_request *req, struct api_reply *rep)
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
		free(v->cfg.vsock.socket);
		v->cfg.vsock.socket = NULL;
		v->cfg.vsock.cid = 0;
		return api_error(rep, ret == -ENOMEM ? 500 : 400, "vm.add-vsock: %s",
				 ret == -ENOMEM ? "out of memory" : err);
	}
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

/* vm.create, vm.add-disk, vm.add-net, vm.add-fs, vm.add-vsock: configuration before boot. */
void api_vmm_configure(struct api_vmm *v, const char *ep, struct http_request *req,
		       struct api_reply *rep)
{
	char err[256] = "";
	int ret;

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
	if (v->state != API_CREATED)
		return api_error(rep, 405, "%s: hot-plug into a %s VM is not supported yet", ep,
				 api_state_names[v->state]);
	if (!strcmp(ep, "vm.add-vsock"))
		return add_vsock(v, req, rep);
	if (!strcmp(ep, "vm.add-disk")) {
		struct disk_config d = { 0 };

		if (v->cfg.nr_disks == KVMM_MAX_DISKS)
			return api_error(rep, 400, "vm.add-disk: at most %d disks", KVMM_MAX_DISKS);
		ret = api_disk_config(req->body, req->body_len, &d, err, sizeof(err));
		if (ret)
			return api_error(rep, 400, "vm.add-disk: %s", err);
		v->cfg.disks[v->cfg.nr_disks++] = d;
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
	rep->status = 204;
}
