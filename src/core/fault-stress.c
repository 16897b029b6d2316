/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* stress: many kill (or kill and memory) faults in a row on agents picked at random, one more every
 * interval while fewer than max-in-flight run, for the duration. The run is a fault of its own, the
 * parent of the others: it is recovered when all of them recovered. It has no target and no lever;
 * it schedules itself on its timer. */

#include "chaos-fault.h"
#include "log.h"
#include "string-util.h"

typedef struct StressFault {
        Fault meta;
        ChaosKind kinds[_CHAOS_KIND_MAX];
        size_t n_kinds;
        usec_t interval;
        unsigned max_in_flight;
        unsigned n_children, n_children_failed, n_in_flight;
        usec_t last_child_recovered;
        bool ticking;                   /* inside stress_tick(): do not finish (and free) the run */
} StressFault;

#define STRESS(f) ((StressFault *) (f))

static int stress_init(Fault *f, const AgentRuntime *a) {
        StressFault *k = STRESS(f);

        k->kinds[0] = CHAOS_KIND_KILL;
        k->n_kinds = 1;
        k->interval = CHAOS_STRESS_INTERVAL_DEFAULT;
        k->max_in_flight = CHAOS_STRESS_IN_FLIGHT_DEFAULT;
        k->last_child_recovered = USEC_INFINITY;
        return 0;
}

static int stress_configure(Fault *f, const FaultOptions *o) {
        StressFault *k = STRESS(f);

        memcpy(k->kinds, o->kinds, o->n_kinds * sizeof(ChaosKind));
        k->n_kinds = o->n_kinds;
        k->interval = o->interval;
        k->max_in_flight = o->max_in_flight;
        return 0;
}

static void stress_maybe_finish(Fault *f) {
        StressFault *k = STRESS(f);
        usec_t t = now(CLOCK_BOOTTIME);

        if (t < f->end || k->n_in_flight > 0 || k->ticking)
                return;
        f->undone = f->end;
        if (k->n_children == 0) {
                fault_set_detail(f, "no agent was eligible: every candidate was hit within its start limit window");
                f->failed = true;
        } else if (k->n_children_failed > 0) {
                fault_set_detail(f, "%u of %u faults did not recover", k->n_children_failed, k->n_children);
                f->failed = true;
        } else {
                f->recovered = k->last_child_recovered == USEC_INFINITY ? t : k->last_child_recovered;
                fault_set_detail(f, "%u faults, all recovered", k->n_children);
        }
        fault_finish(f);
}

static void stress_child_finished(Fault *f, const Fault *child, bool ok) {
        StressFault *k = STRESS(f);

        if (k->n_in_flight > 0)
                k->n_in_flight--;
        if (!ok)
                k->n_children_failed++;
        else if (k->last_child_recovered == USEC_INFINITY || child->recovered > k->last_child_recovered)
                k->last_child_recovered = child->recovered;
        stress_maybe_finish(f);
}

static void stress_tick(Fault *f) {
        StressFault *k = STRESS(f);
        Chaos *c = f->chaos;
        usec_t t = now(CLOCK_BOOTTIME);

        k->ticking = true;
        while (t < f->end && k->n_in_flight < k->max_in_flight && chaos_faults_in_flight(c) < CHAOS_FAULTS_MAX) {
                ChaosKind kind = k->kinds[k->n_children % k->n_kinds];
                AgentRuntime *a = chaos_pick_agent(c, kind, t);
                _cleanup_(fault_freep) Fault *child = NULL;
                Fault *ch;
                int r;

                if (!a)
                        break; /* nothing eligible now; the next tick tries again */
                r = fault_new(c, kind, a->name, &child);
                if (r < 0)
                        break;
                child->parent = f->id;
                child->duration = CHAOS_DURATION_DEFAULT;
                child->timeout = f->timeout;
                r = chaos_add_fault(c, child);
                if (r < 0)
                        break;
                ch = TAKE_PTR(child);
                k->n_children++;
                k->n_in_flight++;
                r = fault_start(ch);
                if (r < 0) {
                        fault_set_detail(ch, "failed to inject: %s", strerror(-r));
                        ch->failed = true;
                        ch->phase = FAULT_PHASE_ACTIVE;
                        fault_fail(ch);
                }
        }
        k->ticking = false;
}

/* The engine has stamped the run injected and detected: the first fault right away, the next ones on
 * the timer. */
static int stress_apply(Fault *f) {
        stress_tick(f);
        fault_rearm_timer(f);
        return 0;
}

static void stress_timer(Fault *f, usec_t t) {
        if (t >= f->end + f->timeout) {
                fault_set_detail(f, "its faults did not finish in time");
                f->failed = true;
                fault_finish(f);
                return;
        }
        stress_tick(f);
        fault_rearm_timer(f);
        stress_maybe_finish(f);
}

static usec_t stress_next_wakeup(const Fault *f, usec_t t) {
        if (t < f->end)
                return MIN(t + STRESS(f)->interval, f->end);
        return f->end == USEC_INFINITY ? USEC_INFINITY : f->end + f->timeout;
}

const FaultVTable stress_vtable = {
        .object_size = sizeof(StressFault),
        .default_duration = CHAOS_STRESS_DURATION_DEFAULT,
        .no_target = true,
        .init = stress_init,
        .configure = stress_configure,
        .apply = stress_apply,
        .timer = stress_timer,
        .next_wakeup = stress_next_wakeup,
        .child_finished = stress_child_finished,
};
