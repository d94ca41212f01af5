/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* monitor.c: hull-monitor, the small process that stays with a detached container: its logs and exit status */
/*
 * hull starts a detached container from a child that becomes a child subreaper, creates the
 * container, and then executes this program in its place (the subreaper flag survives execve), so
 * the container's init is our child. We copy what the container writes to its stdout and stderr
 * into a log file, one CRI-format line per line ("<RFC 3339 time> stdout F <text>"), and when the
 * init exits we write its status (shell form: code, or 128+signal) to the exit file. This program
 * links only against libc, statically where the toolchain allows, so that it costs well under a MiB.
 *
 * usage: hull-monitor LOG EXIT PID OUT_FD ERR_FD [HULL ROOT RUNROOT NAME ACTION]
 *   OUT_FD and ERR_FD are the read ends of the container's stdout and stderr (ERR_FD may be -1 when
 *   both go to one terminal). With HULL ROOT RUNROOT NAME ACTION, once the container has exited and
 *   its status is written, hull runs again: ACTION "rm" runs `HULL --root ROOT --runroot RUNROOT rm -f
 *   NAME` (run --rm -d), "restart" runs `... __restart NAME` (a restart policy: hull decides, not us).
 *   It runs in a child of ours in a session of its own, and we exit at once: hull waits for this
 *   monitor to be gone before it reads the exit status, and may start a new one for a restart.
 *
 * A system container's OUT_FD is the master of its console (a pty). Then $HULL_MONITOR_CONSOLE holds
 * "LISTEN SLAVE [TTY...]": a listening unix socket, where one client at a time (`hull console`) gets
 * the console's bytes both ways; the console's slave, held so that the console outlives an init that
 * closes and reopens it (and let go of once the init exits, so the master drains and ends); and the
 * masters of the container's ttys, held so they live as long as the container.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define BUF_SIZE 16384

typedef struct Stream {
        int fd;
        const char *name;
        char line[BUF_SIZE]; /* a partial line not yet written */
        size_t len;
} Stream;

static int log_fd = -1;
/* The attached console client, or -1; its socket is non-blocking: what it cannot take is dropped,
 * the container never waits on it. */
static int client_fd = -1;

static void write_all(int fd, const char *p, size_t n)
{
        while (n > 0) {
                ssize_t w = write(fd, p, n);
                if (w < 0 && errno == EINTR)
                        continue;
                if (w <= 0)
                        return; /* a full disk loses log lines, never the container */
                p += w;
                n -= (size_t)w;
        }
}

/* Writes one log record; is_partial marks a line cut at the buffer size or at the end of output. */
static void log_line(const Stream *s, const char *text, size_t n, bool is_partial)
{
        char head[96];
        struct timespec ts;
        struct tm tm;
        int h;

        clock_gettime(CLOCK_REALTIME, &ts);
        gmtime_r(&ts.tv_sec, &tm);
        h = snprintf(head, sizeof(head), "%04d-%02d-%02dT%02d:%02d:%02d.%09ldZ %s %c ", tm.tm_year + 1900,
                     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec, s->name,
                     is_partial ? 'P' : 'F');
        write_all(log_fd, head, (size_t)h);
        write_all(log_fd, text, n);
        write_all(log_fd, "\n", 1);
}

/* Reads what is available; returns false at end of stream. */
static bool stream_read(Stream *s)
{
        ssize_t n;

        do
                n = read(s->fd, s->line + s->len, sizeof(s->line) - s->len);
        while (n < 0 && errno == EINTR);
        if (n < 0 && errno == EAGAIN)
                return true;
        if (n <= 0) {
                if (s->len > 0)
                        log_line(s, s->line, s->len, true);
                s->len = 0;
                return false;
        }
        if (client_fd >= 0 && send(client_fd, s->line + s->len, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL) < 0 &&
            errno != EAGAIN) {
                close(client_fd);
                client_fd = -1;
        }
        s->len += (size_t)n;
        size_t start = 0;
        for (size_t i = 0; i < s->len; i++) {
                if (s->line[i] != '\n')
                        continue;
                size_t end = i;
                if (end > start && s->line[end - 1] == '\r')
                        end--;
                log_line(s, s->line + start, end - start, false);
                start = i + 1;
        }
        if (start == 0 && s->len == sizeof(s->line)) {
                log_line(s, s->line, s->len, true);
                start = s->len;
        }
        memmove(s->line, s->line + start, s->len - start);
        s->len -= start;
        return true;
}

