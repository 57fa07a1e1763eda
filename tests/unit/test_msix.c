/*
 * Unit tests for MSI-X (vmm/msix.c) without KVM: the capability as the guest sees it in
 * configuration space, Message Control written through the masked configuration space, the
 * vector table and PBA as a guest (or a hostile one) accesses them, masking and pending bits
 * (a vector is an eventfd: readable once it fired), and the MSI routes handed to the GSI
 * routing table (irq_routes_new(-1, ...) counts the commits KVM would see).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "irq.h"
#include "log.h"
#include "msix.h"
#include "pci.h"

#define NR		8
#define BAR		2
#define TABLE_OFF	0x1000
#define PBA_OFF		0x1800
#define DEVID		0x10

static const struct pci_windows win = { 0xe0000000ULL, 1ULL << 20, 0xc0000000ULL, 1ULL << 24,
					 1ULL << 34, 1ULL << 32 };
static struct pci_host h;
static struct pci_func f;
static struct msix m;
static struct irq_routes *r;
static struct kvm_irq_routing_entry chip[1];

/* What virtio/pci.c's cfg_written hook does: Message Control changed, tell MSI-X. */
static void cfg_written(struct pci_func *pf, uint32_t off, uint32_t len)
{
	(void)pf;
	if (off < m.cap + 4u && off + len > m.cap)
		msix_cfg_written(&m);
}

static const struct pci_func_ops ops = { .cfg_written = cfg_written };

static void nop_bar(void *opaque, uint64_t off, uint8_t *data, uint32_t len, bool is_write)
{
	(void)opaque;
	(void)off;
	(void)data;
	(void)len;
	(void)is_write;
}

static void setup(void)
{
	log_threshold = LOG_QUIET;
	cr_assert_eq(pci_host_init(&h, 1, &win), 0);
	pci_func_init(&f, "msix-test", 0x1af4, 0x1041, 0xff0000, 1, 0x1af4, 1);
	f.ops = &ops;
	cr_assert_eq(pci_func_add_bar(&f, BAR, 0x2000, false, false, nop_bar, NULL), 0);
	chip[0] = (struct kvm_irq_routing_entry){ .gsi = 23, .type = KVM_IRQ_ROUTING_IRQCHIP };
	r = irq_routes_new(-1, chip, 1);
	cr_assert_not_null(r);
	cr_assert_eq(msix_init(&m, &f, "msix-test", NR, BAR, TABLE_OFF, PBA_OFF, r, DEVID), 0);
}

static void teardown(void)
{
	if (m.nr)
		msix_fini(&m, -1);
	irq_routes_free(r);
	pci_host_fini(&h);
}

TestSuite(msix, .init = setup, .fini = teardown);

/* ---- helpers ---- */

static uint32_t cfg_rd(uint32_t off, uint32_t len)
{
	uint32_t v = 0;

	pci_cfg_read(&f, off, (uint8_t *)&v, len);
	return v;
}

static void cfg_wr(uint32_t off, uint32_t len, uint32_t v)
{
	pthread_mutex_lock(&h.seg[0].lock);
	pci_cfg_write(&h.seg[0], &f, off, (const uint8_t *)&v, len);
	pthread_mutex_unlock(&h.seg[0].lock);
}

static void ctrl_wr(uint16_t v)
{
	cfg_wr(m.cap + 2u, 2, v);
}

static uint64_t tbl_rd(uint64_t off, uint32_t len)
{
	uint64_t v = 0x5a5a5a5a5a5a5a5aULL;

	msix_table_access(&m, off, (uint8_t *)&v, len, false);
	return len == 8 ? v : v & ((1ULL << (8 * len)) - 1);
}

static void tbl_wr(uint64_t off, uint32_t len, uint64_t v)
{
	msix_table_access(&m, off, (uint8_t *)&v, len, true);
}

