/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* session.c: EXEC's process: its user, environment, terminal or pipes, and the host input it is fed */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "agent/agent.h"

#define MAX_ARGS 1024
#define DEFAULT_PATH "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* What an EXEC frame asks for; strings point into one copy of the payload. */
typedef struct ExecSpec {
        char *buf;
        char *argv[MAX_ARGS + 1];
        int argc;
        char *envp[MAX_ARGS + 4];
        int envc;
        const char *cwd, *user;
        unsigned rows, cols;
        bool is_tty, is_main, then_poweroff, is_detached;
} ExecSpec;

/* What the child reports through the CLOEXEC pipe when it cannot exec. */
typedef struct ExecFailure {
        int err;
        char what[64];
} ExecFailure;

static int parse_spec(const uint8_t *payload, size_t len, ExecSpec *s)
{
        char *p, *end;

        memset(s, 0, sizeof(*s));
        if (len == 0 || payload[len - 1] != 0)
                return agent_fail(EBADMSG, "exec request: records not terminated");
        s->buf = malloc(len);
        if (!s->buf)
                return agent_fail(ENOMEM, "exec request");
        memcpy(s->buf, payload, len);
        for (p = s->buf, end = s->buf + len; p < end;) {
                char *next = p + strlen(p) + 1, *v = strchr(p, '=');
                if (!v)
                        return agent_fail(EBADMSG, "exec request: record without '='");
                *v++ = 0;
                if (strcmp(p, "arg") == 0 && s->argc < MAX_ARGS)
                        s->argv[s->argc++] = v;
                else if (strcmp(p, "env") == 0 && s->envc < MAX_ARGS)
                        s->envp[s->envc++] = v;
                else if (strcmp(p, "cwd") == 0)
                        s->cwd = v;
                else if (strcmp(p, "user") == 0)
                        s->user = v;
                else if (strcmp(p, "tty") == 0)
                        s->is_tty = strcmp(v, "1") == 0;
                else if (strcmp(p, "main") == 0)
                        s->is_main = strcmp(v, "1") == 0;
                else if (strcmp(p, "detach") == 0)
                        s->is_detached = strcmp(v, "1") == 0;
                else if (strcmp(p, "then") == 0)
                        s->then_poweroff = strcmp(v, "poweroff") == 0;
                else if (strcmp(p, "rows") == 0)
                        s->rows = (unsigned)strtoul(v, NULL, 10);
                else if (strcmp(p, "cols") == 0)
                        s->cols = (unsigned)strtoul(v, NULL, 10);
                p = next;
        }
        if (s->argc == 0)
                return agent_fail(EINVAL, "exec request without arg");
        return 0;
}

static bool env_has(const ExecSpec *s, const char *key)
{
        size_t n = strlen(key);

        for (int i = 0; i < s->envc; i++)
                if (strncmp(s->envp[i], key, n) == 0 && s->envp[i][n] == '=')
                        return true;
        return false;
}

static _Noreturn void child_fail(int pipe_fd, int err, const char *what)
{
        ExecFailure f = { .err = err };

        snprintf(f.what, sizeof(f.what), "%s", what);
        (void)!write(pipe_fd, &f, sizeof(f));
        _exit(127);
}

