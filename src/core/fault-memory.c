/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* memory: a runtime MemoryMax= squeeze (MemorySwapMax=0) until the kernel OOM-kills the agent. The old
 * values are read first and recorded; the squeeze is given back as soon as the kill shows, before
 * systemd's restart runs into it. An agent started with --fault-file gets "leak" written there and a
 * limit just above its use, so that it is killed while it allocates. */

#include <fcntl.h>
#include <inttypes.h>
#include <unistd.h>

#include "chaos-fault.h"
#include "log.h"
#include "manager.h"
#include "parse-util.h"
#include "string-util.h"
#include "strv.h"

/* An agent with a fault file leaks from the squeezed limit's start: this much room is left above what it
 * uses, so that the kernel kills it while it allocates rather than at once. */
#define MEMORY_LEAK_HEADROOM (8ULL * 1024 * 1024)
/* Without a fault file the limit goes to one page: below what any process needs, so the kernel's reclaim
 * fails and it OOM-kills in the cgroup right away. */
#define MEMORY_SQUEEZE_DEFAULT 4096ULL

typedef struct MemoryFault {
        Fault meta;
        uint64_t limit;                 /* the squeezed MemoryMax=, 0 until chosen */
        uint64_t old_memory_max, old_swap_max, memory_current;
        bool have_old;                  /* a record without them has nothing to give back */
        char *fault_file;
} MemoryFault;

#define MEMORY(f) ((MemoryFault *) (f))

static const char *agent_fault_file(const Agent *def) {
        STRV_FOREACH(arg, def ? def->exec : NULL) {
                if (streq(*arg, "--fault-file"))
                        return arg[1];
                if (strneq(*arg, "--fault-file=", strlen("--fault-file=")))
                        return *arg + strlen("--fault-file=");
        }
        return NULL;
}

static int memory_init(Fault *f, const AgentRuntime *a) {
        MemoryFault *k = MEMORY(f);
        const char *ff = agent_fault_file(a ? a->def : NULL);

        k->old_memory_max = k->old_swap_max = k->memory_current = UINT64_MAX;
        k->have_old = a != NULL;
        if (ff) {
                k->fault_file = strdup(ff);
                if (!k->fault_file)
                        return -ENOMEM;
        }
        return 0;
}

static int memory_configure(Fault *f, const FaultOptions *o) {
        MEMORY(f)->limit = o->limit;
        return 0;
}

static void memory_done(Fault *f) {
        free(MEMORY(f)->fault_file);
}

static bool memory_eligible(Chaos *c, const AgentRuntime *a, usec_t t) {
        return !chaos_agent_has_dependents(a->manager, a) && !chaos_hit_recent(c, a, t);
}

static int memory_property(Fault *f, const char *name, sd_bus_message *m) {
        MemoryFault *k = MEMORY(f);
        uint64_t *v = streq(name, "MemoryMax") ? &k->old_memory_max :
                      streq(name, "MemorySwapMax") ? &k->old_swap_max :
                      streq(name, "MemoryCurrent") ? &k->memory_current : NULL;
        int r;

        if (!v)
                return 0;
        r = sd_bus_message_read(m, "v", "t", v);
        return r < 0 ? r : 1;
}

static int memory_apply(Fault *f) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *msg = NULL;
        MemoryFault *k = MEMORY(f);
        int r;

        if (k->limit == 0)
                k->limit = k->fault_file && k->memory_current != UINT64_MAX ? k->memory_current + MEMORY_LEAK_HEADROOM :
                                                                               MEMORY_SQUEEZE_DEFAULT;
        if (k->fault_file) {
                _cleanup_close_ int fd = open(k->fault_file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
                if (fd < 0 || write(fd, "leak\n", 5) != 5)
                        log_warning_errno(-errno, "Failed to write fault file %s, squeezing only: %m", k->fault_file);
        }
        r = fault_set_properties_new(fault_bus(f), f->unit, &msg);
        if (r >= 0)
                r = sd_bus_message_append(msg, "(sv)(sv)", "MemoryMax", "t", k->limit, "MemorySwapMax", "t",
                                          (uint64_t) 0);
        if (r >= 0)
                r = sd_bus_message_close_container(msg);
        if (r < 0)
                return r;
        return fault_call(f, msg);
}

