/*
 * 16550A UART: the guest console on x86_64 (ttyS0 at 0x3f8, IRQ 4).
 */
#ifndef KVMM_SERIAL_H
#define KVMM_SERIAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SERIAL_NR_REGS 8

struct serial;

/* Raises or lowers the UART's interrupt line. */
typedef void (*serial_irq_fn)(void *opaque, int level);

/*
 * Creates a UART whose transmitted bytes go to OUT_FD (-1 discards them)
 * and whose interrupt line is driven through IRQ(IRQ_OPAQUE, level).
 * Returns NULL on allocation failure.
 */
struct serial *serial_new(int out_fd, serial_irq_fn irq, void *irq_opaque);
void serial_free(struct serial *s);

/* Bus handler for the 8 registers (struct bus_range.handler). */
void serial_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len,
		 bool is_write);

/*
 * Queues host input for the guest.  Returns how many of N bytes fitted in
 * the receive FIFO (the rest must be offered again later).
 */
size_t serial_input(struct serial *s, const uint8_t *buf, size_t n);

/* Free space in the receive FIFO. */
size_t serial_rx_space(struct serial *s);

/*
 * Called (on a vCPU thread, without the UART lock held) when the guest has
 * drained the receive FIFO, so an input source paused on a full FIFO can
 * resume.  Optional.
 */
void serial_set_rx_drained_cb(struct serial *s, void (*cb)(void *), void *opaque);

#endif
