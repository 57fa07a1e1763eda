/*
 * The request head parser of the API socket's HTTP/1.1 layer (the rules are in http.h): the
 * request line, the header fields, and what Content-Length, Transfer-Encoding, Connection and
 * Expect say about the body and the connection.  http_conn.c finds the head in the byte
 * stream and hands the parsed request out once its body is complete.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http.h"
#include "http_internal.h"

/* What a parsed head says about framing and the connection. */
struct head_info {
	uint64_t content_length;
	bool has_length, conn_close, conn_keep_alive;
};

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
			return http_fail(c, 400, "invalid character in the request line");
	sp1 = memchr(line, ' ', n);
	sp2 = sp1 ? memchr(sp1 + 1, ' ', line + n - sp1 - 1) : NULL;
	if (!sp2 || sp1 == line || !all_tchars(line, sp1 - line) || sp2 == sp1 + 1)
		return http_fail(c, 400, "malformed request line");
	*sp1 = *sp2 = '\0';
	if (sp1[1] != '/')
		return http_fail(c, 400, "request target must start with '/'");
	v = sp2 + 1;
	if (strlen(v) != 8 || memcmp(v, "HTTP/", 5) || v[5] < '0' || v[5] > '9' || v[6] != '.' ||
	    v[7] < '0' || v[7] > '9')
		return http_fail(c, 400, "malformed HTTP version");
	if (v[5] != '1' || v[7] > '1')
		return http_fail(c, 505, "%s is not supported", v);
	r->minor = v[7] - '0';
	r->method_name = line;
	for (i = HTTP_GET; i <= HTTP_HEAD; i++)
		if (!strcmp(line, names[i]))
			r->method = i;
	if (!r->method)
		return http_fail(c, 501, "method %.32s is not implemented", line);
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
			return http_fail(c, 400, "Content-Length is not a number");
		for (; *v; v++) {
			if (n > (UINT64_MAX - (*v - '0')) / 10)
				return http_fail(c, 400, "Content-Length overflows");
			n = n * 10 + (*v - '0');
		}
		if (hi->has_length && n != hi->content_length)
			return http_fail(c, 400, "conflicting Content-Length headers");
		hi->has_length = true;
		hi->content_length = n;
	} else if (!strcasecmp(name, "transfer-encoding")) {
		return http_fail(c, 501, "Transfer-Encoding is not supported");
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
		return http_fail(c, 400, "obsolete header line folding");
	colon = memchr(line, ':', n);
	if (!colon)
		return http_fail(c, 400, "header line without a colon");
	if (colon == line || !all_tchars(line, colon - line))
		return http_fail(c, 400, "invalid header name");
	*colon = '\0';
	for (v = colon + 1; v < end && (*v == ' ' || *v == '\t'); v++)
		;
	while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	*end = '\0';
	for (q = v; q < end; q++)
		if (((unsigned char)*q < 0x20 && *q != '\t') || *q == 0x7f)
			return http_fail(c, 400, "invalid character in header %.32s", line);
	if (r->nr_headers == HTTP_MAX_HEADERS)
		return http_fail(c, 431, "more than %d header fields", HTTP_MAX_HEADERS);
	r->headers[r->nr_headers].name = line;
	r->headers[r->nr_headers++].value = v;
	return known_header(c, r, hi, line, v);
}

/* Copies the complete head of the next request (H bytes) out of the buffer and parses it. */
int http_parse_head(struct http_conn *c, size_t h)
{
	struct head_info hi = { 0 };
	struct http_request *r;
	char *p, *eol;
	int ret;

	r = calloc(1, sizeof(*r) + h + 1);
	if (!r)
		return http_fail(c, 500, "out of memory");
	c->cur = r;				/* from here on http_fail() frees it */
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
		return http_fail(c, 413, "body of %llu bytes exceeds the limit of %d",
				 (unsigned long long)hi.content_length, HTTP_MAX_BODY);
	r->body_len = hi.content_length;
	r->keep_alive = r->minor ? !hi.conn_close : hi.conn_keep_alive && !hi.conn_close;
	c->head_len = h;
	c->want_continue = r->expect_continue && r->body_len && c->len < h + r->body_len;
	return 0;
}
