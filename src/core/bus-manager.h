/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The org.unified1 objects: the Manager at /org/unified1, a Profile per profile on disk and an Agent
 * per agent of the active profile, with introspection, node enumeration and the object manager; and
 * org.freedesktop.LogControl1 (bus-log-control.h). */

#include "manager.h"

int bus_manager_add_objects(Manager *m);
