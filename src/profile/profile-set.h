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

/* An empty set, to fill with profile_set_add*(). */
int profile_set_new(ProfileSet **ret);
/* Adds an already parsed profile (taking ownership on success), replacing one of the same name. */
int profile_set_add(ProfileSet *s, Profile *p);
/* The parsed, unresolved profile "name", NULL if unknown or invalid. */
const Profile *profile_set_get(const ProfileSet *s, const char *name);

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
/* A profile that failed to parse gives -EBADMSG without new diagnostics: they were added when it
 * was loaded. Layering: bases in order (a later base's agent overrides an earlier one field by field),
 * then include/exclude on the inherited agents, then this profile's agents (same name: override field
 * by field), then `defaults:` (merged along the chain, this profile's win) under every agent's own
 * settings, then the built-in defaults of agent_init_defaults() under everything. */
int profile_set_resolve(const ProfileSet *s, const char *name, Diagnostics *diag, Profile **ret);
