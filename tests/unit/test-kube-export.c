/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Tests for the Kubernetes export: the manifests of two shipped profiles (core, and tutoring, which
 * extends it) and of a test profile with the keys those leave alone (kube/profiles/sandbox.yaml)
 * against golden files in $UNIFIED_TEST_DATA/kube, in YAML and JSON, the one warning per dropped key,
 * names that cannot be Kubernetes names, and unifiedctl's handling of bad arguments. Regenerate a
 * golden file after an intended change with
 *   UNIFIED_ROOT=/nonexistent unifiedctl export kubernetes --cpus 4 profiles/core.yaml \
 *           >tests/unit/data/kube/core.yaml
 * (tutoring needs core beside it: a --root with both) and read the diff. */

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "profile-set.h"
#include "src/ctl/kube-export.h"
#include "strv.h"

#define IMAGE "localhost/unified-agent:latest"

static char *read_file(const char *path) {
        char *buf = NULL;
        size_t size = 0;
        FILE *in = fopen(path, "re"), *out = open_memstream(&buf, &size);
        char chunk[4096];
        size_t n;

        if (!in)
                fail_msg("cannot open %s", path);
        assert_non_null(out);
        while ((n = fread(chunk, 1, sizeof(chunk), in)) > 0)
                fwrite(chunk, 1, n, out);
        fclose(in);
        assert_int_equal(fclose(out), 0);
        return buf;
}

static char *data_path(const char *name) {
        char *p;

        assert_true(asprintf(&p, "%s/kube/%s", getenv("UNIFIED_TEST_DATA"), name) > 0);
        return p;
}

/* Resolves "name": a shipped profile (core is loaded too, for those that extend it), or one of the
 * test's own in $UNIFIED_TEST_DATA/kube/profiles. */
static Profile *load(const char *name) {
        _cleanup_(profile_set_freep) ProfileSet *s = NULL;
        _cleanup_free_ char *own = NULL;
        Diagnostics d = {};
        Profile *p = NULL;
        const char *dir = getenv("UNIFIED_PROFILES_DIR");
        const char *added;

        assert_non_null(dir);
        assert_int_equal(profile_set_new(&s), 0);
        for (const char *const *n = (const char *const[]){ "core", name, NULL }; *n; n++) {
                _cleanup_free_ char *path = NULL;

                assert_true(asprintf(&path, "%s/%s.yaml", dir, *n) > 0);
                if (access(path, F_OK) == 0)
                        assert_int_equal(profile_set_add_file(s, path, &d, &added), 0);
        }
        own = data_path("profiles/");
        own = realloc(own, strlen(own) + strlen(name) + sizeof(".yaml"));
        assert_non_null(own);
        strcat(strcat(own, name), ".yaml");
        if (access(own, F_OK) == 0)
                assert_int_equal(profile_set_add_file(s, own, &d, &added), 0);
        assert_int_equal(profile_set_resolve(s, name, &d, &p), 0);
        assert_int_equal(d.n_errors, 0);
        diagnostics_done(&d);
        return p;
}

/* Exports "p" and returns the text; the warnings joined by newlines in *ret_warnings. */
static int export(
        const Profile *p,
        const KubeExportOptions *o,
        char **ret_text,
        char **ret_warnings,
        char **ret_error) {
        _cleanup_strv_free_ char **warnings = NULL;
        char *buf = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&buf, &size);
        int r;

        assert_non_null(f);
        r = kube_export(p, o, f, &warnings, ret_error);
        assert_int_equal(fclose(f), 0);
        *ret_text = buf;
        if (ret_warnings)
                *ret_warnings = r >= 0 ? strv_join(warnings, "\n") : NULL;
        return r;
}

static void check_golden(const char *profile, bool json, const char *golden, const char *golden_warnings) {
        _cleanup_(profile_freep) Profile *p = load(profile);
        _cleanup_free_ char *text = NULL, *warnings = NULL, *error = NULL, *path = data_path(golden),
                            *expected = read_file(path);
        KubeExportOptions o = { .image = IMAGE, .n_cpus = 4, .json = json };

        assert_int_equal(export(p, &o, &text, &warnings, &error), 0);
        assert_null(error);
        assert_string_equal(text, expected);
        if (golden_warnings) {
                _cleanup_free_ char *wpath = data_path(golden_warnings), *wexpected = read_file(wpath);

                _cleanup_free_ char *w = NULL;

                /* The file ends in a newline, the list does not. */
                assert_true(asprintf(&w, "%s\n", warnings) > 0);
                assert_string_equal(w, wexpected);
        }
}

static void test_core_yaml(void **state) {
        check_golden("core", false, "core.yaml", "core.warnings");
}

static void test_core_json(void **state) {
        check_golden("core", true, "core.json", NULL);
}

