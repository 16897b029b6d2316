/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <sys/types.h>

/* Creates "path" and any missing parents with "mode", like systemd's mkdir_p(). 0 if it is a
 * directory afterwards (also when it was one before); -ENOTDIR if it, or a parent, is something else;
 * else the failing mkdir()'s -errno. */
int mkdir_p(const char *path, mode_t mode);

struct stat;

/* For a process running as root (otherwise always 0): -EPERM if what "st" describes (a profile, its
 * directory, the runtime directory) is writable by group or others, or owned by someone other than root,
 * as sudo refuses its sudoers files. Root acts on these files' content; nobody else may change it. */
int stat_check_trusted(const struct stat *st);
