/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The fault engine: the life cycle every fault goes through (chaos-fault.h), its timer, its record, the
 * InjectFault method, random picks and the FaultFinished announcement. What a kind does to systemd and
 * how it judges the agents lives in fault-<kind>.c. */

#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <systemd/sd-event.h>
#include <systemd/sd-journal.h>

#include "backoff.h"
#include "bus-error.h"
#include "bus-manager.h"
#include "chaos-fault.h"
#include "chaos.h"
#include "config.h"
#include "fs-util.h"
#include "log.h"
#include "manager.h"
#include "message-ids.h"
#include "parse-util.h"
#include "polkit.h"
#include "string-util.h"
#include "strv.h"
#include "systemd-client.h"

/* The undo calls of a dying daemon wait this long at most (see chaos_free()). */
#define CHAOS_SYNC_UNDO_TIMEOUT (2 * USEC_PER_SEC)
/* When the profile does not say how long systemd's start limit window is. */
#define CHAOS_REUSE_DEFAULT (60 * USEC_PER_SEC)

#define IN_SET2(x, a, b) ((x) == (a) || (x) == (b))
#define IN_SET3(x, a, b, c) (IN_SET2(x, a, b) || (x) == (c))

/* One row per kind, in ChaosKind order. */
static const FaultVTable *const fault_vtables[_CHAOS_KIND_MAX] = {
        [CHAOS_KIND_KILL] = &kill_vtable,
        [CHAOS_KIND_MEMORY] = &memory_vtable,
        [CHAOS_KIND_PARTITION] = &partition_vtable,
        [CHAOS_KIND_OUTAGE] = &outage_vtable,
        [CHAOS_KIND_CASCADE] = &cascade_vtable,
        [CHAOS_KIND_STRESS] = &stress_vtable,
};

const FaultVTable *fault_vtable(ChaosKind kind) {
        return kind >= 0 && kind < _CHAOS_KIND_MAX ? fault_vtables[kind] : NULL;
}

/* The userdata of one call to systemd: the fault is found again by id when the reply comes, since the
 * SystemdClient cannot cancel a call. The engine keeps the calls in a list only to cut them off from a
 * Chaos that is freed while they are in flight. */
typedef struct FaultCall FaultCall;
struct FaultCall {
        Chaos *chaos;                   /* NULL once the engine is gone */
        uint64_t id;
        FaultCall *prev, *next;
};

typedef struct ChaosHit {
        char *agent;
        usec_t at;
} ChaosHit;

struct Chaos {
        Manager *manager;
        char *dir;
        Fault **faults;
        size_t n_faults;
        uint64_t next_id;
        ChaosHit *hits;
        size_t n_hits;
        FaultCall *calls;
};

static void fault_evaluate(Fault *f, ProfileState state);
static void fault_undo(Fault *f);
static void fault_undo_send(Fault *f);
static void fault_rearm(Fault *f);
static int fault_apply_lever(Fault *f);

/* ---------------------------------------------------------------------------------------------------
 * Small helpers */

int chaos_parse_signal(const char *s) {
        uint64_t n;
        const char *name;

        if (isempty(s))
                return -EINVAL;
        if (safe_atou64(s, &n) >= 0)
                return n >= 1 && n < (uint64_t) NSIG ? (int) n : -EINVAL;
        name = strncmp(s, "SIG", 3) == 0 ? s + 3 : s;
        for (int sig = 1; sig < SIGRTMIN; sig++) {
                const char *abbrev = sigabbrev_np(sig);
                if (abbrev && streq(abbrev, name))
                        return sig;
        }
        return -EINVAL;
}

bool chaos_agent_is_healthy(const AgentRuntime *a) {
        return a && agent_runtime_status(a) == AGENT_STATUS_OK && a->health >= CHAOS_HEALTH_OK &&
               a->breaker.state == BREAKER_CLOSED;
}

size_t chaos_faults_in_flight(const Chaos *c) {
        return c ? c->n_faults : 0;
}

static const char *const fault_phase_table[] = {
        [FAULT_PHASE_PREPARING] = "preparing",
        [FAULT_PHASE_ARMING] = "arming",
        [FAULT_PHASE_INJECTING] = "injecting",
        [FAULT_PHASE_ACTIVE] = "active",
        [FAULT_PHASE_UNDOING] = "undoing",
        [FAULT_PHASE_RECOVERING] = "recovering",
};

int chaos_fault_status(const Chaos *c, size_t i, ChaosFaultStatus *ret) {
        const Fault *f;

        if (!c || i >= c->n_faults)
                return -ENOENT;
        f = c->faults[i];
        *ret = (ChaosFaultStatus) {
                .id = f->id,
                .kind = chaos_kind_to_string(f->kind),
                .agent = strempty(f->agent),
                .phase = fault_phase_table[f->phase],
                .detail = f->undo_error ?: strempty(f->detail),
        };
        return 0;
}

Manager *fault_manager(const Fault *f) {
        return f->chaos->manager;
}

sd_bus *fault_bus(const Fault *f) {
        return systemd_client_get_bus(fault_manager(f)->systemd);
}

/* For messages: the agent, or what a stress run acts on. */
static const char *fault_target(const Fault *f) {
        return isempty(f->agent) ? "the profile" : f->agent;
}

void fault_set_detail(Fault *f, const char *format, ...) {
        va_list ap;
        char *s;

        if (f->detail)
                return; /* the first reason is the one that matters */
        va_start(ap, format);
        if (vasprintf(&s, format, ap) >= 0)
                f->detail = s;
        va_end(ap);
}

FaultVerdict fault_verdict(FaultVerdictKind kind, const char *format, ...) {
        FaultVerdict v = { .kind = kind };
        va_list ap;

        va_start(ap, format);
        (void) vsnprintf(v.detail, sizeof(v.detail), format, ap);
        va_end(ap);
        return v;
}

/* Whether "b" requires "a" (directly). */
static bool agent_requires(const AgentRuntime *b, const char *a) {
        return b->def && strv_contains(b->def->requires, a);
}

bool chaos_agent_has_dependents(Manager *m, const AgentRuntime *a) {
        for (size_t i = 0; i < m->n_agents; i++)
                if (agent_requires(m->agents[i], a->name))
                        return true;
        return false;
}

/* The agents that require "root", directly or through others, in profile order, without "root". */
int chaos_agent_dependents(Manager *m, const char *root, char ***ret) {
        _cleanup_strv_free_ char **set = NULL, **deps = NULL;
        bool grew = true;
        int r;

        r = strv_extend(&set, root);
        if (r < 0)
                return r;
        while (grew) {
                grew = false;
                for (size_t i = 0; i < m->n_agents; i++) {
                        AgentRuntime *b = m->agents[i];

                        if (strv_contains(set, b->name))
                                continue;
                        STRV_FOREACH(req, b->def ? b->def->requires : NULL)
                                if (strv_contains(set, *req)) {
                                        r = strv_extend(&set, b->name);
                                        if (r < 0)
                                                return r;
                                        grew = true;
                                        break;
                                }
                }
        }
        for (size_t i = 0; i < m->n_agents; i++)
                if (!streq(m->agents[i]->name, root) && strv_contains(set, m->agents[i]->name)) {
                        r = strv_extend(&deps, m->agents[i]->name);
                        if (r < 0)
                                return r;
                }
        *ret = TAKE_PTR(deps);
        return 0;
}

static usec_t agent_reuse_window(const AgentRuntime *a) {
        return a->def && a->def->restart.window > 0 ? a->def->restart.window : CHAOS_REUSE_DEFAULT;
}

static void hit_record(Chaos *c, const char *agent, usec_t at) {
        ChaosHit *h;

        for (size_t i = 0; i < c->n_hits; i++)
                if (streq(c->hits[i].agent, agent)) {
                        c->hits[i].at = at;
                        return;
                }
        h = reallocarray(c->hits, c->n_hits + 1, sizeof(ChaosHit));
        if (!h)
                return;
        c->hits = h;
        c->hits[c->n_hits].agent = strdup(agent);
        if (!c->hits[c->n_hits].agent)
                return;
        c->hits[c->n_hits++].at = at;
}

/* Whether a restart caused by us within systemd's start limit window could make the next one hit the
 * limit: such agents are not picked at random. */
bool chaos_hit_recent(Chaos *c, const AgentRuntime *a, usec_t t) {
        for (size_t i = 0; i < c->n_hits; i++)
                if (streq(c->hits[i].agent, a->name))
                        return t < c->hits[i].at + agent_reuse_window(a);
        return false;
}

