/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* tty.c: pseudo-terminals for container processes, fd passing, and the foreground relay */
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <termios.h>

#include "common/alloc.h"
#include "common/fs.h"
#include "tty.h"

int rt_send_fd(int sock, int fd, const void *data, size_t len, Error **err)
{
        char dummy = 0;
        struct iovec iov = { .iov_base = data && len ? (void *)data : &dummy, .iov_len = data && len ? len : 1 };
        union {
                char buf[CMSG_SPACE(sizeof(int))];
                struct cmsghdr align;
        } u;
        struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
        struct cmsghdr *c;

        if (fd >= 0) {
                memset(&u, 0, sizeof(u));
                msg.msg_control = u.buf;
                msg.msg_controllen = sizeof(u.buf);
                c = CMSG_FIRSTHDR(&msg);
                c->cmsg_level = SOL_SOCKET;
                c->cmsg_type = SCM_RIGHTS;
                c->cmsg_len = CMSG_LEN(sizeof(int));
                memcpy(CMSG_DATA(c), &fd, sizeof(int));
        }
        while (sendmsg(sock, &msg, MSG_NOSIGNAL) < 0) {
                if (errno != EINTR)
                        return error_set(err, errno, "send fd");
        }
        return 0;
}

ssize_t rt_recv_fd(int sock, int *ret_fd, void *data, size_t len, Error **err)
{
        union {
                char buf[CMSG_SPACE(sizeof(int))];
                struct cmsghdr align;
        } u;
        struct iovec iov = { .iov_base = data, .iov_len = len };
        struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof(u.buf) };
        struct cmsghdr *c;
        ssize_t n;

        *ret_fd = -EBADF;
        do
                n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return error_set(err, errno, "receive fd");
        for (c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c))
                if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
                        memcpy(ret_fd, CMSG_DATA(c), sizeof(int));
        return n;
}

int rt_unix_connect(const char *path, int *ret_fd, Error **err)
{
        _cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        _cleanup_close_ int dir = -EBADF;
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        const char *target = path;
        _cleanup_free_ char *alt = NULL;

        if (fd < 0)
                return error_set(err, errno, "socket");
        if (strlen(path) >= sizeof(sa.sun_path)) {
                /* Reach a long path through "/proc/self/fd/N/name", short enough for sun_path. */
                _cleanup_free_ char *parent = xstrdup(path);
                char *slash = strrchr(parent, '/');
                if (!slash)
                        return error_setf(err, ENAMETOOLONG, "socket path '%s' is too long", path);
                *slash = 0;
                dir = open(*parent ? parent : "/", O_PATH | O_DIRECTORY | O_CLOEXEC);
                if (dir < 0)
                        return error_set(err, errno, "open '%s'", parent);
                alt = xasprintf("/proc/self/fd/%d/%s", dir, slash + 1);
                target = alt;
                if (strlen(target) >= sizeof(sa.sun_path))
                        return error_setf(err, ENAMETOOLONG, "socket name in '%s' is too long", path);
        }
        strcpy(sa.sun_path, target);
        if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
                return error_set(err, errno, "connect to '%s'", path);
        *ret_fd = TAKE_FD(fd);
        return 0;
}

int rt_tty_setup_slave(unsigned rows, unsigned cols, bool is_console_bind, int *ret_master, Error **err)
{
        _cleanup_close_ int master = -EBADF, slave = -EBADF;
        char name[PATH_MAX];

        master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
        if (master < 0)
                return error_set(err, errno, "open /dev/ptmx");
        if (unlockpt(master) < 0 || ptsname_r(master, name, sizeof(name)) != 0)
                return error_set(err, errno, "set up pty");
        slave = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
        if (slave < 0)
                return error_set(err, errno, "open '%s'", name);
        if (rows && cols) {
                struct winsize ws = { .ws_row = (unsigned short)rows, .ws_col = (unsigned short)cols };
                ioctl(slave, TIOCSWINSZ, &ws);
        }
        if (is_console_bind) {
                /* /dev/console in the container is the terminal too, as runc and LXC arrange. */
                int c = open("/dev/console", O_CREAT | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0600);
                if (c >= 0)
                        close(c);
                if (mount(name, "/dev/console", NULL, MS_BIND, NULL) < 0)
                        return error_set(err, errno, "bind '%s' to /dev/console", name);
        }
        if (setsid() < 0 && errno != EPERM)
                return error_set(err, errno, "setsid");
        if (ioctl(slave, TIOCSCTTY, 0) < 0)
                return error_set(err, errno, "make '%s' the controlling terminal", name);
        for (int i = 0; i < 3; i++)
                if (dup2(slave, i) < 0)
                        return error_set(err, errno, "dup2 terminal");
        *ret_master = TAKE_FD(master);
        return 0;
}

int rt_tty_raw(int fd, int master, struct termios *saved)
{
        struct termios raw;
        struct winsize ws;

        if (tcgetattr(fd, saved) < 0)
                return -errno;
        raw = *saved;
        cfmakeraw(&raw);
        if (tcsetattr(fd, TCSANOW, &raw) < 0)
                return -errno;
        if (master >= 0 && ioctl(fd, TIOCGWINSZ, &ws) == 0)
                ioctl(master, TIOCSWINSZ, &ws);
        return 0;
}
