/*
 * Unit tests for the PCI model: the masked configuration space (read-only fields, write
 * masks, write-1-to-clear), BAR sizing and decoding as the guest moves BARs around, the
 * capability list, ECAM and 0xcf8/0xcfc decoding, dispatch inside the BAR windows, and
 * segments that do not see each other.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "pci.h"

#define KiB (1ULL << 10)
#define MiB (1ULL << 20)
#define GiB (1ULL << 30)

#define ECAM0	0xe0000000ULL
#define MEM32_0	0xc0000000ULL
#define MEM64_0	(16 * GiB)
#define ECAM1	(ECAM0 + MiB)
#define MEM32_1	(MEM32_0 + 16 * MiB)
#define MEM64_1	(20 * GiB)

static const struct pci_windows win[2] = {
	{ ECAM0, MiB, MEM32_0, 16 * MiB, MEM64_0, 4 * GiB },
	{ ECAM1, MiB, MEM32_1, 16 * MiB, MEM64_1, 4 * GiB },
};

static struct pci_host h;

/* What the functions' callbacks saw. */
struct move {
	struct pci_func *f;
	unsigned int bar;
	uint64_t old, new_;
};
static struct move moves[64];
static unsigned int nr_moves;
static uint32_t written_off, written_len;
static unsigned int nr_written;

/* What a BAR handler saw. */
struct probe {
	uint64_t offset;
	uint32_t len;
	bool is_write;
	uint32_t value;
	int calls;
};
static struct probe p64, p32, pq;

static void on_moved(struct pci_func *f, unsigned int bar, uint64_t old, uint64_t new_)
{
	cr_assert_lt(nr_moves, 64);
	moves[nr_moves++] = (struct move){ f, bar, old, new_ };
}

static void on_written(struct pci_func *f, uint32_t off, uint32_t len)
{
	(void)f;
	written_off = off;
	written_len = len;
	nr_written++;
}

static const struct pci_func_ops ops = { .bar_moved = on_moved, .cfg_written = on_written };

static void probe_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len,
		     bool is_write)
{
	struct probe *p = opaque;

	p->offset = offset;
	p->len = len;
	p->is_write = is_write;
	p->calls++;
	if (is_write)
		memcpy(&p->value, data, len < 4 ? len : 4);
	else
		memset(data, 0x5a, len);
}

static void setup(void)
{
	cr_assert_eq(pci_host_init(&h, 2, win), 0);
	memset(&p64, 0, sizeof(p64));
	memset(&p32, 0, sizeof(p32));
	memset(&pq, 0, sizeof(pq));
	nr_moves = 0;
	nr_written = 0;
}

static void teardown(void)
{
	pci_host_fini(&h);
}

TestSuite(pci, .init = setup, .fini = teardown);

/* A function with a 64-bit 16 KiB BAR 0 and a 32-bit 4 KiB BAR 2. */
static void make_func(struct pci_func *f)
{
	pci_func_init(f, "test", 0x1af4, 0x1041, 0x020000, 1, 0x1af4, 0x0001);
	f->ops = &ops;
	cr_assert_eq(pci_func_add_bar(f, 0, 16 * KiB, true, true, probe_io, &p64), 0);
	cr_assert_eq(pci_func_add_bar(f, 2, 4 * KiB, false, false, probe_io, &p32), 0);
}

static uint32_t rd(struct pci_func *f, uint32_t off, uint32_t len)
{
	uint8_t b[8];
	uint32_t v = 0, i;

	memset(b, 0xcc, sizeof(b));
	pci_cfg_read(f, off, b, len);
	for (i = 0; i < len && i < 4; i++)
		v |= (uint32_t)b[i] << (8 * i);
	return v;
}

static void wr(struct pci_segment *s, struct pci_func *f, uint32_t off, uint32_t len,
	       uint32_t v)
{
	uint8_t b[4] = { v, v >> 8, v >> 16, v >> 24 };

	pci_cfg_write(s, f, off, b, len);
}

static uint32_t ecam_rd(struct pci_segment *s, unsigned int bus, unsigned int dev,
			unsigned int fn, uint32_t reg, uint32_t len)
{
	uint8_t b[4] = { 0 };
	uint32_t v = 0, i;

	pci_ecam_access(s, (uint64_t)bus << 20 | dev << 15 | fn << 12 | reg, b, len, false);
	for (i = 0; i < len; i++)
		v |= (uint32_t)b[i] << (8 * i);
	return v;
}

static void ecam_wr(struct pci_segment *s, unsigned int dev, uint32_t reg, uint32_t len,
		    uint32_t v)
{
	uint8_t b[4] = { v, v >> 8, v >> 16, v >> 24 };

	pci_ecam_access(s, dev << 15 | reg, b, len, true);
}

static uint32_t io_rd(uint64_t port_off, uint32_t len)
{
	uint8_t b[4] = { 0 };
	uint32_t v = 0, i;

	pci_cf8_access(&h, port_off, b, len, false);
	for (i = 0; i < len; i++)
		v |= (uint32_t)b[i] << (8 * i);
	return v;
}

static void io_wr(uint64_t port_off, uint32_t len, uint32_t v)
{
	uint8_t b[4] = { v, v >> 8, v >> 16, v >> 24 };

	pci_cf8_access(&h, port_off, b, len, true);
}

static uint32_t cf8(unsigned int bus, unsigned int dev, unsigned int fn, uint32_t reg)
{
	return 0x80000000U | bus << 16 | dev << 11 | fn << 8 | reg;
}

