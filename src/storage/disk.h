/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* disk.h: VM disks: an image's root filesystem as an ext4 base disk, and each VM's qcow2 overlay on it */
#pragma once

#include <stdint.h>
#include "common/error.h"

/*
 * Makes an ext4 file system holding the tree at src_dir (owners, modes, links, device nodes and
 * xattrs kept) in the raw file out_path, with mkfs.ext4 -d: sized for the tree plus room to write
 * (at least min_size bytes; the file is sparse). Made under a temporary name and renamed, so out_path
 * is complete or absent. ENOENT when mkfs.ext4 is missing.
 */
int stor_disk_make_base(const char *src_dir, const char *out_path, int64_t min_size, Error **err);

/* A qcow2 overlay at out_path over the raw base (qemu-img create -F raw -b base), of the base's size. */
int stor_disk_make_overlay(const char *base, const char *out_path, Error **err);

/* Copies a disk file, keeping its holes (or sharing its extents where the file system can). */
int stor_disk_copy(const char *src, const char *dst, Error **err);
