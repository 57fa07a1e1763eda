/*
 * Private to api_vm.c, api_vm_config.c and api_info.c, not a public contract (that is api.h):
 * the VM side's state, which the endpoint handlers of the three files share, and the handlers
 * that api_vm.c's dispatch calls in the other two.
 */
#ifndef KVMM_API_INTERNAL_H
#define KVMM_API_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>

#include "api.h"
#include "config.h"
#include "http.h"
#include "vm.h"

struct api_vmm {
	enum api_state state;
	struct vmm_config cfg;		/* valid from Created on */
	enum virtio_transport_kind transport;	/* --virtio-transport: the process's, for every VM */
	int wake_fd;			/* the VM thread ended on its own */

	pthread_mutex_t lock;		/* guards what the VM thread shares: */
	pthread_cond_t cond;
	struct vm *vm;			/* between the running and stopping hooks */
	bool started;			/* the running hook fired */
	bool ended;			/* vm_run returned */
	bool joinable;
	enum vm_stop stop;		/* why, once ended */
	char error[256];		/* the VM thread's first error */
	pthread_t thread;
};

/* vm.info's name of each enum api_state ("NotCreated", "Created", ...). */
extern const char *const api_state_names[];

/*
 * api_vm_config.c: vm.create, vm.add-disk, vm.add-net, vm.add-fs and vm.add-vsock (EP, the
 * endpoint's name): the configuration before boot, and hot-plug of disks, NICs and fs devices
 * into a running VM.  Sets REP: 204 (before boot), 200 with PciDeviceInfo (hot-plug), or the
 * error (404 without a VM, 405 for vsock after boot, 409 for a second VM or a taken id, 400
 * for a bad body or a VM that cannot hot-plug, 500 when the device could not be made).
 */
void api_vmm_configure(struct api_vmm *v, const char *ep, struct http_request *req,
		       struct api_reply *rep);

/*
 * api_vm_config.c: vm.remove-device {"id"}: before boot the device leaves the config; on a
 * running VM the guest is asked to eject it (204), and it leaves the config once the guest
 * has.  404 for an unknown id, 409 while its removal is pending, 400 for a device kvmm does
 * not remove (vsock, rng) or a VM that cannot hot-plug.
 */
void api_vmm_remove_device(struct api_vmm *v, struct http_request *req, struct api_reply *rep);

/* api_info.c: the vm.info body: api_vm_info() of the config, plus the running VM's
 * device_tree (each virtio device's id and, on PCI, its pci_bdf). NULL: out of memory. */
char *api_vmm_info(struct api_vmm *v);

/* api_info.c: vm.counters of a running or paused VM into REP (200 and the JSON, or the error). */
void api_vmm_counters(struct api_vmm *v, struct api_reply *rep);

#endif
