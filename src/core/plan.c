/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The planner: profiles -> transient unit properties, and profile switches -> actions. Pure. */

#include <errno.h>
#include <stdio.h>

#include "plan.h"
#include "strv.h"

#define STRV_MAKE(...) ((char *[]) { __VA_ARGS__, NULL })

static char *strdup_printf(const char *prefix, const char *value) {
        char *s;

        if (asprintf(&s, "%s%s", prefix, value) < 0)
                return NULL;
        return s;
}

static const Agent *find_agent(const Profile *p, const char *name) {
        for (size_t i = 0; p && i < p->n_agents; i++)
                if (streq(p->agents[i]->name, name))
                        return p->agents[i];
        return NULL;
}

static const char *const agent_action_table[_AGENT_ACTION_MAX] = {
        [AGENT_ACTION_KEEP] = "keep",
        [AGENT_ACTION_SET_PROPERTIES] = "set-properties",
        [AGENT_ACTION_RESTART] = "restart",
        [AGENT_ACTION_START] = "start",
        [AGENT_ACTION_STOP] = "stop",
};

const char *agent_action_to_string(AgentAction a) {
        if (a < 0 || a >= _AGENT_ACTION_MAX)
                return NULL;
        return agent_action_table[a];
}

static const char *const signature_table[_UNIT_PROPERTY_TYPE_MAX] = {
        [UNIT_PROPERTY_STRING] = "s",
        [UNIT_PROPERTY_BOOL] = "b",
        [UNIT_PROPERTY_U32] = "u",
        [UNIT_PROPERTY_U64] = "t",
        [UNIT_PROPERTY_STRV] = "as",
        [UNIT_PROPERTY_EXEC] = "a(sasb)",
        [UNIT_PROPERTY_CONDITIONS] = "a(sbbs)",
        [UNIT_PROPERTY_LISTEN] = "a(ss)",
        [UNIT_PROPERTY_I32] = "i",
        [UNIT_PROPERTY_FILTER] = "(bas)",
};

const char *unit_property_signature(UnitPropertyType t) {
        if (t < 0 || t >= _UNIT_PROPERTY_TYPE_MAX)
                return NULL;
        return signature_table[t];
}

bool unit_property_is_runtime(const char *name) {
        /* The cgroup attributes: systemd writes them to the running cgroup when set with
         * SetUnitProperties, no restart needed. Everything else only takes effect on the next start. */
        static const char *const runtime[] = {
                "MemoryMax", "MemoryHigh", "CPUQuotaPerSecUSec", "CPUWeight", "TasksMax",
        };
        for (size_t i = 0; i < ELEMENTSOF(runtime); i++)
                if (streq(name, runtime[i]))
                        return true;
        return false;
}

static void unit_property_done(UnitProperty *p) {
        p->s = mfree(p->s);
        p->strv = strv_free(p->strv);
}

UnitSpec *unit_spec_free(UnitSpec *s) {
        if (!s)
                return NULL;
        for (size_t i = 0; i < s->n_properties; i++)
                unit_property_done(&s->properties[i]);
        free(s->properties);
        free(s->name);
        return mfree(s);
}

const UnitProperty *unit_spec_get(const UnitSpec *s, const char *name) {
        for (size_t i = 0; s && i < s->n_properties; i++)
                if (streq(s->properties[i].name, name))
                        return &s->properties[i];
        return NULL;
}

bool unit_property_equal(const UnitProperty *a, const UnitProperty *b) {
        if (!a || !b)
                return a == b;
        if (!streq(a->name, b->name) || a->type != b->type)
                return false;
        switch (a->type) {
        case UNIT_PROPERTY_STRING:
                return streq_ptr(a->s, b->s);
        case UNIT_PROPERTY_BOOL:
                return a->b == b->b;
        case UNIT_PROPERTY_U32:
        case UNIT_PROPERTY_U64:
        case UNIT_PROPERTY_I32:
                return a->t == b->t;
        case UNIT_PROPERTY_FILTER:
                return a->b == b->b && strv_equal(a->strv, b->strv);
        case UNIT_PROPERTY_EXEC:
                return streq_ptr(a->s, b->s) && strv_equal(a->strv, b->strv);
        case UNIT_PROPERTY_STRV:
        case UNIT_PROPERTY_CONDITIONS:
        case UNIT_PROPERTY_LISTEN:
                return strv_equal(a->strv, b->strv);
        default:
                return false;
        }
}

