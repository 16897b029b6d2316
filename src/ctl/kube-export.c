/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* A resolved profile as Kubernetes manifests (see kube-export.h and docs/kubernetes.md). */

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "json-writer.h"
#include "kube-export.h"
#include "macro.h"
#include "strv.h"
#include "yaml-writer.h"

#define KUBE_NAME_MAX 63
#define STRV_MAKE(...) ((char *[]){ __VA_ARGS__, NULL })

/* One emitter for both outputs: the JSON and YAML writers take the same calls. */
typedef struct Out {
        bool json;
        JsonWriter j;
        YamlWriter y;
} Out;

static void out_object_begin(Out *o) {
        o->json ? json_writer_object_begin(&o->j) : yaml_writer_object_begin(&o->y);
}

static void out_object_end(Out *o) {
        o->json ? json_writer_object_end(&o->j) : yaml_writer_object_end(&o->y);
}

static void out_array_begin(Out *o) {
        o->json ? json_writer_array_begin(&o->j) : yaml_writer_array_begin(&o->y);
}

static void out_array_end(Out *o) {
        o->json ? json_writer_array_end(&o->j) : yaml_writer_array_end(&o->y);
}

static void out_key(Out *o, const char *k) {
        o->json ? json_writer_key(&o->j, k) : yaml_writer_key(&o->y, k);
}

static void out_string(Out *o, const char *k, const char *v) {
        if (k)
                out_key(o, k);
        o->json ? json_writer_string(&o->j, v) : yaml_writer_string(&o->y, v);
}

static void out_unsigned(Out *o, const char *k, uint64_t v) {
        out_key(o, k);
        o->json ? json_writer_unsigned(&o->j, v) : yaml_writer_unsigned(&o->y, v);
}

static void out_boolean(Out *o, const char *k, bool v) {
        out_key(o, k);
        o->json ? json_writer_boolean(&o->j, v) : yaml_writer_boolean(&o->y, v);
}

static void out_strv(Out *o, const char *k, char *const *l) {
        out_key(o, k);
        o->json ? json_writer_strv(&o->j, l) : yaml_writer_strv(&o->y, l);
}

static void out_map_begin(Out *o, const char *k) {
        out_key(o, k);
        out_object_begin(o);
}

static void out_list_begin(Out *o, const char *k) {
        out_key(o, k);
        out_array_begin(o);
}

/* A top-level object: its own document in YAML, an item of the List in JSON. */
static void out_document_begin(Out *o, const char *api_version, const char *kind) {
        if (!o->json)
                yaml_writer_document_begin(&o->y);
        out_object_begin(o);
        out_string(o, "apiVersion", api_version);
        out_string(o, "kind", kind);
}

/* RFC 1123 label: lower-case letters, digits and "-", starting and ending with a letter or digit. */
static bool dns_label_is_valid(const char *s) {
        size_t l = strlen(s);

        if (l == 0 || l > KUBE_NAME_MAX || s[0] == '-' || s[l - 1] == '-')
                return false;
        for (const char *p = s; *p; p++)
                if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-'))
                        return false;
        return true;
}

int kube_name(const char *name, char **ret) {
        _cleanup_free_ char *n = NULL;

        if (!name)
                return -EINVAL;
        n = strdup(name);
        if (!n)
                return -ENOMEM;
        for (char *p = n; *p; p++)
                if (*p >= 'A' && *p <= 'Z')
                        *p = (char) (*p - 'A' + 'a');
                else if (*p == '_' || *p == '.')
                        *p = '-';
        if (!dns_label_is_valid(n))
                return -EINVAL;
        *ret = TAKE_PTR(n);
        return 0;
}

/* Kubernetes quantities: exact binary suffixes where the size has one, bytes otherwise. */
static char *format_memory(char *buf, size_t l, uint64_t bytes) {
        static const struct {
                const char *suffix;
                uint64_t factor;
        } units[] = {
                { "Ti", UINT64_C(1) << 40 },
                { "Gi", UINT64_C(1) << 30 },
                { "Mi", UINT64_C(1) << 20 },
                { "Ki", UINT64_C(1) << 10 },
        };

        for (size_t i = 0; i < ELEMENTSOF(units); i++)
                if (bytes % units[i].factor == 0) {
                        snprintf(buf, l, "%" PRIu64 "%s", bytes / units[i].factor, units[i].suffix);
                        return buf;
                }
        snprintf(buf, l, "%" PRIu64, bytes);
        return buf;
}

