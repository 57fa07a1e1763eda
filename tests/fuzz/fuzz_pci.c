/*
 * libFuzzer target for the PCI model (vmm/pci.c): a host with two segments, two functions in
 * segment 0 and one in segment 1, each with a 64-bit BAR, a 32-bit BAR and two capabilities.
 * The input is a sequence of 10-byte operations (kind, address, length, value):
 *	kind, bits 0-2: 0, 6, 7 an ECAM access, 1 the 0xcf8 ports, 2 the 32-bit window,
 *		3 the 64-bit window, 4 a BAR write (through ECAM) of an address inside a
 *		window, 5 hot-unplug / re-plug of the second function;
 *	      bit 3: segment, bit 4: write;
 *	address: 4 bytes, taken modulo the range (as the bus only delivers accesses inside it);
 *	length: {1, 2, 4, 8} by the low 2 bits (accesses past the range end are not delivered);
 *	value: 4 bytes, repeated for an 8-byte write.
 * Checked: a BAR handler only ever sees accesses inside its BAR, at the address the BAR
 * decodes; every bar_moved() report follows the previous one for that BAR, lands inside a
 * window of the right kind and overlaps no BAR decoded at that moment; after each operation
 * read-only fields and the capability chain are intact.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pci.h"

#define MiB		(1ULL << 20)
#define OP_SIZE		10
#define NR_FUNCS	3

static const struct pci_windows win[2] = {
	{ 0xe0000000ULL, MiB, 0xc0000000ULL, MiB, 0x800000000ULL, 2 * MiB },
	{ 0xe0100000ULL, MiB, 0xc0100000ULL, MiB, 0x900000000ULL, 2 * MiB },
};

static struct pci_host h;
static struct pci_func funcs[NR_FUNCS];
static const unsigned int func_seg[NR_FUNCS] = { 0, 0, 1 };
static uint64_t seen[NR_FUNCS][PCI_NR_BARS];	/* decoded address as reported */
static uint8_t cap_off[NR_FUNCS][2];

/* The access in flight through a window, for the handlers to check. */
static uint64_t access_gpa;
static const struct pci_segment *access_seg;

struct bar_ref {
	struct pci_func *f;
	unsigned int bar;
};
static struct bar_ref refs[NR_FUNCS][PCI_NR_BARS];

static void check(int cond)
{
	if (!cond)
		__builtin_trap();
}

static unsigned int func_index(const struct pci_func *f)
{
	check(f >= funcs && f < funcs + NR_FUNCS);
	return f - funcs;
}

static void bar_io(void *opaque, uint64_t off, uint8_t *data, uint32_t len, bool is_write)
{
	struct bar_ref *r = opaque;
	struct pci_func *f = r->f;

	check(len == 1 || len == 2 || len == 4 || len == 8);
	check(off < f->bar_size[r->bar] && len <= f->bar_size[r->bar] - off);
	check(access_seg == &h.seg[f->seg] && h.seg[f->seg].slots[f->slot] == f);
	check(f->bar_decoded[r->bar] != PCI_BAR_UNDECODED);
	check(f->bar_decoded[r->bar] + off == access_gpa);
	if (!is_write)
		memset(data, 0x5a, len);
}

static bool overlap(uint64_t a, uint64_t as, uint64_t b, uint64_t bs)
{
	return a < b + bs && b < a + as;
}

static bool in_window(uint64_t a, uint64_t size, uint64_t base, uint64_t wsize)
{
	return a >= base && a - base < wsize && size <= wsize - (a - base);
}

static void on_moved(struct pci_func *f, unsigned int bar, uint64_t old, uint64_t new_)
{
	unsigned int i = func_index(f), j, n;
	const struct pci_segment *s = &h.seg[func_seg[i]];
	uint64_t size = f->bar_size[bar];
	bool is64 = f->cfg[PCI_BASE_ADDRESS_0 + 4 * bar] & PCI_BAR_MEM_64;

	check(bar < PCI_NR_BARS && size);
	check(old != new_ && seen[i][bar] == old);
	seen[i][bar] = new_;
	if (new_ == PCI_BAR_UNDECODED)
		return;
	check(new_ + size > new_ && !(new_ & (size - 1)));
	check(in_window(new_, size, s->w.mem32_base, s->w.mem32_size) ||
	      (is64 && in_window(new_, size, s->w.mem64_base, s->w.mem64_size)));
	/* Against what the functions have been told so far: no two claims at once. */
	for (j = 0; j < NR_FUNCS; j++)
		for (n = 0; func_seg[j] == func_seg[i] && n < PCI_NR_BARS; n++)
			if ((j != i || n != bar) && seen[j][n] != PCI_BAR_UNDECODED)
				check(!overlap(new_, size, seen[j][n], funcs[j].bar_size[n]));
}

