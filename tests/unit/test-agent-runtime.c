/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Tests for agent status and the profile state derived from the agents' systemd states. */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "agent-runtime.h"

typedef struct AgentCase {
        const char *active, *sub, *socket;
        bool lazy, essential, start_job, start_failed, condition_failed, started;
        const char *breaker;
} AgentCase;

static AgentRuntime make(const AgentCase *c) {
        return (AgentRuntime) {
                .active_state = (char *) c->active,
                .sub_state = (char *) c->sub,
                .socket_state = (char *) c->socket,
                .lazy = c->lazy,
                .essential = c->essential,
                .start_job = c->start_job ? (char *) "/org/freedesktop/systemd1/job/1" : NULL,
                .start_failed = c->start_failed,
                .condition_failed = c->condition_failed,
                .first_start_done = c->started,
                .breaker = (char *) (c->breaker ?: "closed"),
        };
}

static void test_status(void **state) {
        static const struct {
                AgentCase a;
                AgentStatus want;
        } cases[] = {
                { { .active = "active", .sub = "running" }, AGENT_STATUS_OK },
                { { .active = "reloading" }, AGENT_STATUS_OK },
                { { .active = "activating", .sub = "start" }, AGENT_STATUS_PENDING },
                { { .active = "activating", .sub = "auto-restart" }, AGENT_STATUS_DOWN },
                /* Once our start is over, activating again means systemd is restarting it. */
                { { .active = "activating", .sub = "start", .started = true }, AGENT_STATUS_DOWN },
                { { .active = "activating", .sub = "start", .started = true, .start_job = true }, AGENT_STATUS_PENDING },
                { { .active = "failed", .sub = "failed" }, AGENT_STATUS_FAILED },
                { { .active = "inactive", .start_job = true }, AGENT_STATUS_PENDING },
                { { .active = "inactive", .start_failed = true }, AGENT_STATUS_FAILED },
                { { .active = "inactive", .lazy = true, .socket = "active" }, AGENT_STATUS_OK },
                { { .active = "inactive", .lazy = true, .socket = "failed" }, AGENT_STATUS_DOWN },
                { { .active = "inactive", .condition_failed = true }, AGENT_STATUS_SKIPPED },
                { { .active = "inactive" }, AGENT_STATUS_DOWN },
                { { .active = NULL }, AGENT_STATUS_PENDING },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                AgentRuntime a = make(&cases[i].a);
                assert_int_equal(agent_runtime_status(&a), cases[i].want);
        }
}

static void test_profile_state(void **state) {
        static const struct {
                AgentCase agents[3];
                size_t n;
                bool settled;
                ProfileState want;
        } cases[] = {
                { { { .active = "active" }, { .active = "active" } }, 2, false, PROFILE_STATE_RUNNING },
                { { { .active = "active" }, { .active = "activating" } }, 2, false, PROFILE_STATE_STARTING },
                /* After the first start is over, an agent coming back is not "starting" the profile. */
                { { { .active = "active" }, { .active = "activating" } }, 2, true, PROFILE_STATE_DEGRADED },
                { { { .active = "active" }, { .active = "failed" } }, 2, true, PROFILE_STATE_DEGRADED },
                { { { .active = "active" }, { .active = "failed", .essential = true } }, 2, true, PROFILE_STATE_FAILED },
                { { { .active = "active" }, { .active = "activating", .sub = "auto-restart", .essential = true } },
                  2, true, PROFILE_STATE_DEGRADED },
                { { { .active = "active" }, { .active = "inactive", .condition_failed = true } }, 2, true,
                  PROFILE_STATE_RUNNING },
                { { { .active = "active" }, { .active = "inactive", .lazy = true, .socket = "active" } }, 2, false,
                  PROFILE_STATE_RUNNING },
                { { { .active = "active", .breaker = "open" }, { .active = "active" } }, 2, true,
                  PROFILE_STATE_DEGRADED },
                { { { .active = "active", .breaker = "open", .essential = true } }, 1, true, PROFILE_STATE_FAILED },
                { { { .active = "active", .breaker = "half-open", .essential = true } }, 1, true,
                  PROFILE_STATE_DEGRADED },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                AgentRuntime a[3], *p[3];

                for (size_t j = 0; j < cases[i].n; j++) {
                        a[j] = make(&cases[i].agents[j]);
                        p[j] = &a[j];
                }
                assert_string_equal(profile_state_to_string(profile_state_from_agents(p, cases[i].n, cases[i].settled)),
                                    profile_state_to_string(cases[i].want));
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_status),
                cmocka_unit_test(test_profile_state),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
