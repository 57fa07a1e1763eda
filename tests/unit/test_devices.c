/*
 * Unit tests for the small platform devices: the i8042 reset paths and the ACPI sleep/reset
 * registers, which end the VM, and the boot timer.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "i8042.h"
#include "pm.h"
#include "vm.h"

static struct vm vm;

static void setup(void)
{
	memset(&vm, 0, sizeof(vm));
	vm.stop_efd = -1;
}

TestSuite(devices, .init = setup);

static void cmd(struct i8042 *k, uint8_t v)
{
	i8042_cmd_io(k, 0, &v, 1, true);
}

static uint8_t data_rd(struct i8042 *k)
{
	uint8_t v;

	i8042_data_io(k, 0, &v, 1, false);
	return v;
}

Test(devices, i8042_self_test_and_ctr)
{
	struct i8042 *k = i8042_new(&vm);
	uint8_t st, v = 0x47;

	cmd(k, 0xaa);
	i8042_cmd_io(k, 0, &st, 1, false);
	cr_assert(st & 0x01);
	cr_assert_eq(data_rd(k), 0x55);
	i8042_cmd_io(k, 0, &st, 1, false);
	cr_assert_not(st & 0x01);
	cmd(k, 0x60);
	i8042_data_io(k, 0, &v, 1, true);
	cmd(k, 0x20);
	cr_assert_eq(data_rd(k), 0x47);
	cr_assert_eq(atomic_load(&vm.stop), VM_RUNNING);
	i8042_free(k);
}

/* Linux's AUX probe (loop test, then AUX test) must be answered at once, saying "no mouse
 * port": with no answer it polls the status port 10000 times per command. */
Test(devices, i8042_no_aux_port_answered)
{
	struct i8042 *k = i8042_new(&vm);
	uint8_t st, v = 0x5a;

	cmd(k, 0xd3);
	i8042_data_io(k, 0, &v, 1, true);
	i8042_cmd_io(k, 0, &st, 1, false);
	cr_assert(st & 0x01, "loop test answered");
	cr_assert_eq(st & 0x20, 0, "not as mouse data");
	cr_assert_neq(data_rd(k), 0x5a, "the byte does not come back");
	cmd(k, 0xa9);
	i8042_cmd_io(k, 0, &st, 1, false);
	cr_assert(st & 0x01);
	cr_assert_eq(data_rd(k), 0x01, "AUX test fails: clock line stuck low");
	i8042_cmd_io(k, 0, &st, 1, false);
	cr_assert_eq(st & 0x01, 0, "output buffer empty after the read");
	i8042_free(k);
}

Test(devices, i8042_reset_command)
{
	struct i8042 *k = i8042_new(&vm);

	cmd(k, 0xfe);
	cr_assert_eq(atomic_load(&vm.stop), VM_STOP_REBOOT);
	i8042_free(k);
}

Test(devices, i8042_output_port_reset)
{
	struct i8042 *k = i8042_new(&vm);
	uint8_t v = 0x03;

	cmd(k, 0xd1);
	i8042_data_io(k, 0, &v, 1, true);	/* bit 0 set: no reset */
	cr_assert_eq(atomic_load(&vm.stop), VM_RUNNING);
	cmd(k, 0xd1);
	v = 0x02;
	i8042_data_io(k, 0, &v, 1, true);
	cr_assert_eq(atomic_load(&vm.stop), VM_STOP_REBOOT);
	i8042_free(k);
}

static void pm_wr(uint64_t reg, uint8_t v)
{
	pm_io(&vm, reg, &v, 1, true);
}

Test(devices, pm_poweroff_needs_s5_and_slp_en)
{
	pm_wr(PM_REG_SLEEP_CTL, PM_SLP_TYP_S5 << PM_SLP_TYP_SHIFT);
	cr_assert_eq(atomic_load(&vm.stop), VM_RUNNING);
	pm_wr(PM_REG_SLEEP_CTL, (3 << PM_SLP_TYP_SHIFT) | PM_SLP_EN);
	cr_assert_eq(atomic_load(&vm.stop), VM_RUNNING);
	pm_wr(PM_REG_SLEEP_CTL, (PM_SLP_TYP_S5 << PM_SLP_TYP_SHIFT) | PM_SLP_EN);
	cr_assert_eq(atomic_load(&vm.stop), VM_STOP_POWEROFF);
	/* First stop reason wins. */
	pm_wr(PM_REG_RESET, PM_RESET_VALUE);
	cr_assert_eq(atomic_load(&vm.stop), VM_STOP_POWEROFF);
}

