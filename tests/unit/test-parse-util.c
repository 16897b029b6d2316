/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Tests for the systemd value forms: sizes, percentages, time spans, and their formatting back. */

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "macro.h"
#include "parse-util.h"

static void test_parse_size(void **state) {
        static const struct {
                const char *s;
                int r;
                uint64_t v;
        } cases[] = {
                { "0", 0, 0 },
                { "512", 0, 512 },
                { "512B", 0, 512 },
                { "1K", 0, 1024 },
                { "512M", 0, UINT64_C(512) << 20 },
                { "2G", 0, UINT64_C(2) << 30 },
                { "1.5G", 0, UINT64_C(3) << 29 },
                { "0.5K", 0, 512 },
                { "4T", 0, UINT64_C(4) << 40 },
                { "1E", 0, UINT64_C(1) << 60 },
                { "512Mi", 0, UINT64_C(512) << 20 },
                { "512MiB", 0, UINT64_C(512) << 20 },
                { "512MB", 0, UINT64_C(512) << 20 },
                { " 64 M ", 0, UINT64_C(64) << 20 },
                { "infinity", 0, UINT64_MAX },
                { "15E", 0, UINT64_C(15) << 60 },
                { "16E", -ERANGE, 0 },
                { "18446744073709551615", 0, UINT64_MAX },
                { "18446744073709551616", -ERANGE, 0 },
                { "", -EINVAL, 0 },
                { "M", -EINVAL, 0 },
                { "-1M", -EINVAL, 0 },
                { "1.5", -EINVAL, 0 },
                { "1.G", -EINVAL, 0 },
                { ".5G", -EINVAL, 0 },
                { "2X", -EINVAL, 0 },
                { "2GG", -EINVAL, 0 },
                { "2 G B x", -EINVAL, 0 },
                { "lots", -EINVAL, 0 },
                { "Infinity", -EINVAL, 0 },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                uint64_t v = 4242;
                int r = parse_size(cases[i].s, &v);

                fprintf(stderr, "parse_size(\"%s\")\n", cases[i].s);
                assert_int_equal(r, cases[i].r);
                assert_int_equal(v, r == 0 ? cases[i].v : 4242);
        }
}

static void test_parse_permyriad(void **state) {
        static const struct {
                const char *s;
                int r;
                uint64_t v;
        } cases[] = {
                { "70%", 0, 7000 },
                { "100%", 0, 10000 },
                { "0%", 0, 0 },
                { "12.5%", 0, 1250 },
                { "12.34%", 0, 1234 },
                { "250%", 0, 25000 },
                { " 5 % ", 0, 500 },
                { "12.345%", -EINVAL, 0 },
                { "70", -EINVAL, 0 },
                { "%", -EINVAL, 0 },
                { "70%%", -EINVAL, 0 },
                { "-5%", -EINVAL, 0 },
                { "x%", -EINVAL, 0 },
                { "99999999999999999999%", -ERANGE, 0 },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                uint64_t v = 4242;
                int r = parse_permyriad(cases[i].s, &v);

                fprintf(stderr, "parse_permyriad(\"%s\")\n", cases[i].s);
                assert_int_equal(r, cases[i].r);
                assert_int_equal(v, r == 0 ? cases[i].v : 4242);
        }
}

