/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Baseline (b) of the start benchmark: the StartTransientUnit calls the daemon would make for a
 * profile, sent back to back on one connection by a client that does nothing else, then waiting for
 * every job to finish. It uses the daemon's own planner and serializer, so the calls are the same
 * ones byte for byte; what it leaves out is everything the daemon adds (state, D-Bus objects,
 * journal, breakers). With --print-systemd-run it prints baseline (a) instead: one systemd-run
 * command per unit, in the same order and with the same properties, as shell lines.
 *
 * The calls go out through a window of FLOOR_WINDOW_DEFAULT (--window): dbus-daemon refuses a call once
 * a connection has 128 waiting for their reply, and bench/scale starts up to 1000 agents. The shipped
 * profiles (at most 78 calls) never fill it, so for them every call still goes out at once.
 * The daemon's client also keeps at most SYSTEMD_JOBS_MAX jobs pending (systemd-client.h): past some
 * 500, PID 1 loses its bus connection. The floor goes through the same client and the same bound.
 *
 * --sandbox (bench/sandbox-cost) takes the planner's sandbox off the services, or all of it but the
 * properties named, so that what each setting costs at start is measured on otherwise identical units;
 * --netns puts them all in one network namespace instead of one each. */

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-bus.h>

#include "macro.h"
#include "parse-util.h"
#include "plan.h"
#include "profile-set.h"
#include "strv.h"
#include "systemd-client.h"
#include "time-util.h"

/* Under the system bus's max_replies_per_connection (128), with room to spare. */
#define FLOOR_WINDOW_DEFAULT 120u

/* --sandbox: the services as planned, without the sandbox, or without it but for the names in
 * arg_sandbox_keep. */
typedef enum SandboxMode {
        SANDBOX_DEFAULT,
        SANDBOX_NONE,
        SANDBOX_ONLY,
} SandboxMode;

static SandboxMode arg_sandbox = SANDBOX_DEFAULT;
static char **arg_sandbox_keep = NULL;
/* --netns: NetworkNamespacePath= to this in place of PrivateNetwork=yes, the shared namespace issue 15
 * weighs against one per agent. An experiment of the benchmark, not something the daemon does. */
static const char *arg_netns = NULL;

typedef struct Run {
        char **pending;         /* job paths still running */
        char **finished_early;  /* JobRemoved seen before the call's reply (never expected, cheap to handle) */
        unsigned n_calls;
        unsigned n_replies;
        unsigned n_failed;
} Run;

static uint64_t now_usec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * USEC_PER_SEC + (uint64_t) ts.tv_nsec / NSEC_PER_USEC;
}

static bool strv_take_one(char **l, const char *s) {
        for (size_t i = 0; l && l[i]; i++)
                if (streq(l[i], s)) {
                        free(l[i]);
                        memmove(l + i, l + i + 1, (strv_length(l + i + 1) + 1) * sizeof(char *));
                        return true;
                }
        return false;
}

static int on_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        Run *run = userdata;
        const char *job;

        run->n_replies++;
        if (sd_bus_message_is_method_error(reply, NULL)) {
                fprintf(stderr, "call failed: %s\n", sd_bus_message_get_error(reply)->message);
                run->n_failed++;
                return 0;
        }
        /* SetUnitProperties replies with nothing. */
        if (sd_bus_message_read(reply, "o", &job) <= 0)
                return 0;
        if (strv_take_one(run->finished_early, job))
                return 0;
        if (strv_extend(&run->pending, job) < 0)
                return -ENOMEM;
        return 0;
}

static int on_job_removed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        Run *run = userdata;
        const char *job, *unit, *result;
        uint32_t id;

        if (sd_bus_message_read(m, "uoss", &id, &job, &unit, &result) < 0)
                return 0;
        if (!strv_take_one(run->pending, job)) {
                if (run->n_replies < run->n_calls && strv_extend(&run->finished_early, job) < 0)
                        return -ENOMEM;
                return 0;
        }
        if (!streq(result, "done")) {
                fprintf(stderr, "%s: job %s\n", unit, result);
                run->n_failed++;
        }
        return 0;
}

