/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* GET /metrics over libmicrohttpd, driven by sd-event. */

#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "http-server.h"
#include "log.h"
#include "parse-util.h"

struct HttpServer {
        sd_event *event;
        struct MHD_Daemon *daemon;
        sd_event_source *io;
        sd_event_source *timer;
        int fd;
        HttpServerPageHandler handler;
        void *userdata;
};

int http_server_parse_address(const char *s, struct sockaddr_storage *ret, socklen_t *ret_len) {
        struct sockaddr_storage ss = {};
        _cleanup_free_ char *host = NULL;
        const char *port_str;
        uint64_t port;
        socklen_t len;

        assert(s);
        assert(ret);

        if (s[0] == '[') {
                const char *e = strchr(s, ']');
                if (!e || e[1] != ':')
                        return -EINVAL;
                host = strndup(s + 1, e - s - 1);
                port_str = e + 2;
        } else {
                const char *c = strrchr(s, ':');
                if (c) {
                        if (strchr(s, ':') != c) /* bare IPv6 without brackets is ambiguous */
                                return -EINVAL;
                        host = strndup(s, c - s);
                        port_str = c + 1;
                } else {
                        host = strdup("127.0.0.1");
                        port_str = s;
                }
        }
        if (!host)
                return -ENOMEM;
        if (safe_atou64(port_str, &port) < 0 || port > 65535)
                return -EINVAL;

        if (inet_pton(AF_INET, host, &((struct sockaddr_in *) &ss)->sin_addr) == 1) {
                struct sockaddr_in *sin = (struct sockaddr_in *) &ss;
                sin->sin_family = AF_INET;
                sin->sin_port = htons(port);
                len = sizeof(*sin);
        } else if (inet_pton(AF_INET6, host, &((struct sockaddr_in6 *) &ss)->sin6_addr) == 1) {
                struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *) &ss;
                sin6->sin6_family = AF_INET6;
                sin6->sin6_port = htons(port);
                len = sizeof(*sin6);
        } else
                return -EINVAL;

        *ret = ss;
        SET_IF(ret_len, len);
        return 0;
}

static int listen_on(const char *address, int *ret) {
        struct sockaddr_storage ss;
        socklen_t len;
        _cleanup_close_ int fd = -EBADF;
        int r;

        r = http_server_parse_address(address, &ss, &len);
        if (r < 0)
                return r;

        fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return -errno;
        if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &(int) { 1 }, sizeof(int)) < 0)
                return -errno;
        if (ss.ss_family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &(int) { 1 }, sizeof(int)) < 0)
                return -errno;
        if (bind(fd, (struct sockaddr *) &ss, len) < 0)
                return -errno;
        if (listen(fd, SOMAXCONN) < 0)
                return -errno;

        *ret = TAKE_FD(fd);
        return 0;
}

static enum MHD_Result queue_text(struct MHD_Connection *c, unsigned status, const char *text, const char *allow) {
        struct MHD_Response *resp;
        enum MHD_Result ret;

        resp = MHD_create_response_from_buffer(strlen(text), (void *) text, MHD_RESPMEM_PERSISTENT);
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
        HttpServer *s = cls;
        struct MHD_Response *resp;
        enum MHD_Result ret;
        _cleanup_free_ char *body = NULL;
        MetricsFormat fmt;
        size_t size = 0;
        int r;

        if (!streq(url, "/metrics"))
                return queue_text(c, MHD_HTTP_NOT_FOUND, "Not found: the metrics are at /metrics.\n", NULL);
        if (!streq(method, MHD_HTTP_METHOD_GET) && !streq(method, MHD_HTTP_METHOD_HEAD))
                return queue_text(c, MHD_HTTP_METHOD_NOT_ALLOWED, "Method not allowed.\n", "GET, HEAD");

        fmt = metrics_format_from_accept(MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT));
        r = s->handler(fmt, &body, &size, s->userdata);
        if (r < 0) {
                log_warning_errno(r, "Failed to produce the metrics page: %m");
                return queue_text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "Failed to collect metrics.\n", NULL);
        }

        resp = MHD_create_response_from_buffer(size, body, MHD_RESPMEM_MUST_FREE);
        if (!resp)
                return MHD_NO;
        TAKE_PTR(body);
        (void) MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, metrics_format_content_type(fmt));
        ret = MHD_queue_response(c, MHD_HTTP_OK, resp);
        MHD_destroy_response(resp);
        return ret;
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap) {
        _cleanup_free_ char *m = NULL;

        if (vasprintf(&m, fmt, ap) < 0)
                return;
        m[strcspn(m, "\n")] = 0;
        log_debug("microhttpd: %s", m);
}

/* After each MHD_run() the next deadline may have moved: a connection arrived or was closed, or MHD
 * has buffered work it wants to continue at once (timeout 0). */
