/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The fault engine: faults through systemd's levers, undone on time, measured from events. */

#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <systemd/sd-event.h>
#include <systemd/sd-journal.h>

#include "backoff.h"
#include "agent-control.h"
#include "bus-error.h"
#include "bus-manager.h"
#include "chaos.h"
#include "fs-util.h"
#include "log.h"
#include "manager.h"
#include "message-ids.h"
#include "parse-util.h"
#include "polkit.h"
#include "string-util.h"
#include "strv.h"
#include "supervisor.h"
#include "systemd-client.h"

/* The SetUnitProperties / undo calls of a dying daemon wait this long at most. */
#define CHAOS_SYNC_UNDO_TIMEOUT (2 * USEC_PER_SEC)
/* When the profile does not say how long systemd's start limit window is. */
#define CHAOS_REUSE_DEFAULT (60 * USEC_PER_SEC)
/* An agent with a fault file leaks from the squeezed limit's start: this much room is left above what it
 * uses, so that the kernel kills it while it allocates rather than at once. */
#define CHAOS_LEAK_HEADROOM (8ULL * 1024 * 1024)
/* Without a fault file the limit goes to one page: below what any process needs, so the kernel's reclaim
 * fails and it OOM-kills in the cgroup right away. */
#define CHAOS_SQUEEZE_DEFAULT 4096ULL

#define IN_SET2(x, a, b) ((x) == (a) || (x) == (b))
#define IN_SET3(x, a, b, c) (IN_SET2(x, a, b) || (x) == (c))

typedef enum FaultPhase {
        FAULT_PHASE_PREPARING,          /* reading the unit's current values */
        FAULT_PHASE_INJECTING,          /* the lever's call is on its way */
        FAULT_PHASE_ACTIVE,             /* in effect: waiting for detection, the duration, recovery */
        FAULT_PHASE_UNDOING,            /* the undo's call is on its way */
        FAULT_PHASE_RECOVERING,         /* undone: waiting for health */
} FaultPhase;

typedef struct IpPrefix {
        int32_t family;
        uint8_t address[16];
        uint32_t prefixlen;
} IpPrefix;

typedef struct ChainMember {
        char *name;
        uint32_t restarts_before;
        usec_t down;
        usec_t up;
} ChainMember;

typedef struct Fault {
        Chaos *chaos;
        uint64_t id;
        uint64_t parent;
        ChaosKind kind;
        char *agent;
        char *unit;
        char *profile;
        char *record;                   /* path of the record, NULL if none was written */

        usec_t duration;
        usec_t timeout;
        int signal;
        uint64_t limit;                 /* memory: the squeezed MemoryMax= */

        FaultPhase phase;
        usec_t injected, detected, undone, recovered;
        usec_t end;                     /* when the fault's hold ends (= injected for instant ones) */
        uint32_t restarts_before;
        bool failed;                    /* finishes as not recovered once undone */
        bool lever_in_place;            /* something to undo */
        bool aborted;                   /* the profile went away: undo without restarting anything */
        char *detail;

        /* memory */
        uint64_t old_memory_max, old_swap_max, memory_current;
        char *fault_file;
        char *result;                   /* the unit's Result= when it went down */
        /* partition */
        IpPrefix *old_deny;
        size_t n_old_deny;
        /* cascade */
        ChainMember *chain;
        size_t n_chain;
        usec_t target_up;
        /* outage */
        bool profile_failed;
        char *dependent_down;
        /* stress */
        ChaosKind *kinds;
        size_t n_kinds;
        usec_t interval;
        unsigned max_in_flight;
        unsigned n_children, n_children_failed, n_in_flight;
        usec_t last_child_recovered;
        bool ticking;                   /* inside stress_tick(): do not finish (and free) the run */

        sd_bus_message *request;        /* the InjectFault call, answered once systemd took the fault */
        sd_bus_slot *slot;              /* the one systemd call in flight */
        sd_event_source *timer;
} Fault;

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
};

static void fault_evaluate(Fault *f, ProfileState state);
static void fault_undo(Fault *f);
static int fault_start(Fault *f);
static void stress_tick(Fault *f);

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

static Manager *fault_manager(Fault *f) {
        return f->chaos->manager;
}

/* For messages: the agent, or what a stress run acts on. */
static const char *fault_target(const Fault *f) {
        return isempty(f->agent) ? "the profile" : f->agent;
}

static void fault_set_detail(Fault *f, const char *format, ...) _printf_(2, 3);
static void fault_set_detail(Fault *f, const char *format, ...) {
        va_list ap;
        char *s;

        if (f->detail)
                return; /* the first reason is the one that matters */
        va_start(ap, format);
        if (vasprintf(&s, format, ap) >= 0)
                f->detail = s;
        va_end(ap);
}

static const char *agent_fault_file(const Agent *def) {
        STRV_FOREACH(arg, def ? def->exec : NULL) {
                if (streq(*arg, "--fault-file"))
                        return arg[1];
                if (strneq(*arg, "--fault-file=", strlen("--fault-file=")))
                        return *arg + strlen("--fault-file=");
        }
        return NULL;
}

/* Whether "b" requires "a" (directly). */
static bool agent_requires(const AgentRuntime *b, const char *a) {
        return b->def && strv_contains(b->def->requires, a);
}

static bool agent_has_dependents(Manager *m, const AgentRuntime *a) {
        for (size_t i = 0; i < m->n_agents; i++)
                if (agent_requires(m->agents[i], a->name))
                        return true;
        return false;
}

/* The agents that require "root", directly or through others, in profile order, without "root". */
static int agent_dependents(Manager *m, const char *root, char ***ret) {
        _cleanup_strv_free_ char **set = NULL;
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
        /* Drop the root (the first entry), keep profile order for the rest. */
        _cleanup_strv_free_ char **deps = NULL;
        for (size_t i = 0; i < m->n_agents; i++)
                if (!streq(m->agents[i]->name, root) && strv_contains(set, m->agents[i]->name)) {
                        r = strv_extend(&deps, m->agents[i]->name);
                        if (r < 0)
                                return r;
                }
        *ret = TAKE_PTR(deps);
        return 0;
}

