/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Parsing and formatting of the value forms systemd accepts: sizes ("512M", "1.5G", "infinity"),
 * percentages ("70%", "12.5%") and time spans ("100ms", "1min 30s", "2h"). */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "time-util.h"

/* Sizes use IEC base 1024 like systemd: "K" = 1024, "G" = 1024^3. "Ki"/"KiB"/"KB" are accepted as
 * the same unit, "B" or no suffix means bytes, "1.5G" is allowed. "infinity" gives UINT64_MAX.
 * -EINVAL for anything else, -ERANGE if it does not fit in 64 bits. */
int parse_size(const char *s, uint64_t *ret);

/* "70%" -> 7000, "12.5%" -> 1250, "12.34%" -> 1234 (permyriad, at most two decimals). The '%' is
 * required. No upper bound: callers check the range that makes sense for them (200% of one CPU is
 * a valid CPUQuota=). */
int parse_permyriad(const char *s, uint64_t *ret);

/* systemd time spans: one or more "<number><unit>" separated by optional spaces, units us, ms, s,
 * min, h, d, w, M (month), y and their long forms; a bare number means seconds; fractions ("1.5s")
 * are allowed; "infinity" gives USEC_INFINITY. */
int parse_sec(const char *s, usec_t *ret);

/* Non-negative decimal integer without sign, spaces or trailing garbage. */
int safe_atou64(const char *s, uint64_t *ret);

/* Shortest exact form that parse_size() reads back: "2G", "1.5G", "1000M", "1234B", "infinity". */
#define FORMAT_BYTES_MAX 32
char *format_bytes(char *buf, size_t l, uint64_t bytes);

/* "1min 30s", "100ms", "2h", "0", "infinity"; exact down to the microsecond, parse_sec() reads it
 * back to the same value. */
#define FORMAT_TIMESPAN_MAX 96
char *format_timespan(char *buf, size_t l, usec_t t);

/* "70%", "12.5%", "12.34%". */
#define FORMAT_PERMYRIAD_MAX 32
char *format_permyriad(char *buf, size_t l, uint64_t permyriad);
