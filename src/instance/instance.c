/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* instance.c: what every kind of instance shares: its record and lease at create, removal, listing
 * state; the rest goes to the kind's driver (container.c, vm.c) */
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/fs.h"
#include "common/json.h"
#include "common/log.h"
#include "common/process.h"
#include "idmap.h"
#include "internal.h"

char *inst_helper_path(const InstContext *c, const char *name, const char *env)
{
        if (getenv(env))
                return xstrdup(getenv(env));
        if (c->self_exe) {
                _cleanup_free_ char *dir = xstrdup(c->self_exe);
                char *slash = strrchr(dir, '/');
                if (slash) {
                        *slash = '\0';
                        char *p = xasprintf("%s/%s", dir, name);
                        if (access(p, X_OK) == 0)
                                return p;
                        free(p);
                }
        }
        return xasprintf("%s/%s", HULL_LIBEXECDIR, name);
}

int inst_pid_file_write(InstContext *c, const char *id, const char *file, pid_t pid, Error **err)
{
        _cleanup_free_ char *path = inst_path(c, id, file), *text = NULL;
        uint64_t start = 0;

        process_start_time(pid, &start);
        text = xasprintf("%d %llu\n", (int)pid, (unsigned long long)start);
        return write_file_atomic_at(AT_FDCWD, path, text, strlen(text), 0644, err);
}

pid_t inst_pid_file_read(InstContext *c, const char *id, const char *file)
{
        _cleanup_free_ char *path = inst_path(c, id, file), *text = NULL;
        unsigned long long start = 0;
        int pid = 0;

        if (read_file_at(AT_FDCWD, path, &text, NULL, NULL) < 0 || sscanf(text, "%d %llu", &pid, &start) != 2)
                return 0;
        return process_is_alive(pid, start) && process_state(pid) != 'Z' ? pid : 0;
}

int inst_monitor_status(InstContext *c, const char *id)
{
        _cleanup_free_ char *path = inst_path(c, id, "exit"), *text = NULL;
        pid_t mon = inst_pid_file_read(c, id, "monitor.pid");
        int status;

        /* The monitor writes the status just after it reaps what it watched: give it a moment. */
        if (mon > 0)
                inst_wait_gone(mon, 5000);
        if (read_file_at(AT_FDCWD, path, &text, NULL, NULL) < 0 || sscanf(text, "%d", &status) != 1)
                return -1;
        return status;
}

int inst_mark_started(InstContext *c, InstRecord *rec, Error **err)
{
        rec->started = time(NULL);
        rec->finished = 0;
        return inst_db_instance_set_run(c->db, rec->id, rec->started, 0, -1, err);
}

int inst_mark_finished(InstContext *c, InstRecord *rec, int status, Error **err)
{
        rec->finished = time(NULL);
        rec->exit_code = status;
        return inst_db_instance_set_run(c->db, rec->id, rec->started, rec->finished, rec->exit_code, err);
}

char *inst_cgroup_path(const char *id)
{
        return xasprintf("/hull/%s", id);
}

int inst_run_dir_make(InstContext *c, const char *dir, Error **err)
{
        size_t n = strlen(c->runroot);
        _cleanup_free_ char *path = xstrdup(dir);
        int r;

        if (strncmp(dir, c->runroot, n) != 0 || (dir[n] != '/' && dir[n] != '\0'))
                return error_setf(err, EINVAL, "'%s' is not below the run root", dir);
        r = mkdir_p(dir, 0711, err);
        if (r < 0)
                return r;
        /* The run root, then each directory below it down to dir. */
        for (char *p = path + n;; p = strchr(p + 1, '/')) {
                char saved = p ? *p : '\0';
                if (p)
                        *p = '\0';
                if (chmod(path, 0711) < 0)
                        return error_set(err, errno, "chmod '%s'", path);
                if (!p || !saved)
                        return 0;
                *p = saved;
        }
}

void inst_exec_monitor(InstContext *c, const InstRecord *rec, const char *monitor, pid_t pid, int out_fd, int err_fd)
{
        _cleanup_free_ char *log = inst_path(c, rec->id, "ctr.log"), *exit_path = inst_path(c, rec->id, "exit");
        char outs[16], errs[16], pids[16];

        /* The read ends go to the monitor: they must outlive the exec. */
        fcntl(out_fd, F_SETFD, 0);
        if (err_fd >= 0)
                fcntl(err_fd, F_SETFD, 0);
        snprintf(pids, sizeof(pids), "%d", (int)pid);
        snprintf(outs, sizeof(outs), "%d", out_fd);
        snprintf(errs, sizeof(errs), "%d", err_fd);
        /* Once the instance exited, the monitor runs hull again: to remove it (run --rm -d), or to let
         * its restart policy decide (restart.c). */
        if (rec->is_auto_remove && c->self_exe)
                execl(monitor, monitor, log, exit_path, pids, outs, errs, c->self_exe, c->root, c->runroot,
                      rec->name, "rm", NULL);
        else if (c->self_exe && inst_restart_has_policy(rec))
                execl(monitor, monitor, log, exit_path, pids, outs, errs, c->self_exe, c->root, c->runroot,
                      rec->id, "restart", NULL);
        else
                execl(monitor, monitor, log, exit_path, pids, outs, errs, NULL);
        _exit(127);
}

