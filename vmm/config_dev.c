/*
 * The device part of the VM configuration: parsing --disk, --net, --fs, --vsock, --rng and
 * --rate-limit-group values (Cloud Hypervisor's key=value style, its bw_* and ops_* rate
 * limiter keys), the devices' ids, and checking them. Shared by
 * the command line and the API's vm.create and vm.add-*, so both refuse the same things with
 * the same messages.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sys/un.h>
#include <inttypes.h>
#include <stdbool.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"

int parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = { "on", "true", "yes", "1" };
	static const char *const no[] = { "off", "false", "no", "0" };

	for (unsigned int i = 0; i < 4; i++) {
		if (!strcmp(s, yes[i])) {
			*out = true;
			return 0;
		}
		if (!strcmp(s, no[i])) {
			*out = false;
			return 0;
		}
	}
	return -EINVAL;
}

static int dup_opt(char **dst, const char *src)
{
	if (!src)
		return 0;
	*dst = strdup(src);
	return *dst ? 0 : -ENOMEM;
}

/* A decimal number up to MAX (no sign, no blanks). */
static int parse_dec(const char *s, unsigned long max, unsigned int *out)
{
	unsigned long v;
	char *end;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (*end || errno || v > max)
		return -EINVAL;
	*out = (unsigned int)v;
	return 0;
}

/* pci_segment=N: a decimal segment number below KVMM_MAX_PCI_SEGMENTS (checked against
 * the VM's segments in config_validate_devices). */
static int parse_segment(const char *s, unsigned int *out)
{
	return parse_dec(s, KVMM_MAX_PCI_SEGMENTS - 1, out);
}

/* Cloud Hypervisor's rate limiter keys, in struct rl_config order. */
#define RL_KEYS	"bw_size", "bw_one_time_burst", "bw_refill_time", "ops_size", \
		"ops_one_time_burst", "ops_refill_time"
#define RL_NKEYS 6

/* A token count or a time in ms: decimal, at most INT64_MAX (the API's int64). */
static int parse_u63(const char *s, uint64_t *out)
{
	unsigned long long v;
	char *end;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (*end || errno || v > INT64_MAX)
		return -EINVAL;
	*out = v;
	return 0;
}

/* The six rate limiter values V (RL_KEYS order, NULL when absent) into C. */
static int parse_limits(char *const *v, struct rl_config *c, const char **bad)
{
	uint64_t *dst[RL_NKEYS] = { &c->bw.size, &c->bw.one_time_burst, &c->bw.refill_time,
				    &c->ops.size, &c->ops.one_time_burst, &c->ops.refill_time };

	for (unsigned int i = 0; i < RL_NKEYS; i++) {
		*bad = v[i];
		if (v[i] && parse_u63(v[i], dst[i]))
			return -EINVAL;
	}
	return 0;
}

int config_opt_disk(struct vmm_config *cfg, char *arg, const char **bad)
{
	static const char *const keys[] = { "path", "readonly", "id", "serial", "direct",
					    "pci_segment", "rate_limit_group", RL_KEYS };
	char *v[7 + RL_NKEYS] = { 0 };
	struct disk_config d = { 0 };

	if (parse_kv(arg, keys, v, 7 + RL_NKEYS, bad))
		return -EINVAL;
	*bad = "path";
	if (!v[0] || !*v[0])
		return -EINVAL;
	*bad = v[1];
	if (v[1] && parse_bool(v[1], &d.readonly))
		return -EINVAL;
	*bad = v[4];
	if (v[4] && parse_bool(v[4], &d.direct))
		return -EINVAL;
	*bad = v[5];
	if (v[5] && parse_segment(v[5], &d.pci_segment))
		return -EINVAL;
	*bad = v[6];
	if (v[6] && (!*v[6] || strlen(v[6]) > KVMM_RL_GROUP_ID_MAX))
		return -EINVAL;
	if (v[6])
		strcpy(d.rate_limit_group, v[6]);
	if (parse_limits(v + 7, &d.rate_limit, bad))
		return -EINVAL;
	*bad = "too many disks";
	if (cfg->nr_disks == KVMM_MAX_DISKS)
		return -EINVAL;
	if (dup_opt(&d.path, v[0]) || dup_opt(&d.id, v[2]) || dup_opt(&d.serial, v[3])) {
		free(d.path);
		free(d.id);
		return -ENOMEM;
	}
	cfg->disks[cfg->nr_disks++] = d;
	return 0;
}

