/*
 * What the libFuzzer targets share: check(), which aborts with the failed condition (a fuzz
 * target's assertion: libFuzzer keeps the input), and a cursor over the fuzz input that reads
 * little-endian integers and yields zeros once the input is used up.
 */
#ifndef KVMM_FUZZ_UTIL_H
#define KVMM_FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define check(c)							\
	do {								\
		if (!(c)) {						\
			fprintf(stderr, "%s:%d: check failed: %s\n",	\
				__FILE__, __LINE__, #c);		\
			abort();					\
		}							\
	} while (0)

struct input {
	const uint8_t *p;
	size_t n;
};

static inline uint8_t u8(struct input *in)
{
	uint8_t v = 0;

	if (in->n) {
		v = *in->p++;
		in->n--;
	}
	return v;
}

static inline uint16_t u16(struct input *in)
{
	uint16_t lo = u8(in);

	return (uint16_t)(lo | (uint16_t)u8(in) << 8);
}

static inline uint32_t u32(struct input *in)
{
	uint32_t lo = u16(in);

	return lo | (uint32_t)u16(in) << 16;
}

#endif
