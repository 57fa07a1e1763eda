/*
 * VM lifecycle: open KVM, create the VM, its RAM and vCPUs, load the guest,
 * run the event loop until something stops the VM, and tear down in reverse
 * order.  Every failing step is named in the error message.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "arch.h"
#include "config_check.h"
#include "console.h"
#include "devices.h"
#include "evloop.h"
#include "log.h"
#include "irq.h"
#include "vcpu.h"
#include "vm.h"

void vm_request_stop(struct vm *vm, enum vm_stop reason)
{
	int expected = VM_RUNNING;
	uint64_t one = 1;

	if (!atomic_compare_exchange_strong(&vm->stop, &expected, reason))
		return;
	boot_timer_stop(&vm->boot_timer);
	if (vm->stop_efd >= 0 && write(vm->stop_efd, &one, sizeof(one)) < 0)
		pr_warn("vm: cannot wake the event loop: %s", strerror(errno));
	/* Parked vCPUs must see the stop too. */
	pthread_mutex_lock(&vm->pause_lock);
	pthread_cond_broadcast(&vm->pause_cond);
	pthread_mutex_unlock(&vm->pause_lock);
}

void vm_vcpu_checkpoint(struct vm *vm, struct vcpu *vcpu)
{
	pthread_mutex_lock(&vm->pause_lock);
	vm->nr_parked++;
	pthread_cond_broadcast(&vm->pause_cond);
	while (atomic_load(&vm->paused) && !atomic_load(&vm->stop) &&
	       !atomic_load(&vcpu->unplugged))
		pthread_cond_wait(&vm->pause_cond, &vm->pause_lock);
	vm->nr_parked--;
	pthread_mutex_unlock(&vm->pause_lock);
}

void vm_vcpu_ended(struct vm *vm)
{
	pthread_mutex_lock(&vm->pause_lock);
	vm->nr_live--;
	pthread_cond_broadcast(&vm->pause_cond);
	pthread_mutex_unlock(&vm->pause_lock);
}

int vm_pause(struct vm *vm)
{
	bool expected = false;

	if (!atomic_compare_exchange_strong(&vm->paused, &expected, true))
		return -EALREADY;
	pthread_mutex_lock(&vm->cpus_lock);	/* no vCPU thread joined meanwhile */
	for (unsigned int i = 0; i < vm->nr_vcpus; i++)
		vcpu_kick(&vm->vcpus[i]);
	pthread_mutex_unlock(&vm->cpus_lock);
	pthread_mutex_lock(&vm->pause_lock);
	while (vm->nr_parked < vm->nr_live && !atomic_load(&vm->stop))
		pthread_cond_wait(&vm->pause_cond, &vm->pause_lock);
	pthread_mutex_unlock(&vm->pause_lock);
	return 0;
}

void vm_request_vcpu_dump(struct vm *vm)
{
	pthread_mutex_lock(&vm->cpus_lock);	/* no vCPU thread joined meanwhile */
	for (unsigned int i = 0; i < vm->nr_vcpus; i++)
		if (vm->vcpus[i].started)
			vcpu_request_dump(&vm->vcpus[i]);
	pthread_mutex_unlock(&vm->cpus_lock);
}

int vm_resume(struct vm *vm)
{
	bool expected = true;

	if (!atomic_compare_exchange_strong(&vm->paused, &expected, false))
		return -EINVAL;
	pthread_mutex_lock(&vm->pause_lock);
	pthread_cond_broadcast(&vm->pause_cond);
	pthread_mutex_unlock(&vm->pause_lock);
	return 0;
}

int vm_irq_line(struct vm *vm, uint32_t irq, int level)
{
	struct kvm_irq_level l = { .irq = arch_irq_line_id(irq), .level = level };

	return ioctl(vm->vm_fd, KVM_IRQ_LINE, &l) < 0 ? -errno : 0;
}

