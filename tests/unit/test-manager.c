/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The manager in-process, through its D-Bus API, against a fake systemd and polkit on a private bus:
 * starting a profile (what systemd is asked for), switching, stopping, adoption after a daemon restart,
 * failed starts and jobs, crash loops through the breaker (open, half-open probe, closed), degraded
 * versus failed, and the errors bad arguments get. */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "chaos.h"
#include "fs-util.h"
#include "manager-fixture.h"
#include "polkit.h"
#include "state.h"
#include "systemd-client.h"
#include "strv.h"

#define WAIT (10 * USEC_PER_SEC)

/* The test profiles run /bin/sleep: the profile parser only warns about a missing exec, but a real path
 * keeps the output quiet. Breakers trip and recover within a test's second. */
#define COMMON_DEFAULTS                                                                                 \
        "defaults:\n"                                                                                   \
        "  restart:\n"                                                                                  \
        "    policy: on-failure\n"                                                                      \
        "    delay: 100ms\n"                                                                            \
        "    max_attempts: 3\n"                                                                         \
        "    window: 1min\n"                                                                            \
        "  breaker:\n"                                                                                  \
        "    threshold: 3\n"                                                                            \
        "    window: 1min\n"                                                                            \
        "    cooldown: 200ms\n"                                                                         \
        "    max_cooldown: 1s\n"                                                                        \
        "    probation: 300ms\n"

static const char alpha_yaml[] =
        "name: alpha\n"
        "description: \"Three agents and a lazy one\"\n"
        "resources:\n"
        "  memory_max: 1G\n"
        "  cpu_quota: 50%\n"
        COMMON_DEFAULTS
        "agents:\n"
        "  - name: hub\n"
        "    exec: [/bin/sleep, infinity]\n"
        "    memory_max: 64M\n"
        "    essential: true\n"
        "  - name: worker\n"
        "    exec: [/bin/sleep, infinity]\n"
        "    memory_max: 32M\n"
        "    requires: [hub]\n"
        "  - name: helper\n"
        "    exec: [/bin/sleep, infinity]\n"
        "    memory_max: 16M\n"
        "  - name: lazybones\n"
        "    exec: [/bin/sleep, infinity]\n"
        "    memory_max: 16M\n"
        "    lazy: true\n";

/* hub unchanged, worker with other limits (changed at runtime), helper and lazybones gone, extra new. */
static const char beta_yaml[] =
        "name: beta\n"
        "resources:\n"
        "  memory_max: 2G\n"
        "  cpu_quota: 80%\n"
        COMMON_DEFAULTS
        "agents:\n"
        "  - name: hub\n"
        "    exec: [/bin/sleep, infinity]\n"
        "    memory_max: 64M\n"
        "    essential: true\n"
        "  - name: worker\n"
        "    exec: [/bin/sleep, infinity]\n"
        "    memory_max: 48M\n"
        "    requires: [hub]\n"
        "  - name: extra\n"
        "    exec: [/bin/sleep, infinity]\n"
        "    memory_max: 16M\n";

/* For the fault engine: an essential agent with network that another requires, the default outage
 * target, a leaf (whose limit follows). */
#define GAMMA_AGENTS                                                                                    \
        "resources:\n"                                                                                  \
        "  memory_max: 1G\n"                                                                            \
        COMMON_DEFAULTS                                                                                 \
        "agents:\n"                                                                                     \
        "  - name: gate\n"                                                                              \
        "    exec: [/bin/sleep, infinity]\n"                                                            \
        "    memory_max: 64M\n"                                                                         \
        "    essential: true\n"                                                                         \
        "    sandbox: {network: true}\n"                                                                \
        "  - name: svc\n"                                                                               \
        "    exec: [/bin/sleep, infinity]\n"                                                            \
        "    memory_max: 32M\n"                                                                         \
        "    requires: [gate]\n"                                                                        \
        "  - name: llm-cloud-gateway\n"                                                                 \
        "    exec: [/bin/sleep, infinity]\n"                                                            \
        "    memory_max: 32M\n"                                                                         \
        "  - name: leaf\n"                                                                              \
        "    exec: [/bin/sleep, infinity]\n"

static const char gamma_yaml[] = "name: gamma\n" GAMMA_AGENTS "    memory_max: 16M\n";

/* gamma with another limit for the leaf: a switch changes it at runtime. Written by the test that uses it. */
static const char epsilon_yaml[] = "name: epsilon\n" GAMMA_AGENTS "    memory_max: 24M\n";

static int setup(void **state) {
        ManagerFixture *x = calloc(1, sizeof(ManagerFixture));

        assert_non_null(x);
        manager_fixture_init(x, "252.39-1~deb12u2");
        manager_fixture_write_profile(x, "alpha", alpha_yaml);
        manager_fixture_write_profile(x, "beta", beta_yaml);
        manager_fixture_write_profile(x, "gamma", gamma_yaml);
        *state = x;
        return 0;
}

static int teardown(void **state) {
        ManagerFixture *x = *state;

        manager_fixture_done(x);
        free(x);
        return 0;
}

/* Manager.member(s arg), which must succeed. */
static void call_s(ManagerFixture *x, const char *member, const char *arg) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;

        reply = manager_fixture_call(x, UNIFIED_OBJECT_PATH, UNIFIED_MANAGER_IFACE, member, &error, "s", arg);
        if (!reply)
                fail_msg("%s(%s): %s: %s", member, arg, error.name, error.message);
}

static void start_profile(ManagerFixture *x, const char *name) {
        call_s(x, "StartProfile", name);
}

static void expect_error(ManagerFixture *x, const char *member, const char *error_name, const char *types,
                         const char *arg) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;

        reply = manager_fixture_call(x, UNIFIED_OBJECT_PATH, UNIFIED_MANAGER_IFACE, member, &error, types, arg);
        if (reply)
                fail_msg("%s(%s) succeeded, expected %s", member, arg, error_name);
        if (!sd_bus_error_has_name(&error, error_name))
                fail_msg("%s(%s): expected %s, got %s: %s", member, arg, error_name, error.name, error.message);
}

static void assert_unit_property(ManagerFixture *x, const char *unit, const char *name, const char *value) {
        _cleanup_free_ char *v = fake_systemd_unit_property(x->fake, unit, name);

        if (!streq_ptr(v, value))
                fail_msg("%s %s=%s, expected %s", unit, name, strna(v), value);
}

/* The manager up, "profile" started and running. */
static void start_running(ManagerFixture *x, const char *profile) {
        manager_fixture_start_manager(x);
        start_profile(x, profile);
        assert_true(manager_fixture_wait_state(x, "running", WAIT));
}

/* ---------------------------------------------------------------------------------------------------
 * Starting, switching, stopping */

static void test_start_profile(void **state) {
        ManagerFixture *x = *state;
        _cleanup_free_ char *active = NULL, *exec = NULL;

        manager_fixture_start_manager(x);
        assert_true(manager_fixture_wait_state(x, "inactive", WAIT));
        start_profile(x, "alpha");
        assert_true(manager_fixture_wait_state(x, "running", WAIT));

        /* One transient unit per agent, with the profile's limits, in the slice, sandboxed. */
        assert_int_equal(fake_systemd_count_calls(x->fake, "StartTransientUnit", NULL), 4);
        assert_unit_property(x, "unified-hub.service", "MemoryMax", "67108864");
        assert_unit_property(x, "unified-hub.service", "Slice", "unified.slice");
        assert_unit_property(x, "unified-hub.service", "Restart", "on-failure");
        assert_unit_property(x, "unified-hub.service", "StartLimitBurst", "3");
        assert_unit_property(x, "unified-hub.service", "DynamicUser", "yes");
        assert_unit_property(x, "unified-worker.service", "Requires", "[unified-hub.service]");
        exec = fake_systemd_unit_property(x->fake, "unified-hub.service", "ExecStart");
        assert_string_equal(exec, "[(/bin/sleep [/bin/sleep infinity] no)]");
        /* systemd 252 has no RestartSteps=. */
        assert_null(fake_systemd_unit_property(x->fake, "unified-hub.service", "RestartSteps"));
        /* The lazy agent: a socket whose service systemd starts on the first connection. */
        assert_true(manager_fixture_wait_unit(x, "unified-lazybones.socket", "active", WAIT));
        active = fake_systemd_unit_state(x->fake, "unified-lazybones.service", NULL);
        assert_string_equal(active, "inactive");
        /* The slice carries the budget. */
        assert_unit_property(x, "unified.slice", "MemoryMax", "1073741824");
        /* Once settled, unified@alpha.service converges. */
        assert_true(manager_fixture_wait_unit(x, "unified@alpha.service", "active", WAIT));

        free(active);
        active = manager_fixture_get_string(x, UNIFIED_OBJECT_PATH, UNIFIED_MANAGER_IFACE, "ActiveProfile");
        assert_string_equal(active, "alpha");
        /* Starting the active profile again changes nothing. */
        start_profile(x, "alpha");
        assert_int_equal(fake_systemd_count_calls(x->fake, "StartTransientUnit", NULL), 4);
}

