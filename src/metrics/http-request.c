/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The HTTP/1.x request-head parser: one byte at a time, so that where the reads split the head can
 * never change the outcome. */

#include <assert.h>
#include <errno.h>
#include <string.h>
#include <strings.h>

#include "http-request.h"
#include "macro.h"

/* Where in the head the next byte is. A CR is no state of its own: it must be followed by LF, and
 * the pair is then taken as that LF alone. */
enum {
        STATE_START,            /* before the request line; empty lines are skipped */
        STATE_METHOD,
        STATE_TARGET,
        STATE_VERSION,
        STATE_HEADER_START,     /* at the start of a header line, or of the final empty line */
        STATE_NAME,
        STATE_VALUE_OWS,        /* after the colon, before the value */
        STATE_VALUE,
        STATE_DONE,
        STATE_ERROR,
};

void http_request_init(HttpRequest *req, size_t max_head) {
        assert(req);

        *req = (HttpRequest) {
                .state = STATE_START,
                .max_head = max_head,
                .method = HTTP_METHOD_OTHER,
        };
}

static bool is_tchar(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                (c != 0 && strchr("!#$%&'*+-.^_`|~", c));
}

static bool is_blank(char c) {
        return c == ' ' || c == '\t';
}

static bool is_digit(char c) {
        return c >= '0' && c <= '9';
}

/* Visible ASCII and obs-text: what a field value may hold besides blanks. */
static bool is_field_vchar(char c) {
        return (unsigned char) c > 0x20 && (unsigned char) c != 0x7f;
}

static bool token_eq(const char *buf, size_t start, size_t end, const char *token) {
        return end - start == strlen(token) && strncasecmp(buf + start, token, end - start) == 0;
}

static HttpParseResult fail(HttpRequest *req, unsigned status) {
        req->state = STATE_ERROR;
        req->status = status;
        return HTTP_PARSE_ERROR;
}

static void finish_method(HttpRequest *req, const char *buf) {
        size_t n = req->offset - req->mark;

        /* Methods are case-sensitive. */
        if (n == 3 && memcmp(buf + req->mark, "GET", 3) == 0)
                req->method = HTTP_METHOD_GET;
        else if (n == 4 && memcmp(buf + req->mark, "HEAD", 4) == 0)
                req->method = HTTP_METHOD_HEAD;
        else
                req->method = HTTP_METHOD_OTHER;
}

/* The target is buf[mark..offset): origin-form "/path?query", absolute-form "http://host/path?query"
 * (whose path may be empty), or "*". Only the path is kept. */
static int finish_target(HttpRequest *req, const char *buf) {
        size_t start = req->mark, end = req->offset, p;

        if (buf[start] == '*') {
                if (end - start != 1)
                        return -EINVAL;
        } else if (buf[start] != '/') {
                const char *colon = memchr(buf + start, ':', end - start);

                if (!colon || !(token_eq(buf, start, colon - buf, "http") || token_eq(buf, start, colon - buf, "https")))
                        return -EINVAL;
                p = colon - buf + 1;
                if (end - p < 2 || buf[p] != '/' || buf[p + 1] != '/')
                        return -EINVAL;
                for (p += 2; p < end && buf[p] != '/' && buf[p] != '?'; p++)
                        ;
                start = p;
        }

        for (p = start; p < end && buf[p] != '?'; p++)
                ;
        req->path_offset = start;
        req->path_size = p - start;
        return 0;
}

static void add_accept(HttpRequest *req, char *buf) {
        size_t size = req->value_end - req->mark;

        if (!req->has_accept || req->accept_size == 0) {
                req->has_accept = true;
                req->accept_offset = req->mark;
                req->accept_size = size;
                return;
        }
        if (size == 0)
                return;

        /* A repeated Accept means the same as one with the values joined by commas. Join them in
         * place: move what was collected so far to just before this value, over bytes already
         * consumed (at the least this line's "Accept:" and the previous line's end lie between). */
        size_t to = req->mark - req->accept_size - 1;
        assert(to > req->accept_offset);
        memmove(buf + to, buf + req->accept_offset, req->accept_size);
        buf[req->mark - 1] = ',';
        req->accept_offset = to;
        req->accept_size += 1 + size;
}

