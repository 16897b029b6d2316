/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Diagnostics: errors and warnings about input files, positioned as file:line:column. */

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "macro.h"

typedef enum DiagSeverity {
        DIAG_WARNING,
        DIAG_ERROR,
} DiagSeverity;

typedef struct Diagnostic {
        DiagSeverity severity;
        char *file;
        unsigned line;          /* 1-based, 0 if unknown */
        unsigned column;        /* 1-based, 0 if unknown */
        char *message;
} Diagnostic;

typedef struct Diagnostics {
        Diagnostic *items;
        size_t n_items;
        size_t n_errors;
        size_t n_warnings;
} Diagnostics;

void diagnostics_done(Diagnostics *d);
/* Adds one entry; on allocation failure the entry is dropped and -ENOMEM returned, the counters
 * still move so that an error is never lost. */
int diag_add(Diagnostics *d, DiagSeverity severity, const char *file, unsigned line, unsigned column,
             const char *format, ...) _printf_(6, 7);
/* Past this many entries only the counters move: a hostile file cannot make us collect (or compute)
 * gigabytes of messages. */
#define DIAG_ITEMS_MAX 1000U
/* Whether further entries would only be counted; callers skip costly work (suggestions) then. */
bool diagnostics_full(const Diagnostics *d);

/* Orders the entries from index "from" on by line and column (stably), so that the problems of one
 * file read top to bottom whatever order the checks ran in. */
void diagnostics_sort(Diagnostics *d, size_t from);

/* "file:line:column: error: message", one per line. */
void diagnostics_print(const Diagnostics *d, FILE *f);
/* The closest of "candidates" to "word" within a small edit distance, for "did you mean". */
const char *diag_suggest(const char *word, const char *const *candidates);
