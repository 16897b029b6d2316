/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Tests for the circuit breaker: the state machine as tables of (event, time) -> (state, action, timer),
 * its counters, and serialization including garbage input. */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

/* Case names and values go to stderr: stdout is TAP for meson. */
#define log_case(...) fprintf(stderr, __VA_ARGS__)

#include "breaker.h"

#define S USEC_PER_SEC
#define NEVER USEC_INFINITY
#define RMAX UINT64_MAX /* jitter at the top: the cooldown is the ceiling, cooldown * 2^(n-1) */

/* threshold 3 in 60 s, cooldown 10 s doubling to 5 min, probation 30 s. */
static const BreakerConfig config = {
        .threshold = 3,
        .window = 60 * S,
        .cooldown = 10 * S,
        .max_cooldown = 5 * USEC_PER_MINUTE,
        .probation = 30 * S,
};

#define INV(n) ((sd_id128_t) { .qwords = { 0x1111, (n) } })

typedef struct Step {
        BreakerEventType type;
        usec_t t;
        FailureKind kind;
        bool final;
        sd_id128_t inv;
        uint64_t random;
        /* expected */
        BreakerState state;
        BreakerAction action;
        usec_t timer;
        bool counted;
} Step;

#define FAIL(t_, inv_, st, act, tm) \
        { BREAKER_EVENT_FAILURE, (t_), FAILURE_EXIT_CODE, false, INV(inv_), RMAX, (st), (act), (tm), true }
