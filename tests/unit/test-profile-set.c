/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Tests for profile sets and resolution: the search path under a temporary root, later directories
 * replacing earlier ones, extends chains and cycles, include/exclude, defaults layering, the
 * cross-agent checks, and the five shipped profiles' exact counts and budgets. */

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "parse-util.h"
#include "profile-set.h"
#include "strv.h"

#define STRV_MAKE(...) ((char *[]) { (char *) __VA_ARGS__, NULL })

/* ---- helpers ---- */

static void write_file(const char *root, const char *dir, const char *name, const char *content) {
        char path[4096];
        FILE *f;

        snprintf(path, sizeof(path), "%s%s", root, dir);
        for (char *p = path + strlen(root) + (dir[0] ? 1 : 0); *p; p++)
                if (*p == '/') {
                        *p = '\0';
                        (void) mkdir(path, 0755);
                        *p = '/';
                }
        (void) mkdir(path, 0755);
        snprintf(path, sizeof(path), "%s%s/%s", root, dir, name);
        f = fopen(path, "we");
        assert_non_null(f);
        fputs(content, f);
        assert_int_equal(fclose(f), 0);
}

static char *make_root(void) {
        char *t = strdup("/tmp/unified-test-profile-set.XXXXXX"), program[4096];

        assert_non_null(t);
        assert_non_null(mkdtemp(t));
        /* The agents below run /bin/true, which `exec` checks for below the root. */
        write_file(t, "/bin", "true", "#!/bin/sh\n");
        snprintf(program, sizeof(program), "%s/bin/true", t);
        assert_int_equal(chmod(program, 0755), 0);
        return t;
}

static void remove_root(char *root) {
        char cmd[4200];

        /* The root is ours, made by mkdtemp() above. */
        snprintf(cmd, sizeof(cmd), "rm -rf -- '%s'", root);
        assert_int_equal(system(cmd), 0);
        free(root);
}

/* A set made of in-memory files: {name, yaml} pairs. */
static ProfileSet *set_of(const char *const *files, Diagnostics *d) {
        ProfileSet *s = NULL;

        assert_int_equal(profile_set_new(&s), 0);
        for (size_t i = 0; files[i]; i += 2) {
                Profile *p = NULL;
                char path[128];
                int r;

                snprintf(path, sizeof(path), "%s.yaml", files[i]);
                r = profile_parse_string(files[i + 1], strlen(files[i + 1]), path, files[i], d, &p);
                if (r < 0) {
                        diagnostics_print(d, stderr);
                        fail_msg("%s does not parse", files[i]);
                }
                assert_int_equal(profile_set_add(s, p), 0);
        }
        return s;
}

static const Diagnostic *first_error(const Diagnostics *d) {
        for (size_t i = 0; i < d->n_items; i++)
                if (d->items[i].severity == DIAG_ERROR)
                        return d->items + i;
        return NULL;
}

static void assert_diag(const Diagnostic *e, const char *file, unsigned line, unsigned column, const char *message) {
        assert_non_null(e);
        fprintf(stderr, "got %s:%u:%u: %s\n", strna(e->file), e->line, e->column, e->message);
        if (file)
                assert_string_equal(e->file, file);
        assert_int_equal(e->line, line);
        assert_int_equal(e->column, column);
        assert_string_equal(e->message, message);
}

#define AGENT(n) "  - {name: " n ", exec: [/bin/true]}\n"

/* ---- search path ---- */

