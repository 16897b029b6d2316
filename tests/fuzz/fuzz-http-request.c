/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* libFuzzer target for the HTTP request-head parser: parse arbitrary bytes in one buffer and again
 * fed one byte at a time, and insist that both agree and that everything found lies inside the
 * head; then choose the page format from the Accept header found, as the server does. The first
 * byte picks the head limit, so that 431 is reached too. Also linked into test-http-request, which
 * replays the seed corpus. */

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http-request.h"
#include "metrics.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x)                                \
        do {                                    \
                if (!(x))                       \
                        abort();                \
        } while (0)

static bool same_result(const HttpRequest *a, const char *abuf, const HttpRequest *b, const char *bbuf) {
        if (a->status != b->status || a->head_size != b->head_size || a->method != b->method)
                return false;
        if (a->head_size == 0)
                return true; /* an error: the rest is incomplete */
        return a->version_major == b->version_major && a->version_minor == b->version_minor &&
                a->path_size == b->path_size && a->path_offset == b->path_offset &&
                memcmp(abuf + a->path_offset, bbuf + b->path_offset, a->path_size) == 0 &&
                a->has_accept == b->has_accept && a->accept_size == b->accept_size &&
                memcmp(abuf + a->accept_offset, bbuf + b->accept_offset, a->accept_size) == 0 &&
                a->connection_close == b->connection_close &&
                a->connection_keep_alive == b->connection_keep_alive &&
                a->has_content_length == b->has_content_length && a->content_length == b->content_length;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        HttpRequest whole, bytewise;
        HttpParseResult a, b = HTTP_PARSE_MORE;
        char *buf1, *buf2, *accept;
        size_t max_head;

        if (size < 1)
                return 0;
        max_head = 64 + (size_t) data[0] * 64;
        data++;
        size--;

        /* Exactly sized copies, so that the sanitizer sees any read past the end. */
        buf1 = malloc(size ?: 1);
        buf2 = malloc(size ?: 1);
        CHECK(buf1 && buf2);
        memcpy(buf1, data, size);
        memcpy(buf2, data, size);

        http_request_init(&whole, max_head);
        a = http_request_parse(&whole, buf1, size);
        CHECK(http_request_parse(&whole, buf1, size) == a); /* a result is final */

        http_request_init(&bytewise, max_head);
        for (size_t i = 0; i <= size && b == HTTP_PARSE_MORE; i++)
                b = http_request_parse(&bytewise, buf2, i);
        CHECK(a == b);
        CHECK(same_result(&whole, buf1, &bytewise, buf2));

        switch (a) {
        case HTTP_PARSE_MORE:
                CHECK(size < max_head);
                break;
        case HTTP_PARSE_ERROR:
                CHECK(whole.status >= 400 && whole.status <= 505);
                break;
        case HTTP_PARSE_DONE:
                CHECK(whole.head_size <= size && whole.head_size <= max_head);
                CHECK(whole.path_offset + whole.path_size <= whole.head_size);
                CHECK(whole.version_major == 1 && whole.version_minor <= 1);
                if (whole.has_accept) {
                        CHECK(whole.accept_offset + whole.accept_size < whole.head_size);
                        accept = strndup(buf1 + whole.accept_offset, whole.accept_size);
                        CHECK(accept);
                        (void) metrics_format_from_accept(accept);
                        free(accept);
                }
                (void) http_request_keep_alive(&whole);
                break;
        }

        free(buf1);
        free(buf2);
        return 0;
}
