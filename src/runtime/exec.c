/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* exec.c: a new process in a running container, in its namespaces, cgroup and confinement */
#include <fcntl.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "cgroup.h"
#include "common/alloc.h"
#include "common/fs.h"
#include "common/json.h"
#include "common/log.h"
#include "common/process.h"
#include "common/strv.h"
#include "container.h"
#include "init.h"
#include "internal.h"
#include "linux.h"
#include "sealed.h"
#include "seccomp.h"
#include "state.h"
#include "tty.h"

/* The process to run: exec --process as given, or the container's own process with the
 * command line's args, env, cwd, user, capabilities and terminal laid over it (as runc does). */
static int build_process(const RtSpec *spec, const RtExecOptions *o, RtProcess **ret, Error **err)
{
        _cleanup_json_ json_t *p = NULL;

        if (o->process)
                return rt_process_parse(o->process, "process", ret, err);
        p = json_deep_copy(json_object_get(spec->json, "process"));
        if (!p)
                p = json_object();
        if (!o->args || !o->args[0])
                return error_setf(err, EINVAL, "exec: no command given");
        json_t *args = json_array();
        for (size_t i = 0; o->args[i]; i++)
                json_array_append_new(args, json_string(o->args[i]));
        json_object_set_new(p, "args", args);
        json_object_set_new(p, "terminal", json_boolean(o->is_tty));
        if (o->cwd)
                json_object_set_new(p, "cwd", json_string(o->cwd));
        if (o->env) {
                json_t *env = json_object_get(p, "env");
                if (!json_is_array(env)) {
                        env = json_array();
                        json_object_set_new(p, "env", env);
                }
                for (size_t i = 0; o->env[i]; i++)
                        json_array_append_new(env, json_string(o->env[i]));
        }
        if (o->no_new_privs)
                json_object_set_new(p, "noNewPrivileges", json_true());
        if (o->user || o->n_additional_gids) {
                json_t *u = json_object_get(p, "user");
                if (!json_is_object(u)) {
                        u = json_object();
                        json_object_set_new(p, "user", u);
                }
                if (o->user) {
                        unsigned uid, gid;
                        int n = sscanf(o->user, "%u:%u", &uid, &gid);
                        if (n < 1)
                                return error_setf(err, EINVAL, "--user '%s': expected UID[:GID]", o->user);
                        json_object_set_new(u, "uid", json_integer(uid));
                        json_object_set_new(u, "gid", json_integer(n == 2 ? gid : 0));
                }
                if (o->n_additional_gids) {
                        json_t *g = json_array();
                        for (size_t i = 0; i < o->n_additional_gids; i++)
                                json_array_append_new(g, json_integer(o->additional_gids[i]));
                        json_object_set_new(u, "additionalGids", g);
                }
        }
        if (o->caps) {
                static const char *const sets[] = { "bounding", "effective", "permitted", "inheritable" };
                json_t *c = json_object_get(p, "capabilities");
                if (!json_is_object(c)) {
                        c = json_object();
                        json_object_set_new(p, "capabilities", c);
                }
                for (size_t k = 0; k < ARRAY_SIZE(sets); k++) {
                        json_t *a = json_object_get(c, sets[k]);
                        if (!json_is_array(a)) {
                                a = json_array();
                                json_object_set_new(c, sets[k], a);
                        }
                        for (size_t i = 0; o->caps[i]; i++)
                                json_array_append_new(a, json_string(o->caps[i]));
                }
        }
        return rt_process_parse(p, "process", ret, err);
}

typedef struct ExecCtx {
        const RtSpec *spec;
        RtProcess *process;
        RtSeccomp *seccomp;
        const RtExecOptions *o;
        int ns_fds[_RT_NS_MAX];
        int sync_fd;
        int child_fd;
        int console_fd;
        RtCgroup *cgroup;
        int cgroup_fd;      /* unified hierarchy, for CLONE_INTO_CGROUP, or -EBADF */
        int cgroupns_fd;    /* the container's cgroup namespace, joined last (exec_child), or -EBADF */
        bool is_v2_entered;
        bool is_direct;     /* made by start_direct: the process joins the namespaces itself */
} ExecCtx;