Test(pci, header_fields)
{
	struct pci_segment *s = &h.seg[0];
	struct pci_func f;

	pci_func_init(&f, "t", 0x1af4, 0x1041, 0x020080, 3, 0x1234, 0x5678);
	cr_assert_eq(rd(&f, PCI_VENDOR_ID, 4), 0x10411af4);
	cr_assert_eq(rd(&f, PCI_REVISION_ID, 4), 0x02008003);
	cr_assert_eq(rd(&f, PCI_CLASS_PROG, 1), 0x80);
	cr_assert_eq(rd(&f, PCI_HEADER_TYPE, 1), 0);
	cr_assert_eq(rd(&f, PCI_SUBSYSTEM_VENDOR_ID, 4), 0x56781234);
	cr_assert_eq(rd(&f, PCI_STATUS, 2), 0);
	cr_assert_eq(rd(&f, PCI_CAPABILITY_LIST, 1), 0);

	/* Read-only identification. */
	wr(s, &f, PCI_VENDOR_ID, 4, 0);
	wr(s, &f, PCI_REVISION_ID, 4, 0xffffffff);
	wr(s, &f, PCI_HEADER_TYPE - 2, 4, 0xffffffff);
	wr(s, &f, PCI_SUBSYSTEM_VENDOR_ID, 4, 0);
	cr_assert_eq(rd(&f, PCI_VENDOR_ID, 4), 0x10411af4);
	cr_assert_eq(rd(&f, PCI_REVISION_ID, 4), 0x02008003);
	cr_assert_eq(rd(&f, PCI_HEADER_TYPE, 1), 0);
	cr_assert_eq(rd(&f, PCI_SUBSYSTEM_VENDOR_ID, 4), 0x56781234);

	/* Command: IO, MEMORY, MASTER, SERR, INTX_DISABLE only. */
	wr(s, &f, PCI_COMMAND, 2, 0xffff);
	cr_assert_eq(rd(&f, PCI_COMMAND, 2), 0x0507);
	wr(s, &f, PCI_COMMAND + 1, 1, 0);
	cr_assert_eq(rd(&f, PCI_COMMAND, 2), 0x0007);
	wr(s, &f, PCI_COMMAND, 2, 0);
	cr_assert_eq(rd(&f, PCI_COMMAND, 2), 0);

	/* Unused BARs and the expansion ROM are read-only zero. */
	wr(s, &f, PCI_BASE_ADDRESS_0, 4, 0xffffffff);
	wr(s, &f, PCI_BASE_ADDRESS_0 + 20, 4, 0xffffffff);
	wr(s, &f, 0x30, 4, 0xffffffff);
	cr_assert_eq(rd(&f, PCI_BASE_ADDRESS_0, 4), 0);
	cr_assert_eq(rd(&f, PCI_BASE_ADDRESS_0 + 20, 4), 0);
	cr_assert_eq(rd(&f, 0x30, 4), 0);

	/* Interrupt Line is scratch, the Pin is read-only. */
	wr(s, &f, PCI_INTERRUPT_LINE, 2, 0xffff);
	cr_assert_eq(rd(&f, PCI_INTERRUPT_LINE, 2), 0x00ff);
	pci_func_set_intx(&f, 11);
	cr_assert_eq(rd(&f, PCI_INTERRUPT_LINE, 2), 0x010b);
	cr_assert_eq(f.intx_irq, 11);
	wr(s, &f, PCI_INTERRUPT_PIN, 1, 4);
	cr_assert_eq(rd(&f, PCI_INTERRUPT_PIN, 1), 1);
}

Test(pci, status_w1c)
{
	struct pci_segment *s = &h.seg[0];
	struct pci_func f;

	pci_func_init(&f, "t", 1, 2, 0, 0, 0, 0);
	/* As if the function had signalled errors (bits 11..15) and had capabilities. */
	pci_cfg_set(&f, PCI_STATUS, 2, 0xf810);
	wr(s, &f, PCI_STATUS, 2, 0x0000);
	cr_assert_eq(rd(&f, PCI_STATUS, 2), 0xf810);
	wr(s, &f, PCI_STATUS, 2, 0x2810);		/* clears 13 and 11 only */
	cr_assert_eq(rd(&f, PCI_STATUS, 2), 0xd010);
	wr(s, &f, PCI_STATUS + 1, 1, 0xff);	/* byte access to the upper half */
	cr_assert_eq(rd(&f, PCI_STATUS, 2), 0x0010);
	/* Nothing sets by writing, CAP_LIST does not clear. */
	wr(s, &f, PCI_STATUS, 2, 0xffff);
	cr_assert_eq(rd(&f, PCI_STATUS, 2), 0x0010);
	/* A dword write to Command does not touch Status unless its bytes say so. */
	pci_cfg_set(&f, PCI_STATUS, 2, 0x8010);
	wr(s, &f, PCI_COMMAND, 4, 0x00000002);
	cr_assert_eq(rd(&f, PCI_COMMAND, 4), 0x80100002);
	wr(s, &f, PCI_COMMAND, 4, 0x80000002);
	cr_assert_eq(rd(&f, PCI_COMMAND, 4), 0x00100002);
}

Test(pci, bar_sizing)
{
	struct pci_segment *s = &h.seg[0];
	struct pci_func f;

	make_func(&f);
	cr_assert_eq(pci_func_add_bar(&f, 4, 8 * GiB, true, false, probe_io, &pq), 0);
	cr_assert_eq(rd(&f, PCI_BASE_ADDRESS_0, 4), 0x0000000c);	/* 64-bit, prefetch */
	cr_assert_eq(rd(&f, PCI_BASE_ADDRESS_0 + 8, 4), 0);
	cr_assert_eq(rd(&f, PCI_BASE_ADDRESS_0 + 16, 4), 0x00000004);

	/* 32-bit BAR 2, 4 KiB. */
	wr(s, &f, PCI_BASE_ADDRESS_0 + 8, 4, 0xffffffff);
	cr_assert_eq(rd(&f, PCI_BASE_ADDRESS_0 + 8, 4), 0xfffff000);
	/* 64-bit BAR 0, 16 KiB: the upper dword is all address. */
	wr(s, &f, PCI_BASE_ADDRESS_0, 4, 0xffffffff);
	wr(s, &f, PCI_BASE_ADDRESS_0 + 4, 4, 0xffffffff);
	cr_assert_eq(rd(&f, PCI_BASE_ADDRESS_0, 4), 0xffffc00c);
	cr_assert_eq(rd(&f, PCI_BASE_ADDRESS_0 + 4, 4), 0xffffffff);
	cr_assert_eq(pci_bar_addr(&f, 0), 0xffffffffffffc000ULL);
	/* 64-bit BAR 4, 8 GiB: no address bits in the lower dword. */
	wr(s, &f, PCI_BASE_ADDRESS_0 + 16, 4, 0xffffffff);
	wr(s, &f, PCI_BASE_ADDRESS_0 + 20, 4, 0xffffffff);
	cr_assert_eq(rd(&f, PCI_BASE_ADDRESS_0 + 16, 4), 0x00000004);
	cr_assert_eq(rd(&f, PCI_BASE_ADDRESS_0 + 20, 4), 0xfffffffe);
	/* Byte writes keep the flags and the low address bits. */
	wr(s, &f, PCI_BASE_ADDRESS_0 + 8, 1, 0xff);
	wr(s, &f, PCI_BASE_ADDRESS_0 + 9, 1, 0x00);
	cr_assert_eq(rd(&f, PCI_BASE_ADDRESS_0 + 8, 4), 0xffff0000);
	cr_assert_eq(pci_bar_addr(&f, 2), 0xffff0000);
	/* Memory space is off: nothing decoded, nothing reported. */
	cr_assert_eq(nr_moves, 0);
}

