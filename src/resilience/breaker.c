/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The per-agent circuit breaker: a pure state machine over time-stamped events. */

#include <inttypes.h>
#include <limits.h>
#include <stdio.h>

#include "backoff.h"
#include "breaker.h"
#include "parse-util.h"

static const char * const breaker_state_table[_BREAKER_STATE_MAX] = {
        [BREAKER_CLOSED] = "closed",
        [BREAKER_OPEN] = "open",
        [BREAKER_HALF_OPEN] = "half-open",
};

static const char * const failure_kind_table[_FAILURE_KIND_MAX] = {
        [FAILURE_EXIT_CODE] = "exit-code",
        [FAILURE_SIGNAL] = "signal",
        [FAILURE_CORE_DUMP] = "core-dump",
        [FAILURE_WATCHDOG] = "watchdog",
        [FAILURE_OOM_KILL] = "oom-kill",
        [FAILURE_TIMEOUT] = "timeout",
        [FAILURE_START_LIMIT_HIT] = "start-limit-hit",
        [FAILURE_RESOURCES] = "resources",
        [FAILURE_PROTOCOL] = "protocol",
        [FAILURE_JOURNAL_FAILING] = "journal-failing",
        [FAILURE_OTHER] = "other",
};

static const char * const breaker_event_type_table[_BREAKER_EVENT_TYPE_MAX] = {
        [BREAKER_EVENT_FAILURE] = "failure",
        [BREAKER_EVENT_ACTIVE] = "active",
        [BREAKER_EVENT_TIMER] = "timer",
        [BREAKER_EVENT_RESET] = "reset",
        [BREAKER_EVENT_FORCE_OPEN] = "force-open",
};

static const char * const breaker_action_table[_BREAKER_ACTION_MAX] = {
        [BREAKER_ACTION_NONE] = "none",
        [BREAKER_ACTION_STOP] = "stop",
        [BREAKER_ACTION_START] = "start",
};

static int table_lookup(const char * const *table, size_t n, const char *s) {
        if (!s)
                return -EINVAL;
        for (size_t i = 0; i < n; i++)
                if (table[i] && streq(table[i], s))
                        return (int) i;
        return -EINVAL;
}

static const char *table_name(const char * const *table, size_t n, int i) {
        return i >= 0 && (size_t) i < n ? table[i] : NULL;
}

const char *breaker_state_to_string(BreakerState s) {
        return table_name(breaker_state_table, ELEMENTSOF(breaker_state_table), s);
}

BreakerState breaker_state_from_string(const char *s) {
        return table_lookup(breaker_state_table, ELEMENTSOF(breaker_state_table), s);
}

const char *failure_kind_to_string(FailureKind k) {
        return table_name(failure_kind_table, ELEMENTSOF(failure_kind_table), k);
}

FailureKind failure_kind_from_string(const char *s) {
        return table_lookup(failure_kind_table, ELEMENTSOF(failure_kind_table), s);
}

FailureKind failure_kind_from_unit_result(const char *result) {
        FailureKind k;

        if (isempty(result) || streq(result, "success") || streq(result, "exec-condition"))
                return _FAILURE_KIND_INVALID;

        k = failure_kind_from_string(result);
        /* "journal-failing" and "other" are ours, never a systemd Result. */
        if (k < 0 || k == FAILURE_JOURNAL_FAILING)
                return FAILURE_OTHER;
        return k;
}

const char *breaker_event_type_to_string(BreakerEventType t) {
        return table_name(breaker_event_type_table, ELEMENTSOF(breaker_event_type_table), t);
}

BreakerEventType breaker_event_type_from_string(const char *s) {
        return table_lookup(breaker_event_type_table, ELEMENTSOF(breaker_event_type_table), s);
}

const char *breaker_action_to_string(BreakerAction a) {
        return table_name(breaker_action_table, ELEMENTSOF(breaker_action_table), a);
}

static unsigned config_threshold(const BreakerConfig *c) {
        return CLAMP(c->threshold, 1U, BREAKER_THRESHOLD_MAX);
}

usec_t breaker_cooldown(const BreakerConfig *c, unsigned n, uint64_t random) {
        BackoffConfig bc = {
                .initial = c->cooldown,
                .max = MAX(c->max_cooldown, c->cooldown),
                /* Full jitter spreads the probes of agents that tripped together (all dependents of a
                 * dead essential agent), the floor keeps a cooldown from collapsing to nothing. */
                .floor = c->cooldown / 2,
        };

        return backoff_delay(&bc, n > 0 ? n - 1 : 0, random);
}

