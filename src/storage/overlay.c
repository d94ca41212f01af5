/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* overlay.c: container root filesystems as overlayfs mounts over shared, read-only layers */
#include <fcntl.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <linux/magic.h>

#include "common/alloc.h"
#include "common/fs.h"
#include "common/strv.h"
#include "overlay.h"

/* Closes every fd of an array of n, then frees it. */
static void fds_close(int *fds, size_t n)
{
        for (size_t i = 0; i < n; i++)
                if (fds[i] >= 0)
                        close(fds[i]);
        free(fds);
}

int stor_overlay_mount(const char *layers_dir, char *const *layers, const char *upper, const char *work,
                       const char *target, Error **err)
{
        size_t n = strv_length(layers);
        int *fds = xnew(int, n + 1);
        _cleanup_free_ char *opts = NULL;
        size_t len = 0, cap = 64 + strlen(upper) + strlen(work) + (n + 1) * 24;
        int r = 0;

        for (size_t i = 0; i <= n; i++)
                fds[i] = -EBADF;
        r = mkdir_p(upper, 0755, err);
        if (r >= 0)
                r = mkdir_p(work, 0700, err);
        if (r >= 0)
                r = mkdir_p(target, 0755, err);
        if (r < 0)
                goto out;

        opts = xmalloc(cap);
        len = (size_t)snprintf(opts, cap, "lowerdir=");
        if (n == 0) {
                /* overlayfs needs a lower layer: an image without layers gets an empty one. */
                _cleanup_free_ char *empty = xasprintf("%s/.empty", layers_dir);
                r = mkdir_p(empty, 0755, err);
                if (r < 0)
                        goto out;
                fds[0] = open(empty, O_PATH | O_DIRECTORY | O_CLOEXEC);
                if (fds[0] < 0) {
                        r = error_set(err, errno, "open '%s'", empty);
                        goto out;
                }
                len += (size_t)snprintf(opts + len, cap - len, "/proc/self/fd/%d", fds[0]);
        }
        /* overlayfs lists lowerdirs top first; layers come bottom first. */
        for (size_t i = 0; i < n; i++) {
                const char *name = layers[n - 1 - i];
                _cleanup_free_ char *path = xasprintf("%s/%s", layers_dir, name);

                fds[i] = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
                if (fds[i] < 0) {
                        r = error_set(err, errno, "layer '%s'", name);
                        goto out;
                }
                len += (size_t)snprintf(opts + len, cap - len, "%s/proc/self/fd/%d", i ? ":" : "", fds[i]);
        }
        snprintf(opts + len, cap - len, ",upperdir=%s,workdir=%s", upper, work);
        if (mount("overlay", target, "overlay", 0, opts) < 0)
                r = error_set(err, errno, "mount overlay on '%s'", target);
out:
        fds_close(fds, n + 1);
        return r;
}

bool stor_overlay_is_mounted(const char *target)
{
        struct statfs st;
        _cleanup_free_ char *parent = xasprintf("%s/..", target);
        struct stat a, b;

        if (statfs(target, &st) < 0 || st.f_type != OVERLAYFS_SUPER_MAGIC)
                return false;
        /* An overlay mounted here, not a directory that merely lies inside one. */
        if (stat(target, &a) < 0 || stat(parent, &b) < 0)
                return false;
        return a.st_dev != b.st_dev;
}

int stor_overlay_umount(const char *target, Error **err)
{
        if (!stor_overlay_is_mounted(target))
                return 0;
        if (umount2(target, MNT_DETACH) < 0 && errno != EINVAL && errno != ENOENT)
                return error_set(err, errno, "unmount '%s'", target);
        return 0;
}
