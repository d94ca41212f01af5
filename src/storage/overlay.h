/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* overlay.h: container root filesystems as overlayfs mounts over shared, read-only layers */
#pragma once

#include <stdint.h>
#include "common/error.h"

/* A shift of owners: ids 0..count-1 of a container are host ids uid_base.. and gid_base.. */
typedef struct StorIdmap {
        uint32_t uid_base;
        uint32_t gid_base;
        uint32_t count;
} StorIdmap;

/*
 * Mounts an overlay at target: the directories layers_dir/<name> for each name in layers (bottom
 * first) as lowerdirs, upper as the container's writable layer, work as overlayfs's work dir (both
 * created when missing, on the same file system). Layer paths are passed as /proc/self/fd links, so
 * the mount options stay short however many layers an image has. An empty layers list mounts over
 * an empty lower directory. The mount is private to the mount namespace of the caller.
 */
int stor_overlay_mount(const char *layers_dir, char *const *layers, const char *upper, const char *work,
                       const char *target, Error **err);

/*
 * A user namespace mapping uids 0..count-1 to map->uid_base.. and gids to map->gid_base..; *ret_fd
 * holds it (O_CLOEXEC). Forks a child for a moment (it is killed and reaped before returning).
 */
int stor_idmap_userns(const StorIdmap *map, int *ret_fd, Error **err);

/*
 * Like stor_overlay_mount, for a container whose root is map->uid_base on the host: the upper dir
 * (the root of what it sees) is owned by map's base ids, and each layer is seen through an idmapped
 * mount (open_tree + mount_setattr(MOUNT_ATTR_IDMAP)), so a file the image owns as uid 0 shows as
 * map->uid_base to overlayfs and as 0 inside the container; new files and copy-ups land in upper
 * with the shifted owners. The idmapped layers are attached below stage_dir (made here) for the
 * mount and detached again (overlayfs keeps its own clones). stage_dir NULL: the layers carry the
 * shifted owners already (a copy made by stor_tree_copy and shifted by stor_shift_tree_ids) and are used as they are. -EOPNOTSUPP,
 * with nothing mounted, when the kernel or the layers' file system cannot idmap them (mount_setattr
 * said EINVAL, ENOSYS or EPERM): the caller may fall back to a shifted copy.
 */
int stor_overlay_mount_idmapped(const char *layers_dir, char *const *layers, const StorIdmap *map,
                                const char *stage_dir, const char *upper, const char *work, const char *target,
                                Error **err);

/* Detaches whatever stor_overlay_mount_idmapped left attached below stage_dir (only a crash in
 * the middle of it does) and removes the dir; none is fine. Never removes anything recursively:
 * EBUSY (or the rmdir's error) when something stays, to be cleared before stage_dir's parent goes. */
int stor_overlay_stage_clear(const char *stage_dir, Error **err);

/* Detaches the overlay at target; one that is not mounted is not an error. */
int stor_overlay_umount(const char *target, Error **err);

/* True if target is a mount point of an overlay. */
bool stor_overlay_is_mounted(const char *target);
