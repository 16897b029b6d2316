/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The set of profiles on the search path and their resolution into flat profiles. */

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "config.h"
#include "fs-util.h"
#include "parse-util.h"
#include "profile-set.h"
#include "strv.h"

#define EXTENDS_DEPTH_MAX 32U
#define PROFILES_MAX 4096U
#define AGENTS_MAX 1024U

const char *const profile_search_dirs[] = {
        PROFILES_VENDOR_DIR,
        PROFILES_ADMIN_DIR,
        PROFILES_RUNTIME_DIR,
        NULL,
};

typedef struct ProfileEntry {
        char *name;
        char *path;
        Profile *profile;       /* NULL if the file failed to parse */
} ProfileEntry;

struct ProfileSet {
        ProfileEntry *entries;  /* sorted by name */
        size_t n_entries;
        char *root;             /* the root the set was loaded from ("" for "/"): `exec` is checked below it */
};

static void entry_done(ProfileEntry *e) {
        free(e->name);
        free(e->path);
        profile_free(e->profile);
        *e = (ProfileEntry) {};
}

ProfileSet *profile_set_free(ProfileSet *s) {
        if (!s)
                return NULL;
        for (size_t i = 0; i < s->n_entries; i++)
                entry_done(s->entries + i);
        free(s->entries);
        free(s->root);
        return mfree(s);
}

int profile_set_new(ProfileSet **ret) {
        ProfileSet *s = calloc(1, sizeof(ProfileSet));

        if (!s)
                return -ENOMEM;
        *ret = s;
        return 0;
}

static ProfileEntry *set_find(const ProfileSet *s, const char *name) {
        size_t lo = 0, hi = s->n_entries;

        while (lo < hi) {
                size_t mid = (lo + hi) / 2;
                int c = strcmp(name, s->entries[mid].name);

                if (c == 0)
                        return s->entries + mid;
                if (c < 0)
                        hi = mid;
                else
                        lo = mid + 1;
        }
        return NULL;
}

/* Puts (name, path, profile) into the set, replacing an entry of the same name; takes ownership of
 * "profile" on success only. */
static int set_put(ProfileSet *s, const char *name, const char *path, Profile *profile) {
        _cleanup_free_ char *n = NULL, *p = NULL;
        ProfileEntry *e;
        size_t pos;

        n = strdup(name);
        if (!n)
                return -ENOMEM;
        if (path) {
                p = strdup(path);
                if (!p)
                        return -ENOMEM;
        }

        e = set_find(s, name);
        if (e) {
                free(e->name);
                free(e->path);
                profile_free(e->profile);
                *e = (ProfileEntry) { TAKE_PTR(n), TAKE_PTR(p), profile };
                return 0;
        }

        if (s->n_entries >= PROFILES_MAX)
                return -E2BIG;
        e = realloc(s->entries, sizeof(ProfileEntry) * (s->n_entries + 1));
        if (!e)
                return -ENOMEM;
        s->entries = e;
        for (pos = 0; pos < s->n_entries && strcmp(s->entries[pos].name, name) < 0; pos++)
                ;
        memmove(s->entries + pos + 1, s->entries + pos, sizeof(ProfileEntry) * (s->n_entries - pos));
        s->entries[pos] = (ProfileEntry) { TAKE_PTR(n), TAKE_PTR(p), profile };
        s->n_entries++;
        return 0;
}

int profile_set_add(ProfileSet *s, Profile *p) {
        if (!s || !p || !p->name)
                return -EINVAL;
        return set_put(s, p->name, p->path, p);
}

const Profile *profile_set_get(const ProfileSet *s, const char *name) {
        ProfileEntry *e = s && name ? set_find(s, name) : NULL;

        return e ? e->profile : NULL;
}

size_t profile_set_size(const ProfileSet *s) {
        return s ? s->n_entries : 0;
}

const char *profile_set_name(const ProfileSet *s, size_t i) {
        if (!s || i >= s->n_entries)
                return NULL;
        return s->entries[i].name;
}

const char *profile_set_path(const ProfileSet *s, const char *name) {
        ProfileEntry *e = s && name ? set_find(s, name) : NULL;

        return e ? e->path : NULL;
}