static int load_profile(const char *name, Profile **ret) {
        _cleanup_(profile_set_freep) ProfileSet *set = NULL;
        Diagnostics diag = {};
        int r;

        r = profile_set_load(NULL, &diag, &set);
        if (r >= 0)
                r = profile_set_resolve(set, name, &diag, ret);
        if (r < 0)
                diagnostics_print(&diag, stderr);
        diagnostics_done(&diag);
        return r;
}

static bool has_suffix(const char *s, const char *suffix) {
        size_t a = strlen(s), b = strlen(suffix);

        return a >= b && streq(s + a - b, suffix);
}

static void print_quoted(FILE *f, const char *s) {
        fputc('\'', f);
        for (; *s; s++)
                if (*s == '\'')
                        fputs("'\\''", f);
                else
                        fputc(*s, f);
        fputc('\'', f);
}

static void print_assignment(FILE *f, const char *option, const char *name, const char *value) {
        _cleanup_free_ char *a = NULL;

        if (asprintf(&a, "%s=%s", name, value) < 0)
                abort();
        if (option)
                fprintf(f, " %s ", option);
        else
                fputc(' ', f);
        print_quoted(f, a);
}

/* One property in systemd-run's -p syntax (the unit file syntax). Returns false for a property that
 * has no such form here, so that a planner change shows up as an error instead of a silently
 * different baseline. */
static bool print_property(FILE *f, const char *option, const UnitProperty *p) {
        char buf[64];

        switch (p->type) {
        case UNIT_PROPERTY_STRING:
                print_assignment(f, option, p->name, p->s);
                return true;
        case UNIT_PROPERTY_BOOL:
                print_assignment(f, option, p->name, p->b ? "yes" : "no");
                return true;
        case UNIT_PROPERTY_U32:
        case UNIT_PROPERTY_U64:
                if (streq(p->name, "CPUQuotaPerSecUSec")) {
                        if (p->t == USEC_INFINITY)
                                print_assignment(f, option, "CPUQuota", "");
                        else {
                                /* CPUQuota=% has a resolution of 10 ms per second; the planner's values
                                 * are whole percent. */
                                snprintf(buf, sizeof buf, "%" PRIu64 "%%", p->t / (10 * USEC_PER_MSEC));
                                print_assignment(f, option, "CPUQuota", buf);
                        }
                        return true;
                }
                if (streq(p->name, "RestrictNamespaces")) {
                        if (p->t != 0)
                                return false;
                        print_assignment(f, option, p->name, "yes");
                        return true;
                }
                if (streq(p->name, "CapabilityBoundingSet") || streq(p->name, "AmbientCapabilities")) {
                        /* A mask: systemd takes capability numbers as well as names; empty is no
                         * capability at all (a bare "0" would be CAP_CHOWN). */
                        _cleanup_strv_free_ char **caps = NULL;
                        _cleanup_free_ char *v = NULL;

                        for (unsigned c = 0; c < 64; c++)
                                if (p->t & (UINT64_C(1) << c)) {
                                        snprintf(buf, sizeof buf, "%u", c);
                                        if (strv_extend(&caps, buf) < 0)
                                                abort();
                                }
                        v = strv_join(caps, " ");
                        if (!v)
                                abort();
                        print_assignment(f, option, p->name, v);
                        return true;
                }
                if (streq(p->name, "UMask")) {
                        /* Octal in a unit file. */
                        snprintf(buf, sizeof buf, "%04" PRIo64, p->t);
                        print_assignment(f, option, p->name, buf);
                        return true;
                }
                if (has_suffix(p->name, "USec")) {
                        _cleanup_free_ char *n = NULL;

                        /* RestartUSec -> RestartSec=...us, as in a unit file. */
                        if (asprintf(&n, "%.*sSec", (int) (strlen(p->name) - 4), p->name) < 0)
                                abort();
                        if (p->t == USEC_INFINITY)
                                snprintf(buf, sizeof buf, "infinity");
                        else
                                snprintf(buf, sizeof buf, "%" PRIu64 "us", p->t);
                        print_assignment(f, option, n, buf);
                        return true;
                }
                if (p->t == UINT64_MAX)
                        snprintf(buf, sizeof buf, streq(p->name, "CPUWeight") ? "" : "infinity");
                else
                        snprintf(buf, sizeof buf, "%" PRIu64, p->t);
                print_assignment(f, option, p->name, buf);
                return true;
        case UNIT_PROPERTY_STRV:
                STRV_FOREACH(i, p->strv)
                        print_assignment(f, option, p->name, *i);
                return true;
        case UNIT_PROPERTY_CONDITIONS:
        case UNIT_PROPERTY_LISTEN:
                for (size_t i = 0; p->strv && p->strv[i] && p->strv[i + 1]; i += 2) {
                        _cleanup_free_ char *n = NULL;

                        if (asprintf(&n, "%s%s", p->type == UNIT_PROPERTY_LISTEN ? "Listen" : "",
                                     p->strv[i]) < 0)
                                abort();
                        print_assignment(f, option, n, p->strv[i + 1]);
                }
                return true;
        case UNIT_PROPERTY_I32:
                snprintf(buf, sizeof buf, "%" PRIi32, (int32_t) p->t);
                print_assignment(f, option, p->name, buf);
                return true;
        case UNIT_PROPERTY_FILTER: {
                /* "~" in front of a deny-list, as in a unit file. */
                _cleanup_free_ char *l = strv_join(p->strv, " "), *v = NULL;

                if (!l || asprintf(&v, "%s%s", p->b ? "" : "~", l) < 0)
                        abort();
                print_assignment(f, option, p->name, v);
                return true;
        }
        case UNIT_PROPERTY_EXEC:
                return false;   /* the command line, printed last */
        default:
                return false;
        }
}

