/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The profile model: agents and profiles, their defaults (the one place they live), copies, merges
 * and the naming rules that keep agent names usable inside unit names. */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "profile.h"
#include "strv.h"

static const char *const restart_policy_table[_RESTART_POLICY_MAX] = {
        [RESTART_NO] = "no",
        [RESTART_ON_FAILURE] = "on-failure",
        [RESTART_ON_ABNORMAL] = "on-abnormal",
        [RESTART_ON_WATCHDOG] = "on-watchdog",
        [RESTART_ON_ABORT] = "on-abort",
        [RESTART_ALWAYS] = "always",
};

const char *restart_policy_to_string(RestartPolicy p) {
        if (p < 0 || p >= _RESTART_POLICY_MAX)
                return NULL;
        return restart_policy_table[p];
}

RestartPolicy restart_policy_from_string(const char *s) {
        if (!s)
                return _RESTART_POLICY_INVALID;
        for (RestartPolicy p = 0; p < _RESTART_POLICY_MAX; p++)
                if (streq(restart_policy_table[p], s))
                        return p;
        return _RESTART_POLICY_INVALID;
}

void agent_init_defaults(Agent *a) {
        a->memory_max = LIMIT_UNSET;
        a->memory_high = LIMIT_UNSET;
        a->cpu_quota = 0;
        a->cpu_weight = 0;
        a->tasks_max = LIMIT_UNSET;
        a->essential = false;
        a->notify = false;
        a->watchdog = 0;

        /* systemd restarts a crashed agent quickly, backing off exponentially (on systemd >= 254) from
         * 100ms to 2s; the seed's "max 3 attempts" is StartLimitBurst=3 within a minute, after which
         * systemd gives up and the breaker takes over. */
        a->restart = (RestartConfig) {
                .policy = RESTART_ON_FAILURE,
                .delay = 100 * USEC_PER_MSEC,
                .max_delay = 2 * USEC_PER_SEC,
                .steps = 3,
                .max_attempts = 3,
                .window = 60 * USEC_PER_SEC,
        };

        /* Kubernetes' CrashLoopBackOff: 10s doubling up to 5min. A half-open agent that runs cleanly
         * for 30s is closed again (Kubernetes waits 10min, but it has no half-open probe). */
        a->breaker = (BreakerConfig) {
                .threshold = 5,
                .window = 60 * USEC_PER_SEC,
                .cooldown = 10 * USEC_PER_SEC,
                .max_cooldown = 5 * USEC_PER_MINUTE,
                .probation = 30 * USEC_PER_SEC,
        };

        /* Secure by default, relaxed per agent: DynamicUser, no network, read-only system. */
        a->sandbox.network = false;
        a->sandbox.protect_system = true;
        a->sandbox.private_devices = true;
        a->sandbox.memory_deny_write_execute = true;
}

Agent *agent_new(void) {
        Agent *a = calloc(1, sizeof(Agent));

        if (!a)
                return NULL;
        agent_init_defaults(a);
        return a;
}

static void conditions_free(AgentCondition *c, size_t n) {
        for (size_t i = 0; i < n; i++) {
                free(c[i].property);
                free(c[i].value);
        }
        free(c);
}

Agent *agent_free(Agent *a) {
        if (!a)
                return NULL;
        free(a->name);
        free(a->description);
        strv_free(a->exec);
        strv_free(a->env);
        strv_free(a->requires);
        free(a->lazy_listen);
        conditions_free(a->conditions, a->n_conditions);
        free(a->sandbox.user);
        strv_free(a->sandbox.writable_paths);
        strv_free(a->sandbox.system_calls);
        free(a->source_file);
        return mfree(a);
}

static int strdup_or_null(const char *s, char **ret) {
        char *c = NULL;

        if (s) {
                c = strdup(s);
                if (!c)
                        return -ENOMEM;
        }
        *ret = c;
        return 0;
}

static int strv_copy_or_null(char * const *l, char ***ret) {
        if (!l) {
                *ret = NULL;
                return 0;
        }
        return strv_copy(l, ret);
}

static int conditions_copy(const AgentCondition *c, size_t n, AgentCondition **ret) {
        AgentCondition *copy;

        if (n == 0) {
                *ret = NULL;
                return 0;
        }
        copy = calloc(n, sizeof(AgentCondition));
        if (!copy)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                copy[i].property = strdup(c[i].property);
                copy[i].value = strdup(c[i].value);
                if (!copy[i].property || !copy[i].value) {
                        conditions_free(copy, n);
                        return -ENOMEM;
                }
        }
        *ret = copy;
        return 0;
}

