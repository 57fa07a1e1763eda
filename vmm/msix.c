/*
 * MSI-X (msix.h): the capability in configuration space, the vector table and PBA behind a
 * BAR, masking and pending bits, and delivery through a KVM irqfd and MSI route per vector.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <linux/kvm.h>

#include "irq.h"
#include "log.h"
#include "msix.h"
#include "pci.h"

int msix_init(struct msix *m, struct pci_func *f, const char *name, unsigned int nr,
	      unsigned int bar, uint32_t table_off, uint32_t pba_off, struct irq_routes *routes,
	      uint32_t devid)
{
	uint8_t body[10], wmask[12] = { 0 };
	uint16_t ctrl;
	uint32_t t, p;
	unsigned int got = 0;
	int ret;

	if (nr == 0 || nr > MSIX_MAX_VECTORS || bar >= PCI_NR_BARS || (table_off & 7) ||
	    (pba_off & 7))
		return -EINVAL;
	memset(m, 0, sizeof(*m));
	for (unsigned int v = 0; v < MSIX_MAX_VECTORS; v++)
		m->fd[v] = -1;
	m->f = f;
	m->name = name;
	m->nr = nr;
	m->routes = routes;
	m->devid = devid;
	m->vm_fd = -1;
	ctrl = (uint16_t)(nr - 1);
	t = table_off | bar;
	p = pba_off | bar;
	memcpy(body, &ctrl, 2);
	memcpy(body + 2, &t, 4);
	memcpy(body + 6, &p, 4);
	wmask[3] = (MSIX_CTRL_ENABLE | MSIX_CTRL_FMASK) >> 8;	/* Message Control, high byte */
	m->cap = pci_func_add_cap(f, PCI_CAP_ID_MSIX, body, 12, wmask);
	if (!m->cap)
		return -ENOSPC;
	for (unsigned int v = 0; v < nr; v++) {
		m->table[v].ctrl = MSIX_VECTOR_MASKED;
		ret = irq_msi_alloc(routes, &m->gsi[v]);
		if (ret)
			goto err;
		got = v + 1;
		m->fd[v] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (m->fd[v] < 0) {
			ret = -errno;
			goto err;
		}
	}
	pthread_mutex_init(&m->lock, NULL);
	return 0;
err:
	for (unsigned int v = 0; v < nr; v++)
		if (m->fd[v] >= 0)
			close(m->fd[v]);
	for (unsigned int v = 0; v < got; v++)
		irq_msi_free(routes, m->gsi[v]);
	m->nr = 0;
	return ret;
}

static bool masked(const struct msix *m, unsigned int v)
{
	return m->fmask || (m->table[v].ctrl & MSIX_VECTOR_MASKED);
}

/* Attaches V's irqfd to KVM exactly while V can be delivered. Lock held (or not yet
 * shared). 0/-errno. */
static int attach(struct msix *m, unsigned int v)
{
	bool want = m->enabled && !masked(m, v);
	struct kvm_irqfd irqfd = { .fd = m->fd[v], .gsi = m->gsi[v] };

	if (m->vm_fd < 0 || m->attached[v] == want)
		return 0;
	if (!want)
		irqfd.flags = KVM_IRQFD_FLAG_DEASSIGN;
	if (ioctl(m->vm_fd, KVM_IRQFD, &irqfd) < 0) {
		pr_warn("%s: MSI-X vector %u: KVM_IRQFD: %m", m->name, v);
		return -errno;
	}
	m->attached[v] = want;
	return 0;
}

int msix_wire(struct msix *m, int vm_fd)
{
	int ret = 0;

	pthread_mutex_lock(&m->lock);
	m->vm_fd = vm_fd;
	for (unsigned int v = 0; !ret && v < m->nr; v++)
		ret = attach(m, v);
	pthread_mutex_unlock(&m->lock);
	return ret;
}

void msix_fini(struct msix *m, int vm_fd)
{
	for (unsigned int v = 0; v < m->nr; v++) {
		if (m->fd[v] < 0)
			continue;
		if (vm_fd >= 0 && m->attached[v]) {
			struct kvm_irqfd irqfd = { .fd = m->fd[v], .gsi = m->gsi[v],
						   .flags = KVM_IRQFD_FLAG_DEASSIGN };

			ioctl(vm_fd, KVM_IRQFD, &irqfd);
		}
		m->attached[v] = false;
		irq_msi_free(m->routes, m->gsi[v]);
		close(m->fd[v]);
		m->fd[v] = -1;
	}
	pthread_mutex_destroy(&m->lock);
}

