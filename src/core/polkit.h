/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* polkit checks for D-Bus method calls, asynchronous the way systemd does them: the first check
 * sends CheckAuthorization and answers "pending"; the method handler returns 1 without replying;
 * when polkit answers, the original call is put back into the bus' read queue, dispatched again, and
 * this time the check finds the verdict. The event loop never waits. */

#include <systemd/sd-bus.h>

#include "macro.h"

typedef struct PolkitRegistry PolkitRegistry;

PolkitRegistry *polkit_registry_free(PolkitRegistry *r);
DEFINE_TRIVIAL_CLEANUP_FUNC(PolkitRegistry *, polkit_registry_free);
int polkit_registry_new(PolkitRegistry **ret);

/* 1: allowed, go ahead. 0: pending, return 1 from the handler and do nothing else; the call comes
 * back. <0: denied or failed, "error" set; return the value. uid 0 is allowed without asking. The
 * message's allow-interactive-authorization flag is passed on to polkit. */
int polkit_check(PolkitRegistry *registry, sd_bus_message *call, const char *action, sd_bus_error *error);