static int print_systemd_run(const UnitSpec *svc, const UnitSpec *sock) {
        const UnitProperty *exec = NULL;
        _cleanup_free_ char *unit = NULL;

        unit = strndup(svc->name, strlen(svc->name) - strlen(".service"));
        if (!unit)
                return -ENOMEM;
        fputs("systemd-run --quiet --unit=", stdout);
        print_quoted(stdout, unit);
        for (size_t i = 0; sock && i < sock->n_properties; i++)
                if (!print_property(stdout, "--socket-property", &sock->properties[i])) {
                        fprintf(stderr, "%s: no systemd-run form for %s\n", sock->name, sock->properties[i].name);
                        return -EOPNOTSUPP;
                }
        for (size_t i = 0; i < svc->n_properties; i++) {
                if (svc->properties[i].type == UNIT_PROPERTY_EXEC) {
                        exec = &svc->properties[i];
                        continue;
                }
                if (!print_property(stdout, "-p", &svc->properties[i])) {
                        fprintf(stderr, "%s: no systemd-run form for %s\n", svc->name, svc->properties[i].name);
                        return -EOPNOTSUPP;
                }
        }
        if (!exec || !streq(exec->name, "ExecStart"))
                return -EINVAL;
        fputs(" --", stdout);
        STRV_FOREACH(a, exec->strv) {
                putchar(' ');
                print_quoted(stdout, *a);
        }
        putchar('\n');
        return 0;
}

static int print_slice(const UnitSpec *slice) {
        printf("systemctl set-property --runtime %s", slice->name);
        /* set-property takes bare NAME=VALUE words: no option in front. */
        for (size_t i = 0; i < slice->n_properties; i++)
                if (!print_property(stdout, NULL, &slice->properties[i]))
                        return -EOPNOTSUPP;
        putchar('\n');
        return 0;
}

/* The properties --sandbox takes off an agent's service: the planner's sandbox, and the runtime
 * directory, which is a mkdir (and with DynamicUser= a chown) at every start. */
static int sandbox_names(const Agent *a, char ***ret) {
        _cleanup_(unit_spec_freep) UnitSpec *sandbox = NULL;
        _cleanup_strv_free_ char **l = NULL;
        int r;

        r = plan_agent_sandbox(a, &sandbox);
        if (r < 0)
                return r;
        for (size_t i = 0; i < sandbox->n_properties; i++) {
                r = strv_extend(&l, sandbox->properties[i].name);
                if (r < 0)
                        return r;
        }
        r = strv_extend(&l, "RuntimeDirectory");
        if (r < 0)
                return r;
        *ret = TAKE_PTR(l);
        return 0;
}

