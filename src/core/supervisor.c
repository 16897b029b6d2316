/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Per-agent supervision: unit signals and the journal in, breaker actions, announcements, health and
 * persisted state out. */

#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <unistd.h>

#include <systemd/sd-journal.h>

#include "backoff.h"
#include "hashmap.h"
#include "journal-watch.h"
#include "log.h"
#include "manager.h"
#include "message-ids.h"
#include "state.h"
#include "string-util.h"
#include "strv.h"
#include "supervisor.h"
#include "systemd-client.h"

/* The breaker's journal entries (units/unified.catalog explains them). Defined in message-ids.h once the
 * daemon carries them; kept here as a fallback so this module stands alone. */
#ifndef UNIFIED_MESSAGE_BREAKER_OPENED
#define UNIFIED_MESSAGE_BREAKER_OPENED "e7a18f39663148499a1679bd1c4dc7b1"
#endif
#ifndef UNIFIED_MESSAGE_BREAKER_HALF_OPEN
#define UNIFIED_MESSAGE_BREAKER_HALF_OPEN "735eb1ea52ac4c848b243ee2bd664302"
#endif
#ifndef UNIFIED_MESSAGE_BREAKER_CLOSED
#define UNIFIED_MESSAGE_BREAKER_CLOSED "3e24ae8a122d4bd7bb82b829ca1832a7"
#endif

/* While anything in a health score decays with time (error rate, failures in the window, a recent
 * watchdog timeout), the scores are looked at again this often; otherwise no timer runs. */
#define HEALTH_REFRESH_USEC HEALTH_RATE_BUCKET_USEC

struct Supervisor {
        Manager *manager;
        SupervisorCallbacks callbacks;
        sd_id128_t boot_id;

        SupervisedAgent **agents;
        size_t n_agents;
        Hashmap *agents_by_name;        /* the same, by name */

        char *breaker_dir;              /* <state_dir>/breaker: one record per agent */

        JournalWatch *journal;
        bool journal_started;
        sd_event_source *cursor_timer;
        sd_event_source *health_timer;

        Histogram recovery;
        double health_score;

        /* Profile start timing, for unified_profile_last_start_duration_seconds. */
        char *starting_profile;
        usec_t start_requested_at;
        char **start_names;
        usec_t *start_durations;
};

static const char *const unit_transition_table[_UNIT_TRANSITION_MAX] = {
        [UNIT_TRANSITION_NONE] = "none",
        [UNIT_TRANSITION_STARTING] = "starting",
        [UNIT_TRANSITION_ACTIVE] = "active",
        [UNIT_TRANSITION_RESTART] = "restart",
        [UNIT_TRANSITION_FAILED] = "failed",
        [UNIT_TRANSITION_STOPPED] = "stopped",
};

const char *unit_transition_to_string(UnitTransition t) {
        if (t < 0 || t >= _UNIT_TRANSITION_MAX)
                return NULL;
        return unit_transition_table[t];
}

static bool state_is_active(const char *s) {
        return streq_ptr(s, "active") || streq_ptr(s, "reloading") || streq_ptr(s, "refreshing");
}

static bool sub_is_auto_restart(const char *s) {
        /* "auto-restart", and "auto-restart-queued" on systemd >= 254. */
        return s && strneq(s, "auto-restart", strlen("auto-restart"));
}

static bool result_is_failure(const char *result) {
        return failure_kind_from_unit_result(result) >= 0;
}

/* ---------------------------------------------------------------------------------------------------
 * Pure parts */

UnitTransition unit_transition_classify(const char *old_active, const char *old_sub, const char *new_active,
                                        const char *new_sub, const char *result) {
        if (!old_active || !new_active)
                return UNIT_TRANSITION_NONE;

        if (streq(new_active, "failed"))
                return streq(old_active, "failed") ? UNIT_TRANSITION_NONE : UNIT_TRANSITION_FAILED;
        if (sub_is_auto_restart(new_sub)) {
                if (sub_is_auto_restart(old_sub))
                        return UNIT_TRANSITION_NONE;
                /* Restart=always after a clean exit waits in auto-restart too: not a failure. */
                return result_is_failure(result) ? UNIT_TRANSITION_RESTART : UNIT_TRANSITION_NONE;
        }
        if (state_is_active(new_active))
                return state_is_active(old_active) ? UNIT_TRANSITION_NONE : UNIT_TRANSITION_ACTIVE;
        if (streq(new_active, "activating"))
                return streq(old_active, "inactive") || streq(old_active, "failed") ? UNIT_TRANSITION_STARTING
                                                                                    : UNIT_TRANSITION_NONE;
        if (streq(new_active, "inactive"))
                return streq(old_active, "inactive") || streq(old_active, "failed") ? UNIT_TRANSITION_NONE
                                                                                    : UNIT_TRANSITION_STOPPED;
        return UNIT_TRANSITION_NONE;
}

bool restart_policy_restarts(RestartPolicy policy, const char *result) {
        if (!result || streq(result, "start-limit-hit") || streq(result, "exec-condition"))
                return false;
        switch (policy) {
        case RESTART_ALWAYS:
                return true;
        case RESTART_ON_FAILURE:
                return !streq(result, "success");
        case RESTART_ON_ABNORMAL:
                return !streq(result, "success") && !streq(result, "exit-code");
        case RESTART_ON_WATCHDOG:
                return streq(result, "watchdog");
        case RESTART_ON_ABORT:
                return streq(result, "signal") || streq(result, "core-dump");
        default:
                return false;
        }
}

bool unit_transition_to_breaker_event(UnitTransition t, const char *result, bool restart_pending,
                                      sd_id128_t invocation, usec_t now, uint64_t random, BreakerEvent *ret) {
        BreakerEvent ev = { .now = now, .random = random, .invocation = invocation };

        switch (t) {
        case UNIT_TRANSITION_ACTIVE:
                ev.type = BREAKER_EVENT_ACTIVE;
                break;
        case UNIT_TRANSITION_RESTART:
        case UNIT_TRANSITION_FAILED:
                ev.type = BREAKER_EVENT_FAILURE;
                ev.kind = failure_kind_from_unit_result(result);
                if (ev.kind < 0)
                        /* "failed" with Result=success: systemd says it failed, we believe it. */
                        ev.kind = FAILURE_OTHER;
                ev.final = t == UNIT_TRANSITION_FAILED && !restart_pending;
                break;
        default:
                return false;
        }
        *ret = ev;
        return true;
}

