/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The daemon's state machine: profiles become transient units, switches are planned and executed
 * asynchronously, systemd's signals keep the agents' state current. */

#include <math.h>
#include <stdio.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>
#include <systemd/sd-journal.h>

#include "bus-error.h"
#include "bus-manager.h"
#include "log.h"
#include "manager.h"
#include "message-ids.h"
#include "state.h"
#include "strv.h"
#include "supervisor.h"
#include "systemd-client.h"

#define INSTANCE_TEMPLATE_PREFIX "unified@"

#define IN_SET(x, a, b) ((x) == (a) || (x) == (b))

/* Userdata of one asynchronous systemd call. */
typedef struct CallContext {
        Manager *manager;
        char *agent;                    /* NULL for calls not about one agent */
        char *unit;
        sd_bus_message *request;        /* a D-Bus call to answer when systemd answers */
        bool counted;                   /* a stop the current switch waits for */
} CallContext;

static void call_context_free(void *p) {
        CallContext *c = p;

        if (!c)
                return;
        free(c->agent);
        free(c->unit);
        sd_bus_message_unref(c->request);
        free(c);
}

static CallContext *call_context_new(Manager *m, const char *agent, const char *unit) {
        CallContext *c = calloc(1, sizeof(CallContext));

        if (!c)
                return NULL;
        c->manager = m;
        if ((agent && !(c->agent = strdup(agent))) || (unit && !(c->unit = strdup(unit)))) {
                call_context_free(c);
                return NULL;
        }
        return c;
}

bool manager_name_is_valid(const char *name) {
        size_t n;

        if (isempty(name) || name[0] == '.')
                return false;
        n = strlen(name);
        if (n > AGENT_NAME_MAX)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-", name[i]))
                        return false;
        return true;
}

static ProfileEntry *profile_entry_free(ProfileEntry *e) {
        if (!e)
                return NULL;
        free(e->name);
        free(e->object_path);
        free(e->path);
        profile_free(e->profile);
        free(e->error);
        return mfree(e);
}

static void manager_free_profiles(Manager *m) {
        for (size_t i = 0; i < m->n_profiles; i++)
                profile_entry_free(m->profiles[i]);
        m->profiles = mfree(m->profiles);
        m->n_profiles = 0;
}

Manager *manager_free(Manager *m) {
        if (!m)
                return NULL;
        /* First: it undoes what faults still have in effect, over the bus. */
        chaos_free(m->chaos);
        /* First: the supervisor saves the journal cursor and drops its bus slots and timers. */
        manager_metrics_free(m->metrics);
        supervisor_free(m->supervisor);
        sd_event_source_disable_unref(m->state_event);
        for (size_t i = 0; i < m->n_agents; i++)
                agent_runtime_free(m->agents[i]);
        free(m->agents);
        hashmap_free(m->agents_by_name);
        for (size_t i = 0; i < m->n_leaving; i++)
                agent_runtime_free(m->leaving[i]);
        free(m->leaving);
        manager_free_profiles(m);
        profile_set_free(m->profile_set);
        profile_free(m->active);
        switch_plan_free(m->plan);
        strv_free(m->stop_jobs);
        polkit_registry_free(m->polkit);
        /* Calls not yet sent are dropped; those in flight end with the bus. */
        systemd_client_free(m->systemd);
        sd_bus_flush_close_unref(m->bus);
        sd_event_unref(m->event);
        free(m->state_dir);
        return mfree(m);
}

int manager_new(Manager **ret) {
        _cleanup_(manager_freep) Manager *m = NULL;
        long n;
        int r;

        m = calloc(1, sizeof(Manager));
        if (!m)
                return -ENOMEM;
        m->state = PROFILE_STATE_INACTIVE;
        m->health_score = 1.0;
        m->state_dir = strdup(state_dir());
        m->agents_by_name = hashmap_new();
        if (!m->state_dir || !m->agents_by_name)
                return -ENOMEM;
        n = sysconf(_SC_NPROCESSORS_ONLN);
        m->n_cpus = n > 0 ? (unsigned) n : 1;

        r = polkit_registry_new(&m->polkit);
        if (r < 0)
                return r;
        r = sd_event_default(&m->event);
        if (r < 0)
                return r;
        /* WATCHDOG=1 from the loop itself whenever $WATCHDOG_USEC asks for it. */
        r = sd_event_set_watchdog(m->event, true);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(m);
        return 0;
}

/* ---------------------------------------------------------------------------------------------------
 * Profiles on disk */

/* The first error about "file" (NULL: any file) in "d", as "file:line:column: message"; NULL if none. */
static int diag_first_error(const Diagnostics *d, const char *file, char **ret) {
        for (size_t i = 0; i < d->n_items; i++) {
                const Diagnostic *x = &d->items[i];

                if (x->severity != DIAG_ERROR || (file && !streq_ptr(x->file, file)))
                        continue;
                if (asprintf(ret, "%s:%u:%u: %s", strna(x->file), x->line, x->column, strna(x->message)) < 0)
                        return -ENOMEM;
                return 1;
        }
        *ret = NULL;
        return 0;
}

static char *profile_error_text(const Diagnostics *load, const Diagnostics *resolve, const char *path) {
        char *s;
        int r;

        /* A file that does not parse was reported when the set was loaded; resolving it only says so. */
        r = diag_first_error(resolve, NULL, &s);
        if (r == 0)
                r = diag_first_error(load, path, &s);
        if (r < 0)
                return NULL;
        return r > 0 ? s : strdup("profile does not validate");
}

int manager_load_profiles(Manager *m) {
        _cleanup_(profile_set_freep) ProfileSet *set = NULL;
        _cleanup_(diagnostics_done) Diagnostics diag = {};
        ProfileEntry **entries;
        size_t n;
        int r;

        r = profile_set_load(NULL, &diag, &set);
        if (r < 0)
                return r;
        if (diag.n_errors > 0)
                log_warning("Some profiles failed to load, ignoring them.");

        n = profile_set_size(set);
        entries = calloc(MAX(n, (size_t) 1), sizeof(ProfileEntry *));
        if (!entries)
                return -ENOMEM;

        for (size_t i = 0; i < n; i++) {
                _cleanup_(diagnostics_done) Diagnostics d = {};
                ProfileEntry *e;

                e = calloc(1, sizeof(ProfileEntry));
                if (!e)
                        goto oom;
                entries[i] = e;
                e->manager = m;
                e->name = strdup(profile_set_name(set, i));
                e->path = strdup(strempty(profile_set_path(set, e->name)));
                if (!e->name || !e->path)
                        goto oom;
                if (sd_bus_path_encode(UNIFIED_PROFILE_PATH_PREFIX, e->name, &e->object_path) < 0)
                        goto oom;
                r = profile_set_resolve(set, e->name, &d, &e->profile);
                if (r < 0) {
                        e->profile = NULL;
                        e->error = profile_error_text(&diag, &d, e->path);
                        if (!e->error)
                                goto oom;
                }
        }

        manager_free_profiles(m);
        profile_set_free(m->profile_set);
        m->profile_set = TAKE_PTR(set);
        m->profiles = entries;
        m->n_profiles = n;
        return 0;

oom:
        for (size_t i = 0; i < n; i++)
                profile_entry_free(entries[i]);
        free(entries);
        return -ENOMEM;
}

