/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A text-mode polkit authentication agent (pkttyagent) for the duration of a call that may need a
 * password, as systemctl does it. */

#include <sys/types.h>

/* Spawns pkttyagent and waits until it has registered, so that polkit finds it when our call
 * arrives. Returns its pid (0 if it could not be started: the call then simply cannot prompt). */
pid_t polkit_agent_open(void);
/* Terminates and reaps it; 0 is a no-op. */
void polkit_agent_close(pid_t pid);
