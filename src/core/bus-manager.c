/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The org.unified1 objects: Manager, Profile and Agent vtables, node enumerators, object manager. */

#include <stdio.h>

#include "agent-control.h"
#include "bus-error.h"
#include "bus-log-control.h"
#include "bus-manager.h"
#include "chaos.h"
#include "config.h"
#include "log.h"
#include "plan.h"
#include "polkit.h"
#include "profile.h"
#include "strv.h"
#include "supervisor.h"

#define ACTION_MANAGE_PROFILES "org.unified1.manage-profiles"
#define ACTION_MANAGE_AGENTS "org.unified1.manage-agents"

/* ---------------------------------------------------------------------------------------------------
 * Manager */

static int property_get_version(sd_bus *bus, const char *path, const char *interface, const char *property,
                                sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        return sd_bus_message_append(reply, "s", PROJECT_VERSION);
}

static int property_get_active_profile(sd_bus *bus, const char *path, const char *interface, const char *property,
                                       sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        return sd_bus_message_append(reply, "s", manager_active_profile_name(userdata));
}

static int property_get_state(sd_bus *bus, const char *path, const char *interface, const char *property,
                              sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        return sd_bus_message_append(reply, "s", profile_state_to_string(m->state));
}


static int property_get_n_agents(sd_bus *bus, const char *path, const char *interface, const char *property,
                                 sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        return sd_bus_message_append(reply, "u", (uint32_t) m->n_agents);
}


/* A histogram as "(att)": the per-bucket counts (not cumulative; HISTOGRAM_N_BOUNDS + 1 of them, the
 * last one +Inf) and the sum of the observations in µs. An empty one for NULL. */
static int append_histogram(sd_bus_message *reply, const Histogram *h) {
        static const Histogram empty = {};
        int r;

        h = h ?: &empty;
        r = sd_bus_message_open_container(reply, 'r', "att");
        if (r < 0)
                return r;
        r = sd_bus_message_append_array(reply, 't', h->buckets, sizeof(h->buckets));
        if (r < 0)
                return r;
        r = sd_bus_message_append(reply, "t", (uint64_t) h->sum);
        if (r < 0)
                return r;
        return sd_bus_message_close_container(reply);
}

static int property_get_recovery_durations(sd_bus *bus, const char *path, const char *interface,
                                           const char *property, sd_bus_message *reply, void *userdata,
                                           sd_bus_error *error) {
        Manager *m = userdata;
        return append_histogram(reply, m->supervisor ? supervisor_recovery_histogram(m->supervisor) : NULL);
}

static int property_get_faults(sd_bus *bus, const char *path, const char *interface, const char *property,
                               sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        ChaosFaultStatus s;
        int r;

        r = sd_bus_message_open_container(reply, 'a', "(tssss)");
        for (size_t i = 0; r >= 0 && chaos_fault_status(m->chaos, i, &s) >= 0; i++)
                r = sd_bus_message_append(reply, "(tssss)", s.id, s.kind, s.agent, s.phase, s.detail);
        if (r < 0)
                return r;
        return sd_bus_message_close_container(reply);
}

