/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* container.c: create, start, run and the other lifecycle operations on a container's state */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/sched.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>

#include "cgroup.h"
#include "common/alloc.h"
#include "common/fs.h"
#include "common/json.h"
#include "common/log.h"
#include "common/process.h"
#include "container.h"
#include "hooks.h"
#include "init.h"
#include "internal.h"
#include "linux.h"
#include "sealed.h"
#include "seccomp.h"
#include "spec.h"
#include "state.h"
#include "tty.h"

int rt_context_open(const char *root, bool is_systemd_cgroup, RtContext **ret, Error **err)
{
        _cleanup_(rt_context_freep) RtContext *c = xnew0(RtContext, 1);
        int r;

        c->root_fd = -EBADF;
        c->root = xstrdup(root);
        c->is_systemd_cgroup = is_systemd_cgroup;
        r = rt_root_open(root, &c->root_fd, err);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(c);
        return 0;
}

RtContext *rt_context_free(RtContext *c)
{
        if (!c)
                return NULL;
        if (c->root_fd >= 0)
                close(c->root_fd);
        free(c->root);
        free(c);
        return NULL;
}

/* Everything create makes, so that one path undoes it on failure. */
typedef struct Spawn {
        RtContext *ctx;
        const char *id;
        const RtCreateOptions *o;
        bool is_run;
        RtSpec *spec;
        char *raw_config;
        char *bundle;
        char *rootfs;
        RtSeccomp *seccomp;
        RtResources *resources;
        RtCgroup *cgroup;
        int dir_fd;
        bool has_dir;
        int fifo_fd;
        int console_fd;
        int sync_fd;  /* our end */
        int child_fd; /* the container's end, closed once it has it */
        pid_t pid;
        int pidfd;
        int pty_master;
        bool is_v2_entered; /* clone3 placed the process in the unified hierarchy */
        int cgroupns_fd;    /* linux.namespaces' cgroup path, joined by init after its cgroup */
        int *join_fds;      /* the other paths, joined by the container process itself, or NULL */
        RtState *state;
} Spawn;

static void spawn_undo(Spawn *s)
{
        if (s->pid > 0) {
                kill(s->pid, SIGKILL);
                waitpid(s->pid, NULL, 0);
        }
        if (s->cgroup) {
                rt_cgroup_kill(s->cgroup, SIGKILL, NULL);
                if (rt_cgroup_destroy(s->cgroup, NULL) < 0)
                        log_warn("remove cgroup of '%s', ignoring", s->id);
        }
        if (s->rootfs && s->spec && !s->spec->ns[RT_NS_MOUNT].is_set)
                rt_mount_detach_below(s->rootfs, NULL);
        if (s->has_dir)
                rm_rf_at(s->ctx->root_fd, s->id, NULL);
}

static void spawn_free(Spawn *s)
{
        rt_spec_free(s->spec);
        free(s->raw_config);
        free(s->bundle);
        free(s->rootfs);
        rt_seccomp_free(s->seccomp);
        rt_resources_free(s->resources);
        rt_cgroup_free(s->cgroup);
        rt_state_free(s->state);
        closep(&s->dir_fd);
        closep(&s->fifo_fd);
        closep(&s->console_fd);
        closep(&s->sync_fd);
        closep(&s->child_fd);
        closep(&s->pidfd);
        closep(&s->pty_master);
}

static int load_bundle(Spawn *s, Error **err)
{
        char buf[PATH_MAX];
        const char *bundle = s->o->bundle ? s->o->bundle : ".";
        struct stat st;
        int r;

        if (!realpath(bundle, buf))
                return error_set(err, errno, "bundle '%s'", bundle);
        s->bundle = xstrdup(buf);
        if (s->o->config && s->o->config_text) {
                s->raw_config = xstrdup(s->o->config_text);
                r = rt_spec_parse_json(json_incref((json_t *)s->o->config), &s->spec, err);
                if (r < 0)
                        return error_wrap(err, r, "%s/config.json", s->bundle);
        } else {
                r = rt_spec_load(s->bundle, &s->spec, &s->raw_config, err);
                if (r < 0)
                        return r;
        }
        if (!s->spec->process)
                return error_setf(err, EINVAL, "%s/config.json: process: required", s->bundle);
        if (s->spec->process->terminal && !s->o->console_socket && (!s->is_run || s->o->is_detached))
                return error_setf(err, EINVAL,
                                  "process.terminal is set but no --console-socket was given to receive it");
        if (s->o->console_socket && !s->spec->process->terminal)
                return error_setf(err, EINVAL, "--console-socket given but process.terminal is false");
        {
                /* Canonical: mounts are found again by this path in mountinfo. */
                _cleanup_free_ char *given = s->spec->root_path[0] == '/'
                                                     ? xstrdup(s->spec->root_path)
                                                     : xasprintf("%s/%s", s->bundle, s->spec->root_path);
                if (!realpath(given, buf))
                        return error_set(err, errno, "root.path '%s'", given);
                s->rootfs = xstrdup(buf);
        }
        if (stat(s->rootfs, &st) < 0)
                return error_set(err, errno, "root.path '%s'", s->rootfs);
        if (!S_ISDIR(st.st_mode))
                return error_setf(err, ENOTDIR, "root.path '%s': not a directory", s->rootfs);
        /* Joining another pid namespace makes our container process visible there before it
         * execs: see sealed.h. */
        if (s->spec->ns[RT_NS_PID].path && rt_sealed_needed(s->spec, s->spec->process)) {
                r = rt_sealed_reexec(err);
                if (r < 0)
                        return r;
        }
        _cleanup_close_ int cache_fd = s->spec->seccomp ? rt_seccomp_cache_open(s->ctx) : -EBADF;
        r = rt_seccomp_prepare(s->spec->seccomp, "linux.seccomp", cache_fd, &s->seccomp, err);
        if (r < 0)
                return r;
        return rt_resources_parse(s->spec->resources, "linux.resources", &s->resources, err);
}