static int unit_spec_new(const char *name, UnitSpec **ret) {
        _cleanup_(unit_spec_freep) UnitSpec *s = NULL;

        s = calloc(1, sizeof(UnitSpec));
        if (!s)
                return -ENOMEM;
        s->name = strdup(name);
        if (!s->name)
                return -ENOMEM;
        *ret = TAKE_PTR(s);
        return 0;
}

static UnitProperty *unit_spec_add(UnitSpec *s, const char *name, UnitPropertyType type) {
        UnitProperty *n;

        n = realloc(s->properties, sizeof(UnitProperty) * (s->n_properties + 1));
        if (!n)
                return NULL;
        s->properties = n;
        n = &s->properties[s->n_properties++];
        *n = (UnitProperty) { .name = name, .type = type };
        return n;
}

static int add_string(UnitSpec *s, const char *name, const char *value) {
        UnitProperty *p = unit_spec_add(s, name, UNIT_PROPERTY_STRING);
        if (!p)
                return -ENOMEM;
        p->s = strdup(value);
        return p->s ? 0 : -ENOMEM;
}

static int add_bool(UnitSpec *s, const char *name, bool b) {
        UnitProperty *p = unit_spec_add(s, name, UNIT_PROPERTY_BOOL);
        if (!p)
                return -ENOMEM;
        p->b = b;
        return 0;
}

static int add_u64(UnitSpec *s, const char *name, uint64_t t) {
        UnitProperty *p = unit_spec_add(s, name, UNIT_PROPERTY_U64);
        if (!p)
                return -ENOMEM;
        p->t = t;
        return 0;
}

static int add_u32(UnitSpec *s, const char *name, uint32_t u) {
        UnitProperty *p = unit_spec_add(s, name, UNIT_PROPERTY_U32);
        if (!p)
                return -ENOMEM;
        p->t = u;
        return 0;
}

/* Takes ownership of "l" (freed on failure). */
static int add_strv_consume(UnitSpec *s, const char *name, UnitPropertyType type, char **l) {
        UnitProperty *p = unit_spec_add(s, name, type);
        if (!p) {
                strv_free(l);
                return -ENOMEM;
        }
        p->strv = l;
        return 0;
}

static int add_strv(UnitSpec *s, const char *name, char * const *l) {
        char **c;
        int r;

        r = strv_copy(l, &c);
        if (r < 0)
                return r;
        return add_strv_consume(s, name, UNIT_PROPERTY_STRV, c);
}

static int add_i32(UnitSpec *s, const char *name, int32_t i) {
        UnitProperty *p = unit_spec_add(s, name, UNIT_PROPERTY_I32);
        if (!p)
                return -ENOMEM;
        p->t = (uint64_t) (int64_t) i;
        return 0;
}

/* An allow-list: "base" then "extra" (either may be NULL). */
static int add_filter(UnitSpec *s, const char *name, char * const *base, char * const *extra) {
        _cleanup_strv_free_ char **l = NULL;
        UnitProperty *p;
        int r;

        r = strv_copy(base, &l);
        if (r < 0)
                return r;
        for (char * const *e = extra; e && *e; e++) {
                r = strv_extend(&l, *e);
                if (r < 0)
                        return r;
        }
        p = unit_spec_add(s, name, UNIT_PROPERTY_FILTER);
        if (!p)
                return -ENOMEM;
        p->b = true;
        p->strv = TAKE_PTR(l);
        return 0;
}

int plan_unit_name(const char *agent, const char *suffix, char **ret) {
        char *n;

        if (!agent || !suffix)
                return -EINVAL;
        if (asprintf(&n, "unified-%s.%s", agent, suffix) < 0)
                return -ENOMEM;
        *ret = n;
        return 0;
}