bool journal_event_to_breaker_event(const JournalEvent *je, usec_t now, uint64_t random, BreakerEvent *ret) {
        BreakerEvent ev = { .type = BREAKER_EVENT_FAILURE, .now = now, .random = random,
                            .invocation = je->invocation };

        switch (je->type) {
        case JOURNAL_EVENT_UNIT_FAILED:
        case JOURNAL_EVENT_OOM_KILL:
        case JOURNAL_EVENT_WATCHDOG:
                ev.kind = je->failure >= 0 ? je->failure : FAILURE_OTHER;
                break;
        case JOURNAL_EVENT_HEALTH_REPORT:
                if (je->report != HEALTH_REPORT_FAILING)
                        return false;
                ev.kind = FAILURE_JOURNAL_FAILING;
                break;
        default:
                return false;
        }
        *ret = ev;
        return true;
}

ProfileState supervisor_classify_profile(const HealthAgentSummary *agents, const bool *pending, size_t n,
                                         bool settled) {
        if (!settled)
                for (size_t i = 0; i < n; i++)
                        if (pending[i])
                                return PROFILE_STATE_STARTING;

        switch (health_profile_classify(agents, n)) {
        case PROFILE_HEALTH_FAILED:
                return PROFILE_STATE_FAILED;
        case PROFILE_HEALTH_DEGRADED:
                return PROFILE_STATE_DEGRADED;
        default:
                return PROFILE_STATE_RUNNING;
        }
}

/* ---------------------------------------------------------------------------------------------------
 * Persistence, in the runtime directory */

static void agent_save(SupervisedAgent *sa) {
        _cleanup_free_ char *line = NULL;
        int r;

        r = breaker_serialize(&sa->breaker, sa->supervisor->boot_id, &line);
        if (r >= 0)
                r = state_write_line(sa->supervisor->breaker_dir, sa->name, line);
        if (r < 0)
                log_warning_errno(r, "Failed to save the breaker of agent %s, ignoring: %m", sa->name);
}

static void agent_forget_saved(SupervisedAgent *sa) {
        _cleanup_free_ char *path = NULL;

        if (asprintf(&path, "%s/%s", sa->supervisor->breaker_dir, sa->name) < 0)
                return;
        if (unlink(path) < 0 && errno != ENOENT)
                log_debug_errno(-errno, "Failed to remove %s, ignoring: %m", path);
}

static void agent_restore(SupervisedAgent *sa) {
        _cleanup_free_ char *line = NULL;
        int r;

        r = state_read_line(sa->supervisor->breaker_dir, sa->name, &line);
        if (r < 0) {
                log_warning_errno(r, "Failed to read the saved breaker of agent %s, starting closed: %m", sa->name);
                return;
        }
        if (!line)
                return;
        r = breaker_deserialize(&sa->breaker, line, sa->supervisor->boot_id);
        if (r == -ESTALE)
                log_info("Saved breaker of agent %s is from another boot, starting closed.", sa->name);
        else if (r < 0)
                log_warning_errno(r, "Saved breaker of agent %s does not parse, starting closed: %m", sa->name);
        else
                log_info("Restored breaker of agent %s: %s, %" PRIu64 " trips.", sa->name,
                         breaker_state_to_string(sa->breaker.state), sa->breaker.trips_total);
}

static void supervisor_save_cursor(Supervisor *s) {
        const char *cursor;
        int r;

        if (!s->journal)
                return;
        cursor = journal_watch_get_cursor(s->journal);
        if (!cursor)
                return;
        r = state_write_line(s->manager->state_dir, SUPERVISOR_CURSOR_FILE, cursor);
        if (r < 0)
                log_warning_errno(r, "Failed to save the journal cursor, ignoring: %m");
}

/* ---------------------------------------------------------------------------------------------------
 * Agents */

static void unit_view_done(UnitView *v) {
        v->active_state = mfree(v->active_state);
        v->sub_state = mfree(v->sub_state);
        v->result = mfree(v->result);
}

static SupervisedAgent *supervised_agent_free(SupervisedAgent *sa) {
        if (!sa)
                return NULL;
        sd_event_source_disable_unref(sa->timer);
        unit_view_done(&sa->view);
        free(sa->name);
        free(sa->unit);
        free(sa->socket_unit);
        free(sa->object_path);
        return mfree(sa);
}
DEFINE_TRIVIAL_CLEANUP_FUNC(SupervisedAgent *, supervised_agent_free);

SupervisedAgent *supervisor_find(Supervisor *s, const char *name) {
        return s ? hashmap_get(s->agents_by_name, name) : NULL;
}

static AgentRuntime *agent_runtime_of(SupervisedAgent *sa) {
        return manager_find_agent(sa->supervisor->manager, sa->name);
}

static const BreakerConfig *agent_breaker_config(Supervisor *s, const char *name) {
        const Agent *def;

        if (!s->manager->active)
                return NULL;
        def = profile_find_agent(s->manager->active, name);
        return def ? &def->breaker : NULL;
}

/* Publishes the breaker on the agent's runtime object, where the D-Bus properties read it. */
static void agent_publish_breaker(SupervisedAgent *sa, AgentRuntime *a) {
        char *str;

        if (!a)
                return;
        str = strdup(breaker_state_to_string(sa->breaker.state));
        if (str) {
                free(a->breaker);
                a->breaker = str;
        }
        a->breaker_trips = (uint32_t) MIN(sa->breaker.trips_total, (uint64_t) UINT32_MAX);
}

static void supervisor_refresh(Supervisor *s);
static void agent_feed(SupervisedAgent *sa, const BreakerEvent *ev, const char *source, usec_t event_realtime);

/* ---------------------------------------------------------------------------------------------------
 * Actions towards systemd */

/* Userdata of a call about one agent: looked up again by name, the agent may be gone by then. */
typedef struct AgentCall {
        Supervisor *supervisor;
        char *agent;
} AgentCall;

static void agent_call_free(void *p) {
        AgentCall *c = p;

        if (!c)
                return;
        free(c->agent);
        free(c);
}

static AgentCall *agent_call_new(Supervisor *s, const char *agent) {
        AgentCall *c = calloc(1, sizeof(AgentCall));

        if (!c)
                return NULL;
        c->supervisor = s;
        c->agent = strdup(agent);
        if (!c->agent)
                return mfree(c);
        return c;
}

