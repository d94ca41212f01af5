/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* internal.h: what the files of src/instance share among themselves */
#pragma once

#include <jansson.h>
#include "common/error.h"

/* Instance names: docker's rule, [a-zA-Z0-9][a-zA-Z0-9_.-]*, at most 128 characters. */
int inst_check_name(const char *name, Error **err);

typedef struct InstContext InstContext;
typedef struct InstRunSpec InstRunSpec;

/* inst_bundle_config(), written to path (mode 0600, atomically). */
int inst_write_bundle_config(const json_t *image_config, const InstRunSpec *spec, const char *rootfs,
                             int rootfs_fd, const char *path, Error **err);

/* Opens $root/layers (made when missing). */
int inst_layers_open(InstContext *c, int *ret_fd, Error **err);

/* bytes (at most 32) of getrandom(2) as lowercase hex, malloc'd: instance ids, build containers. */
char *inst_random_hex(size_t bytes);