/* Sends V now. Lock held. */
static void fire(struct msix *m, unsigned int v)
{
	uint64_t one = 1;

	m->fired++;
	/* EAGAIN: the counter is saturated, an interrupt is pending anyway. */
	if (write(m->fd[v], &one, sizeof(one)) < 0 && errno != EAGAIN)
		pr_warn("%s: MSI-X vector %u: %s", m->name, v, strerror(errno));
}

/* Hands KVM the route of vector V: the message while unmasked, none while masked. Then
 * sends what was pending and is deliverable now. Lock held. */
static void sync_vector(struct msix *m, unsigned int v)
{
	const struct msix_entry *e = &m->table[v];
	bool live = !(e->ctrl & MSIX_VECTOR_MASKED);

	irq_msi_set(m->routes, m->gsi[v], live,
		    (uint64_t)e->addr_hi << 32 | e->addr_lo, e->data, m->devid);
	attach(m, v);
	if (m->enabled && !masked(m, v) && (m->pba & (1ULL << v))) {
		m->pba &= ~(1ULL << v);
		fire(m, v);
	}
}

void msix_table_access(struct msix *m, uint64_t off, uint8_t *data, uint32_t len,
		       bool is_write)
{
	unsigned int v = (unsigned int)(off / MSIX_ENTRY_SIZE), field;
	uint32_t *w;
	uint64_t val = 0;

	if ((len != 4 && len != 8) || (off & (len - 1)) || off >= (uint64_t)m->nr * MSIX_ENTRY_SIZE) {
		if (!is_write)
			memset(data, 0, len);
		return;
	}
	field = (unsigned int)(off % MSIX_ENTRY_SIZE) / 4;
	pthread_mutex_lock(&m->lock);
	w = m->table[v].dw;
	if (!is_write) {
		val = w[field];
		if (len == 8)		/* aligned: fields 0-1 or 2-3 */
			val |= (uint64_t)w[field + 1] << 32;
		memcpy(data, &val, len);
	} else {
		memcpy(&val, data, len);
		for (unsigned int i = 0; i < len / 4; i++, field++) {
			uint32_t x = (uint32_t)(val >> (32 * i));

			/* Vector Control: only the mask bit is defined (the rest reserved). */
			if (field == 3)
				x &= MSIX_VECTOR_MASKED;
			w[field] = x;
		}
		sync_vector(m, v);
	}
	pthread_mutex_unlock(&m->lock);
}

void msix_pba_access(struct msix *m, uint64_t off, uint8_t *data, uint32_t len, bool is_write)
{
	uint64_t val;

	if (is_write)
		return;
	if ((len != 4 && len != 8) || (off & (len - 1)) || off >= 8) {
		memset(data, 0, len);
		return;
	}
	pthread_mutex_lock(&m->lock);
	val = m->pba >> (off * 8);
	pthread_mutex_unlock(&m->lock);
	memcpy(data, &val, len);
}

void msix_cfg_written(struct msix *m)
{
	uint16_t ctrl = (uint16_t)pci_cfg_get(m->f, m->cap + 2u, 2);

	pthread_mutex_lock(&m->lock);
	m->enabled = ctrl & MSIX_CTRL_ENABLE;
	m->fmask = ctrl & MSIX_CTRL_FMASK;
	for (unsigned int v = 0; v < m->nr; v++)
		attach(m, v);
	if (m->enabled && !m->fmask)
		for (unsigned int v = 0; v < m->nr; v++)
			if ((m->pba & (1ULL << v)) && !masked(m, v)) {
				m->pba &= ~(1ULL << v);
				fire(m, v);
			}
	pthread_mutex_unlock(&m->lock);
}

bool msix_enabled(struct msix *m)
{
	bool on;

	pthread_mutex_lock(&m->lock);
	on = m->enabled;
	pthread_mutex_unlock(&m->lock);
	return on;
}

/* Sends or holds V; lock held. */
static void signal_locked(struct msix *m, unsigned int v)
{
	if (v >= m->nr)
		return;
	if (masked(m, v) || !m->enabled) {
		m->pba |= 1ULL << v;
		m->pended++;
	} else {
		fire(m, v);
	}
}

void msix_signal(struct msix *m, unsigned int v)
{
	pthread_mutex_lock(&m->lock);
	signal_locked(m, v);
	pthread_mutex_unlock(&m->lock);
}

bool msix_try_signal(struct msix *m, unsigned int v)
{
	bool on;

	pthread_mutex_lock(&m->lock);
	on = m->enabled;
	if (on)
		signal_locked(m, v);
	pthread_mutex_unlock(&m->lock);
	return on;
}
