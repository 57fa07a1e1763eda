/*
 * Unit tests for the modern virtio-pci transport (virtio/pci.c), driven like a guest driver
 * would (and like a hostile one would) against a fake device over fake guest RAM, without
 * KVM or a PCI segment: identification in configuration space, the capability chain a
 * driver walks to find its structures, BAR0 sizing, the common configuration structure
 * (features, queues, MSI-X vectors, reset), device configuration, notifications, and
 * interrupts through MSI-X vectors or, with MSI-X off, the ISR.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "irq.h"
#include "log.h"
#include "msix.h"
#include "pci.h"
#include "transport.h"
#include "virtio.h"
#include "virtio_pci.h"

#define MiB (1ULL << 20)

static struct guest_mem gm;

#include "fake_ring.h"

#define DEV_ID		42
#define QMAX		16
#define NR_VECTORS	3		/* one per queue, one for configuration changes */
#define RING0		0x10000ULL	/* queue 0: descriptors, +0x1000 avail, +0x2000 used */
#define RING1		0x20000ULL
#define BUF		0x30000ULL

static const struct pci_windows win = { 0xe0000000ULL, MiB, 0xc0000000ULL, 16 * MiB,
					 1ULL << 34, 1ULL << 32 };
static struct pci_host h;
static struct irq_routes *r;
static struct kvm_irq_routing_entry chip[1];
static struct virtio_dev dev;
static struct virtio_transport *t;
static struct pci_func *f;
static void *bar;			/* f->bar_opaque[0] */
static struct msix *mx;
static int notified[2], activated, resets, handled, defer;
static uint8_t config[12];
static struct vq_chain chain;

/* ---- the fake device ---- */

static void f_config_read(struct virtio_dev *d, uint32_t off, void *data, uint32_t len)
{
	(void)d;
	cr_assert_leq(off + len, sizeof(config));
	memcpy(data, config + off, len);
}

static void f_config_write(struct virtio_dev *d, uint32_t off, const void *data, uint32_t len)
{
	(void)d;
	cr_assert_leq(off + len, sizeof(config));
	memcpy(config + off, data, len);
}

static int f_activate(struct virtio_dev *d)
{
	(void)d;
	activated++;
	return 0;
}

static uint32_t f_handle(struct virtio_dev *d, struct vq_chain *c)
{
	(void)d;
	(void)c;
	if (defer) {
		defer--;
		return VIRTIO_CHAIN_DEFER;
	}
	handled++;
	return 0;
}

/* Counts the notification and drains the queue, as a real device does. */
static void f_notify(struct virtio_dev *d, unsigned int q)
{
	notified[q]++;
	virtio_process_queue(d, q, &chain, f_handle, NULL);
}

static void f_reset(struct virtio_dev *d)
{
	(void)d;
	resets++;
}

static void f_destroy(struct virtio_dev *d)
{
	(void)d;
}

static const struct virtio_dev_ops fake_ops = {
	.config_read = f_config_read,
	.config_write = f_config_write,
	.activate = f_activate,
	.queue_notify = f_notify,
	.reset = f_reset,
	.destroy = f_destroy,
};

static void setup(void)
{
	struct gm_region l[] = { { .gpa = 0, .size = 1 * MiB } };

	log_threshold = LOG_QUIET;
	cr_assert_eq(gm_create(&gm, l, 1), 0);
	cr_assert_eq(pci_host_init(&h, 1, &win), 0);
	chip[0] = (struct kvm_irq_routing_entry){ .gsi = 23, .type = KVM_IRQ_ROUTING_IRQCHIP };
	r = irq_routes_new(-1, chip, 1);
	cr_assert_not_null(r);
	for (unsigned int i = 0; i < sizeof(config); i++)
		config[i] = (uint8_t)(i + 1);
	memset(&dev, 0, sizeof(dev));
	dev = (struct virtio_dev){
		.name = "fake", .device_id = DEV_ID, .ops = &fake_ops,
		.features = VIRTIO_BIT(3) | VIRTIO_BIT(VIRTIO_F_EVENT_IDX),
		.config_size = sizeof(config), .nr_queues = 2, .queue_max = QMAX,
	};
	notified[0] = notified[1] = activated = resets = handled = defer = 0;
	t = virtio_pci_test_new(&dev, &gm, r, &f);
	cr_assert_not_null(t);
	bar = f->bar_opaque[VPCI_BAR];
	cr_assert_not_null(bar);
	mx = virtio_pci_test_msix(t);
	cr_assert_not_null(mx);
}

static void teardown(void)
{
	virtio_pci_test_free(t);
	irq_routes_free(r);
	pci_host_fini(&h);
	gm_destroy(&gm);
}

TestSuite(virtio_pci, .init = setup, .fini = teardown);

/* ---- helpers ---- */

static uint32_t cfg_rd(uint32_t off, uint32_t len)
{
	uint32_t v = 0;

	pci_cfg_read(f, off, (uint8_t *)&v, len);
	return v;
}

static void cfg_wr(uint32_t off, uint32_t len, uint32_t v)
{
	pthread_mutex_lock(&h.seg[0].lock);
	pci_cfg_write(&h.seg[0], f, off, (const uint8_t *)&v, len);
	pthread_mutex_unlock(&h.seg[0].lock);
}

static uint64_t bar_rd(uint64_t off, uint32_t len)
{
	uint64_t v = 0xa5a5a5a5a5a5a5a5ULL;

	virtio_pci_bar_access(bar, off, (uint8_t *)&v, len, false);
	return len == 8 ? v : v & ((1ULL << (8 * len)) - 1);
}

static void bar_wr(uint64_t off, uint32_t len, uint64_t v)
{
	virtio_pci_bar_access(bar, off, (uint8_t *)&v, len, true);
}

/* The common configuration fields at their natural widths. */
static uint64_t cc_rd(uint32_t field)
{
	switch (field) {
	case VPCI_STATUS: case VPCI_CFG_GENERATION:
		return bar_rd(VPCI_COMMON_OFF + field, 1);
	case VPCI_MSIX_CONFIG: case VPCI_NUM_QUEUES: case VPCI_Q_SELECT: case VPCI_Q_SIZE:
	case VPCI_Q_MSIX: case VPCI_Q_ENABLE: case VPCI_Q_NOFF:
		return bar_rd(VPCI_COMMON_OFF + field, 2);
	}
	return bar_rd(VPCI_COMMON_OFF + field, 4);
}

static void cc_wr(uint32_t field, uint32_t v)
{
	switch (field) {
	case VPCI_STATUS:
		bar_wr(VPCI_COMMON_OFF + field, 1, v);
		return;
	case VPCI_MSIX_CONFIG: case VPCI_Q_SELECT: case VPCI_Q_SIZE: case VPCI_Q_MSIX:
	case VPCI_Q_ENABLE:
		bar_wr(VPCI_COMMON_OFF + field, 2, v);
		return;
	}
	bar_wr(VPCI_COMMON_OFF + field, 4, v);
}

