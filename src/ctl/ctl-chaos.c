/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* unifiedctl chaos: inject faults, collect FaultFinished, print the report. */

#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <systemd/sd-bus.h>

#include "chaos-report.h"
#include "config.h"
#include "ctl-chaos.h"
#include "ctl-util.h"
#include "json-writer.h"
#include "log.h"
#include "pager.h"
#include "macro.h"
#include "parse-util.h"
#include "polkit-agent.h"
#include "strv.h"
#include "table.h"
#include "time-util.h"

#define BUS_NAME "org.unified1"
#define MANAGER_PATH "/org/unified1"
#define MANAGER_IFACE "org.unified1.Manager"

/* How long "run" keeps retrying a fault that no agent can take yet (agents hit within their start
 * limit window become eligible again when it has passed). */
#define RETRY_FOR_USEC (3 * USEC_PER_MINUTE)
#define RETRY_EVERY_USEC (2 * USEC_PER_SEC)
/* Waiting for a fault's end: its duration, the daemon's recovery timeout, and this much more. */
#define WAIT_SLACK_USEC (30 * USEC_PER_SEC)
#define DAEMON_TIMEOUT_DEFAULT (2 * USEC_PER_MINUTE)

static const ChaosKind all_scenarios[] = {
        CHAOS_KIND_KILL, CHAOS_KIND_MEMORY, CHAOS_KIND_PARTITION, CHAOS_KIND_OUTAGE, CHAOS_KIND_CASCADE,
        CHAOS_KIND_STRESS,
};

/* How "list" and the reports print: as unifiedctl's other verbs (--json=MODE, --no-legend, fitted
 * tables, the pager). */
static CtlOutput arg_output = {
        .json = CTL_JSON_OFF,
        .legend = true,
        .columns = SIZE_MAX,
        .ellipsis = "...",
};
static bool arg_pager = true;
static bool arg_ask_password = true;
static const char *arg_host = NULL;
static unsigned arg_rounds = 1;
static usec_t arg_sla = 60 * USEC_PER_SEC;
static usec_t arg_duration = 0;                 /* 0: the daemon's default per kind */
static usec_t arg_stress_duration = 0;
static usec_t arg_timeout = 0;                  /* 0: the daemon's default */
static usec_t arg_interval = 0;
static unsigned arg_max_in_flight = 0;
static const char *arg_signal = NULL;
static const char *arg_kinds = NULL;
static uint64_t arg_limit = 0;
static bool arg_no_block = false;

typedef struct Collector {
        ChaosResult *results;
        size_t n_results;
        char **strings;                 /* owns the agents and details the results point to */
        uint64_t waiting_for;           /* the fault id whose FaultFinished ends the wait */
        bool done;
        FILE *progress;                 /* where each outcome is printed as it comes, NULL: nowhere */
        unsigned total, count;
} Collector;

static void collector_done(Collector *c) {
        free(c->results);
        strv_free(c->strings);
}

static const char *collector_keep(Collector *c, const char *s) {
        if (strv_extend(&c->strings, s) < 0)
                return NULL;
        return c->strings[strv_length(c->strings) - 1];
}

static void print_result(const ChaosResult *r, FILE *f, const char *prefix) {
        char a[CHAOS_FORMAT_SECONDS_MAX], b[CHAOS_FORMAT_SECONDS_MAX];
        usec_t t = chaos_result_recovery_usec(r);

        if (r->recovered && t != USEC_INFINITY)
                fprintf(f, "%sfault %" PRIu64 ": %s on %s recovered in %s (seen after %s)%s%s\n", prefix, r->id,
                        chaos_kind_to_string(r->kind), isempty(r->agent) ? "the profile" : r->agent,
                        chaos_format_seconds(a, sizeof(a), t),
                        chaos_format_seconds(b, sizeof(b), r->detected != USEC_INFINITY && r->detected >= r->injected
                                                                   ? r->detected - r->injected
                                                                   : USEC_INFINITY),
                        isempty(r->detail) ? "" : ": ", strempty(r->detail));
        else
                fprintf(f, "%sfault %" PRIu64 ": %s on %s did NOT recover: %s\n", prefix, r->id,
                        chaos_kind_to_string(r->kind), isempty(r->agent) ? "the profile" : r->agent,
                        strna(r->detail));
}

