/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Tests for health scoring: the agent formula as a table, the profile mean and the profile
 * classification, and the error-rate window. */

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

/* Case names and values go to stderr: stdout is TAP for meson. */
#define log_case(...) fprintf(stderr, __VA_ARGS__)

#include "health.h"

#define EPS 1e-9

static void test_agent_score(void **state) {
        static const struct {
                const char *name;
                HealthInput in;
                double expected;
        } cases[] = {
                { "healthy", { HEALTH_UNIT_ACTIVE, BREAKER_CLOSED, 0, 3, 0, false, HEALTH_REPORT_NONE }, 1.0 },
                { "reports ok", { HEALTH_UNIT_ACTIVE, BREAKER_CLOSED, 0, 3, 0, false, HEALTH_REPORT_OK }, 1.0 },
                { "reports degraded", { HEALTH_UNIT_ACTIVE, BREAKER_CLOSED, 0, 3, 0, false, HEALTH_REPORT_DEGRADED }, 0.6 },
                { "reports failing", { HEALTH_UNIT_ACTIVE, BREAKER_CLOSED, 0, 3, 0, false, HEALTH_REPORT_FAILING }, 0.2 },
                { "one failure of three", { HEALTH_UNIT_ACTIVE, BREAKER_CLOSED, 1, 3, 0, false }, 1.0 - 0.5 / 3 },
                { "at threshold", { HEALTH_UNIT_ACTIVE, BREAKER_CLOSED, 3, 3, 0, false }, 0.5 },
                { "beyond threshold", { HEALTH_UNIT_ACTIVE, BREAKER_CLOSED, 9, 3, 0, false }, 0.5 },
                { "no threshold", { HEALTH_UNIT_ACTIVE, BREAKER_CLOSED, 9, 0, 0, false }, 1.0 },
                { "30 errors/min", { HEALTH_UNIT_ACTIVE, BREAKER_CLOSED, 0, 3, 30, false }, 0.75 },
                { "600 errors/min", { HEALTH_UNIT_ACTIVE, BREAKER_CLOSED, 0, 3, 600, false }, 0.5 },
                { "negative rate", { HEALTH_UNIT_ACTIVE, BREAKER_CLOSED, 0, 3, -5, false }, 1.0 },
                { "NaN rate", { HEALTH_UNIT_ACTIVE, BREAKER_CLOSED, 0, 3, NAN, false }, 1.0 },
                { "watchdog missed", { HEALTH_UNIT_ACTIVE, BREAKER_CLOSED, 0, 3, 0, true }, 0.5 },
                { "restarting", { HEALTH_UNIT_ACTIVATING, BREAKER_CLOSED, 1, 3, 0, false }, 0.5 * (1.0 - 0.5 / 3) },
                { "stopping", { HEALTH_UNIT_DEACTIVATING, BREAKER_CLOSED, 0, 3, 0, false }, 0.5 },
                { "failed", { HEALTH_UNIT_FAILED, BREAKER_CLOSED, 0, 3, 0, false }, 0.0 },
                { "inactive", { HEALTH_UNIT_INACTIVE, BREAKER_CLOSED, 0, 3, 0, false }, 0.0 },
                { "lazy idle", { HEALTH_UNIT_INACTIVE, BREAKER_CLOSED, 0, 3, 0, false, .idle_ok = true }, 1.0 },
                { "half-open probe", { HEALTH_UNIT_ACTIVE, BREAKER_HALF_OPEN, 0, 3, 0, false }, 0.5 },
                { "open", { HEALTH_UNIT_INACTIVE, BREAKER_OPEN, 0, 3, 0, false }, 0.0 },
                { "open but running", { HEALTH_UNIT_ACTIVE, BREAKER_OPEN, 0, 3, 0, false }, 0.0 },
                { "waiting on a dependency", { HEALTH_UNIT_INACTIVE, BREAKER_CLOSED, 0, 3, 0, false, .waiting = true }, 0.5 },
                { "waiting, own breaker open", { HEALTH_UNIT_FAILED, BREAKER_OPEN, 0, 3, 0, false, .waiting = true }, 0.5 },
                { "everything at once",
                  { HEALTH_UNIT_ACTIVE, BREAKER_HALF_OPEN, 2, 4, 30, true, HEALTH_REPORT_DEGRADED },
                  1.0 * 0.5 * 0.75 * 0.75 * 0.5 * 0.6 },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                double s = health_agent_score(&cases[i].in);

                log_case("%s: %f (expected %f)\n", cases[i].name, s, cases[i].expected);
                assert_true(fabs(s - cases[i].expected) < EPS);
                assert_true(s >= 0.0 && s <= 1.0);
        }
        assert_true(health_agent_score(NULL) == 0.0);
}

static void test_profile_score(void **state) {
        const HealthAgentSummary healthy_three[] = {
                { true, BREAKER_CLOSED, false, 1.0 },
                { false, BREAKER_CLOSED, false, 1.0 },
                { false, BREAKER_CLOSED, false, 1.0 },
        };
        const HealthAgentSummary essential_down[] = {
                { true, BREAKER_OPEN, false, 0.0 },
                { false, BREAKER_CLOSED, false, 1.0 },
        };
        const HealthAgentSummary optional_down[] = {
                { true, BREAKER_CLOSED, false, 1.0 },
                { false, BREAKER_OPEN, false, 0.0 },
        };
        const HealthAgentSummary garbage[] = {
                { false, BREAKER_CLOSED, false, NAN },
                { false, BREAKER_CLOSED, false, 7.0 },
        };

        assert_true(fabs(health_profile_score(healthy_three, 3) - 1.0) < EPS);
        /* (3 * 0 + 1 * 1) / 4 and (3 * 1 + 1 * 0) / 4: an essential agent weighs three times more. */
        assert_true(fabs(health_profile_score(essential_down, 2) - 0.25) < EPS);
        assert_true(fabs(health_profile_score(optional_down, 2) - 0.75) < EPS);
        assert_true(fabs(health_profile_score(garbage, 2) - 0.5) < EPS);
        assert_true(health_profile_score(NULL, 0) == 1.0);
}

