/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* snapshot-container.h: what snapshot.c, copy.c and migrate.c share of containers' snapshots and upper dirs */
#pragma once

#include <jansson.h>
#include "common/error.h"
#include "instance.h"

/* The container snapshots behind inst_snapshot_*() (snapshot.c dispatches by kind), same arguments and
 * results: $root/instances/<id>/snapshots/<name>/ holds upper/ (a copy of the overlay's upper dir),
 * options.json (the record's options), config.json (the bundle's) and meta.json. A running container
 * is frozen while its upper dir is copied. Restoring a running one stops it, puts the snapshot's files
 * in place and starts it again ({..., "restarted": true} in *ret). ENOENT names a missing snapshot. */
int inst_ctr_snapshot_create(InstContext *c, InstRecord *rec, const char *name, json_t **ret, Error **err);
int inst_ctr_snapshot_list(InstContext *c, InstRecord *rec, json_t **ret, Error **err);
int inst_ctr_snapshot_restore(InstContext *c, InstRecord *rec, const char *name, json_t **ret, Error **err);
int inst_ctr_snapshot_delete(InstContext *c, InstRecord *rec, const char *name, Error **err);

/* The directory of rec's snapshot name, which must exist: ENOENT "snapshot 'x' of 'NAME' does not exist". */
int inst_ctr_snapshot_find(InstContext *c, const InstRecord *rec, const char *name, char **ret_dir, Error **err);

/* Copies the container's upper dir to dst (not existing), freezing the container for the copy when it
 * runs (thawed again whatever happens). */
int inst_ctr_copy_upper(InstContext *c, InstRecord *rec, const char *dst, Error **err);
