/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Agents as they run, and the profile state derived from them. */

#include "agent-runtime.h"
#include "plan.h"
#include "string-util.h"
#include "strv.h"

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
        sd_bus_slot_unref(a->slot_service);
        sd_bus_slot_unref(a->slot_socket);
        free(a->name);
        free(a->description);
        free(a->profile);
        strv_free(a->requires);
        free(a->unit);
        free(a->socket_unit);
        free(a->object_path);
        free(a->active_state);
        free(a->sub_state);
        free(a->result);
        free(a->socket_state);
        free(a->start_job);
        free(a->breaker);
        return mfree(a);
}

int agent_runtime_update(AgentRuntime *rt, const Agent *a, const char *profile) {
        char **req;
        int r;

        r = free_and_strdup(&rt->description, a->description ?: a->name);
        if (r < 0)
                return r;
        r = free_and_strdup(&rt->profile, profile);
        if (r < 0)
                return r;
        r = strv_copy(a->requires, &req);
        if (r < 0)
                return r;
        strv_free(rt->requires);
        rt->requires = req;
        rt->essential = a->essential;
        rt->memory_max = a->memory_max;
        rt->leaving = false;
        return 0;
}

int agent_runtime_new(const Agent *a, const char *profile, AgentRuntime **ret) {
        _cleanup_(agent_runtime_freep) AgentRuntime *rt = NULL;
        int r;

        rt = calloc(1, sizeof(AgentRuntime));
        if (!rt)
                return -ENOMEM;
        rt->name = strdup(a->name);
        rt->breaker = strdup("closed");
        if (!rt->name || !rt->breaker)
                return -ENOMEM;
        rt->lazy = a->lazy_listen;
        rt->health = 1.0;
        r = plan_unit_name(a->name, "service", &rt->unit);
        if (r < 0)
                return r;
        if (rt->lazy) {
                r = plan_unit_name(a->name, "socket", &rt->socket_unit);
                if (r < 0)
                        return r;
        }
        r = sd_bus_path_encode("/org/unified1/agent", a->name, &rt->object_path);
        if (r < 0)
                return r;
        r = agent_runtime_update(rt, a, profile);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(rt);
        return 0;
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
        if (a->lazy && (streq_ptr(a->socket_state, "active") || streq_ptr(a->socket_state, "reloading")))
                /* Listening and waiting for its first client: exactly what a lazy agent should do. */
                return AGENT_STATUS_OK;
        if (a->condition_failed)
                return AGENT_STATUS_SKIPPED;
        return AGENT_STATUS_DOWN;
}

ProfileState profile_state_from_agents(AgentRuntime * const *agents, size_t n, bool settled) {
        bool pending = false, failed = false, degraded = false;

        for (size_t i = 0; i < n; i++) {
                AgentStatus s = agent_runtime_status(agents[i]);

                switch (s) {
                case AGENT_STATUS_PENDING:
                        pending = true;
                        break;
                case AGENT_STATUS_FAILED:
                        if (agents[i]->essential)
                                failed = true;
                        else
                                degraded = true;
                        break;
                case AGENT_STATUS_DOWN:
                        degraded = true;
                        break;
                default:
                        break;
                }
                if (!streq_ptr(agents[i]->breaker, "closed") && agents[i]->breaker) {
                        if (agents[i]->essential && streq(agents[i]->breaker, "open"))
                                failed = true;
                        else
                                degraded = true;
                }
        }

        if (pending && !settled)
                return PROFILE_STATE_STARTING;
        if (failed)
                return PROFILE_STATE_FAILED;
        if (degraded || pending)
                return PROFILE_STATE_DEGRADED;
        return PROFILE_STATE_RUNNING;
}

static int read_string(sd_bus_message *m, char **field) {
        const char *s;
        int r;

        r = sd_bus_message_read(m, "v", "s", &s);
        if (r < 0)
                return r;
        return free_and_strdup(field, s);
}

int agent_runtime_apply_property(AgentRuntime *a, const char *interface, const char *property, sd_bus_message *m) {
        uint32_t u;
        int b, r;

        if (streq(interface, "org.freedesktop.systemd1.Unit")) {
                if (streq(property, "ActiveState"))
                        return read_string(m, &a->active_state);
                if (streq(property, "SubState"))
                        return read_string(m, &a->sub_state);
                if (streq(property, "ConditionResult")) {
                        r = sd_bus_message_read(m, "v", "b", &b);
                        if (r < 0)
                                return r;
                        /* Only meaningful once a start was attempted; before that systemd reports false. */
                        if (a->condition_failed == !b)
                                return 0;
                        a->condition_failed = !b;
                        return 1;
                }
        } else if (streq(interface, "org.freedesktop.systemd1.Service")) {
                if (streq(property, "Result"))
                        return read_string(m, &a->result);
                if (streq(property, "MainPID") || streq(property, "NRestarts")) {
                        uint32_t *f = streq(property, "MainPID") ? &a->main_pid : &a->n_restarts;

                        r = sd_bus_message_read(m, "v", "u", &u);
                        if (r < 0)
                                return r;
                        if (*f == u)
                                return 0;
                        *f = u;
                        return 1;
                }
        } else if (streq(interface, AGENT_SOCKET_UNIT_INTERFACE)) {
                if (streq(property, "ActiveState"))
                        return read_string(m, &a->socket_state);
        }

        r = sd_bus_message_skip(m, "v");
        return r < 0 ? r : 0;
}