/* --rate-limit-group id=NAME[,bw_*=N][,ops_*=N]: a limiter disks share. */
int config_opt_rl_group(struct vmm_config *cfg, char *arg, const char **bad)
{
	static const char *const keys[] = { "id", RL_KEYS };
	char *v[1 + RL_NKEYS] = { 0 };
	struct rl_group_config g = { 0 };

	if (parse_kv(arg, keys, v, 1 + RL_NKEYS, bad))
		return -EINVAL;
	*bad = "id= is required";
	if (!v[0] || !*v[0])
		return -EINVAL;
	*bad = v[0];
	if (strlen(v[0]) > KVMM_RL_GROUP_ID_MAX)
		return -EINVAL;
	strcpy(g.id, v[0]);
	if (parse_limits(v + 1, &g.limits, bad))
		return -EINVAL;
	*bad = "too many rate limit groups";
	if (cfg->nr_rl_groups == KVMM_MAX_RL_GROUPS)
		return -EINVAL;
	cfg->rl_groups[cfg->nr_rl_groups++] = g;
	return 0;
}

void config_link_rl_groups(struct vmm_config *cfg)
{
	for (unsigned int i = 0; i < cfg->nr_disks; i++) {
		struct disk_config *d = &cfg->disks[i];

		memset(&d->group_limits, 0, sizeof(d->group_limits));
		for (unsigned int g = 0; *d->rate_limit_group && g < cfg->nr_rl_groups; g++)
			if (!strcmp(cfg->rl_groups[g].id, d->rate_limit_group))
				d->group_limits = cfg->rl_groups[g].limits;
	}
}

int parse_mac(const char *s, uint8_t mac[6])
{
	unsigned int b[6];
	char end;

	if (strlen(s) != 17 || sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3],
				      &b[4], &b[5], &end) != 6)
		return -EINVAL;
	for (unsigned int i = 0; i < 6; i++) {
		if (s[3 * i] == '+' || s[3 * i] == '-' || s[3 * i] == ' ')
			return -EINVAL;
		mac[i] = (uint8_t)b[i];
	}
	return 0;
}

int config_opt_net(struct vmm_config *cfg, char *arg, const char **bad)
{
	static const char *const keys[] = { "tap", "fd", "mac", "id", "pci_segment", RL_KEYS };
	char *v[5 + RL_NKEYS] = { 0 };
	struct net_config n = { .fd = -1 };
	unsigned int fd;
	char *end;

	if (parse_kv(arg, keys, v, 5 + RL_NKEYS, bad))
		return -EINVAL;
	if (parse_limits(v + 5, &n.rate_limit, bad))
		return -EINVAL;
	*bad = "tap= or fd=";
	if (!v[0] == !v[1] || (v[0] && !*v[0]))
		return -EINVAL;
	if (v[1]) {
		*bad = v[1];
		errno = 0;
		fd = strtoul(v[1], &end, 10);
		if (*v[1] < '0' || *v[1] > '9' || *end || errno || fd < 3 || fd > INT_MAX)
			return -EINVAL;
		n.fd = (int)fd;
	}
	*bad = v[2];
	if (v[2]) {
		if (parse_mac(v[2], n.mac) || (n.mac[0] & 1))	/* no multicast MACs */
			return -EINVAL;
		n.has_mac = true;
	}
	*bad = v[4];
	if (v[4] && parse_segment(v[4], &n.pci_segment))
		return -EINVAL;
	*bad = "too many network devices";
	if (cfg->nr_nets == KVMM_MAX_NETS)
		return -EINVAL;
	if (dup_opt(&n.tap, v[0]) || dup_opt(&n.id, v[3])) {
		free(n.tap);
		return -ENOMEM;
	}
	cfg->nets[cfg->nr_nets++] = n;
	return 0;
}