/* Whether a fault in flight acts on "name" (as its target, or as a dependent its lever reaches). */
bool chaos_agent_is_touched(Chaos *c, const char *name) {
        for (size_t i = 0; i < c->n_faults; i++) {
                Fault *f = c->faults[i];

                if (FAULT_VTABLE(f)->no_target)
                        continue;
                if (streq_ptr(f->agent, name))
                        return true;
                for (size_t j = 0; j < f->n_watches; j++)
                        if (f->watches[j].acted_on && streq(f->watches[j].name, name))
                                return true;
        }
        return false;
}

/* Whether fault "kind" may hit "a" when the caller did not name an agent. */
static bool agent_is_eligible(Chaos *c, const AgentRuntime *a, ChaosKind kind, usec_t t) {
        const FaultVTable *vt = fault_vtable(kind);

        if (!a->def || agent_runtime_is_lazy(a) || agent_runtime_status(a) != AGENT_STATUS_OK ||
            chaos_agent_is_touched(c, a->name))
                return false;
        return vt->eligible && vt->eligible(c, a, t);
}

AgentRuntime *chaos_pick_agent(Chaos *c, ChaosKind kind, usec_t t) {
        Manager *m = c->manager;
        size_t n = 0, pick;

        for (size_t i = 0; i < m->n_agents; i++)
                if (agent_is_eligible(c, m->agents[i], kind, t))
                        n++;
        if (n == 0)
                return NULL;
        pick = (size_t) (backoff_random_u64() % n);
        for (size_t i = 0; i < m->n_agents; i++)
                if (agent_is_eligible(c, m->agents[i], kind, t) && pick-- == 0)
                        return m->agents[i];
        return NULL;
}

/* ---------------------------------------------------------------------------------------------------
 * Faults as objects */

Fault *fault_alloc(ChaosKind kind) {
        const FaultVTable *vt = fault_vtable(kind);
        Fault *f;

        if (!vt || vt->object_size < sizeof(Fault))
                return NULL;
        f = calloc(1, vt->object_size);
        if (!f)
                return NULL;
        *f = (Fault) {
                .kind = kind,
                .timeout = CHAOS_TIMEOUT_DEFAULT,
                .injected = USEC_INFINITY, .detected = USEC_INFINITY, .undone = USEC_INFINITY,
                .recovered = USEC_INFINITY, .end = USEC_INFINITY, .target_up = USEC_INFINITY,
                .undo_retry = USEC_INFINITY,
        };
        return f;
}

Fault *fault_free(Fault *f) {
        if (!f)
                return NULL;
        if (FAULT_VTABLE(f)->done)
                FAULT_VTABLE(f)->done(f);
        sd_event_source_disable_unref(f->timer);
        sd_bus_message_unref(f->request);
        free(f->agent);
        free(f->unit);
        free(f->profile);
        free(f->record);
        free(f->result);
        free(f->detail);
        free(f->revert);
        free(f->undo_error);
        for (size_t i = 0; i < f->n_watches; i++) {
                free(f->watches[i].name);
                strv_free(f->watches[i].requires);
        }
        free(f->watches);
        return mfree(f);
}

int fault_add_watch(Fault *f, const char *name, uint32_t restarts_before, bool acted_on, char * const *requires) {
        _cleanup_strv_free_ char **req = NULL;
        _cleanup_free_ char *n = NULL;
        FaultWatch *w;
        int r;

        n = strdup(name);
        if (!n)
                return -ENOMEM;
        r = strv_copy(requires, &req);
        if (r < 0)
                return r;
        w = reallocarray(f->watches, f->n_watches + 1, sizeof(FaultWatch));
        if (!w)
                return -ENOMEM;
        f->watches = w;
        f->watches[f->n_watches++] = (FaultWatch) {
                .name = TAKE_PTR(n), .restarts_before = restarts_before, .acted_on = acted_on,
                .down = USEC_INFINITY, .up = USEC_INFINITY, .requires = TAKE_PTR(req),
        };
        return 0;
}

int fault_watch_dependents(Fault *f, bool acted_on) {
        Manager *m = fault_manager(f);
        _cleanup_strv_free_ char **deps = NULL;
        int r;

        r = chaos_agent_dependents(m, f->agent, &deps);
        if (r < 0)
                return r;
        STRV_FOREACH(d, deps) {
                AgentRuntime *b = manager_find_agent(m, *d);

                /* A lazy agent's service may be idle by design; what the lever reaches must run to go down. */
                if (!b || agent_runtime_is_lazy(b) || (acted_on && agent_runtime_status(b) != AGENT_STATUS_OK))
                        continue;
                r = fault_add_watch(f, *d, b->n_restarts, acted_on, b->def ? b->def->requires : NULL);
                if (r < 0)
                        return r;
        }
        return 0;
}

static Fault *chaos_find_fault(Chaos *c, uint64_t id) {
        for (size_t i = 0; i < c->n_faults; i++)
                if (c->faults[i]->id == id)
                        return c->faults[i];
        return NULL;
}

int chaos_add_fault(Chaos *c, Fault *f) {
        Fault **l = reallocarray(c->faults, c->n_faults + 1, sizeof(Fault *));

        if (!l)
                return -ENOMEM;
        c->faults = l;
        c->faults[c->n_faults++] = f;
        return 0;
}

static void chaos_remove_fault(Chaos *c, Fault *f) {
        for (size_t i = 0; i < c->n_faults; i++)
                if (c->faults[i] == f) {
                        memmove(c->faults + i, c->faults + i + 1, (c->n_faults - i - 1) * sizeof(Fault *));
                        c->n_faults--;
                        return;
                }
}

