/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* procfs-start.h: a system container's /proc files: the FUSE mount, hull-procfs on it, and its CPU pinning */
#pragma once

#include <stdbool.h>
#include <sys/types.h>
#include "common/error.h"
#include "instance.h"

/* The files hull-procfs serves, bound over the same names below the container's /proc. */
extern const char *const inst_procfs_files[];

/*
 * Whether a system container gets the /proc view: only with a limit (--memory or --cpus). Without
 * one the host's files tell the truth about what it may use, and no server need run beside it.
 */
bool inst_procfs_wanted(const InstRunOptions *o);

/* Where a system container's procfs filesystem is mounted while it starts: $runroot/procfs/<id>. */
char *inst_procfs_dir(const InstContext *c, const char *id);

/*
 * Before the runtime creates system container id: mounts a fresh "fuse" filesystem on
 * inst_procfs_dir() (a stale one from a crashed start detached first) and starts hull-procfs on it,
 * reading the container's cgroups (/hull/<id> in each hierarchy: the layout rt_cgroup_mode() finds).
 * The server gets /dev/null as stdio and "/" as its directory, so it holds nothing of the caller's;
 * it runs in the caller's cgroup. *ret_pid gets its pid. On failure nothing is left mounted or running.
 */
int inst_procfs_start(InstContext *c, const char *id, pid_t *ret_pid, Error **err);

/*
 * After the runtime created the container (is_created) or failed to: detaches the host's mount and
 * removes the directory. Once created, the container's mount namespace alone keeps the filesystem,
 * and the server exits when that ends; on a failure the server (pid) is killed and reaped here.
 */
void inst_procfs_finish(InstContext *c, const char *id, pid_t pid, bool is_created);

/*
 * The cpuset pinning a system container limited to cpus CPUs gets, so that nproc and cpuinfo show
 * its allowance: ceil(cpus) of the CPUs this process may use, consecutive from an offset chosen by
 * the id (so containers spread over the host), as "2,3"; NULL when cpus is 0 or covers them all.
 */
char *inst_procfs_cpuset(const char *id, double cpus);
