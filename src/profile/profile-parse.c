/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Parsing of one profile file: YAML tree -> unresolved Profile, with every check that needs only
 * this file. Each problem becomes a positioned diagnostic; parsing goes on after an error so that
 * one run reports as many problems as possible. */

#include <arpa/inet.h>
#include <inttypes.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fs-util.h"
#include "parse-util.h"
#include "profile.h"
#include "sandbox-names.h"
#include "strv.h"
#include "yaml-node.h"

#define AGENTS_MAX 1024U
#define LIST_MAX 1024U
#define ENV_MAX 256U
#define CONDITIONS_MAX 64U
#define MEMORY_MIN (UINT64_C(1) << 20)
#define TASKS_MAX_MAX UINT64_C(4194304)
#define CPU_QUOTA_AGENT_MAX UINT64_C(100000000) /* 1 000 000% = 10000 CPUs */

typedef struct Parser {
        const char *file;
        const char *root;       /* prefix for the `exec` check, "" for none */
        Diagnostics *diag;
        bool failed;
        char **warned_exec;     /* programs already reported missing, one warning each per file */
        size_t n_warned_exec;
} Parser;

static void parser_report(Parser *p, DiagSeverity sev, const YamlNode *n, const char *format, va_list ap)
        _printf_(4, 0);
static void parser_report(Parser *p, DiagSeverity sev, const YamlNode *n, const char *format, va_list ap) {
        _cleanup_free_ char *m = NULL;

        if (sev == DIAG_ERROR)
                p->failed = true;
        if (diagnostics_full(p->diag)) {
                /* Only counted from here on: do not even format. */
                (void) diag_add(p->diag, sev, p->file, 0, 0, "%s", "");
                return;
        }
        if (vasprintf(&m, format, ap) < 0)
                m = NULL;
        (void) diag_add(p->diag, sev, p->file, n ? n->line : 0, n ? n->column : 0, "%s", m ?: "(out of memory)");
}

_printf_(3, 4) static void error_at(Parser *p, const YamlNode *n, const char *format, ...) {
        va_list ap;

        va_start(ap, format);
        parser_report(p, DIAG_ERROR, n, format, ap);
        va_end(ap);
}

_printf_(3, 4) static void warning_at(Parser *p, const YamlNode *n, const char *format, ...) {
        va_list ap;

        va_start(ap, format);
        parser_report(p, DIAG_WARNING, n, format, ap);
        va_end(ap);
}

/* A printable excerpt of a scalar for messages: long or multi-line values are cut. */
static const char *excerpt(const YamlNode *n, char buf[static 48]) {
        size_t i;

        if (!n || n->type != YAML_NODE_SCALAR)
                return yaml_node_type_name(n);
        for (i = 0; i < 40 && n->value[i] && n->value[i] != '\n'; i++)
                buf[i] = n->value[i];
        if (n->value[i]) {
                memcpy(buf + i, "...", 4);
                return buf;
        }
        buf[i] = '\0';
        return buf;
}

/* Walks a mapping whose keys come from a fixed table: reports non-string keys, unknown keys (with
 * a suggestion) and duplicates, and gives back for each known key its value node (or NULL). */
static bool parse_mapping(Parser *p, const YamlNode *n, const char *what, const char *const *keys, size_t n_keys,
                          const YamlNode **ret_values, const YamlNode **ret_keys) {
        for (size_t k = 0; k < n_keys; k++) {
                ret_values[k] = NULL;
                if (ret_keys)
                        ret_keys[k] = NULL;
        }

        if (!n || n->type != YAML_NODE_MAPPING) {
                error_at(p, n, "%s: expected a mapping of keys, got %s", what, yaml_node_type_name(n));
                return false;
        }

        for (size_t i = 0; i + 1 < n->n_items; i += 2) {
                const YamlNode *key = n->items[i], *value = n->items[i + 1];
                const char *suggestion;
                char buf[48];
                size_t k;

                if (key->type != YAML_NODE_SCALAR || yaml_node_is_null(key)) {
                        error_at(p, key, "%s: keys must be plain strings, got %s", what, yaml_node_type_name(key));
                        continue;
                }
                for (k = 0; k < n_keys; k++)
                        if (streq(keys[k], key->value))
                                break;
                if (k >= n_keys && diagnostics_full(p->diag)) {
                        error_at(p, key, "unknown key");
                        continue;
                }
                if (k >= n_keys) {
                        /* keys[] is not NULL-terminated, diag_suggest() wants that. */
                        const char *cand[64];
                        size_t m = MIN(n_keys, ELEMENTSOF(cand) - 1);

                        memcpy(cand, keys, m * sizeof(char *));
                        cand[m] = NULL;
                        suggestion = diag_suggest(key->value, cand);
                        if (suggestion)
                                error_at(p, key, "unknown key '%s' in %s, did you mean '%s'?", excerpt(key, buf), what,
                                         suggestion);
                        else
                                error_at(p, key, "unknown key '%s' in %s", excerpt(key, buf), what);
                        continue;
                }
                if (ret_values[k]) {
                        error_at(p, key, "duplicate key '%s' in %s (first at line %u)", key->value, what,
                                 ret_values[k]->line);
                        continue;
                }
                ret_values[k] = value;
                if (ret_keys)
                        ret_keys[k] = key;
        }
        return true;
}

static int get_string(Parser *p, const YamlNode *n, const char *what, const char **ret) {
        if (!n || n->type != YAML_NODE_SCALAR || yaml_node_is_null(n)) {
                error_at(p, n, "%s: expected a string, got %s", what, yaml_node_type_name(n));
                return -EINVAL;
        }
        *ret = n->value;
        return 0;
}

static bool string_has_control(const char *s) {
        for (; *s; s++)
                if ((unsigned char) *s < 0x20 || *s == 0x7f)
                        return true;
        return false;
}

/* A single-line free text (descriptions), bounded. */
static int get_text(Parser *p, const YamlNode *n, const char *what, char **ret) {
        const char *s;
        char *c;

        if (get_string(p, n, what, &s) < 0)
                return -EINVAL;
        if (strlen(s) > 256 || string_has_control(s)) {
                error_at(p, n, "%s: must be a single line of at most 256 characters", what);
                return -EINVAL;
        }
        c = strdup(s);
        if (!c)
                return -ENOMEM;
        *ret = c;
        return 0;
}

