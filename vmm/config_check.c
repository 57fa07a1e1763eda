/*
 * The host-side check of a config before a VM is made (contract in config_check.h): each
 * file, interface and socket it names exists and can be used.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config_check.h"
#include "log.h"

/* PATH opens with FLAGS; the message names it as WHAT. 0/-errno. */
static int check_open(const char *what, const char *path, int flags, const char *how)
{
	int fd = open(path, flags | O_CLOEXEC);

	if (fd < 0) {
		int err = errno;

		pr_err("%s: cannot open %s%s: %s", what, path, how, strerror(err));
		return -err;
	}
	close(fd);
	return 0;
}

/* The directory PATH goes into exists. 0/-errno. */
static int check_dir_of(const char *what, const char *path)
{
	char copy[PATH_MAX];
	struct stat st;
	const char *dir;

	if (snprintf(copy, sizeof(copy), "%s", path) >= (int)sizeof(copy)) {
		pr_err("%s: path too long: %s", what, path);
		return -ENAMETOOLONG;
	}
	dir = dirname(copy);
	if (stat(dir, &st) || !S_ISDIR(st.st_mode)) {
		int err = errno ? errno : ENOTDIR;

		pr_err("%s: %s: the directory %s is not there (%s)", what, path, dir,
		       strerror(err));
		return -ENOENT;
	}
	return 0;
}

static int check_net(const struct vmm_config *cfg, unsigned int i)
{
	const struct net_config *n = &cfg->nets[i];

	if (n->fd >= 0) {
		if (fcntl(n->fd, F_GETFD) < 0) {
			pr_err("TAP fd %d: not an open file descriptor (was it passed to kvmm?)",
			       n->fd);
			return -EBADF;
		}
		return 0;
	}
	if (n->tap && !if_nametoindex(n->tap)) {
		pr_err("%s: no such interface (create the TAP first, e.g. ip tuntap add dev %s "
		       "mode tap)", n->tap, n->tap);
		return -ENODEV;
	}
	return 0;
}

static int check_fs(const struct vmm_config *cfg, unsigned int i)
{
	const struct fs_config *f = &cfg->fs[i];
	char id[64], what[80];
	struct stat st;

	config_device_id(cfg, cfg->nr_disks + cfg->nr_nets + i, id, sizeof(id));
	snprintf(what, sizeof(what), "virtio-fs %s", id);
	if (stat(f->socket, &st)) {
		int err = errno;

		pr_err("%s: cannot connect to the vhost-user back-end at %s: %s", what, f->socket,
		       strerror(err));
		return -err;
	}
	if (!S_ISSOCK(st.st_mode)) {
		pr_err("%s: %s is not a socket (the vhost-user back-end's, e.g. virtiofsd "
		       "--socket-path)", what, f->socket);
		return -ENOTSOCK;
	}
	return 0;
}

int config_check_host(const struct vmm_config *cfg)
{
	char id[64], what[80];
	unsigned int i;
	int ret;

	if (cfg->kernel && (ret = check_open("kernel", cfg->kernel, O_RDONLY, "")))
		return ret;
	if (cfg->initramfs && (ret = check_open("initramfs", cfg->initramfs, O_RDONLY, "")))
		return ret;
	for (i = 0; i < cfg->nr_disks; i++) {
		const struct disk_config *d = &cfg->disks[i];

		config_device_id(cfg, i, id, sizeof(id));
		snprintf(what, sizeof(what), "virtio-blk %s", id);
		ret = check_open(what, d->path, d->readonly ? O_RDONLY : O_RDWR,
				 d->readonly ? " read-only" : "");
		if (ret)
			return ret;
	}
	for (i = 0; i < cfg->nr_nets; i++)
		if ((ret = check_net(cfg, i)))
			return ret;
	for (i = 0; i < cfg->nr_fs; i++)
		if ((ret = check_fs(cfg, i)))
			return ret;
	if (cfg->vsock.cid && cfg->vsock.socket &&
	    (ret = check_dir_of("virtio-vsock", cfg->vsock.socket)))
		return ret;
	if (cfg->serial == SERIAL_FILE && cfg->serial_path &&
	    (ret = check_dir_of("serial", cfg->serial_path)))
		return ret;
	if (cfg->rng_src && (ret = check_open("virtio-rng: entropy source", cfg->rng_src,
					      O_RDONLY, "")))
		return ret;
	return 0;
}