/* Killed: give the limit back before systemd's restart runs into it. */
static FaultVerdict memory_evaluate(const Fault *f, const FaultObservation *o) {
        if (f->detected != USEC_INFINITY && f->phase == FAULT_PHASE_ACTIVE && f->lever_in_place)
                return FAULT_VERDICT(FAULT_VERDICT_RELEASE);
        if (!fault_target_back(f, o))
                return FAULT_VERDICT(FAULT_VERDICT_PENDING);
        if (f->result)
                return fault_verdict(FAULT_VERDICT_RECOVERED, "result %s", f->result);
        return FAULT_VERDICT(FAULT_VERDICT_RECOVERED);
}

/* The MemoryMax= to give back: the old one, unless a profile switch made another profile active since the
 * squeeze. Then the new profile's limit wins (the switch sets it itself, on another lane: whichever call
 * reaches systemd last, the unit ends with the new profile's limit). A record read at start-up has no
 * manager: its old value. */
static uint64_t memory_undo_max(const Fault *f) {
        const MemoryFault *k = (const MemoryFault *) f;
        Manager *m = f->chaos ? fault_manager(f) : NULL;
        AgentRuntime *a;

        if (!m || !m->active || streq(m->active->name, f->profile))
                return k->old_memory_max;
        a = manager_find_agent(m, f->agent);
        return a && a->def ? a->def->memory_max : k->old_memory_max;
}

static int memory_undo_message(const Fault *f, sd_bus *bus, sd_bus_message **ret) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *msg = NULL;
        const MemoryFault *k = (const MemoryFault *) f;
        int r;

        if (!k->have_old)
                return 0;
        r = fault_set_properties_new(bus, f->unit, &msg);
        if (r >= 0)
                r = sd_bus_message_append(msg, "(sv)(sv)", "MemoryMax", "t", memory_undo_max(f), "MemorySwapMax", "t",
                                          k->old_swap_max);
        if (r >= 0)
                r = sd_bus_message_close_container(msg);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(msg);
        return 1;
}

static int format_limit(const char *name, uint64_t v, char **ret) {
        int r = v == UINT64_MAX ? asprintf(ret, "%s=infinity", name) : asprintf(ret, "%s=%" PRIu64, name, v);

        return r < 0 ? -ENOMEM : 0;
}

/* The old values as systemctl takes them ("infinity" for no limit): what the revert timer sets. */
static int memory_revert_args(const Fault *f, char ***ret) {
        const MemoryFault *k = (const MemoryFault *) f;
        _cleanup_strv_free_ char **args = NULL;
        char *s;
        int r;

        if (!k->have_old)
                return 0;
        r = format_limit("MemoryMax", k->old_memory_max, &s);
        if (r >= 0)
                r = strv_consume(&args, s);
        if (r >= 0)
                r = format_limit("MemorySwapMax", k->old_swap_max, &s);
        if (r >= 0)
                r = strv_consume(&args, s);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(args);
        return 1;
}

static void memory_cleanup(const Fault *f) {
        const char *ff = ((const MemoryFault *) f)->fault_file;

        if (ff && unlink(ff) < 0 && errno != ENOENT)
                log_warning_errno(-errno, "Failed to remove fault file %s, ignoring: %m", ff);
}

static int memory_record(const Fault *f, FILE *o) {
        const MemoryFault *k = (const MemoryFault *) f;

        fprintf(o, "memory_max=%" PRIu64 "\nswap_max=%" PRIu64 "\n", k->old_memory_max, k->old_swap_max);
        if (k->fault_file)
                fprintf(o, "fault_file=%s\n", k->fault_file);
        return 0;
}

static int memory_load(Fault *f, const char *key, const char *value) {
        MemoryFault *k = MEMORY(f);

        if (streq(key, "memory_max")) {
                k->have_old = true;
                return safe_atou64(value, &k->old_memory_max);
        }
        if (streq(key, "swap_max"))
                return safe_atou64(value, &k->old_swap_max);
        if (streq(key, "fault_file"))
                return free_and_strdup(&k->fault_file, value);
        return 0;
}

const FaultVTable memory_vtable = {
        .object_size = sizeof(MemoryFault),
        .default_duration = CHAOS_DURATION_DEFAULT,
        .restarts_target = true,
        .undetected_in_hold = "not OOM-killed",
        .init = memory_init,
        .configure = memory_configure,
        .done = memory_done,
        .eligible = memory_eligible,
        .property = memory_property,
        .apply = memory_apply,
        .evaluate = memory_evaluate,
        .undo_message = memory_undo_message,
        .revert_args = memory_revert_args,
        .cleanup = memory_cleanup,
        .record = memory_record,
        .load = memory_load,
};
