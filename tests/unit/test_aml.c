/*
 * Tests for the x86_64 AML byte-code builder (arch/x86_64/aml.c, aml_code.c): the encoders
 * of integers, strings, names, UUIDs, address space descriptors and the control-method
 * constructs (arithmetic and buffer fields too) byte for byte, their errors, the PkgLength at its size boundaries, and the
 * sticky error of a full buffer.  The tables
 * built with it are tested in test_acpi.c and test_acpi_dsdt.c.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "aml.h"

/* Runs STMT on a fresh builder A; checks the bytes or the error. */
#define AML_RUN(stmt)							\
	uint8_t buf_[64];						\
	struct aml a_, *a = &a_;					\
	aml_init(a, buf_, sizeof(buf_));				\
	stmt
#define AML_EXPECT(stmt, ...) do {					\
	static const uint8_t want_[] = { __VA_ARGS__ };			\
	AML_RUN(stmt);							\
	cr_assert_eq(aml_error(a), 0, #stmt);				\
	cr_assert_eq(a->len, sizeof(want_), #stmt ": len %zu", a->len);	\
	cr_assert_eq(memcmp(buf_, want_, sizeof(want_)), 0, #stmt);	\
} while (0)
#define AML_EXPECT_ERR(stmt, err) do {					\
	AML_RUN(stmt);							\
	cr_assert_eq(aml_error(a), err, #stmt);				\
} while (0)

Test(aml, integers_strings_names)
{
	static const char *const bad[] = { "", "0ABC", "ABCDE", "abc",
					   "\\_SB_..X", "\\_SB_." };
	unsigned int i;

	AML_EXPECT(aml_integer(a, 0), 0x00);
	AML_EXPECT(aml_integer(a, 1), 0x01);
	AML_EXPECT(aml_integer(a, 2), 0x0a, 0x02);
	AML_EXPECT(aml_integer(a, 0xff), 0x0a, 0xff);
	AML_EXPECT(aml_integer(a, 0x100), 0x0b, 0x00, 0x01);
	AML_EXPECT(aml_integer(a, 0x10000), 0x0c, 0, 0, 1, 0);
	AML_EXPECT(aml_integer(a, 0xffffffff), 0x0c, 0xff, 0xff, 0xff, 0xff);
	AML_EXPECT(aml_integer(a, 1ULL << 32), 0x0e, 0, 0, 0, 0, 1, 0, 0, 0);
	AML_EXPECT(aml_name_string(a, "_HID", "LNRO0005"), 0x08, '_', 'H',
		   'I', 'D', 0x0d, 'L', 'N', 'R', 'O', '0', '0', '0', '5', 0);
	AML_EXPECT(aml_string(a, ""), 0x0d, 0);
	/* iasl: EISAID("PNP0A03") == 0x030AD041. */
	AML_EXPECT(aml_eisaid(a, "PNP0A03"), 0x0c, 0x41, 0xd0, 0x0a, 0x03);
	AML_EXPECT_ERR(aml_eisaid(a, "LNRO0005"), -EINVAL);
	AML_EXPECT_ERR(aml_eisaid(a, "pnp0a03"), -EINVAL);
	AML_EXPECT_ERR(aml_string(a, "\x80"), -EINVAL);
	AML_EXPECT(aml_namestring(a, "_S5_"), '_', 'S', '5', '_');
	AML_EXPECT(aml_namestring(a, "_SB"), '_', 'S', 'B', '_');
	AML_EXPECT(aml_namestring(a, "\\"), '\\', 0x00);
	AML_EXPECT(aml_namestring(a, "^^V0"), '^', '^', 'V', '0', '_', '_');
	AML_EXPECT(aml_namestring(a, "\\_SB_.V000"), '\\', 0x2e,
		   '_', 'S', 'B', '_', 'V', '0', '0', '0');
	AML_EXPECT(aml_namestring(a, "\\_SB.PCI0.S08"), '\\', 0x2f, 3,
		   '_', 'S', 'B', '_', 'P', 'C', 'I', '0', 'S', '0', '8', '_');
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		AML_EXPECT_ERR(aml_namestring(a, bad[i]), -EINVAL);
}

Test(aml, methods_fields_and_operators)
{
	size_t m, n;

	AML_EXPECT(aml_operation_region(a, "GREG", AML_SPACE_SYSTEM_IO, 0x610, 1),
		   0x5b, 0x80, 'G', 'R', 'E', 'G', 0x01, 0x0b, 0x10, 0x06, 0x01);
	AML_EXPECT(aml_operation_region(a, "MREG", AML_SPACE_SYSTEM_MEMORY,
					0xfed00000, 0x100),
		   0x5b, 0x80, 'M', 'R', 'E', 'G', 0x00, 0x0c, 0, 0, 0xd0, 0xfe,
		   0x0b, 0x00, 0x01);
	AML_EXPECT((m = aml_field_begin(a, "GREG", AML_FIELD_BYTE_ACC |
					AML_FIELD_WRITE_ZEROS),
		    aml_field_unit(a, "GEVT", 8), aml_field_unit(a, "X", 0x40),
		    aml_pkg_end(a, m)),
		   0x5b, 0x81, 0x11, 'G', 'R', 'E', 'G', 0x41,
		   'G', 'E', 'V', 'T', 0x08, 'X', '_', '_', '_', 0x40, 0x04);
	AML_EXPECT((m = aml_method_begin(a, "_EVT", 1, true), aml_pkg_end(a, m)),
		   0x14, 0x06, '_', 'E', 'V', 'T', 0x09);
	AML_EXPECT((m = aml_method_begin(a, "\\_SB_.M", 7, false),
		    aml_pkg_end(a, m)),
		   0x14, 0x0c, '\\', 0x2e, '_', 'S', 'B', '_', 'M', '_', '_', '_',
		   0x07);
	/* Local0 = Local1; If (Local0 & 2) { Notify (PWRB, 0x80) } */
	AML_EXPECT((aml_store(a), aml_local(a, 1), aml_local(a, 0),
		    n = aml_if_begin(a), aml_and(a), aml_local(a, 0),
		    aml_integer(a, 2), aml_no_target(a),
		    aml_notify(a, "PWRB", 0x80), aml_pkg_end(a, n)),
		   0x70, 0x61, 0x60, 0xa0, 0x0d, 0x7b, 0x60, 0x0a, 0x02, 0x00,
		   0x86, 'P', 'W', 'R', 'B', 0x0a, 0x80);
	AML_EXPECT(aml_local(a, 7), 0x67);
	AML_EXPECT_ERR(aml_local(a, 8), -EINVAL);
	AML_EXPECT_ERR(aml_method_begin(a, "M", 8, false), -EINVAL);
	AML_EXPECT_ERR(aml_method_begin(a, "0M", 0, false), -EINVAL);
	AML_EXPECT_ERR(aml_field_unit(a, "GEVT", 0), -EINVAL);
	AML_EXPECT_ERR(aml_field_unit(a, "A.B", 8), -EINVAL);
	AML_EXPECT_ERR(aml_field_unit(a, "\\GEVT", 8), -EINVAL);
	AML_EXPECT_ERR(aml_field_unit(a, "", 8), -EINVAL);
	AML_EXPECT_ERR(aml_field_unit(a, "GEVTX", 8), -EINVAL);
	AML_EXPECT_ERR(aml_field_unit(a, "GEVT", AML_PKGLEN_MAX + 1), -ERANGE);
	AML_EXPECT_ERR(aml_notify(a, "\\_SB_.", 0x80), -EINVAL);
}

Test(aml, address_space_descriptors)
{
	/* WordBusNumber (ResourceProducer, MinFixed, MaxFixed, PosDecode,
	 * 0, 0, 0, 0, 1): the producer leaves bit 0 of the flags clear. */
	AML_EXPECT(aml_word_bus_number(a, AML_ADDR_PRODUCER, 0, 0),
		   0x88, 0x0d, 0x00, 0x02, 0x0c, 0x00, 0, 0, 0, 0, 0, 0, 0, 0,
		   0x01, 0x00);
	AML_EXPECT(aml_word_bus_number(a, 0, 1, 0xff),
		   0x88, 0x0d, 0x00, 0x02, 0x0d, 0x00, 0, 0, 0x01, 0, 0xff, 0,
		   0, 0, 0xff, 0x00);
	AML_EXPECT_ERR(aml_word_bus_number(a, 0, 2, 1), -EINVAL);
	AML_EXPECT_ERR(aml_word_bus_number(a, 0, 0, 0xffff), -EINVAL);

	/* DWordMemory (ResourceProducer, PosDecode, MinFixed, MaxFixed,
	 * NonCacheable, ReadWrite, 0, 0xC0000000, 0xC0FFFFFF, 0, 0x1000000). */
	AML_EXPECT(aml_dword_memory(a, AML_ADDR_PRODUCER | AML_ADDR_RW,
				    0xc0000000, 0x1000000),
		   0x87, 0x17, 0x00, 0x00, 0x0c, 0x01, 0, 0, 0, 0,
		   0, 0, 0, 0xc0, 0xff, 0xff, 0xff, 0xc0, 0, 0, 0, 0,
		   0, 0, 0, 0x01);
	/* ResourceConsumer, Cacheable, ReadOnly. */
	AML_EXPECT(aml_dword_memory(a, AML_ADDR_CACHEABLE, 0x1000, 0x1000),
		   0x87, 0x17, 0x00, 0x00, 0x0d, 0x02, 0, 0, 0, 0,
		   0, 0x10, 0, 0, 0xff, 0x1f, 0, 0, 0, 0, 0, 0,
		   0, 0x10, 0, 0);
	AML_EXPECT(aml_dword_memory(a, 0, 0xfffff000, 0x1000),
		   0x87, 0x17, 0x00, 0x00, 0x0d, 0x00, 0, 0, 0, 0,
		   0, 0xf0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0,
		   0, 0x10, 0, 0);
	AML_EXPECT_ERR(aml_dword_memory(a, 0, 0xfffff000, 0x1001), -EINVAL);
	AML_EXPECT_ERR(aml_dword_memory(a, 0, 0x1000, 0), -EINVAL);

	/* QWordMemory (ResourceProducer, ..., NonCacheable, ReadWrite, 0,
	 * 0x1_0000_0000, 0x1_FFFF_FFFF, 0, 0x1_0000_0000). */
	AML_EXPECT(aml_qword_memory(a, AML_ADDR_PRODUCER | AML_ADDR_RW,
				    1ULL << 32, 1ULL << 32),
		   0x8a, 0x2b, 0x00, 0x00, 0x0c, 0x01, 0, 0, 0, 0, 0, 0, 0, 0,
		   0, 0, 0, 0, 1, 0, 0, 0,
		   0xff, 0xff, 0xff, 0xff, 1, 0, 0, 0,
		   0, 0, 0, 0, 0, 0, 0, 0,
		   0, 0, 0, 0, 1, 0, 0, 0);
	/* A bool "rw" still means ReadWrite, ResourceConsumer. */
	AML_EXPECT(aml_qword_memory(a, true, 1ULL << 36, 0x1000),
		   0x8a, 0x2b, 0x00, 0x00, 0x0d, 0x01, 0, 0, 0, 0, 0, 0, 0, 0,
		   0, 0, 0, 0, 0x10, 0, 0, 0,
		   0xff, 0x0f, 0, 0, 0x10, 0, 0, 0,
		   0, 0, 0, 0, 0, 0, 0, 0,
		   0, 0x10, 0, 0, 0, 0, 0, 0);
	AML_EXPECT_ERR(aml_qword_memory(a, 0, UINT64_MAX, 2), -EINVAL);
	AML_EXPECT_ERR(aml_qword_memory(a, 0, 0, 0), -EINVAL);
}

Test(aml, uuid_buffers)
{
	static const char *const bad[] = {
		"", "33DB4D5B-1FF7-401C-9657-7441C03DD76",
		"33DB4D5B-1FF7-401C-9657-7441C03DD7666",
		"33DB4D5B_1FF7-401C-9657-7441C03DD766",
		"33DB4D5B-1FF7-401C-9657-7441C03DD76G",
		"33DB4D5B-1FF7-401C-96570-441C03DD766",
	};
	unsigned int i;

	/* ToUUID: the first three groups byte-swapped, the rest in order;
	 * Buffer (0x10) with a one-byte PkgLength (2 + 16 + 1 bytes). */
	AML_EXPECT(aml_uuid(a, "33DB4D5B-1FF7-401C-9657-7441C03DD766"),
		   0x11, 0x13, 0x0a, 0x10, 0x5b, 0x4d, 0xdb, 0x33, 0xf7, 0x1f,
		   0x1c, 0x40, 0x96, 0x57, 0x74, 0x41, 0xc0, 0x3d, 0xd7, 0x66);
	AML_EXPECT(aml_uuid(a, "00112233-4455-6677-8899-aabbccddeeff"),
		   0x11, 0x13, 0x0a, 0x10, 0x33, 0x22, 0x11, 0x00, 0x55, 0x44,
		   0x77, 0x66, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		AML_EXPECT_ERR(aml_uuid(a, bad[i]), -EINVAL);
}

Test(aml, osc_constructs)
{
	size_t m, n;

	/* CreateDWordField (Arg3, Zero, CDW1) */
	AML_EXPECT((aml_create_dword_field(a), aml_arg(a, 3), aml_integer(a, 0),
		    aml_namestring(a, "CDW1")),
		   0x8a, 0x6b, 0x00, 'C', 'D', 'W', '1');
	/* If (Arg0 == Local1) { Return (One) }
	 * Else { CDW1 |= 0x04 } */
	AML_EXPECT((m = aml_if_begin(a), aml_lequal(a), aml_arg(a, 0),
		    aml_local(a, 1), aml_return(a), aml_integer(a, 1),
		    aml_pkg_end(a, m),
		    n = aml_else_begin(a), aml_or(a), aml_namestring(a, "CDW1"),
		    aml_integer(a, 4), aml_namestring(a, "CDW1"),
		    aml_pkg_end(a, n)),
		   0xa0, 0x06, 0x93, 0x68, 0x61, 0xa4, 0x01,
		   0xa1, 0x0c, 0x7d, 'C', 'D', 'W', '1', 0x0a, 0x04,
		   'C', 'D', 'W', '1');
	/* CDW3 &= 0xFFFFFFFC, i.e. And (CDW3, 0xFFFFFFFC, CDW3) */
	AML_EXPECT((aml_and(a), aml_namestring(a, "CDW3"),
		    aml_integer(a, 0xfffffffc), aml_namestring(a, "CDW3")),
		   0x7b, 'C', 'D', 'W', '3', 0x0c, 0xfc, 0xff, 0xff, 0xff,
		   'C', 'D', 'W', '3');
	/* Or (Arg1, Arg2, Local7) */
	AML_EXPECT((aml_or(a), aml_arg(a, 1), aml_arg(a, 2), aml_local(a, 7)),
		   0x7d, 0x69, 0x6a, 0x67);
	AML_EXPECT(aml_arg(a, 6), 0x6e);
	AML_EXPECT_ERR(aml_arg(a, 7), -EINVAL);
	/* The memory devices' _CRS (dsdt.c): CreateQWordField (MR64, 0x0E, MINL),
	 * MAXL = MINL + LENL, MAXL -= 1, i.e. Add (MINL, LENL, MAXL),
	 * Subtract (MAXL, One, MAXL). */
	AML_EXPECT((aml_create_qword_field(a), aml_namestring(a, "MR64"),
		    aml_integer(a, 14), aml_namestring(a, "MINL")),
		   0x8f, 'M', 'R', '6', '4', 0x0a, 0x0e, 'M', 'I', 'N', 'L');
	AML_EXPECT((aml_add(a), aml_namestring(a, "MINL"), aml_namestring(a, "LENL"),
		    aml_namestring(a, "MAXL")),
		   0x72, 'M', 'I', 'N', 'L', 'L', 'E', 'N', 'L', 'M', 'A', 'X', 'L');
	AML_EXPECT((aml_subtract(a), aml_namestring(a, "MAXL"), aml_integer(a, 1),
		    aml_namestring(a, "MAXL")),
		   0x74, 'M', 'A', 'X', 'L', 0x01, 'M', 'A', 'X', 'L');
	/* As expressions: Local0 = (Arg0 + Arg1) - 0x10 */
	AML_EXPECT((aml_store(a), aml_subtract(a), aml_add(a), aml_arg(a, 0), aml_arg(a, 1),
		    aml_no_target(a), aml_integer(a, 0x10), aml_no_target(a), aml_local(a, 0)),
		   0x70, 0x74, 0x72, 0x68, 0x69, 0x00, 0x0a, 0x10, 0x00, 0x60);
	AML_EXPECT_ERR((aml_create_qword_field(a), aml_namestring(a, "MR64"),
			aml_integer(a, 14), aml_namestring(a, "1MIN")), -EINVAL);
	AML_EXPECT_ERR((aml_create_dword_field(a), aml_arg(a, 3),
			aml_integer(a, 0), aml_namestring(a, "1CDW")), -EINVAL);
}

#define PKGLEN_EXPECT(total, ...) do {					\
	static const uint8_t want_[] = { __VA_ARGS__ };			\
	uint8_t e_[4];							\
	cr_assert_eq(aml_pkglen_encode(e_, total), (int)sizeof(want_));	\
	cr_assert_eq(memcmp(e_, want_, sizeof(want_)), 0, #total);	\
} while (0)

Test(aml, pkglen_and_sticky_error)
{
	/* PkgLength counts itself: 62 + 1 = 63 still fits one byte, 63 needs
	 * two (65); 4093 + 2 = 4095 fits two, 4094 needs three (4097). */
	static const struct { size_t body; int n; uint8_t b[3]; } t[] = {
		{ 62, 1, { 0x3f } }, { 63, 2, { 0x41, 0x04 } },
		{ 4093, 2, { 0x4f, 0xff } }, { 4094, 3, { 0x81, 0x00, 0x01 } },
	};
	static uint8_t buf[8192], fill[8192];
	struct aml a;
	unsigned int i;
	size_t m;

	for (i = 0; i < 4; i++) {
		aml_init(&a, buf, sizeof(buf));
		m = aml_scope_begin(&a, "ABCD");	/* name: 4 bytes */
		aml_bytes(&a, fill, t[i].body - 4);
		aml_pkg_end(&a, m);
		cr_assert(!aml_error(&a) && a.len == 1 + t[i].n + t[i].body);
		cr_assert(buf[0] == 0x10 && !memcmp(buf + 1, t[i].b, t[i].n) &&
			  !memcmp(buf + 1 + t[i].n, "ABCD", 4),
			  "body %zu", t[i].body);
	}
	PKGLEN_EXPECT(63, 0x3f);
	PKGLEN_EXPECT(64, 0x40, 0x04);
	PKGLEN_EXPECT(4095, 0x4f, 0xff);
	PKGLEN_EXPECT(4096, 0x80, 0x00, 0x01);
	PKGLEN_EXPECT(0xfffff, 0x8f, 0xff, 0xff);
	PKGLEN_EXPECT(0x100000, 0xc0, 0x00, 0x00, 0x01);
	cr_assert_eq(aml_pkglen_encode(buf, AML_PKGLEN_MAX + 1), -ERANGE);

	/* Once full, the builder stays failed and inside its buffer. */
	aml_init(&a, buf, 8);
	aml_name_string(&a, "_HID", "LNRO0005");
	aml_integer(&a, 0);
	aml_pkg_end(&a, 0);
	cr_assert(aml_error(&a) == -E2BIG && a.len == 6, "len %zu", a.len);
}
