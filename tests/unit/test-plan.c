/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Tests for the planner: the transient unit properties of an agent, the slice budget, and the
 * actions of a profile switch. Profiles are built by hand, independent of the YAML parser. */

#include <errno.h>
#include <linux/capability.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "plan.h"
#include "strv.h"

#define MiB (UINT64_C(1024) * 1024)
#define GiB (UINT64_C(1024) * MiB)

static Agent *make_agent(const char *name, const char *arg) {
        Agent *a = calloc(1, sizeof(Agent));

        assert_non_null(a);
        agent_init_defaults(a);
        a->name = strdup(name);
        assert_int_equal(strv_extend(&a->exec, "/usr/libexec/unified/unified-agent"), 0);
        assert_int_equal(strv_extend(&a->exec, "--role"), 0);
        assert_int_equal(strv_extend(&a->exec, arg ?: name), 0);
        a->memory_max = 128 * MiB;
        a->cpu_quota = 4000; /* 40% */
        return a;
}

static Profile *make_profile(const char *name, uint64_t memory_max, uint64_t cpu_quota) {
        Profile *p = calloc(1, sizeof(Profile));

        assert_non_null(p);
        p->name = strdup(name);
        p->memory_max = memory_max;
        p->cpu_quota = cpu_quota;
        return p;
}

static void add(Profile *p, Agent *a) {
        p->agents = realloc(p->agents, sizeof(Agent *) * (p->n_agents + 1));
        assert_non_null(p->agents);
        p->agents[p->n_agents++] = a;
}

static const UnitProperty *get(const UnitSpec *s, const char *name) {
        return unit_spec_get(s, name);
}

static void test_unit_names(void **state) {
        static const struct {
                const char *unit;
                const char *agent; /* NULL: not ours */
        } cases[] = {
                { "unified-llm-router.service", "llm-router" },
                { "unified-web.socket", "web" },
                { "unified-a.b.service", "a.b" },
                { "unified-.service", NULL },
                { "unified.service", NULL },
                { "unified@core.service", NULL },
                { "unified-x.timer", NULL },
                { "other-x.service", NULL },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                char *agent = NULL;
                int r = plan_agent_from_unit(cases[i].unit, &agent);

                if (cases[i].agent) {
                        assert_int_equal(r, 0);
                        assert_string_equal(agent, cases[i].agent);
                } else
                        assert_int_equal(r, -EINVAL);
                free(agent);
        }
}

