/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* archives.h: images in and out of files: OCI layout directories, oci-archive and docker-archive tars */
#pragma once

#include "common/error.h"
#include "store.h"

typedef enum ImgArchiveFormat {
        IMG_ARCHIVE_AUTO,       /* import: a directory is an OCI layout, a tar is looked into */
        IMG_ARCHIVE_OCI_DIR,    /* an OCI image layout directory */
        IMG_ARCHIVE_OCI_TAR,    /* that layout in a tar ("oci-archive") */
        IMG_ARCHIVE_DOCKER_TAR, /* what `docker save` writes: manifest.json, <config>.json, <id>/layer.tar */
} ImgArchiveFormat;

/* "oci-dir" (or "oci"), "oci-archive", "docker-archive"; EINVAL names anything else. */
int img_archive_format_parse(const char *s, ImgArchiveFormat *ret, Error **err);

/* An image found in an archive: its manifest (now in the store) and the name it was saved under. */
typedef struct ImgArchiveImage {
        char *manifest_digest;
        char *name; /* a full reference when the archive gives one ("busybox:latest"), a bare tag, or NULL */
} ImgArchiveImage;

void img_archive_images_free(ImgArchiveImage *v, size_t n);

/*
 * Reads the images of an archive at path into the store, every blob verified against its digest
 * (a docker-archive's config against its file name; its layers later, by their diff_ids). From an
 * index, the manifest for platform ("linux/amd64" when NULL) is chosen. Blobs already stored are
 * not written again. On failure the store holds only complete, verified blobs. Blocks on I/O.
 */
int img_archive_import(ImgStore *store, const char *path, const char *platform, ImgArchiveImage **ret,
                       size_t *ret_n, Error **err);

/*
 * Writes the image whose manifest is manifest_digest to path in format (not AUTO): a directory
 * for OCI_DIR (created; must not exist or be empty), a tar file otherwise ("-": stdout). name
 * ("registry/repo:tag", or NULL) goes into the index annotations or RepoTags. Layers of a
 * docker-archive are written uncompressed, as docker save does. A failed export removes what it
 * wrote.
 */
int img_archive_export(ImgStore *store, const char *manifest_digest, const char *name, ImgArchiveFormat format,
                       const char *path, Error **err);
