/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Microsecond timestamps (usec_t), as in systemd and sd-event. */

#include "time-util.h"

usec_t timespec_load(const struct timespec *ts) {
        if (ts->tv_sec < 0 || ts->tv_nsec < 0)
                return USEC_INFINITY;
        return (usec_t) ts->tv_sec * USEC_PER_SEC + (usec_t) ts->tv_nsec / NSEC_PER_USEC;
}

usec_t now(clockid_t clock) {
        struct timespec ts;

        if (clock_gettime(clock, &ts) < 0)
                return USEC_INFINITY;
        return timespec_load(&ts);
}
