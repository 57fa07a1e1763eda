/*
 * 16550A UART emulation.  Transmit is instantaneous (each THR write goes
 * straight to the output fd), so the transmitter is always empty; receive
 * has a 64-byte FIFO fed from the event loop.  The interrupt line is a pure
 * function of the register state, recomputed after every access.
 *
 * The THRE interrupt is latched: set when the guest writes THR or enables
 * ETBEI, cleared when the guest reads an IIR that reports it.  Linux's 8250
 * driver stops transmitting if THRE is not reported while ETBEI is set.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "serial.h"

enum { RBR_THR = 0, IER = 1, IIR_FCR = 2, LCR = 3, MCR = 4, LSR = 5,
       MSR = 6, SCR = 7 };

#define IER_RDI		0x01
#define IER_THRI	0x02
#define IIR_NO_INT	0x01
#define IIR_THRI	0x02
#define IIR_RDI		0x04
#define IIR_FIFO_ON	0xc0
#define FCR_FIFO_EN	0x01
#define FCR_CLEAR_RX	0x02
#define LCR_DLAB	0x80
#define MCR_DTR		0x01
#define MCR_RTS		0x02
#define MCR_OUT1	0x04
#define MCR_OUT2	0x08
#define MCR_LOOP	0x10
#define LSR_DR		0x01
#define LSR_THRE	0x20
#define LSR_TEMT	0x40
#define MSR_CTS		0x10
#define MSR_DSR		0x20
#define MSR_RI		0x40
#define MSR_DCD		0x80

#define RX_FIFO_SIZE	64

struct serial {
	pthread_mutex_t lock;
	int out_fd;
	serial_irq_fn irq;
	void *irq_opaque;
	void (*rx_drained)(void *);
	void *rx_drained_opaque;
	int irq_level;

	uint8_t ier, lcr, mcr, scr, fcr, dll, dlm;
	bool thri_pending;
	uint8_t rx[RX_FIFO_SIZE];
	unsigned int rx_head, rx_count;
};

struct serial *serial_new(int out_fd, serial_irq_fn irq, void *irq_opaque)
{
	struct serial *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	pthread_mutex_init(&s->lock, NULL);
	s->out_fd = out_fd;
	s->irq = irq;
	s->irq_opaque = irq_opaque;
	s->mcr = MCR_OUT2;
	s->dll = 12;		/* 9600 baud, as firmware would leave it */
	return s;
}

void serial_free(struct serial *s)
{
	if (!s)
		return;
	pthread_mutex_destroy(&s->lock);
	free(s);
}

void serial_set_rx_drained_cb(struct serial *s, void (*cb)(void *), void *opaque)
{
	pthread_mutex_lock(&s->lock);
	s->rx_drained = cb;
	s->rx_drained_opaque = opaque;
	pthread_mutex_unlock(&s->lock);
}

static uint8_t serial_iir(const struct serial *s)
{
	uint8_t fifo = (s->fcr & FCR_FIFO_EN) ? IIR_FIFO_ON : 0;

	if ((s->ier & IER_RDI) && s->rx_count)
		return fifo | IIR_RDI;
	if ((s->ier & IER_THRI) && s->thri_pending)
		return fifo | IIR_THRI;
	return fifo | IIR_NO_INT;
}

/* Called with the lock held. */
static void serial_update_irq(struct serial *s)
{
	int level = !(serial_iir(s) & IIR_NO_INT);

	if (level != s->irq_level && s->irq) {
		s->irq_level = level;
		s->irq(s->irq_opaque, level);
	}
}

static void rx_push(struct serial *s, uint8_t c)
{
	if (s->rx_count == RX_FIFO_SIZE)
		return;
	s->rx[(s->rx_head + s->rx_count) % RX_FIFO_SIZE] = c;
	s->rx_count++;
}

static void serial_tx(struct serial *s, uint8_t c)
{
	if (s->mcr & MCR_LOOP) {
		rx_push(s, c);
	} else if (s->out_fd >= 0) {
		/* A console that cannot keep up loses bytes rather than
		 * stalling the vCPU; EINTR is retried. */
		while (write(s->out_fd, &c, 1) < 0 && errno == EINTR)
			;
	}
	s->thri_pending = true;
}