static usec_t agent_reuse_window(Manager *m, const AgentRuntime *a) {
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
static bool hit_recent(Chaos *c, const AgentRuntime *a, usec_t t) {
        for (size_t i = 0; i < c->n_hits; i++)
                if (streq(c->hits[i].agent, a->name))
                        return t < c->hits[i].at + agent_reuse_window(c->manager, a);
        return false;
}

/* Whether a fault in flight acts on "name" (as its target or in its cascade chain). */
static bool agent_is_touched(Chaos *c, const char *name) {
        for (size_t i = 0; i < c->n_faults; i++) {
                Fault *f = c->faults[i];

                if (f->kind == CHAOS_KIND_STRESS)
                        continue;
                if (streq_ptr(f->agent, name))
                        return true;
                for (size_t j = 0; j < f->n_chain; j++)
                        if (streq(f->chain[j].name, name))
                                return true;
        }
        return false;
}

/* Whether fault "kind" may hit "a" when the caller did not name an agent. */
static bool agent_is_eligible(Chaos *c, AgentRuntime *a, ChaosKind kind, usec_t t) {
        Manager *m = c->manager;
        const Agent *def = a->def;

        if (!def || agent_runtime_is_lazy(a) || agent_runtime_status(a) != AGENT_STATUS_OK || agent_is_touched(c, a->name))
                return false;

        switch (kind) {
        case CHAOS_KIND_KILL:
        case CHAOS_KIND_MEMORY:
                /* Leaves only: a fault on an agent others require is a cascade, which has its own kind. */
                return !agent_has_dependents(m, a) && !hit_recent(c, a, t);
        case CHAOS_KIND_PARTITION:
                /* Agents without network (PrivateNetwork=yes) would not notice. */
                return def->sandbox.network;
        case CHAOS_KIND_OUTAGE:
                return !agent_runtime_is_essential(a) && !agent_has_dependents(m, a);
        case CHAOS_KIND_CASCADE: {
                _cleanup_strv_free_ char **deps = NULL;

                if (!agent_runtime_is_essential(a) || !agent_has_dependents(m, a) || hit_recent(c, a, t))
                        return false;
                if (agent_dependents(m, a->name, &deps) < 0)
                        return false;
                STRV_FOREACH(d, deps) {
                        AgentRuntime *b = manager_find_agent(m, *d);
                        if (b && (hit_recent(c, b, t) || agent_is_touched(c, b->name)))
                                return false;
                }
                return true;
        }
        default:
                return false;
        }
}

static AgentRuntime *agent_pick(Chaos *c, ChaosKind kind, usec_t t) {
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
 * Records: what to undo if the daemon dies mid-fault */

static int ip_prefixes_format(const IpPrefix *p, size_t n, char **ret) {
        char *s = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&s, &size);

        if (!f)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                size_t len = p[i].family == AF_INET6 ? 16 : 4;

                fprintf(f, "%s%" PRIi32 "/%" PRIu32 "/", i > 0 ? "," : "", p[i].family, p[i].prefixlen);
                for (size_t j = 0; j < len; j++)
                        fprintf(f, "%02x", p[i].address[j]);
        }
        if (fclose(f) != 0) {
                free(s);
                return -ENOMEM;
        }
        *ret = s;
        return 0;
}

static int ip_prefixes_parse(const char *s, IpPrefix **ret, size_t *ret_n) {
        _cleanup_free_ IpPrefix *p = NULL;
        _cleanup_free_ char *copy = strdup(s);
        size_t n = 0;
        char *save = NULL;

        if (!copy)
                return -ENOMEM;
        for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
                IpPrefix x = {};
                char hex[33];
                size_t len;
                IpPrefix *np;

                if (sscanf(tok, "%" SCNi32 "/%" SCNu32 "/%32[0-9a-f]", &x.family, &x.prefixlen, hex) != 3)
                        return -EINVAL;
                if (x.family != AF_INET && x.family != AF_INET6)
                        return -EINVAL;
                len = x.family == AF_INET6 ? 16 : 4;
                if (strlen(hex) != len * 2 || x.prefixlen > len * 8)
                        return -EINVAL;
                for (size_t j = 0; j < len; j++) {
                        unsigned b;
                        if (sscanf(hex + 2 * j, "%2x", &b) != 1)
                                return -EINVAL;
                        x.address[j] = (uint8_t) b;
                }
                np = reallocarray(p, n + 1, sizeof(IpPrefix));
                if (!np)
                        return -ENOMEM;
                p = np;
                p[n++] = x;
        }
        *ret = TAKE_PTR(p);
        *ret_n = n;
        return 0;
}

static int fault_record_write(Fault *f) {
        _cleanup_free_ char *path = NULL, *tmp = NULL, *deny = NULL;
        FILE *o;
        int fd, r;

        r = mkdir_p(f->chaos->dir, 0755);
        if (r < 0)
                return r;
        if (asprintf(&path, "%s/fault-%" PRIu64, f->chaos->dir, f->id) < 0 ||
            asprintf(&tmp, "%s/.fault-%" PRIu64 ".tmp", f->chaos->dir, f->id) < 0)
                return -ENOMEM;
        if (f->kind == CHAOS_KIND_PARTITION) {
                r = ip_prefixes_format(f->old_deny, f->n_old_deny, &deny);
                if (r < 0)
                        return r;
        }

        fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0)
                return -errno;
        o = fdopen(fd, "we");
        if (!o) {
                r = -errno;
                safe_close(fd);
                (void) unlink(tmp);
                return r;
        }
        fprintf(o, "id=%" PRIu64 "\nkind=%s\nagent=%s\nunit=%s\nprofile=%s\n", f->id,
                chaos_kind_to_string(f->kind), f->agent, f->unit, f->profile);
        if (f->kind == CHAOS_KIND_MEMORY)
                fprintf(o, "memory_max=%" PRIu64 "\nswap_max=%" PRIu64 "\n", f->old_memory_max,
                        f->old_swap_max);
        if (f->fault_file)
                fprintf(o, "fault_file=%s\n", f->fault_file);
        if (deny)
                fprintf(o, "deny=%s\n", deny);
        if (f->kind == CHAOS_KIND_OUTAGE)
                fprintf(o, "stopped=1\n");
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

/* ---------------------------------------------------------------------------------------------------
 * Building the systemd calls */

static int append_u64_property(sd_bus_message *m, const char *name, uint64_t v) {
        return sd_bus_message_append(m, "(sv)", name, "t", v);
}

static int append_deny_property(sd_bus_message *m, const IpPrefix *p, size_t n) {
        int r;

        r = sd_bus_message_open_container(m, 'r', "sv");
        if (r >= 0)
                r = sd_bus_message_append(m, "s", "IPAddressDeny");
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'v', "a(iayu)");
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "(iayu)");
        for (size_t i = 0; r >= 0 && i < n; i++) {
                r = sd_bus_message_open_container(m, 'r', "iayu");
                if (r >= 0)
                        r = sd_bus_message_append(m, "i", p[i].family);
                if (r >= 0)
                        r = sd_bus_message_append_array(m, 'y', p[i].address,
                                                        p[i].family == AF_INET6 ? 16 : 4);
                if (r >= 0)
                        r = sd_bus_message_append(m, "u", p[i].prefixlen);
                if (r >= 0)
                        r = sd_bus_message_close_container(m);
        }
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        return r;
}