/* CPUQuota= in permyriad of one CPU as millicores, rounded up: 1m is Kubernetes' finest step. */
static char *format_cpu(char *buf, size_t l, uint64_t permyriad) {
        snprintf(buf, l, "%" PRIu64 "m", (permyriad + 9) / 10);
        return buf;
}

#define QUANTITY_MAX 32

/* --- keys without an equivalent ------------------------------------------------------------------- */

static bool has_cpu_weight(const Agent *a) {
        return a->cpu_weight > 0;
}
static bool has_tasks_max(const Agent *a) {
        return a->tasks_max != LIMIT_UNSET;
}
static bool is_essential(const Agent *a) {
        return a->essential;
}
static bool has_requires(const Agent *a) {
        return strv_length(a->requires) > 0;
}
static bool is_lazy(const Agent *a) {
        return a->lazy_listen != NULL;
}
static bool restarts_not_always(const Agent *a) {
        return a->restart.policy != RESTART_ALWAYS;
}
static bool restarts(const Agent *a) {
        return a->restart.policy != RESTART_NO;
}
static bool has_restart_steps(const Agent *a) {
        return restarts(a) && a->restart.steps > 0 && a->restart.max_delay > 0;
}
static bool has_start_limit(const Agent *a) {
        return restarts(a) && a->restart.max_attempts > 0 && a->restart.window > 0;
}
static bool has_breaker(const Agent *a) {
        return true;
}
static bool has_conditions(const Agent *a) {
        return a->n_conditions > 0;
}
static bool has_user(const Agent *a) {
        return a->sandbox.user != NULL;
}
static bool sees_devices(const Agent *a) {
        return !a->sandbox.private_devices;
}

/* The keys that are lost, each with the test for "in effect for this agent" and why (docs/kubernetes.md
 * says what replaces them). One warning per key, naming how many agents it concerns. */
static const struct {
        const char *key;
        bool (*in_effect)(const Agent *a);
        const char *why;
} dropped_keys[] = {
        { "cpu_weight",
          has_cpu_weight,
          "a relative share; Kubernetes derives cpu.weight from requests.cpu, an absolute amount" },
        { "tasks_max", has_tasks_max, "no per-container limit; the kubelet's podPidsLimit is per node" },
        { "essential", is_essential, "no profile state (running/degraded/failed) in Kubernetes" },
        { "requires", has_requires, "no start order between Deployments; agents must retry their peers" },
        { "lazy", is_lazy, "no socket activation; the agent runs from the start (replicas: 1)" },
        { "restart.policy",
          restarts_not_always,
          "a Deployment's pods restart on every exit (restartPolicy: Always)" },
        { "restart.delay", restarts, "the kubelet's back-off is fixed (10s, doubling to 5min)" },
        { "restart.max_delay",
          has_restart_steps,
          "the kubelet's back-off is fixed (10s, doubling to 5min)" },
        { "restart.steps", has_restart_steps, "the kubelet's back-off is fixed (10s, doubling to 5min)" },
        { "restart.max_attempts", has_start_limit, "the kubelet never gives up restarting" },
        { "restart.window", has_start_limit, "the kubelet never gives up restarting" },
        { "breaker.threshold", has_breaker, "no circuit breaker without unifiedd" },
        { "breaker.window", has_breaker, "no circuit breaker without unifiedd" },
        { "breaker.cooldown", has_breaker, "no circuit breaker without unifiedd" },
        { "breaker.max_cooldown", has_breaker, "no circuit breaker without unifiedd" },
        { "breaker.probation", has_breaker, "no circuit breaker without unifiedd" },
        { "conditions", has_conditions, "no systemd conditions; use a nodeSelector or node affinity" },
        { "sandbox.user", has_user, "securityContext takes a numeric UID; set runAsUser yourself" },
        { "sandbox.private_devices",
          sees_devices,
          "host devices reach a container only through a device plugin" },
};

static int collect_warnings(const Profile *p, char ***ret) {
        _cleanup_strv_free_ char **w = NULL;

        for (size_t k = 0; k < ELEMENTSOF(dropped_keys); k++) {
                size_t n = 0;
                char *line;

                for (size_t i = 0; i < p->n_agents; i++)
                        n += dropped_keys[k].in_effect(p->agents[i]);
                if (n == 0)
                        continue;
                if (asprintf(
                            &line,
                            "%s (%zu %s): no Kubernetes equivalent, dropped: %s.",
                            dropped_keys[k].key,
                            n,
                            n == 1 ? "agent" : "agents",
                            dropped_keys[k].why) < 0)
                        return -ENOMEM;
                if (strv_consume(&w, line) < 0)
                        return -ENOMEM;
        }
        *ret = TAKE_PTR(w);
        return 0;
}

