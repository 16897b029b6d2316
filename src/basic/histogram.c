/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A fixed-bucket duration histogram (1 ms .. 60 s). */

#include <assert.h>

#include "histogram.h"

const double histogram_bounds[HISTOGRAM_N_BOUNDS] = {
        0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60,
};

/* Integers keep a ".0" so that OpenMetrics parsers see canonical floats; Prometheus text accepts
 * them as they are. */
const char *const histogram_bound_labels[HISTOGRAM_N_BOUNDS] = {
        "0.001", "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1.0", "2.5", "5.0",
        "10.0", "30.0", "60.0",
};

static const usec_t bounds_usec[HISTOGRAM_N_BOUNDS] = {
        1 * USEC_PER_MSEC, 2500, 5 * USEC_PER_MSEC, 10 * USEC_PER_MSEC, 25 * USEC_PER_MSEC,
        50 * USEC_PER_MSEC, 100 * USEC_PER_MSEC, 250 * USEC_PER_MSEC, 500 * USEC_PER_MSEC,
        1 * USEC_PER_SEC, 2500 * USEC_PER_MSEC, 5 * USEC_PER_SEC, 10 * USEC_PER_SEC, 30 * USEC_PER_SEC,
        60 * USEC_PER_SEC,
};

void histogram_observe(Histogram *h, usec_t duration) {
        unsigned i;

        assert(h);

        for (i = 0; i < HISTOGRAM_N_BOUNDS; i++)
                if (duration <= bounds_usec[i])
                        break;
        h->buckets[i]++;
        h->count++;
        h->sum += duration;
}

uint64_t histogram_cumulative(const Histogram *h, unsigned i) {
        uint64_t n = 0;

        assert(h);

        i = i < HISTOGRAM_N_BOUNDS ? i : HISTOGRAM_N_BOUNDS;
        for (unsigned j = 0; j <= i; j++)
                n += h->buckets[j];
        return n;
}
