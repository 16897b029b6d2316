/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* unified-agent: the reference agent. It behaves like a well-mannered agent (readiness, watchdog,
 * structured health logging, optional simulated memory and CPU use, peers, socket activation) and
 * can misbehave on purpose (crash, hang, leak, report unhealthy) so that the supervisor has
 * something real to supervise. docs/writing-agents.md explains the contract it demonstrates. */

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>
#include <systemd/sd-event.h>
#include <systemd/sd-journal.h>

#include "agent-fault.h"
#include "config.h"
#include "log.h"
#include "macro.h"
#include "parse-util.h"
#include "strv.h"
#include "time-util.h"

#define AGENT_SOCKET_DIR "/run/unified/agents"
/* The CPU duty cycle is applied in slices this long, so the event loop never blocks for longer. */
#define CPU_SLICE_USEC (10 * USEC_PER_MSEC)
/* Leaks are allocated in steps this often, so memory grows smoothly towards the limit. */
#define LEAK_STEP_USEC (100 * USEC_PER_MSEC)
#define LEAK_RATE_DEFAULT (10ULL * 1024 * 1024)
#define HEARTBEAT_DEFAULT (60 * USEC_PER_SEC)
#define PEER_TIMEOUT_USEC (10 * USEC_PER_SEC)
/* sd-event coalesces timers within 250ms by default; the watchdog, the duty cycle and the leak need
 * their timing kept. */
#define TIMER_ACCURACY_USEC (1 * USEC_PER_MSEC)

typedef enum Health {
        HEALTH_OK,
        HEALTH_DEGRADED,
        HEALTH_FAILING,
} Health;

static const char *health_to_string(Health h) {
        return h == HEALTH_FAILING ? "failing" : h == HEALTH_DEGRADED ? "degraded" : "ok";
}

typedef struct Chunk {
        void *p;
        size_t size;
} Chunk;

typedef struct Peer {
        struct AgentContext *agent;
        char *name;
        int fd;
        sd_event_source *io;
        sd_event_source *timeout;
        char buf[256];
        size_t n;
} Peer;

typedef struct AgentContext {
        sd_event *event;

        /* Configuration */
        char *role;
        const char *name;               /* $UNIFIED_AGENT, or the role */
        const char *profile;            /* $UNIFIED_PROFILE */
        uint64_t memory;
        uint64_t cpu;                   /* permyriad of one CPU */
        usec_t cpu_since;               /* the duty cycle's accounting: since when, */
        usec_t cpu_used_base;           /* and the thread's CPU time then */
        FaultPlan plan;
        CrashMode crash_mode;
        uint64_t leak_rate;
        char *fault_file;
        usec_t heartbeat;
        usec_t exit_delay;

        /* State */
        bool socket_activated;
        Health health;
        unsigned faults_active;
        bool armed;
        unsigned armed_kinds;
        usec_t armed_since;
        unsigned peers_unreachable;

        sd_event_source *watchdog_timer;
        usec_t watchdog_interval;
        sd_event_source *heartbeat_timer;
        sd_event_source *cpu_timer;
        sd_event_source *leak_timer;
        sd_event_source *fault_timer;
        sd_event_source *fault_watch;
        sd_event_source *exit_timer;
        char *fault_watch_dir;

        void *ballast;
        size_t ballast_size;
        Chunk *leaks;
        size_t n_leaks;
        uint64_t leaked;

        Peer *peers;
        size_t n_peers;
} AgentContext;

/* Structured log entry with the agent's identity fields. Falls back to stderr (through log.h) when
 * there is no journald to talk to, so the agent can be run by hand or in a container. */
static void agent_log(AgentContext *a, int priority, Health *health, const char *format, ...) _printf_(4, 5);
static void agent_log(AgentContext *a, int priority, Health *health, const char *format, ...) {
        char message[1024];
        va_list ap;
        int r;

        va_start(ap, format);
        (void) vsnprintf(message, sizeof(message), format, ap);
        va_end(ap);

        /* sd_journal_send() succeeds silently when there is no journald: check for it ourselves. */
        if (access("/run/systemd/journal/socket", F_OK) < 0)
                r = -errno;
        else if (health)
                r = sd_journal_send("MESSAGE=%s", message,
                                    "PRIORITY=%i", priority,
                                    "SYSLOG_IDENTIFIER=unified-agent",
                                    "UNIFIED_AGENT=%s", a->name,
                                    "UNIFIED_ROLE=%s", a->role,
                                    "UNIFIED_PROFILE=%s", strempty(a->profile),
                                    "UNIFIED_HEALTH=%s", health_to_string(*health),
                                    NULL);
        else
                r = sd_journal_send("MESSAGE=%s", message,
                                    "PRIORITY=%i", priority,
                                    "SYSLOG_IDENTIFIER=unified-agent",
                                    "UNIFIED_AGENT=%s", a->name,
                                    "UNIFIED_ROLE=%s", a->role,
                                    "UNIFIED_PROFILE=%s", strempty(a->profile),
                                    NULL);
        if (r < 0) {
                if (health)
                        log_full(priority, "%s: %s [UNIFIED_HEALTH=%s]", a->name, message,
                                 health_to_string(*health));
                else
                        log_full(priority, "%s: %s", a->name, message);
        }
}