static int get_bool(Parser *p, const YamlNode *n, const char *what, bool *ret) {
        static const char *const yes[] = { "true", "yes", "on" }, *const no[] = { "false", "no", "off" };
        char buf[48];

        if (n && n->type == YAML_NODE_SCALAR)
                for (size_t i = 0; i < ELEMENTSOF(yes); i++) {
                        if (strcasecmp(n->value, yes[i]) == 0) {
                                *ret = true;
                                return 0;
                        }
                        if (strcasecmp(n->value, no[i]) == 0) {
                                *ret = false;
                                return 0;
                        }
                }
        error_at(p, n, "%s: expected a boolean (true or false), got %s%s%s", what,
                 n && n->type == YAML_NODE_SCALAR && !yaml_node_is_null(n) ? "'" : "", excerpt(n, buf),
                 n && n->type == YAML_NODE_SCALAR && !yaml_node_is_null(n) ? "'" : "");
        return -EINVAL;
}

static int get_size(Parser *p, const YamlNode *n, const char *what, uint64_t min, uint64_t *ret) {
        char buf[48], a[FORMAT_BYTES_MAX], b[FORMAT_BYTES_MAX];
        const char *s;
        uint64_t v;

        if (get_string(p, n, what, &s) < 0)
                return -EINVAL;
        if (parse_size(s, &v) < 0) {
                error_at(p, n, "%s: invalid size '%s' (expected bytes with an optional K, M, G or T suffix, "
                         "e.g. 512M or 1.5G, or infinity)", what, excerpt(n, buf));
                return -EINVAL;
        }
        if (v < min) {
                error_at(p, n, "%s: %s is too small (at least %s)", what, format_bytes(a, sizeof(a), v),
                         format_bytes(b, sizeof(b), min));
                return -ERANGE;
        }
        *ret = v;
        return 0;
}

static int get_percent(Parser *p, const YamlNode *n, const char *what, uint64_t min, uint64_t max, uint64_t *ret) {
        char buf[48], a[FORMAT_PERMYRIAD_MAX], b[FORMAT_PERMYRIAD_MAX];
        const char *s;
        uint64_t v;

        if (get_string(p, n, what, &s) < 0)
                return -EINVAL;
        if (parse_permyriad(s, &v) < 0) {
                error_at(p, n, "%s: invalid percentage '%s' (expected e.g. 70%% or 12.5%%)", what, excerpt(n, buf));
                return -EINVAL;
        }
        if (v < min || v > max) {
                error_at(p, n, "%s: %s is out of range (%s..%s)", what, format_permyriad(buf, sizeof(buf), v),
                         format_permyriad(a, sizeof(a), min), format_permyriad(b, sizeof(b), max));
                return -ERANGE;
        }
        *ret = v;
        return 0;
}

static int get_duration(Parser *p, const YamlNode *n, const char *what, bool allow_zero, usec_t *ret) {
        char buf[48];
        const char *s;
        usec_t v;

        if (get_string(p, n, what, &s) < 0)
                return -EINVAL;
        if (parse_sec(s, &v) < 0) {
                error_at(p, n, "%s: invalid duration '%s' (expected e.g. 100ms, 5s, 1min 30s, 2h)", what,
                         excerpt(n, buf));
                return -EINVAL;
        }
        if (v == USEC_INFINITY) {
                error_at(p, n, "%s: must be a finite duration", what);
                return -ERANGE;
        }
        if (v == 0 && !allow_zero) {
                error_at(p, n, "%s: must be longer than 0", what);
                return -ERANGE;
        }
        *ret = v;
        return 0;
}

static int get_uint(Parser *p, const YamlNode *n, const char *what, uint64_t min, uint64_t max, uint64_t *ret) {
        char buf[48];
        const char *s;
        uint64_t v;
        int r;

        if (get_string(p, n, what, &s) < 0)
                return -EINVAL;
        r = safe_atou64(s, &v);
        if (r == -EINVAL) {
                error_at(p, n, "%s: expected a whole number, got '%s'", what, excerpt(n, buf));
                return r;
        }
        if (r < 0 || v < min || v > max) {
                error_at(p, n, "%s: '%s' is out of range (%" PRIu64 "..%" PRIu64 ")", what, excerpt(n, buf), min, max);
                return -ERANGE;
        }
        *ret = v;
        return 0;
}

/* A list of strings, each checked by "check" (which reports), with duplicates refused. */
static int get_string_list(Parser *p, const YamlNode *n, const char *what, bool (*check)(const char *s),
                           const char *check_msg, char ***ret) {
        _cleanup_strv_free_ char **l = NULL;
        size_t k = 0;

        if (!n || n->type != YAML_NODE_SEQUENCE) {
                error_at(p, n, "%s: expected a list, got %s", what, yaml_node_type_name(n));
                return -EINVAL;
        }
        if (n->n_items > LIST_MAX) {
                error_at(p, n, "%s: too many entries (more than %u)", what, LIST_MAX);
                return -E2BIG;
        }
        l = calloc(n->n_items + 1, sizeof(char *));
        if (!l)
                return -ENOMEM;
        for (size_t i = 0; i < n->n_items; i++) {
                const YamlNode *e = n->items[i];
                char buf[48];
                bool dup = false;

                if (e->type != YAML_NODE_SCALAR || yaml_node_is_null(e)) {
                        error_at(p, e, "%s: entries must be strings, got %s", what, yaml_node_type_name(e));
                        continue;
                }
                if (check && !check(e->value)) {
                        error_at(p, e, "%s: '%s' %s", what, excerpt(e, buf), check_msg);
                        continue;
                }
                for (size_t j = 0; j < k; j++)
                        if (streq(l[j], e->value)) {
                                dup = true;
                                break;
                        }
                if (dup) {
                        error_at(p, e, "%s: '%s' is listed twice", what, excerpt(e, buf));
                        continue;
                }
                l[k] = strdup(e->value);
                if (!l[k++])
                        return -ENOMEM;
        }
        *ret = TAKE_PTR(l);
        return 0;
}

static bool path_is_absolute_ok(const char *s) {
        return s[0] == '/' && strlen(s) < 4096 && !string_has_control(s);
}

/* ReadWritePaths= entries: absolute, optionally "-" first (systemd: ignore if missing). */
static bool writable_path_is_ok(const char *s) {
        return path_is_absolute_ok(s[0] == '-' ? s + 1 : s);
}

static bool env_name_is_valid(const char *s, size_t n) {
        if (n == 0 || n > 255)
                return false;
        if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z') || s[0] == '_'))
                return false;
        for (size_t i = 1; i < n; i++)
                if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') ||
                      s[i] == '_'))
                        return false;
        return true;
}