static void test_search_path(void **state) {
        char *root = make_root();
        _cleanup_(profile_set_freep) ProfileSet *s = NULL;
        _cleanup_(profile_freep) Profile *p = NULL;
        Diagnostics d = {};
        char link[4096];

        write_file(root, PROFILES_VENDOR_DIR, "alpha.yaml", "agents:\n" AGENT("vendor"));
        write_file(root, PROFILES_VENDOR_DIR, "beta.yaml", "agents:\n" AGENT("vendor"));
        write_file(root, PROFILES_VENDOR_DIR, "masked.yaml", "agents:\n" AGENT("vendor"));
        write_file(root, PROFILES_VENDOR_DIR, "README", "not a profile");
        write_file(root, PROFILES_VENDOR_DIR, ".hidden.yaml", "garbage: [");
        write_file(root, PROFILES_ADMIN_DIR, "alpha.yaml", "agents:\n" AGENT("admin"));
        write_file(root, PROFILES_ADMIN_DIR, "gamma.yaml", "agents:\n" AGENT("admin"));
        write_file(root, PROFILES_RUNTIME_DIR, "gamma.yaml", "agents:\n" AGENT("runtime"));
        write_file(root, PROFILES_ADMIN_DIR, "bad name.yaml", "agents:\n" AGENT("x"));
        /* systemd-style masking: a symlink to /dev/null hides the profile. */
        snprintf(link, sizeof(link), "%s%s/masked.yaml", root, PROFILES_ADMIN_DIR);
        assert_int_equal(symlink("/dev/null", link), 0);

        assert_int_equal(profile_set_load(root, &d, &s), 0);
        assert_int_equal(d.n_errors, 0);
        assert_int_equal(d.n_warnings, 1); /* "bad name" ignored */
        assert_non_null(strstr(d.items[0].message, "not a valid profile name"));

        assert_int_equal(profile_set_size(s), 3);
        assert_string_equal(profile_set_name(s, 0), "alpha");
        assert_string_equal(profile_set_name(s, 1), "beta");
        assert_string_equal(profile_set_name(s, 2), "gamma");
        assert_null(profile_set_name(s, 3));
        assert_non_null(strstr(profile_set_path(s, "alpha"), PROFILES_ADMIN_DIR "/alpha.yaml"));
        assert_non_null(strstr(profile_set_path(s, "beta"), PROFILES_VENDOR_DIR "/beta.yaml"));
        assert_non_null(strstr(profile_set_path(s, "gamma"), PROFILES_RUNTIME_DIR "/gamma.yaml"));
        assert_null(profile_set_path(s, "masked"));

        assert_int_equal(profile_set_resolve(s, "alpha", &d, &p), 0);
        assert_string_equal(p->agents[0]->name, "admin");
        p = profile_free(p);
        assert_int_equal(profile_set_resolve(s, "gamma", &d, &p), 0);
        assert_string_equal(p->agents[0]->name, "runtime");
        diagnostics_done(&d);

        /* An unknown name: -ENOENT and a diagnostic with a suggestion. */
        assert_int_equal(profile_set_resolve(s, "alpah", &d, &p), -ENOENT);
        assert_diag(first_error(&d), NULL, 0, 0, "unknown profile 'alpah', did you mean 'alpha'?");
        diagnostics_done(&d);

        /* $UNIFIED_ROOT is the default root. */
        s = profile_set_free(s);
        assert_int_equal(setenv("UNIFIED_ROOT", root, 1), 0);
        assert_int_equal(profile_set_load(NULL, &d, &s), 0);
        assert_int_equal(profile_set_size(s), 3);
        assert_int_equal(unsetenv("UNIFIED_ROOT"), 0);
        diagnostics_done(&d);

        /* A broken file is reported and known as invalid, the others still load. */
        s = profile_set_free(s);
        write_file(root, PROFILES_RUNTIME_DIR, "beta.yaml", "agents: [\n");
        assert_int_equal(profile_set_load(root, &d, &s), 0);
        assert_int_equal(profile_set_size(s), 3);
        assert_int_equal(d.n_errors, 1);
        assert_int_equal(profile_set_resolve(s, "beta", &d, &p), -EBADMSG);
        p = profile_free(p);
        assert_int_equal(profile_set_resolve(s, "alpha", &d, &p), 0);
        diagnostics_done(&d);

        /* add_file replaces a profile of the same name. */
        {
                char path[4096];
                const char *name = NULL;

                snprintf(path, sizeof(path), "%s/alpha.yaml", root);
                write_file(root, "", "alpha.yaml", "agents:\n" AGENT("explicit"));
                assert_int_equal(profile_set_add_file(s, path, &d, &name), 0);
                assert_string_equal(name, "alpha");
                p = profile_free(p);
                assert_int_equal(profile_set_resolve(s, "alpha", &d, &p), 0);
                assert_string_equal(p->agents[0]->name, "explicit");
                assert_int_equal(profile_set_add_file(s, "/nonexistent/x.yaml", &d, &name), -ENOENT);
        }
        diagnostics_done(&d);
        remove_root(root);
}

