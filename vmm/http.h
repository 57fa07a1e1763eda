/*
 * The HTTP/1.1 layer of the API socket (--api-socket, Cloud Hypervisor's /api/v1 dialect):
 * an incremental request parser for one connection that also collects the file descriptors
 * sent as SCM_RIGHTS, plus response and JSON error body formatting.  It does no I/O besides
 * recvmsg(), keeps no global state and knows nothing of endpoints or the event loop.
 *
 * Typical use on a non-blocking connected Unix socket:
 *
 *	n = http_conn_recv(&c, sock);		// on EPOLLIN
 *	if (n == -EAGAIN) return;
 *	while ((ret = http_conn_next(&c, &req)) > 0) {
 *		... answer req (http_response_format()), take the fds it needs ...
 *		http_request_release(req);
 *	}
 *	if (http_conn_want_continue(&c)) write HTTP_CONTINUE;
 *	if (ret == -EBADMSG || n == -EBADMSG)	answer http_conn_error()'s status, then close;
 *	else if (n == 0 or another -errno)	close (a partial request is simply dropped);
 *	... http_conn_destroy(&c) closes every fd not yet handed out with a request.
 *
 * Choices: lines end in CRLF, a bare LF or CR is a 400; empty lines before a request line are
 * skipped; the target must be origin-form ("/...", printable ASCII), its "?query" is split off
 * but nothing is decoded; obs-fold is a 400; Host is not required; an unknown method is a 501 (the
 * endpoint layer answers 405 for a known method it does not serve); only HTTP/1.0 and 1.1 are
 * accepted (505); any Transfer-Encoding is a 501; the head (request line, headers, blank line)
 * over HTTP_MAX_HEAD bytes or with more than HTTP_MAX_HEADERS fields is a 431; a Content-Length
 * over HTTP_MAX_BODY is a 413 as soon as the head is complete.  After the first error, or after
 * a request that does not keep the connection alive, no further request is returned.
 */
#ifndef KVMM_HTTP_H
#define KVMM_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define HTTP_MAX_HEAD		8192		/* request line + header fields + blank line */
#define HTTP_MAX_HEADERS	64
#define HTTP_MAX_BODY		(1 << 20)
#define HTTP_MAX_MSG_FDS	32		/* fds one recvmsg() can take; more is a 400 */
#define HTTP_MAX_FDS		64		/* fds received and not yet handed out; ditto */
#define HTTP_CONTINUE		"HTTP/1.1 100 Continue\r\n\r\n"

enum http_method { HTTP_GET = 1, HTTP_PUT, HTTP_PATCH, HTTP_POST, HTTP_DELETE, HTTP_HEAD };

struct http_header {
	const char *name;			/* as sent; compare with strcasecmp() */
	const char *value;			/* leading and trailing blanks stripped */
};

/* One complete request; read-only for its consumer except through the functions below. */
struct http_request {
	enum http_method method;
	const char *method_name;		/* the token as sent ("PUT") */
	const char *path;			/* "/api/v1/vm.create": raw, not %-decoded */
	const char *query;			/* what followed '?', or NULL */
	int minor;				/* HTTP/1.<minor>: 0 or 1 */
	bool keep_alive;			/* the version's default amended by Connection: */
	bool expect_continue;			/* HTTP/1.1 Expect: 100-continue was sent */
	const char *content_type;		/* first Content-Type value, or NULL */
	unsigned int nr_headers;
	struct http_header headers[HTTP_MAX_HEADERS];
	size_t body_len;			/* Content-Length, 0 without one */
	char *body;				/* body_len bytes and a NUL; never NULL */
	unsigned int nr_fds;			/* SCM_RIGHTS fds sent with this request */
	int fds[HTTP_MAX_FDS];			/* O_CLOEXEC; -1 once taken */
	char text[];				/* private: the head, cut into the strings above */
};

/*
 * One connection's parser state.  Embed it anywhere; the fields are private.  The buffer grows
 * with need up to HTTP_MAX_HEAD + HTTP_MAX_BODY bytes.
 */
struct http_conn {
	uint8_t *buf;
	size_t cap, start, len;			/* unparsed bytes are buf[start, start + len) */
	size_t scan;				/* how far the head has been searched for its end */
	size_t head_len;			/* of cur */
	uint64_t off;				/* stream offset of buf[start] */
	struct http_request *cur;		/* its head is parsed, its body not complete */
	struct {
		int fd;
		uint64_t off;			/* stream offset of the first byte it came with */
	} fds[HTTP_MAX_FDS];
	unsigned int nr_fds;
	bool want_continue, done;
	int status;				/* the error answered with, 0 while there is none */
	char reason[96];
};

