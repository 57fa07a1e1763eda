/*
 * libFuzzer target for the virtio-pci transport (virtio/pci.c) as a hostile guest driver
 * drives it: a real virtio-blk device (over a memfd image) on a transport built with
 * virtio_pci_test_new() (no KVM: notifications run the device inline, MSI-X vectors are
 * plain eventfds), plugged into slot 1 of a PCI segment so BAR moves are decoded, over 64 KiB
 * of guest RAM at gpa 0. Everything is built and torn down per input.
 *
 * The input is a sequence of operations; the first byte B of each says what:
 *	B & 7		kind, below;
 *	(B >> 3) & 3	access width, 1 << that (configuration space: 1, 2, 4, 4);
 *	B & 0x20	write (else read);
 *	B & 0xc0	per-kind flags.
 *   0  configuration space, pci_cfg_read/pci_cfg_write: le16 offset % 4096, then the value
 *	(width bytes) for a write. Flag 0x40: the offset is capability-relative instead, as a
 *	driver finds its structures: byte 1 low 5 bits a capability ID, high 3 bits which
 *	instance of it in the chain, byte 2 the offset from its start (raw byte 2 if absent).
 *   1  BAR0 through virtio_pci_bar_access(): le16 offset % 0x9000, value for a write.
 *   2  a common configuration field at its natural width: byte 1 % 20 picks it (the
 *	width bits are ignored), value for a write.
 *   3  guest RAM write: le16 gpa, byte n, then n % 64 + 1 bytes (clipped to RAM).
 *   4  queue notify: byte q, a write of the width (value q % 4) to notify + 4 * (q % 4).
 *   5  an access through the segment's BAR windows (flag 0x40: the 64-bit one): le24
 *	offset % window size, value for a write.
 *   6  an ECAM access to the segment: le24 offset % 1 MiB, value for a write.
 *   7  misc by (B >> 3) % 4: 0 drain the MSI-X eventfds, 1 read the ISR, 2 unplug /
 *	re-plug the function (the segment assigns its BAR anew), 3 the same as 0.
 * Values are little-endian, their bytes taken from the input.
 *
 * Checked after every operation (abort on violation): configuration bits the guest may
 * not write (the wmask) keep their values, in particular vendor 0x1af4, the device id and
 * the capability pointer, and wmask/w1c themselves stay; MSI-X pending bits only for
 * vectors < nr, the PBA as read through the BAR agrees, Message Control in configuration
 * space and the msix state agree, reserved vector-control bits stay zero, and no vector
 * fires while MSI-X was disabled before and after; every eventfd count drained matches
 * the messages msix says it sent; the device status never has DRIVER_OK with FEATURES_OK
 * clear unless NEEDS_RESET is set, reads back through the BAR as kept, and acked features
 * are a subset of those offered; a ready queue always passes vq_validate(); the vectors the
 * driver reads back exist or are NO_VECTOR. Under ASan, any access outside guest RAM or
 * the harness's buffers is caught, and PROT_NONE guard pages around the RAM mapping (where
 * its neighbours are free) catch a stray access just past either end of it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz_util.h"
#include "devices.h"
#include "guest_mem.h"
#include "irq.h"
#include "log.h"
#include "msix.h"
#include "pci.h"
#include "transport.h"
#include "virtio.h"
#include "virtio_pci.h"

#define KiB		(1ULL << 10)
#define MiB		(1ULL << 20)
#define RAM_SIZE	(64 * KiB)
#define DISK_BYTES	(64 * KiB)
#define BAR_SPAN	0x9000		/* BAR0 is 0x8000: a little past it too */
#define CFG_SPAN	4096		/* ECAM's function space; only 256 bytes are backed */
#define MAX_OPS		4096

static const struct pci_windows win = {
	.ecam_base = 0xe0000000ULL, .ecam_size = MiB,
	.mem32_base = 0xc0000000ULL, .mem32_size = 256 * KiB,
	.mem64_base = 1ULL << 34, .mem64_size = 256 * KiB,
};

/* The common configuration fields with their widths (kind 2). */
static const struct { uint8_t off, len; } common_fields[20] = {
	{ VPCI_DFSELECT, 4 }, { VPCI_DF, 4 }, { VPCI_GFSELECT, 4 }, { VPCI_GF, 4 },
	{ VPCI_MSIX_CONFIG, 2 }, { VPCI_NUM_QUEUES, 2 }, { VPCI_STATUS, 1 },
	{ VPCI_CFG_GENERATION, 1 }, { VPCI_Q_SELECT, 2 }, { VPCI_Q_SIZE, 2 },
	{ VPCI_Q_MSIX, 2 }, { VPCI_Q_ENABLE, 2 }, { VPCI_Q_NOFF, 2 }, { VPCI_Q_DESCLO, 8 },
	{ VPCI_Q_DESCHI, 4 }, { VPCI_Q_AVAILLO, 8 }, { VPCI_Q_AVAILHI, 4 },
	{ VPCI_Q_USEDLO, 8 }, { VPCI_Q_USEDHI, 4 }, { VPCI_Q_DESCLO, 4 },
};

