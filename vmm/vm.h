/*
 * VM lifecycle: create a KVM VM with RAM and vCPUs from a vmm_config, run
 * it until the guest powers off or reboots, an error occurs or the host
 * asks it to stop, then tear everything down.
 */
#ifndef KVMM_VM_H
#define KVMM_VM_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "boot_timer.h"
#include "bus.h"
#include "config.h"
#include "evloop.h"
#include "guest_mem.h"

/* Why a VM stopped; also what kvmm's exit status reports (see main.c). */
enum vm_stop {
	VM_RUNNING = 0,
	VM_STOP_POWEROFF,	/* guest powered off        -> exit 0 */
	VM_STOP_HOST,		/* SIGTERM/SIGINT           -> exit 0 */
	VM_STOP_REBOOT,		/* guest rebooted/reset     -> exit 3 */
	VM_STOP_ERROR,		/* unhandled exit, failure  -> exit 1 */
};

/* A memory-mapped platform device the guest must be told about (ACPI DSDT
 * on x86_64, a device-tree node on aarch64). */
struct platform_dev {
	const char *name;
	uint64_t base;
	uint64_t size;
	uint32_t irq;
};

#define VM_MAX_PLATFORM_DEVS 32
/* Virtio devices of one VM: each has an interrupt line of its own (x86_64 has 18 for them),
 * which config_validate() enforces over disks, NICs, fs devices, vsock and rng together. */
#define VM_MAX_VIRTIO KVMM_MAX_VIRTIO

struct vcpu;
struct virtio_transport;
struct virtio_hotplug;
struct pci_host;
struct irq_routes;
struct serial;
struct console;

struct vm {
	const struct vmm_config *cfg;
	int kvm_fd;
	int vm_fd;
	int run_size;			/* KVM_GET_VCPU_MMAP_SIZE */
	struct guest_mem mem;
	unsigned int mem_slots;		/* KVM memory slots used (vm_memory.c) */
	struct bus pio;
	struct bus mmio;
	unsigned int max_vcpus;		/* arch_max_vcpus(): the size of vcpus[] */
	unsigned int nr_vcpus;		/* vcpus[] made so far (present or ejected) */
	struct vcpu *vcpus;
	/* vCPU hot-plug (vm_cpus.c): vcpus[] changes and the threads' start and end while the
	 * VM runs are under cpus_lock; ejects reach the event loop through cpus_ejected and
	 * cpu_eject_src (an eventfd; -1 without vCPU hot-plug). */
	pthread_mutex_t cpus_lock;
	_Atomic uint64_t cpus_ejected;
	struct ev_source cpu_eject_src;
	unsigned int nr_platform_devs;
	struct platform_dev platform_devs[VM_MAX_PLATFORM_DEVS];
	/* virtio/devices.c's, in creation order; hot-plug adds (API thread) and ejects remove
	 * (event loop) under devs_lock, which readers on other threads take too. */
	pthread_mutex_t devs_lock;
	unsigned int nr_virtio;
	struct virtio_transport *virtio[VM_MAX_VIRTIO];
	struct virtio_hotplug *hotplug;	/* virtio/devices.c; NULL without PCI */
	unsigned int nr_lines;		/* device interrupt lines handed out (vmm/irq.c) */
	struct irq_routes *routes;	/* GSI routing: irqchip + MSI (vmm/irq.c) */
	struct pci_host *pci;		/* NULL when virtio devices are on virtio-mmio */
	/* KVM's ring of port/MMIO writes it batched instead of exiting (vm_coalesce_pio), and
	 * its capacity; NULL when nothing is coalesced. */
	struct kvm_coalesced_mmio_ring *coalesced;
	unsigned int coalesced_max;
	pthread_mutex_t coalesced_lock;
	struct serial *serial;		/* the console UART, NULL if off */
	struct console *console;
	struct evloop loop;
	struct ev_source stop_src;	/* stop_efd */
	struct ev_source sig_src;	/* signalfd for SIGTERM/SIGINT/SIGHUP, SIGUSR2 */
	_Atomic int stop;		/* enum vm_stop, first writer wins */
	/* Pausing (vm_pause/vm_resume): vCPUs park on pause_cond while paused is set. */
	_Atomic bool paused;
	pthread_mutex_t pause_lock;
	pthread_cond_t pause_cond;
	unsigned int nr_parked;		/* under pause_lock */
	unsigned int nr_live;		/* vCPU threads not yet ended, under pause_lock */
	int stop_efd;			/* eventfd: wakes the event loop */
	struct boot_timer boot_timer;	/* devices/boot_timer.h; the arch code maps it */
	void *arch;			/* arch-private state */
	const struct vm_hooks *hooks;	/* NULL outside the API */
};

/* Creates, runs and destroys a VM for CFG.  Returns the reason it stopped
 * (never VM_RUNNING); VM_STOP_ERROR after printing what failed. */
enum vm_stop vm_run(const struct vmm_config *cfg);

/* Asks the VM to stop for REASON; the first request wins.  Safe from any
 * thread, including device handlers running on vCPU threads. */
void vm_request_stop(struct vm *vm, enum vm_stop reason);

