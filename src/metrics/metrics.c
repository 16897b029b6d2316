/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The Prometheus / OpenMetrics renderer: snapshot in, exposition text out. */

#include <assert.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdio_ext.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "metrics.h"

/* One-hot label sets: every value is always present so that "== 1" and "== 0" both work in rules. */
static const char *const unit_states[] = {
        "active", "reloading", "inactive", "failed", "activating", "deactivating", "maintenance",
};
static const char *const breaker_states[] = { "closed", "open", "half-open" };
static const char *const manager_states[] = {
        "inactive", "starting", "running", "degraded", "failed", "stopping",
};

static const char *const content_types[_METRICS_FORMAT_MAX] = {
        [METRICS_FORMAT_PROMETHEUS] = "text/plain; version=0.0.4; charset=utf-8",
        [METRICS_FORMAT_OPENMETRICS] = "application/openmetrics-text; version=1.0.0; charset=utf-8",
};

const char *metrics_format_content_type(MetricsFormat f) {
        if (f < 0 || f >= _METRICS_FORMAT_MAX)
                return NULL;
        return content_types[f];
}

/* q-value of one Accept element's parameters ("; q=0.5; version=1.0.0"), 1 if absent. */
static double accept_q(const char *params, size_t len) {
        const char *p = params, *end = params + len;

        while (p < end) {
                const char *semi = memchr(p, ';', end - p);
                const char *e = semi ?: end;

                while (p < e && (*p == ' ' || *p == '\t' || *p == ';'))
                        p++;
                if (e - p > 2 && strncasecmp(p, "q=", 2) == 0) {
                        char buf[16] = {};
                        memcpy(buf, p + 2, MIN((size_t) (e - p - 2), sizeof(buf) - 1));
                        return strtod(buf, NULL);
                }
                p = semi ? semi + 1 : end;
        }
        return 1.0;
}

MetricsFormat metrics_format_from_accept(const char *accept) {
        double best_om = -1, best_text = -1;
        const char *p = accept;

        if (isempty(accept))
                return METRICS_FORMAT_PROMETHEUS;

        while (*p) {
                size_t len = strcspn(p, ","), tlen;
                const char *semi;
                double q;

                while (len > 0 && (*p == ' ' || *p == '\t')) {
                        p++;
                        len--;
                }
                semi = memchr(p, ';', len);
                tlen = semi ? (size_t) (semi - p) : len;
                while (tlen > 0 && (p[tlen - 1] == ' ' || p[tlen - 1] == '\t'))
                        tlen--;
                q = semi ? accept_q(semi, len - (semi - p)) : 1.0;

#define IS(s) (tlen == strlen(s) && strncasecmp(p, s, tlen) == 0)
                if (IS("application/openmetrics-text"))
                        best_om = MAX(best_om, q);
                else if (IS("text/plain") || IS("text/*") || IS("*/*"))
                        best_text = MAX(best_text, q);
#undef IS
                p += len;
                if (*p == ',')
                        p++;
        }

        return best_om > 0 && best_om >= best_text ? METRICS_FORMAT_OPENMETRICS : METRICS_FORMAT_PROMETHEUS;
}

typedef struct Renderer {
        FILE *f;
        MetricsFormat fmt;
        /* The family whose header is written before its first sample: families without samples are
         * left out entirely. */
        const char *name;
        int type;
        const char *unit;
        const char *help;
} Renderer;

typedef enum FamilyType {
        FAMILY_GAUGE,
        FAMILY_COUNTER,
        FAMILY_INFO,
        FAMILY_HISTOGRAM,
} FamilyType;

/* Shortest form (of 15, 16 or 17 significant digits) that reads back as the same double; integers
 * without exponent; Inf/NaN spelled the way both formats want them. */
static const char *format_double(char buf[static 32], double d) {
        if (isnan(d))
                return "NaN";
        if (isinf(d))
                return d > 0 ? "+Inf" : "-Inf";
        if (d == (double) (int64_t) d && fabs(d) < 9007199254740992.0) {
                snprintf(buf, 32, "%" PRIi64, (int64_t) d);
                return buf;
        }
        for (int prec = 15; prec <= 17; prec++) {
                snprintf(buf, 32, "%.*g", prec, d);
                if (strtod(buf, NULL) == d)
                        break;
        }
        return buf;
}

