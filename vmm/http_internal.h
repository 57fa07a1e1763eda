/*
 * Private to http_conn.c and http_parse.c, not a public contract (that is http.h): what the
 * connection, which frames the byte stream into requests, and the request head parser share.
 */
#ifndef KVMM_HTTP_INTERNAL_H
#define KVMM_HTTP_INTERNAL_H

#include <stddef.h>

#include "http.h"

/*
 * Enters C's terminal error state with STATUS and the reason FMT (the first error is the one
 * reported), closes the fds not handed out and frees the request in progress.  Returns
 * -EBADMSG.
 */
int http_fail(struct http_conn *c, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * Parses the complete head of the next request, the first H bytes of C's unparsed data (the
 * request line to the blank line that ends the head, each LF after a CR: http_conn.c's
 * find_head() checked), into a new C->cur, and sets C->head_len and C->want_continue.  Returns
 * 0, or -EBADMSG through http_fail().
 */
int http_parse_head(struct http_conn *c, size_t h);

#endif
