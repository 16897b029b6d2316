/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Supervision of the active profile's agents: what systemd's unit signals and the journal say, fed to
 * each agent's circuit breaker and health inputs (the pure breaker.h and health.h), the breaker's
 * outcome carried out (its timer, its record in the runtime directory, the stop or the probe through
 * agent-control.h), and the profile's state and health derived from the agents: the one algorithm for
 * both (docs/resilience.md).
 *
 * How the manager uses it:
 *
 *     supervisor_new(m, &m->supervisor);                 after the bus is attached
 *     supervisor_agent_added(s, a) / _leaving(s, a)     as agents join and leave the active profile
 *     supervisor_start(s);                               once, after adoption: follows the journal
 *     supervisor_unit_changed(s, a, old_active, old_sub) after the agent's Unit properties were applied
 *     supervisor_start_failed(s, a)                      StartTransientUnit was refused
 *     supervisor_reset_breaker() / supervisor_open_breaker()   D-Bus ResetBreaker / OpenBreaker
 *     supervisor_profile_state()                         Manager State and HealthScore */

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-id128.h>

#include "agent-runtime.h"
#include "breaker.h"
#include "health.h"
#include "histogram.h"
#include "journal-classify.h"
#include "macro.h"
#include "time-util.h"

typedef struct Manager Manager;

/* Runtime-directory names: one breaker line per agent, one cursor. */
#define SUPERVISOR_BREAKER_DIR "breaker"
#define SUPERVISOR_CURSOR_FILE "journal-cursor"
/* How long after a journal entry the cursor is written at the latest (entries come in bursts). */
#define SUPERVISOR_CURSOR_SAVE_USEC (1 * USEC_PER_SEC)

typedef struct Supervisor Supervisor;

/* A change of a service's state that matters to the breaker, the health and the metrics. */
typedef enum UnitTransition {
        UNIT_TRANSITION_NONE,
        UNIT_TRANSITION_STARTING,       /* inactive/failed -> activating (a start, e.g. a socket trigger) */
        UNIT_TRANSITION_ACTIVE,         /* -> active/reloading */
        UNIT_TRANSITION_RESTART,        /* -> auto-restart with a failing Result: systemd restarts it */
        UNIT_TRANSITION_FAILED,         /* -> failed: systemd will not restart it */
        UNIT_TRANSITION_STOPPED,        /* -> inactive from a running state without failure */
        _UNIT_TRANSITION_MAX,
        _UNIT_TRANSITION_INVALID = -EINVAL,
} UnitTransition;

const char *unit_transition_to_string(UnitTransition t) _const_;

/* Pure: what moving from (old_active, old_sub) to (new_active, new_sub) with the service's "result" means.
 * old_active NULL (first observation) gives NONE: nothing is inferred from the state we found. */
UnitTransition unit_transition_classify(const char *old_active, const char *old_sub, const char *new_active,
                                        const char *new_sub, const char *result);

/* Pure: whether systemd restarts a service with Restart="policy" that ended with "result" (systemd's
 * service_shall_restart()). start-limit-hit never restarts. systemd 252 passes through ActiveState=failed
 * on its way to auto-restart and may announce it, so "failed" alone does not mean "for good". */
bool restart_policy_restarts(RestartPolicy policy, const char *result) _pure_;

/* Pure: the breaker event a transition feeds (FAILURE, ACTIVE), or false if it feeds none. A FAILED
 * transition is final unless "restart_pending" (restart_policy_restarts()). "now" and "random" are
 * copied into the event. */
bool unit_transition_to_breaker_event(UnitTransition t, const char *result, bool restart_pending,
                                      sd_id128_t invocation, usec_t now, uint64_t random, BreakerEvent *ret);

/* Pure: the breaker failure a journal event reports, or false if it reports none. */
bool journal_event_to_breaker_event(const JournalEvent *ev, usec_t now, uint64_t random, BreakerEvent *ret);

/* Pure: the Manager State while a profile is deployed. Until "settled", agents still pending (and not
 * held by an open breaker) make it "starting"; then the breakers decide (health_profile_classify()):
 * the unit state does not, so that a 100 ms auto-restart does not make the profile flap. */
ProfileState supervisor_classify_profile(const HealthAgentSummary *agents, const bool *pending, size_t n,
                                         bool settled);

int supervisor_new(Manager *m, Supervisor **ret);
/* Saves the journal cursor, drops timers; the persisted breakers stay. */
Supervisor *supervisor_free(Supervisor *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(Supervisor *, supervisor_free);

/* A new agent of the active profile: its breaker is restored from the runtime directory if a previous
 * daemon left one for this boot, and its timer armed. */
void supervisor_agent_added(Supervisor *s, AgentRuntime *a);
/* An agent leaves the profile: its timer stops, its record goes. */
void supervisor_agent_leaving(Supervisor *s, AgentRuntime *a);
/* Room for the health walk over "n" agents: taken before a switch commits, so that nothing after it
 * allocates. */
int supervisor_reserve(Supervisor *s, size_t n);
/* The set of agents changed (a switch, an adoption): journal matches, the start clock. "timed": a start
 * requested by a switch, timed until the profile settles (not an adoption). */
void supervisor_agents_changed(Supervisor *s, bool timed);
/* Starts following the journal, from the saved cursor if there is one. */
int supervisor_start(Supervisor *s);

/* After the Unit interface's properties of "a"'s service were applied (old_* as they were before):
 * classifies the transition and feeds the breaker, the recovery and lazy-activation clocks. */
void supervisor_unit_changed(Supervisor *s, AgentRuntime *a, const char *old_active, const char *old_sub);
/* systemd refused to create or start the agent's unit: a final failure for the breaker. */
void supervisor_start_failed(Supervisor *s, AgentRuntime *a);
/* The service is failed and systemd confirmed that no restart is coming (agent_confirm_failed()). */
void supervisor_failed_for_good(Supervisor *s, AgentRuntime *a);
/* Whether a required agent is down (or PID 1 reported a dependency failure): the agent waits. */
bool supervisor_agent_is_waiting(Supervisor *s, const AgentRuntime *a);

/* The operator's controls (after polkit): close now and start / open and hold. */
void supervisor_reset_breaker(Supervisor *s, AgentRuntime *a);
void supervisor_open_breaker(Supervisor *s, AgentRuntime *a);

/* Recomputes every agent's health (marking those that moved) and returns the profile's state, and its
 * health score in "ret_health". */
ProfileState supervisor_profile_state(Supervisor *s, bool settled, double *ret_health);

/* For metrics. */
const Histogram *supervisor_recovery_histogram(Supervisor *s);
/* How long the last start of profile "name" took (request -> settled), USEC_INFINITY if unknown. */
usec_t supervisor_last_start_duration(Supervisor *s, const char *name);