static int on_fault_finished(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        Collector *c = userdata;
        ChaosResult r = {};
        const char *kind, *agent, *detail;
        int recovered, k;
        ChaosResult *l;

        if (sd_bus_message_read(m, "ttssbtttts", &r.id, &r.parent, &kind, &agent, &recovered, &r.injected,
                                &r.detected, &r.undone, &r.recovered_at, &detail) < 0)
                return 0;
        /* Ours: the fault we wait for, or one of its stress run's faults. */
        if (r.id != c->waiting_for && r.parent != c->waiting_for)
                return 0;
        k = chaos_kind_from_string(kind);
        if (k < 0)
                return 0;
        r.kind = k;
        r.recovered = recovered;
        r.agent = collector_keep(c, agent);
        r.detail = collector_keep(c, detail);
        if (!r.agent || !r.detail)
                return log_oom();

        l = reallocarray(c->results, c->n_results + 1, sizeof(ChaosResult));
        if (!l)
                return log_oom();
        c->results = l;
        c->results[c->n_results++] = r;
        if (c->progress)
                print_result(&r, c->progress, r.parent != 0 ? "      " : "");
        if (r.id == c->waiting_for)
                c->done = true;
        return 0;
}

static int append_options(sd_bus_message *m, ChaosKind kind) {
        int r;

        r = sd_bus_message_open_container(m, 'a', "{sv}");
        if (r < 0)
                return r;
        if (arg_signal && (kind == CHAOS_KIND_KILL || kind == CHAOS_KIND_CASCADE))
                r = sd_bus_message_append(m, "{sv}", "signal", "s", arg_signal);
        if (r >= 0 && arg_timeout > 0)
                r = sd_bus_message_append(m, "{sv}", "timeout", "t", arg_timeout);
        if (r >= 0 && kind == CHAOS_KIND_STRESS && arg_interval > 0)
                r = sd_bus_message_append(m, "{sv}", "interval", "t", arg_interval);
        if (r >= 0 && kind == CHAOS_KIND_STRESS && arg_max_in_flight > 0)
                r = sd_bus_message_append(m, "{sv}", "max-in-flight", "u", (uint32_t) arg_max_in_flight);
        if (r >= 0 && kind == CHAOS_KIND_STRESS && arg_kinds)
                r = sd_bus_message_append(m, "{sv}", "kinds", "s", arg_kinds);
        if (r >= 0 && kind == CHAOS_KIND_MEMORY && arg_limit > 0)
                r = sd_bus_message_append(m, "{sv}", "limit", "t", arg_limit);
        if (r < 0)
                return r;
        return sd_bus_message_close_container(m);
}

static usec_t fault_duration(ChaosKind kind) {
        return kind == CHAOS_KIND_STRESS ? arg_stress_duration : arg_duration;
}

/* The most a fault can take from injection to its FaultFinished. */
static usec_t fault_wait_usec(ChaosKind kind) {
        usec_t d = fault_duration(kind);

        if (d == 0)
                d = kind == CHAOS_KIND_STRESS ? 30 * USEC_PER_SEC : 5 * USEC_PER_SEC;
        return d + (arg_timeout > 0 ? arg_timeout : DAEMON_TIMEOUT_DEFAULT) + WAIT_SLACK_USEC;
}

static int log_bus_error(const sd_bus_error *error, int r, const char *what) {
        const char *name = sd_bus_error_is_set(error) ? error->name : NULL;

        if (ctl_bus_error_is_not_running(name, r))
                log_error("%s: unifiedd is not running.", what);
        else if (name && error->message)
                log_error("%s: %s", what, error->message);
        else
                log_error_errno(r, "%s: %m", what);
        return -(int) ctl_exit_from_bus_error(name, r, false);
}

