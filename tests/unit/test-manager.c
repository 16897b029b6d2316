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
#include <unistd.h>

#include <cmocka.h>

#include "manager-fixture.h"
#include "state.h"
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

static int setup(void **state) {
        ManagerFixture *x = calloc(1, sizeof(ManagerFixture));

        assert_non_null(x);
        manager_fixture_init(x, "252.39-1~deb12u2");
        manager_fixture_write_profile(x, "alpha", alpha_yaml);
        manager_fixture_write_profile(x, "beta", beta_yaml);
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

        manager_fixture_start_manager(x);
        start_profile(x, "alpha");
        assert_true(manager_fixture_wait_state(x, "running", WAIT));
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

static void test_stop_profile(void **state) {
        ManagerFixture *x = *state;
        _cleanup_free_ char *active = NULL;

        manager_fixture_start_manager(x);
        start_profile(x, "alpha");
        assert_true(manager_fixture_wait_state(x, "running", WAIT));
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
        expect_error(x, "StartProfile", "org.unified1.Error.NoSuchProfile", "s", "gamma");
        expect_error(x, "StopProfile", "org.unified1.Error.NoSuchProfile", "s", "gamma");
        expect_error(x, "RestartAgent", "org.unified1.Error.NoActiveProfile", "s", "hub");
        expect_error(x, "GetProfile", "org.unified1.Error.NoSuchProfile", "s", "gamma");
        start_profile(x, "alpha");
        expect_error(x, "RestartAgent", "org.unified1.Error.NoSuchAgent", "s", "nobody");
        expect_error(x, "ResetBreaker", "org.unified1.Error.NoSuchAgent", "s", "nobody");
        expect_error(x, "GetAgent", "org.unified1.Error.NoSuchAgent", "s", "nobody");
        assert_true(manager_fixture_wait_state(x, "running", WAIT));

        /* A switch waiting for its stops is not interrupted by another. */
        fake_systemd_set_stop_time(x->fake, 300 * USEC_PER_MSEC);
        start_profile(x, "beta");
        expect_error(x, "StartProfile", "org.unified1.Error.Busy", "s", "alpha");
        assert_true(manager_fixture_wait_state(x, "running", WAIT));
        assert_int_equal(fake_systemd_count_calls(x->fake, "StartTransientUnit", NULL), 5);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_start_profile, setup, teardown),
                cmocka_unit_test_setup_teardown(test_switch_keeps_shared_agents, setup, teardown),
                cmocka_unit_test_setup_teardown(test_stop_profile, setup, teardown),
                cmocka_unit_test_setup_teardown(test_bad_arguments, setup, teardown),
        };

        if (test_bus_skip_if_missing())
                return 0;
        cmocka_set_message_output(CM_OUTPUT_TAP);
        return cmocka_run_group_tests(tests, NULL, NULL);
}
