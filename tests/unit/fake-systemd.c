/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The fake systemd and polkit of the in-process tests (fake-systemd.h). No cmocka asserts here: this runs
 * on a thread of its own, where a failed assert could not unwind the test. Setup failures abort(). */

#include <errno.h>
#include <inttypes.h>
#include <fnmatch.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>
#include <systemd/sd-id128.h>

#include "fake-systemd.h"
#include "macro.h"
#include "string-util.h"
#include "strv.h"
#include "systemd-client.h"

#define STEP_USEC (1 * USEC_PER_MSEC)
#define RESTART_USEC_MAX (20 * USEC_PER_MSEC)
#define JOB_PREFIX "/org/freedesktop/systemd1/job/"
#define UNIT_PREFIX "/org/freedesktop/systemd1/unit"
#define POLKIT_SERVICE "org.freedesktop.PolicyKit1"
#define POLKIT_PATH "/org/freedesktop/PolicyKit1/Authority"
#define POLKIT_IFACE "org.freedesktop.PolicyKit1.Authority"

#define IN_SET(x, a, b, c, d) ((x) == (a) || (x) == (b) || (x) == (c) || (x) == (d))

static bool startswith(const char *s, const char *prefix) {
        return strneq(s, prefix, strlen(prefix));
}

static bool endswith(const char *s, const char *suffix) {
        size_t l = strlen(s), k = strlen(suffix);

        return l >= k && streq(s + l - k, suffix);
}

#define die_if(cond, what)                                                                              \
        do {                                                                                            \
                if (cond) {                                                                             \
                        fprintf(stderr, "fake-systemd: %s failed\n", what);                             \
                        abort();                                                                        \
                }                                                                                       \
        } while (0)

typedef struct IpEntry {
        int32_t family;
        uint8_t address[16];
        size_t size;
        uint32_t prefixlen;
} IpEntry;

typedef enum Step {
        STEP_NONE,
        STEP_STARTED,           /* activating -> the start's outcome */
        STEP_STOPPED,           /* deactivating -> inactive */
        STEP_RESTART,           /* auto-restart -> a new start */
        STEP_CRASH_AGAIN,       /* FAKE_START_EXIT after it became active */
} Step;

struct FakeUnit {
        FakeSystemd *fake;
        char *name;
        char *path;
        bool socket;
        char *aux;                      /* a socket's service */
        bool transient;

        char *active, *sub, *result;
        bool condition_result;
        usec_t state_change;
        sd_id128_t invocation;
        uint32_t main_pid, n_restarts;

        char **props;                   /* "Name=value", the last value of each */
        uint64_t memory_max, swap_max, memory_current;
        IpEntry *deny;
        size_t n_deny;
        char **environment;
        char *slice;

        usec_t *starts;                 /* CLOCK_MONOTONIC of each start, for the start limit */
        size_t n_starts;

        uint32_t job_id;                /* the pending job, 0 if none */
        FakeUnit *waiting_for;          /* stopped because this required unit went down */
        Step step;
        sd_event_source *timer;
};

typedef struct Behaviour {
        char *unit;
        FakeStart how;
        char *error;
        unsigned refusals;              /* FAKE_START_REFUSE: this many, then FAKE_START_OK; 0: always */
        char *properties_error;         /* SetUnitProperties answered with this error ... */
        unsigned properties_refusals;   /* ... this many more times */
} Behaviour;

typedef struct Verdict {
        char *action;
        FakeVerdict verdict;
        usec_t delay;
} Verdict;

typedef struct PendingCheck {
        FakeSystemd *fake;
        sd_bus_message *call;
        FakeVerdict verdict;
        sd_event_source *timer;
} PendingCheck;

typedef struct Command {
        void (*fn)(FakeSystemd *f, void *userdata);
        void *userdata;
        bool done;
        struct Command *next;
} Command;

struct FakeSystemd {
        char *address;
        char *version;
        pthread_t thread;
        pthread_mutex_t lock;
        pthread_cond_t cond;
        int efd;
        Command *commands;
        bool ready;

        sd_event *event;
        sd_bus *bus;                    /* org.freedesktop.systemd1 */
        sd_bus *polkit_bus;             /* org.freedesktop.PolicyKit1 */

        FakeUnit **units;
        size_t n_units;
        uint32_t next_job;
        uint32_t next_pid;
        char **calls;

        Behaviour *behaviours;
        size_t n_behaviours;
        Verdict *verdicts;
        size_t n_verdicts;
        unsigned n_checks, n_checks_pending, peak_checks_pending;
        usec_t stop_usec;
        bool muted;                     /* off the bus: what changes is not announced */
        char **subscribed;              /* unique names of the clients that called Subscribe */
};

/* ---------------------------------------------------------------------------------------------------
 * Units */

static FakeUnit *unit_find(FakeSystemd *f, const char *name) {
        for (size_t i = 0; i < f->n_units; i++)
                if (streq(f->units[i]->name, name))
                        return f->units[i];
        return NULL;
}

static FakeUnit *unit_find_by_path(FakeSystemd *f, const char *path) {
        for (size_t i = 0; i < f->n_units; i++)
                if (streq(f->units[i]->path, path))
                        return f->units[i];
        return NULL;
}

static void unit_free(FakeUnit *u) {
        if (!u)
                return;
        sd_event_source_disable_unref(u->timer);
        free(u->name);
        free(u->path);
        free(u->aux);
        free(u->active);
        free(u->sub);
        free(u->result);
        strv_free(u->props);
        free(u->deny);
        strv_free(u->environment);
        free(u->slice);
        free(u->starts);
        free(u);
}

static FakeUnit *unit_new(FakeSystemd *f, const char *name) {
        FakeUnit *u = calloc(1, sizeof(FakeUnit)), **l;

        die_if(!u, "calloc");
        u->fake = f;
        u->name = strdup(name);
        die_if(!u->name || systemd_unit_path(name, &u->path) < 0, "unit name");
        u->socket = endswith(name, ".socket");
        u->active = strdup("inactive");
        u->sub = strdup("dead");
        u->result = strdup("success");
        u->condition_result = true;
        u->memory_max = u->swap_max = UINT64_MAX;
        u->memory_current = 4 * 1024 * 1024;
        die_if(!u->active || !u->sub || !u->result, "strdup");
        l = realloc(f->units, sizeof(FakeUnit *) * (f->n_units + 1));
        die_if(!l, "realloc");
        f->units = l;
        f->units[f->n_units++] = u;
        return u;
}

static void unit_remove(FakeUnit *u) {
        FakeSystemd *f = u->fake;

        for (size_t i = 0; i < f->n_units; i++)
                if (f->units[i] == u) {
                        memmove(f->units + i, f->units + i + 1, (f->n_units - i - 1) * sizeof(FakeUnit *));
                        f->n_units--;
                        break;
                }
        (void) sd_bus_emit_signal(f->bus, SYSTEMD_PATH, SYSTEMD_MANAGER_IFACE, "UnitRemoved", "so", u->name, u->path);
        unit_free(u);
}

static const char *unit_prop(const FakeUnit *u, const char *name) {
        size_t l = strlen(name);

        STRV_FOREACH(p, u->props)
                if (strneq(*p, name, l) && (*p)[l] == '=')
                        return *p + l + 1;
        return NULL;
}