int plan_agent_from_unit(const char *unit, char **ret) {
        const char *dot;
        char *n;

        if (!unit || strncmp(unit, "unified-", 8) != 0)
                return -EINVAL;
        dot = strrchr(unit, '.');
        if (!dot || dot == unit + 8 || !(streq(dot, ".service") || streq(dot, ".socket")))
                return -EINVAL;
        n = strndup(unit + 8, dot - (unit + 8));
        if (!n)
                return -ENOMEM;
        *ret = n;
        return 0;
}

/* The unit another agent of the profile is reached through: its socket when it is lazy (depending on
 * the service would start it eagerly), else its service. */
static int dependency_unit(const Profile *profile, const char *name, char **ret) {
        const Agent *dep = find_agent(profile, name);

        return plan_unit_name(name, dep && dep->lazy_listen ? "socket" : "service", ret);
}

static int add_sandbox(UnitSpec *s, const Agent *a) {
        int r;

        if (a->sandbox.user)
                r = add_string(s, "User", a->sandbox.user);
        else
                r = add_bool(s, "DynamicUser", true);
        if (r < 0)
                return r;
        if (a->sandbox.protect_system) {
                r = add_string(s, "ProtectSystem", "strict");
                if (r < 0)
                        return r;
        }
        if (!a->sandbox.network) {
                r = add_bool(s, "PrivateNetwork", true);
                if (r < 0)
                        return r;
        }
        if (a->sandbox.private_devices) {
                r = add_bool(s, "PrivateDevices", true);
                if (r < 0)
                        return r;
                /* What PrivateDevices= implies already, said explicitly. Without it (a GPU agent) the
                 * agent sees the host's /dev and may open what its user may: closing the cgroup's device
                 * access then would need a DeviceAllow= per device, which profiles do not describe. */
                r = add_string(s, "DevicePolicy", "closed");
                if (r < 0)
                        return r;
                /* Only here: it implies DeviceAllow=char-rtc, and any DeviceAllow= turns systemd's
                 * default device policy into an allow-list, which would close /dev to a GPU agent.
                 * Its system calls (@clock) are outside the filter below in any case. */
                r = add_bool(s, "ProtectClock", true);
                if (r < 0)
                        return r;
        }
        if (a->sandbox.writable_paths) {
                r = add_strv(s, "ReadWritePaths", a->sandbox.writable_paths);
                if (r < 0)
                        return r;
        }
        if (a->sandbox.memory_deny_write_execute) {
                r = add_bool(s, "MemoryDenyWriteExecute", true);
                if (r < 0)
                        return r;
        }

        /* No capabilities unless the profile names them; ambient too, so that a non-root user
         * (DynamicUser= included) actually holds the ones it asked for. */
        r = add_u64(s, "CapabilityBoundingSet", a->sandbox.capabilities);
        if (r < 0)
                return r;
        r = add_u64(s, "AmbientCapabilities", a->sandbox.capabilities);
        if (r < 0)
                return r;

        /* What a service needs, plus what the profile adds; anything else fails with EPERM rather
         * than SIGSYS, which an agent can report. */
        r = add_filter(s, "SystemCallFilter", STRV_MAKE((char *) "@system-service"), a->sandbox.system_calls);
        if (r < 0)
                return r;
        r = add_i32(s, "SystemCallErrorNumber", EPERM);
        if (r < 0)
                return r;
        /* AF_UNIX for sd_notify(), the journal and peers' sockets; a lazy agent's listening socket is
         * passed in and needs no socket(). */
        r = add_filter(s, "RestrictAddressFamilies",
                       a->sandbox.network ? STRV_MAKE((char *) "AF_UNIX", (char *) "AF_INET", (char *) "AF_INET6")
                                          : STRV_MAKE((char *) "AF_UNIX"),
                       NULL);
        if (r < 0)
                return r;

        /* The defaults no agent needs relaxed: each is a property systemd 252 accepts for transient
         * units. */
        static const char *const on[] = {
                "PrivateTmp", "NoNewPrivileges", "RestrictSUIDSGID", "ProtectKernelTunables",
                "ProtectKernelModules", "ProtectKernelLogs", "ProtectControlGroups", "ProtectHostname",
                "LockPersonality", "RestrictRealtime", "RemoveIPC",
        };
        for (size_t i = 0; i < ELEMENTSOF(on); i++) {
                r = add_bool(s, on[i], true);
                if (r < 0)
                        return r;
        }
        r = add_string(s, "ProtectHome", "yes");
        if (r < 0)
                return r;
        /* Other processes of the host are invisible, and /proc has nothing but them. */
        r = add_string(s, "ProtectProc", "invisible");
        if (r < 0)
                return r;
        r = add_string(s, "ProcSubset", "pid");
        if (r < 0)
                return r;
        r = add_u32(s, "UMask", 0077);
        if (r < 0)
                return r;
        /* A keyring of its own per start, not one shared by every process of its UID: systemd's
         * default for system services, stated so that it does not depend on that. */
        r = add_string(s, "KeyringMode", "private");
        if (r < 0)
                return r;
        /* The namespace flags that remain allowed: none. */
        r = add_u64(s, "RestrictNamespaces", 0);
        if (r < 0)
                return r;
        return add_strv(s, "SystemCallArchitectures", STRV_MAKE((char *) "native"));
}

