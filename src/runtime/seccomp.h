/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* seccomp.h: linux.seccomp compiled through libseccomp, loaded by the container process */
#pragma once

#include <jansson.h>
#include "common/error.h"

typedef struct RtSeccomp RtSeccomp;

/*
 * Validates linux.seccomp (NULL json: *ret = NULL, returns 0) and builds the filter without loading
 * it, so that every error is reported before any process is made. `where` prefixes field names
 * ("linux.seccomp.syscalls[3].action: unknown action 'SCMP_ACT_FOO'"). With cache_fd (a directory,
 * or -1 for none) the compiled program is kept there under a digest of the profile, and a profile
 * found there is not compiled again (profiles with SCMP_ACT_NOTIFY are not cached).
 */
int rt_seccomp_prepare(const json_t *json, const char *where, int cache_fd, RtSeccomp **ret, Error **err);

/*
 * Loads the filter into the calling process (the container's process, after fork, just before
 * execve, or earlier when a listener needs the fd). When the profile has SCMP_ACT_NOTIFY rules
 * *ret_notify_fd gets the listener fd (O_CLOEXEC), else -EBADF.
 */
int rt_seccomp_load(RtSeccomp *s, int *ret_notify_fd, Error **err);

/* linux.seccomp.listenerPath, or NULL. */
const char *rt_seccomp_listener_path(const RtSeccomp *s);

/*
 * Connects to the listener's unix socket and sends the runtime-spec "containerProcessState"
 * JSON (ociVersion, fds ["seccompFd"], pid, metadata = listenerMetadata, state = state_json)
 * with notify_fd attached (SCM_RIGHTS).
 */
int rt_seccomp_send_listener(const RtSeccomp *s, int notify_fd, const char *state_json, Error **err);

/* The "linux.seccomp" part of `features`: actions, operators, archs, flags, enabled. */
json_t *rt_seccomp_features(void);

RtSeccomp *rt_seccomp_free(RtSeccomp *s);
DEFINE_CLEANUP_FUNC(RtSeccomp *, rt_seccomp_free)
