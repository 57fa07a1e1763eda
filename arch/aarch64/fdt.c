/*
 * Builds the aarch64 guest's device tree (a64_fdt.h) with libfdt's
 * sequential-write API: nodes are emitted in order, each node's properties
 * before its children, then fdt_finish() lays out the strings block.  The
 * bindings followed are Linux's Documentation/devicetree/bindings: arm/cpus,
 * arm/psci, timer/arm,arch_timer, interrupt-controller/arm,gic(-v3) (with
 * its ITS child), serial/arm,pl011, clock/fixed-clock, gpio/pl061-gpio,
 * input/gpio-keys, virtio/mmio, pci/host-generic-pci and pci/pci-msi
 * (msi-map).
 */
#include <errno.h>
#include <libfdt.h>
#include <stdio.h>
#include <string.h>

#include "a64_fdt.h"
#include "log.h"

/* Interrupt specifier cells (dt-bindings/interrupt-controller/arm-gic.h). */
#define GIC_SPI			0U
#define GIC_PPI			1U
#define IRQ_TYPE_EDGE_RISING	1U
#define IRQ_TYPE_LEVEL_HIGH	4U
#define GICV2_MAX_CPUS		8U
#define GICV2_CPU_MASK_SHIFT	8	/* PPI target mask, GICv2 only */

/* PSCI 0.2 function IDs, also given under the "arm,psci" (0.1) property
 * names so a kernel that only knows 0.1 still finds CPU_ON and friends. */
#define PSCI_FN64_CPU_SUSPEND	0xc4000001U
#define PSCI_FN_CPU_OFF		0x84000002U
#define PSCI_FN64_CPU_ON	0xc4000003U
#define PSCI_FN64_MIGRATE	0xc4000005U

#define APB_PCLK_HZ		24000000U
/* Part 0x011, designer 0x41 (ARM), revision 3 (r1p5): what the AMBA bus
 * would read from devices/pl011.c's ID registers, so it need not; the
 * driver matches 0x00041011 under mask 0x000fffff. */
#define PL011_PERIPHID		0x00341011U

#define PL061_NR_LINES		8U

/* PCI bus binding (IEEE 1275 PCI): phys.hi of a ranges entry, and the
 * device number's place in it. */
#define PCI_SPACE_MEM32		0x02000000U
#define PCI_SPACE_MEM64		0x03000000U
#define PCI_DEVICE_SHIFT	11
#define PCI_INTA		1U
#define GIC_ADDRESS_CELLS	2	/* the GIC node's, for interrupt-map */

#define NODE_NAME_MAX		64	/* the spec allows 31 + "@" + address */

static int fdt_fail(const char *call, int err)
{
	pr_err("device tree: %s failed: %s", call, fdt_strerror(err));
	return err == -FDT_ERR_NOSPACE ? -ENOSPC : -EINVAL;
}

/* Runs one libfdt call; on failure logs it and returns -ENOSPC or -EINVAL.
 * Empty (boolean) properties pass "" rather than NULL: libfdt memcpy()s
 * from the value pointer even for length 0. */
#define FDT(call) do {							\
	int err_ = (call);						\
	if (err_ < 0)							\
		return fdt_fail(#call, err_);				\
} while (0)

/* Runs one of this file's helpers; returns its -errno on failure. */
#define TRY(call) do {							\
	int ret_ = (call);						\
	if (ret_)							\
		return ret_;						\
} while (0)

/* In check_config: logs and refuses the config if COND holds. */
#define REFUSE_IF(cond, ...) do {					\
	if (cond) {							\
		pr_err("device tree: " __VA_ARGS__);			\
		return -EINVAL;						\
	}								\
} while (0)

static int node_name(char *name, const char *prefix, uint64_t addr)
{
	int n = snprintf(name, NODE_NAME_MAX, "%s@%llx", prefix,
			 (unsigned long long)addr);

	if (n < 0 || n >= NODE_NAME_MAX) {
		pr_err("device tree: node name \"%s\" too long", prefix);
		return -EINVAL;
	}
	return 0;
}

