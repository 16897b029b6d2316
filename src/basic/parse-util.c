/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Parsing and formatting of the value forms systemd accepts: sizes, percentages and time spans. */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "macro.h"
#include "parse-util.h"

static bool is_digit(char c) {
        return c >= '0' && c <= '9';
}

static bool is_space(char c) {
        return c == ' ' || c == '\t';
}

static const char *skip_space(const char *p) {
        while (is_space(*p))
                p++;
        return p;
}

int safe_atou64(const char *s, uint64_t *ret) {
        uint64_t v = 0;

        if (!s || !is_digit(*s))
                return -EINVAL;
        for (; is_digit(*s); s++) {
                unsigned d = (unsigned) (*s - '0');

                if (v > (UINT64_MAX - d) / 10)
                        return -ERANGE;
                v = v * 10 + d;
        }
        if (*s != '\0')
                return -EINVAL;
        *ret = v;
        return 0;
}

/* A decimal number with an optional fraction: "12", "1.5", ".5" is refused (systemd refuses it too).
 * The fraction is kept as up to 9 digits scaled to 10^9; further digits are checked and dropped. */
typedef struct Decimal {
        uint64_t integer;
        uint64_t fraction;      /* in units of 1e-9 */
} Decimal;

static int parse_decimal(const char **p, Decimal *ret) {
        const char *s = *p;
        Decimal d = {};

        if (!is_digit(*s))
                return -EINVAL;
        for (; is_digit(*s); s++) {
                unsigned v = (unsigned) (*s - '0');

                if (d.integer > (UINT64_MAX - v) / 10)
                        return -ERANGE;
                d.integer = d.integer * 10 + v;
        }
        if (*s == '.') {
                uint64_t scale = 100000000;

                s++;
                if (!is_digit(*s))
                        return -EINVAL;
                for (; is_digit(*s); s++) {
                        d.fraction += (uint64_t) (*s - '0') * scale;
                        scale /= 10;
                }
        }
        *p = s;
        *ret = d;
        return 0;
}

/* d * unit, refusing overflow; the fraction part is truncated to the unit's resolution. */
static int decimal_scale(const Decimal *d, uint64_t unit, uint64_t *ret) {
        uint64_t a, b;

        if (unit != 0 && d->integer > UINT64_MAX / unit)
                return -ERANGE;
        a = d->integer * unit;
        /* fraction (< 1e9) * unit may overflow for large units: split the unit. */
        b = (unit / 1000000000) * d->fraction + (unit % 1000000000) * d->fraction / 1000000000;
        if (a > UINT64_MAX - b)
                return -ERANGE;
        *ret = a + b;
        return 0;
}

int parse_size(const char *s, uint64_t *ret) {
        static const struct {
                char suffix;
                uint64_t factor;
        } table[] = {
                { 'K', UINT64_C(1) << 10 },
                { 'M', UINT64_C(1) << 20 },
                { 'G', UINT64_C(1) << 30 },
                { 'T', UINT64_C(1) << 40 },
                { 'P', UINT64_C(1) << 50 },
                { 'E', UINT64_C(1) << 60 },
        };
        uint64_t factor = 1, v;
        Decimal d;
        int r;

        if (!s)
                return -EINVAL;
        s = skip_space(s);
        if (streq(s, "infinity")) {
                *ret = UINT64_MAX;
                return 0;
        }

        r = parse_decimal(&s, &d);
        if (r < 0)
                return r;
        s = skip_space(s);

        if (*s != '\0' && *s != 'B') {
                bool found = false;

                for (size_t i = 0; i < ELEMENTSOF(table); i++)
                        if (*s == table[i].suffix) {
                                factor = table[i].factor;
                                found = true;
                                break;
                        }
                if (!found)
                        return -EINVAL;
                s++;
                if (*s == 'i')
                        s++;
        }
        if (*s == 'B')
                s++;
        s = skip_space(s);
        if (*s != '\0')
                return -EINVAL;
        /* "1.5" bytes makes no sense. */
        if (factor == 1 && d.fraction != 0)
                return -EINVAL;

        r = decimal_scale(&d, factor, &v);
        if (r < 0)
                return r;
        *ret = v;
        return 0;
}

int parse_permyriad(const char *s, uint64_t *ret) {
        uint64_t v;
        Decimal d;
        int r;

        if (!s)
                return -EINVAL;
        s = skip_space(s);
        r = parse_decimal(&s, &d);
        if (r < 0)
                return r;
        s = skip_space(s);
        if (*s != '%')
                return -EINVAL;
        s = skip_space(s + 1);
        if (*s != '\0')
                return -EINVAL;
        /* Refuse precision we would silently drop. */
        if (d.fraction % 10000000 != 0)
                return -EINVAL;

        r = decimal_scale(&d, 100, &v);
        if (r < 0)
                return r;
        *ret = v;
        return 0;
}