static void test_switch_keeps_shared_agents(void **state) {
        ManagerFixture *x = *state;

        start_running(x, "alpha");
        start_profile(x, "beta");
        assert_true(manager_fixture_wait_state(x, "running", WAIT));

        /* hub kept as it is, worker's limit changed at runtime, helper and lazybones stopped, extra new. */
        assert_int_equal(fake_systemd_count_calls(x->fake, "StartTransientUnit", "unified-hub.service"), 1);
        assert_int_equal(fake_systemd_count_calls(x->fake, "StopUnit", "unified-hub.service"), 0);
        assert_int_equal(fake_systemd_count_calls(x->fake, "StartTransientUnit", "unified-worker.service"), 1);
        assert_int_equal(fake_systemd_count_calls(x->fake, "SetUnitProperties", "unified-worker.service"), 1);
        assert_unit_property(x, "unified-worker.service", "MemoryMax", "50331648");
        assert_true(manager_fixture_wait_unit(x, "unified-helper.service", NULL, WAIT));
        assert_true(manager_fixture_wait_unit(x, "unified-lazybones.socket", NULL, WAIT));
        assert_true(manager_fixture_wait_unit(x, "unified-extra.service", "active", WAIT));
        assert_unit_property(x, "unified.slice", "MemoryMax", "2147483648");
        /* The other instance ends up stopped. */
        assert_true(manager_fixture_wait_unit(x, "unified@beta.service", "active", WAIT));
        assert_true(manager_fixture_wait_unit(x, "unified@alpha.service", NULL, WAIT));
        assert_int_equal(fake_systemd_count_calls(x->fake, "StopUnit", "unified@alpha.service"), 1);
}

/* unified@X's ExecStop= sends StopProfile(X). After a switch away from X, that call is the echo of our own
 * stop of unified@X and is ignored when it comes from unified@X itself (its cgroup): recorded once per stop
 * of an active instance, consumed once. A StopProfile from anywhere else is never swallowed. */
static void test_instance_stop_echo(void **state) {
        ManagerFixture *x = *state;

        start_running(x, "alpha");
        assert_true(manager_fixture_wait_unit(x, "unified@alpha.service", "active", WAIT));
        start_profile(x, "beta");
        assert_true(manager_fixture_wait_state(x, "running", WAIT));
        assert_true(manager_fixture_wait_unit(x, "unified@alpha.service", NULL, WAIT));
        start_profile(x, "alpha");
        assert_true(manager_fixture_wait_state(x, "running", WAIT));
        assert_true(manager_fixture_wait_unit(x, "unified@alpha.service", "active", WAIT));
        assert_true(manager_fixture_wait_unit(x, "unified@beta.service", NULL, WAIT));

        /* This test is in no unified@ unit: its StopProfile(alpha) is a real one, despite the record. */
        call_s(x, "StopProfile", "alpha");
        assert_true(manager_fixture_wait_state(x, "inactive", WAIT));
        assert_true(manager_fixture_wait_unit(x, "unified@alpha.service", NULL, WAIT));

        /* unified@alpha was stopped twice while active (the switch to beta, the stop), unified@beta once. */
        assert_true(manager_instance_stop_is_ours(x->manager, "unified@alpha.service"));
        assert_true(manager_instance_stop_is_ours(x->manager, "unified@alpha.service"));
        assert_false(manager_instance_stop_is_ours(x->manager, "unified@alpha.service"));
        assert_true(manager_instance_stop_is_ours(x->manager, "unified@beta.service"));
        assert_false(manager_instance_stop_is_ours(x->manager, "unified@beta.service"));
}

/* alpha running, and unified@alpha's ExecStart= still running (it takes a while to die, too). */
static void start_running_instance_starting(ManagerFixture *x) {
        fake_systemd_set_start(x->fake, "unified@alpha.service", FAKE_START_HOLD);
        fake_systemd_set_stop_time(x->fake, 300 * USEC_PER_MSEC);
        start_running(x, "alpha");
        assert_true(manager_fixture_wait_unit(x, "unified@alpha.service", "activating", WAIT));
}

/* `unifiedctl start alpha && unifiedctl switch beta`: alpha settled, so the daemon started unified@alpha,
 * whose ExecStart= (`unifiedctl start alpha`) is still running when beta is asked for. That start is
 * cancelled at once, and its StartProfile(alpha), sent before it was stopped, must not switch back. */
static void test_switch_cancels_the_instance_start(void **state) {
        ManagerFixture *x = *state;
        _cleanup_free_ char *active = NULL;

        start_running_instance_starting(x);
        start_profile(x, "beta");
        assert_true(manager_fixture_wait_unit(x, "unified@alpha.service", "deactivating", WAIT));
        assert_int_equal(fake_systemd_count_calls(x->fake, "StopUnit", "unified@alpha.service"), 1);
        start_profile(x, "alpha");              /* the stale call of unified@alpha's ExecStart= */
        active = manager_fixture_get_string(x, UNIFIED_OBJECT_PATH, UNIFIED_MANAGER_IFACE, "ActiveProfile");
        assert_string_equal(active, "beta");
        assert_true(manager_fixture_wait_state(x, "running", WAIT));
        assert_true(manager_fixture_wait_unit(x, "unified@beta.service", "active", WAIT));
        assert_true(manager_fixture_wait_unit(x, "unified@alpha.service", NULL, WAIT));
        free(active);
        active = manager_fixture_get_string(x, UNIFIED_OBJECT_PATH, UNIFIED_MANAGER_IFACE, "ActiveProfile");
        assert_string_equal(active, "beta");

        /* Once the instance is stopped, starting alpha is a switch again. */
        start_profile(x, "alpha");
        free(active);
        active = manager_fixture_get_string(x, UNIFIED_OBJECT_PATH, UNIFIED_MANAGER_IFACE, "ActiveProfile");
        assert_string_equal(active, "alpha");
}

/* The same for a stop: the stale StartProfile must not bring the profile back. */
static void test_stop_cancels_the_instance_start(void **state) {
        ManagerFixture *x = *state;
        _cleanup_free_ char *active = NULL;

        start_running_instance_starting(x);
        call_s(x, "StopProfile", "");
        start_profile(x, "alpha");
        active = manager_fixture_get_string(x, UNIFIED_OBJECT_PATH, UNIFIED_MANAGER_IFACE, "ActiveProfile");
        assert_string_equal(active, "");
        assert_true(manager_fixture_wait_state(x, "inactive", WAIT));
        assert_true(manager_fixture_wait_unit(x, "unified@alpha.service", NULL, WAIT));
}

static void test_stop_profile(void **state) {
        ManagerFixture *x = *state;
        _cleanup_free_ char *active = NULL;

        start_running(x, "alpha");
        call_s(x, "StopProfile", "");
        assert_true(manager_fixture_wait_state(x, "inactive", WAIT));
        assert_int_equal(fake_systemd_count_units(x->fake, "unified-", NULL), 0);
        active = manager_fixture_get_string(x, UNIFIED_OBJECT_PATH, UNIFIED_MANAGER_IFACE, "ActiveProfile");
        assert_string_equal(active, "");
}

/* ---------------------------------------------------------------------------------------------------
 * Bad arguments get D-Bus errors, and change nothing */

static void test_bad_arguments(void **state) {
        ManagerFixture *x = *state;

        manager_fixture_start_manager(x);
        expect_error(x, "StartProfile", SD_BUS_ERROR_INVALID_ARGS, "s", "../etc/passwd");
        expect_error(x, "StartProfile", SD_BUS_ERROR_INVALID_ARGS, "s", "");
        expect_error(x, "StartProfile", "org.unified1.Error.NoSuchProfile", "s", "delta");
        expect_error(x, "StopProfile", "org.unified1.Error.NoSuchProfile", "s", "delta");
        expect_error(x, "RestartAgent", "org.unified1.Error.NoActiveProfile", "s", "hub");
        expect_error(x, "GetProfile", "org.unified1.Error.NoSuchProfile", "s", "delta");
        start_profile(x, "alpha");
        expect_error(x, "RestartAgent", "org.unified1.Error.NoSuchAgent", "s", "nobody");
        expect_error(x, "ResetBreaker", "org.unified1.Error.NoSuchAgent", "s", "nobody");
        expect_error(x, "GetAgent", "org.unified1.Error.NoSuchAgent", "s", "nobody");
        assert_true(manager_fixture_wait_state(x, "running", WAIT));
        /* (Not while unified@alpha starts: that start would be cancelled, see below.) */
        assert_true(manager_fixture_wait_unit(x, "unified@alpha.service", "active", WAIT));

        /* A switch waiting for its stops is not interrupted by another. */
        fake_systemd_set_stop_time(x->fake, 300 * USEC_PER_MSEC);
        start_profile(x, "beta");
        expect_error(x, "StartProfile", "org.unified1.Error.Busy", "s", "alpha");
        assert_true(manager_fixture_wait_state(x, "running", WAIT));
        assert_int_equal(fake_systemd_count_calls(x->fake, "StartTransientUnit", NULL), 5);
}

/* ---------------------------------------------------------------------------------------------------
 * What clients read: lists, objects, properties, reloads, the log level */

static unsigned count_array(sd_bus_message *reply, const char *contents) {
        unsigned n = 0;

        assert_true(sd_bus_message_enter_container(reply, 'a', contents) >= 0);
        while (sd_bus_message_skip(reply, contents) > 0)
                n++;
        assert_true(sd_bus_message_exit_container(reply) >= 0);
        return n;
}

static sd_bus_message *call_ok(ManagerFixture *x, const char *path, const char *interface, const char *member,
                               const char *types, const char *arg1, const char *arg2) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        sd_bus_message *reply;

        reply = manager_fixture_call(x, path, interface, member, &error, types, arg1, arg2);
        if (!reply)
                fail_msg("%s.%s: %s: %s", interface, member, error.name, error.message);
        return reply;
}

