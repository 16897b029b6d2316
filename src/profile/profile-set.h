/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The set of profiles found on the search path, and their resolution: `extends` chains flattened,
 * include/exclude applied, cross-agent checks (requires, dependency cycles, budgets) done. */

#include "diag.h"
#include "profile.h"

/* Search path, lowest priority first. A file of the same name in a later directory replaces the
 * earlier one, as with systemd's unit directories. $UNIFIED_ROOT, if set, prefixes all of them (a
 * test seam, like systemd's --root). */
extern const char *const profile_search_dirs[];

typedef struct ProfileSet ProfileSet;

ProfileSet *profile_set_free(ProfileSet *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(ProfileSet *, profile_set_free);

/* Loads every *.yaml of the search path under "root" (NULL: $UNIFIED_ROOT or "/"). A file that
 * fails to parse is recorded in "diag" and left out; the rest is still loaded. */
int profile_set_load(const char *root, Diagnostics *diag, ProfileSet **ret);
/* Adds a file explicitly (for `unifiedctl validate FILE`), replacing a profile of the same name. */
int profile_set_add_file(ProfileSet *s, const char *path, Diagnostics *diag, const char **ret_name);

size_t profile_set_size(const ProfileSet *s);
/* Names in sorted order; the strings belong to the set. */
const char *profile_set_name(const ProfileSet *s, size_t i);
const char *profile_set_path(const ProfileSet *s, const char *name);

/* Resolves "name" into a flat Profile. Errors (unknown profile or base, extends cycle, requires of an
 * unknown agent, dependency cycle...) go into "diag" and give -EBADMSG; an unknown profile gives
 * -ENOENT with a diagnostic naming it. Warnings (budget exceeded, exec missing on this machine)
 * do not fail. */
int profile_set_resolve(const ProfileSet *s, const char *name, Diagnostics *diag, Profile **ret);