int fault_new(Chaos *c, ChaosKind kind, const char *agent, Fault **ret) {
        _cleanup_(fault_freep) Fault *f = NULL;
        Manager *m = c->manager;
        AgentRuntime *a = NULL;
        int r;

        f = fault_alloc(kind);
        if (!f)
                return -ENOMEM;
        f->chaos = c;
        f->id = c->next_id++;
        f->profile = strdup(m->active->name);
        if (!f->profile)
                return -ENOMEM;
        if (!isempty(agent)) {
                a = manager_find_agent(m, agent);
                f->agent = strdup(agent);
                f->unit = strdup(a ? a->unit : "");
                if (!f->agent || !f->unit)
                        return -ENOMEM;
        } else {
                f->agent = strdup("");
                if (!f->agent)
                        return -ENOMEM;
        }
        if (FAULT_VTABLE(f)->init) {
                r = FAULT_VTABLE(f)->init(f, a);
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(f);
        return 0;
}

/* ---------------------------------------------------------------------------------------------------
 * Records: what to undo if the daemon dies mid-fault */

static int fault_record_write(Fault *f) {
        _cleanup_free_ char *path = NULL, *tmp = NULL;
        FILE *o;
        int fd, r;

        r = mkdir_p(f->chaos->dir, 0755);
        if (r < 0)
                return r;
        if (asprintf(&path, "%s/fault-%" PRIu64, f->chaos->dir, f->id) < 0 ||
            asprintf(&tmp, "%s/.fault-%" PRIu64 ".tmp", f->chaos->dir, f->id) < 0)
                return -ENOMEM;

        fd = open_new_file(tmp, 0644);
        if (fd < 0)
                return fd;
        o = fdopen(fd, "we");
        if (!o) {
                r = -errno;
                safe_close(fd);
                (void) unlink(tmp);
                return r;
        }
        fprintf(o, "id=%" PRIu64 "\nkind=%s\nagent=%s\nunit=%s\nprofile=%s\n", f->id,
                chaos_kind_to_string(f->kind), f->agent, f->unit, f->profile);
        if (f->revert)
                fprintf(o, "revert=%s\n", f->revert);
        r = FAULT_VTABLE(f)->record(f, o);
        if (r >= 0)
                r = fflush(o) != 0 || ferror(o) ? -EIO : 0;
        if (r >= 0 && fsync(fileno(o)) < 0)
                r = -errno;
        fclose(o);
        if (r >= 0 && rename(tmp, path) < 0)
                r = -errno;
        if (r < 0) {
                (void) unlink(tmp);
                return r;
        }
        free(f->record);
        f->record = TAKE_PTR(path);
        return 0;
}

static void fault_record_remove(Fault *f) {
        if (!f->record)
                return;
        if (unlink(f->record) < 0 && errno != ENOENT)
                log_warning_errno(-errno, "Failed to remove %s, ignoring: %m", f->record);
        f->record = mfree(f->record);
}

/* A record read back as a fault of its kind (no Chaos): the common keys here, the kind's by its ->load.
 * The kind is known once its line is read, so the lines are read first. */
static int record_load(const char *path, Fault **ret) {
        _cleanup_strv_free_ char **lines = NULL;
        _cleanup_(fault_freep) Fault *f = NULL;
        _cleanup_free_ char *line = NULL;
        ChaosKind kind = _CHAOS_KIND_INVALID;
        FILE *file;
        size_t size = 0;
        int r;

        file = fopen(path, "re");
        if (!file)
                return -errno;
        r = 0;
        while (r >= 0 && getline(&line, &size, file) >= 0) {
                line[strcspn(line, "\n")] = '\0';
                if (strneq(line, "kind=", strlen("kind=")))
                        kind = chaos_kind_from_string(line + strlen("kind="));
                r = strv_extend(&lines, line);
        }
        fclose(file);
        if (r < 0)
                return r;
        if (kind < 0)
                return -EBADMSG;
        f = fault_alloc(kind);
        if (!f)
                return -ENOMEM;
        f->record = strdup(path);
        if (!f->record)
                return -ENOMEM;
        STRV_FOREACH(l, lines) {
                char *eq = strchr(*l, '='), *v;

                if (!eq)
                        continue;
                *eq = '\0';
                v = eq + 1;
                if (streq(*l, "id"))
                        r = safe_atou64(v, &f->id);
                else if (streq(*l, "kind"))
                        r = 0;
                else if (streq(*l, "agent"))
                        r = free_and_strdup(&f->agent, v);
                else if (streq(*l, "unit"))
                        r = free_and_strdup(&f->unit, v);
                else if (streq(*l, "profile"))
                        r = free_and_strdup(&f->profile, v);
                else if (streq(*l, "revert"))
                        r = free_and_strdup(&f->revert, v);
                else if (FAULT_VTABLE(f)->load)
                        r = FAULT_VTABLE(f)->load(f, *l, v);
                if (r < 0)
                        return r;
        }
        if (isempty(f->unit))
                return -EBADMSG;
        *ret = TAKE_PTR(f);
        return 0;
}

static void closedirp(DIR **d) {
        if (*d)
                (void) closedir(*d);
}

/* "unified-fault-revert-7" -> "unified-fault-revert-7.timer" */
static char *revert_unit(const char *revert, const char *suffix) {
        char *s;

        return asprintf(&s, "%s%s", revert, suffix) < 0 ? NULL : s;
}

static int on_startup_undo_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        const char *path = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(reply);

        if (e && !sd_bus_error_has_name(e, "org.freedesktop.systemd1.NoSuchUnit")) {
                log_warning("Failed to undo the fault recorded in %s: %s", path, e->message);
                return 0;
        }
        if (unlink(path) < 0 && errno != ENOENT)
                log_warning_errno(-errno, "Failed to remove %s, ignoring: %m", path);
        return 0;
}

/* Sends the undo of a recorded fault (whose record is "path"): through the SystemdClient, or, "sync",
 * straight on the bus with a timeout (see chaos_free()). 1 if a call was sent, 0 if there was nothing
 * to send. */
static int fault_undo_recorded(Chaos *c, const Fault *f, bool sync) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *msg = NULL;
        const FaultVTable *vt = FAULT_VTABLE(f);
        sd_bus *bus = c->manager->bus;
        char *path;
        int r;

        if (vt->cleanup)
                vt->cleanup(f);
        if (!vt->undo_message)
                return 0; /* an outage: adoption starts the agents of the active profile that are missing */
        r = vt->undo_message(f, bus, &msg);
        if (r <= 0)
                return r;

        if (sync) {
                _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;

                r = sd_bus_call(bus, msg, CHAOS_SYNC_UNDO_TIMEOUT, &error, NULL);
                if (r < 0 && !sd_bus_error_has_name(&error, "org.freedesktop.systemd1.NoSuchUnit"))
                        return r;
                if (f->revert) {
                        _cleanup_free_ char *timer = revert_unit(f->revert, ".timer");
                        _cleanup_(sd_bus_message_unrefp) sd_bus_message *stop = NULL;

                        /* Best effort: without the record, which goes next, its service is skipped. */
                        if (timer &&
                            sd_bus_message_new_method_call(bus, &stop, SYSTEMD_SERVICE, SYSTEMD_PATH,
                                                           SYSTEMD_MANAGER_IFACE, "StopUnit") >= 0 &&
                            sd_bus_message_append(stop, "ss", timer, "replace") >= 0)
                                (void) sd_bus_call(bus, stop, CHAOS_SYNC_UNDO_TIMEOUT, NULL, NULL);
                }
                return 1;
        }

        /* A timer still armed goes first, on the same lane: this daemon undoes the fault now, and the
         * timer's name is free for a fault of the same id later. Without the record, once the undo is
         * confirmed, its service would be skipped anyway. */
        if (f->revert) {
                _cleanup_free_ char *timer = revert_unit(f->revert, ".timer");

                if (!timer)
                        return -ENOMEM;
                (void) systemd_manager_call(c->manager->systemd, "StopUnit", &(SystemdCall) { .urgent = true }, "ss",
                                            timer, "replace");
        }
        path = strdup(f->record);
        if (!path)
                return -ENOMEM;
        r = systemd_client_call(c->manager->systemd, msg,
                                &(SystemdCall) { .callback = on_startup_undo_reply, .userdata = path, .destroy = free,
                                                 .urgent = true });
        return r < 0 ? r : 1;
}

int chaos_startup(Chaos *c) {
        _cleanup_(closedirp) DIR *d = NULL;
        struct dirent *de;
        unsigned n = 0;

        d = opendir(c->dir);
        if (!d)
                return errno == ENOENT ? 0 : -errno;
        while ((de = readdir(d))) {
                _cleanup_(fault_freep) Fault *rec = NULL;
                _cleanup_free_ char *path = NULL;
                const char *kind;
                int r;

                if (strncmp(de->d_name, "fault-", 6) != 0)
                        continue;
                if (asprintf(&path, "%s/%s", c->dir, de->d_name) < 0)
                        return -ENOMEM;
                r = record_load(path, &rec);
                if (r < 0) {
                        log_warning_errno(r, "Ignoring and removing unreadable fault record %s: %m", path);
                        (void) unlink(path);
                        continue;
                }
                kind = chaos_kind_to_string(rec->kind);
                c->next_id = MAX(c->next_id, rec->id + 1);
                log_notice("Undoing fault %" PRIu64 " (%s on %s) left by a previous instance.", rec->id, kind,
                           strna(rec->agent));
                (void) sd_journal_send("MESSAGE=Fault %" PRIu64 " (%s on %s) undone after a daemon restart.",
                                       rec->id, kind, strna(rec->agent), "MESSAGE_ID=" UNIFIED_MESSAGE_FAULT_UNDONE,
                                       "PRIORITY=%i", LOG_NOTICE, "UNIFIED_FAULT_ID=%" PRIu64, rec->id,
                                       "UNIFIED_FAULT_KIND=%s", kind, "UNIFIED_AGENT=%s", strempty(rec->agent), NULL);
                r = fault_undo_recorded(c, rec, false);
                if (r < 0)
                        log_warning_errno(r, "Failed to undo fault %" PRIu64 ", keeping its record: %m", rec->id);
                else if (r == 0)
                        (void) unlink(path);
                n++;
        }
        return (int) MIN(n, (unsigned) INT32_MAX);
}

/* ---------------------------------------------------------------------------------------------------
 * Calls to systemd */

static void fault_call_free(void *p) {
        FaultCall *call = p;

        if (!call)
                return;
        if (call->chaos) {
                if (call->prev)
                        call->prev->next = call->next;
                else
                        call->chaos->calls = call->next;
                if (call->next)
                        call->next->prev = call->prev;
        }
        free(call);
}

static int on_fault_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error);

/* A call whose reply goes to on_fault_reply() for "f", on the urgent lane: a fault's lever or undo
 * must not wait behind a profile start. */
static int fault_call_prepare(Fault *f, SystemdCall *ret) {
        Chaos *c = f->chaos;
        FaultCall *call = calloc(1, sizeof(FaultCall));

        if (!call)
                return -ENOMEM;
        *call = (FaultCall) { .chaos = c, .id = f->id, .next = c->calls };
        if (c->calls)
                c->calls->prev = call;
        c->calls = call;
        *ret = (SystemdCall) {
                .callback = on_fault_reply, .userdata = call, .destroy = fault_call_free, .urgent = true,
        };
        return 0;
}

