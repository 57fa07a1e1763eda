/*
 * Unit tests for the exit dispatcher, fed synthetic kvm_run structures.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "exit.h"

#define RUN_SIZE 4096

struct rec {
	uint64_t offset;
	uint8_t last;
	int writes, reads;
};

static void rec_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len,
		   bool is_write)
{
	struct rec *r = opaque;

	r->offset = offset;
	if (is_write) {
		r->writes++;
		r->last = data[0];
	} else {
		r->reads++;
		memset(data, 0x42, len);
	}
}

static struct kvm_run *run;
static struct bus pio, mmio;
static struct rec prec, mrec;

static void setup(void)
{
	run = calloc(1, RUN_SIZE);
	memset(&pio, 0, sizeof(pio));
	memset(&mmio, 0, sizeof(mmio));
	memset(&prec, 0, sizeof(prec));
	memset(&mrec, 0, sizeof(mrec));
	bus_register(&pio, 0x3f8, 8, rec_io, &prec, "uart");
	bus_register(&mmio, 0xd0000000, 0x1000, rec_io, &mrec, "dev");
}

static void teardown(void)
{
	free(run);
}

TestSuite(exit, .init = setup, .fini = teardown);

static void io_exit(uint8_t dir, uint16_t port, uint8_t size, uint32_t count,
		    uint64_t off)
{
	run->exit_reason = KVM_EXIT_IO;
	run->io.direction = dir;
	run->io.port = port;
	run->io.size = size;
	run->io.count = count;
	run->io.data_offset = off;
}

Test(exit, port_out_and_in)
{
	uint8_t *data = (uint8_t *)run + 512;

	io_exit(KVM_EXIT_IO_OUT, 0x3f8, 1, 1, 512);
	data[0] = 'A';
	cr_assert_eq(exit_dispatch(run, RUN_SIZE, &pio, &mmio), EXIT_CONTINUE);
	cr_assert_eq(prec.writes, 1);
	cr_assert_eq(prec.last, 'A');

	io_exit(KVM_EXIT_IO_IN, 0x3fd, 1, 1, 512);
	cr_assert_eq(exit_dispatch(run, RUN_SIZE, &pio, &mmio), EXIT_CONTINUE);
	cr_assert_eq(prec.offset, 5);
	cr_assert_eq(data[0], 0x42);
}

Test(exit, string_io_is_repeated)
{
	io_exit(KVM_EXIT_IO_OUT, 0x3f8, 1, 5, 512);
	memcpy((uint8_t *)run + 512, "hello", 5);
	cr_assert_eq(exit_dispatch(run, RUN_SIZE, &pio, &mmio), EXIT_CONTINUE);
	cr_assert_eq(prec.writes, 5);
	cr_assert_eq(prec.last, 'o');
}

Test(exit, unclaimed_port_reads_ones)
{
	uint32_t *data = (uint32_t *)((uint8_t *)run + 512);

	io_exit(KVM_EXIT_IO_IN, 0xcfc, 4, 1, 512);
	*data = 0;
	cr_assert_eq(exit_dispatch(run, RUN_SIZE, &pio, &mmio), EXIT_CONTINUE);
	cr_assert_eq(*data, 0xffffffff);
}

Test(exit, io_data_outside_run_is_an_error)
{
	io_exit(KVM_EXIT_IO_OUT, 0x3f8, 1, 1, RUN_SIZE);
	cr_assert_eq(exit_dispatch(run, RUN_SIZE, &pio, &mmio), EXIT_ERROR);
	io_exit(KVM_EXIT_IO_OUT, 0x3f8, 4, 0x40000000, 512);
	cr_assert_eq(exit_dispatch(run, RUN_SIZE, &pio, &mmio), EXIT_ERROR);
	io_exit(KVM_EXIT_IO_OUT, 0x3f8, 3, 1, 512);
	cr_assert_eq(exit_dispatch(run, RUN_SIZE, &pio, &mmio), EXIT_ERROR);
	io_exit(KVM_EXIT_IO_OUT, 0x3f8, 1, 1, UINT64_MAX);
	cr_assert_eq(exit_dispatch(run, RUN_SIZE, &pio, &mmio), EXIT_ERROR);
	cr_assert_eq(prec.writes, 0);
}

Test(exit, mmio)
{
	run->exit_reason = KVM_EXIT_MMIO;
	run->mmio.phys_addr = 0xd0000070;
	run->mmio.len = 4;
	run->mmio.is_write = 1;
	run->mmio.data[0] = 0x0f;
	cr_assert_eq(exit_dispatch(run, RUN_SIZE, &pio, &mmio), EXIT_CONTINUE);
	cr_assert_eq(mrec.offset, 0x70);
	cr_assert_eq(mrec.last, 0x0f);

	run->mmio.len = 9;
	cr_assert_eq(exit_dispatch(run, RUN_SIZE, &pio, &mmio), EXIT_ERROR);
	run->mmio.len = 0;
	cr_assert_eq(exit_dispatch(run, RUN_SIZE, &pio, &mmio), EXIT_ERROR);
}

Test(exit, lifecycle_events)
{
	run->exit_reason = KVM_EXIT_SYSTEM_EVENT;
	run->system_event.type = KVM_SYSTEM_EVENT_SHUTDOWN;
	cr_assert_eq(exit_dispatch(run, RUN_SIZE, &pio, &mmio), EXIT_POWEROFF);
	run->system_event.type = KVM_SYSTEM_EVENT_RESET;
	cr_assert_eq(exit_dispatch(run, RUN_SIZE, &pio, &mmio), EXIT_REBOOT);
	run->system_event.type = KVM_SYSTEM_EVENT_CRASH;
	cr_assert_eq(exit_dispatch(run, RUN_SIZE, &pio, &mmio), EXIT_ERROR);
	run->exit_reason = KVM_EXIT_SHUTDOWN;
	cr_assert_eq(exit_dispatch(run, RUN_SIZE, &pio, &mmio), EXIT_REBOOT);
	run->exit_reason = KVM_EXIT_INTR;
	cr_assert_eq(exit_dispatch(run, RUN_SIZE, &pio, &mmio), EXIT_CONTINUE);
}

Test(exit, errors_and_unknown)
{
	run->exit_reason = KVM_EXIT_FAIL_ENTRY;
	cr_assert_eq(exit_dispatch(run, RUN_SIZE, &pio, &mmio), EXIT_ERROR);
	run->exit_reason = KVM_EXIT_INTERNAL_ERROR;
	cr_assert_eq(exit_dispatch(run, RUN_SIZE, &pio, &mmio), EXIT_ERROR);
	run->exit_reason = KVM_EXIT_HLT;
	cr_assert_eq(exit_dispatch(run, RUN_SIZE, &pio, &mmio), EXIT_UNKNOWN);
	run->exit_reason = 12345;
	cr_assert_eq(exit_dispatch(run, RUN_SIZE, &pio, &mmio), EXIT_UNKNOWN);
	cr_assert_str_eq(exit_reason_name(12345), "unknown");
	cr_assert_str_eq(exit_reason_name(KVM_EXIT_MMIO), "MMIO");
}

/* The exits an arm64 guest produces: every device access is MMIO (no port I/O), up to 8 bytes
 * wide, and PSCI SYSTEM_OFF / SYSTEM_RESET arrive as system events. */