static int rearm_timer(HttpServer *s) {
        MHD_UNSIGNED_LONG_LONG ms;
        int r;

        if (MHD_get_timeout(s->daemon, &ms) != MHD_YES)
                return sd_event_source_set_enabled(s->timer, SD_EVENT_OFF);

        r = sd_event_source_set_time_relative(s->timer, ms * USEC_PER_MSEC);
        if (r < 0)
                return r;
        return sd_event_source_set_enabled(s->timer, SD_EVENT_ONESHOT);
}

static void run_mhd(HttpServer *s) {
        int r;

        (void) MHD_run(s->daemon);
        r = rearm_timer(s);
        if (r < 0)
                log_warning_errno(r, "Failed to re-arm the metrics server timer, ignoring: %m");
}

static int on_io(sd_event_source *source, int fd, uint32_t revents, void *userdata) {
        run_mhd(userdata);
        return 0;
}

static int on_timer(sd_event_source *source, usec_t usec, void *userdata) {
        run_mhd(userdata);
        return 0;
}

int http_server_new(sd_event *event, const char *address, int fd, const HttpServerLimits *limits,
                    HttpServerPageHandler handler, void *userdata, HttpServer **ret) {
        _cleanup_close_ int listen_fd = fd;
        _cleanup_(http_server_freep) HttpServer *s = NULL;
        HttpServerLimits l = limits ? *limits : HTTP_SERVER_LIMITS_DEFAULT;
        const union MHD_DaemonInfo *info;
        int r;

        assert(event);
        assert(handler);
        assert(ret);
        assert(address || fd >= 0);

        s = calloc(1, sizeof(HttpServer));
        if (!s)
                return -ENOMEM;
        s->fd = -EBADF;
        s->event = sd_event_ref(event);
        s->handler = handler;
        s->userdata = userdata;

        if (listen_fd < 0) {
                r = listen_on(address, &listen_fd);
                if (r < 0)
                        return r;
        } else {
                /* systemd passes blocking sockets unless NonBlocking=yes; an accept() that blocks
                 * would stall the whole event loop. */
                int flags = fcntl(listen_fd, F_GETFL);
                if (flags < 0 || fcntl(listen_fd, F_SETFL, flags | O_NONBLOCK) < 0)
                        return -errno;
        }

        s->daemon = MHD_start_daemon(
                        MHD_USE_EPOLL | MHD_USE_ERROR_LOG, 0, NULL, NULL, on_request, s,
                        MHD_OPTION_LISTEN_SOCKET, (MHD_socket) listen_fd,
                        MHD_OPTION_CONNECTION_LIMIT, (unsigned) MAX(l.connections, 1U),
                        MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned) l.connections_per_ip,
                        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned) MAX(l.timeout_sec, 1U),
                        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t) l.memory_per_connection,
                        MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, NULL,
                        MHD_OPTION_END);
        if (!s->daemon)
                return -EINVAL; /* MHD gives no reason beyond its log */
        /* MHD owns the listening socket from here on and closes it in MHD_stop_daemon(). */
        s->fd = TAKE_FD(listen_fd);

        info = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_EPOLL_FD);
        if (!info)
                return -EIO;

        r = sd_event_add_io(event, &s->io, info->epoll_fd, EPOLLIN, on_io, s);
        if (r < 0)
                return r;
        (void) sd_event_source_set_description(s->io, "metrics-http");

        r = sd_event_add_time(event, &s->timer, CLOCK_MONOTONIC, 0, 0, on_timer, s);
        if (r < 0)
                return r;
        (void) sd_event_source_set_description(s->timer, "metrics-http-timer");

        r = rearm_timer(s);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(s);
        return 0;
}

HttpServer *http_server_free(HttpServer *s) {
        if (!s)
                return NULL;

        sd_event_source_disable_unref(s->io);
        sd_event_source_disable_unref(s->timer);
        if (s->daemon)
                MHD_stop_daemon(s->daemon);
        else
                safe_close(s->fd);
        sd_event_unref(s->event);
        return mfree(s);
}

int http_server_get_port(HttpServer *s, uint16_t *ret) {
        struct sockaddr_storage ss;
        socklen_t len = sizeof(ss);

        assert(s);
        assert(ret);

        if (getsockname(s->fd, (struct sockaddr *) &ss, &len) < 0)
                return -errno;
        if (ss.ss_family == AF_INET)
                *ret = ntohs(((struct sockaddr_in *) &ss)->sin_port);
        else if (ss.ss_family == AF_INET6)
                *ret = ntohs(((struct sockaddr_in6 *) &ss)->sin6_port);
        else
                return -EAFNOSUPPORT;
        return 0;
}
