/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* polkit checks for D-Bus method calls, asynchronous the way systemd does them: the first check
 * sends CheckAuthorization and answers "pending"; the method handler returns 1 without replying;
 * when polkit answers, the original call is put back into the bus' read queue, dispatched again, and
 * this time the check finds the verdict. The event loop never waits.
 *
 * Anyone on the machine can call the daemon, and every check is a call in flight on the daemon's own
 * connection, which the bus limits (128 pending replies on Debian's system bus) and which the daemon
 * needs for systemd: checks in flight are bounded in total and per caller uid, and the excess is refused
 * at once with org.freedesktop.DBus.Error.LimitsExceeded. A verdict nobody claims (the call's handler
 * returned early the second time, the caller hung up) is freed after POLKIT_UNCLAIMED_USEC. */

#include <stddef.h>

#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "macro.h"
#include "time-util.h"

/* Checks in flight or answered and not yet claimed: at most this many, and this many per caller uid.
 * With the SystemdClient's 32 + 8 calls that keeps the daemon under the bus' 128 pending replies. */
#define POLKIT_QUERIES_MAX 64u
#define POLKIT_QUERIES_PER_UID_MAX 16u
/* An answered check whose call did not come back for it within this is dropped. */
#define POLKIT_UNCLAIMED_USEC (5 * USEC_PER_SEC)

typedef struct PolkitRegistry PolkitRegistry;

PolkitRegistry *polkit_registry_free(PolkitRegistry *r);
DEFINE_TRIVIAL_CLEANUP_FUNC(PolkitRegistry *, polkit_registry_free);
/* "event": where the sweep of unclaimed verdicts runs. */
int polkit_registry_new(sd_event *event, PolkitRegistry **ret);

/* 1: allowed, go ahead. 0: pending, return 1 from the handler and do nothing else; the call comes
 * back. <0: denied or failed, "error" set; return the value. uid 0 is allowed without asking. The
 * message's allow-interactive-authorization flag is passed on to polkit. */
int polkit_check(PolkitRegistry *registry, sd_bus_message *call, const char *action, sd_bus_error *error);

/* Checks held (in flight, or answered and unclaimed). */
size_t polkit_registry_size(const PolkitRegistry *registry);
