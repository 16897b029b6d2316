/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Tests of the metrics HTTP server for real: an sd-event loop, an ephemeral loopback port, plain
 * client sockets, and clients that misbehave: slow, stuck, pipelining, too many. */

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "http-server.h"

#define PAGE "unified_test_page 1\n"
#define GET_KEEP_ALIVE "GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n"

typedef struct Fixture {
        sd_event *event;
        HttpServer *server;
        uint16_t port;
        unsigned calls;
        MetricsFormat last_format;
        size_t page_size;               /* 0: PAGE, else a page of this many bytes (see big_page_byte()) */
        int fail;                       /* the handler's error, if not 0 */
        bool reset;                     /* the last connection client_read() saw end was reset */
} Fixture;

static char big_page_byte(size_t i) {
        return "abcdefghijklmnopqrstuvwxyz\n"[i % 27];
}

static int page(MetricsFormat fmt, char **ret_body, size_t *ret_size, void *userdata) {
        Fixture *f = userdata;

        f->calls++;
        f->last_format = fmt;
        if (f->fail != 0)
                return f->fail;
        if (f->page_size == 0) {
                *ret_body = strdup(PAGE);
                if (!*ret_body)
                        return -ENOMEM;
                *ret_size = strlen(PAGE);
                return 0;
        }
        *ret_body = malloc(f->page_size);
        if (!*ret_body)
                return -ENOMEM;
        for (size_t i = 0; i < f->page_size; i++)
                (*ret_body)[i] = big_page_byte(i);
        *ret_size = f->page_size;
        return 0;
}

/* (Re)starts the fixture's server with these limits, on a new port. */
static void fixture_restart(Fixture *f, const HttpServerLimits *limits) {
        f->server = http_server_free(f->server);
        assert_int_equal(http_server_new(f->event, "127.0.0.1:0", -EBADF, limits, page, f, &f->server), 0);
        assert_int_equal(http_server_get_port(f->server, &f->port), 0);
        assert_true(f->port > 0);
}

static int setup(void **state) {
        static Fixture f;
        HttpServerLimits limits = HTTP_SERVER_LIMITS_DEFAULT;

        f = (Fixture) {};
        limits.timeout_sec = 1;                 /* so that the slow-client test is fast */
        limits.connections_per_ip = 3;
        limits.memory_per_connection = 8192;

        assert_int_equal(sd_event_new(&f.event), 0);
        fixture_restart(&f, &limits);
        *state = &f;
        return 0;
}

static int teardown(void **state) {
        Fixture *f = *state;

        f->server = http_server_free(f->server);
        f->event = sd_event_unref(f->event);
        return 0;
}

/* "rcvbuf" > 0 makes the client's receive buffer that small (a client that reads slowly or never). */
static int client_connect_rcvbuf(Fixture *f, int rcvbuf) {
        struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(f->port) };
        int fd;

        sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        assert_true(fd >= 0);
        if (rcvbuf > 0)
                assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf)), 0);
        /* Loopback connect completes in the kernel's backlog without the server's loop running. */
        assert_int_equal(connect(fd, (struct sockaddr *) &sin, sizeof(sin)), 0);
        assert_int_equal(fcntl(fd, F_SETFL, O_NONBLOCK), 0);
        return fd;
}

static int client_connect(Fixture *f) {
        return client_connect_rcvbuf(f, 0);
}

static bool startswith(const char *s, const char *prefix) {
        return strneq(s, prefix, strlen(prefix));
}

static bool endswith(const char *s, const char *suffix) {
        size_t n = strlen(s), k = strlen(suffix);

        return n >= k && streq(s + n - k, suffix);
}

static void client_send(int fd, const char *data, size_t size) {
        assert_int_equal(send(fd, data, size, MSG_NOSIGNAL), (ssize_t) size);
}

/* The size of the first whole response in "buf" (head and Content-Length bytes of body), or SIZE_MAX
 * while it is incomplete. */
static size_t response_size(const char *buf, size_t size) {
        const char *end = memmem(buf, size, "\r\n\r\n", 4), *cl;

        if (!end)
                return SIZE_MAX;
        cl = strstr(buf, "\r\nContent-Length: ");
        assert_true(cl && cl < end);
        return end + 4 - buf + strtoull(cl + strlen("\r\nContent-Length: "), NULL, 10);
}

