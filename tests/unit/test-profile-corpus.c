/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Replays the fuzzer's seed corpus (tests/fuzz/corpus and the shipped profiles) through the fuzz target
 * without libFuzzer, so that every build, with any compiler, runs the hostile inputs once. */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "fuzz-replay.h"

static void test_replay(void **state) {
        const char *root = getenv("UNIFIED_SOURCE_ROOT"), *profiles = getenv("UNIFIED_PROFILES_DIR");
        char corpus[4096];

        assert_non_null(root);
        assert_non_null(profiles);
        snprintf(corpus, sizeof(corpus), "%s/tests/fuzz/corpus", root);
        assert_true(fuzz_replay_dir(corpus) >= 100);
        assert_true(fuzz_replay_dir(profiles) >= 5);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_replay),
        };

        cmocka_set_message_output(CM_OUTPUT_TAP);
        return cmocka_run_group_tests(tests, NULL, NULL);
}
