/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Classification of one journal entry about our agents. */

#include <stdio.h>
#include <syslog.h>

#include "journal-classify.h"
#include "parse-util.h"

static const char * const journal_event_type_table[_JOURNAL_EVENT_TYPE_MAX] = {
        [JOURNAL_EVENT_NONE] = "none",
        [JOURNAL_EVENT_UNIT_FAILED] = "unit-failed",
        [JOURNAL_EVENT_OOM_KILL] = "oom-kill",
        [JOURNAL_EVENT_WATCHDOG] = "watchdog",
        [JOURNAL_EVENT_RESTART_SCHEDULED] = "restart-scheduled",
        [JOURNAL_EVENT_PROCESS_EXIT] = "process-exit",
        [JOURNAL_EVENT_STARTED] = "started",
        [JOURNAL_EVENT_DEPENDENCY_FAILED] = "dependency-failed",
        [JOURNAL_EVENT_HEALTH_REPORT] = "health-report",
        [JOURNAL_EVENT_ERROR_LINE] = "error-line",
};

const char *journal_event_type_to_string(JournalEventType t) {
        return t >= 0 && t < _JOURNAL_EVENT_TYPE_MAX ? journal_event_type_table[t] : NULL;
}

JournalEventType journal_event_type_from_string(const char *s) {
        if (!s)
                return _JOURNAL_EVENT_TYPE_INVALID;
        for (JournalEventType t = 0; t < _JOURNAL_EVENT_TYPE_MAX; t++)
                if (streq(s, journal_event_type_table[t]))
                        return t;
        return _JOURNAL_EVENT_TYPE_INVALID;
}

static const struct {
        const char *name;
        size_t offset;
} field_table[] = {
        { "MESSAGE_ID",             offsetof(JournalFields, message_id) },
        { "PRIORITY",               offsetof(JournalFields, priority) },
        { "_PID",                   offsetof(JournalFields, pid) },
        { "_SYSTEMD_UNIT",          offsetof(JournalFields, systemd_unit) },
        { "_SYSTEMD_INVOCATION_ID", offsetof(JournalFields, systemd_invocation_id) },
        { "UNIT",                   offsetof(JournalFields, unit) },
        { "INVOCATION_ID",          offsetof(JournalFields, invocation_id) },
        { "UNIT_RESULT",            offsetof(JournalFields, unit_result) },
        { "JOB_RESULT",             offsetof(JournalFields, job_result) },
        { "N_RESTARTS",             offsetof(JournalFields, n_restarts) },
        { "EXIT_CODE",              offsetof(JournalFields, exit_code) },
        { "EXIT_STATUS",            offsetof(JournalFields, exit_status) },
        { JOURNAL_FIELD_HEALTH,     offsetof(JournalFields, health) },
        { "MESSAGE",                offsetof(JournalFields, message) },
};

int journal_fields_add(JournalFields *f, const void *data, size_t len) {
        const char *d = data, *eq;

        assert_return(f, -EINVAL);
        assert_return(data || len == 0, -EINVAL);

        eq = memchr(d, '=', len);
        if (!eq || eq == d)
                return -EINVAL;

        for (size_t i = 0; i < ELEMENTSOF(field_table); i++) {
                size_t nl = strlen(field_table[i].name);
                char **slot;

                if ((size_t) (eq - d) != nl || memcmp(d, field_table[i].name, nl) != 0)
                        continue;

                slot = (char **) ((uint8_t *) f + field_table[i].offset);
                if (*slot)
                        return 0;
                /* Binary values (an embedded NUL) are not text we could compare: leave the field absent. */
                if (memchr(eq + 1, 0, len - nl - 1))
                        return 0;
                *slot = strndup(eq + 1, len - nl - 1);
                if (!*slot)
                        return -ENOMEM;
                return 1;
        }

        return 0;
}

void journal_fields_done(JournalFields *f) {
        if (!f)
                return;
        for (size_t i = 0; i < ELEMENTSOF(field_table); i++) {
                char **slot = (char **) ((uint8_t *) f + field_table[i].offset);
                *slot = mfree(*slot);
        }
}

static bool agent_char_ok(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                c == '_' || c == '.' || c == '-';
}

int journal_agent_from_unit(const char *unit, char ret[static AGENT_NAME_MAX + 1]) {
        static const char prefix[] = "unified-", suffix[] = ".service";
        size_t l, n;

        if (!unit)
                return -EINVAL;

        l = strlen(unit);
        if (l <= strlen(prefix) + strlen(suffix) || !strneq(unit, prefix, strlen(prefix)) ||
            !streq(unit + l - strlen(suffix), suffix))
                return -EINVAL;

        n = l - strlen(prefix) - strlen(suffix);
        if (n > AGENT_NAME_MAX)
                return -EINVAL;
        for (size_t i = 0; i < n; i++)
                if (!agent_char_ok(unit[strlen(prefix) + i]))
                        return -EINVAL;

        memcpy(ret, unit + strlen(prefix), n);
        ret[n] = '\0';
        return 0;
}

