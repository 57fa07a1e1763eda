/*
 * ACPI tables for x86_64 guests.  kvmm has no firmware, so it writes the
 * tables a kernel needs to find its devices and to power off or reboot:
 * RSDP -> XSDT -> { FADT -> DSDT, MADT, MCFG (with PCI) }.  The FADT is
 * hardware-reduced (no PM1 blocks, no SCI, no 8259), with the sleep
 * control/status and reset registers pointing at the one-byte ports at
 * X86_PM_PORT that end the VM.  The DSDT's AML comes from dsdt.c: \_S5, one
 * "LNRO0005" virtio-mmio device per platform device (how a distribution
 * kernel without virtio_mmio.device= on its command line discovers them),
 * the PCI host bridges, the UART and the GED.  The MCFG gives each PCI
 * segment's ECAM.
 *
 * The tables are assembled in a host buffer and copied into guest RAM in one
 * gm_write(), so a failed build leaves the guest's ACPI area untouched.
 * Packed structs are laid out little-endian, which is what an x86 host is.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "acpi.h"
#include "aml.h"
#include "layout.h"
#include "log.h"

#define ACPI_OEM_ID		"KVMM  "
#define ACPI_OEM_TABLE_ID	"KVMMVM  "
#define ACPI_CREATOR_ID		"KVMM"
#define ACPI_MAX_CPUS		255	/* xAPIC IDs; 0xff is broadcast */
#define ACPI_MAX_DEVS		0x1000	/* device names V000..VFFF */
#define ACPI_PCI_ECAM_BUS_SHIFT	20	/* 1 MiB of ECAM per bus */

struct acpi_rsdp {
	char sig[8];
	uint8_t checksum;		/* over the first 20 bytes */
	char oem_id[6];
	uint8_t revision;
	uint32_t rsdt_addr;
	uint32_t length;
	uint64_t xsdt_addr;
	uint8_t ext_checksum;		/* over all 36 bytes */
	uint8_t reserved[3];
} __attribute__((packed));

struct acpi_sdt_hdr {
	char sig[4];
	uint32_t length;
	uint8_t revision;
	uint8_t checksum;
	char oem_id[6];
	char oem_table_id[8];
	uint32_t oem_revision;
	char creator_id[4];
	uint32_t creator_revision;
} __attribute__((packed));

/* Generic Address Structure. */
struct acpi_gas {
	uint8_t space_id;
	uint8_t bit_width;
	uint8_t bit_offset;
	uint8_t access_size;
	uint64_t address;
} __attribute__((packed));

#define ACPI_GAS_IO		1
#define ACPI_GAS_ACCESS_BYTE	1

struct acpi_fadt {
	struct acpi_sdt_hdr hdr;
	uint32_t firmware_ctrl;
	uint32_t dsdt;
	/* Offsets 44..108: SCI, SMI, PM1/PM2/timer/GPE blocks, C-state and
	 * RTC fields.  All zero in hardware-reduced mode. */
	uint8_t legacy[65];
	uint16_t iapc_boot_arch;
	uint8_t reserved;
	uint32_t flags;
	struct acpi_gas reset_reg;
	uint8_t reset_value;
	uint16_t arm_boot_arch;
	uint8_t minor_version;
	uint64_t x_firmware_ctrl;
	uint64_t x_dsdt;
	struct acpi_gas x_legacy[8];	/* X_PM1a_EVT_BLK .. X_GPE1_BLK */
	struct acpi_gas sleep_control_reg;
	struct acpi_gas sleep_status_reg;
	char hypervisor_id[8];
} __attribute__((packed));

_Static_assert(sizeof(struct acpi_rsdp) == 36, "RSDP layout");
_Static_assert(sizeof(struct acpi_sdt_hdr) == 36, "SDT header layout");
_Static_assert(sizeof(struct acpi_fadt) == 276, "FADT layout");

