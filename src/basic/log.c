/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Logging to stderr, with syslog priority prefixes when stderr is connected to journald. */

#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "log.h"

static int max_level = LOG_INFO;
static bool prefix_priority = false;

void log_set_max_level(int level) {
        max_level = CLAMP(level, LOG_EMERG, LOG_DEBUG);
}

int log_get_max_level(void) {
        return max_level;
}

static const char *const log_level_names[] = {
        [LOG_EMERG] = "emerg", [LOG_ALERT] = "alert",     [LOG_CRIT] = "crit", [LOG_ERR] = "err",
        [LOG_WARNING] = "warning", [LOG_NOTICE] = "notice", [LOG_INFO] = "info", [LOG_DEBUG] = "debug",
};

int log_level_from_string(const char *s) {
        if (!s)
                return -EINVAL;
        for (size_t i = 0; i < ELEMENTSOF(log_level_names); i++)
                if (streq(s, log_level_names[i]))
                        return (int) i;
        if (streq(s, "error"))
                return LOG_ERR;
        if (s[0] >= '0' && s[0] <= '7' && s[1] == '\0')
                return s[0] - '0';
        return -EINVAL;
}

const char *log_level_to_string(int level) {
        if (level < 0 || (size_t) level >= ELEMENTSOF(log_level_names))
                return NULL;
        return log_level_names[level];
}

bool log_to_journal(void) {
        return prefix_priority;
}

void log_setup(void) {
        const char *e = getenv("UNIFIED_LOG_LEVEL");
        if (e) {
                int l = log_level_from_string(e);
                if (l >= 0)
                        max_level = l;
        }

        /* $JOURNAL_STREAM is "DEV:INODE" of the stream journald gave us; only trust it if stderr is
         * still that very stream (a child may have inherited the variable with stderr redirected). */
        e = getenv("JOURNAL_STREAM");
        if (e) {
                unsigned long long dev, ino;
                struct stat st;

                if (sscanf(e, "%llu:%llu", &dev, &ino) == 2 && fstat(STDERR_FILENO, &st) >= 0 &&
                    (unsigned long long) st.st_dev == dev && (unsigned long long) st.st_ino == ino)
                        prefix_priority = true;
        }
}

int log_internal(int level, int error, const char *file, int line, const char *func, const char *format, ...) {
        int saved_errno = errno;
        va_list ap;

        if (error < 0)
                error = -error;

        if (level <= max_level) {
                char buf[2048];

                errno = error;
                va_start(ap, format);
                (void) vsnprintf(buf, sizeof(buf), format, ap);
                va_end(ap);

                if (prefix_priority)
                        (void) fprintf(stderr, "<%i>%s\n", level, buf);
                else if (max_level >= LOG_DEBUG)
                        (void) fprintf(stderr, "%s:%i (%s): %s\n", file, line, func, buf);
                else
                        (void) fprintf(stderr, "%s\n", buf);
        }

        errno = saved_errno;
        return -error;
}
