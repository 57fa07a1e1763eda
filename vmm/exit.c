/*
 * VM-exit dispatcher.  Kept free of ioctls and globals: everything it needs
 * arrives in the kvm_run structure and the two buses, which is what lets the
 * unit tests drive it with synthetic exits.
 */
#include <stddef.h>

#include "exit.h"

static const char *const reason_names[] = {
	[KVM_EXIT_UNKNOWN] = "UNKNOWN",
	[KVM_EXIT_EXCEPTION] = "EXCEPTION",
	[KVM_EXIT_IO] = "IO",
	[KVM_EXIT_HYPERCALL] = "HYPERCALL",
	[KVM_EXIT_DEBUG] = "DEBUG",
	[KVM_EXIT_HLT] = "HLT",
	[KVM_EXIT_MMIO] = "MMIO",
	[KVM_EXIT_IRQ_WINDOW_OPEN] = "IRQ_WINDOW_OPEN",
	[KVM_EXIT_SHUTDOWN] = "SHUTDOWN",
	[KVM_EXIT_FAIL_ENTRY] = "FAIL_ENTRY",
	[KVM_EXIT_INTR] = "INTR",
	[KVM_EXIT_SET_TPR] = "SET_TPR",
	[KVM_EXIT_TPR_ACCESS] = "TPR_ACCESS",
	[KVM_EXIT_NMI] = "NMI",
	[KVM_EXIT_INTERNAL_ERROR] = "INTERNAL_ERROR",
	[KVM_EXIT_SYSTEM_EVENT] = "SYSTEM_EVENT",
};

const char *exit_reason_name(unsigned int reason)
{
	if (reason < sizeof(reason_names) / sizeof(reason_names[0]) &&
	    reason_names[reason])
		return reason_names[reason];
	return "unknown";
}

static enum exit_action exit_io(struct kvm_run *run, unsigned long run_size,
				const struct bus *pio)
{
	uint32_t size = run->io.size, count = run->io.count, i;
	uint64_t off = run->io.data_offset;
	bool is_write = run->io.direction == KVM_EXIT_IO_OUT;
	uint8_t *data;

	/* KVM fills these, but a bad offset would make us scribble past the
	 * mapping: check rather than trust. */
	if ((size != 1 && size != 2 && size != 4) || count == 0 ||
	    off > run_size || (uint64_t)size * count > run_size - off)
		return EXIT_ERROR;
	data = (uint8_t *)run + off;
	/* String I/O (rep ins/outs) arrives as COUNT back-to-back accesses. */
	for (i = 0; i < count; i++, data += size)
		bus_access(pio, run->io.port, data, size, is_write);
	return EXIT_CONTINUE;
}

static enum exit_action exit_mmio(struct kvm_run *run, const struct bus *mmio)
{
	uint32_t len = run->mmio.len;

	if (len == 0 || len > sizeof(run->mmio.data))
		return EXIT_ERROR;
	bus_access(mmio, run->mmio.phys_addr, run->mmio.data, len,
		   run->mmio.is_write);
	return EXIT_CONTINUE;
}

enum exit_action exit_dispatch(struct kvm_run *run, unsigned long run_size,
			       const struct bus *pio, const struct bus *mmio)
{
	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		return exit_io(run, run_size, pio);
	case KVM_EXIT_MMIO:
		return exit_mmio(run, mmio);
	case KVM_EXIT_INTR:
		/* A signal (our kick) interrupted KVM_RUN. */
		return EXIT_CONTINUE;
	case KVM_EXIT_SHUTDOWN:
		/* x86 triple fault: what a PC does on a failed reset. */
		return EXIT_REBOOT;
	case KVM_EXIT_SYSTEM_EVENT:
		switch (run->system_event.type) {
		case KVM_SYSTEM_EVENT_SHUTDOWN:
			return EXIT_POWEROFF;
		case KVM_SYSTEM_EVENT_RESET:
			return EXIT_REBOOT;
		default:	/* CRASH and anything newer */
			return EXIT_ERROR;
		}
	case KVM_EXIT_FAIL_ENTRY:
	case KVM_EXIT_INTERNAL_ERROR:
		return EXIT_ERROR;
	default:
		return EXIT_UNKNOWN;
	}
}
