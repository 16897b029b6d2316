/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Every fault kind's ->evaluate against sequences of agent states, as the engine drives it: each
 * observation goes through fault_track(), then the kind's verdict; a "release" verdict and the end of
 * the hold are answered with the undo, as the engine does once systemd replied. No bus, no manager. */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "chaos-fault.h"

#define S (USEC_PER_SEC)

/* Agent states as the engine snapshots them. */
#define UP { .present = true, .ok = true, .healthy = true }
#define DOWN { .present = true }
#define OOM { .present = true, .result = "oom-kill" }
#define SICK { .present = true, .ok = true }  /* active, but health below 0.75 or breaker not closed */
#define RESTARTED(n) { .present = true, .ok = true, .healthy = true, .n_restarts = (n) }

typedef struct Step {
        FaultAgentState target;
        FaultAgentState watches[3];
        bool profile_failed;            /* the profile state at this observation */
        bool undo;                      /* the lever is released before this observation */
        FaultVerdictKind expect;
        const char *detail;             /* a substring of the verdict's detail */
} Step;

typedef struct Case {
        const char *name;
        ChaosKind kind;
        struct {
                const char *name;
                const char *requires[3];
        } watches[3];
        Step steps[8];
        size_t n_steps;
} Case;

#define STEPS(...) .steps = { __VA_ARGS__ }, .n_steps = ELEMENTSOF(((Step[]) { __VA_ARGS__ }))

static const Case cases[] = {
        { "kill: down, then back", CHAOS_KIND_KILL,
          STEPS({ UP, .expect = FAULT_VERDICT_PENDING },
                { DOWN, .expect = FAULT_VERDICT_PENDING },
                { UP, .expect = FAULT_VERDICT_RECOVERED }) },
        { "kill: restarted between two events", CHAOS_KIND_KILL,
          STEPS({ RESTARTED(1), .expect = FAULT_VERDICT_RECOVERED }) },
        { "kill: back, but not healthy yet", CHAOS_KIND_KILL,
          STEPS({ DOWN, .expect = FAULT_VERDICT_PENDING },
                { SICK, .expect = FAULT_VERDICT_PENDING },
                { UP, .expect = FAULT_VERDICT_RECOVERED }) },
        { "kill: back while the profile is failed", CHAOS_KIND_KILL,
          STEPS({ DOWN, .expect = FAULT_VERDICT_PENDING },
                { UP, .profile_failed = true, .expect = FAULT_VERDICT_PENDING },
                { UP, .expect = FAULT_VERDICT_RECOVERED }) },
        { "memory: the kill releases the squeeze at once", CHAOS_KIND_MEMORY,
          STEPS({ UP, .expect = FAULT_VERDICT_PENDING },
                { OOM, .expect = FAULT_VERDICT_RELEASE },
                { DOWN, .undo = true, .expect = FAULT_VERDICT_PENDING },
                { UP, .expect = FAULT_VERDICT_RECOVERED, .detail = "result oom-kill" }) },
        { "memory: no kill while squeezed", CHAOS_KIND_MEMORY,
          STEPS({ UP, .expect = FAULT_VERDICT_PENDING },
                { SICK, .expect = FAULT_VERDICT_PENDING }) },
        { "partition: held until undone", CHAOS_KIND_PARTITION,
          STEPS({ UP, .expect = FAULT_VERDICT_PENDING },
                { UP, .expect = FAULT_VERDICT_PENDING },
                { UP, .undo = true, .expect = FAULT_VERDICT_RECOVERED }) },
        { "partition: health dropped while cut off", CHAOS_KIND_PARTITION,
          STEPS({ SICK, .expect = FAULT_VERDICT_PENDING },
                { SICK, .undo = true, .expect = FAULT_VERDICT_PENDING },
                { UP, .expect = FAULT_VERDICT_RECOVERED }) },
        { "outage: dependents degrade", CHAOS_KIND_OUTAGE, .watches = { { "d" } },
          STEPS({ DOWN, { SICK }, .expect = FAULT_VERDICT_PENDING },
                { DOWN, { SICK }, .undo = true, .expect = FAULT_VERDICT_PENDING },
                { UP, { UP }, .expect = FAULT_VERDICT_RECOVERED }) },
        { "outage: a dependent went down with it", CHAOS_KIND_OUTAGE, .watches = { { "d" }, { "e" } },
          STEPS({ DOWN, { UP, UP }, .expect = FAULT_VERDICT_PENDING },
                { DOWN, { UP, DOWN }, .expect = FAULT_VERDICT_PENDING },
                { UP, { UP, UP }, .undo = true, .expect = FAULT_VERDICT_FAILED, .detail = "dependent e" }) },
        { "outage: the profile failed", CHAOS_KIND_OUTAGE, .watches = { { "d" } },
          STEPS({ DOWN, { UP }, .expect = FAULT_VERDICT_PENDING },
                { DOWN, { UP }, .profile_failed = true, .expect = FAULT_VERDICT_PENDING },
                { UP, { UP }, .undo = true, .expect = FAULT_VERDICT_FAILED, .detail = "profile failed" }) },
        { "outage: the profile failed at the very event that showed the stop", CHAOS_KIND_OUTAGE,
          /* The engine looks at the profile before it looks for the detection: counted from the next one. */
          STEPS({ DOWN, .profile_failed = true, .expect = FAULT_VERDICT_PENDING },
                { UP, .undo = true, .expect = FAULT_VERDICT_RECOVERED }) },
        { "cascade: down and back in order", CHAOS_KIND_CASCADE,
          .watches = { { "b", { "a" } }, { "c", { "b" } }, { "x", { "a" } } },
          STEPS({ DOWN, { DOWN, DOWN, UP }, .expect = FAULT_VERDICT_PENDING },
                { UP, { DOWN, DOWN, UP }, .expect = FAULT_VERDICT_PENDING },
                { UP, { UP, DOWN, UP }, .expect = FAULT_VERDICT_PENDING },
                { UP, { UP, SICK, UP }, .expect = FAULT_VERDICT_PENDING },
                { UP, { UP, UP, UP }, .expect = FAULT_VERDICT_RECOVERED, .detail = "2 of 3 dependents" }) },
        { "cascade: a dependent back before what it requires", CHAOS_KIND_CASCADE,
          .watches = { { "b", { "a" } }, { "c", { "b" } } },
          STEPS({ DOWN, { DOWN, DOWN }, .expect = FAULT_VERDICT_PENDING },
                { UP, { DOWN, UP }, .expect = FAULT_VERDICT_PENDING },
                { UP, { UP, UP }, .expect = FAULT_VERDICT_FAILED, .detail = "c was back before b" }) },
        { "cascade: a dependent restarted by systemd between two events", CHAOS_KIND_CASCADE,
          .watches = { { "b", { "a" } } },
          STEPS({ DOWN, { UP }, .expect = FAULT_VERDICT_PENDING },
                { UP, { RESTARTED(1) }, .expect = FAULT_VERDICT_RECOVERED, .detail = "1 of 1" }) },
};