static int on_stop_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        AgentCall *c = userdata;
        const sd_bus_error *e;

        if (!sd_bus_message_is_method_error(reply, NULL))
                return 0;
        e = sd_bus_message_get_error(reply);
        if (!sd_bus_error_has_name(e, "org.freedesktop.systemd1.NoSuchUnit"))
                log_warning("Breaker of agent %s: failed to stop it: %s", c->agent, e->message);
        return 0;
}

static void agent_stop_units(SupervisedAgent *sa) {
        SystemdClient *systemd = sa->supervisor->manager->systemd;
        const char *units[] = { sa->socket_unit, sa->unit };

        /* The socket first: otherwise the next connection starts the service again. */
        for (size_t i = 0; i < ELEMENTSOF(units); i++) {
                AgentCall *c;
                int r;

                if (!units[i])
                        continue;
                c = agent_call_new(sa->supervisor, sa->name);
                if (!c) {
                        log_oom();
                        return;
                }
                r = systemd_manager_call(systemd, "StopUnit", &(SystemdCall) { on_stop_reply, c, agent_call_free },
                                         "ss", units[i], "replace");
                if (r < 0)
                        log_warning_errno(r, "Breaker of agent %s: failed to send the stop of %s: %m", sa->name,
                                          units[i]);
        }
}

static void agent_start_failed(SupervisedAgent *sa, int error) {
        BreakerEvent ev = {
                .type = BREAKER_EVENT_FAILURE,
                .now = now(CLOCK_BOOTTIME),
                .random = backoff_random_u64(),
                .kind = FAILURE_OTHER,
                .final = true,
        };

        log_warning_errno(error, "Breaker of agent %s: the start failed: %m", sa->name);
        agent_feed(sa, &ev, "start", USEC_INFINITY);
}

static int on_reset_failed_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        AgentCall *c = userdata;
        Supervisor *s = c->supervisor;
        SupervisedAgent *sa = supervisor_find(s, c->agent);
        AgentRuntime *a;
        int r;

        /* NoSuchUnit is the normal case: a failed unit is collected at once (CollectMode=inactive-or-failed),
         * and ResetFailedUnit on a failed transient unit unloads it. Either way the start recreates it. */
        if (!sa)
                return 0;
        a = agent_runtime_of(sa);
        if (!a || a->leaving)
                return 0;
        if (!s->callbacks.start_agent)
                return 0;
        r = s->callbacks.start_agent(s->manager, a);
        if (r < 0)
                agent_start_failed(sa, r);
        return 0;
}

static void agent_start_units(SupervisedAgent *sa) {
        SystemdClient *systemd = sa->supervisor->manager->systemd;
        AgentCall *c;
        int r;

        /* Already running, or systemd is about to restart it: nothing to start. */
        if (state_is_active(sa->view.active_state) || sub_is_auto_restart(sa->view.sub_state) ||
            streq_ptr(sa->view.active_state, "activating"))
                return;

        if (sa->socket_unit) {
                r = systemd_manager_call(systemd, "ResetFailedUnit", NULL, "s", sa->socket_unit);
                if (r < 0)
                        log_debug_errno(r, "Failed to send ResetFailedUnit(%s), ignoring: %m", sa->socket_unit);
        }
        c = agent_call_new(sa->supervisor, sa->name);
        if (!c) {
                log_oom();
                return;
        }
        /* The start follows the reply: on the same connection, so systemd has handled the reset by then. */
        r = systemd_manager_call(systemd, "ResetFailedUnit",
                                 &(SystemdCall) { on_reset_failed_reply, c, agent_call_free }, "s", sa->unit);
        if (r < 0)
                agent_start_failed(sa, r);
}

/* ---------------------------------------------------------------------------------------------------
 * Breaker outcomes */

static int on_breaker_timer(sd_event_source *source, uint64_t usec, void *userdata);

static void agent_arm_timer(SupervisedAgent *sa, usec_t at) {
        int r;

        if (at == USEC_INFINITY) {
                if (sa->timer)
                        (void) sd_event_source_set_enabled(sa->timer, SD_EVENT_OFF);
                return;
        }
        if (!sa->timer) {
                r = sd_event_add_time(sa->supervisor->manager->event, &sa->timer, CLOCK_BOOTTIME, at,
                                      USEC_PER_MSEC, on_breaker_timer, sa);
                if (r < 0) {
                        log_error_errno(r, "Failed to arm the breaker timer of agent %s: %m", sa->name);
                        return;
                }
                (void) sd_event_source_set_description(sa->timer, "breaker-timer");
                return;
        }
        r = sd_event_source_set_time(sa->timer, at);
        if (r >= 0)
                r = sd_event_source_set_enabled(sa->timer, SD_EVENT_ONESHOT);
        if (r < 0)
                log_error_errno(r, "Failed to arm the breaker timer of agent %s: %m", sa->name);
}

static const char *breaker_message_id(BreakerState s) {
        switch (s) {
        case BREAKER_OPEN:
                return UNIFIED_MESSAGE_BREAKER_OPENED;
        case BREAKER_HALF_OPEN:
                return UNIFIED_MESSAGE_BREAKER_HALF_OPEN;
        default:
                return UNIFIED_MESSAGE_BREAKER_CLOSED;
        }
}