static void add_connection(HttpRequest *req, const char *buf) {
        size_t p = req->mark, end = req->value_end;

        /* A comma-separated list of options; only two matter. */
        while (p < end) {
                size_t s, e;

                while (p < end && (is_blank(buf[p]) || buf[p] == ','))
                        p++;
                s = p;
                while (p < end && buf[p] != ',')
                        p++;
                e = p;
                while (e > s && is_blank(buf[e - 1]))
                        e--;
                if (token_eq(buf, s, e, "close"))
                        req->connection_close = true;
                else if (token_eq(buf, s, e, "keep-alive"))
                        req->connection_keep_alive = true;
        }
}

static int add_content_length(HttpRequest *req, const char *buf) {
        uint64_t v = 0;

        if (req->mark == req->value_end)
                return -EINVAL;
        for (size_t p = req->mark; p < req->value_end; p++) {
                if (!is_digit(buf[p]) || v > (UINT64_MAX - 9) / 10)
                        return -EINVAL;
                v = v * 10 + (buf[p] - '0');
        }
        /* Repeats are allowed if they agree (RFC 9112, 6.3). */
        if (req->has_content_length && req->content_length != v)
                return -EINVAL;
        req->has_content_length = true;
        req->content_length = v;
        return 0;
}

/* A header line is complete: name at buf[line_start..name_end), value at buf[mark..value_end). */
static HttpParseResult finish_header(HttpRequest *req, char *buf) {
        size_t s = req->line_start, e = req->name_end;

        if (token_eq(buf, s, e, "accept"))
                add_accept(req, buf);
        else if (token_eq(buf, s, e, "connection"))
                add_connection(req, buf);
        else if (token_eq(buf, s, e, "content-length")) {
                if (add_content_length(req, buf) < 0)
                        return fail(req, 400);
        } else if (token_eq(buf, s, e, "transfer-encoding"))
                return fail(req, 501);

        req->state = STATE_HEADER_START;
        return HTTP_PARSE_MORE;
}

static HttpParseResult finish_request_line(HttpRequest *req) {
        if (req->version_major != 1 || req->version_minor > 1)
                return fail(req, 505);
        req->state = STATE_HEADER_START;
        return HTTP_PARSE_MORE;
}

static HttpParseResult finish_head(HttpRequest *req) {
        /* A body on GET or HEAD is refused rather than skipped: no client of ours sends one. */
        if (req->method != HTTP_METHOD_OTHER && req->has_content_length && req->content_length > 0)
                return fail(req, 400);
        req->head_size = req->offset + 1;
        req->offset = req->head_size;
        req->state = STATE_DONE;
        return HTTP_PARSE_DONE;
}

static void begin_value(HttpRequest *req) {
        req->mark = req->value_end = req->offset;
}

