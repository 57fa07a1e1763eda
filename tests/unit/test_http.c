/*
 * Unit tests for the API socket's HTTP/1.1 layer (vmm/http_*.c): requests fed whole, pipelined,
 * byte by byte and split at every position; each malformed request gets its status; SCM_RIGHTS
 * fds sent over a socketpair land on the right request and are never leaked (/proc/self/fd is
 * counted); responses and JSON error bodies are compared byte for byte.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "http.h"

static struct http_conn c;
static struct http_request *req;

static void setup(void)
{
	http_conn_init(&c);
	req = NULL;
}

static void teardown(void)
{
	http_request_release(req);
	http_conn_destroy(&c);
}

TestSuite(http, .init = setup, .fini = teardown);

static void reset(void)
{
	http_request_release(req);
	req = NULL;
	http_conn_destroy(&c);
	http_conn_init(&c);
}

/* Feeds all N bytes; the buffer takes them in several steps when it grows. */
static void feed(const void *p, size_t n)
{
	ssize_t k;

	do {
		k = http_conn_feed(&c, p, n);
		cr_assert(k > 0 || (k == 0 && n == 0), "feed: %zd", k);
		p = (const char *)p + k;
		n -= k;
	} while (n);
}

static void feed_str(const char *s)
{
	feed(s, strlen(s));
}

/* Returns the next request, which must be complete; the previous one is released. */
static struct http_request *next_req(void)
{
	http_request_release(req);
	req = NULL;
	cr_assert_eq(http_conn_next(&c, &req), 1, "error %d: %s", c.status, c.reason);
	cr_assert_not_null(req);
	return req;
}

static void assert_pending(void)
{
	struct http_request *r = (void *)1;

	cr_assert_eq(http_conn_next(&c, &r), 0, "error %d: %s", c.status, c.reason);
	cr_assert_null(r);
}

/* Feeds S to a fresh connection and checks it is refused with STATUS and a reason. */
static void assert_refused_n(const char *s, size_t n, int status)
{
	const char *reason;
	struct http_request *r = (void *)1;

	reset();
	feed(s, n);
	cr_assert_eq(http_conn_next(&c, &r), -EBADMSG, "accepted: %.*s", (int)n, s);
	cr_assert_null(r);
	cr_assert_eq(http_conn_error(&c, &reason), status, "%s: got %d (%s)", s, c.status,
		     reason);
	cr_assert(reason && *reason);
	/* The error state is terminal. */
	cr_assert_eq(http_conn_next(&c, &r), -EBADMSG);
	cr_assert_eq(http_conn_feed(&c, "GET / HTTP/1.1\r\n\r\n", 18), -EBADMSG);
}

static void assert_refused(const char *s, int status)
{
	assert_refused_n(s, strlen(s), status);
}

static int fd_count(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	cr_assert_not_null(d);
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

Test(http, get)
{
	feed_str("GET /api/v1/vm.info?x=1&y HTTP/1.1\r\nHost: localhost\r\n"
		 "Accept:   application/json \t\r\n\r\n");
	next_req();
	cr_assert_eq(req->method, HTTP_GET);
	cr_assert_str_eq(req->method_name, "GET");
	cr_assert_str_eq(req->path, "/api/v1/vm.info");
	cr_assert_str_eq(req->query, "x=1&y");
	cr_assert_eq(req->minor, 1);
	cr_assert(req->keep_alive);
	cr_assert_not(req->expect_continue);
	cr_assert_eq(req->nr_headers, 2);
	cr_assert_str_eq(http_request_header(req, "HOST"), "localhost");
	cr_assert_str_eq(http_request_header(req, "accept"), "application/json");
	cr_assert_null(http_request_header(req, "content-type"));
	cr_assert_null(req->content_type);
	cr_assert_eq(req->body_len, 0);
	cr_assert_str_eq(req->body, "");
	cr_assert_eq(req->nr_fds, 0);
	assert_pending();
}

Test(http, put_with_body)
{
	static const char body[] = "{\"cpus\":{\"boot_vcpus\":1}}";
	char s[256];

	snprintf(s, sizeof(s), "PUT /api/v1/vm.create HTTP/1.1\r\ncontent-TYPE: application/json"
		 "\r\nContent-Length: %zu\r\n\r\n%s", strlen(body), body);
	feed_str(s);
	next_req();
	cr_assert_eq(req->method, HTTP_PUT);
	cr_assert_str_eq(req->path, "/api/v1/vm.create");
	cr_assert_null(req->query);
	cr_assert_str_eq(req->content_type, "application/json");
	cr_assert_eq(req->body_len, strlen(body));
	cr_assert_str_eq(req->body, body);
	assert_pending();
}

Test(http, methods)
{
	static const struct { const char *name; enum http_method m; } t[] = {
		{ "GET", HTTP_GET }, { "PUT", HTTP_PUT }, { "PATCH", HTTP_PATCH },
		{ "POST", HTTP_POST }, { "DELETE", HTTP_DELETE }, { "HEAD", HTTP_HEAD },
	};
	char s[64];
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		snprintf(s, sizeof(s), "%s /x HTTP/1.1\r\n\r\n", t[i].name);
		feed_str(s);
		cr_assert_eq(next_req()->method, t[i].m, "%s", t[i].name);
	}
}

