/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Tests for log level names: $UNIFIED_LOG_LEVEL and org.freedesktop.LogControl1's LogLevel. */

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "log.h"
#include "macro.h"

static void test_level_names_round_trip(void **state) {
        for (int level = LOG_EMERG; level <= LOG_DEBUG; level++) {
                const char *name = log_level_to_string(level);

                assert_non_null(name);
                assert_int_equal(log_level_from_string(name), level);
        }
        assert_string_equal(log_level_to_string(LOG_ERR), "err");
        assert_string_equal(log_level_to_string(LOG_DEBUG), "debug");
        assert_null(log_level_to_string(-1));
        assert_null(log_level_to_string(LOG_DEBUG + 1));
}

static void test_level_from_string(void **state) {
        static const struct {
                const char *s;
                int level;
        } cases[] = {
                { "error", LOG_ERR },
                { "0", LOG_EMERG },
                { "7", LOG_DEBUG },
                { "8", -EINVAL },
                { "77", -EINVAL },
                { "-1", -EINVAL },
                { "", -EINVAL },
                { "Debug", -EINVAL },
                { "debug ", -EINVAL },
                { "chatty", -EINVAL },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++)
                assert_int_equal(log_level_from_string(cases[i].s), cases[i].level);
        assert_int_equal(log_level_from_string(NULL), -EINVAL);
}

static void test_set_max_level_clamps(void **state) {
        int saved = log_get_max_level();

        log_set_max_level(LOG_DEBUG + 5);
        assert_int_equal(log_get_max_level(), LOG_DEBUG);
        log_set_max_level(-3);
        assert_int_equal(log_get_max_level(), LOG_EMERG);
        log_set_max_level(saved);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_level_names_round_trip),
                cmocka_unit_test(test_level_from_string),
                cmocka_unit_test(test_set_max_level_clamps),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