static void test_profile_classify(void **state) {
        static const struct {
                const char *name;
                HealthAgentSummary agents[3];
                ProfileHealth expected;
        } cases[] = {
                { "all closed", { { true, BREAKER_CLOSED }, { false, BREAKER_CLOSED }, { false, BREAKER_CLOSED } },
                  PROFILE_HEALTH_RUNNING },
                { "essential open", { { true, BREAKER_OPEN }, { false, BREAKER_CLOSED }, { false, BREAKER_CLOSED } },
                  PROFILE_HEALTH_FAILED },
                { "non-essential open", { { true, BREAKER_CLOSED }, { false, BREAKER_OPEN }, { false, BREAKER_CLOSED } },
                  PROFILE_HEALTH_DEGRADED },
                { "half-open", { { true, BREAKER_HALF_OPEN }, { false, BREAKER_CLOSED }, { false, BREAKER_CLOSED } },
                  PROFILE_HEALTH_DEGRADED },
                { "both kinds open", { { false, BREAKER_OPEN }, { true, BREAKER_OPEN }, { false, BREAKER_CLOSED } },
                  PROFILE_HEALTH_FAILED },
                /* An essential agent waiting on a non-essential dependency: its dependency's breaker
                 * speaks, the waiting agent's own (opened by the cascade) does not. */
                { "waiting essential", { { true, BREAKER_OPEN, true }, { false, BREAKER_OPEN }, { false, BREAKER_CLOSED } },
                  PROFILE_HEALTH_DEGRADED },
                { "waiting on a recovering dependency", { { false, BREAKER_CLOSED, true }, { true, BREAKER_CLOSED }, { false, BREAKER_CLOSED } },
                  PROFILE_HEALTH_DEGRADED },
                /* Cascade through an essential dependency: failed because of the dependency. */
                { "cascade", { { true, BREAKER_OPEN }, { false, BREAKER_OPEN, true }, { true, BREAKER_CLOSED, true } },
                  PROFILE_HEALTH_FAILED },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                ProfileHealth h = health_profile_classify(cases[i].agents, 3);

                log_case("%s: %s\n", cases[i].name, profile_health_to_string(h));
                assert_string_equal(profile_health_to_string(h), profile_health_to_string(cases[i].expected));
        }
        assert_int_equal(health_profile_classify(NULL, 0), PROFILE_HEALTH_RUNNING);
}

static void test_rate(void **state) {
        HealthRate r = {};
        usec_t t0 = 1000 * USEC_PER_SEC;

        assert_true(health_rate_per_minute(&r, t0) == 0.0);
        for (unsigned i = 0; i < 30; i++)
                health_rate_add(&r, t0 + i * USEC_PER_SEC);     /* one a second for 30 s */
        assert_true(fabs(health_rate_per_minute(&r, t0 + 30 * USEC_PER_SEC) - 30.0) < EPS);
        /* 50 s later the first 10 s bucket has left the minute. */
        assert_true(fabs(health_rate_per_minute(&r, t0 + 60 * USEC_PER_SEC) - 20.0) < EPS);
        assert_true(fabs(health_rate_per_minute(&r, t0 + 80 * USEC_PER_SEC) - 0.0) < EPS);
        /* Old buckets are reused, not added to. */
        health_rate_add(&r, t0 + 300 * USEC_PER_SEC);
        assert_true(fabs(health_rate_per_minute(&r, t0 + 300 * USEC_PER_SEC) - 1.0) < EPS);
        /* A query from the past does not count future buckets. */
        assert_true(health_rate_per_minute(&r, t0) == 0.0);
}

static void test_strings(void **state) {
        assert_int_equal(health_report_from_string("ok"), HEALTH_REPORT_OK);
        assert_int_equal(health_report_from_string("degraded"), HEALTH_REPORT_DEGRADED);
        assert_int_equal(health_report_from_string("failing"), HEALTH_REPORT_FAILING);
        assert_int_equal(health_report_from_string("none"), _HEALTH_REPORT_INVALID);
        assert_int_equal(health_report_from_string("OK"), _HEALTH_REPORT_INVALID);
        assert_int_equal(health_report_from_string(NULL), _HEALTH_REPORT_INVALID);
        assert_int_equal(health_unit_state_from_active_state("active"), HEALTH_UNIT_ACTIVE);
        assert_int_equal(health_unit_state_from_active_state("reloading"), HEALTH_UNIT_ACTIVE);
        assert_int_equal(health_unit_state_from_active_state("activating"), HEALTH_UNIT_ACTIVATING);
        assert_int_equal(health_unit_state_from_active_state("failed"), HEALTH_UNIT_FAILED);
        assert_int_equal(health_unit_state_from_active_state("bogus"), _HEALTH_UNIT_STATE_INVALID);
        assert_string_equal(profile_health_to_string(PROFILE_HEALTH_DEGRADED), "degraded");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_agent_score),
                cmocka_unit_test(test_profile_score),
                cmocka_unit_test(test_profile_classify),
                cmocka_unit_test(test_rate),
                cmocka_unit_test(test_strings),
        };

        cmocka_set_message_output(CM_OUTPUT_TAP);
        return cmocka_run_group_tests(tests, NULL, NULL);
}