static int method_list_profiles(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        Manager *m = userdata;
        int r;

        r = sd_bus_message_new_method_return(msg, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(reply, 'a', "(sso)");
        if (r < 0)
                return r;
        for (size_t i = 0; i < m->n_profiles; i++) {
                ProfileEntry *e = m->profiles[i];

                r = sd_bus_message_append(reply, "(sso)", e->name,
                                          e->profile ? strempty(e->profile->description) : "", e->object_path);
                if (r < 0)
                        return r;
        }
        r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

static int method_list_agents(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        Manager *m = userdata;
        int r;

        r = sd_bus_message_new_method_return(msg, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(reply, 'a', "(ssssdso)");
        if (r < 0)
                return r;
        for (size_t i = 0; i < m->n_agents; i++) {
                AgentRuntime *a = m->agents[i];

                r = sd_bus_message_append(reply, "(ssssdso)", a->name, a->unit, a->active_state ?: "inactive",
                                          breaker_state_to_string(a->breaker.state), a->health,
                                          manager_active_profile_name(m), a->object_path);
                if (r < 0)
                        return r;
        }
        r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

static int method_get_profile(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        const char *name;
        ProfileEntry *e;
        int r;

        r = sd_bus_message_read(msg, "s", &name);
        if (r < 0)
                return r;
        if (!manager_name_is_valid(name))
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Invalid profile name '%s'.", name);
        e = manager_find_profile(m, name);
        if (!e)
                return sd_bus_error_setf(error, BUS_ERROR_NO_SUCH_PROFILE, "No profile '%s'.", name);
        return sd_bus_reply_method_return(msg, "o", e->object_path);
}

static int lookup_agent(Manager *m, const char *name, AgentRuntime **ret, sd_bus_error *error) {
        AgentRuntime *a = NULL;

        if (!manager_name_is_valid(name))
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Invalid agent name '%s'.", name);
        if (!m->active)
                return sd_bus_error_setf(error, BUS_ERROR_NO_ACTIVE_PROFILE, "No profile is active.");
        a = manager_find_agent(m, name);
        if (!a)
                return sd_bus_error_setf(error, BUS_ERROR_NO_SUCH_AGENT, "Profile '%s' has no agent '%s'.",
                                         m->active->name, name);
        *ret = a;
        return 0;
}

static int method_get_agent(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        AgentRuntime *a = NULL;
        const char *name;
        int r;

        r = sd_bus_message_read(msg, "s", &name);
        if (r < 0)
                return r;
        r = lookup_agent(userdata, name, &a, error);
        if (r < 0)
                return r;
        return sd_bus_reply_method_return(msg, "o", a->object_path);
}

static int method_start_profile(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        const char *name;
        int r;

        r = sd_bus_message_read(msg, "s", &name);
        if (r < 0)
                return r;
        if (!manager_name_is_valid(name))
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Invalid profile name '%s'.", name);
        r = polkit_check(m->polkit, msg, ACTION_MANAGE_PROFILES, error);
        if (r < 0)
                return r;
        if (r == 0)
                return 1; /* polkit is asked; this call comes back with the answer */
        r = manager_start_profile(m, name, error);
        if (r < 0)
                return r;
        return sd_bus_reply_method_return(msg, NULL);
}

/* unified@X.service's ExecStop= calls StopProfile(X). When we stopped that instance ourselves (a switch away
 * from X), the call is the echo of our own stop, and it may come late: the sandboxed ExecStop= can take
 * longer than a switch back to X, and must not stop the X that is active again. Told apart by the caller's
 * unit (its cgroup), which only a process of unified@X.service has. */
static bool is_echo_of_our_instance_stop(Manager *m, sd_bus_message *msg, const char *name) {
        _cleanup_(sd_bus_creds_unrefp) sd_bus_creds *creds = NULL;
        _cleanup_free_ char *instance = NULL;
        const char *unit;

        if (isempty(name) || m->n_instance_stops == 0)
                return false;
        if (sd_bus_query_sender_creds(msg, SD_BUS_CREDS_PID | SD_BUS_CREDS_UNIT | SD_BUS_CREDS_AUGMENT, &creds) < 0 ||
            sd_bus_creds_get_unit(creds, &unit) < 0)
                return false;
        if (asprintf(&instance, "unified@%s.service", name) < 0 || !streq(unit, instance))
                return false;
        return manager_instance_stop_is_ours(m, instance);
}

static int method_stop_profile(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        const char *name;
        int r;

        r = sd_bus_message_read(msg, "s", &name);
        if (r < 0)
                return r;
        if (!isempty(name) && !manager_name_is_valid(name))
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Invalid profile name '%s'.", name);
        r = polkit_check(m->polkit, msg, ACTION_MANAGE_PROFILES, error);
        if (r < 0)
                return r;
        if (r == 0)
                return 1;
        if (is_echo_of_our_instance_stop(m, msg, name)) {
                log_debug("StopProfile(%s) from the ExecStop= of an instance we stopped ourselves: nothing to do.", name);
                return sd_bus_reply_method_return(msg, NULL);
        }
        r = manager_stop_profile(m, name, error);
        if (r < 0)
                return r;
        return sd_bus_reply_method_return(msg, NULL);
}

static int method_reload_profiles(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;
        int r;

        r = polkit_check(m->polkit, msg, ACTION_MANAGE_PROFILES, error);
        if (r < 0)
                return r;
        if (r == 0)
                return 1;
        r = manager_reload_profiles(m, error);
        if (r < 0)
                return r;
        return sd_bus_reply_method_return(msg, NULL);
}

static int restart_agent(Manager *m, sd_bus_message *msg, const char *name, sd_bus_error *error) {
        AgentRuntime *a = NULL;
        int r;

        r = lookup_agent(m, name, &a, error);
        if (r < 0)
                return r;
        r = polkit_check(m->polkit, msg, ACTION_MANAGE_AGENTS, error);
        if (r < 0)
                return r;
        if (r == 0)
                return 1;
        /* Replies when systemd has queued the restart. */
        return agent_restart(a, msg, error);
}

static int breaker_control(Manager *m, sd_bus_message *msg, const char *name, bool open, sd_bus_error *error) {
        AgentRuntime *a = NULL;
        int r;

        r = lookup_agent(m, name, &a, error);
        if (r < 0)
                return r;
        r = polkit_check(m->polkit, msg, ACTION_MANAGE_AGENTS, error);
        if (r < 0)
                return r;
        if (r == 0)
                return 1;
        if (open)
                supervisor_open_breaker(m->supervisor, a);
        else
                supervisor_reset_breaker(m->supervisor, a);
        return sd_bus_reply_method_return(msg, NULL);
}

static int method_reset_breaker(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        const char *name;
        int r;

        r = sd_bus_message_read(msg, "s", &name);
        if (r < 0)
                return r;
        return breaker_control(userdata, msg, name, false, error);
}

static int method_open_breaker(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        const char *name;
        int r;

        r = sd_bus_message_read(msg, "s", &name);
        if (r < 0)
                return r;
        return breaker_control(userdata, msg, name, true, error);
}

static int method_restart_agent(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        const char *name;
        int r;

        r = sd_bus_message_read(msg, "s", &name);
        if (r < 0)
                return r;
        return restart_agent(userdata, msg, name, error);
}

static const sd_bus_vtable manager_vtable[] = {
        SD_BUS_VTABLE_START(0),

        SD_BUS_PROPERTY("Version", "s", property_get_version, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("ActiveProfile", "s", property_get_active_profile, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("State", "s", property_get_state, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("HealthScore", "d", NULL, offsetof(Manager, health_score), SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("NAgents", "u", property_get_n_agents, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("NActiveAgents", "u", NULL, offsetof(Manager, n_active_agents), SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("SystemdVersion", "u", NULL, offsetof(Manager, systemd_version), SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("RecoveryDurations", "(att)", property_get_recovery_durations, 0, 0),
        /* Read on demand, not announced: it changes with every step of every fault. */
        SD_BUS_PROPERTY("Faults", "a(tssss)", property_get_faults, 0, 0),

        SD_BUS_METHOD_WITH_ARGS("ListProfiles", SD_BUS_NO_ARGS, SD_BUS_RESULT("a(sso)", profiles),
                                method_list_profiles, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("ListAgents", SD_BUS_NO_ARGS, SD_BUS_RESULT("a(ssssdso)", agents),
                                method_list_agents, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("GetProfile", SD_BUS_ARGS("s", name), SD_BUS_RESULT("o", path),
                                method_get_profile, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("GetAgent", SD_BUS_ARGS("s", name), SD_BUS_RESULT("o", path),
                                method_get_agent, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("StartProfile", SD_BUS_ARGS("s", name), SD_BUS_NO_RESULT,
                                method_start_profile, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("StopProfile", SD_BUS_ARGS("s", name), SD_BUS_NO_RESULT,
                                method_stop_profile, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("ReloadProfiles", SD_BUS_NO_ARGS, SD_BUS_NO_RESULT,
                                method_reload_profiles, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("RestartAgent", SD_BUS_ARGS("s", agent), SD_BUS_NO_RESULT,
                                method_restart_agent, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("InjectFault",
                                SD_BUS_ARGS("s", kind, "s", agent, "t", duration_usec, "a{sv}", options),
                                SD_BUS_RESULT("t", fault_id), chaos_method_inject_fault,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("ResetBreaker", SD_BUS_ARGS("s", agent), SD_BUS_NO_RESULT,
                                method_reset_breaker, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("OpenBreaker", SD_BUS_ARGS("s", agent), SD_BUS_NO_RESULT,
                                method_open_breaker, SD_BUS_VTABLE_UNPRIVILEGED),

        SD_BUS_SIGNAL_WITH_ARGS("ProfileStateChanged", SD_BUS_ARGS("s", profile, "s", state), 0),
        SD_BUS_SIGNAL_WITH_ARGS("BreakerChanged", SD_BUS_ARGS("s", agent, "s", state, "s", reason), 0),
        SD_BUS_SIGNAL_WITH_ARGS("AgentFailed", SD_BUS_ARGS("s", agent, "s", result), 0),
        SD_BUS_SIGNAL_WITH_ARGS("FaultFinished",
                                SD_BUS_ARGS("t", id, "t", parent, "s", kind, "s", agent, "b", recovered,
                                            "t", injected_usec, "t", detected_usec, "t", undone_usec,
                                            "t", recovered_usec, "s", detail),
                                0),

        SD_BUS_VTABLE_END,
};

/* ---------------------------------------------------------------------------------------------------
 * Profile objects */

static int profile_find(sd_bus *bus, const char *path, const char *interface, void *userdata, void **found,
                        sd_bus_error *error) {
        _cleanup_free_ char *name = NULL;
        ProfileEntry *e;
        int r;

        r = sd_bus_path_decode(path, UNIFIED_PROFILE_PATH_PREFIX, &name);
        if (r <= 0)
                return r;
        e = manager_find_profile(userdata, name);
        if (!e)
                return 0;
        *found = e;
        return 1;
}

static int profile_enumerate(sd_bus *bus, const char *path, void *userdata, char ***nodes, sd_bus_error *error) {
        _cleanup_strv_free_ char **l = NULL;
        Manager *m = userdata;
        int r;

        for (size_t i = 0; i < m->n_profiles; i++) {
                r = strv_extend(&l, m->profiles[i]->object_path);
                if (r < 0)
                        return r;
        }
        *nodes = TAKE_PTR(l);
        return 1;
}

static int property_get_profile_string(sd_bus *bus, const char *path, const char *interface,
                                       const char *property, sd_bus_message *reply, void *userdata,
                                       sd_bus_error *error) {
        ProfileEntry *e = userdata;
        const char *v = NULL;

        if (streq(property, "Name"))
                v = e->name;
        else if (streq(property, "Path"))
                v = e->path;
        else if (streq(property, "Error"))
                v = e->error;
        else if (e->profile && streq(property, "Description"))
                v = e->profile->description;
        else if (e->profile && streq(property, "Extends"))
                v = e->profile->extends;
        return sd_bus_message_append(reply, "s", strempty(v));
}

static int property_get_profile_agents(sd_bus *bus, const char *path, const char *interface,
                                       const char *property, sd_bus_message *reply, void *userdata,
                                       sd_bus_error *error) {
        ProfileEntry *e = userdata;
        int r;

        r = sd_bus_message_open_container(reply, 'a', "s");
        if (r < 0)
                return r;
        for (size_t i = 0; e->profile && i < e->profile->n_agents; i++) {
                r = sd_bus_message_append(reply, "s", e->profile->agents[i]->name);
                if (r < 0)
                        return r;
        }
        return sd_bus_message_close_container(reply);
}

static int property_get_profile_budget(sd_bus *bus, const char *path, const char *interface,
                                       const char *property, sd_bus_message *reply, void *userdata,
                                       sd_bus_error *error) {
        ProfileEntry *e = userdata;
        _cleanup_(unit_spec_freep) UnitSpec *slice = NULL;
        const UnitProperty *p;
        int r;

        if (!e->profile)
                return sd_bus_message_append(reply, "t", UINT64_MAX);
        r = plan_slice(e->profile, e->manager->n_cpus, &slice);
        if (r < 0)
                return r;
        p = unit_spec_get(slice, property);
        return sd_bus_message_append(reply, "t", p ? p->t : UINT64_MAX);
}

static int property_get_profile_active(sd_bus *bus, const char *path, const char *interface,
                                       const char *property, sd_bus_message *reply, void *userdata,
                                       sd_bus_error *error) {
        ProfileEntry *e = userdata;
        return sd_bus_message_append(reply, "b", (int) streq(manager_active_profile_name(e->manager), e->name));
}

static int property_get_profile_last_start(sd_bus *bus, const char *path, const char *interface,
                                           const char *property, sd_bus_message *reply, void *userdata,
                                           sd_bus_error *error) {
        ProfileEntry *e = userdata;
        Supervisor *s = e->manager->supervisor;
        return sd_bus_message_append(reply, "t", (uint64_t) (s ? supervisor_last_start_duration(s, e->name) : USEC_INFINITY));
}

static const sd_bus_vtable profile_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Name", "s", property_get_profile_string, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Description", "s", property_get_profile_string, 0, 0),
        SD_BUS_PROPERTY("Path", "s", property_get_profile_string, 0, 0),
        SD_BUS_PROPERTY("Extends", "s", property_get_profile_string, 0, 0),
        SD_BUS_PROPERTY("Error", "s", property_get_profile_string, 0, 0),
        SD_BUS_PROPERTY("Agents", "as", property_get_profile_agents, 0, 0),
        SD_BUS_PROPERTY("MemoryMax", "t", property_get_profile_budget, 0, 0),
        SD_BUS_PROPERTY("CPUQuotaPerSecUSec", "t", property_get_profile_budget, 0, 0),
        SD_BUS_PROPERTY("Active", "b", property_get_profile_active, 0, 0),
        SD_BUS_PROPERTY("LastStartUSec", "t", property_get_profile_last_start, 0, 0),
        SD_BUS_VTABLE_END,
};

/* ---------------------------------------------------------------------------------------------------
 * Agent objects */

static int agent_find(sd_bus *bus, const char *path, const char *interface, void *userdata, void **found,
                      sd_bus_error *error) {
        _cleanup_free_ char *name = NULL;
        AgentRuntime *a = NULL;
        int r;

        r = sd_bus_path_decode(path, UNIFIED_AGENT_PATH_PREFIX, &name);
        if (r <= 0)
                return r;
        a = manager_find_agent(userdata, name);
        if (!a)
                return 0;
        *found = a;
        return 1;
}

static int agent_enumerate(sd_bus *bus, const char *path, void *userdata, char ***nodes, sd_bus_error *error) {
        _cleanup_strv_free_ char **l = NULL;
        Manager *m = userdata;
        int r;

        for (size_t i = 0; i < m->n_agents; i++) {
                r = strv_extend(&l, m->agents[i]->object_path);
                if (r < 0)
                        return r;
        }
        *nodes = TAKE_PTR(l);
        return 1;
}

static int property_get_agent_bool(sd_bus *bus, const char *path, const char *interface, const char *property,
                                   sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        AgentRuntime *a = userdata;
        bool b = false;

        if (streq(property, "Essential"))
                b = agent_runtime_is_essential(a);
        else if (streq(property, "Lazy"))
                b = agent_runtime_is_lazy(a);
        else if (streq(property, "Waiting"))
                b = supervisor_agent_is_waiting(a->manager->supervisor, a);
        return sd_bus_message_append(reply, "b", (int) b);
}

static int property_get_agent_string(sd_bus *bus, const char *path, const char *interface, const char *property,
                                     sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        AgentRuntime *a = userdata;
        const char *v = NULL;

        if (streq(property, "ActiveState"))
                v = a->active_state ?: "inactive";
        else if (streq(property, "Breaker"))
                /* The breaker's state is an enum everywhere but here and in the metrics. */
                v = breaker_state_to_string(a->breaker.state);
        else if (streq(property, "Profile"))
                v = manager_active_profile_name(a->manager);
        else if (streq(property, "Description"))
                v = a->def && a->def->description ? a->def->description : a->name;
        return sd_bus_message_append(reply, "s", strempty(v));
}

static int property_get_agent_breaker_trips(sd_bus *bus, const char *path, const char *interface,
                                            const char *property, sd_bus_message *reply, void *userdata,
                                            sd_bus_error *error) {
        AgentRuntime *a = userdata;
        return sd_bus_message_append(reply, "u", (uint32_t) MIN(a->breaker.trips_total, (uint64_t) UINT32_MAX));
}

static int property_get_agent_memory_max(sd_bus *bus, const char *path, const char *interface,
                                         const char *property, sd_bus_message *reply, void *userdata,
                                         sd_bus_error *error) {
        AgentRuntime *a = userdata;
        return sd_bus_message_append(reply, "t", a->def ? a->def->memory_max : UINT64_MAX);
}

static int property_get_agent_requires(sd_bus *bus, const char *path, const char *interface,
                                       const char *property, sd_bus_message *reply, void *userdata,
                                       sd_bus_error *error) {
        AgentRuntime *a = userdata;
        return sd_bus_message_append_strv(reply, a->def && a->def->requires ? a->def->requires : (char *[]) { NULL });
}

static int property_get_agent_memory_current(sd_bus *bus, const char *path, const char *interface,
                                             const char *property, sd_bus_message *reply, void *userdata,
                                             sd_bus_error *error) {
        AgentRuntime *a = userdata;
        _cleanup_free_ char *p = NULL;
        unsigned long long v;
        uint64_t value = UINT64_MAX;
        FILE *f;

        /* cgroupfs files are served from memory: reading one never blocks. */
        if (asprintf(&p, "/sys/fs/cgroup/" UNIFIED_SLICE "/%s/memory.current", a->unit) < 0)
                return -ENOMEM;
        f = fopen(p, "re");
        if (f) {
                if (fscanf(f, "%llu", &v) == 1)
                        value = v;
                fclose(f);
        }
        return sd_bus_message_append(reply, "t", value);
}

/* Lifetime counters, for the metrics exporter. */
static int property_get_agent_counter(sd_bus *bus, const char *path, const char *interface,
                                      const char *property, sd_bus_message *reply, void *userdata,
                                      sd_bus_error *error) {
        AgentRuntime *a = userdata;
        bool lazy = agent_runtime_is_lazy(a);
        uint64_t v = UINT64_MAX;

        if (streq(property, "RestartsTotal"))
                v = a->restarts_total;
        else if (streq(property, "BreakerTransitions"))
                v = a->breaker.transitions_total;
        else if (streq(property, "JournalErrorLines"))
                v = a->journal_error_lines;
        else if (streq(property, "LazyActivations"))
                v = lazy ? a->lazy_activations : UINT64_MAX;
        else if (streq(property, "LazyActivationFailures"))
                v = lazy ? a->lazy_activation_failures : UINT64_MAX;
        return sd_bus_message_append(reply, "t", v);
}

static int property_get_agent_lazy_durations(sd_bus *bus, const char *path, const char *interface,
                                             const char *property, sd_bus_message *reply, void *userdata,
                                             sd_bus_error *error) {
        AgentRuntime *a = userdata;
        return append_histogram(reply, agent_runtime_is_lazy(a) ? &a->lazy_latency : NULL);
}

static int property_get_agent_cpu_quota(sd_bus *bus, const char *path, const char *interface,
                                        const char *property, sd_bus_message *reply, void *userdata,
                                        sd_bus_error *error) {
        AgentRuntime *a = userdata;
        const Agent *def = a->def;

        /* Permyriad of one CPU -> µs of CPU time per second, as systemd's property of that name. */
        return sd_bus_message_append(reply, "t", def && def->cpu_quota > 0 ? def->cpu_quota * 100 : UINT64_MAX);
}

static int method_agent_restart(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        AgentRuntime *a = userdata;
        return restart_agent(a->manager, msg, a->name, error);
}

static int method_agent_reset_breaker(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        AgentRuntime *a = userdata;
        return breaker_control(a->manager, msg, a->name, false, error);
}

static const sd_bus_vtable agent_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Name", "s", NULL, offsetof(AgentRuntime, name), SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Description", "s", property_get_agent_string, 0, 0),
        SD_BUS_PROPERTY("Profile", "s", property_get_agent_string, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Unit", "s", NULL, offsetof(AgentRuntime, unit), SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("ActiveState", "s", property_get_agent_string, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("SubState", "s", NULL, offsetof(AgentRuntime, sub_state), SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Result", "s", NULL, offsetof(AgentRuntime, result), SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("MainPID", "u", NULL, offsetof(AgentRuntime, main_pid), SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Restarts", "u", NULL, offsetof(AgentRuntime, n_restarts), SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Breaker", "s", property_get_agent_string, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("BreakerTrips", "u", property_get_agent_breaker_trips, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Health", "d", NULL, offsetof(AgentRuntime, health), SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Essential", "b", property_get_agent_bool, 0, 0),
        SD_BUS_PROPERTY("Lazy", "b", property_get_agent_bool, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Waiting", "b", property_get_agent_bool, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Requires", "as", property_get_agent_requires, 0, 0),
        SD_BUS_PROPERTY("MemoryMax", "t", property_get_agent_memory_max, 0, 0),
        SD_BUS_PROPERTY("MemoryCurrent", "t", property_get_agent_memory_current, 0, 0),
        SD_BUS_PROPERTY("CPUQuotaPerSecUSec", "t", property_get_agent_cpu_quota, 0, 0),
        SD_BUS_PROPERTY("RestartsTotal", "t", property_get_agent_counter, 0, 0),
        SD_BUS_PROPERTY("BreakerTransitions", "t", property_get_agent_counter, 0, 0),
        SD_BUS_PROPERTY("JournalErrorLines", "t", property_get_agent_counter, 0, 0),
        SD_BUS_PROPERTY("LazyActivations", "t", property_get_agent_counter, 0, 0),
        SD_BUS_PROPERTY("LazyActivationFailures", "t", property_get_agent_counter, 0, 0),
        SD_BUS_PROPERTY("LazyActivationDurations", "(att)", property_get_agent_lazy_durations, 0, 0),
        SD_BUS_METHOD_WITH_ARGS("Restart", SD_BUS_NO_ARGS, SD_BUS_NO_RESULT, method_agent_restart,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("ResetBreaker", SD_BUS_NO_ARGS, SD_BUS_NO_RESULT, method_agent_reset_breaker,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END,
};

/* ---------------------------------------------------------------------------------------------------
 * Announcements: model code marks what changed, this emits it once per loop iteration (the way systemd's
 * unit_add_to_dbus_queue() works), so that a burst of signals from systemd about one agent becomes one
 * PropertiesChanged. Signals that are events, not state, go out at once. */

static void bus_manager_flush(Manager *m) {
        static const char *const manager_names[][3] = {
                { "ActiveProfile", "NAgents", NULL },           /* MANAGER_DIRTY_PROFILE */
                { "State", NULL, NULL },                        /* MANAGER_DIRTY_STATE */
                { "HealthScore", "NActiveAgents", NULL },       /* MANAGER_DIRTY_HEALTH */
        };
        static const char *const agent_names[][7] = {
                { "ActiveState", "SubState", "Result", "MainPID", "Restarts", "Waiting", NULL },  /* AGENT_DIRTY_UNIT */
                { "Breaker", "BreakerTrips", NULL },                                            /* AGENT_DIRTY_BREAKER */
                { "Health", NULL },                                                             /* AGENT_DIRTY_HEALTH */
                { "Profile", NULL },                                                            /* AGENT_DIRTY_PROFILE */
        };

        while (m->dbus_queue) {
                AgentRuntime *a = m->dbus_queue;
                const char *names[16];
                size_t n = 0;

                m->dbus_queue = a->dbus_queue_next;
                a->dbus_queue_next = NULL;
                a->in_dbus_queue = false;
                /* One signal per agent, with everything that changed. */
                for (size_t i = 0; i < ELEMENTSOF(agent_names); i++)
                        if (a->dirty & (1u << i))
                                for (const char *const *p = agent_names[i]; *p; p++)
                                        names[n++] = *p;
                names[n] = NULL;
                a->dirty = 0;
                if (n > 0)
                        (void) sd_bus_emit_properties_changed_strv(m->bus, a->object_path, UNIFIED_AGENT_IFACE,
                                                                   (char **) names);
        }

        if (m->dirty != 0) {
                const char *names[8];
                size_t n = 0;

                for (size_t i = 0; i < ELEMENTSOF(manager_names); i++)
                        if (m->dirty & (1u << i))
                                for (const char *const *p = manager_names[i]; *p; p++)
                                        names[n++] = *p;
                names[n] = NULL;
                (void) sd_bus_emit_properties_changed_strv(m->bus, UNIFIED_OBJECT_PATH, UNIFIED_MANAGER_IFACE,
                                                           (char **) names);
        }
        if (m->dirty & MANAGER_DIRTY_STATE)
                (void) sd_bus_emit_signal(m->bus, UNIFIED_OBJECT_PATH, UNIFIED_MANAGER_IFACE, "ProfileStateChanged",
                                          "ss", manager_active_profile_name(m), profile_state_to_string(m->state));
        m->dirty = 0;
}

static int on_dbus_event(sd_event_source *source, void *userdata) {
        bus_manager_flush(userdata);
        return 0;
}

static void bus_manager_schedule(Manager *m) {
        int r;

        if (m->dbus_event) {
                r = sd_event_source_set_enabled(m->dbus_event, SD_EVENT_ONESHOT);
                if (r >= 0)
                        return;
        } else {
                r = sd_event_add_defer(m->event, &m->dbus_event, on_dbus_event, m);
                /* After the state recomputation (SD_EVENT_PRIORITY_IDLE): one flush shows both. */
                if (r >= 0)
                        r = sd_event_source_set_priority(m->dbus_event, SD_EVENT_PRIORITY_IDLE + 1);
                if (r >= 0) {
                        (void) sd_event_source_set_description(m->dbus_event, "bus-announce");
                        return;
                }
                m->dbus_event = sd_event_source_disable_unref(m->dbus_event);
        }
        log_debug_errno(r, "Failed to queue announcements, sending them now: %m");
        bus_manager_flush(m);
}

void bus_agent_changed(AgentRuntime *a, AgentDirty what) {
        Manager *m = a->manager;

        if (!m || a->leaving)
                return;
        a->dirty |= what;
        if (!a->in_dbus_queue) {
                a->in_dbus_queue = true;
                a->dbus_queue_next = m->dbus_queue;
                m->dbus_queue = a;
        }
        bus_manager_schedule(m);
}

void bus_agent_forget(AgentRuntime *a) {
        Manager *m = a->manager;

        if (!m || !a->in_dbus_queue)
                return;
        for (AgentRuntime **p = &m->dbus_queue; *p; p = &(*p)->dbus_queue_next)
                if (*p == a) {
                        *p = a->dbus_queue_next;
                        break;
                }
        a->dbus_queue_next = NULL;
        a->in_dbus_queue = false;
        a->dirty = 0;
}

void bus_manager_changed(Manager *m, ManagerDirty what) {
        m->dirty |= what;
        bus_manager_schedule(m);
}

void bus_agent_added(AgentRuntime *a) {
        (void) sd_bus_emit_object_added(a->manager->bus, a->object_path);
}

void bus_agent_removed(AgentRuntime *a) {
        /* While the object still exists: sd-bus looks up its interfaces. */
        (void) sd_bus_emit_object_removed(a->manager->bus, a->object_path);
        bus_agent_forget(a);
}

void bus_manager_send_agent_failed(Manager *m, AgentRuntime *a, const char *result) {
        (void) sd_bus_emit_signal(m->bus, UNIFIED_OBJECT_PATH, UNIFIED_MANAGER_IFACE, "AgentFailed", "ss", a->name,
                                  result);
}

void bus_manager_send_breaker_changed(Manager *m, AgentRuntime *a, const char *reason) {
        (void) sd_bus_emit_signal(m->bus, UNIFIED_OBJECT_PATH, UNIFIED_MANAGER_IFACE, "BreakerChanged", "sss",
                                  a->name, breaker_state_to_string(a->breaker.state), reason);
}

void bus_manager_send_fault_finished(Manager *m, const BusFaultFinished *f) {
        (void) sd_bus_emit_signal(m->bus, UNIFIED_OBJECT_PATH, UNIFIED_MANAGER_IFACE, "FaultFinished", "ttssbtttts",
                                  f->id, f->parent, f->kind, f->agent, (int) f->recovered, f->injected, f->detected,
                                  f->undone, f->recovered_at, f->detail);
}

int bus_manager_add_objects(Manager *m) {
        int r;

        r = sd_bus_add_object_vtable(m->bus, NULL, UNIFIED_OBJECT_PATH, UNIFIED_MANAGER_IFACE, manager_vtable, m);
        if (r < 0)
                return r;
        r = sd_bus_add_fallback_vtable(m->bus, NULL, UNIFIED_PROFILE_PATH_PREFIX, UNIFIED_PROFILE_IFACE,
                                       profile_vtable, profile_find, m);
        if (r < 0)
                return r;
        r = sd_bus_add_node_enumerator(m->bus, NULL, UNIFIED_PROFILE_PATH_PREFIX, profile_enumerate, m);
        if (r < 0)
                return r;
        r = sd_bus_add_fallback_vtable(m->bus, NULL, UNIFIED_AGENT_PATH_PREFIX, UNIFIED_AGENT_IFACE, agent_vtable,
                                       agent_find, m);
        if (r < 0)
                return r;
        r = sd_bus_add_node_enumerator(m->bus, NULL, UNIFIED_AGENT_PATH_PREFIX, agent_enumerate, m);
        if (r < 0)
                return r;
        r = sd_bus_add_object_manager(m->bus, NULL, UNIFIED_OBJECT_PATH);
        if (r < 0)
                return r;
        return bus_log_control_add(m->bus, "unifiedd");
}
