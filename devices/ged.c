/*
 * ACPI Generic Event Device: the latched event register and its level-
 * triggered interrupt line (contract in ged.h).  The API thread latches
 * events, vCPU threads read them; one mutex keeps "line high" equivalent to
 * "an event is pending" whichever thread gets there first.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "ged.h"
#include "log.h"

struct ged {
	pthread_mutex_t lock;
	uint8_t pending;	/* GED_EVT_* latched, not yet read */
	bool asserted;		/* the line is high */
	ged_irq_fn irq;
	void *irq_opaque;
};

struct ged *ged_new(ged_irq_fn irq, void *irq_opaque)
{
	struct ged *g;

	if (!irq)
		return NULL;
	g = calloc(1, sizeof(*g));
	if (!g)
		return NULL;
	pthread_mutex_init(&g->lock, NULL);
	g->irq = irq;
	g->irq_opaque = irq_opaque;
	return g;
}

void ged_free(struct ged *g)
{
	if (!g)
		return;
	pthread_mutex_destroy(&g->lock);
	free(g);
}

int ged_event(struct ged *g, uint8_t events)
{
	int ret = 0;

	pthread_mutex_lock(&g->lock);
	g->pending |= events;
	if (!g->asserted) {
		ret = g->irq(g->irq_opaque, 1);
		g->asserted = ret == 0;
	}
	pthread_mutex_unlock(&g->lock);
	return ret;
}

int ged_power_button(struct ged *g)
{
	return ged_event(g, GED_EVT_POWER_BUTTON);
}

void ged_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len,
	    bool is_write)
{
	struct ged *g = opaque;
	uint8_t events;
	int ret;

	if (is_write || len == 0)
		return;
	memset(data, 0, len);
	if (offset != GED_REG_EVENTS)
		return;
	pthread_mutex_lock(&g->lock);
	events = g->pending;
	g->pending = 0;
	if (g->asserted) {
		/* If lowering fails the line stays high and the guest runs
		 * _EVT again, reading 0: noisy, not stuck. */
		ret = g->irq(g->irq_opaque, 0);
		if (ret)
			pr_warn("ged: cannot lower the interrupt: %s", strerror(-ret));
		else
			g->asserted = false;
	}
	pthread_mutex_unlock(&g->lock);
	data[0] = events;
}