/* Socket addresses systemd's ListenStream= takes: a path, an @abstract name, a port, or ADDR:PORT. */
static bool socket_address_is_valid(const char *s) {
        const char *colon;
        uint64_t port;

        if (isempty(s) || string_has_control(s))
                return false;
        if (s[0] == '/')
                return strlen(s) < 108 && s[strlen(s) - 1] != '/';
        if (s[0] == '@')
                return strlen(s) > 1 && strlen(s) < 108;
        if (safe_atou64(s, &port) == 0)
                return port >= 1 && port <= 65535;

        colon = strrchr(s, ':');
        if (!colon || safe_atou64(colon + 1, &port) < 0 || port < 1 || port > 65535)
                return false;
        if (s[0] == '[') {
                char addr[INET6_ADDRSTRLEN + 1];
                unsigned char bin[16];
                size_t n = (size_t) (colon - s);

                if (n < 3 || s[n - 1] != ']' || n - 2 > INET6_ADDRSTRLEN)
                        return false;
                memcpy(addr, s + 1, n - 2);
                addr[n - 2] = '\0';
                return inet_pton(AF_INET6, addr, bin) == 1;
        } else {
                char addr[INET_ADDRSTRLEN + 1];
                unsigned char bin[4];
                size_t n = (size_t) (colon - s);

                if (n == 0 || n > INET_ADDRSTRLEN)
                        return false;
                memcpy(addr, s, n);
                addr[n] = '\0';
                return inet_pton(AF_INET, addr, bin) == 1;
        }
}

#define SET(a, f) ((a)->set |= AGENT_FIELD_BIT(f))

static void parse_exec(Parser *p, const YamlNode *n, Agent *a) {
        _cleanup_strv_free_ char **argv = NULL;
        int r;

        if (n && n->type == YAML_NODE_SCALAR && !yaml_node_is_null(n)) {
                const char *why = NULL;

                r = exec_split(n->value, &argv, &why);
                if (r == -ENOMEM)
                        return (void) error_at(p, n, "out of memory");
                if (r < 0)
                        return (void) error_at(p, n, "exec: %s", strna(why));
                if (strv_length(argv) > LIST_MAX)
                        return (void) error_at(p, n, "exec: too many arguments (more than %u)", LIST_MAX);
        } else if (n && n->type == YAML_NODE_SEQUENCE) {
                if (n->n_items == 0)
                        return (void) error_at(p, n, "exec: empty command");
                if (n->n_items > LIST_MAX)
                        return (void) error_at(p, n, "exec: too many arguments (more than %u)", LIST_MAX);
                argv = calloc(n->n_items + 1, sizeof(char *));
                if (!argv)
                        return (void) error_at(p, n, "out of memory");
                for (size_t i = 0; i < n->n_items; i++) {
                        const YamlNode *e = n->items[i];

                        if (e->type != YAML_NODE_SCALAR)
                                return (void) error_at(p, e, "exec: arguments must be strings, got %s",
                                                       yaml_node_type_name(e));
                        argv[i] = strdup(e->value);
                        if (!argv[i])
                                return (void) error_at(p, n, "out of memory");
                }
        } else
                return (void) error_at(p, n, "exec: expected a command (a list of arguments or a string), got %s",
                                       yaml_node_type_name(n));

        if (!exec_path_is_valid(argv[0])) {
                const YamlNode *at = n->type == YAML_NODE_SEQUENCE ? n->items[0] : n;

                return (void) error_at(p, at, "exec: '%.40s' is not an absolute path to a program", argv[0]);
        }

        /* Profiles are often checked on another machine than the one that runs them: a missing
         * program is worth a warning, once per program and file. */
        _cleanup_free_ char *program = NULL;
        if (asprintf(&program, "%s%s", p->root, argv[0]) < 0)
                return (void) error_at(p, n, "out of memory");
        if (access(program, X_OK) < 0 && !strv_contains(p->warned_exec, argv[0]) && p->n_warned_exec < 16) {
                warning_at(p, n->type == YAML_NODE_SEQUENCE ? n->items[0] : n, "exec: '%s' is not an executable %s%s",
                           argv[0], isempty(p->root) ? "on this machine" : "below ", p->root);
                if (strv_extend(&p->warned_exec, argv[0]) >= 0)
                        p->n_warned_exec++;
        }

        strv_free(a->exec);
        a->exec = TAKE_PTR(argv);
        SET(a, AGENT_FIELD_EXEC);
}

static void parse_env(Parser *p, const YamlNode *n, Agent *a) {
        _cleanup_strv_free_ char **env = NULL;
        size_t k = 0;

        if (!n || n->type != YAML_NODE_MAPPING)
                return (void) error_at(p, n, "env: expected a mapping of NAME: value, got %s", yaml_node_type_name(n));
        if (n->n_items / 2 > ENV_MAX)
                return (void) error_at(p, n, "env: too many variables (more than %u)", ENV_MAX);

        env = calloc(n->n_items / 2 + 1, sizeof(char *));
        if (!env)
                return (void) error_at(p, n, "out of memory");
        for (size_t i = 0; i + 1 < n->n_items; i += 2) {
                const YamlNode *key = n->items[i], *value = n->items[i + 1];
                char buf[48];
                bool dup = false;
                size_t len;

                if (key->type != YAML_NODE_SCALAR || !env_name_is_valid(key->value, strlen(key->value))) {
                        error_at(p, key, "env: invalid variable name '%s' (letters, digits and '_', not starting "
                                 "with a digit)", excerpt(key, buf));
                        continue;
                }
                if (value->type != YAML_NODE_SCALAR) {
                        error_at(p, value, "env: value of %s must be a string, got %s", key->value,
                                 yaml_node_type_name(value));
                        continue;
                }
                len = strlen(key->value);
                for (size_t j = 0; j < k; j++)
                        if (strneq(env[j], key->value, len) && env[j][len] == '=') {
                                dup = true;
                                break;
                        }
                if (dup) {
                        error_at(p, key, "env: duplicate variable '%s'", key->value);
                        continue;
                }
                if (asprintf(&env[k], "%s=%s", key->value, yaml_node_is_null(value) ? "" : value->value) < 0) {
                        env[k] = NULL;
                        return (void) error_at(p, n, "out of memory");
                }
                k++;
        }
        strv_free(a->env);
        a->env = TAKE_PTR(env);
        SET(a, AGENT_FIELD_ENV);
}

