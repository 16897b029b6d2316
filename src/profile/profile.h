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
        bool private_devices;   /* PrivateDevices= and DevicePolicy=closed; agents that need a GPU turn it off */
        bool memory_deny_write_execute; /* MemoryDenyWriteExecute=; JITs turn it off */
        uint64_t capabilities;  /* 1 << CAP_*: the bounding and ambient sets (0: none) */
        char **system_calls;    /* allowed on top of SystemCallFilter=@system-service */
} SandboxConfig;

/* Which settings a profile gave explicitly (Agent.set), so that resolution can layer an agent over
 * the one it overrides and over the profile's `defaults:` field by field. */
typedef enum AgentField {
        AGENT_FIELD_DESCRIPTION,
        AGENT_FIELD_EXEC,
        AGENT_FIELD_ENV,
        AGENT_FIELD_MEMORY_MAX,
        AGENT_FIELD_MEMORY_HIGH,
        AGENT_FIELD_CPU_QUOTA,
        AGENT_FIELD_CPU_WEIGHT,
        AGENT_FIELD_TASKS_MAX,
        AGENT_FIELD_ESSENTIAL,
        AGENT_FIELD_NOTIFY,
        AGENT_FIELD_WATCHDOG,
        AGENT_FIELD_REQUIRES,
        AGENT_FIELD_LAZY,
        AGENT_FIELD_RESTART_POLICY,
        AGENT_FIELD_RESTART_DELAY,
        AGENT_FIELD_RESTART_MAX_DELAY,
        AGENT_FIELD_RESTART_STEPS,
        AGENT_FIELD_RESTART_MAX_ATTEMPTS,
        AGENT_FIELD_RESTART_WINDOW,
        AGENT_FIELD_BREAKER_THRESHOLD,
        AGENT_FIELD_BREAKER_WINDOW,
        AGENT_FIELD_BREAKER_COOLDOWN,
        AGENT_FIELD_BREAKER_MAX_COOLDOWN,
        AGENT_FIELD_BREAKER_PROBATION,
        AGENT_FIELD_CONDITIONS,
        AGENT_FIELD_SANDBOX_USER,
        AGENT_FIELD_SANDBOX_WRITABLE_PATHS,
        AGENT_FIELD_SANDBOX_NETWORK,
        AGENT_FIELD_SANDBOX_PROTECT_SYSTEM,
        AGENT_FIELD_SANDBOX_PRIVATE_DEVICES,
        AGENT_FIELD_SANDBOX_MEMORY_DENY_WRITE_EXECUTE,
        AGENT_FIELD_SANDBOX_CAPABILITIES,
        AGENT_FIELD_SANDBOX_SYSTEM_CALLS,
        _AGENT_FIELD_MAX,
} AgentField;

#define AGENT_FIELD_BIT(f) (UINT64_C(1) << (f))

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
        unsigned source_column;

        uint64_t set;           /* AGENT_FIELD_BIT()s given explicitly in the file (before resolution) */
} Agent;

typedef struct Profile {
        char *name;             /* the file name without ".yaml" */
        char *description;
        char *path;             /* the file it was loaded from */
        char *extends;          /* the (first) base profile as written, NULL if none */
        char **bases;           /* all base profiles, in order ("extends: [a, b]"), NULL if none */
        char **include;         /* inherited agents to keep (all if NULL) */
        char **exclude;         /* inherited agents to drop */

        uint64_t memory_max;    /* the profile budget, MemoryMax= of unified.slice, LIMIT_UNSET if none */
        uint64_t cpu_quota;     /* permyriad of the whole machine (10000 = all CPUs), 0 = unset */
        bool memory_max_set;    /* given in this file ("infinity" too, which lifts an inherited budget) */
        bool cpu_quota_set;

        Agent **agents;         /* in file order, bases' agents first once resolved */
        size_t n_agents;

        /* The `defaults:` block: settings for every agent that does not set them (only the fields in
         * defaults->set count). NULL if none. Resolution merges the bases' defaults into it and applies
         * them to every agent, so a resolved profile's agents are complete. */
        Agent *defaults;

        /* Positions for diagnostics found after parsing (resolution), 0 if the key is absent. */
        unsigned line_extends, column_extends;
        unsigned line_select, column_select;    /* include: or exclude: */
        unsigned line_resources, column_resources;
} Profile;

/* Fills the defaults for fields a profile did not set: the one place they live. */
void agent_init_defaults(Agent *a);
/* A new agent with defaults filled in and nothing marked as set. */
Agent *agent_new(void);
/* Copies every field marked in src->set over "dst" (env merged per variable, the rest replaced),
 * and marks it set in dst. */
int agent_merge(Agent *dst, const Agent *src);

Agent *agent_free(Agent *a);
DEFINE_TRIVIAL_CLEANUP_FUNC(Agent *, agent_free);
int agent_copy(const Agent *a, Agent **ret);

Profile *profile_new(void);
Profile *profile_free(Profile *p);
DEFINE_TRIVIAL_CLEANUP_FUNC(Profile *, profile_free);

Agent *profile_find_agent(const Profile *p, const char *name);
/* Appends, taking ownership of "a" on success. */
int profile_add_agent(Profile *p, Agent *a);
/* Whether "name" can be used as an agent name (and so inside "unified-<name>.service"). */
bool agent_name_is_valid(const char *name);
/* Names whose units the unified package itself ships: unified-metrics.socket, unified-metricsd.service. */
bool agent_name_is_reserved(const char *name);
/* Profile names follow the same rule (they become "unified@<name>.service" and file names). */
bool profile_name_is_valid(const char *name);
/* A program path systemd would accept as ExecStart=: absolute, normalized enough, no NUL. */
bool exec_path_is_valid(const char *path);
/* Splits a command line like systemd's ExecStart=: whitespace separates words, '...' and "..."
 * quote, backslash escapes (\n \t \\ \" \' \xNN, \ + space); no shell, no $VARIABLE expansion.
 * -EINVAL with *ret_error set to a static reason on bad input. */
int exec_split(const char *s, char ***ret, const char **ret_error);

/* The unit names systemd knows the agent by: "unified-<name>.service" / ".socket". */
int agent_unit_name(const Agent *a, const char *suffix, char **ret);

/* Parses one YAML file into an unresolved Profile (extends not applied). Problems are added to
 * "diag"; returns -EBADMSG if there was at least one error, 0 otherwise, other negative errno on
 * I/O failure. "name" is the profile name (the file's basename without .yaml). */
int profile_parse_file(const char *path, const char *name, Diagnostics *diag, Profile **ret);
/* The same, checking that the programs `exec` names exist below "root" (NULL or "/": the host's). */
int profile_parse_file_at(const char *root, const char *path, const char *name, Diagnostics *diag, Profile **ret);
int profile_parse_string(const char *data, size_t size, const char *path, const char *name,
                         Diagnostics *diag, Profile **ret);