#define EV(type_, t_, st, act, tm) \
        { BREAKER_EVENT_##type_, (t_), FAILURE_OTHER, false, {}, RMAX, (st), (act), (tm), false }

static void run(const char *name, const Step *steps, size_t n, Breaker *ret) {
        Breaker b;

        breaker_init(&b, &config, 0);
        for (size_t i = 0; i < n; i++) {
                BreakerEvent ev = {
                        .type = steps[i].type,
                        .now = steps[i].t,
                        .kind = steps[i].kind,
                        .final = steps[i].final,
                        .invocation = steps[i].inv,
                        .random = steps[i].random,
                };
                BreakerOutcome o;

                log_case("%s step %zu: %s at %llu us\n", name, i, breaker_event_type_to_string(ev.type),
                              (unsigned long long) ev.now);
                assert_int_equal(breaker_handle(&b, &ev, &o), 0);
                assert_string_equal(breaker_state_to_string(o.state), breaker_state_to_string(steps[i].state));
                assert_int_equal(o.state, b.state);
                assert_string_equal(breaker_action_to_string(o.action), breaker_action_to_string(steps[i].action));
                assert_int_equal(o.timer, steps[i].timer);
                assert_int_equal(o.timer, b.deadline);
                assert_int_equal(o.counted, steps[i].counted);
                assert_non_null(o.reason);
        }
        if (ret)
                *ret = b;
}

static void test_window(void **state) {
        /* Failures older than the window do not count; the third within 60 s trips. */
        static const Step steps[] = {
                FAIL(0, 1, BREAKER_CLOSED, BREAKER_ACTION_NONE, NEVER),
                FAIL(30 * S, 2, BREAKER_CLOSED, BREAKER_ACTION_NONE, NEVER),
                FAIL(70 * S, 3, BREAKER_CLOSED, BREAKER_ACTION_NONE, NEVER), /* t=0 expired */
                FAIL(80 * S, 4, BREAKER_OPEN, BREAKER_ACTION_STOP, 90 * S),
        };
        Breaker b;

        run("window", steps, ELEMENTSOF(steps), &b);
        assert_int_equal(b.trips_total, 1);
        assert_int_equal(b.failures_total, 4);
        assert_int_equal(b.transitions_total, 1);
        assert_int_equal(b.consecutive_trips, 1);
}

static void test_window_edge(void **state) {
        /* A failure exactly "window" old has left the window. */
        static const Step steps[] = {
                FAIL(0, 1, BREAKER_CLOSED, BREAKER_ACTION_NONE, NEVER),
                FAIL(1 * S, 2, BREAKER_CLOSED, BREAKER_ACTION_NONE, NEVER),
                FAIL(60 * S, 3, BREAKER_CLOSED, BREAKER_ACTION_NONE, NEVER),
                FAIL(60 * S + 999999, 4, BREAKER_OPEN, BREAKER_ACTION_STOP, 70 * S + 999999),
        };

        run("window-edge", steps, ELEMENTSOF(steps), NULL);
}

static void test_full_cycle(void **state) {
        static const Step steps[] = {
                FAIL(0, 1, BREAKER_CLOSED, BREAKER_ACTION_NONE, NEVER),
                FAIL(5 * S, 2, BREAKER_CLOSED, BREAKER_ACTION_NONE, NEVER),
                FAIL(10 * S, 3, BREAKER_OPEN, BREAKER_ACTION_STOP, 20 * S),
                /* A timer that fires early (or a stale one) changes nothing. */
                EV(TIMER, 15 * S, BREAKER_OPEN, BREAKER_ACTION_NONE, 20 * S),
                EV(TIMER, 20 * S, BREAKER_HALF_OPEN, BREAKER_ACTION_START, NEVER),
                /* Probation runs from "active", not from the start request. */
                EV(ACTIVE, 21 * S, BREAKER_HALF_OPEN, BREAKER_ACTION_NONE, 51 * S),
                EV(ACTIVE, 22 * S, BREAKER_HALF_OPEN, BREAKER_ACTION_NONE, 51 * S),
                EV(TIMER, 51 * S, BREAKER_CLOSED, BREAKER_ACTION_NONE, 51 * S + 10 * USEC_PER_MINUTE),
                /* Ten clean minutes: consecutive trips are forgotten, no timer left. */
                EV(TIMER, 51 * S + 10 * USEC_PER_MINUTE, BREAKER_CLOSED, BREAKER_ACTION_NONE, NEVER),
        };
        Breaker b;

        run("full-cycle", steps, ELEMENTSOF(steps), &b);
        assert_int_equal(b.consecutive_trips, 0);
        assert_int_equal(b.trips_total, 1);
        assert_int_equal(b.transitions_total, 3);
        assert_int_equal(b.n_failures, 0);
}

static void test_probe_fails(void **state) {
        /* Each failed probe reopens with the next cooldown: 10, 20, 40, ... capped at 5 min. */
        static const Step steps[] = {
                { BREAKER_EVENT_FAILURE, 0, FAILURE_START_LIMIT_HIT, false, {}, RMAX,
                  BREAKER_OPEN, BREAKER_ACTION_STOP, 10 * S, true },
                EV(TIMER, 10 * S, BREAKER_HALF_OPEN, BREAKER_ACTION_START, NEVER),
                FAIL(11 * S, 1, BREAKER_OPEN, BREAKER_ACTION_STOP, 31 * S),
                /* Failures while open (our own stop, stragglers) are counted in total only. */
                FAIL(12 * S, 2, BREAKER_OPEN, BREAKER_ACTION_NONE, 31 * S),
                EV(TIMER, 31 * S, BREAKER_HALF_OPEN, BREAKER_ACTION_START, NEVER),
                EV(ACTIVE, 32 * S, BREAKER_HALF_OPEN, BREAKER_ACTION_NONE, 62 * S),
                FAIL(40 * S, 3, BREAKER_OPEN, BREAKER_ACTION_STOP, 80 * S),
                EV(TIMER, 80 * S, BREAKER_HALF_OPEN, BREAKER_ACTION_START, NEVER),
                FAIL(81 * S, 4, BREAKER_OPEN, BREAKER_ACTION_STOP, 161 * S),
                EV(TIMER, 161 * S, BREAKER_HALF_OPEN, BREAKER_ACTION_START, NEVER),
                FAIL(162 * S, 5, BREAKER_OPEN, BREAKER_ACTION_STOP, 322 * S),
                EV(TIMER, 322 * S, BREAKER_HALF_OPEN, BREAKER_ACTION_START, NEVER),
                FAIL(323 * S, 6, BREAKER_OPEN, BREAKER_ACTION_STOP, 623 * S), /* 320 s capped at 300 */
                EV(TIMER, 623 * S, BREAKER_HALF_OPEN, BREAKER_ACTION_START, NEVER),
                FAIL(624 * S, 7, BREAKER_OPEN, BREAKER_ACTION_STOP, 924 * S),
        };
        Breaker b;

        run("probe-fails", steps, ELEMENTSOF(steps), &b);
        assert_int_equal(b.consecutive_trips, 7);
        assert_int_equal(b.trips_total, 7);
        assert_int_equal(b.failures_total, 8);
        assert_int_equal(b.transitions_total, 13);
}

static void test_jitter(void **state) {
        /* random = 0: the floor, half the base cooldown, whatever the trip number. */
        static const Step steps[] = {
                { BREAKER_EVENT_FAILURE, 0, FAILURE_WATCHDOG, true, {}, 0,
                  BREAKER_OPEN, BREAKER_ACTION_STOP, 5 * S, true },
                { BREAKER_EVENT_TIMER, 5 * S, 0, false, {}, 0, BREAKER_HALF_OPEN, BREAKER_ACTION_START, NEVER, false },
                { BREAKER_EVENT_FAILURE, 6 * S, FAILURE_OOM_KILL, false, {}, 0,
                  BREAKER_OPEN, BREAKER_ACTION_STOP, 11 * S, true },
        };

        run("jitter", steps, ELEMENTSOF(steps), NULL);

        /* Across the whole random range the n-th cooldown stays within [5 s, min(300 s, 10 s * 2^(n-1))]. */
        for (unsigned n = 1; n < 12; n++) {
                usec_t hi = MIN(5 * USEC_PER_MINUTE, (10 * S) << (n - 1));

                for (uint64_t r = 0; r < UINT64_MAX / 64 * 63; r += UINT64_MAX / 64) {
                        usec_t c = breaker_cooldown(&config, n, r);
                        assert_in_range(c, 5 * S, hi);
                }
                assert_int_equal(breaker_cooldown(&config, n, UINT64_MAX), hi);
        }
}

static void test_immediate_trips(void **state) {
        /* systemd gave up: start-limit-hit or a final failure open at once. start-limit-hit carries the
         * InvocationID of the run already counted and must still trip. */
        static const Step start_limit[] = {
                FAIL(0, 1, BREAKER_CLOSED, BREAKER_ACTION_NONE, NEVER),
                { BREAKER_EVENT_FAILURE, 1 * S, FAILURE_START_LIMIT_HIT, false, INV(1), RMAX,
                  BREAKER_OPEN, BREAKER_ACTION_STOP, 11 * S, false },
        };
        static const Step final[] = {
                FAIL(0, 1, BREAKER_CLOSED, BREAKER_ACTION_NONE, NEVER),
                /* the journal saw the failure first, then the unit watcher says the unit stays failed */
                { BREAKER_EVENT_FAILURE, 1 * S, FAILURE_EXIT_CODE, true, INV(1), RMAX,
                  BREAKER_OPEN, BREAKER_ACTION_STOP, 11 * S, false },
        };

        /* Half-open: a late "final" about the run before the trip is ignored, a start-limit-hit of the
         * probe's start (no new run, so the old ID) is not. */
        static const Step half_open[] = {
                FAIL(0, 1, BREAKER_CLOSED, BREAKER_ACTION_NONE, NEVER),
                { BREAKER_EVENT_FAILURE, 1 * S, FAILURE_EXIT_CODE, true, INV(1), RMAX,
                  BREAKER_OPEN, BREAKER_ACTION_STOP, 11 * S, false },
                EV(TIMER, 11 * S, BREAKER_HALF_OPEN, BREAKER_ACTION_START, NEVER),
                { BREAKER_EVENT_FAILURE, 12 * S, FAILURE_EXIT_CODE, true, INV(1), RMAX,
                  BREAKER_HALF_OPEN, BREAKER_ACTION_NONE, NEVER, false },
                { BREAKER_EVENT_FAILURE, 13 * S, FAILURE_START_LIMIT_HIT, false, INV(1), RMAX,
                  BREAKER_OPEN, BREAKER_ACTION_STOP, 33 * S, false },
        };

        run("start-limit", start_limit, ELEMENTSOF(start_limit), NULL);
        run("half-open-late", half_open, ELEMENTSOF(half_open), NULL);
        run("final", final, ELEMENTSOF(final), NULL);
}

static void test_dedup(void **state) {
        /* The same failed run reported by the journal (OOM message, then "Failed with result") and by
         * the unit watcher counts once. Unknown invocations always count. */
        static const Step steps[] = {
                { BREAKER_EVENT_FAILURE, 0, FAILURE_OOM_KILL, false, INV(7), RMAX,
                  BREAKER_CLOSED, BREAKER_ACTION_NONE, NEVER, true },
                { BREAKER_EVENT_FAILURE, 1, FAILURE_OOM_KILL, false, INV(7), RMAX,
                  BREAKER_CLOSED, BREAKER_ACTION_NONE, NEVER, false },
                { BREAKER_EVENT_FAILURE, 2, FAILURE_SIGNAL, false, INV(7), RMAX,
                  BREAKER_CLOSED, BREAKER_ACTION_NONE, NEVER, false },
                { BREAKER_EVENT_FAILURE, 3, FAILURE_SIGNAL, false, {}, RMAX,
                  BREAKER_CLOSED, BREAKER_ACTION_NONE, NEVER, true },
                { BREAKER_EVENT_FAILURE, 4, FAILURE_SIGNAL, false, {}, RMAX,
                  BREAKER_OPEN, BREAKER_ACTION_STOP, 4 + 10 * S, true },
        };
        Breaker b;

        run("dedup", steps, ELEMENTSOF(steps), &b);
        assert_int_equal(b.failures_total, 3);
}

static void test_manual(void **state) {
        static const Step steps[] = {
                EV(FORCE_OPEN, 1 * S, BREAKER_OPEN, BREAKER_ACTION_STOP, NEVER),
                /* Held open: no cooldown, a start behind our back is undone. */
                EV(TIMER, 1000 * S, BREAKER_OPEN, BREAKER_ACTION_NONE, NEVER),
                EV(ACTIVE, 1001 * S, BREAKER_OPEN, BREAKER_ACTION_STOP, NEVER),
                EV(RESET, 1002 * S, BREAKER_CLOSED, BREAKER_ACTION_START, NEVER),
                /* Reset from an automatic open and from half-open. */
                { BREAKER_EVENT_FAILURE, 1003 * S, FAILURE_START_LIMIT_HIT, false, {}, RMAX,
                  BREAKER_OPEN, BREAKER_ACTION_STOP, 1013 * S, true },
                EV(RESET, 1004 * S, BREAKER_CLOSED, BREAKER_ACTION_START, NEVER),
                { BREAKER_EVENT_FAILURE, 1005 * S, FAILURE_START_LIMIT_HIT, false, {}, RMAX,
                  BREAKER_OPEN, BREAKER_ACTION_STOP, 1015 * S, true }, /* trips were reset: 10 s again */
                EV(TIMER, 1015 * S, BREAKER_HALF_OPEN, BREAKER_ACTION_START, NEVER),
                EV(FORCE_OPEN, 1016 * S, BREAKER_OPEN, BREAKER_ACTION_STOP, NEVER),
                EV(RESET, 1017 * S, BREAKER_CLOSED, BREAKER_ACTION_START, NEVER),
                /* Reset while closed: start it (a no-op for systemd if running). */
                EV(RESET, 1018 * S, BREAKER_CLOSED, BREAKER_ACTION_START, NEVER),
                /* ACTIVE while closed: nothing. */
                EV(ACTIVE, 1019 * S, BREAKER_CLOSED, BREAKER_ACTION_NONE, NEVER),
        };
        Breaker b;

        run("manual", steps, ELEMENTSOF(steps), &b);
        assert_int_equal(b.trips_total, 2);     /* forced opens are not trips */
        assert_int_equal(b.consecutive_trips, 0);
        assert_false(b.forced);
}

static void test_trips_reset_period(void **state) {
        /* A failure while closed restarts the clean period; only ten clean minutes forget the trips. */
        static const Step steps[] = {
                { BREAKER_EVENT_FAILURE, 0, FAILURE_START_LIMIT_HIT, false, {}, RMAX,
                  BREAKER_OPEN, BREAKER_ACTION_STOP, 10 * S, true },
                EV(TIMER, 10 * S, BREAKER_HALF_OPEN, BREAKER_ACTION_START, NEVER),
                EV(ACTIVE, 10 * S, BREAKER_HALF_OPEN, BREAKER_ACTION_NONE, 40 * S),
                EV(TIMER, 40 * S, BREAKER_CLOSED, BREAKER_ACTION_NONE, 640 * S),
                FAIL(600 * S, 1, BREAKER_CLOSED, BREAKER_ACTION_NONE, 1200 * S),
                EV(TIMER, 640 * S, BREAKER_CLOSED, BREAKER_ACTION_NONE, 1200 * S), /* stale timer */
                FAIL(610 * S, 2, BREAKER_CLOSED, BREAKER_ACTION_NONE, 1210 * S),
                FAIL(620 * S, 3, BREAKER_OPEN, BREAKER_ACTION_STOP, 640 * S), /* second trip: 20 s */
        };
        Breaker b;

        run("trips-reset", steps, ELEMENTSOF(steps), &b);
        assert_int_equal(b.consecutive_trips, 2);
}

static void test_probe_not_active(void **state) {
        /* A probation timer cannot be due before the probe is active; a stray TIMER waits. */
        static const Step steps[] = {
                EV(FORCE_OPEN, 0, BREAKER_OPEN, BREAKER_ACTION_STOP, NEVER),
                EV(RESET, 1, BREAKER_CLOSED, BREAKER_ACTION_START, NEVER),
                { BREAKER_EVENT_FAILURE, 2, FAILURE_TIMEOUT, true, {}, RMAX,
                  BREAKER_OPEN, BREAKER_ACTION_STOP, 2 + 10 * S, true },
                EV(TIMER, 2 + 10 * S, BREAKER_HALF_OPEN, BREAKER_ACTION_START, NEVER),
                EV(TIMER, 3 + 10 * S, BREAKER_HALF_OPEN, BREAKER_ACTION_NONE, NEVER),
        };

        run("probe-not-active", steps, ELEMENTSOF(steps), NULL);
}

static void test_invalid_event(void **state) {
        Breaker b, copy;
        BreakerOutcome o;
        BreakerEvent ev = { .type = BREAKER_EVENT_FAILURE, .now = 1, .kind = _FAILURE_KIND_INVALID };

        breaker_init(&b, &config, 0);
        copy = b;
        assert_int_equal(breaker_handle(&b, &ev, &o), -EINVAL);
        assert_memory_equal(&b, &copy, sizeof(b));
        assert_int_equal(o.state, BREAKER_CLOSED);
        ev = (BreakerEvent) { .type = _BREAKER_EVENT_TYPE_MAX };
        assert_int_equal(breaker_handle(&b, &ev, &o), -EINVAL);
        ev = (BreakerEvent) { .type = BREAKER_EVENT_FAILURE, .kind = _FAILURE_KIND_MAX };
        assert_int_equal(breaker_handle(&b, &ev, &o), -EINVAL);
        assert_memory_equal(&b, &copy, sizeof(b));
}

static void test_strings(void **state) {
        static const struct {
                const char *result;
                FailureKind kind;
        } results[] = {
                { "exit-code", FAILURE_EXIT_CODE },
                { "signal", FAILURE_SIGNAL },
                { "core-dump", FAILURE_CORE_DUMP },
                { "watchdog", FAILURE_WATCHDOG },
                { "oom-kill", FAILURE_OOM_KILL },
                { "timeout", FAILURE_TIMEOUT },
                { "start-limit-hit", FAILURE_START_LIMIT_HIT },
                { "resources", FAILURE_RESOURCES },
                { "protocol", FAILURE_PROTOCOL },
                { "success", _FAILURE_KIND_INVALID },
                { "exec-condition", _FAILURE_KIND_INVALID },
                { "", _FAILURE_KIND_INVALID },
                { NULL, _FAILURE_KIND_INVALID },
                { "something-new", FAILURE_OTHER },
                { "journal-failing", FAILURE_OTHER },
        };

        for (size_t i = 0; i < ELEMENTSOF(results); i++)
                assert_int_equal(failure_kind_from_unit_result(results[i].result), results[i].kind);

        for (BreakerState s = 0; s < _BREAKER_STATE_MAX; s++)
                assert_int_equal(breaker_state_from_string(breaker_state_to_string(s)), s);
        assert_string_equal(breaker_state_to_string(BREAKER_HALF_OPEN), "half-open");
        assert_int_equal(breaker_state_from_string("Closed"), _BREAKER_STATE_INVALID);
        assert_null(breaker_state_to_string(_BREAKER_STATE_INVALID));
        for (FailureKind k = 0; k < _FAILURE_KIND_MAX; k++)
                assert_int_equal(failure_kind_from_string(failure_kind_to_string(k)), k);
        for (BreakerEventType t = 0; t < _BREAKER_EVENT_TYPE_MAX; t++)
                assert_int_equal(breaker_event_type_from_string(breaker_event_type_to_string(t)), t);
}

static void test_set_config(void **state) {
        Breaker b;
        BreakerConfig c = config;
        BreakerOutcome o;

        breaker_init(&b, &config, 0);
        for (unsigned i = 0; i < 2; i++) {
                BreakerEvent ev = { .type = BREAKER_EVENT_FAILURE, .now = i, .kind = FAILURE_SIGNAL };
                assert_int_equal(breaker_handle(&b, &ev, &o), 0);
        }
        assert_int_equal(breaker_failures_in_window(&b, 2), 2);
        assert_int_equal(breaker_failures_in_window(&b, 60 * S), 1);
        assert_int_equal(breaker_failures_in_window(&b, 61 * S), 0);
        c.threshold = 1;
        breaker_set_config(&b, &c);
        assert_int_equal(b.n_failures, 1);
        assert_int_equal(b.failures[0], 1);
        c.threshold = 0; /* treated as 1: any failure trips */
        breaker_set_config(&b, &c);
        BreakerEvent ev = { .type = BREAKER_EVENT_FAILURE, .now = 5, .kind = FAILURE_SIGNAL };
        assert_int_equal(breaker_handle(&b, &ev, &o), 0);
        assert_int_equal(o.state, BREAKER_OPEN);
}

static sd_id128_t boot_a = { .qwords = { 0xaaaa, 0x1 } }, boot_b = { .qwords = { 0xbbbb, 0x2 } };

static void assert_breaker_equal(const Breaker *a, const Breaker *b) {
        assert_int_equal(a->state, b->state);
        assert_int_equal(a->forced, b->forced);
        assert_int_equal(a->n_failures, b->n_failures);
        assert_memory_equal(a->failures, b->failures, a->n_failures * sizeof(usec_t));
        assert_int_equal(a->consecutive_trips, b->consecutive_trips);
        assert_int_equal(a->deadline, b->deadline);
        assert_int_equal(a->since, b->since);
        assert_int_equal(a->active_since, b->active_since);
        assert_true(sd_id128_equal(a->last_invocation, b->last_invocation));
        assert_int_equal(a->trips_total, b->trips_total);
        assert_int_equal(a->transitions_total, b->transitions_total);
        assert_int_equal(a->failures_total, b->failures_total);
}

static void roundtrip(const Breaker *b) {
        char *line = NULL, *again = NULL;
        Breaker r;

        assert_int_equal(breaker_serialize(b, boot_a, &line), 0);
        log_case("%s\n", line);
        assert_null(strchr(line, '\n'));
        breaker_init(&r, &config, 999);
        assert_int_equal(breaker_deserialize(&r, line, boot_a), 0);
        assert_breaker_equal(b, &r);
        assert_int_equal(breaker_serialize(&r, boot_a, &again), 0);
        assert_string_equal(line, again);
        free(line);
        free(again);
}

static void test_serialize_roundtrip(void **state) {
        static const Step closed_with_failures[] = {
                FAIL(0, 1, BREAKER_CLOSED, BREAKER_ACTION_NONE, NEVER),
                FAIL(5 * S, 2, BREAKER_CLOSED, BREAKER_ACTION_NONE, NEVER),
        };
        static const Step half_open_active[] = {
                EV(FORCE_OPEN, 0, BREAKER_OPEN, BREAKER_ACTION_STOP, NEVER),
                EV(RESET, 1, BREAKER_CLOSED, BREAKER_ACTION_START, NEVER),
                FAIL(2, 9, BREAKER_CLOSED, BREAKER_ACTION_NONE, NEVER),
                { BREAKER_EVENT_FAILURE, 3, FAILURE_START_LIMIT_HIT, false, INV(9), RMAX,
                  BREAKER_OPEN, BREAKER_ACTION_STOP, 3 + 10 * S, false },
                EV(TIMER, 3 + 10 * S, BREAKER_HALF_OPEN, BREAKER_ACTION_START, NEVER),
                EV(ACTIVE, 4 + 10 * S, BREAKER_HALF_OPEN, BREAKER_ACTION_NONE, 4 + 40 * S),
        };
        static const Step forced[] = {
                EV(FORCE_OPEN, 7, BREAKER_OPEN, BREAKER_ACTION_STOP, NEVER),
        };
        Breaker b;

        breaker_init(&b, &config, 0);
        roundtrip(&b);
        run("ser-closed", closed_with_failures, ELEMENTSOF(closed_with_failures), &b);
        roundtrip(&b);
        run("ser-half-open", half_open_active, ELEMENTSOF(half_open_active), &b);
        roundtrip(&b);
        run("ser-forced", forced, ELEMENTSOF(forced), &b);
        roundtrip(&b);

        /* A restored breaker carries on: the probation timer of the half-open one closes it. */
        char *line = NULL;
        Breaker r;
        BreakerOutcome o;
        run("ser-half-open", half_open_active, ELEMENTSOF(half_open_active), &b);
        assert_int_equal(breaker_serialize(&b, boot_a, &line), 0);
        breaker_init(&r, &config, 0);
        assert_int_equal(breaker_deserialize(&r, line, boot_a), 0);
        BreakerEvent ev = { .type = BREAKER_EVENT_TIMER, .now = 4 + 40 * S };
        assert_int_equal(breaker_handle(&r, &ev, &o), 0);
        assert_int_equal(o.state, BREAKER_CLOSED);
        free(line);
}

static void test_serialize_garbage(void **state) {
        static const char * const bad[] = {
                "",
                " ",
                "garbage",
                "v=1",
                "v=2 boot=0000000000000000aaaa000000000000 state=closed",
                "v=1 boot=nothex state=closed forced=0 since=0 deadline=- active=- trips=0 tripped=0 transitions=0 failed=0 inv=00000000000000000000000000000000 window=-",
                "v=1 boot=aaaa0000000000000100000000000000 state=ajar forced=0 since=0 deadline=- active=- trips=0 tripped=0 transitions=0 failed=0 inv=00000000000000000000000000000000 window=-",
                "v=1 boot=aaaa0000000000000100000000000000 state=closed forced=2 since=0 deadline=- active=- trips=0 tripped=0 transitions=0 failed=0 inv=00000000000000000000000000000000 window=-",
                "v=1 boot=aaaa0000000000000100000000000000 state=closed forced=0 since=-1 deadline=- active=- trips=0 tripped=0 transitions=0 failed=0 inv=00000000000000000000000000000000 window=-",
                "v=1 boot=aaaa0000000000000100000000000000 state=closed forced=0 since=0 deadline=18446744073709551615 active=- trips=0 tripped=0 transitions=0 failed=0 inv=00000000000000000000000000000000 window=-",
                "v=1 boot=aaaa0000000000000100000000000000 state=closed forced=0 since=0 deadline=- active=- trips=99999999999 tripped=0 transitions=0 failed=0 inv=00000000000000000000000000000000 window=-",
                "v=1 boot=aaaa0000000000000100000000000000 state=closed forced=0 since=0 deadline=- active=- trips=0 tripped=0 transitions=0 failed=0 inv=00000000000000000000000000000000 window=5,3",
                "v=1 boot=aaaa0000000000000100000000000000 state=closed forced=0 since=0 deadline=- active=- trips=0 tripped=0 transitions=0 failed=0 inv=00000000000000000000000000000000 window=1,,3",
                "v=1 boot=aaaa0000000000000100000000000000 state=closed forced=0 since=0 deadline=- active=- trips=0 tripped=0 transitions=0 failed=0 inv=00000000000000000000000000000000 window=1,",
                "v=1 boot=aaaa0000000000000100000000000000 state=closed forced=0 since=0 deadline=- active=- trips=0 tripped=0 transitions=0 failed=0 inv=00000000000000000000000000000000 window=",
                /* missing key */
                "v=1 boot=aaaa0000000000000100000000000000 state=closed forced=0 since=0 deadline=- active=- trips=0 tripped=0 transitions=0 inv=00000000000000000000000000000000 window=-",
                /* duplicated key */
                "v=1 boot=aaaa0000000000000100000000000000 state=closed state=open forced=0 since=0 deadline=- active=- trips=0 tripped=0 transitions=0 failed=0 inv=00000000000000000000000000000000 window=-",
                /* impossible combinations */
                "v=1 boot=aaaa0000000000000100000000000000 state=closed forced=1 since=0 deadline=- active=- trips=0 tripped=0 transitions=0 failed=0 inv=00000000000000000000000000000000 window=-",
                "v=1 boot=aaaa0000000000000100000000000000 state=open forced=0 since=0 deadline=- active=- trips=0 tripped=0 transitions=0 failed=0 inv=00000000000000000000000000000000 window=1",
                "v=1 boot=aaaa0000000000000100000000000000 state=open forced=0 since=0 deadline=- active=5 trips=0 tripped=0 transitions=0 failed=0 inv=00000000000000000000000000000000 window=-",
                "v=1 boot=aaaa0000000000000100000000000000 =x state=closed",
        };
        Breaker b, copy;
        char *good = NULL;

        breaker_init(&b, &config, 0);
        /* The boot ID as serialized, so that the bad lines above differ only in what they break. */
        assert_int_equal(breaker_serialize(&b, boot_a, &good), 0);
        assert_non_null(strstr(good, "boot=aaaa0000000000000100000000000000 "));

        copy = b;
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                log_case("bad %zu: %s\n", i, bad[i]);
                assert_int_equal(breaker_deserialize(&b, bad[i], boot_a), -EINVAL);
                assert_memory_equal(&b, &copy, sizeof(b));
        }
        assert_int_equal(breaker_deserialize(&b, NULL, boot_a), -EINVAL);

        /* Another boot: the times are meaningless. */
        assert_int_equal(breaker_deserialize(&b, good, boot_b), -ESTALE);
        /* Unknown keys are skipped. */
        char *extended = NULL;
        assert_true(asprintf(&extended, "%s future=thing", good) > 0);
        assert_int_equal(breaker_deserialize(&b, extended, boot_a), 0);
        free(extended);
        free(good);
}