static void parse_lazy(Parser *p, const YamlNode *n, Agent *a) {
        static const char *const keys[] = { "listen" };
        const YamlNode *v[ELEMENTSOF(keys)];
        char buf[48];
        bool b;

        if (n && n->type == YAML_NODE_MAPPING) {
                if (!parse_mapping(p, n, "lazy", keys, ELEMENTSOF(keys), v, NULL))
                        return;
                if (!v[0])
                        return (void) error_at(p, n, "lazy: missing 'listen' (the socket address that starts the agent)");
                if (v[0]->type != YAML_NODE_SCALAR || !socket_address_is_valid(v[0]->value))
                        return (void) error_at(p, v[0], "lazy.listen: '%s' is not a socket address (an absolute path, "
                                               "@abstract, a port or ADDRESS:PORT)", excerpt(v[0], buf));
                free(a->lazy_listen);
                a->lazy_listen = strdup(v[0]->value);
                if (!a->lazy_listen)
                        return (void) error_at(p, n, "out of memory");
                SET(a, AGENT_FIELD_LAZY);
                return;
        }

        if (get_bool(p, n, "lazy", &b) < 0)
                return;
        free(a->lazy_listen);
        a->lazy_listen = NULL;
        if (b) {
                /* The agent's name is known by now (checked before lazy). */
                if (asprintf(&a->lazy_listen, "/run/unified/agents/%s.sock", strna(a->name)) < 0) {
                        a->lazy_listen = NULL;
                        return (void) error_at(p, n, "out of memory");
                }
        }
        SET(a, AGENT_FIELD_LAZY);
}

static const char *const restart_keys[] = { "policy", "delay", "max_delay", "steps", "max_attempts", "window" };

static void parse_restart(Parser *p, const YamlNode *n, Agent *a) {
        const YamlNode *v[ELEMENTSOF(restart_keys)];
        uint64_t u;
        usec_t t;

        if (!parse_mapping(p, n, "restart", restart_keys, ELEMENTSOF(restart_keys), v, NULL))
                return;
        if (v[0]) {
                const char *s;
                RestartPolicy rp;
                char buf[48];

                if (get_string(p, v[0], "restart.policy", &s) >= 0) {
                        rp = restart_policy_from_string(s);
                        if (rp < 0)
                                error_at(p, v[0], "restart.policy: unknown policy '%s' (expected no, on-failure, "
                                         "on-abnormal, on-watchdog, on-abort or always)", excerpt(v[0], buf));
                        else {
                                a->restart.policy = rp;
                                SET(a, AGENT_FIELD_RESTART_POLICY);
                        }
                }
        }
        if (v[1] && get_duration(p, v[1], "restart.delay", true, &t) >= 0) {
                a->restart.delay = t;
                SET(a, AGENT_FIELD_RESTART_DELAY);
        }
        if (v[2] && get_duration(p, v[2], "restart.max_delay", true, &t) >= 0) {
                a->restart.max_delay = t;
                SET(a, AGENT_FIELD_RESTART_MAX_DELAY);
        }
        if (v[3] && get_uint(p, v[3], "restart.steps", 0, 1000, &u) >= 0) {
                a->restart.steps = (unsigned) u;
                SET(a, AGENT_FIELD_RESTART_STEPS);
        }
        if (v[4] && get_uint(p, v[4], "restart.max_attempts", 1, 10000, &u) >= 0) {
                a->restart.max_attempts = (unsigned) u;
                SET(a, AGENT_FIELD_RESTART_MAX_ATTEMPTS);
        }
        if (v[5] && get_duration(p, v[5], "restart.window", true, &t) >= 0) {
                a->restart.window = t;
                SET(a, AGENT_FIELD_RESTART_WINDOW);
        }
}

static const char *const breaker_keys[] = { "threshold", "window", "cooldown", "max_cooldown", "probation" };

static void parse_breaker(Parser *p, const YamlNode *n, Agent *a) {
        const YamlNode *v[ELEMENTSOF(breaker_keys)];
        uint64_t u;
        usec_t t;

        if (!parse_mapping(p, n, "breaker", breaker_keys, ELEMENTSOF(breaker_keys), v, NULL))
                return;
        if (v[0] && get_uint(p, v[0], "breaker.threshold", 1, 1000, &u) >= 0) {
                a->breaker.threshold = (unsigned) u;
                SET(a, AGENT_FIELD_BREAKER_THRESHOLD);
        }
        if (v[1] && get_duration(p, v[1], "breaker.window", false, &t) >= 0) {
                a->breaker.window = t;
                SET(a, AGENT_FIELD_BREAKER_WINDOW);
        }
        if (v[2] && get_duration(p, v[2], "breaker.cooldown", false, &t) >= 0) {
                a->breaker.cooldown = t;
                SET(a, AGENT_FIELD_BREAKER_COOLDOWN);
        }
        if (v[3] && get_duration(p, v[3], "breaker.max_cooldown", false, &t) >= 0) {
                a->breaker.max_cooldown = t;
                SET(a, AGENT_FIELD_BREAKER_MAX_COOLDOWN);
        }
        if (v[4] && get_duration(p, v[4], "breaker.probation", true, &t) >= 0) {
                a->breaker.probation = t;
                SET(a, AGENT_FIELD_BREAKER_PROBATION);
        }
}

static bool user_name_is_valid(const char *s) {
        size_t n = strlen(s);

        if (n == 0 || n > 31)
                return false;
        if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z') || s[0] == '_'))
                return false;
        for (size_t i = 1; i < n; i++)
                if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') ||
                      s[i] == '_' || s[i] == '-'))
                        return false;
        return true;
}

static bool capability_is_known(const char *s) {
        return capability_from_name(s) >= 0;
}

static const char *const sandbox_keys[] = {
        "user", "writable_paths", "network", "protect_system", "private_devices", "memory_deny_write_execute",
        "capabilities", "system_calls",
};

