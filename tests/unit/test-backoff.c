/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Tests for the backoff curve: the capped doubling, jitter bounds and distribution, and the
 * translation to systemd's RestartSteps=. */

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

/* Case names and values go to stderr: stdout is TAP for meson. */
#define log_case(...) fprintf(stderr, __VA_ARGS__)

#include "backoff.h"

/* Deterministic uniform 64-bit numbers for the distribution tests. */
static uint64_t test_rng(uint64_t *s) {
        uint64_t x = (*s += UINT64_C(0x9e3779b97f4a7c15));
        x = (x ^ (x >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
        x = (x ^ (x >> 27)) * UINT64_C(0x94d049bb133111eb);
        return x ^ (x >> 31);
}

static void test_ceiling(void **state) {
        static const struct {
                BackoffConfig c;
                unsigned attempt;
                usec_t expected;
        } cases[] = {
                { { 100 * USEC_PER_MSEC, 5 * USEC_PER_MINUTE, 0 }, 0, 100 * USEC_PER_MSEC },
                { { 100 * USEC_PER_MSEC, 5 * USEC_PER_MINUTE, 0 }, 1, 200 * USEC_PER_MSEC },
                { { 100 * USEC_PER_MSEC, 5 * USEC_PER_MINUTE, 0 }, 10, 102400 * USEC_PER_MSEC },
                { { 100 * USEC_PER_MSEC, 5 * USEC_PER_MINUTE, 0 }, 11, 204800 * USEC_PER_MSEC },
                { { 100 * USEC_PER_MSEC, 5 * USEC_PER_MINUTE, 0 }, 12, 5 * USEC_PER_MINUTE },
                { { 100 * USEC_PER_MSEC, 5 * USEC_PER_MINUTE, 0 }, 4000000000U, 5 * USEC_PER_MINUTE },
                /* Kubernetes' CrashLoopBackOff: 10 s doubling to 5 min. */
                { { 10 * USEC_PER_SEC, 5 * USEC_PER_MINUTE, 0 }, 4, 160 * USEC_PER_SEC },
                { { 10 * USEC_PER_SEC, 5 * USEC_PER_MINUTE, 0 }, 5, 5 * USEC_PER_MINUTE },
                /* A cap below the initial value wins; the floor is a lower bound of the curve too. */
                { { 10 * USEC_PER_SEC, 1 * USEC_PER_SEC, 0 }, 0, 1 * USEC_PER_SEC },
                { { 1 * USEC_PER_SEC, 1 * USEC_PER_MINUTE, 5 * USEC_PER_SEC }, 0, 5 * USEC_PER_SEC },
                { { 0, 1 * USEC_PER_MINUTE, 3 }, 7, 3 },
                /* No overflow even with an infinite cap. */
                { { UINT64_MAX / 3, USEC_INFINITY, 0 }, 5, UINT64_MAX },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                log_case("case %zu\n", i);
                assert_int_equal(backoff_ceiling(&cases[i].c, cases[i].attempt), cases[i].expected);
        }
}

static void test_delay_bounds(void **state) {
        BackoffConfig c = { 100 * USEC_PER_MSEC, 30 * USEC_PER_SEC, 50 * USEC_PER_MSEC };
        uint64_t s = 1;

        for (unsigned attempt = 0; attempt < 20; attempt++) {
                usec_t hi = backoff_ceiling(&c, attempt);

                assert_int_equal(backoff_delay(&c, attempt, 0), c.floor);
                assert_int_equal(backoff_delay(&c, attempt, UINT64_MAX), hi);
                for (unsigned k = 0; k < 1000; k++) {
                        usec_t d = backoff_delay(&c, attempt, test_rng(&s));
                        assert_in_range(d, c.floor, hi);
                }
        }

        /* Monotonic in the random input. */
        for (uint64_t r = 0, prev = 0; r < UINT64_MAX - UINT64_C(1) * 1000000000000000; r += UINT64_C(1) * 1000000000000000) {
                usec_t d = backoff_delay(&c, 3, r);
                assert_true(d >= prev);
                prev = d;
        }

        /* Full jitter: floor 0 reaches 0. */
        c.floor = 0;
        assert_int_equal(backoff_delay(&c, 2, 0), 0);
        assert_int_equal(backoff_delay(&c, 2, UINT64_MAX), 400 * USEC_PER_MSEC);
        /* A floor above the ceiling: the ceiling. */
        c = (BackoffConfig) { 1 * USEC_PER_SEC, 2 * USEC_PER_SEC, 10 * USEC_PER_SEC };
        assert_int_equal(backoff_delay(&c, 0, 12345), 10 * USEC_PER_SEC);
}

static void test_jitter_distribution(void **state) {
        /* Full jitter over [0, 800 ms]: ten equal buckets each get 10% +- 1% of 100000 draws and the
         * mean is the midpoint within 1%. */
        BackoffConfig c = { 100 * USEC_PER_MSEC, 10 * USEC_PER_SEC, 0 };
        unsigned buckets[10] = {};
        const unsigned n = 100000;
        usec_t hi = backoff_ceiling(&c, 3);
        double sum = 0;
        uint64_t s = 42;

        assert_int_equal(hi, 800 * USEC_PER_MSEC);
        for (unsigned i = 0; i < n; i++) {
                usec_t d = backoff_delay(&c, 3, test_rng(&s));
                sum += d;
                buckets[MIN(d * 10 / (hi + 1), 9U)]++;
        }
        for (size_t b = 0; b < ELEMENTSOF(buckets); b++) {
                log_case("bucket %zu: %u\n", b, buckets[b]);
                assert_in_range(buckets[b], n / 10 - n / 100, n / 10 + n / 100);
        }
        assert_true(fabs(sum / n - hi / 2.0) < hi * 0.01);
}

static void test_random_source(void **state) {
        unsigned high = 0, equal = 0;
        uint64_t prev = backoff_random_u64();

        /* getrandom() output: about half the draws have the top bit set, and no two are equal. */
        for (unsigned i = 0; i < 10000; i++) {
                uint64_t v = backoff_random_u64();
                high += v >> 63;
                equal += v == prev;
                prev = v;
        }
        assert_in_range(high, 4500, 5500);
        assert_int_equal(equal, 0);
}

static void test_restart_steps(void **state) {
        static const struct {
                BackoffConfig c;
                int r;
                unsigned steps;
                usec_t max;
        } cases[] = {
                { { 100 * USEC_PER_MSEC, 5 * USEC_PER_MINUTE, 0 }, 0, 12, 5 * USEC_PER_MINUTE },
                { { 1 * USEC_PER_SEC, 8 * USEC_PER_SEC, 0 }, 0, 3, 8 * USEC_PER_SEC },
                { { 1 * USEC_PER_SEC, 9 * USEC_PER_SEC, 0 }, 0, 4, 9 * USEC_PER_SEC },
                { { 0, 8 * USEC_PER_SEC, 0 }, -EINVAL, 0, 0 },
                { { 8 * USEC_PER_SEC, 8 * USEC_PER_SEC, 0 }, -EINVAL, 0, 0 },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                unsigned steps = 777;
                usec_t max = 777;

                log_case("case %zu\n", i);
                assert_int_equal(backoff_to_restart_steps(&cases[i].c, &steps, &max), cases[i].r);
                if (cases[i].r < 0) {
                        assert_int_equal(steps, 777); /* untouched on failure */
                        continue;
                }
                assert_int_equal(steps, cases[i].steps);
                assert_int_equal(max, cases[i].max);
        }
}

static void test_systemd_curve(void **state) {
        /* With a power-of-two ratio systemd's curve is exactly our ceiling: restart n waits
         * ceiling(n - 1). */
        BackoffConfig c = { 1 * USEC_PER_SEC, 8 * USEC_PER_SEC, 0 };
        unsigned steps;
        usec_t max;

        assert_int_equal(backoff_to_restart_steps(&c, &steps, &max), 0);
        for (unsigned n = 1; n <= 6; n++) {
                usec_t s = backoff_systemd_restart_usec(c.initial, max, steps, n);
                usec_t ours = backoff_ceiling(&c, n - 1);

                log_case("restart %u: systemd %llu ours %llu\n", n, (unsigned long long) s,
                              (unsigned long long) ours);
                assert_in_range(s, ours - 1, ours); /* powl() may round down by one microsecond */
        }

        /* 100 ms to 5 min in 12 steps: ratio 3000^(1/12) = 1.948 per step, never above the cap. */
        assert_int_equal(backoff_systemd_restart_usec(100 * USEC_PER_MSEC, 5 * USEC_PER_MINUTE, 12, 1),
                         100 * USEC_PER_MSEC);
        assert_in_range(backoff_systemd_restart_usec(100 * USEC_PER_MSEC, 5 * USEC_PER_MINUTE, 12, 2),
                        194700, 194900);
        assert_in_range(backoff_systemd_restart_usec(100 * USEC_PER_MSEC, 5 * USEC_PER_MINUTE, 12, 13),
                        5 * USEC_PER_MINUTE - 1, 5 * USEC_PER_MINUTE);
        assert_int_equal(backoff_systemd_restart_usec(100 * USEC_PER_MSEC, 5 * USEC_PER_MINUTE, 12, 50),
                         5 * USEC_PER_MINUTE);
        /* No steps: constant. */
        assert_int_equal(backoff_systemd_restart_usec(100 * USEC_PER_MSEC, 5 * USEC_PER_MINUTE, 0, 9),
                         100 * USEC_PER_MSEC);
}

static void test_restart_usec(void **state) {
        BackoffConfig c = { 100 * USEC_PER_MSEC, 5 * USEC_PER_SEC, 50 * USEC_PER_MSEC };

        /* The first creation uses attempt 0, each later probe one step further, within the jitter range. */
        assert_int_equal(backoff_restart_usec(&c, 0, UINT64_MAX), 100 * USEC_PER_MSEC);
        assert_int_equal(backoff_restart_usec(&c, 3, UINT64_MAX), 800 * USEC_PER_MSEC);
        assert_int_equal(backoff_restart_usec(&c, 3, 0), 50 * USEC_PER_MSEC);
        assert_int_equal(backoff_restart_usec(&c, 30, UINT64_MAX), 5 * USEC_PER_SEC);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_ceiling),
                cmocka_unit_test(test_delay_bounds),
                cmocka_unit_test(test_jitter_distribution),
                cmocka_unit_test(test_random_source),
                cmocka_unit_test(test_restart_steps),
                cmocka_unit_test(test_systemd_curve),
                cmocka_unit_test(test_restart_usec),
        };

        cmocka_set_message_output(CM_OUTPUT_TAP);
        return cmocka_run_group_tests(tests, NULL, NULL);
}
