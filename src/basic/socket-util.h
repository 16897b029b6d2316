/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Numeric TCP listen addresses: parsing, and a listening socket bound to one. */

#include <sys/socket.h>

/* Parses a listen address: "127.0.0.1:9000", "[::1]:9000", "0.0.0.0:9000", "9000" (= loopback).
 * -EINVAL for anything else (host names are not resolved: nothing here may block on DNS). */
int socket_address_parse(const char *s, struct sockaddr_storage *ret, socklen_t *ret_len);

/* A non-blocking, close-on-exec TCP socket listening on "address" (see above) with SO_REUSEADDR. */
int socket_listen_tcp(const char *address, int backlog);
