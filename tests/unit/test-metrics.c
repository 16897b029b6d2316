/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Tests of the metrics renderer and the histogram: exact output for small snapshots. */

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "histogram.h"
#include "metrics.h"

static const char empty_histogram_prom[] =
        "# HELP unified_recovery_duration_seconds Time from an agent's failure to its unit being active again.\n"
        "# TYPE unified_recovery_duration_seconds histogram\n"
        "unified_recovery_duration_seconds_bucket{le=\"0.001\"} 0\n"
        "unified_recovery_duration_seconds_bucket{le=\"0.0025\"} 0\n"
        "unified_recovery_duration_seconds_bucket{le=\"0.005\"} 0\n"
        "unified_recovery_duration_seconds_bucket{le=\"0.01\"} 0\n"
        "unified_recovery_duration_seconds_bucket{le=\"0.025\"} 0\n"
        "unified_recovery_duration_seconds_bucket{le=\"0.05\"} 0\n"
        "unified_recovery_duration_seconds_bucket{le=\"0.1\"} 0\n"
        "unified_recovery_duration_seconds_bucket{le=\"0.25\"} 0\n"
        "unified_recovery_duration_seconds_bucket{le=\"0.5\"} 0\n"
        "unified_recovery_duration_seconds_bucket{le=\"1.0\"} 0\n"
        "unified_recovery_duration_seconds_bucket{le=\"2.5\"} 0\n"
        "unified_recovery_duration_seconds_bucket{le=\"5.0\"} 0\n"
        "unified_recovery_duration_seconds_bucket{le=\"10.0\"} 0\n"
        "unified_recovery_duration_seconds_bucket{le=\"30.0\"} 0\n"
        "unified_recovery_duration_seconds_bucket{le=\"60.0\"} 0\n"
        "unified_recovery_duration_seconds_bucket{le=\"+Inf\"} 0\n"
        "unified_recovery_duration_seconds_sum 0\n"
        "unified_recovery_duration_seconds_count 0\n";

static char *render(const MetricsSnapshot *s, MetricsFormat fmt) {
        char *text = NULL;
        size_t size = 0;

        assert_int_equal(metrics_render(s, fmt, &text, &size), 0);
        assert_non_null(text);
        assert_int_equal(strlen(text), size);
        return text;
}

/* Whether "line" (without newline) is one whole line of "text". */
static bool has_line(const char *text, const char *line) {
        size_t l = strlen(line);

        for (const char *p = text; (p = strstr(p, line)); p++)
                if ((p == text || p[-1] == '\n') && p[l] == '\n')
                        return true;
        return false;
}

#define assert_line(text, line)                                                  \
        do {                                                                     \
                if (!has_line((text), (line)))                                   \
                        fail_msg("missing line: %s\n--- in:\n%s", (line), (text)); \
        } while (0)
#define assert_no_line(text, line)                                               \
        do {                                                                     \
                if (has_line((text), (line)))                                    \
                        fail_msg("unexpected line: %s", (line));                 \
        } while (0)

static void test_minimal_prometheus(void **state) {
        MetricsSnapshot s = { .version = "0.1.0", .health = NAN, .scrape_duration = USEC_INFINITY };
        _cleanup_free_ char *text = render(&s, METRICS_FORMAT_PROMETHEUS);
        _cleanup_free_ char *expected = NULL;

        assert_true(asprintf(&expected,
                "# HELP unified_build_info The running unified daemon; the value is always 1.\n"
                "# TYPE unified_build_info gauge\n"
                "unified_build_info{version=\"0.1.0\"} 1\n"
                "%s", empty_histogram_prom) >= 0);
        assert_string_equal(text, expected);
}

