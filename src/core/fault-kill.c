/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* kill: KillUnit(unit, "main", signal). Nothing to hold or undo; detected when the unit leaves active
 * (or NRestarts moves), recovered when it is active and healthy again. */

#include <signal.h>

#include "chaos-fault.h"
#include "manager.h"

typedef struct KillFault {
        Fault meta;
        int signal;
} KillFault;

static int kill_init(Fault *f, const AgentRuntime *a) {
        ((KillFault *) f)->signal = SIGKILL;
        return 0;
}

static int kill_configure(Fault *f, const FaultOptions *o) {
        ((KillFault *) f)->signal = o->signal;
        return 0;
}

/* Leaves only: a fault on an agent others require is a cascade, which has its own kind. */
static bool kill_eligible(Chaos *c, const AgentRuntime *a, usec_t t) {
        return !chaos_agent_has_dependents(a->manager, a) && !chaos_hit_recent(c, a, t);
}

static int kill_apply(Fault *f) {
        return fault_call_manager(f, "KillUnit", "ssi", f->unit, "main", (int32_t) ((KillFault *) f)->signal);
}

static FaultVerdict kill_evaluate(const Fault *f, const FaultObservation *o) {
        return FAULT_VERDICT(fault_target_back(f, o) ? FAULT_VERDICT_RECOVERED : FAULT_VERDICT_PENDING);
}

const FaultVTable kill_vtable = {
        .object_size = sizeof(KillFault),
        .default_duration = CHAOS_DURATION_DEFAULT,
        .instant = true,
        .restarts_target = true,
        .init = kill_init,
        .configure = kill_configure,
        .eligible = kill_eligible,
        .apply = kill_apply,
        .evaluate = kill_evaluate,
};
