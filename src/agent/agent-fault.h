/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The reference agent's fault injection plan: which simulated faults (crash, hang, leak, unhealthy,
 * degraded) are active at a given time after they were armed. Pure, so tests can drive it. */

#include <stdint.h>

#include "macro.h"
#include "time-util.h"

typedef enum FaultKind {
        FAULT_CRASH     = 1 << 0,       /* exit/abort/SIGSEGV, see CrashMode */
        FAULT_HANG      = 1 << 1,       /* stop sending WATCHDOG=1, keep running */
        FAULT_LEAK      = 1 << 2,       /* allocate and touch memory at a rate until killed */
        FAULT_UNHEALTHY = 1 << 3,       /* report UNIFIED_HEALTH=failing */
        FAULT_DEGRADED  = 1 << 4,       /* report UNIFIED_HEALTH=degraded */
        _FAULT_ALL      = (1 << 5) - 1,
} FaultKind;

typedef enum CrashMode {
        CRASH_EXIT,                     /* exit status 1 */
        CRASH_ABORT,                    /* abort(): SIGABRT, a core dump */
        CRASH_SEGV,                     /* SIGSEGV */
        _CRASH_MODE_MAX,
        _CRASH_MODE_INVALID = -EINVAL,
} CrashMode;

const char *crash_mode_to_string(CrashMode m) _const_;
CrashMode crash_mode_from_string(const char *s) _pure_;

const char *fault_kind_to_string(FaultKind k) _const_;
/* "crash hang" (names separated by spaces, tabs, commas or newlines, as found in a fault file) ->
 * FAULT_CRASH|FAULT_HANG. An empty string gives 0. -EINVAL names an unknown word. */
int fault_kinds_from_string(const char *s, unsigned *ret);

typedef struct FaultPlan {
        unsigned kinds;                 /* the faults configured on the command line */
        usec_t after[5];                /* per kind (index = bit number): delay after arming */
} FaultPlan;

/* Which of "armed" kinds are in effect "elapsed" after arming, and in how long after arming the next
 * one starts (USEC_INFINITY if none is left). */
unsigned fault_plan_active(const FaultPlan *p, unsigned armed, usec_t elapsed, usec_t *ret_next);
