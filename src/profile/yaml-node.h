/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A YAML document as a small tree of scalars, sequences and mappings, each with its line:column,
 * built from libyaml's event stream with hard bounds (size, depth, node count) and without anchors,
 * aliases or tags, so that no input can make it large or slow. */

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "diag.h"
#include "macro.h"

#define YAML_FILE_SIZE_MAX (1024U * 1024U)
#define YAML_DEPTH_MAX 32U
#define YAML_NODES_MAX 200000U

typedef enum YamlNodeType {
        YAML_NODE_SCALAR,
        YAML_NODE_SEQUENCE,
        YAML_NODE_MAPPING,
} YamlNodeType;

typedef struct YamlNode YamlNode;
struct YamlNode {
        YamlNodeType type;
        unsigned line;          /* 1-based */
        unsigned column;        /* 1-based */
        char *value;            /* scalars only, NUL-terminated */
        bool plain;             /* scalar was unquoted: "true" is a string, true a boolean */
        YamlNode **items;       /* sequence entries; for mappings key0, value0, key1, value1... */
        size_t n_items;
        size_t n_allocated;
};

YamlNode *yaml_node_free(YamlNode *n);
DEFINE_TRIVIAL_CLEANUP_FUNC(YamlNode *, yaml_node_free);

/* Parses "data" (not necessarily NUL-terminated). Problems go into "diag" against "file"; returns
 * -EBADMSG if there were any, else 0 with *ret the root node, or NULL for a document without
 * content (only comments or whitespace). */
int yaml_node_parse(const char *data, size_t size, const char *file, Diagnostics *diag, YamlNode **ret);

/* A plain scalar that YAML reads as null: empty, "~", "null". */
bool yaml_node_is_null(const YamlNode *n);
/* "a string", "a list", "a mapping", for messages. */
const char *yaml_node_type_name(const YamlNode *n);

/* The 0-based index of the first invalid UTF-8 byte (or NUL), or -1 if it is all valid. */
ssize_t utf8_find_invalid(const char *data, size_t size);