#define UNTIL_CLOSED 0
#define UNTIL_RESPONSE SIZE_MAX

/* Runs the server's loop and reads what the client receives into "buf" (NUL-terminated), until one
 * whole response came (UNTIL_RESPONSE), or until the client sees EOF or a reset (UNTIL_CLOSED, and
 * in any case), or "timeout" passes. At most "chunk" bytes are read at a time, with "pause" after
 * each read: a slow reader. Returns the bytes read; whether the connection ended in *ret_closed. */
static size_t client_read(Fixture *f, int fd, char *buf, size_t max, size_t until, size_t chunk, usec_t pause,
                          usec_t timeout, bool *ret_closed) {
        usec_t end = now(CLOCK_MONOTONIC) + timeout;
        size_t size = 0;

        *ret_closed = false;
        while (now(CLOCK_MONOTONIC) < end) {
                ssize_t n;

                if (until == UNTIL_RESPONSE && response_size(buf, size) <= size)
                        break;
                assert_true(sd_event_run(f->event, 20 * USEC_PER_MSEC) >= 0);
                assert_true(size < max - 1);
                n = recv(fd, buf + size, MIN(chunk, max - 1 - size), 0);
                if (n > 0) {
                        size += n;
                        buf[size] = 0;
                        if (pause > 0)
                                usleep(pause);
                        continue;
                }
                if (n == 0 || (n < 0 && errno == ECONNRESET)) {
                        *ret_closed = true;
                        f->reset = n < 0;
                        break;
                }
                assert_true(errno == EAGAIN);
        }
        buf[size] = 0;
        return size;
}

static char *client_read_until_closed(Fixture *f, int fd, usec_t timeout, bool *ret_closed) {
        static char buf[65536];

        (void) client_read(f, fd, buf, sizeof(buf), UNTIL_CLOSED, sizeof(buf), 0, timeout, ret_closed);
        return buf;
}

static char *exchange(Fixture *f, const char *request) {
        bool closed;
        char *reply;
        int fd = client_connect(f);

        client_send(fd, request, strlen(request));
        reply = client_read_until_closed(f, fd, 5 * USEC_PER_SEC, &closed);
        close(fd);
        assert_true(closed);
        return reply;
}

static void test_get(void **state) {
        Fixture *f = *state;
        const char *reply = exchange(f, "GET /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");

        assert_true(startswith(reply, "HTTP/1.1 200 OK\r\n"));
        assert_non_null(strstr(reply, "\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"));
        assert_non_null(strstr(reply, "\r\n\r\n" PAGE));
        assert_int_equal(f->calls, 1);
        assert_int_equal(f->last_format, METRICS_FORMAT_PROMETHEUS);
}

static void test_get_openmetrics(void **state) {
        Fixture *f = *state;
        const char *reply = exchange(f, "GET /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
                                        "Accept: application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5\r\n\r\n");

        assert_true(startswith(reply, "HTTP/1.1 200 OK\r\n"));
        assert_non_null(strstr(reply, "\r\nContent-Type: application/openmetrics-text; version=1.0.0; charset=utf-8\r\n"));
        assert_int_equal(f->last_format, METRICS_FORMAT_OPENMETRICS);
}

static void test_head(void **state) {
        Fixture *f = *state;
        const char *reply = exchange(f, "HEAD /metrics HTTP/1.0\r\n\r\n");

        assert_true(startswith(reply, "HTTP/1.1 200 OK\r\n") || startswith(reply, "HTTP/1.0 200 OK\r\n"));
        assert_null(strstr(reply, PAGE));
}

static void test_post(void **state) {
        Fixture *f = *state;
        const char *reply = exchange(f, "POST /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
                                        "Content-Length: 3\r\n\r\nabc");

        assert_true(startswith(reply, "HTTP/1.1 405 Method Not Allowed\r\n"));
        assert_non_null(strstr(reply, "\r\nAllow: GET, HEAD\r\n"));
        assert_int_equal(f->calls, 0);
}

