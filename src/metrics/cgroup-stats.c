/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* cgroup v2 figures of a unit through libcgroup, with a direct read where libcgroup cannot map the
 * file onto the unified hierarchy. */

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <libcgroup.h>
#include <linux/magic.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statfs.h>

#include "cgroup-stats.h"
#include "log.h"
#include "parse-util.h"

#define CGROUP_FILE_MAX (64U * 1024U)

int cgroup_stats_parse_value(const char *text, uint64_t *ret) {
        char buf[32];
        size_t n;

        assert(text);
        assert(ret);

        n = strcspn(text, "\n");
        if (n == 0 || n >= sizeof(buf))
                return -EINVAL;
        memcpy(buf, text, n);
        buf[n] = 0;
        if (streq(buf, "max")) {
                *ret = CGROUP_STATS_UNSET;
                return 0;
        }
        return safe_atou64(buf, ret);
}

int cgroup_stats_parse_keyed(const char *text, const char *key, uint64_t *ret) {
        size_t klen;

        assert(text);
        assert(key);
        assert(ret);

        klen = strlen(key);
        for (const char *p = text; *p; ) {
                size_t n = strcspn(p, "\n");
                if (n > klen && strneq(p, key, klen) && p[klen] == ' ') {
                        char buf[32];
                        size_t vlen = n - klen - 1;
                        if (vlen == 0 || vlen >= sizeof(buf))
                                return -EINVAL;
                        memcpy(buf, p + klen + 1, vlen);
                        buf[vlen] = 0;
                        return safe_atou64(buf, ret);
                }
                p += n;
                if (*p == '\n')
                        p++;
        }
        return -ENOENT;
}

int cgroup_stats_parse_pressure(const char *text, double *ret) {
        const char *p;
        char *end;
        double d;

        assert(text);
        assert(ret);

        if (!strneq(text, "some ", 5))
                return -EINVAL;
        p = strstr(text, " avg10=");
        if (!p || p > text + strcspn(text, "\n"))
                return -EINVAL;
        errno = 0;
        d = strtod(p + 7, &end);
        if (errno != 0 || end == p + 7 || (*end != ' ' && *end != '\n' && *end != 0) || d < 0 || !isfinite(d))
                return -EINVAL;
        *ret = d;
        return 0;
}

/* Where the cgroup2 hierarchy is mounted: /sys/fs/cgroup on unified hosts, /sys/fs/cgroup/unified on
 * hybrid ones. */
static const char *cgroup2_root(void) {
        static const char *root = NULL;
        struct statfs fs;

        if (root)
                return root;
        if (statfs("/sys/fs/cgroup", &fs) == 0 && fs.f_type == CGROUP2_SUPER_MAGIC)
                root = "/sys/fs/cgroup";
        else
                root = "/sys/fs/cgroup/unified";
        return root;
}

/* libcgroup hands its own format strings on: the attribute tells the compiler "fmt" is one. */
_printf_(3, 0) static void cgroup_log_debug(void *userdata, int level, const char *fmt, va_list ap) {
        /* libcgroup reports missing files as errors; they are expected (memory.peak on old kernels). */
        if (log_get_max_level() >= LOG_DEBUG)
                vfprintf(stderr, fmt, ap);
}

/* Whether libcgroup resolves "controller" to the cgroup2 mount; decided once per controller. */
static bool libcgroup_usable(const char *controller) {
        static int initialized = 0; /* 0: not yet, 1: ok, -1: failed */
        static struct {
                const char *controller;
                int usable; /* 0 unknown, 1 yes, -1 no */
        } cache[] = { { "memory" }, { "cpu" } };

        if (initialized == 0) {
                cgroup_set_logger(cgroup_log_debug, CGROUP_LOG_ERROR, NULL);
                initialized = cgroup_init() == 0 ? 1 : -1;
        }
        if (initialized < 0)
                return false;

        for (size_t i = 0; i < ELEMENTSOF(cache); i++) {
                _cleanup_free_ char *mp = NULL;

                if (!streq(cache[i].controller, controller))
                        continue;
                if (cache[i].usable == 0)
                        cache[i].usable = cgroup_get_subsys_mount_point(controller, &mp) == 0 && mp &&
                                streq(mp, cgroup2_root()) ? 1 : -1;
                return cache[i].usable > 0;
        }
        return false;
}