static int parse_into_set(ProfileSet *s, const char *path, const char *name, Diagnostics *diag) {
        _cleanup_(profile_freep) Profile *p = NULL;
        int r;

        r = profile_parse_file_at(s->root, path, name, diag, &p);
        if (r == -EBADMSG)
                /* Keep the name known, so that resolving it (or a profile extending it) says "invalid"
                 * rather than "unknown". */
                return set_put(s, name, path, NULL) < 0 ? -ENOMEM : -EBADMSG;
        if (r < 0) {
                if (r == -EPERM)
                        (void) diag_add(diag, DIAG_ERROR, path, 0, 0, "refusing a profile that is writable by "
                                        "group or others, or not owned by root (chmod go-w, chown root)");
                else
                        (void) diag_add(diag, DIAG_ERROR, path, 0, 0, "cannot read profile: %s", strerror(-r));
                (void) set_put(s, name, path, NULL);
                return r;
        }
        r = set_put(s, name, path, p);
        if (r < 0)
                return r;
        TAKE_PTR(p);
        return 0;
}

/* A file given by path (`unifiedctl validate profiles/full.yaml` in a source tree) most likely
 * extends its neighbours, not what is installed: bases found next to it replace those of the search
 * path, and so on along the chain. "seen" holds the names added so, against cycles. */
static int add_bases_beside(ProfileSet *s, const char *path, const char *name, Diagnostics *diag, char ***seen,
                            unsigned depth) {
        const ProfileEntry *e = set_find(s, name);
        const char *slash = strrchr(path, '/');
        _cleanup_strv_free_ char **bases = NULL;
        int r;

        if (!e || !e->profile || depth >= EXTENDS_DEPTH_MAX)
                return 0;
        /* Copied: adding a base reallocates the entries, and may even replace this one. */
        if (e->profile->bases)
                r = strv_copy(e->profile->bases, &bases);
        else if (e->profile->extends)
                r = strv_extend(&bases, e->profile->extends);
        else
                r = 0;
        if (r < 0)
                return r;

        STRV_FOREACH(b, bases) {
                _cleanup_free_ char *beside = NULL;

                if (!profile_name_is_valid(*b) || strv_contains(*seen, *b))
                        continue;
                if (asprintf(&beside, "%.*s%s.yaml", slash ? (int) (slash - path + 1) : 0, path, *b) < 0)
                        return -ENOMEM;
                if (access(beside, F_OK) < 0)
                        continue;       /* from the search path, then */
                if (strv_extend(seen, *b) < 0)
                        return -ENOMEM;
                r = parse_into_set(s, beside, *b, diag);
                if (r == -ENOMEM)
                        return r;
                r = add_bases_beside(s, beside, *b, diag, seen, depth + 1);
                if (r < 0)
                        return r;
        }
        return 0;
}

int profile_set_add_file(ProfileSet *s, const char *path, Diagnostics *diag, const char **ret_name) {
        _cleanup_strv_free_ char **seen = NULL;
        _cleanup_free_ char *name = NULL;
        const char *base;
        size_t n;
        int r;

        base = strrchr(path, '/');
        base = base ? base + 1 : path;
        n = strlen(base);
        if (n > 5 && streq(base + n - 5, ".yaml"))
                n -= 5;
        name = strndup(base, n);
        if (!name)
                return -ENOMEM;
        if (!profile_name_is_valid(name)) {
                (void) diag_add(diag, DIAG_ERROR, path, 0, 0,
                                "'%s' is not a valid profile name (letters, digits, '_', '.', '-', at most %d "
                                "characters)", name, AGENT_NAME_MAX);
                return -EBADMSG;
        }

        r = parse_into_set(s, path, name, diag);
        if (r < 0)
                return r;
        if (strv_extend(&seen, name) < 0)
                return -ENOMEM;
        r = add_bases_beside(s, path, name, diag, &seen, 0);
        if (r < 0)
                return r;
        if (ret_name)
                *ret_name = set_find(s, name)->name;
        return 0;
}

static int cmp_strp(const void *a, const void *b) {
        return strcmp(*(char * const *) a, *(char * const *) b);
}