static int begin_node_at(void *fdt, const char *prefix, uint64_t addr)
{
	char name[NODE_NAME_MAX];

	TRY(node_name(name, prefix, addr));
	FDT(fdt_begin_node(fdt, name));
	return 0;
}

/* reg = <base size> with #address-cells = #size-cells = 2. */
static int prop_reg(void *fdt, uint64_t base, uint64_t size)
{
	fdt64_t reg[2] = { cpu_to_fdt64(base), cpu_to_fdt64(size) };

	FDT(fdt_property(fdt, "reg", reg, sizeof(reg)));
	return 0;
}

/* Begins node PREFIX@BASE of a device with a register window and one SPI,
 * with its compatible (COMPAT_LEN bytes: a NUL-separated list), reg and
 * interrupts. */
static int begin_dev_node(void *fdt, const char *prefix, const char *compat,
			  size_t compat_len, uint64_t base, uint64_t size,
			  uint32_t spi, uint32_t flags)
{
	fdt32_t irq[3] = {
		cpu_to_fdt32(GIC_SPI), cpu_to_fdt32(spi), cpu_to_fdt32(flags)
	};

	TRY(begin_node_at(fdt, prefix, base));
	FDT(fdt_property(fdt, "compatible", compat, (int)compat_len));
	TRY(prop_reg(fdt, base, size));
	FDT(fdt_property(fdt, "interrupts", irq, sizeof(irq)));
	return 0;
}

static int check_pci(const struct a64_fdt_config *cfg)
{
	unsigned int i, j;

	REFUSE_IF(cfg->nr_pci && !cfg->pci, "%u PCI segments but no table",
		  cfg->nr_pci);
	REFUSE_IF(cfg->nr_pci > A64_PCI_MAX_SEGMENTS,
		  "%u PCI segments, at most %u", cfg->nr_pci,
		  A64_PCI_MAX_SEGMENTS);
	for (i = 0; i < cfg->nr_pci; i++) {
		const struct a64_fdt_pci *p = &cfg->pci[i];

		/* Also keeps msi-map's device IDs inside the ITS's 16 bits. */
		REFUSE_IF(p->segment >= A64_PCI_MAX_SEGMENTS,
			  "PCI segment %u, must be below %u", p->segment,
			  A64_PCI_MAX_SEGMENTS);
		REFUSE_IF(!p->ecam_size, "PCI segment %u has no ECAM window",
			  p->segment);
		for (j = 0; j < i; j++)
			REFUSE_IF(cfg->pci[j].segment == p->segment,
				  "PCI segment %u twice", p->segment);
		for (j = 0; j < A64_FDT_PCI_SLOTS; j++)
			REFUSE_IF(p->slot_spi[j] > A64_SPI_MAX,
				  "PCI %04x:00:%02x SPI %u above %u", p->segment,
				  j, p->slot_spi[j], A64_SPI_MAX);
	}
	return 0;
}

