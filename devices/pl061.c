/*
 * ARM PrimeCell PL061 GPIO controller emulation (ARM DDI 0190B), the aarch64
 * guest's power button (contract in pl061.h).
 *
 * Lines: each is an input (GPIODIR bit clear, the reset state) whose level
 * comes from pl061_set_input/pl061_press, or an output whose level is the
 * last value the guest wrote to GPIODATA.  Values written to input lines
 * are dropped, as on the hardware (Linux's direction_output writes the
 * value again after setting GPIODIR for that reason).  GPIOAFSEL is stored
 * but has no effect.
 *
 * Interrupts are detected on input lines only, when their level changes:
 *  - GPIOIS bit clear, edge: GPIOIBE set latches both edges, otherwise
 *    GPIOIEV selects rising (1) or falling (0).  Latched in GPIORIS until
 *    the guest writes the bit to GPIOIC.
 *  - GPIOIS bit set, level: GPIORIS follows the line (high when its level
 *    equals GPIOIEV) and GPIOIC does not clear it.  Making a line level-
 *    sensitive drops its latched edge.
 * GPIOMIS = GPIORIS & GPIOIE, and the interrupt line is GPIOMIS != 0,
 * recomputed after every access and input change and signalled only when
 * it changes.
 *
 * What Linux needs: gpio_keys asks for both edges (GPIOIS clear, GPIOIBE
 * set) and on each interrupt arms a debounce timer whose expiry reads the
 * line (GPIODATA at 4 << line) and reports that level.  A press and
 * release faster than the debounce would report nothing, which is why
 * pl061_press holds the line high until the guest has read it high.
 * gpio-pl061's chained handler reads GPIOMIS and handles each set line;
 * handle_edge_irq acks (GPIOIC) first, so the level-triggered GPIOINTR
 * drops there unless another event is latched.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "pl061.h"

enum {
	REG_DATA_END = 0x400, REG_DIR = 0x400, REG_IS = 0x404, REG_IBE = 0x408,
	REG_IEV = 0x40c, REG_IE = 0x410, REG_RIS = 0x414, REG_MIS = 0x418,
	REG_IC = 0x41c, REG_AFSEL = 0x420, REG_ID = 0xfe0,
};

/* PeriphID0-3 (part 0x061, designer ARM, revision 0: 0x00041061, what
 * gpio-pl061 matches under mask 0x000fffff), CellID0-3 (0xb105f00d). */
static const uint8_t pl061_id[8] = {
	0x61, 0x10, 0x04, 0x00, 0x0d, 0xf0, 0x05, 0xb1,
};

struct pl061 {
	pthread_mutex_t lock;
	pl061_irq_fn irq;
	void *irq_opaque;
	int irq_level;

	uint8_t in;		/* levels driven from outside, input lines */
	uint8_t out;		/* levels the guest wrote, output lines */
	uint8_t release;	/* pressed lines to lower once read high */
	uint8_t latched;	/* edge events in GPIORIS */
	uint8_t dir, is, ibe, iev, ie, afsel;
};

struct pl061 *pl061_new(pl061_irq_fn irq, void *irq_opaque)
{
	struct pl061 *g = calloc(1, sizeof(*g));

	if (!g)
		return NULL;
	pthread_mutex_init(&g->lock, NULL);
	g->irq = irq;
	g->irq_opaque = irq_opaque;
	return g;
}

void pl061_free(struct pl061 *g)
{
	if (!g)
		return;
	pthread_mutex_destroy(&g->lock);
	free(g);
}

/* The level of every line: driven by the guest or from outside. */
static uint8_t pl061_pins(const struct pl061 *g)
{
	return (g->out & g->dir) | (g->in & ~g->dir);
}

static uint8_t pl061_ris(const struct pl061 *g)
{
	uint8_t level = g->is & ~g->dir & (uint8_t)~(g->in ^ g->iev);

	return (g->latched & ~g->is) | level;
}

/* Called with the lock held. */
static void pl061_update_irq(struct pl061 *g)
{
	int level = (pl061_ris(g) & g->ie) != 0;

	if (level != g->irq_level) {
		g->irq_level = level;
		if (g->irq)
			g->irq(g->irq_opaque, level);
	}
}

