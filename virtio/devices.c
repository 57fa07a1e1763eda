/*
 * Creates the VM's virtio devices from its config in a fixed order (disks, then network
 * devices, each in command-line order, then vsock, then the entropy device), so each device
 * gets the same MMIO slot and interrupt on every boot.
 */
#include <errno.h>

#include "devices.h"
#include "mmio.h"
#include "vm.h"

/* Puts a device that its constructor just made on the VM, or frees it. */
static int add(struct vm *vm, struct virtio_dev *d)
{
	int ret = virtio_mmio_add(vm, d);

	if (ret)
		d->ops->destroy(d);
	return ret;
}

int virtio_devices_init(struct vm *vm)
{
	const struct vmm_config *cfg = vm->cfg;
	struct virtio_dev *d = NULL;
	int ret;

	for (unsigned int i = 0; i < cfg->nr_disks; i++) {
		ret = virtio_blk_new(&cfg->disks[i], i, &d);
		if (!ret)
			ret = add(vm, d);
		if (ret)
			return ret;
	}
	for (unsigned int i = 0; i < cfg->nr_nets; i++) {
		ret = virtio_net_new(&cfg->nets[i], i, &d);
		if (!ret)
			ret = add(vm, d);
		if (ret)
			return ret;
	}
	if (cfg->vsock.cid) {
		ret = virtio_vsock_new(&cfg->vsock, &d);
		if (!ret)
			ret = add(vm, d);
		if (ret)
			return ret;
	}
	if (cfg->rng_src) {
		ret = virtio_rng_new(cfg->rng_src, &d);
		if (!ret)
			ret = add(vm, d);
		if (ret)
			return ret;
	}
	return 0;
}
