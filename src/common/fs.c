/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* fs.c: file helpers and the safe in-root path walk */
#include <dirent.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <linux/magic.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <poll.h>
#include <sys/syscall.h>

#include "alloc.h"
#include "fs.h"
#include "process.h"

int fd_read_all(int fd, char **ret, size_t *ret_len, Error **err)
{
        _cleanup_free_ char *buf = NULL;
        size_t len = 0, size = 0;

        for (;;) {
                ssize_t n;
                if (size - len < 4096) {
                        size = size ? size * 2 : 8192;
                        buf = xrealloc(buf, size);
                }
                n = read(fd, buf + len, size - len - 1);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return error_set(err, errno, "read");
                }
                if (n == 0)
                        break;
                len += (size_t)n;
        }
        buf[len] = 0;
        if (ret_len)
                *ret_len = len;
        *ret = TAKE_PTR(buf);
        return 0;
}

int read_file_at(int dirfd, const char *path, char **ret, size_t *ret_len, Error **err)
{
        _cleanup_close_ int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return error_set(err, errno, "open '%s'", path);
        return error_wrap(err, fd_read_all(fd, ret, ret_len, err), "'%s'", path);
}

int write_file_at(int dirfd, const char *path, const char *data, Error **err)
{
        /* O_TRUNC: a regular file keeps no tail of older, longer content; cgroupfs and procfs ignore it. */
        _cleanup_close_ int fd = openat(dirfd, path, O_WRONLY | O_TRUNC | O_CLOEXEC | O_NOCTTY);
        size_t len = strlen(data);
        ssize_t n;

        if (fd < 0)
                return error_set(err, errno, "open '%s'", path);
        n = write(fd, data, len);
        if (n < 0)
                return error_set(err, errno, "write '%s' to '%s'", data, path);
        if ((size_t)n != len)
                return error_set(err, EIO, "short write to '%s'", path);
        return 0;
}

int fd_write_all(int fd, const void *buf, size_t len)
{
        const char *p = buf;

        while (len > 0) {
                ssize_t n = write(fd, p, len);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                p += n;
                len -= (size_t)n;
        }
        return 0;
}

int write_file_atomic_at(int dirfd, const char *path, const void *data, size_t len, mode_t mode, Error **err)
{
        _cleanup_free_ char *tmp = xasprintf("%s.tmp%d", path, getpid());
        _cleanup_close_ int fd = -EBADF;
        int r;

        /* Never through something planted at the temporary name: O_EXCL|O_NOFOLLOW, and a
         * leftover (a crashed writer with our pid, or a symlink) is removed, not followed. */
        fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
        if (fd < 0 && errno == EEXIST && unlinkat(dirfd, tmp, 0) == 0)
                fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
        if (fd < 0)
                return error_set(err, errno, "create '%s'", tmp);
        r = fd_write_all(fd, data, len);
        if (r < 0) {
                unlinkat(dirfd, tmp, 0);
                return error_set(err, r, "write '%s'", tmp);
        }
        if (renameat(dirfd, tmp, dirfd, path) < 0) {
                r = -errno;
                unlinkat(dirfd, tmp, 0);
                return error_set(err, r, "rename to '%s'", path);
        }
        return 0;
}

int lock_file(const char *path, Error **err)
{
        int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);

        if (fd < 0)
                return error_set(err, errno, "open '%s'", path);
        while (flock(fd, LOCK_EX) < 0) {
                if (errno == EINTR)
                        continue;
                int r = error_set(err, errno, "lock '%s'", path);
                close(fd);
                return r;
        }
        return fd;
}

/* After a mkdir of path that failed with errno: EEXIST is fine only for a directory (or a link to one). */
static int mkdir_p_check(const char *path, Error **err)
{
        struct stat st;

        if (errno != EEXIST)
                return error_set(err, errno, "mkdir '%s'", path);
        if (stat(path, &st) < 0)
                return error_set(err, errno, "stat '%s'", path);
        if (!S_ISDIR(st.st_mode))
                return error_setf(err, ENOTDIR, "mkdir '%s': exists and is not a directory", path);
        return 0;
}

