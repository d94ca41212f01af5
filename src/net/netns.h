/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* netns.h: network namespaces that outlive their processes, pinned by a bind mount on a file */
#pragma once

#include <stdbool.h>

typedef struct Error Error;

/*
 * Makes a new network namespace, brings its lo up, and pins it by bind-mounting it on path (an
 * empty file made here, mode 0444; its directory must exist). The caller's own namespace is never
 * changed (the work is done by a short-lived thread). -EEXIST when path exists. On failure nothing
 * is left: no file, no mount.
 */
int net_netns_create(const char *path, Error **err);

/* Unmounts path (lazily) and removes it. The namespace, and every link in it, goes when its last
 * process leaves. A missing path is not an error. */
int net_netns_remove(const char *path, Error **err);

/* True when path is a pinned network namespace (a mount of an nsfs file). */
bool net_netns_is_pinned(const char *path);