static void parse_sandbox(Parser *p, const YamlNode *n, Agent *a) {
        const YamlNode *v[ELEMENTSOF(sandbox_keys)];
        char **l;
        bool b;

        if (!parse_mapping(p, n, "sandbox", sandbox_keys, ELEMENTSOF(sandbox_keys), v, NULL))
                return;
        if (v[0]) {
                char buf[48];

                if (yaml_node_is_null(v[0])) {
                        /* Explicitly back to DynamicUser=, e.g. over an inherited user. */
                        a->sandbox.user = mfree(a->sandbox.user);
                        SET(a, AGENT_FIELD_SANDBOX_USER);
                } else if (v[0]->type != YAML_NODE_SCALAR || !user_name_is_valid(v[0]->value))
                        error_at(p, v[0], "sandbox.user: '%s' is not a valid user name", excerpt(v[0], buf));
                else {
                        free(a->sandbox.user);
                        a->sandbox.user = strdup(v[0]->value);
                        if (!a->sandbox.user)
                                return (void) error_at(p, n, "out of memory");
                        SET(a, AGENT_FIELD_SANDBOX_USER);
                }
        }
        if (v[1] && get_string_list(p, v[1], "sandbox.writable_paths", writable_path_is_ok, "is not an absolute path",
                                    &l) >= 0) {
                strv_free(a->sandbox.writable_paths);
                a->sandbox.writable_paths = l;
                SET(a, AGENT_FIELD_SANDBOX_WRITABLE_PATHS);
        }
        if (v[2] && get_bool(p, v[2], "sandbox.network", &b) >= 0) {
                a->sandbox.network = b;
                SET(a, AGENT_FIELD_SANDBOX_NETWORK);
        }
        if (v[3] && get_bool(p, v[3], "sandbox.protect_system", &b) >= 0) {
                a->sandbox.protect_system = b;
                SET(a, AGENT_FIELD_SANDBOX_PROTECT_SYSTEM);
        }
        if (v[4] && get_bool(p, v[4], "sandbox.private_devices", &b) >= 0) {
                a->sandbox.private_devices = b;
                SET(a, AGENT_FIELD_SANDBOX_PRIVATE_DEVICES);
        }
        if (v[5] && get_bool(p, v[5], "sandbox.memory_deny_write_execute", &b) >= 0) {
                a->sandbox.memory_deny_write_execute = b;
                SET(a, AGENT_FIELD_SANDBOX_MEMORY_DENY_WRITE_EXECUTE);
        }
        if (v[6] && get_string_list(p, v[6], "sandbox.capabilities", capability_is_known,
                                    "is not a capability (e.g. CAP_NET_BIND_SERVICE)", &l) >= 0) {
                uint64_t mask = 0;

                STRV_FOREACH(c, l)
                        mask |= UINT64_C(1) << capability_from_name(*c);
                strv_free(l);
                a->sandbox.capabilities = mask;
                SET(a, AGENT_FIELD_SANDBOX_CAPABILITIES);
        }
        if (v[7] && get_string_list(p, v[7], "sandbox.system_calls", syscall_entry_is_valid,
                                    "is neither a system call name nor a group systemd 252 knows (e.g. @privileged)",
                                    &l) >= 0) {
                strv_free(a->sandbox.system_calls);
                a->sandbox.system_calls = l;
                SET(a, AGENT_FIELD_SANDBOX_SYSTEM_CALLS);
        }
}

typedef enum ConditionKind {
        COND_PATH,
        COND_MEMORY,
        COND_COUNT,
        COND_WORD,
        COND_TEXT,
        COND_ENVIRONMENT,
} ConditionKind;

static const struct {
        const char *key;
        const char *property;
        ConditionKind kind;
} condition_table[] = {
        { "path_exists", "ConditionPathExists", COND_PATH },
        { "path_exists_glob", "ConditionPathExistsGlob", COND_PATH },
        { "path_is_directory", "ConditionPathIsDirectory", COND_PATH },
        { "memory", "ConditionMemory", COND_MEMORY },
        { "cpus", "ConditionCPUs", COND_COUNT },
        { "architecture", "ConditionArchitecture", COND_WORD },
        { "virtualization", "ConditionVirtualization", COND_WORD },
        { "kernel_command_line", "ConditionKernelCommandLine", COND_TEXT },
        { "environment", "ConditionEnvironment", COND_ENVIRONMENT },
        { "host", "ConditionHost", COND_TEXT },
};

/* "[!][<|<=|=|!=|>=|>]VALUE" as systemd's ConditionMemory=/ConditionCPUs= take it. */
static const char *skip_comparison(const char *s) {
        static const char *const ops[] = { "<=", ">=", "!=", "<", ">", "=" };

        for (size_t i = 0; i < ELEMENTSOF(ops); i++)
                if (strneq(s, ops[i], strlen(ops[i])))
                        return s + strlen(ops[i]);
        return s;
}

static bool condition_value_is_valid(ConditionKind kind, const char *s) {
        uint64_t v;

        if (isempty(s) || string_has_control(s) || strlen(s) > 4096)
                return false;
        if (s[0] == '!' && kind != COND_MEMORY && kind != COND_COUNT)
                s++;
        switch (kind) {
        case COND_PATH:
                return s[0] == '/';
        case COND_MEMORY:
                return parse_size(skip_comparison(s), &v) >= 0 && v != UINT64_MAX;
        case COND_COUNT:
                return safe_atou64(skip_comparison(s), &v) >= 0;
        case COND_WORD:
                if (!*s)
                        return false;
                for (; *s; s++)
                        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '-' || *s == '_'))
                                return false;
                return true;
        case COND_TEXT:
                return *s && !strchr(s, ' ');
        case COND_ENVIRONMENT: {
                const char *eq = strchr(s, '=');

                return env_name_is_valid(s, eq ? (size_t) (eq - s) : strlen(s));
        }
        }
        return false;
}

static void parse_conditions(Parser *p, const YamlNode *n, Agent *a) {
        const char *keys[ELEMENTSOF(condition_table)];
        const YamlNode *v[ELEMENTSOF(condition_table)];
        AgentCondition *c = NULL;
        size_t n_c = 0, total = 0;
        bool ok = true;

        for (size_t i = 0; i < ELEMENTSOF(condition_table); i++)
                keys[i] = condition_table[i].key;
        if (!parse_mapping(p, n, "conditions", keys, ELEMENTSOF(keys), v, NULL))
                return;

        for (size_t i = 0; i < ELEMENTSOF(keys); i++)
                if (v[i])
                        total += v[i]->type == YAML_NODE_SEQUENCE ? v[i]->n_items : 1;
        if (total > CONDITIONS_MAX)
                return (void) error_at(p, n, "conditions: too many (more than %u)", CONDITIONS_MAX);
        if (total > 0) {
                c = calloc(total, sizeof(AgentCondition));
                if (!c)
                        return (void) error_at(p, n, "out of memory");
        }

        for (size_t i = 0; i < ELEMENTSOF(keys); i++) {
                const YamlNode *values;
                size_t m;

                if (!v[i])
                        continue;
                /* A list means several conditions of the same kind, all of which must hold. */
                values = v[i];
                m = values->type == YAML_NODE_SEQUENCE ? values->n_items : 1;
                for (size_t j = 0; j < m; j++) {
                        const YamlNode *e = values->type == YAML_NODE_SEQUENCE ? values->items[j] : values;
                        char buf[48];

                        if (e->type != YAML_NODE_SCALAR || yaml_node_is_null(e) ||
                            !condition_value_is_valid(condition_table[i].kind, e->value)) {
                                error_at(p, e, "conditions.%s: invalid value '%s'", keys[i], excerpt(e, buf));
                                ok = false;
                                continue;
                        }
                        c[n_c].property = strdup(condition_table[i].property);
                        c[n_c].value = strdup(e->value);
                        n_c++;
                        if (!c[n_c - 1].property || !c[n_c - 1].value) {
                                error_at(p, n, "out of memory");
                                ok = false;
                        }
                }
        }

        for (size_t i = 0; i < a->n_conditions; i++) {
                free(a->conditions[i].property);
                free(a->conditions[i].value);
        }
        free(a->conditions);
        a->conditions = c;
        a->n_conditions = n_c;
        if (ok)
                SET(a, AGENT_FIELD_CONDITIONS);
}

