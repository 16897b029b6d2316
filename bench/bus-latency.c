/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* bus-latency [N]: N calls of Properties.Get(org.unified1.Manager, State) on the system bus, one after
 * the other; prints the count, min, median, p90, p99 and max of their round trips in µs. The
 * benchmark's probe of how long unifiedd takes to answer while something else keeps it busy
 * (bench/metrics-split). */

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <systemd/sd-bus.h>

static long long now_us(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}

static int cmp(const void *a, const void *b) {
        long long x = *(const long long *) a, y = *(const long long *) b;
        return x < y ? -1 : x > y;
}

int main(int argc, char *argv[]) {
        sd_bus *bus = NULL;
        long long *t;
        int n = argc > 1 ? atoi(argv[1]) : 200, r;

        if (n <= 0 || n > 1000000) {
                fprintf(stderr, "bus-latency: invalid count '%s'\n", argv[1]);
                return 2;
        }
        t = calloc(n, sizeof(long long));
        r = sd_bus_open_system(&bus);
        if (!t || r < 0) {
                fprintf(stderr, "bus-latency: cannot connect to the system bus\n");
                return 1;
        }
        for (int i = 0; i < n; i++) {
                sd_bus_error error = SD_BUS_ERROR_NULL;
                char *s = NULL;
                long long t0 = now_us();

                r = sd_bus_get_property_string(bus, "org.unified1", "/org/unified1", "org.unified1.Manager",
                                               "State", &error, &s);
                t[i] = now_us() - t0;
                if (r < 0) {
                        fprintf(stderr, "bus-latency: Get(State) failed: %s\n", error.message ?: "?");
                        return 1;
                }
                free(s);
                sd_bus_error_free(&error);
        }
        qsort(t, n, sizeof(long long), cmp);
        printf("calls %d min_us %lld median_us %lld p90_us %lld p99_us %lld max_us %lld\n", n, t[0], t[n / 2],
               t[n * 9 / 10], t[n * 99 / 100], t[n - 1]);
        sd_bus_flush_close_unref(bus);
        free(t);
        return 0;
}