static void test_read_api(void **state) {
        ManagerFixture *x = *state;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_free_ char *agent = manager_fixture_agent_path("worker"), *s = NULL, *path = NULL;
        const char *p, *xml;

        manager_fixture_start_manager(x);
        reply = call_ok(x, UNIFIED_OBJECT_PATH, UNIFIED_MANAGER_IFACE, "ListProfiles", NULL, NULL, NULL);
        assert_int_equal(count_array(reply, "(sso)"), 3);
        reply = sd_bus_message_unref(reply);

        /* A profile object and its properties. */
        reply = call_ok(x, UNIFIED_OBJECT_PATH, UNIFIED_MANAGER_IFACE, "GetProfile", "s", "alpha", NULL);
        assert_true(sd_bus_message_read(reply, "o", &p) >= 0);
        path = strdup(p);
        assert_non_null(path);
        s = manager_fixture_get_string(x, path, UNIFIED_PROFILE_IFACE, "Description");
        assert_string_equal(s, "Three agents and a lazy one");
        reply = sd_bus_message_unref(reply);
        reply = call_ok(x, path, "org.freedesktop.DBus.Properties", "GetAll", "s", UNIFIED_PROFILE_IFACE, NULL);
        assert_true(count_array(reply, "{sv}") >= 8);
        reply = sd_bus_message_unref(reply);

        start_profile(x, "alpha");
        assert_true(manager_fixture_wait_state(x, "running", WAIT));
        reply = call_ok(x, UNIFIED_OBJECT_PATH, UNIFIED_MANAGER_IFACE, "ListAgents", NULL, NULL, NULL);
        assert_int_equal(count_array(reply, "(ssssdso)"), 4);
        reply = sd_bus_message_unref(reply);
        reply = call_ok(x, agent, "org.freedesktop.DBus.Properties", "GetAll", "s", UNIFIED_AGENT_IFACE, NULL);
        assert_true(count_array(reply, "{sv}") >= 15);
        reply = sd_bus_message_unref(reply);
        free(s);
        s = manager_fixture_get_string(x, agent, UNIFIED_AGENT_IFACE, "Unit");
        assert_string_equal(s, "unified-worker.service");
        reply = call_ok(x, UNIFIED_OBJECT_PATH, "org.freedesktop.DBus.ObjectManager", "GetManagedObjects", NULL, NULL,
                        NULL);
        /* Below the object manager: three profiles, four agents. */
        assert_int_equal(count_array(reply, "{oa{sa{sv}}}"), 7);
        reply = sd_bus_message_unref(reply);
        reply = call_ok(x, "/org/unified1/agent", "org.freedesktop.DBus.Introspectable", "Introspect", NULL, NULL,
                        NULL);
        assert_true(sd_bus_message_read(reply, "s", &xml) >= 0);
        assert_non_null(strstr(xml, "<node name=\"worker\"/>"));
        reply = sd_bus_message_unref(reply);
        /* The agent's own methods. */
        reply = call_ok(x, agent, UNIFIED_AGENT_IFACE, "Restart", NULL, NULL, NULL);
        reply = sd_bus_message_unref(reply);
        assert_int_equal(fake_systemd_count_calls(x->fake, "RestartUnit", "unified-worker.service"), 1);
        reply = call_ok(x, agent, UNIFIED_AGENT_IFACE, "ResetBreaker", NULL, NULL, NULL);
        reply = sd_bus_message_unref(reply);

        /* systemctl service-log-level: org.freedesktop.LogControl1. */
        free(s);
        s = manager_fixture_get_string(x, "/org/freedesktop/LogControl1", "org.freedesktop.LogControl1", "LogLevel");
        assert_non_null(s);
        reply = manager_fixture_call(x, "/org/freedesktop/LogControl1", "org.freedesktop.DBus.Properties", "Set", &error,
                                     "ssv", "org.freedesktop.LogControl1", "LogLevel", "s", "chatty");
        assert_null(reply);
        assert_true(sd_bus_error_has_name(&error, SD_BUS_ERROR_INVALID_ARGS));
        reply = call_ok(x, "/org/freedesktop/LogControl1", "org.freedesktop.DBus.Properties", "GetAll", "s",
                        "org.freedesktop.LogControl1", NULL);
        assert_int_equal(count_array(reply, "{sv}"), 3);
}

static void test_reload_profiles(void **state) {
        ManagerFixture *x = *state;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_free_ char *error_text = NULL;
        const char *path;

        manager_fixture_start_manager(x);
        /* A new profile and a broken one: the broken one is listed with its error and refused. */
        manager_fixture_write_profile(x, "delta", "name: delta\nagents:\n  - name: one\n    exec: [/bin/sleep, infinity]\n");
        manager_fixture_write_profile(x, "broken", "name: broken\nagents:\n  - name: one\n    exek: [/bin/true]\n");
        reply = call_ok(x, UNIFIED_OBJECT_PATH, UNIFIED_MANAGER_IFACE, "ReloadProfiles", NULL, NULL, NULL);
        reply = sd_bus_message_unref(reply);
        reply = call_ok(x, UNIFIED_OBJECT_PATH, UNIFIED_MANAGER_IFACE, "GetProfile", "s", "broken", NULL);
        assert_true(sd_bus_message_read(reply, "o", &path) >= 0);
        error_text = manager_fixture_get_string(x, path, UNIFIED_PROFILE_IFACE, "Error");
        if (!strstr(error_text, "broken.yaml:4:"))
                fail_msg("Error=%s", error_text);
        expect_error(x, "StartProfile", "org.unified1.Error.InvalidProfile", "s", "broken");
        start_profile(x, "delta");
        assert_true(manager_fixture_wait_state(x, "running", WAIT));
        assert_int_equal(fake_systemd_count_calls(x->fake, "StartTransientUnit", "unified-one.service"), 1);
}

/* Profiles are root-equivalent: root reads none that others could have written, and nothing that could
 * block it. */
static void test_untrusted_profiles_are_refused(void **state) {
        ManagerFixture *x = *state;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        char dir[256], path[300];

        if (geteuid() != 0)
                skip();
        snprintf(dir, sizeof(dir), "%s/etc/unified/profiles", x->dir);
        /* A FIFO named like a profile: listed as broken, the daemon not blocked in open(). */
        snprintf(path, sizeof(path), "%s/fifo.yaml", dir);
        assert_int_equal(mkfifo(path, 0644), 0);
        /* A profile others may write. */
        manager_fixture_write_profile(x, "open", "name: open\nagents:\n  - name: one\n    exec: [/bin/sleep, infinity]\n");
        snprintf(path, sizeof(path), "%s/open.yaml", dir);
        assert_int_equal(chmod(path, 0666), 0);
        manager_fixture_start_manager(x);
        expect_error(x, "StartProfile", "org.unified1.Error.InvalidProfile", "s", "fifo");
        expect_error(x, "StartProfile", "org.unified1.Error.InvalidProfile", "s", "open");

        /* A directory others may write: nothing in it is read. */
        assert_int_equal(chmod(dir, 0777), 0);
        reply = call_ok(x, UNIFIED_OBJECT_PATH, UNIFIED_MANAGER_IFACE, "ReloadProfiles", NULL, NULL, NULL);
        reply = sd_bus_message_unref(reply);
        reply = call_ok(x, UNIFIED_OBJECT_PATH, UNIFIED_MANAGER_IFACE, "ListProfiles", NULL, NULL, NULL);
        assert_int_equal(count_array(reply, "(sso)"), 0);
        assert_int_equal(chmod(dir, 0755), 0);
}

static void test_untrusted_runtime_directory(void **state) {
        ManagerFixture *x = *state;
        Manager *m = NULL;

        if (geteuid() != 0)
                skip();
        assert_int_equal(mkdir(x->runtime_dir, 0777), 0);
        assert_int_equal(chmod(x->runtime_dir, 0777), 0);
        assert_int_equal(manager_new(&m), 0);
        assert_int_equal(manager_startup(m), -EPERM);
        manager_free(m);
}

/* ---------------------------------------------------------------------------------------------------
 * systemd off the bus: PID 1 re-executes (every upgrade of systemd), or dbus-daemon drops its
 * connection under load (bench/scale saw it at 1,000 units). What systemd announces meanwhile is
 * lost; when it is back, the daemon asks again. */

static void test_systemd_rejoin_finishes_unheard_starts(void **state) {
        ManagerFixture *x = *state;
        _cleanup_free_ char *s = NULL;

        manager_fixture_start_manager(x);
        assert_true(manager_fixture_wait_state(x, "inactive", WAIT));
        fake_systemd_mute(x->fake, true);
        start_profile(x, "alpha");
        /* The units come up and the start jobs end, unheard: the profile stays starting. */
        assert_true(manager_fixture_wait_unit(x, "unified-hub.service", "active", WAIT));
        assert_true(manager_fixture_wait_unit(x, "unified-worker.service", "active", WAIT));
        assert_true(manager_fixture_wait_unit(x, "unified-helper.service", "active", WAIT));
        manager_fixture_pump_for(x, 50 * USEC_PER_MSEC);
        s = manager_fixture_get_string(x, UNIFIED_OBJECT_PATH, UNIFIED_MANAGER_IFACE, "State");
        assert_string_equal(s, "starting");

        fake_systemd_rejoin(x->fake);
        assert_true(manager_fixture_wait_state(x, "running", WAIT));
        assert_true(manager_fixture_wait_agent(x, "hub", "ActiveState", "active", WAIT));
        assert_true(manager_fixture_wait_agent(x, "lazybones", "ActiveState", "inactive", WAIT));
        /* Subscribed again (systemd answers "already subscribed"), and nothing was started twice. */
        assert_int_equal(fake_systemd_count_calls(x->fake, "Subscribe", NULL), 2);
        assert_int_equal(fake_systemd_count_calls(x->fake, "StartTransientUnit", NULL), 4);

        /* Signals are heard again: a crash is followed. */
        fake_systemd_crash(x->fake, "unified-helper.service", "signal");
        assert_true(manager_fixture_wait_agent(x, "helper", "ActiveState", "active", WAIT));
        assert_true(manager_fixture_wait_state(x, "running", WAIT));
}

