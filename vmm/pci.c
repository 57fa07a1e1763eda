/*
 * PCI segments: the masked type-0 configuration space of every function, BAR sizing and
 * decoding (which BAR answers where in the segment's windows, and telling the function
 * when that changes), the capability list, kvmm's own firmware-style BAR assignment, and
 * the three ways the guest gets in: ECAM, ports 0xcf8/0xcfc and the BAR windows.
 * Everything here is guest-facing and checked; nothing talks to KVM.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "pci.h"

#define PCI_CLASS_REVISION	0x08
#define PCI_STATUS_W1C_HI	0xf8		/* status bits 15:11, in its upper byte */
#define PCI_COMMAND_SERR	0x100
#define PCI_COMMAND_WMASK	(PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER | \
				 PCI_COMMAND_SERR | PCI_COMMAND_INTX_DISABLE)
#define PCI_BAR_END		(PCI_BASE_ADDRESS_0 + 4 * PCI_NR_BARS)
#define PCI_CAP_START		0x40
#define PCI_BAR_FLAGS		0xfULL

/* Red Hat's IDs for QEMU's PCIe host bridge, so guests know what sits at 00:00.0. */
#define PCI_HOST_VENDOR		0x1b36
#define PCI_HOST_DEVICE		0x0008
#define PCI_HOST_CLASS		0x060000
#define PCI_SUBVENDOR_REDHAT	0x1af4
#define PCI_SUBDEVICE_QEMU	0x1100

/* CONFIG_ADDRESS (ports 0xcf8-0xcfb): enable, bus, device, function, register. */
#define CF8_ENABLE		0x80000000U
#define CF8_MASK		0x80fffffcU

uint32_t pci_cfg_get(const struct pci_func *f, uint32_t off, uint32_t len)
{
	uint32_t v = 0, i;

	if (off >= PCI_CFG_SIZE || len > 4 || len > PCI_CFG_SIZE - off)
		return 0;
	for (i = 0; i < len; i++)
		v |= (uint32_t)f->cfg[off + i] << (8 * i);
	return v;
}

void pci_cfg_set(struct pci_func *f, uint32_t off, uint32_t len, uint32_t v)
{
	uint32_t i;

	if (off >= PCI_CFG_SIZE || len > 4 || len > PCI_CFG_SIZE - off)
		return;
	for (i = 0; i < len; i++)
		f->cfg[off + i] = v >> (8 * i);
}

static void wmask_set(struct pci_func *f, uint32_t off, uint32_t len, uint32_t v)
{
	uint32_t i;

	for (i = 0; i < len; i++)
		f->wmask[off + i] = v >> (8 * i);
}

void pci_func_init(struct pci_func *f, const char *name, uint16_t vendor, uint16_t device,
		   uint32_t class_code, uint8_t revision, uint16_t subsys_vendor,
		   uint16_t subsys_id)
{
	unsigned int i;

	memset(f, 0, sizeof(*f));
	f->name = name;
	for (i = 0; i < PCI_NR_BARS; i++)
		f->bar_decoded[i] = PCI_BAR_UNDECODED;
	f->cap_free = PCI_CAP_START;

	pci_cfg_set(f, PCI_VENDOR_ID, 2, vendor);
	pci_cfg_set(f, PCI_DEVICE_ID, 2, device);
	pci_cfg_set(f, PCI_CLASS_REVISION, 4, (class_code & 0xffffff) << 8 | revision);
	pci_cfg_set(f, PCI_SUBSYSTEM_VENDOR_ID, 2, subsys_vendor);
	pci_cfg_set(f, PCI_SUBSYSTEM_ID, 2, subsys_id);
	/* Header type 0, single function: byte 0x0e stays 0. */

	wmask_set(f, PCI_COMMAND, 2, PCI_COMMAND_WMASK);
	f->w1c[PCI_STATUS + 1] = PCI_STATUS_W1C_HI;
	f->wmask[PCI_INTERRUPT_LINE] = 0xff;
}