/* --- the objects ----------------------------------------------------------------------------------- */

typedef struct Names {
        char *namespace;
        char *profile; /* the profile's label value */
        char **agents; /* per agent, in profile order */
} Names;

static void names_done(Names *n) {
        free(n->namespace);
        free(n->profile);
        strv_free(n->agents);
}

static int names_make(const Profile *p, const KubeExportOptions *o, Names *ret, char **ret_error) {
        _cleanup_(names_done) Names n = {};
        int r;

        r = kube_name(p->name, &n.profile);
        if (r < 0) {
                if (r == -EINVAL &&
                    asprintf(
                            ret_error,
                            "profile name '%s' cannot be a Kubernetes name (a DNS label of "
                            "at most 63 characters after lower-casing and '_', '.' -> '-')",
                            p->name) < 0)
                        return -ENOMEM;
                return r;
        }
        if (o->namespace)
                n.namespace = strdup(o->namespace);
        else if (asprintf(&n.namespace, "unified-%s", n.profile) < 0)
                n.namespace = NULL;
        if (!n.namespace)
                return -ENOMEM;
        /* Given exactly: no lower-casing of what the user typed. */
        if (!dns_label_is_valid(n.namespace)) {
                if (asprintf(
                            ret_error,
                            "namespace '%s' is not a DNS label (lower-case letters, digits and '-', "
                            "at most 63 characters)%s",
                            n.namespace,
                            o->namespace ? "" : "; give one with --namespace") < 0)
                        return -ENOMEM;
                return -EINVAL;
        }

        n.agents = calloc(p->n_agents + 1, sizeof(char *));
        if (!n.agents)
                return -ENOMEM;
        for (size_t i = 0; i < p->n_agents; i++) {
                if (strv_length(p->agents[i]->exec) == 0) {
                        if (asprintf(ret_error, "agent '%s' has no exec", p->agents[i]->name) < 0)
                                return -ENOMEM;
                        return -EINVAL;
                }
                r = kube_name(p->agents[i]->name, &n.agents[i]);
                if (r < 0) {
                        if (r == -EINVAL &&
                            asprintf(
                                    ret_error,
                                    "agent name '%s' cannot be a Kubernetes name (a DNS label "
                                    "after lower-casing and '_', '.' -> '-')",
                                    p->agents[i]->name) < 0)
                                return -ENOMEM;
                        return r;
                }
                for (size_t j = 0; j < i; j++)
                        if (streq(n.agents[i], n.agents[j])) {
                                if (asprintf(
                                            ret_error,
                                            "agents '%s' and '%s' both become '%s' in Kubernetes",
                                            p->agents[j]->name,
                                            p->agents[i]->name,
                                            n.agents[i]) < 0)
                                        return -ENOMEM;
                                return -EINVAL;
                        }
        }
        *ret = n;
        n = (Names){};
        return 0;
}

static void
out_metadata(Out *o, const Names *n, const char *name, const char *agent, const char *description) {
        out_map_begin(o, "metadata");
        out_string(o, "name", name);
        if (name != n->namespace)
                out_string(o, "namespace", n->namespace);
        out_map_begin(o, "labels");
        out_string(o, "app.kubernetes.io/managed-by", "unifiedctl");
        out_string(o, "unified/profile", n->profile);
        if (agent)
                out_string(o, "unified/agent", agent);
        out_object_end(o);
        if (description) {
                out_map_begin(o, "annotations");
                out_string(o, "kubernetes.io/description", description);
                out_object_end(o);
        }
        out_object_end(o);
}

static void
out_budget(Out *o, const Profile *p, const KubeExportOptions *opts, bool with_memory, bool with_cpu) {
        char q[QUANTITY_MAX];

        if (with_memory)
                out_string(o, "limits.memory", format_memory(q, sizeof(q), p->memory_max));
        if (with_cpu)
                out_string(o, "limits.cpu", format_cpu(q, sizeof(q), p->cpu_quota * opts->n_cpus));
}