int fault_call(Fault *f, sd_bus_message *m) {
        SystemdCall call;
        int r;

        r = fault_call_prepare(f, &call);
        if (r < 0)
                return r;
        return systemd_client_call(fault_manager(f)->systemd, m, &call);
}

int fault_call_manager(Fault *f, const char *method, const char *types, ...) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        va_list ap;
        int r;

        r = sd_bus_message_new_method_call(fault_bus(f), &m, SYSTEMD_SERVICE,
                                           SYSTEMD_PATH, SYSTEMD_MANAGER_IFACE, method);
        if (r < 0)
                return r;
        va_start(ap, types);
        r = sd_bus_message_appendv(m, types, ap);
        va_end(ap);
        if (r < 0)
                return r;
        return fault_call(f, m);
}

int fault_set_properties_new(sd_bus *bus, const char *unit, sd_bus_message **ret) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        int r;

        r = sd_bus_message_new_method_call(bus, &m, SYSTEMD_SERVICE, SYSTEMD_PATH, SYSTEMD_MANAGER_IFACE,
                                           "SetUnitProperties");
        if (r >= 0)
                r = sd_bus_message_append(m, "sb", unit, 1);
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "(sv)");
        if (r < 0)
                return r;
        *ret = TAKE_PTR(m);
        return 0;
}

/* ---------------------------------------------------------------------------------------------------
 * The revert timer: systemd undoes the lever when the daemon cannot */

/* Appends one (sv) with a string. */
static int append_string_property(sd_bus_message *m, const char *name, const char *value) {
        return sd_bus_message_append(m, "(sv)", name, "s", value);
}

/* StartTransientUnit(NAME.timer) with NAME.service as its auxiliary unit, as `systemd-run --on-calendar=`
 * builds it (systemd's src/run/run.c). The timer fires once, CHAOS_REVERT_MARGIN after the hold ends, and
 * goes away once elapsed or stopped. It is an absolute calendar time, not OnActiveSec=: systemd (257 at
 * least) counts OnActiveSec= again from a daemon-reload, and masking the daemon is one.
 *
 * The service runs `systemctl set-property --runtime UNIT` with the kind's old values, the same
 * SetUnitProperties call as the daemon's undo, so a timer that fires after that undo changes nothing.
 * It only runs while the fault's record exists: the daemon removes the record once systemd confirmed
 * its own undo, and a record outlives a daemon that was killed. */
static int fault_revert_message(Fault *f, char **args, sd_bus_message **ret) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        _cleanup_free_ char *timer = NULL, *service = NULL, *description = NULL;
        _cleanup_strv_free_ char **argv = NULL;
        usec_t at = now(CLOCK_REALTIME) + f->duration + CHAOS_REVERT_MARGIN;
        time_t sec = (time_t) (at / USEC_PER_SEC);
        char when[64];
        struct tm tm;
        int r;

        timer = revert_unit(f->revert, ".timer");
        service = revert_unit(f->revert, ".service");
        if (!timer || !service ||
            asprintf(&description, "unified: revert fault %" PRIu64 " (%s on %s) without unifiedd", f->id,
                     chaos_kind_to_string(f->kind), f->agent) < 0)
                return -ENOMEM;
        if (!gmtime_r(&sec, &tm) || strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm) == 0)
                return -EINVAL;
        (void) snprintf(when + strlen(when), sizeof(when) - strlen(when), ".%06u UTC",
                        (unsigned) (at % USEC_PER_SEC));
        const char *head[] = { SYSTEMCTL, "set-property", "--runtime", "--", f->unit };
        for (size_t i = 0; i < ELEMENTSOF(head); i++) {
                r = strv_extend(&argv, head[i]);
                if (r < 0)
                        return r;
        }
        STRV_FOREACH(a, args) {
                r = strv_extend(&argv, *a);
                if (r < 0)
                        return r;
        }

        r = sd_bus_message_new_method_call(fault_bus(f), &m, SYSTEMD_SERVICE, SYSTEMD_PATH, SYSTEMD_MANAGER_IFACE,
                                           "StartTransientUnit");
        if (r >= 0)
                r = sd_bus_message_append(m, "ss", timer, "fail");
        /* The timer. */
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "(sv)");
        if (r >= 0)
                r = append_string_property(m, "Description", description);
        if (r >= 0)
                r = sd_bus_message_append(m, "(sv)", "TimersCalendar", "a(ss)", 1, "OnCalendar", when);
        /* The default accuracy is a minute. */
        if (r >= 0)
                r = sd_bus_message_append(m, "(sv)", "AccuracyUSec", "t", (uint64_t) USEC_PER_MSEC);
        if (r >= 0)
                r = sd_bus_message_append(m, "(sv)", "RemainAfterElapse", "b", 0);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        /* The service. */
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "(sa(sv))");
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'r', "sa(sv)");
        if (r >= 0)
                r = sd_bus_message_append(m, "s", service);
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "(sv)");
        if (r >= 0)
                r = append_string_property(m, "Description", description);
        if (r >= 0)
                r = append_string_property(m, "Type", "oneshot");
        if (r >= 0)
                r = append_string_property(m, "CollectMode", "inactive-or-failed");
        if (r >= 0)
                r = sd_bus_message_append(m, "(sv)", "Conditions", "a(sbbs)", 1, "ConditionPathExists", 0, 0,
                                          f->record);
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'r', "sv");
        if (r >= 0)
                r = sd_bus_message_append(m, "s", "ExecStart");
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'v', "a(sasb)");
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "(sasb)");
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'r', "sasb");
        if (r >= 0)
                r = sd_bus_message_append(m, "s", SYSTEMCTL);
        if (r >= 0)
                r = sd_bus_message_append_strv(m, argv);
        if (r >= 0)
                r = sd_bus_message_append(m, "b", 0);
        for (unsigned i = 0; r >= 0 && i < 7; i++) /* r, a, v, (sv), a(sv), r, a */
                r = sd_bus_message_close_container(m);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(m);
        return 0;
}

/* Sends the revert timer of a fault whose kind has one: 1 if on its way, 0 if the fault needs none. */
static int fault_arm_revert(Fault *f) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        _cleanup_strv_free_ char **args = NULL;
        int r;

        if (!FAULT_VTABLE(f)->revert_args || f->duration == 0 || !f->record)
                return 0;
        r = FAULT_VTABLE(f)->revert_args(f, &args);
        if (r <= 0)
                return r;
        r = fault_revert_message(f, args, &m);
        if (r < 0)
                return r;
        f->phase = FAULT_PHASE_ARMING;
        r = fault_call(f, m);
        return r < 0 ? r : 1;
}

/* The revert timer was taken, or refused: the lever follows only once it was taken. */
static void fault_arm_reply(Fault *f, sd_bus_message *reply) {
        const sd_bus_error *e = sd_bus_message_get_error(reply);
        int r;

        if (e) {
                fault_set_detail(f, "cannot arm the revert timer %s.timer: %s", f->revert, e->message);
                f->failed = true;
        } else
                f->revert_armed = true;
        if (!f->failed) {
                r = fault_apply_lever(f);
                if (r >= 0)
                        return;
                fault_set_detail(f, "%s", strerror(-r));
                f->failed = true;
        }
        /* Nothing pulled yet (or the lever could not be sent): stop the timer if it runs, then finish. */
        f->phase = FAULT_PHASE_ACTIVE;
        if (f->revert_armed || f->lever_in_place) {
                fault_undo(f);
                return;
        }
        fault_record_remove(f);
        fault_finish(f);
}

/* ---------------------------------------------------------------------------------------------------
 * The end of a fault */

static usec_t fault_recovery_usec(const Fault *f) {
        ChaosResult r = {
                .kind = f->kind, .recovered = !f->failed && f->recovered != USEC_INFINITY,
                .injected = f->injected, .detected = f->detected, .undone = f->undone,
                .recovered_at = f->recovered,
        };
        return chaos_result_recovery_usec(&r);
}