int pci_func_add_bar(struct pci_func *f, unsigned int n, uint64_t size, bool is64,
		     bool prefetch, bus_handler_t handler, void *opaque)
{
	uint32_t off = PCI_BASE_ADDRESS_0 + 4 * n, flags = 0;
	uint64_t mask = ~(size - 1);

	if (n >= PCI_NR_BARS || (is64 && n + 1 >= PCI_NR_BARS) || !handler)
		return -EINVAL;
	if (size < 16 || (size & (size - 1)) || (!is64 && size > (1ULL << 31)) ||
	    size > (1ULL << 63))
		return -EINVAL;
	/* Neither half may be in use, nor N be the upper half of a 64-bit BAR. */
	if (f->bar_size[n] || (is64 && f->bar_size[n + 1]) ||
	    (n > 0 && f->bar_size[n - 1] && (f->cfg[off - 4] & PCI_BAR_MEM_64)))
		return -EINVAL;

	if (is64)
		flags |= PCI_BAR_MEM_64;
	if (prefetch)
		flags |= PCI_BAR_PREFETCH;
	pci_cfg_set(f, off, 4, flags);
	wmask_set(f, off, 4, mask & ~PCI_BAR_FLAGS & 0xffffffffULL);
	if (is64) {
		pci_cfg_set(f, off + 4, 4, 0);
		wmask_set(f, off + 4, 4, mask >> 32);
	}
	f->bar_size[n] = size;
	f->bar_handler[n] = handler;
	f->bar_opaque[n] = opaque;
	return 0;
}

uint8_t pci_func_add_cap(struct pci_func *f, uint8_t id, const void *body, uint8_t len,
			 const uint8_t *wmask)
{
	unsigned int off = (f->cap_free + 3U) & ~3U, i;

	/* cap_free is 0 once a capability ended exactly at PCI_CFG_SIZE. */
	if (len < 2 || off < PCI_CAP_START || off + len > PCI_CFG_SIZE)
		return 0;
	f->cfg[off] = id;
	f->cfg[off + 1] = 0;
	if (len > 2 && body)
		memcpy(&f->cfg[off + 2], body, len - 2U);
	for (i = 0; i < len; i++) {
		f->wmask[off + i] = (i >= 2 && wmask) ? wmask[i] : 0;
		f->w1c[off + i] = 0;
	}
	if (f->cap_tail)
		f->cfg[f->cap_tail + 1] = off;
	else
		f->cfg[PCI_CAPABILITY_LIST] = off;
	f->cap_tail = off;
	f->cap_free = (uint8_t)(off + len);
	f->cfg[PCI_STATUS] |= PCI_STATUS_CAP_LIST;
	return off;
}

void pci_func_set_intx(struct pci_func *f, uint32_t irq)
{
	f->intx_irq = irq;
	f->cfg[PCI_INTERRUPT_PIN] = 1;
	/* What firmware leaves for the OS; the line's real routing is in ACPI / the DT. */
	f->cfg[PCI_INTERRUPT_LINE] = irq < 0xff ? irq : 0xff;
}

uint64_t pci_bar_addr(const struct pci_func *f, unsigned int n)
{
	uint32_t off = PCI_BASE_ADDRESS_0 + 4 * n;
	uint64_t lo;

	if (n >= PCI_NR_BARS)
		return 0;
	lo = pci_cfg_get(f, off, 4);
	if ((lo & PCI_BAR_MEM_64) && n + 1 < PCI_NR_BARS)
		return (lo & ~PCI_BAR_FLAGS) | (uint64_t)pci_cfg_get(f, off + 4, 4) << 32;
	return lo & ~PCI_BAR_FLAGS;
}

static bool access_ok(uint32_t off, uint32_t len)
{
	return (len == 1 || len == 2 || len == 4) && !(off & (len - 1));
}

