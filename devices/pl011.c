/*
 * ARM PrimeCell PL011 UART (r1p5) emulation, the aarch64 guest console.
 *
 * Transmit is instantaneous: each DR write goes straight to the output fd,
 * so the transmit FIFO is always empty (FR.TXFE set, TXFF and BUSY clear)
 * and CR.UARTEN/TXE do not gate it (Linux earlycon writes DR without
 * enabling the UART).  Receive has a 32-entry FIFO when LCR_H.FEN is set
 * and a 1-byte holding register otherwise, fed from the event loop.
 * Baud rate, line control, IrDA, DMA, break and loopback are stored but
 * have no effect; errors never occur; the modem inputs read as CTS, DSR
 * and DCD asserted (as serial.c reports them) and never interrupt.
 *
 * Interrupts (the line is (RIS & IMSC) != 0, recomputed after every access
 * and every input, and signalled only when it changes):
 *  - RXIS and RTIS are both set exactly while the receive FIFO is not
 *    empty: a receive timeout that expires at once, with the IFLS trigger
 *    level ignored.  They drop when the guest drains the FIFO; ICR cannot
 *    clear them while data is pending.  Linux unmasks both and reads until
 *    FR.RXFE, so input is never left waiting for a timeout.
 *  - TXIS is latched.  It is set by every DR write (the byte leaves at
 *    once, so the FIFO passes its trigger level) and when IMSC.TXIM goes
 *    from 0 to 1 (the transmitter is empty, so a driver that unmasks TXIM
 *    and waits, as Linux before 4.x did, is served at once); only ICR
 *    clears it.  Linux's pl011_int never writes TXIS to ICR: it writes up
 *    to fifosize/2 bytes per pass without checking FR and loops while
 *    RIS & IMSC is non-zero, so TXIS must stay set across DR writes or
 *    output stalls; it ends the loop by masking TXIM once its buffer is
 *    empty.  Its start_tx writes DR until FR.TXFF, which never happens
 *    here, so it normally transmits without interrupts at all.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pl011.h"

enum {
	REG_DR = 0x000, REG_RSR_ECR = 0x004, REG_FR = 0x018, REG_ILPR = 0x020,
	REG_IBRD = 0x024, REG_FBRD = 0x028, REG_LCR_H = 0x02c, REG_CR = 0x030,
	REG_IFLS = 0x034, REG_IMSC = 0x038, REG_RIS = 0x03c, REG_MIS = 0x040,
	REG_ICR = 0x044, REG_DMACR = 0x048, REG_ID = 0xfe0,
};

#define FR_CTS		0x001
#define FR_DSR		0x002
#define FR_DCD		0x004
#define FR_RXFE		0x010
#define FR_RXFF		0x040
#define FR_TXFE		0x080
#define LCR_H_FEN	0x10
#define INT_RX		0x010	/* RXIS / RXIM */
#define INT_TX		0x020	/* TXIS / TXIM */
#define INT_RT		0x040	/* RTIS / RTIM */
#define INT_ALL		0x7ff
#define CR_RESET	0x300	/* TXE | RXE */
#define IFLS_RESET	0x12	/* both trigger levels at 1/2 */

#define RX_FIFO_SIZE	32

/* PeriphID0-3 (part 0x011, designer ARM, revision 3 = r1p5), CellID0-3. */
static const uint8_t pl011_id[8] = {
	0x11, 0x10, 0x34, 0x00, 0x0d, 0xf0, 0x05, 0xb1,
};

struct pl011 {
	pthread_mutex_t lock;
	int out_fd;
	pl011_irq_fn irq;
	void *irq_opaque;
	void (*rx_drained)(void *);
	void *rx_drained_opaque;
	int irq_level;

	uint32_t ilpr, ibrd, fbrd, lcr_h, cr, ifls, imsc, dmacr;
	uint32_t ris_latch;	/* latched RIS bits: only TXIS */
	uint8_t rx[RX_FIFO_SIZE];
	unsigned int rx_head, rx_count;
};