/* The end: announce (or answer the call with the error), forget. Frees "f". */
void fault_finish(Fault *f) {
        Chaos *c = f->chaos;
        Manager *m = c->manager;
        bool ok = !f->failed && f->recovered != USEC_INFINITY;
        const char *kind = chaos_kind_to_string(f->kind);
        char buf[CHAOS_FORMAT_SECONDS_MAX];

        if (f->request) {
                /* systemd never took it: the caller gets the error instead of an id. */
                (void) sd_bus_reply_method_errorf(f->request, BUS_ERROR_FAULT_FAILED, "Failed to inject %s into %s: %s",
                                                  kind, fault_target(f), strna(f->detail));
        } else {
                usec_t t = fault_recovery_usec(f);

                if (ok)
                        (void) sd_journal_send("MESSAGE=Fault %" PRIu64 " (%s on %s) recovered in %s.", f->id, kind,
                                               fault_target(f), chaos_format_seconds(buf, sizeof(buf), t),
                                               "MESSAGE_ID=" UNIFIED_MESSAGE_FAULT_FINISHED, "PRIORITY=%i",
                                               LOG_INFO, "UNIFIED_FAULT_ID=%" PRIu64, f->id,
                                               "UNIFIED_FAULT_KIND=%s", kind, "UNIFIED_AGENT=%s",
                                               strempty(f->agent), "UNIFIED_RECOVERED=1",
                                               "UNIFIED_RECOVERY_USEC=%" PRIu64, t, NULL);
                else
                        (void) sd_journal_send("MESSAGE=Fault %" PRIu64 " (%s on %s) did not recover: %s.", f->id,
                                               kind, fault_target(f), strna(f->detail),
                                               "MESSAGE_ID=" UNIFIED_MESSAGE_FAULT_FINISHED, "PRIORITY=%i",
                                               LOG_WARNING, "UNIFIED_FAULT_ID=%" PRIu64, f->id,
                                               "UNIFIED_FAULT_KIND=%s", kind, "UNIFIED_AGENT=%s",
                                               strempty(f->agent), "UNIFIED_RECOVERED=0", NULL);
                bus_manager_send_fault_finished(m, &(BusFaultFinished) {
                        .id = f->id, .parent = f->parent, .kind = kind, .agent = strempty(f->agent),
                        .recovered = ok, .injected = f->injected, .detected = f->detected, .undone = f->undone,
                        .recovered_at = f->recovered, .detail = strempty(f->detail) });
        }

        chaos_remove_fault(c, f);
        if (f->parent != 0) {
                Fault *parent = chaos_find_fault(c, f->parent);
                if (parent && FAULT_VTABLE(parent)->child_finished)
                        FAULT_VTABLE(parent)->child_finished(parent, f, ok);
        }
        fault_free(f);
}

/* Not recovered, for "why": undo first if something is in effect, then finish. */
void fault_fail(Fault *f) {
        f->failed = true;
        if (IN_SET3(f->phase, FAULT_PHASE_UNDOING, FAULT_PHASE_PREPARING, FAULT_PHASE_INJECTING) ||
            f->phase == FAULT_PHASE_ARMING)
                /* The reply in flight sees "failed" and carries on from there. */
                return;
        if (f->lever_in_place) {
                fault_undo(f);
                return;
        }
        fault_record_remove(f);
        fault_finish(f);
}

/* ---------------------------------------------------------------------------------------------------
 * Timer */

static void fault_arm(Fault *f, usec_t at) {
        if (at == USEC_INFINITY) {
                (void) sd_event_source_set_enabled(f->timer, SD_EVENT_OFF);
                return;
        }
        if (sd_event_source_set_time(f->timer, at) < 0 ||
            sd_event_source_set_enabled(f->timer, SD_EVENT_ONESHOT) < 0)
                log_warning("Failed to arm the timer of fault %" PRIu64 ", it may outlive its duration.", f->id);
}

/* The next moment the timer matters: the end of the hold while it is in effect, then the deadline. */
static void fault_rearm(Fault *f) {
        const FaultVTable *vt = FAULT_VTABLE(f);

        if (vt->next_wakeup)
                fault_arm(f, vt->next_wakeup(f, now(CLOCK_BOOTTIME)));
        else if (f->phase == FAULT_PHASE_UNDOING)
                /* Until systemd confirms the undo, nothing but its next attempt is due. */
                fault_arm(f, f->undo_retry);
        else if (f->phase == FAULT_PHASE_ACTIVE && f->lever_in_place && f->undone == USEC_INFINITY)
                fault_arm(f, f->end);
        else
                fault_arm(f, f->end == USEC_INFINITY ? USEC_INFINITY : f->end + f->timeout);
}

static int on_fault_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        Fault *f = userdata;
        const FaultVTable *vt = FAULT_VTABLE(f);
        usec_t t = now(CLOCK_BOOTTIME);
        char buf[CHAOS_FORMAT_SECONDS_MAX];

        if (vt->timer) {
                vt->timer(f, t);
                return 0;
        }
        if (f->phase == FAULT_PHASE_UNDOING) {
                if (f->undo_retry != USEC_INFINITY && t >= f->undo_retry)
                        fault_undo_send(f);
                else
                        fault_rearm(f);
                return 0;
        }
        if (f->phase == FAULT_PHASE_ACTIVE && f->lever_in_place && f->undone == USEC_INFINITY && t >= f->end) {
                if (vt->undetected_in_hold && f->detected == USEC_INFINITY) {
                        fault_set_detail(f, "%s within %s", vt->undetected_in_hold,
                                         chaos_format_seconds(buf, sizeof(buf), f->duration));
                        fault_fail(f);
                        return 0;
                }
                fault_undo(f);
                return 0;
        }
        if (f->end != USEC_INFINITY && t >= f->end + f->timeout) {
                fault_set_detail(f, "%s within %s", f->detected == USEC_INFINITY ? "no effect seen" : "not recovered",
                                 chaos_format_seconds(buf, sizeof(buf), f->timeout));
                fault_fail(f);
                return 0;
        }
        fault_rearm(f);
        fault_evaluate(f, fault_manager(f)->state);
        return 0;
}

void fault_rearm_timer(Fault *f) {
        fault_rearm(f);
}

/* ---------------------------------------------------------------------------------------------------
 * Undo */

static void fault_undone(Fault *f) {
        f->undone = now(CLOCK_BOOTTIME);
        f->lever_in_place = false;
        f->phase = FAULT_PHASE_RECOVERING;
        fault_record_remove(f);
}

/* systemd refused (or the daemon could not send) a step of the undo: the same step goes out again after
 * 1 s, 2 s, 4 s, ... 30 s, for as long as the daemon runs. The fault stays undoing, its agent busy and its
 * record in place, so that a daemon that stops meanwhile leaves the undo to the next one (and to the
 * revert timer, if it is still armed). */
static void fault_undo_retry(Fault *f, const char *step, const char *error) {
        BackoffConfig b = { .initial = CHAOS_UNDO_RETRY_INITIAL, .max = CHAOS_UNDO_RETRY_MAX };
        usec_t delay = backoff_ceiling(&b, f->undo_attempts);
        char buf[CHAOS_FORMAT_SECONDS_MAX];
        char *s;

        f->undo_attempts++;
        chaos_format_seconds(buf, sizeof(buf), delay);
        log_warning("Fault %" PRIu64 " on %s: failed to %s (attempt %u), trying again in %s: %s", f->id, f->unit,
                    step, f->undo_attempts, buf, error);
        if (asprintf(&s, "failed to %s (attempt %u, again in %s): %s", step, f->undo_attempts, buf, error) >= 0) {
                free(f->undo_error);
                f->undo_error = s;
        }
        f->undo_retry = now(CLOCK_BOOTTIME) + delay;
        fault_rearm(f);
}

static void fault_undo_reply(Fault *f, sd_bus_message *reply) {
        const sd_bus_error *e = sd_bus_message_get_error(reply);
        /* NoSuchUnit: the unit is gone, and its runtime settings with it (or the timer fired already). */
        bool refused = e && !sd_bus_error_has_name(e, "org.freedesktop.systemd1.NoSuchUnit");

        if (f->revert_armed) {
                /* The revert timer's StopUnit: it goes before the undo, so that a timer cannot fire after an
                 * undo that a profile switch made different from its own. */
                if (refused) {
                        fault_undo_retry(f, "stop the revert timer", e->message);
                        return;
                }
                f->revert_armed = false;
                fault_undo_send(f);
                return;
        }
        if (refused) {
                fault_undo_retry(f, "undo", e->message);
                return;
        }
        if (f->undo_attempts > 0)
                log_notice("Fault %" PRIu64 " on %s undone after %u refused attempts.", f->id, f->unit,
                           f->undo_attempts);
        f->undo_error = mfree(f->undo_error);
        fault_undone(f);
        (void) sd_journal_send("MESSAGE=Fault %" PRIu64 " (%s on %s) undone.", f->id, chaos_kind_to_string(f->kind),
                               f->agent, "MESSAGE_ID=" UNIFIED_MESSAGE_FAULT_UNDONE, "PRIORITY=%i", LOG_INFO,
                               "UNIFIED_FAULT_ID=%" PRIu64, f->id, "UNIFIED_FAULT_KIND=%s",
                               chaos_kind_to_string(f->kind), "UNIFIED_AGENT=%s", f->agent, NULL);
        if (f->failed) {
                fault_finish(f);
                return;
        }
        fault_rearm(f);
        fault_evaluate(f, fault_manager(f)->state);
}