static const char pipelined[] =
	"GET /api/v1/vmm.ping HTTP/1.1\r\nHost: localhost\r\n\r\n"
	"PUT /api/v1/vm.boot HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello"
	"DELETE /api/v1/vm.delete HTTP/1.1\r\nConnection: close\r\nContent-Length: 0\r\n\r\n";

static void check_pipelined(void)
{
	cr_assert_str_eq(next_req()->path, "/api/v1/vmm.ping");
	cr_assert(req->keep_alive);
	cr_assert_str_eq(next_req()->path, "/api/v1/vm.boot");
	cr_assert_str_eq(req->body, "hello");
	cr_assert_eq(next_req()->method, HTTP_DELETE);
	cr_assert_not(req->keep_alive);
	assert_pending();
}

Test(http, pipelined)
{
	feed_str(pipelined);
	check_pipelined();
}

Test(http, byte_by_byte)
{
	const char *s = "PUT /a HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc";
	size_t i, n = strlen(s);
	unsigned int got = 0;

	for (i = 0; i < strlen(pipelined); i++) {
		struct http_request *r;

		feed(pipelined + i, 1);
		while (http_conn_next(&c, &r) == 1) {
			got++;
			http_request_release(r);
		}
	}
	cr_assert_eq(got, 3);
	reset();
	for (i = 0; i < n; i++) {
		feed(s + i, 1);
		if (i < n - 1)
			assert_pending();
	}
	cr_assert_str_eq(next_req()->body, "abc");
}

Test(http, split_everywhere)
{
	size_t k, n = strlen(pipelined);

	for (k = 0; k <= n; k++) {
		http_conn_destroy(&c);
		http_conn_init(&c);
		feed(pipelined, k);
		/* Nothing complete yet before the end of the first request (50 bytes). */
		if (k < 50)
			assert_pending();
		feed(pipelined + k, n - k);
		check_pipelined();
	}
}

Test(http, no_content_length)
{
	feed_str("PUT /api/v1/vm.shutdown HTTP/1.1\r\nHost: localhost\r\n\r\n"
		 "\r\n\r\nGET /next HTTP/1.1\r\n\r\n");
	cr_assert_eq(next_req()->method, HTTP_PUT);
	cr_assert_eq(req->body_len, 0);
	cr_assert_str_eq(req->body, "");
	/* Empty lines between requests are skipped. */
	cr_assert_str_eq(next_req()->path, "/next");
}

Test(http, body_too_big)
{
	/* The limit itself is fine: the request just waits for its body. */
	feed_str("PUT /a HTTP/1.1\r\nContent-Length: 1048576\r\n\r\n");
	assert_pending();
	assert_refused("PUT /a HTTP/1.1\r\nContent-Length: 1048577\r\n\r\n", 413);
	assert_refused("PUT /a HTTP/1.1\r\nContent-Length: 99999999999\r\n\r\n", 413);
}

