/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* qmp.h: the QEMU Machine Protocol over a unix socket: commands, replies, events, passing fds */
#pragma once

#include <jansson.h>
#include "common/error.h"

typedef struct VmQmp VmQmp;

/* Connects (retrying while the socket is missing or refuses, up to timeout_ms), reads the greeting
 * and leaves capabilities negotiation mode. */
int vm_qmp_connect(const char *socket_path, int timeout_ms, VmQmp **ret, Error **err);
/* The same over fd, an already connected stream socket, which *ret owns on success (the caller keeps it
 * on failure): for a socket QEMU inherited, and for tests and fuzzing with a peer over a socketpair. */
int vm_qmp_open_fd(int fd, int timeout_ms, VmQmp **ret, Error **err);
VmQmp *vm_qmp_free(VmQmp *q);
DEFINE_CLEANUP_FUNC(VmQmp *, vm_qmp_free)

/*
 * Runs command with args (a JSON object, stolen; NULL: none) and waits up to timeout_ms for its reply.
 * *ret (may be NULL) gets the "return" value. An "error" reply is EIO with QEMU's "desc" as the message;
 * a closed connection EPIPE; no reply in time ETIMEDOUT. Events read meanwhile are kept for
 * vm_qmp_wait_event().
 */
int vm_qmp_execute(VmQmp *q, const char *command, json_t *args, int timeout_ms, json_t **ret, Error **err);

/* Passes fd to QEMU under name (the getfd command with SCM_RIGHTS), for "fd:NAME" URIs. */
int vm_qmp_send_fd(VmQmp *q, const char *name, int fd, Error **err);

/* Waits up to timeout_ms for an event called name (one kept from earlier counts); *ret (may be NULL)
 * gets the whole event object. ETIMEDOUT, EPIPE. */
int vm_qmp_wait_event(VmQmp *q, const char *name, int timeout_ms, json_t **ret, Error **err);

/* Polls query-migrate every few milliseconds until the migration completed (0, *ret its last reply) or
 * failed or was cancelled (EIO, with QEMU's error-desc), for up to timeout_ms (ETIMEDOUT). */
int vm_qmp_migrate_wait(VmQmp *q, int timeout_ms, json_t **ret, Error **err);