int config_opt_rng(struct vmm_config *cfg, char *arg, const char **bad)
{
	static const char *const keys[] = { "src" };
	char *v[1] = { 0 };

	free(cfg->rng_src);
	cfg->rng_src = NULL;
	if (!strcmp(arg, "off"))
		return 0;
	if (parse_kv(arg, keys, v, 1, bad))
		return -EINVAL;
	*bad = "src";
	if (!v[0] || !*v[0])
		return -EINVAL;
	return dup_opt(&cfg->rng_src, v[0]);
}

int config_opt_vsock(struct vmm_config *cfg, char *arg, const char **bad)
{
	static const char *const keys[] = { "cid", "socket" };
	char *v[2] = { 0 }, *end;
	unsigned long long cid;

	if (parse_kv(arg, keys, v, 2, bad))
		return -EINVAL;
	*bad = "cid= and socket= are both required";
	if (!v[0] || !v[1] || !*v[1])
		return -EINVAL;
	*bad = v[0];
	errno = 0;
	cid = strtoull(v[0], &end, 10);
	if (*v[0] < '0' || *v[0] > '9' || *end || errno || cid < 3 || cid > UINT32_MAX - 1)
		return -EINVAL;
	free(cfg->vsock.socket);
	cfg->vsock.cid = cid;
	return dup_opt(&cfg->vsock.socket, v[1]);
}

/* --fs tag=T,socket=PATH[,num_queues=N][,queue_size=N][,id=NAME][,pci_segment=N]: the
 * ranges are config_validate_devices()'s, so that the API's fs[] gets the same messages. */
int config_opt_fs(struct vmm_config *cfg, char *arg, const char **bad)
{
	static const char *const keys[] = { "tag", "socket", "num_queues", "queue_size", "id",
					    "pci_segment" };
	char *v[6] = { 0 };
	struct fs_config f = { .num_queues = 1, .queue_size = 1024 };

	if (parse_kv(arg, keys, v, 6, bad))
		return -EINVAL;
	*bad = "tag= and socket= are both required";
	if (!v[0] || !*v[0] || !v[1] || !*v[1])
		return -EINVAL;
	*bad = v[2];
	if (v[2] && parse_dec(v[2], UINT_MAX, &f.num_queues))
		return -EINVAL;
	*bad = v[3];
	if (v[3] && parse_dec(v[3], UINT_MAX, &f.queue_size))
		return -EINVAL;
	*bad = "id";
	if (v[4] && !*v[4])
		return -EINVAL;
	*bad = v[5];
	if (v[5] && parse_segment(v[5], &f.pci_segment))
		return -EINVAL;
	*bad = "too many virtio-fs devices";
	if (cfg->nr_fs == KVMM_MAX_FS)
		return -EINVAL;
	if (dup_opt(&f.tag, v[0]) || dup_opt(&f.socket, v[1]) || dup_opt(&f.id, v[4])) {
		free(f.tag);
		free(f.socket);
		return -ENOMEM;
	}
	cfg->fs[cfg->nr_fs++] = f;
	return 0;
}

/* Devices with a configurable id: disks, then NICs, then virtio-fs devices. */
static unsigned int nr_named(const struct vmm_config *cfg)
{
	return cfg->nr_disks + cfg->nr_nets + cfg->nr_fs;
}

/* The id of device I (below nr_named()), or NULL. */
static const char *device_id(const struct vmm_config *cfg, unsigned int i)
{
	if (i < cfg->nr_disks)
		return cfg->disks[i].id;
	i -= cfg->nr_disks;
	return i < cfg->nr_nets ? cfg->nets[i].id : cfg->fs[i - cfg->nr_nets].id;
}

