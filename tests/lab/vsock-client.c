/*
 * vsock-client: the host side of the lab's hybrid-vsock scenarios, talking to kvmm's vsock
 * Unix socket the way Kata's runtimes do ("CONNECT <port>\n", then "OK <port>\n"):
 *   echo SOCK PORT NCONN BYTES [lower] [stall]
 *        NCONN connections at once, each sends BYTES and checks the guest's echo; "lower"
 *        writes "connect <port>", "stall" adds a connection that sends but never reads
 *   refused SOCK PORT     a CONNECT to a port nothing listens on must be closed, never OK
 *   latency SOCK PORT N   N sequential handshakes plus a 1-byte round trip: median in us
 *   serve PATH SECS       an echo server on the Unix socket PATH (guest-initiated connections)
 * Prints one "vsock-client: ..." result line; exit 0 on success. A lab helper, not kvmm.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define MAXC 64

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static uint8_t byte_at(unsigned int conn, uint64_t i)
{
	return (uint8_t)(((i + conn * 7919u) * 2654435761u) >> 13);
}

static int unix_connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (s < 0 || connect(s, (struct sockaddr *)&sa, sizeof(sa))) {
		if (s >= 0)
			close(s);
		return -1;
	}
	return s;
}

/* The handshake: returns the connected fd or -1, with the reason in WHY. */
static int handshake(const char *sock, unsigned int port, int lower, char *why, size_t wl)
{
	char line[64];
	size_t n = 0;
	int s = unix_connect(sock);

	if (s < 0) {
		snprintf(why, wl, "connect %s: %s", sock, strerror(errno));
		return -1;
	}
	dprintf(s, lower ? "connect %u\n" : "CONNECT %u\n", port);
	while (n < sizeof(line) - 1) {
		struct pollfd p = { .fd = s, .events = POLLIN };

		if (poll(&p, 1, 10000) <= 0 || read(s, line + n, 1) != 1)
			break;
		if (line[n++] == '\n')
			break;
	}
	line[n] = '\0';
	if (strncasecmp(line, "OK ", 3)) {
		snprintf(why, wl, "handshake answer '%.*s'", (int)strcspn(line, "\n"), line);
		close(s);
		return -1;
	}
	fcntl(s, F_SETFL, O_NONBLOCK);
	return s;
}

static int do_echo(const char *sock, unsigned int port, int nconn, uint64_t bytes, int lower,
		   int stall)
{
	struct pollfd p[MAXC + 1];
	uint64_t sent[MAXC] = { 0 }, got[MAXC] = { 0 };
	static uint8_t buf[65536];
	char why[160];
	int done = 0, staller = -1;
	double t0 = now_ms();

	for (int i = 0; i < nconn; i++) {
		p[i].fd = handshake(sock, port, lower, why, sizeof(why));
		if (p[i].fd < 0) {
			printf("vsock-client: connection %d: %s\n", i, why);
			return 1;
		}
	}
	if (stall) {
		staller = handshake(sock, port, lower, why, sizeof(why));
		if (staller < 0) {
			printf("vsock-client: staller: %s\n", why);
			return 1;
		}
		/* Fills the guest's buffers towards it and never reads the echo. */
		memset(buf, 's', sizeof(buf));
		for (int k = 0; k < 64 && send(staller, buf, sizeof(buf), 0) > 0; k++)
			;
	}
	while (done < nconn) {
		for (int i = 0; i < nconn; i++)
			p[i].events = (got[i] < bytes ? POLLIN : 0) | (sent[i] < bytes ? POLLOUT : 0);
		if (poll(p, nconn, 20000) <= 0) {
			printf("vsock-client: stalled with %d of %d done\n", done, nconn);
			return 1;
		}
		for (int i = 0; i < nconn; i++) {
			if ((p[i].revents & POLLOUT) && sent[i] < bytes) {
				size_t n = bytes - sent[i] < sizeof(buf) ? bytes - sent[i] : sizeof(buf);
				ssize_t w;

				for (size_t k = 0; k < n; k++)
					buf[k] = byte_at(i, sent[i] + k);
				w = send(p[i].fd, buf, n, MSG_NOSIGNAL);
				if (w > 0)
					sent[i] += w;
			}
			if ((p[i].revents & (POLLIN | POLLHUP)) && got[i] < bytes) {
				ssize_t r = recv(p[i].fd, buf, sizeof(buf), 0);

				if (r == 0) {
					printf("vsock-client: connection %d closed at %llu\n", i,
					       (unsigned long long)got[i]);
					return 1;
				}
				for (ssize_t k = 0; k < r; k++, got[i]++)
					if (buf[k] != byte_at(i, got[i])) {
						printf("vsock-client: connection %d: byte %llu differs\n",
						       i, (unsigned long long)got[i]);
						return 1;
					}
				if (got[i] == bytes)
					done++;
			}
		}
	}
	double ms = now_ms() - t0;

	printf("vsock-client: ok %d x %llu bytes echoed in %.0f ms (%.1f MB/s)%s\n", nconn,
	       (unsigned long long)bytes, ms, nconn * (double)bytes / 1048576 / (ms / 1000),
	       stall ? " beside a stalled reader" : "");
	return 0;
}

