/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* sealed.h: re-running the runtime from a sealed in-memory copy of its binary (CVE-2019-5736) */
#pragma once

#include "common/error.h"
#include "spec.h"

/* Capability numbers, without pulling libcap's header into every user of this one. */
#define CAP_SYS_PTRACE_BIT 19
#define CAP_SYS_ADMIN_BIT 21

/* True when a process of this container could open the runtime's binary through /proc
 * despite PR_SET_DUMPABLE (no user namespace of its own and CAP_SYS_PTRACE within reach), and
 * is not already the host's root in all but name (CAP_SYS_ADMIN there, no seccomp filter). */
bool rt_sealed_needed(const RtSpec *s, const RtProcess *p);

/*
 * Re-executes the current command from a sealed memfd copy of the binary, unless this
 * process already is that copy: afterwards /proc/PID/exe of every process we make names the
 * copy, which cannot be written. Returns only on failure (or when already sealed, with 0).
 */
int rt_sealed_reexec(Error **err);