Test(http, big_body)
{
	size_t n = HTTP_MAX_BODY, i;
	char *b = malloc(n);
	ssize_t k;

	cr_assert_not_null(b);
	for (i = 0; i < n; i++)
		b[i] = 'a' + i % 26;
	feed_str("PUT /a HTTP/1.1\r\nContent-Length: 1048576\r\n\r\n");
	for (i = 0; i < n; i += k) {
		k = http_conn_feed(&c, b + i, n - i);
		cr_assert_gt(k, 0);
		if (i + k < n)
			assert_pending();
	}
	cr_assert_eq(next_req()->body_len, n);
	cr_assert_eq(memcmp(req->body, b, n), 0);
	feed_str("GET /b HTTP/1.1\r\n\r\n");
	cr_assert_str_eq(next_req()->path, "/b");
	free(b);
}

Test(http, bad_content_length)
{
	static const char *v[] = { "abc", "-1", "+5", "", "1 2", "0x10", "5,5",
				   "99999999999999999999999", "18446744073709551616" };
	char s[128];
	size_t i;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		snprintf(s, sizeof(s), "PUT /a HTTP/1.1\r\nContent-Length: %s\r\n\r\n", v[i]);
		assert_refused(s, 400);
		cr_assert(strstr(c.reason, "Content-Length"), "%s", c.reason);
	}
	assert_refused("PUT /a HTTP/1.1\r\nContent-Length: 5\r\ncontent-length: 6\r\n\r\n", 400);
	cr_assert_str_eq(c.reason, "conflicting Content-Length headers");
	/* The same value twice is accepted. */
	reset();
	feed_str("PUT /a HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 02\r\n\r\nok");
	cr_assert_str_eq(next_req()->body, "ok");
}

Test(http, transfer_encoding)
{
	assert_refused("PUT /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
		       "5\r\nhello\r\n0\r\n\r\n", 501);
	assert_refused("PUT /a HTTP/1.1\r\nContent-Length: 3\r\n"
		       "transfer-encoding: identity\r\n\r\n", 501);
}

Test(http, version)
{
	assert_refused("GET / HTTP/2.0\r\n\r\n", 505);
	assert_refused("GET / HTTP/1.2\r\n\r\n", 505);
	assert_refused("GET / HTTP/0.9\r\n\r\n", 505);
	assert_refused("GET / HTTP/1.1x\r\n\r\n", 400);
	assert_refused("GET / http/1.1\r\n\r\n", 400);
	assert_refused("GET / HTTP/11\r\n\r\n", 400);
	/* HTTP/1.0 closes unless asked not to; HTTP/1.1 keeps alive unless asked to close. */
	reset();
	feed_str("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\nGET /2 HTTP/1.0\r\n\r\n"
		 "GET /3 HTTP/1.1\r\n\r\n");
	cr_assert(next_req()->keep_alive);
	cr_assert_eq(req->minor, 0);
	cr_assert_not(next_req()->keep_alive);
	assert_pending();	/* no request after one that closes the connection */
	reset();
	feed_str("GET / HTTP/1.1\r\nConnection: foo, CLOSE\r\n\r\n");
	cr_assert_not(next_req()->keep_alive);
}

Test(http, garbage_request_line)
{
	assert_refused("hello\r\n\r\n", 400);
	assert_refused("GET\r\n\r\n", 400);
	assert_refused("GET /\r\n\r\n", 400);
	assert_refused("GET  / HTTP/1.1\r\n\r\n", 400);
	assert_refused("GET / HTTP/1.1 \r\n\r\n", 400);
	assert_refused(" GET / HTTP/1.1\r\n\r\n", 400);
	assert_refused("GET http://localhost/ HTTP/1.1\r\n\r\n", 400);
	assert_refused("GET * HTTP/1.1\r\n\r\n", 400);
	assert_refused("GE(T / HTTP/1.1\r\n\r\n", 400);
	assert_refused("GET /\x80 HTTP/1.1\r\n\r\n", 400);
	assert_refused("GET /a\tb HTTP/1.1\r\n\r\n", 400);
	assert_refused_n("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n", 15, 400);
}

