/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fs-util.h"
#include "macro.h"

static int mkdir_one(const char *path, mode_t mode) {
        struct stat st;

        if (mkdir(path, mode) >= 0)
                return 0;
        if (errno != EEXIST)
                return -errno;
        if (stat(path, &st) < 0)
                return -errno;
        return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
}

int open_new_file(const char *path, mode_t mode) {
        int fd;

        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, mode);
        if (fd < 0 && errno == EEXIST && unlink(path) >= 0)
                fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, mode);
        return fd < 0 ? -errno : fd;
}

int mkdir_p(const char *path, mode_t mode) {
        _cleanup_free_ char *p = NULL;
        int r;

        assert(path);

        if (isempty(path))
                return -EINVAL;
        p = strdup(path);
        if (!p)
                return -ENOMEM;

        /* Each prefix that ends before a '/' (but not the root itself), then the whole path. */
        for (char *s = p + 1; *s; s++) {
                if (*s != '/' || s[-1] == '/')
                        continue;
                *s = '\0';
                r = mkdir_one(p, mode);
                *s = '/';
                if (r < 0)
                        return r;
        }
        return mkdir_one(p, mode);
}

int stat_check_trusted(const struct stat *st) {
        uid_t euid = geteuid();

        if (euid != 0)
                return 0;
        if (st->st_uid != euid || (st->st_mode & (S_IWGRP | S_IWOTH)))
                return -EPERM;
        return 0;
}