ProfileEntry *manager_find_profile(Manager *m, const char *name) {
        for (size_t i = 0; i < m->n_profiles; i++)
                if (streq(m->profiles[i]->name, name))
                        return m->profiles[i];
        return NULL;
}

AgentRuntime *manager_find_agent(Manager *m, const char *name) {
        return hashmap_get(m->agents_by_name, name);
}

static AgentRuntime *manager_find_agent_by_unit(Manager *m, const char *unit, bool *ret_socket) {
        for (int pass = 0; pass < 2; pass++) {
                AgentRuntime **l = pass == 0 ? m->agents : m->leaving;
                size_t n = pass == 0 ? m->n_agents : m->n_leaving;

                for (size_t i = 0; i < n; i++) {
                        if (!l[i])
                                continue;
                        if (streq(l[i]->unit, unit)) {
                                SET_IF(ret_socket, false);
                                return l[i];
                        }
                        if (streq_ptr(l[i]->socket_unit, unit)) {
                                SET_IF(ret_socket, true);
                                return l[i];
                        }
                }
        }
        return NULL;
}

const char *manager_active_profile_name(const Manager *m) {
        return m->active ? m->active->name : "";
}

uint32_t manager_count_active_agents(const Manager *m) {
        uint32_t n = 0;

        for (size_t i = 0; i < m->n_agents; i++)
                if (agent_runtime_is_active(m->agents[i]))
                        n++;
        return n;
}

double manager_health_score(const Manager *m) {
        double sum = 0;

        if (m->supervisor)
                return supervisor_health_score(m->supervisor);

        if (m->n_agents == 0)
                return m->active ? 0.0 : 1.0;
        for (size_t i = 0; i < m->n_agents; i++)
                sum += m->agents[i]->health;
        return sum / (double) m->n_agents;
}

bool manager_agent_is_waiting(const Manager *m, const AgentRuntime *a) {
        STRV_FOREACH(r, a->requires) {
                AgentRuntime *dep = manager_find_agent((Manager *) m, *r);

                if (dep && agent_runtime_status(dep) != AGENT_STATUS_OK)
                        return true;
        }
        return false;
}

/* ---------------------------------------------------------------------------------------------------
 * State */

static void manager_converge_instances(Manager *m, const char *profile, const char *job_mode);

static void manager_update_state(Manager *m) {
        ProfileState s;
        uint32_t n_active;
        double health = NAN;

        /* Whatever was queued is answered now. */
        if (m->state_event)
                (void) sd_event_source_set_enabled(m->state_event, SD_EVENT_OFF);
        m->state_updated_at = now(CLOCK_MONOTONIC);

        /* Without a supervisor (never in the daemon), an agent's health is whether it runs. */
        for (size_t i = 0; !m->supervisor && i < m->n_agents; i++) {
                AgentStatus st = agent_runtime_status(m->agents[i]);
                m->agents[i]->health = st == AGENT_STATUS_OK || st == AGENT_STATUS_SKIPPED ? 1.0 : 0.0;
        }

        if (!m->active)
                s = m->switching || m->n_leaving > 0 ? PROFILE_STATE_STOPPING : PROFILE_STATE_INACTIVE;
        else if (m->switching)
                s = PROFILE_STATE_STARTING;
        else {
                s = m->supervisor ? supervisor_profile_state(m->supervisor, m->settled, &health)
                                  : profile_state_from_agents(m->agents, m->n_agents, m->settled);
                if (s != PROFILE_STATE_STARTING && !m->settled) {
                        m->settled = true;
                        if (m->instance_job_mode)
                                manager_converge_instances(m, m->active->name, TAKE_PTR(m->instance_job_mode));
                }
        }

        n_active = manager_count_active_agents(m);
        if (isnan(health))
                health = manager_health_score(m);
        if (n_active != m->n_active_agents || health != m->health_score) {
                m->n_active_agents = n_active;
                m->health_score = health;
                (void) sd_bus_emit_properties_changed(m->bus, UNIFIED_OBJECT_PATH, UNIFIED_MANAGER_IFACE,
                                                      "NActiveAgents", "HealthScore", NULL);
        }

        chaos_agents_changed(m->chaos, s);

        if (s == m->state)
                return;
        m->state = s;
        if (IN_SET(s, PROFILE_STATE_STARTING, PROFILE_STATE_STOPPING))
                log_debug("Profile %s is %s.", manager_active_profile_name(m), profile_state_to_string(s));
        else
                (void) sd_journal_send("MESSAGE=Profile %s is %s.", m->active ? m->active->name : "(none)",
                                       profile_state_to_string(s),
                                       "MESSAGE_ID=" UNIFIED_MESSAGE_PROFILE_STATE,
                                       "PRIORITY=%i", s == PROFILE_STATE_RUNNING ? LOG_INFO : LOG_WARNING,
                                       "UNIFIED_PROFILE=%s", manager_active_profile_name(m),
                                       "UNIFIED_STATE=%s", profile_state_to_string(s), NULL);
        (void) sd_bus_emit_properties_changed(m->bus, UNIFIED_OBJECT_PATH, UNIFIED_MANAGER_IFACE, "State", NULL);
        (void) sd_bus_emit_signal(m->bus, UNIFIED_OBJECT_PATH, UNIFIED_MANAGER_IFACE, "ProfileStateChanged",
                                  "ss", manager_active_profile_name(m), profile_state_to_string(s));
}

static int on_state_event(sd_event_source *source, void *userdata) {
        manager_update_state(userdata);
        return 0;
}

/* What systemd's signals and the journal change is evaluated once they are all read: the profile state
 * is a walk over every agent, and starting 77 agents brings over a thousand signals in bursts. The
 * defer source runs at idle priority, after the bus and the journal are drained, or at once if the
 * last recomputation is MANAGER_STATE_LAG_MAX_USEC old (signals that never let up). The manager's own
 * operations (a switch, a stop) call manager_update_state() directly, so that their answer to a
 * method call already shows the new state. */
static void manager_queue_state_update(Manager *m) {
        int r;

        if (now(CLOCK_MONOTONIC) >= m->state_updated_at + MANAGER_STATE_LAG_MAX_USEC) {
                manager_update_state(m);
                return;
        }
        if (m->state_event) {
                r = sd_event_source_set_enabled(m->state_event, SD_EVENT_ONESHOT);
                if (r >= 0)
                        return;
        } else {
                r = sd_event_add_defer(m->event, &m->state_event, on_state_event, m);
                if (r >= 0)
                        r = sd_event_source_set_priority(m->state_event, SD_EVENT_PRIORITY_IDLE);
                if (r >= 0) {
                        (void) sd_event_source_set_description(m->state_event, "manager-state");
                        return;
                }
                m->state_event = sd_event_source_disable_unref(m->state_event);
        }
        log_debug_errno(r, "Failed to queue the state update, updating now: %m");
        manager_update_state(m);
}

