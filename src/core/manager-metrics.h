/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The daemon's metrics: a MetricsSnapshot built from the manager and the supervisor (read-only, borrowed
 * pointers, cgroup figures read on the spot), served by the HTTP endpoint and optionally written to a
 * node_exporter textfile. See docs/metrics.md.
 *
 * How the manager uses it:
 *
 *     manager_metrics_new(m, m->supervisor, &m->metrics);   after manager_startup()'s objects exist
 *     manager_metrics_free(m->metrics);                     in manager_free(), before the event loop goes
 */

#include <stdbool.h>
#include <stddef.h>

#include "daemon-config.h"
#include "macro.h"
#include "metrics.h"
#include "supervisor.h"

/* How often the textfile is rewritten when TextfilePath= is set (node_exporter reads it on each of its
 * scrapes, typically every 15 s). */
#define MANAGER_METRICS_TEXTFILE_USEC (15 * USEC_PER_SEC)
/* The name of the socket-activated listening fd (unified-metrics.socket, FileDescriptorName=). */
#define MANAGER_METRICS_FD_NAME "metrics"

typedef struct ManagerMetrics ManagerMetrics;

/* Loads the daemon configuration ($UNIFIED_CONFIG_FILE, else CONFIG_FILE, plus drop-ins; errors are
 * logged and the valid settings used), then serves: on the socket-activated fd named "metrics" if
 * systemd passed one, else on ListenAddress= (unless "none"); and writes TextfilePath= periodically.
 * A failure to serve is returned; the caller decides whether the daemon runs without metrics. */
int manager_metrics_new(Manager *m, Supervisor *s, ManagerMetrics **ret);
ManagerMetrics *manager_metrics_free(ManagerMetrics *mm);
DEFINE_TRIVIAL_CLEANUP_FUNC(ManagerMetrics *, manager_metrics_free);

/* The page, as the endpoint serves it (also used for the textfile and by tests). */
int manager_metrics_render(ManagerMetrics *mm, MetricsFormat fmt, char **ret, size_t *ret_size);

/* The port actually listened on (tests bind port 0); -ENXIO when the endpoint is off. */
int manager_metrics_get_port(ManagerMetrics *mm, uint16_t *ret);

/* Takes the fd named "name" out of $LISTEN_FDS/$LISTEN_FDNAMES (sd_listen_fds_with_names()); -EBADF if
 * there is none. Other passed fds are left alone. */
int manager_metrics_listen_fd(const char *name);
