/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The org.unified1 objects: the Manager at /org/unified1, a Profile per profile on disk and an Agent
 * per agent of the active profile, with introspection, node enumeration and the object manager; and
 * org.freedesktop.LogControl1 (bus-log-control.h). */

#include <stdbool.h>
#include <stdint.h>

#include "manager.h"

int bus_manager_add_objects(Manager *m);

/* Model code marks what changed on an object; the properties are announced once per loop iteration,
 * coalesced. */
void bus_agent_changed(AgentRuntime *a, AgentDirty what);
void bus_manager_changed(Manager *m, ManagerDirty what);
/* Takes "a" out of the announcement queue (before it is freed). */
void bus_agent_forget(AgentRuntime *a);
/* InterfacesAdded / InterfacesRemoved of an agent's object, now. */
void bus_agent_added(AgentRuntime *a);
void bus_agent_removed(AgentRuntime *a);

/* The Manager's signals that are events rather than state: sent at once. */
void bus_manager_send_agent_failed(Manager *m, AgentRuntime *a, const char *result);
void bus_manager_send_breaker_changed(Manager *m, AgentRuntime *a, const char *reason);

typedef struct BusFaultFinished {
        uint64_t id, parent;
        const char *kind, *agent;
        bool recovered;
        uint64_t injected, detected, undone, recovered_at;
        const char *detail;
} BusFaultFinished;
void bus_manager_send_fault_finished(Manager *m, const BusFaultFinished *f);
