/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* MESSAGE_ID= values of the journal entries an operator acts on; units/unified.catalog explains each
 * one for `journalctl -x`. Keep the two in sync. */

/* A profile was started from nothing. */
#define UNIFIED_MESSAGE_PROFILE_STARTED "90ae3bb6b76a47fbb6745ce77115293a"
/* The active profile was replaced by another one. */
#define UNIFIED_MESSAGE_PROFILE_SWITCHED "31ee6b0d895c40fe92bca5be575252e8"
/* The active profile was stopped. */
#define UNIFIED_MESSAGE_PROFILE_STOPPED "f2ff58d6a44e4ee1898b9a3bf72b0396"
/* systemd reported an agent failure (exit code, signal, OOM kill, watchdog, start limit). */
#define UNIFIED_MESSAGE_AGENT_FAILED "e4c6dab7c07c4ff8a7b79584f4831582"
/* The profile's state changed (running, degraded, failed). */
#define UNIFIED_MESSAGE_PROFILE_STATE "46707b3b9d4f4df7a278e5953b70e097"
/* An agent's circuit breaker opened (systemd gave up, too many failures, a failed probe, an operator). */
#define UNIFIED_MESSAGE_BREAKER_OPENED "e7a18f39663148499a1679bd1c4dc7b1"
/* The cooldown is over: the breaker is half-open and one probe start is made. */
#define UNIFIED_MESSAGE_BREAKER_HALF_OPEN "735eb1ea52ac4c848b243ee2bd664302"
/* The probe passed its probation (or an operator reset the breaker): closed again. */
#define UNIFIED_MESSAGE_BREAKER_CLOSED "3e24ae8a122d4bd7bb82b829ca1832a7"
/* A fault was injected on purpose (InjectFault, unifiedctl chaos). */
#define UNIFIED_MESSAGE_FAULT_INJECTED "5e68bb5f78a9417a9b059341628ec202"
/* An injected fault's lever was released (limit or network restored), also after a daemon restart. */
#define UNIFIED_MESSAGE_FAULT_UNDONE "5b3d6a6477b44714a8264605e769f00b"
/* An injected fault is over: recovered (with the recovery time) or not (with the reason). */
#define UNIFIED_MESSAGE_FAULT_FINISHED "e1004ee68dca4be48892de44639bebfe"