void pci_cfg_read(struct pci_func *f, uint32_t off, uint8_t *data, uint32_t len)
{
	if (!access_ok(off, len))
		memset(data, 0xff, len);
	else if (off >= PCI_CFG_SIZE)
		memset(data, 0, len);
	else {
		if (f->ops && f->ops->cfg_read)
			f->ops->cfg_read(f, off, len);
		memcpy(data, &f->cfg[off], len);
	}
}

/* [ADDR, ADDR + SIZE) lies wholly inside the window [BASE, BASE + WSIZE). */
static bool in_window(uint64_t addr, uint64_t size, uint64_t base, uint64_t wsize)
{
	return addr >= base && addr - base < wsize && size <= wsize - (addr - base);
}

/* Where BAR N of F would decode on its own (PCI_BAR_UNDECODED: nowhere). */
static uint64_t bar_wanted(const struct pci_segment *s, const struct pci_func *f,
			   unsigned int n)
{
	uint64_t size = f->bar_size[n], addr;

	if (!size || !(pci_cfg_get(f, PCI_COMMAND, 2) & PCI_COMMAND_MEMORY))
		return PCI_BAR_UNDECODED;
	addr = pci_bar_addr(f, n);
	if (addr + size < addr)
		return PCI_BAR_UNDECODED;
	if (in_window(addr, size, s->w.mem32_base, s->w.mem32_size))
		return addr;
	if ((f->cfg[PCI_BASE_ADDRESS_0 + 4 * n] & PCI_BAR_MEM_64) &&
	    in_window(addr, size, s->w.mem64_base, s->w.mem64_size))
		return addr;
	return PCI_BAR_UNDECODED;
}

static bool overlaps_decoded(const struct pci_segment *s,
			     uint64_t dec[PCI_NR_SLOTS][PCI_NR_BARS], uint64_t addr,
			     uint64_t size)
{
	unsigned int i, n;

	for (i = 0; i < PCI_NR_SLOTS; i++) {
		if (!s->slots[i])
			continue;
		for (n = 0; n < PCI_NR_BARS; n++)
			if (dec[i][n] != PCI_BAR_UNDECODED &&
			    addr < dec[i][n] + s->slots[i]->bar_size[n] &&
			    dec[i][n] < addr + size)
				return true;
	}
	return false;
}

static void bar_moved(struct pci_func *f, unsigned int n, uint64_t old, uint64_t new_)
{
	if (f->ops && f->ops->bar_moved)
		f->ops->bar_moved(f, n, old, new_);
}

/*
 * Recomputes where every BAR of the segment decodes.  A BAR that keeps its decoded address
 * keeps it; the others then decode in slot order where they overlap nothing already decoded,
 * so a BAR moved onto another loses, not the one that was there.  The functions hear of
 * the BARs that stop decoding or move before those that start, so KVM never sees two
 * claims on one address.  Segment lock held.
 */
static void pci_seg_decode(struct pci_segment *s)
{
	uint64_t want[PCI_NR_SLOTS][PCI_NR_BARS], dec[PCI_NR_SLOTS][PCI_NR_BARS];
	uint64_t old[PCI_NR_SLOTS][PCI_NR_BARS];
	struct pci_func *f;
	unsigned int i, n, pass;

	for (i = 0; i < PCI_NR_SLOTS; i++) {
		f = s->slots[i];
		for (n = 0; n < PCI_NR_BARS; n++) {
			want[i][n] = f ? bar_wanted(s, f, n) : PCI_BAR_UNDECODED;
			old[i][n] = f ? f->bar_decoded[n] : PCI_BAR_UNDECODED;
			dec[i][n] = want[i][n] == old[i][n] ? old[i][n] : PCI_BAR_UNDECODED;
		}
	}
	for (i = 0; i < PCI_NR_SLOTS; i++) {
		f = s->slots[i];
		for (n = 0; n < PCI_NR_BARS; n++)
			if (want[i][n] != PCI_BAR_UNDECODED && dec[i][n] == PCI_BAR_UNDECODED &&
			    !overlaps_decoded(s, dec, want[i][n], f->bar_size[n]))
				dec[i][n] = want[i][n];
	}

	pthread_rwlock_wrlock(&s->bar_lock);
	for (i = 0; i < PCI_NR_SLOTS; i++)
		for (n = 0; s->slots[i] && n < PCI_NR_BARS; n++)
			s->slots[i]->bar_decoded[n] = dec[i][n];
	pthread_rwlock_unlock(&s->bar_lock);

	for (pass = 0; pass < 2; pass++)
		for (i = 0; i < PCI_NR_SLOTS; i++)
			for (n = 0; s->slots[i] && n < PCI_NR_BARS; n++)
				if (dec[i][n] != old[i][n] &&
				    (old[i][n] == PCI_BAR_UNDECODED) == (pass == 1))
					bar_moved(s->slots[i], n, old[i][n], dec[i][n]);
}