enum {
        AK_NAME,
        AK_DESCRIPTION,
        AK_EXEC,
        AK_ENV,
        AK_MEMORY_MAX,
        AK_MEMORY_HIGH,
        AK_CPU_QUOTA,
        AK_CPU_WEIGHT,
        AK_TASKS_MAX,
        AK_ESSENTIAL,
        AK_REQUIRES,
        AK_NOTIFY,
        AK_WATCHDOG,
        AK_LAZY,
        AK_RESTART,
        AK_BREAKER,
        AK_CONDITIONS,
        AK_SANDBOX,
        _AK_MAX,
};

static const char *const agent_keys[_AK_MAX] = {
        [AK_NAME] = "name",
        [AK_DESCRIPTION] = "description",
        [AK_EXEC] = "exec",
        [AK_ENV] = "env",
        [AK_MEMORY_MAX] = "memory_max",
        [AK_MEMORY_HIGH] = "memory_high",
        [AK_CPU_QUOTA] = "cpu_quota",
        [AK_CPU_WEIGHT] = "cpu_weight",
        [AK_TASKS_MAX] = "tasks_max",
        [AK_ESSENTIAL] = "essential",
        [AK_REQUIRES] = "requires",
        [AK_NOTIFY] = "notify",
        [AK_WATCHDOG] = "watchdog",
        [AK_LAZY] = "lazy",
        [AK_RESTART] = "restart",
        [AK_BREAKER] = "breaker",
        [AK_CONDITIONS] = "conditions",
        [AK_SANDBOX] = "sandbox",
};

static bool agent_name_check(const char *s) {
        return agent_name_is_valid(s);
}

/* The settings of one agent, or of the `defaults:` block (is_defaults), into "a". */
static void parse_agent_settings(Parser *p, const YamlNode *n, const char *what, bool is_defaults, Agent *a) {
        const YamlNode *v[_AK_MAX], *k[_AK_MAX];
        uint64_t u;
        usec_t t;
        bool b;

        if (!parse_mapping(p, n, what, agent_keys, _AK_MAX, v, k))
                return;

        if (is_defaults) {
                static const int per_agent[] = { AK_NAME, AK_DESCRIPTION, AK_EXEC, AK_REQUIRES, AK_LAZY };

                for (size_t i = 0; i < ELEMENTSOF(per_agent); i++)
                        if (v[per_agent[i]]) {
                                error_at(p, k[per_agent[i]], "defaults: '%s' is set per agent, it cannot be a default",
                                         agent_keys[per_agent[i]]);
                                v[per_agent[i]] = NULL;
                        }
        }

        if (v[AK_DESCRIPTION] && get_text(p, v[AK_DESCRIPTION], "description", &a->description) >= 0)
                SET(a, AGENT_FIELD_DESCRIPTION);
        if (v[AK_EXEC])
                parse_exec(p, v[AK_EXEC], a);
        if (v[AK_ENV])
                parse_env(p, v[AK_ENV], a);
        if (v[AK_MEMORY_MAX] && get_size(p, v[AK_MEMORY_MAX], "memory_max", MEMORY_MIN, &u) >= 0) {
                a->memory_max = u;
                SET(a, AGENT_FIELD_MEMORY_MAX);
        }
        if (v[AK_MEMORY_HIGH] && get_size(p, v[AK_MEMORY_HIGH], "memory_high", MEMORY_MIN, &u) >= 0) {
                a->memory_high = u;
                SET(a, AGENT_FIELD_MEMORY_HIGH);
        }
        if (v[AK_CPU_QUOTA] && get_percent(p, v[AK_CPU_QUOTA], "cpu_quota", 1, CPU_QUOTA_AGENT_MAX, &u) >= 0) {
                a->cpu_quota = u;
                SET(a, AGENT_FIELD_CPU_QUOTA);
        }
        if (v[AK_CPU_WEIGHT] && get_uint(p, v[AK_CPU_WEIGHT], "cpu_weight", 1, 10000, &u) >= 0) {
                a->cpu_weight = u;
                SET(a, AGENT_FIELD_CPU_WEIGHT);
        }
        if (v[AK_TASKS_MAX]) {
                if (v[AK_TASKS_MAX]->type == YAML_NODE_SCALAR && streq(v[AK_TASKS_MAX]->value, "infinity")) {
                        a->tasks_max = LIMIT_UNSET;
                        SET(a, AGENT_FIELD_TASKS_MAX);
                } else if (get_uint(p, v[AK_TASKS_MAX], "tasks_max", 1, TASKS_MAX_MAX, &u) >= 0) {
                        a->tasks_max = u;
                        SET(a, AGENT_FIELD_TASKS_MAX);
                }
        }
        if (v[AK_ESSENTIAL] && get_bool(p, v[AK_ESSENTIAL], "essential", &b) >= 0) {
                a->essential = b;
                SET(a, AGENT_FIELD_ESSENTIAL);
        }
        if (v[AK_NOTIFY] && get_bool(p, v[AK_NOTIFY], "notify", &b) >= 0) {
                a->notify = b;
                SET(a, AGENT_FIELD_NOTIFY);
        }
        if (v[AK_WATCHDOG] && get_duration(p, v[AK_WATCHDOG], "watchdog", true, &t) >= 0) {
                a->watchdog = t;
                SET(a, AGENT_FIELD_WATCHDOG);
        }
        if (v[AK_REQUIRES]) {
                char **l;

                if (get_string_list(p, v[AK_REQUIRES], "requires", agent_name_check, "is not a valid agent name",
                                    &l) >= 0) {
                        if (a->name && strv_contains(l, a->name))
                                error_at(p, v[AK_REQUIRES], "requires: agent '%s' cannot require itself", a->name);
                        strv_free(a->requires);
                        a->requires = l;
                        SET(a, AGENT_FIELD_REQUIRES);
                }
        }
        if (v[AK_LAZY])
                parse_lazy(p, v[AK_LAZY], a);
        if (v[AK_RESTART])
                parse_restart(p, v[AK_RESTART], a);
        if (v[AK_BREAKER])
                parse_breaker(p, v[AK_BREAKER], a);
        if (v[AK_CONDITIONS])
                parse_conditions(p, v[AK_CONDITIONS], a);
        if (v[AK_SANDBOX])
                parse_sandbox(p, v[AK_SANDBOX], a);
}

