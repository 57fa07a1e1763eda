/*
 * The modern virtio-pci transport (virtio 1.x, 4.1): the layout of its BAR and of the
 * common configuration structure, and hooks for unit tests. virtio_pci_add() (transport.h)
 * puts a device on a VM's PCI segment.
 */
#ifndef KVMM_VIRTIO_PCI_H
#define KVMM_VIRTIO_PCI_H

#include <stdbool.h>
#include <stdint.h>

#include "guest_mem.h"

#define VIRTIO_PCI_VENDOR		0x1af4
#define VIRTIO_PCI_DEVICE_BASE		0x1040	/* + the virtio device ID */

/* virtio_pci_cap.cfg_type (4.1.4). */
#define VIRTIO_PCI_CAP_COMMON_CFG	1
#define VIRTIO_PCI_CAP_NOTIFY_CFG	2
#define VIRTIO_PCI_CAP_ISR_CFG		3
#define VIRTIO_PCI_CAP_DEVICE_CFG	4
#define VIRTIO_PCI_CAP_PCI_CFG		5

#define VIRTIO_MSI_NO_VECTOR		0xffff

/* BAR0: one 4 KiB region per structure. */
#define VPCI_BAR			0
#define VPCI_BAR_SIZE			0x8000
#define VPCI_REGION_SIZE		0x1000
#define VPCI_COMMON_OFF			0x0000
#define VPCI_COMMON_LEN			0x38
#define VPCI_ISR_OFF			0x1000
#define VPCI_DEVICE_OFF			0x2000
#define VPCI_NOTIFY_OFF			0x3000
#define VPCI_NOTIFY_MULT		4	/* queue Q at VPCI_NOTIFY_OFF + 4 * Q */
#define VPCI_MSIX_TABLE_OFF		0x4000
#define VPCI_MSIX_PBA_OFF		0x5000

/* struct virtio_pci_common_cfg (4.1.4.3). */
#define VPCI_DFSELECT			0x00
#define VPCI_DF				0x04
#define VPCI_GFSELECT			0x08
#define VPCI_GF				0x0c
#define VPCI_MSIX_CONFIG		0x10
#define VPCI_NUM_QUEUES			0x12
#define VPCI_STATUS			0x14
#define VPCI_CFG_GENERATION		0x15
#define VPCI_Q_SELECT			0x16
#define VPCI_Q_SIZE			0x18
#define VPCI_Q_MSIX			0x1a
#define VPCI_Q_ENABLE			0x1c
#define VPCI_Q_NOFF			0x1e
#define VPCI_Q_DESCLO			0x20
#define VPCI_Q_DESCHI			0x24
#define VPCI_Q_AVAILLO			0x28
#define VPCI_Q_AVAILHI			0x2c
#define VPCI_Q_USEDLO			0x30
#define VPCI_Q_USEDHI			0x34

struct virtio_dev;
struct virtio_transport;
struct irq_routes;
struct pci_func;
struct msix;

/* BAR0's bus handler (OPAQUE: the transport's private state, f->bar_opaque[0]). */
void virtio_pci_bar_access(void *opaque, uint64_t off, uint8_t *data, uint32_t len,
			   bool is_write);

/*
 * For unit tests: a virtio-pci transport for D without KVM or a PCI segment (no slot, BAR
 * not decoded): *F is its function, to drive configuration space with pci_cfg_read/write
 * and BAR0 with virtio_pci_bar_access(F->bar_opaque[0], ...). No worker: notifications run
 * the device inline. MSI-X vectors are plain eventfds (virtio_pci_test_msix()->fd[v]).
 */
struct virtio_transport *virtio_pci_test_new(struct virtio_dev *d, const struct guest_mem *gm,
					     struct irq_routes *routes, struct pci_func **f);
struct msix *virtio_pci_test_msix(struct virtio_transport *t);
void virtio_pci_test_free(struct virtio_transport *t);

#endif
