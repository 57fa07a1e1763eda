/*
 * The boot timer (boot_timer.h): where a boot's time went, measured from inside kvmm when the
 * guest says it got there.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "boot_timer.h"
#include "log.h"

static uint64_t process_start_ns;

uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

__attribute__((constructor)) static void boot_timer_record_start(void)
{
	process_start_ns = mono_ns();
}

uint64_t boot_timer_process_start_ns(void)
{
	return process_start_ns;
}

/* Sets *T to now unless it was set already (any thread; the first one wins, and is told). */
static bool record_once(_Atomic uint64_t *t)
{
	uint64_t zero = 0;

	return !atomic_load_explicit(t, memory_order_relaxed) &&
	       atomic_compare_exchange_strong(t, &zero, mono_ns());
}

static void log_setup(const struct boot_timer *bt);

void boot_timer_first_run(struct boot_timer *bt)
{
	if (record_once(&bt->first_run_ns))
		log_setup(bt);
}

void boot_timer_stop(struct boot_timer *bt)
{
	record_once(&bt->stop_ns);
}

/* "12.345" for US microseconds, in BUF. */
static const char *ms(char *buf, size_t n, uint64_t us)
{
	snprintf(buf, n, "%llu.%03llu", (unsigned long long)(us / 1000),
		 (unsigned long long)(us % 1000));
	return buf;
}

/* The N steps from FROM through the ends AT[] in us, into STEP_US and *TOTAL_US (each step
 * truncated, so that the parts add up); false if FROM or a mark is 0, or they go backwards. */
static bool split_us(uint64_t from, const uint64_t *at, unsigned int n, uint64_t *step_us,
		     uint64_t *total_us)
{
	uint64_t prev = from, sum = 0;

	if (!from)
		return false;
	for (unsigned int i = 0; i < n; i++) {
		if (!at[i] || at[i] < prev)
			return false;
		step_us[i] = (at[i] - prev) / 1000;
		sum += step_us[i];
		prev = at[i];
	}
	*total_us = sum;
	return true;
}

bool teardown_split_us(uint64_t stop_ns, const struct teardown_marks *marks,
		       uint64_t step_us[TEARDOWN_STEPS], uint64_t *total_us)
{
	return split_us(stop_ns, marks->at, TEARDOWN_STEPS, step_us, total_us);
}

bool setup_split_us(uint64_t start_ns, const uint64_t at[SETUP_STEPS],
		    uint64_t step_us[SETUP_STEPS], uint64_t *total_us)
{
	return split_us(start_ns, at, SETUP_STEPS, step_us, total_us);
}

void boot_timer_setup_mark(struct boot_timer *bt, enum setup_step step)
{
	if (step < SETUP_START)
		bt->setup_at[step] = mono_ns();
}

bool boot_timer_setup_split(const struct boot_timer *bt, uint64_t step_us[SETUP_STEPS],
			    uint64_t *total_us)
{
	uint64_t at[SETUP_STEPS];

	memcpy(at, bt->setup_at, sizeof(at));
	at[SETUP_START] = atomic_load(&bt->first_run_ns);
	return setup_split_us(process_start_ns, at, step_us, total_us);
}

const char *setup_step_name(enum setup_step step)
{
	static const char *const names[SETUP_STEPS] = {
		[SETUP_PROCESS] = "process", [SETUP_KVM] = "kvm", [SETUP_RAM] = "ram",
		[SETUP_VCPUS] = "vcpus", [SETUP_DEVICES] = "devices",
		[SETUP_PAYLOAD] = "payload", [SETUP_START] = "start",
	};

	return step < SETUP_STEPS ? names[step] : "?";
}

/* Logs (info) where the set-up went, when the first KVM_RUN is recorded: the line the lab's
 * boot-time benchmark reads its set-up steps from. Nothing if a step was not marked (a VM
 * built without vm_setup(), as in the unit tests). */
static void log_setup(const struct boot_timer *bt)
{
	uint64_t step[SETUP_STEPS], total;
	char t[24], s[SETUP_STEPS][24];

	if (!boot_timer_setup_split(bt, step, &total))
		return;
	for (unsigned int i = 0; i < SETUP_STEPS; i++)
		ms(s[i], sizeof(s[i]), step[i]);
	pr_info("set-up: vcpu0's first KVM_RUN %s ms after kvmm started (process %s, KVM %s, "
		"RAM %s, vCPUs %s, devices %s, payload %s, start %s ms)", ms(t, sizeof(t), total),
		s[SETUP_PROCESS], s[SETUP_KVM], s[SETUP_RAM], s[SETUP_VCPUS], s[SETUP_DEVICES],
		s[SETUP_PAYLOAD], s[SETUP_START]);
}

void boot_timer_log_teardown(const struct boot_timer *bt, const struct teardown_marks *marks)
{
	uint64_t step[TEARDOWN_STEPS], total;
	char a[24], b[24], c[24], d[24], e[24], f[24];

	if (!teardown_split_us(atomic_load(&bt->stop_ns), marks, step, &total))
		return;
	pr_info("teardown: the VM's resources freed %s ms after its stop was requested (noticed "
		"%s, vCPUs %s, devices %s, VM %s, RAM %s ms)", ms(a, sizeof(a), total),
		ms(b, sizeof(b), step[TEARDOWN_NOTICED]), ms(c, sizeof(c), step[TEARDOWN_VCPUS]),
		ms(d, sizeof(d), step[TEARDOWN_DEVICES]), ms(e, sizeof(e), step[TEARDOWN_VM]),
		ms(f, sizeof(f), step[TEARDOWN_RAM]));
}

bool boot_timer_us(const struct boot_timer *bt, uint64_t *setup, uint64_t *guest, uint64_t *total)
{
	uint64_t run = atomic_load(&bt->first_run_ns), mark = atomic_load(&bt->marker_ns);

	if (!run || !mark || mark < run || run < process_start_ns)
		return false;
	*setup = (run - process_start_ns) / 1000;
	*guest = (mark - run) / 1000;
	*total = *setup + *guest;	/* each truncated: the parts add up */
	return true;
}

void boot_timer_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write)
{
	struct boot_timer *bt = opaque;
	uint64_t now, zero = 0, setup, guest, total;

	if (!is_write) {
		memset(data, 0, len);
		return;
	}
	atomic_fetch_add(&bt->writes, 1);
	if (offset != 0 || data[0] != BOOT_TIMER_MAGIC)
		return;
	now = mono_ns();
	if (!atomic_compare_exchange_strong(&bt->marker_ns, &zero, now))
		return;		/* only the first marker counts */
	if (boot_timer_us(bt, &setup, &guest, &total))
		pr_info("boot-timer: the guest's marker %llu.%03llu ms after kvmm started: "
			"kvmm set-up %llu.%03llu ms, guest %llu.%03llu ms",
			(unsigned long long)(total / 1000), (unsigned long long)(total % 1000),
			(unsigned long long)(setup / 1000), (unsigned long long)(setup % 1000),
			(unsigned long long)(guest / 1000), (unsigned long long)(guest % 1000));
	else
		pr_info("boot-timer: the guest's marker came before any KVM_RUN was recorded");
}