Test(devices, pm_reset_value)
{
	uint8_t v = 0xaa;

	pm_wr(PM_REG_RESET, 0x55);
	cr_assert_eq(atomic_load(&vm.stop), VM_RUNNING);
	pm_io(&vm, PM_REG_SLEEP_STS, &v, 1, false);
	cr_assert_eq(v, 0);
	pm_wr(PM_REG_RESET, PM_RESET_VALUE);
	cr_assert_eq(atomic_load(&vm.stop), VM_STOP_REBOOT);
}

/* The boot timer: only the first write of the magic value at offset 0 marks; the split is
 * there only once both the first KVM_RUN and the marker are. */
Test(boot_timer, marks_once_and_splits)
{
	struct boot_timer bt = { 0 };
	uint64_t setup, guest, total, first;
	uint8_t v;

	cr_assert(!boot_timer_us(&bt, &setup, &guest, &total));
	v = BOOT_TIMER_MAGIC;
	boot_timer_io(&bt, 0, &v, 1, true);	/* before any KVM_RUN: recorded, no split */
	cr_assert(!boot_timer_us(&bt, &setup, &guest, &total));

	bt = (struct boot_timer){ 0 };
	boot_timer_first_run(&bt);
	first = bt.first_run_ns;
	cr_assert_geq(first, boot_timer_process_start_ns());
	boot_timer_first_run(&bt);
	cr_assert_eq(bt.first_run_ns, first, "a later KVM_RUN moved the first one");
	v = 7;
	boot_timer_io(&bt, 0, &v, 1, true);	/* not the magic value */
	v = BOOT_TIMER_MAGIC;
	boot_timer_io(&bt, 1, &v, 1, true);	/* not offset 0 */
	cr_assert(!boot_timer_us(&bt, &setup, &guest, &total));
	boot_timer_io(&bt, 0, &v, 1, true);
	cr_assert(boot_timer_us(&bt, &setup, &guest, &total));
	cr_assert_eq(total, setup + guest, "%llu != %llu + %llu", (unsigned long long)total,
		     (unsigned long long)setup, (unsigned long long)guest);
	first = bt.marker_ns;
	boot_timer_io(&bt, 0, &v, 1, true);	/* a second marker changes nothing */
	cr_assert_eq(bt.marker_ns, first);
	cr_assert_eq(bt.writes, 4);
}

/* The teardown's start is the first stop request; later ones (a vCPU's error after a
 * power-off, say) do not move it. */
Test(boot_timer, first_stop_counts)
{
	struct teardown_marks m = { { 0 } };
	struct boot_timer bt = { 0 };
	uint64_t first;

	boot_timer_log_teardown(&bt, &m);	/* no stop yet: nothing to log, no crash */
	boot_timer_stop(&bt);
	first = bt.stop_ns;
	cr_assert_geq(first, boot_timer_process_start_ns());
	boot_timer_stop(&bt);
	cr_assert_eq(bt.stop_ns, first, "a later stop request moved the first one");
	boot_timer_log_teardown(&bt, &m);	/* no marks: nothing to log */
}

/* The teardown's split: each step from the end of the one before (the first from the stop
 * request), adding up to the whole; a missing or backward mark gives no split. */
Test(boot_timer, teardown_split)
{
	struct teardown_marks m = { { 2000000, 5000000, 5500000, 9000000, 29000000 } };
	uint64_t step[TEARDOWN_STEPS], total, sum = 0;

	cr_assert(teardown_split_us(1000000, &m, step, &total));
	cr_assert_eq(step[TEARDOWN_NOTICED], 1000);
	cr_assert_eq(step[TEARDOWN_VCPUS], 3000);
	cr_assert_eq(step[TEARDOWN_DEVICES], 500);
	cr_assert_eq(step[TEARDOWN_VM], 3500);
	cr_assert_eq(step[TEARDOWN_RAM], 20000);
	for (unsigned int i = 0; i < TEARDOWN_STEPS; i++)
		sum += step[i];
	cr_assert_eq(total, 28000);
	cr_assert_eq(sum, total);
	cr_assert(!teardown_split_us(0, &m, step, &total), "no stop request");
	cr_assert(!teardown_split_us(3000000, &m, step, &total), "stop after the first mark");
	m.at[TEARDOWN_VM] = 0;
	cr_assert(!teardown_split_us(1000000, &m, step, &total), "a step not reached");
	m.at[TEARDOWN_VM] = 4000000;
	cr_assert(!teardown_split_us(1000000, &m, step, &total), "marks out of order");
}

