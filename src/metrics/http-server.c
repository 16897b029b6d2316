/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* GET /metrics over HTTP/1.1, on sd-event: the listening socket and each connection are I/O sources,
 * each connection has one timer, and nothing ever blocks. */

#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/uio.h>

#include "http-request.h"
#include "http-server.h"
#include "log.h"
#include "parse-util.h"

/* Connections accepted per wakeup at most, so that a flood of them cannot starve the rest of the
 * loop; the listening socket stays readable and is dispatched again. */
#define ACCEPT_BATCH 64U
/* How long accepting pauses after the process ran out of file descriptors or memory. */
#define ACCEPT_RETRY_USEC (1 * USEC_PER_SEC)
/* The request head buffer starts at this and doubles up to limits.memory_per_connection. */
#define BUFFER_INITIAL 2048U
/* After a response that closes the connection, what the client still sends is read and dropped for
 * this long at most (or this much), so that the close does not turn into a reset that would destroy
 * the response before the client has read it. */
#define LINGER_USEC (2 * USEC_PER_SEC)
#define LINGER_MAX_BYTES (64U * 1024U)

typedef enum ConnectionState {
        CONNECTION_READING,     /* waiting for (the rest of) a request head */
        CONNECTION_WRITING,     /* sending a response */
        CONNECTION_LINGERING,   /* response sent and write side shut: waiting for the client to close */
} ConnectionState;

typedef struct Connection Connection;

struct Connection {
        HttpServer *server;
        Connection *prev, *next;
        int fd;
        struct sockaddr_storage peer;
        sd_event_source *io;
        sd_event_source *timer;
        ConnectionState state;
        uint32_t events;

        /* The request head being read, and whatever the client pipelined after it. */
        char *buf;
        size_t buf_size, buf_alloc;
        HttpRequest request;

        /* The response being written: iov[0] is the head (in "head"), iov[1] the body. */
        char head[512];
        char *body;
        struct iovec iov[2];
        bool close_after;
        size_t lingered;
};