static uint64_t pba_rd(uint64_t off, uint32_t len)
{
	uint64_t v = 0x5a5a5a5a5a5a5a5aULL;

	msix_pba_access(&m, off, (uint8_t *)&v, len, false);
	return len == 8 ? v : v & ((1ULL << (8 * len)) - 1);
}

/* Programs vector V's message, leaving its mask bit as it is. */
static void program(unsigned int v, uint64_t addr, uint32_t data)
{
	tbl_wr(v * 16ULL, 8, addr);
	tbl_wr(v * 16ULL + 8, 4, data);
}

static void unmask(unsigned int v)
{
	tbl_wr(v * 16ULL + 12, 4, 0);
}

static void mask(unsigned int v)
{
	tbl_wr(v * 16ULL + 12, 4, MSIX_VECTOR_MASKED);
}

/* How many times vector V fired since last asked (its eventfd's counter, drained). */
static uint64_t fired(unsigned int v)
{
	uint64_t n = 0;

	if (read(m.fd[v], &n, sizeof(n)) != sizeof(n)) {
		cr_assert_eq(errno, EAGAIN);
		return 0;
	}
	return n;
}

static const struct irq_msi *route(unsigned int v)
{
	return &r->msi[m.gsi[v] - r->first_msi_gsi];
}

/* ---- the capability ---- */

Test(msix, capability_layout)
{
	cr_assert_eq(m.cap, 0x40, "the function's first capability");
	cr_assert(cfg_rd(PCI_STATUS, 2) & PCI_STATUS_CAP_LIST);
	cr_assert_eq(cfg_rd(PCI_CAPABILITY_LIST, 1), m.cap);
	cr_assert_eq(cfg_rd(m.cap, 1), PCI_CAP_ID_MSIX);
	cr_assert_eq(cfg_rd(m.cap + 1u, 1), 0, "last in the list");
	cr_assert_eq(cfg_rd(m.cap + 2u, 2), NR - 1, "table size N - 1, disabled, unmasked");
	cr_assert_eq(cfg_rd(m.cap + 4u, 4), TABLE_OFF | BAR);
	cr_assert_eq(cfg_rd(m.cap + 8u, 4), PBA_OFF | BAR);
	cr_assert_eq(cfg_rd(m.cap, 4), (NR - 1) << 16 | PCI_CAP_ID_MSIX);
	cr_assert_not(msix_enabled(&m));
	for (unsigned int v = 0; v < NR; v++) {
		cr_assert_eq(tbl_rd(v * 16ULL + 12, 4), MSIX_VECTOR_MASKED, "masked after reset");
		cr_assert_geq(m.gsi[v], 24);
		cr_assert_geq(m.fd[v], 0);
		cr_assert_not(route(v)->valid);
	}
	cr_assert_eq(m.fd[NR], -1);
	cr_assert_eq(r->nr_msi, NR, "one GSI per vector");
	cr_assert_eq(r->commits, 0, "no route before the guest unmasks");
}

Test(msix, capability_read_only_fields)
{
	cfg_wr(m.cap, 4, 0xffffffff);
	cr_assert_eq(cfg_rd(m.cap, 1), PCI_CAP_ID_MSIX);
	cr_assert_eq(cfg_rd(m.cap + 1u, 1), 0);
	cr_assert_eq(cfg_rd(m.cap + 2u, 2), 0xc000 | (NR - 1), "only enable and mask written");
	cfg_wr(m.cap + 4u, 4, 0xffffffff);
	cfg_wr(m.cap + 8u, 4, 0);
	cr_assert_eq(cfg_rd(m.cap + 4u, 4), TABLE_OFF | BAR);
	cr_assert_eq(cfg_rd(m.cap + 8u, 4), PBA_OFF | BAR);
}

