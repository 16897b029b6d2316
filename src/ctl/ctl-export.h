/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* `unifiedctl export kubernetes PROFILE|FILE`: the resolved profile as Kubernetes manifests
 * (kube-export.h does the mapping). Offline, with options of its own, so it reads the whole command
 * line itself. */

/* Runs `unifiedctl [OPTIONS] export ...`; returns the exit status (CtlExit). */
int ctl_export_main(int argc, char *argv[]);