struct HttpServer {
        sd_event *event;
        sd_event_source *io;
        sd_event_source *retry;
        int fd;
        HttpServerLimits limits;
        HttpServerPageHandler handler;
        void *userdata;
        Connection *connections;
        unsigned n_connections;
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

/* Errors that only mean the client went away. */
static bool errno_is_disconnect(int r) {
        r = abs(r);
        return r == EPIPE || r == ECONNRESET || r == ECONNABORTED || r == ETIMEDOUT || r == ENOTCONN ||
                r == EHOSTUNREACH || r == ENETUNREACH || r == ENETDOWN;
}

/* What accept() may return for a connection that failed before it was taken: try the next. */
static bool errno_is_accept_again(int r) {
        r = abs(r);
        return r == EINTR || r == ECONNABORTED || r == EPROTO || r == ENETDOWN || r == ENOPROTOOPT ||
                r == EHOSTDOWN || r == ENONET || r == EHOSTUNREACH || r == EOPNOTSUPP || r == ENETUNREACH;
}

static bool same_address(const struct sockaddr_storage *a, const struct sockaddr_storage *b) {
        if (a->ss_family != b->ss_family)
                return false;
        if (a->ss_family == AF_INET)
                return ((const struct sockaddr_in *) a)->sin_addr.s_addr ==
                        ((const struct sockaddr_in *) b)->sin_addr.s_addr;
        if (a->ss_family == AF_INET6)
                return memcmp(&((const struct sockaddr_in6 *) a)->sin6_addr,
                              &((const struct sockaddr_in6 *) b)->sin6_addr, sizeof(struct in6_addr)) == 0;
        return false; /* AF_UNIX and the like: not limited per peer */
}

static Connection *connection_free(Connection *c) {
        if (!c)
                return NULL;

        if (c->server) {
                if (c->prev)
                        c->prev->next = c->next;
                else
                        c->server->connections = c->next;
                if (c->next)
                        c->next->prev = c->prev;
                c->server->n_connections--;
        }
        sd_event_source_disable_unref(c->io);
        sd_event_source_disable_unref(c->timer);
        safe_close(c->fd);
        free(c->buf);
        free(c->body);
        return mfree(c);
}
DEFINE_TRIVIAL_CLEANUP_FUNC(Connection *, connection_free);

static void connection_drop(Connection *c, int error, const char *why) {
        if (error == 0 || errno_is_disconnect(error))
                log_debug("Metrics connection closed: %s", why);
        else
                log_warning_errno(error, "Metrics connection closed: %s: %m", why);
        connection_free(c);
}

static int connection_set_events(Connection *c, uint32_t events) {
        int r;

        if (c->events == events)
                return 0;
        r = sd_event_source_set_io_events(c->io, events);
        if (r < 0)
                return r;
        c->events = events;
        return 0;
}

static int connection_arm_timer(Connection *c, usec_t usec) {
        int r;

        r = sd_event_source_set_time_relative(c->timer, usec);
        if (r < 0)
                return r;
        return sd_event_source_set_enabled(c->timer, SD_EVENT_ONESHOT);
}

static usec_t connection_timeout(const Connection *c) {
        return c->server->limits.timeout_sec * USEC_PER_SEC;
}

/* Sets up a response: a head, and a body that is "page" (malloc()ed, taken over) or "text" (static),
 * sent unless "send_body" is false (HEAD, which still announces the size). */
static int connection_respond(Connection *c, unsigned status, const char *content_type, char *page,
                              const char *text, size_t size, bool send_body, bool close_after) {
        int n;

        assert(c->state == CONNECTION_READING);
        assert(!c->body);

        n = snprintf(c->head, sizeof(c->head),
                     "HTTP/1.1 %u %s\r\n"
                     "Content-Type: %s\r\n"
                     "Content-Length: %zu\r\n"
                     "%s"
                     "%s"
                     "\r\n",
                     status, http_status_reason(status), content_type, size,
                     status == 405 ? "Allow: GET, HEAD\r\n" : "",
                     close_after ? "Connection: close\r\n" :
                     c->request.version_minor == 0 ? "Connection: keep-alive\r\n" : "");
        if (n < 0 || (size_t) n >= sizeof(c->head)) {
                free(page);
                return -ENOBUFS;
        }

        c->body = page;
        c->iov[0] = (struct iovec) { .iov_base = c->head, .iov_len = n };
        c->iov[1] = (struct iovec) {
                .iov_base = page ?: (char *) text,
                .iov_len = send_body ? size : 0,
        };
        c->close_after = close_after;
        c->state = CONNECTION_WRITING;
        /* The client has the timeout to take the whole response, as it had for sending the request. */
        return connection_arm_timer(c, connection_timeout(c));
}

static int connection_respond_error(Connection *c, unsigned status, bool send_body) {
        const char *text;

        switch (status) {
        case 400: text = "Bad request.\n"; break;
        case 404: text = "Not found: the metrics are at /metrics.\n"; break;
        case 405: text = "Method not allowed: only GET and HEAD.\n"; break;
        case 414: text = "Request target too long.\n"; break;
        case 431: text = "Request header fields too large.\n"; break;
        case 500: text = "Failed to collect metrics.\n"; break;
        case 501: text = "Not implemented: no request bodies, no Transfer-Encoding.\n"; break;
        case 505: text = "HTTP version not supported: HTTP/1.0 and HTTP/1.1 only.\n"; break;
        default: text = "Error.\n"; break;
        }
        /* Every error closes the connection: after a bad head, nothing that follows can be trusted to
         * start a request, and the rare 404/405/500 do not need the connection kept. */
        return connection_respond(c, status, "text/plain; charset=utf-8", NULL, text, strlen(text), send_body,
                                  /* close_after= */ true);
}

static int connection_handle_request(Connection *c) {
        HttpServer *s = c->server;
        const HttpRequest *req = &c->request;
        _cleanup_free_ char *body = NULL;
        bool head = req->method == HTTP_METHOD_HEAD;
        MetricsFormat fmt;
        size_t size = 0;
        int r;

        if (req->path_size != strlen("/metrics") || memcmp(c->buf + req->path_offset, "/metrics", req->path_size) != 0)
                return connection_respond_error(c, 404, !head);
        if (req->method == HTTP_METHOD_OTHER)
                return connection_respond_error(c, 405, true);

        if (req->has_accept) {
                /* The value ends at the line's CR or LF, in the head, which is done with. */
                c->buf[req->accept_offset + req->accept_size] = 0;
                fmt = metrics_format_from_accept(c->buf + req->accept_offset);
        } else
                fmt = metrics_format_from_accept(NULL);

        r = s->handler(fmt, &body, &size, s->userdata);
        if (r < 0) {
                log_warning_errno(r, "Failed to produce the metrics page: %m");
                return connection_respond_error(c, 500, !head);
        }

        return connection_respond(c, 200, metrics_format_content_type(fmt), TAKE_PTR(body), NULL, size, !head,
                                  !http_request_keep_alive(req));
}

/* Writes what the socket takes: 1 when the response is out, 0 when the socket is full. */
static int connection_flush(Connection *c) {
        while (c->iov[0].iov_len + c->iov[1].iov_len > 0) {
                struct msghdr mh = { .msg_iov = c->iov, .msg_iovlen = ELEMENTSOF(c->iov) };
                ssize_t n;

                /* sendmsg() rather than writev(): MSG_NOSIGNAL, as the daemon keeps SIGPIPE's default. */
                n = sendmsg(c->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno == EAGAIN || errno == EWOULDBLOCK)
                                return 0;
                        return -errno;
                }
                for (size_t i = 0; i < ELEMENTSOF(c->iov); i++) {
                        size_t k = MIN((size_t) n, c->iov[i].iov_len);

                        c->iov[i].iov_base = (char *) c->iov[i].iov_base + k;
                        c->iov[i].iov_len -= k;
                        n -= k;
                }
        }
        return 1;
}

