/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* unifiedctl: the command line client of unifiedd (org.unified1 on the system bus), plus the offline
 * verbs validate and show that read profile files directly. */

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <systemd/sd-bus.h>

#include "config.h"
#include "ctl-offline.h"
#include "ctl-chaos.h"
#include "ctl-dot.h"
#include "ctl-export.h"
#include "ctl-util.h"
#include "json-writer.h"
#include "log.h"
#include "macro.h"
#include "pager.h"
#include "parse-util.h"
#include "polkit-agent.h"
#include "strv.h"
#include "table.h"
#include "time-util.h"

#define BUS_NAME "org.unified1"
#define MANAGER_PATH "/org/unified1"
#define MANAGER_IFACE "org.unified1.Manager"
#define AGENT_IFACE "org.unified1.Agent"

static CtlJson arg_json = CTL_JSON_OFF;
static bool arg_legend = true;
static bool arg_quiet = false;
static bool arg_pager = true;
static bool arg_ask_password = true;
static bool arg_no_block = false;
static bool arg_wait_given = false;
static usec_t arg_timeout = USEC_INFINITY;
static const char *arg_host = NULL;
static const char *arg_root = NULL;
/* Tables are fitted to this width (SIZE_MAX: not at all); measured before a pager takes stdout. */
static size_t arg_columns = SIZE_MAX;
static const char *arg_ellipsis = "...";
static pid_t arg_pager_pid = 0;

static JsonWriterFlags json_flags(void) {
        return arg_json == CTL_JSON_PRETTY ? JSON_WRITER_PRETTY : 0;
}

static void print_table(const Table *t) {
        table_print(t, stdout, arg_legend, arg_columns, arg_ellipsis);
}

/* --- Bus plumbing -------------------------------------------------------------------------------- */

static int bus_connect(bool status_like, sd_bus **ret) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        int r;

        if (arg_host)
                r = sd_bus_open_system_remote(&bus, arg_host);
        else
                r = sd_bus_open_system(&bus);
        if (r < 0) {
                log_error_errno(r, "Failed to connect to the system bus%s%s: %m", arg_host ? " of " : "",
                                strempty(arg_host));
                return -ctl_exit_from_bus_error(NULL, r, status_like);
        }
        (void) sd_bus_set_allow_interactive_authorization(bus, arg_ask_password);
        *ret = TAKE_PTR(bus);
        return 0;
}

/* Logs "<what>: <reason>" for a failed call, in one line, and returns the exit status (negated, so
 * that verbs can "return bus_log_error(...)" next to other negative errors). */
static int bus_log_error(const sd_bus_error *error, int r, bool status_like, const char *format, ...)
        _printf_(4, 5);
static int bus_log_error(const sd_bus_error *error, int r, bool status_like, const char *format, ...) {
        const char *name = sd_bus_error_is_set(error) ? error->name : NULL;
        char what[512];
        va_list ap;

        va_start(ap, format);
        (void) vsnprintf(what, sizeof(what), format, ap);
        va_end(ap);

        if (ctl_bus_error_is_not_running(name, r))
                log_error("%s: unifiedd is not running%s%s.", what, arg_host ? " on " : "", strempty(arg_host));
        else if (name && streq(name, SD_BUS_ERROR_ACCESS_DENIED))
                log_error("%s: Access denied%s.", what,
                          arg_ask_password ? "" : " (try without --no-ask-password, or as root)");
        else if (name && streq(name, SD_BUS_ERROR_INTERACTIVE_AUTHORIZATION_REQUIRED))
                log_error("%s: Authentication required (run as root, or on a terminal to be asked).", what);
        else if (name && error->message)
                log_error("%s: %s", what, error->message);
        else
                log_error_errno(r, "%s: %m", what);

        return -(int) ctl_exit_from_bus_error(name, r, status_like);
}

/* A typed view on a GetAll reply: each entry names a property and where its value goes. */
typedef struct BusProperty {
        const char *name;
        char type;              /* 's', 'u', 't', 'd', 'b' or 'a' (for "as") */
        void *ret;              /* char **, uint32_t *, uint64_t *, double *, bool *, char *** */
} BusProperty;

static int bus_read_properties(sd_bus_message *m, const BusProperty *props) {
        int r;

        r = sd_bus_message_enter_container(m, 'a', "{sv}");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
                const BusProperty *p = NULL;
                const char *name, *contents;
                char type;

                r = sd_bus_message_read(m, "s", &name);
                if (r < 0)
                        return r;
                for (const BusProperty *i = props; i->name; i++)
                        if (streq(i->name, name))
                                p = i;
                r = sd_bus_message_peek_type(m, &type, &contents);
                if (r < 0)
                        return r;
                char expected[3] = { p ? p->type : 0, 0, 0 };
                if (p && p->type == 'a')
                        expected[1] = 's';
                if (!p || !streq(contents, expected)) {
                        r = sd_bus_message_skip(m, "v");
                        if (r < 0)
                                return r;
                } else {
                        r = sd_bus_message_enter_container(m, 'v', contents);
                        if (r < 0)
                                return r;
                        switch (p->type) {
                        case 's': {
                                const char *s;
                                r = sd_bus_message_read_basic(m, 's', &s);
                                if (r >= 0) {
                                        char *c = strdup(s);
                                        if (!c)
                                                return -ENOMEM;
                                        free(*(char **) p->ret);
                                        *(char **) p->ret = c;
                                }
                                break;
                        }
                        case 'b': {
                                int b;
                                r = sd_bus_message_read_basic(m, 'b', &b);
                                if (r >= 0)
                                        *(bool *) p->ret = b;
                                break;
                        }
                        case 'a': {
                                char **l = NULL;
                                r = sd_bus_message_read_strv(m, &l);
                                if (r >= 0) {
                                        strv_free(*(char ***) p->ret);
                                        *(char ***) p->ret = l;
                                }
                                break;
                        }
                        default:
                                r = sd_bus_message_read_basic(m, p->type, p->ret);
                        }
                        if (r < 0)
                                return r;
                        r = sd_bus_message_exit_container(m);
                        if (r < 0)
                                return r;
                }
                r = sd_bus_message_exit_container(m);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;
        return sd_bus_message_exit_container(m);
}

typedef struct ManagerInfo {
        char *version;
        char *active;
        char *state;
        double health;
        uint32_t n_agents;
        uint32_t n_active;
} ManagerInfo;

static void manager_info_done(ManagerInfo *i) {
        free(i->version);
        free(i->active);
        free(i->state);
        *i = (ManagerInfo) {};
}

/* The Manager properties in an a{sv} (GetAll, PropertiesChanged) into "info"; those not in it stay. */
static int manager_info_read(sd_bus_message *m, ManagerInfo *info) {
        const BusProperty props[] = {
                { "Version",       's', &info->version  },
                { "ActiveProfile", 's', &info->active   },
                { "State",         's', &info->state    },
                { "HealthScore",   'd', &info->health   },
                { "NAgents",       'u', &info->n_agents },
                { "NActiveAgents", 'u', &info->n_active },
                {}
        };

        return bus_read_properties(m, props);
}