Test(msix, enable_and_function_mask)
{
	ctrl_wr(MSIX_CTRL_ENABLE);
	cr_assert(msix_enabled(&m));
	cr_assert(m.enabled);
	cr_assert_not(m.fmask);
	ctrl_wr(MSIX_CTRL_ENABLE | MSIX_CTRL_FMASK);
	cr_assert(m.enabled);
	cr_assert(m.fmask);
	ctrl_wr(0);
	cr_assert_not(msix_enabled(&m));
	cr_assert_not(m.fmask);
	/* The dword with the ID, and the byte with the two bits, work as well. */
	cfg_wr(m.cap, 4, (uint32_t)(MSIX_CTRL_ENABLE | MSIX_CTRL_FMASK) << 16);
	cr_assert(msix_enabled(&m));
	cr_assert(m.fmask);
	cfg_wr(m.cap + 3u, 1, MSIX_CTRL_ENABLE >> 8);
	cr_assert(msix_enabled(&m));
	cr_assert_not(m.fmask);
	/* A misaligned write goes nowhere. */
	cfg_wr(m.cap + 3u, 2, 0);
	cr_assert(msix_enabled(&m));
}

Test(msix, init_refuses_bad_arguments)
{
	struct pci_func g;
	struct msix x;

	pci_func_init(&g, "g", 1, 2, 0, 0, 0, 0);
	cr_assert_eq(msix_init(&x, &g, "g", 0, 0, 0, 0x800, r, 0), -EINVAL);
	cr_assert_eq(msix_init(&x, &g, "g", MSIX_MAX_VECTORS + 1, 0, 0, 0x800, r, 0), -EINVAL);
	cr_assert_eq(msix_init(&x, &g, "g", 1, PCI_NR_BARS, 0, 0x800, r, 0), -EINVAL);
	cr_assert_eq(msix_init(&x, &g, "g", 1, 0, 4, 0x800, r, 0), -EINVAL);
	cr_assert_eq(msix_init(&x, &g, "g", 1, 0, 0, 0x804, r, 0), -EINVAL);
	cr_assert_eq(cfg_rd(PCI_CAPABILITY_LIST, 1), m.cap, "F untouched");
	cr_assert_eq(g.cfg[PCI_CAPABILITY_LIST], 0, "no capability added");
	cr_assert_eq(r->nr_msi, NR, "no GSI taken");
}

Test(msix, init_without_room_for_the_capability)
{
	struct pci_func g;
	struct msix x;
	uint8_t body[PCI_CFG_SIZE];

	memset(body, 0, sizeof(body));
	pci_func_init(&g, "g", 1, 2, 0, 0, 0, 0);
	cr_assert_neq(pci_func_add_cap(&g, PCI_CAP_ID_VNDR, body, 0xb8, NULL), 0);
	cr_assert_eq(msix_init(&x, &g, "g", 1, 0, 0, 0x800, r, 0), -ENOSPC);
}

Test(msix, init_without_gsis)
{
	struct kvm_irq_routing_entry none[1] = { { 0 } };
	struct irq_routes *few = irq_routes_new(-1, none, 0);
	struct pci_func g;
	struct msix x;
	uint32_t gsi;

	cr_assert_not_null(few);
	/* Leave two GSIs: a function that wants four does not come up. */
	for (unsigned int i = 0; i < IRQ_MAX_MSI - 2; i++)
		cr_assert_eq(irq_msi_alloc(few, &gsi), 0);
	pci_func_init(&g, "g", 1, 2, 0, 0, 0, 0);
	cr_assert_eq(msix_init(&x, &g, "g", 4, 0, 0, 0x800, few, 0), -ENOSPC);
	cr_assert_eq(x.nr, 0);
	irq_routes_free(few);
}

/* ---- the table ---- */