int vm_coalesce_pio(struct vm *vm, uint16_t port, uint32_t len)
{
	struct kvm_coalesced_mmio_zone zone = { .addr = port, .size = len, .pio = 1 };
	long page = sysconf(_SC_PAGESIZE);
	int off;

	off = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_COALESCED_PIO) > 0 ?
	      ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_COALESCED_MMIO) : 0;
	/* The ring is a page of every vCPU's kvm_run mapping, at the offset the cap gives. */
	if (off <= 0 || !vm->nr_vcpus || page <= 0 ||
	    (long)vm->run_size < (off + 1) * page)
		return -ENOTSUP;
	if (ioctl(vm->vm_fd, KVM_REGISTER_COALESCED_MMIO, &zone) < 0)
		return -errno;
	vm->coalesced_max = (unsigned int)((page - sizeof(struct kvm_coalesced_mmio_ring)) /
					   sizeof(struct kvm_coalesced_mmio));
	vm->coalesced = (struct kvm_coalesced_mmio_ring *)((uint8_t *)vm->vcpus[0].run +
							   off * page);
	return 0;
}

void vm_coalesced_flush(struct vm *vm)
{
	struct kvm_coalesced_mmio_ring *r = vm->coalesced;
	uint32_t first;

	if (!r || __atomic_load_n(&r->first, __ATOMIC_RELAXED) ==
		  __atomic_load_n(&r->last, __ATOMIC_ACQUIRE))
		return;
	pthread_mutex_lock(&vm->coalesced_lock);
	first = r->first;
	while (first < vm->coalesced_max && first != __atomic_load_n(&r->last, __ATOMIC_ACQUIRE)) {
		struct kvm_coalesced_mmio e = r->coalesced_mmio[first];

		if (e.len && e.len <= sizeof(e.data))
			bus_access(e.pio ? &vm->pio : &vm->mmio, e.phys_addr, e.data, e.len, true);
		first = (first + 1) % vm->coalesced_max;
		/* KVM may reuse the slot once first has moved past it. */
		__atomic_store_n(&r->first, first, __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&vm->coalesced_lock);
}

int vm_add_platform_dev(struct vm *vm, const char *name, uint64_t base,
			uint64_t size, uint32_t irq)
{
	if (vm->nr_platform_devs == VM_MAX_PLATFORM_DEVS)
		return -ENOSPC;
	vm->platform_devs[vm->nr_platform_devs++] = (struct platform_dev){
		.name = name, .base = base, .size = size, .irq = irq,
	};
	return 0;
}

static int kvm_check_caps(int kvm_fd)
{
	static const struct { int cap; const char *name; } caps[] = {
		{ KVM_CAP_IRQCHIP, "IRQCHIP" },
		{ KVM_CAP_USER_MEMORY, "USER_MEMORY" },
		{ KVM_CAP_IOEVENTFD, "IOEVENTFD" },
		{ KVM_CAP_IRQFD, "IRQFD" },
		{ KVM_CAP_IMMEDIATE_EXIT, "IMMEDIATE_EXIT" },
	};
	unsigned int i;
	int v = ioctl(kvm_fd, KVM_GET_API_VERSION, 0);

	if (v != KVM_API_VERSION) {
		pr_err("kvm: API version %d, need %d", v, KVM_API_VERSION);
		return -ENOTSUP;
	}
	for (i = 0; i < sizeof(caps) / sizeof(caps[0]); i++) {
		if (ioctl(kvm_fd, KVM_CHECK_EXTENSION, caps[i].cap) <= 0) {
			pr_err("kvm: missing capability KVM_CAP_%s", caps[i].name);
			return -ENOTSUP;
		}
	}
	return 0;
}

static int vm_open(struct vm *vm)
{
	vm->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (vm->kvm_fd < 0) {
		pr_err("cannot open /dev/kvm: %s", strerror(errno));
		return -errno;
	}
	if (kvm_check_caps(vm->kvm_fd))
		return -ENOTSUP;
	vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
	if (vm->vm_fd < 0) {
		pr_err("KVM_CREATE_VM: %s", strerror(errno));
		return -errno;
	}
	vm->run_size = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (vm->run_size < (int)sizeof(struct kvm_run)) {
		pr_err("KVM_GET_VCPU_MMAP_SIZE: %s", strerror(errno));
		return -EINVAL;
	}
	return 0;
}

static void vm_on_signal(void *opaque, uint32_t events)
{
	struct vm *vm = opaque;
	struct signalfd_siginfo si;

	(void)events;
	if (read(vm->sig_src.fd, &si, sizeof(si)) != sizeof(si))
		return;
	if (si.ssi_signo == SIGUSR2) {
		pr_warn("vm: SIGUSR2: each vCPU logs its state");
		vm_request_vcpu_dump(vm);
		return;
	}
	pr_info("vm: signal %u, stopping", si.ssi_signo);
	vm_request_stop(vm, VM_STOP_HOST);
}

static void vm_on_stop(void *opaque, uint32_t events)
{
	struct vm *vm = opaque;
	uint64_t v;

	(void)events;
	if (read(vm->stop_efd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		pr_warn("vm: reading stop eventfd: %s", strerror(errno));
}

/* The signals kvmm takes through signalfd, blocked in all threads: SIGTERM, SIGINT and
 * SIGHUP for a clean stop, SIGUSR2 for each vCPU's state in the log. */
static void host_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGHUP);
	sigaddset(set, SIGUSR2);
}

static int vm_setup_loop(struct vm *vm)
{
	sigset_t set;
	int ret;

	ret = evloop_init(&vm->loop);
	if (ret)
		return ret;
	vm->stop_src = (struct ev_source){ vm->stop_efd, vm_on_stop, vm };
	ret = evloop_add(&vm->loop, &vm->stop_src, EPOLLIN);
	if (ret)
		return ret;
	if (vm->hooks && vm->hooks->no_signals)
		return 0;
	host_signals(&set);
	vm->sig_src.fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (vm->sig_src.fd < 0)
		return -errno;
	vm->sig_src.cb = vm_on_signal;
	vm->sig_src.opaque = vm;
	return evloop_add(&vm->loop, &vm->sig_src, EPOLLIN);
}

static int vm_setup(struct vm *vm)
{
	const char *why = "";
	unsigned int i;
	int ret;

	boot_timer_setup_mark(&vm->boot_timer, SETUP_PROCESS);
	if ((ret = vm_open(vm)) ||
	    (ret = arch_vm_init(vm)))
		return ret;
	boot_timer_setup_mark(&vm->boot_timer, SETUP_KVM);
	if ((ret = vm_ram_init(vm)))
		return ret;
	boot_timer_setup_mark(&vm->boot_timer, SETUP_RAM);
	vm->stop_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (vm->stop_efd < 0) {
		pr_err("eventfd: %s", strerror(errno));
		return -errno;
	}
	if ((ret = vm_setup_loop(vm))) {
		pr_err("event loop: %s", strerror(-ret));
		return ret;
	}
	/* vCPUs before devices: an arm64 GIC can only be initialised once
	 * every vCPU exists, and only then take irqfds. */
	vm->max_vcpus = arch_max_vcpus(vm->cfg, &why);
	if (vm->max_vcpus < vm->cfg->max_vcpus)
		pr_warn("vCPUs: %u at most, not %u: %s", vm->max_vcpus, vm->cfg->max_vcpus, why);
	vm->vcpus = calloc(vm->max_vcpus, sizeof(*vm->vcpus));
	if (!vm->vcpus)
		return -ENOMEM;
	for (i = 0; i < vm->cfg->boot_vcpus; i++) {
		ret = vcpu_create(vm, &vm->vcpus[i], i);
		if (ret)
			return ret;
		vm->vcpus[i].present = true;
		vm->nr_vcpus++;
		ret = arch_vcpu_init(vm, &vm->vcpus[i]);
		if (ret)
			return ret;
	}
	if ((ret = arch_vm_finalize(vm)))
		return ret;
	boot_timer_setup_mark(&vm->boot_timer, SETUP_VCPUS);
	if ((ret = irq_routes_init(vm)) ||
	    (ret = console_init(vm)) ||
	    (ret = arch_devices_init(vm)) ||
	    (ret = virtio_devices_init(vm)) ||
	    (ret = vm_cpus_init(vm)))
		return ret;
	boot_timer_setup_mark(&vm->boot_timer, SETUP_DEVICES);
	if ((ret = arch_load_guest(vm)))
		return ret;
	for (i = 0; i < vm->nr_vcpus; i++) {
		ret = arch_vcpu_reset(vm, &vm->vcpus[i]);
		if (ret)
			return ret;
	}
	boot_timer_setup_mark(&vm->boot_timer, SETUP_PAYLOAD);
	return 0;
}

/* Frees what vm_setup made, in steps whose ends go in MARKS (boot_timer.h). */
static void vm_teardown(struct vm *vm, struct teardown_marks *marks)
{
	unsigned int i;

	marks->at[TEARDOWN_NOTICED] = mono_ns();
	for (i = 0; i < vm->nr_vcpus; i++)
		vcpu_kick(&vm->vcpus[i]);
	for (i = 0; i < vm->nr_vcpus; i++)
		vcpu_destroy(&vm->vcpus[i]);
	free(vm->vcpus);
	vm_cpus_fini(vm);
	marks->at[TEARDOWN_VCPUS] = mono_ns();
	virtio_devices_destroy(vm);
	irq_routes_free(vm->routes);
	vm->routes = NULL;
	console_fini(vm);
	arch_vm_destroy(vm);
	if (vm->sig_src.fd >= 0)
		close(vm->sig_src.fd);
	evloop_fini(&vm->loop);
	if (vm->stop_efd >= 0)
		close(vm->stop_efd);
	marks->at[TEARDOWN_DEVICES] = mono_ns();
	/* The VM goes before its RAM: unmapping RAM that a live VM still maps
	 * makes KVM invalidate its stage-2 / EPT entries range by range, with
	 * TLB flushes (1 s+ on a nested arm64 host), where destroying the VM
	 * first drops its page tables in one go. */
	if (vm->vm_fd >= 0)
		close(vm->vm_fd);
	marks->at[TEARDOWN_VM] = mono_ns();
	gm_destroy(&vm->mem);
	if (vm->kvm_fd >= 0)
		close(vm->kvm_fd);
	marks->at[TEARDOWN_RAM] = mono_ns();
}

enum vm_stop vm_run(const struct vmm_config *cfg)
{
	return vm_run_hooked(cfg, NULL);
}

enum vm_stop vm_run_hooked(const struct vmm_config *cfg, const struct vm_hooks *hooks)
{
	struct teardown_marks marks = { { 0 } };
	struct vm *vm;
	enum vm_stop stop;
	sigset_t set, old;
	unsigned int i;

	/* What the config names on the host first: a typo is named even where /dev/kvm is
	 * missing, and before a VM is half made. */
	if (config_check_host(cfg))
		return VM_STOP_ERROR;
	vm = calloc(1, sizeof(*vm));
	if (!vm) {
		pr_err("out of memory");
		return VM_STOP_ERROR;
	}
	vm->cfg = cfg;
	vm->hooks = hooks;
	vm->kvm_fd = vm->vm_fd = vm->stop_efd = vm->sig_src.fd = -1;
	vm->loop.epfd = -1;
	vm->mem.fd = -1;
	pthread_mutex_init(&vm->pause_lock, NULL);
	pthread_cond_init(&vm->pause_cond, NULL);
	pthread_mutex_init(&vm->coalesced_lock, NULL);
	pthread_mutex_init(&vm->devs_lock, NULL);
	pthread_mutex_init(&vm->cpus_lock, NULL);
	vm->cpu_eject_src.fd = -1;

	/* Block the stop signals before any thread exists, so every thread
	 * inherits the mask and only the signalfd sees them. */
	host_signals(&set);
	pthread_sigmask(SIG_BLOCK, &set, &old);
	if (vcpu_signal_init() || vm_setup(vm)) {
		vm_request_stop(vm, VM_STOP_ERROR);
		goto out;
	}
	for (i = 0; i < vm->nr_vcpus; i++) {
		pthread_mutex_lock(&vm->pause_lock);
		vm->nr_live++;
		pthread_mutex_unlock(&vm->pause_lock);
		if (vcpu_start(&vm->vcpus[i])) {
			vm_vcpu_ended(vm);
			vm_request_stop(vm, VM_STOP_ERROR);
			break;
		}
	}
	if (hooks && hooks->running && !atomic_load(&vm->stop))
		hooks->running(vm, hooks->opaque);
	while (!atomic_load(&vm->stop)) {
		int ret = evloop_run_once(&vm->loop, -1);

		if (ret < 0) {
			pr_err("event loop: %s", strerror(-ret));
			vm_request_stop(vm, VM_STOP_ERROR);
		}
	}
out:
	if (hooks && hooks->stopping)
		hooks->stopping(vm, hooks->opaque);
	atomic_store(&vm->paused, false);	/* parked vCPUs must end */
	vm_teardown(vm, &marks);
	boot_timer_log_teardown(&vm->boot_timer, &marks);
	stop = atomic_load(&vm->stop);
	pthread_cond_destroy(&vm->pause_cond);
	pthread_mutex_destroy(&vm->pause_lock);
	pthread_mutex_destroy(&vm->coalesced_lock);
	pthread_mutex_destroy(&vm->devs_lock);
	pthread_mutex_destroy(&vm->cpus_lock);
	free(vm);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return stop;
}