Test(http, head_too_long)
{
	char *s = malloc(HTTP_MAX_HEAD + 64);
	int n;

	cr_assert_not_null(s);
	/* Exactly HTTP_MAX_HEAD bytes of head is accepted. */
	n = sprintf(s, "GET / HTTP/1.1\r\nX: ");
	memset(s + n, 'a', HTTP_MAX_HEAD - n - 4);
	memcpy(s + HTTP_MAX_HEAD - 4, "\r\n\r\n", 5);
	feed_str(s);
	cr_assert_eq(strlen(next_req()->headers[0].value), HTTP_MAX_HEAD - n - 4);
	/* One more byte is refused, even before the end of the head arrives. */
	memset(s + HTTP_MAX_HEAD - 4, 'a', 4);
	assert_refused_n(s, HTTP_MAX_HEAD, 431);
	free(s);
}

Test(http, too_many_headers)
{
	char s[4096];
	int i, n;

	n = sprintf(s, "GET / HTTP/1.1\r\n");
	for (i = 0; i < HTTP_MAX_HEADERS; i++)
		n += sprintf(s + n, "X-%d: %d\r\n", i, i);
	strcpy(s + n, "\r\n");
	feed_str(s);
	cr_assert_eq(next_req()->nr_headers, HTTP_MAX_HEADERS);
	cr_assert_str_eq(http_request_header(req, "x-63"), "63");
	strcpy(s + n, "X-64: 64\r\n\r\n");
	assert_refused(s, 431);
}

Test(http, bad_headers)
{
	assert_refused("GET / HTTP/1.1\r\nHost localhost\r\n\r\n", 400);
	cr_assert_str_eq(c.reason, "header line without a colon");
	assert_refused("GET / HTTP/1.1\r\nHost : localhost\r\n\r\n", 400);
	assert_refused("GET / HTTP/1.1\r\n: localhost\r\n\r\n", 400);
	assert_refused("GET / HTTP/1.1\r\nHo(st: localhost\r\n\r\n", 400);
	assert_refused("GET / HTTP/1.1\r\nX-A: a\x01" "b\r\n\r\n", 400);
	assert_refused("GET / HTTP/1.1\r\nX-A: a\x7f\r\n\r\n", 400);
}

Test(http, obs_fold)
{
	assert_refused("GET / HTTP/1.1\r\nX-A: a\r\n b\r\n\r\n", 400);
	cr_assert_str_eq(c.reason, "obsolete header line folding");
	assert_refused("GET / HTTP/1.1\r\nX-A: a\r\n\tb\r\n\r\n", 400);
}

Test(http, nul_cr_lf)
{
	assert_refused_n("GET /\0 HTTP/1.1\r\n\r\n", 19, 400);
	assert_refused_n("GET / HTTP/1.1\r\nX-A: a\0b\r\n\r\n", 29, 400);
	assert_refused_n("GET / HTTP/1.1\r\nX\0: a\r\n\r\n", 26, 400);
	assert_refused("GET / HTTP/1.1\nHost: x\n\n", 400);
	cr_assert_str_eq(c.reason, "bare LF in the request head");
	assert_refused("GET / HTTP/1.1\r\nHost: x\n\r\n", 400);
	assert_refused("GET / HTTP/1.1\r\nX: a\rb\r\n\r\n", 400);
	assert_refused("GET / HTTP/1.1\r\n\rX: a\r\n\r\n", 400);
	assert_refused("\nGET / HTTP/1.1\r\n\r\n", 400);
}

Test(http, unknown_method)
{
	assert_refused("BREW /pot HTTP/1.1\r\n\r\n", 501);
	cr_assert_str_eq(c.reason, "method BREW is not implemented");
	assert_refused("get / HTTP/1.1\r\n\r\n", 501);
	assert_refused("OPTIONS * HTTP/1.1\r\n\r\n", 400);
}

