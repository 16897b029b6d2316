/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Chaos results: recovery times, statistics, the table and the JSON document. */

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>

#include "chaos-report.h"
#include "json-writer.h"

static const char * const chaos_kind_table[_CHAOS_KIND_MAX] = {
        [CHAOS_KIND_KILL]      = "kill",
        [CHAOS_KIND_MEMORY]    = "memory",
        [CHAOS_KIND_PARTITION] = "partition",
        [CHAOS_KIND_OUTAGE]    = "outage",
        [CHAOS_KIND_CASCADE]   = "cascade",
        [CHAOS_KIND_STRESS]    = "stress",
};

const char *chaos_kind_to_string(ChaosKind k) {
        if (k < 0 || k >= _CHAOS_KIND_MAX)
                return NULL;
        return chaos_kind_table[k];
}

ChaosKind chaos_kind_from_string(const char *s) {
        if (!s)
                return _CHAOS_KIND_INVALID;
        for (ChaosKind k = 0; k < _CHAOS_KIND_MAX; k++)
                if (streq(s, chaos_kind_table[k]))
                        return k;
        return _CHAOS_KIND_INVALID;
}

bool chaos_kind_holds(ChaosKind k) {
        return k == CHAOS_KIND_PARTITION || k == CHAOS_KIND_OUTAGE;
}

usec_t chaos_result_recovery_usec(const ChaosResult *r) {
        usec_t start;

        if (!r || !r->recovered || r->recovered_at == USEC_INFINITY || r->injected == USEC_INFINITY)
                return USEC_INFINITY;
        start = r->injected;
        if (chaos_kind_holds(r->kind)) {
                if (r->undone == USEC_INFINITY)
                        return USEC_INFINITY;
                start = MAX(start, r->undone);
        }
        if (r->recovered_at < start)
                return USEC_INFINITY;
        return r->recovered_at - start;
}

bool chaos_result_ok(const ChaosResult *r, usec_t sla) {
        usec_t t = chaos_result_recovery_usec(r);

        if (t == USEC_INFINITY)
                return false;
        return sla == USEC_INFINITY || t <= sla;
}

static int cmp_usec(const void *a, const void *b) {
        usec_t x = *(const usec_t *) a, y = *(const usec_t *) b;
        return x < y ? -1 : x > y;
}

usec_t chaos_percentile(const usec_t *values, size_t n, unsigned p) {
        _cleanup_free_ usec_t *sorted = NULL;
        size_t rank;

        if (!values || n == 0 || p == 0 || p > 100)
                return USEC_INFINITY;
        sorted = malloc(n * sizeof(usec_t));
        if (!sorted)
                return USEC_INFINITY;
        memcpy(sorted, values, n * sizeof(usec_t));
        qsort(sorted, n, sizeof(usec_t), cmp_usec);
        /* Nearest rank: the smallest value with at least p% of the values at or below it. */
        rank = (n * p + 99) / 100;
        return sorted[MAX(rank, (size_t) 1) - 1];
}

/* The statistics of "values" (sorted in place). */
static void stats_compute(usec_t *values, size_t n, ChaosStats *ret) {
        long double sum = 0;

        *ret = (ChaosStats) { .n = (unsigned) n, USEC_INFINITY, USEC_INFINITY, USEC_INFINITY, USEC_INFINITY };
        if (n == 0)
                return;
        qsort(values, n, sizeof(usec_t), cmp_usec);
        for (size_t i = 0; i < n; i++)
                sum += values[i];
        ret->mean = (usec_t) llroundl(sum / n);
        ret->p50 = values[(n * 50 + 99) / 100 - 1];
        ret->p95 = values[(n * 95 + 99) / 100 - 1];
        ret->max = values[n - 1];
}

