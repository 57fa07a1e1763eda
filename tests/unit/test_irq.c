/*
 * Unit tests for the GSI routing table (vmm/irq.c) without KVM (vm_fd -1): where MSI GSIs
 * start after the irqchip's routes, handing them out until none are left, which GSIs an
 * MSI route may be set on, and that the table goes to KVM only when a route changed.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <string.h>

#include "irq.h"
#include "log.h"

static struct kvm_irq_routing_entry chip[3];
static struct irq_routes *r;

/* Three irqchip pins out of order, the highest GSI 23 (an IOAPIC's last pin). */
static void setup(void)
{
	log_threshold = LOG_QUIET;
	memset(chip, 0, sizeof(chip));
	for (unsigned int i = 0; i < 3; i++) {
		chip[i].type = KVM_IRQ_ROUTING_IRQCHIP;
		chip[i].u.irqchip.irqchip = 2;
	}
	chip[0].gsi = 5;
	chip[1].gsi = 23;
	chip[2].gsi = 0;
	chip[0].u.irqchip.pin = 5;
	chip[1].u.irqchip.pin = 23;
	r = irq_routes_new(-1, chip, 3);
	cr_assert_not_null(r);
}

static void teardown(void)
{
	irq_routes_free(r);
}

TestSuite(irq, .init = setup, .fini = teardown);

Test(irq, msi_gsis_start_after_the_chip)
{
	cr_assert_eq(r->vm_fd, -1);
	cr_assert_eq(r->nr_chip, 3);
	cr_assert_eq(r->first_msi_gsi, 24, "highest chip GSI + 1");
	cr_assert_eq(r->nr_msi, 0);
	cr_assert_eq(r->commits, 0, "nothing handed to KVM at creation");
	cr_assert_eq(memcmp(r->chip, chip, sizeof(chip)), 0);
}

Test(irq, no_chip_routes)
{
	struct kvm_irq_routing_entry none[1] = { { 0 } };
	struct irq_routes *z = irq_routes_new(-1, none, 0);
	uint32_t gsi = 99;

	cr_assert_not_null(z);
	cr_assert_eq(z->first_msi_gsi, 0);
	cr_assert_eq(irq_msi_alloc(z, &gsi), 0);
	cr_assert_eq(gsi, 0);
	irq_routes_free(z);
	irq_routes_free(NULL);
}

Test(irq, too_many_chip_routes_refused)
{
	static struct kvm_irq_routing_entry many[IRQ_MAX_CHIP_ROUTES + 1];

	cr_assert_null(irq_routes_new(-1, many, IRQ_MAX_CHIP_ROUTES + 1));
	struct irq_routes *full = irq_routes_new(-1, many, IRQ_MAX_CHIP_ROUTES);

	cr_assert_not_null(full);
	irq_routes_free(full);
}

Test(irq, alloc_until_enospc)
{
	uint32_t gsi;

	for (unsigned int i = 0; i < IRQ_MAX_MSI; i++) {
		cr_assert_eq(irq_msi_alloc(r, &gsi), 0, "allocation %u", i);
		cr_assert_eq(gsi, 24 + i);
	}
	gsi = 12345;
	cr_assert_eq(irq_msi_alloc(r, &gsi), -ENOSPC);
	cr_assert_eq(gsi, 12345, "untouched on failure");
	cr_assert_eq(irq_msi_alloc(r, &gsi), -ENOSPC);
	cr_assert_eq(r->nr_msi, IRQ_MAX_MSI);
	cr_assert_eq(r->commits, 0, "allocating sets no route");
	/* The last one handed out takes a route. */
	cr_assert_eq(irq_msi_set(r, 24 + IRQ_MAX_MSI - 1, true, 0xfee00000, 0x41, 0), 0);
	cr_assert_eq(r->table->nr, 3 + 1);
}

Test(irq, set_on_gsi_not_handed_out)
{
	uint32_t gsi;

	cr_assert_eq(irq_msi_set(r, 24, true, 0xfee00000, 0x30, 0), -EINVAL, "none allocated");
	cr_assert_eq(irq_msi_alloc(r, &gsi), 0);
	cr_assert_eq(irq_msi_set(r, 25, true, 0xfee00000, 0x30, 0), -EINVAL, "next one");
	cr_assert_eq(irq_msi_set(r, 5, true, 0xfee00000, 0x30, 0), -EINVAL, "a chip GSI");
	cr_assert_eq(irq_msi_set(r, 23, false, 0, 0, 0), -EINVAL);
	cr_assert_eq(irq_msi_set(r, 0, true, 0xfee00000, 0x30, 0), -EINVAL);
	cr_assert_eq(irq_msi_set(r, UINT32_MAX, true, 0xfee00000, 0x30, 0), -EINVAL);
	cr_assert_eq(r->commits, 0);
	cr_assert_eq(irq_msi_set(r, gsi, true, 0xfee00000, 0x30, 0), 0);
	cr_assert_eq(r->commits, 1);
}