static void unit_set_prop(FakeUnit *u, const char *name, const char *value) {
        size_t l = strlen(name);
        char *s;

        die_if(asprintf(&s, "%s=%s", name, value) < 0, "asprintf");
        STRV_FOREACH(p, u->props)
                if (strneq(*p, name, l) && (*p)[l] == '=') {
                        free(*p);
                        *p = s;
                        return;
                }
        die_if(strv_consume(&u->props, s) < 0, "strv_consume");
}

static void set_string(char **field, const char *value) {
        die_if(free_and_strdup(field, value) < 0, "strdup");
}

static const char *const unit_iface_props[] = { "Id", "LoadState", "ActiveState", "SubState", "ConditionResult",
                                                "StateChangeTimestamp", "InvocationID", "Job", NULL };
static const char *const service_iface_props[] = { "Result", "MainPID", "NRestarts", "Slice", "Environment",
                                                   "MemoryMax", "MemorySwapMax", "MemoryCurrent", "IPAddressDeny",
                                                   NULL };
static const char *const socket_iface_props[] = { "Result", NULL };

static int emit_changed(FakeUnit *u, const char *iface, const char *const *names);

/* Announces the unit's state as systemd does: the type's interface first, then Unit. */
static void unit_emit(FakeUnit *u) {
        (void) emit_changed(u, u->socket ? SYSTEMD_SOCKET_IFACE : SYSTEMD_SERVICE_IFACE,
                            u->socket ? socket_iface_props : service_iface_props);
        (void) emit_changed(u, SYSTEMD_UNIT_IFACE, unit_iface_props);
}

static void unit_set_state(FakeUnit *u, const char *active, const char *sub) {
        set_string(&u->active, active);
        set_string(&u->sub, sub);
        u->state_change = now(CLOCK_REALTIME);
}

static void job_finish(FakeUnit *u, const char *result) {
        _cleanup_free_ char *job = NULL;
        uint32_t id = u->job_id;

        if (id == 0)
                return;
        u->job_id = 0;
        die_if(asprintf(&job, JOB_PREFIX "%u", id) < 0, "asprintf");
        if (u->fake->muted)
                return;
        (void) sd_bus_emit_signal(u->fake->bus, SYSTEMD_PATH, SYSTEMD_MANAGER_IFACE, "JobRemoved", "uoss", id, job,
                                  u->name, result);
}

static uint32_t job_new(FakeUnit *u, char **ret_path) {
        u->job_id = ++u->fake->next_job;
        die_if(asprintf(ret_path, JOB_PREFIX "%u", u->job_id) < 0, "asprintf");
        return u->job_id;
}

static int on_unit_timer(sd_event_source *s, uint64_t usec, void *userdata);

static void unit_schedule(FakeUnit *u, Step step, usec_t delay) {
        u->step = step;
        u->timer = sd_event_source_disable_unref(u->timer);
        die_if(sd_event_add_time_relative(u->fake->event, &u->timer, CLOCK_MONOTONIC, delay, 0, on_unit_timer, u) < 0,
               "sd_event_add_time_relative");
}

static const Behaviour *behaviour_of(FakeSystemd *f, const char *unit) {
        for (size_t i = 0; i < f->n_behaviours; i++)
                if (streq(f->behaviours[i].unit, unit))
                        return &f->behaviours[i];
        return NULL;
}

static bool unit_is_active(const FakeUnit *u) {
        return streq(u->active, "active") || streq(u->active, "reloading");
}

/* systemd collects a unit nothing references once it is inactive (failed ones stay until reset). */
static void unit_maybe_collect(FakeUnit *u) {
        FakeUnit *aux;

        if (endswith(u->name, ".slice") || !streq(u->active, "inactive") || u->job_id != 0)
                return;
        if (u->socket) {
                aux = u->aux ? unit_find(u->fake, u->aux) : NULL;
                if (aux && streq(aux->active, "inactive") && aux->job_id == 0)
                        unit_remove(aux);
        } else {
                /* A socket's service goes with its socket. */
                for (size_t i = 0; i < u->fake->n_units; i++)
                        if (streq_ptr(u->fake->units[i]->aux, u->name))
                                return;
                /* A timer's service that never ran goes with its timer. */
                aux = u->aux ? unit_find(u->fake, u->aux) : NULL;
                if (aux && streq(aux->active, "inactive") && aux->job_id == 0)
                        unit_remove(aux);
        }
        unit_remove(u);
}

static void unit_begin_start(FakeUnit *u) {
        usec_t t = now(CLOCK_MONOTONIC);
        usec_t *l;

        l = realloc(u->starts, sizeof(usec_t) * (u->n_starts + 1));
        die_if(!l, "realloc");
        u->starts = l;
        u->starts[u->n_starts++] = t;
        u->condition_result = true;
        set_string(&u->result, "success");
        unit_set_state(u, "activating", u->socket ? "listening" : "start");
        if (!u->socket)
                u->main_pid = ++u->fake->next_pid;
        unit_emit(u);
        unit_schedule(u, STEP_STARTED, STEP_USEC);
}

static uint64_t prop_u64(const FakeUnit *u, const char *name, uint64_t def) {
        const char *v = unit_prop(u, name);

        return v ? strtoull(v, NULL, 10) : def;
}

static bool start_limit_hit(const FakeUnit *u) {
        uint64_t burst = prop_u64(u, "StartLimitBurst", 5), interval = prop_u64(u, "StartLimitIntervalUSec",
                                                                                  10 * USEC_PER_SEC);
        usec_t t = now(CLOCK_MONOTONIC);
        size_t n = 0;

        for (size_t i = 0; i < u->n_starts; i++)
                if (u->starts[i] + interval > t)
                        n++;
        return n >= burst;
}

static void dependents_follow(FakeUnit *u);

/* The main process is gone with "result": restart as Restart= says (the start limit is checked when the
 * restart's start is due, as systemd does), or fail. Units that require it go down with it. */
static void unit_main_exited(FakeUnit *u, const char *result) {
        const char *policy = unit_prop(u, "Restart");
        bool restart = policy && (streq(policy, "always") || (streq(policy, "on-failure") && !streq(result, "success")));

        u->main_pid = 0;
        set_string(&u->result, result);
        if (restart) {
                uint64_t delay = MIN(prop_u64(u, "RestartUSec", 100 * USEC_PER_MSEC), RESTART_USEC_MAX);

                unit_set_state(u, "activating", "auto-restart");
                unit_emit(u);
                unit_schedule(u, STEP_RESTART, MAX(delay, STEP_USEC));
        } else {
                unit_set_state(u, "failed", "failed");
                unit_emit(u);
                job_finish(u, "failed");
        }
        dependents_follow(u);
}

/* Whether "d" has Requires=u. */
static bool unit_requires(const FakeUnit *d, const FakeUnit *u) {
        const char *req = unit_prop(d, "Requires");
        size_t l = strlen(u->name);

        for (const char *p = req ? strstr(req, u->name) : NULL; p; p = strstr(p + 1, u->name))
                if ((p == req || strchr("[ ", p[-1])) && (p[l] == ']' || p[l] == ' '))
                        return true;
        return false;
}

static void unit_begin_stop(FakeUnit *u);

/* Requires=: units that require "u" go down while it is down, and start again once it is active (systemd
 * propagates the restart job). */