/* A file given by path finds its bases next to it before the search path, along the whole chain;
 * a base that is not beside it still comes from the search path. */
static void test_add_file_bases_beside(void **state) {
        char *root = make_root();
        _cleanup_(profile_set_freep) ProfileSet *s = NULL;
        _cleanup_(profile_freep) Profile *p = NULL;
        Diagnostics d = {};
        const char *name = NULL;
        char path[4096];

        write_file(root, PROFILES_VENDOR_DIR, "base.yaml", "agents:\n" AGENT("installed-base"));
        write_file(root, PROFILES_VENDOR_DIR, "other.yaml", "agents:\n" AGENT("installed-other"));
        write_file(root, "/src", "top.yaml", "extends: [base, other]\nagents:\n" AGENT("top"));
        write_file(root, "/src", "base.yaml", "extends: core\nagents:\n" AGENT("source-base"));
        write_file(root, "/src", "core.yaml", "agents:\n" AGENT("source-core"));
        /* A cycle beside the file ends in the resolver's error, not in a loop here. */
        write_file(root, "/src", "loop1.yaml", "extends: loop2\nagents:\n" AGENT("x"));
        write_file(root, "/src", "loop2.yaml", "extends: loop1\nagents:\n" AGENT("y"));

        assert_int_equal(profile_set_load(root, &d, &s), 0);
        snprintf(path, sizeof(path), "%s/src/top.yaml", root);
        assert_int_equal(profile_set_add_file(s, path, &d, &name), 0);
        assert_string_equal(name, "top");
        assert_int_equal(profile_set_resolve(s, "top", &d, &p), 0);
        assert_int_equal(d.n_errors, 0);
        assert_int_equal(p->n_agents, 4);
        assert_string_equal(p->agents[0]->name, "source-core");
        assert_string_equal(p->agents[1]->name, "source-base");
        assert_string_equal(p->agents[2]->name, "installed-other");
        assert_string_equal(p->agents[3]->name, "top");
        assert_non_null(strstr(profile_set_path(s, "base"), "/src/base.yaml"));

        snprintf(path, sizeof(path), "%s/src/loop1.yaml", root);
        assert_int_equal(profile_set_add_file(s, path, &d, &name), 0);
        assert_non_null(strstr(profile_set_path(s, "loop2"), "/src/loop2.yaml"));
        p = profile_free(p);
        assert_int_equal(profile_set_resolve(s, "loop1", &d, &p), -EBADMSG);
        assert_non_null(strstr(first_error(&d)->message, "extends: cycle"));
        diagnostics_done(&d);
        remove_root(root);
}