static void test_minimal_openmetrics(void **state) {
        MetricsSnapshot s = { .version = "0.1.0", .health = NAN, .scrape_duration = 2500 };
        _cleanup_free_ char *text = render(&s, METRICS_FORMAT_OPENMETRICS);
        _cleanup_free_ char *expected = NULL;

        assert_true(asprintf(&expected,
                "# HELP unified_build The running unified daemon; the value is always 1.\n"
                "# TYPE unified_build info\n"
                "unified_build_info{version=\"0.1.0\"} 1\n"
                "%.*s# UNIT unified_recovery_duration_seconds seconds\n%s"
                "# HELP unified_scrape_duration_seconds How long the daemon took to collect and render the previous scrape.\n"
                "# TYPE unified_scrape_duration_seconds gauge\n"
                "# UNIT unified_scrape_duration_seconds seconds\n"
                "unified_scrape_duration_seconds 0.0025\n"
                "# EOF\n",
                (int) (strstr(empty_histogram_prom, "unified_recovery_duration_seconds_bucket") - empty_histogram_prom),
                empty_histogram_prom,
                strstr(empty_histogram_prom, "unified_recovery_duration_seconds_bucket")) >= 0);
        assert_string_equal(text, expected);
}

static MetricsSnapshot one_agent_snapshot(MetricsAgent *a, MetricsProfile *p, Histogram *lat, Histogram *rec) {
        *lat = (Histogram) {};
        histogram_observe(lat, 3000);
        histogram_observe(lat, 1500000);
        *rec = (Histogram) {};
        histogram_observe(rec, 700000);

        *a = (MetricsAgent) {
                .name = "llm-cloud-gateway", .profile = "hybrid", .unit = "unified-llm-cloud-gateway.service",
                .lazy = true, .active_state = "failed", .restarts = 3, .breaker = "open",
                .breaker_transitions = 2, .health = 0.25, .memory_current = 1048576,
                .memory_peak = METRICS_UNSET, .memory_limit = 536870912, .cpu_limit = 15000,
                .cpu_usage_usec = 2500000, .cpu_pressure = 12.5, .memory_pressure = NAN, .oom_kills = 1,
                .journal_error_lines = 7, .lazy_activations = 4, .lazy_activation_failures = 1,
                .lazy_latency = lat,
        };
        *p = (MetricsProfile) {
                .name = "hybrid", .active = true, .memory_current = 2097152, .memory_budget = METRICS_UNSET,
                .health = 0.5, .last_start_duration = 1250000,
        };
        return (MetricsSnapshot) {
                .version = "0.1.0", .active_profile = "hybrid", .state = "degraded", .health = 0.75,
                .agents = a, .n_agents = 1, .profiles = p, .n_profiles = 1, .recovery = rec,
                .scrape_duration = 1500,
        };
}