static uint8_t serial_msr(const struct serial *s)
{
	uint8_t m = s->mcr;

	if (!(m & MCR_LOOP))
		return MSR_DCD | MSR_DSR | MSR_CTS;
	/* Loopback: modem outputs feed the modem status inputs. */
	return ((m & MCR_RTS) ? MSR_CTS : 0) | ((m & MCR_DTR) ? MSR_DSR : 0) |
	       ((m & MCR_OUT1) ? MSR_RI : 0) | ((m & MCR_OUT2) ? MSR_DCD : 0);
}

static uint8_t serial_read(struct serial *s, unsigned int reg, bool *drained)
{
	uint8_t v;

	switch (reg) {
	case RBR_THR:
		if (s->lcr & LCR_DLAB)
			return s->dll;
		if (!s->rx_count)
			return 0;
		v = s->rx[s->rx_head];
		s->rx_head = (s->rx_head + 1) % RX_FIFO_SIZE;
		if (--s->rx_count == 0)
			*drained = true;
		return v;
	case IER:
		return (s->lcr & LCR_DLAB) ? s->dlm : s->ier;
	case IIR_FCR:
		v = serial_iir(s);
		if ((v & 0x0f) == IIR_THRI)
			s->thri_pending = false;
		return v;
	case LCR:
		return s->lcr;
	case MCR:
		return s->mcr;
	case LSR:
		return LSR_THRE | LSR_TEMT | (s->rx_count ? LSR_DR : 0);
	case MSR:
		return serial_msr(s);
	default:
		return s->scr;
	}
}

static void serial_write(struct serial *s, unsigned int reg, uint8_t v)
{
	switch (reg) {
	case RBR_THR:
		if (s->lcr & LCR_DLAB)
			s->dll = v;
		else
			serial_tx(s, v);
		break;
	case IER:
		if (s->lcr & LCR_DLAB) {
			s->dlm = v;
		} else {
			/* Enabling ETBEI with an empty THR interrupts at once. */
			if ((v & IER_THRI) && !(s->ier & IER_THRI))
				s->thri_pending = true;
			s->ier = v & 0x0f;
		}
		break;
	case IIR_FCR:
		if (v & FCR_CLEAR_RX)
			s->rx_head = s->rx_count = 0;
		s->fcr = v & FCR_FIFO_EN;
		break;
	case LCR:
		s->lcr = v;
		break;
	case MCR:
		s->mcr = v & 0x1f;
		break;
	case SCR:
		s->scr = v;
		break;
	default:	/* LSR and MSR are read-only */
		break;
	}
}

void serial_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len,
		 bool is_write)
{
	struct serial *s = opaque;
	bool drained = false;
	void (*cb)(void *) = NULL;
	void *cb_opaque = NULL;

	/* Registers are bytes; a wider access touches the first one only. */
	if (offset >= SERIAL_NR_REGS)
		return;
	pthread_mutex_lock(&s->lock);
	if (is_write) {
		serial_write(s, offset, data[0]);
	} else {
		memset(data, 0, len);
		data[0] = serial_read(s, offset, &drained);
	}
	serial_update_irq(s);
	if (drained) {
		cb = s->rx_drained;
		cb_opaque = s->rx_drained_opaque;
	}
	pthread_mutex_unlock(&s->lock);
	if (cb)
		cb(cb_opaque);
}

size_t serial_input(struct serial *s, const uint8_t *buf, size_t n)
{
	size_t i;

	pthread_mutex_lock(&s->lock);
	for (i = 0; i < n && s->rx_count < RX_FIFO_SIZE; i++)
		rx_push(s, buf[i]);
	serial_update_irq(s);
	pthread_mutex_unlock(&s->lock);
	return i;
}

size_t serial_rx_space(struct serial *s)
{
	size_t n;

	pthread_mutex_lock(&s->lock);
	n = RX_FIFO_SIZE - s->rx_count;
	pthread_mutex_unlock(&s->lock);
	return n;
}