static void agent_report_health(AgentContext *a, const char *why) {
        static const int priority[] = {
                [HEALTH_OK] = LOG_INFO,
                [HEALTH_DEGRADED] = LOG_WARNING,
                [HEALTH_FAILING] = LOG_ERR,
        };
        Health h = a->health;

        agent_log(a, priority[h], &h, "Health %s (%s).", health_to_string(h), why);
        (void) sd_notifyf(false, "STATUS=%s: health %s", a->role, health_to_string(h));
}

static void agent_update_health(AgentContext *a, const char *why) {
        Health h = HEALTH_OK;

        if (a->faults_active & FAULT_UNHEALTHY)
                h = HEALTH_FAILING;
        else if ((a->faults_active & FAULT_DEGRADED) || a->peers_unreachable > 0)
                h = HEALTH_DEGRADED;

        if (h == a->health)
                return;
        a->health = h;
        agent_report_health(a, why);
}

/* --- Watchdog and heartbeat ---------------------------------------------------------------------- */

/* $UNIFIED_PROBE_FILE: where there is no service manager to send READY=1 and WATCHDOG=1 to (a
 * container), the same news goes into a file that `unified-agent --probe` checks (docs/kubernetes.md).
 * Created when ready, its mtime renewed with every watchdog ping. */
static void agent_probe_touch(void) {
        const char *path = getenv("UNIFIED_PROBE_FILE");
        _cleanup_close_ int fd = -EBADF;

        if (isempty(path))
                return;
        fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOCTTY, 0644);
        if (fd < 0 || futimens(fd, NULL) < 0)
                log_warning_errno(errno, "Failed to update probe file %s, ignoring: %m", path);
}

static int on_watchdog(sd_event_source *s, uint64_t usec, void *userdata) {
        AgentContext *a = userdata;

        /* A hanging agent keeps its timer (so that it recovers once the fault is removed) but stops
         * telling systemd it is alive. */
        if (!(a->faults_active & FAULT_HANG)) {
                (void) sd_notify(false, "WATCHDOG=1");
                agent_probe_touch();
        }
        return sd_event_source_set_time(s, usec + a->watchdog_interval);
}

static int on_heartbeat(sd_event_source *s, uint64_t usec, void *userdata) {
        AgentContext *a = userdata;

        agent_report_health(a, "heartbeat");
        return sd_event_source_set_time(s, usec + a->heartbeat);
}

/* --- Simulated load ------------------------------------------------------------------------------ */

/* Anonymous memory written page by page, so it counts in memory.current. */
static void *memory_touch_new(size_t size) {
        long page = sysconf(_SC_PAGESIZE);
        char *p;

        p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED)
                return NULL;
        for (size_t i = 0; i < size; i += (size_t) page)
                p[i] = 1;
        return p;
}

static int on_cpu(sd_event_source *s, uint64_t usec, void *userdata) {
        AgentContext *a = userdata;
        usec_t t = now(CLOCK_MONOTONIC), used = now(CLOCK_THREAD_CPUTIME_ID), target, burn;

        if (a->cpu_since == 0) {
                a->cpu_since = t;
                a->cpu_used_base = used;
        }

        /* Burn what we are behind on (CPU time used vs. the share of the wall time since the start),
         * one slice at most, then idle for the rest of the slice. Counting CPU time rather than wall
         * time keeps the average right when other processes compete for the CPU. A debt larger than
         * two slices (we were throttled, e.g. by CPUQuota=) is forgiven rather than paid back. */
        target = (t - a->cpu_since) * a->cpu / 10000u;
        used -= a->cpu_used_base;
        if (target > used + 2 * CPU_SLICE_USEC) {
                a->cpu_since = t;
                a->cpu_used_base += used;
                target = used = 0;
        }
        burn = target > used ? MIN(target - used, CPU_SLICE_USEC) : 0;

        for (usec_t start = now(CLOCK_THREAD_CPUTIME_ID); now(CLOCK_THREAD_CPUTIME_ID) - start < burn;)
                ;

        return sd_event_source_set_time(s, now(CLOCK_MONOTONIC) + (CPU_SLICE_USEC - burn));
}

static int on_leak(sd_event_source *s, uint64_t usec, void *userdata) {
        AgentContext *a = userdata;
        size_t step = (size_t) MAX(a->leak_rate * LEAK_STEP_USEC / USEC_PER_SEC, 1u);
        Chunk *l;
        void *p;

        l = reallocarray(a->leaks, a->n_leaks + 1, sizeof(Chunk));
        if (!l)
                return log_oom();
        a->leaks = l;

        p = memory_touch_new(step);
        if (!p) /* Without a limit the kernel's OOM killer, not us, is meant to end this. */
                return log_error_errno(errno, "Failed to allocate leak memory: %m");
        a->leaks[a->n_leaks++] = (Chunk) { p, step };
        a->leaked += step;

        return sd_event_source_set_time(s, usec + LEAK_STEP_USEC);
}

