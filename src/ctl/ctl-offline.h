/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* unifiedctl's offline verbs: validate, show and list --root work on the profile files through the
 * profile library, without the daemon. Each returns an exit status (CtlExit). */

#include <stdbool.h>

#include "profile.h"

/* "root" prefixes the profile search path (NULL: $UNIFIED_ROOT or "/"). */
/* Loads and resolves a profile name or file as show does, printing its diagnostics: CTL_EXIT_SUCCESS
 * with *ret set, or the exit status to return. */
int offline_resolve(const char *root, const char *arg, Profile **ret);
int offline_validate(const char *root, char **args, bool json);
int offline_show(const char *root, const char *arg, bool json);
int offline_list(const char *root, bool json, bool legend);
