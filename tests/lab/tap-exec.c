/*
 * tap-exec IFNAME FD CMD [ARGS...]: opens TAP interface IFNAME (IFF_TAP | IFF_NO_PI |
 * IFF_VNET_HDR), makes it file descriptor FD, and execs CMD with it inherited: the way Kata's
 * runtime hands kvmm its TAPs (`--net fd=FD`). A lab helper (tests/lab/), not part of kvmm.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct ifreq ifr;
	int fd, want;

	if (argc < 4) {
		fprintf(stderr, "usage: tap-exec IFNAME FD CMD [ARGS...]\n");
		return 2;
	}
	want = atoi(argv[2]);
	fd = open("/dev/net/tun", O_RDWR);
	if (fd < 0) {
		fprintf(stderr, "tap-exec: /dev/net/tun: %s\n", strerror(errno));
		return 1;
	}
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", argv[1]);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		fprintf(stderr, "tap-exec: TUNSETIFF %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	if (fd != want && (dup2(fd, want) < 0 || close(fd) < 0)) {
		fprintf(stderr, "tap-exec: dup2: %s\n", strerror(errno));
		return 1;
	}
	execvp(argv[3], argv + 3);
	fprintf(stderr, "tap-exec: %s: %s\n", argv[3], strerror(errno));
	return 127;
}