static bool is_dev_null(const char *path) {
        struct stat st;

        /* systemd's masking: a profile symlinked to /dev/null hides the ones below it. */
        return stat(path, &st) >= 0 && S_ISCHR(st.st_mode) && major(st.st_rdev) == 1 && minor(st.st_rdev) == 3;
}

/* Collects the *.yaml names of "dir" into *found (name -> path), later calls overriding. */
static int scan_dir(const char *dir, Diagnostics *diag, char ***names, char ***paths) {
        _cleanup_strv_free_ char **files = NULL;
        DIR *d;
        struct dirent *de;
        size_t n_files = 0;

        struct stat st;

        d = opendir(dir);
        if (!d)
                return errno == ENOENT || errno == ENOTDIR ? 0 : -errno;
        /* Profiles are root-equivalent (exec runs anything): root reads none from a directory others can
         * write. */
        if (fstat(dirfd(d), &st) < 0) {
                int r = -errno;

                closedir(d);
                return r;
        }
        if (stat_check_trusted(&st) < 0) {
                closedir(d);
                (void) diag_add(diag, DIAG_ERROR, dir, 0, 0,
                                "refusing to read profiles from a directory that is writable by group or others, "
                                "or not owned by root (chmod go-w, chown root)");
                return 1;
        }
        while ((de = readdir(d))) {
                size_t n = strlen(de->d_name);

                if (de->d_name[0] == '.' || n <= 5 || !streq(de->d_name + n - 5, ".yaml"))
                        continue;
                if (n_files >= PROFILES_MAX)
                        break;
                if (strv_extend(&files, de->d_name) < 0) {
                        closedir(d);
                        return -ENOMEM;
                }
                n_files++;
        }
        closedir(d);
        if (n_files > 0)
                qsort(files, n_files, sizeof(char *), cmp_strp);

        STRV_FOREACH(f, files) {
                _cleanup_free_ char *name = strndup(*f, strlen(*f) - 5), *path = NULL;
                size_t i, n = strv_length(*names);

                if (!name)
                        return -ENOMEM;
                if (asprintf(&path, "%s/%s", dir, *f) < 0)
                        return -ENOMEM;
                if (!profile_name_is_valid(name)) {
                        (void) diag_add(diag, DIAG_WARNING, path, 0, 0, "ignoring file: '%s' is not a valid profile name",
                                        name);
                        continue;
                }
                for (i = 0; i < n; i++)
                        if (streq((*names)[i], name))
                                break;
                if (i < n) {
                        free((*paths)[i]);
                        (*paths)[i] = TAKE_PTR(path);
                        continue;
                }
                if (strv_consume(names, TAKE_PTR(name)) < 0 || strv_consume(paths, TAKE_PTR(path)) < 0)
                        return -ENOMEM;
        }
        return 0;
}

int profile_set_load(const char *root, Diagnostics *diag, ProfileSet **ret) {
        _cleanup_(profile_set_freep) ProfileSet *s = NULL;
        _cleanup_strv_free_ char **names = NULL, **paths = NULL;
        int r;

        if (!root)
                root = getenv("UNIFIED_ROOT");
        if (isempty(root) || streq(root, "/"))
                root = "";

        for (size_t i = 0; profile_search_dirs[i]; i++) {
                _cleanup_free_ char *dir = NULL;

                if (asprintf(&dir, "%s%s", root, profile_search_dirs[i]) < 0)
                        return -ENOMEM;
                r = scan_dir(dir, diag, &names, &paths);
                if (r == -ENOMEM)
                        return r;
                if (r < 0)
                        (void) diag_add(diag, DIAG_WARNING, dir, 0, 0, "cannot read directory, ignoring: %s",
                                        strerror(-r));
        }

        r = profile_set_new(&s);
        if (r < 0)
                return r;
        s->root = strdup(root);
        if (!s->root)
                return -ENOMEM;
        for (size_t i = 0; names && names[i]; i++) {
                if (is_dev_null(paths[i]))
                        continue;
                r = parse_into_set(s, paths[i], names[i], diag);
                if (r == -ENOMEM)
                        return r;
        }

        *ret = TAKE_PTR(s);
        return 0;
}

