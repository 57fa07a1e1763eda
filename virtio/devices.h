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

/* The VM's virtio devices in creation order (vm.counters, vm.info), NULL past the last.
 * From a thread other than the VM's own, hold vm->devs_lock over the walk and the use. */
struct virtio_dev *virtio_dev_at(struct vm *vm, unsigned int index);

/* The kinds of device that can be hot-plugged, and where their configs are. */
enum virtio_kind {
	VIRTIO_KIND_DISK,	/* cfg->disks[] */
	VIRTIO_KIND_NET,	/* cfg->nets[] */
	VIRTIO_KIND_FS,		/* cfg->fs[] */
	VIRTIO_KIND_VSOCK,	/* cfg->vsock (the index is ignored) */
};

/*
 * Hot-plugs device INDEX of KIND from the running VM's config (the caller has put it there,
 * validated, with its id): builds it, puts it in a free slot of its PCI segment and tells
 * the guest.  BDF gets its address ("0000:00:05.0").  API thread.  0; -ENOTSUP with *WHY
 * when the VM cannot hot-plug (virtio-mmio, no ACPI, aarch64); -ENOSPC for a full segment;
 * the constructor's -errno (logged).  On failure nothing of the device is left.
 */
int virtio_device_hotplug(struct vm *vm, enum virtio_kind kind, unsigned int index,
			  char *bdf, unsigned long len, const char **why);

/*
 * Asks the guest to eject the device ID; the device is released (and vm->hooks'
 * device_removed called) once the guest has.  0; -ENOENT (no such device), -EPERM (not a
 * disk, NIC, fs or vsock device), -EALREADY (asked already), -ENOTSUP (the VM cannot hot-plug), or
 * the -errno of notifying the guest.
 */
int virtio_device_unplug(struct vm *vm, const char *id);

/* Guest RAM grew: every device with a mem_changed op is told (virtio.h), before the guest
 * is.  From the API thread.  0, or the first device's -errno (the others are still told). */
int virtio_devices_mem_changed(struct vm *vm);

/* The platform's word that the guest ejected SLOTS (bit N: slot N) of PCI segment SEG.
 * Any thread; never blocks (the release runs on the VM's event loop). */
void virtio_devices_ejected(struct vm *vm, unsigned int seg, uint32_t slots);

/* Where D sits: "0000:00:01.0" on PCI, "mmio@0xd0000000" on virtio-mmio. */
void virtio_dev_where(const struct virtio_dev *d, char *buf, unsigned long len);

/* Stops every device's worker, destroys the devices and the PCI host bridges (VM teardown,
 * vCPUs stopped). */
void virtio_devices_destroy(struct vm *vm);

#endif
