/*
 * Tests for the x86_64 DSDT: its virtio devices and \_S5_, its Generic Event
 * Device with the power button, its PCI host bridges, its PCI, CPU and memory
 * hot-plug controllers, a round trip of the FADT, MADT, MCFG and DSDT through
 * iasl, and the host bridges' _OSC and the memory devices' _STA, _CRS and
 * notifications (over devices/memhp.c's registers) run in acpiexec.  Both
 * tools (acpica-tools) must be installed: a missing one fails the test rather
 * than skipping it.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acpi.h"
#include "acpi_helpers.h"
#include "ged.h"
#include "layout.h"
#include "memhp.h"

TestSuite(acpi, .init = setup, .fini = teardown);

static void check_dsdt(unsigned int n)
{
	static const uint8_t s5[] = { 0x08, '\\', '_', 'S', '5', '_', 0x12,
				      0x07, 0x04, 0x0a, X86_PM_SLP_TYP_S5 };
	struct acpi_mmio_dev *d = make_devs(n);
	const uint8_t *t = find(build(1, d, n), "DSDT"), *p;
	uint32_t len = rd(t + 4, 4);
	unsigned int i, hids = 0;
	char name[5];

	cr_assert_eq(t[8], 2, "revision 2: 64-bit integers");
	cr_assert(memmem(t, len, s5, sizeof(s5)), "\\_S5_ package");
	cr_assert_eq(memmem(t, len, "_SB_", 4) != NULL, n > 0);
	for (p = t; (p = memmem(p, t + len - p, "LNRO0005", 9)); p++)
		hids++;
	cr_assert_eq(hids, n);
	for (i = 0; i < n; i++) {
		/* Memory32Fixed(ReadWrite), then Interrupt(Consumer, Edge,
		 * ActiveHigh, Exclusive) with one GSI. */
		uint8_t res[] = { 0x86, 9, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0,
				  0x89, 6, 0, 0x03, 1, 0, 0, 0, 0 };

		snprintf(name, sizeof(name), "V%03X", i & 0xfff);
		cr_assert(memmem(t, len, name, 4), "device %s", name);
		memcpy(res + 4, &(uint32_t){ d[i].base }, 4);
		memcpy(res + 8, &(uint32_t){ d[i].size }, 4);
		memcpy(res + 17, &d[i].irq, 4);
		p = memmem(t, len, res, sizeof(res));
		cr_assert(p && p[21] == 0x79, "_CRS of %s", name);
		cr_assert_eq(sum8(p, 23), 0, "EndTag checksum");
	}
	free(d);
}

Test(acpi, dsdt_0_1_3_devices) { check_dsdt(0); check_dsdt(1); check_dsdt(3); }

/* Finds WANT in the DSDT T; NULL if absent. */
static const uint8_t *in_dsdt(const uint8_t *t, const void *want, size_t n)
{
	return memmem(t, rd(t + 4, 4), want, n);
}

Test(acpi, dsdt_ged_and_power_button)
{
	/* _CRS: Interrupt (ResourceConsumer, Level, ActiveHigh, Exclusive)
	 * { X86_GED_IRQ }, then the EndTag. */
	static const uint8_t crs[] = { 0x89, 6, 0, 0x01, 1, X86_GED_IRQ, 0, 0,
				       0, 0x79 };
	/* OperationRegion (GREG, SystemIO, X86_GED_PORT, 1). */
	static const uint8_t region[] = { 0x5b, 0x80, 'G', 'R', 'E', 'G', 0x01,
		0x0b, X86_GED_PORT & 0xff, X86_GED_PORT >> 8, 0x01 };
	/* Field (GREG, ByteAcc, NoLock, WriteAsZeros) { GEVT, 8 }. */
	static const uint8_t field[] = { 0x5b, 0x81, 0x0b, 'G', 'R', 'E', 'G',
		0x41, 'G', 'E', 'V', 'T', 0x08 };
	/* Method (_EVT, 1, Serialized) { Local0 = GEVT
	 *   If (Local0 & 1) { Notify (\_SB.PWRB, 0x80) } } */
	static const uint8_t evt[] = { 0x14, 0x1f, '_', 'E', 'V', 'T', 0x09,
		0x70, 'G', 'E', 'V', 'T', 0x60,
		0xa0, 0x12, 0x7b, 0x60, GED_EVT_POWER_BUTTON, 0x00,
		0x86, '\\', 0x2e, '_', 'S', 'B', '_', 'P', 'W', 'R', 'B', 0x0a, 0x80 };
	/* Device (PWRB) { Name (_HID, EisaId ("PNP0C0C")) Name (_UID, 0) } */
	static const uint8_t pwrb[] = { 0x5b, 0x82, 0x15, 'P', 'W', 'R', 'B',
		0x08, '_', 'H', 'I', 'D', 0x0c, 0x41, 0xd0, 0x0c, 0x0c,
		0x08, '_', 'U', 'I', 'D', 0x00 };
	struct acpi_mmio_dev *d = make_devs(2);
	const uint8_t *t, *p;

	with_ged = true;
	t = find(build(1, d, 2), "DSDT");
	cr_assert(in_dsdt(t, "\x5b\x82", 2), "devices");
	p = in_dsdt(t, "GED_", 4);
	/* DeviceOp, a two-byte PkgLength (the device is > 63 bytes), name. */
	cr_assert(p && p[-4] == 0x5b && p[-3] == 0x82 && (p[-2] >> 6) == 1,
		  "Device (GED_)");
	cr_assert(in_dsdt(t, "\x0d" "ACPI0013", 10), "_HID string");
	p = in_dsdt(t, crs, sizeof(crs));
	cr_assert(p && sum8(p, sizeof(crs) + 1) == 0, "GED _CRS, checksum");
	cr_assert(in_dsdt(t, region, sizeof(region)), "OperationRegion");
	cr_assert(in_dsdt(t, field, sizeof(field)), "Field");
	cr_assert(in_dsdt(t, evt, sizeof(evt)), "_EVT");
	cr_assert(in_dsdt(t, pwrb, sizeof(pwrb)), "PWRB");
	cr_assert(in_dsdt(t, "V001", 4), "virtio devices still there");

	/* Without the GED, none of it; with it alone, \_SB_ still opens. */
	with_ged = false;
	t = find(build(1, d, 2), "DSDT");
	cr_assert(!in_dsdt(t, "ACPI0013", 8) && !in_dsdt(t, "PWRB", 4));
	with_ged = true;
	t = find(build(1, NULL, 0), "DSDT");
	cr_assert(in_dsdt(t, "_SB_", 4) && in_dsdt(t, evt, sizeof(evt)));

	/* A virtio device on the GED's line is refused, only with the GED. */
	d[1].irq = X86_GED_IRQ;
	cr_assert_eq(try_build(&gm, 1, d, 2), -EINVAL);
	with_ged = false;
	cr_assert_eq(try_build(&gm, 1, d, 2), 0);
	free(d);
}

