/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* An incremental parser for HTTP/1.x request heads (RFC 9112): a byte-at-a-time state machine over
 * a buffer that the caller fills, extracting only what the metrics endpoint acts on. Pure: no I/O,
 * no allocation. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A request target longer than this is answered with 414. */
#define HTTP_REQUEST_TARGET_MAX 2048U
/* A header line longer than this (name, colon, value) is answered with 431, whatever the total. */
#define HTTP_REQUEST_LINE_MAX 8192U
/* Longer methods are not methods we could know: 501. */
#define HTTP_REQUEST_METHOD_MAX 16U

typedef enum HttpMethod {
        HTTP_METHOD_GET,
        HTTP_METHOD_HEAD,
        HTTP_METHOD_OTHER,              /* any other token: the server answers 405 */
} HttpMethod;

typedef enum HttpParseResult {
        HTTP_PARSE_MORE,                /* the head is not complete yet: add bytes, call again */
        HTTP_PARSE_DONE,                /* complete: HttpRequest.head_size bytes are the head */
        HTTP_PARSE_ERROR,               /* answer HttpRequest.status and close the connection */
} HttpParseResult;

typedef struct HttpRequest {
        /* Parser state: where to go on, and what the current token or line is. */
        unsigned state;
        size_t offset;                  /* bytes consumed so far */
        size_t max_head;                /* the head must fit in this many bytes (431 otherwise) */
        size_t line_start, name_end, mark, value_end;
        unsigned version_pos;
        bool cr;                        /* the previous byte was CR: LF must follow */

        /* Results, valid once HTTP_PARSE_DONE is returned (offsets are into the caller's buffer). */
        HttpMethod method;
        unsigned version_major, version_minor;  /* 1.0 or 1.1 */
        size_t path_offset, path_size;          /* the target without its query string */
        bool has_accept;
        size_t accept_offset, accept_size;      /* repeated Accept headers joined with "," */
        bool connection_close;                  /* "Connection: close" */
        bool connection_keep_alive;             /* "Connection: keep-alive" (HTTP/1.0) */
        bool has_content_length;
        uint64_t content_length;
        size_t head_size;                       /* HTTP_PARSE_DONE: the bytes up to the empty line */
        unsigned status;                        /* HTTP_PARSE_ERROR: 400, 414, 431, 501 or 505 */
} HttpRequest;

/* Prepares "req" for a new request whose head must fit in "max_head" bytes. */
void http_request_init(HttpRequest *req, size_t max_head);

/* Consumes buf[req->offset..size) and says whether the head is complete. "buf" holds the request
 * from its first byte and only ever grows between calls (it may move: only offsets are kept), so a
 * head split anywhere gives the same result as one buffer. The parser writes into bytes it has
 * already consumed, to join repeated Accept headers in place; nothing after the head is touched.
 *
 * Policy: leading empty lines are skipped; a bare LF ends a line like CRLF, a bare CR is an error;
 * NUL and other control characters, obs-fold, whitespace before the colon, a target that is neither
 * origin-form, absolute-form nor "*", and an ill-formed version are 400; "HTTP/2.0" and the like are
 * 505. Transfer-Encoding is 501 (no request here has a body). A GET or HEAD that announces a body
 * (Content-Length > 0) is 400 rather than having the body skipped, as are Content-Length values that
 * are not a single decimal number. Host is not required: the server has one name. */
HttpParseResult http_request_parse(HttpRequest *req, char *buf, size_t size);

/* Whether the connection stays open after the response: HTTP/1.1 unless "Connection: close",
 * HTTP/1.0 only with "Connection: keep-alive". */
bool http_request_keep_alive(const HttpRequest *req);

/* The reason phrase of a status code the server sends. */
const char *http_status_reason(unsigned status);