static void agent_leak_free(AgentContext *a) {
        for (size_t i = 0; i < a->n_leaks; i++)
                (void) munmap(a->leaks[i].p, a->leaks[i].size);
        a->leaks = mfree(a->leaks);
        a->n_leaks = 0;
        a->leaked = 0;
}

/* --- Faults -------------------------------------------------------------------------------------- */

_noreturn_ static void agent_crash(AgentContext *a) {
        agent_log(a, LOG_CRIT, NULL, "Crashing on purpose (%s).", crash_mode_to_string(a->crash_mode));
        switch (a->crash_mode) {
        case CRASH_ABORT:
                abort();
        case CRASH_SEGV:
                (void) signal(SIGSEGV, SIG_DFL);
                (void) raise(SIGSEGV);
                abort(); /* not reached unless SIGSEGV is blocked */
        default:
                _exit(EXIT_FAILURE);
        }
}

static int on_fault_timer(sd_event_source *s, uint64_t usec, void *userdata);

/* Recomputes which faults apply now and applies the differences. */
static int agent_faults_update(AgentContext *a) {
        unsigned active = 0, started, stopped;
        usec_t next = USEC_INFINITY, t = now(CLOCK_MONOTONIC);
        int r;

        if (a->armed)
                active = fault_plan_active(&a->plan, a->armed_kinds, t - a->armed_since, &next);

        started = active & ~a->faults_active;
        stopped = a->faults_active & ~active;
        a->faults_active = active;

        for (unsigned k = 1; k < _FAULT_ALL; k <<= 1) {
                if (started & k)
                        agent_log(a, LOG_WARNING, NULL, "Fault '%s' injected.", fault_kind_to_string(k));
                if (stopped & k)
                        agent_log(a, LOG_NOTICE, NULL, "Fault '%s' removed.", fault_kind_to_string(k));
        }

        if (active & FAULT_CRASH)
                agent_crash(a);

        if (started & FAULT_LEAK) {
                r = sd_event_source_set_time(a->leak_timer, t);
                if (r < 0)
                        return r;
                r = sd_event_source_set_enabled(a->leak_timer, SD_EVENT_ON);
                if (r < 0)
                        return r;
        }
        if (stopped & FAULT_LEAK) {
                r = sd_event_source_set_enabled(a->leak_timer, SD_EVENT_OFF);
                if (r < 0)
                        return r;
                agent_leak_free(a);
        }
        if (started & FAULT_HANG)
                (void) sd_notify(false, "STATUS=hanging (fault injected)");
        if ((stopped & FAULT_HANG) && a->watchdog_timer) {
                (void) sd_notify(false, "WATCHDOG=1"); /* alive again: say so at once */
                agent_probe_touch();
        }

        agent_update_health(a, started ? "fault injected" : "fault removed");

        if (next == USEC_INFINITY)
                return sd_event_source_set_enabled(a->fault_timer, SD_EVENT_OFF);
        r = sd_event_source_set_time(a->fault_timer, a->armed_since + next);
        if (r < 0)
                return r;
        return sd_event_source_set_enabled(a->fault_timer, SD_EVENT_ONESHOT);
}

static int on_fault_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        return agent_faults_update(userdata);
}

/* Arms or disarms the faults from the fault file: present -> armed (its words select the faults, an
 * empty file the ones given on the command line), absent -> disarmed. */
static int agent_fault_file_check(AgentContext *a) {
        unsigned kinds;
        FILE *f;
        int r;

        f = fopen(a->fault_file, "re");
        if (!f) {
                if (errno != ENOENT)
                        agent_log(a, LOG_WARNING, NULL, "Cannot read fault file %s, treating as absent: %m",
                                  a->fault_file);
                if (!a->armed)
                        return 0;
                a->armed = false;
                return agent_faults_update(a);
        }

        char buf[256];
        size_t n = fread(buf, 1, sizeof(buf) - 1, f);
        fclose(f);
        buf[n] = '\0';

        r = fault_kinds_from_string(buf, &kinds);
        if (r < 0) {
                agent_log(a, LOG_WARNING, NULL, "Fault file %s names an unknown fault, ignoring it.",
                          a->fault_file);
                return 0;
        }
        if (kinds == 0)
                kinds = a->plan.kinds;

        if (a->armed && kinds == a->armed_kinds)
                return 0;
        if (!a->armed)
                a->armed_since = now(CLOCK_MONOTONIC);
        a->armed = true;
        a->armed_kinds = kinds;
        return agent_faults_update(a);
}

static int agent_fault_watch(AgentContext *a);

static int on_fault_inotify(sd_event_source *s, const struct inotify_event *ev, void *userdata) {
        AgentContext *a = userdata;
        int r;

        /* Something changed below the watched directory: if a deeper directory on the way to the file
         * appeared, move the watch there, then look at the file itself. */
        r = agent_fault_watch(a);
        if (r < 0)
                agent_log(a, LOG_WARNING, NULL, "Failed to watch for %s: %s", a->fault_file, strerror(-r));
        r = agent_fault_file_check(a);
        if (r < 0)
                return r;
        return 0;
}

