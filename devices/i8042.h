/*
 * i8042 keyboard controller, only as far as the guest's reboot path needs:
 * the self-test and command-byte dance Linux may perform, and the CPU reset
 * pulse (command 0xfe, or output-port bit 0 cleared) that ends the VM with
 * VM_STOP_REBOOT.  No keyboard or mouse is attached.
 */
#ifndef KVMM_I8042_H
#define KVMM_I8042_H

#include <stdbool.h>
#include <stdint.h>

struct vm;
struct i8042;

struct i8042 *i8042_new(struct vm *vm);
void i8042_free(struct i8042 *k);

/* Bus handlers: the data port (0x60) and the command/status port (0x64). */
void i8042_data_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len,
		   bool is_write);
void i8042_cmd_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len,
		  bool is_write);

#endif