void pci_cfg_write(struct pci_segment *s, struct pci_func *f, uint32_t off,
		   const uint8_t *data, uint32_t len)
{
	uint32_t i;
	uint8_t m;

	if (!access_ok(off, len) || off >= PCI_CFG_SIZE)
		return;
	for (i = 0; i < len; i++) {
		m = f->wmask[off + i];
		f->cfg[off + i] = (f->cfg[off + i] & ~m) | (data[i] & m);
		f->cfg[off + i] &= ~(data[i] & f->w1c[off + i]);
	}
	if ((off < PCI_COMMAND + 2 && off + len > PCI_COMMAND) ||
	    (off < PCI_BAR_END && off + len > PCI_BASE_ADDRESS_0))
		pci_seg_decode(s);
	if (f->ops && f->ops->cfg_written)
		f->ops->cfg_written(f, off, len);
}

void pci_bdf_string(const struct pci_func *f, char *buf, unsigned long len)
{
	snprintf(buf, len, "%04x:%02x:%02x.%x", f->seg, 0, f->slot, 0);
}

static int pci_seg_init(struct pci_segment *s, unsigned int id, const struct pci_windows *w)
{
	int ret;

	s->id = id;
	s->w = *w;
	ret = pthread_mutex_init(&s->lock, NULL);
	if (ret)
		return -ret;
	ret = pthread_rwlock_init(&s->bar_lock, NULL);
	if (ret) {
		pthread_mutex_destroy(&s->lock);
		return -ret;
	}
	pci_func_init(&s->bridge, "pci-host", PCI_HOST_VENDOR, PCI_HOST_DEVICE, PCI_HOST_CLASS,
		      0, PCI_SUBVENDOR_REDHAT, PCI_SUBDEVICE_QEMU);
	s->bridge.seg = id;
	s->bridge.slot = 0;
	s->slots[0] = &s->bridge;
	return 0;
}

static bool window_wraps(uint64_t base, uint64_t size)
{
	return base + size < base;
}

int pci_host_init(struct pci_host *h, unsigned int nr, const struct pci_windows *w)
{
	unsigned int i;
	int ret;

	if (nr == 0 || nr > PCI_MAX_SEGMENTS)
		return -EINVAL;
	for (i = 0; i < nr; i++)
		if (window_wraps(w[i].ecam_base, w[i].ecam_size) ||
		    window_wraps(w[i].mem32_base, w[i].mem32_size) ||
		    window_wraps(w[i].mem64_base, w[i].mem64_size) ||
		    w[i].mem32_base + w[i].mem32_size > (1ULL << 32))
			return -EINVAL;

	memset(h, 0, sizeof(*h));
	for (i = 0; i < nr; i++) {
		ret = pci_seg_init(&h->seg[i], i, &w[i]);
		if (ret)
			goto err;
		h->nr_segments = i + 1;
	}
	return 0;
err:
	pci_host_fini(h);
	return ret;
}

void pci_host_fini(struct pci_host *h)
{
	unsigned int i;

	for (i = 0; i < h->nr_segments; i++) {
		pthread_rwlock_destroy(&h->seg[i].bar_lock);
		pthread_mutex_destroy(&h->seg[i].lock);
	}
	h->nr_segments = 0;
}