int plan_agent_sandbox(const Agent *a, UnitSpec **ret) {
        _cleanup_(unit_spec_freep) UnitSpec *s = NULL;
        _cleanup_free_ char *name = NULL;
        int r;

        if (!a || !a->name)
                return -EINVAL;
        r = plan_unit_name(a->name, "service", &name);
        if (r < 0)
                return r;
        r = unit_spec_new(name, &s);
        if (r < 0)
                return r;
        r = add_sandbox(s, a);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(s);
        return 0;
}

static int add_service_exec(UnitSpec *s, const Agent *a) {
        UnitProperty *p;
        int r;

        if (strv_length(a->exec) == 0)
                return -EINVAL;
        p = unit_spec_add(s, "ExecStart", UNIT_PROPERTY_EXEC);
        if (!p)
                return -ENOMEM;
        p->s = strdup(a->exec[0]);
        if (!p->s)
                return -ENOMEM;
        r = strv_copy(a->exec, &p->strv);
        if (r < 0)
                return r;
        return 0;
}

int plan_agent_units(const Profile *profile, const Agent *a, const char *profile_name,
                     unsigned systemd_version, UnitSpec **ret_service, UnitSpec **ret_socket) {
        _cleanup_(unit_spec_freep) UnitSpec *svc = NULL, *sock = NULL;
        _cleanup_free_ char *name = NULL, *socket_name = NULL, *runtime_dir = NULL;
        _cleanup_strv_free_ char **env = NULL, **deps = NULL, **conds = NULL;
        int r;

        if (!a || !a->name || !profile_name)
                return -EINVAL;

        r = plan_unit_name(a->name, "service", &name);
        if (r < 0)
                return r;
        r = unit_spec_new(name, &svc);
        if (r < 0)
                return r;

        r = add_string(svc, "Description", a->description ?: a->name);
        if (r < 0)
                return r;
        r = add_string(svc, "Slice", UNIFIED_SLICE);
        if (r < 0)
                return r;
        r = add_string(svc, "Type", a->notify ? "notify" : "exec");
        if (r < 0)
                return r;
        r = add_service_exec(svc, a);
        if (r < 0)
                return r;

        r = strv_copy(a->env, &env);
        if (r < 0)
                return r;
        r = strv_consume(&env, strdup_printf("UNIFIED_PROFILE=", profile_name));
        if (r < 0)
                return r;
        r = strv_consume(&env, strdup_printf("UNIFIED_AGENT=", a->name));
        if (r < 0)
                return r;
        r = add_strv_consume(svc, "Environment", UNIT_PROPERTY_STRV, TAKE_PTR(env));
        if (r < 0)
                return r;

        /* Limits: always present, "infinity" when unset, so that switching from a profile that set one
         * to one that does not clears it at runtime. */
        r = add_u64(svc, "MemoryMax", a->memory_max);
        if (r < 0)
                return r;
        r = add_u64(svc, "MemoryHigh", a->memory_high);
        if (r < 0)
                return r;
        r = add_u64(svc, "CPUQuotaPerSecUSec", a->cpu_quota > 0 ? a->cpu_quota * 100 : USEC_INFINITY);
        if (r < 0)
                return r;
        r = add_u64(svc, "CPUWeight", a->cpu_weight > 0 ? a->cpu_weight : UINT64_MAX);
        if (r < 0)
                return r;
        r = add_u64(svc, "TasksMax", a->tasks_max);
        if (r < 0)
                return r;

        if (a->watchdog > 0) {
                r = add_u64(svc, "WatchdogUSec", a->watchdog);
                if (r < 0)
                        return r;
        }

        STRV_FOREACH(d, a->requires) {
                char *dep;

                r = dependency_unit(profile, *d, &dep);
                if (r < 0)
                        return r;
                r = strv_consume(&deps, dep);
                if (r < 0)
                        return r;
        }
        if (deps) {
                r = add_strv(svc, "Requires", deps);
                if (r < 0)
                        return r;
                r = add_strv_consume(svc, "After", UNIT_PROPERTY_STRV, TAKE_PTR(deps));
                if (r < 0)
                        return r;
        }

        for (size_t i = 0; i < a->n_conditions; i++) {
                r = strv_extend(&conds, a->conditions[i].property);
                if (r < 0)
                        return r;
                r = strv_extend(&conds, a->conditions[i].value);
                if (r < 0)
                        return r;
        }
        if (conds) {
                r = add_strv_consume(svc, "Conditions", UNIT_PROPERTY_CONDITIONS, TAKE_PTR(conds));
                if (r < 0)
                        return r;
        }

        /* Restart policy is systemd's job; we only pass the profile's wishes on. */
        r = add_string(svc, "Restart", restart_policy_to_string(a->restart.policy) ?: "on-failure");
        if (r < 0)
                return r;
        r = add_u64(svc, "RestartUSec", a->restart.delay);
        if (r < 0)
                return r;
        if (a->restart.max_attempts > 0) {
                r = add_u32(svc, "StartLimitBurst", a->restart.max_attempts);
                if (r < 0)
                        return r;
                r = add_u64(svc, "StartLimitIntervalUSec", a->restart.window);
                if (r < 0)
                        return r;
        }
        if (systemd_version >= SYSTEMD_VERSION_RESTART_STEPS && a->restart.steps > 0 &&
            a->restart.max_delay > 0) {
                r = add_u32(svc, "RestartSteps", a->restart.steps);
                if (r < 0)
                        return r;
                r = add_u64(svc, "RestartMaxDelayUSec", a->restart.max_delay);
                if (r < 0)
                        return r;
        }

        r = add_sandbox(svc, a);
        if (r < 0)
                return r;

        if (asprintf(&runtime_dir, "unified-agents/%s", a->name) < 0)
                return -ENOMEM;
        r = add_strv(svc, "RuntimeDirectory", STRV_MAKE(runtime_dir));
        if (r < 0)
                return r;
        /* Gone from memory once stopped or failed, so that a later start can create it afresh. */
        r = add_string(svc, "CollectMode", "inactive-or-failed");
        if (r < 0)
                return r;

        if (a->lazy_listen) {
                _cleanup_strv_free_ char **listen = NULL;

                r = plan_unit_name(a->name, "socket", &socket_name);
                if (r < 0)
                        return r;
                r = unit_spec_new(socket_name, &sock);
                if (r < 0)
                        return r;
                r = add_string(sock, "Description", a->description ?: a->name);
                if (r < 0)
                        return r;
                /* systemd's Listen= type, "ListenStream=" without the prefix. */
                r = strv_extend(&listen, "Stream");
                if (r < 0)
                        return r;
                r = strv_extend(&listen, a->lazy_listen);
                if (r < 0)
                        return r;
                r = add_strv_consume(sock, "Listen", UNIT_PROPERTY_LISTEN, TAKE_PTR(listen));
                if (r < 0)
                        return r;
                r = add_bool(sock, "RemoveOnStop", true);
                if (r < 0)
                        return r;
                r = add_string(sock, "CollectMode", "inactive-or-failed");
                if (r < 0)
                        return r;
        }

        *ret_service = TAKE_PTR(svc);
        *ret_socket = TAKE_PTR(sock);
        return 0;
}

