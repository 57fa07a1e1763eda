/*
 * AML byte-code builder used by the ACPI table generator to write the DSDT:
 * integers, strings, names, Scope/Device/Package/Buffer objects with their
 * PkgLength, UUID buffers, and resource descriptors.  Encodings follow ACPI 6.5 chapter 20
 * (AML grammar) and 6.4 (resource data types).
 */
#include <errno.h>
#include <string.h>

#include "aml.h"

#define AML_ZERO_OP		0x00
#define AML_ONE_OP		0x01
#define AML_NAME_OP		0x08
#define AML_BYTE_PREFIX		0x0a
#define AML_WORD_PREFIX		0x0b
#define AML_DWORD_PREFIX	0x0c
#define AML_STRING_PREFIX	0x0d
#define AML_QWORD_PREFIX	0x0e
#define AML_SCOPE_OP		0x10
#define AML_BUFFER_OP		0x11
#define AML_PACKAGE_OP		0x12
#define AML_DUAL_NAME_PREFIX	0x2e
#define AML_MULTI_NAME_PREFIX	0x2f
#define AML_EXT_OP_PREFIX	0x5b
#define AML_DEVICE_OP		0x82	/* after AML_EXT_OP_PREFIX */
#define AML_ROOT_CHAR		'\\'
#define AML_PARENT_PREFIX	'^'

/* Resource descriptor tags (small: type << 3 | length; large: 0x80 | type). */
#define AML_RES_END_TAG		0x79
#define AML_RES_MEMORY32_FIXED	0x86
#define AML_RES_DWORD_ADDR	0x87
#define AML_RES_WORD_ADDR	0x88
#define AML_RES_EXT_IRQ		0x89
#define AML_RES_QWORD_ADDR	0x8a

/* Address space descriptors: resource types and general flags (6.4.3.5). */
#define AML_ADDR_TYPE_MEMORY	0
#define AML_ADDR_TYPE_BUS	2
#define AML_ADDR_CONSUMER	(1u << 0)
#define AML_ADDR_MIN_FIXED	(1u << 2)
#define AML_ADDR_MAX_FIXED	(1u << 3)

void aml_fail(struct aml *a, int err)
{
	if (!a->err)
		a->err = err;
}

void aml_init(struct aml *a, void *buf, size_t cap)
{
	*a = (struct aml){ .buf = buf, .cap = cap };
}

void aml_bytes(struct aml *a, const void *data, size_t len)
{
	if (a->err)
		return;
	if (len > a->cap - a->len) {
		aml_fail(a, -E2BIG);
		return;
	}
	memcpy(a->buf + a->len, data, len);
	a->len += len;
}

void aml_byte(struct aml *a, uint8_t b)
{
	aml_bytes(a, &b, 1);
}

/* Little-endian, as every multi-byte AML and resource field is. */
static void aml_le(struct aml *a, uint64_t v, unsigned int n)
{
	uint8_t b[8];
	unsigned int i;

	for (i = 0; i < n; i++)
		b[i] = (uint8_t)(v >> (8 * i));
	aml_bytes(a, b, n);
}

/* False if A has failed already or POS is not a position in it. */
static bool aml_pos_ok(struct aml *a, size_t pos)
{
	if (a->err)
		return false;
	if (pos > a->len) {
		aml_fail(a, -EINVAL);
		return false;
	}
	return true;
}

/* Opens a gap of LEN bytes at POS and fills it; used to place PkgLengths. */
static void aml_insert(struct aml *a, size_t pos, const uint8_t *data,
		       size_t len)
{
	if (!aml_pos_ok(a, pos))
		return;
	if (len > a->cap - a->len) {
		aml_fail(a, -E2BIG);
		return;
	}
	memmove(a->buf + pos + len, a->buf + pos, a->len - pos);
	memcpy(a->buf + pos, data, len);
	a->len += len;
}

int aml_pkglen_encode(uint8_t out[4], uint32_t total)
{
	int n, i;

	if (total <= 0x3f) {
		out[0] = (uint8_t)total;
		return 1;
	}
	if (total > AML_PKGLEN_MAX)
		return -ERANGE;
	n = total <= 0xfff ? 2 : total <= 0xfffff ? 3 : 4;
	/* Lead byte: count of following bytes in bits 7:6, low nibble of the
	 * length in bits 3:0; the following bytes carry the rest. */
	out[0] = (uint8_t)(((n - 1) << 6) | (total & 0xf));
	for (i = 1; i < n; i++)
		out[i] = (uint8_t)(total >> (4 + 8 * (i - 1)));
	return n;
}

