/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Tests for the chaos report: kind names, recovery times per kind, percentiles, the summary's
 * counts, rates and verdict, and the exact table and JSON document. */

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#define log_case(...) fprintf(stderr, __VA_ARGS__)

#include "chaos-report.h"

#define S(x) ((usec_t) ((x) * (double) USEC_PER_SEC))
#define NEVER USEC_INFINITY

static void test_kind_names(void **state) {
        for (ChaosKind k = 0; k < _CHAOS_KIND_MAX; k++) {
                assert_non_null(chaos_kind_to_string(k));
                assert_int_equal(chaos_kind_from_string(chaos_kind_to_string(k)), k);
        }
        assert_string_equal(chaos_kind_to_string(CHAOS_KIND_PARTITION), "partition");
        assert_int_equal(chaos_kind_from_string("Kill"), _CHAOS_KIND_INVALID);
        assert_int_equal(chaos_kind_from_string(""), _CHAOS_KIND_INVALID);
        assert_int_equal(chaos_kind_from_string(NULL), _CHAOS_KIND_INVALID);
        assert_null(chaos_kind_to_string(_CHAOS_KIND_MAX));
        assert_true(chaos_kind_holds(CHAOS_KIND_OUTAGE));
        assert_true(chaos_kind_holds(CHAOS_KIND_PARTITION));
        assert_false(chaos_kind_holds(CHAOS_KIND_KILL));
        assert_false(chaos_kind_holds(CHAOS_KIND_MEMORY));
}

static void test_recovery_usec(void **state) {
        static const struct {
                ChaosResult r;
                usec_t expected;
        } cases[] = {
                /* kill: from the injection, whatever the detection said */
                { { .kind = CHAOS_KIND_KILL, .recovered = true, .injected = S(10), .detected = S(10.01),
                    .undone = S(10), .recovered_at = S(10.5) }, S(0.5) },
                /* memory: the undo happens during recovery, the clock still starts at injection */
                { { .kind = CHAOS_KIND_MEMORY, .recovered = true, .injected = S(10), .detected = S(10.2),
                    .undone = S(10.21), .recovered_at = S(11) }, S(1) },
                /* outage and partition hold the damage: the clock starts at the undo */
                { { .kind = CHAOS_KIND_OUTAGE, .recovered = true, .injected = S(10), .detected = S(10.1),
                    .undone = S(20), .recovered_at = S(20.3) }, S(0.3) },
                { { .kind = CHAOS_KIND_PARTITION, .recovered = true, .injected = S(10), .detected = S(10),
                    .undone = S(15), .recovered_at = S(15) }, 0 },
                /* a holding fault never undone has no recovery time */
                { { .kind = CHAOS_KIND_OUTAGE, .recovered = true, .injected = S(10), .detected = S(10.1),
                    .undone = NEVER, .recovered_at = S(20.3) }, NEVER },
                /* not recovered, or inconsistent times */
                { { .kind = CHAOS_KIND_KILL, .recovered = false, .injected = S(10), .detected = S(10),
                    .undone = S(10), .recovered_at = NEVER }, NEVER },
                { { .kind = CHAOS_KIND_KILL, .recovered = true, .injected = S(10), .detected = S(10),
                    .undone = S(10), .recovered_at = NEVER }, NEVER },
                { { .kind = CHAOS_KIND_KILL, .recovered = true, .injected = S(10), .detected = S(10),
                    .undone = S(10), .recovered_at = S(9) }, NEVER },
                { { .kind = CHAOS_KIND_KILL, .recovered = true, .injected = NEVER, .detected = S(10),
                    .undone = S(10), .recovered_at = S(11) }, NEVER },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                log_case("case %zu\n", i);
                assert_int_equal(chaos_result_recovery_usec(&cases[i].r), cases[i].expected);
        }
        assert_int_equal(chaos_result_recovery_usec(NULL), NEVER);

        /* The SLA is inclusive. */
        ChaosResult r = { .kind = CHAOS_KIND_KILL, .recovered = true, .injected = 0, .detected = 0, .undone = 0,
                          .recovered_at = S(60) };
        assert_true(chaos_result_ok(&r, S(60)));
        assert_false(chaos_result_ok(&r, S(60) - 1));
        assert_true(chaos_result_ok(&r, USEC_INFINITY));
}

static void test_percentile(void **state) {
        static const usec_t v[] = { 50, 10, 40, 20, 30, 60, 70, 80, 90, 100 };
        static const struct {
                size_t n;
                unsigned p;
                usec_t expected;
        } cases[] = {
                { 10, 50, 50 }, { 10, 95, 100 }, { 10, 90, 90 }, { 10, 100, 100 }, { 10, 1, 10 }, { 10, 10, 10 },
                { 10, 11, 20 }, { 1, 50, 50 }, { 1, 95, 50 }, { 2, 50, 10 }, { 2, 51, 50 }, { 3, 95, 50 },
                { 0, 50, NEVER }, { 10, 0, NEVER }, { 10, 101, NEVER },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                log_case("case %zu: n=%zu p=%u\n", i, cases[i].n, cases[i].p);
                assert_int_equal(chaos_percentile(v, cases[i].n, cases[i].p), cases[i].expected);
        }
        /* The input is not reordered. */
        assert_int_equal(v[0], 50);
}

