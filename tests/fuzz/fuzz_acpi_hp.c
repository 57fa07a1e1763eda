/*
 * libFuzzer target for the ACPI hot-plug controllers a guest reaches through port I/O:
 * PCI (devices/pcihp.c, 3 segments), CPU (devices/cpuhp.c, 40 CPUs, 2 at boot) and
 * memory (devices/memhp.c), each beside a shadow model of what its header promises.
 * The input is a sequence of 12-byte operations:
 *	byte 0, bits 0-2: 0 memhp_io, 1 cpuhp_io, 2 pcihp_io (bit 3: write; bit 4: add
 *		byte 3 << 56 to the offset), 3 memhp_plug, 4 cpuhp_plug, 5 cpuhp_unplug,
 *		6 pcihp_latch (bit 3: plug), 7 all three controllers made anew;
 *	port access: offset bytes 1-2 (+ byte 3 << 56), length byte 4 % 9 (0..8), data
 *		bytes 5-8 (repeated for the upper 4 bytes);
 *	memhp_plug: base bytes 1-8, length bytes 9-11 in 4 KiB pages (0 included);
 *	cpuhp_plug/unplug: CPU byte 1 % 72 (past the count included);
 *	pcihp_latch: segment byte 1 % 5, slot byte 2 % 34 (both past their range included).
 * Checked: a read writes exactly LEN bytes, never past them, and returns what the model
 * says (0 for a bad size, offset or segment; latches clear on the read that returns them);
 * a write never changes the caller's buffer, a memhp write never changes anything; the
 * API calls return what the model says; ejects reach the callbacks exactly as the model
 * expects, never CPU 0 nor PCI slot 0, and CPU 0 stays present; memhp's slot words are
 * always the ranges plugged, in order.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cpuhp.h"
#include "memhp.h"
#include "pcihp.h"

#define OP_SIZE		12
#define NR_CPUS		40
#define NR_BOOT		2
#define NR_SEGS		3
#define CANARY		0xa5

static struct pcihp *pci;
static struct cpuhp *cpu;
static struct memhp *mem;

/* The models. */
static struct {
	uint32_t up[NR_SEGS], down[NR_SEGS];
} pm;
static struct {
	uint64_t present, insert, remove;
} cm;
static struct {
	unsigned int used;
	uint32_t insert;
	uint64_t base[MEMHP_SLOTS], len[MEMHP_SLOTS];
} mm;

/* What the eject callbacks must see next, and what they saw. */
static uint64_t cpu_want, cpu_got;
static unsigned int cpu_calls, pci_calls, pci_want_seg, pci_got_seg;
static uint32_t pci_want, pci_got;

static void check(int cond)
{
	if (!cond)
		__builtin_trap();
}

static void on_cpu_eject(void *opaque, uint64_t cpus)
{
	check(opaque == &cpu);
	check(cpus && !(cpus & 1));
	cpu_calls++;
	cpu_got = cpus;
}

static void on_pci_eject(void *opaque, unsigned int seg, uint32_t slots)
{
	check(opaque == &pci);
	check(seg < NR_SEGS && slots && !(slots & 1));
	pci_calls++;
	pci_got_seg = seg;
	pci_got = slots;
}

static void make(void)
{
	pcihp_free(pci);
	cpuhp_free(cpu);
	memhp_free(mem);
	pci = pcihp_new(NR_SEGS, on_pci_eject, &pci);
	cpu = cpuhp_new(NR_CPUS, NR_BOOT, on_cpu_eject, &cpu);
	mem = memhp_new();
	check(pci && cpu && mem);
	memset(&pm, 0, sizeof(pm));
	memset(&cm, 0, sizeof(cm));
	memset(&mm, 0, sizeof(mm));
	cm.present = (1ULL << NR_BOOT) - 1;
}

static uint64_t le(const uint8_t *p, unsigned int n)
{
	uint64_t v = 0;

	while (n--)
		v = v << 8 | p[n];
	return v;
}