static const char *format_u64(char buf[static 32], uint64_t v) {
        snprintf(buf, 32, "%" PRIu64, v);
        return buf;
}

static const char *format_usec(char buf[static 32], usec_t t) {
        return format_double(buf, (double) t / USEC_PER_SEC);
}

static void write_escaped(FILE *f, const char *s, bool quote) {
        const char *specials = quote ? "\\\n\"" : "\\\n";

        for (;;) {
                size_t n = strcspn(s, specials);

                fwrite(s, 1, n, f);
                s += n;
                if (*s == 0)
                        return;
                fputs(*s == '\n' ? "\\n" : *s == '"' ? "\\\"" : "\\\\", f);
                s++;
        }
}

/* "name" is the family name as OpenMetrics sees it: without "_total" for counters and without
 * "_info" for info metrics. The Prometheus text format names the family like its samples. */
static void family(Renderer *r, const char *name, FamilyType type, const char *unit, const char *help) {
        r->name = name;
        r->type = type;
        r->unit = unit;
        r->help = help;
}

static void family_header(Renderer *r) {
        static const char *const om_types[] = { "gauge", "counter", "info", "histogram" };
        static const char *const prom_types[] = { "gauge", "counter", "gauge", "histogram" };
        const char *suffix = "";

        if (!r->name)
                return;

        if (r->fmt == METRICS_FORMAT_PROMETHEUS)
                suffix = r->type == FAMILY_COUNTER ? "_total" : r->type == FAMILY_INFO ? "_info" : "";

        fprintf(r->f, "# HELP %s%s ", r->name, suffix);
        /* OpenMetrics escapes quotes in HELP too, the Prometheus text format only \ and newline. */
        write_escaped(r->f, r->help, r->fmt == METRICS_FORMAT_OPENMETRICS);
        fprintf(r->f, "\n# TYPE %s%s %s\n", r->name, suffix,
                (r->fmt == METRICS_FORMAT_OPENMETRICS ? om_types : prom_types)[r->type]);
        if (r->unit && r->fmt == METRICS_FORMAT_OPENMETRICS)
                fprintf(r->f, "# UNIT %s %s\n", r->name, r->unit);
        r->name = NULL;
}

/* One sample: name + suffix, then label name/value pairs up to a NULL name, then the value. */
_sentinel_ static void sample(Renderer *r, const char *name, const char *suffix, const char *value, ...) {
        const char *sep = "{";
        va_list ap;

        family_header(r);
        fputs(name, r->f);
        fputs(suffix, r->f);
        va_start(ap, value);
        for (;;) {
                const char *k = va_arg(ap, const char *), *v;
                if (!k)
                        break;
                v = va_arg(ap, const char *);
                fprintf(r->f, "%s%s=\"", sep, k);
                write_escaped(r->f, strempty(v), true);
                fputc('"', r->f);
                sep = ",";
        }
        va_end(ap);
        if (sep[0] == ',')
                fputc('}', r->f);
        fprintf(r->f, " %s\n", value);
}

/* A histogram's samples; "k1"/"v1" is an optional leading label pair (NULL for none). */
static void histogram_samples(Renderer *r, const char *name, const Histogram *h, const char *k1,
                              const char *v1, const char *k2, const char *v2) {
        static const Histogram empty = {};
        char buf[32];

        h = h ?: &empty;
        for (unsigned i = 0; i <= HISTOGRAM_N_BOUNDS; i++) {
                const char *le = i < HISTOGRAM_N_BOUNDS ? histogram_bound_labels[i] : "+Inf";
                format_u64(buf, histogram_cumulative(h, i));
                if (k1 && k2)
                        sample(r, name, "_bucket", buf, k1, v1, k2, v2, "le", le, NULL);
                else
                        sample(r, name, "_bucket", buf, "le", le, NULL);
        }
        format_usec(buf, h->sum);
        if (k1 && k2)
                sample(r, name, "_sum", buf, k1, v1, k2, v2, NULL);
        else
                sample(r, name, "_sum", buf, NULL);
        format_u64(buf, h->count);
        if (k1 && k2)
                sample(r, name, "_count", buf, k1, v1, k2, v2, NULL);
        else
                sample(r, name, "_count", buf, NULL);
}