static void test_agent_prometheus(void **state) {
        MetricsAgent a;
        MetricsProfile p;
        Histogram lat, rec;
        MetricsSnapshot s = one_agent_snapshot(&a, &p, &lat, &rec);
        _cleanup_free_ char *text = render(&s, METRICS_FORMAT_PROMETHEUS);

#define L "{agent=\"llm-cloud-gateway\",profile=\"hybrid\""
        assert_line(text, "unified_active_profile{profile=\"hybrid\"} 1");
        assert_line(text, "unified_manager_state{state=\"degraded\"} 1");
        assert_line(text, "unified_manager_state{state=\"running\"} 0");
        assert_line(text, "unified_health_score 0.75");
        assert_line(text, "unified_recovery_duration_seconds_bucket{le=\"0.5\"} 0");
        assert_line(text, "unified_recovery_duration_seconds_bucket{le=\"1.0\"} 1");
        assert_line(text, "unified_recovery_duration_seconds_sum 0.7");
        assert_line(text, "unified_agent_info" L ",unit=\"unified-llm-cloud-gateway.service\",essential=\"false\",lazy=\"true\"} 1");
        assert_line(text, "unified_agent_up" L ",essential=\"false\"} 0");
        assert_line(text, "unified_agent_unit_state" L ",state=\"failed\"} 1");
        assert_line(text, "unified_agent_unit_state" L ",state=\"active\"} 0");
        assert_line(text, "# TYPE unified_agent_restarts_total counter");
        assert_line(text, "unified_agent_restarts_total" L "} 3");
        assert_line(text, "unified_agent_breaker_state" L ",state=\"open\"} 1");
        assert_line(text, "unified_agent_breaker_state" L ",state=\"closed\"} 0");
        assert_line(text, "unified_agent_breaker_transitions_total" L "} 2");
        assert_line(text, "unified_agent_health_score" L "} 0.25");
        assert_line(text, "unified_agent_memory_bytes" L "} 1048576");
        assert_line(text, "unified_agent_memory_limit_bytes" L "} 536870912");
        assert_line(text, "unified_agent_cpu_seconds_total" L "} 2.5");
        assert_line(text, "unified_agent_cpu_limit_cores" L "} 1.5");
        assert_line(text, "unified_agent_pressure_ratio" L ",resource=\"cpu\"} 0.125");
        assert_line(text, "unified_agent_oom_kills_total" L "} 1");
        assert_line(text, "unified_agent_journal_error_lines_total" L "} 7");
        assert_line(text, "unified_agent_lazy_activations_total" L "} 4");
        assert_line(text, "unified_agent_lazy_activation_failures_total" L "} 1");
        assert_line(text, "unified_agent_lazy_activation_duration_seconds_bucket" L ",le=\"0.0025\"} 0");
        assert_line(text, "unified_agent_lazy_activation_duration_seconds_bucket" L ",le=\"0.005\"} 1");
        assert_line(text, "unified_agent_lazy_activation_duration_seconds_bucket" L ",le=\"2.5\"} 2");
        assert_line(text, "unified_agent_lazy_activation_duration_seconds_bucket" L ",le=\"+Inf\"} 2");
        assert_line(text, "unified_agent_lazy_activation_duration_seconds_sum" L "} 1.503");
        assert_line(text, "unified_agent_lazy_activation_duration_seconds_count" L "} 2");
        assert_line(text, "unified_profile_memory_bytes{profile=\"hybrid\"} 2097152");
        assert_line(text, "unified_profile_health_score{profile=\"hybrid\"} 0.5");
        assert_line(text, "unified_profile_agents{profile=\"hybrid\",state=\"failed\"} 1");
        assert_line(text, "unified_profile_agents{profile=\"hybrid\",state=\"active\"} 0");
        assert_line(text, "unified_profile_last_start_duration_seconds{profile=\"hybrid\"} 1.25");
        assert_line(text, "unified_scrape_duration_seconds 0.0015");
        /* Unknown figures are left out, with their family header. */
        assert_null(strstr(text, "unified_agent_memory_peak_bytes"));
        assert_null(strstr(text, "unified_profile_memory_budget_bytes"));
        assert_null(strstr(text, "resource=\"memory\""));
        assert_null(strstr(text, "# EOF"));
        assert_null(strstr(text, "# UNIT"));
#undef L
}

static void test_agent_openmetrics(void **state) {
        MetricsAgent a;
        MetricsProfile p;
        Histogram lat, rec;
        MetricsSnapshot s = one_agent_snapshot(&a, &p, &lat, &rec);
        _cleanup_free_ char *text = render(&s, METRICS_FORMAT_OPENMETRICS);
        const char *eof;

        /* Counter families drop "_total", their samples keep it; info families drop "_info". */
        assert_line(text, "# TYPE unified_agent_restarts counter");
        assert_line(text, "# HELP unified_agent_restarts Restarts of the agent's unit by systemd (NRestarts), summed over the daemon's lifetime.");
        assert_line(text, "unified_agent_restarts_total{agent=\"llm-cloud-gateway\",profile=\"hybrid\"} 3");
        assert_line(text, "# TYPE unified_agent info");
        assert_line(text, "# TYPE unified_agent_cpu_seconds counter");
        assert_line(text, "# UNIT unified_agent_cpu_seconds seconds");
        assert_line(text, "# UNIT unified_agent_memory_bytes bytes");
        assert_no_line(text, "# TYPE unified_agent_restarts_total counter");

        eof = strstr(text, "# EOF\n");
        assert_non_null(eof);
        assert_int_equal(eof[6], 0);
}