static void out_quota(Out *o, const Profile *p, const Names *n, const KubeExportOptions *opts) {
        bool mem = p->memory_max != LIMIT_UNSET, cpu = p->cpu_quota > 0;
        char q[QUANTITY_MAX];
        bool needs_default_mem = false, needs_default_cpu = false;

        if (!mem && !cpu)
                return;

        out_document_begin(o, "v1", "ResourceQuota");
        out_metadata(
                o, n, "budget", NULL, "The profile's budget: resources.memory_max and resources.cpu_quota");
        out_map_begin(o, "spec");
        out_map_begin(o, "hard");
        out_budget(o, p, opts, mem, cpu);
        out_object_end(o);
        out_object_end(o);
        out_object_end(o);

        /* A quota on limits makes the API server refuse containers without that limit; an agent without
         * one is bounded by the whole budget, as by unified.slice. */
        for (size_t i = 0; i < p->n_agents; i++) {
                needs_default_mem |= mem && p->agents[i]->memory_max == LIMIT_UNSET;
                needs_default_cpu |= cpu && p->agents[i]->cpu_quota == 0;
        }
        if (!needs_default_mem && !needs_default_cpu)
                return;
        out_document_begin(o, "v1", "LimitRange");
        out_metadata(o, n, "budget-defaults", NULL, "Limits of agents that set none: the profile's budget");
        out_map_begin(o, "spec");
        out_list_begin(o, "limits");
        out_object_begin(o);
        out_string(o, "type", "Container");
        out_map_begin(o, "default");
        if (needs_default_mem)
                out_string(o, "memory", format_memory(q, sizeof(q), p->memory_max));
        if (needs_default_cpu)
                out_string(o, "cpu", format_cpu(q, sizeof(q), p->cpu_quota * opts->n_cpus));
        out_object_end(o);
        out_object_end(o);
        out_array_end(o);
        out_object_end(o);
        out_object_end(o);
}

/* sandbox.network: false is PrivateNetwork=yes; a NetworkPolicy that allows nothing in or out is the
 * nearest Kubernetes has (it needs a network plugin that enforces policies). */
static void out_network_policy(Out *o, const Profile *p, const Names *n) {
        bool any = false;

        for (size_t i = 0; i < p->n_agents; i++)
                any |= !p->agents[i]->sandbox.network;
        if (!any)
                return;

        out_document_begin(o, "networking.k8s.io/v1", "NetworkPolicy");
        out_metadata(o, n, "no-network", NULL, "Agents with sandbox.network: false (PrivateNetwork=yes)");
        out_map_begin(o, "spec");
        out_map_begin(o, "podSelector");
        out_list_begin(o, "matchExpressions");
        out_object_begin(o);
        out_string(o, "key", "unified/agent");
        out_string(o, "operator", "In");
        out_list_begin(o, "values");
        for (size_t i = 0; i < p->n_agents; i++)
                if (!p->agents[i]->sandbox.network)
                        out_string(o, NULL, n->agents[i]);
        out_array_end(o);
        out_object_end(o);
        out_array_end(o);
        out_object_end(o);
        out_strv(o, "policyTypes", STRV_MAKE((char *) "Ingress", (char *) "Egress"));
        out_object_end(o);
        out_object_end(o);
}

static void out_env(Out *o, const char *name, const char *value) {
        out_object_begin(o);
        out_string(o, "name", name);
        out_string(o, "value", value);
        out_object_end(o);
}

static void out_probe(Out *o, const char *key, const char *what, uint64_t period_sec) {
        out_map_begin(o, key);
        out_map_begin(o, "exec");
        out_strv(o, "command", STRV_MAKE((char *) KUBE_PROBE_PROGRAM, (char *) "--probe", (char *) what));
        out_object_end(o);
        out_unsigned(o, "periodSeconds", period_sec);
        out_unsigned(o, "timeoutSeconds", period_sec);
        out_unsigned(o, "failureThreshold", 1);
        out_object_end(o);
}

static void out_volume_mount(Out *o, const char *name, const char *path) {
        out_object_begin(o);
        out_string(o, "name", name);
        out_string(o, "mountPath", path);
        out_object_end(o);
}

/* "w0-<agent>": a volume's name only needs to be unique in its pod, but podman kube play turns a
 * disk-backed emptyDir into a named volume shared by every pod that uses the name. */
static const char *writable_volume_name(char *buf, size_t l, size_t i, const char *kname) {
        size_t n;

        assert(l > KUBE_NAME_MAX);
        snprintf(buf, KUBE_NAME_MAX + 1, "w%zu-%s", i, kname);
        n = strlen(buf);
        while (n > 0 && buf[n - 1] == '-') /* cut inside the agent's name */
                buf[--n] = '\0';
        return buf;
}