usec_t breaker_trips_reset_usec(const BreakerConfig *c) {
        return MAX(BREAKER_TRIPS_RESET_MIN_USEC, c->max_cooldown);
}

static usec_t usec_add(usec_t a, usec_t b) {
        return a > USEC_INFINITY - b ? USEC_INFINITY : a + b;
}

void breaker_init(Breaker *b, const BreakerConfig *config, usec_t now) {
        *b = (Breaker) {
                .config = *config,
                .state = BREAKER_CLOSED,
                .deadline = USEC_INFINITY,
                .since = now,
                .active_since = USEC_INFINITY,
        };
}

static void window_drop_oldest(Breaker *b, unsigned n) {
        n = MIN(n, b->n_failures);
        memmove(b->failures, b->failures + n, (b->n_failures - n) * sizeof(usec_t));
        b->n_failures -= n;
}

void breaker_set_config(Breaker *b, const BreakerConfig *config) {
        b->config = *config;
        if (b->n_failures > config_threshold(config))
                window_drop_oldest(b, b->n_failures - config_threshold(config));
}

static bool failure_expired(const Breaker *b, usec_t t, usec_t now) {
        /* A failure stamped in the future (a clock oddity) is kept rather than dropped. */
        return now >= t && now - t >= b->config.window;
}

unsigned breaker_failures_in_window(const Breaker *b, usec_t now) {
        unsigned n = 0;

        for (unsigned i = 0; i < b->n_failures; i++)
                if (!failure_expired(b, b->failures[i], now))
                        n++;
        return n;
}

static void window_prune(Breaker *b, usec_t now) {
        unsigned i = 0;

        while (i < b->n_failures && failure_expired(b, b->failures[i], now))
                i++;
        window_drop_oldest(b, i);
}

static void window_add(Breaker *b, usec_t now) {
        if (b->n_failures >= config_threshold(&b->config))
                window_drop_oldest(b, b->n_failures - config_threshold(&b->config) + 1);
        b->failures[b->n_failures++] = now;
}

static void enter_state(Breaker *b, BreakerState s, usec_t now) {
        if (b->state != s) {
                b->transitions_total++;
                b->since = now;
        }
        b->state = s;
}

static void trip(Breaker *b, usec_t now, uint64_t random) {
        b->consecutive_trips++;
        b->trips_total++;
        b->forced = false;
        b->n_failures = 0;
        b->active_since = USEC_INFINITY;
        b->deadline = usec_add(now, breaker_cooldown(&b->config, b->consecutive_trips, random));
        enter_state(b, BREAKER_OPEN, now);
}

static void handle_failure(Breaker *b, const BreakerEvent *ev, BreakerOutcome *o) {
        bool duplicate;

        duplicate = !sd_id128_is_null(ev->invocation) && sd_id128_equal(ev->invocation, b->last_invocation);

        /* start-limit-hit is reported with the InvocationID of the run that already failed (no new run
         * was started): it must always act. In CLOSED, "final" may arrive after the same run was counted
         * as an ordinary failure, and must still trip. Anything else repeated is the same failure seen
         * by a second source, or a late report about the run before the trip. */
        if (duplicate && ev->kind != FAILURE_START_LIMIT_HIT && !(ev->final && b->state == BREAKER_CLOSED)) {
                o->reason = "Failure already counted for this invocation.";
                return;
        }
        if (!duplicate) {
                b->failures_total++;
                o->counted = true;
                if (!sd_id128_is_null(ev->invocation))
                        b->last_invocation = ev->invocation;
        }

        switch (b->state) {

        case BREAKER_CLOSED:
                window_prune(b, ev->now);
                if (!duplicate)
                        window_add(b, ev->now);

                if (ev->kind == FAILURE_START_LIMIT_HIT) {
                        trip(b, ev->now, ev->random);
                        o->reason = "systemd hit the unit's start limit.";
                } else if (ev->final) {
                        trip(b, ev->now, ev->random);
                        o->reason = "systemd gave up restarting the unit.";
                } else if (b->n_failures >= config_threshold(&b->config)) {
                        trip(b, ev->now, ev->random);
                        o->reason = "Failure threshold reached within the window.";
                } else {
                        /* A failure restarts the clean period after which trips are forgotten. */
                        if (b->consecutive_trips > 0)
                                b->deadline = usec_add(ev->now, breaker_trips_reset_usec(&b->config));
                        o->reason = "Failure counted, below the threshold.";
                        return;
                }
                o->action = BREAKER_ACTION_STOP;
                return;

        case BREAKER_HALF_OPEN:
                trip(b, ev->now, ev->random);
                o->action = BREAKER_ACTION_STOP;
                o->reason = "The half-open probe failed.";
                return;

        case BREAKER_OPEN:
                o->reason = "Failure while open, ignored.";
                return;

        default:
                return;
        }
}

