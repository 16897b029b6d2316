/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A stand-in for unified-metricsd in the Prometheus end-to-end test: the real HTTP server and
 * renderer, without the D-Bus side, serving a healthy profile until SIGUSR1, then one whose non-essential agent "crashy"
 * has its breaker open (profile degraded). Prints the port it listens on, then serves until SIGTERM.
 * Usage: metrics-serve [ADDRESS]   (default 127.0.0.1:0) */

#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include <systemd/sd-event.h>

#include "metrics-httpd.h"
#include "metrics.h"
#include "socket-util.h"

typedef struct Server {
        bool broken;
        unsigned scrapes;
        usec_t last_duration;
} Server;

/* Called from the event loop, like on_usr1(). */
static int page(MetricsFormat fmt, char **ret_body, size_t *ret_size, char **ret_error, void *userdata) {
        Server *srv = userdata;
        static const char *const names[] = { "planner", "tutor", "crashy", "llm-cloud-gateway", "llm-local" };
        MetricsAgent agents[ELEMENTSOF(names)];
        MetricsProfile profile;
        MetricsSnapshot s;
        usec_t start = now(CLOCK_MONOTONIC);
        bool broken = srv->broken;
        int r;

        for (size_t i = 0; i < ELEMENTSOF(names); i++) {
                bool bad = broken && streq(names[i], "crashy");

                metrics_agent_init(&agents[i]);
                agents[i].name = names[i];
                agents[i].profile = "tutoring";
                agents[i].unit = "unified-agent.service";
                agents[i].essential = i < 2;
                agents[i].active_state = bad ? "failed" : "active";
                agents[i].restarts = bad ? 3 : 0;
                agents[i].breaker = bad ? "open" : "closed";
                agents[i].breaker_transitions = bad ? 1 : 0;
                agents[i].health = bad ? 0 : 1;
                agents[i].memory_current = 10 << 20;
                agents[i].memory_limit = 512 << 20;
                agents[i].cpu_usage_usec = srv->scrapes * 1000;
                agents[i].oom_kills = 0;
                agents[i].journal_error_lines = bad ? 5 : 0;
        }
        metrics_profile_init(&profile);
        profile.name = "tutoring";
        profile.active = true;
        profile.memory_current = 50 << 20;
        profile.memory_budget = 4ULL << 30;
        profile.health = broken ? 0.8 : 1;
        profile.last_start_duration = 1500 * USEC_PER_MSEC;

        metrics_snapshot_init(&s);
        s.version = "test";
        s.active_profile = "tutoring";
        s.state = broken ? "degraded" : "running";
        s.health = profile.health;
        s.agents = agents;
        s.n_agents = ELEMENTSOF(agents);
        s.profiles = &profile;
        s.n_profiles = 1;
        s.scrape_duration = srv->scrapes > 0 ? srv->last_duration : USEC_INFINITY;

        r = metrics_render(&s, fmt, ret_body, ret_size);
        srv->scrapes++;
        srv->last_duration = now(CLOCK_MONOTONIC) - start;
        return r;
}

static int on_usr1(sd_event_source *source, const struct signalfd_siginfo *si, void *userdata) {
        Server *srv = userdata;

        srv->broken = true;
        return 0;
}

int main(int argc, char *argv[]) {
        _cleanup_(metrics_httpd_freep) MetricsHttpd *server = NULL;
        sd_event *event = NULL;
        Server srv = {};
        uint16_t port;
        int fd, r;

        r = sd_event_default(&event);
        if (r >= 0)
                r = sd_event_add_signal(event, NULL, SIGTERM | SD_EVENT_SIGNAL_PROCMASK, NULL, NULL);
        if (r >= 0)
                r = sd_event_add_signal(event, NULL, SIGUSR1 | SD_EVENT_SIGNAL_PROCMASK, on_usr1, &srv);
        if (r >= 0)
                r = fd = socket_listen_tcp(argc > 1 ? argv[1] : "127.0.0.1:0", 16);
        if (r >= 0)
                r = metrics_httpd_new(event, fd, NULL, page, &srv, &server);
        if (r >= 0)
                r = metrics_httpd_get_port(server, &port);
        if (r < 0) {
                fprintf(stderr, "metrics-serve: %s\n", strerror(-r));
                return 1;
        }

        printf("%u\n", port);
        fflush(stdout);
        r = sd_event_loop(event);
        server = metrics_httpd_free(server);
        sd_event_unref(event);
        return r < 0 ? 1 : 0;
}
