/*
 * Unit tests for the PL011 model: PrimeCell IDs, flag register, transmit,
 * the TX/RX interrupt contract the Linux amba-pl011 driver relies on,
 * receive FIFO depth, the rx-drained callback and hostile accesses.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include "pl011.h"

enum { DR = 0x000, RSR = 0x004, FR = 0x018, ILPR = 0x020, IBRD = 0x024,
       FBRD = 0x028, LCR_H = 0x02c, CR = 0x030, IFLS = 0x034, IMSC = 0x038,
       RIS = 0x03c, MIS = 0x040, ICR = 0x044, DMACR = 0x048 };

#define FR_RXFE	0x10
#define FR_TXFF	0x20
#define FR_RXFF	0x40
#define FR_TXFE	0x80
#define FR_BUSY	0x08
#define RXI	0x10
#define TXI	0x20
#define RTI	0x40
#define FEN	0x10

static struct pl011 *u;
static int pipefd[2];
static int irq_level, irq_calls, irq_edges;
static int drained_calls;

static void irq(void *opaque, int level)
{
	(void)opaque;
	irq_calls++;
	if (level && !irq_level)
		irq_edges++;
	irq_level = level;
}

static uint32_t rd(uint64_t reg)
{
	uint8_t b[4] = { 0 };

	pl011_mmio(u, reg, b, 4, false);
	return b[0] | b[1] << 8 | b[2] << 16 | (uint32_t)b[3] << 24;
}

static void wr(uint64_t reg, uint32_t v)
{
	uint8_t b[4] = { v, v >> 8, v >> 16, v >> 24 };

	pl011_mmio(u, reg, b, 4, true);
}

static void setup(void)
{
	cr_assert_eq(pipe(pipefd), 0);
	cr_assert_eq(fcntl(pipefd[0], F_SETFL, O_NONBLOCK), 0);
	irq_level = irq_calls = irq_edges = drained_calls = 0;
	u = pl011_new(pipefd[1], irq, NULL);
	cr_assert_not_null(u);
}

static void teardown(void)
{
	pl011_free(u);
	close(pipefd[0]);
	close(pipefd[1]);
}

TestSuite(pl011, .init = setup, .fini = teardown, .timeout = 10);

Test(pl011, primecell_ids)
{
	static const uint32_t id[8] = { 0x11, 0x10, 0x34, 0x00,
					0x0d, 0xf0, 0x05, 0xb1 };
	uint16_t h = 0;
	int i;

	for (i = 0; i < 8; i++)
		cr_assert_eq(rd(0xfe0 + 4 * i), id[i], "id %d", i);
	pl011_mmio(u, 0xff0, (uint8_t *)&h, 2, false);
	cr_assert_eq(h, 0x0d);
}

Test(pl011, reset_state)
{
	cr_assert_eq(rd(CR), 0x300);
	cr_assert_eq(rd(IFLS), 0x12);
	cr_assert_eq(rd(IMSC), 0);
	cr_assert_eq(rd(RIS), 0);
	cr_assert_eq(rd(MIS), 0);
	cr_assert_eq(rd(LCR_H), 0);
	/* TXFE | RXFE | DCD | DSR | CTS; BUSY, TXFF, RXFF clear */
	cr_assert_eq(rd(FR), 0x97);
	cr_assert_eq(irq_calls, 0);
}

Test(pl011, transmit_reaches_output)
{
	char buf[8] = { 0 };
	uint8_t c = 'k', hi = 'X';

	wr(DR, 'o');
	pl011_mmio(u, DR, &c, 1, true);		/* earlycon writeb */
	pl011_mmio(u, DR + 1, &hi, 1, true);	/* error byte: not data */
	cr_assert_eq(read(pipefd[0], buf, sizeof(buf)), 2);
	cr_assert_str_eq(buf, "ok");
	cr_assert_eq(rd(FR) & (FR_TXFE | FR_TXFF | FR_BUSY), FR_TXFE);
	cr_assert_eq(rd(RIS), TXI);		/* raw, though masked */
	cr_assert_eq(irq_calls, 0);
}

