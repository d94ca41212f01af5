/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* mount.c: config.json's mounts, each target resolved inside the rootfs so no symlink leads out of it */
#include <fcntl.h>
#include <linux/mount.h>
#include <linux/sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <linux/openat2.h>

#include "common/alloc.h"
#include "common/fs.h"
#include "common/process.h"
#include "common/log.h"
#include "common/strv.h"
#include "linux.h"

unsigned long rt_mount_locked_flags(const char *path)
{
        struct statvfs sv;
        unsigned long f = 0;

        if (statvfs(path, &sv) < 0)
                return 0;
        if (sv.f_flag & ST_NOSUID)
                f |= MS_NOSUID;
        if (sv.f_flag & ST_NODEV)
                f |= MS_NODEV;
        if (sv.f_flag & ST_NOEXEC)
                f |= MS_NOEXEC;
        return f;
}

/* The mount point that holds path, from mountinfo (longest prefix). */
static char *find_mount_point(const char *path)
{
        _cleanup_fclose_ FILE *f = fopen("/proc/self/mountinfo", "re");
        _cleanup_free_ char *line = NULL;
        char *best = NULL;
        size_t n = 0, best_len = 0;

        while (f && getline(&line, &n, f) > 0) {
                char mp[4096];
                size_t len;
                if (sscanf(line, "%*s %*s %*s %*s %4095s", mp) != 1)
                        continue;
                len = strlen(mp);
                if (len < best_len || strncmp(path, mp, len) != 0 || (path[len] != '/' && path[len] && len > 1))
                        continue;
                free(best);
                best = xstrdup(mp);
                best_len = len;
        }
        return best ? best : xstrdup("/");
}

int rt_mount_prepare_rootfs(const RtSpec *s, const char *rootfs, int *ret_root_fd, Error **err)
{
        unsigned long prop = s->rootfs_propagation ? s->rootfs_propagation : MS_SLAVE | MS_REC;
        int fd;

        /* Nothing we mount may propagate back to the host. */
        if (mount(NULL, "/", NULL, prop | MS_REC, NULL) < 0)
                return error_set(err, errno, "make / %s", prop & MS_SHARED ? "shared" : "slave");
        if (prop & (MS_SHARED | MS_UNBINDABLE)) {
                /* pivot_root refuses a new root whose parent mount is shared, and an unbindable
                 * one cannot be the source of the bind below. */
                _cleanup_free_ char *mp = find_mount_point(rootfs);
                if (mount(NULL, mp, NULL, MS_PRIVATE, NULL) < 0)
                        return error_set(err, errno, "make '%s' private", mp);
        }
        if (mount(rootfs, rootfs, NULL, MS_BIND | MS_REC, NULL) < 0)
                return error_set(err, errno, "bind rootfs '%s'", rootfs);
        fd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return error_set(err, errno, "open rootfs '%s'", rootfs);
        *ret_root_fd = fd;
        return 0;
}

static int setattr(int fd, const RtMount *m, Error **err)
{
        struct mount_attr attr = { .attr_set = m->attr_set, .attr_clr = m->attr_clr };
        unsigned flags = AT_EMPTY_PATH | (m->is_recursive_attr ? AT_RECURSIVE : 0);

        if (!m->attr_set && !m->attr_clr)
                return 0;
        if (syscall(SYS_mount_setattr, fd, "", flags, &attr, sizeof(attr)) < 0)
                return error_set(err, errno, "mount_setattr");
        return 0;
}