static bool agent_up(const MetricsAgent *a) {
        return a->active_state && (streq(a->active_state, "active") || streq(a->active_state, "reloading"));
}

/* Per-agent numeric families share one shape: labels agent + profile, one value, optional. */
typedef enum AgentValueKind { AV_U64, AV_DOUBLE, AV_USEC_SECONDS } AgentValueKind;

typedef struct AgentFamily {
        const char *name;
        FamilyType type;
        const char *unit;
        const char *help;
        AgentValueKind kind;
        size_t offset;
        bool lazy_only;
} AgentFamily;

static void agent_family(Renderer *r, const MetricsSnapshot *s, const AgentFamily *af) {
        const char *suffix = af->type == FAMILY_COUNTER ? "_total" : "";

        family(r, af->name, af->type, af->unit, af->help);
        for (size_t i = 0; i < s->n_agents; i++) {
                const MetricsAgent *a = s->agents + i;
                const void *field = (const uint8_t *) a + af->offset;
                const char *value;
                char buf[32];

                if (af->lazy_only && !a->lazy)
                        continue;
                if (af->kind == AV_U64) {
                        uint64_t v = *(const uint64_t *) field;
                        if (v == METRICS_UNSET)
                                continue;
                        value = format_u64(buf, v);
                } else if (af->kind == AV_USEC_SECONDS) {
                        uint64_t v = *(const uint64_t *) field;
                        if (v == METRICS_UNSET)
                                continue;
                        value = format_usec(buf, v);
                } else {
                        double v = *(const double *) field;
                        if (isnan(v))
                                continue;
                        value = format_double(buf, v);
                }
                sample(r, af->name, suffix, value, "agent", a->name, "profile", a->profile, NULL);
        }
}

static const AgentFamily agent_families_health[] = {
        { "unified_agent_restarts", FAMILY_COUNTER, NULL,
          "Restarts of the agent's unit by systemd (NRestarts), summed over the daemon's lifetime.",
          AV_U64, offsetof(MetricsAgent, restarts) },
};

static const AgentFamily agent_families_after_breaker[] = {
        { "unified_agent_breaker_transitions", FAMILY_COUNTER, NULL,
          "State changes of the agent's circuit breaker.",
          AV_U64, offsetof(MetricsAgent, breaker_transitions) },
        { "unified_agent_health_score", FAMILY_GAUGE, NULL,
          "Health score of the agent from its unit state and journal, 0 (failing) to 1 (healthy).",
          AV_DOUBLE, offsetof(MetricsAgent, health) },
        { "unified_agent_memory_bytes", FAMILY_GAUGE, "bytes",
          "Memory charged to the agent's cgroup (memory.current).",
          AV_U64, offsetof(MetricsAgent, memory_current) },
        { "unified_agent_memory_peak_bytes", FAMILY_GAUGE, "bytes",
          "Highest memory charged to the agent's cgroup since it was created (memory.peak).",
          AV_U64, offsetof(MetricsAgent, memory_peak) },
        { "unified_agent_memory_limit_bytes", FAMILY_GAUGE, "bytes",
          "The agent's MemoryMax=; absent when unlimited.",
          AV_U64, offsetof(MetricsAgent, memory_limit) },
        { "unified_agent_cpu_seconds", FAMILY_COUNTER, "seconds",
          "CPU time used by the agent's cgroup (cpu.stat usage_usec).",
          AV_USEC_SECONDS, offsetof(MetricsAgent, cpu_usage_usec) },
        { "unified_agent_oom_kills", FAMILY_COUNTER, NULL,
          "Processes of the agent killed by the OOM killer (memory.events oom_kill).",
          AV_U64, offsetof(MetricsAgent, oom_kills) },
        { "unified_agent_journal_error_lines", FAMILY_COUNTER, NULL,
          "Journal lines of the agent's unit at priority err or more severe.",
          AV_U64, offsetof(MetricsAgent, journal_error_lines) },
        { "unified_agent_lazy_activations", FAMILY_COUNTER, NULL,
          "Socket activations of a lazy agent that reached the active state.",
          AV_U64, offsetof(MetricsAgent, lazy_activations), .lazy_only = true },
        { "unified_agent_lazy_activation_failures", FAMILY_COUNTER, NULL,
          "Socket activations of a lazy agent that ended in the failed state.",
          AV_U64, offsetof(MetricsAgent, lazy_activation_failures), .lazy_only = true },
};

