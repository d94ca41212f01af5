/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* container.c: containers from images (application and system): create, run, start under a monitor, stop, rm */
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include "bundle.h"
#include "common/alloc.h"
#include "common/fs.h"
#include "common/json.h"
#include "common/log.h"
#include "common/process.h"
#include "common/strv.h"
#include "image/manifest.h"
#include "image/store.h"
#include "idmap.h"
#include "images.h"
#include "instance.h"
#include "internal.h"
#include "procfs-start.h"
#include "runtime/container.h"
#include "runtime/sealed.h"
#include "storage/overlay.h"

char *inst_random_hex(size_t bytes)
{
        uint8_t buf[32];
        char *s = xmalloc(bytes * 2 + 1);

        if (bytes > sizeof(buf) || getrandom(buf, bytes, 0) != (ssize_t)bytes)
                abort();
        for (size_t i = 0; i < bytes; i++)
                sprintf(s + 2 * i, "%02x", buf[i]);
        return s;
}

int inst_check_name(const char *name, Error **err)
{
        size_t n = strlen(name);

        /* docker's rule: [a-zA-Z0-9][a-zA-Z0-9_.-]* */
        if (n == 0 || n > 128 || !strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", name[0]) ||
            strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") != n)
                return error_setf(err, EINVAL, "invalid name '%s': use letters, digits, '_', '.' and '-'", name);
        return 0;
}

/* The image's config document, from the store. */
int inst_image_config(InstContext *c, const InstImage *img, json_t **ret, Error **err)
{
        _cleanup_free_ char *buf = NULL;
        size_t len;
        int r = inst_read_blob(c, img->config_digest, IMG_CONFIG_MAX, &buf, &len, err);

        if (r < 0)
                return error_wrap(err, r, "image config");
        return json_parse(buf, len, "image config", ret, err);
}

/* Mounts the instance's root filesystem over the image's layers. */
int inst_rootfs_mount(InstContext *c, const char *id, char *const *layers, Error **err)
{
        _cleanup_free_ char *rootfs = inst_path(c, id, "rootfs"), *upper = inst_path(c, id, "upper"),
                                  *work = inst_path(c, id, "work"), *layers_dir = xasprintf("%s/layers", c->root);
        _cleanup_strv_ char **names = NULL;
        InstIdmap map = {};
        int r;

        for (size_t i = 0; layers && layers[i]; i++)
                strv_push(&names, strncmp(layers[i], "sha256:", 7) == 0 ? layers[i] + 7 : layers[i]);
        r = inst_db_idmap_find(c->db, id, &map, err);
        if (r < 0)
                return r;
        if (r > 0)
                return inst_idmap_rootfs_mount(c, id, names, &map, err);
        return stor_overlay_mount(layers_dir, names, upper, work, rootfs, err);
}

/* The host's resolv.conf for an instance in its own network namespace: nameservers on loopback
 * (a local caching resolver) cannot be reached from there, so they are left out. */
static char *instance_resolv_conf(const char *host, bool is_host_network)
{
        char *out = NULL, *line, *save = NULL;
        _cleanup_free_ char *copy = xstrdup(host ? host : "");
        size_t len = 0;
        FILE *f;

        if (is_host_network)
                return TAKE_PTR(copy);
        f = open_memstream(&out, &len);
        if (!f)
                abort();
        for (line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                const char *v = line + strspn(line, " \t");
                if (strncmp(v, "nameserver", 10) == 0) {
                        v += 10;
                        v += strspn(v, " \t");
                        if (strncmp(v, "127.", 4) == 0 || strncmp(v, "::1", 3) == 0)
                                continue;
                }
                fprintf(f, "%s\n", line);
        }
        fclose(f);
        return out;
}

/*
 * /etc/hosts, /etc/hostname and /etc/resolv.conf of the instance, bind-mounted over the image's.
 * On a bridge network /etc/hosts is the network's (every member by name, kept current by the
 * network layer), read-only so that no member can redirect another.
 */
int inst_write_etc_files(InstContext *c, const char *id, const char *hostname, const InstNetAttach *att,
                           InstBind *files, Error **err)
{
        _cleanup_free_ char *hosts = inst_path(c, id, "hosts"), *hn = inst_path(c, id, "hostname"),
                                  *resolv = inst_path(c, id, "resolv.conf"), *text = NULL, *host_resolv = NULL;
        int r;

        if (att->hosts_path) {
                free(hosts);
                hosts = xstrdup(att->hosts_path);
        } else {
                if (att->is_host)
                        read_file_at(AT_FDCWD, "/etc/hosts", &text, NULL, NULL);
                else
                        text = xasprintf("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
                                         "127.0.1.1\t%s\n",
                                         hostname);
                r = write_file_atomic_at(AT_FDCWD, hosts, text ? text : "", text ? strlen(text) : 0, 0644, err);
                if (r < 0)
                        return r;
                text = mfree(text);
        }
        text = xasprintf("%s\n", hostname);
        r = write_file_atomic_at(AT_FDCWD, hn, text, strlen(text), 0644, err);
        if (r < 0)
                return r;
        read_file_at(AT_FDCWD, "/etc/resolv.conf", &host_resolv, NULL, NULL);
        free(text);
        text = instance_resolv_conf(host_resolv, att->is_host);
        r = write_file_atomic_at(AT_FDCWD, resolv, text, strlen(text), 0644, err);
        if (r < 0)
                return r;
        if (!files)
                return 0;
        files[0] = (InstBind){ TAKE_PTR(hosts), xstrdup("/etc/hosts"), att->hosts_path != NULL };
        files[1] = (InstBind){ TAKE_PTR(hn), xstrdup("/etc/hostname"), false };
        files[2] = (InstBind){ TAKE_PTR(resolv), xstrdup("/etc/resolv.conf"), false };
        return 0;
}

/* Writes the bundle's config.json from the image's config and the run options. */
static int write_bundle(InstContext *c, const InstRecord *rec, const InstImage *img, const InstRunOptions *o,
                        const InstNetAttach *att, Error **err)
{
        _cleanup_free_ char *rootfs = inst_path(c, rec->id, "rootfs"), *cfg_path = inst_path(c, rec->id, "config.json"),
                                  *cgpath = inst_cgroup_path(rec->id), *procfs = NULL, *cpuset = NULL;
        _cleanup_json_ json_t *icfg = NULL;
        _cleanup_close_ int rootfs_fd = -EBADF;
        _cleanup_(inst_system_bundle_done) InstSystemBundle sys = {};
        InstBind files[3 + INST_SYSTEM_N_DEVICES] = {};
        InstBind *binds = xnew0(InstBind, o->n_binds + 1);
        InstIdmap map = {};
        char short_id[13];
        int r;

        snprintf(short_id, sizeof(short_id), "%.12s", rec->id);
        r = inst_db_idmap_find(c->db, rec->id, &map, err);
        if (r >= 0)
                r = inst_image_config(c, img, &icfg, err);
        if (r < 0)
                goto out;
        r = inst_write_etc_files(c, rec->id, o->hostname ? o->hostname : short_id, att, files, err);
        if (r < 0)
                goto out;
        rootfs_fd = open(rootfs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (rootfs_fd < 0) {
                r = error_set(err, errno, "open '%s'", rootfs);
                goto out;
        }
        for (size_t i = 0; i < o->n_binds; i++)
                binds[i] = (InstBind){ o->binds[i].source, o->binds[i].destination, o->binds[i].is_readonly };
        if (inst_procfs_wanted(o)) {
                /* Its /proc shows its limits: hull-procfs serves the files (monitor_child starts it). */
                procfs = inst_procfs_dir(c, rec->id);
                cpuset = inst_procfs_cpuset(rec->id, o->cpus);
        }
        InstRunSpec spec = {
                .id = rec->id,
                .cmd = o->cmd,
                .entrypoint = o->entrypoint,
                .env = o->env,
                .binds = binds,
                .n_binds = o->n_binds,
                .files = files,
                .n_files = 3,
                .user = o->user,
                .workdir = o->workdir,
                .hostname = o->hostname,
                .is_read_only = o->is_read_only,
                /* A detached container's terminal is made by its monitor, not by the runtime. */
                .is_tty = o->is_tty && !o->is_detached,
                .is_host_network = att->is_host,
                .netns_path = att->netns_path,
                .is_privileged = o->is_privileged,
                .memory = o->memory,
                .cpus = o->cpus,
                .pids_limit = o->pids_limit,
                .cap_add = o->cap_add,
                .cap_drop = o->cap_drop,
                .cgroups_path = cgpath,
                .procfs_dir = procfs,
                .cpuset = cpuset,
                .uid_base = map.uid_base,
                .gid_base = map.gid_base,
                .id_count = map.count,
        };
        if (rec->kind == INST_KIND_SYSTEM) {
                r = inst_system_bundle(c, rec, o, icfg, rootfs_fd, &spec, &sys, err);
                if (r < 0)
                        goto out;
                /* Borrowed: sys owns them. */
                for (size_t i = 0; i < INST_SYSTEM_N_DEVICES; i++)
                        files[spec.n_files++] = sys.files[i];
        }
        /* Kept for a start by this command: the runtime need not read it back. */
        inst_context_forget_bundle(c);
        r = inst_write_bundle_config(icfg, &spec, rootfs, rootfs_fd, cfg_path, &c->bundle_config, &c->bundle_text,
                                     err);
        if (r >= 0)
                c->bundle_id = xstrdup(rec->id);
        for (size_t i = 3; i < ARRAY_SIZE(files); i++)
                files[i] = (InstBind){};
out:
        for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
                free(files[i].source);
                free(files[i].destination);
        }
        free(binds);
        return r;
}

int inst_write_bundle_config(const json_t *image_config, const InstRunSpec *spec, const char *rootfs,
                             int rootfs_fd, const char *path, json_t **ret_config, char **ret_text, Error **err)
{
        _cleanup_json_ json_t *cfg = NULL;
        _cleanup_free_ char *text = NULL;
        int r;

        r = inst_bundle_config(image_config, spec, rootfs, rootfs_fd, &cfg, err);
        if (r < 0)
                return r;
        /* Compact: the runtime keeps it as it is, and start, exec and delete parse it. */
        text = json_dump_compact(cfg);
        r = write_file_atomic_at(AT_FDCWD, path, text, strlen(text), 0600, err);
        if (r < 0)
                return r;
        if (ret_config)
                *ret_config = TAKE_PTR(cfg);
        if (ret_text)
                *ret_text = TAKE_PTR(text);
        return 0;
}

int inst_layers_open(InstContext *c, int *ret_fd, Error **err)
{
        _cleanup_free_ char *dir = xasprintf("%s/layers", c->root);
        int r = mkdir_p(dir, 0700, err);

        if (r < 0)
                return r;
        *ret_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (*ret_fd < 0)
                return error_set(err, errno, "open '%s'", dir);
        return 0;
}

/* Removes an instance's files: its mount first, then its directory. */
static int remove_files(InstContext *c, const char *id, Error **err)
{
        _cleanup_free_ char *rootfs = inst_path(c, id, "rootfs"), *dir = inst_dir(c, id),
                            *stage = inst_path(c, id, "idmapped");
        int r;

        inst_system_cleanup(c, id);
        r = stor_overlay_umount(rootfs, err);
        if (r < 0)
                return r;
        /* Idmapped views of the shared layers a crash left attached must go before anything is
         * removed recursively. */
        r = stor_overlay_stage_clear(stage, err);
        if (r < 0)
                return r;
        return rm_rf_at(AT_FDCWD, dir, err);
}

/* A container's files, once its record is committed: its root filesystem and bundle. */
static int container_create(InstContext *c, const InstRecord *rec, const InstImage *img, const InstRunOptions *o,
                            const InstNetAttach *att, Error **err)
{
        int r = inst_rootfs_mount(c, rec->id, img->layers, err);

        return r < 0 ? r : write_bundle(c, rec, img, o, att, err);
}

/* A stopped container: takes its exit status into the record and drops its runtime state. */
static int collect_exit(InstContext *c, InstRecord *rec, Error **err)
{
        int status = inst_monitor_status(c, rec->id), r;
        RtContext *rt;

        r = inst_context_runtime(c, &rt, err);
        if (r < 0)
                return r;
        r = rt_container_delete(rt, rec->id, true, err);
        if (r < 0 && r != -ENOENT)
                return r;
        inst_net_stop(c, rec->id);
        inst_system_cleanup(c, rec->id);
        return inst_mark_finished(c, rec, status, err);
}

static int container_state(InstContext *c, InstRecord *rec, InstState *ret, pid_t *ret_pid, Error **err)
{
        _cleanup_json_ json_t *st = NULL;
        const char *status = NULL;
        json_int_t pid = 0;
        RtContext *rt;
        int r;

        if (ret_pid)
                *ret_pid = 0;
        r = inst_context_runtime(c, &rt, err);
        if (r < 0)
                return r;
        r = rt_container_state(rt, rec->id, &st, NULL);
        if (r == -ENOENT) {
                *ret = rec->started ? INST_STATE_EXITED : INST_STATE_CREATED;
                return 0;
        }
        if (r < 0)
                return rt_container_state(rt, rec->id, &st, err);
        json_unpack(st, "{s:s, s?:I}", "status", &status, "pid", &pid);
        if (strcmp(status, "stopped") == 0) {
                r = collect_exit(c, rec, err);
                if (r < 0)
                        return r;
                *ret = INST_STATE_EXITED;
                return 0;
        }
        if (ret_pid)
                *ret_pid = (pid_t)pid;
        if (strcmp(status, "running") == 0)
                *ret = INST_STATE_RUNNING;
        else if (strcmp(status, "paused") == 0)
                *ret = INST_STATE_PAUSED;
        else
                *ret = INST_STATE_CREATED;
        return 0;
}

int inst_record_options(const InstRecord *rec, InstRunOptions *ret, Error **err)
{
        _cleanup_json_ json_t *j = NULL;
        int r = json_parse(rec->options, strlen(rec->options), "instance options", &j, err);

        return r < 0 ? r : inst_run_options_from_json(j, ret, err);
}

/*
 * Makes sure the instance can be started (not running, root file system mounted, no stale state).
 * *ret_opts gets its run options, *ret_rt the runtime to start it with. inst_net_start() follows.
 */
static int prepare_start(InstContext *c, InstRecord *rec, InstRunOptions *ret_opts, RtContext **ret_rt,
                         Error **err)
{
        _cleanup_free_ char *exit_path = inst_path(c, rec->id, "exit"), *rootfs = inst_path(c, rec->id, "rootfs");
        InstState state;
        int r;

        r = inst_record_options(rec, ret_opts, err);
        if (r >= 0)
                r = inst_context_runtime(c, ret_rt, err);
        if (r < 0)
                return r;
        r = container_state(c, rec, &state, NULL, err);
        if (r < 0)
                return r;
        if (state == INST_STATE_RUNNING || state == INST_STATE_PAUSED)
                return error_setf(err, EBUSY, "'%s' is already %s", rec->name, inst_state_name(state));
        if (state == INST_STATE_CREATED)
                /* A create that never started (a crash between the two): start from scratch. */
                rt_container_delete(*ret_rt, rec->id, true, NULL); /* none there is fine */
        /* The root filesystem stays mounted from create to rm; after a reboot it is mounted again. */
        if (!stor_overlay_is_mounted(rootfs)) {
                _cleanup_(inst_image_freep) InstImage *img = NULL;
                r = inst_db_image_find(c->db, rec->image_id, &img, err);
                if (r < 0)
                        return error_wrap(err, r, "image of '%s'", rec->name);
                r = inst_rootfs_mount(c, rec->id, img->layers, err);
                if (r < 0)
                        return r;
        }
        if (unlink(exit_path) < 0 && errno != ENOENT)
                return error_set(err, errno, "remove '%s'", exit_path);
        return 0;
}

static int container_run_foreground(InstContext *c, InstRecord *rec, int *ret_status, Error **err)
{
        _cleanup_(inst_run_options_done) InstRunOptions o = {};
        _cleanup_free_ char *bundle = inst_dir(c, rec->id);
        RtCreateOptions ro = { .bundle = bundle };
        RtContext *rt;
        int status = -1, r;

        r = prepare_start(c, rec, &o, &rt, err);
        if (r >= 0)
                r = inst_net_start(c, rec, &o, err);
        if (r < 0)
                return r;
        r = inst_mark_started(c, rec, err);
        if (r >= 0)
                r = rt_container_run(rt, rec->id, &ro, &status, err);
        inst_net_stop(c, rec->id);
        inst_mark_finished(c, rec, r < 0 ? -1 : status, NULL);
        if (r < 0)
                return r;
        *ret_status = status;
        return 0;
}

/* Sends a failure from the monitor's child to the waiting parent, and exits. */
_noreturn_ static void child_fail(int sync_fd, int r, Error *e)
{
        const char *msg = error_message(e, r);
        ssize_t w = write(sync_fd, msg, strlen(msg));
        (void)w;
        _exit(1);
}

/*
 * The child that becomes the monitor: a new session, a child subreaper, the container's stdio
 * made from pipes (or a pseudo-terminal), the container created, then hull-monitor in our place.
 */
_noreturn_ static void monitor_child(InstContext *c, const InstRecord *rec, const InstRunOptions *o,
                                     const InstSystemConsole *console, const char *monitor, int sync_fd,
                                     int gate_fd)
{
        _cleanup_free_ char *bundle = inst_dir(c, rec->id), *pid_file = inst_path(c, rec->id, "pid");
        RtCreateOptions ro = { .bundle = bundle, .pid_file = pid_file, .has_gate = true, .gate_fd = gate_fd };
        if (c->bundle_id && strcmp(c->bundle_id, rec->id) == 0) {
                ro.config = c->bundle_config;
                ro.config_text = c->bundle_text;
        }
        Error *e = NULL;
        RtContext *rt;
        int out[2] = { -1, -1 }, errp[2] = { -1, -1 }, in[2] = { -1, -1 }, devnull, logfd, r;
        pid_t pid, procfs_pid = 0;

        setsid();
        prctl(PR_SET_CHILD_SUBREAPER, 1);
        /* Our own messages (the runtime's warnings) go to the parent's stderr, not the container log. */
        logfd = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3);
        log_setup(logfd, false, log_max_level());
        devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
        if (rec->kind == INST_KIND_SYSTEM) {
                /* The init's stdio is its console; the monitor keeps the slave (so out[1] is not
                 * closed below: it is a copy) and serves the console. */
                out[0] = console->masters[0];
                out[1] = fcntl(console->slave, F_DUPFD_CLOEXEC, 3);
                in[0] = out[1];
        } else if (o->is_tty) {
                int master, slave;
                if (openpty(&master, &slave, NULL, NULL, NULL) < 0)
                        child_fail(sync_fd, error_set(&e, errno, "openpty"), e);
                out[0] = master;
                out[1] = slave;
                in[0] = slave;
        } else {
                if (pipe2(out, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0)
                        child_fail(sync_fd, error_set(&e, errno, "pipe"), e);
                /* -i: stdin stays open (the monitor holds its write end) instead of reading EOF. */
                if (o->is_interactive && pipe2(in, 0) < 0)
                        child_fail(sync_fd, error_set(&e, errno, "pipe"), e);
        }
        dup2(in[0] >= 0 ? in[0] : devnull, STDIN_FILENO);
        dup2(out[1], STDOUT_FILENO);
        dup2(errp[1] >= 0 ? errp[1] : out[1], STDERR_FILENO);
        r = inst_context_runtime(c, &rt, &e);
        if (r >= 0 && inst_procfs_wanted(o))
                r = inst_procfs_start(c, rec->id, &procfs_pid, &e);
        if (r >= 0)
                r = rt_container_create(rt, rec->id, &ro, &e);
        if (procfs_pid > 0)
                inst_procfs_finish(c, rec->id, procfs_pid, r >= 0);
        if (r < 0)
                child_fail(sync_fd, r, e);
        /* Only the container holds the write ends now. */
        dup2(devnull, STDIN_FILENO);
        dup2(devnull, STDOUT_FILENO);
        dup2(devnull, STDERR_FILENO);
        close(out[1]);
        if (errp[1] >= 0)
                close(errp[1]);
        if (in[0] >= 0 && !o->is_tty && rec->kind != INST_KIND_SYSTEM)
                close(in[0]);
        {
                _cleanup_free_ char *text = NULL;
                if (read_file_at(AT_FDCWD, pid_file, &text, NULL, NULL) < 0)
                        child_fail(sync_fd, error_setf(&e, EIO, "no pid file"), e);
                pid = atoi(text);
        }
        close(sync_fd);
        if (rec->kind == INST_KIND_SYSTEM)
                inst_system_console_export(console);
        inst_exec_monitor(c, rec, monitor, pid, out[0], errp[0]);
}

/*
 * $runroot/names/NAME: a link to the id of the container NAME, made when it starts and removed
 * when it stops, so that exec finds a running container without opening the database. Only ever a
 * hint: exec checks with the runtime that the container runs, and asks the database otherwise.
 */
static char *name_link_path(const InstContext *c, const char *name)
{
        return xasprintf("%s/names/%s", c->runroot, name);
}

static void name_link_set(InstContext *c, const InstRecord *rec)
{
        _cleanup_free_ char *dir = xasprintf("%s/names", c->runroot), *link = name_link_path(c, rec->name),
                            *tmp = xasprintf("%s/.%s.%d", dir, rec->name, getpid());

        if (mkdir(dir, 0700) < 0 && errno != EEXIST)
                return;
        if (symlink(rec->id, tmp) < 0 || rename(tmp, link) < 0)
                unlink(tmp);
}

static void name_link_clear(InstContext *c, const InstRecord *rec)
{
        _cleanup_free_ char *link = name_link_path(c, rec->name);
        char target[128];
        ssize_t n = readlink(link, target, sizeof(target) - 1);

        /* Only this container's: a later one of the same name may have replaced it. */
        if (n > 0 && (size_t)n == strlen(rec->id) && memcmp(target, rec->id, (size_t)n) == 0)
                unlink(link);
}

/* A start that failed after inst_mark_started(): the record's run times go back to what they were. */
static void unmark_started(InstContext *c, InstRecord *rec, const InstRecord *previous)
{
        rec->started = previous->started;
        rec->finished = previous->finished;
        rec->exit_code = previous->exit_code;
        inst_db_instance_set_run(c->db, rec->id, rec->started, rec->finished, rec->exit_code, NULL);
}

static int container_start_detached(InstContext *c, InstRecord *rec, Error **err)
{
        _cleanup_(inst_run_options_done) InstRunOptions o = {};
        _cleanup_free_ char *monitor = inst_helper_path(c, "hull-monitor", "HULL_MONITOR");
        _cleanup_(inst_system_console_done) InstSystemConsole console;
        _cleanup_close_ int rd = -EBADF;
        InstRecord previous = *rec;
        int sync[2] = { -EBADF, -EBADF }, gate[2] = { -EBADF, -EBADF };
        char msg[2048];
        RtContext *rt;
        ssize_t n;
        pid_t pid = -1;
        int r;

        inst_system_console_init(&console);
        if (access(monitor, X_OK) < 0)
                return error_set(err, errno, "monitor '%s'", monitor);
        r = prepare_start(c, rec, &o, &rt, err);
        if (r < 0)
                return r;
        /* A system container's console and ttys: made here, kept by the monitor. */
        if (rec->kind == INST_KIND_SYSTEM)
                r = inst_system_console_open(c, rec, &console, err);
        /* The gate a socket: a child that failed before it read there must not kill us (SIGPIPE). */
        if (r >= 0 && (pipe2(sync, O_CLOEXEC) < 0 || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, gate) < 0))
                r = error_set(err, errno, "pipe");
        if (r >= 0 && (pid = fork()) < 0)
                r = error_set(err, errno, "fork");
        if (r < 0) {
                for (size_t i = 0; i < 2; i++) {
                        safe_close(sync[i]);
                        safe_close(gate[i]);
                }
                inst_system_cleanup(c, rec->id);
                return r;
        }
        if (pid == 0) {
                close(sync[0]);
                close(gate[1]);
                monitor_child(c, rec, &o, &console, monitor, sync[1], gate[0]);
        }
        close(sync[1]);
        close(gate[0]);
        /* Only the monitor holds the console now: it ends when the container does. */
        inst_system_console_done(&console);
        rd = sync[0];
        /*
         * While the monitor's child makes the container's cgroups and state, its network is made
         * here; the child makes the container's process once the gate opens (or gives up at its
         * EOF). Then the record says it started, and the database is synced, while the child
         * finishes: the syncs overlap the creation instead of following the start.
         */
        r = inst_net_start(c, rec, &o, err);
        /* A child gone already (EPIPE) said why on the sync pipe: read below. */
        if (r >= 0 && send(gate[1], "", 1, MSG_NOSIGNAL) != 1 && errno != EPIPE)
                r = error_set(err, errno, "start '%s'", rec->name);
        close(gate[1]);
        if (r >= 0)
                r = inst_mark_started(c, rec, err);
        if (r >= 0)
                inst_db_checkpoint(c->db);
        /* EOF without a word: the container is created and the monitor runs. */
        do
                n = read(rd, msg, sizeof(msg) - 1);
        while (n < 0 && errno == EINTR);
        if (n > 0 && r >= 0) {
                msg[n] = '\0';
                r = error_setf(err, EIO, "%s", msg);
        }
        if (r >= 0)
                r = inst_pid_file_write(c, rec->id, "monitor.pid", pid, err);
        if (r >= 0)
                r = rt_container_start(rt, rec->id, err);
        if (r < 0) {
                /* Whatever was made goes: the container (and with its init the monitor), its
                 * network and console, and the record's run times. */
                rt_container_delete(rt, rec->id, true, NULL);
                if (n > 0)
                        waitpid(pid, NULL, 0);
                inst_net_stop(c, rec->id);
                inst_system_cleanup(c, rec->id);
                unmark_started(c, rec, &previous);
                return r;
        }
        name_link_set(c, rec);
        return 0;
}

