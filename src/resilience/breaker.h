/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The per-agent circuit breaker (closed / open / half-open) layered over systemd's restart policy: a pure
 * state machine. Events go in with their time, the new state and one action for the daemon come out.
 * See docs/resilience.md for the diagram and the reasoning behind each rule.
 *
 * Time is CLOCK_BOOTTIME in microseconds everywhere: it keeps counting across a daemon restart and while
 * the machine is suspended, and it resets exactly when /run (where the state is persisted) is emptied,
 * at reboot. The daemon arms its timers with sd_event_add_time(..., CLOCK_BOOTTIME, ...).
 *
 * How the daemon integrates it, per agent:
 *
 *     Breaker b;  breaker_init(&b, &agent->breaker);        (or breaker_deserialize() after a restart)
 *
 *     on any event:   BreakerEvent ev = { .type = ..., .now = now(CLOCK_BOOTTIME),
 *                                         .random = backoff_random_u64(), ... };
 *                     BreakerOutcome o;
 *                     breaker_handle(&b, &ev, &o);
 *                     switch (o.action) { STOP: StopUnit(unit, "replace");
 *                                         START: ResetFailedUnit(unit) + start (StartTransientUnit) }
 *                     o.timer == USEC_INFINITY ? disable the agent's timer : arm it at o.timer (oneshot)
 *                     if (o.old_state != o.state) { PropertiesChanged "Breaker", manager signal,
 *                                                   journal entry with o.reason; }
 *                     persist breaker_serialize() to /run/unified
 *
 * Events: FAILURE from the unit watcher (Result of a failed/auto-restarting unit) and from the journal
 * (journal-classify), both may report the same failure: pass the unit's InvocationID and the breaker
 * counts each invocation once. ACTIVE when the unit reaches ActiveState=active. TIMER when the agent's
 * timer fires. RESET and FORCE_OPEN from D-Bus. If the START action itself fails (the start job cannot
 * be queued), or a half-open probe exits cleanly, report a FAILURE of kind FAILURE_OTHER: otherwise the
 * breaker waits in HALF_OPEN for an "active" that never comes. */

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-id128.h>

#include "macro.h"
#include "profile.h"
#include "time-util.h"

/* Failures are remembered up to the threshold, so this bounds "threshold"; the profile parser accepts
 * 1..1000, larger values are clamped. */
#define BREAKER_THRESHOLD_MAX 1000U

/* How long an agent must run CLOSED without a failure before its consecutive-trip count (and so its
 * cooldown) starts from the beginning again: Kubernetes' CrashLoopBackOff resets after 10 min. */
#define BREAKER_TRIPS_RESET_MIN_USEC (10 * USEC_PER_MINUTE)

typedef enum BreakerState {
        BREAKER_CLOSED,
        BREAKER_OPEN,
        BREAKER_HALF_OPEN,
        _BREAKER_STATE_MAX,
        _BREAKER_STATE_INVALID = -EINVAL,
} BreakerState;

/* "closed", "open", "half-open": the D-Bus Agent.Breaker values. */
const char *breaker_state_to_string(BreakerState s) _const_;
BreakerState breaker_state_from_string(const char *s) _pure_;

typedef enum FailureKind {
        FAILURE_EXIT_CODE,
        FAILURE_SIGNAL,
        FAILURE_CORE_DUMP,
        FAILURE_WATCHDOG,
        FAILURE_OOM_KILL,
        FAILURE_TIMEOUT,
        FAILURE_START_LIMIT_HIT,
        FAILURE_RESOURCES,
        FAILURE_PROTOCOL,
        FAILURE_JOURNAL_FAILING,        /* the agent logged UNIFIED_HEALTH=failing */
        FAILURE_OTHER,                  /* a Result systemd may add later, or "exited while on probation" */
        _FAILURE_KIND_MAX,
        _FAILURE_KIND_INVALID = -EINVAL,
} FailureKind;

/* systemd's Result spelling ("exit-code", "oom-kill", ...) plus "journal-failing" and "other". */
const char *failure_kind_to_string(FailureKind k) _const_;
FailureKind failure_kind_from_string(const char *s) _pure_;
/* Maps a service's Result / a journal UNIT_RESULT= value: "success", "exec-condition" (a skipped
 * start, not a failure), NULL and "" give _FAILURE_KIND_INVALID; unknown values give FAILURE_OTHER, so
 * that a result a newer systemd invents still counts. */
FailureKind failure_kind_from_unit_result(const char *result) _pure_;

