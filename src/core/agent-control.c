/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The calls the daemon makes about an agent's units, and the signals it follows for them. */

#include <systemd/sd-journal.h>

#include "agent-control.h"
#include "bus-manager.h"
#include "log.h"
#include "manager.h"
#include "message-ids.h"
#include "plan.h"
#include "string-util.h"
#include "strv.h"
#include "supervisor.h"
#include "systemd-client.h"

/* Userdata of one call: the agent is found again by unit name when the reply comes. */
typedef struct AgentCall {
        Manager *manager;
        char *unit;
        char *interface;                /* GetAll: which interface was asked for */
        sd_bus_message *request;        /* a D-Bus call to answer when systemd answers */
        bool counted;                   /* a stop the current switch waits for */
} AgentCall;

static void agent_call_free(void *p) {
        AgentCall *c = p;

        if (!c)
                return;
        free(c->unit);
        free(c->interface);
        sd_bus_message_unref(c->request);
        free(c);
}

static AgentCall *agent_call_new(Manager *m, const char *unit) {
        AgentCall *c = calloc(1, sizeof(AgentCall));

        if (!c)
                return NULL;
        c->manager = m;
        c->unit = strdup(unit);
        if (!c->unit)
                return mfree(c);
        return c;
}

/* The agent a reply is about, if it is still there. */
static AgentRuntime *agent_call_agent(const AgentCall *c, bool *ret_socket) {
        return manager_find_agent_by_unit(c->manager, c->unit, ret_socket);
}

/* ---------------------------------------------------------------------------------------------------
 * Following the units */

/* Applies one interface's a{sv} of one of the agent's units ("msg" positioned at the array: a
 * PropertiesChanged after its interface name, or a GetAll reply), read once for the runtime object and,
 * for the service's Unit part, the supervisor. systemd sends the Service part first (Result, NRestarts),
 * then the Unit part (ActiveState), which is what acts. */
static int agent_apply_unit_properties(AgentRuntime *a, bool socket, const char *iface, sd_bus_message *msg) {
        _cleanup_free_ char *old_active = NULL, *old_sub = NULL;
        Manager *m = a->manager;
        bool unit = !socket && streq(iface, SYSTEMD_UNIT_IFACE);
        UnitProperties p;
        int changed, r;

        r = unit_properties_read(msg, iface, &p);
        if (r < 0)
                return r;
        if (unit && ((a->active_state && !(old_active = strdup(a->active_state))) ||
                     (a->sub_state && !(old_sub = strdup(a->sub_state)))))
                return -ENOMEM;
        changed = agent_runtime_apply(a, socket, &p);
        if (changed < 0)
                return changed;
        /* After a resync, the reply to our GetAll says whether the start job we wait for still exists
         * (the job is the socket's for a lazy agent, whose start is the socket's). systemd sends
         * JobRemoved the moment a job ends, so a reply that no longer shows it comes after that signal:
         * if the signal has not come, it was lost. */
        if (streq(iface, SYSTEMD_UNIT_IFACE) && socket == !!a->socket_unit && a->resyncing && p.has_job) {
                a->resyncing = false;
                if (a->start_job && !streq(p.job, a->start_job)) {
                        _cleanup_free_ char *job = strdup(a->start_job);

                        if (!job)
                                return -ENOMEM;
                        log_notice("The start job of agent %s ended while systemd was off the bus.", a->name);
                        systemd_client_job_gone(m->systemd, job);
                        agent_job_removed(a, job, streq_ptr(a->active_state, "failed") ? "failed" : "done");
                }
        }
        if (changed > 0)
                bus_agent_changed(a, AGENT_DIRTY_UNIT);
        if (unit)
                supervisor_unit_changed(m->supervisor, a, old_active, old_sub);
        if (changed > 0 && unit && streq_ptr(a->active_state, "failed") && a->result &&
            !streq(a->result, "success")) {
                log_warning("Agent %s failed: %s.", a->name, a->result);
                (void) sd_journal_send("MESSAGE=Agent %s failed: %s.", a->name, a->result,
                                       "MESSAGE_ID=" UNIFIED_MESSAGE_AGENT_FAILED, "PRIORITY=%i", LOG_WARNING,
                                       "UNIFIED_AGENT=%s", a->name, "UNIFIED_RESULT=%s", a->result,
                                       "UNIFIED_PROFILE=%s", manager_active_profile_name(m), NULL);
                bus_manager_send_agent_failed(m, a, a->result);
        }
        manager_queue_state_update(m);
        return changed;
}

