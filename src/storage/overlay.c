/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* overlay.c: container root filesystems as overlayfs mounts over shared, read-only layers */
#include <dirent.h>
#include <fcntl.h>
#include <linux/mount.h>
#include <linux/sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/magic.h>

#include "common/alloc.h"
#include "common/fs.h"
#include "common/process.h"
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

/* The lowerdir= list of n layer dirs (fds, bottom first) as /proc/self/fd links, top first as
 * overlayfs wants them, then the upper and work dirs. */
static char *overlay_options(const int *fds, size_t n, const char *upper, const char *work)
{
        size_t cap = 64 + strlen(upper) + strlen(work) + (n + 1) * 24, len;
        char *opts = xmalloc(cap);

        len = (size_t)snprintf(opts, cap, "lowerdir=");
        for (size_t i = 0; i < n; i++)
                len += (size_t)snprintf(opts + len, cap - len, "%s/proc/self/fd/%d", i ? ":" : "", fds[n - 1 - i]);
        snprintf(opts + len, cap - len, ",upperdir=%s,workdir=%s", upper, work);
        return opts;
}

/* Makes the upper, work and target dirs; the upper one, the root of what the container sees,
 * owned by owner (NULL: as made). */
static int make_dirs(const char *upper, const char *work, const char *target, const StorIdmap *owner, Error **err)
{
        int r = mkdir_p(upper, 0755, err);

        if (r >= 0)
                r = mkdir_p(work, 0700, err);
        if (r >= 0)
                r = mkdir_p(target, 0755, err);
        if (r >= 0 && owner && chown(upper, owner->uid_base, owner->gid_base) < 0)
                r = error_set(err, errno, "chown '%s'", upper);
        return r;
}

/* Opens the layer dirs (O_PATH, bottom first) into fds: the empty dir layers_dir/.empty when
 * there is none, since overlayfs needs a lower layer. Returns how many. */
static int open_layers(const char *layers_dir, char *const *layers, int *fds, Error **err)
{
        size_t n = strv_length(layers);

        if (n == 0) {
                _cleanup_free_ char *empty = xasprintf("%s/.empty", layers_dir);
                int r = mkdir_p(empty, 0755, err);
                if (r < 0)
                        return r;
                fds[0] = open(empty, O_PATH | O_DIRECTORY | O_CLOEXEC);
                if (fds[0] < 0)
                        return error_set(err, errno, "open '%s'", empty);
                return 1;
        }
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *path = xasprintf("%s/%s", layers_dir, layers[i]);
                fds[i] = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
                if (fds[i] < 0)
                        return error_set(err, errno, "layer '%s'", layers[i]);
        }
        return (int)n;
}

static int mount_overlay(const int *fds, size_t n, const char *upper, const char *work, const char *target,
                         Error **err)
{
        _cleanup_free_ char *opts = overlay_options(fds, n, upper, work);

        if (mount("overlay", target, "overlay", 0, opts) < 0)
                return error_set(err, errno, "mount overlay on '%s'", target);
        return 0;
}

int stor_overlay_mount(const char *layers_dir, char *const *layers, const char *upper, const char *work,
                       const char *target, Error **err)
{
        size_t n = strv_length(layers);
        int *fds = xnew(int, n + 1);
        int r;

        for (size_t i = 0; i <= n; i++)
                fds[i] = -EBADF;
        r = make_dirs(upper, work, target, NULL, err);
        if (r >= 0)
                r = open_layers(layers_dir, layers, fds, err);
        if (r >= 0)
                r = mount_overlay(fds, (size_t)r, upper, work, target, err);
        fds_close(fds, n + 1);
        return r < 0 ? r : 0;
}

static int write_idmap(pid_t pid, void *data, Error **err)
{
        static const char *const files[] = { "uid_map", "gid_map" };
        const StorIdmap *map = data;
        char path[64], line[64];
        int r = 0;

        for (size_t i = 0; i < ARRAY_SIZE(files) && r >= 0; i++) {
                snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, files[i]);
                snprintf(line, sizeof(line), "0 %u %u\n", i == 0 ? map->uid_base : map->gid_base, map->count);
                r = write_file_at(AT_FDCWD, path, line, err);
        }
        return r;
}

int stor_idmap_userns(const StorIdmap *map, int *ret_fd, Error **err)
{
        int r = userns_open(write_idmap, (void *)map, ret_fd, err);

        return r < 0 ? error_wrap(err, r, "user namespace for ids %u:%u+%u", map->uid_base, map->gid_base,
                                  map->count)
                     : 0;
}

