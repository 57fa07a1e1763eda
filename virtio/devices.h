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
 * 0/-errno; on success *OUT is ready for a transport (transport.h). */
int virtio_blk_new(const struct disk_config *dc, unsigned int index, struct virtio_dev **out);
int virtio_rng_new(const char *src, struct virtio_dev **out);
int virtio_vsock_new(const struct vsock_config *vc, struct virtio_dev **out);
int virtio_net_new(const struct net_config *nc, unsigned int index, struct virtio_dev **out);
/* virtio-fs: connects to FC->socket and negotiates with the back-end there. */
int virtio_fs_new(const struct fs_config *fc, struct virtio_dev **out);

/*
 * Creates every virtio device VM->cfg asks for and puts it on the VM: on PCI (host bridges
 * for cfg->pci_segments segments, vm->pci) when the config asks for it or leaves it to the
 * arch (arch_pci_default()), else on virtio-mmio. 0/-errno.
 */
int virtio_devices_init(struct vm *vm);

/* The VM's virtio devices in creation order (vm.counters, vm.info). NULL past the last. */
struct virtio_dev *virtio_dev_at(struct vm *vm, unsigned int index);

/* Where D sits: "0000:00:01.0" on PCI, "mmio@0xd0000000" on virtio-mmio. */
void virtio_dev_where(const struct virtio_dev *d, char *buf, unsigned long len);

/* Stops every device's worker, destroys the devices and the PCI host bridges (VM teardown,
 * vCPUs stopped). */
void virtio_devices_destroy(struct vm *vm);

#endif
