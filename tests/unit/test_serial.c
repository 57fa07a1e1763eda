/*
 * Unit tests for the 16550A model: output, the THRE interrupt contract the
 * Linux 8250 driver relies on, receive FIFO, loopback and divisor latch.
 */
#include <criterion/criterion.h>
#include <unistd.h>

#include "serial.h"

enum { THR = 0, IER = 1, IIR = 2, LCR = 3, MCR = 4, LSR = 5, MSR = 6, SCR = 7 };

static struct serial *s;
static int pipefd[2];
static int irq_level, irq_edges;

static void irq(void *opaque, int level)
{
	(void)opaque;
	if (level && !irq_level)
		irq_edges++;
	irq_level = level;
}

static uint8_t rd(unsigned int reg)
{
	uint8_t v = 0;

	serial_io(s, reg, &v, 1, false);
	return v;
}

static void wr(unsigned int reg, uint8_t v)
{
	serial_io(s, reg, &v, 1, true);
}

static void setup(void)
{
	cr_assert_eq(pipe(pipefd), 0);
	irq_level = irq_edges = 0;
	s = serial_new(pipefd[1], irq, NULL);
	cr_assert_not_null(s);
}

static void teardown(void)
{
	serial_free(s);
	close(pipefd[0]);
	close(pipefd[1]);
}

TestSuite(serial, .init = setup, .fini = teardown);

Test(serial, transmit_reaches_output)
{
	char buf[4] = { 0 };

	wr(THR, 'o');
	wr(THR, 'k');
	cr_assert_eq(read(pipefd[0], buf, 2), 2);
	cr_assert_str_eq(buf, "ok");
	cr_assert_eq(rd(LSR) & 0x60, 0x60);	/* THRE | TEMT */
}

Test(serial, thre_interrupt_contract)
{
	wr(IER, 0x02);				/* enable THRE irq */
	cr_assert_eq(irq_level, 1);
	cr_assert_eq(rd(IIR) & 0x0f, 0x02);	/* reported ... */
	cr_assert_eq(irq_level, 0);		/* ... and cleared by the read */
	cr_assert_eq(rd(IIR) & 0x0f, 0x01);
	wr(THR, 'x');				/* each write re-arms it */
	cr_assert_eq(irq_level, 1);
	cr_assert_eq(irq_edges, 2);
	wr(IER, 0x00);
	cr_assert_eq(irq_level, 0);
}

Test(serial, receive_fifo)
{
	uint8_t in[100];
	unsigned int i;

	for (i = 0; i < sizeof(in); i++)
		in[i] = i;
	cr_assert_eq(rd(LSR) & 1, 0);
	cr_assert_eq(serial_input(s, in, sizeof(in)), 64);
	cr_assert_eq(serial_rx_space(s), 0);
	cr_assert_eq(irq_level, 0);		/* RDI not enabled yet */
	wr(IER, 0x01);
	cr_assert_eq(irq_level, 1);
	cr_assert_eq(rd(IIR) & 0x0f, 0x04);
	for (i = 0; i < 64; i++) {
		cr_assert_eq(rd(LSR) & 1, 1);
		cr_assert_eq(rd(THR), i);
	}
	cr_assert_eq(rd(LSR) & 1, 0);
	cr_assert_eq(irq_level, 0);
	cr_assert_eq(rd(THR), 0);		/* empty FIFO reads 0 */
}

Test(serial, fifo_clear)
{
	uint8_t c = 'a';

	serial_input(s, &c, 1);
	wr(IIR, 0x03);				/* FCR: enable + clear RX */
	cr_assert_eq(rd(LSR) & 1, 0);
	cr_assert_eq(rd(IIR) & 0xc0, 0xc0);	/* FIFOs reported on */
}

Test(serial, loopback_for_autoconfig)
{
	wr(MCR, 0x1a);				/* LOOP | OUT2 | RTS */
	cr_assert_eq(rd(MSR) & 0xf0, 0x90);
	wr(THR, 'L');
	cr_assert_eq(rd(LSR) & 1, 1);
	cr_assert_eq(rd(THR), 'L');
	wr(MCR, 0x08);
	cr_assert_eq(rd(MSR), 0xb0);
}

Test(serial, divisor_latch_and_scratch)
{
	wr(LCR, 0x80);
	wr(THR, 0x01);
	wr(IER, 0x02);
	cr_assert_eq(rd(THR), 0x01);
	cr_assert_eq(rd(IER), 0x02);
	wr(LCR, 0x03);
	cr_assert_eq(rd(IER), 0x00);		/* IER untouched by DLM write */
	wr(SCR, 0xa5);
	cr_assert_eq(rd(SCR), 0xa5);
}

Test(serial, out_of_range_offsets_ignored)
{
	uint8_t v = 0x77;

	serial_io(s, 8, &v, 1, true);
	serial_io(s, UINT64_MAX, &v, 1, false);
	cr_assert_eq(v, 0x77);
}
