/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* `unifiedctl export kubernetes`: a resolved profile as Kubernetes manifests (a Namespace, the budget
 * as a ResourceQuota, one Deployment per agent...). Pure: the profile and the options in, the text
 * and the list of dropped keys out; docs/kubernetes.md is the mapping table. */

#include <stdbool.h>
#include <stdio.h>

#include "profile.h"

/* Where the probes find the reference agent inside an image (packaging/oci/build-agent-image puts it
 * there): `unified-agent --probe ready|alive` is the probe of every agent that has notify or
 * watchdog. */
#define KUBE_PROBE_PROGRAM "/usr/libexec/unified/unified-agent"
/* The UID and GID the agents run as unless sandbox.user names one: "nobody", the nearest thing to
 * DynamicUser=yes in an image without /etc/passwd. */
#define KUBE_RUN_AS_ID 65534

typedef struct KubeExportOptions {
        const char *image;     /* the image of every agent's container */
        const char *namespace; /* NULL: "unified-<profile>" */
        unsigned n_cpus;       /* the machine the profile's cpu_quota is a share of, >= 1 */
        bool json;             /* a "v1" List instead of a multi-document YAML stream */
        bool compact;          /* the List on one line (--json=short) */
} KubeExportOptions;

/* Writes the manifests of "p" to "f". *ret_warnings gets one line per profile key that has no
 * Kubernetes equivalent and is in effect for at least one agent ("breaker.cooldown (16 agents): ...").
 * -EINVAL with *ret_error (static text or NULL) set if a name cannot be made into a Kubernetes name,
 * -EIO if writing failed, -ENOMEM. Nothing is written to "f" on -EINVAL. */
int kube_export(
        const Profile *p, const KubeExportOptions *o, FILE *f, char ***ret_warnings, char **ret_error);

/* The DNS label (RFC 1123) a profile or agent name becomes: lower case, "_" and "." as "-". -EINVAL if
 * the result is not a label (longer than 63, or not starting and ending with a letter or digit). */
int kube_name(const char *name, char **ret);
