/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* unifiedd: the org.unified1 system service. Everything lives in the manager; this only starts it. */

#include <getopt.h>
#include <signal.h>
#include <stdio.h>

#include <systemd/sd-daemon.h>

#include "config.h"
#include "log.h"
#include "manager.h"

static void help(void) {
        printf("unifiedd [OPTIONS...]\n\n"
               "The unified daemon: turns profiles into transient systemd units. Runs as unified.service\n"
               "and is normally started by D-Bus activation of org.unified1.\n\n"
               "  -h --help        Show this help\n"
               "     --version     Show the version\n");
}

static int parse_argv(int argc, char *argv[]) {
        enum { ARG_VERSION = 0x100 };
        static const struct option options[] = {
                { "help",    no_argument, NULL, 'h' },
                { "version", no_argument, NULL, ARG_VERSION },
                {}
        };
        int c;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        help();
                        return 0;
                case ARG_VERSION:
                        printf("unifiedd %s\n", PROJECT_VERSION);
                        return 0;
                default:
                        return -EINVAL;
                }
        if (optind < argc) {
                log_error("This program takes no arguments.");
                return -EINVAL;
        }
        return 1;
}

static int on_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        (void) sd_notify(false, "STOPPING=1");
        return sd_event_exit(sd_event_source_get_event(s), 0);
}

int main(int argc, char *argv[]) {
        _cleanup_(manager_freep) Manager *m = NULL;
        sigset_t mask;
        int r;

        log_setup();
        r = parse_argv(argc, argv);
        if (r <= 0)
                return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;

        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0) {
                log_error_errno(-errno, "Failed to block signals: %m");
                return EXIT_FAILURE;
        }

        r = manager_new(&m);
        if (r < 0) {
                log_error_errno(r, "Failed to allocate the manager: %m");
                return EXIT_FAILURE;
        }
        r = sd_event_add_signal(m->event, NULL, SIGTERM, on_signal, NULL);
        if (r >= 0)
                r = sd_event_add_signal(m->event, NULL, SIGINT, on_signal, NULL);
        if (r < 0) {
                log_error_errno(r, "Failed to watch signals: %m");
                return EXIT_FAILURE;
        }

        r = manager_startup(m);
        if (r < 0)
                return EXIT_FAILURE;

        /* The name last: a call that activated us waits in the bus until every object is in place. */
        r = sd_bus_request_name(m->bus, UNIFIED_BUS_NAME, 0);
        if (r < 0) {
                log_error_errno(r, "Failed to acquire " UNIFIED_BUS_NAME ": %m");
                return EXIT_FAILURE;
        }

        (void) sd_notify(false, "READY=1\nSTATUS=Processing requests...");
        r = manager_run(m);
        if (r < 0) {
                log_error_errno(r, "Event loop failed: %m");
                return EXIT_FAILURE;
        }
        return EXIT_SUCCESS;
}
