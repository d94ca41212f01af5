/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* images.h: images as hull keeps them: blobs in the store, layers unpacked once, records in the database */
#pragma once

#include <jansson.h>
#include "common/error.h"
#include "db.h"
#include "instance.h"

/*
 * Makes an image whose manifest (and every blob it names) is in the store usable: unpacks the layers
 * not yet unpacked (several at once), then records the layers, the image and, when name is given,
 * the name in one transaction. top_digest is what a user pins (an index's digest; NULL: the
 * manifest's). *ret (optional) gets the record.
 */
int inst_image_install(InstContext *c, const char *top_digest, const char *manifest_digest, const char *name,
                       InstImage **ret, Error **err);

/* Finds an image by what a user typed: a name as stored, a reference that normalises to one
 * ("busybox" is docker.io/library/busybox:latest), an id or id prefix, or a digest. */
int inst_image_find(InstContext *c, const char *key, InstImage **ret, Error **err);

/* The canonical name of a reference ("docker.io/library/busybox:latest"), EINVAL for a bad one. */
int inst_image_canonical_name(const char *ref, char **ret, Error **err);

/* rmi: a name that is one of several only loses that name; else the image goes, with the layers and
 * blobs no other image uses. EBUSY while an instance uses it. *ret_untagged tells which happened. */
int inst_image_remove(InstContext *c, const char *key, bool *ret_untagged, Error **err);

/* tag: gives the image found by src the name dst. */
int inst_image_tag(InstContext *c, const char *src, const char *dst, Error **err);

/* prune: removes images without a name that no instance uses, then every blob, layer directory and
 * unfinished temporary file no record names. Returns the number of images removed. */
int inst_image_prune(InstContext *c, Error **err);

/* The inspect document of an image: its record, manifest and config. */
int inst_image_inspect(InstContext *c, const InstImage *img, json_t **ret, Error **err);

/*
 * The store lock ($root/store.lock, flock): held by every command that writes blobs or layers
 * (pull, import, build) or removes them, so that what no record names is garbage. Nested calls
 * in one process count; blocks while another hull holds it.
 */
int inst_store_lock(InstContext *c, Error **err);
void inst_store_unlock(InstContext *c);

/* Removes every blob and layer directory no record (image or build cache) names; takes the lock. */
int inst_image_collect(InstContext *c, Error **err);

typedef struct ImgManifest ImgManifest;
typedef struct ImgConfig ImgConfig;

/* Reads and parses an image manifest and its config from the store, checked against each other. */
int inst_image_load(InstContext *c, const char *manifest_digest, ImgManifest **ret_m, ImgConfig **ret_c,
                    Error **err);

/* Reads a blob of the store whole (at most max bytes). */
int inst_read_blob(InstContext *c, const char *digest, size_t max, char **ret, size_t *ret_len, Error **err);

typedef void (*InstProgressFn)(void *userdata, size_t index, uint64_t done, uint64_t total);

/* How to reach registries: --tls-verify, --platform, progress, and $root/registries.json
 * ({"insecure": ["host:port", ...]}: registries spoken to without TLS verification, or plain HTTP). */
typedef struct InstRemoteOptions {
        int tls_verify;          /* -1: default, 0: no, 1: yes */
        const char *platform;    /* pull: "os/arch[/variant]" */
        const char *username;    /* --creds, instead of the stored login */
        const char *password;
        InstProgressFn progress; /* called per layer, from the transfer loop */
        void *userdata;
} InstRemoteOptions;

/* pull: fetches ref (every blob verified, the ones already stored skipped), unpacks and records it
 * under its canonical name. *ret (optional) gets the image. */
int inst_image_pull(InstContext *c, const char *ref, const InstRemoteOptions *o, InstImage **ret, Error **err);

/* push: sends the image found by src to the reference dst (default: src's name), mounting blobs
 * from other repositories of the same registry that hold them. *ret_digest: the manifest digest. */
int inst_image_push(InstContext *c, const char *src, const char *dst, const InstRemoteOptions *o,
                    char **ret_digest, Error **err);

/* login/logout: credentials for a registry, checked against it first, in $root/auth.json (mode 0600). */
int inst_registry_login(InstContext *c, const char *registry, const char *user, const char *password,
                        const InstRemoteOptions *o, Error **err);
int inst_registry_logout(InstContext *c, const char *registry, Error **err);

/* import: the images of an OCI layout directory, oci-archive or docker-archive tar (see
 * image/archives.h), verified, unpacked and recorded; name (optional) names the first, else the
 * name the archive gives (a full reference; a bare tag is not enough). *ret_ids gets their ids. */
int inst_image_import(InstContext *c, const char *path, const char *name, char ***ret_ids, Error **err);

/* export: the image found by key written to path as format ("oci-dir", "oci-archive", "docker-archive"). */
int inst_image_export(InstContext *c, const char *key, const char *format, const char *path, Error **err);