static uint64_t slice_cpu_quota(const Profile *p, unsigned n_cpus) {
        if (!p || p->cpu_quota == 0)
                return USEC_INFINITY;
        /* permyriad of the machine -> CPU time per second: 10000 on 2 CPUs = 2s per s */
        return p->cpu_quota * 100 * MAX(n_cpus, 1u);
}

int plan_slice(const Profile *p, unsigned n_cpus, UnitSpec **ret) {
        _cleanup_(unit_spec_freep) UnitSpec *s = NULL;
        int r;

        r = unit_spec_new(UNIFIED_SLICE, &s);
        if (r < 0)
                return r;
        r = add_u64(s, "MemoryMax", p ? p->memory_max : LIMIT_UNSET);
        if (r < 0)
                return r;
        r = add_u64(s, "CPUQuotaPerSecUSec", slice_cpu_quota(p, n_cpus));
        if (r < 0)
                return r;
        *ret = TAKE_PTR(s);
        return 0;
}

int plan_start_order(const Profile *p, size_t **ret_order) {
        _cleanup_free_ size_t *order = NULL;
        _cleanup_free_ bool *done = NULL;
        size_t n = 0;
        bool progress = true;

        order = calloc(MAX(p->n_agents, (size_t) 1), sizeof(size_t));
        done = calloc(MAX(p->n_agents, (size_t) 1), sizeof(bool));
        if (!order || !done)
                return -ENOMEM;

        while (n < p->n_agents && progress) {
                progress = false;
                for (size_t i = 0; i < p->n_agents; i++) {
                        bool ready = true;

                        if (done[i])
                                continue;
                        STRV_FOREACH(r, p->agents[i]->requires)
                                for (size_t j = 0; j < p->n_agents; j++)
                                        if (!done[j] && j != i && streq(p->agents[j]->name, *r))
                                                ready = false;
                        if (!ready)
                                continue;
                        done[i] = true;
                        order[n++] = i;
                        progress = true;
                }
        }
        for (size_t i = 0; i < p->n_agents; i++)
                if (!done[i])
                        order[n++] = i;

        *ret_order = TAKE_PTR(order);
        return 0;
}