static const struct pci_func_ops ops = { .bar_moved = on_moved };

static void make_func(unsigned int i)
{
	struct pci_func *f = &funcs[i];
	static const uint8_t vbody[6] = { 8, 1, 2, 3, 4, 5 };
	static const uint8_t vmask[8] = { 0xff, 0xff, 0, 0xff, 0x0f, 0, 0xf0, 0 };
	static const uint8_t xbody[10] = { 7, 0, 0, 0, 0, 0, 1, 0, 0, 0 };
	static const uint8_t xmask[12] = { 0, 0, 0xff, 0xc0 };
	unsigned int n;

	pci_func_init(f, "fuzz", 0x1af4, 0x1040 + i, 0x020000, 1, 0x1af4, 1);
	f->ops = &ops;
	for (n = 0; n < PCI_NR_BARS; n++) {
		refs[i][n] = (struct bar_ref){ f, n };
		seen[i][n] = PCI_BAR_UNDECODED;
	}
	check(!pci_func_add_bar(f, 0, 16 * 1024, true, true, bar_io, &refs[i][0]));
	check(!pci_func_add_bar(f, 2, 4096, false, false, bar_io, &refs[i][2]));
	check(!pci_func_add_bar(f, 3, 16, false, false, bar_io, &refs[i][3]));
	cap_off[i][0] = pci_func_add_cap(f, PCI_CAP_ID_VNDR, vbody, 8, vmask);
	cap_off[i][1] = pci_func_add_cap(f, PCI_CAP_ID_MSIX, xbody, 12, xmask);
	check(cap_off[i][0] == 0x40 && cap_off[i][1] == 0x48);
	pci_func_set_intx(f, 5 + i);
}

