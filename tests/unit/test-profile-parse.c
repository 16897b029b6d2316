/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Tests for parsing one profile: a valid file into the model, and every validation error of the
 * language with its message and line:column. */

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "parse-util.h"
#include "profile.h"
#include "strv.h"
#include "yaml-node.h"

static const char valid[] =
        "# a comment\n"
        "name: t\n"
        "description: \"A test profile\"\n"
        "resources:\n"
        "  memory_max: 1.5G\n"
        "  cpu_quota: 12.5%\n"
        "defaults:\n"
        "  tasks_max: 32\n"
        "  breaker: {threshold: 4}\n"
        "agents:\n"
        "  - name: alpha\n"
        "    description: The first agent\n"
        "    exec: [/bin/sh, -c, 'echo \"hi\"']\n"
        "    env:\n"
        "      FOO: bar\n"
        "      EMPTY:\n"
        "    memory_max: 512M\n"
        "    memory_high: 400M\n"
        "    cpu_quota: 150%\n"
        "    cpu_weight: 200\n"
        "    tasks_max: infinity\n"
        "    essential: yes\n"
        "    notify: true\n"
        "    watchdog: 1min 30s\n"
        "    restart: {policy: always, delay: 250ms, max_delay: 10s, steps: 4, max_attempts: 5, window: 2min}\n"
        "    breaker: {threshold: 3, window: 30s, cooldown: 1s, max_cooldown: 1min, probation: 0}\n"
        "    conditions:\n"
        "      path_exists: /dev/dri\n"
        "      memory: \">=2G\"\n"
        "      virtualization: [\"!container\", \"!wsl\"]\n"
        "    sandbox: {user: agent, writable_paths: [/var/lib/x, -/var/cache/x], network: true, protect_system: false,\n"
        "              private_devices: off, memory_deny_write_execute: false,\n"
        "              capabilities: [CAP_NET_BIND_SERVICE, cap_net_raw], system_calls: ['@privileged', ptrace]}\n"
        "  - name: beta.2_b-c\n"
        "    exec: \"/usr/bin/env 'a b' \\\"c d\\\" e\\\\ f \\\\x41\"\n"
        "    requires: [alpha]\n"
        "    lazy: true\n"
        "  - name: gamma\n"
        "    exec: [/bin/true]\n"
        "    lazy: {listen: \"127.0.0.1:8080\"}\n";

