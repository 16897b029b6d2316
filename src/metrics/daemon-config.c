/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Parsing of unified.conf and its drop-ins. */

#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon-config.h"
#include "socket-util.h"
#include "string-util.h"
#include "strv.h"

#define CONFIG_FILE_MAX (1024U * 1024U)

int daemon_config_init(DaemonConfig *c) {
        assert(c);

        *c = (DaemonConfig) {};
        c->metrics_listen_address = strdup(METRICS_LISTEN_ADDRESS_DEFAULT);
        if (!c->metrics_listen_address)
                return -ENOMEM;
        return 0;
}

void daemon_config_done(DaemonConfig *c) {
        assert(c);

        c->metrics_listen_address = mfree(c->metrics_listen_address);
        c->metrics_textfile_path = mfree(c->metrics_textfile_path);
}

static char *strip(char *s) {
        char *e;

        s += strspn(s, " \t");
        e = s + strlen(s);
        while (e > s && strchr(" \t\r", e[-1]))
                e--;
        *e = 0;
        return s;
}

static int parse_listen_address(DaemonConfig *c, const char *value, const char *path, unsigned line,
                                Diagnostics *diag) {
        struct sockaddr_storage ss;

        if (isempty(value))
                return free_and_strdup(&c->metrics_listen_address, METRICS_LISTEN_ADDRESS_DEFAULT);
        if (streq(value, "none"))
                return free_and_strdup(&c->metrics_listen_address, NULL);
        if (socket_address_parse(value, &ss, NULL) < 0) {
                (void) diag_add(diag, DIAG_ERROR, path, line, 0,
                                "Invalid ListenAddress=%s: expected \"none\", ADDRESS:PORT ([IPv6]:PORT) or PORT",
                                value);
                return -EBADMSG;
        }
        return free_and_strdup(&c->metrics_listen_address, value);
}

static int parse_textfile_path(DaemonConfig *c, const char *value, const char *path, unsigned line,
                               Diagnostics *diag) {
        size_t l;

        if (isempty(value))
                return free_and_strdup(&c->metrics_textfile_path, NULL);
        l = strlen(value);
        if (value[0] != '/' || l < 6 || !streq(value + l - 5, ".prom")) {
                (void) diag_add(diag, DIAG_ERROR, path, line, 0,
                                "Invalid TextfilePath=%s: expected an absolute path ending in \".prom\"", value);
                return -EBADMSG;
        }
        return free_and_strdup(&c->metrics_textfile_path, value);
}

int daemon_config_parse_string(DaemonConfig *c, const char *text, const char *path, Diagnostics *diag) {
        _cleanup_free_ char *copy = NULL, *section = NULL;
        bool failed = false;
        unsigned line = 0;
        char *p, *next;
        int r;

        assert(c);
        assert(text);
        assert(path);
        assert(diag);

        copy = strdup(text);
        if (!copy)
                return -ENOMEM;

        for (p = copy; p; p = next) {
                char *l, *eq, *key, *value;

                next = strchr(p, '\n');
                if (next)
                        *next++ = 0;
                line++;

                l = strip(p);
                if (l[0] == 0 || l[0] == '#' || l[0] == ';')
                        continue;

                if (l[0] == '[') {
                        size_t n = strlen(l);
                        if (n < 3 || l[n - 1] != ']') {
                                (void) diag_add(diag, DIAG_ERROR, path, line, 0, "Invalid section header: %s", l);
                                failed = true;
                                section = mfree(section);
                                continue;
                        }
                        free(section);
                        section = strndup(l + 1, n - 2);
                        if (!section)
                                return -ENOMEM;
                        if (!streq(section, "Metrics"))
                                (void) diag_add(diag, DIAG_WARNING, path, line, 0,
                                                "Unknown section [%s], ignoring", section);
                        continue;
                }

                eq = strchr(l, '=');
                if (!eq) {
                        (void) diag_add(diag, DIAG_ERROR, path, line, 0, "Missing '=' in: %s", l);
                        failed = true;
                        continue;
                }
                *eq = 0;
                key = strip(l);
                value = strip(eq + 1);

                if (!section) {
                        (void) diag_add(diag, DIAG_ERROR, path, line, 0,
                                        "Assignment %s= outside of a section", key);
                        failed = true;
                        continue;
                }
                if (!streq(section, "Metrics"))
                        continue; /* already warned about the section */

                if (streq(key, "ListenAddress"))
                        r = parse_listen_address(c, value, path, line, diag);
                else if (streq(key, "TextfilePath"))
                        r = parse_textfile_path(c, value, path, line, diag);
                else {
                        static const char *const keys[] = { "ListenAddress", "TextfilePath", NULL };
                        const char *s = diag_suggest(key, keys);
                        (void) diag_add(diag, DIAG_WARNING, path, line, 0, "Unknown key %s= in [%s]%s%s%s, ignoring",
                                        key, section, s ? " (did you mean " : "", strempty(s), s ? "=?)" : "");
                        continue;
                }
                if (r == -EBADMSG)
                        failed = true;
                else if (r < 0)
                        return r;
        }

        return failed ? -EBADMSG : 0;
}

static int load_file(DaemonConfig *c, const char *path, Diagnostics *diag) {
        _cleanup_free_ char *text = NULL;
        FILE *f;
        size_t n;

        f = fopen(path, "re");
        if (!f)
                return errno == ENOENT ? 0 : -errno;
        text = malloc(CONFIG_FILE_MAX + 1);
        if (!text) {
                fclose(f);
                return -ENOMEM;
        }
        n = fread(text, 1, CONFIG_FILE_MAX + 1, f);
        if (ferror(f)) {
                fclose(f);
                return -EIO;
        }
        fclose(f);
        if (n > CONFIG_FILE_MAX)
                return -EFBIG;
        text[n] = 0;
        if (strlen(text) != n) {
                (void) diag_add(diag, DIAG_ERROR, path, 0, 0, "File contains a NUL byte");
                return -EBADMSG;
        }
        return daemon_config_parse_string(c, text, path, diag);
}

static int dropin_filter(const struct dirent *de) {
        size_t l = strlen(de->d_name);
        return de->d_name[0] != '.' && l > 5 && streq(de->d_name + l - 5, ".conf");
}

int daemon_config_load(DaemonConfig *c, const char *path, Diagnostics *diag) {
        _cleanup_free_ char *dir = NULL;
        struct dirent **entries = NULL;
        bool failed = false;
        int n, r = 0;

        assert(c);
        assert(path);
        assert(diag);

        r = load_file(c, path, diag);
        if (r == -EBADMSG)
                failed = true;
        else if (r < 0)
                return r;

        if (asprintf(&dir, "%s.d", path) < 0)
                return -ENOMEM;
        n = scandir(dir, &entries, dropin_filter, alphasort);
        if (n < 0)
                return errno == ENOENT ? (failed ? -EBADMSG : 0) : -errno;

        r = 0;
        for (int i = 0; i < n; i++) {
                _cleanup_free_ char *p = NULL;

                if (r >= 0 || r == -EBADMSG) {
                        if (asprintf(&p, "%s/%s", dir, entries[i]->d_name) < 0)
                                r = -ENOMEM;
                        else {
                                r = load_file(c, p, diag);
                                if (r == -EBADMSG)
                                        failed = true;
                        }
                }
                free(entries[i]);
        }
        free(entries);

        if (r < 0 && r != -EBADMSG)
                return r;
        return failed ? -EBADMSG : 0;
}
