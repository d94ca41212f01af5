/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* overlay.h: container root filesystems as overlayfs mounts over shared, read-only layers */
#pragma once

#include "common/error.h"

/*
 * Mounts an overlay at target: the directories layers_dir/<name> for each name in layers (bottom
 * first) as lowerdirs, upper as the container's writable layer, work as overlayfs's work dir (both
 * created when missing, on the same file system). Layer paths are passed as /proc/self/fd links, so
 * the mount options stay short however many layers an image has. An empty layers list mounts over
 * an empty lower directory. The mount is private to the mount namespace of the caller.
 */
int stor_overlay_mount(const char *layers_dir, char *const *layers, const char *upper, const char *work,
                       const char *target, Error **err);

/* Detaches the overlay at target; one that is not mounted is not an error. */
int stor_overlay_umount(const char *target, Error **err);

/* True if target is a mount point of an overlay. */
bool stor_overlay_is_mounted(const char *target);
