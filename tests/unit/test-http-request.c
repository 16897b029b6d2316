/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Tests of the HTTP request-head parser: a table of good and bad heads, each parsed in one buffer, split
 * in two at every offset and fed a byte at a time, with the same expected outcome; and the fuzzer's seed
 * corpus replayed through the fuzz target. */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fuzz-replay.h"
#include "http-request.h"
#include "macro.h"

#define MAX_HEAD (32U * 1024U)

typedef struct Case {
        const char *head;
        size_t size;                    /* 0: strlen(head) */
        size_t max_head;                /* 0: MAX_HEAD */
        HttpParseResult result;
        unsigned status;                /* HTTP_PARSE_ERROR */
        /* HTTP_PARSE_DONE: */
        size_t head_size;               /* 0: all of it */
        HttpMethod method;
        bool http10;                    /* HTTP/1.0 rather than 1.1 */
        const char *path;
        const char *accept;             /* NULL: no Accept header */
        bool closes;                    /* the connection does not stay open */
        bool has_content_length;
        uint64_t content_length;
} Case;

#define GOOD(h, ...) { .head = (h), .result = HTTP_PARSE_DONE, __VA_ARGS__ }
#define BAD(h, s, ...) { .head = (h), .result = HTTP_PARSE_ERROR, .status = (s), __VA_ARGS__ }