SwitchPlan *switch_plan_free(SwitchPlan *p) {
        if (!p)
                return NULL;
        for (size_t i = 0; i < p->n_steps; i++) {
                free(p->steps[i].agent);
                unit_spec_free(p->steps[i].changes);
        }
        free(p->steps);
        unit_spec_free(p->slice_before);
        unit_spec_free(p->slice_after);
        return mfree(p);
}

static int switch_plan_add(SwitchPlan *p, const char *agent, AgentAction action, bool lazy,
                           UnitSpec *changes) {
        AgentStep *n;
        char *a;

        a = strdup(agent);
        if (!a) {
                unit_spec_free(changes);
                return -ENOMEM;
        }
        n = realloc(p->steps, sizeof(AgentStep) * (p->n_steps + 1));
        if (!n) {
                free(a);
                unit_spec_free(changes);
                return -ENOMEM;
        }
        p->steps = n;
        p->steps[p->n_steps++] = (AgentStep) { .agent = a, .action = action, .lazy = lazy, .changes = changes };
        return 0;
}

size_t switch_plan_count(const SwitchPlan *p, AgentAction a) {
        size_t n = 0;
        for (size_t i = 0; p && i < p->n_steps; i++)
                if (p->steps[i].action == a)
                        n++;
        return n;
}