static void test_agent_service(void **state) {
        _cleanup_(profile_freep) Profile *p = make_profile("tutoring", 4 * GiB, 7000);
        _cleanup_(unit_spec_freep) UnitSpec *svc = NULL, *sock = NULL;
        Agent *a = make_agent("tutor", NULL), *lazy = make_agent("search", NULL);
        const UnitProperty *x;

        a->notify = true;
        a->watchdog = 10 * USEC_PER_SEC;
        a->essential = true;
        a->tasks_max = 64;
        assert_int_equal(strv_extend(&a->requires, "search"), 0);
        assert_int_equal(strv_extend(&a->env, "FOO=bar"), 0);
        lazy->lazy_listen = strdup("/run/unified/search.sock");
        add(p, a);
        add(p, lazy);

        assert_int_equal(plan_agent_units(p, a, p->name, 252, &svc, &sock), 0);
        assert_null(sock);
        assert_string_equal(svc->name, "unified-tutor.service");

        assert_string_equal(get(svc, "Slice")->s, "unified.slice");
        assert_string_equal(get(svc, "Type")->s, "notify");
        assert_int_equal(get(svc, "WatchdogUSec")->t, 10 * USEC_PER_SEC);
        assert_int_equal(get(svc, "MemoryMax")->t, 128 * MiB);
        assert_int_equal(get(svc, "MemoryHigh")->t, UINT64_MAX);
        assert_int_equal(get(svc, "CPUQuotaPerSecUSec")->t, 400000); /* 40% = 0.4 s per s */
        assert_int_equal(get(svc, "TasksMax")->t, 64);

        x = get(svc, "ExecStart");
        assert_int_equal(x->type, UNIT_PROPERTY_EXEC);
        assert_string_equal(x->s, "/usr/libexec/unified/unified-agent");
        assert_int_equal(strv_length(x->strv), 3);
        assert_string_equal(x->strv[2], "tutor");

        x = get(svc, "Environment");
        assert_true(strv_contains(x->strv, "FOO=bar"));
        assert_true(strv_contains(x->strv, "UNIFIED_PROFILE=tutoring"));
        assert_true(strv_contains(x->strv, "UNIFIED_AGENT=tutor"));

        /* A lazy dependency is reached through its socket, or it would start eagerly. */
        assert_string_equal(get(svc, "Requires")->strv[0], "unified-search.socket");
        assert_string_equal(get(svc, "After")->strv[0], "unified-search.socket");

        /* systemd 252 has no RestartSteps=; the rest of the restart policy is there. */
        assert_string_equal(get(svc, "Restart")->s, "on-failure");
        assert_int_equal(get(svc, "StartLimitBurst")->t, 3);
        assert_int_equal(get(svc, "StartLimitBurst")->type, UNIT_PROPERTY_U32);
        assert_null(get(svc, "RestartSteps"));
        assert_null(get(svc, "RestartMaxDelayUSec"));

        /* Sandbox defaults. */
        assert_true(get(svc, "DynamicUser")->b);
        assert_null(get(svc, "User"));
        assert_string_equal(get(svc, "ProtectSystem")->s, "strict");
        assert_true(get(svc, "PrivateNetwork")->b);
        assert_true(get(svc, "PrivateDevices")->b);
        assert_true(get(svc, "NoNewPrivileges")->b);
        assert_int_equal(get(svc, "RestrictNamespaces")->t, 0);
        assert_string_equal(get(svc, "CollectMode")->s, "inactive-or-failed");
        assert_string_equal(get(svc, "DevicePolicy")->s, "closed");
        assert_true(get(svc, "MemoryDenyWriteExecute")->b);
        assert_int_equal(get(svc, "CapabilityBoundingSet")->type, UNIT_PROPERTY_U64);
        assert_int_equal(get(svc, "CapabilityBoundingSet")->t, 0);
        assert_int_equal(get(svc, "AmbientCapabilities")->t, 0);
        x = get(svc, "SystemCallFilter");
        assert_string_equal(unit_property_signature(x->type), "(bas)");
        assert_true(x->b);
        assert_int_equal(strv_length(x->strv), 1);
        assert_string_equal(x->strv[0], "@system-service");
        x = get(svc, "SystemCallErrorNumber");
        assert_string_equal(unit_property_signature(x->type), "i");
        assert_int_equal((int32_t) x->t, EPERM);
        x = get(svc, "RestrictAddressFamilies");
        assert_true(x->b);
        assert_int_equal(strv_length(x->strv), 1);
        assert_string_equal(x->strv[0], "AF_UNIX");
        assert_string_equal(get(svc, "ProtectProc")->s, "invisible");
        assert_string_equal(get(svc, "ProcSubset")->s, "pid");
        assert_int_equal(get(svc, "UMask")->type, UNIT_PROPERTY_U32);
        assert_int_equal(get(svc, "UMask")->t, 0077);
        assert_true(get(svc, "ProtectClock")->b);
        assert_true(get(svc, "RemoveIPC")->b);
        assert_string_equal(get(svc, "KeyringMode")->s, "private");

        unit_spec_free(TAKE_PTR(svc));
        assert_int_equal(plan_agent_units(p, a, p->name, 254, &svc, &sock), 0);
        assert_int_equal(get(svc, "RestartSteps")->t, 3);
        assert_int_equal(get(svc, "RestartMaxDelayUSec")->t, 2 * USEC_PER_SEC);
}

