/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* tree.h: whole directory trees (a container's upper dir) copied, or sent over a stream, with everything kept */
#pragma once

#include <stdint.h>
#include "common/error.h"

/*
 * Copies the tree at src into dst, which must not exist (it is made under a temporary name beside it
 * and renamed, so dst is complete or absent). Kept: owners, modes, times, xattrs (trusted.* included:
 * overlay opaque dirs and redirects), device nodes (overlay whiteouts are char 0/0), fifos, symlinks,
 * hard links (within the tree) and holes. Regular files share their extents (FICLONE) where the file
 * system can, else their data segments are copied. Sockets are skipped. The caller keeps src still
 * (a frozen or stopped container) while it is copied.
 */
int stor_tree_copy(const char *src, const char *dst, Error **err);

/*
 * Writes the tree at src to fd in hull's own framing (see tree.c), with what stor_tree_copy keeps,
 * holes as holes. fd may be a socket or a pipe; the stream ends with its own end record.
 */
int stor_tree_send(const char *src, int fd, Error **err);

/*
 * Makes dst (which must not exist) from a stream stor_tree_send wrote to fd, reading exactly up to its
 * end record. The stream is untrusted: names are single path components, hard links name a file
 * received before (resolved beneath dst, no symlinks followed), depth and sizes are bounded; EBADMSG
 * for a malformed stream. On failure dst is removed.
 */
int stor_tree_receive(int fd, const char *dst, Error **err);

/* The bytes the tree at path takes on disk (allocated blocks; each hard-linked inode once); 0 if missing. */
int64_t stor_tree_size(const char *path);