int agent_on_unit_properties_changed(sd_bus_message *msg, void *userdata, sd_bus_error *ret_error) {
        _cleanup_free_ char *unit = NULL;
        Manager *m = userdata;
        AgentRuntime *a;
        const char *iface;
        bool socket;
        int r;

        /* One match for every unit's PropertiesChanged (see agent-control.h): most are not ours. */
        r = sd_bus_path_decode(sd_bus_message_get_path(msg), SYSTEMD_UNIT_PATH_PREFIX, &unit);
        if (r <= 0)
                return 0;
        a = manager_find_agent_by_unit(m, unit, &socket);
        if (!a)
                return 0;

        r = sd_bus_message_read(msg, "s", &iface);
        if (r < 0)
                return 0;
        if (!streq(iface, SYSTEMD_UNIT_IFACE) && (socket || !streq(iface, SYSTEMD_SERVICE_IFACE)))
                return 0;
        /* The Unit part comes last (see agent_refresh()). */
        if (streq(iface, SYSTEMD_UNIT_IFACE))
                *(socket ? &a->socket_heard : &a->service_heard) = true;
        if (a->leaving)
                return 0;

        r = agent_apply_unit_properties(a, socket, iface, msg);
        if (r < 0)
                log_debug_errno(r, "Failed to parse a PropertiesChanged of %s, ignoring: %m", unit);
        return 0;
}

static int on_get_all_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        AgentCall *c = userdata;
        bool socket = false;
        AgentRuntime *a;
        int r;

        if (sd_bus_message_is_method_error(reply, NULL))
                return 0;
        a = agent_call_agent(c, &socket);
        if (!a || a->leaving)
                return 0;
        r = agent_apply_unit_properties(a, socket, c->interface, reply);
        if (r < 0)
                log_debug_errno(r, "Failed to parse the properties of %s, ignoring: %m", c->unit);
        return 0;
}

static void agent_get_all(AgentRuntime *a, const char *unit, const char *interface) {
        AgentCall *c = agent_call_new(a->manager, unit);
        int r;

        if (!c || !(c->interface = strdup(interface))) {
                agent_call_free(c);
                log_oom();
                return;
        }
        r = systemd_get_unit_properties(a->manager->systemd, unit, interface,
                                        &(SystemdCall) { on_get_all_reply, c, agent_call_free });
        if (r < 0)
                log_warning_errno(r, "Failed to query %s, ignoring: %m", unit);
}

/* systemd's first word on a new unit is UnitNew, which carries no properties: what changed before it
 * went out (systemd sends it from a queue) is never announced. Every PropertiesChanged carries all of
 * the interface's announced properties, and after the first one every change sends another; so only a
 * unit not heard from since the start needs asking. The GetAll of a service is some 300 properties,
 * which systemd, the bus and we would otherwise build, route and read for every agent of a profile.
 * The Service part first, as in systemd's own signals. */
void agent_refresh(AgentRuntime *a, bool unheard_only) {
        if (!unheard_only || !a->service_heard) {
                agent_get_all(a, a->unit, SYSTEMD_SERVICE_IFACE);
                agent_get_all(a, a->unit, SYSTEMD_UNIT_IFACE);
        }
        if (a->socket_unit && (!unheard_only || !a->socket_heard))
                agent_get_all(a, a->socket_unit, SYSTEMD_UNIT_IFACE);
}

void agent_resync(AgentRuntime *a) {
        if (a->leaving)
                return;
        a->resyncing = true;
        agent_refresh(a, false);
}

static int on_confirm_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        AgentCall *c = userdata;
        AgentRuntime *a = agent_call_agent(c, NULL);
        int r;

        if (!a || a->leaving)
                return 0;
        if (sd_bus_message_is_method_error(reply, NULL)) {
                /* Collected already (CollectMode=inactive-or-failed): nothing is pending for it. */
                if (sd_bus_error_has_name(sd_bus_message_get_error(reply), "org.freedesktop.systemd1.NoSuchUnit") &&
                    streq_ptr(a->active_state, "failed"))
                        supervisor_failed_for_good(a->manager->supervisor, a);
                return 0;
        }
        r = agent_apply_unit_properties(a, false, SYSTEMD_UNIT_IFACE, reply);
        if (r < 0) {
                log_debug_errno(r, "Failed to parse the properties of %s, ignoring: %m", a->unit);
                return 0;
        }
        /* Still failed, or already collected (systemd then answers for a fresh, inactive stub): no
         * restart is coming. */
        if (streq_ptr(a->active_state, "failed") || streq_ptr(a->active_state, "inactive"))
                supervisor_failed_for_good(a->manager->supervisor, a);
        return 0;
}

void agent_confirm_failed(AgentRuntime *a) {
        AgentCall *c = agent_call_new(a->manager, a->unit);
        int r;

        if (!c)
                return (void) log_oom();
        r = systemd_get_unit_properties(a->manager->systemd, a->unit, SYSTEMD_UNIT_IFACE,
                                        &(SystemdCall) { on_confirm_reply, c, agent_call_free, .urgent = true });
        if (r < 0)
                log_debug_errno(r, "Failed to ask about %s, ignoring: %m", a->unit);
}