Test(msix, table_reads_and_writes)
{
	tbl_wr(16, 4, 0xfee01000);
	tbl_wr(20, 4, 0x1);
	tbl_wr(24, 4, 0x4041);
	cr_assert_eq(tbl_rd(16, 4), 0xfee01000);
	cr_assert_eq(tbl_rd(20, 4), 1);
	cr_assert_eq(tbl_rd(24, 4), 0x4041);
	cr_assert_eq(tbl_rd(16, 8), 0x1fee01000ULL);
	cr_assert_eq(tbl_rd(24, 8), (uint64_t)MSIX_VECTOR_MASKED << 32 | 0x4041);
	tbl_wr(32, 8, 0x2fee02000ULL);
	tbl_wr(40, 8, 0x4242);		/* data 0x4242, Vector Control 0: unmasked */
	cr_assert_eq(m.table[2].addr_lo, 0xfee02000);
	cr_assert_eq(m.table[2].addr_hi, 2);
	cr_assert_eq(m.table[2].data, 0x4242);
	cr_assert_eq(m.table[2].ctrl, 0);
	cr_assert_eq(tbl_rd((NR - 1) * 16ULL + 12, 4), MSIX_VECTOR_MASKED, "the last entry");
	cr_assert_eq(m.table[0].addr_lo, 0, "neighbours untouched");
	cr_assert_eq(m.table[3].addr_lo, 0);
}

Test(msix, table_odd_accesses_refused)
{
	program(1, 0xfee00000, 0x30);
	cr_assert_eq(tbl_rd(18, 4), 0, "misaligned dword");
	cr_assert_eq(tbl_rd(20, 8), 0, "qword at a dword boundary");
	cr_assert_eq(tbl_rd(16, 2), 0, "word");
	cr_assert_eq(tbl_rd(16, 1), 0, "byte");
	cr_assert_eq(tbl_rd(16, 3), 0, "three bytes");
	tbl_wr(18, 4, 0xffffffff);
	tbl_wr(20, 8, 0xffffffffffffffffULL);
	tbl_wr(16, 2, 0xffff);
	tbl_wr(16, 1, 0xff);
	tbl_wr(28, 2, 0);		/* would unmask if taken */
	tbl_wr(28, 1, 0);
	cr_assert_eq(m.table[1].addr_lo, 0xfee00000);
	cr_assert_eq(m.table[1].addr_hi, 0);
	cr_assert_eq(m.table[1].data, 0x30);
	cr_assert_eq(m.table[1].ctrl, MSIX_VECTOR_MASKED);
	cr_assert_eq(r->commits, 0);
}

Test(msix, table_end)
{
	uint64_t end = NR * 16ULL;

	cr_assert_eq(tbl_rd(end, 4), 0);
	cr_assert_eq(tbl_rd(end + 12, 4), 0);
	cr_assert_eq(tbl_rd(end - 4, 4), MSIX_VECTOR_MASKED);
	cr_assert_eq(tbl_rd(0x7f0, 8), 0);
	cr_assert_eq(tbl_rd(UINT64_MAX - 7, 8), 0, "offsets near the top do not wrap");
	tbl_wr(end, 8, 0x12345678);
	tbl_wr(end + 12, 4, 0);
	tbl_wr(UINT64_MAX - 3, 4, 0);
	cr_assert_eq(m.table[NR].addr_lo, 0, "nothing past the table's N entries");
	cr_assert_eq(m.table[NR].ctrl, 0);
}

Test(msix, vector_control_reserved_bits_not_stored)
{
	tbl_wr(12, 4, 0xfffffffe);
	cr_assert_eq(tbl_rd(12, 4), 0, "reserved bits dropped, unmasked");
	tbl_wr(12, 4, 0xffffffff);
	cr_assert_eq(tbl_rd(12, 4), MSIX_VECTOR_MASKED);
	tbl_wr(8, 8, 0xffffff0000000000ULL | 0x77);
	cr_assert_eq(tbl_rd(8, 4), 0x77);
	cr_assert_eq(tbl_rd(12, 4), 0, "through a qword write as well");
}

/* ---- masking and pending bits ---- */