static uint64_t max_limit(uint64_t a, uint64_t b) {
        /* UINT64_MAX is "infinity" for both properties, so the plain maximum is right. */
        return MAX(a, b);
}

/* Compares the same agent in two profiles: what does it take to go from "o" to "n"? */
static int diff_agent(const Profile *old, const Agent *o, const Profile *new, const Agent *n,
                      unsigned systemd_version, AgentAction *ret_action, UnitSpec **ret_changes) {
        _cleanup_(unit_spec_freep) UnitSpec *os = NULL, *osock = NULL, *ns = NULL, *nsock = NULL,
                                            *changes = NULL;
        int r;

        r = plan_agent_units(old, o, new->name, systemd_version, &os, &osock);
        if (r < 0)
                return r;
        r = plan_agent_units(new, n, new->name, systemd_version, &ns, &nsock);
        if (r < 0)
                return r;

        /* A lazy agent becoming eager or the other way round, or a new address: restart. */
        if (!osock != !nsock)
                goto restart;
        if (osock && !unit_property_equal(unit_spec_get(osock, "Listen"), unit_spec_get(nsock, "Listen")))
                goto restart;

        r = unit_spec_new(ns->name, &changes);
        if (r < 0)
                return r;

        for (size_t i = 0; i < ns->n_properties; i++) {
                const UnitProperty *np = &ns->properties[i], *op = unit_spec_get(os, np->name);

                if (unit_property_equal(op, np))
                        continue;
                if (!op || !unit_property_is_runtime(np->name))
                        goto restart;
                /* Runtime properties are all "t". */
                r = add_u64(changes, np->name, np->t);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; i < os->n_properties; i++)
                if (!unit_spec_get(ns, os->properties[i].name))
                        goto restart;

        if (changes->n_properties == 0) {
                *ret_action = AGENT_ACTION_KEEP;
                *ret_changes = NULL;
        } else {
                *ret_action = AGENT_ACTION_SET_PROPERTIES;
                *ret_changes = TAKE_PTR(changes);
        }
        return 0;

restart:
        *ret_action = AGENT_ACTION_RESTART;
        *ret_changes = NULL;
        return 0;
}

int plan_switch(const Profile *old, const Profile *new, unsigned systemd_version, unsigned n_cpus,
                SwitchPlan **ret) {
        _cleanup_(switch_plan_freep) SwitchPlan *p = NULL;
        int r;

        p = calloc(1, sizeof(SwitchPlan));
        if (!p)
                return -ENOMEM;

        for (size_t i = 0; old && i < old->n_agents; i++) {
                const Agent *o = old->agents[i];

                if (new && find_agent(new, o->name))
                        continue;
                r = switch_plan_add(p, o->name, AGENT_ACTION_STOP, o->lazy_listen, NULL);
                if (r < 0)
                        return r;
        }

        for (size_t i = 0; new && i < new->n_agents; i++) {
                const Agent *n = new->agents[i], *o = old ? find_agent(old, n->name) : NULL;
                AgentAction action = AGENT_ACTION_START;
                UnitSpec *changes = NULL;

                if (o) {
                        r = diff_agent(old, o, new, n, systemd_version, &action, &changes);
                        if (r < 0)
                                return r;
                }
                r = switch_plan_add(p, n->name, action, n->lazy_listen, changes);
                if (r < 0)
                        return r;
        }

        r = plan_slice(new, n_cpus, &p->slice_after);
        if (r < 0)
                return r;
        r = plan_slice(new, n_cpus, &p->slice_before);
        if (r < 0)
                return r;
        if (old) {
                UnitProperty *mem = (UnitProperty *) unit_spec_get(p->slice_before, "MemoryMax"),
                             *cpu = (UnitProperty *) unit_spec_get(p->slice_before, "CPUQuotaPerSecUSec");

                mem->t = max_limit(mem->t, old->memory_max);
                cpu->t = max_limit(cpu->t, slice_cpu_quota(old, n_cpus));
        }

        *ret = TAKE_PTR(p);
        return 0;
}
