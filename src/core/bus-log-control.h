/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* org.freedesktop.LogControl1 at /org/freedesktop/LogControl1, the interface systemd's own daemons
 * serve, so that `systemctl service-log-level unified debug` changes the daemon's log level at runtime
 * (and `systemctl service-log-level unified` reads it). LogLevel is writable by root only (sd-bus'
 * check for properties not marked unprivileged; a property setter could not wait for polkit anyway).
 * LogTarget is read-only: unifiedd logs to stderr, which systemd connects to the journal. */

#include <systemd/sd-bus.h>

#define LOG_CONTROL_OBJECT_PATH "/org/freedesktop/LogControl1"
#define LOG_CONTROL_IFACE "org.freedesktop.LogControl1"

int bus_log_control_add(sd_bus *bus, const char *syslog_identifier);
