/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Tests for unifiedctl's bus-free decisions: exit statuses, the end of --wait, value formatting. */

#include <locale.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "macro.h"
#include "src/ctl/ctl-util.h"
#include "src/ctl/pager.h"
#include "src/ctl/table.h"

static void test_exit_from_bus_error(void **state) {
        static const struct {
                const char *name;
                int error;
                bool status_like;
                CtlExit expected;
        } cases[] = {
                { "org.unified1.Error.NoSuchProfile", -ENOENT, false, CTL_EXIT_NOT_FOUND },
                { "org.unified1.Error.NoSuchAgent", -ENOENT, true, CTL_EXIT_NOT_FOUND },
                { "org.unified1.Error.InvalidProfile", -EBADMSG, false, CTL_EXIT_INVALID },
                { "org.unified1.Error.NoActiveProfile", -ENOENT, true, CTL_EXIT_NOT_RUNNING },
                { "org.unified1.Error.NoActiveProfile", -ENOENT, false, CTL_EXIT_FAILURE },
                { "org.unified1.Error.Busy", -EBUSY, false, CTL_EXIT_FAILURE },
                { "org.freedesktop.DBus.Error.ServiceUnknown", -EHOSTUNREACH, true, CTL_EXIT_NOT_RUNNING },
                { "org.freedesktop.DBus.Error.ServiceUnknown", -EHOSTUNREACH, false, CTL_EXIT_FAILURE },
                { "org.freedesktop.DBus.Error.NameHasNoOwner", -ENXIO, true, CTL_EXIT_NOT_RUNNING },
                { "org.freedesktop.DBus.Error.AccessDenied", -EACCES, false, CTL_EXIT_FAILURE },
                { "org.freedesktop.DBus.Error.AccessDenied", -EACCES, true, CTL_EXIT_FAILURE },
                { "org.freedesktop.DBus.Error.InvalidArgs", -EINVAL, false, CTL_EXIT_FAILURE },
                { NULL, -ENOENT, true, CTL_EXIT_NOT_RUNNING },          /* no system bus socket */
                { NULL, -ECONNREFUSED, true, CTL_EXIT_NOT_RUNNING },
                { NULL, -ENOENT, false, CTL_EXIT_FAILURE },
                { NULL, -ENOMEM, true, CTL_EXIT_FAILURE },
                { NULL, -ETIMEDOUT, true, CTL_EXIT_FAILURE },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                print_message("case %zu: %s %d %s\n", i, strna(cases[i].name), cases[i].error,
                              yes_no(cases[i].status_like));
                assert_int_equal(ctl_exit_from_bus_error(cases[i].name, cases[i].error, cases[i].status_like),
                                 cases[i].expected);
        }
}

static void test_wait_evaluate(void **state) {
        static const struct {
                WaitGoal goal;
                const char *profile, *active, *state;
                WaitOutcome expected;
        } cases[] = {
                /* start */
                { WAIT_GOAL_START, "core", "core", "starting", WAIT_PENDING },
                { WAIT_GOAL_START, "core", "core", "running", WAIT_DONE },
                { WAIT_GOAL_START, "core", "core", "degraded", WAIT_DEGRADED },
                { WAIT_GOAL_START, "core", "core", "failed", WAIT_FAILED },
                { WAIT_GOAL_START, "core", "core", "inactive", WAIT_REPLACED },
                { WAIT_GOAL_START, "core", "core", "stopping", WAIT_PENDING },
                { WAIT_GOAL_START, "vision", "core", "stopping", WAIT_PENDING },   /* switch under way */
                { WAIT_GOAL_START, "vision", "core", "starting", WAIT_PENDING },
                { WAIT_GOAL_START, "vision", "core", "running", WAIT_REPLACED },   /* someone switched back */
                { WAIT_GOAL_START, "vision", "", "inactive", WAIT_REPLACED },      /* someone stopped it */
                { WAIT_GOAL_START, "core", "core", "exploded", WAIT_REPLACED },    /* unknown state */
                { WAIT_GOAL_START, "core", NULL, NULL, WAIT_PENDING },             /* nothing read yet */
                /* stop */
                { WAIT_GOAL_STOP, "core", "core", "stopping", WAIT_PENDING },
                { WAIT_GOAL_STOP, "core", "core", "running", WAIT_PENDING },
                { WAIT_GOAL_STOP, "core", "", "inactive", WAIT_DONE },
                { WAIT_GOAL_STOP, "core", "core", "inactive", WAIT_DONE },
                { WAIT_GOAL_STOP, "core", "vision", "running", WAIT_DONE },         /* not ours: nothing to do */
                { WAIT_GOAL_STOP, "core", "vision", "stopping", WAIT_PENDING },
                { WAIT_GOAL_STOP, "core", "core", "failed", WAIT_PENDING },         /* not stopping yet */
                { WAIT_GOAL_STOP, "", "vision", "running", WAIT_PENDING },           /* whichever is active */
                { WAIT_GOAL_STOP, NULL, "vision", "failed", WAIT_PENDING },
                { WAIT_GOAL_STOP, "", "", "inactive", WAIT_DONE },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                print_message("case %zu: %s %s active=%s state=%s\n", i,
                              cases[i].goal == WAIT_GOAL_START ? "start" : "stop", strna(cases[i].profile),
                              strna(cases[i].active), strna(cases[i].state));
                assert_int_equal(ctl_wait_evaluate(cases[i].goal, cases[i].profile, cases[i].active, cases[i].state),
                                 cases[i].expected);
        }
}

