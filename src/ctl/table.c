/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Column-aligned text tables (see table.h). */

#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "strv.h"
#include "table.h"

struct Table {
        size_t n_columns;
        char **cells;           /* headers first, then row by row */
        size_t n_cells;
};

Table *table_new(const char *header, ...) {
        _cleanup_(table_freep) Table *t = NULL;
        va_list ap;

        t = calloc(1, sizeof(Table));
        if (!t)
                return NULL;

        va_start(ap, header);
        for (const char *h = header; h; h = va_arg(ap, const char *))
                if (table_add_cell(t, h) < 0) {
                        va_end(ap);
                        return NULL;
                }
        va_end(ap);

        t->n_columns = t->n_cells;
        return TAKE_PTR(t);
}

Table *table_free(Table *t) {
        if (!t)
                return NULL;
        strv_free(t->cells);
        return mfree(t);
}

int table_add_cell(Table *t, const char *s) {
        int r = strv_extend(&t->cells, s ?: "-");
        if (r < 0)
                return r;
        t->n_cells++;
        return 0;
}

int table_add_row(Table *t, ...) {
        va_list ap;
        int r = 0;

        va_start(ap, t);
        for (size_t i = 0; i < t->n_columns && r >= 0; i++)
                r = table_add_cell(t, va_arg(ap, const char *));
        va_end(ap);
        return r;
}

size_t table_rows(const Table *t) {
        return t->n_columns > 0 ? t->n_cells / t->n_columns - 1 : 0;
}

/* Display width: UTF-8 continuation bytes take no column. */
static size_t text_width(const char *s) {
        size_t w = 0;

        for (; *s; s++)
                if (((unsigned char) *s & 0xc0) != 0x80)
                        w++;
        return w;
}

/* Writes "s" in at most "width" columns: cut at a character boundary and ended by the ellipsis. */
static void put_cell(FILE *f, const char *s, size_t width, const char *ellipsis) {
        size_t e = text_width(ellipsis), keep, taken = 0;
        const char *p = s;

        if (text_width(s) <= width) {
                fputs(s, f);
                return;
        }
        keep = width > e ? width - e : width;
        for (; *p; p++)
                if (((unsigned char) *p & 0xc0) != 0x80 && taken++ == keep)
                        break;
        fwrite(s, 1, (size_t) (p - s), f);
        if (width > e)
                fputs(ellipsis, f);
}

void table_fit(size_t *widths, size_t n, size_t columns) {
        size_t total = 0;

        if (n == 0 || columns == SIZE_MAX)
                return;
        for (size_t i = 0; i < n; i++)
                total += widths[i];
        total += TABLE_GAP * (n - 1);

        /* Take from the widest column first: the short ones (states, counts) stay readable, the long
         * ones (descriptions, unit names) lose their tails. The first column names the row: it is cut
         * last. No column goes below TABLE_COLUMN_MIN, so a very narrow terminal wraps rather than
         * showing nothing. */
        while (total > columns) {
                size_t widest = n > 1 ? 1 : 0;

                for (size_t i = widest + 1; i < n; i++)
                        if (widths[i] > widths[widest])
                                widest = i;
                if (widths[widest] <= TABLE_COLUMN_MIN)
                        widest = 0;
                if (widths[widest] <= TABLE_COLUMN_MIN)
                        break;
                widths[widest]--;
                total--;
        }
}

void table_print(const Table *t, FILE *f, bool header, size_t columns, const char *ellipsis) {
        _cleanup_free_ size_t *width = NULL;

        if (t->n_columns == 0)
                return;
        width = calloc(t->n_columns, sizeof(size_t));
        if (!width)
                return;

        for (size_t i = header ? 0 : t->n_columns; i < t->n_cells; i++)
                width[i % t->n_columns] = MAX(width[i % t->n_columns], text_width(t->cells[i]));
        table_fit(width, t->n_columns, columns);

        for (size_t i = header ? 0 : t->n_columns; i < t->n_cells; i++) {
                size_t c = i % t->n_columns;

                put_cell(f, t->cells[i], width[c], ellipsis ?: "...");
                if (c + 1 == t->n_columns)
                        fputc('\n', f);
                else
                        fprintf(f, "%*s", (int) (width[c] - MIN(text_width(t->cells[i]), width[c]) + TABLE_GAP), "");
        }
}
