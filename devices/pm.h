/*
 * ACPI hardware-reduced power management registers: the FADT's sleep
 * control, sleep status and reset registers.  Writing SLP_TYP=S5 with SLP_EN
 * powers the VM off; writing the reset value reboots it.
 */
#ifndef KVMM_PM_H
#define KVMM_PM_H

#include <stdbool.h>
#include <stdint.h>

struct vm;

/* Register layout relative to the device's base, one byte each. */
#define PM_REG_SLEEP_CTL	0
#define PM_REG_SLEEP_STS	1
#define PM_REG_RESET		2
#define PM_NR_REGS		3

#define PM_SLP_EN		(1u << 5)
#define PM_SLP_TYP_SHIFT	2
#define PM_SLP_TYP_MASK		0x7u
#define PM_SLP_TYP_S5		5u	/* the \_S5 package's SLP_TYP */
#define PM_RESET_VALUE		0x1u	/* the FADT's RESET_VALUE */

/* Bus handler for the PM_NR_REGS registers; OPAQUE is the struct vm. */
void pm_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len,
	   bool is_write);

#endif
