/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Asynchronous calls to systemd's manager (org.freedesktop.systemd1), built from planner data. Every
 * call is sent with sd_bus_call_async() and returns at once; replies go to the callback with
 * "userdata", and "destroy" (may be NULL) frees the userdata when the call is over, replied or not. */

#include <systemd/sd-bus.h>

#include "plan.h"

#define SYSTEMD_SERVICE "org.freedesktop.systemd1"
#define SYSTEMD_PATH "/org/freedesktop/systemd1"
#define SYSTEMD_MANAGER_IFACE "org.freedesktop.systemd1.Manager"
#define SYSTEMD_UNIT_IFACE "org.freedesktop.systemd1.Unit"
#define SYSTEMD_SERVICE_IFACE "org.freedesktop.systemd1.Service"
#define SYSTEMD_SOCKET_IFACE "org.freedesktop.systemd1.Socket"

typedef struct SystemdCall {
        sd_bus_message_handler_t callback;
        void *userdata;
        sd_bus_destroy_t destroy;
} SystemdCall;

/* Appends the properties of "spec" as the contents of an already opened "a(sv)". */
int unit_spec_append(sd_bus_message *m, const UnitSpec *spec);

/* StartTransientUnit(main, "fail", properties, [aux]). For a lazy agent "main" is the socket and
 * "aux" the service it activates, as systemd-run --socket-property does it. */
int systemd_start_transient_unit(sd_bus *bus, const UnitSpec *main, const UnitSpec *aux, const SystemdCall *c);
/* SetUnitProperties(name, runtime, properties). */
int systemd_set_unit_properties(sd_bus *bus, const UnitSpec *spec, int runtime, const SystemdCall *c);
/* StartUnit / StopUnit / RestartUnit / ResetFailedUnit / Subscribe / ... with "types" and arguments as for
 * sd_bus_message_append(). */
int systemd_manager_call(sd_bus *bus, const char *method, const SystemdCall *c, const char *types, ...);
/* org.freedesktop.DBus.Properties.GetAll on the unit's object. */
int systemd_get_unit_properties(sd_bus *bus, const char *unit, const char *interface, const SystemdCall *c);

/* The object path systemd serves "unit" under, without asking it. */
int systemd_unit_path(const char *unit, char **ret);
/* "252.39-1~deb12u2" or "252" -> 252; -EINVAL if it does not start with a number. */
int systemd_parse_version(const char *s, unsigned *ret);
