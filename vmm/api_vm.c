/*
 * The API's VM side: the state machine behind Cloud Hypervisor's vm.* and vmm.* endpoints
 * (no VM -> Created -> Running <-> Paused -> Shutdown), and the thread that runs the VM
 * (vm_run_hooked) so the API's event loop stays responsive while the guest runs. Every
 * endpoint is checked against the state, with the spec's codes: 404 when there is no VM,
 * 405 when its state does not allow the request, 409 for a second vm.create. Here are the
 * dispatch and the lifecycle endpoints; the configuration endpoints are in api_vm_config.c,
 * vm.counters and the bodies of vm.info and vmm.ping in api_info.c.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "api.h"
#include "api_config.h"
#include "api_internal.h"
#include "arch.h"
#include "log.h"
#include "thread.h"
#include "vm.h"

#define API_PREFIX "/api/v1/"
#define BOOT_WAIT_S 30		/* vm.boot waits this long for the vCPUs to start */

const char *const api_state_names[] = {
	[API_NO_VM] = "NotCreated", [API_CREATED] = "Created", [API_RUNNING] = "Running",
	[API_PAUSED] = "Paused", [API_SHUTDOWN] = "Shutdown",
};

static void hook_running(struct vm *vm, void *opaque)
{
	struct api_vmm *v = opaque;

	pthread_mutex_lock(&v->lock);
	v->vm = vm;
	v->started = true;
	pthread_cond_broadcast(&v->cond);
	pthread_mutex_unlock(&v->lock);
}

static void hook_stopping(struct vm *vm, void *opaque)
{
	struct api_vmm *v = opaque;

	(void)vm;
	pthread_mutex_lock(&v->lock);
	v->vm = NULL;
	pthread_mutex_unlock(&v->lock);
}

/* The guest ejected a hot-plugged (or cold-plugged) device and kvmm released it: it leaves
 * the config, so vm.info stops listing it and its id is free again. */
static void hook_device_removed(struct vm *vm, const char *id, void *opaque)
{
	struct api_vmm *v = opaque;

	(void)vm;
	pthread_mutex_lock(&v->lock);
	if (config_remove_device(&v->cfg, id))
		pr_warn("api: the released device %s was not in the config", id);
	pthread_mutex_unlock(&v->lock);
}

static void *vm_thread(void *opaque)
{
	struct api_vmm *v = opaque;
	struct vm_hooks hooks = {
		.running = hook_running, .stopping = hook_stopping,
		.device_removed = hook_device_removed, .opaque = v, .no_signals = true,
	};
	enum vm_stop stop;
	uint64_t one = 1;

	/* Named for what it is (the main thread, "kvmm", serves the API); only vCPU threads are
	 * vcpuN, which is what Kata's GetThreadIDs() looks for. */
	pthread_setname_np(pthread_self(), "vm");
	log_clear_error();
	stop = vm_run_hooked(&v->cfg, &hooks);
	pthread_mutex_lock(&v->lock);
	v->stop = stop;
	v->ended = true;
	snprintf(v->error, sizeof(v->error), "%s", log_first_error());
	pthread_cond_broadcast(&v->cond);
	pthread_mutex_unlock(&v->lock);
	if (write(v->wake_fd, &one, sizeof(one)) < 0)
		pr_warn("api: cannot wake the server: %s", strerror(errno));
	return NULL;
}

/* Starts the VM thread and waits until the vCPUs run or the VM failed. 0 or -errno (the
 * reason in v->error). */
static int vm_start(struct api_vmm *v)
{
	struct timespec until;
	int ret;

	v->started = v->ended = false;
	v->error[0] = '\0';
	ret = kvmm_thread_create(&v->thread, vm_thread, v);
	if (ret) {
		snprintf(v->error, sizeof(v->error), "cannot start the VM thread: %s", strerror(-ret));
		return ret;
	}
	v->joinable = true;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += BOOT_WAIT_S;
	pthread_mutex_lock(&v->lock);
	while (!v->started && !v->ended && ret != ETIMEDOUT)
		ret = pthread_cond_timedwait(&v->cond, &v->lock, &until);
	ret = v->started && !v->ended ? 0 : v->ended ? -EIO : -ETIMEDOUT;
	pthread_mutex_unlock(&v->lock);
	if (ret == -ETIMEDOUT)
		snprintf(v->error, sizeof(v->error), "the VM did not start within %d s", BOOT_WAIT_S);
	return ret;
}