static int exec_setup(ExecCtx *x, Error **err)
{
        _cleanup_free_ char *path = NULL;
        bool is_seccomp_loaded = false;
        int r;

        if (x->process->terminal) {
                _cleanup_close_ int master = -EBADF;
                r = rt_tty_setup_slave(x->process->console_height, x->process->console_width, false, &master, err);
                if (r < 0)
                        return r;
                if (x->console_fd >= 0)
                        r = rt_send_fd(x->console_fd, master, "console", 7, err);
                else
                        r = rt_sync_send(x->child_fd, RT_SYNC_PTY, 0, NULL, master, err);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; i < x->process->n_rlimits; i++) {
                const RtRlimit *l = &x->process->rlimits[i];
                struct rlimit rl = { .rlim_cur = l->soft, .rlim_max = l->hard };
                if (setrlimit(l->resource, &rl) < 0)
                        return error_set(err, errno, "process.rlimits[%zu]", i);
        }
        r = rt_caps_drop_bounding(x->process, err);
        if (r < 0)
                return r;
        r = rt_process_resolve(x->process, &path, err);
        if (r < 0)
                return r;
        r = rt_process_check_cwd(x->process, false, err);
        if (r < 0)
                return r;
        r = rt_process_prepare(x->process, x->seccomp, x->o->preserve_fds, &is_seccomp_loaded, err);
        if (r < 0)
                return r;
        if (x->o->is_detached)
                prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0);
        r = rt_sync_send(x->child_fd, RT_SYNC_READY, 0, NULL, -EBADF, err);
        if (r < 0)
                return r;
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        return rt_process_exec(x->process, x->seccomp, is_seccomp_loaded, path, err);
}

/* Joins the container's namespaces but the cgroup one: exec_child joins that after its cgroup. */
static int join_ns(ExecCtx *x, Error **err)
{
        x->cgroupns_fd = x->ns_fds[RT_NS_CGROUP];
        x->ns_fds[RT_NS_CGROUP] = -EBADF;
        return rt_ns_join(x->ns_fds, err);
}

static _noreturn_ void exec_child(ExecCtx *x)
{
        int keep[] = { x->child_fd, x->console_fd };
        Error *err = NULL;
        int r = 0;

        prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
        /* Made straight from the runtime (start_direct), which joined the pid namespace for it. */
        if (x->is_direct) {
                x->ns_fds[RT_NS_PID] = -EBADF;
                r = join_ns(x, &err);
        }
        if (r >= 0 && x->cgroup)
                r = rt_cgroup_enter_self(x->cgroup, x->is_v2_entered, &err);
        /* The cgroup namespace only once in the cgroup: where cgroup2 is mounted with nsdelegate
         * (systemd's default), the kernel refuses (ENOENT) to move a process from a cgroup outside
         * the mover's cgroup namespace, through cgroup.procs and CLONE_INTO_CGROUP alike. */
        if (r >= 0 && x->cgroupns_fd >= 0 && setns(x->cgroupns_fd, CLONE_NEWCGROUP) < 0)
                r = error_set(&err, errno, "join cgroup namespace");
        close_fds_except(3 + x->o->preserve_fds, keep, ARRAY_SIZE(keep));
        if (r >= 0)
                r = exec_setup(x, &err);
        /* The runtime listens until we exec; only if it cannot hear us is stderr the place. */
        if (rt_sync_send(x->child_fd, RT_SYNC_ERROR, -r, error_message(err, r), -EBADF, NULL) < 0)
                dprintf(STDERR_FILENO, "hull: %s\n", error_message(err, r));
        _exit(127);
}

/* exec_child() in a child that shares our memory (rt_clone_vfork()): on its own copy of the context,
 * which it changes as it joins the namespaces, so that ours stays as it was. */
static _noreturn_ void exec_child_shared(void *p)
{
        ExecCtx copy = *(ExecCtx *)p;

        exec_child(&copy);
}

/* The intermediate: joins the namespaces (the pid one applies to its children only) and clones
 * the process as our sibling, so the runtime can wait for it. */
static _noreturn_ void exec_child_stage(void *x)
{
        exec_child(x);
}

static _noreturn_ void exec_stage(ExecCtx *x)
{
        Error *err = NULL;
        int r;

        /* Until it execs, the process is our binary: no process in the container may open it
         * through /proc (CVE-2019-5736). The flag is inherited by the clone below. */
        prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
        r = join_ns(x, &err);
        rt_stage_finish(x->child_fd, r, err, 0, x->cgroup_fd, &x->is_v2_entered, exec_child_stage, x);
}

/*
 * Makes the process without an intermediate, where we may join the container's pid namespace for
 * our children (a rootless caller may not before it is in the user namespace, nor may a time
 * namespace be joined so): one process less to make. Returns its pid, or -errno with nothing made
 * (the caller then goes through the intermediate).
 */