Test(irq, commits_only_on_change)
{
	uint32_t a, b;

	cr_assert_eq(irq_msi_alloc(r, &a), 0);
	cr_assert_eq(irq_msi_alloc(r, &b), 0);
	cr_assert_eq(irq_msi_set(r, a, false, 0, 0, 0), 0);
	cr_assert_eq(r->commits, 0, "already no route");
	cr_assert_eq(irq_msi_set(r, a, true, 0xfee00000, 0x41, 8), 0);
	cr_assert_eq(r->commits, 1);
	cr_assert_eq(irq_msi_set(r, a, true, 0xfee00000, 0x41, 8), 0);
	cr_assert_eq(r->commits, 1, "same message");
	cr_assert_eq(irq_msi_set(r, a, true, 0x1fee01000ULL, 0x41, 8), 0);
	cr_assert_eq(r->commits, 2, "new address");
	cr_assert_eq(irq_msi_set(r, a, true, 0x1fee01000ULL, 0x42, 8), 0);
	cr_assert_eq(r->commits, 3, "new data");
	cr_assert_eq(irq_msi_set(r, a, true, 0x1fee01000ULL, 0x42, 16), 0);
	cr_assert_eq(r->commits, 4, "new requester id");
	cr_assert(r->msi[a - 24].valid);
	cr_assert_eq(r->msi[a - 24].addr, 0x1fee01000ULL);
	cr_assert_eq(r->msi[a - 24].data, 0x42);
	cr_assert_eq(r->msi[a - 24].devid, 16);
	cr_assert_eq(irq_msi_set(r, a, false, 0, 0, 0), 0);
	cr_assert_eq(r->commits, 5, "route removed");
	cr_assert_not(r->msi[a - 24].valid);
	cr_assert_eq(irq_msi_set(r, a, false, 0xdead, 1, 2), 0);
	cr_assert_eq(r->commits, 5, "no route either way: the message does not matter");
	cr_assert_eq(irq_msi_set(r, b, true, 0xfee00000, 0x50, 0), 0);
	cr_assert_eq(r->commits, 6, "each GSI on its own");
	cr_assert_not(r->msi[a - 24].valid);
}

Test(irq, table_handed_to_kvm)
{
	struct kvm_irq_routing *t = r->table;
	uint32_t g[3];

	for (unsigned int i = 0; i < 3; i++)
		cr_assert_eq(irq_msi_alloc(r, &g[i]), 0);
	cr_assert_eq(irq_msi_set(r, g[0], true, 0xfee00000, 0x30, 0), 0);
	cr_assert_eq(irq_msi_set(r, g[2], true, 0x100fee02000ULL, 0x32, 0), 0);
	cr_assert_eq(t->nr, 5, "the chip's three, then only the valid MSI routes");
	cr_assert_eq(t->flags, 0);
	cr_assert_eq(memcmp(t->entries, chip, sizeof(chip)), 0);
	cr_assert_eq(t->entries[3].gsi, g[0]);
	cr_assert_eq(t->entries[3].type, KVM_IRQ_ROUTING_MSI);
	cr_assert_eq(t->entries[3].u.msi.address_lo, 0xfee00000);
	cr_assert_eq(t->entries[3].u.msi.address_hi, 0);
	cr_assert_eq(t->entries[3].u.msi.data, 0x30);
	cr_assert_eq(t->entries[4].gsi, g[2]);
	cr_assert_eq(t->entries[4].u.msi.address_lo, 0xfee02000);
	cr_assert_eq(t->entries[4].u.msi.address_hi, 0x100);
	cr_assert_eq(t->entries[4].u.msi.data, 0x32);
	cr_assert_eq(irq_msi_set(r, g[0], false, 0, 0, 0), 0);
	cr_assert_eq(t->nr, 4);
	cr_assert_eq(t->entries[3].gsi, g[2], "a removed route leaves no hole");
}

#define THREADS 4
#define PER_THREAD 100

static void *alloc_many(void *arg)
{
	uint32_t *out = arg;

	for (unsigned int i = 0; i < PER_THREAD; i++)
		if (irq_msi_alloc(r, &out[i]))
			return (void *)1;
	return NULL;
}

Test(irq, concurrent_allocations_unique)
{
	static uint32_t got[THREADS][PER_THREAD];
	static bool seen[IRQ_MAX_MSI];
	pthread_t th[THREADS];
	void *ret;

	for (unsigned int i = 0; i < THREADS; i++)
		cr_assert_eq(pthread_create(&th[i], NULL, alloc_many, got[i]), 0);
	for (unsigned int i = 0; i < THREADS; i++) {
		cr_assert_eq(pthread_join(th[i], &ret), 0);
		cr_assert_null(ret);
	}
	cr_assert_eq(r->nr_msi, THREADS * PER_THREAD);
	for (unsigned int i = 0; i < THREADS; i++)
		for (unsigned int j = 0; j < PER_THREAD; j++) {
			uint32_t k = got[i][j] - 24;

			cr_assert_lt(k, THREADS * PER_THREAD);
			cr_assert_not(seen[k], "GSI %u handed out twice", got[i][j]);
			seen[k] = true;
		}
}
