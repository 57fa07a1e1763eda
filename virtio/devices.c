/*
 * Creates the VM's virtio devices from its config in a fixed order (disks, then network
 * devices, then virtio-fs devices, each in command-line order, then vsock, then the entropy
 * device), so each device
 * gets the same PCI slot of its segment (disks, NICs and fs devices name theirs, pci_segment; the rest
 * are on segment 0), or virtio-mmio window and interrupt, on every boot; chooses the
 * transport that carries them and, for PCI, sets up the host bridges; and tears all of it
 * down with the VM.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "arch.h"
#include "devices.h"
#include "log.h"
#include "pci.h"
#include "transport.h"
#include "vm.h"

/* Host bridges for CFG's PCI segments, on the VM's buses. */
static int pci_setup(struct vm *vm)
{
	struct pci_windows w[PCI_MAX_SEGMENTS];
	unsigned int n = vm->cfg->pci_segments;
	int ret;

	for (unsigned int i = 0; i < n; i++) {
		ret = arch_pci_windows(vm->cfg, i, &w[i]);
		if (ret) {
			pr_err("PCI: no room for segment %u of %u on %s", i, n, arch_name);
			return ret;
		}
	}
	vm->pci = calloc(1, sizeof(*vm->pci));
	if (!vm->pci)
		return -ENOMEM;
	ret = pci_host_init(vm->pci, n, w);
	if (ret) {
		free(vm->pci);
		vm->pci = NULL;
		return ret;
	}
	ret = pci_host_attach(vm->pci, &vm->mmio, &vm->pio);
	if (ret) {
		pr_err("PCI: registering the host bridges' windows: %s", strerror(-ret));
		return ret;
	}
	/* CONFIG_ADDRESS writes only matter to the CONFIG_DATA access after them. */
	ret = vm_coalesce_pio(vm, PCI_CF8_PORT, 4);
	if (ret)
		pr_debug("PCI: CONFIG_ADDRESS writes not coalesced: %s", strerror(-ret));
	return 0;
}

/* Whether this VM's virtio devices go on PCI. */
static bool want_pci(struct vm *vm)
{
	const char *why = NULL;

	switch (vm->cfg->transport) {
	case VIRTIO_TRANSPORT_MMIO:
		return false;
	case VIRTIO_TRANSPORT_PCI:
		if (!arch_msi_capable(vm))
			pr_warn("virtio-pci without MSIs on this host: devices use INTx");
		return true;
	case VIRTIO_TRANSPORT_AUTO:
		break;
	}
	if (arch_pci_default(vm, &why))
		return true;
	pr_info("virtio devices on virtio-mmio: %s", why ? why : "no PCI");
	return false;
}

/* Puts a device that its constructor just made on the VM (on PCI segment SEG), or frees it. */
static int add(struct vm *vm, struct virtio_dev *d, unsigned int seg)
{
	int ret = vm->pci ? virtio_pci_add(vm, d, seg) : virtio_mmio_add(vm, d);

	if (ret)
		d->ops->destroy(d);
	return ret;
}

int virtio_devices_init(struct vm *vm)
{
	const struct vmm_config *cfg = vm->cfg;
	struct virtio_dev *d = NULL;
	char id[64];
	int ret;

	if (want_pci(vm) && (ret = pci_setup(vm)))
		return ret;
	for (unsigned int i = 0; i < cfg->nr_disks; i++) {
		struct disk_config dc = cfg->disks[i];

		config_device_id(cfg, i, id, sizeof(id));
		dc.id = id;
		ret = virtio_blk_new(&dc, i, &d);
		if (!ret)
			ret = add(vm, d, dc.pci_segment);
		if (ret)
			return ret;
	}
	for (unsigned int i = 0; i < cfg->nr_nets; i++) {
		struct net_config nc = cfg->nets[i];

		config_device_id(cfg, cfg->nr_disks + i, id, sizeof(id));
		nc.id = id;
		ret = virtio_net_new(&nc, i, &d);
		if (!ret)
			ret = add(vm, d, nc.pci_segment);
		if (ret)
			return ret;
	}
	for (unsigned int i = 0; i < cfg->nr_fs; i++) {
		struct fs_config fc = cfg->fs[i];

		config_device_id(cfg, cfg->nr_disks + cfg->nr_nets + i, id, sizeof(id));
		fc.id = id;
		ret = virtio_fs_new(&fc, &d);
		if (!ret)
			ret = add(vm, d, fc.pci_segment);
		if (ret)
			return ret;
	}
	if (cfg->vsock.cid) {
		struct vsock_config vc = cfg->vsock;

		config_device_id(cfg, cfg->nr_disks + cfg->nr_nets + cfg->nr_fs, id, sizeof(id));
		vc.id = id;
		ret = virtio_vsock_new(&vc, &d);
		if (!ret)
			ret = add(vm, d, 0);
		if (ret)
			return ret;
	}
	if (cfg->rng_src) {
		ret = virtio_rng_new(cfg->rng_src, &d);
		if (!ret)
			ret = add(vm, d, 0);
		if (ret)
			return ret;
	}
	return 0;
}

int virtio_attach(struct vm *vm, struct virtio_transport *t)
{
	int ret;

	if (vm->nr_virtio == VM_MAX_VIRTIO)
		return -ENOSPC;
	ret = virtio_worker_start(t);
	if (!ret)
		vm->virtio[vm->nr_virtio++] = t;
	return ret;
}

struct virtio_dev *virtio_dev_at(struct vm *vm, unsigned int index)
{
	return index < vm->nr_virtio ? vm->virtio[index]->d : NULL;
}

void virtio_dev_where(const struct virtio_dev *d, char *buf, unsigned long len)
{
	d->t->ops->describe(d->t, buf, len);
}

void virtio_devices_destroy(struct vm *vm)
{
	for (unsigned int i = 0; i < vm->nr_virtio; i++) {
		struct virtio_transport *t = vm->virtio[i];
		struct virtio_dev *d = t->d;

		virtio_transport_free(t);
		d->ops->destroy(d);
	}
	vm->nr_virtio = 0;
	if (vm->pci) {
		pci_host_fini(vm->pci);
		free(vm->pci);
		vm->pci = NULL;
	}
}
