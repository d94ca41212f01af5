/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* vm.c: instances that are virtual machines: their disks, their QEMU, and the session with hull-agent */
/*
 * A VM instance is an image's root filesystem as a shared ext4 base disk ($root/vm/base/<image>.ext4,
 * made once per image) under a qcow2 overlay of its own, booted by QEMU with Debian's kernel and an
 * initramfs holding hull-agent. Its process spec (argv, env, cwd, user) is resolved at create exactly
 * as a container's and kept in vm.json.
 *
 * While it runs, one process supervises it (vm-supervise.c): the caller of `hull run` in the
 * foreground, or a forked child under hull-monitor when detached. The supervisor starts QEMU, starts the
 * main process through the agent's port 0 and carries its output until its exit status comes back; the
 * agent then powers the guest off and QEMU ends. Other commands reach the guest through the other agent ports (exec, stop,
 * kill) and QMP (snapshots, migration). QEMU's pid file is the truth about whether the VM runs; while
 * the "restoring" marker exists in its run directory, a new QEMU is being put in place of the old one
 * and the supervisor waits for it instead of ending.
 */
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
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
#include "storage/disk.h"
#include "storage/overlay.h"
#include "vm/agent-proto.h"
#include "vm/agent.h"
#include "vm/kernel.h"
#include "vm/qemu.h"
#include "vm/qmp.h"
#include "vm_internal.h"

#define MIN_BASE_SIZE (1024LL << 20)
#define DEFAULT_MEMORY (512LL << 20)

char *inst_vm_rundir(const InstContext *c, const char *id)
{
        /* Short: unix socket paths in it must fit in sun_path. */
        return xasprintf("%s/vm/%.12s", c->runroot, id);
}

char *inst_vm_rundir_path(const InstContext *c, const char *id, const char *file)
{
        _cleanup_free_ char *dir = inst_vm_rundir(c, id);
        return xasprintf("%s/%s", dir, file);
}

static char *agent_socket(const InstContext *c, const char *id, unsigned port)
{
        _cleanup_free_ char *dir = inst_vm_rundir(c, id);
        return xasprintf("%s/agent.%u.sock", dir, port);
}

char *inst_vm_base_path(const InstContext *c, const char *image_id)
{
        return xasprintf("%s/vm/base/%s.ext4", c->root, image_id);
}

void inst_vm_spec_done(InstVmSpec *s)
{
        strv_free(s->args);
        strv_free(s->env);
        free(s->cwd);
        free(s->user);
        free(s->hostname);
        *s = (InstVmSpec){};
}

int inst_vm_spec_load(InstContext *c, const char *id, InstVmSpec *ret, Error **err)
{
        _cleanup_free_ char *path = inst_path(c, id, "vm.json"), *text = NULL;
        _cleanup_json_ json_t *j = NULL;
        InstVmSpec s = {};
        const char *v;
        size_t len;
        int r;

        r = read_file_at(AT_FDCWD, path, &text, &len, err);
        if (r >= 0)
                r = json_parse(text, len, "vm.json", &j, err);
        if (r < 0)
                return r;
        if (json_get_strv(j, "args", "vm.json", &s.args, err) < 0 || json_get_strv(j, "env", "vm.json", &s.env, err) < 0) {
                inst_vm_spec_done(&s);
                return -EBADMSG;
        }
        if (json_get_string(j, "cwd", "vm.json", &v, NULL) > 0)
                s.cwd = xstrdup(v);
        if (json_get_string(j, "user", "vm.json", &v, NULL) > 0)
                s.user = xstrdup(v);
        if (json_get_string(j, "hostname", "vm.json", &v, NULL) > 0)
                s.hostname = xstrdup(v);
        json_get_bool(j, "system", "vm.json", &s.is_system, NULL);
        /* A VM started before ports were hot-plugged had five from its boot. */
        s.agent_ports = 5;
        {
                json_t *n = json_object_get(j, "agent_ports");
                if (json_is_integer(n) && json_integer_value(n) >= 1 && json_integer_value(n) <= VM_AGENT_PORTS)
                        s.agent_ports = (unsigned)json_integer_value(n);
        }
        *ret = s;
        return 0;
}

/* The process of an app VM, from the OCI config the container path would run: one resolution of
 * Entrypoint, Cmd, Env, WorkingDir and User for both kinds. */
static int spec_from_config(const json_t *cfg, InstVmSpec *s, Error **err)
{
        json_t *proc = json_object_get(cfg, "process"), *user = json_object_get(proc, "user"), *v;
        size_t i;

        json_array_foreach (json_object_get(proc, "args"), i, v)
                strv_push(&s->args, json_string_value(v));
        json_array_foreach (json_object_get(proc, "env"), i, v)
                strv_push(&s->env, json_string_value(v));
        if (!s->args || !s->args[0])
                return error_setf(err, EINVAL, "no command: the image has no Entrypoint or Cmd and none was given");
        s->cwd = xstrdup(json_string_value(json_object_get(proc, "cwd")) ?: "/");
        s->user = xasprintf("%lld:%lld", (long long)json_integer_value(json_object_get(user, "uid")),
                            (long long)json_integer_value(json_object_get(user, "gid")));
        return 0;
}