int agent_copy(const Agent *a, Agent **ret) {
        _cleanup_(agent_freep) Agent *c = NULL;

        c = calloc(1, sizeof(Agent));
        if (!c)
                return -ENOMEM;
        /* Scalars first, then replace every pointer with a deep copy. */
        *c = *a;
        c->name = c->description = c->lazy_listen = c->source_file = c->sandbox.user = NULL;
        c->exec = c->env = c->requires = c->sandbox.writable_paths = c->sandbox.system_calls = NULL;
        c->conditions = NULL;
        c->n_conditions = 0;

        if (strdup_or_null(a->name, &c->name) < 0 ||
            strdup_or_null(a->description, &c->description) < 0 ||
            strdup_or_null(a->lazy_listen, &c->lazy_listen) < 0 ||
            strdup_or_null(a->source_file, &c->source_file) < 0 ||
            strdup_or_null(a->sandbox.user, &c->sandbox.user) < 0 ||
            strv_copy_or_null(a->exec, &c->exec) < 0 ||
            strv_copy_or_null(a->env, &c->env) < 0 ||
            strv_copy_or_null(a->requires, &c->requires) < 0 ||
            strv_copy_or_null(a->sandbox.writable_paths, &c->sandbox.writable_paths) < 0 ||
            strv_copy_or_null(a->sandbox.system_calls, &c->sandbox.system_calls) < 0 ||
            conditions_copy(a->conditions, a->n_conditions, &c->conditions) < 0)
                return -ENOMEM;
        c->n_conditions = a->n_conditions;

        *ret = TAKE_PTR(c);
        return 0;
}

#define IS_SET(a, f) (((a)->set & AGENT_FIELD_BIT(f)) != 0)

static int replace_str(char **dst, const char *src) {
        char *c;
        int r;

        r = strdup_or_null(src, &c);
        if (r < 0)
                return r;
        free(*dst);
        *dst = c;
        return 0;
}

static int replace_strv(char ***dst, char * const *src) {
        char **c;
        int r;

        r = strv_copy_or_null(src, &c);
        if (r < 0)
                return r;
        strv_free(*dst);
        *dst = c;
        return 0;
}

/* "KEY=value" entries of src replace those of dst with the same KEY, the others are appended. */
static int env_merge(char ***dst, char * const *src) {
        _cleanup_strv_free_ char **m = NULL;
        size_t n_dst = strv_length(*dst), n_src = strv_length(src), n = 0;

        m = calloc(n_dst + n_src + 1, sizeof(char *));
        if (!m)
                return -ENOMEM;
        for (size_t i = 0; i < n_dst; i++) {
                const char *eq = strchr((*dst)[i], '=');
                size_t k = eq ? (size_t) (eq - (*dst)[i]) : strlen((*dst)[i]);
                bool overridden = false;

                for (size_t j = 0; j < n_src; j++)
                        if (strneq(src[j], (*dst)[i], k) && src[j][k] == '=') {
                                overridden = true;
                                break;
                        }
                if (overridden)
                        continue;
                m[n] = strdup((*dst)[i]);
                if (!m[n++])
                        return -ENOMEM;
        }
        for (size_t j = 0; j < n_src; j++) {
                m[n] = strdup(src[j]);
                if (!m[n++])
                        return -ENOMEM;
        }
        strv_free(*dst);
        *dst = TAKE_PTR(m);
        return 0;
}