static int do_refused(const char *sock, unsigned int port)
{
	char why[160];
	double t0 = now_ms();
	int s = handshake(sock, port, 0, why, sizeof(why));

	if (s >= 0) {
		printf("vsock-client: port %u answered OK, want a close\n", port);
		return 1;
	}
	printf("vsock-client: refused in %.0f ms (%s)\n", now_ms() - t0, why);
	return now_ms() - t0 < 8000 ? 0 : 1;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static int do_latency(const char *sock, unsigned int port, int n)
{
	double t[256];
	char why[160], c = 'x';

	if (n > 256)
		n = 256;
	for (int i = 0; i < n; i++) {
		double t0 = now_ms();
		int s = handshake(sock, port, 0, why, sizeof(why));
		struct pollfd p = { .fd = s, .events = POLLIN };

		if (s < 0 || send(s, &c, 1, 0) != 1 || poll(&p, 1, 5000) != 1 ||
		    recv(s, &c, 1, 0) != 1) {
			printf("vsock-client: latency run %d: %s\n", i, s < 0 ? why : "no echo");
			return 1;
		}
		t[i] = (now_ms() - t0) * 1000;
		close(s);
	}
	qsort(t, n, sizeof(t[0]), cmp_double);
	printf("vsock-client: connect+echo round trip median %.0f us (min %.0f, max %.0f, %d runs)\n",
	       t[n / 2], t[0], t[n - 1], n);
	return 0;
}

static int do_serve(const char *path, int secs)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	static char buf[65536];
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), c;
	double end = now_ms() + secs * 1000.0;
	struct stat own, st;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	unlink(path);
	if (s < 0 || bind(s, (struct sockaddr *)&sa, sizeof(sa)) || listen(s, 16)) {
		printf("vsock-client: serve %s: %s\n", path, strerror(errno));
		return 1;
	}
	/* The file bind() made (not the socket's own inode, which fstat() would give). */
	if (stat(path, &own)) {
		printf("vsock-client: serve %s: %s\n", path, strerror(errno));
		return 1;
	}
	while (now_ms() < end) {
		struct pollfd p = { .fd = s, .events = POLLIN };
		ssize_t n;

		if (poll(&p, 1, 500) != 1 || (c = accept(s, NULL, NULL)) < 0)
			continue;
		while ((n = read(c, buf, sizeof(buf))) > 0)
			if (write(c, buf, n) != n)
				break;
		close(c);
	}
	/* Only our own socket: a later server may have bound PATH anew meanwhile. */
	if (!stat(path, &st) && st.st_ino == own.st_ino && st.st_dev == own.st_dev)
		unlink(path);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 6 && !strcmp(argv[1], "echo")) {
		int lower = 0, stall = 0, n = atoi(argv[4]);

		for (int i = 6; i < argc; i++) {
			lower |= !strcmp(argv[i], "lower");
			stall |= !strcmp(argv[i], "stall");
		}
		if (n < 1 || n > MAXC)
			return 2;
		return do_echo(argv[2], atoi(argv[3]), n, strtoull(argv[5], NULL, 0), lower, stall);
	}
	if (argc == 4 && !strcmp(argv[1], "refused"))
		return do_refused(argv[2], atoi(argv[3]));
	if (argc == 5 && !strcmp(argv[1], "latency"))
		return do_latency(argv[2], atoi(argv[3]), atoi(argv[4]));
	if (argc == 4 && !strcmp(argv[1], "serve"))
		return do_serve(argv[2], atoi(argv[3]));
	fprintf(stderr, "usage: see the comment at the top of tests/lab/vsock-client.c\n");
	return 2;
}
