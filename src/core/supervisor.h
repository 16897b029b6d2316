/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Supervision of the active profile's agents: the glue between systemd (unit signals), the journal and
 * the pure resilience modules. Per agent it keeps a circuit breaker, the health inputs and one
 * CLOCK_BOOTTIME timer; it carries out the breaker's actions (StopUnit, ResetFailedUnit + a new start),
 * announces transitions (Agent PropertiesChanged, Manager BreakerChanged, a journal entry with its own
 * MESSAGE_ID), persists breakers and the journal cursor in the runtime directory, and derives the
 * agents' and the profile's health and the profile's state (docs/resilience.md).
 *
 * How the manager uses it:
 *
 *     supervisor_new(m, &callbacks, &m->supervisor);      after the bus is attached
 *     supervisor_sync_agents(m->supervisor);             whenever m->agents changed (adopt, switch)
 *     supervisor_start(m->supervisor);                   once, after adoption: follows the journal
 *     supervisor_may_start(m->supervisor, a)             false while the agent's breaker holds it open
 *     supervisor_start_failed(m->supervisor, a)          StartTransientUnit was refused
 *     supervisor_unit_properties(m->supervisor, a, ...)  the service's properties, as systemd sent them
 *     supervisor_reset_breaker() / supervisor_open_breaker()   D-Bus ResetBreaker / OpenBreaker
 *     supervisor_profile_state(), supervisor_health_score()    Manager State / HealthScore
 *
 * Unit state comes from the manager, which subscribes to each unit (one match per unit, not two) and
 * reads every PropertiesChanged and GetAll reply once: it hands what it read of an agent's service on
 * with supervisor_unit_properties(). */

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>
#include <systemd/sd-id128.h>

#include "agent-runtime.h"
#include "breaker.h"
#include "health.h"
#include "histogram.h"
#include "journal-classify.h"
#include "macro.h"
#include "time-util.h"

/* Runtime-directory names: one breaker line per agent, one cursor. */
#define SUPERVISOR_BREAKER_DIR "breaker"
#define SUPERVISOR_CURSOR_FILE "journal-cursor"
/* How long after a journal entry the cursor is written at the latest (entries come in bursts). */
#define SUPERVISOR_CURSOR_SAVE_USEC (1 * USEC_PER_SEC)

typedef struct Supervisor Supervisor;

typedef struct SupervisorCallbacks {
        /* Create and start the agent's transient unit(s) (StartTransientUnit): a half-open probe or an
         * operator reset, after ResetFailedUnit. A negative return counts as a failed start. */
        int (*start_agent)(Manager *m, AgentRuntime *a);
        /* A breaker or a health score moved: recompute and announce Manager State / HealthScore. */
        void (*state_changed)(Manager *m);
} SupervisorCallbacks;

/* What systemd last said about an agent's service (PropertiesChanged and GetAll, via the manager). */
typedef struct UnitView {
        char *active_state;             /* NULL until first heard */
        char *sub_state;
        char *result;
        uint32_t n_restarts;
        sd_id128_t invocation;
        usec_t state_change;            /* StateChangeTimestamp (CLOCK_REALTIME), 0 if unknown */
} UnitView;

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

typedef struct SupervisedAgent {
        Supervisor *supervisor;
        char *name;
        char *unit;
        char *socket_unit;              /* lazy agents: stopped with the service while open */
        char *object_path;

        Breaker breaker;
        UnitView view;
        sd_event_source *timer;         /* the breaker's single timer, CLOCK_BOOTTIME */

        HealthRate errors;
        HealthReport report;
        usec_t watchdog_at;             /* last watchdog timeout (BOOTTIME), USEC_INFINITY: none */
        bool dependency_failed;         /* PID 1: the start job failed for a required unit */
        double health;

        usec_t failed_at;               /* recovery clock (BOOTTIME): failure seen, not active again yet */
        usec_t starting_at;             /* lazy activation clock: left inactive, not active yet */

        /* For metrics, over the daemon's lifetime. */
        uint64_t restarts_total;
        uint64_t journal_error_lines;
        uint64_t lazy_activations;
        uint64_t lazy_activation_failures;
        Histogram lazy_latency;
} SupervisedAgent;

int supervisor_new(Manager *m, const SupervisorCallbacks *callbacks, Supervisor **ret);
/* Saves the journal cursor, drops subscriptions and timers; the persisted breakers stay. */
Supervisor *supervisor_free(Supervisor *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(Supervisor *, supervisor_free);

/* Brings the supervised set in line with m->agents: new agents get a breaker (restored from the
 * runtime directory if a previous daemon left one for this boot), kept agents take the profile's
 * current breaker settings, agents that left are forgotten (their record removed). Also updates the
 * journal matches. */
int supervisor_sync_agents(Supervisor *s);
/* Starts following the journal, from the saved cursor if there is one. */
int supervisor_start(Supervisor *s);

SupervisedAgent *supervisor_find(Supervisor *s, const char *name);

/* Whether the manager may start "a" now: not while its breaker is open. */
bool supervisor_may_start(Supervisor *s, const AgentRuntime *a);
/* systemd refused to create or start the agent's unit: a final failure for the breaker. */
void supervisor_start_failed(Supervisor *s, AgentRuntime *a);
/* Properties of "a"'s service unit from systemd: "iface" is org.freedesktop.systemd1.Unit or .Service,
 * "msg" is positioned at the a{sv} (a PropertiesChanged after its interface name, or a GetAll reply).
 * Send the Service part before the Unit part, as systemd's own signals do: the Unit part (ActiveState)
 * is what acts, and reads Result and NRestarts from the Service part. */
void supervisor_unit_properties(Supervisor *s, AgentRuntime *a, const char *iface, const UnitProperties *p);

/* The operator's controls (after polkit): close now and start / open and hold. */
int supervisor_reset_breaker(Supervisor *s, AgentRuntime *a);
int supervisor_open_breaker(Supervisor *s, AgentRuntime *a);

/* For Manager State / HealthScore (see supervisor_classify_profile()). supervisor_profile_state() also
 * recomputes every agent's health and, if "ret_health" is not NULL, returns the profile's score from
 * the same walk. */
ProfileState supervisor_profile_state(Supervisor *s, bool settled, double *ret_health);
double supervisor_health_score(Supervisor *s);

/* For metrics. */
const Histogram *supervisor_recovery_histogram(Supervisor *s);
/* How long the last start of profile "name" took (request -> settled), USEC_INFINITY if unknown. */
usec_t supervisor_last_start_duration(Supervisor *s, const char *name);