int inst_vm_spec_save(InstContext *c, const char *id, const InstVmSpec *s, Error **err)
{
        _cleanup_free_ char *path = inst_path(c, id, "vm.json"), *text = NULL;
        _cleanup_json_ json_t *j = json_object();
        json_t *args = json_array(), *env = json_array();

        for (size_t i = 0; s->args && s->args[i]; i++)
                json_array_append_new(args, json_string(s->args[i]));
        for (size_t i = 0; s->env && s->env[i]; i++)
                json_array_append_new(env, json_string(s->env[i]));
        json_object_set_new(j, "args", args);
        json_object_set_new(j, "env", env);
        json_object_set_new(j, "cwd", json_string(s->cwd ? s->cwd : "/"));
        json_object_set_new(j, "user", json_string(s->user ? s->user : "0:0"));
        json_object_set_new(j, "hostname", json_string(s->hostname));
        json_object_set_new(j, "system", json_boolean(s->is_system));
        json_object_set_new(j, "agent_ports", json_integer(s->agent_ports ? s->agent_ports : VM_AGENT_BOOT_PORTS));
        text = json_dumps(j, JSON_INDENT(2));
        return write_file_atomic_at(AT_FDCWD, path, text, strlen(text), 0600, err);
}

/* The image's base disk, made from the mounted root filesystem the first time any VM uses the image. */
static int ensure_base(InstContext *c, const char *image_id, const char *rootfs, Error **err)
{
        _cleanup_free_ char *dir = xasprintf("%s/vm/base", c->root), *path = inst_vm_base_path(c, image_id),
                                  *lock = xasprintf("%s/vm/base/%s.lock", c->root, image_id);
        _cleanup_close_ int fd = -EBADF;
        int r;

        r = mkdir_p(dir, 0700, err);
        if (r < 0)
                return r;
        fd = lock_file(lock, err);
        if (fd < 0)
                return fd;
        if (access(path, F_OK) == 0)
                return 0;
        r = stor_disk_make_base(rootfs, path, MIN_BASE_SIZE, err);
        return r < 0 ? error_wrap(err, r, "base disk of image '%.12s'", image_id) : 0;
}

static int vm_create(InstContext *c, const InstRecord *rec, const InstImage *img, const InstRunOptions *o,
                     const InstNetAttach *att, Error **err)
{
        _cleanup_free_ char *rootfs = inst_path(c, rec->id, "rootfs"), *upper = inst_path(c, rec->id, "upper"),
                            *work = inst_path(c, rec->id, "work"), *disk = inst_path(c, rec->id, "disk.qcow2"),
                            *base = inst_vm_base_path(c, img->id);
        _cleanup_(vm_kernel_done) VmKernel k = {};
        _cleanup_(inst_vm_spec_done) InstVmSpec s = {};
        _cleanup_json_ json_t *icfg = NULL, *cfg = NULL;
        char short_id[13];
        int r;

        if (o->n_binds > 0)
                return error_setf(err, EOPNOTSUPP,
                                  "-v '%s': a VM cannot share host directories (its kernel has no 9p, and virtiofs "
                                  "needs virtiofsd)",
                                  o->binds[0].source);
        /* What a start would fail on, said now. */
        r = vm_kernel_find(o->kernel, &k, err);
        if (r < 0)
                return r;
        _cleanup_free_ char *qemu = path_find("qemu-system-x86_64", NULL);
        if (!qemu)
                return error_setf(err, ENOENT, "qemu-system-x86_64 not found: install qemu-system-x86");
        snprintf(short_id, sizeof(short_id), "%.12s", rec->id);
        r = inst_rootfs_mount(c, rec->id, img->layers, err);
        if (r < 0)
                return r;
        r = inst_image_config(c, img, &icfg, err);
        if (r >= 0) {
                char *init[] = { (char *)"/sbin/init", NULL };
                InstRunSpec spec = {
                        .id = rec->id,
                        .cmd = o->is_system && !o->cmd ? init : o->cmd,
                        .entrypoint = o->entrypoint,
                        .env = o->env,
                        .user = o->user,
                        .workdir = o->workdir,
                        .hostname = o->hostname,
                };
                r = inst_bundle_config(icfg, &spec, rootfs, -EBADF, &cfg, err);
        }
        if (r >= 0 && !o->is_system)
                r = spec_from_config(cfg, &s, err);
        if (r >= 0)
                r = ensure_base(c, img->id, rootfs, err);
        /* The base disk holds the image now; the mount was only to read it. */
        stor_overlay_umount(rootfs, NULL);
        rmdir(rootfs);
        rm_rf_at(AT_FDCWD, upper, NULL);
        rm_rf_at(AT_FDCWD, work, NULL);
        if (r < 0)
                return r;
        r = stor_disk_make_overlay(base, disk, err);
        if (r < 0)
                return r;
        s.hostname = xstrdup(o->hostname ? o->hostname : short_id);
        s.is_system = o->is_system;
        r = inst_write_etc_files(c, rec->id, s.hostname, att, NULL, err);
        s.agent_ports = VM_AGENT_BOOT_PORTS;
        return r < 0 ? r : inst_vm_spec_save(c, rec->id, &s, err);
}