/* Runs CMD through the shell; its exit status, output in OUT. */
static int run(char *out, size_t cap, const char *fmt, const char *arg)
{
	char cmd[512];
	FILE *p;
	size_t n;

	snprintf(cmd, sizeof(cmd), fmt, arg);
	p = popen(cmd, "r");
	cr_assert_not_null(p);
	n = fread(out, 1, cap - 1, p);
	out[n] = '\0';
	return pclose(p);
}

/*
 * Compares the DSDT T with the table iasl compiled into PATH, header aside:
 * they must be the same bytes except that iasl leaves EndTag checksums 0
 * (which means "valid") where kvmm computes them.
 */
static void same_aml(const uint8_t *t, const char *path)
{
	static uint8_t aml[65536];
	size_t len = rd(t + 4, 4), n, i;
	FILE *f = fopen(path, "rb");

	cr_assert_not_null(f, "%s", path);
	n = fread(aml, 1, sizeof(aml), f);
	fclose(f);
	cr_assert_eq(n, len, "iasl: %zu bytes, kvmm: %zu", n, len);
	for (i = 36; i < len; i++)
		cr_assert(t[i] == aml[i] || (t[i - 1] == 0x79 && aml[i] == 0),
			  "byte %#zx: kvmm %#x, iasl %#x", i, t[i], aml[i]);
}

/*
 * Writes the tables SIGS[0..N) of the build at R into a new directory
 * (DIR, a mkdtemp() template), disassembles them with iasl, checks it did
 * so without complaint, and leaves every .dsl file's text in OUT.
 */
static void disassemble(const uint8_t *r, const char *const *sigs,
			unsigned int n, char *dir, char *out, size_t cap)
{
	const uint8_t *t;
	char path[64];
	unsigned int i;
	FILE *f;

	cr_assert_eq(run(out, cap, "command -v %s", "iasl"), 0,
		     "iasl not found: install acpica-tools");
	cr_assert_not_null(mkdtemp(dir));
	for (i = 0; i < n; i++) {
		t = find(r, sigs[i]);
		snprintf(path, sizeof(path), "%s/%s.dat", dir, sigs[i]);
		f = fopen(path, "wb");
		cr_assert(f && fwrite(t, 1, rd(t + 4, 4), f) == rd(t + 4, 4));
		fclose(f);
	}
	cr_assert_eq(run(out, cap, "cd %s && iasl -d *.dat 2>&1", dir), 0,
		     "%s", out);
	cr_assert(!strcasestr(out, "error") && !strcasestr(out, "warning") &&
		  strstr(out, "Disassembly completed"), "%s", out);
	cr_assert_eq(run(out, cap, "cat %s/*.dsl", dir), 0);
	cr_assert_null(strstr(out, "Incorrect"), "bad checksum:\n%s", out);
}

/*
 * Compiles DIR/DSDT.dsl back: catches AML that iasl merely tolerated while
 * disassembling; unoptimised, iasl must give back the very bytes of the
 * DSDT of the build at R.
 */
static void recompile(const uint8_t *r, const char *dir)
{
	static char out[65536];
	char path[64];

	cr_assert_eq(run(out, sizeof(out), "cd %s && iasl -p re DSDT.dsl 2>&1",
			 dir), 0, "%s", out);
	cr_assert_not_null(strstr(out, " 0 Errors, 0 Warnings"), "%s", out);
	cr_assert_eq(run(out, sizeof(out), "cd %s && iasl -oa -p raw DSDT.dsl 2>&1",
			 dir), 0, "%s", out);
	snprintf(path, sizeof(path), "%s/raw.aml", dir);
	same_aml(find(r, "DSDT"), path);
}

static void want_all(const char *out, const char *const *want, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		cr_assert_not_null(strstr(out, want[i]), "no \"%s\" in:\n%s",
				   want[i], out);
}

Test(acpi, iasl_disassembles_tables, .timeout = 60)
{
	static const char *const sigs[] = { "FACP", "APIC", "DSDT" };
	static const char *const want[] = { "Hardware Reduced (V5) : 1",
		"Address : 0000000000000602", "Address : 0000000000000600",
		"Address : 0000000000000601", "Local Apic ID : 03",
		"[I/O APIC]", "Address : FEC00000", "Device (V001)",
		"Name (\\_S5, Package (0x04)", "Name (_HID, \"LNRO0005\")",
		"0xD0001000,         // Address Base",
		"0x00001000,         // Address Length",
		"0x0000001000000000, // Range Minimum",
		"Device (COM1)", "Name (_HID, EisaId (\"PNP0501\")",
		"0x03F8,             // Range Minimum",
		"0x08,               // Length",
		("Interrupt (ResourceConsumer, Edge, ActiveHigh, Exclusive, ,,"
		 " )\n                {\n                    0x00000004,"),
		("Interrupt (ResourceConsumer, Edge, ActiveHigh, Exclusive, ,,"
		 " )\n                {\n                    0x00000006,"),
		"Device (GED)", "Name (_HID, \"ACPI0013\" /* Generic Event Device */)",
		("Interrupt (ResourceConsumer, Level, ActiveHigh, Exclusive, ,,"
		 " )\n                {\n                    0x00000017,"),
		"OperationRegion (GREG, SystemIO, 0x0610, One)",
		"Field (GREG, ByteAcc, NoLock, WriteAsZeros)\n            {\n"
		"                GEVT,   8\n            }",
		"Method (_EVT, 1, Serialized)",
		"Local0 = GEVT /* \\_SB_.GED_.GEVT */",
		"If ((Local0 & One))\n                {\n"
		"                    Notify (\\_SB.PWRB, 0x80)",
		"Device (PWRB)", "Name (_HID, EisaId (\"PNP0C0C\")" };
	static char out[65536];
	char dir[] = "/tmp/kvmm-acpi-XXXXXX";
	struct acpi_mmio_dev *d;
	const uint8_t *r;

	d = make_devs(3);
	d[2] = (struct acpi_mmio_dev){ 1ULL << 36, 0x200000, 12 };
	with_com1 = with_ged = true;
	r = build(4, d, 3);
	with_com1 = with_ged = false;
	free(d);
	disassemble(r, sigs, 3, dir, out, sizeof(out));
	want_all(out, want, sizeof(want) / sizeof(want[0]));
	cr_assert(!strstr(out, "PNP0A08") && !strstr(out, "MRES"),
		  "no PCI without segments");
	recompile(r, dir);
	cr_assert_eq(run(out, sizeof(out), "rm -rf -- %s", dir), 0);
}