/* Waits for the VM thread (after a stop request or its own end). */
static void vm_join(struct api_vmm *v)
{
	uint64_t drain;

	if (!v->joinable)
		return;
	pthread_join(v->thread, NULL);
	v->joinable = false;
	/* This end was asked for (or is being handled): no wake-up for it. */
	if (read(v->wake_fd, &drain, sizeof(drain)) < 0 && errno != EAGAIN)
		pr_warn("api: wake eventfd: %s", strerror(errno));
}

void api_vmm_stop(struct api_vmm *v)
{
	pthread_mutex_lock(&v->lock);
	if (v->vm)
		vm_request_stop(v->vm, VM_STOP_HOST);
	pthread_mutex_unlock(&v->lock);
	vm_join(v);
	if (v->state == API_RUNNING || v->state == API_PAUSED)
		v->state = API_SHUTDOWN;
}

int api_vmm_reap(struct api_vmm *v)
{
	if (!v->joinable)
		return -1;		/* already joined by a request that stopped it */
	vm_join(v);
	v->state = API_SHUTDOWN;
	switch (v->stop) {
	case VM_STOP_HOST:
		return -1;
	case VM_STOP_POWEROFF:
		pr_info("api: the guest powered off; exiting as Cloud Hypervisor does");
		return 0;
	case VM_STOP_REBOOT:
		pr_info("api: the guest rebooted; exiting with status 3");
		return 3;
	default:
		pr_err("api: the VM failed: %s", v->error);
		return 1;
	}
}

static void boot(struct api_vmm *v, struct api_reply *rep)
{
	/* Ids fixed now: a device removed later must not rename the others. */
	if (config_resolve_ids(&v->cfg))
		return api_error(rep, 500, "vm.boot: out of memory");
	if (vm_start(v)) {
		vm_join(v);
		api_error(rep, 500, "vm.boot: %s", v->error[0] ? v->error : "the VM stopped");
		return;
	}
	v->state = API_RUNNING;
	rep->status = 204;
}


void api_vmm_dump_vcpus(struct api_vmm *v)
{
	/* The lock keeps the VM from being torn down meanwhile (hook_stopping takes it). */
	pthread_mutex_lock(&v->lock);
	if (v->vm && (v->state == API_RUNNING || v->state == API_PAUSED)) {
		pr_warn("api: SIGUSR2: each vCPU logs its state%s",
			v->state == API_PAUSED ? " once the VM is resumed" : "");
		vm_request_vcpu_dump(v->vm);
	} else {
		pr_warn("api: SIGUSR2: no vCPU to report on (the VM is %s)",
			api_state_names[v->state]);
	}
	pthread_mutex_unlock(&v->lock);
}

/* vm.power-button: the guest hears its power button and decides what to do (with ACPI and
 * acpid, systemd-logind or the like: shut down, which ends kvmm as any poweroff does). */
static void power_button(struct api_vmm *v, struct api_reply *rep)
{
	int ret = -ESRCH;

	if (v->state != API_RUNNING)
		return api_error(rep, v->state == API_NO_VM ? 404 : 405,
				 "vm.power-button: the VM is %s, not running",
				 api_state_names[v->state]);
	/* The lock keeps the VM from being torn down meanwhile (hook_stopping takes it). */
	pthread_mutex_lock(&v->lock);
	if (v->vm)
		ret = arch_power_button(v->vm);
	pthread_mutex_unlock(&v->lock);
	if (ret == -ENOTSUP)
		return api_error(rep, 501, "vm.power-button: this %s VM has no power button (an "
				 "x86_64 VM has one only with ACPI tables, not with --no-acpi)",
				 arch_name);
	if (ret == -EBUSY)
		return api_error(rep, 500, "vm.power-button: the guest uses the power key's GPIO "
				 "line as an output");
	if (ret == -ESRCH)
		return api_error(rep, 405, "vm.power-button: the VM is shutting down");
	if (ret)
		return api_error(rep, 500, "vm.power-button: %s", strerror(-ret));
	rep->status = 204;
}