pid_t inst_vm_qemu_pid(InstContext *c, const char *id)
{
        return inst_pid_file_read(c, id, "qemu.pid");
}

int inst_vm_qemu_error(InstContext *c, const char *id, int r, Error **err)
{
        _cleanup_free_ char *log = inst_path(c, id, "qemu.log"), *text = NULL;
        char *end, *line;
        size_t len;

        if (r != -EPIPE || read_file_at(AT_FDCWD, log, &text, &len, NULL) < 0)
                return r;
        end = text + len;
        while (end > text && (end[-1] == '\n' || end[-1] == '\r'))
                end--;
        *end = '\0';
        line = strrchr(text, '\n');
        line = line ? line + 1 : text;
        /* "qemu-system-x86_64: load of migration failed: ...": the program's name goes. */
        if (strncmp(line, "qemu-system-", 12) == 0 && strstr(line, ": "))
                line = strstr(line, ": ") + 2;
        if (*line == '\0')
                return r;
        /* QEMU's reason says more than the closed QMP connection that told of it. */
        error_clear(err);
        return error_setf(err, EIO, "QEMU ended: %s", line);
}

bool inst_vm_is_restoring(InstContext *c, const char *id)
{
        _cleanup_free_ char *marker = inst_vm_rundir_path(c, id, "restoring");
        return access(marker, F_OK) == 0;
}

/* What a run of the VM holds on the host, released once QEMU is gone: its tap, cgroup and run dir. */
void inst_vm_release_runtime(InstContext *c, const char *id)
{
        _cleanup_free_ char *dir = inst_vm_rundir(c, id), *cgjson = inst_vm_rundir_path(c, id, "cgroup.json"),
                            *text = NULL, *pidfile = inst_path(c, id, "qemu.pid");
        _cleanup_json_ json_t *j = NULL;
        size_t len;

        inst_net_vm_stop(c, id);
        if (read_file_at(AT_FDCWD, cgjson, &text, &len, NULL) >= 0 && json_parse(text, len, "cgroup", &j, NULL) >= 0) {
                _cleanup_(rt_cgroup_freep) RtCgroup *cg = NULL;
                if (rt_cgroup_from_json(j, &cg, NULL) >= 0)
                        rt_cgroup_destroy(cg, NULL);
        }
        unlink(pidfile);
        if (inst_vm_is_restoring(c, id)) {
                /* A restore goes on with another QEMU: its marker stays, and the supervisor waits. */
                _cleanup_free_ char *marker = inst_vm_rundir_path(c, id, "restoring");
                rm_rf_at(AT_FDCWD, dir, NULL);
                if (mkdir_p(dir, 0700, NULL) >= 0)
                        write_file_atomic_at(AT_FDCWD, marker, "", 0, 0600, NULL);
                return;
        }
        rm_rf_at(AT_FDCWD, dir, NULL);
}

/* Ends QEMU at once. */
void inst_vm_kill_qemu(InstContext *c, const char *id)
{
        pid_t pid = inst_vm_qemu_pid(c, id);

        if (pid > 0) {
                kill(pid, SIGKILL);
                inst_wait_gone(pid, 10000);
        }
}

static int enter_cgroup(void *data)
{
        return rt_cgroup_enter_self(data, false, NULL);
}

/* The cgroup QEMU runs in: /hull/<id>, with the CPU limit of --cpus. */
static int make_cgroup(InstContext *c, const InstRecord *rec, const InstRunOptions *o, RtCgroup **ret, Error **err)
{
        _cleanup_(rt_cgroup_freep) RtCgroup *cg = NULL;
        _cleanup_free_ char *path = inst_vm_rundir_path(c, rec->id, "cgroup.json"), *text = NULL;
        _cleanup_json_ json_t *j = NULL;
        int r;

        r = rt_cgroup_create(NULL, rec->id, false, &cg, err);
        if (r < 0)
                return error_wrap(err, r, "cgroup of '%s'", rec->name);
        if (o->cpus > 0) {
                _cleanup_(rt_resources_freep) RtResources *res = NULL;
                _cleanup_json_ json_t *rj = json_pack("{s:{s:I, s:I}}", "cpu", "quota",
                                                      (json_int_t)(o->cpus * 100000), "period", (json_int_t)100000);
                r = rt_resources_parse(rj, "resources", &res, err);
                if (r >= 0)
                        r = rt_cgroup_apply(cg, res, err);
                if (r < 0) {
                        rt_cgroup_destroy(cg, NULL);
                        return r;
                }
        }
        j = rt_cgroup_to_json(cg);
        text = json_dumps(j, JSON_COMPACT);
        r = write_file_atomic_at(AT_FDCWD, path, text, strlen(text), 0600, err);
        if (r < 0) {
                rt_cgroup_destroy(cg, NULL);
                return r;
        }
        *ret = TAKE_PTR(cg);
        return 0;
}

