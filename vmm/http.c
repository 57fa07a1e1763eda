/*
 * HTTP/1.1 request parsing with SCM_RIGHTS collection, and response formatting, for the API
 * socket (the contract and the choices made are in http.h).
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

#define BUF_MIN		4096
#define BUF_MAX		(HTTP_MAX_HEAD + HTTP_MAX_BODY)	/* the largest request fits */
#define BUF_KEEP	(64 << 10)			/* an emptied buffer above this is freed */

/* What a parsed head says about framing and the connection. */
struct head_info {
	uint64_t content_length;
	bool has_length, conn_close, conn_keep_alive;
};

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
static int fail(struct http_conn *c, int status, const char *fmt, ...)
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
		return fail(c, 400, "more than %d file descriptors in one message",
			    HTTP_MAX_MSG_FDS);
	if (lost)
		return fail(c, 400, "more than %d file descriptors pending", HTTP_MAX_FDS);
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
			return fail(c, 400, "bare LF in the request head");
		if (i >= 3 && b[i - 2] == '\n')
			return i + 1;			/* CR LF CR LF: b[i - 3] is a CR too */
	}
	c->scan = i;
	if (c->len >= HTTP_MAX_HEAD)
		return fail(c, 431, "request head longer than %d bytes", HTTP_MAX_HEAD);
	return 0;
}

static bool is_tchar(unsigned char ch)
{
	return (ch >= '0' && ch <= '9') || ((ch | 0x20) >= 'a' && (ch | 0x20) <= 'z') ||
	       (ch && strchr("!#$%&'*+-.^_`|~", ch));
}

static bool all_tchars(const char *s, size_t n)
{
	while (n--)
		if (!is_tchar(*s++))
			return false;
	return true;
}

/* LINE (N bytes, NUL where its CR was) is the request line. */
static int parse_request_line(struct http_conn *c, struct http_request *r, char *line, size_t n)
{
	static const char *const names[] = {
		[HTTP_GET] = "GET", [HTTP_PUT] = "PUT", [HTTP_PATCH] = "PATCH",
		[HTTP_POST] = "POST", [HTTP_DELETE] = "DELETE", [HTTP_HEAD] = "HEAD",
	};
	char *sp1, *sp2, *v, *q;
	size_t i;

	for (i = 0; i < n; i++)
		if ((unsigned char)line[i] < 0x20 || (unsigned char)line[i] >= 0x7f)
			return fail(c, 400, "invalid character in the request line");
	sp1 = memchr(line, ' ', n);
	sp2 = sp1 ? memchr(sp1 + 1, ' ', line + n - sp1 - 1) : NULL;
	if (!sp2 || sp1 == line || !all_tchars(line, sp1 - line) || sp2 == sp1 + 1)
		return fail(c, 400, "malformed request line");
	*sp1 = *sp2 = '\0';
	if (sp1[1] != '/')
		return fail(c, 400, "request target must start with '/'");
	v = sp2 + 1;
	if (strlen(v) != 8 || memcmp(v, "HTTP/", 5) || v[5] < '0' || v[5] > '9' || v[6] != '.' ||
	    v[7] < '0' || v[7] > '9')
		return fail(c, 400, "malformed HTTP version");
	if (v[5] != '1' || v[7] > '1')
		return fail(c, 505, "%s is not supported", v);
	r->minor = v[7] - '0';
	r->method_name = line;
	for (i = HTTP_GET; i <= HTTP_HEAD; i++)
		if (!strcmp(line, names[i]))
			r->method = i;
	if (!r->method)
		return fail(c, 501, "method %.32s is not implemented", line);
	r->path = sp1 + 1;
	q = strchr(r->path, '?');
	if (q) {
		*q = '\0';
		r->query = q + 1;
	}
	return 0;
}

