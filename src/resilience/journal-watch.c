/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Follows the journal inside sd-event and hands classified entries about our agents to a callback. */

#include <stdio.h>
#include <systemd/sd-journal.h>

#include "journal-watch.h"
#include "log.h"
#include "strv.h"

#define AGENT_SLICE "unified.slice"

struct JournalWatch {
        sd_event *event;
        sd_journal *journal;
        sd_event_source *io;
        sd_event_source *timeout;       /* only if sd-journal asks for one (no inotify, e.g. NFS) */
        sd_event_source *defer;         /* continues a batch that hit JOURNAL_WATCH_BATCH */

        JournalWatchHandler handler;
        void *userdata;

        char **agents;
        char *cursor;
        bool started;
        bool current_pending;           /* the entry we are on was not delivered yet */
        uint64_t n_delivered;
};

JournalWatch *journal_watch_free(JournalWatch *w) {
        if (!w)
                return NULL;

        sd_event_source_disable_unref(w->io);
        sd_event_source_disable_unref(w->timeout);
        sd_event_source_disable_unref(w->defer);
        sd_journal_close(w->journal);
        sd_event_unref(w->event);
        strv_free(w->agents);
        free(w->cursor);
        return mfree(w);
}

/* The matches never change: the agents' own lines, and everything PID 1 says. PID 1's messages about a
 * unit name it in UNIT=, but matching one UNIT= term per agent made every seek and every next() bisect
 * one entry array chain per agent, and kept a few pages of the journal resident per agent (1.5 MiB with
 * 77 agents); PID 1 says little outside our own start-ups, so its other lines are read and dropped in
 * deliver_current() instead. */
static int add_matches(JournalWatch *w) {
        int r;

        r = sd_journal_add_match(w->journal, "_SYSTEMD_SLICE=" AGENT_SLICE, 0);
        if (r < 0)
                return r;
        r = sd_journal_add_disjunction(w->journal);
        if (r < 0)
                return r;
        return sd_journal_add_match(w->journal, "_PID=1", 0);
}

static int remember_cursor(JournalWatch *w) {
        char *c = NULL;
        int r;

        r = sd_journal_get_cursor(w->journal, &c);
        if (r < 0)
                return r;
        free(w->cursor);
        w->cursor = c;
        return 0;
}

/* Positions the journal so that sd_journal_next() returns the first entry after "cursor" (if it is still
 * there), or the first entry after the current end. */
static int seek(JournalWatch *w, const char *cursor) {
        int r;

        w->current_pending = false;

        if (cursor && sd_journal_seek_cursor(w->journal, cursor) >= 0) {
                r = sd_journal_next(w->journal);
                if (r < 0)
                        return r;
                if (r == 0)
                        return 0; /* nothing at or after it yet */
                if (sd_journal_test_cursor(w->journal, cursor) > 0)
                        return 0; /* on the entry we already had: next() moves past it */
                /* The cursor's entry is gone (rotated, or one our matches do not select): we are on
                 * the first one after it, which was not delivered yet. */
                w->current_pending = true;
                return 0;
        }

        r = sd_journal_seek_tail(w->journal);
        if (r < 0)
                return r;
        /* After seek_tail() the position is "after the end"; previous() puts it on the last entry so that
         * next() returns only what arrives later. Its cursor is the position to persist even before
         * anything is delivered, so that a restart right now resumes here rather than at a later end. */
        r = sd_journal_previous(w->journal);
        if (r < 0)
                return r;
        if (r == 0)
                /* Nothing matches yet (a first start): "the end" is the beginning. From the tail
                 * position itself sd-journal's next() would jump to the last entry of a burst that
                 * arrives at once, skipping the rest. */
                return sd_journal_seek_head(w->journal);
        return remember_cursor(w);
}

static int deliver_current(JournalWatch *w) {
        JournalFields f = {};
        JournalEvent ev;
        const void *data;
        size_t len;
        uint64_t realtime = 0;
        bool from_pid1;
        int r;

        r = remember_cursor(w);
        if (r < 0)
                return r;

        SD_JOURNAL_FOREACH_DATA(w->journal, data, len) {
                r = journal_fields_add(&f, data, len);
                if (r == -ENOMEM) {
                        journal_fields_done(&f);
                        return r;
                }
        }
        (void) sd_journal_get_realtime_usec(w->journal, &realtime);

        r = journal_classify(&f, &ev);
        /* The agents' own lines all go on; of PID 1's, those about the agents we watch. */
        from_pid1 = streq_ptr(f.pid, "1");
        journal_fields_done(&f);
        if (r <= 0)
                return 0;
        if (from_pid1 && !strv_contains(w->agents, ev.agent))
                return 0;

        w->n_delivered++;
        r = w->handler(w, &ev, realtime, w->userdata);
        if (r < 0)
                log_warning_errno(r, "Failed to handle journal entry about agent %s, ignoring: %m", ev.agent);
        return 0;
}

