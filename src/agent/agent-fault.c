/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The reference agent's fault injection plan (see agent-fault.h). */

#include <string.h>

#include "agent-fault.h"
#include "macro.h"

static const char *const crash_mode_table[_CRASH_MODE_MAX] = {
        [CRASH_EXIT] = "exit",
        [CRASH_ABORT] = "abort",
        [CRASH_SEGV] = "segv",
};

const char *crash_mode_to_string(CrashMode m) {
        if (m < 0 || m >= _CRASH_MODE_MAX)
                return NULL;
        return crash_mode_table[m];
}

CrashMode crash_mode_from_string(const char *s) {
        for (CrashMode m = 0; s && m < _CRASH_MODE_MAX; m++)
                if (streq(s, crash_mode_table[m]))
                        return m;
        return _CRASH_MODE_INVALID;
}

static const char *const fault_kind_table[] = {
        "crash", "hang", "leak", "unhealthy", "degraded",
};

const char *fault_kind_to_string(FaultKind k) {
        for (size_t i = 0; i < ELEMENTSOF(fault_kind_table); i++)
                if (k == (FaultKind) (1u << i))
                        return fault_kind_table[i];
        return NULL;
}

int fault_kinds_from_string(const char *s, unsigned *ret) {
        static const char separators[] = " \t\n,";
        unsigned kinds = 0;

        for (const char *p = s + strspn(s, separators); *p; p += strspn(p, separators)) {
                size_t n = strcspn(p, separators);
                size_t i;

                for (i = 0; i < ELEMENTSOF(fault_kind_table); i++)
                        if (strlen(fault_kind_table[i]) == n && strneq(p, fault_kind_table[i], n))
                                break;
                if (i >= ELEMENTSOF(fault_kind_table))
                        return -EINVAL;
                kinds |= 1u << i;
                p += n;
        }

        *ret = kinds;
        return 0;
}

unsigned fault_plan_active(const FaultPlan *p, unsigned armed, usec_t elapsed, usec_t *ret_next) {
        usec_t next = USEC_INFINITY;
        unsigned active = 0;

        for (size_t i = 0; i < ELEMENTSOF(p->after); i++) {
                if (!(armed & (1u << i)))
                        continue;
                if (p->after[i] <= elapsed)
                        active |= 1u << i;
                else
                        next = MIN(next, p->after[i]);
        }

        SET_IF(ret_next, next);
        return active;
}
