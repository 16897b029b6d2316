/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Renders a full-size snapshot (77 agents, every field set) for `promtool check metrics` and reports
 * how long rendering takes, since the daemon renders inside its event loop.
 * Usage: metrics-dump [openmetrics] > page; timing goes to stderr. */

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "metrics.h"

#define N_AGENTS 77

int main(int argc, char *argv[]) {
        static MetricsAgent agents[N_AGENTS];
        static char names[N_AGENTS][32];
        static Histogram lazy[N_AGENTS];
        static const char *const states[] = { "active", "active", "active", "failed", "activating", "inactive" };
        static const char *const breakers[] = { "closed", "closed", "open", "half-open" };
        MetricsProfile profiles[] = {
                { .name = "full", .active = true, .memory_current = 6ULL << 30, .memory_budget = 12ULL << 30,
                  .health = 0.93, .last_start_duration = 2345678 },
                { .name = "core", .memory_current = METRICS_UNSET, .memory_budget = 2ULL << 30, .health = NAN,
                  .last_start_duration = USEC_INFINITY },
        };
        Histogram recovery = {};
        MetricsFormat fmt = argc > 1 && streq(argv[1], "openmetrics") ? METRICS_FORMAT_OPENMETRICS
                                                                       : METRICS_FORMAT_PROMETHEUS;
        _cleanup_free_ char *text = NULL;
        size_t size;
        usec_t t0, t1;
        int r;

        for (unsigned i = 0; i < N_AGENTS; i++) {
                snprintf(names[i], sizeof(names[i]), "agent-%02u", i);
                for (unsigned k = 0; k <= i % 7; k++)
                        histogram_observe(&lazy[i], (usec_t) (k + 1) * 37 * USEC_PER_MSEC);
                agents[i] = (MetricsAgent) {
                        .name = i == 0 ? "llm-cloud-gateway" : i == 1 ? "llm-local" : names[i],
                        .profile = "full",
                        .unit = "unified-x.service",
                        .essential = i % 5 == 0,
                        .lazy = i % 4 == 3,
                        .active_state = states[i % ELEMENTSOF(states)],
                        .restarts = i % 3,
                        .breaker = breakers[i % ELEMENTSOF(breakers)],
                        .breaker_transitions = i % 4,
                        .health = (i % 10) / 9.0,
                        .memory_current = 100000000ULL + i * 4096,
                        .memory_peak = 150000000ULL + i * 4096,
                        .memory_limit = i % 2 ? 512ULL << 20 : METRICS_UNSET,
                        .cpu_limit = i % 3 ? 5000 : 0,
                        .cpu_usage_usec = 123456789ULL * i,
                        .cpu_pressure = 1.25,
                        .memory_pressure = i % 2 ? 0.0 : NAN,
                        .oom_kills = i % 11 == 0,
                        .journal_error_lines = i * 2,
                        .lazy_activations = i,
                        .lazy_activation_failures = i % 2,
                        .lazy_latency = &lazy[i],
                };
                histogram_observe(&recovery, (usec_t) i * 13 * USEC_PER_MSEC);
        }

        MetricsSnapshot s = {
                .version = "0.1.0",
                .active_profile = "full",
                .state = "degraded",
                .health = 0.87,
                .agents = agents,
                .n_agents = N_AGENTS,
                .profiles = profiles,
                .n_profiles = ELEMENTSOF(profiles),
                .recovery = &recovery,
                .scrape_duration = 1234,
        };

        t0 = now(CLOCK_MONOTONIC);
        r = metrics_render(&s, fmt, &text, &size);
        t1 = now(CLOCK_MONOTONIC);
        if (r < 0) {
                fprintf(stderr, "metrics_render: %s\n", strerror(-r));
                return 1;
        }
        fprintf(stderr, "rendered %zu bytes for %d agents in %" PRIu64 " us\n", size, N_AGENTS, t1 - t0);
        fwrite(text, 1, size, stdout);
        return 0;
}