/* Waits up to timeout_ms for the container's init to end; true if it did. */
static bool wait_exit(pid_t pid, int timeout_ms)
{
        _cleanup_close_ int pfd = pidfd_open_pid(pid);
        struct pollfd p = { .fd = pfd, .events = POLLIN };

        if (pfd < 0)
                return true; /* already gone */
        return poll(&p, 1, timeout_ms) > 0;
}

/* The instance's state and pid, and the runtime context to act on it. */
static int state_and_runtime(InstContext *c, InstRecord *rec, InstState *ret_state, pid_t *ret_pid,
                             RtContext **ret_rt, Error **err)
{
        int r = container_state(c, rec, ret_state, ret_pid, err);

        return r < 0 ? r : inst_context_runtime(c, ret_rt, err);
}

static int container_stop(InstContext *c, InstRecord *rec, int timeout, Error **err)
{
        _cleanup_(inst_run_options_done) InstRunOptions o = {};
        InstState state;
        RtContext *rt;
        pid_t pid;
        int r;

        r = state_and_runtime(c, rec, &state, &pid, &rt, err);
        if (r < 0)
                return r;
        if (state != INST_STATE_RUNNING && state != INST_STATE_PAUSED)
                return 0;
        r = inst_record_options(rec, &o, err);
        if (r < 0)
                return r;
        if (timeout < 0)
                timeout = o.stop_timeout >= 0 ? o.stop_timeout : 10;
        r = rt_container_kill(rt, rec->id, inst_stop_signal(c, rec, &o), false, NULL);
        if (state == INST_STATE_PAUSED)
                rt_container_pause(rt, rec->id, false, NULL); /* a frozen process cannot act on it */
        if (r < 0 || !wait_exit(pid, timeout * 1000)) {
                r = rt_container_kill(rt, rec->id, SIGKILL, true, err);
                if (r < 0 && r != -ENOENT)
                        return r;
                wait_exit(pid, 10000);
        }
        return container_state(c, rec, &state, NULL, err);
}