static void render_agents(Renderer *r, const MetricsSnapshot *s) {
        char buf[32];

        family(r, "unified_agent", FAMILY_INFO, NULL, "Static facts about an agent of the active profile.");
        for (size_t i = 0; i < s->n_agents; i++) {
                const MetricsAgent *a = s->agents + i;
                sample(r, "unified_agent", "_info", "1", "agent", a->name, "profile", a->profile,
                       "unit", a->unit, "essential", a->essential ? "true" : "false",
                       "lazy", a->lazy ? "true" : "false", NULL);
        }

        family(r, "unified_agent_up", FAMILY_GAUGE, NULL,
               "Whether the agent's unit is active (1) or not (0). Lazy agents are 0 until first used.");
        for (size_t i = 0; i < s->n_agents; i++) {
                const MetricsAgent *a = s->agents + i;
                if (!a->active_state)
                        continue;
                sample(r, "unified_agent_up", "", agent_up(a) ? "1" : "0", "agent", a->name,
                       "profile", a->profile, "essential", a->essential ? "true" : "false", NULL);
        }

        family(r, "unified_agent_unit_state", FAMILY_GAUGE, NULL,
               "systemd ActiveState of the agent's unit, one series per state, 1 for the current one.");
        for (size_t i = 0; i < s->n_agents; i++) {
                const MetricsAgent *a = s->agents + i;
                if (!a->active_state)
                        continue;
                for (size_t j = 0; j < ELEMENTSOF(unit_states); j++)
                        sample(r, "unified_agent_unit_state", "", streq(a->active_state, unit_states[j]) ? "1" : "0",
                               "agent", a->name, "profile", a->profile, "state", unit_states[j], NULL);
        }

        for (size_t k = 0; k < ELEMENTSOF(agent_families_health); k++)
                agent_family(r, s, agent_families_health + k);

        family(r, "unified_agent_breaker_state", FAMILY_GAUGE, NULL,
               "State of the agent's circuit breaker, one series per state, 1 for the current one.");
        for (size_t i = 0; i < s->n_agents; i++) {
                const MetricsAgent *a = s->agents + i;
                if (!a->breaker)
                        continue;
                for (size_t j = 0; j < ELEMENTSOF(breaker_states); j++)
                        sample(r, "unified_agent_breaker_state", "", streq(a->breaker, breaker_states[j]) ? "1" : "0",
                               "agent", a->name, "profile", a->profile, "state", breaker_states[j], NULL);
        }

        for (size_t k = 0; k < ELEMENTSOF(agent_families_after_breaker); k++)
                agent_family(r, s, agent_families_after_breaker + k);

        family(r, "unified_agent_cpu_limit_cores", FAMILY_GAUGE, NULL,
               "The agent's CPUQuota= in CPUs (1 = one full CPU); absent when unlimited.");
        for (size_t i = 0; i < s->n_agents; i++) {
                const MetricsAgent *a = s->agents + i;
                if (a->cpu_limit == 0)
                        continue;
                sample(r, "unified_agent_cpu_limit_cores", "", format_double(buf, a->cpu_limit / 10000.0),
                       "agent", a->name, "profile", a->profile, NULL);
        }

        family(r, "unified_agent_pressure_ratio", FAMILY_GAUGE, NULL,
               "Share of the last 10 s in which some task of the agent stalled on the resource (PSI some avg10).");
        for (size_t i = 0; i < s->n_agents; i++) {
                const MetricsAgent *a = s->agents + i;
                if (!isnan(a->cpu_pressure))
                        sample(r, "unified_agent_pressure_ratio", "", format_double(buf, a->cpu_pressure / 100.0),
                               "agent", a->name, "profile", a->profile, "resource", "cpu", NULL);
                if (!isnan(a->memory_pressure))
                        sample(r, "unified_agent_pressure_ratio", "", format_double(buf, a->memory_pressure / 100.0),
                               "agent", a->name, "profile", a->profile, "resource", "memory", NULL);
        }

        family(r, "unified_agent_lazy_activation_duration_seconds", FAMILY_HISTOGRAM, "seconds",
               "Time from a lazy agent's socket being triggered to its unit being active.");
        for (size_t i = 0; i < s->n_agents; i++) {
                const MetricsAgent *a = s->agents + i;
                if (!a->lazy)
                        continue;
                histogram_samples(r, "unified_agent_lazy_activation_duration_seconds", a->lazy_latency,
                                  "agent", a->name, "profile", a->profile);
        }
}