static void test_serialize_mutations(void **state) {
        /* Every truncation and every single-byte change of a valid line: never a crash, and whatever is
         * accepted serializes again. */
        static const Step steps[] = {
                FAIL(0, 1, BREAKER_CLOSED, BREAKER_ACTION_NONE, NEVER),
                FAIL(5 * S, 2, BREAKER_CLOSED, BREAKER_ACTION_NONE, NEVER),
        };
        static const char replacements[] = { ' ', '=', ',', '-', '0', '9', 'x', '\t', '\n' };
        char *line = NULL;
        Breaker b;
        size_t l;
        unsigned accepted = 0, rejected = 0;

        run("mutations", steps, ELEMENTSOF(steps), &b);
        assert_int_equal(breaker_serialize(&b, boot_a, &line), 0);
        l = strlen(line);

        for (size_t i = 0; i < l; i++) {
                char *m = strndup(line, i);
                Breaker r;

                breaker_init(&r, &config, 0);
                if (breaker_deserialize(&r, m, boot_a) == 0)
                        accepted++;
                else
                        rejected++;
                free(m);

                for (size_t k = 0; k < ELEMENTSOF(replacements); k++) {
                        char *x = strdup(line), *again = NULL;
                        int q;

                        x[i] = replacements[k];
                        breaker_init(&r, &config, 0);
                        q = breaker_deserialize(&r, x, boot_a);
                        assert_true(q == 0 || q == -EINVAL || q == -ESTALE);
                        if (q == 0) {
                                assert_int_equal(breaker_serialize(&r, boot_a, &again), 0);
                                free(again);
                                accepted++;
                        } else
                                rejected++;
                        free(x);
                }
        }
        log_case("mutations: %u accepted, %u rejected\n", accepted, rejected);
        assert_true(rejected > accepted);
        free(line);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_window),
                cmocka_unit_test(test_window_edge),
                cmocka_unit_test(test_full_cycle),
                cmocka_unit_test(test_probe_fails),
                cmocka_unit_test(test_jitter),
                cmocka_unit_test(test_immediate_trips),
                cmocka_unit_test(test_dedup),
                cmocka_unit_test(test_manual),
                cmocka_unit_test(test_trips_reset_period),
                cmocka_unit_test(test_probe_not_active),
                cmocka_unit_test(test_invalid_event),
                cmocka_unit_test(test_strings),
                cmocka_unit_test(test_set_config),
                cmocka_unit_test(test_serialize_roundtrip),
                cmocka_unit_test(test_serialize_garbage),
                cmocka_unit_test(test_serialize_mutations),
        };

        cmocka_set_message_output(CM_OUTPUT_TAP);
        return cmocka_run_group_tests(tests, NULL, NULL);
}
