/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <linux/capability.h>
#include <string.h>
#include <strings.h>

#include "macro.h"
#include "sandbox-names.h"

#define CAP(c) [c] = #c
static const char *const capability_table[] = {
        CAP(CAP_CHOWN), CAP(CAP_DAC_OVERRIDE), CAP(CAP_DAC_READ_SEARCH), CAP(CAP_FOWNER), CAP(CAP_FSETID),
        CAP(CAP_KILL), CAP(CAP_SETGID), CAP(CAP_SETUID), CAP(CAP_SETPCAP), CAP(CAP_LINUX_IMMUTABLE),
        CAP(CAP_NET_BIND_SERVICE), CAP(CAP_NET_BROADCAST), CAP(CAP_NET_ADMIN), CAP(CAP_NET_RAW),
        CAP(CAP_IPC_LOCK), CAP(CAP_IPC_OWNER), CAP(CAP_SYS_MODULE), CAP(CAP_SYS_RAWIO), CAP(CAP_SYS_CHROOT),
        CAP(CAP_SYS_PTRACE), CAP(CAP_SYS_PACCT), CAP(CAP_SYS_ADMIN), CAP(CAP_SYS_BOOT), CAP(CAP_SYS_NICE),
        CAP(CAP_SYS_RESOURCE), CAP(CAP_SYS_TIME), CAP(CAP_SYS_TTY_CONFIG), CAP(CAP_MKNOD), CAP(CAP_LEASE),
        CAP(CAP_AUDIT_WRITE), CAP(CAP_AUDIT_CONTROL), CAP(CAP_SETFCAP), CAP(CAP_MAC_OVERRIDE),
        CAP(CAP_MAC_ADMIN), CAP(CAP_SYSLOG), CAP(CAP_WAKE_ALARM), CAP(CAP_BLOCK_SUSPEND), CAP(CAP_AUDIT_READ),
        CAP(CAP_PERFMON), CAP(CAP_BPF), CAP(CAP_CHECKPOINT_RESTORE),
};
#undef CAP

int capability_from_name(const char *name) {
        if (!name)
                return -EINVAL;
        for (size_t i = 0; i < ELEMENTSOF(capability_table); i++)
                if (capability_table[i] && strcasecmp(capability_table[i], name) == 0)
                        return (int) i;
        return -EINVAL;
}

bool syscall_group_is_known(const char *name) {
        /* systemd.exec(5) of 252; newer groups (@sandbox, @known) would fail on Debian 12's systemd. */
        static const char *const groups[] = {
                "@aio", "@basic-io", "@chown", "@clock", "@cpu-emulation", "@debug", "@file-system",
                "@io-event", "@ipc", "@keyring", "@memlock", "@module", "@mount", "@network-io", "@obsolete",
                "@pkey", "@privileged", "@process", "@raw-io", "@reboot", "@resources", "@setuid", "@signal",
                "@swap", "@sync", "@system-service", "@timer",
        };
        for (size_t i = 0; i < ELEMENTSOF(groups); i++)
                if (streq(groups[i], name))
                        return true;
        return false;
}

bool syscall_entry_is_valid(const char *name) {
        size_t n;

        if (!name)
                return false;
        if (name[0] == '@')
                return syscall_group_is_known(name);
        n = strlen(name);
        if (n == 0 || n > 64 || !((name[0] >= 'a' && name[0] <= 'z') || name[0] == '_'))
                return false;
        for (size_t i = 1; i < n; i++)
                if (!((name[i] >= 'a' && name[i] <= 'z') || (name[i] >= '0' && name[i] <= '9') || name[i] == '_'))
                        return false;
        return true;
}