static json_t *annotations(const RtSpec *spec)
{
        json_t *a = json_object_get(spec->json, "annotations");
        return json_is_object(a) ? json_incref(a) : NULL;
}

/* The state while "creating": who creates it, and its cgroup once made, so that a runtime
 * killed half-way leaves something `delete` can clean up. record_state() replaces it. */
static int save_creating_state(Spawn *s, Error **err)
{
        _cleanup_json_ json_t *cg = s->cgroup ? rt_cgroup_to_json(s->cgroup) : NULL;
        RtState st = { .id = (char *)s->id, .bundle = s->bundle, .rootfs = s->rootfs, .created = (char *)"",
                       .owner = geteuid(), .creator_pid = getpid(), .cgroup = cg, .dir_fd = s->dir_fd,
                       .hook_kinds = UINT32_MAX };

        process_start_time(st.creator_pid, &st.creator_start_time);
        return rt_state_save(&st, err);
}

/*
 * exec.json: what exec reads of the config, and nothing else (no mounts, hooks or resources): the
 * process, and the namespaces, id mappings and seccomp profile that exec's process enters.
 */
static int write_exec_config(Spawn *s, Error **err)
{
        static const char *const linux_keys[] = { "namespaces", "uidMappings", "gidMappings", "seccomp" };
        _cleanup_json_ json_t *doc = json_object(), *lx = json_object();
        _cleanup_free_ char *text = NULL;
        json_t *src = json_object_get(s->spec->json, "linux");

        json_object_set(doc, "ociVersion", json_object_get(s->spec->json, "ociVersion"));
        json_object_set(doc, "root", json_object_get(s->spec->json, "root"));
        json_object_set(doc, "process", json_object_get(s->spec->json, "process"));
        for (size_t i = 0; i < ARRAY_SIZE(linux_keys); i++) {
                json_t *v = json_object_get(src, linux_keys[i]);
                if (v)
                        json_object_set(lx, linux_keys[i], v);
        }
        json_object_set(doc, "linux", lx);
        text = json_dump_compact(doc);
        return write_file_atomic_at(s->dir_fd, "exec.json", text, strlen(text), 0600, err);
}