int inst_vm_boot(InstContext *c, InstRecord *rec, const InstVmSpec *s, bool is_incoming, pid_t *ret_pid, Error **err)
{
        _cleanup_(inst_run_options_done) InstRunOptions o = {};
        _cleanup_(vm_kernel_done) VmKernel k = {};
        _cleanup_(rt_cgroup_freep) RtCgroup *cg = NULL;
        _cleanup_free_ char *initrd = NULL, *agent = inst_helper_path(c, "hull-agent", "HULL_AGENT"),
                            *cache = xasprintf("%s/vm/initramfs", c->root), *dir = inst_vm_rundir(c, rec->id),
                            *disk = inst_path(c, rec->id, "disk.qcow2"),
                            *qmp = inst_vm_rundir_path(c, rec->id, "qmp.sock"),
                            *console = inst_vm_rundir_path(c, rec->id, "console.sock"),
                            *console_log = inst_path(c, rec->id, "console.log"),
                            *qemu_log = inst_path(c, rec->id, "qemu.log"), *append = NULL,
                            *probe_cache = xasprintf("%s/vm/host-probe.json", c->runroot);
        _cleanup_(vm_host_probe_done) VmHostProbe probe = {};
        _cleanup_strv_ char **argv = NULL;
        _cleanup_close_ int log_fd = -EBADF;
        InstVmNet net = {};
        char mac[18];
        pid_t pid = 0;
        int r;

        r = inst_record_options(rec, &o, err);
        if (r >= 0)
                r = vm_kernel_find(o.kernel, &k, err);
        if (r >= 0)
                r = mkdir_p(cache, 0700, err);
        if (r >= 0)
                r = vm_initramfs_get(&k, agent, cache, &initrd, err);
        if (r < 0)
                return r;
        /* Whatever a run that crashed left goes first; a restore's marker stays. */
        inst_net_vm_stop(c, rec->id);
        r = mkdir_p(dir, 0700, err);
        if (r < 0)
                return r;
        for (unsigned i = 0; i < VM_AGENT_PORTS; i++) {
                _cleanup_free_ char *sock = agent_socket(c, rec->id, i);
                unlink(sock);
        }
        unlink(qmp);
        unlink(console);
        if (!is_incoming && s->agent_ports != VM_AGENT_BOOT_PORTS) {
                /* A fresh boot has the boot ports only; an incoming VM has what its source had. */
                InstVmSpec fresh = *s;
                fresh.agent_ports = VM_AGENT_BOOT_PORTS;
                r = inst_vm_spec_save(c, rec->id, &fresh, err);
                if (r < 0)
                        goto fail;
        }
        r = inst_net_vm_start(c, rec, &o, &net, err);
        if (r < 0)
                goto fail;
        r = make_cgroup(c, rec, &o, &cg, err);
        if (r < 0)
                goto fail;
        append = xasprintf("hull.mode=%s hull.hostname=%s%s%s%s%s", s->is_system ? "system" : "app", s->hostname,
                           net.tap[0] ? " hull.ip=" : "", net.tap[0] ? net.addr : "", net.tap[0] ? " hull.gw=" : "",
                           net.tap[0] ? net.gw : "");
        vm_mac_for(rec->id, mac);
        VmConfig cfg = {
                .memory = o.memory > 0 ? o.memory : DEFAULT_MEMORY,
                .cpus = o.cpus > 1 ? (unsigned)(o.cpus + 0.999) : 1,
                .kernel = k.path,
                .initrd = initrd,
                .append = append,
                .disk = disk,
                .qmp_socket = qmp,
                .agent_socket_dir = dir,
                .agent_ports = is_incoming ? s->agent_ports : VM_AGENT_BOOT_PORTS,
                .console_socket = console,
                .console_log = console_log,
                .tap = net.tap[0] ? net.tap : NULL,
                .mac = mac,
                .is_incoming = is_incoming,
                .is_system = s->is_system,
        };
        vm_host_probe(probe_cache, &probe);
        cfg.accel = probe.accel;
        if (cfg.accel == VM_ACCEL_TCG)
                cfg.tsc_khz = probe.tsc_khz;
        argv = vm_qemu_argv(&cfg);
        log_fd = open(qemu_log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
        if (log_fd < 0) {
                r = error_set(err, errno, "open '%s'", qemu_log);
                goto fail;
        }
        if (s->is_system && !is_incoming) {
                /* Where this boot's console output begins in console.log: the supervisor logs it from there. */
                _cleanup_free_ char *start = inst_vm_rundir_path(c, rec->id, "console.start"), *off = NULL;
                struct stat st;
                off = xasprintf("%lld", stat(console_log, &st) == 0 ? (long long)st.st_size : 0LL);
                r = write_file_atomic_at(AT_FDCWD, start, off, strlen(off), 0600, err);
                if (r < 0)
                        goto fail;
        }
        r = vm_qemu_spawn(argv, log_fd, enter_cgroup, cg, &pid, err);
        if (r < 0)
                goto fail;
        r = inst_pid_file_write(c, rec->id, "qemu.pid", pid, err);
        if (r < 0)
                goto fail;
        *ret_pid = pid;
        return 0;
fail:
        if (pid > 0) {
                kill(pid, SIGKILL);
                waitpid(pid, NULL, 0);
        }
        inst_vm_release_runtime(c, rec->id);
        return r;
}

/* Connects to an agent port, giving up early when QEMU is gone. */
int inst_vm_connect_port(InstContext *c, const InstRecord *rec, unsigned port, int timeout_ms, VmAgent **ret,
                        Error **err)
{
        _cleanup_free_ char *sock = agent_socket(c, rec->id, port);
        int64_t deadline = deadline_ms(timeout_ms);

        while (vm_agent_connect(sock, 500, ret, NULL) < 0) {
                if (inst_vm_qemu_pid(c, rec->id) == 0 && !inst_vm_is_restoring(c, rec->id))
                        return error_setf(err, ESRCH, "'%s': QEMU is not running", rec->name);
                if (deadline_left_ms(deadline) == 0)
                        return error_setf(err, ETIMEDOUT, "'%s': the guest agent did not answer", rec->name);
        }
        return 0;
}

/* Starts the VM and makes sure it can start: not running, its exit file gone. */
int inst_vm_prepare_start(InstContext *c, InstRecord *rec, InstVmSpec *s, Error **err)
{
        _cleanup_free_ char *exit_path = inst_path(c, rec->id, "exit");
        InstState state;
        int r;

        r = inst_state(c, rec, &state, NULL, err);
        if (r < 0)
                return r;
        if (state == INST_STATE_RUNNING)
                return error_setf(err, EBUSY, "'%s' is already running", rec->name);
        if (unlink(exit_path) < 0 && errno != ENOENT)
                return error_set(err, errno, "remove '%s'", exit_path);
        return inst_vm_spec_load(c, rec->id, s, err);
}

/* Blocks the signals the foreground session forwards to the guest, and gives a signalfd for them. */
static int forward_signals(sigset_t *old)
{
        sigset_t mask;

        sigemptyset(&mask);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGHUP);
        sigaddset(&mask, SIGQUIT);
        sigaddset(&mask, SIGWINCH);
        sigprocmask(SIG_BLOCK, &mask, old);
        return signalfd(-1, &mask, SFD_CLOEXEC);
}

