/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Agents as they run: the runtime object, its status and what systemd reports of its units. */

#include <string.h>

#include "agent-runtime.h"
#include "plan.h"
#include "string-util.h"
#include "strv.h"
#include "systemd-client.h"

static const char *const profile_state_table[_PROFILE_STATE_MAX] = {
        [PROFILE_STATE_INACTIVE] = "inactive",
        [PROFILE_STATE_STARTING] = "starting",
        [PROFILE_STATE_RUNNING] = "running",
        [PROFILE_STATE_DEGRADED] = "degraded",
        [PROFILE_STATE_FAILED] = "failed",
        [PROFILE_STATE_STOPPING] = "stopping",
};

const char *profile_state_to_string(ProfileState s) {
        if (s < 0 || s >= _PROFILE_STATE_MAX)
                return NULL;
        return profile_state_table[s];
}

AgentRuntime *agent_runtime_free(AgentRuntime *a) {
        if (!a)
                return NULL;
        sd_event_source_disable_unref(a->breaker_timer);
        free(a->requires);
        free(a->name);
        free(a->unit);
        free(a->socket_unit);
        free(a->object_path);
        free(a->active_state);
        free(a->sub_state);
        free(a->result);
        free(a->socket_state);
        free(a->start_job);
        return mfree(a);
}

void agent_runtime_update(AgentRuntime *a, const Agent *def) {
        a->def = def;
        a->leaving = false;
        breaker_set_config(&a->breaker, &def->breaker);
}

int agent_runtime_new(const Agent *def, AgentRuntime **ret) {
        _cleanup_(agent_runtime_freep) AgentRuntime *a = NULL;
        int r;

        a = calloc(1, sizeof(AgentRuntime));
        if (!a)
                return -ENOMEM;
        a->def = def;
        a->name = strdup(def->name);
        if (!a->name)
                return -ENOMEM;
        r = plan_unit_name(def->name, "service", &a->unit);
        if (r < 0)
                return r;
        if (def->lazy_listen) {
                r = plan_unit_name(def->name, "socket", &a->socket_unit);
                if (r < 0)
                        return r;
        }
        r = sd_bus_path_encode("/org/unified1/agent", def->name, &a->object_path);
        if (r < 0)
                return r;
        breaker_init(&a->breaker, &def->breaker, now(CLOCK_BOOTTIME));
        a->health = 1.0;
        a->watchdog_at = USEC_INFINITY;
        a->failed_at = USEC_INFINITY;
        a->starting_at = USEC_INFINITY;
        *ret = TAKE_PTR(a);
        return 0;
}

bool agent_runtime_is_lazy(const AgentRuntime *a) {
        return a->socket_unit;
}

bool agent_runtime_is_essential(const AgentRuntime *a) {
        return a->def && a->def->essential;
}

bool agent_runtime_is_active(const AgentRuntime *a) {
        return streq_ptr(a->active_state, "active") || streq_ptr(a->active_state, "reloading");
}

AgentStatus agent_runtime_status(const AgentRuntime *a) {
        if (agent_runtime_is_active(a))
                return AGENT_STATUS_OK;
        if (streq_ptr(a->active_state, "failed"))
                return AGENT_STATUS_FAILED;
        if (streq_ptr(a->active_state, "activating")) {
                if (streq_ptr(a->sub_state, "auto-restart"))
                        return AGENT_STATUS_DOWN;
                return a->first_start_done && !a->start_job ? AGENT_STATUS_DOWN : AGENT_STATUS_PENDING;
        }
        if (a->start_job || a->start_queued || a->start_in_flight || a->start_when_removed)
                return AGENT_STATUS_PENDING;
        if (a->start_failed)
                return AGENT_STATUS_FAILED;
        if (!a->active_state)
                /* Nothing heard from systemd yet (just adopted, the query is on its way). */
                return AGENT_STATUS_PENDING;
        if (agent_runtime_is_lazy(a) && (streq_ptr(a->socket_state, "active") || streq_ptr(a->socket_state, "reloading")))
                /* Listening and waiting for its first client: exactly what a lazy agent should do. */
                return AGENT_STATUS_OK;
        if (a->condition_failed)
                return AGENT_STATUS_SKIPPED;
        return AGENT_STATUS_DOWN;
}