static void dependents_follow(FakeUnit *u) {
        FakeSystemd *f = u->fake;
        bool up = unit_is_active(u);

        for (size_t i = 0; i < f->n_units; i++) {
                FakeUnit *d = f->units[i];

                if (d == u || !unit_requires(d, u))
                        continue;
                if (!up && (unit_is_active(d) || streq(d->active, "activating"))) {
                        d->main_pid = 0;
                        d->timer = sd_event_source_disable_unref(d->timer);
                        d->step = STEP_NONE;
                        d->waiting_for = u;
                        unit_set_state(d, "inactive", "dead");
                        unit_emit(d);
                        dependents_follow(d);
                } else if (up && d->waiting_for == u) {
                        d->waiting_for = NULL;
                        unit_begin_start(d);
                }
        }
}

/* A stop of a required unit stops the units that require it, for good. */
static void unit_stop_dependents(FakeUnit *u) {
        FakeSystemd *f = u->fake;

        for (size_t i = 0; i < f->n_units; i++) {
                FakeUnit *d = f->units[i];

                if (d != u && unit_requires(d, u) && !streq(d->active, "inactive") && !streq(d->active, "failed"))
                        unit_begin_stop(d);
        }
}

static int on_unit_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        FakeUnit *u = userdata;
        const Behaviour *b = behaviour_of(u->fake, u->name);
        FakeStart how = b ? b->how : FAKE_START_OK;
        Step step = u->step;

        u->timer = sd_event_source_disable_unref(u->timer);
        u->step = STEP_NONE;
        switch (step) {
        case STEP_STARTED:
                if (how == FAKE_START_HOLD)
                        return 0;
                if (how == FAKE_START_CONDITION) {
                        u->condition_result = false;
                        u->main_pid = 0;
                        unit_set_state(u, "inactive", "dead");
                        unit_emit(u);
                        job_finish(u, "done");
                        unit_maybe_collect(u);
                        return 0;
                }
                die_if(sd_id128_randomize(&u->invocation) < 0, "sd_id128_randomize");
                unit_set_state(u, "active", u->socket ? "listening" : "running");
                unit_emit(u);
                job_finish(u, "done");
                dependents_follow(u);
                if (how == FAKE_START_EXIT)
                        unit_schedule(u, STEP_CRASH_AGAIN, STEP_USEC);
                return 0;
        case STEP_CRASH_AGAIN:
                unit_main_exited(u, "exit-code");
                return 0;
        case STEP_RESTART:
                u->n_restarts++;
                if (start_limit_hit(u)) {
                        set_string(&u->result, "start-limit-hit");
                        unit_set_state(u, "failed", "failed");
                        unit_emit(u);
                        job_finish(u, "failed");
                        return 0;
                }
                unit_begin_start(u);
                return 0;
        case STEP_STOPPED:
                u->main_pid = 0;
                unit_set_state(u, "inactive", "dead");
                unit_emit(u);
                job_finish(u, "done");
                unit_stop_dependents(u);
                unit_maybe_collect(u);
                return 0;
        default:
                return 0;
        }
}

static void unit_begin_stop(FakeUnit *u) {
        unit_set_state(u, "deactivating", u->socket ? "stop-pre" : "stop-sigterm");
        unit_emit(u);
        unit_schedule(u, STEP_STOPPED, MAX(u->fake->stop_usec, STEP_USEC));
}

/* ---------------------------------------------------------------------------------------------------
 * Rendering a(sv) values as text, and taking the typed ones the GetAll replies need */

static int render_value(sd_bus_message *m, char **buf);

static int render_append(char **buf, const char *s) {
        char *n;

        if (asprintf(&n, "%s%s", strempty(*buf), s) < 0)
                return -ENOMEM;
        free(*buf);
        *buf = n;
        return 0;
}

static int render_container(sd_bus_message *m, char type, const char *contents, char **buf) {
        bool first = true;
        int r;

        r = sd_bus_message_enter_container(m, type, contents);
        if (r < 0)
                return r;
        if (type != SD_BUS_TYPE_VARIANT)
                (void) render_append(buf, type == SD_BUS_TYPE_ARRAY ? "[" : "(");
        for (;;) {
                r = sd_bus_message_at_end(m, false);
                if (r < 0)
                        return r;
                if (r > 0)
                        break;
                if (!first)
                        (void) render_append(buf, " ");
                first = false;
                r = render_value(m, buf);
                if (r < 0)
                        return r;
        }
        if (type != SD_BUS_TYPE_VARIANT)
                (void) render_append(buf, type == SD_BUS_TYPE_ARRAY ? "]" : ")");
        return sd_bus_message_exit_container(m);
}

static int render_value(sd_bus_message *m, char **buf) {
        const char *contents;
        char type, s[64];
        union {
                uint8_t y;
                int b;
                int16_t n;
                uint16_t q;
                int32_t i;
                uint32_t u;
                int64_t x;
                uint64_t t;
                double d;
                const char *str;
        } v;
        int r;

        r = sd_bus_message_peek_type(m, &type, &contents);
        if (r <= 0)
                return r < 0 ? r : -EBADMSG;
        if (IN_SET(type, SD_BUS_TYPE_ARRAY, SD_BUS_TYPE_STRUCT, SD_BUS_TYPE_VARIANT, SD_BUS_TYPE_DICT_ENTRY))
                return render_container(m, type, contents, buf);
        r = sd_bus_message_read_basic(m, type, &v);
        if (r < 0)
                return r;
        switch (type) {
        case SD_BUS_TYPE_BYTE: snprintf(s, sizeof(s), "%u", v.y); break;
        case SD_BUS_TYPE_BOOLEAN: snprintf(s, sizeof(s), "%s", v.b ? "yes" : "no"); break;
        case SD_BUS_TYPE_INT16: snprintf(s, sizeof(s), "%d", v.n); break;
        case SD_BUS_TYPE_UINT16: snprintf(s, sizeof(s), "%u", v.q); break;
        case SD_BUS_TYPE_INT32: snprintf(s, sizeof(s), "%d", v.i); break;
        case SD_BUS_TYPE_UINT32: snprintf(s, sizeof(s), "%u", v.u); break;
        case SD_BUS_TYPE_INT64: snprintf(s, sizeof(s), "%" PRIi64, v.x); break;
        case SD_BUS_TYPE_UINT64: snprintf(s, sizeof(s), "%" PRIu64, v.t); break;
        case SD_BUS_TYPE_DOUBLE: snprintf(s, sizeof(s), "%g", v.d); break;
        default:
                return render_append(buf, v.str);
        }
        return render_append(buf, s);
}

static int read_ip_list(sd_bus_message *m, FakeUnit *u) {
        IpEntry e;
        int r;

        u->deny = mfree(u->deny);
        u->n_deny = 0;
        r = sd_bus_message_enter_container(m, 'v', "a(iayu)");
        if (r < 0)
                return r;
        r = sd_bus_message_enter_container(m, 'a', "(iayu)");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_enter_container(m, 'r', "iayu")) > 0) {
                const void *a;
                IpEntry *l;

                r = sd_bus_message_read(m, "i", &e.family);
                if (r >= 0)
                        r = sd_bus_message_read_array(m, 'y', &a, &e.size);
                if (r >= 0)
                        r = sd_bus_message_read(m, "u", &e.prefixlen);
                if (r < 0)
                        return r;
                memcpy(e.address, a, MIN(e.size, sizeof(e.address)));
                l = realloc(u->deny, sizeof(IpEntry) * (u->n_deny + 1));
                if (!l)
                        return -ENOMEM;
                u->deny = l;
                u->deny[u->n_deny++] = e;
                r = sd_bus_message_exit_container(m);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;
        r = sd_bus_message_exit_container(m);
        if (r < 0)
                return r;
        r = sd_bus_message_exit_container(m);
        if (r < 0)
                return r;
        unit_set_prop(u, "IPAddressDeny", u->n_deny > 0 ? "set" : "");
        return 0;
}