static void agent_emit_changed(AgentRuntime *a) {
        Manager *m = a->manager;

        if (a->leaving)
                return;
        (void) sd_bus_emit_properties_changed(m->bus, a->object_path, UNIFIED_AGENT_IFACE, "ActiveState",
                                              "SubState", "Result", "MainPID", "Restarts", "Health", "Waiting",
                                              NULL);
}

/* ---------------------------------------------------------------------------------------------------
 * Watching our units */

/* Applies one interface's a{sv} of an agent's unit ("msg" positioned at the array: a PropertiesChanged
 * after its interface name, or a GetAll reply) to the agent's runtime object, and the service's to the
 * supervisor too: this match and these GetAll calls are the only ones per unit, and the array is read
 * once. Returns > 0 if the runtime object changed. */
static int agent_apply_unit_properties(AgentRuntime *a, bool socket, const char *iface, sd_bus_message *msg) {
        Manager *m = a->manager;
        UnitProperties p;
        int r;

        r = unit_properties_read(msg, iface, &p);
        if (r < 0)
                return r;
        r = agent_runtime_apply(a, socket, &p);
        if (r < 0)
                return r;
        if (!socket && m->supervisor)
                supervisor_unit_properties(m->supervisor, a, iface, &p);
        return r;
}

static int on_unit_properties_changed(sd_bus_message *msg, void *userdata, sd_bus_error *ret_error) {
        AgentRuntime *a = userdata;
        _cleanup_free_ char *socket_path = NULL;
        bool socket = false;
        const char *iface;
        int r;

        /* One callback for both units of a lazy agent. */
        if (a->socket_unit && systemd_unit_path(a->socket_unit, &socket_path) >= 0)
                socket = streq_ptr(sd_bus_message_get_path(msg), socket_path);

        r = sd_bus_message_read(msg, "s", &iface);
        if (r < 0)
                return 0;
        if (!streq(iface, SYSTEMD_UNIT_IFACE) && (socket || !streq(iface, SYSTEMD_SERVICE_IFACE)))
                return 0;
        /* The Unit part comes last (see agent_refresh_unheard()). */
        if (streq(iface, SYSTEMD_UNIT_IFACE))
                *(socket ? &a->socket_heard : &a->service_heard) = true;

        r = agent_apply_unit_properties(a, socket, iface, msg);
        if (r < 0)
                log_debug_errno(r, "Failed to parse a PropertiesChanged of %s, ignoring: %m",
                                socket ? a->socket_unit : a->unit);
        if (r <= 0)
                return 0;

        if (streq_ptr(a->active_state, "failed") && !socket && a->result && !streq(a->result, "success")) {
                log_warning("Agent %s failed: %s.", a->name, a->result);
                (void) sd_journal_send("MESSAGE=Agent %s failed: %s.", a->name, a->result,
                                       "MESSAGE_ID=" UNIFIED_MESSAGE_AGENT_FAILED, "PRIORITY=%i", LOG_WARNING,
                                       "UNIFIED_AGENT=%s", a->name, "UNIFIED_RESULT=%s", a->result,
                                       "UNIFIED_PROFILE=%s", strempty(a->profile), NULL);
                (void) sd_bus_emit_signal(a->manager->bus, UNIFIED_OBJECT_PATH, UNIFIED_MANAGER_IFACE,
                                          "AgentFailed", "ss", a->name, a->result);
        }
        agent_emit_changed(a);
        manager_queue_state_update(a->manager);
        return 0;
}

static int on_get_all_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        CallContext *c = userdata;
        Manager *m = c->manager;
        bool socket = false;
        AgentRuntime *a;
        int r;

        if (sd_bus_message_is_method_error(reply, NULL))
                return 0;
        a = manager_find_agent_by_unit(m, c->unit, &socket);
        if (!a)
                return 0;
        r = agent_apply_unit_properties(a, socket, c->agent /* the interface here */, reply);
        if (r < 0)
                log_debug_errno(r, "Failed to parse the properties of %s, ignoring: %m", c->unit);
        agent_emit_changed(a);
        manager_queue_state_update(m);
        return 0;
}

static void agent_refresh(Manager *m, AgentRuntime *a, const char *unit, const char *interface) {
        CallContext *c = call_context_new(m, interface, unit);
        int r;

        if (!c) {
                log_oom();
                return;
        }
        r = systemd_get_unit_properties(m->systemd, unit, interface,
                                        &(SystemdCall) { on_get_all_reply, c, call_context_free });
        if (r < 0)
                log_warning_errno(r, "Failed to query %s, ignoring: %m", unit);
}

/* The Service part first, as in systemd's own signals (see supervisor_unit_properties()). */
static void agent_refresh_unit(Manager *m, AgentRuntime *a, bool socket) {
        if (socket)
                agent_refresh(m, a, a->socket_unit, SYSTEMD_UNIT_IFACE);
        else {
                agent_refresh(m, a, a->unit, SYSTEMD_SERVICE_IFACE);
                agent_refresh(m, a, a->unit, SYSTEMD_UNIT_IFACE);
        }
}

static void agent_refresh_all(Manager *m, AgentRuntime *a) {
        agent_refresh_unit(m, a, false);
        if (a->socket_unit)
                agent_refresh_unit(m, a, true);
}

/* Once our start job is over. systemd's first word on a new unit is UnitNew, which carries no
 * properties: what changed before it went out (systemd sends it from a queue) is never announced.
 * Every PropertiesChanged carries all of the interface's announced properties, and after the first
 * one every change sends another; so only a unit not heard from since the start needs asking. The
 * GetAll of a service is some 300 properties, which systemd, the bus and we would otherwise build,
 * route and read for every agent of a profile. */
static void agent_refresh_unheard(Manager *m, AgentRuntime *a) {
        if (!a->service_heard)
                agent_refresh_unit(m, a, false);
        if (a->socket_unit && !a->socket_heard)
                agent_refresh_unit(m, a, true);
}

