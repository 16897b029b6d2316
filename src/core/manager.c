/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The daemon's state machine: profiles become transient units, switches are planned and executed
 * asynchronously, systemd's signals are routed to the agents they are about. */

#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>
#include <systemd/sd-journal.h>

#include "agent-control.h"
#include "bus-error.h"
#include "bus-manager.h"
#include "chaos.h"
#include "fs-util.h"
#include "hashmap.h"
#include "log.h"
#include "manager.h"
#include "message-ids.h"
#include "plan.h"
#include "polkit.h"
#include "profile-set.h"
#include "state.h"
#include "string-util.h"
#include "strv.h"
#include "supervisor.h"
#include "systemd-client.h"

#define INSTANCE_TEMPLATE_PREFIX "unified@"

#define IN_SET(x, a, b) ((x) == (a) || (x) == (b))

/* Userdata of a call about no agent (the slice, unified@ instances, a stop job): what to say if it fails. */
typedef struct CallContext {
        Manager *manager;
        char *object;                   /* the unit (or job) the call is about */
} CallContext;

static void call_context_free(void *p) {
        CallContext *c = p;

        if (!c)
                return;
        free(c->object);
        free(c);
}

static CallContext *call_context_new(Manager *m, const char *object) {
        CallContext *c = calloc(1, sizeof(CallContext));

        if (!c)
                return NULL;
        c->manager = m;
        if (object && !(c->object = strdup(object)))
                return mfree(c);
        return c;
}

static int on_generic_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        CallContext *c = userdata;

        if (sd_bus_message_is_method_error(reply, NULL))
                log_debug("%s: %s", strna(c->object), sd_bus_message_get_error(reply)->message);
        return 0;
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

/* ---------------------------------------------------------------------------------------------------
 * The agents: one array for the active profile, one for the leaving ones, and the two indexes */

static int agents_push(AgentRuntime ***l, size_t *n, AgentRuntime *a) {
        AgentRuntime **x = reallocarray(*l, *n + 1, sizeof(AgentRuntime *));

        if (!x)
                return -ENOMEM;
        x[(*n)++] = a;
        *l = x;
        return 0;
}

/* Indexes "a" by its units (it keeps them until it is freed: leaving agents too). */
static int manager_index_units(Manager *m, AgentRuntime *a) {
        int r;

        r = hashmap_put(m->agents_by_unit, a->unit, a);
        if (r >= 0 && a->socket_unit)
                r = hashmap_put(m->agents_by_unit, a->socket_unit, a);
        if (r < 0) {
                (void) hashmap_remove(m->agents_by_unit, a->unit);
                return r;
        }
        return 0;
}

/* Room for the links to the agents "def" requires, taken before a switch commits. */
static AgentRuntime **requires_alloc(const Agent *def) {
        return calloc(MAX(strv_length(def->requires), (size_t) 1), sizeof(AgentRuntime *));
}

/* Links each agent to the agents it requires, once all of the profile's agents are indexed: the one
 * time a dependency is looked up by name. */
static void manager_link_requires(Manager *m) {
        for (size_t i = 0; i < m->n_agents; i++) {
                AgentRuntime *a = m->agents[i];

                a->n_requires = 0;
                STRV_FOREACH(r, a->def->requires) {
                        AgentRuntime *dep = manager_find_agent(m, *r);

                        if (dep)
                                a->requires[a->n_requires++] = dep;
                }
        }
}

/* Frees an agent, out of every index and queue first (the indexes borrow its names). */
static void manager_agent_free(Manager *m, AgentRuntime *a) {
        if (!a)
                return;
        if (hashmap_get(m->agents_by_name, a->name) == a)
                (void) hashmap_remove(m->agents_by_name, a->name);
        (void) hashmap_remove(m->agents_by_unit, a->unit);
        if (a->socket_unit)
                (void) hashmap_remove(m->agents_by_unit, a->socket_unit);
        bus_agent_forget(a);
        agent_runtime_free(a);
}

AgentRuntime *manager_find_agent(Manager *m, const char *name) {
        return hashmap_get(m->agents_by_name, name);
}

AgentRuntime *manager_find_agent_by_unit(Manager *m, const char *unit, bool *ret_socket) {
        AgentRuntime *a = hashmap_get(m->agents_by_unit, unit);

        if (a)
                SET_IF(ret_socket, streq_ptr(a->socket_unit, unit));
        return a;
}