/* ------------------------------------------------------------------------------------------------ */
/* Resolution */

enum {
        STATE_IN_PROGRESS = 1,
        STATE_FAILED = 2,
};

typedef struct Resolver {
        const ProfileSet *set;
        Diagnostics *diag;
        Profile **layered;      /* per set entry: the profile with its bases applied, defaults not yet */
        unsigned char *state;   /* per set entry: 0, STATE_IN_PROGRESS or STATE_FAILED */
        const ProfileEntry *stack[EXTENDS_DEPTH_MAX + 1];
        size_t depth;
} Resolver;

static const char **set_names(const ProfileSet *s) {
        const char **names = calloc(s->n_entries + 1, sizeof(char *));

        if (!names)
                return NULL;
        for (size_t i = 0; i < s->n_entries; i++)
                names[i] = s->entries[i].name;
        return names;
}

static void report_unknown(Diagnostics *diag, const char *file, unsigned line, unsigned column, const char *what,
                           const char *word, const char *const *candidates) {
        const char *suggestion = diagnostics_full(diag) ? NULL : diag_suggest(word, candidates);

        if (suggestion)
                (void) diag_add(diag, DIAG_ERROR, file, line, column, "%s '%s', did you mean '%s'?", what, word,
                                suggestion);
        else
                (void) diag_add(diag, DIAG_ERROR, file, line, column, "%s '%s'", what, word);
}

static int profile_copy_meta(const Profile *p, Profile **ret) {
        _cleanup_(profile_freep) Profile *c = profile_new();

        if (!c)
                return -ENOMEM;
        if ((p->name && !(c->name = strdup(p->name))) ||
            (p->description && !(c->description = strdup(p->description))) ||
            (p->path && !(c->path = strdup(p->path))) ||
            (p->extends && !(c->extends = strdup(p->extends))) ||
            (p->bases && strv_copy(p->bases, &c->bases) < 0) ||
            (p->include && strv_copy(p->include, &c->include) < 0) ||
            (p->exclude && strv_copy(p->exclude, &c->exclude) < 0))
                return -ENOMEM;
        c->memory_max = p->memory_max;
        c->cpu_quota = p->cpu_quota;
        c->memory_max_set = p->memory_max_set;
        c->cpu_quota_set = p->cpu_quota_set;
        c->line_extends = p->line_extends;
        c->column_extends = p->column_extends;
        c->line_select = p->line_select;
        c->column_select = p->column_select;
        c->line_resources = p->line_resources;
        c->column_resources = p->column_resources;
        *ret = TAKE_PTR(c);
        return 0;
}

/* Layers "src" over an agent of the same name in "dst" or appends a copy of it. */
static int layer_agent(Profile *dst, const Agent *src) {
        _cleanup_(agent_freep) Agent *c = NULL;
        Agent *existing = profile_find_agent(dst, src->name);
        int r;

        if (existing) {
                r = agent_merge(existing, src);
                if (r < 0)
                        return r;
                /* Diagnostics about the result point at the latest definition. */
                free(existing->source_file);
                existing->source_file = src->source_file ? strdup(src->source_file) : NULL;
                if (src->source_file && !existing->source_file)
                        return -ENOMEM;
                existing->source_line = src->source_line;
                existing->source_column = src->source_column;
                return 0;
        }
        r = agent_copy(src, &c);
        if (r < 0)
                return r;
        r = profile_add_agent(dst, c);
        if (r < 0)
                return r;
        TAKE_PTR(c);
        return 0;
}

static int layer_defaults(Profile *dst, const Agent *defaults) {
        if (!defaults)
                return 0;
        if (!dst->defaults) {
                dst->defaults = agent_new();
                if (!dst->defaults)
                        return -ENOMEM;
        }
        return agent_merge(dst->defaults, defaults);
}

static int resolve_layered(Resolver *r, const ProfileEntry *e, Profile **ret);

