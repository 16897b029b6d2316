/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* unifiedctl's offline verbs: validate, show and list --root work on the profile files through the
 * profile library, without the daemon. Each returns an exit status (CtlExit). */

#include "ctl-util.h"
#include "profile.h"

/* "root" prefixes the profile search path and the programs that `exec` names (NULL: $UNIFIED_ROOT
 * or "/"). A FILE's `extends` bases are looked for next to it first. */
int offline_validate(const char *root, char **args, const CtlOutput *o);
int offline_show(const char *root, const char *arg, const CtlOutput *o);
int offline_list(const char *root, const CtlOutput *o);

/* Loads and resolves a profile name or file as show does: CTL_EXIT_SUCCESS with *ret set, or the
 * exit status to return (*ret left NULL). Errors, and with "warnings" warnings too, are printed. */
int offline_resolve(const char *root, const char *arg, bool warnings, Profile **ret);