/* The fault as the engine has it once its lever's reply came: active, detected already if the lever is
 * the event, held if the kind holds. */
static Fault *fault_injected_for_test(const Case *c) {
        const FaultVTable *vt = fault_vtable(c->kind);
        Fault *f = fault_alloc(c->kind);

        assert_non_null(f);
        assert_non_null(f->agent = strdup("a"));
        if (vt->init)
                assert_int_equal(vt->init(f, NULL), 0);
        f->phase = FAULT_PHASE_ACTIVE;
        f->injected = 1 * S;
        f->lever_in_place = !vt->instant;
        f->undone = vt->instant ? f->injected : USEC_INFINITY;
        if (vt->lever_is_detection)
                f->detected = f->injected;
        for (size_t i = 0; i < ELEMENTSOF(c->watches) && c->watches[i].name; i++)
                assert_int_equal(fault_add_watch(f, c->watches[i].name, 0, c->kind == CHAOS_KIND_CASCADE,
                                                 (char **) c->watches[i].requires), 0);
        return f;
}

static void test_evaluate(void **state) {
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                const Case *c = cases + i;
                const FaultVTable *vt = fault_vtable(c->kind);
                _cleanup_(fault_freep) Fault *f = fault_injected_for_test(c);

                fprintf(stderr, "case %zu: %s\n", i, c->name);
                for (size_t j = 0; j < c->n_steps; j++) {
                        const Step *s = c->steps + j;
                        FaultObservation o = {
                                .now = (2 + j) * S,
                                .state = s->profile_failed ? PROFILE_STATE_FAILED : PROFILE_STATE_DEGRADED,
                                .target = s->target,
                                .watches = s->watches,
                        };
                        FaultVerdict v;

                        if (s->undo) {
                                f->lever_in_place = false;
                                f->undone = o.now;
                                f->phase = FAULT_PHASE_RECOVERING;
                        }
                        fault_track(f, &o);
                        v = vt->evaluate(f, &o);
                        fprintf(stderr, "  step %zu: verdict %d (%s)\n", j, v.kind, v.detail);
                        assert_int_equal(v.kind, s->expect);
                        if (s->detail)
                                assert_non_null(strstr(v.detail, s->detail));
                        if (v.kind == FAULT_VERDICT_RELEASE)
                                assert_true(f->lever_in_place && f->detected == o.now);
                }
        }
}

