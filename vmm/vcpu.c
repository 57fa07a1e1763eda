/*
 * vCPU threads: create the KVM vCPU, run KVM_RUN in a loop, dispatch exits,
 * and stop promptly when the VM is asked to stop.
 *
 * Stopping: vm_request_stop() sets vm->stop; vcpu_kick() sets the run
 * structure's immediate_exit and sends VCPU_KICK_SIGNAL, so a vCPU either
 * returns from KVM_RUN with EINTR or never enters it again.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "arch.h"
#include "exit.h"
#include "log.h"
#include "thread.h"
#include "vcpu.h"
#include "vm.h"

#define VCPU_KICK_SIGNAL SIGUSR1

static void vcpu_kick_handler(int sig)
{
	(void)sig;	/* only there to interrupt KVM_RUN */
}

int vcpu_signal_init(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = vcpu_kick_handler;
	sigemptyset(&sa.sa_mask);
	return sigaction(VCPU_KICK_SIGNAL, &sa, NULL) < 0 ? -errno : 0;
}

int vcpu_create(struct vm *vm, struct vcpu *vcpu, unsigned int id)
{
	int ret;

	memset(vcpu, 0, sizeof(*vcpu));
	vcpu->vm = vm;
	vcpu->id = id;
	vcpu->fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, (unsigned long)id);
	if (vcpu->fd < 0) {
		ret = -errno;
		pr_err("vcpu%u: KVM_CREATE_VCPU: %s", id, strerror(errno));
		return ret;
	}
	vcpu->run = mmap(NULL, vm->run_size, PROT_READ | PROT_WRITE,
			 MAP_SHARED, vcpu->fd, 0);
	if (vcpu->run == MAP_FAILED) {
		ret = -errno;
		vcpu->run = NULL;
		pr_err("vcpu%u: mmap kvm_run: %s", id, strerror(errno));
		close(vcpu->fd);
		vcpu->fd = -1;
		return ret;
	}
	return 0;
}

static void vcpu_report(struct vcpu *vcpu, enum exit_action act)
{
	struct kvm_run *run = vcpu->run;
	uint64_t pc = arch_vcpu_pc(vcpu);

	if (act == EXIT_UNKNOWN) {
		pr_err("vcpu%u: unhandled exit %u (%s) at guest pc 0x%llx",
		       vcpu->id, run->exit_reason,
		       exit_reason_name(run->exit_reason),
		       (unsigned long long)pc);
		return;
	}
	switch (run->exit_reason) {
	case KVM_EXIT_FAIL_ENTRY:
		pr_err("vcpu%u: VM entry failed, hardware reason 0x%llx, pc 0x%llx",
		       vcpu->id, (unsigned long long)
		       run->fail_entry.hardware_entry_failure_reason,
		       (unsigned long long)pc);
		break;
	case KVM_EXIT_INTERNAL_ERROR:
		pr_err("vcpu%u: KVM internal error, suberror %u, pc 0x%llx",
		       vcpu->id, run->internal.suberror, (unsigned long long)pc);
		break;
	case KVM_EXIT_SYSTEM_EVENT:
		pr_err("vcpu%u: guest crashed (system event %u), pc 0x%llx",
		       vcpu->id, run->system_event.type, (unsigned long long)pc);
		break;
	default:
		pr_err("vcpu%u: bad exit %s, pc 0x%llx", vcpu->id,
		       exit_reason_name(run->exit_reason),
		       (unsigned long long)pc);
	}
}

static void vcpu_count(struct vcpu_stats *st, const struct kvm_run *run)
{
	unsigned int h, i;

	if (run->exit_reason < VCPU_STAT_REASONS)
		atomic_store_explicit(&st->reasons[run->exit_reason],
				      atomic_load_explicit(&st->reasons[run->exit_reason],
							   memory_order_relaxed) + 1,
				      memory_order_relaxed);
	if (run->exit_reason != KVM_EXIT_IO)
		return;
	h = (run->io.port * 40503u) % VCPU_STAT_PORTS;
	for (i = 0; i < VCPU_STAT_PORTS; i++, h = (h + 1) % VCPU_STAT_PORTS) {
		if (st->port_exits[h] && st->port[h] != run->io.port)
			continue;
		st->port[h] = run->io.port;
		st->port_exits[h]++;
		return;
	}
}