static void test_escaping(void **state) {
        MetricsAgent a = {
                .name = "we\"ird\\na\nme", .profile = "p", .unit = "u", .active_state = "active",
                .health = NAN, .memory_current = METRICS_UNSET, .memory_peak = METRICS_UNSET,
                .memory_limit = METRICS_UNSET, .cpu_usage_usec = METRICS_UNSET, .cpu_pressure = NAN,
                .memory_pressure = NAN, .oom_kills = METRICS_UNSET, .restarts = METRICS_UNSET,
                .breaker_transitions = METRICS_UNSET, .journal_error_lines = METRICS_UNSET,
        };
        MetricsSnapshot s = { .version = "x", .health = NAN, .agents = &a, .n_agents = 1,
                              .scrape_duration = USEC_INFINITY };
        _cleanup_free_ char *text = render(&s, METRICS_FORMAT_PROMETHEUS);

        assert_line(text, "unified_agent_up{agent=\"we\\\"ird\\\\na\\nme\",profile=\"p\",essential=\"false\"} 1");
        assert_null(strstr(text, "unified_agent_restarts_total"));
        assert_null(strstr(text, "unified_agent_breaker_state"));
}

static void test_values(void **state) {
        static const struct {
                double in;
                const char *out;
        } table[] = {
                { 0, "unified_health_score 0" },
                { 1, "unified_health_score 1" },
                { 0.1, "unified_health_score 0.1" },
                { 1.0 / 3, "unified_health_score 0.3333333333333333" },
                { 1e-7, "unified_health_score 1e-07" },
                { INFINITY, "unified_health_score +Inf" },
        };

        for (size_t i = 0; i < ELEMENTSOF(table); i++) {
                MetricsSnapshot s = { .version = "x", .health = table[i].in, .scrape_duration = USEC_INFINITY };
                _cleanup_free_ char *text = render(&s, METRICS_FORMAT_PROMETHEUS);
                assert_line(text, table[i].out);
        }
}

static void test_accept(void **state) {
        static const struct {
                const char *accept;
                MetricsFormat fmt;
        } table[] = {
                { NULL, METRICS_FORMAT_PROMETHEUS },
                { "", METRICS_FORMAT_PROMETHEUS },
                { "*/*", METRICS_FORMAT_PROMETHEUS },
                { "text/plain", METRICS_FORMAT_PROMETHEUS },
                { "application/openmetrics-text", METRICS_FORMAT_OPENMETRICS },
                /* What Prometheus 2.x sends. */
                { "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,"
                  "text/plain;version=0.0.4;q=0.5,*/*;q=0.1", METRICS_FORMAT_OPENMETRICS },
                { "text/plain;version=0.0.4;q=1, application/openmetrics-text; q=0.5", METRICS_FORMAT_PROMETHEUS },
                { "application/openmetrics-text;q=0", METRICS_FORMAT_PROMETHEUS },
                { "APPLICATION/OpenMetrics-Text ; q=0.9, text/plain;q=0.8", METRICS_FORMAT_OPENMETRICS },
                { "application/json", METRICS_FORMAT_PROMETHEUS },
        };

        for (size_t i = 0; i < ELEMENTSOF(table); i++)
                assert_int_equal(metrics_format_from_accept(table[i].accept), table[i].fmt);

        assert_string_equal(metrics_format_content_type(METRICS_FORMAT_PROMETHEUS),
                            "text/plain; version=0.0.4; charset=utf-8");
        assert_string_equal(metrics_format_content_type(METRICS_FORMAT_OPENMETRICS),
                            "application/openmetrics-text; version=1.0.0; charset=utf-8");
        assert_null(metrics_format_content_type(_METRICS_FORMAT_MAX));
}

