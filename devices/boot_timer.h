/*
 * The boot timer: a one-byte register the test guest's init writes BOOT_TIMER_MAGIC to once
 * it runs (x86_64: I/O port X86_BOOT_TIMER_PORT; aarch64: the MMIO page at
 * A64_BOOT_TIMER_GPA), as Firecracker's is. kvmm then logs, and vm.counters reports, where the
 * boot's time went: kvmm's own set-up (process start to vcpu0's first KVM_RUN) and the guest's
 * part (first KVM_RUN to the marker); and at the end, kvmm's teardown (the VM's first stop
 * request, a guest power-off say, to its resources freed). Times are CLOCK_MONOTONIC; the
 * process's start is taken by a constructor, before main() and after the dynamic loader.
 */
#ifndef KVMM_BOOT_TIMER_H
#define KVMM_BOOT_TIMER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#define BOOT_TIMER_MAGIC	123u

/* The steps of kvmm's set-up, in order, from the process's start to vcpu0's first KVM_RUN:
 * each ends at the CLOCK_MONOTONIC ns in struct boot_timer's setup_at[] (0: not reached). */
enum setup_step {
	SETUP_PROCESS,		/* main(): options, log, seccomp; with the API, until vm.boot */
	SETUP_KVM,		/* /dev/kvm, the VM and its in-kernel devices (arch_vm_init) */
	SETUP_RAM,		/* guest RAM: its memfd, mapping and KVM memory slots */
	SETUP_VCPUS,		/* the VM's loop, the vCPUs made and set, the VM finalised */
	SETUP_DEVICES,		/* interrupt routes, console, platform and virtio devices */
	SETUP_PAYLOAD,		/* kernel, initramfs, ACPI or device tree; the vCPUs reset */
	SETUP_START,		/* the vCPU threads started, to vcpu0's first KVM_RUN */
	SETUP_STEPS
};

struct boot_timer {
	/* Written by the VM's thread before it starts the vCPU threads; setup_at[SETUP_START]
	 * is first_run_ns, copied when the split is taken. */
	uint64_t setup_at[SETUP_STEPS];
	_Atomic uint64_t first_run_ns;	/* vcpu0's first KVM_RUN; 0 before it */
	_Atomic uint64_t marker_ns;	/* the guest's first magic write; 0 before it */
	_Atomic uint64_t writes;	/* writes of any value, the first magic one included */
	_Atomic uint64_t stop_ns;	/* the VM's first stop request; 0 before it */
};

/* CLOCK_MONOTONIC now, in ns: the clock of every time here and of the exit statistics. */
uint64_t mono_ns(void);

/* CLOCK_MONOTONIC in ns when the process started (its constructors ran). */
uint64_t boot_timer_process_start_ns(void);

/* Records the first KVM_RUN (later calls are no-ops). */
void boot_timer_first_run(struct boot_timer *bt);

/* Records the VM's first stop request (later calls are no-ops); any thread. */
void boot_timer_stop(struct boot_timer *bt);

/* The steps of a VM's teardown, in order: each ends at the CLOCK_MONOTONIC ns recorded in
 * struct teardown_marks' at[] (0: not reached). */
enum teardown_step {
	TEARDOWN_NOTICED,	/* the stop request reached the VM's thread, which begins */
	TEARDOWN_VCPUS,		/* the vCPU threads joined, their fds closed */
	TEARDOWN_DEVICES,	/* virtio devices (their workers joined), console, platform */
	TEARDOWN_VM,		/* the VM fd closed: KVM drops its page tables */
	TEARDOWN_RAM,		/* guest RAM unmapped and its memfd closed */
	TEARDOWN_STEPS
};

struct teardown_marks {
	uint64_t at[TEARDOWN_STEPS];
};

/* Logs (info) the teardown: from the stop request to the last of MARKS, which the caller
 * takes the moment the VM's resources are freed, and what each step took. Nothing when no
 * stop was recorded. */
void boot_timer_log_teardown(const struct boot_timer *bt, const struct teardown_marks *marks);

/* The split that boot_timer_log_teardown logs, in us: STEP_US[i] the time of step i (from the
 * stop request for the first); TOTAL_US the sum. False when no stop was recorded or a mark is
 * missing or out of order. Pure: unit-tested. */
bool teardown_split_us(uint64_t stop_ns, const struct teardown_marks *marks,
		       uint64_t step_us[TEARDOWN_STEPS], uint64_t *total_us);

/* Marks the end of set-up STEP now (the VM's thread, before the vCPU threads start). */
void boot_timer_setup_mark(struct boot_timer *bt, enum setup_step step);

/* The split of the set-up, in us: STEP_US[i] the time of step i (from START_NS, the process's
 * start, for the first) to AT[i]; TOTAL_US the sum. False when a mark is missing or out of
 * order. Pure: unit-tested. */
bool setup_split_us(uint64_t start_ns, const uint64_t at[SETUP_STEPS],
		    uint64_t step_us[SETUP_STEPS], uint64_t *total_us);

/* The set-up's split (setup_split_us()) from BT's marks and the process's start, once vcpu0
 * has run; false before. */
bool boot_timer_setup_split(const struct boot_timer *bt, uint64_t step_us[SETUP_STEPS],
			    uint64_t *total_us);

/* "process", "kvm", "ram", "vcpus", "devices", "payload", "start" ("?" out of range). */
const char *setup_step_name(enum setup_step step);

/* Bus handler (any width; only a write of BOOT_TIMER_MAGIC at offset 0 marks, once; reads
 * return 0); OPAQUE is the struct boot_timer. */
void boot_timer_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write);

/* The timings in microseconds, for vm.counters: set-up (process start to the first KVM_RUN),
 * guest (first KVM_RUN to the marker), total (process start to the marker). Returns false
 * while the guest has not reached its marker. */
bool boot_timer_us(const struct boot_timer *bt, uint64_t *setup, uint64_t *guest, uint64_t *total);

#endif