/* The response is out: shut the write side and wait for the client to close, or go on with the next
 * request on this connection. */
static int connection_response_done(Connection *c) {
        c->body = mfree(c->body);

        if (c->close_after) {
                if (shutdown(c->fd, SHUT_WR) < 0)
                        return -errno;
                c->state = CONNECTION_LINGERING;
                return connection_arm_timer(c, MIN(connection_timeout(c), LINGER_USEC));
        }

        /* Keep what was pipelined after this request's head. */
        c->buf_size -= c->request.head_size;
        memmove(c->buf, c->buf + c->request.head_size, c->buf_size);
        http_request_init(&c->request, c->server->limits.memory_per_connection);
        c->state = CONNECTION_READING;
        return connection_arm_timer(c, connection_timeout(c));
}

/* Parses what was read; with a complete head (or a bad one), sets up the response. */
static int connection_process(Connection *c) {
        switch (http_request_parse(&c->request, c->buf, c->buf_size)) {
        case HTTP_PARSE_MORE:
                return 0;
        case HTTP_PARSE_ERROR:
                log_debug("Bad metrics request, answering %u.", c->request.status);
                return connection_respond_error(c, c->request.status, true);
        case HTTP_PARSE_DONE:
                return connection_handle_request(c);
        }
        assert(false);
        return -EINVAL;
}

/* Takes the connection as far as it goes without blocking, and says what to wait for next. */
static int connection_run(Connection *c) {
        int r;

        if (c->state == CONNECTION_READING) {
                r = connection_process(c);
                if (r < 0)
                        return r;
        }

        if (c->state == CONNECTION_WRITING) {
                r = connection_flush(c);
                if (r < 0)
                        return r;
                if (r == 0)
                        return connection_set_events(c, EPOLLOUT);
                r = connection_response_done(c);
                if (r < 0)
                        return r;
                /* One request per dispatch, so that a client pipelining many cannot hold the loop: a
                 * further one already buffered is taken up when the socket is writable again, which
                 * it is at once. */
                if (c->state == CONNECTION_READING && c->buf_size > 0)
                        return connection_set_events(c, EPOLLOUT);
        }

        return connection_set_events(c, EPOLLIN);
}

/* Reads what the client sent into the head buffer: 1 if something came, 0 if nothing yet, -ECONNRESET
 * at EOF. */
