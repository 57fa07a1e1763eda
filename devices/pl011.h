/*
 * ARM PrimeCell PL011 UART (r1p5): the guest console on aarch64
 * (ttyAMA0, "arm,pl011" / "arm,primecell" in the device tree).  Same API
 * shape as serial.h so the console code can drive either UART.
 */
#ifndef KVMM_PL011_H
#define KVMM_PL011_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Size of the register window (struct bus_range.len). */
#define PL011_MMIO_SIZE 0x1000

struct pl011;

/*
 * Raises or lowers the UART's interrupt line (UARTINTR, i.e. RIS & IMSC
 * != 0).  Called only when the level changes, with the UART lock held (so
 * level changes reach the interrupt controller in order): it must not call
 * back into this UART.
 */
typedef void (*pl011_irq_fn)(void *opaque, int level);

/*
 * Creates a UART in its reset state whose transmitted bytes go to OUT_FD
 * (-1 discards them) and whose interrupt line is driven through
 * IRQ(IRQ_OPAQUE, level); IRQ may be NULL.  Returns NULL on allocation
 * failure.
 */
struct pl011 *pl011_new(int out_fd, pl011_irq_fn irq, void *irq_opaque);
void pl011_free(struct pl011 *u);

/*
 * Bus handler (bus_handler_t) for the PL011_MMIO_SIZE register window.
 * Accepts any OFFSET and LEN: the access goes to the 32-bit register that
 * holds its first byte and covers only that register's bytes from there
 * on (a narrow write leaves the register's other bytes alone; bytes past
 * the register read as 0 and are ignored on write).  Offsets outside the
 * window and unknown registers read as 0; writes to them are ignored.
 * Never touches DATA beyond LEN bytes.
 */
void pl011_mmio(void *opaque, uint64_t offset, uint8_t *data, uint32_t len,
		bool is_write);

/*
 * Queues host input for the guest.  Returns how many of N bytes fitted in
 * the receive FIFO (32 bytes when the guest enables FIFOs with LCR_H.FEN,
 * a 1-byte holding register otherwise); the rest must be offered again
 * later, e.g. from the rx-drained callback.
 */
size_t pl011_input(struct pl011 *u, const uint8_t *buf, size_t n);

/* Free space in the receive FIFO. */
size_t pl011_rx_space(struct pl011 *u);

/*
 * Called (on a vCPU thread, without the UART lock held) when the guest has
 * drained the receive FIFO, so an input source paused on a full FIFO can
 * resume.  Optional.
 */
void pl011_set_rx_drained_cb(struct pl011 *u, void (*cb)(void *),
			     void *opaque);

#endif