/* "ret_cookie": the reply's serial, see on_properties_changed(). */
static int manager_get(sd_bus *bus, sd_bus_error *error, ManagerInfo *info, uint64_t *ret_cookie) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int r;

        r = sd_bus_call_method(bus, BUS_NAME, MANAGER_PATH, "org.freedesktop.DBus.Properties", "GetAll", error,
                               &reply, "s", MANAGER_IFACE);
        if (r < 0)
                return r;
        if (ret_cookie && sd_bus_message_get_cookie(reply, ret_cookie) < 0)
                *ret_cookie = 0;
        return manager_info_read(reply, info);
}

/* Runs a mutating call with a polkit agent around it when one may be needed. */
static int call_manager_method(sd_bus *bus, const char *method, sd_bus_error *error, const char *arg) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        pid_t agent = 0;
        int r;

        if (arg_ask_password && !arg_host && isatty(STDIN_FILENO) && geteuid() != 0)
                agent = polkit_agent_open();
        if (arg)
                r = sd_bus_call_method(bus, BUS_NAME, MANAGER_PATH, MANAGER_IFACE, method, error, &reply, "s", arg);
        else
                r = sd_bus_call_method(bus, BUS_NAME, MANAGER_PATH, MANAGER_IFACE, method, error, &reply, NULL);
        polkit_agent_close(agent);
        return r;
}

/* --- Waiting for a state ------------------------------------------------------------------------- */

typedef struct Wait {
        WaitGoal goal;
        const char *profile;
        WaitOutcome outcome;
        bool progress;          /* print "Starting P: N/M agents active" on the terminal */
        bool progress_shown;
        uint32_t shown_active, shown_total;
        ManagerInfo info;
        uint64_t info_cookie;   /* serial of the GetAll reply "info" was last read from */
        int error;
} Wait;

/* The outcome so far, and the progress line, from w->info. */
static void wait_judge(Wait *w) {
        w->outcome = ctl_wait_evaluate(w->goal, w->profile, w->info.active, w->info.state);
        if (!w->progress || w->outcome != WAIT_PENDING || isempty(w->info.active) ||
            (w->goal == WAIT_GOAL_START && !streq_ptr(w->info.active, w->profile)))
                return;
        if (w->progress_shown && w->shown_active == w->info.n_active && w->shown_total == w->info.n_agents)
                return;
        w->shown_active = w->info.n_active;
        w->shown_total = w->info.n_agents;
        fprintf(stderr, "\r\033[K%s %s: %" PRIu32 "/%" PRIu32 " agents active",
                w->goal == WAIT_GOAL_START ? "Starting" : "Stopping", w->info.active, w->info.n_active,
                w->info.n_agents);
        fflush(stderr);
        w->progress_shown = true;
}

/* Reads the state afresh with GetAll, then judges it. */
static void wait_evaluate(sd_bus *bus, Wait *w) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        int r;

        manager_info_done(&w->info);
        r = manager_get(bus, &error, &w->info, &w->info_cookie);
        if (r < 0) {
                w->error = bus_log_error(&error, r, false, "Failed to read the state of unifiedd");
                w->outcome = WAIT_FAILED;
                return;
        }
        wait_judge(w);
}

static int on_properties_changed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        Wait *w = userdata;
        const char *iface;
        uint64_t cookie;
        int r;

        if (sd_bus_message_read(m, "s", &iface) < 0 || !streq(iface, MANAGER_IFACE))
                return 0;
        /* The daemon numbers everything it sends in order, so a signal with a lower serial than the
         * GetAll reply last read was sent before it, and its change is in that reply already (signals
         * that came in while waiting for the reply are dispatched after it). */
        if (sd_bus_message_get_cookie(m, &cookie) >= 0 && ctl_serial_before(cookie, w->info_cookie))
                return 0;
        /* The daemon's properties emit their new values: take them from the signal, no round trip.
         * Only an invalidated property, or a signal that does not read, costs a GetAll. */
        r = manager_info_read(m, &w->info);
        if (r >= 0)
                r = sd_bus_message_enter_container(m, 'a', "s");
        if (r >= 0)
                r = sd_bus_message_at_end(m, false);
        if (r > 0)
                wait_judge(w);
        else
                wait_evaluate(sd_bus_message_get_bus(m), w);
        return 0;
}

static int on_name_owner_changed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        Wait *w = userdata;
        const char *name, *old, *new;

        if (sd_bus_message_read(m, "sss", &name, &old, &new) < 0 || !streq(name, BUS_NAME))
                return 0;
        if (isempty(new)) {
                log_error("unifiedd left the bus while waiting.");
                w->error = -CTL_EXIT_FAILURE;
                w->outcome = WAIT_FAILED;
        }
        return 0;
}

/* Sets up the signal matches; must happen before the call whose outcome we wait for, so that no
 * change can slip between the reply and the subscription. */
static int wait_subscribe(sd_bus *bus, Wait *w, sd_bus_slot **ret_props, sd_bus_slot **ret_owner) {
        int r;

        r = sd_bus_match_signal(bus, ret_props, BUS_NAME, MANAGER_PATH, "org.freedesktop.DBus.Properties",
                                "PropertiesChanged", on_properties_changed, w);
        if (r < 0)
                return r;
        return sd_bus_add_match(bus, ret_owner,
                                "type='signal',sender='org.freedesktop.DBus',path='/org/freedesktop/DBus',"
                                "interface='org.freedesktop.DBus',member='NameOwnerChanged',arg0='" BUS_NAME "'",
                                on_name_owner_changed, w);
}

static int wait_run(sd_bus *bus, Wait *w) {
        usec_t deadline = arg_timeout == USEC_INFINITY ? USEC_INFINITY : now(CLOCK_MONOTONIC) + arg_timeout;
        int r;

        wait_evaluate(bus, w);
        while (w->outcome == WAIT_PENDING) {
                usec_t n = now(CLOCK_MONOTONIC);

                if (n >= deadline) {
                        if (w->progress_shown)
                                fputc('\n', stderr);
                        log_error("Timed out waiting for profile '%s' to %s (state %s).",
                                  !isempty(w->profile) ? w->profile : strna(w->info.active),
                                  w->goal == WAIT_GOAL_START ? "start" : "stop", strna(w->info.state));
                        return -CTL_EXIT_FAILURE;
                }
                r = sd_bus_process(bus, NULL);
                if (r < 0)
                        return bus_log_error(NULL, r, false, "Lost the bus connection while waiting");
                if (r > 0)
                        continue;
                r = sd_bus_wait(bus, deadline == USEC_INFINITY ? UINT64_MAX : deadline - n);
                if (r < 0 && r != -EINTR)
                        return bus_log_error(NULL, r, false, "Lost the bus connection while waiting");
        }
        if (w->progress_shown)
                fprintf(stderr, "\r\033[K");
        return w->error;
}

/* systemctl's habit: progress on a terminal only (both streams, so that "> file" stays clean too). */
static bool show_progress(void) {
        return !arg_quiet && isatty(STDOUT_FILENO) && isatty(STDERR_FILENO);
}

/* --- Verbs --------------------------------------------------------------------------------------- */

