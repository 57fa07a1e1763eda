/*
 * kvm-hold: keeps one idle KVM VM alive inside the lab's emulated L1 for the whole lab run.
 *
 * Why: every time the number of VMs on a host goes 0 -> 1 or 1 -> 0, the host kernel's KVM
 * flips static keys (preempt_notifier_key inside __schedule, the LAPIC's apic_sw_disabled) and
 * enables or disables SVM on every CPU by IPI. Flipping a static key rewrites live kernel text
 * with the int3 breakpoint protocol while the other CPU may be executing it. Under QEMU's
 * multi-threaded TCG that cross-modifying code has wedged L1 (both L1 CPUs stuck in __schedule
 * and exc_int3 right as an L2 VM ended). With one VM (and one vCPU whose LAPIC stays software-
 * disabled) held for the whole run, the test VMs never move those counts across zero, so L1's
 * kernel text is never patched while the scenarios run.
 *
 * The held vCPU never runs. Prints "kvm-hold: ready" once the VM exists, then sleeps until it
 * is killed. Exits 1 with a message if /dev/kvm cannot give it a VM.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

static int fail(const char *what)
{
	fprintf(stderr, "kvm-hold: %s: %s\n", what, strerror(errno));
	return 1;
}

int main(void)
{
	int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0)
		return fail("open /dev/kvm");
	int vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm < 0)
		return fail("KVM_CREATE_VM");
#ifdef __x86_64__	/* arm64 has no KVM_CREATE_IRQCHIP; a VM and a vCPU are enough there */
	if (ioctl(vm, KVM_CREATE_IRQCHIP, 0) < 0)
		return fail("KVM_CREATE_IRQCHIP");
#endif
	if (ioctl(vm, KVM_CREATE_VCPU, 0) < 0)
		return fail("KVM_CREATE_VCPU");
	printf("kvm-hold: ready\n");
	fflush(stdout);
	for (;;)
		pause();
}