static void test_valid(void **state) {
        _cleanup_(profile_freep) Profile *p = NULL;
        Diagnostics d = {};
        const Agent *a;

        assert_int_equal(profile_parse_string(valid, strlen(valid), "t.yaml", "t", &d, &p), 0);
        diagnostics_print(&d, stderr);
        assert_int_equal(d.n_errors, 0);
        assert_string_equal(p->name, "t");
        assert_string_equal(p->description, "A test profile");
        assert_int_equal(p->memory_max, UINT64_C(3) << 29);
        assert_int_equal(p->cpu_quota, 1250);
        assert_non_null(p->defaults);
        assert_int_equal(p->defaults->tasks_max, 32);
        assert_int_equal(p->defaults->breaker.threshold, 4);
        assert_int_equal(p->defaults->set,
                         AGENT_FIELD_BIT(AGENT_FIELD_TASKS_MAX) | AGENT_FIELD_BIT(AGENT_FIELD_BREAKER_THRESHOLD));
        assert_int_equal(p->n_agents, 3);

        a = p->agents[0];
        assert_string_equal(a->name, "alpha");
        assert_string_equal(a->description, "The first agent");
        assert_int_equal(strv_length(a->exec), 3);
        assert_string_equal(a->exec[2], "echo \"hi\"");
        assert_int_equal(strv_length(a->env), 2);
        assert_string_equal(a->env[0], "FOO=bar");
        assert_string_equal(a->env[1], "EMPTY=");
        assert_int_equal(a->memory_max, UINT64_C(512) << 20);
        assert_int_equal(a->memory_high, UINT64_C(400) << 20);
        assert_int_equal(a->cpu_quota, 15000);
        assert_int_equal(a->cpu_weight, 200);
        assert_int_equal(a->tasks_max, LIMIT_UNSET);
        assert_true(a->essential);
        assert_true(a->notify);
        assert_int_equal(a->watchdog, 90 * USEC_PER_SEC);
        assert_int_equal(a->restart.policy, RESTART_ALWAYS);
        assert_int_equal(a->restart.delay, 250 * USEC_PER_MSEC);
        assert_int_equal(a->restart.max_delay, 10 * USEC_PER_SEC);
        assert_int_equal(a->restart.steps, 4);
        assert_int_equal(a->restart.max_attempts, 5);
        assert_int_equal(a->restart.window, 2 * USEC_PER_MINUTE);
        assert_int_equal(a->breaker.threshold, 3);
        assert_int_equal(a->breaker.window, 30 * USEC_PER_SEC);
        assert_int_equal(a->breaker.cooldown, 1 * USEC_PER_SEC);
        assert_int_equal(a->breaker.max_cooldown, 1 * USEC_PER_MINUTE);
        assert_int_equal(a->breaker.probation, 0);
        assert_int_equal(a->n_conditions, 4);
        assert_string_equal(a->conditions[0].property, "ConditionPathExists");
        assert_string_equal(a->conditions[0].value, "/dev/dri");
        assert_string_equal(a->conditions[1].property, "ConditionMemory");
        assert_string_equal(a->conditions[1].value, ">=2G");
        assert_string_equal(a->conditions[2].property, "ConditionVirtualization");
        assert_string_equal(a->conditions[2].value, "!container");
        assert_string_equal(a->conditions[3].value, "!wsl");
        assert_string_equal(a->sandbox.user, "agent");
        assert_int_equal(strv_length(a->sandbox.writable_paths), 2);
        assert_string_equal(a->sandbox.writable_paths[1], "-/var/cache/x");
        assert_true(a->sandbox.network);
        assert_false(a->sandbox.protect_system);
        assert_false(a->sandbox.private_devices);
        assert_false(a->sandbox.memory_deny_write_execute);
        assert_int_equal(a->sandbox.capabilities, (UINT64_C(1) << 10) | (UINT64_C(1) << 13));
        assert_int_equal(strv_length(a->sandbox.system_calls), 2);
        assert_string_equal(a->sandbox.system_calls[0], "@privileged");
        assert_string_equal(a->sandbox.system_calls[1], "ptrace");
        assert_null(a->lazy_listen);
        assert_string_equal(a->source_file, "t.yaml");
        assert_int_equal(a->source_line, 11);
        assert_int_equal(a->source_column, 5);

        a = p->agents[1];
        assert_string_equal(a->name, "beta.2_b-c");
        assert_int_equal(strv_length(a->exec), 5);
        assert_string_equal(a->exec[0], "/usr/bin/env");
        assert_string_equal(a->exec[1], "a b");
        assert_string_equal(a->exec[2], "c d");
        assert_string_equal(a->exec[3], "e f");
        assert_string_equal(a->exec[4], "A");
        assert_string_equal(a->requires[0], "alpha");
        assert_string_equal(a->lazy_listen, "/run/unified/agents/beta.2_b-c.sock");
        /* Not set: built-in defaults, and not marked. */
        assert_int_equal(a->memory_max, LIMIT_UNSET);
        assert_int_equal(a->restart.max_attempts, 3);
        assert_false(a->set & AGENT_FIELD_BIT(AGENT_FIELD_MEMORY_MAX));
        assert_true(a->set & AGENT_FIELD_BIT(AGENT_FIELD_LAZY));

        assert_string_equal(p->agents[2]->lazy_listen, "127.0.0.1:8080");
        diagnostics_done(&d);
}

