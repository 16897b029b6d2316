/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* A YAML document as a small tree with positions, built from libyaml events under hard bounds. */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "yaml-node.h"

YamlNode *yaml_node_free(YamlNode *n) {
        if (!n)
                return NULL;
        /* Depth is bounded by YAML_DEPTH_MAX at construction, so recursion is bounded too. */
        for (size_t i = 0; i < n->n_items; i++)
                yaml_node_free(n->items[i]);
        free(n->items);
        free(n->value);
        return mfree(n);
}

bool yaml_node_is_null(const YamlNode *n) {
        return n && n->type == YAML_NODE_SCALAR && n->plain &&
                (streq(n->value, "") || streq(n->value, "~") || streq(n->value, "null") ||
                 streq(n->value, "Null") || streq(n->value, "NULL"));
}

const char *yaml_node_type_name(const YamlNode *n) {
        if (!n)
                return "nothing";
        switch (n->type) {
        case YAML_NODE_SCALAR:
                return yaml_node_is_null(n) ? "nothing (null)" : "a scalar";
        case YAML_NODE_SEQUENCE:
                return "a list";
        case YAML_NODE_MAPPING:
                return "a mapping";
        }
        return "?";
}

ssize_t utf8_find_invalid(const char *data, size_t size) {
        const unsigned char *s = (const unsigned char *) data;
        size_t i = 0;

        while (i < size) {
                unsigned char c = s[i];
                size_t n;
                uint32_t cp;

                if (c == 0)
                        return (ssize_t) i;
                if (c < 0x80) {
                        i++;
                        continue;
                }
                if ((c & 0xE0) == 0xC0) {
                        n = 2;
                        cp = c & 0x1F;
                } else if ((c & 0xF0) == 0xE0) {
                        n = 3;
                        cp = c & 0x0F;
                } else if ((c & 0xF8) == 0xF0) {
                        n = 4;
                        cp = c & 0x07;
                } else
                        return (ssize_t) i;
                if (i + n > size)
                        return (ssize_t) i;
                for (size_t k = 1; k < n; k++) {
                        if ((s[i + k] & 0xC0) != 0x80)
                                return (ssize_t) i;
                        cp = (cp << 6) | (s[i + k] & 0x3F);
                }
                /* Overlong forms, surrogates and values past U+10FFFF are not UTF-8. */
                if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
                    (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
                        return (ssize_t) i;
                i += n;
        }
        return -1;
}

static void position_of(const char *data, size_t offset, unsigned *ret_line, unsigned *ret_column) {
        unsigned line = 1, column = 1;

        for (size_t i = 0; i < offset; i++) {
                if (data[i] == '\n') {
                        line++;
                        column = 1;
                } else if (((unsigned char) data[i] & 0xC0) != 0x80)
                        column++;
        }
        *ret_line = line;
        *ret_column = column;
}

static int node_append(YamlNode *parent, YamlNode *child) {
        if (parent->n_items >= parent->n_allocated) {
                size_t m = MAX(parent->n_allocated * 2, (size_t) 8);
                YamlNode **items = realloc(parent->items, m * sizeof(YamlNode *));

                if (!items)
                        return -ENOMEM;
                parent->items = items;
                parent->n_allocated = m;
        }
        parent->items[parent->n_items++] = child;
        return 0;
}

typedef struct Builder {
        const char *file;
        Diagnostics *diag;
        YamlNode *root;
        YamlNode *stack[YAML_DEPTH_MAX + 1];
        size_t depth;
        size_t n_nodes;
        unsigned documents;
} Builder;

static int builder_error(Builder *b, const yaml_mark_t *m, const char *msg) {
        (void) diag_add(b->diag, DIAG_ERROR, b->file, (unsigned) m->line + 1, (unsigned) m->column + 1, "%s", msg);
        return -EBADMSG;
}

static int builder_add(Builder *b, const yaml_event_t *e, YamlNode **ret) {
        _cleanup_(yaml_node_freep) YamlNode *n = NULL;
        YamlNode *node;
        int r;

        if (++b->n_nodes > YAML_NODES_MAX)
                return builder_error(b, &e->start_mark, "too many YAML nodes (more than 200000)");

        n = calloc(1, sizeof(YamlNode));
        if (!n)
                return -ENOMEM;
        n->line = (unsigned) e->start_mark.line + 1;
        n->column = (unsigned) e->start_mark.column + 1;

        node = n;
        if (b->depth > 0) {
                r = node_append(b->stack[b->depth - 1], n);
                if (r < 0)
                        return r;
                TAKE_PTR(n);
        } else {
                if (b->root)
                        return builder_error(b, &e->start_mark, "unexpected second root node");
                b->root = TAKE_PTR(n);
        }
        *ret = node;
        return 0;
}

static int builder_push(Builder *b, const yaml_event_t *e, YamlNodeType type, const yaml_char_t *anchor,
                        const yaml_char_t *tag) {
        YamlNode *n;
        int r;

        if (anchor)
                return builder_error(b, &e->start_mark, "YAML anchors are not supported (&anchor)");
        if (tag)
                return builder_error(b, &e->start_mark, "YAML tags are not supported");
        if (b->depth >= YAML_DEPTH_MAX)
                return builder_error(b, &e->start_mark, "nesting too deep (more than 32 levels)");

        r = builder_add(b, e, &n);
        if (r < 0)
                return r;
        n->type = type;
        b->stack[b->depth++] = n;
        return 0;
}

static int builder_event(Builder *b, const yaml_event_t *e) {
        YamlNode *n;
        int r;

        switch (e->type) {
        case YAML_STREAM_START_EVENT:
        case YAML_STREAM_END_EVENT:
        case YAML_DOCUMENT_END_EVENT:
        case YAML_NO_EVENT:
                return 0;

        case YAML_DOCUMENT_START_EVENT:
                if (++b->documents > 1)
                        return builder_error(b, &e->start_mark,
                                             "a profile is one YAML document, found a second one");
                return 0;

        case YAML_ALIAS_EVENT:
                return builder_error(b, &e->start_mark, "YAML aliases are not supported (*alias)");

        case YAML_SCALAR_EVENT:
                if (e->data.scalar.anchor)
                        return builder_error(b, &e->start_mark, "YAML anchors are not supported (&anchor)");
                if (e->data.scalar.tag)
                        return builder_error(b, &e->start_mark, "YAML tags are not supported");
                r = builder_add(b, e, &n);
                if (r < 0)
                        return r;
                n->type = YAML_NODE_SCALAR;
                n->plain = e->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
                n->value = strndup((const char *) e->data.scalar.value, e->data.scalar.length);
                if (!n->value)
                        return -ENOMEM;
                if (strlen(n->value) != e->data.scalar.length)
                        return builder_error(b, &e->start_mark, "NUL character in a string");
                return 0;

        case YAML_SEQUENCE_START_EVENT:
                return builder_push(b, e, YAML_NODE_SEQUENCE, e->data.sequence_start.anchor,
                                    e->data.sequence_start.implicit ? NULL : e->data.sequence_start.tag);

        case YAML_MAPPING_START_EVENT:
                return builder_push(b, e, YAML_NODE_MAPPING, e->data.mapping_start.anchor,
                                    e->data.mapping_start.implicit ? NULL : e->data.mapping_start.tag);

        case YAML_SEQUENCE_END_EVENT:
        case YAML_MAPPING_END_EVENT:
                if (b->depth > 0)
                        b->depth--;
                return 0;
        }
        return 0;
}

int yaml_node_parse(const char *data, size_t size, const char *file, Diagnostics *diag, YamlNode **ret) {
        _cleanup_(yaml_node_freep) YamlNode *root = NULL;
        yaml_parser_t parser;
        Builder b = {
                .file = file,
                .diag = diag,
        };
        ssize_t bad;
        int r = 0;

        if (size > YAML_FILE_SIZE_MAX) {
                (void) diag_add(diag, DIAG_ERROR, file, 0, 0, "file too large (%zu bytes, at most %u)", size,
                                YAML_FILE_SIZE_MAX);
                return -EBADMSG;
        }

        bad = utf8_find_invalid(data, size);
        if (bad >= 0) {
                unsigned line, column;

                position_of(data, (size_t) bad, &line, &column);
                (void) diag_add(diag, DIAG_ERROR, file, line, column, "%s",
                                data[bad] == 0 ? "NUL byte in file" : "invalid UTF-8 (profiles are UTF-8 text)");
                return -EBADMSG;
        }

        if (!yaml_parser_initialize(&parser))
                return -ENOMEM;
        yaml_parser_set_input_string(&parser, (const unsigned char *) data, size);
        yaml_parser_set_encoding(&parser, YAML_UTF8_ENCODING);

        for (;;) {
                yaml_event_t e;
                bool done;

                if (!yaml_parser_parse(&parser, &e)) {
                        if (parser.error == YAML_MEMORY_ERROR)
                                r = -ENOMEM;
                        else {
                                const yaml_mark_t *m = parser.problem ? &parser.problem_mark : &parser.mark;

                                (void) diag_add(diag, DIAG_ERROR, file, (unsigned) m->line + 1,
                                                (unsigned) m->column + 1, "YAML syntax error: %s%s%s",
                                                strna(parser.problem), parser.context ? " " : "",
                                                strempty(parser.context));
                                r = -EBADMSG;
                        }
                        break;
                }

                done = e.type == YAML_STREAM_END_EVENT;
                r = builder_event(&b, &e);
                yaml_event_delete(&e);
                if (r < 0 || done)
                        break;
        }
        yaml_parser_delete(&parser);

        root = b.root;
        if (r < 0)
                return r;

        /* "---" alone, or only comments: no content. */
        if (root && yaml_node_is_null(root))
                root = yaml_node_free(root);

        *ret = TAKE_PTR(root);
        return 0;
}
