/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* rootfs.c: pivot_root into the container's root, then what must happen inside it */
#include <fcntl.h>
#include <linux/magic.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>

#include "common/alloc.h"
#include "common/fs.h"
#include "linux.h"

int rt_rootfs_pivot(const char *rootfs, Error **err)
{
        _cleanup_close_ int newroot = open(rootfs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        _cleanup_close_ int oldroot = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

        if (newroot < 0)
                return error_set(err, errno, "open rootfs '%s'", rootfs);
        if (oldroot < 0)
                return error_set(err, errno, "open /");
        if (fchdir(newroot) < 0)
                return error_set(err, errno, "chdir rootfs");
        /* pivot_root(".", ".") stacks the old root on top of the new one; unmounting "." then
         * drops the old root without needing a directory for it inside the container. */
        if (syscall(SYS_pivot_root, ".", ".") == 0) {
                /* Make the old root slave first so the detach does not propagate to the host. Our
                 * cwd is still the new root, and mount(2) does not follow "." up to the old root
                 * stacked on it (umount2 does): without the fchdir the slave would hit the
                 * container's own mounts and undo their "shared" propagation, as runc found. */
                if (fchdir(oldroot) < 0)
                        return error_set(err, errno, "chdir old root");
                if (mount(NULL, ".", NULL, MS_SLAVE | MS_REC, NULL) < 0)
                        return error_set(err, errno, "make old root slave");
                if (umount2(".", MNT_DETACH) < 0)
                        return error_set(err, errno, "detach old root");
        } else if (errno == EINVAL) {
                /* The host root is the initramfs (ramfs), which pivot_root cannot move away from:
                 * move the rootfs over "/" and chroot instead. The old root stays reachable only to
                 * a process that can escape a chroot, which needs CAP_SYS_CHROOT. */
                if (mount(".", "/", NULL, MS_MOVE, NULL) < 0)
                        return error_set(err, errno, "move rootfs to /");
                if (chroot(".") < 0)
                        return error_set(err, errno, "chroot");
        } else {
                return error_set(err, errno, "pivot_root");
        }
        if (chdir("/") < 0)
                return error_set(err, errno, "chdir /");
        return 0;
}

static int write_sysctl(const char *key, const char *value, Error **err)
{
        _cleanup_free_ char *path = xasprintf("/proc/sys/%s", key);
        _cleanup_close_ int fd = -EBADF;
        struct statfs sf;

        for (char *p = path + 10; *p; p++)
                if (*p == '.')
                        *p = '/';
        fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return error_set(err, errno, "linux.sysctl: open '%s'", path);
        /* Only ever write into a real procfs, never to a file the container put in its place. */
        if (fstatfs(fd, &sf) < 0 || sf.f_type != PROC_SUPER_MAGIC)
                return error_setf(err, EPERM, "linux.sysctl: '%s' is not on procfs", path);
        if (write(fd, value, strlen(value)) < 0)
                return error_set(err, errno, "linux.sysctl: write '%s' to '%s'", value, key);
        return 0;
}

static int make_readonly(const char *path, Error **err)
{
        if (mount(path, path, NULL, MS_BIND | MS_REC, NULL) < 0) {
                if (errno == ENOENT)
                        return 0;
                return error_set(err, errno, "linux.readonlyPaths: bind '%s'", path);
        }
        if (mount(NULL, path, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_REC | rt_mount_locked_flags(path), NULL) < 0)
                return error_set(err, errno, "linux.readonlyPaths: remount '%s' read-only", path);
        return 0;
}

static int mask(const char *path, Error **err)
{
        struct stat st;

        if (lstat(path, &st) < 0)
                return errno == ENOENT ? 0 : error_set(err, errno, "linux.maskedPaths: '%s'", path);
        if (S_ISDIR(st.st_mode)) {
                if (mount("tmpfs", path, "tmpfs", MS_RDONLY, "size=0k") < 0)
                        return error_set(err, errno, "linux.maskedPaths: mask '%s'", path);
                return 0;
        }
        if (mount("/dev/null", path, NULL, MS_BIND, NULL) < 0)
                return error_set(err, errno, "linux.maskedPaths: mask '%s'", path);
        return 0;
}

int rt_rootfs_finish(const RtSpec *s, Error **err)
{
        int r;

        /* In the host's mount namespace, "/" propagation is the host's business. */
        if (s->rootfs_propagation && s->ns[RT_NS_MOUNT].is_set && mount(NULL, "/", NULL, s->rootfs_propagation, NULL) < 0)
                return error_set(err, errno, "linux.rootfsPropagation");
        for (size_t i = 0; s->sysctl && s->sysctl[i]; i += 2) {
                r = write_sysctl(s->sysctl[i], s->sysctl[i + 1], err);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; s->readonly_paths && s->readonly_paths[i]; i++) {
                r = make_readonly(s->readonly_paths[i], err);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; s->masked_paths && s->masked_paths[i]; i++) {
                r = mask(s->masked_paths[i], err);
                if (r < 0)
                        return r;
        }
        if (s->root_readonly &&
            mount(NULL, "/", NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | rt_mount_locked_flags("/"), NULL) < 0)
                return error_set(err, errno, "root.readonly: remount / read-only");
        return 0;
}