static void test_systemd_rejoin_finishes_unheard_stops(void **state) {
        ManagerFixture *x = *state;

        start_running(x, "alpha");
        fake_systemd_mute(x->fake, true);
        /* The switch waits for the stops of helper and lazybones before it starts extra; their JobRemoved
         * never comes. */
        start_profile(x, "beta");
        assert_true(manager_fixture_wait_unit(x, "unified-helper.service", NULL, WAIT));
        assert_true(manager_fixture_wait_unit(x, "unified-lazybones.socket", NULL, WAIT));
        manager_fixture_pump_for(x, 50 * USEC_PER_MSEC);
        assert_int_equal(fake_systemd_count_calls(x->fake, "StartTransientUnit", "unified-extra.service"), 0);

        fake_systemd_rejoin(x->fake);
        assert_true(manager_fixture_wait_state(x, "running", WAIT));
        assert_true(manager_fixture_wait_unit(x, "unified-extra.service", "active", WAIT));
        assert_true(fake_systemd_count_calls(x->fake, "GetJob", NULL) >= 1);
}

/* ---------------------------------------------------------------------------------------------------
 * Adoption: the daemon restarts, the agents do not */

static void test_restart_adopts_running_agents(void **state) {
        ManagerFixture *x = *state;

        start_running(x, "alpha");
        assert_true(manager_fixture_wait_unit(x, "unified@alpha.service", "active", WAIT));
        manager_fixture_stop_manager(x);

        /* The agents outlived the daemon; the next one takes them over without starting anything. */
        assert_int_equal(fake_systemd_count_units(x->fake, "unified-", "active"), 4);
        manager_fixture_start_manager(x);
        assert_true(manager_fixture_wait_state(x, "running", WAIT));
        assert_int_equal(fake_systemd_count_calls(x->fake, "StartTransientUnit", NULL), 4);
        assert_int_equal(fake_systemd_count_calls(x->fake, "StopUnit", NULL), 0);
        assert_true(manager_fixture_wait_agent(x, "lazybones", "ActiveState", "inactive", WAIT));
        assert_true(manager_fixture_wait_agent(x, "hub", "ActiveState", "active", WAIT));
}

static void test_adoption_without_state_file(void **state) {
        ManagerFixture *x = *state;
        char *env[] = { (char *) "UNIFIED_PROFILE=alpha", (char *) "UNIFIED_AGENT=hub", NULL };

        /* A previous daemon ran alpha, its state file is gone: the units say which profile they are. hub
         * runs; the rest is started; a unit of ours the profile does not have is stopped; someone else's
         * unit of a similar name (not in unified.slice) is left alone. */
        fake_systemd_add_unit(x->fake, "unified-hub.service", "unified.slice", env);
        fake_systemd_add_unit(x->fake, "unified-stray.service", "unified.slice", env);
        fake_systemd_add_unit(x->fake, "unified-other.service", "system.slice", NULL);
        manager_fixture_start_manager(x);
        assert_true(manager_fixture_wait_state(x, "running", WAIT));
        assert_int_equal(fake_systemd_count_calls(x->fake, "StartTransientUnit", "unified-hub.service"), 0);
        assert_int_equal(fake_systemd_count_calls(x->fake, "StartTransientUnit", "unified-worker.service"), 1);
        assert_int_equal(fake_systemd_count_calls(x->fake, "StartTransientUnit", "unified-lazybones.socket"), 1);
        assert_true(manager_fixture_wait_unit(x, "unified-stray.service", NULL, WAIT));
        assert_int_equal(fake_systemd_count_calls(x->fake, "StopUnit", "unified-other.service"), 0);
        /* The adopted profile converges with unified@alpha too. */
        assert_true(manager_fixture_wait_unit(x, "unified@alpha.service", "active", WAIT));
}

static void test_units_without_profile_are_left_alone(void **state) {
        ManagerFixture *x = *state;

        fake_systemd_add_unit(x->fake, "unified-hub.service", "unified.slice", NULL);
        manager_fixture_start_manager(x);
        assert_true(manager_fixture_wait_state(x, "inactive", WAIT));
        manager_fixture_pump_for(x, 50 * USEC_PER_MSEC);
        assert_int_equal(fake_systemd_count_calls(x->fake, "StopUnit", NULL), 0);
}

/* ---------------------------------------------------------------------------------------------------
 * Failures: systemd restarts, the breaker decides */

static void test_crash_is_restarted_by_systemd(void **state) {
        ManagerFixture *x = *state;

        start_running(x, "alpha");
        fake_systemd_crash(x->fake, "unified-helper.service", "signal");
        assert_true(manager_fixture_wait_agent(x, "helper", "ActiveState", "active", WAIT));
        /* One failure is far from the threshold: closed, running, no call of ours. */
        assert_true(manager_fixture_wait_state(x, "running", WAIT));
        assert_true(manager_fixture_wait_agent(x, "helper", "Breaker", "closed", WAIT));
        assert_int_equal(fake_systemd_count_calls(x->fake, "StartTransientUnit", "unified-helper.service"), 1);
}

static void test_crash_loop_opens_breaker_then_probe_closes_it(void **state) {
        ManagerFixture *x = *state;

        start_running(x, "alpha");

        /* Every start exits: systemd's start limit gives up, the breaker opens, the profile degrades (the
         * agent is not essential) and the rest keeps running. */
        fake_systemd_set_start(x->fake, "unified-helper.service", FAKE_START_EXIT);
        fake_systemd_crash(x->fake, "unified-helper.service", "exit-code");
        assert_true(manager_fixture_wait_agent(x, "helper", "Breaker", "open", WAIT));
        assert_true(manager_fixture_wait_state(x, "degraded", WAIT));
        assert_true(manager_fixture_wait_agent(x, "hub", "ActiveState", "active", WAIT));

        /* The cooldown ends: half-open, ResetFailedUnit and one new start, which now stays up through
         * the probation: closed, running. */
        fake_systemd_set_start(x->fake, "unified-helper.service", FAKE_START_OK);
        assert_true(manager_fixture_wait_agent(x, "helper", "Breaker", "half-open", WAIT));
        assert_true(manager_fixture_wait_agent(x, "helper", "Breaker", "closed", WAIT));
        assert_true(manager_fixture_wait_state(x, "running", WAIT));
        assert_true(fake_systemd_count_calls(x->fake, "ResetFailedUnit", "unified-helper.service") >= 1);
        assert_int_equal(fake_systemd_count_calls(x->fake, "StartTransientUnit", "unified-helper.service"), 2);
}

static void test_essential_agent_fails_profile(void **state) {
        ManagerFixture *x = *state;

        start_running(x, "alpha");
        fake_systemd_set_start(x->fake, "unified-hub.service", FAKE_START_EXIT);
        fake_systemd_crash(x->fake, "unified-hub.service", "exit-code");
        assert_true(manager_fixture_wait_agent(x, "hub", "Breaker", "open", WAIT));
        assert_true(manager_fixture_wait_state(x, "failed", WAIT));

        /* The operator's reset: closed at once and started again. */
        fake_systemd_set_start(x->fake, "unified-hub.service", FAKE_START_OK);
        call_s(x, "ResetBreaker", "hub");
        assert_true(manager_fixture_wait_agent(x, "hub", "Breaker", "closed", WAIT));
        assert_true(manager_fixture_wait_agent(x, "hub", "ActiveState", "active", WAIT));
        assert_true(manager_fixture_wait_state(x, "running", WAIT));
}

static void test_open_breaker_holds_agent(void **state) {
        ManagerFixture *x = *state;

        start_running(x, "alpha");
        call_s(x, "OpenBreaker", "helper");
        assert_true(manager_fixture_wait_agent(x, "helper", "Breaker", "open", WAIT));
        assert_true(manager_fixture_wait_unit(x, "unified-helper.service", NULL, WAIT));
        assert_true(manager_fixture_wait_state(x, "degraded", WAIT));
        /* Held: no probe while forced open, however long the cooldown. */
        manager_fixture_pump_for(x, 500 * USEC_PER_MSEC);
        assert_int_equal(fake_systemd_count_calls(x->fake, "StartTransientUnit", "unified-helper.service"), 1);
        call_s(x, "ResetBreaker", "helper");
        assert_true(manager_fixture_wait_unit(x, "unified-helper.service", "active", WAIT));
        assert_true(manager_fixture_wait_state(x, "running", WAIT));
}

/* Breakers live in the runtime directory: a new daemon finds them as they were, and a stopped profile's
 * records go with it. */
static void test_breakers_survive_restart(void **state) {
        ManagerFixture *x = *state;
        char path[512];

        start_running(x, "alpha");
        call_s(x, "OpenBreaker", "hub");
        assert_true(manager_fixture_wait_state(x, "failed", WAIT));
        snprintf(path, sizeof(path), "%s/breaker/hub", x->runtime_dir);
        assert_int_equal(access(path, F_OK), 0);
        manager_fixture_stop_manager(x);

        manager_fixture_start_manager(x);
        assert_true(manager_fixture_wait_agent(x, "hub", "Breaker", "open", WAIT));
        assert_true(manager_fixture_wait_state(x, "failed", WAIT));
        /* Forced open stays open: no probe. */
        manager_fixture_pump_for(x, 400 * USEC_PER_MSEC);
        assert_int_equal(fake_systemd_count_calls(x->fake, "StartTransientUnit", "unified-hub.service"), 1);

        call_s(x, "StopProfile", "alpha");
        assert_true(manager_fixture_wait_state(x, "inactive", WAIT));
        assert_int_equal(access(path, F_OK), -1);
}

static void test_refused_start(void **state) {
        ManagerFixture *x = *state;

        /* systemd refuses the unit (a property it rejects, say): a failure for the breaker. */
        fake_systemd_refuse(x->fake, "unified-helper.service", SD_BUS_ERROR_INVALID_ARGS, 0);
        manager_fixture_start_manager(x);
        start_profile(x, "alpha");
        assert_true(manager_fixture_wait_state(x, "degraded", WAIT));
        assert_true(manager_fixture_wait_agent(x, "hub", "ActiveState", "active", WAIT));
}

/* The bus, not systemd, refused (a flood of other calls hit the connection's limit): tried again, never
 * counted as the agent's failure. */
