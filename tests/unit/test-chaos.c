/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Tests for the fault engine's pure parts: signal names and when an agent counts as recovered. */

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "chaos.h"

static void test_parse_signal(void **state) {
        static const struct {
                const char *s;
                int expected;
        } cases[] = {
                { "SIGKILL", SIGKILL }, { "KILL", SIGKILL }, { "9", 9 }, { "SIGTERM", SIGTERM }, { "SEGV", SIGSEGV },
                { "SIGABRT", SIGABRT }, { "1", 1 }, { "0", -EINVAL }, { "65", -EINVAL }, { "kill", -EINVAL },
                { "SIGFOO", -EINVAL }, { "", -EINVAL }, { NULL, -EINVAL }, { "9x", -EINVAL }, { "SIG", -EINVAL },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                fprintf(stderr, "case %zu: %s\n", i, strna(cases[i].s));
                assert_int_equal(chaos_parse_signal(cases[i].s), cases[i].expected);
        }
}

static void test_agent_is_healthy(void **state) {
        static const struct {
                const char *active_state, *sub_state;
                BreakerState breaker;
                double health;
                bool expected;
        } cases[] = {
                { "active", "running", BREAKER_CLOSED, 1.0, true },
                { "active", "running", BREAKER_CLOSED, 0.8, true },           /* two failures in the window */
                { "active", "running", BREAKER_CLOSED, 0.75, true },
                { "active", "running", BREAKER_CLOSED, 0.6, false },          /* reports degraded */
                { "active", "running", BREAKER_HALF_OPEN, 1.0, false },
                { "active", "running", BREAKER_OPEN, 1.0, false },
                { "activating", "auto-restart", BREAKER_CLOSED, 1.0, false },
                { "activating", "start", BREAKER_CLOSED, 1.0, false },
                { "deactivating", "stop-sigterm", BREAKER_CLOSED, 1.0, false },
                { "failed", "failed", BREAKER_CLOSED, 1.0, false },
                { "reloading", "reload", BREAKER_CLOSED, 1.0, true },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                AgentRuntime a = {
                        .name = (char *) "a",
                        .active_state = (char *) cases[i].active_state,
                        .sub_state = (char *) cases[i].sub_state,
                        .breaker.state = cases[i].breaker,
                        .health = cases[i].health,
                };

                fprintf(stderr, "case %zu\n", i);
                assert_int_equal(chaos_agent_is_healthy(&a), cases[i].expected);
        }
        assert_false(chaos_agent_is_healthy(NULL));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_parse_signal),
                cmocka_unit_test(test_agent_is_healthy),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
