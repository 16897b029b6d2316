/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Tests for `unifiedctl dot`: the digraph of a resolved profile, with and without agent states,
 * compared whole against the expected text. */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "profile-set.h"
#include "src/ctl/ctl-dot.h"

/* Both bases' agents, an essential one, a lazy one, requires across the extends, and a description
 * that needs quoting. */
static const char base_yaml[] =
        "agents:\n"
        "  - {name: bus, exec: [/bin/true], essential: true}\n"
        "  - {name: store, exec: [/bin/true], requires: [bus]}\n";
static const char top_yaml[] =
        "description: 'Top \"quoted\" \\ profile'\n"
        "extends: base\n"
        "agents:\n"
        "  - {name: api, exec: [/bin/true], essential: true, requires: [bus, store]}\n"
        "  - {name: formatter, exec: [/bin/true], lazy: {listen: /run/formatter.sock}, requires: [api]}\n";

static Profile *resolve_top(void) {
        _cleanup_(profile_set_freep) ProfileSet *s = NULL;
        Diagnostics d = {};
        Profile *p = NULL;

        assert_int_equal(profile_set_new(&s), 0);
        assert_int_equal(profile_parse_string(base_yaml, strlen(base_yaml), "base.yaml", "base", &d, &p), 0);
        assert_int_equal(profile_set_add(s, p), 0);
        assert_int_equal(profile_parse_string(top_yaml, strlen(top_yaml), "top.yaml", "top", &d, &p), 0);
        assert_int_equal(profile_set_add(s, p), 0);
        p = NULL;
        if (profile_set_resolve(s, "top", &d, &p) < 0 || d.n_errors > 0) {
                diagnostics_print(&d, stderr);
                fail_msg("the test profile does not resolve");
        }
        diagnostics_done(&d);
        return p;
}

static char *dot_text(const Profile *p, const DotAgentState *states, size_t n) {
        char *buf = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&buf, &size);

        assert_non_null(f);
        assert_int_equal(dot_write_profile(f, p, states, n), 0);
        assert_int_equal(fclose(f), 0);
        return buf;
}

static void test_definition(void **state) {
        _cleanup_(profile_freep) Profile *p = resolve_top();
        char *s = dot_text(p, NULL, 0);

        assert_string_equal(s,
                "// unifiedctl dot top: agents, and A -> B where A requires B.\n"
                "// Bold with a double border: essential; dashed: lazy (socket-activated).\n"
                "digraph \"top\" {\n"
                "        rankdir=LR;\n"
                "        node [shape=box, style=rounded, fontname=\"sans-serif\", fontsize=11];\n"
                "        edge [color=gray40];\n"
                "        label=\"Top \\\"quoted\\\" \\\\ profile\"; labelloc=t; fontname=\"sans-serif\";\n"
                "\n"
                "        \"bus\" [style=\"rounded,bold\", peripheries=2];\n"
                "        \"store\" [style=\"rounded\"];\n"
                "        \"api\" [style=\"rounded,bold\", peripheries=2];\n"
                "        \"formatter\" [style=\"rounded,dashed\"];\n"
                "        \"store\" -> \"bus\";\n"
                "        \"api\" -> \"bus\";\n"
                "        \"api\" -> \"store\";\n"
                "        \"formatter\" -> \"api\";\n"
                "}\n");
        free(s);
}

static void test_with_states(void **state) {
        _cleanup_(profile_freep) Profile *p = resolve_top();
        /* "formatter" is not listed (a lazy agent nobody has connected to yet, say). */
        const DotAgentState states[] = {
                { "api", "active", "closed" },
                { "bus", "activating", "half-open" },
                { "store", "failed", "open" },
                { "gone", "active", "closed" },
        };
        char *s = dot_text(p, states, sizeof(states) / sizeof(states[0]));

        assert_string_equal(s,
                "// unifiedctl dot top: agents, and A -> B where A requires B.\n"
                "// Bold with a double border: essential; dashed: lazy (socket-activated);\n"
                "// fill: the unit's state (green active, yellow changing, red failed, grey inactive),\n"
                "// border: the breaker (red open, orange half-open).\n"
                "digraph \"top\" {\n"
                "        rankdir=LR;\n"
                "        node [shape=box, style=rounded, fontname=\"sans-serif\", fontsize=11];\n"
                "        edge [color=gray40];\n"
                "        label=\"Top \\\"quoted\\\" \\\\ profile\"; labelloc=t; fontname=\"sans-serif\";\n"
                "\n"
                "        \"bus\" [label=\"bus\\nactivating, breaker half-open\", style=\"rounded,bold,filled\", "
                "peripheries=2, fillcolor=khaki, color=orange, penwidth=2];\n"
                "        \"store\" [label=\"store\\nfailed, breaker open\", style=\"rounded,filled\", "
                "fillcolor=salmon, color=red, penwidth=2];\n"
                "        \"api\" [label=\"api\\nactive\", style=\"rounded,bold,filled\", peripheries=2, "
                "fillcolor=palegreen];\n"
                "        \"formatter\" [label=\"formatter\\nnot listed\", style=\"rounded,dashed,filled\", "
                "fillcolor=white];\n"
                "        \"store\" -> \"bus\";\n"
                "        \"api\" -> \"bus\";\n"
                "        \"api\" -> \"store\";\n"
                "        \"formatter\" -> \"api\";\n"
                "}\n");
        free(s);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_definition),
                cmocka_unit_test(test_with_states),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
