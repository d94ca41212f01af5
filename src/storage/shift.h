/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* shift.h: moving the owners of a directory tree by an offset, in place or into a copy */
#pragma once

#include <stdint.h>
#include "common/error.h"

/* A move of owners: uids in [uid_from, uid_from + count) to uid_to.., gids likewise. */
typedef struct StorShift {
        uint32_t uid_from, uid_to;
        uint32_t gid_from, gid_to;
        uint32_t count;
} StorShift;

/*
 * How an owner moves: an id in [from_base, from_base + count) becomes to_base + (id - from_base);
 * any other id (one the range cannot show) becomes to_base + the overflow id 65534 (or count - 1
 * for a smaller range), as the kernel shows unmapped ids, so no entry is left owned by a host id
 * outside the range.
 */
uint32_t stor_shift_id(uint32_t id, uint32_t from_base, uint32_t to_base, uint32_t count);

/*
 * Changes the owner of every entry below (and of) the directory dirfd, uids and gids alike, by
 * stor_shift_id(): lchown, so symlinks are never followed and the walk never leaves the tree
 * (subdirectories are opened with O_NOFOLLOW, mount points are not crossed). What chown drops is put
 * back: the setuid and setgid bits, and file capabilities, rewritten as version 3 with their root
 * id shifted too, so they keep their meaning inside a user namespace whose root is to_base (as far
 * as the kernel allows: it honours them only there). A hard-linked inode is shifted once. POSIX
 * ACLs are left as they are. Blocks on the file system only.
 */
int stor_shift_tree(int dirfd, uint32_t from_base, uint32_t to_base, uint32_t count, Error **err);
/* stor_shift_tree with the gids moved by their own bases. */
int stor_shift_tree_ids(int dirfd, const StorShift *shift, Error **err);

