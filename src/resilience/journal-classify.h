/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Classification of one journal entry: is it about one of our agents' units, and what does it say
 * (unit failed, OOM kill, watchdog timeout, restart scheduled, an error line, a health report...).
 * Pure: the fields go in as "FIELD=value" strings, from sd-journal in the daemon and from recorded
 * export-format files in the tests.
 *
 * Trust: systemd's catalogued messages are believed only from PID 1 (_PID=1, a field journald sets and
 * a client cannot forge); they name the unit in UNIT=. An agent's own lines are recognised by the trusted
 * _SYSTEMD_UNIT= of its unit; an agent writing MESSAGE_ID= or UNIT= cannot pose as PID 1 or as another
 * agent.
 *
 * How the daemon integrates it (journal-watch does the first two steps):
 *
 *     JournalFields f = {};  for each field of the entry: journal_fields_add(&f, data, len);
 *     JournalEvent ev;  r = journal_classify(&f, &ev);  journal_fields_done(&f);
 *     if (r > 0) switch (ev.type) {
 *     UNIT_FAILED, OOM_KILL, WATCHDOG:   breaker FAILURE { .kind = ev.failure, .invocation = ev.invocation }
 *     HEALTH_REPORT:                     agent report = ev.report; if failing: breaker FAILURE
 *                                        { .kind = FAILURE_JOURNAL_FAILING, .invocation = ev.invocation }
 *     RESTART_SCHEDULED:                 Restarts = ev.n_restarts (the failure was already counted)
 *     DEPENDENCY_FAILED:                 mark the agent waiting
 *     }
 *     if (ev.error) health_rate_add(&agent->errors, now)
 */

#include <stdbool.h>
#include <stddef.h>
#include <systemd/sd-id128.h>

#include "breaker.h"
#include "health.h"
#include "macro.h"
#include "profile.h"

/* MESSAGE_IDs from systemd's sd-messages.h, as PID 1 writes them (verified against systemd 252). */
#define JOURNAL_MESSAGE_UNIT_FAILURE_RESULT "d9b373ed55a64feb8242e02dbe79a49c" /* "Failed with result 'x'." */
#define JOURNAL_MESSAGE_UNIT_OUT_OF_MEMORY "fe6faa94e7774663a0da52717891d8ef"  /* kernel OOM kill in the unit */
#define JOURNAL_MESSAGE_UNIT_OOMD_KILL "d989611b15e44c9dbf31e3c81256e4ed"      /* systemd-oomd kill */
#define JOURNAL_MESSAGE_UNIT_RESTART_SCHEDULED "5eb03494b6584870a536b337290809b3"
#define JOURNAL_MESSAGE_UNIT_PROCESS_EXIT "98e322203f7a4ed290d09fe03c09fe15"
#define JOURNAL_MESSAGE_UNIT_STARTED "39f53479d3a045ac8e11786248231fbf"       /* start job done */
#define JOURNAL_MESSAGE_UNIT_FAILED "be02cf6855d2428ba40df7e9d022f03d"        /* start job failed */

/* The agent-side structured field. */
#define JOURNAL_FIELD_HEALTH "UNIFIED_HEALTH"

/* The fields the classifier reads; each NULL if the entry lacks it. Owned copies. */
typedef struct JournalFields {
        char *message_id;       /* MESSAGE_ID */
        char *priority;         /* PRIORITY */
        char *pid;              /* _PID (trusted) */
        char *systemd_unit;     /* _SYSTEMD_UNIT (trusted) */
        char *systemd_invocation_id; /* _SYSTEMD_INVOCATION_ID (trusted) */
        char *unit;             /* UNIT (PID 1: the unit a message is about) */
        char *invocation_id;    /* INVOCATION_ID (PID 1: that unit's invocation) */
        char *unit_result;      /* UNIT_RESULT */
        char *job_result;       /* JOB_RESULT */
        char *n_restarts;       /* N_RESTARTS */
        char *exit_code;        /* EXIT_CODE */
        char *exit_status;      /* EXIT_STATUS */
        char *health;           /* UNIFIED_HEALTH */
        char *message;          /* MESSAGE */
} JournalFields;

/* Takes one "FIELD=value" datum as sd_journal_enumerate_data() returns it (not NUL-terminated, "len"
 * bytes; the value may contain anything but only text values are kept). Fields the classifier does not
 * read are ignored (0); a repeated field keeps its first value. -EINVAL if there is no '=', -ENOMEM. */
int journal_fields_add(JournalFields *f, const void *data, size_t len);
void journal_fields_done(JournalFields *f);

typedef enum JournalEventType {
        JOURNAL_EVENT_NONE,             /* about our agent, nothing to act on (informational) */
        JOURNAL_EVENT_UNIT_FAILED,      /* PID 1: the unit failed with UNIT_RESULT (ev.failure) */
        JOURNAL_EVENT_OOM_KILL,         /* PID 1: kernel OOM killer or systemd-oomd killed in the unit */
        JOURNAL_EVENT_WATCHDOG,         /* PID 1: "Watchdog timeout (limit ...)!" (no MESSAGE_ID exists) */
        JOURNAL_EVENT_RESTART_SCHEDULED,/* PID 1: auto-restart queued, ev.n_restarts */
        JOURNAL_EVENT_PROCESS_EXIT,     /* PID 1: a process of the unit exited; informational: a stop by
                                         * SIGTERM looks like this too, UNIT_FAILED says if it failed */
        JOURNAL_EVENT_STARTED,          /* PID 1: the start job finished successfully */
        JOURNAL_EVENT_DEPENDENCY_FAILED,/* PID 1: the start job failed because a required unit did */
        JOURNAL_EVENT_HEALTH_REPORT,    /* the agent logged UNIFIED_HEALTH= (ev.report) */
        JOURNAL_EVENT_ERROR_LINE,       /* the agent logged at PRIORITY <= 3 */
        _JOURNAL_EVENT_TYPE_MAX,
        _JOURNAL_EVENT_TYPE_INVALID = -EINVAL,
} JournalEventType;

const char *journal_event_type_to_string(JournalEventType t) _const_;
JournalEventType journal_event_type_from_string(const char *s) _pure_;

typedef struct JournalEvent {
        JournalEventType type;
        char agent[AGENT_NAME_MAX + 1]; /* "<agent>" of unified-<agent>.service */
        bool from_manager;              /* written by PID 1 about the unit, else by the agent */
        FailureKind failure;            /* UNIT_FAILED, OOM_KILL, WATCHDOG; else _FAILURE_KIND_INVALID */
        HealthReport report;            /* HEALTH_REPORT */
        unsigned n_restarts;            /* RESTART_SCHEDULED */
        int priority;                   /* syslog priority, -1 if absent or unparsable */
        bool error;                     /* an agent line with PRIORITY <= 3 (LOG_ERR): count it */
        sd_id128_t invocation;          /* the unit's invocation the entry belongs to, or null */
} JournalEvent;

/* "unified-<agent>.service" -> "<agent>" into ret (AGENT_NAME_MAX + 1 bytes). -EINVAL if the name is not
 * one of ours (other prefix or suffix, invalid agent name, template instance). */
int journal_agent_from_unit(const char *unit, char ret[static AGENT_NAME_MAX + 1]);

/* 1 and *ret filled if the entry is about one of our agents' service units (including informational
 * ones, type NONE); 0 if it is not ours (ret untouched). Never fails on odd content: a field that does not
 * parse is treated as absent. */
int journal_classify(const JournalFields *f, JournalEvent *ret);
