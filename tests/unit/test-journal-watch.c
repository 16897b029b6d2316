/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Tests for journal-watch against real journal files: the recorded export files are turned into
 * .journal files by systemd-journal-remote in a temporary directory that the watch follows from an
 * sd-event loop (inotify), as the daemon follows the system journal. Skipped if systemd-journal-remote
 * is not installed ($UNIFIED_JOURNAL_REMOTE overrides where it is looked for). */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <cmocka.h>

/* Case names and values go to stderr: stdout is TAP for meson. */
#define log_case(...) fprintf(stderr, __VA_ARGS__)

#include "journal-watch.h"
#include "strv.h"

static const char *journal_remote(void) {
        static const char * const paths[] = {
                "/lib/systemd/systemd-journal-remote",
                "/usr/lib/systemd/systemd-journal-remote",
        };
        const char *e = getenv("UNIFIED_JOURNAL_REMOTE");

        if (e)
                return access(e, X_OK) == 0 ? e : NULL;
        for (size_t i = 0; i < ELEMENTSOF(paths); i++)
                if (access(paths[i], X_OK) == 0)
                        return paths[i];
        return NULL;
}

/* Converts the export file "input" into dir/<out>.journal. The file is written next to "dir" and renamed
 * into it: journal files are written through mmap(), which inotify does not see, so a reader could
 * otherwise catch a half-written file and miss the rest (journald itself signals each change with an
 * ftruncate(), systemd-journal-remote writing a file does not). */
static void write_journal_from(const char *dir, const char *input, const char *out) {
        char *output = NULL, *staged = NULL, *final = NULL;
        pid_t pid;
        int status;

        assert_true(asprintf(&staged, "%s.%s.journal", dir, out) > 0);
        assert_true(asprintf(&final, "%s/%s.journal", dir, out) > 0);
        assert_true(asprintf(&output, "--output=%s", staged) > 0);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                execl(journal_remote(), "systemd-journal-remote", output, input, (char *) NULL);
                _exit(127);
        }
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        assert_int_equal(rename(staged, final), 0);
        free(output);
        free(staged);
        free(final);
}

/* Writes the recorded export file "name" into dir/<out>.journal. */
static void write_journal(const char *dir, const char *name, const char *out) {
        char *input = NULL;

        assert_true(asprintf(&input, "%s/journal/%s", getenv("UNIFIED_TEST_DATA"), name) > 0);
        write_journal_from(dir, input, out);
        free(input);
}

typedef struct Seen {
        char **events;                  /* "type agent" */
} Seen;

static int on_event(JournalWatch *w, const JournalEvent *ev, usec_t realtime, void *userdata) {
        Seen *s = userdata;
        char *line = NULL;

        assert_true(realtime > 1700000000ULL * USEC_PER_SEC); /* the recorded timestamps, not "now" */
        assert_true(asprintf(&line, "%s %s", journal_event_type_to_string(ev->type), ev->agent) > 0);
        assert_int_equal(strv_consume(&s->events, line), 0);
        return 0;
}

/* Dispatches events until "want" were seen; gives up after 10 s (a safety net: each iteration sleeps
 * in epoll until the journal's inotify fd wakes it). */
static void run_until(sd_event *e, Seen *s, size_t want) {
        usec_t deadline = now(CLOCK_MONOTONIC) + 10 * USEC_PER_SEC;

        while (strv_length(s->events) < want) {
                if (now(CLOCK_MONOTONIC) >= deadline)
                        log_case("timed out with %zu of %zu events\n", strv_length(s->events), want);
                assert_true(now(CLOCK_MONOTONIC) < deadline);
                assert_true(sd_event_run(e, 100 * USEC_PER_MSEC) >= 0);
        }
}

/* Lets the loop run for a short while to show that nothing else arrives. */
static void run_idle(sd_event *e) {
        for (unsigned i = 0; i < 20; i++)
                assert_true(sd_event_run(e, 10 * USEC_PER_MSEC) >= 0);
}

