/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Health scoring: a score in [0, 1] per agent from what the daemon knows about it, a weighted mean per
 * profile, and the running / degraded / failed classification of a profile from its agents' breakers.
 * Pure; the formula and the reasoning for each factor are in docs/resilience.md.
 *
 * How the daemon integrates it: keep one HealthRate per agent and call health_rate_add() for every
 * error-priority journal line of the agent; whenever anything in an agent's HealthInput changes, fill a
 * HealthInput, call health_agent_score() and, if the value moved, emit PropertiesChanged "Health"; then
 * recompute health_profile_score() / health_profile_classify() for Manager.HealthScore and
 * Manager.State (while the profile is running: starting and stopping are the daemon's own states). */

#include <stdbool.h>
#include <stddef.h>

#include "breaker.h"
#include "macro.h"
#include "time-util.h"

/* Error lines per minute at which the error factor bottoms out (one a second, sustained). */
#define HEALTH_ERROR_RATE_SATURATION 60.0
/* Weight of an essential agent in the profile mean (non-essential: 1). */
#define HEALTH_WEIGHT_ESSENTIAL 3.0
/* The error-rate window: HEALTH_RATE_BUCKETS buckets of HEALTH_RATE_BUCKET_USEC. */
#define HEALTH_RATE_BUCKETS 6
#define HEALTH_RATE_BUCKET_USEC (10 * USEC_PER_SEC)

/* What the agent itself says, from its last UNIFIED_HEALTH= journal field. */
typedef enum HealthReport {
        HEALTH_REPORT_NONE,             /* never reported: no opinion */
        HEALTH_REPORT_OK,
        HEALTH_REPORT_DEGRADED,
        HEALTH_REPORT_FAILING,
        _HEALTH_REPORT_MAX,
        _HEALTH_REPORT_INVALID = -EINVAL,
} HealthReport;

/* "ok", "degraded", "failing" (and "none" for HEALTH_REPORT_NONE). from_string() accepts only the first
 * three, case-sensitively, as agents are told to write them. */
const char *health_report_to_string(HealthReport r) _const_;
HealthReport health_report_from_string(const char *s) _pure_;

/* The unit's ActiveState as systemd reports it, folded to what matters for health. */
typedef enum HealthUnitState {
        HEALTH_UNIT_ACTIVE,             /* "active", "reloading", "refreshing" */
        HEALTH_UNIT_ACTIVATING,         /* "activating" (also the auto-restart wait) */
        HEALTH_UNIT_DEACTIVATING,
        HEALTH_UNIT_INACTIVE,
        HEALTH_UNIT_FAILED,
        HEALTH_UNIT_MAINTENANCE,        /* "maintenance" (a clean in progress) */
        _HEALTH_UNIT_STATE_MAX,
        _HEALTH_UNIT_STATE_INVALID = -EINVAL,
} HealthUnitState;

HealthUnitState health_unit_state_from_active_state(const char *active_state) _pure_;

typedef struct HealthInput {
        HealthUnitState unit;
        BreakerState breaker;
        unsigned failures;              /* breaker_failures_in_window() */
        unsigned threshold;             /* the agent's breaker threshold, to scale "failures" */
        double error_rate;              /* error-priority lines per minute, health_rate_per_minute() */
        bool watchdog_missed;           /* a watchdog timeout within the breaker window */
        HealthReport report;
        bool waiting;                   /* a required agent is down: this one cannot run, not its fault */
        bool idle_ok;                   /* inactive is expected (lazy agent waiting on its socket) */
} HealthInput;

/* The agent's score in [0, 1]: the product of the factors in docs/resilience.md. */
double health_agent_score(const HealthInput *in) _pure_;

typedef struct HealthAgentSummary {
        bool essential;
        BreakerState breaker;
        bool waiting;
        double score;                   /* health_agent_score() */
} HealthAgentSummary;

/* Weighted mean of the scores, essential agents weighing HEALTH_WEIGHT_ESSENTIAL. 1.0 for no agents. */
double health_profile_score(const HealthAgentSummary *agents, size_t n) _pure_;

typedef enum ProfileHealth {
        PROFILE_HEALTH_RUNNING,
        PROFILE_HEALTH_DEGRADED,
        PROFILE_HEALTH_FAILED,
        _PROFILE_HEALTH_MAX,
        _PROFILE_HEALTH_INVALID = -EINVAL,
} ProfileHealth;

/* "running", "degraded", "failed": the Manager.State values. */
const char *profile_health_to_string(ProfileHealth h) _const_;

/* An essential agent OPEN -> failed; a non-essential agent OPEN, any agent HALF_OPEN or any agent
 * waiting on a dependency -> degraded; else running. A waiting agent's own breaker is not looked at:
 * its dependency's breaker speaks for it. */
ProfileHealth health_profile_classify(const HealthAgentSummary *agents, size_t n) _pure_;

/* Error lines per minute over the last minute, in 10 s buckets. Zero-initialize. */
typedef struct HealthRate {
        uint64_t bucket[HEALTH_RATE_BUCKETS];   /* bucket number (time / bucket length) */
        unsigned count[HEALTH_RATE_BUCKETS];
} HealthRate;

void health_rate_add(HealthRate *r, usec_t now);
double health_rate_per_minute(const HealthRate *r, usec_t now) _pure_;