Test(pl011, discard_without_fd)
{
	pl011_free(u);
	u = pl011_new(-1, NULL, NULL);
	cr_assert_not_null(u);
	wr(DR, 'x');
	cr_assert_eq(rd(RIS), TXI);
	cr_assert_eq(read(pipefd[0], &(char){ 0 }, 1), -1);
	cr_assert_eq(errno, EAGAIN);
}

Test(pl011, tx_interrupt_contract)
{
	wr(IMSC, TXI);			/* unmasked with an empty transmitter */
	cr_assert_eq(irq_level, 1);
	cr_assert_eq(rd(MIS), TXI);
	wr(ICR, TXI);
	cr_assert_eq(irq_level, 0);
	cr_assert_eq(rd(RIS), 0);
	wr(DR, 'a');			/* each write raises it again */
	cr_assert_eq(irq_level, 1);
	wr(DR, 'b');			/* ... and does not clear it */
	cr_assert_eq(irq_level, 1);
	wr(ICR, 0x7ff & ~TXI);		/* other ICR bits leave it alone */
	cr_assert_eq(irq_level, 1);
	cr_assert_eq(rd(RIS), TXI);
	cr_assert_eq(irq_edges, 2);
	cr_assert_eq(irq_calls, 3);	/* only level changes are signalled */
	wr(IMSC, 0);			/* masking lowers the line ... */
	cr_assert_eq(irq_level, 0);
	cr_assert_eq(rd(RIS), TXI);	/* ... but keeps the raw status */
	wr(ICR, 0x7ff);
	wr(IMSC, TXI | RXI);		/* re-enabling TXIM re-raises */
	cr_assert_eq(irq_level, 1);
	wr(IMSC, TXI | RXI | RTI);	/* TXIM already set: no new latch */
	wr(ICR, TXI);
	wr(IMSC, TXI);
	cr_assert_eq(irq_level, 0);
}

/* Linux: start_tx writes until TXFF; the ISR writes fifosize/2 bytes per
 * pass without looking at FR and loops while RIS & IMSC. */
Test(pl011, linux_tx_never_stalls)
{
	char out[512];
	int sent = 0, passes = 0, i;

	wr(ICR, 0x7ff);
	wr(IMSC, RXI | RTI);
	while (sent < 100 && !(rd(FR) & FR_TXFF))
		wr(DR, 'A' + sent++ % 26);
	cr_assert_eq(sent, 100);
	cr_assert_eq(irq_level, 0);

	/* Old-style start: unmask TXIM and let the interrupt do the work. */
	wr(IMSC, RXI | RTI | TXI);
	cr_assert_eq(irq_level, 1);
	while ((rd(RIS) & rd(IMSC)) && passes++ < 256) {
		for (i = 0; i < 16 && sent < 300; i++)
			wr(DR, 'A' + sent++ % 26);
		if (sent == 300)
			wr(IMSC, RXI | RTI);	/* pl011_stop_tx */
	}
	cr_assert_eq(sent, 300);
	cr_assert_eq(irq_level, 0);
	cr_assert_eq(read(pipefd[0], out, sizeof(out)), 300);
	for (i = 0; i < 300; i++)
		cr_assert_eq(out[i], 'A' + i % 26);
}

Test(pl011, rx_interrupt_contract)
{
	uint8_t c = 'a';

	cr_assert_eq(pl011_input(u, &c, 1), 1);
	cr_assert_eq(rd(RIS), RXI | RTI);
	cr_assert_eq(irq_calls, 0);		/* masked: line untouched */
	wr(IMSC, RTI);
	cr_assert_eq(irq_level, 1);
	cr_assert_eq(rd(MIS), RTI);
	wr(IMSC, RXI);
	cr_assert_eq(irq_level, 1);
	cr_assert_eq(rd(MIS), RXI);
	wr(ICR, RXI | RTI);		/* pending data keeps it asserted */
	cr_assert_eq(irq_level, 1);
	cr_assert_eq(rd(DR), 'a');
	cr_assert_eq(irq_level, 0);
	cr_assert_eq(rd(RIS), 0);
	cr_assert_eq(pl011_input(u, &c, 1), 1);	/* input raises it again */
	cr_assert_eq(irq_level, 1);
	cr_assert_eq(irq_edges, 2);
}