static int agent_watch(Manager *m, AgentRuntime *a) {
        _cleanup_free_ char *path = NULL, *spath = NULL;
        int r;

        a->manager = m;
        if (!a->slot_service) {
                r = systemd_unit_path(a->unit, &path);
                if (r < 0)
                        return r;
                r = sd_bus_match_signal_async(m->bus, &a->slot_service, SYSTEMD_SERVICE, path,
                                              "org.freedesktop.DBus.Properties", "PropertiesChanged",
                                              on_unit_properties_changed, NULL, a);
                if (r < 0)
                        return r;
        }
        if (a->socket_unit && !a->slot_socket) {
                r = systemd_unit_path(a->socket_unit, &spath);
                if (r < 0)
                        return r;
                r = sd_bus_match_signal_async(m->bus, &a->slot_socket, SYSTEMD_SERVICE, spath,
                                              "org.freedesktop.DBus.Properties", "PropertiesChanged",
                                              on_unit_properties_changed, NULL, a);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* ---------------------------------------------------------------------------------------------------
 * Starting and stopping agents */

static void manager_maybe_finish_stops(Manager *m);
static int on_generic_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error);

static int on_start_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        CallContext *c = userdata;
        Manager *m = c->manager;
        AgentRuntime *a = manager_find_agent(m, c->agent);
        const char *job;

        if (!a)
                return 0;
        a->start_in_flight = false;
        if (sd_bus_message_is_method_error(reply, NULL)) {
                const sd_bus_error *e = sd_bus_message_get_error(reply);

                if (sd_bus_error_has_name(e, "org.freedesktop.systemd1.UnitExists")) {
                        /* The previous unit of that name is still loaded (stopped moments ago and not
                         * collected yet, or running from before): start when systemd lets it go, and
                         * meanwhile show what it is. */
                        a->start_when_removed = true;
                        agent_refresh_all(m, a);
                } else {
                        log_warning("Failed to start agent %s: %s", a->name, e->message);
                        a->start_failed = true;
                        if (m->supervisor)
                                supervisor_start_failed(m->supervisor, a);
                        (void) sd_bus_emit_signal(m->bus, UNIFIED_OBJECT_PATH, UNIFIED_MANAGER_IFACE,
                                                  "AgentFailed", "ss", a->name, "start-failed");
                }
                manager_queue_state_update(m);
                return 0;
        }
        a->unit_loaded = true;
        if (sd_bus_message_read(reply, "o", &job) >= 0) {
                free(a->start_job);
                a->start_job = strdup(job);
        }
        return 0;
}

static void agent_start(Manager *m, AgentRuntime *a) {
        _cleanup_(unit_spec_freep) UnitSpec *svc = NULL, *sock = NULL;
        const Agent *def = profile_find_agent(m->active, a->name);
        CallContext *c;
        int r;

        if (!def)
                return;
        if (m->supervisor && !supervisor_may_start(m->supervisor, a)) {
                log_info("Not starting agent %s: its breaker is open.", a->name);
                return;
        }
        r = plan_agent_units(m->active, def, m->active->name, m->systemd_version, &svc, &sock);
        if (r < 0) {
                log_error_errno(r, "Failed to plan the units of agent %s: %m", a->name);
                a->start_failed = true;
                return;
        }
        c = call_context_new(m, a->name, sock ? sock->name : svc->name);
        if (!c) {
                log_oom();
                return;
        }
        a->start_failed = false;
        a->start_when_removed = false;
        a->condition_failed = false;
        a->first_start_done = false;
        a->service_heard = a->socket_heard = false;
        r = agent_watch(m, a);
        if (r < 0)
                log_warning_errno(r, "Failed to watch %s, its state will lag: %m", a->unit);
        a->start_in_flight = true;
        r = systemd_start_transient_unit(m->systemd, sock ?: svc, sock ? svc : NULL,
                                         &(SystemdCall) { on_start_reply, c, call_context_free });
        if (r < 0) {
                a->start_in_flight = false;
                log_error_errno(r, "Failed to send the start of agent %s: %m", a->name);
                a->start_failed = true;
        }
}

/* ChaosCallbacks.start_agent: the end of an outage creates the stopped agent's unit again. */
static int chaos_start_agent(Manager *m, AgentRuntime *a) {
        agent_start(m, a);
        return a->start_failed && !a->start_in_flight ? -EIO : 0;
}

static int on_stop_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        CallContext *c = userdata;
        Manager *m = c->manager;
        const char *job;

        if (c->counted) {
                assert_return(m->n_stop_calls > 0, 0);
                m->n_stop_calls--;
        }
        if (sd_bus_message_is_method_error(reply, NULL)) {
                const sd_bus_error *e = sd_bus_message_get_error(reply);

                if (!sd_bus_error_has_name(e, "org.freedesktop.systemd1.NoSuchUnit"))
                        log_warning("Failed to stop %s: %s", c->unit, e->message);
        } else if (c->counted && sd_bus_message_read(reply, "o", &job) >= 0) {
                if (strv_extend(&m->stop_jobs, job) < 0)
                        log_oom();
        }
        manager_maybe_finish_stops(m);
        return 0;
}

static void unit_stop(Manager *m, const char *agent, const char *unit, bool counted) {
        CallContext *c = call_context_new(m, agent, unit);
        int r;

        if (!c) {
                log_oom();
                return;
        }
        c->counted = counted;
        if (counted)
                m->n_stop_calls++;
        r = systemd_manager_call(m->systemd, "StopUnit", &(SystemdCall) { on_stop_reply, c, call_context_free },
                                 "ss", unit, "replace");
        if (r < 0) {
                if (counted)
                        m->n_stop_calls--;
                log_error_errno(r, "Failed to send the stop of %s: %m", unit);
        }
}

static void agent_stop(Manager *m, AgentRuntime *a) {
        a->start_when_removed = false;
        a->start_job = mfree(a->start_job);
        if (a->socket_unit)
                unit_stop(m, a->name, a->socket_unit, true);
        unit_stop(m, a->name, a->unit, true);

        if (a->runtime_changed) {
                /* Limits set at runtime live on as drop-ins in /run/systemd/system.control and would
                 * apply to the next unit of this name: drop them with the unit. */
                CallContext *c = call_context_new(m, a->name, a->unit);
                int r;

                if (!c)
                        return;
                r = systemd_manager_call(m->systemd, "RevertUnitFiles",
                                         &(SystemdCall) { on_generic_reply, c, call_context_free }, "as", 1, a->unit);
                if (r < 0)
                        log_warning_errno(r, "Failed to revert the runtime limits of %s, ignoring: %m", a->unit);
                a->runtime_changed = false;
        }
}

static int on_generic_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        CallContext *c = userdata;

        if (sd_bus_message_is_method_error(reply, NULL))
                log_full(c->request ? LOG_WARNING : LOG_DEBUG, "%s: %s", strna(c->unit),
                         sd_bus_message_get_error(reply)->message);
        return 0;
}

static void slice_set(Manager *m, const UnitSpec *slice) {
        CallContext *c = call_context_new(m, NULL, UNIFIED_SLICE);
        int r;

        if (!c) {
                log_oom();
                return;
        }
        c->request = NULL;
        r = systemd_set_unit_properties(m->systemd, slice, true, &(SystemdCall) { on_generic_reply, c, call_context_free });
        if (r < 0)
                log_warning_errno(r, "Failed to set the budget of " UNIFIED_SLICE ", ignoring: %m");
}

static void leaving_remove(Manager *m, size_t i) {
        AgentRuntime *a = m->leaving[i];

        memmove(m->leaving + i, m->leaving + i + 1, (m->n_leaving - i - 1) * sizeof(AgentRuntime *));
        m->n_leaving--;
        agent_runtime_free(a);
}

/* Sends the queued starts back to back, each agent after those it requires. */
static void manager_start_queued(Manager *m) {
        _cleanup_free_ size_t *order = NULL;

        if (!m->active)
                return;
        if (plan_start_order(m->active, &order) < 0) {
                log_oom();
                return;
        }
        for (size_t i = 0; i < m->active->n_agents; i++) {
                AgentRuntime *a = manager_find_agent(m, m->active->agents[order[i]]->name);

                if (!a || !a->start_queued)
                        continue;
                a->start_queued = false;
                agent_start(m, a);
        }
}

