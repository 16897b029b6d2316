/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Tests for the JSON emitter: escaping, nesting, commas, pretty printing and misuse detection. */

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "json-writer.h"

typedef void (*WriteFunc)(JsonWriter *w);

/* Runs "write" into a memory stream and checks the document and the status json_writer_finish()
 * returned. */
static void check(WriteFunc write, JsonWriterFlags flags, const char *expected, int expected_r) {
        char *buf = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&buf, &size);
        JsonWriter w;

        assert_non_null(f);
        json_writer_init(&w, f, flags);
        write(&w);
        assert_int_equal(json_writer_finish(&w), expected_r);
        assert_int_equal(fclose(f), 0);
        if (expected)
                assert_string_equal(buf, expected);
        free(buf);
}

static void write_scalars(JsonWriter *w) {
        json_writer_array_begin(w);
        json_writer_string(w, "a");
        json_writer_unsigned(w, UINT64_MAX);
        json_writer_integer(w, -42);
        json_writer_real(w, 0.95);
        json_writer_real(w, NAN);
        json_writer_boolean(w, true);
        json_writer_boolean(w, false);
        json_writer_null(w);
        json_writer_string(w, NULL);
        json_writer_array_end(w);
}

static void write_escapes(JsonWriter *w) {
        json_writer_string(w, "q\"b\\n\nt\tc\x01\x7f é \xff\xc0\x80 \xed\xa0\x80 😀");
}

static void write_nested(JsonWriter *w) {
        char *l[] = { (char *) "x", (char *) "y", NULL };

        json_writer_object_begin(w);
        json_writer_key(w, "name");
        json_writer_string(w, "core");
        json_writer_key(w, "agents");
        json_writer_array_begin(w);
        json_writer_object_begin(w);
        json_writer_key(w, "requires");
        json_writer_strv(w, l);
        json_writer_key(w, "empty");
        json_writer_strv(w, NULL);
        json_writer_object_end(w);
        json_writer_array_end(w);
        json_writer_key(w, "o");
        json_writer_object_begin(w);
        json_writer_object_end(w);
        json_writer_object_end(w);
}

static void write_unclosed(JsonWriter *w) {
        json_writer_object_begin(w);
        json_writer_key(w, "a");
}

static void write_value_without_key(JsonWriter *w) {
        json_writer_object_begin(w);
        json_writer_string(w, "a");
        json_writer_object_end(w);
}

static void write_key_in_array(JsonWriter *w) {
        json_writer_array_begin(w);
        json_writer_key(w, "a");
        json_writer_unsigned(w, 1);
        json_writer_array_end(w);
}

static void write_mismatched(JsonWriter *w) {
        json_writer_array_begin(w);
        json_writer_object_end(w);
}

static void write_two_documents(JsonWriter *w) {
        json_writer_unsigned(w, 1);
        json_writer_unsigned(w, 2);
}

static void write_too_deep(JsonWriter *w) {
        for (unsigned i = 0; i <= JSON_WRITER_DEPTH_MAX; i++)
                json_writer_array_begin(w);
        for (unsigned i = 0; i <= JSON_WRITER_DEPTH_MAX; i++)
                json_writer_array_end(w);
}

static const struct {
        const char *name;
        WriteFunc write;
        JsonWriterFlags flags;
        const char *expected;
        int r;
} cases[] = {
        { "scalars", write_scalars, 0, "[\"a\",18446744073709551615,-42,0.95,null,true,false,null,null]\n", 0 },
        { "escapes", write_escapes, 0,
          "\"q\\\"b\\\\n\\nt\\tc\\u0001\\u007f é \\ufffd\\ufffd\\ufffd \\ufffd\\ufffd\\ufffd 😀\"\n", 0 },
        { "nested", write_nested, 0,
          "{\"name\":\"core\",\"agents\":[{\"requires\":[\"x\",\"y\"],\"empty\":[]}],\"o\":{}}\n", 0 },
        { "pretty", write_nested, JSON_WRITER_PRETTY,
          "{\n"
          "  \"name\": \"core\",\n"
          "  \"agents\": [\n"
          "    {\n"
          "      \"requires\": [\n"
          "        \"x\",\n"
          "        \"y\"\n"
          "      ],\n"
          "      \"empty\": []\n"
          "    }\n"
          "  ],\n"
          "  \"o\": {}\n"
          "}\n", 0 },
        { "unclosed", write_unclosed, 0, NULL, -EINVAL },
        { "value without key", write_value_without_key, 0, NULL, -EINVAL },
        { "key in array", write_key_in_array, 0, NULL, -EINVAL },
        { "mismatched", write_mismatched, 0, NULL, -EINVAL },
        { "two documents", write_two_documents, 0, NULL, -EINVAL },
        { "too deep", write_too_deep, 0, NULL, -EINVAL },
};

static void test_cases(void **state) {
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                print_message("case: %s\n", cases[i].name);
                check(cases[i].write, cases[i].flags, cases[i].expected, cases[i].r);
        }
}

static void test_write_error(void **state) {
        FILE *f = fopen("/dev/full", "we");
        JsonWriter w;

        if (!f)
                skip();
        json_writer_init(&w, f, 0);
        json_writer_string(&w, "lost");
        assert_int_equal(json_writer_finish(&w), -EIO);
        fclose(f);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_cases),
                cmocka_unit_test(test_write_error),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