int mkdir_p(const char *path, mode_t mode, Error **err)
{
        _cleanup_free_ char *p = NULL;

        /* Most paths are there already, or lack only their last part: one call for those. */
        if (mkdir(path, mode) == 0)
                return 0;
        if (errno != ENOENT)
                return mkdir_p_check(path, err);
        p = xstrdup(path);
        for (char *s = p + 1; *s; s++) {
                if (*s != '/')
                        continue;
                *s = 0;
                if (mkdir(p, mode) < 0 && errno != EEXIST)
                        return error_set(err, errno, "mkdir '%s'", p);
                *s = '/';
        }
        if (mkdir(p, mode) == 0)
                return 0;
        return mkdir_p_check(p, err);
}

int rm_rf_at(int dir_fd, const char *name, Error **err)
{
        _cleanup_close_ int fd = -EBADF;
        DIR *d;
        struct dirent *de;
        int r = 0;

        if (unlinkat(dir_fd, name, 0) == 0 || errno == ENOENT)
                return 0;
        if (errno != EISDIR && errno != EPERM)
                return error_set(err, errno, "remove '%s'", name);
        fd = openat(dir_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return errno == ENOENT ? 0 : error_set(err, errno, "open '%s'", name);
        d = fdopendir(fd);
        if (!d)
                return error_set(err, errno, "open '%s'", name);
        fd = -EBADF; /* owned by d now */
        while ((de = readdir(d))) {
                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                        continue;
                r = rm_rf_at(dirfd(d), de->d_name, err);
                if (r < 0)
                        break;
        }
        closedir(d);
        if (r < 0)
                return error_wrap(err, r, "'%s'", name);
        if (unlinkat(dir_fd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
                return error_set(err, errno, "remove '%s'", name);
        return 0;
}

const char *fd_path(int fd, char buf[static FD_PATH_MAX])
{
        snprintf(buf, FD_PATH_MAX, "/proc/self/fd/%d", fd);
        return buf;
}

int open_in_root(int root_fd, const char *path, int flags, mode_t mode, unsigned long long extra_resolve)
{
        struct open_how how = {
                .flags = (unsigned long long)(flags | O_CLOEXEC),
                .mode = (flags & (O_CREAT | O_TMPFILE)) ? mode : 0,
                .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | extra_resolve,
        };
        int fd;

        while (*path == '/')
                path++;
        if (!*path)
                path = ".";
        do
                fd = (int)syscall(SYS_openat2, root_fd, path, &how, sizeof(how));
        while (fd < 0 && errno == EAGAIN);
        return fd < 0 ? -errno : fd;
}

/* Splits off the first component of *rest (skipping slashes); NULL when none is left. */
static char *next_component(char **rest)
{
        char *c, *slash;

        while (**rest == '/')
                (*rest)++;
        if (!**rest)
                return NULL;
        c = *rest;
        slash = strchr(c, '/');
        if (slash) {
                *slash = 0;
                *rest = slash + 1;
        } else {
                *rest = c + strlen(c);
        }
        return c;
}

int mkpath_in_root(int root_fd, const char *path, bool is_file, Error **err)
{
        _cleanup_free_ char *resolved = xstrdup(""), *todo = xstrdup(path);
        char *rest = todo, *comp;
        int links = 0;

        /* Walk one component at a time, with every component before it already free of symlinks:
         * a symlink is read and its target spliced into what is left (absolute ones restart at the
         * root), so a dangling link gets its target made inside the root, as runc does, and every
         * lookup stays in the root even if a link changes under us (RESOLVE_IN_ROOT). */
        while ((comp = next_component(&rest))) {
                _cleanup_free_ char *candidate = NULL;
                _cleanup_close_ int fd = -EBADF;
                bool is_last = !rest[strspn(rest, "/")];
                struct stat st;

                if (strcmp(comp, ".") == 0)
                        continue;
                if (strcmp(comp, "..") == 0) {
                        char *slash = strrchr(resolved, '/');
                        if (slash)
                                *slash = 0;
                        else
                                resolved[0] = 0;
                        continue;
                }
                candidate = xasprintf("%s/%s", resolved, comp);
                fd = open_in_root(root_fd, candidate, O_PATH | O_NOFOLLOW, 0, 0);
                if (fd >= 0 && fstat(fd, &st) == 0 && S_ISLNK(st.st_mode)) {
                        char target[4096];
                        ssize_t n = readlinkat(fd, "", target, sizeof(target) - 1);
                        char *spliced;

                        struct statfs sf;

                        /* procfs links (/proc/self/fd/N, /proc/self/cwd) name objects, not paths. */
                        if (fstatfs(fd, &sf) == 0 && sf.f_type == PROC_SUPER_MAGIC)
                                return error_setf(err, ELOOP, "resolve '%s': '%s' is a magic link", path, candidate);
                        if (n < 0)
                                return error_set(err, errno, "read link '%s'", candidate);
                        if (++links > 40)
                                return error_setf(err, ELOOP, "resolve '%s': too many symlinks", path);
                        target[n] = 0;
                        if (target[0] == '/')
                                resolved[0] = 0;
                        spliced = xasprintf("%s/%s", target, rest);
                        free(todo);
                        todo = spliced;
                        rest = todo;
                        continue;
                }
                if (fd < 0 && fd != -ENOENT)
                        return error_set(err, fd, "resolve '%s'", candidate);
                if (fd < 0) {
                        _cleanup_close_ int parent = open_in_root(root_fd, *resolved ? resolved : "/", O_PATH | O_DIRECTORY, 0, 0);
                        if (parent < 0)
                                return error_set(err, parent, "resolve parent of '%s'", candidate);
                        if (is_last && is_file) {
                                int f = openat(parent, comp, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0644);
                                if (f < 0 && errno != EEXIST)
                                        return error_set(err, errno, "create '%s'", candidate);
                                if (f >= 0)
                                        close(f);
                        } else if (mkdirat(parent, comp, 0755) < 0 && errno != EEXIST) {
                                return error_set(err, errno, "mkdir '%s'", candidate);
                        }
                }
                free(resolved);
                resolved = TAKE_PTR(candidate);
        }
        {
                int fd = open_in_root(root_fd, *resolved ? resolved : "/", O_PATH, 0, 0);
                if (fd < 0)
                        return error_set(err, fd, "resolve '%s'", path);
                return fd;
        }
}

bool fd_same_inode(int a, int b)
{
        struct stat sa, sb;
        if (fstat(a, &sa) < 0 || fstat(b, &sb) < 0)
                return false;
        return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

int close_fds_except(int from, const int *keep, size_t n_keep)
{
        int lo = from;

        /* Walk the kept fds in ascending order, closing the gaps between them. */
        for (;;) {
                int next = -1;
                for (size_t i = 0; i < n_keep; i++)
                        if (keep[i] >= lo && (next < 0 || keep[i] < next))
                                next = keep[i];
                if (next < 0)
                        break;
                if (next > lo && syscall(SYS_close_range, lo, next - 1, 0) < 0)
                        return -errno;
                lo = next + 1;
        }
        return syscall(SYS_close_range, lo, ~0U, 0) < 0 ? -errno : 0;
}

char *path_find(const char *name, const char *extra_dirs)
{
        const char *path = getenv("PATH");
        _cleanup_free_ char *dirs = xasprintf("%s:%s", path ? path : "", extra_dirs ? extra_dirs : "");
        char *save = NULL;

        for (char *d = strtok_r(dirs, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
                _cleanup_free_ char *p = xasprintf("%s/%s", d, name);
                if (d[0] == '/' && access(p, X_OK) == 0)
                        return TAKE_PTR(p);
        }
        return NULL;
}

int unix_connect_wait(const char *path, int timeout_ms, Error **err)
{
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int64_t deadline = deadline_ms(timeout_ms);
        int delay_ms = 1;

        if (strlen(path) >= sizeof(sa.sun_path))
                return error_setf(err, ENAMETOOLONG, "socket '%s': path too long", path);
        memcpy(sa.sun_path, path, strlen(path) + 1);
        for (;;) {
                _cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
                if (fd < 0)
                        return error_set(err, errno, "socket");
                if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
                        return TAKE_FD(fd);
                if (errno != ENOENT && errno != ECONNREFUSED && errno != EINTR)
                        return error_set(err, errno, "connect to '%s'", path);
                if (deadline >= 0 && deadline_left_ms(deadline) == 0)
                        return error_setf(err, ETIMEDOUT, "connect to '%s': nothing there after %d ms", path,
                                          timeout_ms);
                /* The server makes its socket as it starts: nothing to wait on but time. */
                poll(NULL, 0, delay_ms);
                if (delay_ms < 32)
                        delay_ms *= 2;
        }
}
