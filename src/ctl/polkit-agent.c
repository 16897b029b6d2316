/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* pkttyagent for calls that may prompt (see polkit-agent.h). */

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "macro.h"
#include "polkit-agent.h"

pid_t polkit_agent_open(void) {
        int pipe_fd[2];
        pid_t pid;

        if (pipe2(pipe_fd, O_CLOEXEC) < 0)
                return 0;

        pid = fork();
        if (pid < 0) {
                safe_close(pipe_fd[0]);
                safe_close(pipe_fd[1]);
                return 0;
        }
        if (pid == 0) {
                char fd[16];

                /* Don't outlive us if we are killed before polkit_agent_close(). */
                (void) prctl(PR_SET_PDEATHSIG, SIGTERM);
                (void) close(pipe_fd[0]);
                if (fcntl(pipe_fd[1], F_SETFD, 0) < 0)
                        _exit(127);
                snprintf(fd, sizeof(fd), "%i", pipe_fd[1]);
                execlp("pkttyagent", "pkttyagent", "--notify-fd", fd, "--fallback", (char *) NULL);
                _exit(127);
        }

        (void) close(pipe_fd[1]);
        /* pkttyagent closes the notify fd once it is registered with polkit; if it cannot be run at
         * all the pipe closes as well. Either way there is nothing more to wait for. */
        for (;;) {
                struct pollfd p = { .fd = pipe_fd[0], .events = POLLIN };

                if (poll(&p, 1, -1) < 0 && errno == EINTR)
                        continue;
                break;
        }
        (void) close(pipe_fd[0]);
        return pid;
}

void polkit_agent_close(pid_t pid) {
        if (pid <= 0)
                return;
        (void) kill(pid, SIGTERM);
        (void) kill(pid, SIGCONT);
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
                ;
}
