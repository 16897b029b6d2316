/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Tests for agent status and the profile state derived from the agents' systemd states, and for
 * reading and applying the properties systemd sends (one pass over an a{sv}, unknown ones skipped). */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "agent-runtime.h"

typedef struct AgentCase {
        const char *active, *sub, *socket;
        bool lazy, start_job, start_failed, condition_failed, started;
} AgentCase;

static AgentRuntime make(const AgentCase *c) {
        return (AgentRuntime) {
                .active_state = (char *) c->active,
                .sub_state = (char *) c->sub,
                .socket_state = (char *) c->socket,
                .socket_unit = c->lazy ? (char *) "unified-x.socket" : NULL,
                .start_job = c->start_job ? (char *) "/org/freedesktop/systemd1/job/1" : NULL,
                .start_failed = c->start_failed,
                .condition_failed = c->condition_failed,
                .first_start_done = c->started,
        };
}

static void test_status(void **state) {
        static const struct {
                AgentCase a;
                AgentStatus want;
        } cases[] = {
                { { .active = "active", .sub = "running" }, AGENT_STATUS_OK },
                { { .active = "reloading" }, AGENT_STATUS_OK },
                { { .active = "activating", .sub = "start" }, AGENT_STATUS_PENDING },
                { { .active = "activating", .sub = "auto-restart" }, AGENT_STATUS_DOWN },
                /* Once our start is over, activating again means systemd is restarting it. */
                { { .active = "activating", .sub = "start", .started = true }, AGENT_STATUS_DOWN },
                { { .active = "activating", .sub = "start", .started = true, .start_job = true }, AGENT_STATUS_PENDING },
                { { .active = "failed", .sub = "failed" }, AGENT_STATUS_FAILED },
                { { .active = "inactive", .start_job = true }, AGENT_STATUS_PENDING },
                { { .active = "inactive", .start_failed = true }, AGENT_STATUS_FAILED },
                { { .active = "inactive", .lazy = true, .socket = "active" }, AGENT_STATUS_OK },
                { { .active = "inactive", .lazy = true, .socket = "failed" }, AGENT_STATUS_DOWN },
                { { .active = "inactive", .condition_failed = true }, AGENT_STATUS_SKIPPED },
                { { .active = "inactive" }, AGENT_STATUS_DOWN },
                { { .active = NULL }, AGENT_STATUS_PENDING },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                AgentRuntime a = make(&cases[i].a);
                assert_int_equal(agent_runtime_status(&a), cases[i].want);
        }
}

/* A sealed PropertiesChanged, as systemd sends it, positioned after the interface name. Messages
 * need a bus object, not a connection: one end of a socketpair nobody answers. */
static sd_bus_message *properties_changed(sd_bus *bus, const char *iface, bool unit) {
        static const uint8_t id[16] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };
        sd_bus_message *m = NULL;
        const char *iface_read;

        assert_true(sd_bus_message_new_signal(bus, &m, "/org/freedesktop/systemd1/unit/x_2eservice",
                                              "org.freedesktop.DBus.Properties", "PropertiesChanged") >= 0);
        assert_true(sd_bus_message_append(m, "s", iface) >= 0);
        assert_true(sd_bus_message_open_container(m, 'a', "{sv}") >= 0);
        /* Something unified does not read, with nested containers to skip (ExecStart's type). */
        assert_true(sd_bus_message_append(m, "{sv}", "ExecStart", "a(sasbttttuii)", 1, "/bin/true", 1,
                                          "true", false, 0ULL, 0ULL, 0ULL, 0ULL, 0, 0, 0) >= 0);
        if (unit) {
                assert_true(sd_bus_message_append(m, "{sv}", "ActiveState", "s", "active") >= 0);
                assert_true(sd_bus_message_append(m, "{sv}", "SubState", "s", "running") >= 0);
                assert_true(sd_bus_message_append(m, "{sv}", "ConditionResult", "b", false) >= 0);
                assert_true(sd_bus_message_append(m, "{sv}", "StateChangeTimestamp", "t", 1234567ULL) >= 0);
                assert_true(sd_bus_message_open_container(m, 'e', "sv") >= 0);
                assert_true(sd_bus_message_append(m, "s", "InvocationID") >= 0);
                assert_true(sd_bus_message_open_container(m, 'v', "ay") >= 0);
                assert_true(sd_bus_message_append_array(m, 'y', id, sizeof(id)) >= 0);
                assert_true(sd_bus_message_close_container(m) >= 0);
                assert_true(sd_bus_message_close_container(m) >= 0);
        } else {
                assert_true(sd_bus_message_append(m, "{sv}", "Result", "s", "exit-code") >= 0);
                assert_true(sd_bus_message_append(m, "{sv}", "MainPID", "u", 4242) >= 0);
                assert_true(sd_bus_message_append(m, "{sv}", "NRestarts", "u", 2) >= 0);
        }
        assert_true(sd_bus_message_close_container(m) >= 0);
        assert_true(sd_bus_message_append(m, "as", 0) >= 0);
        assert_true(sd_bus_message_seal(m, 1, 0) >= 0);
        assert_true(sd_bus_message_read(m, "s", &iface_read) >= 0);
        assert_string_equal(iface_read, iface);
        return m;
}