/* The endpoints that move the VM between states, and vm.power-button. */
static void lifecycle(struct api_vmm *v, const char *ep, struct api_reply *rep)
{
	enum api_state st = v->state;
	struct vm *vm;

	if (!strcmp(ep, "vm.power-button"))
		return power_button(v, rep);
	if (!strcmp(ep, "vm.boot")) {
		if (st != API_CREATED && st != API_SHUTDOWN)
			return api_error(rep, st == API_NO_VM ? 404 : 405, "vm.boot: the VM is %s",
					 api_state_names[st]);
		return boot(v, rep);
	}
	if (!strcmp(ep, "vm.delete")) {
		api_vmm_stop(v);
		if (st != API_NO_VM)
			config_free(&v->cfg);
		v->state = API_NO_VM;
		rep->status = 204;
		return;
	}
	if (st != API_RUNNING && st != API_PAUSED)
		return api_error(rep, st == API_NO_VM ? 404 : 405, "%s: the VM is %s, not running",
				 ep, api_state_names[st]);
	pthread_mutex_lock(&v->lock);
	vm = v->vm;
	pthread_mutex_unlock(&v->lock);
	rep->status = 204;
	if (!strcmp(ep, "vm.shutdown")) {
		api_vmm_stop(v);
	} else if (!strcmp(ep, "vm.reboot")) {
		api_vmm_stop(v);
		boot(v, rep);
	} else if (!strcmp(ep, "vm.pause")) {
		if (st == API_PAUSED || !vm || vm_pause(vm))
			return api_error(rep, 405, "vm.pause: the VM is %s", api_state_names[st]);
		v->state = API_PAUSED;
	} else if (!strcmp(ep, "vm.resume")) {
		if (st != API_PAUSED || !vm || vm_resume(vm))
			return api_error(rep, 405, "vm.resume: the VM is %s", api_state_names[st]);
		v->state = API_RUNNING;
	}
}


/* vm.resize's desired_ram: RAM up by plugging into the hot-plug region; the error answer
 * in REP.  0 when it is done (or nothing to do). */
static int resize_ram(struct api_vmm *v, uint64_t want, struct api_reply *rep)
{
	const char *why = "";
	int ret;

	pthread_mutex_lock(&v->lock);
	ret = v->vm ? vm_resize_memory(v->vm, want, &why) : -ESRCH;
	if (!ret)
		/* As Cloud Hypervisor does with ACPI hot-plug: memory.size is the RAM now
		 * (Kata's ResizeMemory reads it back from vm.info). */
		v->cfg.mem_size = want;
	pthread_mutex_unlock(&v->lock);
	switch (ret) {
	case 0:
		break;
	case -EINVAL:
	case -ENOSPC:
		api_error(rep, 400, "vm.resize: desired_ram %" PRIu64 ": %s", want, why);
		break;
	case -ENOTSUP:
		api_error(rep, 400, "vm.resize: memory hot-plug is not available on this %s VM: %s",
			  arch_name, why);
		break;
	case -ESRCH:
		api_error(rep, 405, "vm.resize: the VM is shutting down");
		break;
	default:
		api_error(rep, 500, "vm.resize: desired_ram %" PRIu64 ": %s (%s)", want, why,
			  strerror(-ret));
	}
	return ret;
}

/*
 * vm.resize {"desired_vcpus", "desired_ram", "desired_balloon"} on a running VM: vCPUs up
 * (made and announced; the guest onlines them) or down (the guest is asked to eject them),
 * RAM up (plugged and announced; the guest onlines it), 204 at once.  With both, the
 * vCPU count is checked against max_vcpus first, then RAM is added, then vCPUs.  The
 * balloon is not built (501).
 */
