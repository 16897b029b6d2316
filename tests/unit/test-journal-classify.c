/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Tests for journal entry classification, on entries in journalctl's export format under
 * $UNIFIED_TEST_DATA/journal. */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

/* Case names and values go to stderr: stdout is TAP for meson. */
#define log_case(...) fprintf(stderr, __VA_ARGS__)

#include "journal-classify.h"

/* Reads the export-format file "name" and returns its entries as filled JournalFields. Text fields are
 * "FIELD=value\n"; binary ones "FIELD\n" + le64 size + data + "\n"; entries end with an empty line. */
static size_t load_entries(const char *name, JournalFields **ret) {
        const char *dir = getenv("UNIFIED_TEST_DATA");
        char *path = NULL, *buf = NULL;
        JournalFields *entries = NULL;
        size_t n = 0, size = 0, i = 0;
        FILE *f;

        assert_non_null(dir);
        assert_true(asprintf(&path, "%s/journal/%s", dir, name) > 0);
        f = fopen(path, "re");
        assert_non_null(f);
        buf = malloc(1 << 20);
        size = fread(buf, 1, 1 << 20, f);
        assert_true(size > 0 && size < (1 << 20));
        fclose(f);

        entries = calloc(1, sizeof(JournalFields));
        while (i < size) {
                char *nl = memchr(buf + i, '\n', size - i);
                size_t l;

                assert_non_null(nl);
                l = nl - (buf + i);
                if (l == 0) {
                        /* end of entry */
                        n++;
                        entries = realloc(entries, (n + 1) * sizeof(JournalFields));
                        entries[n] = (JournalFields) {};
                        i++;
                        continue;
                }
                if (memchr(buf + i, '=', l)) {
                        assert_true(journal_fields_add(&entries[n], buf + i, l) >= 0);
                        i += l + 1;
                } else {
                        /* binary: name, newline, le64 size, data, newline */
                        uint64_t dl = 0;
                        char *datum;

                        assert_true(nl + 1 + 8 <= buf + size);
                        for (int b = 7; b >= 0; b--)
                                dl = (dl << 8) | (uint8_t) nl[1 + b];
                        assert_true(nl + 1 + 8 + dl + 1 <= buf + size);
                        datum = malloc(l + 1 + dl);
                        memcpy(datum, buf + i, l);
                        datum[l] = '=';
                        memcpy(datum + l + 1, nl + 1 + 8, dl);
                        assert_true(journal_fields_add(&entries[n], datum, l + 1 + dl) >= 0);
                        free(datum);
                        i = (nl + 1 + 8 + dl + 1) - buf;
                }
        }

        free(buf);
        free(path);
        *ret = entries;
        return n;
}

static void free_entries(JournalFields *e, size_t n) {
        for (size_t i = 0; i <= n; i++)
                journal_fields_done(&e[i]);
        free(e);
}

typedef struct Expected {
        int r;                          /* 1: ours, 0: not ours */
        JournalEventType type;
        const char *agent;
        bool from_manager;
        FailureKind failure;
        HealthReport report;
        unsigned n_restarts;
        int priority;
        bool error;
        const char *invocation;         /* NULL: null ID */
} Expected;