/* The bytes of the PCI host bridges and MRES, for what iasl would accept
 * in another form as well. */
Test(acpi, dsdt_pci_host_bridges)
{
	/* Name (_HID, EisaId ("PNP0A08")) Name (_CID, EisaId ("PNP0A03"))
	 * Name (_SEG, One) Name (_UID, One) Name (_BBN, Zero) */
	static const uint8_t ids1[] = {
		0x08, '_', 'H', 'I', 'D', 0x0c, 0x41, 0xd0, 0x0a, 0x08,
		0x08, '_', 'C', 'I', 'D', 0x0c, 0x41, 0xd0, 0x0a, 0x03,
		0x08, '_', 'S', 'E', 'G', 0x01, 0x08, '_', 'U', 'I', 'D', 0x01,
		0x08, '_', 'B', 'B', 'N', 0x00 };
	/* _PRT entry: Package (4) { 0x0002FFFF, Zero, Zero, 0x12 } */
	static const uint8_t prt[] = { 0x12, 0x0b, 0x04, 0x0c, 0xff, 0xff,
				       0x02, 0x00, 0x00, 0x00, 0x0a, 0x12 };
	/* Device (MRES) { Name (_HID, EisaId ("PNP0C02")) ... */
	static const uint8_t mres[] = { 'M', 'R', 'E', 'S', 0x08, '_', 'H',
					'I', 'D', 0x0c, 0x41, 0xd0, 0x0c, 0x02 };
	struct acpi_pci_seg *p = make_pci(X86_PCI_MAX_SEGMENTS);
	const uint8_t *t, *q;
	unsigned int i, hids = 0;
	char name[5];

	with_pci = p;
	nr_with_pci = X86_PCI_MAX_SEGMENTS;
	t = find(build(1, NULL, 0), "DSDT");
	for (i = 0; i < X86_PCI_MAX_SEGMENTS; i++) {
		snprintf(name, sizeof(name), "PCI%X", i);
		q = in_dsdt(t, name, 4);
		cr_assert(q && q[-3] == 0x82, "Device (%s)", name);
	}
	for (q = t; (q = memmem(q, t + rd(t + 4, 4) - q, "\x41\xd0\x0a\x08", 4)); q++)
		hids++;
	cr_assert_eq(hids, X86_PCI_MAX_SEGMENTS, "PNP0A08s");
	cr_assert(in_dsdt(t, ids1, sizeof(ids1)), "PCI1's ids");
	cr_assert(in_dsdt(t, prt, sizeof(prt)), "_PRT entry");
	cr_assert(in_dsdt(t, mres, sizeof(mres)), "MRES");
	cr_assert(in_dsdt(t, "_OSC", 4) && in_dsdt(t, "CDW3", 4), "_OSC");

	/* A segment with no INTx at all has no _PRT; one slot makes one. */
	memset(p[0].slot_gsi, 0, sizeof(p[0].slot_gsi));
	nr_with_pci = 1;
	t = find(build(1, NULL, 0), "DSDT");
	cr_assert(!in_dsdt(t, "_PRT", 4) && in_dsdt(t, "PCI0", 4));
	p[0].slot_gsi[31] = 22;
	t = find(build(1, NULL, 0), "DSDT");
	cr_assert(in_dsdt(t, "_PRT", 4) &&
		  in_dsdt(t, "\x12\x0b\x04\x0c\xff\xff\x1f\x00\x00\x00\x0a\x16", 12),
		  "slot 31 on GSI 22");
	with_pci = NULL;
	nr_with_pci = 0;
	free(p);
}

