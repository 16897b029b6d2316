/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* unified-metricsd: the Prometheus endpoint of unified, outside the root daemon. Started by
 * unified-metrics.socket as an unprivileged, sandboxed service; each scrape reads unifiedd's objects
 * over D-Bus and the agents' cgroups from cgroupfs, and renders them (metrics-bus.h, metrics.h). */

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <systemd/sd-bus.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-event.h>

#include "config.h"
#include "daemon-config.h"
#include "log.h"
#include "metrics-bus.h"
#include "metrics-httpd.h"
#include "parse-util.h"
#include "socket-util.h"
#include "strv.h"
#include "textfile.h"

/* The socket unit's FileDescriptorName=. */
#define LISTEN_FD_NAME "metrics"
/* A scrape waits this long for unifiedd at most (Prometheus' default scrape timeout is 10 s). */
#define BUS_CALL_TIMEOUT_USEC (5 * USEC_PER_SEC)
/* A page is collected at most once per this, per format: Prometheus scrapes every 15 s or so, and
 * anything faster (two servers scraping together, a local user requesting in a loop) is answered with
 * the page already made instead of costing unifiedd another GetManagedObjects. */
#define PAGE_MAX_AGE_USEC (1 * USEC_PER_SEC)

static const char *arg_listen = NULL;
static const char *arg_textfile = NULL;
static bool arg_textfile_set = false;
static usec_t arg_exit_idle = 0;

typedef struct Page {
        char *body;
        size_t size;
        usec_t made;            /* CLOCK_MONOTONIC */
} Page;

typedef struct Exporter {
        sd_bus *bus;
        usec_t last_duration;   /* how long the previous scrape took */
        MetricsHttpd *httpd;
        Page pages[_METRICS_FORMAT_MAX];
} Exporter;

static void help(void) {
        printf("unified-metricsd [OPTIONS...]\n\n"
               "Serves unified's metrics (GET /metrics, Prometheus text or OpenMetrics) from unifiedd's\n"
               "D-Bus objects and the agents' cgroups. Normally started by unified-metrics.socket.\n\n"
               "  -h --help               Show this help\n"
               "     --version            Show the version\n"
               "     --listen=ADDRESS     Listen on ADDRESS when no socket is passed\n"
               "                          (default: ListenAddress= of unified.conf, 127.0.0.1:9000)\n"
               "     --exit-idle=SECONDS  Exit after SECONDS without a connection (0: never, the default)\n"
               "     --textfile[=PATH]    Write the page once to PATH for node_exporter and exit\n"
               "                          (default: TextfilePath= of unified.conf)\n");
}

static int parse_argv(int argc, char *argv[]) {
        enum { ARG_VERSION = 0x100, ARG_LISTEN, ARG_EXIT_IDLE, ARG_TEXTFILE };
        static const struct option options[] = {
                { "help",      no_argument,       NULL, 'h' },
                { "version",   no_argument,       NULL, ARG_VERSION },
                { "listen",    required_argument, NULL, ARG_LISTEN },
                { "exit-idle", required_argument, NULL, ARG_EXIT_IDLE },
                { "textfile",  optional_argument, NULL, ARG_TEXTFILE },
                {}
        };
        struct sockaddr_storage ss;
        uint64_t u;
        int c;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        help();
                        return 0;
                case ARG_VERSION:
                        printf("unified-metricsd %s\n", PROJECT_VERSION);
                        return 0;
                case ARG_LISTEN:
                        if (socket_address_parse(optarg, &ss, NULL) < 0) {
                                log_error("Invalid --listen=%s: expected ADDRESS:PORT ([IPv6]:PORT) or PORT.", optarg);
                                return -EINVAL;
                        }
                        arg_listen = optarg;
                        break;
                case ARG_EXIT_IDLE:
                        if (safe_atou64(optarg, &u) < 0 || u > UINT32_MAX) {
                                log_error("Invalid --exit-idle=%s: expected a number of seconds.", optarg);
                                return -EINVAL;
                        }
                        arg_exit_idle = u * USEC_PER_SEC;
                        break;
                case ARG_TEXTFILE:
                        arg_textfile = optarg;
                        arg_textfile_set = true;
                        break;
                default:
                        return -EINVAL;
                }
        if (optind < argc) {
                log_error("This program takes no arguments.");
                return -EINVAL;
        }
        return 1;
}