static int out_deployment(
        Out *o,
        const Profile *p,
        const Agent *a,
        const char *kname,
        const Names *n,
        const KubeExportOptions *opts) {
        _cleanup_free_ char *runtime_dir = NULL, *probe_file = NULL;
        char q[QUANTITY_MAX];

        /* RuntimeDirectory=unified-agents/NAME, as plan.c gives every agent. */
        if (asprintf(&runtime_dir, "/run/unified-agents/%s", a->name) < 0 ||
            asprintf(&probe_file, "%s/probe", runtime_dir) < 0)
                return -ENOMEM;

        out_document_begin(o, "apps/v1", "Deployment");
        out_metadata(o, n, kname, kname, a->description);
        out_map_begin(o, "spec");
        out_unsigned(o, "replicas", 1);
        out_map_begin(o, "selector");
        out_map_begin(o, "matchLabels");
        out_string(o, "unified/profile", n->profile);
        out_string(o, "unified/agent", kname);
        out_object_end(o);
        out_object_end(o);

        out_map_begin(o, "template");
        out_map_begin(o, "metadata");
        out_map_begin(o, "labels");
        out_string(o, "app.kubernetes.io/managed-by", "unifiedctl");
        out_string(o, "unified/profile", n->profile);
        out_string(o, "unified/agent", kname);
        out_object_end(o);
        out_object_end(o);

        out_map_begin(o, "spec");
        out_string(o, "restartPolicy", "Always");
        out_map_begin(o, "securityContext");
        if (!a->sandbox.user) {
                /* DynamicUser=yes: an unprivileged ID that owns nothing in the image. */
                out_boolean(o, "runAsNonRoot", true);
                out_unsigned(o, "runAsUser", KUBE_RUN_AS_ID);
                out_unsigned(o, "runAsGroup", KUBE_RUN_AS_ID);
                out_unsigned(o, "fsGroup", KUBE_RUN_AS_ID);
        }
        /* SystemCallArchitectures=native and the other syscall restrictions unified sets. */
        out_map_begin(o, "seccompProfile");
        out_string(o, "type", "RuntimeDefault");
        out_object_end(o);
        out_object_end(o);

        out_list_begin(o, "containers");
        out_object_begin(o);
        out_string(o, "name", kname);
        out_string(o, "image", opts->image);
        /* The image is built and loaded locally (packaging/oci/build-agent-image), not pulled. */
        out_string(o, "imagePullPolicy", "IfNotPresent");
        out_strv(o, "command", STRV_MAKE(a->exec[0]));
        out_strv(o, "args", a->exec + 1);

        out_list_begin(o, "env");
        STRV_FOREACH (e, a->env) {
                _cleanup_free_ char *k = NULL;
                const char *eq = strchr(*e, '=');

                k = strndup(*e, eq ? (size_t) (eq - *e) : strlen(*e));
                if (!k)
                        return -ENOMEM;
                out_env(o, k, eq ? eq + 1 : "");
        }
        out_env(o, "UNIFIED_PROFILE", p->name);
        out_env(o, "UNIFIED_AGENT", a->name);
        out_env(o, "RUNTIME_DIRECTORY", runtime_dir);
        if (a->notify || a->watchdog > 0)
                out_env(o, "UNIFIED_PROBE_FILE", probe_file);
        if (a->watchdog > 0) {
                char usec[32];

                /* What systemd passes for WatchdogSec=: the agent keeps the probe file fresh at half
                 * of it, the liveness probe fails once it is older. */
                snprintf(usec, sizeof(usec), "%" PRIu64, a->watchdog);
                out_env(o, "WATCHDOG_USEC", usec);
        }
        out_array_end(o);

        out_map_begin(o, "resources");
        if (a->memory_max != LIMIT_UNSET || a->cpu_quota > 0) {
                out_map_begin(o, "limits");
                if (a->memory_max != LIMIT_UNSET)
                        out_string(o, "memory", format_memory(q, sizeof(q), a->memory_max));
                if (a->cpu_quota > 0)
                        out_string(o, "cpu", format_cpu(q, sizeof(q), a->cpu_quota));
                out_object_end(o);
        }
        if (a->memory_high != LIMIT_UNSET) {
                /* MemoryHigh= is where the agent is expected to stay: what the scheduler should
                 * reserve. */
                out_map_begin(o, "requests");
                out_string(o, "memory", format_memory(q, sizeof(q), a->memory_high));
                out_object_end(o);
        }
        out_object_end(o);

        if (a->notify)
                out_probe(o, "readinessProbe", "ready", 1);
        if (a->watchdog > 0)
                /* Checked at half the watchdog period, like the agent's own pings. */
                out_probe(
                        o,
                        "livenessProbe",
                        "alive",
                        MAX((a->watchdog / 2 + USEC_PER_SEC - 1) / USEC_PER_SEC, UINT64_C(1)));

        out_map_begin(o, "securityContext");
        out_boolean(o, "allowPrivilegeEscalation", false); /* NoNewPrivileges=yes */
        out_boolean(o, "readOnlyRootFilesystem", a->sandbox.protect_system);
        out_map_begin(o, "capabilities");
        out_strv(o, "drop", STRV_MAKE((char *) "ALL"));
        out_object_end(o);
        out_object_end(o);

        out_list_begin(o, "volumeMounts");
        out_volume_mount(o, "runtime", runtime_dir);
        out_volume_mount(o, "tmp", "/tmp"); /* PrivateTmp=yes */
        for (size_t i = 0; a->sandbox.writable_paths && a->sandbox.writable_paths[i]; i++) {
                const char *path = a->sandbox.writable_paths[i];
                char name[KUBE_NAME_MAX + 1];

                out_volume_mount(
                        o,
                        writable_volume_name(name, sizeof(name), i, kname),
                        path[0] == '-' ? path + 1 : path);
        }
        out_array_end(o);
        out_object_end(o);
        out_array_end(o);

        out_list_begin(o, "volumes");
        out_object_begin(o);
        out_string(o, "name", "runtime");
        out_map_begin(o, "emptyDir");
        out_string(o, "medium", "Memory");
        out_object_end(o);
        out_object_end(o);
        /* In memory, as /tmp is on Debian 13 (and then PrivateTmp=yes charges it to the agent's
         * memory too); podman kube play would also share a disk-backed emptyDir named "tmp" between
         * every pod. */
        out_object_begin(o);
        out_string(o, "name", "tmp");
        out_map_begin(o, "emptyDir");
        out_string(o, "medium", "Memory");
        out_object_end(o);
        out_object_end(o);
        for (size_t i = 0; a->sandbox.writable_paths && a->sandbox.writable_paths[i]; i++) {
                char name[KUBE_NAME_MAX + 1];

                out_object_begin(o);
                out_string(o, "name", writable_volume_name(name, sizeof(name), i, kname));
                out_map_begin(o, "emptyDir");
                out_object_end(o);
                out_object_end(o);
        }
        out_array_end(o);
        out_object_end(o); /* template.spec */
        out_object_end(o); /* template */
        out_object_end(o); /* spec */
        out_object_end(o);
        return 0;
}