static void test_agent_lazy_and_relaxed(void **state) {
        _cleanup_(profile_freep) Profile *p = make_profile("core", LIMIT_UNSET, 0);
        _cleanup_(unit_spec_freep) UnitSpec *svc = NULL, *sock = NULL;
        Agent *a = make_agent("web", NULL);
        const UnitProperty *x;

        a->lazy_listen = strdup("127.0.0.1:8080");
        a->sandbox.user = strdup("www-data");
        a->sandbox.network = true;
        a->sandbox.private_devices = false;
        a->sandbox.memory_deny_write_execute = false;
        a->sandbox.capabilities = UINT64_C(1) << CAP_NET_BIND_SERVICE;
        assert_int_equal(strv_copy((char *[]) { (char *) "@privileged", (char *) "ptrace", NULL },
                                   &a->sandbox.system_calls), 0);
        a->n_conditions = 1;
        a->conditions = calloc(1, sizeof(AgentCondition));
        a->conditions[0].property = strdup("ConditionPathExists");
        a->conditions[0].value = strdup("!/etc/nogpu");
        add(p, a);

        assert_int_equal(plan_agent_units(p, a, p->name, 252, &svc, &sock), 0);
        assert_non_null(sock);
        assert_string_equal(sock->name, "unified-web.socket");
        x = get(sock, "Listen");
        assert_int_equal(x->type, UNIT_PROPERTY_LISTEN);
        assert_string_equal(x->strv[0], "Stream");
        assert_string_equal(x->strv[1], "127.0.0.1:8080");

        assert_string_equal(get(svc, "User")->s, "www-data");
        assert_null(get(svc, "DynamicUser"));
        assert_null(get(svc, "PrivateNetwork"));
        assert_null(get(svc, "PrivateDevices"));
        /* The host's /dev, as PrivateDevices=no means (a GPU agent). */
        assert_null(get(svc, "DevicePolicy"));
        assert_null(get(svc, "ProtectClock"));
        assert_null(get(svc, "MemoryDenyWriteExecute"));
        assert_int_equal(get(svc, "CapabilityBoundingSet")->t, UINT64_C(1) << CAP_NET_BIND_SERVICE);
        assert_int_equal(get(svc, "AmbientCapabilities")->t, UINT64_C(1) << CAP_NET_BIND_SERVICE);
        x = get(svc, "SystemCallFilter");
        assert_int_equal(strv_length(x->strv), 3);
        assert_string_equal(x->strv[0], "@system-service");
        assert_string_equal(x->strv[1], "@privileged");
        assert_string_equal(x->strv[2], "ptrace");
        x = get(svc, "RestrictAddressFamilies");
        assert_int_equal(strv_length(x->strv), 3);
        assert_string_equal(x->strv[1], "AF_INET");
        assert_string_equal(x->strv[2], "AF_INET6");
        assert_string_equal(get(svc, "Type")->s, "exec");
        x = get(svc, "Conditions");
        assert_int_equal(x->type, UNIT_PROPERTY_CONDITIONS);
        assert_string_equal(x->strv[0], "ConditionPathExists");
        assert_string_equal(x->strv[1], "!/etc/nogpu");
        assert_string_equal(unit_property_signature(x->type), "a(sbbs)");
}

/* plan_agent_sandbox() is exactly the service's sandbox: each of its properties is in the service with
 * the same value, and the rest of the service (command, limits, runtime directory) is not in it. */
static void test_agent_sandbox(void **state) {
        _cleanup_(profile_freep) Profile *p = make_profile("core", LIMIT_UNSET, 0);
        Agent *plain = make_agent("plain", NULL), *relaxed = make_agent("relaxed", NULL);

        relaxed->sandbox.network = true;
        relaxed->sandbox.private_devices = false;
        relaxed->sandbox.user = strdup("www-data");
        add(p, plain);
        add(p, relaxed);

        for (size_t i = 0; i < p->n_agents; i++) {
                _cleanup_(unit_spec_freep) UnitSpec *svc = NULL, *sock = NULL, *sandbox = NULL;

                assert_int_equal(plan_agent_units(p, p->agents[i], p->name, 252, &svc, &sock), 0);
                assert_int_equal(plan_agent_sandbox(p->agents[i], &sandbox), 0);
                assert_string_equal(sandbox->name, svc->name);
                for (size_t j = 0; j < sandbox->n_properties; j++)
                        assert_true(unit_property_equal(&sandbox->properties[j],
                                                        get(svc, sandbox->properties[j].name)));
                assert_non_null(get(sandbox, "SystemCallFilter"));
                assert_non_null(get(sandbox, "ProtectSystem"));
                assert_null(get(sandbox, "ExecStart"));
                assert_null(get(sandbox, "MemoryMax"));
                assert_null(get(sandbox, "RuntimeDirectory"));
                assert_true(sandbox->n_properties < svc->n_properties);
        }
        assert_int_equal(plan_agent_sandbox(NULL, &(UnitSpec *) { NULL }), -EINVAL);
}

