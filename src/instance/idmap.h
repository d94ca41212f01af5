/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* idmap.h: which instances get a uid/gid range of their own, and the pool the ranges come from */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include "common/error.h"
#include "db.h"

typedef struct InstRunOptions InstRunOptions;

/*
 * Whether an instance gets a user namespace with a private uid/gid range: --userns auto, yes;
 * --userns host, no; otherwise a system container without --privileged does and an application
 * container does not. A VM never does (its guest has its own kernel).
 */
bool inst_userns_wanted(const InstRunOptions *o);

/* The default pool when /etc/subuid or /etc/subgid has no line for root: LXD's and podman's. */
#define INST_IDMAP_POOL_START 1000000u
#define INST_IDMAP_POOL_COUNT 1000000000u

/*
 * Finds user's range ("NAME:START:COUNT", the format of subuid(5); comments and blank lines
 * skipped, the first line for user taken) in text. 1 with *ret_start and *ret_count set, 0 when
 * text has no line for user; EINVAL for a malformed line of user's, or one reaching past 2^32 ids.
 */
int inst_idmap_parse_subid(const char *text, const char *user, uint64_t *ret_start, uint64_t *ret_count,
                           Error **err);

/*
 * The pool instances' ranges are taken from: root's lines of /etc/subuid and /etc/subgid (as LXD
 * and podman read them), or where a file or its root line is missing, the default
 * INST_IDMAP_POOL_START:INST_IDMAP_POOL_COUNT. The environment variables HULL_SUBUID and
 * HULL_SUBGID name other files in their place (tests; hosts that keep hull's ranges apart). EINVAL
 * for a pool smaller than one range (INST_IDMAP_SLOT ids), saying so.
 */
int inst_idmap_pool(InstIdmapPool *ret, Error **err);

/* HULL_IDMAP_SHIFT=1 in the environment of a create forces the fallback of a kernel that cannot
 * idmap the layers: a one-time copy of them with the owners shifted (tests of that path). */
#define INST_IDMAP_SHIFT_ENV "HULL_IDMAP_SHIFT"

typedef struct InstContext InstContext;

/*
 * Mounts the root filesystem of instance id, whose range is map, over layers (layer dir names,
 * bottom first): its layers through idmapped mounts, or where the kernel cannot idmap them (or
 * HULL_IDMAP_SHIFT=1 asks), over a copy of them with every owner shifted into the range, made once
 * in $root/instances/<id>/lower and used from then on. The container's root, an unprivileged uid on
 * the host, must reach its root filesystem and bound files by their paths: $root and
 * $root/instances become 0711 (the database is 0600), and the instance's directory 0100 owned by
 * that uid.
 */
int inst_idmap_rootfs_mount(InstContext *c, const char *id, char *const *layers, const InstIdmap *map, Error **err);
