/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* unifiedd's objects, as GetManagedObjects returns them, into a MetricsSnapshot. */

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cgroup-stats.h"
#include "metrics-bus.h"

struct MetricsBusAgent {
        MetricsAgent agent;
        uint64_t cpu_quota_per_sec_usec;        /* UINT64_MAX: none */
        Histogram lazy_latency;
};

typedef enum PropertyKind {
        PROPERTY_STRING,        /* "s", into a const char * borrowed from the message */
        PROPERTY_BOOL,          /* "b", into a bool */
        PROPERTY_DOUBLE,        /* "d" */
        PROPERTY_U64,           /* "t" */
        PROPERTY_HISTOGRAM,     /* "(att)": per-bucket counts and the sum in µs, into a Histogram */
} PropertyKind;

static const char *const property_signatures[] = {
        [PROPERTY_STRING] = "s",
        [PROPERTY_BOOL] = "b",
        [PROPERTY_DOUBLE] = "d",
        [PROPERTY_U64] = "t",
        [PROPERTY_HISTOGRAM] = "(att)",
};

typedef struct Property {
        const char *name;
        PropertyKind kind;
        size_t offset;
} Property;

#define AGENT(field) offsetof(MetricsBusAgent, agent.field)

static const Property agent_properties[] = {
        { "Name", PROPERTY_STRING, AGENT(name) },
        { "Profile", PROPERTY_STRING, AGENT(profile) },
        { "Unit", PROPERTY_STRING, AGENT(unit) },
        { "Essential", PROPERTY_BOOL, AGENT(essential) },
        { "Lazy", PROPERTY_BOOL, AGENT(lazy) },
        { "ActiveState", PROPERTY_STRING, AGENT(active_state) },
        { "Breaker", PROPERTY_STRING, AGENT(breaker) },
        { "Health", PROPERTY_DOUBLE, AGENT(health) },
        { "RestartsTotal", PROPERTY_U64, AGENT(restarts) },
        { "BreakerTransitions", PROPERTY_U64, AGENT(breaker_transitions) },
        { "JournalErrorLines", PROPERTY_U64, AGENT(journal_error_lines) },
        { "MemoryMax", PROPERTY_U64, AGENT(memory_limit) },
        { "LazyActivations", PROPERTY_U64, AGENT(lazy_activations) },
        { "LazyActivationFailures", PROPERTY_U64, AGENT(lazy_activation_failures) },
        { "CPUQuotaPerSecUSec", PROPERTY_U64, offsetof(MetricsBusAgent, cpu_quota_per_sec_usec) },
        { "LazyActivationDurations", PROPERTY_HISTOGRAM, offsetof(MetricsBusAgent, lazy_latency) },
        {}
};

static const Property profile_properties[] = {
        { "Name", PROPERTY_STRING, offsetof(MetricsProfile, name) },
        { "Active", PROPERTY_BOOL, offsetof(MetricsProfile, active) },
        { "MemoryMax", PROPERTY_U64, offsetof(MetricsProfile, memory_budget) },
        { "LastStartUSec", PROPERTY_U64, offsetof(MetricsProfile, last_start_duration) },
        {}
};

/* Into a MetricsBusSnapshot: the histogram lives beside the snapshot that points to it. */
static const Property manager_properties[] = {
        { "Version", PROPERTY_STRING, offsetof(MetricsBusSnapshot, snapshot.version) },
        { "ActiveProfile", PROPERTY_STRING, offsetof(MetricsBusSnapshot, snapshot.active_profile) },
        { "State", PROPERTY_STRING, offsetof(MetricsBusSnapshot, snapshot.state) },
        { "HealthScore", PROPERTY_DOUBLE, offsetof(MetricsBusSnapshot, snapshot.health) },
        { "RecoveryDurations", PROPERTY_HISTOGRAM, offsetof(MetricsBusSnapshot, recovery) },
        {}
};

static int read_histogram(sd_bus_message *m, Histogram *h) {
        const void *buckets;
        size_t size;
        uint64_t sum;
        int r;

        r = sd_bus_message_enter_container(m, 'r', "att");
        if (r < 0)
                return r;
        r = sd_bus_message_read_array(m, 't', &buckets, &size);
        if (r < 0)
                return r;
        r = sd_bus_message_read(m, "t", &sum);
        if (r < 0)
                return r;
        r = sd_bus_message_exit_container(m);
        if (r < 0)
                return r;

        /* Bucket bounds are compiled into both sides; a daemon with other ones is left out, not misread. */
        *h = (Histogram) {};
        if (size != sizeof(h->buckets))
                return 0;
        memcpy(h->buckets, buckets, size);
        for (size_t i = 0; i < ELEMENTSOF(h->buckets); i++)
                h->count += h->buckets[i];
        h->sum = sum;
        return 0;
}

