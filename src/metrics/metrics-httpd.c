/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* GET /metrics on libmicrohttpd, with a connection policy that keeps a scraper answered. */

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <microhttpd.h>

#include "log.h"
#include "metrics-httpd.h"

/* A request head fits in this; larger ones get 431. */
#define CONNECTION_MEMORY (32U * 1024U)

/* One connection, as the policy sees it. Only ever touched from libmicrohttpd's thread. */
typedef struct Peer Peer;
struct Peer {
        Peer *prev, *next;              /* oldest first */
        int fd;                         /* libmicrohttpd's: we only ever shutdown() it */
        struct sockaddr_storage address;
        usec_t since;                   /* waiting since (CLOCK_MONOTONIC) */
        bool waiting;                   /* no complete request head since "since" */
        bool shut;
};

struct MetricsHttpd {
        struct MHD_Daemon *daemon;
        int fd;                         /* ours only after quiescing; libmicrohttpd closes it otherwise */
        bool quiesced;
        MetricsHttpdLimits limits;
        MetricsHttpdPage page;
        void *userdata;

        Peer *peers, *peers_tail;       /* libmicrohttpd's thread only */

        /* Read from other threads, with __atomic builtins. */
        unsigned n_connections;
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

/* Whether the end of a request head already sits in the socket, unread: a client that connected just
 * before a burst of others (a scraper, typically) is not waiting on itself but on libmicrohttpd, which
 * has accepted the burst first. Such a connection is not pushed out. */
static bool peer_head_pending(const Peer *p) {
        static char buf[CONNECTION_MEMORY]; /* libmicrohttpd's thread only */
        ssize_t n;

        n = recv(p->fd, buf, sizeof(buf), MSG_PEEK | MSG_DONTWAIT);
        return n >= 4 && memmem(buf, n, "\r\n\r\n", 4);
}

static void peer_shut(Peer *p) {
        /* The fd stays libmicrohttpd's: after shutdown() its next read sees EOF and it closes the connection
         * the ordinary way, with its callbacks. */
        (void) shutdown(p->fd, SHUT_RDWR);
        p->shut = true;
}

/* A connection arrived: apply the policy (see metrics-httpd.h) with "newcomer" counted as waiting. */
static void prune(MetricsHttpd *h, Peer *newcomer, usec_t now_usec) {
        unsigned total = 0, same = 0;

        for (Peer *p = h->peers; p; p = p->next) {
                if (p->shut)
                        continue;
                if (p != newcomer && p->waiting && now_usec - p->since >= h->limits.head_timeout_sec * USEC_PER_SEC &&
                    !peer_head_pending(p)) {
                        peer_shut(p);
                        continue;
                }
                total++;
                if (p->waiting && same_address(&p->address, &newcomer->address))
                        same++;
        }

        /* Every connection gets a moment to send its head before a newcomer may push it out: otherwise a
         * burst of reconnecting slow clients, accepted before the scraper's head is read, pushes the
         * scraper out as the oldest waiting one. Only near the hard limit does the grace give way (a
         * second pass), so that newcomers are not refused outright. */
        for (int pass = 0; pass < 2; pass++) {
                bool grace = pass == 0;

                if (!grace && total + 1 < h->limits.connections)
                        break;
                for (Peer *p = h->peers; p && (same > h->limits.waiting_per_ip || total > h->limits.soft_connections);
                     p = p->next) {
                        bool mine;

                        if (p == newcomer || p->shut || !p->waiting ||
                            (grace && now_usec - p->since < METRICS_HTTPD_PRUNE_GRACE_USEC))
                                continue;
                        mine = same_address(&p->address, &newcomer->address);
                        if (!mine && total <= h->limits.soft_connections)
                                continue;
                        if (peer_head_pending(p))
                                continue;
                        peer_shut(p);
                        total--;
                        if (mine)
                                same--;
                }
        }
}

static void on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
                          enum MHD_ConnectionNotificationCode code) {
        MetricsHttpd *h = cls;
        usec_t t = now(CLOCK_MONOTONIC);
        Peer *p;

        __atomic_store_n(&h->last_active, t, __ATOMIC_RELAXED);

        if (code == MHD_CONNECTION_NOTIFY_STARTED) {
                const union MHD_ConnectionInfo *info;
                int fd = -EBADF;

                __atomic_add_fetch(&h->n_connections, 1, __ATOMIC_RELAXED);
                /* Each answer is read before the next call: libmicrohttpd 1.0 returns every one in the
                 * same per-connection union, so the second call overwrites the first. */
                info = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
                if (info)
                        fd = info->connect_fd;
                p = calloc(1, sizeof(Peer));
                info = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
                if (!p || fd < 0 || !info || !info->client_addr) {
                        /* Out of memory: a connection we cannot account for is not served. */
                        if (fd >= 0)
                                (void) shutdown(fd, SHUT_RDWR);
                        free(p);
                        return;
                }
                p->fd = fd;
                memcpy(&p->address, info->client_addr,
                       info->client_addr->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                                                : sizeof(struct sockaddr_in));
                p->since = t;
                p->waiting = true;
                p->prev = h->peers_tail;
                if (h->peers_tail)
                        h->peers_tail->next = p;
                else
                        h->peers = p;
                h->peers_tail = p;
                *socket_context = p;

                (void) MHD_set_connection_option(c, MHD_CONNECTION_OPTION_TIMEOUT, h->limits.head_timeout_sec);
                prune(h, p, t);
                return;
        }

        __atomic_sub_fetch(&h->n_connections, 1, __ATOMIC_RELAXED);
        p = *socket_context;
        if (!p)
                return;
        if (p->prev)
                p->prev->next = p->next;
        else
                h->peers = p->next;
        if (p->next)
                p->next->prev = p->prev;
        else
                h->peers_tail = p->prev;
        free(p);
        *socket_context = NULL;
}

