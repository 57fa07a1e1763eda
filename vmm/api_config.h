/*
 * Cloud Hypervisor's /api/v1 JSON bodies <-> struct vmm_config: VmConfig (vm.create),
 * DiskConfig (vm.add-disk), NetConfig (vm.add-net), FsConfig (vm.add-fs) and VsockConfig
 * (vm.add-vsock) in, VmInfo (vm.info) and VmmPingResponse (vmm.ping) out (api_config.c in,
 * api_info.c out).  The command line and the API fill the same structure and both are
 * checked by config_validate().  Pure: no I/O, no global state (jansson inside).
 *
 * Every field of the schema is either mapped, accepted and ignored (harmless: queue sizes,
 * PCI device ids, ...), accepted only with its default value, or refused; a field the schema
 * does not know is refused ("unknown field 'cpus.foo'").  docs/api.md has the table.  Numbers
 * must be JSON integers (no floats, no negatives) within the field's range.  Errors name the
 * field path, e.g. "disks[1].path: missing"; JSON null counts as absent.
 */
#ifndef KVMM_API_CONFIG_H
#define KVMM_API_CONFIG_H

#include <stddef.h>

#include "config.h"

/*
 * Fills CFG (config_init()'ed) from the VmConfig body JSON (LEN bytes, need not be
 * NUL-terminated), then runs config_validate().  Returns 0, -EINVAL with a message in ERR
 * (ERRLEN bytes) for a body to answer with 400, or -ENOMEM.  On error CFG may hold part of
 * the body: the caller still owns it and frees it with config_free().
 */
int api_vm_config(const char *json, size_t len, struct vmm_config *cfg, char *err,
		  size_t errlen);

/*
 * Parses a vm.add-disk DiskConfig body into OUT (overwritten; the caller frees it with
 * api_disk_config_free() or hands its strings over).  Same rules as a VmConfig.disks[] item,
 * errors name the field without a prefix ("path: missing").  0, -EINVAL or -ENOMEM; on
 * error OUT holds nothing to free.
 */
int api_disk_config(const char *json, size_t len, struct disk_config *out, char *err,
		    size_t errlen);

/*
 * Parses a vm.add-net NetConfig body into OUT (fd set to -1: the caller sets it from the fds
 * that came with the request as SCM_RIGHTS).  Unlike VmConfig.net[] items, `tap` is optional
 * here.  0, -EINVAL or -ENOMEM; on error OUT holds nothing to free.
 */
int api_net_config(const char *json, size_t len, struct net_config *out, char *err,
		   size_t errlen);

/*
 * Parses a vm.add-fs FsConfig body into OUT (overwritten; the caller frees it with
 * api_fs_config_free() or hands its strings over).  Same rules as a VmConfig.fs[] item:
 * num_queues and queue_size default to 1 and 1024 as in Cloud Hypervisor, and errors name the
 * field without a prefix ("tag: missing ...").  0, -EINVAL or -ENOMEM; on error OUT holds
 * nothing to free.
 */
int api_fs_config(const char *json, size_t len, struct fs_config *out, char *err,
		  size_t errlen);

/*
 * Parses a vm.add-vsock VsockConfig body ({cid, socket}) into CFG->vsock.  Errors name the
 * field as in a VmConfig ("vsock.cid: missing").  0, -EINVAL or -ENOMEM.
 */
int api_vsock_config(const char *json, size_t len, struct vmm_config *cfg, char *err,
		     size_t errlen);

/* Free the strings of a disk/net/fs config and clear it (fd is not closed). */
void api_disk_config_free(struct disk_config *d);
void api_net_config_free(struct net_config *n);
void api_fs_config_free(struct fs_config *f);

/*
 * VmInfo: {"config": <VmConfig echoing CFG in Cloud Hypervisor's names>, "state": STATE,
 * "memory_actual_size": CFG->mem_size}.  STATE is one of Created, Running, Shutdown, Paused.
 * Returns a malloc'd NUL-terminated string, or NULL when out of memory.
 */
char *api_vm_info(const struct vmm_config *cfg, const char *state);

/* VmmPingResponse: {"build_version": V, "version": V, "pid": getpid(), "features": []}. */
char *api_ping_json(const char *version);

#endif