Test(http, expect_continue)
{
	feed_str("PUT /a HTTP/1.1\r\nExpect: 100-Continue\r\nContent-Length: 2\r\n\r\n");
	cr_assert_not(http_conn_want_continue(&c));
	assert_pending();
	cr_assert(http_conn_want_continue(&c));
	cr_assert_not(http_conn_want_continue(&c));
	feed_str("okPUT /b HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\nx");
	cr_assert(next_req()->expect_continue);
	cr_assert_str_eq(req->body, "ok");
	/* Its body already arrived: no 100 Continue. */
	cr_assert_str_eq(next_req()->body, "x");
	cr_assert_not(http_conn_want_continue(&c));
	/* HTTP/1.0 clients cannot expect it. */
	reset();
	feed_str("PUT /c HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n");
	assert_pending();
	cr_assert_not(http_conn_want_continue(&c));
}

static void send_fds(int sock, const char *s, const int *fds, unsigned int n)
{
	union {
		char b[CMSG_SPACE(sizeof(int) * 64)];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = { .iov_base = (void *)s, .iov_len = strlen(s) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *cm;

	cr_assert_leq(n, 64);
	if (n) {
		mh.msg_control = ctl.b;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * n);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int) * n);
		memcpy(CMSG_DATA(cm), fds, sizeof(int) * n);
	}
	cr_assert_eq(sendmsg(sock, &mh, 0), (ssize_t)strlen(s));
}

/* Receives until the socket is drained. */
static void recv_all(int sock)
{
	ssize_t n;

	while ((n = http_conn_recv(&c, sock)) > 0)
		;
	cr_assert_eq(n, -EAGAIN, "recv: %zd", n);
}