/* One attempt at the next step of the undo: the revert timer's StopUnit while it is armed, then the kind's
 * undo. */
static void fault_undo_send(Fault *f) {
        const FaultVTable *vt = FAULT_VTABLE(f);
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *msg = NULL;
        int r = 0;

        f->undo_retry = USEC_INFINITY;
        if (f->revert_armed) {
                _cleanup_free_ char *timer = revert_unit(f->revert, ".timer");

                r = timer ? fault_call_manager(f, "StopUnit", "ss", timer, "replace") : -ENOMEM;
                if (r < 0)
                        fault_undo_retry(f, "send the revert timer's stop", strerror(-r));
                return;
        }
        if (!f->lever_in_place)
                r = 0; /* only the timer was armed */
        else if (vt->undo)
                r = vt->undo(f);
        else if (vt->undo_message) {
                r = vt->undo_message(f, fault_bus(f), &msg);
                if (r > 0) {
                        r = fault_call(f, msg);
                        if (r >= 0)
                                r = 1;
                }
        }
        if (r < 0) {
                fault_undo_retry(f, "send the undo", strerror(-r));
                return;
        }
        if (r > 0)
                return; /* fault_undo_reply() carries on */

        fault_undone(f);
        if (f->failed) {
                fault_finish(f);
                return;
        }
        fault_rearm(f);
        fault_evaluate(f, fault_manager(f)->state);
}

static void fault_undo(Fault *f) {
        const FaultVTable *vt = FAULT_VTABLE(f);

        if (vt->cleanup)
                vt->cleanup(f);
        f->phase = FAULT_PHASE_UNDOING;
        f->undo_attempts = 0;
        fault_undo_send(f);
}

/* ---------------------------------------------------------------------------------------------------
 * Detection and recovery */

static bool agent_went_down(const FaultAgentState *s, uint32_t restarts_before) {
        return !s->ok || s->n_restarts != restarts_before;
}

void fault_track(Fault *f, const FaultObservation *o) {
        usec_t t = o->now;

        if (o->state == PROFILE_STATE_FAILED && f->detected != USEC_INFINITY && f->recovered == USEC_INFINITY)
                f->profile_failed = true;
        if (f->detected == USEC_INFINITY && agent_went_down(&o->target, f->restarts_before)) {
                f->detected = t;
                free(f->result);
                f->result = o->target.result ? strdup(o->target.result) : NULL;
        }
        for (size_t i = 0; i < f->n_watches; i++) {
                FaultWatch *w = f->watches + i;
                const FaultAgentState *s = o->watches + i;

                if (!s->present)
                        continue;
                if (w->down == USEC_INFINITY && agent_went_down(s, w->restarts_before))
                        w->down = t;
                if (w->down != USEC_INFINITY && w->up == USEC_INFINITY && s->healthy)
                        w->up = t;
        }
        if (f->detected != USEC_INFINITY && f->target_up == USEC_INFINITY && o->target.healthy)
                f->target_up = t;
}

bool fault_target_back(const Fault *f, const FaultObservation *o) {
        return IN_SET2(f->phase, FAULT_PHASE_ACTIVE, FAULT_PHASE_RECOVERING) && !f->lever_in_place &&
               f->detected != USEC_INFINITY && f->target_up != USEC_INFINITY && o->target.healthy &&
               o->state != PROFILE_STATE_FAILED;
}

static FaultAgentState agent_state(const AgentRuntime *a) {
        if (!a)
                return (FaultAgentState) {};
        return (FaultAgentState) {
                .present = true,
                .ok = agent_runtime_status(a) == AGENT_STATUS_OK,
                .healthy = chaos_agent_is_healthy(a),
                .n_restarts = a->n_restarts,
                .result = a->result,
        };
}

static void fault_evaluate(Fault *f, ProfileState state) {
        const FaultVTable *vt = FAULT_VTABLE(f);
        Manager *m = fault_manager(f);
        _cleanup_free_ FaultAgentState *watches = NULL;
        FaultObservation o;
        FaultVerdict v;
        AgentRuntime *a;

        if (!vt->evaluate)
                return;
        if (!m->active || !streq(m->active->name, f->profile) ||
            IN_SET2(state, PROFILE_STATE_STOPPING, PROFILE_STATE_INACTIVE)) {
                fault_set_detail(f, "profile %s was stopped or replaced", f->profile);
                f->aborted = true;
                fault_fail(f);
                return;
        }
        if (f->phase == FAULT_PHASE_PREPARING)
                return;
        /* Looked up by name on every evaluation: an agent may leave with a switch at any time. */
        a = manager_find_agent(m, f->agent);
        if (!a) {
                fault_set_detail(f, "agent %s left the profile", f->agent);
                f->aborted = true;
                fault_fail(f);
                return;
        }

        watches = calloc(MAX(f->n_watches, (size_t) 1), sizeof(FaultAgentState));
        if (!watches)
                return (void) log_oom();
        for (size_t i = 0; i < f->n_watches; i++)
                watches[i] = agent_state(manager_find_agent(m, f->watches[i].name));
        o = (FaultObservation) {
                .now = now(CLOCK_BOOTTIME), .state = state, .target = agent_state(a), .watches = watches,
        };
        fault_track(f, &o);
        if (!IN_SET2(f->phase, FAULT_PHASE_ACTIVE, FAULT_PHASE_RECOVERING))
                return;

        v = vt->evaluate(f, &o);
        switch (v.kind) {
        case FAULT_VERDICT_PENDING:
                return;
        case FAULT_VERDICT_RELEASE:
                if (f->phase == FAULT_PHASE_ACTIVE && f->lever_in_place)
                        fault_undo(f);
                return;
        case FAULT_VERDICT_RECOVERED:
        case FAULT_VERDICT_FAILED:
                f->recovered = o.now;
                f->failed = f->failed || v.kind == FAULT_VERDICT_FAILED;
                if (!isempty(v.detail))
                        fault_set_detail(f, "%s", v.detail);
                fault_finish(f);
                return;
        }
}

void chaos_agents_changed(Chaos *c, ProfileState state) {
        _cleanup_free_ uint64_t *ids = NULL;
        size_t n;

        if (!c || c->n_faults == 0)
                return;
        /* Evaluating may finish (and free) faults, and a finished fault may finish its stress run. */
        n = c->n_faults;
        ids = calloc(n, sizeof(uint64_t));
        if (!ids)
                return (void) log_oom();
        for (size_t i = 0; i < n; i++)
                ids[i] = c->faults[i]->id;
        for (size_t i = 0; i < n; i++) {
                Fault *f = chaos_find_fault(c, ids[i]);
                if (f)
                        fault_evaluate(f, state);
        }
}

/* ---------------------------------------------------------------------------------------------------
 * Injection */

static void fault_injected(Fault *f) {
        const char *kind = chaos_kind_to_string(f->kind);

        if (f->request) {
                (void) sd_bus_reply_method_return(f->request, "t", f->id);
                f->request = sd_bus_message_unref(f->request);
        }
        (void) sd_journal_send("MESSAGE=Fault %" PRIu64 " (%s) injected into %s.", f->id, kind, fault_target(f),
                               "MESSAGE_ID=" UNIFIED_MESSAGE_FAULT_INJECTED, "PRIORITY=%i", LOG_NOTICE,
                               "UNIFIED_FAULT_ID=%" PRIu64, f->id, "UNIFIED_FAULT_KIND=%s", kind,
                               "UNIFIED_AGENT=%s", strempty(f->agent), "UNIFIED_PROFILE=%s", f->profile, NULL);
        f->phase = FAULT_PHASE_ACTIVE;
        fault_rearm(f);
        fault_evaluate(f, fault_manager(f)->state);
}

