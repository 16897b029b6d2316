/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The in-process manager of the core's tests (manager-fixture.h). */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "fs-util.h"
#include "manager-fixture.h"

void manager_fixture_init(ManagerFixture *x, const char *version) {
        char path[256];

        *x = (ManagerFixture) {};
        /* The limit of Debian's system bus, which a flood of callers must not push the daemon into. */
        test_bus_start(&x->bus, 128);
        x->fake = fake_systemd_start(x->bus.address, version);

        strcpy(x->dir, "/tmp/test-manager.XXXXXX");
        assert_non_null(mkdtemp(x->dir));
        snprintf(path, sizeof(path), "%s/etc/unified/profiles", x->dir);
        assert_int_equal(mkdir_p(path, 0755), 0);
        assert_int_equal(asprintf(&x->runtime_dir, "%s/run", x->dir) > 0, true);
        assert_int_equal(setenv("DBUS_SYSTEM_BUS_ADDRESS", x->bus.address, 1), 0);
        assert_int_equal(setenv("UNIFIED_ROOT", x->dir, 1), 0);
        assert_int_equal(setenv("UNIFIED_RUNTIME_DIR", x->runtime_dir, 1), 0);
}

void manager_fixture_write_profile(ManagerFixture *x, const char *name, const char *yaml) {
        char path[256];
        FILE *f;

        snprintf(path, sizeof(path), "%s/etc/unified/profiles/%s.yaml", x->dir, name);
        f = fopen(path, "we");
        assert_non_null(f);
        fputs(yaml, f);
        assert_int_equal(fclose(f), 0);
}

void manager_fixture_start_manager(ManagerFixture *x) {
        assert_null(x->manager);
        assert_int_equal(manager_new(&x->manager), 0);
        assert_int_equal(manager_startup(x->manager), 0);
        assert_true(sd_bus_request_name(x->manager->bus, UNIFIED_BUS_NAME, 0) >= 0);
        x->client = test_bus_connect(&x->bus, x->manager->event);
}

void manager_fixture_stop_manager(ManagerFixture *x) {
        x->client = sd_bus_flush_close_unref(x->client);
        x->manager = manager_free(x->manager);
}

void manager_fixture_done(ManagerFixture *x) {
        char cmd[128];

        manager_fixture_stop_manager(x);
        fake_systemd_stop(x->fake);
        test_bus_stop(&x->bus);
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", x->dir);
        assert_int_equal(system(cmd), 0);
        free(x->runtime_dir);
}

bool manager_fixture_pump(ManagerFixture *x, bool (*done)(ManagerFixture *x, void *userdata), void *userdata,
                          usec_t timeout) {
        usec_t deadline = now(CLOCK_MONOTONIC) + timeout;

        while (!done(x, userdata)) {
                if (now(CLOCK_MONOTONIC) >= deadline)
                        return false;
                assert_true(sd_event_run(x->manager->event, 5 * USEC_PER_MSEC) >= 0);
        }
        return true;
}

void manager_fixture_pump_for(ManagerFixture *x, usec_t duration) {
        usec_t deadline = now(CLOCK_MONOTONIC) + duration;

        while (now(CLOCK_MONOTONIC) < deadline)
                assert_true(sd_event_run(x->manager->event, 5 * USEC_PER_MSEC) >= 0);
}

typedef struct PendingCall {
        bool done;
        sd_bus_message *reply;
} PendingCall;

static int on_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        PendingCall *p = userdata;

        p->done = true;
        p->reply = sd_bus_message_ref(reply);
        return 0;
}

static bool call_done(ManagerFixture *x, void *userdata) {
        return ((PendingCall *) userdata)->done;
}

sd_bus_message *manager_fixture_call(ManagerFixture *x, const char *path, const char *interface,
                                     const char *member, sd_bus_error *error, const char *types, ...) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        PendingCall p = {};
        va_list ap;
        int r;

        assert_true(sd_bus_message_new_method_call(x->client, &m, UNIFIED_BUS_NAME, path, interface, member) >= 0);
        if (types) {
                va_start(ap, types);
                r = sd_bus_message_appendv(m, types, ap);
                va_end(ap);
                assert_true(r >= 0);
        }
        assert_true(sd_bus_call_async(x->client, NULL, m, on_reply, &p, 10 * USEC_PER_SEC) >= 0);
        assert_true(manager_fixture_pump(x, call_done, &p, 15 * USEC_PER_SEC));
        if (sd_bus_message_is_method_error(p.reply, NULL)) {
                assert_true(sd_bus_error_copy(error, sd_bus_message_get_error(p.reply)) < 0);
                sd_bus_message_unref(p.reply);
                return NULL;
        }
        return p.reply;
}

char *manager_fixture_get_string(ManagerFixture *x, const char *path, const char *interface, const char *property) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        const char *s;

        reply = manager_fixture_call(x, path, "org.freedesktop.DBus.Properties", "Get", &error, "ss", interface,
                                     property);
        if (!reply)
                return NULL;
        assert_true(sd_bus_message_read(reply, "v", "s", &s) >= 0);
        return strdup(s);
}

char *manager_fixture_agent_path(const char *name) {
        char *path = NULL;

        assert_true(sd_bus_path_encode(UNIFIED_AGENT_PATH_PREFIX, name, &path) >= 0);
        return path;
}

typedef struct Expect {
        const char *path;
        const char *interface;
        const char *property;
        const char *value;
        const char *unit;
} Expect;

static bool property_is(ManagerFixture *x, void *userdata) {
        Expect *e = userdata;
        _cleanup_free_ char *s = manager_fixture_get_string(x, e->path, e->interface, e->property);

        return streq_ptr(s, e->value);
}

bool manager_fixture_wait_state(ManagerFixture *x, const char *state, usec_t timeout) {
        Expect e = { UNIFIED_OBJECT_PATH, UNIFIED_MANAGER_IFACE, "State", state };

        return manager_fixture_pump(x, property_is, &e, timeout);
}

bool manager_fixture_wait_agent(ManagerFixture *x, const char *name, const char *property, const char *value,
                                usec_t timeout) {
        _cleanup_free_ char *path = manager_fixture_agent_path(name);
        Expect e = { path, UNIFIED_AGENT_IFACE, property, value };

        return manager_fixture_pump(x, property_is, &e, timeout);
}

static bool unit_is(ManagerFixture *x, void *userdata) {
        Expect *e = userdata;
        _cleanup_free_ char *s = fake_systemd_unit_state(x->fake, e->unit, NULL);

        return streq_ptr(s, e->value);
}

bool manager_fixture_wait_unit(ManagerFixture *x, const char *unit, const char *active_state, usec_t timeout) {
        Expect e = { .unit = unit, .value = active_state };

        return manager_fixture_pump(x, unit_is, &e, timeout);
}