void aml_pkg_end(struct aml *a, size_t mark)
{
	uint8_t enc[4];
	size_t body;
	int n;

	if (!aml_pos_ok(a, mark))
		return;
	body = a->len - mark;
	if (body > AML_PKGLEN_MAX - 4) {
		aml_fail(a, -ERANGE);
		return;
	}
	/* The length counts its own bytes: 62 body bytes fit the one-byte
	 * form, 63 need two. */
	n = body + 1 <= 0x3f ? 1 : body + 2 <= 0xfff ? 2 :
	    body + 3 <= 0xfffff ? 3 : 4;
	aml_pkglen_encode(enc, (uint32_t)(body + n));
	aml_insert(a, mark, enc, n);
}

void aml_integer(struct aml *a, uint64_t v)
{
	if (v <= 1) {
		aml_byte(a, v ? AML_ONE_OP : AML_ZERO_OP);
	} else if (v <= 0xff) {
		aml_byte(a, AML_BYTE_PREFIX);
		aml_le(a, v, 1);
	} else if (v <= 0xffff) {
		aml_byte(a, AML_WORD_PREFIX);
		aml_le(a, v, 2);
	} else if (v <= 0xffffffff) {
		aml_byte(a, AML_DWORD_PREFIX);
		aml_le(a, v, 4);
	} else {
		aml_byte(a, AML_QWORD_PREFIX);
		aml_le(a, v, 8);
	}
}

void aml_string(struct aml *a, const char *s)
{
	size_t i, len = strlen(s);

	for (i = 0; i < len; i++) {
		if ((unsigned char)s[i] > 0x7f) {
			aml_fail(a, -EINVAL);
			return;
		}
	}
	aml_byte(a, AML_STRING_PREFIX);
	aml_bytes(a, s, len + 1);
}

void aml_eisaid(struct aml *a, const char *id)
{
	static const char hex[] = "0123456789ABCDEF";
	const char *nib;
	uint32_t v = 0;
	int i;

	if (strlen(id) != 7) {
		aml_fail(a, -EINVAL);
		return;
	}
	/* Three letters, five bits each ('A' = 1), then four hex digits; the
	 * result is stored big-endian, which is why iasl byte-swaps it. */
	for (i = 0; i < 7; i++) {
		nib = strchr(hex, id[i]);
		if (i < 3 && id[i] >= 'A' && id[i] <= 'Z') {
			v |= (uint32_t)(id[i] - 0x40) << (26 - 5 * i);
		} else if (i >= 3 && nib) {
			v |= (uint32_t)(nib - hex) << (4 * (6 - i));
		} else {
			aml_fail(a, -EINVAL);
			return;
		}
	}
	/* Always a DWord, like iasl, so disassemblers recognise it. */
	aml_byte(a, AML_DWORD_PREFIX);
	aml_le(a, __builtin_bswap32(v), 4);
}

static bool aml_seg_char_ok(char c, bool lead)
{
	if ((c >= 'A' && c <= 'Z') || c == '_')
		return true;
	return !lead && c >= '0' && c <= '9';
}

/* Checks segment S of length LEN and writes it padded to 4 chars into OUT. */
static int aml_nameseg(const char *s, size_t len, char out[4])
{
	size_t i;

	if (len == 0 || len > 4)
		return -EINVAL;
	for (i = 0; i < 4; i++) {
		if (i < len && !aml_seg_char_ok(s[i], i == 0))
			return -EINVAL;
		out[i] = i < len ? s[i] : '_';
	}
	return 0;
}