static int parse_priority(const char *s) {
        uint64_t u;

        if (!s || safe_atou64(s, &u) < 0 || u > LOG_DEBUG)
                return -1;
        return (int) u;
}

static sd_id128_t parse_id(const char *s) {
        sd_id128_t id;

        if (!s || sd_id128_from_string(s, &id) < 0)
                return SD_ID128_NULL;
        return id;
}

static bool message_is_watchdog(const char *message, const char *unit) {
        const char *m = message;
        size_t l;

        if (!m)
                return false;

        /* PID 1 prefixes unit messages with "<unit>: ". */
        l = strlen(unit);
        if (strneq(m, unit, l) && m[l] == ':' && m[l + 1] == ' ')
                m += l + 2;

        return strneq(m, "Watchdog timeout", strlen("Watchdog timeout"));
}

static void classify_manager(const JournalFields *f, JournalEvent *ev) {
        const char *id = f->message_id;

        ev->from_manager = true;
        ev->invocation = parse_id(f->invocation_id);

        if (id && streq(id, JOURNAL_MESSAGE_UNIT_FAILURE_RESULT)) {
                FailureKind k = failure_kind_from_unit_result(f->unit_result);

                if (k >= 0) {
                        ev->type = JOURNAL_EVENT_UNIT_FAILED;
                        ev->failure = k;
                }
        } else if (id && (streq(id, JOURNAL_MESSAGE_UNIT_OUT_OF_MEMORY) || streq(id, JOURNAL_MESSAGE_UNIT_OOMD_KILL))) {
                ev->type = JOURNAL_EVENT_OOM_KILL;
                ev->failure = FAILURE_OOM_KILL;
        } else if (id && streq(id, JOURNAL_MESSAGE_UNIT_RESTART_SCHEDULED)) {
                uint64_t n;

                ev->type = JOURNAL_EVENT_RESTART_SCHEDULED;
                if (f->n_restarts && safe_atou64(f->n_restarts, &n) >= 0)
                        ev->n_restarts = (unsigned) MIN(n, (uint64_t) UINT32_MAX);
        } else if (id && streq(id, JOURNAL_MESSAGE_UNIT_PROCESS_EXIT))
                ev->type = JOURNAL_EVENT_PROCESS_EXIT;
        else if (id && streq(id, JOURNAL_MESSAGE_UNIT_STARTED))
                ev->type = JOURNAL_EVENT_STARTED;
        else if (id && streq(id, JOURNAL_MESSAGE_UNIT_FAILED)) {
                /* A failed start job: only "dependency" says something the unit's own failure does not. */
                if (f->job_result && streq(f->job_result, "dependency"))
                        ev->type = JOURNAL_EVENT_DEPENDENCY_FAILED;
        } else if (!id && message_is_watchdog(f->message, f->unit)) {
                ev->type = JOURNAL_EVENT_WATCHDOG;
                ev->failure = FAILURE_WATCHDOG;
        }
}

static void classify_agent(const JournalFields *f, JournalEvent *ev) {
        ev->invocation = parse_id(f->systemd_invocation_id);
        ev->error = ev->priority >= 0 && ev->priority <= LOG_ERR;

        if (f->health) {
                HealthReport r = health_report_from_string(f->health);

                if (r >= 0) {
                        ev->type = JOURNAL_EVENT_HEALTH_REPORT;
                        ev->report = r;
                        return;
                }
        }

        if (ev->error)
                ev->type = JOURNAL_EVENT_ERROR_LINE;
}

int journal_classify(const JournalFields *f, JournalEvent *ret) {
        JournalEvent ev = {
                .type = JOURNAL_EVENT_NONE,
                .failure = _FAILURE_KIND_INVALID,
                .report = HEALTH_REPORT_NONE,
                .priority = -1,
        };

        if (!f || !ret)
                return 0;

        ev.priority = parse_priority(f->priority);

        if (f->pid && streq(f->pid, "1")) {
                /* PID 1 about a unit. Its own lines carry _SYSTEMD_UNIT=init.scope, never ours. */
                if (journal_agent_from_unit(f->unit, ev.agent) < 0)
                        return 0;
                classify_manager(f, &ev);
        } else {
                if (journal_agent_from_unit(f->systemd_unit, ev.agent) < 0)
                        return 0;
                classify_agent(f, &ev);
        }

        *ret = ev;
        return 1;
}