/* Makes $root/<id> (the step that claims the id), the config copy and the start fifo. */
static int make_state_dir(Spawn *s, Error **err)
{
        int r;

        if (mkdirat(s->ctx->root_fd, s->id, 0700) < 0) {
                if (errno == EEXIST)
                        return error_setf(err, EEXIST, "container '%s' already exists", s->id);
                return error_set(err, errno, "create state of '%s'", s->id);
        }
        s->has_dir = true;
        s->dir_fd = openat(s->ctx->root_fd, s->id, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (s->dir_fd < 0)
                return error_set(err, errno, "open state of '%s'", s->id);
        {
                /* Without the bundle's indentation: start, exec and delete parse this copy, and
                 * whitespace was half of a system container's config. A bundle on one line (hull's
                 * own) is copied as it is. */
                size_t len = strlen(s->raw_config);
                _cleanup_free_ char *compact = memchr(s->raw_config, '\n', len) ? json_dump_compact(s->spec->json)
                                                                               : NULL;
                r = write_file_atomic_at(s->dir_fd, "config.json", compact ? compact : s->raw_config,
                                         compact ? strlen(compact) : len, 0600, err);
        }
        if (r < 0)
                return r;
        r = write_exec_config(s, err);
        if (r < 0)
                return r;
        r = save_creating_state(s, err);
        if (r < 0)
                return r;
        if (s->is_run)
                return 0;
        if (mkfifoat(s->dir_fd, "exec.fifo", 0600) < 0)
                return error_set(err, errno, "create exec.fifo");
        /* Opened for reading and writing, the fifo neither blocks here nor gives EOF to the reader. */
        s->fifo_fd = openat(s->dir_fd, "exec.fifo", O_RDWR | O_CLOEXEC);
        if (s->fifo_fd < 0)
                return error_set(err, errno, "open exec.fifo");
        return 0;
}

static char *state_json_for_hooks(Spawn *s, RtStatus status)
{
        _cleanup_json_ json_t *j = NULL;
        RtState st = { .id = (char *)s->id, .bundle = s->bundle, .rootfs = s->rootfs, .pid = s->pid,
                       .created = (char *)"", .annotations = annotations(s->spec), .dir_fd = -EBADF };
        char *out;

        j = rt_state_oci_json(&st, status);
        json_decref(st.annotations);
        out = json_dump_compact(j);
        return out;
}

void rt_stage_finish(int sync_fd, int r, Error *err, uint64_t flags, int cgroup_fd, bool *ret_is_in_cgroup,
                     void (*child)(void *), void *arg)
{
        pid_t pid;

        if (r >= 0) {
                pid = rt_clone(flags | CLONE_PARENT, cgroup_fd, NULL, ret_is_in_cgroup);
                if (pid == 0)
                        child(arg);
                if (pid > 0) {
                        rt_sync_send(sync_fd, RT_SYNC_PID, pid, NULL, -EBADF, NULL);
                        _exit(0);
                }
                r = error_set(&err, errno, "clone");
        }
        rt_sync_send(sync_fd, RT_SYNC_ERROR, -r, error_message(err, r), -EBADF, NULL);
        _exit(1);
}

/* The container process: either cloned straight from us, or, when namespaces must be joined
 * before it is made (or a time namespace made with offsets), from an intermediate process that joins
 * them and clones with CLONE_PARENT so the container is still our child. */
static _noreturn_ void child_main(Spawn *s)
{
        RtInitArgs a = {
                .spec = s->spec,
                .process = s->spec->process,
                .seccomp = s->seccomp,
                .rootfs = s->rootfs,
                .sync_fd = s->child_fd,
                .fifo_fd = s->fifo_fd,
                .console_fd = s->console_fd,
                .preserve_fds = s->o->preserve_fds,
                .is_detached = !s->is_run || s->o->is_detached,
                .no_pivot = s->o->no_pivot,
                .cgroup = s->cgroup,
                .is_cgroup_v2_entered = s->is_v2_entered,
                .cgroupns_fd = s->cgroupns_fd,
                .join_fds = s->join_fds,
        };
        rt_init_main(&a);
}

static _noreturn_ void child_main_stage(void *s)
{
        child_main(s);
}

/* Opens the namespaces given by path into fds, but the cgroup one into s->cgroupns_fd: init joins
 * that once in its cgroup (see exec_child()). */
static int open_ns_paths(Spawn *s, int fds[_RT_NS_MAX], Error **err)
{
        int r = rt_ns_open_paths(s->spec, fds, err);

        if (r < 0)
                return r;
        s->cgroupns_fd = fds[RT_NS_CGROUP];
        fds[RT_NS_CGROUP] = -EBADF;
        return 0;
}

static _noreturn_ void stage_main(Spawn *s, unsigned long flags, int cgroup_fd)
{
        Error *err = NULL;
        int fds[_RT_NS_MAX];
        int r;

        r = open_ns_paths(s, fds, &err);
        if (r >= 0)
                r = rt_ns_join(fds, &err);
        if (r >= 0 && (flags & CLONE_NEWTIME)) {
                /* Offsets can only be written before any process is in the namespace. */
                if (unshare(CLONE_NEWTIME) < 0)
                        r = error_set(&err, errno, "create time namespace");
                else
                        r = rt_ns_write_time_offsets(s->spec, &err);
                flags &= ~(unsigned long)CLONE_NEWTIME;
        }
        rt_stage_finish(s->child_fd, r, err, flags, cgroup_fd, &s->is_v2_entered, child_main_stage, s);
}

/*
 * Whether the namespaces given by path can be joined by the container process itself, first thing
 * after the clone, instead of by an intermediate process before it: not when a user namespace is
 * made or joined (the others must be joined before it, with the privileges held outside it), nor for
 * a pid or time namespace, which a process joins only for its children.
 */
static bool joins_after_clone(const RtSpec *spec)
{
        return !spec->ns[RT_NS_USER].is_set && !spec->ns[RT_NS_PID].path && !spec->ns[RT_NS_TIME].is_set;
}

static int start_process(Spawn *s, Error **err)
{
        unsigned long flags = rt_ns_new_flags(s->spec) & ~(unsigned long)CLONE_NEWCGROUP;
        bool needs_stage = (flags & CLONE_NEWTIME) != 0, has_paths = false;
        int pair[2], cgroup_fd, r;

        for (int t = 0; t < _RT_NS_MAX; t++)
                has_paths = has_paths || s->spec->ns[t].path;
        if (has_paths && !joins_after_clone(s->spec))
                needs_stage = true;
        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) < 0)
                return error_set(err, errno, "socketpair");
        s->sync_fd = pair[0];
        s->child_fd = pair[1];
        cgroup_fd = s->cgroup ? rt_cgroup_clone_fd(s->cgroup) : -EBADF;

        if (!needs_stage) {
                int fds[_RT_NS_MAX];
                if (has_paths) {
                        /* Opened here, so that a bad path is our error; joined by the child. */
                        r = open_ns_paths(s, fds, err);
                        if (r < 0)
                                return r;
                        s->join_fds = fds;
                }
                s->pid = rt_clone(flags, cgroup_fd, &s->pidfd, &s->is_v2_entered);
                if (s->pid == 0)
                        child_main(s);
                if (has_paths) {
                        rt_ns_close(fds);
                        s->cgroupns_fd = safe_close(s->cgroupns_fd);
                        s->join_fds = NULL;
                }
                if (s->pid < 0) {
                        s->pid = 0;
                        return error_set(err, errno, "clone container process");
                }
        } else {
                RtSyncMsg m;
                _cleanup_free_ char *payload = NULL;
                pid_t stage = fork();
                int status;

                if (stage < 0)
                        return error_set(err, errno, "fork");
                if (stage == 0)
                        stage_main(s, flags, cgroup_fd);
                r = rt_sync_recv(s->sync_fd, &m, &payload, NULL, err);
                waitpid(stage, &status, 0);
                if (r < 0)
                        return r;
                if (m.type == RT_SYNC_ERROR)
                        return error_setf(err, m.value > 0 ? m.value : EIO, "%s", payload);
                s->pid = m.value;
                s->pidfd = pidfd_open_pid(s->pid);
        }
        close(s->child_fd);
        s->child_fd = -EBADF;
        return 0;
}

/* Our side of setup: maps, then answer the container process until it is ready. (It enters its
 * cgroup by itself, see rt_cgroup_enter_self().) */
