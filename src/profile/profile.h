/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The profile model: a resolved profile is a name, a budget and a flat list of agents, each with
 * everything needed to turn it into a transient systemd service. Parsing lives in profile-parse,
 * `extends` resolution and the search path in profile-set, defaults in exactly one place
 * (profile_agent_init_defaults()). */

#include <stdbool.h>
#include <stdint.h>

#include "diag.h"
#include "macro.h"
#include "time-util.h"

/* "Not set" for sizes and counts: systemd's "infinity". */
#define LIMIT_UNSET UINT64_MAX

/* The longest agent name: it must fit "unified-<name>.service" into a unit name (256 bytes). */
#define AGENT_NAME_MAX 64

typedef enum RestartPolicy {
        RESTART_NO,
        RESTART_ON_FAILURE,
        RESTART_ON_ABNORMAL,
        RESTART_ON_WATCHDOG,
        RESTART_ON_ABORT,
        RESTART_ALWAYS,
        _RESTART_POLICY_MAX,
        _RESTART_POLICY_INVALID = -EINVAL,
} RestartPolicy;

/* The systemd spelling ("on-failure"), used both in YAML and in the unit's Restart= property. */
const char *restart_policy_to_string(RestartPolicy p) _const_;
RestartPolicy restart_policy_from_string(const char *s) _pure_;

typedef struct RestartConfig {
        RestartPolicy policy;   /* Restart= */
        usec_t delay;           /* RestartSec= */
        usec_t max_delay;       /* RestartMaxDelaySec= (systemd >= 254), 0 = no exponential steps */
        unsigned steps;         /* RestartSteps= (systemd >= 254) */
        unsigned max_attempts;  /* StartLimitBurst= */
        usec_t window;          /* StartLimitIntervalSec= */
} RestartConfig;

typedef struct BreakerConfig {
        unsigned threshold;     /* failures within "window" that trip the breaker */
        usec_t window;
        usec_t cooldown;        /* first OPEN -> HALF-OPEN delay, doubled per consecutive trip */
        usec_t max_cooldown;    /* cap of the above */
        usec_t probation;       /* clean running in HALF-OPEN before CLOSED */
} BreakerConfig;

/* One systemd Condition*= of the agent's service, e.g. { "ConditionPathExists", "/dev/dri" }. */
typedef struct AgentCondition {
        char *property;         /* systemd property name */
        char *value;            /* as systemd parses it, "!" prefix negates */
} AgentCondition;

typedef struct SandboxConfig {
        char *user;             /* NULL: DynamicUser=yes */
        char **writable_paths;  /* ReadWritePaths= */
        bool network;           /* false: PrivateNetwork=yes */
        bool protect_system;    /* ProtectSystem=strict (true) or not set */
        bool private_devices;   /* PrivateDevices=; vision agents that need a GPU turn it off */
} SandboxConfig;

typedef struct Agent {
        char *name;             /* unit-name safe, [a-zA-Z0-9_.-], at most AGENT_NAME_MAX */
        char *description;      /* the agent's role, Description= of the unit */
        char **exec;            /* argv, exec[0] absolute */
        char **env;             /* "KEY=value" */

        uint64_t memory_max;    /* bytes or LIMIT_UNSET */
        uint64_t memory_high;   /* bytes or LIMIT_UNSET */
        uint64_t cpu_quota;     /* CPUQuota= in permyriad of one CPU (10000 = 100%); 0 = unset */
        uint64_t cpu_weight;    /* CPUWeight=, 1..10000, 0 = unset */
        uint64_t tasks_max;     /* TasksMax= or LIMIT_UNSET */

        bool essential;         /* OPEN breaker fails the whole profile */
        bool notify;            /* Type=notify */
        usec_t watchdog;        /* WatchdogSec=, 0 = none */
        char **requires;        /* other agents of the same profile: Requires= + After= */

        char *lazy_listen;      /* NULL, or the socket address (ListenStream=) that starts the agent */

        RestartConfig restart;
        BreakerConfig breaker;
        AgentCondition *conditions;
        size_t n_conditions;
        SandboxConfig sandbox;

        /* Where it was defined, for diagnostics after resolution. */
        char *source_file;
        unsigned source_line;
} Agent;

typedef struct Profile {
        char *name;             /* the file name without ".yaml" */
        char *description;
        char *path;             /* the file it was loaded from */
        char *extends;          /* the base profile as written, NULL if none */
        char **include;         /* inherited agents to keep (all if NULL) */
        char **exclude;         /* inherited agents to drop */

        uint64_t memory_max;    /* the profile budget, MemoryMax= of unified.slice, LIMIT_UNSET if none */
        uint64_t cpu_quota;     /* permyriad of the whole machine (10000 = all CPUs), 0 = unset */

        Agent **agents;         /* in file order, bases' agents first once resolved */
        size_t n_agents;
} Profile;

/* Fills the defaults for fields a profile did not set: the one place they live. */
void agent_init_defaults(Agent *a);

Agent *agent_free(Agent *a);
DEFINE_TRIVIAL_CLEANUP_FUNC(Agent *, agent_free);
int agent_copy(const Agent *a, Agent **ret);

Profile *profile_free(Profile *p);
DEFINE_TRIVIAL_CLEANUP_FUNC(Profile *, profile_free);

Agent *profile_find_agent(const Profile *p, const char *name);
/* Whether "name" can be used as an agent name (and so inside "unified-<name>.service"). */
bool agent_name_is_valid(const char *name);

/* The unit names systemd knows the agent by: "unified-<name>.service" / ".socket". */
int agent_unit_name(const Agent *a, const char *suffix, char **ret);

/* Parses one YAML file into an unresolved Profile (extends not applied). Problems are added to
 * "diag"; returns -EBADMSG if there was at least one error, 0 otherwise, other negative errno on
 * I/O failure. "name" is the profile name (the file's basename without .yaml). */
int profile_parse_file(const char *path, const char *name, Diagnostics *diag, Profile **ret);
int profile_parse_string(const char *data, size_t size, const char *path, const char *name,
                         Diagnostics *diag, Profile **ret);
