/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Per-agent supervision: unit signals and the journal in, breaker actions, announcements, health and
 * persisted state out. */

#include <assert.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <unistd.h>

#include <systemd/sd-journal.h>

#include "agent-control.h"
#include "backoff.h"
#include "bus-manager.h"
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
        sd_id128_t boot_id;

        char *breaker_dir;              /* <state_dir>/breaker: one record per agent */

        JournalWatch *journal;
        bool journal_started;
        sd_event_source *cursor_timer;
        sd_event_source *health_timer;

        Histogram recovery;
        double health_score;
        HealthAgentSummary *summaries;  /* one per agent, reused by every recomputation */
        bool *pending;
        size_t n_allocated;

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

static void agent_save(Supervisor *s, AgentRuntime *a) {
        _cleanup_free_ char *line = NULL;
        int r;

        r = breaker_serialize(&a->breaker, s->boot_id, &line);
        if (r >= 0)
                r = state_write_line(s->breaker_dir, a->name, line);
        if (r < 0)
                log_warning_errno(r, "Failed to save the breaker of agent %s, ignoring: %m", a->name);
}

static void agent_forget_saved(Supervisor *s, AgentRuntime *a) {
        _cleanup_free_ char *path = NULL;

        if (asprintf(&path, "%s/%s", s->breaker_dir, a->name) < 0)
                return;
        if (unlink(path) < 0 && errno != ENOENT)
                log_debug_errno(-errno, "Failed to remove %s, ignoring: %m", path);
}