bool inst_wait_gone(pid_t pid, int ms)
{
        _cleanup_close_ int pfd = pidfd_open_pid(pid);
        struct pollfd p = { .fd = pfd, .events = POLLIN };
        bool is_gone = pfd < 0 || poll(&p, 1, ms) > 0;

        if (is_gone)
                waitpid(pid, NULL, WNOHANG);
        return is_gone;
}

static const InstDriver *driver(InstKind kind)
{
        return kind == INST_KIND_VM ? &inst_driver_vm : &inst_driver_container;
}

const char *inst_state_name(InstState s)
{
        static const char *const names[] = {
                [INST_STATE_CREATED] = "created",
                [INST_STATE_RUNNING] = "running",
                [INST_STATE_PAUSED] = "paused",
                [INST_STATE_EXITED] = "exited",
        };
        return s < ARRAY_SIZE(names) ? names[s] : "unknown";
}

/* A name like docker's when none was given: two words and, on a clash, a number. */
static char *random_name(InstDb *db)
{
        static const char *const adjectives[] = { "brave", "calm", "eager", "fond", "keen", "lucid", "merry",
                                                  "nimble", "quiet", "sharp", "swift", "tender", "vivid", "witty" };
        static const char *const nouns[] = { "albatross", "badger", "crane", "dolphin", "falcon", "gecko", "heron",
                                             "ibis", "lynx", "marten", "otter", "puffin", "raven", "wren" };
        uint32_t x;

        for (int attempt = 0;; attempt++) {
                _cleanup_(inst_record_freep) InstRecord *rec = NULL;
                char *name;

                if (getrandom(&x, sizeof(x), 0) != sizeof(x))
                        abort();
                name = attempt < 8 ? xasprintf("%s_%s", adjectives[x % ARRAY_SIZE(adjectives)],
                                               nouns[(x >> 8) % ARRAY_SIZE(nouns)])
                                   : xasprintf("%s_%s_%u", adjectives[x % ARRAY_SIZE(adjectives)],
                                               nouns[(x >> 8) % ARRAY_SIZE(nouns)], (x >> 16) % 10000);
                if (inst_db_instance_find(db, name, &rec, NULL) == -ENOENT)
                        return name;
                free(name);
        }
}

int inst_add_record(InstContext *c, const InstRecord *rec, const InstRunOptions *o, InstNetAttach *att, Error **err)
{
        int r = inst_db_begin(c->db, err);

        if (r < 0)
                return r;
        r = inst_db_instance_add(c->db, rec, err);
        if (r >= 0)
                r = inst_net_attach(c, rec, o, att, err);
        if (r >= 0 && inst_userns_wanted(o)) {
                InstIdmapPool pool;
                InstIdmap map;
                r = inst_idmap_pool(&pool, err);
                if (r >= 0)
                        r = inst_db_idmap_alloc(c->db, rec->id, &pool, INST_IDMAP_SLOT, &map, err);
        }
        return inst_db_end(c->db, r, err);
}

int inst_create(InstContext *c, const InstImage *img, const char *image_name, const InstRunOptions *o,
                InstRecord **ret, Error **err)
{
        _cleanup_(inst_record_freep) InstRecord *rec = xnew0(InstRecord, 1);
        _cleanup_json_ json_t *opts = inst_run_options_to_json(o);
        _cleanup_(inst_net_attach_done) InstNetAttach att = {};
        _cleanup_free_ char *dir = NULL;
        bool has_ports = o->ports && o->ports[0];
        const InstDriver *d;
        int r;

        rec->id = inst_random_hex(32);
        if (o->name) {
                r = inst_check_name(o->name, err);
                if (r < 0)
                        return r;
        }
        rec->name = o->name ? xstrdup(o->name) : random_name(c->db);
        rec->kind = o->is_vm ? INST_KIND_VM : o->is_system ? INST_KIND_SYSTEM : INST_KIND_CONTAINER;
        rec->image_id = xstrdup(img->id);
        rec->image_name = xstrdup(image_name);
        rec->options = json_dump_compact(opts);
        rec->created = time(NULL);
        rec->exit_code = -1;
        rec->is_auto_remove = o->is_auto_remove;
        d = driver(rec->kind);

        /* The record first, with its lease and ports: from here on `hull rm` can remove whatever
         * part of it exists. */
        r = inst_add_record(c, rec, o, &att, err);
        if (r < 0)
                return r;
        dir = inst_dir(c, rec->id);
        r = mkdir_p(dir, 0700, err);
        if (r >= 0)
                r = d->create(c, rec, img, o, &att, err);
        if (r >= 0)
                r = inst_net_members_changed(c, att.network, has_ports, err);
        if (r < 0) {
                d->remove_files(c, rec->id, NULL);
                inst_db_instance_remove(c->db, rec->id, NULL);
                inst_net_members_changed(c, att.network, has_ports, NULL);
                return r;
        }
        *ret = TAKE_PTR(rec);
        return 0;
}