static int vm_run_foreground(InstContext *c, InstRecord *rec, int *ret_status, Error **err)
{
        _cleanup_(inst_run_options_done) InstRunOptions o = {};
        _cleanup_(inst_vm_spec_done) InstVmSpec s = {};
        _cleanup_close_ int sfd = -EBADF;
        sigset_t old;
        pid_t pid;
        int status = -1, r;

        r = inst_vm_prepare_start(c, rec, &s, err);
        if (r >= 0)
                r = inst_record_options(rec, &o, err);
        if (r >= 0)
                r = inst_mark_started(c, rec, err);
        if (r >= 0)
                r = inst_vm_boot(c, rec, &s, false, &pid, err);
        if (r >= 0) {
                VmAgentIo io = { .in_fd = o.is_interactive ? STDIN_FILENO : -1, .out_fd = STDOUT_FILENO,
                                 .err_fd = STDERR_FILENO, .sig_fd = -1 };
                sfd = forward_signals(&old);
                io.sig_fd = sfd;
                r = inst_vm_supervise(c, rec, &s, &io, false, -1, &status, err);
                sigprocmask(SIG_SETMASK, &old, NULL);
                waitpid(pid, NULL, WNOHANG);
        }
        inst_mark_finished(c, rec, r < 0 ? -1 : status, NULL);
        if (r < 0)
                return r;
        *ret_status = status;
        return 0;
}

static int vm_start_detached(InstContext *c, InstRecord *rec, Error **err)
{
        return inst_vm_start_supervised(c, rec, false, err);
}

static int vm_state(InstContext *c, InstRecord *rec, InstState *ret, pid_t *ret_pid, Error **err)
{
        pid_t pid = inst_vm_qemu_pid(c, rec->id);
        int status;

        if (ret_pid)
                *ret_pid = pid;
        if (pid > 0 || inst_vm_is_restoring(c, rec->id)) {
                *ret = INST_STATE_RUNNING;
                return 0;
        }
        if (!rec->started) {
                *ret = INST_STATE_CREATED;
                return 0;
        }
        *ret = INST_STATE_EXITED;
        if (rec->finished)
                return 0;
        /* Stopped since the last look: its monitor writes the status once the supervisor ends. */
        status = inst_monitor_status(c, rec->id);
        inst_vm_release_runtime(c, rec->id);
        return inst_mark_finished(c, rec, status, err);
}