/* Every error of the language: the YAML, then the first error's position and message. */
static const struct {
        const char *yaml;
        unsigned line, column;
        const char *message;
} bad[] = {
        /* File level */
        { "", 0, 0, "empty profile (no YAML content)" },
        { "# only a comment\n\n", 0, 0, "empty profile (no YAML content)" },
        { "---\n...\n", 0, 0, "empty profile (no YAML content)" },
        { "agents: [\n", 2, 1, "YAML syntax error: did not find expected node content while parsing a flow node" },
        { "agents:\n  - name: a\n exec: x\n", 3, 2,
          "YAML syntax error: did not find expected key while parsing a block mapping" },
        { "name: \"unterminated\n", 2, 1,
          "YAML syntax error: found unexpected end of stream while scanning a quoted scalar" },
        { "agents:\n\t- name: a\n", 2, 1, "YAML syntax error: found character that cannot start any token while scanning for the next token" },
        { "name: t\nname\xff: x\n", 2, 5, "invalid UTF-8 (profiles are UTF-8 text)" },
        { "name: \xc0\xaf\n", 1, 7, "invalid UTF-8 (profiles are UTF-8 text)" },
        { "a: 1\n---\nb: 2\n", 2, 1, "a profile is one YAML document, found a second one" },
        { "- a\n- b\n", 1, 1, "a profile is a mapping of keys (name, extends, resources, agents...), got a list" },
        { "just a string\n", 1, 1, "a profile is a mapping of keys (name, extends, resources, agents...), got a scalar" },
        { "base: &b {name: a}\n", 1, 7, "YAML anchors are not supported (&anchor)" },
        { "x: *b\n", 1, 4, "YAML aliases are not supported (*alias)" },
        { "name: !!str t\n", 1, 7, "YAML tags are not supported" },
        { "description: 'x'\n", 1, 1, "profile has no agents (and extends no other profile)" },

        /* Keys */
        { "agents:\n  - name: a\n    exec: /bin/true\n    memroy_max: 1G\n", 4, 5,
          "unknown key 'memroy_max' in agent 'a', did you mean 'memory_max'?" },
        { "agnets: []\n", 1, 1, "unknown key 'agnets' in profile, did you mean 'agents'?" },
        { "agents:\n  - name: a\n    exec: /bin/true\n    frobnicate: 1\n", 4, 5, "unknown key 'frobnicate' in agent 'a'" },
        { "agents:\n  - name: a\n    exec: /bin/true\n    restart: {dealy: 1s}\n", 4, 15,
          "unknown key 'dealy' in restart, did you mean 'delay'?" },
        { "agents:\n  - name: a\n    exec: /bin/true\n    exec: /bin/false\n", 4, 5,
          "duplicate key 'exec' in agent 'a' (first at line 3)" },
        { "name: t\nname: t\nagents: []\n", 2, 1, "duplicate key 'name' in profile (first at line 1)" },
        { "? [a]\n: b\nagents: []\n", 1, 3, "profile: keys must be plain strings, got a list" },

        /* Profile keys */
        { "name: other\nagents:\n  - {name: a, exec: /bin/true}\n", 1, 7,
          "name: 'other' does not match the file name 't.yaml' (a profile is known by its file name)" },
        { "description: [a]\nagents: []\n", 1, 14, "description: expected a string, got a list" },
        { "description: \"two\\nlines\"\nagents: []\n", 1, 14,
          "description: must be a single line of at most 256 characters" },
        { "extends: t\n", 1, 10, "extends: profile 't' cannot extend itself" },
        { "extends: \"bad name\"\n", 1, 10, "extends: 'bad name' is not a valid profile name" },
        { "extends: {a: b}\n", 1, 10, "extends: expected a profile name or a list of them, got a mapping" },
        { "extends: []\n", 1, 10, "extends: empty list" },
        { "include: [a]\nagents:\n  - {name: b, exec: /bin/true}\n", 1, 1,
          "include: selects inherited agents, but the profile extends nothing" },
        { "extends: core\ninclude: [a]\nexclude: [b]\n", 3, 1, "exclude: use either include or exclude, not both" },
        { "extends: core\nexclude: [a, a]\n", 2, 14, "exclude: 'a' is listed twice" },
        { "extends: core\nexclude: a\n", 2, 10, "exclude: expected a list, got a scalar" },
        { "resources: {memory_max: lots}\nagents: []\n", 1, 25,
          "resources.memory_max: invalid size 'lots' (expected bytes with an optional K, M, G or T suffix, e.g. "
          "512M or 1.5G, or infinity)" },
        { "resources: {memory_max: 100K}\nagents: []\n", 1, 25, "resources.memory_max: 100K is too small (at least 1M)" },
        { "resources: {cpu_quota: 150%}\nagents: []\n", 1, 24, "resources.cpu_quota: 150% is out of range (0.01%..100%)" },
        { "resources: {cpu_quota: 50}\nagents: []\n", 1, 24,
          "resources.cpu_quota: invalid percentage '50' (expected e.g. 70% or 12.5%)" },
        { "resources: 2G\nagents: []\n", 1, 12, "resources: expected a mapping of keys, got a scalar" },

        /* Agents list */
        { "agents:\n  a: {exec: /bin/true}\n", 2, 3, "agents: expected a list of agents ('- name: ...'), got a mapping" },
        { "agents: yes\n", 1, 9, "agents: expected a list of agents ('- name: ...'), got a scalar" },
        { "agents:\n  - just-a-string\n", 2, 5, "agents: each agent is a mapping (name, exec, ...), got a scalar" },
        { "agents:\n  - exec: /bin/true\n", 2, 5, "agent without a name" },
        { "agents:\n  - name: [a]\n", 2, 11, "name: expected a string, got a list" },
        { "agents:\n  - name: \"foo bar\"\n    exec: /bin/true\n", 2, 11,
          "invalid agent name 'foo bar' (letters, digits, '_', '.' and '-', starting with a letter or digit, at most 64 "
          "characters, to fit in unified-<name>.service)" },
        { "agents:\n  - {name: -x, exec: /bin/true}\n", 2, 12,
          "invalid agent name '-x' (letters, digits, '_', '.' and '-', starting with a letter or digit, at most 64 "
          "characters, to fit in unified-<name>.service)" },
        { "agents:\n  - {name: a@b, exec: /bin/true}\n", 2, 12,
          "invalid agent name 'a@b' (letters, digits, '_', '.' and '-', starting with a letter or digit, at most 64 "
          "characters, to fit in unified-<name>.service)" },
        { "agents:\n  - {name: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa, exec: /bin/true}\n", 2, 12,
          "invalid agent name 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...' (letters, digits, '_', '.' and '-', starting "
          "with a letter or digit, at most 64 characters, to fit in unified-<name>.service)" },
        { "agents:\n  - {name: a, exec: /bin/true}\n  - {name: b, exec: /bin/true}\n  - {name: a, exec: /bin/true}\n",
          4, 12, "duplicate agent 'a' (first defined at line 2)" },
        { "agents:\n  - {name: metrics, exec: /bin/true}\n", 2, 12,
          "agent name 'metrics' is reserved: unified-metrics.socket and unified-metricsd.service belong to the "
          "unified package" },
        { "agents:\n  - {name: metricsd, exec: /bin/true}\n", 2, 12,
          "agent name 'metricsd' is reserved: unified-metrics.socket and unified-metricsd.service belong to the "
          "unified package" },

        /* exec */
        { "agents:\n  - {name: a, exec: bin/agent}\n", 2, 21, "exec: 'bin/agent' is not an absolute path to a program" },
        { "agents:\n  - {name: a, exec: [agent, --x]}\n", 2, 22, "exec: 'agent' is not an absolute path to a program" },
        { "agents:\n  - {name: a, exec: []}\n", 2, 21, "exec: empty command" },
        { "agents:\n  - {name: a, exec: \"\"}\n", 2, 21, "exec: empty command line" },
        { "agents:\n  - {name: a, exec: \"/bin/x 'open\"}\n", 2, 21, "exec: unbalanced quotes" },
        { "agents:\n  - {name: a, exec: \"/bin/x \\\\q\"}\n", 2, 21, "exec: unknown backslash escape" },
        { "agents:\n  - {name: a, exec: {a: b}}\n", 2, 21,
          "exec: expected a command (a list of arguments or a string), got a mapping" },
        { "agents:\n  - {name: a, exec: [/bin/x, [y]]}\n", 2, 30, "exec: arguments must be strings, got a list" },

        /* env */
        { "agents:\n  - {name: a, exec: /bin/true, env: {1FOO: x}}\n", 2, 38,
          "env: invalid variable name '1FOO' (letters, digits and '_', not starting with a digit)" },
        { "agents:\n  - {name: a, exec: /bin/true, env: {A-B: x}}\n", 2, 38,
          "env: invalid variable name 'A-B' (letters, digits and '_', not starting with a digit)" },
        { "agents:\n  - {name: a, exec: /bin/true, env: [A=b]}\n", 2, 37, "env: expected a mapping of NAME: value, got a list" },
        { "agents:\n  - {name: a, exec: /bin/true, env: {A: [b]}}\n", 2, 41, "env: value of A must be a string, got a list" },

        /* sizes, percentages, durations, numbers, booleans */
        { "agents:\n  - {name: a, exec: /bin/true, memory_max: 2Q}\n", 2, 44,
          "memory_max: invalid size '2Q' (expected bytes with an optional K, M, G or T suffix, e.g. 512M or 1.5G, or "
          "infinity)" },
        { "agents:\n  - {name: a, exec: /bin/true, memory_high: -1G}\n", 2, 45,
          "memory_high: invalid size '-1G' (expected bytes with an optional K, M, G or T suffix, e.g. 512M or 1.5G, or "
          "infinity)" },
        { "agents:\n  - {name: a, exec: /bin/true, memory_max: 512}\n", 2, 44, "memory_max: 512B is too small (at least 1M)" },
        { "agents:\n  - {name: a, exec: /bin/true, cpu_quota: 50}\n", 2, 43,
          "cpu_quota: invalid percentage '50' (expected e.g. 70% or 12.5%)" },
        { "agents:\n  - {name: a, exec: /bin/true, cpu_quota: 0%}\n", 2, 43, "cpu_quota: 0% is out of range (0.01%..1000000%)" },
        { "agents:\n  - {name: a, exec: /bin/true, cpu_weight: 0}\n", 2, 44, "cpu_weight: '0' is out of range (1..10000)" },
        { "agents:\n  - {name: a, exec: /bin/true, cpu_weight: 10001}\n", 2, 44, "cpu_weight: '10001' is out of range (1..10000)" },
        { "agents:\n  - {name: a, exec: /bin/true, cpu_weight: heavy}\n", 2, 44, "cpu_weight: expected a whole number, got 'heavy'" },
        { "agents:\n  - {name: a, exec: /bin/true, tasks_max: -5}\n", 2, 43, "tasks_max: expected a whole number, got '-5'" },
        { "agents:\n  - {name: a, exec: /bin/true, tasks_max: 99999999999999999999999}\n", 2, 43,
          "tasks_max: '99999999999999999999999' is out of range (1..4194304)" },
        { "agents:\n  - {name: a, exec: /bin/true, essential: maybe}\n", 2, 43,
          "essential: expected a boolean (true or false), got 'maybe'" },
        { "agents:\n  - {name: a, exec: /bin/true, notify: [true]}\n", 2, 40, "notify: expected a boolean (true or false), got a list" },
        { "agents:\n  - {name: a, exec: /bin/true, watchdog: 5 parsecs}\n", 2, 42,
          "watchdog: invalid duration '5 parsecs' (expected e.g. 100ms, 5s, 1min 30s, 2h)" },
        { "agents:\n  - {name: a, exec: /bin/true, watchdog: infinity}\n", 2, 42, "watchdog: must be a finite duration" },
        { "agents:\n  - {name: a, exec: /bin/true, watchdog: }\n", 2, 42, "watchdog: expected a string, got nothing (null)" },

        /* requires */
        { "agents:\n  - {name: a, exec: /bin/true, requires: [a]}\n", 2, 42, "requires: agent 'a' cannot require itself" },
        { "agents:\n  - {name: a, exec: /bin/true, requires: [\"b c\"]}\n", 2, 43, "requires: 'b c' is not a valid agent name" },
        { "agents:\n  - {name: a, exec: /bin/true, requires: b}\n", 2, 42, "requires: expected a list, got a scalar" },

        /* lazy */
        { "agents:\n  - {name: a, exec: /bin/true, lazy: sometimes}\n", 2, 38,
          "lazy: expected a boolean (true or false), got 'sometimes'" },
        { "agents:\n  - {name: a, exec: /bin/true, lazy: {listen: relative.sock}}\n", 2, 47,
          "lazy.listen: 'relative.sock' is not a socket address (an absolute path, @abstract, a port or ADDRESS:PORT)" },
        { "agents:\n  - {name: a, exec: /bin/true, lazy: {listen: 70000}}\n", 2, 47,
          "lazy.listen: '70000' is not a socket address (an absolute path, @abstract, a port or ADDRESS:PORT)" },
        { "agents:\n  - {name: a, exec: /bin/true, lazy: {}}\n", 2, 38,
          "lazy: missing 'listen' (the socket address that starts the agent)" },

        /* restart, breaker */
        { "agents:\n  - {name: a, exec: /bin/true, restart: {policy: sometimes}}\n", 2, 50,
          "restart.policy: unknown policy 'sometimes' (expected no, on-failure, on-abnormal, on-watchdog, on-abort or "
          "always)" },
        { "agents:\n  - {name: a, exec: /bin/true, restart: {max_attempts: 0}}\n", 2, 56,
          "restart.max_attempts: '0' is out of range (1..10000)" },
        { "agents:\n  - {name: a, exec: /bin/true, restart: {delay: soon}}\n", 2, 49,
          "restart.delay: invalid duration 'soon' (expected e.g. 100ms, 5s, 1min 30s, 2h)" },
        { "agents:\n  - {name: a, exec: /bin/true, restart: on-failure}\n", 2, 41,
          "restart: expected a mapping of keys, got a scalar" },
        { "agents:\n  - {name: a, exec: /bin/true, breaker: {threshold: 0}}\n", 2, 53,
          "breaker.threshold: '0' is out of range (1..1000)" },
        { "agents:\n  - {name: a, exec: /bin/true, breaker: {cooldown: 0}}\n", 2, 52, "breaker.cooldown: must be longer than 0" },
        { "agents:\n  - {name: a, exec: /bin/true, breaker: {colldown: 1s}}\n", 2, 42,
          "unknown key 'colldown' in breaker, did you mean 'cooldown'?" },

        /* conditions, sandbox */
        { "agents:\n  - {name: a, exec: /bin/true, conditions: {gpu: /dev/dri}}\n", 2, 45, "unknown key 'gpu' in conditions" },
        { "agents:\n  - {name: a, exec: /bin/true, conditions: {path_exist: /dev/dri}}\n", 2, 45,
          "unknown key 'path_exist' in conditions, did you mean 'path_exists'?" },
        { "agents:\n  - {name: a, exec: /bin/true, conditions: {path_exists: dev/dri}}\n", 2, 58,
          "conditions.path_exists: invalid value 'dev/dri'" },
        { "agents:\n  - {name: a, exec: /bin/true, conditions: {memory: \">=lots\"}}\n", 2, 53,
          "conditions.memory: invalid value '>=lots'" },
        { "agents:\n  - {name: a, exec: /bin/true, conditions: {cpus: [\">=2\", many]}}\n", 2, 59,
          "conditions.cpus: invalid value 'many'" },
        { "agents:\n  - {name: a, exec: /bin/true, sandbox: {network: sometimes}}\n", 2, 51,
          "sandbox.network: expected a boolean (true or false), got 'sometimes'" },
        { "agents:\n  - {name: a, exec: /bin/true, sandbox: {user: \"r oot\"}}\n", 2, 48,
          "sandbox.user: 'r oot' is not a valid user name" },
        { "agents:\n  - {name: a, exec: /bin/true, sandbox: {writable_paths: [var/lib]}}\n", 2, 59,
          "sandbox.writable_paths: 'var/lib' is not an absolute path" },
        { "agents:\n  - {name: a, exec: /bin/true, sandbox: {capabilities: [CAP_NET_BIND]}}\n", 2, 57,
          "sandbox.capabilities: 'CAP_NET_BIND' is not a capability (e.g. CAP_NET_BIND_SERVICE)" },
        { "agents:\n  - {name: a, exec: /bin/true, sandbox: {capabilities: CAP_NET_RAW}}\n", 2, 56,
          "sandbox.capabilities: expected a list, got a scalar" },
        { "agents:\n  - {name: a, exec: /bin/true, sandbox: {system_calls: ['@sandbox']}}\n", 2, 57,
          "sandbox.system_calls: '@sandbox' is neither a system call name nor a group systemd 252 knows "
          "(e.g. @privileged)" },
        { "agents:\n  - {name: a, exec: /bin/true, sandbox: {system_calls: [~ptrace]}}\n", 2, 57,
          "sandbox.system_calls: '~ptrace' is neither a system call name nor a group systemd 252 knows "
          "(e.g. @privileged)" },
        { "agents:\n  - {name: a, exec: /bin/true, sandbox: {memory_deny_write_execute: 0}}\n", 2, 69,
          "sandbox.memory_deny_write_execute: expected a boolean (true or false), got '0'" },
        { "agents:\n  - {name: a, exec: /bin/true, sandbox: {netwrok: true}}\n", 2, 42,
          "unknown key 'netwrok' in sandbox, did you mean 'network'?" },

        /* defaults */
        { "defaults: {exec: /bin/true}\nagents: []\n", 1, 12, "defaults: 'exec' is set per agent, it cannot be a default" },
        { "defaults: {requires: [a]}\nagents: []\n", 1, 12, "defaults: 'requires' is set per agent, it cannot be a default" },
        { "defaults: [a]\nagents: []\n", 1, 11, "defaults: expected a mapping of keys, got a list" },
};