static pid_t start_direct(ExecCtx *x)
{
        _cleanup_close_ int own = -EBADF;
        pid_t pid;
        int r;

        if (x->ns_fds[RT_NS_TIME] >= 0 || x->ns_fds[RT_NS_PID] < 0)
                return -EOPNOTSUPP;
        own = open("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC);
        if (own < 0 || setns(x->ns_fds[RT_NS_PID], CLONE_NEWPID) < 0)
                return -errno;
        /* Until it execs, the process is our binary: no process in the container may open it
         * through /proc (CVE-2019-5736). The flag goes with our memory to the clone; we take it
         * back after. */
        prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
        x->is_direct = true;
        /* The process never waits for us before it execs (its messages queue on the socket), so it
         * may share our memory while we sleep: the cheapest process to make from a large one. */
        pid = rt_clone_vfork(x->cgroup_fd, &x->is_v2_entered, exec_child_shared, x);
        if (pid < 0 && errno == EOPNOTSUPP) {
                pid = rt_clone(0, x->cgroup_fd, NULL, &x->is_v2_entered);
                if (pid == 0)
                        exec_child(x);
        }
        x->is_direct = false;
        r = pid < 0 ? -errno : 0;
        prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
        /* Back to our own, for whatever we make later. */
        if (setns(own, CLONE_NEWPID) < 0)
                log_warn("exec: leave the container's pid namespace: %m");
        return r < 0 ? r : pid;
}

/* The container's namespaces, from its init process, except those it shares with us. */
static int open_container_ns(const RtSpec *spec, pid_t pid, int fds[_RT_NS_MAX], Error **err)
{
        for (int t = 0; t < _RT_NS_MAX; t++)
                fds[t] = -EBADF;
        for (int t = 0; t < _RT_NS_MAX; t++) {
                char path[64];
                if (!spec->ns[t].is_set)
                        continue;
                snprintf(path, sizeof(path), "/proc/%d/ns/%s", pid, rt_ns_proc_name(t));
                fds[t] = open(path, O_RDONLY | O_CLOEXEC);
                if (fds[t] < 0) {
                        int r = -errno;
                        rt_ns_close(fds);
                        return error_set(err, r, "open '%s'", path);
                }
        }
        return 0;
}

/*
 * Starts the process, straight from us or else through an intermediate, which reports the
 * process's pid (or its own failure) and exits. The process reports its terminal, then that it
 * is ready, and execs. It does not wait for us: its messages and the intermediate's may come in
 * either order.
 */
static int exec_start(ExecCtx *x, pid_t *ret_pid, int *ret_pty, Error **err)
{
        bool is_ready = false;
        pid_t stage, pid;
        int pair[2], r;

        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) < 0)
                return error_set(err, errno, "socketpair");
        x->sync_fd = pair[0];
        x->child_fd = pair[1];
        pid = start_direct(x);
        if (pid > 0) {
                *ret_pid = pid;
                stage = 0;
        } else {
                stage = fork();
                if (stage < 0)
                        return error_set(err, errno, "fork");
                if (stage == 0)
                        exec_stage(x);
        }
        close(x->child_fd);
        x->child_fd = -EBADF;
        for (;;) {
                _cleanup_free_ char *text = NULL;
                _cleanup_close_ int fd = -EBADF;
                RtSyncMsg m;
                r = rt_sync_recv(x->sync_fd, &m, &text, &fd, err);
                if (r < 0)
                        break;
                if (m.type == RT_SYNC_ERROR) {
                        r = error_setf(err, m.value > 0 ? m.value : EIO, "%s", text);
                        break;
                }
                if (m.type == RT_SYNC_PID) {
                        *ret_pid = m.value;
                        waitpid(stage, NULL, 0);
                        stage = 0;
                } else if (m.type == RT_SYNC_PTY)
                        *ret_pty = TAKE_FD(fd);
                else if (m.type == RT_SYNC_READY)
                        is_ready = true;
                else {
                        r = error_setf(err, EPROTO, "unexpected message %u from exec process", m.type);
                        break;
                }
                if (is_ready && stage == 0)
                        return rt_sync_wait_exec(x->sync_fd, err);
        }
        if (stage > 0)
                waitpid(stage, NULL, 0);
        return r;
}

