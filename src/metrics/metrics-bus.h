/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What unified-metricsd exports, gathered from outside the daemon: unifiedd's objects from one
 * org.freedesktop.DBus.ObjectManager.GetManagedObjects call on /org/unified1 (plus a GetAll of the
 * Manager when the reply does not carry the object manager's own object, as sd-bus does), read into a
 * MetricsSnapshot whose strings are borrowed from the kept replies; and each agent's cgroup figures,
 * read from cgroupfs (cgroup-stats.h), which needs no privilege. See docs/metrics.md. */

#include <systemd/sd-bus.h>

#include "histogram.h"
#include "macro.h"
#include "metrics.h"

/* The daemon's public names (docs/dbus-api.md). */
#define METRICS_BUS_NAME "org.unified1"
#define METRICS_BUS_PATH "/org/unified1"
#define METRICS_BUS_MANAGER_IFACE "org.unified1.Manager"
#define METRICS_BUS_PROFILE_IFACE "org.unified1.Profile"
#define METRICS_BUS_AGENT_IFACE "org.unified1.Agent"
/* Where systemd puts the agents' cgroups: the slice, then the unit name. */
#define METRICS_BUS_SLICE_CGROUP "/unified.slice"

typedef struct MetricsBusAgent MetricsBusAgent;
typedef struct MetricsBusProfile MetricsBusProfile;

typedef struct MetricsBusSnapshot {
        sd_bus_message *objects;        /* the GetManagedObjects reply */
        sd_bus_message *manager;        /* the Manager's GetAll reply, if it was needed */

        MetricsSnapshot snapshot;       /* ready for metrics_render(), borrowing from the above */
        MetricsBusAgent *bus_agents;
        MetricsAgent *agents;
        size_t n_agents;
        MetricsProfile *profiles;
        size_t n_profiles;
        Histogram recovery;
        bool has_manager;               /* the Manager's properties were read */
} MetricsBusSnapshot;

/* Reads a GetManagedObjects reply ("objects", positioned at its start; a reference is taken) and, if
 * the Manager is not in it, the a{sv} of "manager" (NULL: leave the manager's figures unknown).
 * Properties the reply lacks (an older daemon) stay unknown; ones with an unexpected type are skipped.
 * Agents and profiles are sorted by name. -EBADMSG for a reply of the wrong shape, -ENOMEM. */
int metrics_bus_snapshot_parse(MetricsBusSnapshot *s, sd_bus_message *objects, sd_bus_message *manager);
/* Adds the cgroup figures: each agent's from METRICS_BUS_SLICE_CGROUP/<unit>, the active profile's memory
 * from the slice. Agents whose cgroup is gone keep them unknown. */
void metrics_bus_snapshot_read_cgroups(MetricsBusSnapshot *s);
void metrics_bus_snapshot_done(MetricsBusSnapshot *s);

/* The whole collection: the calls (with the bus's method call timeout, sd_bus_set_method_call_timeout()),
 * the parse, the cgroup reads. A failed call is returned with "error" set. */
int metrics_bus_collect(sd_bus *bus, MetricsBusSnapshot *ret, sd_bus_error *error);
