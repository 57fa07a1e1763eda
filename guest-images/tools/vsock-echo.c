/*
 * vsock-echo PORT: listens on AF_VSOCK port PORT (any CID) and echoes every connection's
 * bytes back until the peer closes, one child process per connection. A static guest test tool
 * (guest-images/tools) for the virtio-vsock lab scenarios; prints "vsock-echo: listening".
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <linux/vm_sockets.h>	/* after sys/socket.h: it uses sa_family_t */
#include <unistd.h>

static void echo(int c)
{
	static char buf[65536];
	ssize_t n, w, off;

	while ((n = read(c, buf, sizeof(buf))) > 0) {
		for (off = 0; off < n; off += w) {
			w = write(c, buf + off, n - off);
			if (w <= 0)
				return;
		}
	}
}

int main(int argc, char **argv)
{
	struct sockaddr_vm sa = { .svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_ANY };
	int s, c;

	if (argc != 2) {
		fprintf(stderr, "usage: vsock-echo PORT\n");
		return 2;
	}
	signal(SIGCHLD, SIG_IGN);	/* no zombies */
	sa.svm_port = atoi(argv[1]);
	s = socket(AF_VSOCK, SOCK_STREAM, 0);
	if (s < 0 || bind(s, (struct sockaddr *)&sa, sizeof(sa)) || listen(s, 64)) {
		fprintf(stderr, "vsock-echo: %s\n", strerror(errno));
		return 1;
	}
	printf("vsock-echo: listening on port %u\n", sa.svm_port);
	fflush(stdout);
	for (;;) {
		c = accept(s, NULL, NULL);
		if (c < 0)
			continue;
		if (fork() == 0) {
			close(s);
			echo(c);
			_exit(0);
		}
		close(c);
	}
}
