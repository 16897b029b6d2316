/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The exporter's HTTP server (libmicrohttpd) over real loopback sockets: what it answers, and that a
 * scraper is answered while slow clients from 127.0.0.1, .2 and .3 hold connections open and come back
 * whenever they are dropped (issue 15's fairness requirement), with the default limits and with limits
 * small enough that the slow clients alone would fill them. */

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "metrics-httpd.h"
#include "socket-util.h"

#define PAGE "unified_build_info{version=\"test\"} 1\n"

static unsigned n_pages;

static int page(MetricsFormat fmt, char **ret_body, size_t *ret_size, char **ret_error, void *userdata) {
        const char *text = fmt == METRICS_FORMAT_OPENMETRICS ? PAGE "# EOF\n" : PAGE;

        if (userdata) {
                *ret_error = strdup("unifiedd is not there");
                return -EHOSTDOWN;
        }
        __atomic_add_fetch(&n_pages, 1, __ATOMIC_RELAXED);
        *ret_body = strdup(text);
        *ret_size = strlen(text);
        return *ret_body ? 0 : -ENOMEM;
}

static MetricsHttpd *server(const MetricsHttpdLimits *limits, bool failing, uint16_t *ret_port) {
        MetricsHttpd *h = NULL;
        int fd;

        fd = socket_listen_tcp("127.0.0.1:0", 128);
        assert_true(fd >= 0);
        assert_int_equal(metrics_httpd_new(fd, limits, page, failing ? (void *) 1 : NULL, &h), 0);
        assert_int_equal(metrics_httpd_get_port(h, ret_port), 0);
        return h;
}

/* A TCP connection to 127.0.0.1:port from "source" (127.0.0.x). */
static int connect_from(const char *source, uint16_t port) {
        struct sockaddr_in src = { .sin_family = AF_INET }, dst = { .sin_family = AF_INET };
        int fd;

        fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        assert_int_equal(inet_pton(AF_INET, source, &src.sin_addr), 1);
        dst.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        dst.sin_port = htons(port);
        if (bind(fd, (struct sockaddr *) &src, sizeof(src)) < 0 ||
            connect(fd, (struct sockaddr *) &dst, sizeof(dst)) < 0) {
                int r = -errno;
                close(fd);
                return r;
        }
        return fd;
}

/* One request with "Connection: close"; the response (head and body) in "ret", up to "timeout_ms" for
 * all of it. Returns the status, or 0 if the connection ended without one. */
static int request(uint16_t port, const char *source, const char *method, const char *path, const char *accept,
                   int timeout_ms, char *ret, size_t size) {
        char req[512];
        size_t got = 0;
        int fd, status = 0;

        fd = connect_from(source, port);
        if (fd < 0)
                return 0;
        snprintf(req, sizeof(req), "%s %s HTTP/1.1\r\nHost: x\r\n%s%s%sConnection: close\r\n\r\n", method, path,
                 accept ? "Accept: " : "", strempty(accept), accept ? "\r\n" : "");
        if (send(fd, req, strlen(req), MSG_NOSIGNAL) != (ssize_t) strlen(req)) {
                close(fd);
                return 0;
        }
        for (;;) {
                struct pollfd p = { .fd = fd, .events = POLLIN };
                ssize_t n;

                if (poll(&p, 1, timeout_ms) <= 0)
                        break; /* timed out: what came so far is the answer */
                n = recv(fd, ret + got, size - 1 - got, 0);
                if (n <= 0)
                        break;
                got += n;
                if (got == size - 1)
                        break;
        }
        ret[got] = 0;
        close(fd);
        (void) sscanf(ret, "HTTP/1.%*d %d", &status);
        return status;
}

static void test_answers(void **state) {
        _cleanup_(metrics_httpd_freep) MetricsHttpd *h = NULL;
        char buf[4096];
        uint16_t port;

        h = server(NULL, false, &port);

        assert_int_equal(request(port, "127.0.0.1", "GET", "/metrics", NULL, 5000, buf, sizeof(buf)), 200);
        assert_non_null(strstr(buf, "Content-Type: text/plain; version=0.0.4"));
        assert_non_null(strstr(buf, "\r\n\r\n" PAGE));

        assert_int_equal(request(port, "127.0.0.1", "GET", "/metrics?x=1",
                                 "application/openmetrics-text; version=1.0.0,text/plain;version=0.0.4;q=0.5,*/*;q=0.1",
                                 5000, buf, sizeof(buf)), 200);
        assert_non_null(strstr(buf, "Content-Type: application/openmetrics-text; version=1.0.0"));
        assert_non_null(strstr(buf, "# EOF\n"));

        assert_int_equal(request(port, "127.0.0.1", "HEAD", "/metrics", NULL, 5000, buf, sizeof(buf)), 200);
        assert_null(strstr(buf, "unified_build_info"));

        assert_int_equal(request(port, "127.0.0.1", "GET", "/nope", NULL, 5000, buf, sizeof(buf)), 404);
        assert_int_equal(request(port, "127.0.0.1", "POST", "/metrics", NULL, 5000, buf, sizeof(buf)), 405);
        assert_non_null(strstr(buf, "Allow: GET, HEAD"));
        assert_true(request(port, "127.0.0.1", "GARBAGE", "/", NULL, 5000, buf, sizeof(buf)) >= 400);
}

static void test_collection_failure_is_503(void **state) {
        _cleanup_(metrics_httpd_freep) MetricsHttpd *h = NULL;
        char buf[4096];
        uint16_t port;

        h = server(NULL, true, &port);
        assert_int_equal(request(port, "127.0.0.1", "GET", "/metrics", NULL, 5000, buf, sizeof(buf)), 503);
        assert_non_null(strstr(buf, "Failed to collect the metrics: unifiedd is not there"));
}

/* Opens "fd" and sends the start of a request head, never its end. */
static int slow_open(const char *source, uint16_t port) {
        static const char head[] = "GET /metrics HTTP/1.1\r\nHost: x\r\n";
        int fd = connect_from(source, port);

        if (fd >= 0 && send(fd, head, strlen(head), MSG_NOSIGNAL) < 0) {
                close(fd);
                return -errno;
        }
        return fd;
}

/* Whether the server closed "fd" within "timeout_ms". */
static bool closed_within(int fd, int timeout_ms) {
        struct pollfd p = { .fd = fd, .events = POLLIN };
        char c;

        if (poll(&p, 1, timeout_ms) <= 0)
                return false;
        return recv(fd, &c, 1, MSG_DONTWAIT) <= 0;
}

/* In a child process until killed: "n" slow clients spread over 127.0.0.1, .2 and .3, each sending one
 * more header line every "interval_ms" and connecting again as soon as it is dropped. */
_noreturn_ static void slow_clients(uint16_t port, unsigned n, int interval_ms) {
        static const char *const sources[] = { "127.0.0.1", "127.0.0.2", "127.0.0.3" };
        int fds[64];

        assert_true(n <= ELEMENTSOF(fds));
        for (unsigned i = 0; i < n; i++)
                fds[i] = -1;
        for (;;) {
                for (unsigned i = 0; i < n; i++) {
                        if (fds[i] >= 0 && (closed_within(fds[i], 0) ||
                                            send(fds[i], "X-Slow: 1\r\n", 11, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)) {
                                close(fds[i]);
                                fds[i] = -1;
                        }
                        if (fds[i] < 0)
                                fds[i] = slow_open(sources[i % ELEMENTSOF(sources)], port);
                }
                (void) poll(NULL, 0, interval_ms);
        }
}

/* 10 scrapes from 127.0.0.1 while 36 slow clients hold connections: all of them answered in time. */
static void scrape_among_slow_clients(const MetricsHttpdLimits *limits) {
        _cleanup_(metrics_httpd_freep) MetricsHttpd *h = NULL;
        unsigned answered = 0;
        char buf[4096];
        uint16_t port;
        pid_t pid;

        h = server(limits, false, &port);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0)
                slow_clients(port, 36, 1000);
        (void) poll(NULL, 0, 1500); /* all 36 connected and trickling */

        for (unsigned i = 0; i < 10; i++) {
                int status = request(port, "127.0.0.1", "GET", "/metrics", NULL, 3000, buf, sizeof(buf));

                fprintf(stderr, "# scrape %u: %d\n", i, status);
                if (status == 200 && strstr(buf, PAGE))
                        answered++;
                (void) poll(NULL, 0, 300);
        }
        kill(pid, SIGKILL);
        assert_int_equal(waitpid(pid, NULL, 0), pid);
        assert_int_equal(answered, 10);
}

static void test_scraper_among_36_slow_clients(void **state) {
        scrape_among_slow_clients(NULL);
}

/* The slow clients alone would take every slot: only pushing the oldest waiting ones out keeps room. */
static void test_scraper_among_36_slow_clients_tight_limits(void **state) {
        MetricsHttpdLimits limits = METRICS_HTTPD_LIMITS_DEFAULT;

        limits.connections = 32;
        limits.soft_connections = 12;
        limits.waiting_per_ip = 4;
        scrape_among_slow_clients(&limits);
}

/* More waiting connections from one address than allowed: the oldest are shut (once they have had their
 * grace period to send a head), the newest kept. */
static void test_waiting_per_ip(void **state) {
        _cleanup_(metrics_httpd_freep) MetricsHttpd *h = NULL;
        MetricsHttpdLimits limits = METRICS_HTTPD_LIMITS_DEFAULT;
        int fds[6], other;
        uint16_t port;

        limits.waiting_per_ip = 4;
        h = server(&limits, false, &port);
        for (unsigned i = 0; i < ELEMENTSOF(fds); i++) {
                if (i == 4)
                        /* The first four are past their grace when the last two come. */
                        (void) poll(NULL, 0, METRICS_HTTPD_PRUNE_GRACE_USEC / USEC_PER_MSEC + 200);
                fds[i] = slow_open("127.0.0.1", port);
                assert_true(fds[i] >= 0);
                (void) poll(NULL, 0, 50); /* in this order */
        }
        other = slow_open("127.0.0.2", port);
        assert_true(other >= 0);

        assert_true(closed_within(fds[0], 2000));
        assert_true(closed_within(fds[1], 2000));
        for (unsigned i = 2; i < ELEMENTSOF(fds); i++)
                assert_false(closed_within(fds[i], 200));
        assert_false(closed_within(other, 200));
        for (unsigned i = 0; i < ELEMENTSOF(fds); i++)
                close(fds[i]);
        close(other);
}

/* A client that trickles its head forever is dropped once it has waited head_timeout_sec, although it
 * is never inactive long enough for libmicrohttpd's own timeout. */
static void test_head_deadline(void **state) {
        _cleanup_(metrics_httpd_freep) MetricsHttpd *h = NULL;
        MetricsHttpdLimits limits = METRICS_HTTPD_LIMITS_DEFAULT;
        char buf[4096];
        uint16_t port;
        int fd;

        limits.head_timeout_sec = 1;
        h = server(&limits, false, &port);
        fd = slow_open("127.0.0.2", port);
        assert_true(fd >= 0);
        for (unsigned i = 0; i < 4; i++) {
                (void) poll(NULL, 0, 400);
                assert_int_equal(send(fd, "X-Slow: 1\r\n", 11, MSG_NOSIGNAL), 11);
        }
        /* 1.6 s later a newcomer needs a slot: the trickler goes at once, well before libmicrohttpd's
         * inactivity timeout (1 s after its last line) could be the reason. */
        assert_int_equal(request(port, "127.0.0.1", "GET", "/metrics", NULL, 5000, buf, sizeof(buf)), 200);
        assert_true(closed_within(fd, 300));
        close(fd);
}

static void test_idle(void **state) {
        _cleanup_(metrics_httpd_freep) MetricsHttpd *h = NULL;
        uint16_t port;
        int fd;

        h = server(NULL, false, &port);
        assert_false(metrics_httpd_is_idle(h, 10 * USEC_PER_SEC));
        assert_true(metrics_httpd_is_idle(h, 0));
        fd = slow_open("127.0.0.1", port);
        assert_true(fd >= 0);
        (void) poll(NULL, 0, 200);
        assert_false(metrics_httpd_is_idle(h, 0));
        /* Quiescing with a connection open: not drained yet. */
        assert_false(metrics_httpd_quiesce(h));
        close(fd);
        (void) poll(NULL, 0, 500);
        assert_true(metrics_httpd_quiesce(h));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_answers),
                cmocka_unit_test(test_collection_failure_is_503),
                cmocka_unit_test(test_waiting_per_ip),
                cmocka_unit_test(test_head_deadline),
                cmocka_unit_test(test_idle),
                cmocka_unit_test(test_scraper_among_36_slow_clients),
                cmocka_unit_test(test_scraper_among_36_slow_clients_tight_limits),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