static void test_format(void **state) {
        static const struct {
                uint64_t bytes;
                const char *expected;
        } bytes[] = {
                { 0, "0B" },
                { 1023, "1023B" },
                { 1024, "1K" },
                { 1536, "1.5K" },
                { 256ULL << 20, "256M" },
                { 12373196, "11.8M" },
                { 2ULL << 30, "2G" },
                { (1ULL << 40) + (1ULL << 39), "1.5T" },
                { 1ULL << 60, "1E" },
                { UINT64_MAX - 1, "16.0E" },
                { UINT64_MAX, "-" },
        };
        static const struct {
                double health;
                const char *expected;
        } health[] = {
                { 1.0, "1.00" },
                { 0.0, "0.00" },
                { 0.954, "0.95" },
                { 0.956, "0.96" },
                { -1.0, "-" },
                { 1.5, "-" },
                { NAN, "-" },
        };
        char buf[CTL_FORMAT_BYTES_MAX];

        for (size_t i = 0; i < ELEMENTSOF(bytes); i++)
                assert_string_equal(ctl_format_bytes(buf, sizeof(buf), bytes[i].bytes), bytes[i].expected);
        for (size_t i = 0; i < ELEMENTSOF(health); i++)
                assert_string_equal(ctl_format_health(buf, sizeof(buf), health[i].health), health[i].expected);
}

static void test_serial_before(void **state) {
        assert_true(ctl_serial_before(1, 2));
        assert_false(ctl_serial_before(2, 2));
        assert_false(ctl_serial_before(3, 2));
        assert_true(ctl_serial_before(100, 100000));
        /* Across the wrap: sd-bus goes from 0xffffffff to 1. */
        assert_true(ctl_serial_before(0xfffffff0U, 5));
        assert_false(ctl_serial_before(5, 0xfffffff0U));
        assert_true(ctl_serial_before(0xffffffffU, 1));
}

static void test_argument_is_file(void **state) {
        assert_true(ctl_argument_is_file("./core"));
        assert_true(ctl_argument_is_file("/etc/unified/profiles/core.yaml"));
        assert_true(ctl_argument_is_file("mine.yaml"));
        assert_false(ctl_argument_is_file("core"));
        assert_false(ctl_argument_is_file(".yaml"));
        assert_false(ctl_argument_is_file("tutoring-yaml"));
}

static void test_json_from_string(void **state) {
        assert_int_equal(ctl_json_from_string(NULL), CTL_JSON_PRETTY);
        assert_int_equal(ctl_json_from_string("pretty"), CTL_JSON_PRETTY);
        assert_int_equal(ctl_json_from_string("short"), CTL_JSON_SHORT);
        assert_int_equal(ctl_json_from_string("off"), CTL_JSON_OFF);
        assert_int_equal(ctl_json_from_string(""), -EINVAL);
        assert_int_equal(ctl_json_from_string("Pretty"), -EINVAL);
        assert_int_equal(ctl_json_from_string("yes"), -EINVAL);
}

static void test_columns_pick(void **state) {
        assert_int_equal(ctl_columns_pick(NULL, 0), SIZE_MAX);          /* a pipe: whole lines */
        assert_int_equal(ctl_columns_pick(NULL, 120), 120);
        assert_int_equal(ctl_columns_pick("80", 0), 80);                /* $COLUMNS even on a pipe */
        assert_int_equal(ctl_columns_pick("80", 200), 80);
        assert_int_equal(ctl_columns_pick("", 100), 100);
        assert_int_equal(ctl_columns_pick("0", 100), 100);
        assert_int_equal(ctl_columns_pick("-5", 100), 100);
        assert_int_equal(ctl_columns_pick("80x", 0), SIZE_MAX);
        assert_int_equal(ctl_columns_pick("99999999999999999999", 0), SIZE_MAX);
}