/* The deepest existing directory on the way to the fault file. */
static int fault_file_deepest_dir(const char *path, char **ret) {
        _cleanup_free_ char *dir = strdup(path);
        struct stat st;
        char *slash;

        if (!dir)
                return -ENOMEM;
        for (;;) {
                slash = strrchr(dir, '/');
                if (!slash)
                        return -EINVAL;
                if (slash == dir) {
                        slash[1] = '\0';
                        break;
                }
                *slash = '\0';
                if (stat(dir, &st) >= 0 && S_ISDIR(st.st_mode))
                        break;
        }
        *ret = TAKE_PTR(dir);
        return 0;
}

/* Watches the deepest existing directory on the way to the fault file, so that the file (and the
 * directories leading to it) can be created later, without any polling. A directory created while
 * the watch moved is caught by looking again once the new watch is in place. */
static int agent_fault_watch(AgentContext *a) {
        int r;

        for (;;) {
                _cleanup_free_ char *dir = NULL;

                r = fault_file_deepest_dir(a->fault_file, &dir);
                if (r < 0)
                        return r;
                if (a->fault_watch && streq_ptr(dir, a->fault_watch_dir))
                        return 0;

                a->fault_watch = sd_event_source_disable_unref(a->fault_watch);
                r = sd_event_add_inotify(a->event, &a->fault_watch, dir,
                                         IN_CREATE | IN_DELETE | IN_MOVED_TO | IN_MOVED_FROM | IN_CLOSE_WRITE |
                                         IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR,
                                         on_fault_inotify, a);
                if (r < 0)
                        return r;
                free(a->fault_watch_dir);
                a->fault_watch_dir = TAKE_PTR(dir);
        }
}

/* --- Peers --------------------------------------------------------------------------------------- */

static void peer_done(Peer *p, bool reachable, const char *detail) {
        AgentContext *a = p->agent;

        if (p->fd < 0)
                return;
        p->io = sd_event_source_disable_unref(p->io);
        p->timeout = sd_event_source_disable_unref(p->timeout);
        p->fd = safe_close(p->fd);

        if (reachable)
                agent_log(a, LOG_INFO, NULL, "Peer %s reachable: %s", p->name, detail);
        else {
                agent_log(a, LOG_WARNING, NULL, "Peer %s not reachable: %s", p->name, detail);
                a->peers_unreachable++;
                agent_update_health(a, "peer unreachable");
        }
}

static int on_peer_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Peer *p = userdata;
        ssize_t n;

        if (p->n == 0 && (revents & EPOLLOUT)) {
                /* The non-blocking connect finished: was it successful? */
                int error = 0;
                socklen_t sl = sizeof(error);

                if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &sl) < 0)
                        error = errno;
                if (error != 0) {
                        peer_done(p, false, strerror(error));
                        return 0;
                }
                return sd_event_source_set_io_events(s, EPOLLIN);
        }

        n = read(fd, p->buf + p->n, sizeof(p->buf) - 1 - p->n);
        if (n < 0) {
                if (errno == EAGAIN || errno == EINTR)
                        return 0;
                peer_done(p, false, strerror(errno));
                return 0;
        }
        p->n += (size_t) n;
        p->buf[p->n] = '\0';
        if (n == 0 || strchr(p->buf, '\n') || p->n >= sizeof(p->buf) - 1) {
                p->buf[strcspn(p->buf, "\n")] = '\0';
                peer_done(p, true, p->n > 0 ? p->buf : "connected");
        }
        return 0;
}

static int on_peer_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        peer_done(userdata, false, "no answer");
        return 0;
}

/* Best effort: a peer whose socket does not exist (an agent that is not socket-activated) is simply
 * not checked; one whose socket exists but refuses or does not answer makes us "degraded". */
