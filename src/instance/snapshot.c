/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* snapshot.c: snapshots of VMs: a copy of the disk, and of a running VM its memory and device state */
/*
 * A running VM is paused (QMP stop, which also flushes its disk), its qcow2 overlay copied, and its
 * state written by QEMU's migration into a file passed as an fd (QEMU 7.2 has no file: URI); then it
 * goes on. Restoring starts a QEMU that waits for incoming state (-incoming defer) on the copied disk
 * and feeds it the file; the guest goes on from the moment of the snapshot. While the old QEMU is
 * replaced, the "restoring" marker keeps the VM's supervisor waiting for the new one. A running VM's
 * own state is saved first, so that a restore whose new QEMU fails boots it again from there.
 */
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/alloc.h"
#include "common/fs.h"
#include "common/json.h"
#include "common/log.h"
#include "common/process.h"
#include "internal.h"
#include "snapshot-container.h"
#include "storage/disk.h"
#include "vm/qmp.h"
#include "vm_internal.h"

#define QMP_TIMEOUT_MS 10000
#define STATE_TIMEOUT_MS 600000
/* QEMU caps migration at 128 MiB/s by default: a save to a local file would be five times slower. */
#define MAX_BANDWIDTH (100LL << 30)


char *inst_snapshot_dir(InstContext *c, const char *id, const char *name)
{
        return xasprintf("%s/instances/%s/snapshots/%s", c->root, id, name);
}

int inst_snapshot_begin(InstContext *c, const InstRecord *rec, const char *name, char **ret_dir, char **ret_tmp,
                        Error **err)
{
        _cleanup_free_ char *dir = NULL, *tmp = NULL;
        int r = inst_check_name(name, err);

        if (r < 0)
                return r;
        dir = inst_snapshot_dir(c, rec->id, name);
        if (access(dir, F_OK) == 0)
                return error_setf(err, EEXIST, "'%s' has a snapshot '%s' already", rec->name, name);
        tmp = xasprintf("%s.tmp", dir);
        rm_rf_at(AT_FDCWD, tmp, NULL); /* what a crash left */
        r = mkdir_p(tmp, 0700, err);
        if (r < 0)
                return r;
        *ret_dir = TAKE_PTR(dir);
        *ret_tmp = TAKE_PTR(tmp);
        return 0;
}

int inst_snapshot_commit(const InstRecord *rec, const char *name, const char *dir, const char *tmp,
                         const json_t *info, int r, Error **err)
{
        _cleanup_free_ char *meta = xasprintf("%s/meta.json", tmp), *text = NULL;

        if (r >= 0) {
                text = json_dumps(info, JSON_INDENT(2));
                r = write_file_atomic_at(AT_FDCWD, meta, text, strlen(text), 0600, err);
        }
        if (r >= 0 && rename(tmp, dir) < 0)
                r = error_set(err, errno, "rename '%s'", tmp);
        if (r < 0) {
                rm_rf_at(AT_FDCWD, tmp, NULL);
                return error_wrap(err, r, "snapshot '%s' of '%s'", name, rec->name);
        }
        return 0;
}

int inst_snapshot_read_meta(const char *dir, json_t **ret, Error **err)
{
        _cleanup_free_ char *path = xasprintf("%s/meta.json", dir), *text = NULL;
        size_t len;
        int r = read_file_at(AT_FDCWD, path, &text, &len, err);

        return r < 0 ? r : json_parse(text, len, "snapshot meta.json", ret, err);
}

int inst_snapshot_find(InstContext *c, const InstRecord *rec, const char *name, char **ret_dir, Error **err)
{
        _cleanup_free_ char *dir = NULL, *meta = NULL;
        int r = inst_check_name(name, err);

        if (r < 0)
                return r;
        dir = inst_snapshot_dir(c, rec->id, name);
        meta = xasprintf("%s/meta.json", dir);
        if (access(meta, F_OK) < 0)
                return error_setf(err, ENOENT, "snapshot '%s' of '%s' does not exist", name, rec->name);
        *ret_dir = TAKE_PTR(dir);
        return 0;
}