static int apply_sandbox_options(const Agent *a, UnitSpec *svc) {
        _cleanup_strv_free_ char **names = NULL;
        size_t k = 0;
        int r;

        if (arg_sandbox != SANDBOX_DEFAULT) {
                r = sandbox_names(a, &names);
                if (r < 0)
                        return r;
                for (size_t i = 0; i < svc->n_properties; i++) {
                        UnitProperty *p = &svc->properties[i];

                        if (strv_contains(names, p->name) && !strv_contains(arg_sandbox_keep, p->name)) {
                                free(p->s);
                                strv_free(p->strv);
                                continue;
                        }
                        svc->properties[k++] = *p;
                }
                svc->n_properties = k;
        }

        /* --netns: one network namespace for every agent without network instead of one each. */
        for (size_t i = 0; arg_netns && i < svc->n_properties; i++) {
                UnitProperty *p = &svc->properties[i];
                char *path;

                if (!streq(p->name, "PrivateNetwork") || p->type != UNIT_PROPERTY_BOOL || !p->b)
                        continue;
                path = strdup(arg_netns);
                if (!path)
                        return -ENOMEM;
                *p = (UnitProperty) { .name = "NetworkNamespacePath", .type = UNIT_PROPERTY_STRING, .s = path };
        }
        return 0;
}

/* Every name --sandbox may vary for PROFILE's agents, in plan order: into *ret. */
static int profile_sandbox_names(const Profile *p, char ***ret) {
        _cleanup_strv_free_ char **all = NULL;
        int r;

        for (size_t i = 0; i < p->n_agents; i++) {
                _cleanup_strv_free_ char **names = NULL;

                r = sandbox_names(p->agents[i], &names);
                if (r < 0)
                        return r;
                STRV_FOREACH(n, names)
                        if (!strv_contains(all, *n)) {
                                r = strv_extend(&all, *n);
                                if (r < 0)
                                        return r;
                        }
        }
        *ret = TAKE_PTR(all);
        return 0;
}

static int parse_sandbox(const char *s) {
        _cleanup_free_ char *copy = NULL;
        char *state = NULL;
        int r;

        if (streq(s, "default")) {
                arg_sandbox = SANDBOX_DEFAULT;
                return 0;
        }
        arg_sandbox_keep = strv_free(arg_sandbox_keep);
        if (streq(s, "none")) {
                arg_sandbox = SANDBOX_NONE;
                return 0;
        }
        copy = strdup(s);
        if (!copy)
                return -ENOMEM;
        for (char *w = strtok_r(copy, ",", &state); w; w = strtok_r(NULL, ",", &state)) {
                r = strv_extend(&arg_sandbox_keep, w);
                if (r < 0)
                        return r;
        }
        if (!arg_sandbox_keep)
                return -EINVAL;
        arg_sandbox = SANDBOX_ONLY;
        return 0;
}

static int systemd_version(sd_bus *bus, unsigned *ret) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_free_ char *v = NULL;
        int r;

        r = sd_bus_get_property_string(bus, SYSTEMD_SERVICE, SYSTEMD_PATH, SYSTEMD_MANAGER_IFACE, "Version",
                                       &error, &v);
        if (r < 0)
                return r;
        return systemd_parse_version(v, ret);
}

static void usage(void) {
        printf("Usage: pipelined-start [--window N] [--sandbox MODE] [--netns PATH] [--print-systemd-run [--systemd-version N]]\n"
               "                      PROFILE\n"
               "       pipelined-start --list-sandbox PROFILE\n"
               "  Starts PROFILE's units with pipelined StartTransientUnit calls (as unifiedd plans them),\n"
               "  at most N waiting for their reply at a time (default %u, under dbus-daemon's 128),\n"
               "  waits for every job, prints \"units N elapsed_us N\". With --print-systemd-run prints the\n"
               "  equivalent systemctl set-property + systemd-run lines instead (asking systemd for its version\n"
               "  unless --systemd-version is given).\n"
               "  --sandbox default|none|NAME[,NAME...]: the services as planned (default), without their\n"
               "  sandbox and runtime directory (none), or without them but for the properties named.\n"
               "  --netns PATH: NetworkNamespacePath=PATH instead of PrivateNetwork=yes (a namespace shared by all).\n"
               "  --list-sandbox prints the names --sandbox varies for PROFILE's agents, one a line.\n",
               FLOOR_WINDOW_DEFAULT);
}

