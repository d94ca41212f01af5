/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* internal.h: what container.c and exec.c share and nothing outside the runtime uses */
#pragma once

#include <signal.h>
#include <stdint.h>
#include <sys/types.h>
#include "common/error.h"
#include "container.h"
#include "spec.h"
#include "state.h"

/*
 * clone3 for the runtime's children: with CLONE_INTO_CGROUP when cgroup_fd >= 0 (retried
 * without it if the kernel refuses; *ret_is_in_cgroup says which, and is set before the child
 * exists so it can read it), a pidfd when ret_pidfd is given, and the exit-signal rule of
 * CLONE_PARENT. Returns like fork().
 */
pid_t rt_clone(uint64_t flags, int cgroup_fd, int *ret_pidfd, bool *ret_is_in_cgroup);

/*
 * A child that shares our memory (CLONE_VM) and runs fn(arg), which must exec or _exit and never
 * return, while we wait (CLONE_VFORK): no copy of our page tables for it to make and drop, nor
 * copy-on-write faults for either side after. Into cgroup_fd's cgroup as rt_clone() does. fn must
 * leave our state as it found it (work on copies), must not wait for us (we sleep until it execs),
 * and runs with our signal handlers, so signals must be blocked. Returns the child's pid, or -1
 * with errno (EOPNOTSUPP where it is not built, off x86_64 and under AddressSanitizer:
 * use rt_clone()).
 */
pid_t rt_clone_vfork(int cgroup_fd, bool *ret_is_in_cgroup, void (*fn)(void *), void *arg);

/*
 * The end of an intermediate process (one that joined namespaces our own children must be
 * in): with r < 0 reports err over sync_fd; else clones child(arg), which must not return, as
 * our parent's child (CLONE_PARENT) and reports its pid. Never returns.
 */
_noreturn_ void rt_stage_finish(int sync_fd, int r, Error *err, uint64_t flags, int cgroup_fd,
                                bool *ret_is_in_cgroup, void (*child)(void *), void *arg);

/* Blocks every signal a foreground runtime forwards (all but the synchronous faults). */
void rt_block_signals(sigset_t *ret_mask, sigset_t *ret_old);

/* Forwards the signals in mask to the process, relays its terminal (pty_master, or -EBADF), waits
 * for it and returns its status (128+N for a signal). */
int rt_foreground_wait(pid_t pid, int pidfd, int pty_master, const sigset_t *mask, int *ret_status, Error **err);

/* Runs spec's hooks of kind (poststart, poststop) with st's state as status; as the spec asks,
 * their failures are logged and do not fail the operation. */
void rt_run_hooks_logged(const RtSpec *spec, RtHookKind kind, RtState *st, RtStatus status);

/* The directory of compiled seccomp programs under the runtime root (made when missing), or -errno:
 * then nothing is cached. */
int rt_seccomp_cache_open(RtContext *ctx);