/* Applies a header the parser itself cares about. */
static int known_header(struct http_conn *c, struct http_request *r, struct head_info *hi,
		       const char *name, const char *v)
{
	uint64_t n = 0;
	size_t len;

	if (!strcasecmp(name, "content-length")) {
		if (!*v || v[strspn(v, "0123456789")])
			return fail(c, 400, "Content-Length is not a number");
		for (; *v; v++) {
			if (n > (UINT64_MAX - (*v - '0')) / 10)
				return fail(c, 400, "Content-Length overflows");
			n = n * 10 + (*v - '0');
		}
		if (hi->has_length && n != hi->content_length)
			return fail(c, 400, "conflicting Content-Length headers");
		hi->has_length = true;
		hi->content_length = n;
	} else if (!strcasecmp(name, "transfer-encoding")) {
		return fail(c, 501, "Transfer-Encoding is not supported");
	} else if (!strcasecmp(name, "connection")) {
		while (*v) {
			v += strspn(v, " \t,");
			len = strcspn(v, " \t,");
			if (len == 5 && !strncasecmp(v, "close", 5))
				hi->conn_close = true;
			else if (len == 10 && !strncasecmp(v, "keep-alive", 10))
				hi->conn_keep_alive = true;
			v += len;
		}
	} else if (!strcasecmp(name, "expect")) {
		r->expect_continue |= !strcasecmp(v, "100-continue") && r->minor == 1;
	} else if (!strcasecmp(name, "content-type") && !r->content_type) {
		r->content_type = v;
	}
	return 0;
}

/* LINE (N bytes, NUL where its CR was) is a header field line. */
static int parse_header(struct http_conn *c, struct http_request *r, struct head_info *hi,
			char *line, size_t n)
{
	char *colon, *v, *q, *end = line + n;

	if (*line == ' ' || *line == '\t')
		return fail(c, 400, "obsolete header line folding");
	colon = memchr(line, ':', n);
	if (!colon)
		return fail(c, 400, "header line without a colon");
	if (colon == line || !all_tchars(line, colon - line))
		return fail(c, 400, "invalid header name");
	*colon = '\0';
	for (v = colon + 1; v < end && (*v == ' ' || *v == '\t'); v++)
		;
	while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	*end = '\0';
	for (q = v; q < end; q++)
		if (((unsigned char)*q < 0x20 && *q != '\t') || *q == 0x7f)
			return fail(c, 400, "invalid character in header %.32s", line);
	if (r->nr_headers == HTTP_MAX_HEADERS)
		return fail(c, 431, "more than %d header fields", HTTP_MAX_HEADERS);
	r->headers[r->nr_headers].name = line;
	r->headers[r->nr_headers++].value = v;
	return known_header(c, r, hi, line, v);
}

/* Copies the complete head of the next request (H bytes) out of the buffer and parses it. */
static int parse_head(struct http_conn *c, size_t h)
{
	struct head_info hi = { 0 };
	struct http_request *r;
	char *p, *eol;
	int ret;

	r = calloc(1, sizeof(*r) + h + 1);
	if (!r)
		return fail(c, 500, "out of memory");
	c->cur = r;				/* from here on fail() frees it */
	memcpy(r->text, c->buf + c->start, h);
	eol = memchr(r->text, '\n', h);		/* each LF follows a CR (find_head()) */
	eol[-1] = '\0';
	ret = parse_request_line(c, r, r->text, eol - 1 - r->text);
	for (p = eol + 1; !ret && !(p[0] == '\r' && p[1] == '\n'); p = eol + 1) {
		eol = memchr(p, '\n', r->text + h - p);
		eol[-1] = '\0';
		ret = parse_header(c, r, &hi, p, eol - 1 - p);
	}
	if (ret)
		return ret;
	if (hi.content_length > HTTP_MAX_BODY)
		return fail(c, 413, "body of %llu bytes exceeds the limit of %d",
			    (unsigned long long)hi.content_length, HTTP_MAX_BODY);
	r->body_len = hi.content_length;
	r->keep_alive = r->minor ? !hi.conn_close : hi.conn_keep_alive && !hi.conn_close;
	c->head_len = h;
	c->want_continue = r->expect_continue && r->body_len && c->len < h + r->body_len;
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
		ret = parse_head(c, ret);
		if (ret)
			return ret;
	}
	r = c->cur;
	total = c->head_len + r->body_len;
	if (c->len < total)
		return 0;
	r->body = malloc(r->body_len + 1);
	if (!r->body)
		return fail(c, 500, "out of memory");
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