int inst_state(InstContext *c, InstRecord *rec, InstState *ret, pid_t *ret_pid, Error **err)
{
        return driver(rec->kind)->state(c, rec, ret, ret_pid, err);
}

int inst_run_foreground(InstContext *c, InstRecord *rec, int *ret_status, Error **err)
{
        _cleanup_(inst_unlockp) int lock = -EBADF;

        inst_lock(c, rec->id, &lock, NULL);
        inst_restart_forget(c, rec->id);
        inst_unlockp(&lock);
        return driver(rec->kind)->run_foreground(c, rec, ret_status, err);
}

int inst_driver_start_detached(InstContext *c, InstRecord *rec, Error **err)
{
        return driver(rec->kind)->start_detached(c, rec, err);
}

int inst_start_detached(InstContext *c, InstRecord *rec, Error **err)
{
        _cleanup_(inst_unlockp) int lock = -EBADF;

        /* A manual start: a stop by the user is over, and the restart count begins again. Under the
         * lock, so that a restart by policy still pending from the last exit finds it running. */
        inst_lock(c, rec->id, &lock, NULL);
        inst_restart_forget(c, rec->id);
        return inst_driver_start_detached(c, rec, err);
}

/* Marks a stop by the user before the signal: the monitor sees the exit at once and must know that it
 * was asked for (restart.c). */
static int mark_stop(InstContext *c, const char *id, Error **err)
{
        _cleanup_(inst_unlockp) int lock = -EBADF;
        int r = inst_lock(c, id, &lock, NULL);

        if (r == -ENOENT)
                return 0; /* no directory: no restart to prevent either */
        if (r < 0)
                return inst_lock(c, id, &lock, err);
        return inst_restart_mark_stop(c, id, err);
}

int inst_stop(InstContext *c, InstRecord *rec, int timeout, Error **err)
{
        int r = mark_stop(c, rec->id, err);

        return r < 0 ? r : driver(rec->kind)->stop(c, rec, timeout, err);
}

/* Whether `hull kill` with sig counts as a stop by the user: SIGKILL or the instance's stop signal, as
 * docker's daemon has it. */
static bool is_stopping_signal(const InstRecord *rec, int sig)
{
        _cleanup_(inst_run_options_done) InstRunOptions o = {};
        int stop_sig = SIGTERM;

        if (sig == SIGKILL)
                return true;
        if (inst_record_options(rec, &o, NULL) >= 0 && o.stop_signal && signal_parse(o.stop_signal) > 0)
                stop_sig = signal_parse(o.stop_signal);
        return sig == stop_sig;
}

int inst_kill(InstContext *c, InstRecord *rec, int sig, Error **err)
{
        if (is_stopping_signal(rec, sig)) {
                int r = mark_stop(c, rec->id, err);
                if (r < 0)
                        return r;
        }
        return driver(rec->kind)->kill(c, rec, sig, err);
}

int inst_exec(InstContext *c, InstRecord *rec, const InstExecOptions *o, int *ret_status, Error **err)
{
        return driver(rec->kind)->exec(c, rec, o, ret_status, err);
}

int inst_stats(InstContext *c, InstRecord *rec, json_t **ret, Error **err)
{
        return driver(rec->kind)->stats(c, rec, ret, err);
}