/* Bases of "p" merged in order into "l". */
static int apply_bases(Resolver *r, const Profile *p, Profile *l) {
        const char *file = p->path ?: p->name;
        bool failed = false;
        int k;

        STRV_FOREACH(b, p->bases) {
                const ProfileEntry *be = set_find(r->set, *b);
                Profile *bl;

                if (!be) {
                        _cleanup_free_ const char **names = set_names(r->set);

                        if (!names)
                                return -ENOMEM;
                        report_unknown(r->diag, file, p->line_extends, p->column_extends, "extends: unknown profile",
                                       *b, names);
                        failed = true;
                        continue;
                }
                if (!be->profile) {
                        (void) diag_add(r->diag, DIAG_ERROR, file, p->line_extends, p->column_extends,
                                        "extends: base profile '%s' is invalid (%s)", *b, strna(be->path));
                        failed = true;
                        continue;
                }

                k = resolve_layered(r, be, &bl);
                if (k == -ENOMEM)
                        return k;
                if (k < 0) {
                        failed = true;
                        continue;
                }

                for (size_t i = 0; i < bl->n_agents; i++) {
                        k = layer_agent(l, bl->agents[i]);
                        if (k < 0)
                                return k;
                }
                k = layer_defaults(l, bl->defaults);
                if (k < 0)
                        return k;
                /* Budgets are inherited unless the profile sets its own; a later base wins. */
                if (bl->memory_max_set) {
                        l->memory_max = bl->memory_max;
                        l->memory_max_set = true;
                }
                if (bl->cpu_quota_set) {
                        l->cpu_quota = bl->cpu_quota;
                        l->cpu_quota_set = true;
                }
                if (!l->description && bl->description && !(l->description = strdup(bl->description)))
                        return -ENOMEM;
        }
        return failed ? -EBADMSG : 0;
}

static int apply_selection(Resolver *r, const Profile *p, Profile *l) {
        const char *file = p->path ?: p->name;
        _cleanup_free_ const char **inherited = NULL;
        bool failed = false;
        size_t n = 0;

        if (!p->include && !p->exclude)
                return 0;

        inherited = calloc(l->n_agents + 1, sizeof(char *));
        if (!inherited)
                return -ENOMEM;
        for (size_t i = 0; i < l->n_agents; i++)
                inherited[i] = l->agents[i]->name;

        STRV_FOREACH(x, p->include ?: p->exclude)
                if (!profile_find_agent(l, *x)) {
                        report_unknown(r->diag, file, p->line_select, p->column_select,
                                       p->include ? "include: no inherited agent" : "exclude: no inherited agent", *x,
                                       inherited);
                        failed = true;
                }
        if (failed)
                return -EBADMSG;

        for (size_t i = 0; i < l->n_agents; i++) {
                bool keep = p->include ? strv_contains(p->include, l->agents[i]->name)
                                       : !strv_contains(p->exclude, l->agents[i]->name);

                if (keep)
                        l->agents[n++] = l->agents[i];
                else
                        agent_free(l->agents[i]);
        }
        l->n_agents = n;
        return 0;
}

