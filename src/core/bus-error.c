/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The org.unified1.Error.* names and their errno equivalents. */

#include <errno.h>

#include "bus-error.h"

const sd_bus_error_map bus_unified_errors[] = {
        SD_BUS_ERROR_MAP(BUS_ERROR_NO_SUCH_PROFILE, ENOENT),
        SD_BUS_ERROR_MAP(BUS_ERROR_NO_SUCH_AGENT, ENOENT),
        SD_BUS_ERROR_MAP(BUS_ERROR_INVALID_PROFILE, EBADMSG),
        SD_BUS_ERROR_MAP(BUS_ERROR_NO_ACTIVE_PROFILE, ENOTCONN),
        SD_BUS_ERROR_MAP(BUS_ERROR_BUSY, EBUSY),
        SD_BUS_ERROR_MAP(BUS_ERROR_AGENT_NOT_RUNNING, ESRCH),
        SD_BUS_ERROR_MAP(BUS_ERROR_NO_ELIGIBLE_AGENT, ENXIO),
        SD_BUS_ERROR_MAP(BUS_ERROR_FAULT_FAILED, EIO),
        SD_BUS_ERROR_MAP_END,
};

int bus_error_add_map(void) {
        /* sd-bus keeps the table's address: the same table twice is a no-op (0). */
        return sd_bus_error_add_map(bus_unified_errors);
}