static void test_bad(void **state) {
        size_t n_failed = 0;

        /* All cases run, each mismatch printed, so that one run shows every broken message. */
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                _cleanup_(profile_freep) Profile *p = NULL;
                Diagnostics d = {};
                const Diagnostic *e = NULL;
                int r;

                r = profile_parse_string(bad[i].yaml, strlen(bad[i].yaml), "t.yaml", "t", &d, &p);
                for (size_t j = 0; j < d.n_items && !e; j++)
                        if (d.items[j].severity == DIAG_ERROR)
                                e = d.items + j;
                if (r != -EBADMSG || p || !e || !streq(e->file, "t.yaml") || !streq(e->message, bad[i].message) ||
                    e->line != bad[i].line || e->column != bad[i].column) {
                        fprintf(stderr, "case %zu: %s\n  expected %u:%u: %s\n  got r=%d %u:%u: %s\n", i, bad[i].yaml,
                                      bad[i].line, bad[i].column, bad[i].message, r, e ? e->line : 0,
                                      e ? e->column : 0, e ? e->message : "(no error)");
                        n_failed++;
                }
                diagnostics_done(&d);
        }
        assert_int_equal(n_failed, 0);
}

static void test_exec_missing_is_warning(void **state) {
        static const char yaml[] =
                "agents:\n"
                "  - {name: a, exec: [/nonexistent/agent, x]}\n"
                "  - {name: b, exec: /nonexistent/agent}\n";
        _cleanup_(profile_freep) Profile *p = NULL;
        Diagnostics d = {};

        assert_int_equal(profile_parse_string(yaml, strlen(yaml), "t.yaml", "t", &d, &p), 0);
        assert_int_equal(d.n_errors, 0);
        /* Once per program and file. */
        assert_int_equal(d.n_warnings, 1);
        assert_int_equal(d.items[0].line, 2);
        assert_int_equal(d.items[0].column, 22);
        assert_string_equal(d.items[0].message, "exec: '/nonexistent/agent' is not an executable on this machine");
        diagnostics_done(&d);
}

