/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* init.h: the container's first process before it becomes the user's program, and its talk with the runtime */
#pragma once

#include <stdint.h>
#include "cgroup.h"
#include "common/error.h"
#include "seccomp.h"
#include "spec.h"

/* Messages over the SOCK_SEQPACKET pair between the runtime (parent) and the container process. */
typedef enum RtSyncType {
        RT_SYNC_PID = 1,      /* stage → parent: value is the container pid (when an intermediate process made it) */
        RT_SYNC_GO,           /* parent → init: maps written, cgroup entered; payload: state JSON for hooks */
        RT_SYNC_HOOKS,        /* init → parent: mounts are ready, run prestart and createRuntime hooks */
        RT_SYNC_HOOKS_DONE,   /* parent → init */
        RT_SYNC_SECCOMP_FD,   /* init → parent: the seccomp notify fd, for linux.seccomp.listenerPath */
        RT_SYNC_SECCOMP_DONE, /* parent → init */
        RT_SYNC_PTY,          /* init → parent: the terminal master, when no console socket was given */
        RT_SYNC_READY,        /* init → parent: set up, waiting to be started */
        RT_SYNC_START,        /* parent → init (run): start now */
        RT_SYNC_ERROR,        /* init → parent: payload is the error message; value the errno */
} RtSyncType;

typedef struct RtSyncMsg {
        uint32_t type;
        int32_t value;
} RtSyncMsg;

/* Sends one message; pass_fd (or -EBADF) goes along with SCM_RIGHTS. */
int rt_sync_send(int fd, RtSyncType type, int32_t value, const char *payload, int pass_fd, Error **err);
/* Receives one message; *ret_payload (optional) gets the NUL-terminated payload, *ret_fd (optional) a
 * passed fd or -EBADF. The peer closing gives -EPIPE. */
int rt_sync_recv(int fd, RtSyncMsg *ret, char **ret_payload, int *ret_fd, Error **err);
/* Receives and checks the type; an RT_SYNC_ERROR from the peer becomes our error. */
int rt_sync_expect(int fd, RtSyncType type, char **ret_payload, Error **err);

/* After start: waits until the peer has exec'd (its end closes); an RT_SYNC_ERROR it sends
 * instead becomes our error. */
int rt_sync_wait_exec(int fd, Error **err);

typedef struct RtInitArgs {
        const RtSpec *spec;
        const RtProcess *process;
        RtSeccomp *seccomp;
        const char *rootfs;  /* absolute */
        int sync_fd;         /* our end of the pair with the runtime */
        int fifo_fd;         /* exec.fifo, read to be started (create); -EBADF: wait for RT_SYNC_START (run) */
        int console_fd;      /* connected --console-socket for the terminal master, or -EBADF */
        int preserve_fds;    /* fds 3 .. 3+n-1 stay open in the container */
        bool is_detached;    /* the runtime will not outlive setup: drop the parent-death signal */
        bool no_pivot;
        RtCgroup *cgroup;           /* entered first thing, by the process itself */
        bool is_cgroup_v2_entered;  /* clone3 already put us in the unified hierarchy */
        int cgroupns_fd;            /* a cgroup namespace to join once in our cgroup, or -EBADF */
        int *join_fds;              /* namespaces (by RtNsType, -EBADF where none) to join first, or NULL */
} RtInitArgs;

/* Runs in the cloned child: sets up the container and execs the process. Never returns; failures
 * go to the runtime as RT_SYNC_ERROR and end the process. */
_noreturn_ void rt_init_main(const RtInitArgs *a);

/* Finds p->args[0] in the container (PATH from p->env when it has no '/'). */
int rt_process_resolve(const RtProcess *p, char **ret_path, Error **err);

/* Checks that p->cwd is a directory inside the container (the caller's root), creating it when
 * is_create (as runc does for the container's own process). */
int rt_process_check_cwd(const RtProcess *p, bool is_create, Error **err);

/*
 * The steps shared by init and exec before the process is reported ready: cwd (checked inside
 * the root), fds beyond preserve_fds closed on exec, seccomp when it needs our privileges (no
 * no_new_privs), user, groups and capabilities, no_new_privs, umask. Failures here are
 * create-time (or exec-time) errors, as in runc.
 */
int rt_process_prepare(const RtProcess *p, RtSeccomp *seccomp, int preserve_fds, bool *is_seccomp_loaded,
                       Error **err);

/* The last step: seccomp unless loaded already, then execve(path). Returns only on failure. */
int rt_process_exec(const RtProcess *p, RtSeccomp *seccomp, bool is_seccomp_loaded, const char *path, Error **err);