static int by_created(const void *a, const void *b)
{
        json_int_t x = json_integer_value(json_object_get(*(json_t *const *)a, "created"));
        json_int_t y = json_integer_value(json_object_get(*(json_t *const *)b, "created"));

        if (x != y)
                return x < y ? -1 : 1;
        return strcmp(json_string_value(json_object_get(*(json_t *const *)a, "name")),
                      json_string_value(json_object_get(*(json_t *const *)b, "name")));
}

json_t *inst_snapshot_list_dir(InstContext *c, const InstRecord *rec, int64_t (*size_of)(const char *dir))
{
        _cleanup_free_ char *dir = xasprintf("%s/instances/%s/snapshots", c->root, rec->id);
        _cleanup_free_ json_t **v = NULL;
        struct dirent *de;
        json_t *list = json_array();
        size_t n = 0;
        DIR *d = opendir(dir);

        while (d && (de = readdir(d))) {
                _cleanup_free_ char *sd = NULL;
                _cleanup_json_ json_t *meta = NULL;
                json_t *name, *created;
                if (de->d_name[0] == '.' || strstr(de->d_name, ".tmp"))
                        continue;
                sd = xasprintf("%s/%s", dir, de->d_name);
                if (inst_snapshot_read_meta(sd, &meta, NULL) < 0)
                        continue;
                name = json_object_get(meta, "name");
                created = json_object_get(meta, "created");
                if (!json_is_string(name) || !json_is_integer(created))
                        continue;
                v = xrealloc(v, (n + 1) * sizeof(*v));
                v[n++] = json_pack("{s:O, s:O, s:b, s:I}", "name", name, "created", created, "stateful",
                                   json_is_true(json_object_get(meta, "stateful")), "size", (json_int_t)size_of(sd));
        }
        if (d)
                closedir(d);
        if (n)
                qsort(v, n, sizeof(*v), by_created);
        for (size_t i = 0; i < n; i++)
                json_array_append_new(list, v[i]);
        return list;
}

static int check_vm(const InstRecord *rec, Error **err)
{
        if (rec->kind != INST_KIND_VM)
                return error_setf(err, EOPNOTSUPP, "'%s': snapshots are for VMs", rec->name);
        return 0;
}

int inst_qmp_open(InstContext *c, const InstRecord *rec, VmQmp **ret, Error **err)
{
        _cleanup_free_ char *dir = inst_vm_rundir(c, rec->id), *sock = xasprintf("%s/qmp.sock", dir);
        int r = vm_qmp_connect(sock, QMP_TIMEOUT_MS, ret, err);

        return r < 0 ? error_wrap(err, r, "QMP of '%s'", rec->name) : 0;
}

/* With is_block, the top of the VM's disk travels with its state (QEMU's block migration of the qcow2
 * overlay; the base is the same on both sides). */
static int set_block_migration(VmQmp *q, bool is_block, Error **err)
{
        if (!is_block)
                return 0;
        return vm_qmp_execute(q, "migrate-set-capabilities",
                              json_pack("{s:[{s:s, s:b}]}", "capabilities", "capability", "block", "state", 1),
                              QMP_TIMEOUT_MS, NULL, err);
}

int inst_qmp_migrate_out(VmQmp *q, int fd, bool is_block, int timeout_ms, json_t **ret, Error **err)
{
        int r = set_block_migration(q, is_block, err);

        if (r >= 0)
                r = vm_qmp_execute(q, "migrate-set-parameters",
                                   is_block ? json_pack("{s:I, s:b}", "max-bandwidth", (json_int_t)MAX_BANDWIDTH,
                                                        "block-incremental", 1)
                                            : json_pack("{s:I}", "max-bandwidth", (json_int_t)MAX_BANDWIDTH),
                                   QMP_TIMEOUT_MS, NULL, err);
        if (r >= 0)
                r = vm_qmp_send_fd(q, "hull-state", fd, err);
        if (r >= 0)
                r = vm_qmp_execute(q, "migrate", json_pack("{s:s}", "uri", "fd:hull-state"), QMP_TIMEOUT_MS, NULL, err);
        if (r < 0)
                return r;
        r = vm_qmp_migrate_wait(q, timeout_ms, ret, err);
        if (r < 0)
                vm_qmp_execute(q, "migrate_cancel", NULL, QMP_TIMEOUT_MS, NULL, NULL);
        return r;
}