static Peer *connection_peer(struct MHD_Connection *c) {
        const union MHD_ConnectionInfo *info = MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
        return info ? info->socket_context : NULL;
}

/* A response went out: on a kept-alive connection, the wait for the next head starts now. */
static void on_completed(void *cls, struct MHD_Connection *c, void **req_cls, enum MHD_RequestTerminationCode toe) {
        MetricsHttpd *h = cls;
        Peer *p;

        if (toe != MHD_REQUEST_TERMINATED_COMPLETED_OK)
                return;
        p = connection_peer(c);
        if (!p)
                return;
        p->waiting = true;
        p->since = now(CLOCK_MONOTONIC);
        (void) MHD_set_connection_option(c, MHD_CONNECTION_OPTION_TIMEOUT, h->limits.head_timeout_sec);
}

static enum MHD_Result reply_text(struct MHD_Connection *c, unsigned status, const char *text, const char *allow) {
        struct MHD_Response *resp;
        enum MHD_Result ret;

        resp = MHD_create_response_from_buffer(strlen(text), (void *) text, MHD_RESPMEM_MUST_COPY);
        if (!resp)
                return MHD_NO;
        (void) MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
        if (allow)
                (void) MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, allow);
        ret = MHD_queue_response(c, status, resp);
        MHD_destroy_response(resp);
        return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                  const char *version, const char *upload_data, size_t *upload_data_size,
                                  void **req_cls) {
        MetricsHttpd *h = cls;
        _cleanup_free_ char *body = NULL, *error = NULL;
        struct MHD_Response *resp;
        enum MHD_Result ret;
        MetricsFormat fmt;
        size_t size = 0;
        Peer *p;
        int r;

        /* The first call comes once the head is complete; every request is answered on it (a body is
         * never wanted, libmicrohttpd discards it). */
        p = connection_peer(c);
        if (p)
                p->waiting = false;
        (void) MHD_set_connection_option(c, MHD_CONNECTION_OPTION_TIMEOUT, h->limits.timeout_sec);

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
        ret = MHD_queue_response(c, MHD_HTTP_OK, resp);
        MHD_destroy_response(resp);
        return ret;
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

int metrics_httpd_new(int fd, const MetricsHttpdLimits *limits, MetricsHttpdPage page, void *userdata,
                      MetricsHttpd **ret) {
        _cleanup_close_ int listen_fd = fd;
        _cleanup_(metrics_httpd_freep) MetricsHttpd *h = NULL;
        int flags;

        assert(fd >= 0);
        assert(page);
        assert(ret);

        h = calloc(1, sizeof(MetricsHttpd));
        if (!h)
                return -ENOMEM;
        h->fd = -EBADF;
        h->limits = limits ? *limits : METRICS_HTTPD_LIMITS_DEFAULT;
        h->page = page;
        h->userdata = userdata;
        h->last_active = now(CLOCK_MONOTONIC);

        /* epoll mode wants a non-blocking listening socket; systemd passes blocking ones. */
        flags = fcntl(listen_fd, F_GETFL);
        if (flags < 0 || fcntl(listen_fd, F_SETFL, flags | O_NONBLOCK) < 0)
                return -errno;

        h->daemon = MHD_start_daemon(
                        MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ITC | MHD_USE_ERROR_LOG, 0, NULL, NULL,
                        on_request, h,
                        MHD_OPTION_LISTEN_SOCKET, (MHD_socket) listen_fd,
                        MHD_OPTION_CONNECTION_LIMIT, (unsigned) h->limits.connections,
                        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned) h->limits.timeout_sec,
                        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t) CONNECTION_MEMORY,
                        MHD_OPTION_NOTIFY_CONNECTION, on_connection, h,
                        MHD_OPTION_NOTIFY_COMPLETED, on_completed, h,
                        MHD_OPTION_EXTERNAL_LOGGER, on_log, h,
                        MHD_OPTION_END);
        if (!h->daemon)
                return -EIO; /* libmicrohttpd says why only through its logger */
        TAKE_FD(listen_fd);
        *ret = TAKE_PTR(h);
        return 0;
}

MetricsHttpd *metrics_httpd_free(MetricsHttpd *h) {
        if (!h)
                return NULL;
        if (h->daemon)
                MHD_stop_daemon(h->daemon);
        safe_close(h->fd);
        return mfree(h);
}

int metrics_httpd_get_port(MetricsHttpd *h, uint16_t *ret) {
        const union MHD_DaemonInfo *info;
        struct sockaddr_storage ss;
        socklen_t len = sizeof(ss);

        assert(h);
        assert(ret);

        info = MHD_get_daemon_info(h->daemon, MHD_DAEMON_INFO_LISTEN_FD);
        if (!info)
                return -ENXIO;
        if (getsockname(info->listen_fd, (struct sockaddr *) &ss, &len) < 0)
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

        return __atomic_load_n(&h->n_connections, __ATOMIC_RELAXED) == 0 &&
               now(CLOCK_MONOTONIC) - __atomic_load_n(&h->last_active, __ATOMIC_RELAXED) >= idle;
}

bool metrics_httpd_quiesce(MetricsHttpd *h) {
        assert(h);

        if (!h->quiesced) {
                MHD_socket fd = MHD_quiesce_daemon(h->daemon);
                if (fd != MHD_INVALID_SOCKET)
                        h->fd = fd;
                h->quiesced = true;
        }
        return __atomic_load_n(&h->n_connections, __ATOMIC_RELAXED) == 0;
}
