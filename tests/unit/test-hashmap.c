/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Tests for the string hashmap: the basic contract, then many keys put and removed in a random
 * order against a plain array, which exercises growth and the backward shift on removal. */

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "hashmap.h"
#include "macro.h"

static void test_contract(void **state) {
        _cleanup_(hashmap_freep) Hashmap *h = hashmap_new();
        int a = 1, b = 2;

        assert_non_null(h);
        assert_null(hashmap_get(h, "x"));
        assert_null(hashmap_remove(h, "x"));
        assert_null(hashmap_get(NULL, "x"));
        assert_int_equal(hashmap_size(NULL), 0);

        assert_int_equal(hashmap_put(h, "x", &a), 1);
        assert_int_equal(hashmap_put(h, "x", &a), 0);
        assert_int_equal(hashmap_put(h, "x", &b), -EEXIST);
        assert_ptr_equal(hashmap_get(h, "x"), &a);
        assert_null(hashmap_get(h, NULL));
        assert_int_equal(hashmap_size(h), 1);

        /* Keys are compared by content, not by pointer. */
        char other[] = "x";
        assert_ptr_equal(hashmap_get(h, other), &a);

        assert_ptr_equal(hashmap_remove(h, "x"), &a);
        assert_null(hashmap_get(h, "x"));
        assert_int_equal(hashmap_size(h), 0);

        assert_int_equal(hashmap_put(h, "y", &b), 1);
        hashmap_clear(h);
        assert_int_equal(hashmap_size(h), 0);
        assert_null(hashmap_get(h, "y"));
}

#define N_KEYS 2000

static void test_against_array(void **state) {
        _cleanup_(hashmap_freep) Hashmap *h = hashmap_new();
        static char keys[N_KEYS][16];
        static bool present[N_KEYS];
        size_t order[N_KEYS];

        assert_non_null(h);
        srand(42);
        for (size_t i = 0; i < N_KEYS; i++) {
                snprintf(keys[i], sizeof(keys[i]), "agent-%zu", i);
                order[i] = i;
        }
        for (size_t i = N_KEYS - 1; i > 0; i--) {
                size_t j = (size_t) rand() % (i + 1), t = order[i];
                order[i] = order[j];
                order[j] = t;
        }

        for (size_t i = 0; i < N_KEYS; i++) {
                assert_int_equal(hashmap_put(h, keys[order[i]], keys[order[i]]), 1);
                present[order[i]] = true;
        }
        assert_int_equal(hashmap_size(h), N_KEYS);

        /* Remove every other key in shuffled order, checking everything after each step of 100. */
        for (size_t i = 0; i < N_KEYS; i += 2) {
                size_t k = order[i];

                assert_ptr_equal(hashmap_remove(h, keys[k]), keys[k]);
                present[k] = false;
                if (i % 100 != 0)
                        continue;
                for (size_t j = 0; j < N_KEYS; j++)
                        assert_ptr_equal(hashmap_get(h, keys[j]), present[j] ? keys[j] : NULL);
        }
        assert_int_equal(hashmap_size(h), N_KEYS / 2);
        for (size_t j = 0; j < N_KEYS; j++)
                assert_ptr_equal(hashmap_get(h, keys[j]), present[j] ? keys[j] : NULL);

        /* Put back what was removed: the freed buckets are reused. */
        for (size_t j = 0; j < N_KEYS; j++)
                if (!present[j])
                        assert_int_equal(hashmap_put(h, keys[j], keys[j]), 1);
        for (size_t j = 0; j < N_KEYS; j++)
                assert_ptr_equal(hashmap_get(h, keys[j]), keys[j]);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_contract),
                cmocka_unit_test(test_against_array),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