/* --json=short: the same List on one line, which is the pretty one without the layout. */
static void test_core_json_compact(void **state) {
        _cleanup_(profile_freep) Profile *p = load("core");
        _cleanup_free_ char *pretty = NULL, *compact = NULL, *error = NULL;
        KubeExportOptions o = { .image = IMAGE, .n_cpus = 4, .json = true };
        size_t k = 0;
        bool in_string = false;

        assert_int_equal(export(p, &o, &pretty, NULL, &error), 0);
        o.compact = true;
        assert_int_equal(export(p, &o, &compact, NULL, &error), 0);
        assert_ptr_equal(strchr(compact, '\n'), compact + strlen(compact) - 1);     /* one line */
        /* The pretty text with the whitespace outside strings dropped. */
        for (const char *c = pretty; *c; c++) {
                if (*c == '"' && (c == pretty || c[-1] != '\\'))
                        in_string = !in_string;
                if (!in_string && (*c == ' ' || *c == '\n'))
                        continue;
                pretty[k++] = *c;
        }
        pretty[k] = '\0';
        compact[strlen(compact) - 1] = '\0';
        assert_string_equal(compact, pretty);
}

static void test_tutoring_yaml(void **state) {
        check_golden("tutoring", false, "tutoring.yaml", "tutoring.warnings");
}

static void test_sandbox_yaml(void **state) {
        check_golden("sandbox", false, "sandbox.yaml", "sandbox.warnings");
}

static void test_budget_and_namespace_options(void **state) {
        _cleanup_(profile_freep) Profile *p = load("core");
        _cleanup_free_ char *text = NULL, *error = NULL;
        KubeExportOptions o = { .image = "registry.example/agents:1", .namespace = "agents", .n_cpus = 16 };

        assert_int_equal(export(p, &o, &text, NULL, &error), 0);
        /* 50% of 16 CPUs; the namespace as given, everywhere. */
        assert_non_null(strstr(text, "    limits.cpu: \"8000m\"\n"));
        assert_non_null(strstr(text, "kind: Namespace\nmetadata:\n  name: agents\n"));
        assert_null(strstr(text, "unified-core"));
        assert_non_null(
                strstr(text, "image: registry.example/agents:1\n")
                        ?: strstr(text, "image: \"registry.example/agents:1\"\n"));
}

static void test_bad_names(void **state) {
        static const char *const bad_namespaces[] = {
                "Agents",
                "a_b",
                "-a",
                "a-",
                "",
                "a.b",
                "x123456789012345678901234567890123456789012345678901234567890123"
        };
        _cleanup_(profile_freep) Profile *p = load("core");
        KubeExportOptions o = { .image = IMAGE, .n_cpus = 1 };

        for (size_t i = 0; i < ELEMENTSOF(bad_namespaces); i++) {
                _cleanup_free_ char *text = NULL, *error = NULL;

                o.namespace = bad_namespaces[i];
                assert_int_equal(export(p, &o, &text, NULL, &error), -EINVAL);
                assert_non_null(error);
                assert_non_null(strstr(error, "namespace"));
                assert_string_equal(text, ""); /* nothing written */
        }
        o.namespace = NULL;

        /* Two agents whose names become the same DNS label. */
        {
                _cleanup_free_ char *text = NULL, *error = NULL, *saved = p->agents[1]->name;

                p->agents[1]->name = strdup("Request_Coordinator");
                assert_int_equal(export(p, &o, &text, NULL, &error), -EINVAL);
                assert_string_equal(
                        error,
                        "agents 'request-coordinator' and 'Request_Coordinator' both become "
                        "'request-coordinator' in Kubernetes");
                free(p->agents[1]->name);
                p->agents[1]->name = TAKE_PTR(saved);
        }

        o.n_cpus = 0;
        {
                _cleanup_free_ char *text = NULL, *error = NULL;
                assert_int_equal(export(p, &o, &text, NULL, &error), -EINVAL);
        }
}

static void test_kube_name(void **state) {
        static const struct {
                const char *in, *out;
        } cases[] = {
                { "event-bus", "event-bus" },
                { "LLM_Router", "llm-router" },
                { "a.b", "a-b" },
                { "x1", "x1" },
                { "1x", "1x" },
                { "-x", NULL },
                { "x_", NULL },
                { "", NULL },
                { "a b", NULL },
                { "x1234567890123456789012345678901234567890123456789012345678901",
                  "x1234567890123456789012345678901234567890123456789012345678901" },
                { "x12345678901234567890123456789012345678901234567890123456789012",
                  "x12345678901234567890123456789012345678901234567890123456789012" },
                { "x123456789012345678901234567890123456789012345678901234567890123", NULL },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *n = NULL;
                int r = kube_name(cases[i].in, &n);

                if (cases[i].out) {
                        assert_int_equal(r, 0);
                        assert_string_equal(n, cases[i].out);
                } else
                        assert_int_equal(r, -EINVAL);
        }
}

