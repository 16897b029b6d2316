/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <assert.h>
#include <errno.h>

#include "bus-log-control.h"
#include "log.h"
#include "macro.h"

static int property_get_log_level(sd_bus *bus, const char *path, const char *interface, const char *property,
                                  sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        return sd_bus_message_append(reply, "s", log_level_to_string(log_get_max_level()));
}

static int property_set_log_level(sd_bus *bus, const char *path, const char *interface, const char *property,
                                  sd_bus_message *value, void *userdata, sd_bus_error *error) {
        const char *s;
        int level, r;

        /* No check of the caller here: without SD_BUS_VTABLE_UNPRIVILEGED, sd-bus itself refuses the
         * Set to anyone but root (our uid) with AccessDenied before this is called. */
        r = sd_bus_message_read(value, "s", &s);
        if (r < 0)
                return r;

        level = log_level_from_string(s);
        if (level < 0)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "Invalid log level \"%s\": expected emerg, alert, crit, err, warning, "
                                         "notice, info or debug.", s);

        log_set_max_level(level);
        log_info("Log level set to %s by D-Bus request.", log_level_to_string(level));
        return 0;
}

static int property_get_log_target(sd_bus *bus, const char *path, const char *interface, const char *property,
                                   sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        /* systemd's names: stderr connected to journald is "journal", anything else is "console". */
        return sd_bus_message_append(reply, "s", log_to_journal() ? "journal" : "console");
}

static int property_get_syslog_identifier(sd_bus *bus, const char *path, const char *interface,
                                          const char *property, sd_bus_message *reply, void *userdata,
                                          sd_bus_error *error) {
        const char *identifier = userdata;

        return sd_bus_message_append(reply, "s", identifier);
}

static const sd_bus_vtable log_control_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_WRITABLE_PROPERTY("LogLevel", "s", property_get_log_level, property_set_log_level, 0, 0),
        SD_BUS_PROPERTY("LogTarget", "s", property_get_log_target, 0, 0),
        SD_BUS_PROPERTY("SyslogIdentifier", "s", property_get_syslog_identifier, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_VTABLE_END,
};

int bus_log_control_add(sd_bus *bus, const char *syslog_identifier) {
        assert(bus);
        assert(syslog_identifier);

        return sd_bus_add_object_vtable(bus, NULL, LOG_CONTROL_OBJECT_PATH, LOG_CONTROL_IFACE, log_control_vtable,
                                        (void *) syslog_identifier);
}
