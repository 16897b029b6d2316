/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* unifiedctl validate / show / list --root (see ctl-offline.h). */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "ctl-offline.h"
#include "ctl-util.h"
#include "json-writer.h"
#include "log.h"
#include "parse-util.h"
#include "profile-set.h"
#include "strv.h"
#include "table.h"

static JsonWriterFlags json_flags(const CtlOutput *o) {
        return o->json == CTL_JSON_PRETTY ? JSON_WRITER_PRETTY : 0;
}

static bool diagnostic_equal(const Diagnostic *a, const Diagnostic *b) {
        return a->severity == b->severity && a->line == b->line && a->column == b->column &&
               streq_ptr(a->file, b->file) && streq_ptr(a->message, b->message);
}

/* Resolving profiles that share a base reports the base's warnings once per profile: keep the first
 * of identical entries. Counts of entries that were dropped for lack of memory are kept. */
static void diagnostics_dedup(Diagnostics *d) {
        size_t n = 0, errors = d->n_errors, warnings = d->n_warnings;

        for (size_t i = 0; i < d->n_items; i++) {
                bool dup = false;

                for (size_t j = 0; j < n && !dup; j++)
                        dup = diagnostic_equal(d->items + i, d->items + j);
                if (dup) {
                        if (d->items[i].severity == DIAG_ERROR)
                                errors--;
                        else
                                warnings--;
                        free(d->items[i].file);
                        free(d->items[i].message);
                        continue;
                }
                d->items[n++] = d->items[i];
        }
        d->n_items = n;
        d->n_errors = errors;
        d->n_warnings = warnings;
}

/* Copies the entries of "from" about "path" (or, with path NULL, about a file named NAME.yaml; with both
 * NULL, all of them) to "to". */
static void diagnostics_take_file(Diagnostics *to, const Diagnostics *from, const char *path, const char *name) {
        for (size_t i = 0; i < from->n_items; i++) {
                const Diagnostic *e = from->items + i;
                bool match;

                if (!path && !name)
                        match = true;
                else if (!e->file)
                        continue;
                else if (path)
                        match = streq(e->file, path);
                else {
                        const char *base = strrchr(e->file, '/');
                        size_t n = strlen(name);

                        base = base ? base + 1 : e->file;
                        match = strneq(base, name, n) && streq(base + n, ".yaml");
                }
                if (match)
                        (void) diag_add(to, e->severity, e->file, e->line, e->column, "%s", e->message);
        }
}

static void json_diagnostics(JsonWriter *w, const Diagnostics *d) {
        json_writer_array_begin(w);
        for (size_t i = 0; i < d->n_items; i++) {
                const Diagnostic *e = d->items + i;

                json_writer_object_begin(w);
                json_writer_key(w, "file");
                json_writer_string(w, e->file);
                json_writer_key(w, "line");
                json_writer_unsigned(w, e->line);
                json_writer_key(w, "column");
                json_writer_unsigned(w, e->column);
                json_writer_key(w, "severity");
                json_writer_string(w, e->severity == DIAG_ERROR ? "error" : "warning");
                json_writer_key(w, "message");
                json_writer_string(w, e->message);
                json_writer_object_end(w);
        }
        json_writer_array_end(w);
}

typedef struct Checked {
        char *name;
        const char *path;
        bool failed;            /* did not even load */
        bool valid;
} Checked;