int inst_qmp_migrate_in(InstContext *c, const char *id, VmQmp *q, int fd, bool is_block, int timeout_ms,
                        Error **err)
{
        int r = set_block_migration(q, is_block, err);

        if (r >= 0)
                r = vm_qmp_send_fd(q, "hull-state", fd, err);
        if (r >= 0)
                r = vm_qmp_execute(q, "migrate-incoming", json_pack("{s:s}", "uri", "fd:hull-state"), QMP_TIMEOUT_MS,
                                   NULL, err);
        if (r >= 0)
                r = inst_qmp_wait_running(q, timeout_ms, err);
        /* A state that does not load ends QEMU: its own reason says more than the closed connection. */
        return inst_vm_qemu_error(c, id, r, err);
}

static int vm_snapshot_create(InstContext *c, InstRecord *rec, const char *name, json_t **ret, Error **err)
{
        _cleanup_free_ char *dir = NULL, *tmp = NULL, *disk = inst_path(c, rec->id, "disk.qcow2"), *disk_copy = NULL,
                            *state = NULL;
        _cleanup_(vm_qmp_freep) VmQmp *q = NULL;
        _cleanup_(inst_vm_spec_done) InstVmSpec s = {};
        _cleanup_json_ json_t *info = NULL;
        _cleanup_close_ int fd = -EBADF, ports_lock = -EBADF;
        unsigned ports = 0;
        int64_t t0;
        InstState st;
        int r;

        r = check_vm(rec, err);
        if (r >= 0)
                r = inst_state(c, rec, &st, NULL, err);
        if (r >= 0)
                r = inst_snapshot_begin(c, rec, name, &dir, &tmp, err);
        if (r < 0)
                return r;
        disk_copy = xasprintf("%s/disk.qcow2", tmp);
        state = xasprintf("%s/state", tmp);
        t0 = monotonic_ms();
        if (st != INST_STATE_RUNNING) {
                r = stor_disk_copy(disk, disk_copy, err);
                goto done;
        }
        /* The state's count of agent ports, held until QEMU has written it. */
        ports_lock = inst_vm_lock_ports(c, rec->id, err);
        r = ports_lock < 0 ? ports_lock : inst_vm_spec_load(c, rec->id, &s, err);
        if (r < 0)
                goto done;
        ports = s.agent_ports;
        r = inst_qmp_open(c, rec, &q, err);
        if (r < 0)
                goto done;
        /* Paused, QEMU has flushed the disk: the copy and the state are of one moment. */
        r = vm_qmp_execute(q, "stop", NULL, QMP_TIMEOUT_MS, NULL, err);
        if (r < 0)
                goto done;
        r = stor_disk_copy(disk, disk_copy, err);
        if (r >= 0) {
                fd = open(state, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
                if (fd < 0)
                        r = error_set(err, errno, "open '%s'", state);
        }
        if (r >= 0)
                r = inst_qmp_migrate_out(q, fd, false, STATE_TIMEOUT_MS, NULL, err);
        /* The VM goes on whatever happened. */
        vm_qmp_execute(q, "cont", NULL, QMP_TIMEOUT_MS, NULL, NULL);
done:
        if (r >= 0) {
                info = json_pack("{s:s, s:I, s:b, s:I}", "name", name, "created", (json_int_t)time(NULL), "stateful",
                                 st == INST_STATE_RUNNING, "save_ms", (json_int_t)monotonic_ms() - t0);
                /* The state holds the agent ports the VM had: a restore's QEMU needs as many. */
                if (st == INST_STATE_RUNNING)
                        json_object_set_new(info, "agent_ports", json_integer(ports));
        }
        r = inst_snapshot_commit(rec, name, dir, tmp, info, r, err);
        if (r < 0)
                return r;
        if (ret)
                *ret = TAKE_PTR(info);
        return 0;
}

/* A VM snapshot's room on disk: its disk copy and its state. */
static int64_t vm_snapshot_size(const char *dir)
{
        static const char *const files[] = { "disk.qcow2", "state" };
        int64_t size = 0;

        for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
                _cleanup_free_ char *path = xasprintf("%s/%s", dir, files[i]);
                struct stat st;
                if (stat(path, &st) == 0)
                        size += (int64_t)st.st_blocks * 512;
        }
        return size;
}

