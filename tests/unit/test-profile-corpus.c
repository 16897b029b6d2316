/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Replays the fuzzer's seed corpus (tests/fuzz/corpus and the shipped profiles) through the fuzz target
 * without libFuzzer, so that every build, with any compiler, runs the hostile inputs once. */

#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "macro.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t replay_dir(const char *dir) {
        DIR *d = opendir(dir);
        struct dirent *de;
        size_t n = 0;

        assert_non_null(d);
        while ((de = readdir(d))) {
                char path[4096], *buf;
                size_t size;
                FILE *f;

                if (de->d_name[0] == '.')
                        continue;
                snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
                f = fopen(path, "re");
                assert_non_null(f);
                buf = malloc(2 * 1024 * 1024);
                assert_non_null(buf);
                size = fread(buf, 1, 2 * 1024 * 1024, f);
                fclose(f);

                assert_int_equal(LLVMFuzzerTestOneInput((const uint8_t *) buf, size), 0);
                free(buf);
                n++;
        }
        closedir(d);
        return n;
}

static void test_replay(void **state) {
        const char *root = getenv("UNIFIED_SOURCE_ROOT"), *profiles = getenv("UNIFIED_PROFILES_DIR");
        char corpus[4096];

        assert_non_null(root);
        assert_non_null(profiles);
        snprintf(corpus, sizeof(corpus), "%s/tests/fuzz/corpus", root);
        assert_true(replay_dir(corpus) >= 100);
        assert_true(replay_dir(profiles) >= 5);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_replay),
        };

        cmocka_set_message_output(CM_OUTPUT_TAP);
        return cmocka_run_group_tests(tests, NULL, NULL);
}