Manager *manager_free(Manager *m) {
        if (!m)
                return NULL;
        /* First: it undoes what faults still have in effect, over the bus. */
        chaos_free(m->chaos);
        /* The supervisor saves the journal cursor. */
        supervisor_free(m->supervisor);
        sd_event_source_disable_unref(m->state_event);
        sd_event_source_disable_unref(m->dbus_event);
        for (size_t i = 0; i < m->n_agents; i++)
                manager_agent_free(m, m->agents[i]);
        free(m->agents);
        for (size_t i = 0; i < m->n_leaving; i++)
                manager_agent_free(m, m->leaving[i]);
        free(m->leaving);
        hashmap_free(m->agents_by_name);
        hashmap_free(m->agents_by_unit);
        manager_free_profiles(m);
        profile_set_free(m->profile_set);
        profile_free(m->active);
        switch_plan_free(m->plan);
        strv_free(m->stop_jobs);
        for (size_t i = 0; i < m->n_instance_stops; i++)
                free(m->instance_stops[i].unit);
        free(m->instance_stops);
        free(m->instance_starting);
        free(m->instance_start_job);
        free(m->instance_cancelled);
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
        m->agents_by_unit = hashmap_new();
        if (!m->state_dir || !m->agents_by_name || !m->agents_by_unit)
                return -ENOMEM;
        n = sysconf(_SC_NPROCESSORS_ONLN);
        m->n_cpus = n > 0 ? (unsigned) n : 1;

        r = bus_error_add_map();
        if (r < 0)
                return r;
        r = sd_event_default(&m->event);
        if (r < 0)
                return r;
        r = polkit_registry_new(m->event, &m->polkit);
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

const char *manager_active_profile_name(const Manager *m) {
        return m->active ? m->active->name : "";
}

static uint32_t manager_count_active_agents(const Manager *m) {
        uint32_t n = 0;

        for (size_t i = 0; i < m->n_agents; i++)
                if (agent_runtime_is_active(m->agents[i]))
                        n++;
        return n;
}

/* ---------------------------------------------------------------------------------------------------
 * State */

static void manager_converge_instances(Manager *m, const char *profile, const char *job_mode);
static void manager_cancel_instance_start(Manager *m, const char *profile);

static void manager_update_state(Manager *m) {
        ProfileState s;
        uint32_t n_active;
        double health = m->active ? m->health_score : 1.0;

        /* Whatever was queued is answered now. */
        if (m->state_event)
                (void) sd_event_source_set_enabled(m->state_event, SD_EVENT_OFF);
        m->state_updated_at = now(CLOCK_MONOTONIC);

        if (!m->active)
                s = m->switching || m->n_leaving > 0 ? PROFILE_STATE_STOPPING : PROFILE_STATE_INACTIVE;
        else if (m->switching)
                s = PROFILE_STATE_STARTING;
        else {
                s = supervisor_profile_state(m->supervisor, m->settled, &health);
                if (s != PROFILE_STATE_STARTING && !m->settled) {
                        m->settled = true;
                        if (m->instance_job_mode)
                                manager_converge_instances(m, m->active->name, TAKE_PTR(m->instance_job_mode));
                }
        }

        n_active = manager_count_active_agents(m);
        if (n_active != m->n_active_agents || health != m->health_score) {
                m->n_active_agents = n_active;
                m->health_score = health;
                bus_manager_changed(m, MANAGER_DIRTY_HEALTH);
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
        bus_manager_changed(m, MANAGER_DIRTY_STATE);
}

static int on_state_event(sd_event_source *source, uint64_t usec, void *userdata) {
        manager_update_state(userdata);
        return 0;
}

/* What systemd's signals and the journal change is evaluated once they are all read: the profile state
 * is a walk over every agent, and starting 77 agents brings over a thousand signals in bursts. The
 * timer runs at idle priority, after the bus and the journal are drained, but no sooner than
 * MANAGER_STATE_SPACING_PER_AGENT_USEC per agent after the last recomputation, so that the walks cost
 * the same share of the daemon's time whatever the size of the profile; and it runs at once if the
 * last recomputation is older than the lag allowed (signals that never let up). The manager's own
 * operations (a switch, a stop) call manager_update_state() directly, so that their answer to a
 * method call already shows the new state. */
void manager_queue_state_update(Manager *m) {
        usec_t t = now(CLOCK_MONOTONIC),
               lag = MAX(MANAGER_STATE_LAG_MAX_USEC, m->n_agents * MANAGER_STATE_LAG_PER_AGENT_USEC),
               at = MAX(t, m->state_updated_at + m->n_agents * MANAGER_STATE_SPACING_PER_AGENT_USEC);
        int r;

        if (t >= m->state_updated_at + lag) {
                manager_update_state(m);
                return;
        }
        if (m->state_event) {
                r = sd_event_source_set_time(m->state_event, at);
                if (r >= 0)
                        r = sd_event_source_set_enabled(m->state_event, SD_EVENT_ONESHOT);
                if (r >= 0)
                        return;
        } else {
                r = sd_event_add_time(m->event, &m->state_event, CLOCK_MONOTONIC, at, 0, on_state_event, m);
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

/* ---------------------------------------------------------------------------------------------------
 * systemd's signals, routed to the agent they name */

static void manager_maybe_finish_stops(Manager *m);

static void strv_remove_one(char **l, const char *s) {
        for (size_t i = 0; l && l[i]; i++)
                if (streq(l[i], s)) {
                        free(l[i]);
                        memmove(l + i, l + i + 1, (strv_length(l + i + 1) + 1) * sizeof(char *));
                        return;
                }
}

static void manager_instance_start_over(Manager *m) {
        m->instance_starting = mfree(m->instance_starting);
        m->instance_start_job = mfree(m->instance_start_job);
}

static int on_job_removed(sd_bus_message *msg, void *userdata, sd_bus_error *ret_error) {
        Manager *m = userdata;
        const char *job, *unit, *result;
        AgentRuntime *a;
        uint32_t id;

        if (sd_bus_message_read(msg, "uoss", &id, &job, &unit, &result) < 0)
                return 0;

        /* Our start's own job, not any job of the unit: the start may first cancel a stop of the same
         * instance still running its ExecStop= (a stop and a start of X in quick succession), and that
         * stop's JobRemoved "canceled" must not end the start's watch. */
        if (streq_ptr(job, m->instance_start_job))
                manager_instance_start_over(m);
        /* The cancelled start ends "canceled" at once; its ExecStart= is gone when the stop is done (or
         * when the start was over before the stop came: then its call was answered already). */
        if (streq_ptr(unit, m->instance_cancelled) && !streq(result, "canceled"))
                m->instance_cancelled = mfree(m->instance_cancelled);

        if (strv_contains(m->stop_jobs, job)) {
                strv_remove_one(m->stop_jobs, job);
                manager_maybe_finish_stops(m);
                return 0;
        }
        a = manager_find_agent_by_unit(m, unit, NULL);
        if (a && !a->leaving)
                agent_job_removed(a, job, result);
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
        if (a)
                agent_unit_removed(a, socket);
        return 0;
}

/* ---------------------------------------------------------------------------------------------------
 * systemd leaving the bus and coming back */

/* A stop the switch waits for: still pending, or over with its JobRemoved lost. */
static int on_stop_job_checked(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        CallContext *c = userdata;      /* c->object: the job */
        Manager *m = c->manager;

        if (!sd_bus_message_is_method_error(reply, NULL) || !strv_contains(m->stop_jobs, c->object))
                return 0;
        log_debug("Stop job %s ended while systemd was off the bus.", c->object);
        systemd_client_job_gone(m->systemd, c->object);
        strv_remove_one(m->stop_jobs, c->object);
        manager_maybe_finish_stops(m);
        return 0;
}

/* The start of unified@X we watch: still pending, or over with its JobRemoved lost. */
static int on_instance_job_checked(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        CallContext *c = userdata;      /* c->object: the job */
        Manager *m = c->manager;

        if (sd_bus_message_is_method_error(reply, NULL) && streq_ptr(m->instance_start_job, c->object)) {
                systemd_client_job_gone(m->systemd, c->object);
                manager_instance_start_over(m);
        }
        return 0;
}

static int on_resubscribed(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        const sd_bus_error *e = sd_bus_message_get_error(reply);

        /* systemd restores its subscribers when it reconnects: "already subscribed" is the usual answer. */
        if (e && !sd_bus_error_has_name(e, "org.freedesktop.systemd1.AlreadySubscribed"))
                log_warning("Failed to subscribe to systemd again: %s", e->message);
        return 0;
}

/* What systemd announced while it was off the bus is lost, and with it maybe the end of jobs we wait for
 * and the state of our units: ask again, as after adoption. */
static void manager_resync(Manager *m) {
        int r;

        r = systemd_manager_call(m->systemd, "Subscribe", &(SystemdCall) { on_resubscribed, .urgent = true }, NULL);
        if (r < 0)
                log_warning_errno(r, "Failed to subscribe to systemd again: %m");
        for (size_t i = 0; i < m->n_agents; i++)
                agent_resync(m->agents[i]);
        if (m->instance_start_job) {
                CallContext *c = call_context_new(m, m->instance_start_job);

                if (!c)
                        return (void) log_oom();
                r = systemd_get_job_id(m->systemd, m->instance_start_job,
                                       &(SystemdCall) { on_instance_job_checked, c, call_context_free });
                if (r < 0)
                        log_warning_errno(r, "Failed to ask systemd about job %s: %m", m->instance_start_job);
        }
        STRV_FOREACH(j, m->stop_jobs) {
                CallContext *c = call_context_new(m, *j);

                if (!c)
                        return (void) log_oom();
                r = systemd_get_job_id(m->systemd, *j, &(SystemdCall) { on_stop_job_checked, c, call_context_free });
                if (r < 0)
                        log_warning_errno(r, "Failed to ask systemd about job %s: %m", *j);
        }
}

static int on_systemd_owner_changed(sd_bus_message *msg, void *userdata, sd_bus_error *ret_error) {
        const char *name, *old_owner, *new_owner;
        Manager *m = userdata;

        if (sd_bus_message_read(msg, "sss", &name, &old_owner, &new_owner) < 0 || !streq(name, SYSTEMD_SERVICE))
                return 0;
        if (isempty(new_owner)) {
                log_warning("systemd left the bus; following its units again when it is back.");
                return 0;
        }
        log_notice("systemd is on the bus again: reading the state of %zu agents.", m->n_agents);
        manager_resync(m);
        return 0;
}

/* ---------------------------------------------------------------------------------------------------
 * The slice's budget */

static void slice_set(Manager *m, const UnitSpec *slice) {
        CallContext *c = call_context_new(m, UNIFIED_SLICE);
        int r;

        if (!c)
                return (void) log_oom();
        r = systemd_set_unit_properties(m->systemd, slice, true, &(SystemdCall) { on_generic_reply, c, call_context_free });
        if (r < 0)
                log_warning_errno(r, "Failed to set the budget of " UNIFIED_SLICE ", ignoring: %m");
}

/* A unit of ours that no agent explains (a stray from an interrupted switch, another unified@ instance). */
static void manager_stop_unit(Manager *m, const char *unit) {
        CallContext *c = call_context_new(m, unit);
        int r;

        if (!c)
                return (void) log_oom();
        r = systemd_manager_call(m->systemd, "StopUnit", &(SystemdCall) { on_generic_reply, c, call_context_free },
                                 "ss", unit, "replace");
        if (r < 0)
                log_warning_errno(r, "Failed to send the stop of %s, ignoring: %m", unit);
}

/* ---------------------------------------------------------------------------------------------------
 * Convergence with unified@.service */

/* How long the echo of our own stop of an instance is expected: unified@.service's TimeoutStopSec=. A record
 * older than that (its ExecStop= never called) must not swallow a later, real stop. */
#define INSTANCE_STOP_ECHO_USEC (5 * USEC_PER_MINUTE)

static void manager_note_instance_stop(Manager *m, const char *unit) {
        InstanceStop *n;
        char *u;

        u = strdup(unit);
        n = u ? realloc(m->instance_stops, (m->n_instance_stops + 1) * sizeof(InstanceStop)) : NULL;
        if (!n) {
                /* Without the record its ExecStop= stops the profile, as before there was one. */
                free(u);
                return (void) log_oom();
        }
        m->instance_stops = n;
        m->instance_stops[m->n_instance_stops++] = (InstanceStop) { .unit = u, .at = now(CLOCK_MONOTONIC) };
}

bool manager_instance_stop_is_ours(Manager *m, const char *unit) {
        usec_t t = now(CLOCK_MONOTONIC);
        bool found = false;
        size_t j = 0;

        /* The first live record of "unit" is consumed; expired ones go. */
        for (size_t i = 0; i < m->n_instance_stops; i++) {
                InstanceStop *s = &m->instance_stops[i];
                bool live = t - s->at < INSTANCE_STOP_ECHO_USEC;

                if (!live || (!found && streq(s->unit, unit))) {
                        found = found || live;
                        free(s->unit);
                        continue;
                }
                m->instance_stops[j++] = *s;
        }
        m->n_instance_stops = j;
        return found;
}

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
                /* c->object is the instance that should run ("" for none). */
                if (streq(name, strempty(c->object)) || streq(active, "inactive") || streq(active, "failed"))
                        continue;
                /* Only an active instance runs its ExecStop= (a oneshot stopped while activating does not). */
                if (streq(active, "active"))
                        manager_note_instance_stop(m, name);
                manager_stop_unit(m, name);
        }
        return 0;
}

/* The start of unified@X is watched until its job ends (on_job_removed()). */
static int on_instance_start_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        CallContext *c = userdata;
        Manager *m = c->manager;
        const char *job;

        if (!streq_ptr(m->instance_starting, c->object))
                return 0;               /* superseded meanwhile */
        if (sd_bus_message_is_method_error(reply, NULL)) {
                log_debug("%s: %s", c->object, sd_bus_message_get_error(reply)->message);
                manager_instance_start_over(m);
                return 0;
        }
        if (sd_bus_message_read(reply, "o", &job) > 0 && free_and_strdup(&m->instance_start_job, job) < 0)
                log_oom();
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

        c = call_context_new(m, instance);
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
        c = call_context_new(m, instance);
        if (!c) {
                log_oom();
                return;
        }
        r = systemd_manager_call(m->systemd, "StartUnit",
                                 &(SystemdCall) { on_instance_start_reply, c, call_context_free }, "ss", instance,
                                 job_mode);
        if (r < 0)
                return (void) log_warning_errno(r, "Failed to start %s, ignoring: %m", instance);
        manager_cancel_instance_start(m, profile);
        manager_instance_start_over(m);
        m->instance_starting = TAKE_PTR(instance);
}

/* Whether "unit" is unified@PROFILE.service. */
static bool instance_is(const char *unit, const char *profile) {
        size_t l = strlen(INSTANCE_TEMPLATE_PREFIX), n = profile ? strlen(profile) : 0;

        if (!unit || !profile || !strneq(unit, INSTANCE_TEMPLATE_PREFIX, l) || !strneq(unit + l, profile, n))
                return false;
        return streq(unit + l + n, ".service");
}

static int on_instance_stop_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        CallContext *c = userdata;
        Manager *m = c->manager;

        if (!sd_bus_message_is_method_error(reply, NULL))
                return 0;
        /* No stop job: nothing is left to wait for. */
        log_debug("%s: %s", c->object, sd_bus_message_get_error(reply)->message);
        if (streq_ptr(m->instance_cancelled, c->object))
                m->instance_cancelled = mfree(m->instance_cancelled);
        return 0;
}

