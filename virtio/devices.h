/*
 * The virtio devices kvmm offers, and the one place that creates them from the VM config.
 * A new device is one file with a *_new() constructor plus one entry in devices.c.
 */
#ifndef KVMM_VIRTIO_DEVICES_H
#define KVMM_VIRTIO_DEVICES_H

#include "config.h"
#include "virtio.h"

struct vm;

/* Constructors: open the back-end (a clear message on failure) and describe the device.
 * 0/-errno; on success *OUT is ready for virtio_mmio_add(). */
int virtio_blk_new(const struct disk_config *dc, unsigned int index, struct virtio_dev **out);
int virtio_rng_new(const char *src, struct virtio_dev **out);
int virtio_vsock_new(const struct vsock_config *vc, struct virtio_dev **out);
int virtio_net_new(const struct net_config *nc, unsigned int index, struct virtio_dev **out);

/* Creates every virtio device VM->cfg asks for and puts it on the VM. 0/-errno. */
int virtio_devices_init(struct vm *vm);

#endif
