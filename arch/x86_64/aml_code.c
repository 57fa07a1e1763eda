/*
 * The executable side of the AML builder (declared in aml.h): an operation
 * region with named fields, control methods, If/Else, Store, And, Or,
 * LEqual, CreateDWordField, Return, Local0-7, Arg0-6 and Notify, which is
 * what the DSDT's Generic Event Device needs to read its event register and
 * notify the power button, and a PCI host bridge's _OSC to answer the OS.  Encodings follow ACPI 6.5
 * chapter 20 (20.2.5.2 named objects, 20.2.5.3 statements, 20.2.5.4
 * expressions, 20.2.6.2 locals).
 */
#include <errno.h>
#include <string.h>

#include "aml.h"

#define AML_EXT_OP_PREFIX	0x5b
#define AML_OP_REGION_OP	0x80	/* after AML_EXT_OP_PREFIX */
#define AML_FIELD_OP		0x81	/* after AML_EXT_OP_PREFIX */
#define AML_METHOD_OP		0x14
#define AML_LOCAL0_OP		0x60
#define AML_ARG0_OP		0x68
#define AML_STORE_OP		0x70
#define AML_ADD_OP		0x72
#define AML_SUBTRACT_OP		0x74
#define AML_AND_OP		0x7b
#define AML_OR_OP		0x7d
#define AML_NOTIFY_OP		0x86
#define AML_CREATE_DWORD_FIELD_OP 0x8a
#define AML_CREATE_QWORD_FIELD_OP 0x8f
#define AML_LEQUAL_OP		0x93
#define AML_IF_OP		0xa0
#define AML_ELSE_OP		0xa1
#define AML_RETURN_OP		0xa4
#define AML_NULL_NAME		0x00

#define AML_METHOD_ARGS_MAX	7
#define AML_METHOD_SERIALIZED	(1u << 3)
#define AML_LOCAL_MAX		7
#define AML_ARG_MAX		6

void aml_operation_region(struct aml *a, const char *name, uint8_t space,
			  uint64_t offset, uint64_t len)
{
	aml_byte(a, AML_EXT_OP_PREFIX);
	aml_byte(a, AML_OP_REGION_OP);
	aml_namestring(a, name);
	aml_byte(a, space);
	aml_integer(a, offset);
	aml_integer(a, len);
}

size_t aml_field_begin(struct aml *a, const char *region, uint8_t flags)
{
	size_t mark;

	aml_byte(a, AML_EXT_OP_PREFIX);
	aml_byte(a, AML_FIELD_OP);
	mark = a->len;
	aml_namestring(a, region);
	aml_byte(a, flags);
	return mark;
}

void aml_field_unit(struct aml *a, const char *name, uint32_t bits)
{
	uint8_t enc[4];
	int n;

	/* A NamedField is a bare NameSeg: no prefixes, no path. */
	if (!*name || strpbrk(name, "\\^.") || bits == 0) {
		aml_fail(a, -EINVAL);
		return;
	}
	/* The width is encoded like a PkgLength, but is not a length of
	 * anything that follows. */
	n = aml_pkglen_encode(enc, bits);
	if (n < 0) {
		aml_fail(a, n);
		return;
	}
	aml_namestring(a, name);
	aml_bytes(a, enc, n);
}

size_t aml_method_begin(struct aml *a, const char *name, unsigned int nargs,
			bool serialized)
{
	size_t mark;

	if (nargs > AML_METHOD_ARGS_MAX)
		aml_fail(a, -EINVAL);
	aml_byte(a, AML_METHOD_OP);
	mark = a->len;
	aml_namestring(a, name);
	aml_byte(a, (uint8_t)(nargs | (serialized ? AML_METHOD_SERIALIZED : 0)));
	return mark;
}

size_t aml_if_begin(struct aml *a)
{
	aml_byte(a, AML_IF_OP);
	return a->len;
}

size_t aml_else_begin(struct aml *a)
{
	aml_byte(a, AML_ELSE_OP);
	return a->len;
}

void aml_store(struct aml *a)
{
	aml_byte(a, AML_STORE_OP);
}

void aml_add(struct aml *a)
{
	aml_byte(a, AML_ADD_OP);
}

void aml_subtract(struct aml *a)
{
	aml_byte(a, AML_SUBTRACT_OP);
}

void aml_and(struct aml *a)
{
	aml_byte(a, AML_AND_OP);
}

void aml_or(struct aml *a)
{
	aml_byte(a, AML_OR_OP);
}

void aml_lequal(struct aml *a)
{
	aml_byte(a, AML_LEQUAL_OP);
}

void aml_return(struct aml *a)
{
	aml_byte(a, AML_RETURN_OP);
}

void aml_create_dword_field(struct aml *a)
{
	aml_byte(a, AML_CREATE_DWORD_FIELD_OP);
}

void aml_create_qword_field(struct aml *a)
{
	aml_byte(a, AML_CREATE_QWORD_FIELD_OP);
}

void aml_no_target(struct aml *a)
{
	aml_byte(a, AML_NULL_NAME);
}

void aml_local(struct aml *a, unsigned int n)
{
	if (n > AML_LOCAL_MAX) {
		aml_fail(a, -EINVAL);
		return;
	}
	aml_byte(a, (uint8_t)(AML_LOCAL0_OP + n));
}

void aml_arg(struct aml *a, unsigned int n)
{
	if (n > AML_ARG_MAX) {
		aml_fail(a, -EINVAL);
		return;
	}
	aml_byte(a, (uint8_t)(AML_ARG0_OP + n));
}

void aml_notify(struct aml *a, const char *path, uint64_t value)
{
	aml_byte(a, AML_NOTIFY_OP);
	aml_namestring(a, path);
	aml_integer(a, value);
}
