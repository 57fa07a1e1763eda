/*
 * tap-exec [-u UID -g GID [-G GID[,GID...]]] IFNAME|- FD|- CMD [ARGS...]: opens TAP interface
 * IFNAME (IFF_TAP | IFF_NO_PI | IFF_VNET_HDR), makes it file descriptor FD, and execs CMD with
 * it inherited: the way Kata's runtime hands kvmm its TAPs (`--net fd=FD`). IFNAME `-` opens
 * no TAP (FD is then ignored).
 * With -u and -g it then drops privileges as a launcher that runs the VMM under a configured
 * uid/gid does, after the TAP is open and before the exec: setgroups(the -G list, or none),
 * setgid(GID), setuid(UID), and makes sure that root cannot be regained. The TAP fd stays
 * usable: the interface was attached while still root. The lab's non-root scenarios
 * (scenarios.d/nonroot.sh) use it. A lab helper (tests/lab/), not part of kvmm.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define MAX_GROUPS 32

static void usage(void)
{
	fprintf(stderr, "usage: tap-exec [-u UID -g GID [-G GID[,GID...]]] IFNAME|- FD|- CMD [ARGS...]\n");
	exit(2);
}

static long long id_arg(const char *what, const char *s)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || end == s || *end || v < 0 || v >= 0xffffffffLL) {
		fprintf(stderr, "tap-exec: bad %s '%s'\n", what, s);
		exit(2);
	}
	return v;
}

/* Parses "G1,G2,..." (or "" for none) into LIST; returns the count. */
static int groups_arg(const char *s, gid_t *list)
{
	char buf[512], *tok, *save;
	int n = 0;

	snprintf(buf, sizeof(buf), "%s", s);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (n == MAX_GROUPS) {
			fprintf(stderr, "tap-exec: more than %d supplementary groups\n", MAX_GROUPS);
			exit(2);
		}
		list[n++] = (gid_t)id_arg("supplementary gid", tok);
	}
	return n;
}

static int open_tap(const char *name, int want)
{
	struct ifreq ifr;
	int fd;

	fd = open("/dev/net/tun", O_RDWR);
	if (fd < 0) {
		fprintf(stderr, "tap-exec: /dev/net/tun: %s\n", strerror(errno));
		return -1;
	}
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		fprintf(stderr, "tap-exec: TUNSETIFF %s: %s\n", name, strerror(errno));
		return -1;
	}
	if (fd != want && (dup2(fd, want) < 0 || close(fd) < 0)) {
		fprintf(stderr, "tap-exec: dup2: %s\n", strerror(errno));
		return -1;
	}
	return 0;
}

/* setgroups, setgid, setuid (in that order: each later one takes the right to do the earlier
 * ones away), then checks that every uid and gid is the new one and root is out of reach. */
static int drop_privileges(uid_t uid, gid_t gid, const gid_t *groups, int ngroups)
{
	uid_t ru, eu, su;
	gid_t rg, eg, sg;

	if (setgroups(ngroups, groups)) {
		fprintf(stderr, "tap-exec: setgroups: %s\n", strerror(errno));
		return -1;
	}
	if (setgid(gid)) {
		fprintf(stderr, "tap-exec: setgid %u: %s\n", (unsigned)gid, strerror(errno));
		return -1;
	}
	if (setuid(uid)) {
		fprintf(stderr, "tap-exec: setuid %u: %s\n", (unsigned)uid, strerror(errno));
		return -1;
	}
	if (getresuid(&ru, &eu, &su) || getresgid(&rg, &eg, &sg) || ru != uid || eu != uid ||
	    su != uid || rg != gid || eg != gid || sg != gid) {
		fprintf(stderr, "tap-exec: the ids did not all change\n");
		return -1;
	}
	if (uid != 0 && (setuid(0) == 0 || seteuid(0) == 0)) {
		fprintf(stderr, "tap-exec: root could be regained after setuid(%u)\n", (unsigned)uid);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	gid_t groups[MAX_GROUPS];
	long long uid = -1, gid = -1;
	int ngroups = 0, have_groups = 0, opt;

	while ((opt = getopt(argc, argv, "+u:g:G:")) != -1) {
		switch (opt) {
		case 'u': uid = id_arg("uid", optarg); break;
		case 'g': gid = id_arg("gid", optarg); break;
		case 'G': ngroups = groups_arg(optarg, groups); have_groups = 1; break;
		default: usage();
		}
	}
	if (argc - optind < 3 || (uid < 0) != (gid < 0) || (have_groups && uid < 0))
		usage();
	if (strcmp(argv[optind], "-") && open_tap(argv[optind], atoi(argv[optind + 1])))
		return 1;
	if (uid >= 0 && drop_privileges((uid_t)uid, (gid_t)gid, groups, ngroups))
		return 1;
	execvp(argv[optind + 2], argv + optind + 2);
	fprintf(stderr, "tap-exec: %s: %s\n", argv[optind + 2], strerror(errno));
	return 127;
}
