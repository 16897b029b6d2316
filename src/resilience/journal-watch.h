/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Follows the journal inside the daemon's sd-event loop (the journal's inotify fd, never a timer loop),
 * restricted to our agents: their own lines (_SYSTEMD_SLICE=unified.slice) and PID 1's messages about
 * the units of the agents named with journal_watch_set_agents() (the journal is matched on _PID=1,
 * the UNIT= field is checked in journal-watch.c: see add_matches() there). Each entry about an agent
 * is classified (journal-classify) and handed to a callback.
 *
 * Position: on the first start the watch begins at the end of the journal (history is not replayed);
 * after a daemon restart it resumes right after the cursor the previous instance persisted, so no
 * entry is lost or delivered twice.
 *
 * How the daemon integrates it:
 *
 *     static int on_journal_event(JournalWatch *w, const JournalEvent *ev, usec_t realtime, void *userdata) {
 *             Manager *m = userdata;  AgentRuntime *a = manager_find_agent(m, ev->agent);
 *             if (!a) return 0;
 *             ... see journal-classify.h for what to do per ev->type ...
 *             return 0;
 *     }
 *
 *     journal_watch_new(m->event, NULL, on_journal_event, m, &m->journal);   (NULL: the local journal)
 *     journal_watch_set_agents(m->journal, names_of_active_agents);          (again whenever they change)
 *     journal_watch_start(m->journal, cursor_from_run_unified_or_NULL);
 *     ... on persisting state (e.g. after each batch, or with the breaker states):
 *     write journal_watch_get_cursor(m->journal) to /run/unified/journal-cursor
 */

#include <systemd/sd-event.h>

#include "journal-classify.h"
#include "macro.h"
#include "time-util.h"

/* Entries handled per dispatch before yielding to the rest of the loop (a flooding agent must not
 * starve D-Bus). The remainder is picked up by a defer source right after. */
#define JOURNAL_WATCH_BATCH 256U

typedef struct JournalWatch JournalWatch;

/* "realtime" is the entry's __REALTIME_TIMESTAMP (CLOCK_REALTIME), for latency measurements. A negative
 * return is logged by the watch and otherwise ignored: one bad entry does not stop the watch. */
typedef int (*JournalWatchHandler)(JournalWatch *w, const JournalEvent *ev, usec_t realtime, void *userdata);

/* "directory" NULL opens the local journal (all files, so that agents running under a regular
 * sandbox.user are seen too); a path opens only that directory (the tests). */
int journal_watch_new(sd_event *e, const char *directory, JournalWatchHandler handler, void *userdata,
                      JournalWatch **ret);
JournalWatch *journal_watch_free(JournalWatch *w);
DEFINE_TRIVIAL_CLEANUP_FUNC(JournalWatch *, journal_watch_free);

/* The agents whose units PID 1's messages are delivered for (names, not unit names); the position is
 * kept. May be called before or after journal_watch_start(). -EINVAL for an invalid name. */
int journal_watch_set_agents(JournalWatch *w, char * const *agents);

/* Starts following: after "cursor" if given (entries after it are delivered, the one it names is not),
 * else at the end. An unknown or malformed cursor falls back to the end (-ESTALE is not returned:
 * a rotated-away cursor is normal after a long downtime); the return value is 0 or a negative errno
 * from sd-journal / sd-event. Entries already waiting are delivered from the event loop, not from here. */
int journal_watch_start(JournalWatch *w, const char *cursor);

/* The cursor of the last entry looked at (delivered or filtered out), NULL before the first; valid
 * until the next dispatch. */
const char *journal_watch_get_cursor(const JournalWatch *w);

/* Entries delivered to the handler so far. */
uint64_t journal_watch_get_n_delivered(const JournalWatch *w);