Test(msix, unmasked_vector_fires)
{
	ctrl_wr(MSIX_CTRL_ENABLE);
	program(3, 0xfee00000, 0x33);
	unmask(3);
	msix_signal(&m, 3);
	msix_signal(&m, 3);
	cr_assert_eq(fired(3), 2);
	cr_assert_eq(fired(3), 0);
	cr_assert_eq(m.pba, 0);
	cr_assert_eq(m.fired, 2);
	cr_assert_eq(m.pended, 0);
	for (unsigned int v = 0; v < NR; v++)
		if (v != 3)
			cr_assert_eq(fired(v), 0, "vector %u", v);
}

Test(msix, out_of_range_signal_ignored)
{
	ctrl_wr(MSIX_CTRL_ENABLE);
	msix_signal(&m, NR);
	msix_signal(&m, MSIX_MAX_VECTORS + 5);
	cr_assert_eq(m.pba, 0);
	cr_assert_eq(m.fired + m.pended, 0);
}

Test(msix, masked_vector_pends_until_unmasked)
{
	ctrl_wr(MSIX_CTRL_ENABLE);
	program(2, 0xfee00000, 0x22);
	msix_signal(&m, 2);		/* its mask bit is set, as after reset */
	cr_assert_eq(fired(2), 0, "eventfd stays unreadable");
	cr_assert_eq(pba_rd(0, 8), 1ULL << 2);
	cr_assert_eq(pba_rd(0, 4), 1u << 2);
	cr_assert_eq(m.pended, 1);
	msix_signal(&m, 2);
	cr_assert_eq(fired(2), 0);
	unmask(2);
	cr_assert_eq(fired(2), 1, "one message for what was pending");
	cr_assert_eq(pba_rd(0, 8), 0);
	unmask(2);
	cr_assert_eq(fired(2), 0, "nothing pending any more");
}

Test(msix, function_mask_pends_until_cleared)
{
	ctrl_wr(MSIX_CTRL_ENABLE | MSIX_CTRL_FMASK);
	program(0, 0xfee00000, 0x20);
	program(5, 0xfee00000, 0x25);
	unmask(0);
	unmask(5);
	mask(5);
	msix_signal(&m, 0);
	msix_signal(&m, 5);
	cr_assert_eq(fired(0), 0);
	cr_assert_eq(fired(5), 0);
	cr_assert_eq(pba_rd(0, 8), 1ULL << 0 | 1ULL << 5);
	ctrl_wr(MSIX_CTRL_ENABLE);
	cr_assert_eq(fired(0), 1, "function mask cleared");
	cr_assert_eq(fired(5), 0, "its own mask still set");
	cr_assert_eq(pba_rd(0, 8), 1ULL << 5);
	unmask(5);
	cr_assert_eq(fired(5), 1);
	cr_assert_eq(pba_rd(0, 8), 0);
}

Test(msix, unmask_under_function_mask_still_pends)
{
	ctrl_wr(MSIX_CTRL_ENABLE | MSIX_CTRL_FMASK);
	msix_signal(&m, 1);
	unmask(1);
	cr_assert_eq(fired(1), 0, "the function mask holds it");
	cr_assert_eq(pba_rd(0, 8), 1ULL << 1);
	ctrl_wr(MSIX_CTRL_ENABLE);
	cr_assert_eq(fired(1), 1);
}

Test(msix, disabled_pends)
{
	unmask(4);
	msix_signal(&m, 4);
	cr_assert_eq(fired(4), 0, "MSI-X off: no message");
}

/* ---- the PBA ---- */

Test(msix, pba_read_only_and_bounds)
{
	ctrl_wr(MSIX_CTRL_ENABLE);
	msix_signal(&m, 6);
	uint64_t ones = UINT64_MAX, zero = 0;

	msix_pba_access(&m, 0, (uint8_t *)&ones, 8, true);
	msix_pba_access(&m, 0, (uint8_t *)&zero, 8, true);
	msix_pba_access(&m, 0, (uint8_t *)&zero, 4, true);
	cr_assert_eq(pba_rd(0, 8), 1ULL << 6);
	cr_assert_eq(pba_rd(4, 4), 0, "upper half");
	cr_assert_eq(pba_rd(2, 4), 0, "misaligned");
	cr_assert_eq(pba_rd(0, 2), 0, "word");
	cr_assert_eq(pba_rd(0, 1), 0, "byte");
	cr_assert_eq(pba_rd(8, 8), 0, "past the PBA");
	cr_assert_eq(pba_rd(8, 4), 0);
	cr_assert_eq(pba_rd(UINT64_MAX - 7, 8), 0);
}

