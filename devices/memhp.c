/*
 * ACPI memory hot-plug controller: where each slot's RAM lies and which slots
 * were filled since the DSDT's MSCN last looked (contract in memhp.h).
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "memhp.h"

struct memhp {
	pthread_mutex_t lock;
	uint32_t insert;		/* latched slots */
	unsigned int used;		/* slots filled: always the first USED */
	struct {
		uint64_t base, len;
	} slot[MEMHP_SLOTS];
};

struct memhp *memhp_new(void)
{
	struct memhp *h = calloc(1, sizeof(*h));

	if (h)
		pthread_mutex_init(&h->lock, NULL);
	return h;
}

void memhp_free(struct memhp *h)
{
	if (!h)
		return;
	pthread_mutex_destroy(&h->lock);
	free(h);
}

int memhp_plug(struct memhp *h, uint64_t base, uint64_t len)
{
	int ret = -ENOSPC;

	if (!len)
		return -EINVAL;
	pthread_mutex_lock(&h->lock);
	if (h->used < MEMHP_SLOTS) {
		ret = (int)h->used++;
		h->slot[ret].base = base;
		h->slot[ret].len = len;
		h->insert |= 1u << ret;
	}
	pthread_mutex_unlock(&h->lock);
	return ret;
}

unsigned int memhp_free_slots(struct memhp *h)
{
	unsigned int n;

	pthread_mutex_lock(&h->lock);
	n = MEMHP_SLOTS - h->used;
	pthread_mutex_unlock(&h->lock);
	return n;
}

void memhp_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write)
{
	struct memhp *h = opaque;
	uint32_t v = 0;

	if (is_write)
		return;
	memset(data, 0, len);
	if (len != 4 || offset % 4 || offset >= MEMHP_LEN)
		return;
	pthread_mutex_lock(&h->lock);
	if (offset == MEMHP_REG_INSERT) {
		v = h->insert;
		h->insert = 0;
	} else if (offset >= MEMHP_REG_SLOT(0)) {
		uint64_t rel = offset - MEMHP_REG_SLOT(0);
		unsigned int n = (unsigned int)(rel / 16);
		uint64_t word = (rel % 16) < 8 ? h->slot[n].base : h->slot[n].len;

		v = (uint32_t)(rel % 8 ? word >> 32 : word);
	}
	pthread_mutex_unlock(&h->lock);
	memcpy(data, &v, 4);
}