static int read_value(sd_bus_message *m, PropertyKind kind, void *field) {
        int r, b;

        switch (kind) {
        case PROPERTY_STRING:
                return sd_bus_message_read_basic(m, 's', field);
        case PROPERTY_BOOL:
                r = sd_bus_message_read_basic(m, 'b', &b);
                if (r < 0)
                        return r;
                *(bool *) field = b;
                return 0;
        case PROPERTY_DOUBLE:
                return sd_bus_message_read_basic(m, 'd', field);
        case PROPERTY_U64:
                return sd_bus_message_read_basic(m, 't', field);
        case PROPERTY_HISTOGRAM:
                return read_histogram(m, field);
        }
        return -EINVAL;
}

/* Reads an a{sv} of properties into "base" as "table" says. */
static int read_properties(sd_bus_message *m, const Property *table, void *base) {
        int r;

        r = sd_bus_message_enter_container(m, 'a', "{sv}");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
                const Property *p = NULL;
                const char *name, *contents;
                char type;

                r = sd_bus_message_read_basic(m, 's', &name);
                if (r < 0)
                        return r;
                for (const Property *t = table; t->name; t++)
                        if (streq(t->name, name)) {
                                p = t;
                                break;
                        }
                r = sd_bus_message_peek_type(m, &type, &contents);
                if (r < 0)
                        return r;
                if (p && streq(contents, property_signatures[p->kind])) {
                        r = sd_bus_message_enter_container(m, 'v', contents);
                        if (r < 0)
                                return r;
                        r = read_value(m, p->kind, (uint8_t *) base + p->offset);
                        if (r < 0)
                                return r;
                        r = sd_bus_message_exit_container(m);
                } else
                        r = sd_bus_message_skip(m, "v");
                if (r < 0)
                        return r;
                r = sd_bus_message_exit_container(m);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;
        return sd_bus_message_exit_container(m);
}

static void *grow(void *p, size_t *alloc, size_t n, size_t size) {
        size_t a;
        void *q;

        if (n < *alloc)
                return p;
        a = MAX(*alloc * 2, (size_t) 16);
        q = reallocarray(p, a, size);
        if (q)
                *alloc = a;
        return q;
}

static int compare_agents(const void *a, const void *b) {
        return strcmp(strempty(((const MetricsBusAgent *) a)->agent.name),
                      strempty(((const MetricsBusAgent *) b)->agent.name));
}

static int compare_profiles(const void *a, const void *b) {
        return strcmp(strempty(((const MetricsProfile *) a)->name), strempty(((const MetricsProfile *) b)->name));
}

static int read_objects(MetricsBusSnapshot *s, sd_bus_message *m, bool *ret_has_manager) {
        size_t agents_alloc = 0, profiles_alloc = 0;
        bool has_manager = false;
        int r;

        r = sd_bus_message_enter_container(m, 'a', "{oa{sa{sv}}}");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_enter_container(m, 'e', "oa{sa{sv}}")) > 0) {
                const char *path;

                r = sd_bus_message_read_basic(m, 'o', &path);
                if (r < 0)
                        return r;
                r = sd_bus_message_enter_container(m, 'a', "{sa{sv}}");
                if (r < 0)
                        return r;
                while ((r = sd_bus_message_enter_container(m, 'e', "sa{sv}")) > 0) {
                        const char *iface;

                        r = sd_bus_message_read_basic(m, 's', &iface);
                        if (r < 0)
                                return r;
                        if (streq(iface, METRICS_BUS_AGENT_IFACE)) {
                                MetricsBusAgent *a = grow(s->bus_agents, &agents_alloc, s->n_agents,
                                                          sizeof(MetricsBusAgent));
                                if (!a)
                                        return -ENOMEM;
                                s->bus_agents = a;
                                a += s->n_agents++;
                                *a = (MetricsBusAgent) { .cpu_quota_per_sec_usec = UINT64_MAX };
                                metrics_agent_init(&a->agent);
                                r = read_properties(m, agent_properties, a);
                        } else if (streq(iface, METRICS_BUS_PROFILE_IFACE)) {
                                MetricsProfile *p = grow(s->profiles, &profiles_alloc, s->n_profiles,
                                                         sizeof(MetricsProfile));
                                if (!p)
                                        return -ENOMEM;
                                s->profiles = p;
                                p += s->n_profiles++;
                                metrics_profile_init(p);
                                r = read_properties(m, profile_properties, p);
                        } else if (streq(iface, METRICS_BUS_MANAGER_IFACE)) {
                                has_manager = true;
                                r = read_properties(m, manager_properties, s);
                        } else
                                r = sd_bus_message_skip(m, "a{sv}");
                        if (r < 0)
                                return r;
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
        }
        if (r < 0)
                return r;
        r = sd_bus_message_exit_container(m);
        if (r < 0)
                return r;
        *ret_has_manager = has_manager;
        return 0;
}

static int snapshot_begin(MetricsBusSnapshot *s, sd_bus_message *objects) {
        int r;

        *s = (MetricsBusSnapshot) {};
        metrics_snapshot_init(&s->snapshot);
        s->objects = sd_bus_message_ref(objects);
        r = read_objects(s, objects, &s->has_manager);
        if (r < 0)
                return r == -ENOMEM ? r : -EBADMSG;
        return 0;
}

static int snapshot_add_manager(MetricsBusSnapshot *s, sd_bus_message *manager) {
        s->manager = sd_bus_message_ref(manager);
        if (read_properties(manager, manager_properties, s) < 0)
                return -EBADMSG;
        s->has_manager = true;
        return 0;
}