/* Phase two of a switch: every stop is done, the budget can shrink, the new agents start. */
static void manager_switch_phase2(Manager *m) {
        m->switching = false;
        if (m->plan)
                slice_set(m, m->plan->slice_after);
        else if (m->active) {
                /* After adoption: the budget may have been set by a previous instance, set it again. */
                _cleanup_(unit_spec_freep) UnitSpec *slice = NULL;

                if (plan_slice(m->active, m->n_cpus, &slice) >= 0)
                        slice_set(m, slice);
        }
        m->plan = switch_plan_free(m->plan);

        /* What was stopped is gone from systemd: forget it. */
        while (m->n_leaving > 0)
                leaving_remove(m, m->n_leaving - 1);

        m->settled = false;
        manager_start_queued(m);
        manager_update_state(m);
}

static bool stops_pending(const Manager *m) {
        return m->n_stop_calls > 0 || strv_length(m->stop_jobs) > 0;
}

static void manager_maybe_finish_stops(Manager *m) {
        if (!m->switching || stops_pending(m))
                return;
        manager_switch_phase2(m);
}

static void strv_remove_one(char **l, const char *s) {
        for (size_t i = 0; l && l[i]; i++)
                if (streq(l[i], s)) {
                        free(l[i]);
                        memmove(l + i, l + i + 1, (strv_length(l + i + 1) + 1) * sizeof(char *));
                        return;
                }
}

static int on_job_removed(sd_bus_message *msg, void *userdata, sd_bus_error *ret_error) {
        Manager *m = userdata;
        const char *job, *unit, *result;
        AgentRuntime *a;
        uint32_t id;
        bool socket;

        if (sd_bus_message_read(msg, "uoss", &id, &job, &unit, &result) < 0)
                return 0;

        if (strv_contains(m->stop_jobs, job)) {
                strv_remove_one(m->stop_jobs, job);
                manager_maybe_finish_stops(m);
                return 0;
        }

        a = manager_find_agent_by_unit(m, unit, &socket);
        if (!a || !streq_ptr(a->start_job, job))
                return 0;
        a->start_job = mfree(a->start_job);
        a->first_start_done = true;
        if (!streq(result, "done") && !streq(result, "skipped")) {
                a->start_failed = true;
                log_warning("Starting agent %s: job %s.", a->name, result);
                (void) sd_bus_emit_signal(m->bus, UNIFIED_OBJECT_PATH, UNIFIED_MANAGER_IFACE, "AgentFailed",
                                          "ss", a->name, result);
        }
        agent_refresh_unheard(m, a);
        manager_queue_state_update(m);
        return 0;
}

static int on_unit_removed(sd_bus_message *msg, void *userdata, sd_bus_error *ret_error) {
        Manager *m = userdata;
        const char *unit, *path;
        AgentRuntime *a;
        bool socket;

        if (sd_bus_message_read(msg, "so", &unit, &path) < 0)
                return 0;
        a = manager_find_agent_by_unit(m, unit, &socket);
        if (!a)
                return 0;
        if (!socket)
                a->unit_loaded = false;
        if (a->leaving)
                return 0;
        if (a->start_when_removed && !socket) {
                log_debug("%s is gone, starting agent %s again.", unit, a->name);
                agent_start(m, a);
        }
        return 0;
}

/* ---------------------------------------------------------------------------------------------------
 * Convergence with unified@.service */

static int on_list_instances(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        CallContext *c = userdata;
        Manager *m = c->manager;
        const char *name, *active;
        int r;

        if (sd_bus_message_is_method_error(reply, NULL))
                return 0;
        r = sd_bus_message_enter_container(reply, 'a', "(ssssssouso)");
        if (r < 0)
                return 0;
        while (sd_bus_message_read(reply, "(ssssssouso)", &name, NULL, NULL, &active, NULL, NULL, NULL, NULL,
                                   NULL, NULL) > 0) {
                /* c->unit is the instance that should run ("" for none). */
                if (streq(name, strempty(c->unit)) || streq(active, "inactive") || streq(active, "failed"))
                        continue;
                unit_stop(m, NULL, name, false);
        }
        return 0;
}

/* `systemctl start unified@X`, `unifiedctl start X` and StartProfile(X) end in the same place:
 * unified@X.service active, every other instance stopped. Their ExecStart=/ExecStop= call back into
 * us and find nothing left to do. For a start this runs once the profile has settled: unified@X's
 * ExecStart= is one more process for PID 1 to spawn and one more client for us while the agents
 * come up, and it has nothing to do before then. */
static void manager_converge_instances(Manager *m, const char *profile, const char *job_mode) {
        _cleanup_free_ char *instance = NULL;
        CallContext *c;
        int r;

        if (profile && asprintf(&instance, INSTANCE_TEMPLATE_PREFIX "%s.service", profile) < 0) {
                log_oom();
                return;
        }

        c = call_context_new(m, NULL, instance);
        if (!c) {
                log_oom();
                return;
        }
        r = systemd_manager_call(m->systemd, "ListUnitsByPatterns",
                                 &(SystemdCall) { on_list_instances, c, call_context_free }, "asas", 0, 1,
                                 INSTANCE_TEMPLATE_PREFIX "*.service");
        if (r < 0)
                log_warning_errno(r, "Failed to list unified@ instances, ignoring: %m");

        if (!instance)
                return;
        c = call_context_new(m, NULL, instance);
        if (!c) {
                log_oom();
                return;
        }
        r = systemd_manager_call(m->systemd, "StartUnit", &(SystemdCall) { on_generic_reply, c, call_context_free },
                                 "ss", instance, job_mode);
        if (r < 0)
                log_warning_errno(r, "Failed to start %s, ignoring: %m", instance);
}

/* ---------------------------------------------------------------------------------------------------
 * Switching */

static int agents_push(AgentRuntime ***l, size_t *n, AgentRuntime *a) {
        AgentRuntime **x = realloc(*l, sizeof(AgentRuntime *) * (*n + 1));

        if (!x)
                return -ENOMEM;
        x[(*n)++] = a;
        *l = x;
        return 0;
}

int manager_add_agent(Manager *m, AgentRuntime *a) {
        int r;

        r = agents_push(&m->agents, &m->n_agents, a);
        if (r < 0)
                return r;
        r = hashmap_put(m->agents_by_name, a->name, a);
        if (r < 0)
                m->n_agents--;
        return r < 0 ? r : 0;
}

/* Takes "name" out of the array; the caller keeps agents_by_name right. */
static AgentRuntime *agents_take(AgentRuntime **l, size_t n, const char *name) {
        for (size_t i = 0; i < n; i++)
                if (l[i] && streq(l[i]->name, name))
                        return TAKE_PTR(l[i]);
        return NULL;
}