Test(acpi, iasl_disassembles_pci, .timeout = 60)
{
	static const char *const sigs[] = { "MCFG", "DSDT" };
	static const char *const want[] = {
		"Signature : \"MCFG\"", "Revision : 01",
		("Base Address : 00000000E0000000\n"
		 "[034h 0052   2]         Segment Group Number : 0000\n"
		 "[036h 0054   1]             Start Bus Number : 00\n"
		 "[037h 0055   1]               End Bus Number : 00"),
		("Base Address : 00000000E0100000\n"
		 "[044h 0068   2]         Segment Group Number : 0001"),
		"Device (V001)", "Device (COM1)", "Device (GED)",
		"        Device (PCI0)\n        {\n"
		"            Name (_HID, EisaId (\"PNP0A08\") /* PCI Express Bus */)",
		"Name (_CID, EisaId (\"PNP0A03\") /* PCI Bus */)",
		"Name (_SEG, Zero)", "Name (_SEG, One)", "Name (_UID, One)",
		"Name (_BBN, Zero)",
		("WordBusNumber (ResourceProducer, MinFixed, MaxFixed, PosDecode,\n"
		 "                    0x0000,             // Granularity\n"
		 "                    0x0000,             // Range Minimum\n"
		 "                    0x0000,             // Range Maximum\n"
		 "                    0x0000,             // Translation Offset\n"
		 "                    0x0001,             // Length"),
		("IO (Decode16,\n"
		 "                    0x0CF8,             // Range Minimum\n"
		 "                    0x0CF8,             // Range Maximum\n"
		 "                    0x01,               // Alignment\n"
		 "                    0x08,               // Length"),
		("DWordMemory (ResourceProducer, PosDecode, MinFixed, MaxFixed,"
		 " NonCacheable, ReadWrite,\n"
		 "                    0x00000000,         // Granularity\n"
		 "                    0xC0000000,         // Range Minimum\n"
		 "                    0xC0FFFFFF,         // Range Maximum\n"
		 "                    0x00000000,         // Translation Offset\n"
		 "                    0x01000000,         // Length"),
		("                    0xC1000000,         // Range Minimum\n"
		 "                    0xC1FFFFFF,         // Range Maximum"),
		("QWordMemory (ResourceProducer, PosDecode, MinFixed, MaxFixed,"
		 " NonCacheable, ReadWrite,\n"
		 "                    0x0000000000000000, // Granularity\n"
		 "                    0x0000000100000000, // Range Minimum\n"
		 "                    0x00000001FFFFFFFF, // Range Maximum\n"
		 "                    0x0000000000000000, // Translation Offset\n"
		 "                    0x0000000100000000, // Length"),
		("                    0x0000000200000000, // Range Minimum\n"
		 "                    0x00000002FFFFFFFF, // Range Maximum"),
		"Name (_PRT, Package (0x03)  // _PRT: PCI Routing Table",
		("                Package (0x04)\n                {\n"
		 "                    0x0001FFFF, \n                    Zero, \n"
		 "                    Zero, \n                    0x11\n"),
		"                    0x0003FFFF, \n                    Zero, \n"
		"                    Zero, \n                    0x13\n",
		"Name (_PRT, Package (0x02)",
		"                    0x0002FFFF, \n                    Zero, \n"
		"                    Zero, \n                    0x16\n",
		("            Method (_OSC, 4, Serialized)  // _OSC: Operating System Capabilities\n"
		 "            {\n"
		 "                CreateDWordField (Arg3, Zero, CDW1)\n"
		 "                If ((Arg0 == ToUUID (\"33db4d5b-1ff7-401c-9657-7441c03dd766\")"
		 " /* PCI Host Bridge Device */))\n"
		 "                {\n"
		 "                    CreateDWordField (Arg3, 0x04, CDW2)\n"
		 "                    CreateDWordField (Arg3, 0x08, CDW3)\n"
		 "                    If ((CDW3 & 0x03))\n"
		 "                    {\n"
		 "                        CDW3 &= 0xFFFFFFFC\n"
		 "                        CDW1 |= 0x10\n"
		 "                    }\n"
		 "                }\n"
		 "                Else\n"
		 "                {\n"
		 "                    CDW1 |= 0x04\n"
		 "                }\n\n"
		 "                Return (Arg3)\n"
		 "            }"),
		"Device (PCI1)",
		"        Device (MRES)\n        {\n"
		"            Name (_HID, EisaId (\"PNP0C02\") /* PNP Motherboard Resources */)",
		("Memory32Fixed (ReadWrite,\n"
		 "                    0xE0000000,         // Address Base\n"
		 "                    0x00100000,         // Address Length"),
		("Memory32Fixed (ReadWrite,\n"
		 "                    0xE0100000,         // Address Base\n"
		 "                    0x00100000,         // Address Length"),
	};
	static char out[65536];
	char dir[] = "/tmp/kvmm-acpi-XXXXXX";
	struct acpi_mmio_dev *d = make_devs(3);
	struct acpi_pci_seg *p = make_pci(2);
	const uint8_t *r;
	const char *q;

	with_com1 = with_ged = true;
	with_pci = p;
	nr_with_pci = 2;
	r = build(4, d, 3);
	with_com1 = with_ged = false;
	with_pci = NULL;
	nr_with_pci = 0;
	disassemble(r, sigs, 2, dir, out, sizeof(out));
	want_all(out, want, sizeof(want) / sizeof(want[0]));
	cr_assert_null(strstr(out, "Device (PCI2)"));
	q = strstr(out, "0x0CF8,             // Range Minimum");
	cr_assert(q && !strstr(q + 1, "0x0CF8,             // Range Minimum"),
		  "0xcf8 on PCI0 only");
	recompile(r, dir);
	cr_assert_eq(run(out, sizeof(out), "rm -rf -- %s", dir), 0);
	free(p);
	free(d);
}

/* With PCI hot-plug: the controller's registers, PCNT, 31 ejectable slots per
 * host bridge, and the GED calling PCNT; iasl takes it and gives back the
 * same bytes.  Hot-plug without a GED or without PCI is refused. */
Test(acpi, iasl_disassembles_pci_hotplug, .timeout = 60)
{
	static const char *const sigs[] = { "DSDT" };
	static const char *const want[] = {
		"OperationRegion (PCST, SystemIO, 0x0640, 0x0C)",
		"OperationRegion (PCST, SystemIO, 0x0650, 0x0C)",
		"Field (PCST, DWordAcc, NoLock, WriteAsZeros)",
		"                PCIU,   32, \n                PCID,   32, \n"
		"                B0EJ,   32",
		"Method (PCNT, 0, Serialized)",
		"Local0 = PCIU /* \\_SB_.PCI0.PCIU */",
		"Local1 = PCID /* \\_SB_.PCI0.PCID */",
		"If ((Local0 & 0x02))\n                {\n"
		"                    Notify (S01, One) // Device Check\n",
		"If ((Local1 & 0x80000000))\n                {\n"
		"                    Notify (S1F, 0x03) // Eject Request\n",
		"            Device (S01)\n            {\n"
		"                Name (_ADR, 0x00010000)  // _ADR: Address\n"
		"                Name (_SUN, One)  // _SUN: Slot User Number\n"
		"                Method (_EJ0, 1, NotSerialized)  // _EJx: Eject Device, x=0-9\n"
		"                {\n"
		"                    B0EJ = 0x02\n",
		"Device (S1F)", "Name (_ADR, 0x001F0000)",
		"Name (_SUN, 0x21)",	/* segment 1, slot 1 */
		"Name (_SUN, 0x3F)",
		"                If ((Local0 & 0x02))\n                {\n"
		"                    \\_SB.PCI0.PCNT ()\n"
		"                    \\_SB.PCI1.PCNT ()\n                }",
	};
	static char out[1 << 18];
	char dir[] = "/tmp/kvmm-acpi-XXXXXX";
	struct acpi_pci_seg *p = make_pci(2);
	const uint8_t *r;

	with_pci = p;
	nr_with_pci = 2;
	with_pcihp = true;
	cr_assert_eq(try_build(&gm, 1, NULL, 0), -EINVAL, "hot-plug needs the GED");
	with_ged = true;
	r = build(1, NULL, 0);
	disassemble(r, sigs, 1, dir, out, sizeof(out));
	want_all(out, want, sizeof(want) / sizeof(want[0]));
	cr_assert_null(strstr(out, "Device (S00)"), "slot 0 is the host bridge");
	recompile(r, dir);
	cr_assert_eq(run(out, sizeof(out), "rm -rf -- %s", dir), 0);
	with_pci = NULL;
	nr_with_pci = 0;
	cr_assert_eq(try_build(&gm, 1, NULL, 0), -EINVAL, "hot-plug needs PCI");
	with_ged = with_pcihp = false;
	free(p);
}

/* With CPU hot-plug (2 boot CPUs of 34): the MADT lists all 34, those past
 * the boot ones online-capable only; the DSDT has the processor container,
 * its controller fields, CSCN over both register halves and 34 processors,
 * C000 without _EJ0; the GED calls CSCN.  iasl gives back the same bytes. */