static int verb_start(sd_bus *bus, char **args) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_slot_unrefp) sd_bus_slot *props = NULL, *owner = NULL;
        Wait w = { .goal = WAIT_GOAL_START, .profile = args[0], .progress = show_progress() };
        int r;

        if (!arg_no_block) {
                r = wait_subscribe(bus, &w, &props, &owner);
                if (r < 0)
                        return bus_log_error(NULL, r, false, "Failed to subscribe to state changes");
        }

        r = call_manager_method(bus, "StartProfile", &error, args[0]);
        if (r < 0)
                return bus_log_error(&error, r, false, "Failed to start profile '%s'", args[0]);
        if (arg_no_block)
                return 0;

        r = wait_run(bus, &w);
        if (r >= 0)
                switch (w.outcome) {
                case WAIT_DONE:
                        break;
                case WAIT_DEGRADED:
                        log_warning("Profile '%s' is degraded: %" PRIu32 " of %" PRIu32 " agents active.",
                                    args[0], w.info.n_active, w.info.n_agents);
                        break;
                case WAIT_FAILED:
                        log_error("Profile '%s' failed (%" PRIu32 " of %" PRIu32 " agents active); "
                                  "see 'unifiedctl status'.", args[0], w.info.n_active, w.info.n_agents);
                        r = -CTL_EXIT_FAILURE;
                        break;
                default:
                        log_error("Profile '%s' did not start: active profile is now '%s' (%s).", args[0],
                                  strempty(w.info.active), strna(w.info.state));
                        r = -CTL_EXIT_FAILURE;
                }
        manager_info_done(&w.info);
        return r;
}

static int verb_stop(sd_bus *bus, char **args) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_slot_unrefp) sd_bus_slot *props = NULL, *owner = NULL;
        const char *name = args[0] ?: "";
        Wait w = { .goal = WAIT_GOAL_STOP, .profile = name, .progress = show_progress() };
        int r;

        if (!arg_no_block) {
                r = wait_subscribe(bus, &w, &props, &owner);
                if (r < 0)
                        return bus_log_error(NULL, r, false, "Failed to subscribe to state changes");
        }

        r = call_manager_method(bus, "StopProfile", &error, name);
        if (r < 0) {
                if (isempty(name))
                        return bus_log_error(&error, r, false, "Failed to stop the active profile");
                return bus_log_error(&error, r, false, "Failed to stop profile '%s'", name);
        }
        if (arg_no_block)
                return 0;

        /* The daemon's answer already shows a stop it began ("stopping", or "inactive" at once). The named
         * profile still active in any other state means it had nothing to stop: the ExecStop= of an
         * instance the daemon stopped itself, after the profile was started again (src/core/manager.c). */
        wait_evaluate(bus, &w);
        if (w.outcome == WAIT_PENDING && !isempty(name) && streq_ptr(w.info.active, name) &&
            !streq_ptr(w.info.state, "stopping")) {
                log_debug("Profile '%s' is %s: the daemon had nothing to stop.", name, strna(w.info.state));
                manager_info_done(&w.info);
                return 0;
        }

        r = wait_run(bus, &w);
        manager_info_done(&w.info);
        return r;
}

static int verb_reload(sd_bus *bus, char **args) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        int r;

        r = call_manager_method(bus, "ReloadProfiles", &error, NULL);
        if (r < 0)
                return bus_log_error(&error, r, false, "Failed to reload profiles");
        return 0;
}

static int verb_agent_method(sd_bus *bus, const char *method, const char *what, const char *agent) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        int r;

        r = call_manager_method(bus, method, &error, agent);
        if (r < 0)
                return bus_log_error(&error, r, false, "Failed to %s '%s'", what, agent);
        return 0;
}

static int verb_restart(sd_bus *bus, char **args) {
        return verb_agent_method(bus, "RestartAgent", "restart agent", args[0]);
}

static int verb_reset_breaker(sd_bus *bus, char **args) {
        return verb_agent_method(bus, "ResetBreaker", "reset the breaker of agent", args[0]);
}

static int verb_open_breaker(sd_bus *bus, char **args) {
        return verb_agent_method(bus, "OpenBreaker", "open the breaker of agent", args[0]);
}

static int verb_list(sd_bus *bus, char **args) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(manager_info_done) ManagerInfo info = {};
        _cleanup_(table_freep) Table *t = NULL;
        const char *name, *description, *path;
        JsonWriter w;
        int r;

        r = manager_get(bus, &error, &info, NULL);
        if (r < 0)
                return bus_log_error(&error, r, false, "Failed to list profiles");
        r = sd_bus_call_method(bus, BUS_NAME, MANAGER_PATH, MANAGER_IFACE, "ListProfiles", &error, &reply, NULL);
        if (r < 0)
                return bus_log_error(&error, r, false, "Failed to list profiles");

        t = table_new("PROFILE", "ACTIVE", "DESCRIPTION", NULL);
        if (!t)
                return log_oom();
        json_writer_init(&w, stdout, json_flags());
        if (arg_json)
                json_writer_array_begin(&w);

        r = sd_bus_message_enter_container(reply, 'a', "(sso)");
        if (r < 0)
                return bus_log_error(NULL, r, false, "Failed to parse reply");
        while ((r = sd_bus_message_read(reply, "(sso)", &name, &description, &path)) > 0) {
                bool active = streq_ptr(name, info.active);

                if (arg_json) {
                        json_writer_object_begin(&w);
                        json_writer_key(&w, "name");
                        json_writer_string(&w, name);
                        json_writer_key(&w, "description");
                        json_writer_string(&w, description);
                        json_writer_key(&w, "active");
                        json_writer_boolean(&w, active);
                        json_writer_object_end(&w);
                } else if (table_add_row(t, name, active ? "yes" : "no", description) < 0)
                        return log_oom();
        }
        if (r < 0)
                return bus_log_error(NULL, r, false, "Failed to parse reply");

        if (arg_json) {
                json_writer_array_end(&w);
                return json_writer_finish(&w) < 0 ? -CTL_EXIT_FAILURE : 0;
        }
        print_table(t);
        if (arg_legend)
                printf("\n%zu profiles listed.\n", table_rows(t));
        return 0;
}

typedef struct AgentInfo {
        char *name;
        char *unit;
        char *active_state;
        char *sub_state;
        char *breaker;
        char *profile;
        char *path;
        double health;
        uint32_t restarts;
        uint64_t memory_current;
        uint64_t memory_max;
        bool essential;
        bool lazy;
        bool waiting;
        bool have_details;
        bool done;              /* the GetAll reply (or error) arrived */
} AgentInfo;

static void agent_infos_free(AgentInfo *a, size_t n) {
        for (size_t i = 0; i < n; i++) {
                free(a[i].name);
                free(a[i].unit);
                free(a[i].active_state);
                free(a[i].sub_state);
                free(a[i].breaker);
                free(a[i].profile);
                free(a[i].path);
        }
        free(a);
}

static int on_agent_properties(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        AgentInfo *a = userdata;
        const BusProperty props[] = {
                { "SubState",      's', &a->sub_state      },
                { "Restarts",      'u', &a->restarts       },
                { "MemoryCurrent", 't', &a->memory_current },
                { "MemoryMax",     't', &a->memory_max     },
                { "Essential",     'b', &a->essential      },
                { "Lazy",          'b', &a->lazy           },
                { "Waiting",       'b', &a->waiting        },
                {}
        };

        a->done = true;
        /* An agent that vanished between the list and this call just shows fewer details. */
        if (!sd_bus_message_is_method_error(m, NULL) && bus_read_properties(m, props) >= 0)
                a->have_details = true;
        return 0;
}

