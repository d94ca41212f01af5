/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* layer.h: unpacking an OCI layer (tar, gzip or zstd) into a directory that serves as an overlay lowerdir */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include "common/error.h"

/* What unpacking a layer found. */
typedef struct ImgLayerInfo {
        char *diff_id;    /* "sha256:<hex>" of the uncompressed tar; NULL if is_present and none expected */
        uint64_t size;    /* bytes of regular file content (hardlinks counted once) */
        bool is_present;  /* the layer directory existed already: nothing was read, size is 0 and
                           * diff_id is a copy of expected_diff_id */
} ImgLayerInfo;

/*
 * Unpacks the layer tar read from fd (gzip, zstd or uncompressed, told apart by content) into
 * layers_dirfd/name, so that the directory can be given to overlayfs as a lowerdir: OCI whiteouts
 * (".wh.NAME") become 0:0 character devices and opaque markers (".wh..wh..opq") the
 * "trusted.overlay.opaque" xattr. Owners, modes, mtimes and xattrs are kept, so it runs as root.
 *
 * name is one path component and may not start with '.' (those are temporaries). Work happens in
 * layers_dirfd/.tmp-<name>-XXXXXX, synced to disk (syncfs) and renamed to name at the end: a layer
 * directory, once present, is complete, even after a crash, and on any failure nothing is left. If
 * the directory exists already, returns 0 without reading fd; if a concurrent unpacker of the same
 * name renames first, this one discards its copy and returns 0 as well. Entries are made beneath
 * the layer directory only, never through a symlink; one that would escape ("..", an absolute name,
 * a parent or hardlink target through a symlink) fails the whole layer with EPERM. If
 * expected_diff_id is non-NULL the sha256 of the uncompressed stream must equal it (EBADMSG
 * otherwise); a corrupt or truncated stream is EBADMSG too.
 *
 * Reads fd to its end and blocks on it; does not close it. Thread-safe: no chdir, umask or other
 * process-wide state, so several layers may be unpacked at once. ret (optional) is filled on success
 * and released with img_layer_info_done().
 */
int img_layer_unpack(int fd, int layers_dirfd, const char *name, const char *expected_diff_id,
                     ImgLayerInfo *ret, Error **err);

/*
 * Removes the temporary directories that unpackers which died (a crash, a kill) left in
 * layers_dirfd; those of unpackers still at work, in any process, are locked and kept. Returns how
 * many were removed.
 */
int img_layer_remove_stale(int layers_dirfd, Error **err);

/* Frees what an ImgLayerInfo holds (not the struct) and zeroes it. */
void img_layer_info_done(ImgLayerInfo *i);
