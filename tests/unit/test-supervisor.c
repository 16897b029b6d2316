/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Tests for the supervision glue: unit state transitions and journal events as breaker events (tables),
 * and the profile state from breakers. The supervisor at work is tested in-process (test-manager.c). */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#define log_case(...) fprintf(stderr, __VA_ARGS__)

#include "manager.h"
#include "strv.h"
#include "supervisor.h"

static void test_unit_transition_classify(void **state) {
        static const struct {
                const char *old_active, *old_sub, *new_active, *new_sub, *result;
                UnitTransition expected;
        } cases[] = {
                /* First sight: nothing is inferred. */
                { NULL, NULL, "failed", "failed", "exit-code", UNIT_TRANSITION_NONE },
                { NULL, NULL, "active", "running", "success", UNIT_TRANSITION_NONE },
                /* Start, up, crash with auto-restart, back. */
                { "inactive", "dead", "activating", "start", "success", UNIT_TRANSITION_STARTING },
                { "activating", "start", "active", "running", "success", UNIT_TRANSITION_ACTIVE },
                { "active", "running", "activating", "auto-restart", "signal", UNIT_TRANSITION_RESTART },
                { "deactivating", "stop-sigterm", "activating", "auto-restart", "watchdog", UNIT_TRANSITION_RESTART },
                { "activating", "auto-restart", "activating", "auto-restart-queued", "signal", UNIT_TRANSITION_NONE },
                { "activating", "auto-restart", "activating", "start", "signal", UNIT_TRANSITION_NONE },
                { "activating", "start", "active", "running", "signal", UNIT_TRANSITION_ACTIVE },
                /* Restart=always after a clean exit is not a failure. */
                { "active", "running", "activating", "auto-restart", "success", UNIT_TRANSITION_NONE },
                /* systemd gives up. */
                { "activating", "auto-restart", "failed", "failed", "start-limit-hit", UNIT_TRANSITION_FAILED },
                { "active", "running", "failed", "failed", "exit-code", UNIT_TRANSITION_FAILED },
                { "failed", "failed", "failed", "failed", "exit-code", UNIT_TRANSITION_NONE },
                /* A failed unit started again. */
                { "failed", "failed", "activating", "start", "success", UNIT_TRANSITION_STARTING },
                /* Stops. */
                { "active", "running", "deactivating", "stop-sigterm", "success", UNIT_TRANSITION_NONE },
                { "deactivating", "stop-sigterm", "inactive", "dead", "success", UNIT_TRANSITION_STOPPED },
                { "active", "exited", "inactive", "dead", "success", UNIT_TRANSITION_STOPPED },
                { "inactive", "dead", "inactive", "dead", "success", UNIT_TRANSITION_NONE },
                { "active", "running", "reloading", "reload", "success", UNIT_TRANSITION_NONE },
                { "active", "running", NULL, NULL, NULL, UNIT_TRANSITION_NONE },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                UnitTransition t = unit_transition_classify(cases[i].old_active, cases[i].old_sub,
                                                            cases[i].new_active, cases[i].new_sub, cases[i].result);

                log_case("%zu: %s/%s -> %s/%s (%s): %s\n", i, strna(cases[i].old_active), strna(cases[i].old_sub),
                         strna(cases[i].new_active), strna(cases[i].new_sub), strna(cases[i].result),
                         unit_transition_to_string(t));
                assert_int_equal(t, cases[i].expected);
        }
}

static void test_restart_policy_restarts(void **state) {
        static const struct {
                RestartPolicy policy;
                const char *result;
                bool expected;
        } cases[] = {
                { RESTART_NO, "exit-code", false },
                { RESTART_NO, "signal", false },
                { RESTART_ON_FAILURE, "exit-code", true },
                { RESTART_ON_FAILURE, "signal", true },
                { RESTART_ON_FAILURE, "oom-kill", true },
                { RESTART_ON_FAILURE, "watchdog", true },
                { RESTART_ON_FAILURE, "success", false },
                { RESTART_ON_FAILURE, "start-limit-hit", false },
                { RESTART_ON_FAILURE, "exec-condition", false },
                { RESTART_ON_FAILURE, NULL, false },
                { RESTART_ON_ABNORMAL, "exit-code", false },
                { RESTART_ON_ABNORMAL, "signal", true },
                { RESTART_ON_ABNORMAL, "timeout", true },
                { RESTART_ON_WATCHDOG, "watchdog", true },
                { RESTART_ON_WATCHDOG, "signal", false },
                { RESTART_ON_ABORT, "core-dump", true },
                { RESTART_ON_ABORT, "exit-code", false },
                { RESTART_ALWAYS, "success", true },
                { RESTART_ALWAYS, "start-limit-hit", false },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                bool r = restart_policy_restarts(cases[i].policy, cases[i].result);

                log_case("%s %s: %s\n", restart_policy_to_string(cases[i].policy), strna(cases[i].result), yes_no(r));
                assert_int_equal(r, cases[i].expected);
        }
}

