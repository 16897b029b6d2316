/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* `unifiedctl dot`: a profile's agents and their `requires` as a graphviz digraph, optionally colored
 * by the running agents' states. Pure: the caller reads the profile and the states. */

#include <stdio.h>

#include "profile.h"

/* What the daemon says of one running agent (ListAgents). */
typedef struct DotAgentState {
        const char *name;
        const char *active_state;       /* systemd's: active, activating, failed, inactive... */
        const char *breaker;            /* closed, open, half-open */
} DotAgentState;

/* Writes "p" (resolved) as a digraph: one node per agent, an edge A -> B for "A requires B".
 * Essential agents are drawn bold with a double border, lazy ones dashed. With "states" (n_states
 * entries, NULL for none), nodes are filled by state and bordered by breaker; an agent the daemon
 * does not list is drawn as unknown. Returns 0, or -EIO if writing failed. */
int dot_write_profile(FILE *f, const Profile *p, const DotAgentState *states, size_t n_states);
