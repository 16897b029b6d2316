/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* State that survives a daemon restart, in the runtime directory. */

#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>

#include "config.h"
#include "fs-util.h"
#include "macro.h"
#include "state.h"

#define ACTIVE_PROFILE_FILE "active-profile"

static void fclosep(FILE **f) {
        if (*f)
                fclose(*f);
}

const char *state_dir(void) {
        const char *e = getenv("UNIFIED_RUNTIME_DIR");
        return isempty(e) ? RUNTIME_DIR : e;
}

int state_write_line(const char *dir, const char *name, const char *text) {
        _cleanup_free_ char *path = NULL, *tmp = NULL;
        _cleanup_close_ int fd = -EBADF;
        size_t l = strlen(text);
        int r;

        if (asprintf(&path, "%s/%s", dir, name) < 0 || asprintf(&tmp, "%s/.%s.tmp", dir, name) < 0)
                return -ENOMEM;
        r = mkdir_p(dir, 0755);
        if (r < 0)
                return r;
        fd = open_new_file(tmp, 0644);
        if (fd < 0)
                return fd;
        if (write(fd, text, l) != (ssize_t) l || write(fd, "\n", 1) != 1) {
                r = errno > 0 ? -errno : -EIO;
                (void) unlink(tmp);
                return r;
        }
        if (rename(tmp, path) < 0) {
                r = -errno;
                (void) unlink(tmp);
                return r;
        }
        return 0;
}

int state_save_active_profile(const char *dir, const char *name) {
        _cleanup_free_ char *path = NULL;

        if (isempty(name)) {
                if (asprintf(&path, "%s/" ACTIVE_PROFILE_FILE, dir) < 0)
                        return -ENOMEM;
                if (unlink(path) < 0 && errno != ENOENT)
                        return -errno;
                return 0;
        }

        return state_write_line(dir, ACTIVE_PROFILE_FILE, name);
}

int state_read_line(const char *dir, const char *name, char **ret) {
        _cleanup_free_ char *path = NULL, *line = NULL;
        _cleanup_(fclosep) FILE *f = NULL;
        size_t n = 0;
        ssize_t l;

        if (asprintf(&path, "%s/%s", dir, name) < 0)
                return -ENOMEM;
        f = fopen(path, "re");
        if (!f) {
                if (errno != ENOENT)
                        return -errno;
                *ret = NULL;
                return 0;
        }
        l = getline(&line, &n, f);
        if (l < 0) {
                *ret = NULL;
                return 0;
        }
        while (l > 0 && line[l - 1] == '\n')
                line[--l] = '\0';
        *ret = TAKE_PTR(line);
        return 0;
}

int state_load_active_profile(const char *dir, char **ret) {
        _cleanup_free_ char *line = NULL;
        size_t l;
        int r;

        r = state_read_line(dir, ACTIVE_PROFILE_FILE, &line);
        if (r < 0)
                return r;
        l = line ? strlen(line) : 0;
        while (l > 0 && line[l - 1] == ' ')
                line[--l] = '\0';
        *ret = l > 0 ? TAKE_PTR(line) : NULL;
        return 0;
}