static int drive_setup(Spawn *s, Error **err)
{
        _cleanup_free_ char *state_json = NULL;
        const RtSpec *spec = s->spec;
        int r;

        if (spec->ns[RT_NS_USER].is_set && !spec->ns[RT_NS_USER].path) {
                r = rt_userns_write_maps(s->pid, spec, err);
                if (r < 0)
                        return r;
        }
        if (spec->n_hooks[RT_HOOK_CREATE_CONTAINER] || spec->n_hooks[RT_HOOK_START_CONTAINER] ||
            spec->n_hooks[RT_HOOK_PRESTART] || spec->n_hooks[RT_HOOK_CREATE_RUNTIME])
                state_json = state_json_for_hooks(s, RT_STATUS_CREATING);
        r = rt_sync_send(s->sync_fd, RT_SYNC_GO, 0, state_json, -EBADF, err);
        if (r < 0)
                return r;
        for (;;) {
                _cleanup_free_ char *payload = NULL;
                _cleanup_close_ int fd = -EBADF;
                RtSyncMsg m;

                r = rt_sync_recv(s->sync_fd, &m, &payload, &fd, err);
                if (r < 0)
                        return r;
                switch (m.type) {
                case RT_SYNC_READY:
                        return 0;
                case RT_SYNC_ERROR:
                        return error_setf(err, m.value > 0 ? m.value : EIO, "%s", payload);
                case RT_SYNC_HOOKS:
                        r = rt_hooks_run(spec->hooks[RT_HOOK_PRESTART], spec->n_hooks[RT_HOOK_PRESTART],
                                         RT_HOOK_PRESTART, state_json, err);
                        if (r >= 0)
                                r = rt_hooks_run(spec->hooks[RT_HOOK_CREATE_RUNTIME],
                                                 spec->n_hooks[RT_HOOK_CREATE_RUNTIME], RT_HOOK_CREATE_RUNTIME,
                                                 state_json, err);
                        if (r < 0)
                                return r;
                        r = rt_sync_send(s->sync_fd, RT_SYNC_HOOKS_DONE, 0, NULL, -EBADF, err);
                        break;
                case RT_SYNC_SECCOMP_FD: {
                        _cleanup_free_ char *sj = state_json_for_hooks(s, RT_STATUS_CREATING);
                        r = rt_seccomp_send_listener(s->seccomp, fd, sj, err);
                        if (r >= 0)
                                r = rt_sync_send(s->sync_fd, RT_SYNC_SECCOMP_DONE, 0, NULL, -EBADF, err);
                        break;
                }
                case RT_SYNC_PTY:
                        s->pty_master = TAKE_FD(fd);
                        break;
                default:
                        return error_setf(err, EPROTO, "unexpected message %u from container process", m.type);
                }
                if (r < 0)
                        return r;
        }
}

/* The host id that maps to 0 in the container's user namespace, or -1 without one. */
static int64_t root_host_id(const RtIdMap *maps, size_t n)
{
        for (size_t i = 0; i < n; i++)
                if (maps[i].container_id == 0 && maps[i].size > 0)
                        return maps[i].host_id;
        return -1;
}

/*
 * A container with its own user and cgroup namespaces that mounts its cgroup file system read-write
 * is given its cgroup: its root (the host uid and gid its 0 maps to) owns the unified hierarchy's
 * directory and the files delegation needs (cgroups(7), Documentation/admin-guide/cgroup-v2.rst
 * "Delegation"), so an init inside can make and manage cgroups below it. Without a user namespace
 * its root is ours and owns it already.
 */
static int delegate_cgroup(Spawn *s, Error **err)
{
        const RtSpec *sp = s->spec;
        int64_t uid = root_host_id(sp->uid_mappings, sp->n_uid_mappings),
                gid = root_host_id(sp->gid_mappings, sp->n_gid_mappings);
        bool has_rw_cgroup = false;

        if (!s->cgroup || !sp->ns[RT_NS_USER].is_set || !sp->ns[RT_NS_CGROUP].is_set || uid < 0)
                return 0;
        for (size_t i = 0; i < sp->n_mounts; i++) {
                const RtMount *m = &sp->mounts[i];
                if (m->type && (strcmp(m->type, "cgroup") == 0 || strcmp(m->type, "cgroup2") == 0) &&
                    !(m->flags & MS_RDONLY))
                        has_rw_cgroup = true;
        }
        if (!has_rw_cgroup)
                return 0;
        return rt_cgroup_delegate(s->cgroup, (uid_t)uid, gid < 0 ? (gid_t)0 : (gid_t)gid, err);
}

/* The container's cgroup. An unprivileged runtime usually may not make one: then, as runc
 * does, a container that asks for no limits runs in the caller's cgroup. */
static int make_cgroup(Spawn *s, Error **err)
{
        _cleanup_error_ Error *e = NULL;
        int r;

        r = rt_cgroup_create(s->spec->cgroups_path, s->id, s->ctx->is_systemd_cgroup, &s->cgroup, &e);
        if (r >= 0)
                return delegate_cgroup(s, err);
        if (geteuid() != 0 && (r == -EACCES || r == -EPERM || r == -EROFS) &&
            (!s->spec->resources || json_object_size(s->spec->resources) == 0)) {
                log_debug("no cgroup for '%s' (%s): it asks for no limits", s->id, error_message(e, r));
                return 0;
        }
        if (err)
                *err = TAKE_PTR(e);
        return error_wrap(err, r, "cgroup");
}

static int write_pid_file(const char *path, pid_t pid, Error **err)
{
        char buf[32];
        int n = snprintf(buf, sizeof(buf), "%d", pid);
        return error_wrap(err, write_file_atomic_at(AT_FDCWD, path, buf, (size_t)n, 0644, err), "--pid-file");
}

static int record_state(Spawn *s, Error **err)
{
        RtState *st = xnew0(RtState, 1);
        int r;

        s->state = st;
        st->id = xstrdup(s->id);
        st->bundle = xstrdup(s->bundle);
        st->rootfs = xstrdup(s->rootfs);
        st->pid = s->pid;
        process_start_time(s->pid, &st->pid_start_time);
        st->created = rt_now_rfc3339();
        st->owner = geteuid();
        st->annotations = annotations(s->spec);
        for (int k = 0; k < _RT_HOOK_MAX; k++)
                if (s->spec->n_hooks[k] > 0)
                        st->hook_kinds |= 1u << k;
        st->cgroup = s->cgroup ? rt_cgroup_to_json(s->cgroup) : NULL;
        st->is_systemd_cgroup = s->ctx->is_systemd_cgroup;
        st->dir_fd = dup(s->dir_fd);
        r = rt_state_save(st, err);
        if (r < 0)
                return r;
        if (s->o->pid_file)
                return write_pid_file(s->o->pid_file, s->pid, err);
        return 0;
}