static int container_kill(InstContext *c, InstRecord *rec, int sig, Error **err)
{
        InstState state = INST_STATE_EXITED;
        RtContext *rt;
        int r;

        r = state_and_runtime(c, rec, &state, NULL, &rt, err);
        if (r < 0)
                return r;
        if (state != INST_STATE_RUNNING && state != INST_STATE_PAUSED)
                return error_setf(err, EINVAL, "'%s' is not running", rec->name);
        return rt_container_kill(rt, rec->id, sig, false, err);
}

/* Ends a container that is not exited (its processes killed, its runtime state deleted). */
static int container_teardown(InstContext *c, InstRecord *rec, InstState state, pid_t pid, Error **err)
{
        RtContext *rt;
        int r;

        name_link_clear(c, rec);
        if (state == INST_STATE_EXITED)
                return 0;
        r = inst_context_runtime(c, &rt, err);
        if (r < 0)
                return r;
        r = rt_container_delete(rt, rec->id, true, err);
        if (r < 0 && r != -ENOENT)
                return r;
        if (pid > 0)
                wait_exit(pid, 10000);
        return 0;
}

/* What a container whose record is gone left: its runtime state, mount and directory. */
static void container_sweep(InstContext *c, const char *id)
{
        RtContext *rt;

        if (inst_context_runtime(c, &rt, NULL) >= 0)
                rt_container_delete(rt, id, true, NULL);
        remove_files(c, id, NULL);
}

