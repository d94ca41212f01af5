/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* system.c: system containers: the image's init as PID 1, its console and ttys on ptys, its halt signal */
/*
 * A system container is a container (container.c runs it) whose process is the image's init. What
 * differs is here: which init, the bundle's extra pieces (hostname = name, container=hull, tmpfs on
 * /run, the delegated cgroup2 tree, /dev/console and /dev/tty1..4), the pseudo-terminals made at each
 * start, and the signal that asks the init to halt.
 *
 * The terminals are the host's ptys, as LXC first did it: at start hull opens five, points the links
 * $runroot/sys/<id>/{console,tty1..tty4} at their slaves, and the bundle bind-mounts those links over
 * /dev/console and /dev/ttyN (a bind follows the link to the device). The init's stdin, stdout and
 * stderr are the console's slave. hull-monitor then holds every master (and the console's slave, so
 * that the console outlives an init that closes and reopens it, as systemd does), logs the console,
 * and serves $runroot/sys/<id>/console.sock for `hull console`.
 */
#include <fcntl.h>
#include <limits.h>
#include <pty.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/fs.h"
#include "common/json.h"
#include "common/log.h"
#include "common/process.h"
#include "common/strv.h"
#include "internal.h"
#include "runtime/cgroup.h"
#include "runtime/tty.h"

#define INIT_PATH "/sbin/init"

char *inst_system_rundir(const InstContext *c, const char *id)
{
        /* Short: console.sock in it must fit in sun_path. */
        return xasprintf("%s/sys/%.12s", c->runroot, id);
}

static char *rundir_path(const InstContext *c, const char *id, const char *file)
{
        _cleanup_free_ char *dir = inst_system_rundir(c, id);
        return xasprintf("%s/%s", dir, file);
}

/* The name of the file path leads to below rootfs_fd, every symlink followed inside it: "busybox" for
 * /sbin/init -> /bin/busybox. NULL when there is no such regular, executable file. */
static char *init_target(int rootfs_fd, const char *path)
{
        _cleanup_close_ int fd = open_in_root(rootfs_fd, path, O_PATH, 0, 0);
        char fdp[FD_PATH_MAX], target[PATH_MAX];
        struct stat st;
        ssize_t n;

        if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || !(st.st_mode & 0111))
                return NULL;
        n = readlink(fd_path(fd, fdp), target, sizeof(target) - 1);
        if (n <= 0)
                return NULL;
        target[n] = '\0';
        return xstrdup(strrchr(target, '/') ? strrchr(target, '/') + 1 : target);
}

static bool is_init_name(const char *name)
{
        return name && (strcmp(name, "init") == 0 || strcmp(name, "systemd") == 0);
}

int inst_system_init(const json_t *image_config, int rootfs_fd, const char *image_name, char ***ret_entrypoint,
                     Error **err)
{
        _cleanup_strv_ char **ep = NULL;
        _cleanup_free_ char *target = NULL;
        json_t *config = NULL;

        *ret_entrypoint = NULL;
        json_get_object(image_config, "config", "image config", &config, NULL);
        if (config && json_get_strv(config, "Entrypoint", "image config.config", &ep, NULL) >= 0 && ep && ep[0]) {
                const char *base = strrchr(ep[0], '/') ? strrchr(ep[0], '/') + 1 : ep[0];
                _cleanup_free_ char *t = init_target(rootfs_fd, ep[0]);
                /* An Entrypoint is the init when it is called so or leads to one (/sbin/init, systemd). */
                if (t && (is_init_name(base) || is_init_name(t)))
                        return 0;
        }
        target = init_target(rootfs_fd, INIT_PATH);
        if (!target)
                return error_setf(err, ENOENT, "image '%s' has no init (%s)", image_name, INIT_PATH);
        strv_push(ret_entrypoint, INIT_PATH);
        return 0;
}

int inst_system_halt_signal(int rootfs_fd, const char *init)
{
        _cleanup_free_ char *target = init_target(rootfs_fd, init);

        if (!target)
                return SIGTERM;
        if (strcmp(target, "systemd") == 0)
                return SIGRTMIN + 3; /* systemd(1): halt */
        if (strcmp(target, "busybox") == 0)
                return SIGUSR2; /* busybox init: poweroff; SIGTERM would be reboot */
        return SIGTERM;
}