static int read_with_libcgroup(const char *controller, const char *path, const char *file, char **ret) {
        _cleanup_free_ char *text = NULL, *name = NULL;
        size_t size = 0;
        void *handle = NULL;
        char line[4096];
        int r;

        name = strdup(file);
        if (!name)
                return -ENOMEM;

        r = cgroup_read_value_begin(controller, path, name, &handle, line, sizeof(line));
        while (r == 0) {
                size_t n = strlen(line);
                char *t;

                if (size + n > CGROUP_FILE_MAX) {
                        r = -EFBIG;
                        break;
                }
                t = realloc(text, size + n + 1);
                if (!t) {
                        r = -ENOMEM;
                        break;
                }
                text = t;
                memcpy(text + size, line, n + 1);
                size += n;
                r = cgroup_read_value_next(&handle, line, sizeof(line));
        }
        /* libcgroup crashes when ending an iteration that never began. */
        if (handle)
                (void) cgroup_read_value_end(&handle);

        if (r < 0)
                return r;
        if (r == ECGOTHER)
                return -cgroup_get_last_errno() ?: -EIO;
        if (r != ECGEOF)
                return -EIO;
        if (!text) {
                text = strdup("");
                if (!text)
                        return -ENOMEM;
        }
        *ret = TAKE_PTR(text);
        return 0;
}

static int read_direct(const char *root, const char *path, const char *file, char **ret) {
        /* The files read here are a few hundred bytes at most: one read into the stack. */
        char p[PATH_MAX], buf[8192];
        _cleanup_close_ int fd = -EBADF;
        ssize_t n;
        char *text;

        if ((size_t) snprintf(p, sizeof(p), "%s/%s/%s", root, path, file) >= sizeof(p))
                return -ENAMETOOLONG;
        fd = open(p, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;
        n = read(fd, buf, sizeof(buf) - 1);
        if (n < 0)
                return -errno;
        buf[n] = 0;
        text = strdup(buf);
        if (!text)
                return -ENOMEM;
        *ret = text;
        return 0;
}

static int read_cgroup_file(const char *path, const char *file, char **ret) {
        const char *root = getenv("UNIFIED_CGROUP_ROOT");
        const char *controller = strneq(file, "memory.", 7) ? "memory" : "cpu";

        if (isempty(root)) {
                if (libcgroup_usable(controller) && read_with_libcgroup(controller, path, file, ret) == 0)
                        return 0;
                root = cgroup2_root();
        }
        return read_direct(root, path, file, ret);
}

int cgroup_stats_read(const char *cgroup_path, CgroupStats *ret) {
        CgroupStats st = {
                .memory_current = CGROUP_STATS_UNSET,
                .memory_peak = CGROUP_STATS_UNSET,
                .memory_max = CGROUP_STATS_UNSET,
                .oom_kills = CGROUP_STATS_UNSET,
                .cpu_usage_usec = CGROUP_STATS_UNSET,
                .memory_pressure = NAN,
                .cpu_pressure = NAN,
        };
        static const char *const files[] = {
                "memory.current", "memory.peak", "memory.max", "memory.events", "cpu.stat",
                "memory.pressure", "cpu.pressure",
        };
        unsigned n_read = 0;
        int r;

        assert(cgroup_path);
        assert(ret);

        for (size_t i = 0; i < ELEMENTSOF(files); i++) {
                _cleanup_free_ char *text = NULL;

                r = read_cgroup_file(cgroup_path, files[i], &text);
                if (r == -ENOENT)
                        continue;
                if (r < 0)
                        return r;
                n_read++;

                /* A file in an unexpected format leaves its figure unset rather than failing the rest. */
                switch (i) {
                case 0:
                        (void) cgroup_stats_parse_value(text, &st.memory_current);
                        break;
                case 1:
                        (void) cgroup_stats_parse_value(text, &st.memory_peak);
                        break;
                case 2:
                        (void) cgroup_stats_parse_value(text, &st.memory_max);
                        break;
                case 3:
                        (void) cgroup_stats_parse_keyed(text, "oom_kill", &st.oom_kills);
                        break;
                case 4:
                        (void) cgroup_stats_parse_keyed(text, "usage_usec", &st.cpu_usage_usec);
                        break;
                case 5:
                        (void) cgroup_stats_parse_pressure(text, &st.memory_pressure);
                        break;
                case 6:
                        (void) cgroup_stats_parse_pressure(text, &st.cpu_pressure);
                        break;
                }
        }

        if (n_read == 0)
                return -ENOENT;
        *ret = st;
        return 0;
}