static void agent_log_transition(SupervisedAgent *sa, AgentRuntime *a, const BreakerOutcome *o,
                                 const BreakerEvent *ev, const char *source, usec_t event_realtime) {
        const char *state = breaker_state_to_string(o->state);
        char latency[32] = "", event_ts[32] = "";
        usec_t t = now(CLOCK_REALTIME);

        /* For the benchmark: from the failure (the journal entry that reported it, or systemd's
         * StateChangeTimestamp of the unit) to this entry. */
        if (event_realtime != USEC_INFINITY) {
                (void) snprintf(event_ts, sizeof(event_ts), "%" PRIu64, event_realtime);
                (void) snprintf(latency, sizeof(latency), "%" PRIu64, t > event_realtime ? t - event_realtime : 0);
        }

        (void) sd_journal_send("MESSAGE=Breaker of agent %s is %s: %s", sa->name, state, o->reason,
                               "MESSAGE_ID=%s", breaker_message_id(o->state),
                               "PRIORITY=%i", o->state == BREAKER_OPEN ? LOG_WARNING :
                                              o->state == BREAKER_HALF_OPEN ? LOG_NOTICE : LOG_INFO,
                               "OBJECT_SYSTEMD_UNIT=%s", sa->unit,
                               "UNIFIED_AGENT=%s", sa->name,
                               "UNIFIED_PROFILE=%s", a ? strempty(a->profile) : "",
                               "UNIFIED_BREAKER_STATE=%s", state,
                               "UNIFIED_BREAKER_PREVIOUS_STATE=%s", breaker_state_to_string(o->old_state),
                               "UNIFIED_REASON=%s", o->reason,
                               "UNIFIED_EVENT=%s", breaker_event_type_to_string(ev->type),
                               "UNIFIED_EVENT_SOURCE=%s", source,
                               "UNIFIED_FAILURE=%s",
                               ev->type == BREAKER_EVENT_FAILURE ? failure_kind_to_string(ev->kind) : "",
                               "UNIFIED_BREAKER_TRIPS=%" PRIu64, sa->breaker.trips_total,
                               "UNIFIED_EVENT_REALTIME_USEC=%s", event_ts,
                               "UNIFIED_TRIP_LATENCY_USEC=%s", latency,
                               NULL);
}

/* The one place that carries out a breaker outcome. */
static void agent_apply(SupervisedAgent *sa, const BreakerOutcome *o, const BreakerEvent *ev, const char *source,
                        usec_t event_realtime) {
        Supervisor *s = sa->supervisor;
        Manager *m = s->manager;
        AgentRuntime *a = agent_runtime_of(sa);

        agent_arm_timer(sa, o->timer);

        if (o->old_state != o->state) {
                agent_log_transition(sa, a, o, ev, source, event_realtime);
                agent_publish_breaker(sa, a);
                if (a && !a->leaving)
                        (void) sd_bus_emit_properties_changed(m->bus, a->object_path, UNIFIED_AGENT_IFACE,
                                                              "Breaker", "BreakerTrips", NULL);
                (void) sd_bus_emit_signal(m->bus, UNIFIED_OBJECT_PATH, UNIFIED_MANAGER_IFACE, "BreakerChanged",
                                          "sss", sa->name, breaker_state_to_string(o->state), o->reason);
                /* A trip also pins the journal position, so a restart right now does not see it again. */
                supervisor_save_cursor(s);
        } else
                agent_publish_breaker(sa, a);

        agent_save(sa);

        switch (o->action) {
        case BREAKER_ACTION_STOP:
                agent_stop_units(sa);
                break;
        case BREAKER_ACTION_START:
                agent_start_units(sa);
                break;
        default:
                break;
        }
}

static void agent_feed(SupervisedAgent *sa, const BreakerEvent *ev, const char *source, usec_t event_realtime) {
        BreakerOutcome o;
        int r;

        r = breaker_handle(&sa->breaker, ev, &o);
        if (r < 0) {
                log_warning_errno(r, "Breaker of agent %s rejected an event, ignoring: %m", sa->name);
                return;
        }
        log_debug("Breaker of agent %s: %s (%s) -> %s, %s: %s", sa->name, breaker_event_type_to_string(ev->type),
                  source, breaker_state_to_string(o.state), breaker_action_to_string(o.action), o.reason);
        agent_apply(sa, &o, ev, source, event_realtime);
        supervisor_refresh(sa->supervisor);
}

static int on_breaker_timer(sd_event_source *source, uint64_t usec, void *userdata) {
        SupervisedAgent *sa = userdata;
        BreakerEvent ev = {
                .type = BREAKER_EVENT_TIMER,
                .now = now(CLOCK_BOOTTIME),
                .random = backoff_random_u64(),
        };

        agent_feed(sa, &ev, "timer", USEC_INFINITY);
        return 0;
}

/* ---------------------------------------------------------------------------------------------------
 * Unit state, as the manager hands it on (supervisor_unit_properties()) */

static int view_apply(SupervisedAgent *sa, const UnitProperties *p) {
        UnitView *v = &sa->view;
        int r;

        if (p->active_state) {
                r = free_and_strdup(&v->active_state, p->active_state);
                if (r < 0)
                        return r;
        }
        if (p->sub_state) {
                r = free_and_strdup(&v->sub_state, p->sub_state);
                if (r < 0)
                        return r;
        }
        if (p->result) {
                r = free_and_strdup(&v->result, p->result);
                if (r < 0)
                        return r;
        }
        if (p->has_state_change)
                v->state_change = p->state_change;
        if (p->has_invocation)
                v->invocation = p->invocation;
        if (p->has_n_restarts) {
                /* Summed over unit lifetimes: a recreated unit counts from 0 again. */
                if (p->n_restarts > v->n_restarts)
                        sa->restarts_total += p->n_restarts - v->n_restarts;
                else if (p->n_restarts < v->n_restarts)
                        sa->restarts_total += p->n_restarts;
                v->n_restarts = p->n_restarts;
        }
        return 0;
}

static int agent_apply_properties(SupervisedAgent *sa, const char *iface, const UnitProperties *p);
static void agent_confirm_failed(SupervisedAgent *sa);

/* When systemd says the unit entered its current state (CLOCK_REALTIME), for the trip latency. */
static usec_t unit_view_event_time(const UnitView *v) {
        return v->state_change > 0 ? v->state_change : USEC_INFINITY;
}

/* Whether systemd will restart the agent's unit after it ended with "result". */
static bool agent_restarts(SupervisedAgent *sa, const char *result) {
        Manager *m = sa->supervisor->manager;
        const Agent *def = m->active ? profile_find_agent(m->active, sa->name) : NULL;

        return def && restart_policy_restarts(def->restart.policy, result);
}

