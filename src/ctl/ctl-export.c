/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* unifiedctl export kubernetes (see ctl-export.h). */

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctl-export.h"
#include "ctl-offline.h"
#include "ctl-util.h"
#include "kube-export.h"
#include "log.h"
#include "macro.h"
#include "parse-util.h"
#include "strv.h"

/* What build-agent-image names its image by default. */
#define EXPORT_IMAGE_DEFAULT "localhost/unified-agent:latest"
#define EXPORT_CPUS_MAX 4096

static void fclosep(FILE **f) {
        if (*f)
                (void) fclose(*f);
}

static const char *arg_root = NULL;
static const char *arg_image = EXPORT_IMAGE_DEFAULT;
static const char *arg_namespace = NULL;
static const char *arg_output = NULL;
static unsigned arg_cpus = 0;
static CtlJson arg_json = CTL_JSON_OFF;

static void help(void) {
        printf("%s [OPTIONS...] export kubernetes PROFILE|FILE\n\n"
               "Print a resolved profile as Kubernetes manifests: a Namespace, the budget as a\n"
               "ResourceQuota, one Deployment per agent (docs/kubernetes.md). Keys without a\n"
               "Kubernetes equivalent are dropped with one warning each on stderr.\n\n"
               "Options:\n"
               "  -h --help                Show this help\n"
               "     --image=IMAGE         The agents' image (default: " EXPORT_IMAGE_DEFAULT ")\n"
               "     --namespace=NAME      The namespace (default: unified-PROFILE)\n"
               "     --cpus=N              CPUs of the machine the profile's cpu_quota is a share of\n"
               "                           (default: this machine's)\n"
               "     --output=FILE         Write to FILE instead of stdout\n"
               "     --json[=MODE]         A v1 List in JSON instead of YAML documents: pretty (the\n"
               "                           default), short (one line) or off\n"
               "     --root=DIR            Look for profiles below DIR\n",
               program_invocation_short_name);
}

