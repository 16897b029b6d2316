/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A streaming JSON emitter: objects, arrays and scalars written straight to a FILE, with commas,
 * escaping and (optionally) indentation taken care of. Errors are sticky and reported once at the
 * end, so callers write a whole document without checking each call. */

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "macro.h"

#define JSON_WRITER_DEPTH_MAX 32

typedef enum JsonWriterFlags {
        JSON_WRITER_PRETTY = 1 << 0,    /* one member per line, indented by 2 */
} JsonWriterFlags;

typedef struct JsonWriter {
        FILE *f;
        JsonWriterFlags flags;
        unsigned depth;
        bool need_comma[JSON_WRITER_DEPTH_MAX + 1];
        bool in_object[JSON_WRITER_DEPTH_MAX + 1];
        bool after_key;
        int error;
} JsonWriter;

void json_writer_init(JsonWriter *w, FILE *f, JsonWriterFlags flags);

void json_writer_object_begin(JsonWriter *w);
void json_writer_object_end(JsonWriter *w);
void json_writer_array_begin(JsonWriter *w);
void json_writer_array_end(JsonWriter *w);

/* Inside an object: the member name; the next value written is its value. */
void json_writer_key(JsonWriter *w, const char *key);

/* NULL writes null. Bytes that are not valid UTF-8 are written as U+FFFD. */
void json_writer_string(JsonWriter *w, const char *s);
void json_writer_unsigned(JsonWriter *w, uint64_t u);
void json_writer_integer(JsonWriter *w, int64_t i);
/* NaN and infinities have no JSON form and are written as null. */
void json_writer_real(JsonWriter *w, double d);
void json_writer_boolean(JsonWriter *w, bool b);
void json_writer_null(JsonWriter *w);
/* An array of strings; NULL gives []. */
void json_writer_strv(JsonWriter *w, char * const *l);

/* Ends the document with a newline and flushes. 0, or -EINVAL if the nesting was unbalanced or too
 * deep, -EIO if writing failed. */
int json_writer_finish(JsonWriter *w);