/* Sets the external levels of the input lines to IN, latching the edge
 * events the configuration asks for.  Called with the lock held. */
static void pl061_set_in(struct pl061 *g, uint8_t in)
{
	uint8_t edges = (g->in ^ in) & ~g->dir & ~g->is;

	/* Both edges, or the one GPIOIEV names: new level == IEV. */
	g->latched |= edges & (g->ibe | (uint8_t)~(in ^ g->iev));
	g->in = in;
	pl061_update_irq(g);
}

static int pl061_drive(struct pl061 *g, unsigned int line, int level,
		       bool momentary)
{
	uint8_t bit;
	int ret = 0;

	if (line >= PL061_NR_LINES)
		return -EINVAL;
	bit = 1u << line;
	pthread_mutex_lock(&g->lock);
	if (g->dir & bit) {
		ret = -EBUSY;
	} else {
		if (momentary)
			g->release |= bit;
		else
			g->release &= ~bit;
		pl061_set_in(g, level ? g->in | bit : g->in & ~bit);
	}
	pthread_mutex_unlock(&g->lock);
	return ret;
}

int pl061_set_input(struct pl061 *g, unsigned int line, int level)
{
	return pl061_drive(g, line, level, false);
}

int pl061_press(struct pl061 *g, unsigned int line)
{
	return pl061_drive(g, line, 1, true);
}

/* GPIODATA read through address mask MASK; lowers the pressed lines the
 * guest now saw high, after taking the value it sees. */
static uint8_t pl061_read_data(struct pl061 *g, uint8_t mask)
{
	uint8_t v = pl061_pins(g) & mask;
	uint8_t seen = g->release & v & ~g->dir;

	if (seen) {
		g->release &= ~seen;
		pl061_set_in(g, g->in & ~seen);
	}
	return v;
}

static uint8_t pl061_read(struct pl061 *g, uint32_t reg)
{
	if (reg < REG_DATA_END)
		return pl061_read_data(g, reg >> 2);
	if (reg >= REG_ID)
		return pl061_id[(reg - REG_ID) / 4];
	switch (reg) {
	case REG_DIR:
		return g->dir;
	case REG_IS:
		return g->is;
	case REG_IBE:
		return g->ibe;
	case REG_IEV:
		return g->iev;
	case REG_IE:
		return g->ie;
	case REG_RIS:
		return pl061_ris(g);
	case REG_MIS:
		return pl061_ris(g) & g->ie;
	case REG_AFSEL:
		return g->afsel;
	default:	/* GPIOIC (write-only), reserved, test registers */
		return 0;
	}
}

static void pl061_write(struct pl061 *g, uint32_t reg, uint8_t v)
{
	uint8_t mask;

	if (reg < REG_DATA_END) {
		mask = (uint8_t)(reg >> 2) & g->dir;
		g->out = (g->out & ~mask) | (v & mask);
		return;
	}
	switch (reg) {
	case REG_DIR:
		g->dir = v;
		break;
	case REG_IS:
		g->latched &= ~(v & ~g->is);	/* newly level-sensitive */
		g->is = v;
		break;
	case REG_IBE:
		g->ibe = v;
		break;
	case REG_IEV:
		g->iev = v;
		break;
	case REG_IE:
		g->ie = v;
		break;
	case REG_IC:
		g->latched &= ~v;
		break;
	case REG_AFSEL:
		g->afsel = v;
		break;
	default:	/* read-only, reserved, ID */
		break;
	}
}

void pl061_mmio(void *opaque, uint64_t offset, uint8_t *data, uint32_t len,
		bool is_write)
{
	struct pl061 *g = opaque;
	uint32_t reg = (uint32_t)offset;

	if (!is_write)
		memset(data, 0, len);
	/* Only byte 0 of a register slot holds bits: other lanes are 0. */
	if (offset >= PL061_MMIO_SIZE || !len || (offset & 3))
		return;
	pthread_mutex_lock(&g->lock);
	if (is_write)
		pl061_write(g, reg, data[0]);
	else
		data[0] = pl061_read(g, reg);
	pl061_update_irq(g);
	pthread_mutex_unlock(&g->lock);
}