/* Reads an a(sv) into the unit's properties. */
static int read_properties(sd_bus_message *m, FakeUnit *u) {
        int r;

        r = sd_bus_message_enter_container(m, 'a', "(sv)");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_enter_container(m, 'r', "sv")) > 0) {
                _cleanup_free_ char *value = NULL;
                const char *name;

                r = sd_bus_message_read(m, "s", &name);
                if (r < 0)
                        return r;
                if (streq(name, "IPAddressDeny"))
                        r = read_ip_list(m, u);
                else {
                        r = render_value(m, &value);
                        if (r >= 0)
                                unit_set_prop(u, name, strempty(value));
                }
                if (r < 0)
                        return r;
                if (streq(name, "MemoryMax"))
                        u->memory_max = prop_u64(u, name, UINT64_MAX);
                else if (streq(name, "MemorySwapMax"))
                        u->swap_max = prop_u64(u, name, UINT64_MAX);
                else if (streq(name, "Slice"))
                        set_string(&u->slice, value);
                r = sd_bus_message_exit_container(m);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;
        return sd_bus_message_exit_container(m);
}

static void record_call(FakeSystemd *f, const char *method, const char *unit) {
        char *s;

        die_if(asprintf(&s, "%s %s", method, strempty(unit)) < 0 || strv_consume(&f->calls, s) < 0, "record");
}

/* ---------------------------------------------------------------------------------------------------
 * org.freedesktop.systemd1.Manager */

static int method_subscribe(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        FakeSystemd *f = userdata;
        const char *sender = sd_bus_message_get_sender(m);

        record_call(f, "Subscribe", NULL);
        /* As systemd: a client subscribes once, and stays subscribed across systemd's reconnections. */
        if (strv_contains(f->subscribed, sender))
                return sd_bus_error_setf(error, "org.freedesktop.systemd1.AlreadySubscribed",
                                         "Client is already subscribed.");
        die_if(strv_extend(&f->subscribed, sender) < 0, "strv_extend");
        return sd_bus_reply_method_return(m, NULL);
}

static int method_start_transient_unit(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        FakeSystemd *f = userdata;
        _cleanup_free_ char *job = NULL;
        const char *name, *mode;
        const Behaviour *b;
        FakeUnit *u, *aux = NULL;
        int r;

        r = sd_bus_message_read(m, "ss", &name, &mode);
        if (r < 0)
                return r;
        record_call(f, "StartTransientUnit", name);
        b = behaviour_of(f, name);
        if (b && b->how == FAKE_START_REFUSE) {
                if (b->refusals > 0 && --((Behaviour *) b)->refusals == 0)
                        ((Behaviour *) b)->how = FAKE_START_OK;
                return sd_bus_error_setf(error, b->error, "Refused to start %s (fake).", name);
        }
        u = unit_find(f, name);
        if (u)
                return sd_bus_error_setf(error, "org.freedesktop.systemd1.UnitExists", "Unit %s was already loaded "
                                         "or has a fragment file.", name);
        u = unit_new(f, name);
        u->transient = true;
        r = read_properties(m, u);
        if (r < 0) {
                unit_remove(u);
                return r;
        }
        /* Auxiliary units: a socket's service. */
        r = sd_bus_message_enter_container(m, 'a', "(sa(sv))");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_enter_container(m, 'r', "sa(sv)")) > 0) {
                const char *aux_name;

                r = sd_bus_message_read(m, "s", &aux_name);
                if (r < 0)
                        return r;
                aux = unit_new(f, aux_name);
                aux->transient = true;
                set_string(&u->aux, aux_name);
                r = read_properties(m, aux);
                if (r < 0)
                        return r;
                r = sd_bus_message_exit_container(m);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;

        job_new(u, &job);
        r = sd_bus_reply_method_return(m, "o", job);
        if (r < 0)
                return r;
        unit_begin_start(u);
        return 1;
}

static int method_start_unit(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        FakeSystemd *f = userdata;
        _cleanup_free_ char *job = NULL;
        const char *name, *mode;
        FakeUnit *u;
        int r;

        r = sd_bus_message_read(m, "ss", &name, &mode);
        if (r < 0)
                return r;
        record_call(f, sd_bus_message_get_member(m), name);
        u = unit_find(f, name) ?: unit_new(f, name);
        job_new(u, &job);
        r = sd_bus_reply_method_return(m, "o", job);
        if (r < 0)
                return r;
        if (unit_is_active(u) && streq(sd_bus_message_get_member(m), "StartUnit"))
                job_finish(u, "done");
        else
                unit_begin_start(u);
        return 1;
}

static int method_stop_unit(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        FakeSystemd *f = userdata;
        _cleanup_free_ char *job = NULL;
        const char *name, *mode;
        FakeUnit *u;
        int r;

        r = sd_bus_message_read(m, "ss", &name, &mode);
        if (r < 0)
                return r;
        record_call(f, "StopUnit", name);
        u = unit_find(f, name);
        if (!u)
                return sd_bus_error_setf(error, "org.freedesktop.systemd1.NoSuchUnit", "Unit %s not loaded.", name);
        /* A start still running is replaced. */
        job_finish(u, "canceled");
        job_new(u, &job);
        r = sd_bus_reply_method_return(m, "o", job);
        if (r < 0)
                return r;
        if (streq(u->active, "inactive") || streq(u->active, "failed")) {
                if (streq(u->active, "failed")) {
                        /* Stopping a failed unit leaves it failed; the job is done at once. */
                        job_finish(u, "done");
                        return 1;
                }
                job_finish(u, "done");
                unit_maybe_collect(u);
                return 1;
        }
        unit_begin_stop(u);
        return 1;
}

static int method_reset_failed_unit(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        FakeSystemd *f = userdata;
        const char *name;
        FakeUnit *u;
        int r;

        r = sd_bus_message_read(m, "s", &name);
        if (r < 0)
                return r;
        record_call(f, "ResetFailedUnit", name);
        u = unit_find(f, name);
        if (!u)
                return sd_bus_error_setf(error, "org.freedesktop.systemd1.NoSuchUnit", "Unit %s not loaded.", name);
        r = sd_bus_reply_method_return(m, NULL);
        if (r < 0)
                return r;
        u->n_starts = 0;
        if (streq(u->active, "failed")) {
                set_string(&u->result, "success");
                unit_set_state(u, "inactive", "dead");
                unit_emit(u);
                unit_maybe_collect(u);
        }
        return 1;
}

static int method_kill_unit(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        FakeSystemd *f = userdata;
        const char *name, *whom;
        int32_t sig;
        FakeUnit *u;
        int r;

        r = sd_bus_message_read(m, "ssi", &name, &whom, &sig);
        if (r < 0)
                return r;
        record_call(f, "KillUnit", name);
        u = unit_find(f, name);
        if (!u)
                return sd_bus_error_setf(error, "org.freedesktop.systemd1.NoSuchUnit", "Unit %s not loaded.", name);
        r = sd_bus_reply_method_return(m, NULL);
        if (r < 0)
                return r;
        if (u->main_pid != 0)
                unit_main_exited(u, "signal");
        return 1;
}