static int agent_peers_connect(AgentContext *a) {
        _cleanup_strv_free_ char **names = NULL;
        const char *e = getenv("UNIFIED_REQUIRES");
        int r;

        if (isempty(e))
                return 0;

        /* A list separated by spaces, commas or colons, whichever the daemon chose. */
        _cleanup_free_ char *copy = strdup(e);
        if (!copy)
                return -ENOMEM;
        for (char *tok = strtok(copy, " ,:"); tok; tok = strtok(NULL, " ,:")) {
                r = strv_extend(&names, tok);
                if (r < 0)
                        return r;
        }

        a->peers = calloc(strv_length(names), sizeof(Peer));
        if (!a->peers)
                return -ENOMEM;

        STRV_FOREACH(n, names) {
                struct sockaddr_un sa = { .sun_family = AF_UNIX };
                Peer *p = &a->peers[a->n_peers++];

                *p = (Peer) { .agent = a, .fd = -EBADF };
                p->name = strdup(*n);
                if (!p->name)
                        return -ENOMEM;

                if ((size_t) snprintf(sa.sun_path, sizeof(sa.sun_path), AGENT_SOCKET_DIR "/%s.sock", *n) >=
                    sizeof(sa.sun_path))
                        continue;
                if (access(sa.sun_path, F_OK) < 0) {
                        agent_log(a, LOG_INFO, NULL, "Peer %s has no socket, not checking it.", *n);
                        continue;
                }

                p->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
                if (p->fd < 0)
                        return -errno;
                if (connect(p->fd, (struct sockaddr *) &sa, sizeof(sa)) < 0 && errno != EINPROGRESS &&
                    errno != EAGAIN) {
                        peer_done(p, false, strerror(errno));
                        continue;
                }
                /* A connect to a listening unix socket completes at once: wait for the answer. */
                r = sd_event_add_io(a->event, &p->io, p->fd, EPOLLIN | EPOLLOUT, on_peer_io, p);
                if (r < 0)
                        return r;
                r = sd_event_add_time_relative(a->event, &p->timeout, CLOCK_MONOTONIC, PEER_TIMEOUT_USEC, 0,
                                               on_peer_timeout, p);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* --- Socket activation --------------------------------------------------------------------------- */

static void agent_answer(AgentContext *a, int fd) {
        char line[256];
        int n;

        n = snprintf(line, sizeof(line), "unified-agent %s %s\n", a->role, health_to_string(a->health));
        /* One short line into a fresh socket buffer: a non-blocking write either fits or the peer
         * went away, and neither case is worth waiting for. */
        (void) send(fd, line, (size_t) MIN(n, (int) sizeof(line) - 1), MSG_NOSIGNAL | MSG_DONTWAIT);
}

static int on_listen(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        AgentContext *a = userdata;
        _cleanup_close_ int c = -EBADF;

        c = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (c < 0) {
                if (errno == EAGAIN || errno == EINTR || errno == ECONNABORTED)
                        return 0;
                return log_error_errno(errno, "Failed to accept connection: %m");
        }
        agent_answer(a, c);
        return 0;
}

static int agent_listen(AgentContext *a) {
        int n, r;

        n = sd_listen_fds(true);
        if (n < 0)
                return n;
        for (int fd = SD_LISTEN_FDS_START; fd < SD_LISTEN_FDS_START + n; fd++) {
                int accepting = 0;
                socklen_t sl = sizeof(accepting);

                if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &accepting, &sl) < 0 || !accepting) {
                        /* Accept=yes hands us one connection: answer it and keep running. */
                        agent_answer(a, fd);
                        (void) close(fd);
                        continue;
                }
                r = sd_event_add_io(a->event, NULL, fd, EPOLLIN, on_listen, a);
                if (r < 0)
                        return r;
                a->socket_activated = true;
        }
        return 0;
}

/* --- Termination --------------------------------------------------------------------------------- */

static int on_exit_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        return sd_event_exit(sd_event_source_get_event(s), 0);
}

static int on_terminate(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        AgentContext *a = userdata;

        if (a->exit_timer) /* a second signal while delaying: go now */
                return sd_event_exit(a->event, 0);

        (void) sd_notify(false, "STOPPING=1");
        agent_log(a, LOG_INFO, NULL, "Received %s, exiting.", strsignal((int) si->ssi_signo));
        if (a->exit_delay == 0)
                return sd_event_exit(a->event, 0);
        return sd_event_add_time_relative(a->event, &a->exit_timer, CLOCK_MONOTONIC, a->exit_delay, 0,
                                          on_exit_timer, a);
}

/* --- Setup --------------------------------------------------------------------------------------- */

static AgentContext *agent_context_free(AgentContext *a) {
        if (!a)
                return NULL;
        for (size_t i = 0; i < a->n_peers; i++) {
                sd_event_source_disable_unref(a->peers[i].io);
                sd_event_source_disable_unref(a->peers[i].timeout);
                safe_close(a->peers[i].fd);
                free(a->peers[i].name);
        }
        free(a->peers);
        sd_event_source_disable_unref(a->watchdog_timer);
        sd_event_source_disable_unref(a->heartbeat_timer);
        sd_event_source_disable_unref(a->cpu_timer);
        sd_event_source_disable_unref(a->leak_timer);
        sd_event_source_disable_unref(a->fault_timer);
        sd_event_source_disable_unref(a->fault_watch);
        sd_event_source_disable_unref(a->exit_timer);
        sd_event_unref(a->event);
        agent_leak_free(a);
        if (a->ballast)
                (void) munmap(a->ballast, a->ballast_size);
        free(a->fault_watch_dir);
        free(a->fault_file);
        free(a->role);
        return mfree(a);
}
DEFINE_TRIVIAL_CLEANUP_FUNC(AgentContext *, agent_context_free);