static int resolve_layered(Resolver *r, const ProfileEntry *e, Profile **ret) {
        _cleanup_(profile_freep) Profile *l = NULL;
        const Profile *p = e->profile;
        size_t idx = (size_t) (e - r->set->entries);
        const char *file = p->path ?: p->name;
        bool failed = false;
        int k;

        if (r->layered[idx]) {
                *ret = r->layered[idx];
                return 0;
        }
        if (r->state[idx] == STATE_FAILED)
                /* Reported already; a diamond of broken bases must not cost (or print) twice. */
                return -EBADMSG;
        if (r->state[idx] == STATE_IN_PROGRESS) {
                _cleanup_free_ char *cycle = NULL;
                const Profile *top = r->stack[r->depth - 1]->profile;
                size_t start = 0;
                char **parts = NULL;

                for (size_t i = 0; i < r->depth; i++)
                        if (r->stack[i] == e)
                                start = i;
                for (size_t i = start; i < r->depth; i++)
                        if (strv_extend(&parts, r->stack[i]->name) < 0) {
                                strv_free(parts);
                                return -ENOMEM;
                        }
                if (strv_extend(&parts, e->name) < 0) {
                        strv_free(parts);
                        return -ENOMEM;
                }
                cycle = strv_join(parts, " -> ");
                strv_free(parts);
                (void) diag_add(r->diag, DIAG_ERROR, top->path ?: top->name, top->line_extends, top->column_extends,
                                "extends: cycle %s", strna(cycle));
                return -ELOOP;
        }
        if (r->depth >= EXTENDS_DEPTH_MAX) {
                (void) diag_add(r->diag, DIAG_ERROR, file, p->line_extends, p->column_extends,
                                "extends: chain too long (more than %u profiles)", EXTENDS_DEPTH_MAX);
                return -ELOOP;
        }

        k = profile_copy_meta(p, &l);
        if (k < 0)
                return k;
        /* The budget set by this profile wins over the bases'; remember it before bases overwrite. */
        l->memory_max = LIMIT_UNSET;
        l->cpu_quota = 0;
        l->memory_max_set = l->cpu_quota_set = false;

        r->state[idx] = STATE_IN_PROGRESS;
        r->stack[r->depth++] = e;
        k = apply_bases(r, p, l);
        r->depth--;
        r->state[idx] = 0;
        if (k == -ENOMEM)
                return k;
        if (k < 0)
                failed = true;

        if (!failed) {
                k = apply_selection(r, p, l);
                if (k == -ENOMEM)
                        return k;
                if (k < 0)
                        failed = true;
        }

        for (size_t i = 0; i < p->n_agents; i++) {
                k = layer_agent(l, p->agents[i]);
                if (k < 0)
                        return k;
        }
        k = layer_defaults(l, p->defaults);
        if (k < 0)
                return k;
        if (p->memory_max_set) {
                l->memory_max = p->memory_max;
                l->memory_max_set = true;
        }
        if (p->cpu_quota_set) {
                l->cpu_quota = p->cpu_quota;
                l->cpu_quota_set = true;
        }

        if (failed) {
                r->state[idx] = STATE_FAILED;
                return -EBADMSG;
        }
        *ret = r->layered[idx] = TAKE_PTR(l);
        return 0;
}

typedef struct NameIndex {
        const char *name;
        size_t index;
} NameIndex;

static int cmp_name_index(const void *a, const void *b) {
        return strcmp(((const NameIndex *) a)->name, ((const NameIndex *) b)->name);
}

static ssize_t index_find(const NameIndex *idx, size_t n, const char *name) {
        NameIndex key = { .name = name };
        const NameIndex *f = bsearch(&key, idx, n, sizeof(NameIndex), cmp_name_index);

        return f ? (ssize_t) f->index : -1;
}

typedef struct DepWalk {
        const Profile *p;
        const NameIndex *idx;
        unsigned char *color;   /* 0 unvisited, 1 on the stack, 2 done */
        size_t *stack;
        size_t depth;
        Diagnostics *diag;
        bool failed;
} DepWalk;

static int dep_visit(DepWalk *w, size_t i) {
        const Agent *a = w->p->agents[i];

        w->color[i] = 1;
        w->stack[w->depth++] = i;
        STRV_FOREACH(req, a->requires) {
                ssize_t j = index_find(w->idx, w->p->n_agents, *req);

                if (j < 0)
                        continue; /* reported separately */
                if (w->color[j] == 1) {
                        _cleanup_strv_free_ char **parts = NULL;
                        _cleanup_free_ char *cycle = NULL;
                        size_t start = 0;
                        const Agent *first;

                        for (size_t k = 0; k < w->depth; k++)
                                if (w->stack[k] == (size_t) j)
                                        start = k;
                        for (size_t k = start; k < w->depth; k++)
                                if (strv_extend(&parts, w->p->agents[w->stack[k]]->name) < 0)
                                        return -ENOMEM;
                        if (strv_extend(&parts, w->p->agents[j]->name) < 0)
                                return -ENOMEM;
                        cycle = strv_join(parts, " -> ");
                        if (!cycle)
                                return -ENOMEM;
                        first = w->p->agents[j];
                        (void) diag_add(w->diag, DIAG_ERROR, first->source_file, first->source_line,
                                        first->source_column, "dependency cycle: %s", cycle);
                        w->failed = true;
                        continue;
                }
                if (w->color[j] == 0) {
                        int k = dep_visit(w, (size_t) j);

                        if (k < 0)
                                return k;
                }
        }
        w->depth--;
        w->color[i] = 2;
        return 0;
}