static void test_several_errors(void **state) {
        static const char yaml[] =
                "agents:\n"
                "  - {name: a, exec: rel, memory_max: x}\n"
                "  - {name: a, exec: /bin/true}\n"
                "  - {name: \"b!\", exec: /bin/true}\n";
        _cleanup_(profile_freep) Profile *p = NULL;
        Diagnostics d = {};

        /* One run reports every problem, not only the first. */
        assert_int_equal(profile_parse_string(yaml, strlen(yaml), "t.yaml", "t", &d, &p), -EBADMSG);
        assert_int_equal(d.n_errors, 4);
        assert_int_equal(d.items[1].line, 2);
        assert_int_equal(d.items[1].column, 38);
        assert_int_equal(d.items[2].line, 3);
        assert_int_equal(d.items[3].line, 4);
        diagnostics_done(&d);
}

/* Inputs built to be expensive: each must be refused quickly with a clear message. */
static void test_limits(void **state) {
        Diagnostics d = {};
        Profile *p = NULL;
        size_t n;
        char *s;

        /* Billion laughs: refused at the first anchor. */
        {
                static const char laughs[] =
                        "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n"
                        "b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
                        "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
                        "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n";

                assert_int_equal(profile_parse_string(laughs, strlen(laughs), "t.yaml", "t", &d, &p), -EBADMSG);
                assert_int_equal(d.n_errors, 1);
                assert_string_equal(d.items[0].message, "YAML anchors are not supported (&anchor)");
                diagnostics_done(&d);
        }

        /* Deep nesting: 10000 levels of flow sequences. */
        n = 10000;
        s = malloc(n * 2 + 16);
        assert_non_null(s);
        strcpy(s, "agents: ");
        memset(s + 8, '[', n);
        memset(s + 8 + n, ']', n);
        s[8 + 2 * n] = '\0';
        assert_int_equal(profile_parse_string(s, strlen(s), "t.yaml", "t", &d, &p), -EBADMSG);
        assert_int_equal(d.n_errors, 1);
        assert_string_equal(d.items[0].message, "nesting too deep (more than 32 levels)");
        assert_int_equal(d.items[0].line, 1);
        assert_int_equal(d.items[0].column, 9 + 31);
        diagnostics_done(&d);
        free(s);

        /* Too large. */
        n = YAML_FILE_SIZE_MAX + 1;
        s = malloc(n + 1);
        assert_non_null(s);
        memset(s, '#', n);
        s[n] = '\0';
        assert_int_equal(profile_parse_string(s, n, "t.yaml", "t", &d, &p), -EBADMSG);
        assert_string_equal(d.items[0].message, "file too large (1048577 bytes, at most 1048576)");
        assert_int_equal(d.items[0].line, 0);
        diagnostics_done(&d);
        free(s);

        /* Too many agents. */
        {
                FILE *f;
                char *buf = NULL;
                size_t size = 0;

                f = open_memstream(&buf, &size);
                assert_non_null(f);
                fputs("agents:\n", f);
                for (unsigned i = 0; i < 1025; i++)
                        fprintf(f, "  - {name: a%u, exec: /bin/true}\n", i);
                assert_int_equal(fclose(f), 0);
                assert_int_equal(profile_parse_string(buf, size, "t.yaml", "t", &d, &p), -EBADMSG);
                assert_string_equal(d.items[0].message, "agents: too many agents (1025, at most 1024)");
                assert_int_equal(d.items[0].line, 2);
                assert_int_equal(d.items[0].column, 3);
                diagnostics_done(&d);
                free(buf);
        }

        /* Too many nodes: a flat list of 300000 items within the size limit. */
        n = 300000;
        s = malloc(n * 2 + 32);
        assert_non_null(s);
        strcpy(s, "agents: [");
        for (size_t i = 0; i < n; i++)
                memcpy(s + 9 + 2 * i, "1,", 2);
        strcpy(s + 9 + 2 * n - 1, "]\n");
        assert_int_equal(profile_parse_string(s, strlen(s), "t.yaml", "t", &d, &p), -EBADMSG);
        assert_string_equal(d.items[0].message, "too many YAML nodes (more than 200000)");
        diagnostics_done(&d);
        free(s);

        /* A NUL byte. */
        assert_int_equal(profile_parse_string("name: a\0b\n", 10, "t.yaml", "t", &d, &p), -EBADMSG);
        assert_string_equal(d.items[0].message, "NUL byte in file");
        assert_int_equal(d.items[0].line, 1);
        assert_int_equal(d.items[0].column, 8);
        diagnostics_done(&d);

        /* UTF-16 with a byte order mark is not UTF-8. */
        assert_int_equal(profile_parse_string("\xff\xfe" "a\0:\0", 6, "t.yaml", "t", &d, &p), -EBADMSG);
        assert_string_equal(d.items[0].message, "invalid UTF-8 (profiles are UTF-8 text)");
        diagnostics_done(&d);
}