/* InjectFault, retried while no agent can take it yet; then waits for its FaultFinished. */
static int inject_and_wait(sd_bus *bus, Collector *c, ChaosKind kind, const char *agent, bool retry) {
        usec_t give_up = now(CLOCK_MONOTONIC) + RETRY_FOR_USEC, until;
        char what[128];
        uint64_t id;
        int r;

        (void) snprintf(what, sizeof(what), "Failed to inject %s%s%s", chaos_kind_to_string(kind),
                        isempty(agent) ? "" : " into ", strempty(agent));
        for (;;) {
                _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
                _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
                pid_t pk = 0;

                r = sd_bus_message_new_method_call(bus, &m, BUS_NAME, MANAGER_PATH, MANAGER_IFACE, "InjectFault");
                if (r < 0)
                        return log_oom();
                r = sd_bus_message_append(m, "sst", chaos_kind_to_string(kind), strempty(agent),
                                          fault_duration(kind));
                if (r >= 0)
                        r = append_options(m, kind);
                if (r < 0)
                        return log_error_errno(r, "Failed to build the call: %m");

                if (arg_ask_password && !arg_host && isatty(STDIN_FILENO) && geteuid() != 0)
                        pk = polkit_agent_open();
                r = sd_bus_call(bus, m, 0, &error, &reply);
                polkit_agent_close(pk);
                if (r >= 0) {
                        r = sd_bus_message_read(reply, "t", &id);
                        if (r < 0)
                                return log_error_errno(r, "Failed to read the fault id: %m");
                        break;
                }
                if (retry && (sd_bus_error_has_name(&error, "org.unified1.Error.NoEligibleAgent") ||
                              sd_bus_error_has_name(&error, "org.unified1.Error.Busy")) &&
                    now(CLOCK_MONOTONIC) < give_up) {
                        log_debug("%s, retrying: %s", what, error.message);
                        (void) usleep(RETRY_EVERY_USEC);
                        continue;
                }
                return log_bus_error(&error, r, what);
        }

        if (arg_no_block) {
                printf("%" PRIu64 "\n", id);
                return 0;
        }

        c->waiting_for = id;
        c->done = false;
        until = now(CLOCK_MONOTONIC) + fault_wait_usec(kind);
        while (!c->done) {
                usec_t t = now(CLOCK_MONOTONIC);

                if (t >= until)
                        return log_error_errno(-ETIMEDOUT, "Fault %" PRIu64 " did not finish in time.", id);
                r = sd_bus_process(bus, NULL);
                if (r < 0)
                        return log_error_errno(r, "Failed to process the bus: %m");
                if (r > 0)
                        continue;
                r = sd_bus_wait(bus, until - t);
                if (r < 0)
                        return log_error_errno(r, "Failed to wait on the bus: %m");
        }
        return 0;
}

static int report(const Collector *c) {
        ChaosSummary s;
        int r;

        r = chaos_summary_compute(c->results, c->n_results, arg_sla, &s);
        if (r < 0)
                return log_oom();
        if (arg_output.json)
                r = chaos_report_write_json(&s, c->results, c->n_results, stdout, arg_output.json == CTL_JSON_PRETTY);
        else
                r = chaos_report_write_table(&s, stdout);
        if (r < 0)
                return log_error_errno(r, "Failed to write the report: %m");
        return s.pass ? 0 : -CTL_EXIT_FAILURE;
}

/* The match goes in before the first InjectFault, so that no FaultFinished is missed. */
static int collector_watch(sd_bus *bus, Collector *c, sd_bus_slot **ret) {
        int r = sd_bus_match_signal(bus, ret, BUS_NAME, MANAGER_PATH, MANAGER_IFACE, "FaultFinished",
                                    on_fault_finished, c);
        if (r < 0)
                return log_error_errno(r, "Failed to watch for FaultFinished signals: %m");
        return 0;
}