/*
 * Whether an exec into rec will likely run from the sealed copy of our binary (runtime/sealed.h):
 * no user namespace of its own and CAP_SYS_PTRACE possibly held (any --cap-add). Not with
 * --privileged: all capabilities and no seccomp filter, the host's root already. The runtime
 * decides for sure from the container's config; this only guesses it sooner.
 */
static bool exec_wants_sealed(const InstRecord *rec)
{
        _cleanup_(inst_run_options_done) InstRunOptions opts = {};

        if (inst_record_options(rec, &opts, NULL) < 0)
                return true;
        return !inst_userns_wanted(&opts) && !opts.is_privileged && opts.cap_add && opts.cap_add[0];
}

/* A running container's process, in its namespaces: the runtime's exec, with o's user resolved in
 * its root filesystem. With is_running_only, -ESRCH and no error when it does not run. */
static int exec_running(InstContext *c, const char *id, const InstExecOptions *o, bool is_running_only,
                        int *ret_status, Error **err)
{
        _cleanup_free_ char *user = NULL;
        RtContext *rt;
        int r;

        if (o->user) {
                _cleanup_free_ char *rootfs = inst_path(c, id, "rootfs");
                _cleanup_close_ int fd = open(rootfs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                InstUser u = {};
                if (fd < 0 && is_running_only)
                        return -ESRCH;
                r = inst_user_resolve_in_root(o->user, fd, &u, err);
                if (r < 0)
                        return r;
                user = xasprintf("%u:%u", u.uid, u.gid);
                inst_user_done(&u);
        }
        r = inst_context_runtime(c, &rt, err);
        if (r < 0)
                return r;
        RtExecOptions eo = {
                .args = o->args,
                .env = o->env,
                .cwd = o->workdir,
                .user = user,
                .is_tty = o->is_tty,
                .is_detached = o->is_detached,
                .is_running_only = is_running_only,
        };
        return rt_container_exec(rt, id, &eo, ret_status, err);
}

static int container_exec(InstContext *c, InstRecord *rec, const InstExecOptions *o, int *ret_status, Error **err)
{
        InstState state;
        int r;

        /* Re-executing from the sealed copy before the state and config are read spares the copy
         * reading them again; rt_container_exec still checks and re-executes where needed. */
        if (exec_wants_sealed(rec)) {
                r = rt_sealed_reexec(err);
                if (r < 0)
                        return r;
        }
        r = container_state(c, rec, &state, NULL, err);
        if (r < 0)
                return r;
        if (state != INST_STATE_RUNNING)
                return error_setf(err, EINVAL, "'%s' is %s, not running", rec->name, inst_state_name(state));
        return exec_running(c, rec->id, o, false, ret_status, err);
}

int inst_exec_running(InstContext *c, const char *name, const InstExecOptions *o, int *ret_status, Error **err)
{
        _cleanup_free_ char *link = NULL;
        char id[128];
        RtContext *rt;
        ssize_t n;
        int r;

        if (inst_check_name(name, NULL) < 0)
                return -ENOENT;
        link = name_link_path(c, name);
        n = readlink(link, id, sizeof(id) - 1);
        if (n <= 0)
                return -ENOENT;
        id[n] = '\0';
        if (inst_context_runtime(c, &rt, NULL) < 0)
                return -ENOENT;
        r = exec_running(c, id, o, true, ret_status, err);
        return r == -ESRCH && (!err || !*err) ? -ENOENT : r;
}

static int container_stats(InstContext *c, InstRecord *rec, json_t **ret, Error **err)
{
        InstState state = INST_STATE_EXITED;
        RtContext *rt;
        int r;

        r = state_and_runtime(c, rec, &state, NULL, &rt, err);
        if (r < 0)
                return r;
        if (state == INST_STATE_EXITED || state == INST_STATE_CREATED)
                return error_setf(err, EINVAL, "'%s' is %s, not running", rec->name, inst_state_name(state));
        r = rt_container_stats(rt, rec->id, ret, err);
        if (r >= 0) {
                json_object_set_new(*ret, "id", json_string(rec->id));
                json_object_set_new(*ret, "name", json_string(rec->name));
        }
        return r;
}

const InstDriver inst_driver_container = {
        .create = container_create,
        .state = container_state,
        .run_foreground = container_run_foreground,
        .start_detached = container_start_detached,
        .stop = container_stop,
        .kill = container_kill,
        .exec = container_exec,
        .stats = container_stats,
        .teardown = container_teardown,
        .remove_files = remove_files,
        .sweep = container_sweep,
};
