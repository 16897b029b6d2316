/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The real manager, in-process, against a fake systemd and polkit on a private bus (fake-systemd.h):
 * what the daemon's main() does, with the test's profiles, runtime directory and configuration, and a
 * client connection of the test's own on the manager's event loop. Calls into the manager pump that
 * loop until they are answered; nothing here sleeps. */

#include <stdbool.h>

#include <systemd/sd-bus.h>

#include "bus-fixture.h"
#include "fake-systemd.h"
#include "manager.h"

typedef struct ManagerFixture {
        TestBus bus;
        FakeSystemd *fake;
        char dir[64];                   /* root of the profiles, runtime directory, configuration */
        char *runtime_dir;
        Manager *manager;
        sd_bus *client;                 /* the test's connection, attached to the manager's loop */
} ManagerFixture;

/* Bus, fake systemd ("version": its Version property), a directory for profiles; no manager yet. */
void manager_fixture_init(ManagerFixture *x, const char *version);
/* Writes profile "name" (a YAML document) to <root>/etc/unified/profiles/<name>.yaml. */
void manager_fixture_write_profile(ManagerFixture *x, const char *name, const char *yaml);
/* Creates and starts the manager (manager_new(), manager_startup(), the bus name). */
void manager_fixture_start_manager(ManagerFixture *x);
/* Frees the manager (as the daemon's exit does), keeping the runtime directory and the fake's units. */
void manager_fixture_stop_manager(ManagerFixture *x);
void manager_fixture_done(ManagerFixture *x);

/* Runs the manager's loop until "done(userdata)" or "timeout" passes; returns done(). */
bool manager_fixture_pump(ManagerFixture *x, bool (*done)(ManagerFixture *x, void *userdata), void *userdata,
                          usec_t timeout);
/* Runs the loop for "duration", whatever happens. */
void manager_fixture_pump_for(ManagerFixture *x, usec_t duration);

/* Calls org.unified1 on the client connection, pumping the loop for the answer. Returns the reply (to
 * unref) or NULL with "error" set. */
sd_bus_message *manager_fixture_call(ManagerFixture *x, const char *path, const char *interface,
                                     const char *member, sd_bus_error *error, const char *types, ...);
/* A Manager property as a string ("State", "ActiveProfile"), to free. */
char *manager_fixture_get_string(ManagerFixture *x, const char *path, const char *interface, const char *property);
/* The object path of agent "name". */
char *manager_fixture_agent_path(const char *name);

/* Waits until Manager.State is "state"; false on timeout. */
bool manager_fixture_wait_state(ManagerFixture *x, const char *state, usec_t timeout);
/* Waits until the fake reports "unit" in "active_state" (NULL: until it is gone). */
bool manager_fixture_wait_unit(ManagerFixture *x, const char *unit, const char *active_state, usec_t timeout);
/* Waits until agent "name"'s property "property" (a string) is "value". */
bool manager_fixture_wait_agent(ManagerFixture *x, const char *name, const char *property, const char *value,
                                usec_t timeout);