/* Tries the locks of ports from .. to-1: the fd of the first one free, with *ret_port, or -EBADF. */
static int lock_free_port(const char *dir, unsigned from, unsigned to, unsigned *ret_port, Error **err)
{
        for (unsigned i = from; i < to; i++) {
                _cleanup_free_ char *lock = xasprintf("%s/port.%u.lock", dir, i);
                _cleanup_close_ int fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
                if (fd < 0)
                        return error_set(err, errno, "open '%s'", lock);
                if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
                        *ret_port = i;
                        return TAKE_FD(fd);
                }
        }
        return -EBADF;
}

int inst_vm_lock_ports(InstContext *c, const char *id, Error **err)
{
        _cleanup_free_ char *path = inst_vm_rundir_path(c, id, "ports.lock");
        _cleanup_close_ int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);

        if (fd < 0 || flock(fd, LOCK_EX) < 0)
                return error_set(err, errno, "lock '%s'", path);
        return TAKE_FD(fd);
}

/* Hot-plugs agent ports into the running VM until it has one whose lock is free, and takes that lock
 * (-EBADF when the VM has VM_AGENT_PORTS already). vm.json keeps the count, under the ports lock. */
static int add_port(InstContext *c, InstRecord *rec, unsigned *ret_port, Error **err)
{
        _cleanup_(inst_vm_spec_done) InstVmSpec s = {};
        _cleanup_(vm_qmp_freep) VmQmp *q = NULL;
        _cleanup_free_ char *dir = inst_vm_rundir(c, rec->id);
        _cleanup_close_ int lock = inst_vm_lock_ports(c, rec->id, err);
        unsigned index;
        int fd, r;

        if (lock < 0)
                return lock;
        r = inst_vm_spec_load(c, rec->id, &s, err);
        if (r < 0)
                return r;
        /* Another command may have added one while this one waited for the lock. */
        fd = lock_free_port(dir, 1, s.agent_ports, ret_port, err);
        if (fd != -EBADF || s.agent_ports >= VM_AGENT_PORTS)
                return fd;
        index = s.agent_ports;
        r = inst_qmp_open(c, rec, &q, err);
        if (r < 0)
                return r;
        r = vm_qmp_execute(q, "chardev-add", vm_agent_port_chardev(dir, index), INST_VM_CONTROL_TIMEOUT_MS, NULL,
                           err);
        if (r >= 0) {
                r = vm_qmp_execute(q, "device_add", vm_agent_port_device(index), INST_VM_CONTROL_TIMEOUT_MS, NULL,
                                   err);
                if (r < 0) {
                        _cleanup_free_ char *id = xasprintf("agent%u", index);
                        vm_qmp_execute(q, "chardev-remove", json_pack("{s:s}", "id", id), INST_VM_CONTROL_TIMEOUT_MS,
                                       NULL, NULL);
                }
        }
        if (r < 0)
                return error_wrap(err, r, "'%s': add agent port %u", rec->name, index);
        s.agent_ports = index + 1;
        r = inst_vm_spec_save(c, rec->id, &s, err);
        if (r < 0)
                return r;
        return lock_free_port(dir, index, index + 1, ret_port, err);
}

int inst_vm_session(InstContext *c, InstRecord *rec, int timeout_ms, int *ret_lock, VmAgent **ret, Error **err)
{
        _cleanup_(inst_vm_spec_done) InstVmSpec s = {};
        _cleanup_free_ char *dir = inst_vm_rundir(c, rec->id);
        _cleanup_close_ int fd = -EBADF;
        unsigned port = 0;
        int r;

        r = inst_vm_spec_load(c, rec->id, &s, err);
        if (r < 0)
                return r;
        fd = lock_free_port(dir, 1, s.agent_ports, &port, err);
        if (fd == -EBADF)
                fd = add_port(c, rec, &port, err);
        if (fd < 0 && fd != -EBADF)
                return fd;
        if (fd == -EBADF) {
                /* Every port is taken and no more can be added: wait for port 1. */
                _cleanup_free_ char *lock = xasprintf("%s/port.1.lock", dir);
                fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
                if (fd < 0 || flock(fd, LOCK_EX) < 0)
                        return error_set(err, errno, "lock '%s'", lock);
                port = 1;
        }
        r = inst_vm_connect_port(c, rec, port, timeout_ms, ret, err);
        if (r < 0)
                return r;
        *ret_lock = TAKE_FD(fd);
        return 0;
}

static int running_or_fail(InstContext *c, InstRecord *rec, Error **err)
{
        InstState state;
        int r = vm_state(c, rec, &state, NULL, err);

        if (r < 0)
                return r;
        if (state != INST_STATE_RUNNING)
                return error_setf(err, EINVAL, "'%s' is %s, not running", rec->name, inst_state_name(state));
        return 0;
}