/* The root of the set also prefixes the programs `exec` names, for the "not an executable" warning. */
static void test_exec_below_root(void **state) {
        char *root = make_root();
        _cleanup_(profile_set_freep) ProfileSet *s = NULL;
        Diagnostics d = {};
        char program[4096];

        write_file(root, PROFILES_VENDOR_DIR, "a.yaml",
                   "agents:\n  - {name: x, exec: [/opt/agent/run]}\n  - {name: y, exec: [/opt/agent/missing]}\n");
        write_file(root, "/opt/agent", "run", "#!/bin/sh\n");
        snprintf(program, sizeof(program), "%s/opt/agent/run", root);
        assert_int_equal(chmod(program, 0755), 0);

        assert_int_equal(profile_set_load(root, &d, &s), 0);
        assert_int_equal(d.n_errors, 0);
        assert_int_equal(d.n_warnings, 1);
        assert_non_null(strstr(d.items[0].message, "exec: '/opt/agent/missing' is not an executable below /tmp/"));
        diagnostics_done(&d);

        /* Without the root, both are missing on this machine. */
        s = profile_set_free(s);
        snprintf(program, sizeof(program), "%s" PROFILES_VENDOR_DIR "/a.yaml", root);
        assert_int_equal(profile_set_new(&s), 0);
        assert_int_equal(profile_set_add_file(s, program, &d, NULL), 0);
        assert_int_equal(d.n_warnings, 2);
        assert_non_null(strstr(d.items[0].message, "on this machine"));
        diagnostics_done(&d);
        remove_root(root);
}

/* ---- extends ---- */

static void test_extends_chain(void **state) {
        static const char *const files[] = {
                "a",
                "resources: {memory_max: 1G, cpu_quota: 20%}\n"
                "defaults: {memory_high: 32M, restart: {delay: 1s}, env: {A: a, SHARED: from-a},\n"
                "           sandbox: {memory_deny_write_execute: false, capabilities: [CAP_NET_BIND_SERVICE]}}\n"
                "agents:\n"
                "  - {name: one, exec: [/bin/true], memory_max: 64M, essential: true}\n"
                "  - {name: two, exec: [/bin/true], requires: [one]}\n",
                "b",
                "extends: a\n"
                "defaults: {restart: {max_attempts: 7}, env: {SHARED: from-b}}\n"
                "agents:\n"
                "  - {name: three, exec: [/bin/true], memory_max: 128M}\n"
                "  - {name: one, memory_max: 96M, restart: {delay: 2s}, sandbox: {system_calls: ['@debug']}}\n",
                "c",
                "extends: b\n"
                "resources: {memory_max: 2G}\n"
                "agents:\n"
                "  - {name: four, exec: [/bin/true], requires: [three, two], sandbox: {capabilities: []}}\n",
                NULL,
        };
        Diagnostics d = {};
        _cleanup_(profile_set_freep) ProfileSet *s = set_of(files, &d);
        _cleanup_(profile_freep) Profile *p = NULL;
        const Agent *a;

        assert_int_equal(profile_set_resolve(s, "c", &d, &p), 0);
        assert_int_equal(d.n_errors, 0);
        assert_string_equal(p->name, "c");
        assert_string_equal(p->extends, "b");
        assert_int_equal(p->n_agents, 4);
        assert_string_equal(p->agents[0]->name, "one");
        assert_string_equal(p->agents[1]->name, "two");
        assert_string_equal(p->agents[2]->name, "three");
        assert_string_equal(p->agents[3]->name, "four");
        /* Own budget wins for memory; CPU inherited from a. */
        assert_int_equal(p->memory_max, UINT64_C(2) << 30);
        assert_int_equal(p->cpu_quota, 2000);

        /* "one" is overridden field by field in b: memory and restart delay change, the rest stays. */
        a = p->agents[0];
        assert_int_equal(a->memory_max, UINT64_C(96) << 20);
        assert_true(a->essential);
        assert_int_equal(a->restart.delay, 2 * USEC_PER_SEC);
        assert_string_equal(a->exec[0], "/bin/true");
        assert_string_equal(a->source_file, "b.yaml");
        assert_int_equal(a->source_line, 5);
        /* defaults of a and b merged (b wins), under the agent's own settings. */
        assert_int_equal(a->restart.max_attempts, 7);
        assert_int_equal(a->memory_high, UINT64_C(32) << 20);
        assert_true(strv_equal(a->env, STRV_MAKE("A=a", (char *) "SHARED=from-b")));
        /* The sandbox layers key by key too: a's relaxations under b's extra system calls. */
        assert_false(a->sandbox.memory_deny_write_execute);
        assert_int_equal(a->sandbox.capabilities, UINT64_C(1) << 10);
        assert_true(strv_equal(a->sandbox.system_calls, STRV_MAKE("@debug")));
        assert_true(a->sandbox.private_devices);

        a = p->agents[3];
        /* An empty list takes back an inherited capability; the rest of the defaults stay. */
        assert_int_equal(a->sandbox.capabilities, 0);
        assert_false(a->sandbox.memory_deny_write_execute);
        assert_null(a->sandbox.system_calls);
        assert_int_equal(a->restart.delay, 1 * USEC_PER_SEC);
        assert_int_equal(a->restart.window, 60 * USEC_PER_SEC); /* built-in default */
        assert_int_equal(a->memory_max, LIMIT_UNSET);
        assert_true(strv_equal(a->requires, STRV_MAKE("three", (char *) "two")));

        /* The bases resolve on their own too. */
        p = profile_free(p);
        assert_int_equal(profile_set_resolve(s, "a", &d, &p), 0);
        assert_int_equal(p->n_agents, 2);
        assert_int_equal(p->agents[0]->memory_max, UINT64_C(64) << 20);
        assert_int_equal(p->agents[0]->restart.max_attempts, 3);
        diagnostics_done(&d);
}