/* Checks that need the whole flattened profile. */
static int check_resolved(const Profile *p, Diagnostics *diag) {
        _cleanup_free_ NameIndex *idx = NULL;
        _cleanup_free_ unsigned char *color = NULL;
        _cleanup_free_ size_t *stack = NULL;
        _cleanup_free_ const char **names = NULL;
        uint64_t sum = 0;
        bool failed = false;
        int k;

        if (p->n_agents == 0) {
                (void) diag_add(diag, DIAG_ERROR, p->path, 0, 0, "profile '%s' has no agents", p->name);
                return -EBADMSG;
        }
        if (p->n_agents > AGENTS_MAX) {
                (void) diag_add(diag, DIAG_ERROR, p->path, 0, 0, "profile '%s' has too many agents (%zu, at most %u)",
                                p->name, p->n_agents, AGENTS_MAX);
                return -EBADMSG;
        }

        idx = calloc(p->n_agents, sizeof(NameIndex));
        names = calloc(p->n_agents + 1, sizeof(char *));
        color = calloc(p->n_agents, 1);
        stack = calloc(p->n_agents, sizeof(size_t));
        if (!idx || !names || !color || !stack)
                return -ENOMEM;
        for (size_t i = 0; i < p->n_agents; i++) {
                idx[i] = (NameIndex) { p->agents[i]->name, i };
                names[i] = p->agents[i]->name;
        }
        qsort(idx, p->n_agents, sizeof(NameIndex), cmp_name_index);

        for (size_t i = 0; i < p->n_agents; i++) {
                const Agent *a = p->agents[i];
                const char *f = a->source_file;
                unsigned line = a->source_line, col = a->source_column;
                char x[FORMAT_BYTES_MAX], y[FORMAT_BYTES_MAX];

                if (strv_length(a->exec) == 0) {
                        (void) diag_add(diag, DIAG_ERROR, f, line, col, "agent '%s' has no exec", a->name);
                        failed = true;
                }
                STRV_FOREACH(req, a->requires)
                        if (index_find(idx, p->n_agents, *req) < 0) {
                                if (strv_contains(p->exclude, *req))
                                        (void) diag_add(diag, DIAG_ERROR, f, line, col,
                                                        "agent '%s' requires '%s', which this profile excludes", a->name,
                                                        *req);
                                else
                                        report_unknown(diag, f, line, col, "requires: unknown agent", *req, names);
                                failed = true;
                        }
                if (a->watchdog > 0 && !a->notify) {
                        (void) diag_add(diag, DIAG_ERROR, f, line, col,
                                        "agent '%s': watchdog needs notify: true (the agent pings it with sd_notify)",
                                        a->name);
                        failed = true;
                }
                if (a->memory_high != LIMIT_UNSET && a->memory_max != LIMIT_UNSET && a->memory_high > a->memory_max) {
                        (void) diag_add(diag, DIAG_ERROR, f, line, col, "agent '%s': memory_high (%s) exceeds memory_max (%s)",
                                        a->name, format_bytes(x, sizeof(x), a->memory_high),
                                        format_bytes(y, sizeof(y), a->memory_max));
                        failed = true;
                }
                if (a->restart.steps > 0 && a->restart.max_delay > 0 && a->restart.max_delay < a->restart.delay) {
                        (void) diag_add(diag, DIAG_ERROR, f, line, col,
                                        "agent '%s': restart.max_delay is shorter than restart.delay", a->name);
                        failed = true;
                }
                if (a->breaker.max_cooldown < a->breaker.cooldown) {
                        (void) diag_add(diag, DIAG_ERROR, f, line, col,
                                        "agent '%s': breaker.max_cooldown is shorter than breaker.cooldown", a->name);
                        failed = true;
                }
                if (a->lazy_listen)
                        for (size_t j = 0; j < i; j++)
                                if (streq_ptr(p->agents[j]->lazy_listen, a->lazy_listen)) {
                                        (void) diag_add(diag, DIAG_ERROR, f, line, col,
                                                        "agent '%s': lazy socket %s is already used by agent '%s'",
                                                        a->name, a->lazy_listen, p->agents[j]->name);
                                        failed = true;
                                        break;
                                }
                if (a->memory_max != LIMIT_UNSET)
                        sum = sum > UINT64_MAX - a->memory_max ? UINT64_MAX - 1 : sum + a->memory_max;
        }

        DepWalk w = {
                .p = p,
                .idx = idx,
                .color = color,
                .stack = stack,
                .diag = diag,
        };
        for (size_t i = 0; i < p->n_agents; i++)
                if (color[i] == 0) {
                        k = dep_visit(&w, i);
                        if (k < 0)
                                return k;
                }
        if (w.failed)
                failed = true;

        if (p->memory_max != LIMIT_UNSET && sum > p->memory_max) {
                char x[FORMAT_BYTES_MAX], y[FORMAT_BYTES_MAX];

                (void) diag_add(diag, DIAG_WARNING, p->path, p->line_resources, p->column_resources,
                                "the agents' memory_max add up to %s, more than the profile's memory_max %s",
                                format_bytes(x, sizeof(x), sum), format_bytes(y, sizeof(y), p->memory_max));
        }

        return failed ? -EBADMSG : 0;
}