int offline_validate(const char *root, char **args, const CtlOutput *o) {
        _cleanup_(profile_set_freep) ProfileSet *set = NULL;
        _cleanup_(diagnostics_done) Diagnostics load_diag = {}, diag = {};
        _cleanup_free_ Checked *checked = NULL;
        size_t n_checked = 0, n_invalid = 0;
        bool not_found = false;
        int r;

        r = profile_set_load(root, &load_diag, &set);
        if (r < 0) {
                log_error_errno(r, "Failed to load profiles: %m");
                return CTL_EXIT_FAILURE;
        }

        checked = calloc(strv_length(args) + profile_set_size(set) + 1, sizeof(Checked));
        if (!checked) {
                log_oom();
                return CTL_EXIT_FAILURE;
        }

        if (strv_length(args) == 0) {
                /* Everything on the search path: every parse problem counts. */
                for (size_t i = 0; i < load_diag.n_items; i++) {
                        const Diagnostic *e = load_diag.items + i;
                        (void) diag_add(&diag, e->severity, e->file, e->line, e->column, "%s", e->message);
                }
                for (size_t i = 0; i < profile_set_size(set); i++)
                        checked[n_checked++] = (Checked) { .name = (char *) profile_set_name(set, i) };
        } else
                STRV_FOREACH(a, args) {
                        const char *name = NULL;

                        if (ctl_argument_is_file(*a)) {
                                _cleanup_(diagnostics_done) Diagnostics file_diag = {};

                                r = profile_set_add_file(set, *a, &file_diag, &name);
                                if (r == -ENOENT) {
                                        log_error("%s: No such file.", *a);
                                        not_found = true;
                                        continue;
                                }
                                if (r < 0 && file_diag.n_errors == 0) {
                                        log_error_errno(r, "Failed to read %s: %m", *a);
                                        return CTL_EXIT_FAILURE;
                                }
                                diagnostics_take_file(&diag, &file_diag, NULL, NULL);
                                if (r < 0) {
                                        checked[n_checked++] = (Checked) { .path = *a, .failed = true };
                                        continue;
                                }
                        } else if (profile_set_path(set, *a)) {
                                /* Warnings about the file itself came while loading it. */
                                diagnostics_take_file(&diag, &load_diag, profile_set_path(set, *a), NULL);
                                name = *a;
                        }
                        else {
                                size_t before = diag.n_items;

                                /* Not loaded: it failed to parse, or it does not exist. */
                                diagnostics_take_file(&diag, &load_diag, NULL, *a);
                                if (diag.n_items > before)
                                        checked[n_checked++] = (Checked) { .name = *a, .failed = true };
                                else {
                                        log_error("No profile named '%s' on the search path.", *a);
                                        not_found = true;
                                }
                                continue;
                        }
                        checked[n_checked++] = (Checked) { .name = (char *) name };
                }

        for (size_t i = 0; i < n_checked; i++) {
                _cleanup_(profile_freep) Profile *p = NULL;
                size_t before = diag.n_errors;

                if (checked[i].failed) {
                        n_invalid++;
                        continue;
                }
                r = profile_set_resolve(set, checked[i].name, &diag, &p);
                checked[i].path = profile_set_path(set, checked[i].name);
                checked[i].valid = r >= 0 && diag.n_errors == before;
                if (!checked[i].valid)
                        n_invalid++;
        }

        diagnostics_dedup(&diag);

        if (o->json) {
                JsonWriter w;

                json_writer_init(&w, stdout, json_flags(o));
                json_writer_object_begin(&w);
                json_writer_key(&w, "valid");
                json_writer_boolean(&w, diag.n_errors == 0 && n_invalid == 0 && !not_found);
                json_writer_key(&w, "errors");
                json_writer_unsigned(&w, diag.n_errors);
                json_writer_key(&w, "warnings");
                json_writer_unsigned(&w, diag.n_warnings);
                json_writer_key(&w, "profiles");
                json_writer_array_begin(&w);
                for (size_t i = 0; i < n_checked; i++) {
                        json_writer_object_begin(&w);
                        json_writer_key(&w, "name");
                        json_writer_string(&w, checked[i].name);
                        json_writer_key(&w, "path");
                        json_writer_string(&w, checked[i].path);
                        json_writer_key(&w, "valid");
                        json_writer_boolean(&w, checked[i].valid);
                        json_writer_object_end(&w);
                }
                json_writer_array_end(&w);
                json_writer_key(&w, "diagnostics");
                json_diagnostics(&w, &diag);
                json_writer_object_end(&w);
                if (json_writer_finish(&w) < 0)
                        return CTL_EXIT_FAILURE;
        } else {
                diagnostics_print(&diag, stderr);
                if (o->quiet)
                        ;
                else if (diag.n_errors == 0 && n_invalid == 0 && !not_found)
                        printf("%zu profile%s valid (%zu warning%s).\n", n_checked, n_checked == 1 ? "" : "s",
                               diag.n_warnings, diag.n_warnings == 1 ? "" : "s");
                else if (n_invalid > 0 || diag.n_errors > 0)
                        printf("%zu error%s, %zu warning%s: %zu profile%s invalid.\n", diag.n_errors,
                               diag.n_errors == 1 ? "" : "s", diag.n_warnings, diag.n_warnings == 1 ? "" : "s",
                               MAX(n_invalid, (size_t) 1), MAX(n_invalid, (size_t) 1) == 1 ? "" : "s");
        }

        if (diag.n_errors > 0 || n_invalid > 0)
                return CTL_EXIT_INVALID;
        if (not_found)
                return CTL_EXIT_NOT_FOUND;
        return CTL_EXIT_SUCCESS;
}

static void json_limit(JsonWriter *w, const char *key, uint64_t v) {
        json_writer_key(w, key);
        if (v == LIMIT_UNSET)
                json_writer_null(w);
        else
                json_writer_unsigned(w, v);
}