static int method_set_unit_properties(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        FakeSystemd *f = userdata;
        const Behaviour *b;
        const char *name;
        FakeUnit *u;
        int runtime, r;

        r = sd_bus_message_read(m, "sb", &name, &runtime);
        if (r < 0)
                return r;
        record_call(f, "SetUnitProperties", name);
        u = unit_find(f, name);
        if (!u && endswith(name, ".slice")) {
                /* A slice with a unit file (unified.slice): loaded when named. */
                u = unit_new(f, name);
                unit_set_state(u, "active", "active");
        }
        if (!u)
                return sd_bus_error_setf(error, "org.freedesktop.systemd1.NoSuchUnit", "Unit %s not loaded.", name);
        b = behaviour_of(f, name);
        if (b && b->properties_refusals > 0) {
                ((Behaviour *) b)->properties_refusals--;
                return sd_bus_error_setf(error, b->properties_error, "Refused to set properties of %s (fake).", name);
        }
        r = read_properties(m, u);
        if (r < 0)
                return r;
        r = sd_bus_reply_method_return(m, NULL);
        if (r < 0)
                return r;
        /* The kernel's answer to a limit below what the cgroup uses. */
        if (u->main_pid != 0 && u->memory_max < u->memory_current)
                unit_main_exited(u, "oom-kill");
        return 1;
}

static int method_revert_unit_files(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        _cleanup_strv_free_ char **names = NULL;
        int r;

        r = sd_bus_message_read_strv(m, &names);
        if (r < 0)
                return r;
        STRV_FOREACH(n, names)
                record_call(userdata, "RevertUnitFiles", *n);
        return sd_bus_reply_method_return(m, "a(sss)", 0);
}

static int method_list_units_by_patterns(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_strv_free_ char **states = NULL, **patterns = NULL;
        FakeSystemd *f = userdata;
        int r;

        r = sd_bus_message_read_strv(m, &states);
        if (r >= 0)
                r = sd_bus_message_read_strv(m, &patterns);
        if (r < 0)
                return r;
        record_call(f, "ListUnitsByPatterns", NULL);
        r = sd_bus_message_new_method_return(m, &reply);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "(ssssssouso)");
        for (size_t i = 0; r >= 0 && i < f->n_units; i++) {
                FakeUnit *u = f->units[i];
                bool match = strv_length(patterns) == 0;

                STRV_FOREACH(p, patterns)
                        match = match || fnmatch(*p, u->name, 0) == 0;
                if (!match || (strv_length(states) > 0 && !strv_contains(states, u->active)))
                        continue;
                r = sd_bus_message_append(reply, "(ssssssouso)", u->name, "", "loaded", u->active, u->sub, "",
                                          u->path, (uint32_t) 0, "", "/");
        }
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

static int property_get_version(sd_bus *bus, const char *path, const char *interface, const char *property,
                                sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        FakeSystemd *f = userdata;

        return sd_bus_message_append(reply, "s", f->version);
}

static const sd_bus_vtable manager_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Version", "s", property_get_version, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_METHOD("Subscribe", "", "", method_subscribe, 0),
        SD_BUS_METHOD("StartTransientUnit", "ssa(sv)a(sa(sv))", "o", method_start_transient_unit, 0),
        SD_BUS_METHOD("StartUnit", "ss", "o", method_start_unit, 0),
        SD_BUS_METHOD("RestartUnit", "ss", "o", method_start_unit, 0),
        SD_BUS_METHOD("StopUnit", "ss", "o", method_stop_unit, 0),
        SD_BUS_METHOD("ResetFailedUnit", "s", "", method_reset_failed_unit, 0),
        SD_BUS_METHOD("KillUnit", "ssi", "", method_kill_unit, 0),
        SD_BUS_METHOD("SetUnitProperties", "sba(sv)", "", method_set_unit_properties, 0),
        SD_BUS_METHOD("RevertUnitFiles", "as", "a(sss)", method_revert_unit_files, 0),
        SD_BUS_METHOD("ListUnitsByPatterns", "asas", "a(ssssssouso)", method_list_units_by_patterns, 0),
        SD_BUS_SIGNAL("JobRemoved", "uoss", 0),
        SD_BUS_SIGNAL("UnitRemoved", "so", 0),
        SD_BUS_VTABLE_END,
};


/* ---------------------------------------------------------------------------------------------------
 * Unit objects: org.freedesktop.DBus.Properties by hand, for any unit name (systemd answers for units it
 * has not loaded too, as inactive and not-found) */

static const FakeUnit unit_not_loaded = {
        .active = (char *) "inactive",
        .sub = (char *) "dead",
        .result = (char *) "success",
        .condition_result = true,
        .memory_max = UINT64_MAX,
        .swap_max = UINT64_MAX,
        .memory_current = UINT64_MAX,
};

static int append_ip_list(sd_bus_message *reply, const FakeUnit *u) {
        int r;

        r = sd_bus_message_open_container(reply, 'v', "a(iayu)");
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "(iayu)");
        for (size_t i = 0; r >= 0 && i < u->n_deny; i++) {
                r = sd_bus_message_open_container(reply, 'r', "iayu");
                if (r >= 0)
                        r = sd_bus_message_append(reply, "i", u->deny[i].family);
                if (r >= 0)
                        r = sd_bus_message_append_array(reply, 'y', u->deny[i].address, u->deny[i].size);
                if (r >= 0)
                        r = sd_bus_message_append(reply, "u", u->deny[i].prefixlen);
                if (r >= 0)
                        r = sd_bus_message_close_container(reply);
        }
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        return r;
}

/* The variant of one property; "unit" NULL: a unit systemd has not loaded. */
static int append_value(sd_bus_message *reply, const FakeUnit *unit, const char *unit_name, const char *name) {
        const FakeUnit *u = unit ?: &unit_not_loaded;
        int r;

        if (streq(name, "Id"))
                return sd_bus_message_append(reply, "v", "s", unit_name);
        if (streq(name, "LoadState"))
                return sd_bus_message_append(reply, "v", "s", unit ? "loaded" : "not-found");
        if (streq(name, "ActiveState"))
                return sd_bus_message_append(reply, "v", "s", u->active);
        if (streq(name, "SubState"))
                return sd_bus_message_append(reply, "v", "s", u->sub);
        if (streq(name, "ConditionResult"))
                return sd_bus_message_append(reply, "v", "b", u->condition_result);
        if (streq(name, "StateChangeTimestamp"))
                return sd_bus_message_append(reply, "v", "t", u->state_change);
        if (streq(name, "InvocationID")) {
                r = sd_bus_message_open_container(reply, 'v', "ay");
                if (r >= 0)
                        r = sd_bus_message_append_array(reply, 'y', &u->invocation, sizeof(sd_id128_t));
                if (r >= 0)
                        r = sd_bus_message_close_container(reply);
                return r;
        }
        if (streq(name, "Job")) {
                _cleanup_free_ char *job = NULL;

                if (u->job_id > 0 && asprintf(&job, JOB_PREFIX "%u", u->job_id) < 0)
                        return -ENOMEM;
                return sd_bus_message_append(reply, "v", "(uo)", u->job_id, job ?: "/");
        }
        if (streq(name, "Result"))
                return sd_bus_message_append(reply, "v", "s", u->result);
        if (streq(name, "MainPID"))
                return sd_bus_message_append(reply, "v", "u", u->main_pid);
        if (streq(name, "NRestarts"))
                return sd_bus_message_append(reply, "v", "u", u->n_restarts);
        if (streq(name, "Slice"))
                return sd_bus_message_append(reply, "v", "s", strempty(u->slice));
        if (streq(name, "Environment")) {
                r = sd_bus_message_open_container(reply, 'v', "as");
                if (r >= 0)
                        r = sd_bus_message_append_strv(reply, u->environment);
                if (r >= 0)
                        r = sd_bus_message_close_container(reply);
                return r;
        }
        if (streq(name, "MemoryMax"))
                return sd_bus_message_append(reply, "v", "t", u->memory_max);
        if (streq(name, "MemorySwapMax"))
                return sd_bus_message_append(reply, "v", "t", u->swap_max);
        if (streq(name, "MemoryCurrent"))
                return sd_bus_message_append(reply, "v", "t", u->memory_current);
        if (streq(name, "IPAddressDeny"))
                return append_ip_list(reply, u);
        return -EINVAL;
}

