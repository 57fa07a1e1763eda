/*
 * Unit tests for the virtio-mmio transport's register file, driven like a guest driver would
 * (and like a hostile one would) against a fake device: identification, feature negotiation,
 * the status state machine, queue set-up validation, notifications, interrupts, config space.
 */
#include <criterion/criterion.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "mmio.h"
#include "virtio.h"

#define MiB (1ULL << 20)

static struct guest_mem gm;
static struct virtio_dev dev;
static struct virtio_transport *t;
static int irq_fd;
static int notified[2], activated, resets;
static uint8_t config[12] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12 };

static void f_config_read(struct virtio_dev *d, uint32_t off, void *data, uint32_t len)
{
	(void)d;
	memcpy(data, config + off, len);
}

static int f_activate(struct virtio_dev *d)
{
	(void)d;
	activated++;
	return 0;
}

static void f_notify(struct virtio_dev *d, unsigned int q)
{
	(void)d;
	notified[q]++;
}

static void f_reset(struct virtio_dev *d)
{
	(void)d;
	resets++;
}

static void f_destroy(struct virtio_dev *d)
{
	(void)d;
}

static const struct virtio_dev_ops fake_ops = {
	.config_read = f_config_read,
	.activate = f_activate,
	.queue_notify = f_notify,
	.reset = f_reset,
	.destroy = f_destroy,
};

static uint32_t rd(uint64_t off)
{
	uint32_t v = 0xdeadbeef;

	virtio_mmio_access(t, off, (uint8_t *)&v, 4, false);
	return v;
}

static void wr(uint64_t off, uint32_t v)
{
	virtio_mmio_access(t, off, (uint8_t *)&v, 4, true);
}

static void setup(void)
{
	struct gm_region l[] = { { .gpa = 0, .size = 1 * MiB } };

	log_threshold = LOG_QUIET;
	cr_assert_eq(gm_create(&gm, l, 1), 0);
	memset(&dev, 0, sizeof(dev));
	dev = (struct virtio_dev){
		.name = "fake", .device_id = 42, .ops = &fake_ops,
		.features = VIRTIO_BIT(3) | VIRTIO_BIT(VIRTIO_F_EVENT_IDX),
		.config_size = sizeof(config), .nr_queues = 2, .queue_max = 16,
	};
	notified[0] = notified[1] = activated = resets = 0;
	t = virtio_mmio_test_new(&dev, &gm, &irq_fd);
	cr_assert_not_null(t);
}

static void teardown(void)
{
	virtio_mmio_test_free(t);
	gm_destroy(&gm);
}

TestSuite(mmio, .init = setup, .fini = teardown);

/* Sets queue Q up with valid rings of SIZE entries at BASE. */
static void queue_setup(unsigned int q, uint32_t size, uint64_t base)
{
	wr(VIRTIO_MMIO_QUEUE_SEL, q);
	wr(VIRTIO_MMIO_QUEUE_NUM, size);
	wr(VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)base);
	wr(VIRTIO_MMIO_QUEUE_DESC_HIGH, (uint32_t)(base >> 32));
	wr(VIRTIO_MMIO_QUEUE_DRIVER_LOW, (uint32_t)(base + 0x1000));
	wr(VIRTIO_MMIO_QUEUE_DRIVER_HIGH, 0);
	wr(VIRTIO_MMIO_QUEUE_DEVICE_LOW, (uint32_t)(base + 0x2000));
	wr(VIRTIO_MMIO_QUEUE_DEVICE_HIGH, 0);
	wr(VIRTIO_MMIO_QUEUE_READY, 1);
}

/* The driver's side of 3.1.1 up to FEATURES_OK, accepting FEATURES. */
static void negotiate(uint64_t features)
{
	wr(VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
	wr(VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	wr(VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)features);
	wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	wr(VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(features >> 32));
	wr(VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
				       VIRTIO_STATUS_FEATURES_OK);
}

#define ALL_OK (VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK | \
		VIRTIO_STATUS_DRIVER_OK)

