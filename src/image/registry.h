/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* registry.h: the OCI distribution client: pull into and push from the blob store, over libcurl */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include "common/error.h"
#include "manifest.h"
#include "reference.h"
#include "store.h"

typedef enum ImgTlsVerify {
        /* Verify certificates, except for an insecure registry (listed in insecure_registries, or
         * a loopback address as Docker has it): that one gets HTTPS without verification, then
         * plain HTTP when TLS cannot be had. The zero value, so a zeroed options struct is safe. */
        IMG_TLS_VERIFY_DEFAULT,
        IMG_TLS_VERIFY_YES, /* always HTTPS with verification, loopback included */
        IMG_TLS_VERIFY_NO,  /* never verify; every registry is treated as insecure */
} ImgTlsVerify;

/*
 * How to reach and authenticate to a registry. All fields are borrowed; zeroed means defaults.
 * Authentication follows the registry's 401: basic with the credentials; bearer with a token that
 * the challenge's realm gives for them (or anonymously), cached per scope for the operation and
 * fetched again once when refused; without credentials, anonymous.
 */
typedef struct ImgRegistryOptions {
        ImgTlsVerify tls_verify;
        char *const *insecure_registries; /* "host:port" or "host" entries, from the registries setting */
        const char *ca_file;              /* PEM certificates to trust instead of the system's, or NULL */
        const char *auth_file;            /* credentials file (see auth.h), or NULL: anonymous */
        const char *username;             /* when set, used instead of auth_file (with password) */
        const char *password;
} ImgRegistryOptions;

/*
 * Progress of one blob transfer: index is the layer's position in the manifest (pull) or the
 * blob's position in the upload order (push, layers then config). Called from the transfer loop
 * in the calling thread, never from another; a layer already present is reported once with
 * done == total.
 */
typedef void (*ImgProgressFn)(void *userdata, size_t index, uint64_t done, uint64_t total);

typedef struct ImgPullOptions {
        ImgRegistryOptions remote;
        const char *platform;  /* "os/arch[/variant]" to choose from an index; "linux/amd64" when NULL */
        unsigned max_parallel; /* layer downloads at once; 6 when 0 */
        ImgProgressFn progress;
        void *userdata;
} ImgPullOptions;

typedef struct ImgPullResult {
        char *digest;          /* what a user pins: the index's digest if there was one, else the manifest's */
        char *media_type;      /* of that top-level document */
        char *manifest_digest; /* the image manifest chosen for the platform */
        ImgManifest *manifest;
        ImgConfig *config;
        /* Config and layer blobs (manifests are not counted: a tag's is fetched every time). */
        uint64_t bytes_fetched, bytes_skipped;
        size_t blobs_fetched, blobs_skipped;
} ImgPullResult;

/* Frees what a result holds; the struct itself is the caller's. */
void img_pull_result_done(ImgPullResult *r);

/*
 * Pulls ref into store. The manifest is fetched by digest or tag; its digest is always computed
 * (the Docker-Content-Digest header is not trusted) and must equal ref->digest when there is one.
 * From an index the manifest for o->platform is chosen and fetched. Every index, manifest and the
 * config are stored as blobs, then the layers missing from the store are downloaded, up to
 * o->max_parallel at once, straight into the store and verified as they arrive; blobs already
 * present are not fetched. On failure no partial blob remains (complete, verified ones may).
 * Errors: EACCES (401/403), ENOENT (unknown name, tag or blob), ECONNREFUSED / EHOSTUNREACH /
 * ETIMEDOUT, EPROTO (TLS or protocol), EBADMSG (digest or size mismatch, bad document), EIO (429,
 * 5xx), each naming the reference and what was being fetched. Blocks; o may be NULL.
 */
int img_registry_pull(ImgStore *store, const ImgReference *ref, const ImgPullOptions *o, ImgPullResult *ret,
                      Error **err);

typedef struct ImgPushOptions {
        ImgRegistryOptions remote;
        char *const *mount_from; /* repositories on the same registry that hold the blobs, tried in order */
        ImgProgressFn progress;
        void *userdata;
} ImgPushOptions;

typedef struct ImgPushResult {
        uint64_t bytes_uploaded, bytes_skipped, bytes_mounted;
        size_t blobs_uploaded, blobs_skipped, blobs_mounted;
} ImgPushResult;

/*
 * Pushes the image whose manifest (or index: then every manifest it lists, which must all be in
 * the store) has manifest_digest to ref, tagged ref->tag (by digest when ref has none). Each blob,
 * layers then config, is checked with HEAD (present: skipped), else mounted from a repository in
 * o->mount_from, else uploaded (POST, then one PUT with the digest); the manifest is PUT last with
 * its media type. *ret (optional) counts what happened. Errors as for pull. Blocks; o may be NULL.
 */
int img_registry_push(ImgStore *store, const ImgReference *ref, const char *manifest_digest,
                      const ImgPushOptions *o, ImgPushResult *ret, Error **err);

/*
 * Checks credentials against a registry: GET /v2/ with them (basic), or a token for them from the
 * registry's token service (bearer), must not be refused. EACCES when refused; a registry that
 * asks for no authentication accepts anything. o's username/password/auth_file are not used.
 */
int img_registry_check_login(const char *registry, const char *user, const char *password,
                             const ImgRegistryOptions *o, Error **err);