Test(boot_timer, setup_split)
{
	uint64_t at[SETUP_STEPS] = { 3000000, 4000000, 4500000, 6000000, 9000000, 20000000,
				     20250000 };
	uint64_t step[SETUP_STEPS], total, sum = 0;

	cr_assert(setup_split_us(1000000, at, step, &total));
	cr_assert_eq(step[SETUP_PROCESS], 2000);
	cr_assert_eq(step[SETUP_KVM], 1000);
	cr_assert_eq(step[SETUP_RAM], 500);
	cr_assert_eq(step[SETUP_VCPUS], 1500);
	cr_assert_eq(step[SETUP_DEVICES], 3000);
	cr_assert_eq(step[SETUP_PAYLOAD], 11000);
	cr_assert_eq(step[SETUP_START], 250);
	for (unsigned int i = 0; i < SETUP_STEPS; i++)
		sum += step[i];
	cr_assert_eq(total, 19250);
	cr_assert_eq(sum, total);
	cr_assert(!setup_split_us(0, at, step, &total), "no process start");
	at[SETUP_START] = 0;
	cr_assert(!setup_split_us(1000000, at, step, &total), "vcpu0 never ran");
	at[SETUP_START] = 20250000;
	at[SETUP_RAM] = 3500000;
	cr_assert(!setup_split_us(1000000, at, step, &total), "marks out of order");
}

/* Marks land in order on the VM's thread; the first KVM_RUN is recorded once, the set-up line
 * logged with it. */
Test(boot_timer, setup_marks_and_first_run)
{
	struct boot_timer bt = { 0 };
	uint64_t setup, guest, total;
	uint8_t magic = BOOT_TIMER_MAGIC;

	for (unsigned int i = 0; i < SETUP_START; i++)
		boot_timer_setup_mark(&bt, i);
	boot_timer_setup_mark(&bt, SETUP_START);	/* ignored: first_run_ns is that mark */
	cr_assert_eq(bt.setup_at[SETUP_START], 0);
	for (unsigned int i = 1; i < SETUP_START; i++)
		cr_assert_geq(bt.setup_at[i], bt.setup_at[i - 1]);
	cr_assert_geq(bt.setup_at[SETUP_PROCESS], boot_timer_process_start_ns());
	boot_timer_first_run(&bt);
	cr_assert_geq(bt.first_run_ns, bt.setup_at[SETUP_PAYLOAD]);
	uint64_t first = bt.first_run_ns;
	boot_timer_first_run(&bt);
	cr_assert_eq(bt.first_run_ns, first, "the first KVM_RUN is recorded once");
	boot_timer_io(&bt, 0, &magic, 1, true);
	cr_assert(boot_timer_us(&bt, &setup, &guest, &total));
	cr_assert_eq(setup + guest, total);

	uint64_t step[SETUP_STEPS], sum = 0, split_total;

	cr_assert(boot_timer_setup_split(&bt, step, &split_total));
	for (unsigned int i = 0; i < SETUP_STEPS; i++)
		sum += step[i];
	cr_assert_eq(sum, split_total);
	/* Each step truncated on its own: the sum is at most the whole set-up, and short of it by
	 * less than a microsecond a step. */
	cr_assert_leq(split_total, setup);
	cr_assert_lt(setup - split_total, SETUP_STEPS);
	cr_assert_str_eq(setup_step_name(SETUP_PAYLOAD), "payload");
	cr_assert_str_eq(setup_step_name(SETUP_STEPS), "?");
	bt.setup_at[SETUP_RAM] = 0;
	cr_assert(!boot_timer_setup_split(&bt, step, &split_total), "a step not marked");
}

Test(boot_timer, reads_zero)
{
	struct boot_timer bt = { 0 };
	uint8_t d[4] = { 0xff, 0xff, 0xff, 0xff };

	boot_timer_io(&bt, 0, d, 4, false);
	cr_assert(d[0] == 0 && d[1] == 0 && d[2] == 0 && d[3] == 0);
	cr_assert_eq(bt.writes, 0);
}
