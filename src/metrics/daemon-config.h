/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* unified's configuration file: /etc/unified/unified.conf plus drop-ins in
 * /etc/unified/unified.conf.d/\*.conf, systemd INI style. Its one section, [Metrics], is the
 * exporter's: unified-metricsd is the only reader. (Not "config.h": that name is the
 * build's generated header, which files in this directory include.) */

#include "diag.h"
#include "macro.h"

#define METRICS_LISTEN_ADDRESS_DEFAULT "127.0.0.1:9000"

typedef struct DaemonConfig {
        /* [Metrics] */
        char *metrics_listen_address;   /* ListenAddress=; NULL = "none", the endpoint is off */
        char *metrics_textfile_path;    /* TextfilePath=; NULL = no textfile output */
} DaemonConfig;

/* The defaults: metrics on 127.0.0.1:9000, no textfile. -ENOMEM. */
int daemon_config_init(DaemonConfig *c);
void daemon_config_done(DaemonConfig *c);

/* Applies the assignments in "text" (read from "path", for diagnostics) onto "c". Unknown sections
 * and keys are warnings; malformed lines and invalid values are errors naming path:line, and leave
 * the setting as it was. An empty value ("ListenAddress=") resets the setting to its default, as in
 * systemd. Returns -EBADMSG if there was at least one error, -ENOMEM. */
int daemon_config_parse_string(DaemonConfig *c, const char *text, const char *path, Diagnostics *diag);

/* Loads "path" (a missing file is fine) and then "path".d/\*.conf in lexical order, later files
 * overriding earlier ones. -EBADMSG if any file had an error (every valid assignment is still
 * applied, so the caller can log the diagnostics and carry on); other negative errno on I/O errors. */
int daemon_config_load(DaemonConfig *c, const char *path, Diagnostics *diag);