Test(pl011, masked_interrupts_stay_low)
{
	uint8_t in[8] = "masked";

	wr(LCR_H, FEN);
	pl011_input(u, in, sizeof(in));
	wr(DR, 'x');
	wr(IMSC, 0x7ff & ~(RXI | TXI | RTI));	/* everything else */
	cr_assert_eq(rd(RIS), RXI | TXI | RTI);
	cr_assert_eq(rd(MIS), 0);
	cr_assert_eq(irq_calls, 0);
}

Test(pl011, fifo_fill_and_drain)
{
	uint8_t in[40];
	unsigned int i;

	for (i = 0; i < sizeof(in); i++)
		in[i] = 'a' + i;
	wr(LCR_H, 0x70);			/* FEN | WLEN 8 */
	cr_assert_eq(pl011_rx_space(u), 32);
	cr_assert_eq(pl011_input(u, in, 5), 5);
	cr_assert_eq(rd(FR) & (FR_RXFE | FR_RXFF), 0);
	cr_assert_eq(pl011_rx_space(u), 27);
	cr_assert_eq(pl011_input(u, in + 5, 35), 27);
	cr_assert_eq(pl011_rx_space(u), 0);
	cr_assert_eq(rd(FR) & (FR_RXFE | FR_RXFF), FR_RXFF);
	cr_assert_eq(pl011_input(u, in, 1), 0);
	for (i = 0; i < 32; i++) {
		cr_assert_eq(rd(FR) & FR_RXFE, 0);
		cr_assert_eq(rd(DR), in[i]);
		cr_assert_eq(rd(FR) & FR_RXFF, 0);
	}
	cr_assert_eq(rd(FR) & (FR_RXFE | FR_RXFF), FR_RXFE);
	cr_assert_eq(rd(DR), 0);		/* empty FIFO reads 0 */
	cr_assert_eq(pl011_rx_space(u), 32);
}

Test(pl011, holding_register_without_fen)
{
	uint8_t in[3] = { 1, 2, 3 };

	cr_assert_eq(pl011_input(u, in, 3), 1);
	cr_assert_eq(rd(FR) & (FR_RXFE | FR_RXFF), FR_RXFF);
	cr_assert_eq(pl011_rx_space(u), 0);
	wr(LCR_H, FEN);				/* grows; contents kept */
	cr_assert_eq(pl011_input(u, in + 1, 2), 2);
	wr(LCR_H, 0);				/* shrinks; contents kept */
	cr_assert_eq(pl011_rx_space(u), 0);
	cr_assert_eq(rd(DR), 1);
	cr_assert_eq(rd(DR), 2);
	cr_assert_eq(pl011_rx_space(u), 0);
	cr_assert_eq(rd(DR), 3);
	cr_assert_eq(pl011_rx_space(u), 1);
}

static void on_drained(void *opaque)
{
	/* Deadlocks (and times out) if called with the UART lock held. */
	cr_assert_eq(pl011_rx_space(u), 32);
	cr_assert_eq(opaque, &drained_calls);
	drained_calls++;
}

Test(pl011, rx_drained_callback)
{
	uint8_t in[3] = "ab";

	wr(LCR_H, FEN);
	pl011_set_rx_drained_cb(u, on_drained, &drained_calls);
	pl011_input(u, in, 2);
	rd(DR);
	cr_assert_eq(drained_calls, 0);
	rd(DR);
	cr_assert_eq(drained_calls, 1);
	rd(DR);					/* already empty */
	rd(FR);
	cr_assert_eq(drained_calls, 1);
}

