/*
 * ACPI CPU hot-plug controller: which CPUs are present, what changed since
 * the DSDT's CSCN last looked, and the eject register (contract in cpuhp.h).
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "cpuhp.h"

struct cpuhp {
	pthread_mutex_t lock;
	uint64_t valid;			/* CPUs the controller has */
	uint64_t present, insert, remove;
	cpuhp_eject_fn eject;
	void *opaque;
};

struct cpuhp *cpuhp_new(unsigned int nr_cpus, unsigned int nr_boot, cpuhp_eject_fn eject,
			void *opaque)
{
	struct cpuhp *h;

	if (!nr_cpus || nr_cpus > CPUHP_MAX_CPUS || !nr_boot || nr_boot > nr_cpus || !eject)
		return NULL;
	h = calloc(1, sizeof(*h));
	if (!h)
		return NULL;
	pthread_mutex_init(&h->lock, NULL);
	h->valid = nr_cpus == 64 ? ~0ULL : (1ULL << nr_cpus) - 1;
	h->present = nr_boot == 64 ? ~0ULL : (1ULL << nr_boot) - 1;
	h->eject = eject;
	h->opaque = opaque;
	return h;
}

void cpuhp_free(struct cpuhp *h)
{
	if (!h)
		return;
	pthread_mutex_destroy(&h->lock);
	free(h);
}

int cpuhp_plug(struct cpuhp *h, unsigned int cpu)
{
	uint64_t bit = cpu < 64 ? 1ULL << cpu : 0;

	if (!(bit & h->valid))
		return -EINVAL;
	pthread_mutex_lock(&h->lock);
	h->present |= bit;
	h->insert |= bit;
	h->remove &= ~bit;
	pthread_mutex_unlock(&h->lock);
	return 0;
}

int cpuhp_unplug(struct cpuhp *h, unsigned int cpu)
{
	uint64_t bit = cpu < 64 ? 1ULL << cpu : 0;
	int ret = -EINVAL;

	pthread_mutex_lock(&h->lock);
	if (cpu && (bit & h->present)) {
		h->remove |= bit;
		h->insert &= ~bit;
		ret = 0;
	}
	pthread_mutex_unlock(&h->lock);
	return ret;
}

uint64_t cpuhp_present(struct cpuhp *h)
{
	uint64_t p;

	pthread_mutex_lock(&h->lock);
	p = h->present;
	pthread_mutex_unlock(&h->lock);
	return p;
}

void cpuhp_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write)
{
	struct cpuhp *h = opaque;
	unsigned int shift = offset % 8 ? 32 : 0;
	uint64_t reg = offset & ~7ULL, ejected = 0, *latch = NULL;
	uint32_t v = 0;

	if (!is_write)
		memset(data, 0, len);
	if (len != 4 || offset % 4 || offset >= CPUHP_LEN)
		return;
	pthread_mutex_lock(&h->lock);
	if (is_write) {
		if (reg == CPUHP_REG_EJECT) {
			memcpy(&v, data, 4);
			/* Not the boot CPU, and only what is there. */
			ejected = ((uint64_t)v << shift) & h->present & ~1ULL;
			h->present &= ~ejected;
			h->remove &= ~ejected;
		}
	} else {
		if (reg == CPUHP_REG_PRESENT) {
			v = (uint32_t)(h->present >> shift);
		} else if (reg == CPUHP_REG_INSERT) {
			latch = &h->insert;
		} else if (reg == CPUHP_REG_REMOVE) {
			latch = &h->remove;
		}
		if (latch) {
			v = (uint32_t)(*latch >> shift);
			*latch &= ~((uint64_t)0xffffffffu << shift);
		}
		memcpy(data, &v, 4);
	}
	pthread_mutex_unlock(&h->lock);
	if (ejected)
		h->eject(h->opaque, ejected);
}
