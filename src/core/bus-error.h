/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The org.unified1.Error.* names of docs/dbus-api.md. */

#define BUS_ERROR_NO_SUCH_PROFILE "org.unified1.Error.NoSuchProfile"
#define BUS_ERROR_NO_SUCH_AGENT "org.unified1.Error.NoSuchAgent"
#define BUS_ERROR_INVALID_PROFILE "org.unified1.Error.InvalidProfile"
#define BUS_ERROR_NO_ACTIVE_PROFILE "org.unified1.Error.NoActiveProfile"
#define BUS_ERROR_BUSY "org.unified1.Error.Busy"