static void test_transient_errors_are_retried(void **state) {
        ManagerFixture *x = *state;

        fake_systemd_refuse(x->fake, "unified-helper.service", SD_BUS_ERROR_LIMITS_EXCEEDED, 2);
        fake_systemd_refuse(x->fake, "unified-worker.service", SD_BUS_ERROR_NO_REPLY, 1);
        start_running(x, "alpha");
        assert_int_equal(fake_systemd_count_calls(x->fake, "StartTransientUnit", "unified-helper.service"), 3);
        assert_int_equal(fake_systemd_count_calls(x->fake, "StartTransientUnit", "unified-worker.service"), 2);
        assert_true(manager_fixture_wait_agent(x, "helper", "Breaker", "closed", WAIT));
        assert_int_equal(systemd_client_retries(x->manager->systemd), 3);

        /* Past the attempts it is an answer like any other. */
        fake_systemd_refuse(x->fake, "unified-extra.service", SD_BUS_ERROR_LIMITS_EXCEEDED, 0);
        start_profile(x, "beta");
        assert_true(manager_fixture_wait_state(x, "degraded", 2 * WAIT));
        assert_int_equal(fake_systemd_count_calls(x->fake, "StartTransientUnit", "unified-extra.service"),
                         SYSTEMD_CALL_ATTEMPTS_MAX);
}

static void test_condition_false_is_not_a_failure(void **state) {
        ManagerFixture *x = *state;

        fake_systemd_set_start(x->fake, "unified-helper.service", FAKE_START_CONDITION);
        start_running(x, "alpha");
        assert_true(manager_fixture_wait_agent(x, "helper", "Breaker", "closed", WAIT));
}

static void test_restart_agent(void **state) {
        ManagerFixture *x = *state;

        start_running(x, "alpha");
        call_s(x, "RestartAgent", "worker");
        assert_int_equal(fake_systemd_count_calls(x->fake, "RestartUnit", "unified-worker.service"), 1);
        assert_true(manager_fixture_wait_state(x, "running", WAIT));
}

static void test_lazy_agent_starts_on_demand(void **state) {
        ManagerFixture *x = *state;

        start_running(x, "alpha");
        assert_true(manager_fixture_wait_agent(x, "lazybones", "ActiveState", "inactive", WAIT));
        fake_systemd_trigger(x->fake, "unified-lazybones.socket");
        assert_true(manager_fixture_wait_agent(x, "lazybones", "ActiveState", "active", WAIT));
        assert_true(manager_fixture_wait_state(x, "running", WAIT));
}

/* ---------------------------------------------------------------------------------------------------
 * polkit: unprivileged callers ask, root does not */

#define NOBODY 65534

typedef struct Caller {
        pid_t pid;
        int fd;
        char answer[256];
        bool done;
} Caller;

/* Manager.member(s arg) from a child process running as "nobody"; its answer ("ok" or the error name)
 * comes back through a pipe. The child blocks in its call, the test's thread pumps the manager. */
static void caller_start(ManagerFixture *x, Caller *c, const char *member, const char *arg, bool interactive) {
        int fds[2];

        assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
        c->pid = fork();
        assert_true(c->pid >= 0);
        if (c->pid == 0) {
                _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
                sd_bus_message *m = NULL, *reply = NULL;
                sd_bus *bus = NULL;
                const char *answer;

                close(fds[0]);
                if (setresgid(NOBODY, NOBODY, NOBODY) < 0 || setresuid(NOBODY, NOBODY, NOBODY) < 0 ||
                    sd_bus_new(&bus) < 0 || sd_bus_set_address(bus, x->bus.address) < 0 ||
                    sd_bus_set_bus_client(bus, 1) < 0 || sd_bus_start(bus) < 0 ||
                    sd_bus_message_new_method_call(bus, &m, UNIFIED_BUS_NAME, UNIFIED_OBJECT_PATH,
                                                   UNIFIED_MANAGER_IFACE, member) < 0 ||
                    sd_bus_message_append(m, "s", arg) < 0 ||
                    sd_bus_message_set_allow_interactive_authorization(m, interactive) < 0)
                        _exit(2);
                answer = sd_bus_call(bus, m, 10 * USEC_PER_SEC, &error, &reply) >= 0 ? "ok" : error.name;
                (void) write(fds[1], answer, strlen(answer));
                _exit(0);
        }
        close(fds[1]);
        c->fd = fds[0];
}

static bool caller_answered(ManagerFixture *x, void *userdata) {
        Caller *c = userdata;
        struct pollfd p = { .fd = c->fd, .events = POLLIN };
        ssize_t n;

        if (poll(&p, 1, 0) <= 0)
                return false;
        n = read(c->fd, c->answer, sizeof(c->answer) - 1);
        c->answer[MAX(n, (ssize_t) 0)] = 0;
        return true;
}

static const char *caller_wait(ManagerFixture *x, Caller *c) {
        int status;

        assert_true(manager_fixture_pump(x, caller_answered, c, WAIT));
        close(c->fd);
        assert_int_equal(waitpid(c->pid, &status, 0), c->pid);
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        return c->answer;
}

static const char *call_as_nobody(ManagerFixture *x, const char *member, const char *arg, bool interactive) {
        static Caller c;

        c = (Caller) {};
        caller_start(x, &c, member, arg, interactive);
        return caller_wait(x, &c);
}

static void test_polkit(void **state) {
        ManagerFixture *x = *state;
        unsigned pending;

        if (geteuid() != 0)
                skip();
        manager_fixture_start_manager(x);

        /* Reads need no authorization. */
        assert_string_equal(call_as_nobody(x, "GetProfile", "alpha", false), "ok");
        assert_int_equal(fake_polkit_checks(x->fake, NULL), 0);

        fake_polkit_set(x->fake, "org.unified1.manage-profiles", FAKE_POLKIT_DENY, 0);
        assert_string_equal(call_as_nobody(x, "StartProfile", "alpha", false), SD_BUS_ERROR_ACCESS_DENIED);
        fake_polkit_set(x->fake, "org.unified1.manage-profiles", FAKE_POLKIT_CHALLENGE, 0);
        assert_string_equal(call_as_nobody(x, "StartProfile", "alpha", false),
                            SD_BUS_ERROR_INTERACTIVE_AUTHORIZATION_REQUIRED);
        fake_polkit_set(x->fake, "org.unified1.manage-profiles", FAKE_POLKIT_ERROR, 0);
        assert_string_equal(call_as_nobody(x, "StartProfile", "alpha", false),
                            "org.freedesktop.PolicyKit1.Error.Failed");
        assert_int_equal(fake_systemd_count_calls(x->fake, "StartTransientUnit", NULL), 0);

        /* Allowed after a while: the call waits for polkit without blocking the daemon. */
        fake_polkit_set(x->fake, "org.unified1.manage-profiles", FAKE_POLKIT_ALLOW, 100 * USEC_PER_MSEC);
        assert_string_equal(call_as_nobody(x, "StartProfile", "alpha", false), "ok");
        assert_true(manager_fixture_wait_state(x, "running", WAIT));
        assert_int_equal(fake_polkit_checks(x->fake, &pending), 4);
        assert_int_equal(pending, 0);

        /* The agent actions are a separate action. */
        fake_polkit_set(x->fake, "org.unified1.manage-agents", FAKE_POLKIT_DENY, 0);
        assert_string_equal(call_as_nobody(x, "RestartAgent", "hub", false), SD_BUS_ERROR_ACCESS_DENIED);
        assert_string_equal(call_as_nobody(x, "OpenBreaker", "hub", false), SD_BUS_ERROR_ACCESS_DENIED);
        assert_int_equal(fake_systemd_count_calls(x->fake, "RestartUnit", NULL), 0);

        /* Root is not asked. */
        call_s(x, "RestartAgent", "hub");
        assert_int_equal(fake_polkit_checks(x->fake, NULL), 6);
}

/* "n" calls of Manager.member(s arg) as nobody, sent without waiting, then the caller hangs up. */
static void flood_as_nobody(ManagerFixture *x, unsigned n, const char *member, const char *arg) {
        pid_t pid;
        int status;

        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                sd_bus *bus = NULL;

                if (setresgid(NOBODY, NOBODY, NOBODY) < 0 || setresuid(NOBODY, NOBODY, NOBODY) < 0 ||
                    sd_bus_new(&bus) < 0 || sd_bus_set_address(bus, x->bus.address) < 0 ||
                    sd_bus_set_bus_client(bus, 1) < 0 || sd_bus_start(bus) < 0)
                        _exit(2);
                for (unsigned i = 0; i < n; i++) {
                        sd_bus_message *m = NULL;

                        if (sd_bus_message_new_method_call(bus, &m, UNIFIED_BUS_NAME, UNIFIED_OBJECT_PATH,
                                                           UNIFIED_MANAGER_IFACE, member) < 0 ||
                            sd_bus_message_append(m, "s", arg) < 0 || sd_bus_send(bus, m, NULL) < 0)
                                _exit(3);
                        sd_bus_message_unref(m);
                }
                (void) sd_bus_flush(bus);
                _exit(0);
        }
        /* The daemon reads the calls while the child writes them. */
        while (waitpid(pid, &status, WNOHANG) == 0)
                manager_fixture_pump_for(x, 5 * USEC_PER_MSEC);
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static bool registry_empty(ManagerFixture *x, void *userdata) {
        return polkit_registry_size(x->manager->polkit) == 0;
}

/* A hostile local user floods the daemon with calls that need polkit, with a slow polkit, and hangs up:
 * the checks in flight stay bounded, the daemon's own calls to systemd do not fail, and nothing of the
 * flood is left behind. */
