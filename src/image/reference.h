/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* reference.h: image references ("busybox", "localhost:5000/a/b:1", "x@sha256:...") as docker parses them */
#pragma once

#include "common/error.h"

/* The registry a reference without one names, and the host that serves its API. */
#define IMG_DEFAULT_REGISTRY "docker.io"
#define IMG_DEFAULT_TAG "latest"

typedef struct ImgReference {
        char *registry;   /* "docker.io", "localhost:5000", "[::1]:5000" */
        char *repository; /* "library/busybox" for a docker.io single name, else as written */
        char *tag;        /* "latest" when neither tag nor digest was given; NULL with a digest alone */
        char *digest;     /* "sha256:<64 hex>" or NULL */
} ImgReference;

/*
 * Parses s as docker and podman do: an optional registry (a first path component that holds a '.'
 * or a ':' or is "localhost"; "docker.io" otherwise, "index.docker.io" is folded into it), a
 * repository of lowercase components (separators '.', '_', '__', '-'), an optional ":tag" and an
 * optional "@digest". EINVAL names s and what is wrong ("reference 'Foo': repository name must be
 * lowercase"); a digest of another algorithm than sha256 gives EOPNOTSUPP. *ret is owned by the caller.
 */
int img_reference_parse(const char *s, ImgReference **ret, Error **err);

/* A reference from its parts (copied, not checked): registry and repository must be given. */
ImgReference *img_reference_new(const char *registry, const char *repository, const char *tag,
                                const char *digest);
ImgReference *img_reference_copy(const ImgReference *r);
ImgReference *img_reference_free(ImgReference *r);
DEFINE_CLEANUP_FUNC(ImgReference *, img_reference_free)

/* The canonical form, malloc'd: "registry/repository", then ":tag" if any, then "@digest" if any. */
char *img_reference_to_string(const ImgReference *r);
/* "registry/repository" alone, malloc'd. */
char *img_reference_name(const ImgReference *r);
/* What the registry API is asked for: the digest when there is one, else the tag. Borrowed. */
const char *img_reference_object(const ImgReference *r);

/* The host (and port) that serves a registry's API: "registry-1.docker.io" for "docker.io", else
 * registry itself. Borrowed (static or registry). */
const char *img_registry_api_host(const char *registry);

/* True if a registry's host is a loopback address (127.0.0.0/8, "localhost", "[::1]"), which is
 * treated as insecure unless TLS verification is demanded, as Docker does. */
bool img_registry_is_loopback(const char *registry);