static int chaos_inject(sd_bus *bus, char **args) {
        _cleanup_(collector_done) Collector c = { .progress = arg_output.json ? NULL : stdout };
        _cleanup_(sd_bus_slot_unrefp) sd_bus_slot *slot = NULL;
        ChaosKind kind = chaos_kind_from_string(args[0]);
        int r;

        if (kind < 0) {
                log_error("Unknown fault kind '%s' (kill, memory, partition, outage, cascade, stress).", args[0]);
                return -CTL_EXIT_USAGE;
        }
        r = collector_watch(bus, &c, &slot);
        if (r < 0)
                return r;
        r = inject_and_wait(bus, &c, kind, args[1], false);
        if (r < 0 || arg_no_block)
                return r;
        if (arg_output.json || kind == CHAOS_KIND_STRESS)
                return report(&c);
        for (size_t i = 0; i < c.n_results; i++)
                if (c.results[i].id == c.waiting_for)
                        return chaos_result_ok(c.results + i, arg_sla) ? 0 : -CTL_EXIT_FAILURE;
        return -CTL_EXIT_FAILURE;
}

static int chaos_run(sd_bus *bus, char **args) {
        _cleanup_(collector_done) Collector c = { .progress = arg_output.json ? NULL : stderr };
        _cleanup_(sd_bus_slot_unrefp) sd_bus_slot *slot = NULL;
        ChaosKind scenarios[_CHAOS_KIND_MAX];
        size_t n = 0;
        int r;

        STRV_FOREACH(a, args) {
                ChaosKind k = chaos_kind_from_string(*a);

                if (k < 0) {
                        log_error("Unknown scenario '%s' (kill, memory, partition, outage, cascade, stress).", *a);
                        return -CTL_EXIT_USAGE;
                }
                if (n < ELEMENTSOF(scenarios))
                        scenarios[n++] = k;
        }
        if (n == 0) {
                memcpy(scenarios, all_scenarios, sizeof(all_scenarios));
                n = ELEMENTSOF(all_scenarios);
        }

        r = collector_watch(bus, &c, &slot);
        if (r < 0)
                return r;
        c.total = arg_rounds * (unsigned) n;
        for (unsigned round = 0; round < arg_rounds; round++)
                for (size_t i = 0; i < n; i++) {
                        if (c.progress)
                                fprintf(stderr, "[%u/%u] %s\n", ++c.count, c.total, chaos_kind_to_string(scenarios[i]));
                        r = inject_and_wait(bus, &c, scenarios[i], NULL, true);
                        if (r < 0)
                                return r;
                }
        if (!arg_output.json)
                printf("\n");
        return report(&c);
}

/* The Manager's Faults property, as "systemctl list-jobs" shows jobs: what is still in flight, and
 * why an undo is late (its detail). Read on demand: nothing is injected, no authorization needed. */
