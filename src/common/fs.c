/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* fs.c: file helpers and the safe in-root path walk */
#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "alloc.h"
#include "fs.h"

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
        _cleanup_close_ int fd = openat(dirfd, path, O_WRONLY | O_CLOEXEC | O_NOCTTY);
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

int write_file_atomic_at(int dirfd, const char *path, const void *data, size_t len, mode_t mode, Error **err)
{
        _cleanup_free_ char *tmp = xasprintf("%s.tmp%d", path, getpid());
        _cleanup_close_ int fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
        const char *p = data;

        if (fd < 0)
                return error_set(err, errno, "create '%s'", tmp);
        while (len > 0) {
                ssize_t n = write(fd, p, len);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        int r = -errno;
                        unlinkat(dirfd, tmp, 0);
                        return error_set(err, r, "write '%s'", tmp);
                }
                p += n;
                len -= (size_t)n;
        }
        if (renameat(dirfd, tmp, dirfd, path) < 0) {
                int r = -errno;
                unlinkat(dirfd, tmp, 0);
                return error_set(err, r, "rename to '%s'", path);
        }
        return 0;
}

int mkdir_p(const char *path, mode_t mode, Error **err)
{
        _cleanup_free_ char *p = xstrdup(path);

        for (char *s = p + 1; *s; s++) {
                if (*s != '/')
                        continue;
                *s = 0;
                if (mkdir(p, mode) < 0 && errno != EEXIST)
                        return error_set(err, errno, "mkdir '%s'", p);
                *s = '/';
        }
        if (mkdir(p, mode) < 0 && errno != EEXIST)
                return error_set(err, errno, "mkdir '%s'", p);
        return 0;
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

int mkpath_in_root(int root_fd, const char *path, bool is_file, Error **err)
{
        _cleanup_free_ char *p = xstrdup(path);
        char *s = p;
        int fd;

        /* Create each missing component by re-resolving its parent inside the root: a symlink that
         * appears in between is followed within the root, never out of it. */
        while (*s == '/')
                s++;
        for (;;) {
                char *slash = strchr(s, '/');
                bool is_last;
                _cleanup_close_ int parent = -EBADF;
                char *base;

                if (slash)
                        *slash = 0;
                is_last = !slash || !slash[1 + strspn(slash + 1, "/")];
                fd = open_in_root(root_fd, p, O_PATH, 0, 0);
                if (fd >= 0) {
                        if (is_last)
                                return fd;
                        close(fd);
                } else if (fd != -ENOENT) {
                        return error_set(err, fd, "resolve '%s'", p);
                } else {
                        base = strrchr(p, '/');
                        if (base) {
                                *base = 0;
                                parent = open_in_root(root_fd, p, O_PATH | O_DIRECTORY, 0, 0);
                                *base = '/';
                                base++;
                        } else {
                                parent = open_in_root(root_fd, ".", O_PATH | O_DIRECTORY, 0, 0);
                                base = p;
                        }
                        if (parent < 0)
                                return error_set(err, parent, "resolve parent of '%s'", p);
                        if (is_last && is_file) {
                                int f = openat(parent, base, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0644);
                                if (f < 0 && errno != EEXIST)
                                        return error_set(err, errno, "create '%s'", p);
                                if (f >= 0)
                                        close(f);
                        } else if (mkdirat(parent, base, 0755) < 0 && errno != EEXIST) {
                                return error_set(err, errno, "mkdir '%s'", p);
                        }
                        if (is_last) {
                                fd = open_in_root(root_fd, p, O_PATH, 0, 0);
                                if (fd < 0)
                                        return error_set(err, fd, "resolve '%s'", p);
                                return fd;
                        }
                }
                if (!slash)
                        return error_set(err, EINVAL, "resolve '%s'", path);
                *slash = '/';
                s = slash + 1;
                while (*s == '/')
                        s++;
        }
}

bool fd_same_inode(int a, int b)
{
        struct stat sa, sb;
        if (fstat(a, &sa) < 0 || fstat(b, &sb) < 0)
                return false;
        return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}