/* The child: stdio, session, user, cwd, exec. Reports a failure through err_pipe and exits. */
static _Noreturn void child(const ExecSpec *s, const AgentUser *u, int pty_master, const int fds[3], int err_pipe)
{
        extern char **environ;
        sigset_t none;

        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        for (int sig = 1; sig < NSIG; sig++)
                signal(sig, SIG_DFL);
        if (setsid() < 0)
                child_fail(err_pipe, errno, "setsid");
        if (pty_master >= 0) {
                char name[64];
                int slave;
                if (ptsname_r(pty_master, name, sizeof(name)) != 0)
                        child_fail(err_pipe, errno, "ptsname");
                slave = open(name, O_RDWR);
                if (slave < 0)
                        child_fail(err_pipe, errno, "open the terminal");
                if (ioctl(slave, TIOCSCTTY, 0) < 0)
                        child_fail(err_pipe, errno, "take the terminal");
                for (int i = 0; i < 3; i++)
                        dup2(slave, i);
                if (slave > 2)
                        close(slave);
        } else {
                for (int i = 0; i < 3; i++)
                        if (dup2(fds[i], i) < 0)
                                child_fail(err_pipe, errno, "dup2");
        }
        if (setgroups((size_t)u->n_groups, u->groups) < 0 || setgid(u->gid) < 0 || setuid(u->uid) < 0)
                child_fail(err_pipe, errno, "set user");
        if (chdir(s->cwd && s->cwd[0] ? s->cwd : "/") < 0)
                child_fail(err_pipe, errno, "chdir");
        /* execvp() searches the PATH of environ, so the process's environment goes there first. */
        environ = (char **)s->envp;
        execvp(s->argv[0], s->argv);
        child_fail(err_pipe, errno, "exec");
}

static int make_pipes(int fds[3], int ours[3])
{
        for (int i = 0; i < 3; i++) {
                int p[2];
                if (pipe2(p, O_CLOEXEC) < 0)
                        return agent_fail(errno, "pipe");
                /* stdin: the child reads p[0]; stdout and stderr: it writes p[1]. */
                fds[i] = i == 0 ? p[0] : p[1];
                ours[i] = i == 0 ? p[1] : p[0];
                fcntl(ours[i], F_SETFL, O_NONBLOCK);
        }
        return 0;
}

static void close_all(int *fds, int n)
{
        for (int i = 0; i < n; i++)
                if (fds[i] >= 0) {
                        close(fds[i]);
                        fds[i] = -1;
                }
}

static int open_pty(const ExecSpec *s, int *ret_master)
{
        struct winsize ws = { .ws_row = (unsigned short)s->rows, .ws_col = (unsigned short)s->cols };
        int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);

        if (m < 0)
                return agent_fail(errno, "open a terminal");
        if (grantpt(m) < 0 || unlockpt(m) < 0) {
                close(m);
                return agent_fail(errno, "unlock the terminal");
        }
        if (s->rows && s->cols)
                ioctl(m, TIOCSWINSZ, &ws);
        fcntl(m, F_SETFL, O_NONBLOCK);
        *ret_master = m;
        return 0;
}

/* Waits for the child's exec: 0 once it ran (the pipe closed empty), else -errno with agent_error. */
static int wait_exec(pid_t pid, int err_pipe, const char *cmd)
{
        ExecFailure f;
        ssize_t n;

        do
                n = read(err_pipe, &f, sizeof(f));
        while (n < 0 && errno == EINTR);
        if (n <= 0)
                return 0;
        waitpid(pid, NULL, 0);
        f.what[sizeof(f.what) - 1] = 0;
        if (strcmp(f.what, "exec") == 0)
                return agent_fail(f.err, "exec '%s'", cmd);
        return agent_fail(f.err, "%s for '%s'", f.what, cmd);
}

