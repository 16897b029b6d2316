/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Exponential backoff, capped, with jitter. */

#include <math.h>
#include <sys/random.h>
#include <unistd.h>

#include "backoff.h"
#include "macro.h"

usec_t backoff_ceiling(const BackoffConfig *c, unsigned attempt) {
        usec_t d;

        if (!c || c->initial == 0)
                return c ? c->floor : 0;

        /* initial << attempt without overflow: stop doubling once the cap is reached. */
        d = c->initial;
        for (unsigned i = 0; i < attempt && d < c->max; i++)
                d = d > UINT64_MAX / 2 ? UINT64_MAX : d * 2;

        d = MIN(d, c->max);
        return MAX(d, c->floor);
}

usec_t backoff_delay(const BackoffConfig *c, unsigned attempt, uint64_t random) {
        usec_t hi, lo;

        if (!c)
                return 0;

        hi = backoff_ceiling(c, attempt);
        lo = MIN(c->floor, hi);

        /* Scales "random" onto [lo, hi] by a 64x64->128 multiplication: unbiased enough for any span
         * we use, and monotonic, which the tests rely on. */
        if (hi - lo == UINT64_MAX)
                return random;
        return lo + (usec_t) (((unsigned __int128) random * (unsigned __int128) (hi - lo + 1)) >> 64);
}

static uint64_t splitmix64(uint64_t x) {
        x += UINT64_C(0x9e3779b97f4a7c15);
        x = (x ^ (x >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
        x = (x ^ (x >> 27)) * UINT64_C(0x94d049bb133111eb);
        return x ^ (x >> 31);
}

uint64_t backoff_random_u64(void) {
        static uint64_t counter = 0;
        uint64_t v;

        if (getrandom(&v, sizeof(v), GRND_NONBLOCK) == (ssize_t) sizeof(v))
                return v;

        /* The entropy pool is not initialized yet (early boot) or getrandom() is missing: a mix of
         * clocks, PID and a counter still spreads agents that trip together. */
        return splitmix64(now(CLOCK_MONOTONIC) ^ (now(CLOCK_REALTIME) << 17) ^
                          ((uint64_t) getpid() << 32) ^ ++counter);
}

int backoff_to_restart_steps(const BackoffConfig *c, unsigned *ret_steps, usec_t *ret_max_delay) {
        unsigned steps = 0;

        if (!c || c->initial == 0 || c->max <= c->initial)
                return -EINVAL;

        /* Smallest n with initial * 2^n >= max. */
        for (usec_t d = c->initial; d < c->max; steps++)
                d = d > UINT64_MAX / 2 ? UINT64_MAX : d * 2;

        SET_IF(ret_steps, steps);
        SET_IF(ret_max_delay, c->max);
        return 0;
}

usec_t backoff_systemd_restart_usec(usec_t restart_usec, usec_t max_delay, unsigned steps,
                                    unsigned n_restarts_next) {

        if (n_restarts_next <= 1 || steps == 0 || restart_usec == 0 || max_delay == USEC_INFINITY ||
            restart_usec >= max_delay)
                return restart_usec;

        if (n_restarts_next > steps)
                return max_delay;

        return (usec_t) (restart_usec * powl((long double) max_delay / restart_usec,
                                             (long double) (n_restarts_next - 1) / steps));
}

usec_t backoff_restart_usec(const BackoffConfig *c, unsigned n_previous, uint64_t random) {
        return backoff_delay(c, n_previous, random);
}