static void parse_agents(Parser *p, const YamlNode *n, Profile *profile) {
        if (n->type == YAML_NODE_MAPPING)
                return (void) error_at(p, n, "agents: expected a list of agents ('- name: ...'), got a mapping");
        if (n->type != YAML_NODE_SEQUENCE)
                return (void) error_at(p, n, "agents: expected a list of agents ('- name: ...'), got %s",
                                       yaml_node_type_name(n));
        if (n->n_items > AGENTS_MAX)
                return (void) error_at(p, n, "agents: too many agents (%zu, at most %u)", n->n_items, AGENTS_MAX);

        for (size_t i = 0; i < n->n_items; i++) {
                _cleanup_(agent_freep) Agent *a = NULL;
                const YamlNode *e = n->items[i], *name = NULL;
                char what[64 + AGENT_NAME_MAX], buf[48];
                Agent *other;

                if (e->type != YAML_NODE_MAPPING) {
                        error_at(p, e, "agents: each agent is a mapping (name, exec, ...), got %s",
                                 yaml_node_type_name(e));
                        continue;
                }
                for (size_t j = 0; j + 1 < e->n_items; j += 2)
                        if (e->items[j]->type == YAML_NODE_SCALAR && streq(e->items[j]->value, "name")) {
                                name = e->items[j + 1];
                                break;
                        }
                if (!name) {
                        error_at(p, e, "agent without a name");
                        continue;
                }
                if (name->type != YAML_NODE_SCALAR || yaml_node_is_null(name)) {
                        error_at(p, name, "name: expected a string, got %s", yaml_node_type_name(name));
                        continue;
                }
                if (!agent_name_is_valid(name->value)) {
                        error_at(p, name, "invalid agent name '%s' (letters, digits, '_', '.' and '-', starting with "
                                 "a letter or digit, at most %d characters, to fit in unified-<name>.service)",
                                 excerpt(name, buf), AGENT_NAME_MAX);
                        continue;
                }
                if (agent_name_is_reserved(name->value)) {
                        error_at(p, name, "agent name '%s' is reserved: unified-metrics.socket and "
                                 "unified-metricsd.service belong to the unified package", name->value);
                        continue;
                }
                other = profile_find_agent(profile, name->value);
                if (other) {
                        error_at(p, name, "duplicate agent '%s' (first defined at line %u)", name->value,
                                 other->source_line);
                        continue;
                }

                a = agent_new();
                if (!a)
                        return (void) error_at(p, e, "out of memory");
                a->name = strdup(name->value);
                a->source_file = strdup(p->file);
                if (!a->name || !a->source_file)
                        return (void) error_at(p, e, "out of memory");
                a->source_line = e->line;
                a->source_column = e->column;

                snprintf(what, sizeof(what), "agent '%s'", a->name);
                parse_agent_settings(p, e, what, false, a);

                if (profile_add_agent(profile, a) < 0)
                        return (void) error_at(p, e, "out of memory");
                TAKE_PTR(a);
        }
}

static void parse_resources(Parser *p, const YamlNode *n, Profile *profile) {
        static const char *const keys[] = { "memory_max", "cpu_quota" };
        const YamlNode *v[ELEMENTSOF(keys)];
        uint64_t u;

        if (!parse_mapping(p, n, "resources", keys, ELEMENTSOF(keys), v, NULL))
                return;
        if (v[0] && get_size(p, v[0], "resources.memory_max", MEMORY_MIN, &u) >= 0) {
                profile->memory_max = u;
                profile->memory_max_set = true;
        }
        /* A share of the whole machine: more than all of it makes no sense. */
        if (v[1] && get_percent(p, v[1], "resources.cpu_quota", 1, 10000, &u) >= 0) {
                profile->cpu_quota = u;
                profile->cpu_quota_set = true;
        }
}

static bool profile_name_check(const char *s) {
        return profile_name_is_valid(s);
}

enum {
        PK_NAME,
        PK_DESCRIPTION,
        PK_EXTENDS,
        PK_INCLUDE,
        PK_EXCLUDE,
        PK_RESOURCES,
        PK_DEFAULTS,
        PK_AGENTS,
        _PK_MAX,
};

static const char *const profile_keys[_PK_MAX] = {
        [PK_NAME] = "name",
        [PK_DESCRIPTION] = "description",
        [PK_EXTENDS] = "extends",
        [PK_INCLUDE] = "include",
        [PK_EXCLUDE] = "exclude",
        [PK_RESOURCES] = "resources",
        [PK_DEFAULTS] = "defaults",
        [PK_AGENTS] = "agents",
};

static int name_from_path(const char *path, char **ret) {
        const char *base = strrchr(path, '/');
        size_t n;

        base = base ? base + 1 : path;
        n = strlen(base);
        if (n > 5 && streq(base + n - 5, ".yaml"))
                n -= 5;
        *ret = strndup(base, n);
        return *ret ? 0 : -ENOMEM;
}

