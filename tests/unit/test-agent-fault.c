/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Tests for the reference agent's fault plan: names, fault files and timing. */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "macro.h"
#include "src/agent/agent-fault.h"

static void test_crash_mode(void **state) {
        assert_int_equal(crash_mode_from_string("exit"), CRASH_EXIT);
        assert_int_equal(crash_mode_from_string("abort"), CRASH_ABORT);
        assert_int_equal(crash_mode_from_string("segv"), CRASH_SEGV);
        assert_int_equal(crash_mode_from_string("SEGV"), _CRASH_MODE_INVALID);
        assert_int_equal(crash_mode_from_string(""), _CRASH_MODE_INVALID);
        assert_int_equal(crash_mode_from_string(NULL), _CRASH_MODE_INVALID);
        for (CrashMode m = 0; m < _CRASH_MODE_MAX; m++)
                assert_int_equal(crash_mode_from_string(crash_mode_to_string(m)), m);
        assert_null(crash_mode_to_string(_CRASH_MODE_MAX));
}

static void test_fault_kinds_from_string(void **state) {
        static const struct {
                const char *s;
                int r;
                unsigned kinds;
        } cases[] = {
                { "", 0, 0 },
                { " \n", 0, 0 },
                { "crash", 0, FAULT_CRASH },
                { "hang\n", 0, FAULT_HANG },
                { "unhealthy leak", 0, FAULT_UNHEALTHY | FAULT_LEAK },
                { "degraded,hang,\tcrash", 0, FAULT_DEGRADED | FAULT_HANG | FAULT_CRASH },
                { "hang hang", 0, FAULT_HANG },
                { "han", -EINVAL, 0 },
                { "hangs", -EINVAL, 0 },
                { "hang explode", -EINVAL, 0 },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                unsigned kinds = 0xdead;

                print_message("case '%s'\n", cases[i].s);
                assert_int_equal(fault_kinds_from_string(cases[i].s, &kinds), cases[i].r);
                if (cases[i].r == 0)
                        assert_int_equal(kinds, cases[i].kinds);
                else
                        assert_int_equal(kinds, 0xdead); /* untouched on failure */
        }

        for (unsigned k = 1; k < _FAULT_ALL; k <<= 1) {
                unsigned kinds;
                assert_int_equal(fault_kinds_from_string(fault_kind_to_string(k), &kinds), 0);
                assert_int_equal(kinds, k);
        }
}

static void test_fault_plan_active(void **state) {
        /* crash after 10 s, hang after 2 s, leak at once, unhealthy after 5 s, degraded unset (0). */
        const FaultPlan plan = {
                .kinds = FAULT_CRASH | FAULT_HANG | FAULT_LEAK | FAULT_UNHEALTHY,
                .after = { 10 * USEC_PER_SEC, 2 * USEC_PER_SEC, 0, 5 * USEC_PER_SEC, 0 },
        };
        static const struct {
                unsigned armed;
                usec_t elapsed;
                unsigned active;
                usec_t next;
        } cases[] = {
                { FAULT_CRASH | FAULT_HANG | FAULT_LEAK | FAULT_UNHEALTHY, 0, FAULT_LEAK, 2 * USEC_PER_SEC },
                { FAULT_CRASH | FAULT_HANG | FAULT_LEAK | FAULT_UNHEALTHY, 2 * USEC_PER_SEC - 1, FAULT_LEAK,
                  2 * USEC_PER_SEC },
                { FAULT_CRASH | FAULT_HANG | FAULT_LEAK | FAULT_UNHEALTHY, 2 * USEC_PER_SEC,
                  FAULT_LEAK | FAULT_HANG, 5 * USEC_PER_SEC },
                { FAULT_CRASH | FAULT_HANG | FAULT_LEAK | FAULT_UNHEALTHY, 7 * USEC_PER_SEC,
                  FAULT_LEAK | FAULT_HANG | FAULT_UNHEALTHY, 10 * USEC_PER_SEC },
                { FAULT_CRASH | FAULT_HANG | FAULT_LEAK | FAULT_UNHEALTHY, 10 * USEC_PER_SEC,
                  FAULT_CRASH | FAULT_LEAK | FAULT_HANG | FAULT_UNHEALTHY, USEC_INFINITY },
                /* a fault file naming only some of them, or one not configured (delay 0) */
                { FAULT_HANG, 0, 0, 2 * USEC_PER_SEC },
                { FAULT_HANG, 3 * USEC_PER_SEC, FAULT_HANG, USEC_INFINITY },
                { FAULT_DEGRADED, 0, FAULT_DEGRADED, USEC_INFINITY },
                { 0, 100 * USEC_PER_SEC, 0, USEC_INFINITY },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                usec_t next = 0;

                print_message("case %zu\n", i);
                assert_int_equal(fault_plan_active(&plan, cases[i].armed, cases[i].elapsed, &next), cases[i].active);
                assert_int_equal(next, cases[i].next);
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_crash_mode),
                cmocka_unit_test(test_fault_kinds_from_string),
                cmocka_unit_test(test_fault_plan_active),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
