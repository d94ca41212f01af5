/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* linux.h: the runtime's kernel-facing steps, one file each: namespaces, userns, mounts, rootfs, devices, caps */
#pragma once

#include <sys/types.h>
#include "common/error.h"
#include "spec.h"

/* namespaces.c */
/* Opens every namespace path in s (O_RDONLY|O_CLOEXEC) into fds[type] (-EBADF where none). */
int rt_ns_open_paths(const RtSpec *s, int fds[_RT_NS_MAX], Error **err);
/* Joins the opened namespaces: user first (it owns the others), mount last (it changes root and cwd). */
int rt_ns_join(int fds[_RT_NS_MAX], Error **err);
void rt_ns_close(int fds[_RT_NS_MAX]);
/* CLONE_NEW* flags for the namespaces s asks to create (not those it joins). */
unsigned long rt_ns_new_flags(const RtSpec *s);
/* Writes linux.timeOffsets for the time namespace the caller's children will be in. */
int rt_ns_write_time_offsets(const RtSpec *s, Error **err);

/* userns.c */
/* Writes uid_map, setgroups and gid_map of pid (whose new user namespace has no maps yet). */
int rt_userns_write_maps(pid_t pid, const RtSpec *s, Error **err);

/* mount.c: inside the container's new mount namespace, before pivot_root */
/* Makes "/" slave (or the spec's propagation) and binds the rootfs onto itself; returns its fd. */
int rt_mount_prepare_rootfs(const RtSpec *s, const char *rootfs, int *ret_root_fd, Error **err);
/* nosuid, nodev and noexec as path's mount has them: a remount must keep them, since a user
 * namespace may not clear them on a mount it did not make. */
unsigned long rt_mount_locked_flags(const char *path);
/* Before clone, in the runtime: a detached, idmapped copy of every idmapped mount's source
 * (m->prepared_fd), for the container process to move into place. */
int rt_mount_prepare_idmapped(RtSpec *s, Error **err);
/* Detaches what a container without a mount namespace of its own mounted: every mount below
 * rootfs, and the topmost one at it (its self-bind). Only for such containers. */
int rt_mount_detach_below(const char *rootfs, Error **err);
/* Every mount of config.json, in order, each target resolved inside root_fd. */
int rt_mount_all(const RtSpec *s, int root_fd, const char *rootfs, Error **err);

/* devices.c */
/* Default devices, linux.devices, the /dev symlinks and /dev/ptmx, below root_fd. */
int rt_devices_setup(const RtSpec *s, int root_fd, bool is_userns, Error **err);

/* rootfs.c: after the mounts */
/* pivot_root into rootfs (MS_MOVE + chroot when the host root is a ramfs, where pivot_root fails). */
int rt_rootfs_pivot(const char *rootfs, Error **err);
/* After pivot: rootfsPropagation, sysctls, readonlyPaths, maskedPaths, then a read-only root. */
int rt_rootfs_finish(const RtSpec *s, Error **err);

/* caps.c */
/* Drops from the bounding set every capability not in p's bounding set (needs CAP_SETPCAP). */
int rt_caps_drop_bounding(const RtProcess *p, Error **err);
/* Becomes p's uid/gid/groups keeping capabilities, then sets the effective, permitted, inheritable
 * and ambient sets. */
int rt_caps_change_user(const RtProcess *p, Error **err);
