/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The pager for long output on a terminal, as systemctl's: $SYSTEMD_PAGER, then $PAGER, then less. */

#include <stdbool.h>
#include <sys/types.h>

/* The pager command for these variables (their values, NULL if unset): NULL if paging is off
 * ("cat" or an empty value), "" for the default (less, then more). Pure, for the unit test. */
const char *pager_pick(const char *systemd_pager, const char *pager);

/* Pipes stdout through the pager if stdout is a terminal and the environment does not turn it off.
 * Returns the pager's pid (0 if none is running); nothing to report: without a pager the output
 * still goes to the terminal. */
pid_t pager_open(void);
/* Ends the output and waits for the pager (the user reading it) to exit. */
void pager_close(pid_t pid);
