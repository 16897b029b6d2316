/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* outage: StopUnit of a dependency (the cloud LLM gateway unless told otherwise) for the duration, then
 * the agent started again as the daemon starts agents. The agents that require it are watched: they
 * must degrade, not fail. */

#include "agent-control.h"
#include "chaos-fault.h"
#include "manager.h"

typedef struct OutageFault {
        Fault meta;
} OutageFault;

static bool outage_eligible(Chaos *c, const AgentRuntime *a, usec_t t) {
        return !agent_runtime_is_essential(a) && !chaos_agent_has_dependents(a->manager, a);
}

static int outage_watch(Fault *f) {
        return fault_watch_dependents(f, false);
}

/* A raw StopUnit rather than agent_stop(): the InjectFault call is answered, or fails, with systemd's
 * reply to it, and the agent's socket (a lazy one) and runtime limits stay as they are. */
static int outage_apply(Fault *f) {
        return fault_call_manager(f, "StopUnit", "ss", f->unit, "replace");
}

static FaultVerdict outage_evaluate(const Fault *f, const FaultObservation *o) {
        if (!fault_target_back(f, o))
                return FAULT_VERDICT(FAULT_VERDICT_PENDING);
        for (size_t i = 0; i < f->n_watches; i++)
                if (f->watches[i].down != USEC_INFINITY)
                        return fault_verdict(FAULT_VERDICT_FAILED, "dependent %s went down with it",
                                             f->watches[i].name);
        if (f->profile_failed)
                return fault_verdict(FAULT_VERDICT_FAILED, "%s", "the profile failed during the outage");
        return FAULT_VERDICT(FAULT_VERDICT_RECOVERED);
}

/* Started again as the daemon starts agents; not when the profile went away meanwhile. */
static int outage_undo(Fault *f) {
        AgentRuntime *a = manager_find_agent(fault_manager(f), f->agent);
        int r;

        if (f->aborted || !a)
                return 0;
        r = agent_start(a);
        if (r < 0) {
                fault_set_detail(f, "failed to start %s again: %s", f->agent, strerror(-r));
                f->failed = true;
        }
        return 0;
}

/* The record only says the unit was stopped: adoption starts what the active profile misses. */
static int outage_record(const Fault *f, FILE *o) {
        fputs("stopped=1\n", o);
        return 0;
}

const FaultVTable outage_vtable = {
        .object_size = sizeof(OutageFault),
        .default_duration = CHAOS_DURATION_DEFAULT,
        .takes_lazy = true,
        .default_agent = CHAOS_OUTAGE_DEFAULT_AGENT,
        .eligible = outage_eligible,
        .watch = outage_watch,
        .apply = outage_apply,
        .evaluate = outage_evaluate,
        .undo = outage_undo,
        .record = outage_record,
};
