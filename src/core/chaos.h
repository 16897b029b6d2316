/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The fault engine behind the Manager's InjectFault method (docs/chaos.md): faults injected through
 * systemd's own levers (KillUnit, runtime SetUnitProperties of MemoryMax= and IPAddressDeny=,
 * StopUnit), each one undone when its duration ends, and its detection and recovery timed from the
 * daemon's events (unit state changes, health back to ok), never from sleeps. Every fault that changes
 * a unit is recorded in <runtime dir>/faults/ before it is injected, so that a daemon that dies
 * mid-fault undoes it when it starts again; memory and partition faults also arm a transient timer with
 * which systemd reverts them should no daemon come back. A refused undo is retried while the daemon runs.
 *
 * How the manager uses it:
 *
 *     chaos_new(m, &m->chaos);                   after the bus is attached
 *     chaos_startup(m->chaos);                   once, after adoption: undoes leftover records
 *     chaos_agents_changed(m->chaos, state);     whenever an agent's unit state or health moved, or
 *                                                the profile state was recomputed (manager_update_state())
 *     chaos_method_inject_fault                  the InjectFault method handler (userdata: Manager)
 *     chaos_free(m->chaos);                      undoes what is still in effect (synchronously), then frees
 */

#include <stdbool.h>
#include <stdint.h>

#include <systemd/sd-bus.h>

#include "agent-runtime.h"
#include "chaos-report.h"
#include "macro.h"
#include "time-util.h"

/* Under the runtime directory: one record per fault with something to undo. */
#define CHAOS_FAULT_DIR "faults"

/* Defaults of the InjectFault options (docs/chaos.md). */
#define CHAOS_DURATION_DEFAULT (5 * USEC_PER_SEC)               /* memory, partition, outage */
#define CHAOS_STRESS_DURATION_DEFAULT (30 * USEC_PER_SEC)
#define CHAOS_STRESS_INTERVAL_DEFAULT (1 * USEC_PER_SEC)
#define CHAOS_STRESS_IN_FLIGHT_DEFAULT 3u
#define CHAOS_TIMEOUT_DEFAULT (2 * USEC_PER_MINUTE)             /* recovery wait after the fault ends */
#define CHAOS_DURATION_MAX (1 * USEC_PER_HOUR)
#define CHAOS_FAULTS_MAX 64u                                    /* in flight, stress faults included */
/* An undo systemd refused goes out again after 1 s, 2 s, 4 s, ... at most 30 s apart, for as long as the
 * daemon runs: the fault stays "undoing" and its record stays until systemd confirms. */
#define CHAOS_UNDO_RETRY_INITIAL (1 * USEC_PER_SEC)
#define CHAOS_UNDO_RETRY_MAX (30 * USEC_PER_SEC)
/* The revert timer of a fault with a duration (memory, partition) fires this long after the hold ends:
 * late enough that the daemon's own undo comes first, early enough that "duration plus a few seconds"
 * holds without the daemon. Its units are named CHAOS_REVERT_PREFIX<id>.timer and .service. */
#define CHAOS_REVERT_MARGIN (3 * USEC_PER_SEC)
#define CHAOS_REVERT_PREFIX "unified-fault-revert-"
/* An agent counts as healthy again from this score on: what is left after up to two failures in the
 * breaker window (0.9, 0.8), while a degraded report (0.6) or a half-open breaker (0.5) is below. */
#define CHAOS_HEALTH_OK 0.75
/* The cloud LLM gateway: what an outage takes down unless told otherwise. */
#define CHAOS_OUTAGE_DEFAULT_AGENT "llm-cloud-gateway"

#define ACTION_INJECT_FAULTS "org.unified1.inject-faults"

typedef struct Chaos Chaos;

int chaos_new(Manager *m, Chaos **ret);
/* Undoes, synchronously and best effort, what faults still have in effect (their records are removed
 * when that worked, kept for the next start otherwise), then frees everything. */
Chaos *chaos_free(Chaos *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(Chaos *, chaos_free);

/* Undoes every fault a previous daemon left recorded (runtime limits and IP filters restored, agent
 * fault files removed; stopped agents are started by adoption) and removes the records. */
int chaos_startup(Chaos *c);

/* Advances detection and recovery of the faults in flight; aborts them (undo, not recovered) when
 * their profile stops or is replaced. */
void chaos_agents_changed(Chaos *c, ProfileState state);

/* Manager.InjectFault(s kind, s agent, t duration_usec, a{sv} options) -> t fault_id, polkit action
 * org.unified1.inject-faults. Replies once systemd has taken the fault; the outcome comes with the
 * FaultFinished signal. "userdata" is the Manager. */
int chaos_method_inject_fault(sd_bus_message *msg, void *userdata, sd_bus_error *error);

/* For tests and status: faults in flight. */
size_t chaos_faults_in_flight(const Chaos *c);

/* One fault in flight as the Manager's Faults property shows it; the strings are borrowed. */
typedef struct ChaosFaultStatus {
        uint64_t id;
        const char *kind;
        const char *agent;              /* "" for a stress run */
        const char *phase;              /* "preparing", "arming", "injecting", "active", "undoing", "recovering" */
        const char *detail;             /* why an undo is being retried, else the fault's detail, else "" */
} ChaosFaultStatus;

/* The "i"-th fault in flight (0-based); -ENOENT past the last. */
int chaos_fault_status(const Chaos *c, size_t i, ChaosFaultStatus *ret);

/* Pure: whether an agent in this state counts as recovered (its unit active and its health ok). */
bool chaos_agent_is_healthy(const AgentRuntime *a) _pure_;

/* Pure: "SIGKILL", "KILL", "9" -> 9; -EINVAL for anything else. */
int chaos_parse_signal(const char *s);