static const Case cases[] = {
        GOOD("GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n", .path = "/metrics"),
        GOOD("HEAD /metrics HTTP/1.0\r\n\r\n", .method = HTTP_METHOD_HEAD, .http10 = true, .path = "/metrics",
             .closes = true),
        GOOD("GET /metrics HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", .http10 = true, .path = "/metrics"),
        GOOD("GET /metrics HTTP/1.1\r\nConnection: upgrade, CLOSE\r\n\r\n", .path = "/metrics", .closes = true),
        GOOD("GET /metrics?x=1&y HTTP/1.1\r\n\r\n", .path = "/metrics"),
        GOOD("GET /?metrics HTTP/1.1\r\n\r\n", .path = "/"),
        GOOD("GET http://127.0.0.1:9000/metrics?a=b HTTP/1.1\r\n\r\n", .path = "/metrics"),
        GOOD("GET HTTPS://[::1]:9000?a HTTP/1.1\r\n\r\n", .path = ""),
        GOOD("OPTIONS * HTTP/1.1\r\n\r\n", .method = HTTP_METHOD_OTHER, .path = "*"),
        GOOD("get /metrics HTTP/1.1\r\n\r\n", .method = HTTP_METHOD_OTHER, .path = "/metrics"),
        GOOD("GETS /metrics HTTP/1.1\r\n\r\n", .method = HTTP_METHOD_OTHER, .path = "/metrics"),
        /* Empty lines before the request line are skipped; a bare LF ends a line. */
        GOOD("\r\n\nGET /metrics HTTP/1.1\nAccept: text/plain\n\n", .path = "/metrics", .accept = "text/plain"),
        GOOD("GET / HTTP/1.1\r\nAccept:  application/openmetrics-text; version=1.0.0 \t\r\n\r\n", .path = "/",
             .accept = "application/openmetrics-text; version=1.0.0"),
        /* Repeated Accept headers are joined, empty ones ignored. */
        GOOD("GET / HTTP/1.1\r\nAccept: a/b;q=0.5\r\nX: y\r\naccept:  c/d \r\nACCEPT:\r\nAccept: e/f\r\n\r\n",
             .path = "/", .accept = "a/b;q=0.5,c/d,e/f"),
        GOOD("GET / HTTP/1.1\r\nAccept:\r\nAccept: x/y\r\n\r\n", .path = "/", .accept = "x/y"),
        GOOD("GET / HTTP/1.1\r\nAccept:\r\n\r\n", .path = "/", .accept = ""),
        GOOD("GET / HTTP/1.1\r\nAccept:a\r\nAccept:b\r\n\r\n", .path = "/", .accept = "a,b"),
        GOOD("GET / HTTP/1.1\r\nContent-Length: 0\r\ncontent-length: 00\r\n\r\n", .path = "/",
             .has_content_length = true),
        GOOD("POST /metrics HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc", .head_size = 45, .method = HTTP_METHOD_OTHER,
             .path = "/metrics", .has_content_length = true, .content_length = 3),
        GOOD("GET / HTTP/1.1\r\nX-Empty:\r\nX-Obs-Text: caf\xc3\xa9\r\nX-Tab:\ta\tb\r\n\r\n", .path = "/"),
        /* Pipelined: only the first head. */
        GOOD("GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\n", .head_size = 19, .path = "/a"),

        /* Incomplete. */
        { .head = "", .result = HTTP_PARSE_MORE },
        { .head = "\r\n", .result = HTTP_PARSE_MORE },
        { .head = "GET /metrics HTTP/1.1\r\nHost: x\r\n", .result = HTTP_PARSE_MORE },
        { .head = "GET /metrics HTTP/1.1\r\nHost: x\r\n\r", .result = HTTP_PARSE_MORE },

        BAD("\x01\x02\x03 garbage \xff\r\n\r\n", 400),
        BAD("GARBAGE / NOPE\r\n\r\n", 400),
        BAD("GARBAGE-NOT-HTTP\r\n\r\n", 400),
        BAD("GET /metrics\r\n\r\n", 400),
        BAD("GET  /metrics HTTP/1.1\r\n\r\n", 400),
        BAD("GET /metrics  HTTP/1.1\r\n\r\n", 400),
        BAD(" GET /metrics HTTP/1.1\r\n\r\n", 400),
        BAD("GET metrics HTTP/1.1\r\n\r\n", 400),
        BAD("GET ftp://x/metrics HTTP/1.1\r\n\r\n", 400),
        BAD("GET http:/x/metrics HTTP/1.1\r\n\r\n", 400),
        BAD("GET ** HTTP/1.1\r\n\r\n", 400),
        BAD("GET /met\x7frics HTTP/1.1\r\n\r\n", 400),
        BAD("GET /met\0rics HTTP/1.1\r\n\r\n", 400, .size = 26),
        BAD("GET /metrics http/1.1\r\n\r\n", 400),
        BAD("GET /metrics HTTP/1.10\r\n\r\n", 400),
        BAD("GET /metrics HTTP/1.\r\n\r\n", 400),
        BAD("GET /metrics HTTP/a.1\r\n\r\n", 400),
        BAD("GET /metrics HTTP/2.0\r\n\r\n", 505),
        BAD("GET /metrics HTTP/1.2\r\n\r\n", 505),
        BAD("GET /metrics HTTP/0.9\r\n\r\n", 505),
        BAD("ABCDEFGHIJKLMNOPQ /metrics HTTP/1.1\r\n\r\n", 501),
        /* Bare CR, NUL and other controls, obs-fold, malformed names. */
        BAD("GET /metrics HTTP/1.1\rHost: x\r\n\r\n", 400),
        BAD("GET /metrics HTTP/1.1\r\nHost: x\ry\r\n\r\n", 400),
        BAD("GET /metrics HTTP/1.1\r\nHost: x\r\r\n\r\n", 400),
        BAD("GET /metrics HTTP/1.1\r\n\rX\r\n", 400),
        BAD("\rGET /metrics HTTP/1.1\r\n\r\n", 400),
        BAD("GET /metrics HTTP/1.1\r\nX: a\0b\r\n\r\n", 400, .size = 33),
        BAD("GET /metrics HTTP/1.1\r\nX: a\x01\r\n\r\n", 400),
        BAD("GET /metrics HTTP/1.1\r\nX: a\x7f\r\n\r\n", 400),
        BAD("GET /metrics HTTP/1.1\r\nX: a\r\n b\r\n\r\n", 400),
        BAD("GET /metrics HTTP/1.1\r\nX: a\r\n\tb\r\n\r\n", 400),
        BAD("GET /metrics HTTP/1.1\r\nX : a\r\n\r\n", 400),
        BAD("GET /metrics HTTP/1.1\r\n: a\r\n\r\n", 400),
        BAD("GET /metrics HTTP/1.1\r\nX(y): a\r\n\r\n", 400),
        BAD("GET /metrics HTTP/1.1\r\nNo-Colon\r\n\r\n", 400),
        /* Bodies: none on GET/HEAD, no chunked, Content-Length well formed and unique. */
        BAD("GET /metrics HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc", 400),
        BAD("HEAD /metrics HTTP/1.1\r\nContent-Length: 1\r\n\r\nx", 400),
        BAD("POST /metrics HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", 501),
        BAD("GET /metrics HTTP/1.1\r\nTransfer-Encoding: identity\r\nContent-Length: 0\r\n\r\n", 501),
        BAD("POST /metrics HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n", 400),
        BAD("POST /metrics HTTP/1.1\r\nContent-Length: 3, 3\r\n\r\n", 400),
        BAD("POST /metrics HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 400),
        BAD("POST /metrics HTTP/1.1\r\nContent-Length:\r\n\r\n", 400),
        BAD("POST /metrics HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n", 400),
        /* The head limit: this head is 42 bytes. */
        BAD("GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n", 431, .max_head = 32),
        BAD("GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n", 431, .max_head = 41),
        GOOD("GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n", .max_head = 42, .path = "/metrics"),
        GOOD("GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\nGET", .max_head = 42, .head_size = 42, .path = "/metrics"),
};

static size_t case_size(const Case *c) {
        return c->size ?: strlen(c->head);
}

static void check_outcome(const Case *c, const HttpRequest *req, const char *buf, HttpParseResult r) {
        assert_int_equal(r, c->result);
        if (r == HTTP_PARSE_ERROR)
                assert_int_equal(req->status, c->status);
        if (r != HTTP_PARSE_DONE)
                return;

        assert_int_equal(req->head_size, c->head_size ?: case_size(c));
        assert_int_equal(req->method, c->method);
        assert_int_equal(req->version_major, 1);
        assert_int_equal(req->version_minor, c->http10 ? 0 : 1);
        assert_int_equal(req->path_size, strlen(c->path));
        assert_memory_equal(buf + req->path_offset, c->path, req->path_size);
        assert_int_equal(req->has_accept, !!c->accept);
        if (c->accept) {
                assert_int_equal(req->accept_size, strlen(c->accept));
                assert_memory_equal(buf + req->accept_offset, c->accept, req->accept_size);
        }
        assert_int_equal(http_request_keep_alive(req), !c->closes);
        assert_int_equal(req->has_content_length, c->has_content_length);
        assert_int_equal(req->content_length, c->content_length);
}

/* Parses "c" with the input cut at "cut" first (SIZE_MAX: a byte at a time), then whole. */
static void parse_split(const Case *c, const char *head, size_t size, size_t cut) {
        char *buf = malloc(size ?: 1);
        HttpParseResult r = HTTP_PARSE_MORE;
        HttpRequest req;

        assert_non_null(buf);
        memcpy(buf, head, size);
        http_request_init(&req, c->max_head ?: MAX_HEAD);

        if (cut == SIZE_MAX)
                for (size_t i = 0; i <= size && r == HTTP_PARSE_MORE; i++)
                        r = http_request_parse(&req, buf, i);
        else {
                r = http_request_parse(&req, buf, cut);
                if (r == HTTP_PARSE_MORE)
                        r = http_request_parse(&req, buf, size);
        }
        check_outcome(c, &req, buf, r);
        /* Once there, the outcome is final. */
        assert_int_equal(http_request_parse(&req, buf, size), r);
        free(buf);
}

static void test_table(void **state) {
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                const Case *c = &cases[i];
                size_t size = case_size(c);

                print_message("# %zu: %.*s\n", i, (int) strcspn(c->head, "\r\n"), c->head);
                for (size_t cut = 0; cut <= size; cut++)
                        parse_split(c, c->head, size, cut);
                parse_split(c, c->head, size, SIZE_MAX);
        }
}

