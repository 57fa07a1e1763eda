/*
 * The answers of the API socket's HTTP/1.1 layer (the contract is in http.h): the response
 * with its status line and headers, and the {"error": ...} body with the message escaped for
 * JSON.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "http.h"

const char *http_status_reason(int status)
{
	static const struct {
		int status;
		const char *reason;
	} tab[] = {
		{ 200, "OK" }, { 204, "No Content" }, { 400, "Bad Request" },
		{ 404, "Not Found" }, { 405, "Method Not Allowed" }, { 409, "Conflict" },
		{ 413, "Payload Too Large" }, { 429, "Too Many Requests" },
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
