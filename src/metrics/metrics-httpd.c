/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* GET /metrics on libmicrohttpd, behind a waiting room that keeps a scraper answered (metrics-httpd.h). */

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <microhttpd.h>

#include "log.h"
#include "metrics-httpd.h"

/* A request head fits in this: a connection that sent this much without finishing its head is handed
 * over all the same, and libmicrohttpd answers 431. */
#define CONNECTION_MEMORY (32U * 1024U)

/* For peeking at and discarding what waiting connections sent; the event loop's thread only. */
static char scratch[CONNECTION_MEMORY];

/* A connection accepted whose request head is not complete yet: the server's alone, libmicrohttpd does
 * not know it. */
typedef struct Waiting Waiting;
struct Waiting {
        MetricsHttpd *httpd;
        Waiting *prev, *next;           /* oldest first */
        int fd;
        sd_event_source *io;
        struct sockaddr_storage address;
        socklen_t address_len;
        usec_t since;                   /* accepted (CLOCK_MONOTONIC) */
};

struct MetricsHttpd {
        sd_event *event;
        int fd;                         /* the listening socket */
        sd_event_source *listen_io;     /* disabled once quiesced */
        MetricsHttpdLimits limits;
        MetricsHttpdPage page;
        void *userdata;

        Waiting *waiting, *waiting_tail;
        unsigned n_waiting;
        sd_event_source *head_timer;    /* the oldest waiting connection's deadline */

        struct MHD_Daemon *daemon;
        sd_event_source *mhd_io;        /* libmicrohttpd's epoll fd */
        sd_event_source *mhd_timer;     /* libmicrohttpd's next timeout */
        unsigned n_answering;           /* connections libmicrohttpd holds */

        usec_t last_active;
};

static bool same_address(const struct sockaddr_storage *a, const struct sockaddr_storage *b) {
        if (a->ss_family != b->ss_family)
                return false;
        if (a->ss_family == AF_INET)
                return ((const struct sockaddr_in *) a)->sin_addr.s_addr == ((const struct sockaddr_in *) b)->sin_addr.s_addr;
        if (a->ss_family == AF_INET6)
                return memcmp(&((const struct sockaddr_in6 *) a)->sin6_addr, &((const struct sockaddr_in6 *) b)->sin6_addr,
                              sizeof(struct in6_addr)) == 0;
        return true; /* AF_UNIX and the like: one peer */
}

/* Whether "buf" holds a complete request head: a request line, then header lines up to an empty line.
 * Empty lines before the request line are skipped (RFC 9112, 2.2), so that "\r\n\r\n" alone does not let
 * a client past the waiting room. */
static bool head_complete(const char *buf, size_t n) {
        size_t i = 0;

        while (i < n && (buf[i] == '\r' || buf[i] == '\n'))
                i++;
        for (const char *p = buf + i; (p = memchr(p, '\n', n - (p - buf))); p++) {
                size_t rest = n - (p + 1 - buf);

                if ((rest >= 1 && p[1] == '\n') || (rest >= 2 && p[1] == '\r' && p[2] == '\n'))
                        return true;
        }
        return false;
}

static void httpd_arm_head_timer(MetricsHttpd *h) {
        if (!h->waiting) {
                (void) sd_event_source_set_enabled(h->head_timer, SD_EVENT_OFF);
                return;
        }
        (void) sd_event_source_set_time(h->head_timer, h->waiting->since + h->limits.head_timeout_sec * USEC_PER_SEC);
        (void) sd_event_source_set_enabled(h->head_timer, SD_EVENT_ONESHOT);
}

/* Takes "w" out of the waiting room; its fd is closed unless the caller took it. */
static Waiting *waiting_free(Waiting *w) {
        MetricsHttpd *h;

        if (!w)
                return NULL;
        h = w->httpd;
        /* What it sent was only peeked at (at most a head's worth): read it, or the close resets the
         * connection (RST) instead of ending it. */
        if (w->fd >= 0)
                (void) recv(w->fd, scratch, sizeof(scratch), MSG_DONTWAIT);
        if (w->prev)
                w->prev->next = w->next;
        else
                h->waiting = w->next;
        if (w->next)
                w->next->prev = w->prev;
        else
                h->waiting_tail = w->prev;
        h->n_waiting--;
        sd_event_source_disable_unref(w->io);
        safe_close(w->fd);
        free(w);
        httpd_arm_head_timer(h);
        return NULL;
}