static int append_dict(sd_bus_message *m, const FakeUnit *u, const char *unit_name, const char *const *names) {
        int r;

        r = sd_bus_message_open_container(m, 'a', "{sv}");
        for (const char *const *n = names; r >= 0 && n && *n; n++) {
                r = sd_bus_message_open_container(m, 'e', "sv");
                if (r >= 0)
                        r = sd_bus_message_append(m, "s", *n);
                if (r >= 0)
                        r = append_value(m, u, unit_name, *n);
                if (r >= 0)
                        r = sd_bus_message_close_container(m);
        }
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        return r;
}

static int emit_changed(FakeUnit *u, const char *iface, const char *const *names) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        int r;

        if (u->fake->muted)
                return 0;
        r = sd_bus_message_new_signal(u->fake->bus, &m, u->path, "org.freedesktop.DBus.Properties",
                                      "PropertiesChanged");
        if (r >= 0)
                r = sd_bus_message_append(m, "s", iface);
        if (r >= 0)
                r = append_dict(m, u, u->name, names);
        if (r >= 0)
                r = sd_bus_message_append(m, "as", 0);
        if (r >= 0)
                r = sd_bus_send(u->fake->bus, m, NULL);
        return r;
}

static const char *const *iface_props(const char *iface) {
        if (streq(iface, SYSTEMD_UNIT_IFACE))
                return unit_iface_props;
        if (streq(iface, SYSTEMD_SERVICE_IFACE))
                return service_iface_props;
        if (streq(iface, SYSTEMD_SOCKET_IFACE))
                return socket_iface_props;
        return NULL;
}

static int on_unit_object(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_free_ char *unit_name = NULL;
        FakeSystemd *f = userdata;
        const char *iface, *name = NULL;
        const char *const *names;
        const FakeUnit *u;
        bool get;
        int r;

        if (sd_bus_message_is_method_call(m, "org.freedesktop.DBus.Properties", "Get"))
                get = true;
        else if (sd_bus_message_is_method_call(m, "org.freedesktop.DBus.Properties", "GetAll"))
                get = false;
        else
                return 0;
        r = sd_bus_message_read(m, "s", &iface);
        if (r >= 0 && get)
                r = sd_bus_message_read(m, "s", &name);
        if (r < 0)
                return r;
        r = sd_bus_path_decode(sd_bus_message_get_path(m), UNIT_PREFIX, &unit_name);
        if (r <= 0)
                return sd_bus_error_setf(error, SD_BUS_ERROR_UNKNOWN_OBJECT, "No such unit object.");
        u = unit_find_by_path(f, sd_bus_message_get_path(m));
        record_call(f, get ? "Get" : "GetAll", unit_name);

        names = iface_props(iface);
        if (get && (!names || !strv_contains((char **) names, name)))
                return sd_bus_error_setf(error, SD_BUS_ERROR_UNKNOWN_PROPERTY, "Unknown property %s.", strna(name));

        r = sd_bus_message_new_method_return(m, &reply);
        if (r < 0)
                return r;
        r = get ? append_value(reply, u, unit_name, name) : append_dict(reply, u, unit_name, names);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

/* A pending job's object: Get of org.freedesktop.systemd1.Job's Id. A job that is over has no object, as
 * in systemd. */
static int on_job_object(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        FakeSystemd *f = userdata;
        const char *path = sd_bus_message_get_path(m), *iface, *name;
        uint32_t id = 0;
        int r;

        if (!sd_bus_message_is_method_call(m, "org.freedesktop.DBus.Properties", "Get"))
                return 0;
        r = sd_bus_message_read(m, "ss", &iface, &name);
        if (r < 0)
                return r;
        if (sscanf(path, JOB_PREFIX "%" SCNu32, &id) != 1 || id == 0)
                return 0;
        record_call(f, "GetJob", path + strlen(JOB_PREFIX));
        for (size_t i = 0; i < f->n_units; i++)
                if (f->units[i]->job_id == id) {
                        if (!streq(iface, "org.freedesktop.systemd1.Job") || !streq(name, "Id"))
                                return sd_bus_error_setf(error, SD_BUS_ERROR_UNKNOWN_PROPERTY, "Unknown property.");
                        return sd_bus_reply_method_return(m, "v", "u", id);
                }
        return 0;
}

/* ---------------------------------------------------------------------------------------------------
 * org.freedesktop.PolicyKit1.Authority */

static const Verdict *verdict_of(FakeSystemd *f, const char *action) {
        for (size_t i = 0; i < f->n_verdicts; i++)
                if (streq(f->verdicts[i].action, action))
                        return &f->verdicts[i];
        return NULL;
}

static void check_answer(PendingCheck *c) {
        static const struct {
                bool authorized, challenge;
        } answers[] = {
                [FAKE_POLKIT_ALLOW] = { true, false },
                [FAKE_POLKIT_DENY] = { false, false },
                [FAKE_POLKIT_CHALLENGE] = { false, true },
        };

        if (c->verdict == FAKE_POLKIT_ERROR)
                (void) sd_bus_reply_method_errorf(c->call, "org.freedesktop.PolicyKit1.Error.Failed",
                                                  "Authorization failed (fake).");
        else
                (void) sd_bus_reply_method_return(c->call, "(bba{ss})", answers[c->verdict].authorized,
                                                  answers[c->verdict].challenge, 0);
        c->fake->n_checks_pending--;
        sd_bus_message_unref(c->call);
        sd_event_source_disable_unref(c->timer);
        free(c);
}

static int on_check_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        check_answer(userdata);
        return 0;
}

static int method_check_authorization(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        FakeSystemd *f = userdata;
        const char *action;
        const Verdict *v;
        PendingCheck *c;
        int r;

        r = sd_bus_message_skip(m, "(sa{sv})");
        if (r >= 0)
                r = sd_bus_message_read(m, "s", &action);
        if (r < 0)
                return r;
        f->n_checks++;
        f->n_checks_pending++;
        f->peak_checks_pending = MAX(f->peak_checks_pending, f->n_checks_pending);
        v = verdict_of(f, action);
        c = calloc(1, sizeof(PendingCheck));
        die_if(!c, "calloc");
        c->fake = f;
        c->call = sd_bus_message_ref(m);
        c->verdict = v ? v->verdict : FAKE_POLKIT_ALLOW;
        if (!v || v->delay == 0) {
                check_answer(c);
                return 1;
        }
        die_if(sd_event_add_time_relative(f->event, &c->timer, CLOCK_MONOTONIC, v->delay, 0, on_check_timer, c) < 0,
               "sd_event_add_time_relative");
        return 1;
}