int chaos_summary_compute(const ChaosResult *results, size_t n, usec_t sla, ChaosSummary *ret) {
        _cleanup_free_ usec_t *all = NULL, *kind = NULL;
        ChaosSummary s = { .sla = sla };
        unsigned plain = 0, plain_ok = 0, stress_runs_failed = 0;
        size_t n_all = 0;

        all = calloc(MAX(n, (size_t) 1), sizeof(usec_t));
        kind = calloc(MAX(n, (size_t) 1), sizeof(usec_t));
        if (!all || !kind)
                return -ENOMEM;

        for (size_t i = 0; i < n; i++) {
                const ChaosResult *r = results + i;
                bool ok = chaos_result_ok(r, sla);
                usec_t t = chaos_result_recovery_usec(r);

                if (r->parent == 0)
                        s.tests_run++;
                if (r->kind == CHAOS_KIND_STRESS) {
                        /* A stress run is a container: its faults are counted one by one. */
                        if (!r->recovered)
                                stress_runs_failed++;
                        continue;
                }

                s.failures_injected++;
                if (ok)
                        s.recoveries_ok++;
                else
                        s.recoveries_failed++;
                if (t != USEC_INFINITY)
                        all[n_all++] = t;

                if (r->parent != 0) {
                        s.stress_faults++;
                        if (ok)
                                s.stress_ok++;
                } else {
                        plain++;
                        if (ok)
                                plain_ok++;
                }
        }

        stats_compute(all, n_all, &s.stats);
        s.recovery_rate = plain > 0 ? (double) plain_ok / plain : NAN;
        s.stress_rate = s.stress_faults > 0 ? (double) s.stress_ok / s.stress_faults : NAN;
        s.pass = s.tests_run > 0 && s.recoveries_failed == 0 && stress_runs_failed == 0;

        /* Per kind: stress faults are listed under "stress", the others under their own kind. */
        for (ChaosKind k = 0; k < _CHAOS_KIND_MAX; k++) {
                size_t n_kind = 0;

                for (size_t i = 0; i < n; i++) {
                        const ChaosResult *r = results + i;
                        ChaosKind row;
                        usec_t t;

                        if (r->kind == CHAOS_KIND_STRESS)
                                continue;
                        row = r->parent != 0 ? CHAOS_KIND_STRESS : r->kind;
                        if (row != k)
                                continue;
                        s.kinds[k].faults++;
                        if (chaos_result_ok(r, sla))
                                s.kinds[k].ok++;
                        t = chaos_result_recovery_usec(r);
                        if (t != USEC_INFINITY)
                                kind[n_kind++] = t;
                }
                stats_compute(kind, n_kind, &s.kinds[k].stats);
        }

        *ret = s;
        return 0;
}

char *chaos_format_seconds(char *buf, size_t l, usec_t t) {
        uint64_t ms;

        if (t == USEC_INFINITY) {
                (void) snprintf(buf, l, "-");
                return buf;
        }
        ms = t / USEC_PER_MSEC + (t % USEC_PER_MSEC >= USEC_PER_MSEC / 2);
        (void) snprintf(buf, l, "%" PRIu64 ".%03" PRIu64 "s", ms / 1000, ms % 1000);
        return buf;
}

static char *format_rate(char *buf, size_t l, double rate, unsigned ok, unsigned total) {
        if (isnan(rate))
                (void) snprintf(buf, l, "-");
        else
                (void) snprintf(buf, l, "%.1f%% (%u of %u)", rate * 100.0, ok, total);
        return buf;
}

int chaos_report_write_table(const ChaosSummary *s, FILE *f) {
        char a[CHAOS_FORMAT_SECONDS_MAX], b[CHAOS_FORMAT_SECONDS_MAX], c[CHAOS_FORMAT_SECONDS_MAX],
                d[CHAOS_FORMAT_SECONDS_MAX], rate[64];
        unsigned plain = s->failures_injected - s->stress_faults;

        fprintf(f, "Chaos test results (SLA: %s)\n", chaos_format_seconds(a, sizeof(a), s->sla));
        fprintf(f, "  Tests run:              %u\n", s->tests_run);
        fprintf(f, "  Failures injected:      %u\n", s->failures_injected);
        fprintf(f, "  Successful recoveries:  %u\n", s->recoveries_ok);
        fprintf(f, "  Failed recoveries:      %u\n", s->recoveries_failed);
        fprintf(f, "  Mean recovery time:     %s\n", chaos_format_seconds(a, sizeof(a), s->stats.mean));
        fprintf(f, "  p50 / p95 / max:        %s / %s / %s\n", chaos_format_seconds(b, sizeof(b), s->stats.p50),
                chaos_format_seconds(c, sizeof(c), s->stats.p95), chaos_format_seconds(d, sizeof(d), s->stats.max));
        fprintf(f, "  Recovery success rate:  %s\n",
                format_rate(rate, sizeof(rate), s->recovery_rate, s->recoveries_ok - s->stress_ok, plain));
        fprintf(f, "  Stress success rate:    %s\n",
                format_rate(rate, sizeof(rate), s->stress_rate, s->stress_ok, s->stress_faults));
        fprintf(f, "  Verdict:                %s\n", s->pass ? "PASS" : "FAIL");

        fprintf(f, "\n%-10s %6s %9s %9s %9s %9s %9s\n", "KIND", "FAULTS", "RECOVERED", "MEAN", "P50", "P95", "MAX");
        for (ChaosKind k = 0; k < _CHAOS_KIND_MAX; k++) {
                const ChaosKindSummary *ks = s->kinds + k;

                if (ks->faults == 0)
                        continue;
                fprintf(f, "%-10s %6u %9u %9s %9s %9s %9s\n", chaos_kind_to_string(k), ks->faults, ks->ok,
                        chaos_format_seconds(a, sizeof(a), ks->stats.mean),
                        chaos_format_seconds(b, sizeof(b), ks->stats.p50),
                        chaos_format_seconds(c, sizeof(c), ks->stats.p95),
                        chaos_format_seconds(d, sizeof(d), ks->stats.max));
        }
        if (fflush(f) != 0 || ferror(f))
                return -EIO;
        return 0;
}