Test(pci, bar_rules)
{
	struct pci_func f;

	pci_func_init(&f, "t", 1, 2, 0, 0, 0, 0);
	cr_assert_eq(pci_func_add_bar(&f, 6, 4 * KiB, false, false, probe_io, &pq), -EINVAL);
	cr_assert_eq(pci_func_add_bar(&f, 5, 4 * KiB, true, false, probe_io, &pq), -EINVAL);
	cr_assert_eq(pci_func_add_bar(&f, 0, 8, false, false, probe_io, &pq), -EINVAL);
	cr_assert_eq(pci_func_add_bar(&f, 0, 0, false, false, probe_io, &pq), -EINVAL);
	cr_assert_eq(pci_func_add_bar(&f, 0, 3 * KiB, false, false, probe_io, &pq), -EINVAL);
	cr_assert_eq(pci_func_add_bar(&f, 0, 4 * GiB, false, false, probe_io, &pq), -EINVAL);
	cr_assert_eq(pci_func_add_bar(&f, 0, 4 * KiB, false, false, NULL, &pq), -EINVAL);
	cr_assert_eq(pci_func_add_bar(&f, 1, 4 * KiB, true, false, probe_io, &pq), 0);
	/* Neither half of a 64-bit BAR can be taken again, nor the BAR above a taken one. */
	cr_assert_eq(pci_func_add_bar(&f, 1, 16, false, false, probe_io, &pq), -EINVAL);
	cr_assert_eq(pci_func_add_bar(&f, 2, 16, false, false, probe_io, &pq), -EINVAL);
	cr_assert_eq(pci_func_add_bar(&f, 0, 16, true, false, probe_io, &pq), -EINVAL);
	cr_assert_eq(pci_func_add_bar(&f, 0, 16, false, false, probe_io, &pq), 0);
	cr_assert_eq(pci_func_add_bar(&f, 3, 2 * GiB, false, false, probe_io, &pq), 0);
	cr_assert_eq(f.bar_size[2], 0);
	cr_assert_eq(f.bar_size[3], 2 * GiB);
}

Test(pci, add_assigns_and_decodes)
{
	struct pci_func a, b, c;

	make_func(&a);
	make_func(&b);
	cr_assert_eq(pci_add(&h, &a, 0, -1), 0);
	cr_assert_eq(a.slot, 1);
	cr_assert_eq(a.seg, 0);
	cr_assert(rd(&a, PCI_COMMAND, 2) & PCI_COMMAND_MEMORY);
	cr_assert_eq(pci_bar_addr(&a, 0), MEM64_0);
	cr_assert_eq(pci_bar_addr(&a, 2), MEM32_0);
	cr_assert_eq(rd(&a, PCI_BASE_ADDRESS_0, 4), (uint32_t)MEM64_0 | 0xc);
	cr_assert_eq(rd(&a, PCI_BASE_ADDRESS_0 + 4, 4), MEM64_0 >> 32);
	cr_assert_eq(a.bar_decoded[0], MEM64_0);
	cr_assert_eq(a.bar_decoded[2], MEM32_0);
	cr_assert_eq(a.bar_decoded[1], PCI_BAR_UNDECODED);
	cr_assert_eq(nr_moves, 2);
	cr_assert_eq(moves[0].f, &a);
	cr_assert_eq(moves[0].bar, 0);
	cr_assert_eq(moves[0].old, PCI_BAR_UNDECODED);
	cr_assert_eq(moves[0].new_, MEM64_0);
	cr_assert_eq(moves[1].bar, 2);
	cr_assert_eq(moves[1].new_, MEM32_0);

	/* Naturally aligned after the first. */
	cr_assert_eq(pci_add(&h, &b, 0, 5), 0);
	cr_assert_eq(b.slot, 5);
	cr_assert_eq(pci_bar_addr(&b, 0), MEM64_0 + 16 * KiB);
	cr_assert_eq(pci_bar_addr(&b, 2), MEM32_0 + 4 * KiB);

	make_func(&c);
	cr_assert_eq(pci_add(&h, &c, 0, 5), -EEXIST);
	cr_assert_eq(pci_add(&h, &c, 0, 0), -EEXIST);		/* the host bridge */
	cr_assert_eq(pci_add(&h, &c, 2, -1), -EINVAL);
	cr_assert_eq(pci_add(&h, &c, 0, 32), -EINVAL);
	cr_assert_eq(pci_add(&h, &c, 0, -1), 0);
	cr_assert_eq(c.slot, 2);

	char bdf[16];
	pci_bdf_string(&b, bdf, sizeof(bdf));
	cr_assert_str_eq(bdf, "0000:00:05.0");
}

Test(pci, add_window_full)
{
	static struct pci_func f[40];
	struct pci_func big, big64;
	unsigned int i;
	int ret;

	/* 31 free slots, then -ENOSPC. */
	for (i = 0; i < 32; i++) {
		pci_func_init(&f[i], "t", 1, 2, 0, 0, 0, 0);
		ret = pci_add(&h, &f[i], 0, -1);
		cr_assert_eq(ret, i < 31 ? 0 : -ENOSPC, "%u: %d", i, ret);
	}
	/* A 32-bit BAR bigger than the 16 MiB window. */
	pci_func_init(&big, "t", 1, 2, 0, 0, 0, 0);
	cr_assert_eq(pci_func_add_bar(&big, 0, 32 * MiB, false, false, probe_io, &pq), 0);
	cr_assert_eq(pci_add(&h, &big, 1, -1), -ENOSPC);
	/* A 64-bit BAR that fills the 64-bit window, then one that falls back to 32 bits. */
	pci_func_init(&big64, "t", 1, 2, 0, 0, 0, 0);
	cr_assert_eq(pci_func_add_bar(&big64, 0, 4 * GiB, true, false, probe_io, &pq), 0);
	cr_assert_eq(pci_add(&h, &big64, 1, -1), 0);
	cr_assert_eq(big64.bar_decoded[0], MEM64_1);
	make_func(&big);
	cr_assert_eq(pci_add(&h, &big, 1, -1), 0);
	cr_assert_eq(big.bar_decoded[0], MEM32_1);
	cr_assert_eq(big.bar_decoded[2], MEM32_1 + 16 * KiB);
}

