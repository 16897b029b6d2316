/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The metrics HTTP endpoint of unified-metricsd: GET/HEAD /metrics on libmicrohttpd, one internal
 * polling thread (epoll), with content negotiation (Prometheus text or OpenMetrics) and the bounds
 * that keep a scraper answered while other local clients hold connections open:
 *
 *   - at most METRICS_HTTPD_CONNECTIONS connections in total (libmicrohttpd refuses more);
 *   - a connection that has not sent a complete request head ("waiting": new, or idle between
 *     keep-alive requests) is shut down once it has waited head_timeout_sec, or when it is the oldest
 *     waiting one and a new connection from its address finds more than waiting_per_ip of them, or a
 *     new connection finds more than soft_connections in total. Checked whenever a connection
 *     arrives, which is the only moment a slot is needed;
 *   - libmicrohttpd's inactivity timeout (timeout_sec) for everything else, e.g. a stuck reader.
 *
 * A connection with a complete head is never dropped for a newcomer: a scraper sends its head at once,
 * so slow clients can only ever push each other out. */

#include <stdbool.h>
#include <stdint.h>

#include "macro.h"
#include "metrics.h"
#include "time-util.h"

typedef struct MetricsHttpd MetricsHttpd;

/* Produces the page in "fmt": a malloc()ed buffer, freed by the server after sending. Called from the
 * server's thread, one call at a time. A negative errno gives 503 with "ret_error" (malloc()ed, may be
 * left NULL) as the body. */
typedef int (*MetricsHttpdPage)(MetricsFormat fmt, char **ret_body, size_t *ret_size, char **ret_error,
                                void *userdata);

/* How long a new connection is safe from being pushed out by newcomers: every client gets a moment to
 * send its request head, so that a burst of reconnecting slow clients cannot push out a scraper whose
 * head has not been read yet. */
#define METRICS_HTTPD_PRUNE_GRACE_USEC (1 * USEC_PER_SEC)

typedef struct MetricsHttpdLimits {
        unsigned connections;           /* hard limit, libmicrohttpd's MHD_OPTION_CONNECTION_LIMIT */
        unsigned soft_connections;      /* above this, a newcomer pushes out the oldest waiting connection */
        unsigned waiting_per_ip;        /* waiting connections per client address */
        unsigned head_timeout_sec;      /* a request head must be complete this long after the connection
                                         * opened or its previous response was sent */
        unsigned timeout_sec;           /* inactivity timeout of any connection */
} MetricsHttpdLimits;

#define METRICS_HTTPD_LIMITS_DEFAULT                                                              \
        ((MetricsHttpdLimits) { .connections = 128, .soft_connections = 64, .waiting_per_ip = 8,  \
                                .head_timeout_sec = 5, .timeout_sec = 10 })

/* Serves on the listening socket "fd" (ownership passes to the server, also on failure). "limits" may be
 * NULL for the defaults. */
int metrics_httpd_new(int fd, const MetricsHttpdLimits *limits, MetricsHttpdPage page, void *userdata,
                      MetricsHttpd **ret);
/* Stops the thread and closes every connection. */
MetricsHttpd *metrics_httpd_free(MetricsHttpd *h);
DEFINE_TRIVIAL_CLEANUP_FUNC(MetricsHttpd *, metrics_httpd_free);

/* The local port of the listening socket. */
int metrics_httpd_get_port(MetricsHttpd *h, uint16_t *ret);

/* Whether the server has had no connection for at least "idle" (CLOCK_MONOTONIC). Safe to call from any
 * thread. */
bool metrics_httpd_is_idle(MetricsHttpd *h, usec_t idle);

/* Stops accepting connections; those the kernel queues stay in the listening socket's backlog for the
 * next instance (systemd's socket keeps listening). Returns whether no connection is left, i.e. the
 * server may be freed without cutting a client off. */
bool metrics_httpd_quiesce(MetricsHttpd *h);