static int load_config(DaemonConfig *c) {
        _cleanup_(diagnostics_done) Diagnostics diag = {};
        const char *path = getenv("UNIFIED_CONFIG_FILE");
        int r;

        r = daemon_config_init(c);
        if (r < 0)
                return log_error_errno(r, "Failed to set up the configuration: %m");
        if (isempty(path))
                path = CONFIG_FILE;
        r = daemon_config_load(c, path, &diag);
        for (size_t i = 0; i < diag.n_items; i++)
                log_full(diag.items[i].severity == DIAG_ERROR ? LOG_ERR : LOG_WARNING, "%s:%u: %s",
                         strna(diag.items[i].file), diag.items[i].line, strna(diag.items[i].message));
        if (r < 0 && r != -EBADMSG)
                log_warning_errno(r, "Failed to read %s, using the defaults: %m", path);
        return 0;
}

static int exporter_bus(Exporter *e) {
        int r;

        /* After the bus went away (dbus restarted), the next scrape connects again. */
        if (e->bus && sd_bus_is_open(e->bus) > 0)
                return 0;
        e->bus = sd_bus_flush_close_unref(e->bus);
        r = sd_bus_open_system(&e->bus);
        if (r < 0)
                return r;
        return sd_bus_set_method_call_timeout(e->bus, BUS_CALL_TIMEOUT_USEC);
}

/* Collects and renders one page. */
static int exporter_render(Exporter *e, MetricsFormat fmt, char **ret, size_t *ret_size, char **ret_error) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        MetricsBusSnapshot s;
        usec_t begin = now(CLOCK_MONOTONIC);
        int r;

        r = exporter_bus(e);
        if (r < 0) {
                log_warning_errno(r, "Failed to connect to the system bus: %m");
                if (ret_error && asprintf(ret_error, "cannot connect to the system bus: %s", strerror(-r)) < 0)
                        *ret_error = NULL;
                return r;
        }
        r = metrics_bus_collect(e->bus, &s, &error);
        if (r < 0) {
                if (sd_bus_error_is_set(&error))
                        log_warning("Failed to read unifiedd's objects: %s", error.message);
                else
                        log_warning_errno(r, "Failed to read unifiedd's objects: %m");
                if (ret_error)
                        *ret_error = strdup(sd_bus_error_is_set(&error) ? error.message : strerror(-r));
                return r;
        }
        s.snapshot.scrape_duration = e->last_duration;
        r = metrics_render(&s.snapshot, fmt, ret, ret_size);
        metrics_bus_snapshot_done(&s);
        e->last_duration = now(CLOCK_MONOTONIC) - begin;
        return r;
}

static int on_page(MetricsFormat fmt, char **ret_body, size_t *ret_size, char **ret_error, void *userdata) {
        Exporter *e = userdata;
        Page *p = &e->pages[fmt];
        usec_t t = now(CLOCK_MONOTONIC);
        char *body;
        size_t size;
        int r;

        if (!p->body || t - p->made >= PAGE_MAX_AGE_USEC) {
                r = exporter_render(e, fmt, &body, &size, ret_error);
                if (r < 0)
                        return r; /* errors are not kept: the next scrape tries again */
                free(p->body);
                *p = (Page) { .body = body, .size = size, .made = t };
        }
        /* The server frees what it is given. */
        *ret_body = malloc(p->size);
        if (!*ret_body)
                return -ENOMEM;
        memcpy(*ret_body, p->body, p->size);
        *ret_size = p->size;
        return 0;
}

static int run_textfile(Exporter *e, const char *path) {
        _cleanup_free_ char *text = NULL;
        size_t size;
        int r;

        r = exporter_render(e, METRICS_FORMAT_PROMETHEUS, &text, &size, NULL);
        if (r < 0)
                return r;
        r = textfile_write(path, text, size);
        if (r < 0)
                return log_error_errno(r, "Failed to write %s: %m", path);
        return 0;
}

static int listen_fd(void) {
        _cleanup_strv_free_ char **names = NULL;
        int n;

        n = sd_listen_fds_with_names(true, &names);
        if (n < 0)
                return log_error_errno(n, "Failed to take the sockets systemd passed: %m");
        for (int i = 0; i < n; i++)
                if (names && streq_ptr(names[i], LISTEN_FD_NAME))
                        return SD_LISTEN_FDS_START + i;
        /* One unnamed socket (a socket unit without FileDescriptorName=) is ours too. */
        if (n == 1)
                return SD_LISTEN_FDS_START;
        if (n > 1)
                log_warning("%d sockets passed, none named \"" LISTEN_FD_NAME "\"; listening myself.", n);
        return -EBADF;
}

