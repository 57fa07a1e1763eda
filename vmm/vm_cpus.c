/*
 * vCPU resize (vm.resize's desired_vcpus) on a running VM.
 *
 * Up: the lowest absent vCPU ids are made (KVM_CREATE_VCPU and the arch's set-up, once per
 * id: KVM cannot take a vCPU back, so an ejected one keeps its fd and is reused), their
 * threads started, and the guest told (arch_cpu_hotplug_notify): an x86 vCPU that KVM has
 * just made waits for INIT/SIPI, which the guest sends when it onlines the CPU.
 * Down: the guest is asked to eject the highest vCPUs.  Linux offlines the CPU, removes it
 * and runs its _EJ0; the platform hands that word over (vm_vcpus_ejected, on the vCPU thread
 * that ran _EJ0), and the event loop ends the ejected vCPU's thread: it leaves KVM_RUN
 * (kicked) and sees its unplugged flag.
 *
 * Locking: cpus_lock covers vcpus[] and nr_vcpus changes and thread starts and joins while
 * the VM runs; vm_pause() takes it around its kicks so it never signals a joined thread.
 */
#include <errno.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "arch.h"
#include "log.h"
#include "vcpu.h"
#include "vm.h"

void vm_exit_totals(struct vm *vm, uint64_t *exits, uint64_t *ns)
{
	pthread_mutex_lock(&vm->cpus_lock);
	for (unsigned int i = 0; i < vm->nr_vcpus; i++)
		vcpu_exit_totals(&vm->vcpus[i], exits, ns);
	pthread_mutex_unlock(&vm->cpus_lock);
}

unsigned int vm_vcpus_present(struct vm *vm)
{
	unsigned int n = 0;

	pthread_mutex_lock(&vm->cpus_lock);
	for (unsigned int i = 0; i < vm->nr_vcpus; i++)
		n += vm->vcpus[i].present;
	pthread_mutex_unlock(&vm->cpus_lock);
	return n;
}

/* Ends V's thread (the guest let go of it, or announcing it failed).  cpus_lock held. */
static void vcpu_stop_thread(struct vm *vm, struct vcpu *v)
{
	atomic_store(&v->unplugged, true);
	/* Out of a pause park too. */
	pthread_mutex_lock(&vm->pause_lock);
	pthread_cond_broadcast(&vm->pause_cond);
	pthread_mutex_unlock(&vm->pause_lock);
	vcpu_kick(v);
	pthread_join(v->thread, NULL);
	v->started = false;
	v->present = false;
	v->unplug_pending = false;
}

/* Makes vCPU ID (if it never existed) and starts its thread.  cpus_lock held. */
static int vcpu_plug(struct vm *vm, unsigned int id)
{
	struct vcpu *v = &vm->vcpus[id];
	int ret;

	if (id >= vm->nr_vcpus) {
		ret = vcpu_create(vm, v, id);
		if (!ret && (ret = arch_vcpu_init(vm, v)) == 0)
			ret = arch_vcpu_reset(vm, v);
		if (ret) {
			vcpu_destroy(v);
			return ret;
		}
		vm->nr_vcpus = id + 1;	/* ids are taken lowest first */
	}
	atomic_store(&v->unplugged, false);
	pthread_mutex_lock(&vm->pause_lock);
	vm->nr_live++;
	pthread_mutex_unlock(&vm->pause_lock);
	ret = vcpu_start(v);
	if (ret) {
		vm_vcpu_ended(vm);
		return ret;
	}
	v->present = true;
	ret = arch_cpu_hotplug_notify(vm, id, true);
	if (ret) {
		pr_err("vcpu%u: telling the guest: %s", id, strerror(-ret));
		vcpu_stop_thread(vm, v);
	}
	return ret;
}