static int connection_read(Connection *c) {
        size_t max = c->server->limits.memory_per_connection;
        ssize_t n;

        if (c->buf_size == c->buf_alloc) {
                size_t a = MIN(MAX(c->buf_alloc * 2, (size_t) BUFFER_INITIAL), max);
                char *p;

                /* Not reached: a full buffer of max bytes parses to an end (done, or 431). */
                if (a <= c->buf_alloc)
                        return -ENOBUFS;
                p = realloc(c->buf, a);
                if (!p)
                        return -ENOMEM;
                c->buf = p;
                c->buf_alloc = a;
        }

        n = recv(c->fd, c->buf + c->buf_size, c->buf_alloc - c->buf_size, MSG_DONTWAIT);
        if (n < 0)
                return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0 : -errno;
        if (n == 0)
                return -ECONNRESET;
        c->buf_size += n;
        return 1;
}

/* Reads and drops what the client sends after a closing response, until it closes. */
static int connection_linger(Connection *c) {
        char sink[4096];
        ssize_t n;

        n = recv(c->fd, sink, sizeof(sink), MSG_DONTWAIT);
        if (n < 0)
                return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0 : -errno;
        if (n == 0)
                return -ECONNRESET;
        c->lingered += n;
        return c->lingered > LINGER_MAX_BYTES ? -EMSGSIZE : 0;
}

static int on_connection_io(sd_event_source *source, int fd, uint32_t revents, void *userdata) {
        Connection *c = userdata;
        int r;

        if (c->state == CONNECTION_LINGERING) {
                if (connection_linger(c) < 0)
                        connection_drop(c, 0, "response sent");
                return 0;
        }

        /* When waiting for EPOLLOUT in this state, a pipelined request is buffered: parse it first. */
        if (c->state == CONNECTION_READING && (c->events & EPOLLIN)) {
                r = connection_read(c);
                if (r == -ECONNRESET) {
                        connection_drop(c, 0, c->buf_size > 0 ? "client closed in a request head" : "client closed");
                        return 0;
                }
                if (r < 0) {
                        connection_drop(c, r, "failed to read the request");
                        return 0;
                }
        }

        r = connection_run(c);
        if (r < 0)
                connection_drop(c, r, "failed to answer");
        return 0;
}

static int on_connection_timer(sd_event_source *source, usec_t usec, void *userdata) {
        Connection *c = userdata;

        switch (c->state) {
        case CONNECTION_READING:
                /* A plain close (FIN): the client may just have been idle between requests. */
                connection_drop(c, 0, "no complete request in time");
                break;
        case CONNECTION_WRITING:
                /* A client that stopped reading gets a reset: a plain close would leave what is queued
                 * for it (up to the socket's send buffer, megabytes) in the kernel until it reads or
                 * TCP gives up. */
                if (setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &(struct linger) { .l_onoff = 1, .l_linger = 0 },
                               sizeof(struct linger)) < 0)
                        log_debug_errno(errno, "Failed to set SO_LINGER on a metrics connection, ignoring: %m");
                connection_drop(c, 0, "client too slow to take the response");
                break;
        case CONNECTION_LINGERING:
                connection_drop(c, 0, "lingered long enough");
                break;
        }
        return 0;
}

static unsigned count_peer(HttpServer *s, const struct sockaddr_storage *peer) {
        unsigned n = 0;

        for (Connection *c = s->connections; c; c = c->next)
                if (same_address(&c->peer, peer))
                        n++;
        return n;
}

static int connection_new(HttpServer *s, int fd, const struct sockaddr_storage *peer) {
        _cleanup_(connection_freep) Connection *c = NULL;
        int r;

        c = calloc(1, sizeof(Connection));
        if (!c) {
                safe_close(fd);
                return -ENOMEM;
        }
        c->fd = fd;
        c->peer = *peer;
        c->state = CONNECTION_READING;
        c->events = EPOLLIN;
        http_request_init(&c->request, s->limits.memory_per_connection);

        r = sd_event_add_io(s->event, &c->io, c->fd, c->events, on_connection_io, c);
        if (r < 0)
                return r;
        (void) sd_event_source_set_description(c->io, "metrics-http-connection");

        r = sd_event_add_time_relative(s->event, &c->timer, CLOCK_MONOTONIC, s->limits.timeout_sec * USEC_PER_SEC,
                                       0, on_connection_timer, c);
        if (r < 0)
                return r;
        (void) sd_event_source_set_description(c->timer, "metrics-http-timeout");

        c->server = s;
        c->next = s->connections;
        if (c->next)
                c->next->prev = c;
        s->connections = c;
        s->n_connections++;
        TAKE_PTR(c);
        return 0;
}