/* Runs unifiedctl with "args" (a shell word list), returns its exit status and its stderr. */
static int ctl(const char *args, char **ret_stderr) {
        _cleanup_free_ char *cmd = NULL;
        char path[] = "/tmp/test-kube-export.XXXXXX";
        int fd = mkstemp(path), status;

        assert_true(fd >= 0);
        close(fd);
        assert_true(
                asprintf(
                        &cmd,
                        "UNIFIED_ROOT=/nonexistent %s %s >/dev/null 2>%s",
                        getenv("UNIFIEDCTL"),
                        args,
                        path) > 0);
        status = system(cmd);
        *ret_stderr = read_file(path);
        unlink(path);
        assert_true(WIFEXITED(status));
        return WEXITSTATUS(status);
}

static void test_command_line(void **state) {
        static const struct {
                const char *args;
                int status;
                const char *message;
        } cases[] = {
                { "export", 2, "'export' takes a format: kubernetes." },
                { "export helm core", 2, "Unknown export format 'helm'" },
                { "export kubernetes", 2, "'export kubernetes' takes a profile name or file." },
                { "export kubernetes a b", 2, "'export kubernetes' takes a profile name or file." },
                { "export kubernetes core --cpus 0", 2, "Invalid --cpus '0'" },
                { "export kubernetes core --cpus 4097", 2, "Invalid --cpus '4097'" },
                { "export kubernetes core --cpus x", 2, "Invalid --cpus 'x'" },
                { "export kubernetes core --image ''", 2, "--image needs an image name." },
                { "export kubernetes core --image 'a b'", 2, "Invalid --image 'a b'" },
                { "export kubernetes core --output ''", 2, "--output needs a file name." },
                { "export kubernetes core --bogus", 2, "Unknown option '--bogus' for export." },
                { "export kubernetes core --image", 2, "Option '--image' needs a value." },
                { "export kubernetes nosuchprofile",
                  4,
                  "No profile named 'nosuchprofile' on the search path." },
                /* As `show`: the parser reports the missing file as a diagnostic. */
                { "export kubernetes ./nosuchfile.yaml",
                  65,
                  "./nosuchfile.yaml: error: cannot read profile" },
                { "export kubernetes $UNIFIED_PROFILES_DIR/core.yaml --namespace Core",
                  65,
                  "namespace 'Core' is not a DNS label" },
                { "export kubernetes $UNIFIED_PROFILES_DIR/core.yaml --output /nonexistent/dir/x.yaml",
                  1,
                  "Failed to create /nonexistent/dir/x.yaml." },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *err = NULL;
                int status = ctl(cases[i].args, &err);

                if (status != cases[i].status || !strstr(err, cases[i].message))
                        fail_msg(
                                "unifiedctl %s: exit %d (expected %d), stderr: %s",
                                cases[i].args,
                                status,
                                cases[i].status,
                                err);
        }
}

static void test_command_line_output(void **state) {
        _cleanup_free_ char *err = NULL, *cmd = NULL, *out = NULL, *expected = NULL,
                            *golden = data_path("core.yaml");
        char dir[] = "/tmp/test-kube-export-out.XXXXXX";

        assert_non_null(mkdtemp(dir));
        assert_true(
                asprintf(
                        &cmd,
                        "export kubernetes $UNIFIED_PROFILES_DIR/core.yaml --cpus=4 --output=%s/m.yaml",
                        dir) > 0);
        assert_int_equal(ctl(cmd, &err), 0);
        free(cmd);
        assert_true(asprintf(&cmd, "%s/m.yaml", dir) > 0);
        out = read_file(cmd);
        expected = read_file(golden);
        assert_string_equal(out, expected);
        /* One line per dropped key, each naming the profile. */
        assert_non_null(strstr(err, "core: breaker.cooldown (16 agents): no Kubernetes equivalent"));
        unlink(cmd);
        rmdir(dir);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_core_yaml),
                cmocka_unit_test(test_core_json),
                cmocka_unit_test(test_core_json_compact),
                cmocka_unit_test(test_tutoring_yaml),
                cmocka_unit_test(test_sandbox_yaml),
                cmocka_unit_test(test_budget_and_namespace_options),
                cmocka_unit_test(test_bad_names),
                cmocka_unit_test(test_kube_name),
                cmocka_unit_test(test_command_line),
                cmocka_unit_test(test_command_line_output),
        };

        cmocka_set_message_output(CM_OUTPUT_TAP);
        return cmocka_run_group_tests(tests, NULL, NULL);
}