/* What fault_track() records: the first detection, the Result= then, the target back only after. */
static void test_track(void **state) {
        _cleanup_(fault_freep) Fault *f = fault_alloc(CHAOS_KIND_MEMORY);
        FaultObservation o = { .now = 5 * S, .state = PROFILE_STATE_RUNNING, .target = RESTARTED(2) };

        assert_non_null(f);
        f->restarts_before = 2;
        fault_track(f, &o);
        assert_true(f->detected == USEC_INFINITY && f->target_up == USEC_INFINITY);

        o = (FaultObservation) { .now = 6 * S, .state = PROFILE_STATE_FAILED, .target = OOM };
        fault_track(f, &o);
        assert_true(f->detected == 6 * S && f->target_up == USEC_INFINITY && !f->profile_failed);
        assert_string_equal(f->result, "oom-kill");

        o = (FaultObservation) { .now = 7 * S, .state = PROFILE_STATE_FAILED, .target = DOWN };
        fault_track(f, &o);
        assert_true(f->detected == 6 * S && f->profile_failed);
        assert_string_equal(f->result, "oom-kill");

        o = (FaultObservation) { .now = 8 * S, .state = PROFILE_STATE_RUNNING, .target = RESTARTED(3) };
        fault_track(f, &o);
        assert_true(f->target_up == 8 * S);
}

/* A stress run is its own scheduler: one tick per interval until its end, then the deadline. */
static void test_stress_wakeups(void **state) {
        const FaultVTable *vt = fault_vtable(CHAOS_KIND_STRESS);
        _cleanup_(fault_freep) Fault *f = fault_alloc(CHAOS_KIND_STRESS);

        assert_non_null(f);
        assert_null(vt->evaluate);
        assert_true(vt->no_target);
        assert_int_equal(vt->init(f, NULL), 0);
        f->end = 10 * S;
        f->timeout = 2 * S;
        assert_true(vt->next_wakeup(f, 0) == CHAOS_STRESS_INTERVAL_DEFAULT);
        assert_true(vt->next_wakeup(f, 9 * S + S / 2) == 10 * S);
        assert_true(vt->next_wakeup(f, 10 * S) == 12 * S);
}

/* One row per kind, each of its own size, and the engine's invariants on the flags. */
static void test_vtables(void **state) {
        for (ChaosKind k = 0; k < _CHAOS_KIND_MAX; k++) {
                const FaultVTable *vt = fault_vtable(k);

                fprintf(stderr, "kind %s\n", chaos_kind_to_string(k));
                assert_non_null(vt);
                assert_true(vt->object_size >= sizeof(Fault));
                assert_non_null(vt->apply);
                assert_true(vt->default_duration > 0);
                /* Random picks need a rule; a kind that holds something must be able to give it back. */
                assert_true(vt->no_target || vt->eligible);
                assert_true(vt->no_target || vt->instant || vt->undo || vt->undo_message);
                /* Whatever changes a unit is recorded before the lever is pulled. */
                assert_true(!vt->undo_message || (vt->record && vt->load));
                assert_true(vt->no_target == !vt->evaluate);
        }
        assert_null(fault_vtable(_CHAOS_KIND_MAX));
        assert_null(fault_vtable(_CHAOS_KIND_INVALID));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_evaluate),
                cmocka_unit_test(test_track),
                cmocka_unit_test(test_stress_wakeups),
                cmocka_unit_test(test_vtables),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
