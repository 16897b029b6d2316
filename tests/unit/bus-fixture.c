/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The private dbus-daemon of the tests that need a bus (bus-fixture.h). */

#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "bus-fixture.h"
#include "macro.h"

const char *test_bus_daemon(void) {
        static const char *const paths[] = { "/usr/bin/dbus-daemon", "/bin/dbus-daemon" };

        for (size_t i = 0; i < ELEMENTSOF(paths); i++)
                if (access(paths[i], X_OK) == 0)
                        return paths[i];
        return NULL;
}

bool test_bus_skip_if_missing(void) {
        if (test_bus_daemon())
                return false;
        /* Skipped the TAP way: cmocka's "not ok # SKIP" counts as a failure for TAP consumers. */
        printf("1..0 # SKIP dbus-daemon is not installed\n");
        return true;
}

void test_bus_start(TestBus *b, unsigned max_replies) {
        char config[128], line[256], limit[96] = "";
        int fds[2];
        FILE *f;

        strcpy(b->dir, "/tmp/test-bus.XXXXXX");
        assert_non_null(mkdtemp(b->dir));
        /* Unprivileged callers connect too (polkit tests). */
        assert_int_equal(chmod(b->dir, 0755), 0);
        snprintf(config, sizeof(config), "%s/bus.conf", b->dir);
        if (max_replies > 0)
                snprintf(limit, sizeof(limit), "  <limit name=\"max_replies_per_connection\">%u</limit>\n",
                         max_replies);
        f = fopen(config, "we");
        assert_non_null(f);
        fprintf(f,
                "<!DOCTYPE busconfig PUBLIC \"-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN\"\n"
                " \"http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd\">\n"
                "<busconfig>\n"
                "  <type>session</type>\n"
                "  <listen>unix:dir=%s</listen>\n"
                "  <auth>EXTERNAL</auth>\n"
                "  <policy context=\"default\">\n"
                "    <allow user=\"*\"/>\n"
                "    <allow send_destination=\"*\" eavesdrop=\"true\"/>\n"
                "    <allow eavesdrop=\"true\"/>\n"
                "    <allow own=\"*\"/>\n"
                "  </policy>\n"
                "%s"
                "</busconfig>\n",
                b->dir, limit);
        assert_int_equal(fclose(f), 0);

        assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
        b->pid = fork();
        assert_true(b->pid >= 0);
        if (b->pid == 0) {
                char fd[16];
                int null;

                snprintf(fd, sizeof(fd), "%d", fds[1]);
                (void) fcntl(fds[1], F_SETFD, 0);
                /* Its complaints (limits reached, by design) would interleave with the TAP output. */
                null = open("/dev/null", O_WRONLY | O_CLOEXEC);
                if (null >= 0) {
                        (void) dup2(null, STDOUT_FILENO);
                        (void) dup2(null, STDERR_FILENO);
                }
                execl(test_bus_daemon(), "dbus-daemon", "--nofork", "--nopidfile", "--config-file", config,
                      "--print-address", fd, (char *) NULL);
                _exit(127);
        }
        close(fds[1]);
        f = fdopen(fds[0], "re");
        assert_non_null(f);
        assert_non_null(fgets(line, sizeof(line), f));
        fclose(f);
        line[strcspn(line, "\n")] = 0;
        assert_true(strlen(line) > 0 && strlen(line) < sizeof(b->address));
        strcpy(b->address, line);
}

void test_bus_stop(TestBus *b) {
        char cmd[128];

        if (b->pid <= 0)
                return;
        kill(b->pid, SIGTERM);
        (void) waitpid(b->pid, NULL, 0);
        b->pid = 0;
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", b->dir);
        assert_int_equal(system(cmd), 0);
}

sd_bus *test_bus_connect(const TestBus *b, sd_event *e) {
        sd_bus *bus = NULL;

        assert_true(sd_bus_new(&bus) >= 0);
        assert_true(sd_bus_set_address(bus, b->address) >= 0);
        assert_true(sd_bus_set_bus_client(bus, 1) >= 0);
        assert_true(sd_bus_start(bus) >= 0);
        if (e)
                assert_true(sd_bus_attach_event(bus, e, 0) >= 0);
        return bus;
}