/* Percentages as numbers ("cpu_quota": 12.5), null if unset. */
static void json_percent(JsonWriter *w, const char *key, uint64_t permyriad) {
        json_writer_key(w, key);
        if (permyriad == 0)
                json_writer_null(w);
        else
                json_writer_real(w, (double) permyriad / 100.0);
}

static void json_usec(JsonWriter *w, const char *key, usec_t u) {
        json_writer_key(w, key);
        if (u == USEC_INFINITY)
                json_writer_null(w);
        else
                json_writer_unsigned(w, u);
}

static void json_agent(JsonWriter *w, const Agent *a) {
        json_writer_object_begin(w);
        json_writer_key(w, "name");
        json_writer_string(w, a->name);
        json_writer_key(w, "description");
        json_writer_string(w, a->description);
        json_writer_key(w, "exec");
        json_writer_strv(w, a->exec);
        json_writer_key(w, "environment");
        json_writer_strv(w, a->env);
        json_limit(w, "memory_max", a->memory_max);
        json_limit(w, "memory_high", a->memory_high);
        json_percent(w, "cpu_quota", a->cpu_quota);
        json_writer_key(w, "cpu_weight");
        if (a->cpu_weight == 0)
                json_writer_null(w);
        else
                json_writer_unsigned(w, a->cpu_weight);
        json_limit(w, "tasks_max", a->tasks_max);
        json_writer_key(w, "essential");
        json_writer_boolean(w, a->essential);
        json_writer_key(w, "notify");
        json_writer_boolean(w, a->notify);
        json_usec(w, "watchdog_usec", a->watchdog);
        json_writer_key(w, "requires");
        json_writer_strv(w, a->requires);
        json_writer_key(w, "lazy_listen");
        json_writer_string(w, a->lazy_listen);

        json_writer_key(w, "restart");
        json_writer_object_begin(w);
        json_writer_key(w, "policy");
        json_writer_string(w, restart_policy_to_string(a->restart.policy));
        json_usec(w, "delay_usec", a->restart.delay);
        json_usec(w, "max_delay_usec", a->restart.max_delay);
        json_writer_key(w, "steps");
        json_writer_unsigned(w, a->restart.steps);
        json_writer_key(w, "max_attempts");
        json_writer_unsigned(w, a->restart.max_attempts);
        json_usec(w, "window_usec", a->restart.window);
        json_writer_object_end(w);

        json_writer_key(w, "breaker");
        json_writer_object_begin(w);
        json_writer_key(w, "threshold");
        json_writer_unsigned(w, a->breaker.threshold);
        json_usec(w, "window_usec", a->breaker.window);
        json_usec(w, "cooldown_usec", a->breaker.cooldown);
        json_usec(w, "max_cooldown_usec", a->breaker.max_cooldown);
        json_usec(w, "probation_usec", a->breaker.probation);
        json_writer_object_end(w);

        json_writer_key(w, "conditions");
        json_writer_array_begin(w);
        for (size_t i = 0; i < a->n_conditions; i++) {
                json_writer_object_begin(w);
                json_writer_key(w, "property");
                json_writer_string(w, a->conditions[i].property);
                json_writer_key(w, "value");
                json_writer_string(w, a->conditions[i].value);
                json_writer_object_end(w);
        }
        json_writer_array_end(w);

        json_writer_key(w, "sandbox");
        json_writer_object_begin(w);
        json_writer_key(w, "user");
        json_writer_string(w, a->sandbox.user);
        json_writer_key(w, "writable_paths");
        json_writer_strv(w, a->sandbox.writable_paths);
        json_writer_key(w, "network");
        json_writer_boolean(w, a->sandbox.network);
        json_writer_key(w, "protect_system");
        json_writer_boolean(w, a->sandbox.protect_system);
        json_writer_key(w, "private_devices");
        json_writer_boolean(w, a->sandbox.private_devices);
        json_writer_object_end(w);

        json_writer_key(w, "source");
        json_writer_object_begin(w);
        json_writer_key(w, "file");
        json_writer_string(w, a->source_file);
        json_writer_key(w, "line");
        json_writer_unsigned(w, a->source_line);
        json_writer_object_end(w);

        json_writer_object_end(w);
}