/* SetUnitProperties(unit, runtime=true, ...) for the lever ("undo" false) or its undo. */
static int build_set_properties(sd_bus *bus, ChaosKind kind, bool undo, const char *unit,
                                uint64_t memory_max, uint64_t swap_max, const IpPrefix *deny, size_t n_deny,
                                sd_bus_message **ret) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        static const IpPrefix any[] = {
                { .family = AF_INET, .prefixlen = 0 },
                { .family = AF_INET6, .prefixlen = 0 },
        };
        int r;

        r = sd_bus_message_new_method_call(bus, &m, SYSTEMD_SERVICE, SYSTEMD_PATH, SYSTEMD_MANAGER_IFACE,
                                           "SetUnitProperties");
        if (r < 0)
                return r;
        r = sd_bus_message_append(m, "sb", unit, 1);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(m, 'a', "(sv)");
        if (r < 0)
                return r;
        if (kind == CHAOS_KIND_MEMORY) {
                r = append_u64_property(m, "MemoryMax", memory_max);
                if (r >= 0)
                        r = append_u64_property(m, "MemorySwapMax", swap_max);
        } else if (!undo)
                /* A non-empty list adds to IPAddressDeny=: "any" is 0.0.0.0/0 and ::/0. */
                r = append_deny_property(m, any, ELEMENTSOF(any));
        else {
                /* An empty list resets it; then what was there before goes back. */
                r = append_deny_property(m, NULL, 0);
                if (r >= 0 && n_deny > 0)
                        r = append_deny_property(m, deny, n_deny);
        }
        if (r < 0)
                return r;
        r = sd_bus_message_close_container(m);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(m);
        return 0;
}

static int fault_call(Fault *f, sd_bus_message *m, sd_bus_message_handler_t callback) {
        f->slot = sd_bus_slot_unref(f->slot);
        return sd_bus_call_async(NULL, &f->slot, m, callback, f, 0);
}

static int fault_call_method(Fault *f, sd_bus_message_handler_t callback, const char *method,
                             const char *types, ...) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        va_list ap;
        int r;

        r = sd_bus_message_new_method_call(fault_manager(f)->bus, &m, SYSTEMD_SERVICE, SYSTEMD_PATH,
                                           SYSTEMD_MANAGER_IFACE, method);
        if (r < 0)
                return r;
        va_start(ap, types);
        r = sd_bus_message_appendv(m, types, ap);
        va_end(ap);
        if (r < 0)
                return r;
        return fault_call(f, m, callback);
}

/* ---------------------------------------------------------------------------------------------------
 * Life cycle */

static Fault *fault_free(Fault *f) {
        if (!f)
                return NULL;
        sd_bus_slot_unref(f->slot);
        sd_event_source_disable_unref(f->timer);
        sd_bus_message_unref(f->request);
        free(f->agent);
        free(f->unit);
        free(f->profile);
        free(f->record);
        free(f->detail);
        free(f->fault_file);
        free(f->result);
        free(f->old_deny);
        for (size_t i = 0; i < f->n_chain; i++)
                free(f->chain[i].name);
        free(f->chain);
        free(f->dependent_down);
        free(f->kinds);
        return mfree(f);
}
DEFINE_TRIVIAL_CLEANUP_FUNC(Fault *, fault_free);

static Fault *chaos_find_fault(Chaos *c, uint64_t id) {
        for (size_t i = 0; i < c->n_faults; i++)
                if (c->faults[i]->id == id)
                        return c->faults[i];
        return NULL;
}

static void chaos_remove_fault(Chaos *c, Fault *f) {
        for (size_t i = 0; i < c->n_faults; i++)
                if (c->faults[i] == f) {
                        memmove(c->faults + i, c->faults + i + 1, (c->n_faults - i - 1) * sizeof(Fault *));
                        c->n_faults--;
                        return;
                }
}

static usec_t fault_recovery_usec(const Fault *f) {
        ChaosResult r = {
                .kind = f->kind, .recovered = !f->failed && f->recovered != USEC_INFINITY,
                .injected = f->injected, .detected = f->detected, .undone = f->undone,
                .recovered_at = f->recovered,
        };
        return chaos_result_recovery_usec(&r);
}

static void fault_child_finished(Fault *parent, const Fault *child, bool ok);

/* The end: announce (or answer the call with the error), forget. Frees "f". */
static void fault_finish(Fault *f) {
        Chaos *c = f->chaos;
        Manager *m = c->manager;
        bool ok = !f->failed && f->recovered != USEC_INFINITY;
        char buf[CHAOS_FORMAT_SECONDS_MAX];

        if (f->request) {
                /* systemd never took it: the caller gets the error instead of an id. */
                (void) sd_bus_reply_method_errorf(f->request, BUS_ERROR_FAULT_FAILED,
                                                  "Failed to inject %s into %s: %s",
                                                  chaos_kind_to_string(f->kind), fault_target(f),
                                                  strna(f->detail));
        } else {
                const char *kind = chaos_kind_to_string(f->kind);
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
                        .id = f->id, .parent = f->parent, .kind = chaos_kind_to_string(f->kind),
                        .agent = strempty(f->agent), .recovered = ok, .injected = f->injected,
                        .detected = f->detected, .undone = f->undone, .recovered_at = f->recovered,
                        .detail = strempty(f->detail) });
        }

        chaos_remove_fault(c, f);
        if (f->parent != 0) {
                Fault *parent = chaos_find_fault(c, f->parent);
                if (parent)
                        fault_child_finished(parent, f, ok);
        }
        fault_free(f);
}

/* Not recovered, for "why": undo first if something is in effect, then finish. */
static void fault_fail(Fault *f) {
        f->failed = true;
        if (f->phase == FAULT_PHASE_UNDOING || f->phase == FAULT_PHASE_PREPARING ||
            f->phase == FAULT_PHASE_INJECTING)
                /* The reply in flight sees "failed" and carries on from there. */
                return;
        if (f->lever_in_place) {
                fault_undo(f);
                return;
        }
        fault_record_remove(f);
        fault_finish(f);
}

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
        usec_t deadline = f->end == USEC_INFINITY ? USEC_INFINITY : f->end + f->timeout;

        if (f->kind == CHAOS_KIND_STRESS) {
                usec_t t = now(CLOCK_BOOTTIME);
                fault_arm(f, t < f->end ? MIN(t + f->interval, f->end) : deadline);
                return;
        }
        if (f->phase == FAULT_PHASE_ACTIVE && f->lever_in_place && f->undone == USEC_INFINITY)
                fault_arm(f, f->end);
        else
                fault_arm(f, deadline);
}

/* ---------------------------------------------------------------------------------------------------
 * Undo */

static int on_undo_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        Fault *f = userdata;
        Manager *m = fault_manager(f);
        const sd_bus_error *e = sd_bus_message_get_error(reply);

        f->slot = sd_bus_slot_unref(f->slot);
        if (e && !sd_bus_error_has_name(e, "org.freedesktop.systemd1.NoSuchUnit")) {
                /* Keep the record: the next start of the daemon tries again. */
                log_warning("Failed to undo fault %" PRIu64 " on %s: %s", f->id, f->unit, e->message);
                fault_set_detail(f, "undo failed: %s", e->message);
                f->failed = true;
                f->phase = FAULT_PHASE_RECOVERING;
                f->record = mfree(f->record);
                fault_finish(f);
                return 0;
        }
        /* NoSuchUnit: the unit is gone, and its runtime settings with it. */
        f->undone = now(CLOCK_BOOTTIME);
        f->lever_in_place = false;
        f->phase = FAULT_PHASE_RECOVERING;
        fault_record_remove(f);
        (void) sd_journal_send("MESSAGE=Fault %" PRIu64 " (%s on %s) undone.", f->id, chaos_kind_to_string(f->kind),
                               f->agent, "MESSAGE_ID=" UNIFIED_MESSAGE_FAULT_UNDONE, "PRIORITY=%i", LOG_INFO,
                               "UNIFIED_FAULT_ID=%" PRIu64, f->id, "UNIFIED_FAULT_KIND=%s",
                               chaos_kind_to_string(f->kind), "UNIFIED_AGENT=%s", f->agent, NULL);
        if (f->failed) {
                fault_finish(f);
                return 0;
        }
        fault_rearm(f);
        fault_evaluate(f, m->state);
        return 0;
}