static void handle_timer(Breaker *b, const BreakerEvent *ev, BreakerOutcome *o) {
        if (b->deadline == USEC_INFINITY || ev->now < b->deadline) {
                o->reason = "Timer not due, ignored.";
                return;
        }

        switch (b->state) {

        case BREAKER_CLOSED:
                b->consecutive_trips = 0;
                b->deadline = USEC_INFINITY;
                o->reason = "Clean period over, consecutive trips forgotten.";
                return;

        case BREAKER_OPEN:
                if (b->forced) {
                        b->deadline = USEC_INFINITY;
                        o->reason = "Held open by an operator.";
                        return;
                }
                b->deadline = USEC_INFINITY;
                b->active_since = USEC_INFINITY;
                enter_state(b, BREAKER_HALF_OPEN, ev->now);
                o->action = BREAKER_ACTION_START;
                o->reason = "Cooldown over, starting one probe.";
                return;

        case BREAKER_HALF_OPEN:
                if (b->active_since == USEC_INFINITY) {
                        /* Probation only runs while active; systemd's start timeout bounds the wait. */
                        b->deadline = USEC_INFINITY;
                        o->reason = "Probe not active yet, waiting.";
                        return;
                }
                b->n_failures = 0;
                b->active_since = USEC_INFINITY;
                b->deadline = usec_add(ev->now, breaker_trips_reset_usec(&b->config));
                enter_state(b, BREAKER_CLOSED, ev->now);
                o->reason = "Probe stayed healthy for the probation period.";
                return;

        default:
                return;
        }
}

int breaker_handle(Breaker *b, const BreakerEvent *ev, BreakerOutcome *ret) {
        BreakerOutcome o;

        assert_return(b, -EINVAL);
        assert_return(ev, -EINVAL);
        assert_return(ret, -EINVAL);

        o = (BreakerOutcome) {
                .old_state = b->state,
                .action = BREAKER_ACTION_NONE,
                .reason = "No change.",
        };

        if (ev->type < 0 || ev->type >= _BREAKER_EVENT_TYPE_MAX ||
            (ev->type == BREAKER_EVENT_FAILURE && (ev->kind < 0 || ev->kind >= _FAILURE_KIND_MAX))) {
                o.state = b->state;
                o.timer = b->deadline;
                o.reason = "Invalid event.";
                *ret = o;
                return -EINVAL;
        }

        switch (ev->type) {

        case BREAKER_EVENT_FAILURE:
                handle_failure(b, ev, &o);
                break;

        case BREAKER_EVENT_ACTIVE:
                if (b->state == BREAKER_HALF_OPEN && b->active_since == USEC_INFINITY) {
                        b->active_since = ev->now;
                        b->deadline = usec_add(ev->now, b->config.probation);
                        o.reason = "Probe active, probation started.";
                } else if (b->state == BREAKER_OPEN) {
                        /* Someone (or an auto-restart racing our stop) started it: the breaker says no. */
                        o.action = BREAKER_ACTION_STOP;
                        o.reason = "Unit started while the breaker is open, stopping it.";
                }
                break;

        case BREAKER_EVENT_TIMER:
                handle_timer(b, ev, &o);
                break;

        case BREAKER_EVENT_RESET:
                b->n_failures = 0;
                b->consecutive_trips = 0;
                b->forced = false;
                b->deadline = USEC_INFINITY;
                b->active_since = USEC_INFINITY;
                enter_state(b, BREAKER_CLOSED, ev->now);
                o.action = BREAKER_ACTION_START;
                o.reason = "Reset by an operator.";
                break;

        case BREAKER_EVENT_FORCE_OPEN:
                b->forced = true;
                b->n_failures = 0;
                b->deadline = USEC_INFINITY;
                b->active_since = USEC_INFINITY;
                enter_state(b, BREAKER_OPEN, ev->now);
                o.action = BREAKER_ACTION_STOP;
                o.reason = "Opened by an operator.";
                break;

        default:
                break;
        }

        o.state = b->state;
        o.timer = b->deadline;
        *ret = o;
        return 0;
}