/* ---------------------------------------------------------------------------------------------------
 * Starting */

static int on_start_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        AgentCall *c = userdata;
        Manager *m = c->manager;
        AgentRuntime *a = agent_call_agent(c, NULL);
        const char *job;

        if (!a || a->leaving)
                return 0;
        a->start_in_flight = false;
        if (sd_bus_message_is_method_error(reply, NULL)) {
                const sd_bus_error *e = sd_bus_message_get_error(reply);

                if (sd_bus_error_has_name(e, "org.freedesktop.systemd1.UnitExists")) {
                        /* The previous unit of that name is still loaded (stopped moments ago and not
                         * collected yet, or running from before): start when systemd lets it go, and
                         * meanwhile show what it is. */
                        a->start_when_removed = true;
                        agent_refresh(a, false);
                } else {
                        log_warning("Failed to start agent %s: %s", a->name, e->message);
                        a->start_failed = true;
                        supervisor_start_failed(m->supervisor, a);
                        bus_manager_send_agent_failed(m, a, "start-failed");
                }
                manager_queue_state_update(m);
                return 0;
        }
        a->unit_loaded = true;
        if (sd_bus_message_read(reply, "o", &job) >= 0 && free_and_strdup(&a->start_job, job) < 0)
                log_oom();
        return 0;
}

int agent_start(AgentRuntime *a) {
        _cleanup_(unit_spec_freep) UnitSpec *svc = NULL, *sock = NULL;
        Manager *m = a->manager;
        AgentCall *c;
        int r;

        if (!a->def || a->leaving)
                return 0;
        if (a->breaker.state == BREAKER_OPEN) {
                log_info("Not starting agent %s: its breaker is open.", a->name);
                return 0;
        }
        r = plan_agent_units(m->active, a->def, m->active->name, m->systemd_version, &svc, &sock);
        if (r < 0) {
                a->start_failed = true;
                return log_error_errno(r, "Failed to plan the units of agent %s: %m", a->name);
        }
        c = agent_call_new(m, a->unit);
        if (!c)
                return log_oom();
        a->start_failed = false;
        a->start_when_removed = false;
        a->condition_failed = false;
        a->first_start_done = false;
        a->service_heard = a->socket_heard = false;
        a->start_in_flight = true;
        r = systemd_start_transient_unit(m->systemd, sock ?: svc, sock ? svc : NULL,
                                         &(SystemdCall) { on_start_reply, c, agent_call_free });
        if (r < 0) {
                a->start_in_flight = false;
                a->start_failed = true;
                log_error_errno(r, "Failed to send the start of agent %s: %m", a->name);
                return -EIO;
        }
        return 0;
}

static int on_reset_failed_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        AgentCall *c = userdata;
        AgentRuntime *a = agent_call_agent(c, NULL);

        /* NoSuchUnit is the normal case: a failed unit is collected at once (CollectMode=inactive-or-failed),
         * and ResetFailedUnit on a failed transient unit unloads it. Either way the start recreates it. */
        if (!a || a->leaving)
                return 0;
        if (agent_start(a) < 0)
                supervisor_start_failed(a->manager->supervisor, a);
        return 0;
}

void agent_reset_and_start(AgentRuntime *a) {
        SystemdClient *systemd = a->manager->systemd;
        AgentCall *c;
        int r;

        /* Already running, or systemd is about to restart it: nothing to start. */
        if (agent_runtime_is_active(a) || streq_ptr(a->active_state, "activating"))
                return;

        if (a->socket_unit) {
                r = systemd_manager_call(systemd, "ResetFailedUnit", &(SystemdCall) { .urgent = true }, "s",
                                         a->socket_unit);
                if (r < 0)
                        log_debug_errno(r, "Failed to send ResetFailedUnit(%s), ignoring: %m", a->socket_unit);
        }
        c = agent_call_new(a->manager, a->unit);
        if (!c)
                return (void) log_oom();
        /* The start follows the reply: on the same connection, so systemd has handled the reset by then. */
        r = systemd_manager_call(systemd, "ResetFailedUnit",
                                 &(SystemdCall) { on_reset_failed_reply, c, agent_call_free, .urgent = true }, "s",
                                 a->unit);
        if (r < 0)
                supervisor_start_failed(a->manager->supervisor, a);
}

/* ---------------------------------------------------------------------------------------------------
 * Stopping, restarting, runtime limits */