int agent_merge(Agent *dst, const Agent *src) {
        int r;

        if (IS_SET(src, AGENT_FIELD_DESCRIPTION) && (r = replace_str(&dst->description, src->description)) < 0)
                return r;
        if (IS_SET(src, AGENT_FIELD_EXEC) && (r = replace_strv(&dst->exec, src->exec)) < 0)
                return r;
        if (IS_SET(src, AGENT_FIELD_ENV) && (r = env_merge(&dst->env, src->env)) < 0)
                return r;
        if (IS_SET(src, AGENT_FIELD_REQUIRES) && (r = replace_strv(&dst->requires, src->requires)) < 0)
                return r;
        if (IS_SET(src, AGENT_FIELD_LAZY) && (r = replace_str(&dst->lazy_listen, src->lazy_listen)) < 0)
                return r;
        if (IS_SET(src, AGENT_FIELD_SANDBOX_USER) && (r = replace_str(&dst->sandbox.user, src->sandbox.user)) < 0)
                return r;
        if (IS_SET(src, AGENT_FIELD_SANDBOX_WRITABLE_PATHS) &&
            (r = replace_strv(&dst->sandbox.writable_paths, src->sandbox.writable_paths)) < 0)
                return r;
        if (IS_SET(src, AGENT_FIELD_SANDBOX_SYSTEM_CALLS) &&
            (r = replace_strv(&dst->sandbox.system_calls, src->sandbox.system_calls)) < 0)
                return r;
        if (IS_SET(src, AGENT_FIELD_CONDITIONS)) {
                AgentCondition *c;

                r = conditions_copy(src->conditions, src->n_conditions, &c);
                if (r < 0)
                        return r;
                conditions_free(dst->conditions, dst->n_conditions);
                dst->conditions = c;
                dst->n_conditions = src->n_conditions;
        }

#define MERGE(field, member) \
        if (IS_SET(src, field)) \
                dst->member = src->member
        MERGE(AGENT_FIELD_MEMORY_MAX, memory_max);
        MERGE(AGENT_FIELD_MEMORY_HIGH, memory_high);
        MERGE(AGENT_FIELD_CPU_QUOTA, cpu_quota);
        MERGE(AGENT_FIELD_CPU_WEIGHT, cpu_weight);
        MERGE(AGENT_FIELD_TASKS_MAX, tasks_max);
        MERGE(AGENT_FIELD_ESSENTIAL, essential);
        MERGE(AGENT_FIELD_NOTIFY, notify);
        MERGE(AGENT_FIELD_WATCHDOG, watchdog);
        MERGE(AGENT_FIELD_RESTART_POLICY, restart.policy);
        MERGE(AGENT_FIELD_RESTART_DELAY, restart.delay);
        MERGE(AGENT_FIELD_RESTART_MAX_DELAY, restart.max_delay);
        MERGE(AGENT_FIELD_RESTART_STEPS, restart.steps);
        MERGE(AGENT_FIELD_RESTART_MAX_ATTEMPTS, restart.max_attempts);
        MERGE(AGENT_FIELD_RESTART_WINDOW, restart.window);
        MERGE(AGENT_FIELD_BREAKER_THRESHOLD, breaker.threshold);
        MERGE(AGENT_FIELD_BREAKER_WINDOW, breaker.window);
        MERGE(AGENT_FIELD_BREAKER_COOLDOWN, breaker.cooldown);
        MERGE(AGENT_FIELD_BREAKER_MAX_COOLDOWN, breaker.max_cooldown);
        MERGE(AGENT_FIELD_BREAKER_PROBATION, breaker.probation);
        MERGE(AGENT_FIELD_SANDBOX_NETWORK, sandbox.network);
        MERGE(AGENT_FIELD_SANDBOX_PROTECT_SYSTEM, sandbox.protect_system);
        MERGE(AGENT_FIELD_SANDBOX_PRIVATE_DEVICES, sandbox.private_devices);
        MERGE(AGENT_FIELD_SANDBOX_MEMORY_DENY_WRITE_EXECUTE, sandbox.memory_deny_write_execute);
        MERGE(AGENT_FIELD_SANDBOX_CAPABILITIES, sandbox.capabilities);
#undef MERGE

        dst->set |= src->set;
        return 0;
}

Profile *profile_new(void) {
        Profile *p = calloc(1, sizeof(Profile));

        if (!p)
                return NULL;
        p->memory_max = LIMIT_UNSET;
        return p;
}

Profile *profile_free(Profile *p) {
        if (!p)
                return NULL;
        free(p->name);
        free(p->description);
        free(p->path);
        free(p->extends);
        strv_free(p->bases);
        strv_free(p->include);
        strv_free(p->exclude);
        for (size_t i = 0; i < p->n_agents; i++)
                agent_free(p->agents[i]);
        free(p->agents);
        agent_free(p->defaults);
        return mfree(p);
}

Agent *profile_find_agent(const Profile *p, const char *name) {
        if (!p || !name)
                return NULL;
        for (size_t i = 0; i < p->n_agents; i++)
                if (streq(p->agents[i]->name, name))
                        return p->agents[i];
        return NULL;
}

int profile_add_agent(Profile *p, Agent *a) {
        Agent **agents;

        /* Grow geometrically: profiles are bounded, but hostile input should not cost O(n^2). */
        if ((p->n_agents & (p->n_agents - 1)) == 0) {
                agents = realloc(p->agents, sizeof(Agent *) * MAX(p->n_agents * 2, (size_t) 8));
                if (!agents)
                        return -ENOMEM;
                p->agents = agents;
        }
        p->agents[p->n_agents++] = a;
        return 0;
}