/* ListAgents, and with "details" also each agent's properties: all GetAll calls are sent at once
 * and the replies collected as they come, one round trip in all rather than one per agent. */
static int agents_get(sd_bus *bus, bool details, AgentInfo **ret, size_t *ret_n) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        AgentInfo *agents = NULL;
        size_t n = 0;
        sd_bus_slot **slots = NULL;
        int r;

        r = sd_bus_call_method(bus, BUS_NAME, MANAGER_PATH, MANAGER_IFACE, "ListAgents", &error, &reply, NULL);
        if (r < 0)
                return bus_log_error(&error, r, true, "Failed to list agents");

        r = sd_bus_message_enter_container(reply, 'a', "(ssssdso)");
        if (r < 0)
                return bus_log_error(NULL, r, true, "Failed to parse reply");
        for (;;) {
                const char *name, *unit, *state, *breaker, *profile, *path;
                double health;
                AgentInfo *l;

                r = sd_bus_message_read(reply, "(ssssdso)", &name, &unit, &state, &breaker, &health, &profile, &path);
                if (r < 0) {
                        agent_infos_free(agents, n);
                        return bus_log_error(NULL, r, true, "Failed to parse reply");
                }
                if (r == 0)
                        break;
                l = reallocarray(agents, n + 1, sizeof(AgentInfo));
                if (!l) {
                        agent_infos_free(agents, n);
                        return log_oom();
                }
                agents = l;
                agents[n] = (AgentInfo) {
                        .name = strdup(name),
                        .unit = strdup(unit),
                        .active_state = strdup(state),
                        .breaker = strdup(breaker),
                        .profile = strdup(profile),
                        .path = strdup(path),
                        .health = health,
                        .memory_current = UINT64_MAX,
                        .memory_max = UINT64_MAX,
                };
                n++;
                if (!agents[n - 1].name || !agents[n - 1].unit || !agents[n - 1].active_state ||
                    !agents[n - 1].breaker || !agents[n - 1].profile || !agents[n - 1].path) {
                        agent_infos_free(agents, n);
                        return log_oom();
                }
        }

        if (details && n > 0) {
                slots = calloc(n, sizeof(sd_bus_slot *));
                if (!slots) {
                        agent_infos_free(agents, n);
                        return log_oom();
                }
                for (size_t i = 0; i < n && r >= 0; i++) {
                        r = sd_bus_call_method_async(bus, &slots[i], BUS_NAME, agents[i].path,
                                                     "org.freedesktop.DBus.Properties", "GetAll",
                                                     on_agent_properties, &agents[i], "s", AGENT_IFACE);
                }
                while (r >= 0) {
                        size_t left = 0;

                        for (size_t i = 0; i < n; i++)
                                if (slots[i] && !agents[i].done)
                                        left++;
                        if (left == 0)
                                break;
                        r = sd_bus_process(bus, NULL);
                        if (r == 0)
                                r = sd_bus_wait(bus, UINT64_MAX);
                }
                for (size_t i = 0; i < n; i++)
                        sd_bus_slot_unref(slots[i]);
                free(slots);
                if (r < 0) {
                        agent_infos_free(agents, n);
                        return bus_log_error(NULL, r, true, "Failed to read agent properties");
                }
        }

        *ret = agents;
        *ret_n = n;
        return 0;
}

static const char *agent_state(const AgentInfo *a, char *buf, size_t l) {
        if (!isempty(a->sub_state) && !streq(a->sub_state, a->active_state))
                snprintf(buf, l, "%s (%s)", a->active_state, a->sub_state);
        else
                snprintf(buf, l, "%s", a->active_state);
        return buf;
}

static void json_nullable_u64(JsonWriter *w, const char *key, uint64_t v) {
        json_writer_key(w, key);
        if (v == UINT64_MAX)
                json_writer_null(w);
        else
                json_writer_unsigned(w, v);
}

static void json_health(JsonWriter *w, double h) {
        json_writer_key(w, "health");
        if (h >= 0.0 && h <= 1.0)
                json_writer_real(w, h);
        else
                json_writer_null(w);
}

typedef struct SocketInfo {
        char *load_state;
        char *active_state;
        char *result;
        char *listen;           /* the first address it listens on */
        char *service_state;    /* the exporter's ActiveState and Result */
        char *service_result;
} SocketInfo;

static void socket_info_done(SocketInfo *i) {
        free(i->load_state);
        free(i->active_state);
        free(i->result);
        free(i->listen);
        free(i->service_state);
        free(i->service_result);
        *i = (SocketInfo) {};
}

/* The exporter's state, if systemd has it loaded (an unloaded service has not failed). */
static void metrics_service_get(sd_bus *bus, SocketInfo *info) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        const char *path;
        int r;

        r = sd_bus_call_method(bus, "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
                               "org.freedesktop.systemd1.Manager", "GetUnit", &error, &reply, "s", CTL_METRICS_SERVICE);
        if (r >= 0)
                r = sd_bus_message_read(reply, "o", &path);
        if (r >= 0)
                r = sd_bus_get_property_string(bus, "org.freedesktop.systemd1", path, "org.freedesktop.systemd1.Unit",
                                               "ActiveState", &error, &info->service_state);
        if (r >= 0)
                r = sd_bus_get_property_string(bus, "org.freedesktop.systemd1", path,
                                               "org.freedesktop.systemd1.Service", "Result", &error,
                                               &info->service_result);
        if (r < 0)
                log_debug_errno(r, "No state of %s (%s): %m", CTL_METRICS_SERVICE, strna(error.message));
}

/* The metrics socket and the exporter it starts as systemd sees them (read-only calls to systemd
 * itself: unifiedd owns neither, and when the bind failed there may be no metrics process at all). A
 * failure leaves "info" as far as it got: status is about unifiedd first. */
static void metrics_socket_get(sd_bus *bus, SocketInfo *info) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_free_ char *path = NULL;
        const BusProperty props[] = {
                { "LoadState",   's', &info->load_state   },
                { "ActiveState", 's', &info->active_state },
                {}
        };
        const char *type, *address;
        int r;

        r = sd_bus_path_encode("/org/freedesktop/systemd1/unit", CTL_METRICS_SOCKET, &path);
        if (r >= 0)
                r = sd_bus_call_method(bus, "org.freedesktop.systemd1", path, "org.freedesktop.DBus.Properties",
                                       "GetAll", &error, &reply, "s", "org.freedesktop.systemd1.Unit");
        if (r >= 0)
                r = bus_read_properties(reply, props);
        if (r < 0 || !streq_ptr(info->load_state, "loaded")) {
                log_debug_errno(r, "No state of %s (%s): %m", CTL_METRICS_SOCKET, strna(error.message));
                return;
        }
        reply = sd_bus_message_unref(reply);
        r = sd_bus_get_property_string(bus, "org.freedesktop.systemd1", path, "org.freedesktop.systemd1.Socket",
                                       "Result", &error, &info->result);
        if (r >= 0)
                r = sd_bus_get_property(bus, "org.freedesktop.systemd1", path, "org.freedesktop.systemd1.Socket",
                                        "Listen", &error, &reply, "a(ss)");
        if (r >= 0)
                r = sd_bus_message_enter_container(reply, 'a', "(ss)");
        if (r >= 0)
                r = sd_bus_message_read(reply, "(ss)", &type, &address);
        if (r > 0) {
                info->listen = strdup(address);
                if (!info->listen)
                        r = -ENOMEM;
        }
        if (r < 0)
                log_debug_errno(r, "Failed to read %s's Result and Listen (%s): %m", CTL_METRICS_SOCKET,
                                strna(error.message));        metrics_service_get(bus, info);
}