/* A switch to "profile" (NULL: a stop) supersedes the start of another unified@X that converging sent,
 * as a conflicting job replaces a waiting one in systemd: it is stopped now, not once the new profile has
 * settled. Its ExecStart= is `unifiedctl start X`; if that call went out before the stop, it arrives after
 * this switch and would switch back to X, so until the stop is over a StartProfile(X) is taken for that
 * stale call (manager_start_profile()). */
static void manager_cancel_instance_start(Manager *m, const char *profile) {
        CallContext *c;
        int r;

        if (!m->instance_starting || instance_is(m->instance_starting, profile))
                return;
        c = call_context_new(m, m->instance_starting);
        if (!c)
                return (void) log_oom();
        r = systemd_manager_call(m->systemd, "StopUnit", &(SystemdCall) { on_instance_stop_reply, c, call_context_free },
                                 "ss", m->instance_starting, "replace");
        if (r < 0)
                return (void) log_warning_errno(r, "Failed to stop %s, ignoring: %m", m->instance_starting);
        free(m->instance_cancelled);
        m->instance_cancelled = TAKE_PTR(m->instance_starting);
        m->instance_start_job = mfree(m->instance_start_job);
}

/* ---------------------------------------------------------------------------------------------------
 * Switching */

static void leaving_remove(Manager *m, size_t i) {
        AgentRuntime *a = m->leaving[i];

        memmove(m->leaving + i, m->leaving + i + 1, (m->n_leaving - i - 1) * sizeof(AgentRuntime *));
        m->n_leaving--;
        manager_agent_free(m, a);
}

