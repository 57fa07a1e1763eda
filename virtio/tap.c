/*
 * TAP back-end of virtio-net: /dev/net/tun attachment by name, validation of an inherited
 * TAP fd, vnet header size, offloads and MTU (contracts in tap.h).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "net_io.h"
#include "tap.h"

#define TUN_DEV "/dev/net/tun"

/* Header size and the flag checks common to both ways in. LABEL names the TAP. */
static int tap_setup(struct tap *t, const char *label)
{
	struct ifreq ifr = { 0 };
	int hdr = NET_HDR_LEN;

	if (ioctl(t->fd, TUNGETIFF, &ifr)) {
		int err = errno;

		if (err == EBADFD)
			pr_err("%s: a " TUN_DEV " fd not attached to any interface", label);
		else if (err == EBADF)
			pr_err("%s: not an open file descriptor (was it passed to kvmm?)", label);
		else
			pr_err("%s: not a TAP device (TUNGETIFF: %s)", label, strerror(err));
		return err == ENOTTY ? -EINVAL : -err;
	}
	if ((ifr.ifr_flags & (IFF_TUN | IFF_TAP)) != IFF_TAP) {
		pr_err("%s: %s is a TUN (IP) device, virtio-net needs a TAP", label, ifr.ifr_name);
		return -EINVAL;
	}
	if (!(ifr.ifr_flags & IFF_VNET_HDR)) {
		pr_err("%s: TAP %s was opened without IFF_VNET_HDR; kvmm needs virtio-net headers "
		       "(open it with IFF_TAP|IFF_NO_PI|IFF_VNET_HDR)", label, ifr.ifr_name);
		return -EINVAL;
	}
	if (!(ifr.ifr_flags & IFF_NO_PI)) {
		pr_err("%s: TAP %s was opened without IFF_NO_PI; kvmm needs frames without "
		       "packet information", label, ifr.ifr_name);
		return -EINVAL;
	}
	snprintf(t->name, sizeof(t->name), "%s", ifr.ifr_name);
	if (ioctl(t->fd, TUNSETVNETHDRSZ, &hdr)) {
		int err = errno;

		pr_err("%s: TAP %s: TUNSETVNETHDRSZ %d: %s", label, t->name, hdr, strerror(err));
		return -err;
	}
	return 0;
}

int tap_open(struct tap *t, const char *name)
{
	struct ifreq ifr = { 0 };
	int ret;

	t->fd = -1;
	if (strlen(name) >= sizeof(ifr.ifr_name)) {
		pr_err("%s: TAP name longer than %zu bytes", name, sizeof(ifr.ifr_name) - 1);
		return -EINVAL;
	}
	/* TUNSETIFF would create a missing interface: refuse instead. */
	if (!if_nametoindex(name)) {
		pr_err("%s: no such interface (create the TAP first, e.g. "
		       "ip tuntap add dev %s mode tap)", name, name);
		return -ENODEV;
	}
	t->fd = open(TUN_DEV, O_RDWR | O_CLOEXEC | O_NONBLOCK);
	if (t->fd < 0) {
		ret = -errno;
		pr_err("%s: cannot open " TUN_DEV ": %s", name, strerror(-ret));
		return ret;
	}
	strcpy(ifr.ifr_name, name);
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	ret = 0;
	if (ioctl(t->fd, TUNSETIFF, &ifr)) {
		ret = -errno;
		/* A TAP created with multi_queue only accepts multi-queue attachments. */
		ifr.ifr_flags |= IFF_MULTI_QUEUE;
		if (ret == -EINVAL && !ioctl(t->fd, TUNSETIFF, &ifr))
			ret = 0;
	}
	if (ret) {
		pr_err("%s: attaching to the TAP (TUNSETIFF): %s%s", name, strerror(-ret),
		       ret == -EBUSY ? " (in use by another process?)" :
		       ret == -EPERM ? " (owned by another user?)" :
		       ret == -EINVAL ? " (not a TAP interface?)" : "");
		goto err;
	}
	ret = tap_setup(t, name);
	if (ret)
		goto err;
	return 0;
err:
	close(t->fd);
	t->fd = -1;
	return ret;
}

int tap_adopt(struct tap *t, int fd)
{
	char label[24];
	int fl, ret;

	snprintf(label, sizeof(label), "TAP fd %d", fd);
	/* A duplicate: the caller (the VM config) keeps its fd, so a VM booted again from the
	 * same config (vm.reboot, vm.boot after vm.shutdown) can adopt it again. */
	t->fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	if (t->fd < 0) {
		ret = -errno;
		if (errno == EBADF)
			pr_err("%s: not an open file descriptor (was it passed to kvmm?)", label);
		else
			pr_err("%s: dup: %s", label, strerror(errno));
		return ret;
	}
	ret = tap_setup(t, label);
	if (ret)
		goto err;
	fl = fcntl(t->fd, F_GETFL);
	if (fl < 0 || fcntl(t->fd, F_SETFL, fl | O_NONBLOCK)) {
		ret = -errno;
		pr_err("%s: TAP %s: making it non-blocking: %s", label, t->name, strerror(-ret));
		goto err;
	}
	return 0;
err:
	close(t->fd);
	t->fd = -1;		/* the caller's fd stays open */
	return ret;
}

unsigned int tap_offload_flags(uint64_t features)
{
	unsigned int fl = 0;

	/* The kernel refuses segmentation offloads without checksum offload, and so does
	 * virtio (GUEST_TSO* and GUEST_UFO depend on GUEST_CSUM). */
	if (!(features & (1ULL << VIRTIO_NET_F_GUEST_CSUM)))
		return 0;
	fl |= TUN_F_CSUM;
	if (features & (1ULL << VIRTIO_NET_F_GUEST_TSO4))
		fl |= TUN_F_TSO4;
	if (features & (1ULL << VIRTIO_NET_F_GUEST_TSO6))
		fl |= TUN_F_TSO6;
	if (features & (1ULL << VIRTIO_NET_F_GUEST_ECN) &&
	    features & ((1ULL << VIRTIO_NET_F_GUEST_TSO4) | (1ULL << VIRTIO_NET_F_GUEST_TSO6)))
		fl |= TUN_F_TSO_ECN;
	if (features & (1ULL << VIRTIO_NET_F_GUEST_UFO))
		fl |= TUN_F_UFO;
	return fl;
}

int tap_set_offload(const struct tap *t, uint64_t features)
{
	unsigned int fl = tap_offload_flags(features);

	if (ioctl(t->fd, TUNSETOFFLOAD, (unsigned long)fl)) {
		int err = errno;

		pr_err("%s: TUNSETOFFLOAD 0x%x: %s", t->name, fl, strerror(err));
		return -err;
	}
	return 0;
}

int tap_mtu(const struct tap *t, unsigned int *mtu)
{
	struct ifreq ifr = { 0 };
	int s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int ret = 0;

	if (s < 0)
		return -errno;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", t->name);
	if (ioctl(s, SIOCGIFMTU, &ifr))
		ret = -errno;
	else
		*mtu = ifr.ifr_mtu;
	close(s);
	return ret;
}

void tap_close(struct tap *t)
{
	if (t->fd >= 0)
		close(t->fd);
	t->fd = -1;
}
