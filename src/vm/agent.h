/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* agent.h: hull's side of the hull-agent protocol: sessions on a VM's virtio-serial ports */
#pragma once

#include <stdbool.h>
#include <sys/types.h>
#include "common/error.h"

typedef struct VmAgent VmAgent;

/* Connects to an agent port's unix socket (QEMU's chardev), retrying while the socket does not exist
 * yet or refuses, for up to timeout_ms. ETIMEDOUT then. */
int vm_agent_connect(const char *socket_path, int timeout_ms, VmAgent **ret, Error **err);
VmAgent *vm_agent_free(VmAgent *a);
DEFINE_CLEANUP_FUNC(VmAgent *, vm_agent_free)

typedef struct VmExecRequest {
        char *const *args;
        char *const *env;   /* KEY=VALUE; may be NULL */
        const char *cwd;    /* NULL: / */
        const char *user;   /* NULL: root */
        unsigned rows, cols; /* the terminal's size with is_tty; 0: leave it */
        bool is_tty;
        bool is_main;
        bool then_poweroff;  /* the guest powers off once the process's EXIT was sent (then=poweroff) */
        bool is_detached;    /* detach=1: the process runs on with stdio on /dev/null; the session is over once
                              * it started (no pump) */
} VmExecRequest;

/* Starts a process in the guest and waits (up to timeout_ms) until the agent says it started.
 * A failure the agent reports comes back as its errno (ENOENT: no such command) with its message.
 * ETIMEDOUT when the agent does not answer. */
int vm_agent_exec(VmAgent *a, const VmExecRequest *req, int timeout_ms, pid_t *ret_pid, Error **err);

/* Where a session's streams go on this side. */
typedef struct VmAgentIo {
        int in_fd;   /* read and sent as STDIN; -1: none (stdin ends at once) */
        int out_fd;  /* STDOUT written here */
        int err_fd;  /* STDERR written here */
        int sig_fd;  /* -1, or a signalfd: each signal read is sent as SIGNAL, SIGWINCH as RESIZE of in_fd's
                      * terminal */
} VmAgentIo;

/*
 * Carries the session's streams until the process's EXIT, and returns its status (shell form) in
 * *ret_status. EPIPE when the connection ends first (QEMU or the guest went away): the process's fate
 * is then unknown. Output written to out_fd/err_fd that cannot be written (a closed pipe) is dropped.
 */
int vm_agent_pump(VmAgent *a, const VmAgentIo *io, int *ret_status, Error **err);

/* Control requests, on a port with no process of its own; each waits (up to 10 s) for the agent's answer.
 * vm_agent_signal() signals the VM's main process (ESRCH when there is none). */
int vm_agent_signal(VmAgent *a, int sig, Error **err);
/* Asks the guest to power off: SIGTERM to its processes, SIGKILL after timeout_s. Returns once the agent
 * acknowledged; the caller then waits for QEMU to exit. */
int vm_agent_poweroff(VmAgent *a, unsigned timeout_s, Error **err);
int vm_agent_write_file(VmAgent *a, const char *path, mode_t mode, const void *data, size_t len, Error **err);

/* A file for vm_agent_write_files(). */
typedef struct VmAgentFile {
        const char *path;
        mode_t mode;
        const void *data;
        size_t len;
} VmAgentFile;
/* Writes n files in the guest: every request is sent before the answers are read (one round trip for
 * all), each answer waited for up to timeout_ms (the first request after a boot waits for the boot).
 * The first failure is returned, after all answers were read. */
int vm_agent_write_files(VmAgent *a, const VmAgentFile *files, size_t n, int timeout_ms, Error **err);
/* addr "A.B.C.D/LEN"; gw may be NULL; mtu 0: leave it. */
int vm_agent_netconf(VmAgent *a, const char *addr, const char *gw, unsigned mtu, Error **err);
