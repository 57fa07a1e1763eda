/*
 * The VM's virtio devices: creates them from its config in a fixed order (disks, then
 * network devices, then virtio-fs devices, each in command-line order, then vsock, then the
 * entropy device), so each device gets the same PCI slot of its segment (disks, NICs and fs
 * devices name theirs, pci_segment; the rest are on segment 0), or virtio-mmio window and
 * interrupt, on every boot; chooses the transport that carries them and, for PCI, sets up
 * the host bridges; hot-plugs disks, NICs and fs devices into a running VM and releases
 * them once the guest ejected them; and tears all of it down with the VM.
 *
 * Hot-plug (PCI, where the arch can tell the guest: arch_pci_hotplug()): an add builds the
 * device from its config entry, puts it in the lowest free slot of its segment (MSI-X only:
 * the guest's interrupt routing table is written at boot) and notifies the guest.  A remove
 * only asks the guest to eject; the device stays whole (its worker, files, BAR range, MSI
 * routes, slot) until the guest's eject, which arrives on a vCPU thread and is handed to the
 * VM's event loop through an eventfd, so no vCPU ever waits for a device to wind down.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "arch.h"
#include "devices.h"
#include "evloop.h"
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

/* Puts a device that its constructor just made on the VM (on PCI segment SEG), or frees it.
 * A HOT-plugged PCI function goes without INTx: the guest's _PRT was written at boot. */
static int add(struct vm *vm, struct virtio_dev *d, unsigned int seg, bool hot)
{
	int ret = vm->pci ? virtio_pci_add(vm, d, seg, !hot) : virtio_mmio_add(vm, d);

	if (ret)
		d->ops->destroy(d);
	return ret;
}

/* Builds device I of KIND from the config (its id: config_device_id()), and says on which
 * PCI segment it goes.  The constructor logs what failed. */
static int make(struct vm *vm, enum virtio_kind kind, unsigned int i, struct virtio_dev **d,
		unsigned int *seg)
{
	const struct vmm_config *cfg = vm->cfg;
	char id[64];

	switch (kind) {
	case VIRTIO_KIND_DISK: {
		struct disk_config dc = cfg->disks[i];

		config_device_id(cfg, i, id, sizeof(id));
		dc.id = id;
		*seg = dc.pci_segment;
		return virtio_blk_new(&dc, i, d);
	}
	case VIRTIO_KIND_NET: {
		struct net_config nc = cfg->nets[i];

		config_device_id(cfg, cfg->nr_disks + i, id, sizeof(id));
		nc.id = id;
		*seg = nc.pci_segment;
		return virtio_net_new(&nc, i, d);
	}
	case VIRTIO_KIND_FS: {
		struct fs_config fc = cfg->fs[i];

		config_device_id(cfg, cfg->nr_disks + cfg->nr_nets + i, id, sizeof(id));
		fc.id = id;
		*seg = fc.pci_segment;
		return virtio_fs_new(&fc, d);
	}
	case VIRTIO_KIND_VSOCK: {
		struct vsock_config vc = cfg->vsock;

		config_device_id(cfg, cfg->nr_disks + cfg->nr_nets + cfg->nr_fs, id, sizeof(id));
		vc.id = id;
		*seg = 0;
		return virtio_vsock_new(&vc, d);
	}
	}
	return -EINVAL;
}

struct virtio_hotplug {
	_Atomic uint32_t ejected[PCI_MAX_SEGMENTS];	/* slots the guest ejected */
	struct ev_source src;				/* eventfd: ejects to look at */
};

static bool hot_pluggable(const struct virtio_dev *d)
{
	return d->device_id == VIRTIO_ID_BLOCK || d->device_id == VIRTIO_ID_NET ||
	       d->device_id == VIRTIO_ID_FS || d->device_id == VIRTIO_ID_VSOCK;
}

/* Takes T out of the VM's list.  devs_lock held. */
static void detach(struct vm *vm, struct virtio_transport *t)
{
	for (unsigned int i = 0; i < vm->nr_virtio; i++) {
		if (vm->virtio[i] != t)
			continue;
		memmove(&vm->virtio[i], &vm->virtio[i + 1],
			(vm->nr_virtio - i - 1) * sizeof(vm->virtio[0]));
		vm->nr_virtio--;
		return;
	}
}

/* The hot-pluggable device in SLOT of SEG, or NULL.  devs_lock held. */
static struct virtio_transport *in_slot(struct vm *vm, unsigned int seg, unsigned int slot)
{
	unsigned int s, n;