static int vm_snapshot_list(InstContext *c, InstRecord *rec, json_t **ret, Error **err)
{
        int r = check_vm(rec, err);

        if (r < 0)
                return r;
        *ret = inst_snapshot_list_dir(c, rec, vm_snapshot_size);
        return 0;
}

static int vm_snapshot_delete(InstContext *c, InstRecord *rec, const char *name, Error **err)
{
        _cleanup_free_ char *dir = NULL;
        int r = check_vm(rec, err);

        if (r >= 0)
                r = inst_snapshot_find(c, rec, name, &dir, err);
        return r < 0 ? r : rm_rf_at(AT_FDCWD, dir, err);
}

/* Waits for an incoming VM to have loaded its state and run. */
int inst_qmp_wait_running(VmQmp *q, int timeout_ms, Error **err)
{
        int64_t t0;

        t0 = monotonic_ms();
        for (;;) {
                _cleanup_json_ json_t *st = NULL;
                const char *status = "";
                int r = vm_qmp_execute(q, "query-status", NULL, QMP_TIMEOUT_MS, &st, err);
                if (r < 0)
                        return r;
                json_unpack(st, "{s:s}", "status", &status);
                if (strcmp(status, "running") == 0)
                        return 0;
                /* State saved from a paused VM (a snapshot) loads paused: it goes on from here. */
                if (strcmp(status, "paused") == 0) {
                        r = vm_qmp_execute(q, "cont", NULL, QMP_TIMEOUT_MS, NULL, err);
                        if (r < 0)
                                return r;
                        continue;
                }
                if (strcmp(status, "inmigrate") != 0 && strcmp(status, "prelaunch") != 0)
                        return error_setf(err, EIO, "the incoming VM is '%s', not running", status);
                if (monotonic_ms() - t0 > timeout_ms)
                        return error_setf(err, ETIMEDOUT, "the incoming VM did not start");
                usleep(20000);
        }
}

/* Boots a QEMU for the VM that takes its state from state_fd, on the disk in place, with the agent ports
 * that state knows. On failure that QEMU is gone again. */
static int boot_with_state(InstContext *c, InstRecord *rec, InstVmSpec *s, unsigned ports, int state_fd,
                           Error **err)
{
        _cleanup_(vm_qmp_freep) VmQmp *q = NULL;
        pid_t pid = 0;
        int r;

        s->agent_ports = ports;
        r = inst_vm_spec_save(c, rec->id, s, err);
        if (r >= 0)
                r = inst_vm_boot(c, rec, s, true, &pid, err);
        if (r >= 0)
                r = inst_qmp_open(c, rec, &q, err);
        if (r >= 0)
                r = inst_qmp_migrate_in(c, rec->id, q, state_fd, false, STATE_TIMEOUT_MS, err);
        if (r < 0 && pid > 0) {
                /* Our child: killed and reaped here, so that its cgroup is empty for the next one. */
                kill(pid, SIGKILL);
                waitpid(pid, NULL, 0);
        }
        return r;
}

/* Saves the running VM's state into fd (it stays paused), for going back to it should the restore fail. */
static int save_rollback(InstContext *c, InstRecord *rec, int fd, Error **err)
{
        _cleanup_(vm_qmp_freep) VmQmp *q = NULL;
        int r;

        r = inst_qmp_open(c, rec, &q, err);
        if (r >= 0)
                r = vm_qmp_execute(q, "stop", NULL, QMP_TIMEOUT_MS, NULL, err);
        if (r >= 0)
                r = inst_qmp_migrate_out(q, fd, false, STATE_TIMEOUT_MS, NULL, err);
        if (r < 0 && q)
                vm_qmp_execute(q, "cont", NULL, QMP_TIMEOUT_MS, NULL, NULL);
        return r;
}

