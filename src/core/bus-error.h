/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The org.unified1.Error.* names of docs/dbus-api.md, the one place they are spelled, and their errno
 * equivalents (sd_bus_error_map), so that a client's sd_bus_error_get_errno() and "%m" mean something. */

#include <systemd/sd-bus.h>

#define BUS_ERROR_NO_SUCH_PROFILE "org.unified1.Error.NoSuchProfile"
#define BUS_ERROR_NO_SUCH_AGENT "org.unified1.Error.NoSuchAgent"
#define BUS_ERROR_INVALID_PROFILE "org.unified1.Error.InvalidProfile"
#define BUS_ERROR_NO_ACTIVE_PROFILE "org.unified1.Error.NoActiveProfile"
#define BUS_ERROR_BUSY "org.unified1.Error.Busy"
#define BUS_ERROR_AGENT_NOT_RUNNING "org.unified1.Error.AgentNotRunning"
#define BUS_ERROR_NO_ELIGIBLE_AGENT "org.unified1.Error.NoEligibleAgent"
#define BUS_ERROR_FAULT_FAILED "org.unified1.Error.FaultFailed"

extern const sd_bus_error_map bus_unified_errors[];

/* Registers bus_unified_errors with sd-bus (once per process; later calls do nothing). */
int bus_error_add_map(void);
