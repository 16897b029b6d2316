/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Logging to stderr, with syslog priority prefixes when stderr is connected to journald. */

#include <stdarg.h>
#include <stdbool.h>
#include <syslog.h>

#include "macro.h"

void log_set_max_level(int level);
int log_get_max_level(void);
/* "debug", "info", ... (syslog's names, as systemd spells them; also "error") or "0".."7" -> the level;
 * -EINVAL for anything else. */
int log_level_from_string(const char *s);
/* The level's name, NULL if out of range. */
const char *log_level_to_string(int level) _const_;
/* Whether stderr is journald's stream for this process (see log_setup()). */
bool log_to_journal(void);
/* Reads $UNIFIED_LOG_LEVEL ("debug", "info", ... or 0..7) and checks whether stderr is a journal
 * stream ($JOURNAL_STREAM), in which case each line gets a "<N>" prefix journald understands. */
void log_setup(void);

/* Logs at "level"; if "error" is non-zero, errno is set to its absolute value first so that %m in
 * the format expands to it. Returns -abs(error), so callers can "return log_error_errno(r, ...)". */
int log_internal(int level, int error, const char *file, int line, const char *func, const char *format, ...)
        _printf_(6, 7);

#define log_full_errno(level, error, ...) log_internal((level), (error), __FILE__, __LINE__, __func__, __VA_ARGS__)
#define log_full(level, ...) (void) log_full_errno((level), 0, __VA_ARGS__)

#define log_debug(...) log_full(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_full(LOG_INFO, __VA_ARGS__)
#define log_notice(...) log_full(LOG_NOTICE, __VA_ARGS__)
#define log_warning(...) log_full(LOG_WARNING, __VA_ARGS__)
#define log_error(...) log_full(LOG_ERR, __VA_ARGS__)

#define log_debug_errno(error, ...) log_full_errno(LOG_DEBUG, (error), __VA_ARGS__)
#define log_info_errno(error, ...) log_full_errno(LOG_INFO, (error), __VA_ARGS__)
#define log_notice_errno(error, ...) log_full_errno(LOG_NOTICE, (error), __VA_ARGS__)
#define log_warning_errno(error, ...) log_full_errno(LOG_WARNING, (error), __VA_ARGS__)
#define log_error_errno(error, ...) log_full_errno(LOG_ERR, (error), __VA_ARGS__)

#define log_oom() log_error_errno(-ENOMEM, "Out of memory.")