static int check_config(const struct a64_fdt_config *cfg)
{
	unsigned int i;

	REFUSE_IF(cfg->nr_cpus == 0 || cfg->nr_cpus > A64_MAX_VCPUS,
		  "%u vCPUs, must be 1..%u", cfg->nr_cpus, A64_MAX_VCPUS);
	REFUSE_IF(cfg->gic_version != 2 && cfg->gic_version != 3,
		  "GIC version %u, must be 2 or 3", cfg->gic_version);
	REFUSE_IF(cfg->gic_version == 2 && cfg->nr_cpus > GICV2_MAX_CPUS,
		  "GICv2 serves at most %u vCPUs, not %u", GICV2_MAX_CPUS,
		  cfg->nr_cpus);
	REFUSE_IF(cfg->gic_version == 3 &&
		  cfg->gic_redist_size / A64_GIC_REDIST_SIZE < cfg->nr_cpus,
		  "GICv3 redistributor region too small for %u vCPUs",
		  cfg->nr_cpus);
	REFUSE_IF(cfg->initrd_size &&
		  cfg->initrd_start + cfg->initrd_size < cfg->initrd_start,
		  "initramfs range wraps around");
	REFUSE_IF(cfg->uart && cfg->uart_spi > A64_SPI_MAX,
		  "UART SPI %u above %u", cfg->uart_spi, A64_SPI_MAX);
	REFUSE_IF(cfg->gpio && cfg->gpio_spi > A64_SPI_MAX,
		  "GPIO SPI %u above %u", cfg->gpio_spi, A64_SPI_MAX);
	REFUSE_IF(cfg->gpio && cfg->gpio_power_line >= PL061_NR_LINES,
		  "GPIO power key on line %u of %u", cfg->gpio_power_line,
		  PL061_NR_LINES);
	REFUSE_IF(cfg->nr_devs && !cfg->devs, "%u devices but no table",
		  cfg->nr_devs);
	for (i = 0; i < cfg->nr_devs; i++) {
		const struct a64_fdt_dev *d = &cfg->devs[i];

		REFUSE_IF(!d->compatible || !d->node,
			  "device %u has no compatible or node name", i);
		REFUSE_IF(d->spi > A64_SPI_MAX, "%s@%llx SPI %u above %u",
			  d->node, (unsigned long long)d->base, d->spi,
			  A64_SPI_MAX);
	}
	REFUSE_IF(cfg->its && cfg->gic_version != 3, "an ITS needs GICv3");
	return check_pci(cfg);
}

static int add_chosen(void *fdt, const struct a64_fdt_config *cfg)
{
	char path[NODE_NAME_MAX + 1] = "/";

	FDT(fdt_begin_node(fdt, "chosen"));
	if (cfg->cmdline)
		FDT(fdt_property_string(fdt, "bootargs", cfg->cmdline));
	if (cfg->initrd_size) {
		FDT(fdt_property_u64(fdt, "linux,initrd-start", cfg->initrd_start));
		FDT(fdt_property_u64(fdt, "linux,initrd-end",
				     cfg->initrd_start + cfg->initrd_size));
	}
	if (cfg->uart) {
		TRY(node_name(path + 1, "pl011", cfg->uart_base));
		FDT(fdt_property_string(fdt, "stdout-path", path));
	}
	FDT(fdt_end_node(fdt));
	return 0;
}

static int add_memory(void *fdt, const struct a64_fdt_config *cfg)
{
	TRY(begin_node_at(fdt, "memory", cfg->ram_base));
	FDT(fdt_property_string(fdt, "device_type", "memory"));
	TRY(prop_reg(fdt, cfg->ram_base, cfg->ram_size));
	FDT(fdt_end_node(fdt));
	return 0;
}

/* MPIDR affinities of up to A64_MAX_VCPUS fit in Aff1:Aff0, so one cell. */
static int add_cpus(void *fdt, const struct a64_fdt_config *cfg)
{
	unsigned int i;

	FDT(fdt_begin_node(fdt, "cpus"));
	FDT(fdt_property_cell(fdt, "#address-cells", 1));
	FDT(fdt_property_cell(fdt, "#size-cells", 0));
	for (i = 0; i < cfg->nr_cpus; i++) {
		TRY(begin_node_at(fdt, "cpu", a64_fdt_mpidr(i)));
		FDT(fdt_property_string(fdt, "device_type", "cpu"));
		FDT(fdt_property_string(fdt, "compatible", "arm,arm-v8"));
		FDT(fdt_property_string(fdt, "enable-method", "psci"));
		FDT(fdt_property_cell(fdt, "reg", a64_fdt_mpidr(i)));
		FDT(fdt_end_node(fdt));
	}
	FDT(fdt_end_node(fdt));
	return 0;
}

