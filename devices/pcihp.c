/*
 * ACPI PCI hot-plug controller: per-segment event latches the DSDT's AML
 * reads, and the eject register it writes (contract in pcihp.h).
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "pcihp.h"

struct pcihp_seg {
	uint32_t up, down;
};

struct pcihp {
	pthread_mutex_t lock;
	unsigned int nr_segments;
	struct pcihp_seg seg[PCIHP_MAX_SEGMENTS];
	pcihp_eject_fn eject;
	void *opaque;
};

struct pcihp *pcihp_new(unsigned int nr_segments, pcihp_eject_fn eject, void *opaque)
{
	struct pcihp *h;

	if (!nr_segments || nr_segments > PCIHP_MAX_SEGMENTS || !eject)
		return NULL;
	h = calloc(1, sizeof(*h));
	if (!h)
		return NULL;
	pthread_mutex_init(&h->lock, NULL);
	h->nr_segments = nr_segments;
	h->eject = eject;
	h->opaque = opaque;
	return h;
}

void pcihp_free(struct pcihp *h)
{
	if (!h)
		return;
	pthread_mutex_destroy(&h->lock);
	free(h);
}

int pcihp_latch(struct pcihp *h, unsigned int seg, unsigned int slot, bool plug)
{
	uint32_t bit;

	if (seg >= h->nr_segments || slot == 0 || slot > 31)
		return -EINVAL;
	bit = 1u << slot;
	pthread_mutex_lock(&h->lock);
	if (plug) {
		h->seg[seg].up |= bit;
		h->seg[seg].down &= ~bit;
	} else {
		h->seg[seg].down |= bit;
		h->seg[seg].up &= ~bit;
	}
	pthread_mutex_unlock(&h->lock);
	return 0;
}

void pcihp_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write)
{
	struct pcihp *h = opaque;
	uint64_t seg = offset / PCIHP_SEG_STRIDE;
	uint32_t reg = (uint32_t)(offset % PCIHP_SEG_STRIDE), v = 0;

	if (!is_write)
		memset(data, 0, len);
	if (len != 4 || reg % 4 || seg >= h->nr_segments)
		return;
	if (is_write) {
		memcpy(&v, data, 4);
		v &= PCIHP_SLOT_MASK;
		if (reg == PCIHP_REG_EJECT && v)
			h->eject(h->opaque, (unsigned int)seg, v);
		return;
	}
	pthread_mutex_lock(&h->lock);
	if (reg == PCIHP_REG_UP) {
		v = h->seg[seg].up;
		h->seg[seg].up = 0;
	} else if (reg == PCIHP_REG_DOWN) {
		v = h->seg[seg].down;
		h->seg[seg].down = 0;
	}
	pthread_mutex_unlock(&h->lock);
	memcpy(data, &v, 4);
}