static void vcpu_add_ns(struct vcpu_stats *st, uint32_t reason, uint64_t ns)
{
	if (reason < VCPU_STAT_REASONS)
		atomic_store_explicit(&st->handle_ns[reason],
				      atomic_load_explicit(&st->handle_ns[reason],
							   memory_order_relaxed) + ns,
				      memory_order_relaxed);
}

void vcpu_exit_totals(const struct vcpu *vcpu, uint64_t *exits, uint64_t *ns)
{
	for (unsigned int r = 0; r < VCPU_STAT_REASONS; r++) {
		exits[r] += atomic_load_explicit(&vcpu->stats.reasons[r], memory_order_relaxed);
		ns[r] += atomic_load_explicit(&vcpu->stats.handle_ns[r], memory_order_relaxed);
	}
}

/* One line (at LVL) per vCPU: exits by reason (and kvmm's time handling them), then the busiest
 * I/O ports. */
static void vcpu_log_stats(const struct vcpu *vcpu, enum log_level lvl)
{
	const struct vcpu_stats *st = &vcpu->stats;
	char line[512];
	int n = 0;
	bool used[VCPU_STAT_PORTS] = { 0 };

	for (unsigned int r = 0; r < VCPU_STAT_REASONS && n < (int)sizeof(line) - 60; r++)
		if (st->reasons[r])
			n += snprintf(line + n, sizeof(line) - n, " %s=%llu(%llu us)",
				      exit_reason_name(r), (unsigned long long)st->reasons[r],
				      (unsigned long long)(st->handle_ns[r] / 1000));
	n += snprintf(line + n, sizeof(line) - n, "; ports:");
	for (int k = 0; k < 8 && n < (int)sizeof(line) - 40; k++) {
		int best = -1;

		for (int i = 0; i < VCPU_STAT_PORTS; i++)
			if (!used[i] && st->port_exits[i] &&
			    (best < 0 || st->port_exits[i] > st->port_exits[best]))
				best = i;
		if (best < 0)
			break;
		used[best] = true;
		n += snprintf(line + n, sizeof(line) - n, " 0x%x=%llu", st->port[best],
			      (unsigned long long)st->port_exits[best]);
	}
	log_msg(lvl, "vcpu%u: exits:%s", vcpu->id, line);
}

/* vcpu_request_dump's answer, on the vCPU's own thread: the registers, then KVM's run state
 * (a guest idle or stuck in HLT or WFI shows as halted or suspended, one at work as
 * runnable), then the exits so far. */
static void vcpu_dump(struct vcpu *vcpu)
{
	static const char *const mp[] = {
		[KVM_MP_STATE_RUNNABLE] = "runnable", [KVM_MP_STATE_UNINITIALIZED] = "uninitialized",
		[KVM_MP_STATE_INIT_RECEIVED] = "INIT received", [KVM_MP_STATE_HALTED] = "halted",
		[KVM_MP_STATE_SIPI_RECEIVED] = "SIPI received", [KVM_MP_STATE_STOPPED] = "stopped",
		[KVM_MP_STATE_SUSPENDED] = "suspended",
	};
	struct kvm_mp_state st;

	pr_warn("vcpu%u: state on request:", vcpu->id);
	arch_vcpu_dump(vcpu);
	if (ioctl(vcpu->fd, KVM_GET_MP_STATE, &st) == 0)
		pr_warn("vcpu%u:   mp_state %u (%s)", vcpu->id, st.mp_state,
			st.mp_state < sizeof(mp) / sizeof(mp[0]) && mp[st.mp_state] ?
			mp[st.mp_state] : "?");
	vcpu_log_stats(vcpu, LOG_WARN);
}

