/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Tests for the state kept across daemon restarts: save, load, clear, and missing directories. */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "macro.h"
#include "state.h"

static void test_roundtrip(void **state) {
        char tmpl[] = "/tmp/test-state-XXXXXX", sub[64];
        const char *names[] = { "core", "tutoring", "a.b_c-d" };
        char *got = NULL;

        assert_non_null(mkdtemp(tmpl));
        snprintf(sub, sizeof(sub), "%s/unified", tmpl);

        /* Nothing saved yet, not even the directory. */
        assert_int_equal(state_load_active_profile(sub, &got), 0);
        assert_null(got);

        for (size_t i = 0; i < ELEMENTSOF(names); i++) {
                assert_int_equal(state_save_active_profile(sub, names[i]), 0);
                assert_int_equal(state_load_active_profile(sub, &got), 0);
                assert_non_null(got);
                assert_string_equal(got, names[i]);
                got = mfree(got);
        }

        /* Clearing removes the record; clearing twice is fine. */
        assert_int_equal(state_save_active_profile(sub, NULL), 0);
        assert_int_equal(state_save_active_profile(sub, ""), 0);
        assert_int_equal(state_load_active_profile(sub, &got), 0);
        assert_null(got);

        assert_int_equal(rmdir(sub), 0);
        assert_int_equal(rmdir(tmpl), 0);
}

/* The directory and its missing parents are created on the first write. */
static void test_write_creates_dirs(void **state) {
        char tmpl[] = "/tmp/test-state-XXXXXX", sub[64], cmd[96];
        char *got = NULL;

        assert_non_null(mkdtemp(tmpl));
        snprintf(sub, sizeof(sub), "%s/unified/breaker", tmpl);

        assert_int_equal(state_write_line(sub, "agent", "closed 0"), 0);
        assert_int_equal(state_read_line(sub, "agent", &got), 0);
        assert_string_equal(got, "closed 0");
        free(got);

        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpl);
        assert_int_equal(system(cmd), 0);
}

static void test_dir_override(void **state) {
        assert_int_equal(setenv("UNIFIED_RUNTIME_DIR", "/tmp/elsewhere", 1), 0);
        assert_string_equal(state_dir(), "/tmp/elsewhere");
        assert_int_equal(unsetenv("UNIFIED_RUNTIME_DIR"), 0);
        assert_string_equal(state_dir(), "/run/unified");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_roundtrip),
                cmocka_unit_test(test_write_creates_dirs),
                cmocka_unit_test(test_dir_override),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