/* Runs libmicrohttpd until it has nothing to do now, and arms the timer for when it next has. */
static void httpd_run(MetricsHttpd *h) {
        MHD_UNSIGNED_LONG_LONG timeout_ms;

        if (MHD_run(h->daemon) == MHD_NO)
                log_debug("libmicrohttpd: MHD_run() failed.");
        if (MHD_get_timeout(h->daemon, &timeout_ms) == MHD_NO) {
                (void) sd_event_source_set_enabled(h->mhd_timer, SD_EVENT_OFF);
                return;
        }
        (void) sd_event_source_set_time_relative(h->mhd_timer, timeout_ms * USEC_PER_MSEC);
        (void) sd_event_source_set_enabled(h->mhd_timer, SD_EVENT_ONESHOT);
}

/* The head of "w" is complete (or too large to wait for): from now on the connection is libmicrohttpd's. */
static void waiting_hand_over(Waiting *w) {
        MetricsHttpd *h = w->httpd;
        struct sockaddr_storage address = w->address;
        socklen_t address_len = w->address_len;
        int fd = TAKE_FD(w->fd);

        waiting_free(w);
        /* libmicrohttpd closes the socket when it cannot take it (at its connection limits). */
        if (MHD_add_connection(h->daemon, fd, (struct sockaddr *) &address, address_len) == MHD_NO)
                log_debug_errno(-errno, "libmicrohttpd refused a connection: %m");
        httpd_run(h);
}

/* Looks at what "w" sent so far, without reading it. Returns whether "w" is gone (handed over or closed). */
static bool waiting_check(Waiting *w) {
        ssize_t n;

        n = recv(w->fd, scratch, sizeof(scratch), MSG_PEEK | MSG_DONTWAIT);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
                return false;
        if (n <= 0) {
                /* Gone before its head was complete (or an error): nothing to answer. */
                waiting_free(w);
                return true;
        }
        if ((size_t) n < sizeof(scratch) && !head_complete(scratch, n))
                return false;
        waiting_hand_over(w);
        return true;
}

static int on_waiting_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Waiting *w = userdata;

        w->httpd->last_active = now(CLOCK_MONOTONIC);
        (void) waiting_check(w);
        return 0;
}

static int on_head_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        MetricsHttpd *h = userdata;
        usec_t t = now(CLOCK_MONOTONIC);

        while (h->waiting && t - h->waiting->since >= h->limits.head_timeout_sec * USEC_PER_SEC) {
                log_debug("Closing a connection without a complete request head after %u s.", h->limits.head_timeout_sec);
                waiting_free(h->waiting);
        }
        httpd_arm_head_timer(h);
        return 0;
}

/* "newcomer" arrived: close the oldest waiting connections over the bounds, never "newcomer" itself. */
static void waiting_make_room(MetricsHttpd *h, const Waiting *newcomer) {
        unsigned same = 0;

        for (Waiting *w = h->waiting; w; w = w->next)
                if (same_address(&w->address, &newcomer->address))
                        same++;

        for (Waiting *w = h->waiting, *next; w && w != newcomer; w = next) {
                bool mine = same_address(&w->address, &newcomer->address);

                next = w->next;
                if (h->n_waiting > h->limits.waiting || (mine && same > h->limits.waiting_per_ip)) {
                        log_debug("Closing the oldest connection without a complete request head%s (%u waiting).",
                                  mine && same > h->limits.waiting_per_ip ? " from the newcomer's address" : "",
                                  h->n_waiting);
                        if (mine)
                                same--;
                        waiting_free(w);
                }
        }
}

static int waiting_add(MetricsHttpd *h, int fd, const struct sockaddr_storage *address, socklen_t address_len) {
        _cleanup_close_ int fd_close = fd;
        Waiting *w;
        int r;

        w = calloc(1, sizeof(Waiting));
        if (!w)
                return -ENOMEM;
        /* Edge-triggered: a connection that trickles its head wakes us once per arrival, not for as long
         * as unread bytes sit in its socket (we only peek). */
        r = sd_event_add_io(h->event, &w->io, fd, EPOLLIN | EPOLLRDHUP | EPOLLET, on_waiting_io, w);
        if (r < 0) {
                free(w);
                return r;
        }
        w->httpd = h;
        w->fd = TAKE_FD(fd_close);
        w->address = *address;
        w->address_len = address_len;
        w->since = now(CLOCK_MONOTONIC);
        w->prev = h->waiting_tail;
        if (h->waiting_tail)
                h->waiting_tail->next = w;
        else
                h->waiting = w;
        h->waiting_tail = w;
        h->n_waiting++;

        /* Its head is usually there already: hand it over before anything could push it out. */
        if (waiting_check(w))
                return 0;
        waiting_make_room(h, w);
        httpd_arm_head_timer(h);
        return 0;
}