static void json_metrics_socket(JsonWriter *w, const SocketInfo *m) {
        json_writer_key(w, "metrics_socket");
        if (!m->load_state) {
                json_writer_null(w);
                return;
        }
        json_writer_object_begin(w);
        json_writer_key(w, "unit");
        json_writer_string(w, CTL_METRICS_SOCKET);
        json_writer_key(w, "load_state");
        json_writer_string(w, m->load_state);
        json_writer_key(w, "active_state");
        json_writer_string(w, m->active_state);
        json_writer_key(w, "result");
        json_writer_string(w, m->result);
        json_writer_key(w, "listen");
        json_writer_string(w, m->listen);
        json_writer_key(w, "service");
        json_writer_string(w, CTL_METRICS_SERVICE);
        json_writer_key(w, "service_active_state");
        json_writer_string(w, m->service_state);
        json_writer_key(w, "service_result");
        json_writer_string(w, m->service_result);
        json_writer_key(w, "problem");
        json_writer_string(w, ctl_metrics_problem(m->active_state, m->result, m->service_state));
        json_writer_object_end(w);
}

/* The "Metrics:" line of status: where Prometheus scrapes, or, loudly, why nothing answers there. */
static void print_metrics_socket(const SocketInfo *m) {
        const char *problem = ctl_metrics_problem(m->active_state, m->result, m->service_state);

        if (!problem) {
                if (streq_ptr(m->active_state, "active"))
                        printf("Metrics: %s (%s)\n", strna(m->listen), CTL_METRICS_SOCKET);
        } else if (streq_ptr(m->result, "resources"))
                printf("Metrics: %s %s: %s%s%s\n"
                       "         (journalctl -u %s; to move the port, see \"The metrics port is taken\" in\n"
                       "         /usr/share/doc/unified/runbook.md)\n",
                       CTL_METRICS_SOCKET, strna(m->active_state), problem, m->listen ? ", " : "",
                       strempty(m->listen), CTL_METRICS_SOCKET);
        else
                /* The exporter's own failure: its journal says why. */
                printf("Metrics: %s %s: %s (%s)%s%s\n"
                       "         (journalctl -u %s; see \"UnifiedMetricsTargetDown\" in\n"
                       "         /usr/share/doc/unified/runbook.md)\n",
                       CTL_METRICS_SOCKET, strna(m->active_state), problem, strna(m->service_result),
                       m->listen ? ", " : "", strempty(m->listen), CTL_METRICS_SERVICE);
}

static int verb_status(sd_bus *bus, char **args) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(manager_info_done) ManagerInfo info = { .health = NAN };
        _cleanup_(socket_info_done) SocketInfo metrics = {};
        _cleanup_(table_freep) Table *t = NULL;
        AgentInfo *agents = NULL;
        size_t n = 0;
        bool active;
        int r;

        r = manager_get(bus, &error, &info, NULL);
        if (r < 0)
                return bus_log_error(&error, r, true, "Failed to get the status of unifiedd");
        active = !isempty(info.active);
        metrics_socket_get(bus, &metrics);

        if (active) {
                r = agents_get(bus, true, &agents, &n);
                if (r < 0)
                        return r;
        }

        if (arg_json) {
                JsonWriter w;

                json_writer_init(&w, stdout, json_flags());
                json_writer_object_begin(&w);
                json_writer_key(&w, "profile");
                json_writer_string(&w, active ? info.active : NULL);
                json_writer_key(&w, "state");
                json_writer_string(&w, info.state);
                json_health(&w, info.health);
                json_writer_key(&w, "agents_active");
                json_writer_unsigned(&w, info.n_active);
                json_writer_key(&w, "agents_total");
                json_writer_unsigned(&w, info.n_agents);
                json_writer_key(&w, "version");
                json_writer_string(&w, info.version);
                json_metrics_socket(&w, &metrics);
                json_writer_key(&w, "agents");
                json_writer_array_begin(&w);
                for (size_t i = 0; i < n; i++) {
                        json_writer_object_begin(&w);
                        json_writer_key(&w, "name");
                        json_writer_string(&w, agents[i].name);
                        json_writer_key(&w, "unit");
                        json_writer_string(&w, agents[i].unit);
                        json_writer_key(&w, "active_state");
                        json_writer_string(&w, agents[i].active_state);
                        json_writer_key(&w, "sub_state");
                        json_writer_string(&w, agents[i].sub_state);
                        json_writer_key(&w, "breaker");
                        json_writer_string(&w, agents[i].breaker);
                        json_health(&w, agents[i].health);
                        json_writer_key(&w, "restarts");
                        json_writer_unsigned(&w, agents[i].restarts);
                        json_nullable_u64(&w, "memory_current", agents[i].memory_current);
                        json_nullable_u64(&w, "memory_max", agents[i].memory_max);
                        json_writer_key(&w, "essential");
                        json_writer_boolean(&w, agents[i].essential);
                        json_writer_key(&w, "lazy");
                        json_writer_boolean(&w, agents[i].lazy);
                        json_writer_key(&w, "waiting");
                        json_writer_boolean(&w, agents[i].waiting);
                        json_writer_object_end(&w);
                }
                json_writer_array_end(&w);
                json_writer_object_end(&w);
                r = json_writer_finish(&w) < 0 ? -CTL_EXIT_FAILURE : 0;
                agent_infos_free(agents, n);
                return r < 0 ? r : active ? 0 : -CTL_EXIT_NOT_RUNNING;
        }

        if (!active) {
                printf("No active profile (state %s).\n", strna(info.state));
                if (ctl_metrics_problem(metrics.active_state, metrics.result, metrics.service_state))
                        print_metrics_socket(&metrics);
                return -CTL_EXIT_NOT_RUNNING;
        }

        char health[16];
        printf("Profile: %s\n"
               "  State: %s\n"
               " Health: %s\n"
               " Agents: %" PRIu32 "/%" PRIu32 " active\n",
               info.active, strna(info.state), ctl_format_health(health, sizeof(health), info.health),
               info.n_active, info.n_agents);
        print_metrics_socket(&metrics);
        printf("Version: %s\n\n", strna(info.version));

        t = table_new("AGENT", "UNIT", "STATE", "BREAKER", "HEALTH", "RESTARTS", "MEMORY", NULL);
        if (!t) {
                agent_infos_free(agents, n);
                return log_oom();
        }
        for (size_t i = 0; i < n && r >= 0; i++) {
                char state[128], h[16], restarts[16], cur[CTL_FORMAT_BYTES_MAX], max[CTL_FORMAT_BYTES_MAX],
                        mem[2 * CTL_FORMAT_BYTES_MAX + 4];

                snprintf(restarts, sizeof(restarts), "%" PRIu32, agents[i].restarts);
                ctl_format_bytes(cur, sizeof(cur), agents[i].memory_current);
                if (agents[i].memory_max == UINT64_MAX)
                        snprintf(mem, sizeof(mem), "%s", cur);
                else
                        snprintf(mem, sizeof(mem), "%s/%s", cur,
                                 ctl_format_bytes(max, sizeof(max), agents[i].memory_max));
                r = table_add_row(t, agents[i].name, agents[i].unit, agent_state(&agents[i], state, sizeof(state)),
                                  agents[i].breaker, ctl_format_health(h, sizeof(h), agents[i].health),
                                  agents[i].have_details ? restarts : "-", agents[i].have_details ? mem : "-");
        }
        agent_infos_free(agents, n);
        if (r < 0)
                return log_oom();
        print_table(t);
        return 0;
}

