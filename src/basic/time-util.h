/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Microsecond timestamps (usec_t), as in systemd and sd-event. */

#include <stdint.h>
#include <time.h>

typedef uint64_t usec_t;

#define USEC_INFINITY ((usec_t) UINT64_MAX)
#define USEC_PER_MSEC ((usec_t) 1000ULL)
#define USEC_PER_SEC ((usec_t) 1000000ULL)
#define USEC_PER_MINUTE (60ULL * USEC_PER_SEC)
#define USEC_PER_HOUR (60ULL * USEC_PER_MINUTE)
#define USEC_PER_DAY (24ULL * USEC_PER_HOUR)
#define NSEC_PER_USEC ((uint64_t) 1000ULL)

usec_t timespec_load(const struct timespec *ts);
usec_t now(clockid_t clock);