static int on_listen_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        MetricsHttpd *h = userdata;

        h->last_active = now(CLOCK_MONOTONIC);
        for (;;) {
                struct sockaddr_storage address = {};
                socklen_t address_len = sizeof(address);
                int cfd, r;

                cfd = accept4(fd, (struct sockaddr *) &address, &address_len, SOCK_NONBLOCK | SOCK_CLOEXEC);
                if (cfd < 0) {
                        if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
                                log_debug_errno(-errno, "Failed to accept a connection: %m");
                        /* EMFILE and the like: the connection stays in the backlog until one is closed. */
                        return 0;
                }
                r = waiting_add(h, cfd, &address, address_len);
                if (r < 0)
                        log_debug_errno(r, "Failed to take a connection: %m");
        }
}

static int on_mhd_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        httpd_run(userdata);
        return 0;
}

static int on_mhd_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        httpd_run(userdata);
        return 0;
}

static void on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
                          enum MHD_ConnectionNotificationCode code) {
        MetricsHttpd *h = cls;

        h->last_active = now(CLOCK_MONOTONIC);
        if (code == MHD_CONNECTION_NOTIFY_STARTED)
                h->n_answering++;
        else
                h->n_answering--;
}

static enum MHD_Result queue_response(struct MHD_Connection *c, unsigned status, struct MHD_Response *resp) {
        enum MHD_Result ret;

        /* One request per connection: a connection libmicrohttpd holds is always one being answered, so
         * an idle keep-alive connection never takes a slot (metrics-httpd.h). */
        (void) MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
        ret = MHD_queue_response(c, status, resp);
        MHD_destroy_response(resp);
        return ret;
}

static enum MHD_Result reply_text(struct MHD_Connection *c, unsigned status, const char *text, const char *allow) {
        struct MHD_Response *resp;

        resp = MHD_create_response_from_buffer(strlen(text), (void *) text, MHD_RESPMEM_MUST_COPY);
        if (!resp)
                return MHD_NO;
        (void) MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
        if (allow)
                (void) MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, allow);
        return queue_response(c, status, resp);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                  const char *version, const char *upload_data, size_t *upload_data_size,
                                  void **req_cls) {
        MetricsHttpd *h = cls;
        _cleanup_free_ char *body = NULL, *error = NULL;
        struct MHD_Response *resp;
        MetricsFormat fmt;
        size_t size = 0;
        int r;

        /* The first call comes once the head is complete; every request is answered on it (a body is
         * never wanted, and the connection is closed after the answer). */
        if (!streq(url, "/metrics"))
                return reply_text(c, MHD_HTTP_NOT_FOUND, "Not found: the metrics are at /metrics.\n", NULL);
        if (!streq(method, MHD_HTTP_METHOD_GET) && !streq(method, MHD_HTTP_METHOD_HEAD))
                return reply_text(c, MHD_HTTP_METHOD_NOT_ALLOWED, "Only GET and HEAD are served.\n", "GET, HEAD");

        fmt = metrics_format_from_accept(MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT));
        r = h->page(fmt, &body, &size, &error, h->userdata);
        if (r < 0) {
                _cleanup_free_ char *text = NULL;

                if (asprintf(&text, "Failed to collect the metrics: %s\n", error ?: strerror(-r)) < 0)
                        return MHD_NO;
                return reply_text(c, MHD_HTTP_SERVICE_UNAVAILABLE, text, NULL);
        }

        resp = MHD_create_response_from_buffer(size, body, MHD_RESPMEM_MUST_FREE);
        if (!resp)
                return MHD_NO;
        TAKE_PTR(body);
        (void) MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, metrics_format_content_type(fmt));
        (void) MHD_add_response_header(resp, MHD_HTTP_HEADER_VARY, MHD_HTTP_HEADER_ACCEPT);
        return queue_response(c, MHD_HTTP_OK, resp);
}

/* libmicrohttpd reports what clients do wrong (resets, malformed heads): debug level, or any local user
 * could fill the journal. */
_printf_(2, 0) static void on_log(void *cls, const char *fmt, va_list ap) {
        _cleanup_free_ char *s = NULL;

        if (log_get_max_level() < LOG_DEBUG)
                return;
        if (vasprintf(&s, fmt, ap) < 0)
                return;
        s[strcspn(s, "\n")] = 0;
        log_debug("libmicrohttpd: %s", s);
}

