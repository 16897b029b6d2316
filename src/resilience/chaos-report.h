/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Chaos results: the fault kinds, what one injected fault measured, and the summary of a chaos run
 * (tests run, failures injected, recoveries, recovery time statistics, success rates, the SLA
 * verdict) with its text table and its JSON document (docs/chaos.md). Pure: the daemon and
 * unifiedctl hand in results, the tests hand in tables of them. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "macro.h"
#include "time-util.h"

/* Version of the JSON document; bumped only for incompatible changes. */
#define CHAOS_REPORT_JSON_VERSION 1

typedef enum ChaosKind {
        CHAOS_KIND_KILL,                /* KillUnit with a signal (SIGKILL by default) */
        CHAOS_KIND_MEMORY,              /* runtime MemoryMax squeeze until the kernel OOM-kills it */
        CHAOS_KIND_PARTITION,           /* runtime IPAddressDeny=any for a duration */
        CHAOS_KIND_OUTAGE,              /* a dependency stopped for a duration */
        CHAOS_KIND_CASCADE,             /* an essential agent others require killed */
        CHAOS_KIND_STRESS,              /* many of the above in a row, a bound on how many in flight */
        _CHAOS_KIND_MAX,
        _CHAOS_KIND_INVALID = -EINVAL,
} ChaosKind;

const char *chaos_kind_to_string(ChaosKind k) _const_;
ChaosKind chaos_kind_from_string(const char *s) _pure_;
/* Whether the fault keeps its damage in place for its whole duration (partition, outage): then the
 * recovery clock starts when the fault is undone, otherwise when it was injected. */
bool chaos_kind_holds(ChaosKind k) _const_;

/* What the daemon measured for one fault (the FaultFinished signal). Times are CLOCK_BOOTTIME
 * microseconds, USEC_INFINITY for "did not happen". Strings are borrowed. */
typedef struct ChaosResult {
        uint64_t id;
        uint64_t parent;                /* the stress run this fault belongs to, 0 for none */
        ChaosKind kind;
        const char *agent;
        bool recovered;                 /* the daemon saw the agent(s) active and healthy again */
        usec_t injected;                /* the fault was sent to systemd */
        usec_t detected;                /* the first event showing the damage */
        usec_t undone;                  /* the fault's lever was released (= injected for kill, cascade) */
        usec_t recovered_at;            /* the event showing everything healthy again */
        const char *detail;             /* why it did not recover, or notes ("result oom-kill") */
} ChaosResult;

/* Recovery time: from the start of the recovery clock (see chaos_kind_holds()) to recovered_at;
 * USEC_INFINITY if the fault did not recover or its times are inconsistent. */
usec_t chaos_result_recovery_usec(const ChaosResult *r) _pure_;
/* Recovered, and within "sla" (USEC_INFINITY: no limit). */
bool chaos_result_ok(const ChaosResult *r, usec_t sla) _pure_;

/* Recovery time statistics over a set of faults; all USEC_INFINITY when "n" is 0. */
typedef struct ChaosStats {
        unsigned n;                     /* faults with a recovery time */
        usec_t mean, p50, p95, max;
} ChaosStats;

typedef struct ChaosKindSummary {
        unsigned faults;                /* faults of this kind (stress runs: the runs themselves) */
        unsigned ok;                    /* recovered within the SLA */
        ChaosStats stats;
} ChaosKindSummary;

typedef struct ChaosSummary {
        usec_t sla;
        unsigned tests_run;             /* scenarios run: faults that are not part of a stress run */
        unsigned failures_injected;     /* faults that hit an agent: all but the stress runs themselves */
        unsigned recoveries_ok;         /* of those, recovered within the SLA */
        unsigned recoveries_failed;
        ChaosStats stats;               /* over every fault that hit an agent and recovered */
        double recovery_rate;           /* recoveries_ok / failures_injected outside stress runs; NaN if none */
        unsigned stress_faults;         /* faults injected by stress runs */
        unsigned stress_ok;
        double stress_rate;             /* stress_ok / stress_faults; NaN if none */
        bool pass;                      /* every fault recovered within the SLA, and at least one ran */
        ChaosKindSummary kinds[_CHAOS_KIND_MAX];
} ChaosSummary;

/* Nearest-rank percentile "p" (0 < p <= 100) of "values" (any order, not modified); USEC_INFINITY for
 * none. */
usec_t chaos_percentile(const usec_t *values, size_t n, unsigned p);

/* 0, or -ENOMEM. */
int chaos_summary_compute(const ChaosResult *results, size_t n, usec_t sla, ChaosSummary *ret);

/* "0.412s", "7.000s", "-" for USEC_INFINITY. */
#define CHAOS_FORMAT_SECONDS_MAX 32
char *chaos_format_seconds(char *buf, size_t l, usec_t t);

/* The seed's table plus one line per kind that ran. 0, or -EIO. */
int chaos_report_write_table(const ChaosSummary *s, FILE *f);
/* The JSON document of docs/chaos.md: the summary and every result. 0, -EINVAL or -EIO. */
int chaos_report_write_json(const ChaosSummary *s, const ChaosResult *results, size_t n, FILE *f, bool pretty);
