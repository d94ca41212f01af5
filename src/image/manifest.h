/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* manifest.h: OCI and Docker schema 2 image indexes, manifests and configs: parsed, checked and built */
#pragma once

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include "common/error.h"

#define IMG_MEDIA_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define IMG_MEDIA_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define IMG_MEDIA_OCI_CONFIG "application/vnd.oci.image.config.v1+json"
#define IMG_MEDIA_OCI_LAYER "application/vnd.oci.image.layer.v1.tar"
#define IMG_MEDIA_OCI_LAYER_GZIP "application/vnd.oci.image.layer.v1.tar+gzip"
#define IMG_MEDIA_OCI_LAYER_ZSTD "application/vnd.oci.image.layer.v1.tar+zstd"
#define IMG_MEDIA_DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define IMG_MEDIA_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define IMG_MEDIA_DOCKER_CONFIG "application/vnd.docker.container.image.v1+json"
#define IMG_MEDIA_DOCKER_LAYER "application/vnd.docker.image.rootfs.diff.tar.gzip"
#define IMG_MEDIA_DOCKER_FOREIGN_LAYER "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"
/* What a registry is asked for: every kind of index and manifest this module reads. */
#define IMG_MANIFEST_ACCEPT                                                                              \
        IMG_MEDIA_OCI_INDEX ", " IMG_MEDIA_OCI_MANIFEST ", " IMG_MEDIA_DOCKER_LIST ", " IMG_MEDIA_DOCKER_MANIFEST

/* The largest index or manifest accepted, as the distribution registry caps them. */
#define IMG_MANIFEST_MAX (4u * 1024 * 1024)
/* The largest image config read whole (its history can be long, never this long). */
#define IMG_CONFIG_MAX (64u * 1024 * 1024)

typedef struct ImgPlatform {
        char *os;           /* "linux" */
        char *architecture; /* "amd64" */
        char *variant;      /* "v8", or NULL */
} ImgPlatform;

typedef struct ImgDescriptor {
        char *media_type;
        char *digest; /* "sha256:...", checked */
        int64_t size; /* >= 0 */
        bool has_platform;
        ImgPlatform platform; /* when has_platform */
        json_t *annotations;  /* an object of strings (a reference is owned), or NULL */
} ImgDescriptor;

/* An OCI image index or a Docker manifest list. */
typedef struct ImgIndex {
        char *media_type; /* as the document says; NULL when it says nothing (OCI allows that) */
        ImgDescriptor *manifests;
        size_t n_manifests;
        json_t *json; /* the parsed document, kept so that unknown fields survive a rebuild */
} ImgIndex;

/* An OCI image manifest or a Docker schema 2 manifest. */
typedef struct ImgManifest {
        char *media_type; /* as the document says; NULL when it says nothing */
        ImgDescriptor config;
        ImgDescriptor *layers;
        size_t n_layers;
        json_t *json;
} ImgManifest;

typedef struct ImgHistory {
        char *created; /* RFC 3339, or NULL; likewise the others */
        char *created_by;
        char *author;
        char *comment;
        bool empty_layer;
} ImgHistory;

/* An image config. NULL strings and strvs mean "absent". */
typedef struct ImgConfig {
        ImgPlatform platform; /* os, architecture (both required), variant */
        char *created;
        char *author;
        char **env;           /* config.Env */
        char **entrypoint;    /* config.Entrypoint */
        char **cmd;           /* config.Cmd */
        char *working_dir;    /* config.WorkingDir */
        char *user;           /* config.User */
        char *stop_signal;    /* config.StopSignal */
        char **exposed_ports; /* the keys of config.ExposedPorts: "80/tcp" */
        char **labels;        /* config.Labels as "key=value" */
        char **diff_ids;      /* rootfs.diff_ids, each a checked digest */
        ImgHistory *history;
        size_t n_history;
        json_t *json;
} ImgConfig;

/* Layer compression; gzip is the zero value, the default of every layer writer. */
typedef enum ImgCompression {
        IMG_COMPRESSION_GZIP,
        IMG_COMPRESSION_ZSTD,
        IMG_COMPRESSION_NONE,
} ImgCompression;

