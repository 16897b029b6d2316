/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The metrics HTTP endpoint of unified-metricsd: GET/HEAD /metrics on libmicrohttpd, with content
 * negotiation (Prometheus text or OpenMetrics), run from the caller's sd-event loop (libmicrohttpd's epoll
 * fd and timeout as event sources, as systemd-journal-remote does it: no thread of its own).
 *
 * libmicrohttpd never accepts a connection itself. The server accepts it into a waiting room of its own
 * and hands it over (MHD_add_connection()) once the request head is complete, which it learns by peeking
 * at the socket for the empty line, without parsing anything. The waiting room is where slow clients are
 * bounded, and only there, on file descriptors that are the server's alone:
 *
 *   - at most "waiting" connections wait, at most "waiting_per_ip" from one address: a newcomer over
 *     either bound closes the oldest waiting connection (of its address, or of all), never itself;
 *   - a connection that has not completed its head "head_timeout_sec" after it was accepted is closed.
 *
 * A scraper sends its head at once, so it is handed over before slow clients could push it out; slow
 * clients only ever push each other out. libmicrohttpd answers each request with "Connection: close" (a
 * scraper connects once per scrape), so a connection it holds is one being answered: at most "answering"
 * of them, "answering_per_ip" per address, each with libmicrohttpd's inactivity timeout "timeout_sec"
 * (a client that does not read its answer). */

#include <stdbool.h>
#include <stdint.h>

#include <systemd/sd-event.h>

#include "macro.h"
#include "metrics.h"
#include "time-util.h"

typedef struct MetricsHttpd MetricsHttpd;

/* Produces the page in "fmt": a malloc()ed buffer, freed by the server after sending. Called from the
 * event loop, one call at a time. A negative errno gives 503 with "ret_error" (malloc()ed, may be left
 * NULL) as the body. */
typedef int (*MetricsHttpdPage)(MetricsFormat fmt, char **ret_body, size_t *ret_size, char **ret_error,
                                void *userdata);

typedef struct MetricsHttpdLimits {
        unsigned waiting;               /* connections without a complete request head, in all */
        unsigned waiting_per_ip;        /* ... and from one client address */
        unsigned head_timeout_sec;      /* a request head must be complete this long after the accept */
        unsigned answering;             /* connections libmicrohttpd holds (MHD_OPTION_CONNECTION_LIMIT) */
        unsigned answering_per_ip;      /* ... per client address (MHD_OPTION_PER_IP_CONNECTION_LIMIT) */
        unsigned timeout_sec;           /* libmicrohttpd's inactivity timeout while answering */
} MetricsHttpdLimits;

#define METRICS_HTTPD_LIMITS_DEFAULT                                                               \
        ((MetricsHttpdLimits) { .waiting = 64, .waiting_per_ip = 8, .head_timeout_sec = 5,         \
                                .answering = 32, .answering_per_ip = 4, .timeout_sec = 10 })

/* Serves on the listening socket "fd" (ownership passes to the server, also on failure) from "event".
 * "limits" may be NULL for the defaults. */
int metrics_httpd_new(sd_event *event, int fd, const MetricsHttpdLimits *limits, MetricsHttpdPage page,
                      void *userdata, MetricsHttpd **ret);
/* Closes every connection and the listening socket (systemd keeps its own copy of a passed one). */
MetricsHttpd *metrics_httpd_free(MetricsHttpd *h);
DEFINE_TRIVIAL_CLEANUP_FUNC(MetricsHttpd *, metrics_httpd_free);

/* The local port of the listening socket. */
int metrics_httpd_get_port(MetricsHttpd *h, uint16_t *ret);

/* Whether the server has had no connection for at least "idle" (CLOCK_MONOTONIC). */
bool metrics_httpd_is_idle(MetricsHttpd *h, usec_t idle);

/* Stops accepting connections; those the kernel queues stay in the listening socket's backlog for the
 * next instance (systemd's socket keeps listening). Returns whether no connection is left, i.e. the
 * server may be freed without cutting a client off. */
bool metrics_httpd_quiesce(MetricsHttpd *h);
