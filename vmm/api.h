/*
 * The control socket (--api-socket): Cloud Hypervisor's /api/v1 dialect over a Unix socket,
 * so Kata's clh driver can spawn and steer kvmm unchanged. api.c is the server (socket,
 * connections, limits, the event loop on the main thread); api_vm.c holds the VM's state
 * machine and the endpoints (with api_vm_config.c and api_info.c). docs/api.md describes the
 * dialect as kvmm speaks it.
 */
#ifndef KVMM_API_H
#define KVMM_API_H

#include <stdbool.h>

#include "config.h"
#include "http.h"

/* Where the VM is, as vm.info reports it ("state"). */
enum api_state { API_NO_VM, API_CREATED, API_RUNNING, API_PAUSED, API_SHUTDOWN };

/* An endpoint's answer: STATUS and an optional malloc'd JSON body (freed by the server). */
struct api_reply {
	int status;
	char *body;
};

struct api_vmm;

/*
 * Serves the API socket until vmm.shutdown, a signal, or the end of a guest-initiated
 * shutdown (then, as Cloud Hypervisor does, kvmm exits). CFG holds the command line: its
 * api_socket (a path) or api_fd (an inherited listening socket), and, when it names a
 * kernel, a VM that is created and booted at once. Serving starts before /dev/kvm is
 * touched. Returns kvmm's exit status (main.c's codes).
 */
int api_main(struct vmm_config *cfg);

/* api_vm.c: the VM side. */
struct api_vmm *api_vmm_new(int *wake_fd);
void api_vmm_free(struct api_vmm *v);
/* Answers one request (the server has checked nothing but the HTTP syntax). Sets *QUIT when
 * the process should exit after this answer (vmm.shutdown). */
void api_vmm_handle(struct api_vmm *v, struct http_request *req, struct api_reply *rep,
		    bool *quit);
/* Creates (and boots) the VM the command line describes; 0 or -errno with a message. */
int api_vmm_from_cli(struct api_vmm *v, struct vmm_config *cfg);

/* The command line's --virtio-transport, which every VM this process creates follows. */
void api_vmm_set_transport(struct api_vmm *v, enum virtio_transport_kind t);
/* The VM thread ended on its own (WAKE_FD fired): returns -1 to keep serving, or the exit
 * status kvmm should end with (the guest powered off, rebooted, or failed). */
int api_vmm_reap(struct api_vmm *v);
/* Stops a running VM and waits for it (signals, vmm.shutdown). */
void api_vmm_stop(struct api_vmm *v);
/* SIGUSR2: each vCPU of a running or paused VM logs its state (vm_request_vcpu_dump);
 * without a VM, a log line that says so. */
void api_vmm_dump_vcpus(struct api_vmm *v);

/* Sets REP to STATUS with {"error": MSG}. */
void api_error(struct api_reply *rep, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
