/*
 * A small AML (ACPI Machine Language) byte-code builder: just enough to
 * write a DSDT that declares \_S5, virtio-mmio devices and PCI host bridges
 * with their resources (aml.c), and the few control-method constructs the
 * Generic Event Device and a host bridge's _OSC need: an operation region
 * with a field, a method, If/Else, Store, And, Or, LEqual, CreateDWordField,
 * Return, Notify (aml_code.c).
 *
 * The builder appends into a caller-supplied buffer of fixed capacity and
 * never allocates.  Errors are sticky: the first failure (-E2BIG when the
 * buffer is full, -EINVAL for a malformed name, string or id, -ERANGE for an
 * object longer than a PkgLength can describe) is recorded in aml->err and
 * every later call is a no-op, so a whole table can be emitted without
 * checking each step; check aml_error() once at the end.
 *
 * Objects with a PkgLength (Scope, Device, Package, Buffer) are written in
 * two steps: *_begin() returns a mark, the caller appends the body, and
 * *_end(mark) inserts the PkgLength (1 to 4 bytes, whichever is shortest)
 * once the body's size is known.  Begin/end pairs nest.
 */
#ifndef KVMM_X86_AML_H
#define KVMM_X86_AML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct aml {
	uint8_t *buf;
	size_t len;		/* bytes written */
	size_t cap;		/* capacity of buf */
	int err;		/* first error, 0 if none */
};

/* Largest value a 4-byte PkgLength can hold (28 bits). */
#define AML_PKGLEN_MAX		0x0fffffffU

/* Extended Interrupt descriptor flags (ACPI 6.5, 6.4.3.6). */
#define AML_IRQ_CONSUMER	(1u << 0)	/* else ResourceProducer */
#define AML_IRQ_EDGE		(1u << 1)	/* else Level */
#define AML_IRQ_ACTIVE_LOW	(1u << 2)	/* else ActiveHigh */
#define AML_IRQ_SHARED		(1u << 3)	/* else Exclusive */

void aml_init(struct aml *a, void *buf, size_t cap);

/* 0 or the first -errno any call on A ran into. */
static inline int aml_error(const struct aml *a)
{
	return a->err;
}

/* Records ERR in A unless an earlier error is recorded already. */
void aml_fail(struct aml *a, int err);

/*
 * Encodes the PkgLength for an object whose length, counting the PkgLength
 * bytes themselves, is TOTAL.  Returns the number of bytes written to OUT
 * (1..4), or -ERANGE if TOTAL needs more than 28 bits.
 */
int aml_pkglen_encode(uint8_t out[4], uint32_t total);

/* Raw bytes, for opcodes this builder has no helper for. */
void aml_bytes(struct aml *a, const void *data, size_t len);
void aml_byte(struct aml *a, uint8_t b);

/* Integer in the shortest form: Zero, One, Byte/Word/DWord/QWordPrefix. */
void aml_integer(struct aml *a, uint64_t v);

/* String object: StringPrefix, ASCII 0x01..0x7f, NUL. */
void aml_string(struct aml *a, const char *s);

/* EISAID("PNP0A03") compressed to its DWord, as iasl's EISAID() macro. */
void aml_eisaid(struct aml *a, const char *id);

/*
 * NameString from a path such as "_S5_", "\\_SB_.V000", "^PCI0.S00": an
 * optional '\' or '^' prefixes, then '.'-separated segments of 1..4
 * characters (A-Z, 0-9, '_', not starting with a digit); short segments are
 * padded with '_'.  "\\" alone is the root.
 */
void aml_namestring(struct aml *a, const char *path);

/* NameOp + NameString; the caller appends the value object next. */
void aml_name(struct aml *a, const char *path);
void aml_name_integer(struct aml *a, const char *path, uint64_t v);
void aml_name_string(struct aml *a, const char *path, const char *s);
void aml_name_eisaid(struct aml *a, const char *path, const char *id);

/* Objects with a PkgLength; see the top of this file. */
size_t aml_scope_begin(struct aml *a, const char *path);
size_t aml_device_begin(struct aml *a, const char *path);
size_t aml_package_begin(struct aml *a, uint8_t nr_elements);
size_t aml_buffer_begin(struct aml *a);
/* Scope/Device/Package; aml_buffer_end() also inserts the BufferSize. */
void aml_pkg_end(struct aml *a, size_t mark);
void aml_buffer_end(struct aml *a, size_t mark);

/*
 * ResourceTemplate: a Buffer of resource descriptors ending in an EndTag
 * whose checksum makes the descriptor bytes sum to zero.
 */
static inline size_t aml_restemplate_begin(struct aml *a)
{
	return aml_buffer_begin(a);
}
void aml_restemplate_end(struct aml *a, size_t mark);
/* The same with the end tag's checksum 0 ("treat as valid", ACPI 6.5, 6.4.2.9), for a
 * template a method patches at run time, which a checksum taken now would not match. */
void aml_restemplate_end_unsummed(struct aml *a, size_t mark);

/* Descriptors, to be placed between aml_restemplate_begin() and _end(). */
void aml_memory32_fixed(struct aml *a, bool rw, uint32_t base, uint32_t size);

