/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* unifiedctl's decisions that need no bus: exit statuses for errors, when a --wait is over, and how
 * values are shown. Pure, so the unit tests can drive them with tables. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The exit statuses scripts can rely on (unifiedctl(1), EXIT STATUS). */
typedef enum CtlExit {
        CTL_EXIT_SUCCESS = 0,
        CTL_EXIT_FAILURE = 1,
        CTL_EXIT_USAGE = 2,
        CTL_EXIT_NOT_RUNNING = 3,       /* daemon not reachable / no active profile (status-like verbs) */
        CTL_EXIT_NOT_FOUND = 4,         /* no such profile or agent */
        CTL_EXIT_INVALID = 65,          /* EX_DATAERR: the profile does not validate */
} CtlExit;

/* The exit status for a failed call: "name" is the D-Bus error name (NULL if the call failed
 * locally), "error" the negative errno sd-bus returned, "status_like" whether the verb only reports
 * state (status, health, agents), for which "nobody there" is an answer rather than a failure. */
CtlExit ctl_exit_from_bus_error(const char *name, int error, bool status_like);

/* Whether the error means that unifiedd is not there at all (as opposed to refusing the call). */
bool ctl_bus_error_is_not_running(const char *name, int error);

typedef enum WaitGoal {
        WAIT_GOAL_START,
        WAIT_GOAL_STOP,
} WaitGoal;

typedef enum WaitOutcome {
        WAIT_PENDING,           /* keep waiting */
        WAIT_DONE,
        WAIT_DEGRADED,          /* started, but some non-essential agents are down */
        WAIT_FAILED,
        WAIT_REPLACED,          /* another profile became active, or the start was undone */
} WaitOutcome;

/* Given the Manager's ActiveProfile and State, is a start/stop of "profile" (NULL or "" for stop:
 * whichever is active) finished? Relies on StartProfile setting ActiveProfile and State=starting
 * before it replies (docs/dbus-api.md). */
WaitOutcome ctl_wait_evaluate(WaitGoal goal, const char *profile, const char *active, const char *state);

/* Whether message serial "a" was sent before "b" by the same peer. Serials are 32 bits and wrap
 * (sd-bus restarts at 1): compared as TCP compares sequence numbers, correct within 2^31. */
bool ctl_serial_before(uint64_t a, uint64_t b);

/* "0.97", or "-" for a value outside [0, 1] (unknown). */
char *ctl_format_health(char *buf, size_t l, double health);
/* For people, not for parse_size(): "512B", "256M", "11.8M" (one decimal unless exact), "-" for
 * UINT64_MAX (unknown, or no limit). */
#define CTL_FORMAT_BYTES_MAX 16
char *ctl_format_bytes(char *buf, size_t l, uint64_t bytes);

/* Whether a validate/show argument names a file rather than a profile on the search path. */
bool ctl_argument_is_file(const char *arg);

/* The command: the first argument that is not an option (or the value of one of unifiedctl's own),
 * NULL if there is none. For the verbs that read the command line themselves (chaos, export). */
const char *ctl_argv_verb(int argc, char *argv[]);

/* --json=MODE: "pretty" (also --json alone, "arg" NULL), "short" (one line) or "off". */
typedef enum CtlJson {
        CTL_JSON_OFF,
        CTL_JSON_PRETTY,
        CTL_JSON_SHORT,
} CtlJson;
/* The mode, or -EINVAL for another word. */
int ctl_json_from_string(const char *arg);

/* How wide tables may be: $COLUMNS ("env", if a positive number), else the terminal's width
 * ("tty_columns", 0 if stdout is no terminal), else no limit (SIZE_MAX): a pipe gets whole lines. */
size_t ctl_columns_pick(const char *env, unsigned tty_columns);
/* ctl_columns_pick() of $COLUMNS and of stdout's terminal: call it before a pager takes stdout. */
size_t ctl_output_columns(void);
/* What ends a table cell cut to fit: "…" in a UTF-8 locale (after setlocale(LC_CTYPE, "")), else
 * "...". */
const char *ctl_output_ellipsis(void);

/* How read commands print, from the command line: shared by the bus and the offline verbs. */
typedef struct CtlOutput {
        CtlJson json;
        bool legend;            /* table headers and footers */
        bool quiet;             /* no summaries either */
        size_t columns;         /* tables fit in this width (SIZE_MAX: no limit) */
        const char *ellipsis;   /* ends cells cut to fit */
} CtlOutput;

/* Prometheus scrapes the socket, which starts the exporter on a connection: `status` reports either
 * failing. */
#define CTL_METRICS_SOCKET "unified-metrics.socket"
#define CTL_METRICS_SERVICE "unified-metricsd.service"

/* What `status` says of the metrics endpoint, from systemd's ActiveState and Result of the socket and
 * of the exporter's service: NULL when there is nothing to say (listening and the exporter not failed,
 * or not in use), else what is wrong, for people. */
const char *ctl_metrics_problem(const char *socket_state, const char *socket_result, const char *service_state);