static void agent_unit_transition(SupervisedAgent *sa, const char *old_active, const char *old_sub) {
        AgentRuntime *a = agent_runtime_of(sa);
        UnitView *v = &sa->view;
        usec_t t = now(CLOCK_BOOTTIME);
        UnitTransition tr;
        BreakerEvent ev;
        bool restarts;

        if (!a || a->leaving)
                return;

        tr = unit_transition_classify(old_active, old_sub, v->active_state, v->sub_state, v->result);
        log_debug("Agent %s: %s/%s -> %s/%s (%s): %s", sa->name, strna(old_active), strna(old_sub),
                  strna(v->active_state), strna(v->sub_state), strna(v->result), unit_transition_to_string(tr));

        switch (tr) {
        case UNIT_TRANSITION_STARTING:
                if (sa->socket_unit)
                        sa->starting_at = t;
                break;
        case UNIT_TRANSITION_RESTART:
        case UNIT_TRANSITION_FAILED:
                if (sa->failed_at == USEC_INFINITY)
                        sa->failed_at = t;
                if (sa->starting_at != USEC_INFINITY) {
                        sa->lazy_activation_failures++;
                        sa->starting_at = USEC_INFINITY;
                }
                break;
        case UNIT_TRANSITION_ACTIVE:
                if (sa->failed_at != USEC_INFINITY) {
                        histogram_observe(&sa->supervisor->recovery, t - sa->failed_at);
                        sa->failed_at = USEC_INFINITY;
                }
                if (sa->starting_at != USEC_INFINITY) {
                        sa->lazy_activations++;
                        histogram_observe(&sa->lazy_latency, t - sa->starting_at);
                        sa->starting_at = USEC_INFINITY;
                }
                sa->dependency_failed = false;
                break;
        case UNIT_TRANSITION_STOPPED:
                sa->starting_at = USEC_INFINITY;
                if (sa->breaker.state == BREAKER_HALF_OPEN) {
                        /* The probe ended without failing: still not a probe that passed. */
                        ev = (BreakerEvent) { .type = BREAKER_EVENT_FAILURE, .now = t,
                                              .random = backoff_random_u64(), .kind = FAILURE_OTHER,
                                              .final = true, .invocation = v->invocation };
                        agent_feed(sa, &ev, "unit", USEC_INFINITY);
                        return;
                }
                break;
        case UNIT_TRANSITION_NONE:
                /* A lazy agent's service is first heard of when its socket starts it. */
                if (!old_active && sa->socket_unit && streq_ptr(v->active_state, "activating"))
                        sa->starting_at = t;
                /* First sight of a unit after a restart of ours: an open breaker still says no, a
                 * half-open one starts its probation if the probe already runs. */
                if (!old_active && state_is_active(v->active_state) && sa->breaker.state != BREAKER_CLOSED) {
                        ev = (BreakerEvent) { .type = BREAKER_EVENT_ACTIVE, .now = t,
                                              .random = backoff_random_u64(), .invocation = v->invocation };
                        agent_feed(sa, &ev, "unit", USEC_INFINITY);
                        return;
                }
                break;
        default:
                break;
        }

        restarts = agent_restarts(sa, v->result);
        if (unit_transition_to_breaker_event(tr, v->result, restarts, v->invocation, t, backoff_random_u64(), &ev))
                agent_feed(sa, &ev, "unit", unit_view_event_time(v));
        else
                supervisor_refresh(sa->supervisor);

        /* systemd 252 announces "failed" on its way to auto-restart, and also when the start limit is
         * hit during a restart (Result= then keeps the run's own result, e.g. exit-code). Which one it
         * was, systemd knows by the time it answers our next question. */
        if (tr == UNIT_TRANSITION_FAILED && restarts)
                agent_confirm_failed(sa);
}

/* Applies the properties of "iface"; acts once the Unit interface's part arrives: systemd sends the
 * Service interface's changes (Result, NRestarts) first, then the Unit's. */
static int agent_apply_properties(SupervisedAgent *sa, const char *iface, const UnitProperties *p) {
        _cleanup_free_ char *old_active = NULL, *old_sub = NULL;
        bool unit = streq(iface, SYSTEMD_UNIT_IFACE);
        int r;

        if (unit) {
                if ((sa->view.active_state && !(old_active = strdup(sa->view.active_state))) ||
                    (sa->view.sub_state && !(old_sub = strdup(sa->view.sub_state))))
                        return -ENOMEM;
        }
        r = view_apply(sa, p);
        if (r < 0)
                return r;
        if (unit)
                agent_unit_transition(sa, old_active, old_sub);
        return 0;
}

void supervisor_unit_properties(Supervisor *s, AgentRuntime *a, const char *iface, const UnitProperties *p) {
        SupervisedAgent *sa = supervisor_find(s, a->name);
        int r;

        if (!sa || (!streq(iface, SYSTEMD_UNIT_IFACE) && !streq(iface, SYSTEMD_SERVICE_IFACE)))
                return;
        r = agent_apply_properties(sa, iface, p);
        if (r < 0)
                log_warning_errno(r, "Failed to apply the properties of %s, ignoring: %m", sa->unit);
}

static void agent_feed_final(SupervisedAgent *sa) {
        BreakerEvent ev = {
                .type = BREAKER_EVENT_FAILURE,
                .now = now(CLOCK_BOOTTIME),
                .random = backoff_random_u64(),
                .kind = failure_kind_from_unit_result(sa->view.result),
                .final = true,
                .invocation = sa->view.invocation,
        };

        if (ev.kind < 0)
                ev.kind = FAILURE_OTHER;
        agent_feed(sa, &ev, "unit", unit_view_event_time(&sa->view));
}

static int on_confirm_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        AgentCall *c = userdata;
        SupervisedAgent *sa = supervisor_find(c->supervisor, c->agent);
        UnitProperties p;
        AgentRuntime *a;
        int r;

        if (!sa)
                return 0;
        a = agent_runtime_of(sa);
        if (!a || a->leaving)
                return 0;
        if (sd_bus_message_is_method_error(reply, NULL)) {
                /* Collected already (CollectMode=inactive-or-failed): nothing is pending for it. */
                if (sd_bus_error_has_name(sd_bus_message_get_error(reply), "org.freedesktop.systemd1.NoSuchUnit") &&
                    streq_ptr(sa->view.active_state, "failed"))
                        agent_feed_final(sa);
                return 0;
        }
        r = unit_properties_read(reply, SYSTEMD_UNIT_IFACE, &p);
        if (r >= 0)
                r = agent_apply_properties(sa, SYSTEMD_UNIT_IFACE, &p);
        if (r < 0) {
                log_debug_errno(r, "Failed to parse the properties of %s, ignoring: %m", sa->unit);
                return 0;
        }
        /* Still failed, or already collected (systemd then answers for a fresh, inactive stub): no
         * restart is coming. */
        if (streq_ptr(sa->view.active_state, "failed") || streq_ptr(sa->view.active_state, "inactive"))
                agent_feed_final(sa);
        return 0;
}