/* The bundle's config.json, parsed. */
static int read_bundle(InstContext *c, const char *id, json_t **ret, Error **err)
{
        _cleanup_free_ char *path = inst_path(c, id, "config.json"), *text = NULL;
        size_t len;
        int r = read_file_at(AT_FDCWD, path, &text, &len, err);

        return r < 0 ? r : json_parse(text, len, "config.json", ret, err);
}

int inst_stop_signal(InstContext *c, const InstRecord *rec, const InstRunOptions *o)
{
        _cleanup_json_ json_t *cfg = NULL;
        _cleanup_free_ char *rootfs = NULL;
        _cleanup_close_ int fd = -EBADF;
        const char *init = NULL;
        int sig;

        if (o->stop_signal) {
                sig = signal_parse(o->stop_signal);
                if (sig > 0)
                        return sig;
                log_warn("stop signal '%s' of '%s' is not a signal, using SIGTERM", o->stop_signal, rec->name);
                return SIGTERM;
        }
        if (rec->kind != INST_KIND_SYSTEM)
                return SIGTERM;
        /* The init that runs is process.args[0] of the bundle. */
        if (read_bundle(c, rec->id, &cfg, NULL) < 0)
                return SIGTERM;
        init = json_string_value(json_array_get(json_object_get(json_object_get(cfg, "process"), "args"), 0));
        rootfs = inst_path(c, rec->id, "rootfs");
        fd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (!init || fd < 0)
                return SIGTERM;
        return inst_system_halt_signal(fd, init);
}

void inst_system_bundle_done(InstSystemBundle *b)
{
        strv_free(b->entrypoint);
        for (size_t i = 0; i < ARRAY_SIZE(b->files); i++) {
                free(b->files[i].source);
                free(b->files[i].destination);
        }
        *b = (InstSystemBundle){};
}

static const char *const devices[INST_SYSTEM_N_DEVICES] = { "console", "tty1", "tty2", "tty3", "tty4" };

int inst_system_bundle(InstContext *c, const InstRecord *rec, const InstRunOptions *o, const json_t *image_config,
                       int rootfs_fd, InstRunSpec *spec, InstSystemBundle *ret, Error **err)
{
        RtCgroupMode mode = RT_CGROUP_V2;
        int r;

        *ret = (InstSystemBundle){};
        if (!o->entrypoint) {
                r = inst_system_init(image_config, rootfs_fd, rec->image_name, &ret->entrypoint, err);
                if (r < 0)
                        return r;
                spec->entrypoint = ret->entrypoint;
        }
        for (size_t i = 0; i < INST_SYSTEM_N_DEVICES; i++)
                ret->files[i] = (InstBind){ rundir_path(c, rec->id, devices[i]), xasprintf("/dev/%s", devices[i]),
                                            false };
        if (!o->hostname)
                spec->hostname = rec->name;
        /* A v1-only host has no cgroup2 tree to delegate: the container then gets its v1 hierarchies. */
        if (rt_cgroup_mode(&mode, NULL) >= 0 && mode == RT_CGROUP_V1)
                spec->is_cgroup_v1 = true;
        spec->is_system = true;
        spec->is_tty = false; /* the console is the init's terminal, made at start */
        return 0;
}

void inst_system_console_init(InstSystemConsole *s)
{
        *s = (InstSystemConsole){ .slave = -EBADF, .listen_fd = -EBADF };
        for (size_t i = 0; i < INST_SYSTEM_N_DEVICES; i++)
                s->masters[i] = -EBADF;
}

void inst_system_console_done(InstSystemConsole *s)
{
        for (size_t i = 0; i < INST_SYSTEM_N_DEVICES; i++)
                safe_close(s->masters[i]);
        safe_close(s->slave);
        safe_close(s->listen_fd);
        inst_system_console_init(s);
}

/* console.sock, listening; the path is short by construction (inst_system_rundir). */
static int console_listen(const char *path, Error **err)
{
        _cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        struct sockaddr_un sa = { .sun_family = AF_UNIX };

        if (fd < 0)
                return error_set(err, errno, "socket");
        if (strlen(path) >= sizeof(sa.sun_path))
                return error_setf(err, ENAMETOOLONG, "console socket '%s': path too long", path);
        memcpy(sa.sun_path, path, strlen(path) + 1);
        if (unlink(path) < 0 && errno != ENOENT)
                return error_set(err, errno, "remove '%s'", path);
        if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || chmod(path, 0600) < 0 || listen(fd, 4) < 0)
                return error_set(err, errno, "console socket '%s'", path);
        return TAKE_FD(fd);
}