static const sd_bus_vtable polkit_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_METHOD("CheckAuthorization", "(sa{sv})sa{ss}us", "(bba{ss})", method_check_authorization, 0),
        SD_BUS_VTABLE_END,
};

/* ---------------------------------------------------------------------------------------------------
 * The thread */

static int on_command(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        FakeSystemd *f = userdata;
        uint64_t n;

        (void) read(fd, &n, sizeof(n));
        for (;;) {
                Command *c;

                pthread_mutex_lock(&f->lock);
                c = f->commands;
                if (c)
                        f->commands = c->next;
                pthread_mutex_unlock(&f->lock);
                if (!c)
                        break;
                c->fn(f, c->userdata);
                pthread_mutex_lock(&f->lock);
                c->done = true;
                pthread_cond_broadcast(&f->cond);
                pthread_mutex_unlock(&f->lock);
        }
        return 0;
}

static sd_bus *connect_bus(FakeSystemd *f, const char *name) {
        sd_bus *bus = NULL;

        die_if(sd_bus_new(&bus) < 0, "sd_bus_new");
        die_if(sd_bus_set_address(bus, f->address) < 0, "sd_bus_set_address");
        die_if(sd_bus_set_bus_client(bus, 1) < 0, "sd_bus_set_bus_client");
        die_if(sd_bus_start(bus) < 0, "sd_bus_start");
        die_if(sd_bus_attach_event(bus, f->event, 0) < 0, "sd_bus_attach_event");
        die_if(sd_bus_request_name(bus, name, 0) < 0, "sd_bus_request_name");
        return bus;
}

static void *fake_thread(void *userdata) {
        FakeSystemd *f = userdata;

        die_if(sd_event_new(&f->event) < 0, "sd_event_new");
        die_if(sd_event_add_io(f->event, NULL, f->efd, EPOLLIN, on_command, f) < 0, "sd_event_add_io");
        f->bus = connect_bus(f, SYSTEMD_SERVICE);
        die_if(sd_bus_add_object_vtable(f->bus, NULL, SYSTEMD_PATH, SYSTEMD_MANAGER_IFACE, manager_vtable, f) < 0,
               "manager vtable");
        die_if(sd_bus_add_fallback(f->bus, NULL, UNIT_PREFIX, on_unit_object, f) < 0, "unit objects");
        die_if(sd_bus_add_fallback(f->bus, NULL, "/org/freedesktop/systemd1/job", on_job_object, f) < 0,
               "job objects");
        f->polkit_bus = connect_bus(f, POLKIT_SERVICE);
        die_if(sd_bus_add_object_vtable(f->polkit_bus, NULL, POLKIT_PATH, POLKIT_IFACE, polkit_vtable, f) < 0,
               "polkit vtable");

        pthread_mutex_lock(&f->lock);
        f->ready = true;
        pthread_cond_broadcast(&f->cond);
        pthread_mutex_unlock(&f->lock);

        (void) sd_event_loop(f->event);

        for (size_t i = 0; i < f->n_units; i++)
                unit_free(f->units[i]);
        free(f->units);
        strv_free(f->subscribed);
        sd_bus_flush_close_unref(f->bus);
        sd_bus_flush_close_unref(f->polkit_bus);
        sd_event_unref(f->event);
        return NULL;
}

FakeSystemd *fake_systemd_start(const char *address, const char *version) {
        FakeSystemd *f = calloc(1, sizeof(FakeSystemd));

        die_if(!f, "calloc");
        f->address = strdup(address);
        f->version = strdup(version);
        die_if(!f->address || !f->version, "strdup");
        f->next_pid = 1000;
        f->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        die_if(f->efd < 0, "eventfd");
        pthread_mutex_init(&f->lock, NULL);
        pthread_cond_init(&f->cond, NULL);
        die_if(pthread_create(&f->thread, NULL, fake_thread, f) != 0, "pthread_create");
        pthread_mutex_lock(&f->lock);
        while (!f->ready)
                pthread_cond_wait(&f->cond, &f->lock);
        pthread_mutex_unlock(&f->lock);
        return f;
}

void fake_systemd_exec(FakeSystemd *f, void (*fn)(FakeSystemd *f, void *userdata), void *userdata) {
        Command c = { .fn = fn, .userdata = userdata };
        uint64_t one = 1;

        pthread_mutex_lock(&f->lock);
        Command **tail = &f->commands;
        while (*tail)
                tail = &(*tail)->next;
        *tail = &c;
        pthread_mutex_unlock(&f->lock);
        die_if(write(f->efd, &one, sizeof(one)) != sizeof(one), "write");
        pthread_mutex_lock(&f->lock);
        while (!c.done)
                pthread_cond_wait(&f->cond, &f->lock);
        pthread_mutex_unlock(&f->lock);
}

static void do_exit(FakeSystemd *f, void *userdata) {
        (void) sd_event_exit(f->event, 0);
}

void fake_systemd_stop(FakeSystemd *f) {
        if (!f)
                return;
        fake_systemd_exec(f, do_exit, NULL);
        pthread_join(f->thread, NULL);
        for (size_t i = 0; i < f->n_behaviours; i++) {
                free(f->behaviours[i].unit);
                free(f->behaviours[i].error);
                free(f->behaviours[i].properties_error);
        }
        free(f->behaviours);
        for (size_t i = 0; i < f->n_verdicts; i++)
                free(f->verdicts[i].action);
        free(f->verdicts);
        strv_free(f->calls);
        close(f->efd);
        pthread_mutex_destroy(&f->lock);
        pthread_cond_destroy(&f->cond);
        free(f->address);
        free(f->version);
        free(f);
}

/* ---------------------------------------------------------------------------------------------------
 * The test's controls, each run on the fake's thread */

typedef struct Args {
        const char *unit;
        const char *name;
        const char *s;
        char **strv;
        FakeStart how;
        FakeVerdict verdict;
        usec_t delay;
        char *ret;
        char *ret2;
        char **ret_strv;
        unsigned ret_n, ret_n2;
} Args;

static Behaviour *behaviour_get(FakeSystemd *f, const char *unit) {
        Behaviour *b = (Behaviour *) behaviour_of(f, unit);

        if (!b) {
                Behaviour *l = realloc(f->behaviours, sizeof(Behaviour) * (f->n_behaviours + 1));

                die_if(!l, "realloc");
                f->behaviours = l;
                b = &f->behaviours[f->n_behaviours++];
                *b = (Behaviour) { .unit = strdup(unit) };
                die_if(!b->unit, "strdup");
        }
        return b;
}

static void do_refuse_properties(FakeSystemd *f, void *userdata) {
        Args *a = userdata;
        Behaviour *b = behaviour_get(f, a->unit);

        set_string(&b->properties_error, a->s);
        b->properties_refusals = a->ret_n;
}

void fake_systemd_refuse_properties(FakeSystemd *f, const char *unit, const char *error_name, unsigned times) {
        fake_systemd_exec(f, do_refuse_properties, &(Args) { .unit = unit, .s = error_name, .ret_n = times });
}

static void do_set_start(FakeSystemd *f, void *userdata) {
        Args *a = userdata;
        Behaviour *b = behaviour_get(f, a->unit);

        b->how = a->how;
        b->refusals = a->ret_n;
        set_string(&b->error, a->s);
}