struct pl011 *pl011_new(int out_fd, pl011_irq_fn irq, void *irq_opaque)
{
	struct pl011 *u = calloc(1, sizeof(*u));

	if (!u)
		return NULL;
	pthread_mutex_init(&u->lock, NULL);
	u->out_fd = out_fd;
	u->irq = irq;
	u->irq_opaque = irq_opaque;
	u->cr = CR_RESET;
	u->ifls = IFLS_RESET;
	return u;
}

void pl011_free(struct pl011 *u)
{
	if (!u)
		return;
	pthread_mutex_destroy(&u->lock);
	free(u);
}

void pl011_set_rx_drained_cb(struct pl011 *u, void (*cb)(void *),
			     void *opaque)
{
	pthread_mutex_lock(&u->lock);
	u->rx_drained = cb;
	u->rx_drained_opaque = opaque;
	pthread_mutex_unlock(&u->lock);
}

static unsigned int rx_depth(const struct pl011 *u)
{
	return (u->lcr_h & LCR_H_FEN) ? RX_FIFO_SIZE : 1;
}

/* Free receive slots; 0 when FEN was cleared with more than 1 byte queued. */
static unsigned int rx_free(const struct pl011 *u)
{
	unsigned int depth = rx_depth(u);

	return u->rx_count >= depth ? 0 : depth - u->rx_count;
}

static uint32_t pl011_ris(const struct pl011 *u)
{
	return u->ris_latch | (u->rx_count ? INT_RX | INT_RT : 0);
}

/* Called with the lock held. */
static void pl011_update_irq(struct pl011 *u)
{
	int level = (pl011_ris(u) & u->imsc) != 0;

	if (level != u->irq_level) {
		u->irq_level = level;
		if (u->irq)
			u->irq(u->irq_opaque, level);
	}
}

static void pl011_tx(struct pl011 *u, uint8_t c)
{
	/* A console that cannot keep up loses bytes rather than stalling the
	 * vCPU; EINTR is retried. */
	if (u->out_fd >= 0)
		while (write(u->out_fd, &c, 1) < 0 && errno == EINTR)
			;
	u->ris_latch |= INT_TX;
}

static uint32_t pl011_fr(const struct pl011 *u)
{
	uint32_t fr = FR_TXFE | FR_CTS | FR_DSR | FR_DCD;

	if (!u->rx_count)
		fr |= FR_RXFE;
	if (!rx_free(u))
		fr |= FR_RXFF;
	return fr;
}

/*
 * Reads register REG.  POP says whether the access covers DR's data byte,
 * the only read with a side effect.
 */
static uint32_t pl011_read(struct pl011 *u, uint32_t reg, bool pop,
			   bool *drained)
{
	uint8_t c;

	if (reg >= REG_ID)
		return pl011_id[(reg - REG_ID) / 4];
	switch (reg) {
	case REG_DR:
		if (!pop || !u->rx_count)
			return 0;
		c = u->rx[u->rx_head];
		u->rx_head = (u->rx_head + 1) % RX_FIFO_SIZE;
		if (--u->rx_count == 0)
			*drained = true;
		return c;	/* error bits 11:8 are never set */
	case REG_FR:
		return pl011_fr(u);
	case REG_ILPR:
		return u->ilpr;
	case REG_IBRD:
		return u->ibrd;
	case REG_FBRD:
		return u->fbrd;
	case REG_LCR_H:
		return u->lcr_h;
	case REG_CR:
		return u->cr;
	case REG_IFLS:
		return u->ifls;
	case REG_IMSC:
		return u->imsc;
	case REG_RIS:
		return pl011_ris(u);
	case REG_MIS:
		return pl011_ris(u) & u->imsc;
	case REG_DMACR:
		return u->dmacr;
	default:	/* RSR (no errors), ICR (write-only), reserved, test */
		return 0;
	}
}