static int parse_argv(int argc, char *argv[]) {
        enum {
                ARG_JSON = 0x100,
                ARG_ROOT,
                ARG_IMAGE,
                ARG_NAMESPACE,
                ARG_CPUS,
                ARG_OUTPUT,
        };
        static const struct option options[] = { { "help", no_argument, NULL, 'h' },
                                                 { "json", optional_argument, NULL, ARG_JSON },
                                                 { "root", required_argument, NULL, ARG_ROOT },
                                                 { "image", required_argument, NULL, ARG_IMAGE },
                                                 { "namespace", required_argument, NULL, ARG_NAMESPACE },
                                                 { "cpus", required_argument, NULL, ARG_CPUS },
                                                 { "output", required_argument, NULL, ARG_OUTPUT },
                                                 {} };
        uint64_t u;
        int c, r;

        opterr = 0;
        while ((c = getopt_long(argc, argv, ":h", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        help();
                        return 0;
                case ARG_JSON:
                        r = ctl_json_from_string(optarg);
                        if (r < 0)
                                return log_error_errno(-EINVAL, "Invalid --json '%s': expected pretty, short or off.",
                                                       optarg);
                        arg_json = (CtlJson) r;
                        break;
                case ARG_ROOT:
                        arg_root = optarg;
                        break;
                case ARG_IMAGE:
                        /* An image reference has no spaces or control characters; anything else is the
                         * runtime's to judge. */
                        for (const char *p = optarg; *p; p++)
                                if ((unsigned char) *p <= ' ' || *p == 0x7f)
                                        return log_error_errno(
                                                -EINVAL,
                                                "Invalid --image '%s': no spaces or "
                                                "control characters.",
                                                optarg);
                        if (isempty(optarg))
                                return log_error_errno(-EINVAL, "--image needs an image name.");
                        arg_image = optarg;
                        break;
                case ARG_NAMESPACE:
                        arg_namespace = optarg;
                        break;
                case ARG_CPUS:
                        r = safe_atou64(optarg, &u);
                        if (r < 0 || u == 0 || u > EXPORT_CPUS_MAX)
                                return log_error_errno(
                                        -EINVAL, "Invalid --cpus '%s': 1..%d.", optarg, EXPORT_CPUS_MAX);
                        arg_cpus = (unsigned) u;
                        break;
                case ARG_OUTPUT:
                        if (isempty(optarg))
                                return log_error_errno(-EINVAL, "--output needs a file name.");
                        arg_output = optarg;
                        break;
                case ':':
                        return log_error_errno(-EINVAL, "Option '%s' needs a value.", argv[optind - 1]);
                case '?':
                        if (optopt > 0 && optopt < 0x100)
                                return log_error_errno(
                                        -EINVAL,
                                        "Unknown option '-%c' for export. See '%s export --help'.",
                                        optopt,
                                        program_invocation_short_name);
                        return log_error_errno(
                                -EINVAL,
                                "Unknown option '%s' for export. See '%s export --help'.",
                                argv[optind - 1],
                                program_invocation_short_name);
                default:
                        abort();
                }
        return 1;
}

int ctl_export_main(int argc, char *argv[]) {
        _cleanup_(profile_freep) Profile *p = NULL;
        _cleanup_strv_free_ char **warnings = NULL;
        _cleanup_free_ char *error = NULL, *tmp = NULL;
        _cleanup_(fclosep) FILE *f = NULL;
        KubeExportOptions opts;
        char **args;
        int n, r;

        r = parse_argv(argc, argv);
        if (r <= 0)
                return r < 0 ? CTL_EXIT_USAGE : CTL_EXIT_SUCCESS;

        /* argv[optind] is "export" (getopt moved the options in front). */
        args = argv + optind + 1;
        n = argc - optind - 1;
        if (n < 1) {
                log_error("'export' takes a format: kubernetes.");
                return CTL_EXIT_USAGE;
        }
        if (!streq(args[0], "kubernetes")) {
                log_error("Unknown export format '%s': kubernetes is the one there is.", args[0]);
                return CTL_EXIT_USAGE;
        }
        if (n != 2) {
                log_error("'export kubernetes' takes a profile name or file.");
                return CTL_EXIT_USAGE;
        }

        if (arg_cpus == 0) {
                long c = sysconf(_SC_NPROCESSORS_ONLN);
                arg_cpus = c > 0 ? (unsigned) MIN(c, (long) EXPORT_CPUS_MAX) : 1;
        }

        r = offline_resolve(arg_root, args[1], true, &p);
        if (r != CTL_EXIT_SUCCESS)
                return r;

        opts = (KubeExportOptions){
                .image = arg_image,
                .namespace = arg_namespace,
                .n_cpus = arg_cpus,
                .json = arg_json != CTL_JSON_OFF,
                .compact = arg_json == CTL_JSON_SHORT,
        };

        /* Into a temporary file next to the output, renamed once complete: a failed export leaves no
         * half-written manifest behind. */
        if (arg_output) {
                _cleanup_close_ int fd = -EBADF;

                if (asprintf(&tmp, "%s.XXXXXX", arg_output) < 0)
                        return log_oom(), CTL_EXIT_FAILURE;
                fd = mkostemp(tmp, O_CLOEXEC);
                if (fd < 0) {
                        log_error_errno(errno, "Failed to create %s: %m", tmp);
                        return CTL_EXIT_FAILURE;
                }
                (void) fchmod(fd, 0644);
                f = fdopen(fd, "w");
                if (!f) {
                        log_error_errno(errno, "Failed to open %s: %m", tmp);
                        (void) unlink(tmp);
                        return CTL_EXIT_FAILURE;
                }
                TAKE_FD(fd);
        }

        r = kube_export(p, &opts, f ?: stdout, &warnings, &error);
        if (r >= 0 && f && fclose(TAKE_PTR(f)) != 0)
                r = -errno;
        if (r >= 0 && tmp && rename(tmp, arg_output) < 0)
                r = -errno;
        if (r < 0) {
                if (tmp)
                        (void) unlink(tmp);
                if (r == -EINVAL && error) {
                        log_error("%s: %s.", p->path ?: p->name, error);
                        return CTL_EXIT_INVALID;
                }
                log_error_errno(
                        r,
                        "Failed to write the manifests%s%s: %m",
                        arg_output ? " to " : "",
                        strempty(arg_output));
                return CTL_EXIT_FAILURE;
        }

        STRV_FOREACH (w, warnings)
                log_warning("%s: %s", p->name, *w);
        return CTL_EXIT_SUCCESS;
}