/* Hooks for a VM run driven by the API: RUNNING is called on the event loop thread once
 * every vCPU runs (the VM may then be paused, resumed or stopped from any thread), STOPPING
 * when it is about to be torn down (after that VM is no longer valid). */
struct vm_hooks {
	void (*running)(struct vm *vm, void *opaque);
	void (*stopping)(struct vm *vm, void *opaque);
	/* The guest ejected the hot-pluggable device ID and kvmm released it (event loop
	 * thread; vm->devs_lock not held): it leaves the config.  May be NULL. */
	void (*device_removed)(struct vm *vm, const char *id, void *opaque);
	void *opaque;
	bool no_signals;	/* the caller handles SIGTERM/SIGINT/SIGHUP (the API server) */
};

/* vm_run() with hooks (NULL: none). */
enum vm_stop vm_run_hooked(const struct vmm_config *cfg, const struct vm_hooks *hooks);

/* Stops every vCPU outside KVM_RUN and returns once all are parked; vm_resume lets them
 * go on. Safe from any thread but a vCPU's own. 0, or -EALREADY / -EINVAL for a VM that
 * is already paused / not paused. */
int vm_pause(struct vm *vm);
int vm_resume(struct vm *vm);

/* Has every vCPU log its state (vcpu_request_dump): SIGUSR2 to kvmm. Safe from any thread;
 * does not wait for the lines. */
void vm_request_vcpu_dump(struct vm *vm);

/* Called by each vCPU thread between runs: parks while the VM is paused (and VCPU is not
 * being unplugged). */
void vm_vcpu_checkpoint(struct vm *vm, struct vcpu *vcpu);

/* vm_memory.c: guest RAM from the config (boot RAM, the hot-plug region reserved) in KVM's
 * memory slots.  0/-errno (logged). */
int vm_ram_init(struct vm *vm);

/*
 * vm.resize's desired_ram: plugs DESIRED minus the current RAM into the hot-plug region
 * (mapped, a KVM slot, told to vhost-user back-ends, then announced to the guest, which
 * adds it offline).  From the API thread, one call at a time.  0, also when DESIRED is the
 * current size; with *WHY: -EINVAL for less than now, beyond the hot-plug region, or not a
 * whole number of blocks (arch_ram_hotplug_region); -ENOTSUP / -ENOSPC from the platform;
 * -ENOMEM and other -errno when the memory could not be added (the VM is as before).
 */
int vm_resize_memory(struct vm *vm, uint64_t desired, const char **why);

/* vm_cpus.c: vCPU resize.  The event-loop side of vCPU hot-plug (after the vCPUs exist,
 * with the loop; a no-op without hot-pluggable vCPUs) and its teardown. */
int vm_cpus_init(struct vm *vm);
void vm_cpus_fini(struct vm *vm);

/* The vCPUs the guest has now. */
unsigned int vm_vcpus_present(struct vm *vm);

/* Adds every vCPU's exit counts and kvmm's time handling them (ns), by KVM_EXIT_* reason, to
 * EXITS[] and NS[] (VCPU_STAT_REASONS each); any thread. */
void vm_exit_totals(struct vm *vm, uint64_t *exits, uint64_t *ns);

/*
 * vm.resize's desired_vcpus: adds vCPUs (made, started, announced to the guest, which adds
 * them offline) or asks the guest to eject the highest ones (their threads end when it
 * has).  From the API thread.  0; -EINVAL for 0 or more than vm->max_vcpus; -EBUSY while
 * an eject is pending; -ENOTSUP (with *WHY) where vCPUs cannot be hot-plugged; another
 * -errno when making a vCPU failed (logged; the VM is as before).
 */
int vm_resize_vcpus(struct vm *vm, unsigned int want, const char **why);

/* The platform's word that the guest ejected the vCPUs of mask CPUS.  Any thread; never
 * blocks (the threads are joined on the event loop). */
void vm_vcpus_ejected(struct vm *vm, uint64_t cpus);
/* Called by each vCPU thread as it ends. */
void vm_vcpu_ended(struct vm *vm);

/*
 * Lets KVM batch the guest's writes to ports [PORT, PORT + LEN) into a ring instead of
 * exiting for each; vm_coalesced_flush() hands them to the port bus, in order, before the
 * next exit of any vCPU is handled. Only for registers whose writes take effect when
 * something reads (PCI CONFIG_ADDRESS: Linux writes it before every CONFIG_DATA access, so
 * this halves the exits of a configuration-space scan). After the vCPUs exist, before they
 * run. 0, or -errno (nothing changed: writes then exit as before).
 */
int vm_coalesce_pio(struct vm *vm, uint16_t port, uint32_t len);

/* Replays the batched writes (vCPU threads, before handling an exit). */
void vm_coalesced_flush(struct vm *vm);

/* Drives interrupt line IRQ to LEVEL (KVM_IRQ_LINE).  0/-errno. */
int vm_irq_line(struct vm *vm, uint32_t irq, int level);

/* Adds a device to the platform description; 0 or -ENOSPC. */
int vm_add_platform_dev(struct vm *vm, const char *name, uint64_t base,
			uint64_t size, uint32_t irq);

#endif