static int verb_agents(sd_bus *bus, char **args) {
        _cleanup_(table_freep) Table *t = NULL;
        AgentInfo *agents = NULL;
        size_t n = 0;
        int r;

        r = agents_get(bus, false, &agents, &n);
        if (r < 0)
                return r;

        if (arg_json) {
                JsonWriter w;

                json_writer_init(&w, stdout, json_flags());
                json_writer_array_begin(&w);
                for (size_t i = 0; i < n; i++) {
                        json_writer_object_begin(&w);
                        json_writer_key(&w, "name");
                        json_writer_string(&w, agents[i].name);
                        json_writer_key(&w, "unit");
                        json_writer_string(&w, agents[i].unit);
                        json_writer_key(&w, "active_state");
                        json_writer_string(&w, agents[i].active_state);
                        json_writer_key(&w, "breaker");
                        json_writer_string(&w, agents[i].breaker);
                        json_health(&w, agents[i].health);
                        json_writer_key(&w, "profile");
                        json_writer_string(&w, agents[i].profile);
                        json_writer_key(&w, "object");
                        json_writer_string(&w, agents[i].path);
                        json_writer_object_end(&w);
                }
                json_writer_array_end(&w);
                agent_infos_free(agents, n);
                return json_writer_finish(&w) < 0 ? -CTL_EXIT_FAILURE : 0;
        }

        t = table_new("AGENT", "UNIT", "STATE", "BREAKER", "HEALTH", NULL);
        if (!t) {
                agent_infos_free(agents, n);
                return log_oom();
        }
        for (size_t i = 0; i < n && r >= 0; i++) {
                char h[16];
                r = table_add_row(t, agents[i].name, agents[i].unit, agents[i].active_state, agents[i].breaker,
                                  ctl_format_health(h, sizeof(h), agents[i].health));
        }
        agent_infos_free(agents, n);
        if (r < 0)
                return log_oom();
        print_table(t);
        if (arg_legend)
                printf("\n%zu agents listed.\n", table_rows(t));
        return 0;
}

static int verb_health(sd_bus *bus, char **args) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(manager_info_done) ManagerInfo info = { .health = NAN };
        _cleanup_(table_freep) Table *t = NULL;
        AgentInfo *agents = NULL;
        size_t n = 0;
        char h[16];
        int r;

        r = manager_get(bus, &error, &info, NULL);
        if (r < 0)
                return bus_log_error(&error, r, true, "Failed to get the health of unifiedd");
        if (!isempty(info.active)) {
                r = agents_get(bus, false, &agents, &n);
                if (r < 0)
                        return r;
        }

        if (arg_json) {
                JsonWriter w;

                json_writer_init(&w, stdout, json_flags());
                json_writer_object_begin(&w);
                json_writer_key(&w, "profile");
                json_writer_string(&w, isempty(info.active) ? NULL : info.active);
                json_writer_key(&w, "state");
                json_writer_string(&w, info.state);
                json_health(&w, info.health);
                json_writer_key(&w, "agents");
                json_writer_array_begin(&w);
                for (size_t i = 0; i < n; i++) {
                        json_writer_object_begin(&w);
                        json_writer_key(&w, "name");
                        json_writer_string(&w, agents[i].name);
                        json_health(&w, agents[i].health);
                        json_writer_key(&w, "breaker");
                        json_writer_string(&w, agents[i].breaker);
                        json_writer_key(&w, "active_state");
                        json_writer_string(&w, agents[i].active_state);
                        json_writer_object_end(&w);
                }
                json_writer_array_end(&w);
                json_writer_object_end(&w);
                agent_infos_free(agents, n);
                if (json_writer_finish(&w) < 0)
                        return -CTL_EXIT_FAILURE;
                return isempty(info.active) ? -CTL_EXIT_NOT_RUNNING : 0;
        }

        if (isempty(info.active)) {
                printf("No active profile (state %s).\n", strna(info.state));
                return -CTL_EXIT_NOT_RUNNING;
        }

        printf("Profile %s: health %s (%s)\n\n", info.active, ctl_format_health(h, sizeof(h), info.health),
               strna(info.state));
        t = table_new("AGENT", "HEALTH", "BREAKER", "STATE", NULL);
        if (!t) {
                agent_infos_free(agents, n);
                return log_oom();
        }
        for (size_t i = 0; i < n && r >= 0; i++)
                r = table_add_row(t, agents[i].name, ctl_format_health(h, sizeof(h), agents[i].health),
                                  agents[i].breaker, agents[i].active_state);
        agent_infos_free(agents, n);
        if (r < 0)
                return log_oom();
        print_table(t);
        return 0;
}

/* The agents' states for `dot`, if the daemon is running and its active profile is "profile"; else
 * nothing: dot draws the definition then, so every failure here is only a debug message. The daemon
 * is not bus-activated for a picture. */
static int dot_agent_states(const char *profile, sd_bus_message **ret_reply, DotAgentState **ret, size_t *ret_n) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_free_ DotAgentState *states = NULL;
        const char *active = NULL;
        size_t n = 0;
        int r;

        r = sd_bus_open_system(&bus);
        if (r < 0) {
                log_debug_errno(r, "No system bus, drawing the definition only: %m");
                return 0;
        }
        r = sd_bus_message_new_method_call(bus, &m, BUS_NAME, MANAGER_PATH, "org.freedesktop.DBus.Properties", "Get");
        if (r >= 0)
                r = sd_bus_message_append(m, "ss", MANAGER_IFACE, "ActiveProfile");
        if (r >= 0)
                r = sd_bus_message_set_auto_start(m, false);
        if (r >= 0)
                r = sd_bus_call(bus, m, 0, &error, &reply);
        if (r >= 0)
                r = sd_bus_message_read(reply, "v", "s", &active);
        if (r < 0) {
                log_debug_errno(r, "unifiedd not reachable (%s), drawing the definition only: %m", strna(error.message));
                return 0;
        }
        if (!streq(active, profile)) {
                log_debug("unifiedd runs '%s', not '%s': drawing the definition only.", active, profile);
                return 0;
        }

        m = sd_bus_message_unref(m);
        reply = sd_bus_message_unref(reply);
        r = sd_bus_message_new_method_call(bus, &m, BUS_NAME, MANAGER_PATH, MANAGER_IFACE, "ListAgents");
        if (r >= 0)
                r = sd_bus_message_set_auto_start(m, false);
        if (r >= 0)
                r = sd_bus_call(bus, m, 0, &error, &reply);
        if (r >= 0)
                r = sd_bus_message_enter_container(reply, 'a', "(ssssdso)");
        for (;;) {
                const char *name, *unit, *state, *breaker, *owner, *path;
                DotAgentState *l;
                double health;

                if (r < 0) {
                        log_debug_errno(r, "Failed to list the agents (%s), drawing the definition only: %m",
                                        strna(error.message));
                        return 0;
                }
                r = sd_bus_message_read(reply, "(ssssdso)", &name, &unit, &state, &breaker, &health, &owner, &path);
                if (r == 0)
                        break;
                if (r < 0)
                        continue;       /* logged above */
                l = reallocarray(states, n + 1, sizeof(DotAgentState));
                if (!l)
                        return log_oom();
                states = l;
                /* The strings stay in "reply", which the caller keeps. */
                states[n++] = (DotAgentState) { .name = name, .active_state = state, .breaker = breaker };
        }

        *ret_reply = TAKE_PTR(reply);
        *ret = TAKE_PTR(states);
        *ret_n = n;
        return 1;
}