Test(acpi, iasl_disassembles_cpu_hotplug, .timeout = 60)
{
	static const char *const sigs[] = { "APIC", "DSDT" };
	static const char *const want[] = {
		"Processor ID : 01\n[037h 0055   1]                Local Apic ID : 01\n"
		"[038h 0056   4]        Flags (decoded below) : 00000001\n"
		"                           Processor Enabled : 1\n"
		"                      Runtime Online Capable : 0",
		"Processor ID : 02\n[03Fh 0063   1]                Local Apic ID : 02\n"
		"[040h 0064   4]        Flags (decoded below) : 00000002\n"
		"                           Processor Enabled : 0\n"
		"                      Runtime Online Capable : 1",
		"Processor ID : 21",
		"        Device (CPUS)\n        {\n"
		"            Name (_HID, \"ACPI0010\" /* Processor Container Device */)",
		"OperationRegion (CPST, SystemIO, 0x0740, 0x20)",
		"CPR0,   32, \n                CPR1,   32, \n                CIN0,   32",
		"Method (CSCN, 0, Serialized)",
		"If ((Local1 & 0x02))\n                {\n"
		"                    Notify (C021, One) // Device Check",
		"If ((Local2 & 0x02))\n                {\n"
		"                    Notify (C001, 0x03) // Eject Request",
		"            Device (C000)\n            {\n"
		"                Name (_HID, \"ACPI0007\" /* Processor Device */)  // _HID: Hardware ID\n"
		"                Name (_UID, Zero)  // _UID: Unique ID\n"
		"                Method (_STA, 0, NotSerialized)  // _STA: Status\n"
		"                {\n"
		"                    If ((CPR0 & One))\n",
		"                Name (_MAT, Buffer (0x08)  // _MAT: Multiple APIC Table Entry\n"
		"                {\n"
		"                     0x00, 0x08, 0x21, 0x21, 0x01, 0x00, 0x00, 0x00   // ..!!....\n",
		"CEJ1 = 0x02",
		"\\_SB.CPUS.CSCN ()",
	};
	static char out[1 << 18];
	char dir[] = "/tmp/kvmm-acpi-XXXXXX";
	const uint8_t *r;
	const char *c0;

	with_max_cpus = 34;
	cr_assert_eq(try_build(&gm, 2, NULL, 0), -EINVAL, "CPU hot-plug needs the GED");
	with_max_cpus = 65;
	with_ged = true;
	cr_assert_eq(try_build(&gm, 2, NULL, 0), -EINVAL, "64 CPUs at most");
	with_max_cpus = 34;
	r = build(2, NULL, 0);
	disassemble(r, sigs, 2, dir, out, sizeof(out));
	want_all(out, want, sizeof(want) / sizeof(want[0]));
	cr_assert_null(strstr(out, "Device (C022)"));
	c0 = strstr(out, "Device (C000)");
	cr_assert(c0 && strstr(c0, "Device (C001)") &&
		  !memmem(c0, (size_t)(strstr(c0, "Device (C001)") - c0), "_EJ0", 4),
		  "the boot CPU has no _EJ0");
	recompile(r, dir);
	cr_assert_eq(run(out, sizeof(out), "rm -rf -- %s", dir), 0);
	with_max_cpus = 0;
	with_ged = false;
}

/*
 * Runs \_SB.PCIn._OSC (UUID, 1, 3, Buffer { CDW1, CDW2, CDW3 }) in ACPICA's
 * own interpreter (acpiexec, from acpica-tools like iasl) over the DSDT in
 * DIR; the three DWords it returns in OUT.
 */
static void run_osc(const char *dir, unsigned int n, const char *uuid,
		    uint32_t cdw1, uint32_t cdw3, uint32_t out[3])
{
	static char res[65536];
	char cmd[512];
	const char *p;
	unsigned int b[12], i;

	snprintf(cmd, sizeof(cmd), "%s && timeout 30 acpiexec -b 'Execute "
		 "\\_SB.PCI%u._OSC (%s) 1 3 (%02x %02x %02x %02x 1f 00 00 00"
		 " %02x %02x %02x %02x)' DSDT.dat 2>&1", dir, n, uuid,
		 cdw1 & 0xff, cdw1 >> 8 & 0xff, cdw1 >> 16 & 0xff, cdw1 >> 24,
		 cdw3 & 0xff, cdw3 >> 8 & 0xff, cdw3 >> 16 & 0xff, cdw3 >> 24);
	cr_assert_eq(run(res, sizeof(res), "cd %s", cmd), 0, "%s", res);
	p = strstr(res, "[Buffer] Length 0C =     0000: ");
	cr_assert_not_null(p, "%s", res);
	cr_assert_eq(sscanf(p + 31, "%x %x %x %x %x %x %x %x %x %x %x %x",
			    &b[0], &b[1], &b[2], &b[3], &b[4], &b[5], &b[6],
			    &b[7], &b[8], &b[9], &b[10], &b[11]), 12, "%s", res);
	for (i = 0; i < 3; i++)
		out[i] = b[4 * i] | b[4 * i + 1] << 8 | b[4 * i + 2] << 16 |
			 (uint32_t)b[4 * i + 3] << 24;
	cr_assert_null(strcasestr(res, "exception"), "%s", res);
}