void fake_systemd_set_start(FakeSystemd *f, const char *unit, FakeStart how) {
        fake_systemd_exec(f, do_set_start, &(Args) { .unit = unit, .how = how });
}

void fake_systemd_refuse(FakeSystemd *f, const char *unit, const char *error_name, unsigned times) {
        fake_systemd_exec(f, do_set_start,
                          &(Args) { .unit = unit, .how = FAKE_START_REFUSE, .s = error_name, .ret_n = times });
}

static void do_set_stop_time(FakeSystemd *f, void *userdata) {
        f->stop_usec = ((Args *) userdata)->delay;
}

void fake_systemd_set_stop_time(FakeSystemd *f, usec_t usec) {
        fake_systemd_exec(f, do_set_stop_time, &(Args) { .delay = usec });
}

static void do_add_unit(FakeSystemd *f, void *userdata) {
        Args *a = userdata;
        FakeUnit *u = unit_new(f, a->unit);

        u->transient = true;
        set_string(&u->slice, a->s);
        die_if(strv_copy(a->strv, &u->environment) < 0, "strv_copy");
        u->main_pid = ++f->next_pid;
        die_if(sd_id128_randomize(&u->invocation) < 0, "sd_id128_randomize");
        unit_set_state(u, "active", u->socket ? "listening" : "running");
        unit_set_prop(u, "Restart", "on-failure");
}

void fake_systemd_add_unit(FakeSystemd *f, const char *unit, const char *slice, char **environment) {
        fake_systemd_exec(f, do_add_unit, &(Args) { .unit = unit, .s = slice, .strv = environment });
}

static void do_mute(FakeSystemd *f, void *userdata) {
        f->muted = *(bool *) userdata;
}

void fake_systemd_mute(FakeSystemd *f, bool muted) {
        fake_systemd_exec(f, do_mute, &muted);
}

static void do_rejoin(FakeSystemd *f, void *userdata) {
        die_if(sd_bus_release_name(f->bus, SYSTEMD_SERVICE) < 0, "sd_bus_release_name");
        die_if(sd_bus_request_name(f->bus, SYSTEMD_SERVICE, 0) < 0, "sd_bus_request_name");
        f->muted = false;
}

void fake_systemd_rejoin(FakeSystemd *f) {
        fake_systemd_exec(f, do_rejoin, NULL);
}

static void do_crash(FakeSystemd *f, void *userdata) {
        Args *a = userdata;
        FakeUnit *u = unit_find(f, a->unit);

        if (u && u->main_pid != 0)
                unit_main_exited(u, a->s);
}

void fake_systemd_crash(FakeSystemd *f, const char *unit, const char *result) {
        fake_systemd_exec(f, do_crash, &(Args) { .unit = unit, .s = result });
}

static void do_trigger(FakeSystemd *f, void *userdata) {
        Args *a = userdata;
        FakeUnit *s = unit_find(f, a->unit), *u;

        if (!s || !s->aux)
                return;
        u = unit_find(f, s->aux);
        if (u && !unit_is_active(u) && !streq(u->active, "activating"))
                unit_begin_start(u);
}

void fake_systemd_trigger(FakeSystemd *f, const char *socket) {
        fake_systemd_exec(f, do_trigger, &(Args) { .unit = socket });
}

static void do_unit_state(FakeSystemd *f, void *userdata) {
        Args *a = userdata;
        FakeUnit *u = unit_find(f, a->unit);

        if (!u)
                return;
        a->ret = strdup(u->active);
        a->ret2 = strdup(u->sub);
}

char *fake_systemd_unit_state(FakeSystemd *f, const char *unit, char **ret_sub_state) {
        Args a = { .unit = unit };

        fake_systemd_exec(f, do_unit_state, &a);
        if (ret_sub_state)
                *ret_sub_state = a.ret2;
        else
                free(a.ret2);
        return a.ret;
}

static void do_unit_property(FakeSystemd *f, void *userdata) {
        Args *a = userdata;
        FakeUnit *u = unit_find(f, a->unit);
        const char *v = u ? unit_prop(u, a->name) : NULL;

        a->ret = v ? strdup(v) : NULL;
}

char *fake_systemd_unit_property(FakeSystemd *f, const char *unit, const char *name) {
        Args a = { .unit = unit, .name = name };

        fake_systemd_exec(f, do_unit_property, &a);
        return a.ret;
}

static void do_count_calls(FakeSystemd *f, void *userdata) {
        Args *a = userdata;
        size_t l = strlen(a->name);

        STRV_FOREACH(c, f->calls)
                if (strneq(*c, a->name, l) && (*c)[l] == ' ' && (!a->unit || streq(*c + l + 1, a->unit)))
                        a->ret_n++;
}

unsigned fake_systemd_count_calls(FakeSystemd *f, const char *method, const char *unit) {
        Args a = { .name = method, .unit = unit };

        fake_systemd_exec(f, do_count_calls, &a);
        return a.ret_n;
}

static void do_calls(FakeSystemd *f, void *userdata) {
        Args *a = userdata;

        die_if(strv_copy(f->calls, &a->ret_strv) < 0, "strv_copy");
}

char **fake_systemd_calls(FakeSystemd *f) {
        Args a = {};

        fake_systemd_exec(f, do_calls, &a);
        return a.ret_strv;
}

static void do_count_units(FakeSystemd *f, void *userdata) {
        Args *a = userdata;

        for (size_t i = 0; i < f->n_units; i++)
                if (startswith(f->units[i]->name, a->unit) && (!a->s || streq(f->units[i]->active, a->s)))
                        a->ret_n++;
}

unsigned fake_systemd_count_units(FakeSystemd *f, const char *prefix, const char *active_state) {
        Args a = { .unit = prefix, .s = active_state };

        fake_systemd_exec(f, do_count_units, &a);
        return a.ret_n;
}

static void do_polkit_set(FakeSystemd *f, void *userdata) {
        Args *a = userdata;
        Verdict *v = (Verdict *) verdict_of(f, a->name);

        if (!v) {
                Verdict *l = realloc(f->verdicts, sizeof(Verdict) * (f->n_verdicts + 1));

                die_if(!l, "realloc");
                f->verdicts = l;
                v = &f->verdicts[f->n_verdicts++];
                *v = (Verdict) { .action = strdup(a->name) };
                die_if(!v->action, "strdup");
        }
        v->verdict = a->verdict;
        v->delay = a->delay;
}

void fake_polkit_set(FakeSystemd *f, const char *action, FakeVerdict verdict, usec_t delay) {
        fake_systemd_exec(f, do_polkit_set, &(Args) { .name = action, .verdict = verdict, .delay = delay });
}

static void do_polkit_checks(FakeSystemd *f, void *userdata) {
        Args *a = userdata;

        a->ret_n = f->n_checks;
        a->ret_n2 = f->n_checks_pending;
        a->delay = f->peak_checks_pending;
}

unsigned fake_polkit_checks(FakeSystemd *f, unsigned *ret_pending) {
        Args a = {};

        fake_systemd_exec(f, do_polkit_checks, &a);
        if (ret_pending)
                *ret_pending = a.ret_n2;
        return a.ret_n;
}

unsigned fake_polkit_peak_pending(FakeSystemd *f) {
        Args a = {};

        fake_systemd_exec(f, do_polkit_checks, &a);
        return (unsigned) a.delay;
}