/* Takes one byte, CR already folded into the LF after it. */
static HttpParseResult parse_byte(HttpRequest *req, char *buf, char c) {
        switch (req->state) {

        case STATE_START:
                if (c == '\n')
                        return HTTP_PARSE_MORE;
                if (!is_tchar(c))
                        return fail(req, 400);
                req->mark = req->offset;
                req->state = STATE_METHOD;
                return HTTP_PARSE_MORE;

        case STATE_METHOD:
                if (c == ' ') {
                        finish_method(req, buf);
                        req->mark = req->offset + 1;
                        req->state = STATE_TARGET;
                } else if (!is_tchar(c))
                        return fail(req, 400);
                else if (req->offset - req->mark >= HTTP_REQUEST_METHOD_MAX)
                        return fail(req, 501);
                return HTTP_PARSE_MORE;

        case STATE_TARGET:
                if (c == ' ' && req->offset > req->mark) {
                        if (finish_target(req, buf) < 0)
                                return fail(req, 400);
                        req->version_pos = 0;
                        req->state = STATE_VERSION;
                } else if ((unsigned char) c <= 0x20 || (unsigned char) c >= 0x7f)
                        return fail(req, 400);
                else if (req->offset - req->mark >= HTTP_REQUEST_TARGET_MAX)
                        return fail(req, 414);
                return HTTP_PARSE_MORE;

        case STATE_VERSION: {
                unsigned pos = req->version_pos++;

                if (pos < 5 && c == "HTTP/"[pos])
                        return HTTP_PARSE_MORE;
                if (pos == 5 && is_digit(c))
                        req->version_major = c - '0';
                else if (pos == 6 && c == '.')
                        ;
                else if (pos == 7 && is_digit(c))
                        req->version_minor = c - '0';
                else if (pos == 8 && c == '\n')
                        return finish_request_line(req);
                else
                        return fail(req, 400);
                return HTTP_PARSE_MORE;
        }

        case STATE_HEADER_START:
                if (c == '\n')
                        return finish_head(req);
                if (!is_tchar(c)) /* including obs-fold: a line that starts with a blank */
                        return fail(req, 400);
                req->line_start = req->offset;
                req->state = STATE_NAME;
                return HTTP_PARSE_MORE;

        case STATE_NAME:
        case STATE_VALUE_OWS:
        case STATE_VALUE:
                if (req->offset - req->line_start >= HTTP_REQUEST_LINE_MAX)
                        return fail(req, 431);

                if (req->state == STATE_NAME) {
                        if (c == ':') {
                                req->name_end = req->offset;
                                req->state = STATE_VALUE_OWS;
                        } else if (!is_tchar(c))
                                return fail(req, 400);
                        return HTTP_PARSE_MORE;
                }

                if (is_blank(c))
                        return HTTP_PARSE_MORE;
                if (c == '\n') {
                        if (req->state == STATE_VALUE_OWS)
                                begin_value(req);
                        return finish_header(req, buf);
                }
                if (!is_field_vchar(c))
                        return fail(req, 400);
                if (req->state == STATE_VALUE_OWS) {
                        begin_value(req);
                        req->state = STATE_VALUE;
                }
                req->value_end = req->offset + 1;
                return HTTP_PARSE_MORE;
        }

        assert(false);
        return fail(req, 400);
}

HttpParseResult http_request_parse(HttpRequest *req, char *buf, size_t size) {
        assert(req);
        assert(buf || size == 0);

        if (req->state == STATE_DONE)
                return HTTP_PARSE_DONE;
        if (req->state == STATE_ERROR)
                return HTTP_PARSE_ERROR;

        for (; req->offset < size; req->offset++) {
                HttpParseResult r;
                char c = buf[req->offset];

                if (req->offset >= req->max_head)
                        return fail(req, 431);

                if (req->cr) {
                        if (c != '\n')
                                return fail(req, 400); /* a bare CR */
                        req->cr = false;
                } else if (c == '\r') {
                        req->cr = true;
                        continue;
                }

                r = parse_byte(req, buf, c);
                if (r != HTTP_PARSE_MORE)
                        return r;
        }

        /* All the room there is has been used without completing the head. */
        if (req->offset >= req->max_head)
                return fail(req, 431);
        return HTTP_PARSE_MORE;
}

bool http_request_keep_alive(const HttpRequest *req) {
        assert(req);

        if (req->connection_close)
                return false;
        return req->version_minor >= 1 || req->connection_keep_alive;
}

const char *http_status_reason(unsigned status) {
        switch (status) {
        case 200: return "OK";
        case 400: return "Bad Request";
        case 404: return "Not Found";
        case 405: return "Method Not Allowed";
        case 414: return "URI Too Long";
        case 431: return "Request Header Fields Too Large";
        case 500: return "Internal Server Error";
        case 501: return "Not Implemented";
        case 505: return "HTTP Version Not Supported";
        default: return "Unknown";
        }
}
