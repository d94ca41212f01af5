/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* auth.h: registry credentials in Docker's config.json format, at a path the caller chooses */
#pragma once

#include "common/error.h"

/*
 * The file is {"auths": {"host:port": {"auth": base64("user:password")}}}, as docker, podman and
 * skopeo write it; other keys in it are kept. Entries are matched on the registry: a key may carry a
 * scheme and a path ("https://index.docker.io/v1/"), and Docker Hub's other names count as "docker.io".
 */

/* Finds the credentials for registry. 0 when there are none (a missing file included), 1 with
 * *ret_user and *ret_password set (malloc'd); EBADMSG for a malformed file or entry. */
int img_auth_lookup(const char *path, const char *registry, char **ret_user, char **ret_password, Error **err);

/*
 * Records credentials for registry, replacing any for it: the file is rewritten atomically (a
 * temporary file renamed over it) with mode 0600. Does not contact the registry: check the
 * credentials first with img_registry_check_login(). EINVAL for a user name with ':' in it.
 */
int img_auth_login(const char *path, const char *registry, const char *user, const char *password, Error **err);

/* Forgets the credentials for registry, rewriting the file as login does; ENOENT when there were none. */
int img_auth_logout(const char *path, const char *registry, Error **err);
