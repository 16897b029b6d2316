/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* A streaming JSON emitter (see json-writer.h). */

#include <errno.h>
#include <inttypes.h>
#include <math.h>

#include "json-writer.h"
#include "string-util.h"

void json_writer_init(JsonWriter *w, FILE *f, JsonWriterFlags flags) {
        *w = (JsonWriter) {
                .f = f,
                .flags = flags,
        };
}

static void json_writer_fail(JsonWriter *w, int error) {
        if (w->error == 0)
                w->error = error;
}

static void json_writer_newline(JsonWriter *w) {
        if (!(w->flags & JSON_WRITER_PRETTY))
                return;
        fputc('\n', w->f);
        for (unsigned i = 0; i < w->depth; i++)
                fputs("  ", w->f);
}

/* Everything that precedes a value: the comma after the previous sibling and the indentation, unless
 * the value follows its key. */
static void json_writer_prefix(JsonWriter *w) {
        if (w->after_key) {
                w->after_key = false;
                return;
        }
        if (w->in_object[w->depth] && w->depth > 0) {
                /* A value in an object without a key. */
                json_writer_fail(w, -EINVAL);
                return;
        }
        if (w->depth == 0) {
                if (w->need_comma[0])
                        json_writer_fail(w, -EINVAL); /* a second top-level value */
                w->need_comma[0] = true;
                return;
        }
        if (w->need_comma[w->depth])
                fputc(',', w->f);
        w->need_comma[w->depth] = true;
        json_writer_newline(w);
}

static void json_writer_open(JsonWriter *w, char c, bool object) {
        json_writer_prefix(w);
        if (w->depth >= JSON_WRITER_DEPTH_MAX) {
                json_writer_fail(w, -EINVAL);
                return;
        }
        fputc(c, w->f);
        w->depth++;
        w->need_comma[w->depth] = false;
        w->in_object[w->depth] = object;
}

static void json_writer_close(JsonWriter *w, char c, bool object) {
        if (w->depth == 0 || w->in_object[w->depth] != object || w->after_key) {
                json_writer_fail(w, -EINVAL);
                return;
        }
        bool empty = !w->need_comma[w->depth];
        w->depth--;
        if (!empty)
                json_writer_newline(w);
        fputc(c, w->f);
}

void json_writer_object_begin(JsonWriter *w) {
        json_writer_open(w, '{', true);
}

void json_writer_object_end(JsonWriter *w) {
        json_writer_close(w, '}', true);
}

void json_writer_array_begin(JsonWriter *w) {
        json_writer_open(w, '[', false);
}

void json_writer_array_end(JsonWriter *w) {
        json_writer_close(w, ']', false);
}

static void json_writer_quoted(JsonWriter *w, const char *s) {
        const unsigned char *p = (const unsigned char *) s;

        fputc('"', w->f);
        while (*p) {
                size_t n = utf8_sequence_length(p);

                if (n == 0) {
                        fputs("\\ufffd", w->f);
                        p++;
                        continue;
                }
                if (n > 1) {
                        fwrite(p, 1, n, w->f);
                        p += n;
                        continue;
                }

                switch (*p) {
                case '"':
                        fputs("\\\"", w->f);
                        break;
                case '\\':
                        fputs("\\\\", w->f);
                        break;
                case '\n':
                        fputs("\\n", w->f);
                        break;
                case '\t':
                        fputs("\\t", w->f);
                        break;
                case '\r':
                        fputs("\\r", w->f);
                        break;
                default:
                        if (*p < 0x20 || *p == 0x7f)
                                fprintf(w->f, "\\u%04x", *p);
                        else
                                fputc(*p, w->f);
                }
                p++;
        }
        fputc('"', w->f);
}

void json_writer_key(JsonWriter *w, const char *key) {
        if (w->depth == 0 || !w->in_object[w->depth] || w->after_key || !key) {
                json_writer_fail(w, -EINVAL);
                return;
        }
        if (w->need_comma[w->depth])
                fputc(',', w->f);
        w->need_comma[w->depth] = true;
        json_writer_newline(w);
        json_writer_quoted(w, key);
        fputs((w->flags & JSON_WRITER_PRETTY) ? ": " : ":", w->f);
        w->after_key = true;
}

void json_writer_string(JsonWriter *w, const char *s) {
        if (!s) {
                json_writer_null(w);
                return;
        }
        json_writer_prefix(w);
        json_writer_quoted(w, s);
}

void json_writer_unsigned(JsonWriter *w, uint64_t u) {
        json_writer_prefix(w);
        fprintf(w->f, "%" PRIu64, u);
}

void json_writer_integer(JsonWriter *w, int64_t i) {
        json_writer_prefix(w);
        fprintf(w->f, "%" PRIi64, i);
}

void json_writer_real(JsonWriter *w, double d) {
        if (!isfinite(d)) {
                json_writer_null(w);
                return;
        }
        json_writer_prefix(w);
        /* 10 significant digits: health scores and ratios read as "0.95", not "0.94999999999999996". */
        fprintf(w->f, "%.10g", d);
}

void json_writer_boolean(JsonWriter *w, bool b) {
        json_writer_prefix(w);
        fputs(b ? "true" : "false", w->f);
}

void json_writer_null(JsonWriter *w) {
        json_writer_prefix(w);
        fputs("null", w->f);
}

void json_writer_strv(JsonWriter *w, char * const *l) {
        json_writer_array_begin(w);
        for (size_t i = 0; l && l[i]; i++)
                json_writer_string(w, l[i]);
        json_writer_array_end(w);
}

int json_writer_finish(JsonWriter *w) {
        if (w->depth != 0 || w->after_key)
                json_writer_fail(w, -EINVAL);
        fputc('\n', w->f);
        if (fflush(w->f) != 0 || ferror(w->f))
                json_writer_fail(w, -EIO);
        return w->error;
}