#define FADT_F_PWR_BUTTON	(1u << 4)	/* no fixed power button */
#define FADT_F_SLP_BUTTON	(1u << 5)	/* no fixed sleep button */
#define FADT_F_RESET_REG_SUP	(1u << 10)
#define FADT_F_HW_REDUCED_ACPI	(1u << 20)
#define FADT_BOOT_8042		(1u << 1)
#define FADT_BOOT_NO_VGA	(1u << 2)
#define FADT_BOOT_NO_CMOS_RTC	(1u << 5)

struct acpi_madt {
	struct acpi_sdt_hdr hdr;
	uint32_t lapic_addr;
	uint32_t flags;			/* 0: no PC-AT 8259 pair */
} __attribute__((packed));

struct madt_lapic {
	uint8_t type, length, uid, apic_id;
	uint32_t flags;
} __attribute__((packed));

struct madt_ioapic {
	uint8_t type, length, id, reserved;
	uint32_t addr;
	uint32_t gsi_base;
} __attribute__((packed));

struct madt_iso {
	uint8_t type, length, bus, source;
	uint32_t gsi;
	uint16_t flags;
} __attribute__((packed));

/* PCI Firmware Specification 3.3, 4.1.2: the MCFG and its allocations. */
struct acpi_mcfg {
	struct acpi_sdt_hdr hdr;
	uint8_t reserved[8];
} __attribute__((packed));

struct mcfg_alloc {
	uint64_t base;			/* ECAM of bus 0, even if bus_start > 0 */
	uint16_t segment;
	uint8_t bus_start, bus_end;
	uint32_t reserved;
} __attribute__((packed));

_Static_assert(sizeof(struct acpi_mcfg) == 44, "MCFG layout");
_Static_assert(sizeof(struct mcfg_alloc) == 16, "MCFG allocation layout");

#define MADT_LAPIC		0
#define MADT_IOAPIC		1
#define MADT_ISO		2
#define MADT_LAPIC_ENABLED	(1u << 0)
#define MADT_LAPIC_ONLINE_CAPABLE (1u << 1)

/* The host-side image of X86_ACPI_GPA..X86_ACPI_END. */
struct acpi_img {
	uint8_t *buf;
	size_t len;
	size_t cap;
};

/* Reserves SIZE zeroed bytes, 16-byte aligned; NULL if they do not fit. */
static void *acpi_alloc(struct acpi_img *img, size_t size, uint64_t *gpa)
{
	size_t off = (img->len + 15) & ~(size_t)15;

	if (off > img->cap || size > img->cap - off)
		return NULL;
	img->len = off + size;
	*gpa = X86_ACPI_GPA + off;
	return img->buf + off;
}

static uint8_t acpi_checksum(const void *p, size_t len)
{
	const uint8_t *b = p;
	uint8_t sum = 0;

	while (len--)
		sum += *b++;
	return (uint8_t)-sum;
}

static void acpi_hdr_init(struct acpi_sdt_hdr *h, const char *sig,
			  uint32_t len, uint8_t rev)
{
	memcpy(h->sig, sig, 4);
	h->length = len;
	h->revision = rev;
	memcpy(h->oem_id, ACPI_OEM_ID, 6);
	memcpy(h->oem_table_id, ACPI_OEM_TABLE_ID, 8);
	h->oem_revision = 1;
	memcpy(h->creator_id, ACPI_CREATOR_ID, 4);
	h->creator_revision = 1;
}

/* Call last, once every byte of the table is final. */
static void acpi_hdr_seal(struct acpi_sdt_hdr *h)
{
	h->checksum = 0;
	h->checksum = acpi_checksum(h, h->length);
}

static void acpi_gas_io8(struct acpi_gas *g, uint16_t port)
{
	g->space_id = ACPI_GAS_IO;
	g->bit_width = 8;
	g->bit_offset = 0;
	g->access_size = ACPI_GAS_ACCESS_BYTE;
	g->address = port;
}