/* An idmapped clone of the directory at path, attached at stage (made here). -EOPNOTSUPP when the
 * kernel or path's file system cannot idmap it. */
static int attach_idmapped(const char *path, int userns_fd, const char *stage, Error **err)
{
        struct mount_attr attr = { .attr_set = MOUNT_ATTR_IDMAP, .userns_fd = (uint64_t)userns_fd };
        _cleanup_close_ int tree = -EBADF;
        int r;

        tree = (int)syscall(SYS_open_tree, AT_FDCWD, path, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
        if (tree < 0)
                return error_set(err, errno, "clone '%s'", path);
        if (syscall(SYS_mount_setattr, tree, "", AT_EMPTY_PATH, &attr, sizeof(attr)) < 0) {
                r = errno;
                /* EINVAL: the file system has no idmapping support; ENOSYS: an old kernel; EPERM:
                 * not allowed here (a user namespace of ours, a locked mount). */
                if (r == EINVAL || r == ENOSYS || r == EPERM || r == EOPNOTSUPP)
                        return error_setf(err, EOPNOTSUPP, "idmapped mount of '%s': %s", path, strerror(r));
                return error_set(err, r, "idmap '%s'", path);
        }
        if (mkdir(stage, 0700) < 0 && errno != EEXIST)
                return error_set(err, errno, "mkdir '%s'", stage);
        if (syscall(SYS_move_mount, tree, "", AT_FDCWD, stage, MOVE_MOUNT_F_EMPTY_PATH) < 0)
                return error_set(err, errno, "attach idmapped '%s' at '%s'", path, stage);
        return 0;
}

int stor_overlay_stage_clear(const char *stage_dir, Error **err)
{
        DIR *d = opendir(stage_dir);
        struct dirent *de;
        int r = 0;

        if (!d)
                return errno == ENOENT ? 0 : error_set(err, errno, "open '%s'", stage_dir);
        while ((de = readdir(d))) {
                _cleanup_free_ char *p = xasprintf("%s/%s", stage_dir, de->d_name);
                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                        continue;
                /* Detached until nothing is mounted there (a mount could be stacked). */
                for (int i = 0; i < 16 && umount2(p, MNT_DETACH) == 0; i++)
                        ;
                /* Never removed recursively: it may still show a shared layer. */
                if (rmdir(p) < 0 && errno != ENOENT && r == 0)
                        r = error_set(err, errno, "remove '%s'", p);
        }
        closedir(d);
        if (r == 0 && rmdir(stage_dir) < 0 && errno != ENOENT)
                r = error_set(err, errno, "remove '%s'", stage_dir);
        return r;
}

int stor_overlay_mount_idmapped(const char *layers_dir, char *const *layers, const StorIdmap *map,
                                const char *stage_dir, const char *upper, const char *work, const char *target,
                                Error **err)
{
        size_t n = strv_length(layers), n_open = 0;
        int *fds = xnew(int, n + 1), *staged = xnew(int, n + 1);
        _cleanup_close_ int userns = -EBADF;
        int r;

        for (size_t i = 0; i <= n; i++)
                fds[i] = staged[i] = -EBADF;
        r = make_dirs(upper, work, target, map, err);
        if (r >= 0)
                r = open_layers(layers_dir, layers, fds, err);
        if (r < 0 || !stage_dir) {
                /* Layers that carry the shifted owners already (a shifted copy): a plain overlay. */
                if (r >= 0)
                        r = mount_overlay(fds, (size_t)r, upper, work, target, err);
                goto out;
        }
        n_open = (size_t)r;
        stor_overlay_stage_clear(stage_dir, NULL); /* what a crash in here left */
        r = stor_idmap_userns(map, &userns, err);
        if (r >= 0)
                r = mkdir_p(stage_dir, 0700, err);
        for (size_t i = 0; i < n_open && r >= 0; i++) {
                _cleanup_free_ char *stage = xasprintf("%s/%zu", stage_dir, i);
                char src[FD_PATH_MAX];
                r = attach_idmapped(fd_path(fds[i], src), userns, stage, err);
                if (r >= 0) {
                        staged[i] = open(stage, O_PATH | O_DIRECTORY | O_CLOEXEC);
                        if (staged[i] < 0)
                                r = error_set(err, errno, "open '%s'", stage);
                }
        }
        if (r >= 0)
                r = mount_overlay(staged, n_open, upper, work, target, err);
        /* overlayfs keeps private clones of its layers' mounts: the attached ones can go either way. */
        stor_overlay_stage_clear(stage_dir, NULL);
out:
        fds_close(fds, n + 1);
        fds_close(staged, n + 1);
        return r < 0 ? r : 0;
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