/* The lever's call came back. */
static void fault_lever_reply(Fault *f, sd_bus_message *reply) {
        const sd_bus_error *e = sd_bus_message_get_error(reply);

        if (e) {
                fault_set_detail(f, "%s", e->message);
                f->failed = true;
                f->phase = FAULT_PHASE_ACTIVE;
                /* A SetUnitProperties call may have applied its first property: undo what is recorded. */
                if (f->lever_in_place && FAULT_VTABLE(f)->undo_message) {
                        fault_undo(f);
                        return;
                }
                fault_record_remove(f);
                fault_finish(f);
                return;
        }
        if (FAULT_VTABLE(f)->lever_is_detection)
                f->detected = now(CLOCK_BOOTTIME);
        if (f->failed) {
                /* Aborted while the call was in flight. */
                f->phase = FAULT_PHASE_ACTIVE;
                fault_fail(f);
                return;
        }
        fault_injected(f);
}

/* Has the kind pull its lever. */
static int fault_apply_lever(Fault *f) {
        const FaultVTable *vt = FAULT_VTABLE(f);
        int r;

        f->lever_in_place = !vt->instant;
        f->injected = now(CLOCK_BOOTTIME);
        if (vt->instant)
                f->undone = f->injected;
        f->phase = FAULT_PHASE_INJECTING;
        r = vt->apply(f);
        if (r < 0)
                return r;
        f->end = f->injected + (vt->instant ? 0 : f->duration);
        return 0;
}

/* Writes the record, arms the revert timer (the lever follows its reply), or pulls the lever at once. */
static int fault_pull_lever(Fault *f) {
        const FaultVTable *vt = FAULT_VTABLE(f);
        int r;

        if (vt->revert_args && f->duration > 0 &&
            asprintf(&f->revert, CHAOS_REVERT_PREFIX "%" PRIu64, f->id) < 0) {
                f->revert = NULL;
                return -ENOMEM;
        }
        if (vt->record) {
                r = fault_record_write(f);
                if (r < 0)
                        return r;
        }
        r = fault_arm_revert(f);
        if (r != 0)
                return r < 0 ? r : 0;
        return fault_apply_lever(f);
}

/* The unit's current values came back: the kind keeps what it must restore, then the lever. */
static void fault_prepare_reply(Fault *f, sd_bus_message *reply) {
        const sd_bus_error *e = sd_bus_message_get_error(reply);
        int r;

        if (e) {
                fault_set_detail(f, "%s", e->message);
                f->failed = true;
                fault_finish(f);
                return;
        }
        r = sd_bus_message_enter_container(reply, 'a', "{sv}");
        while (r >= 0 && (r = sd_bus_message_enter_container(reply, 'e', "sv")) > 0) {
                const char *name;

                r = sd_bus_message_read(reply, "s", &name);
                if (r >= 0)
                        r = FAULT_VTABLE(f)->property(f, name, reply);
                if (r == 0)
                        r = sd_bus_message_skip(reply, "v");
                if (r >= 0)
                        r = sd_bus_message_exit_container(reply);
        }
        if (r < 0) {
                fault_set_detail(f, "cannot read the properties of %s: %s", f->unit, strerror(-r));
                f->failed = true;
                fault_finish(f);
                return;
        }
        if (f->failed) {
                fault_finish(f);
                return;
        }
        r = fault_pull_lever(f);
        if (r < 0) {
                fault_set_detail(f, "%s", strerror(-r));
                f->failed = true;
                f->phase = FAULT_PHASE_ACTIVE;
                if (f->lever_in_place)
                        fault_undo(f);
                else {
                        fault_record_remove(f);
                        fault_finish(f);
                }
        }
}

static int on_fault_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        FaultCall *call = userdata;
        Fault *f = call->chaos ? chaos_find_fault(call->chaos, call->id) : NULL;

        if (!f)
                return 0; /* finished meanwhile, or the daemon is going */
        /* A fault has one call in flight at a time, and stays in the phase that sent it until it replies. */
        switch (f->phase) {
        case FAULT_PHASE_PREPARING:
                fault_prepare_reply(f, reply);
                break;
        case FAULT_PHASE_ARMING:
                fault_arm_reply(f, reply);
                break;
        case FAULT_PHASE_INJECTING:
                fault_lever_reply(f, reply);
                break;
        case FAULT_PHASE_UNDOING:
                fault_undo_reply(f, reply);
                break;
        default:
                log_debug("Ignoring a reply for fault %" PRIu64 ", which expects none.", f->id);
        }
        return 0;
}

/* Sends the first call of a new fault. Negative: nothing was sent, the caller drops the fault. */
int fault_start(Fault *f) {
        const FaultVTable *vt = FAULT_VTABLE(f);
        Chaos *c = f->chaos;
        Manager *m = c->manager;
        usec_t t = now(CLOCK_BOOTTIME);
        AgentRuntime *a;
        int r;

        r = sd_event_add_time(m->event, &f->timer, CLOCK_BOOTTIME, 0, 0, on_fault_timer, f);
        if (r < 0)
                return r;
        (void) sd_event_source_set_enabled(f->timer, SD_EVENT_OFF);

        if (vt->no_target) {
                f->injected = f->detected = t;
                f->end = t + f->duration;
                fault_injected(f);
                return vt->apply(f);
        }

        a = manager_find_agent(m, f->agent);
        assert_return(a, -ESRCH);
        f->restarts_before = a->n_restarts;
        /* What restarts an agent counts against systemd's start limit: remember it for random picks. */
        if (vt->restarts_target)
                hit_record(c, a->name, t);
        if (vt->watch) {
                r = vt->watch(f);
                if (r < 0)
                        return r;
                for (size_t i = 0; i < f->n_watches; i++)
                        if (f->watches[i].acted_on)
                                hit_record(c, f->watches[i].name, t);
        }
        if (vt->property) {
                SystemdCall call;

                f->phase = FAULT_PHASE_PREPARING;
                r = fault_call_prepare(f, &call);
                if (r < 0)
                        return r;
                return systemd_get_unit_properties(m->systemd, f->unit, SYSTEMD_SERVICE_IFACE, &call);
        }
        return fault_pull_lever(f);
}

/* ---------------------------------------------------------------------------------------------------
 * The D-Bus method */

static int parse_kinds(const char *s, FaultOptions *o, sd_bus_error *error) {
        _cleanup_free_ char *copy = strdup(s);
        char *save = NULL;

        if (!copy)
                return -ENOMEM;
        o->n_kinds = 0;
        for (char *tok = strtok_r(copy, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
                ChaosKind k = chaos_kind_from_string(tok);

                if (!IN_SET2(k, CHAOS_KIND_KILL, CHAOS_KIND_MEMORY))
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                                 "Stress faults are kill or memory, not '%s'.", tok);
                if (o->n_kinds < ELEMENTSOF(o->kinds))
                        o->kinds[o->n_kinds++] = k;
        }
        if (o->n_kinds == 0)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Option 'kinds' names no kind.");
        return 0;
}