static int agent_setup(AgentContext *a) {
        uint64_t wd = 0;
        int r;

        r = sd_event_default(&a->event);
        if (r < 0)
                return log_error_errno(r, "Failed to allocate event loop: %m");

        sigset_t mask;
        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
                return log_error_errno(errno, "Failed to block signals: %m");
        r = sd_event_add_signal(a->event, NULL, SIGTERM, on_terminate, a);
        if (r >= 0)
                r = sd_event_add_signal(a->event, NULL, SIGINT, on_terminate, a);
        if (r < 0)
                return log_error_errno(r, "Failed to watch signals: %m");

        r = agent_listen(a);
        if (r < 0)
                return log_error_errno(r, "Failed to take over sockets: %m");

        if (a->memory > 0 && !a->socket_activated) {
                a->ballast = memory_touch_new(a->memory);
                if (!a->ballast)
                        return log_error_errno(errno, "Failed to allocate %" PRIu64 " bytes: %m", a->memory);
                a->ballast_size = a->memory;
        }

        if (a->cpu > 0 && !a->socket_activated) {
                r = sd_event_add_time_relative(a->event, &a->cpu_timer, CLOCK_MONOTONIC, 0, TIMER_ACCURACY_USEC,
                                               on_cpu, a);
                if (r >= 0)
                        r = sd_event_source_set_enabled(a->cpu_timer, SD_EVENT_ON);
                /* Below everything else, so signals and the watchdog are never starved. */
                if (r >= 0)
                        r = sd_event_source_set_priority(a->cpu_timer, SD_EVENT_PRIORITY_IDLE);
                if (r < 0)
                        return log_error_errno(r, "Failed to set up CPU load: %m");
        }

        r = sd_event_add_time(a->event, &a->leak_timer, CLOCK_MONOTONIC, 0, TIMER_ACCURACY_USEC, on_leak, a);
        if (r >= 0)
                r = sd_event_source_set_enabled(a->leak_timer, SD_EVENT_OFF);
        if (r >= 0)
                r = sd_event_add_time(a->event, &a->fault_timer, CLOCK_MONOTONIC, USEC_INFINITY, TIMER_ACCURACY_USEC,
                                      on_fault_timer, a);
        if (r >= 0)
                r = sd_event_source_set_enabled(a->fault_timer, SD_EVENT_OFF);
        if (r < 0)
                return log_error_errno(r, "Failed to set up fault timers: %m");

        r = sd_watchdog_enabled(false, &wd);
        if (r < 0)
                agent_log(a, LOG_WARNING, NULL, "Ignoring invalid $WATCHDOG_USEC: %s", strerror(-r));
        if (r > 0) {
                a->watchdog_interval = MAX(wd / 2, 1u);
                r = sd_event_add_time_relative(a->event, &a->watchdog_timer, CLOCK_MONOTONIC,
                                               a->watchdog_interval, TIMER_ACCURACY_USEC, on_watchdog, a);
                if (r >= 0)
                        r = sd_event_source_set_enabled(a->watchdog_timer, SD_EVENT_ON);
                if (r < 0)
                        return log_error_errno(r, "Failed to set up watchdog timer: %m");
        }

        if (a->heartbeat > 0 && a->heartbeat != USEC_INFINITY) {
                r = sd_event_add_time_relative(a->event, &a->heartbeat_timer, CLOCK_MONOTONIC, a->heartbeat,
                                               0, on_heartbeat, a);
                if (r >= 0)
                        r = sd_event_source_set_enabled(a->heartbeat_timer, SD_EVENT_ON);
                if (r < 0)
                        return log_error_errno(r, "Failed to set up heartbeat: %m");
        }

        if (a->fault_file) {
                r = agent_fault_watch(a);
                if (r < 0)
                        return log_error_errno(r, "Failed to watch fault file %s: %m", a->fault_file);
                r = agent_fault_file_check(a);
        } else if (a->plan.kinds != 0) {
                a->armed = true;
                a->armed_kinds = a->plan.kinds;
                a->armed_since = now(CLOCK_MONOTONIC);
                r = agent_faults_update(a);
        }
        if (r < 0)
                return log_error_errno(r, "Failed to set up faults: %m");

        r = agent_peers_connect(a);
        if (r < 0)
                return log_error_errno(r, "Failed to connect to peers: %m");

        return 0;
}

/* --- Command line -------------------------------------------------------------------------------- */

static void help(void) {
        printf("%s --role ROLE [OPTIONS...]\n\n"
               "The reference agent of unified: reports readiness, pings the watchdog, logs its health\n"
               "and can simulate load and faults.\n\n"
               "  -h --help                    Show this help\n"
               "     --version                 Show the version\n"
               "     --role ROLE               The role this agent plays (logged as UNIFIED_ROLE=)\n"
               "     --memory SIZE             Allocate and touch SIZE bytes at start (\"64M\")\n"
               "     --cpu PERCENT             Burn PERCENT of one CPU (\"25%%\")\n"
               "     --heartbeat DURATION      Log the health this often even when unchanged (60s, 0: never)\n"
               "     --exit-delay DURATION     Wait this long after SIGTERM before exiting\n"
               "\nFaults (see unified-agent(8)):\n"
               "     --crash-after DURATION    Crash after DURATION\n"
               "     --crash-mode MODE         exit (status 1), abort or segv\n"
               "     --hang-after DURATION     Stop pinging the watchdog after DURATION\n"
               "     --leak RATE               Leak RATE bytes per second (\"10M\")\n"
               "     --leak-after DURATION     Start leaking after DURATION\n"
               "     --unhealthy-after DURATION\n"
               "                               Log UNIFIED_HEALTH=failing after DURATION\n"
               "     --fault-file PATH         Apply faults only while PATH exists\n"
               "     --probe ready|alive       Check $UNIFIED_PROBE_FILE for a container runtime and exit\n"
               "                               (docs/kubernetes.md)\n",
               program_invocation_short_name);
}