static bool same_file(int a, int b)
{
	struct stat sa, sb;

	cr_assert_eq(fstat(a, &sa), 0);
	cr_assert_eq(fstat(b, &sb), 0);
	return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

static int sv[2], tfd[4];

static void fd_setup(void)
{
	int i;

	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	for (i = 0; i < 4; i++) {
		tfd[i] = i & 1 ? open("/dev/null", O_RDONLY | O_CLOEXEC) : eventfd(0, EFD_CLOEXEC);
		cr_assert_geq(tfd[i], 0);
	}
}

static void fd_teardown(void)
{
	int i;

	for (i = 0; i < 4; i++)
		close(tfd[i]);
	close(sv[0]);
	close(sv[1]);
}

Test(http, fds, .init = fd_setup, .fini = fd_teardown)
{
	int base = fd_count(), fd;

	cr_assert_eq(http_conn_recv(&c, sv[1]), -EAGAIN);
	send_fds(sv[0], "PUT /api/v1/vm.add-net HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}", tfd, 2);
	recv_all(sv[1]);
	cr_assert_eq(fd_count(), base + 2);
	next_req();
	cr_assert_str_eq(req->path, "/api/v1/vm.add-net");
	cr_assert_eq(req->nr_fds, 2);
	cr_assert(same_file(req->fds[0], tfd[0]));
	cr_assert(same_file(req->fds[1], tfd[1]));
	cr_assert_eq(fcntl(req->fds[0], F_GETFD), FD_CLOEXEC);
	/* A taken fd is the caller's; the other one is closed on release. */
	fd = http_request_take_fd(req, 1);
	cr_assert(same_file(fd, tfd[1]));
	cr_assert_eq(http_request_take_fd(req, 1), -1);
	cr_assert_eq(http_request_take_fd(req, 2), -1);
	http_request_release(req);
	req = NULL;
	cr_assert_eq(fd_count(), base + 1);
	close(fd);
	cr_assert_eq(fd_count(), base);
}

Test(http, fds_pipelined, .init = fd_setup, .fini = fd_teardown)
{
	int base = fd_count();

	/* One fd with the head of the first request and one with its body; two for the next. */
	send_fds(sv[0], "PUT /a HTTP/1.1\r\nContent-Length: 4\r\n\r\n", tfd, 1);
	send_fds(sv[0], "body", tfd + 1, 1);
	send_fds(sv[0], "PUT /b HTTP/1.1\r\n\r\n", tfd + 2, 2);
	send_fds(sv[0], "GET /c HTTP/1.1\r\n\r\n", NULL, 0);
	recv_all(sv[1]);
	cr_assert_eq(fd_count(), base + 4);
	cr_assert_str_eq(next_req()->path, "/a");
	cr_assert_eq(req->nr_fds, 2);
	cr_assert(same_file(req->fds[0], tfd[0]) && same_file(req->fds[1], tfd[1]));
	cr_assert_str_eq(next_req()->path, "/b");
	cr_assert_eq(req->nr_fds, 2);
	cr_assert(same_file(req->fds[0], tfd[2]) && same_file(req->fds[1], tfd[3]));
	cr_assert_eq(fd_count(), base + 2);
	cr_assert_str_eq(next_req()->path, "/c");
	cr_assert_eq(req->nr_fds, 0);
	cr_assert_eq(fd_count(), base);
}

Test(http, eof_mid_request, .init = fd_setup, .fini = fd_teardown)
{
	int base;

	send_fds(sv[0], "PUT /a HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc", tfd, 3);
	close(sv[0]);
	base = fd_count();
	cr_assert_gt(http_conn_recv(&c, sv[1]), 0);
	assert_pending();
	cr_assert_eq(http_conn_recv(&c, sv[1]), 0);
	cr_assert_eq(fd_count(), base + 3);
	http_conn_destroy(&c);
	cr_assert_eq(fd_count(), base);
	sv[0] = -1;				/* already closed */
}

Test(http, too_many_fds, .init = fd_setup, .fini = fd_teardown)
{
	int fds[64], base = fd_count(), i;

	for (i = 0; i < 64; i++)
		fds[i] = tfd[i % 4];
	send_fds(sv[0], "PUT /a HTTP/1.1\r\n\r\n", fds, HTTP_MAX_MSG_FDS + 1);
	cr_assert_eq(http_conn_recv(&c, sv[1]), -EBADMSG);
	cr_assert_eq(http_conn_error(&c, NULL), 400);
	cr_assert_eq(fd_count(), base);
	cr_assert_eq(http_conn_recv(&c, sv[1]), -EBADMSG);

	/* Many small messages: over HTTP_MAX_FDS pending is refused too. */
	reset();
	for (i = 0; i < HTTP_MAX_FDS / 16 + 1; i++) {
		send_fds(sv[0], "x", fds, 16);
		if (i < HTTP_MAX_FDS / 16)
			cr_assert_eq(http_conn_recv(&c, sv[1]), 1);
	}
	cr_assert_eq(fd_count(), base + HTTP_MAX_FDS);
	cr_assert_eq(http_conn_recv(&c, sv[1]), -EBADMSG);
	cr_assert_eq(fd_count(), base);
}

Test(http, response_200)
{
	static const char body[] = "{\"state\":\"Running\"}";
	struct http_response rsp = { .status = 200, .body = body, .body_len = strlen(body) };
	char buf[HTTP_RESPONSE_HEAD_MAX + sizeof(body)];
	const char *want = "HTTP/1.1 200 OK\r\nServer: kvmm\r\nContent-Length: 19\r\n"
			   "Content-Type: application/json\r\n\r\n{\"state\":\"Running\"}";
	ssize_t n;

	n = http_response_format(&rsp, buf, sizeof(buf));
	cr_assert_eq(n, (ssize_t)strlen(want));
	cr_assert_eq(memcmp(buf, want, n), 0, "%.*s", (int)n, buf);
	cr_assert_eq(http_response_format(&rsp, buf, strlen(want) - 1), -ENOSPC);
	cr_assert_eq(http_response_format(&rsp, buf, strlen(want)), (ssize_t)strlen(want));
	/* A HEAD gets the same head, without the body. */
	rsp.head_only = true;
	n = http_response_format(&rsp, buf, sizeof(buf));
	cr_assert_eq(n, (ssize_t)(strlen(want) - strlen(body)));
	cr_assert_eq(memcmp(buf, want, n), 0);
}

Test(http, response_204_405)
{
	struct http_response rsp = { .status = 204 };
	const char *want = "HTTP/1.1 204 No Content\r\nServer: kvmm\r\n\r\n";
	char buf[256];
	ssize_t n;

	n = http_response_format(&rsp, buf, sizeof(buf));
	cr_assert_eq(n, (ssize_t)strlen(want));
	cr_assert_eq(memcmp(buf, want, n), 0, "%.*s", (int)n, buf);
	rsp.body = "{}";
	rsp.body_len = 2;
	cr_assert_eq(http_response_format(&rsp, buf, sizeof(buf)), -EINVAL);
	rsp = (struct http_response){ .status = 405, .allow = "GET, PUT", .close = true };
	want = "HTTP/1.1 405 Method Not Allowed\r\nServer: kvmm\r\nAllow: GET, PUT\r\n"
	       "Content-Length: 0\r\nConnection: close\r\n\r\n";
	n = http_response_format(&rsp, buf, sizeof(buf));
	cr_assert_eq(n, (ssize_t)strlen(want));
	cr_assert_eq(memcmp(buf, want, n), 0, "%.*s", (int)n, buf);
	rsp.allow = "GET\r\nX-Evil: 1";
	cr_assert_eq(http_response_format(&rsp, buf, sizeof(buf)), -EINVAL);
	rsp = (struct http_response){ .status = 418 };
	cr_assert_eq(http_response_format(&rsp, buf, sizeof(buf)), -EINVAL);
	cr_assert_str_eq(http_status_reason(429), "Too Many Requests");
	cr_assert_str_eq(http_status_reason(431), "Request Header Fields Too Large");
	cr_assert_str_eq(http_status_reason(505), "HTTP Version Not Supported");
	cr_assert_null(http_status_reason(302));
}

Test(http, response_404_json_error)
{
	const char *msg = "no \"vm\" at \\api\nline2\ttab\x01\x1f end";
	const char *body_want =
		"{\"error\":\"no \\\"vm\\\" at \\\\api\\nline2\\ttab\\u0001\\u001f end\"}";
	struct http_response rsp = { .status = 404, .close = true };
	char body[256], buf[512], want[512];
	ssize_t n;

	n = http_json_error(body, sizeof(body), msg);
	cr_assert_eq(n, (ssize_t)strlen(body_want));
	cr_assert_str_eq(body, body_want);
	rsp.body = body;
	rsp.body_len = n;
	snprintf(want, sizeof(want), "HTTP/1.1 404 Not Found\r\nServer: kvmm\r\n"
		 "Content-Length: %zd\r\nContent-Type: application/json\r\nConnection: close\r\n"
		 "\r\n%s", n, body_want);
	n = http_response_format(&rsp, buf, sizeof(buf));
	cr_assert_eq(n, (ssize_t)strlen(want));
	cr_assert_eq(memcmp(buf, want, n), 0, "%.*s", (int)n, buf);
}

Test(http, json_error_edges)
{
	char b[64];

	/* Valid UTF-8 passes through; a stray byte, a surrogate and an overlong become '?'. */
	cr_assert_eq(http_json_error(b, sizeof(b), "caf\xc3\xa9 \xe2\x82\xac"), 21);
	cr_assert_str_eq(b, "{\"error\":\"caf\xc3\xa9 \xe2\x82\xac\"}");
	http_json_error(b, sizeof(b), "a\xff" "b\xed\xa0\x80" "c\xc0\xaf");
	cr_assert_str_eq(b, "{\"error\":\"a?b???c??\"}");
	/* Too small a buffer cuts the message, never an escape. */
	cr_assert_eq(http_json_error(b, 13, "x"), 12);
	cr_assert_str_eq(b, "{\"error\":\"\"}");
	cr_assert_eq(http_json_error(b, 12, "x"), -ENOSPC);
	cr_assert_eq(http_json_error(b, 15, "a\"b"), 13);
	cr_assert_str_eq(b, "{\"error\":\"a\"}");
	cr_assert_eq(http_json_error(b, 16, "a\"b"), 15);
	cr_assert_str_eq(b, "{\"error\":\"a\\\"\"}");
}