/* What an aligned 4-byte read at OFF returns in the models, latches cleared as it goes. */
static uint32_t mem_read(uint64_t off)
{
	uint32_t v = 0;

	if (off == MEMHP_REG_INSERT) {
		v = mm.insert;
		mm.insert = 0;
	} else if (off >= MEMHP_REG_SLOT(0)) {
		uint64_t rel = off - MEMHP_REG_SLOT(0);
		unsigned int n = (unsigned int)(rel / 16);
		uint64_t w = rel % 16 < 8 ? mm.base[n] : mm.len[n];

		v = (uint32_t)(rel % 8 ? w >> 32 : w);
	}
	return v;
}

static uint32_t cpu_read(uint64_t off)
{
	unsigned int shift = off % 8 ? 32 : 0;
	uint64_t *latch = NULL;

	switch (off & ~7ULL) {
	case CPUHP_REG_PRESENT:
		return (uint32_t)(cm.present >> shift);
	case CPUHP_REG_INSERT:
		latch = &cm.insert;
		break;
	case CPUHP_REG_REMOVE:
		latch = &cm.remove;
		break;
	default:
		return 0;
	}
	{
		uint32_t v = (uint32_t)(*latch >> shift);

		*latch &= ~((uint64_t)0xffffffffu << shift);
		return v;
	}
}

static uint32_t pci_read(uint64_t off)
{
	unsigned int seg = (unsigned int)(off / PCIHP_SEG_STRIDE);
	uint32_t v = 0;

	switch (off % PCIHP_SEG_STRIDE) {
	case PCIHP_REG_UP:
		v = pm.up[seg];
		pm.up[seg] = 0;
		break;
	case PCIHP_REG_DOWN:
		v = pm.down[seg];
		pm.down[seg] = 0;
		break;
	}
	return v;
}

/* A write the model expects to act: CPU ejects and PCI ejects. */
static void cpu_write(uint64_t off, uint32_t v)
{
	uint64_t ej;

	if ((off & ~7ULL) != CPUHP_REG_EJECT)
		return;
	ej = ((uint64_t)v << (off % 8 ? 32 : 0)) & cm.present & ~1ULL;
	cm.present &= ~ej;
	cm.remove &= ~ej;
	cpu_want = ej;
}

static void pci_write(uint64_t off, uint32_t v)
{
	if (off % PCIHP_SEG_STRIDE != PCIHP_REG_EJECT || !(v & PCIHP_SLOT_MASK))
		return;
	pci_want = v & PCIHP_SLOT_MASK;
	pci_want_seg = (unsigned int)(off / PCIHP_SEG_STRIDE);
}

static void port_access(unsigned int dev, const uint8_t *op)
{
	bool write = op[0] & 8;
	uint64_t off = le(op + 1, 2) + (op[0] & 0x10 ? (uint64_t)op[3] << 56 : 0);
	uint32_t len = op[4] % 9, val = (uint32_t)le(op + 5, 4), want = 0;
	uint8_t buf[8 + 16], before[sizeof(buf)];
	unsigned int cpu_calls0 = cpu_calls, pci_calls0 = pci_calls, i;
	bool valid = len == 4 && off % 4 == 0;

	memset(buf, CANARY, sizeof(buf));
	memcpy(buf + 8, &val, 4);
	memcpy(buf + 12, &val, 4);
	memcpy(before, buf, sizeof(buf));
	cpu_want = 0;
	pci_want = 0;
	switch (dev) {
	case 0:
		valid = valid && off < MEMHP_LEN;
		if (valid && !write)
			want = mem_read(off);
		memhp_io(mem, off, buf + 8, len, write);
		break;
	case 1:
		valid = valid && off < CPUHP_LEN;
		if (valid)
			write ? cpu_write(off, val) : (void)(want = cpu_read(off));
		cpuhp_io(cpu, off, buf + 8, len, write);
		break;
	default:
		valid = valid && off / PCIHP_SEG_STRIDE < NR_SEGS;
		if (valid)
			write ? pci_write(off, val) : (void)(want = pci_read(off));
		pcihp_io(pci, off, buf + 8, len, write);
		break;
	}
	/* Never a byte before or past the access. */
	for (i = 0; i < 8; i++)
		check(buf[i] == CANARY);
	for (i = 8 + len; i < sizeof(buf); i++)
		check(buf[i] == before[i]);
	if (write) {
		check(!memcmp(buf, before, sizeof(buf)));
	} else {
		for (i = 0; i < len; i++)
			check(buf[8 + i] == (valid ? (uint8_t)(want >> (8 * i)) : 0));
	}
	/* Ejects exactly as the model says, once. */
	check(cpu_calls == cpu_calls0 + (cpu_want != 0));
	if (cpu_want)
		check(cpu_got == cpu_want);
	check(pci_calls == pci_calls0 + (pci_want != 0));
	if (pci_want)
		check(pci_got == pci_want && pci_got_seg == pci_want_seg);
}

