/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The exporter's side of the bus against the daemon's real objects: the real manager (manager-fixture.h:
 * in-process, a fake systemd on a private bus) running a profile of two agents, one lazy, read back with
 * metrics_bus_collect() from another process, as unified-metricsd does, with a fake cgroup tree, and
 * rendered. Every figure the page had when the daemon rendered it itself still arrives, with its value. */

#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "fs-util.h"
#include "manager-fixture.h"
#include "metrics-bus.h"

#define WAIT (10 * USEC_PER_SEC)

static const char profile_yaml[] =
        "name: p\n"
        "resources:\n"
        "  memory_max: 1G\n"
        "agents:\n"
        "  - name: a\n"
        "    exec: [/bin/sleep, infinity]\n"
        "    memory_max: 64M\n"
        "    cpu_quota: 50%\n"
        "    essential: true\n"
        "  - name: z\n"
        "    exec: [/bin/sleep, infinity]\n"
        "    memory_max: 16M\n"
        "    lazy: true\n";

static const char *const expected[] = {
        "unified_build_info{version=\"" PROJECT_VERSION "\"} 1",
        "unified_active_profile{profile=\"p\"} 1",
        "unified_manager_state{state=\"running\"} 1",
        "unified_health_score 1",
        "unified_agent_info{agent=\"a\",profile=\"p\",unit=\"unified-a.service\",essential=\"true\",lazy=\"false\"} 1",
        "unified_agent_info{agent=\"z\",profile=\"p\",unit=\"unified-z.service\",essential=\"false\",lazy=\"true\"} 1",
        "unified_agent_up{agent=\"a\",profile=\"p\",essential=\"true\"} 1",
        "unified_agent_breaker_state{agent=\"a\",profile=\"p\",state=\"closed\"} 1",
        "unified_agent_restarts_total{agent=\"a\",profile=\"p\"} 3",
        "unified_agent_journal_error_lines_total{agent=\"a\",profile=\"p\"} 7",
        "unified_agent_memory_bytes{agent=\"a\",profile=\"p\"} 1234",
        "unified_agent_memory_limit_bytes{agent=\"a\",profile=\"p\"} 67108864",
        "unified_agent_cpu_seconds_total{agent=\"a\",profile=\"p\"} 5",
        "unified_agent_oom_kills_total{agent=\"a\",profile=\"p\"} 2",
        "unified_agent_cpu_limit_cores{agent=\"a\",profile=\"p\"} 0.5",
        "unified_agent_lazy_activations_total{agent=\"z\",profile=\"p\"} 2",
        "unified_agent_lazy_activation_failures_total{agent=\"z\",profile=\"p\"} 1",
        "unified_agent_lazy_activation_duration_seconds_bucket{agent=\"z\",profile=\"p\",le=\"0.25\"} 2",
        "unified_agent_lazy_activation_duration_seconds_count{agent=\"z\",profile=\"p\"} 2",
        "unified_agent_lazy_activation_duration_seconds_sum{agent=\"z\",profile=\"p\"} 0.5",
        "unified_profile_memory_bytes{profile=\"p\"} 9999",
        "unified_profile_memory_budget_bytes{profile=\"p\"} 1073741824",
        "unified_profile_health_score{profile=\"p\"} 1",
        "unified_recovery_duration_seconds_count 0",
};

static void write_file(const char *dir, const char *rel, const char *text) {
        _cleanup_free_ char *path = NULL, *parent = NULL;
        FILE *f;

        assert_true(asprintf(&path, "%s/%s", dir, rel) > 0);
        parent = strdup(path);
        assert_non_null(parent);
        *strrchr(parent, '/') = 0;
        assert_int_equal(mkdir_p(parent, 0755), 0);
        f = fopen(path, "we");
        assert_non_null(f);
        fputs(text, f);
        fclose(f);
}

/* The exporter's side, in a child: collects and renders on a connection of its own (the call blocks,
 * so the manager's loop has to run in the parent meanwhile) and writes the page to "fd". Exit status:
 * 0, or 1 with the reason on stderr. */
_noreturn_ static void collect(const TestBus *b, int fd) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_free_ char *text = NULL;
        MetricsBusSnapshot s;
        sd_bus *bus = test_bus_connect(b, NULL);
        size_t size;
        int r;

        r = metrics_bus_collect(bus, &s, &error);
        if (r < 0) {
                fprintf(stderr, "# metrics_bus_collect: %s\n", error.message ?: strerror(-r));
                _exit(1);
        }
        fprintf(stderr, "# the Manager came from %s\n", s.manager ? "a GetAll" : "GetManagedObjects");
        if (s.n_agents != 2 || s.n_profiles != 1 || !s.has_manager) {
                fprintf(stderr, "# %zu agents, %zu profiles\n", s.n_agents, s.n_profiles);
                _exit(1);
        }
        r = metrics_render(&s.snapshot, METRICS_FORMAT_PROMETHEUS, &text, &size);
        metrics_bus_snapshot_done(&s);
        if (r < 0 || write(fd, text, size) != (ssize_t) size)
                _exit(1);
        _exit(0);
}