int main(int argc, char *argv[]) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(systemd_client_freep) SystemdClient *client = NULL;
        _cleanup_(profile_freep) Profile *p = NULL;
        _cleanup_(unit_spec_freep) UnitSpec *slice = NULL;
        _cleanup_free_ size_t *order = NULL;
        Run run = {};
        bool print = false, list_sandbox = false;
        unsigned version = 0, window = FLOOR_WINDOW_DEFAULT;
        uint64_t t0, t1;
        long n_cpus;
        int r;

        static const struct option options[] = {
                { "print-systemd-run", no_argument, NULL, 'p' },
                { "systemd-version",   required_argument, NULL, 'v' },
                { "window",            required_argument, NULL, 'w' },
                { "sandbox",           required_argument, NULL, 's' },
                { "list-sandbox",      no_argument, NULL, 'l' },
                { "netns",             required_argument, NULL, 'n' },
                { "help",              no_argument, NULL, 'h' },
                {}
        };
        for (int c; (c = getopt_long(argc, argv, "h", options, NULL)) >= 0;)
                switch (c) {
                case 'p':
                        print = true;
                        break;
                case 'v':
                        /* Planning without asking systemd (printing on a machine without it). */
                        r = systemd_parse_version(optarg, &version);
                        if (r < 0) {
                                fprintf(stderr, "Bad version: %s\n", optarg);
                                return EXIT_FAILURE;
                        }
                        break;
                case 'w': {
                        uint64_t w;

                        if (safe_atou64(optarg, &w) < 0 || w == 0 || w > UINT_MAX) {
                                fprintf(stderr, "Bad --window '%s': expected a number of calls, at least 1\n", optarg);
                                return EXIT_FAILURE;
                        }
                        window = (unsigned) w;
                        break;
                }
                case 's':
                        r = parse_sandbox(optarg);
                        if (r < 0) {
                                fprintf(stderr, "Bad --sandbox '%s': expected default, none or property names, comma-separated\n",
                                        optarg);
                                return EXIT_FAILURE;
                        }
                        break;
                case 'l':
                        list_sandbox = true;
                        break;
                case 'n':
                        if (optarg[0] != '/') {
                                fprintf(stderr, "Bad --netns '%s': expected an absolute path\n", optarg);
                                return EXIT_FAILURE;
                        }
                        arg_netns = optarg;
                        break;
                case 'h':
                        usage();
                        return EXIT_SUCCESS;
                default:
                        return EXIT_FAILURE;
                }
        if (optind != argc - 1) {
                usage();
                return EXIT_FAILURE;
        }

        r = load_profile(argv[optind], &p);
        if (r < 0) {
                fprintf(stderr, "Failed to load profile %s: %s\n", argv[optind], strerror(-r));
                return EXIT_FAILURE;
        }
        if (list_sandbox || arg_sandbox == SANDBOX_ONLY) {
                _cleanup_strv_free_ char **names = NULL;

                r = profile_sandbox_names(p, &names);
                if (r < 0) {
                        fprintf(stderr, "Failed to plan: %s\n", strerror(-r));
                        return EXIT_FAILURE;
                }
                if (list_sandbox) {
                        STRV_FOREACH(n, names)
                                puts(*n);
                        return EXIT_SUCCESS;
                }
                /* A misspelt name would measure the bare units under another name. */
                STRV_FOREACH(k, arg_sandbox_keep)
                        if (!strv_contains(names, *k)) {
                                fprintf(stderr, "--sandbox: %s is not a setting of %s's sandbox (see --list-sandbox)\n",
                                        *k, argv[optind]);
                                return EXIT_FAILURE;
                        }
        }

        n_cpus = sysconf(_SC_NPROCESSORS_ONLN);
        r = plan_slice(p, n_cpus > 0 ? (unsigned) n_cpus : 1, &slice);
        if (r >= 0)
                r = plan_start_order(p, &order);
        if (r < 0) {
                fprintf(stderr, "Failed to plan: %s\n", strerror(-r));
                return EXIT_FAILURE;
        }

        r = print && version > 0 ? 0 : sd_bus_open_system(&bus);
        if (r >= 0 && version == 0)
                r = systemd_version(bus, &version);
        if (r < 0) {
                fprintf(stderr, "Failed to talk to systemd: %s\n", strerror(-r));
                return EXIT_FAILURE;
        }

        if (print) {
                r = print_slice(slice);
                for (size_t i = 0; r >= 0 && i < p->n_agents; i++) {
                        _cleanup_(unit_spec_freep) UnitSpec *svc = NULL, *sock = NULL;

                        r = plan_agent_units(p, p->agents[order[i]], p->name, version, &svc, &sock);
                        if (r >= 0)
                                r = apply_sandbox_options(p->agents[order[i]], svc);
                        if (r >= 0)
                                r = print_systemd_run(svc, sock);
                }
                return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
        }

        /* Subscribed before the first call, as the daemon is, so that no JobRemoved is missed. */
        r = sd_bus_match_signal(bus, NULL, SYSTEMD_SERVICE, SYSTEMD_PATH, SYSTEMD_MANAGER_IFACE, "JobRemoved",
                                on_job_removed, &run);
        if (r >= 0)
                r = sd_bus_call_method(bus, SYSTEMD_SERVICE, SYSTEMD_PATH, SYSTEMD_MANAGER_IFACE, "Subscribe",
                                       NULL, NULL, NULL);
        if (r < 0) {
                fprintf(stderr, "Failed to subscribe: %s\n", strerror(-r));
                return EXIT_FAILURE;
        }

        /* As many calls waiting at once as the bus allows (unifiedd keeps 32 in flight): the 77 agents and
         * the slice of the full profile go out all at once. */
        r = systemd_client_new(bus, NULL, window, &client);
        if (r < 0) {
                fprintf(stderr, "Failed to set up the client: %s\n", strerror(-r));
                return EXIT_FAILURE;
        }

        t0 = now_usec();
        r = systemd_set_unit_properties(client, slice, true,
                                        &(SystemdCall) { .callback = on_reply, .userdata = &run });
        if (r >= 0)
                run.n_calls++;
        for (size_t i = 0; r >= 0 && i < p->n_agents; i++) {
                _cleanup_(unit_spec_freep) UnitSpec *svc = NULL, *sock = NULL;

                r = plan_agent_units(p, p->agents[order[i]], p->name, version, &svc, &sock);
                if (r >= 0)
                        r = apply_sandbox_options(p->agents[order[i]], svc);
                if (r >= 0)
                        r = systemd_start_transient_unit(client, sock ?: svc, sock ? svc : NULL,
                                                         &(SystemdCall) { .callback = on_reply, .userdata = &run });
                if (r >= 0)
                        run.n_calls++;
        }
        if (r < 0) {
                fprintf(stderr, "Failed to send: %s\n", strerror(-r));
                return EXIT_FAILURE;
        }
        while (run.n_replies < run.n_calls || strv_length(run.pending) > 0) {
                r = sd_bus_process(bus, NULL);
                if (r < 0) {
                        fprintf(stderr, "Bus: %s\n", strerror(-r));
                        return EXIT_FAILURE;
                }
                /* Generous: under TCG on a busy host a sandboxed agent can take minutes to exec. */
                if (r == 0 && sd_bus_wait(bus, 10 * USEC_PER_MINUTE) == 0) {
                        fprintf(stderr, "Timed out: %u of %u replies, %zu jobs running\n", run.n_replies,
                                run.n_calls, strv_length(run.pending));
                        return EXIT_FAILURE;
                }
        }
        t1 = now_usec();
        printf("units %zu elapsed_us %" PRIu64 " failed %u\n", p->n_agents, t1 - t0, run.n_failed);
        strv_free(run.pending);
        strv_free(run.finished_early);
        strv_free(arg_sandbox_keep);
        return run.n_failed > 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