static int show_json(const Profile *p, const CtlOutput *o) {
        JsonWriter w;

        json_writer_init(&w, stdout, json_flags(o));
        json_writer_object_begin(&w);
        json_writer_key(&w, "name");
        json_writer_string(&w, p->name);
        json_writer_key(&w, "description");
        json_writer_string(&w, p->description);
        json_writer_key(&w, "path");
        json_writer_string(&w, p->path);
        json_writer_key(&w, "extends");
        json_writer_string(&w, p->extends);
        json_writer_key(&w, "bases");
        json_writer_strv(&w, p->bases);
        json_limit(&w, "memory_max", p->memory_max);
        json_percent(&w, "cpu_quota", p->cpu_quota);
        json_writer_key(&w, "agents");
        json_writer_array_begin(&w);
        for (size_t i = 0; i < p->n_agents; i++)
                json_agent(&w, p->agents[i]);
        json_writer_array_end(&w);
        json_writer_object_end(&w);
        return json_writer_finish(&w) < 0 ? CTL_EXIT_FAILURE : CTL_EXIT_SUCCESS;
}

static int show_text(const Profile *p, const CtlOutput *o) {
        _cleanup_(table_freep) Table *t = NULL;
        char mem[CTL_FORMAT_BYTES_MAX], cpu[FORMAT_PERMYRIAD_MAX];
        size_t n_essential = 0, n_lazy = 0;
        uint64_t sum = 0;

        t = table_new("AGENT", "MEMORY", "CPU", "TASKS", "WATCHDOG", "FLAGS", "REQUIRES", NULL);
        if (!t)
                return log_oom(), CTL_EXIT_FAILURE;

        for (size_t i = 0; i < p->n_agents; i++) {
                const Agent *a = p->agents[i];
                char amem[CTL_FORMAT_BYTES_MAX], acpu[FORMAT_PERMYRIAD_MAX], tasks[32], wd[FORMAT_TIMESPAN_MAX];
                _cleanup_free_ char *req = NULL;
                _cleanup_strv_free_ char **flags = NULL;
                _cleanup_free_ char *f = NULL;

                n_essential += a->essential;
                n_lazy += !!a->lazy_listen;
                if (a->memory_max != LIMIT_UNSET)
                        sum += a->memory_max;

                if ((a->essential && strv_extend(&flags, "essential") < 0) ||
                    (a->lazy_listen && strv_extend(&flags, "lazy") < 0) ||
                    (a->notify && strv_extend(&flags, "notify") < 0))
                        return log_oom(), CTL_EXIT_FAILURE;
                f = strv_join(flags, ",");
                req = strv_join(a->requires, ",");
                if (!f || !req)
                        return log_oom(), CTL_EXIT_FAILURE;

                if (a->tasks_max == LIMIT_UNSET)
                        snprintf(tasks, sizeof(tasks), "-");
                else
                        snprintf(tasks, sizeof(tasks), "%" PRIu64, a->tasks_max);

                if (table_add_row(t, a->name, ctl_format_bytes(amem, sizeof(amem), a->memory_max),
                                  a->cpu_quota > 0 ? format_permyriad(acpu, sizeof(acpu), a->cpu_quota) : "-",
                                  tasks, a->watchdog > 0 ? format_timespan(wd, sizeof(wd), a->watchdog) : "-",
                                  isempty(f) ? "-" : f, isempty(req) ? "-" : req) < 0)
                        return log_oom(), CTL_EXIT_FAILURE;
        }

        printf("Profile: %s\n", p->name);
        if (p->description)
                printf("  Description: %s\n", p->description);
        printf("  File: %s\n", strna(p->path));
        if (p->bases) {
                _cleanup_free_ char *b = strv_join(p->bases, ", ");
                if (!b)
                        return log_oom(), CTL_EXIT_FAILURE;
                printf("  Extends: %s\n", b);
        } else if (p->extends)
                printf("  Extends: %s\n", p->extends);
        printf("  Budget: memory %s, CPU %s\n", ctl_format_bytes(mem, sizeof(mem), p->memory_max),
               p->cpu_quota > 0 ? format_permyriad(cpu, sizeof(cpu), p->cpu_quota) : "-");
        printf("  Agents: %zu (%zu essential, %zu lazy), memory limits sum to %s\n\n", p->n_agents, n_essential,
               n_lazy, ctl_format_bytes(mem, sizeof(mem), sum));
        table_print(t, stdout, true, o->columns, o->ellipsis);
        return CTL_EXIT_SUCCESS;
}