Test(mmio, identification)
{
	cr_assert_eq(rd(VIRTIO_MMIO_MAGIC), 0x74726976);
	cr_assert_eq(rd(VIRTIO_MMIO_VERSION), 2);
	cr_assert_eq(rd(VIRTIO_MMIO_DEVICE_ID), 42);
	cr_assert_eq(rd(VIRTIO_MMIO_VENDOR_ID), VIRTIO_MMIO_VENDOR);
	wr(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	cr_assert_eq(rd(VIRTIO_MMIO_DEVICE_FEATURES), (1u << 3) | (1u << VIRTIO_F_EVENT_IDX));
	wr(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	cr_assert_eq(rd(VIRTIO_MMIO_DEVICE_FEATURES), 1u);	/* VERSION_1 */
	wr(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 7);
	cr_assert_eq(rd(VIRTIO_MMIO_DEVICE_FEATURES), 0);
	wr(VIRTIO_MMIO_QUEUE_SEL, 1);
	cr_assert_eq(rd(VIRTIO_MMIO_QUEUE_NUM_MAX), 16);
	wr(VIRTIO_MMIO_QUEUE_SEL, 2);
	cr_assert_eq(rd(VIRTIO_MMIO_QUEUE_NUM_MAX), 0, "no such queue");
}

Test(mmio, full_bring_up)
{
	negotiate(VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_F_EVENT_IDX));
	cr_assert(rd(VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_FEATURES_OK);
	queue_setup(0, 16, 0x10000);
	cr_assert_eq(rd(VIRTIO_MMIO_QUEUE_READY), 1);
	wr(VIRTIO_MMIO_STATUS, ALL_OK);
	cr_assert_eq(rd(VIRTIO_MMIO_STATUS), ALL_OK);
	cr_assert_eq(activated, 1);
	cr_assert(dev.vqs[0].event_idx);
	cr_assert_eq(dev.acked, VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_F_EVENT_IDX));
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	cr_assert_eq(notified[0], 2, "one kick at DRIVER_OK, one for the notify");
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 1);
	cr_assert_eq(notified[1], 0, "queue 1 was never made ready");
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 99);
}

