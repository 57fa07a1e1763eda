/*
 * A VM's guest RAM as KVM sees it: boot RAM placed by the arch (arch_ram_layout), on
 * hugetlbfs or transparent huge pages as configured, with the memory hot-plug region
 * reserved after it, each range a KVM memory slot; and vm.resize's desired_ram, which
 * grows it while the guest runs.
 *
 * A resize up, in order: the bytes are mapped (guest_mem.c), become a KVM slot, are
 * announced to every vhost-user back-end (which must be able to reach any buffer the guest
 * puts there), and only then is the guest told (arch_mem_hotplug_notify: an ACPI memory
 * device on x86_64).  A failure before the last step undoes the earlier ones, so the guest
 * never learns of memory that is not wholly there.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <sys/ioctl.h>

#include <linux/kvm.h>

#include "arch.h"
#include "devices.h"
#include "log.h"
#include "vm.h"

/* Maps HOST at [GPA, GPA + SIZE) in KVM's slot SLOT; SIZE 0 deletes the slot. */
static int set_slot(struct vm *vm, unsigned int slot, uint64_t gpa, uint64_t size, void *host)
{
	struct kvm_userspace_memory_region kr = {
		.slot = slot, .guest_phys_addr = gpa, .memory_size = size,
		.userspace_addr = (uintptr_t)host,
	};

	return ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &kr) < 0 ? -errno : 0;
}

int vm_ram_init(struct vm *vm)
{
	const struct vmm_config *cfg = vm->cfg;
	struct gm_region layout[ARCH_MAX_RAM_REGIONS];
	uint64_t page = cfg->mem_hugepages ? config_hugepage_size(cfg) : 0;
	uint64_t hp_gpa = 0, hp_size = 0, block;
	const char *why = NULL;
	unsigned int i;
	int n, ret;

	n = arch_ram_layout(cfg->mem_size, layout, ARCH_MAX_RAM_REGIONS);
	if (n < 0) {
		pr_err("memory: cannot place %" PRIu64 " bytes of RAM", cfg->mem_size);
		return n;
	}
	/* A platform that cannot hot-plug RAM boots without the room for it; vm.resize
	 * says why then. */
	if (arch_ram_hotplug_region(cfg, &hp_gpa, &hp_size, &block, &why))
		pr_info("memory: no memory hot-plug: %s", why);
	ret = gm_create_ex(&vm->mem, layout, (unsigned int)n, page, hp_gpa, hp_size);
	if (ret) {
		if (page)
			pr_err("memory: %" PRIu64 " MiB on %" PRIu64 " KiB huge pages: %s (the host "
			       "has %ld of them free; see /proc/sys/vm/nr_hugepages)",
			       cfg->mem_size >> 20, page >> 10, strerror(-ret),
			       gm_free_huge_pages(page));
		else
			pr_err("memory: allocating %" PRIu64 " bytes: %s", cfg->mem_size,
			       strerror(-ret));
		return ret;
	}
	if (!page && cfg->mem_thp)
		gm_advise_huge(&vm->mem);
	for (i = 0; i < vm->mem.nr_regions; i++) {
		const struct gm_region *r = &vm->mem.regions[i];

		ret = set_slot(vm, i, r->gpa, r->size, r->host);
		if (ret) {
			pr_err("KVM_SET_USER_MEMORY_REGION slot %u: %s", i, strerror(-ret));
			return ret;
		}
	}
	vm->mem_slots = vm->mem.nr_regions;
	if (hp_size)
		pr_info("memory: %" PRIu64 " MiB for hot-plug at 0x%" PRIx64 ", in %" PRIu64
			" MiB blocks", hp_size >> 20, hp_gpa, block >> 20);
	return 0;
}

int vm_resize_memory(struct vm *vm, uint64_t desired, const char **why)
{
	struct guest_mem *gm = &vm->mem;
	uint64_t now = gm_ram_size(gm), add, hp_gpa, hp_size, block;
	struct gm_region r;
	int ret;

	if (desired == now)
		return 0;
	ret = arch_ram_hotplug_region(vm->cfg, &hp_gpa, &hp_size, &block, why);
	if (ret)
		return ret;
	if (desired < now) {
		*why = "guest RAM cannot shrink while the VM runs (it gives memory back only by "
		       "rebooting)";
		return -EINVAL;
	}
	add = desired - now;
	if (!gm->hp_max) {
		*why = "the VM has no room for more RAM (memory.hotplug_size is 0)";
		return -EINVAL;
	}
	if (add > gm->hp_max - gm->hp_size) {
		*why = "desired_ram is above memory.size + memory.hotplug_size";
		return -EINVAL;
	}
	if (add % block) {
		*why = block == 128ULL << 20 ? "the RAM added must be a multiple of 128 MiB, the "
					       "guest's memory block"
					     : "the RAM added must be a multiple of the huge page size";
		return -EINVAL;
	}
	ret = arch_mem_hotplug_check(vm, why);
	if (ret)
		return ret;

	ret = gm_hotplug_add(gm, add, &r);
	if (ret) {
		*why = ret == -ENOMEM ? "no host memory for it (on huge pages: too few free in "
					"/proc/sys/vm/nr_hugepages)"
				      : "mapping the new RAM failed";
		pr_err("memory: plugging %" PRIu64 " MiB: %s", add >> 20, strerror(-ret));
		return ret;
	}
	ret = set_slot(vm, vm->mem_slots, r.gpa, r.size, r.host);
	if (ret) {
		*why = "KVM refused the memory slot";
		pr_err("memory: KVM_SET_USER_MEMORY_REGION slot %u: %s", vm->mem_slots,
		       strerror(-ret));
		goto err_undo;
	}
	ret = virtio_devices_mem_changed(vm);
	if (ret) {
		*why = "a vhost-user back-end did not take the grown memory table";
		goto err_slot;
	}
	ret = arch_mem_hotplug_notify(vm, r.gpa, r.size);
	if (ret) {
		*why = "telling the guest failed";
		goto err_slot;
	}
	vm->mem_slots++;
	pr_info("memory: %" PRIu64 " MiB plugged at 0x%" PRIx64 " (KVM slot %u): %" PRIu64
		" MiB in all", r.size >> 20, r.gpa, vm->mem_slots - 1, gm_ram_size(gm) >> 20);
	return 0;

err_slot:
	set_slot(vm, vm->mem_slots, r.gpa, 0, r.host);
err_undo:
	gm_hotplug_undo(gm, add);
	/* Back-ends that took the bigger table keep a mapping the guest will never use. */
	return ret;
}