static void fault_undo(Fault *f) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *msg = NULL;
        Manager *m = fault_manager(f);
        int r;

        if (f->fault_file && unlink(f->fault_file) < 0 && errno != ENOENT)
                log_warning_errno(-errno, "Failed to remove fault file %s, ignoring: %m", f->fault_file);

        switch (f->kind) {
        case CHAOS_KIND_MEMORY:
        case CHAOS_KIND_PARTITION:
                r = build_set_properties(m->bus, f->kind, true, f->unit, f->old_memory_max, f->old_swap_max,
                                         f->old_deny, f->n_old_deny, &msg);
                if (r >= 0)
                        r = fault_call(f, msg, on_undo_reply);
                if (r < 0) {
                        log_warning_errno(r, "Failed to send the undo of fault %" PRIu64 ": %m", f->id);
                        fault_set_detail(f, "undo failed: %s", strerror(-r));
                        f->failed = true;
                        f->record = mfree(f->record); /* kept on disk for the next start */
                        fault_finish(f);
                        return;
                }
                f->phase = FAULT_PHASE_UNDOING;
                return;

        case CHAOS_KIND_OUTAGE: {
                AgentRuntime *a = manager_find_agent(m, f->agent);

                if (!f->aborted && a) {
                        r = agent_start(a);
                        if (r < 0) {
                                fault_set_detail(f, "failed to start %s again: %s", f->agent, strerror(-r));
                                f->failed = true;
                        }
                }
                f->undone = now(CLOCK_BOOTTIME);
                f->lever_in_place = false;
                f->phase = FAULT_PHASE_RECOVERING;
                fault_record_remove(f);
                if (f->failed) {
                        fault_finish(f);
                        return;
                }
                fault_rearm(f);
                fault_evaluate(f, m->state);
                return;
        }
        default:
                f->lever_in_place = false;
                f->phase = FAULT_PHASE_RECOVERING;
                if (f->failed)
                        fault_finish(f);
                return;
        }
}

/* ---------------------------------------------------------------------------------------------------
 * Detection and recovery */

static bool agent_went_down(const AgentRuntime *a, uint32_t restarts_before) {
        return agent_runtime_status(a) != AGENT_STATUS_OK || a->n_restarts != restarts_before;
}

static void cascade_check_order(Fault *f) {
        Manager *m = fault_manager(f);
        size_t down = 0;

        for (size_t i = 0; i < f->n_chain; i++) {
                ChainMember *x = f->chain + i;
                AgentRuntime *a = manager_find_agent(m, x->name);

                if (x->down == USEC_INFINITY)
                        continue;
                down++;
                STRV_FOREACH(req, a && a->def ? a->def->requires : NULL) {
                        usec_t req_up = USEC_INFINITY;

                        if (streq(*req, f->agent))
                                req_up = f->target_up;
                        else
                                for (size_t j = 0; j < f->n_chain; j++)
                                        if (streq(f->chain[j].name, *req) && f->chain[j].down != USEC_INFINITY)
                                                req_up = f->chain[j].up;
                        if (req_up != USEC_INFINITY && x->up < req_up) {
                                fault_set_detail(f, "out of order: %s was back before %s, which it requires",
                                                 x->name, *req);
                                f->failed = true;
                                return;
                        }
                }
        }
        fault_set_detail(f, "%zu of %zu dependents went down and came back in order", down, f->n_chain);
}

static void fault_evaluate(Fault *f, ProfileState state) {
        Manager *m = fault_manager(f);
        usec_t t = now(CLOCK_BOOTTIME);
        AgentRuntime *a;

        if (f->kind == CHAOS_KIND_STRESS)
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

        a = manager_find_agent(m, f->agent);
        if (!a) {
                fault_set_detail(f, "agent %s left the profile", f->agent);
                f->aborted = true;
                fault_fail(f);
                return;
        }

        if (state == PROFILE_STATE_FAILED && f->detected != USEC_INFINITY && f->recovered == USEC_INFINITY)
                f->profile_failed = true;

        if (f->detected == USEC_INFINITY && agent_went_down(a, f->restarts_before)) {
                f->detected = t;
                free(f->result);
                f->result = a->result ? strdup(a->result) : NULL;
        }
        if (f->kind == CHAOS_KIND_MEMORY && f->detected != USEC_INFINITY && f->phase == FAULT_PHASE_ACTIVE &&
            f->lever_in_place) {
                /* Killed: give the limit back before systemd's restart runs into it. */
                fault_undo(f);
                return;
        }

        if (f->kind == CHAOS_KIND_OUTAGE && f->detected != USEC_INFINITY && !f->dependent_down) {
                /* Dependents must degrade, not fail: none of them may go down with it. */
                _cleanup_strv_free_ char **deps = NULL;

                if (agent_dependents(m, f->agent, &deps) >= 0)
                        STRV_FOREACH(d, deps) {
                                AgentRuntime *b = manager_find_agent(m, *d);
                                if (b && !agent_runtime_is_lazy(b) && agent_runtime_status(b) != AGENT_STATUS_OK) {
                                        f->dependent_down = strdup(*d);
                                        break;
                                }
                        }
        }

        for (size_t i = 0; i < f->n_chain; i++) {
                ChainMember *x = f->chain + i;
                AgentRuntime *b = manager_find_agent(m, x->name);

                if (!b)
                        continue;
                if (x->down == USEC_INFINITY && agent_went_down(b, x->restarts_before))
                        x->down = t;
                if (x->down != USEC_INFINITY && x->up == USEC_INFINITY && chaos_agent_is_healthy(b))
                        x->up = t;
        }
        if (f->detected != USEC_INFINITY && f->target_up == USEC_INFINITY && chaos_agent_is_healthy(a))
                f->target_up = t;

        if (!IN_SET2(f->phase, FAULT_PHASE_ACTIVE, FAULT_PHASE_RECOVERING) || f->lever_in_place)
                return;
        if (f->detected == USEC_INFINITY || f->target_up == USEC_INFINITY || !chaos_agent_is_healthy(a))
                return;
        for (size_t i = 0; i < f->n_chain; i++) {
                AgentRuntime *b = manager_find_agent(m, f->chain[i].name);
                if (f->chain[i].down != USEC_INFINITY && (f->chain[i].up == USEC_INFINITY || !chaos_agent_is_healthy(b)))
                        return;
        }
        if (state == PROFILE_STATE_FAILED)
                return;

        f->recovered = t;
        if (f->kind == CHAOS_KIND_CASCADE)
                cascade_check_order(f);
        if (f->kind == CHAOS_KIND_OUTAGE) {
                if (f->dependent_down) {
                        fault_set_detail(f, "dependent %s went down with it", f->dependent_down);
                        f->failed = true;
                } else if (f->profile_failed) {
                        fault_set_detail(f, "the profile failed during the outage");
                        f->failed = true;
                }
        }
        if (f->kind == CHAOS_KIND_MEMORY && f->result)
                fault_set_detail(f, "result %s", f->result);
        fault_finish(f);
}