static void test_follow(void **state) {
        char dir[] = "/tmp/test-journal-watch.XXXXXX";
        char *agents[] = { (char *) "tutor", (char *) "vision", NULL };
        char *cursor = NULL;
        JournalWatch *w = NULL;
        sd_event *e = NULL;
        Seen s = {};

        if (!journal_remote())
                skip();

        assert_non_null(mkdtemp(dir));
        assert_int_equal(sd_event_new(&e), 0);

        /* History before the first start is not replayed. */
        write_journal(dir, "crash-loop.export", "a");
        assert_int_equal(journal_watch_new(e, dir, on_event, &s, &w), 0);
        assert_int_equal(journal_watch_set_agents(w, agents), 0);
        assert_int_equal(journal_watch_start(w, NULL), 0);
        assert_non_null(journal_watch_get_cursor(w)); /* the tail position, persistable at once */
        run_idle(e);
        assert_int_equal(strv_length(s.events), 0);

        /* A new journal file appears: its entries about our agents arrive through inotify. The kernel's
         * own OOM line is not matched at all. */
        write_journal(dir, "oom.export", "b");
        run_until(e, &s, 5);
        run_idle(e);
        {
                char *j = strv_join(s.events, "|");
                log_case("%s\n", j);
                assert_string_equal(j, "none vision|oom-kill vision|process-exit vision|unit-failed vision|none vision");
                free(j);
        }
        assert_int_equal(journal_watch_get_n_delivered(w), 5);

        /* Daemon restart: a new watch from the persisted cursor delivers only what came after it. */
        cursor = strdup(journal_watch_get_cursor(w));
        journal_watch_free(w);
        s.events = strv_free(s.events);
        write_journal(dir, "watchdog.export", "c");     /* planner is not an agent of ours here */
        write_journal(dir, "agent-lines.export", "d");  /* written while no daemon ran */

        assert_int_equal(journal_watch_new(e, dir, on_event, &s, &w), 0);
        assert_int_equal(journal_watch_set_agents(w, agents), 0);
        assert_int_equal(journal_watch_start(w, cursor), 0);
        run_until(e, &s, 9);
        run_idle(e);
        {
                char *j = strv_join(s.events, "|");
                log_case("%s\n", j);
                /* agent-lines.export: 7 lines of tutor in unified.slice, PID 1's exec-condition skip and
                 * the failed dependency; the forgery is tutor's own line; the other units do not match. */
                assert_string_equal(j, "none tutor|error-line tutor|health-report tutor|health-report tutor|"
                                       "none tutor|none tutor|health-report tutor|none tutor|dependency-failed tutor");
                free(j);
        }

        /* A changed agent set keeps the position: nothing is delivered twice. */
        s.events = strv_free(s.events);
        char *more[] = { (char *) "tutor", (char *) "vision", (char *) "planner", NULL };
        assert_int_equal(journal_watch_set_agents(w, more), 0);
        run_idle(e);
        assert_int_equal(strv_length(s.events), 0);
        assert_int_equal(journal_watch_set_agents(w, (char *[]) { (char *) "bad name", NULL }), -EINVAL);

        journal_watch_free(w);
        sd_event_unref(e);
        strv_free(s.events);
        free(cursor);
        {
                char *cmd = NULL;
                assert_true(asprintf(&cmd, "rm -rf %s", dir) > 0);
                assert_int_equal(system(cmd), 0);
                free(cmd);
        }
}

