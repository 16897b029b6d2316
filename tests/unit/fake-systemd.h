/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A fake org.freedesktop.systemd1 and org.freedesktop.PolicyKit1 on a private bus, for driving the real
 * manager in-process. It runs in a thread of its own with its own event loop and connections, so that
 * the daemon's few synchronous calls (at start-up, adoption) get their answers while the test's thread
 * is blocked in them.
 *
 * The units follow systemd's state machine closely enough for the daemon: a start job goes
 * activating/start -> active/running (or failed, or a false condition) and ends with JobRemoved; a unit
 * whose main process dies with Restart=on-failure goes activating/auto-restart and starts again, until
 * StartLimitBurst= starts within StartLimitIntervalUSec= make it failed/start-limit-hit; stopped or
 * reset transient units are collected (UnitRemoved). Every change is announced the way systemd does
 * it: PropertiesChanged of org.freedesktop.systemd1.Service (or .Socket), then of .Unit, each with all of
 * the interface's announced properties. Timings are compressed: each step takes about a millisecond and
 * RestartSec= is capped at 20 ms.
 *
 * Everything about the fake's state is read and changed on its own thread: fake_systemd_exec() runs a
 * function there and waits for it. The helpers below are built on it. */

#include <stdbool.h>
#include <stdint.h>

#include "time-util.h"

typedef struct FakeSystemd FakeSystemd;
typedef struct FakeUnit FakeUnit;

typedef enum FakeStart {
        FAKE_START_OK,                  /* active/running */
        FAKE_START_EXIT,                /* the main process exits with a failure right away, every time */
        FAKE_START_CONDITION,           /* a Condition*= is false: inactive, ConditionResult=false */
        FAKE_START_REFUSE,              /* StartTransientUnit itself returns an error (see fake_systemd_refuse()) */
        FAKE_START_HOLD,                /* stays activating/start until stopped (a oneshot's ExecStart= running) */
} FakeStart;

typedef enum FakeVerdict {
        FAKE_POLKIT_ALLOW,
        FAKE_POLKIT_DENY,
        FAKE_POLKIT_CHALLENGE,          /* authorized only with interactive authentication */
        FAKE_POLKIT_ERROR,              /* CheckAuthorization fails (org.freedesktop.PolicyKit1.Error.Failed) */
} FakeVerdict;

/* Connects to the bus at "address", owns org.freedesktop.systemd1 and org.freedesktop.PolicyKit1.
 * "version" is systemd's Version property. */
FakeSystemd *fake_systemd_start(const char *address, const char *version);
void fake_systemd_stop(FakeSystemd *f);

/* Runs fn(f, userdata) on the fake's thread and returns when it is done. */
void fake_systemd_exec(FakeSystemd *f, void (*fn)(FakeSystemd *f, void *userdata), void *userdata);

/* How the next starts of "unit" go (kept until changed). */
void fake_systemd_set_start(FakeSystemd *f, const char *unit, FakeStart how);
/* StartTransientUnit of "unit" is answered with the D-Bus error "name" (FAKE_START_REFUSE), "times" times
 * and then started as usual (0: every time). */
void fake_systemd_refuse(FakeSystemd *f, const char *unit, const char *error_name, unsigned times);
/* SetUnitProperties of "unit" is answered with the D-Bus error "name" the next "times" times. */
void fake_systemd_refuse_properties(FakeSystemd *f, const char *unit, const char *error_name, unsigned times);

/* How long a stop takes (default: a millisecond). */
void fake_systemd_set_stop_time(FakeSystemd *f, usec_t usec);

/* A unit that exists before the daemon starts (adoption): a transient service in "slice", active,
 * with "environment" (NULL-terminated, may be NULL). */
void fake_systemd_add_unit(FakeSystemd *f, const char *unit, const char *slice, char **environment);

/* While muted, systemd's signals are lost on the way (as when dbus-daemon drops PID 1's connection, or
 * while PID 1 re-executes); its calls are still answered. */
void fake_systemd_mute(FakeSystemd *f, bool muted);
/* systemd leaves the bus and comes back (NameOwnerChanged twice), no longer muted. */
void fake_systemd_rejoin(FakeSystemd *f);

/* The main process of "unit" dies with "result" ("signal", "exit-code", "oom-kill", "watchdog"). */
void fake_systemd_crash(FakeSystemd *f, const char *unit, const char *result);
/* A client connects to a lazy agent's socket: its service starts. */
void fake_systemd_trigger(FakeSystemd *f, const char *socket);

/* "active", "failed", ...; NULL (returned as a copy, to free) when systemd has no such unit. */
char *fake_systemd_unit_state(FakeSystemd *f, const char *unit, char **ret_sub_state);
/* The last value set for property "name" of "unit" (StartTransientUnit or SetUnitProperties), rendered as
 * text: "2147483648", "yes", "unified.slice", "[A=1 B=2]", "[(/bin/x [/bin/x -a] no)]". A copy, or NULL. */
char *fake_systemd_unit_property(FakeSystemd *f, const char *unit, const char *name);
/* How many calls of "method" were made for "unit" (NULL: for any unit). */
unsigned fake_systemd_count_calls(FakeSystemd *f, const char *method, const char *unit);
/* Every call so far as "Method unit" lines, in order (a strv to free). */
char **fake_systemd_calls(FakeSystemd *f);
/* The number of units systemd has loaded whose name starts with "prefix". */
unsigned fake_systemd_count_units(FakeSystemd *f, const char *prefix, const char *active_state);

/* polkit's answer for "action" (default: allow), given after "delay". */
void fake_polkit_set(FakeSystemd *f, const char *action, FakeVerdict verdict, usec_t delay);
/* CheckAuthorization calls so far, and those not answered yet. */
unsigned fake_polkit_checks(FakeSystemd *f, unsigned *ret_pending);
/* The most CheckAuthorization calls that were unanswered at once. */
unsigned fake_polkit_peak_pending(FakeSystemd *f);