#define NOT_OURS { 0 }
#define MGR(type_, agent_, failure_, nr, prio, inv) \
        { 1, JOURNAL_EVENT_##type_, (agent_), true, (failure_), HEALTH_REPORT_NONE, (nr), (prio), false, (inv) }
#define AGENT(type_, agent_, report_, prio, err, inv) \
        { 1, JOURNAL_EVENT_##type_, (agent_), false, _FAILURE_KIND_INVALID, (report_), 0, (prio), (err), (inv) }

#define INV1 "a3f1c2d4e5b6478899aabbccddeeff01"
#define INV2 "b4e2d3c5f6a7489900bbccddeeff0012"
#define INV3 "c5f3e4d6a7b8490a11ccddeeff001123"
#define INV4 "d6a4f5e7b8c94a1b22ddeeff00112234"
#define NOFAIL _FAILURE_KIND_INVALID

static void check_file(const char *name, const Expected *expected, size_t n_expected) {
        JournalFields *entries;
        size_t n = load_entries(name, &entries);

        assert_int_equal(n, n_expected);
        for (size_t i = 0; i < n; i++) {
                const Expected *x = &expected[i];
                JournalEvent ev = { .type = 4242 };
                char inv[SD_ID128_STRING_MAX];
                int r;

                r = journal_classify(&entries[i], &ev);
                log_case("%s #%zu: r=%d %s agent=%s failure=%s\n", name, i, r,
                              r > 0 ? journal_event_type_to_string(ev.type) : "-", r > 0 ? ev.agent : "-",
                              r > 0 ? strna(failure_kind_to_string(ev.failure)) : "-");
                assert_int_equal(r, x->r);
                if (r == 0) {
                        assert_int_equal(ev.type, 4242); /* untouched */
                        continue;
                }
                assert_string_equal(journal_event_type_to_string(ev.type), journal_event_type_to_string(x->type));
                assert_string_equal(ev.agent, x->agent);
                assert_int_equal(ev.from_manager, x->from_manager);
                assert_int_equal(ev.failure, x->failure);
                assert_int_equal(ev.report, x->report);
                assert_int_equal(ev.n_restarts, x->n_restarts);
                assert_int_equal(ev.priority, x->priority);
                assert_int_equal(ev.error, x->error);
                if (x->invocation)
                        assert_string_equal(sd_id128_to_string(ev.invocation, inv), x->invocation);
                else
                        assert_true(sd_id128_is_null(ev.invocation));
        }
        free_entries(entries, n);
}

static void test_crash_loop(void **state) {
        static const Expected expected[] = {
                MGR(PROCESS_EXIT, "tutor", NOFAIL, 0, 5, INV1),
                MGR(UNIT_FAILED, "tutor", FAILURE_EXIT_CODE, 0, 4, INV1),
                MGR(RESTART_SCHEDULED, "tutor", NOFAIL, 1, 6, INV1),
                MGR(NONE, "tutor", NOFAIL, 0, 6, INV1),         /* Stopped (restart job) */
                MGR(NONE, "tutor", NOFAIL, 0, 6, INV2),         /* Starting */
                MGR(STARTED, "tutor", NOFAIL, 0, 6, INV2),
                MGR(PROCESS_EXIT, "tutor", NOFAIL, 0, 4, INV2),
                MGR(UNIT_FAILED, "tutor", FAILURE_SIGNAL, 0, 4, INV2),
                MGR(RESTART_SCHEDULED, "tutor", NOFAIL, 2, 6, INV2),
                MGR(NONE, "tutor", NOFAIL, 0, 4, INV2),         /* "Start request repeated too quickly." */
                MGR(UNIT_FAILED, "tutor", FAILURE_START_LIMIT_HIT, 0, 4, INV2),
                MGR(NONE, "tutor", NOFAIL, 0, 3, INV2),         /* the start job failed: nothing new */
        };

        check_file("crash-loop.export", expected, ELEMENTSOF(expected));
}

static void test_oom(void **state) {
        static const Expected expected[] = {
                AGENT(NONE, "vision", HEALTH_REPORT_NONE, 6, false, INV3),
                NOT_OURS,                                       /* the kernel's own OOM report */
                MGR(OOM_KILL, "vision", FAILURE_OOM_KILL, 0, 5, INV3),
                MGR(PROCESS_EXIT, "vision", NOFAIL, 0, 4, INV3),
                MGR(UNIT_FAILED, "vision", FAILURE_OOM_KILL, 0, 4, INV3),
                MGR(NONE, "vision", NOFAIL, 0, 6, INV3),        /* resource usage summary */
        };

        check_file("oom.export", expected, ELEMENTSOF(expected));
}

static void test_watchdog(void **state) {
        static const Expected expected[] = {
                MGR(WATCHDOG, "planner", FAILURE_WATCHDOG, 0, 3, INV4),
                MGR(NONE, "planner", NOFAIL, 0, 5, INV4),
                MGR(PROCESS_EXIT, "planner", NOFAIL, 0, 4, INV4),
                MGR(UNIT_FAILED, "planner", FAILURE_WATCHDOG, 0, 4, INV4),
        };

        check_file("watchdog.export", expected, ELEMENTSOF(expected));
}

static void test_agent_lines(void **state) {
        static const Expected expected[] = {
                AGENT(NONE, "tutor", HEALTH_REPORT_NONE, 6, false, INV2),
                AGENT(ERROR_LINE, "tutor", HEALTH_REPORT_NONE, 3, true, INV2),
                AGENT(HEALTH_REPORT, "tutor", HEALTH_REPORT_DEGRADED, 4, false, INV2),
                AGENT(HEALTH_REPORT, "tutor", HEALTH_REPORT_FAILING, 3, true, INV2),
                AGENT(NONE, "tutor", HEALTH_REPORT_NONE, 6, false, INV2),      /* UNIFIED_HEALTH=bogus */
                /* The forgery is an ordinary line of the agent that wrote it, not a failure of "vision". */
                AGENT(NONE, "tutor", HEALTH_REPORT_NONE, 4, false, INV2),
                AGENT(HEALTH_REPORT, "tutor", HEALTH_REPORT_OK, 6, false, INV2), /* binary MESSAGE */
                NOT_OURS,                                       /* unified@tutoring.service */
                NOT_OURS,                                       /* unified.service */
                NOT_OURS,                                       /* unified-tutor.socket */
                NOT_OURS,                                       /* ssh.service */
                MGR(NONE, "tutor", NOFAIL, 0, 4, INV1),         /* exec-condition: a skip */
                MGR(DEPENDENCY_FAILED, "tutor", NOFAIL, 0, 3, INV1),
        };

        check_file("agent-lines.export", expected, ELEMENTSOF(expected));
}

static void test_fields_add(void **state) {
        JournalFields f = {};

        assert_int_equal(journal_fields_add(&f, "PRIORITY=3", 10), 1);
        assert_int_equal(journal_fields_add(&f, "PRIORITY=7", 10), 0);  /* first value wins */
        assert_string_equal(f.priority, "3");
        assert_int_equal(journal_fields_add(&f, "PRIORITY_X=1", 12), 0);
        assert_int_equal(journal_fields_add(&f, "_PID", 4), -EINVAL);
        assert_int_equal(journal_fields_add(&f, "=x", 2), -EINVAL);
        assert_int_equal(journal_fields_add(&f, "MESSAGE=a\0b", 11), 0); /* binary: left absent */
        assert_null(f.message);
        /* Not NUL-terminated input: only "len" bytes are read. */
        assert_int_equal(journal_fields_add(&f, "UNIT=unified-a.serviceGARBAGE", 22), 1);
        assert_string_equal(f.unit, "unified-a.service");
        assert_int_equal(journal_fields_add(&f, "UNIFIED_HEALTH=", 15), 1);
        assert_string_equal(f.health, "");
        journal_fields_done(&f);
        assert_null(f.priority);
        assert_null(f.unit);
        journal_fields_done(NULL);
}

static void test_agent_from_unit(void **state) {
        static const struct {
                const char *unit;
                const char *agent;
        } cases[] = {
                { "unified-tutor.service", "tutor" },
                { "unified-a.service", "a" },
                { "unified-vision_2.v1-x.service", "vision_2.v1-x" },
                { "unified-.service", NULL },
                { "unified-tutor.socket", NULL },
                { "unified@tutoring.service", NULL },
                { "unified.service", NULL },
                { "unified-tu tor.service", NULL },
                { "unified-tu\\x2dtor.service", NULL },
                { "xunified-tutor.service", NULL },
                { "unified-tutor.service.d", NULL },
                { "unified-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.service", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" },
                { "unified-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.service", NULL },
                { "", NULL },
                { NULL, NULL },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                char agent[AGENT_NAME_MAX + 1] = "untouched";
                int r = journal_agent_from_unit(cases[i].unit, agent);

                log_case("%s\n", strna(cases[i].unit));
                if (cases[i].agent) {
                        assert_int_equal(r, 0);
                        assert_string_equal(agent, cases[i].agent);
                } else {
                        assert_int_equal(r, -EINVAL);
                        assert_string_equal(agent, "untouched");
                }
        }
}

static void test_odd_fields(void **state) {
        /* PID 1 with odd values: an unparsable priority or invocation is treated as absent. */
        JournalFields f = {
                .pid = (char *) "1",
                .unit = (char *) "unified-x.service",
                .priority = (char *) "high",
                .invocation_id = (char *) "not-an-id",
                .message_id = (char *) JOURNAL_MESSAGE_UNIT_RESTART_SCHEDULED,
                .n_restarts = (char *) "many",
        };
        JournalEvent ev;

        assert_int_equal(journal_classify(&f, &ev), 1);
        assert_int_equal(ev.type, JOURNAL_EVENT_RESTART_SCHEDULED);
        assert_int_equal(ev.priority, -1);
        assert_int_equal(ev.n_restarts, 0);
        assert_true(sd_id128_is_null(ev.invocation));

        /* A failure result without UNIT_RESULT says nothing we can count. */
        f.message_id = (char *) JOURNAL_MESSAGE_UNIT_FAILURE_RESULT;
        assert_int_equal(journal_classify(&f, &ev), 1);
        assert_int_equal(ev.type, JOURNAL_EVENT_NONE);

        /* Nothing at all. */
        JournalFields empty = {};
        assert_int_equal(journal_classify(&empty, &ev), 0);
        assert_int_equal(journal_classify(NULL, &ev), 0);
}

static void test_strings(void **state) {
        for (JournalEventType t = 0; t < _JOURNAL_EVENT_TYPE_MAX; t++)
                assert_int_equal(journal_event_type_from_string(journal_event_type_to_string(t)), t);
        assert_int_equal(journal_event_type_from_string("nope"), _JOURNAL_EVENT_TYPE_INVALID);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_crash_loop),
                cmocka_unit_test(test_oom),
                cmocka_unit_test(test_watchdog),
                cmocka_unit_test(test_agent_lines),
                cmocka_unit_test(test_fields_add),
                cmocka_unit_test(test_agent_from_unit),
                cmocka_unit_test(test_odd_fields),
                cmocka_unit_test(test_strings),
        };

        cmocka_set_message_output(CM_OUTPUT_TAP);
        return cmocka_run_group_tests(tests, NULL, NULL);
}