/* Cloud Hypervisor's prefix for device I's default name (I == nr_named(): vsock). */
static const char *default_prefix(const struct vmm_config *cfg, unsigned int i)
{
	if (i < cfg->nr_disks)
		return "_disk";
	i -= cfg->nr_disks;
	return i < cfg->nr_nets ? "_net" : i < cfg->nr_nets + cfg->nr_fs ? "_fs" : "_vsock";
}

/* Whether an explicit id among the first N devices (disks, NICs, fs) is ID. */
static bool id_taken(const struct vmm_config *cfg, unsigned int n, const char *id)
{
	for (unsigned int j = 0; j < n; j++)
		if (device_id(cfg, j) && !strcmp(device_id(cfg, j), id))
			return true;
	return false;
}

void config_device_id(const struct vmm_config *cfg, unsigned int i, char *buf,
		      unsigned long len)
{
	unsigned int n = nr_named(cfg), counter = 0;

	for (unsigned int j = 0; j <= i && j <= n; j++) {
		const char *prefix = default_prefix(cfg, j);

		if (j < n && device_id(cfg, j)) {
			if (j == i)
				snprintf(buf, len, "%s", device_id(cfg, j));
			continue;
		}
		if (j == n && cfg->vsock.id) {
			snprintf(buf, len, "%s", cfg->vsock.id);
			continue;
		}
		/* Cloud Hypervisor's next_device_name(): one counter for every device named
		 * by default, skipping a name an explicit id took. */
		do
			snprintf(buf, len, "%s%u", prefix, counter++);
		while (id_taken(cfg, n, buf));
	}
}

int config_resolve_ids(struct vmm_config *cfg)
{
	unsigned int n = nr_named(cfg);
	char *ids[KVMM_MAX_VIRTIO + 1] = { 0 }, buf[64];

	/* All first: each default name depends on the ones before it being defaults. */
	for (unsigned int i = 0; i <= n; i++) {
		config_device_id(cfg, i, buf, sizeof(buf));
		ids[i] = strdup(buf);
		if (!ids[i]) {
			for (unsigned int j = 0; j < i; j++)
				free(ids[j]);
			return -ENOMEM;
		}
	}
	for (unsigned int i = 0; i < cfg->nr_disks; i++) {
		free(cfg->disks[i].id);
		cfg->disks[i].id = ids[i];
	}
	for (unsigned int i = 0; i < cfg->nr_nets; i++) {
		free(cfg->nets[i].id);
		cfg->nets[i].id = ids[cfg->nr_disks + i];
	}
	for (unsigned int i = 0; i < cfg->nr_fs; i++) {
		free(cfg->fs[i].id);
		cfg->fs[i].id = ids[cfg->nr_disks + cfg->nr_nets + i];
	}
	free(cfg->vsock.id);
	cfg->vsock.id = ids[n];
	return 0;
}

int config_remove_device(struct vmm_config *cfg, const char *id)
{
	for (unsigned int i = 0; i < cfg->nr_disks; i++) {
		struct disk_config *d = &cfg->disks[i];

		if (!d->id || strcmp(d->id, id))
			continue;
		free(d->path);
		free(d->id);
		free(d->serial);
		memmove(d, d + 1, (--cfg->nr_disks - i) * sizeof(*d));
		return 0;
	}
	for (unsigned int i = 0; i < cfg->nr_nets; i++) {
		struct net_config *nc = &cfg->nets[i];

		if (!nc->id || strcmp(nc->id, id))
			continue;
		free(nc->tap);
		free(nc->id);
		if (nc->fd >= 0)
			close(nc->fd);
		memmove(nc, nc + 1, (--cfg->nr_nets - i) * sizeof(*nc));
		return 0;
	}
	for (unsigned int i = 0; i < cfg->nr_fs; i++) {
		struct fs_config *f = &cfg->fs[i];

		if (!f->id || strcmp(f->id, id))
			continue;
		free(f->tag);
		free(f->socket);
		free(f->id);
		memmove(f, f + 1, (--cfg->nr_fs - i) * sizeof(*f));
		return 0;
	}
	if (cfg->vsock.cid && cfg->vsock.id && !strcmp(cfg->vsock.id, id)) {
		free(cfg->vsock.socket);
		free(cfg->vsock.id);
		cfg->vsock.socket = cfg->vsock.id = NULL;
		cfg->vsock.cid = 0;
		return 0;
	}
	return -ENOENT;
}

