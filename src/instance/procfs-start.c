/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* procfs-start.c: mounts a system container's procfs filesystem and starts hull-procfs on it */
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/fs.h"
#include "common/log.h"
#include "internal.h"
#include "procfs-start.h"
#include "runtime/cgroup.h"

const char *const inst_procfs_files[] = { "meminfo", "cpuinfo", "stat", "uptime", NULL };

bool inst_procfs_wanted(const InstRunOptions *o)
{
        return o->is_system && !o->is_vm && (o->memory > 0 || o->cpus > 0);
}

char *inst_procfs_dir(const InstContext *c, const char *id)
{
        return xasprintf("%s/procfs/%s", c->runroot, id);
}

/*
 * The mount point of the v1 hierarchy holding controller ctrl, or with ctrl NULL of the cgroup2
 * tree; NULL when the host has none.
 */
static char *cgroup_mount(const char *ctrl)
{
        _cleanup_fclose_ FILE *f = fopen("/proc/self/mountinfo", "re");
        _cleanup_free_ char *line = NULL;
        size_t n = 0;

        while (f && getline(&line, &n, f) > 0) {
                char point[4096], fstype[64], super[1024];
                const char *sep = strstr(line, " - ");
                if (!sep || sscanf(line, "%*s %*s %*s %*s %4095s", point) != 1 ||
                    sscanf(sep + 3, "%63s %*s %1023s", fstype, super) != 2)
                        continue;
                if (!ctrl && strcmp(fstype, "cgroup2") == 0)
                        return xstrdup(point);
                if (ctrl && strcmp(fstype, "cgroup") == 0) {
                        _cleanup_free_ char *opts = xasprintf(",%s,", super), *want = xasprintf(",%s,", ctrl);
                        if (strstr(opts, want))
                                return xstrdup(point);
                }
        }
        return NULL;
}

/* The container's directory in the hierarchy of ctrl: v1 where the host mounts it so, else unified. */
static char *cgroup_dir(RtCgroupMode mode, const char *ctrl, const char *id)
{
        _cleanup_free_ char *point = mode == RT_CGROUP_V2 ? NULL : cgroup_mount(ctrl), *path = inst_cgroup_path(id);

        if (!point && mode != RT_CGROUP_V1)
                point = cgroup_mount(NULL);
        /* The bundle's linux.cgroupsPath: absolute, so below each hierarchy's root. */
        return point ? xasprintf("%s%s", point, path) : xstrdup("-");
}

/* Mounts a new fuse filesystem on dir; its connection fd in *ret_fd. */
static int mount_fuse(const char *dir, int *ret_fd, Error **err)
{
        _cleanup_close_ int fd = open("/dev/fuse", O_RDWR | O_CLOEXEC);
        _cleanup_free_ char *opts = NULL;

        if (fd < 0)
                return error_set(err, errno, "open '/dev/fuse'");
        opts = xasprintf("fd=%d,rootmode=40000,user_id=0,group_id=0,allow_other", fd);
        if (mount("hull-procfs", dir, "fuse", MS_NOSUID | MS_NODEV | MS_NOEXEC, opts) < 0)
                return error_set(err, errno, "mount fuse on '%s'", dir);
        *ret_fd = TAKE_FD(fd);
        return 0;
}

static void remove_mount(const char *dir)
{
        if (umount2(dir, MNT_DETACH) < 0 && errno != EINVAL && errno != ENOENT)
                log_warn("detach '%s': %m, ignoring", dir);
        if (rmdir(dir) < 0 && errno != ENOENT)
                log_warn("remove '%s': %m, ignoring", dir);
}

int inst_procfs_start(InstContext *c, const char *id, pid_t *ret_pid, Error **err)
{
        _cleanup_free_ char *dir = inst_procfs_dir(c, id),
                            *server = inst_helper_path(c, "hull-procfs", "HULL_PROCFS"), *mem = NULL,
                            *cpuset = NULL, *cpuacct = NULL;
        _cleanup_close_ int fd = -EBADF;
        RtCgroupMode mode;
        pid_t pid;
        int r;

        if (access(server, X_OK) < 0)
                return error_set(err, errno, "procfs server '%s'", server);
        r = rt_cgroup_mode(&mode, err);
        if (r < 0)
                return r;
        mem = cgroup_dir(mode, "memory", id);
        cpuset = cgroup_dir(mode, "cpuset", id);
        cpuacct = cgroup_dir(mode, "cpuacct", id);
        remove_mount(dir); /* what a crashed start left */
        r = inst_run_dir_make(c, dir, err);
        if (r >= 0)
                r = mount_fuse(dir, &fd, err);
        if (r < 0) {
                rmdir(dir);
                return r;
        }
        pid = fork();
        if (pid < 0) {
                r = error_set(err, errno, "fork");
                remove_mount(dir);
                return r;
        }
        if (pid == 0) {
                int null = open("/dev/null", O_RDWR | O_CLOEXEC);
                /* dup2() onto itself would keep O_CLOEXEC. */
                if (null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 || dup2(null, 2) < 0 ||
                    (fd == 3 ? fcntl(fd, F_SETFD, 0) : dup2(fd, 3)) < 0 || chdir("/") < 0)
                        _exit(127);
                execl(server, "hull-procfs", "3", mem, cpuset, cpuacct, (char *)NULL);
                _exit(127);
        }
        log_debug("procfs: '%s' served by pid %d", dir, (int)pid);
        *ret_pid = pid;
        return 0;
}

void inst_procfs_finish(InstContext *c, const char *id, pid_t pid, bool is_created)
{
        _cleanup_free_ char *dir = inst_procfs_dir(c, id);

        remove_mount(dir);
        if (!is_created && pid > 0) {
                kill(pid, SIGKILL);
                waitpid(pid, NULL, 0);
        }
}

char *inst_procfs_cpuset(const char *id, double cpus)
{
        cpu_set_t set;
        int ids[CPU_SETSIZE], n = 0, want;
        unsigned hash = 2166136261u;
        char *out = NULL;
        size_t len = 0;
        FILE *f;

        if (cpus <= 0 || sched_getaffinity(0, sizeof(set), &set) < 0)
                return NULL;
        for (int i = 0; i < CPU_SETSIZE; i++)
                if (CPU_ISSET(i, &set))
                        ids[n++] = i;
        want = cpus >= n ? n : (int)cpus + ((double)(int)cpus < cpus); /* ceil(), without libm */
        if (want >= n)
                return NULL;
        for (const char *p = id; *p; p++) /* FNV-1a */
                hash = (hash ^ (unsigned char)*p) * 16777619u;
        f = open_memstream(&out, &len);
        if (!f)
                abort();
        for (int i = 0; i < want; i++)
                fprintf(f, "%s%d", i ? "," : "", ids[(hash + (unsigned)i) % (unsigned)n]);
        fclose(f);
        return out;
}
