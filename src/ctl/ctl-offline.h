/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* unifiedctl's offline verbs: validate, show and list --root work on the profile files through the
 * profile library, without the daemon. Each returns an exit status (CtlExit). */

#include <stdbool.h>

/* "root" prefixes the profile search path (NULL: $UNIFIED_ROOT or "/"). */
int offline_validate(const char *root, char **args, bool json);
int offline_show(const char *root, const char *arg, bool json);
int offline_list(const char *root, bool json, bool legend);
