/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <sys/types.h>

/* Creates "path" and any missing parents with "mode", like systemd's mkdir_p(). 0 if it is a
 * directory afterwards (also when it was one before); -ENOTDIR if it, or a parent, is something else;
 * else the failing mkdir()'s -errno. */
int mkdir_p(const char *path, mode_t mode);

/* Opens "path" for writing as a file this call creates (O_EXCL), never through a symlink (O_NOFOLLOW),
 * for a temporary that is renamed into place afterwards. One that is there already (left by a process
 * that died) is unlinked first: whatever it is, a symlink included, it is never written to. The fd, or
 * -errno. */
int open_new_file(const char *path, mode_t mode);

struct stat;

/* For a process running as root (otherwise always 0): -EPERM if what "st" describes (a profile, its
 * directory, the runtime directory) is writable by group or others, or owned by someone other than root,
 * as sudo refuses its sudoers files. Root acts on these files' content; nobody else may change it. */
int stat_check_trusted(const struct stat *st);