Test(pci, bar_moves)
{
	struct pci_segment *s = &h.seg[0];
	struct pci_func a, b;

	make_func(&a);
	make_func(&b);
	cr_assert_eq(pci_add(&h, &a, 0, -1), 0);
	cr_assert_eq(pci_add(&h, &b, 0, -1), 0);
	nr_moves = 0;

	/* Inside the window: moved. */
	wr(s, &a, PCI_BASE_ADDRESS_0 + 8, 4, MEM32_0 + MiB);
	cr_assert_eq(nr_moves, 1);
	cr_assert_eq(moves[0].f, &a);
	cr_assert_eq(moves[0].bar, 2);
	cr_assert_eq(moves[0].old, MEM32_0);
	cr_assert_eq(moves[0].new_, MEM32_0 + MiB);
	cr_assert_eq(a.bar_decoded[2], MEM32_0 + MiB);

	/* Writing the same address again reports nothing. */
	wr(s, &a, PCI_BASE_ADDRESS_0 + 8, 4, MEM32_0 + MiB);
	cr_assert_eq(nr_moves, 1);

	/* Below or above the window: undecoded. */
	wr(s, &a, PCI_BASE_ADDRESS_0 + 8, 4, MEM32_0 - 4 * KiB);
	cr_assert_eq(nr_moves, 2);
	cr_assert_eq(moves[1].old, MEM32_0 + MiB);
	cr_assert_eq(moves[1].new_, PCI_BAR_UNDECODED);
	wr(s, &a, PCI_BASE_ADDRESS_0 + 8, 4, MEM32_0 + 16 * MiB);
	cr_assert_eq(nr_moves, 2);
	cr_assert_eq(a.bar_decoded[2], PCI_BAR_UNDECODED);

	/* Onto b's BAR 2: a loses, b keeps it. */
	wr(s, &a, PCI_BASE_ADDRESS_0 + 8, 4, MEM32_0 + 4 * KiB);
	cr_assert_eq(nr_moves, 2);
	cr_assert_eq(a.bar_decoded[2], PCI_BAR_UNDECODED);
	cr_assert_eq(b.bar_decoded[2], MEM32_0 + 4 * KiB);
	/* b moves away: a decodes now, reported after b's move. */
	wr(s, &b, PCI_BASE_ADDRESS_0 + 8, 4, MEM32_0 + 2 * MiB);
	cr_assert_eq(nr_moves, 4);
	cr_assert_eq(moves[2].f, &b);
	cr_assert_eq(moves[2].new_, MEM32_0 + 2 * MiB);
	cr_assert_eq(moves[3].f, &a);
	cr_assert_eq(moves[3].old, PCI_BAR_UNDECODED);
	cr_assert_eq(moves[3].new_, MEM32_0 + 4 * KiB);

	/* A 64-bit BAR may live in the 32-bit window, but not over a 32-bit BAR. */
	wr(s, &a, PCI_BASE_ADDRESS_0 + 4, 4, 0);
	cr_assert_eq(nr_moves, 5);
	cr_assert_eq(moves[4].new_, PCI_BAR_UNDECODED);	/* at 0: no window */
	wr(s, &a, PCI_BASE_ADDRESS_0, 4, (uint32_t)(MEM32_0 + 2 * MiB));
	cr_assert_eq(nr_moves, 5);
	wr(s, &a, PCI_BASE_ADDRESS_0, 4, (uint32_t)(MEM32_0 + 3 * MiB));
	cr_assert_eq(nr_moves, 6);
	cr_assert_eq(a.bar_decoded[0], MEM32_0 + 3 * MiB);

	/* Memory space off: all of a's BARs stop; back on: they return. */
	wr(s, &a, PCI_COMMAND, 2, 0);
	cr_assert_eq(nr_moves, 8);
	cr_assert_eq(a.bar_decoded[0], PCI_BAR_UNDECODED);
	cr_assert_eq(a.bar_decoded[2], PCI_BAR_UNDECODED);
	cr_assert_eq(b.bar_decoded[2], MEM32_0 + 2 * MiB);
	wr(s, &a, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
	cr_assert_eq(nr_moves, 10);
	cr_assert_eq(a.bar_decoded[0], MEM32_0 + 3 * MiB);
	cr_assert_eq(a.bar_decoded[2], MEM32_0 + 4 * KiB);

	/* Sizing with decode on: the BAR is undecoded while it reads ~(size - 1). */
	wr(s, &b, PCI_BASE_ADDRESS_0 + 8, 4, 0xffffffff);
	cr_assert_eq(b.bar_decoded[2], PCI_BAR_UNDECODED);
	wr(s, &b, PCI_BASE_ADDRESS_0 + 8, 4, MEM32_0 + 2 * MiB);
	cr_assert_eq(b.bar_decoded[2], MEM32_0 + 2 * MiB);
}

Test(pci, bar_wrap_never_decodes)
{
	struct pci_windows w = {
		.ecam_base = ECAM0, .ecam_size = MiB, .mem32_base = MEM32_0,
		.mem32_size = 16 * MiB, .mem64_base = 0xffffffff00000000ULL,
		.mem64_size = 0xffffffffULL,
	};
	struct pci_host h2;
	struct pci_func a;

	cr_assert_eq(pci_host_init(&h2, 1, &w), 0);
	make_func(&a);
	cr_assert_eq(pci_add(&h2, &a, 0, -1), 0);
	cr_assert_eq(a.bar_decoded[0], w.mem64_base);
	wr(&h2.seg[0], &a, PCI_BASE_ADDRESS_0 + 4, 4, 0xffffffff);
	wr(&h2.seg[0], &a, PCI_BASE_ADDRESS_0, 4, 0xffff8000);
	cr_assert_eq(a.bar_decoded[0], 0xffffffffffff8000ULL);
	wr(&h2.seg[0], &a, PCI_BASE_ADDRESS_0, 4, 0xffffc000);
	cr_assert_eq(a.bar_decoded[0], PCI_BAR_UNDECODED);
	pci_host_fini(&h2);
}

Test(pci, capabilities)
{
	struct pci_segment *s = &h.seg[0];
	struct pci_func f;
	uint8_t body[14], mask[16];
	unsigned int i;

	pci_func_init(&f, "t", 1, 2, 0, 0, 0, 0);
	for (i = 0; i < sizeof(body); i++)
		body[i] = 0xa0 + i;
	memset(mask, 0, sizeof(mask));
	mask[0] = mask[1] = 0xff;	/* ignored: ID and next are read-only */
	mask[2] = 0x0f;
	mask[3] = 0xff;

	cr_assert_eq(pci_func_add_cap(&f, PCI_CAP_ID_VNDR, body, 6, mask), 0x40);
	cr_assert_eq(rd(&f, PCI_STATUS, 2), PCI_STATUS_CAP_LIST);
	cr_assert_eq(rd(&f, PCI_CAPABILITY_LIST, 1), 0x40);
	cr_assert_eq(rd(&f, 0x40, 4), 0xa1a00009);
	cr_assert_eq(rd(&f, 0x44, 2), 0xa3a2);
	/* The next one starts 4-byte aligned. */
	cr_assert_eq(pci_func_add_cap(&f, PCI_CAP_ID_MSIX, body, 12, NULL), 0x48);
	cr_assert_eq(rd(&f, 0x41, 1), 0x48);
	cr_assert_eq(rd(&f, 0x49, 1), 0);
	cr_assert_eq(f.cap_tail, 0x48);

	/* Only the masked body bits are writable. */
	wr(s, &f, 0x40, 4, 0xffffffff);
	cr_assert_eq(rd(&f, 0x40, 4), 0xffaf4809);
	wr(s, &f, 0x40, 4, 0);
	cr_assert_eq(rd(&f, 0x40, 4), 0x00a04809);
	cr_assert_eq(nr_written, 0);		/* no ops */
	wr(s, &f, 0x48, 4, 0xffffffff);
	cr_assert_eq(rd(&f, 0x48, 4), 0xa1a00011);
	wr(s, &f, PCI_CAPABILITY_LIST, 1, 0x80);
	cr_assert_eq(rd(&f, PCI_CAPABILITY_LIST, 1), 0x40);
	wr(s, &f, PCI_STATUS, 2, 0xffff);
	cr_assert_eq(rd(&f, PCI_STATUS, 2), PCI_STATUS_CAP_LIST);

	/* Too short, or not fitting below 256: 0 and the chain unchanged. */
	cr_assert_eq(pci_func_add_cap(&f, 1, NULL, 1, NULL), 0);
	cr_assert_eq(pci_func_add_cap(&f, 1, NULL, 200, NULL), 0);
	cr_assert_eq(rd(&f, 0x49, 1), 0);
	/* Up to exactly the end (0x54 + 172 = 256), then nothing more. */
	cr_assert_eq(pci_func_add_cap(&f, PCI_CAP_ID_VNDR, NULL, 172, NULL), 0x54);
	cr_assert_eq(rd(&f, 0x49, 1), 0x54);
	cr_assert_eq(rd(&f, 0x55, 1), 0);
	cr_assert_eq(pci_func_add_cap(&f, PCI_CAP_ID_VNDR, NULL, 2, NULL), 0);
	cr_assert_eq(rd(&f, 0x55, 1), 0);
}

Test(pci, cfg_written_callback)
{
	struct pci_segment *s = &h.seg[0];
	struct pci_func f;

	make_func(&f);
	wr(s, &f, 0x3c, 1, 5);
	cr_assert_eq(nr_written, 1);
	cr_assert_eq(written_off, 0x3c);
	cr_assert_eq(written_len, 1);
	wr(s, &f, 0x3d, 2, 5);			/* misaligned: nothing */
	wr(s, &f, 0x100, 4, 5);			/* past 256: nothing */
	cr_assert_eq(nr_written, 1);
}

Test(pci, out_of_range_and_unaligned)
{
	struct pci_segment *s = &h.seg[0];
	struct pci_func f;
	uint8_t b[8];

	make_func(&f);
	wr(s, &f, PCI_INTERRUPT_LINE, 1, 0x42);
	cr_assert_eq(rd(&f, 0x100, 4), 0);
	cr_assert_eq(rd(&f, 0xffc, 4), 0);
	cr_assert_eq(rd(&f, 0xfff, 1), 0);
	cr_assert_eq(rd(&f, 0x01, 2), 0xffff);
	cr_assert_eq(rd(&f, 0x02, 4), 0xffffffff);
	cr_assert_eq(rd(&f, 0x3d, 2), 0xffff);
	cr_assert_eq(rd(&f, 0x101, 2), 0xffff);
	cr_assert_eq(rd(&f, 0x00, 3), 0xffffff);
	memset(b, 0, sizeof(b));
	pci_cfg_read(&f, 0, b, 8);
	cr_assert_eq(b[0] & b[7], 0xff);

	/* Misaligned writes do nothing. */
	wr(s, &f, PCI_INTERRUPT_LINE - 1, 2, 0);
	wr(s, &f, PCI_INTERRUPT_LINE - 2, 4, 0);
	wr(s, &f, PCI_INTERRUPT_LINE, 3, 0);
	cr_assert_eq(rd(&f, PCI_INTERRUPT_LINE, 1), 0x42);
	wr(s, &f, PCI_COMMAND + 1, 2, 0xffff);
	cr_assert_eq(rd(&f, PCI_COMMAND, 2), 0);

	/* Helpers refuse out-of-range offsets quietly. */
	cr_assert_eq(pci_cfg_get(&f, 0xfe, 4), 0);
	pci_cfg_set(&f, 0xfe, 4, 0xffffffff);
	cr_assert_eq(rd(&f, 0xfc, 4), 0);
	cr_assert_eq(pci_bar_addr(&f, 6), 0);
}

Test(pci, ecam_decoding)
{
	struct pci_segment *s = &h.seg[0];
	struct pci_func a;

	make_func(&a);
	cr_assert_eq(pci_add(&h, &a, 0, 3), 0);

	/* The host bridge. */
	cr_assert_eq(ecam_rd(s, 0, 0, 0, PCI_VENDOR_ID, 4), 0x00081b36);
	cr_assert_eq(ecam_rd(s, 0, 0, 0, PCI_REVISION_ID, 4) >> 8, 0x060000);
	cr_assert_eq(ecam_rd(s, 0, 0, 0, PCI_HEADER_TYPE, 1), 0);
	cr_assert_eq(ecam_rd(s, 0, 0, 0, PCI_BASE_ADDRESS_0, 4), 0);

	cr_assert_eq(ecam_rd(s, 0, 3, 0, PCI_VENDOR_ID, 4), 0x10411af4);
	cr_assert_eq(ecam_rd(s, 0, 3, 0, PCI_DEVICE_ID, 2), 0x1041);
	cr_assert_eq(ecam_rd(s, 0, 3, 0, PCI_CLASS_PROG + 2, 1), 0x02);
	cr_assert_eq(ecam_rd(s, 0, 3, 0, 0x100, 4), 0);		/* extended space */
	cr_assert_eq(ecam_rd(s, 0, 3, 0, 0xffc, 4), 0);
	cr_assert_eq(ecam_rd(s, 0, 3, 0, 0x2, 4), 0xffffffff);	/* misaligned */

	/* Empty slot, function 1, bus 1. */
	cr_assert_eq(ecam_rd(s, 0, 4, 0, PCI_VENDOR_ID, 4), 0xffffffff);
	cr_assert_eq(ecam_rd(s, 0, 31, 0, PCI_VENDOR_ID, 2), 0xffff);
	cr_assert_eq(ecam_rd(s, 0, 3, 1, PCI_VENDOR_ID, 4), 0xffffffff);
	cr_assert_eq(ecam_rd(s, 0, 0, 7, PCI_VENDOR_ID, 4), 0xffffffff);
	cr_assert_eq(ecam_rd(s, 1, 3, 0, PCI_VENDOR_ID, 4), 0xffffffff);
	cr_assert_eq(ecam_rd(s, 255, 0, 0, PCI_VENDOR_ID, 1), 0xff);
	ecam_wr(s, 4, PCI_COMMAND, 2, 0);

	/* Writes reach the function and drive decoding. */
	nr_moves = 0;
	ecam_wr(s, 3, PCI_COMMAND, 2, 0);
	cr_assert_eq(nr_moves, 2);
	cr_assert_eq(a.bar_decoded[2], PCI_BAR_UNDECODED);
	ecam_wr(s, 3, PCI_BASE_ADDRESS_0 + 8, 4, MEM32_0 + 8 * MiB);
	ecam_wr(s, 3, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	cr_assert_eq(a.bar_decoded[2], MEM32_0 + 8 * MiB);
	cr_assert_eq(ecam_rd(s, 0, 3, 0, PCI_COMMAND, 2), 6);
}

Test(pci, cf8_cfc)
{
	struct pci_func a;

	make_func(&a);
	cr_assert_eq(pci_add(&h, &a, 0, 2), 0);

	/* Linux's type-1 probe. */
	io_wr(3, 1, 0x01);
	cr_assert_eq(h.cf8, 0);
	io_wr(0, 4, 0x80000000);
	cr_assert_eq(io_rd(0, 4), 0x80000000);
	cr_assert_eq(io_rd(0, 2), 0xffff);
	cr_assert_eq(io_rd(2, 2), 0xffff);
	cr_assert_eq(io_rd(3, 1), 0xff);
	io_wr(0, 2, 0);
	cr_assert_eq(io_rd(0, 4), 0x80000000);
	/* Reserved bits read as zero. */
	io_wr(0, 4, 0xff000003);
	cr_assert_eq(io_rd(0, 4), 0x80000000);

	/* 00:00.0 through 0xcfc. */
	cr_assert_eq(io_rd(4, 4), 0x00081b36);
	cr_assert_eq(io_rd(6, 2), 0x0008);
	cr_assert_eq(io_rd(5, 1), 0x1b);
	cr_assert_eq(io_rd(5, 2), 0xffff);		/* misaligned lane */

	/* Byte lanes of register 0x08 of 00:02.0. */
	io_wr(0, 4, cf8(0, 2, 0, 0x08));
	cr_assert_eq(io_rd(4, 4), 0x02000001);
	cr_assert_eq(io_rd(7, 1), 0x02);
	cr_assert_eq(io_rd(6, 2), 0x0200);
	io_wr(0, 4, cf8(0, 2, 0, PCI_INTERRUPT_LINE));
	io_wr(4, 1, 0x0a);
	io_wr(5, 1, 0x07);			/* the pin: read-only */
	cr_assert_eq(io_rd(4, 2), 0x000a);
	cr_assert_eq(rd(&a, PCI_INTERRUPT_LINE, 1), 0x0a);

	/* Enable bit clear, another bus, another function, an empty slot. */
	io_wr(0, 4, cf8(0, 2, 0, PCI_INTERRUPT_LINE) & 0x7fffffff);
	cr_assert_eq(io_rd(4, 4), 0xffffffff);
	io_wr(4, 1, 0x0b);
	io_wr(0, 4, cf8(1, 2, 0, PCI_INTERRUPT_LINE));
	cr_assert_eq(io_rd(4, 4), 0xffffffff);
	io_wr(4, 1, 0x0b);
	io_wr(0, 4, cf8(0, 2, 1, PCI_INTERRUPT_LINE));
	cr_assert_eq(io_rd(4, 4), 0xffffffff);
	io_wr(4, 1, 0x0b);
	io_wr(0, 4, cf8(0, 3, 0, PCI_VENDOR_ID));
	cr_assert_eq(io_rd(4, 4), 0xffffffff);
	cr_assert_eq(rd(&a, PCI_INTERRUPT_LINE, 1), 0x0a);

	/* Decoding follows writes through 0xcfc too. */
	nr_moves = 0;
	io_wr(0, 4, cf8(0, 2, 0, PCI_COMMAND));
	io_wr(4, 2, 0);
	cr_assert_eq(nr_moves, 2);
}

Test(pci, window_dispatch)
{
	struct pci_segment *s = &h.seg[0];
	struct pci_func a;
	static const uint8_t ones[8] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	uint8_t b[8], w[8] = { 0x78, 0x56, 0x34, 0x12, 1, 2, 3, 4 };

	make_func(&a);
	cr_assert_eq(pci_add(&h, &a, 0, -1), 0);

	/* Offset inside the BAR, not inside the window. */
	wr(s, &a, PCI_BASE_ADDRESS_0 + 8, 4, MEM32_0 + 64 * KiB);
	pci_window_access(s, 64 * KiB + 0x10, b, 4, false);
	cr_assert_eq(p32.calls, 1);
	cr_assert_eq(p32.offset, 0x10);
	cr_assert_eq(p32.len, 4);
	cr_assert_eq(b[0], 0x5a);
	pci_window_access(s, 64 * KiB + 4 * KiB - 8, w, 8, true);
	cr_assert_eq(p32.calls, 2);
	cr_assert_eq(p32.offset, 4 * KiB - 8);
	cr_assert_eq(p32.value, 0x12345678);
	cr_assert(p32.is_write);

	/* Straddling the BAR's end, before it, after it: not delivered. */
	memset(b, 0, sizeof(b));
	pci_window_access(s, 64 * KiB + 4 * KiB - 2, b, 4, false);
	cr_assert_arr_eq(b, ones, 4);
	pci_window_access(s, 64 * KiB - 1, b, 2, false);
	pci_window_access(s, 64 * KiB + 4 * KiB, b, 1, true);
	pci_window_access(s, 0, b, 4, true);
	pci_window_access(s, UINT64_MAX - 1, b, 4, false);	/* out of the window */
	cr_assert_eq(p32.calls, 2);

	/* The 64-bit BAR through the 64-bit window. */
	pci_window64_access(s, 0x3ffc, b, 4, false);
	cr_assert_eq(p64.calls, 1);
	cr_assert_eq(p64.offset, 0x3ffc);
	pci_window64_access(s, 0x4000, b, 4, false);
	cr_assert_eq(p64.calls, 1);

	/* Memory space off: nothing decodes. */
	wr(s, &a, PCI_COMMAND, 2, 0);
	memset(b, 0, sizeof(b));
	pci_window_access(s, 64 * KiB, b, 4, false);
	pci_window64_access(s, 0, b + 4, 4, false);
	cr_assert_arr_eq(b, ones, 8);
	cr_assert_eq(p32.calls + p64.calls, 3);

	/* A 64-bit BAR moved into the 32-bit window answers through it. */
	wr(s, &a, PCI_BASE_ADDRESS_0, 4, (uint32_t)(MEM32_0 + MiB));
	wr(s, &a, PCI_BASE_ADDRESS_0 + 4, 4, 0);
	wr(s, &a, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
	pci_window_access(s, MiB + 8, b, 2, true);
	cr_assert_eq(p64.calls, 2);
	cr_assert_eq(p64.offset, 8);
}

Test(pci, attach_and_bus)
{
	struct bus mmio = { 0 }, pio = { 0 };
	struct pci_func a;
	uint32_t v;

	make_func(&a);
	cr_assert_eq(pci_add(&h, &a, 1, -1), 0);
	cr_assert_eq(pci_host_attach(&h, &mmio, &pio), 0);
	cr_assert_eq(mmio.nr, 6);
	cr_assert_eq(pio.nr, 1);

	cr_assert(bus_access(&mmio, ECAM1 + (1 << 15), (uint8_t *)&v, 4, false));
	cr_assert_eq(v, 0x10411af4);
	cr_assert(bus_access(&mmio, ECAM0 + (1 << 15), (uint8_t *)&v, 4, false));
	cr_assert_eq(v, 0xffffffff);
	cr_assert(bus_access(&mmio, MEM32_1 + 4, (uint8_t *)&v, 4, false));
	cr_assert_eq(p32.offset, 4);
	cr_assert(bus_access(&mmio, MEM64_1 + 8, (uint8_t *)&v, 4, false));
	cr_assert_eq(p64.offset, 8);
	v = 0x80000000;
	cr_assert(bus_access(&pio, 0xcf8, (uint8_t *)&v, 4, true));
	cr_assert(bus_access(&pio, 0xcfc, (uint8_t *)&v, 4, false));
	cr_assert_eq(v, 0x00081b36);
	/* Twice is a clash. */
	cr_assert_eq(pci_host_attach(&h, &mmio, NULL), -EEXIST);
}

Test(pci, segments_independent)
{
	struct pci_func a, b;

	make_func(&a);
	make_func(&b);
	pci_cfg_set(&b, PCI_DEVICE_ID, 2, 0x1042);
	cr_assert_eq(pci_add(&h, &a, 0, 2), 0);
	cr_assert_eq(pci_add(&h, &b, 1, 2), 0);
	cr_assert_eq(b.seg, 1);
	cr_assert_eq(pci_bar_addr(&a, 2), MEM32_0);
	cr_assert_eq(pci_bar_addr(&b, 2), MEM32_1);
	cr_assert_eq(pci_bar_addr(&b, 0), MEM64_1);
	cr_assert_eq(h.seg[1].id, 1);
	cr_assert_eq(ecam_rd(&h.seg[1], 0, 0, 0, PCI_VENDOR_ID, 2), 0x1b36);
	cr_assert_eq(ecam_rd(&h.seg[0], 0, 2, 0, PCI_DEVICE_ID, 2), 0x1041);
	cr_assert_eq(ecam_rd(&h.seg[1], 0, 2, 0, PCI_DEVICE_ID, 2), 0x1042);

	/* The same address in both segments is no overlap: each has its own space. */
	wr(&h.seg[1], &b, PCI_BASE_ADDRESS_0 + 8, 4, MEM32_0 + 16 * KiB);
	cr_assert_eq(b.bar_decoded[2], PCI_BAR_UNDECODED);	/* not in segment 1's window */
	wr(&h.seg[1], &b, PCI_BASE_ADDRESS_0 + 8, 4, MEM32_1 + 16 * KiB);
	cr_assert_eq(b.bar_decoded[2], MEM32_1 + 16 * KiB);
	cr_assert_eq(a.bar_decoded[2], MEM32_0);

	/* Segment 1's window does not reach segment 0's BARs. */
	uint8_t d[4];
	pci_window_access(&h.seg[1], 0, d, 4, false);
	cr_assert_eq(p32.calls, 0);
	pci_window_access(&h.seg[0], 0, d, 4, false);
	cr_assert_eq(p32.calls, 1);

	/* 0xcf8 sees segment 0 only. */
	io_wr(0, 4, cf8(0, 2, 0, PCI_DEVICE_ID & ~3));
	cr_assert_eq(io_rd(6, 2), 0x1041);

	char bdf[16];
	pci_bdf_string(&b, bdf, sizeof(bdf));
	cr_assert_str_eq(bdf, "0001:00:02.0");
}

Test(pci, remove)
{
	struct pci_segment *s = &h.seg[0];
	struct pci_func a, b;
	uint8_t d[4];

	make_func(&a);
	make_func(&b);
	cr_assert_eq(pci_add(&h, &a, 0, -1), 0);
	cr_assert_eq(pci_add(&h, &b, 0, -1), 0);
	/* b's BAR 2 sits on a's, undecoded. */
	wr(s, &b, PCI_BASE_ADDRESS_0 + 8, 4, MEM32_0);
	cr_assert_eq(b.bar_decoded[2], PCI_BAR_UNDECODED);
	nr_moves = 0;

	pci_remove(&h, &a);
	cr_assert_null(s->slots[1]);
	cr_assert_eq(a.bar_decoded[0], PCI_BAR_UNDECODED);
	cr_assert_eq(a.bar_decoded[2], PCI_BAR_UNDECODED);
	cr_assert_eq(nr_moves, 3);
	cr_assert_eq(moves[0].f, &a);
	cr_assert_eq(moves[0].old, MEM64_0);
	cr_assert_eq(moves[0].new_, PCI_BAR_UNDECODED);
	cr_assert_eq(moves[1].f, &a);
	cr_assert_eq(moves[1].old, MEM32_0);
	cr_assert_eq(moves[2].f, &b);
	cr_assert_eq(moves[2].new_, MEM32_0);
	cr_assert_eq(ecam_rd(s, 0, 1, 0, PCI_VENDOR_ID, 4), 0xffffffff);
	pci_window64_access(s, 0, d, 4, false);
	cr_assert_eq(p64.calls, 0);

	/* Twice, or a function never added: nothing. */
	pci_remove(&h, &a);
	cr_assert_eq(nr_moves, 3);
	pci_remove(&h, &s->bridge);
	cr_assert_eq(s->slots[0], &s->bridge);
	/* The slot is free again. */
	cr_assert_eq(pci_add(&h, &a, 0, -1), 0);
	cr_assert_eq(a.slot, 1);
}

/* BAR space is taken where nothing is programmed: a removed function's ranges are free
 * again (hot-unplug, then hot-plug), and a range the guest moved a BAR to is avoided. */
Test(pci, add_reuses_free_space)
{
	struct pci_segment *s = &h.seg[0];
	struct pci_func a, b, c, d;

	make_func(&a);
	make_func(&b);
	make_func(&c);
	make_func(&d);
	cr_assert_eq(pci_add(&h, &a, 0, -1), 0);
	cr_assert_eq(pci_add(&h, &b, 0, -1), 0);
	cr_assert_eq(pci_bar_addr(&a, 0), MEM64_0);
	cr_assert_eq(pci_bar_addr(&b, 0), MEM64_0 + 16 * KiB);
	cr_assert_eq(pci_bar_addr(&b, 2), MEM32_0 + 4 * KiB);
	pci_remove(&h, &a);
	cr_assert_eq(pci_add(&h, &c, 0, -1), 0);
	cr_assert_eq(c.slot, 1);
	cr_assert_eq(pci_bar_addr(&c, 0), MEM64_0);
	cr_assert_eq(pci_bar_addr(&c, 2), MEM32_0);
	cr_assert_eq(c.bar_decoded[0], MEM64_0);
	/* The guest moves c's 32-bit BAR up to where the next free range would be. */
	wr(s, &c, PCI_BASE_ADDRESS_0 + 8, 4, MEM32_0 + 8 * KiB);
	cr_assert_eq(pci_add(&h, &d, 0, -1), 0);
	cr_assert_eq(pci_bar_addr(&d, 0), MEM64_0 + 32 * KiB);
	cr_assert_eq(pci_bar_addr(&d, 2), MEM32_0, "got 0x%llx",
		     (unsigned long long)pci_bar_addr(&d, 2));
	cr_assert_eq(d.bar_decoded[2], MEM32_0);
}

Test(pci, host_init_rules)
{
	struct pci_windows w[PCI_MAX_SEGMENTS + 1];
	struct pci_host h2;
	unsigned int i;

	for (i = 0; i <= PCI_MAX_SEGMENTS; i++)
		w[i] = win[0];
	cr_assert_eq(pci_host_init(&h2, 0, w), -EINVAL);
	cr_assert_eq(pci_host_init(&h2, PCI_MAX_SEGMENTS + 1, w), -EINVAL);
	w[3].mem64_base = UINT64_MAX - GiB;
	cr_assert_eq(pci_host_init(&h2, 4, w), -EINVAL);
	w[3] = win[0];
	w[2].ecam_base = UINT64_MAX;
	cr_assert_eq(pci_host_init(&h2, 4, w), -EINVAL);
	w[2] = win[0];
	w[1].mem32_base = 0xff000000;
	w[1].mem32_size = 32 * MiB;
	cr_assert_eq(pci_host_init(&h2, 4, w), -EINVAL);
	w[1] = win[0];
	cr_assert_eq(pci_host_init(&h2, PCI_MAX_SEGMENTS, w), 0);
	cr_assert_eq(h2.nr_segments, PCI_MAX_SEGMENTS);
	cr_assert_eq(h2.seg[15].id, 15);
	cr_assert_eq(h2.seg[15].slots[0], &h2.seg[15].bridge);
	cr_assert_eq(h2.seg[15].bridge.seg, 15);
	pci_host_fini(&h2);
}