/* Runs from the event loop, where nobody could act on an error: logs it and waits for the next wake-up. */
static void drain(JournalWatch *w) {
        unsigned n = 0;
        int r;

        r = sd_journal_process(w->journal);
        if (r < 0) {
                log_error_errno(r, "Failed to process journal changes: %m");
                return;
        }

        for (;;) {
                if (n >= JOURNAL_WATCH_BATCH) {
                        /* More may be waiting: continue on the next loop iteration. */
                        r = sd_event_source_set_enabled(w->defer, SD_EVENT_ONESHOT);
                        if (r < 0)
                                log_error_errno(r, "Failed to schedule reading the rest of the journal: %m");
                        return;
                }

                if (w->current_pending)
                        w->current_pending = false;
                else {
                        r = sd_journal_next(w->journal);
                        if (r < 0) {
                                log_error_errno(r, "Failed to read the journal: %m");
                                return;
                        }
                        if (r == 0)
                                return;
                }

                r = deliver_current(w);
                if (r < 0)
                        log_error_errno(r, "Failed to read a journal entry, skipping it: %m");
                n++;
        }
}

static int arm_timeout(JournalWatch *w);

static int on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        JournalWatch *w = userdata;

        drain(w);
        (void) arm_timeout(w);
        return 0;
}

static int on_defer(sd_event_source *s, void *userdata) {
        JournalWatch *w = userdata;

        drain(w);
        return 0;
}

static int on_timeout(sd_event_source *s, usec_t usec, void *userdata) {
        JournalWatch *w = userdata;

        drain(w);
        (void) arm_timeout(w);
        return 0;
}

static int arm_timeout(JournalWatch *w) {
        uint64_t t;
        int r;

        /* sd-journal wants a wake-up only where inotify cannot be trusted; normally (uint64_t) -1. */
        r = sd_journal_get_timeout(w->journal, &t);
        if (r < 0)
                return r;
        if (t == (uint64_t) -1)
                return sd_event_source_set_enabled(w->timeout, SD_EVENT_OFF);

        r = sd_event_source_set_time(w->timeout, t);
        if (r < 0)
                return r;
        return sd_event_source_set_enabled(w->timeout, SD_EVENT_ONESHOT);
}

int journal_watch_new(sd_event *e, const char *directory, JournalWatchHandler handler, void *userdata,
                      JournalWatch **ret) {
        _cleanup_(journal_watch_freep) JournalWatch *w = NULL;
        int r;

        assert_return(e, -EINVAL);
        assert_return(handler, -EINVAL);
        assert_return(ret, -EINVAL);

        w = calloc(1, sizeof(JournalWatch));
        if (!w)
                return -ENOMEM;
        w->event = sd_event_ref(e);
        w->handler = handler;
        w->userdata = userdata;

        if (directory)
                r = sd_journal_open_directory(&w->journal, directory, 0);
        else
                /* All local files, users' too (not SD_JOURNAL_SYSTEM): journald writes the lines of an
                 * agent run as a regular sandbox.user (UID >= 1000) to user-UID.journal. */
                r = sd_journal_open(&w->journal, SD_JOURNAL_LOCAL_ONLY);
        if (r < 0)
                return r;

        r = add_matches(w);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(w);
        return 0;
}

int journal_watch_set_agents(JournalWatch *w, char * const *agents) {
        _cleanup_strv_free_ char **copy = NULL;
        int r;

        assert_return(w, -EINVAL);

        STRV_FOREACH(a, (char **) agents) {
                char unit[sizeof("unified-.service") + AGENT_NAME_MAX + 1], name[AGENT_NAME_MAX + 1];

                if (strlen(*a) > AGENT_NAME_MAX)
                        return -EINVAL;
                (void) snprintf(unit, sizeof(unit), "unified-%s.service", *a);
                if (journal_agent_from_unit(unit, name) < 0)
                        return -EINVAL;
        }

        r = strv_copy(agents, &copy);
        if (r < 0)
                return r;
        strv_free(w->agents);
        w->agents = TAKE_PTR(copy);
        return 0;
}

int journal_watch_start(JournalWatch *w, const char *cursor) {
        int fd, r;

        assert_return(w, -EINVAL);
        assert_return(!w->started, -EBUSY);

        r = seek(w, cursor);
        if (r < 0)
                return r;

        if (cursor && !w->cursor) {
                w->cursor = strdup(cursor);
                if (!w->cursor)
                        return -ENOMEM;
        }

        fd = sd_journal_get_fd(w->journal);
        if (fd < 0)
                return fd;

        r = sd_event_add_io(w->event, &w->io, fd, sd_journal_get_events(w->journal), on_io, w);
        if (r < 0)
                return r;
        (void) sd_event_source_set_description(w->io, "journal-watch");

        r = sd_event_add_time(w->event, &w->timeout, CLOCK_MONOTONIC, UINT64_MAX, 0, on_timeout, w);
        if (r < 0)
                return r;
        (void) sd_event_source_set_enabled(w->timeout, SD_EVENT_OFF);

        r = sd_event_add_defer(w->event, &w->defer, on_defer, w);
        if (r < 0)
                return r;
        /* Entries written between seek() and now, or after the cursor, are delivered on the first
         * iteration of the loop. */
        r = sd_event_source_set_enabled(w->defer, SD_EVENT_ONESHOT);
        if (r < 0)
                return r;

        w->started = true;
        return arm_timeout(w);
}

const char *journal_watch_get_cursor(const JournalWatch *w) {
        return w ? w->cursor : NULL;
}

uint64_t journal_watch_get_n_delivered(const JournalWatch *w) {
        return w ? w->n_delivered : 0;
}
