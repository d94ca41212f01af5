/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* init.c: the container's first process, from clone to execve of the user's program */
#include <fcntl.h>
#include <linux/close_range.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "common/alloc.h"
#include "common/fs.h"
#include "common/strv.h"
#include "hooks.h"
#include "init.h"
#include "linux.h"
#include "tty.h"

#define SYNC_MAX_PAYLOAD (4u << 20)

int rt_sync_send(int fd, RtSyncType type, int32_t value, const char *payload, int pass_fd, Error **err)
{
        size_t plen = payload ? strlen(payload) : 0;
        _cleanup_free_ char *buf = xmalloc(sizeof(RtSyncMsg) + plen);
        RtSyncMsg m = { .type = type, .value = value };

        memcpy(buf, &m, sizeof(m));
        if (plen)
                memcpy(buf + sizeof(m), payload, plen);
        return rt_send_fd(fd, pass_fd, buf, sizeof(m) + plen, err);
}

int rt_sync_recv(int fd, RtSyncMsg *ret, char **ret_payload, int *ret_fd, Error **err)
{
        _cleanup_free_ char *buf = NULL;
        _cleanup_close_ int passed = -EBADF;
        ssize_t size, n;

        do
                size = recv(fd, NULL, 0, MSG_PEEK | MSG_TRUNC);
        while (size < 0 && errno == EINTR);
        if (size < 0)
                return error_set(err, errno, "receive from container process");
        if (size == 0)
                return error_setf(err, EPIPE, "the container process exited during setup");
        if ((size_t)size < sizeof(RtSyncMsg) || (size_t)size > sizeof(RtSyncMsg) + SYNC_MAX_PAYLOAD)
                return error_setf(err, EPROTO, "bad message of %zd bytes from container process", size);
        buf = xmalloc((size_t)size + 1);
        n = rt_recv_fd(fd, &passed, buf, (size_t)size, err);
        if (n < 0)
                return (int)n;
        if (n != size)
                return error_setf(err, EPROTO, "short message from container process");
        memcpy(ret, buf, sizeof(*ret));
        buf[size] = 0;
        if (ret_payload)
                *ret_payload = xstrdup(buf + sizeof(RtSyncMsg));
        if (ret_fd)
                *ret_fd = TAKE_FD(passed);
        return 0;
}

int rt_sync_expect(int fd, RtSyncType type, char **ret_payload, Error **err)
{
        _cleanup_free_ char *payload = NULL;
        RtSyncMsg m;
        int r;

        r = rt_sync_recv(fd, &m, &payload, NULL, err);
        if (r < 0)
                return r;
        if (m.type == RT_SYNC_ERROR)
                return error_setf(err, m.value > 0 ? m.value : EIO, "%s", payload);
        if (m.type != type)
                return error_setf(err, EPROTO, "unexpected message %u from container process (wanted %u)", m.type,
                                  type);
        if (ret_payload)
                *ret_payload = TAKE_PTR(payload);
        return 0;
}

