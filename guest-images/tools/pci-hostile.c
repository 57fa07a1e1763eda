/*
 * pci-hostile: a hostile guest driver for the lab's pci-hostile scenario, on virtio-pci or
 * virtio-mmio. With the real driver unbound it does two things, then resets the device:
 *
 * 1. Seeded random garbage. On PCI into the function's configuration space (through
 *    /sys/bus/pci/devices/BDF/config) and its BAR0 (mmap of .../resource0): the BARs, the
 *    Command register, MSI-X Message Control, and in the BAR the common configuration, ISR,
 *    device configuration, notifications, MSI-X table (addresses, vector control, masks,
 *    entries past the table) and PBA of kvmm's layout (virtio/virtio_pci.h). On virtio-mmio
 *    into the register window (mmap of /dev/mem, which CONFIG_STRICT_DEVMEM allows for a
 *    window no driver holds): status toggling, feature and queue selects, queue sizes, queue
 *    addresses outside RAM, notify storms, interrupt acknowledges, the configuration space,
 *    misaligned and odd-width accesses.
 * 2. Structured virtqueue attacks (queue_attacks(), both transports): the device set up as a
 *    driver would, on rings in our own locked pages (physical addresses from
 *    /proc/self/pagemap), then one attack per step, each printed as a KVMM-HOSTILE-STEP line
 *    with what kvmm must do and whether it did (the expectations are described above
 *    QS, the steps are in queue_attacks()).
 *
 * The point is to prove that such a guest cannot crash the VMM or disturb another device,
 * and that kvmm refuses (and counts) what it must; the scenario reads another disk meanwhile
 * and compares it, and reads vm.counters afterwards.
 *
 *   pci-hostile [-s SEED] [-n MAX_OPS] [-t SECONDS] [-Q] [-I] BDF [CFG_BDF...]
 *   pci-hostile [-s SEED] [-n MAX_OPS] [-t SECONDS] [-Q] mmio:ADDR[:SIZE]
 *
 * BDF is the victim (e.g. 0000:00:01.0); each CFG_BDF (e.g. the host bridge 0000:00:00.0)
 * gets configuration-space garbage only. mmio:ADDR:SIZE is a virtio-mmio window (its
 * /proc/iomem range). The garbage runs until MAX_OPS register accesses or SECONDS; then on
 * PCI BDF's BAR, Command and MSI-X control are put back. -Q: no structured steps. -I (PCI):
 * the structured steps with MSI-X off, so the device interrupts through INTx (by default
 * MSI-X is on, masked, with no vectors: no interrupt at all). Prints
 *   pci-hostile: seed=S target=BDF ...                      (what it found, first)
 *   KVMM-HOSTILE-STEP name=... ok=0|1                       (one per structured step)
 *   pci-hostile: done ops=N ... sigbus=K bar_alive=0|1 steps=N steps_ok=M ...  (last)
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
 * The random writers on virtio-mmio follow the same rules (QueueReady and the ring address
 * registers 0x80..0xa7 belong to mmio_queue_setup()). The structured steps only ever give
 * the device our own pages or addresses outside RAM, and send no write the device may carry
 * out (only ones past the disk's end).
 *
 * A static guest test tool (guest-images/tools); needs root (sysfs config and resource0,
 * /dev/mem, pagemap, mlock).
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

/* ---- virtio-mmio: a register window through /dev/mem ---- */

/* Register offsets (virtio 1.x, 4.2.2; kvmm's virtio/mmio.h). */
#define M_MAGIC			0x000
#define M_VERSION		0x004
#define M_DEVICE_ID		0x008
#define M_DEV_FEATURES		0x010
#define M_DEV_FEATURES_SEL	0x014
#define M_DRV_FEATURES		0x020
#define M_DRV_FEATURES_SEL	0x024
#define M_QUEUE_SEL		0x030
#define M_QUEUE_NUM_MAX		0x034
#define M_QUEUE_NUM		0x038
#define M_QUEUE_READY		0x044
#define M_QUEUE_NOTIFY		0x050
#define M_INT_STATUS		0x060
#define M_INT_ACK		0x064
#define M_STATUS		0x070
#define M_QUEUE_DESC		0x080	/* low; high at +4; driver (avail) +0x10, device (used) +0x20 */
#define M_GUARDED_END		0x0a8
#define M_SHM_SEL		0x0ac
#define M_CONFIG_GENERATION	0x0fc
#define M_CONFIG		0x100
#define M_MAGIC_VALUE		0x74726976

static struct {
	uint64_t base, size;		/* the window as /proc/iomem (or the command line) has it */
	uint32_t span;			/* what we touch: the window, at most one page */
	int fd;				/* /dev/mem */
	volatile uint8_t *regs;		/* one page mapped at base */
	uint16_t nr_queues;		/* queues with QueueNumMax != 0 (at most 16 looked at) */
	uint32_t device_id;
} mm = { .fd = -1 };

static bool mmio_map(void)
{
	void *p;

	if (mm.regs)
		return true;
	p = mmap(NULL, (size_t)sysconf(_SC_PAGESIZE), PROT_READ | PROT_WRITE, MAP_SHARED, mm.fd,
		 (off_t)mm.base);
	if (p == MAP_FAILED)
		return false;
	mm.regs = p;
	return true;
}

