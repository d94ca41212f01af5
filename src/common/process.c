/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* process.c: pids, pidfds, start times, waiting */
#include <fcntl.h>
#include <linux/sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>

#include "alloc.h"
#include "fs.h"
#include "process.h"

void pid_killp(pid_t *pid)
{
        if (*pid > 0) {
                int saved = errno;
                kill(*pid, SIGKILL);
                while (waitpid(*pid, NULL, 0) < 0 && errno == EINTR)
                        ;
                errno = saved;
        }
}

/* Reads /proc/PID/stat and returns a pointer just past the ") " that ends the comm field. */
static int read_stat(pid_t pid, char *buf, size_t size, char **ret_rest)
{
        char path[64];
        _cleanup_close_ int fd = -EBADF;
        ssize_t n;
        char *p;

        snprintf(path, sizeof(path), "/proc/%d/stat", pid);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        n = read(fd, buf, size - 1);
        if (n < 0)
                return -errno;
        buf[n] = 0;
        p = strrchr(buf, ')');
        if (!p || p[1] != ' ')
                return -EBADMSG;
        *ret_rest = p + 2;
        return 0;
}

int process_start_time(pid_t pid, uint64_t *ret)
{
        char buf[1024], *p = NULL;
        int r = read_stat(pid, buf, sizeof(buf), &p);
        if (r < 0)
                return r;
        /* p is at field 3 (state); the start time is field 22. */
        for (int field = 3; field < 22; field++) {
                p = strchr(p, ' ');
                if (!p)
                        return -EBADMSG;
                p++;
        }
        *ret = strtoull(p, NULL, 10);
        return 0;
}

char process_state(pid_t pid)
{
        char buf[1024], *p = NULL;
        if (read_stat(pid, buf, sizeof(buf), &p) < 0)
                return 0;
        return *p;
}

bool process_is_alive(pid_t pid, uint64_t start_time)
{
        uint64_t t;
        char st;

        if (pid <= 0)
                return false;
        st = process_state(pid);
        if (st == 0 || st == 'Z' || st == 'X')
                return false;
        if (start_time == 0)
                return true;
        return process_start_time(pid, &t) == 0 && t == start_time;
}

int pidfd_open_pid(pid_t pid)
{
        int fd = (int)syscall(SYS_pidfd_open, pid, 0);
        return fd < 0 ? -errno : fd;
}

int pidfd_signal(int pidfd, int sig)
{
        return syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0) < 0 ? -errno : 0;
}

int process_wait_status(pid_t pid, int *ret_status, Error **err)
{
        int status;

        while (waitpid(pid, &status, 0) < 0) {
                if (errno != EINTR)
                        return error_set(err, errno, "wait for pid %d", pid);
        }
        if (WIFEXITED(status))
                *ret_status = WEXITSTATUS(status);
        else if (WIFSIGNALED(status))
                *ret_status = 128 + WTERMSIG(status);
        else
                *ret_status = 255;
        return 0;
}

int64_t monotonic_ms(void)
{
        struct timespec t;

        clock_gettime(CLOCK_MONOTONIC, &t);
        return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

int64_t deadline_ms(int timeout_ms)
{
        return timeout_ms < 0 ? -1 : monotonic_ms() + timeout_ms;
}

int deadline_left_ms(int64_t deadline)
{
        int64_t left;

        if (deadline < 0)
                return -1;
        left = deadline - monotonic_ms();
        return left < 0 ? 0 : left > INT32_MAX ? INT32_MAX : (int)left;
}

static const struct {
        const char *name;
        int sig;
} signal_names[] = {
        { "HUP", SIGHUP },     { "INT", SIGINT },       { "QUIT", SIGQUIT },   { "ILL", SIGILL },
        { "TRAP", SIGTRAP },   { "ABRT", SIGABRT },     { "IOT", SIGIOT },     { "BUS", SIGBUS },
        { "FPE", SIGFPE },     { "KILL", SIGKILL },     { "USR1", SIGUSR1 },   { "SEGV", SIGSEGV },
        { "USR2", SIGUSR2 },   { "PIPE", SIGPIPE },     { "ALRM", SIGALRM },   { "TERM", SIGTERM },
        { "STKFLT", SIGSTKFLT }, { "CHLD", SIGCHLD },   { "CONT", SIGCONT },   { "STOP", SIGSTOP },
        { "TSTP", SIGTSTP },   { "TTIN", SIGTTIN },     { "TTOU", SIGTTOU },   { "URG", SIGURG },
        { "XCPU", SIGXCPU },   { "XFSZ", SIGXFSZ },     { "VTALRM", SIGVTALRM }, { "PROF", SIGPROF },
        { "WINCH", SIGWINCH }, { "IO", SIGIO },         { "POLL", SIGPOLL },   { "PWR", SIGPWR },
        { "SYS", SIGSYS },
};

int signal_parse(const char *s)
{
        char *end;
        long n = strtol(s, &end, 10);

        if (*s && !*end)
                return n > 0 && n < NSIG ? (int)n : -EINVAL;
        if (strncasecmp(s, "SIG", 3) == 0)
                s += 3;
        for (size_t i = 0; i < ARRAY_SIZE(signal_names); i++)
                if (strcasecmp(s, signal_names[i].name) == 0)
                        return signal_names[i].sig;
        if (strncasecmp(s, "RTMIN+", 6) == 0) {
                n = strtol(s + 6, &end, 10);
                if (!*end && n >= 0 && SIGRTMIN + n <= SIGRTMAX)
                        return SIGRTMIN + (int)n;
        }
        return -EINVAL;
}

int userns_open(int (*write_maps)(pid_t pid, void *data, Error **err), void *data, int *ret_fd, Error **err)
{
        struct clone_args args = { .flags = CLONE_NEWUSER, .exit_signal = SIGCHLD };
        char path[64];
        pid_t pid;
        int r, fd = -EBADF;

        /* The child only holds the namespace while its maps are written and it is opened: the namespace
         * lives on in the fd once the child is gone. */
        pid = (pid_t)syscall(SYS_clone3, &args, sizeof(args));
        if (pid < 0)
                return error_set(err, errno, "clone a user namespace");
        if (pid == 0) {
                for (;;)
                        pause();
        }
        r = write_maps(pid, data, err);
        if (r >= 0) {
                snprintf(path, sizeof(path), "/proc/%d/ns/user", (int)pid);
                fd = open(path, O_RDONLY | O_CLOEXEC);
                if (fd < 0)
                        r = error_set(err, errno, "open '%s'", path);
        }
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        if (r < 0)
                return r;
        *ret_fd = fd;
        return 0;
}
