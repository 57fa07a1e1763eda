/*
 * vCPUs: one thread each, running a tight KVM_RUN loop and handing every
 * exit to the dispatcher in exit.c.
 */
#ifndef KVMM_VCPU_H
#define KVMM_VCPU_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <linux/kvm.h>

struct vm;

#define VCPU_STAT_REASONS 64
#define VCPU_STAT_PORTS 64

/* Exit statistics, logged at debug level when the vCPU ends (what a boot spends exits on) and
 * in a dump on request (vcpu_request_dump).
 * reasons[] and handle_ns[] have one writer, the vCPU's thread, and are read by vm.counters
 * (vcpu_exit_totals) while it runs: relaxed atomics. */
struct vcpu_stats {
	_Atomic uint64_t reasons[VCPU_STAT_REASONS];	/* by KVM_EXIT_* */
	_Atomic uint64_t handle_ns[VCPU_STAT_REASONS];	/* kvmm's time handling them */
	uint16_t port[VCPU_STAT_PORTS];		/* open-addressed: port I/O exits by port */
	uint64_t port_exits[VCPU_STAT_PORTS];
};

struct vcpu {
	struct vm *vm;
	unsigned int id;
	int fd;
	struct kvm_run *run;		/* mmap of the vCPU fd */
	pthread_t thread;
	bool started;
	/* vCPU hot-plug (vm_cpus.c, under vm->cpus_lock): the guest has this CPU; it was
	 * asked to eject it; the thread is to end (the guest ejected it). */
	bool present;
	bool unplug_pending;
	_Atomic bool unplugged;
	_Atomic bool dump_req;		/* log the state at the next loop turn (vcpu_request_dump) */
	struct vcpu_stats stats;
};

/* KVM_CREATE_VCPU and the kvm_run mapping; 0/-errno. */
int vcpu_create(struct vm *vm, struct vcpu *vcpu, unsigned int id);

/* Starts the run-loop thread; 0/-errno. */
int vcpu_start(struct vcpu *vcpu);

/* Forces a running vCPU out of KVM_RUN (immediate_exit + a signal) so it
 * notices that the VM is stopping. */
void vcpu_kick(struct vcpu *vcpu);

/* Has a running vCPU log (warn) its registers, run state and exits so far from its own
 * thread, between two KVM_RUNs (a paused one does it when resumed): what an operator asks
 * for with SIGUSR2 to see where a guest that stopped answering is. */
void vcpu_request_dump(struct vcpu *vcpu);

/* Joins the thread if started, unmaps and closes. */
void vcpu_destroy(struct vcpu *vcpu);

/* Adds vCPU's exit counts and handling times (ns) by KVM_EXIT_* reason to EXITS[] and NS[]
 * (VCPU_STAT_REASONS each); safe while it runs. */
void vcpu_exit_totals(const struct vcpu *vcpu, uint64_t *exits, uint64_t *ns);

/* Installs the no-op handler for the kick signal; call once per process. */
int vcpu_signal_init(void);

#endif
