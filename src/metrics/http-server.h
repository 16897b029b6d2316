/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The metrics HTTP endpoint: a small HTTP/1.1 server on an sd-event loop (the listening socket and
 * each connection are I/O sources, each connection has a timer; no threads, no blocking calls, no
 * HTTP or TLS library). It serves GET/HEAD /metrics with a page that a callback produces, keeps
 * connections alive between requests (HTTP/1.1, unless "Connection: close"), answers pipelined
 * requests in order, and bounds everything a client can make it hold. Request heads are parsed by
 * http-request.h. */

#include <stdint.h>
#include <sys/socket.h>
#include <systemd/sd-event.h>

#include "macro.h"
#include "metrics.h"

typedef struct HttpServer HttpServer;

/* Produces the page in "fmt" (chosen from the request's Accept header): a malloc()ed buffer the
 * server frees after sending. Called from the event loop; a negative errno gives 500. */
typedef int (*HttpServerPageHandler)(MetricsFormat fmt, char **ret_body, size_t *ret_size, void *userdata);

/* Connections over a limit are closed at once, unanswered. */
typedef struct HttpServerLimits {
        unsigned connections;           /* concurrent connections in total, >= 1 */
        unsigned connections_per_ip;    /* 0: no limit per client address */
        unsigned timeout_sec;           /* >= 1: a request head must be complete this long after the
                                         * connection opened or the previous response went out (slow
                                         * or idle clients are closed), and a response must be taken
                                         * this long after it was ready (stuck readers are reset) */
        size_t memory_per_connection;   /* request head must fit in this (431 otherwise), >= 256 */
} HttpServerLimits;

/* 16 connections, 8 per IP, 10 s timeout, 32 KiB per connection: a Prometheus server scrapes with
 * one connection at a time. */
#define HTTP_SERVER_LIMITS_DEFAULT                                                                \
        ((HttpServerLimits) { .connections = 16, .connections_per_ip = 8, .timeout_sec = 10,       \
                              .memory_per_connection = 32U * 1024U })

/* Parses a listen address: "127.0.0.1:9000", "[::1]:9000", "0.0.0.0:9000", "9000" (= loopback).
 * -EINVAL for anything else (host names are not resolved: the daemon must not block on DNS). */
int http_server_parse_address(const char *s, struct sockaddr_storage *ret, socklen_t *ret_len);

/* Starts serving on "fd" if it is >= 0 (a listening socket, e.g. from socket activation: ownership
 * passes to the server even on failure), else binds "address" (see above). "limits" may be NULL for
 * the defaults. */
int http_server_new(sd_event *event, const char *address, int fd, const HttpServerLimits *limits,
                    HttpServerPageHandler handler, void *userdata, HttpServer **ret);
HttpServer *http_server_free(HttpServer *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(HttpServer *, http_server_free);

/* The local port actually listened on (useful after binding port 0). */
int http_server_get_port(HttpServer *s, uint16_t *ret);