int kube_export(
        const Profile *p, const KubeExportOptions *opts, FILE *f, char ***ret_warnings, char **ret_error) {
        _cleanup_(names_done) Names n = {};
        _cleanup_strv_free_ char **warnings = NULL;
        Out o = { .json = opts->json };
        int r;

        if (!p || !opts || !opts->image || opts->n_cpus == 0 || !f)
                return -EINVAL;
        *ret_error = NULL;

        r = names_make(p, opts, &n, ret_error);
        if (r < 0)
                return r;
        r = collect_warnings(p, &warnings);
        if (r < 0)
                return r;

        if (o.json) {
                json_writer_init(&o.j, f, opts->compact ? 0 : JSON_WRITER_PRETTY);
                json_writer_object_begin(&o.j);
                json_writer_key(&o.j, "apiVersion");
                json_writer_string(&o.j, "v1");
                json_writer_key(&o.j, "kind");
                json_writer_string(&o.j, "List");
                json_writer_key(&o.j, "items");
                json_writer_array_begin(&o.j);
        } else
                yaml_writer_init(&o.y, f);

        out_document_begin(&o, "v1", "Namespace");
        out_metadata(&o, &n, n.namespace, NULL, p->description);
        out_object_end(&o);
        out_quota(&o, p, &n, opts);
        out_network_policy(&o, p, &n);
        for (size_t i = 0; i < p->n_agents; i++) {
                r = out_deployment(&o, p, p->agents[i], n.agents[i], &n, opts);
                if (r < 0)
                        return r;
        }

        if (o.json) {
                json_writer_array_end(&o.j);
                json_writer_object_end(&o.j);
                r = json_writer_finish(&o.j);
        } else
                r = yaml_writer_finish(&o.y);
        if (r < 0)
                return r;

        *ret_warnings = TAKE_PTR(warnings);
        return 0;
}
