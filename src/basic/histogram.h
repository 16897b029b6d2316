/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A Prometheus-style histogram with fixed bucket bounds from 1 ms to 60 s, for durations such as
 * recovery times and lazy activation latencies. Plain data: embed it in any struct, no allocation. */

#include <stdint.h>

#include "time-util.h"

/* Upper bounds of the finite buckets, in seconds; a last +Inf bucket follows. */
#define HISTOGRAM_N_BOUNDS 15
extern const double histogram_bounds[HISTOGRAM_N_BOUNDS];
/* The same bounds written the way both exposition formats want them in the "le" label. */
extern const char *const histogram_bound_labels[HISTOGRAM_N_BOUNDS];

typedef struct Histogram {
        uint64_t buckets[HISTOGRAM_N_BOUNDS + 1];       /* per bucket, NOT cumulative; last = +Inf */
        uint64_t count;
        usec_t sum;
} Histogram;

/* Records one duration. */
void histogram_observe(Histogram *h, usec_t duration);
/* Cumulative count of observations <= histogram_bounds[i] (i == HISTOGRAM_N_BOUNDS: all). */
uint64_t histogram_cumulative(const Histogram *h, unsigned i);