void chaos_agents_changed(Chaos *c, ProfileState state) {
        _cleanup_free_ uint64_t *ids = NULL;
        size_t n;

        if (!c || c->n_faults == 0)
                return;
        /* Evaluating may finish (and free) faults, and a finished fault may finish its stress run. */
        n = c->n_faults;
        ids = calloc(n, sizeof(uint64_t));
        if (!ids) {
                log_oom();
                return;
        }
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
        Manager *m = fault_manager(f);

        if (f->request) {
                (void) sd_bus_reply_method_return(f->request, "t", f->id);
                f->request = sd_bus_message_unref(f->request);
        }
        (void) sd_journal_send("MESSAGE=Fault %" PRIu64 " (%s) injected into %s.", f->id,
                               chaos_kind_to_string(f->kind), fault_target(f),
                               "MESSAGE_ID=" UNIFIED_MESSAGE_FAULT_INJECTED, "PRIORITY=%i", LOG_NOTICE,
                               "UNIFIED_FAULT_ID=%" PRIu64, f->id, "UNIFIED_FAULT_KIND=%s",
                               chaos_kind_to_string(f->kind), "UNIFIED_AGENT=%s", strempty(f->agent),
                               "UNIFIED_PROFILE=%s", f->profile, NULL);
        f->phase = FAULT_PHASE_ACTIVE;
        fault_rearm(f);
        fault_evaluate(f, m->state);
}

/* The lever's call came back. */
static int on_lever_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        Fault *f = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(reply);

        f->slot = sd_bus_slot_unref(f->slot);
        if (e) {
                fault_set_detail(f, "%s", e->message);
                f->failed = true;
                f->phase = FAULT_PHASE_ACTIVE;
                /* A SetUnitProperties call may have applied its first property: undo what is recorded. */
                if (f->lever_in_place && f->kind != CHAOS_KIND_OUTAGE) {
                        fault_undo(f);
                        return 0;
                }
                fault_record_remove(f);
                fault_finish(f);
                return 0;
        }
        if (f->kind == CHAOS_KIND_PARTITION)
                /* The filter is the event: unified-agent does no IP of its own that could notice. */
                f->detected = now(CLOCK_BOOTTIME);
        if (f->failed) {
                /* Aborted while the call was in flight. */
                f->phase = FAULT_PHASE_ACTIVE;
                fault_fail(f);
                return 0;
        }
        fault_injected(f);
        return 0;
}

static int fault_pull_lever(Fault *f) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *msg = NULL;
        Manager *m = fault_manager(f);
        int r;

        switch (f->kind) {
        case CHAOS_KIND_KILL:
        case CHAOS_KIND_CASCADE:
                f->injected = f->undone = now(CLOCK_BOOTTIME);
                r = fault_call_method(f, on_lever_reply, "KillUnit", "ssi", f->unit, "main", (int32_t) f->signal);
                break;
        case CHAOS_KIND_MEMORY:
        case CHAOS_KIND_PARTITION:
                r = fault_record_write(f);
                if (r < 0)
                        return r;
                if (f->fault_file) {
                        _cleanup_close_ int fd = open(f->fault_file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
                        if (fd < 0 || write(fd, "leak\n", 5) != 5)
                                log_warning_errno(-errno, "Failed to write fault file %s, squeezing only: %m",
                                                  f->fault_file);
                }
                r = build_set_properties(m->bus, f->kind, false, f->unit, f->limit, 0, NULL, 0, &msg);
                if (r < 0)
                        return r;
                f->lever_in_place = true;
                f->injected = now(CLOCK_BOOTTIME);
                r = fault_call(f, msg, on_lever_reply);
                break;
        case CHAOS_KIND_OUTAGE:
                r = fault_record_write(f);
                if (r < 0)
                        return r;
                f->lever_in_place = true;
                f->injected = now(CLOCK_BOOTTIME);
                r = fault_call_method(f, on_lever_reply, "StopUnit", "ss", f->unit, "replace");
                break;
        default:
                return -EINVAL;
        }
        if (r < 0)
                return r;
        f->end = f->injected + (chaos_kind_holds(f->kind) || f->kind == CHAOS_KIND_MEMORY ? f->duration : 0);
        f->phase = FAULT_PHASE_INJECTING;
        return 0;
}

static int read_ip_prefixes(sd_bus_message *m, IpPrefix **ret, size_t *ret_n) {
        _cleanup_free_ IpPrefix *p = NULL;
        size_t n = 0;
        int r;

        r = sd_bus_message_enter_container(m, 'a', "(iayu)");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_enter_container(m, 'r', "iayu")) > 0) {
                IpPrefix x = {};
                const void *addr;
                size_t len;
                IpPrefix *np;

                r = sd_bus_message_read(m, "i", &x.family);
                if (r >= 0)
                        r = sd_bus_message_read_array(m, 'y', &addr, &len);
                if (r >= 0)
                        r = sd_bus_message_read(m, "u", &x.prefixlen);
                if (r < 0)
                        return r;
                if (len > sizeof(x.address) || (x.family != AF_INET && x.family != AF_INET6))
                        return -EBADMSG;
                memcpy(x.address, addr, len);
                np = reallocarray(p, n + 1, sizeof(IpPrefix));
                if (!np)
                        return -ENOMEM;
                p = np;
                p[n++] = x;
                r = sd_bus_message_exit_container(m);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;
        r = sd_bus_message_exit_container(m);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(p);
        *ret_n = n;
        return 0;
}