void aml_namestring(struct aml *a, const char *path)
{
	const char *p = path, *seg, *dot;
	size_t nsegs = 1;
	char out[4];

	if (*p == AML_ROOT_CHAR) {
		aml_byte(a, AML_ROOT_CHAR);
		p++;
	} else {
		while (*p == AML_PARENT_PREFIX) {
			aml_byte(a, AML_PARENT_PREFIX);
			p++;
		}
	}
	if (*p == '\0') {
		/* A bare prefix names the root or a parent: NullName. */
		if (p == path)
			aml_fail(a, -EINVAL);
		aml_byte(a, 0);
		return;
	}
	for (seg = p; (dot = strchr(seg, '.')); seg = dot + 1)
		nsegs++;
	if (nsegs > 255) {
		aml_fail(a, -EINVAL);
		return;
	}
	if (nsegs == 2) {
		aml_byte(a, AML_DUAL_NAME_PREFIX);
	} else if (nsegs > 2) {
		aml_byte(a, AML_MULTI_NAME_PREFIX);
		aml_byte(a, (uint8_t)nsegs);
	}
	/* A bad segment makes the error sticky, so what was written of the
	 * name before it does not matter. */
	for (seg = p; ; seg = dot + 1) {
		dot = strchr(seg, '.');
		if (aml_nameseg(seg, dot ? (size_t)(dot - seg) : strlen(seg),
				out) < 0) {
			aml_fail(a, -EINVAL);
			return;
		}
		aml_bytes(a, out, 4);
		if (!dot)
			break;
	}
}

void aml_name(struct aml *a, const char *path)
{
	aml_byte(a, AML_NAME_OP);
	aml_namestring(a, path);
}

void aml_name_integer(struct aml *a, const char *path, uint64_t v)
{
	aml_name(a, path);
	aml_integer(a, v);
}

void aml_name_string(struct aml *a, const char *path, const char *s)
{
	aml_name(a, path);
	aml_string(a, s);
}

void aml_name_eisaid(struct aml *a, const char *path, const char *id)
{
	aml_name(a, path);
	aml_eisaid(a, id);
}

size_t aml_scope_begin(struct aml *a, const char *path)
{
	size_t mark;

	aml_byte(a, AML_SCOPE_OP);
	mark = a->len;
	aml_namestring(a, path);
	return mark;
}

size_t aml_device_begin(struct aml *a, const char *path)
{
	size_t mark;

	aml_byte(a, AML_EXT_OP_PREFIX);
	aml_byte(a, AML_DEVICE_OP);
	mark = a->len;
	aml_namestring(a, path);
	return mark;
}

size_t aml_package_begin(struct aml *a, uint8_t nr_elements)
{
	size_t mark;

	aml_byte(a, AML_PACKAGE_OP);
	mark = a->len;
	aml_byte(a, nr_elements);
	return mark;
}

size_t aml_buffer_begin(struct aml *a)
{
	aml_byte(a, AML_BUFFER_OP);
	return a->len;
}

void aml_buffer_end(struct aml *a, size_t mark)
{
	uint8_t tmp[9];
	struct aml size;

	if (!aml_pos_ok(a, mark))
		return;
	/* BufferSize sits between the PkgLength and the bytes; encode it on
	 * the side, then slide it in front of the data. */
	aml_init(&size, tmp, sizeof(tmp));
	aml_integer(&size, a->len - mark);
	aml_insert(a, mark, tmp, size.len);
	aml_pkg_end(a, mark);
}

void aml_restemplate_end_unsummed(struct aml *a, size_t mark)
{
	aml_byte(a, AML_RES_END_TAG);
	aml_byte(a, 0);
	aml_buffer_end(a, mark);
}

void aml_restemplate_end(struct aml *a, size_t mark)
{
	uint8_t sum = AML_RES_END_TAG;
	size_t i;

	/* A bad mark runs no iterations and fails in aml_buffer_end(). */
	for (i = mark; i < a->len; i++)
		sum += a->buf[i];
	aml_byte(a, AML_RES_END_TAG);
	aml_byte(a, (uint8_t)-sum);
	aml_buffer_end(a, mark);
}

void aml_memory32_fixed(struct aml *a, bool rw, uint32_t base, uint32_t size)
{
	aml_byte(a, AML_RES_MEMORY32_FIXED);
	aml_le(a, 9, 2);		/* length of what follows */
	aml_byte(a, rw ? 1 : 0);
	aml_le(a, base, 4);
	aml_le(a, size, 4);
}

void aml_io_port(struct aml *a, uint16_t base, uint8_t len)
{
	aml_byte(a, 0x47);		/* small item: I/O port, 7 bytes */
	aml_byte(a, 1);			/* 16-bit decode */
	aml_le(a, base, 2);		/* minimum */
	aml_le(a, base, 2);		/* maximum */
	aml_byte(a, 1);			/* alignment */
	aml_byte(a, len);
}