/* One pty whose slave link (rundir/name) the bundle binds over /dev/<name>; *ret_slave (may be NULL:
 * closed) gets the slave. */
static int open_device(const char *link, uid_t uid, gid_t gid, int *ret_master, int *ret_slave, Error **err)
{
        _cleanup_close_ int master = -EBADF, slave = -EBADF;
        char name[64];

        if (openpty(&master, &slave, NULL, NULL, NULL) < 0)
                return error_set(err, errno, "openpty");
        if (fcntl(master, F_SETFD, FD_CLOEXEC) < 0 || fcntl(slave, F_SETFD, FD_CLOEXEC) < 0)
                return error_set(err, errno, "fcntl");
        if (ptsname_r(master, name, sizeof(name)) != 0)
                return error_setf(err, EIO, "ptsname");
        if ((uid != 0 || gid != 0) && fchown(slave, uid, gid) < 0)
                return error_set(err, errno, "chown '%s'", name);
        if ((unlink(link) < 0 && errno != ENOENT) || symlink(name, link) < 0)
                return error_set(err, errno, "link '%s' to '%s'", link, name);
        *ret_master = TAKE_FD(master);
        if (ret_slave)
                *ret_slave = TAKE_FD(slave);
        return 0;
}

int inst_system_console_open(InstContext *c, const InstRecord *rec, InstSystemConsole *ret, Error **err)
{
        _cleanup_free_ char *dir = inst_system_rundir(c, rec->id), *sock = rundir_path(c, rec->id, "console.sock");
        InstIdmap map = {};
        int r;

        inst_system_console_init(ret);
        /* The ptys go to the container's root: the host ids its range starts at, or root's own. */
        r = inst_db_idmap_find(c->db, rec->id, &map, err);
        if (r < 0)
                return r;
        r = inst_run_dir_make(c, dir, err);
        if (r < 0)
                return r;
        for (size_t i = 0; i < INST_SYSTEM_N_DEVICES; i++) {
                _cleanup_free_ char *link = rundir_path(c, rec->id, devices[i]);
                r = open_device(link, map.uid_base, map.gid_base, &ret->masters[i], i == 0 ? &ret->slave : NULL, err);
                if (r < 0)
                        goto fail;
        }
        r = console_listen(sock, err);
        if (r < 0)
                goto fail;
        ret->listen_fd = r;
        return 0;
fail:
        inst_system_console_done(ret);
        return error_wrap(err, r, "console of '%s'", rec->name);
}

void inst_system_console_export(const InstSystemConsole *s)
{
        char text[128];
        int n;

        n = snprintf(text, sizeof(text), "%d %d", s->listen_fd, s->slave);
        fcntl(s->listen_fd, F_SETFD, 0);
        fcntl(s->slave, F_SETFD, 0);
        /* masters[0] is the console the monitor reads as the container's output; it clears its flag. */
        for (size_t i = 1; i < INST_SYSTEM_N_DEVICES; i++) {
                n += snprintf(text + n, sizeof(text) - (size_t)n, " %d", s->masters[i]);
                fcntl(s->masters[i], F_SETFD, 0);
        }
        setenv("HULL_MONITOR_CONSOLE", text, 1);
}

void inst_system_cleanup(InstContext *c, const char *id)
{
        _cleanup_free_ char *dir = inst_system_rundir(c, id);

        rm_rf_at(AT_FDCWD, dir, NULL);
}

int inst_system_console(InstContext *c, InstRecord *rec, Error **err)
{
        _cleanup_free_ char *path = rundir_path(c, rec->id, "console.sock");
        _cleanup_close_ int fd = -EBADF;
        InstState state;
        int r;

        if (rec->kind != INST_KIND_SYSTEM)
                return error_setf(err, EOPNOTSUPP,
                                  "'%s' is an application container: a console is for system containers and VMs",
                                  rec->name);
        r = inst_state(c, rec, &state, NULL, err);
        if (r < 0)
                return r;
        if (state != INST_STATE_RUNNING)
                return error_setf(err, EINVAL, "'%s' is %s, not running", rec->name, inst_state_name(state));
        r = rt_unix_connect(path, &fd, err);
        if (r < 0)
                return error_wrap(err, r, "console of '%s'", rec->name);
        return inst_console_relay(fd, rec->name, err);
}