static sd_bus *detached_bus(int fds[2]) {
        sd_bus *bus = NULL;

        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
        assert_true(sd_bus_new(&bus) >= 0);
        assert_true(sd_bus_set_fd(bus, fds[0], fds[0]) >= 0);
        assert_true(sd_bus_start(bus) >= 0);
        return bus;
}

static void test_unit_properties_read(void **state) {
        int fds[2];
        sd_bus *bus = detached_bus(fds);
        sd_bus_message *m;
        UnitProperties p;

        m = properties_changed(bus, "org.freedesktop.systemd1.Unit", true);
        assert_int_equal(unit_properties_read(m, "org.freedesktop.systemd1.Unit", &p), 0);
        assert_string_equal(p.active_state, "active");
        assert_string_equal(p.sub_state, "running");
        assert_true(p.has_condition_result);
        assert_false(p.condition_result);
        assert_true(p.has_state_change);
        assert_int_equal(p.state_change, 1234567);
        assert_true(p.has_invocation);
        assert_int_equal(p.invocation.bytes[0], 1);
        assert_int_equal(p.invocation.bytes[15], 16);
        assert_null(p.result);
        assert_false(p.has_main_pid);

        /* The same names under another interface are not the Unit's. */
        assert_true(sd_bus_message_rewind(m, true) >= 0);
        assert_true(sd_bus_message_skip(m, "s") >= 0);
        assert_int_equal(unit_properties_read(m, "org.freedesktop.systemd1.Service", &p), 0);
        assert_null(p.active_state);
        assert_false(p.has_invocation);
        sd_bus_message_unref(m);

        m = properties_changed(bus, "org.freedesktop.systemd1.Service", false);
        assert_int_equal(unit_properties_read(m, "org.freedesktop.systemd1.Service", &p), 0);
        assert_string_equal(p.result, "exit-code");
        assert_true(p.has_main_pid);
        assert_int_equal(p.main_pid, 4242);
        assert_true(p.has_n_restarts);
        assert_int_equal(p.n_restarts, 2);
        assert_null(p.active_state);
        sd_bus_message_unref(m);

        sd_bus_close_unref(bus);
        close(fds[1]);
}

static void test_apply(void **state) {
        AgentRuntime a = {};
        UnitProperties unit = { .active_state = "active", .sub_state = "running",
                                .has_condition_result = true, .condition_result = true };
        UnitProperties service = { .result = "success", .has_main_pid = true, .main_pid = 7 };
        UnitProperties socket = { .active_state = "listening" };

        assert_int_equal(agent_runtime_apply(&a, false, &unit), 1);
        assert_string_equal(a.active_state, "active");
        assert_string_equal(a.sub_state, "running");
        assert_false(a.condition_failed);
        /* The same again changes nothing. */
        assert_int_equal(agent_runtime_apply(&a, false, &unit), 0);

        assert_int_equal(agent_runtime_apply(&a, false, &service), 1);
        assert_int_equal(a.main_pid, 7);
        assert_string_equal(a.result, "success");
        assert_string_equal(a.active_state, "active");  /* absent: untouched */

        /* The socket's ActiveState is kept apart from the service's. */
        assert_int_equal(agent_runtime_apply(&a, true, &socket), 1);
        assert_string_equal(a.socket_state, "listening");
        assert_string_equal(a.active_state, "active");

        unit.condition_result = false;
        assert_int_equal(agent_runtime_apply(&a, false, &unit), 1);
        assert_true(a.condition_failed);

        /* NRestarts is per unit; restarts_total sums it over the units' lifetimes. */
        service = (UnitProperties) { .has_n_restarts = true, .n_restarts = 2 };
        assert_int_equal(agent_runtime_apply(&a, false, &service), 1);
        service.n_restarts = 3;
        assert_int_equal(agent_runtime_apply(&a, false, &service), 1);
        service.n_restarts = 1;         /* a new unit of that name */
        assert_int_equal(agent_runtime_apply(&a, false, &service), 1);
        assert_int_equal(a.restarts_total, 4);

        free(a.active_state);
        free(a.sub_state);
        free(a.result);
        free(a.socket_state);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_status),
                cmocka_unit_test(test_unit_properties_read),
                cmocka_unit_test(test_apply),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