static void test_histogram(void **state) {
        static const struct {
                usec_t v;
                unsigned bucket;
        } table[] = {
                { 0, 0 },
                { 1000, 0 },
                { 1001, 1 },
                { 2500, 1 },
                { 999999, 9 },
                { 1000000, 9 },
                { 59999999, 14 },
                { 60000000, 14 },
                { 60000001, 15 },
                { USEC_INFINITY / 4, 15 },
        };

        for (size_t i = 0; i < ELEMENTSOF(table); i++) {
                Histogram h = {};
                histogram_observe(&h, table[i].v);
                assert_int_equal(h.count, 1);
                assert_int_equal(h.sum, table[i].v);
                assert_int_equal(h.buckets[table[i].bucket], 1);
                for (unsigned b = 0; b <= HISTOGRAM_N_BOUNDS; b++)
                        assert_int_equal(histogram_cumulative(&h, b), b >= table[i].bucket ? 1 : 0);
        }
}

static void test_init_and_cgroup_stats(void **state) {
        MetricsAgent a;
        MetricsProfile p;
        MetricsSnapshot s;
        CgroupStats st = {
                .memory_current = 4096, .memory_peak = CGROUP_STATS_UNSET, .memory_max = 1 << 20,
                .oom_kills = 0, .cpu_usage_usec = 1500000, .memory_pressure = NAN, .cpu_pressure = 0.5,
        };
        _cleanup_free_ char *bare = NULL, *text = NULL;

        /* Everything unknown: only the facts that need no figure are exported. */
        metrics_agent_init(&a);
        a.name = "a";
        a.profile = "p";
        a.unit = "unified-a.service";
        metrics_profile_init(&p);
        p.name = "p";
        metrics_snapshot_init(&s);
        s.version = "1";
        s.agents = &a;
        s.n_agents = 1;
        s.profiles = &p;
        s.n_profiles = 1;
        bare = render(&s, METRICS_FORMAT_PROMETHEUS);
        assert_line(bare, "unified_agent_info{agent=\"a\",profile=\"p\",unit=\"unified-a.service\",essential=\"false\",lazy=\"false\"} 1");
        assert_null(strstr(bare, "unified_agent_up"));
        assert_null(strstr(bare, "unified_agent_memory"));
        assert_null(strstr(bare, "unified_agent_restarts"));
        assert_null(strstr(bare, "unified_profile_"));
        assert_null(strstr(bare, "unified_health_score"));
        assert_null(strstr(bare, "unified_scrape_duration_seconds"));

        metrics_agent_set_cgroup_stats(&a, &st);
        text = render(&s, METRICS_FORMAT_PROMETHEUS);
        assert_line(text, "unified_agent_memory_bytes{agent=\"a\",profile=\"p\"} 4096");
        assert_line(text, "unified_agent_memory_limit_bytes{agent=\"a\",profile=\"p\"} 1048576");
        assert_line(text, "unified_agent_cpu_seconds_total{agent=\"a\",profile=\"p\"} 1.5");
        assert_line(text, "unified_agent_oom_kills_total{agent=\"a\",profile=\"p\"} 0");
        assert_line(text, "unified_agent_pressure_ratio{agent=\"a\",profile=\"p\",resource=\"cpu\"} 0.005");
        assert_null(strstr(text, "unified_agent_memory_peak_bytes"));
        assert_null(strstr(text, "resource=\"memory\""));
}

static void test_invalid_format(void **state) {
        MetricsSnapshot s = { .version = "x", .health = NAN };
        char *text = NULL;

        assert_int_equal(metrics_render(&s, _METRICS_FORMAT_MAX, &text, NULL), -EINVAL);
        assert_null(text);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_minimal_prometheus),
                cmocka_unit_test(test_minimal_openmetrics),
                cmocka_unit_test(test_agent_prometheus),
                cmocka_unit_test(test_agent_openmetrics),
                cmocka_unit_test(test_escaping),
                cmocka_unit_test(test_values),
                cmocka_unit_test(test_accept),
                cmocka_unit_test(test_histogram),
                cmocka_unit_test(test_init_and_cgroup_stats),
                cmocka_unit_test(test_invalid_format),
        };

        cmocka_set_message_output(CM_OUTPUT_TAP);
        return cmocka_run_group_tests(tests, NULL, NULL);
}