static int spawn(Spawn *s, Error **err)
{
        int r;

        r = load_bundle(s, err);
        if (r < 0)
                return r;
        r = rt_mount_prepare_idmapped(s->spec, err);
        if (r < 0)
                return r;
        r = make_state_dir(s, err);
        if (r < 0)
                return r;
        if (s->o->console_socket) {
                r = rt_unix_connect(s->o->console_socket, &s->console_fd, err);
                if (r < 0)
                        return error_wrap(err, r, "--console-socket");
        }
        r = make_cgroup(s, err);
        if (r < 0)
                return r;
        r = save_creating_state(s, err);
        if (r < 0)
                return r;
        if (s->o->has_gate) {
                char byte;
                ssize_t n;
                do
                        n = read(s->o->gate_fd, &byte, 1);
                while (n < 0 && errno == EINTR);
                if (n != 1)
                        return error_setf(err, ECANCELED, "the start was abandoned");
        }
        r = start_process(s, err);
        if (r < 0)
                return r;
        r = drive_setup(s, err);
        if (r < 0)
                return r;
        /* Limits go on once the root filesystem is made, as runc does: the device rules would
         * otherwise refuse the mknod of linux.devices that they do not list. */
        if (s->cgroup) {
                r = rt_cgroup_apply(s->cgroup, s->resources, err);
                if (r < 0)
                        return error_wrap(err, r, "linux.resources");
        }
        return record_state(s, err);
}

static void spawn_init(Spawn *s, RtContext *ctx, const char *id, const RtCreateOptions *o, bool is_run)
{
        *s = (Spawn){ .ctx = ctx, .id = id, .o = o, .is_run = is_run, .dir_fd = -EBADF, .fifo_fd = -EBADF,
                      .console_fd = -EBADF, .sync_fd = -EBADF, .child_fd = -EBADF, .pidfd = -EBADF,
                      .pty_master = -EBADF, .cgroupns_fd = -EBADF };
}

int rt_container_create(RtContext *ctx, const char *id, const RtCreateOptions *o, Error **err)
{
        Spawn s;
        int r;

        r = rt_id_check(id, err);
        if (r < 0)
                return r;
        spawn_init(&s, ctx, id, o, false);
        r = spawn(&s, err);
        if (r < 0)
                spawn_undo(&s);
        spawn_free(&s);
        return r;
}

void rt_run_hooks_logged(const RtSpec *spec, RtHookKind kind, RtState *st, RtStatus status)
{
        _cleanup_json_ json_t *j = NULL;
        _cleanup_free_ char *sj = NULL;
        _cleanup_error_ Error *e = NULL;

        if (!spec->n_hooks[kind])
                return;
        j = rt_state_oci_json(st, status);
        sj = json_dump_compact(j);
        if (rt_hooks_run(spec->hooks[kind], spec->n_hooks[kind], kind, sj, &e) < 0)
                log_warn("%s, ignoring", error_message(e, -EIO));
}

/* Foreground: forward signals, relay the terminal, and wait for the container process. */
static int relay_loop(pid_t pid, int pidfd, int pty_master, int sigfd, int *ret_status, Error **err)
{
        char buf[16384];
        bool stdin_open = pty_master >= 0;

        for (;;) {
                struct pollfd p[4] = {
                        { .fd = pidfd, .events = POLLIN },
                        { .fd = sigfd, .events = POLLIN },
                        { .fd = pty_master, .events = POLLIN },
                        { .fd = stdin_open ? STDIN_FILENO : -1, .events = POLLIN },
                };
                if (poll(p, 4, -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        return error_set(err, errno, "poll");
                }
                if (p[1].revents & POLLIN) {
                        struct signalfd_siginfo si;
                        if (read(sigfd, &si, sizeof(si)) == sizeof(si) && si.ssi_signo != SIGCHLD) {
                                if (si.ssi_signo == SIGWINCH && pty_master >= 0) {
                                        struct winsize ws;
                                        if (ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0)
                                                ioctl(pty_master, TIOCSWINSZ, &ws);
                                } else {
                                        pidfd_signal(pidfd, (int)si.ssi_signo);
                                }
                        }
                }
                if (p[2].revents & POLLIN) {
                        ssize_t n = read(pty_master, buf, sizeof(buf));
                        if (n > 0 && write(STDOUT_FILENO, buf, (size_t)n) < 0)
                                stdin_open = false;
                } else if (p[2].revents & (POLLHUP | POLLERR)) {
                        pty_master = -EBADF; /* all slaves closed; the owner closes the fd */
                }
                if (p[3].revents & (POLLIN | POLLHUP)) {
                        ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));
                        if (n <= 0 || write(pty_master, buf, (size_t)n) < 0)
                                stdin_open = false;
                }
                if (p[0].revents & POLLIN)
                        break;
        }
        if (pty_master >= 0) {
                /* Drain what the process wrote just before it exited. */
                fcntl(pty_master, F_SETFL, O_NONBLOCK);
                for (;;) {
                        ssize_t n = read(pty_master, buf, sizeof(buf));
                        if (n <= 0 || write(STDOUT_FILENO, buf, (size_t)n) < 0)
                                break;
                }
        }
        return process_wait_status(pid, ret_status, err);
}

