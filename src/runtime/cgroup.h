/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* cgroup.h: a container's cgroup on v1, v2 and hybrid hosts; the two hierarchies sit behind one ops table */
#pragma once

#include <jansson.h>
#include <sys/types.h>
#include "common/error.h"

typedef enum RtCgroupMode {
        RT_CGROUP_V1,     /* only v1 controller hierarchies */
        RT_CGROUP_V2,     /* one unified hierarchy at /sys/fs/cgroup */
        RT_CGROUP_HYBRID, /* v1 controllers, plus a cgroup2 tree (/sys/fs/cgroup/unified) that may hold some */
} RtCgroupMode;

/* Detects the host's layout from /proc/self/mountinfo (cached after the first call). */
int rt_cgroup_mode(RtCgroupMode *ret, Error **err);
const char *rt_cgroup_mode_name(RtCgroupMode m);

/* linux.resources (or the JSON `update` reads), validated; opaque to the rest of the runtime. */
typedef struct RtResources RtResources;

/*
 * Parses a LinuxResources object; `where` prefixes field names in errors ("linux.resources").
 * NULL json gives an empty set. Fails with EINVAL naming the field for bad values
 * (e.g. "linux.resources.memory.limit: expected an integer").
 */
int rt_resources_parse(const json_t *json, const char *where, RtResources **ret, Error **err);
RtResources *rt_resources_free(RtResources *r);
DEFINE_CLEANUP_FUNC(RtResources *, rt_resources_free)

typedef struct RtCgroup RtCgroup;

/*
 * Creates the container's cgroup directories in every hierarchy the host has (v1 controllers that
 * are mounted, the unified tree) and returns a handle. cgroups_path is linux.cgroupsPath: absolute
 * paths are below each hierarchy's root, relative ones below the caller's own cgroup there (as runc
 * does); NULL means "/hull/<id>". With is_systemd the "slice:prefix:name" form is accepted and mapped
 * to a cgroupfs path (slice nesting as systemd does it). A cgroup that already holds processes is
 * refused with EBUSY. On failure nothing created is left behind.
 */
int rt_cgroup_create(const char *cgroups_path, const char *id, bool is_systemd, RtCgroup **ret, Error **err);

/* Hands the cgroup's unified-hierarchy directory (pure v2 or hybrid; nothing on v1) to uid:gid, with
 * cgroup.procs, cgroup.threads and cgroup.subtree_control, so that they may make and manage cgroups
 * below it. The runtime does it for a container with its own user and cgroup namespaces and a
 * read-write cgroup mount (see delegate_cgroup in container.c). */
int rt_cgroup_delegate(RtCgroup *cg, uid_t uid, gid_t gid, Error **err);

/* Writes every limit res sets; unset fields are left alone (so `update` passes a partial set). */
int rt_cgroup_apply(RtCgroup *cg, const RtResources *res, Error **err);

/* Moves pid into the cgroup in every hierarchy. */
int rt_cgroup_enter(RtCgroup *cg, pid_t pid, Error **err);

/*
 * Moves the calling process, which must be single-threaded, into the cgroup in every hierarchy
 * (but the unified one when is_v2_entered: clone3 put it there). Cheap where rt_cgroup_enter()
 * of another pid is not: see cgroup.c. Uses only the fds cg holds, so it works after fork and
 * after joining the container's mount namespace.
 */
int rt_cgroup_enter_self(RtCgroup *cg, bool is_v2_entered, Error **err);

/* The cgroup's O_DIRECTORY fd in the unified hierarchy (pure v2 or hybrid) for
 * clone3(CLONE_INTO_CGROUP), else -EOPNOTSUPP. Owned by cg. */
int rt_cgroup_clone_fd(RtCgroup *cg);

/* Freezes or thaws every task and returns once the kernel reports the state reached. */
int rt_cgroup_freeze(RtCgroup *cg, bool is_frozen, Error **err);
int rt_cgroup_is_frozen(RtCgroup *cg, bool *ret, Error **err);

/* The pids in the cgroup (and its descendants). */
int rt_cgroup_pids(RtCgroup *cg, pid_t **ret, size_t *ret_n, Error **err);

/* Sends sig to every process in the cgroup (kill --all, delete --force). */
int rt_cgroup_kill(RtCgroup *cg, int sig, Error **err);

/* Removes the cgroup directories (in every hierarchy); the processes must be gone. Missing ones are fine. */
int rt_cgroup_destroy(RtCgroup *cg, Error **err);

/* Figures for stats: memory usage/limit, cpu usage (ns), pids current, as a flat JSON object. */
int rt_cgroup_stats(RtCgroup *cg, json_t **ret, Error **err);

/* Persistence in the container's state: the paths per hierarchy. */
json_t *rt_cgroup_to_json(const RtCgroup *cg);
int rt_cgroup_from_json(const json_t *j, RtCgroup **ret, Error **err);
/* rt_cgroup_is_frozen() of the cgroup j describes, opening only the freezer's directory. */
int rt_cgroup_json_is_frozen(const json_t *j, bool *ret, Error **err);

/* Frees memory only; the cgroup stays. */
RtCgroup *rt_cgroup_free(RtCgroup *cg);
DEFINE_CLEANUP_FUNC(RtCgroup *, rt_cgroup_free)