/* Writes the exit file through a temporary name, so a reader sees a whole status or none. */
static void write_status(const char *path, int status)
{
        char tmp[4096], text[16];
        int fd, n;

        snprintf(tmp, sizeof(tmp), "%s.tmp", path);
        fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0)
                return;
        n = snprintf(text, sizeof(text), "%d\n", status);
        write_all(fd, text, (size_t)n);
        fsync(fd);
        close(fd);
        rename(tmp, path);
}

/* A new console client: the first is attached, others are told and let go. */
static void console_accept(int listen_fd)
{
        static const char busy[] = "hull: the console is in use\r\n";
        int fd = accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

        if (fd < 0)
                return;
        if (client_fd >= 0) {
                send(fd, busy, sizeof(busy) - 1, MSG_DONTWAIT | MSG_NOSIGNAL);
                close(fd);
                return;
        }
        client_fd = fd;
}

/* What the client types goes to the console; a full input queue drops it rather than block us. */
static void console_input(int master)
{
        char buf[4096];
        ssize_t n = read(client_fd, buf, sizeof(buf));

        if (n < 0 && (errno == EAGAIN || errno == EINTR))
                return;
        if (n <= 0) {
                close(client_fd);
                client_fd = -1;
                return;
        }
        for (ssize_t off = 0; off < n;) {
                ssize_t w = write(master, buf + off, (size_t)(n - off));
                if (w < 0 && errno == EINTR)
                        continue;
                if (w <= 0)
                        return;
                off += w;
        }
}

/* $HULL_MONITOR_CONSOLE: the listening socket and the console's slave; the ttys' masters are only held. */
static void console_setup(int *ret_listen, int *ret_slave)
{
        const char *env = getenv("HULL_MONITOR_CONSOLE");
        char *end;

        *ret_listen = *ret_slave = -1;
        if (!env)
                return;
        *ret_listen = (int)strtol(env, &end, 10);
        *ret_slave = (int)strtol(end, &end, 10);
        for (long fd = strtol(end, &end, 10); fd > 0; fd = strtol(end, &end, 10))
                fcntl((int)fd, F_SETFD, FD_CLOEXEC);
        fcntl(*ret_listen, F_SETFD, FD_CLOEXEC);
        fcntl(*ret_listen, F_SETFL, O_NONBLOCK);
        fcntl(*ret_slave, F_SETFD, FD_CLOEXEC);
        unsetenv("HULL_MONITOR_CONSOLE");
}

/* Runs hull once the container has exited: args are HULL ROOT RUNROOT NAME ACTION. In a child, so that
 * this monitor is gone (and its status final) while hull works. What hull says goes to "hull.err" beside
 * the exit file (the instance's directory): a restart that failed tells why there. */
