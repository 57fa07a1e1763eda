/*
 * The guest console as the host sees it: where serial output goes (stdout,
 * a file, nowhere) and, when stdin is a terminal, keyboard input fed to the
 * UART from the event loop with the terminal in raw mode.
 */
#ifndef KVMM_CONSOLE_H
#define KVMM_CONSOLE_H

#include <stddef.h>
#include <stdint.h>

struct vm;

/* Opens the output per vm->cfg->serial and, for a terminal on stdin,
 * registers it on the event loop (input reaches vm->serial once set).
 * 0/-errno with a message. */
int console_init(struct vm *vm);

/* The fd serial output goes to, or -1 when the serial port is off. */
int console_out_fd(const struct vm *vm);

/* The console UART as the console sees it (a 16550 on x86_64, a PL011 on aarch64). */
struct console_uart {
	void *dev;
	/* Offers N bytes of input; returns how many the receive FIFO took. */
	size_t (*input)(void *dev, const uint8_t *buf, size_t n);
	/* Registers CB, called when the guest drains the FIFO (input may go on). */
	void (*set_rx_drained_cb)(void *dev, void (*cb)(void *), void *opaque);
};

/* Connects terminal input to the console UART; the arch calls it after creating the UART. */
void console_attach(struct vm *vm, const struct console_uart *uart);

/* Restores the terminal and closes what console_init() opened. */
void console_fini(struct vm *vm);

#endif