/* Device ids share one namespace, as in Cloud Hypervisor: true (with a message) when two
 * devices have the same one. */
static bool id_clash(const struct vmm_config *cfg, char *err, unsigned long errlen)
{
	unsigned int n = nr_named(cfg);

	/* The vsock device (named: i == n) shares the namespace. */
	for (unsigned int i = 0; i <= n; i++) {
		const char *id = i < n ? device_id(cfg, i) : cfg->vsock.cid ? cfg->vsock.id : NULL;

		for (unsigned int j = 0; id && j < i; j++) {
			if (device_id(cfg, j) && !strcmp(device_id(cfg, j), id)) {
				snprintf(err, errlen, "device id '%s' used twice", id);
				return true;
			}
		}
	}
	return false;
}

int config_validate_hugepages(const struct vmm_config *cfg, char *err, unsigned long errlen)
{
	uint64_t page = config_hugepage_size(cfg);

	if (!cfg->mem_hugepages) {
		if (cfg->mem_hugepage_size) {
			snprintf(err, errlen, "memory: hugepage_size needs hugepages=on");
			return -EINVAL;
		}
		return 0;
	}
	if (page != 2ULL << 20 && page != 1ULL << 30) {
		snprintf(err, errlen, "memory: hugepage_size=%" PRIu64 " is neither 2M nor 1G",
			 page);
		return -EINVAL;
	}
	if (cfg->mem_size % page) {
		snprintf(err, errlen, "memory: size=%" PRIu64 " is not a multiple of the huge "
			 "page size %" PRIu64, cfg->mem_size, page);
		return -EINVAL;
	}
	return 0;
}

/* One limiter's limits: a bucket with a size needs a refill time. WHO names the device
 * ("disks[0]"), the message both the CLI key and the API field. */
static int validate_limits(const struct rl_config *c, const char *who, char *err,
			   unsigned long errlen)
{
	if (c->bw.size && !c->bw.refill_time) {
		snprintf(err, errlen, "%s: bw_refill_time (rate_limiter_config.bandwidth."
			 "refill_time) must be above 0 when bw_size is set", who);
		return -EINVAL;
	}
	if (c->ops.size && !c->ops.refill_time) {
		snprintf(err, errlen, "%s: ops_refill_time (rate_limiter_config.ops.refill_time) "
			 "must be above 0 when ops_size is set", who);
		return -EINVAL;
	}
	return 0;
}

/* Rate limit groups, and the disks' and NICs' limiters. */
static int validate_rate_limits(const struct vmm_config *cfg, char *err, unsigned long errlen)
{
	char who[48];

	for (unsigned int i = 0; i < cfg->nr_rl_groups; i++) {
		const struct rl_group_config *g = &cfg->rl_groups[i];

		snprintf(who, sizeof(who), "rate_limit_groups[%u]", i);
		if (!*g->id) {
			snprintf(err, errlen, "%s: id is required", who);
			return -EINVAL;
		}
		for (unsigned int j = 0; j < i; j++) {
			if (!strcmp(cfg->rl_groups[j].id, g->id)) {
				snprintf(err, errlen, "%s: id '%s' used twice", who, g->id);
				return -EINVAL;
			}
		}
		if (validate_limits(&g->limits, who, err, errlen))
			return -EINVAL;
	}
	for (unsigned int i = 0; i < cfg->nr_disks; i++) {
		const struct disk_config *d = &cfg->disks[i];
		bool found = false;

		snprintf(who, sizeof(who), "disks[%u]", i);
		if (validate_limits(&d->rate_limit, who, err, errlen))
			return -EINVAL;
		if (!*d->rate_limit_group)
			continue;
		if (rl_config_enabled(&d->rate_limit)) {
			snprintf(err, errlen, "%s: rate_limit_group and a rate limiter of its own "
				 "(rate_limiter_config, bw_*/ops_*) exclude each other", who);
			return -EINVAL;
		}
		for (unsigned int g = 0; g < cfg->nr_rl_groups; g++)
			found |= !strcmp(cfg->rl_groups[g].id, d->rate_limit_group);
		if (!found) {
			snprintf(err, errlen, "%s: rate_limit_group '%s' is not defined "
				 "(rate_limit_groups[], --rate-limit-group id=%s,...)", who,
				 d->rate_limit_group, d->rate_limit_group);
			return -EINVAL;
		}
	}
	for (unsigned int i = 0; i < cfg->nr_nets; i++) {
		snprintf(who, sizeof(who), "net[%u]", i);
		if (validate_limits(&cfg->nets[i].rate_limit, who, err, errlen))
			return -EINVAL;
	}
	return 0;
}