/* Waits for the supervisor to finish after QEMU ended, then takes the exit into the record. */
static int collect(InstContext *c, InstRecord *rec, Error **err)
{
        InstState state;
        return vm_state(c, rec, &state, NULL, err);
}

static int vm_stop(InstContext *c, InstRecord *rec, int timeout, Error **err)
{
        _cleanup_(inst_run_options_done) InstRunOptions o = {};
        _cleanup_(inst_vm_spec_done) InstVmSpec s = {};
        InstState state;
        pid_t pid;
        int r;

        r = vm_state(c, rec, &state, &pid, err);
        if (r < 0 || state != INST_STATE_RUNNING || pid == 0)
                return r;
        r = inst_record_options(rec, &o, err);
        if (r >= 0)
                r = inst_vm_spec_load(c, rec->id, &s, err);
        if (r < 0)
                return r;
        if (timeout < 0)
                timeout = o.stop_timeout >= 0 ? o.stop_timeout : 10;
        if (s.is_system) {
                /* An init that handles the ACPI power button (systemd) shuts down on it. */
                _cleanup_(vm_qmp_freep) VmQmp *q = NULL;
                _cleanup_free_ char *qmp = inst_vm_rundir_path(c, rec->id, "qmp.sock");
                if (vm_qmp_connect(qmp, INST_VM_CONTROL_TIMEOUT_MS, &q, NULL) >= 0)
                        vm_qmp_execute(q, "system_powerdown", NULL, INST_VM_CONTROL_TIMEOUT_MS, NULL, NULL);
        }
        {
                /* The agent: the app's processes end and the guest powers off; a system VM's init is
                 * asked to power off (inits without an ACPI daemon, such as busybox's). */
                _cleanup_(vm_agent_freep) VmAgent *a = NULL;
                _cleanup_close_ int lock = -EBADF;
                if (inst_vm_session(c, rec, INST_VM_CONTROL_TIMEOUT_MS, &lock, &a, NULL) >= 0)
                        vm_agent_poweroff(a, (unsigned)timeout, NULL);
        }
        if (!inst_wait_gone(pid, (timeout + 10) * 1000))
                inst_vm_kill_qemu(c, rec->id);
        return collect(c, rec, err);
}

static int vm_kill(InstContext *c, InstRecord *rec, int sig, Error **err)
{
        _cleanup_(inst_vm_spec_done) InstVmSpec s = {};
        _cleanup_(vm_agent_freep) VmAgent *a = NULL;
        _cleanup_close_ int lock = -EBADF;
        int r;

        r = running_or_fail(c, rec, err);
        if (r >= 0)
                r = inst_vm_spec_load(c, rec->id, &s, err);
        if (r < 0)
                return r;
        /* SIGKILL ends the VM whatever its guest does; other signals go to its main process (or init). */
        if (sig == SIGKILL) {
                inst_vm_kill_qemu(c, rec->id);
                return collect(c, rec, err);
        }
        r = inst_vm_session(c, rec, INST_VM_CONTROL_TIMEOUT_MS, &lock, &a, err);
        return r < 0 ? r : vm_agent_signal(a, sig, err);
}

static int vm_exec(InstContext *c, InstRecord *rec, const InstExecOptions *o, int *ret_status, Error **err)
{
        _cleanup_(vm_agent_freep) VmAgent *a = NULL;
        _cleanup_close_ int lock = -EBADF, sfd = -EBADF;
        struct termios saved;
        struct winsize ws = {};
        bool is_raw = false;
        sigset_t old;
        int r;

        r = running_or_fail(c, rec, err);
        if (r < 0)
                return r;
        r = inst_vm_session(c, rec, INST_VM_BOOT_TIMEOUT_MS, &lock, &a, err);
        if (r < 0)
                return r;
        if (o->is_detached) {
                /* The agent runs it on its own (stdio on /dev/null): started is all there is to wait for. */
                VmExecRequest req = {
                        .args = o->args,
                        .env = o->env,
                        .cwd = o->workdir,
                        .user = o->user,
                        .is_detached = true,
                };
                r = vm_agent_exec(a, &req, INST_VM_CONTROL_TIMEOUT_MS, NULL, err);
                if (r < 0)
                        return r;
                *ret_status = 0;
                return 0;
        }
        if (o->is_tty)
                ioctl(STDIN_FILENO, TIOCGWINSZ, &ws);
        VmExecRequest req = {
                .args = o->args,
                .env = o->env,
                .cwd = o->workdir,
                .user = o->user,
                .is_tty = o->is_tty,
                .rows = ws.ws_row,
                .cols = ws.ws_col,
        };
        r = vm_agent_exec(a, &req, INST_VM_CONTROL_TIMEOUT_MS, NULL, err);
        if (r < 0)
                return r;
        if (o->is_tty && isatty(STDIN_FILENO))
                is_raw = rt_tty_raw(STDIN_FILENO, -EBADF, &saved) == 0;
        sfd = forward_signals(&old);
        VmAgentIo io = { .in_fd = STDIN_FILENO, .out_fd = STDOUT_FILENO, .err_fd = STDERR_FILENO, .sig_fd = sfd };
        r = vm_agent_pump(a, &io, ret_status, err);
        sigprocmask(SIG_SETMASK, &old, NULL);
        if (is_raw)
                tcsetattr(STDIN_FILENO, TCSANOW, &saved);
        return r;
}