/* The unit's current limits came back: remember them, then squeeze or cut. */
static int on_prepare_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        Fault *f = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(reply);
        int r;

        f->slot = sd_bus_slot_unref(f->slot);
        if (e) {
                fault_set_detail(f, "%s", e->message);
                f->failed = true;
                fault_finish(f);
                return 0;
        }

        f->old_memory_max = f->old_swap_max = f->memory_current = UINT64_MAX;
        r = sd_bus_message_enter_container(reply, 'a', "{sv}");
        while (r >= 0 && (r = sd_bus_message_enter_container(reply, 'e', "sv")) > 0) {
                const char *name;

                r = sd_bus_message_read(reply, "s", &name);
                if (r < 0)
                        break;
                if (streq(name, "MemoryMax") || streq(name, "MemorySwapMax") || streq(name, "MemoryCurrent") ||
                    streq(name, "IPAddressDeny")) {
                        r = sd_bus_message_enter_container(reply, 'v', NULL);
                        if (r < 0)
                                break;
                        if (streq(name, "MemoryMax"))
                                r = sd_bus_message_read(reply, "t", &f->old_memory_max);
                        else if (streq(name, "MemorySwapMax"))
                                r = sd_bus_message_read(reply, "t", &f->old_swap_max);
                        else if (streq(name, "MemoryCurrent"))
                                r = sd_bus_message_read(reply, "t", &f->memory_current);
                        else {
                                f->old_deny = mfree(f->old_deny);
                                r = read_ip_prefixes(reply, &f->old_deny, &f->n_old_deny);
                        }
                        if (r < 0)
                                break;
                        r = sd_bus_message_exit_container(reply);
                } else
                        r = sd_bus_message_skip(reply, "v");
                if (r < 0)
                        break;
                r = sd_bus_message_exit_container(reply);
        }
        if (r < 0) {
                fault_set_detail(f, "cannot read the properties of %s: %s", f->unit, strerror(-r));
                f->failed = true;
                fault_finish(f);
                return 0;
        }

        if (f->kind == CHAOS_KIND_MEMORY && f->limit == 0) {
                if (f->fault_file && f->memory_current != UINT64_MAX)
                        f->limit = f->memory_current + CHAOS_LEAK_HEADROOM;
                else
                        f->limit = CHAOS_SQUEEZE_DEFAULT;
        }
        if (f->failed) {
                fault_finish(f);
                return 0;
        }
        r = fault_pull_lever(f);
        if (r < 0) {
                fault_set_detail(f, "%s", strerror(-r));
                f->failed = true;
                f->phase = FAULT_PHASE_ACTIVE;
                if (f->lever_in_place)
                        fault_undo(f);
                else
                        fault_finish(f);
        }
        return 0;
}

static int on_fault_timer(sd_event_source *s, uint64_t usec, void *userdata);

/* Sends the first call of a new fault. Negative: nothing was sent, the caller drops the fault. */
static int fault_start(Fault *f) {
        Chaos *c = f->chaos;
        Manager *m = c->manager;
        usec_t t = now(CLOCK_BOOTTIME);
        AgentRuntime *a = f->agent ? manager_find_agent(m, f->agent) : NULL;
        int r;

        r = sd_event_add_time(m->event, &f->timer, CLOCK_BOOTTIME, 0, 0, on_fault_timer, f);
        if (r < 0)
                return r;
        (void) sd_event_source_set_enabled(f->timer, SD_EVENT_OFF);

        if (f->kind == CHAOS_KIND_STRESS) {
                f->injected = f->detected = t;
                f->end = t + f->duration;
                fault_injected(f);
                /* The first fault right away, the next ones on the timer. */
                f->ticking = true;
                stress_tick(f);
                f->ticking = false;
                fault_rearm(f);
                return 0;
        }

        assert_return(a, -ESRCH);
        f->restarts_before = a->n_restarts;
        /* What restarts the agent counts against systemd's start limit: remember it for random picks. */
        if (IN_SET3(f->kind, CHAOS_KIND_KILL, CHAOS_KIND_MEMORY, CHAOS_KIND_CASCADE))
                hit_record(c, a->name, t);
        if (f->kind == CHAOS_KIND_CASCADE) {
                _cleanup_strv_free_ char **deps = NULL;

                r = agent_dependents(m, a->name, &deps);
                if (r < 0)
                        return r;
                f->chain = calloc(MAX(strv_length(deps), (size_t) 1), sizeof(ChainMember));
                if (!f->chain)
                        return -ENOMEM;
                STRV_FOREACH(d, deps) {
                        AgentRuntime *b = manager_find_agent(m, *d);

                        /* Only what runs can go down; a lazy agent's service may be idle by design. */
                        if (!b || agent_runtime_is_lazy(b) || agent_runtime_status(b) != AGENT_STATUS_OK)
                                continue;
                        f->chain[f->n_chain] = (ChainMember) {
                                .name = strdup(*d), .restarts_before = b->n_restarts,
                                .down = USEC_INFINITY, .up = USEC_INFINITY,
                        };
                        if (!f->chain[f->n_chain].name)
                                return -ENOMEM;
                        f->n_chain++;
                        hit_record(c, *d, t);
                }
        }

        if (IN_SET2(f->kind, CHAOS_KIND_MEMORY, CHAOS_KIND_PARTITION)) {
                f->phase = FAULT_PHASE_PREPARING;
                _cleanup_(sd_bus_message_unrefp) sd_bus_message *msg = NULL;
                _cleanup_free_ char *path = NULL;

                r = systemd_unit_path(f->unit, &path);
                if (r < 0)
                        return r;
                r = sd_bus_message_new_method_call(m->bus, &msg, SYSTEMD_SERVICE, path,
                                                   "org.freedesktop.DBus.Properties", "GetAll");
                if (r < 0)
                        return r;
                r = sd_bus_message_append(msg, "s", SYSTEMD_SERVICE_IFACE);
                if (r < 0)
                        return r;
                return fault_call(f, msg, on_prepare_reply);
        }
        return fault_pull_lever(f);
}

static int fault_new(Chaos *c, ChaosKind kind, const char *agent, Fault **ret) {
        _cleanup_(fault_freep) Fault *f = NULL;
        Manager *m = c->manager;

        f = calloc(1, sizeof(Fault));
        if (!f)
                return -ENOMEM;
        *f = (Fault) {
                .chaos = c,
                .id = c->next_id++,
                .kind = kind,
                .signal = SIGKILL,
                .timeout = CHAOS_TIMEOUT_DEFAULT,
                .injected = USEC_INFINITY, .detected = USEC_INFINITY, .undone = USEC_INFINITY,
                .recovered = USEC_INFINITY, .end = USEC_INFINITY, .target_up = USEC_INFINITY,
                .last_child_recovered = USEC_INFINITY,
                .interval = CHAOS_STRESS_INTERVAL_DEFAULT,
                .max_in_flight = CHAOS_STRESS_IN_FLIGHT_DEFAULT,
        };
        f->profile = strdup(m->active->name);
        if (!f->profile)
                return -ENOMEM;
        if (!isempty(agent)) {
                AgentRuntime *a = manager_find_agent(m, agent);
                const char *ff = agent_fault_file(a ? a->def : NULL);

                f->agent = strdup(agent);
                f->unit = strdup(a ? a->unit : "");
                if (!f->agent || !f->unit)
                        return -ENOMEM;
                if (kind == CHAOS_KIND_MEMORY && ff) {
                        f->fault_file = strdup(ff);
                        if (!f->fault_file)
                                return -ENOMEM;
                }
        } else {
                f->agent = strdup("");
                if (!f->agent)
                        return -ENOMEM;
        }
        *ret = TAKE_PTR(f);
        return 0;
}

static int chaos_add_fault(Chaos *c, Fault *f) {
        Fault **l = reallocarray(c->faults, c->n_faults + 1, sizeof(Fault *));

        if (!l)
                return -ENOMEM;
        c->faults = l;
        c->faults[c->n_faults++] = f;
        return 0;
}

/* ---------------------------------------------------------------------------------------------------
 * Stress */

