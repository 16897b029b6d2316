/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What the daemon does to an agent's units, and what it hears back: the one path for every change the
 * daemon makes to an agent (start, stop, probe, restart, runtime limits) and for following its units
 * (PropertiesChanged subscriptions, GetAll). Every call goes through the manager's SystemdClient; a
 * breaker's stop and probe take its urgent lane, so that they do not wait behind a profile start.
 * Replies find their agent again by unit name (the agent may be gone by then). */

#include <stdbool.h>

#include <systemd/sd-bus.h>

typedef struct AgentRuntime AgentRuntime;
typedef struct UnitSpec UnitSpec;

typedef enum AgentStopReason {
        AGENT_STOP_SWITCH,              /* the switch waits for this stop before its second phase */
        AGENT_STOP_BREAKER,             /* an open breaker: urgent */
        AGENT_STOP_FAULT,               /* an outage injected on purpose: urgent */
} AgentStopReason;

/* Creates and starts the agent's transient unit(s) (StartTransientUnit; for a lazy agent its socket with
 * the service as auxiliary unit). Not while its breaker is open. Failures end up in the agent's state and
 * breaker; returns -EIO if the start could not even be sent. */
int agent_start(AgentRuntime *a);
/* ResetFailedUnit on the agent's units, then agent_start(): a half-open probe, an operator's reset. */
void agent_reset_and_start(AgentRuntime *a);
/* StopUnit of the socket (first: a connection would start the service again) and the service; reverts
 * limits set at runtime. */
void agent_stop(AgentRuntime *a, AgentStopReason reason);
/* RestartUnit, answering "request" when systemd has queued it. Returns 1 (the reply comes later), or a
 * negative errno with "error" set. */
int agent_restart(AgentRuntime *a, sd_bus_message *request, sd_bus_error *error);
/* SetUnitProperties(runtime) with "changes" (a switch that only changed limits). */
void agent_set_limits(AgentRuntime *a, const UnitSpec *changes);

/* The handler of the manager's one match on systemd's units' PropertiesChanged ("userdata": the Manager):
 * one match for all units rather than one per agent unit, because dbus-daemon allows a connection 512
 * match rules (max_match_rules_per_connection) and sd-bus drops a connection whose match fails to install;
 * a unit path cannot be matched by prefix, so the signals of other units are skipped here. */
int agent_on_unit_properties_changed(sd_bus_message *msg, void *userdata, sd_bus_error *ret_error);
/* Asks systemd for the agent's unit properties (GetAll); "unheard_only": only for units that sent no
 * PropertiesChanged since our start (which every later change would have). */
void agent_refresh(AgentRuntime *a, bool unheard_only);
/* Asks systemd whether a failed service is failed for good (systemd 252 passes through "failed" on its
 * way to auto-restart); a final failure goes to the breaker. */
void agent_confirm_failed(AgentRuntime *a);

/* systemd's signals about our jobs and units, dispatched by unit name. */
void agent_job_removed(AgentRuntime *a, const char *job, const char *result);
/* systemd came back on the bus (PID 1 re-executed, or dbus-daemon dropped its connection): what it
 * announced meanwhile is lost. Asks for the state of the agent's units again, and finishes a start job
 * that ended unheard. */
void agent_resync(AgentRuntime *a);
void agent_unit_removed(AgentRuntime *a, bool socket);
