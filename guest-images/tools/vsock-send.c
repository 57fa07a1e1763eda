/*
 * vsock-send CID PORT BYTES: connects to AF_VSOCK CID:PORT (the host is CID 2), sends BYTES
 * pseudo-random bytes, reads them back (the peer echoes) and checks them. Prints
 * "vsock-send: ok BYTES" or what went wrong; exit 0 only when every byte came back right.
 * A static guest test tool (guest-images/tools) for guest-initiated vsock connections.
 */
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <linux/vm_sockets.h>	/* after sys/socket.h: it uses sa_family_t */
#include <unistd.h>

static uint8_t byte_at(uint64_t i)
{
	return (uint8_t)((i * 2654435761u) >> 13);
}

int main(int argc, char **argv)
{
	struct sockaddr_vm sa = { .svm_family = AF_VSOCK };
	uint64_t total, sent = 0, got = 0;
	static uint8_t buf[32768];
	int s;

	if (argc != 4) {
		fprintf(stderr, "usage: vsock-send CID PORT BYTES\n");
		return 2;
	}
	sa.svm_cid = atoi(argv[1]);
	sa.svm_port = atoi(argv[2]);
	total = strtoull(argv[3], NULL, 0);
	s = socket(AF_VSOCK, SOCK_STREAM, 0);
	if (s < 0 || connect(s, (struct sockaddr *)&sa, sizeof(sa))) {
		printf("vsock-send: connect %u:%u: %s\n", sa.svm_cid, sa.svm_port, strerror(errno));
		return 1;
	}
	while (got < total) {
		struct pollfd p = { .fd = s, .events = POLLIN | (sent < total ? POLLOUT : 0) };

		if (poll(&p, 1, 10000) <= 0) {
			printf("vsock-send: stalled at %llu/%llu\n", (unsigned long long)got,
			       (unsigned long long)total);
			return 1;
		}
		if ((p.revents & POLLOUT) && sent < total) {
			size_t n = total - sent < sizeof(buf) ? total - sent : sizeof(buf);
			ssize_t w;

			for (size_t i = 0; i < n; i++)
				buf[i] = byte_at(sent + i);
			w = send(s, buf, n, MSG_DONTWAIT);
			if (w > 0)
				sent += w;
		}
		if (p.revents & (POLLIN | POLLHUP)) {
			ssize_t r = recv(s, buf, sizeof(buf), MSG_DONTWAIT);

			if (r == 0) {
				printf("vsock-send: closed at %llu/%llu\n", (unsigned long long)got,
				       (unsigned long long)total);
				return 1;
			}
			for (ssize_t i = 0; i < r; i++, got++)
				if (buf[i] != byte_at(got)) {
					printf("vsock-send: byte %llu differs\n",
					       (unsigned long long)got);
					return 1;
				}
		}
	}
	printf("vsock-send: ok %llu\n", (unsigned long long)total);
	return 0;
}