void http_conn_init(struct http_conn *c);
/* Frees the buffer and any partial request and closes every fd not handed out. */
void http_conn_destroy(struct http_conn *c);

/*
 * Reads once from the non-blocking stream socket SOCK with recvmsg(), taking up to
 * HTTP_MAX_MSG_FDS descriptors (MSG_CMSG_CLOEXEC).  Descriptors belong to the request that the
 * first byte read with them belongs to: the one in progress when they arrive (as in Cloud
 * Hypervisor).  So a client sends a request's fds with its first bytes, and not while an earlier
 * request is still being received, as the kernel may return that one's tail in the same read
 * (Kata sends each request in one sendmsg() and waits for the answer).  Returns the number
 * of bytes read, 0 on orderly EOF, -EAGAIN, -ENOBUFS when complete requests fill the buffer
 * (drain http_conn_next() first), -EBADMSG in the error state, which too many descriptors
 * (MSG_CTRUNC or over HTTP_MAX_FDS pending) enter after closing them, or another -errno.
 */
ssize_t http_conn_recv(struct http_conn *c, int sock);

/*
 * Appends up to N bytes from DATA as if received (tests, fuzzing).  Returns how many were taken
 * (fewer when the buffer is nearly full), or as http_conn_recv(): -ENOBUFS, -EBADMSG, -ENOMEM.
 */
ssize_t http_conn_feed(struct http_conn *c, const void *data, size_t n);

/*
 * Parses the buffered bytes.  Returns 1 and the next complete request in *REQP (the caller owns
 * it: http_request_release()), 0 when more bytes are needed (or the connection is done: its last
 * request did not keep it alive), or -EBADMSG when the request is malformed: the connection is
 * then in the terminal error state, its pending fds are closed and http_conn_error() tells the
 * status to answer (with Connection: close) before closing it.
 */
int http_conn_next(struct http_conn *c, struct http_request **reqp);

/*
 * Returns true, once per request, when the head of a request with Expect: 100-continue has been
 * parsed but not its whole body: the server should then send HTTP_CONTINUE.
 */
bool http_conn_want_continue(struct http_conn *c);

/* Returns the error status (400, 413, 431, 500, 501, 505), 0 if none; *REASON says why. */
int http_conn_error(const struct http_conn *c, const char **reason);

/* Returns the first value of header NAME (any case), or NULL. */
const char *http_request_header(const struct http_request *r, const char *name);

/* Hands over fd I of R to the caller, who then must close it; -1 if absent or already taken. */
int http_request_take_fd(struct http_request *r, unsigned int i);

/* Closes the fds not taken and frees R; NULL is ignored. */
void http_request_release(struct http_request *r);

/* "OK" for 200 and so on, NULL for a status this layer does not produce. */
const char *http_status_reason(int status);

struct http_response {
	int status;				/* one http_status_reason() knows */
	const char *body;			/* JSON, or NULL; none for 204 */
	size_t body_len;
	const char *allow;			/* "GET, PUT": an Allow header (for 405), or NULL */
	bool close;				/* Connection: close */
	bool head_only;				/* answers a HEAD: the body's headers, no body */
};

/* The head of any response fits in this many bytes plus strlen(allow) + 9. */
#define HTTP_RESPONSE_HEAD_MAX	192

/*
 * Writes the complete response RSP into BUF (not NUL-terminated): status line, Server: kvmm,
 * Content-Length (not for 204), Content-Type: application/json when there is a body, Allow,
 * Connection: close if asked.  Returns its length, -EINVAL for an unknown status, a 204 with
 * a body or an Allow value with CR or LF, or -ENOSPC if it does not fit in SIZE bytes.
 */
ssize_t http_response_format(const struct http_response *rsp, char *buf, size_t size);

/*
 * Writes {"error":"MSG"} and a NUL into BUF with MSG escaped for JSON (quotes, backslashes and
 * control characters; bytes that are not UTF-8 become '?'), cutting MSG short rather than
 * overflowing SIZE.  Returns the length, or -ENOSPC if SIZE cannot hold even an empty message.
 */
ssize_t http_json_error(char *buf, size_t size, const char *msg);

#endif