/* New value of a stored register: the written bytes (MASK) of V, the rest
 * of OLD, limited to the register's implemented bits. */
static uint32_t merge(uint32_t old, uint32_t v, uint32_t mask, uint32_t bits)
{
	return ((old & ~mask) | (v & mask)) & bits;
}

static void pl011_write(struct pl011 *u, uint32_t reg, uint32_t v,
			uint32_t mask)
{
	uint32_t old;

	switch (reg) {
	case REG_DR:
		if (mask & 0xff)
			pl011_tx(u, v & 0xff);
		break;
	case REG_ILPR:
		u->ilpr = merge(u->ilpr, v, mask, 0xff);
		break;
	case REG_IBRD:
		u->ibrd = merge(u->ibrd, v, mask, 0xffff);
		break;
	case REG_FBRD:
		u->fbrd = merge(u->fbrd, v, mask, 0x3f);
		break;
	case REG_LCR_H:
		/* The FIFO keeps its contents when FEN changes. */
		u->lcr_h = merge(u->lcr_h, v, mask, 0xff);
		break;
	case REG_CR:
		u->cr = merge(u->cr, v, mask, 0xffff);
		break;
	case REG_IFLS:
		u->ifls = merge(u->ifls, v, mask, 0x3f);
		break;
	case REG_IMSC:
		old = u->imsc;
		u->imsc = merge(old, v, mask, INT_ALL);
		if ((u->imsc & ~old) & INT_TX)
			u->ris_latch |= INT_TX;	/* transmitter is empty */
		break;
	case REG_ICR:
		u->ris_latch &= ~(v & mask);
		break;
	case REG_DMACR:
		u->dmacr = merge(u->dmacr, v, mask, 0x7);
		break;
	default:	/* ECR (no errors to clear), read-only, reserved, ID */
		break;
	}
}

void pl011_mmio(void *opaque, uint64_t offset, uint8_t *data, uint32_t len,
		bool is_write)
{
	struct pl011 *u = opaque;
	unsigned int lane, n, i;
	uint32_t reg, v = 0, mask;
	bool drained = false;
	void (*cb)(void *) = NULL;
	void *cb_opaque = NULL;

	if (!is_write)
		memset(data, 0, len);
	if (offset >= PL011_MMIO_SIZE || !len)
		return;
	reg = offset & ~3u;
	lane = offset & 3;
	n = 4 - lane < len ? 4 - lane : len;	/* bytes inside REG */
	mask = (n == 4 ? 0xffffffffu : (1u << (8 * n)) - 1) << (8 * lane);

	pthread_mutex_lock(&u->lock);
	if (is_write) {
		for (i = 0; i < n; i++)
			v |= (uint32_t)data[i] << (8 * (lane + i));
		pl011_write(u, reg, v, mask);
	} else {
		v = pl011_read(u, reg, mask & 0xff, &drained);
	}
	pl011_update_irq(u);
	if (drained) {
		cb = u->rx_drained;
		cb_opaque = u->rx_drained_opaque;
	}
	pthread_mutex_unlock(&u->lock);

	if (!is_write)
		for (i = 0; i < n; i++)
			data[i] = v >> (8 * (lane + i));
	if (cb)
		cb(cb_opaque);
}

size_t pl011_input(struct pl011 *u, const uint8_t *buf, size_t n)
{
	size_t i;

	pthread_mutex_lock(&u->lock);
	for (i = 0; i < n && rx_free(u); i++) {
		u->rx[(u->rx_head + u->rx_count) % RX_FIFO_SIZE] = buf[i];
		u->rx_count++;
	}
	pl011_update_irq(u);
	pthread_mutex_unlock(&u->lock);
	return i;
}

size_t pl011_rx_space(struct pl011 *u)
{
	size_t n;

	pthread_mutex_lock(&u->lock);
	n = rx_free(u);
	pthread_mutex_unlock(&u->lock);
	return n;
}