/* The flat profile: built-in defaults, then the merged `defaults:`, then each agent's own settings. */
static int finalize(const Profile *l, Profile **ret) {
        _cleanup_(profile_freep) Profile *f = NULL;
        int k;

        k = profile_copy_meta(l, &f);
        if (k < 0)
                return k;
        if (l->defaults) {
                k = agent_copy(l->defaults, &f->defaults);
                if (k < 0)
                        return k;
        }
        for (size_t i = 0; i < l->n_agents; i++) {
                _cleanup_(agent_freep) Agent *a = NULL;
                Agent *src = l->agents[i];

                /* Built-in defaults first, keeping identity and position. */
                a = agent_new();
                if (!a)
                        return -ENOMEM;
                a->name = strdup(src->name);
                a->source_file = src->source_file ? strdup(src->source_file) : NULL;
                if (!a->name || (src->source_file && !a->source_file))
                        return -ENOMEM;
                a->source_line = src->source_line;
                a->source_column = src->source_column;

                if (l->defaults) {
                        k = agent_merge(a, l->defaults);
                        if (k < 0)
                                return k;
                }
                k = agent_merge(a, src);
                if (k < 0)
                        return k;
                k = profile_add_agent(f, a);
                if (k < 0)
                        return k;
                TAKE_PTR(a);
        }
        *ret = TAKE_PTR(f);
        return 0;
}

int profile_set_resolve(const ProfileSet *s, const char *name, Diagnostics *diag, Profile **ret) {
        _cleanup_(profile_freep) Profile *f = NULL;
        const ProfileEntry *e;
        Profile *l;
        Resolver r = {
                .set = s,
                .diag = diag,
        };
        int k;

        if (!s || !name)
                return -EINVAL;
        e = set_find(s, name);
        if (!e) {
                _cleanup_free_ const char **names = set_names(s);

                if (!names)
                        return -ENOMEM;
                report_unknown(diag, name, 0, 0, "unknown profile", name, names);
                return -ENOENT;
        }
        if (!e->profile)
                return -EBADMSG;

        r.layered = calloc(s->n_entries, sizeof(Profile *));
        r.state = calloc(s->n_entries, 1);
        if (!r.layered || !r.state) {
                free(r.layered);
                free(r.state);
                return -ENOMEM;
        }

        k = resolve_layered(&r, e, &l);
        if (k >= 0)
                k = finalize(l, &f);
        if (k >= 0)
                k = check_resolved(f, diag);

        for (size_t i = 0; i < s->n_entries; i++)
                profile_free(r.layered[i]);
        free(r.layered);
        free(r.state);
        if (k < 0)
                return k;

        *ret = TAKE_PTR(f);
        return 0;
}