static void test_parse_file(void **state) {
        const char *data = getenv("UNIFIED_TEST_DATA");
        Profile *p = NULL;
        Diagnostics d = {};

        assert_int_equal(profile_parse_file("/nonexistent/x.yaml", "x", &d, &p), -ENOENT);
        assert_int_equal(profile_parse_file("/", "x", &d, &p), -EISDIR);
        assert_int_equal(d.n_items, 0);
        (void) data;
}

static void test_names(void **state) {
        Agent a = { .name = (char *) "llm-router" };
        char *u = NULL;

        assert_true(agent_name_is_valid("a"));
        assert_true(agent_name_is_valid("A.b_c-9"));
        assert_false(agent_name_is_valid(""));
        assert_false(agent_name_is_valid(NULL));
        assert_false(agent_name_is_valid(".a"));
        assert_false(agent_name_is_valid("a/b"));
        assert_false(agent_name_is_valid("a:b"));
        assert_false(agent_name_is_valid("a\\b"));
        assert_false(agent_name_is_valid("a b"));
        assert_false(agent_name_is_valid("ä"));
        assert_true(agent_name_is_valid("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"));
        assert_false(agent_name_is_valid("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"));

        assert_int_equal(agent_unit_name(&a, ".service", &u), 0);
        assert_string_equal(u, "unified-llm-router.service");
        free(u);
        assert_int_equal(agent_unit_name(&a, "socket", &u), 0);
        assert_string_equal(u, "unified-llm-router.socket");
        free(u);

        assert_int_equal(restart_policy_from_string("on-failure"), RESTART_ON_FAILURE);
        assert_int_equal(restart_policy_from_string("on-success"), _RESTART_POLICY_INVALID);
        assert_string_equal(restart_policy_to_string(RESTART_ON_WATCHDOG), "on-watchdog");
        assert_null(restart_policy_to_string(_RESTART_POLICY_MAX));
}