static void acpi_fill_fadt(struct acpi_fadt *f, uint64_t dsdt_gpa)
{
	acpi_hdr_init(&f->hdr, "FACP", sizeof(*f), 6);
	f->minor_version = 5;
	f->flags = FADT_F_HW_REDUCED_ACPI | FADT_F_RESET_REG_SUP |
		   FADT_F_PWR_BUTTON | FADT_F_SLP_BUTTON;
	f->iapc_boot_arch = FADT_BOOT_8042 | FADT_BOOT_NO_VGA |
			    FADT_BOOT_NO_CMOS_RTC;
	/* A usable X_DSDT makes the OS ignore DSDT (ACPI 6.5, 5.2.9), and
	 * leaving DSDT 0 skips ACPICA's 32/64-bit mismatch check. */
	f->x_dsdt = dsdt_gpa;
	acpi_gas_io8(&f->reset_reg, X86_PM_RESET);
	f->reset_value = X86_PM_RESET_VALUE;
	/* Linux only installs its ACPI poweroff on a hardware-reduced system
	 * when both sleep registers are present. */
	acpi_gas_io8(&f->sleep_control_reg, X86_PM_SLEEP_CTL);
	acpi_gas_io8(&f->sleep_status_reg, X86_PM_SLEEP_STS);
	memcpy(f->hypervisor_id, "KVMM    ", 8);
	acpi_hdr_seal(&f->hdr);
}

static int acpi_build_madt(struct acpi_img *img, unsigned int nr_cpus,
			   unsigned int max_cpus, uint64_t *gpa)
{
	size_t len = sizeof(struct acpi_madt) +
		     max_cpus * sizeof(struct madt_lapic) +
		     sizeof(struct madt_ioapic) + sizeof(struct madt_iso);
	struct acpi_madt *m = acpi_alloc(img, len, gpa);
	struct madt_lapic *lapic;
	struct madt_ioapic *ioapic;
	struct madt_iso *iso;
	unsigned int i;

	if (!m)
		return -E2BIG;
	acpi_hdr_init(&m->hdr, "APIC", len, 5);
	m->lapic_addr = X86_LAPIC_GPA;
	lapic = (struct madt_lapic *)(m + 1);
	for (i = 0; i < max_cpus; i++, lapic++) {
		lapic->type = MADT_LAPIC;
		lapic->length = sizeof(*lapic);
		lapic->uid = i;
		lapic->apic_id = i;
		/* Beyond the boot CPUs: hot-pluggable (MADT revision 5 wants the bit, or Linux
		 * ignores the entry instead of counting it possible). */
		lapic->flags = i < nr_cpus ? MADT_LAPIC_ENABLED : MADT_LAPIC_ONLINE_CAPABLE;
	}
	ioapic = (struct madt_ioapic *)lapic;
	ioapic->type = MADT_IOAPIC;
	ioapic->length = sizeof(*ioapic);
	ioapic->addr = X86_IOAPIC_GPA;
	/* The PIT's IRQ 0 is wired to IOAPIC pin 2, as on every PC. */
	iso = (struct madt_iso *)(ioapic + 1);
	iso->type = MADT_ISO;
	iso->length = sizeof(*iso);
	iso->gsi = 2;
	acpi_hdr_seal(&m->hdr);
	return 0;
}

static int acpi_build_mcfg(struct acpi_img *img,
			   const struct acpi_config *cfg, uint64_t *gpa)
{
	size_t len = sizeof(struct acpi_mcfg) +
		     cfg->nr_pci * sizeof(struct mcfg_alloc);
	struct acpi_mcfg *m = acpi_alloc(img, len, gpa);
	struct mcfg_alloc *e;
	unsigned int i;

	if (!m)
		return -E2BIG;
	acpi_hdr_init(&m->hdr, "MCFG", len, 1);
	e = (struct mcfg_alloc *)(m + 1);
	for (i = 0; i < cfg->nr_pci; i++, e++) {
		e->base = cfg->pci[i].ecam_base;
		e->segment = cfg->pci[i].segment;
		e->bus_start = cfg->pci[i].bus_start;
		e->bus_end = cfg->pci[i].bus_end;
	}
	acpi_hdr_seal(&m->hdr);
	return 0;
}

