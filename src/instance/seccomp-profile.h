/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* seccomp-profile.h: hull's default seccomp allowlist for application containers */
#pragma once

#include <jansson.h>
#include <stdint.h>

/*
 * The default linux.seccomp object (OCI runtime-spec form) for a container granted the capabilities
 * in caps (bit n = capability n): everything not listed fails with EPERM; the syscalls a capability
 * unlocks (mount with CAP_SYS_ADMIN, ptrace with CAP_SYS_PTRACE, ...) are allowed only with it;
 * clone may not make namespaces, and clone3 fails with ENOSYS, unless CAP_SYS_ADMIN is granted.
 * Returns a new reference; never fails.
 */
json_t *inst_seccomp_profile(uint64_t caps);
