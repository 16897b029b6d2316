/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Tests for the YAML emitter: the block layout, empty containers, misuse detection, and that every
 * string, plain or quoted, reads back through libyaml as the very bytes written (U+FFFD for invalid
 * UTF-8), with plain style only where neither YAML 1.1 nor 1.2 could take it for something else. */

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <yaml.h>

#include "macro.h"
#include "yaml-writer.h"

typedef void (*WriteFunc)(YamlWriter *w);

static char *run(WriteFunc write, int expected_r) {
        char *buf = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&buf, &size);
        YamlWriter w;

        assert_non_null(f);
        yaml_writer_init(&w, f);
        write(&w);
        assert_int_equal(yaml_writer_finish(&w), expected_r);
        assert_int_equal(fclose(f), 0);
        return buf;
}

static void write_manifest(YamlWriter *w) {
        char *args[] = { (char *) "--role", (char *) "event-bus", NULL };

        yaml_writer_document_begin(w);
        yaml_writer_object_begin(w);
        yaml_writer_key(w, "kind");
        yaml_writer_string(w, "Deployment");
        yaml_writer_key(w, "spec");
        yaml_writer_object_begin(w);
        yaml_writer_key(w, "replicas");
        yaml_writer_unsigned(w, 1);
        yaml_writer_key(w, "containers");
        yaml_writer_array_begin(w);
        yaml_writer_object_begin(w);
        yaml_writer_key(w, "name");
        yaml_writer_string(w, "a");
        yaml_writer_key(w, "args");
        yaml_writer_strv(w, args);
        yaml_writer_key(w, "empty");
        yaml_writer_object_begin(w);
        yaml_writer_object_end(w);
        yaml_writer_key(w, "none");
        yaml_writer_strv(w, NULL);
        yaml_writer_object_end(w);
        yaml_writer_array_begin(w);
        yaml_writer_boolean(w, true);
        yaml_writer_null(w);
        yaml_writer_array_end(w);
        yaml_writer_object_begin(w);
        yaml_writer_object_end(w);
        yaml_writer_array_end(w);
        yaml_writer_object_end(w);
        yaml_writer_object_end(w);
        yaml_writer_document_begin(w);
        yaml_writer_string(w, "second");
}

static void test_layout(void **state) {
        _cleanup_free_ char *out = run(write_manifest, 0);

        assert_string_equal(
                out,
                "---\n"
                "kind: Deployment\n"
                "spec:\n"
                "  replicas: 1\n"
                "  containers:\n"
                "    - name: a\n"
                "      args:\n"
                "        - \"--role\"\n"
                "        - event-bus\n"
                "      empty: {}\n"
                "      none: []\n"
                "    - - true\n"
                "      - null\n"
                "    - {}\n"
                "---\n"
                "second\n");
}

static void write_key_at_top(YamlWriter *w) {
        yaml_writer_key(w, "k");
}

static void write_value_without_key(YamlWriter *w) {
        yaml_writer_object_begin(w);
        yaml_writer_string(w, "v");
        yaml_writer_object_end(w);
}

static void write_unbalanced(YamlWriter *w) {
        yaml_writer_array_begin(w);
        yaml_writer_object_end(w);
}

static void write_unclosed(YamlWriter *w) {
        yaml_writer_object_begin(w);
        yaml_writer_key(w, "k");
}

static void write_two_values(YamlWriter *w) {
        yaml_writer_string(w, "a");
        yaml_writer_string(w, "b");
}

static void test_misuse(void **state) {
        free(run(write_key_at_top, -EINVAL));
        free(run(write_value_without_key, -EINVAL));
        free(run(write_unbalanced, -EINVAL));
        free(run(write_unclosed, -EINVAL));
        free(run(write_two_values, -EINVAL));
}