/* Long inputs, made here: split at a stride rather than at every byte. */
static void check_long(const Case *c, const char *head, size_t size) {
        for (size_t cut = 0; cut <= size; cut += 101)
                parse_split(c, head, size, cut);
        parse_split(c, head, size, size);
        parse_split(c, head, size, SIZE_MAX);
}

static void test_limits(void **state) {
        static char buf[40000], path[HTTP_REQUEST_TARGET_MAX + 1];
        size_t n;

        /* A target of exactly the maximum is fine, one byte more is 414. */
        path[0] = '/';
        memset(path + 1, 'a', HTTP_REQUEST_TARGET_MAX - 1);
        n = snprintf(buf, sizeof(buf), "GET %s HTTP/1.1\r\n\r\n", path);
        check_long(&(Case) { .result = HTTP_PARSE_DONE, .head_size = n,
                             .path = path },
                   buf, n);

        buf[4 + HTTP_REQUEST_TARGET_MAX] = 'a';
        n = 4 + HTTP_REQUEST_TARGET_MAX + 1;
        n += snprintf(buf + n, sizeof(buf) - n, " HTTP/1.1\r\n\r\n");
        check_long(&(Case) { .result = HTTP_PARSE_ERROR, .status = 414 }, buf, n);
        /* ... even before the rest of it has come. */
        check_long(&(Case) { .result = HTTP_PARSE_ERROR, .status = 414 }, buf, 4 + HTTP_REQUEST_TARGET_MAX + 1);

        /* A header line over the line limit is 431 even though the head fits in memory. */
        n = snprintf(buf, sizeof(buf), "GET /metrics HTTP/1.1\r\nX-Big: ");
        memset(buf + n, 'a', HTTP_REQUEST_LINE_MAX);
        n += HTTP_REQUEST_LINE_MAX;
        n += snprintf(buf + n, sizeof(buf) - n, "\r\n\r\n");
        check_long(&(Case) { .result = HTTP_PARSE_ERROR, .status = 431 }, buf, n);

        /* Many short lines over the head limit: 431 as well, as soon as max_head bytes did not do. */
        n = snprintf(buf, sizeof(buf), "GET /metrics HTTP/1.1\r\n");
        while (n < 20000)
                n += snprintf(buf + n, sizeof(buf) - n, "X-Header: %zu\r\n", n);
        n += snprintf(buf + n, sizeof(buf) - n, "\r\n");
        check_long(&(Case) { .result = HTTP_PARSE_ERROR, .status = 431, .max_head = 8192 }, buf, n);
        check_long(&(Case) { .result = HTTP_PARSE_MORE, .max_head = 8192 }, buf, 8191);
        check_long(&(Case) { .result = HTTP_PARSE_ERROR, .status = 431, .max_head = 8192 }, buf, 8192);
        check_long(&(Case) { .result = HTTP_PARSE_DONE, .head_size = n,
                             .path = "/metrics" },
                   buf, n);
}