int vm_resize_vcpus(struct vm *vm, unsigned int want, const char **why)
{
	unsigned int have = 0, id;
	int ret = 0;

	/* The eject eventfd exists exactly when vCPUs can be hot-plugged (vm_cpus_init). */
	if (vm->cpu_eject_src.fd < 0) {
		if (vm->cfg->max_vcpus <= vm->cfg->boot_vcpus)
			*why = "cpus.max_vcpus is not above boot_vcpus";
		else
			arch_max_vcpus(vm->cfg, why);
		return want == vm_vcpus_present(vm) ? 0 : -ENOTSUP;
	}
	if (want == 0 || want > vm->max_vcpus)
		return -EINVAL;
	pthread_mutex_lock(&vm->cpus_lock);
	for (id = 0; id < vm->nr_vcpus; id++) {
		if (vm->vcpus[id].unplug_pending) {
			ret = -EBUSY;
			goto out;
		}
		have += vm->vcpus[id].present;
	}
	for (id = 0; id < vm->max_vcpus && have < want; id++) {
		if (id < vm->nr_vcpus && vm->vcpus[id].present)
			continue;
		ret = vcpu_plug(vm, id);
		if (ret)
			goto out;
		pr_info("vcpu%u: hot-plugged", id);
		have++;
	}
	for (id = vm->nr_vcpus; id-- > 1 && have > want;) {
		struct vcpu *v = &vm->vcpus[id];

		if (!v->present)
			continue;
		ret = arch_cpu_hotplug_notify(vm, id, false);
		if (ret)
			goto out;
		v->unplug_pending = true;
		pr_info("vcpu%u: the guest is asked to eject it", id);
		have--;
	}
out:
	pthread_mutex_unlock(&vm->cpus_lock);
	return ret;
}

void vm_vcpus_ejected(struct vm *vm, uint64_t cpus)
{
	uint64_t one = 1;

	atomic_fetch_or(&vm->cpus_ejected, cpus);
	if (vm->cpu_eject_src.fd >= 0 &&
	    write(vm->cpu_eject_src.fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		pr_warn("vCPU hot-plug: signalling an eject: %s", strerror(errno));
}

/* The event loop's half of an eject: ends the threads of the vCPUs the guest let go of. */
static void on_ejected(void *opaque, uint32_t events)
{
	struct vm *vm = opaque;
	uint64_t n, cpus;

	(void)events;
	if (read(vm->cpu_eject_src.fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		pr_warn("vCPU hot-plug: reading the eject eventfd: %s", strerror(errno));
	cpus = atomic_exchange(&vm->cpus_ejected, 0);
	pthread_mutex_lock(&vm->cpus_lock);
	for (unsigned int id = 1; id < vm->nr_vcpus && id < 64; id++) {
		struct vcpu *v = &vm->vcpus[id];
		bool asked = v->unplug_pending;

		if (!(cpus & (1ULL << id)) || !v->present || !v->started)
			continue;
		vcpu_stop_thread(vm, v);
		pr_info("vcpu%u: ejected by the guest%s, its thread ended", id,
			asked ? "" : " (it was not asked to)");
	}
	pthread_mutex_unlock(&vm->cpus_lock);
}

int vm_cpus_init(struct vm *vm)
{
	int ret;

	if (vm->max_vcpus <= vm->cfg->boot_vcpus)
		return 0;
	vm->cpu_eject_src = (struct ev_source){
		eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK), on_ejected, vm,
	};
	if (vm->cpu_eject_src.fd < 0)
		return -errno;
	ret = evloop_add(&vm->loop, &vm->cpu_eject_src, EPOLLIN);
	if (ret) {
		close(vm->cpu_eject_src.fd);
		vm->cpu_eject_src.fd = -1;
	}
	return ret;
}

void vm_cpus_fini(struct vm *vm)
{
	if (vm->cpu_eject_src.fd < 0)
		return;
	evloop_del(&vm->loop, &vm->cpu_eject_src);
	close(vm->cpu_eject_src.fd);
	vm->cpu_eject_src.fd = -1;
}