static int vm_stats(InstContext *c, InstRecord *rec, json_t **ret, Error **err)
{
        _cleanup_free_ char *path = NULL, *text = NULL;
        pid_t pid;
        InstState state;
        long long rss_kb = 0;
        unsigned long long ut = 0, st = 0;
        int r;

        r = vm_state(c, rec, &state, &pid, err);
        if (r < 0)
                return r;
        if (state != INST_STATE_RUNNING || pid == 0)
                return error_setf(err, EINVAL, "'%s' is %s, not running", rec->name, inst_state_name(state));
        path = xasprintf("/proc/%d/status", (int)pid);
        if (read_file_at(AT_FDCWD, path, &text, NULL, NULL) >= 0) {
                const char *p = strstr(text, "VmRSS:");
                if (p)
                        sscanf(p + 6, "%lld", &rss_kb);
        }
        free(path);
        free(text);
        text = NULL;
        path = xasprintf("/proc/%d/stat", (int)pid);
        if (read_file_at(AT_FDCWD, path, &text, NULL, NULL) >= 0) {
                const char *p = strrchr(text, ')');
                if (p)
                        sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st);
        }
        *ret = json_pack("{s:s, s:s, s:i, s:I, s:I}", "id", rec->id, "name", rec->name, "pid", (int)pid,
                         "memory_usage", (json_int_t)rss_kb * 1024, "cpu_usage_ns",
                         (json_int_t)((ut + st) * (1000000000ULL / (unsigned long long)sysconf(_SC_CLK_TCK))));
        return 0;
}

static int vm_teardown(InstContext *c, InstRecord *rec, InstState state, pid_t pid, Error **err)
{
        pid_t mon;

        inst_vm_kill_qemu(c, rec->id);
        mon = inst_pid_file_read(c, rec->id, "monitor.pid");
        if (mon > 0)
                inst_wait_gone(mon, 10000);
        inst_vm_release_runtime(c, rec->id);
        return 0;
}

static int vm_remove_files(InstContext *c, const char *id, Error **err)
{
        _cleanup_free_ char *rootfs = inst_path(c, id, "rootfs"), *dir = inst_dir(c, id);
        int r;

        inst_vm_release_runtime(c, id);
        r = stor_overlay_umount(rootfs, err);
        return r < 0 ? r : rm_rf_at(AT_FDCWD, dir, err);
}

static void vm_sweep(InstContext *c, const char *id)
{
        inst_vm_kill_qemu(c, id);
        inst_vm_release_runtime(c, id);
}

void inst_vm_describe(InstContext *c, const InstRecord *rec, json_t *doc)
{
        _cleanup_(inst_run_options_done) InstRunOptions o = {};
        _cleanup_(vm_kernel_done) VmKernel k = {};
        _cleanup_free_ char *disk = inst_path(c, rec->id, "disk.qcow2"), *base = inst_vm_base_path(c, rec->image_id),
                            *console = inst_path(c, rec->id, "console.log"), *reason = NULL;
        VmAccel accel;

        vm_accel_detect(&accel, &reason);
        json_object_set_new(doc, "disk", json_string(disk));
        json_object_set_new(doc, "base_disk", json_string(base));
        json_object_set_new(doc, "console_log", json_string(console));
        json_object_set_new(doc, "accelerator", json_string(vm_accel_name(accel)));
        if (inst_record_options(rec, &o, NULL) >= 0 && vm_kernel_find(o.kernel, &k, NULL) >= 0)
                json_object_set_new(doc, "kernel", json_string(k.path));
}

const InstDriver inst_driver_vm = {
        .create = vm_create,
        .state = vm_state,
        .run_foreground = vm_run_foreground,
        .start_detached = vm_start_detached,
        .stop = vm_stop,
        .kill = vm_kill,
        .exec = vm_exec,
        .stats = vm_stats,
        .teardown = vm_teardown,
        .remove_files = vm_remove_files,
        .sweep = vm_sweep,
};

int inst_console(InstContext *c, InstRecord *rec, Error **err)
{
        _cleanup_free_ char *path = NULL;
        _cleanup_close_ int fd = -EBADF;
        int r;

        if (rec->kind != INST_KIND_VM)
                return inst_system_console(c, rec, err);
        r = running_or_fail(c, rec, err);
        if (r < 0)
                return r;
        path = inst_vm_rundir_path(c, rec->id, "console.sock");
        r = rt_unix_connect(path, &fd, err);
        if (r < 0)
                return error_wrap(err, r, "console of '%s'", rec->name);
        return inst_console_relay(fd, rec->name, err);
}
