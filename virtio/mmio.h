/*
 * The virtio-mmio transport (virtio 1.x, 4.2; modern "version 2" register layout only).
 * One instance per device: a 4 KiB register window on the VM's MMIO bus, a KVM ioeventfd per
 * queue for QueueNotify, a KVM irqfd for the interrupt, and the device's worker thread.
 * virtio_mmio_add() (transport.h) puts a device on it.
 */
#ifndef KVMM_VIRTIO_MMIO_H
#define KVMM_VIRTIO_MMIO_H

#include <stdint.h>

#include "virtio.h"

struct vm;

/* Register offsets (4.2.2). */
#define VIRTIO_MMIO_MAGIC		0x000	/* "virt" */
#define VIRTIO_MMIO_VERSION		0x004
#define VIRTIO_MMIO_DEVICE_ID		0x008
#define VIRTIO_MMIO_VENDOR_ID		0x00c
#define VIRTIO_MMIO_DEVICE_FEATURES	0x010
#define VIRTIO_MMIO_DEVICE_FEATURES_SEL	0x014
#define VIRTIO_MMIO_DRIVER_FEATURES	0x020
#define VIRTIO_MMIO_DRIVER_FEATURES_SEL	0x024
#define VIRTIO_MMIO_QUEUE_SEL		0x030
#define VIRTIO_MMIO_QUEUE_NUM_MAX	0x034
#define VIRTIO_MMIO_QUEUE_NUM		0x038
#define VIRTIO_MMIO_QUEUE_READY		0x044
#define VIRTIO_MMIO_QUEUE_NOTIFY	0x050
#define VIRTIO_MMIO_INTERRUPT_STATUS	0x060
#define VIRTIO_MMIO_INTERRUPT_ACK	0x064
#define VIRTIO_MMIO_STATUS		0x070
#define VIRTIO_MMIO_QUEUE_DESC_LOW	0x080
#define VIRTIO_MMIO_QUEUE_DESC_HIGH	0x084
#define VIRTIO_MMIO_QUEUE_DRIVER_LOW	0x090
#define VIRTIO_MMIO_QUEUE_DRIVER_HIGH	0x094
#define VIRTIO_MMIO_QUEUE_DEVICE_LOW	0x0a0
#define VIRTIO_MMIO_QUEUE_DEVICE_HIGH	0x0a4
#define VIRTIO_MMIO_SHM_SEL		0x0ac
#define VIRTIO_MMIO_SHM_LEN_LOW		0x0b0
#define VIRTIO_MMIO_SHM_LEN_HIGH	0x0b4
#define VIRTIO_MMIO_CONFIG_GENERATION	0x0fc
#define VIRTIO_MMIO_CONFIG		0x100

#define VIRTIO_MMIO_MAGIC_VALUE		0x74726976
#define VIRTIO_MMIO_VENDOR		0x4d4d564b	/* "KVMM" */

#define VIRTIO_MMIO_INT_VRING		1	/* = VIRTIO_INT_VRING */
#define VIRTIO_MMIO_INT_CONFIG		2	/* = VIRTIO_INT_CONFIG */

/*
 * The register file alone, for unit tests: handles one access like the MMIO bus would
 * (OPAQUE is what virtio_mmio_add registered). Exposed so tests can drive a transport made
 * by virtio_mmio_test_new() without KVM: it has no ioeventfds, a plain eventfd for the irq
 * (returned in *IRQ_FD) and no worker; queue notifications then run the device's
 * queue_notify directly on the calling thread.
 */
void virtio_mmio_access(void *opaque, uint64_t offset, uint8_t *data, uint32_t len,
			bool is_write);
struct virtio_transport *virtio_mmio_test_new(struct virtio_dev *d, const struct guest_mem *gm,
					      int *irq_fd);
void virtio_mmio_test_free(struct virtio_transport *t);

#endif