static void run_hull(const char *exit_path, char **args)
{
        char err_path[4096];
        const char *slash = strrchr(exit_path, '/');
        int err_fd = -1;
        bool is_rm = strcmp(args[4], "rm") == 0;
        char *argv[] = { args[0], "--root", args[1], "--runroot", args[2], is_rm ? "rm" : "__restart",
                         is_rm ? "-f" : args[3], is_rm ? args[3] : NULL, NULL };
        sigset_t none;
        int devnull;

        if (!is_rm && strcmp(args[4], "restart") != 0)
                return;
        /* Made before we exit, so that once this monitor is gone it creates no file in the instance's
         * directory any more (rm -f waits for that before it removes the directory). */
        if (slash && snprintf(err_path, sizeof(err_path), "%.*s/hull.err", (int)(slash - exit_path), exit_path) <
                             (int)sizeof(err_path))
                err_fd = open(err_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
        if (fork() != 0)
                return;
        /* What we ignore and block would be inherited by hull and by what it starts. */
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        signal(SIGHUP, SIG_DFL);
        signal(SIGINT, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
        signal(SIGPIPE, SIG_DFL);
        setsid();
        devnull = open("/dev/null", O_RDWR);
        if (devnull >= 0) {
                dup2(devnull, STDIN_FILENO);
                dup2(devnull, STDOUT_FILENO);
                dup2(devnull, STDERR_FILENO);
        }
        if (err_fd >= 0)
                dup2(err_fd, STDERR_FILENO); /* dup2's copy is without O_CLOEXEC */
        execv(argv[0], argv);
        _exit(127);
}

int main(int argc, char **argv)
{
        Stream streams[2] = { { .name = "stdout" }, { .name = "stderr" } };
        struct pollfd pfd[5];
        sigset_t mask;
        pid_t pid;
        int sfd, status = -1, open_streams = 0, listen_fd, console_slave;
        bool has_exited = false;

        if (argc != 6 && argc != 11) {
                fprintf(stderr, "usage: hull-monitor LOG EXIT PID OUT_FD ERR_FD [HULL ROOT RUNROOT NAME ACTION]\n");
                return 2;
        }
        pid = (pid_t)atoi(argv[3]);
        streams[0].fd = atoi(argv[4]);
        streams[1].fd = atoi(argv[5]);
        console_setup(&listen_fd, &console_slave);

        /* The container must not die of our signals, nor we of theirs. */
        signal(SIGHUP, SIG_IGN);
        signal(SIGINT, SIG_IGN);
        signal(SIGTERM, SIG_IGN);
        signal(SIGPIPE, SIG_IGN);
        sigemptyset(&mask);
        sigaddset(&mask, SIGCHLD);
        sigprocmask(SIG_BLOCK, &mask, NULL);
        sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
        prctl(PR_SET_CHILD_SUBREAPER, 1);

        log_fd = open(argv[1], O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
        for (int i = 0; i < 2; i++) {
                if (streams[i].fd < 0)
                        continue;
                fcntl(streams[i].fd, F_SETFD, FD_CLOEXEC);
                fcntl(streams[i].fd, F_SETFL, O_NONBLOCK);
                open_streams++;
        }

        for (;;) {
                int n = 0, timeout = -1;

                /* Reap first: the init may have exited before the signalfd existed. */
                for (;;) {
                        int st;
                        pid_t p = waitpid(-1, &st, WNOHANG);
                        if (p <= 0)
                                break;
                        if (p == pid) {
                                status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
                                has_exited = true;
                        }
                }
                if (has_exited && console_slave >= 0) {
                        /* Only our slave keeps the console open now: let it go, so that the master
                         * ends once what the init wrote is read. */
                        close(console_slave);
                        console_slave = -1;
                }
                if (has_exited && open_streams == 0)
                        break;
                /* After the init is gone, its streams close with its pid namespace; a process that
                 * escaped with them must not hold the status back for long. */
                if (has_exited)
                        timeout = 2000;
                for (int i = 0; i < 2; i++)
                        if (streams[i].fd >= 0)
                                pfd[n++] = (struct pollfd){ .fd = streams[i].fd, .events = POLLIN };
                pfd[n++] = (struct pollfd){ .fd = sfd, .events = POLLIN };
                if (listen_fd >= 0)
                        pfd[n++] = (struct pollfd){ .fd = listen_fd, .events = POLLIN };
                if (client_fd >= 0)
                        pfd[n++] = (struct pollfd){ .fd = client_fd, .events = POLLIN };
                int r = poll(pfd, (nfds_t)n, timeout);
                if (r < 0 && errno == EINTR)
                        continue;
                if (r == 0)
                        break;
                for (int i = 0; i < n; i++) {
                        if (!pfd[i].revents)
                                continue;
                        if (pfd[i].fd == sfd) {
                                struct signalfd_siginfo si;
                                while (read(sfd, &si, sizeof(si)) > 0)
                                        ;
                                continue;
                        }
                        if (pfd[i].fd == listen_fd) {
                                console_accept(listen_fd);
                                continue;
                        }
                        if (pfd[i].fd == client_fd) {
                                if (streams[0].fd >= 0)
                                        console_input(streams[0].fd);
                                continue;
                        }
                        Stream *s = pfd[i].fd == streams[0].fd ? &streams[0] : &streams[1];
                        if (!stream_read(s)) {
                                close(s->fd);
                                s->fd = -1;
                                open_streams--;
                        }
                }
        }
        for (int i = 0; i < 2; i++)
                if (streams[i].fd >= 0 && streams[i].len > 0)
                        log_line(&streams[i], streams[i].line, streams[i].len, true);
        write_status(argv[2], status);
        if (argc == 11)
                run_hull(argv[2], argv + 6);
        return 0;
}
