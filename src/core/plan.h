/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The planner (pure): a resolved profile becomes transient units described as data (unit name and
 * properties with their D-Bus types), and a switch between two profiles becomes a list of actions.
 * Nothing here talks to the bus; systemd-client serializes these into StartTransientUnit calls. */

#include <stdbool.h>
#include <stdint.h>

#include "macro.h"
#include "profile.h"

#define UNIFIED_SLICE "unified.slice"

/* The first systemd release with RestartSteps= and RestartMaxDelaySec=. */
#define SYSTEMD_VERSION_RESTART_STEPS 254

typedef enum UnitPropertyType {
        UNIT_PROPERTY_STRING,           /* s */
        UNIT_PROPERTY_BOOL,             /* b */
        UNIT_PROPERTY_U32,              /* u */
        UNIT_PROPERTY_U64,              /* t */
        UNIT_PROPERTY_STRV,             /* as */
        UNIT_PROPERTY_EXEC,             /* a(sasb): one command, path = s, argv = strv */
        UNIT_PROPERTY_CONDITIONS,       /* a(sbbs): strv holds pairs "ConditionX", "[!]value" */
        UNIT_PROPERTY_LISTEN,           /* a(ss): strv holds pairs "ListenStream", "address" */
        UNIT_PROPERTY_I32,              /* i: value in t, as (int32_t) */
        UNIT_PROPERTY_FILTER,           /* (bas): b = allow-list (false: deny-list), strv = the entries */
        _UNIT_PROPERTY_TYPE_MAX,
} UnitPropertyType;

typedef struct UnitProperty {
        const char *name;               /* systemd's D-Bus property name, static */
        UnitPropertyType type;
        char *s;
        bool b;
        uint64_t t;                     /* also holds "u" values */
        char **strv;
} UnitProperty;

typedef struct UnitSpec {
        char *name;                     /* "unified-foo.service" */
        UnitProperty *properties;
        size_t n_properties;
} UnitSpec;

UnitSpec *unit_spec_free(UnitSpec *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(UnitSpec *, unit_spec_free);
const UnitProperty *unit_spec_get(const UnitSpec *s, const char *name);
bool unit_property_equal(const UnitProperty *a, const UnitProperty *b);
/* The D-Bus signature of a property's value. */
const char *unit_property_signature(UnitPropertyType t) _const_;
/* Whether systemd applies a change of this property to a running unit (cgroup limits). */
bool unit_property_is_runtime(const char *name) _pure_;

/* "unified-<agent>.service" / ".socket"; the helpers behind agent_unit_name(), kept here so that the
 * planner depends on nothing but the model's data. */
int plan_unit_name(const char *agent, const char *suffix, char **ret);
/* The agent name from "unified-<agent>.service" or ".socket"; -EINVAL if it is not one of ours. */
int plan_agent_from_unit(const char *unit, char **ret);

/* The service (and, for a lazy agent, the socket that starts it) for agent "a" of "profile".
 * "profile_name" goes into UNIFIED_PROFILE=; it is a parameter so that a switch can compare an agent of
 * the old profile with the same agent of the new one without the name making them differ.
 * *ret_socket is NULL for an agent that is not lazy. */
int plan_agent_units(const Profile *profile, const Agent *a, const char *profile_name,
                     unsigned systemd_version, UnitSpec **ret_service, UnitSpec **ret_socket);

/* The sandbox part of plan_agent_units()'s service alone, the same properties with the same values:
 * what bench/sandbox-cost takes away and adds back one by one to measure what each costs at start. */
int plan_agent_sandbox(const Agent *a, UnitSpec **ret);

/* unified.slice's runtime properties for a profile (NULL: no profile, budgets cleared). The profile's
 * CPU budget is a share of the whole machine, hence "n_cpus". */
int plan_slice(const Profile *p, unsigned n_cpus, UnitSpec **ret);

/* The agents of "p" in an order where every agent comes after the agents it requires, file order
 * otherwise: systemd resolves Requires= when a transient unit is created, so a dependency must exist
 * (be created earlier on the same connection) by then. "ret_order" gets p->n_agents indices. A cycle
 * (which the profile library rejects) leaves the rest in file order. */
int plan_start_order(const Profile *p, size_t **ret_order);

typedef enum AgentAction {
        AGENT_ACTION_KEEP,              /* identical: nothing to do */
        AGENT_ACTION_SET_PROPERTIES,    /* only runtime-changeable limits differ: SetUnitProperties */
        AGENT_ACTION_RESTART,           /* anything else differs (command, sandbox...): stop, then start */
        AGENT_ACTION_START,             /* new in the profile */
        AGENT_ACTION_STOP,              /* not in the new profile */
        _AGENT_ACTION_MAX,
        _AGENT_ACTION_INVALID = -EINVAL,
} AgentAction;

const char *agent_action_to_string(AgentAction a) _const_;

typedef struct AgentStep {
        char *agent;
        AgentAction action;
        bool lazy;                      /* of the profile the step acts on (old one for STOP) */
        UnitSpec *changes;              /* SET_PROPERTIES: the properties to set on the service */
} AgentStep;

typedef struct SwitchPlan {
        AgentStep *steps;               /* STOP steps of the old profile first, then the new profile's order */
        size_t n_steps;
        UnitSpec *slice_before;         /* budget while both profiles' agents may exist: max of the two */
        UnitSpec *slice_after;          /* the new profile's budget, applied once stops are done */
} SwitchPlan;

SwitchPlan *switch_plan_free(SwitchPlan *p);
DEFINE_TRIVIAL_CLEANUP_FUNC(SwitchPlan *, switch_plan_free);

/* From "old" (NULL: nothing deployed) to "new" (NULL: stop everything). */
int plan_switch(const Profile *old, const Profile *new, unsigned systemd_version, unsigned n_cpus,
                SwitchPlan **ret);
size_t switch_plan_count(const SwitchPlan *p, AgentAction a);