/*
 * A stateful restore. The new disk is made beside the old one first. A running VM's own state is saved
 * (paused) before its QEMU goes, and its disk kept under another name: should the new QEMU not take the
 * snapshot's state (a damaged state file, a QEMU that does not start), the VM is booted again from its
 * own state and disk and goes on as it was; a stopped VM stays stopped with its disk. The "restoring"
 * marker keeps the supervisor waiting through all of it.
 */
static int restore_state(InstContext *c, InstRecord *rec, InstVmSpec *s, const json_t *meta, const char *dir,
                         bool was_running, Error **err)
{
        _cleanup_free_ char *disk = inst_path(c, rec->id, "disk.qcow2"), *disk_copy = xasprintf("%s/disk.qcow2", dir),
                            *tmp = xasprintf("%s.restore", disk), *old_disk = xasprintf("%s.rollback", disk),
                            *state = xasprintf("%s/state", dir), *rundir = inst_vm_rundir(c, rec->id),
                            *marker = xasprintf("%s/restoring", rundir),
                            *old_state = inst_path(c, rec->id, "rollback.state");
        _cleanup_close_ int fd = -EBADF, old_fd = -EBADF;
        json_t *n = json_object_get(meta, "agent_ports");
        /* The snapshot's QEMU has the agent ports its state knows (five before they were counted). */
        unsigned ports = json_is_integer(n) ? (unsigned)json_integer_value(n) : 5, old_ports = s->agent_ports;
        pid_t pid;
        int r;

        fd = open(state, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return error_set(err, errno, "open '%s'", state);
        r = stor_disk_copy(disk_copy, tmp, err);
        if (r < 0)
                return r;
        r = mkdir_p(rundir, 0700, err);
        if (r >= 0)
                r = write_file_atomic_at(AT_FDCWD, marker, "", 0, 0600, err);
        if (r >= 0 && was_running) {
                old_fd = open(old_state, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
                if (old_fd < 0)
                        r = error_set(err, errno, "open '%s'", old_state);
                if (r >= 0)
                        r = save_rollback(c, rec, old_fd, err);
        }
        if (r < 0) {
                unlink(tmp);
                unlink(old_state);
                unlink(marker);
                return r;
        }
        pid = inst_vm_qemu_pid(c, rec->id);
        if (was_running && pid > 0) {
                /* Gone and reaped (by its supervisor), so that its cgroup is empty for the new one. */
                kill(pid, SIGKILL);
                for (int i = 0; i < 1000 && kill(pid, 0) == 0; i++)
                        usleep(10000);
        }
        unlink(old_disk);
        if (link(disk, old_disk) < 0 || rename(tmp, disk) < 0) {
                r = error_set(err, errno, "put '%s' in place", tmp);
                unlink(tmp);
        }
        if (r >= 0)
                r = boot_with_state(c, rec, s, ports, fd, err);
        if (r < 0) {
                if (access(old_disk, F_OK) == 0)
                        rename(old_disk, disk);
                if (was_running) {
                        Error *e = NULL;
                        int k = lseek(old_fd, 0, SEEK_SET) < 0 ? -errno : 0;
                        if (k >= 0)
                                k = boot_with_state(c, rec, s, old_ports, old_fd, &e);
                        if (k < 0) {
                                _cleanup_free_ char *msg = xasprintf(
                                        "%s; and the VM could not go back to its own state: %s",
                                        error_message(err ? *err : NULL, r), error_message(e, k));
                                error_clear(err);
                                r = error_setf(err, r, "%s", msg);
                        }
                        error_free(e);
                } else {
                        s->agent_ports = old_ports;
                        inst_vm_spec_save(c, rec->id, s, NULL);
                }
        }
        unlink(old_disk);
        unlink(old_state);
        unlink(marker);
        return r;
}

static int vm_snapshot_restore(InstContext *c, InstRecord *rec, const char *name, json_t **ret, Error **err)
{
        _cleanup_free_ char *dir = NULL, *disk = NULL, *disk_copy = NULL, *tmp = NULL;
        _cleanup_(inst_vm_spec_done) InstVmSpec s = {};
        _cleanup_json_ json_t *meta = NULL;
        _cleanup_close_ int ports_lock = -EBADF;
        bool is_stateful = false, was_running;
        int64_t t0;
        InstState st;
        int r;

        r = check_vm(rec, err);
        if (r >= 0)
                r = inst_snapshot_find(c, rec, name, &dir, err);
        if (r >= 0)
                r = inst_snapshot_read_meta(dir, &meta, err);
        if (r < 0)
                return r;
        json_get_bool(meta, "stateful", "snapshot", &is_stateful, NULL);
        disk = inst_path(c, rec->id, "disk.qcow2");
        disk_copy = xasprintf("%s/disk.qcow2", dir);
        tmp = xasprintf("%s.restore", disk);
        r = inst_state(c, rec, &st, NULL, err);
        if (r < 0)
                return r;
        was_running = st == INST_STATE_RUNNING;
        /* A running VM's QEMU is replaced: no port is added to it meanwhile. */
        if (was_running) {
                ports_lock = inst_vm_lock_ports(c, rec->id, err);
                if (ports_lock < 0)
                        return error_wrap(err, ports_lock, "restore '%s' of '%s'", name, rec->name);
        }
        r = inst_vm_spec_load(c, rec->id, &s, err);
        if (r < 0)
                return r;
        t0 = monotonic_ms();
        if (!is_stateful) {
                if (was_running)
                        return error_setf(err, EBUSY, "'%s' is running: stop it to restore disk-only snapshot '%s'",
                                          rec->name, name);
                r = stor_disk_copy(disk_copy, tmp, err);
                if (r >= 0 && rename(tmp, disk) < 0)
                        r = error_set(err, errno, "rename '%s'", tmp);
        } else {
                r = restore_state(c, rec, &s, meta, dir, was_running, err);
                if (r >= 0 && !was_running)
                        r = inst_mark_started(c, rec, err);
                if (r >= 0 && !was_running)
                        r = inst_vm_start_supervised(c, rec, true, err);
        }
        if (r < 0) {
                unlink(tmp);
                return error_wrap(err, r, "restore '%s' of '%s'", name, rec->name);
        }
        if (ret)
                *ret = json_pack("{s:s, s:b, s:I}", "name", name, "stateful", is_stateful, "restore_ms",
                                 (json_int_t)monotonic_ms() - t0);
        return 0;
}

/* By kind: containers' snapshots are in snapshot-container.c. */
int inst_snapshot_create(InstContext *c, InstRecord *rec, const char *name, json_t **ret, Error **err)
{
        if (rec->kind == INST_KIND_VM)
                return vm_snapshot_create(c, rec, name, ret, err);
        return inst_ctr_snapshot_create(c, rec, name, ret, err);
}

int inst_snapshot_list(InstContext *c, InstRecord *rec, json_t **ret, Error **err)
{
        if (rec->kind == INST_KIND_VM)
                return vm_snapshot_list(c, rec, ret, err);
        return inst_ctr_snapshot_list(c, rec, ret, err);
}

int inst_snapshot_restore(InstContext *c, InstRecord *rec, const char *name, json_t **ret, Error **err)
{
        if (rec->kind == INST_KIND_VM)
                return vm_snapshot_restore(c, rec, name, ret, err);
        return inst_ctr_snapshot_restore(c, rec, name, ret, err);
}

int inst_snapshot_delete(InstContext *c, InstRecord *rec, const char *name, Error **err)
{
        if (rec->kind == INST_KIND_VM)
                return vm_snapshot_delete(c, rec, name, err);
        return inst_ctr_snapshot_delete(c, rec, name, err);
}