static void json_usec(JsonWriter *w, const char *key, usec_t t) {
        json_writer_key(w, key);
        if (t == USEC_INFINITY)
                json_writer_null(w);
        else
                json_writer_unsigned(w, t);
}

static void json_stats(JsonWriter *w, const ChaosStats *st) {
        json_writer_object_begin(w);
        json_writer_key(w, "count");
        json_writer_unsigned(w, st->n);
        json_usec(w, "mean_usec", st->mean);
        json_usec(w, "p50_usec", st->p50);
        json_usec(w, "p95_usec", st->p95);
        json_usec(w, "max_usec", st->max);
        json_writer_object_end(w);
}

int chaos_report_write_json(const ChaosSummary *s, const ChaosResult *results, size_t n, FILE *f, bool pretty) {
        JsonWriter w;

        json_writer_init(&w, f, pretty ? JSON_WRITER_PRETTY : 0);
        json_writer_object_begin(&w);
        json_writer_key(&w, "version");
        json_writer_unsigned(&w, CHAOS_REPORT_JSON_VERSION);
        json_usec(&w, "sla_usec", s->sla);
        json_writer_key(&w, "verdict");
        json_writer_string(&w, s->pass ? "pass" : "fail");
        json_writer_key(&w, "tests_run");
        json_writer_unsigned(&w, s->tests_run);
        json_writer_key(&w, "failures_injected");
        json_writer_unsigned(&w, s->failures_injected);
        json_writer_key(&w, "successful_recoveries");
        json_writer_unsigned(&w, s->recoveries_ok);
        json_writer_key(&w, "failed_recoveries");
        json_writer_unsigned(&w, s->recoveries_failed);
        json_writer_key(&w, "recovery");
        json_stats(&w, &s->stats);
        json_writer_key(&w, "recovery_success_rate");
        json_writer_real(&w, s->recovery_rate);
        json_writer_key(&w, "stress_faults");
        json_writer_unsigned(&w, s->stress_faults);
        json_writer_key(&w, "stress_success_rate");
        json_writer_real(&w, s->stress_rate);

        json_writer_key(&w, "kinds");
        json_writer_object_begin(&w);
        for (ChaosKind k = 0; k < _CHAOS_KIND_MAX; k++) {
                const ChaosKindSummary *ks = s->kinds + k;

                if (ks->faults == 0)
                        continue;
                json_writer_key(&w, chaos_kind_to_string(k));
                json_writer_object_begin(&w);
                json_writer_key(&w, "faults");
                json_writer_unsigned(&w, ks->faults);
                json_writer_key(&w, "recovered");
                json_writer_unsigned(&w, ks->ok);
                json_writer_key(&w, "recovery");
                json_stats(&w, &ks->stats);
                json_writer_object_end(&w);
        }
        json_writer_object_end(&w);

        json_writer_key(&w, "faults");
        json_writer_array_begin(&w);
        for (size_t i = 0; i < n; i++) {
                const ChaosResult *r = results + i;

                json_writer_object_begin(&w);
                json_writer_key(&w, "id");
                json_writer_unsigned(&w, r->id);
                json_writer_key(&w, "parent");
                json_writer_unsigned(&w, r->parent);
                json_writer_key(&w, "kind");
                json_writer_string(&w, chaos_kind_to_string(r->kind));
                json_writer_key(&w, "agent");
                json_writer_string(&w, r->agent);
                json_writer_key(&w, "recovered");
                json_writer_boolean(&w, r->recovered);
                json_writer_key(&w, "within_sla");
                json_writer_boolean(&w, chaos_result_ok(r, s->sla));
                json_usec(&w, "injected_usec", r->injected);
                json_usec(&w, "detected_usec", r->detected);
                json_usec(&w, "undone_usec", r->undone);
                json_usec(&w, "recovered_usec", r->recovered_at);
                json_usec(&w, "recovery_usec", chaos_result_recovery_usec(r));
                json_writer_key(&w, "detail");
                json_writer_string(&w, r->detail);
                json_writer_object_end(&w);
        }
        json_writer_array_end(&w);
        json_writer_object_end(&w);
        return json_writer_finish(&w);
}
