/*
 * Tests for the x86_64 DSDT: its virtio devices and \_S5_, its Generic Event
 * Device with the power button, and a round trip of the FADT, MADT and DSDT
 * through iasl, which must be installed: a missing iasl fails the test rather
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
	char cmd[256];
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
	char dir[] = "/tmp/kvmm-acpi-XXXXXX", path[64];
	struct acpi_mmio_dev *d;
	const uint8_t *r, *t;
	unsigned int i;
	FILE *f;

	cr_assert_eq(run(out, sizeof(out), "command -v %s", "iasl"), 0,
		     "iasl not found: install acpica-tools");
	d = make_devs(3);
	d[2] = (struct acpi_mmio_dev){ 1ULL << 36, 0x200000, 12 };
	with_com1 = with_ged = true;
	r = build(4, d, 3);
	with_com1 = with_ged = false;
	free(d);
	cr_assert_not_null(mkdtemp(dir));
	for (i = 0; i < 3; i++) {
		t = find(r, sigs[i]);
		snprintf(path, sizeof(path), "%s/%s.dat", dir, sigs[i]);
		f = fopen(path, "wb");
		cr_assert(f && fwrite(t, 1, rd(t + 4, 4), f) == rd(t + 4, 4));
		fclose(f);
	}
	cr_assert_eq(run(out, sizeof(out),
			 "cd %s && iasl -d FACP.dat APIC.dat DSDT.dat 2>&1",
			 dir), 0, "%s", out);
	cr_assert(!strcasestr(out, "error") && !strcasestr(out, "warning") &&
		  strstr(out, "Disassembly completed"), "%s", out);
	cr_assert_eq(run(out, sizeof(out), "cat %s/*.dsl", dir), 0);
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		cr_assert_not_null(strstr(out, want[i]), "no \"%s\" in:\n%s",
				   want[i], out);
	cr_assert_null(strstr(out, "Incorrect"), "bad checksum:\n%s", out);

	/* The disassembly must compile back: catches AML that iasl merely
	 * tolerated while disassembling. */
	cr_assert_eq(run(out, sizeof(out), "cd %s && iasl -p re DSDT.dsl 2>&1",
			 dir), 0, "%s", out);
	cr_assert_not_null(strstr(out, " 0 Errors, 0 Warnings"), "%s", out);
	/* Unoptimised, iasl must give back our very bytes. */
	cr_assert_eq(run(out, sizeof(out), "cd %s && iasl -oa -p raw DSDT.dsl 2>&1",
			 dir), 0, "%s", out);
	snprintf(path, sizeof(path), "%s/raw.aml", dir);
	same_aml(find(r, "DSDT"), path);
	cr_assert_eq(run(out, sizeof(out), "rm -rf -- %s", dir), 0);
}