static void test_extends_multiple(void **state) {
        static const char *const files[] = {
                "base", "resources: {memory_max: 1G}\nagents:\n" AGENT("core1") AGENT("core2"),
                "x", "extends: base\nresources: {memory_max: 2G}\nagents:\n" AGENT("x1"),
                "nolimit", "extends: x\nresources: {memory_max: infinity}\n",
                "y", "extends: base\nresources: {memory_max: 3G}\nagents:\n" AGENT("y1") AGENT("y2"),
                "all", "extends: [x, y]\nagents:\n" AGENT("own"),
                NULL,
        };
        Diagnostics d = {};
        _cleanup_(profile_set_freep) ProfileSet *s = set_of(files, &d);
        _cleanup_(profile_freep) Profile *p = NULL;

        assert_int_equal(profile_set_resolve(s, "all", &d, &p), 0);
        /* The shared base's agents once, in order. */
        assert_int_equal(p->n_agents, 6);
        assert_string_equal(p->agents[0]->name, "core1");
        assert_string_equal(p->agents[1]->name, "core2");
        assert_string_equal(p->agents[2]->name, "x1");
        assert_string_equal(p->agents[3]->name, "y1");
        assert_string_equal(p->agents[5]->name, "own");
        /* No own budget: the later base's. */
        assert_int_equal(p->memory_max, UINT64_C(3) << 30);
        assert_true(strv_equal(p->bases, STRV_MAKE("x", (char *) "y")));
        assert_string_equal(p->extends, "x");
        p = profile_free(p);

        /* "infinity" lifts an inherited budget. */
        assert_int_equal(profile_set_resolve(s, "nolimit", &d, &p), 0);
        assert_int_equal(p->memory_max, LIMIT_UNSET);
        assert_int_equal(p->n_agents, 3);
        diagnostics_done(&d);
}