const char *http_status_reason(int status)
{
	static const struct {
		int status;
		const char *reason;
	} tab[] = {
		{ 200, "OK" }, { 204, "No Content" }, { 400, "Bad Request" },
		{ 404, "Not Found" }, { 405, "Method Not Allowed" }, { 409, "Conflict" },
		{ 413, "Payload Too Large" },
		{ 431, "Request Header Fields Too Large" }, { 500, "Internal Server Error" },
		{ 501, "Not Implemented" }, { 503, "Service Unavailable" },
		{ 505, "HTTP Version Not Supported" },
	};
	size_t i;

	for (i = 0; i < sizeof(tab) / sizeof(tab[0]); i++)
		if (tab[i].status == status)
			return tab[i].reason;
	return NULL;
}

ssize_t http_response_format(const struct http_response *rsp, char *buf, size_t size)
{
	const char *reason = http_status_reason(rsp->status), *allow = rsp->allow;
	size_t blen = rsp->body ? rsp->body_len : 0, out = rsp->head_only ? 0 : blen;
	char cl[48] = "";
	int n;

	if (!reason || (rsp->status == 204 && blen) || (allow && strpbrk(allow, "\r\n")))
		return -EINVAL;
	if (rsp->status != 204)
		snprintf(cl, sizeof(cl), "Content-Length: %zu\r\n", blen);
	n = snprintf(buf, size, "HTTP/1.1 %d %s\r\nServer: kvmm\r\n%s%s%s%s%s%s\r\n",
		     rsp->status, reason, allow ? "Allow: " : "", allow ? allow : "",
		     allow ? "\r\n" : "", cl, blen ? "Content-Type: application/json\r\n" : "",
		     rsp->close ? "Connection: close\r\n" : "");
	if (n < 0)
		return -EINVAL;
	if ((size_t)n >= size || out > size - n)
		return -ENOSPC;
	memcpy(buf + n, rsp->body ? rsp->body : "", out);
	return n + out;
}

/* Length of the well-formed UTF-8 sequence at S (NUL-terminated), 0 if there is none. */
static size_t utf8_len(const unsigned char *s)
{
	/* The second byte's range excludes overlongs, surrogates and what is above U+10FFFF. */
	unsigned char lo = s[0] == 0xe0 ? 0xa0 : s[0] == 0xf0 ? 0x90 : 0x80;
	unsigned char hi = s[0] == 0xed ? 0x9f : s[0] == 0xf4 ? 0x8f : 0xbf;
	size_t i, n = s[0] >= 0xf0 ? 4 : s[0] >= 0xe0 ? 3 : 2;

	if (s[0] < 0xc2 || s[0] > 0xf4 || s[1] < lo || s[1] > hi)
		return 0;
	for (i = 2; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	return n;
}

ssize_t http_json_error(char *buf, size_t size, const char *msg)
{
	static const char named[] = "\"\\\b\f\n\r\t";
	const unsigned char *s = (const unsigned char *)msg;
	size_t n = 10, k, used;
	const char *e;
	char esc[8];

	if (size < sizeof("{\"error\":\"\"}"))
		return -ENOSPC;
	memcpy(buf, "{\"error\":\"", n);
	for (; *s; s += used, n += k) {
		e = strchr(named, *s);		/* *s is not NUL */
		used = *s < 0x80 ? 1 : utf8_len(s);
		if (e)
			k = sprintf(esc, "\\%c", "\"\\bfnrt"[e - named]);
		else if (*s < 0x20 || *s == 0x7f)
			k = sprintf(esc, "\\u%04x", *s);
		else if (used)
			memcpy(esc, s, k = used);
		else
			k = used = sprintf(esc, "?");	/* not UTF-8 */
		if (n + k + 3 > size)
			break;
		memcpy(buf + n, esc, k);
	}
	memcpy(buf + n, "\"}", 3);
	return n + 2;
}