static void agent_confirm_failed(SupervisedAgent *sa) {
        AgentCall *c = agent_call_new(sa->supervisor, sa->name);
        int r;

        if (!c)
                return (void) log_oom();
        r = systemd_get_unit_properties(sa->supervisor->manager->systemd, sa->unit, SYSTEMD_UNIT_IFACE,
                                        &(SystemdCall) { on_confirm_reply, c, agent_call_free });
        if (r < 0)
                log_debug_errno(r, "Failed to ask about %s, ignoring: %m", sa->unit);
}

static int supervised_agent_new(Supervisor *s, AgentRuntime *a, const BreakerConfig *config,
                                SupervisedAgent **ret) {
        _cleanup_(supervised_agent_freep) SupervisedAgent *sa = NULL;

        sa = calloc(1, sizeof(SupervisedAgent));
        if (!sa)
                return -ENOMEM;
        sa->supervisor = s;
        sa->name = strdup(a->name);
        sa->unit = strdup(a->unit);
        sa->object_path = strdup(a->object_path);
        if (!sa->name || !sa->unit || !sa->object_path)
                return -ENOMEM;
        if (a->socket_unit && !(sa->socket_unit = strdup(a->socket_unit)))
                return -ENOMEM;
        breaker_init(&sa->breaker, config, now(CLOCK_BOOTTIME));
        sa->watchdog_at = USEC_INFINITY;
        sa->failed_at = USEC_INFINITY;
        sa->starting_at = USEC_INFINITY;
        sa->health = 1.0;
        *ret = TAKE_PTR(sa);
        return 0;
}

/* ---------------------------------------------------------------------------------------------------
 * Health */

static double round_score(double x) {
        /* Three decimals: enough for a score, and an error flood does not become a signal flood. */
        return round(x * 1000.0) / 1000.0;
}

static bool agent_is_waiting(SupervisedAgent *sa, AgentRuntime *a) {
        return sa->dependency_failed || manager_agent_is_waiting(sa->supervisor->manager, a);
}

static double agent_score(SupervisedAgent *sa, AgentRuntime *a, usec_t t, bool *ret_decaying) {
        const char *active = sa->view.active_state ?: a->active_state;
        HealthInput in = {
                .breaker = sa->breaker.state,
                .failures = breaker_failures_in_window(&sa->breaker, t),
                .threshold = sa->breaker.config.threshold,
                .error_rate = health_rate_per_minute(&sa->errors, t),
                .watchdog_missed = sa->watchdog_at != USEC_INFINITY && t - sa->watchdog_at < sa->breaker.config.window,
                .report = sa->report,
                .waiting = agent_is_waiting(sa, a),
        };

        in.unit = health_unit_state_from_active_state(active);
        if (in.unit < 0)
                in.unit = HEALTH_UNIT_ACTIVATING; /* not heard from systemd yet */
        in.idle_ok = a->lazy && !state_is_active(active) &&
                     (streq_ptr(a->socket_state, "active") || streq_ptr(a->socket_state, "reloading"));

        if (ret_decaying)
                *ret_decaying = in.failures > 0 || in.error_rate > 0 || in.watchdog_missed;
        return round_score(health_agent_score(&in));
}

static int on_health_timer(sd_event_source *source, uint64_t usec, void *userdata) {
        supervisor_refresh(userdata);
        return 0;
}

/* Recomputes every agent's score, announces those that moved, and arms the decay timer if needed.
 * Returns whether any score moved. */
static bool supervisor_update_health(Supervisor *s) {
        Manager *m = s->manager;
        usec_t t = now(CLOCK_BOOTTIME);
        bool decaying = false, changed = false;
        int r;

        for (size_t i = 0; i < s->n_agents; i++) {
                SupervisedAgent *sa = s->agents[i];
                AgentRuntime *a = agent_runtime_of(sa);
                bool d = false;
                double score;

                if (!a)
                        continue;
                score = agent_score(sa, a, t, &d);
                decaying = decaying || d;
                sa->health = score;
                if (a->health != score) {
                        a->health = score;
                        changed = true;
                        if (!a->leaving)
                                (void) sd_bus_emit_properties_changed(m->bus, a->object_path, UNIFIED_AGENT_IFACE,
                                                                      "Health", NULL);
                }
        }

        if (!decaying) {
                if (s->health_timer)
                        (void) sd_event_source_set_enabled(s->health_timer, SD_EVENT_OFF);
        } else if (!s->health_timer) {
                r = sd_event_add_time_relative(m->event, &s->health_timer, CLOCK_BOOTTIME, HEALTH_REFRESH_USEC,
                                               USEC_PER_SEC, on_health_timer, s);
                if (r < 0)
                        log_warning_errno(r, "Failed to arm the health timer, scores will lag: %m");
        } else {
                int enabled = SD_EVENT_OFF;

                (void) sd_event_source_get_enabled(s->health_timer, &enabled);
                if (enabled == SD_EVENT_OFF) {
                        (void) sd_event_source_set_time_relative(s->health_timer, HEALTH_REFRESH_USEC);
                        (void) sd_event_source_set_enabled(s->health_timer, SD_EVENT_ONESHOT);
                }
        }
        return changed;
}

/* Something an agent's health depends on moved. The manager recomputes the health with the profile
 * state (supervisor_profile_state()); without a manager to ask, now. */
static void supervisor_refresh(Supervisor *s) {
        if (s->callbacks.state_changed)
                s->callbacks.state_changed(s->manager);
        else
                (void) supervisor_update_health(s);
}

static HealthAgentSummary *supervisor_summaries(Supervisor *s, bool **ret_pending, size_t *ret_n) {
        Manager *m = s->manager;
        _cleanup_free_ HealthAgentSummary *sums = NULL;
        _cleanup_free_ bool *pending = NULL;
        size_t n = 0;

        sums = calloc(MAX(m->n_agents, (size_t) 1), sizeof(HealthAgentSummary));
        pending = calloc(MAX(m->n_agents, (size_t) 1), sizeof(bool));
        if (!sums || !pending)
                return NULL;

        for (size_t i = 0; i < m->n_agents; i++) {
                AgentRuntime *a = m->agents[i];
                SupervisedAgent *sa;

                if (!a)
                        continue;
                sa = supervisor_find(s, a->name);
                sums[n] = (HealthAgentSummary) {
                        .essential = a->essential,
                        .breaker = sa ? sa->breaker.state : BREAKER_CLOSED,
                        .waiting = sa ? agent_is_waiting(sa, a) : manager_agent_is_waiting(m, a),
                        .score = a->health,
                };
                /* An agent held by an open breaker is not coming up: it must not keep the profile
                 * "starting" forever. */
                pending[n] = agent_runtime_status(a) == AGENT_STATUS_PENDING && sums[n].breaker != BREAKER_OPEN;
                n++;
        }
        *ret_pending = TAKE_PTR(pending);
        *ret_n = n;
        return TAKE_PTR(sums);
}