static int on_stop_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        AgentCall *c = userdata;
        const char *job;

        if (sd_bus_message_is_method_error(reply, NULL)) {
                const sd_bus_error *e = sd_bus_message_get_error(reply);

                if (!sd_bus_error_has_name(e, "org.freedesktop.systemd1.NoSuchUnit"))
                        log_warning("Failed to stop %s: %s", c->unit, e->message);
                job = NULL;
        } else if (sd_bus_message_read(reply, "o", &job) < 0)
                job = NULL;
        if (c->counted)
                manager_switch_stop_sent(c->manager, job);
        return 0;
}

static void unit_stop(AgentRuntime *a, const char *unit, AgentStopReason reason) {
        Manager *m = a->manager;
        AgentCall *c = agent_call_new(m, unit);
        int r;

        if (!c)
                return (void) log_oom();
        c->counted = reason == AGENT_STOP_SWITCH;
        if (c->counted)
                m->n_stop_calls++;
        r = systemd_manager_call(m->systemd, "StopUnit",
                                 &(SystemdCall) { on_stop_reply, c, agent_call_free,
                                                  .urgent = reason != AGENT_STOP_SWITCH },
                                 "ss", unit, "replace");
        if (r < 0) {
                log_error_errno(r, "Failed to send the stop of %s: %m", unit);
                if (reason == AGENT_STOP_SWITCH)
                        manager_switch_stop_sent(m, NULL);
        }
}

static int on_generic_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        AgentCall *c = userdata;

        if (sd_bus_message_is_method_error(reply, NULL))
                log_warning("%s: %s", c->unit, sd_bus_message_get_error(reply)->message);
        return 0;
}

void agent_stop(AgentRuntime *a, AgentStopReason reason) {
        Manager *m = a->manager;
        AgentCall *c;
        int r;

        a->start_when_removed = false;
        a->start_job = mfree(a->start_job);
        if (a->socket_unit)
                unit_stop(a, a->socket_unit, reason);
        unit_stop(a, a->unit, reason);

        if (!a->runtime_changed)
                return;
        /* Limits set at runtime live on as drop-ins in /run/systemd/system.control and would apply to the
         * next unit of this name: drop them with the unit. */
        a->runtime_changed = false;
        c = agent_call_new(m, a->unit);
        if (!c)
                return (void) log_oom();
        r = systemd_manager_call(m->systemd, "RevertUnitFiles", &(SystemdCall) { on_generic_reply, c, agent_call_free },
                                 "as", 1, a->unit);
        if (r < 0)
                log_warning_errno(r, "Failed to revert the runtime limits of %s, ignoring: %m", a->unit);
}

static int on_restart_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        AgentCall *c = userdata;

        if (sd_bus_message_is_method_error(reply, NULL))
                (void) sd_bus_reply_method_error(c->request, sd_bus_message_get_error(reply));
        else
                (void) sd_bus_reply_method_return(c->request, NULL);
        return 0;
}

int agent_restart(AgentRuntime *a, sd_bus_message *request, sd_bus_error *error) {
        AgentCall *c;
        int r;

        c = agent_call_new(a->manager, a->unit);
        if (!c)
                return -ENOMEM;
        c->request = sd_bus_message_ref(request);
        a->start_failed = false;
        r = systemd_manager_call(a->manager->systemd, "RestartUnit",
                                 &(SystemdCall) { on_restart_reply, c, agent_call_free }, "ss", a->unit, "replace");
        if (r < 0)
                return sd_bus_error_set_errnof(error, r, "Failed to restart %s: %m", a->unit);
        return 1;
}

void agent_set_limits(AgentRuntime *a, const UnitSpec *changes) {
        AgentCall *c = agent_call_new(a->manager, a->unit);
        int r;

        if (!c)
                return (void) log_oom();
        r = systemd_set_unit_properties(a->manager->systemd, changes, true,
                                        &(SystemdCall) { on_generic_reply, c, agent_call_free });
        if (r < 0)
                log_warning_errno(r, "Failed to change the limits of %s: %m", a->unit);
        else
                a->runtime_changed = true;
}

/* ---------------------------------------------------------------------------------------------------
 * systemd's signals */

void agent_job_removed(AgentRuntime *a, const char *job, const char *result) {
        Manager *m = a->manager;

        if (!streq_ptr(a->start_job, job))
                return;
        a->start_job = mfree(a->start_job);
        a->first_start_done = true;
        if (!streq(result, "done") && !streq(result, "skipped")) {
                a->start_failed = true;
                log_warning("Starting agent %s: job %s.", a->name, result);
                bus_manager_send_agent_failed(m, a, result);
        }
        agent_refresh(a, true);
        manager_queue_state_update(m);
}

void agent_unit_removed(AgentRuntime *a, bool socket) {
        if (!socket)
                a->unit_loaded = false;
        if (a->leaving || socket || !a->start_when_removed)
                return;
        log_debug("%s is gone, starting agent %s again.", a->unit, a->name);
        (void) agent_start(a);
}