static bool char_is_alnum(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

bool agent_name_is_valid(const char *name) {
        size_t n;

        if (isempty(name))
                return false;
        n = strlen(name);
        if (n > AGENT_NAME_MAX)
                return false;
        /* Starting with an alphanumeric keeps names from looking like options ("-x") or hidden files. */
        if (!char_is_alnum(name[0]))
                return false;
        for (size_t i = 0; i < n; i++)
                if (!char_is_alnum(name[i]) && !strchr("_.-", name[i]))
                        return false;
        return true;
}

bool agent_name_is_reserved(const char *name) {
        return streq_ptr(name, "metrics") || streq_ptr(name, "metricsd");
}

bool profile_name_is_valid(const char *name) {
        return agent_name_is_valid(name);
}

bool exec_path_is_valid(const char *path) {
        if (isempty(path) || path[0] != '/')
                return false;
        if (strlen(path) >= 4096)
                return false;
        /* A directory is not a program; "/usr/bin/" is a typo. */
        if (path[strlen(path) - 1] == '/')
                return false;
        return true;
}

int agent_unit_name(const Agent *a, const char *suffix, char **ret) {
        char *s;

        if (!a || !agent_name_is_valid(a->name) || isempty(suffix))
                return -EINVAL;
        if (asprintf(&s, "unified-%s%s%s", a->name, suffix[0] == '.' ? "" : ".", suffix) < 0)
                return -ENOMEM;
        *ret = s;
        return 0;
}

static int unhex(char c) {
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -1;
}

int exec_split(const char *s, char ***ret, const char **ret_error) {
        _cleanup_strv_free_ char **argv = NULL;
        _cleanup_free_ char *word = NULL;
        size_t n_argv = 0, n_allocated = 0;
        size_t len = strlen(s);

        /* A word is never longer than the input, so one buffer of that size serves every word. */
        word = malloc(len + 1);
        if (!word)
                return -ENOMEM;

        for (const char *p = s;;) {
                size_t n = 0;
                char quote = 0;
                bool in_word = false;

                while (*p == ' ' || *p == '\t' || *p == '\n')
                        p++;
                if (*p == '\0')
                        break;

                for (;; p++) {
                        char c = *p;

                        if (c == '\0') {
                                if (quote) {
                                        *ret_error = "unbalanced quotes";
                                        return -EINVAL;
                                }
                                break;
                        }
                        if (!quote && (c == ' ' || c == '\t' || c == '\n'))
                                break;
                        if (!quote && (c == '"' || c == '\'')) {
                                quote = c;
                                in_word = true;
                                continue;
                        }
                        if (quote && c == quote) {
                                quote = 0;
                                continue;
                        }
                        if (c == '\\') {
                                char e = *++p;

                                switch (e) {
                                case '\0':
                                        *ret_error = "trailing backslash";
                                        return -EINVAL;
                                case 'n':
                                        word[n++] = '\n';
                                        break;
                                case 't':
                                        word[n++] = '\t';
                                        break;
                                case 'x': {
                                        int h = p[1] ? unhex(p[1]) : -1, l = h >= 0 && p[2] ? unhex(p[2]) : -1;

                                        if (h < 0 || l < 0 || (h == 0 && l == 0)) {
                                                *ret_error = "bad \\x escape";
                                                return -EINVAL;
                                        }
                                        word[n++] = (char) (h * 16 + l);
                                        p += 2;
                                        break;
                                }
                                case '\\':
                                case '"':
                                case '\'':
                                case ' ':
                                        word[n++] = e;
                                        break;
                                default:
                                        *ret_error = "unknown backslash escape";
                                        return -EINVAL;
                                }
                                in_word = true;
                                continue;
                        }
                        word[n++] = c;
                        in_word = true;
                }

                if (!in_word)
                        continue;
                if (n_argv + 2 > n_allocated) {
                        size_t m = MAX(n_allocated * 2, (size_t) 8);
                        char **a = realloc(argv, m * sizeof(char *));

                        if (!a)
                                return -ENOMEM;
                        argv = a;
                        n_allocated = m;
                }
                argv[n_argv] = strndup(word, n);
                if (!argv[n_argv])
                        return -ENOMEM;
                argv[++n_argv] = NULL;
        }

        if (n_argv == 0) {
                *ret_error = "empty command line";
                return -EINVAL;
        }
        *ret = TAKE_PTR(argv);
        return 0;
}
