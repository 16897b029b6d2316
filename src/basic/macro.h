/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Small language helpers used everywhere: cleanup attributes, ownership transfer, array sizes. */

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define _cleanup_(f) __attribute__((__cleanup__(f)))
#define _unused_ __attribute__((__unused__))
#define _pure_ __attribute__((__pure__))
#define _const_ __attribute__((__const__))
#define _noreturn_ __attribute__((__noreturn__))
#define _printf_(a, b) __attribute__((__format__(printf, a, b)))
#define _sentinel_ __attribute__((__sentinel__))
#define _likely_(x) (__builtin_expect(!!(x), 1))
#define _unlikely_(x) (__builtin_expect(!!(x), 0))
#define _public_ __attribute__((__visibility__("default")))

#define ELEMENTSOF(x) (sizeof(x) / sizeof((x)[0]))

#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))
#define CLAMP(x, lo, hi) ((x) < (lo) ? (lo) : (x) > (hi) ? (hi) : (x))

#define streq(a, b) (strcmp((a), (b)) == 0)
#define strneq(a, b, n) (strncmp((a), (b), (n)) == 0)
#define isempty(s) (!(s) || (s)[0] == '\0')
#define strna(s) ((s) ?: "n/a")
#define strempty(s) ((s) ?: "")
#define yes_no(b) ((b) ? "yes" : "no")

static inline bool streq_ptr(const char *a, const char *b) {
        if (!a || !b)
                return a == b;
        return streq(a, b);
}

/* Takes a pointer out of a variable, leaving NULL behind, so that a cleanup attribute no longer
 * frees it: the idiom for handing ownership to the caller. */
#define TAKE_PTR(p)                                  \
        ({                                           \
                __typeof__(p) *_pp_ = &(p);          \
                __typeof__(p) _p_ = *_pp_;           \
                *_pp_ = NULL;                        \
                _p_;                                 \
        })

#define TAKE_FD(fd)                                  \
        ({                                           \
                int *_pfd_ = &(fd);                  \
                int _fd_ = *_pfd_;                   \
                *_pfd_ = -EBADF;                     \
                _fd_;                                \
        })

#define mfree(p)                                     \
        ({                                           \
                free(p);                             \
                (__typeof__(p)) NULL;                \
        })

static inline void freep(void *p) {
        free(*(void **) p);
}
#define _cleanup_free_ _cleanup_(freep)

static inline int safe_close(int fd) {
        if (fd >= 0) {
                int saved = errno;
                (void) close(fd);
                errno = saved;
        }
        return -EBADF;
}
static inline void closep(int *fd) {
        safe_close(*fd);
}
#define _cleanup_close_ _cleanup_(closep)

/* For our own types: "func##p" frees *p if set. Destructors accept NULL and return NULL. */
#define DEFINE_TRIVIAL_CLEANUP_FUNC(type, func)      \
        static inline void func##p(type *p) {        \
                if (*p)                              \
                        *p = func(*p);               \
        }

/* Assigns *ret only if the caller asked for it: out-parameters are optional. */
#define SET_IF(ret, v)                               \
        do {                                         \
                if (ret)                             \
                        *(ret) = (v);                \
        } while (0)

#define assert_return(expr, r)                       \
        do {                                         \
                if (_unlikely_(!(expr)))             \
                        return (r);                  \
        } while (0)

#define STRV_FOREACH(s, l) for (char **s = (l); s && *s; s++)