static void test_unit_transition_to_breaker_event(void **state) {
        static const struct {
                UnitTransition t;
                const char *result;
                bool restart_pending;
                bool event;
                BreakerEventType type;
                FailureKind kind;
                bool final;
        } cases[] = {
                { UNIT_TRANSITION_NONE, "success", false, false },
                { UNIT_TRANSITION_STARTING, "success", false, false },
                { UNIT_TRANSITION_STOPPED, "success", false, false },
                { UNIT_TRANSITION_ACTIVE, "success", false, true, BREAKER_EVENT_ACTIVE },
                { UNIT_TRANSITION_RESTART, "signal", true, true, BREAKER_EVENT_FAILURE, FAILURE_SIGNAL, false },
                { UNIT_TRANSITION_RESTART, "watchdog", true, true, BREAKER_EVENT_FAILURE, FAILURE_WATCHDOG, false },
                { UNIT_TRANSITION_RESTART, "oom-kill", true, true, BREAKER_EVENT_FAILURE, FAILURE_OOM_KILL, false },
                { UNIT_TRANSITION_FAILED, "start-limit-hit", false, true, BREAKER_EVENT_FAILURE, FAILURE_START_LIMIT_HIT, true },
                { UNIT_TRANSITION_FAILED, "exit-code", false, true, BREAKER_EVENT_FAILURE, FAILURE_EXIT_CODE, true },
                /* systemd 252 shows "failed" on its way to auto-restart: not final then. */
                { UNIT_TRANSITION_FAILED, "signal", true, true, BREAKER_EVENT_FAILURE, FAILURE_SIGNAL, false },
                { UNIT_TRANSITION_FAILED, "success", false, true, BREAKER_EVENT_FAILURE, FAILURE_OTHER, true },
                { UNIT_TRANSITION_FAILED, "something-new", false, true, BREAKER_EVENT_FAILURE, FAILURE_OTHER, true },
        };
        sd_id128_t inv = SD_ID128_MAKE(01, 23, 45, 67, 89, ab, cd, ef, 01, 23, 45, 67, 89, ab, cd, ef);

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                BreakerEvent ev = { .type = _BREAKER_EVENT_TYPE_INVALID };
                bool r = unit_transition_to_breaker_event(cases[i].t, cases[i].result, cases[i].restart_pending,
                                                          inv, 42, 7, &ev);

                log_case("%zu: %s %s -> %s\n", i, unit_transition_to_string(cases[i].t), cases[i].result,
                         r ? breaker_event_type_to_string(ev.type) : "-");
                assert_int_equal(r, cases[i].event);
                if (!r) {
                        assert_int_equal(ev.type, _BREAKER_EVENT_TYPE_INVALID); /* untouched */
                        continue;
                }
                assert_int_equal(ev.type, cases[i].type);
                assert_int_equal(ev.now, 42);
                assert_int_equal(ev.random, 7);
                assert_true(sd_id128_equal(ev.invocation, inv));
                if (ev.type == BREAKER_EVENT_FAILURE) {
                        assert_int_equal(ev.kind, cases[i].kind);
                        assert_int_equal(ev.final, cases[i].final);
                }
        }
}