/* What the guest can never change, and what decoding promises. */
static void check_invariants(void)
{
	unsigned int i, j, n, m;
	struct pci_func *f;

	for (i = 0; i < NR_FUNCS; i++) {
		f = &funcs[i];
		check(pci_cfg_get(f, PCI_VENDOR_ID, 4) == ((0x1040U + i) << 16 | 0x1af4));
		check(pci_cfg_get(f, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST);
		check(f->cfg[PCI_CAPABILITY_LIST] == 0x40 && f->cfg[0x41] == 0x48 &&
		      f->cfg[0x49] == 0 && f->cfg[0x40] == PCI_CAP_ID_VNDR &&
		      f->cfg[0x48] == PCI_CAP_ID_MSIX);
		check(f->cfg[PCI_HEADER_TYPE] == 0 && f->cfg[PCI_INTERRUPT_PIN] == 1);
		check(pci_cfg_get(f, 0x30, 4) == 0);
		check(pci_cfg_get(f, PCI_BASE_ADDRESS_0 + 20, 4) == 0);
		check((f->cfg[PCI_BASE_ADDRESS_0] & 0xf) == 0xc &&
		      (f->cfg[PCI_BASE_ADDRESS_0 + 8] & 0xf) == 0);
		for (n = 0; n < PCI_NR_BARS; n++) {
			check(seen[i][n] == f->bar_decoded[n]);
			if (f->bar_decoded[n] == PCI_BAR_UNDECODED)
				continue;
			check(pci_cfg_get(f, PCI_COMMAND, 2) & PCI_COMMAND_MEMORY);
			check(pci_bar_addr(f, n) == f->bar_decoded[n]);
			for (j = 0; j < NR_FUNCS; j++)
				for (m = 0; func_seg[j] == func_seg[i] && m < PCI_NR_BARS; m++)
					if ((j != i || m != n) &&
					    funcs[j].bar_decoded[m] != PCI_BAR_UNDECODED)
						check(!overlap(f->bar_decoded[n], f->bar_size[n],
							       funcs[j].bar_decoded[m],
							       funcs[j].bar_size[m]));
		}
	}
	for (i = 0; i < 2; i++)
		check(pci_cfg_get(&h.seg[i].bridge, PCI_VENDOR_ID, 4) == 0x00081b36);
}

static uint32_t le32(const uint8_t *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

static void window_op(struct pci_segment *s, bool is64, uint64_t addr, uint8_t *data,
		      uint32_t len, bool is_write)
{
	uint64_t base = is64 ? s->w.mem64_base : s->w.mem32_base;
	uint64_t size = is64 ? s->w.mem64_size : s->w.mem32_size;
	uint64_t off = addr % size;

	if (len > size - off)
		return;		/* the bus does not deliver it */
	access_gpa = base + off;
	access_seg = s;
	if (is64)
		pci_window64_access(s, off, data, len, is_write);
	else
		pci_window_access(s, off, data, len, is_write);
}

/* Writes a BAR of a slot an address inside one of the segment's windows. */
static void relocate(struct pci_segment *s, uint32_t sel, uint32_t v)
{
	unsigned int slot = sel & 3, bar = (sel >> 2) & 3;
	uint64_t addr;
	uint8_t b[4];

	if (v & 1)
		addr = s->w.mem64_base + (v >> 1) % s->w.mem64_size;
	else
		addr = s->w.mem32_base + (v >> 1) % s->w.mem32_size;
	addr &= ~0xfULL;
	if (bar == 1) {
		b[0] = addr >> 32;
		b[1] = addr >> 40;
		b[2] = addr >> 48;
		b[3] = addr >> 56;
	} else {
		b[0] = addr;
		b[1] = addr >> 8;
		b[2] = addr >> 16;
		b[3] = addr >> 24;
	}
	pci_ecam_access(s, (uint64_t)slot << 15 | (PCI_BASE_ADDRESS_0 + 4 * bar), b, 4, true);
}

static void replug(bool in)
{
	struct pci_func *f = &funcs[1];

	if (h.seg[0].slots[f->slot] == f && f->slot) {
		pci_remove(&h, f);
		return;
	}
	if (!in)
		return;
	/* Windows fill up: -ENOSPC leaves it unplugged. */
	if (pci_add(&h, f, 0, -1) == 0)
		check(h.seg[0].slots[f->slot] == f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t buf[8];
	const uint8_t *op;
	struct pci_segment *s;
	uint32_t addr, val, len;
	bool is_write;
	size_t pos;
	unsigned int i, n;

	check(!pci_host_init(&h, 2, win));
	for (i = 0; i < NR_FUNCS; i++) {
		make_func(i);
		check(!pci_add(&h, &funcs[i], func_seg[i], i + 1));
	}
	check_invariants();

	for (pos = 0; pos + OP_SIZE <= size; pos += OP_SIZE) {
		op = data + pos;
		s = &h.seg[(op[0] >> 3) & 1];
		is_write = op[0] & 0x10;
		addr = le32(op + 1);
		len = 1U << (op[5] & 3);
		val = le32(op + 6);
		memcpy(buf, op + 6, 4);
		memcpy(buf + 4, op + 6, 4);
		if (!is_write)
			memset(buf, 0xa5, sizeof(buf));

		switch (op[0] & 7) {
		case 1:
			if (len <= 8 - addr % 8)
				pci_cf8_access(&h, addr % 8, buf, len, is_write);
			break;
		case 2:
		case 3:
			window_op(s, (op[0] & 7) == 3, addr, buf, len, is_write);
			break;
		case 4:
			relocate(s, addr, val);
			break;
		case 5:
			replug(is_write);
			break;
		default:
			if (len <= s->w.ecam_size - addr % s->w.ecam_size)
				pci_ecam_access(s, addr % s->w.ecam_size, buf, len, is_write);
			break;
		}
		check_invariants();
	}

	for (i = 0; i < NR_FUNCS; i++)
		pci_remove(&h, &funcs[i]);
	for (i = 0; i < NR_FUNCS; i++)
		for (n = 0; n < PCI_NR_BARS; n++)
			check(seen[i][n] == PCI_BAR_UNDECODED);
	pci_host_fini(&h);
	return 0;
}