int session_start(const uint8_t *payload, size_t len, Session **ret)
{
        static ExecSpec s;
        static AgentUser u;
        char home[AGENT_PATH_MAX + 8];
        int fds[3] = { -1, -1, -1 }, ours[3] = { -1, -1, -1 }, ep[2] = { -1, -1 }, master = -1;
        Session *ss;
        pid_t pid;
        int r;

        r = parse_spec(payload, len, &s);
        if (r >= 0)
                r = user_resolve(s.user, &u);
        if (r < 0)
                goto out;
        if (!env_has(&s, "PATH"))
                s.envp[s.envc++] = (char *)DEFAULT_PATH;
        if (!env_has(&s, "HOME")) {
                snprintf(home, sizeof(home), "HOME=%s", u.home);
                s.envp[s.envc++] = home;
        }
        if (s.is_tty && !env_has(&s, "TERM"))
                s.envp[s.envc++] = (char *)"TERM=xterm";
        s.envp[s.envc] = NULL;
        if (s.is_detached) {
                /* Nothing of it travels: stdio on /dev/null, no terminal. */
                s.is_tty = s.is_main = s.then_poweroff = false;
                for (int i = 0; i < 3; i++) {
                        fds[i] = open("/dev/null", O_RDWR | O_CLOEXEC);
                        if (fds[i] < 0) {
                                r = agent_fail(errno, "open '/dev/null'");
                                goto out;
                        }
                }
        } else {
                r = s.is_tty ? open_pty(&s, &master) : make_pipes(fds, ours);
                if (r < 0)
                        goto out;
        }
        if (pipe2(ep, O_CLOEXEC) < 0) {
                r = agent_fail(errno, "pipe");
                goto out;
        }
        pid = fork();
        if (pid < 0) {
                r = agent_fail(errno, "fork");
                goto out;
        }
        if (pid == 0)
                child(&s, &u, master, fds, ep[1]);
        close_all(fds, 3);
        close_all(&ep[1], 1);
        r = wait_exec(pid, ep[0], s.argv[0]);
        if (r < 0)
                goto out;
        ss = calloc(1, sizeof(*ss));
        if (!ss) {
                r = agent_fail(ENOMEM, "session");
                goto out;
        }
        static unsigned long next_id;
        ss->id = ++next_id;
        ss->pid = pid;
        ss->is_main = s.is_main;
        ss->is_tty = s.is_tty;
        ss->then_poweroff = s.then_poweroff;
        ss->is_detached = s.is_detached;
        ss->err_fd = -1;
        if (s.is_detached) {
                ss->in_fd = ss->out_fd = -1;
        } else if (s.is_tty) {
                ss->out_fd = master;
                ss->in_fd = fcntl(master, F_DUPFD_CLOEXEC, 3);
                master = -1;
        } else {
                ss->in_fd = ours[0];
                ss->out_fd = ours[1];
                ss->err_fd = ours[2];
                ours[0] = ours[1] = ours[2] = -1;
        }
        *ret = ss;
out:
        close_all(fds, 3);
        close_all(ours, 3);
        close_all(ep, 2);
        close_all(&master, 1);
        free(s.buf);
        s.buf = NULL;
        return r;
}

Session *session_free(Session *s)
{
        if (!s)
                return NULL;
        close_all(&s->in_fd, 1);
        close_all(&s->out_fd, 1);
        close_all(&s->err_fd, 1);
        free(s->in_buf);
        free(s);
        return NULL;
}

void session_input(Session *s, const uint8_t *data, size_t len)
{
        if (len == 0) {
                s->is_in_eof = true;
        } else if (s->in_fd >= 0 && !s->is_in_eof) {
                uint8_t *b = realloc(s->in_buf, s->in_len + len);
                if (!b)
                        return;
                memcpy(b + s->in_len, data, len);
                s->in_buf = b;
                s->in_len += len;
        }
        session_flush_input(s);
}

void session_flush_input(Session *s)
{
        while (s->in_fd >= 0 && s->in_len > 0) {
                ssize_t n = write(s->in_fd, s->in_buf, s->in_len);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno == EAGAIN)
                                return;
                        /* The process closed its stdin: what it did not take is dropped. */
                        s->in_len = 0;
                        close_all(&s->in_fd, 1);
                        return;
                }
                memmove(s->in_buf, s->in_buf + n, s->in_len - (size_t)n);
                s->in_len -= (size_t)n;
        }
        if (s->in_fd >= 0 && s->is_in_eof && s->in_len == 0) {
                if (s->is_tty) {
                        /* A terminal's end of input is its EOF character; the master stays open for output. */
                        (void)!write(s->in_fd, "\x04", 1);
                }
                close_all(&s->in_fd, 1);
        }
}

void session_resize(Session *s, unsigned rows, unsigned cols)
{
        struct winsize ws = { .ws_row = (unsigned short)rows, .ws_col = (unsigned short)cols };
        int fd = s->is_tty ? (s->out_fd >= 0 ? s->out_fd : s->in_fd) : -1;

        if (fd >= 0)
                ioctl(fd, TIOCSWINSZ, &ws);
}