static void test_polkit_flood(void **state) {
        ManagerFixture *x = *state;

        if (geteuid() != 0)
                skip();
        manager_fixture_start_manager(x);
        fake_polkit_set(x->fake, "org.unified1.manage-profiles", FAKE_POLKIT_DENY, 1 * USEC_PER_SEC);
        flood_as_nobody(x, 300, "StartProfile", "beta");
        start_profile(x, "alpha");
        assert_true(manager_fixture_wait_state(x, "running", WAIT));

        assert_true(fake_polkit_peak_pending(x->fake) <= POLKIT_QUERIES_PER_UID_MAX);
        assert_true(fake_polkit_checks(x->fake, NULL) <= POLKIT_QUERIES_PER_UID_MAX);
        assert_int_equal(systemd_client_retries(x->manager->systemd), 0);
        assert_true(manager_fixture_wait_agent(x, "helper", "Breaker", "closed", WAIT));
        /* The answers come for callers that are gone: consumed all the same. */
        assert_true(manager_fixture_pump(x, registry_empty, NULL, WAIT));
        assert_int_equal(fake_systemd_count_calls(x->fake, "StartTransientUnit", "unified-extra.service"), 0);
}

static bool polkit_asked(ManagerFixture *x, void *userdata) {
        unsigned pending;

        (void) fake_polkit_checks(x->fake, &pending);
        return pending > 0;
}

/* The second pass returns early (the agent left while polkit thought): the verdict is dropped later. */
static void test_polkit_unclaimed_verdict(void **state) {
        ManagerFixture *x = *state;
        Caller c = {};

        if (geteuid() != 0)
                skip();
        start_running(x, "alpha");
        fake_polkit_set(x->fake, "org.unified1.manage-agents", FAKE_POLKIT_ALLOW, 300 * USEC_PER_MSEC);
        caller_start(x, &c, "RestartAgent", "helper", false);
        /* polkit is thinking; meanwhile the agent leaves with a switch. */
        assert_true(manager_fixture_pump(x, polkit_asked, NULL, WAIT));
        start_profile(x, "beta");
        assert_string_equal(caller_wait(x, &c), "org.unified1.Error.NoSuchAgent");
        assert_int_equal(polkit_registry_size(x->manager->polkit), 1);
        assert_true(manager_fixture_pump(x, registry_empty, NULL, POLKIT_UNCLAIMED_USEC + 2 * USEC_PER_SEC));
        assert_int_equal(fake_systemd_count_calls(x->fake, "RestartUnit", NULL), 0);
}

/* ---------------------------------------------------------------------------------------------------
 * Faults on purpose: each kind injected, detected, undone and recovered, measured from events */

typedef struct FaultResult {
        uint64_t id, parent;
        char kind[16];
        char agent[64];
        int recovered;
        uint64_t injected, detected, undone, recovered_at;
        char detail[256];
} FaultResult;

typedef struct FaultWatch {
        FaultResult results[64];
        size_t n;
} FaultWatch;

static int on_fault_finished(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        FaultWatch *w = userdata;
        FaultResult *f;
        const char *kind, *agent, *detail;

        if (w->n >= ELEMENTSOF(w->results))
                return 0;
        f = &w->results[w->n];
        assert_true(sd_bus_message_read(m, "ttssbtttts", &f->id, &f->parent, &kind, &agent, &f->recovered,
                                        &f->injected, &f->detected, &f->undone, &f->recovered_at, &detail) >= 0);
        snprintf(f->kind, sizeof(f->kind), "%s", kind);
        snprintf(f->agent, sizeof(f->agent), "%s", agent);
        snprintf(f->detail, sizeof(f->detail), "%s", detail);
        w->n++;
        return 0;
}

static void watch_faults(ManagerFixture *x, FaultWatch *w) {
        *w = (FaultWatch) {};
        assert_true(sd_bus_match_signal(x->client, NULL, UNIFIED_BUS_NAME, UNIFIED_OBJECT_PATH, UNIFIED_MANAGER_IFACE,
                                        "FaultFinished", on_fault_finished, w) >= 0);
}

typedef struct WaitFault {
        FaultWatch *watch;
        uint64_t id;
} WaitFault;

static bool fault_finished(ManagerFixture *x, void *userdata) {
        WaitFault *wf = userdata;

        for (size_t i = 0; i < wf->watch->n; i++)
                if (wf->watch->results[i].id == wf->id)
                        return true;
        return false;
}

/* Injects a fault and waits for its FaultFinished. "option" may be NULL, else one option of type "t". */
static const FaultResult *inject(ManagerFixture *x, FaultWatch *w, const char *kind, const char *agent,
                                 usec_t duration, const char *option, uint64_t value) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        WaitFault wf = { .watch = w };

        if (option)
                reply = manager_fixture_call(x, UNIFIED_OBJECT_PATH, UNIFIED_MANAGER_IFACE, "InjectFault", &error,
                                             "ssta{sv}", kind, agent, duration, 1, option, "t", value);
        else
                reply = manager_fixture_call(x, UNIFIED_OBJECT_PATH, UNIFIED_MANAGER_IFACE, "InjectFault", &error,
                                             "ssta{sv}", kind, agent, duration, 0);
        if (!reply)
                fail_msg("InjectFault(%s, %s): %s: %s", kind, agent, error.name, error.message);
        assert_true(sd_bus_message_read(reply, "t", &wf.id) >= 0);
        assert_true(manager_fixture_pump(x, fault_finished, &wf, 2 * WAIT));
        for (size_t i = 0; i < w->n; i++)
                if (w->results[i].id == wf.id)
                        return &w->results[i];
        return NULL;
}

static void assert_recovered(const FaultResult *f) {
        if (!f->recovered)
                fail_msg("fault %s on %s not recovered: %s", f->kind, f->agent, f->detail);
        assert_true(f->detected != UINT64_MAX || streq(f->kind, "stress"));
        assert_true(f->recovered_at != UINT64_MAX && f->recovered_at >= f->injected);
}

static void start_gamma(ManagerFixture *x, FaultWatch *w) {
        manager_fixture_start_manager(x);
        watch_faults(x, w);
        start_profile(x, "gamma");
        assert_true(manager_fixture_wait_state(x, "running", WAIT));
}

static void expect_fault_error(ManagerFixture *x, const char *kind, const char *agent, const char *error_name);

static void test_fault_kill(void **state) {
        ManagerFixture *x = *state;
        FaultWatch w;
        const FaultResult *f;

        start_gamma(x, &w);
        f = inject(x, &w, "kill", "leaf", 0, NULL, 0);
        assert_recovered(f);
        assert_string_equal(f->agent, "leaf");
        assert_int_equal(fake_systemd_count_calls(x->fake, "KillUnit", "unified-leaf.service"), 1);
        assert_true(manager_fixture_wait_state(x, "running", WAIT));
}

static void test_fault_memory(void **state) {
        ManagerFixture *x = *state;
        FaultWatch w;
        const FaultResult *f;

        start_gamma(x, &w);
        f = inject(x, &w, "memory", "leaf", 0, NULL, 0);
        assert_recovered(f);
        assert_non_null(strstr(f->detail, "oom-kill"));
        /* The squeeze is undone: the profile's limit is back. */
        assert_unit_property(x, "unified-leaf.service", "MemoryMax", "16777216");
        assert_int_equal(fake_systemd_count_calls(x->fake, "SetUnitProperties", "unified-leaf.service"), 2);
}

static void test_fault_partition(void **state) {
        ManagerFixture *x = *state;
        FaultWatch w;
        const FaultResult *f;
        FaultResult copy;

        start_gamma(x, &w);
        /* Only agents with network can be cut off. */
        expect_fault_error(x, "partition", "leaf", SD_BUS_ERROR_INVALID_ARGS);
        f = inject(x, &w, "partition", "gate", 200 * USEC_PER_MSEC, NULL, 0);
        copy = *f;
        assert_recovered(&copy);
        assert_true(copy.undone - copy.injected >= 200 * USEC_PER_MSEC);
        assert_unit_property(x, "unified-gate.service", "IPAddressDeny", "");
}

static void test_fault_outage(void **state) {
        ManagerFixture *x = *state;
        FaultWatch w;
        const FaultResult *f;

        start_gamma(x, &w);
        /* No agent named: the cloud LLM gateway. */
        f = inject(x, &w, "outage", "", 200 * USEC_PER_MSEC, NULL, 0);
        assert_recovered(f);
        assert_string_equal(f->agent, "llm-cloud-gateway");
        assert_int_equal(fake_systemd_count_calls(x->fake, "StopUnit", "unified-llm-cloud-gateway.service"), 1);
        /* Created again (twice if the first attempt came before systemd collected the stopped unit). */
        assert_true(fake_systemd_count_calls(x->fake, "StartTransientUnit", "unified-llm-cloud-gateway.service") >= 2);
        assert_true(manager_fixture_wait_state(x, "running", WAIT));
}

static void test_fault_cascade(void **state) {
        ManagerFixture *x = *state;
        FaultWatch w;
        const FaultResult *f;

        start_gamma(x, &w);
        f = inject(x, &w, "cascade", "gate", 0, NULL, 0);
        assert_recovered(f);
        assert_non_null(strstr(f->detail, "dependents"));
        assert_true(manager_fixture_wait_state(x, "running", WAIT));
}

static void test_fault_stress(void **state) {
        ManagerFixture *x = *state;
        FaultWatch w;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        WaitFault wf = { .watch = &w };
        size_t children = 0;

        start_gamma(x, &w);
        reply = manager_fixture_call(x, UNIFIED_OBJECT_PATH, UNIFIED_MANAGER_IFACE, "InjectFault", &error, "ssta{sv}",
                                     "stress", "", 300 * USEC_PER_MSEC, 2, "interval", "t", 100 * USEC_PER_MSEC,
                                     "kinds", "s", "kill,memory");
        if (!reply)
                fail_msg("InjectFault(stress): %s: %s", error.name, error.message);
        assert_true(sd_bus_message_read(reply, "t", &wf.id) >= 0);
        assert_true(manager_fixture_pump(x, fault_finished, &wf, 3 * WAIT));
        for (size_t i = 0; i < w.n; i++) {
                if (w.results[i].parent == wf.id) {
                        children++;
                        assert_recovered(&w.results[i]);
                } else if (w.results[i].id == wf.id)
                        assert_true(w.results[i].recovered);
        }
        assert_true(children >= 1);
}