static int add_psci(void *fdt)
{
	static const char compat[] = "arm,psci-0.2\0arm,psci";

	FDT(fdt_begin_node(fdt, "psci"));
	FDT(fdt_property(fdt, "compatible", compat, sizeof(compat)));
	FDT(fdt_property_string(fdt, "method", "hvc"));
	FDT(fdt_property_cell(fdt, "cpu_suspend", PSCI_FN64_CPU_SUSPEND));
	FDT(fdt_property_cell(fdt, "cpu_off", PSCI_FN_CPU_OFF));
	FDT(fdt_property_cell(fdt, "cpu_on", PSCI_FN64_CPU_ON));
	FDT(fdt_property_cell(fdt, "migrate", PSCI_FN64_MIGRATE));
	FDT(fdt_end_node(fdt));
	return 0;
}

/* The binding's order: secure phys, non-secure phys, virtual, hypervisor. */
static const uint32_t timer_ppis[4] = { 13, 14, 11, 10 };

static int add_timer(void *fdt, const struct a64_fdt_config *cfg)
{
	fdt32_t irq[3 * 4];
	uint32_t flags = IRQ_TYPE_LEVEL_HIGH;
	unsigned int i;

	/* GICv2 routes a PPI only to the CPUs in its target mask. */
	if (cfg->gic_version == 2)
		flags |= ((1U << cfg->nr_cpus) - 1) << GICV2_CPU_MASK_SHIFT;
	for (i = 0; i < 4; i++) {
		irq[3 * i] = cpu_to_fdt32(GIC_PPI);
		irq[3 * i + 1] = cpu_to_fdt32(timer_ppis[i]);
		irq[3 * i + 2] = cpu_to_fdt32(flags);
	}
	FDT(fdt_begin_node(fdt, "timer"));
	FDT(fdt_property_string(fdt, "compatible", "arm,armv8-timer"));
	FDT(fdt_property(fdt, "always-on", "", 0));
	FDT(fdt_property(fdt, "interrupts", irq, sizeof(irq)));
	FDT(fdt_end_node(fdt));
	return 0;
}

/*
 * The ITS, a child of the GIC node (whose #address-cells, #size-cells and
 * empty ranges let its reg be a plain CPU address): MSIs of the PCI
 * functions whose host bridge's msi-map points here.
 */
static int add_its(void *fdt, const struct a64_fdt_config *cfg)
{
	TRY(begin_node_at(fdt, "its", cfg->its_base));
	FDT(fdt_property_string(fdt, "compatible", "arm,gic-v3-its"));
	FDT(fdt_property(fdt, "msi-controller", "", 0));
	FDT(fdt_property_cell(fdt, "#msi-cells", 1));
	TRY(prop_reg(fdt, cfg->its_base, cfg->its_size));
	FDT(fdt_property_cell(fdt, "phandle", A64_FDT_PHANDLE_ITS));
	FDT(fdt_end_node(fdt));
	return 0;
}

static int add_gic(void *fdt, const struct a64_fdt_config *cfg)
{
	fdt64_t reg[4] = { cpu_to_fdt64(cfg->gic_dist_base),
			   cpu_to_fdt64(cfg->gic_dist_size) };

	TRY(begin_node_at(fdt, "intc", cfg->gic_dist_base));
	if (cfg->gic_version == 3) {
		reg[2] = cpu_to_fdt64(cfg->gic_redist_base);
		reg[3] = cpu_to_fdt64(cfg->gic_redist_size);
		FDT(fdt_property_string(fdt, "compatible", "arm,gic-v3"));
		FDT(fdt_property_cell(fdt, "#redistributor-regions", 1));
	} else {
		reg[2] = cpu_to_fdt64(cfg->gic_cpu_base);
		reg[3] = cpu_to_fdt64(cfg->gic_cpu_size);
		FDT(fdt_property_string(fdt, "compatible", "arm,cortex-a15-gic"));
	}
	FDT(fdt_property(fdt, "reg", reg, sizeof(reg)));
	FDT(fdt_property_cell(fdt, "#interrupt-cells", 3));
	FDT(fdt_property(fdt, "interrupt-controller", "", 0));
	/* For the its@ child's reg; interrupt-map entries pointing here
	 * carry as many unit address cells. */
	FDT(fdt_property_cell(fdt, "#address-cells", GIC_ADDRESS_CELLS));
	FDT(fdt_property_cell(fdt, "#size-cells", 2));
	FDT(fdt_property(fdt, "ranges", "", 0));
	FDT(fdt_property_cell(fdt, "phandle", A64_FDT_PHANDLE_GIC));
	if (cfg->its)
		TRY(add_its(fdt, cfg));
	FDT(fdt_end_node(fdt));
	return 0;
}