/* Whether [A, A + ASIZE) and [B, B + BSIZE) overlap (neither wraps). */
static bool ranges_overlap(uint64_t a, uint64_t asize, uint64_t b, uint64_t bsize)
{
	return a < b + bsize && b < a + asize;
}

/*
 * The lowest SIZE-aligned address in window [BASE, BASE + WSIZE) where SIZE bytes overlap
 * no BAR of the segment's functions (at the address each is programmed to, decoded or not:
 * the guest may turn decoding on at any time) nor one of the NR_TAKEN ranges TAKEN/TSIZE
 * already picked for the function being added.  False if there is none.  Removed
 * functions' ranges are free again, so hot-plug after hot-unplug reuses them.
 */
static bool window_alloc(const struct pci_segment *s, uint64_t base, uint64_t wsize,
			 uint64_t size, const uint64_t *taken, const uint64_t *tsize,
			 unsigned int nr_taken, uint64_t *addr)
{
	uint64_t a = (base + size - 1) & ~(size - 1);
	bool moved = true;

	while (moved) {
		if (a < base || !in_window(a, size, base, wsize))
			return false;
		moved = false;
		for (unsigned int slot = 1; slot < PCI_NR_SLOTS && !moved; slot++) {
			const struct pci_func *g = s->slots[slot];

			for (unsigned int n = 0; g && n < PCI_NR_BARS && !moved; n++) {
				uint64_t b = pci_bar_addr(g, n);

				if (!g->bar_size[n] || b + g->bar_size[n] < b ||
				    !ranges_overlap(a, size, b, g->bar_size[n]))
					continue;
				a = (b + g->bar_size[n] + size - 1) & ~(size - 1);
				moved = true;
			}
		}
		for (unsigned int i = 0; i < nr_taken && !moved; i++) {
			if (!ranges_overlap(a, size, taken[i], tsize[i]))
				continue;
			a = (taken[i] + tsize[i] + size - 1) & ~(size - 1);
			moved = true;
		}
	}
	*addr = a;
	return true;
}

/*
 * Picks addresses for F's BARs as firmware would: 64-bit BARs in the 64-bit window (in the
 * 32-bit window when that is full), 32-bit BARs in the 32-bit window, each naturally
 * aligned in the lowest free space.  Segment lock held.
 */
static int assign_bars(struct pci_segment *s, struct pci_func *f, uint64_t addr[PCI_NR_BARS])
{
	const struct pci_windows *w = &s->w;
	uint64_t taken[PCI_NR_BARS], tsize[PCI_NR_BARS];
	unsigned int n, nr = 0;
	bool ok;

	for (n = 0; n < PCI_NR_BARS; n++) {
		uint64_t size = f->bar_size[n];

		if (!size)
			continue;
		ok = false;
		if (f->cfg[PCI_BASE_ADDRESS_0 + 4 * n] & PCI_BAR_MEM_64)
			ok = window_alloc(s, w->mem64_base, w->mem64_size, size, taken, tsize,
					  nr, &addr[n]);
		if (!ok && !window_alloc(s, w->mem32_base, w->mem32_size, size, taken, tsize,
					 nr, &addr[n]))
			return -ENOSPC;
		taken[nr] = addr[n];
		tsize[nr++] = size;
	}
	return 0;
}

