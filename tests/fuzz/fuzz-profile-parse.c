/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* libFuzzer target for the profile language: parse arbitrary bytes, and resolve what parsed (alone,
 * and as an extension of the shipped "core" shape), so that resolution, merging, cycle detection and
 * diagnostics see hostile input too. Also linked into the corpus replay unit test. */

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "profile-set.h"
#include "profile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A small base that fuzzed profiles may extend ("extends: base") or require agents of. */
static const char base_yaml[] =
        "resources: {memory_max: 1G, cpu_quota: 50%}\n"
        "defaults: {restart: {delay: 1s}, breaker: {cooldown: 5s}}\n"
        "agents:\n"
        "  - {name: a, exec: [/bin/true], memory_max: 64M}\n"
        "  - {name: b, exec: /bin/true, requires: [a], notify: true, watchdog: 5s}\n"
        "  - {name: c, exec: /bin/true, lazy: true}\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_(profile_set_freep) ProfileSet *set = NULL;
        _cleanup_(profile_freep) Profile *p = NULL, *base = NULL, *resolved = NULL;
        Diagnostics diag = {};
        FILE *devnull;

        if (profile_parse_string((const char *) data, size, "fuzz.yaml", "fuzz", &diag, &p) >= 0) {
                if (profile_set_new(&set) >= 0 &&
                    profile_parse_string(base_yaml, strlen(base_yaml), "base.yaml", "base", &diag, &base) >= 0 &&
                    profile_set_add(set, base) >= 0) {
                        base = NULL;
                        if (profile_set_add(set, p) >= 0) {
                                p = NULL;
                                (void) profile_set_resolve(set, "fuzz", &diag, &resolved);
                                (void) profile_set_resolve(set, "nonexistent", &diag, NULL);
                        }
                }
        }

        /* Exercise the printer on whatever was collected. */
        devnull = fopen("/dev/null", "we");
        if (devnull) {
                diagnostics_print(&diag, devnull);
                fclose(devnull);
        }
        diagnostics_done(&diag);
        return 0;
}