static void log_switch(const Manager *m, const char *from, const char *to) {
        if (from && to && !streq(from, to))
                (void) sd_journal_send("MESSAGE=Switching profile %s to %s.", from, to,
                                       "MESSAGE_ID=" UNIFIED_MESSAGE_PROFILE_SWITCHED, "PRIORITY=%i", LOG_NOTICE,
                                       "UNIFIED_PROFILE=%s", to, "UNIFIED_PREVIOUS_PROFILE=%s", from, NULL);
        else if (to)
                (void) sd_journal_send("MESSAGE=Starting profile %s.", to,
                                       "MESSAGE_ID=" UNIFIED_MESSAGE_PROFILE_STARTED, "PRIORITY=%i", LOG_NOTICE,
                                       "UNIFIED_PROFILE=%s", to, NULL);
        else if (from)
                (void) sd_journal_send("MESSAGE=Stopping profile %s.", from,
                                       "MESSAGE_ID=" UNIFIED_MESSAGE_PROFILE_STOPPED, "PRIORITY=%i", LOG_NOTICE,
                                       "UNIFIED_PROFILE=%s", from, NULL);
}

/* Moves from the deployed profile to "new" (owned, NULL: none). */
static int manager_switch(Manager *m, Profile *new) {
        _cleanup_(profile_freep) Profile *newp = new;
        _cleanup_(switch_plan_freep) SwitchPlan *plan = NULL;
        _cleanup_(hashmap_freep) Hashmap *by_name = NULL;
        AgentRuntime **agents = NULL, **created = NULL;
        bool *is_new = NULL;
        size_t n = 0;
        int r;

        r = plan_switch(m->active, newp, m->systemd_version, m->n_cpus, &plan);
        if (r < 0)
                return r;

        /* Allocate everything first, so that running out of memory leaves the current state intact. */
        created = calloc(plan->n_steps + 1, sizeof(AgentRuntime *));
        agents = calloc(plan->n_steps + 1, sizeof(AgentRuntime *));
        is_new = calloc(plan->n_steps + 1, sizeof(bool));
        by_name = hashmap_new();
        if (!created || !agents || !is_new || !by_name) {
                r = -ENOMEM;
                goto fail;
        }
        /* The new profile's agents, by name: those created here and those that stay. The current index
         * stays in place until the switch is done (phase one takes runtimes out of m->agents but frees
         * none of them). */
        for (size_t i = 0; i < plan->n_steps; i++) {
                AgentStep *s = &plan->steps[i];
                AgentRuntime *a;

                if (s->action == AGENT_ACTION_STOP)
                        continue;
                a = manager_find_agent(m, s->agent);
                if (!a && s->action == AGENT_ACTION_START) {
                        r = agent_runtime_new(profile_find_agent(newp, s->agent), newp->name, &created[i]);
                        if (r < 0)
                                goto fail;
                        created[i]->manager = m;
                        a = created[i];
                }
                if (a) {
                        r = hashmap_put(by_name, a->name, a);
                        if (r < 0)
                                goto fail;
                }
        }

        log_switch(m, m->active ? m->active->name : NULL, newp ? newp->name : NULL);
        r = state_save_active_profile(m->state_dir, newp ? newp->name : NULL);
        if (r < 0)
                log_warning_errno(r, "Failed to record the active profile in %s, ignoring: %m", m->state_dir);

        /* Phase one: raise the budget, stop what goes, change what keeps running. */
        slice_set(m, plan->slice_before);
        for (size_t i = 0; i < plan->n_steps; i++) {
                AgentStep *s = &plan->steps[i];
                AgentRuntime *a;

                if (s->action == AGENT_ACTION_STOP) {
                        /* Announced while the object still exists: sd-bus looks up its interfaces. */
                        a = manager_find_agent(m, s->agent);
                        if (a)
                                (void) sd_bus_emit_object_removed(m->bus, a->object_path);
                        a = agents_take(m->agents, m->n_agents, s->agent);
                        if (!a)
                                continue;
                        (void) hashmap_remove(m->agents_by_name, a->name);
                        a->leaving = true;
                        a->start_queued = false;
                        if (agents_push(&m->leaving, &m->n_leaving, a) < 0) {
                                agent_runtime_free(a);
                                continue;
                        }
                        agent_stop(m, a);
                        continue;
                }

                is_new[n] = created[i] != NULL;
                a = created[i] ? TAKE_PTR(created[i]) : agents_take(m->agents, m->n_agents, s->agent);
                if (!a)
                        continue;
                if (agent_runtime_update(a, profile_find_agent(newp, s->agent), newp->name) < 0)
                        log_oom();
                agents[n++] = a;

                /* A kept agent whose unit systemd has collected (it failed, or a dependency took it
                 * down) is started again: other agents' Requires= need the unit to exist. */
                if (IN_SET(s->action, AGENT_ACTION_KEEP, AGENT_ACTION_SET_PROPERTIES) && !a->unit_loaded &&
                    !a->start_in_flight && !a->start_job) {
                        a->start_queued = true;
                        continue;
                }

                switch (s->action) {
                case AGENT_ACTION_START:
                        a->start_queued = true;
                        break;
                case AGENT_ACTION_RESTART:
                        agent_stop(m, a);
                        a->start_queued = true;
                        break;
                case AGENT_ACTION_SET_PROPERTIES: {
                        CallContext *c = call_context_new(m, s->agent, s->changes->name);

                        if (!c)
                                break;
                        if (systemd_set_unit_properties(m->systemd, s->changes, true,
                                                        &(SystemdCall) { on_generic_reply, c, call_context_free }) < 0)
                                log_warning("Failed to change the limits of %s.", s->changes->name);
                        else
                                a->runtime_changed = true;
                        break;
                }
                default:
                        break;
                }
        }
        /* Anything the plan did not mention (it mentions every agent) must not leak. */
        for (size_t i = 0; i < m->n_agents; i++)
                agent_runtime_free(m->agents[i]);
        free(m->agents);
        free(created);

        profile_free(m->active);
        m->active = TAKE_PTR(newp);
        m->agents = agents;
        m->n_agents = n;
        hashmap_free(m->agents_by_name);
        m->agents_by_name = TAKE_PTR(by_name);
        switch_plan_free(m->plan);
        m->plan = TAKE_PTR(plan);
        m->switching = true;
        m->settled = false;
        if (m->supervisor) {
                r = supervisor_sync_agents(m->supervisor);
                if (r < 0)
                        log_warning_errno(r, "Failed to set up the breakers of profile %s, ignoring: %m",
                                          manager_active_profile_name(m));
        }

        for (size_t i = 0; i < n; i++)
                if (is_new[i])
                        (void) sd_bus_emit_object_added(m->bus, m->agents[i]->object_path);
        free(is_new);
        (void) sd_bus_emit_properties_changed(m->bus, UNIFIED_OBJECT_PATH, UNIFIED_MANAGER_IFACE, "ActiveProfile",
                                              "NAgents", NULL);

        /* With nothing to stop, phase two follows at once: the starts go out back to back. */
        manager_maybe_finish_stops(m);
        manager_update_state(m);
        return 0;

fail:
        for (size_t i = 0; created && i < plan->n_steps; i++)
                agent_runtime_free(created[i]);
        free(created);
        free(agents);
        free(is_new);
        return r;
}

