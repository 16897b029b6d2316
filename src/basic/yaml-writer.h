/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A streaming emitter of block-style YAML with the calls of json-writer.h, so that one piece of code
 * can write either: mappings and sequences indented by 2, strings plain only when YAML 1.1 and 1.2
 * both read them back as the same string, double-quoted otherwise. Errors are sticky and reported
 * once by yaml_writer_finish(). */

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define YAML_WRITER_DEPTH_MAX 32

typedef struct YamlWriterLevel {
        bool sequence;
        bool after_key; /* opened as a mapping's value: its first item starts a new line */
        unsigned n_items;
} YamlWriterLevel;

typedef struct YamlWriter {
        FILE *f;
        unsigned depth;
        YamlWriterLevel level[YAML_WRITER_DEPTH_MAX + 1];
        bool after_key;
        bool document; /* a document was begun: the next one needs a "---" */
        int error;
} YamlWriter;

void yaml_writer_init(YamlWriter *w, FILE *f);

/* Starts a document of a multi-document stream: "---" before every document. */
void yaml_writer_document_begin(YamlWriter *w);

void yaml_writer_object_begin(YamlWriter *w);
void yaml_writer_object_end(YamlWriter *w);
void yaml_writer_array_begin(YamlWriter *w);
void yaml_writer_array_end(YamlWriter *w);
void yaml_writer_key(YamlWriter *w, const char *key);

/* NULL writes null. Bytes that are not valid UTF-8 are written as U+FFFD. */
void yaml_writer_string(YamlWriter *w, const char *s);
void yaml_writer_unsigned(YamlWriter *w, uint64_t u);
void yaml_writer_boolean(YamlWriter *w, bool b);
void yaml_writer_null(YamlWriter *w);
void yaml_writer_strv(YamlWriter *w, char *const *l);

/* Flushes. 0, or -EINVAL if the nesting was unbalanced or too deep, -EIO if writing failed. */
int yaml_writer_finish(YamlWriter *w);

/* Whether "s" can be written without quotes and read back as the same string. */
bool yaml_string_is_plain(const char *s);
