/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* partition: a runtime IPAddressDeny=any (0.0.0.0/0 and ::/0, systemd's BPF filter) on an agent with
 * network, for the duration. The old entries are read first and recorded; the undo resets the list and
 * puts them back. The filter being in place is the detection: the reference agent does no IP of its own
 * that could notice. */

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/socket.h>

#include "chaos-fault.h"
#include "manager.h"
#include "strv.h"

typedef struct IpPrefix {
        int32_t family;
        uint8_t address[16];
        uint32_t prefixlen;
} IpPrefix;

typedef struct PartitionFault {
        Fault meta;
        IpPrefix *old_deny;
        size_t n_old_deny;
        bool have_old;                  /* a record without them has nothing to give back */
} PartitionFault;

#define PARTITION(f) ((PartitionFault *) (f))

static int ip_prefixes_format(const IpPrefix *p, size_t n, char **ret) {
        char *s = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&s, &size);

        if (!f)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                size_t len = p[i].family == AF_INET6 ? 16 : 4;

                fprintf(f, "%s%" PRIi32 "/%" PRIu32 "/", i > 0 ? "," : "", p[i].family, p[i].prefixlen);
                for (size_t j = 0; j < len; j++)
                        fprintf(f, "%02x", p[i].address[j]);
        }
        if (fclose(f) != 0) {
                free(s);
                return -ENOMEM;
        }
        *ret = s;
        return 0;
}
static int ip_prefixes_parse(const char *s, IpPrefix **ret, size_t *ret_n) {
        _cleanup_free_ IpPrefix *p = NULL;
        _cleanup_free_ char *copy = strdup(s);
        size_t n = 0;
        char *save = NULL;

        if (!copy)
                return -ENOMEM;
        for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
                IpPrefix x = {};
                char hex[33];
                size_t len;
                IpPrefix *np;

                if (sscanf(tok, "%" SCNi32 "/%" SCNu32 "/%32[0-9a-f]", &x.family, &x.prefixlen, hex) != 3)
                        return -EINVAL;
                if (x.family != AF_INET && x.family != AF_INET6)
                        return -EINVAL;
                len = x.family == AF_INET6 ? 16 : 4;
                if (strlen(hex) != len * 2 || x.prefixlen > len * 8)
                        return -EINVAL;
                for (size_t j = 0; j < len; j++) {
                        unsigned b;
                        if (sscanf(hex + 2 * j, "%2x", &b) != 1)
                                return -EINVAL;
                        x.address[j] = (uint8_t) b;
                }
                np = reallocarray(p, n + 1, sizeof(IpPrefix));
                if (!np)
                        return -ENOMEM;
                p = np;
                p[n++] = x;
        }
        *ret = TAKE_PTR(p);
        *ret_n = n;
        return 0;
}
static int append_deny_property(sd_bus_message *m, const IpPrefix *p, size_t n) {
        int r;

        r = sd_bus_message_open_container(m, 'r', "sv");
        if (r >= 0)
                r = sd_bus_message_append(m, "s", "IPAddressDeny");
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'v', "a(iayu)");
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "(iayu)");
        for (size_t i = 0; r >= 0 && i < n; i++) {
                r = sd_bus_message_open_container(m, 'r', "iayu");
                if (r >= 0)
                        r = sd_bus_message_append(m, "i", p[i].family);
                if (r >= 0)
                        r = sd_bus_message_append_array(m, 'y', p[i].address,
                                                        p[i].family == AF_INET6 ? 16 : 4);
                if (r >= 0)
                        r = sd_bus_message_append(m, "u", p[i].prefixlen);
                if (r >= 0)
                        r = sd_bus_message_close_container(m);
        }
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        return r;
}
static int read_ip_prefixes(sd_bus_message *m, IpPrefix **ret, size_t *ret_n) {
        _cleanup_free_ IpPrefix *p = NULL;
        size_t n = 0;
        int r;

        r = sd_bus_message_enter_container(m, 'a', "(iayu)");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_enter_container(m, 'r', "iayu")) > 0) {
                IpPrefix x = {};
                const void *addr;
                size_t len;
                IpPrefix *np;

                r = sd_bus_message_read(m, "i", &x.family);
                if (r >= 0)
                        r = sd_bus_message_read_array(m, 'y', &addr, &len);
                if (r >= 0)
                        r = sd_bus_message_read(m, "u", &x.prefixlen);
                if (r < 0)
                        return r;
                if (len > sizeof(x.address) || (x.family != AF_INET && x.family != AF_INET6))
                        return -EBADMSG;
                memcpy(x.address, addr, len);
                np = reallocarray(p, n + 1, sizeof(IpPrefix));
                if (!np)
                        return -ENOMEM;
                p = np;
                p[n++] = x;
                r = sd_bus_message_exit_container(m);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;
        r = sd_bus_message_exit_container(m);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(p);
        *ret_n = n;
        return 0;
}

static int partition_init(Fault *f, const AgentRuntime *a) {
        PARTITION(f)->have_old = a != NULL;
        return 0;
}

