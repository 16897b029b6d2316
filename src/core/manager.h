/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The daemon's state: the event loop and bus, the profiles on disk, the active profile and its
 * agents, and the state machine that switches profiles (inactive, starting, running, degraded,
 * failed, stopping). All systemd calls are asynchronous; systemd's answers come back as JobRemoved,
 * UnitRemoved and PropertiesChanged signals. */

#include <stdbool.h>
#include <stdint.h>

#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "agent-runtime.h"
#include "macro.h"
#include "time-util.h"

typedef struct Chaos Chaos;
typedef struct Hashmap Hashmap;
typedef struct PolkitRegistry PolkitRegistry;
typedef struct Profile Profile;
typedef struct ProfileSet ProfileSet;
typedef struct Supervisor Supervisor;
typedef struct SwitchPlan SwitchPlan;
typedef struct SystemdClient SystemdClient;

#define UNIFIED_BUS_NAME "org.unified1"
#define UNIFIED_OBJECT_PATH "/org/unified1"
#define UNIFIED_MANAGER_IFACE "org.unified1.Manager"
#define UNIFIED_PROFILE_IFACE "org.unified1.Profile"
#define UNIFIED_AGENT_IFACE "org.unified1.Agent"
#define UNIFIED_PROFILE_PATH_PREFIX "/org/unified1/profile"
#define UNIFIED_AGENT_PATH_PREFIX "/org/unified1/agent"

/* The profile state is recomputed by a walk over every agent, and a start keeps systemd's signals
 * coming for a time that also grows with the number of agents: recomputed at a fixed rate, the daemon's
 * CPU per agent grew with the profile (bench/scale: 18 ms per agent at 300, 29 ms at 1,000). So the
 * recomputations are spaced by 100 us per agent (7.7 ms for 77 agents, 100 ms for 1,000), and the state
 * lags behind the signals by at most 100 ms, or a millisecond per agent for big profiles. */
#define MANAGER_STATE_SPACING_PER_AGENT_USEC 100u
#define MANAGER_STATE_LAG_MAX_USEC (100 * USEC_PER_MSEC)
#define MANAGER_STATE_LAG_PER_AGENT_USEC (1 * USEC_PER_MSEC)

/* What changed on the Manager's bus object since it was last announced (bus-manager.c emits). */
typedef enum ManagerDirty {
        MANAGER_DIRTY_PROFILE = 1 << 0, /* ActiveProfile NAgents */
        MANAGER_DIRTY_STATE = 1 << 1,   /* State (and the ProfileStateChanged signal) */
        MANAGER_DIRTY_HEALTH = 1 << 2,  /* HealthScore NActiveAgents */
} ManagerDirty;

/* A profile found on disk, resolved once per (re)load for the Profile objects. */
typedef struct ProfileEntry {
        Manager *manager;
        char *name;
        char *object_path;
        char *path;             /* the file */
        Profile *profile;       /* NULL if it does not validate */
        char *error;            /* then the first error, "file:line:column: message" */
} ProfileEntry;

/* A unified@ instance the daemon stopped itself, and when (CLOCK_MONOTONIC). */
typedef struct InstanceStop {
        char *unit;
        usec_t at;
} InstanceStop;

struct Manager {
        sd_event *event;
        sd_bus *bus;
        SystemdClient *systemd;         /* every call to systemd goes through it */
        PolkitRegistry *polkit;
        Chaos *chaos;                   /* faults injected on purpose */
        Supervisor *supervisor;         /* breakers, health, journal (supervisor.h) */
        char *state_dir;

        ProfileSet *profile_set;
        ProfileEntry **profiles;
        size_t n_profiles;

        Profile *active;                /* the profile deployed or being deployed, owned; NULL if none */
        AgentRuntime **agents;          /* its agents, in profile order */
        size_t n_agents;
        Hashmap *agents_by_name;        /* the same, by name (the edge: D-Bus calls, the journal) */
        Hashmap *agents_by_unit;        /* these and the leaving ones, by service and socket unit */
        AgentRuntime **leaving;         /* agents being stopped that are no longer in "active" */
        size_t n_leaving;

        ProfileState state;
        sd_event_source *state_event;   /* the pending recomputation of "state" (a timer) */
        usec_t state_updated_at;        /* CLOCK_MONOTONIC of the last recomputation */
        bool settled;                   /* every agent's first start is over */
        const char *instance_job_mode;  /* once settled, start unified@PROFILE with this job mode ("replace",
                                         * "fail"); NULL when that is not due */
        InstanceStop *instance_stops;   /* unified@ instances we stopped while active, whose ExecStop= has
                                         * not called back yet (manager_instance_stop_is_ours()) */
        size_t n_instance_stops;
        char *instance_starting;        /* the unified@PROFILE.service we sent a start for, until its job ends */
        char *instance_start_job;       /* that start's job, once systemd has answered */
        char *instance_cancelled;       /* one whose start a later switch or stop cancelled, until that stop
                                         * is over: its ExecStart='s StartProfile is stale (manager.c) */
        bool switching;                 /* waiting for stop jobs before starting */
        SwitchPlan *plan;               /* the switch in progress */
        char **stop_jobs;               /* job paths the switch waits for */
        unsigned n_stop_calls;          /* StopUnit calls not answered yet */

        unsigned systemd_version;
        unsigned n_cpus;

        /* What the bus object shows: the values last computed, and what to announce (bus-manager.c). */
        uint32_t n_active_agents;
        double health_score;
        unsigned dirty;                 /* ManagerDirty bits */
        AgentRuntime *dbus_queue;       /* agents with something to announce */
        sd_event_source *dbus_event;    /* the pending announcement (a defer source) */
};

Manager *manager_free(Manager *m);
DEFINE_TRIVIAL_CLEANUP_FUNC(Manager *, manager_free);
int manager_new(Manager **ret);
/* Connects, loads profiles, subscribes to systemd and adopts the agents a previous instance left
 * running. Everything before the loop runs; the bus name is requested by the caller afterwards. */
int manager_startup(Manager *m);
int manager_run(Manager *m);

/* Profiles on disk. */
int manager_load_profiles(Manager *m);
ProfileEntry *manager_find_profile(Manager *m, const char *name);
/* The agents of the active profile by name; any agent (leaving ones too) by service or socket unit name,
 * "ret_socket" telling which. */
AgentRuntime *manager_find_agent(Manager *m, const char *name);
AgentRuntime *manager_find_agent_by_unit(Manager *m, const char *unit, bool *ret_socket);

/* The operations behind the D-Bus methods. 0 on success (switch queued), or a D-Bus error set in
 * "error" and returned. */
int manager_start_profile(Manager *m, const char *name, sd_bus_error *error);
int manager_stop_profile(Manager *m, const char *name, sd_bus_error *error);
/* Whether we stopped "unit" (unified@X.service) ourselves while it was active, so that the StopProfile(X)
 * its ExecStop= sends is the echo of our own stop; consumes the record. */
bool manager_instance_stop_is_ours(Manager *m, const char *unit);
int manager_reload_profiles(Manager *m, sd_bus_error *error);

/* Something the profile's state depends on moved: recomputed once the burst of signals is read. */
void manager_queue_state_update(Manager *m);
/* A StopUnit the switch waits for was answered with "job" (NULL: no job, the unit was gone). */
void manager_switch_stop_sent(Manager *m, const char *job);

const char *manager_active_profile_name(const Manager *m);

/* Whether "name" may name a profile or agent: [A-Za-z0-9_.-], 1..64 characters, no leading '.'. */
bool manager_name_is_valid(const char *name);