static int on_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        (void) sd_notify(false, "STOPPING=1");
        return sd_event_exit(sd_event_source_get_event(s), 0);
}

/* Nobody connected for --exit-idle: stop accepting (new clients wait in systemd's socket for the next
 * instance) and exit once the connections that were open are done. */
static int on_idle_check(sd_event_source *s, uint64_t usec, void *userdata) {
        Exporter *e = userdata;
        usec_t next = arg_exit_idle / 4;

        if (metrics_httpd_is_idle(e->httpd, arg_exit_idle)) {
                if (metrics_httpd_quiesce(e->httpd)) {
                        log_info("No connection for %" PRIu64 " s, exiting.", arg_exit_idle / USEC_PER_SEC);
                        (void) sd_notify(false, "STOPPING=1");
                        return sd_event_exit(sd_event_source_get_event(s), 0);
                }
                next = USEC_PER_SEC;
        }
        (void) sd_event_source_set_time_relative(s, MAX(next, USEC_PER_SEC));
        return sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
}

static int run_server(Exporter *e, const DaemonConfig *config) {
        _cleanup_(sd_event_unrefp) sd_event *event = NULL;
        const char *address = arg_listen ?: config->metrics_listen_address;
        uint16_t port = 0;
        sigset_t mask;
        int fd, r;

        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
                return log_error_errno(-errno, "Failed to block signals: %m");

        r = sd_event_default(&event);
        if (r >= 0)
                r = sd_event_add_signal(event, NULL, SIGTERM, on_signal, NULL);
        if (r >= 0)
                r = sd_event_add_signal(event, NULL, SIGINT, on_signal, NULL);
        if (r < 0)
                return log_error_errno(r, "Failed to set up the event loop: %m");

        fd = listen_fd();
        if (fd < 0) {
                if (!address) {
                        log_error("No socket passed and ListenAddress=none: nothing to serve on.");
                        return -EINVAL;
                }
                fd = socket_listen_tcp(address, 64);
                if (fd < 0)
                        return log_error_errno(fd, "Failed to listen on %s: %m", address);
        }
        r = metrics_httpd_new(event, fd, NULL, on_page, e, &e->httpd);
        if (r < 0)
                return log_error_errno(r, "Failed to start the HTTP server (libmicrohttpd): %m");
        (void) metrics_httpd_get_port(e->httpd, &port);
        log_info("Serving metrics on port %u.", port);

        if (arg_exit_idle > 0) {
                r = sd_event_add_time_relative(event, NULL, CLOCK_MONOTONIC, MAX(arg_exit_idle / 4, USEC_PER_SEC),
                                               USEC_PER_SEC, on_idle_check, e);
                if (r < 0)
                        return log_error_errno(r, "Failed to arm the idle timer: %m");
        }

        (void) sd_notifyf(false, "READY=1\nSTATUS=Serving metrics on port %u.", port);
        r = sd_event_loop(event);
        if (r < 0)
                return log_error_errno(r, "Event loop failed: %m");
        return 0;
}

int main(int argc, char *argv[]) {
        _cleanup_(daemon_config_done) DaemonConfig config = {};
        Exporter e = { .last_duration = USEC_INFINITY };
        int r;

        log_setup();
        r = parse_argv(argc, argv);
        if (r <= 0)
                return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
        r = load_config(&config);
        if (r < 0)
                return EXIT_FAILURE;

        if (arg_textfile_set) {
                const char *path = arg_textfile ?: config.metrics_textfile_path;

                if (!path) {
                        log_error("--textfile without a path, and no TextfilePath= in unified.conf.");
                        return EXIT_FAILURE;
                }
                r = run_textfile(&e, path);
        } else
                r = run_server(&e, &config);

        e.httpd = metrics_httpd_free(e.httpd);
        for (size_t i = 0; i < ELEMENTSOF(e.pages); i++)
                free(e.pages[i].body);
        e.bus = sd_bus_flush_close_unref(e.bus);
        return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
