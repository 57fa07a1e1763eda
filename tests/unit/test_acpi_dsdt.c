/*
 * Tests for the x86_64 DSDT: its virtio devices and \_S5_, its Generic Event
 * Device with the power button, its PCI host bridges, a round trip of the
 * FADT, MADT, MCFG and DSDT through iasl, and the host bridges' _OSC run in
 * acpiexec.  Both tools (acpica-tools) must be installed: a missing one fails
 * the test rather than skipping it.
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