bool img_media_type_is_index(const char *media_type);
bool img_media_type_is_manifest(const char *media_type);
/* The compression of a layer media type (OCI tar, +gzip, +zstd, their nondistributable forms, and
 * Docker's rootfs diffs), or -EOPNOTSUPP naming a type that is not a layer. */
int img_layer_compression(const char *media_type, Error **err);

/*
 * What a fetched document is: its mediaType field when it has one (which must then agree with a
 * content_type that names an index or manifest), else content_type (the HTTP Content-Type, may be
 * NULL), else guessed from its shape ("manifests" → OCI index, "layers" → OCI manifest). Returns
 * IMG_MEDIA_* (static); EBADMSG for something that is none of them, EOPNOTSUPP for schema 1.
 */
int img_document_media_type(const char *buf, size_t len, const char *content_type, const char **ret,
                            Error **err);

/*
 * The parsers take untrusted bytes (len bounds them, NULs allowed) and check every field they
 * expose; a malformed document gives EBADMSG with the field named ("manifest: layers[1].digest:
 * ..."). *ret is owned by the caller.
 */
int img_index_parse(const char *buf, size_t len, ImgIndex **ret, Error **err);
int img_manifest_parse(const char *buf, size_t len, ImgManifest **ret, Error **err);
int img_config_parse(const char *buf, size_t len, ImgConfig **ret, Error **err);

ImgIndex *img_index_free(ImgIndex *i);
ImgManifest *img_manifest_free(ImgManifest *m);
ImgConfig *img_config_free(ImgConfig *c);
DEFINE_CLEANUP_FUNC(ImgIndex *, img_index_free)
DEFINE_CLEANUP_FUNC(ImgManifest *, img_manifest_free)
DEFINE_CLEANUP_FUNC(ImgConfig *, img_config_free)

/* Frees what a descriptor or platform holds (not the struct itself); copies one deeply. */
void img_descriptor_done(ImgDescriptor *d);
void img_descriptor_copy(const ImgDescriptor *src, ImgDescriptor *dst);
void img_platform_done(ImgPlatform *p);

/* Parses "os/architecture[/variant]" into *ret (EINVAL naming s); the strings are owned by *ret. */
int img_platform_parse(const char *s, ImgPlatform *ret, Error **err);
/* "os/architecture[/variant]", malloc'd. */
char *img_platform_to_string(const ImgPlatform *p);

/*
 * Chooses the manifest for platform ("linux/amd64", "linux/arm64/v8") from an index. os and
 * architecture must match ("x86_64" and "aarch64" are read as amd64 and arm64); a requested variant
 * must match too, where arm64's absent variant counts as "v8"; without one the first os/architecture
 * match wins. *ret points into index. ENOENT lists the platforms the index has.
 */
int img_index_select(const ImgIndex *index, const char *platform, const ImgDescriptor **ret, Error **err);

/* The caller's check once both are known: as many layers as rootfs.diff_ids (EBADMSG otherwise). */
int img_manifest_check_config(const ImgManifest *m, const ImgConfig *c, Error **err);

/*
 * Builders, for images made here (build, import) and rewritten ones: *ret gets a new JSON
 * document holding every typed field of the struct (absent ones removed), on top of a copy of the
 * parsed json when there is one, so fields this module does not know survive a round trip. A
 * NULL media_type in an index or manifest writes the OCI one. Serialise with json_dump_compact()
 * and store those exact bytes: their digest is the image's. EINVAL names a
 * string that is not valid UTF-8.
 */
int img_index_to_json(const ImgIndex *i, json_t **ret, Error **err);
int img_manifest_to_json(const ImgManifest *m, json_t **ret, Error **err);
int img_config_to_json(const ImgConfig *c, json_t **ret, Error **err);
/* One descriptor; NULL if a string in it is not valid UTF-8. */
json_t *img_descriptor_to_json(const ImgDescriptor *d);