static const struct kvm_irq_routing_entry no_chip[1];
static int disk_fd = -1;
static char disk_path[64];

/* One input's machine. */
static struct pci_host h;
static struct guest_mem gm;
static void *guard_lo, *guard_hi;
static struct irq_routes *routes;
static struct virtio_dev *dev;
static struct virtio_transport *t;
static struct pci_func *f;
static void *bar;
static struct msix *mx;
static uint8_t cfg0[PCI_CFG_SIZE], wmask0[PCI_CFG_SIZE], w1c0[PCI_CFG_SIZE];
static uint32_t id0;
static uint64_t fired_drained;		/* mx->fired when the eventfds were last drained */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_threshold = LOG_QUIET;	/* refused set-ups and malformed chains are expected */
	disk_fd = memfd_create("fuzz-vpci-disk", MFD_CLOEXEC);
	if (disk_fd < 0)
		return -1;
	snprintf(disk_path, sizeof(disk_path), "/proc/self/fd/%d", disk_fd);
	return 0;
}

/* PROT_NONE pages right around the RAM mapping, where free, so a stray access past either
 * end faults instead of landing in some other mapping. */
static void *guard(uint8_t *at)
{
	void *g = mmap(at, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE,
		       -1, 0);

	if (g == MAP_FAILED)
		return NULL;
	if (g != at) {		/* an old kernel treating the flag as a hint */
		munmap(g, 4096);
		return NULL;
	}
	return g;
}

static void cfg_rd(uint32_t off, uint8_t *data, uint32_t len)
{
	pthread_mutex_lock(&h.seg[0].lock);
	pci_cfg_read(f, off, data, len);
	pthread_mutex_unlock(&h.seg[0].lock);
}

static void cfg_wr(uint32_t off, const uint8_t *data, uint32_t len)
{
	pthread_mutex_lock(&h.seg[0].lock);
	pci_cfg_write(&h.seg[0], f, off, data, len);
	pthread_mutex_unlock(&h.seg[0].lock);
}

static uint64_t bar_rd(uint64_t off, uint32_t len)
{
	uint64_t v = 0;

	virtio_pci_bar_access(bar, off, (uint8_t *)&v, len, false);
	return v;
}

static int setup(void)
{
	struct gm_region l[] = { { .gpa = 0, .size = RAM_SIZE } };
	struct disk_config dc = { .path = disk_path, .id = "fuzz0", .serial = "fuzz-vpci" };

	if (gm_create(&gm, l, 1))
		return -1;
	guard_lo = guard(gm.base - 4096);
	guard_hi = guard(gm.base + gm.total);
	/* A fresh image for every input, so runs are reproducible. */
	check(!ftruncate(disk_fd, 0) && !ftruncate(disk_fd, DISK_BYTES));
	check(!pci_host_init(&h, 1, &win));
	/* No irqchip routes; a non-NULL table all the same: irq_routes_new() memcpy()s from it
	 * even when empty, and memcpy from NULL is undefined (UBSan says so). */
	routes = irq_routes_new(-1, no_chip, 0);
	check(routes != NULL);
	check(!virtio_blk_new(&dc, 0, &dev));
	t = virtio_pci_test_new(dev, &gm, routes, &f);
	check(t != NULL);
	bar = f->bar_opaque[VPCI_BAR];
	mx = virtio_pci_test_msix(t);
	check(bar != NULL && mx != NULL && mx->nr == dev->nr_queues + 1);
	/* Into the segment: BAR0 gets an address and decodes; moves reach vpci_bar_moved. */
	check(!pci_add(&h, f, 0, 1));
	check(f->bar_decoded[VPCI_BAR] != PCI_BAR_UNDECODED);
	memcpy(cfg0, f->cfg, sizeof(cfg0));
	memcpy(wmask0, f->wmask, sizeof(wmask0));
	memcpy(w1c0, f->w1c, sizeof(w1c0));
	id0 = VIRTIO_PCI_VENDOR | (uint32_t)(VIRTIO_PCI_DEVICE_BASE + VIRTIO_ID_BLOCK) << 16;
	check(pci_cfg_get(f, PCI_VENDOR_ID, 4) == id0);
	check(f->cfg[PCI_CAPABILITY_LIST] != 0);
	fired_drained = 0;
	return 0;
}

