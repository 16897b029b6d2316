/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* unifiedctl's bus-free decisions (see ctl-util.h). */

#include <errno.h>
#include <inttypes.h>
#include <langinfo.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "ctl-util.h"
#include "macro.h"

bool ctl_bus_error_is_not_running(const char *name, int error) {
        if (name)
                return streq(name, "org.freedesktop.DBus.Error.ServiceUnknown") ||
                       streq(name, "org.freedesktop.DBus.Error.NameHasNoOwner") ||
                       streq(name, "org.freedesktop.DBus.Error.Spawn.ChildExited") ||
                       streq(name, "org.freedesktop.DBus.Error.Spawn.Failed") ||
                       streq(name, "org.freedesktop.systemd1.NoSuchUnit");

        /* No bus at all, or the connection (local socket or ssh) could not be made. */
        return error == -ENOENT || error == -ECONNREFUSED || error == -ECONNRESET || error == -ENOTCONN ||
               error == -EHOSTDOWN || error == -EHOSTUNREACH || error == -ENETUNREACH || error == -EPIPE;
}

CtlExit ctl_exit_from_bus_error(const char *name, int error, bool status_like) {
        if (name) {
                if (streq(name, "org.unified1.Error.NoSuchProfile") ||
                    streq(name, "org.unified1.Error.NoSuchAgent"))
                        return CTL_EXIT_NOT_FOUND;
                if (streq(name, "org.unified1.Error.InvalidProfile"))
                        return CTL_EXIT_INVALID;
                if (streq(name, "org.unified1.Error.NoActiveProfile"))
                        return status_like ? CTL_EXIT_NOT_RUNNING : CTL_EXIT_FAILURE;
        }
        if (status_like && ctl_bus_error_is_not_running(name, error))
                return CTL_EXIT_NOT_RUNNING;
        return CTL_EXIT_FAILURE;
}

bool ctl_serial_before(uint64_t a, uint64_t b) {
        return (int32_t) (uint32_t) (a - b) < 0;
}

WaitOutcome ctl_wait_evaluate(WaitGoal goal, const char *profile, const char *active, const char *state) {
        bool ours;

        if (!state)
                return WAIT_PENDING;

        if (goal == WAIT_GOAL_STOP) {
                if (streq(state, "inactive"))
                        return WAIT_DONE;
                /* Only "inactive" ends a stop: a profile that was "failed" when the stop was asked for
                 * goes through "stopping" like any other. */
                ours = isempty(profile) || streq_ptr(profile, active);
                if (!ours && !streq(state, "stopping"))
                        return WAIT_DONE; /* another profile is active: ours is not running */
                return WAIT_PENDING;
        }

        if (streq(state, "starting") || streq(state, "stopping"))
                return WAIT_PENDING;
        if (!streq_ptr(profile, active))
                return WAIT_REPLACED;
        if (streq(state, "running"))
                return WAIT_DONE;
        if (streq(state, "degraded"))
                return WAIT_DEGRADED;
        if (streq(state, "failed"))
                return WAIT_FAILED;
        /* "inactive" with our name, or a state this version does not know. */
        return WAIT_REPLACED;
}

char *ctl_format_health(char *buf, size_t l, double health) {
        if (!(health >= 0.0 && health <= 1.0)) /* also catches NaN */
                snprintf(buf, l, "-");
        else
                snprintf(buf, l, "%.2f", health);
        return buf;
}

char *ctl_format_bytes(char *buf, size_t l, uint64_t bytes) {
        static const char suffix[] = "KMGTPE";
        uint64_t unit = 1024;
        size_t i = 0;

        if (bytes == UINT64_MAX)
                snprintf(buf, l, "-");
        else if (bytes < 1024)
                snprintf(buf, l, "%" PRIu64 "B", bytes);
        else {
                while (i + 1 < sizeof(suffix) - 1 && bytes / unit >= 1024) {
                        unit *= 1024;
                        i++;
                }
                if (bytes % unit == 0)
                        snprintf(buf, l, "%" PRIu64 "%c", bytes / unit, suffix[i]);
                else
                        snprintf(buf, l, "%.1f%c", (double) bytes / (double) unit, suffix[i]);
        }
        return buf;
}

bool ctl_argument_is_file(const char *arg) {
        size_t n = strlen(arg);

        return strchr(arg, '/') || (n > 5 && streq(arg + n - 5, ".yaml"));
}

const char *ctl_argv_verb(int argc, char *argv[]) {
        for (int i = 1; i < argc; i++) {
                const char *a = argv[i];

                if (streq(a, "--"))
                        return i + 1 < argc ? argv[i + 1] : NULL;
                if (a[0] != '-' || a[1] == '\0')
                        return a;
                /* unifiedctl's options that take their value as the next argument. */
                if (streq(a, "-H") || streq(a, "--host") || streq(a, "--timeout") || streq(a, "--root"))
                        i++;
        }
        return NULL;
}

int ctl_json_from_string(const char *arg) {
        if (!arg || streq(arg, "pretty"))
                return CTL_JSON_PRETTY;
        if (streq(arg, "short"))
                return CTL_JSON_SHORT;
        if (streq(arg, "off"))
                return CTL_JSON_OFF;
        return -EINVAL;
}

size_t ctl_columns_pick(const char *env, unsigned tty_columns) {
        if (!isempty(env)) {
                char *end;
                unsigned long v;

                errno = 0;
                v = strtoul(env, &end, 10);
                if (errno == 0 && *end == '\0' && env[0] != '-' && v > 0 && v <= 65535)
                        return (size_t) v;
        }
        return tty_columns > 0 ? tty_columns : SIZE_MAX;
}

size_t ctl_output_columns(void) {
        struct winsize ws = {};

        if (isatty(STDOUT_FILENO))
                (void) ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws);
        return ctl_columns_pick(getenv("COLUMNS"), ws.ws_col);
}

const char *ctl_output_ellipsis(void) {
        return streq(nl_langinfo(CODESET), "UTF-8") ? "…" : "...";
}

const char *ctl_metrics_problem(const char *socket_state, const char *socket_result, const char *service_state) {
        if (streq_ptr(socket_state, "failed")) {
                /* systemd's SOCKET_FAILURE_RESOURCES: socket(), bind() or listen() failed, most often
                 * EADDRINUSE because another program holds the port. */
                if (streq_ptr(socket_result, "resources"))
                        return "could not listen (the address is in use by another program, or not available)";
                /* The exporter failed on every connection until systemd gave up on both. */
                if (streq_ptr(socket_result, "service-start-limit-hit") || streq_ptr(socket_result, "trigger-limit-hit"))
                        return "stopped after " CTL_METRICS_SERVICE " failed to start too often";
                return "failed";
        }
        /* The socket still listens and starts the exporter again on the next scrape, which may fail the
         * same way: Prometheus sees the target down. */
        if (streq_ptr(socket_state, "active") && streq_ptr(service_state, "failed"))
                return CTL_METRICS_SERVICE " failed on its last start";
        return NULL;
}
