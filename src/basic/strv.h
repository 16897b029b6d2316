/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* NULL-terminated string vectors ("strv"), as systemd uses them for argv, environments and lists. */

#include <stdbool.h>
#include <stddef.h>

#include "macro.h"

char **strv_free(char **l);
DEFINE_TRIVIAL_CLEANUP_FUNC(char **, strv_free);
#define _cleanup_strv_free_ _cleanup_(strv_freep)

size_t strv_length(char * const *l);
bool strv_contains(char * const *l, const char *s);
bool strv_equal(char * const *a, char * const *b);
/* Deep copy; a NULL input gives an empty vector. */
int strv_copy(char * const *l, char ***ret);
/* Appends a copy of "s" / takes ownership of "s" (freed on failure). */
int strv_extend(char ***l, const char *s);
int strv_consume(char ***l, char *s);
/* Joins with "sep" between elements; an empty or NULL vector gives "". */
char *strv_join(char * const *l, const char *sep);
