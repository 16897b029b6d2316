/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The Prometheus exposition: a pure renderer from a plain snapshot of the daemon's state to the
 * Prometheus text format 0.0.4 or OpenMetrics 1.0.0. The daemon fills a MetricsSnapshot (pointers
 * borrowed from its own objects, nothing copied) and calls metrics_render(); no I/O, no clock. */

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cgroup-stats.h"
#include "histogram.h"
#include "macro.h"
#include "time-util.h"

/* For every uint64_t figure below: "unknown / not set", the sample is then left out. */
#define METRICS_UNSET UINT64_MAX

typedef enum MetricsFormat {
        METRICS_FORMAT_PROMETHEUS,      /* text/plain; version=0.0.4 */
        METRICS_FORMAT_OPENMETRICS,     /* application/openmetrics-text; version=1.0.0 */
        _METRICS_FORMAT_MAX,
        _METRICS_FORMAT_INVALID = -EINVAL,
} MetricsFormat;

/* The Content-Type header value of a format. */
const char *metrics_format_content_type(MetricsFormat f) _const_;
/* Picks the format for an HTTP Accept header (NULL or empty: Prometheus text). OpenMetrics is
 * chosen when "application/openmetrics-text" is acceptable with a q-value higher than, or equal
 * to, the best text/plain (or wildcard) entry, which is what Prometheus itself sends. */
MetricsFormat metrics_format_from_accept(const char *accept) _pure_;

typedef struct MetricsAgent {
        const char *name;               /* the agent name, label "agent" */
        const char *profile;            /* the profile it runs in, label "profile" */
        const char *unit;               /* "unified-<name>.service", in unified_agent_info only */
        bool essential;
        bool lazy;                      /* started by socket activation */

        const char *active_state;       /* systemd ActiveState ("active", "failed", ...); NULL = unknown */
        uint64_t restarts;              /* NRestarts of the unit, summed over the daemon's life */
        const char *breaker;            /* "closed", "open", "half-open" */
        uint64_t breaker_transitions;   /* state changes of the breaker */
        double health;                  /* [0, 1]; NaN = unknown, left out */

        uint64_t memory_current;        /* bytes, cgroup memory.current */
        uint64_t memory_peak;           /* bytes, cgroup memory.peak (kernel >= 5.19) */
        uint64_t memory_limit;          /* bytes, MemoryMax= (METRICS_UNSET: none) */
        uint64_t cpu_limit;             /* CPUQuota= in permyriad of one CPU, 0 = none */
        uint64_t cpu_usage_usec;        /* cgroup cpu.stat usage_usec */
        double cpu_pressure;            /* cpu.pressure "some avg10", percent; NaN = unknown */
        double memory_pressure;         /* memory.pressure "some avg10", percent; NaN = unknown */
        uint64_t oom_kills;             /* cgroup memory.events oom_kill */
        uint64_t journal_error_lines;   /* journal lines at priority err or worse */

        /* Lazy agents only (lazy == true). */
        uint64_t lazy_activations;              /* socket activations that reached "active" */
        uint64_t lazy_activation_failures;      /* activations that ended "failed" */
        const Histogram *lazy_latency;          /* socket trigger -> active; NULL = none yet */
} MetricsAgent;

typedef struct MetricsProfile {
        const char *name;
        bool active;
        uint64_t memory_current;        /* bytes, unified.slice memory.current when active */
        uint64_t memory_budget;         /* bytes, the profile's memory_max (METRICS_UNSET: none) */
        double health;                  /* [0, 1]; NaN = unknown */
        usec_t last_start_duration;     /* StartProfile -> all agents active; USEC_INFINITY = never */
} MetricsProfile;

typedef struct MetricsSnapshot {
        const char *version;            /* PROJECT_VERSION */
        const char *active_profile;     /* NULL: none */
        const char *state;              /* Manager State: "inactive", "starting", "running", ... */
        double health;                  /* Manager HealthScore; NaN = unknown */

        const MetricsAgent *agents;
        size_t n_agents;
        const MetricsProfile *profiles;
        size_t n_profiles;

        const Histogram *recovery;      /* failure -> active again, all agents; NULL = empty */
        usec_t scrape_duration;         /* how long the previous scrape took; USEC_INFINITY = none */
} MetricsSnapshot;

/* Initialize with every figure "unknown" (METRICS_UNSET, NaN, USEC_INFINITY, NULL), so that only what
 * the caller fills in afterwards is exported. */
void metrics_agent_init(MetricsAgent *a);
void metrics_profile_init(MetricsProfile *p);
void metrics_snapshot_init(MetricsSnapshot *s);

/* Copies the cgroup figures (memory current/peak/limit, CPU time, OOM kills, pressure) into "a";
 * unset figures stay unknown. The limit is the cgroup's memory.max, i.e. what is in force now,
 * including runtime changes. */
void metrics_agent_set_cgroup_stats(MetricsAgent *a, const CgroupStats *st);

/* Renders "s" in format "fmt" into a NUL-terminated malloc()ed buffer; *ret_size excludes the NUL.
 * Samples are grouped by family as both formats require; label values are escaped. Per-profile
 * agent counts (unified_profile_agents) are derived from the agents' profile and active_state.
 * -ENOMEM, -EINVAL for an invalid format. */
int metrics_render(const MetricsSnapshot *s, MetricsFormat fmt, char **ret, size_t *ret_size);
