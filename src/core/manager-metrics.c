/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* From the manager's state to the Prometheus page, and the endpoint and textfile that carry it. */

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include <systemd/sd-daemon.h>

#include "config.h"
#include "http-server.h"
#include "log.h"
#include "manager-metrics.h"
#include "manager.h"
#include "plan.h"
#include "strv.h"
#include "textfile.h"

struct ManagerMetrics {
        Manager *manager;
        Supervisor *supervisor;
        DaemonConfig config;
        HttpServer *server;
        sd_event_source *textfile_timer;
        usec_t last_scrape;             /* how long the previous collection + render took */
};

int manager_metrics_listen_fd(const char *name) {
        char **names = NULL;
        int n, fd = -EBADF;

        n = sd_listen_fds_with_names(true, &names);
        if (n < 0)
                return n;
        for (int i = 0; i < n; i++)
                if (names && names[i] && streq(names[i], name)) {
                        fd = SD_LISTEN_FDS_START + i;
                        break;
                }
        strv_free(names);
        return fd;
}

static void agent_fill(ManagerMetrics *mm, AgentRuntime *a, MetricsAgent *out) {
        const Agent *def = a->def;
        _cleanup_free_ char *cgroup = NULL;
        CgroupStats st;

        metrics_agent_init(out);
        out->name = a->name;
        out->profile = manager_active_profile_name(mm->manager);
        out->unit = a->unit;
        out->essential = agent_runtime_is_essential(a);
        out->lazy = agent_runtime_is_lazy(a);
        out->active_state = a->active_state;
        out->breaker = breaker_state_to_string(a->breaker.state);
        out->health = a->health;
        if (def) {
                out->cpu_limit = def->cpu_quota;
                if (def->memory_max != LIMIT_UNSET)
                        out->memory_limit = def->memory_max;
        }
        out->restarts = a->restarts_total;
        out->breaker_transitions = a->breaker.transitions_total;
        out->journal_error_lines = a->journal_error_lines;
        if (out->lazy) {
                out->lazy_activations = a->lazy_activations;
                out->lazy_activation_failures = a->lazy_activation_failures;
                out->lazy_latency = a->lazy_latency.count > 0 ? &a->lazy_latency : NULL;
        }

        /* The unit's cgroup is where systemd puts it: our slice, the unit's name. A stopped unit has none
         * (-ENOENT), its figures stay unknown. */
        if (asprintf(&cgroup, "/" UNIFIED_SLICE "/%s", a->unit) < 0)
                return;
        if (cgroup_stats_read(cgroup, &st) >= 0)
                metrics_agent_set_cgroup_stats(out, &st);
}

/* Collects and renders; "ret_*" as metrics_render(). */
int manager_metrics_render(ManagerMetrics *mm, MetricsFormat fmt, char **ret, size_t *ret_size) {
        Manager *m = mm->manager;
        _cleanup_free_ MetricsAgent *agents = NULL;
        _cleanup_free_ MetricsProfile *profiles = NULL;
        MetricsSnapshot snap;
        size_t n_agents = 0;
        usec_t begin = now(CLOCK_MONOTONIC);
        int r;

        agents = calloc(MAX(m->n_agents, (size_t) 1), sizeof(MetricsAgent));
        profiles = calloc(MAX(m->n_profiles, (size_t) 1), sizeof(MetricsProfile));
        if (!agents || !profiles)
                return -ENOMEM;

        metrics_snapshot_init(&snap);
        snap.version = PROJECT_VERSION;
        snap.active_profile = m->active ? m->active->name : NULL;
        snap.state = profile_state_to_string(m->state);
        snap.health = m->health_score;

        for (size_t i = 0; i < m->n_agents; i++)
                if (m->agents[i])
                        agent_fill(mm, m->agents[i], &agents[n_agents++]);

        for (size_t i = 0; i < m->n_profiles; i++) {
                ProfileEntry *e = m->profiles[i];
                MetricsProfile *p = &profiles[i];
                bool active = m->active && streq(m->active->name, e->name);
                const Profile *prof = active ? m->active : e->profile;

                metrics_profile_init(p);
                p->name = e->name;
                p->active = active;
                if (prof && prof->memory_max != LIMIT_UNSET)
                        p->memory_budget = prof->memory_max;
                if (mm->supervisor)
                        p->last_start_duration = supervisor_last_start_duration(mm->supervisor, e->name);
                if (active) {
                        CgroupStats st;

                        p->health = snap.health;
                        if (cgroup_stats_read("/" UNIFIED_SLICE, &st) >= 0 && st.memory_current != CGROUP_STATS_UNSET)
                                p->memory_current = st.memory_current;
                }
        }

        snap.agents = agents;
        snap.n_agents = n_agents;
        snap.profiles = profiles;
        snap.n_profiles = m->n_profiles;
        snap.recovery = mm->supervisor ? supervisor_recovery_histogram(mm->supervisor) : NULL;
        if (snap.recovery && snap.recovery->count == 0)
                snap.recovery = NULL;
        snap.scrape_duration = mm->last_scrape;

        r = metrics_render(&snap, fmt, ret, ret_size);
        mm->last_scrape = now(CLOCK_MONOTONIC) - begin;
        return r;
}