int rt_container_exec(RtContext *ctx, const char *id, const RtExecOptions *o, int *ret_status, Error **err)
{
        _cleanup_(rt_state_freep) RtState *st = NULL;
        _cleanup_(rt_spec_freep) RtSpec *spec = NULL;
        _cleanup_(rt_process_freep) RtProcess *process = NULL;
        _cleanup_(rt_seccomp_freep) RtSeccomp *seccomp = NULL;
        _cleanup_(rt_cgroup_freep) RtCgroup *cg = NULL;
        _cleanup_free_ char *raw = NULL;
        _cleanup_close_ int pidfd = -EBADF, pty = -EBADF;
        ExecCtx x = { .sync_fd = -EBADF, .child_fd = -EBADF, .console_fd = -EBADF, .cgroupns_fd = -EBADF };
        pid_t pid = 0;
        sigset_t mask, old;
        RtStatus status;
        size_t len;
        int r;

        r = rt_state_load(ctx->root_fd, id, &st, o->is_running_only ? NULL : err);
        if (r < 0)
                return o->is_running_only ? -ESRCH : r;
        status = rt_state_status(st);
        if (o->is_running_only && status != RT_STATUS_RUNNING)
                return -ESRCH;
        if (status != RT_STATUS_RUNNING && status != RT_STATUS_CREATED)
                return error_setf(err, EINVAL, "container '%s' is %s, not running", id, rt_status_name(status));
        /* What exec needs of the config, made at create; the whole config for a state made before. */
        r = read_file_at(st->dir_fd, "exec.json", &raw, &len, NULL);
        if (r == -ENOENT)
                r = read_file_at(st->dir_fd, "config.json", &raw, &len, err);
        else if (r < 0)
                r = error_set(err, r, "container '%s': read exec.json", id);
        if (r < 0)
                return r;
        r = rt_spec_parse(raw, len, &spec, err);
        if (r < 0)
                return r;
        r = build_process(spec, o, &process, err);
        if (r < 0)
                return r;
        /* Our exec'd process is visible in the container until it execs: see sealed.h. */
        if (rt_sealed_needed(spec, process)) {
                r = rt_sealed_reexec(err);
                if (r < 0)
                        return r;
        }
        if (process->terminal && !o->console_socket && o->is_detached)
                return error_setf(err, EINVAL, "exec: a terminal needs --console-socket when detached");
        if (o->console_socket && !process->terminal)
                return error_setf(err, EINVAL, "exec: --console-socket given without a terminal (-t)");
        _cleanup_close_ int cache_fd = spec->seccomp ? rt_seccomp_cache_open(ctx) : -EBADF;
        r = rt_seccomp_prepare(spec->seccomp, "linux.seccomp", cache_fd, &seccomp, err);
        if (r < 0)
                return r;
        if (st->cgroup && rt_cgroup_from_json(st->cgroup, &cg, err) < 0)
                return -EINVAL;
        x.spec = spec;
        x.cgroup = cg;
        x.cgroup_fd = cg ? rt_cgroup_clone_fd(cg) : -EBADF;
        x.process = process;
        x.seccomp = seccomp;
        x.o = o;
        r = open_container_ns(spec, st->pid, x.ns_fds, err);
        if (r < 0)
                return r;
        if (o->console_socket && (r = rt_unix_connect(o->console_socket, &x.console_fd, err)) < 0) {
                rt_ns_close(x.ns_fds);
                return error_wrap(err, r, "--console-socket");
        }
        rt_block_signals(&mask, &old);
        r = exec_start(&x, &pid, &pty, err);
        rt_ns_close(x.ns_fds);
        if (x.sync_fd >= 0)
                close(x.sync_fd);
        if (x.console_fd >= 0)
                close(x.console_fd);
        if (r >= 0 && o->pid_file) {
                char buf[32];
                int n = snprintf(buf, sizeof(buf), "%d", pid);
                r = write_file_atomic_at(AT_FDCWD, o->pid_file, buf, (size_t)n, 0644, err);
        }
        if (r < 0) {
                if (pid > 0) {
                        kill(pid, SIGKILL);
                        waitpid(pid, NULL, 0);
                }
                sigprocmask(SIG_SETMASK, &old, NULL);
                return r;
        }
        if (o->is_detached) {
                *ret_status = 0;
                sigprocmask(SIG_SETMASK, &old, NULL);
                return 0;
        }
        pidfd = pidfd_open_pid(pid);
        r = rt_foreground_wait(pid, pidfd, pty, &mask, ret_status, err);
        sigprocmask(SIG_SETMASK, &old, NULL);
        return r;
}