void rt_block_signals(sigset_t *ret_mask, sigset_t *ret_old)
{
        sigfillset(ret_mask);
        sigdelset(ret_mask, SIGSEGV);
        sigdelset(ret_mask, SIGBUS);
        sigdelset(ret_mask, SIGILL);
        sigdelset(ret_mask, SIGFPE);
        sigdelset(ret_mask, SIGABRT);
        sigprocmask(SIG_BLOCK, ret_mask, ret_old);
}

int rt_foreground_wait(pid_t pid, int pidfd, int pty_master, const sigset_t *mask, int *ret_status, Error **err)
{
        _cleanup_close_ int sigfd = signalfd(-1, mask, SFD_CLOEXEC);
        bool is_tty = pty_master >= 0 && isatty(STDIN_FILENO);
        struct termios saved;
        int r;

        if (sigfd < 0)
                return error_set(err, errno, "signalfd");
        if (is_tty && rt_tty_raw(STDIN_FILENO, pty_master, &saved) < 0)
                is_tty = false;
        r = relay_loop(pid, pidfd, pty_master, sigfd, ret_status, err);
        if (is_tty)
                tcsetattr(STDIN_FILENO, TCSANOW, &saved);
        return r;
}

/* Loads the container and takes its lock: lifecycle operations on one container run one at a time. */
static int load_locked(RtContext *ctx, const char *id, RtState **ret, Error **err)
{
        _cleanup_(rt_state_freep) RtState *st = NULL;
        int r;

        r = rt_state_load(ctx->root_fd, id, &st, err);
        if (r < 0)
                return r;
        if (flock(st->dir_fd, LOCK_EX) < 0)
                return error_set(err, errno, "lock '%s'", id);
        *ret = TAKE_PTR(st);
        return 0;
}

static int load_cgroup(const RtState *st, RtCgroup **ret, Error **err)
{
        if (!st->cgroup)
                return error_setf(err, ENOENT, "container '%s' has no cgroup recorded", st->id);
        return rt_cgroup_from_json(st->cgroup, ret, err);
}