/* Sets queue Q up with rings of SIZE entries at BASE (+0x1000 avail, +0x2000 used). */
static void queue_setup(unsigned int q, uint32_t size, uint64_t base)
{
	cc_wr(VPCI_Q_SELECT, q);
	cc_wr(VPCI_Q_SIZE, size);
	cc_wr(VPCI_Q_DESCLO, (uint32_t)base);
	cc_wr(VPCI_Q_DESCHI, (uint32_t)(base >> 32));
	cc_wr(VPCI_Q_AVAILLO, (uint32_t)(base + 0x1000));
	cc_wr(VPCI_Q_AVAILHI, 0);
	cc_wr(VPCI_Q_USEDLO, (uint32_t)(base + 0x2000));
	cc_wr(VPCI_Q_USEDHI, 0);
	cc_wr(VPCI_Q_ENABLE, 1);
}

/* The driver's side of 3.1.1 up to FEATURES_OK, accepting FEATURES. */
static void negotiate(uint64_t features)
{
	cc_wr(VPCI_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
	cc_wr(VPCI_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	cc_wr(VPCI_GFSELECT, 0);
	cc_wr(VPCI_GF, (uint32_t)features);
	cc_wr(VPCI_GFSELECT, 1);
	cc_wr(VPCI_GF, (uint32_t)(features >> 32));
	cc_wr(VPCI_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
			   VIRTIO_STATUS_FEATURES_OK);
}

#define ALL_OK (VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK | \
		VIRTIO_STATUS_DRIVER_OK)

/* Negotiated, queue 0 set up at RING0, DRIVER_OK. */
static void bring_up(void)
{
	negotiate(VIRTIO_BIT(VIRTIO_F_VERSION_1));
	queue_setup(0, QMAX, RING0);
	cc_wr(VPCI_STATUS, ALL_OK);
	cr_assert_eq(cc_rd(VPCI_STATUS), ALL_OK);
}

/* The driver makes one device-writable buffer available on queue 0 (avail index IDX). */
static void post_buffer(uint16_t idx)
{
	uint16_t slot = (uint16_t)(idx - 1) % QMAX;

	desc_at(RING0, slot, BUF, 64, VIRTQ_DESC_F_WRITE, 0);
	wr16(RING0 + 0x1000 + 4 + 2 * slot, slot);
	wr16(RING0 + 0x1000 + 2, idx);
}

static uint8_t cap_of(uint8_t id, uint8_t vndr_type)
{
	uint8_t off = (uint8_t)cfg_rd(PCI_CAPABILITY_LIST, 1);

	for (unsigned int n = 0; off && n < 48; n++) {
		if (cfg_rd(off, 1) == id &&
		    (id != PCI_CAP_ID_VNDR || cfg_rd(off + 3u, 1) == vndr_type))
			return off;
		off = (uint8_t)cfg_rd(off + 1u, 1);
	}
	return 0;
}

static void msix_on(bool fmask)
{
	cfg_wr(cap_of(PCI_CAP_ID_MSIX, 0) + 2u, 2,
	       MSIX_CTRL_ENABLE | (fmask ? MSIX_CTRL_FMASK : 0));
	cr_assert(msix_enabled(mx));
}

/* Programs MSI-X table entry V through the BAR; MASKED its Vector Control. */
static void vector_program(unsigned int v, uint32_t data, bool masked)
{
	uint64_t e = VPCI_MSIX_TABLE_OFF + 16ULL * v;

	bar_wr(e, 8, 0xfee00000ULL);
	bar_wr(e + 8, 4, data);
	bar_wr(e + 12, 4, masked ? MSIX_VECTOR_MASKED : 0);
}

/* Messages vector V sent since last asked (its eventfd, drained). */
static uint64_t fired(unsigned int v)
{
	uint64_t n = 0;

	if (read(mx->fd[v], &n, sizeof(n)) != sizeof(n)) {
		cr_assert_eq(errno, EAGAIN);
		return 0;
	}
	return n;
}

/* ---- configuration space ---- */

Test(virtio_pci, pci_ids)
{
	cr_assert_eq(cfg_rd(PCI_VENDOR_ID, 2), VIRTIO_PCI_VENDOR);
	cr_assert_eq(cfg_rd(PCI_VENDOR_ID, 2), 0x1af4);
	cr_assert_eq(cfg_rd(PCI_DEVICE_ID, 2), 0x1040 + DEV_ID);
	cr_assert_eq(cfg_rd(PCI_REVISION_ID, 1), 1, "modern devices have revision >= 1");
	cr_assert_eq(cfg_rd(PCI_REVISION_ID, 4), 0xff000000 | 1, "class: unassigned");
	cr_assert_eq(cfg_rd(PCI_SUBSYSTEM_VENDOR_ID, 2), 0x1af4);
	cr_assert_eq(cfg_rd(PCI_SUBSYSTEM_ID, 2), DEV_ID);
	cr_assert_eq(cfg_rd(PCI_HEADER_TYPE, 1), 0);
	cr_assert_eq(cfg_rd(PCI_INTERRUPT_PIN, 1), 0, "no INTx without a VM");
	cr_assert(cfg_rd(PCI_STATUS, 2) & PCI_STATUS_CAP_LIST);
	cfg_wr(PCI_VENDOR_ID, 4, 0xffffffff);
	cfg_wr(PCI_REVISION_ID, 4, 0);
	cfg_wr(PCI_SUBSYSTEM_VENDOR_ID, 4, 0);
	cr_assert_eq(cfg_rd(PCI_VENDOR_ID, 4), (0x1040u + DEV_ID) << 16 | 0x1af4, "read-only");
	cr_assert_eq(cfg_rd(PCI_REVISION_ID, 1), 1);
	cr_assert_eq(cfg_rd(PCI_SUBSYSTEM_ID, 2), DEV_ID);
}

Test(virtio_pci, class_codes)
{
	static const struct { uint32_t id, class_code; } c[] = {
		{ VIRTIO_ID_NET, 0x020000 }, { VIRTIO_ID_BLOCK, 0x018000 },
		{ VIRTIO_ID_RNG, 0xff0000 }, { VIRTIO_ID_VSOCK, 0xff0000 },
	};

	for (unsigned int i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		struct virtio_dev d = { .name = "other", .device_id = c[i].id, .ops = &fake_ops,
					.nr_queues = 1, .queue_max = 8 };
		struct virtio_transport *u;
		struct pci_func *g;

		u = virtio_pci_test_new(&d, &gm, r, &g);
		cr_assert_not_null(u);
		cr_assert_eq(pci_cfg_get(g, PCI_DEVICE_ID, 2), 0x1040 + c[i].id);
		cr_assert_eq(pci_cfg_get(g, PCI_REVISION_ID, 4) >> 8, c[i].class_code,
			     "device %u", c[i].id);
		virtio_pci_test_free(u);
	}
}

Test(virtio_pci, refuses_bad_device_descriptions)
{
	struct virtio_dev d = { .name = "bad", .device_id = 1, .ops = &fake_ops,
				.nr_queues = 0, .queue_max = 8 };
	struct pci_func *g = NULL;

	cr_assert_null(virtio_pci_test_new(&d, &gm, r, &g));
	d.nr_queues = VIRTIO_MAX_QUEUES + 1;
	cr_assert_null(virtio_pci_test_new(&d, &gm, r, &g));
	d.nr_queues = 1;
	d.queue_max = 12;
	cr_assert_null(virtio_pci_test_new(&d, &gm, r, &g));
	cr_assert_null(g);
}

Test(virtio_pci, capability_chain)
{
	struct { uint8_t len; uint32_t off, size; } want[6] = {
		[VIRTIO_PCI_CAP_COMMON_CFG] = { 16, VPCI_COMMON_OFF, VPCI_COMMON_LEN },
		[VIRTIO_PCI_CAP_NOTIFY_CFG] = { 20, 0x3000, 2 * 4 },
		[VIRTIO_PCI_CAP_ISR_CFG] = { 16, 0x1000, 1 },
		[VIRTIO_PCI_CAP_DEVICE_CFG] = { 16, 0x2000, sizeof(config) },
	};
	unsigned int seen[6] = { 0 }, msix = 0, n = 0;
	uint8_t off = (uint8_t)cfg_rd(PCI_CAPABILITY_LIST, 1);

	cr_assert_neq(off, 0);
	while (off) {
		cr_assert_lt(++n, 16, "the chain ends");
		cr_assert_geq(off, 0x40, "capabilities follow the header");
		cr_assert_eq(off & 3, 0, "dword aligned");
		if (cfg_rd(off, 1) == PCI_CAP_ID_VNDR &&
		    cfg_rd(off + 3u, 1) == VIRTIO_PCI_CAP_PCI_CFG) {
			/* The configuration access window: the driver's to program. */
			seen[VIRTIO_PCI_CAP_PCI_CFG]++;
			cr_assert_eq(cfg_rd(off + 2u, 1), 20, "cap_len of the PCI cfg cap");
		} else if (cfg_rd(off, 1) == PCI_CAP_ID_VNDR) {
			uint8_t type = (uint8_t)cfg_rd(off + 3u, 1);

			cr_assert(type >= VIRTIO_PCI_CAP_COMMON_CFG &&
				  type <= VIRTIO_PCI_CAP_DEVICE_CFG, "cfg_type %u", type);
			seen[type]++;
			cr_assert_eq(cfg_rd(off + 2u, 1), want[type].len, "cap_len of %u", type);
			cr_assert_eq(cfg_rd(off + 4u, 1), VPCI_BAR, "bar of %u", type);
			cr_assert_eq(cfg_rd(off + 8u, 4), want[type].off, "offset of %u", type);
			cr_assert_eq(cfg_rd(off + 12u, 4), want[type].size, "length of %u", type);
			cr_assert_leq(want[type].off + want[type].size, VPCI_BAR_SIZE);
			if (type == VIRTIO_PCI_CAP_NOTIFY_CFG)
				cr_assert_eq(cfg_rd(off + 16u, 4), 4, "notify_off_multiplier");
			/* Read-only to the guest. */
			cfg_wr(off + 8u, 4, 0x7000);
			cr_assert_eq(cfg_rd(off + 8u, 4), want[type].off);
		} else {
			cr_assert_eq(cfg_rd(off, 1), PCI_CAP_ID_MSIX, "unexpected cap 0x%x",
				     cfg_rd(off, 1));
			msix++;
			cr_assert_eq(cfg_rd(off + 2u, 2), NR_VECTORS - 1, "table size, off");
			cr_assert_eq(cfg_rd(off + 4u, 4), VPCI_MSIX_TABLE_OFF | VPCI_BAR);
			cr_assert_eq(cfg_rd(off + 8u, 4), VPCI_MSIX_PBA_OFF | VPCI_BAR);
		}
		off = (uint8_t)cfg_rd(off + 1u, 1);
	}
	for (unsigned int type = VIRTIO_PCI_CAP_COMMON_CFG; type <= VIRTIO_PCI_CAP_PCI_CFG;
	     type++)
		cr_assert_eq(seen[type], 1, "one capability of type %u", type);
	cr_assert_eq(msix, 1);
	cr_assert_eq(mx->nr, NR_VECTORS);
}

/* The PCI cfg capability's window (4.1.4.9): BAR0 through configuration space. */
Test(virtio_pci, pci_cfg_window)
{
	uint8_t off = (uint8_t)cfg_rd(PCI_CAPABILITY_LIST, 1);

	while (off && !(cfg_rd(off, 1) == PCI_CAP_ID_VNDR &&
			cfg_rd(off + 3u, 1) == VIRTIO_PCI_CAP_PCI_CFG))
		off = (uint8_t)cfg_rd(off + 1u, 1);
	cr_assert_neq(off, 0, "a VIRTIO_PCI_CAP_PCI_CFG capability");
	/* num_queues (2 bytes at 0x12 of the common configuration) through the window. */
	cfg_wr(off + 4u, 1, VPCI_BAR);
	cfg_wr(off + 8u, 4, VPCI_COMMON_OFF + VPCI_NUM_QUEUES);
	cfg_wr(off + 12u, 4, 2);
	cr_assert_eq(cfg_rd(off + 16u, 2), 2, "num_queues read through pci_cfg_data");
	/* A write: queue_select through the window, read back through the BAR. */
	cfg_wr(off + 8u, 4, VPCI_COMMON_OFF + VPCI_Q_SELECT);
	cfg_wr(off + 16u, 2, 1);
	cr_assert_eq(cc_rd(VPCI_Q_SELECT), 1);
	/* Misaligned, odd length, another BAR, past the BAR: nothing, reads zero. */
	cfg_wr(off + 8u, 4, VPCI_COMMON_OFF + VPCI_NUM_QUEUES + 1);
	cr_assert_eq(cfg_rd(off + 16u, 4), 0);
	cfg_wr(off + 8u, 4, VPCI_COMMON_OFF + VPCI_NUM_QUEUES);
	cfg_wr(off + 12u, 4, 3);
	cr_assert_eq(cfg_rd(off + 16u, 4), 0);
	cfg_wr(off + 12u, 4, 2);
	cfg_wr(off + 4u, 1, 2);
	cr_assert_eq(cfg_rd(off + 16u, 4), 0);
	cfg_wr(off + 4u, 1, VPCI_BAR);
	cfg_wr(off + 8u, 4, VPCI_BAR_SIZE - 2);
	cfg_wr(off + 12u, 4, 4);
	cr_assert_eq(cfg_rd(off + 16u, 4), 0);
}

Test(virtio_pci, no_device_cfg_without_config_space)
{
	struct virtio_dev d = { .name = "bare", .device_id = 7, .ops = &fake_ops,
				.nr_queues = 1, .queue_max = 8 };
	struct virtio_transport *u;
	struct pci_func *g;
	uint8_t off;
	unsigned int n = 0;

	u = virtio_pci_test_new(&d, &gm, r, &g);
	cr_assert_not_null(u);
	for (off = g->cfg[PCI_CAPABILITY_LIST]; off; off = g->cfg[off + 1]) {
		cr_assert_lt(++n, 16);
		if (g->cfg[off] == PCI_CAP_ID_VNDR)
			cr_assert_neq(g->cfg[off + 3], VIRTIO_PCI_CAP_DEVICE_CFG);
	}
	cr_assert_eq(n, 5, "common, notify, ISR, PCI cfg window, MSI-X");
	virtio_pci_test_free(u);
}

Test(virtio_pci, bar0_sizing)
{
	cr_assert_eq(cfg_rd(PCI_BASE_ADDRESS_0, 4), PCI_BAR_MEM_64, "64-bit, address 0");
	cfg_wr(PCI_BASE_ADDRESS_0, 4, 0xffffffff);
	cfg_wr(PCI_BASE_ADDRESS_0 + 4, 4, 0xffffffff);
	cr_assert_eq(cfg_rd(PCI_BASE_ADDRESS_0, 4), ~(uint32_t)(VPCI_BAR_SIZE - 1) | PCI_BAR_MEM_64);
	cr_assert_eq(cfg_rd(PCI_BASE_ADDRESS_0, 4), 0xffff8004);
	cr_assert_eq(cfg_rd(PCI_BASE_ADDRESS_0 + 4, 4), 0xffffffff);
	cfg_wr(PCI_BASE_ADDRESS_0, 4, 0xc0010000);
	cfg_wr(PCI_BASE_ADDRESS_0 + 4, 4, 0);
	cr_assert_eq(pci_bar_addr(f, VPCI_BAR), 0xc0010000);
	for (uint32_t b = PCI_BASE_ADDRESS_0 + 8; b < PCI_BASE_ADDRESS_0 + 24; b += 4) {
		cfg_wr(b, 4, 0xffffffff);
		cr_assert_eq(cfg_rd(b, 4), 0, "no BAR at 0x%x", b);
	}
	cr_assert_eq(f->bar_size[VPCI_BAR], VPCI_BAR_SIZE);
}

/* ---- the common configuration structure ---- */

Test(virtio_pci, feature_negotiation)
{
	cr_assert_eq(cc_rd(VPCI_DFSELECT), 0);
	cr_assert_eq(cc_rd(VPCI_DF), (1u << 3) | (1u << VIRTIO_F_EVENT_IDX));
	cc_wr(VPCI_DFSELECT, 1);
	cr_assert_eq(cc_rd(VPCI_DFSELECT), 1);
	cr_assert_eq(cc_rd(VPCI_DF), 1, "VERSION_1");
	cc_wr(VPCI_DFSELECT, 2);
	cr_assert_eq(cc_rd(VPCI_DF), 0);
	cc_wr(VPCI_DFSELECT, 0xffffffff);
	cr_assert_eq(cc_rd(VPCI_DF), 0);
	cc_wr(VPCI_DF, 0);			/* read-only */
	cc_wr(VPCI_DFSELECT, 0);
	cr_assert_eq(cc_rd(VPCI_DF), (1u << 3) | (1u << VIRTIO_F_EVENT_IDX));

	cc_wr(VPCI_GF, 1u << 3);
	cr_assert_eq(cc_rd(VPCI_GF), 0, "not before DRIVER");
	cc_wr(VPCI_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
	cc_wr(VPCI_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	cc_wr(VPCI_GFSELECT, 0);
	cc_wr(VPCI_GF, 1u << VIRTIO_F_EVENT_IDX);
	cc_wr(VPCI_GFSELECT, 1);
	cr_assert_eq(cc_rd(VPCI_GFSELECT), 1);
	cc_wr(VPCI_GF, 1);
	cr_assert_eq(cc_rd(VPCI_GF), 1);
	cc_wr(VPCI_GFSELECT, 2);
	cc_wr(VPCI_GF, 0xffffffff);
	cr_assert_eq(cc_rd(VPCI_GF), 0);
	cc_wr(VPCI_GFSELECT, 0);
	cr_assert_eq(cc_rd(VPCI_GF), 1u << VIRTIO_F_EVENT_IDX);
	cc_wr(VPCI_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
			   VIRTIO_STATUS_FEATURES_OK);
	cr_assert(cc_rd(VPCI_STATUS) & VIRTIO_STATUS_FEATURES_OK);
	cr_assert_eq(dev.acked, VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_F_EVENT_IDX));
	cc_wr(VPCI_GF, 1u << 3);
	cr_assert_eq(cc_rd(VPCI_GF), 1u << VIRTIO_F_EVENT_IDX, "fixed after FEATURES_OK");
	queue_setup(0, QMAX, RING0);
	cc_wr(VPCI_STATUS, ALL_OK);
	cr_assert_eq(activated, 1);
	cr_assert(dev.vqs[0].event_idx);
	cr_assert_eq(dev.acked, VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_F_EVENT_IDX));
}

Test(virtio_pci, features_never_offered_refused)
{
	negotiate(VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(5));
	cr_assert_eq(cc_rd(VPCI_STATUS) & VIRTIO_STATUS_FEATURES_OK, 0);
	cr_assert_eq(dev.acked, 0);
	cc_wr(VPCI_STATUS, 0);
	negotiate(VIRTIO_BIT(3));		/* legacy: no VERSION_1 */
	cr_assert_eq(cc_rd(VPCI_STATUS) & VIRTIO_STATUS_FEATURES_OK, 0);
}

Test(virtio_pci, num_queues_and_select_past_the_end)
{
	cr_assert_eq(cc_rd(VPCI_NUM_QUEUES), 2);
	cc_wr(VPCI_NUM_QUEUES, 7);
	cr_assert_eq(cc_rd(VPCI_NUM_QUEUES), 2, "read-only");
	negotiate(VIRTIO_BIT(VIRTIO_F_VERSION_1));
	for (uint32_t q = 2; q <= 0xffff; q = q * 2 + 1) {
		cc_wr(VPCI_Q_SELECT, q);
		cr_assert_eq(cc_rd(VPCI_Q_SELECT), q);
		cr_assert_eq(cc_rd(VPCI_Q_SIZE), 0, "queue %u: no such queue", q);
		cc_wr(VPCI_Q_SIZE, 8);
		cc_wr(VPCI_Q_MSIX, 0);
		cc_wr(VPCI_Q_DESCLO, (uint32_t)RING0);
		cc_wr(VPCI_Q_ENABLE, 1);
		cr_assert_eq(cc_rd(VPCI_Q_SIZE), 0);
		cr_assert_eq(cc_rd(VPCI_Q_MSIX), VIRTIO_MSI_NO_VECTOR);
		cr_assert_eq(cc_rd(VPCI_Q_ENABLE), 0);
		cr_assert_eq(cc_rd(VPCI_Q_NOFF), 0);
		cr_assert_eq(cc_rd(VPCI_Q_DESCLO), 0);
	}
	for (unsigned int q = 2; q < VIRTIO_MAX_QUEUES; q++) {
		cr_assert_eq(dev.vqs[q].size, 0, "queue %u untouched", q);
		cr_assert_eq(dev.vqs[q].desc_gpa, 0);
		cr_assert_not(dev.vqs[q].ready);
	}
	cr_assert_eq(cc_rd(VPCI_STATUS) & VIRTIO_STATUS_NEEDS_RESET, 0);
}

Test(virtio_pci, queue_size_defaults_to_max)
{
	for (unsigned int q = 0; q < 2; q++) {
		cc_wr(VPCI_Q_SELECT, q);
		cr_assert_eq(cc_rd(VPCI_Q_SIZE), QMAX);
		cr_assert_eq(cc_rd(VPCI_Q_NOFF), q, "queue_notify_off");
		cr_assert_eq(cc_rd(VPCI_Q_ENABLE), 0);
		cr_assert_eq(cc_rd(VPCI_Q_MSIX), VIRTIO_MSI_NO_VECTOR);
	}
	cc_wr(VPCI_Q_SELECT, 1);
	cc_wr(VPCI_Q_SIZE, 4);
	cr_assert_eq(cc_rd(VPCI_Q_SIZE), 4);
	cc_wr(VPCI_Q_SELECT, 0);
	cr_assert_eq(cc_rd(VPCI_Q_SIZE), QMAX, "per queue");
	/* Enabled without writing a size: the maximum. */
	negotiate(VIRTIO_BIT(VIRTIO_F_VERSION_1));
	cc_wr(VPCI_Q_SELECT, 0);
	cc_wr(VPCI_Q_DESCLO, (uint32_t)RING0);
	cc_wr(VPCI_Q_AVAILLO, (uint32_t)RING0 + 0x1000);
	cc_wr(VPCI_Q_USEDLO, (uint32_t)RING0 + 0x2000);
	cc_wr(VPCI_Q_ENABLE, 1);
	cr_assert_eq(cc_rd(VPCI_Q_ENABLE), 1);
	cr_assert_eq(dev.vqs[0].size, QMAX);
}

Test(virtio_pci, queue_fields_frozen_once_enabled)
{
	negotiate(VIRTIO_BIT(VIRTIO_F_VERSION_1));
	cc_wr(VPCI_Q_SELECT, 0);
	cc_wr(VPCI_Q_MSIX, 1);
	queue_setup(0, 8, RING0);
	cr_assert_eq(cc_rd(VPCI_Q_ENABLE), 1);
	cc_wr(VPCI_Q_SIZE, 4);
	cc_wr(VPCI_Q_DESCLO, 0x40000);
	cc_wr(VPCI_Q_DESCHI, 1);
	cc_wr(VPCI_Q_AVAILLO, 0x41000);
	cc_wr(VPCI_Q_USEDHI, 2);
	cc_wr(VPCI_Q_MSIX, 2);
	cc_wr(VPCI_Q_ENABLE, 0);
	cr_assert_eq(cc_rd(VPCI_Q_SIZE), 8);
	cr_assert_eq(cc_rd(VPCI_Q_DESCLO), (uint32_t)RING0);
	cr_assert_eq(cc_rd(VPCI_Q_DESCHI), 0);
	cr_assert_eq(cc_rd(VPCI_Q_AVAILLO), (uint32_t)RING0 + 0x1000);
	cr_assert_eq(cc_rd(VPCI_Q_USEDLO), (uint32_t)RING0 + 0x2000);
	cr_assert_eq(cc_rd(VPCI_Q_USEDHI), 0);
	cr_assert_eq(cc_rd(VPCI_Q_MSIX), 1);
	cr_assert_eq(cc_rd(VPCI_Q_ENABLE), 1, "queue_enable cannot be cleared");
	cr_assert_eq(dev.vqs[0].size, 8);
	cr_assert_eq(dev.vqs[0].desc_gpa, RING0);
	/* Queue 1 is still open. */
	cc_wr(VPCI_Q_SELECT, 1);
	cc_wr(VPCI_Q_SIZE, 4);
	cr_assert_eq(cc_rd(VPCI_Q_SIZE), 4);
}

Test(virtio_pci, queue_enable_outside_ram_needs_reset)
{
	negotiate(VIRTIO_BIT(VIRTIO_F_VERSION_1));
	queue_setup(0, QMAX, 1 * MiB - 0x800);	/* avail and used rings beyond RAM */
	cr_assert_eq(cc_rd(VPCI_Q_ENABLE), 0);
	cr_assert(cc_rd(VPCI_STATUS) & VIRTIO_STATUS_NEEDS_RESET);
	cr_assert_eq(cc_rd(VPCI_STATUS) & VIRTIO_STATUS_NEEDS_RESET, 64);
	cr_assert_not(dev.vqs[0].ready);
	cc_wr(VPCI_STATUS, ALL_OK);
	cr_assert_eq(activated, 0, "not activated while it needs a reset");
	cc_wr(VPCI_STATUS, 0);
	cr_assert_eq(cc_rd(VPCI_STATUS), 0);
	negotiate(VIRTIO_BIT(VIRTIO_F_VERSION_1));
	queue_setup(0, 12, RING0);		/* not a power of two */
	cr_assert_eq(cc_rd(VPCI_Q_ENABLE), 0);
	cr_assert(cc_rd(VPCI_STATUS) & VIRTIO_STATUS_NEEDS_RESET);
	cc_wr(VPCI_STATUS, 0);
	negotiate(VIRTIO_BIT(VIRTIO_F_VERSION_1));
	queue_setup(0, QMAX, 0xfffff000ULL << 20);	/* far above RAM, 64-bit */
	cr_assert_eq(cc_rd(VPCI_Q_ENABLE), 0);
	cr_assert(cc_rd(VPCI_STATUS) & VIRTIO_STATUS_NEEDS_RESET);
}

Test(virtio_pci, msix_vectors_beyond_the_table)
{
	cc_wr(VPCI_MSIX_CONFIG, NR_VECTORS - 1);
	cr_assert_eq(cc_rd(VPCI_MSIX_CONFIG), NR_VECTORS - 1);
	cc_wr(VPCI_MSIX_CONFIG, NR_VECTORS);
	cr_assert_eq(cc_rd(VPCI_MSIX_CONFIG), VIRTIO_MSI_NO_VECTOR, "mapping failed");
	cc_wr(VPCI_MSIX_CONFIG, 0x8000);
	cr_assert_eq(cc_rd(VPCI_MSIX_CONFIG), VIRTIO_MSI_NO_VECTOR);
	cc_wr(VPCI_MSIX_CONFIG, 0);
	cr_assert_eq(cc_rd(VPCI_MSIX_CONFIG), 0);
	cc_wr(VPCI_MSIX_CONFIG, VIRTIO_MSI_NO_VECTOR);
	cr_assert_eq(cc_rd(VPCI_MSIX_CONFIG), VIRTIO_MSI_NO_VECTOR);

	cc_wr(VPCI_Q_SELECT, 0);
	cc_wr(VPCI_Q_MSIX, 1);
	cc_wr(VPCI_Q_SELECT, 1);
	cc_wr(VPCI_Q_MSIX, 2);
	cr_assert_eq(cc_rd(VPCI_Q_MSIX), 2);
	cc_wr(VPCI_Q_MSIX, NR_VECTORS);
	cr_assert_eq(cc_rd(VPCI_Q_MSIX), VIRTIO_MSI_NO_VECTOR);
	cc_wr(VPCI_Q_MSIX, 0xfffe);
	cr_assert_eq(cc_rd(VPCI_Q_MSIX), VIRTIO_MSI_NO_VECTOR);
	cc_wr(VPCI_Q_SELECT, 0);
	cr_assert_eq(cc_rd(VPCI_Q_MSIX), 1, "per queue");
}

Test(virtio_pci, reset_restores_vectors_and_queues)
{
	cc_wr(VPCI_MSIX_CONFIG, 2);
	cc_wr(VPCI_Q_SELECT, 0);
	cc_wr(VPCI_Q_MSIX, 0);
	cc_wr(VPCI_Q_SELECT, 1);
	cc_wr(VPCI_Q_MSIX, 1);
	negotiate(VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_F_EVENT_IDX));
	queue_setup(0, 8, RING0);
	queue_setup(1, QMAX, RING1);
	cc_wr(VPCI_DFSELECT, 1);
	cc_wr(VPCI_STATUS, ALL_OK);
	cr_assert_eq(activated, 1);

	cc_wr(VPCI_STATUS, 0);
	cr_assert_eq(resets, 1);
	cr_assert_eq(cc_rd(VPCI_STATUS), 0);
	cr_assert_eq(dev.acked, 0);
	cr_assert_eq(cc_rd(VPCI_MSIX_CONFIG), VIRTIO_MSI_NO_VECTOR);
	cr_assert_eq(cc_rd(VPCI_Q_SELECT), 0);
	cr_assert_eq(cc_rd(VPCI_DFSELECT), 0);
	cr_assert_eq(cc_rd(VPCI_GFSELECT), 0);
	for (unsigned int q = 0; q < 2; q++) {
		cc_wr(VPCI_Q_SELECT, q);
		cr_assert_eq(cc_rd(VPCI_Q_MSIX), VIRTIO_MSI_NO_VECTOR, "queue %u", q);
		cr_assert_eq(cc_rd(VPCI_Q_ENABLE), 0);
		cr_assert_eq(cc_rd(VPCI_Q_SIZE), QMAX);
		cr_assert_eq(cc_rd(VPCI_Q_DESCLO), 0);
		cr_assert_eq(cc_rd(VPCI_Q_USEDLO), 0);
	}
	cr_assert_eq(cc_rd(VPCI_GF), 0);
	/* The device can be brought up again. */
	bring_up();
	cr_assert_eq(activated, 2);
}

