/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* build.h: hull build: an image from a Containerfile, its steps run in hull containers */
#pragma once

#include "common/error.h"
#include "db.h"
#include "instance.h"

typedef struct InstBuildOptions {
        const char *context;  /* the build context directory */
        const char *file;     /* NULL: context/Containerfile, else context/Dockerfile */
        const char *tag;      /* the name the image gets, or NULL */
        char **build_args;    /* --build-arg K=V */
        bool no_cache;
        bool is_quiet;        /* no step lines on stderr */
        int tls_verify;       /* for FROM images pulled on the way: -1 default, 0, 1 */
} InstBuildOptions;

/*
 * Builds the image: FROM (an image, pulled when missing, an earlier stage, or scratch), RUN in a
 * hull container whose changes become a layer, COPY/ADD of context files into a layer, and the
 * config-only instructions. A RUN whose parent chain and text were seen before reuses its layer
 * (unless no_cache). The result is an ordinary OCI image, recorded under tag. Runs containers;
 * blocks until the build ends. *ret (optional) gets the image.
 */
int inst_build(InstContext *c, const InstBuildOptions *o, InstImage **ret, Error **err);