/* One run: 3 kills (one slow), an outage, a memory fault that never recovered, a stress run with
 * 4 faults of which one recovered too late. */
static const ChaosResult run[] = {
        { 1, 0, CHAOS_KIND_KILL, "event-bus", true, S(100), S(100.01), S(100), S(100.2), NULL },
        { 2, 0, CHAOS_KIND_KILL, "quiz-engine", true, S(110), S(110.01), S(110), S(110.4), NULL },
        { 3, 0, CHAOS_KIND_KILL, "hint-provider", true, S(120), S(120.01), S(120), S(121.0), NULL },
        { 4, 0, CHAOS_KIND_OUTAGE, "llm-cloud-gateway", true, S(130), S(130.1), S(140), S(140.3), NULL },
        { 5, 0, CHAOS_KIND_MEMORY, "student-model", false, S(150), NEVER, S(160), NEVER, "not OOM-killed" },
        { 6, 0, CHAOS_KIND_STRESS, "", false, S(200), S(200), S(230), NEVER, "1 of 4 faults failed" },
        { 7, 6, CHAOS_KIND_KILL, "lesson-planner", true, S(200), S(200.01), S(200), S(200.1), NULL },
        { 8, 6, CHAOS_KIND_KILL, "progress-tracker", true, S(201), S(201.01), S(201), S(201.1), NULL },
        { 9, 6, CHAOS_KIND_MEMORY, "answer-evaluator", true, S(202), S(202.3), S(202.31), S(202.5), NULL },
        { 10, 6, CHAOS_KIND_KILL, "tutor-orchestrator", true, S(203), S(203.01), S(203), S(273), NULL },
};

static void test_summary(void **state) {
        ChaosSummary s;

        assert_int_equal(chaos_summary_compute(run, ELEMENTSOF(run), S(60), &s), 0);
        assert_int_equal(s.tests_run, 6);               /* 5 single faults and the stress run */
        assert_int_equal(s.failures_injected, 9);        /* all but the stress run itself */
        assert_int_equal(s.recoveries_ok, 7);
        assert_int_equal(s.recoveries_failed, 2);        /* the memory fault, the 70 s kill */
        /* recovered: 0.2 0.4 1.0 0.3 (from the undo) 0.1 0.1 0.5 70.0 */
        assert_int_equal(s.stats.n, 8);
        assert_int_equal(s.stats.mean, (S(0.2) + S(0.4) + S(1) + S(0.3) + S(0.1) + S(0.1) + S(0.5) + S(70)) / 8);
        assert_int_equal(s.stats.p50, S(0.3));
        assert_int_equal(s.stats.p95, S(70));
        assert_int_equal(s.stats.max, S(70));
        assert_true(fabs(s.recovery_rate - 4.0 / 5.0) < 1e-9);
        assert_int_equal(s.stress_faults, 4);
        assert_int_equal(s.stress_ok, 3);
        assert_true(fabs(s.stress_rate - 0.75) < 1e-9);
        assert_false(s.pass);

        assert_int_equal(s.kinds[CHAOS_KIND_KILL].faults, 3);
        assert_int_equal(s.kinds[CHAOS_KIND_KILL].ok, 3);
        assert_int_equal(s.kinds[CHAOS_KIND_KILL].stats.max, S(1));
        assert_int_equal(s.kinds[CHAOS_KIND_MEMORY].faults, 1);
        assert_int_equal(s.kinds[CHAOS_KIND_MEMORY].ok, 0);
        assert_int_equal(s.kinds[CHAOS_KIND_MEMORY].stats.n, 0);
        assert_int_equal(s.kinds[CHAOS_KIND_MEMORY].stats.mean, NEVER);
        assert_int_equal(s.kinds[CHAOS_KIND_STRESS].faults, 4);
        assert_int_equal(s.kinds[CHAOS_KIND_STRESS].ok, 3);
        assert_int_equal(s.kinds[CHAOS_KIND_PARTITION].faults, 0);

        /* A generous SLA lets the slow kill pass; the memory fault still fails the run. */
        assert_int_equal(chaos_summary_compute(run, ELEMENTSOF(run), S(120), &s), 0);
        assert_int_equal(s.recoveries_ok, 8);
        assert_int_equal(s.stress_ok, 4);
        assert_false(s.pass);

        /* The first four alone pass. */
        assert_int_equal(chaos_summary_compute(run, 4, S(60), &s), 0);
        assert_true(s.pass);
        assert_true(fabs(s.recovery_rate - 1.0) < 1e-9);
        assert_true(isnan(s.stress_rate));
        assert_int_equal(s.stats.mean, (S(0.2) + S(0.4) + S(1) + S(0.3)) / 4);

        /* A failed stress run fails the verdict even when its faults are fine. */
        assert_int_equal(chaos_summary_compute(run + 5, 3, S(60), &s), 0);
        assert_int_equal(s.tests_run, 1);
        assert_int_equal(s.failures_injected, 2);
        assert_int_equal(s.recoveries_failed, 0);
        assert_false(s.pass);

        /* Nothing ran: no verdict to pass, no numbers. */
        assert_int_equal(chaos_summary_compute(NULL, 0, S(60), &s), 0);
        assert_int_equal(s.tests_run, 0);
        assert_false(s.pass);
        assert_int_equal(s.stats.mean, NEVER);
        assert_true(isnan(s.recovery_rate));
}