static int verb_dot(const char *arg) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(profile_freep) Profile *p = NULL;
        _cleanup_free_ DotAgentState *states = NULL;
        size_t n = 0;
        int r;

        /* A picture, not a check: warnings are for validate. */
        r = offline_resolve(arg_root, arg, false, &p);
        if (r != CTL_EXIT_SUCCESS)
                return r;
        /* Colors only for a name on this machine's search path: a file or another root may well
         * differ from what the daemon runs under the same name. */
        if (!ctl_argument_is_file(arg) && !arg_root && dot_agent_states(p->name, &reply, &states, &n) < 0)
                return CTL_EXIT_FAILURE;
        r = dot_write_profile(stdout, p, states, n);
        if (r < 0) {
                log_error_errno(r, "Failed to write the graph: %m");
                return CTL_EXIT_FAILURE;
        }
        return CTL_EXIT_SUCCESS;
}

/* --- Command line -------------------------------------------------------------------------------- */

static void help(void) {
        printf("%s [OPTIONS...] COMMAND ...\n\n"
               "Control unifiedd, the supervisor of multi-agent profiles.\n\n"
               "Commands:\n"
               "  list                     List the profiles\n"
               "  status                   Show the active profile and its agents\n"
               "  start PROFILE            Start (or switch to) a profile\n"
               "  switch PROFILE           Same as start\n"
               "  stop [PROFILE]           Stop the active profile (only if it is PROFILE)\n"
               "  reload                   Reload the profiles from disk\n"
               "  restart AGENT            Restart one agent\n"
               "  agents                   List the agents of the active profile\n"
               "  health                   Show the health score of the profile and its agents\n"
               "  reset-breaker AGENT      Close an agent's circuit breaker\n"
               "  open-breaker AGENT       Open an agent's circuit breaker\n"
               "  chaos inject|run ...     Inject faults and measure recovery ('chaos --help')\n"
               "  chaos list               List the faults in flight\n"
               "  show PROFILE|FILE        Show a resolved profile (offline)\n"
               "  dot PROFILE|FILE         The agents and their requires as a graphviz digraph\n"
               "  export kubernetes PROFILE|FILE\n"
               "                           Print a profile as Kubernetes manifests (offline;\n"
               "                           'export --help')\n"
               "  validate [PROFILE|FILE...]\n"
               "                           Check profiles (offline; all of them without arguments)\n\n"
               "Options:\n"
               "  -h --help                Show this help\n"
               "     --version             Show the version\n"
               "     --json[=pretty|short|off]\n"
               "                           Machine-readable output of read commands\n"
               "     --no-legend           No column headers and footers\n"
               "  -q --quiet               No progress line, headers, footers or summaries\n"
               "     --no-pager            Do not pipe long output through a pager\n"
               "  -H --host=[USER@]HOST    Operate on a remote host (over ssh)\n"
               "     --no-ask-password     Do not ask for a password when authorization is needed\n"
               "     --no-block            start/switch/stop: return at once, do not wait for the\n"
               "                           profile to be up/down\n"
               "     --wait                Wait (the default; accepted for older scripts)\n"
               "     --timeout=DURATION    Give up waiting after DURATION (default: wait forever)\n"
               "     --root=DIR            Offline commands: look for profiles below DIR\n\n"
               "See unifiedctl(1) for exit statuses and JSON formats.\n",
               program_invocation_short_name);
}