/* The AMBA primecells' bus clock: their drivers do not probe without it. */
static int add_clock(void *fdt)
{
	FDT(fdt_begin_node(fdt, "apb-pclk"));
	FDT(fdt_property_string(fdt, "compatible", "fixed-clock"));
	FDT(fdt_property_cell(fdt, "#clock-cells", 0));
	FDT(fdt_property_cell(fdt, "clock-frequency", APB_PCLK_HZ));
	FDT(fdt_property_string(fdt, "clock-output-names", "clk24mhz"));
	FDT(fdt_property_cell(fdt, "phandle", A64_FDT_PHANDLE_CLK));
	FDT(fdt_end_node(fdt));
	return 0;
}

/* The PL011 takes "uartclk" for the baud rate besides "apb_pclk". */
static int add_uart(void *fdt, const struct a64_fdt_config *cfg)
{
	static const char compat[] = "arm,pl011\0arm,primecell";
	static const char clk_names[] = "uartclk\0apb_pclk";
	const fdt32_t clks[2] = { cpu_to_fdt32(A64_FDT_PHANDLE_CLK),
				  cpu_to_fdt32(A64_FDT_PHANDLE_CLK) };

	TRY(begin_dev_node(fdt, "pl011", compat, sizeof(compat), cfg->uart_base,
			   cfg->uart_size, cfg->uart_spi, IRQ_TYPE_LEVEL_HIGH));
	FDT(fdt_property(fdt, "clocks", clks, sizeof(clks)));
	FDT(fdt_property(fdt, "clock-names", clk_names, sizeof(clk_names)));
	FDT(fdt_property_cell(fdt, "arm,primecell-periphid", PL011_PERIPHID));
	FDT(fdt_end_node(fdt));
	return 0;
}

/*
 * The PL061 and, on its line gpio_power_line, a gpio-keys power key (active
 * high: GPIO flags 0).  Its SPI is level-triggered: devices/pl061.c holds
 * the line high while an unmasked event is latched.  No
 * arm,primecell-periphid: the AMBA bus reads the model's ID registers.
 */
static int add_gpio(void *fdt, const struct a64_fdt_config *cfg)
{
	static const char compat[] = "arm,pl061\0arm,primecell";
	const fdt32_t gpios[3] = { cpu_to_fdt32(A64_FDT_PHANDLE_GPIO),
				   cpu_to_fdt32(cfg->gpio_power_line),
				   cpu_to_fdt32(0) };

	TRY(begin_dev_node(fdt, "pl061", compat, sizeof(compat), cfg->gpio_base,
			   cfg->gpio_size, cfg->gpio_spi, IRQ_TYPE_LEVEL_HIGH));
	FDT(fdt_property(fdt, "gpio-controller", "", 0));
	FDT(fdt_property_cell(fdt, "#gpio-cells", 2));
	FDT(fdt_property_cell(fdt, "clocks", A64_FDT_PHANDLE_CLK));
	FDT(fdt_property_string(fdt, "clock-names", "apb_pclk"));
	FDT(fdt_property_cell(fdt, "phandle", A64_FDT_PHANDLE_GPIO));
	FDT(fdt_end_node(fdt));

	FDT(fdt_begin_node(fdt, "gpio-keys"));
	FDT(fdt_property_string(fdt, "compatible", "gpio-keys"));
	FDT(fdt_begin_node(fdt, "poweroff"));
	FDT(fdt_property_string(fdt, "label", "GPIO Key Poweroff"));
	FDT(fdt_property_cell(fdt, "linux,code", A64_FDT_KEY_POWER));
	FDT(fdt_property(fdt, "gpios", gpios, sizeof(gpios)));
	FDT(fdt_end_node(fdt));
	FDT(fdt_end_node(fdt));
	return 0;
}

