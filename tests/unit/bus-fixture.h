/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A private dbus-daemon for tests: the real bus daemon with the limits the tests choose, in a
 * temporary directory, reachable by any local user (so that a test can call in as an unprivileged
 * user), stopped and removed by test_bus_stop(). */

#include <stdbool.h>
#include <sys/types.h>

#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

typedef struct TestBus {
        char dir[64];
        pid_t pid;
        char address[256];
} TestBus;

/* The dbus-daemon binary, NULL if it is not installed (the test then skips). */
const char *test_bus_daemon(void);

/* Starts the daemon with max_replies_per_connection = "max_replies" (0: dbus-daemon's default). */
void test_bus_start(TestBus *b, unsigned max_replies);
void test_bus_stop(TestBus *b);

/* A connection to the bus, attached to "e" (may be NULL). */
sd_bus *test_bus_connect(const TestBus *b, sd_event *e);

/* Prints the TAP plan for a skipped test program and returns true if dbus-daemon is missing. */
bool test_bus_skip_if_missing(void);