	for (unsigned int i = 0; i < vm->nr_virtio; i++) {
		struct virtio_transport *t = vm->virtio[i];

		if (t->ops->pci_slot && !t->ops->pci_slot(t, &s, &n) && s == seg && n == slot)
			return t;
	}
	return NULL;
}

/* Frees T and its device, now out of the list; tells the VM's owner (the API) that the
 * device left.  Event loop thread, devs_lock not held. */
static void release(struct vm *vm, struct virtio_transport *t, bool asked)
{
	struct virtio_dev *d = t->d;
	char id[64], where[32];

	snprintf(id, sizeof(id), "%s", d->id ? d->id : "");
	virtio_dev_where(d, where, sizeof(where));
	virtio_transport_free(t);
	d->ops->destroy(d);
	pr_info("%s at %s: ejected by the guest%s, released", id, where,
		asked ? "" : " (it was not asked to)");
	if (vm->hooks && vm->hooks->device_removed)
		vm->hooks->device_removed(vm, id, vm->hooks->opaque);
}

/* The event loop's half of an eject: releases what the guest let go of. */
static void on_ejected(void *opaque, uint32_t events)
{
	struct vm *vm = opaque;
	struct virtio_hotplug *hp = vm->hotplug;
	uint64_t n;

	(void)events;
	if (read(hp->src.fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		pr_warn("hot-plug: reading the eject eventfd: %s", strerror(errno));
	for (unsigned int seg = 0; seg < PCI_MAX_SEGMENTS; seg++) {
		uint32_t slots = atomic_exchange(&hp->ejected[seg], 0);

		for (unsigned int slot = 1; slot < PCI_NR_SLOTS; slot++) {
			struct virtio_transport *t;
			bool asked = false;

			if (!(slots & (1u << slot)))
				continue;
			pthread_mutex_lock(&vm->devs_lock);
			t = in_slot(vm, seg, slot);
			if (t && hot_pluggable(t->d)) {
				asked = t->unplug_pending;
				detach(vm, t);
			} else {
				if (t)
					pr_warn("%s: the guest ejected it; kvmm keeps it (only disks, "
						"NICs and fs devices are hot-pluggable)", t->d->name);
				t = NULL;
			}
			pthread_mutex_unlock(&vm->devs_lock);
			if (t)
				release(vm, t, asked);
		}
	}
}

void virtio_devices_ejected(struct vm *vm, unsigned int seg, uint32_t slots)
{
	struct virtio_hotplug *hp = vm->hotplug;
	uint64_t one = 1;

	if (!hp || seg >= PCI_MAX_SEGMENTS)
		return;
	atomic_fetch_or(&hp->ejected[seg], slots);
	if (write(hp->src.fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		pr_warn("hot-plug: signalling an eject: %s", strerror(errno));
}

/* The eject eventfd on the VM's event loop (PCI VMs). */
static int hotplug_setup(struct vm *vm)
{
	struct virtio_hotplug *hp = calloc(1, sizeof(*hp));
	int ret;

	if (!hp)
		return -ENOMEM;
	hp->src = (struct ev_source){ eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK), on_ejected, vm };
	if (hp->src.fd < 0) {
		ret = -errno;
		free(hp);
		return ret;
	}
	ret = evloop_add(&vm->loop, &hp->src, EPOLLIN);
	if (ret) {
		close(hp->src.fd);
		free(hp);
		return ret;
	}
	vm->hotplug = hp;
	return 0;
}

int virtio_device_hotplug(struct vm *vm, enum virtio_kind kind, unsigned int index,
			  char *bdf, unsigned long len, const char **why)
{
	struct virtio_dev *d = NULL;
	struct virtio_transport *t;
	unsigned int seg, slot;
	int ret;

	if (!vm->pci || !vm->hotplug) {
		*why = "the VM's devices are on virtio-mmio, not PCI";
		return -ENOTSUP;
	}
	if (!arch_pci_hotplug(vm, why))
		return -ENOTSUP;
	ret = make(vm, kind, index, &d, &seg);
	if (!ret)
		ret = add(vm, d, seg, true);
	if (ret)
		return ret;
	t = d->t;
	pthread_mutex_lock(&vm->devs_lock);
	ret = t->ops->pci_slot(t, &seg, &slot);
	if (!ret)
		ret = arch_pci_hotplug_notify(vm, seg, slot, true);
	if (ret) {
		pr_err("%s: telling the guest: %s", d->name, strerror(-ret));
		detach(vm, t);
	}
	pthread_mutex_unlock(&vm->devs_lock);
	if (ret) {
		virtio_transport_free(t);
		d->ops->destroy(d);
		return ret;
	}
	virtio_dev_where(d, bdf, len);
	pr_info("%s: hot-plugged at %s", d->name, bdf);
	return 0;
}

int virtio_device_unplug(struct vm *vm, const char *id)
{
	struct virtio_transport *t = NULL;
	unsigned int seg, slot;
	const char *why;
	int ret = -ENOENT;

	pthread_mutex_lock(&vm->devs_lock);
	for (unsigned int i = 0; i < vm->nr_virtio && !t; i++)
		if (vm->virtio[i]->d->id && !strcmp(vm->virtio[i]->d->id, id))
			t = vm->virtio[i];
	if (!t)
		goto out;
	ret = -EPERM;
	if (!hot_pluggable(t->d))
		goto out;
	ret = -EALREADY;
	if (t->unplug_pending)
		goto out;
	ret = -ENOTSUP;
	if (!t->ops->pci_slot || t->ops->pci_slot(t, &seg, &slot) || !vm->hotplug ||
	    !arch_pci_hotplug(vm, &why))
		goto out;
	ret = arch_pci_hotplug_notify(vm, seg, slot, false);
	if (!ret) {
		t->unplug_pending = true;
		pr_info("%s: the guest is asked to eject it", t->d->name);
	}
out:
	pthread_mutex_unlock(&vm->devs_lock);
	return ret;
}

int virtio_devices_init(struct vm *vm)
{
	const struct vmm_config *cfg = vm->cfg;
	struct virtio_dev *d = NULL;
	int ret;

	if (want_pci(vm) && (ret = pci_setup(vm)))
		return ret;
	if (vm->pci && (ret = hotplug_setup(vm)))
		return ret;
	const struct { enum virtio_kind kind; unsigned int n; } kinds[] = {
		{ VIRTIO_KIND_DISK, cfg->nr_disks }, { VIRTIO_KIND_NET, cfg->nr_nets },
		{ VIRTIO_KIND_FS, cfg->nr_fs },
	};
	for (unsigned int k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
		for (unsigned int i = 0; i < kinds[k].n; i++) {
			unsigned int seg;

			ret = make(vm, kinds[k].kind, i, &d, &seg);
			if (!ret)
				ret = add(vm, d, seg, false);
			if (ret)
				return ret;
		}
	}
	if (cfg->vsock.cid) {
		unsigned int seg;

		ret = make(vm, VIRTIO_KIND_VSOCK, 0, &d, &seg);
		if (!ret)
			ret = add(vm, d, seg, false);
		if (ret)
			return ret;
	}
	if (cfg->rng_src) {
		ret = virtio_rng_new(cfg->rng_src, &d);
		if (!ret)
			ret = add(vm, d, 0, false);
		if (ret)
			return ret;
	}
	return 0;
}

int virtio_attach(struct vm *vm, struct virtio_transport *t)
{
	int ret;

	pthread_mutex_lock(&vm->devs_lock);
	ret = vm->nr_virtio == VM_MAX_VIRTIO ? -ENOSPC : virtio_worker_start(t);
	if (!ret)
		vm->virtio[vm->nr_virtio++] = t;
	pthread_mutex_unlock(&vm->devs_lock);
	return ret;
}

int virtio_devices_mem_changed(struct vm *vm)
{
	int ret = 0, r;

	pthread_mutex_lock(&vm->devs_lock);
	for (unsigned int i = 0; i < vm->nr_virtio; i++) {
		struct virtio_dev *d = vm->virtio[i]->d;

		if (!d->ops->mem_changed)
			continue;
		pthread_mutex_lock(&d->lock);
		r = d->ops->mem_changed(d);
		pthread_mutex_unlock(&d->lock);
		if (r && !ret)
			ret = r;
	}
	pthread_mutex_unlock(&vm->devs_lock);
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
	if (vm->hotplug) {
		evloop_del(&vm->loop, &vm->hotplug->src);
		close(vm->hotplug->src.fd);
		free(vm->hotplug);
		vm->hotplug = NULL;
	}
	if (vm->pci) {
		pci_host_fini(vm->pci);
		free(vm->pci);
		vm->pci = NULL;
	}
}