static bool child_done(ManagerFixture *x, void *userdata) {
        int *status = userdata;
        return waitpid((pid_t) status[0], &status[1], WNOHANG) > 0;
}

static void test_collect_from_the_daemon(void **state) {
        ManagerFixture *x = *state;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_free_ char *page = NULL, *cmd = NULL;
        char tmp[] = "/tmp/test-metrics-bus-XXXXXX";
        AgentRuntime *a, *z;
        int fds[2], status[2] = {};
        size_t size = 0;
        FILE *f;

        assert_non_null(mkdtemp(tmp));
        write_file(tmp, "unified.slice/unified-a.service/memory.current", "1234\n");
        write_file(tmp, "unified.slice/unified-a.service/memory.max", "67108864\n");
        write_file(tmp, "unified.slice/unified-a.service/memory.events", "low 0\nhigh 0\nmax 4\noom 2\noom_kill 2\n");
        write_file(tmp, "unified.slice/unified-a.service/cpu.stat", "usage_usec 5000000\nuser_usec 1\nsystem_usec 2\n");
        write_file(tmp, "unified.slice/memory.current", "9999\n");
        assert_int_equal(setenv("UNIFIED_CGROUP_ROOT", tmp, 1), 0);

        manager_fixture_write_profile(x, "p", profile_yaml);
        manager_fixture_start_manager(x);
        reply = manager_fixture_call(x, UNIFIED_OBJECT_PATH, UNIFIED_MANAGER_IFACE, "StartProfile", &error, "s", "p");
        if (!reply)
                fail_msg("StartProfile: %s", error.message);
        assert_true(manager_fixture_wait_state(x, "running", WAIT));

        /* Lifetime counters the fake systemd does not produce, set where the daemon keeps them. */
        a = manager_find_agent(x->manager, "a");
        z = manager_find_agent(x->manager, "z");
        assert_non_null(a);
        assert_non_null(z);
        a->restarts_total = 3;
        a->journal_error_lines = 7;
        z->lazy_activations = 2;
        z->lazy_activation_failures = 1;
        histogram_observe(&z->lazy_latency, 250 * USEC_PER_MSEC);
        histogram_observe(&z->lazy_latency, 250 * USEC_PER_MSEC);

        assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
        status[0] = fork();
        assert_true(status[0] >= 0);
        if (status[0] == 0)
                collect(&x->bus, fds[1]);
        close(fds[1]);
        assert_true(manager_fixture_pump(x, child_done, status, WAIT));
        assert_true(WIFEXITED(status[1]) && WEXITSTATUS(status[1]) == 0);

        f = fdopen(fds[0], "r");
        assert_non_null(f);
        assert_true(getdelim(&page, &size, 0, f) > 0);
        fclose(f);
        for (size_t i = 0; i < ELEMENTSOF(expected); i++) {
                if (!strstr(page, expected[i]))
                        fprintf(stderr, "# missing: %s\n", expected[i]);
                assert_non_null(strstr(page, expected[i]));
        }
        /* Agent "z" has no cgroup (not started yet): no memory sample rather than a wrong one. */
        assert_null(strstr(page, "unified_agent_memory_bytes{agent=\"z\""));

        assert_true(asprintf(&cmd, "rm -rf '%s'", tmp) > 0);
        assert_int_equal(system(cmd), 0);
}

/* No daemon on the bus: a clear error, nothing rendered. */
static void test_no_daemon(void **state) {
        ManagerFixture *x = *state;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        sd_bus *bus = test_bus_connect(&x->bus, NULL);
        MetricsBusSnapshot s;

        assert_true(metrics_bus_collect(bus, &s, &error) < 0);
        assert_true(sd_bus_error_is_set(&error));
        fprintf(stderr, "# without a daemon: %s\n", error.message);
        sd_bus_flush_close_unref(bus);
}

static int setup(void **state) {
        ManagerFixture *x = calloc(1, sizeof(ManagerFixture));

        assert_non_null(x);
        manager_fixture_init(x, "252.39-1~deb12u2");
        *state = x;
        return 0;
}

static int teardown(void **state) {
        ManagerFixture *x = *state;

        manager_fixture_done(x);
        free(x);
        return 0;
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_no_daemon, setup, teardown),
                cmocka_unit_test_setup_teardown(test_collect_from_the_daemon, setup, teardown),
        };

        if (test_bus_skip_if_missing())
                return 0;
        return cmocka_run_group_tests(tests, NULL, NULL);
}