static int parse_options(sd_bus_message *msg, FaultOptions *o, sd_bus_error *error) {
        int r;

        *o = (FaultOptions) {
                .signal = SIGKILL, .timeout = CHAOS_TIMEOUT_DEFAULT, .interval = CHAOS_STRESS_INTERVAL_DEFAULT,
                .max_in_flight = CHAOS_STRESS_IN_FLIGHT_DEFAULT, .kinds = { CHAOS_KIND_KILL }, .n_kinds = 1,
        };
        r = sd_bus_message_enter_container(msg, 'a', "{sv}");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_enter_container(msg, 'e', "sv")) > 0) {
                const char *key, *contents;
                char type;

                r = sd_bus_message_read(msg, "s", &key);
                if (r < 0)
                        return r;
                r = sd_bus_message_peek_type(msg, &type, &contents);
                if (r < 0)
                        return r;
                r = sd_bus_message_enter_container(msg, 'v', contents);
                if (r < 0)
                        return r;

                if (streq(key, "signal") && streq(contents, "s")) {
                        const char *s;
                        r = sd_bus_message_read(msg, "s", &s);
                        if (r < 0)
                                return r;
                        o->signal = chaos_parse_signal(s);
                        if (o->signal < 0)
                                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Invalid signal '%s'.", s);
                } else if (streq(key, "signal") && streq(contents, "i")) {
                        int32_t i;
                        r = sd_bus_message_read(msg, "i", &i);
                        if (r < 0)
                                return r;
                        if (i < 1 || i >= NSIG)
                                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                                         "Invalid signal %" PRIi32 ".", i);
                        o->signal = i;
                } else if (streq(key, "timeout") && streq(contents, "t")) {
                        r = sd_bus_message_read(msg, "t", &o->timeout);
                        if (r < 0)
                                return r;
                        if (o->timeout == 0 || o->timeout > CHAOS_DURATION_MAX)
                                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                                         "Option 'timeout' must be between 1us and 1h.");
                } else if (streq(key, "interval") && streq(contents, "t")) {
                        r = sd_bus_message_read(msg, "t", &o->interval);
                        if (r < 0)
                                return r;
                        if (o->interval < 10 * USEC_PER_MSEC || o->interval > CHAOS_DURATION_MAX)
                                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                                         "Option 'interval' must be between 10ms and 1h.");
                } else if (streq(key, "max-in-flight") && streq(contents, "u")) {
                        r = sd_bus_message_read(msg, "u", &o->max_in_flight);
                        if (r < 0)
                                return r;
                        if (o->max_in_flight == 0 || o->max_in_flight > CHAOS_FAULTS_MAX)
                                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                                         "Option 'max-in-flight' must be between 1 and %u.",
                                                         CHAOS_FAULTS_MAX);
                } else if (streq(key, "limit") && streq(contents, "t")) {
                        r = sd_bus_message_read(msg, "t", &o->limit);
                        if (r < 0)
                                return r;
                        if (o->limit == 0 || o->limit == UINT64_MAX)
                                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                                         "Option 'limit' must be a number of bytes.");
                } else if (streq(key, "kinds") && streq(contents, "s")) {
                        const char *s;
                        r = sd_bus_message_read(msg, "s", &s);
                        if (r < 0)
                                return r;
                        r = parse_kinds(s, o, error);
                        if (r < 0)
                                return r;
                } else
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                                 "Unknown option '%s' of type '%s'.", key, contents);

                r = sd_bus_message_exit_container(msg);
                if (r < 0)
                        return r;
                r = sd_bus_message_exit_container(msg);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;
        return sd_bus_message_exit_container(msg);
}

/* Which agent the fault goes to: the named one if it can take it, else one picked at random. */
static int resolve_target(Chaos *c, ChaosKind kind, const char *name, AgentRuntime **ret, sd_bus_error *error) {
        const FaultVTable *vt = fault_vtable(kind);
        Manager *m = c->manager;
        AgentRuntime *a;
        int r;

        if (vt->no_target) {
                if (!isempty(name))
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                                 "A %s run picks its agents itself: pass \"\", not '%s'.",
                                                 chaos_kind_to_string(kind), name);
                *ret = NULL;
                return 0;
        }
        if (isempty(name) && vt->default_agent && manager_find_agent(m, vt->default_agent))
                name = vt->default_agent;

        if (isempty(name)) {
                a = chaos_pick_agent(c, kind, now(CLOCK_BOOTTIME));
                if (!a)
                        return sd_bus_error_setf(error, BUS_ERROR_NO_ELIGIBLE_AGENT,
                                                 "No agent of profile %s can take a %s fault now (running, not "
                                                 "hit within its start limit window, no fault in flight%s).",
                                                 m->active->name, chaos_kind_to_string(kind),
                                                 strempty(vt->eligible_hint));
                *ret = a;
                return 0;
        }

        if (!manager_name_is_valid(name))
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Invalid agent name '%s'.", name);
        a = manager_find_agent(m, name);
        if (!a || !a->def)
                return sd_bus_error_setf(error, BUS_ERROR_NO_SUCH_AGENT, "Profile '%s' has no agent '%s'.",
                                         m->active->name, name);
        if (agent_runtime_status(a) != AGENT_STATUS_OK ||
            (agent_runtime_is_lazy(a) && !vt->takes_lazy && !agent_runtime_is_active(a)))
                return sd_bus_error_setf(error, BUS_ERROR_AGENT_NOT_RUNNING,
                                         "Agent '%s' is not running (%s), there is nothing to inject into.", name,
                                         strna(a->active_state));
        if (chaos_agent_is_touched(c, name))
                return sd_bus_error_setf(error, BUS_ERROR_BUSY, "Agent '%s' already has a fault in flight.", name);
        if (vt->check) {
                r = vt->check(c, a, error);
                if (r < 0)
                        return r;
        }
        *ret = a;
        return 0;
}

int chaos_method_inject_fault(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        _cleanup_(fault_freep) Fault *f = NULL;
        Manager *m = userdata;
        Chaos *c = m->chaos;
        const FaultVTable *vt;
        const char *kind_s, *agent;
        FaultOptions o;
        AgentRuntime *a = NULL;
        ChaosKind kind;
        usec_t duration;
        int r;

        assert_return(c, -EINVAL);
        r = sd_bus_message_read(msg, "sst", &kind_s, &agent, &duration);
        if (r < 0)
                return r;
        kind = chaos_kind_from_string(kind_s);
        if (kind < 0)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "Unknown fault kind '%s' (kill, memory, partition, outage, cascade, stress).",
                                         kind_s);
        vt = fault_vtable(kind);
        if (duration > CHAOS_DURATION_MAX)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Duration %" PRIu64 "us is over an hour.",
                                         duration);
        r = parse_options(msg, &o, error);
        if (r < 0)
                return r;
        if (!m->active)
                return sd_bus_error_setf(error, BUS_ERROR_NO_ACTIVE_PROFILE, "No profile is active.");
        if (IN_SET2(m->state, PROFILE_STATE_STARTING, PROFILE_STATE_STOPPING) || m->switching)
                return sd_bus_error_setf(error, BUS_ERROR_BUSY, "Profile %s is %s; inject faults once it runs.",
                                         m->active->name, profile_state_to_string(m->state));
        if (c->n_faults >= CHAOS_FAULTS_MAX)
                return sd_bus_error_setf(error, BUS_ERROR_BUSY, "%u faults are in flight already.", CHAOS_FAULTS_MAX);
        r = resolve_target(c, kind, agent, &a, error);
        if (r < 0)
                return r;

        r = polkit_check(m->polkit, msg, ACTION_INJECT_FAULTS, error);
        if (r < 0)
                return r;
        if (r == 0)
                return 1; /* polkit is asked; this call comes back with the answer */

        r = fault_new(c, kind, a ? a->name : NULL, &f);
        if (r < 0)
                return r;
        f->timeout = o.timeout;
        f->duration = duration > 0 ? duration : vt->default_duration;
        if (vt->configure) {
                r = vt->configure(f, &o);
                if (r < 0)
                        return r;
        }
        f->request = sd_bus_message_ref(msg);

        r = chaos_add_fault(c, f);
        if (r < 0)
                return r;
        Fault *added = TAKE_PTR(f);
        r = fault_start(added);
        if (r < 0) {
                added->request = sd_bus_message_unref(added->request);
                chaos_remove_fault(c, added);
                fault_record_remove(added);
                fault_free(added);
                return sd_bus_error_set_errnof(error, r, "Failed to inject the fault: %m");
        }
        return 1;
}

/* ---------------------------------------------------------------------------------------------------
 * Startup and shutdown */

int chaos_new(Manager *m, Chaos **ret) {
        _cleanup_(chaos_freep) Chaos *c = NULL;

        c = calloc(1, sizeof(Chaos));
        if (!c)
                return -ENOMEM;
        c->manager = m;
        c->next_id = 1;
        if (asprintf(&c->dir, "%s/" CHAOS_FAULT_DIR, m->state_dir) < 0) {
                c->dir = NULL;
                return -ENOMEM;
        }
        *ret = TAKE_PTR(c);
        return 0;
}

Chaos *chaos_free(Chaos *c) {
        if (!c)
                return NULL;

        /* Calls still in flight stay with the SystemdClient; their replies must not find us. */
        for (FaultCall *call = c->calls; call; call = call->next)
                call->chaos = NULL;
        c->calls = NULL;

        while (c->n_faults > 0) {
                Fault *f = c->faults[c->n_faults - 1];

                c->n_faults--;
                /* The daemon is exiting: the event loop will not run again, so nothing queued in the
                 * SystemdClient would go out. A direct call with a short timeout is the last chance to give
                 * the unit its values back; if it does not work, the record stays for the next start. */
                if (f->lever_in_place && f->record && c->manager->bus && sd_bus_is_open(c->manager->bus) > 0 &&
                    fault_undo_recorded(c, f, true) > 0)
                        fault_record_remove(f);
                f->request = sd_bus_message_unref(f->request);
                fault_free(f);
        }
        free(c->faults);
        for (size_t i = 0; i < c->n_hits; i++)
                free(c->hits[i].agent);
        free(c->hits);
        free(c->dir);
        return mfree(c);
}