static const struct {
        const char *suffix;
        usec_t usec;
} time_units[] = {
        /* Longest spellings first so that "min" is not read as "m" + garbage, "ms" not as "m". */
        { "seconds", USEC_PER_SEC },
        { "second", USEC_PER_SEC },
        { "sec", USEC_PER_SEC },
        { "s", USEC_PER_SEC },
        { "minutes", USEC_PER_MINUTE },
        { "minute", USEC_PER_MINUTE },
        { "min", USEC_PER_MINUTE },
        { "months", 2629800 * USEC_PER_SEC },
        { "month", 2629800 * USEC_PER_SEC },
        { "M", 2629800 * USEC_PER_SEC },
        { "msec", USEC_PER_MSEC },
        { "ms", USEC_PER_MSEC },
        { "m", USEC_PER_MINUTE },
        { "hours", USEC_PER_HOUR },
        { "hour", USEC_PER_HOUR },
        { "hr", USEC_PER_HOUR },
        { "h", USEC_PER_HOUR },
        { "days", USEC_PER_DAY },
        { "day", USEC_PER_DAY },
        { "d", USEC_PER_DAY },
        { "weeks", 7 * USEC_PER_DAY },
        { "week", 7 * USEC_PER_DAY },
        { "w", 7 * USEC_PER_DAY },
        { "years", 31557600 * USEC_PER_SEC },
        { "year", 31557600 * USEC_PER_SEC },
        { "y", 31557600 * USEC_PER_SEC },
        { "usec", 1 },
        { "us", 1 },
        { "\xc2\xb5s", 1 }, /* µs */
};

int parse_sec(const char *s, usec_t *ret) {
        usec_t total = 0;
        bool any = false;

        if (!s)
                return -EINVAL;
        s = skip_space(s);
        if (streq(s, "infinity")) {
                *ret = USEC_INFINITY;
                return 0;
        }

        for (;;) {
                usec_t unit = USEC_PER_SEC, v;
                Decimal d;
                int r;

                s = skip_space(s);
                if (*s == '\0')
                        break;

                r = parse_decimal(&s, &d);
                if (r < 0)
                        return r;
                s = skip_space(s);

                if (*s != '\0' && !is_digit(*s)) {
                        bool found = false;

                        for (size_t i = 0; i < ELEMENTSOF(time_units); i++) {
                                size_t n = strlen(time_units[i].suffix);

                                /* The unit must end here: "5sx" is not "5s" + "x". */
                                if (strneq(s, time_units[i].suffix, n) &&
                                    (s[n] == '\0' || is_space(s[n]) || is_digit(s[n]))) {
                                        unit = time_units[i].usec;
                                        s += n;
                                        found = true;
                                        break;
                                }
                        }
                        if (!found)
                                return -EINVAL;
                } else if (any || *s != '\0')
                        /* A bare number is only allowed alone: "1min 30" is ambiguous. */
                        return -EINVAL;

                r = decimal_scale(&d, unit, &v);
                if (r < 0)
                        return r;
                if (v >= USEC_INFINITY || total >= USEC_INFINITY - v)
                        return -ERANGE;
                total += v;
                any = true;
        }

        if (!any)
                return -EINVAL;
        *ret = total;
        return 0;
}

char *format_bytes(char *buf, size_t l, uint64_t bytes) {
        static const char suffixes[] = "EPTGMK";

        if (bytes == UINT64_MAX) {
                snprintf(buf, l, "infinity");
                return buf;
        }
        for (size_t i = 0; i < sizeof(suffixes) - 1; i++) {
                uint64_t factor = UINT64_C(1) << (10 * (6 - i));

                if (bytes < factor)
                        continue;
                if (bytes % factor == 0) {
                        snprintf(buf, l, "%" PRIu64 "%c", bytes / factor, suffixes[i]);
                        return buf;
                }
                /* One decimal only if it is exact, so that the output parses back to the same value. */
                if ((bytes % factor) * 10 % factor == 0) {
                        snprintf(buf, l, "%" PRIu64 ".%" PRIu64 "%c", bytes / factor,
                                 (bytes % factor) * 10 / factor, suffixes[i]);
                        return buf;
                }
        }
        snprintf(buf, l, "%" PRIu64 "B", bytes);
        return buf;
}

char *format_timespan(char *buf, size_t l, usec_t t) {
        static const struct {
                const char *suffix;
                usec_t usec;
        } table[] = {
                { "y", 31557600 * USEC_PER_SEC },
                { "month", 2629800 * USEC_PER_SEC },
                { "w", 7 * USEC_PER_DAY },
                { "d", USEC_PER_DAY },
                { "h", USEC_PER_HOUR },
                { "min", USEC_PER_MINUTE },
                { "s", USEC_PER_SEC },
                { "ms", USEC_PER_MSEC },
                { "us", 1 },
        };
        size_t n = 0;

        if (l == 0)
                return buf;
        buf[0] = '\0';
        if (t == USEC_INFINITY) {
                snprintf(buf, l, "infinity");
                return buf;
        }
        if (t == 0) {
                snprintf(buf, l, "0");
                return buf;
        }

        for (size_t i = 0; i < ELEMENTSOF(table) && t > 0; i++) {
                usec_t a = t / table[i].usec;
                int k;

                if (a == 0)
                        continue;
                k = snprintf(buf + n, l - n, "%s%" PRIu64 "%s", n > 0 ? " " : "", a, table[i].suffix);
                if (k < 0 || (size_t) k >= l - n)
                        break;
                n += (size_t) k;
                t -= a * table[i].usec;
        }
        return buf;
}

char *format_permyriad(char *buf, size_t l, uint64_t p) {
        if (p % 100 == 0)
                snprintf(buf, l, "%" PRIu64 "%%", p / 100);
        else if (p % 10 == 0)
                snprintf(buf, l, "%" PRIu64 ".%" PRIu64 "%%", p / 100, (p % 100) / 10);
        else
                snprintf(buf, l, "%" PRIu64 ".%02" PRIu64 "%%", p / 100, p % 100);
        return buf;
}