static int parse_duration_arg(const char *opt, const char *s, usec_t *ret) {
        int r = parse_sec(s, ret);
        if (r < 0)
                return log_error_errno(r, "Invalid duration for %s: '%s'", opt, s);
        return 0;
}

static const char *arg_probe = NULL;

/* `--probe ready|alive`, run by a container runtime inside the agent's container: "ready" passes once
 * $UNIFIED_PROBE_FILE exists (READY=1), "alive" while it is younger than $WATCHDOG_USEC (WATCHDOG=1
 * within the watchdog period). Exit status 0 or 1, a reason on stderr. */
static int probe_run(const char *what) {
        const char *path = getenv("UNIFIED_PROBE_FILE"), *e;
        struct stat st;
        uint64_t max_age = 0;
        usec_t mtime, t;

        if (isempty(path)) {
                log_error("$UNIFIED_PROBE_FILE is not set: nothing to probe.");
                return EXIT_FAILURE;
        }
        if (stat(path, &st) < 0) {
                log_error_errno(errno, "%s: %m (not ready yet)", path);
                return EXIT_FAILURE;
        }
        if (streq(what, "ready"))
                return EXIT_SUCCESS;

        e = getenv("WATCHDOG_USEC");
        if (!e)
                return EXIT_SUCCESS;    /* no watchdog: being ready is all there is to check */
        if (safe_atou64(e, &max_age) < 0 || max_age == 0) {
                log_error("Invalid $WATCHDOG_USEC '%s'.", e);
                return EXIT_FAILURE;
        }
        mtime = timespec_load(&st.st_mtim);
        t = now(CLOCK_REALTIME);
        if (t > mtime && t - mtime > max_age) {
                log_error("%s: last ping %" PRIu64 " ms ago, the watchdog allows %" PRIu64 " ms.", path,
                          (t - mtime) / USEC_PER_MSEC, max_age / USEC_PER_MSEC);
                return EXIT_FAILURE;
        }
        return EXIT_SUCCESS;
}