static int chaos_list(sd_bus *bus) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(table_freep) Table *t = NULL;
        JsonWriter w;
        uint64_t id;
        const char *kind, *agent, *phase, *detail;
        int r;

        r = sd_bus_get_property(bus, BUS_NAME, MANAGER_PATH, MANAGER_IFACE, "Faults", &error, &reply,
                                "a(tssss)");
        if (r < 0)
                return log_bus_error(&error, r, "Failed to read the faults in flight");

        t = table_new("ID", "KIND", "AGENT", "PHASE", "DETAIL", NULL);
        if (!t)
                return log_oom();
        if (arg_output.json) {
                json_writer_init(&w, stdout, arg_output.json == CTL_JSON_PRETTY ? JSON_WRITER_PRETTY : 0);
                json_writer_array_begin(&w);
        }
        r = sd_bus_message_enter_container(reply, 'a', "(tssss)");
        if (r < 0)
                return log_error_errno(r, "Failed to parse the faults in flight: %m");
        while ((r = sd_bus_message_read(reply, "(tssss)", &id, &kind, &agent, &phase, &detail)) > 0) {
                char buf[sizeof("18446744073709551615")];

                if (arg_output.json) {
                        json_writer_object_begin(&w);
                        json_writer_key(&w, "id");
                        json_writer_unsigned(&w, id);
                        json_writer_key(&w, "kind");
                        json_writer_string(&w, kind);
                        json_writer_key(&w, "agent");
                        json_writer_string(&w, agent);
                        json_writer_key(&w, "phase");
                        json_writer_string(&w, phase);
                        json_writer_key(&w, "detail");
                        json_writer_string(&w, detail);
                        json_writer_object_end(&w);
                        continue;
                }
                (void) snprintf(buf, sizeof(buf), "%" PRIu64, id);
                if (table_add_row(t, buf, kind, isempty(agent) ? NULL : agent, phase,
                                  isempty(detail) ? NULL : detail) < 0)
                        return log_oom();
        }
        if (r < 0)
                return log_error_errno(r, "Failed to parse the faults in flight: %m");

        if (arg_output.json) {
                json_writer_array_end(&w);
                r = json_writer_finish(&w);
                if (r < 0)
                        return log_error_errno(r, "Failed to write the list: %m");
                return 0;
        }
        if (table_rows(t) > 0)
                table_print(t, stdout, arg_output.legend, arg_output.columns, arg_output.ellipsis);
        if (arg_output.legend) {
                if (table_rows(t) > 0)
                        printf("\n");
                printf("%zu fault%s in flight.\n", table_rows(t), table_rows(t) == 1 ? "" : "s");
        }
        return 0;
}

/* --- Command line -------------------------------------------------------------------------------- */

bool ctl_chaos_is_verb(int argc, char *argv[]) {
        return streq_ptr(ctl_argv_verb(argc, argv), "chaos");
}

static void help(void) {
        printf("%s [OPTIONS...] chaos COMMAND ...\n\n"
               "Inject faults into the active profile's agents and measure their recovery.\n\n"
               "Commands:\n"
               "  inject KIND [AGENT]      Inject one fault (kill, memory, partition, outage, cascade,\n"
               "                           stress) and wait for its outcome; no AGENT: one at random\n"
               "  run [SCENARIO...]        Run scenarios (default: all six) and print the report\n"
               "  list                     List the faults in flight, with their phase\n\n"
               "Options:\n"
               "  -h --help                Show this help\n"
               "     --json[=MODE]         Print the report (or the list) as JSON (docs/chaos.md):\n"
               "                           pretty (the default), short or off\n"
               "     --no-legend           list: no header and footer\n"
               "     --no-pager            list: do not pipe the output into a pager\n"
               "  -H --host=[USER@]HOST    Operate on a remote host (over ssh)\n"
               "     --no-ask-password     Do not ask for a password when authorization is needed\n"
               "     --rounds=N            run: run each scenario N times (default: 1)\n"
               "     --sla=DURATION        Recovery time objective (default: 60s)\n"
               "     --duration=DURATION   How long memory, partition and outage faults hold (default: 5s)\n"
               "     --stress-duration=DURATION\n"
               "                           How long a stress run injects (default: 30s)\n"
               "     --interval=DURATION   Stress: time between injections (default: 1s)\n"
               "     --max-in-flight=N     Stress: faults in flight at most (default: 3)\n"
               "     --kinds=LIST          Stress: fault kinds to cycle through (kill,memory; default: kill)\n"
               "     --signal=SIGNAL       kill, cascade: the signal (default: SIGKILL)\n"
               "     --limit=SIZE          memory: the squeezed MemoryMax= (default: one page, or 8M\n"
               "                           above use for agents with a fault file)\n"
               "     --recovery-timeout=DURATION\n"
               "                           Give up on a recovery after DURATION (default: 2min)\n"
               "     --no-block            inject: print the fault id and return at once\n\n"
               "Exit status 0 when every fault recovered within the SLA, 1 otherwise.\n",
               program_invocation_short_name);
}