static void test_output_ellipsis(void **state) {
        /* C.UTF-8 is built into glibc >= 2.35, so this needs no locale package. */
        if (!setlocale(LC_CTYPE, "C.UTF-8"))
                skip();
        assert_string_equal(ctl_output_ellipsis(), "…");
        assert_non_null(setlocale(LC_CTYPE, "C"));
        assert_string_equal(ctl_output_ellipsis(), "...");
}

static void test_pager_pick(void **state) {
        assert_string_equal(pager_pick(NULL, NULL), "");                /* less, then more */
        assert_string_equal(pager_pick(NULL, "most"), "most");
        assert_string_equal(pager_pick("less -S", "most"), "less -S");  /* $SYSTEMD_PAGER first */
        assert_null(pager_pick("cat", "less"));
        assert_null(pager_pick("", "less"));                            /* set but empty: off */
        assert_null(pager_pick(" ", NULL));
        assert_null(pager_pick(NULL, "cat"));
        assert_null(pager_pick(NULL, ""));
}

/* Prints "t" at "columns" into a string. */
static char *table_text(const Table *t, bool header, size_t columns, const char *ellipsis) {
        char *buf = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&buf, &size);

        assert_non_null(f);
        table_print(t, f, header, columns, ellipsis);
        assert_int_equal(fclose(f), 0);
        return buf;
}

static void test_table(void **state) {
        _cleanup_(table_freep) Table *t = table_new("PROFILE", "AGENTS", "DESCRIPTION", NULL);
        char *s;

        assert_non_null(t);
        assert_int_equal(table_add_row(t, "core", "16", "Core agents: coordination, models"), 0);
        assert_int_equal(table_add_row(t, "vision-and-more", "20", "Core agents plus vision"), 0);
        assert_int_equal(table_add_row(t, "x", NULL, "ünïcødé"), 0);
        assert_int_equal(table_rows(t), 3);

        /* No limit: every cell whole, columns two apart, no trailing blanks. */
        s = table_text(t, true, SIZE_MAX, "...");
        assert_string_equal(s,
                            "PROFILE          AGENTS  DESCRIPTION\n"
                            "core             16      Core agents: coordination, models\n"
                            "vision-and-more  20      Core agents plus vision\n"
                            "x                -       ünïcødé\n");
        free(s);

        /* 45 columns: the widest column (the description) gives up the 13 that are missing. */
        s = table_text(t, true, 45, "…");
        assert_string_equal(s,
                            "PROFILE          AGENTS  DESCRIPTION\n"
                            "core             16      Core agents: coordi…\n"
                            "vision-and-more  20      Core agents plus vi…\n"
                            "x                -       ünïcødé\n");
        free(s);

        /* 24 columns, no header: the others down to TABLE_COLUMN_MIN, then the first column; cut
         * at character boundaries. */
        s = table_text(t, false, 24, "...");
        assert_string_equal(s,
                            "core          16  Cor...\n"
                            "vision-an...  20  Cor...\n"
                            "x             -   ünï...\n");
        free(s);
}

static void test_metrics_problem(void **state) {
        assert_null(ctl_metrics_problem("active", "success", "active"));
        assert_null(ctl_metrics_problem("active", "success", "inactive"));  /* exited when idle */
        assert_null(ctl_metrics_problem("inactive", "success", "inactive")); /* not enabled: not our business */
        assert_null(ctl_metrics_problem("inactive", "success", "failed"));
        assert_null(ctl_metrics_problem(NULL, NULL, NULL));                  /* systemd did not answer */
        assert_non_null(strstr(ctl_metrics_problem("failed", "resources", "inactive"), "in use"));
        assert_non_null(strstr(ctl_metrics_problem("failed", "service-start-limit-hit", "failed"),
                               "unified-metricsd.service failed to start too often"));
        assert_non_null(strstr(ctl_metrics_problem("failed", "trigger-limit-hit", NULL), "too often"));
        assert_string_equal(ctl_metrics_problem("failed", "timeout", NULL), "failed");
        assert_string_equal(ctl_metrics_problem("active", "success", "failed"),
                            "unified-metricsd.service failed on its last start");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_exit_from_bus_error),
                cmocka_unit_test(test_wait_evaluate),
                cmocka_unit_test(test_format),
                cmocka_unit_test(test_serial_before),
                cmocka_unit_test(test_argument_is_file),
                cmocka_unit_test(test_json_from_string),
                cmocka_unit_test(test_columns_pick),
                cmocka_unit_test(test_output_ellipsis),
                cmocka_unit_test(test_pager_pick),
                cmocka_unit_test(test_table),
                cmocka_unit_test(test_metrics_problem),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
