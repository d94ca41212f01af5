/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* container.h: the runtime's public API: an OCI bundle's lifecycle, as runc's commands expose it */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <sys/types.h>
#include "common/error.h"

/* Where containers' state lives ($root/<id>/) and how cgroups are named. */
typedef struct RtContext {
        char *root;
        int root_fd;
        bool is_systemd_cgroup;
} RtContext;

int rt_context_open(const char *root, bool is_systemd_cgroup, RtContext **ret, Error **err);
RtContext *rt_context_free(RtContext *c);
DEFINE_CLEANUP_FUNC(RtContext *, rt_context_free)

typedef struct RtCreateOptions {
        const char *bundle;         /* NULL: the current directory */
        const char *console_socket; /* unix socket that receives the terminal master */
        const char *pid_file;
        int preserve_fds;
        bool no_pivot;
        bool is_detached; /* run: return once started */
        bool keep;        /* run: keep the stopped container instead of deleting it */
        /* With has_gate: the container's process is made only once a byte is read from gate_fd
         * (EOF abandons the create). What goes before (cgroups, state) overlaps the caller's work on
         * what the config names, such as a network namespace still to be pinned at its path. */
        bool has_gate;
        int gate_fd;
        /* The bundle's config.json as the caller has just written it, parsed and as text (both or
         * neither): spares reading it back. */
        const json_t *config;
        const char *config_text;
} RtCreateOptions;

/* create: sets the container up and leaves its process waiting for start. Forks; returns when
 * the container is "created". On failure nothing is left: no state, cgroup, mount or process. */
int rt_container_create(RtContext *ctx, const char *id, const RtCreateOptions *o, Error **err);

/* run: create + start; unless detached, relays the terminal, forwards signals, waits, deletes the
 * container and returns its exit status (128+N for a signal) in *ret_status. */
int rt_container_run(RtContext *ctx, const char *id, const RtCreateOptions *o, int *ret_status, Error **err);

int rt_container_start(RtContext *ctx, const char *id, Error **err);
/* The OCI state document. */
int rt_container_state(RtContext *ctx, const char *id, json_t **ret, Error **err);
/* Signals the container's process, or with is_all every process in its cgroup. */
int rt_container_kill(RtContext *ctx, const char *id, int sig, bool is_all, Error **err);
/* Removes a stopped (or created) container; with is_force a running one is killed first. */
int rt_container_delete(RtContext *ctx, const char *id, bool is_force, Error **err);
/* The state documents of every container under the root. */
int rt_container_list(RtContext *ctx, json_t **ret, Error **err);
int rt_container_pause(RtContext *ctx, const char *id, bool is_paused, Error **err);
int rt_container_pids(RtContext *ctx, const char *id, pid_t **ret, size_t *ret_n, Error **err);
/* Applies a LinuxResources object to a live container. */
int rt_container_update(RtContext *ctx, const char *id, const json_t *resources, Error **err);

/* The cgroup figures of a live container (memory usage and limit, cpu time, pids) as a flat object. */
int rt_container_stats(RtContext *ctx, const char *id, json_t **ret, Error **err);

typedef struct RtExecOptions {
        json_t *process;            /* a process object (exec --process); NULL: built from the fields below */
        char **args;
        char **env;                 /* added to the container's env */
        const char *cwd;
        const char *user;           /* "uid[:gid]" */
        gid_t *additional_gids;
        size_t n_additional_gids;
        char **caps;                /* added to every set but ambient */
        bool is_tty;
        bool no_new_privs;
        const char *console_socket;
        const char *pid_file;
        int preserve_fds;
        bool is_detached;
        bool is_running_only;       /* a container that does not exist or run: -ESRCH, err left unset */
} RtExecOptions;

/* Runs a new process in a running container; unless detached waits and returns its status. */
int rt_container_exec(RtContext *ctx, const char *id, const RtExecOptions *o, int *ret_status, Error **err);

/* The runtime-spec features document. */
json_t *rt_features(void);
