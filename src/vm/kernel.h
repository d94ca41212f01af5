/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* kernel.h: the guest kernel, and the initramfs hull builds for it (hull-agent and the virtio modules) */
#pragma once

#include "common/error.h"

typedef struct VmKernel {
        char *path;        /* the bzImage */
        char *release;     /* "6.1.0-56-cloud-amd64", read from the bzImage's header */
        char *modules_dir; /* /lib/modules/<release>, or NULL when there is none */
} VmKernel;

void vm_kernel_done(VmKernel *k);

/* path NULL: the newest /boot/vmlinuz-*-cloud-amd64, else the newest /boot/vmlinuz-*. ENOENT with a hint
 * ("install linux-image-cloud-amd64 or pass --kernel") when there is none. A given path must be a bzImage
 * (EINVAL otherwise). */
int vm_kernel_find(const char *path, VmKernel *ret, Error **err);

/*
 * The initramfs for kernel k holding agent (a static hull-agent) as /init and the modules hull needs
 * from k->modules_dir (virtio transport, virtio_blk, virtio_net, virtio_console and their dependencies,
 * by modules.dep; built-in ones are skipped). Built once into cache_dir, named by the kernel's release
 * and a digest of the agent and module files, and found there afterwards; made atomically, so
 * concurrent callers are safe. *ret_path is malloc'd.
 */
int vm_initramfs_get(const VmKernel *k, const char *agent, const char *cache_dir, char **ret_path, Error **err);