static int on_retry(sd_event_source *source, usec_t usec, void *userdata) {
        HttpServer *s = userdata;
        int r;

        r = sd_event_source_set_enabled(s->io, SD_EVENT_ON);
        if (r < 0)
                log_error_errno(r, "Failed to resume accepting metrics connections: %m");
        return 0;
}

/* Stops accepting for a while: the listening socket would stay readable, and the loop spin. */
static void pause_accepting(HttpServer *s) {
        int r;

        r = sd_event_source_set_enabled(s->io, SD_EVENT_OFF);
        if (r >= 0) {
                if (s->retry)
                        r = sd_event_source_set_time_relative(s->retry, ACCEPT_RETRY_USEC);
                else
                        r = sd_event_add_time_relative(s->event, &s->retry, CLOCK_MONOTONIC, ACCEPT_RETRY_USEC, 0,
                                                       on_retry, s);
        }
        if (r >= 0)
                r = sd_event_source_set_enabled(s->retry, SD_EVENT_ONESHOT);
        if (r < 0)
                log_error_errno(r, "Failed to pause accepting metrics connections: %m");
}

static int on_listen_io(sd_event_source *source, int fd, uint32_t revents, void *userdata) {
        HttpServer *s = userdata;
        int r;

        for (unsigned i = 0; i < ACCEPT_BATCH; i++) {
                struct sockaddr_storage peer = {};
                socklen_t len = sizeof(peer);
                _cleanup_close_ int cfd = -EBADF;

                cfd = accept4(s->fd, (struct sockaddr *) &peer, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
                if (cfd < 0) {
                        if (errno == EAGAIN || errno == EWOULDBLOCK)
                                return 0;
                        if (errno_is_accept_again(errno))
                                continue;
                        log_warning_errno(-errno, "Failed to accept a metrics connection, pausing: %m");
                        pause_accepting(s);
                        return 0;
                }

                /* Over a limit: closed at once, before a byte is read. */
                if (s->n_connections >= s->limits.connections) {
                        log_debug("Metrics connection refused: %u connections already.", s->n_connections);
                        continue;
                }
                if (s->limits.connections_per_ip > 0 && count_peer(s, &peer) >= s->limits.connections_per_ip) {
                        log_debug("Metrics connection refused: %u from this address already.",
                                  s->limits.connections_per_ip);
                        continue;
                }

                r = connection_new(s, TAKE_FD(cfd), &peer);
                if (r < 0)
                        log_warning_errno(r, "Failed to set up a metrics connection, ignoring: %m");
        }
        return 0;
}

int http_server_new(sd_event *event, const char *address, int fd, const HttpServerLimits *limits,
                    HttpServerPageHandler handler, void *userdata, HttpServer **ret) {
        _cleanup_close_ int listen_fd = fd;
        _cleanup_(http_server_freep) HttpServer *s = NULL;
        HttpServerLimits l = limits ? *limits : HTTP_SERVER_LIMITS_DEFAULT;
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
        s->limits = (HttpServerLimits) {
                .connections = MAX(l.connections, 1U),
                .connections_per_ip = l.connections_per_ip, /* 0: no limit per address */
                .timeout_sec = MAX(l.timeout_sec, 1U),
                .memory_per_connection = MAX(l.memory_per_connection, (size_t) 256),
        };

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
        s->fd = TAKE_FD(listen_fd);

        r = sd_event_add_io(event, &s->io, s->fd, EPOLLIN, on_listen_io, s);
        if (r < 0)
                return r;
        (void) sd_event_source_set_description(s->io, "metrics-http");

        *ret = TAKE_PTR(s);
        return 0;
}

HttpServer *http_server_free(HttpServer *s) {
        if (!s)
                return NULL;

        while (s->connections)
                connection_free(s->connections);
        sd_event_source_disable_unref(s->io);
        sd_event_source_disable_unref(s->retry);
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