Test(mmio, features_never_offered_refused)
{
	negotiate(VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(5));
	cr_assert_eq(rd(VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_FEATURES_OK, 0);
	cr_assert_eq(dev.acked, 0);
	/* DRIVER_OK without FEATURES_OK: the device wants a reset and is not activated. */
	wr(VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
				       VIRTIO_STATUS_DRIVER_OK);
	cr_assert_eq(activated, 0);
	cr_assert(rd(VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET);
	/* Both refusals are counted for vm.counters. */
	cr_assert_eq(dev.features_refused, 1);
	cr_assert_eq(dev.needs_reset, 1);
}

Test(mmio, legacy_driver_refused)
{
	negotiate(VIRTIO_BIT(3));	/* no VERSION_1 */
	cr_assert_eq(rd(VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_FEATURES_OK, 0);
}

Test(mmio, features_fixed_after_features_ok)
{
	negotiate(VIRTIO_BIT(VIRTIO_F_VERSION_1));
	wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	wr(VIRTIO_MMIO_DRIVER_FEATURES, 1u << 3);
	queue_setup(0, 8, 0x10000);
	wr(VIRTIO_MMIO_STATUS, ALL_OK);
	cr_assert_eq(dev.acked, VIRTIO_BIT(VIRTIO_F_VERSION_1));
}

Test(mmio, notify_before_driver_ok_ignored)
{
	negotiate(VIRTIO_BIT(VIRTIO_F_VERSION_1));
	queue_setup(0, 16, 0x10000);
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	cr_assert_eq(notified[0], 0);
}

Test(mmio, bad_queue_setups)
{
	negotiate(VIRTIO_BIT(VIRTIO_F_VERSION_1));
	queue_setup(0, 12, 0x10000);		/* not a power of two */
	cr_assert_eq(rd(VIRTIO_MMIO_QUEUE_READY), 0);
	cr_assert(rd(VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET);
	wr(VIRTIO_MMIO_STATUS, 0);
	cr_assert_eq(rd(VIRTIO_MMIO_STATUS), 0);
	negotiate(VIRTIO_BIT(VIRTIO_F_VERSION_1));
	queue_setup(0, 32, 0x10000);		/* above QueueNumMax */
	cr_assert_eq(rd(VIRTIO_MMIO_QUEUE_READY), 0);
	wr(VIRTIO_MMIO_STATUS, 0);
	negotiate(VIRTIO_BIT(VIRTIO_F_VERSION_1));
	queue_setup(0, 16, 1 * MiB - 0x800);	/* rings beyond RAM */
	cr_assert_eq(rd(VIRTIO_MMIO_QUEUE_READY), 0);
	wr(VIRTIO_MMIO_STATUS, 0);
	negotiate(VIRTIO_BIT(VIRTIO_F_VERSION_1));
	queue_setup(0, 16, 0x10008);		/* descriptor table misaligned */
	cr_assert_eq(rd(VIRTIO_MMIO_QUEUE_READY), 0);
	/* Each refused set-up counted once, as it put the device into NEEDS_RESET. */
	cr_assert_eq(dev.needs_reset, 4, "needs_reset %llu", (unsigned long long)dev.needs_reset);
	cr_assert_eq(dev.features_refused, 0);
	/* A DRIVER_OK now still must not activate a device that needs a reset. */
	wr(VIRTIO_MMIO_STATUS, ALL_OK | VIRTIO_STATUS_NEEDS_RESET);
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	cr_assert_eq(notified[0], 0);
}

Test(mmio, live_queue_registers_frozen)
{
	negotiate(VIRTIO_BIT(VIRTIO_F_VERSION_1));
	queue_setup(0, 16, 0x10000);
	wr(VIRTIO_MMIO_QUEUE_NUM, 4);
	wr(VIRTIO_MMIO_QUEUE_DESC_LOW, 0xfff00000);
	cr_assert_eq(dev.vqs[0].size, 16);
	cr_assert_eq(dev.vqs[0].desc_gpa, 0x10000);
}

Test(mmio, reset_returns_to_clean_state)
{
	negotiate(VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_F_EVENT_IDX));
	queue_setup(0, 16, 0x10000);
	wr(VIRTIO_MMIO_STATUS, ALL_OK);
	wr(VIRTIO_MMIO_STATUS, 0);
	cr_assert_eq(resets, 1);
	cr_assert_eq(rd(VIRTIO_MMIO_STATUS), 0);
	cr_assert_eq(dev.acked, 0);
	wr(VIRTIO_MMIO_QUEUE_SEL, 0);
	cr_assert_eq(rd(VIRTIO_MMIO_QUEUE_READY), 0);
	cr_assert_eq(dev.vqs[0].size, 0);
	cr_assert_eq(dev.vqs[0].desc_gpa, 0);
	cr_assert_eq(rd(VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	cr_assert_eq(notified[0], 1, "only the DRIVER_OK kick before the reset");
}

Test(mmio, status_bits_cannot_be_cleared)
{
	negotiate(VIRTIO_BIT(VIRTIO_F_VERSION_1));
	wr(VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
	cr_assert_eq(rd(VIRTIO_MMIO_STATUS), VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
						   VIRTIO_STATUS_FEATURES_OK);
}

Test(mmio, interrupt_status_and_ack)
{
	uint64_t v;

	negotiate(VIRTIO_BIT(VIRTIO_F_VERSION_1));
	queue_setup(0, 16, 0x10000);
	wr(VIRTIO_MMIO_STATUS, ALL_OK);
	virtio_notify_config(&dev);
	cr_assert_eq(rd(VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_CONFIG);
	cr_assert_eq(rd(VIRTIO_MMIO_CONFIG_GENERATION), 1);
	cr_assert_eq(read(irq_fd, &v, sizeof(v)), 8);
	cr_assert_eq(v, 1);
	wr(VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_CONFIG);
	cr_assert_eq(rd(VIRTIO_MMIO_INTERRUPT_STATUS), 0);
}

Test(mmio, config_space_bounds)
{
	uint8_t b[8];

	virtio_mmio_access(t, VIRTIO_MMIO_CONFIG + 2, b, 2, false);
	cr_assert_eq(b[0], 3);
	cr_assert_eq(b[1], 4);
	virtio_mmio_access(t, VIRTIO_MMIO_CONFIG + 4, b, 8, false);
	cr_assert_eq(b[7], 12);
	memset(b, 0xaa, sizeof(b));
	virtio_mmio_access(t, VIRTIO_MMIO_CONFIG + 8, b, 8, false);	/* runs past the end */
	cr_assert_eq(b[0], 0);
	cr_assert_eq(b[7], 0);
	virtio_mmio_access(t, 0xffc, b, 4, false);			/* far beyond */
	cr_assert_eq(b[0], 0);
	virtio_mmio_access(t, VIRTIO_MMIO_CONFIG, b, 4, true);		/* no config_write */
	cr_assert_eq(config[0], 1);
}

Test(mmio, odd_register_accesses_dropped)
{
	uint8_t b[2] = { 0xaa, 0xaa };

	virtio_mmio_access(t, VIRTIO_MMIO_MAGIC, b, 2, false);
	cr_assert_eq(b[0], 0);
	virtio_mmio_access(t, VIRTIO_MMIO_MAGIC + 1, b, 1, false);
	cr_assert_eq(b[0], 0);
	b[0] = VIRTIO_STATUS_ACKNOWLEDGE;
	virtio_mmio_access(t, VIRTIO_MMIO_STATUS, b, 1, true);
	cr_assert_eq(rd(VIRTIO_MMIO_STATUS), 0);
	wr(VIRTIO_MMIO_STATUS + 2, 1);
	cr_assert_eq(rd(VIRTIO_MMIO_STATUS), 0);
}