static int parse_argv(int argc, char *argv[]) {
        enum {
                ARG_VERSION = 0x100,
                ARG_JSON,
                ARG_NO_LEGEND,
                ARG_NO_ASK_PASSWORD,
                ARG_NO_PAGER,
                ARG_NO_BLOCK,
                ARG_WAIT,
                ARG_TIMEOUT,
                ARG_ROOT,
        };
        static const struct option options[] = {
                { "help",            no_argument,       NULL, 'h'                 },
                { "version",         no_argument,       NULL, ARG_VERSION         },
                { "json",            optional_argument, NULL, ARG_JSON            },
                { "no-legend",       no_argument,       NULL, ARG_NO_LEGEND       },
                { "quiet",           no_argument,       NULL, 'q'                 },
                { "no-pager",        no_argument,       NULL, ARG_NO_PAGER        },
                { "no-block",        no_argument,       NULL, ARG_NO_BLOCK        },
                { "host",            required_argument, NULL, 'H'                 },
                { "no-ask-password", no_argument,       NULL, ARG_NO_ASK_PASSWORD },
                { "wait",            no_argument,       NULL, ARG_WAIT            },
                { "timeout",         required_argument, NULL, ARG_TIMEOUT         },
                { "root",            required_argument, NULL, ARG_ROOT            },
                {}
        };
        int c, r;

        opterr = 0;
        while ((c = getopt_long(argc, argv, ":hqH:", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        help();
                        return 0;
                case ARG_VERSION:
                        puts("unifiedctl " PROJECT_VERSION);
                        return 0;
                case ARG_JSON:
                        r = ctl_json_from_string(optarg);
                        if (r < 0)
                                return log_error_errno(r, "Invalid --json '%s': expected pretty, short or off.",
                                                       optarg);
                        arg_json = (CtlJson) r;
                        break;
                case 'q':
                        arg_quiet = true;
                        arg_legend = false;
                        break;
                case ARG_NO_PAGER:
                        arg_pager = false;
                        break;
                case ARG_NO_BLOCK:
                        arg_no_block = true;
                        break;
                case ARG_NO_LEGEND:
                        arg_legend = false;
                        break;
                case 'H':
                        if (isempty(optarg))
                                return log_error_errno(-EINVAL, "--host needs a host name.");
                        arg_host = optarg;
                        break;
                case ARG_NO_ASK_PASSWORD:
                        arg_ask_password = false;
                        break;
                case ARG_WAIT:
                        arg_wait_given = true;
                        break;
                case ARG_TIMEOUT:
                        r = parse_sec(optarg, &arg_timeout);
                        if (r < 0)
                                return log_error_errno(r, "Invalid --timeout '%s': expected a duration such as 30s.",
                                                       optarg);
                        if (arg_timeout == 0)
                                arg_timeout = USEC_INFINITY;
                        break;
                case ARG_ROOT:
                        arg_root = optarg;
                        break;
                case ':':
                        return log_error_errno(-EINVAL, "Option '%s' needs a value.", argv[optind - 1]);
                case '?':
                        if (optopt > 0 && optopt < 0x100)
                                return log_error_errno(-EINVAL, "Unknown option '-%c'. See '%s --help'.", optopt,
                                                       program_invocation_short_name);
                        return log_error_errno(-EINVAL, "Unknown option '%s'. See '%s --help'.", argv[optind - 1],
                                               program_invocation_short_name);
                default:
                        abort();
                }
        return 1;
}

typedef enum VerbFlags {
        VERB_BUS = 1 << 0,              /* talks to unifiedd */
        VERB_WAIT = 1 << 1,             /* waits by default: --no-block, --wait and --timeout apply */
        VERB_PAGER = 1 << 2,            /* long output: through the pager on a terminal */
} VerbFlags;

typedef struct Verb {
        const char *name;
        unsigned min_args, max_args;
        const char *args;               /* for the usage error */
        VerbFlags flags;
        int (*bus_run)(sd_bus *bus, char **args);
} Verb;

static const Verb verbs[] = {
        { "list",          0, 0,        NULL,                   VERB_BUS | VERB_PAGER, verb_list        },
        { "status",        0, 0,        NULL,                   VERB_BUS | VERB_PAGER, verb_status      },
        { "start",         1, 1,        "a profile name",       VERB_BUS | VERB_WAIT, verb_start        },
        { "switch",        1, 1,        "a profile name",       VERB_BUS | VERB_WAIT, verb_start        },
        { "stop",          0, 1,        "at most a profile name", VERB_BUS | VERB_WAIT, verb_stop       },
        { "reload",        0, 0,        NULL,                   VERB_BUS,            verb_reload        },
        { "restart",       1, 1,        "an agent name",        VERB_BUS,            verb_restart       },
        { "agents",        0, 0,        NULL,                   VERB_BUS | VERB_PAGER, verb_agents      },
        { "health",        0, 0,        NULL,                   VERB_BUS | VERB_PAGER, verb_health      },
        { "reset-breaker", 1, 1,        "an agent name",        VERB_BUS,            verb_reset_breaker },
        { "open-breaker",  1, 1,        "an agent name",        VERB_BUS,            verb_open_breaker  },
        { "show",          1, 1,        "a profile name or file", VERB_PAGER,        NULL               },
        { "validate",      0, UINT_MAX, NULL,                   0,                   NULL               },
        { "dot",           1, 1,        "a profile name or file", 0,                 NULL               },
};

static int run(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        const Verb *verb = NULL;
        char **args;
        unsigned n;
        int r;

        /* "chaos" has options of its own (--rounds, --sla...): it reads the command line itself. */
        if (ctl_chaos_is_verb(argc, argv))
                return ctl_chaos_main(argc, argv);
        if (streq_ptr(ctl_argv_verb(argc, argv), "export"))
                return ctl_export_main(argc, argv);

        r = parse_argv(argc, argv);
        if (r <= 0)
                return r < 0 ? CTL_EXIT_USAGE : CTL_EXIT_SUCCESS;

        if (optind >= argc) {
                log_error("Missing command. See '%s --help'.", program_invocation_short_name);
                return CTL_EXIT_USAGE;
        }
        for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
                if (streq(argv[optind], verbs[i].name))
                        verb = verbs + i;
        if (!verb) {
                log_error("Unknown command '%s'. See '%s --help'.", argv[optind], program_invocation_short_name);
                return CTL_EXIT_USAGE;
        }

        args = argv + optind + 1;
        n = (unsigned) (argc - optind - 1);
        if (n < verb->min_args || n > verb->max_args) {
                if (verb->args)
                        log_error("'%s' takes %s.", verb->name, verb->args);
                else
                        log_error("'%s' takes no arguments.", verb->name);
                return CTL_EXIT_USAGE;
        }
        if ((arg_wait_given || arg_no_block || arg_timeout != USEC_INFINITY) && !(verb->flags & VERB_WAIT)) {
                log_error("--no-block, --wait and --timeout only apply to start, switch and stop.");
                return CTL_EXIT_USAGE;
        }
        if (arg_no_block && (arg_wait_given || arg_timeout != USEC_INFINITY)) {
                log_error("--no-block does not wait: it excludes --wait and --timeout.");
                return CTL_EXIT_USAGE;
        }
        if (arg_root && (verb->flags & VERB_BUS) && !streq(verb->name, "list")) {
                log_error("--root only applies to show, validate, dot and list.");
                return CTL_EXIT_USAGE;
        }

        if (arg_host && (!(verb->flags & VERB_BUS) || arg_root)) {
                log_error("--host does not apply to show, validate, dot and list --root: they read local files.");
                return CTL_EXIT_USAGE;
        }

        /* The width before a pager takes stdout over; $COLUMNS wins, as with systemctl. */
        arg_columns = ctl_output_columns();
        /* The bus verbs open it once connected: a failure to connect is one line on the terminal.
         * (--root is only accepted by the bus verb list, which it makes offline.) */
        if (arg_pager && (verb->flags & VERB_PAGER) && (!(verb->flags & VERB_BUS) || arg_root))
                arg_pager_pid = pager_open();

        CtlOutput out = {
                .json = arg_json,
                .legend = arg_legend,
                .quiet = arg_quiet,
                .columns = arg_columns,
                .ellipsis = arg_ellipsis,
        };
        if (streq(verb->name, "validate"))
                return offline_validate(arg_root, args, &out);
        if (streq(verb->name, "show"))
                return offline_show(arg_root, args[0], &out);
        if (streq(verb->name, "list") && arg_root)
                return offline_list(arg_root, &out);
        if (streq(verb->name, "dot"))
                return verb_dot(args[0]);

        bool status_like = streq(verb->name, "status") || streq(verb->name, "health") || streq(verb->name, "agents");
        r = bus_connect(status_like, &bus);
        if (r < 0)
                return -r;
        if (arg_pager && (verb->flags & VERB_PAGER))
                arg_pager_pid = pager_open();

        r = verb->bus_run(bus, args);
        if (r >= 0)
                return CTL_EXIT_SUCCESS;
        /* Verbs return -CtlExit for outcomes they classified, or another negative errno. */
        if (r == -CTL_EXIT_FAILURE || r == -CTL_EXIT_NOT_RUNNING || r == -CTL_EXIT_NOT_FOUND ||
            r == -CTL_EXIT_INVALID)
                return -r;
        return CTL_EXIT_FAILURE;
}

int main(int argc, char *argv[]) {
        int r;

        log_setup();
        /* The character set only, for the ellipsis in cut table cells. */
        if (setlocale(LC_CTYPE, ""))
                arg_ellipsis = ctl_output_ellipsis();
        r = run(argc, argv);
        pager_close(arg_pager_pid);
        return r;
}