int rt_process_resolve(const RtProcess *p, char **ret_path, Error **err)
{
        const char *name = p->args[0], *path;
        _cleanup_free_ char *dirs = NULL;
        char *save = NULL;
        int first_err = ENOENT;

        if (strchr(name, '/')) {
                if (access(name, F_OK) < 0)
                        return error_set(err, errno, "exec '%s'", name);
                *ret_path = xstrdup(name);
                return 0;
        }
        path = strv_env_get(p->env, "PATH");
        dirs = xstrdup(path ? path : "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
        for (char *d = strtok_r(dirs, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
                _cleanup_free_ char *full = xasprintf("%s/%s", *d ? d : ".", name);
                struct stat st;
                if (stat(full, &st) < 0 || !S_ISREG(st.st_mode))
                        continue;
                if (access(full, X_OK) < 0) {
                        first_err = errno;
                        continue;
                }
                *ret_path = TAKE_PTR(full);
                return 0;
        }
        return error_setf(err, first_err, "exec '%s': executable file not found in $PATH", name);
}

int rt_process_check_cwd(const RtProcess *p, bool is_create, Error **err)
{
        _cleanup_close_ int root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
        _cleanup_close_ int fd = -EBADF;

        if (root < 0)
                return error_set(err, errno, "open /");
        /* Resolved inside the root with no magic links: "/proc/self/fd/N" (a leaked fd of the
         * runtime, CVE-2024-21626) cannot name a directory outside the container. */
        if (is_create) {
                int r = mkpath_in_root(root, p->cwd, false, err);
                if (r < 0)
                        return error_wrap(err, r, "process.cwd");
                fd = r;
        } else {
                fd = open_in_root(root, p->cwd, O_PATH | O_DIRECTORY, 0, 0);
                if (fd < 0)
                        return error_set(err, fd, "process.cwd '%s'", p->cwd);
        }
        struct stat st;
        if (fstat(fd, &st) < 0 || !S_ISDIR(st.st_mode))
                return error_setf(err, ENOTDIR, "process.cwd '%s': not a directory", p->cwd);
        return 0;
}

static int set_rlimits(const RtProcess *p, Error **err)
{
        for (size_t i = 0; i < p->n_rlimits; i++) {
                const RtRlimit *l = &p->rlimits[i];
                struct rlimit rl = { .rlim_cur = l->soft, .rlim_max = l->hard }, cur;

                if (setrlimit(l->resource, &rl) == 0)
                        continue;
                if (errno == EPERM && getrlimit(l->resource, &cur) == 0 && l->hard > cur.rlim_max)
                        return error_setf(err, EPERM,
                                          "process.rlimits[%zu]: hard limit %llu is above the %llu this host "
                                          "allows (raising it needs CAP_SYS_RESOURCE)",
                                          i, (unsigned long long)l->hard, (unsigned long long)cur.rlim_max);
                return error_set(err, errno, "process.rlimits[%zu]: setrlimit", i);
        }
        return 0;
}

/* chdir into cwd and make sure it lies inside our root: a cwd outside it (a leaked host
 * directory fd, CVE-2024-21626) shows as "(unreachable)", and the kernel fails getcwd with ENOENT. */
static int enter_cwd(const RtProcess *p, Error **err)
{
        char cwd[4096];

        if (chdir(p->cwd) < 0)
                return error_set(err, errno, "process.cwd: chdir '%s'", p->cwd);
        if (!getcwd(cwd, sizeof(cwd)) || cwd[0] != '/')
                return error_setf(err, EPERM, "process.cwd: '%s' is outside the container", p->cwd);
        return 0;
}

int rt_process_prepare(const RtProcess *p, RtSeccomp *seccomp, int preserve_fds, bool *is_seccomp_loaded,
                       Error **err)
{
        bool needs_chdir = false;
        int r;

        /* As root first, as runc does: a cwd only root can enter is still the process's cwd. A
         * permission error is tried again as the user, below. */
        r = enter_cwd(p, err);
        if (r == -EACCES || r == -EPERM) {
                error_clear(err);
                needs_chdir = true;
        } else if (r < 0) {
                return r;
        }
        /* Nothing of ours may reach the container: every fd beyond the preserved ones closes on
         * exec. Before any filter is loaded, which might not allow close_range. */
        if (syscall(SYS_close_range, 3 + preserve_fds, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
                return error_set(err, errno, "close_range");
        for (int fd = 3; fd < 3 + preserve_fds; fd++) {
                int fl = fcntl(fd, F_GETFD);
                if (fl >= 0)
                        fcntl(fd, F_SETFD, fl & ~FD_CLOEXEC);
        }
        /* Without no_new_privs, loading a filter needs CAP_SYS_ADMIN: load it while we still
         * have it, before the change of user (as runc does). With no_new_privs it waits until
         * rt_process_exec(), so the filter sees as few of our own syscalls as possible. */
        if (seccomp && !*is_seccomp_loaded && !p->no_new_privileges) {
                int notify = -EBADF;
                r = rt_seccomp_load(seccomp, &notify, err);
                if (r < 0)
                        return error_wrap(err, r, "linux.seccomp");
                *is_seccomp_loaded = true;
        }
        r = rt_caps_change_user(p, err);
        if (r < 0)
                return r;
        if (p->no_new_privileges && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                return error_set(err, errno, "process.noNewPrivileges");
        if (needs_chdir) {
                r = enter_cwd(p, err);
                if (r < 0)
                        return r;
        }
        if (p->has_umask)
                umask(p->umask);
        return 0;
}

int rt_process_exec(const RtProcess *p, RtSeccomp *seccomp, bool is_seccomp_loaded, const char *path, Error **err)
{
        if (seccomp && !is_seccomp_loaded) {
                int notify = -EBADF;
                int r = rt_seccomp_load(seccomp, &notify, err);
                if (r < 0)
                        return error_wrap(err, r, "linux.seccomp");
        }
        execve(path, p->args, p->env ? p->env : (char *[]){ NULL });
        return error_set(err, errno, "exec '%s'", p->args[0]);
}

static _noreturn_ void fail(const RtInitArgs *a, int r, bool is_started, Error *e)
{
        Error *dummy = NULL;
        /* The runtime reads our error and reports it, unless we were started through the fifo:
         * then `create` is gone and `start` only waits for the fifo, and stderr is the only
         * place left to say it. (`run` listens until we exec, so it hears errors after start.) */
        if ((!is_started || a->fifo_fd < 0) &&
            rt_sync_send(a->sync_fd, RT_SYNC_ERROR, -r, error_message(e, r), -EBADF, &dummy) >= 0)
                _exit(127);
        error_free(dummy);
        dprintf(STDERR_FILENO, "hull: %s\n", error_message(e, r));
        _exit(127);
}

int rt_sync_wait_exec(int fd, Error **err)
{
        RtSyncMsg m;
        _cleanup_free_ char *payload = NULL;
        _cleanup_error_ Error *e = NULL;
        int r;

        /* Our peer's end is close-on-exec: EOF means it ran execve (or died without a word). */
        r = rt_sync_recv(fd, &m, &payload, NULL, &e);
        if (r == -EPIPE)
                return 0;
        if (r < 0) {
                if (err)
                        *err = TAKE_PTR(e);
                return r;
        }
        if (m.type == RT_SYNC_ERROR)
                return error_setf(err, m.value > 0 ? m.value : EIO, "%s", payload);
        return error_setf(err, EPROTO, "unexpected message %u from container process", m.type);
}

static int setup_identity(const RtInitArgs *a, Error **err)
{
        const RtSpec *s = a->spec;

        if (s->ns[RT_NS_USER].is_set) {
                /* Become the namespace's root: the maps are written now. */
                if (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0)
                        return error_set(err, errno, "become root in the user namespace");
        }
        if (s->ns[RT_NS_CGROUP].is_set && !s->ns[RT_NS_CGROUP].path && unshare(CLONE_NEWCGROUP) < 0)
                return error_set(err, errno, "create cgroup namespace");
        if (s->hostname && sethostname(s->hostname, strlen(s->hostname)) < 0)
                return error_set(err, errno, "hostname: sethostname '%s'", s->hostname);
        if (s->domainname && setdomainname(s->domainname, strlen(s->domainname)) < 0)
                return error_set(err, errno, "domainname: setdomainname '%s'", s->domainname);
        return 0;
}

static int setup_rootfs(const RtInitArgs *a, const char *state_json, Error **err)
{
        const RtSpec *s = a->spec;
        _cleanup_close_ int root_fd = -EBADF;
        int r;

        bool is_shared_mntns = !s->ns[RT_NS_MOUNT].is_set;

        if (is_shared_mntns) {
                /* No mount namespace of its own: the spec says the container inherits ours, so
                 * its mounts are made in the host's, below the rootfs only, and detached again by
                 * delete. The rootfs is bound onto itself (so a read-only root is its own mount),
                 * the host's propagation is left alone, and chroot stands in for pivot_root. */
                if (mount(a->rootfs, a->rootfs, NULL, MS_BIND | MS_REC, NULL) < 0)
                        return error_set(err, errno, "bind rootfs '%s'", a->rootfs);
                root_fd = open(a->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
                if (root_fd < 0)
                        return error_set(err, errno, "open rootfs '%s'", a->rootfs);
        } else {
                r = rt_mount_prepare_rootfs(s, a->rootfs, &root_fd, err);
                if (r < 0)
                        return r;
        }
        r = rt_mount_all(s, root_fd, a->rootfs, err);
        if (r < 0)
                return r;
        r = rt_devices_setup(s, root_fd, s->ns[RT_NS_USER].is_set, err);
        if (r < 0)
                return r;
        if (s->n_hooks[RT_HOOK_PRESTART] || s->n_hooks[RT_HOOK_CREATE_RUNTIME]) {
                r = rt_sync_send(a->sync_fd, RT_SYNC_HOOKS, 0, NULL, -EBADF, err);
                if (r < 0)
                        return r;
                r = rt_sync_expect(a->sync_fd, RT_SYNC_HOOKS_DONE, NULL, err);
                if (r < 0)
                        return r;
        }
        r = rt_hooks_run(s->hooks[RT_HOOK_CREATE_CONTAINER], s->n_hooks[RT_HOOK_CREATE_CONTAINER],
                         RT_HOOK_CREATE_CONTAINER, state_json, err);
        if (r < 0)
                return r;
        if (is_shared_mntns) {
                if (chdir(a->rootfs) < 0 || chroot(".") < 0 || chdir("/") < 0)
                        return error_set(err, errno, "chroot into rootfs");
        } else if (a->no_pivot) {
                if (chdir(a->rootfs) < 0 || mount(a->rootfs, "/", NULL, MS_MOVE, NULL) < 0 || chroot(".") < 0 ||
                    chdir("/") < 0)
                        return error_set(err, errno, "move into rootfs (--no-pivot)");
        } else {
                r = rt_rootfs_pivot(a->rootfs, err);
                if (r < 0)
                        return r;
        }
        return rt_rootfs_finish(s, err);
}

static int setup_terminal(const RtInitArgs *a, Error **err)
{
        _cleanup_close_ int master = -EBADF;
        int r;

        r = rt_tty_setup_slave(a->process->console_height, a->process->console_width, true, &master, err);
        if (r < 0)
                return r;
        if (a->console_fd >= 0)
                return rt_send_fd(a->console_fd, master, "console", 7, err);
        return rt_sync_send(a->sync_fd, RT_SYNC_PTY, 0, NULL, master, err);
}

static int write_oom_score_adj(const RtProcess *p, Error **err)
{
        char buf[16];
        int r;

        if (!p->has_oom_score_adj)
                return 0;
        snprintf(buf, sizeof(buf), "%d", p->oom_score_adj);
        r = write_file_at(AT_FDCWD, "/proc/self/oom_score_adj", buf, err);
        return r < 0 ? error_wrap(err, r, "process.oomScoreAdj") : 0;
}

static int wait_for_start(const RtInitArgs *a, Error **err)
{
        char c;

        if (a->fifo_fd < 0)
                return rt_sync_expect(a->sync_fd, RT_SYNC_START, NULL, err);
        /* We hold the fifo open for both reading and writing, so this read blocks until `start`
         * writes its byte (and `start` can tell we are alive: its open for writing succeeds). */
        for (;;) {
                ssize_t n = read(a->fifo_fd, &c, 1);
                if (n == 1)
                        return 0;
                if (n < 0 && errno != EINTR)
                        return error_set(err, errno, "wait for start");
        }
}

static int run_init(const RtInitArgs *a, bool *ret_is_started, Error **err)
{
        const RtSpec *s = a->spec;
        const RtProcess *p = a->process;
        _cleanup_free_ char *state_json = NULL, *path = NULL;
        bool is_seccomp_loaded = false;
        sigset_t none;
        int r;

        r = rt_sync_expect(a->sync_fd, RT_SYNC_GO, &state_json, err);
        if (r < 0)
                return r;
        r = setup_identity(a, err);
        if (r < 0)
                return r;
        /* From here on no other process may open our /proc files: we are still the runtime's binary. */
        prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
        r = setup_rootfs(a, state_json, err);
        if (r < 0)
                return r;
        if (p->terminal) {
                r = setup_terminal(a, err);
                if (r < 0)
                        return r;
        }
        r = write_oom_score_adj(p, err);
        if (r < 0)
                return r;
        r = set_rlimits(p, err);
        if (r < 0)
                return r;
        r = rt_caps_drop_bounding(p, err);
        if (r < 0)
                return r;
        r = rt_process_resolve(p, &path, err);
        if (r < 0)
                return r;
        r = rt_process_check_cwd(p, true, err);
        if (r < 0)
                return r;
        if (a->seccomp && rt_seccomp_listener_path(a->seccomp)) {
                /* The listener must have the fd before the container runs: load now. */
                _cleanup_close_ int notify = -EBADF;
                if (p->no_new_privileges && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                        return error_set(err, errno, "process.noNewPrivileges");
                r = rt_seccomp_load(a->seccomp, &notify, err);
                if (r < 0)
                        return error_wrap(err, r, "linux.seccomp");
                is_seccomp_loaded = true;
                r = rt_sync_send(a->sync_fd, RT_SYNC_SECCOMP_FD, 0, NULL, notify, err);
                if (r < 0)
                        return r;
                r = rt_sync_expect(a->sync_fd, RT_SYNC_SECCOMP_DONE, NULL, err);
                if (r < 0)
                        return r;
        }
        r = rt_process_prepare(p, a->seccomp, a->preserve_fds, &is_seccomp_loaded, err);
        if (r < 0)
                return r;
        /* A change of credentials clears the parent-death signal: set it again for `run`. */
        prctl(PR_SET_PDEATHSIG, a->is_detached ? 0 : SIGKILL, 0, 0, 0);
        r = rt_sync_send(a->sync_fd, RT_SYNC_READY, 0, NULL, -EBADF, err);
        if (r < 0)
                return r;
        r = wait_for_start(a, err);
        if (r < 0)
                return r;
        *ret_is_started = true;
        r = rt_hooks_run(s->hooks[RT_HOOK_START_CONTAINER], s->n_hooks[RT_HOOK_START_CONTAINER],
                         RT_HOOK_START_CONTAINER, state_json, err);
        if (r < 0)
                return r;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        return rt_process_exec(p, a->seccomp, is_seccomp_loaded, path, err);
}

void rt_init_main(const RtInitArgs *a)
{
        _cleanup_free_ int *keep = xnew(int, 3 + a->spec->n_mounts);
        size_t n_keep = 0;
        Error *err = NULL;
        bool is_started = false;
        int r;

        /* Die with the runtime while it is setting us up; `create` clears this before it leaves. */
        prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
        r = a->join_fds ? rt_ns_join(a->join_fds, &err) : 0;
        if (r >= 0 && a->cgroup)
                r = rt_cgroup_enter_self(a->cgroup, a->is_cgroup_v2_entered, &err);
        /* A cgroup namespace given by path is joined only now, in our cgroup: see exec_child(). */
        if (r >= 0 && a->cgroupns_fd >= 0 && setns(a->cgroupns_fd, CLONE_NEWCGROUP) < 0)
                r = error_set(&err, errno, "join cgroup namespace");
        if (r < 0)
                fail(a, r, false, err);
        /* Of what the runtime's caller gave us, only stdio and the preserved fds reach the
         * container; drop the rest now rather than hold it open (a pipe, a log) until exec. */
        keep[n_keep++] = a->sync_fd;
        keep[n_keep++] = a->fifo_fd;
        keep[n_keep++] = a->console_fd;
        for (size_t i = 0; i < a->spec->n_mounts; i++)
                keep[n_keep++] = a->spec->mounts[i].prepared_fd; /* idmapped mounts to move in */
        close_fds_except(3 + a->preserve_fds, keep, n_keep);
        r = run_init(a, &is_started, &err);
        fail(a, r, is_started, err);
}
