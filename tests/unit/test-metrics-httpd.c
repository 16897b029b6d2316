/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The exporter's HTTP server (libmicrohttpd behind its waiting room) over real loopback sockets: what it
 * answers, the waiting room's bounds, and that a scraper is answered while slow clients from 127.0.0.1, .2
 * and .3 hold connections open and come back whenever they are dropped (issue 15's fairness requirement),
 * with the default limits and with limits small enough that the slow clients alone would fill them.
 *
 * The server runs its event loop in a thread of its own; the test pauses that thread (server_pause()) before
 * it looks at the server's state, which is the event loop's alone. */

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
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

typedef struct Server {
        sd_event *event;
        MetricsHttpd *httpd;
        uint16_t port;
        int wake_fd;            /* an eventfd: wakes the loop to look at "pause" */
        bool pause;
        pthread_t thread;
        bool running;
} Server;

static void *server_loop(void *userdata) {
        Server *s = userdata;

        while (!__atomic_load_n(&s->pause, __ATOMIC_ACQUIRE))
                if (sd_event_run(s->event, UINT64_MAX) < 0)
                        break;
        return NULL;
}

static int on_wake(sd_event_source *source, int fd, uint32_t revents, void *userdata) {
        uint64_t n;

        (void) read(fd, &n, sizeof(n));
        return 0;
}

static void server_resume(Server *s) {
        assert_false(s->running);
        __atomic_store_n(&s->pause, false, __ATOMIC_RELEASE);
        assert_int_equal(pthread_create(&s->thread, NULL, server_loop, s), 0);
        s->running = true;
}

/* Stops the loop's thread: until server_resume(), the server's state may be looked at from the test. */
static void server_pause(Server *s) {
        uint64_t one = 1;

        assert_true(s->running);
        __atomic_store_n(&s->pause, true, __ATOMIC_RELEASE);
        assert_int_equal(write(s->wake_fd, &one, sizeof(one)), (ssize_t) sizeof(one));
        assert_int_equal(pthread_join(s->thread, NULL), 0);
        s->running = false;
}

static void server_start(Server *s, const MetricsHttpdLimits *limits, bool failing) {
        int fd;

        *s = (Server) {};
        assert_int_equal(sd_event_new(&s->event), 0);
        s->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        assert_true(s->wake_fd >= 0);
        assert_int_equal(sd_event_add_io(s->event, NULL, s->wake_fd, EPOLLIN, on_wake, NULL), 0);
        fd = socket_listen_tcp("127.0.0.1:0", 128);
        assert_true(fd >= 0);
        assert_int_equal(metrics_httpd_new(s->event, fd, limits, page, failing ? (void *) 1 : NULL, &s->httpd), 0);
        assert_int_equal(metrics_httpd_get_port(s->httpd, &s->port), 0);
        server_resume(s);
}

static void server_stop(Server *s) {
        if (s->running)
                server_pause(s);
        s->httpd = metrics_httpd_free(s->httpd);
        s->event = sd_event_unref(s->event);
        s->wake_fd = safe_close(s->wake_fd);
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

/* Whether the server ended "fd" within "timeout_ms": 1 if it did (EOF), 0 if not, -ECONNRESET if it reset it
 * (which would lose an answer on its way). */
static int closed_within(int fd, int timeout_ms) {
        struct pollfd p = { .fd = fd, .events = POLLIN };
        ssize_t n;
        char c;

        if (poll(&p, 1, timeout_ms) <= 0)
                return 0;
        n = recv(fd, &c, 1, MSG_DONTWAIT);
        if (n < 0)
                return errno == EAGAIN ? 0 : -errno;
        return n == 0;
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
                        if (fds[i] >= 0 && (closed_within(fds[i], 0) != 0 ||
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

/* Sends "text" on "fd" in full. */
static void send_all(int fd, const char *text) {
        assert_int_equal(send(fd, text, strlen(text), MSG_NOSIGNAL), (ssize_t) strlen(text));
}

/* Reads what "fd" receives until the server closes it, at most "timeout_ms" per read; returns the
 * status of the response, 0 if none came, -1 if the connection was still open at the end. */
static int read_response(int fd, int timeout_ms, char *ret, size_t size) {
        size_t got = 0;
        int status = 0;

        for (;;) {
                struct pollfd p = { .fd = fd, .events = POLLIN };
                ssize_t n;

                if (poll(&p, 1, timeout_ms) <= 0) {
                        status = -1;
                        break;
                }
                n = recv(fd, ret + got, size - 1 - got, 0);
                if (n <= 0)
                        break;
                got += n;
                assert_true(got < size - 1);
        }
        ret[got] = 0;
        if (status == 0)
                (void) sscanf(ret, "HTTP/1.%*d %d", &status);
        return status;
}

static void test_answers(void **state) {
        Server s;
        char buf[4096];

        server_start(&s, NULL, false);

        assert_int_equal(request(s.port, "127.0.0.1", "GET", "/metrics", NULL, 5000, buf, sizeof(buf)), 200);
        assert_non_null(strstr(buf, "Content-Type: text/plain; version=0.0.4"));
        assert_non_null(strstr(buf, "\r\n\r\n" PAGE));

        assert_int_equal(request(s.port, "127.0.0.1", "GET", "/metrics?x=1",
                                 "application/openmetrics-text; version=1.0.0,text/plain;version=0.0.4;q=0.5,*/*;q=0.1",
                                 5000, buf, sizeof(buf)), 200);
        assert_non_null(strstr(buf, "Content-Type: application/openmetrics-text; version=1.0.0"));
        assert_non_null(strstr(buf, "# EOF\n"));

        assert_int_equal(request(s.port, "127.0.0.1", "HEAD", "/metrics", NULL, 5000, buf, sizeof(buf)), 200);
        assert_null(strstr(buf, "unified_build_info"));

        assert_int_equal(request(s.port, "127.0.0.1", "GET", "/nope", NULL, 5000, buf, sizeof(buf)), 404);
        assert_int_equal(request(s.port, "127.0.0.1", "POST", "/metrics", NULL, 5000, buf, sizeof(buf)), 405);
        assert_non_null(strstr(buf, "Allow: GET, HEAD"));
        assert_true(request(s.port, "127.0.0.1", "GARBAGE", "/", NULL, 5000, buf, sizeof(buf)) >= 400);

        /* Whatever ended a connection, it no longer counts against its address's limit (4). */
        for (unsigned i = 0; i < 8; i++) {
                int fd = connect_from("127.0.0.1", s.port);

                assert_true(fd >= 0);
                send_all(fd, i % 2 ? "GARBAGE-NOT-HTTP\r\n\r\n" : "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
                if (i % 4 == 3)
                        (void) shutdown(fd, SHUT_RDWR); /* gone before the answer */
                (void) read_response(fd, 3000, buf, sizeof(buf));
                close(fd);
        }
        assert_int_equal(request(s.port, "127.0.0.1", "GET", "/metrics", NULL, 5000, buf, sizeof(buf)), 200);
        server_stop(&s);
}

static void test_collection_failure_is_503(void **state) {
        Server s;
        char buf[4096];

        server_start(&s, NULL, true);
        assert_int_equal(request(s.port, "127.0.0.1", "GET", "/metrics", NULL, 5000, buf, sizeof(buf)), 503);
        assert_non_null(strstr(buf, "Failed to collect the metrics: unifiedd is not there"));
        server_stop(&s);
}

/* A head in pieces (the waiting room hands it over once the empty line is there); no keep-alive: the
 * server answers one request and closes, even when the client asks to keep the connection. */
static void test_head_in_pieces_one_request_per_connection(void **state) {
        Server s;
        char buf[4096];
        int fd;

        server_start(&s, NULL, false);
        fd = connect_from("127.0.0.1", s.port);
        assert_true(fd >= 0);
        send_all(fd, "\r\nGET /metrics HTTP/1.1\r\n");
        (void) poll(NULL, 0, 100);
        send_all(fd, "Host: x\r\nConnection: keep-alive\r\n");
        (void) poll(NULL, 0, 100);
        assert_int_equal(closed_within(fd, 100), 0);
        send_all(fd, "\r\n");
        assert_int_equal(read_response(fd, 3000, buf, sizeof(buf)), 200);
        assert_non_null(strstr(buf, "Connection: close\r\n"));
        assert_non_null(strstr(buf, PAGE));
        close(fd);

        /* Bare LF line ends are a complete head too; an empty line before the request line is not. */
        fd = connect_from("127.0.0.1", s.port);
        assert_true(fd >= 0);
        send_all(fd, "\n\n");
        assert_int_equal(closed_within(fd, 200), 0);
        send_all(fd, "GET /metrics HTTP/1.0\n\n");
        assert_int_equal(read_response(fd, 3000, buf, sizeof(buf)), 200);
        close(fd);
        server_stop(&s);
}

/* 10 scrapes from 127.0.0.1 while 36 slow clients hold connections: all of them answered in time. */
static void scrape_among_slow_clients(const MetricsHttpdLimits *limits) {
        unsigned answered = 0;
        char buf[4096];
        Server s;
        pid_t pid;

        server_start(&s, limits, false);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0)
                slow_clients(s.port, 36, 1000);
        (void) poll(NULL, 0, 1500); /* all 36 connected and trickling */

        for (unsigned i = 0; i < 10; i++) {
                int status = request(s.port, "127.0.0.1", "GET", "/metrics", NULL, 3000, buf, sizeof(buf));

                fprintf(stderr, "# scrape %u: %d\n", i, status);
                if (status == 200 && strstr(buf, PAGE))
                        answered++;
                (void) poll(NULL, 0, 300);
        }
        kill(pid, SIGKILL);
        assert_int_equal(waitpid(pid, NULL, 0), pid);
        server_stop(&s);
        assert_int_equal(answered, 10);
}

static void test_scraper_among_36_slow_clients(void **state) {
        scrape_among_slow_clients(NULL);
}

/* The slow clients alone would fill the waiting room: only pushing the oldest out keeps room. */
static void test_scraper_among_36_slow_clients_tight_limits(void **state) {
        MetricsHttpdLimits limits = METRICS_HTTPD_LIMITS_DEFAULT;

        limits.waiting = 12;
        limits.waiting_per_ip = 4;
        scrape_among_slow_clients(&limits);
}

/* More waiting connections from one address than allowed: the oldest are closed, the newest kept, and
 * another address is not touched. */
static void test_waiting_per_ip(void **state) {
        MetricsHttpdLimits limits = METRICS_HTTPD_LIMITS_DEFAULT;
        int fds[6], other;
        Server s;

        limits.waiting_per_ip = 4;
        server_start(&s, &limits, false);
        other = slow_open("127.0.0.2", s.port);
        assert_true(other >= 0);
        for (unsigned i = 0; i < ELEMENTSOF(fds); i++) {
                fds[i] = slow_open("127.0.0.1", s.port);
                assert_true(fds[i] >= 0);
                (void) poll(NULL, 0, 50); /* accepted in this order */
        }

        assert_int_equal(closed_within(fds[0], 2000), 1);
        assert_int_equal(closed_within(fds[1], 2000), 1);
        for (unsigned i = 2; i < ELEMENTSOF(fds); i++)
                assert_int_equal(closed_within(fds[i], 200), 0);
        assert_int_equal(closed_within(other, 200), 0);
        for (unsigned i = 0; i < ELEMENTSOF(fds); i++)
                close(fds[i]);
        close(other);
        server_stop(&s);
}

/* More waiting connections in all than allowed: the oldest goes, whatever its address. */
static void test_waiting_in_all(void **state) {
        MetricsHttpdLimits limits = METRICS_HTTPD_LIMITS_DEFAULT;
        static const char *const sources[] = { "127.0.0.1", "127.0.0.2", "127.0.0.3" };
        int fds[6];
        Server s;

        limits.waiting = 5;
        server_start(&s, &limits, false);
        for (unsigned i = 0; i < ELEMENTSOF(fds); i++) {
                fds[i] = slow_open(sources[i % ELEMENTSOF(sources)], s.port);
                assert_true(fds[i] >= 0);
                (void) poll(NULL, 0, 50);
        }
        assert_int_equal(closed_within(fds[0], 2000), 1);
        for (unsigned i = 1; i < ELEMENTSOF(fds); i++)
                assert_int_equal(closed_within(fds[i], 200), 0);
        for (unsigned i = 0; i < ELEMENTSOF(fds); i++)
                close(fds[i]);
        server_stop(&s);
}

/* A client that trickles its head forever is closed head_timeout_sec after it was accepted, although it
 * is never inactive and nobody else needs room. */
static void test_head_deadline(void **state) {
        MetricsHttpdLimits limits = METRICS_HTTPD_LIMITS_DEFAULT;
        usec_t begin, closed = USEC_INFINITY;
        Server s;
        int fd;

        limits.head_timeout_sec = 1;
        server_start(&s, &limits, false);
        begin = now(CLOCK_MONOTONIC);
        fd = slow_open("127.0.0.2", s.port);
        assert_true(fd >= 0);
        for (unsigned i = 0; i < 20 && closed == USEC_INFINITY; i++) {
                int r = closed_within(fd, 100);

                if (r != 0) {
                        assert_int_equal(r, 1); /* ended, not reset */
                        closed = now(CLOCK_MONOTONIC);
                } else
                        (void) send(fd, "X-Slow: 1\r\n", 11, MSG_NOSIGNAL);
        }
        assert_true(closed != USEC_INFINITY);
        assert_true(closed - begin >= 900 * USEC_PER_MSEC);
        assert_true(closed - begin < 1600 * USEC_PER_MSEC);
        close(fd);
        server_stop(&s);
}

/* Clients that complete their heads but announce a body they never send are answered and closed at once
 * (no request body is ever read), so they hold nothing; beyond that, libmicrohttpd's per-address limit
 * bounds what one address holds. A scraper from another address is answered. */
static void test_body_never_sent(void **state) {
        MetricsHttpdLimits limits = METRICS_HTTPD_LIMITS_DEFAULT;
        char buf[4096];
        int fds[8];
        Server s;

        limits.answering_per_ip = 2;
        server_start(&s, &limits, false);
        for (unsigned i = 0; i < ELEMENTSOF(fds); i++) {
                fds[i] = connect_from("127.0.0.2", s.port);
                assert_true(fds[i] >= 0);
                send_all(fds[i], i % 2 ? "POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n"
                                       : "GET /metrics HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n");
        }
        assert_int_equal(request(s.port, "127.0.0.1", "GET", "/metrics", NULL, 3000, buf, sizeof(buf)), 200);
        for (unsigned i = 0; i < ELEMENTSOF(fds); i++) {
                int status = read_response(fds[i], 3000, buf, sizeof(buf));

                fprintf(stderr, "# client %u: %d\n", i, status);
                assert_true(status != -1); /* closed */
                close(fds[i]);
        }
        server_stop(&s);
}

/* Pauses the server once metrics_httpd_quiesce() (or, without "quiesce", metrics_httpd_is_idle(0)) returns
 * "want"; fails after 5 s. Connections come and go on the server's own time. */
static void server_pause_when(Server *s, bool quiesce, bool want) {
        for (unsigned i = 0; i < 250; i++) {
                server_pause(s);
                if ((quiesce ? metrics_httpd_quiesce(s->httpd) : metrics_httpd_is_idle(s->httpd, 0)) == want)
                        return;
                server_resume(s);
                (void) poll(NULL, 0, 20);
        }
        fail_msg("the server's connections did not become %s", want ? "none" : "some");
}

static void test_idle_and_quiesce(void **state) {
        char buf[4096];
        Server s;
        int fd;

        server_start(&s, NULL, false);
        server_pause(&s);
        assert_false(metrics_httpd_is_idle(s.httpd, 10 * USEC_PER_SEC));
        assert_true(metrics_httpd_is_idle(s.httpd, 0));
        server_resume(&s);

        fd = slow_open("127.0.0.1", s.port);
        assert_true(fd >= 0);
        server_pause_when(&s, false, false);
        /* Quiescing with a connection open: not drained yet. */
        assert_false(metrics_httpd_quiesce(s.httpd));
        server_resume(&s);

        /* Quiesced: a new connection waits in the backlog, unanswered; the open one is still served. */
        assert_int_equal(request(s.port, "127.0.0.1", "GET", "/metrics", NULL, 300, buf, sizeof(buf)), 0);
        send_all(fd, "\r\n");
        assert_int_equal(read_response(fd, 3000, buf, sizeof(buf)), 200);
        close(fd);
        server_pause_when(&s, true, true);
        server_stop(&s);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_answers),
                cmocka_unit_test(test_collection_failure_is_503),
                cmocka_unit_test(test_head_in_pieces_one_request_per_connection),
                cmocka_unit_test(test_waiting_per_ip),
                cmocka_unit_test(test_waiting_in_all),
                cmocka_unit_test(test_head_deadline),
                cmocka_unit_test(test_body_never_sent),
                cmocka_unit_test(test_idle_and_quiesce),
                cmocka_unit_test(test_scraper_among_36_slow_clients),
                cmocka_unit_test(test_scraper_among_36_slow_clients_tight_limits),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