Test(pl011, control_registers_read_back)
{
	wr(CR, 0xcb01);
	cr_assert_eq(rd(CR), 0xcb01);
	wr(LCR_H, 0x1ff);
	cr_assert_eq(rd(LCR_H), 0xff);
	wr(IBRD, 0x12345);
	cr_assert_eq(rd(IBRD), 0x2345);
	wr(FBRD, 0xff);
	cr_assert_eq(rd(FBRD), 0x3f);
	wr(ILPR, 0x1a5);
	cr_assert_eq(rd(ILPR), 0xa5);
	wr(IFLS, 0xff);
	cr_assert_eq(rd(IFLS), 0x3f);
	wr(DMACR, 0xff);
	cr_assert_eq(rd(DMACR), 0x7);
	wr(IMSC, 0xffff & ~TXI);
	cr_assert_eq(rd(IMSC), 0x7ff & ~TXI);
	wr(RIS, 0xffff);			/* read-only */
	wr(FR, 0);
	cr_assert_eq(rd(RIS), 0);
	cr_assert_eq(rd(FR), 0x97);
	cr_assert_eq(rd(ICR), 0);
	cr_assert_eq(rd(RSR), 0);
}

Test(pl011, narrow_and_wide_accesses)
{
	uint8_t b[8] = { 0x01, 0x08, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff };
	uint8_t r[8];
	uint8_t lo = 0x01, hi = 0x03;
	int i;

	pl011_mmio(u, CR, &lo, 1, true);	/* byte write keeps byte 1 */
	cr_assert_eq(rd(CR), 0x301);
	pl011_mmio(u, CR + 1, &hi, 1, true);
	cr_assert_eq(rd(CR), 0x301);
	pl011_mmio(u, CR + 1, r, 1, false);
	cr_assert_eq(r[0], 0x03);
	pl011_mmio(u, CR, b, 8, true);		/* bytes 4-7 miss IFLS */
	cr_assert_eq(rd(CR), 0x0801);
	cr_assert_eq(rd(IFLS), 0x12);
	memset(r, 0x5a, sizeof(r));
	pl011_mmio(u, 0xfe0, r, 8, false);
	cr_assert_eq(r[0], 0x11);
	for (i = 1; i < 8; i++)
		cr_assert_eq(r[i], 0);
	pl011_mmio(u, 0xfe2, r, 2, false);	/* upper half of PeriphID0 */
	cr_assert_eq(r[0] | r[1], 0);
}

Test(pl011, hostile_offsets)
{
	uint8_t buf[16], v;
	unsigned int i;
	uint64_t odd[] = { 0x008, 0x01c, 0x04c, 0x080, 0xfdc, 0x1000,
			   0x7fffffff, UINT64_MAX };

	memset(buf, 0xa5, sizeof(buf));
	pl011_mmio(u, 0xfff, buf + 4, 4, false);
	cr_assert_eq(buf[4] | buf[5] | buf[6] | buf[7], 0);
	for (i = 0; i < 16; i++)
		if (i < 4 || i >= 8)
			cr_assert_eq(buf[i], 0xa5, "byte %u", i);
	pl011_mmio(u, 0xfff, buf + 4, 4, true);
	pl011_mmio(u, 0xffd, buf, 8, true);
	cr_assert_eq(rd(0xffc), 0xb1);
	for (i = 0; i < sizeof(odd) / sizeof(odd[0]); i++) {
		v = 0xff;
		pl011_mmio(u, odd[i], &v, 1, true);
		v = 0x77;
		pl011_mmio(u, odd[i], &v, 1, false);
		cr_assert_eq(v, 0, "offset %#lx", (unsigned long)odd[i]);
	}
	cr_assert_eq(read(pipefd[0], buf, 1), -1);	/* nothing sent */
	cr_assert_eq(rd(CR), 0x300);
	cr_assert_eq(irq_calls, 0);
}

static void *producer(void *arg)
{
	unsigned int sent = 0;
	uint8_t c;

	(void)arg;
	while (sent < 20000) {
		c = sent & 0xff;
		sent += pl011_input(u, &c, 1);
	}
	return NULL;
}

Test(pl011, concurrent_input_and_reads)
{
	pthread_t t;
	unsigned int got = 0;

	wr(LCR_H, FEN);
	wr(IMSC, RXI);
	cr_assert_eq(pthread_create(&t, NULL, producer, NULL), 0);
	while (got < 20000) {
		if (rd(FR) & FR_RXFE)
			continue;
		cr_assert_eq(rd(DR), got & 0xff);
		got++;
	}
	pthread_join(t, NULL);
	cr_assert_eq(rd(FR) & FR_RXFE, FR_RXFE);
}
