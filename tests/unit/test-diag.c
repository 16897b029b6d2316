/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Tests for diagnostics: collection, the file:line:column format, the cap, and "did you mean". */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "diag.h"

static void test_add_and_print(void **state) {
        Diagnostics d = {};
        char *buf = NULL;
        size_t size = 0;
        FILE *f;

        assert_int_equal(diag_add(&d, DIAG_ERROR, "a.yaml", 3, 7, "bad %s", "thing"), 0);
        assert_int_equal(diag_add(&d, DIAG_WARNING, "a.yaml", 4, 1, "meh"), 0);
        assert_int_equal(diag_add(&d, DIAG_ERROR, "b.yaml", 0, 0, "file-level"), 0);
        assert_int_equal(d.n_items, 3);
        assert_int_equal(d.n_errors, 2);
        assert_int_equal(d.n_warnings, 1);
        assert_string_equal(d.items[0].message, "bad thing");
        assert_int_equal(d.items[0].line, 3);
        assert_int_equal(d.items[0].column, 7);

        f = open_memstream(&buf, &size);
        assert_non_null(f);
        diagnostics_print(&d, f);
        assert_int_equal(fclose(f), 0);
        assert_string_equal(buf, "a.yaml:3:7: error: bad thing\n"
                                 "a.yaml:4:1: warning: meh\n"
                                 "b.yaml: error: file-level\n");
        free(buf);

        diagnostics_done(&d);
        assert_int_equal(d.n_items, 0);
        assert_null(d.items);
        diagnostics_done(&d);
        diagnostics_done(NULL);
}

static void test_cap(void **state) {
        Diagnostics d = {};
        char *buf = NULL;
        size_t size = 0;
        FILE *f;

        for (unsigned i = 0; i < 1500; i++)
                assert_int_equal(diag_add(&d, DIAG_ERROR, "x", i + 1, 1, "e%u", i), 0);
        /* Counted, but not all kept: a hostile file cannot make us hold unbounded messages. */
        assert_int_equal(d.n_errors, 1500);
        assert_int_equal(d.n_items, 1000);
        assert_true(diagnostics_full(&d));

        f = open_memstream(&buf, &size);
        assert_non_null(f);
        diagnostics_print(&d, f);
        assert_int_equal(fclose(f), 0);
        assert_non_null(strstr(buf, "(500 more diagnostics not shown)\n"));
        free(buf);
        diagnostics_done(&d);
}

static void test_sort(void **state) {
        Diagnostics d = {};

        assert_int_equal(diag_add(&d, DIAG_ERROR, "x", 9, 9, "before"), 0);
        assert_int_equal(diag_add(&d, DIAG_ERROR, "f", 4, 5, "c"), 0);
        assert_int_equal(diag_add(&d, DIAG_WARNING, "f", 2, 1, "a"), 0);
        assert_int_equal(diag_add(&d, DIAG_ERROR, "f", 4, 5, "d"), 0);
        assert_int_equal(diag_add(&d, DIAG_ERROR, "f", 3, 7, "b"), 0);
        /* Only from index 1 on; equal positions keep their order. */
        diagnostics_sort(&d, 1);
        assert_string_equal(d.items[0].message, "before");
        assert_string_equal(d.items[1].message, "a");
        assert_string_equal(d.items[2].message, "b");
        assert_string_equal(d.items[3].message, "c");
        assert_string_equal(d.items[4].message, "d");
        diagnostics_sort(&d, 99);
        diagnostics_sort(NULL, 0);
        assert_false(diagnostics_full(&d));
        diagnostics_done(&d);
}

static void test_suggest(void **state) {
        static const char *const keys[] = { "name", "exec", "env", "memory_max", "memory_high", "cpu_quota",
                                            "cpu_weight", "tasks_max", "requires", "watchdog", NULL };
        static const struct {
                const char *word;
                const char *expected;
        } cases[] = {
                { "memroy_max", "memory_max" },
                { "memory_mx", "memory_max" },
                { "memory-max", "memory_max" },
                { "Memory_Max", "memory_max" },
                { "exe", "exec" },
                { "nmae", "name" },
                { "cpu_qouta", "cpu_quota" },
                { "require", "requires" },
                { "watchdgo", "watchdog" },
                { "cpu", NULL },
                { "zzz", NULL },
                { "completely_unrelated", NULL },
                { "memory_max", NULL },
                { "", NULL },
                { "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", NULL },
        };

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                const char *s = diag_suggest(cases[i].word, keys);

                fprintf(stderr, "diag_suggest(\"%s\")\n", cases[i].word);
                if (cases[i].expected)
                        assert_string_equal(s, cases[i].expected);
                else
                        assert_null(s);
        }
        assert_null(diag_suggest(NULL, keys));
        assert_null(diag_suggest("x", NULL));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_add_and_print),
                cmocka_unit_test(test_cap),
                cmocka_unit_test(test_sort),
                cmocka_unit_test(test_suggest),
        };

        cmocka_set_message_output(CM_OUTPUT_TAP);
        return cmocka_run_group_tests(tests, NULL, NULL);
}