static void agent_restore(Supervisor *s, AgentRuntime *a) {
        _cleanup_free_ char *line = NULL;
        int r;

        r = state_read_line(s->breaker_dir, a->name, &line);
        if (r < 0) {
                log_warning_errno(r, "Failed to read the saved breaker of agent %s, starting closed: %m", a->name);
                return;
        }
        if (!line)
                return;
        r = breaker_deserialize(&a->breaker, line, s->boot_id);
        if (r == -ESTALE)
                log_info("Saved breaker of agent %s is from another boot, starting closed.", a->name);
        else if (r < 0)
                log_warning_errno(r, "Saved breaker of agent %s does not parse, starting closed: %m", a->name);
        else
                log_info("Restored breaker of agent %s: %s, %" PRIu64 " trips.", a->name,
                         breaker_state_to_string(a->breaker.state), a->breaker.trips_total);
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
 * Breaker outcomes */

static void agent_feed(Supervisor *s, AgentRuntime *a, const BreakerEvent *ev, const char *source,
                       usec_t event_realtime);

static int on_breaker_timer(sd_event_source *source, uint64_t usec, void *userdata) {
        AgentRuntime *a = userdata;
        BreakerEvent ev = {
                .type = BREAKER_EVENT_TIMER,
                .now = now(CLOCK_BOOTTIME),
                .random = backoff_random_u64(),
        };

        agent_feed(a->manager->supervisor, a, &ev, "timer", USEC_INFINITY);
        return 0;
}

static void agent_arm_timer(Supervisor *s, AgentRuntime *a, usec_t at) {
        int r;

        if (at == USEC_INFINITY) {
                if (a->breaker_timer)
                        (void) sd_event_source_set_enabled(a->breaker_timer, SD_EVENT_OFF);
                return;
        }
        if (!a->breaker_timer) {
                r = sd_event_add_time(s->manager->event, &a->breaker_timer, CLOCK_BOOTTIME, at, USEC_PER_MSEC,
                                      on_breaker_timer, a);
                if (r < 0) {
                        log_error_errno(r, "Failed to arm the breaker timer of agent %s: %m", a->name);
                        return;
                }
                (void) sd_event_source_set_description(a->breaker_timer, "breaker-timer");
                return;
        }
        r = sd_event_source_set_time(a->breaker_timer, at);
        if (r >= 0)
                r = sd_event_source_set_enabled(a->breaker_timer, SD_EVENT_ONESHOT);
        if (r < 0)
                log_error_errno(r, "Failed to arm the breaker timer of agent %s: %m", a->name);
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

static void agent_log_transition(Supervisor *s, AgentRuntime *a, const BreakerOutcome *o, const BreakerEvent *ev,
                                 const char *source, usec_t event_realtime) {
        const char *state = breaker_state_to_string(o->state);
        char latency[32] = "", event_ts[32] = "";
        usec_t t = now(CLOCK_REALTIME);

        /* For the benchmark: from the failure (the journal entry that reported it, or systemd's
         * StateChangeTimestamp of the unit) to this entry. */
        if (event_realtime != USEC_INFINITY) {
                (void) snprintf(event_ts, sizeof(event_ts), "%" PRIu64, event_realtime);
                (void) snprintf(latency, sizeof(latency), "%" PRIu64, t > event_realtime ? t - event_realtime : 0);
        }

        (void) sd_journal_send("MESSAGE=Breaker of agent %s is %s: %s", a->name, state, o->reason,
                               "MESSAGE_ID=%s", breaker_message_id(o->state),
                               "PRIORITY=%i", o->state == BREAKER_OPEN ? LOG_WARNING :
                                              o->state == BREAKER_HALF_OPEN ? LOG_NOTICE : LOG_INFO,
                               "OBJECT_SYSTEMD_UNIT=%s", a->unit,
                               "UNIFIED_AGENT=%s", a->name,
                               "UNIFIED_PROFILE=%s", manager_active_profile_name(s->manager),
                               "UNIFIED_BREAKER_STATE=%s", state,
                               "UNIFIED_BREAKER_PREVIOUS_STATE=%s", breaker_state_to_string(o->old_state),
                               "UNIFIED_REASON=%s", o->reason,
                               "UNIFIED_EVENT=%s", breaker_event_type_to_string(ev->type),
                               "UNIFIED_EVENT_SOURCE=%s", source,
                               "UNIFIED_FAILURE=%s",
                               ev->type == BREAKER_EVENT_FAILURE ? failure_kind_to_string(ev->kind) : "",
                               "UNIFIED_BREAKER_TRIPS=%" PRIu64, a->breaker.trips_total,
                               "UNIFIED_EVENT_REALTIME_USEC=%s", event_ts,
                               "UNIFIED_TRIP_LATENCY_USEC=%s", latency,
                               NULL);
}

/* The one place that carries out a breaker outcome. */
static void agent_apply(Supervisor *s, AgentRuntime *a, const BreakerOutcome *o, const BreakerEvent *ev,
                        const char *source, usec_t event_realtime) {
        agent_arm_timer(s, a, o->timer);

        if (o->old_state != o->state) {
                agent_log_transition(s, a, o, ev, source, event_realtime);
                bus_agent_changed(a, AGENT_DIRTY_BREAKER);
                bus_manager_send_breaker_changed(s->manager, a, o->reason);
                /* A trip also pins the journal position, so a restart right now does not see it again. */
                supervisor_save_cursor(s);
        }
        agent_save(s, a);

        switch (o->action) {
        case BREAKER_ACTION_STOP:
                agent_stop(a, AGENT_STOP_BREAKER);
                break;
        case BREAKER_ACTION_START:
                agent_reset_and_start(a);
                break;
        default:
                break;
        }
}

static void agent_feed(Supervisor *s, AgentRuntime *a, const BreakerEvent *ev, const char *source,
                       usec_t event_realtime) {
        BreakerOutcome o;
        int r;

        r = breaker_handle(&a->breaker, ev, &o);
        if (r < 0) {
                log_warning_errno(r, "Breaker of agent %s rejected an event, ignoring: %m", a->name);
                return;
        }
        log_debug("Breaker of agent %s: %s (%s) -> %s, %s: %s", a->name, breaker_event_type_to_string(ev->type),
                  source, breaker_state_to_string(o.state), breaker_action_to_string(o.action), o.reason);
        agent_apply(s, a, &o, ev, source, event_realtime);
        manager_queue_state_update(s->manager);
}

void supervisor_start_failed(Supervisor *s, AgentRuntime *a) {
        BreakerEvent ev = {
                .type = BREAKER_EVENT_FAILURE,
                .now = now(CLOCK_BOOTTIME),
                .random = backoff_random_u64(),
                .kind = FAILURE_OTHER,
                .final = true,
        };

        if (a->leaving)
                return;
        log_warning("Breaker of agent %s: the start failed.", a->name);
        agent_feed(s, a, &ev, "start", USEC_INFINITY);
}

void supervisor_failed_for_good(Supervisor *s, AgentRuntime *a) {
        BreakerEvent ev = {
                .type = BREAKER_EVENT_FAILURE,
                .now = now(CLOCK_BOOTTIME),
                .random = backoff_random_u64(),
                .kind = failure_kind_from_unit_result(a->result),
                .final = true,
                .invocation = a->invocation,
        };

        if (ev.kind < 0)
                ev.kind = FAILURE_OTHER;
        agent_feed(s, a, &ev, "unit", a->state_change > 0 ? a->state_change : USEC_INFINITY);
}

void supervisor_reset_breaker(Supervisor *s, AgentRuntime *a) {
        BreakerEvent ev = { .type = BREAKER_EVENT_RESET, .now = now(CLOCK_BOOTTIME), .random = backoff_random_u64() };

        agent_feed(s, a, &ev, "operator", USEC_INFINITY);
}

void supervisor_open_breaker(Supervisor *s, AgentRuntime *a) {
        BreakerEvent ev = { .type = BREAKER_EVENT_FORCE_OPEN, .now = now(CLOCK_BOOTTIME),
                            .random = backoff_random_u64() };

        agent_feed(s, a, &ev, "operator", USEC_INFINITY);
}

/* ---------------------------------------------------------------------------------------------------
 * Unit state */

void supervisor_unit_changed(Supervisor *s, AgentRuntime *a, const char *old_active, const char *old_sub) {
        usec_t t = now(CLOCK_BOOTTIME);
        UnitTransition tr;
        BreakerEvent ev;
        bool restarts;

        if (a->leaving)
                return;

        tr = unit_transition_classify(old_active, old_sub, a->active_state, a->sub_state, a->result);
        log_debug("Agent %s: %s/%s -> %s/%s (%s): %s", a->name, strna(old_active), strna(old_sub),
                  strna(a->active_state), strna(a->sub_state), strna(a->result), unit_transition_to_string(tr));

        switch (tr) {
        case UNIT_TRANSITION_STARTING:
                if (a->socket_unit)
                        a->starting_at = t;
                break;
        case UNIT_TRANSITION_RESTART:
        case UNIT_TRANSITION_FAILED:
                if (a->failed_at == USEC_INFINITY)
                        a->failed_at = t;
                if (a->starting_at != USEC_INFINITY) {
                        a->lazy_activation_failures++;
                        a->starting_at = USEC_INFINITY;
                }
                break;
        case UNIT_TRANSITION_ACTIVE:
                if (a->failed_at != USEC_INFINITY) {
                        histogram_observe(&s->recovery, t - a->failed_at);
                        a->failed_at = USEC_INFINITY;
                }
                if (a->starting_at != USEC_INFINITY) {
                        a->lazy_activations++;
                        histogram_observe(&a->lazy_latency, t - a->starting_at);
                        a->starting_at = USEC_INFINITY;
                }
                a->dependency_failed = false;
                break;
        case UNIT_TRANSITION_STOPPED:
                a->starting_at = USEC_INFINITY;
                if (a->breaker.state == BREAKER_HALF_OPEN) {
                        /* The probe ended without failing: still not a probe that passed. */
                        ev = (BreakerEvent) { .type = BREAKER_EVENT_FAILURE, .now = t,
                                              .random = backoff_random_u64(), .kind = FAILURE_OTHER,
                                              .final = true, .invocation = a->invocation };
                        agent_feed(s, a, &ev, "unit", USEC_INFINITY);
                        return;
                }
                break;
        case UNIT_TRANSITION_NONE:
                /* A lazy agent's service is first heard of when its socket starts it. */
                if (!old_active && a->socket_unit && streq_ptr(a->active_state, "activating"))
                        a->starting_at = t;
                /* First sight of a unit after a restart of ours: an open breaker still says no, a
                 * half-open one starts its probation if the probe already runs. */
                if (!old_active && state_is_active(a->active_state) && a->breaker.state != BREAKER_CLOSED) {
                        ev = (BreakerEvent) { .type = BREAKER_EVENT_ACTIVE, .now = t,
                                              .random = backoff_random_u64(), .invocation = a->invocation };
                        agent_feed(s, a, &ev, "unit", USEC_INFINITY);
                        return;
                }
                break;
        default:
                break;
        }

        restarts = a->def && restart_policy_restarts(a->def->restart.policy, a->result);
        if (unit_transition_to_breaker_event(tr, a->result, restarts, a->invocation, t, backoff_random_u64(), &ev))
                agent_feed(s, a, &ev, "unit", a->state_change > 0 ? a->state_change : USEC_INFINITY);

        /* systemd 252 announces "failed" on its way to auto-restart, and also when the start limit is
         * hit during a restart (Result= then keeps the run's own result, e.g. exit-code). Which one it
         * was, systemd knows by the time it answers our next question. */
        if (tr == UNIT_TRANSITION_FAILED && restarts)
                agent_confirm_failed(a);
}

/* ---------------------------------------------------------------------------------------------------
 * Health, and the profile's state: the one algorithm */

static double round_score(double x) {
        /* Three decimals: enough for a score, and an error flood does not become a signal flood. */
        return round(x * 1000.0) / 1000.0;
}

/* Whether a required agent is not running (or PID 1 said a dependency failed): this one cannot run, and
 * that is not its fault. */
static bool agent_is_waiting(Manager *m, const AgentRuntime *a) {
        if (a->dependency_failed)
                return true;
        for (size_t i = 0; i < a->n_requires; i++)
                if (agent_runtime_status(a->requires[i]) != AGENT_STATUS_OK)
                        return true;
        return false;
}

bool supervisor_agent_is_waiting(Supervisor *s, const AgentRuntime *a) {
        return agent_is_waiting(s->manager, a);
}

static double agent_score(Supervisor *s, AgentRuntime *a, usec_t t, bool waiting, bool *ret_decaying) {
        HealthInput in = {
                .breaker = a->breaker.state,
                .failures = breaker_failures_in_window(&a->breaker, t),
                .threshold = a->breaker.config.threshold,
                .error_rate = health_rate_per_minute(&a->errors, t),
                .watchdog_missed = a->watchdog_at != USEC_INFINITY && t - a->watchdog_at < a->breaker.config.window,
                .report = a->report,
                .waiting = waiting,
        };

        in.unit = health_unit_state_from_active_state(a->active_state);
        if (in.unit < 0)
                in.unit = HEALTH_UNIT_ACTIVATING; /* not heard from systemd yet */
        in.idle_ok = agent_runtime_is_lazy(a) && !state_is_active(a->active_state) &&
                     (streq_ptr(a->socket_state, "active") || streq_ptr(a->socket_state, "reloading"));

        *ret_decaying = in.failures > 0 || in.error_rate > 0 || in.watchdog_missed;
        return round_score(health_agent_score(&in));
}

static int on_health_timer(sd_event_source *source, uint64_t usec, void *userdata) {
        Supervisor *s = userdata;

        manager_queue_state_update(s->manager);
        return 0;
}

/* While anything in a score decays with time, the scores are looked at again in HEALTH_REFRESH_USEC. */
static void supervisor_arm_health_timer(Supervisor *s, bool decaying) {
        int enabled = SD_EVENT_OFF, r;

        if (!decaying) {
                if (s->health_timer)
                        (void) sd_event_source_set_enabled(s->health_timer, SD_EVENT_OFF);
                return;
        }
        if (!s->health_timer) {
                r = sd_event_add_time_relative(s->manager->event, &s->health_timer, CLOCK_BOOTTIME,
                                               HEALTH_REFRESH_USEC, USEC_PER_SEC, on_health_timer, s);
                if (r < 0)
                        log_warning_errno(r, "Failed to arm the health timer, scores will lag: %m");
                return;
        }
        (void) sd_event_source_get_enabled(s->health_timer, &enabled);
        if (enabled == SD_EVENT_OFF) {
                (void) sd_event_source_set_time_relative(s->health_timer, HEALTH_REFRESH_USEC);
                (void) sd_event_source_set_enabled(s->health_timer, SD_EVENT_ONESHOT);
        }
}

static void supervisor_note_start_done(Supervisor *s, ProfileState state) {
        usec_t t, *d;
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
        d = realloc(s->start_durations, sizeof(usec_t) * (n + 1));
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
        Manager *m = s->manager;
        usec_t t = now(CLOCK_BOOTTIME);
        bool decaying = false;
        ProfileState state;

        /* The buffers are sized when the agents change (supervisor_agents_changed()). */
        assert(s->n_allocated >= m->n_agents);
        for (size_t i = 0; i < m->n_agents; i++) {
                AgentRuntime *a = m->agents[i];
                bool waiting = agent_is_waiting(m, a), d = false;
                double score = agent_score(s, a, t, waiting, &d);

                decaying = decaying || d;
                if (a->health != score) {
                        a->health = score;
                        bus_agent_changed(a, AGENT_DIRTY_HEALTH);
                }
                s->summaries[i] = (HealthAgentSummary) {
                        .essential = agent_runtime_is_essential(a),
                        .breaker = a->breaker.state,
                        .waiting = waiting,
                        .score = score,
                };
                /* An agent held by an open breaker is not coming up: it must not keep the profile
                 * "starting" forever. */
                s->pending[i] = agent_runtime_status(a) == AGENT_STATUS_PENDING && a->breaker.state != BREAKER_OPEN;
        }
        supervisor_arm_health_timer(s, decaying);

        state = supervisor_classify_profile(s->summaries, s->pending, m->n_agents, settled);
        s->health_score = m->active ? round_score(health_profile_score(s->summaries, m->n_agents)) : 1.0;
        *ret_health = s->health_score;
        supervisor_note_start_done(s, state);
        return state;
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
        AgentRuntime *a = manager_find_agent(s->manager, je->agent);
        usec_t t = now(CLOCK_BOOTTIME);
        BreakerEvent ev;

        supervisor_schedule_cursor_save(s);
        if (!a || a->leaving)
                return 0;

        /* What the journal said about failures is logged once, so an operator (and the integration
         * tests) can see which source reported what; error lines and health reports are too frequent. */
        if (je->type == JOURNAL_EVENT_UNIT_FAILED || je->type == JOURNAL_EVENT_OOM_KILL ||
            je->type == JOURNAL_EVENT_WATCHDOG || je->type == JOURNAL_EVENT_DEPENDENCY_FAILED)
                log_info("Journal: agent %s %s%s%s.", a->name, journal_event_type_to_string(je->type),
                         je->failure >= 0 ? ", " : "", je->failure >= 0 ? failure_kind_to_string(je->failure) : "");
        else
                log_debug("Journal: agent %s %s.", a->name, journal_event_type_to_string(je->type));

        if (je->error) {
                health_rate_add(&a->errors, t);
                a->journal_error_lines++;
        }
        switch (je->type) {
        case JOURNAL_EVENT_WATCHDOG:
                a->watchdog_at = t;
                break;
        case JOURNAL_EVENT_HEALTH_REPORT:
                a->report = je->report;
                break;
        case JOURNAL_EVENT_DEPENDENCY_FAILED:
                a->dependency_failed = true;
                break;
        default:
                break;
        }

        if (journal_event_to_breaker_event(je, t, backoff_random_u64(), &ev))
                agent_feed(s, a, &ev, "journal", realtime);
        else
                manager_queue_state_update(s->manager);
        return 0;
}

static int supervisor_update_journal_agents(Supervisor *s) {
        _cleanup_strv_free_ char **names = NULL;
        Manager *m = s->manager;
        int r;

        if (!s->journal)
                return 0;
        for (size_t i = 0; i < m->n_agents; i++) {
                r = strv_extend(&names, m->agents[i]->name);
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
 * The agents */

void supervisor_agent_added(Supervisor *s, AgentRuntime *a) {
        agent_restore(s, a);
        agent_arm_timer(s, a, a->breaker.deadline);
}

void supervisor_agent_leaving(Supervisor *s, AgentRuntime *a) {
        agent_arm_timer(s, a, USEC_INFINITY);
        agent_forget_saved(s, a);
}

int supervisor_reserve(Supervisor *s, size_t n) {
        HealthAgentSummary *sums;
        bool *pending;

        if (n <= s->n_allocated)
                return 0;
        sums = reallocarray(s->summaries, n, sizeof(HealthAgentSummary));
        if (!sums)
                return -ENOMEM;
        s->summaries = sums;
        pending = reallocarray(s->pending, n, sizeof(bool));
        if (!pending)
                return -ENOMEM;
        s->pending = pending;
        s->n_allocated = n;
        return 0;
}

void supervisor_agents_changed(Supervisor *s, bool timed) {
        Manager *m = s->manager;
        int r;

        /* A profile start requested by a switch (not an adoption): time it until it settles. */
        if (m->active && timed) {
                if (free_and_strdup(&s->starting_profile, m->active->name) < 0)
                        log_oom();
                s->start_requested_at = now(CLOCK_BOOTTIME);
        } else if (!m->active)
                s->starting_profile = mfree(s->starting_profile);

        r = supervisor_update_journal_agents(s);
        if (r < 0)
                log_warning_errno(r, "Failed to update the journal matches, ignoring: %m");
}

int supervisor_new(Manager *m, Supervisor **ret) {
        _cleanup_(supervisor_freep) Supervisor *s = NULL;
        int r;

        s = calloc(1, sizeof(Supervisor));
        if (!s)
                return -ENOMEM;
        s->manager = m;
        s->health_score = 1.0;
        s->start_requested_at = USEC_INFINITY;
        if (asprintf(&s->breaker_dir, "%s/" SUPERVISOR_BREAKER_DIR, m->state_dir) < 0)
                return -ENOMEM;
        /* The boot ID tags the CLOCK_BOOTTIME values in the records. Without it (a sandbox hiding
         * /proc/sys) records still work within the boot, which is all /run/unified lives for anyway. */
        r = sd_id128_get_boot(&s->boot_id);
        if (r < 0) {
                log_warning_errno(r, "Cannot read the boot ID, breaker records are not tagged with it: %m");
                s->boot_id = SD_ID128_NULL;
        }
        *ret = TAKE_PTR(s);
        return 0;
}

Supervisor *supervisor_free(Supervisor *s) {
        if (!s)
                return NULL;
        supervisor_save_cursor(s);
        free(s->breaker_dir);
        journal_watch_free(s->journal);
        sd_event_source_disable_unref(s->cursor_timer);
        sd_event_source_disable_unref(s->health_timer);
        free(s->summaries);
        free(s->pending);
        free(s->starting_profile);
        strv_free(s->start_names);
        free(s->start_durations);
        return mfree(s);
}
