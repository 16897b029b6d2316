/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The node_exporter textfile-collector output: the metrics page written atomically to a file. */

#include <stddef.h>

/* Writes "size" bytes of "text" to "path" atomically (a temporary file in the same directory,
 * renamed over "path"), mode 0644, so that node_exporter never reads half a page. The text must be
 * in the Prometheus text format (node_exporter does not read OpenMetrics) and "path" must end in
 * ".prom" for node_exporter to pick it up (-EINVAL otherwise). */
int textfile_write(const char *path, const char *text, size_t size);
