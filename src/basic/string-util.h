/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Small string helpers, named after their systemd counterparts. */

#include <stddef.h>

/* Replaces the string *p owns by a copy of "s" (NULL allowed for both). 0 if it was equal already
 * (nothing is allocated), 1 if it changed, -ENOMEM (and *p untouched) otherwise. */
int free_and_strdup(char **p, const char *s);
/* Length of the valid UTF-8 sequence at "s", 0 if it is not one (overlong forms, surrogates and code
 * points above U+10FFFF included). */
size_t utf8_sequence_length(const unsigned char *s);