/*
 * Address space descriptors (ACPI 6.5, 6.4.3.5), always PosDecode, MinFixed,
 * MaxFixed, granularity 0 and no translation: a fixed window of SIZE bytes
 * (buses) at BASE.  FLAGS: AML_ADDR_RW (bit 0, so a bool "rw" still means
 * what it says), AML_ADDR_PRODUCER for a bridge's window (what it decodes
 * for its children; else ResourceConsumer), AML_ADDR_CACHEABLE (else
 * NonCacheable; memory only).  -EINVAL for a size of 0 or a window that
 * wraps or does not fit the descriptor's width.
 */
#define AML_ADDR_RW		(1u << 0)	/* else ReadOnly */
#define AML_ADDR_PRODUCER	(1u << 1)	/* else ResourceConsumer */
#define AML_ADDR_CACHEABLE	(1u << 2)	/* else NonCacheable */

/* WordBusNumber (..., MIN, MAX, ...): buses MIN..MAX. */
void aml_word_bus_number(struct aml *a, unsigned int flags, uint16_t min,
			 uint16_t max);
/* DWordMemory / QWordMemory, AddressRangeMemory, TypeStatic. */
void aml_dword_memory(struct aml *a, unsigned int flags, uint32_t base,
		      uint32_t size);
void aml_qword_memory(struct aml *a, unsigned int flags, uint64_t base,
		      uint64_t size);
void aml_ext_interrupt(struct aml *a, unsigned int flags, uint32_t irq);
/* IO (Decode16, base, base, 1, len): a fixed range of I/O ports. */
void aml_io_port(struct aml *a, uint16_t base, uint8_t len);

/*
 * ToUUID ("aabbccdd-eeff-gghh-iijj-kkllmmnnoopp"): a Buffer of 16 bytes in
 * the order ACPI 6.5, 19.6.142 gives (dd cc bb aa ff ee hh gg ii jj kk ...).
 * Hex digits in either case; -EINVAL for anything else.
 */
void aml_uuid(struct aml *a, const char *uuid);

/* Operation region spaces (ACPI 6.5, 19.6.100). */
#define AML_SPACE_SYSTEM_MEMORY	0x00
#define AML_SPACE_SYSTEM_IO	0x01

/* Field flags (20.2.5.2): access type in bits 3:0, lock rule in bit 4
 * (0 NoLock), update rule in bits 6:5. */
#define AML_FIELD_ANY_ACC	0x00
#define AML_FIELD_BYTE_ACC	0x01
#define AML_FIELD_DWORD_ACC	0x03
#define AML_FIELD_PRESERVE	(0u << 5)
#define AML_FIELD_WRITE_ZEROS	(2u << 5)

/* OperationRegion (NAME, SPACE, OFFSET, LEN). */
void aml_operation_region(struct aml *a, const char *name, uint8_t space,
			  uint64_t offset, uint64_t len);

/*
 * Field (REGION, FLAGS) { ... }: aml_field_begin() returns a mark, each
 * aml_field_unit() appends a named field of BITS bits (1..AML_PKGLEN_MAX;
 * NAME a single segment such as "GEVT"), aml_pkg_end(mark) closes it.
 */
size_t aml_field_begin(struct aml *a, const char *region, uint8_t flags);
void aml_field_unit(struct aml *a, const char *name, uint32_t bits);

/* Method (NAME, NARGS (0..7), Serialized or NotSerialized) { ... },
 * If (predicate) { ... } and Else { ... }: all close with aml_pkg_end(mark).
 * After aml_if_begin() the caller appends the predicate, then the body; an
 * Else must follow the If it belongs to at once. */
size_t aml_method_begin(struct aml *a, const char *name, unsigned int nargs,
			bool serialized);
size_t aml_if_begin(struct aml *a);
size_t aml_else_begin(struct aml *a);

/*
 * Operators.  AML is prefix notation, so these write the opcode only and the
 * caller appends the operands in order:
 *   aml_store():   source, then target          Store (src, dst)
 *   aml_and(), aml_or(), aml_add(), aml_subtract(): two operands, then a
 *                  target (a name, a local, or aml_no_target() to use the
 *                  result as an expression)     And (x, y, dst), Or (...),
 *                                               Add (x, y, dst), Subtract (...)
 *   aml_lequal():  two operands                 x == y
 *   aml_return():  the value                    Return (x)
 *   aml_create_dword_field(): the buffer, the byte offset, then the new
 *                  field's name (aml_namestring)
 *                                    CreateDWordField (buf, offset, name)
 *   aml_create_qword_field(): the same, 64 bits   CreateQWordField (...)
 */
void aml_store(struct aml *a);
void aml_and(struct aml *a);
void aml_add(struct aml *a);
void aml_subtract(struct aml *a);
void aml_or(struct aml *a);
void aml_lequal(struct aml *a);
void aml_return(struct aml *a);
void aml_create_dword_field(struct aml *a);
void aml_create_qword_field(struct aml *a);
void aml_no_target(struct aml *a);
/* Local0..Local7; -EINVAL for N > 7. */
void aml_local(struct aml *a, unsigned int n);
/* Arg0..Arg6, a method's arguments; -EINVAL for N > 6. */
void aml_arg(struct aml *a, unsigned int n);
/* Notify (PATH, VALUE): a complete statement. */
void aml_notify(struct aml *a, const char *path, uint64_t value);

#endif