/* Sends the queued starts back to back, each agent after those it requires. */
static void manager_start_queued(Manager *m) {
        _cleanup_free_ size_t *order = NULL;

        if (!m->active)
                return;
        if (plan_start_order(m->active, &order) < 0)
                return (void) log_oom();
        /* m->agents is in the profile's order (manager_switch(), manager_adopt()). */
        assert(m->n_agents == m->active->n_agents);
        for (size_t i = 0; i < m->n_agents; i++) {
                AgentRuntime *a = m->agents[order[i]];

                assert(a->def == m->active->agents[order[i]]);
                if (!a->start_queued)
                        continue;
                a->start_queued = false;
                (void) agent_start(a);
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

void manager_switch_stop_sent(Manager *m, const char *job) {
        if (m->n_stop_calls > 0)
                m->n_stop_calls--;
        if (job && strv_extend(&m->stop_jobs, job) < 0)
                log_oom();
        manager_maybe_finish_stops(m);
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

/* Takes "name" out of the array (leaving a hole); the caller keeps the indexes right. */
static AgentRuntime *agents_take(AgentRuntime **l, size_t n, const char *name) {
        for (size_t i = 0; i < n; i++)
                if (l[i] && streq(l[i]->name, name))
                        return TAKE_PTR(l[i]);
        return NULL;
}

/* Moves from the deployed profile to "new" (owned, NULL: none). */
static int manager_switch(Manager *m, Profile *new) {
        _cleanup_(profile_freep) Profile *newp = new;
        _cleanup_(switch_plan_freep) SwitchPlan *plan = NULL;
        _cleanup_(hashmap_freep) Hashmap *by_name = NULL;
        _cleanup_free_ AgentRuntime **created = NULL, **agents = NULL, **leaving = NULL;
        _cleanup_free_ AgentRuntime ***links = NULL;
        _cleanup_free_ bool *is_new = NULL;
        size_t n = 0;
        int r;

        r = plan_switch(m->active, newp, m->systemd_version, m->n_cpus, &plan);
        if (r < 0)
                return r;

        /* Allocate everything first, so that running out of memory leaves the current state intact: the
         * new agents, the new array and index, room for the leaving ones, and the supervisor's buffers. */
        created = calloc(plan->n_steps + 1, sizeof(AgentRuntime *));
        agents = calloc(plan->n_steps + 1, sizeof(AgentRuntime *));
        leaving = reallocarray(NULL, m->n_leaving + plan->n_steps + 1, sizeof(AgentRuntime *));
        is_new = calloc(plan->n_steps + 1, sizeof(bool));
        links = calloc(plan->n_steps + 1, sizeof(AgentRuntime **));
        by_name = hashmap_new();
        if (!created || !agents || !leaving || !is_new || !links || !by_name)
                return -ENOMEM;
        r = supervisor_reserve(m->supervisor, plan->n_steps);
        if (r < 0)
                return r;
        for (size_t i = 0; i < plan->n_steps; i++) {
                AgentStep *s = &plan->steps[i];
                AgentRuntime *a;

                if (s->action == AGENT_ACTION_STOP)
                        continue;
                links[i] = requires_alloc(profile_find_agent(newp, s->agent));
                if (!links[i]) {
                        r = -ENOMEM;
                        goto fail;
                }
                a = manager_find_agent(m, s->agent);
                if (!a && s->action == AGENT_ACTION_START) {
                        r = agent_runtime_new(profile_find_agent(newp, s->agent), &created[i]);
                        if (r < 0)
                                goto fail;
                        created[i]->manager = m;
                        a = created[i];
                        r = manager_index_units(m, a);
                        if (r < 0)
                                goto fail;
                }
                if (a) {
                        r = hashmap_put(by_name, a->name, a);
                        if (r < 0)
                                goto fail;
                }
        }
        if (m->leaving)
                memcpy(leaving, m->leaving, m->n_leaving * sizeof(AgentRuntime *));

        log_switch(m, m->active ? m->active->name : NULL, newp ? newp->name : NULL);
        r = state_save_active_profile(m->state_dir, newp ? newp->name : NULL);
        if (r < 0)
                log_warning_errno(r, "Failed to record the active profile in %s, ignoring: %m", m->state_dir);

        /* From here on nothing fails. Phase one: raise the budget, stop what goes, change what keeps
         * running. */
        free(m->leaving);
        m->leaving = TAKE_PTR(leaving);
        slice_set(m, plan->slice_before);
        for (size_t i = 0; i < plan->n_steps; i++) {
                AgentStep *s = &plan->steps[i];
                AgentRuntime *a;

                if (s->action == AGENT_ACTION_STOP) {
                        a = agents_take(m->agents, m->n_agents, s->agent);
                        if (!a)
                                continue;
                        /* Announced while the object still exists: sd-bus looks up its interfaces. */
                        bus_agent_removed(a);
                        (void) hashmap_remove(m->agents_by_name, a->name);
                        supervisor_agent_leaving(m->supervisor, a);
                        a->leaving = true;
                        a->def = NULL;
                        a->requires = mfree(a->requires);
                        a->n_requires = 0;
                        a->start_queued = false;
                        m->leaving[m->n_leaving++] = a;
                        agent_stop(a, AGENT_STOP_SWITCH);
                        continue;
                }

                if (created[i]) {
                        a = TAKE_PTR(created[i]);
                        is_new[n] = true;
                        supervisor_agent_added(m->supervisor, a);
                } else {
                        a = agents_take(m->agents, m->n_agents, s->agent);
                        if (!a)
                                continue;
                        agent_runtime_update(a, profile_find_agent(newp, s->agent));
                        bus_agent_changed(a, AGENT_DIRTY_PROFILE);
                }
                free(a->requires);
                a->requires = TAKE_PTR(links[i]);
                a->n_requires = 0;
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
                        agent_stop(a, AGENT_STOP_SWITCH);
                        a->start_queued = true;
                        break;
                case AGENT_ACTION_SET_PROPERTIES:
                        agent_set_limits(a, s->changes);
                        break;
                default:
                        break;
                }
        }
        /* The plan mentions every agent; anything else would be a bug, and must not leak. */
        for (size_t i = 0; i < m->n_agents; i++)
                manager_agent_free(m, m->agents[i]);
        free(m->agents);

        profile_free(m->active);
        m->active = TAKE_PTR(newp);
        m->agents = TAKE_PTR(agents);
        m->n_agents = n;
        hashmap_free(m->agents_by_name);
        m->agents_by_name = TAKE_PTR(by_name);
        manager_link_requires(m);
        switch_plan_free(m->plan);
        m->plan = TAKE_PTR(plan);
        m->switching = true;
        m->settled = false;

        for (size_t i = 0; i < m->n_agents; i++)
                if (is_new[i])
                        bus_agent_added(m->agents[i]);
        supervisor_agents_changed(m->supervisor, true);
        bus_manager_changed(m, MANAGER_DIRTY_PROFILE);

        /* With nothing to stop, phase two follows at once: the starts go out back to back. */
        manager_maybe_finish_stops(m);
        manager_update_state(m);
        return 0;

fail:
        for (size_t i = 0; i < plan->n_steps; i++)
                free(links[i]);
        for (size_t i = 0; i < plan->n_steps; i++)
                if (created[i]) {
                        (void) hashmap_remove(m->agents_by_unit, created[i]->unit);
                        if (created[i]->socket_unit)
                                (void) hashmap_remove(m->agents_by_unit, created[i]->socket_unit);
                        agent_runtime_free(created[i]);
                }
        return r;
}

/* Adds "a" to the active profile's agents and indexes (adoption). */
static int manager_add_agent(Manager *m, AgentRuntime *a) {
        int r;

        r = hashmap_put(m->agents_by_name, a->name, a);
        if (r < 0)
                return r;
        r = manager_index_units(m, a);
        if (r >= 0)
                r = agents_push(&m->agents, &m->n_agents, a);
        if (r < 0) {
                (void) hashmap_remove(m->agents_by_name, a->name);
                (void) hashmap_remove(m->agents_by_unit, a->unit);
                if (a->socket_unit)
                        (void) hashmap_remove(m->agents_by_unit, a->socket_unit);
                return r;
        }
        return 0;
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
        /* Before "busy": the stale call must succeed, or the instance's ExecStart= fails as it is stopped.
         * Without asking for the caller's unit, a user who switches back to X within that moment is taken
         * for the stale call too: the wait of unifiedctl then says that X did not start. */
        if (m->instance_cancelled && instance_is(m->instance_cancelled, name)) {
                log_debug("StartProfile(%s) comes after %s was cancelled, ignoring.", name, m->instance_cancelled);
                return 0;
        }
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
        manager_cancel_instance_start(m, name);
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
        manager_cancel_instance_start(m, NULL);
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

        r = supervisor_reserve(m->supervisor, p->n_agents);
        if (r < 0)
                return r;
        for (size_t i = 0; i < p->n_agents; i++) {
                _cleanup_(agent_runtime_freep) AgentRuntime *new = NULL;
                AgentRuntime *a;

                r = agent_runtime_new(p->agents[i], &new);
                if (r < 0)
                        return r;
                new->manager = m;
                new->requires = requires_alloc(p->agents[i]);
                if (!new->requires)
                        return -ENOMEM;
                r = manager_add_agent(m, new);
                if (r < 0)
                        return r;
                a = TAKE_PTR(new);
                supervisor_agent_added(m->supervisor, a);

                if (strv_contains(units, a->socket_unit ?: a->unit)) {
                        a->first_start_done = true;
                        a->unit_loaded = true;
                        agent_refresh(a, false);
                        continue;
                }
                a->start_queued = true;
        }

        manager_link_requires(m);

        /* Units of ours that no agent of the profile explains: left over from an interrupted switch. */
        STRV_FOREACH(u, units)
                if (!manager_find_agent_by_unit(m, *u, NULL)) {
                        log_notice("Stopping %s, which profile %s does not have.", *u, p->name);
                        manager_stop_unit(m, *u);
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
        struct stat st;
        int r;

        /* What is in the runtime directory decides which agents are ours and which faults to undo. */
        if (stat(m->state_dir, &st) >= 0 && stat_check_trusted(&st) < 0)
                return log_error_errno(-EPERM, "%s is writable by group or others, or not owned by root: refusing "
                                       "to trust the state in it.", m->state_dir);

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

        r = supervisor_new(m, &m->supervisor);
        if (r < 0)
                return log_error_errno(r, "Failed to set up supervision: %m");

        r = bus_manager_add_objects(m);
        if (r < 0)
                return log_error_errno(r, "Failed to add D-Bus objects: %m");

        r = sd_bus_add_match(m->bus, NULL,
                             "type='signal',sender='" SYSTEMD_SERVICE "',interface='org.freedesktop.DBus.Properties',"
                             "member='PropertiesChanged',path_namespace='" SYSTEMD_UNIT_PATH_PREFIX "'",
                             agent_on_unit_properties_changed, m);
        if (r < 0)
                return log_error_errno(r, "Failed to watch systemd's units: %m");
        r = sd_bus_match_signal(m->bus, NULL, SYSTEMD_SERVICE, SYSTEMD_PATH, SYSTEMD_MANAGER_IFACE, "JobRemoved",
                                on_job_removed, m);
        if (r < 0)
                return log_error_errno(r, "Failed to watch systemd jobs: %m");
        r = sd_bus_match_signal(m->bus, NULL, SYSTEMD_SERVICE, SYSTEMD_PATH, SYSTEMD_MANAGER_IFACE, "UnitRemoved",
                                on_unit_removed, m);
        if (r < 0)
                return log_error_errno(r, "Failed to watch systemd units: %m");
        /* PID 1 re-executes (on every upgrade of systemd) and, under enough load, dbus-daemon drops its
         * connection: either way, what it announces meanwhile never reaches us. */
        r = sd_bus_add_match(m->bus, NULL,
                             "type='signal',sender='org.freedesktop.DBus',path='/org/freedesktop/DBus',"
                             "interface='org.freedesktop.DBus',member='NameOwnerChanged',arg0='" SYSTEMD_SERVICE "'",
                             on_systemd_owner_changed, m);
        if (r < 0)
                return log_error_errno(r, "Failed to watch systemd's bus name: %m");
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

        r = chaos_new(m, &m->chaos);
        if (r < 0)
                return log_error_errno(r, "Failed to set up fault injection: %m");
        /* A previous instance that died mid-fault left records: undo those faults now. */
        r = chaos_startup(m->chaos);
        if (r < 0)
                log_warning_errno(r, "Failed to undo leftover faults, ignoring: %m");
        supervisor_agents_changed(m->supervisor, false);
        r = supervisor_start(m->supervisor);
        if (r < 0)
                log_warning_errno(r, "Failed to follow the journal, health will come from systemd only: %m");
        if (m->switching)
                manager_maybe_finish_stops(m);
        bus_manager_changed(m, MANAGER_DIRTY_PROFILE);
        manager_update_state(m);
        return 0;
}

int manager_run(Manager *m) {
        return sd_event_loop(m->event);
}