static void test_slice(void **state) {
        static const struct {
                uint64_t memory, cpu;
                unsigned n_cpus;
                uint64_t want_memory, want_cpu;
        } cases[] = {
                { 4 * GiB, 7000, 2, 4 * GiB, 1400000 },     /* 70% of 2 CPUs = 1.4 s per s */
                { 4 * GiB, 7000, 1, 4 * GiB, 700000 },
                { LIMIT_UNSET, 0, 4, UINT64_MAX, UINT64_MAX },
                { 512 * MiB, 10000, 8, 512 * MiB, 8000000 },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_(profile_freep) Profile *p = make_profile("x", cases[i].memory, cases[i].cpu);
                _cleanup_(unit_spec_freep) UnitSpec *s = NULL;

                assert_int_equal(plan_slice(p, cases[i].n_cpus, &s), 0);
                assert_string_equal(s->name, "unified.slice");
                assert_int_equal(get(s, "MemoryMax")->t, cases[i].want_memory);
                assert_int_equal(get(s, "CPUQuotaPerSecUSec")->t, cases[i].want_cpu);
        }

        _cleanup_(unit_spec_freep) UnitSpec *none = NULL;
        assert_int_equal(plan_slice(NULL, 2, &none), 0);
        assert_int_equal(get(none, "MemoryMax")->t, UINT64_MAX);
        assert_int_equal(get(none, "CPUQuotaPerSecUSec")->t, UINT64_MAX);
}

static const AgentStep *step(const SwitchPlan *p, const char *agent) {
        for (size_t i = 0; i < p->n_steps; i++)
                if (streq(p->steps[i].agent, agent))
                        return &p->steps[i];
        fail_msg("no step for %s", agent);
        return NULL;
}

static void test_switch(void **state) {
        _cleanup_(profile_freep) Profile *old = make_profile("core", 4 * GiB, 7000),
                                         *new = make_profile("vision", 2 * GiB, 5000);
        _cleanup_(switch_plan_freep) SwitchPlan *plan = NULL;
        Agent *a;

        add(old, make_agent("gone", NULL));
        add(old, make_agent("same", NULL));
        add(old, make_agent("limits", NULL));
        add(old, make_agent("command", NULL));
        add(old, make_agent("sandbox", NULL));
        add(old, make_agent("calls", NULL));

        add(new, make_agent("same", NULL));
        a = make_agent("limits", NULL);
        a->memory_max = 256 * MiB;
        a->tasks_max = 10;
        add(new, a);
        add(new, make_agent("command", "other-role"));
        a = make_agent("sandbox", NULL);
        a->sandbox.network = true;
        add(new, a);
        /* Only the system call filter differs: a (bas) property, applied at the next start. */
        a = make_agent("calls", NULL);
        assert_int_equal(strv_copy((char *[]) { (char *) "@debug", NULL }, &a->sandbox.system_calls), 0);
        add(new, a);
        add(new, make_agent("fresh", NULL));

        assert_int_equal(plan_switch(old, new, 252, 2, &plan), 0);
        assert_int_equal(plan->n_steps, 7);
        /* Stops come first: the budget is lowered after them. */
        assert_string_equal(plan->steps[0].agent, "gone");
        assert_int_equal(plan->steps[0].action, AGENT_ACTION_STOP);

        /* The profile name differs (UNIFIED_PROFILE=), which alone must not restart anything. */
        assert_int_equal(step(plan, "same")->action, AGENT_ACTION_KEEP);
        assert_int_equal(step(plan, "limits")->action, AGENT_ACTION_SET_PROPERTIES);
        assert_int_equal(step(plan, "limits")->changes->n_properties, 2);
        assert_int_equal(get(step(plan, "limits")->changes, "MemoryMax")->t, 256 * MiB);
        assert_int_equal(get(step(plan, "limits")->changes, "TasksMax")->t, 10);
        assert_string_equal(step(plan, "limits")->changes->name, "unified-limits.service");
        assert_int_equal(step(plan, "command")->action, AGENT_ACTION_RESTART);
        assert_int_equal(step(plan, "sandbox")->action, AGENT_ACTION_RESTART);
        assert_int_equal(step(plan, "calls")->action, AGENT_ACTION_RESTART);
        assert_int_equal(step(plan, "fresh")->action, AGENT_ACTION_START);
        assert_int_equal(switch_plan_count(plan, AGENT_ACTION_START), 1);

        /* While both may exist the slice has the larger budget; then the new one. */
        assert_int_equal(get(plan->slice_before, "MemoryMax")->t, 4 * GiB);
        assert_int_equal(get(plan->slice_before, "CPUQuotaPerSecUSec")->t, 1400000);
        assert_int_equal(get(plan->slice_after, "MemoryMax")->t, 2 * GiB);
        assert_int_equal(get(plan->slice_after, "CPUQuotaPerSecUSec")->t, 1000000);
}