static void api_call(const uint8_t *op)
{
	unsigned int c = op[1] % 72, seg = op[1] % 5, slot = op[2] % 34;
	uint64_t base = le(op + 1, 8), len = le(op + 9, 3) << 12, bit;
	int want, ret;

	switch (op[0] & 7) {
	case 3:
		want = !len ? -EINVAL : mm.used == MEMHP_SLOTS ? -ENOSPC : (int)mm.used;
		ret = memhp_plug(mem, base, len);
		check(ret == want);
		if (ret >= 0) {
			mm.base[ret] = base;
			mm.len[ret] = len;
			mm.insert |= 1u << ret;
			mm.used++;
		}
		break;
	case 4:
		bit = c < NR_CPUS ? 1ULL << c : 0;
		ret = cpuhp_plug(cpu, c);
		check(ret == (bit ? 0 : -EINVAL));
		cm.present |= bit;
		cm.insert |= bit;
		cm.remove &= ~bit;
		break;
	case 5:
		bit = c < 64 ? 1ULL << c : 0;
		want = c && (bit & cm.present) ? 0 : -EINVAL;
		ret = cpuhp_unplug(cpu, c);
		check(ret == want);
		if (!ret) {
			cm.remove |= bit;
			cm.insert &= ~bit;
		}
		break;
	case 6:
		want = seg < NR_SEGS && slot && slot <= 31 ? 0 : -EINVAL;
		ret = pcihp_latch(pci, seg, slot, op[0] & 8);
		check(ret == want);
		if (!ret && (op[0] & 8)) {
			pm.up[seg] |= 1u << slot;
			pm.down[seg] &= ~(1u << slot);
		} else if (!ret) {
			pm.down[seg] |= 1u << slot;
			pm.up[seg] &= ~(1u << slot);
		}
		break;
	default:
		make();
	}
}

/* The registers that do not clear on read, against the models; memhp's slot words only
 * when SLOTS (they change only with a plug, or a write that must not change them). */
static void check_state(bool slots)
{
	uint8_t b[4];
	uint32_t v;
	unsigned int n;

	check(memhp_free_slots(mem) == MEMHP_SLOTS - mm.used);
	check(cpuhp_present(cpu) == cm.present);
	check(cpuhp_present(cpu) & 1);
	for (n = 0; slots && n < MEMHP_SLOTS; n++) {
		uint64_t w[2] = { 0, 0 };
		unsigned int k;

		for (k = 0; k < 4; k++) {
			memhp_io(mem, MEMHP_REG_SLOT(n) + 4 * k, b, 4, false);
			memcpy(&v, b, 4);
			w[k / 2] |= (uint64_t)v << (k % 2 ? 32 : 0);
		}
		check(w[0] == mm.base[n] && w[1] == mm.len[n]);
		check((mm.len[n] != 0) == (n < mm.used));
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t i;

	make();
	for (i = 0; i + OP_SIZE <= size; i += OP_SIZE) {
		const uint8_t *op = data + i;

		if ((op[0] & 7) < 3)
			port_access(op[0] & 7, op);
		else
			api_call(op);
		check_state((op[0] & 7) == 0 || (op[0] & 7) == 3);
	}
	check_state(true);
	return 0;
}