static void test_parse_sec(void **state) {
        static const struct {
                const char *s;
                int r;
                usec_t v;
        } cases[] = {
                { "5", 0, 5 * USEC_PER_SEC },
                { "5s", 0, 5 * USEC_PER_SEC },
                { "100ms", 0, 100 * USEC_PER_MSEC },
                { "1min 30s", 0, 90 * USEC_PER_SEC },
                { "1min30s", 0, 90 * USEC_PER_SEC },
                { "2h", 0, 2 * USEC_PER_HOUR },
                { "1.5s", 0, 1500 * USEC_PER_MSEC },
                { "1d 2h 3m", 0, USEC_PER_DAY + 2 * USEC_PER_HOUR + 3 * USEC_PER_MINUTE },
                { "1w", 0, 7 * USEC_PER_DAY },
                { "10us", 0, 10 },
                { "10usec", 0, 10 },
                { "3 seconds", 0, 3 * USEC_PER_SEC },
                { "2 minutes", 0, 2 * USEC_PER_MINUTE },
                { "0", 0, 0 },
                { "infinity", 0, USEC_INFINITY },
                { "", -EINVAL, 0 },
                { "s", -EINVAL, 0 },
                { "5x", -EINVAL, 0 },
                { "5sx", -EINVAL, 0 },
                { "1min 30", -EINVAL, 0 },
                { "-5s", -EINVAL, 0 },
                { "5 parsecs", -EINVAL, 0 },
                { "99999999999999y", -ERANGE, 0 },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                usec_t v = 4242;
                int r = parse_sec(cases[i].s, &v);

                fprintf(stderr, "parse_sec(\"%s\")\n", cases[i].s);
                assert_int_equal(r, cases[i].r);
                assert_int_equal(v, r == 0 ? cases[i].v : 4242);
        }
}

static void test_safe_atou64(void **state) {
        uint64_t v;

        assert_int_equal(safe_atou64("42", &v), 0);
        assert_int_equal(v, 42);
        assert_int_equal(safe_atou64("18446744073709551616", &v), -ERANGE);
        assert_int_equal(safe_atou64("+1", &v), -EINVAL);
        assert_int_equal(safe_atou64("1 ", &v), -EINVAL);
        assert_int_equal(safe_atou64("", &v), -EINVAL);
}

static void test_format_bytes(void **state) {
        static const struct {
                uint64_t v;
                const char *s;
        } cases[] = {
                { 0, "0B" },
                { 1000, "1000B" },
                { 1024, "1K" },
                { UINT64_C(512) << 20, "512M" },
                { UINT64_C(2) << 30, "2G" },
                { UINT64_C(3) << 29, "1.5G" },
                { UINT64_C(1000) << 20, "1000M" },
                { (UINT64_C(1) << 30) + 1, "1073741825B" },
                { UINT64_MAX, "infinity" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                char buf[FORMAT_BYTES_MAX];
                uint64_t back;

                assert_string_equal(format_bytes(buf, sizeof(buf), cases[i].v), cases[i].s);
                /* What we print, we read back to the same value. */
                assert_int_equal(parse_size(buf, &back), 0);
                assert_int_equal(back, cases[i].v);
        }
}

static void test_format_timespan(void **state) {
        static const struct {
                usec_t v;
                const char *s;
        } cases[] = {
                { 0, "0" },
                { 100 * USEC_PER_MSEC, "100ms" },
                { 90 * USEC_PER_SEC, "1min 30s" },
                { 5 * USEC_PER_SEC, "5s" },
                { 2 * USEC_PER_HOUR, "2h" },
                { 5 * USEC_PER_MINUTE, "5min" },
                { USEC_PER_DAY + 1, "1d 1us" },
                { USEC_INFINITY, "infinity" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                char buf[FORMAT_TIMESPAN_MAX];
                usec_t back;

                assert_string_equal(format_timespan(buf, sizeof(buf), cases[i].v), cases[i].s);
                assert_int_equal(parse_sec(buf, &back), 0);
                assert_int_equal(back, cases[i].v);
        }
}

static void test_format_permyriad(void **state) {
        char buf[FORMAT_PERMYRIAD_MAX];

        assert_string_equal(format_permyriad(buf, sizeof(buf), 7000), "70%");
        assert_string_equal(format_permyriad(buf, sizeof(buf), 1250), "12.5%");
        assert_string_equal(format_permyriad(buf, sizeof(buf), 1234), "12.34%");
        assert_string_equal(format_permyriad(buf, sizeof(buf), 5), "0.05%");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_parse_size),
                cmocka_unit_test(test_parse_permyriad),
                cmocka_unit_test(test_parse_sec),
                cmocka_unit_test(test_safe_atou64),
                cmocka_unit_test(test_format_bytes),
                cmocka_unit_test(test_format_timespan),
                cmocka_unit_test(test_format_permyriad),
        };

        cmocka_set_message_output(CM_OUTPUT_TAP);
        return cmocka_run_group_tests(tests, NULL, NULL);
}