static int acpi_build_dsdt(struct acpi_img *img,
			   const struct acpi_config *cfg, uint64_t *gpa)
{
	struct acpi_sdt_hdr *h = acpi_alloc(img, sizeof(*h), gpa);
	struct aml a;

	if (!h)
		return -E2BIG;
	aml_init(&a, h + 1, img->cap - img->len);
	acpi_dsdt_aml(&a, cfg);
	if (aml_error(&a))
		return aml_error(&a);
	if (a.len > UINT32_MAX - sizeof(*h))
		return -E2BIG;
	img->len += a.len;
	acpi_hdr_init(h, "DSDT", sizeof(*h) + a.len, 2);
	acpi_hdr_seal(h);
	return 0;
}

/* True if [BASE, BASE + SIZE) is empty or does not wrap. */
static bool acpi_range_ok(uint64_t base, uint64_t size)
{
	return size == 0 || base + size - 1 >= base;
}

/*
 * Checks the PCI segments.  EDGE has a bit set for every line an
 * edge-triggered device (virtio-mmio, the UART) uses: a PCI INTx line is
 * level-triggered and active-low, so it cannot share one.
 */
static int acpi_check_pci(const struct acpi_config *cfg, uint32_t edge)
{
	unsigned int i, j, cf8 = 0;

	if (!cfg->nr_pci)
		return 0;
	if (!cfg->pci || cfg->nr_pci > X86_PCI_MAX_SEGMENTS)
		return -EINVAL;
	for (i = 0; i < cfg->nr_pci; i++) {
		const struct acpi_pci_seg *s = &cfg->pci[i];
		uint64_t ecam_size = (uint64_t)(s->bus_end + 1) <<
				     ACPI_PCI_ECAM_BUS_SHIFT;

		if (s->bus_end < s->bus_start ||
		    !acpi_range_ok(s->ecam_base, ecam_size) ||
		    s->mem32_size > UINT32_MAX ||
		    s->mem32_base > (1ULL << 32) - s->mem32_size ||
		    !acpi_range_ok(s->mem64_base, s->mem64_size))
			return -EINVAL;
		cf8 += s->cf8;
		for (j = 0; j < i; j++)
			if (cfg->pci[j].segment == s->segment)
				return -EINVAL;
		for (j = 0; j < sizeof(s->slot_gsi) / sizeof(s->slot_gsi[0]); j++) {
			uint32_t gsi = s->slot_gsi[j];

			if (gsi && (gsi > X86_IRQ_MAX || gsi == X86_GED_IRQ ||
				    edge & (1u << gsi)))
				return -EINVAL;
		}
	}
	/* Only one bridge can answer the one CONFIG_ADDRESS port. */
	return cf8 > 1 ? -EINVAL : 0;
}

static int acpi_check_config(const struct acpi_config *cfg)
{
	uint32_t edge = 0;
	unsigned int i;

	if (!cfg || cfg->nr_cpus == 0 || cfg->nr_cpus > ACPI_MAX_CPUS ||
	    (acpi_max_cpus(cfg) > cfg->nr_cpus &&
	     (acpi_max_cpus(cfg) > X86_CPUHP_MAX || !cfg->ged)) ||
	    (cfg->mem_hotplug && !cfg->ged))
		return -EINVAL;
	if (cfg->nr_devs && !cfg->devs)
		return -EINVAL;
	if (cfg->nr_devs > ACPI_MAX_DEVS)
		return -E2BIG;
	for (i = 0; i < cfg->nr_devs; i++) {
		const struct acpi_mmio_dev *d = &cfg->devs[i];

		if (d->size == 0 || d->base + d->size - 1 < d->base ||
		    d->irq > X86_IRQ_MAX || (cfg->ged && d->irq == X86_GED_IRQ))
			return -EINVAL;
		edge |= 1u << d->irq;
	}
	if (cfg->com1)
		edge |= 1u << X86_SERIAL_IRQ;
	if (cfg->pci_hotplug && (!cfg->ged || !cfg->nr_pci))
		return -EINVAL;
	return acpi_check_pci(cfg, edge);
}