static void test_exec_split(void **state) {
        static const struct {
                const char *s;
                const char *argv[6];
        } cases[] = {
                { "/bin/a", { "/bin/a" } },
                { "  /bin/a   b\tc  ", { "/bin/a", "b", "c" } },
                { "/bin/a 'b c' \"d e\"", { "/bin/a", "b c", "d e" } },
                { "/bin/a x'y z'w", { "/bin/a", "xy zw" } },
                { "/bin/a ''", { "/bin/a", "" } },
                { "/bin/a \\\\ \\n \\x41 \\\"", { "/bin/a", "\\", "\n", "A", "\"" } },
                { "/bin/a $HOME ${X}", { "/bin/a", "$HOME", "${X}" } },
        };
        char **argv = NULL;
        const char *why = NULL;

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                size_t n = 0;

                assert_int_equal(exec_split(cases[i].s, &argv, &why), 0);
                for (; cases[i].argv[n]; n++)
                        assert_string_equal(argv[n], cases[i].argv[n]);
                assert_int_equal(strv_length(argv), n);
                argv = strv_free(argv);
        }
        assert_int_equal(exec_split("   ", &argv, &why), -EINVAL);
        assert_string_equal(why, "empty command line");
        assert_int_equal(exec_split("/a \"b", &argv, &why), -EINVAL);
        assert_string_equal(why, "unbalanced quotes");
        assert_int_equal(exec_split("/a b\\", &argv, &why), -EINVAL);
        assert_string_equal(why, "trailing backslash");
        assert_int_equal(exec_split("/a \\x0", &argv, &why), -EINVAL);
        assert_int_equal(exec_split("/a \\x00", &argv, &why), -EINVAL);
        assert_string_equal(why, "bad \\x escape");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_valid),
                cmocka_unit_test(test_bad),
                cmocka_unit_test(test_exec_missing_is_warning),
                cmocka_unit_test(test_several_errors),
                cmocka_unit_test(test_limits),
                cmocka_unit_test(test_parse_file),
                cmocka_unit_test(test_names),
                cmocka_unit_test(test_exec_split),
        };

        cmocka_set_message_output(CM_OUTPUT_TAP);
        return cmocka_run_group_tests(tests, NULL, NULL);
}
