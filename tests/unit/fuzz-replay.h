/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Replays a fuzzer's seed corpus through its target without libFuzzer, in the unit tests that link a
 * fuzz target (tests/fuzz/fuzz-*.c), so that every build, with any compiler, runs the hostile inputs
 * once. */

#include <stddef.h>

/* Feeds every file in "dir" (dot files aside) to LLVMFuzzerTestOneInput(), failing the cmocka test
 * if a file cannot be read or the target does not return 0. Returns how many files were fed. */
size_t fuzz_replay_dir(const char *dir);