static void expect_fault_error(ManagerFixture *x, const char *kind, const char *agent, const char *error_name) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;

        reply = manager_fixture_call(x, UNIFIED_OBJECT_PATH, UNIFIED_MANAGER_IFACE, "InjectFault", &error, "ssta{sv}",
                                     kind, agent, (uint64_t) 0, 0);
        if (reply)
                fail_msg("InjectFault(%s, %s) succeeded, expected %s", kind, agent, error_name);
        if (!sd_bus_error_has_name(&error, error_name))
                fail_msg("InjectFault(%s, %s): expected %s, got %s: %s", kind, agent, error_name, error.name,
                         error.message);
}

static void test_fault_bad_arguments(void **state) {
        ManagerFixture *x = *state;
        FaultWatch w;

        manager_fixture_start_manager(x);
        expect_fault_error(x, "kill", "leaf", "org.unified1.Error.NoActiveProfile");
        watch_faults(x, &w);
        start_profile(x, "gamma");
        assert_true(manager_fixture_wait_state(x, "running", WAIT));
        expect_fault_error(x, "bogus", "leaf", SD_BUS_ERROR_INVALID_ARGS);
        expect_fault_error(x, "kill", "nobody", "org.unified1.Error.NoSuchAgent");
        expect_fault_error(x, "kill", "../x", SD_BUS_ERROR_INVALID_ARGS);
        assert_int_equal(fake_systemd_count_calls(x->fake, "KillUnit", NULL), 0);
}

/* A daemon that died mid-fault left a record: the next one undoes the fault before it serves. */
static void test_fault_records_are_undone_at_startup(void **state) {
        ManagerFixture *x = *state;
        char path[512];
        FILE *f;
        FaultWatch w;

        start_gamma(x, &w);
        manager_fixture_stop_manager(x);

        snprintf(path, sizeof(path), "%s/faults", x->runtime_dir);
        assert_int_equal(mkdir_p(path, 0755), 0);
        snprintf(path, sizeof(path), "%s/faults/fault-7", x->runtime_dir);
        f = fopen(path, "we");
        assert_non_null(f);
        fputs("id=7\nkind=memory\nagent=leaf\nunit=unified-leaf.service\nprofile=gamma\n"
              "memory_max=16777216\nswap_max=18446744073709551615\n", f);
        assert_int_equal(fclose(f), 0);
        snprintf(path, sizeof(path), "%s/faults/fault-8", x->runtime_dir);
        f = fopen(path, "we");
        assert_non_null(f);
        fputs("id=8\nkind=partition\nagent=gate\nunit=unified-gate.service\nprofile=gamma\ndeny=\n", f);
        assert_int_equal(fclose(f), 0);

        manager_fixture_start_manager(x);
        assert_true(manager_fixture_wait_state(x, "running", WAIT));
        manager_fixture_pump_for(x, 50 * USEC_PER_MSEC);
        assert_int_equal(fake_systemd_count_calls(x->fake, "SetUnitProperties", "unified-leaf.service"), 1);
        assert_int_equal(fake_systemd_count_calls(x->fake, "SetUnitProperties", "unified-gate.service"), 1);
        assert_unit_property(x, "unified-leaf.service", "MemoryMax", "16777216");
        assert_int_equal(access(path, F_OK), -1);
}

/* InjectFault without waiting for the outcome: the fault's id. */
static uint64_t inject_async(ManagerFixture *x, const char *kind, const char *agent, usec_t duration,
                             const char *option, uint64_t value) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        uint64_t id;

        reply = manager_fixture_call(x, UNIFIED_OBJECT_PATH, UNIFIED_MANAGER_IFACE, "InjectFault", &error, "ssta{sv}",
                                     kind, agent, duration, option ? 1 : 0, option, "t", value);
        if (!reply)
                fail_msg("InjectFault(%s, %s): %s: %s", kind, agent, error.name, error.message);
        assert_true(sd_bus_message_read(reply, "t", &id) >= 0);
        return id;
}

static char *revert_unit_name(uint64_t id, const char *suffix) {
        char *s;

        assert_true(asprintf(&s, "unified-fault-revert-%" PRIu64 "%s", id, suffix) >= 0);
        return s;
}

/* A stopped timer goes once its stop job is done, with the service it never started. */
static bool revert_units_gone(ManagerFixture *x, void *userdata) {
        return fake_systemd_count_units(x->fake, "unified-fault-revert-", NULL) == 0;
}

static bool no_records(ManagerFixture *x, void *userdata) {
        char path[512];
        DIR *d;
        struct dirent *de;
        bool empty = true;

        snprintf(path, sizeof(path), "%s/faults", x->runtime_dir);
        d = opendir(path);
        if (!d)
                return true;
        while ((de = readdir(d)))
                if (strncmp(de->d_name, "fault-", 6) == 0)
                        empty = false;
        closedir(d);
        return empty;
}

/* systemd refuses the undo twice: the fault stays undoing (in the Manager's Faults property too), its record
 * stays, the third attempt (1 s and 2 s later) is confirmed, and only then does the fault finish, recovered. */
static void test_fault_undo_is_retried(void **state) {
        ManagerFixture *x = *state;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        const char *kind, *agent, *phase, *detail;
        FaultWatch w;
        WaitFault wf = { .watch = &w };
        usec_t start;
        uint64_t id;

        start_gamma(x, &w);
        wf.id = inject_async(x, "partition", "gate", 200 * USEC_PER_MSEC, NULL, 0);
        fake_systemd_refuse_properties(x->fake, "unified-gate.service", "org.freedesktop.DBus.Error.AccessDenied", 2);
        start = now(CLOCK_MONOTONIC);
        /* The first retry is a second away: still in flight, still recorded, still cut off. */
        manager_fixture_pump_for(x, 800 * USEC_PER_MSEC);
        assert_int_equal(w.n, 0);
        assert_false(no_records(x, NULL));
        assert_unit_property(x, "unified-gate.service", "IPAddressDeny", "set");
        /* ... and says so on the bus. */
        reply = manager_fixture_call(x, UNIFIED_OBJECT_PATH, "org.freedesktop.DBus.Properties", "Get", &error, "ss",
                                     UNIFIED_MANAGER_IFACE, "Faults");
        assert_non_null(reply);
        assert_true(sd_bus_message_enter_container(reply, 'v', "a(tssss)") > 0);
        assert_true(sd_bus_message_enter_container(reply, 'a', "(tssss)") > 0);
        assert_true(sd_bus_message_read(reply, "(tssss)", &id, &kind, &agent, &phase, &detail) > 0);
        assert_true(id == wf.id);
        assert_string_equal(kind, "partition");
        assert_string_equal(agent, "gate");
        assert_string_equal(phase, "undoing");
        assert_non_null(strstr(detail, "failed to undo (attempt 1, again in 1.000s): Refused"));
        assert_int_equal(sd_bus_message_read(reply, "(tssss)", &id, &kind, &agent, &phase, &detail), 0);
        assert_true(manager_fixture_pump(x, fault_finished, &wf, 2 * WAIT));
        assert_true(now(CLOCK_MONOTONIC) - start >= 3 * USEC_PER_SEC - 300 * USEC_PER_MSEC);
        assert_recovered(&w.results[0]);
        /* The lever, two refusals, the confirmed undo. */
        assert_int_equal(fake_systemd_count_calls(x->fake, "SetUnitProperties", "unified-gate.service"), 4);
        assert_unit_property(x, "unified-gate.service", "IPAddressDeny", "");
        assert_true(no_records(x, NULL));
}

/* The revert timer is armed before the lever, names the unit and the old values, runs only while the record
 * exists, and is stopped by the daemon's own undo, before that undo goes out. */