static int parse_argv(int argc, char *argv[], AgentContext *a) {
        enum {
                ARG_VERSION = 0x100,
                ARG_ROLE,
                ARG_MEMORY,
                ARG_CPU,
                ARG_HEARTBEAT,
                ARG_EXIT_DELAY,
                ARG_CRASH_AFTER,
                ARG_CRASH_MODE,
                ARG_HANG_AFTER,
                ARG_LEAK,
                ARG_LEAK_AFTER,
                ARG_UNHEALTHY_AFTER,
                ARG_DEGRADED_AFTER,
                ARG_FAULT_FILE,
                ARG_PROBE,
        };
        static const struct option options[] = {
                { "help",             no_argument,       NULL, 'h'                 },
                { "version",          no_argument,       NULL, ARG_VERSION         },
                { "role",             required_argument, NULL, ARG_ROLE            },
                { "memory",           required_argument, NULL, ARG_MEMORY          },
                { "cpu",              required_argument, NULL, ARG_CPU             },
                { "heartbeat",        required_argument, NULL, ARG_HEARTBEAT       },
                { "exit-delay",       required_argument, NULL, ARG_EXIT_DELAY      },
                { "crash-after",      required_argument, NULL, ARG_CRASH_AFTER     },
                { "crash-mode",       required_argument, NULL, ARG_CRASH_MODE      },
                { "hang-after",       required_argument, NULL, ARG_HANG_AFTER      },
                { "leak",             required_argument, NULL, ARG_LEAK            },
                { "leak-after",       required_argument, NULL, ARG_LEAK_AFTER      },
                { "unhealthy-after",  required_argument, NULL, ARG_UNHEALTHY_AFTER },
                { "degraded-after",   required_argument, NULL, ARG_DEGRADED_AFTER  },
                { "fault-file",       required_argument, NULL, ARG_FAULT_FILE      },
                { "probe",            required_argument, NULL, ARG_PROBE           },
                {}
        };
        int c, r;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        help();
                        return 0;
                case ARG_VERSION:
                        puts("unified-agent " PROJECT_VERSION);
                        return 0;
                case ARG_ROLE:
                        if (isempty(optarg))
                                return log_error_errno(-EINVAL, "--role needs a non-empty value.");
                        free(a->role);
                        a->role = strdup(optarg);
                        if (!a->role)
                                return log_oom();
                        break;
                case ARG_MEMORY:
                        r = parse_size(optarg, &a->memory);
                        if (r < 0 || a->memory == UINT64_MAX || a->memory > SIZE_MAX)
                                return log_error_errno(r < 0 ? r : -ERANGE, "Invalid size for --memory: '%s'",
                                                       optarg);
                        break;
                case ARG_CPU:
                        r = parse_permyriad(optarg, &a->cpu);
                        if (r < 0)
                                return log_error_errno(r, "Invalid percentage for --cpu: '%s' (e.g. \"25%%\")",
                                                       optarg);
                        if (a->cpu > 10000)
                                return log_error_errno(-ERANGE, "--cpu is one thread: at most 100%%, not '%s'.",
                                                       optarg);
                        break;
                case ARG_HEARTBEAT:
                        r = parse_duration_arg("--heartbeat", optarg, &a->heartbeat);
                        if (r < 0)
                                return r;
                        break;
                case ARG_EXIT_DELAY:
                        r = parse_duration_arg("--exit-delay", optarg, &a->exit_delay);
                        if (r < 0)
                                return r;
                        break;
                case ARG_CRASH_AFTER:
                case ARG_HANG_AFTER:
                case ARG_LEAK_AFTER:
                case ARG_UNHEALTHY_AFTER:
                case ARG_DEGRADED_AFTER: {
                        static const struct {
                                int arg;
                                FaultKind kind;
                                unsigned bit;
                        } map[] = {
                                { ARG_CRASH_AFTER, FAULT_CRASH, 0 },
                                { ARG_HANG_AFTER, FAULT_HANG, 1 },
                                { ARG_LEAK_AFTER, FAULT_LEAK, 2 },
                                { ARG_UNHEALTHY_AFTER, FAULT_UNHEALTHY, 3 },
                                { ARG_DEGRADED_AFTER, FAULT_DEGRADED, 4 },
                        };
                        for (size_t i = 0; i < ELEMENTSOF(map); i++)
                                if (map[i].arg == c) {
                                        r = parse_duration_arg(argv[optind - 1], optarg,
                                                               &a->plan.after[map[i].bit]);
                                        if (r < 0)
                                                return r;
                                        a->plan.kinds |= map[i].kind;
                                }
                        break;
                }
                case ARG_CRASH_MODE:
                        a->crash_mode = crash_mode_from_string(optarg);
                        if (a->crash_mode < 0)
                                return log_error_errno(-EINVAL, "Invalid --crash-mode '%s': exit, abort or segv.",
                                                       optarg);
                        break;
                case ARG_LEAK:
                        r = parse_size(optarg, &a->leak_rate);
                        if (r < 0 || a->leak_rate == 0 || a->leak_rate == UINT64_MAX)
                                return log_error_errno(r < 0 ? r : -ERANGE,
                                                       "Invalid rate for --leak: '%s' (bytes per second, e.g. \"10M\")",
                                                       optarg);
                        a->plan.kinds |= FAULT_LEAK;
                        break;
                case ARG_FAULT_FILE:
                        if (optarg[0] != '/')
                                return log_error_errno(-EINVAL, "--fault-file needs an absolute path, not '%s'.",
                                                       optarg);
                        free(a->fault_file);
                        a->fault_file = strdup(optarg);
                        if (!a->fault_file)
                                return log_oom();
                        break;
                case ARG_PROBE:
                        if (!streq(optarg, "ready") && !streq(optarg, "alive"))
                                return log_error_errno(-EINVAL, "Invalid --probe '%s': ready or alive.", optarg);
                        arg_probe = optarg;
                        break;
                case '?':
                        return -EINVAL;
                default:
                        abort();
                }

        if (optind < argc)
                return log_error_errno(-EINVAL, "Unexpected argument '%s'.", argv[optind]);
        if (arg_probe)
                return 1;
        if (!a->role)
                return log_error_errno(-EINVAL, "--role ROLE is required.");
        return 1;
}

int main(int argc, char *argv[]) {
        _cleanup_(agent_context_freep) AgentContext *a = NULL;
        int r;

        log_setup();

        a = calloc(1, sizeof(AgentContext));
        if (!a) {
                log_oom();
                return EXIT_FAILURE;
        }
        *a = (AgentContext) {
                .crash_mode = CRASH_EXIT,
                .heartbeat = HEARTBEAT_DEFAULT,
        };
        r = parse_argv(argc, argv, a);
        if (r <= 0)
                return r < 0 ? 2 : EXIT_SUCCESS;
        if (arg_probe)
                return probe_run(arg_probe);

        a->name = getenv("UNIFIED_AGENT") ?: a->role;
        a->profile = getenv("UNIFIED_PROFILE");
        if (a->leak_rate == 0) /* also for a "leak" named in the fault file */
                a->leak_rate = LEAK_RATE_DEFAULT;

        r = agent_setup(a);
        if (r < 0) {
                (void) sd_notifyf(false, "STATUS=Failed to start: %s\nERRNO=%i", strerror(-r), -r);
                return EXIT_FAILURE;
        }

        (void) sd_notifyf(false, "READY=1\nSTATUS=%s: health %s%s", a->role, health_to_string(a->health),
                          a->socket_activated ? ", serving its socket" : "");
        agent_probe_touch();
        agent_log(a, LOG_INFO, &a->health, "Agent %s (%s) ready%s.", a->name, a->role,
                  a->socket_activated ? ", serving its socket" : "");

        r = sd_event_loop(a->event);
        if (r < 0) {
                log_error_errno(r, "Event loop failed: %m");
                return EXIT_FAILURE;
        }
        return r;
}
