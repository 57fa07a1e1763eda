/*
 * pci-hostile: a hostile guest driver for the lab's pci-hostile scenario. With the real driver
 * unbound, it writes seeded garbage into a virtio-pci function's configuration space (through
 * /sys/bus/pci/devices/BDF/config) and into its BAR0 (mmap of .../resource0): the BARs, the
 * Command register, MSI-X Message Control, and in the BAR the common configuration, ISR,
 * device configuration, notifications, MSI-X table and PBA of kvmm's layout
 * (virtio/virtio_pci.h). The point is to prove that such a guest cannot crash the VMM or
 * disturb another device; the scenario reads another disk meanwhile and compares it.
 *
 *   pci-hostile [-s SEED] [-n MAX_OPS] [-t SECONDS] BDF [CFG_BDF...]
 *
 * BDF is the victim (e.g. 0000:00:01.0); each CFG_BDF (e.g. the host bridge 0000:00:00.0)
 * gets configuration-space garbage only. Runs until MAX_OPS register accesses or SECONDS,
 * then puts BDF's BAR, Command and MSI-X control back and resets the virtio device. Prints
 *   pci-hostile: seed=S target=BDF ...                      (what it found, first)
 *   pci-hostile: done ops=N ... sigbus=K bar_alive=0|1      (the counts, last)
 * Same SEED, same sequence of operations (timing aside), so a failure can be replayed.
 *
 * What it never does, on purpose: a device that the guest points at the guest's own memory
 * may legitimately scribble over it, and an interrupt message the guest makes up may
 * legitimately hurt the guest (an INIT or SMI, an exception vector). Neither says anything
 * about the VMM, so
 *   - a queue is only ever enabled right after all three of its ring addresses were written,
 *     each either 0 or with bit 40 or higher set, and at least one of them high: the
 *     device must refuse it (nothing of guest RAM lies there) and never DMA anywhere;
 *   - Queue Enable and the ring addresses (common configuration 0x1c..0x37) are written
 *     only by that set-up operation, never by the random writers;
 *   - on x86 every MSI-X Message Data written is edge, fixed or lowest-priority delivery,
 *     with a vector Linux hands out to devices (0x31..0xdf, not 0x80); the random writers
 *     leave the Message Data dwords alone. Addresses and vector control are free garbage.
 *     (On arm64 the message goes to the GIC ITS, which drops what the guest did not map.)
 * Everything else — BAR placement (sizing, random, onto other devices' BARs, off the
 * windows), memory decoding on/off, MSI-X enable/mask, status and feature garbage, queue
 * selects past the end, odd queue sizes, notify storms, misaligned 1/2/4/8-byte accesses —
 * is fair game.
 *
 * A static guest test tool (guest-images/tools); needs root (sysfs config and resource0).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <setjmp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* kvmm's BAR0 layout (virtio/virtio_pci.h). */
#define BAR_SIZE		0x8000
#define COMMON_OFF		0x0000
#define ISR_OFF			0x1000
#define DEVICE_OFF		0x2000
#define NOTIFY_OFF		0x3000
#define NOTIFY_MULT		4
#define MSIX_TABLE_OFF		0x4000
#define MSIX_PBA_OFF		0x5000
#define REGION_SIZE		0x1000

/* struct virtio_pci_common_cfg (virtio 1.x, 4.1.4.3). */
#define C_DFSELECT		0x00
#define C_DF			0x04
#define C_GFSELECT		0x08
#define C_GF			0x0c
#define C_MSIX_CONFIG		0x10
#define C_NUM_QUEUES		0x12
#define C_STATUS		0x14
#define C_CFG_GENERATION	0x15
#define C_Q_SELECT		0x16
#define C_Q_SIZE		0x18
#define C_Q_MSIX		0x1a
#define C_Q_ENABLE		0x1c
#define C_Q_NOFF		0x1e
#define C_Q_DESC		0x20
#define C_Q_AVAIL		0x28
#define C_Q_USED		0x30
#define C_END			0x38
/* The part only queue_setup() writes: Queue Enable, Notify Off (read-only) and the rings. */
#define C_GUARDED_START		C_Q_ENABLE

/* Configuration space. */
#define PCI_COMMAND		0x04
#define PCI_COMMAND_MEMORY	0x2
#define PCI_STATUS		0x06
#define PCI_STATUS_CAP_LIST	0x10
#define PCI_BAR0		0x10
#define PCI_CAP_PTR		0x34
#define PCI_CAP_ID_MSIX		0x11
#define MSIX_CTRL_ENABLE	0x8000
#define MSIX_CTRL_FMASK		0x4000
#define MSIX_ENTRY_SIZE		16

#define VIRTIO_VENDOR		0x1af4

#define MAX_OTHERS		64
#define MAX_WINDOWS		16
#define MAX_CFG_ONLY		8

/* ---- a seeded random source (splitmix64: tiny, and the same sequence everywhere) ---- */

