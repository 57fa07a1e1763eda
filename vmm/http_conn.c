/*
 * One API connection's byte stream (the HTTP/1.1 layer's contract is in http.h): the receive
 * buffer, recvmsg() with the SCM_RIGHTS fds and the request each belongs to, finding where a
 * request's head ends and its body is complete, handing the request out, and the request's
 * own functions.  http_parse.c parses the head, http_reply.c writes the answers.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http.h"
#include "http_internal.h"

#define BUF_MIN		4096
#define BUF_MAX		(HTTP_MAX_HEAD + HTTP_MAX_BODY)	/* the largest request fits */
#define BUF_KEEP	(64 << 10)			/* an emptied buffer above this is freed */

void http_conn_init(struct http_conn *c)
{
	memset(c, 0, sizeof(*c));
}

static void close_fds(struct http_conn *c)
{
	while (c->nr_fds)
		close(c->fds[--c->nr_fds].fd);
}

void http_conn_destroy(struct http_conn *c)
{
	close_fds(c);
	http_request_release(c->cur);
	free(c->buf);
	memset(c, 0, sizeof(*c));
}

/* Enters the terminal error state (the first error is the one reported). */
__attribute__((format(printf, 3, 4)))
int http_fail(struct http_conn *c, int status, const char *fmt, ...)
{
	va_list ap;

	if (!c->status) {
		c->status = status;
		va_start(ap, fmt);
		vsnprintf(c->reason, sizeof(c->reason), fmt, ap);
		va_end(ap);
	}
	close_fds(c);
	http_request_release(c->cur);
	c->cur = NULL;
	c->want_continue = false;
	return -EBADMSG;
}

int http_conn_error(const struct http_conn *c, const char **reason)
{
	if (reason)
		*reason = c->status ? c->reason : NULL;
	return c->status;
}

bool http_conn_want_continue(struct http_conn *c)
{
	bool ret = c->want_continue;

	c->want_continue = false;
	return ret;
}

/*
 * Moves the unparsed bytes to the front, grows the buffer if it is nearly full; returns the room
 * left at its end or -errno.
 */
static ssize_t make_room(struct http_conn *c)
{
	uint8_t *nb;
	size_t ncap;

	if (c->status)
		return -EBADMSG;
	if (c->start) {
		memmove(c->buf, c->buf + c->start, c->len);
		c->start = 0;
	}
	if (c->cap - c->len < BUF_MIN / 2 && c->cap < BUF_MAX) {
		ncap = c->cap ? c->cap * 2 : BUF_MIN;
		if (ncap > BUF_MAX)
			ncap = BUF_MAX;
		nb = realloc(c->buf, ncap);
		if (!nb)
			return -ENOMEM;
		c->buf = nb;
		c->cap = ncap;
	}
	return c->cap > c->len ? (ssize_t)(c->cap - c->len) : -ENOBUFS;
}

ssize_t http_conn_feed(struct http_conn *c, const void *data, size_t n)
{
	ssize_t room = make_room(c);

	if (room < 0)
		return room;
	if (n > (size_t)room)
		n = room;
	memcpy(c->buf + c->len, data, n);
	c->len += n;
	return n;
}

ssize_t http_conn_recv(struct http_conn *c, int sock)
{
	union {
		char b[CMSG_SPACE(sizeof(int) * HTTP_MAX_MSG_FDS)];
		struct cmsghdr align;
	} ctl;
	struct iovec iov;
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = ctl.b, .msg_controllen = sizeof(ctl.b) };
	struct cmsghdr *cm;
	ssize_t n, room = make_room(c);
	size_t i, nfd;
	bool lost = false;
	int fd;

	if (room < 0)
		return room;
	iov.iov_base = c->buf + c->len;
	iov.iov_len = room;
	do
		n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	for (cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		nfd = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < nfd; i++) {
			memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
			if (c->nr_fds == HTTP_MAX_FDS) {
				close(fd);
				lost = true;
				continue;
			}
			c->fds[c->nr_fds].fd = fd;
			c->fds[c->nr_fds++].off = c->off + c->len;
		}
	}
	if (mh.msg_flags & MSG_CTRUNC)
		return http_fail(c, 400, "more than %d file descriptors in one message",
				 HTTP_MAX_MSG_FDS);
	if (lost)
		return http_fail(c, 400, "more than %d file descriptors pending", HTTP_MAX_FDS);
	c->len += n;
	return n;
}