typedef enum BreakerEventType {
        BREAKER_EVENT_FAILURE,          /* the unit failed (kind, final, invocation) */
        BREAKER_EVENT_ACTIVE,           /* the unit reached ActiveState=active */
        BREAKER_EVENT_TIMER,            /* the agent's breaker timer fired */
        BREAKER_EVENT_RESET,            /* operator: close now and start the agent */
        BREAKER_EVENT_FORCE_OPEN,       /* operator: open and keep open (maintenance) */
        _BREAKER_EVENT_TYPE_MAX,
        _BREAKER_EVENT_TYPE_INVALID = -EINVAL,
} BreakerEventType;

const char *breaker_event_type_to_string(BreakerEventType t) _const_;
BreakerEventType breaker_event_type_from_string(const char *s) _pure_;

typedef struct BreakerEvent {
        BreakerEventType type;
        usec_t now;                     /* CLOCK_BOOTTIME */
        uint64_t random;                /* jitter source if this event opens the breaker */
        /* FAILURE only: */
        FailureKind kind;
        bool final;                     /* systemd will not restart the unit itself (ActiveState=failed) */
        sd_id128_t invocation;          /* InvocationID of the failed run, SD_ID128_NULL if unknown */
} BreakerEvent;

typedef enum BreakerAction {
        BREAKER_ACTION_NONE,
        BREAKER_ACTION_STOP,            /* StopUnit(mode "replace"): also cancels a pending auto-restart */
        BREAKER_ACTION_START,           /* ResetFailedUnit, then start the unit once */
        _BREAKER_ACTION_MAX,
        _BREAKER_ACTION_INVALID = -EINVAL,
} BreakerAction;

const char *breaker_action_to_string(BreakerAction a) _const_;

typedef struct BreakerOutcome {
        BreakerState old_state;
        BreakerState state;
        BreakerAction action;
        usec_t timer;                   /* arm the agent's timer at this CLOCK_BOOTTIME, USEC_INFINITY: disarm */
        bool counted;                   /* the event was counted as a new failure */
        const char *reason;             /* static English text for the journal and for D-Bus */
} BreakerOutcome;

typedef struct Breaker {
        BreakerConfig config;
        BreakerState state;
        bool forced;                    /* opened by an operator: no automatic half-open */
        usec_t failures[BREAKER_THRESHOLD_MAX]; /* times of recent failures in CLOSED, oldest first */
        unsigned n_failures;
        unsigned consecutive_trips;     /* drives the cooldown; reset after a clean period */
        usec_t deadline;                /* the timer, USEC_INFINITY if none */
        usec_t since;                   /* when the current state was entered */
        usec_t active_since;            /* HALF_OPEN: when the probe became active, USEC_INFINITY before */
        sd_id128_t last_invocation;     /* of the last counted failure */

        uint64_t trips_total;           /* automatic CLOSED/HALF_OPEN -> OPEN */
        uint64_t transitions_total;     /* every state change, manual ones included */
        uint64_t failures_total;        /* distinct failures seen, in any state */
} Breaker;

/* A CLOSED breaker with "config" (copied). "now" is the time the state counts from. */
void breaker_init(Breaker *b, const BreakerConfig *config, usec_t now);
/* After a profile reload: new limits apply from the next event; remembered failures beyond the new
 * threshold are forgotten (oldest first). */
void breaker_set_config(Breaker *b, const BreakerConfig *config);

/* Feeds one event. Always fills *ret (the outcome), returns 0, or -EINVAL for a malformed event (unknown
 * type or failure kind), leaving the breaker unchanged. */
int breaker_handle(Breaker *b, const BreakerEvent *ev, BreakerOutcome *ret);

/* Failures in the sliding window ending at "now" (for the health score). */
unsigned breaker_failures_in_window(const Breaker *b, usec_t now) _pure_;
/* The cooldown used when the breaker trips for the n-th consecutive time (1-based): full jitter over
 * [cooldown/2, min(max_cooldown, cooldown * 2^(n-1))]. */
usec_t breaker_cooldown(const BreakerConfig *c, unsigned n, uint64_t random) _pure_;
/* How long CLOSED must stay free of failures before consecutive trips are forgotten:
 * max(BREAKER_TRIPS_RESET_MIN_USEC, max_cooldown). */
usec_t breaker_trips_reset_usec(const BreakerConfig *c) _pure_;

/* One text line (no newline) holding the state, counters and timers, tagged with the boot ID because
 * CLOCK_BOOTTIME values mean nothing in another boot. The config is not stored: it comes from the
 * profile. */
int breaker_serialize(const Breaker *b, sd_id128_t boot_id, char **ret);
/* Restores what breaker_serialize() wrote into "b", which must be breaker_init()ed with the current
 * config. -EINVAL for anything malformed, -ESTALE if the line is from another boot; "b" is only written
 * on success. Unknown keys are ignored so that newer daemons can add some. After success, the daemon
 * arms the timer at b->deadline (if it is in the past, sd-event fires at once). */
int breaker_deserialize(Breaker *b, const char *line, sd_id128_t boot_id);
