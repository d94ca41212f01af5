/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* snapshot-container.h: what snapshot.c, snapshot-container.c, copy.c and migrate.c share of snapshots and upper dirs */
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

/* What VM and container snapshots share (snapshot.c). */
/* $root/instances/<id>/snapshots/<name>. */
char *inst_snapshot_dir(InstContext *c, const char *id, const char *name);
/* A new snapshot: its name checked and free (EEXIST), *ret_dir where it will be, *ret_tmp (DIR.tmp,
 * made empty) where it is built. */
int inst_snapshot_begin(InstContext *c, const InstRecord *rec, const char *name, char **ret_dir, char **ret_tmp,
                        Error **err);
/* Ends what begin started, by how it went (r): info written as tmp's meta.json and tmp renamed to
 * dir, so a snapshot exists whole or not at all; on any failure tmp is removed and the error wrapped. */
int inst_snapshot_commit(const InstRecord *rec, const char *name, const char *dir, const char *tmp,
                         const json_t *info, int r, Error **err);
int inst_snapshot_read_meta(const char *dir, json_t **ret, Error **err);
/* The directory of rec's snapshot name, which must exist: ENOENT "snapshot 'x' of 'NAME' does not exist". */
int inst_snapshot_find(InstContext *c, const InstRecord *rec, const char *name, char **ret_dir, Error **err);
/* rec's snapshots, oldest first: [{name, created, stateful, size}], size by size_of(snapshot dir). */
json_t *inst_snapshot_list_dir(InstContext *c, const InstRecord *rec, int64_t (*size_of)(const char *dir));

/* Copies the container's upper dir to dst (not existing), freezing the container for the copy when it
 * runs (thawed again whatever happens). */
int inst_ctr_copy_upper(InstContext *c, InstRecord *rec, const char *dst, Error **err);
