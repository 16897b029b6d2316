/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Tests for mkdir_p(): nested and existing directories, and what stands in the way; open_new_file(): a
 * file of its own, never one that was there, never through a symlink. */

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "fs-util.h"
#include "macro.h"

static char root[] = "/tmp/test-fs-util-XXXXXX";

static int setup(void **state) {
        return mkdtemp(root) ? 0 : -1;
}

static int teardown(void **state) {
        char cmd[64];

        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
        return system(cmd) == 0 ? 0 : -1;
}

static bool is_dir(const char *sub) {
        char p[256];
        struct stat st;

        snprintf(p, sizeof(p), "%s/%s", root, sub);
        return stat(p, &st) >= 0 && S_ISDIR(st.st_mode);
}

static void test_nested(void **state) {
        char p[256];

        snprintf(p, sizeof(p), "%s/a/b//c/", root);
        assert_int_equal(mkdir_p(p, 0755), 0);
        assert_true(is_dir("a"));
        assert_true(is_dir("a/b/c"));

        /* Again: everything exists, nothing to do. */
        assert_int_equal(mkdir_p(p, 0755), 0);
        assert_int_equal(mkdir_p(root, 0755), 0);
        assert_int_equal(mkdir_p("/", 0755), 0);
}

static void test_in_the_way(void **state) {
        char file[64], p[128];
        int fd;

        snprintf(file, sizeof(file), "%s/file", root);
        fd = open(file, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        assert_true(fd >= 0);
        close(fd);

        /* The path itself, or a parent, is a regular file. */
        assert_int_equal(mkdir_p(file, 0755), -ENOTDIR);
        snprintf(p, sizeof(p), "%s/sub/dir", file);
        assert_int_equal(mkdir_p(p, 0755), -ENOTDIR);
        assert_int_equal(mkdir_p("", 0755), -EINVAL);
}

static void test_open_new_file(void **state) {
        char path[256], target[256], link_target[256];
        struct stat st;
        int fd;

        snprintf(path, sizeof(path), "%s/new.tmp", root);
        snprintf(target, sizeof(target), "%s/victim", root);

        fd = open_new_file(path, 0640);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, "a", 1), 1);
        close(fd);
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0640);

        /* A leftover is replaced, not appended to or truncated in place. */
        fd = open_new_file(path, 0644);
        assert_true(fd >= 0);
        close(fd);
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(st.st_size, 0);

        /* A symlink planted where the temporary goes: the link is removed, its target untouched. */
        fd = open(target, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, "keep", 4), 4);
        close(fd);
        assert_int_equal(unlink(path), 0);
        assert_int_equal(symlink(target, path), 0);
        fd = open_new_file(path, 0644);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, "new", 3), 3);
        close(fd);
        assert_int_equal(lstat(path, &st), 0);
        assert_true(S_ISREG(st.st_mode));
        assert_int_equal(stat(target, &st), 0);
        assert_int_equal(st.st_size, 4);
        assert_int_equal(readlink(path, link_target, sizeof(link_target)), -1);

        /* Where nothing can be created: the error. */
        snprintf(path, sizeof(path), "%s/missing/new.tmp", root);
        assert_int_equal(open_new_file(path, 0644), -ENOENT);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_nested),
                cmocka_unit_test(test_in_the_way),
                cmocka_unit_test(test_open_new_file),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
