/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* digest.h: OCI content digests ("sha256:<64 hex>"), computed while data streams */
#pragma once

#include <stddef.h>
#include "error.h"

typedef struct Digest Digest;

Digest *digest_new(void);
void digest_update(Digest *d, const void *data, size_t len);
/* Finishes the digest: "sha256:<64 lowercase hex>", malloc'd. d may not be updated after. */
char *digest_finish(Digest *d);
Digest *digest_free(Digest *d);
DEFINE_CLEANUP_FUNC(Digest *, digest_free)

/* Checks a digest string: -EOPNOTSUPP for an algorithm other than sha256, -EINVAL for a
 * malformed one, each with a message naming it. */
int digest_check(const char *digest, Error **err);