Test(msix, pba_upper_half_with_64_vectors)
{
	struct pci_func g;
	struct msix x;
	uint64_t v;

	pci_func_init(&g, "g", 1, 2, 0, 0, 0, 0);
	cr_assert_eq(msix_init(&x, &g, "g", MSIX_MAX_VECTORS, 0, 0, 0x800, r, 0), 0);
	cr_assert_eq(pci_cfg_get(&g, x.cap + 2u, 2), MSIX_MAX_VECTORS - 1);
	msix_signal(&x, 63);
	msix_signal(&x, 33);
	msix_pba_access(&x, 4, (uint8_t *)&v, 4, false);
	cr_assert_eq((uint32_t)v, 1u << 31 | 1u << 1);
	msix_pba_access(&x, 0, (uint8_t *)&v, 8, false);
	cr_assert_eq(v, 1ULL << 63 | 1ULL << 33);
	msix_table_access(&x, 63 * 16 + 12, (uint8_t *)&v, 4, false);
	cr_assert_eq((uint32_t)v, MSIX_VECTOR_MASKED);
	msix_fini(&x, -1);
}

/* ---- routes ---- */

Test(msix, routes_follow_the_mask)
{
	program(1, 0x1fee01000ULL, 0x4031);
	cr_assert_not(route(1)->valid, "masked: no route");
	cr_assert_eq(r->commits, 0);
	unmask(1);
	cr_assert(route(1)->valid);
	cr_assert_eq(route(1)->addr, 0x1fee01000ULL);
	cr_assert_eq(route(1)->data, 0x4031);
	cr_assert_eq(route(1)->devid, DEVID);
	cr_assert_eq(r->commits, 1);
	cr_assert_eq(r->table->nr, 2, "the chip's route and this one");
	cr_assert_eq(r->table->entries[1].gsi, m.gsi[1]);
	mask(1);
	cr_assert_not(route(1)->valid, "masked again: removed");
	cr_assert_eq(r->commits, 2);
	cr_assert_eq(r->table->nr, 1);
}

Test(msix, commits_only_on_change)
{
	program(0, 0xfee00000, 0x41);
	program(0, 0xfee00000, 0x42);	/* masked: changes nothing in KVM */
	mask(0);
	cr_assert_eq(r->commits, 0);
	unmask(0);
	cr_assert_eq(r->commits, 1);
	unmask(0);
	program(0, 0xfee00000, 0x42);	/* same message */
	tbl_rd(0, 8);
	cr_assert_eq(r->commits, 1);
	tbl_wr(8, 4, 0x43);
	cr_assert_eq(r->commits, 2, "new data");
	cr_assert_eq(route(0)->data, 0x43);
	ctrl_wr(MSIX_CTRL_ENABLE | MSIX_CTRL_FMASK);
	ctrl_wr(MSIX_CTRL_ENABLE);
	msix_signal(&m, 0);
	cr_assert_eq(r->commits, 2, "Message Control and delivery do not touch routes");
	mask(0);
	mask(0);
	cr_assert_eq(r->commits, 3);
}

Test(msix, fini_removes_routes)
{
	unmask(0);
	unmask(7);
	cr_assert(route(0)->valid);
	cr_assert(route(7)->valid);
	msix_fini(&m, -1);
	cr_assert_not(r->msi[0].valid);
	cr_assert_not(r->msi[NR - 1].valid);
	cr_assert_eq(r->table->nr, 1);
	for (unsigned int v = 0; v < NR; v++)
		cr_assert_eq(m.fd[v], -1);
	m.nr = 0;			/* teardown: done already */
}