static void test_extends_errors(void **state) {
        static const char *const files[] = {
                "loop1", "extends: loop2\nagents:\n" AGENT("a"),
                "loop2", "extends: loop3\nagents:\n" AGENT("b"),
                "loop3", "agents:\n" AGENT("c") "extends: loop1\n",
                "orphan", "extends: cor\nagents:\n" AGENT("a"),
                "core", "agents:\n" AGENT("a"),
                "sel", "extends: core\nexclude: [b]\n",
                "sel2", "extends: core\ninclude: [a]\nagents:\n" AGENT("z"),
                "sel3", "extends: core\nexclude: [a]\nagents:\n  - {name: z, exec: /bin/true, requires: [a]}\n",
                NULL,
        };
        Diagnostics d = {};
        _cleanup_(profile_set_freep) ProfileSet *s = set_of(files, &d);
        Profile *p = NULL;

        assert_int_equal(profile_set_resolve(s, "loop1", &d, &p), -EBADMSG);
        assert_null(p);
        assert_diag(first_error(&d), "loop3.yaml", 3, 10, "extends: cycle loop1 -> loop2 -> loop3 -> loop1");
        diagnostics_done(&d);

        assert_int_equal(profile_set_resolve(s, "orphan", &d, &p), -EBADMSG);
        assert_diag(first_error(&d), "orphan.yaml", 1, 10, "extends: unknown profile 'cor', did you mean 'core'?");
        diagnostics_done(&d);

        assert_int_equal(profile_set_resolve(s, "sel", &d, &p), -EBADMSG);
        assert_diag(first_error(&d), "sel.yaml", 2, 1, "exclude: no inherited agent 'b', did you mean 'a'?");
        diagnostics_done(&d);

        assert_int_equal(profile_set_resolve(s, "sel2", &d, &p), 0);
        assert_int_equal(p->n_agents, 2);
        p = profile_free(p);

        assert_int_equal(profile_set_resolve(s, "sel3", &d, &p), -EBADMSG);
        assert_diag(first_error(&d), "sel3.yaml", 4, 5, "agent 'z' requires 'a', which this profile excludes");
        diagnostics_done(&d);
}

static void test_extends_depth(void **state) {
        _cleanup_(profile_set_freep) ProfileSet *s = NULL;
        Diagnostics d = {};
        Profile *p = NULL;

        /* 40 profiles in a chain: more than the depth bound, refused with a message, no recursion blowup. */
        assert_int_equal(profile_set_new(&s), 0);
        for (unsigned i = 0; i < 40; i++) {
                char name[16], yaml[128];

                snprintf(name, sizeof(name), "p%u", i);
                if (i == 0)
                        snprintf(yaml, sizeof(yaml), "agents:\n" AGENT("a"));
                else
                        snprintf(yaml, sizeof(yaml), "extends: p%u\nagents:\n  - {name: a%u, exec: /bin/true}\n", i - 1, i);
                assert_int_equal(profile_parse_string(yaml, strlen(yaml), NULL, name, &d, &p), 0);
                assert_int_equal(profile_set_add(s, p), 0);
        }
        assert_int_equal(profile_set_resolve(s, "p39", &d, &p), -EBADMSG);
        assert_non_null(strstr(first_error(&d)->message, "chain too long"));
        diagnostics_done(&d);
        assert_int_equal(profile_set_resolve(s, "p20", &d, &p), 0);
        assert_int_equal(p->n_agents, 21);
        profile_free(p);
        diagnostics_done(&d);
}

/* ---- cross-agent checks ---- */

