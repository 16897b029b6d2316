/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The client of bench/lazy: connects to a unix stream socket, waits for the first byte the other end
 * sends and prints when each step happened, in realtime microseconds (the clock of systemd's
 * ActiveEnterTimestamp, so that the guest script can place "service active" between the two):
 *
 *     connect_us T0 connected_us T1 first_byte_us T2 line TEXT
 *
 * A socket-activated unified-agent answers every connection with one line ("unified-agent ROLE
 * HEALTH"); the time from T0 to T2 is what a lazy agent's first client waits. */

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static uint64_t realtime_us(void) {
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        return (uint64_t) ts.tv_sec * 1000000u + (uint64_t) ts.tv_nsec / 1000u;
}

int main(int argc, char *argv[]) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        uint64_t t0, t1, t2;
        char line[256];
        ssize_t n;
        int fd, timeout_ms = 120 * 1000;

        if (argc < 2 || argc > 3 || strlen(argv[1]) >= sizeof(sa.sun_path)) {
                fprintf(stderr, "Usage: first-byte SOCKET [TIMEOUT_SECONDS]\n");
                return EXIT_FAILURE;
        }
        if (argc == 3) {
                char *end;
                long s = strtol(argv[2], &end, 10);

                if (end == argv[2] || *end != '\0' || s <= 0 || s > 3600) {
                        fprintf(stderr, "Bad timeout '%s': expected 1-3600 seconds\n", argv[2]);
                        return EXIT_FAILURE;
                }
                timeout_ms = (int) s * 1000;
        }
        strcpy(sa.sun_path, argv[1]);

        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0) {
                fprintf(stderr, "socket: %s\n", strerror(errno));
                return EXIT_FAILURE;
        }
        t0 = realtime_us();
        if (connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0) {
                fprintf(stderr, "connect %s: %s\n", argv[1], strerror(errno));
                return EXIT_FAILURE;
        }
        t1 = realtime_us();
        /* A listening unix socket takes the connection into its backlog at once; the answer comes when
         * the activated service has started and accepted. */
        for (;;) {
                struct pollfd p = { .fd = fd, .events = POLLIN };
                int r = poll(&p, 1, timeout_ms);

                if (r < 0 && errno == EINTR)
                        continue;
                if (r < 0) {
                        fprintf(stderr, "poll: %s\n", strerror(errno));
                        return EXIT_FAILURE;
                }
                if (r == 0) {
                        fprintf(stderr, "%s: no answer within %d s\n", argv[1], timeout_ms / 1000);
                        return EXIT_FAILURE;
                }
                break;
        }
        n = read(fd, line, sizeof(line) - 1);
        t2 = realtime_us();
        if (n <= 0) {
                fprintf(stderr, "%s: %s\n", argv[1], n < 0 ? strerror(errno) : "closed without an answer");
                return EXIT_FAILURE;
        }
        line[n] = '\0';
        line[strcspn(line, "\n")] = '\0';
        printf("connect_us %" PRIu64 " connected_us %" PRIu64 " first_byte_us %" PRIu64 " line %s\n", t0, t1, t2,
               line);
        close(fd);
        return EXIT_SUCCESS;
}