static void render_profiles(Renderer *r, const MetricsSnapshot *s) {
        char buf[32];

        family(r, "unified_profile_memory_bytes", FAMILY_GAUGE, "bytes",
               "Memory charged to unified.slice while the profile is active.");
        for (size_t i = 0; i < s->n_profiles; i++)
                if (s->profiles[i].memory_current != METRICS_UNSET)
                        sample(r, "unified_profile_memory_bytes", "", format_u64(buf, s->profiles[i].memory_current),
                               "profile", s->profiles[i].name, NULL);

        family(r, "unified_profile_memory_budget_bytes", FAMILY_GAUGE, "bytes",
               "The profile's memory budget (MemoryMax= of unified.slice); absent when unlimited.");
        for (size_t i = 0; i < s->n_profiles; i++)
                if (s->profiles[i].memory_budget != METRICS_UNSET)
                        sample(r, "unified_profile_memory_budget_bytes", "",
                               format_u64(buf, s->profiles[i].memory_budget), "profile", s->profiles[i].name, NULL);

        family(r, "unified_profile_health_score", FAMILY_GAUGE, NULL,
               "Health score of the profile, 0 (failing) to 1 (healthy).");
        for (size_t i = 0; i < s->n_profiles; i++)
                if (!isnan(s->profiles[i].health))
                        sample(r, "unified_profile_health_score", "", format_double(buf, s->profiles[i].health),
                               "profile", s->profiles[i].name, NULL);

        family(r, "unified_profile_agents", FAMILY_GAUGE, NULL,
               "Agents of the profile by the systemd ActiveState of their unit.");
        for (size_t i = 0; i < s->n_profiles; i++) {
                const MetricsProfile *p = s->profiles + i;
                if (!p->active)
                        continue;
                for (size_t j = 0; j < ELEMENTSOF(unit_states); j++) {
                        uint64_t n = 0;
                        for (size_t k = 0; k < s->n_agents; k++)
                                if (streq_ptr(s->agents[k].profile, p->name) &&
                                    streq_ptr(s->agents[k].active_state, unit_states[j]))
                                        n++;
                        sample(r, "unified_profile_agents", "", format_u64(buf, n), "profile", p->name,
                               "state", unit_states[j], NULL);
                }
        }

        family(r, "unified_profile_last_start_duration_seconds", FAMILY_GAUGE, "seconds",
               "How long the profile's last start took, from the request to every agent active.");
        for (size_t i = 0; i < s->n_profiles; i++)
                if (s->profiles[i].last_start_duration != USEC_INFINITY)
                        sample(r, "unified_profile_last_start_duration_seconds", "",
                               format_usec(buf, s->profiles[i].last_start_duration),
                               "profile", s->profiles[i].name, NULL);
}

void metrics_agent_init(MetricsAgent *a) {
        assert(a);

        *a = (MetricsAgent) {
                .restarts = METRICS_UNSET,
                .breaker_transitions = METRICS_UNSET,
                .health = NAN,
                .memory_current = METRICS_UNSET,
                .memory_peak = METRICS_UNSET,
                .memory_limit = METRICS_UNSET,
                .cpu_usage_usec = METRICS_UNSET,
                .cpu_pressure = NAN,
                .memory_pressure = NAN,
                .oom_kills = METRICS_UNSET,
                .journal_error_lines = METRICS_UNSET,
                .lazy_activations = METRICS_UNSET,
                .lazy_activation_failures = METRICS_UNSET,
        };
}