static void test_not_found(void **state) {
        Fixture *f = *state;
        const char *reply = exchange(f, "GET /nope HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");

        assert_true(startswith(reply, "HTTP/1.1 404 Not Found\r\n"));
        assert_int_equal(f->calls, 0);
}

static void test_garbage(void **state) {
        Fixture *f = *state;
        const char *reply = exchange(f, "\x01\x02\x03 garbage \xff\r\n\r\n");

        /* Answered with 400 and closed, within the exchange's bound; the page is never produced. */
        assert_true(startswith(reply, "HTTP/1.1 400 Bad Request\r\n"));
        assert_int_equal(f->calls, 0);
}

static void test_oversized_headers(void **state) {
        Fixture *f = *state;
        static char request[32768];
        const char *reply;
        size_t n;

        n = snprintf(request, sizeof(request), "GET /metrics HTTP/1.1\r\nHost: localhost\r\nX-Big: ");
        memset(request + n, 'a', 20000);
        strcpy(request + n + 20000, "\r\n\r\n");
        reply = exchange(f, request);

        assert_true(startswith(reply, "HTTP/1.1 431 Request Header Fields Too Large\r\n"));
        assert_int_equal(f->calls, 0);
}

static void test_slow_client(void **state) {
        Fixture *f = *state;
        const char *partial = "GET /metrics HTTP/1.1\r\nHost: localhost\r\n";
        usec_t start = now(CLOCK_MONOTONIC), elapsed;
        bool closed;
        int fd = client_connect(f);

        client_send(fd, partial, strlen(partial));
        (void) client_read_until_closed(f, fd, 5 * USEC_PER_SEC, &closed);
        elapsed = now(CLOCK_MONOTONIC) - start;
        close(fd);

        /* The 1 s timeout, not the test's 5 s bound, closed it; with a FIN, not a reset (which
         * tests/integration/cases/50-metrics.sh relies on: its "cat" must end without an error). */
        assert_true(closed);
        assert_false(f->reset);
        assert_true(elapsed >= 900 * USEC_PER_MSEC);
        assert_true(elapsed < 3 * USEC_PER_SEC);
        assert_int_equal(f->calls, 0);
}

/* Opens "n" connections from one address: the last is refused (closed at once, unanswered) and the
 * others are held, and served. After they are gone, a new client is served. */