/* Whether every comma-separated token of want is among those of have ("cpu,cpuacct"). */
static bool has_all_tokens(const char *have, const char *want)
{
        _cleanup_free_ char *w = xstrdup(want);
        char *save = NULL;

        for (char *tok = strtok_r(w, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
                size_t len = strlen(tok);
                const char *p = have;
                bool found = false;
                while ((p = strstr(p, tok))) {
                        if ((p == have || p[-1] == ',') && (p[len] == ',' || p[len] == 0)) {
                                found = true;
                                break;
                        }
                        p += len;
                }
                if (!found)
                        return false;
        }
        return true;
}

/* Our own cgroup in the hierarchy of controllers ("cpu", "name=systemd"; NULL for cgroup2), from
 * /proc/self/cgroup: the container process has entered its cgroups by now. */
static char *own_cgroup(const char *controllers)
{
        _cleanup_fclose_ FILE *f = fopen("/proc/self/cgroup", "re");
        _cleanup_free_ char *line = NULL;
        size_t n = 0;

        while (f && getline(&line, &n, f) > 0) {
                char *ctl = strchr(line, ':'), *path;
                if (!ctl || !(path = strchr(++ctl, ':')))
                        continue;
                *path++ = 0;
                path[strcspn(path, "\n")] = 0;
                if (controllers ? (*ctl && has_all_tokens(controllers, ctl)) : (!*ctl && strncmp(line, "0:", 2) == 0))
                        return xstrdup(path);
        }
        return NULL;
}

/*
 * One hierarchy on dst. In a cgroup namespace a fresh mount shows the namespace's root, which is
 * the container's cgroup. Without one it would show the host's whole tree: bind the container's
 * own cgroup from the host's mount (mp, whose root in the hierarchy is mnt_root) instead, as runc does.
 */
static int mount_hierarchy(const char *fstype, const char *data, const char *mp, const char *mnt_root,
                           const char *dst, unsigned long flags, bool is_cgroupns, Error **err)
{
        _cleanup_free_ char *own = NULL, *src = NULL;
        size_t root_len = strcmp(mnt_root, "/") == 0 ? 0 : strlen(mnt_root);

        if (is_cgroupns) {
                if (mount(fstype, dst, fstype, flags, data) < 0)
                        return error_set(err, errno, "mount %s '%s' on '%s'", fstype, data ? data : "", dst);
                return 0;
        }
        own = own_cgroup(data);
        if (!own || strncmp(own, mnt_root, root_len) != 0 || (own[root_len] != '/' && own[root_len] != 0))
                return error_setf(err, ENOENT, "the container's %s cgroup is not below '%s'", data ? data : "cgroup2",
                                  mp);
        src = xasprintf("%s%s", mp, own + root_len);
        if (mount(src, dst, NULL, MS_BIND, NULL) < 0)
                return error_set(err, errno, "bind '%s' on '%s'", src, dst);
        if (flags && mount(NULL, dst, NULL, MS_BIND | MS_REMOUNT | flags, NULL) < 0)
                return error_set(err, errno, "remount '%s'", dst);
        return 0;
}

/* The cgroup filesystem as the container should see it: cgroup2 on a unified host; on v1 and
 * hybrid hosts a tmpfs with one mount per hierarchy, as the host has them. */
static int mount_cgroup(const RtMount *m, int root_fd, const char *tp, bool is_cgroupns, Error **err)
{
        _cleanup_close_ int top = -EBADF;
        _cleanup_fclose_ FILE *f = NULL;
        char target[FD_PATH_MAX];
        _cleanup_free_ char *line = NULL, *v2_mp = NULL, *v2_root = NULL;
        unsigned long flags = m->flags & ~(MS_BIND | MS_REC | MS_REMOUNT);
        bool has_v1 = false;
        size_t n = 0;

        f = fopen("/proc/self/mountinfo", "re");
        if (!f)
                return error_set(err, errno, "open mountinfo");
        while (getline(&line, &n, f) > 0) {
                char *sep = strstr(line, " - ");
                char root[4096], mp[4096];
                if (sep && strncmp(sep, " - cgroup ", 10) == 0)
                        has_v1 = true;
                if (sep && strncmp(sep, " - cgroup2 ", 11) == 0 && !v2_mp &&
                    sscanf(line, "%*s %*s %*s %4095s %4095s", root, mp) == 2) {
                        v2_mp = xstrdup(mp);
                        v2_root = xstrdup(root);
                }
        }
        if (!has_v1) {
                if (!is_cgroupns && !v2_mp)
                        return error_setf(err, ENOENT, "the host has no cgroup2 mount");
                return mount_hierarchy("cgroup2", NULL, v2_mp, v2_root, tp, flags, is_cgroupns, err);
        }
        if (mount("tmpfs", tp, "tmpfs", (flags & ~MS_RDONLY) | MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=755") < 0)
                return error_set(err, errno, "mount tmpfs for cgroups");
        /* The fd we mounted on names the directory below the tmpfs: reopen to reach the tmpfs. */
        top = open_in_root(root_fd, m->destination, O_PATH | O_DIRECTORY, 0, RESOLVE_NO_SYMLINKS);
        if (top < 0)
                return error_set(err, top, "reopen");
        fd_path(top, target);
        rewind(f);
        while (getline(&line, &n, f) > 0) {
                char root[4096], mp[4096], fstype[64], opts[1024];
                char *sep = strstr(line, " - "), *name, *sub;
                _cleanup_free_ char *dst = NULL, *data = NULL;
                int r;

                if (!sep || sscanf(line, "%*s %*s %*s %4095s %4095s", root, mp) != 2 ||
                    sscanf(sep + 3, "%63s %*s %1023s", fstype, opts) != 2)
                        continue;
                if (strcmp(fstype, "cgroup") != 0 && strcmp(fstype, "cgroup2") != 0)
                        continue;
                if (strncmp(mp, "/sys/fs/cgroup/", 15) != 0)
                        continue;
                name = mp + 15;
                dst = xasprintf("%s/%s", target, name);
                if (mkdir(dst, 0755) < 0 && errno != EEXIST)
                        return error_set(err, errno, "mkdir '%s'", dst);
                if (strcmp(fstype, "cgroup") == 0) {
                        /* Super options "rw,cpu,cpuacct" name the controllers: drop rw/ro, keep the rest. */
                        for (char *tok = strtok_r(opts, ",", &sub); tok; tok = strtok_r(NULL, ",", &sub)) {
                                if (strcmp(tok, "rw") == 0 || strcmp(tok, "ro") == 0)
                                        continue;
                                char *d = data ? xasprintf("%s,%s", data, tok) : xstrdup(tok);
                                free(data);
                                data = d;
                        }
                }
                r = mount_hierarchy(fstype, data, mp, root, dst, flags, is_cgroupns, err);
                if (r < 0)
                        return r;
        }
        if (flags & MS_RDONLY) {
                if (mount(NULL, target, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
                        return error_set(err, errno, "make cgroup tmpfs read-only");
        }
        return 0;
}

static int write_mount_maps(pid_t pid, void *data, Error **err)
{
        const RtMount *m = data;
        RtSpec maps = { .uid_mappings = m->uid_mappings, .n_uid_mappings = m->n_uid_mappings,
                        .gid_mappings = m->gid_mappings, .n_gid_mappings = m->n_gid_mappings };

        return rt_userns_write_maps(pid, &maps, err);
}

int rt_mount_prepare_idmapped(RtSpec *s, Error **err)
{
        for (size_t i = 0; i < s->n_mounts; i++) {
                RtMount *m = &s->mounts[i];
                _cleanup_close_ int userns = -EBADF, tree = -EBADF;
                unsigned recursive = m->is_recursive_idmap || (m->flags & MS_REC) ? AT_RECURSIVE : 0;
                struct mount_attr attr = { .attr_set = MOUNT_ATTR_IDMAP };
                int r;

                if (!m->is_idmap)
                        continue;
                r = userns_open(write_mount_maps, m, &userns, err);
                if (r < 0)
                        return error_wrap(err, r, "mounts[%zu]", i);
                /* A detached copy of the source, made while we are still the host's root: the
                 * container process only moves it into place, whatever user namespace it is in. */
                tree = (int)syscall(SYS_open_tree, AT_FDCWD, m->source, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | recursive);
                if (tree < 0)
                        return error_set(err, errno, "mounts[%zu]: clone '%s'", i, m->source);
                attr.userns_fd = (uint64_t)userns;
                if (syscall(SYS_mount_setattr, tree, "", AT_EMPTY_PATH | recursive, &attr, sizeof(attr)) < 0)
                        return error_set(err, errno, "mounts[%zu]: idmap '%s'", i, m->source);
                m->prepared_fd = TAKE_FD(tree);
        }
        return 0;
}

static bool is_kernel_fs(const RtMount *m)
{
        return m->type && (strcmp(m->type, "proc") == 0 || strcmp(m->type, "sysfs") == 0);
}

static int mount_one(const RtMount *m, size_t index, int root_fd, bool is_userns, bool is_cgroupns, Error **err)
{
        _cleanup_close_ int target = -EBADF, mounted = -EBADF;
        bool is_bind = m->flags & MS_BIND;
        bool is_file = false;
        char tp[FD_PATH_MAX];
        int r;

        if (is_bind) {
                struct stat st;
                if (stat(m->source, &st) < 0)
                        return error_set(err, errno, "source '%s'", m->source);
                is_file = !S_ISDIR(st.st_mode);
        }
        r = mkpath_in_root(root_fd, m->destination, is_file, err);
        if (r < 0)
                return r;
        target = r;
        if (is_kernel_fs(m)) {
                /* proc and sysfs over a symlink would let a container redirect them (CVE-2019-19921). */
                _cleanup_close_ int check = open_in_root(root_fd, m->destination, O_PATH | O_DIRECTORY, 0,
                                                         RESOLVE_NO_SYMLINKS);
                if (check < 0)
                        return error_set(err, check == -ELOOP ? EINVAL : check,
                                         "'%s' is a symlink or not a directory: refusing to mount %s there",
                                         m->destination, m->type);
        }
        fd_path(target, tp);

        if (is_bind) {
                if (m->prepared_fd >= 0) {
                        if (syscall(SYS_move_mount, m->prepared_fd, "", target, "",
                                    MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
                                return error_set(err, errno, "move idmapped '%s' into place", m->source);
                } else if (mount(m->source, tp, NULL, MS_BIND | (m->flags & MS_REC), NULL) < 0) {
                        return error_set(err, errno, "bind '%s'", m->source);
                }
                unsigned long extra = m->flags & ~(MS_BIND | MS_REC | MS_REMOUNT);
                if (extra) {
                        _cleanup_close_ int fresh = open_in_root(root_fd, m->destination, O_PATH, 0, 0);
                        char fp[FD_PATH_MAX];
                        if (fresh < 0)
                                return error_set(err, fresh, "reopen");
                        fd_path(fresh, fp);
                        if (is_userns)
                                extra |= rt_mount_locked_flags(fp);
                        if (mount(NULL, fp, NULL, MS_BIND | MS_REMOUNT | extra, NULL) < 0)
                                return error_set(err, errno, "remount with options");
                }
        } else if (m->type && strcmp(m->type, "cgroup") == 0) {
                r = mount_cgroup(m, root_fd, tp, is_cgroupns, err);
                if (r < 0)
                        return r;
        } else {
                if (mount(m->source ? m->source : m->type, tp, m->type, m->flags & ~MS_REC, m->data) < 0) {
                        r = -errno;
                        /* In a user namespace without its own network namespace, sysfs cannot be
                         * mounted: give the container the host's, read-only, as runc does. */
                        if (r == -EPERM && is_userns && strcmp(m->type, "sysfs") == 0) {
                                if (mount("/sys", tp, NULL, MS_BIND | MS_REC, NULL) < 0)
                                        return error_set(err, errno, "bind /sys");
                        } else {
                                return error_set(err, r, "mount %s", m->type);
                        }
                }
        }
        if (!m->propagation && !m->attr_set && !m->attr_clr)
                return 0;
        mounted = open_in_root(root_fd, m->destination, O_PATH, 0, 0);
        if (mounted < 0)
                return error_set(err, mounted, "reopen");
        if (m->propagation && mount(NULL, fd_path(mounted, tp), NULL, m->propagation, NULL) < 0)
                return error_set(err, errno, "set propagation");
        return setattr(mounted, m, err);
}

int rt_mount_all(const RtSpec *s, int root_fd, const char *rootfs, Error **err)
{
        bool is_userns = s->ns[RT_NS_USER].is_set;
        bool is_cgroupns = s->ns[RT_NS_CGROUP].is_set;

        for (size_t i = 0; i < s->n_mounts; i++) {
                const RtMount *m = &s->mounts[i];
                int r = mount_one(m, i, root_fd, is_userns, is_cgroupns, err);
                if (r < 0)
                        return error_wrap(err, r, "mounts[%zu] (%s on '%s')", i, m->type ? m->type : "bind",
                                          m->destination);
        }
        return 0;
}

int rt_mount_detach_below(const char *rootfs, Error **err)
{
        _cleanup_fclose_ FILE *f = fopen("/proc/self/mountinfo", "re");
        _cleanup_free_ char *line = NULL;
        _cleanup_strv_ char **points = NULL;
        size_t n = 0, len = strlen(rootfs);

        if (!f)
                return error_set(err, errno, "open mountinfo");
        bool has_self_bind = false;

        while (getline(&line, &n, f) > 0) {
                char mp[4096];
                if (sscanf(line, "%*s %*s %*s %*s %4095s", mp) != 1 || strncmp(mp, rootfs, len) != 0)
                        continue;
                if (mp[len] == '/')
                        strv_push(&points, mp);
                else if (mp[len] == 0)
                        has_self_bind = true;
        }
        /* Later mounts come later in mountinfo: detach from the end. */
        for (size_t i = strv_length(points); i > 0; i--)
                if (umount2(points[i - 1], MNT_DETACH) < 0 && errno != EINVAL && errno != ENOENT)
                        return error_set(err, errno, "detach '%s'", points[i - 1]);
        /* At the rootfs itself only the topmost mount is ours (the self-bind): the caller may have
         * mounted the rootfs there too (an overlay, as podman and containerd do). */
        if (has_self_bind && umount2(rootfs, MNT_DETACH) < 0 && errno != EINVAL)
                return error_set(err, errno, "detach '%s'", rootfs);
        return 0;
}
