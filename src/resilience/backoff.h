/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Exponential backoff, capped, with jitter: the one place the restart and cooldown curves are computed,
 * for the breaker's cooldowns, for systemd's RestartSteps= (>= 254), and for the RestartSec= the daemon
 * passes when it creates a unit on older systemd. Pure: randomness is an argument. */

#include <stdint.h>

#include "macro.h"
#include "time-util.h"

typedef struct BackoffConfig {
        usec_t initial;         /* delay of attempt 0 before jitter; doubled per attempt */
        usec_t max;             /* cap of the doubled delay (the "ceiling") */
        usec_t floor;           /* jitter never goes below this; 0 = "full jitter" */
} BackoffConfig;

/* The curve without jitter: min(max, initial * 2^attempt), never below floor. Saturates instead of
 * overflowing, so any attempt number is fine. initial == 0 gives floor. */
usec_t backoff_ceiling(const BackoffConfig *c, unsigned attempt) _pure_;

/* The jittered delay for "attempt" (0-based): uniform in [lo, ceiling(attempt)] where
 * lo = min(floor, ceiling); "random" is a uniformly distributed 64-bit number (backoff_random_u64() in
 * production, fixed values in tests). The mapping is monotonic in "random": 0 gives lo, UINT64_MAX gives
 * the ceiling. */
usec_t backoff_delay(const BackoffConfig *c, unsigned attempt, uint64_t random) _pure_;

/* 64 random bits for jitter, from getrandom() without blocking; falls back to a clock-seeded mix
 * early at boot. Jitter needs spread, not secrecy. Never fails. */
uint64_t backoff_random_u64(void);

/* systemd >= 254 draws the exponential curve itself from RestartSec= (r0), RestartMaxDelaySec= (rn) and
 * RestartSteps= (n): the i-th automatic restart (1-based) waits r0 * (rn/r0)^((i-1)/n), capped at rn.
 * This gives the properties that make systemd's curve double like ours: steps = ceil(log2(max/initial)).
 * Returns -EINVAL if the config has no exponential part (initial == 0 or max <= initial). */
int backoff_to_restart_steps(const BackoffConfig *c, unsigned *ret_steps, usec_t *ret_max_delay);

/* systemd's own formula (service_restart_usec_next() in systemd >= 254), for tests and for docs: the
 * delay before restart number "n_restarts_next" (1-based) given the three unit properties. */
usec_t backoff_systemd_restart_usec(usec_t restart_usec, usec_t max_delay, unsigned steps,
                                    unsigned n_restarts_next) _pure_;

/* systemd < 254 has no RestartSteps=, and RestartSec= of an existing unit cannot be changed
 * (SetUnitProperties on a loaded unit takes cgroup and a few unit-level properties, no service ones:
 * see bus_service_set_property() in systemd). So the daemon
 * passes this value as RestartUSec when it creates the transient unit: at the first start
 * (n_previous = 0), and at each half-open probe, where n_previous is the breaker's consecutive trips.
 * Jittered like backoff_delay(). Within one unit lifetime the delay stays constant; the growth between
 * lifetimes comes from this and from the breaker's cooldown. */
usec_t backoff_restart_usec(const BackoffConfig *c, unsigned n_previous, uint64_t random) _pure_;
