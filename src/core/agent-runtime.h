/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* An agent as it runs: the one object per agent of the active profile (and of the agents a switch is
 * stopping). It points at its definition in the active profile, holds the one copy of what systemd
 * last reported about its units, its circuit breaker, its health inputs and counters, and its bus
 * object's bookkeeping. The profile's `Agent` is the definition, as a unit file is for systemd's Unit;
 * this is the Unit.
 *
 * What is pure here: the agent's status, the unit-property reader and applier, and the profile state
 * derived from the agents. The breaker (breaker.h) and the health score (health.h) are pure modules the
 * supervisor applies to these objects; the calls to systemd are agent-control.h's. */

#include <stdbool.h>
#include <stdint.h>

#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>
#include <systemd/sd-id128.h>

#include "breaker.h"
#include "health.h"
#include "histogram.h"
#include "macro.h"
#include "profile.h"
#include "time-util.h"

typedef struct Manager Manager;

typedef enum ProfileState {
        PROFILE_STATE_INACTIVE,
        PROFILE_STATE_STARTING,
        PROFILE_STATE_RUNNING,
        PROFILE_STATE_DEGRADED,
        PROFILE_STATE_FAILED,
        PROFILE_STATE_STOPPING,
        _PROFILE_STATE_MAX,
        _PROFILE_STATE_INVALID = -EINVAL,
} ProfileState;

const char *profile_state_to_string(ProfileState s) _const_;

typedef enum AgentStatus {
        AGENT_STATUS_OK,                /* active (lazy: its socket listens) */
        AGENT_STATUS_SKIPPED,           /* a Condition*= was false: not running, by design */
        AGENT_STATUS_PENDING,           /* being started */
        AGENT_STATUS_DOWN,              /* not running, systemd may bring it back (auto-restart) */
        AGENT_STATUS_FAILED,            /* failed, or its start failed */
        _AGENT_STATUS_MAX,
} AgentStatus;

/* What changed on an agent's bus object since it was last announced (bus-manager.c emits). */
typedef enum AgentDirty {
        AGENT_DIRTY_UNIT = 1 << 0,      /* ActiveState SubState Result MainPID Restarts Waiting */
        AGENT_DIRTY_BREAKER = 1 << 1,   /* Breaker BreakerTrips */
        AGENT_DIRTY_HEALTH = 1 << 2,    /* Health */
        AGENT_DIRTY_PROFILE = 1 << 3,   /* Profile (a switch kept the agent) */
} AgentDirty;

typedef struct AgentRuntime AgentRuntime;

struct AgentRuntime {
        Manager *manager;
        const Agent *def;               /* the definition in manager->active; NULL once the agent is leaving */
        AgentRuntime **requires;        /* the agents def->requires names, linked when the profile's agents
                                         * are in place (manager.c) */
        size_t n_requires;

        char *name;
        char *unit;                     /* unified-<name>.service */
        char *socket_unit;              /* unified-<name>.socket for a lazy agent, else NULL */
        char *object_path;              /* /org/unified1/agent/<escaped> */

        /* What systemd last said about the units (PropertiesChanged and GetAll): the one copy. */
        char *active_state;             /* of the service; NULL until first heard */
        char *sub_state;
        char *result;
        char *socket_state;             /* the socket's ActiveState */
        uint32_t main_pid;
        uint32_t n_restarts;
        sd_id128_t invocation;
        usec_t state_change;            /* StateChangeTimestamp (CLOCK_REALTIME), 0 if unknown */
        bool condition_failed;          /* Unit.ConditionResult was false after a start attempt */

