/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Tests for the manager's metrics: the page built from the real manager (in-process, against the fake
 * systemd of manager-fixture.h) and a fake cgroup tree, the endpoint bound from unified.conf, and the
 * textfile written on the loop's first iteration. */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#define log_case(...) fprintf(stderr, __VA_ARGS__)

#include "manager-fixture.h"
#include "manager-metrics.h"
#include "manager.h"
#include "plan.h"

static char tmp[] = "/tmp/test-manager-metrics-XXXXXX";

static void write_file(const char *rel, const char *text) {
        _cleanup_free_ char *path = NULL;
        FILE *f;

        assert_true(asprintf(&path, "%s/%s", tmp, rel) > 0);
        for (char *p = path + strlen(tmp) + 1; (p = strchr(p, '/')); p++) {
                *p = '\0';
                (void) mkdir(path, 0755);
                *p = '/';
        }
        f = fopen(path, "we");
        assert_non_null(f);
        fputs(text, f);
        fclose(f);
}

static void test_render_and_serve(void **state) {
        _cleanup_free_ char *conf = NULL, *prom = NULL, *text = NULL, *file = NULL;
        static const char *const expected[] = {
                "unified_active_profile{profile=\"p\"} 1",
                "unified_manager_state{state=\"running\"} 1",
                "unified_agent_up{agent=\"a\",profile=\"p\",essential=\"true\"} 1",
                "unified_agent_breaker_state{agent=\"a\",profile=\"p\",state=\"closed\"} 1",
                "unified_agent_memory_bytes{agent=\"a\",profile=\"p\"} 1234",
                "unified_agent_memory_limit_bytes{agent=\"a\",profile=\"p\"} 67108864",
                "unified_agent_cpu_seconds_total{agent=\"a\",profile=\"p\"} 5",
                "unified_agent_oom_kills_total{agent=\"a\",profile=\"p\"} 2",
                "unified_agent_cpu_limit_cores{agent=\"a\",profile=\"p\"} 0.5",
                "unified_profile_memory_bytes{profile=\"p\"} 9999",
                "unified_profile_memory_budget_bytes{profile=\"p\"} 1073741824",
                "unified_health_score 1",
        };
        ManagerFixture x;
        sd_bus_message *reply;
        ManagerMetrics *mm;
        Manager *m;
        uint16_t port = 0;
        size_t size;
        struct stat st;

        manager_fixture_init(&x, "257.9-1");
        manager_fixture_write_profile(&x, "p",
                                      "name: p\n"
                                      "resources:\n"
                                      "  memory_max: 1G\n"
                                      "agents:\n"
                                      "  - name: a\n"
                                      "    exec: [/bin/sleep, infinity]\n"
                                      "    essential: true\n"
                                      "    memory_max: 64M\n"
                                      "    cpu_quota: 50%\n");
        assert_non_null(mkdtemp(tmp));
        write_file("cg/" UNIFIED_SLICE "/unified-a.service/memory.current", "1234\n");
        write_file("cg/" UNIFIED_SLICE "/unified-a.service/memory.max", "67108864\n");
        write_file("cg/" UNIFIED_SLICE "/unified-a.service/memory.events", "low 0\nhigh 0\nmax 4\noom 2\noom_kill 2\n");
        write_file("cg/" UNIFIED_SLICE "/unified-a.service/cpu.stat", "usage_usec 5000000\nuser_usec 1\nsystem_usec 2\n");
        write_file("cg/" UNIFIED_SLICE "/memory.current", "9999\n");
        assert_true(asprintf(&prom, "%s/out/unified.prom", tmp) > 0);
        assert_true(asprintf(&conf, "[Metrics]\nListenAddress=127.0.0.1:0\nTextfilePath=%s\n", prom) > 0);
        write_file("unified.conf", conf);
        write_file("out/.keep", "");

        free(conf);
        assert_true(asprintf(&conf, "%s/unified.conf", tmp) > 0);
        assert_int_equal(setenv("UNIFIED_CONFIG_FILE", conf, 1), 0);
        assert_true(asprintf(&file, "%s/cg", tmp) > 0);
        assert_int_equal(setenv("UNIFIED_CGROUP_ROOT", file, 1), 0);

        manager_fixture_start_manager(&x);
        m = x.manager;
        mm = m->metrics;
        assert_non_null(mm);
        reply = manager_fixture_call(&x, UNIFIED_OBJECT_PATH, UNIFIED_MANAGER_IFACE, "StartProfile", NULL, "s", "p");
        assert_non_null(reply);
        reply = sd_bus_message_unref(reply);
        assert_true(manager_fixture_wait_state(&x, "running", 10 * USEC_PER_SEC));

        assert_int_equal(manager_metrics_get_port(mm, &port), 0);
        log_case("listening on port %u\n", port);
        assert_true(port > 0);

        assert_int_equal(manager_metrics_render(mm, METRICS_FORMAT_PROMETHEUS, &text, &size), 0);
        assert_int_equal(strlen(text), size);
        for (size_t i = 0; i < ELEMENTSOF(expected); i++) {
                log_case("expect: %s\n", expected[i]);
                assert_non_null(strstr(text, expected[i]));
        }
        /* The second scrape reports how long the first took. */
        free(text);
        assert_int_equal(manager_metrics_render(mm, METRICS_FORMAT_OPENMETRICS, &text, &size), 0);
        assert_non_null(strstr(text, "unified_scrape_duration_seconds "));
        assert_non_null(strstr(text, "# EOF\n"));

        /* The textfile timer fired at once. */
        assert_int_equal(stat(prom, &st), 0);
        assert_true(st.st_size > 0);

        manager_fixture_done(&x);
        (void) unlink(prom);
        free(text);
        text = NULL;
        assert_true(asprintf(&text, "rm -rf '%s'", tmp) > 0);
        assert_int_equal(system(text), 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_render_and_serve),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
