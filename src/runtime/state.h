/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* state.h: a container's record under the runtime root, and the status derived from it */
#pragma once

#include <jansson.h>
#include <stdint.h>
#include <sys/types.h>
#include "common/error.h"

typedef enum RtStatus {
        RT_STATUS_CREATING,
        RT_STATUS_CREATED,
        RT_STATUS_RUNNING,
        RT_STATUS_PAUSED,
        RT_STATUS_STOPPED,
} RtStatus;

const char *rt_status_name(RtStatus s);

/* What `create` records in $root/<id>/state.json; config.json is copied beside it. */
typedef struct RtState {
        char *id;
        char *bundle;
        char *rootfs;
        pid_t pid;
        uint64_t pid_start_time;
        char *created; /* RFC 3339, UTC, nanoseconds */
        uid_t owner;
        json_t *annotations;
        json_t *cgroup; /* rt_cgroup_to_json() */
        bool is_systemd_cgroup;
        uint32_t hook_kinds;          /* bit 1 << RtHookKind for each kind of hook config.json has
                                       * (all bits when the record predates the field) */
        pid_t creator_pid;            /* while "creating": the runtime process doing it */
        uint64_t creator_start_time;
        int dir_fd; /* $root/<id>, O_DIRECTORY */
} RtState;

/* Container ids: letters, digits, '_', '+', '-', '.', not "." or ".."; at most 1024 bytes. */
int rt_id_check(const char *id, Error **err);

/* Opens (and creates, mode 0700) the runtime root directory. */
int rt_root_open(const char *root, int *ret_fd, Error **err);

/* Loads $root/<id>; ENOENT with "container 'id' does not exist". */
int rt_state_load(int root_fd, const char *id, RtState **ret, Error **err);
int rt_state_save(const RtState *st, Error **err);
RtState *rt_state_free(RtState *st);
DEFINE_CLEANUP_FUNC(RtState *, rt_state_free)

/* The live status: creating while the runtime that creates it still works on it (no pid yet),
 * stopped when the container process is gone (or its pid reused, or the creator died), created
 * while the exec fifo is still there, paused when frozen, else running. */
RtStatus rt_state_status(RtState *st);

/* The OCI state document: ociVersion, id, status, pid, bundle, annotations (+ rootfs, created, owner). */
json_t *rt_state_oci_json(const RtState *st, RtStatus status);

/* "2026-01-02T03:04:05.123456789Z" for now, malloc'd. */
char *rt_now_rfc3339(void);