Test(acpi, acpiexec_runs_osc, .timeout = 120)
{
	static const char pci_uuid[] =
		"5b 4d db 33 f7 1f 1c 40 96 57 74 41 c0 3d d7 66";
	/* Off by one bit in the first byte. */
	static const char other_uuid[] =
		"5a 4d db 33 f7 1f 1c 40 96 57 74 41 c0 3d d7 66";
	static char out[4096];
	char dir[] = "/tmp/kvmm-acpi-XXXXXX", path[64];
	struct acpi_pci_seg *p = make_pci(2);
	const uint8_t *t;
	uint32_t c[3];
	FILE *f;

	cr_assert_eq(run(out, sizeof(out), "command -v %s", "acpiexec"), 0,
		     "acpiexec not found: install acpica-tools");
	with_pci = p;
	nr_with_pci = 2;
	t = find(build(1, NULL, 0), "DSDT");
	with_pci = NULL;
	nr_with_pci = 0;
	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/DSDT.dat", dir);
	f = fopen(path, "wb");
	cr_assert(f && fwrite(t, 1, rd(t + 4, 4), f) == rd(t + 4, 4));
	fclose(f);

	/* Linux's query for native hot-plug, SHPC, PME, AER and the PCIe
	 * capability: everything but the two hot-plug bits, masked. */
	run_osc(dir, 0, pci_uuid, 1, 0x1f, c);
	cr_assert(c[0] == 0x11 && c[1] == 0x1f && c[2] == 0x1c,
		  "query: %#x %#x %#x", c[0], c[1], c[2]);
	/* Its request for exactly what it was offered: granted as is. */
	run_osc(dir, 1, pci_uuid, 0, 0x1c, c);
	cr_assert(c[0] == 0 && c[1] == 0x1f && c[2] == 0x1c,
		  "request: %#x %#x %#x", c[0], c[1], c[2]);
	/* Only SHPC asked for: masked too. */
	run_osc(dir, 1, pci_uuid, 0, 0x12, c);
	cr_assert(c[0] == 0x10 && c[2] == 0x10, "%#x %#x", c[0], c[2]);
	/* Another UUID: unrecognized, the rest untouched. */
	run_osc(dir, 0, other_uuid, 0, 0x1f, c);
	cr_assert(c[0] == 0x04 && c[1] == 0x1f && c[2] == 0x1f,
		  "other UUID: %#x %#x %#x", c[0], c[1], c[2]);
	cr_assert_eq(run(out, sizeof(out), "rm -rf -- %s", dir), 0);
	free(p);
}

/* The memory devices' _CRS patches the template's QWordMemory at these offsets: _MIN, _MAX
 * and _LEN of a QWord address space descriptor (ACPI 6.5, 6.4.3.5.1). */
static const uint8_t crs_fields[3][11] = {
	{ 0x8f, 'M', 'R', '6', '4', 0x0a, 14, 'M', 'I', 'N', 'L' },
	{ 0x8f, 'M', 'R', '6', '4', 0x0a, 22, 'M', 'A', 'X', 'L' },
	{ 0x8f, 'M', 'R', '6', '4', 0x0a, 38, 'L', 'E', 'N', 'L' },
};

static unsigned int count_in(const uint8_t *t, const void *want, size_t n)
{
	const uint8_t *p = t, *end = t + rd(t + 4, 4);
	unsigned int c = 0;

	while ((p = memmem(p, (size_t)(end - p), want, n))) {
		c++;
		p++;
	}
	return c;
}

/* With memory hot-plug: the controller's fields, MSCN over the 16 slots, 16 memory
 * devices whose _CRS fills a QWordMemory at _MIN/_MAX/_LEN, and the GED calling MSCN;
 * iasl gives back the same bytes.  Memory hot-plug without the GED is refused. */
Test(acpi, iasl_disassembles_mem_hotplug, .timeout = 60)
{
	static const char *const sigs[] = { "DSDT" };
	static const char *const want[] = {
		"        Device (MHPC)\n        {\n"
		"            Name (_HID, EisaId (\"PNP0A06\") /* Generic Container Device */)",
		"Name (_UID, \"MHPC\")",
		"OperationRegion (MHPR, SystemIO, 0x0760, 0x0108)",
		"            Field (MHPR, DWordAcc, NoLock, WriteAsZeros)\n            {\n"
		"                MINS,   32, \n                MRSV,   32, \n"
		"                MB00,   64, \n                ML00,   64, \n"
		"                MB01,   64, \n",
		"                MB0F,   64, \n                ML0F,   64\n            }",
		"            Method (MSCN, 0, Serialized)\n            {\n"
		"                Local0 = MINS /* \\_SB_.MHPC.MINS */\n"
		"                If ((Local0 & One))\n                {\n"
		"                    Notify (M000, One) // Device Check\n",
		"                If ((Local0 & 0x8000))\n                {\n"
		"                    Notify (M00F, One) // Device Check\n",
		"            Device (M000)\n            {\n"
		"                Name (_HID, EisaId (\"PNP0C80\") /* Memory Device */)  // _HID: Hardware ID\n"
		"                Name (_UID, Zero)  // _UID: Unique ID\n"
		"                Method (_STA, 0, NotSerialized)  // _STA: Status\n"
		"                {\n"
		"                    If (ML00)\n"
		"                    {\n"
		"                        Return (0x0F)\n"
		"                    }\n\n"
		"                    Return (Zero)\n"
		"                }\n\n"
		"                Method (_CRS, 0, Serialized)  // _CRS: Current Resource Settings\n"
		"                {\n"
		"                    Name (MR64, ResourceTemplate ()\n"
		"                    {\n"
		"                        QWordMemory (ResourceConsumer, PosDecode, MinFixed, MaxFixed,"
		" Cacheable, ReadWrite,\n"
		"                            0x0000000000000000, // Granularity\n"
		"                            0x0000000000000000, // Range Minimum\n"
		"                            0x0000000000000000, // Range Maximum\n"
		"                            0x0000000000000000, // Translation Offset\n"
		"                            0x0000000000000001, // Length\n"
		"                            ,, _Y00, AddressRangeMemory, TypeStatic)\n"
		"                    })\n"
		/* iasl names the offsets by the descriptor's fields: 14, 22 and 38 are
		 * _MIN, _MAX and _LEN. */
		"                    CreateQWordField (MR64, \\_SB.MHPC.M000._CRS._Y00._MIN, MINL)"
		"  // _MIN: Minimum Base Address\n"
		"                    CreateQWordField (MR64, \\_SB.MHPC.M000._CRS._Y00._MAX, MAXL)"
		"  // _MAX: Maximum Base Address\n"
		"                    CreateQWordField (MR64, \\_SB.MHPC.M000._CRS._Y00._LEN, LENL)"
		"  // _LEN: Length\n"
		"                    MINL = MB00 /* \\_SB_.MHPC.MB00 */\n"
		"                    LENL = ML00 /* \\_SB_.MHPC.ML00 */\n"
		"                    MAXL = (MINL + LENL) /* \\_SB_.MHPC.M000._CRS.LENL */\n"
		"                    MAXL -= One\n"
		"                    Return (MR64) /* \\_SB_.MHPC.M000._CRS.MR64 */\n"
		"                }\n"
		"            }",
		"            Device (M00F)\n            {\n"
		"                Name (_HID, EisaId (\"PNP0C80\") /* Memory Device */)  // _HID: Hardware ID\n"
		"                Name (_UID, 0x0F)  // _UID: Unique ID\n",
		"If (ML0F)",
		"CreateQWordField (MR64, \\_SB.MHPC.M00F._CRS._Y0F._LEN, LENL)",
		"MINL = MB0F /* \\_SB_.MHPC.MB0F */",
		"                If ((Local0 & 0x08))\n                {\n"
		"                    \\_SB.MHPC.MSCN ()\n                }",
	};
	static char out[1 << 18];
	char dir[] = "/tmp/kvmm-acpi-XXXXXX", name[32];
	const uint8_t *r, *t;
	const char *q;
	unsigned int i, n = 0;

	with_memhp = true;
	cr_assert_eq(try_build(&gm, 1, NULL, 0), -EINVAL, "memory hot-plug needs the GED");
	with_ged = true;
	r = build(1, NULL, 0);
	t = find(r, "DSDT");
	for (i = 0; i < 3; i++)
		cr_assert_eq(count_in(t, crs_fields[i], sizeof(crs_fields[i])), X86_MEMHP_SLOTS,
			     "CreateQWordField at offset %u in every _CRS", crs_fields[i][6]);
	disassemble(r, sigs, 1, dir, out, sizeof(out));
	want_all(out, want, sizeof(want) / sizeof(want[0]));
	for (q = out; (q = strstr(q, "Name (_HID, EisaId (\"PNP0C80\") /* Memory Device */)")); q++)
		n++;
	cr_assert_eq(n, X86_MEMHP_SLOTS, "%u memory devices", n);
	for (i = 0; i < X86_MEMHP_SLOTS; i++) {
		snprintf(name, sizeof(name), "Device (M%03X)", i);
		cr_assert_not_null(strstr(out, name), "%s", name);
	}
	cr_assert_null(strstr(out, "Device (M010)"));
	cr_assert_null(strstr(out, "_EJ0"), "memory is never ejected");
	recompile(r, dir);
	cr_assert_eq(run(out, sizeof(out), "rm -rf -- %s", dir), 0);

	/* Without it: no controller, and the GED does not call MSCN. */
	with_memhp = false;
	t = find(build(1, NULL, 0), "DSDT");
	cr_assert(!in_dsdt(t, "MHPC", 4) && !in_dsdt(t, "PNP0C80", 7) &&
		  !in_dsdt(t, "\x0c\x41\xd0\x0c\x80", 5) && !in_dsdt(t, "MSCN", 4));
	with_ged = false;
}