static void supervisor_note_start_done(Supervisor *s, ProfileState state) {
        usec_t t;
        size_t n;

        if (!s->starting_profile || state == PROFILE_STATE_STARTING)
                return;
        t = now(CLOCK_BOOTTIME) - s->start_requested_at;
        n = strv_length(s->start_names);
        for (size_t i = 0; i < n; i++)
                if (streq(s->start_names[i], s->starting_profile)) {
                        s->start_durations[i] = t;
                        s->starting_profile = mfree(s->starting_profile);
                        return;
                }
        usec_t *d = realloc(s->start_durations, sizeof(usec_t) * (n + 1));
        if (!d || strv_consume(&s->start_names, TAKE_PTR(s->starting_profile)) < 0) {
                if (d)
                        s->start_durations = d;
                s->starting_profile = mfree(s->starting_profile);
                return;
        }
        s->start_durations = d;
        d[n] = t;
}

ProfileState supervisor_profile_state(Supervisor *s, bool settled, double *ret_health) {
        _cleanup_free_ HealthAgentSummary *sums = NULL;
        _cleanup_free_ bool *pending = NULL;
        ProfileState state;
        size_t n = 0;

        (void) supervisor_update_health(s);
        sums = supervisor_summaries(s, &pending, &n);
        if (!sums) {
                SET_IF(ret_health, s->health_score);
                return profile_state_from_agents(s->manager->agents, s->manager->n_agents, settled);
        }
        state = supervisor_classify_profile(sums, pending, n, settled);
        s->health_score = round_score(health_profile_score(sums, n));
        SET_IF(ret_health, s->health_score);
        supervisor_note_start_done(s, state);
        return state;
}

double supervisor_health_score(Supervisor *s) {
        _cleanup_free_ HealthAgentSummary *sums = NULL;
        _cleanup_free_ bool *pending = NULL;
        size_t n = 0;

        if (!s->manager->active)
                return 1.0;
        sums = supervisor_summaries(s, &pending, &n);
        if (!sums)
                return s->health_score;
        s->health_score = round_score(health_profile_score(sums, n));
        return s->health_score;
}

const Histogram *supervisor_recovery_histogram(Supervisor *s) {
        return &s->recovery;
}

usec_t supervisor_last_start_duration(Supervisor *s, const char *name) {
        for (size_t i = 0; s->start_names && s->start_names[i]; i++)
                if (streq(s->start_names[i], name))
                        return s->start_durations[i];
        return USEC_INFINITY;
}

/* ---------------------------------------------------------------------------------------------------
 * The journal */

static int on_cursor_timer(sd_event_source *source, uint64_t usec, void *userdata) {
        supervisor_save_cursor(userdata);
        return 0;
}

static void supervisor_schedule_cursor_save(Supervisor *s) {
        int enabled = SD_EVENT_OFF, r;

        if (!s->cursor_timer) {
                r = sd_event_add_time_relative(s->manager->event, &s->cursor_timer, CLOCK_BOOTTIME,
                                               SUPERVISOR_CURSOR_SAVE_USEC, USEC_PER_SEC / 4, on_cursor_timer, s);
                if (r < 0)
                        log_debug_errno(r, "Failed to arm the cursor timer, ignoring: %m");
                return;
        }
        (void) sd_event_source_get_enabled(s->cursor_timer, &enabled);
        if (enabled != SD_EVENT_OFF)
                return;
        (void) sd_event_source_set_time_relative(s->cursor_timer, SUPERVISOR_CURSOR_SAVE_USEC);
        (void) sd_event_source_set_enabled(s->cursor_timer, SD_EVENT_ONESHOT);
}

static int on_journal_event(JournalWatch *w, const JournalEvent *je, usec_t realtime, void *userdata) {
        Supervisor *s = userdata;
        SupervisedAgent *sa = supervisor_find(s, je->agent);
        AgentRuntime *a;
        usec_t t = now(CLOCK_BOOTTIME);
        BreakerEvent ev;

        supervisor_schedule_cursor_save(s);
        if (!sa)
                return 0;
        a = agent_runtime_of(sa);
        if (!a || a->leaving)
                return 0;

        /* What the journal said about failures is logged once, so an operator (and the integration
         * tests) can see which source reported what; error lines and health reports are too frequent. */
        if (je->type == JOURNAL_EVENT_UNIT_FAILED || je->type == JOURNAL_EVENT_OOM_KILL ||
            je->type == JOURNAL_EVENT_WATCHDOG || je->type == JOURNAL_EVENT_DEPENDENCY_FAILED)
                log_info("Journal: agent %s %s%s%s.", sa->name, journal_event_type_to_string(je->type),
                         je->failure >= 0 ? ", " : "", je->failure >= 0 ? failure_kind_to_string(je->failure) : "");
        else
                log_debug("Journal: agent %s %s.", sa->name, journal_event_type_to_string(je->type));

        if (je->error) {
                health_rate_add(&sa->errors, t);
                sa->journal_error_lines++;
        }
        switch (je->type) {
        case JOURNAL_EVENT_WATCHDOG:
                sa->watchdog_at = t;
                break;
        case JOURNAL_EVENT_HEALTH_REPORT:
                sa->report = je->report;
                break;
        case JOURNAL_EVENT_DEPENDENCY_FAILED:
                sa->dependency_failed = true;
                break;
        default:
                break;
        }

        if (journal_event_to_breaker_event(je, t, backoff_random_u64(), &ev))
                agent_feed(sa, &ev, "journal", realtime);
        else
                supervisor_refresh(s);
        return 0;
}

static int supervisor_update_journal_agents(Supervisor *s) {
        _cleanup_strv_free_ char **names = NULL;
        int r;

        if (!s->journal)
                return 0;
        for (size_t i = 0; i < s->n_agents; i++) {
                r = strv_extend(&names, s->agents[i]->name);
                if (r < 0)
                        return r;
        }
        return journal_watch_set_agents(s->journal, names);
}