void metrics_profile_init(MetricsProfile *p) {
        assert(p);

        *p = (MetricsProfile) {
                .memory_current = METRICS_UNSET,
                .memory_budget = METRICS_UNSET,
                .health = NAN,
                .last_start_duration = USEC_INFINITY,
        };
}

void metrics_snapshot_init(MetricsSnapshot *s) {
        assert(s);

        *s = (MetricsSnapshot) {
                .health = NAN,
                .scrape_duration = USEC_INFINITY,
        };
}

_Static_assert(METRICS_UNSET == CGROUP_STATS_UNSET, "both modules mean the same by unknown");

void metrics_agent_set_cgroup_stats(MetricsAgent *a, const CgroupStats *st) {
        assert(a);
        assert(st);

        /* Both use UINT64_MAX for "unknown", NaN for unknown pressure. */
        a->memory_current = st->memory_current;
        a->memory_peak = st->memory_peak;
        a->memory_limit = st->memory_max;
        a->cpu_usage_usec = st->cpu_usage_usec;
        a->oom_kills = st->oom_kills;
        a->cpu_pressure = st->cpu_pressure;
        a->memory_pressure = st->memory_pressure;
}

int metrics_render(const MetricsSnapshot *s, MetricsFormat fmt, char **ret, size_t *ret_size) {
        _cleanup_free_ char *text = NULL;
        size_t size = 0;
        Renderer r = { .fmt = fmt };
        char buf[32];

        assert(s);
        assert(ret);

        if (fmt < 0 || fmt >= _METRICS_FORMAT_MAX)
                return -EINVAL;

        r.f = open_memstream(&text, &size);
        if (!r.f)
                return -ENOMEM;
        /* The stream is ours alone: skip stdio's per-call locking. */
        (void) __fsetlocking(r.f, FSETLOCKING_BYCALLER);

        family(&r, "unified_build", FAMILY_INFO, NULL, "The running unified daemon; the value is always 1.");
        sample(&r, "unified_build", "_info", "1", "version", s->version, NULL);

        family(&r, "unified_active_profile", FAMILY_GAUGE, NULL,
               "The active profile (value 1); absent when no profile is active.");
        if (s->active_profile)
                sample(&r, "unified_active_profile", "", "1", "profile", s->active_profile, NULL);

        family(&r, "unified_manager_state", FAMILY_GAUGE, NULL,
               "State of the active profile as a whole, one series per state, 1 for the current one.");
        if (s->state)
                for (size_t j = 0; j < ELEMENTSOF(manager_states); j++)
                        sample(&r, "unified_manager_state", "", streq(s->state, manager_states[j]) ? "1" : "0",
                               "state", manager_states[j], NULL);

        family(&r, "unified_health_score", FAMILY_GAUGE, NULL,
               "Health score of the whole system, 0 (failing) to 1 (healthy).");
        if (!isnan(s->health))
                sample(&r, "unified_health_score", "", format_double(buf, s->health), NULL);

        family(&r, "unified_recovery_duration_seconds", FAMILY_HISTOGRAM, "seconds",
               "Time from an agent's failure to its unit being active again.");
        histogram_samples(&r, "unified_recovery_duration_seconds", s->recovery, NULL, NULL, NULL, NULL);

        render_agents(&r, s);
        render_profiles(&r, s);

        family(&r, "unified_scrape_duration_seconds", FAMILY_GAUGE, "seconds",
               "How long the daemon took to collect and render the previous scrape.");
        if (s->scrape_duration != USEC_INFINITY)
                sample(&r, "unified_scrape_duration_seconds", "", format_usec(buf, s->scrape_duration), NULL);

        if (fmt == METRICS_FORMAT_OPENMETRICS)
                fputs("# EOF\n", r.f);

        if (fclose(r.f) != 0 || !text)
                return -ENOMEM;

        *ret = TAKE_PTR(text);
        SET_IF(ret_size, size);
        return 0;
}