/* Every hot-plug at once: the GED's _EVT calls each controller under its own bit. */
Test(acpi, dsdt_all_hotplug_in_ged)
{
	/* If (Local0 & GED_EVT_MEM_HOTPLUG) { \_SB.MHPC.MSCN () } */
	static const uint8_t mem[] = { 0xa0, 0x15, 0x7b, 0x60, 0x0a, GED_EVT_MEM_HOTPLUG, 0x00,
		'\\', 0x2f, 3, '_', 'S', 'B', '_', 'M', 'H', 'P', 'C', 'M', 'S', 'C', 'N' };
	struct acpi_pci_seg *p = make_pci(1);
	const uint8_t *t;
	unsigned int i;

	with_pci = p;
	nr_with_pci = 1;
	with_ged = with_pcihp = with_memhp = true;
	with_max_cpus = 4;
	t = find(build(2, NULL, 0), "DSDT");
	cr_assert(in_dsdt(t, mem, sizeof(mem)), "_EVT calls MSCN");
	cr_assert(in_dsdt(t, "CSCN", 4) && in_dsdt(t, "PCNT", 4) && in_dsdt(t, "MHPC", 4));
	for (i = 0; i < 3; i++)
		cr_assert_eq(count_in(t, crs_fields[i], sizeof(crs_fields[i])), X86_MEMHP_SLOTS);
	with_ged = with_pcihp = with_memhp = false;
	with_max_cpus = 0;
	with_pci = NULL;
	nr_with_pci = 0;
	free(p);
}

/*
 * acpiexec over the DSDT and a stub SSDT that fills the controller's registers (SystemIO
 * 0x760, which acpiexec backs with memory) with what devices/memhp.c answers after PLUGs,
 * dword by dword, and GEVT with the GED's memory bit: the slots' _STA and _CRS, and the
 * GED's _EVT notifying the plugged slots' devices.
 */
static void memhp_stub(const char *dir, const struct memhp *h)
{
	static char out[4096];
	char path[80];
	uint8_t b[4];
	uint32_t v, off;
	FILE *f;

	snprintf(path, sizeof(path), "%s/stub.asl", dir);
	f = fopen(path, "w");
	cr_assert_not_null(f);
	fprintf(f, "DefinitionBlock (\"\", \"SSDT\", 2, \"KVMM\", \"STUB\", 1)\n{\n"
		"    OperationRegion (STUB, SystemIO, 0x%x, 0x%x)\n"
		"    Field (STUB, DWordAcc, NoLock, Preserve)\n    {\n",
		X86_MEMHP_PORT, X86_MEMHP_LEN);
	for (off = 0; off < MEMHP_LEN; off += 4)
		fprintf(f, "        W%03X, 32,\n", off / 4);
	fprintf(f, "    }\n    OperationRegion (GSTB, SystemIO, 0x%x, 1)\n"
		"    Field (GSTB, ByteAcc, NoLock, Preserve) { GSTV, 8 }\n"
		"    Method (FILL, 0, Serialized)\n    {\n        GSTV = 0x%x\n",
		X86_GED_PORT, GED_EVT_MEM_HOTPLUG);
	for (off = 0; off < MEMHP_LEN; off += 4) {
		memhp_io((void *)h, off, b, 4, false);
		memcpy(&v, b, 4);
		fprintf(f, "        W%03X = 0x%08x\n", off / 4, v);
	}
	fprintf(f, "    }\n}\n");
	fclose(f);
	cr_assert_eq(run(out, sizeof(out), "cd %s && iasl stub.asl 2>&1", dir), 0, "%s", out);
}

/* The 48 bytes of the buffer that acpiexec's output RES shows for evaluating METHOD. */
static void crs_of(const char *res, const char *method, uint8_t crs[48])
{
	char mark[80];
	const char *p;
	unsigned int i, j, x;
	int n;

	snprintf(mark, sizeof(mark), "Evaluating %s\n", method);
	p = strstr(res, mark);
	cr_assert_not_null(p, "%s", res);
	p = strstr(p, "[Buffer] Length 30 = \n");
	cr_assert_not_null(p, "%s: %s", method, res);
	for (i = 0; i < 3; i++) {
		p = strchr(p, '\n');
		cr_assert(p && sscanf(p, " %x: %n", &x, &n) == 1 && x == 16 * i, "%s", res);
		p += n;
		for (j = 0; j < 16; j++) {
			cr_assert_eq(sscanf(p, "%x%n", &x, &n), 1, "%s", res);
			crs[16 * i + j] = (uint8_t)x;
			p += n;
		}
	}
}

