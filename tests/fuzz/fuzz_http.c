/*
 * libFuzzer target for the API socket's HTTP/1.1 parser (vmm/http_*.c).  The first 8 input bytes
 * steer the run, the rest is the byte stream a client sends:
 *	byte 0, bit 0: feed the parser directly (1) or send through a socketpair (0), where
 *		 bytes 1-7, bit 7, attach (bits 5-6) + 1 fds to the chunk;
 *	bytes 1-7, bits 0-4: the sizes of the chunks, cycled (bits + 1 bytes).
 * Every complete request is checked, answered (formatted) and released, an error is answered
 * too; the parser must never crash, read out of bounds, leak memory (ASan) or leak an fd (the
 * descriptor table must be the same after each input).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http.h"

#define CTL	8
#define FD_PROBE	512		/* above what one input can have open */

static int nullfd;

static void check(int cond)
{
	if (!cond)
		__builtin_trap();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	nullfd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	return nullfd < 0 ? -1 : 0;
}

static void fd_snapshot(uint8_t *open_fds)
{
	int i;

	for (i = 0; i < FD_PROBE; i++)
		open_fds[i] = fcntl(i, F_GETFD) >= 0;
}

static void answer(struct http_request *r)
{
	char body[256], out[HTTP_RESPONSE_HEAD_MAX + 256];
	struct http_response rsp = { .status = 404, .body = body, .close = !r->keep_alive };
	ssize_t n;
	int fd;

	check(r->path[0] == '/' && r->minor <= 1 && r->nr_headers <= HTTP_MAX_HEADERS);
	check(r->body_len <= HTTP_MAX_BODY && r->body[r->body_len] == '\0');
	check(r->nr_fds <= HTTP_MAX_FDS);
	if (r->nr_headers)
		check(http_request_header(r, r->headers[0].name) == r->headers[0].value);
	if (r->nr_fds && (r->body_len & 1)) {
		fd = http_request_take_fd(r, r->nr_fds - 1);
		check(fd >= 0 && http_request_take_fd(r, r->nr_fds - 1) == -1);
		close(fd);
	}
	n = http_json_error(body, sizeof(body), r->query ? r->query : r->path);
	check(n > 0 && (size_t)n == strlen(body));
	rsp.body_len = n;
	rsp.head_only = r->method == HTTP_HEAD;
	check(http_response_format(&rsp, out, sizeof(out)) > 0);
	http_request_release(r);
}

/* Hands out every complete request; false once the connection would be closed. */
static int drain(struct http_conn *c)
{
	char body[128], out[HTTP_RESPONSE_HEAD_MAX + 128];
	struct http_response rsp = { .body = body, .close = true };
	struct http_request *r;
	const char *reason;
	ssize_t n;
	int ret;

	while ((ret = http_conn_next(c, &r)) > 0)
		answer(r);
	http_conn_want_continue(c);
	if (!ret)
		return 1;
	check(ret == -EBADMSG && !r);
	rsp.status = http_conn_error(c, &reason);
	n = http_json_error(body, sizeof(body), reason);
	check(n > 0);
	rsp.body_len = n;
	check(http_response_format(&rsp, out, sizeof(out)) > n);
	return 0;
}

static void send_chunk(int sock, const uint8_t *p, size_t n, unsigned int nfd)
{
	union {
		char b[CMSG_SPACE(sizeof(int) * 4)];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = { .iov_base = (void *)p, .iov_len = n };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *cm;
	unsigned int i;

	if (nfd) {
		mh.msg_control = ctl.b;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfd);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int) * nfd);
		for (i = 0; i < nfd; i++)
			memcpy(CMSG_DATA(cm) + i * sizeof(int), &nullfd, sizeof(int));
	}
	check(sendmsg(sock, &mh, MSG_DONTWAIT) == (ssize_t)n);
}

/* Receives everything queued on SOCK; false once the connection would be closed. */
static int pump(struct http_conn *c, int sock)
{
	ssize_t n;

	for (;;) {
		n = http_conn_recv(c, sock);
		if (n == -EAGAIN)
			return 1;
		if (n == 0 || n == -ENOBUFS)
			return 0;
		if (n < 0) {
			check(n == -EBADMSG);	/* over HTTP_MAX_FDS pending */
			drain(c);
			return 0;
		}
		if (!drain(c))
			return 0;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http_conn c;
	size_t off, len, left, k = 0;
	const uint8_t *p;
	uint8_t ctl, before[FD_PROBE], after[FD_PROBE];
	int sv[2] = { -1, -1 }, live = 1;
	ssize_t n;

	if (size < CTL)
		return 0;
	http_conn_init(&c);
	if (!(data[0] & 1)) {
		fd_snapshot(before);
		check(!socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
	}
	for (off = CTL; live && off < size; off += len, k++) {
		ctl = data[1 + k % (CTL - 1)];
		len = (ctl & 31) + 1;
		if (len > size - off)
			len = size - off;
		if (sv[0] >= 0) {
			send_chunk(sv[0], data + off, len, ctl & 0x80 ? ((ctl >> 5) & 3) + 1 : 0);
			live = pump(&c, sv[1]);
			continue;
		}
		for (p = data + off, left = len; live && left; p += n, left -= n) {
			n = http_conn_feed(&c, p, left);
			live = n > 0 && drain(&c);	/* 0: full of what follows a close */
		}
	}
	if (sv[0] >= 0) {
		close(sv[0]);
		if (live)
			pump(&c, sv[1]);
		close(sv[1]);
	}
	http_conn_destroy(&c);
	if (sv[0] >= 0) {
		fd_snapshot(after);
		check(!memcmp(before, after, sizeof(before)));
	}
	return 0;
}
