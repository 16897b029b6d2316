/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Tests of the metrics HTTP server for real: an sd-event loop, an ephemeral loopback port, plain
 * client sockets, and clients that misbehave. */

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "http-server.h"

#define PAGE "unified_test_page 1\n"

typedef struct Fixture {
        sd_event *event;
        HttpServer *server;
        uint16_t port;
        unsigned calls;
        MetricsFormat last_format;
} Fixture;

static int page(MetricsFormat fmt, char **ret_body, size_t *ret_size, void *userdata) {
        Fixture *f = userdata;

        f->calls++;
        f->last_format = fmt;
        *ret_body = strdup(PAGE);
        if (!*ret_body)
                return -ENOMEM;
        *ret_size = strlen(PAGE);
        return 0;
}

static int setup(void **state) {
        static Fixture f;
        HttpServerLimits limits = HTTP_SERVER_LIMITS_DEFAULT;

        f = (Fixture) {};
        limits.timeout_sec = 1;                 /* so that the slow-client test is fast */
        limits.connections_per_ip = 3;
        limits.memory_per_connection = 8192;

        assert_int_equal(sd_event_new(&f.event), 0);
        assert_int_equal(http_server_new(f.event, "127.0.0.1:0", -EBADF, &limits, page, &f, &f.server), 0);
        assert_int_equal(http_server_get_port(f.server, &f.port), 0);
        assert_true(f.port > 0);
        *state = &f;
        return 0;
}

static int teardown(void **state) {
        Fixture *f = *state;

        f->server = http_server_free(f->server);
        f->event = sd_event_unref(f->event);
        return 0;
}

static int client_connect(Fixture *f) {
        struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(f->port) };
        int fd;

        sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        assert_true(fd >= 0);
        /* Loopback connect completes in the kernel's backlog without the server's loop running. */
        assert_int_equal(connect(fd, (struct sockaddr *) &sin, sizeof(sin)), 0);
        assert_int_equal(fcntl(fd, F_SETFL, O_NONBLOCK), 0);
        return fd;
}

static bool startswith(const char *s, const char *prefix) {
        return strneq(s, prefix, strlen(prefix));
}

static void client_send(int fd, const char *data, size_t size) {
        assert_int_equal(send(fd, data, size, MSG_NOSIGNAL), (ssize_t) size);
}

/* Runs the server's loop until the client sees EOF (or a reset) or "timeout" passes; returns what
 * the client received, and whether the connection was closed in *ret_closed. */
static char *client_read_until_closed(Fixture *f, int fd, usec_t timeout, bool *ret_closed) {
        static char buf[65536];
        size_t size = 0;
        usec_t end = now(CLOCK_MONOTONIC) + timeout;

        *ret_closed = false;
        while (now(CLOCK_MONOTONIC) < end) {
                ssize_t n;

                assert_true(sd_event_run(f->event, 20 * USEC_PER_MSEC) >= 0);
                n = recv(fd, buf + size, sizeof(buf) - 1 - size, 0);
                if (n > 0) {
                        size += n;
                        continue;
                }
                if (n == 0 || (n < 0 && errno == ECONNRESET)) {
                        *ret_closed = true;
                        break;
                }
                assert_true(errno == EAGAIN);
        }
        buf[size] = 0;
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

        /* The 1 s timeout, not the test's 5 s bound, closed it. */
        assert_true(closed);
        assert_true(elapsed >= 900 * USEC_PER_MSEC);
        assert_true(elapsed < 3 * USEC_PER_SEC);
        assert_int_equal(f->calls, 0);
}

static void test_per_ip_limit(void **state) {
        Fixture *f = *state;
        int fds[4];
        bool closed;

        /* Three idle connections are held; the fourth from the same address is refused at once. */
        for (size_t i = 0; i < ELEMENTSOF(fds); i++)
                fds[i] = client_connect(f);
        (void) client_read_until_closed(f, fds[3], 500 * USEC_PER_MSEC, &closed);
        assert_true(closed);
        (void) client_read_until_closed(f, fds[0], 100 * USEC_PER_MSEC, &closed);
        assert_false(closed);

        for (size_t i = 0; i < ELEMENTSOF(fds); i++)
                close(fds[i]);
        /* Let the server notice the closed connections before the next one arrives. */
        for (unsigned i = 0; i < 10; i++)
                assert_true(sd_event_run(f->event, 20 * USEC_PER_MSEC) >= 0);
        /* And a well-behaved client is still served afterwards. */
        const char *reply = exchange(f, "GET /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
        assert_true(startswith(reply, "HTTP/1.1 200 OK\r\n"));
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
        };

        cmocka_set_message_output(CM_OUTPUT_TAP);
        return cmocka_run_group_tests(tests, NULL, NULL);
}