static int parse_argv(int argc, char *argv[]) {
        enum {
                ARG_JSON = 0x100,
                ARG_NO_LEGEND,
                ARG_NO_PAGER,
                ARG_NO_ASK_PASSWORD,
                ARG_ROUNDS,
                ARG_SLA,
                ARG_DURATION,
                ARG_STRESS_DURATION,
                ARG_INTERVAL,
                ARG_MAX_IN_FLIGHT,
                ARG_KINDS,
                ARG_SIGNAL,
                ARG_LIMIT,
                ARG_RECOVERY_TIMEOUT,
                ARG_NO_BLOCK,
        };
        static const struct option options[] = {
                { "help",             no_argument,       NULL, 'h'                  },
                { "json",             optional_argument, NULL, ARG_JSON             },
                { "no-legend",        no_argument,       NULL, ARG_NO_LEGEND        },
                { "no-pager",         no_argument,       NULL, ARG_NO_PAGER         },
                { "host",             required_argument, NULL, 'H'                  },
                { "no-ask-password",  no_argument,       NULL, ARG_NO_ASK_PASSWORD  },
                { "rounds",           required_argument, NULL, ARG_ROUNDS           },
                { "sla",              required_argument, NULL, ARG_SLA              },
                { "duration",         required_argument, NULL, ARG_DURATION         },
                { "stress-duration",  required_argument, NULL, ARG_STRESS_DURATION  },
                { "interval",         required_argument, NULL, ARG_INTERVAL         },
                { "max-in-flight",    required_argument, NULL, ARG_MAX_IN_FLIGHT    },
                { "kinds",            required_argument, NULL, ARG_KINDS            },
                { "signal",           required_argument, NULL, ARG_SIGNAL           },
                { "limit",            required_argument, NULL, ARG_LIMIT            },
                { "recovery-timeout", required_argument, NULL, ARG_RECOVERY_TIMEOUT },
                { "no-block",         no_argument,       NULL, ARG_NO_BLOCK         },
                {}
        };
        uint64_t u;
        int c, r;

        opterr = 0;
        while ((c = getopt_long(argc, argv, ":hH:", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        help();
                        return 0;
                case ARG_JSON:
                        r = ctl_json_from_string(optarg);
                        if (r < 0) {
                                log_error("Invalid --json '%s': expected pretty, short or off.", optarg);
                                return -EINVAL;
                        }
                        arg_output.json = (CtlJson) r;
                        break;
                case ARG_NO_LEGEND:
                        arg_output.legend = false;
                        break;
                case ARG_NO_PAGER:
                        arg_pager = false;
                        break;
                case 'H':
                        if (isempty(optarg))
                                return log_error_errno(-EINVAL, "--host needs a host name.");
                        arg_host = optarg;
                        break;
                case ARG_NO_ASK_PASSWORD:
                        arg_ask_password = false;
                        break;
                case ARG_ROUNDS:
                        r = safe_atou64(optarg, &u);
                        if (r < 0 || u == 0 || u > 10000)
                                return log_error_errno(-EINVAL, "Invalid --rounds '%s': 1..10000.", optarg);
                        arg_rounds = (unsigned) u;
                        break;
                case ARG_SLA:
                        r = parse_sec(optarg, &arg_sla);
                        if (r < 0 || arg_sla == 0)
                                return log_error_errno(-EINVAL, "Invalid --sla '%s': a duration such as 60s.", optarg);
                        break;
                case ARG_DURATION:
                case ARG_STRESS_DURATION:
                case ARG_INTERVAL:
                case ARG_RECOVERY_TIMEOUT: {
                        usec_t t;

                        r = parse_sec(optarg, &t);
                        if (r < 0 || t == 0 || t == USEC_INFINITY)
                                return log_error_errno(-EINVAL, "Invalid duration '%s' for %s.", optarg,
                                                       argv[optind - 1]);
                        if (c == ARG_DURATION)
                                arg_duration = t;
                        else if (c == ARG_STRESS_DURATION)
                                arg_stress_duration = t;
                        else if (c == ARG_INTERVAL)
                                arg_interval = t;
                        else
                                arg_timeout = t;
                        break;
                }
                case ARG_MAX_IN_FLIGHT:
                        r = safe_atou64(optarg, &u);
                        if (r < 0 || u == 0 || u > 64)
                                return log_error_errno(-EINVAL, "Invalid --max-in-flight '%s': 1..64.", optarg);
                        arg_max_in_flight = (unsigned) u;
                        break;
                case ARG_KINDS:
                        arg_kinds = optarg;
                        break;
                case ARG_SIGNAL:
                        arg_signal = optarg;
                        break;
                case ARG_LIMIT:
                        r = parse_size(optarg, &arg_limit);
                        if (r < 0 || arg_limit == 0 || arg_limit == UINT64_MAX)
                                return log_error_errno(-EINVAL, "Invalid --limit '%s': a size such as 16M.", optarg);
                        break;
                case ARG_NO_BLOCK:
                        arg_no_block = true;
                        break;
                case ':':
                        return log_error_errno(-EINVAL, "Option '%s' needs a value.", argv[optind - 1]);
                case '?':
                        return log_error_errno(-EINVAL, "Unknown option '%s'. See '%s chaos --help'.",
                                               argv[optind - 1], program_invocation_short_name);
                default:
                        abort();
                }
        return 1;
}

int ctl_chaos_main(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        char **args;
        unsigned n;
        int r;

        r = parse_argv(argc, argv);
        if (r <= 0)
                return r < 0 ? CTL_EXIT_USAGE : CTL_EXIT_SUCCESS;

        /* argv[optind] is "chaos" (getopt moved the options in front). */
        if (optind + 1 >= argc) {
                log_error("'chaos' takes a command: inject, run or list. See '%s chaos --help'.",
                          program_invocation_short_name);
                return CTL_EXIT_USAGE;
        }
        args = argv + optind + 2;
        n = (unsigned) (argc - optind - 2);
        if (streq(argv[optind + 1], "inject")) {
                if (n < 1 || n > 2) {
                        log_error("'chaos inject' takes a fault kind and at most an agent name.");
                        return CTL_EXIT_USAGE;
                }
        } else if (streq(argv[optind + 1], "run") || streq(argv[optind + 1], "list")) {
                if (arg_no_block) {
                        log_error("--no-block only applies to 'chaos inject'.");
                        return CTL_EXIT_USAGE;
                }
                if (streq(argv[optind + 1], "list") && n > 0) {
                        log_error("'chaos list' takes no arguments.");
                        return CTL_EXIT_USAGE;
                }
        } else {
                log_error("Unknown chaos command '%s': inject, run or list.", argv[optind + 1]);
                return CTL_EXIT_USAGE;
        }

        if (arg_host)
                r = sd_bus_open_system_remote(&bus, arg_host);
        else
                r = sd_bus_open_system(&bus);
        if (r < 0) {
                log_error_errno(r, "Failed to connect to the system bus: %m");
                return ctl_exit_from_bus_error(NULL, r, false);
        }
        (void) sd_bus_set_allow_interactive_authorization(bus, arg_ask_password);

        if (streq(argv[optind + 1], "inject"))
                r = chaos_inject(bus, args);
        else if (streq(argv[optind + 1], "run"))
                r = chaos_run(bus, args);
        else {
                /* As unifiedctl's listings: the width measured before the pager takes stdout, the
                 * pager opened once connected. */
                pid_t pager = 0;

                arg_output.columns = ctl_output_columns();
                arg_output.ellipsis = ctl_output_ellipsis();
                if (arg_pager)
                        pager = pager_open();
                r = chaos_list(bus);
                pager_close(pager);
        }
        if (r >= 0)
                return CTL_EXIT_SUCCESS;
        if (r == -CTL_EXIT_FAILURE || r == -CTL_EXIT_USAGE || r == -CTL_EXIT_NOT_RUNNING ||
            r == -CTL_EXIT_NOT_FOUND || r == -CTL_EXIT_INVALID)
                return -r;
        return CTL_EXIT_FAILURE;
}
