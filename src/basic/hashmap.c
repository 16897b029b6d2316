/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hashmap.h"

#define HASHMAP_MIN_BUCKETS 16u

typedef struct Entry {
        const char *key;        /* NULL: the bucket is free */
        void *value;
} Entry;

struct Hashmap {
        Entry *buckets;
        size_t n_buckets;       /* a power of two, or 0 before the first put */
        size_t n_entries;       /* at most 3/4 of n_buckets */
};

/* FNV-1a. The keys are agent names from profiles only root can install: no need for a keyed hash
 * against collision flooding. */
static uint64_t string_hash(const char *s) {
        uint64_t h = UINT64_C(0xcbf29ce484222325);

        for (; *s; s++) {
                h ^= (unsigned char) *s;
                h *= UINT64_C(0x100000001b3);
        }
        return h;
}

Hashmap *hashmap_new(void) {
        return calloc(1, sizeof(Hashmap));
}

Hashmap *hashmap_free(Hashmap *h) {
        if (!h)
                return NULL;
        free(h->buckets);
        return mfree(h);
}

/* The bucket that holds "key", or the free one where it would go. */
static size_t find_bucket(const Hashmap *h, const char *key) {
        size_t mask = h->n_buckets - 1;

        for (size_t i = string_hash(key) & mask;; i = (i + 1) & mask)
                if (!h->buckets[i].key || streq(h->buckets[i].key, key))
                        return i;
}

static int resize(Hashmap *h, size_t n_buckets) {
        Entry *old = h->buckets;
        size_t n_old = h->n_buckets;

        h->buckets = calloc(n_buckets, sizeof(Entry));
        if (!h->buckets) {
                h->buckets = old;
                return -ENOMEM;
        }
        h->n_buckets = n_buckets;
        for (size_t i = 0; i < n_old; i++)
                if (old[i].key)
                        h->buckets[find_bucket(h, old[i].key)] = old[i];
        free(old);
        return 0;
}

int hashmap_put(Hashmap *h, const char *key, void *value) {
        size_t i;
        int r;

        assert(h);
        assert(key);

        if (h->n_buckets > 0) {
                i = find_bucket(h, key);
                if (h->buckets[i].key)
                        return h->buckets[i].value == value ? 0 : -EEXIST;
        }
        if ((h->n_entries + 1) * 4 > h->n_buckets * 3) {
                r = resize(h, h->n_buckets > 0 ? h->n_buckets * 2 : HASHMAP_MIN_BUCKETS);
                if (r < 0)
                        return r;
        }
        i = find_bucket(h, key);
        h->buckets[i] = (Entry) { .key = key, .value = value };
        h->n_entries++;
        return 1;
}

void *hashmap_get(const Hashmap *h, const char *key) {
        size_t i;

        if (!h || !key || h->n_entries == 0)
                return NULL;
        i = find_bucket(h, key);
        return h->buckets[i].key ? h->buckets[i].value : NULL;
}

void *hashmap_remove(Hashmap *h, const char *key) {
        size_t mask, i, j;
        void *value;

        if (!h || !key || h->n_entries == 0)
                return NULL;
        mask = h->n_buckets - 1;
        i = find_bucket(h, key);
        if (!h->buckets[i].key)
                return NULL;
        value = h->buckets[i].value;

        /* Backward shift: move up each following entry whose probe sequence passes through the hole,
         * so that no lookup stops early at it. */
        for (j = (i + 1) & mask; h->buckets[j].key; j = (j + 1) & mask) {
                size_t home = string_hash(h->buckets[j].key) & mask;

                /* The entry at j may move to i unless its home lies cyclically in (i, j]. */
                if (i <= j ? (home > i && home <= j) : (home > i || home <= j))
                        continue;
                h->buckets[i] = h->buckets[j];
                i = j;
        }
        h->buckets[i] = (Entry) {};
        h->n_entries--;
        return value;
}

void hashmap_clear(Hashmap *h) {
        if (!h || h->n_buckets == 0)
                return;
        memset(h->buckets, 0, h->n_buckets * sizeof(Entry));
        h->n_entries = 0;
}

size_t hashmap_size(const Hashmap *h) {
        return h ? h->n_entries : 0;
}
