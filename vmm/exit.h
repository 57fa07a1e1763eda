/*
 * The VM-exit dispatcher: a pure function of a struct kvm_run and the I/O
 * buses, so unit tests can feed it synthetic exits.
 */
#ifndef KVMM_EXIT_H
#define KVMM_EXIT_H

#include <linux/kvm.h>

#include "bus.h"

enum exit_action {
	EXIT_CONTINUE,		/* handled; re-enter the guest */
	EXIT_POWEROFF,		/* guest asked to power off */
	EXIT_REBOOT,		/* guest asked to reset (or triple-faulted) */
	EXIT_ERROR,		/* failed entry, internal error, guest crash */
	EXIT_UNKNOWN,		/* an exit reason kvmm does not handle */
};

/*
 * Handles the exit described by RUN: port I/O and MMIO go to PIO and MMIO
 * (reads of unclaimed addresses return all ones), KVM_EXIT_SYSTEM_EVENT and
 * KVM_EXIT_SHUTDOWN map to poweroff/reboot, errors and unknown reasons are
 * reported to the caller, which prints them with the guest PC.
 * RUN's I/O data area must lie inside RUN_SIZE bytes of the mapping; an
 * io.data_offset or count that does not is treated as EXIT_ERROR.
 */
enum exit_action exit_dispatch(struct kvm_run *run, unsigned long run_size,
			       const struct bus *pio, const struct bus *mmio);

/* Name of a KVM exit reason for messages ("IO", "MMIO", ... or "unknown"). */
const char *exit_reason_name(unsigned int reason);

#endif