/*
 * One address space descriptor (6.4.3.5.1-3): TAG, then the length of what
 * follows, the resource type, the general flags, the type-specific flags,
 * and granularity, minimum, maximum, translation offset and length, each
 * WIDTH bytes wide.
 */
static void aml_addr_space(struct aml *a, uint8_t tag, unsigned int width,
			   uint8_t type, uint8_t type_flags, unsigned int flags,
			   uint64_t base, uint64_t size)
{
	uint64_t max = width == 8 ? UINT64_MAX : (1ULL << (8 * width)) - 1;
	uint8_t gen = AML_ADDR_MIN_FIXED | AML_ADDR_MAX_FIXED;

	if (size == 0 || size > max || base > max - (size - 1)) {
		aml_fail(a, -EINVAL);
		return;
	}
	/* Bit 0 set: consumes only; clear: produces (and consumes) it.
	 * Bit 1 clear: PosDecode. */
	if (!(flags & AML_ADDR_PRODUCER))
		gen |= AML_ADDR_CONSUMER;
	aml_byte(a, tag);
	aml_le(a, 3 + 5 * width, 2);	/* length of what follows */
	aml_byte(a, type);
	aml_byte(a, gen);
	aml_byte(a, type_flags);
	aml_le(a, 0, width);		/* granularity: 0 for a fixed window */
	aml_le(a, base, width);
	aml_le(a, base + size - 1, width);
	aml_le(a, 0, width);		/* translation offset */
	aml_le(a, size, width);
}

/* Memory type-specific flags (6.4.3.5.4): bit 0 ReadWrite, bits 2:1
 * caching (0 NonCacheable, 1 Cacheable), bits 4:3 AddressRangeMemory (0),
 * bit 5 TypeStatic (0). */
static uint8_t aml_mem_flags(unsigned int flags)
{
	return (uint8_t)((flags & AML_ADDR_RW ? 1u : 0u) |
			 (flags & AML_ADDR_CACHEABLE ? 1u << 1 : 0u));
}

void aml_word_bus_number(struct aml *a, unsigned int flags, uint16_t min,
			 uint16_t max)
{
	if (max < min) {
		aml_fail(a, -EINVAL);
		return;
	}
	aml_addr_space(a, AML_RES_WORD_ADDR, 2, AML_ADDR_TYPE_BUS, 0, flags,
		       min, (uint64_t)max - min + 1);
}

void aml_dword_memory(struct aml *a, unsigned int flags, uint32_t base,
		      uint32_t size)
{
	aml_addr_space(a, AML_RES_DWORD_ADDR, 4, AML_ADDR_TYPE_MEMORY,
		       aml_mem_flags(flags), flags, base, size);
}

void aml_qword_memory(struct aml *a, unsigned int flags, uint64_t base,
		      uint64_t size)
{
	aml_addr_space(a, AML_RES_QWORD_ADDR, 8, AML_ADDR_TYPE_MEMORY,
		       aml_mem_flags(flags), flags, base, size);
}

static int aml_hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

void aml_uuid(struct aml *a, const char *uuid)
{
	/* Where byte I of the buffer comes from in the string: the first
	 * three groups are little-endian, the last two big-endian. */
	static const uint8_t pos[16] = { 6, 4, 2, 0, 11, 9, 16, 14,
					 19, 21, 24, 26, 28, 30, 32, 34 };
	uint8_t b[16];
	size_t mark;
	int i, hi, lo;

	if (strlen(uuid) != 36 || uuid[8] != '-' || uuid[13] != '-' ||
	    uuid[18] != '-' || uuid[23] != '-') {
		aml_fail(a, -EINVAL);
		return;
	}
	for (i = 0; i < 16; i++) {
		hi = aml_hex(uuid[pos[i]]);
		lo = aml_hex(uuid[pos[i] + 1]);
		if (hi < 0 || lo < 0) {
			aml_fail(a, -EINVAL);
			return;
		}
		b[i] = (uint8_t)(hi << 4 | lo);
	}
	mark = aml_buffer_begin(a);
	aml_bytes(a, b, sizeof(b));
	aml_buffer_end(a, mark);
}

void aml_ext_interrupt(struct aml *a, unsigned int flags, uint32_t irq)
{
	aml_byte(a, AML_RES_EXT_IRQ);
	aml_le(a, 6, 2);		/* flags, count, one DWord */
	aml_byte(a, (uint8_t)flags);
	aml_byte(a, 1);
	aml_le(a, irq, 4);
}