/* ---------------------------------------------------------------------------------------------------
 * The operations behind the D-Bus API */

int manager_start_profile(Manager *m, const char *name, sd_bus_error *error) {
        _cleanup_(diagnostics_done) Diagnostics diag = {};
        _cleanup_(profile_freep) Profile *p = NULL;
        const char *job_mode;
        ProfileEntry *e;
        int r;

        if (!manager_name_is_valid(name))
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Invalid profile name '%s'.", name);
        if (m->active && streq(m->active->name, name))
                return 0;
        e = manager_find_profile(m, name);
        if (!e)
                return sd_bus_error_setf(error, BUS_ERROR_NO_SUCH_PROFILE, "No profile '%s'.", name);
        if (!e->profile)
                return sd_bus_error_setf(error, BUS_ERROR_INVALID_PROFILE, "%s", e->error);
        if (m->switching)
                return sd_bus_error_setf(error, BUS_ERROR_BUSY, "Switching to profile '%s' is in progress.",
                                         manager_active_profile_name(m));

        /* Our own copy: a reload may replace the set while this profile runs. */
        r = profile_set_resolve(m->profile_set, name, &diag, &p);
        if (r < 0)
                return sd_bus_error_set_errnof(error, r, "Failed to resolve profile '%s': %m", name);
        /* Due before the switch: a profile whose agents all run already settles within it. */
        job_mode = m->instance_job_mode;
        m->instance_job_mode = "replace";
        r = manager_switch(m, TAKE_PTR(p));
        if (r < 0) {
                m->instance_job_mode = job_mode;
                return sd_bus_error_set_errnof(error, r, "Failed to switch to profile '%s': %m", name);
        }
        return 0;
}

int manager_stop_profile(Manager *m, const char *name, sd_bus_error *error) {
        int r;

        if (!isempty(name)) {
                if (!manager_name_is_valid(name))
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Invalid profile name '%s'.", name);
                if (!m->active || !streq(m->active->name, name)) {
                        /* Not active: nothing to do, so unified@X's ExecStop= is always safe. */
                        if (!manager_find_profile(m, name))
                                return sd_bus_error_setf(error, BUS_ERROR_NO_SUCH_PROFILE, "No profile '%s'.", name);
                        return 0;
                }
        }
        if (!m->active)
                return 0;

        r = manager_switch(m, NULL);
        if (r < 0)
                return sd_bus_error_set_errnof(error, r, "Failed to stop the profile: %m");
        m->instance_job_mode = NULL;
        manager_converge_instances(m, NULL, NULL);
        return 0;
}

int manager_reload_profiles(Manager *m, sd_bus_error *error) {
        int r;

        r = manager_load_profiles(m);
        if (r < 0)
                return sd_bus_error_set_errnof(error, r, "Failed to load profiles: %m");
        log_info("Loaded %zu profiles.", m->n_profiles);
        return 0;
}

static int on_restart_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        CallContext *c = userdata;

        if (!c->request)
                return 0;
        if (sd_bus_message_is_method_error(reply, NULL))
                (void) sd_bus_reply_method_error(c->request, sd_bus_message_get_error(reply));
        else
                (void) sd_bus_reply_method_return(c->request, NULL);
        return 0;
}

int manager_restart_agent(Manager *m, AgentRuntime *a, sd_bus_message *request, sd_bus_error *error) {
        CallContext *c;
        int r;

        c = call_context_new(m, a->name, a->unit);
        if (!c)
                return -ENOMEM;
        c->request = sd_bus_message_ref(request);
        a->start_failed = false;
        r = systemd_manager_call(m->systemd, "RestartUnit", &(SystemdCall) { on_restart_reply, c, call_context_free },
                                 "ss", a->unit, "replace");
        if (r < 0)
                return sd_bus_error_set_errnof(error, r, "Failed to restart %s: %m", a->unit);
        return 1;
}

/* ---------------------------------------------------------------------------------------------------
 * Supervisor callbacks */

static int supervisor_start_agent(Manager *m, AgentRuntime *a) {
        agent_start(m, a);
        return a->start_failed && !a->start_in_flight ? -EIO : 0;
}

static const SupervisorCallbacks supervisor_callbacks = {
        .start_agent = supervisor_start_agent,
        .state_changed = manager_queue_state_update,
};

/* ---------------------------------------------------------------------------------------------------
 * Startup and adoption */

/* The profile a running unit was started for, from its environment: the fallback when the state
 * file is gone. Only called before the event loop runs. */
static int unit_read_profile(sd_bus *bus, const char *unit, char **ret) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_strv_free_ char **env = NULL;
        _cleanup_free_ char *path = NULL;
        int r;

        r = systemd_unit_path(unit, &path);
        if (r < 0)
                return r;
        r = sd_bus_get_property_strv(bus, SYSTEMD_SERVICE, path, SYSTEMD_SERVICE_IFACE, "Environment", &error, &env);
        if (r < 0)
                return r;
        STRV_FOREACH(e, env)
                if (strneq(*e, "UNIFIED_PROFILE=", 16)) {
                        char *p = strdup(*e + 16);
                        if (!p)
                                return -ENOMEM;
                        *ret = p;
                        return 0;
                }
        return -ENOENT;
}

/* Whether "unit" is one of ours: the name pattern alone also matches other people's units. Sockets
 * have no slice; ours are recognised by the service they activate. Before the loop only. */
static bool unit_in_our_slice(sd_bus *bus, const char *unit) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_free_ char *path = NULL, *slice = NULL, *service = NULL;
        const char *dot = strrchr(unit, '.');

        if (dot && streq(dot, ".socket")) {
                if (asprintf(&service, "%.*s.service", (int) (dot - unit), unit) < 0)
                        return false;
                unit = service;
        }
        if (systemd_unit_path(unit, &path) < 0)
                return false;
        if (sd_bus_get_property_string(bus, SYSTEMD_SERVICE, path, SYSTEMD_SERVICE_IFACE, "Slice", &error, &slice) < 0)
                return false;
        return streq(slice, UNIFIED_SLICE);
}