Test(virtio_pci, status_machine)
{
	negotiate(VIRTIO_BIT(VIRTIO_F_VERSION_1));
	cc_wr(VPCI_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
	cr_assert_eq(cc_rd(VPCI_STATUS), VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
					      VIRTIO_STATUS_FEATURES_OK, "bits cannot be cleared");
	cc_wr(VPCI_STATUS, ALL_OK | VIRTIO_STATUS_NEEDS_RESET);
	cr_assert_eq(cc_rd(VPCI_STATUS), ALL_OK, "NEEDS_RESET is the device's");
	cr_assert_eq(activated, 1);
}

Test(virtio_pci, config_generation)
{
	cr_assert_eq(cc_rd(VPCI_CFG_GENERATION), 0);
	virtio_notify_config(&dev);
	cr_assert_eq(cc_rd(VPCI_CFG_GENERATION), 1);
	cc_wr(VPCI_CFG_GENERATION, 0);
	cr_assert_eq(cc_rd(VPCI_CFG_GENERATION), 1, "read-only");
}

Test(virtio_pci, wrong_width_ignored)
{
	negotiate(VIRTIO_BIT(VIRTIO_F_VERSION_1));
	bar_wr(VPCI_Q_SELECT, 4, 1);			/* a word field, as a dword */
	cr_assert_eq(cc_rd(VPCI_Q_SELECT), 0);
	bar_wr(VPCI_Q_SELECT, 1, 1);
	cr_assert_eq(cc_rd(VPCI_Q_SELECT), 0);
	bar_wr(VPCI_Q_SIZE, 4, 4);
	cr_assert_eq(cc_rd(VPCI_Q_SIZE), QMAX);
	bar_wr(VPCI_STATUS, 2, 0);			/* a byte field, as a word: no reset */
	cr_assert_eq(resets, 0);
	bar_wr(VPCI_STATUS, 4, 0);
	cr_assert_eq(resets, 0);
	cr_assert(cc_rd(VPCI_STATUS) & VIRTIO_STATUS_FEATURES_OK);
	bar_wr(VPCI_DFSELECT, 2, 1);			/* a dword field, as a word */
	bar_wr(VPCI_DFSELECT, 1, 1);
	cr_assert_eq(cc_rd(VPCI_DFSELECT), 0);
	bar_wr(VPCI_MSIX_CONFIG, 4, 0);
	cr_assert_eq(cc_rd(VPCI_MSIX_CONFIG), VIRTIO_MSI_NO_VECTOR);
	bar_wr(VPCI_Q_SELECT + 1, 1, 1);		/* inside a field */
	bar_wr(0x13, 1, 1);
	cr_assert_eq(cc_rd(VPCI_Q_SELECT), 0);

	cr_assert_eq(bar_rd(VPCI_NUM_QUEUES, 1), 0);
	cr_assert_eq(bar_rd(VPCI_NUM_QUEUES, 4), 0);
	cr_assert_eq(bar_rd(VPCI_DF, 2), 0);
	cr_assert_eq(bar_rd(VPCI_DF, 1), 0);
	cr_assert_eq(bar_rd(VPCI_DF, 8), 0, "no 64-bit field there");
	cr_assert_eq(bar_rd(VPCI_STATUS, 2), 0);
	cr_assert_eq(bar_rd(VPCI_NUM_QUEUES + 1, 1), 0);
	cr_assert_eq(bar_rd(VPCI_COMMON_LEN, 4), 0, "past the structure");
	cr_assert_eq(bar_rd(0xffc, 4), 0);
	/* A qword access to two dword fields that do not form one 64-bit field. */
	cc_wr(VPCI_GFSELECT, 0);
	bar_wr(VPCI_GFSELECT, 8, 1);
	cr_assert_eq(cc_rd(VPCI_GFSELECT), 0);
	cr_assert_eq(bar_rd(VPCI_DFSELECT, 8), 0);
}

Test(virtio_pci, queue_addresses_64bit_accesses)
{
	negotiate(VIRTIO_BIT(VIRTIO_F_VERSION_1));
	cc_wr(VPCI_Q_SELECT, 1);
	bar_wr(VPCI_Q_DESCLO, 8, 0x123456789abcdef0ULL);
	bar_wr(VPCI_Q_AVAILLO, 8, 0x0000000100002000ULL);
	bar_wr(VPCI_Q_USEDLO, 8, 0xfedcba9800004000ULL);
	cr_assert_eq(dev.vqs[1].desc_gpa, 0x123456789abcdef0ULL);
	cr_assert_eq(dev.vqs[1].avail_gpa, 0x0000000100002000ULL);
	cr_assert_eq(dev.vqs[1].used_gpa, 0xfedcba9800004000ULL);
	cr_assert_eq(cc_rd(VPCI_Q_DESCLO), 0x9abcdef0);
	cr_assert_eq(cc_rd(VPCI_Q_DESCHI), 0x12345678);
	cr_assert_eq(bar_rd(VPCI_Q_DESCLO, 8), 0x123456789abcdef0ULL);
	cr_assert_eq(bar_rd(VPCI_Q_AVAILLO, 8), 0x0000000100002000ULL);
	cr_assert_eq(bar_rd(VPCI_Q_USEDLO, 8), 0xfedcba9800004000ULL);
	/* The halves on their own. */
	cc_wr(VPCI_Q_DESCHI, 0);
	cr_assert_eq(dev.vqs[1].desc_gpa, 0x9abcdef0ULL);
	cc_wr(VPCI_Q_DESCLO, 0x20000);
	cr_assert_eq(dev.vqs[1].desc_gpa, 0x20000ULL);
	/* Misaligned qwords, across two fields, go nowhere. */
	bar_wr(VPCI_Q_DESCHI, 8, 0xffffffffffffffffULL);
	bar_wr(VPCI_Q_USEDHI, 8, 0xffffffffffffffffULL);
	cr_assert_eq(dev.vqs[1].desc_gpa, 0x20000ULL);
	cr_assert_eq(dev.vqs[1].avail_gpa, 0x0000000100002000ULL);
	cr_assert_eq(dev.vqs[1].used_gpa, 0xfedcba9800004000ULL);
	cr_assert_eq(bar_rd(VPCI_Q_DESCHI, 8), 0);
	/* And the 64-bit rings work: a queue set up with qword writes comes up. */
	bar_wr(VPCI_Q_AVAILLO, 8, RING1 + 0x1000);
	bar_wr(VPCI_Q_USEDLO, 8, RING1 + 0x2000);
	cc_wr(VPCI_Q_ENABLE, 1);
	cr_assert_eq(cc_rd(VPCI_Q_ENABLE), 1);
}

/* ---- device configuration and the rest of the BAR ---- */

Test(virtio_pci, device_config)
{
	cr_assert_eq(bar_rd(VPCI_DEVICE_OFF, 1), 1);
	cr_assert_eq(bar_rd(VPCI_DEVICE_OFF + 2, 2), 0x0403);
	cr_assert_eq(bar_rd(VPCI_DEVICE_OFF + 4, 4), 0x08070605);
	cr_assert_eq(bar_rd(VPCI_DEVICE_OFF + 4, 8), 0x0c0b0a0908070605ULL);
	cr_assert_eq(bar_rd(VPCI_DEVICE_OFF + 11, 1), 12, "the last byte");
	cr_assert_eq(bar_rd(VPCI_DEVICE_OFF + 8, 8), 0, "runs past the end");
	cr_assert_eq(bar_rd(VPCI_DEVICE_OFF + 12, 1), 0);
	cr_assert_eq(bar_rd(VPCI_DEVICE_OFF + 12, 4), 0);
	cr_assert_eq(bar_rd(VPCI_DEVICE_OFF + 0x100, 4), 0);
	cr_assert_eq(bar_rd(VPCI_DEVICE_OFF + 0xffc, 4), 0);
	bar_wr(VPCI_DEVICE_OFF + 4, 4, 0xaabbccdd);
	cr_assert_eq(config[4], 0xdd);
	cr_assert_eq(config[7], 0xaa);
	bar_wr(VPCI_DEVICE_OFF + 10, 4, 0xffffffff);	/* past the end: dropped */
	cr_assert_eq(config[10], 11);
	cr_assert_eq(config[11], 12);
}

Test(virtio_pci, rest_of_the_bar_reads_zero)
{
	cr_assert_eq(bar_rd(VPCI_ISR_OFF + 1, 1), 0);
	cr_assert_eq(bar_rd(VPCI_ISR_OFF + 4, 4), 0);
	cr_assert_eq(bar_rd(VPCI_NOTIFY_OFF, 2), 0, "notifications are write-only");
	cr_assert_eq(bar_rd(VPCI_NOTIFY_OFF + 4, 4), 0);
	cr_assert_eq(bar_rd(0x6000, 4), 0, "nothing at 0x6000");
	cr_assert_eq(bar_rd(0x7ff8, 8), 0);
	bar_wr(0x6000, 4, 0xffffffff);
	bar_wr(VPCI_ISR_OFF, 1, 0xff);
	cr_assert_eq(bar_rd(VPCI_ISR_OFF, 1), 0, "the ISR is read-only");
	/* Nothing beyond the BAR, nothing straddling two structures. */
	bar_wr(VPCI_BAR_SIZE, 4, 0);
	bar_wr(VPCI_COMMON_OFF + 0xffe, 4, 0xffffffff);
	bar_wr(UINT64_MAX - 3, 4, 0);
	cr_assert_eq(cc_rd(VPCI_STATUS), 0);
	cr_assert_eq(dev.vqs[0].size, 0);
}

/* ---- notifications ---- */

Test(virtio_pci, notify_runs_the_device_inline)
{
	negotiate(VIRTIO_BIT(VIRTIO_F_VERSION_1));
	queue_setup(0, QMAX, RING0);
	bar_wr(VPCI_NOTIFY_OFF, 2, 0);
	cr_assert_eq(notified[0], 0, "not before DRIVER_OK");
	cc_wr(VPCI_STATUS, ALL_OK);
	cr_assert_eq(notified[0], 1, "a kick at DRIVER_OK for the ready queue");
	bar_wr(VPCI_NOTIFY_OFF + 4 * 0, 2, 0);
	cr_assert_eq(notified[0], 2);
	bar_wr(VPCI_NOTIFY_OFF + 4 * 0, 4, 0);
	cr_assert_eq(notified[0], 3, "any width");
	bar_wr(VPCI_NOTIFY_OFF + 4 * 1, 2, 1);
	cr_assert_eq(notified[1], 0, "queue 1 was never enabled");
	bar_wr(VPCI_NOTIFY_OFF + 4 * 2, 2, 2);		/* no such queue */
	bar_wr(VPCI_NOTIFY_OFF + 4 * 7, 2, 7);
	bar_wr(VPCI_NOTIFY_OFF + 4 * 1000, 2, 0);
	bar_wr(VPCI_NOTIFY_OFF + 2, 2, 0);		/* misaligned */
	bar_wr(VPCI_NOTIFY_OFF + 1, 1, 0);
	cr_assert_eq(notified[0], 3);
	cr_assert_eq(notified[1], 0);
	/* A buffer made available is taken on the next notification. */
	post_buffer(1);
	bar_wr(VPCI_NOTIFY_OFF, 2, 0);
	cr_assert_eq(handled, 1);
	cr_assert_eq(rd16(RING0 + 0x2000 + 2), 1, "used index");
	cr_assert_eq(rd32(RING0 + 0x2000 + 4), 0, "used element: head 0");
}

/* A handler that defers a chain (a rate limiter out of tokens) leaves it on the ring, used
 * untouched, and the next pass takes it. */
Test(virtio_pci, deferred_chain_stays_available)
{
	negotiate(VIRTIO_BIT(VIRTIO_F_VERSION_1));
	queue_setup(0, QMAX, RING0);
	cc_wr(VPCI_STATUS, ALL_OK);
	post_buffer(1);
	defer = 1;
	bar_wr(VPCI_NOTIFY_OFF, 2, 0);
	cr_assert_eq(handled, 0);
	cr_assert_eq(rd16(RING0 + 0x2000 + 2), 0, "nothing used while deferred");
	bar_wr(VPCI_NOTIFY_OFF, 2, 0);
	cr_assert_eq(handled, 1, "taken again on the next pass");
	cr_assert_eq(rd16(RING0 + 0x2000 + 2), 1, "used index");
}

Test(virtio_pci, notify_after_reset_ignored)
{
	bring_up();
	cc_wr(VPCI_STATUS, 0);
	bar_wr(VPCI_NOTIFY_OFF, 2, 0);
	cr_assert_eq(notified[0], 1, "only the DRIVER_OK kick before the reset");
}

/* ---- interrupts ---- */

Test(virtio_pci, msix_used_buffer_fires_queue_vector)
{
	msix_on(false);
	vector_program(0, 0x40, false);
	vector_program(1, 0x41, false);
	vector_program(2, 0x42, false);
	cc_wr(VPCI_MSIX_CONFIG, 2);
	cc_wr(VPCI_Q_SELECT, 0);
	cc_wr(VPCI_Q_MSIX, 1);
	cr_assert_eq(cc_rd(VPCI_Q_MSIX), 1);
	bring_up();
	cr_assert_eq(fired(1), 0, "nothing used yet");
	post_buffer(1);
	bar_wr(VPCI_NOTIFY_OFF, 2, 0);
	cr_assert_eq(handled, 1);
	cr_assert_eq(fired(1), 1, "queue 0's vector");
	cr_assert_eq(fired(0), 0);
	cr_assert_eq(fired(2), 0);
	cr_assert_eq(bar_rd(VPCI_ISR_OFF, 1), 0, "the ISR is not used with MSI-X");
	virtio_notify_config(&dev);
	cr_assert_eq(fired(2), 1, "configuration vector");
	cr_assert_eq(fired(1), 0);
	/* The routes the guest programmed reached the routing table. */
	for (unsigned int v = 0; v < NR_VECTORS; v++) {
		const struct irq_msi *m = &r->msi[mx->gsi[v] - r->first_msi_gsi];

		cr_assert(m->valid);
		cr_assert_eq(m->addr, 0xfee00000);
		cr_assert_eq(m->data, 0x40 + v);
	}
}

Test(virtio_pci, msix_no_vector_no_interrupt)
{
	msix_on(false);
	for (unsigned int v = 0; v < NR_VECTORS; v++)
		vector_program(v, 0x40 + v, false);
	bring_up();			/* vectors left at NO_VECTOR */
	post_buffer(1);
	bar_wr(VPCI_NOTIFY_OFF, 2, 0);
	virtio_notify_config(&dev);
	cr_assert_eq(handled, 1);
	for (unsigned int v = 0; v < NR_VECTORS; v++)
		cr_assert_eq(fired(v), 0, "vector %u", v);
	cr_assert_eq(bar_rd(VPCI_ISR_OFF, 1), 0);
	cr_assert_eq(mx->pba, 0);
}

Test(virtio_pci, msix_masked_vector_pends_in_pba)
{
	msix_on(false);
	vector_program(1, 0x41, true);
	cc_wr(VPCI_Q_SELECT, 0);
	cc_wr(VPCI_Q_MSIX, 1);
	bring_up();
	post_buffer(1);
	bar_wr(VPCI_NOTIFY_OFF, 2, 0);
	cr_assert_eq(fired(1), 0, "masked");
	cr_assert_eq(bar_rd(VPCI_MSIX_PBA_OFF, 8), 1ULL << 1);
	cr_assert_eq(bar_rd(VPCI_MSIX_TABLE_OFF + 16 + 8, 4), 0x41);
	bar_wr(VPCI_MSIX_TABLE_OFF + 16 + 12, 4, 0);
	cr_assert_eq(fired(1), 1, "sent on unmask");
	cr_assert_eq(bar_rd(VPCI_MSIX_PBA_OFF, 8), 0);
	/* The same with the function mask. */
	msix_on(true);
	post_buffer(2);
	bar_wr(VPCI_NOTIFY_OFF, 2, 0);
	cr_assert_eq(fired(1), 0);
	cr_assert_eq(bar_rd(VPCI_MSIX_PBA_OFF, 4), 1u << 1);
	msix_on(false);
	cr_assert_eq(fired(1), 1);
}

Test(virtio_pci, needs_reset_raises_config_vector)
{
	msix_on(false);
	vector_program(2, 0x42, false);
	cc_wr(VPCI_MSIX_CONFIG, 2);
	bring_up();
	wr16(RING0 + 0x1000 + 2, 100);		/* the avail index jumps past the queue size */
	bar_wr(VPCI_NOTIFY_OFF, 2, 0);
	cr_assert_eq(notified[0], 2);
	cr_assert(cc_rd(VPCI_STATUS) & VIRTIO_STATUS_NEEDS_RESET);
	cr_assert_eq(fired(2), 1);
	cr_assert_eq(cc_rd(VPCI_CFG_GENERATION), 1);
	bar_wr(VPCI_NOTIFY_OFF, 2, 0);
	cr_assert_eq(notified[0], 2, "the device is left alone until reset");
}

Test(virtio_pci, isr_without_msix)
{
	cc_wr(VPCI_Q_SELECT, 0);
	cc_wr(VPCI_Q_MSIX, 1);		/* ignored while MSI-X is off */
	bring_up();
	cr_assert_not(msix_enabled(mx));
	cr_assert_eq(bar_rd(VPCI_ISR_OFF, 1), 0);
	post_buffer(1);
	bar_wr(VPCI_NOTIFY_OFF, 2, 0);
	cr_assert_eq(handled, 1);
	cr_assert_eq(bar_rd(VPCI_ISR_OFF, 1), VIRTIO_INT_VRING);
	cr_assert_eq(bar_rd(VPCI_ISR_OFF, 1), 0, "reading cleared it");
	virtio_notify_config(&dev);
	post_buffer(2);
	bar_wr(VPCI_NOTIFY_OFF, 2, 0);
	cr_assert_eq(bar_rd(VPCI_ISR_OFF, 4), VIRTIO_INT_VRING | VIRTIO_INT_CONFIG);
	cr_assert_eq(bar_rd(VPCI_ISR_OFF, 4), 0);
	for (unsigned int v = 0; v < NR_VECTORS; v++)
		cr_assert_eq(fired(v), 0, "no MSI-X message with MSI-X off");
	cr_assert_eq(mx->pba, 0, "nor a pending bit");
}

Test(virtio_pci, isr_cleared_by_reset)
{
	bring_up();
	virtio_notify_config(&dev);
	cc_wr(VPCI_STATUS, 0);
	cr_assert_eq(bar_rd(VPCI_ISR_OFF, 1), 0);
}