static void test_resolved_checks(void **state) {
        static const struct {
                const char *yaml;
                unsigned line, column;
                const char *message;
        } cases[] = {
                { "agents:\n"
                  "  - {name: a, exec: /bin/true, requires: [bc]}\n"
                  "  - {name: bb, exec: /bin/true}\n",
                  2, 5, "requires: unknown agent 'bc', did you mean 'bb'?" },
                { "agents:\n"
                  "  - {name: a, exec: /bin/true, requires: [b]}\n"
                  "  - {name: b, exec: /bin/true, requires: [c]}\n"
                  "  - {name: c, exec: /bin/true, requires: [a]}\n",
                  2, 5, "dependency cycle: a -> b -> c -> a" },
                { "agents:\n"
                  "  - {name: a, exec: /bin/true}\n"
                  "  - {name: b, exec: /bin/true, requires: [c]}\n"
                  "  - {name: c, exec: /bin/true, requires: [b]}\n",
                  3, 5, "dependency cycle: b -> c -> b" },
                { "agents:\n"
                  "  - {name: a}\n",
                  2, 5, "agent 'a' has no exec" },
                { "agents:\n"
                  "  - name: w\n"
                  "    exec: /bin/true\n"
                  "    watchdog: 5s\n",
                  2, 5, "agent 'w': watchdog needs notify: true (the agent pings it with sd_notify)" },
                { "agents:\n"
                  "  - {name: m, exec: /bin/true, memory_max: 1G, memory_high: 2G}\n",
                  2, 5, "agent 'm': memory_high (2G) exceeds memory_max (1G)" },
                { "agents:\n"
                  "  - {name: r, exec: /bin/true, restart: {delay: 10s, max_delay: 1s, steps: 2}}\n",
                  2, 5, "agent 'r': restart.max_delay is shorter than restart.delay" },
                { "agents:\n"
                  "  - {name: r, exec: /bin/true, breaker: {cooldown: 10min, max_cooldown: 1min}}\n",
                  2, 5, "agent 'r': breaker.max_cooldown is shorter than breaker.cooldown" },
                { "agents:\n"
                  "  - {name: l1, exec: /bin/true, lazy: {listen: /run/x.sock}}\n"
                  "  - {name: l2, exec: /bin/true, lazy: {listen: /run/x.sock}}\n",
                  3, 5, "agent 'l2': lazy socket /run/x.sock is already used by agent 'l1'" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_(profile_set_freep) ProfileSet *s = NULL;
                Diagnostics d = {};
                Profile *p = NULL;

                fprintf(stderr, "case %zu\n", i);
                assert_int_equal(profile_parse_string(cases[i].yaml, strlen(cases[i].yaml), "t.yaml", "t", &d, &p), 0);
                assert_int_equal(profile_set_new(&s), 0);
                assert_int_equal(profile_set_add(s, p), 0);
                p = NULL;
                assert_int_equal(profile_set_resolve(s, "t", &d, &p), -EBADMSG);
                assert_null(p);
                assert_diag(first_error(&d), "t.yaml", cases[i].line, cases[i].column, cases[i].message);
                assert_int_equal(d.n_errors, 1);
                diagnostics_done(&d);
        }
}

static void test_budget_warning(void **state) {
        static const char yaml[] =
                "resources:\n"
                "  memory_max: 100M\n"
                "agents:\n"
                "  - {name: a, exec: /bin/true, memory_max: 64M}\n"
                "  - {name: b, exec: /bin/true, memory_max: 64M}\n";
        _cleanup_(profile_set_freep) ProfileSet *s = NULL;
        _cleanup_(profile_freep) Profile *r = NULL;
        Diagnostics d = {};
        Profile *p = NULL;

        assert_int_equal(profile_parse_string(yaml, strlen(yaml), "t.yaml", "t", &d, &p), 0);
        assert_int_equal(profile_set_new(&s), 0);
        assert_int_equal(profile_set_add(s, p), 0);
        /* A warning, not an error: the profile still resolves. */
        assert_int_equal(profile_set_resolve(s, "t", &d, &r), 0);
        assert_int_equal(d.n_errors, 0);
        assert_int_equal(d.n_warnings, 1);
        assert_int_equal(d.items[0].severity, DIAG_WARNING);
        assert_int_equal(d.items[0].line, 2);
        assert_int_equal(d.items[0].column, 3);
        assert_string_equal(d.items[0].message,
                            "the agents' memory_max add up to 128M, more than the profile's memory_max 100M");
        diagnostics_done(&d);
}

/* ---- the shipped profiles ---- */

static void test_shipped_profiles(void **state) {
        static const struct {
                const char *name;
                size_t n_agents;
                uint64_t memory_max;
                uint64_t cpu_quota;
        } expected[] = {
                { "core", 16, UINT64_C(2) << 30, 5000 },
                { "vision", 20, UINT64_C(4) << 30, 7000 },
                { "learning", 30, UINT64_C(6) << 30, 8000 },
                { "tutoring", 28, UINT64_C(4) << 30, 7000 },
                { "full", 77, UINT64_C(8) << 30, 9000 },
        };
        const char *dir = getenv("UNIFIED_PROFILES_DIR");
        _cleanup_(profile_set_freep) ProfileSet *s = NULL;
        _cleanup_(profile_freep) Profile *core = NULL;
        Diagnostics d = {};

        assert_non_null(dir);
        assert_int_equal(profile_set_new(&s), 0);
        for (size_t i = 0; i < ELEMENTSOF(expected); i++) {
                char path[4096];
                const char *name = NULL;

                snprintf(path, sizeof(path), "%s/%s.yaml", dir, expected[i].name);
                assert_int_equal(profile_set_add_file(s, path, &d, &name), 0);
                assert_string_equal(name, expected[i].name);
        }
        assert_int_equal(d.n_errors, 0);

        assert_int_equal(profile_set_resolve(s, "core", &d, &core), 0);
        for (size_t i = 0; i < ELEMENTSOF(expected); i++) {
                _cleanup_(profile_freep) Profile *p = NULL;
                size_t n_warnings = d.n_warnings, n_essential = 0, n_lazy = 0, n_watchdog = 0;
                uint64_t sum = 0;

                fprintf(stderr, "profile %s\n", expected[i].name);
                assert_int_equal(profile_set_resolve(s, expected[i].name, &d, &p), 0);
                assert_int_equal(d.n_errors, 0);
                /* No budget warning: the agents fit. (Warnings about the agent binary missing on
                 * the build machine come from parsing, not from here.) */
                assert_int_equal(d.n_warnings, n_warnings);
                assert_int_equal(p->n_agents, expected[i].n_agents);
                assert_int_equal(p->memory_max, expected[i].memory_max);
                assert_int_equal(p->cpu_quota, expected[i].cpu_quota);

                for (size_t j = 0; j < p->n_agents; j++) {
                        const Agent *a = p->agents[j];

                        assert_true(agent_name_is_valid(a->name));
                        assert_non_null(a->description);
                        /* The reference agent with the agent's role. */
                        assert_int_equal(strv_length(a->exec), 3);
                        assert_string_equal(a->exec[0], AGENT_BINARY);
                        assert_string_equal(a->exec[1], "--role");
                        assert_string_equal(a->exec[2], a->name);
                        assert_true(a->memory_max != LIMIT_UNSET);
                        assert_true(a->cpu_quota > 0);
                        assert_true(a->tasks_max != LIMIT_UNSET);
                        assert_int_equal(a->restart.max_attempts, 3);
                        assert_int_equal(a->restart.policy, RESTART_ON_FAILURE);
                        assert_int_equal(a->breaker.cooldown, 10 * USEC_PER_SEC);
                        assert_int_equal(a->breaker.max_cooldown, 5 * USEC_PER_MINUTE);
                        sum += a->memory_max;
                        n_essential += a->essential;
                        n_watchdog += a->watchdog > 0;
                        if (a->lazy_listen) {
                                char want[128];

                                snprintf(want, sizeof(want), "/run/unified/agents/%s.sock", a->name);
                                assert_string_equal(a->lazy_listen, want);
                                n_lazy++;
                        }
                        /* Every core agent is in every profile, unchanged. */
                        if (j < core->n_agents)
                                assert_string_equal(a->name, core->agents[j]->name);
                }
                assert_true(sum <= p->memory_max);
                assert_true(n_essential >= 8);
                assert_true(n_lazy >= 2);
                assert_true(n_watchdog >= 6);
        }
        diagnostics_done(&d);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_search_path),
                cmocka_unit_test(test_add_file_bases_beside),
                cmocka_unit_test(test_exec_below_root),
                cmocka_unit_test(test_extends_chain),
                cmocka_unit_test(test_extends_multiple),
                cmocka_unit_test(test_extends_errors),
                cmocka_unit_test(test_extends_depth),
                cmocka_unit_test(test_resolved_checks),
                cmocka_unit_test(test_budget_warning),
                cmocka_unit_test(test_shipped_profiles),
        };

        cmocka_set_message_output(CM_OUTPUT_TAP);
        return cmocka_run_group_tests(tests, NULL, NULL);
}
