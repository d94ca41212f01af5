/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* copy.h: hull copy: a new, independent container from another one or from one of its snapshots */
#pragma once

#include "common/error.h"
#include "instance.h"
#include "internal.h"

/*
 * Makes a new stopped instance called name from src (a container or system container; EOPNOTSUPP for
 * a VM): a new id, the same image, kind and options, and an upper dir of its own copied from src's
 * (src frozen for the copy when it runs) or, with snapshot, from that snapshot of src. It gets a lease
 * of its own on src's network when it starts. Published host ports cannot be shared: the copy has none,
 * and *ret_dropped_ports (may be NULL) gets src's -p specs that were left out (NULL when none).
 * EEXIST for a name in use, ENOENT for a missing snapshot; on failure nothing is left (no record, no
 * directory). *ret gets the new record.
 */
int inst_copy(InstContext *c, InstRecord *src, const char *name, const char *snapshot, InstRecord **ret,
              char ***ret_dropped_ports, Error **err);

/* After rec (a copy, or a received instance) is recorded: its directory; its upper dir, made by
 * fill(upper, data) and moved from the uid/gid range from into rec's own (inst_copy_reshift); its overlay
 * and bundle. The caller undoes it all on failure. */
int inst_copy_make_files(InstContext *c, const InstRecord *rec, const InstImage *img, const InstRunOptions *o,
                         const InstNetAttach *att, const InstIdmap *from,
                         int (*fill)(const char *upper, void *data, Error **err), void *data, Error **err);

/* A new record for a copy or a received instance: a fresh id, created now, never run. */
InstRecord *inst_copy_record(InstKind kind, const char *name, const InstImage *img, const char *image_name,
                             const char *options, bool is_auto_remove);

/*
 * Moves the owners of the upper dir of to (a copy, or a container received from another hull) from
 * the uid/gid range its files were written under (from; NULL or count 0: the ids the container sees,
 * no range) to the range to has (none: the ids as the container sees them). Nothing to do when both
 * are the same.
 */
int inst_copy_reshift(InstContext *c, const InstIdmap *from, const InstRecord *to, const char *upper,
                      Error **err);