Test(exit, aarch64_kinds)
{
	static const uint8_t eight[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };

	run->exit_reason = KVM_EXIT_MMIO;
	run->mmio.phys_addr = 0xd0000008;
	run->mmio.len = 8;
	run->mmio.is_write = 1;
	memcpy(run->mmio.data, eight, 8);
	cr_assert_eq(exit_dispatch(run, RUN_SIZE, &pio, &mmio), EXIT_CONTINUE);
	cr_assert_eq(mrec.offset, 8);
	cr_assert_eq(mrec.writes, 1);

	/* A read nobody claims (e.g. a probe of an empty virtio-mmio slot) sees all ones. */
	run->mmio.phys_addr = 0x0a001000;
	run->mmio.len = 4;
	run->mmio.is_write = 0;
	memset(run->mmio.data, 0, sizeof(run->mmio.data));
	cr_assert_eq(exit_dispatch(run, RUN_SIZE, &pio, &mmio), EXIT_CONTINUE);
	cr_assert_eq(run->mmio.data[0], 0xff);
	cr_assert_eq(run->mmio.data[3], 0xff);

	/* An access straddling the end of a device's window is not delivered. */
	run->mmio.phys_addr = 0xd0000ffc;
	run->mmio.len = 8;
	run->mmio.is_write = 1;
	cr_assert_eq(exit_dispatch(run, RUN_SIZE, &pio, &mmio), EXIT_CONTINUE);
	cr_assert_eq(mrec.writes, 1);

	run->exit_reason = KVM_EXIT_SYSTEM_EVENT;
	run->system_event.type = KVM_SYSTEM_EVENT_SHUTDOWN;	/* PSCI SYSTEM_OFF */
	cr_assert_eq(exit_dispatch(run, RUN_SIZE, &pio, &mmio), EXIT_POWEROFF);
	run->system_event.type = KVM_SYSTEM_EVENT_RESET;	/* PSCI SYSTEM_RESET */
	cr_assert_eq(exit_dispatch(run, RUN_SIZE, &pio, &mmio), EXIT_REBOOT);
}
