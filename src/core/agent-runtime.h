/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* An agent as it runs: what the profile says about it plus what systemd last reported about its
 * units. The status and the profile state derived from them are pure functions of these fields. */

#include <stdbool.h>
#include <stdint.h>

#include <systemd/sd-bus.h>
#include <systemd/sd-id128.h>

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

typedef struct AgentRuntime {
        Manager *manager;

        /* From the profile. */
        char *name;
        char *description;
        char *profile;
        char **requires;
        bool essential;
        bool lazy;
        uint64_t memory_max;

        char *unit;                     /* unified-<name>.service */
        char *socket_unit;              /* unified-<name>.socket for a lazy agent, else NULL */
        char *object_path;              /* /org/unified1/agent/<escaped> */

        /* From systemd, kept up to date by PropertiesChanged. */
        char *active_state;
        char *sub_state;
        char *result;
        char *socket_state;             /* the socket's ActiveState */
        uint32_t main_pid;
        uint32_t n_restarts;
        bool condition_failed;          /* Unit.ConditionResult was false after a start attempt */

        /* Our own bookkeeping. */
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

        /* Maintained by the breaker and health modules. */
        char *breaker;
        uint32_t breaker_trips;
        double health;

        sd_bus_slot *slot_service;      /* PropertiesChanged of the service */
        sd_bus_slot *slot_socket;       /* and of the socket */
} AgentRuntime;

AgentRuntime *agent_runtime_free(AgentRuntime *a);
DEFINE_TRIVIAL_CLEANUP_FUNC(AgentRuntime *, agent_runtime_free);
/* A runtime object for agent "a" of profile "profile" (no bus activity). */
int agent_runtime_new(const Agent *a, const char *profile, AgentRuntime **ret);
/* Takes the profile's view (description, requires, limits...) of an agent that keeps running. */
int agent_runtime_update(AgentRuntime *rt, const Agent *a, const char *profile);

AgentStatus agent_runtime_status(const AgentRuntime *a) _pure_;
bool agent_runtime_is_active(const AgentRuntime *a) _pure_;

/* What unified reads of a unit's properties, from one PropertiesChanged or GetAll a{sv} of one
 * interface, read once for both the runtime object and the supervisor. Strings point into the
 * message. What the a{sv} did not carry is NULL, or false in its has_ flag. */
typedef struct UnitProperties {
        /* org.freedesktop.systemd1.Unit */
        const char *active_state;
        const char *sub_state;
        bool has_condition_result, condition_result;
        bool has_state_change;
        usec_t state_change;            /* StateChangeTimestamp (CLOCK_REALTIME) */
        bool has_invocation;
        sd_id128_t invocation;          /* InvocationID, SD_ID128_NULL if there is none */
        /* org.freedesktop.systemd1.Service */
        const char *result;
        bool has_main_pid, has_n_restarts;
        uint32_t main_pid;
        uint32_t n_restarts;
} UnitProperties;

/* Reads the a{sv} that "msg" is positioned at, the properties of "interface", skipping the others. */
int unit_properties_read(sd_bus_message *msg, const char *interface, UnitProperties *ret);

/* Applies what systemd reported of the agent's service, or of its socket unit ("socket": only the
 * socket's ActiveState is kept, apart from the service's). Returns 1 if the runtime object changed. */
int agent_runtime_apply(AgentRuntime *a, bool socket, const UnitProperties *p);

/* The profile's state from its agents: "settled" is false until every agent's first start is over,
 * so that an agent still coming up reads as starting rather than degraded. */
ProfileState profile_state_from_agents(AgentRuntime * const *agents, size_t n, bool settled);
