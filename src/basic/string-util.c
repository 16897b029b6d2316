/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "string-util.h"

int free_and_strdup(char **p, const char *s) {
        char *n = NULL;

        assert(p);

        if (streq_ptr(*p, s))
                return 0;
        if (s) {
                n = strdup(s);
                if (!n)
                        return -ENOMEM;
        }
        free(*p);
        *p = n;
        return 1;
}
