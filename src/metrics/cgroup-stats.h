/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* cgroup v2 figures of one unit's cgroup (memory, OOM kills, CPU time, pressure), read through
 * libcgroup. Read-only: limits are only ever set through systemd. */

#include <stdint.h>

#include "macro.h"

/* A figure that could not be read, or "max" for limits. */
#define CGROUP_STATS_UNSET UINT64_MAX

typedef struct CgroupStats {
        uint64_t memory_current;        /* memory.current, bytes */
        uint64_t memory_peak;           /* memory.peak, bytes; absent before Linux 5.19 */
        uint64_t memory_max;            /* memory.max, bytes; CGROUP_STATS_UNSET for "max" */
        uint64_t oom_kills;             /* memory.events oom_kill */
        uint64_t cpu_usage_usec;        /* cpu.stat usage_usec */
        double memory_pressure;         /* memory.pressure "some avg10" in percent; NaN if unknown */
        double cpu_pressure;            /* cpu.pressure "some avg10" in percent; NaN if unknown */
} CgroupStats;

/* Reads the figures of "cgroup_path", the unit's ControlGroup property (e.g.
 * "/unified.slice/unified-x.service"), relative to the unified hierarchy. Files that are missing
 * (older kernel, controller not enabled for the unit) leave their field unset; -ENOENT if the cgroup
 * itself is gone (unit stopped), other negative errno on I/O errors.
 *
 * Files are read with libcgroup (cgroup_read_value_begin/next/end, present in libcgroup 2.0 and 3.x)
 * whenever libcgroup maps the file's controller onto the cgroup2 mount; libcgroup 2.0.2 was seen to
 * build the right cgroup2 path and read single- and multi-line files that way. If it does not (a hybrid
 * host where the controller sits in a v1 hierarchy, whose files have other names; or a controller
 * libcgroup does not know such as the always-present cpu.stat of a cgroup without the cpu
 * controller), the same file is read directly below the cgroup2 mount: the path systemd reports is
 * a path in that mount. $UNIFIED_CGROUP_ROOT replaces the cgroup2 mount point and bypasses libcgroup
 * (which has no mount-point override), so tests can run against a fake tree. */
int cgroup_stats_read(const char *cgroup_path, CgroupStats *ret);

/* Pure parsers for the file formats, exposed for tests. */
/* A single-value file: "12345\n", or "max" -> CGROUP_STATS_UNSET. */
int cgroup_stats_parse_value(const char *text, uint64_t *ret);
/* A flat-keyed file ("key value" per line, memory.events, cpu.stat): the value of "key";
 * -ENOENT if absent, -EINVAL if malformed. */
int cgroup_stats_parse_keyed(const char *text, const char *key, uint64_t *ret);
/* A PSI file ("some avg10=1.23 avg60=... total=..."): the "some" avg10 value in percent. */
int cgroup_stats_parse_pressure(const char *text, double *ret);