static void parse_profile(Parser *p, const YamlNode *root, Profile *profile) {
        const YamlNode *v[_PK_MAX], *k[_PK_MAX];
        char buf[48];

        if (root->type != YAML_NODE_MAPPING)
                return (void) error_at(p, root, "a profile is a mapping of keys (name, extends, resources, agents...), "
                                       "got %s", yaml_node_type_name(root));
        if (!parse_mapping(p, root, "profile", profile_keys, _PK_MAX, v, k))
                return;

        if (v[PK_NAME]) {
                const char *s;

                if (get_string(p, v[PK_NAME], "name", &s) >= 0 && !streq(s, profile->name))
                        error_at(p, v[PK_NAME], "name: '%s' does not match the file name '%s.yaml' (a profile is "
                                 "known by its file name)", excerpt(v[PK_NAME], buf), profile->name);
        }
        if (v[PK_DESCRIPTION])
                (void) get_text(p, v[PK_DESCRIPTION], "description", &profile->description);

        if (v[PK_EXTENDS]) {
                const YamlNode *e = v[PK_EXTENDS];
                char **l = NULL;

                profile->line_extends = e->line;
                profile->column_extends = e->column;
                if (e->type == YAML_NODE_SCALAR && !yaml_node_is_null(e)) {
                        if (!profile_name_is_valid(e->value))
                                error_at(p, e, "extends: '%s' is not a valid profile name", excerpt(e, buf));
                        else if (strv_extend(&l, e->value) < 0)
                                error_at(p, e, "out of memory");
                } else if (e->type == YAML_NODE_SEQUENCE) {
                        if (e->n_items == 0)
                                error_at(p, e, "extends: empty list");
                        else
                                (void) get_string_list(p, e, "extends", profile_name_check, "is not a valid profile name",
                                                       &l);
                } else
                        error_at(p, e, "extends: expected a profile name or a list of them, got %s",
                                 yaml_node_type_name(e));
                if (l && l[0] && strv_contains(l, profile->name))
                        error_at(p, e, "extends: profile '%s' cannot extend itself", profile->name);
                if (l && l[0]) {
                        profile->extends = strdup(l[0]);
                        if (!profile->extends)
                                error_at(p, e, "out of memory");
                }
                profile->bases = l;
        }

        if (v[PK_INCLUDE])
                (void) get_string_list(p, v[PK_INCLUDE], "include", agent_name_check, "is not a valid agent name",
                                       &profile->include);
        if (v[PK_EXCLUDE])
                (void) get_string_list(p, v[PK_EXCLUDE], "exclude", agent_name_check, "is not a valid agent name",
                                       &profile->exclude);
        if (v[PK_INCLUDE] || v[PK_EXCLUDE]) {
                const YamlNode *sel = k[PK_INCLUDE] ?: k[PK_EXCLUDE];

                profile->line_select = sel->line;
                profile->column_select = sel->column;
        }
        if (v[PK_INCLUDE] && v[PK_EXCLUDE])
                error_at(p, k[PK_EXCLUDE], "exclude: use either include or exclude, not both");
        for (int i = PK_INCLUDE; i <= PK_EXCLUDE; i++)
                if (v[i] && !v[PK_EXTENDS])
                        error_at(p, k[i], "%s: selects inherited agents, but the profile extends nothing",
                                 profile_keys[i]);

        if (v[PK_RESOURCES]) {
                profile->line_resources = v[PK_RESOURCES]->line;
                profile->column_resources = v[PK_RESOURCES]->column;
                parse_resources(p, v[PK_RESOURCES], profile);
        }

        if (v[PK_DEFAULTS]) {
                profile->defaults = agent_new();
                if (!profile->defaults)
                        return (void) error_at(p, root, "out of memory");
                parse_agent_settings(p, v[PK_DEFAULTS], "defaults", true, profile->defaults);
        }

        if (v[PK_AGENTS])
                parse_agents(p, v[PK_AGENTS], profile);
        else if (!v[PK_EXTENDS])
                error_at(p, root, "profile has no agents (and extends no other profile)");
}

static int parse_string_at(const char *exec_root, const char *data, size_t size, const char *path,
                           const char *name, Diagnostics *diag, Profile **ret) {
        _cleanup_(yaml_node_freep) YamlNode *root = NULL;
        _cleanup_(profile_freep) Profile *profile = NULL;
        Parser p = {
                .file = path ?: "<string>",
                .root = isempty(exec_root) || streq(exec_root, "/") ? "" : exec_root,
                .diag = diag,
        };
        size_t first = diag ? diag->n_items : 0;
        int r;

        r = yaml_node_parse(data, size, p.file, diag, &root);
        if (r < 0)
                return r;
        if (!root) {
                (void) diag_add(diag, DIAG_ERROR, p.file, 0, 0, "empty profile (no YAML content)");
                return -EBADMSG;
        }

        profile = profile_new();
        if (!profile)
                return -ENOMEM;
        if (path) {
                profile->path = strdup(path);
                if (!profile->path)
                        return -ENOMEM;
        }
        if (name)
                profile->name = strdup(name);
        else
                r = name_from_path(p.file, &profile->name);
        if (!profile->name)
                return -ENOMEM;
        if (!profile_name_is_valid(profile->name))
                error_at(&p, NULL, "'%s' is not a valid profile name (letters, digits, '_', '.', '-', at most %d "
                         "characters)", profile->name, AGENT_NAME_MAX);

        parse_profile(&p, root, profile);
        strv_free(p.warned_exec);
        diagnostics_sort(diag, first);

        if (p.failed)
                return -EBADMSG;
        *ret = TAKE_PTR(profile);
        return 0;
}

int profile_parse_string(const char *data, size_t size, const char *path, const char *name, Diagnostics *diag,
                         Profile **ret) {
        return parse_string_at(NULL, data, size, path, name, diag, ret);
}

int profile_parse_file(const char *path, const char *name, Diagnostics *diag, Profile **ret) {
        return profile_parse_file_at(NULL, path, name, diag, ret);
}

int profile_parse_file_at(const char *root, const char *path, const char *name, Diagnostics *diag, Profile **ret) {
        _cleanup_free_ char *data = NULL;
        _cleanup_close_ int fd = -EBADF;
        size_t size = 0;
        struct stat st;
        int r;

        /* O_NONBLOCK: a FIFO dropped into a profile directory must not block the daemon in open(). */
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (S_ISDIR(st.st_mode))
                return -EISDIR;
        if (!S_ISREG(st.st_mode))
                return -EBADFD;
        r = stat_check_trusted(&st);
        if (r < 0)
                return r;

        /* Read at most one byte more than the limit: enough to know that a file is too large without
         * trusting st_size (which may change under us). */
        data = malloc(YAML_FILE_SIZE_MAX + 2);
        if (!data)
                return -ENOMEM;
        while (size <= YAML_FILE_SIZE_MAX) {
                ssize_t k = read(fd, data + size, YAML_FILE_SIZE_MAX + 1 - size);

                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (k == 0)
                        break;
                size += (size_t) k;
        }
        data[size] = '\0';

        return parse_string_at(root, data, size, path, name, diag, ret);
}