static void test_journal_event_to_breaker_event(void **state) {
        static const struct {
                JournalEventType type;
                FailureKind failure;
                HealthReport report;
                bool event;
                FailureKind kind;
        } cases[] = {
                { JOURNAL_EVENT_NONE, _FAILURE_KIND_INVALID, HEALTH_REPORT_NONE, false },
                { JOURNAL_EVENT_UNIT_FAILED, FAILURE_EXIT_CODE, HEALTH_REPORT_NONE, true, FAILURE_EXIT_CODE },
                { JOURNAL_EVENT_UNIT_FAILED, FAILURE_START_LIMIT_HIT, HEALTH_REPORT_NONE, true, FAILURE_START_LIMIT_HIT },
                { JOURNAL_EVENT_UNIT_FAILED, _FAILURE_KIND_INVALID, HEALTH_REPORT_NONE, true, FAILURE_OTHER },
                { JOURNAL_EVENT_OOM_KILL, FAILURE_OOM_KILL, HEALTH_REPORT_NONE, true, FAILURE_OOM_KILL },
                { JOURNAL_EVENT_WATCHDOG, FAILURE_WATCHDOG, HEALTH_REPORT_NONE, true, FAILURE_WATCHDOG },
                { JOURNAL_EVENT_RESTART_SCHEDULED, _FAILURE_KIND_INVALID, HEALTH_REPORT_NONE, false },
                { JOURNAL_EVENT_PROCESS_EXIT, _FAILURE_KIND_INVALID, HEALTH_REPORT_NONE, false },
                { JOURNAL_EVENT_STARTED, _FAILURE_KIND_INVALID, HEALTH_REPORT_NONE, false },
                { JOURNAL_EVENT_DEPENDENCY_FAILED, _FAILURE_KIND_INVALID, HEALTH_REPORT_NONE, false },
                { JOURNAL_EVENT_HEALTH_REPORT, _FAILURE_KIND_INVALID, HEALTH_REPORT_OK, false },
                { JOURNAL_EVENT_HEALTH_REPORT, _FAILURE_KIND_INVALID, HEALTH_REPORT_DEGRADED, false },
                { JOURNAL_EVENT_HEALTH_REPORT, _FAILURE_KIND_INVALID, HEALTH_REPORT_FAILING, true, FAILURE_JOURNAL_FAILING },
                { JOURNAL_EVENT_ERROR_LINE, _FAILURE_KIND_INVALID, HEALTH_REPORT_NONE, false },
        };
        sd_id128_t inv = SD_ID128_MAKE(fe, dc, ba, 98, 76, 54, 32, 10, fe, dc, ba, 98, 76, 54, 32, 10);

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                JournalEvent je = {
                        .type = cases[i].type,
                        .failure = cases[i].failure,
                        .report = cases[i].report,
                        .invocation = inv,
                };
                BreakerEvent ev = {};
                bool r = journal_event_to_breaker_event(&je, 1000, 5, &ev);

                log_case("%zu: %s -> %s\n", i, journal_event_type_to_string(cases[i].type),
                         r ? failure_kind_to_string(ev.kind) : "-");
                assert_int_equal(r, cases[i].event);
                if (!r)
                        continue;
                assert_int_equal(ev.type, BREAKER_EVENT_FAILURE);
                assert_int_equal(ev.kind, cases[i].kind);
                assert_false(ev.final);
                assert_int_equal(ev.now, 1000);
                assert_true(sd_id128_equal(ev.invocation, inv));
        }
}

static void test_classify_profile(void **state) {
#define A(e, b, w) { .essential = (e), .breaker = BREAKER_##b, .waiting = (w), .score = 1.0 }
        static const struct {
                const char *name;
                HealthAgentSummary agents[3];
                bool pending[3];
                bool settled;
                ProfileState expected;
        } cases[] = {
                { "all closed", { A(true, CLOSED, false), A(false, CLOSED, false), A(false, CLOSED, false) },
                  { false, false, false }, false, PROFILE_STATE_RUNNING },
                { "one pending, not settled", { A(true, CLOSED, false), A(false, CLOSED, false), A(false, CLOSED, false) },
                  { false, true, false }, false, PROFILE_STATE_STARTING },
                { "one pending, settled", { A(true, CLOSED, false), A(false, CLOSED, false), A(false, CLOSED, false) },
                  { false, true, false }, true, PROFILE_STATE_RUNNING },
                { "non-essential open", { A(true, CLOSED, false), A(false, OPEN, false), A(false, CLOSED, false) },
                  { false, false, false }, true, PROFILE_STATE_DEGRADED },
                { "essential open", { A(true, OPEN, false), A(false, CLOSED, false), A(false, CLOSED, false) },
                  { false, false, false }, true, PROFILE_STATE_FAILED },
                { "essential half-open", { A(true, HALF_OPEN, false), A(false, CLOSED, false), A(false, CLOSED, false) },
                  { false, false, false }, true, PROFILE_STATE_DEGRADED },
                { "essential waiting on an open non-essential",
                  { A(true, OPEN, true), A(false, OPEN, false), A(false, CLOSED, false) },
                  { false, false, false }, true, PROFILE_STATE_DEGRADED },
                { "open beats pending once settled", { A(true, OPEN, false), A(false, CLOSED, false), A(false, CLOSED, false) },
                  { false, true, false }, true, PROFILE_STATE_FAILED },
        };
#undef A

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                ProfileState s = supervisor_classify_profile(cases[i].agents, cases[i].pending, 3, cases[i].settled);

                log_case("%s: %s\n", cases[i].name, profile_state_to_string(s));
                assert_int_equal(s, cases[i].expected);
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_unit_transition_classify),
                cmocka_unit_test(test_restart_policy_restarts),
                cmocka_unit_test(test_unit_transition_to_breaker_event),
                cmocka_unit_test(test_journal_event_to_breaker_event),
                cmocka_unit_test(test_classify_profile),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