static void test_switch_from_and_to_nothing(void **state) {
        _cleanup_(profile_freep) Profile *p = make_profile("core", 512 * MiB, 0);
        _cleanup_(switch_plan_freep) SwitchPlan *up = NULL, *down = NULL, *same = NULL;

        add(p, make_agent("a", NULL));
        add(p, make_agent("b", NULL));

        assert_int_equal(plan_switch(NULL, p, 252, 2, &up), 0);
        assert_int_equal(switch_plan_count(up, AGENT_ACTION_START), 2);
        assert_int_equal(get(up->slice_before, "MemoryMax")->t, 512 * MiB);

        assert_int_equal(plan_switch(p, NULL, 252, 2, &down), 0);
        assert_int_equal(switch_plan_count(down, AGENT_ACTION_STOP), 2);
        assert_int_equal(get(down->slice_before, "MemoryMax")->t, UINT64_MAX);
        assert_int_equal(get(down->slice_after, "MemoryMax")->t, UINT64_MAX);

        assert_int_equal(plan_switch(p, p, 252, 2, &same), 0);
        assert_int_equal(switch_plan_count(same, AGENT_ACTION_KEEP), 2);
}

static void test_start_order(void **state) {
        static const struct {
                const char *agents[6];          /* "name:req1,req2" */
                const char *want;               /* names in start order */
        } cases[] = {
                { { "a", "b", "c" }, "a b c" },
                { { "a:b", "b:c", "c" }, "c b a" },
                { { "gw:coord,fmt", "coord:bus", "bus", "fmt" }, "bus fmt coord gw" },
                { { "x:y", "y:x", "z" }, "z x y" },   /* a cycle keeps file order at the end */
                { { "a:missing", "b" }, "a b" },      /* a requirement outside the set does not wait */
        };

        for (size_t c = 0; c < ELEMENTSOF(cases); c++) {
                _cleanup_(profile_freep) Profile *p = make_profile("o", LIMIT_UNSET, 0);
                _cleanup_free_ size_t *order = NULL;
                _cleanup_strv_free_ char **names = NULL;
                _cleanup_free_ char *got = NULL;

                for (size_t i = 0; cases[c].agents[i]; i++) {
                        char *spec = strdup(cases[c].agents[i]), *colon = strchr(spec, ':');
                        Agent *a;

                        if (colon)
                                *colon = '\0';
                        a = make_agent(spec, NULL);
                        for (char *t = colon ? strtok(colon + 1, ",") : NULL; t; t = strtok(NULL, ","))
                                assert_int_equal(strv_extend(&a->requires, t), 0);
                        add(p, a);
                        free(spec);
                }
                assert_int_equal(plan_start_order(p, &order), 0);
                for (size_t i = 0; i < p->n_agents; i++)
                        assert_int_equal(strv_extend(&names, p->agents[order[i]]->name), 0);
                got = strv_join(names, " ");
                assert_string_equal(got, cases[c].want);
        }
}

static void test_runtime_properties(void **state) {
        assert_true(unit_property_is_runtime("MemoryMax"));
        assert_true(unit_property_is_runtime("CPUQuotaPerSecUSec"));
        assert_false(unit_property_is_runtime("ExecStart"));
        assert_false(unit_property_is_runtime("Environment"));
        assert_false(unit_property_is_runtime("DynamicUser"));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_unit_names),
                cmocka_unit_test(test_agent_service),
                cmocka_unit_test(test_agent_lazy_and_relaxed),
                cmocka_unit_test(test_agent_sandbox),
                cmocka_unit_test(test_slice),
                cmocka_unit_test(test_switch),
                cmocka_unit_test(test_switch_from_and_to_nothing),
                cmocka_unit_test(test_start_order),
                cmocka_unit_test(test_runtime_properties),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