static const char *const strings[] = {
        "event-bus",
        "/usr/libexec/unified/unified-agent",
        "--role",
        "-",
        "yes",
        "No",
        "ON",
        "off",
        "y",
        "n",
        "true",
        "False",
        "null",
        "~",
        "",
        "1",
        "0x10",
        "1e3",
        "1_000",
        "12:30",
        ".inf",
        ".NaN",
        "2Gi",
        "400m",
        "a b",
        "a: b",
        "a #b",
        "#c",
        "&x",
        "*x",
        "!x",
        "|",
        ">",
        "%x",
        "@x",
        "`x",
        "[a]",
        "{a}",
        "'q'",
        "\"q\"",
        "tab\there",
        "new\nline",
        "back\\slash",
        "ctl\x01\x7f",
        "é ü 😀",
        "Core agents: coordination, models",
        "kubernetes.io/description",
        "limits.memory",
        "unified/agent",
        "Yes_please",
        "_x",
};

static const char *current;

static void write_string_in_map(YamlWriter *w) {
        yaml_writer_object_begin(w);
        yaml_writer_key(w, current);
        yaml_writer_string(w, current);
        yaml_writer_object_end(w);
}

/* The scalars of "doc" in order, with whether each was plain. */
static size_t parse_scalars(const char *doc, char **ret_values, bool *ret_plain, size_t max) {
        yaml_parser_t parser;
        yaml_event_t event;
        size_t n = 0;
        bool done = false;

        assert_true(yaml_parser_initialize(&parser));
        yaml_parser_set_input_string(&parser, (const unsigned char *) doc, strlen(doc));
        while (!done) {
                assert_true(yaml_parser_parse(&parser, &event));
                if (event.type == YAML_SCALAR_EVENT) {
                        assert_true(n < max);
                        ret_values[n] =
                                strndup((const char *) event.data.scalar.value, event.data.scalar.length);
                        ret_plain[n] = event.data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
                        n++;
                }
                done = event.type == YAML_STREAM_END_EVENT;
                yaml_event_delete(&event);
        }
        yaml_parser_delete(&parser);
        return n;
}

static void test_strings_read_back(void **state) {
        for (size_t i = 0; i < ELEMENTSOF(strings); i++) {
                _cleanup_free_ char *out = NULL;
                char *values[2];
                bool plain[2];

                current = strings[i];
                out = run(write_string_in_map, 0);
                assert_int_equal(parse_scalars(out, values, plain, 2), 2);
                for (size_t j = 0; j < 2; j++) {
                        assert_string_equal(values[j], strings[i]);
                        assert_int_equal(plain[j], yaml_string_is_plain(strings[i]));
                        free(values[j]);
                }
        }
}

static void test_plain(void **state) {
        static const char *const plain[] = {
                "event-bus", "/usr/bin/x", "Deployment", "limits.memory", "a_b"
        };
        static const char *const quoted[] = {
                "yes",  "NO", "On", "null", "Null", "~",   "",    "1",
                "400m", "-x", ".5", "a b",  "a:b",  "a#b", "x,y",
        };

        for (size_t i = 0; i < ELEMENTSOF(plain); i++)
                assert_true(yaml_string_is_plain(plain[i]));
        for (size_t i = 0; i < ELEMENTSOF(quoted); i++)
                assert_false(yaml_string_is_plain(quoted[i]));
        assert_false(yaml_string_is_plain(NULL));
}

static void write_invalid_utf8(YamlWriter *w) {
        yaml_writer_string(
                w,
                "a\xff\xc0\x80"
                "b");
}

static void test_invalid_utf8(void **state) {
        _cleanup_free_ char *out = run(write_invalid_utf8, 0);
        char *values[1];
        bool plain[1];

        assert_string_equal(out, "\"a\\ufffd\\ufffd\\ufffdb\"\n");
        assert_int_equal(parse_scalars(out, values, plain, 1), 1);
        assert_string_equal(
                values[0],
                "a\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"
                "b");
        free(values[0]);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_layout),       cmocka_unit_test(test_misuse),
                cmocka_unit_test(test_plain),        cmocka_unit_test(test_strings_read_back),
                cmocka_unit_test(test_invalid_utf8),
        };

        cmocka_set_message_output(CM_OUTPUT_TAP);
        return cmocka_run_group_tests(tests, NULL, NULL);
}
