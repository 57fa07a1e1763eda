/*
 * kvm-cost: what KVM itself charges for making and destroying a VM the way kvmm's set-up does
 * it (vm_open() and arch_vm_init()), with no guest RAM, vCPU or device, so the lab can tell
 * the kernel's part of kvmm's "KVM" set-up step and of its teardown's "VM" step (the close of
 * the VM fd) from kvmm's own. The lab's kvm-cost benchmark runs it (scenarios.d/boot-time.sh).
 *
 * Usage: kvm-cost RUNS
 * Prints per run, in microseconds:
 *   kvm-cost run=N open=.. create_vm=.. <arch steps>=.. destroy=.. total=..
 * x86_64's steps: tss idmap irqchip pit2 cpuid (as arch/x86_64/arch.c); aarch64's: vgic (a
 * GICv3, falling back to a GICv2 as kvmm does; the device's creation only: its addresses and
 * initialisation come with vCPUs, which this makes none of). Exits 1 at the first failing
 * ioctl, naming it.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_us(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000 + (uint64_t)t.tv_nsec / 1000;
}

/* One timed step: its name and the time since the previous one go on LINE. */
struct line {
	char buf[512];
	size_t len;
	uint64_t last;
};

static void step(struct line *l, const char *name)
{
	uint64_t t = now_us();
	int n = snprintf(l->buf + l->len, sizeof(l->buf) - l->len, " %s=%llu", name,
			 (unsigned long long)(t - l->last));

	if (n > 0 && (size_t)n < sizeof(l->buf) - l->len)
		l->len += (size_t)n;
	l->last = t;
}

static int fail(const char *what)
{
	printf("kvm-cost: %s: %s\n", what, strerror(errno));
	return 1;
}

#if defined(__x86_64__)
static int arch_steps(int kvm, int vm, struct line *l)
{
	struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };
	uint64_t idmap = 0xfffbc000;	/* as kvmm: below the TSS, under 4 GiB */
	struct kvm_cpuid2 *c;
	int ret;

	if (ioctl(vm, KVM_SET_TSS_ADDR, 0xfffbd000UL) < 0)
		return fail("KVM_SET_TSS_ADDR");
	step(l, "tss");
	if (ioctl(vm, KVM_SET_IDENTITY_MAP_ADDR, &idmap) < 0)
		return fail("KVM_SET_IDENTITY_MAP_ADDR");
	step(l, "idmap");
	if (ioctl(vm, KVM_CREATE_IRQCHIP, 0) < 0)
		return fail("KVM_CREATE_IRQCHIP");
	step(l, "irqchip");
	if (ioctl(vm, KVM_CREATE_PIT2, &pit) < 0)
		return fail("KVM_CREATE_PIT2");
	step(l, "pit2");
	c = calloc(1, sizeof(*c) + 256 * sizeof(c->entries[0]));
	if (!c)
		return fail("calloc");
	c->nent = 256;
	ret = ioctl(kvm, KVM_GET_SUPPORTED_CPUID, c);
	free(c);
	if (ret < 0)
		return fail("KVM_GET_SUPPORTED_CPUID");
	step(l, "cpuid");
	return 0;
}
#elif defined(__aarch64__)
static int arch_steps(int kvm, int vm, struct line *l)
{
	struct kvm_create_device d = { .type = KVM_DEV_TYPE_ARM_VGIC_V3 };

	(void)kvm;
	if (ioctl(vm, KVM_CREATE_DEVICE, &d) < 0) {
		d.type = KVM_DEV_TYPE_ARM_VGIC_V2;
		if (ioctl(vm, KVM_CREATE_DEVICE, &d) < 0)
			return fail("KVM_CREATE_DEVICE (vGIC)");
	}
	step(l, "vgic");
	close(d.fd);
	return 0;
}
#else
#error "kvm-cost: x86_64 or aarch64 only"
#endif

static int one_run(int run)
{
	struct line l = { .last = now_us() };
	uint64_t start = l.last;
	int kvm, vm, ret;

	kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0)
		return fail("/dev/kvm");
	step(&l, "open");
	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm < 0) {
		ret = fail("KVM_CREATE_VM");
		close(kvm);
		return ret;
	}
	step(&l, "create_vm");
	ret = arch_steps(kvm, vm, &l);
	close(vm);		/* the VM's last reference: KVM destroys it here */
	close(kvm);
	if (ret)
		return ret;
	step(&l, "destroy");
	printf("kvm-cost run=%d%s total=%llu\n", run, l.buf,
	       (unsigned long long)(l.last - start));
	return 0;
}

int main(int argc, char **argv)
{
	int runs = argc == 2 ? atoi(argv[1]) : 0;

	if (runs < 1 || runs > 1000) {
		fprintf(stderr, "usage: kvm-cost RUNS (1-1000)\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (int r = 1; r <= runs; r++) {
		if (one_run(r))
			return 1;
		usleep(100000);	/* spaced apart, as separate VMs' starts are */
	}
	return 0;
}
