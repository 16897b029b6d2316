/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* cascade: KillUnit of an essential agent that others require. Its dependents (transitively) that run
 * are watched: recovered when the agent and every dependent that went down are active and healthy
 * again; failed if a dependent came back before an agent it requires. */

#include <signal.h>

#include "chaos-fault.h"
#include "manager.h"
#include "strv.h"

typedef struct CascadeFault {
        Fault meta;
        int signal;
} CascadeFault;

static int cascade_init(Fault *f, const AgentRuntime *a) {
        ((CascadeFault *) f)->signal = SIGKILL;
        return 0;
}

static int cascade_configure(Fault *f, const FaultOptions *o) {
        ((CascadeFault *) f)->signal = o->signal;
        return 0;
}

static bool cascade_eligible(Chaos *c, const AgentRuntime *a, usec_t t) {
        _cleanup_strv_free_ char **deps = NULL;
        Manager *m = a->manager;

        if (!agent_runtime_is_essential(a) || !chaos_agent_has_dependents(m, a) || chaos_hit_recent(c, a, t))
                return false;
        if (chaos_agent_dependents(m, a->name, &deps) < 0)
                return false;
        STRV_FOREACH(d, deps) {
                AgentRuntime *b = manager_find_agent(m, *d);
                if (b && (chaos_hit_recent(c, b, t) || chaos_agent_is_touched(c, b->name)))
                        return false;
        }
        return true;
}

static int cascade_check(Chaos *c, const AgentRuntime *a, sd_bus_error *error) {
        if (!chaos_agent_has_dependents(a->manager, a))
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "No agent requires '%s': there is nothing to cascade to.", a->name);
        return 0;
}

static int cascade_watch(Fault *f) {
        return fault_watch_dependents(f, true);
}

static int cascade_apply(Fault *f) {
        return fault_call_manager(f, "KillUnit", "ssi", f->unit, "main", (int32_t) ((CascadeFault *) f)->signal);
}

static FaultVerdict cascade_evaluate(const Fault *f, const FaultObservation *o) {
        size_t down = 0;

        if (!fault_target_back(f, o))
                return FAULT_VERDICT(FAULT_VERDICT_PENDING);
        for (size_t i = 0; i < f->n_watches; i++)
                if (f->watches[i].down != USEC_INFINITY &&
                    (f->watches[i].up == USEC_INFINITY || !o->watches[i].healthy))
                        return FAULT_VERDICT(FAULT_VERDICT_PENDING);

        /* Everything is back: in order? A dependent must not be back before what it requires. */
        for (size_t i = 0; i < f->n_watches; i++) {
                const FaultWatch *x = f->watches + i;

                if (x->down == USEC_INFINITY)
                        continue;
                down++;
                STRV_FOREACH(req, x->requires) {
                        usec_t req_up = USEC_INFINITY;

                        if (streq(*req, f->agent))
                                req_up = f->target_up;
                        else
                                for (size_t j = 0; j < f->n_watches; j++)
                                        if (streq(f->watches[j].name, *req) && f->watches[j].down != USEC_INFINITY)
                                                req_up = f->watches[j].up;
                        if (req_up != USEC_INFINITY && x->up < req_up)
                                return fault_verdict(FAULT_VERDICT_FAILED,
                                                     "out of order: %s was back before %s, which it requires",
                                                     x->name, *req);
                }
        }
        return fault_verdict(FAULT_VERDICT_RECOVERED, "%zu of %zu dependents went down and came back in order", down,
                             f->n_watches);
}

const FaultVTable cascade_vtable = {
        .object_size = sizeof(CascadeFault),
        .default_duration = CHAOS_DURATION_DEFAULT,
        .instant = true,
        .restarts_target = true,
        .eligible_hint = ", essential with dependents",
        .init = cascade_init,
        .configure = cascade_configure,
        .eligible = cascade_eligible,
        .check = cascade_check,
        .watch = cascade_watch,
        .apply = cascade_apply,
        .evaluate = cascade_evaluate,
};
