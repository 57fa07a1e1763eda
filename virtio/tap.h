/*
 * TAP back-end of virtio-net: opening a TAP interface by name or taking over an inherited
 * TAP fd, and the TUN ioctls the device needs (vnet header size, offloads, MTU).
 *
 * The fd is always a TAP (Ethernet frames), without packet information, with virtio-net
 * headers of 12 bytes (struct virtio_net_hdr_v1) in front of every frame in both directions,
 * non-blocking and close-on-exec. Every failure prints one message naming the TAP (or fd)
 * and the step that failed, and returns -errno.
 */
#ifndef KVMM_VIRTIO_TAP_H
#define KVMM_VIRTIO_TAP_H

#include <net/if.h>
#include <stdint.h>

struct tap {
	int fd;				/* -1 when closed */
	char name[IF_NAMESIZE];		/* the interface, as the kernel reports it */
};

/*
 * Attaches to the existing TAP interface NAME through /dev/net/tun. A missing interface is
 * an error (-ENODEV), never created: kvmm uses the TAPs it is given. A TAP created with
 * multi_queue is attached as one queue.
 */
int tap_open(struct tap *t, const char *name);

/*
 * Uses FD, a TAP fd opened by whoever started kvmm: checks that it is attached to a TAP with
 * IFF_NO_PI and IFF_VNET_HDR, and works on a close-on-exec duplicate of it (made
 * non-blocking, header size set) that T owns (tap_close() closes it). FD itself stays open
 * and belongs to the caller, success or not.
 */
int tap_adopt(struct tap *t, int fd);

/* The TUN_F_* offloads that match the guest's negotiated virtio-net FEATURES. */
unsigned int tap_offload_flags(uint64_t features);

/* TUNSETOFFLOAD with tap_offload_flags(FEATURES): what the kernel may hand the guest. */
int tap_set_offload(const struct tap *t, uint64_t features);

/* The interface MTU (SIOCGIFMTU). 0/-errno, no message (callers have a fallback). */
int tap_mtu(const struct tap *t, unsigned int *mtu);

/* Closes the fd; safe on a closed tap. */
void tap_close(struct tap *t);

#endif