static void check_limit(Fixture *f, size_t n) {
        int fds[8];
        bool closed;

        assert_true(n <= ELEMENTSOF(fds));
        for (size_t i = 0; i < n; i++)
                fds[i] = client_connect(f);
        (void) client_read_until_closed(f, fds[n - 1], 500 * USEC_PER_MSEC, &closed);
        assert_true(closed);
        for (size_t i = 0; i < n - 1; i++) {
                (void) client_read_until_closed(f, fds[i], 50 * USEC_PER_MSEC, &closed);
                assert_false(closed);
        }
        client_send(fds[0], GET_KEEP_ALIVE, strlen(GET_KEEP_ALIVE));
        assert_true(startswith(client_read_until_closed(f, fds[0], 200 * USEC_PER_MSEC, &closed), "HTTP/1.1 200 OK\r\n"));

        for (size_t i = 0; i < n; i++)
                close(fds[i]);
        /* Let the server notice the closed connections before the next one arrives. */
        for (unsigned i = 0; i < 10; i++)
                assert_true(sd_event_run(f->event, 20 * USEC_PER_MSEC) >= 0);
        const char *reply = exchange(f, "GET /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
        assert_true(startswith(reply, "HTTP/1.1 200 OK\r\n"));
}

static void test_per_ip_limit(void **state) {
        /* Three connections per address are held; the fourth from the same address is refused. */
        check_limit(*state, 4);
}

static void test_keep_alive(void **state) {
        Fixture *f = *state;
        static char buf[65536];
        bool closed;
        size_t n;
        int fd = client_connect(f);

        /* Two requests, one after the other, on one connection: the first answer leaves it open. */
        for (unsigned i = 1; i <= 2; i++) {
                client_send(fd, GET_KEEP_ALIVE, strlen(GET_KEEP_ALIVE));
                n = client_read(f, fd, buf, sizeof(buf), UNTIL_RESPONSE, sizeof(buf), 0, 5 * USEC_PER_SEC, &closed);
                assert_false(closed);
                assert_int_equal(response_size(buf, n), n);
                assert_true(startswith(buf, "HTTP/1.1 200 OK\r\n"));
                assert_null(strstr(buf, "Connection: close"));
                assert_non_null(strstr(buf, "\r\n\r\n" PAGE));
                assert_int_equal(f->calls, i);
        }
        (void) client_read(f, fd, buf, sizeof(buf), UNTIL_CLOSED, sizeof(buf), 0, 200 * USEC_PER_MSEC, &closed);
        assert_false(closed);
        close(fd);
}

static void test_pipelined(void **state) {
        Fixture *f = *state;
        static const char requests[] = "GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n"
                                       "GET /metrics?second HTTP/1.1\r\nHost: localhost\r\n"
                                       "Accept: application/openmetrics-text\r\nConnection: close\r\n\r\n";
        const char *reply = exchange(f, requests), *second;

        /* Both answered, in order, in one stream; then closed as the second asked. */
        assert_true(startswith(reply, "HTTP/1.1 200 OK\r\n"));
        assert_true(response_size(reply, strlen(reply)) < strlen(reply));
        second = reply + response_size(reply, strlen(reply));
        assert_true(startswith(second, "HTTP/1.1 200 OK\r\n"));
        assert_true(strstr(reply, "Connection: close") > second);
        assert_non_null(strstr(second, "\r\nConnection: close\r\n"));
        assert_non_null(strstr(second, "\r\nContent-Type: application/openmetrics-text"));
        assert_int_equal(response_size(second, strlen(second)), strlen(second));
        assert_int_equal(f->calls, 2);
}

/* Requests and the start of their answers, on one server: each row a connection of its own. */
static void test_answers(void **state) {
        static const struct {
                const char *request;
                int fail;                       /* the handler fails with this */
                const char *status_line;
                const char *contains;
                bool page;                      /* the page is produced */
        } table[] = {
                /* HTTP/1.0 closes without being asked to. */
                { "GET /metrics HTTP/1.0\r\n\r\n", 0, "HTTP/1.1 200 OK\r\n", "\r\nConnection: close\r\n\r\n" PAGE, true },
                /* The query string is not part of the path. */
                { "GET /metrics?name[]=x&y HTTP/1.1\r\nConnection: close\r\n\r\n", 0, "HTTP/1.1 200 OK\r\n",
                  "\r\n\r\n" PAGE, true },
                /* The handler failing is a 500, and closes even a keep-alive connection. */
                { "GET /metrics HTTP/1.1\r\n\r\n", -EIO, "HTTP/1.1 500 Internal Server Error\r\n",
                  "\r\nConnection: close\r\n", true },
                { "GET /metrics HTTP/2.0\r\n\r\n", 0, "HTTP/1.1 505 HTTP Version Not Supported\r\n",
                  "\r\nContent-Type: text/plain; charset=utf-8\r\n", false },
                { "POST /metrics HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 0,
                  "HTTP/1.1 501 Not Implemented\r\n", "\r\nConnection: close\r\n", false },
                { "GET /metrics HTTP/1.1\r\nContent-Length: 2\r\n\r\nab", 0, "HTTP/1.1 400 Bad Request\r\n",
                  "\r\nConnection: close\r\n", false },
                /* No body for HEAD, even with an error. */
                { "HEAD /nope HTTP/1.1\r\n\r\n", 0, "HTTP/1.1 404 Not Found\r\n", "\r\nContent-Length: 40\r\n", false },
        };

        for (size_t i = 0; i < ELEMENTSOF(table); i++) {
                Fixture *f = *state;
                unsigned calls = f->calls;
                const char *reply;

                print_message("# %.*s\n", (int) strcspn(table[i].request, "\r\n"), table[i].request);
                f->fail = table[i].fail;
                reply = exchange(f, table[i].request);
                assert_true(startswith(reply, table[i].status_line));
                assert_non_null(strstr(reply, table[i].contains));
                assert_int_equal(f->calls - calls, table[i].page);
                if (strneq(table[i].request, "HEAD", 4))
                        assert_true(endswith(reply, "\r\n\r\n"));
        }
}

static void test_head_content_length(void **state) {
        Fixture *f = *state;
        char expect[64];
        const char *reply = exchange(f, "HEAD /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");

        /* The size the GET would have, and nothing after the head. */
        snprintf(expect, sizeof(expect), "\r\nContent-Length: %zu\r\n", strlen(PAGE));
        assert_non_null(strstr(reply, expect));
        assert_true(endswith(reply, "\r\n\r\n"));
}

static void test_large_body_slow_reader(void **state) {
        Fixture *f = *state;
        static const char request[] = "GET /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
        HttpServerLimits limits = HTTP_SERVER_LIMITS_DEFAULT;
        size_t size = 1024 * 1024, n, head;
        char *buf = malloc(size + 4096);
        const char *body;
        bool closed;
        int fd;

        /* 1 MiB read 16 KiB at a time with pauses, through a small receive buffer, within the 10 s
         * timeout: the server waits for the socket to drain again and again, and all of it arrives. */
        assert_non_null(buf);
        fixture_restart(f, &limits);
        f->page_size = size;
        fd = client_connect_rcvbuf(f, 32 * 1024);
        client_send(fd, request, strlen(request));
        n = client_read(f, fd, buf, size + 4096, UNTIL_CLOSED, 16 * 1024, 1 * USEC_PER_MSEC, 10 * USEC_PER_SEC, &closed);
        close(fd);

        assert_true(closed);
        assert_true(startswith(buf, "HTTP/1.1 200 OK\r\n"));
        body = strstr(buf, "\r\n\r\n");
        assert_non_null(body);
        body += 4;
        head = body - buf;
        assert_int_equal(n, head + size);
        for (size_t i = 0; i < size; i++)
                if (body[i] != big_page_byte(i))
                        fail_msg("byte %zu of the body is wrong", i);
        free(buf);
}

static void test_stuck_reader(void **state) {
        Fixture *f = *state;
        static const char request[] = "GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n";
        size_t size = 16 * 1024 * 1024, n;
        usec_t start;
        char *buf = malloc(size + 4096);
        const char *reply;
        bool closed;
        int fd;

        /* A client that asks for a page far larger than all the socket buffers, and never reads. */
        assert_non_null(buf);
        f->page_size = size;
        fd = client_connect_rcvbuf(f, 4096);
        client_send(fd, request, strlen(request));
        for (unsigned i = 0; i < 10 && f->calls == 0; i++)
                assert_true(sd_event_run(f->event, 20 * USEC_PER_MSEC) >= 0);
        assert_int_equal(f->calls, 1);

        /* Meanwhile others are served at once. */
        f->page_size = 0;
        start = now(CLOCK_MONOTONIC);
        reply = exchange(f, "GET /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
        assert_true(startswith(reply, "HTTP/1.1 200 OK\r\n"));
        assert_true(now(CLOCK_MONOTONIC) - start < 500 * USEC_PER_MSEC);

        /* After the 1 s timeout the stuck one is dropped: reading now finds the connection ended
         * before the whole page came. */
        while (now(CLOCK_MONOTONIC) - start < 1500 * USEC_PER_MSEC)
                assert_true(sd_event_run(f->event, 20 * USEC_PER_MSEC) >= 0);
        n = client_read(f, fd, buf, size + 4096, UNTIL_CLOSED, size, 0, 5 * USEC_PER_SEC, &closed);
        close(fd);
        assert_true(closed);
        assert_true(f->reset);
        assert_true(startswith(buf, "HTTP/1.1 200 OK\r\n"));
        assert_true(n < size);
        free(buf);
}

static void test_connection_limit(void **state) {
        Fixture *f = *state;
        HttpServerLimits limits = HTTP_SERVER_LIMITS_DEFAULT;

        /* A server with room for two connections in total: the third is refused. */
        limits.connections = 2;
        fixture_restart(f, &limits);
        check_limit(f, 3);
}

static void test_parse_address(void **state) {
        static const struct {
                const char *in;
                int r;
                int family;
                uint16_t port;
        } table[] = {
                { "127.0.0.1:9000", 0, AF_INET, 9000 },
                { "0.0.0.0:80", 0, AF_INET, 80 },
                { "[::1]:9000", 0, AF_INET6, 9000 },
                { "9100", 0, AF_INET, 9100 },
                { "127.0.0.1:0", 0, AF_INET, 0 },
                { "127.0.0.1:65536", -EINVAL, 0, 0 },
                { "localhost:9000", -EINVAL, 0, 0 },
                { "::1:9000", -EINVAL, 0, 0 },
                { "[::1]9000", -EINVAL, 0, 0 },
                { "127.0.0.1:", -EINVAL, 0, 0 },
                { "127.0.0.1:90a", -EINVAL, 0, 0 },
                { "", -EINVAL, 0, 0 },
        };

        for (size_t i = 0; i < ELEMENTSOF(table); i++) {
                struct sockaddr_storage ss = {};
                socklen_t len = 0;

                assert_int_equal(http_server_parse_address(table[i].in, &ss, &len), table[i].r);
                if (table[i].r < 0)
                        continue;
                assert_int_equal(ss.ss_family, table[i].family);
                assert_int_equal(ntohs(((struct sockaddr_in *) &ss)->sin_port), table[i].port);
        }
}

static void test_socket_activation_fd(void **state) {
        Fixture *f = *state;
        _cleanup_(http_server_freep) HttpServer *s = NULL;
        struct sockaddr_in sin = { .sin_family = AF_INET };
        socklen_t len = sizeof(sin);
        uint16_t port;
        int fd;

        /* A listening socket made elsewhere (systemd, in the daemon) is served as it is. */
        sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        /* Blocking, as systemd passes it by default: the server must not block on it. */
        fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        assert_true(fd >= 0);
        assert_int_equal(bind(fd, (struct sockaddr *) &sin, sizeof(sin)), 0);
        assert_int_equal(listen(fd, 16), 0);
        assert_int_equal(getsockname(fd, (struct sockaddr *) &sin, &len), 0);

        assert_int_equal(http_server_new(f->event, NULL, fd, NULL, page, f, &s), 0);
        assert_int_equal(http_server_get_port(s, &port), 0);
        assert_int_equal(port, ntohs(sin.sin_port));
        assert_true(fcntl(fd, F_GETFL) & O_NONBLOCK);

        f->port = port;
        const char *reply = exchange(f, "GET /metrics HTTP/1.0\r\n\r\n");
        assert_non_null(strstr(reply, " 200 OK\r\n"));
        assert_int_equal(f->calls, 1);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_parse_address),
                cmocka_unit_test_setup_teardown(test_get, setup, teardown),
                cmocka_unit_test_setup_teardown(test_get_openmetrics, setup, teardown),
                cmocka_unit_test_setup_teardown(test_head, setup, teardown),
                cmocka_unit_test_setup_teardown(test_post, setup, teardown),
                cmocka_unit_test_setup_teardown(test_not_found, setup, teardown),
                cmocka_unit_test_setup_teardown(test_garbage, setup, teardown),
                cmocka_unit_test_setup_teardown(test_oversized_headers, setup, teardown),
                cmocka_unit_test_setup_teardown(test_slow_client, setup, teardown),
                cmocka_unit_test_setup_teardown(test_per_ip_limit, setup, teardown),
                cmocka_unit_test_setup_teardown(test_socket_activation_fd, setup, teardown),
                cmocka_unit_test_setup_teardown(test_keep_alive, setup, teardown),
                cmocka_unit_test_setup_teardown(test_pipelined, setup, teardown),
                cmocka_unit_test_setup_teardown(test_answers, setup, teardown),
                cmocka_unit_test_setup_teardown(test_head_content_length, setup, teardown),
                cmocka_unit_test_setup_teardown(test_large_body_slow_reader, setup, teardown),
                cmocka_unit_test_setup_teardown(test_stuck_reader, setup, teardown),
                cmocka_unit_test_setup_teardown(test_connection_limit, setup, teardown),
        };

        cmocka_set_message_output(CM_OUTPUT_TAP);
        return cmocka_run_group_tests(tests, NULL, NULL);
}