static void test_keep_alive(void **state) {
        static const struct {
                unsigned minor;
                bool close, keep_alive, result;
        } table[] = {
                { 1, false, false, true },
                { 1, true, false, false },
                { 1, true, true, false },
                { 1, false, true, true },
                { 0, false, false, false },
                { 0, false, true, true },
                { 0, true, true, false },
        };

        for (size_t i = 0; i < ELEMENTSOF(table); i++) {
                HttpRequest req = { .version_major = 1, .version_minor = table[i].minor,
                                    .connection_close = table[i].close,
                                    .connection_keep_alive = table[i].keep_alive };
                assert_int_equal(http_request_keep_alive(&req), table[i].result);
        }

        assert_string_equal(http_status_reason(431), "Request Header Fields Too Large");
        assert_string_equal(http_status_reason(505), "HTTP Version Not Supported");
}

static void test_corpus(void **state) {
        const char *root = getenv("UNIFIED_SOURCE_ROOT");
        char dir[4096];

        assert_non_null(root);
        snprintf(dir, sizeof(dir), "%s/tests/fuzz/corpus-http", root);
        assert_true(fuzz_replay_dir(dir) >= 12);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_table),
                cmocka_unit_test(test_limits),
                cmocka_unit_test(test_keep_alive),
                cmocka_unit_test(test_corpus),
        };

        cmocka_set_message_output(CM_OUTPUT_TAP);
        return cmocka_run_group_tests(tests, NULL, NULL);
}