/* Pointers into the arrays only once they stop moving. */
static int snapshot_finish(MetricsBusSnapshot *s) {
        qsort(s->bus_agents, s->n_agents, sizeof(MetricsBusAgent), compare_agents);
        qsort(s->profiles, s->n_profiles, sizeof(MetricsProfile), compare_profiles);

        s->agents = calloc(MAX(s->n_agents, (size_t) 1), sizeof(MetricsAgent));
        if (!s->agents)
                return -ENOMEM;
        for (size_t i = 0; i < s->n_agents; i++) {
                MetricsBusAgent *b = s->bus_agents + i;
                MetricsAgent *a = s->agents + i;

                *a = b->agent;
                /* CPUQuotaPerSecUSec (as systemd's) -> permyriad of one CPU; none -> 0. */
                a->cpu_limit = b->cpu_quota_per_sec_usec == UINT64_MAX ? 0 : b->cpu_quota_per_sec_usec / 100;
                a->lazy_latency = a->lazy && b->lazy_latency.count > 0 ? &b->lazy_latency : NULL;
        }

        if (isempty(s->snapshot.active_profile))
                s->snapshot.active_profile = NULL;
        for (size_t i = 0; i < s->n_profiles; i++)
                if (s->profiles[i].active)
                        s->profiles[i].health = s->snapshot.health;

        s->snapshot.agents = s->agents;
        s->snapshot.n_agents = s->n_agents;
        s->snapshot.profiles = s->profiles;
        s->snapshot.n_profiles = s->n_profiles;
        s->snapshot.recovery = s->recovery.count > 0 ? &s->recovery : NULL;
        return 0;
}

int metrics_bus_snapshot_parse(MetricsBusSnapshot *s, sd_bus_message *objects, sd_bus_message *manager) {
        int r;

        assert(s);
        assert(objects);

        r = snapshot_begin(s, objects);
        if (r >= 0 && !s->has_manager && manager)
                r = snapshot_add_manager(s, manager);
        if (r >= 0)
                r = snapshot_finish(s);
        return r;
}

void metrics_bus_snapshot_read_cgroups(MetricsBusSnapshot *s) {
        assert(s);

        for (size_t i = 0; i < s->n_agents; i++) {
                MetricsAgent *a = s->agents + i;
                _cleanup_free_ char *cgroup = NULL;
                CgroupStats st;

                if (isempty(a->unit) || strchr(a->unit, '/') || a->unit[0] == '.')
                        continue; /* not a unit name: nothing of ours to read */
                if (asprintf(&cgroup, METRICS_BUS_SLICE_CGROUP "/%s", a->unit) < 0)
                        return;
                /* A stopped unit has no cgroup (-ENOENT): its figures stay unknown. */
                if (cgroup_stats_read(cgroup, &st) >= 0)
                        metrics_agent_set_cgroup_stats(a, &st);
        }

        for (size_t i = 0; i < s->n_profiles; i++) {
                CgroupStats st;

                if (!s->profiles[i].active)
                        continue;
                if (cgroup_stats_read(METRICS_BUS_SLICE_CGROUP, &st) >= 0 && st.memory_current != CGROUP_STATS_UNSET)
                        s->profiles[i].memory_current = st.memory_current;
        }
}

void metrics_bus_snapshot_done(MetricsBusSnapshot *s) {
        assert(s);

        s->objects = sd_bus_message_unref(s->objects);
        s->manager = sd_bus_message_unref(s->manager);
        s->bus_agents = mfree(s->bus_agents);
        s->agents = mfree(s->agents);
        s->profiles = mfree(s->profiles);
        s->n_agents = s->n_profiles = 0;
}

int metrics_bus_collect(sd_bus *bus, MetricsBusSnapshot *ret, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *objects = NULL, *manager = NULL;
        int r;

        assert(bus);
        assert(ret);

        *ret = (MetricsBusSnapshot) {};
        r = sd_bus_call_method(bus, METRICS_BUS_NAME, METRICS_BUS_PATH, "org.freedesktop.DBus.ObjectManager",
                               "GetManagedObjects", error, &objects, NULL);
        if (r < 0)
                return r;
        r = snapshot_begin(ret, objects);
        if (r < 0)
                goto fail;
        /* sd-bus lists only the objects below the object manager's path, not its own: then the Manager's
         * properties take a second call. Decided on the reply, so that either way works. */
        if (!ret->has_manager) {
                r = sd_bus_call_method(bus, METRICS_BUS_NAME, METRICS_BUS_PATH, "org.freedesktop.DBus.Properties",
                                       "GetAll", error, &manager, "s", METRICS_BUS_MANAGER_IFACE);
                if (r < 0)
                        goto fail;
                r = snapshot_add_manager(ret, manager);
                if (r < 0)
                        goto fail;
        }
        r = snapshot_finish(ret);
        if (r < 0)
                goto fail;
        metrics_bus_snapshot_read_cgroups(ret);
        return 0;

fail:
        metrics_bus_snapshot_done(ret);
        return r;
}