int inst_remove(InstContext *c, InstRecord *rec, bool is_force, Error **err)
{
        _cleanup_(inst_lease_done) InstLease lease = {};
        _cleanup_(inst_unlockp) int lock = -EBADF;
        _cleanup_error_ Error *net_err = NULL;
        const InstDriver *d = driver(rec->kind);
        InstPort *ports = NULL;
        size_t n_ports = 0;
        InstState state;
        pid_t pid;
        int r;

        /* Under the instance's lock, so that a restart by policy cannot start it between the look at
         * its state and the stop mark; after the mark, none will. */
        r = inst_lock(c, rec->id, &lock, NULL);
        if (r < 0 && r != -ENOENT)
                return inst_lock(c, rec->id, &lock, err);
        r = d->state(c, rec, &state, &pid, err);
        if (r < 0)
                return r;
        if ((state == INST_STATE_RUNNING || state == INST_STATE_PAUSED) && !is_force)
                return error_setf(err, EBUSY, "'%s' is %s: stop it first, or use rm -f", rec->name,
                                  inst_state_name(state));
        if (lock >= 0) {
                r = inst_restart_mark_stop(c, rec->id, err);
                if (r < 0)
                        return r;
        }
        r = d->teardown(c, rec, state, pid, err);
        if (r < 0)
                return r;
        {
                /* Its monitor writes the exit status (and hull.err) once what it watched ended: let it be
                 * done before the directory goes, or its last files land in one half removed. */
                pid_t mon = inst_pid_file_read(c, rec->id, "monitor.pid");
                if (mon > 0)
                        inst_wait_gone(mon, 5000);
        }
        inst_net_stop(c, rec->id);
        r = inst_db_lease_find(c->db, rec->id, &lease, err);
        if (r >= 0)
                r = inst_db_port_list(c->db, rec->id, &ports, &n_ports, err);
        if (r < 0)
                return r;
        inst_ports_free(ports, n_ports);
        /* The record goes before the files (its lease and ports with it): a crash in between leaves
         * only files to sweep. */
        r = inst_db_instance_remove(c->db, rec->id, err);
        if (r < 0)
                return r;
        r = inst_net_members_changed(c, lease.network, n_ports > 0, &net_err);
        if (r < 0)
                log_warn("%s", error_message(net_err, r)); /* the instance is gone all the same */
        r = d->remove_files(c, rec->id, err);
        if (r < 0)
                return r;
        inst_sweep_orphans(c);
        return 0;
}

void inst_sweep_orphans(InstContext *c)
{
        _cleanup_free_ char *dir = xasprintf("%s/instances", c->root);
        DIR *d = opendir(dir);
        struct dirent *de;

        /* An instance directory whose record is gone: a removal that crashed half-way. Records are
         * made before directories and removed before them, so no live instance looks like this. */
        while (d && (de = readdir(d))) {
                _cleanup_(inst_record_freep) InstRecord *rec = NULL;
                if (strlen(de->d_name) != 64 || strspn(de->d_name, "0123456789abcdef") != 64)
                        continue;
                if (inst_db_instance_find(c->db, de->d_name, &rec, NULL) != -ENOENT)
                        continue;
                inst_net_stop(c, de->d_name);
                inst_driver_vm.sweep(c, de->d_name);
                inst_driver_container.sweep(c, de->d_name);
        }
        if (d)
                closedir(d);
        inst_net_repair(c);
}

int inst_inspect(InstContext *c, InstRecord *rec, json_t **ret, Error **err)
{
        _cleanup_json_ json_t *opts = NULL;
        _cleanup_free_ char *dir = inst_dir(c, rec->id), *rootfs = inst_path(c, rec->id, "rootfs"),
                            *log = inst_path(c, rec->id, "ctr.log");
        json_t *network = NULL, *ports = NULL;
        InstIdmap map = {};
        InstState state;
        pid_t pid;
        int r;

        r = inst_state(c, rec, &state, &pid, err);
        if (r < 0)
                return r;
        r = json_parse(rec->options, strlen(rec->options), "instance options", &opts, err);
        if (r < 0)
                return r;
        *ret = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:I, s:I, s:I, s:i, s:O, s:o, s:o}", "id", rec->id,
                         "name", rec->name, "kind", inst_kind_name(rec->kind), "image", rec->image_name,
                         "image_id", rec->image_id ? rec->image_id : "", "state", inst_state_name(state), "pid",
                         (int)pid, "created", (json_int_t)rec->created, "started", (json_int_t)rec->started,
                         "finished", (json_int_t)rec->finished, "exit_code", rec->exit_code, "options", opts,
                         "bundle", json_string(dir), "log", json_string(log));
        json_object_set_new(*ret, "restart_count", json_integer(inst_restart_count(c, rec->id)));
        if (rec->kind == INST_KIND_VM)
                inst_vm_describe(c, rec, *ret);
        else
                json_object_set_new(*ret, "rootfs", json_string(rootfs));
        r = inst_net_describe(c, rec, &network, &ports, err);
        if (r < 0) {
                *ret = json_decref_null(*ret);
                return r;
        }
        json_object_set_new(*ret, "network", network);
        json_object_set_new(*ret, "ports", ports);
        r = inst_db_idmap_find(c->db, rec->id, &map, err);
        if (r < 0) {
                *ret = json_decref_null(*ret);
                return r;
        }
        json_object_set_new(*ret, "idmap",
                            r == 0 ? json_null()
                                   : json_pack("{s:I, s:I, s:I}", "uid_base", (json_int_t)map.uid_base, "gid_base",
                                               (json_int_t)map.gid_base, "count", (json_int_t)map.count));
        return 0;
}
