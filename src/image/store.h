/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* store.h: the content-addressed blob store ($root/blobs/sha256, OCI image layout), verified on write */
#pragma once

#include <stdint.h>
#include "common/error.h"

typedef struct ImgStore ImgStore;

/* Opens the store under root, making root/blobs/sha256 and root/oci-layout when missing. */
int img_store_open(const char *root, ImgStore **ret, Error **err);
ImgStore *img_store_free(ImgStore *s);
DEFINE_CLEANUP_FUNC(ImgStore *, img_store_free)

/*
 * Reads fd to its end into a new blob. The digest is computed while writing to a temporary
 * file, checked against expected_digest (if given) and the size against expected_size (if >= 0),
 * then the file is renamed into place: a reader never sees a blob that does not match its name,
 * and on failure (EBADMSG for a mismatch) nothing is left. *ret_digest (optional) gets the digest.
 */
int img_store_put_fd(ImgStore *s, int fd, const char *expected_digest, int64_t expected_size, char **ret_digest,
                     Error **err);
/* The same for a buffer. */
int img_store_put_buf(ImgStore *s, const void *buf, size_t len, const char *expected_digest, char **ret_digest,
                      Error **err);

/* True if a blob with that (well-formed) digest is stored. */
bool img_store_has(ImgStore *s, const char *digest);
/* Opens a stored blob for reading. ENOENT names the digest. */
int img_store_open_blob(ImgStore *s, const char *digest, int *ret_fd, Error **err);
/* Reads a stored blob whole into a NUL-terminated buffer: EFBIG when it is larger than max. */
int img_store_read_blob(ImgStore *s, const char *digest, size_t max, char **ret, size_t *ret_len, Error **err);
/* Removes a blob; a missing one is not an error. */
int img_store_remove(ImgStore *s, const char *digest, Error **err);

/*
 * A streaming writer for a blob that arrives in pieces (a registry download): the same unnamed
 * temporary file, digest and checks as img_store_put_fd(). expected_digest is required (it names
 * the blob), expected_size is checked when >= 0. Nothing is visible in the store until commit
 * succeeds; freeing an uncommitted writer discards what was written.
 */
typedef struct ImgStoreWriter ImgStoreWriter;
int img_store_writer_new(ImgStore *s, const char *expected_digest, int64_t expected_size, ImgStoreWriter **ret,
                         Error **err);
/* Appends data; EBADMSG as soon as it runs past expected_size. */
int img_store_writer_write(ImgStoreWriter *w, const void *data, size_t len, Error **err);
/* Bytes written so far. */
uint64_t img_store_writer_size(const ImgStoreWriter *w);
/* Checks size and digest (EBADMSG naming both) and links the blob in under its digest. The writer
 * must still be freed; after a commit, failed or not, writing or committing again is EALREADY. */
int img_store_writer_commit(ImgStoreWriter *w, Error **err);
ImgStoreWriter *img_store_writer_free(ImgStoreWriter *w);
DEFINE_CLEANUP_FUNC(ImgStoreWriter *, img_store_writer_free)