static int add_dev(void *fdt, const struct a64_fdt_dev *d)
{
	uint32_t flags = d->edge ? IRQ_TYPE_EDGE_RISING : IRQ_TYPE_LEVEL_HIGH;

	TRY(begin_dev_node(fdt, d->node, d->compatible,
			   strlen(d->compatible) + 1, d->base, d->size, d->spi,
			   flags));
	/* Emulated devices see guest RAM through the host's caches. */
	FDT(fdt_property(fdt, "dma-coherent", "", 0));
	FDT(fdt_end_node(fdt));
	return 0;
}

/* One ranges entry: PCI address SPACE:BASE identity-mapped to CPU BASE. */
static void pci_range(fdt32_t *r, uint32_t space, uint64_t base, uint64_t size)
{
	r[0] = cpu_to_fdt32(space);
	r[1] = r[3] = cpu_to_fdt32((uint32_t)(base >> 32));
	r[2] = r[4] = cpu_to_fdt32((uint32_t)base);
	r[5] = cpu_to_fdt32((uint32_t)(size >> 32));
	r[6] = cpu_to_fdt32((uint32_t)size);
}

/* ranges: child <phys.hi phys.mid phys.lo>, parent <2 cells>, size <2 cells>. */
#define PCI_RANGE_CELLS		7
/* interrupt-map: child unit address (3) and pin (1), GIC phandle, GIC unit
 * address (its #address-cells), GIC interrupt specifier (3). */
#define PCI_IMAP_CELLS		(3 + 1 + 1 + GIC_ADDRESS_CELLS + 3)

static int add_pci_ranges(void *fdt, const struct a64_fdt_pci *p)
{
	fdt32_t r[2 * PCI_RANGE_CELLS];
	unsigned int n = 0;

	if (p->mem32_size)
		pci_range(r + PCI_RANGE_CELLS * n++, PCI_SPACE_MEM32,
			  p->mem32_base, p->mem32_size);
	if (p->mem64_size)
		pci_range(r + PCI_RANGE_CELLS * n++, PCI_SPACE_MEM64,
			  p->mem64_base, p->mem64_size);
	if (n)
		FDT(fdt_property(fdt, "ranges", r,
				 (int)(n * PCI_RANGE_CELLS * sizeof(*r))));
	return 0;
}

/* INTA of every slot that has an SPI, level high; the mask keeps the device
 * number and the pin. */
static int add_pci_intx(void *fdt, const struct a64_fdt_pci *p)
{
	const fdt32_t mask[4] = {
		cpu_to_fdt32(0x1fU << PCI_DEVICE_SHIFT), 0, 0, cpu_to_fdt32(7)
	};
	fdt32_t map[A64_FDT_PCI_SLOTS * PCI_IMAP_CELLS];
	fdt32_t *e = map;
	unsigned int i;

	FDT(fdt_property_cell(fdt, "#interrupt-cells", 1));
	FDT(fdt_property(fdt, "interrupt-map-mask", mask, sizeof(mask)));
	for (i = 0; i < A64_FDT_PCI_SLOTS; i++) {
		if (!p->slot_spi[i])
			continue;
		memset(e, 0, PCI_IMAP_CELLS * sizeof(*e));
		e[0] = cpu_to_fdt32(i << PCI_DEVICE_SHIFT);
		e[3] = cpu_to_fdt32(PCI_INTA);
		e[4] = cpu_to_fdt32(A64_FDT_PHANDLE_GIC);
		e += 5 + GIC_ADDRESS_CELLS;
		e[0] = cpu_to_fdt32(GIC_SPI);
		e[1] = cpu_to_fdt32(p->slot_spi[i]);
		e[2] = cpu_to_fdt32(IRQ_TYPE_LEVEL_HIGH);
		e += 3;
	}
	if (e != map)
		FDT(fdt_property(fdt, "interrupt-map", map,
				 (int)((e - map) * sizeof(*e))));
	return 0;
}

