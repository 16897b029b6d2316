/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Column-aligned text tables for unifiedctl's listings. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "macro.h"

typedef struct Table Table;

/* The column headers, NULL-terminated. */
Table *table_new(const char *header, ...) _sentinel_;
Table *table_free(Table *t);
DEFINE_TRIVIAL_CLEANUP_FUNC(Table *, table_free);

/* Appends one cell (a copy; NULL shows as "-"); rows fill left to right. */
int table_add_cell(Table *t, const char *s);
/* Appends a whole row: exactly as many strings as there are columns. */
int table_add_row(Table *t, ...);
size_t table_rows(const Table *t);

#define TABLE_GAP 2             /* spaces between columns */
#define TABLE_COLUMN_MIN 6      /* fitting shrinks no column below this */

/* Shrinks "widths" (n columns) until the row, with the gaps, fits in "columns" (SIZE_MAX: no limit),
 * the widest column first. */
void table_fit(size_t *widths, size_t n, size_t columns);

/* Pads every column but the last to its widest cell; "header" prints the header line. Wider than
 * "columns" (SIZE_MAX: no limit), the widest cells are cut and end in "ellipsis" (NULL: "..."). */
void table_print(const Table *t, FILE *f, bool header, size_t columns, const char *ellipsis);