static void teardown(void)
{
	pci_remove(&h, f);
	virtio_pci_test_free(t);
	dev->ops->destroy(dev);		/* the transport leaves the device to its owner */
	irq_routes_free(routes);
	pci_host_fini(&h);
	if (guard_lo)
		munmap(guard_lo, 4096);
	if (guard_hi)
		munmap(guard_hi, 4096);
	gm_destroy(&gm);
	dev = NULL;
	t = NULL;
	f = NULL;
}

/* Reads every vector's eventfd (non-blocking); what they held must be what msix sent. */
static void drain(void)
{
	uint64_t total = 0, n;

	for (unsigned int v = 0; v < MSIX_MAX_VECTORS; v++) {
		if (v >= mx->nr) {
			check(mx->fd[v] == -1);
			continue;
		}
		if (read(mx->fd[v], &n, sizeof(n)) == sizeof(n))
			total += n;
		else
			check(errno == EAGAIN);
	}
	check(total == mx->fired - fired_drained);
	fired_drained = mx->fired;
}

/* Not instrumented: its comparisons are the harness's, not coverage of the input, and tracing
 * them every operation costs more than the operations. */
__attribute__((no_sanitize("coverage")))
static void check_invariants(uint64_t fired_before, bool enabled_before)
{
	uint32_t st = t->status, v;
	uint16_t ctrl;
	uint8_t b[4];

	/* Configuration space: read-only bits, the masks, the IDs and the capability list. */
	for (unsigned int i = 0; i < PCI_CFG_SIZE; i++) {
		check(!((f->cfg[i] ^ cfg0[i]) & ~wmask0[i]));
		check(f->wmask[i] == wmask0[i] && f->w1c[i] == w1c0[i]);
	}
	cfg_rd(PCI_VENDOR_ID, b, 4);
	check((uint32_t)(b[0] | b[1] << 8 | b[2] << 16 | (uint32_t)b[3] << 24) == id0);
	cfg_rd(PCI_CAPABILITY_LIST, b, 1);
	check(b[0] == cfg0[PCI_CAPABILITY_LIST]);

	/* MSI-X. */
	check(mx->nr < 64 && !(mx->pba >> mx->nr));
	check(bar_rd(VPCI_MSIX_PBA_OFF, 8) == mx->pba);
	ctrl = (uint16_t)pci_cfg_get(f, mx->cap + 2u, 2);
	check(mx->enabled == !!(ctrl & MSIX_CTRL_ENABLE) && mx->fmask == !!(ctrl & MSIX_CTRL_FMASK));
	check((ctrl & 0x3fff) == mx->nr - 1);
	for (unsigned int i = 0; i < MSIX_MAX_VECTORS; i++) {
		check(!(mx->table[i].ctrl & ~MSIX_VECTOR_MASKED));
		if (i >= mx->nr)
			check(!mx->table[i].addr_lo && !mx->table[i].addr_hi &&
			      !mx->table[i].data && !mx->table[i].ctrl);
	}
	if (!enabled_before && !mx->enabled)
		check(mx->fired == fired_before);

	/* The status machine and features. */
	check(!(st & ~0xffu));
	if ((st & VIRTIO_STATUS_DRIVER_OK) && !(st & VIRTIO_STATUS_FEATURES_OK))
		check(st & VIRTIO_STATUS_NEEDS_RESET);
	check(bar_rd(VPCI_COMMON_OFF + VPCI_STATUS, 1) == st);
	check(!(dev->acked & ~(dev->features | VIRTIO_BIT(VIRTIO_F_VERSION_1))));
	if (dev->acked)
		check(dev->acked & VIRTIO_BIT(VIRTIO_F_VERSION_1));
	check(bar_rd(VPCI_COMMON_OFF + VPCI_NUM_QUEUES, 2) == dev->nr_queues);

	/* Queues. */
	for (unsigned int q = 0; q < dev->nr_queues; q++)
		if (dev->vqs[q].ready)
			check(!vq_validate(&dev->vqs[q], &gm, dev->queue_max));

	/* Vectors read back exist or are NO_VECTOR. */
	v = (uint32_t)bar_rd(VPCI_COMMON_OFF + VPCI_MSIX_CONFIG, 2);
	check(v < mx->nr || v == VIRTIO_MSI_NO_VECTOR);
	v = (uint32_t)bar_rd(VPCI_COMMON_OFF + VPCI_Q_MSIX, 2);
	check(v < mx->nr || v == VIRTIO_MSI_NO_VECTOR);
}

/* The offset of the INST-th capability with ID in the chain, or 0. */
static uint32_t find_cap(uint8_t id, unsigned int inst)
{
	unsigned int off = f->cfg[PCI_CAPABILITY_LIST], hops;

	for (hops = 0; off >= 0x40 && off < PCI_CFG_SIZE - 1 && hops < 48; hops++) {
		if (f->cfg[off] == id && inst-- == 0)
			return off;
		off = f->cfg[off + 1];
	}
	return 0;
}

