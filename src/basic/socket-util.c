/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Numeric TCP listen addresses. */

#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "macro.h"
#include "parse-util.h"
#include "socket-util.h"

int socket_address_parse(const char *s, struct sockaddr_storage *ret, socklen_t *ret_len) {
        struct sockaddr_storage ss = {};
        _cleanup_free_ char *host = NULL;
        const char *port_str;
        uint64_t port;
        socklen_t len;

        assert(s);
        assert(ret);

        if (s[0] == '[') {
                const char *e = strchr(s, ']');
                if (!e || e[1] != ':')
                        return -EINVAL;
                host = strndup(s + 1, e - s - 1);
                port_str = e + 2;
        } else {
                const char *c = strrchr(s, ':');
                if (c) {
                        if (strchr(s, ':') != c) /* bare IPv6 without brackets is ambiguous */
                                return -EINVAL;
                        host = strndup(s, c - s);
                        port_str = c + 1;
                } else {
                        host = strdup("127.0.0.1");
                        port_str = s;
                }
        }
        if (!host)
                return -ENOMEM;
        if (safe_atou64(port_str, &port) < 0 || port > 65535)
                return -EINVAL;

        if (inet_pton(AF_INET, host, &((struct sockaddr_in *) &ss)->sin_addr) == 1) {
                struct sockaddr_in *sin = (struct sockaddr_in *) &ss;
                sin->sin_family = AF_INET;
                sin->sin_port = htons(port);
                len = sizeof(*sin);
        } else if (inet_pton(AF_INET6, host, &((struct sockaddr_in6 *) &ss)->sin6_addr) == 1) {
                struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *) &ss;
                sin6->sin6_family = AF_INET6;
                sin6->sin6_port = htons(port);
                len = sizeof(*sin6);
        } else
                return -EINVAL;

        *ret = ss;
        SET_IF(ret_len, len);
        return 0;
}

int socket_listen_tcp(const char *address, int backlog) {
        _cleanup_close_ int fd = -EBADF;
        struct sockaddr_storage ss;
        socklen_t len;
        int r, one = 1;

        r = socket_address_parse(address, &ss, &len);
        if (r < 0)
                return r;
        fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0)
                return -errno;
        if (bind(fd, (struct sockaddr *) &ss, len) < 0)
                return -errno;
        if (listen(fd, backlog) < 0)
                return -errno;
        return TAKE_FD(fd);
}