static void stress_maybe_finish(Fault *f) {
        usec_t t = now(CLOCK_BOOTTIME);

        if (t < f->end || f->n_in_flight > 0 || f->ticking)
                return;
        f->undone = f->end;
        if (f->n_children == 0) {
                fault_set_detail(f, "no agent was eligible: every candidate was hit within its start limit window");
                f->failed = true;
        } else if (f->n_children_failed > 0) {
                fault_set_detail(f, "%u of %u faults did not recover", f->n_children_failed, f->n_children);
                f->failed = true;
        } else {
                f->recovered = f->last_child_recovered == USEC_INFINITY ? t : f->last_child_recovered;
                fault_set_detail(f, "%u faults, all recovered", f->n_children);
        }
        fault_finish(f);
}

static void fault_child_finished(Fault *parent, const Fault *child, bool ok) {
        if (parent->n_in_flight > 0)
                parent->n_in_flight--;
        if (!ok)
                parent->n_children_failed++;
        else if (parent->last_child_recovered == USEC_INFINITY || child->recovered > parent->last_child_recovered)
                parent->last_child_recovered = child->recovered;
        stress_maybe_finish(parent);
}

static void stress_tick(Fault *f) {
        Chaos *c = f->chaos;
        usec_t t = now(CLOCK_BOOTTIME);

        while (t < f->end && f->n_in_flight < f->max_in_flight && c->n_faults < CHAOS_FAULTS_MAX) {
                ChaosKind kind = f->kinds[f->n_children % f->n_kinds];
                AgentRuntime *a = agent_pick(c, kind, t);
                _cleanup_(fault_freep) Fault *child = NULL;
                int r;

                if (!a)
                        break; /* nothing eligible now; the next tick tries again */
                r = fault_new(c, kind, a->name, &child);
                if (r < 0)
                        break;
                child->parent = f->id;
                child->duration = CHAOS_DURATION_DEFAULT;
                child->timeout = f->timeout;
                r = chaos_add_fault(c, child);
                if (r < 0)
                        break;
                Fault *ch = TAKE_PTR(child);
                f->n_children++;
                f->n_in_flight++;
                r = fault_start(ch);
                if (r < 0) {
                        fault_set_detail(ch, "failed to inject: %s", strerror(-r));
                        ch->failed = true;
                        ch->phase = FAULT_PHASE_ACTIVE;
                        fault_fail(ch);
                }
        }
}

static int on_fault_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        Fault *f = userdata;
        Manager *m = fault_manager(f);
        usec_t t = now(CLOCK_BOOTTIME);

        if (f->kind == CHAOS_KIND_STRESS) {
                if (t >= f->end + f->timeout) {
                        fault_set_detail(f, "its faults did not finish in time");
                        f->failed = true;
                        fault_finish(f);
                        return 0;
                }
                f->ticking = true;
                stress_tick(f);
                f->ticking = false;
                fault_rearm(f);
                stress_maybe_finish(f);
                return 0;
        }

        if (f->phase == FAULT_PHASE_ACTIVE && f->lever_in_place && f->undone == USEC_INFINITY && t >= f->end) {
                if (f->kind == CHAOS_KIND_MEMORY && f->detected == USEC_INFINITY) {
                        char buf[CHAOS_FORMAT_SECONDS_MAX];
                        fault_set_detail(f, "not OOM-killed within %s", chaos_format_seconds(buf, sizeof(buf), f->duration));
                        fault_fail(f);
                        return 0;
                }
                fault_undo(f);
                return 0;
        }
        if (f->end != USEC_INFINITY && t >= f->end + f->timeout) {
                char buf[CHAOS_FORMAT_SECONDS_MAX];

                if (f->detected == USEC_INFINITY)
                        fault_set_detail(f, "no effect seen within %s", chaos_format_seconds(buf, sizeof(buf), f->timeout));
                else
                        fault_set_detail(f, "not recovered within %s", chaos_format_seconds(buf, sizeof(buf), f->timeout));
                fault_fail(f);
                return 0;
        }
        fault_rearm(f);
        fault_evaluate(f, m->state);
        return 0;
}

/* ---------------------------------------------------------------------------------------------------
 * The D-Bus method */

typedef struct InjectOptions {
        int signal;
        usec_t timeout;
        usec_t interval;
        uint32_t max_in_flight;
        uint64_t limit;
        ChaosKind kinds[_CHAOS_KIND_MAX];
        size_t n_kinds;
} InjectOptions;

static int parse_kinds(const char *s, InjectOptions *o, sd_bus_error *error) {
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

static int parse_options(sd_bus_message *msg, InjectOptions *o, sd_bus_error *error) {
        int r;

        *o = (InjectOptions) {
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
                                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Invalid signal %" PRIi32 ".", i);
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
        Manager *m = c->manager;
        usec_t t = now(CLOCK_BOOTTIME);
        AgentRuntime *a;
        const Agent *def;

        if (kind == CHAOS_KIND_STRESS) {
                if (!isempty(name))
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                                 "A stress run picks its agents itself: pass \"\", not '%s'.", name);
                *ret = NULL;
                return 0;
        }
        if (isempty(name) && kind == CHAOS_KIND_OUTAGE && manager_find_agent(m, CHAOS_OUTAGE_DEFAULT_AGENT))
                name = CHAOS_OUTAGE_DEFAULT_AGENT;

        if (isempty(name)) {
                a = agent_pick(c, kind, t);
                if (!a)
                        return sd_bus_error_setf(error, BUS_ERROR_NO_ELIGIBLE_AGENT,
                                                 "No agent of profile %s can take a %s fault now (running, not "
                                                 "hit within its start limit window, no fault in flight%s).",
                                                 m->active->name, chaos_kind_to_string(kind),
                                                 kind == CHAOS_KIND_PARTITION ? ", with network" :
                                                 kind == CHAOS_KIND_CASCADE ? ", essential with dependents" : "");
                *ret = a;
                return 0;
        }

        if (!manager_name_is_valid(name))
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Invalid agent name '%s'.", name);
        a = manager_find_agent(m, name);
        def = a ? a->def : NULL;
        if (!a || !def)
                return sd_bus_error_setf(error, BUS_ERROR_NO_SUCH_AGENT, "Profile '%s' has no agent '%s'.",
                                         m->active->name, name);
        if (agent_runtime_status(a) != AGENT_STATUS_OK || (agent_runtime_is_lazy(a) && kind != CHAOS_KIND_OUTAGE &&
                                                          !agent_runtime_is_active(a)))
                return sd_bus_error_setf(error, BUS_ERROR_AGENT_NOT_RUNNING,
                                         "Agent '%s' is not running (%s), there is nothing to inject into.", name,
                                         strna(a->active_state));
        if (agent_is_touched(c, name))
                return sd_bus_error_setf(error, BUS_ERROR_BUSY, "Agent '%s' already has a fault in flight.", name);
        if (kind == CHAOS_KIND_PARTITION && !def->sandbox.network)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "Agent '%s' has no network (PrivateNetwork=yes): a partition would change "
                                         "nothing.", name);
        if (kind == CHAOS_KIND_CASCADE && !agent_has_dependents(m, a))
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "No agent requires '%s': there is nothing to cascade to.", name);
        *ret = a;
        return 0;
}

