/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <sys/types.h>

/* Creates "path" and any missing parents with "mode", like systemd's mkdir_p(). 0 if it is a
 * directory afterwards (also when it was one before); -ENOTDIR if it, or a parent, is something else;
 * else the failing mkdir()'s -errno. */
int mkdir_p(const char *path, mode_t mode);
