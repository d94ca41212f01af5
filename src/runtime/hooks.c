/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* hooks.c: running OCI lifecycle hooks with the state on stdin and a timeout */
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include "common/alloc.h"
#include "common/process.h"
#include "hooks.h"

/* Feeds state to the hook through a pipe; a hook that does not read it must not block us. */
static int run_one(const RtHook *h, RtHookKind kind, size_t index, const char *state_json, Error **err)
{
        _cleanup_close_ int pidfd = -EBADF;
        _cleanup_(pid_killp) pid_t pid = 0;
        int in[2], status, r;
        size_t len = strlen(state_json), off = 0;
        struct timespec start, now;
        char *const empty_env[] = { NULL };

        if (pipe2(in, O_CLOEXEC) < 0)
                return error_set(err, errno, "pipe");
        pid = fork();
        if (pid < 0) {
                r = -errno;
                close(in[0]);
                close(in[1]);
                return error_set(err, r, "fork hook");
        }
        if (pid == 0) {
                sigset_t all;
                /* We ignore SIGPIPE while feeding hooks; the hook must start with the default. */
                signal(SIGPIPE, SIG_DFL);
                sigemptyset(&all);
                sigprocmask(SIG_SETMASK, &all, NULL);
                if (dup2(in[0], STDIN_FILENO) < 0)
                        _exit(127);
                char *const *argv = h->args && h->args[0] ? h->args : (char *const[]){ h->path, NULL };
                execve(h->path, argv, h->env ? h->env : empty_env);
                _exit(127);
        }
        close(in[0]);
        pidfd = pidfd_open_pid(pid);
        if (pidfd < 0) {
                /* Without it we could neither wait with a timeout nor notice the exit. */
                close(in[1]);
                return error_set(err, pidfd, "%s hook #%zu: pidfd_open", rt_hook_kind_name(kind), index);
        }
        fcntl(in[1], F_SETFL, O_NONBLOCK);
        clock_gettime(CLOCK_MONOTONIC, &start);

        for (;;) {
                struct pollfd p[2] = { { .fd = pidfd, .events = POLLIN }, { .fd = in[1], .events = POLLOUT } };
                int timeout_ms = -1;

                if (h->timeout > 0) {
                        clock_gettime(CLOCK_MONOTONIC, &now);
                        long elapsed = (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
                        timeout_ms = (int)(h->timeout * 1000L - elapsed);
                        if (timeout_ms <= 0) {
                                if (in[1] >= 0)
                                        close(in[1]);
                                return error_setf(err, ETIMEDOUT, "%s hook #%zu '%s': timed out after %d s",
                                                  rt_hook_kind_name(kind), index, h->path, h->timeout);
                        }
                }
                r = poll(p, in[1] >= 0 ? 2 : 1, timeout_ms);
                if (r < 0 && errno != EINTR)
                        return error_set(err, errno, "poll hook");
                if (in[1] >= 0 && (p[1].revents & (POLLOUT | POLLERR | POLLHUP))) {
                        ssize_t n = write(in[1], state_json + off, len - off);
                        if (n > 0)
                                off += (size_t)n;
                        if (n < 0 && errno != EAGAIN && errno != EINTR)
                                off = len; /* the hook closed its stdin: fine */
                        if (off == len) {
                                close(in[1]);
                                in[1] = -1;
                        }
                }
                if (p[0].revents & POLLIN)
                        break;
        }
        if (in[1] >= 0)
                close(in[1]);
        r = process_wait_status(TAKE_PID(pid), &status, err);
        if (r < 0)
                return r;
        if (status != 0)
                return error_setf(err, ECANCELED, "%s hook #%zu '%s': exited with status %d", rt_hook_kind_name(kind),
                                  index, h->path, status);
        return 0;
}

int rt_hooks_run(const RtHook *hooks, size_t n, RtHookKind kind, const char *state_json, Error **err)
{
        /* A hook that closes its stdin early must not kill us with SIGPIPE. */
        struct sigaction ign = { .sa_handler = SIG_IGN }, old;
        int r = 0;

        if (n == 0)
                return 0;
        sigaction(SIGPIPE, &ign, &old);
        for (size_t i = 0; i < n && r >= 0; i++)
                r = run_one(&hooks[i], kind, i, state_json, err);
        sigaction(SIGPIPE, &old, NULL);
        return r;
}
