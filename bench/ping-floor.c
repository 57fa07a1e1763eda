/*
 * ping-floor --api-socket PATH: the least a program can do to answer api-ping: bind and listen
 * on a Unix socket, then answer every connection "200 OK" without reading the request's
 * details. Built the ways kvmm is (dynamic, and static with -Dstatic), it is the floor this
 * machine allows for kvmm's exec -> first vmm.ping (bench/api-ping.c). Ends on SIGTERM.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static struct sockaddr_un sa = { .sun_family = AF_UNIX };

static void on_term(int sig)
{
	(void)sig;
	unlink(sa.sun_path);
	_exit(0);
}

int main(int argc, char **argv)
{
	static const char ok[] = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
	char buf[512];
	int s, c;

	if (argc != 3 || strcmp(argv[1], "--api-socket") ||
	    strlen(argv[2]) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "usage: ping-floor --api-socket PATH\n");
		return 2;
	}
	memcpy(sa.sun_path, argv[2], strlen(argv[2]) + 1);
	unlink(sa.sun_path);
	signal(SIGTERM, on_term);
	s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0 || bind(s, (struct sockaddr *)&sa, sizeof(sa)) || listen(s, 16)) {
		perror("ping-floor: socket");
		return 1;
	}
	for (;;) {
		c = accept4(s, NULL, NULL, SOCK_CLOEXEC);
		if (c < 0)
			continue;
		if (read(c, buf, sizeof(buf)) > 0 && write(c, ok, sizeof(ok) - 1) < 0)
			perror("ping-floor: write");
		close(c);
	}
}
