/*
 * ACPI sleep/reset registers (hardware-reduced ACPI, FADT revision 5+).
 * Linux powers off by writing (SLP_TYP << 2) | SLP_EN to the sleep control
 * register and reboots by writing the reset value to the reset register;
 * both end the VM with the matching stop reason.
 */
#include <string.h>

#include "log.h"
#include "pm.h"
#include "vm.h"

void pm_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len,
	   bool is_write)
{
	struct vm *vm = opaque;
	uint8_t v = data[0];

	if (!is_write) {
		/* Sleep status reads 0: the guest never wakes from S5. */
		memset(data, 0, len);
		return;
	}
	switch (offset) {
	case PM_REG_SLEEP_CTL:
		if ((v & PM_SLP_EN) &&
		    ((v >> PM_SLP_TYP_SHIFT) & PM_SLP_TYP_MASK) == PM_SLP_TYP_S5) {
			pr_info("acpi: guest entered S5 (poweroff)");
			vm_request_stop(vm, VM_STOP_POWEROFF);
		}
		break;
	case PM_REG_RESET:
		if (v == PM_RESET_VALUE) {
			pr_info("acpi: guest wrote the reset register");
			vm_request_stop(vm, VM_STOP_REBOOT);
		}
		break;
	default:
		break;
	}
}