static void test_stale_cursor(void **state) {
        char dir[] = "/tmp/test-journal-watch.XXXXXX";
        char *agents[] = { (char *) "planner", NULL };
        JournalWatch *w = NULL;
        sd_event *e = NULL;
        Seen s = {};

        if (!journal_remote())
                skip();

        assert_non_null(mkdtemp(dir));
        assert_int_equal(sd_event_new(&e), 0);
        write_journal(dir, "watchdog.export", "a");

        /* A cursor from a journal that no longer exists: start at the end, like a first start. */
        assert_int_equal(journal_watch_new(e, dir, on_event, &s, &w), 0);
        assert_int_equal(journal_watch_set_agents(w, agents), 0);
        assert_int_equal(journal_watch_start(w, "s=0123;i=1;b=0;m=0;t=0;x=0"), 0);
        run_idle(e);
        assert_int_equal(strv_length(s.events), 0);
        assert_int_equal(journal_watch_start(w, NULL), -EBUSY);

        journal_watch_free(w);
        sd_event_unref(e);
        {
                char *cmd = NULL;
                assert_true(asprintf(&cmd, "rm -rf %s", dir) > 0);
                assert_int_equal(system(cmd), 0);
                free(cmd);
        }
}

static void test_flood(void **state) {
        /* A first start on a journal with nothing of ours yet, then a burst of more entries than one
         * dispatch handles (JOURNAL_WATCH_BATCH): all arrive, in order, none skipped. */
        char dir[] = "/tmp/test-journal-watch.XXXXXX";
        char *agents[] = { (char *) "chatty", NULL };
        const unsigned n = 3 * JOURNAL_WATCH_BATCH + 7;
        char *input = NULL;
        JournalWatch *w = NULL;
        sd_event *e = NULL;
        Seen s = {};
        FILE *f;

        if (!journal_remote())
                skip();

        assert_non_null(mkdtemp(dir));
        assert_true(asprintf(&input, "%s/flood.export", dir) > 0);
        f = fopen(input, "we");
        assert_non_null(f);
        for (unsigned i = 0; i < n; i++)
                fprintf(f,
                        "__REALTIME_TIMESTAMP=%llu\n__MONOTONIC_TIMESTAMP=%u\n"
                        "_BOOT_ID=6a1c3e1f0b2d4e8f9a7b5c3d1e0f2a4b\n_PID=777\n_TRANSPORT=journal\n"
                        "_SYSTEMD_UNIT=unified-chatty.service\n_SYSTEMD_SLICE=unified.slice\n"
                        "_SYSTEMD_INVOCATION_ID=d6a4f5e7b8c94a1b22ddeeff00112234\n"
                        "PRIORITY=%u\nMESSAGE=line %u\n\n",
                        1764208800000000ULL + i, 1000000 + i, i % 2 ? 3 : 6, i);
        assert_int_equal(fclose(f), 0);

        assert_int_equal(sd_event_new(&e), 0);
        assert_int_equal(journal_watch_new(e, dir, on_event, &s, &w), 0);
        assert_int_equal(journal_watch_set_agents(w, agents), 0);
        assert_int_equal(journal_watch_start(w, NULL), 0);
        write_journal_from(dir, input, "flood");
        run_until(e, &s, n);
        run_idle(e);
        assert_int_equal(strv_length(s.events), n);
        for (unsigned i = 0; i < n; i++)
                assert_string_equal(s.events[i], i % 2 ? "error-line chatty" : "none chatty");

        journal_watch_free(w);
        sd_event_unref(e);
        strv_free(s.events);
        free(input);
        {
                char *cmd = NULL;
                assert_true(asprintf(&cmd, "rm -rf %s", dir) > 0);
                assert_int_equal(system(cmd), 0);
                free(cmd);
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_follow),
                cmocka_unit_test(test_stale_cursor),
                cmocka_unit_test(test_flood),
        };

        /* cmocka reports a skipped case as "not ok # SKIP", which TAP consumers count as a failure:
         * without the journal writer, skip the whole file the TAP way instead. */
        if (!journal_remote()) {
                printf("1..0 # SKIP systemd-journal-remote is not installed\n");
                return 0;
        }

        cmocka_set_message_output(CM_OUTPUT_TAP);
        return cmocka_run_group_tests(tests, NULL, NULL);
}
