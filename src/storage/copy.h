/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* copy.h: copying a file's data in the kernel where it can (copy_file_range: a reflink on file systems
 * that share extents), else by read and write, keeping its holes */
#pragma once

#include <sys/types.h>

/* Copies [off, end) of in to the same place in out. -errno; -ENODATA when in shrank under us. */
int stor_copy_range(int in, int out, off_t off, off_t end);
/* Calls fn for each data segment [off, end) of in's first size bytes: its holes are skipped (all of it
 * is one segment where the file system cannot tell). The first negative fn result ends the walk. */
int stor_for_each_data_segment(int in, off_t size, int (*fn)(void *u, off_t off, off_t end), void *u);
/* The data of in's first size bytes into out at the same offsets, its holes left holes (out must be
 * as long, or be made so by the caller). */
int stor_copy_sparse(int in, int out, off_t size);