int chaos_method_inject_fault(sd_bus_message *msg, void *userdata, sd_bus_error *error) {
        _cleanup_(fault_freep) Fault *f = NULL;
        Manager *m = userdata;
        Chaos *c = m->chaos;
        const char *kind_s, *agent;
        InjectOptions o;
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
        f->signal = o.signal;
        f->timeout = o.timeout;
        f->limit = o.limit;
        f->interval = o.interval;
        f->max_in_flight = o.max_in_flight;
        f->duration = duration > 0 ? duration :
                      kind == CHAOS_KIND_STRESS ? CHAOS_STRESS_DURATION_DEFAULT : CHAOS_DURATION_DEFAULT;
        if (kind == CHAOS_KIND_STRESS) {
                f->kinds = calloc(o.n_kinds, sizeof(ChaosKind));
                if (!f->kinds)
                        return -ENOMEM;
                memcpy(f->kinds, o.kinds, o.n_kinds * sizeof(ChaosKind));
                f->n_kinds = o.n_kinds;
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

typedef struct Record {
        char *path;
        uint64_t id;
        ChaosKind kind;
        char *agent, *unit, *fault_file;
        uint64_t memory_max, swap_max;
        bool have_memory;
        IpPrefix *deny;
        size_t n_deny;
        bool have_deny;
} Record;

static void closedirp(DIR **d) {
        if (*d)
                (void) closedir(*d);
}

static void record_done(Record *r) {
        free(r->path);
        free(r->agent);
        free(r->unit);
        free(r->fault_file);
        free(r->deny);
}

static int record_load(const char *path, Record *ret) {
        _cleanup_(record_done) Record rec = { .kind = _CHAOS_KIND_INVALID };
        _cleanup_free_ char *line = NULL;
        size_t size = 0;
        FILE *f;
        int r = 0;

        rec.path = strdup(path);
        if (!rec.path)
                return -ENOMEM;
        f = fopen(path, "re");
        if (!f)
                return -errno;
        while (r >= 0 && getline(&line, &size, f) >= 0) {
                char *eq, *v;

                line[strcspn(line, "\n")] = '\0';
                eq = strchr(line, '=');
                if (!eq)
                        continue;
                *eq = '\0';
                v = eq + 1;
                if (streq(line, "id"))
                        r = safe_atou64(v, &rec.id);
                else if (streq(line, "kind"))
                        rec.kind = chaos_kind_from_string(v);
                else if (streq(line, "agent"))
                        r = free_and_strdup(&rec.agent, v);
                else if (streq(line, "unit"))
                        r = free_and_strdup(&rec.unit, v);
                else if (streq(line, "fault_file"))
                        r = free_and_strdup(&rec.fault_file, v);
                else if (streq(line, "memory_max")) {
                        r = safe_atou64(v, &rec.memory_max);
                        rec.have_memory = true;
                } else if (streq(line, "swap_max"))
                        r = safe_atou64(v, &rec.swap_max);
                else if (streq(line, "deny")) {
                        r = ip_prefixes_parse(v, &rec.deny, &rec.n_deny);
                        rec.have_deny = true;
                }
        }
        fclose(f);
        if (r < 0)
                return r;
        if (rec.kind < 0 || isempty(rec.unit))
                return -EBADMSG;
        *ret = rec;
        rec = (Record) {};
        return 0;
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

/* Sends (async, or sync with a timeout when "sync") the undo of a record. 1 if a call was sent. */
static int record_undo(Chaos *c, Record *rec, bool sync) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *msg = NULL;
        _cleanup_(sd_bus_slot_unrefp) sd_bus_slot *slot = NULL;
        Manager *m = c->manager;
        char *path;
        int r;

        if (rec->fault_file && unlink(rec->fault_file) < 0 && errno != ENOENT)
                log_warning_errno(-errno, "Failed to remove fault file %s, ignoring: %m", rec->fault_file);
        if (rec->kind == CHAOS_KIND_MEMORY && rec->have_memory)
                r = build_set_properties(m->bus, CHAOS_KIND_MEMORY, true, rec->unit, rec->memory_max, rec->swap_max,
                                         NULL, 0, &msg);
        else if (rec->kind == CHAOS_KIND_PARTITION && rec->have_deny)
                r = build_set_properties(m->bus, CHAOS_KIND_PARTITION, true, rec->unit, 0, 0, rec->deny,
                                         rec->n_deny, &msg);
        else
                /* An outage: adoption starts the agents of the active profile that are missing. */
                return 0;
        if (r < 0)
                return r;

        if (sync) {
                _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;

                r = sd_bus_call(m->bus, msg, CHAOS_SYNC_UNDO_TIMEOUT, &error, NULL);
                if (r < 0 && !sd_bus_error_has_name(&error, "org.freedesktop.systemd1.NoSuchUnit"))
                        return r;
                return 1;
        }

        path = strdup(rec->path);
        if (!path)
                return -ENOMEM;
        r = sd_bus_call_async(m->bus, &slot, msg, on_startup_undo_reply, path, 0);
        if (r < 0) {
                free(path);
                return r;
        }
        (void) sd_bus_slot_set_destroy_callback(slot, free);
        (void) sd_bus_slot_set_floating(slot, 1);
        return 1;
}

int chaos_startup(Chaos *c) {
        _cleanup_(closedirp) DIR *d = NULL;
        struct dirent *de;
        unsigned n = 0;

        d = opendir(c->dir);
        if (!d)
                return errno == ENOENT ? 0 : -errno;
        while ((de = readdir(d))) {
                _cleanup_(record_done) Record rec = {};
                _cleanup_free_ char *path = NULL;
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
                c->next_id = MAX(c->next_id, rec.id + 1);
                log_notice("Undoing fault %" PRIu64 " (%s on %s) left by a previous instance.", rec.id,
                           chaos_kind_to_string(rec.kind), strna(rec.agent));
                (void) sd_journal_send("MESSAGE=Fault %" PRIu64 " (%s on %s) undone after a daemon restart.", rec.id,
                                       chaos_kind_to_string(rec.kind), strna(rec.agent),
                                       "MESSAGE_ID=" UNIFIED_MESSAGE_FAULT_UNDONE, "PRIORITY=%i", LOG_NOTICE,
                                       "UNIFIED_FAULT_ID=%" PRIu64, rec.id, "UNIFIED_FAULT_KIND=%s",
                                       chaos_kind_to_string(rec.kind), "UNIFIED_AGENT=%s", strempty(rec.agent), NULL);
                r = record_undo(c, &rec, false);
                if (r < 0)
                        log_warning_errno(r, "Failed to undo fault %" PRIu64 ", keeping its record: %m", rec.id);
                else if (r == 0)
                        (void) unlink(path);
                n++;
        }
        return (int) MIN(n, (unsigned) INT32_MAX);
}

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

        while (c->n_faults > 0) {
                Fault *f = c->faults[c->n_faults - 1];

                c->n_faults--;
                if (f->lever_in_place && f->record && c->manager->bus && sd_bus_is_open(c->manager->bus) > 0) {
                        _cleanup_(record_done) Record rec = {};

                        /* Best effort now; the record stays if it did not work, for the next start. */
                        if (record_load(f->record, &rec) >= 0 && record_undo(c, &rec, true) > 0)
                                fault_record_remove(f);
                }
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
