/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A map from strings to pointers, for looking agents up by name in O(1): the manager and the
 * supervisor evaluate every agent on each burst of systemd signals, and a linear search per lookup
 * made that quadratic. Keys are not copied: like systemd's hashmap_put(m->units, u->id, u), the key
 * is a string the value owns, and it must stay unchanged while the entry exists. Open addressing
 * with linear probing; removal shifts the following entries back, so there are no tombstones. */

#include <stddef.h>

#include "macro.h"

typedef struct Hashmap Hashmap;

/* NULL on allocation failure. */
Hashmap *hashmap_new(void);
Hashmap *hashmap_free(Hashmap *h);
DEFINE_TRIVIAL_CLEANUP_FUNC(Hashmap *, hashmap_free);

/* 1 if added, 0 if "key" already maps to "value", -EEXIST if it maps to something else, -ENOMEM. */
int hashmap_put(Hashmap *h, const char *key, void *value);
/* The value, or NULL (also for a NULL map or key). */
void *hashmap_get(const Hashmap *h, const char *key) _pure_;
/* Removes "key" and returns its value, or NULL if it was not there. */
void *hashmap_remove(Hashmap *h, const char *key);
void hashmap_clear(Hashmap *h);
size_t hashmap_size(const Hashmap *h) _pure_;