/*
 * A generic ECAM host bridge for one segment, bus 0 only.  Its functions'
 * MSIs go to the ITS under device IDs a64_its_devid(segment, devfn), so
 * segments never share one; without an ITS they have INTx only.
 */
static int add_pci(void *fdt, const struct a64_fdt_config *cfg,
		   const struct a64_fdt_pci *p)
{
	const fdt32_t bus_range[2] = { 0, 0 };
	const fdt32_t msi_map[4] = {
		0, cpu_to_fdt32(A64_FDT_PHANDLE_ITS),
		cpu_to_fdt32(a64_its_devid(p->segment, 0)),
		cpu_to_fdt32(A64_ITS_DEVIDS_PER_SEG)
	};

	TRY(begin_node_at(fdt, "pcie", p->ecam_base));
	FDT(fdt_property_string(fdt, "compatible", "pci-host-ecam-generic"));
	FDT(fdt_property_string(fdt, "device_type", "pci"));
	FDT(fdt_property_cell(fdt, "#address-cells", 3));
	FDT(fdt_property_cell(fdt, "#size-cells", 2));
	FDT(fdt_property(fdt, "bus-range", bus_range, sizeof(bus_range)));
	FDT(fdt_property_cell(fdt, "linux,pci-domain", p->segment));
	TRY(prop_reg(fdt, p->ecam_base, p->ecam_size));
	TRY(add_pci_ranges(fdt, p));
	FDT(fdt_property(fdt, "dma-coherent", "", 0));
	if (cfg->its)
		FDT(fdt_property(fdt, "msi-map", msi_map, sizeof(msi_map)));
	TRY(add_pci_intx(fdt, p));
	FDT(fdt_end_node(fdt));
	return 0;
}

static int add_root(void *fdt, const struct a64_fdt_config *cfg)
{
	unsigned int i;

	FDT(fdt_begin_node(fdt, ""));
	FDT(fdt_property_string(fdt, "compatible", "linux,dummy-virt"));
	FDT(fdt_property_string(fdt, "model", "kvmm"));
	FDT(fdt_property_cell(fdt, "#address-cells", 2));
	FDT(fdt_property_cell(fdt, "#size-cells", 2));
	FDT(fdt_property_cell(fdt, "interrupt-parent", A64_FDT_PHANDLE_GIC));

	TRY(add_chosen(fdt, cfg));
	TRY(add_memory(fdt, cfg));
	TRY(add_cpus(fdt, cfg));
	TRY(add_psci(fdt));
	TRY(add_timer(fdt, cfg));
	TRY(add_gic(fdt, cfg));
	if (cfg->uart || cfg->gpio)
		TRY(add_clock(fdt));
	if (cfg->uart)
		TRY(add_uart(fdt, cfg));
	if (cfg->gpio)
		TRY(add_gpio(fdt, cfg));
	for (i = 0; i < cfg->nr_devs; i++)
		TRY(add_dev(fdt, &cfg->devs[i]));
	for (i = 0; i < cfg->nr_pci; i++)
		TRY(add_pci(fdt, cfg, &cfg->pci[i]));
	FDT(fdt_end_node(fdt));
	return 0;
}

int a64_fdt_build(const struct a64_fdt_config *cfg, void *buf, size_t size)
{
	int ret = check_config(cfg);

	if (ret)
		return ret;
	if (size > A64_DTB_MAX)
		size = A64_DTB_MAX;
	FDT(fdt_create(buf, (int)size));
	FDT(fdt_finish_reservemap(buf));
	ret = add_root(buf, cfg);
	if (ret)
		return ret;
	FDT(fdt_finish(buf));
	return 0;
}
