/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* unifiedctl dot (see ctl-dot.h). */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ctl-dot.h"
#include "macro.h"
#include "strv.h"

/* A double-quoted graphviz ID: only '"' and '\' need escaping; newlines become \n (centered). */
static void put_quoted(FILE *f, const char *s) {
        fputc('"', f);
        for (; s && *s; s++)
                if (*s == '"' || *s == '\\')
                        fprintf(f, "\\%c", *s);
                else if (*s == '\n')
                        fputs("\\n", f);
                else
                        fputc(*s, f);
        fputc('"', f);
}

/* systemd's ActiveState to a fill color: green up, yellow on the way, red failed, grey down. */
static const char *state_color(const char *state) {
        if (!state)
                return "white";
        if (streq(state, "active"))
                return "palegreen";
        if (streq(state, "activating") || streq(state, "deactivating") || streq(state, "reloading"))
                return "khaki";
        if (streq(state, "failed"))
                return "salmon";
        return "gray90";
}

static const DotAgentState *find_state(const DotAgentState *states, size_t n, const char *name) {
        for (size_t i = 0; i < n; i++)
                if (streq_ptr(states[i].name, name))
                        return states + i;
        return NULL;
}

int dot_write_profile(FILE *f, const Profile *p, const DotAgentState *states, size_t n_states) {
        fprintf(f, "// unifiedctl dot %s: agents, and A -> B where A requires B.\n", p->name);
        fputs("// Bold with a double border: essential; dashed: lazy (socket-activated)", f);
        if (states)
                fputs(";\n// fill: the unit's state (green active, yellow changing, red failed, grey inactive),\n"
                      "// border: the breaker (red open, orange half-open)", f);
        fputs(".\ndigraph ", f);
        put_quoted(f, p->name);
        fputs(" {\n", f);
        fputs("        rankdir=LR;\n", f);
        fputs("        node [shape=box, style=rounded, fontname=\"sans-serif\", fontsize=11];\n", f);
        fputs("        edge [color=gray40];\n", f);
        fputs("        label=", f);
        put_quoted(f, p->description ?: p->name);
        fputs("; labelloc=t; fontname=\"sans-serif\";\n\n", f);

        for (size_t i = 0; i < p->n_agents; i++) {
                const Agent *a = p->agents[i];
                const DotAgentState *st = states ? find_state(states, n_states, a->name) : NULL;
                _cleanup_free_ char *label = NULL;
                const char *style;

                if (a->lazy_listen && a->essential)
                        style = "rounded,dashed,bold";
                else if (a->lazy_listen)
                        style = "rounded,dashed";
                else if (a->essential)
                        style = "rounded,bold";
                else
                        style = "rounded";

                int k = 0;
                if (st)
                        k = asprintf(&label, "%s\n%s%s%s", a->name, strna(st->active_state),
                                     streq_ptr(st->breaker, "closed") ? "" : ", breaker ",
                                     streq_ptr(st->breaker, "closed") ? "" : strna(st->breaker));
                else if (states)
                        k = asprintf(&label, "%s\nnot listed", a->name);
                if (k < 0) {
                        label = NULL; /* undefined after a failure */
                        return -ENOMEM;
                }

                fputs("        ", f);
                put_quoted(f, a->name);
                fputs(" [", f);
                if (label) {
                        fputs("label=", f);
                        put_quoted(f, label);
                        fputs(", ", f);
                }
                fprintf(f, "style=\"%s%s\"", style, states ? ",filled" : "");
                if (a->essential)
                        fputs(", peripheries=2", f);
                if (states)
                        fprintf(f, ", fillcolor=%s", state_color(st ? st->active_state : NULL));
                if (st && streq_ptr(st->breaker, "open"))
                        fputs(", color=red, penwidth=2", f);
                else if (st && streq_ptr(st->breaker, "half-open"))
                        fputs(", color=orange, penwidth=2", f);
                fputs("];\n", f);
        }

        for (size_t i = 0; i < p->n_agents; i++)
                STRV_FOREACH(req, p->agents[i]->requires) {
                        fputs("        ", f);
                        put_quoted(f, p->agents[i]->name);
                        fputs(" -> ", f);
                        put_quoted(f, *req);
                        fputs(";\n", f);
                }
        fputs("}\n", f);

        return fflush(f) != 0 || ferror(f) ? -EIO : 0;
}