/*
 * Lines of acpiexec's output that report an error, except its own complaint at exit about a
 * Notify still queued to its deferred-execution thread ("N Outstanding cache allocations"):
 * whether that thread ran before acpiexec exits depends on the machine's load, not on the AML.
 */
static unsigned int acpiexec_errors(const char *res)
{
	unsigned int n = 0;
	const char *l = res, *e;
	char line[512];

	for (; *l; l = *e ? e + 1 : e) {
		size_t len;

		e = strchr(l, '\n');
		if (!e)
			e = l + strlen(l);
		len = (size_t)(e - l) < sizeof(line) - 1 ? (size_t)(e - l) : sizeof(line) - 1;
		memcpy(line, l, len);
		line[len] = '\0';
		if (strcasestr(line, "error") && !strstr(line, "Outstanding cache allocations"))
			n++;
	}
	return n;
}

static uint64_t le64(const uint8_t *p)
{
	return rd(p, 8);
}

Test(acpi, acpiexec_runs_memory_devices, .timeout = 120)
{
	static char out[4096], res[1 << 16];
	char dir[] = "/tmp/kvmm-acpi-XXXXXX", path[64];
	struct memhp *h = memhp_new();
	const uint64_t base0 = 0x120000000ULL, len0 = 896ULL << 20;
	const uint64_t base1 = 0x123456789000ULL, len1 = (4ULL << 30) + (128ULL << 20);
	uint8_t crs[48];
	const uint8_t *t;
	FILE *f;

	cr_assert_eq(run(out, sizeof(out), "command -v %s", "acpiexec"), 0,
		     "acpiexec not found: install acpica-tools");
	cr_assert_not_null(h);
	cr_assert_eq(memhp_plug(h, base0, len0), 0);
	cr_assert_eq(memhp_plug(h, base1, len1), 1);
	with_ged = with_memhp = true;
	t = find(build(1, NULL, 0), "DSDT");
	with_ged = with_memhp = false;
	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/DSDT.dat", dir);
	f = fopen(path, "wb");
	cr_assert(f && fwrite(t, 1, rd(t + 4, 4), f) == rd(t + 4, 4));
	fclose(f);
	memhp_stub(dir, h);

	cr_assert_eq(run(res, sizeof(res), "cd %s && timeout 30 acpiexec -b '"
			 "Execute \\FILL; Execute \\_SB.MHPC.M000._STA; "
			 "Execute \\_SB.MHPC.M001._STA; Execute \\_SB.MHPC.M002._STA; "
			 "Execute \\_SB.MHPC.M00F._STA; Execute \\_SB.MHPC.M000._CRS; "
			 "Execute \\_SB.MHPC.M001._CRS; Execute \\_SB.GED._EVT 0x17' "
			 "DSDT.dat stub.aml 2>&1", dir), 0, "%s", res);
	cr_assert_null(strcasestr(res, "exception"), "%s", res);
	cr_assert_eq(acpiexec_errors(res), 0, "%s", res);
	cr_assert_not_null(strstr(res, "Evaluating \\_SB.MHPC.M000._STA\nEvaluation of "
				  "\\_SB.MHPC.M000._STA returned object"), "%s", res);
	/* Plugged slots are present (0x0F), empty ones absent. */
	cr_assert(strstr(res, "Evaluating \\_SB.MHPC.M000._STA\n") &&
		  strstr(strstr(res, "Evaluating \\_SB.MHPC.M000._STA\n"),
			 "[Integer] = 000000000000000F"), "%s", res);
	{
		const char *s1 = strstr(res, "Evaluating \\_SB.MHPC.M001._STA\n");
		const char *s2 = strstr(res, "Evaluating \\_SB.MHPC.M002._STA\n");
		const char *s3 = strstr(res, "Evaluating \\_SB.MHPC.M00F._STA\n");
		const char *s4 = strstr(res, "Evaluating \\_SB.MHPC.M000._CRS\n");

		cr_assert(s1 && s2 && s3 && s4, "%s", res);
		cr_assert(memmem(s1, (size_t)(s2 - s1), "[Integer] = 000000000000000F", 28),
			  "M001 present: %s", res);
		cr_assert(memmem(s2, (size_t)(s3 - s2), "[Integer] = 0000000000000000", 28),
			  "M002 absent: %s", res);
		cr_assert(memmem(s3, (size_t)(s4 - s3), "[Integer] = 0000000000000000", 28),
			  "M00F absent: %s", res);
	}

	/* QWordMemory: consumer, cacheable read-write memory [base, base + len - 1]. */
	crs_of(res, "\\_SB.MHPC.M000._CRS", crs);
	cr_assert(crs[0] == 0x8a && crs[1] == 43 && crs[2] == 0 && crs[3] == 0,
		  "QWord address space descriptor of memory");
	cr_assert_eq(le64(crs + 6), 0, "granularity");
	cr_assert_eq(le64(crs + 14), base0, "_MIN %#llx", (unsigned long long)le64(crs + 14));
	cr_assert_eq(le64(crs + 22), base0 + len0 - 1, "_MAX");
	cr_assert_eq(le64(crs + 30), 0, "translation");
	cr_assert_eq(le64(crs + 38), len0, "_LEN");
	cr_assert_eq(crs[46], 0x79, "EndTag");
	crs_of(res, "\\_SB.MHPC.M001._CRS", crs);
	cr_assert_eq(le64(crs + 14), base1, "_MIN %#llx", (unsigned long long)le64(crs + 14));
	cr_assert_eq(le64(crs + 22), base1 + len1 - 1, "_MAX %#llx",
		     (unsigned long long)le64(crs + 22));
	cr_assert_eq(le64(crs + 38), len1, "_LEN %#llx", (unsigned long long)le64(crs + 38));

	/* The GED's event: the controller's INSERT (slots 0 and 1) notifies those two. */
	cr_assert_not_null(strstr(res, "Received a System Notify on [M000]"), "%s", res);
	cr_assert_not_null(strstr(res, "Received a System Notify on [M001]"), "%s", res);
	cr_assert_null(strstr(res, "Received a System Notify on [M002]"), "%s", res);
	cr_assert_null(strstr(res, "Value 0x03"), "no eject requests: %s", res);
	cr_assert_eq(run(out, sizeof(out), "rm -rf -- %s", dir), 0);
	memhp_free(h);
}
