/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Diagnostics: errors and warnings about input files, positioned as file:line:column. */

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "diag.h"

void diagnostics_done(Diagnostics *d) {
        if (!d)
                return;
        for (size_t i = 0; i < d->n_items; i++) {
                free(d->items[i].file);
                free(d->items[i].message);
        }
        free(d->items);
        *d = (Diagnostics) {};
}

bool diagnostics_full(const Diagnostics *d) {
        return d && d->n_items >= DIAG_ITEMS_MAX;
}

int diag_add(Diagnostics *d, DiagSeverity severity, const char *file, unsigned line, unsigned column,
             const char *format, ...) {
        _cleanup_free_ char *message = NULL, *f = NULL;
        Diagnostic *items;
        va_list ap;
        int r;

        if (!d)
                return 0;

        if (severity == DIAG_ERROR)
                d->n_errors++;
        else
                d->n_warnings++;

        if (d->n_items >= DIAG_ITEMS_MAX)
                return 0;

        va_start(ap, format);
        r = vasprintf(&message, format, ap);
        va_end(ap);
        if (r < 0) {
                message = NULL;
                return -ENOMEM;
        }
        if (file) {
                f = strdup(file);
                if (!f)
                        return -ENOMEM;
        }

        items = realloc(d->items, sizeof(Diagnostic) * (d->n_items + 1));
        if (!items)
                return -ENOMEM;
        d->items = items;
        d->items[d->n_items++] = (Diagnostic) {
                .severity = severity,
                .file = TAKE_PTR(f),
                .line = line,
                .column = column,
                .message = TAKE_PTR(message),
        };
        return 0;
}

static bool diagnostic_before(const Diagnostic *a, const Diagnostic *b) {
        return a->line < b->line || (a->line == b->line && a->column < b->column);
}

void diagnostics_sort(Diagnostics *d, size_t from) {
        /* Insertion sort: stable, and the number of entries is capped. */
        if (!d)
                return;
        for (size_t i = from + 1; i < d->n_items; i++) {
                Diagnostic x = d->items[i];
                size_t j = i;

                while (j > from && diagnostic_before(&x, d->items + j - 1)) {
                        d->items[j] = d->items[j - 1];
                        j--;
                }
                d->items[j] = x;
        }
}

void diagnostics_print(const Diagnostics *d, FILE *f) {
        size_t total;

        if (!d)
                return;
        for (size_t i = 0; i < d->n_items; i++) {
                const Diagnostic *e = d->items + i;
                const char *sev = e->severity == DIAG_ERROR ? "error" : "warning";

                if (e->line > 0)
                        fprintf(f, "%s:%u:%u: %s: %s\n", strna(e->file), e->line, e->column, sev, e->message);
                else
                        fprintf(f, "%s: %s: %s\n", strna(e->file), sev, e->message);
        }
        total = d->n_errors + d->n_warnings;
        if (total > d->n_items)
                fprintf(f, "(%zu more diagnostics not shown)\n", total - d->n_items);
}

/* Edit distance counting insertions, deletions, substitutions and transpositions of neighbours
 * ("nmae" -> "name" is one edit), with an early exit once a whole row exceeds "max". */
static size_t edit_distance(const char *a, const char *b, size_t max) {
        size_t la = strlen(a), lb = strlen(b);
        size_t rows[3][64 + 1], *prev2 = rows[0], *prev = rows[1], *cur = rows[2];

        if (la > 64 || lb > 64)
                return max + 1;
        if ((la > lb ? la - lb : lb - la) > max)
                return max + 1;

        for (size_t j = 0; j <= lb; j++)
                prev[j] = j;
        for (size_t i = 1; i <= la; i++) {
                size_t best, *t;

                cur[0] = best = i;
                for (size_t j = 1; j <= lb; j++) {
                        size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;

                        cur[j] = MIN(MIN(prev[j] + 1, cur[j - 1] + 1), prev[j - 1] + cost);
                        if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                                cur[j] = MIN(cur[j], prev2[j - 2] + 1);
                        best = MIN(best, cur[j]);
                }
                if (best > max)
                        return max + 1;
                t = prev2;
                prev2 = prev;
                prev = cur;
                cur = t;
        }
        return prev[lb];
}

const char *diag_suggest(const char *word, const char *const *candidates) {
        const char *best = NULL;
        size_t best_d, max;

        if (!word || !candidates)
                return NULL;

        /* One typo in a short word, up to a third of a longer one: "memroy_max" -> "memory_max",
         * but "cpu" is not a misspelling of "env". */
        max = MAX((size_t) 1, MIN(strlen(word) / 3, (size_t) 3));
        best_d = max + 1;
        for (size_t i = 0; candidates[i]; i++) {
                size_t dist;

                if (streq(word, candidates[i]))
                        continue;
                if (strcasecmp(word, candidates[i]) == 0)
                        return candidates[i];
                dist = edit_distance(word, candidates[i], max);
                if (dist < best_d) {
                        best_d = dist;
                        best = candidates[i];
                }
        }
        return best;
}