/* Serialization: "v=1 boot=<id> state=closed forced=0 since=.. deadline=.. active=.. trips=.. tripped=..
 * transitions=.. failed=.. inv=<id> window=t1,t2,..". Unset times are written as "-". */

static int parse_usec_or_unset(const char *s, usec_t *ret) {
        uint64_t v;
        int r;

        if (streq(s, "-")) {
                *ret = USEC_INFINITY;
                return 0;
        }
        r = safe_atou64(s, &v);
        if (r < 0)
                return r;
        if (v == USEC_INFINITY)
                return -EINVAL;
        *ret = v;
        return 0;
}

static void format_usec_or_unset(char *buf, size_t l, usec_t t) {
        if (t == USEC_INFINITY)
                (void) snprintf(buf, l, "-");
        else
                (void) snprintf(buf, l, "%" PRIu64, t);
}

int breaker_serialize(const Breaker *b, sd_id128_t boot_id, char **ret) {
        char since[24], deadline[24], active[24], inv[SD_ID128_STRING_MAX], boot[SD_ID128_STRING_MAX];
        _cleanup_free_ char *window = NULL, *line = NULL;
        size_t wl = 0;

        assert_return(b, -EINVAL);
        assert_return(ret, -EINVAL);
        assert_return(b->state >= 0 && b->state < _BREAKER_STATE_MAX, -EINVAL);
        assert_return(b->n_failures <= BREAKER_THRESHOLD_MAX, -EINVAL);

        window = malloc(b->n_failures * 21 + 2);
        if (!window)
                return -ENOMEM;
        window[0] = '\0';
        for (unsigned i = 0; i < b->n_failures; i++)
                wl += sprintf(window + wl, "%s%" PRIu64, i > 0 ? "," : "", b->failures[i]);
        if (b->n_failures == 0)
                strcpy(window, "-");

        format_usec_or_unset(since, sizeof(since), b->since);
        format_usec_or_unset(deadline, sizeof(deadline), b->deadline);
        format_usec_or_unset(active, sizeof(active), b->active_since);

        if (asprintf(&line,
                     "v=1 boot=%s state=%s forced=%d since=%s deadline=%s active=%s trips=%u "
                     "tripped=%" PRIu64 " transitions=%" PRIu64 " failed=%" PRIu64 " inv=%s window=%s",
                     sd_id128_to_string(boot_id, boot), breaker_state_to_string(b->state), b->forced,
                     since, deadline, active, b->consecutive_trips, b->trips_total, b->transitions_total,
                     b->failures_total, sd_id128_to_string(b->last_invocation, inv), window) < 0)
                return -ENOMEM;

        *ret = TAKE_PTR(line);
        return 0;
}

static int parse_window(Breaker *b, const char *v) {
        _cleanup_free_ char *copy = NULL;
        char *saveptr = NULL;

        b->n_failures = 0;
        if (streq(v, "-"))
                return 0;

        copy = strdup(v);
        if (!copy)
                return -ENOMEM;

        for (char *t = strtok_r(copy, ",", &saveptr); t; t = strtok_r(NULL, ",", &saveptr)) {
                uint64_t u;

                if (b->n_failures >= BREAKER_THRESHOLD_MAX || safe_atou64(t, &u) < 0 || u == USEC_INFINITY)
                        return -EINVAL;
                if (b->n_failures > 0 && u < b->failures[b->n_failures - 1])
                        return -EINVAL;
                b->failures[b->n_failures++] = u;
        }
        /* strtok_r() skips empty tokens: ",," or a trailing comma are garbage, not an empty list. */
        if (b->n_failures == 0 || v[0] == ',' || v[strlen(v) - 1] == ',' || strstr(v, ",,"))
                return -EINVAL;
        return 0;
}

