/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* devices.c: the device nodes and /dev symlinks every container gets, and linux.devices */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "common/alloc.h"
#include "common/fs.h"
#include "linux.h"

static const RtDevice default_devices[] = {
        { .path = "/dev/null", .type = 'c', .major = 1, .minor = 3, .file_mode = 0666, .has_file_mode = true },
        { .path = "/dev/zero", .type = 'c', .major = 1, .minor = 5, .file_mode = 0666, .has_file_mode = true },
        { .path = "/dev/full", .type = 'c', .major = 1, .minor = 7, .file_mode = 0666, .has_file_mode = true },
        { .path = "/dev/random", .type = 'c', .major = 1, .minor = 8, .file_mode = 0666, .has_file_mode = true },
        { .path = "/dev/urandom", .type = 'c', .major = 1, .minor = 9, .file_mode = 0666, .has_file_mode = true },
        { .path = "/dev/tty", .type = 'c', .major = 5, .minor = 0, .file_mode = 0666, .has_file_mode = true },
};

static const struct {
        const char *target;
        const char *path;
} dev_links[] = {
        { "/proc/self/fd", "fd" },
        { "/proc/self/fd/0", "stdin" },
        { "/proc/self/fd/1", "stdout" },
        { "/proc/self/fd/2", "stderr" },
        { "pts/ptmx", "ptmx" },
};

/* Creates one node below root_fd. In a user namespace mknod is not allowed: bind the host's
 * node onto an empty file instead, as runc does. */
static int make_node(int root_fd, const RtDevice *d, bool is_userns, Error **err)
{
        _cleanup_free_ char *parent_path = xstrdup(d->path);
        _cleanup_close_ int parent = -EBADF;
        char *base = strrchr(parent_path, '/');
        mode_t type = d->type == 'b' ? S_IFBLK : d->type == 'p' ? S_IFIFO : S_IFCHR;
        mode_t mode = d->has_file_mode ? d->file_mode : 0666;
        dev_t dev;
        int r;

        *base++ = 0;
        r = mkpath_in_root(root_fd, *parent_path ? parent_path : "/", false, err);
        if (r < 0)
                return r;
        parent = r;
        {
                /* mkpath gives O_PATH; the *at calls below need a real directory fd. */
                char pp[FD_PATH_MAX];
                int dfd = open(fd_path(parent, pp), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (dfd < 0)
                        return error_set(err, errno, "open '%s'", parent_path);
                close(parent);
                parent = dfd;
        }
        if (unlinkat(parent, base, 0) < 0 && errno != ENOENT)
                return error_set(err, errno, "replace '%s'", d->path);
        if (is_userns && type != S_IFIFO) {
                char tp[FD_PATH_MAX];
                _cleanup_close_ int f = openat(parent, base, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0600);
                if (f < 0)
                        return error_set(err, errno, "create '%s'", d->path);
                if (mount(d->path, fd_path(f, tp), NULL, MS_BIND, NULL) < 0)
                        return error_set(err, errno, "bind host '%s'", d->path);
                return 0;
        }
        /* A fifo has no numbers (they are -1): glibc refuses a dev_t the kernel's cannot hold. */
        dev = type == S_IFIFO ? 0 : makedev((unsigned)d->major, (unsigned)d->minor);
        if (mknodat(parent, base, type | mode, dev) < 0)
                return error_set(err, errno, "mknod '%s'", d->path);
        if (fchmodat(parent, base, mode, 0) < 0)
                return error_set(err, errno, "chmod '%s'", d->path);
        if ((d->has_uid || d->has_gid) &&
            fchownat(parent, base, d->has_uid ? d->uid : (uid_t)-1, d->has_gid ? d->gid : (gid_t)-1,
                     AT_SYMLINK_NOFOLLOW) < 0)
                return error_set(err, errno, "chown '%s'", d->path);
        return 0;
}

static bool has_dev_bind(const RtSpec *s)
{
        for (size_t i = 0; i < s->n_mounts; i++)
                if (strcmp(s->mounts[i].destination, "/dev") == 0 && (s->mounts[i].flags & MS_BIND))
                        return true;
        return false;
}

int rt_devices_setup(const RtSpec *s, int root_fd, bool is_userns, Error **err)
{
        _cleanup_close_ int dev = -EBADF;
        mode_t old_umask;
        int r = 0;

        /* A container given the host's /dev keeps it as it is. */
        if (has_dev_bind(s))
                return 0;
        old_umask = umask(0);
        for (size_t i = 0; i < ARRAY_SIZE(default_devices) && r >= 0; i++) {
                bool is_overridden = false;
                for (size_t j = 0; j < s->n_devices; j++)
                        if (strcmp(s->devices[j].path, default_devices[i].path) == 0)
                                is_overridden = true;
                if (!is_overridden)
                        r = make_node(root_fd, &default_devices[i], is_userns, err);
        }
        for (size_t i = 0; i < s->n_devices && r >= 0; i++) {
                r = make_node(root_fd, &s->devices[i], is_userns, err);
                if (r < 0)
                        r = error_wrap(err, r, "linux.devices[%zu]", i);
        }
        umask(old_umask);
        if (r < 0)
                return r;

        r = open_in_root(root_fd, "/dev", O_RDONLY | O_DIRECTORY, 0, 0);
        if (r < 0)
                return error_set(err, r, "open /dev");
        dev = r;
        for (size_t i = 0; i < ARRAY_SIZE(dev_links); i++) {
                if (symlinkat(dev_links[i].target, dev, dev_links[i].path) < 0 && errno != EEXIST)
                        return error_set(err, errno, "symlink /dev/%s", dev_links[i].path);
        }
        return 0;
}