int pci_add(struct pci_host *h, struct pci_func *f, unsigned int seg, int slot)
{
	uint64_t addr[PCI_NR_BARS];
	struct pci_segment *s;
	unsigned int n;
	int ret = 0;

	if (seg >= h->nr_segments || slot >= PCI_NR_SLOTS || !f)
		return -EINVAL;
	s = &h->seg[seg];
	pthread_mutex_lock(&s->lock);
	if (slot < 0) {
		for (slot = 1; slot < PCI_NR_SLOTS && s->slots[slot]; slot++)
			;
		if (slot == PCI_NR_SLOTS) {
			ret = -ENOSPC;
			goto out;
		}
	} else if (s->slots[slot]) {
		ret = -EEXIST;
		goto out;
	}
	ret = assign_bars(s, f, addr);
	if (ret)
		goto out;

	for (n = 0; n < PCI_NR_BARS; n++) {
		f->bar_decoded[n] = PCI_BAR_UNDECODED;
		if (!f->bar_size[n])
			continue;
		pci_cfg_set(f, PCI_BASE_ADDRESS_0 + 4 * n, 4,
			    (addr[n] & 0xfffffff0U) | (f->cfg[PCI_BASE_ADDRESS_0 + 4 * n] & 0xf));
		if (f->cfg[PCI_BASE_ADDRESS_0 + 4 * n] & PCI_BAR_MEM_64)
			pci_cfg_set(f, PCI_BASE_ADDRESS_0 + 4 * n + 4, 4, addr[n] >> 32);
	}
	pci_cfg_set(f, PCI_COMMAND, 2, pci_cfg_get(f, PCI_COMMAND, 2) | PCI_COMMAND_MEMORY);
	f->seg = seg;
	f->slot = slot;

	pthread_rwlock_wrlock(&s->bar_lock);
	s->slots[slot] = f;
	pthread_rwlock_unlock(&s->bar_lock);
	pci_seg_decode(s);
out:
	pthread_mutex_unlock(&s->lock);
	return ret;
}

void pci_remove(struct pci_host *h, struct pci_func *f)
{
	uint64_t old[PCI_NR_BARS];
	struct pci_segment *s;
	unsigned int n;

	if (f->seg >= h->nr_segments)
		return;
	s = &h->seg[f->seg];
	pthread_mutex_lock(&s->lock);
	if (f->slot == 0 || f->slot >= PCI_NR_SLOTS || s->slots[f->slot] != f) {
		pthread_mutex_unlock(&s->lock);
		return;
	}
	/* Once the write lock is dropped, no access is in F's BAR handlers any more. */
	pthread_rwlock_wrlock(&s->bar_lock);
	s->slots[f->slot] = NULL;
	for (n = 0; n < PCI_NR_BARS; n++) {
		old[n] = f->bar_decoded[n];
		f->bar_decoded[n] = PCI_BAR_UNDECODED;
	}
	pthread_rwlock_unlock(&s->bar_lock);
	for (n = 0; n < PCI_NR_BARS; n++)
		if (old[n] != PCI_BAR_UNDECODED)
			bar_moved(f, n, old[n], PCI_BAR_UNDECODED);
	/* A BAR that overlapped one of F's may decode now. */
	pci_seg_decode(s);
	pthread_mutex_unlock(&s->lock);
}

void pci_ecam_access(void *opaque, uint64_t off, uint8_t *data, uint32_t len, bool is_write)
{
	struct pci_segment *s = opaque;
	unsigned int dev = (off >> 15) & (PCI_NR_SLOTS - 1);
	struct pci_func *f;

	/* Bus 0, function 0 only; a populated slot. */
	pthread_mutex_lock(&s->lock);
	f = (off >> 20) == 0 && ((off >> 12) & 7) == 0 ? s->slots[dev] : NULL;
	if (!f) {
		if (!is_write)
			memset(data, 0xff, len);
	} else if (is_write) {
		pci_cfg_write(s, f, off & 0xfff, data, len);
	} else {
		pci_cfg_read(f, off & 0xfff, data, len);
	}
	pthread_mutex_unlock(&s->lock);
}

