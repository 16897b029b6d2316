/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What must survive a daemon restart, kept in the runtime directory (/run/unified, preserved by
 * RuntimeDirectoryPreserve=yes): the profile that is meant to be active. Agents outlive the daemon
 * in unified.slice; with this file the next daemon knows which profile they belong to. */

/* The state directory: $UNIFIED_RUNTIME_DIR if set (a test seam), else RUNTIME_DIR. */
const char *state_dir(void);

/* Writes "text" and a newline to dir/name atomically (a temporary file renamed over it), creating
 * "dir" and its parents if needed. */
int state_write_line(const char *dir, const char *name, const char *text);
/* The first line of dir/name without its newline; NULL (and 0) when the file is missing or has no line. */
int state_read_line(const char *dir, const char *name, char **ret);
/* Records "name" as the active profile; NULL or "" removes the record. */
int state_save_active_profile(const char *dir, const char *name);
/* *ret is NULL when nothing is recorded. */
int state_load_active_profile(const char *dir, char **ret);