static void m_write(uint32_t off, unsigned int len, uint64_t v)
{
	volatile uint8_t *p = mm.regs + off;

	if (off > mm.span - len)
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

static uint64_t m_read(uint32_t off, unsigned int len)
{
	volatile uint8_t *p = mm.regs + off;
	uint64_t v;

	if (off > mm.span - len)
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

/* QueueReady and the ring addresses belong to mmio_queue_setup() alone (see the top). */
static void m_garbage(uint32_t off, unsigned int len)
{
	if (off > mm.span - len)
		return;
	if (off < M_GUARDED_END && off + len > M_QUEUE_DESC)
		return;
	if (off < M_QUEUE_READY + 4 && off + len > M_QUEUE_READY)
		return;
	m_write(off, len, garbage(len));
}

/* Like queue_setup() on PCI: rings the device must refuse (0, or bit 40 or higher, at least
 * one high; high half written first), then QueueReady, status steps around it, a kick. */
static void mmio_queue_setup(void)
{
	static const uint32_t sizes[] = { 0, 1, 2, 3, 64, 128, 256, 1024, 0x8000, 0xffff, 0x10000 };
	uint32_t q = one_in(8) ? (uint32_t)garbage(4) : below(mm.nr_queues + 2u);
	unsigned int high = below(3);
	bool early = one_in(3);
	uint64_t a;

	st.queue_setups++;
	if (one_in(3)) {
		m_write(M_STATUS, 4, 0);
		m_write(M_STATUS, 4, 3);
		m_write(M_DRV_FEATURES_SEL, 4, 1);
		m_write(M_DRV_FEATURES, 4, one_in(4) ? garbage(4) : 1);
		m_write(M_STATUS, 4, 0x0b);
	}
	m_write(M_QUEUE_SEL, 4, q);
	for (unsigned int i = 0; i < 3; i++) {
		a = ring_addr(i == high || one_in(2));
		m_write(M_QUEUE_DESC + 0x10 * i + 4, 4, a >> 32);
		m_write(M_QUEUE_DESC + 0x10 * i, 4, (uint32_t)a);
	}
	if (!one_in(4))
		m_write(M_QUEUE_NUM, 4, sizes[below(sizeof(sizes) / sizeof(sizes[0]))]);
	if (early)
		m_write(M_STATUS, 4, 0x0f);
	m_write(M_QUEUE_READY, 4, one_in(5) ? garbage(4) : 1);
	if (!early && one_in(2))
		m_write(M_STATUS, 4, 0x0f);
	if (one_in(2))
		m_write(M_QUEUE_NOTIFY, 4, q);
	if (one_in(4))
		m_read(M_QUEUE_READY, 4);
	if (one_in(4))
		m_read(M_STATUS, 4);
}

/* One random operation on the virtio-mmio window. */
static void mmio_op(void)
{
	static const uint32_t statuses[] = { 0, 1, 3, 0x0b, 0x0f, 0x40, 0x80, 0x07, 0x0d, 0xff,
					     0x100, 0xffffffff };
	unsigned int len, n;
	uint32_t q;

	switch (below(16)) {
	case 0:
	case 1:		/* status: reset, the steps, FAILED, NEEDS_RESET, bits past the byte */
		m_write(M_STATUS, 4, one_in(4) ? garbage(4) :
				     statuses[below(sizeof(statuses) / sizeof(statuses[0]))]);
		break;
	case 2:		/* feature selects, also past the two words */
		m_write(one_in(2) ? M_DEV_FEATURES_SEL : M_DRV_FEATURES_SEL, 4,
			one_in(2) ? below(4) : garbage(4));
		break;
	case 3:		/* driver features, the read-only device features and id registers */
		m_write(one_in(3) ? M_DRV_FEATURES : 4 * below(4) + (one_in(2) ? 0 : M_DEV_FEATURES), 4,
			garbage(4));
		break;
	case 4:		/* queue select, often past the end */
		m_write(M_QUEUE_SEL, 4, one_in(2) ? below(mm.nr_queues + 4u) : garbage(4));
		break;
	case 5:		/* queue size: 0, odd, huge */
		m_write(M_QUEUE_NUM, 4, garbage(4));
		break;
	case 6:
	case 7:
		mmio_queue_setup();
		break;
	case 8:
	case 9:		/* a notify storm: queues in range and past it, odd widths */
		n = 8 + below(56);
		for (unsigned int i = 0; i < n; i++) {
			q = below(mm.nr_queues + 4u);
			if (!one_in(4))
				m_write(M_QUEUE_NOTIFY, 4, one_in(8) ? garbage(4) : q);
			else
				m_write(M_QUEUE_NOTIFY + below(4), width(4), q);
			st.notifies++;
		}
		break;
	case 10:	/* interrupt status and acknowledge, the generation, the shm select */
		if (one_in(2))
			m_read(M_INT_STATUS, 4);
		else if (one_in(2))
			m_write(M_INT_ACK, 4, one_in(2) ? 3 : garbage(4));
		else
			m_write(one_in(2) ? M_CONFIG_GENERATION : M_SHM_SEL, 4, garbage(4));
		break;
	case 11:	/* device configuration: writes of any width, also past its end */
		len = width(8);
		m_garbage(pick_off(M_CONFIG, mm.span - M_CONFIG, len), len);
		break;
	case 12:
	case 13:	/* reads anywhere, any width */
		len = width(8);
		m_read(pick_off(0, mm.span - len + 1, len), len);
		break;
	default:	/* garbage anywhere (not on QueueReady and the rings), misaligned too */
		len = width(8);
		m_garbage(pick_off(0, mm.span - len + 1, len), len);
		break;
	}
}

static __attribute__((noinline)) void mmio_op_guarded(void)
{
	if (!mmio_map())
		return;
	if (sigsetjmp(bus_jmp, 1)) {
		st.sigbus++;	/* arm64: a misaligned access to device memory */
		return;
	}
	bus_armed = 1;
	for (unsigned int burst = 1 + below(64); burst; burst--)
		mmio_op();
	bus_armed = 0;
}

/* ADDR[:SIZE] (hex or decimal); opens /dev/mem, maps the window and reads who is there. */
static int open_mmio(const char *spec)
{
	char *end;
	long pg = sysconf(_SC_PAGESIZE);

	mm.base = strtoull(spec, &end, 0);
	mm.size = *end == ':' ? strtoull(end + 1, NULL, 0) : 0x200;
	if (!mm.size || mm.base % (uint64_t)pg) {
		fprintf(stderr, "pci-hostile: mmio window %s: not page aligned\n", spec);
		return -1;
	}
	mm.span = mm.size > (uint64_t)pg ? (uint32_t)pg : (uint32_t)mm.size;
	mm.fd = open("/dev/mem", O_RDWR | O_SYNC);
	if (mm.fd < 0 || !mmio_map()) {
		fprintf(stderr, "pci-hostile: /dev/mem at 0x%llx: %s\n",
			(unsigned long long)mm.base, strerror(errno));
		return -1;
	}
	if (m_read(M_MAGIC, 4) != M_MAGIC_VALUE || m_read(M_VERSION, 4) != 2) {
		fprintf(stderr, "pci-hostile: 0x%llx is no virtio-mmio version 2 window\n",
			(unsigned long long)mm.base);
		return -1;
	}
	mm.device_id = (uint32_t)m_read(M_DEVICE_ID, 4);
	m_write(M_STATUS, 4, 0);
	for (mm.nr_queues = 0; mm.nr_queues < 16; mm.nr_queues++) {
		m_write(M_QUEUE_SEL, 4, mm.nr_queues);
		if (!m_read(M_QUEUE_NUM_MAX, 4))
			break;
	}
	return 0;
}

/* ---- structured virtqueue attacks (both transports) ---- */

/*
 * The device is set up the way a driver would (reset, ACKNOWLEDGE | DRIVER, VERSION_1 only,
 * FEATURES_OK, queue 0 on rings in our own locked pages, DRIVER_OK), with interrupts
 * suppressed (VIRTQ_AVAIL_F_NO_INTERRUPT; on PCI no MSI-X vectors), then one attack is
 * posted and the used ring polled. Every buffer is in our own pages or outside RAM, and the
 * only requests that could write the disk are ones it must refuse (past its end), so a
 * device that behaves can change nothing but our pages. Each step ends with a reset and
 * prints
 *   KVMM-HOSTILE-STEP name=N transport=pci|mmio expect=E used=U len=L blk=0xSS
 *                     dev_status=0xSS ready=R alive=0|1 ok=0|1
 * E is what kvmm must do (queue.h, core.c, blk_req.c): ok (status byte 0), malformed (the
 * chain handed back unused: len 0, the status byte untouched; vm.counters malformed_chains
 * or errors), blkerr (status IOERR or UNSUPP; counters errors), reset (DEVICE_NEEDS_RESET,
 * nothing used: a broken available ring), refused (the queue set-up refused: not ready,
 * NEEDS_RESET), any (only: kvmm still answers).
 */
#define QS		16	/* queue size of the attacks */
#define NPAGES		16
enum { P_DESC, P_AVAIL, P_USED, P_IND, P_HDR, P_DATA };	/* P_DATA.. NPAGES - 1: data */
#define STATUS_OFF	2048	/* status bytes in the P_HDR page */

#define F_NEXT		1
#define F_WRITE		2
#define F_INDIRECT	4
#define S_NEEDS_RESET	0x40

struct vdesc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags, next;
};

struct vavail {
	uint16_t flags, idx, ring[];
};

struct vused {
	uint16_t flags, idx;
	struct { uint32_t id, len; } ring[];
};

struct blkhdr {
	uint32_t type, reserved;
	uint64_t sector;
};

enum expect { XP_OK, XP_MALFORMED, XP_BLKERR, XP_RESET, XP_REFUSED, XP_ANY };
static const char *const expect_names[] = { "ok", "malformed", "blkerr", "reset", "refused",
					    "any" };

static struct {
	bool mmio;
	struct target *t;		/* PCI */
	uint8_t *pg[NPAGES];
	uint64_t pa[NPAGES];
	uint64_t window;		/* the victim's own BAR0 or register window */
	uint64_t capacity;		/* sectors, from the device configuration */
	unsigned int steps, ok;
	char failed[512];
} sq;

static volatile struct vdesc *DT(void) { return (volatile struct vdesc *)sq.pg[P_DESC]; }
static volatile struct vdesc *IT(unsigned int off) { return (volatile struct vdesc *)(sq.pg[P_IND] + off); }
static volatile struct vavail *AV(void) { return (volatile struct vavail *)sq.pg[P_AVAIL]; }
static volatile struct vused *US(void) { return (volatile struct vused *)sq.pg[P_USED]; }
static uint64_t hdr_pa(unsigned int k) { return sq.pa[P_HDR] + 16 * k; }
static uint64_t st_pa(unsigned int k) { return sq.pa[P_HDR] + STATUS_OFF + k; }
static volatile uint8_t *st_va(unsigned int k) { return sq.pg[P_HDR] + STATUS_OFF + k; }

static void fence(void)
{
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

/* Register access on either transport. */
static void v_status(uint8_t s)
{
	if (sq.mmio)
		m_write(M_STATUS, 4, s);
	else
		bar_write(sq.t, COMMON_OFF + C_STATUS, 1, s);
}

static uint8_t v_get_status(void)
{
	return sq.mmio ? (uint8_t)m_read(M_STATUS, 4) : (uint8_t)bar_read(sq.t, COMMON_OFF + C_STATUS, 1);
}

static void v_drv_features(uint32_t sel, uint32_t f)
{
	if (sq.mmio) {
		m_write(M_DRV_FEATURES_SEL, 4, sel);
		m_write(M_DRV_FEATURES, 4, f);
	} else {
		bar_write(sq.t, COMMON_OFF + C_GFSELECT, 4, sel);
		bar_write(sq.t, COMMON_OFF + C_GF, 4, f);
	}
}

static void v_qsel(uint16_t q)
{
	if (sq.mmio)
		m_write(M_QUEUE_SEL, 4, q);
	else
		bar_write(sq.t, COMMON_OFF + C_Q_SELECT, 2, q);
}

static void v_qsize(uint16_t n)
{
	if (sq.mmio)
		m_write(M_QUEUE_NUM, 4, n);
	else
		bar_write(sq.t, COMMON_OFF + C_Q_SIZE, 2, n);
}

/* FIELD 0 desc, 1 avail (driver), 2 used (device). */
static void v_qaddr(unsigned int field, uint64_t a)
{
	if (sq.mmio) {
		m_write(M_QUEUE_DESC + 0x10 * field + 4, 4, a >> 32);
		m_write(M_QUEUE_DESC + 0x10 * field, 4, (uint32_t)a);
	} else {
		bar_write(sq.t, COMMON_OFF + C_Q_DESC + 8 * field + 4, 4, a >> 32);
		bar_write(sq.t, COMMON_OFF + C_Q_DESC + 8 * field, 4, (uint32_t)a);
	}
}

static void v_qenable(void)
{
	if (sq.mmio)
		m_write(M_QUEUE_READY, 4, 1);
	else
		bar_write(sq.t, COMMON_OFF + C_Q_ENABLE, 2, 1);
}

static uint32_t v_qready(void)
{
	v_qsel(0);
	return sq.mmio ? (uint32_t)m_read(M_QUEUE_READY, 4) :
			 (uint32_t)bar_read(sq.t, COMMON_OFF + C_Q_ENABLE, 2);
}

static void v_notify(uint16_t q)
{
	if (sq.mmio)
		m_write(M_QUEUE_NOTIFY, 4, q);
	else
		bar_write(sq.t, NOTIFY_OFF + NOTIFY_MULT * q, 2, q);
	st.notifies++;
}

/* Acknowledges whatever interrupt the device raised (nobody handles it). */
static void v_ack(void)
{
	if (sq.mmio)
		m_write(M_INT_ACK, 4, m_read(M_INT_STATUS, 4));
	else
		bar_read(sq.t, ISR_OFF, 1);
}

/* The device still decodes and answers as itself. */
static bool v_alive(void)
{
	if (sq.mmio)
		return m_read(M_MAGIC, 4) == M_MAGIC_VALUE;
	return bar_read(sq.t, COMMON_OFF + C_NUM_QUEUES, 2) == sq.t->nr_queues;
}

static uint32_t v_config32(uint32_t off)
{
	if (sq.mmio)
		return (uint32_t)m_read(M_CONFIG + off, 4);
	return (uint32_t)bar_read(sq.t, DEVICE_OFF + off, 4);
}

/* NPAGES locked pages and their physical addresses (/proc/self/pagemap, as root). */
static int dma_init(void)
{
	long pg = sysconf(_SC_PAGESIZE);
	uint8_t *p;
	uint64_t e;
	int fd;

	p = mmap(NULL, (size_t)pg * NPAGES, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (p == MAP_FAILED || mlock(p, (size_t)pg * NPAGES)) {
		fprintf(stderr, "pci-hostile: locked pages: %s\n", strerror(errno));
		return -1;
	}
	memset(p, 0, (size_t)pg * NPAGES);
	fd = open("/proc/self/pagemap", O_RDONLY);
	if (fd < 0)
		return -1;
	for (unsigned int i = 0; i < NPAGES; i++) {
		sq.pg[i] = p + (size_t)pg * i;
		if (pread(fd, &e, sizeof(e), (off_t)((uintptr_t)sq.pg[i] / (uintptr_t)pg * 8)) != 8 ||
		    !(e >> 63) || !(e & ((1ULL << 55) - 1))) {
			fprintf(stderr, "pci-hostile: pagemap: no physical address (root?)\n");
			close(fd);
			return -1;
		}
		sq.pa[i] = (e & ((1ULL << 55) - 1)) * (uint64_t)pg;
	}
	close(fd);
	return 0;
}

static void rings_clear(void)
{
	for (unsigned int i = P_DESC; i <= P_HDR; i++)
		memset(sq.pg[i], 0, 4096);
	memset(sq.pg[P_HDR] + STATUS_OFF, 0xee, 256);
	AV()->flags = 1;		/* VIRTQ_AVAIL_F_NO_INTERRUPT */
}

/* The driver's start, queue 0 of QSIZE on the rings at D, A, U, DRIVER_OK. */
static void setup(uint16_t qsize, uint64_t d, uint64_t a, uint64_t u)
{
	v_status(0);
	v_status(1);
	v_status(3);
	v_drv_features(0, 0);
	v_drv_features(1, 1);		/* VIRTIO_F_VERSION_1, nothing else */
	v_status(0x0b);
	if (!sq.mmio)
		bar_write(sq.t, COMMON_OFF + C_MSIX_CONFIG, 2, 0xffff);
	v_qsel(0);
	v_qsize(qsize);
	if (!sq.mmio)
		bar_write(sq.t, COMMON_OFF + C_Q_MSIX, 2, 0xffff);
	v_qaddr(0, d);
	v_qaddr(1, a);
	v_qaddr(2, u);
	v_qenable();
	v_status(0x0f);
}

static void setup_own(void)
{
	setup(QS, sq.pa[P_DESC], sq.pa[P_AVAIL], sq.pa[P_USED]);
}

/* Publishes HEADS[0..N) from slot 0 with avail->idx = IDX, and kicks. */
static void post_idx(const uint16_t *heads, unsigned int n, uint16_t idx)
{
	for (unsigned int i = 0; i < n; i++)
		AV()->ring[i % QS] = heads[i];
	fence();
	AV()->idx = idx;
	fence();
	v_notify(0);
}

static void post(const uint16_t *heads, unsigned int n)
{
	post_idx(heads, n, (uint16_t)n);
}

static void post1(uint16_t head)
{
	post(&head, 1);
}

static void set_desc(volatile struct vdesc *t, unsigned int i, uint64_t addr, uint32_t len,
		     uint16_t flags, uint16_t next)
{
	t[i].addr = addr;
	t[i].len = len;
	t[i].flags = flags;
	t[i].next = next;
}

static void set_hdr(unsigned int k, uint32_t type, uint64_t sector)
{
	volatile struct blkhdr *h = (volatile struct blkhdr *)(sq.pg[P_HDR] + 16 * k);

	h->type = type;
	h->reserved = 0;
	h->sector = sector;
}

/* A request in table T at I..I+2: header K (TYPE, SECTOR), data (DATA, LEN; the device writes
 * it for a read), status byte K. */
static void req(volatile struct vdesc *t, unsigned int i, unsigned int k, uint32_t type,
		uint64_t sector, uint64_t data, uint32_t len)
{
	set_hdr(k, type, sector);
	set_desc(t, i, hdr_pa(k), 16, F_NEXT, (uint16_t)(i + 1));
	set_desc(t, i + 1, data, len, (uint16_t)(F_NEXT | (type == 0 ? F_WRITE : 0)),
		 (uint16_t)(i + 2));
	set_desc(t, i + 2, st_pa(k), 1, F_WRITE, 0);
}

static void read_req(unsigned int i, unsigned int k, uint64_t data, uint32_t len)
{
	req(DT(), i, k, 0, 0, data, len);
}

static void step_begin(void)
{
	rings_clear();
	setup_own();
}

/* Polls for the outcome, prints the step's line, resets the device. N: chains posted. */
static void step_end(const char *name, enum expect x, unsigned int n)
{
	double t0 = now(), limit = x == XP_ANY ? 0.5 : 3;
	unsigned int used, ready;
	uint8_t status = 0, blk;
	bool ok, alive;

	for (;;) {
		used = US()->idx;
		if (x != XP_ANY && x != XP_RESET && x != XP_REFUSED && used >= n)
			break;
		if ((x == XP_RESET || x == XP_REFUSED) && ((status = v_get_status()) & S_NEEDS_RESET))
			break;
		if (now() - t0 > limit)
			break;
		usleep(2000);
	}
	usleep(20000);			/* anything more the device would do */
	fence();
	used = US()->idx;
	status = v_get_status();
	ready = v_qready();
	alive = v_alive();
	blk = *st_va(0);
	switch (x) {
	case XP_OK:
		ok = used == n && !(status & S_NEEDS_RESET);
		for (unsigned int k = 0; k < n; k++)
			ok = ok && *st_va(k) == 0;
		break;
	case XP_MALFORMED:
		ok = used == n && US()->ring[0].len == 0 && blk == 0xee &&
		     !(status & S_NEEDS_RESET);
		break;
	case XP_BLKERR:
		ok = used == n && (blk == 1 || blk == 2) && !(status & S_NEEDS_RESET);
		break;
	case XP_RESET:
		ok = used == 0 && (status & S_NEEDS_RESET);
		break;
	case XP_REFUSED:
		ok = !ready && (status & S_NEEDS_RESET) && used == 0;
		break;
	default:
		ok = true;
		break;
	}
	ok = ok && alive;
	printf("KVMM-HOSTILE-STEP name=%s transport=%s expect=%s used=%u len=%u blk=0x%02x "
	       "dev_status=0x%02x ready=%u alive=%d ok=%d\n", name, sq.mmio ? "mmio" : "pci",
	       expect_names[x], used, (unsigned int)US()->ring[0].len, blk, status, ready, alive,
	       ok);
	fflush(stdout);
	sq.steps++;
	if (ok)
		sq.ok++;
	else if (strlen(sq.failed) + strlen(name) + 2 < sizeof(sq.failed))
		snprintf(sq.failed + strlen(sq.failed), sizeof(sq.failed) - strlen(sq.failed),
			 "%s%s", sq.failed[0] ? "," : "", name);
	v_status(0);
	v_ack();
}

/* A chain of N readable header descriptors in T from I on (the last without NEXT). */
static void hdr_chain(volatile struct vdesc *t, unsigned int i, unsigned int n)
{
	for (unsigned int k = 0; k < n; k++)
		set_desc(t, i + k, hdr_pa(0), 16, k + 1 < n ? F_NEXT : 0, (uint16_t)(i + k + 1));
}

static void queue_attacks(void)
{
	const uint64_t far = 1ULL << 40, data = sq.pa[P_DATA];
	uint16_t heads[QS];

	/* Control: a proper read works (after the random phase, too). */
	step_begin();
	read_req(0, 0, data, 4096);
	post1(0);
	step_end("valid-read", XP_OK, 1);

	step_begin();
	for (unsigned int k = 0; k < 5; k++) {
		read_req(3 * k, k, sq.pa[P_DATA + k], 512 << (k % 4));
		heads[k] = (uint16_t)(3 * k);
	}
	post(heads, 5);
	step_end("valid-read-batch", XP_OK, 5);

	/* Descriptor cycles and chains longer than the queue. */
	step_begin();
	set_desc(DT(), 0, hdr_pa(0), 16, F_NEXT, 1);
	set_desc(DT(), 1, hdr_pa(1), 16, F_NEXT, 0);
	post1(0);
	step_end("desc-cycle", XP_MALFORMED, 1);

	step_begin();
	set_desc(DT(), 5, st_pa(0), 1, F_WRITE | F_NEXT, 5);
	post1(5);
	step_end("desc-self-loop", XP_MALFORMED, 1);

	step_begin();
	set_desc(DT(), 0, hdr_pa(0), 16, F_NEXT, 0xffff);
	post1(0);
	step_end("desc-next-out-of-range", XP_MALFORMED, 1);

	step_begin();
	hdr_chain(DT(), 0, QS);
	set_desc(DT(), QS - 1, sq.pa[P_IND], 16 * QS, F_INDIRECT, 0);
	hdr_chain(IT(0), 0, QS);
	post1(0);
	step_end("chain-longer-than-queue", XP_MALFORMED, 1);

	/* Indirect tables. */
	step_begin();
	hdr_chain(IT(0), 0, 2 * QS);
	set_desc(DT(), 0, sq.pa[P_IND], 16 * 2 * QS, F_INDIRECT, 0);
	post1(0);
	step_end("indirect-longer-than-queue", XP_MALFORMED, 1);

	step_begin();
	set_desc(IT(0), 0, hdr_pa(0), 16, F_NEXT, 1);
	set_desc(IT(0), 1, hdr_pa(1), 16, F_NEXT, 0);
	set_desc(DT(), 0, sq.pa[P_IND], 16 * 2, F_INDIRECT, 0);
	post1(0);
	step_end("indirect-cycle", XP_MALFORMED, 1);

	step_begin();
	set_desc(IT(0), 0, hdr_pa(0), 16, F_NEXT, 1);
	set_desc(IT(0), 1, sq.pa[P_IND] + 2048, 48, F_INDIRECT, 0);
	req(IT(2048), 0, 0, 0, 0, data, 512);
	set_desc(DT(), 0, sq.pa[P_IND], 16 * 2, F_INDIRECT, 0);
	post1(0);
	step_end("indirect-nested", XP_MALFORMED, 1);

	step_begin();
	req(IT(0), 0, 0, 0, 0, data, 512);
	set_desc(DT(), 0, sq.pa[P_IND], 0xfffffff0u, F_INDIRECT, 0);
	post1(0);
	step_end("indirect-huge-len", XP_MALFORMED, 1);

	step_begin();
	req(IT(0), 0, 0, 0, 0, data, 512);
	set_desc(DT(), 0, sq.pa[P_IND], 40, F_INDIRECT, 0);
	post1(0);
	step_end("indirect-len-not-16n", XP_MALFORMED, 1);

	step_begin();
	req(IT(0), 0, 0, 0, 0, data, 512);
	set_desc(DT(), 0, sq.pa[P_IND], 48, F_INDIRECT | F_NEXT, 1);
	set_desc(DT(), 1, st_pa(0), 1, F_WRITE, 0);
	post1(0);
	step_end("indirect-with-next", XP_MALFORMED, 1);

	step_begin();
	set_desc(DT(), 0, far, 48, F_INDIRECT, 0);
	post1(0);
	step_end("indirect-table-outside-ram", XP_MALFORMED, 1);

	step_begin();
	req(IT(0), 0, 0, 0, 0, data, 0xffffffffu);
	set_desc(DT(), 0, sq.pa[P_IND], 48, F_INDIRECT, 0);
	post1(0);
	step_end("indirect-buf-len-ffffffff", XP_MALFORMED, 1);

	/* Buffers outside RAM, huge, wrapping, in the wrong order. */
	step_begin();
	read_req(0, 0, far, 4096);
	post1(0);
	step_end("buf-outside-ram", XP_MALFORMED, 1);

	step_begin();
	read_req(0, 0, sq.window, 512);
	post1(0);
	step_end("buf-on-own-registers", XP_MALFORMED, 1);

	step_begin();
	read_req(0, 0, data, 0xffffffffu);
	post1(0);
	step_end("buf-len-ffffffff", XP_MALFORMED, 1);

	step_begin();
	read_req(0, 0, 0xfffffffffffff000ULL, 0x2000);
	post1(0);
	step_end("buf-wraps", XP_MALFORMED, 1);

	step_begin();
	read_req(0, 0, data, 512);
	set_desc(DT(), 2, st_pa(0), 1, F_WRITE | F_NEXT, 3);
	set_desc(DT(), 3, hdr_pa(1), 16, 0, 0);
	post1(0);
	step_end("readable-after-writable", XP_MALFORMED, 1);

	/* Chains that are well formed but no request. */
	step_begin();
	set_desc(DT(), 0, hdr_pa(0), 16, 0, 0);
	post1(0);
	step_end("no-status-byte", XP_MALFORMED, 1);

	step_begin();
	read_req(0, 0, data, 512);
	DT()[0].len = 8;
	post1(0);
	step_end("short-header", XP_BLKERR, 1);

	step_begin();
	req(DT(), 0, 0, 0, far, data, 512);
	post1(0);
	step_end("read-past-end", XP_BLKERR, 1);

	step_begin();
	req(DT(), 0, 0, 0, ~0ULL, data, 1024);
	post1(0);
	step_end("read-sector-wraps", XP_BLKERR, 1);

	step_begin();
	req(DT(), 0, 0, 1, sq.capacity ? sq.capacity - 1 : far, data, 1024);
	post1(0);
	step_end("write-straddles-end", XP_BLKERR, 1);

	step_begin();
	req(DT(), 0, 0, 1, far, data, 512);
	post1(0);
	step_end("write-past-end", XP_BLKERR, 1);

	step_begin();
	req(DT(), 0, 0, 0, 0, data, 100);
	post1(0);
	step_end("read-len-not-sectors", XP_BLKERR, 1);

	step_begin();
	req(DT(), 0, 0, 0x7fffffffu, 0, data, 512);
	post1(0);
	step_end("unknown-type", XP_BLKERR, 1);

	/* A broken available ring. */
	step_begin();
	read_req(0, 0, data, 512);
	heads[0] = 0;
	post_idx(heads, 1, QS + 1000);
	step_end("avail-idx-jump", XP_RESET, 0);

	step_begin();
	read_req(0, 0, data, 512);
	post1(0xffff);
	step_end("avail-head-out-of-range", XP_RESET, 0);

	/* Buffers over the rings themselves (RAM: the device may write there; survive). */
	step_begin();
	read_req(0, 0, sq.pa[P_DESC], 4096);
	post1(0);
	step_end("buf-over-desc-table", XP_ANY, 1);

	step_begin();
	read_req(0, 0, sq.pa[P_AVAIL], 4096);
	post1(0);
	step_end("buf-over-avail-ring", XP_ANY, 1);

	step_begin();
	read_req(0, 0, sq.pa[P_USED], 4096);
	post1(0);
	step_end("buf-over-used-ring", XP_ANY, 1);

	rings_clear();
	setup(QS, sq.pa[P_DESC], sq.pa[P_AVAIL], sq.pa[P_AVAIL]);
	read_req(0, 0, data, 512);
	post1(0);
	step_end("used-ring-over-avail-ring", XP_ANY, 1);

	/* Ring addresses the device must refuse. */
	rings_clear();
	setup(QS, far, sq.pa[P_AVAIL], sq.pa[P_USED]);
	step_end("ring-desc-outside-ram", XP_REFUSED, 0);

	rings_clear();
	setup(QS, sq.pa[P_DESC], far + 0x1000, sq.pa[P_USED]);
	step_end("ring-avail-outside-ram", XP_REFUSED, 0);

	rings_clear();
	setup(QS, sq.pa[P_DESC], sq.pa[P_AVAIL], sq.window);
	step_end("ring-used-on-own-registers", XP_REFUSED, 0);

	rings_clear();
	setup(QS, sq.pa[P_DESC], sq.pa[P_AVAIL], 0xfffffffffffffff0ULL);
	step_end("ring-used-wraps", XP_REFUSED, 0);

	rings_clear();
	setup(QS, sq.pa[P_DESC] + 8, sq.pa[P_AVAIL], sq.pa[P_USED]);
	step_end("ring-desc-misaligned", XP_REFUSED, 0);

	rings_clear();
	setup(3, sq.pa[P_DESC], sq.pa[P_AVAIL], sq.pa[P_USED]);
	step_end("ring-size-3", XP_REFUSED, 0);

	rings_clear();
	setup(0x8000, sq.pa[P_DESC], sq.pa[P_AVAIL], sq.pa[P_USED]);
	step_end("ring-size-32768", XP_REFUSED, 0);

	/* A notify storm over a full ring of cycles, and kicks of queues that do not exist. */
	step_begin();
	for (unsigned int i = 0; i < QS; i++) {
		set_desc(DT(), i, st_pa(0), 1, F_WRITE | F_NEXT, (uint16_t)i);
		heads[i] = (uint16_t)i;
	}
	post(heads, QS);
	for (unsigned int i = 0; i < 4000; i++)
		v_notify(one_in(4) ? (uint16_t)below(64) : 0);
	step_end("notify-storm-cycles", XP_MALFORMED, QS);

	/* Resets and DRIVER_OK again while requests are in flight. */
	step_begin();
	for (unsigned int r = 0; r < 50; r++) {
		for (unsigned int k = 0; k < 5; k++) {
			read_req(3 * k, k, sq.pa[P_DATA + k], 4096);
			heads[k] = (uint16_t)(3 * k);
		}
		post(heads, 5);
		if (one_in(2))
			v_status(0);
		else
			v_status(0xff);
		rings_clear();
		setup_own();
	}
	step_end("status-toggle-in-flight", XP_ANY, 0);

	/* And still a working device. */
	step_begin();
	read_req(0, 0, data, 4096);
	post1(0);
	step_end("valid-read-after", XP_OK, 1);
}

/* The structured steps under the SIGBUS guard. */
static __attribute__((noinline)) void queue_attacks_guarded(void)
{
	if (sigsetjmp(bus_jmp, 1)) {
		st.sigbus++;
		printf("KVMM-HOSTILE-STEP name=sigbus ok=0\n");
		snprintf(sq.failed + strlen(sq.failed), sizeof(sq.failed) - strlen(sq.failed),
			 "%ssigbus", sq.failed[0] ? "," : "");
		sq.steps++;
		return;
	}
	bus_armed = 1;
	sq.capacity = v_config32(0) | (uint64_t)v_config32(4) << 32;
	queue_attacks();
	v_status(0);
	bus_armed = 0;
}

int main(int argc, char **argv)
{
	static struct target t, cfg_only[MAX_CFG_ONLY];
	unsigned long long seed = 1, max_ops = 100000;
	unsigned int nr_cfg_only = 0, burst;
	double secs = 10, t0, el;
	struct sigaction sa;
	bool alive, structured = true, intx = false;
	int c;

	while ((c = getopt(argc, argv, "s:n:t:QI")) != -1) {
		switch (c) {
		case 's': seed = strtoull(optarg, NULL, 0); break;
		case 'n': max_ops = strtoull(optarg, NULL, 0); break;
		case 't': secs = strtod(optarg, NULL); break;
		case 'Q': structured = false; break;
		case 'I': intx = true; break;
		default: goto usage;
		}
	}
	if (optind >= argc || argc - optind - 1 > MAX_CFG_ONLY)
		goto usage;
	rng_state = seed;
	sq.mmio = !strncmp(argv[optind], "mmio:", 5);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sigbus;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGBUS, &sa, NULL);
	setvbuf(stdout, NULL, _IOLBF, 0);

	if (structured && dma_init())
		return 1;

	if (sq.mmio) {
		if (open_mmio(argv[optind] + 5))
			return 1;
		sq.window = mm.base;
		printf("pci-hostile: seed=%llu target=mmio@0x%llx size=0x%llx device_id=%u "
		       "queues=%u max_ops=%llu secs=%g\n", seed, (unsigned long long)mm.base,
		       (unsigned long long)mm.size, mm.device_id, mm.nr_queues, max_ops, secs);
		t0 = now();
		while (st.ops < max_ops && now() - t0 < secs)
			mmio_op_guarded();
		el = now() - t0;
		if (structured)
			queue_attacks_guarded();
		m_write(M_STATUS, 4, 0);
		alive = m_read(M_MAGIC, 4) == M_MAGIC_VALUE && !m_read(M_STATUS, 4);
		goto done;
	}

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

	/* Leave the function as found (MSI-X off again: the structured steps want no
	 * interrupts), then the structured steps on the BAR where it was; reset. The BAR
	 * must answer where it was. */
	restore_bar(&t);
	if (t.msix_cap)
		cfg_write(&t, t.msix_cap + 2u, 2, t.msix_ctrl);
	for (unsigned int i = 0; i < nr_cfg_only; i++)
		cfg_write(&cfg_only[i], PCI_COMMAND, 2, cfg_only[i].command);
	if (structured && (t.bar || bar_map(&t))) {
		sq.t = &t;
		sq.window = (uint64_t)t.bar_hi << 32 | (t.bar_lo & ~0xfu);
		/* MSI-X on with everything masked and no vectors assigned: the device then
		 * raises no interrupt at all. With -I, MSI-X stays off and the device
		 * interrupts through INTx (a DEVICE_NEEDS_RESET from its worker, say). */
		if (t.msix_cap && !intx)
			cfg_write(&t, t.msix_cap + 2u, 2, (t.msix_ctrl & 0x7ffu) | MSIX_CTRL_ENABLE |
							  MSIX_CTRL_FMASK);
		printf("pci-hostile: structured steps with %s\n",
		       t.msix_cap && !intx ? "MSI-X on, masked, no vectors" : "INTx (MSI-X off)");
		queue_attacks_guarded();
		if (t.msix_cap)
			cfg_write(&t, t.msix_cap + 2u, 2, t.msix_ctrl);
	}
	alive = reset_and_probe(&t);
	cfg_write(&t, PCI_COMMAND, 2, t.command);
done:
	printf("pci-hostile: done ops=%llu secs=%.1f cfg_writes=%llu cfg_reads=%llu "
	       "cfg_errors=%llu bar_writes=%llu bar_reads=%llu bar_moves=%llu queue_setups=%llu "
	       "notifies=%llu msix_writes=%llu sigbus=%llu remaps=%llu bar_alive=%d "
	       "steps=%u steps_ok=%u steps_failed=%s transport=%s\n",
	       (unsigned long long)st.ops, el, (unsigned long long)st.cfg_writes,
	       (unsigned long long)st.cfg_reads, (unsigned long long)st.cfg_errors,
	       (unsigned long long)st.bar_writes, (unsigned long long)st.bar_reads,
	       (unsigned long long)st.bar_moves, (unsigned long long)st.queue_setups,
	       (unsigned long long)st.notifies, (unsigned long long)st.msix_writes,
	       (unsigned long long)st.sigbus, (unsigned long long)st.remaps,
	       alive, sq.steps, sq.ok, sq.failed[0] ? sq.failed : "none",
	       sq.mmio ? "mmio" : "pci");
	return 0;
usage:
	fprintf(stderr, "usage: pci-hostile [-s SEED] [-n MAX_OPS] [-t SECONDS] [-Q] [-I] "
		"BDF [CFG_BDF...]\n"
		"       pci-hostile [-s SEED] [-n MAX_OPS] [-t SECONDS] [-Q] mmio:ADDR[:SIZE]\n");
	return 2;
}
