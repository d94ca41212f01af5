/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* bundle.h: the OCI config.json of an application container, from its image and `hull run` options */
#pragma once

#include <jansson.h>
#include <stdint.h>
#include <sys/types.h>
#include "common/error.h"

typedef struct InstBind {
        char *source;      /* host path, absolute */
        char *destination; /* path in the container, absolute, not "/" */
        bool is_readonly;
} InstBind;

typedef struct InstRunSpec {
        const char *id;       /* the container's id: the hostname defaults to its first 12 characters */
        char **cmd;           /* replaces the image's Cmd when non-empty (docker semantics) */
        char **entrypoint;    /* --entrypoint: replaces the image's Entrypoint and drops its Cmd;
                               * an empty vector or { "" } means none */
        char **env;           /* -e K=V overrides the image's Env; -e K takes K from hull's environment */
        InstBind *binds;      /* -v SRC:DST[:ro]: SRC must be an absolute, existing path */
        size_t n_binds;
        InstBind *files;      /* bind mounts hull adds itself (/etc/hosts, /etc/resolv.conf), after binds */
        size_t n_files;
        const char *user;     /* --user name|uid[:group|gid]; NULL: the image's User; default root */
        const char *workdir;  /* --workdir, absolute; NULL: the image's WorkingDir; default "/" */
        const char *hostname; /* NULL: the short id */
        bool is_read_only, is_tty, is_host_network, is_privileged;
        bool is_system;       /* a system container's init: container=hull in env, its cgroup subtree
                               * delegated read-write, tmpfs on /run and /run/lock */
        bool is_cgroup_v1;    /* with is_system: the host has no cgroup2 tree (its v1 hierarchies go rw) */
        int64_t memory;       /* bytes, 0 = unlimited; memory+swap is set equal, so no swap */
        double cpus;          /* 0 = unlimited; else a quota of cpus * 100000 per 100000 us period */
        int64_t pids_limit;   /* 0 or negative = unlimited */
        char **cap_add;       /* names with or without CAP_, any case; "ALL" */
        char **cap_drop;
        const char *cgroups_path; /* NULL: the runtime's default */
        const char *netns_path;   /* a network namespace to join (made by hull's network layer);
                                   * NULL: a new one (unless is_host_network) */
        const char *procfs_dir;   /* system containers: DIR/meminfo, cpuinfo, stat, uptime are bound
                                   * read-only over /proc's (after its mount); NULL: none */
        const char *cpuset;       /* linux.resources.cpu.cpus ("0,1"); NULL: all CPUs */
        uint32_t uid_base, gid_base; /* with id_count > 0: a user namespace of its own, mapping ids
                                      * 0..id_count-1 to these host ids */
        uint32_t id_count;
} InstRunSpec;

/*
 * Builds the config.json document for a container whose root filesystem is the directory rootfs.
 * rootfs_fd is the same directory (or -EBADF to have it opened here): --user names are looked up in
 * its /etc/passwd and /etc/group, resolved inside it so symlinks cannot lead out. image_config is the
 * OCI image config document ({"config": {"Entrypoint", "Cmd", "Env", "User", "WorkingDir"}}), NULL
 * for a scratch image. *ret gets a new reference. Errors: EINVAL for bad options ("--user 'nobody2':
 * no such user in the image"), "no command: the image has no Entrypoint or Cmd and none was given";
 * EBADMSG for an image config of the wrong shape. Reads files only; no process is made.
 */
int inst_bundle_config(const json_t *image_config, const InstRunSpec *spec, const char *rootfs, int rootfs_fd,
                       json_t **ret, Error **err);

/* What --user resolved to. */
typedef struct InstUser {
        uint32_t uid;
        uint32_t gid;
        uint32_t *additional_gids; /* groups of /etc/group that list the user, unless a group was given */
        size_t n_additional_gids;
        char *home;                /* the passwd entry's home directory, or NULL without an entry */
} InstUser;

/*
 * Resolves a --user value ("name|uid[:group|gid]", "" for root) against the text of /etc/passwd and
 * /etc/group (either NULL when the image has no such file). A number not in the file is used as is
 * (the group then defaults to 0); a name not in it is -EINVAL. Ids range over 0..2^31-1. On success
 * *ret is filled and must be released with inst_user_done(); on failure it is left zeroed.
 */
int inst_user_resolve(const char *user, const char *passwd, const char *group, InstUser *ret, Error **err);

/* Like inst_user_resolve(), reading /etc/passwd and /etc/group below rootfs_fd (regular files of at
 * most 4 MiB, every symlink resolved inside rootfs_fd; a missing file is as if empty). */
int inst_user_resolve_in_root(const char *user, int rootfs_fd, InstUser *ret, Error **err);

void inst_user_done(InstUser *u);
