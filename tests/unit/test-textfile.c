/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Tests of the atomic textfile-collector writer. */

#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "macro.h"
#include "textfile.h"

static unsigned count_entries(const char *dir) {
        DIR *d = opendir(dir);
        struct dirent *de;
        unsigned n = 0;

        assert_non_null(d);
        while ((de = readdir(d)))
                if (de->d_name[0] != '.')
                        n++;
        closedir(d);
        return n;
}

static void test_write(void **state) {
        char dir[] = "/tmp/test-textfile-XXXXXX";
        _cleanup_free_ char *path = NULL, *bad = NULL;
        char buf[64] = {};
        struct stat st;
        FILE *f;

        assert_non_null(mkdtemp(dir));
        assert_true(asprintf(&path, "%s/unified.prom", dir) >= 0);
        assert_true(asprintf(&bad, "%s/unified.txt", dir) >= 0);

        assert_int_equal(textfile_write(path, "a 1\n", 4), 0);
        assert_int_equal(textfile_write(path, "b 2\n", 4), 0);

        f = fopen(path, "re");
        assert_non_null(f);
        assert_int_equal(fread(buf, 1, sizeof(buf) - 1, f), 4);
        fclose(f);
        assert_string_equal(buf, "b 2\n");
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0644);
        /* No temporary file left behind. */
        assert_int_equal(count_entries(dir), 1);

        assert_int_equal(textfile_write(bad, "a 1\n", 4), -EINVAL);
        assert_int_equal(textfile_write("relative.prom", "a 1\n", 4), -EINVAL);
        assert_int_equal(textfile_write("/nonexistent-dir/x.prom", "a 1\n", 4), -ENOENT);

        assert_int_equal(unlink(path), 0);
        assert_int_equal(rmdir(dir), 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_write),
        };

        cmocka_set_message_output(CM_OUTPUT_TAP);
        return cmocka_run_group_tests(tests, NULL, NULL);
}
