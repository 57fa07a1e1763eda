/*
 * The guest console as the host sees it: where serial output goes (stdout,
 * a file, nowhere) and, when stdin is a terminal, keyboard input fed to the
 * UART from the event loop with the terminal in raw mode.
 */
#ifndef KVMM_CONSOLE_H
#define KVMM_CONSOLE_H

struct vm;

/* Opens the output per vm->cfg->serial and, for a terminal on stdin,
 * registers it on the event loop (input reaches vm->serial once set).
 * 0/-errno with a message. */
int console_init(struct vm *vm);

/* The fd serial output goes to, or -1 when the serial port is off. */
int console_out_fd(const struct vm *vm);

/* Connects terminal input to vm->serial; the arch calls it after creating
 * the UART. */
void console_attach(struct vm *vm);

/* Restores the terminal and closes what console_init() opened. */
void console_fini(struct vm *vm);

#endif
