/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Seed corpus replay for the unit tests that link a fuzz target. */

#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "fuzz-replay.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REPLAY_MAX (2 * 1024 * 1024)

size_t fuzz_replay_dir(const char *dir) {
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
                buf = malloc(REPLAY_MAX);
                assert_non_null(buf);
                size = fread(buf, 1, REPLAY_MAX, f);
                fclose(f);

                assert_int_equal(LLVMFuzzerTestOneInput((const uint8_t *) buf, size), 0);
                free(buf);
                n++;
        }
        closedir(d);
        return n;
}