int breaker_deserialize(Breaker *b, const char *line, sd_id128_t boot_id) {
        _cleanup_free_ char *copy = NULL;
        char *saveptr = NULL;
        Breaker n;
        unsigned seen = 0;
        bool have_version = false, have_boot = false;
        int r;

        enum {
                SEEN_STATE = 1 << 0, SEEN_FORCED = 1 << 1, SEEN_SINCE = 1 << 2, SEEN_DEADLINE = 1 << 3,
                SEEN_ACTIVE = 1 << 4, SEEN_TRIPS = 1 << 5, SEEN_TRIPPED = 1 << 6, SEEN_TRANSITIONS = 1 << 7,
                SEEN_FAILED = 1 << 8, SEEN_INV = 1 << 9, SEEN_WINDOW = 1 << 10, SEEN_ALL = (1 << 11) - 1,
        };

        assert_return(b, -EINVAL);
        if (!line)
                return -EINVAL;

        copy = strdup(line);
        if (!copy)
                return -ENOMEM;

        n = *b;

        for (char *t = strtok_r(copy, " \t\n", &saveptr); t; t = strtok_r(NULL, " \t\n", &saveptr)) {
                char *v = strchr(t, '=');
                unsigned bit = 0;
                uint64_t u;

                if (!v || v == t)
                        return -EINVAL;
                *v++ = '\0';

                if (streq(t, "v")) {
                        if (!streq(v, "1"))
                                return -EINVAL;
                        have_version = true;
                        continue;
                }
                if (streq(t, "boot")) {
                        sd_id128_t id;

                        if (sd_id128_from_string(v, &id) < 0)
                                return -EINVAL;
                        if (!sd_id128_equal(id, boot_id))
                                return -ESTALE;
                        have_boot = true;
                        continue;
                }

                if (streq(t, "state")) {
                        BreakerState s = breaker_state_from_string(v);
                        if (s < 0)
                                return -EINVAL;
                        n.state = s;
                        bit = SEEN_STATE;
                } else if (streq(t, "forced")) {
                        if (!streq(v, "0") && !streq(v, "1"))
                                return -EINVAL;
                        n.forced = v[0] == '1';
                        bit = SEEN_FORCED;
                } else if (streq(t, "since")) {
                        if (parse_usec_or_unset(v, &n.since) < 0)
                                return -EINVAL;
                        bit = SEEN_SINCE;
                } else if (streq(t, "deadline")) {
                        if (parse_usec_or_unset(v, &n.deadline) < 0)
                                return -EINVAL;
                        bit = SEEN_DEADLINE;
                } else if (streq(t, "active")) {
                        if (parse_usec_or_unset(v, &n.active_since) < 0)
                                return -EINVAL;
                        bit = SEEN_ACTIVE;
                } else if (streq(t, "trips")) {
                        if (safe_atou64(v, &u) < 0 || u > UINT_MAX)
                                return -EINVAL;
                        n.consecutive_trips = (unsigned) u;
                        bit = SEEN_TRIPS;
                } else if (streq(t, "tripped")) {
                        if (safe_atou64(v, &n.trips_total) < 0)
                                return -EINVAL;
                        bit = SEEN_TRIPPED;
                } else if (streq(t, "transitions")) {
                        if (safe_atou64(v, &n.transitions_total) < 0)
                                return -EINVAL;
                        bit = SEEN_TRANSITIONS;
                } else if (streq(t, "failed")) {
                        if (safe_atou64(v, &n.failures_total) < 0)
                                return -EINVAL;
                        bit = SEEN_FAILED;
                } else if (streq(t, "inv")) {
                        if (sd_id128_from_string(v, &n.last_invocation) < 0)
                                return -EINVAL;
                        bit = SEEN_INV;
                } else if (streq(t, "window")) {
                        r = parse_window(&n, v);
                        if (r < 0)
                                return r;
                        bit = SEEN_WINDOW;
                } else
                        continue; /* a key a newer daemon added */

                if (seen & bit)
                        return -EINVAL; /* the same key twice: not something we wrote */
                seen |= bit;
        }

        if (!have_version || !have_boot || seen != SEEN_ALL)
                return -EINVAL;

        /* Combinations the state machine never produces. */
        if (n.state != BREAKER_HALF_OPEN && n.active_since != USEC_INFINITY)
                return -EINVAL;
        if (n.forced && n.state != BREAKER_OPEN)
                return -EINVAL;
        if (n.state != BREAKER_CLOSED && n.n_failures > 0)
                return -EINVAL;

        /* The threshold may have been lowered by a profile reload while we were away. */
        breaker_set_config(&n, &b->config);

        *b = n;
        return 0;
}
