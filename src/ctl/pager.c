/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The pager (see pager.h), modelled on systemd's src/shared/pager.c. */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "macro.h"
#include "pager.h"

const char *pager_pick(const char *systemd_pager, const char *pager) {
        const char *p = systemd_pager ?: pager;

        if (!p)
                return "";
        /* Whitespace-only counts as empty, and "cat" is what people set to mean "no pager". */
        if (p[strspn(p, " \t\n")] == '\0' || streq(p, "cat"))
                return NULL;
        return p;
}

/* The child: reads our output on stdin and shows it. Never returns. */
_noreturn_ static void pager_run(const char *command) {
        char buf[4096];
        ssize_t k;

        /* less: quit if it fits one screen (F), keep colors (R), chop long lines (S), leave the screen
         * as it is on exit (X), a long prompt (M), quit on ^C (K). systemd's defaults, and its
         * $SYSTEMD_LESS to change them. */
        if (!getenv("LESS") && setenv("LESS", getenv("SYSTEMD_LESS") ?: "FRSXMK", 1) < 0)
                _exit(EXIT_FAILURE);
        if (!getenv("LESSCHARSET") && setenv("LESSCHARSET", "utf-8", 1) < 0)
                _exit(EXIT_FAILURE);

        if (!isempty(command)) {
                execl("/bin/sh", "sh", "-c", command, (char *) NULL);
                fprintf(stderr, "Failed to run pager '%s': %s\n", command, strerror(errno));
        } else {
                execlp("less", "less", (char *) NULL);
                execlp("more", "more", (char *) NULL);
        }

        /* No pager at all: pass the output through so that it is not lost. */
        while ((k = read(STDIN_FILENO, buf, sizeof(buf))) > 0)
                if (write(STDOUT_FILENO, buf, (size_t) k) != k)
                        break;
        _exit(EXIT_SUCCESS);
}

pid_t pager_open(void) {
        const char *command;
        int fd[2];
        pid_t pid;

        if (!isatty(STDOUT_FILENO))
                return 0;
        command = pager_pick(getenv("SYSTEMD_PAGER"), getenv("PAGER"));
        if (!command)
                return 0;
        if (pipe2(fd, O_CLOEXEC) < 0)
                return 0;

        fflush(stdout);
        pid = fork();
        if (pid < 0) {
                close(fd[0]);
                close(fd[1]);
                return 0;
        }
        if (pid == 0) {
                if (dup2(fd[0], STDIN_FILENO) < 0)
                        _exit(EXIT_FAILURE);
                pager_run(command);
        }

        close(fd[0]);
        if (dup2(fd[1], STDOUT_FILENO) < 0) {
                /* Still the terminal: show the output there, and let the pager see end of file. */
                close(fd[1]);
                (void) waitpid(pid, NULL, 0);
                return 0;
        }
        close(fd[1]);
        return pid;
}

void pager_close(pid_t pid) {
        if (pid <= 0)
                return;
        fflush(stdout);
        /* End of file for the pager: stdout is its only writer left. */
        close(STDOUT_FILENO);
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
                ;
}