static void test_format_seconds(void **state) {
        static const struct {
                usec_t t;
                const char *expected;
        } cases[] = {
                { 0, "0.000s" }, { 412 * USEC_PER_MSEC, "0.412s" }, { 7 * USEC_PER_SEC, "7.000s" },
                { 1999600, "2.000s" }, { 1499, "0.001s" }, { 499, "0.000s" }, { NEVER, "-" },
        };
        char buf[CHAOS_FORMAT_SECONDS_MAX];

        for (size_t i = 0; i < ELEMENTSOF(cases); i++)
                assert_string_equal(chaos_format_seconds(buf, sizeof(buf), cases[i].t), cases[i].expected);
}

static char *render(bool json, const ChaosResult *r, size_t n, usec_t sla) {
        ChaosSummary s;
        char *buf = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&buf, &size);

        assert_non_null(f);
        assert_int_equal(chaos_summary_compute(r, n, sla, &s), 0);
        if (json)
                assert_int_equal(chaos_report_write_json(&s, r, n, f, false), 0);
        else
                assert_int_equal(chaos_report_write_table(&s, f), 0);
        fclose(f);
        return buf;
}

static void test_table(void **state) {
        _cleanup_free_ char *t = render(false, run, 4, S(60));

        assert_string_equal(t,
                            "Chaos test results (SLA: 60.000s)\n"
                            "  Tests run:              4\n"
                            "  Failures injected:      4\n"
                            "  Successful recoveries:  4\n"
                            "  Failed recoveries:      0\n"
                            "  Mean recovery time:     0.475s\n"
                            "  p50 / p95 / max:        0.300s / 1.000s / 1.000s\n"
                            "  Recovery success rate:  100.0% (4 of 4)\n"
                            "  Stress success rate:    -\n"
                            "  Verdict:                PASS\n"
                            "\n"
                            "KIND       FAULTS RECOVERED      MEAN       P50       P95       MAX\n"
                            "kill            3         3    0.533s    0.400s    1.000s    1.000s\n"
                            "outage          1         1    0.300s    0.300s    0.300s    0.300s\n");
}

static void test_json(void **state) {
        _cleanup_free_ char *j = render(true, run + 4, 2, S(60));

        assert_string_equal(j,
                            "{\"version\":1,\"sla_usec\":60000000,\"verdict\":\"fail\",\"tests_run\":2,"
                            "\"failures_injected\":1,\"successful_recoveries\":0,\"failed_recoveries\":1,"
                            "\"recovery\":{\"count\":0,\"mean_usec\":null,\"p50_usec\":null,\"p95_usec\":null,"
                            "\"max_usec\":null},\"recovery_success_rate\":0,\"stress_faults\":0,"
                            "\"stress_success_rate\":null,"
                            "\"kinds\":{\"memory\":{\"faults\":1,\"recovered\":0,\"recovery\":{\"count\":0,"
                            "\"mean_usec\":null,\"p50_usec\":null,\"p95_usec\":null,\"max_usec\":null}}},"
                            "\"faults\":["
                            "{\"id\":5,\"parent\":0,\"kind\":\"memory\",\"agent\":\"student-model\","
                            "\"recovered\":false,\"within_sla\":false,\"injected_usec\":150000000,"
                            "\"detected_usec\":null,\"undone_usec\":160000000,\"recovered_usec\":null,"
                            "\"recovery_usec\":null,\"detail\":\"not OOM-killed\"},"
                            "{\"id\":6,\"parent\":0,\"kind\":\"stress\",\"agent\":\"\",\"recovered\":false,"
                            "\"within_sla\":false,\"injected_usec\":200000000,\"detected_usec\":200000000,"
                            "\"undone_usec\":230000000,\"recovered_usec\":null,\"recovery_usec\":null,"
                            "\"detail\":\"1 of 4 faults failed\"}]}\n");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_kind_names),
                cmocka_unit_test(test_recovery_usec),
                cmocka_unit_test(test_percentile),
                cmocka_unit_test(test_summary),
                cmocka_unit_test(test_format_seconds),
                cmocka_unit_test(test_table),
                cmocka_unit_test(test_json),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
