/*
 * ARM PrimeCell PL061 GPIO controller (8 lines): on aarch64 it carries the
 * guest's power button, as on Cloud Hypervisor's and QEMU's arm64 machines.
 * The device tree describes it ("arm,pl061" / "arm,primecell") and a
 * "gpio-keys" key on one of its lines; Linux's gpio-pl061 and gpio_keys
 * drivers turn a press of that line into KEY_POWER.
 *
 * Interrupt contract: one line, GPIOINTR = (GPIORIS & GPIOIE) != 0, level-
 * triggered active high.  Edge events stay latched in GPIORIS until the
 * guest writes them to GPIOIC, so the line is lowered by the GPIOIC write
 * that clears the last unmasked event (Linux's handle_edge_irq acks before
 * running the handler); an event latched meanwhile keeps the line high and
 * the guest's interrupt controller delivers it again after EOI.
 */
#ifndef KVMM_PL061_H
#define KVMM_PL061_H

#include <stdbool.h>
#include <stdint.h>

/* Size of the register window (struct bus_range.len). */
#define PL061_MMIO_SIZE	0x1000
#define PL061_NR_LINES	8

struct pl061;

/*
 * Raises or lowers the controller's interrupt line.  Called only when the
 * level changes, with the controller's lock held (so level changes reach
 * the interrupt controller in order): it must not call back into this
 * PL061.
 */
typedef void (*pl061_irq_fn)(void *opaque, int level);

/*
 * Creates a controller in its reset state (every line an input at level 0,
 * edge-sensitive on the falling edge, all interrupts masked) whose
 * interrupt line is driven through IRQ(IRQ_OPAQUE, level); IRQ may be NULL.
 * Returns NULL on allocation failure.
 */
struct pl061 *pl061_new(pl061_irq_fn irq, void *irq_opaque);
void pl061_free(struct pl061 *g);

/*
 * Bus handler (bus_handler_t) for the PL061_MMIO_SIZE register window.
 * Every register is 8 bits wide in a 32-bit slot: an access reaches the
 * register only through its byte 0 (offset 4n); the other bytes of a read,
 * bytes past the first, offsets outside the window and unknown registers
 * read as 0, and writes to them are ignored.  Never touches DATA beyond
 * LEN bytes.  GPIODATA (0x000-0x3fc) uses address bits [9:2] as a mask:
 * a read returns only the masked lines, a write changes only the masked
 * lines that are outputs.
 */
void pl061_mmio(void *opaque, uint64_t offset, uint8_t *data, uint32_t len,
		bool is_write);

/*
 * Drives input LINE (0..PL061_NR_LINES-1) to LEVEL (0 low, else high) from
 * outside the guest, e.g. from the API thread, and latches or raises the
 * interrupt that the guest programmed for it (GPIOIS/IBE/IEV) if GPIOIE
 * unmasks it.  Safe from any thread.  Returns 0; -EINVAL for a line out of
 * range; -EBUSY, ignoring LEVEL, while the guest drives the line itself
 * (GPIODIR makes it an output).
 */
int pl061_set_input(struct pl061 *g, unsigned int line, int level);

/*
 * Presses a momentary button on input LINE: drives it high (as
 * pl061_set_input) and back low as soon as the guest has read it high
 * through GPIODATA, i.e. once the guest's driver has seen the press; the
 * falling edge then reports the release.  So a press can never be shorter
 * than the guest's debounce delay, however slow the guest is.  A press
 * while the line is still high waiting to be read is the same press.
 * Same returns and thread safety as pl061_set_input; a later
 * pl061_set_input on LINE cancels the pending release.
 */
int pl061_press(struct pl061 *g, unsigned int line);

#endif
