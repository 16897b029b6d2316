/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Tests of unified.conf parsing: values, defaults, diagnostics with file:line, drop-ins. */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "daemon-config.h"

static void test_defaults(void **state) {
        DaemonConfig c;

        assert_int_equal(daemon_config_init(&c), 0);
        assert_string_equal(c.metrics_listen_address, "127.0.0.1:9000");
        assert_null(c.metrics_textfile_path);
        daemon_config_done(&c);
        assert_null(c.metrics_listen_address);
}

static void test_parse(void **state) {
        static const struct {
                const char *text;
                int r;
                const char *listen;     /* NULL: disabled */
                const char *textfile;
                size_t n_errors, n_warnings;
                unsigned first_line;    /* of the first diagnostic */
                const char *message;    /* a substring of the first diagnostic */
        } table[] = {
                { "", 0, "127.0.0.1:9000", NULL, 0, 0, 0, NULL },
                { "# comment\n; comment\n\n[Metrics]\nListenAddress = [::1]:9100 \n", 0, "[::1]:9100", NULL, 0, 0, 0, NULL },
                { "[Metrics]\nListenAddress=none\n", 0, NULL, NULL, 0, 0, 0, NULL },
                { "[Metrics]\nListenAddress=none\nListenAddress=\n", 0, "127.0.0.1:9000", NULL, 0, 0, 0, NULL },
                { "[Metrics]\nTextfilePath=/var/lib/node_exporter/unified.prom\n", 0, "127.0.0.1:9000",
                  "/var/lib/node_exporter/unified.prom", 0, 0, 0, NULL },
                { "[Metrics]\nListenAddress=localhost:9000\n", -EBADMSG, "127.0.0.1:9000", NULL, 1, 0, 2, "Invalid ListenAddress=localhost:9000" },
                { "[Metrics]\n\nTextfilePath=unified.prom\n", -EBADMSG, "127.0.0.1:9000", NULL, 1, 0, 3, "absolute path" },
                { "[Metrics]\nTextfilePath=/x/unified.txt\n", -EBADMSG, "127.0.0.1:9000", NULL, 1, 0, 2, "ending in \".prom\"" },
                { "ListenAddress=9100\n", -EBADMSG, "127.0.0.1:9000", NULL, 1, 0, 1, "outside of a section" },
                { "[Metrics]\nListenAddress\n", -EBADMSG, "127.0.0.1:9000", NULL, 1, 0, 2, "Missing '='" },
                { "[Metrics\n", -EBADMSG, "127.0.0.1:9000", NULL, 1, 0, 1, "Invalid section header" },
                { "[Metrics]\nListenAdress=9100\n", 0, "127.0.0.1:9000", NULL, 0, 1, 2, "did you mean ListenAddress=" },
                { "[Other]\nFoo=bar\n[Metrics]\nListenAddress=9100\n", 0, "9100", NULL, 0, 1, 1, "Unknown section [Other]" },
                /* One bad line does not lose the good ones. */
                { "[Metrics]\nListenAddress=bogus\nTextfilePath=/a.prom\n", -EBADMSG, "127.0.0.1:9000", "/a.prom", 1, 0, 2, "bogus" },
        };

        for (size_t i = 0; i < ELEMENTSOF(table); i++) {
                _cleanup_(diagnostics_done) Diagnostics diag = {};
                DaemonConfig c;

                assert_int_equal(daemon_config_init(&c), 0);
                assert_int_equal(daemon_config_parse_string(&c, table[i].text, "/etc/unified/unified.conf", &diag),
                                 table[i].r);
                if (table[i].listen)
                        assert_string_equal(c.metrics_listen_address, table[i].listen);
                else
                        assert_null(c.metrics_listen_address);
                if (table[i].textfile)
                        assert_string_equal(c.metrics_textfile_path, table[i].textfile);
                else
                        assert_null(c.metrics_textfile_path);
                assert_int_equal(diag.n_errors, table[i].n_errors);
                assert_int_equal(diag.n_warnings, table[i].n_warnings);
                if (table[i].message) {
                        assert_string_equal(diag.items[0].file, "/etc/unified/unified.conf");
                        assert_int_equal(diag.items[0].line, table[i].first_line);
                        if (!strstr(diag.items[0].message, table[i].message))
                                fail_msg("case %zu: \"%s\" lacks \"%s\"", i, diag.items[0].message, table[i].message);
                }
                daemon_config_done(&c);
        }
}

static void write_file(const char *path, const char *text) {
        FILE *f = fopen(path, "we");

        assert_non_null(f);
        fputs(text, f);
        assert_int_equal(fclose(f), 0);
}

static void test_load_dropins(void **state) {
        char dir[] = "/tmp/test-daemon-config-XXXXXX";
        _cleanup_free_ char *conf = NULL, *dropins = NULL, *p = NULL, *cmd = NULL;
        _cleanup_(diagnostics_done) Diagnostics diag = {};
        DaemonConfig c;

        assert_non_null(mkdtemp(dir));
        assert_true(asprintf(&conf, "%s/unified.conf", dir) >= 0);
        assert_true(asprintf(&dropins, "%s/unified.conf.d", dir) >= 0);

        /* Nothing at all: the defaults. */
        assert_int_equal(daemon_config_init(&c), 0);
        assert_int_equal(daemon_config_load(&c, conf, &diag), 0);
        assert_string_equal(c.metrics_listen_address, "127.0.0.1:9000");

        write_file(conf, "[Metrics]\nListenAddress=127.0.0.1:9001\nTextfilePath=/a.prom\n");
        assert_int_equal(mkdir(dropins, 0755), 0);
        free(p);
        assert_true(asprintf(&p, "%s/20-later.conf", dropins) >= 0);
        write_file(p, "[Metrics]\nListenAddress=127.0.0.1:9003\n");
        free(p);
        assert_true(asprintf(&p, "%s/10-earlier.conf", dropins) >= 0);
        write_file(p, "[Metrics]\nListenAddress=127.0.0.1:9002\nTextfilePath=\n");
        free(p);
        assert_true(asprintf(&p, "%s/30-ignored.conf.disabled", dropins) >= 0);
        write_file(p, "[Metrics]\nListenAddress=none\n");

        assert_int_equal(daemon_config_load(&c, conf, &diag), 0);
        assert_string_equal(c.metrics_listen_address, "127.0.0.1:9003");
        assert_null(c.metrics_textfile_path);
        assert_int_equal(diag.n_errors + diag.n_warnings, 0);

        /* An error in a drop-in names the drop-in and its line; the other files still apply. */
        free(p);
        assert_true(asprintf(&p, "%s/15-bad.conf", dropins) >= 0);
        write_file(p, "[Metrics]\n# two\nListenAddress=nowhere\n");
        assert_int_equal(daemon_config_load(&c, conf, &diag), -EBADMSG);
        assert_int_equal(diag.n_errors, 1);
        assert_string_equal(diag.items[0].file, p);
        assert_int_equal(diag.items[0].line, 3);
        assert_string_equal(c.metrics_listen_address, "127.0.0.1:9003");

        daemon_config_done(&c);
        assert_true(asprintf(&cmd, "rm -rf '%s'", dir) >= 0);
        assert_int_equal(system(cmd), 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_defaults),
                cmocka_unit_test(test_parse),
                cmocka_unit_test(test_load_dropins),
        };

        cmocka_set_message_output(CM_OUTPUT_TAP);
        return cmocka_run_group_tests(tests, NULL, NULL);
}
