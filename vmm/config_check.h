/*
 * Checks, before any KVM work, that what a config names on the host is there: files,
 * TAP interfaces and fds, vhost-user sockets, the directories sockets and logs go into.
 * So a typo is named on any host, also one without /dev/kvm, and before a VM is half made.
 */
#ifndef KVMM_CONFIG_CHECK_H
#define KVMM_CONFIG_CHECK_H

#include "config.h"

/*
 * Every file and interface CFG names: the kernel and initramfs (readable), each disk image
 * (openable as the disk will open it), each TAP (the interface exists, or the fd is open),
 * each virtio-fs socket (a socket is there; not connected to: a back-end serves one
 * connection), the vsock socket's and the serial file's directories, the entropy source.
 * Logs (pr_err) the first problem in the words the device itself would use and returns its
 * -errno; 0 when all are there.  Nothing is kept open.
 */
int config_check_host(const struct vmm_config *cfg);

#endif