static int on_page(MetricsFormat fmt, char **ret_body, size_t *ret_size, void *userdata) {
        return manager_metrics_render(userdata, fmt, ret_body, ret_size);
}

static int on_textfile_timer(sd_event_source *source, uint64_t usec, void *userdata) {
        ManagerMetrics *mm = userdata;
        _cleanup_free_ char *text = NULL;
        size_t size;
        int r;

        r = manager_metrics_render(mm, METRICS_FORMAT_PROMETHEUS, &text, &size);
        if (r >= 0)
                r = textfile_write(mm->config.metrics_textfile_path, text, size);
        if (r < 0)
                log_warning_errno(r, "Failed to write %s, ignoring: %m", mm->config.metrics_textfile_path);

        (void) sd_event_source_set_time_relative(source, MANAGER_METRICS_TEXTFILE_USEC);
        (void) sd_event_source_set_enabled(source, SD_EVENT_ONESHOT);
        return 0;
}

static void config_log_diagnostics(const Diagnostics *d) {
        for (size_t i = 0; i < d->n_items; i++) {
                const Diagnostic *x = &d->items[i];

                log_full(x->severity == DIAG_ERROR ? LOG_ERR : LOG_WARNING, "%s:%u: %s", strna(x->file), x->line,
                         strna(x->message));
        }
}

int manager_metrics_new(Manager *m, Supervisor *s, ManagerMetrics **ret) {
        _cleanup_(manager_metrics_freep) ManagerMetrics *mm = NULL;
        _cleanup_(diagnostics_done) Diagnostics diag = {};
        const char *path = getenv("UNIFIED_CONFIG_FILE");
        int fd, r;

        mm = calloc(1, sizeof(ManagerMetrics));
        if (!mm)
                return -ENOMEM;
        mm->manager = m;
        mm->supervisor = s;
        mm->last_scrape = USEC_INFINITY;
        r = daemon_config_init(&mm->config);
        if (r < 0)
                return r;

        if (isempty(path))
                path = CONFIG_FILE;
        r = daemon_config_load(&mm->config, path, &diag);
        config_log_diagnostics(&diag);
        if (r < 0 && r != -EBADMSG)
                log_warning_errno(r, "Failed to read %s, using the defaults: %m", path);

        fd = manager_metrics_listen_fd(MANAGER_METRICS_FD_NAME);
        if (fd >= 0 || mm->config.metrics_listen_address) {
                r = http_server_new(m->event, fd >= 0 ? NULL : mm->config.metrics_listen_address, fd, NULL, on_page,
                                    mm, &mm->server);
                if (r < 0)
                        return r;
                if (fd >= 0)
                        log_info("Serving metrics on the socket systemd passed.");
                else
                        log_info("Serving metrics on %s.", mm->config.metrics_listen_address);
        } else
                log_info("Metrics endpoint disabled (ListenAddress=none).");

        if (mm->config.metrics_textfile_path) {
                r = sd_event_add_time_relative(m->event, &mm->textfile_timer, CLOCK_MONOTONIC, 0, USEC_PER_SEC,
                                               on_textfile_timer, mm);
                if (r < 0)
                        return r;
        }

        *ret = TAKE_PTR(mm);
        return 0;
}

ManagerMetrics *manager_metrics_free(ManagerMetrics *mm) {
        if (!mm)
                return NULL;
        http_server_free(mm->server);
        sd_event_source_disable_unref(mm->textfile_timer);
        daemon_config_done(&mm->config);
        return mfree(mm);
}

int manager_metrics_get_port(ManagerMetrics *mm, uint16_t *ret) {
        if (!mm->server)
                return -ENXIO;
        return http_server_get_port(mm->server, ret);
}