static void consume(struct http_conn *c, size_t n)
{
	c->start += n;
	c->len -= n;
	c->off += n;
	c->scan = 0;
	if (c->len)
		return;
	c->start = 0;
	if (c->cap > BUF_KEEP) {
		free(c->buf);
		c->buf = NULL;
		c->cap = 0;
	}
}

/*
 * Skips empty lines, then finds the blank line ending the head: returns the head's length, 0
 * while it is incomplete, or -EBADMSG.
 */
static int find_head(struct http_conn *c)
{
	const uint8_t *b;
	size_t i, lim;

	while (c->len >= 2 && c->buf[c->start] == '\r' && c->buf[c->start + 1] == '\n')
		consume(c, 2);
	if (!c->len || (c->len == 1 && c->buf[c->start] == '\r'))
		return 0;
	b = c->buf + c->start;
	lim = c->len < HTTP_MAX_HEAD ? c->len : HTTP_MAX_HEAD;
	for (i = c->scan; i < lim; i++) {
		if (b[i] != '\n')
			continue;
		if (!i || b[i - 1] != '\r')
			return http_fail(c, 400, "bare LF in the request head");
		if (i >= 3 && b[i - 2] == '\n')
			return i + 1;			/* CR LF CR LF: b[i - 3] is a CR too */
	}
	c->scan = i;
	if (c->len >= HTTP_MAX_HEAD)
		return http_fail(c, 431, "request head longer than %d bytes", HTTP_MAX_HEAD);
	return 0;
}

int http_conn_next(struct http_conn *c, struct http_request **reqp)
{
	struct http_request *r;
	size_t total, i;
	int ret;

	*reqp = NULL;
	if (c->status)
		return -EBADMSG;
	if (c->done)
		return 0;
	if (!c->cur) {
		ret = find_head(c);
		if (ret <= 0)
			return ret;
		ret = http_parse_head(c, ret);
		if (ret)
			return ret;
	}
	r = c->cur;
	total = c->head_len + r->body_len;
	if (c->len < total)
		return 0;
	r->body = malloc(r->body_len + 1);
	if (!r->body)
		return http_fail(c, 500, "out of memory");
	memcpy(r->body, c->buf + c->start + c->head_len, r->body_len);
	r->body[r->body_len] = '\0';
	for (i = 0; i < c->nr_fds && c->fds[i].off < c->off + total; i++)
		r->fds[i] = c->fds[i].fd;
	r->nr_fds = i;
	c->nr_fds -= i;
	memmove(c->fds, c->fds + i, c->nr_fds * sizeof(c->fds[0]));
	consume(c, total);
	c->cur = NULL;
	c->want_continue = false;
	c->done = !r->keep_alive;
	*reqp = r;
	return 1;
}

const char *http_request_header(const struct http_request *r, const char *name)
{
	unsigned int i;

	for (i = 0; i < r->nr_headers; i++)
		if (!strcasecmp(r->headers[i].name, name))
			return r->headers[i].value;
	return NULL;
}

int http_request_take_fd(struct http_request *r, unsigned int i)
{
	int fd = i < r->nr_fds ? r->fds[i] : -1;

	if (fd >= 0)
		r->fds[i] = -1;
	return fd;
}

void http_request_release(struct http_request *r)
{
	unsigned int i;

	if (!r)
		return;
	for (i = 0; i < r->nr_fds; i++)
		if (r->fds[i] >= 0)
			close(r->fds[i]);
	free(r->body);
	free(r);
}