int rt_container_start(RtContext *ctx, const char *id, Error **err)
{
        _cleanup_(rt_state_freep) RtState *st = NULL;
        _cleanup_(rt_spec_freep) RtSpec *spec = NULL;
        _cleanup_free_ char *raw = NULL;
        _cleanup_close_ int fifo = -EBADF, watch = -EBADF;
        bool has_poststart;
        RtStatus status;
        size_t len;
        int r;

        r = load_locked(ctx, id, &st, err);
        if (r < 0)
                return r;
        status = rt_state_status(st);
        if (status != RT_STATUS_CREATED)
                return error_setf(err, EINVAL, "container '%s' is %s, not created", id, rt_status_name(status));
        /* Non-blocking: if the container process is gone there is no reader, and open fails (ENXIO). */
        fifo = openat(st->dir_fd, "exec.fifo", O_WRONLY | O_NONBLOCK | O_CLOEXEC);
        if (fifo < 0)
                return error_set(err, errno, "container '%s': open exec.fifo", id);
        has_poststart = st->hook_kinds & (1u << RT_HOOK_POSTSTART);
        if (has_poststart) {
                watch = openat(st->dir_fd, "exec.fifo", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
                if (watch < 0)
                        return error_set(err, errno, "container '%s': open exec.fifo", id);
        }
        if (write(fifo, "0", 1) != 1)
                return error_set(err, errno, "container '%s': signal start", id);
        unlinkat(st->dir_fd, "exec.fifo", 0);
        close(TAKE_FD(fifo));
        /* Started, as runc's start has it: the process has its go and runs. Poststart hooks wait
         * until it has exec'd: the container process holds the fifo (close-on-exec) as its last
         * writer, so our read end hangs up then. */
        if (!has_poststart)
                return 0;
        {
                struct pollfd p = { .fd = watch, .events = 0 };
                while (poll(&p, 1, -1) < 0 && errno == EINTR)
                        ;
        }
        r = read_file_at(st->dir_fd, "config.json", &raw, &len, err);
        if (r < 0)
                return r;
        r = rt_spec_parse(raw, len, &spec, err);
        if (r < 0)
                return r;
        rt_run_hooks_logged(spec, RT_HOOK_POSTSTART, st, RT_STATUS_RUNNING);
        return 0;
}

int rt_container_state(RtContext *ctx, const char *id, json_t **ret, Error **err)
{
        _cleanup_(rt_state_freep) RtState *st = NULL;
        int r = rt_state_load(ctx->root_fd, id, &st, err);
        if (r < 0)
                return r;
        *ret = rt_state_oci_json(st, rt_state_status(st));
        return 0;
}

int rt_container_kill(RtContext *ctx, const char *id, int sig, bool is_all, Error **err)
{
        _cleanup_(rt_state_freep) RtState *st = NULL;
        _cleanup_(rt_cgroup_freep) RtCgroup *cg = NULL;
        _cleanup_close_ int pidfd = -EBADF;
        RtStatus status;
        int r;

        r = rt_state_load(ctx->root_fd, id, &st, err);
        if (r < 0)
                return r;
        status = rt_state_status(st);
        if (status == RT_STATUS_STOPPED && !is_all)
                return error_setf(err, ESRCH, "container '%s' is not running", id);
        if (is_all) {
                r = load_cgroup(st, &cg, err);
                if (r < 0)
                        return r;
                return rt_cgroup_kill(cg, sig, err);
        }
        /* Through a pidfd checked against the recorded start time: never a recycled pid. */
        pidfd = pidfd_open_pid(st->pid);
        if (pidfd < 0 || !process_is_alive(st->pid, st->pid_start_time))
                return error_setf(err, ESRCH, "container '%s' is not running", id);
        r = pidfd_signal(pidfd, sig);
        if (r < 0)
                return error_set(err, r, "signal container '%s'", id);
        return 0;
}

/* Waits up to timeout_ms for the process behind pidfd to exit. */
static bool wait_exit(int pidfd, int timeout_ms)
{
        struct pollfd p = { .fd = pidfd, .events = POLLIN };
        return poll(&p, 1, timeout_ms) == 1;
}

/* SIGKILLs whatever is left in the cgroup and waits for it to be gone, through pidfds. An
 * empty cgroup (the usual case: a private pid namespace dies with its init) costs one read. */
static int kill_remaining(RtCgroup *cg, const char *id, Error **err)
{
        for (int round = 0; round < 10; round++) {
                _cleanup_free_ pid_t *pids = NULL;
                size_t n = 0;

                if (rt_cgroup_pids(cg, &pids, &n, NULL) < 0 || n == 0)
                        return 0;
                rt_cgroup_kill(cg, SIGKILL, NULL);
                for (size_t i = 0; i < n; i++) {
                        _cleanup_close_ int pidfd = pidfd_open_pid(pids[i]);
                        if (pidfd >= 0 && !wait_exit(pidfd, 10000))
                                return error_setf(err, ETIMEDOUT, "container '%s': process %d did not die", id,
                                                  pids[i]);
                }
        }
        return error_setf(err, EBUSY, "container '%s': its cgroup keeps gaining processes", id);
}

/* The last of delete, once the container's process is gone: what is left in its cgroup, the
 * cgroup, poststop hooks (of spec, when the caller has it parsed), the state. */
static int remove_stopped(RtContext *ctx, RtState *st, RtCgroup *cg, const RtSpec *spec, Error **err)
{
        _cleanup_(rt_spec_freep) RtSpec *loaded = NULL;
        int r;

        if (cg) {
                /* Processes outside a private pid namespace outlive the init: kill them too. */
                r = kill_remaining(cg, st->id, err);
                if (r < 0)
                        return r;
                r = rt_cgroup_destroy(cg, err);
                if (r < 0)
                        return error_wrap(err, r, "container '%s'", st->id);
        }
        if (!spec) {
                /* delete has no spec parsed: the copy in the state tells hooks and namespaces. */
                _cleanup_free_ char *raw = NULL;
                size_t len;
                if (read_file_at(st->dir_fd, "config.json", &raw, &len, NULL) >= 0)
                        rt_spec_parse(raw, len, &loaded, NULL);
                spec = loaded;
        }
        /* A container without a mount namespace of its own made its mounts in ours. */
        if (spec && !spec->ns[RT_NS_MOUNT].is_set && st->rootfs && *st->rootfs) {
                r = rt_mount_detach_below(st->rootfs, err);
                if (r < 0)
                        return error_wrap(err, r, "container '%s'", st->id);
        }
        if (spec)
                rt_run_hooks_logged(spec, RT_HOOK_POSTSTOP, st, RT_STATUS_STOPPED);
        r = rm_rf_at(ctx->root_fd, st->id, err);
        return r < 0 ? error_wrap(err, r, "container '%s'", st->id) : 0;
}

int rt_container_delete(RtContext *ctx, const char *id, bool is_force, Error **err)
{
        _cleanup_(rt_state_freep) RtState *st = NULL;
        _cleanup_(rt_cgroup_freep) RtCgroup *cg = NULL;
        RtStatus status;
        int r;

        r = load_locked(ctx, id, &st, err);
        if (r == -ENOENT && is_force) {
                /* A create that died before writing its state leaves a bare directory. */
                return rt_id_check(id, NULL) == 0 ? rm_rf_at(ctx->root_fd, id, err) : r;
        }
        if (r < 0)
                return r;
        status = rt_state_status(st);
        if (status == RT_STATUS_CREATING)
                return error_setf(err, EBUSY, "container '%s' is being created (by pid %d)", id, st->creator_pid);
        if ((status == RT_STATUS_RUNNING || status == RT_STATUS_PAUSED) && !is_force)
                return error_setf(err, EBUSY, "container '%s' is %s: stop it first, or use --force", id,
                                  rt_status_name(status));
        if (st->cgroup)
                load_cgroup(st, &cg, NULL);
        if (status != RT_STATUS_STOPPED) {
                _cleanup_close_ int pidfd = pidfd_open_pid(st->pid);
                if (cg)
                        rt_cgroup_kill(cg, SIGKILL, NULL);
                if (status == RT_STATUS_PAUSED && cg)
                        rt_cgroup_freeze(cg, false, NULL);
                if (pidfd >= 0 && process_is_alive(st->pid, st->pid_start_time)) {
                        pidfd_signal(pidfd, SIGKILL);
                        if (!wait_exit(pidfd, 10000))
                                return error_setf(err, ETIMEDOUT, "container '%s': process %d did not die", id,
                                                  st->pid);
                }
        }
        return remove_stopped(ctx, st, cg, NULL, err);
}

int rt_container_run(RtContext *ctx, const char *id, const RtCreateOptions *o, int *ret_status, Error **err)
{
        sigset_t mask, old;
        Spawn s;
        int r;

        r = rt_id_check(id, err);
        if (r < 0)
                return r;
        /* Block the signals we forward before the container exists, so none is lost. */
        rt_block_signals(&mask, &old);
        spawn_init(&s, ctx, id, o, true);
        r = spawn(&s, err);
        if (r >= 0)
                r = rt_sync_send(s.sync_fd, RT_SYNC_START, 0, NULL, -EBADF, err);
        if (r >= 0)
                r = rt_sync_wait_exec(s.sync_fd, err); /* poststart comes after the exec */
        if (r < 0) {
                spawn_undo(&s);
                spawn_free(&s);
                sigprocmask(SIG_SETMASK, &old, NULL);
                return r;
        }
        rt_run_hooks_logged(s.spec, RT_HOOK_POSTSTART, s.state, RT_STATUS_RUNNING);
        if (o->is_detached) {
                *ret_status = 0;
                spawn_free(&s);
                sigprocmask(SIG_SETMASK, &old, NULL);
                return 0;
        }
        r = rt_foreground_wait(s.pid, s.pidfd, s.pty_master, &mask, ret_status, err);
        s.pid = 0; /* reaped */
        if (!o->keep) {
                /* Everything is at hand: no need to load it back as delete would. */
                _cleanup_error_ Error *e = NULL;
                if (flock(s.state->dir_fd, LOCK_EX) < 0 || remove_stopped(ctx, s.state, s.cgroup, s.spec, &e) < 0)
                        log_warn("delete '%s': %s, ignoring", id, error_message(e, -errno));
        }
        spawn_free(&s);
        sigprocmask(SIG_SETMASK, &old, NULL);
        return r;
}

int rt_seccomp_cache_open(RtContext *ctx)
{
        /* A dot name: never taken for a container by list. */
        if (mkdirat(ctx->root_fd, ".seccomp", 0700) < 0 && errno != EEXIST)
                return -errno;
        return openat(ctx->root_fd, ".seccomp", O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
}

int rt_container_list(RtContext *ctx, json_t **ret, Error **err)
{
        _cleanup_json_ json_t *list = json_array();
        int fd = dup(ctx->root_fd);
        DIR *d;
        struct dirent *de;

        if (fd < 0)
                return error_set(err, errno, "dup");
        d = fdopendir(fd);
        if (!d) {
                close(fd);
                return error_set(err, errno, "list '%s'", ctx->root);
        }
        rewinddir(d);
        while ((de = readdir(d))) {
                _cleanup_(rt_state_freep) RtState *st = NULL;
                if (de->d_name[0] == '.' || rt_state_load(ctx->root_fd, de->d_name, &st, NULL) < 0)
                        continue;
                json_array_append_new(list, rt_state_oci_json(st, rt_state_status(st)));
        }
        closedir(d);
        *ret = TAKE_PTR(list);
        return 0;
}

/* The container's state (locked when is_locked), its status, and its cgroup. */
static int load_with_cgroup(RtContext *ctx, const char *id, bool is_locked, RtState **ret_st, RtStatus *ret_status,
                            RtCgroup **ret_cg, Error **err)
{
        _cleanup_(rt_state_freep) RtState *st = NULL;
        int r;

        r = is_locked ? load_locked(ctx, id, &st, err) : rt_state_load(ctx->root_fd, id, &st, err);
        if (r < 0)
                return r;
        r = load_cgroup(st, ret_cg, err);
        if (r < 0)
                return r;
        *ret_status = rt_state_status(st);
        *ret_st = TAKE_PTR(st);
        return 0;
}

int rt_container_pause(RtContext *ctx, const char *id, bool is_paused, Error **err)
{
        _cleanup_(rt_state_freep) RtState *st = NULL;
        _cleanup_(rt_cgroup_freep) RtCgroup *cg = NULL;
        RtStatus status;
        int r;

        r = load_with_cgroup(ctx, id, true, &st, &status, &cg, err);
        if (r < 0)
                return r;
        if (is_paused && status != RT_STATUS_RUNNING)
                return error_setf(err, EINVAL, "container '%s' is %s, not running", id, rt_status_name(status));
        if (!is_paused && status != RT_STATUS_PAUSED)
                return error_setf(err, EINVAL, "container '%s' is %s, not paused", id, rt_status_name(status));
        return rt_cgroup_freeze(cg, is_paused, err);
}

int rt_container_pids(RtContext *ctx, const char *id, pid_t **ret, size_t *ret_n, Error **err)
{
        _cleanup_(rt_state_freep) RtState *st = NULL;
        _cleanup_(rt_cgroup_freep) RtCgroup *cg = NULL;
        RtStatus status;
        int r;

        r = load_with_cgroup(ctx, id, false, &st, &status, &cg, err);
        if (r < 0)
                return r;
        return rt_cgroup_pids(cg, ret, ret_n, err);
}

/* The cgroup of a container that is not stopped (locked when is_locked). */
static int load_live_cgroup(RtContext *ctx, const char *id, bool is_locked, RtCgroup **ret, Error **err)
{
        _cleanup_(rt_state_freep) RtState *st = NULL;
        _cleanup_(rt_cgroup_freep) RtCgroup *cg = NULL;
        RtStatus status;
        int r;

        r = load_with_cgroup(ctx, id, is_locked, &st, &status, &cg, err);
        if (r < 0)
                return r;
        if (status == RT_STATUS_STOPPED)
                return error_setf(err, EINVAL, "container '%s' is stopped", id);
        *ret = TAKE_PTR(cg);
        return 0;
}

int rt_container_stats(RtContext *ctx, const char *id, json_t **ret, Error **err)
{
        _cleanup_(rt_cgroup_freep) RtCgroup *cg = NULL;
        int r = load_live_cgroup(ctx, id, false, &cg, err);

        return r < 0 ? r : rt_cgroup_stats(cg, ret, err);
}

int rt_container_update(RtContext *ctx, const char *id, const json_t *resources, Error **err)
{
        _cleanup_(rt_cgroup_freep) RtCgroup *cg = NULL;
        _cleanup_(rt_resources_freep) RtResources *res = NULL;
        int r;

        r = load_live_cgroup(ctx, id, true, &cg, err);
        if (r < 0)
                return r;
        r = rt_resources_parse(resources, "resources", &res, err);
        if (r < 0)
                return r;
        return rt_cgroup_apply(cg, res, err);
}