/* The virtio-fs devices (--fs, VmConfig.fs[], vm.add-fs). */
static int validate_fs(const struct vmm_config *cfg, char *err, unsigned long errlen)
{
	for (unsigned int i = 0; i < cfg->nr_fs; i++) {
		const struct fs_config *f = &cfg->fs[i];
		unsigned int q = f->queue_size;

		if (!f->tag || !*f->tag) {
			snprintf(err, errlen, "fs[%u]: tag is required (the name the guest mounts)",
				 i);
			return -EINVAL;
		}
		if (strlen(f->tag) > KVMM_FS_TAG_MAX) {
			snprintf(err, errlen, "fs[%u]: tag '%s' is %zu bytes, virtio-fs allows "
				 "1-%u", i, f->tag, strlen(f->tag), KVMM_FS_TAG_MAX);
			return -EINVAL;
		}
		if (!f->socket || !*f->socket) {
			snprintf(err, errlen, "fs[%u]: socket is required (the vhost-user "
				 "back-end's Unix socket, e.g. virtiofsd's)", i);
			return -EINVAL;
		}
		if (strlen(f->socket) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
			snprintf(err, errlen, "fs[%u]: socket path longer than %zu bytes (Unix "
				 "socket limit)", i, sizeof(((struct sockaddr_un *)0)->sun_path) - 1);
			return -EINVAL;
		}
		if (f->num_queues < 1 || f->num_queues > KVMM_FS_MAX_QUEUES) {
			snprintf(err, errlen, "fs[%u]: num_queues %u out of range 1-%u", i,
				 f->num_queues, KVMM_FS_MAX_QUEUES);
			return -EINVAL;
		}
		if (q < 1 || q > 1024 || (q & (q - 1))) {
			snprintf(err, errlen, "fs[%u]: queue_size %u is not a power of two in "
				 "1-1024", i, q);
			return -EINVAL;
		}
		if (f->pci_segment >= cfg->pci_segments) {
			snprintf(err, errlen, "fs[%u]: pci_segment %u, but the VM has %u PCI "
				 "segment(s) (platform.num_pci_segments)", i, f->pci_segment,
				 cfg->pci_segments);
			return -EINVAL;
		}
	}
	/* Cloud Hypervisor's rule, kept so that a config means the same to both: the back-end
	 * maps guest RAM, which shared=false promises to keep private (hugetlbfs RAM is mapped
	 * shared in either case). */
	if (cfg->nr_fs && !cfg->mem_shared && !cfg->mem_hugepages) {
		snprintf(err, errlen, "fs: virtio-fs needs memory.shared=true (--memory shared=on) "
			 "or hugepages: the vhost-user back-end maps guest RAM");
		return -EINVAL;
	}
	return 0;
}