static void resize(struct api_vmm *v, struct http_request *req, struct api_reply *rep)
{
	json_error_t jerr;
	json_t *root = json_loadb(req->body, req->body_len, 0, &jerr), *cpus, *ram, *balloon;
	const char *why = "";
	json_int_t want = 0, want_ram = 0;
	int ret;

	cpus = json_object_get(root, "desired_vcpus");
	ram = json_object_get(root, "desired_ram");
	balloon = json_object_get(root, "desired_balloon");
	want = json_integer_value(cpus);
	want_ram = json_integer_value(ram);
	if (!json_is_object(root) || (!cpus && !ram && !balloon) ||
	    (cpus && !json_is_integer(cpus)) || (ram && !json_is_integer(ram))) {
		json_decref(root);
		return api_error(rep, 400, "vm.resize: the body must be {\"desired_vcpus\": N} "
				 "and/or {\"desired_ram\": BYTES} (or desired_balloon)");
	}
	json_decref(root);
	if (v->state != API_RUNNING && v->state != API_PAUSED)
		return api_error(rep, v->state == API_NO_VM ? 404 : 405,
				 "vm.resize: the VM is %s, not running", api_state_names[v->state]);
	if (balloon)
		return api_error(rep, 501, "vm.resize: desired_balloon is not implemented in kvmm "
				 "yet (no virtio-balloon)");
	if (cpus && (want < 1 || want > KVMM_MAX_VCPUS))
		return api_error(rep, 400, "vm.resize: desired_vcpus %" JSON_INTEGER_FORMAT
				 " out of range 1-%u", want, KVMM_MAX_VCPUS);
	if (ram && want_ram < 1)
		return api_error(rep, 400, "vm.resize: desired_ram %" JSON_INTEGER_FORMAT
				 " is not a size", want_ram);
	/* Where vCPUs cannot be hot-plugged max_vcpus is the boot count: vm_resize_vcpus()
	 * then says why, which "above max_vcpus" would hide. */
	pthread_mutex_lock(&v->lock);
	ret = cpus && v->vm && v->vm->cpu_eject_src.fd >= 0 &&
	      (unsigned int)want > v->vm->max_vcpus ? -EINVAL : 0;
	if (ret)
		api_error(rep, 400, "vm.resize: desired_vcpus %" JSON_INTEGER_FORMAT " is above "
			  "max_vcpus %u", want, v->vm->max_vcpus);
	pthread_mutex_unlock(&v->lock);
	if (ret || (ram && resize_ram(v, (uint64_t)want_ram, rep)))
		return;
	if (!cpus) {
		rep->status = 204;
		return;
	}
	pthread_mutex_lock(&v->lock);
	ret = v->vm ? vm_resize_vcpus(v->vm, (unsigned int)want, &why) : -ESRCH;
	if (ret == -EINVAL)
		api_error(rep, 400, "vm.resize: desired_vcpus %" JSON_INTEGER_FORMAT " is above "
			  "max_vcpus %u", want, v->vm->max_vcpus);
	pthread_mutex_unlock(&v->lock);
	switch (ret) {
	case 0:
		/* As Cloud Hypervisor does: boot_vcpus is the count now (Kata reads it back
		 * from vm.info to know how many CPUs its agent is to online). */
		pthread_mutex_lock(&v->lock);
		v->cfg.boot_vcpus = (unsigned int)want;
		pthread_mutex_unlock(&v->lock);
		rep->status = 204;
		break;
	case -EINVAL:
		break;
	case -EBUSY:
		api_error(rep, 429, "vm.resize: the guest has not ejected the vCPUs it was last "
			  "asked to; try again once it has");
		break;
	case -ENOTSUP:
		api_error(rep, 400, "vm.resize: vCPU hot-plug is not available on this %s VM: %s",
			  arch_name, why);
		break;
	case -ESRCH:
		api_error(rep, 405, "vm.resize: the VM is shutting down");
		break;
	default:
		api_error(rep, 500, "vm.resize: %s", strerror(-ret));
	}
}

struct endpoint {
	const char *name;
	enum http_method method;
	int kind;		/* 0 info, 1 configure, 2 lifecycle, 3 not implemented, 4 removal,
				 * 5 resize */
};

static const struct endpoint endpoints[] = {
	{ "vmm.ping", HTTP_GET, 0 }, { "vm.info", HTTP_GET, 0 }, { "vmm.shutdown", HTTP_PUT, 0 },
	{ "vm.create", HTTP_PUT, 1 }, { "vm.add-disk", HTTP_PUT, 1 }, { "vm.add-net", HTTP_PUT, 1 },
	{ "vm.boot", HTTP_PUT, 2 }, { "vm.shutdown", HTTP_PUT, 2 }, { "vm.reboot", HTTP_PUT, 2 },
	{ "vm.pause", HTTP_PUT, 2 }, { "vm.resume", HTTP_PUT, 2 }, { "vm.delete", HTTP_PUT, 2 },
	{ "vm.counters", HTTP_GET, 0 }, { "vm.power-button", HTTP_PUT, 2 },
	{ "vm.add-vsock", HTTP_PUT, 1 }, { "vm.add-fs", HTTP_PUT, 1 },
	{ "vm.add-device", HTTP_PUT, 3 }, { "vm.remove-device", HTTP_PUT, 4 },
	{ "vm.resize", HTTP_PUT, 5 }, { "vm.snapshot", HTTP_PUT, 3 }, { "vm.restore", HTTP_PUT, 3 },
	{ "vm.resize-disk", HTTP_PUT, 3 }, { "vm.resize-zone", HTTP_PUT, 3 },
	{ "vm.add-generic-vhost-user", HTTP_PUT, 3 }, { "vm.add-pmem", HTTP_PUT, 3 },
	{ "vm.add-vdpa", HTTP_PUT, 3 }, { "vm.add-user-device", HTTP_PUT, 3 },
	{ "vm.coredump", HTTP_PUT, 3 }, { "vm.nmi", HTTP_PUT, 3 },
	{ "vm.receive-migration", HTTP_PUT, 3 }, { "vm.send-migration", HTTP_PUT, 3 },
};

