/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Tests of the cgroup v2 file parsers, and of reading a unit's figures from a fake cgroup tree
 * ($UNIFIED_CGROUP_ROOT: libcgroup has no mount-point override, so this exercises the direct read). */

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "cgroup-stats.h"

static void test_parse_value(void **state) {
        static const struct {
                const char *in;
                int r;
                uint64_t v;
        } table[] = {
                { "0\n", 0, 0 },
                { "123456789\n", 0, 123456789 },
                { "18446744073709551614\n", 0, UINT64_MAX - 1 },
                { "max\n", 0, CGROUP_STATS_UNSET },
                { "max", 0, CGROUP_STATS_UNSET },
                { "", -EINVAL, 0 },
                { "\n", -EINVAL, 0 },
                { "-1\n", -EINVAL, 0 },
                { "12 34\n", -EINVAL, 0 },
                { "maximum\n", -EINVAL, 0 },
        };

        for (size_t i = 0; i < ELEMENTSOF(table); i++) {
                uint64_t v = 4711;
                assert_int_equal(cgroup_stats_parse_value(table[i].in, &v), table[i].r);
                assert_int_equal(v, table[i].r == 0 ? table[i].v : 4711);
        }
}

static void test_parse_keyed(void **state) {
        static const char events[] = "low 0\nhigh 12\nmax 3\noom 2\noom_kill 1\noom_group_kill 0\n";
        static const char cpu[] = "usage_usec 5316000\nuser_usec 4000000\nsystem_usec 1316000\n"
                                  "nr_periods 0\nnr_throttled 0\nthrottled_usec 0\n";
        static const struct {
                const char *text, *key;
                int r;
                uint64_t v;
        } table[] = {
                { events, "oom_kill", 0, 1 },
                { events, "oom", 0, 2 },
                { events, "oom_group_kill", 0, 0 },
                { events, "high", 0, 12 },
                { events, "oom_k", -ENOENT, 0 },
                { cpu, "usage_usec", 0, 5316000 },
                { cpu, "throttled_usec", 0, 0 },
                { cpu, "usage", -ENOENT, 0 },
                { "", "usage_usec", -ENOENT, 0 },
                { "usage_usec \n", "usage_usec", -EINVAL, 0 },
                { "usage_usec x1\n", "usage_usec", -EINVAL, 0 },
        };

        for (size_t i = 0; i < ELEMENTSOF(table); i++) {
                uint64_t v = 4711;
                assert_int_equal(cgroup_stats_parse_keyed(table[i].text, table[i].key, &v), table[i].r);
                assert_int_equal(v, table[i].r == 0 ? table[i].v : 4711);
        }
}

static void test_parse_pressure(void **state) {
        static const struct {
                const char *in;
                int r;
                double v;
        } table[] = {
                { "some avg10=0.00 avg60=0.00 avg300=0.00 total=0\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n", 0, 0 },
                { "some avg10=12.34 avg60=1.00 avg300=0.10 total=123456\nfull avg10=5.00 avg60=0.00 avg300=0.00 total=1\n", 0, 12.34 },
                { "some avg10=100.00 avg60=1.00 avg300=0.10 total=1\n", 0, 100 },
                { "full avg10=5.00 avg60=0.00 avg300=0.00 total=1\n", -EINVAL, 0 },
                { "some avg60=1.00\nfull avg10=3.00\n", -EINVAL, 0 },
                { "some avg10=abc avg60=0.00\n", -EINVAL, 0 },
                { "", -EINVAL, 0 },
        };

        for (size_t i = 0; i < ELEMENTSOF(table); i++) {
                double v = -1;
                assert_int_equal(cgroup_stats_parse_pressure(table[i].in, &v), table[i].r);
                if (table[i].r == 0)
                        assert_true(fabs(v - table[i].v) < 1e-9);
                else
                        assert_true(v == -1);
        }
}

static void write_file(const char *dir, const char *name, const char *text) {
        _cleanup_free_ char *p = NULL;
        FILE *f;

        assert_true(asprintf(&p, "%s/%s", dir, name) >= 0);
        f = fopen(p, "we");
        assert_non_null(f);
        fputs(text, f);
        assert_int_equal(fclose(f), 0);
}

static void test_read_fake_tree(void **state) {
        char root[] = "/tmp/test-cgroup-stats-XXXXXX";
        _cleanup_free_ char *unit = NULL, *cmd = NULL;
        CgroupStats st;

        assert_non_null(mkdtemp(root));
        assert_true(asprintf(&unit, "%s/unified.slice/unified-x.service", root) >= 0);
        assert_int_equal(mkdir(strndupa(unit, strlen(unit) - strlen("/unified-x.service")), 0755), 0);
        assert_int_equal(mkdir(unit, 0755), 0);
        assert_int_equal(setenv("UNIFIED_CGROUP_ROOT", root, 1), 0);

        /* The unit's cgroup does not exist (yet): -ENOENT. */
        assert_int_equal(cgroup_stats_read("/unified.slice/unified-y.service", &st), -ENOENT);

        /* A kernel before 5.19: no memory.peak; no cpu controller: no cpu.pressure. */
        write_file(unit, "memory.current", "1048576\n");
        write_file(unit, "memory.max", "max\n");
        write_file(unit, "memory.events", "low 0\nhigh 0\nmax 4\noom 2\noom_kill 2\n");
        write_file(unit, "cpu.stat", "usage_usec 2500000\nuser_usec 2000000\nsystem_usec 500000\n");
        write_file(unit, "memory.pressure", "some avg10=1.50 avg60=0.00 avg300=0.00 total=10\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n");

        assert_int_equal(cgroup_stats_read("/unified.slice/unified-x.service", &st), 0);
        assert_int_equal(st.memory_current, 1048576);
        assert_int_equal(st.memory_peak, CGROUP_STATS_UNSET);
        assert_int_equal(st.memory_max, CGROUP_STATS_UNSET);
        assert_int_equal(st.oom_kills, 2);
        assert_int_equal(st.cpu_usage_usec, 2500000);
        assert_true(fabs(st.memory_pressure - 1.5) < 1e-9);
        assert_true(isnan(st.cpu_pressure));

        write_file(unit, "memory.peak", "2097152\n");
        write_file(unit, "memory.max", "536870912\n");
        write_file(unit, "cpu.pressure", "some avg10=7.25 avg60=0.00 avg300=0.00 total=10\n");
        assert_int_equal(cgroup_stats_read("/unified.slice/unified-x.service", &st), 0);
        assert_int_equal(st.memory_peak, 2097152);
        assert_int_equal(st.memory_max, 536870912);
        assert_true(fabs(st.cpu_pressure - 7.25) < 1e-9);

        assert_int_equal(unsetenv("UNIFIED_CGROUP_ROOT"), 0);
        assert_true(asprintf(&cmd, "rm -rf '%s'", root) >= 0);
        assert_int_equal(system(cmd), 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_parse_value),
                cmocka_unit_test(test_parse_keyed),
                cmocka_unit_test(test_parse_pressure),
                cmocka_unit_test(test_read_fake_tree),
        };

        cmocka_set_message_output(CM_OUTPUT_TAP);
        return cmocka_run_group_tests(tests, NULL, NULL);
}