        /* The manager's bookkeeping of our own starts and stops. */
        char *start_job;                /* job path of our pending start, NULL if none */
        bool start_failed;              /* the last start job did not succeed */
        bool start_queued;              /* to start once the switch's stops are done */
        bool start_in_flight;           /* StartTransientUnit sent, no reply yet */
        bool first_start_done;          /* our start job is over (or the agent was adopted running): from
                                         * now on "activating" is systemd restarting it, not starting */
        bool start_when_removed;        /* start again once systemd has unloaded the old unit */
        bool leaving;                   /* not in the active profile any more, being stopped */
        bool unit_loaded;               /* systemd has the service loaded (created, not yet collected) */
        bool service_heard;             /* a PropertiesChanged of the service came since our last start */
        bool socket_heard;              /* and of the socket */
        bool runtime_changed;           /* limits were changed with SetUnitProperties: systemd keeps them as
                                         * drop-ins that must be reverted before the name is reused */
        bool resyncing;                 /* systemd came back on the bus: the next GetAll of the started unit
                                         * says whether the start job we wait for still exists */

        /* The circuit breaker and its one timer (CLOCK_BOOTTIME). */
        Breaker breaker;
        sd_event_source *breaker_timer;

        /* Health inputs and the score (health.h). */
        HealthRate errors;
        HealthReport report;
        usec_t watchdog_at;             /* last watchdog timeout (BOOTTIME), USEC_INFINITY: none */
        bool dependency_failed;         /* PID 1: the start job failed for a required unit */
        double health;

        /* Counters over the daemon's lifetime, for metrics. */
        usec_t failed_at;               /* recovery clock (BOOTTIME): failure seen, not active again yet */
        usec_t starting_at;             /* lazy activation clock: left inactive, not active yet */
        uint64_t restarts_total;
        uint64_t journal_error_lines;
        uint64_t lazy_activations;
        uint64_t lazy_activation_failures;
        Histogram lazy_latency;

        /* The bus object: what to announce, and the queue it waits in (bus-manager.c). */
        unsigned dirty;                 /* AgentDirty bits */
        bool in_dbus_queue;
        AgentRuntime *dbus_queue_next;
};

AgentRuntime *agent_runtime_free(AgentRuntime *a);
DEFINE_TRIVIAL_CLEANUP_FUNC(AgentRuntime *, agent_runtime_free);
/* A runtime object for definition "def" (borrowed: it must outlive the object or be replaced with
 * agent_runtime_update()). No bus activity; the breaker starts closed with the definition's settings. */
int agent_runtime_new(const Agent *def, AgentRuntime **ret);
/* Takes a new definition of an agent that keeps running (a switch, a reload): breaker settings too. */
void agent_runtime_update(AgentRuntime *a, const Agent *def);

bool agent_runtime_is_lazy(const AgentRuntime *a) _pure_;
bool agent_runtime_is_essential(const AgentRuntime *a) _pure_;
AgentStatus agent_runtime_status(const AgentRuntime *a) _pure_;
bool agent_runtime_is_active(const AgentRuntime *a) _pure_;

/* What unified reads of a unit's properties, from one PropertiesChanged or GetAll a{sv} of one
 * interface, read once. Strings point into the message. What the a{sv} did not carry is NULL, or false
 * in its has_ flag. */
typedef struct UnitProperties {
        /* org.freedesktop.systemd1.Unit */
        const char *active_state;
        const char *sub_state;
        bool has_condition_result, condition_result;
        bool has_state_change;
        usec_t state_change;            /* StateChangeTimestamp (CLOCK_REALTIME) */
        bool has_invocation;
        sd_id128_t invocation;          /* InvocationID, SD_ID128_NULL if there is none */
        bool has_job;
        const char *job;                /* Job: the path of the unit's pending job, "/" if none */
        /* org.freedesktop.systemd1.Service */
        const char *result;
        bool has_main_pid, has_n_restarts;
        uint32_t main_pid;
        uint32_t n_restarts;
} UnitProperties;

/* Reads the a{sv} that "msg" is positioned at, the properties of "interface", skipping the others. */
int unit_properties_read(sd_bus_message *msg, const char *interface, UnitProperties *ret);

/* Applies what systemd reported of the agent's service, or of its socket unit ("socket": only the
 * socket's ActiveState is kept). NRestarts also adds to restarts_total (summed over unit lifetimes).
 * Returns 1 if anything the agent's D-Bus object shows changed. */
int agent_runtime_apply(AgentRuntime *a, bool socket, const UnitProperties *p);
