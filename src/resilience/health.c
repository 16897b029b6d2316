/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Health scoring per agent and per profile. */

#include "health.h"

static const char * const health_report_table[_HEALTH_REPORT_MAX] = {
        [HEALTH_REPORT_NONE] = "none",
        [HEALTH_REPORT_OK] = "ok",
        [HEALTH_REPORT_DEGRADED] = "degraded",
        [HEALTH_REPORT_FAILING] = "failing",
};

static const char * const profile_health_table[_PROFILE_HEALTH_MAX] = {
        [PROFILE_HEALTH_RUNNING] = "running",
        [PROFILE_HEALTH_DEGRADED] = "degraded",
        [PROFILE_HEALTH_FAILED] = "failed",
};

const char *health_report_to_string(HealthReport r) {
        return r >= 0 && r < _HEALTH_REPORT_MAX ? health_report_table[r] : NULL;
}

HealthReport health_report_from_string(const char *s) {
        if (!s)
                return _HEALTH_REPORT_INVALID;
        for (HealthReport r = HEALTH_REPORT_OK; r < _HEALTH_REPORT_MAX; r++)
                if (streq(s, health_report_table[r]))
                        return r;
        return _HEALTH_REPORT_INVALID;
}

const char *profile_health_to_string(ProfileHealth h) {
        return h >= 0 && h < _PROFILE_HEALTH_MAX ? profile_health_table[h] : NULL;
}

HealthUnitState health_unit_state_from_active_state(const char *s) {
        if (!s)
                return _HEALTH_UNIT_STATE_INVALID;
        if (streq(s, "active") || streq(s, "reloading") || streq(s, "refreshing"))
                return HEALTH_UNIT_ACTIVE;
        if (streq(s, "activating"))
                return HEALTH_UNIT_ACTIVATING;
        if (streq(s, "deactivating"))
                return HEALTH_UNIT_DEACTIVATING;
        if (streq(s, "inactive"))
                return HEALTH_UNIT_INACTIVE;
        if (streq(s, "failed"))
                return HEALTH_UNIT_FAILED;
        if (streq(s, "maintenance"))
                return HEALTH_UNIT_MAINTENANCE;
        return _HEALTH_UNIT_STATE_INVALID;
}

static double availability_factor(const HealthInput *in) {
        if (in->waiting)
                return 0.5;

        switch (in->unit) {
        case HEALTH_UNIT_ACTIVE:
                return 1.0;
        case HEALTH_UNIT_ACTIVATING:
        case HEALTH_UNIT_DEACTIVATING:
        case HEALTH_UNIT_MAINTENANCE:
                return 0.5;
        case HEALTH_UNIT_INACTIVE:
                return in->idle_ok ? 1.0 : 0.0;
        case HEALTH_UNIT_FAILED:
        default:
                return 0.0;
        }
}

static double breaker_factor(const HealthInput *in) {
        if (in->waiting)
                return 1.0;

        switch (in->breaker) {
        case BREAKER_CLOSED:
                return 1.0;
        case BREAKER_HALF_OPEN:
                return 0.5;
        case BREAKER_OPEN:
        default:
                return 0.0;
        }
}

static double report_factor(HealthReport r) {
        switch (r) {
        case HEALTH_REPORT_DEGRADED:
                return 0.6;
        case HEALTH_REPORT_FAILING:
                return 0.2;
        case HEALTH_REPORT_NONE:
        case HEALTH_REPORT_OK:
        default:
                return 1.0;
        }
}

double health_agent_score(const HealthInput *in) {
        double failures, errors, score;

        if (!in)
                return 0.0;

        failures = in->threshold > 0 ? MIN((double) in->failures / in->threshold, 1.0) : 0.0;
        /* error_rate may be garbage (negative, NaN): "!(x > 0)" treats those as no errors. */
        errors = !(in->error_rate > 0) ? 0.0 : MIN(in->error_rate / HEALTH_ERROR_RATE_SATURATION, 1.0);

        score = availability_factor(in) *
                breaker_factor(in) *
                (1.0 - 0.5 * failures) *
                (1.0 - 0.5 * errors) *
                (in->watchdog_missed ? 0.5 : 1.0) *
                report_factor(in->report);

        return CLAMP(score, 0.0, 1.0);
}

double health_profile_score(const HealthAgentSummary *agents, size_t n) {
        double sum = 0, weights = 0;

        for (size_t i = 0; i < n; i++) {
                double w = agents[i].essential ? HEALTH_WEIGHT_ESSENTIAL : 1.0;
                double s = agents[i].score;

                if (!(s >= 0))  /* NaN or negative */
                        s = 0;
                sum += w * MIN(s, 1.0);
                weights += w;
        }

        return weights > 0 ? sum / weights : 1.0;
}

ProfileHealth health_profile_classify(const HealthAgentSummary *agents, size_t n) {
        ProfileHealth h = PROFILE_HEALTH_RUNNING;

        for (size_t i = 0; i < n; i++) {
                ProfileHealth a = PROFILE_HEALTH_RUNNING;

                if (agents[i].waiting)
                        a = PROFILE_HEALTH_DEGRADED;
                else if (agents[i].breaker == BREAKER_OPEN)
                        a = agents[i].essential ? PROFILE_HEALTH_FAILED : PROFILE_HEALTH_DEGRADED;
                else if (agents[i].breaker == BREAKER_HALF_OPEN)
                        a = PROFILE_HEALTH_DEGRADED;

                h = MAX(h, a);
        }

        return h;
}

void health_rate_add(HealthRate *r, usec_t now) {
        uint64_t b = now / HEALTH_RATE_BUCKET_USEC;
        size_t i = b % HEALTH_RATE_BUCKETS;

        if (r->bucket[i] != b) {
                r->bucket[i] = b;
                r->count[i] = 0;
        }
        if (r->count[i] < UINT32_MAX)
                r->count[i]++;
}

double health_rate_per_minute(const HealthRate *r, usec_t now) {
        uint64_t b = now / HEALTH_RATE_BUCKET_USEC;
        unsigned sum = 0;

        /* The current bucket and the five before it: up to 60 s, at least 50 s of history. */
        for (size_t i = 0; i < HEALTH_RATE_BUCKETS; i++)
                if (r->count[i] > 0 && r->bucket[i] <= b && b - r->bucket[i] < HEALTH_RATE_BUCKETS)
                        sum += r->count[i];

        return (double) sum * (double) USEC_PER_MINUTE / (double) (HEALTH_RATE_BUCKETS * HEALTH_RATE_BUCKET_USEC);
}