/* One entry of the a{sv}, "msg" positioned at its variant. */
static int unit_property_read(sd_bus_message *msg, const char *interface, const char *name,
                              UnitProperties *p) {
        const void *id;
        size_t l;
        int b = 0, r;

        if (streq(interface, SYSTEMD_UNIT_IFACE)) {
                if (streq(name, "ActiveState"))
                        return sd_bus_message_read(msg, "v", "s", &p->active_state);
                if (streq(name, "SubState"))
                        return sd_bus_message_read(msg, "v", "s", &p->sub_state);
                if (streq(name, "ConditionResult")) {
                        r = sd_bus_message_read(msg, "v", "b", &b);
                        p->has_condition_result = r >= 0;
                        p->condition_result = b;
                        return r;
                }
                if (streq(name, "StateChangeTimestamp")) {
                        r = sd_bus_message_read(msg, "v", "t", &p->state_change);
                        p->has_state_change = r >= 0;
                        return r;
                }
                if (streq(name, "Job")) {
                        r = sd_bus_message_read(msg, "v", "(uo)", NULL, &p->job);
                        p->has_job = r >= 0;
                        return r;
                }
                if (streq(name, "InvocationID")) {
                        r = sd_bus_message_enter_container(msg, 'v', "ay");
                        if (r < 0)
                                return r;
                        r = sd_bus_message_read_array(msg, 'y', &id, &l);
                        if (r < 0)
                                return r;
                        p->invocation = SD_ID128_NULL;
                        if (l == sizeof(sd_id128_t))
                                memcpy(&p->invocation, id, sizeof(sd_id128_t));
                        p->has_invocation = true;
                        return sd_bus_message_exit_container(msg);
                }
        } else if (streq(interface, SYSTEMD_SERVICE_IFACE)) {
                if (streq(name, "Result"))
                        return sd_bus_message_read(msg, "v", "s", &p->result);
                if (streq(name, "MainPID")) {
                        r = sd_bus_message_read(msg, "v", "u", &p->main_pid);
                        p->has_main_pid = r >= 0;
                        return r;
                }
                if (streq(name, "NRestarts")) {
                        r = sd_bus_message_read(msg, "v", "u", &p->n_restarts);
                        p->has_n_restarts = r >= 0;
                        return r;
                }
        }
        return sd_bus_message_skip(msg, "v");
}

int unit_properties_read(sd_bus_message *msg, const char *interface, UnitProperties *ret) {
        UnitProperties p = {};
        int r;

        r = sd_bus_message_enter_container(msg, 'a', "{sv}");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_enter_container(msg, 'e', "sv")) > 0) {
                const char *name;

                r = sd_bus_message_read(msg, "s", &name);
                if (r < 0)
                        return r;
                r = unit_property_read(msg, interface, name, &p);
                if (r < 0)
                        return r;
                r = sd_bus_message_exit_container(msg);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;
        r = sd_bus_message_exit_container(msg);
        if (r < 0)
                return r;
        *ret = p;
        return 0;
}

static int update_u32(uint32_t *field, bool has, uint32_t value) {
        if (!has || *field == value)
                return 0;
        *field = value;
        return 1;
}

int agent_runtime_apply(AgentRuntime *a, bool socket, const UnitProperties *p) {
        struct {
                char **field;
                const char *value;
        } strings[] = {
                { socket ? &a->socket_state : &a->active_state, p->active_state },
                { socket ? NULL : &a->sub_state, p->sub_state },
                { socket ? NULL : &a->result, p->result },
        };
        int changed = 0, r;

        for (size_t i = 0; i < ELEMENTSOF(strings); i++) {
                if (!strings[i].field || !strings[i].value)
                        continue;
                r = free_and_strdup(strings[i].field, strings[i].value);
                if (r < 0)
                        return r;
                changed |= r;
        }
        if (socket)
                return changed;

        /* Only meaningful once a start was attempted; before that systemd reports false. */
        if (p->has_condition_result && a->condition_failed != !p->condition_result) {
                a->condition_failed = !p->condition_result;
                changed = 1;
        }
        if (p->has_state_change)
                a->state_change = p->state_change;
        if (p->has_invocation)
                a->invocation = p->invocation;
        if (p->has_n_restarts) {
                /* Summed over unit lifetimes: a recreated unit counts from 0 again. */
                if (p->n_restarts > a->n_restarts)
                        a->restarts_total += p->n_restarts - a->n_restarts;
                else if (p->n_restarts < a->n_restarts)
                        a->restarts_total += p->n_restarts;
        }
        changed |= update_u32(&a->main_pid, p->has_main_pid, p->main_pid);
        changed |= update_u32(&a->n_restarts, p->has_n_restarts, p->n_restarts);
        return changed;
}