int offline_resolve(const char *root, const char *arg, bool warnings, Profile **ret) {
        _cleanup_(profile_set_freep) ProfileSet *set = NULL;
        _cleanup_(diagnostics_done) Diagnostics load_diag = {}, diag = {};
        const char *name = arg;
        int r;

        r = profile_set_load(root, &load_diag, &set);
        if (r < 0) {
                log_error_errno(r, "Failed to load profiles: %m");
                return CTL_EXIT_FAILURE;
        }

        if (ctl_argument_is_file(arg)) {
                r = profile_set_add_file(set, arg, &diag, &name);
                if (r == -ENOENT && diag.n_errors == 0) {
                        log_error("%s: No such file.", arg);
                        return CTL_EXIT_NOT_FOUND;
                }
                if (r < 0) {
                        diagnostics_print(&diag, stderr);
                        if (diag.n_errors > 0)
                                return CTL_EXIT_INVALID;
                        log_error_errno(r, "Failed to read %s: %m", arg);
                        return CTL_EXIT_FAILURE;
                }
        } else if (!profile_set_path(set, arg)) {
                diagnostics_take_file(&diag, &load_diag, NULL, arg);
                if (diag.n_errors > 0) {
                        diagnostics_print(&diag, stderr);
                        return CTL_EXIT_INVALID;
                }
                log_error("No profile named '%s' on the search path.", arg);
                return CTL_EXIT_NOT_FOUND;
        }

        r = profile_set_resolve(set, name, &diag, ret);
        diagnostics_dedup(&diag);
        if (r < 0 || diag.n_errors > 0) {
                diagnostics_print(&diag, stderr);
                *ret = profile_free(*ret);
                if (r == -ENOENT)
                        return CTL_EXIT_NOT_FOUND;
                return r == -EBADMSG || diag.n_errors > 0 ? CTL_EXIT_INVALID : CTL_EXIT_FAILURE;
        }
        if (warnings)
                diagnostics_print(&diag, stderr);
        return CTL_EXIT_SUCCESS;
}

int offline_show(const char *root, const char *arg, const CtlOutput *o) {
        _cleanup_(profile_freep) Profile *p = NULL;
        int r;

        /* Warnings do not stop "show", but they should not pass unnoticed either. */
        r = offline_resolve(root, arg, true, &p);
        if (r != CTL_EXIT_SUCCESS)
                return r;
        return o->json ? show_json(p, o) : show_text(p, o);
}

int offline_list(const char *root, const CtlOutput *o) {
        _cleanup_(profile_set_freep) ProfileSet *set = NULL;
        _cleanup_(diagnostics_done) Diagnostics diag = {};
        _cleanup_(table_freep) Table *t = NULL;
        JsonWriter w;
        int r;

        r = profile_set_load(root, &diag, &set);
        if (r < 0) {
                log_error_errno(r, "Failed to load profiles: %m");
                return CTL_EXIT_FAILURE;
        }

        t = table_new("PROFILE", "AGENTS", "DESCRIPTION", NULL);
        if (!t)
                return log_oom(), CTL_EXIT_FAILURE;
        json_writer_init(&w, stdout, json_flags(o));
        if (o->json)
                json_writer_array_begin(&w);

        for (size_t i = 0; i < profile_set_size(set); i++) {
                _cleanup_(diagnostics_done) Diagnostics ignored = {};
                _cleanup_(profile_freep) Profile *p = NULL;
                const char *name = profile_set_name(set, i);
                char n[32];

                r = profile_set_resolve(set, name, &ignored, &p);
                if (r >= 0)
                        snprintf(n, sizeof(n), "%zu", p->n_agents);
                if (o->json) {
                        json_writer_object_begin(&w);
                        json_writer_key(&w, "name");
                        json_writer_string(&w, name);
                        json_writer_key(&w, "description");
                        json_writer_string(&w, r >= 0 ? p->description : NULL);
                        json_writer_key(&w, "path");
                        json_writer_string(&w, profile_set_path(set, name));
                        json_writer_key(&w, "agents");
                        if (r >= 0)
                                json_writer_unsigned(&w, p->n_agents);
                        else
                                json_writer_null(&w);
                        json_writer_key(&w, "valid");
                        json_writer_boolean(&w, r >= 0);
                        json_writer_object_end(&w);
                } else if (table_add_row(t, name, r >= 0 ? n : "-",
                                         r >= 0 ? strempty(p->description) : "(invalid, see unifiedctl validate)") < 0)
                        return log_oom(), CTL_EXIT_FAILURE;
        }

        if (o->json) {
                json_writer_array_end(&w);
                return json_writer_finish(&w) < 0 ? CTL_EXIT_FAILURE : CTL_EXIT_SUCCESS;
        }
        table_print(t, stdout, o->legend, o->columns, o->ellipsis);
        if (o->legend)
                printf("\n%zu profiles listed.\n", table_rows(t));
        return CTL_EXIT_SUCCESS;
}