int config_validate_devices(const struct vmm_config *cfg, char *err, unsigned long errlen)
{
	unsigned int total = cfg->nr_disks + cfg->nr_nets + cfg->nr_fs + (cfg->vsock.cid != 0) +
			     (cfg->rng_src != NULL);

	/* Each virtio device has an interrupt line of its own (virtio-mmio's, or INTx on PCI
	 * for a guest without MSI-X), and x86_64 has KVMM_MAX_VIRTIO of them. */
	if (total > KVMM_MAX_VIRTIO) {
		snprintf(err, errlen, "%u virtio devices (disks, net, fs, vsock, rng): at most %u",
			 total, KVMM_MAX_VIRTIO);
		return -EINVAL;
	}
	for (unsigned int i = 0; i < cfg->nr_disks; i++) {
		const struct disk_config *d = &cfg->disks[i];

		if (!d->path || !*d->path) {
			snprintf(err, errlen, "disks[%u]: path is required", i);
			return -EINVAL;
		}
		if (d->serial && strlen(d->serial) > KVMM_SERIAL_MAX) {
			snprintf(err, errlen, "disks[%u]: serial '%s' longer than %u bytes", i,
				 d->serial, KVMM_SERIAL_MAX);
			return -EINVAL;
		}
		if (d->pci_segment >= cfg->pci_segments) {
			snprintf(err, errlen, "disks[%u]: pci_segment %u, but the VM has %u PCI "
				 "segment(s) (platform.num_pci_segments)", i, d->pci_segment,
				 cfg->pci_segments);
			return -EINVAL;
		}
	}
	for (unsigned int i = 0; i < cfg->nr_nets; i++) {
		const struct net_config *n = &cfg->nets[i];

		if (!n->tap == (n->fd < 0)) {
			snprintf(err, errlen, "net[%u]: exactly one of tap= and fd= is required", i);
			return -EINVAL;
		}
		if (n->tap && strlen(n->tap) >= 16) {	/* IFNAMSIZ */
			snprintf(err, errlen, "net[%u]: tap name '%s' longer than 15 bytes", i,
				 n->tap);
			return -EINVAL;
		}
		if (n->pci_segment >= cfg->pci_segments) {
			snprintf(err, errlen, "net[%u]: pci_segment %u, but the VM has %u PCI "
				 "segment(s) (platform.num_pci_segments)", i, n->pci_segment,
				 cfg->pci_segments);
			return -EINVAL;
		}
	}
	if (validate_fs(cfg, err, errlen) || validate_rate_limits(cfg, err, errlen))
		return -EINVAL;
	if (id_clash(cfg, err, errlen))
		return -EEXIST;
	if (cfg->vsock.cid && (cfg->vsock.cid < 3 || cfg->vsock.cid > UINT32_MAX - 1 ||
			       !cfg->vsock.socket || !*cfg->vsock.socket)) {
		snprintf(err, errlen, "vsock: cid must be 3..%u and socket a path", UINT32_MAX - 1);
		return -EINVAL;
	}
	if (cfg->vsock.socket && strlen(cfg->vsock.socket) > 100) {
		snprintf(err, errlen, "vsock: socket path longer than 100 bytes (Unix socket limit, "
			 "with room for _<port>)");
		return -EINVAL;
	}
	return 0;
}

void config_free_devices(struct vmm_config *cfg)
{
	for (unsigned int i = 0; i < cfg->nr_disks; i++) {
		free(cfg->disks[i].path);
		free(cfg->disks[i].id);
		free(cfg->disks[i].serial);
	}
	cfg->nr_disks = 0;
	for (unsigned int i = 0; i < cfg->nr_nets; i++) {
		free(cfg->nets[i].tap);
		free(cfg->nets[i].id);
		/* An inherited TAP fd belongs to the config (devices use duplicates). */
		if (cfg->nets[i].fd >= 0)
			close(cfg->nets[i].fd);
	}
	cfg->nr_nets = 0;
	for (unsigned int i = 0; i < cfg->nr_fs; i++) {
		free(cfg->fs[i].tag);
		free(cfg->fs[i].socket);
		free(cfg->fs[i].id);
	}
	cfg->nr_fs = 0;
	free(cfg->vsock.socket);
	cfg->vsock.socket = NULL;
	free(cfg->vsock.id);
	cfg->vsock.id = NULL;
	cfg->vsock.cid = 0;
	free(cfg->rng_src);
	cfg->rng_src = NULL;
}
