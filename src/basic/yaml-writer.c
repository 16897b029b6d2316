/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* A streaming block-style YAML emitter (see yaml-writer.h). */

#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <strings.h>

#include "macro.h"
#include "string-util.h"
#include "yaml-writer.h"

void yaml_writer_init(YamlWriter *w, FILE *f) {
        *w = (YamlWriter){
                .f = f,
        };
}

static void yaml_writer_fail(YamlWriter *w, int error) {
        if (w->error == 0)
                w->error = error;
}

static void yaml_writer_indent(YamlWriter *w, unsigned depth) {
        /* The top-level mapping is at column 0, each level below it 2 further in. */
        for (unsigned i = 1; i < depth; i++)
                fputs("  ", w->f);
}

void yaml_writer_document_begin(YamlWriter *w) {
        if (w->depth != 0 || w->after_key) {
                yaml_writer_fail(w, -EINVAL);
                return;
        }
        fputs("---\n", w->f);
        w->document = true;
        w->level[0].n_items = 0;
}

/* Everything before an item of the current container (a key, or a sequence entry's "- "): the line
 * break and indentation, except for the first item of a mapping that is itself a sequence entry,
 * which shares the line of its "- ". */
static void yaml_writer_item_prefix(YamlWriter *w) {
        YamlWriterLevel *l = w->level + w->depth;

        if (l->n_items > 0 || l->after_key) {
                if (l->n_items == 0)
                        fputc('\n', w->f);
                yaml_writer_indent(w, w->depth);
        }
        l->n_items++;
}

/* What precedes a value: after a key a space (scalars) or nothing (containers), in a sequence the
 * item's "- ". */
static bool yaml_writer_value_prefix(YamlWriter *w, bool container) {
        if (w->after_key) {
                w->after_key = false;
                if (!container)
                        fputc(' ', w->f);
                return true;
        }
        if (w->depth == 0) {
                if (w->level[0].n_items++ > 0)
                        yaml_writer_fail(w, -EINVAL); /* a second value in one document */
                return false;
        }
        if (!w->level[w->depth].sequence) {
                yaml_writer_fail(w, -EINVAL); /* a value in a mapping without a key */
                return false;
        }
        yaml_writer_item_prefix(w);
        fputs("- ", w->f);
        return false;
}

static void yaml_writer_open(YamlWriter *w, bool sequence) {
        bool after_key = yaml_writer_value_prefix(w, true);

        if (w->depth >= YAML_WRITER_DEPTH_MAX) {
                yaml_writer_fail(w, -EINVAL);
                return;
        }
        w->depth++;
        w->level[w->depth] = (YamlWriterLevel){
                .sequence = sequence,
                .after_key = after_key,
        };
}

static void yaml_writer_close(YamlWriter *w, bool sequence) {
        YamlWriterLevel *l = w->level + w->depth;

        if (w->depth == 0 || l->sequence != sequence || w->after_key) {
                yaml_writer_fail(w, -EINVAL);
                return;
        }
        if (l->n_items == 0)
                fprintf(w->f, "%s%s\n", l->after_key ? " " : "", sequence ? "[]" : "{}");
        w->depth--;
}

void yaml_writer_object_begin(YamlWriter *w) {
        yaml_writer_open(w, false);
}

void yaml_writer_object_end(YamlWriter *w) {
        yaml_writer_close(w, false);
}

void yaml_writer_array_begin(YamlWriter *w) {
        yaml_writer_open(w, true);
}

void yaml_writer_array_end(YamlWriter *w) {
        yaml_writer_close(w, true);
}

bool yaml_string_is_plain(const char *s) {
        /* Words YAML 1.1 reads as booleans or null (any case spelling that some parser accepts). */
        static const char *const special[] = {
                "y", "yes", "n", "no", "true", "false", "on", "off", "null", "~",
        };

        if (isempty(s))
                return false;
        /* A letter or "/" first: never a number, a date, an indicator ("-", "?", ":", "&", "*", "!", "|",
         * ">", "'", "\"", "%", "@", "`", "#", "{", "[") or ".inf"/".nan". */
        if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z') || s[0] == '/' || s[0] == '_'))
                return false;
        /* Then only characters that cannot start a comment, a mapping value or a flow collection. */
        for (const char *p = s; *p; p++)
                if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
                      strchr("/_.-", *p)))
                        return false;
        for (size_t i = 0; i < ELEMENTSOF(special); i++)
                if (strcasecmp(s, special[i]) == 0)
                        return false;
        return true;
}

static void yaml_writer_quoted(YamlWriter *w, const char *s) {
        const unsigned char *p = (const unsigned char *) s;

        if (yaml_string_is_plain(s)) {
                fputs(s, w->f);
                return;
        }

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
                default:
                        if (*p < 0x20 || *p == 0x7f)
                                fprintf(w->f, "\\x%02x", *p);
                        else
                                fputc(*p, w->f);
                }
                p++;
        }
        fputc('"', w->f);
}

void yaml_writer_key(YamlWriter *w, const char *key) {
        if (w->depth == 0 || w->level[w->depth].sequence || w->after_key || !key) {
                yaml_writer_fail(w, -EINVAL);
                return;
        }
        yaml_writer_item_prefix(w);
        yaml_writer_quoted(w, key);
        fputc(':', w->f);
        w->after_key = true;
}

void yaml_writer_string(YamlWriter *w, const char *s) {
        if (!s) {
                yaml_writer_null(w);
                return;
        }
        yaml_writer_value_prefix(w, false);
        yaml_writer_quoted(w, s);
        fputc('\n', w->f);
}

void yaml_writer_unsigned(YamlWriter *w, uint64_t u) {
        yaml_writer_value_prefix(w, false);
        fprintf(w->f, "%" PRIu64 "\n", u);
}

void yaml_writer_boolean(YamlWriter *w, bool b) {
        yaml_writer_value_prefix(w, false);
        fputs(b ? "true\n" : "false\n", w->f);
}

void yaml_writer_null(YamlWriter *w) {
        yaml_writer_value_prefix(w, false);
        fputs("null\n", w->f);
}

void yaml_writer_strv(YamlWriter *w, char *const *l) {
        yaml_writer_array_begin(w);
        for (size_t i = 0; l && l[i]; i++)
                yaml_writer_string(w, l[i]);
        yaml_writer_array_end(w);
}

int yaml_writer_finish(YamlWriter *w) {
        if (w->depth != 0 || w->after_key)
                yaml_writer_fail(w, -EINVAL);
        if (fflush(w->f) != 0 || ferror(w->f))
                yaml_writer_fail(w, -EIO);
        return w->error;
}