static void replug(void)
{
	if (h.seg[0].slots[f->slot] == f && f->slot) {
		pci_remove(&h, f);
		check(f->bar_decoded[VPCI_BAR] == PCI_BAR_UNDECODED);
	} else if (pci_add(&h, f, 0, -1) == 0) {	/* -ENOSPC once the windows are used up */
		check(h.seg[0].slots[f->slot] == f);
	}
}

static uint32_t le(const uint8_t *p, unsigned int n)
{
	uint32_t v = 0;

	for (unsigned int i = 0; i < n; i++)
		v |= (uint32_t)p[i] << (8 * i);
	return v;
}

/* Runs the operation at P (N bytes left); returns the bytes it took, 0 at the end. */
static size_t run_op(const uint8_t *p, size_t n)
{
	uint8_t kind = p[0] & 7, flags = p[0] & 0xc0, buf[8];
	uint32_t len = 1U << ((p[0] >> 3) & 3), off, hdr;
	bool wr = p[0] & 0x20;

	switch (kind) {
	case 0:
		hdr = 3;
		if (len == 8)
			len = 4;
		break;
	case 2:
		hdr = 2;
		if (n < hdr)
			return 0;
		len = common_fields[p[1] % 20].len;
		break;
	case 3:
		hdr = 4;
		if (n < hdr)
			return 0;
		len = p[3] % 64 + 1;
		wr = true;
		break;
	case 4:
		hdr = 2;
		wr = false;	/* no value bytes */
		break;
	case 1:
		hdr = 3;
		break;
	case 5:
	case 6:
		hdr = 4;
		if (kind == 6 && len == 8)
			len = 4;
		break;
	default:
		hdr = 1;
		len = 0;
		wr = false;
		break;
	}
	if (n < hdr + (wr ? len : 0))
		return 0;
	memset(buf, 0xa5, sizeof(buf));
	if (wr && kind != 3)
		memcpy(buf, p + hdr, len);

	switch (kind) {
	case 0:
		if (flags & 0x40) {
			off = find_cap(p[1] & 0x1f, p[1] >> 5);
			off = off ? off + p[2] : p[2];
		} else {
			off = le(p + 1, 2) % CFG_SPAN;
		}
		if (wr)
			cfg_wr(off, buf, len);
		else
			cfg_rd(off, buf, len);
		break;
	case 1:
		virtio_pci_bar_access(bar, le(p + 1, 2) % BAR_SPAN, buf, len, wr);
		break;
	case 2:
		virtio_pci_bar_access(bar, VPCI_COMMON_OFF + common_fields[p[1] % 20].off, buf, len,
				      wr);
		break;
	case 3:
		off = le(p + 1, 2);
		if (len > RAM_SIZE - off)
			len = RAM_SIZE - off;
		check(!gm_write(&gm, off, p + hdr, len));
		return hdr + (p[3] % 64 + 1);
	case 4:
		/* The driver writes the queue's index (4.1.4.4): the value is not the input's. */
		memset(buf, 0, sizeof(buf));
		buf[0] = p[1] % 4u;
		virtio_pci_bar_access(bar, VPCI_NOTIFY_OFF + VPCI_NOTIFY_MULT * (p[1] % 4u), buf,
				      len, true);
		return hdr;
	case 5:
		off = le(p + 1, 3) % (flags & 0x40 ? win.mem64_size : win.mem32_size);
		/* The bus delivers only accesses inside the window. */
		if (len <= (flags & 0x40 ? win.mem64_size : win.mem32_size) - off) {
			if (flags & 0x40)
				pci_window64_access(&h.seg[0], off, buf, len, wr);
			else
				pci_window_access(&h.seg[0], off, buf, len, wr);
		}
		break;
	case 6:
		off = le(p + 1, 3) % win.ecam_size;
		if (len <= win.ecam_size - off)
			pci_ecam_access(&h.seg[0], off, buf, len, wr);
		break;
	default:
		switch ((p[0] >> 3) & 3) {
		case 1:
			virtio_pci_bar_access(bar, VPCI_ISR_OFF, buf, 1, false);
			break;
		case 2:
			replug();
			break;
		default:
			drain();
			break;
		}
		break;
	}
	return hdr + (wr ? len : 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t pos = 0, used;
	uint64_t fired;
	bool enabled;

	if (setup())
		return 0;
	check_invariants(0, false);
	for (unsigned int ops = 0; ops < MAX_OPS && pos < size; ops++) {
		fired = mx->fired;
		enabled = mx->enabled;
		used = run_op(data + pos, size - pos);
		if (!used)
			break;
		pos += used;
		check_invariants(fired, enabled);
	}
	drain();
	teardown();
	return 0;
}