void pci_cf8_access(void *opaque, uint64_t off, uint8_t *data, uint32_t len, bool is_write)
{
	struct pci_host *h = opaque;
	struct pci_segment *s = &h->seg[0];
	struct pci_func *f = NULL;
	unsigned int i;

	pthread_mutex_lock(&s->lock);
	if (off < 4) {
		/* CONFIG_ADDRESS takes dword accesses only: Linux's type-1 probe writes a
		 * byte to 0xcfb and expects nothing to happen. */
		if (off == 0 && len == 4) {
			if (is_write)
				h->cf8 = (data[0] | data[1] << 8 | data[2] << 16 |
					  (uint32_t)data[3] << 24) & CF8_MASK;
			else
				for (i = 0; i < 4; i++)
					data[i] = h->cf8 >> (8 * i);
		} else if (!is_write) {
			memset(data, 0xff, len);
		}
		goto out;
	}
	if ((h->cf8 & CF8_ENABLE) && ((h->cf8 >> 16) & 0xff) == 0 && ((h->cf8 >> 8) & 7) == 0)
		f = s->slots[(h->cf8 >> 11) & (PCI_NR_SLOTS - 1)];
	if (!f || off >= 8) {
		if (!is_write)
			memset(data, 0xff, len);
	} else if (is_write) {
		pci_cfg_write(s, f, (h->cf8 & 0xfc) + (off - 4), data, len);
	} else {
		pci_cfg_read(f, (h->cf8 & 0xfc) + (off - 4), data, len);
	}
out:
	pthread_mutex_unlock(&s->lock);
}

/* Delivers an access at guest-physical ADDR to the decoded BAR that holds all of it. */
static void window_dispatch(struct pci_segment *s, uint64_t addr, uint8_t *data, uint32_t len,
			    bool is_write)
{
	struct pci_func *f;
	unsigned int i, n;
	uint64_t rel;

	pthread_rwlock_rdlock(&s->bar_lock);
	for (i = 0; i < PCI_NR_SLOTS; i++) {
		f = s->slots[i];
		for (n = 0; f && n < PCI_NR_BARS; n++) {
			if (f->bar_decoded[n] == PCI_BAR_UNDECODED || addr < f->bar_decoded[n])
				continue;
			rel = addr - f->bar_decoded[n];
			if (rel >= f->bar_size[n] || len > f->bar_size[n] - rel)
				continue;
			f->bar_handler[n](f->bar_opaque[n], rel, data, len, is_write);
			pthread_rwlock_unlock(&s->bar_lock);
			return;
		}
	}
	pthread_rwlock_unlock(&s->bar_lock);
	if (!is_write)
		memset(data, 0xff, len);
}

static void window_access(struct pci_segment *s, uint64_t base, uint64_t size, uint64_t off,
			  uint8_t *data, uint32_t len, bool is_write)
{
	if (off >= size || len > size - off) {
		if (!is_write)
			memset(data, 0xff, len);
		return;
	}
	window_dispatch(s, base + off, data, len, is_write);
}

void pci_window_access(void *opaque, uint64_t off, uint8_t *data, uint32_t len, bool is_write)
{
	struct pci_segment *s = opaque;

	window_access(s, s->w.mem32_base, s->w.mem32_size, off, data, len, is_write);
}

void pci_window64_access(void *opaque, uint64_t off, uint8_t *data, uint32_t len,
			 bool is_write)
{
	struct pci_segment *s = opaque;

	window_access(s, s->w.mem64_base, s->w.mem64_size, off, data, len, is_write);
}

int pci_host_attach(struct pci_host *h, struct bus *mmio, struct bus *pio)
{
	struct pci_segment *s;
	unsigned int i;
	int ret;

	for (i = 0; i < h->nr_segments; i++) {
		s = &h->seg[i];
		if (s->w.ecam_size) {
			ret = bus_register(mmio, s->w.ecam_base, s->w.ecam_size, pci_ecam_access,
					   s, "pci-ecam");
			if (ret)
				return ret;
		}
		if (s->w.mem32_size) {
			ret = bus_register(mmio, s->w.mem32_base, s->w.mem32_size,
					   pci_window_access, s, "pci-mem32");
			if (ret)
				return ret;
		}
		if (s->w.mem64_size) {
			ret = bus_register(mmio, s->w.mem64_base, s->w.mem64_size,
					   pci_window64_access, s, "pci-mem64");
			if (ret)
				return ret;
		}
	}
	if (pio)
		return bus_register(pio, PCI_CF8_PORT, PCI_CF8_LEN, pci_cf8_access, h, "pci-cf8");
	return 0;
}