void api_vmm_handle(struct api_vmm *v, struct http_request *req, struct api_reply *rep,
		    bool *quit)
{
	const struct endpoint *e = NULL;
	const char *ep;

	if (strncmp(req->path, API_PREFIX, strlen(API_PREFIX)))
		return api_error(rep, 404, "no such endpoint %s (the API lives under /api/v1/)",
				 req->path);
	ep = req->path + strlen(API_PREFIX);
	for (size_t i = 0; i < sizeof(endpoints) / sizeof(endpoints[0]); i++)
		if (!strcmp(ep, endpoints[i].name))
			e = &endpoints[i];
	if (!e)
		return api_error(rep, 404, "no such endpoint %s", req->path);
	/* HEAD is GET without the body (the server drops it). */
	if (req->method != e->method && !(req->method == HTTP_HEAD && e->method == HTTP_GET))
		return api_error(rep, 405, "%s takes %s, not %s", ep,
				 e->method == HTTP_GET ? "GET" : "PUT", req->method_name);
	switch (e->kind) {
	case 0:
		if (!strcmp(ep, "vmm.shutdown")) {
			api_vmm_stop(v);
			*quit = true;
			rep->status = 204;
		} else if (!strcmp(ep, "vmm.ping")) {
			rep->status = 200;
			rep->body = api_ping_json(KVMM_VERSION);
		} else if (!strcmp(ep, "vm.counters")) {
			api_vmm_counters(v, rep);
			return;
		} else if (v->state == API_NO_VM) {
			api_error(rep, 404, "vm.info: no VM (vm.create first)");
		} else {
			rep->status = 200;
			rep->body = api_vmm_info(v);
		}
		if (rep->status == 200 && !rep->body)
			api_error(rep, 500, "%s: out of memory", ep);
		return;
	case 1:
		return api_vmm_configure(v, ep, req, rep);
	case 2:
		return lifecycle(v, ep, rep);
	case 4:
		return api_vmm_remove_device(v, req, rep);
	case 5:
		return resize(v, req, rep);
	}
	api_error(rep, 501, "%s is not implemented in kvmm yet", ep);
}

int api_vmm_from_cli(struct api_vmm *v, struct vmm_config *cfg)
{
	struct api_reply rep = { 0 };

	/* The command line's VM: created and booted at once, as Cloud Hypervisor does. */
	v->cfg = *cfg;
	v->cfg.api_socket = v->cfg.seccomp = v->cfg.log_file = NULL;
	memset(cfg->disks, 0, sizeof(cfg->disks));
	memset(cfg->nets, 0, sizeof(cfg->nets));
	memset(cfg->fs, 0, sizeof(cfg->fs));
	cfg->nr_disks = cfg->nr_nets = cfg->nr_fs = 0;
	cfg->kernel = cfg->initramfs = cfg->cmdline = cfg->serial_path = cfg->rng_src = NULL;
	cfg->vsock.socket = NULL;
	cfg->vsock.cid = 0;
	v->state = API_CREATED;
	boot(v, &rep);
	free(rep.body);
	return rep.status == 204 ? 0 : -EIO;
}

void api_vmm_set_transport(struct api_vmm *v, enum virtio_transport_kind t)
{
	v->transport = t;
}

struct api_vmm *api_vmm_new(int *wake_fd)
{
	struct api_vmm *v = calloc(1, sizeof(*v));

	if (!v)
		return NULL;
	v->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (v->wake_fd < 0) {
		free(v);
		return NULL;
	}
	pthread_mutex_init(&v->lock, NULL);
	pthread_cond_init(&v->cond, NULL);
	*wake_fd = v->wake_fd;
	return v;
}

void api_vmm_free(struct api_vmm *v)
{
	if (!v)
		return;
	api_vmm_stop(v);
	if (v->state != API_NO_VM)
		config_free(&v->cfg);
	close(v->wake_fd);
	pthread_cond_destroy(&v->cond);
	pthread_mutex_destroy(&v->lock);
	free(v);
}