static void partition_done(Fault *f) {
        free(PARTITION(f)->old_deny);
}

/* Agents without network (PrivateNetwork=yes) would not notice. */
static bool partition_eligible(Chaos *c, const AgentRuntime *a, usec_t t) {
        return a->def->sandbox.network;
}

static int partition_check(Chaos *c, const AgentRuntime *a, sd_bus_error *error) {
        if (!a->def->sandbox.network)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                                         "Agent '%s' has no network (PrivateNetwork=yes): a partition would change "
                                         "nothing.", a->name);
        return 0;
}

static int partition_property(Fault *f, const char *name, sd_bus_message *m) {
        PartitionFault *k = PARTITION(f);
        int r;

        if (!streq(name, "IPAddressDeny"))
                return 0;
        r = sd_bus_message_enter_container(m, 'v', "a(iayu)");
        if (r < 0)
                return r;
        k->old_deny = mfree(k->old_deny);
        k->n_old_deny = 0;
        r = read_ip_prefixes(m, &k->old_deny, &k->n_old_deny);
        if (r < 0)
                return r;
        r = sd_bus_message_exit_container(m);
        return r < 0 ? r : 1;
}

static int partition_apply(Fault *f) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *msg = NULL;
        static const IpPrefix any[] = {
                { .family = AF_INET, .prefixlen = 0 },
                { .family = AF_INET6, .prefixlen = 0 },
        };
        int r;

        /* A non-empty list adds to IPAddressDeny=: "any" is 0.0.0.0/0 and ::/0. */
        r = fault_set_properties_new(fault_bus(f), f->unit, &msg);
        if (r >= 0)
                r = append_deny_property(msg, any, ELEMENTSOF(any));
        if (r >= 0)
                r = sd_bus_message_close_container(msg);
        if (r < 0)
                return r;
        return fault_call(f, msg);
}

static FaultVerdict partition_evaluate(const Fault *f, const FaultObservation *o) {
        return FAULT_VERDICT(fault_target_back(f, o) ? FAULT_VERDICT_RECOVERED : FAULT_VERDICT_PENDING);
}

/* An empty list resets IPAddressDeny=; then what was there before goes back. */
static int partition_undo_message(const Fault *f, sd_bus *bus, sd_bus_message **ret) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *msg = NULL;
        const PartitionFault *k = (const PartitionFault *) f;
        int r;

        if (!k->have_old)
                return 0;
        r = fault_set_properties_new(bus, f->unit, &msg);
        if (r >= 0)
                r = append_deny_property(msg, NULL, 0);
        if (r >= 0 && k->n_old_deny > 0)
                r = append_deny_property(msg, k->old_deny, k->n_old_deny);
        if (r >= 0)
                r = sd_bus_message_close_container(msg);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(msg);
        return 1;
}

/* "IPAddressDeny=" resets the list, as the empty array does; then each old entry as systemctl takes it. */
static int partition_revert_args(const Fault *f, char ***ret) {
        const PartitionFault *k = (const PartitionFault *) f;
        _cleanup_strv_free_ char **args = NULL;
        int r;

        if (!k->have_old)
                return 0;
        r = strv_extend(&args, "IPAddressDeny=");
        for (size_t i = 0; r >= 0 && i < k->n_old_deny; i++) {
                char buf[INET6_ADDRSTRLEN], *s;

                if (!inet_ntop(k->old_deny[i].family, k->old_deny[i].address, buf, sizeof(buf)))
                        return -errno;
                if (asprintf(&s, "IPAddressDeny=%s/%" PRIu32, buf, k->old_deny[i].prefixlen) < 0)
                        return -ENOMEM;
                r = strv_consume(&args, s);
        }
        if (r < 0)
                return r;
        *ret = TAKE_PTR(args);
        return 1;
}

static int partition_record(const Fault *f, FILE *o) {
        const PartitionFault *k = (const PartitionFault *) f;
        _cleanup_free_ char *deny = NULL;
        int r;

        r = ip_prefixes_format(k->old_deny, k->n_old_deny, &deny);
        if (r < 0)
                return r;
        fprintf(o, "deny=%s\n", deny);
        return 0;
}

static int partition_load(Fault *f, const char *key, const char *value) {
        PartitionFault *k = PARTITION(f);

        if (!streq(key, "deny"))
                return 0;
        k->have_old = true;
        k->old_deny = mfree(k->old_deny);
        k->n_old_deny = 0;
        return ip_prefixes_parse(value, &k->old_deny, &k->n_old_deny);
}

const FaultVTable partition_vtable = {
        .object_size = sizeof(PartitionFault),
        .default_duration = CHAOS_DURATION_DEFAULT,
        .lever_is_detection = true,
        .eligible_hint = ", with network",
        .init = partition_init,
        .done = partition_done,
        .eligible = partition_eligible,
        .check = partition_check,
        .property = partition_property,
        .apply = partition_apply,
        .evaluate = partition_evaluate,
        .undo_message = partition_undo_message,
        .revert_args = partition_revert_args,
        .record = partition_record,
        .load = partition_load,
};