static void *vcpu_thread(void *arg)
{
	struct vcpu *vcpu = arg;
	struct vm *vm = vcpu->vm;
	char name[16];
	sigset_t set;

	/* Kata finds vCPU threads by this name (^vcpu[0-9]+$ in each
	 * /proc/PID/task/TID/comm) to pin them and put them in cgroups. */
	snprintf(name, sizeof(name), "vcpu%u", vcpu->id);
	pthread_setname_np(pthread_self(), name);
	sigemptyset(&set);
	sigaddset(&set, VCPU_KICK_SIGNAL);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);

	while (!atomic_load(&vm->stop) && !atomic_load(&vcpu->unplugged)) {
		enum exit_action act;
		uint64_t t0;

		if (atomic_exchange(&vcpu->dump_req, false))
			vcpu_dump(vcpu);
		if (atomic_load(&vm->paused)) {
			vm_vcpu_checkpoint(vm, vcpu);
			continue;
		}
		/* The boot CPU's first entry: the others wait in KVM_RUN for it to start them. */
		if (vcpu->id == 0)
			boot_timer_first_run(&vm->boot_timer);
		if (ioctl(vcpu->fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR || errno == EAGAIN) {
				vcpu->run->immediate_exit = 0;
				continue;
			}
			pr_err("vcpu%u: KVM_RUN: %s", vcpu->id, strerror(errno));
			vm_request_stop(vm, VM_STOP_ERROR);
			break;
		}
		vcpu_count(&vcpu->stats, vcpu->run);
		t0 = mono_ns();
		/* Writes KVM batched come first: they happened before this exit. */
		vm_coalesced_flush(vm);
		act = exit_dispatch(vcpu->run, vm->run_size, &vm->pio, &vm->mmio);
		vcpu_add_ns(&vcpu->stats, vcpu->run->exit_reason, mono_ns() - t0);
		switch (act) {
		case EXIT_CONTINUE:
			break;
		case EXIT_POWEROFF:
			pr_info("vcpu%u: guest powered off", vcpu->id);
			vm_request_stop(vm, VM_STOP_POWEROFF);
			break;
		case EXIT_REBOOT:
			/* Linux resets through the FADT or the i8042 first; a triple
			 * fault is how a guest dies early in boot. */
			if (vcpu->run->exit_reason == KVM_EXIT_SHUTDOWN) {
				pr_warn("vcpu%u: guest triple fault: the machine resets "
					"(exit 3); its state then:", vcpu->id);
				arch_vcpu_dump(vcpu);
			} else
				pr_info("vcpu%u: guest reset (%s)", vcpu->id,
					exit_reason_name(vcpu->run->exit_reason));
			vm_request_stop(vm, VM_STOP_REBOOT);
			break;
		case EXIT_ERROR:
		case EXIT_UNKNOWN:
			vcpu_report(vcpu, act);
			arch_vcpu_dump(vcpu);
			vm_request_stop(vm, VM_STOP_ERROR);
			break;
		}
	}
	vm_vcpu_ended(vm);
	return NULL;
}

int vcpu_start(struct vcpu *vcpu)
{
	int ret = kvmm_thread_create_kind(&vcpu->thread, SECCOMP_VCPU, vcpu_thread, vcpu);

	if (ret) {
		pr_err("vcpu%u: pthread_create: %s", vcpu->id, strerror(-ret));
		return ret;
	}
	vcpu->started = true;
	return 0;
}

void vcpu_kick(struct vcpu *vcpu)
{
	if (!vcpu->started)
		return;
	/* Seen by KVM on the next entry even if the signal lands before it. */
	__atomic_store_n(&vcpu->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
	pthread_kill(vcpu->thread, VCPU_KICK_SIGNAL);
}

void vcpu_request_dump(struct vcpu *vcpu)
{
	atomic_store(&vcpu->dump_req, true);
	vcpu_kick(vcpu);
}

void vcpu_destroy(struct vcpu *vcpu)
{
	if (vcpu->started) {
		pthread_join(vcpu->thread, NULL);
		vcpu->started = false;
		if (log_threshold >= LOG_DEBUG)
			vcpu_log_stats(vcpu, LOG_DEBUG);
	}
	if (vcpu->run)
		munmap(vcpu->run, vcpu->vm->run_size);
	if (vcpu->fd >= 0)
		close(vcpu->fd);
	vcpu->run = NULL;
	vcpu->fd = -1;
}
