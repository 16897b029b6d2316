/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The names the profile's `sandbox:` keys accept for what systemd filters: capabilities and system
 * call groups. Checked when a profile is parsed, so that a typo is a file:line:column error instead of
 * a StartTransientUnit failure (or, for a group, a filter that silently allows less). */

#include <stdbool.h>

/* "CAP_NET_BIND_SERVICE" (any case) -> 10; -EINVAL if the kernel headers we build with do not know it. */
int capability_from_name(const char *name);

/* "@network-io": one of the groups systemd 252 (Debian 12, the oldest we support) defines. */
bool syscall_group_is_known(const char *name);
/* "@group" known above, or a plain system call name ("ptrace"); systemd resolves the latter. */
bool syscall_entry_is_valid(const char *name);