int acpi_build(struct guest_mem *gm, const struct acpi_config *cfg,
	       uint64_t *rsdp_gpa)
{
	struct acpi_img img = { .cap = X86_ACPI_END - X86_ACPI_GPA };
	uint64_t rsdp_at, xsdt_at, fadt_at, madt_at, dsdt_at, mcfg_at = 0;
	struct acpi_sdt_hdr *xsdt;
	struct acpi_fadt *fadt;
	struct acpi_rsdp *rsdp;
	uint64_t ent[3];
	unsigned int nr_ent;
	size_t xsdt_len;
	int ret;

	ret = acpi_check_config(cfg);
	if (ret)
		return ret;
	nr_ent = cfg->nr_pci ? 3 : 2;		/* FADT, MADT[, MCFG] */
	xsdt_len = sizeof(*xsdt) + nr_ent * sizeof(uint64_t);
	if (!gm_ptr(gm, X86_ACPI_GPA, img.cap))
		return -EFAULT;
	img.buf = calloc(1, img.cap);
	if (!img.buf)
		return -ENOMEM;

	/* The area is 128 KiB and the fixed tables need well under 4 KiB, so
	 * only the DSDT (or a huge MADT) can run out of room. */
	rsdp = acpi_alloc(&img, sizeof(*rsdp), &rsdp_at);
	xsdt = acpi_alloc(&img, xsdt_len, &xsdt_at);
	fadt = acpi_alloc(&img, sizeof(*fadt), &fadt_at);
	ret = -E2BIG;
	if (!rsdp || !xsdt || !fadt)
		goto out_free;
	ret = acpi_build_madt(&img, cfg->nr_cpus, acpi_max_cpus(cfg), &madt_at);
	if (ret)
		goto out_free;
	if (cfg->nr_pci) {
		ret = acpi_build_mcfg(&img, cfg, &mcfg_at);
		if (ret)
			goto out_free;
	}
	ret = acpi_build_dsdt(&img, cfg, &dsdt_at);
	if (ret)
		goto out_free;

	acpi_fill_fadt(fadt, dsdt_at);

	acpi_hdr_init(xsdt, "XSDT", xsdt_len, 1);
	/* The entries sit at offset 36: copy, never store through a
	 * misaligned uint64_t pointer. */
	ent[0] = fadt_at;
	ent[1] = madt_at;
	if (cfg->nr_pci)
		ent[2] = mcfg_at;
	memcpy(xsdt + 1, ent, nr_ent * sizeof(uint64_t));
	acpi_hdr_seal(xsdt);

	memcpy(rsdp->sig, "RSD PTR ", 8);
	memcpy(rsdp->oem_id, ACPI_OEM_ID, 6);
	rsdp->revision = 2;
	rsdp->length = sizeof(*rsdp);
	rsdp->xsdt_addr = xsdt_at;
	rsdp->checksum = acpi_checksum(rsdp, 20);
	rsdp->ext_checksum = acpi_checksum(rsdp, sizeof(*rsdp));

	/* Copy the whole area so nothing stale is left next to the tables. */
	ret = gm_write(gm, X86_ACPI_GPA, img.buf, img.cap);
	if (ret)
		goto out_free;
	pr_debug("acpi: %zu bytes of tables at %#llx, %u cpus, %u devices, "
		 "%u PCI segments", img.len, (unsigned long long)X86_ACPI_GPA,
		 cfg->nr_cpus, cfg->nr_devs, cfg->nr_pci);
	*rsdp_gpa = rsdp_at;
out_free:
	free(img.buf);
	return ret;
}