static int manager_adopt(Manager *m) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(diagnostics_done) Diagnostics diag = {};
        _cleanup_strv_free_ char **units = NULL, **first_service = NULL;
        _cleanup_free_ char *name = NULL;
        Profile *p = NULL;
        const char *unit, *active;
        size_t n_missing = 0;
        int r;

        r = sd_bus_call_method(m->bus, SYSTEMD_SERVICE, SYSTEMD_PATH, SYSTEMD_MANAGER_IFACE, "ListUnitsByPatterns",
                               &error, &reply, "asas", 0, 2, "unified-*.service", "unified-*.socket");
        if (r < 0)
                return log_error_errno(r, "Failed to list units: %s", error.message);
        r = sd_bus_message_enter_container(reply, 'a', "(ssssssouso)");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_read(reply, "(ssssssouso)", &unit, NULL, NULL, &active, NULL, NULL, NULL, NULL,
                                        NULL, NULL)) > 0) {
                if (streq(active, "inactive") || !unit_in_our_slice(m->bus, unit))
                        continue;
                r = strv_extend(&units, unit);
                if (r < 0)
                        return r;
                if (!first_service && strlen(unit) > 8 && streq(unit + strlen(unit) - 8, ".service")) {
                        r = strv_extend(&first_service, unit);
                        if (r < 0)
                                return r;
                }
        }
        if (r < 0)
                return r;

        r = state_load_active_profile(m->state_dir, &name);
        if (r < 0)
                log_warning_errno(r, "Failed to read the saved state, ignoring: %m");
        if (!name && first_service) {
                r = unit_read_profile(m->bus, first_service[0], &name);
                if (r >= 0)
                        log_notice("No saved state; %s says it belongs to profile %s.", first_service[0], name);
        }
        if (!name) {
                if (units)
                        log_warning("Found %zu unified units but no active profile, leaving them alone.",
                                    strv_length(units));
                return 0;
        }

        r = profile_set_resolve(m->profile_set, name, &diag, &p);
        if (r < 0) {
                log_error("Profile %s was active but no longer resolves; leaving its agents alone.", name);
                return 0;
        }
        m->active = p;

        for (size_t i = 0; i < p->n_agents; i++) {
                AgentRuntime *a;

                r = agent_runtime_new(p->agents[i], p->name, &a);
                if (r < 0)
                        return r;
                a->manager = m;
                r = manager_add_agent(m, a);
                if (r < 0) {
                        agent_runtime_free(a);
                        return r;
                }
                r = agent_watch(m, a);
                if (r < 0)
                        log_warning_errno(r, "Failed to watch %s, its state will lag: %m", a->unit);

                if (strv_contains(units, a->socket_unit ?: a->unit)) {
                        a->first_start_done = true;
                        a->unit_loaded = true;
                        agent_refresh_all(m, a);
                        continue;
                }
                a->start_queued = true;
        }

        /* Units of ours that no agent of the profile explains: left over from an interrupted switch. */
        STRV_FOREACH(u, units)
                if (!manager_find_agent_by_unit(m, *u, NULL)) {
                        log_notice("Stopping %s, which profile %s does not have.", *u, p->name);
                        unit_stop(m, NULL, *u, false);
                }

        for (size_t i = 0; i < m->n_agents; i++)
                if (m->agents[i]->start_queued)
                        n_missing++;
        log_info("Adopted profile %s: %zu of %zu agents were running.", p->name, m->n_agents - n_missing,
                 m->n_agents);

        m->settled = false;
        m->switching = true;   /* so that phase two applies the budget and starts what is missing */
        m->plan = NULL;
        /* A previous instance may have died before it started unified@X. "fail", not "replace": should
         * unified@X be stopping (its ExecStop= was waiting for us), a start must not undo that. */
        m->instance_job_mode = "fail";
        return 0;
}

int manager_startup(Manager *m) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_free_ char *version = NULL;
        int r;

        r = sd_bus_open_system(&m->bus);
        if (r < 0)
                return log_error_errno(r, "Failed to connect to the system bus: %m");
        r = sd_bus_attach_event(m->bus, m->event, SD_EVENT_PRIORITY_NORMAL);
        if (r < 0)
                return log_error_errno(r, "Failed to attach the bus to the event loop: %m");
        r = systemd_client_new(m->bus, m->event, SYSTEMD_CALLS_IN_FLIGHT_MAX, &m->systemd);
        if (r < 0)
                return log_error_errno(r, "Failed to set up the systemd client: %m");

        r = manager_load_profiles(m);
        if (r < 0)
                return log_error_errno(r, "Failed to load profiles: %m");
        log_info("Loaded %zu profiles.", m->n_profiles);

        r = supervisor_new(m, &supervisor_callbacks, &m->supervisor);
        if (r < 0)
                return log_error_errno(r, "Failed to set up supervision: %m");

        r = bus_manager_add_objects(m);
        if (r < 0)
                return log_error_errno(r, "Failed to add D-Bus objects: %m");

        r = sd_bus_match_signal(m->bus, NULL, SYSTEMD_SERVICE, SYSTEMD_PATH, SYSTEMD_MANAGER_IFACE, "JobRemoved",
                                on_job_removed, m);
        if (r < 0)
                return log_error_errno(r, "Failed to watch systemd jobs: %m");
        r = sd_bus_match_signal(m->bus, NULL, SYSTEMD_SERVICE, SYSTEMD_PATH, SYSTEMD_MANAGER_IFACE, "UnitRemoved",
                                on_unit_removed, m);
        if (r < 0)
                return log_error_errno(r, "Failed to watch systemd units: %m");
        r = sd_bus_call_method(m->bus, SYSTEMD_SERVICE, SYSTEMD_PATH, SYSTEMD_MANAGER_IFACE, "Subscribe", &error,
                               NULL, NULL);
        if (r < 0)
                return log_error_errno(r, "Failed to subscribe to systemd: %s", error.message);

        r = sd_bus_get_property_string(m->bus, SYSTEMD_SERVICE, SYSTEMD_PATH, SYSTEMD_MANAGER_IFACE, "Version",
                                       &error, &version);
        if (r < 0)
                return log_error_errno(r, "Failed to get systemd's version: %s", error.message);
        if (systemd_parse_version(version, &m->systemd_version) < 0)
                log_warning("Cannot parse systemd version '%s', assuming no RestartSteps=.", version);
        log_debug("systemd %s (%u).", version, m->systemd_version);

        r = manager_adopt(m);
        if (r < 0)
                return log_error_errno(r, "Failed to adopt running agents: %m");

        r = chaos_new(m, &(ChaosCallbacks) { .start_agent = chaos_start_agent }, &m->chaos);
        if (r < 0)
                return log_error_errno(r, "Failed to set up fault injection: %m");
        /* A previous instance that died mid-fault left records: undo those faults now. */
        r = chaos_startup(m->chaos);
        if (r < 0)
                log_warning_errno(r, "Failed to undo leftover faults, ignoring: %m");
        /* Breakers restored before anything starts: an open one keeps its agent stopped. */
        r = supervisor_sync_agents(m->supervisor);
        if (r < 0)
                return log_error_errno(r, "Failed to restore the breakers: %m");
        r = supervisor_start(m->supervisor);
        if (r < 0)
                log_warning_errno(r, "Failed to follow the journal, health will come from systemd only: %m");
        r = manager_metrics_new(m, m->supervisor, &m->metrics);
        if (r < 0)
                log_warning_errno(r, "Failed to start the metrics endpoint, continuing without it: %m");
        if (m->switching)
                manager_maybe_finish_stops(m);
        (void) sd_bus_emit_properties_changed(m->bus, UNIFIED_OBJECT_PATH, UNIFIED_MANAGER_IFACE, "ActiveProfile",
                                              "NAgents", NULL);
        manager_update_state(m);
        return 0;
}

int manager_run(Manager *m) {
        return sd_event_loop(m->event);
}
