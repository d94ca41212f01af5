/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* process.c: starting QEMU in its own session, with its output in a log and exec failures reported back */
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>

#include "common/alloc.h"
#include "qemu.h"

/* What the child sends back through the CLOEXEC pipe when it fails; nothing arrives when exec worked. */
typedef struct SpawnFailure {
        int stage; /* SPAWN_STAGE_* */
        int error; /* positive errno */
} SpawnFailure;

enum {
        SPAWN_STAGE_SETUP,
        SPAWN_STAGE_BEFORE_EXEC,
        SPAWN_STAGE_EXEC,
};

_noreturn_ static void child_fail(int report_fd, int stage, int error)
{
        SpawnFailure f = { .stage = stage, .error = error };
        (void)!write(report_fd, &f, sizeof(f));
        _exit(127);
}

/* Makes fd the child's target fd, without CLOEXEC (dup2 onto itself would keep the flag). */
static int move_fd(int fd, int target)
{
        if (fd == target)
                return fcntl(fd, F_SETFD, 0);
        return dup2(fd, target);
}

/* The child between fork and exec: async-signal-safe calls only. */
_noreturn_ static void child(char *const *argv, int log_fd, int (*before_exec)(void *data), void *data,
                             int report_fd)
{
        sigset_t none;
        int null_fd, r;

        /* The caller's dispositions (SIGPIPE ignored, say) and mask are not QEMU's business. */
        for (int sig = 1; sig < NSIG; sig++)
                if (sig != SIGKILL && sig != SIGSTOP)
                        signal(sig, SIG_DFL);
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        /* Its own session: a terminal's signals for the caller do not reach the VM. */
        if (setsid() < 0)
                child_fail(report_fd, SPAWN_STAGE_SETUP, errno);

        null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
        if (null_fd < 0)
                child_fail(report_fd, SPAWN_STAGE_SETUP, errno);
        if (log_fd < 0)
                log_fd = null_fd;
        if (move_fd(log_fd, STDOUT_FILENO) < 0 || move_fd(log_fd, STDERR_FILENO) < 0 ||
            move_fd(null_fd, STDIN_FILENO) < 0)
                child_fail(report_fd, SPAWN_STAGE_SETUP, errno);

        if (before_exec) {
                r = before_exec(data);
                if (r < 0)
                        child_fail(report_fd, SPAWN_STAGE_BEFORE_EXEC, -r);
        }
        execvp(argv[0], argv);
        child_fail(report_fd, SPAWN_STAGE_EXEC, errno);
}

int vm_qemu_spawn(char *const *argv, int log_fd, int (*before_exec)(void *data), void *data, pid_t *ret_pid,
                  Error **err)
{
        _cleanup_(pid_killp) pid_t pid = 0;
        _cleanup_close_ int report_rd = -EBADF;
        SpawnFailure f;
        int pipefd[2];
        ssize_t n;

        if (!argv || !argv[0])
                return error_setf(err, EINVAL, "start qemu: empty command line");
        if (pipe2(pipefd, O_CLOEXEC) < 0)
                return error_set(err, errno, "start '%s': pipe", argv[0]);
        report_rd = pipefd[0];
        pid = fork();
        if (pid < 0) {
                int saved = errno;
                close(pipefd[1]);
                return error_set(err, saved, "start '%s': fork", argv[0]);
        }
        if (pid == 0) {
                close(pipefd[0]);
                child(argv, log_fd, before_exec, data, pipefd[1]);
        }
        close(pipefd[1]);

        /* The write end closes at exec (CLOEXEC), so end of file here means QEMU is running. */
        do
                n = read(report_rd, &f, sizeof(f));
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return error_set(err, errno, "start '%s': read the child's report", argv[0]);
        if (n == 0) {
                *ret_pid = TAKE_PID(pid);
                return 0;
        }
        if ((size_t)n != sizeof(f))
                return error_setf(err, EPROTO, "start '%s': a short report from the child", argv[0]);
        if (f.stage == SPAWN_STAGE_EXEC && f.error == ENOENT)
                return error_set(err, ENOENT, "start '%s': not found (install qemu-system-x86)", argv[0]);
        if (f.stage == SPAWN_STAGE_EXEC)
                return error_set(err, f.error, "start '%s': exec", argv[0]);
        if (f.stage == SPAWN_STAGE_BEFORE_EXEC)
                return error_set(err, f.error, "start '%s': prepare the child", argv[0]);
        return error_set(err, f.error, "start '%s': set up the child's session and stdio", argv[0]);
}