int metrics_httpd_new(sd_event *event, int fd, const MetricsHttpdLimits *limits, MetricsHttpdPage page,
                      void *userdata, MetricsHttpd **ret) {
        _cleanup_close_ int listen_fd = fd;
        _cleanup_(metrics_httpd_freep) MetricsHttpd *h = NULL;
        const union MHD_DaemonInfo *info;
        int flags, r;

        assert(event);
        assert(fd >= 0);
        assert(page);
        assert(ret);

        h = calloc(1, sizeof(MetricsHttpd));
        if (!h)
                return -ENOMEM;
        h->event = sd_event_ref(event);
        h->fd = TAKE_FD(listen_fd);
        h->limits = limits ? *limits : METRICS_HTTPD_LIMITS_DEFAULT;
        h->page = page;
        h->userdata = userdata;
        h->last_active = now(CLOCK_MONOTONIC);

        /* accept4() in a loop until EAGAIN; systemd passes blocking sockets. */
        flags = fcntl(h->fd, F_GETFL);
        if (flags < 0 || fcntl(h->fd, F_SETFL, flags | O_NONBLOCK) < 0)
                return -errno;

        h->daemon = MHD_start_daemon(
                        MHD_USE_EPOLL | MHD_USE_NO_LISTEN_SOCKET | MHD_USE_ERROR_LOG, 0, NULL, NULL,
                        on_request, h,
                        /* First, so that libmicrohttpd reports everything through it. */
                        MHD_OPTION_EXTERNAL_LOGGER, on_log, h,
                        MHD_OPTION_CONNECTION_LIMIT, (unsigned) h->limits.answering,
                        MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned) h->limits.answering_per_ip,
                        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned) h->limits.timeout_sec,
                        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t) CONNECTION_MEMORY,
                        MHD_OPTION_NOTIFY_CONNECTION, on_connection, h,
                        MHD_OPTION_END);
        if (!h->daemon)
                return -EIO; /* libmicrohttpd says why only through its logger */
        info = MHD_get_daemon_info(h->daemon, MHD_DAEMON_INFO_EPOLL_FD);
        if (!info || info->epoll_fd < 0)
                return -EIO;

        r = sd_event_add_io(event, &h->listen_io, h->fd, EPOLLIN, on_listen_io, h);
        if (r < 0)
                return r;
        r = sd_event_add_io(event, &h->mhd_io, info->epoll_fd, EPOLLIN, on_mhd_io, h);
        if (r < 0)
                return r;
        r = sd_event_add_time(event, &h->mhd_timer, CLOCK_MONOTONIC, USEC_INFINITY, 0, on_mhd_timer, h);
        if (r < 0)
                return r;
        r = sd_event_add_time(event, &h->head_timer, CLOCK_MONOTONIC, USEC_INFINITY, 0, on_head_timer, h);
        if (r < 0)
                return r;
        (void) sd_event_source_set_description(h->listen_io, "metrics-listen");
        (void) sd_event_source_set_description(h->mhd_io, "metrics-libmicrohttpd");
        (void) sd_event_source_set_description(h->mhd_timer, "metrics-libmicrohttpd-timer");
        (void) sd_event_source_set_description(h->head_timer, "metrics-head-timeout");

        *ret = TAKE_PTR(h);
        return 0;
}

MetricsHttpd *metrics_httpd_free(MetricsHttpd *h) {
        if (!h)
                return NULL;
        while (h->waiting)
                waiting_free(h->waiting);
        sd_event_source_disable_unref(h->listen_io);
        sd_event_source_disable_unref(h->head_timer);
        sd_event_source_disable_unref(h->mhd_io);
        sd_event_source_disable_unref(h->mhd_timer);
        if (h->daemon)
                MHD_stop_daemon(h->daemon);
        safe_close(h->fd);
        sd_event_unref(h->event);
        return mfree(h);
}

int metrics_httpd_get_port(MetricsHttpd *h, uint16_t *ret) {
        struct sockaddr_storage ss;
        socklen_t len = sizeof(ss);

        assert(h);
        assert(ret);

        if (getsockname(h->fd, (struct sockaddr *) &ss, &len) < 0)
                return -errno;
        if (ss.ss_family == AF_INET)
                *ret = ntohs(((struct sockaddr_in *) &ss)->sin_port);
        else if (ss.ss_family == AF_INET6)
                *ret = ntohs(((struct sockaddr_in6 *) &ss)->sin6_port);
        else
                return -EAFNOSUPPORT;
        return 0;
}

bool metrics_httpd_is_idle(MetricsHttpd *h, usec_t idle) {
        assert(h);

        return h->n_waiting == 0 && h->n_answering == 0 && now(CLOCK_MONOTONIC) - h->last_active >= idle;
}

bool metrics_httpd_quiesce(MetricsHttpd *h) {
        assert(h);

        (void) sd_event_source_set_enabled(h->listen_io, SD_EVENT_OFF);
        return h->n_waiting == 0 && h->n_answering == 0;
}
