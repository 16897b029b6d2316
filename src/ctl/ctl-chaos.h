/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* `unifiedctl chaos`: injects faults over D-Bus (Manager.InjectFault), collects their FaultFinished
 * signals and prints the chaos report (docs/chaos.md). It has options of its own, so it reads the
 * whole command line itself. */

#include <stdbool.h>

/* Whether the command (the first argument that is not an option) is "chaos". */
bool ctl_chaos_is_verb(int argc, char *argv[]);

/* Runs `unifiedctl [OPTIONS] chaos ...`; returns the exit status. */
int ctl_chaos_main(int argc, char *argv[]);