int supervisor_start(Supervisor *s) {
        _cleanup_free_ char *cursor = NULL;
        int r;

        if (s->journal_started)
                return 0;
        r = journal_watch_new(s->manager->event, NULL, on_journal_event, s, &s->journal);
        if (r < 0)
                return r;
        r = supervisor_update_journal_agents(s);
        if (r < 0)
                return r;
        r = state_read_line(s->manager->state_dir, SUPERVISOR_CURSOR_FILE, &cursor);
        if (r < 0)
                log_warning_errno(r, "Failed to read the saved journal cursor, starting at the end: %m");
        r = journal_watch_start(s->journal, cursor);
        if (r < 0)
                return r;
        s->journal_started = true;
        log_debug("Following the journal %s.", cursor ? "from the saved cursor" : "from its end");
        return 0;
}

/* ---------------------------------------------------------------------------------------------------
 * The supervised set */

int supervisor_sync_agents(Supervisor *s) {
        Manager *m = s->manager;
        int r;

        /* Forget the agents that left. */
        for (size_t i = 0; i < s->n_agents;) {
                SupervisedAgent *sa = s->agents[i];

                if (manager_find_agent(m, sa->name)) {
                        i++;
                        continue;
                }
                agent_forget_saved(sa);
                (void) hashmap_remove(s->agents_by_name, sa->name);
                supervised_agent_free(sa);
                memmove(s->agents + i, s->agents + i + 1, (s->n_agents - i - 1) * sizeof(SupervisedAgent *));
                s->n_agents--;
        }

        for (size_t i = 0; i < m->n_agents; i++) {
                AgentRuntime *a = m->agents[i];
                const BreakerConfig *config;
                SupervisedAgent *sa, **l;

                if (!a)
                        continue;
                config = agent_breaker_config(s, a->name);
                sa = supervisor_find(s, a->name);
                if (sa) {
                        if (config)
                                breaker_set_config(&sa->breaker, config);
                        continue;
                }
                if (!config)
                        continue;

                r = supervised_agent_new(s, a, config, &sa);
                if (r < 0)
                        return r;
                l = realloc(s->agents, sizeof(SupervisedAgent *) * (s->n_agents + 1));
                if (!l) {
                        supervised_agent_free(sa);
                        return -ENOMEM;
                }
                s->agents = l;
                r = hashmap_put(s->agents_by_name, sa->name, sa);
                if (r < 0) {
                        supervised_agent_free(sa);
                        return r;
                }
                s->agents[s->n_agents++] = sa;

                agent_restore(sa);
                agent_publish_breaker(sa, a);
                agent_arm_timer(sa, sa->breaker.deadline);
        }

        /* A profile start requested by a switch (not an adoption): time it until it settles. */
        if (m->active && m->plan) {
                r = free_and_strdup(&s->starting_profile, m->active->name);
                if (r < 0)
                        return r;
                s->start_requested_at = now(CLOCK_BOOTTIME);
        } else if (!m->active)
                s->starting_profile = mfree(s->starting_profile);

        r = supervisor_update_journal_agents(s);
        if (r < 0)
                log_warning_errno(r, "Failed to update the journal matches, ignoring: %m");
        (void) supervisor_update_health(s);
        return 0;
}

bool supervisor_may_start(Supervisor *s, const AgentRuntime *a) {
        SupervisedAgent *sa = supervisor_find(s, a->name);

        return !sa || sa->breaker.state != BREAKER_OPEN;
}

void supervisor_start_failed(Supervisor *s, AgentRuntime *a) {
        SupervisedAgent *sa = supervisor_find(s, a->name);

        if (sa)
                agent_start_failed(sa, -EIO);
}

static int supervisor_operator(Supervisor *s, AgentRuntime *a, BreakerEventType type) {
        SupervisedAgent *sa = supervisor_find(s, a->name);
        BreakerEvent ev = { .type = type, .now = now(CLOCK_BOOTTIME), .random = backoff_random_u64() };

        if (!sa)
                return -ENOENT;
        agent_feed(sa, &ev, "operator", USEC_INFINITY);
        return 0;
}

int supervisor_reset_breaker(Supervisor *s, AgentRuntime *a) {
        return supervisor_operator(s, a, BREAKER_EVENT_RESET);
}

int supervisor_open_breaker(Supervisor *s, AgentRuntime *a) {
        return supervisor_operator(s, a, BREAKER_EVENT_FORCE_OPEN);
}

int supervisor_new(Manager *m, const SupervisorCallbacks *callbacks, Supervisor **ret) {
        Supervisor *s;
        int r;

        s = calloc(1, sizeof(Supervisor));
        if (!s)
                return -ENOMEM;
        s->manager = m;
        if (callbacks)
                s->callbacks = *callbacks;
        s->health_score = 1.0;
        s->start_requested_at = USEC_INFINITY;
        s->agents_by_name = hashmap_new();
        if (!s->agents_by_name ||
            asprintf(&s->breaker_dir, "%s/" SUPERVISOR_BREAKER_DIR, m->state_dir) < 0) {
                hashmap_free(s->agents_by_name);
                free(s);
                return -ENOMEM;
        }
        /* The boot ID tags the CLOCK_BOOTTIME values in the records. Without it (a sandbox hiding
         * /proc/sys) records still work within the boot, which is all /run/unified lives for anyway. */
        r = sd_id128_get_boot(&s->boot_id);
        if (r < 0) {
                log_warning_errno(r, "Cannot read the boot ID, breaker records are not tagged with it: %m");
                s->boot_id = SD_ID128_NULL;
        }
        *ret = s;
        return 0;
}

Supervisor *supervisor_free(Supervisor *s) {
        if (!s)
                return NULL;
        supervisor_save_cursor(s);
        for (size_t i = 0; i < s->n_agents; i++)
                supervised_agent_free(s->agents[i]);
        free(s->agents);
        hashmap_free(s->agents_by_name);
        free(s->breaker_dir);
        journal_watch_free(s->journal);
        sd_event_source_disable_unref(s->cursor_timer);
        sd_event_source_disable_unref(s->health_timer);
        free(s->starting_profile);
        strv_free(s->start_names);
        free(s->start_durations);
        return mfree(s);
}