static void test_fault_revert_timer(void **state) {
        ManagerFixture *x = *state;
        FaultWatch w;
        WaitFault wf = { .watch = &w };
        _cleanup_free_ char *timer = NULL, *service = NULL, *exec = NULL, *cond = NULL, *when = NULL;
        _cleanup_strv_free_ char **calls = NULL;
        char record[512], line[600];
        ssize_t i_arm = -1, i_lever = -1, i_stop = -1, i_undo = -1, i = 0;

        start_gamma(x, &w);
        wf.id = inject_async(x, "memory", "leaf", 5 * USEC_PER_SEC, "limit", 1024ULL * 1024 * 1024);
        timer = revert_unit_name(wf.id, ".timer");
        service = revert_unit_name(wf.id, ".service");
        _cleanup_free_ char *st = fake_systemd_unit_state(x->fake, timer, NULL);
        assert_true(streq_ptr(st, "activating") || streq_ptr(st, "active"));
        /* 5 s and the margin from now, as an absolute time that a daemon-reload does not move. */
        when = fake_systemd_unit_property(x->fake, timer, "TimersCalendar");
        assert_non_null(when);
        {
                usec_t expected = now(CLOCK_REALTIME) + 8 * USEC_PER_SEC;
                struct tm tm = {};
                char *end;

                end = strptime(strstr(when, "OnCalendar ") + strlen("OnCalendar "), "%Y-%m-%d %H:%M:%S", &tm);
                assert_non_null(end);
                assert_true(strneq(end, ".", 1) && strstr(end, " UTC"));
                assert_true((usec_t) timegm(&tm) * USEC_PER_SEC <= expected &&
                            (usec_t) timegm(&tm) * USEC_PER_SEC + 2 * USEC_PER_SEC >= expected);
        }
        exec = fake_systemd_unit_property(x->fake, service, "ExecStart");
        assert_non_null(exec);
        assert_non_null(strstr(exec, "set-property --runtime -- unified-leaf.service MemoryMax=16777216 "
                                     "MemorySwapMax=infinity]"));
        snprintf(record, sizeof(record), "%s/faults/fault-%" PRIu64, x->runtime_dir, wf.id);
        cond = fake_systemd_unit_property(x->fake, service, "Conditions");
        assert_non_null(cond);
        assert_non_null(strstr(cond, record));
        assert_int_equal(access(record, F_OK), 0);
        assert_unit_property(x, "unified-leaf.service", "MemoryMax", "1073741824");

        /* The daemon ends the squeeze itself: the timer is stopped and goes, with its service. */
        call_s(x, "StopProfile", "gamma");
        assert_true(manager_fixture_pump(x, fault_finished, &wf, 2 * WAIT));
        assert_int_equal(fake_systemd_count_calls(x->fake, "StopUnit", timer), 1);
        assert_true(manager_fixture_wait_state(x, "inactive", WAIT));
        assert_true(manager_fixture_pump(x, revert_units_gone, NULL, WAIT));
        assert_int_equal(access(record, F_OK), -1);

        /* In that order: timer, lever; then the timer's stop, then the undo. */
        calls = fake_systemd_calls(x->fake);
        snprintf(line, sizeof(line), "StartTransientUnit %s", timer);
        STRV_FOREACH(c, calls) {
                if (streq(*c, line))
                        i_arm = i;
                else if (streq(*c, "SetUnitProperties unified-leaf.service"))
                        *(i_lever < 0 ? &i_lever : &i_undo) = i;
                else if (strncmp(*c, "StopUnit ", 9) == 0 && streq(*c + 9, timer))
                        i_stop = i;
                i++;
        }
        assert_true(i_arm >= 0 && i_arm < i_lever && i_lever < i_stop && i_stop < i_undo);
}

/* No revert timer, no lever: a fault systemd could not undo alone is not injected. */
static void test_fault_without_revert_timer_is_refused(void **state) {
        ManagerFixture *x = *state;
        FaultWatch w;

        start_gamma(x, &w);
        fake_systemd_refuse(x->fake, "unified-fault-revert-1.timer", "org.freedesktop.systemd1.UnitExists", 1);
        expect_fault_error(x, "partition", "gate", "org.unified1.Error.FaultFailed");
        assert_int_equal(fake_systemd_count_calls(x->fake, "SetUnitProperties", "unified-gate.service"), 0);
        assert_unit_property(x, "unified-gate.service", "IPAddressDeny", NULL);
        assert_true(no_records(x, NULL));
        assert_int_equal(chaos_faults_in_flight(x->manager->chaos), 0);
}

/* A switch during a squeeze changes the agent's limit: the undo of the old profile's squeeze must not
 * put the old limit back over it, and the timer that would is stopped first. */
static void test_fault_switch_during_squeeze_keeps_new_limit(void **state) {
        ManagerFixture *x = *state;
        FaultWatch w;
        WaitFault wf = { .watch = &w };
        _cleanup_free_ char *timer = NULL;

        manager_fixture_write_profile(x, "epsilon", epsilon_yaml);
        start_gamma(x, &w);
        wf.id = inject_async(x, "memory", "leaf", 10 * USEC_PER_SEC, "limit", 1024ULL * 1024 * 1024);
        timer = revert_unit_name(wf.id, ".timer");
        assert_unit_property(x, "unified-leaf.service", "MemoryMax", "1073741824");
        start_profile(x, "epsilon");
        assert_true(manager_fixture_pump(x, fault_finished, &wf, 2 * WAIT));
        assert_false(w.results[0].recovered);
        assert_non_null(strstr(w.results[0].detail, "replaced"));
        assert_true(manager_fixture_wait_state(x, "running", WAIT));
        manager_fixture_pump_for(x, 100 * USEC_PER_MSEC);
        assert_unit_property(x, "unified-leaf.service", "MemoryMax", "25165824");
        assert_int_equal(fake_systemd_count_calls(x->fake, "StopUnit", timer), 1);
        assert_true(manager_fixture_pump(x, revert_units_gone, NULL, WAIT));
        assert_true(no_records(x, NULL));
}

/* The agents' sandbox as systemd receives it: the (bas) and i properties go through systemd-client's
 * serializer in the types systemd 252 reads (bus_exec_context_set_transient_property()). */
static void test_agent_sandbox_reaches_systemd(void **state) {
        ManagerFixture *x = *state;

        start_running(x, "alpha");
        assert_unit_property(x, "unified-hub.service", "SystemCallFilter", "(yes [@system-service])");
        assert_unit_property(x, "unified-hub.service", "SystemCallErrorNumber", "1");
        assert_unit_property(x, "unified-hub.service", "RestrictAddressFamilies", "(yes [AF_UNIX])");
        assert_unit_property(x, "unified-hub.service", "CapabilityBoundingSet", "0");
        assert_unit_property(x, "unified-hub.service", "AmbientCapabilities", "0");
        assert_unit_property(x, "unified-hub.service", "UMask", "63");
        assert_unit_property(x, "unified-hub.service", "ProtectProc", "invisible");
        assert_unit_property(x, "unified-hub.service", "ProcSubset", "pid");
        assert_unit_property(x, "unified-hub.service", "MemoryDenyWriteExecute", "yes");
        assert_unit_property(x, "unified-hub.service", "DevicePolicy", "closed");
        assert_unit_property(x, "unified-hub.service", "KeyringMode", "private");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_start_profile, setup, teardown),
                cmocka_unit_test_setup_teardown(test_switch_keeps_shared_agents, setup, teardown),
                cmocka_unit_test_setup_teardown(test_switch_cancels_the_instance_start, setup, teardown),
                cmocka_unit_test_setup_teardown(test_stop_cancels_the_instance_start, setup, teardown),
                cmocka_unit_test_setup_teardown(test_stop_profile, setup, teardown),
                cmocka_unit_test_setup_teardown(test_instance_stop_echo, setup, teardown),
                cmocka_unit_test_setup_teardown(test_bad_arguments, setup, teardown),
                cmocka_unit_test_setup_teardown(test_read_api, setup, teardown),
                cmocka_unit_test_setup_teardown(test_reload_profiles, setup, teardown),
                cmocka_unit_test_setup_teardown(test_untrusted_profiles_are_refused, setup, teardown),
                cmocka_unit_test_setup_teardown(test_untrusted_runtime_directory, setup, teardown),
                cmocka_unit_test_setup_teardown(test_systemd_rejoin_finishes_unheard_starts, setup, teardown),
                cmocka_unit_test_setup_teardown(test_systemd_rejoin_finishes_unheard_stops, setup, teardown),
                cmocka_unit_test_setup_teardown(test_restart_adopts_running_agents, setup, teardown),
                cmocka_unit_test_setup_teardown(test_adoption_without_state_file, setup, teardown),
                cmocka_unit_test_setup_teardown(test_units_without_profile_are_left_alone, setup, teardown),
                cmocka_unit_test_setup_teardown(test_crash_is_restarted_by_systemd, setup, teardown),
                cmocka_unit_test_setup_teardown(test_crash_loop_opens_breaker_then_probe_closes_it, setup, teardown),
                cmocka_unit_test_setup_teardown(test_essential_agent_fails_profile, setup, teardown),
                cmocka_unit_test_setup_teardown(test_open_breaker_holds_agent, setup, teardown),
                cmocka_unit_test_setup_teardown(test_breakers_survive_restart, setup, teardown),
                cmocka_unit_test_setup_teardown(test_refused_start, setup, teardown),
                cmocka_unit_test_setup_teardown(test_transient_errors_are_retried, setup, teardown),
                cmocka_unit_test_setup_teardown(test_condition_false_is_not_a_failure, setup, teardown),
                cmocka_unit_test_setup_teardown(test_restart_agent, setup, teardown),
                cmocka_unit_test_setup_teardown(test_lazy_agent_starts_on_demand, setup, teardown),
                cmocka_unit_test_setup_teardown(test_polkit, setup, teardown),
                cmocka_unit_test_setup_teardown(test_polkit_flood, setup, teardown),
                cmocka_unit_test_setup_teardown(test_polkit_unclaimed_verdict, setup, teardown),
                cmocka_unit_test_setup_teardown(test_fault_kill, setup, teardown),
                cmocka_unit_test_setup_teardown(test_fault_memory, setup, teardown),
                cmocka_unit_test_setup_teardown(test_fault_partition, setup, teardown),
                cmocka_unit_test_setup_teardown(test_fault_outage, setup, teardown),
                cmocka_unit_test_setup_teardown(test_fault_cascade, setup, teardown),
                cmocka_unit_test_setup_teardown(test_fault_stress, setup, teardown),
                cmocka_unit_test_setup_teardown(test_fault_bad_arguments, setup, teardown),
                cmocka_unit_test_setup_teardown(test_fault_records_are_undone_at_startup, setup, teardown),
                cmocka_unit_test_setup_teardown(test_fault_undo_is_retried, setup, teardown),
                cmocka_unit_test_setup_teardown(test_fault_revert_timer, setup, teardown),
                cmocka_unit_test_setup_teardown(test_fault_without_revert_timer_is_refused, setup, teardown),
                cmocka_unit_test_setup_teardown(test_fault_switch_during_squeeze_keeps_new_limit, setup, teardown),
                cmocka_unit_test_setup_teardown(test_agent_sandbox_reaches_systemd, setup, teardown),
        };

        if (test_bus_skip_if_missing())
                return 0;
        cmocka_set_message_output(CM_OUTPUT_TAP);
        return cmocka_run_group_tests(tests, NULL, NULL);
}