static uint64_t rng_state;

static uint64_t rnd(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* 0..N-1 (N > 0). */
static uint32_t below(uint32_t n)
{
	return (uint32_t)(rnd() % n);
}

/* True one time in N. */
static bool one_in(uint32_t n)
{
	return below(n) == 0;
}

/* A garbage value of LEN bytes: often one of the values that find edge cases (0, all ones,
 * one, the top bit, small numbers), otherwise uniformly random. */
static uint64_t garbage(unsigned int len)
{
	uint64_t mask = len >= 8 ? ~0ULL : (1ULL << (8 * len)) - 1, v;

	switch (below(8)) {
	case 0: v = 0; break;
	case 1: v = ~0ULL; break;
	case 2: v = 1; break;
	case 3: v = 1ULL << (8 * len - 1); break;
	case 4: v = below(16); break;
	default: v = rnd(); break;
	}
	return v & mask;
}

/* An access width: 1, 2, 4 or 8 bytes (MAX: the largest allowed). */
static unsigned int width(unsigned int max)
{
	unsigned int w = 1u << below(4);

	return w > max ? max : w;
}

/* ---- what the run does and counts ---- */

struct target {
	const char *bdf;
	int cfg;			/* .../config, O_RDWR */
	off_t cfg_size;			/* 256, or 4096 for PCIe */
	int res;			/* .../resource0, or -1 (configuration space only) */
	volatile uint8_t *bar;		/* BAR0 mapped (the address the kernel assigned), or NULL */
	uint32_t bar_lo, bar_hi;	/* BAR0 as found */
	uint16_t command;		/* Command as found */
	uint8_t msix_cap;		/* 0: none */
	uint16_t msix_ctrl;		/* Message Control as found */
	unsigned int msix_nr;		/* table entries */
	uint16_t nr_queues;
};

static struct {
	uint64_t ops, cfg_writes, cfg_reads, cfg_errors, bar_writes, bar_reads;
	uint64_t bar_moves, queue_setups, notifies, msix_writes, sigbus, remaps;
} st;

/* Other devices' memory BARs (targets for overlapping ours) and the host bridges' windows. */
static uint64_t others[MAX_OTHERS];
static unsigned int nr_others;
static struct { uint64_t start, end; } windows[MAX_WINDOWS];
static unsigned int nr_windows;

/* ---- configuration space through sysfs ---- */

/* pwrite of 1/2/4 bytes (sysfs splits a misaligned one into aligned accesses itself). A
 * write past the end of the file (an offset beyond 255 of a conventional function) just
 * writes nothing. */
static void cfg_write(const struct target *t, uint32_t off, unsigned int len, uint32_t v)
{
	uint8_t b[4];

	for (unsigned int i = 0; i < len; i++)
		b[i] = (uint8_t)(v >> (8 * i));
	if (pwrite(t->cfg, b, len, off) != (ssize_t)len)
		st.cfg_errors++;
	st.cfg_writes++;
	st.ops++;
}

static uint32_t cfg_read(const struct target *t, uint32_t off, unsigned int len)
{
	uint8_t b[4] = { 0 };
	uint32_t v = 0;

	if (pread(t->cfg, b, len, off) != (ssize_t)len)
		st.cfg_errors++;
	for (unsigned int i = 0; i < len; i++)
		v |= (uint32_t)b[i] << (8 * i);
	st.cfg_reads++;
	st.ops++;
	return v;
}

/* Walks the capability list for MSI-X. */
static void find_msix(struct target *t)
{
	uint8_t p;
	unsigned int guard = 0;

	if (!(cfg_read(t, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST))
		return;
	for (p = (uint8_t)cfg_read(t, PCI_CAP_PTR, 1) & ~3u; p && guard < 48; guard++) {
		if (cfg_read(t, p, 1) == PCI_CAP_ID_MSIX) {
			t->msix_cap = p;
			t->msix_ctrl = (uint16_t)cfg_read(t, p + 2u, 2);
			t->msix_nr = (t->msix_ctrl & 0x7ffu) + 1;
			return;
		}
		p = (uint8_t)cfg_read(t, p + 1u, 1) & ~3u;
	}
}

/* ---- BAR0 through the resource0 mapping ---- */

/* Unaligned views: the misaligned accesses are the point, so tell the compiler. */
typedef uint16_t u16u __attribute__((aligned(1)));
typedef uint32_t u32u __attribute__((aligned(1)));
typedef uint64_t u64u __attribute__((aligned(1)));

/*
 * A BAR that stopped decoding, or a misaligned access the CPU will not do to device
 * memory (arm64), faults with SIGBUS: the handler jumps back to bar_op_guarded(), which
 * counts it and maps the BAR afresh.
 */
static sigjmp_buf bus_jmp;
static volatile sig_atomic_t bus_armed;

static void on_sigbus(int sig)
{
	if (bus_armed) {
		bus_armed = 0;
		siglongjmp(bus_jmp, 1);
	}
	signal(sig, SIG_DFL);
	raise(sig);
}

static void bar_unmap(struct target *t)
{
	if (t->bar)
		munmap((void *)t->bar, BAR_SIZE);
	t->bar = NULL;
}

static bool bar_map(struct target *t)
{
	void *p;

	bar_unmap(t);
	if (t->res < 0)
		return false;
	p = mmap(NULL, BAR_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, t->res, 0);
	if (p == MAP_FAILED)
		return false;
	t->bar = p;
	return true;
}

static void bar_write(const struct target *t, uint32_t off, unsigned int len, uint64_t v)
{
	volatile uint8_t *p = t->bar + off;

	if (off > BAR_SIZE - len)
		return;
	switch (len) {
	case 1: *p = (uint8_t)v; break;
	case 2: *(volatile u16u *)p = (uint16_t)v; break;
	case 4: *(volatile u32u *)p = (uint32_t)v; break;
	default: *(volatile u64u *)p = v; break;
	}
	st.bar_writes++;
	st.ops++;
}

static uint64_t bar_read(const struct target *t, uint32_t off, unsigned int len)
{
	volatile uint8_t *p = t->bar + off;
	uint64_t v;

	if (off > BAR_SIZE - len)
		return 0;
	switch (len) {
	case 1: v = *p; break;
	case 2: v = *(volatile u16u *)p; break;
	case 4: v = *(volatile u32u *)p; break;
	default: v = *(volatile u64u *)p; break;
	}
	st.bar_reads++;
	st.ops++;
	return v;
}

/* Whether a write to [OFF, OFF + LEN) of BAR0 is one only the guarded operations may do:
 * Queue Enable / the ring addresses, or an MSI-X Message Data dword (see the top). */
static bool guarded(uint32_t off, unsigned int len)
{
	uint32_t end = off + len;

	if (off < C_END && end > C_GUARDED_START)
		return true;
#if defined(__x86_64__) || defined(__i386__)
	for (uint32_t o = off; o < end; o++)
		if (o >= MSIX_TABLE_OFF && o < MSIX_TABLE_OFF + REGION_SIZE &&
		    (o - MSIX_TABLE_OFF) % MSIX_ENTRY_SIZE >= 8 &&
		    (o - MSIX_TABLE_OFF) % MSIX_ENTRY_SIZE < 12)
			return true;
#endif
	return false;
}

/* A random write of LEN bytes at OFF unless guarded(). */
static void bar_garbage(const struct target *t, uint32_t off, unsigned int len)
{
	if (off > BAR_SIZE - len || guarded(off, len))
		return;
	bar_write(t, off, len, garbage(len));
}

/* An offset in [BASE, BASE + SPAN) for an access of LEN bytes: aligned to LEN three times
 * in four, anywhere otherwise. */
static uint32_t pick_off(uint32_t base, uint32_t span, unsigned int len)
{
	uint32_t o = below(span);

	if (!one_in(4))
		o &= ~(len - 1);
	return base + o;
}

/* An MSI-X Message Data the guest cannot hurt itself with (see the top). */
static uint32_t msi_data(void)
{
#if defined(__x86_64__) || defined(__i386__)
	uint32_t vec;

	do
		vec = 0x31 + below(0xdf - 0x31 + 1);
	while (vec == 0x80);
	/* Bits 8-10 delivery mode 0 (fixed) or 1 (lowest priority); 11-15 (level, assert)
	 * clear: edge; 16-31 reserved, garbage. */
	return vec | below(2) << 8 | (uint32_t)(rnd() & 0xffff0000u);
#else
	return (uint32_t)garbage(4);
#endif
}

/* The common configuration, minus what queue_setup() owns. */
static void common_op(const struct target *t)
{
	static const uint8_t statuses[] = { 0, 1, 3, 0x0b, 0x0f, 0x40, 0x80, 0x07, 0x0d, 0xff };
	static const uint16_t sizes[] = { 0, 1, 3, 127, 128, 255, 256, 1024, 2048, 0x8000, 0xffff };
	unsigned int len;
	uint32_t off;

	switch (below(12)) {
	case 0:
	case 1:		/* status: reset, the usual steps, FAILED, NEEDS_RESET, random */
		bar_write(t, COMMON_OFF + C_STATUS, 1,
			  one_in(4) ? garbage(1) : statuses[below(sizeof(statuses))]);
		break;
	case 2:		/* feature selects, incl. ones past the two defined words */
		bar_write(t, COMMON_OFF + (one_in(2) ? C_DFSELECT : C_GFSELECT), 4,
			  one_in(2) ? below(4) : garbage(4));
		break;
	case 3:		/* driver features (and the read-only device features) */
		bar_write(t, COMMON_OFF + (one_in(4) ? C_DF : C_GF), 4, garbage(4));
		break;
	case 4:		/* configuration vector */
		bar_write(t, COMMON_OFF + C_MSIX_CONFIG, 2,
			  one_in(2) ? below(t->msix_nr + 3) : garbage(2));
		break;
	case 5:		/* queue select, often past the end */
		bar_write(t, COMMON_OFF + C_Q_SELECT, 2,
			  one_in(2) ? below(t->nr_queues + 4u) : garbage(2));
		break;
	case 6:		/* queue size: 0, odd, huge */
		bar_write(t, COMMON_OFF + C_Q_SIZE, 2,
			  one_in(3) ? garbage(2) : sizes[below(sizeof(sizes) / sizeof(sizes[0]))]);
		break;
	case 7:		/* queue vector, read-only fields */
		bar_write(t, COMMON_OFF + (one_in(2) ? C_Q_MSIX : one_in(2) ? C_NUM_QUEUES :
					  C_CFG_GENERATION), 2, garbage(2));
		break;
	case 8:
	case 9:		/* reads of anything, any width */
		len = width(8);
		bar_read(t, pick_off(COMMON_OFF, C_END + 8, len), len);
		break;
	default:	/* any width anywhere in the region, wrong widths of real fields too */
		len = width(8);
		off = one_in(2) ? pick_off(COMMON_OFF, C_END, len) :
				  pick_off(COMMON_OFF, REGION_SIZE, len);
		bar_garbage(t, off, len);
		break;
	}
}

/* A ring address the device must refuse: 0, or bit 40 or higher set (see the top). */
static uint64_t ring_addr(bool high)
{
	uint64_t a;

	if (!high)
		return 0;
	a = rnd() | 1ULL << (40 + below(24));
	if (!one_in(4))
		a &= ~0xfULL;	/* aligned: refused for where it points, not how */
	return a;
}

/* Writes one 64-bit ring address field: upper half first, so it is never in low memory. */
static void ring_write(const struct target *t, uint32_t field, uint64_t a)
{
	if (one_in(3)) {
		bar_write(t, COMMON_OFF + field, 8, a);
	} else if (a) {
		bar_write(t, COMMON_OFF + field + 4, 4, a >> 32);
		bar_write(t, COMMON_OFF + field, 4, (uint32_t)a);
	} else {
		bar_write(t, COMMON_OFF + field, 4, 0);
		bar_write(t, COMMON_OFF + field + 4, 4, 0);
	}
}

/* Sets a queue up with rings the device must refuse, enables it, sometimes walks the status
 * to DRIVER_OK (before or after) and kicks: refusal, NEEDS_RESET, and when the device was
 * live, a configuration interrupt (through MSI-X when that is on, else INTx). */
static void queue_setup(const struct target *t)
{
	static const uint16_t sizes[] = { 0, 1, 2, 3, 64, 128, 256, 1024, 0x8000, 0xffff };
	uint16_t q = one_in(8) ? (uint16_t)garbage(2) : (uint16_t)below(t->nr_queues + 2u);
	static const uint32_t fields[3] = { C_Q_DESC, C_Q_AVAIL, C_Q_USED };
	unsigned int high = below(3);
	bool early = one_in(3);

	st.queue_setups++;
	if (one_in(3)) {
		/* The driver's start: reset, ACKNOWLEDGE | DRIVER, VERSION_1 (+ garbage). */
		bar_write(t, COMMON_OFF + C_STATUS, 1, 0);
		bar_write(t, COMMON_OFF + C_STATUS, 1, 3);
		bar_write(t, COMMON_OFF + C_GFSELECT, 4, 1);
		bar_write(t, COMMON_OFF + C_GF, 4, one_in(4) ? garbage(4) : 1);
		bar_write(t, COMMON_OFF + C_STATUS, 1, 0x0b);
		if (one_in(2))
			bar_write(t, COMMON_OFF + C_MSIX_CONFIG, 2, below(t->msix_nr + 1));
	}
	bar_write(t, COMMON_OFF + C_Q_SELECT, 2, q);
	for (unsigned int i = 0; i < 3; i++)
		ring_write(t, fields[i], ring_addr(i == high || one_in(2)));
	if (!one_in(4))
		bar_write(t, COMMON_OFF + C_Q_SIZE, 2, sizes[below(sizeof(sizes) / sizeof(sizes[0]))]);
	if (one_in(2))
		bar_write(t, COMMON_OFF + C_Q_MSIX, 2,
			  one_in(2) ? below(t->msix_nr + 2) : garbage(2));
	if (early)	/* DRIVER_OK first: the refusal below then interrupts the driver */
		bar_write(t, COMMON_OFF + C_STATUS, 1, 0x0f);
	bar_write(t, COMMON_OFF + C_Q_ENABLE, 2, one_in(5) ? garbage(2) : 1);
	if (!early && one_in(2))
		bar_write(t, COMMON_OFF + C_STATUS, 1, 0x0f);
	if (one_in(2))
		bar_write(t, NOTIFY_OFF + NOTIFY_MULT * (q % 64u), 2, q);
	if (one_in(4))
		bar_read(t, COMMON_OFF + C_Q_ENABLE, 2);
	if (one_in(4))
		bar_read(t, COMMON_OFF + C_STATUS, 1);
}

/* A storm of notifications: the registered 2-byte ones (KVM ioeventfds), 4-byte ones (exits
 * to kvmm), odd widths, queues past the end, misaligned. */
static void notify_storm(const struct target *t)
{
	unsigned int n = 8 + below(56), len;
	uint32_t q;

	for (unsigned int i = 0; i < n; i++) {
		q = below(t->nr_queues + 4u);
		switch (below(6)) {
		case 0: case 1: case 2:
			bar_write(t, NOTIFY_OFF + NOTIFY_MULT * q, 2, q);
			break;
		case 3:
			bar_write(t, NOTIFY_OFF + NOTIFY_MULT * q, 4, one_in(2) ? q : garbage(4));
			break;
		case 4:
			len = width(8);
			bar_garbage(t, pick_off(NOTIFY_OFF, REGION_SIZE, len), len);
			break;
		default:
			len = width(8);
			bar_read(t, pick_off(NOTIFY_OFF, 64, len), len);
			break;
		}
		st.notifies++;
	}
}

/* The ISR (reading acknowledges), the device configuration, the PBA. */
static void small_regions_op(const struct target *t)
{
	unsigned int len = width(8);

	switch (below(6)) {
	case 0:
		bar_read(t, pick_off(ISR_OFF, one_in(2) ? 8 : REGION_SIZE, len), len);
		break;
	case 1:
		bar_garbage(t, pick_off(ISR_OFF, one_in(2) ? 8 : REGION_SIZE, len), len);
		break;
	case 2:
		bar_read(t, pick_off(DEVICE_OFF, one_in(4) ? REGION_SIZE : 64, len), len);
		break;
	case 3:
		bar_garbage(t, pick_off(DEVICE_OFF, one_in(4) ? REGION_SIZE : 64, len), len);
		break;
	case 4:
		bar_read(t, pick_off(MSIX_PBA_OFF, one_in(2) ? 16 : REGION_SIZE, len), len);
		break;
	default:
		bar_garbage(t, pick_off(MSIX_PBA_OFF, one_in(2) ? 16 : REGION_SIZE, len), len);
		break;
	}
}

/* The MSI-X table: addresses and vector control of entries in and past the table, masks
 * toggled, Message Data only as msi_data() makes it. */
static void msix_table_op(const struct target *t)
{
	uint32_t e = one_in(6) ? below(256) : below(t->msix_nr + 2), base;
	unsigned int len;

	base = MSIX_TABLE_OFF + e * MSIX_ENTRY_SIZE;
	if (base >= MSIX_TABLE_OFF + REGION_SIZE)
		return;
	st.msix_writes++;
	switch (below(8)) {
	case 0:		/* address, low and high halves, or one 8-byte write */
		if (one_in(2)) {
			bar_write(t, base, 8, garbage(8));
		} else {
			bar_write(t, base, 4, garbage(4));
			bar_write(t, base + 4, 4, garbage(4));
		}
		break;
	case 1:		/* message data */
		bar_write(t, base + 8, 4, msi_data());
		break;
	case 2:		/* data and vector control together */
		bar_write(t, base + 8, 8, msi_data() | (uint64_t)garbage(4) << 32);
		break;
	case 3:
	case 4:		/* unmask / mask */
		bar_write(t, base + 12, 4, one_in(4) ? garbage(4) : below(2));
		break;
	case 5:		/* a whole entry: address, data, unmasked */
		bar_write(t, base, 4, garbage(4));
		bar_write(t, base + 4, 4, one_in(2) ? 0 : garbage(4));
		bar_write(t, base + 8, 4, msi_data());
		bar_write(t, base + 12, 4, 0);
		break;
	case 6:		/* reads */
		len = width(8);
		bar_read(t, pick_off(base, MSIX_ENTRY_SIZE, len), len);
		break;
	default:	/* odd widths, misaligned, anywhere in the region (not on Message Data) */
		len = width(8);
		bar_garbage(t, pick_off(MSIX_TABLE_OFF, REGION_SIZE, len), len);
		break;
	}
}

/* Anything anywhere in the BAR (what guarded() allows), reads and writes. */
static void anywhere_op(const struct target *t)
{
	unsigned int len = width(8);
	uint32_t off = pick_off(0, BAR_SIZE - len + 1, len);

	if (one_in(2))
		bar_read(t, off, len);
	else
		bar_garbage(t, off, len);
}

static void bar_op(const struct target *t)
{
	switch (below(16)) {
	case 0: case 1: case 2: case 3:
		common_op(t);
		break;
	case 4: case 5:
		queue_setup(t);
		break;
	case 6: case 7:
		notify_storm(t);
		break;
	case 8: case 9:
		small_regions_op(t);
		break;
	case 10: case 11: case 12:
		msix_table_op(t);
		break;
	default:
		anywhere_op(t);
		break;
	}
}

static void restore_bar(const struct target *t);

/* One BAR operation under the SIGBUS guard. Kept out of line: nothing of the caller's lives
 * across the siglongjmp. */
static __attribute__((noinline)) void bar_op_guarded(struct target *t)
{
	if (!t->bar && !bar_map(t))
		return;
	if (sigsetjmp(bus_jmp, 1)) {
		st.sigbus++;
		st.remaps++;
		restore_bar(t);		/* decoding on again before mapping */
		bar_map(t);
		return;
	}
	bus_armed = 1;
	bar_op(t);
	bus_armed = 0;
}

/* ---- configuration-space operations ---- */

/* Where to put BAR0 next: sizing aside, an address from one of these groups. */
static uint64_t bar_address(const struct target *t)
{
	uint64_t orig = (uint64_t)t->bar_hi << 32 | (t->bar_lo & ~0xfu), w;

	switch (below(8)) {
	case 0:		/* onto another device's BAR */
		if (nr_others)
			return others[below(nr_others)];
		return orig;
	case 1:		/* where it was */
		return orig;
	case 2:		/* next to where it was */
		return orig + (uint64_t)((int32_t)below(16) - 8) * BAR_SIZE;
	case 3:
	case 4:		/* anywhere in a host bridge window */
		if (nr_windows) {
			w = below(nr_windows);
			return windows[w].start +
			       (rnd() % (windows[w].end - windows[w].start + 1) & ~(uint64_t)(BAR_SIZE - 1));
		}
		return rnd();
	case 5:		/* straddling a window's end, or the 64-bit wrap */
		if (nr_windows && one_in(2))
			return (windows[below(nr_windows)].end + 1 - BAR_SIZE / 2) &
			       ~(uint64_t)(BAR_SIZE - 1);
		return ~0ULL & ~(uint64_t)(BAR_SIZE - 1);
	case 6:
		return 0;
	default:
		return rnd();
	}
}

/* BAR0 (and the unimplemented BARs after it): sizing, new places, one half at a time. */
static void bar_cfg_op(const struct target *t)
{
	uint64_t a;

	st.bar_moves++;
	switch (below(6)) {
	case 0:		/* sizing the way firmware does: all ones, read back, restore */
		cfg_write(t, PCI_BAR0, 4, 0xffffffffu);
		cfg_write(t, PCI_BAR0 + 4, 4, 0xffffffffu);
		cfg_read(t, PCI_BAR0, 4);
		cfg_read(t, PCI_BAR0 + 4, 4);
		if (!one_in(4)) {
			cfg_write(t, PCI_BAR0, 4, t->bar_lo);
			cfg_write(t, PCI_BAR0 + 4, 4, t->bar_hi);
		}
		break;
	case 1:		/* one half only */
		cfg_write(t, PCI_BAR0 + 4 * below(2), 4, (uint32_t)garbage(4));
		break;
	case 2:		/* the other BARs, the ROM BAR */
		cfg_write(t, one_in(4) ? 0x30 : PCI_BAR0 + 8 + 4 * below(4), 4,
			  (uint32_t)garbage(4));
		break;
	default:	/* a new address, low half first or high half first */
		a = bar_address(t) | (rnd() & 0xf);	/* the flag bits are read-only */
		if (one_in(2)) {
			cfg_write(t, PCI_BAR0, 4, (uint32_t)a);
			cfg_write(t, PCI_BAR0 + 4, 4, (uint32_t)(a >> 32));
		} else {
			cfg_write(t, PCI_BAR0 + 4, 4, (uint32_t)(a >> 32));
			cfg_write(t, PCI_BAR0, 4, (uint32_t)a);
		}
		break;
	}
}

static void cfg_op(const struct target *t)
{
	unsigned int len = 1u << below(3);	/* 1, 2, 4 */
	uint32_t off;

	switch (below(10)) {
	case 0:
	case 1:
	case 2:
		bar_cfg_op(t);
		break;
	case 3:
	case 4:		/* Command: memory decoding off and on, garbage */
		if (one_in(3))
			cfg_write(t, PCI_COMMAND, 2, (uint32_t)garbage(2));
		else
			cfg_write(t, PCI_COMMAND, 2,
				  (t->command & ~PCI_COMMAND_MEMORY) |
				  (one_in(2) ? PCI_COMMAND_MEMORY : 0));
		break;
	case 5:
	case 6:		/* MSI-X Message Control: enable, function mask, garbage */
		if (!t->msix_cap)
			break;
		if (one_in(3))
			cfg_write(t, t->msix_cap + 2u, one_in(2) ? 2 : 1, (uint32_t)garbage(2));
		else if (one_in(2))
			cfg_write(t, t->msix_cap + 3u, 1, (MSIX_CTRL_ENABLE >> 8) * below(2) |
							     (MSIX_CTRL_FMASK >> 8) * below(2));
		else
			cfg_write(t, t->msix_cap + 2u, 2, t->msix_ctrl | MSIX_CTRL_ENABLE * below(2) |
							     MSIX_CTRL_FMASK * below(2));
		break;
	case 7:		/* reads anywhere */
		off = below(t->cfg_size) & ~(len - 1);
		cfg_read(t, off, len);
		break;
	default:	/* garbage anywhere, also past the end of the file */
		off = below(one_in(8) ? 4096 : (uint32_t)t->cfg_size) & ~(len - 1);
		cfg_write(t, off, len, (uint32_t)garbage(len));
		break;
	}
}

/* A configuration-space-only target (the host bridge): garbage, Command, reads. */
static void cfg_only_op(const struct target *t)
{
	unsigned int len = 1u << below(3);
	uint32_t off = below((uint32_t)t->cfg_size) & ~(len - 1);

	if (one_in(4))
		cfg_write(t, PCI_COMMAND, 2, (uint32_t)garbage(2));
	else if (one_in(2))
		cfg_write(t, off, len, (uint32_t)garbage(len));
	else
		cfg_read(t, off, len);
}

/* Puts BAR0 back where the kernel has it mapped and turns memory decoding on. */
static void restore_bar(const struct target *t)
{
	cfg_write(t, PCI_BAR0, 4, t->bar_lo);
	cfg_write(t, PCI_BAR0 + 4, 4, t->bar_hi);
	cfg_write(t, PCI_COMMAND, 2, t->command | PCI_COMMAND_MEMORY);
}

/* At the end: resets the virtio device through BAR0 (put back by then) and reads its queue
 * count, which must be what it was at the start: the BAR decodes where it did. */
static __attribute__((noinline)) bool reset_and_probe(struct target *t)
{
	if (!t->bar && !bar_map(t))
		return false;
	if (sigsetjmp(bus_jmp, 1)) {
		st.sigbus++;
		return false;
	}
	bus_armed = 1;
	bar_write(t, COMMON_OFF + C_STATUS, 1, 0);
	if (bar_read(t, COMMON_OFF + C_NUM_QUEUES, 2) != t->nr_queues) {
		bus_armed = 0;
		return false;
	}
	bus_armed = 0;
	return true;
}

/* ---- set-up ---- */

static int open_target(struct target *t, const char *bdf, bool with_bar)
{
	char path[256];
	struct stat sb;

	memset(t, 0, sizeof(*t));
	t->bdf = bdf;
	t->res = -1;
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/config", bdf);
	t->cfg = open(path, O_RDWR);
	if (t->cfg < 0 || fstat(t->cfg, &sb) < 0) {
		fprintf(stderr, "pci-hostile: %s: %s\n", path, strerror(errno));
		return -1;
	}
	t->cfg_size = sb.st_size >= 256 ? sb.st_size : 256;
	t->command = (uint16_t)cfg_read(t, PCI_COMMAND, 2);
	if (!with_bar)
		return 0;
	t->bar_lo = cfg_read(t, PCI_BAR0, 4);
	t->bar_hi = cfg_read(t, PCI_BAR0 + 4, 4);
	find_msix(t);
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/resource0", bdf);
	t->res = open(path, O_RDWR | O_SYNC);
	if (t->res < 0) {
		fprintf(stderr, "pci-hostile: %s: %s\n", path, strerror(errno));
		return -1;
	}
	/* Memory decoding on before mapping (the unbound driver may have left it either way). */
	cfg_write(t, PCI_COMMAND, 2, t->command | PCI_COMMAND_MEMORY);
	if (!bar_map(t)) {
		fprintf(stderr, "pci-hostile: mmap %s: %s\n", path, strerror(errno));
		return -1;
	}
	t->nr_queues = (uint16_t)bar_read(t, COMMON_OFF + C_NUM_QUEUES, 2);
	if (t->nr_queues == 0 || t->nr_queues > 64)
		t->nr_queues = 8;	/* not decoding? guess */
	if (!t->msix_nr)
		t->msix_nr = 2;
	return 0;
}

/* Every other device's memory BARs (/sys/bus/pci/devices/X/resource: start end flags). */
static void find_others(const char *self)
{
	DIR *d = opendir("/sys/bus/pci/devices");
	struct dirent *e;
	char path[512];
	unsigned long long s, end, fl;
	FILE *f;

	while (d && (e = readdir(d))) {
		if (e->d_name[0] == '.' || !strcmp(e->d_name, self))
			continue;
		snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/resource", e->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		while (nr_others < MAX_OTHERS && fscanf(f, "%llx %llx %llx", &s, &end, &fl) == 3)
			if ((fl & 0x200) && s)	/* IORESOURCE_MEM */
				others[nr_others++] = s;
		fclose(f);
	}
	if (d)
		closedir(d);
}

/* The host bridges' memory windows: top-level "PCI Bus" lines of /proc/iomem. */
static void find_windows(void)
{
	FILE *f = fopen("/proc/iomem", "r");
	char line[256];
	unsigned long long s, e;

	while (f && nr_windows < MAX_WINDOWS && fgets(line, sizeof(line), f))
		if (line[0] != ' ' && strstr(line, ": PCI Bus") &&
		    sscanf(line, "%llx-%llx", &s, &e) == 2 && e > s + BAR_SIZE) {
			windows[nr_windows].start = s;
			windows[nr_windows].end = e;
			nr_windows++;
		}
	if (f)
		fclose(f);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	static struct target t, cfg_only[MAX_CFG_ONLY];
	unsigned long long seed = 1, max_ops = 100000;
	unsigned int nr_cfg_only = 0, burst;
	double secs = 10, t0, el;
	struct sigaction sa;
	bool alive;
	int c;

	while ((c = getopt(argc, argv, "s:n:t:")) != -1) {
		switch (c) {
		case 's': seed = strtoull(optarg, NULL, 0); break;
		case 'n': max_ops = strtoull(optarg, NULL, 0); break;
		case 't': secs = strtod(optarg, NULL); break;
		default: goto usage;
		}
	}
	if (optind >= argc || argc - optind - 1 > MAX_CFG_ONLY)
		goto usage;
	rng_state = seed;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sigbus;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGBUS, &sa, NULL);

	find_others(argv[optind]);
	find_windows();
	if (open_target(&t, argv[optind], true))
		return 1;
	if ((cfg_read(&t, 0, 2)) != VIRTIO_VENDOR)
		fprintf(stderr, "pci-hostile: %s is not a virtio function (vendor 0x%04x)\n",
			t.bdf, cfg_read(&t, 0, 2));
	for (int i = optind + 1; i < argc; i++)
		if (!open_target(&cfg_only[nr_cfg_only], argv[i], false))
			nr_cfg_only++;
	printf("pci-hostile: seed=%llu target=%s bar0=0x%08x%08x queues=%u msix=%u@0x%x "
	       "cfg_size=%ld others=%u windows=%u cfg_only=%u max_ops=%llu secs=%g\n",
	       seed, t.bdf, t.bar_hi, t.bar_lo & ~0xfu, t.nr_queues, t.msix_nr, t.msix_cap,
	       (long)t.cfg_size, nr_others, nr_windows, nr_cfg_only, max_ops, secs);
	fflush(stdout);

	/* Bursts: configuration space (which may move or switch off the BAR), then the BAR,
	 * mostly put back where it is mapped first so that the writes reach the device. */
	t0 = now();
	while (st.ops < max_ops && now() - t0 < secs) {
		if (one_in(2)) {
			for (burst = 1 + below(32); burst && st.ops < max_ops; burst--) {
				if (nr_cfg_only && one_in(6))
					cfg_only_op(&cfg_only[below(nr_cfg_only)]);
				else
					cfg_op(&t);
			}
		} else {
			if (!one_in(8))
				restore_bar(&t);
			for (burst = 1 + below(64); burst && st.ops < max_ops; burst--)
				bar_op_guarded(&t);
		}
	}
	el = now() - t0;

	/* Leave the function as found, reset; the BAR must answer where it was. */
	restore_bar(&t);
	if (t.msix_cap)
		cfg_write(&t, t.msix_cap + 2u, 2, t.msix_ctrl);
	for (unsigned int i = 0; i < nr_cfg_only; i++)
		cfg_write(&cfg_only[i], PCI_COMMAND, 2, cfg_only[i].command);
	alive = reset_and_probe(&t);
	cfg_write(&t, PCI_COMMAND, 2, t.command);
	printf("pci-hostile: done ops=%llu secs=%.1f cfg_writes=%llu cfg_reads=%llu "
	       "cfg_errors=%llu bar_writes=%llu bar_reads=%llu bar_moves=%llu queue_setups=%llu "
	       "notifies=%llu msix_writes=%llu sigbus=%llu remaps=%llu bar_alive=%d\n",
	       (unsigned long long)st.ops, el, (unsigned long long)st.cfg_writes,
	       (unsigned long long)st.cfg_reads, (unsigned long long)st.cfg_errors,
	       (unsigned long long)st.bar_writes, (unsigned long long)st.bar_reads,
	       (unsigned long long)st.bar_moves, (unsigned long long)st.queue_setups,
	       (unsigned long long)st.notifies, (unsigned long long)st.msix_writes,
	       (unsigned long long)st.sigbus, (unsigned long long)st.remaps,
	       alive);
	return 0;
usage:
	fprintf(stderr, "usage: pci-hostile [-s SEED] [-n MAX_OPS] [-t SECONDS] BDF [CFG_BDF...]\n");
	return 2;
}
